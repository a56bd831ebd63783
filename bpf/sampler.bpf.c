// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pystrobe's BPF programs. Only target processes (the procs map) count.
 *
 * CPU: ps_sample runs on cpu-clock perf events (one per target thread, or
 * one per CPU system-wide), walks the interrupted thread's Python stack and
 * counts (thread, stacks) keys, with the time each sample stands for. Every
 * TIMER_REARM_EVERY samples of an event it asks the loader to re-arm that
 * event with a new random period (see sampler.h); ps_newtask tells the
 * loader about new threads of targets, which need a timer of their own.
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

/* Timers are per thread (key = tid) rather than per CPU (key = CPU). */
const volatile bool per_thread_timers = false;
const volatile __u32 timer_rearm_every = TIMER_REARM_EVERY;

/*
 * Maps filled as samples come and emptied at every drain are not
 * preallocated: allocating (and zeroing) their full size at load is most
 * of what starting up would cost.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_STACKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sample_key);
	__type(value, struct cpu_sample);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, struct timer_state);
} timer_states SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TIMER_MSGS_BYTES);
} timer_msgs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_OFFCPU_STACKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sample_key);
	__type(value, __u64); /* nanoseconds */
} offcpu_ns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, struct offcpu_start);
} offcpu_starts SEC(".maps");

static __always_inline void send_timer_msg(__u32 type, __u32 key, __u32 pid)
{
	struct timer_msg msg = {
		.type = type, .key = key, .pid = pid, .ts = bpf_ktime_get_ns()};

	if (bpf_ringbuf_output(&timer_msgs, &msg, sizeof(msg), 0))
		count_lost(LOST_TIMER_MSG);
}

/*
 * Accounts one firing of the current perf event: returns the time on the
 * event's clock (the thread's CPU time, or the CPU's time) since its
 * previous sample, which is what this sample stands for whatever periods
 * the event had in between; asks for a re-arm every timer_rearm_every.
 */
static __always_inline __u64 timer_fired(struct bpf_perf_event_data *ctx,
					 __u32 tid)
{
	struct bpf_perf_event_value v = {};
	struct timer_state *st, fresh = {};
	__u32 key = per_thread_timers ? tid : bpf_get_smp_processor_id();
	__u64 ns;

	if (bpf_perf_prog_read_value(ctx, &v, sizeof(v)))
		return ctx->sample_period;
	st = bpf_map_lookup_elem(&timer_states, &key);
	if (!st) {
		bpf_map_update_elem(&timer_states, &key, &fresh, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&timer_states, &key);
		if (!st)
			return ctx->sample_period;
	}
	/* A reopened event (an exec) starts its clock again from zero. */
	ns = v.counter >= st->last_ns ? v.counter - st->last_ns : v.counter;
	st->last_ns = v.counter;
	if (++st->fires % timer_rearm_every == 0)
		send_timer_msg(TIMER_REARM, key, 0);
	return ns;
}

static __always_inline void add_sample(const struct sample_key *key, __u64 ns)
{
	struct cpu_sample *c = bpf_map_lookup_elem(&counts, key);
	struct cpu_sample fresh = {.count = 1, .ns = ns};

	if (!c && bpf_map_update_elem(&counts, key, &fresh, BPF_NOEXIST) == 0)
		return;
	/* Present, or another CPU inserted it first. */
	c = c ?: bpf_map_lookup_elem(&counts, key);
	if (!c) {
		count_lost(LOST_SAMPLE_MAP_FULL);
		return;
	}
	__sync_fetch_and_add(&c->count, 1);
	__sync_fetch_and_add(&c->ns, ns);
}

SEC("perf_event")
int ps_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sample_key key = {.pid = id >> 32, .tid = (__u32)id};
	struct proc_info *pi;
	__u64 ns;

	ns = timer_fired(ctx, key.tid);
	pi = bpf_map_lookup_elem(&procs, &key.pid);
	if (!pi)
		return 0;
	capture_stacks(ctx, pi, &key);
	add_sample(&key, ns);
	return 0;
}

#define CLONE_THREAD_FLAG 0x00010000 /* <linux/sched.h> CLONE_THREAD */

/* A new thread of a target: with per-thread timers it needs its own. */
SEC("raw_tp/task_newtask")
int BPF_PROG(ps_newtask, struct task_struct *task, __u64 clone_flags)
{
	__u32 pid = BPF_CORE_READ(task, tgid);

	if (!(clone_flags & CLONE_THREAD_FLAG) ||
	    !bpf_map_lookup_elem(&procs, &pid))
		return 0;
	send_timer_msg(TIMER_NEW_THREAD, BPF_CORE_READ(task, pid), pid);
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
