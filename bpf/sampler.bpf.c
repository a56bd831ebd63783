// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pystrobe's BPF programs. Only target processes (the procs map) count.
 *
 * CPU: ps_sample runs on a per-CPU cpu-clock perf event, walks the
 * interrupted thread's Python stack and counts (thread, stacks) keys.
 *
 * Off-CPU: when a target thread switches out (ps_switch, current == prev),
 * its stacks and the reason it blocks are kept per thread; ps_wakeup notes
 * when it becomes runnable; when it switches in again, the blocked time
 * (out -> wakeup) goes to its reason and the wait for a CPU (wakeup -> in)
 * to OFFCPU_RUNQUEUE. Threads still off the CPU at the end are accounted by
 * userspace from offcpu_starts.
 *
 * Nothing is sent per event: userspace drains the maps periodically.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <asm/errno.h>
#include "sampler.h"
#include "pywalk.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_STACKS);
	__type(key, struct sample_key);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_OFFCPU_STACKS);
	__type(key, struct sample_key);
	__type(value, __u64); /* nanoseconds */
} offcpu_ns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, struct offcpu_start);
} offcpu_starts SEC(".maps");

SEC("perf_event")
int ps_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sample_key key = {.pid = id >> 32, .tid = (__u32)id};
	struct proc_info *pi;

	pi = bpf_map_lookup_elem(&procs, &key.pid);
	if (!pi)
		return 0;
	capture_stacks(ctx, pi, &key);
	add_to(&counts, &key, 1, LOST_SAMPLE_MAP_FULL);
	return 0;
}

/*
 * Why the current thread (switching out in state `state`) leaves the CPU,
 * from its state and the system call it is in.
 */
static __always_inline __u32 offcpu_reason(const struct proc_info *pi,
					   unsigned int state)
{
	struct task_struct *task;
	struct pt_regs *regs;

	if (state == TASK_RUNNING_STATE)
		return OFFCPU_RUNQUEUE; /* preempted */
	task = bpf_get_current_task_btf();
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	return offcpu_reason_of(
		state, BPF_CORE_READ(regs, orig_ax), BPF_CORE_READ(regs, di),
		BPF_CORE_READ(regs, si), pi->gil_lo, pi->gil_hi);
}

static __always_inline void switch_out(void *ctx, unsigned int state)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct offcpu_start start = {};
	struct proc_info *pi;
	__u32 tid = (__u32)id;

	if (state & TASK_DEAD_STATE)
		return; /* an exiting thread's last switch: it never returns */
	start.key.pid = id >> 32;
	start.key.tid = tid;
	pi = bpf_map_lookup_elem(&procs, &start.key.pid);
	if (!pi)
		return;
	capture_stacks(ctx, pi, &start.key);
	start.key.reason = offcpu_reason(pi, state);
	start.ts = bpf_ktime_get_ns();
	/*
	 * An entry left over means its switch-in was never seen: the kernel
	 * can skip a tracepoint's programs while another program attaches to
	 * or detaches from it. That wait is lost: count it.
	 */
	if (bpf_map_lookup_elem(&offcpu_starts, &tid))
		count_lost(LOST_OFFCPU_MISSED);
	if (bpf_map_update_elem(&offcpu_starts, &tid, &start, BPF_ANY))
		count_lost(LOST_OFFCPU_MAP_FULL);
}

static __always_inline void switch_in(struct task_struct *next)
{
	__u32 tid = BPF_CORE_READ(next, pid);
	struct offcpu_start *start;
	struct sample_key key;
	__u64 now, blocked_end;

	start = bpf_map_lookup_elem(&offcpu_starts, &tid);
	if (!start) {
		__u32 pid = BPF_CORE_READ(next, tgid);

		/*
		 * A target thread coming back that was never seen leaving: its
		 * switch-out run was skipped (or it was waiting for a CPU when
		 * we attached). A new thread's first run is not one of these.
		 */
		if (bpf_map_lookup_elem(&procs, &pid) &&
		    BPF_CORE_READ(next, se.sum_exec_runtime))
			count_lost(LOST_OFFCPU_OUT_MISSED);
		return;
	}
	now = bpf_ktime_get_ns();
	key = start->key;
	blocked_end = offcpu_blocked_end(key.reason, start->wake_ts, now);
	if (blocked_end > start->ts)
		add_to(&offcpu_ns, &key, blocked_end - start->ts,
		       LOST_OFFCPU_MAP_FULL);
	if (now > blocked_end) {
		key.reason = OFFCPU_RUNQUEUE;
		add_to(&offcpu_ns, &key, now - blocked_end,
		       LOST_OFFCPU_MAP_FULL);
	}
	bpf_map_delete_elem(&offcpu_starts, &tid);
}

/*
 * Runs in prev's context before the switch (current == prev), so the
 * stack walk and the system call registers are prev's.
 */
SEC("raw_tp/sched_switch")
int BPF_PROG(ps_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	switch_out(ctx, preempt ? TASK_RUNNING_STATE : prev_state);
	switch_in(next);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(ps_wakeup, struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	struct offcpu_start *start;

	start = bpf_map_lookup_elem(&offcpu_starts, &tid);
	if (start && !start->wake_ts)
		start->wake_ts = bpf_ktime_get_ns();
	return 0;
}
