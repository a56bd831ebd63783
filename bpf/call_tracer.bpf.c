// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Deterministic call tracing: every Python function entry and return of the
 * target processes, from USDT probes (pystrobe's own provider, or CPython's
 * python:function__entry/return), kept on a per-thread shadow stack.
 *
 * On return the activation's wall time, and how much of it the thread was
 * off the CPU (from sched_switch), go to its call path's totals; its
 * inclusive time is also charged to the caller frame as child time, so
 * self = inclusive - children. Activations at least min_event_ns long are
 * sent to userspace for the timeline.
 *
 * Calls only nest: a return pops the frame it matches. One that matches no
 * frame near the top (its entry was before tracing started) is counted and
 * ignored; frames left above a match lost their return and are dropped.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>
#include "call_tracer.h"
#include "mix64.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u64 min_event_ns = 0; /* 0: no timeline events */

__u64 lost[CALL_LOST__COUNT] = {};

struct shadow_frame {
	__u64 path; /* 0: not aggregated (path map full) */
	__u64 fn;   /* hash of the function key, to match the return */
	__u64 start_ns;
	__u64 offcpu_at_start; /* the thread's offcpu_ns at entry */
	__u64 child_ns;
	__u64 child_offcpu_ns;
	/* the last callee's path: a loop calling one function skips lookups */
	__u64 last_child_fn, last_child_path;
	__u32 last_child_slot;
	__u32 slot; /* index of this path's stats */
	__u32 kind; /* enum call_entry_kind */
	__u32 pad;
};

struct call_thread {
	__u32 depth; /* may exceed MAX_CALL_DEPTH: those frames are not kept */
	__u32 pad;
	__u64 start_time;   /* the task's: a reused tid is another thread */
	__u64 offcpu_ns;    /* total time off the CPU so far */
	__u64 offcpu_since; /* when it left the CPU; 0: running */
	struct shadow_frame frames[MAX_CALL_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CALL_THREADS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* tid */
	__type(value, struct call_thread);
} call_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CALL_PATHS);
	__type(key, __u64);
	__type(value, struct call_node);
} call_nodes SEC(".maps");

/* Indexed by the path's slot (call_node.slot): an array lookup is inlined. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CALL_PATHS);
	__type(key, __u32);
	__type(value, struct call_stats);
} call_stats SEC(".maps");

__u32 next_slot = 0; /* slots handed out so far */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CALL_FUNCS);
	__type(key, struct call_fn_key);
	__type(value, struct call_fn_name);
} call_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, CALL_EVENTS_BYTES);
} call_events SEC(".maps");

/* Zeroed templates for new map values too big for the BPF stack. */
struct call_zero {
	struct call_thread thread;
	struct call_fn_name name;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct call_zero);
} call_zero SEC(".maps");

static __always_inline void count_lost(enum call_lost c)
{
	__sync_fetch_and_add(&lost[c], 1);
}

static __always_inline __u64 fn_hash(const struct call_fn_key *k)
{
	return mix64(mix64(mix64(k->pid, k->file), k->name), k->line);
}

static __always_inline struct call_zero *zero(void)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(&call_zero, &k);
}

/*
 * The current thread's shadow stack (created if asked). An entry left by an
 * exited thread whose tid was reused starts afresh.
 */
static __always_inline struct call_thread *thread_of(__u32 tid, bool create)
{
	struct call_thread *th = bpf_map_lookup_elem(&call_threads, &tid);
	__u64 start = BPF_CORE_READ(bpf_get_current_task_btf(), start_time);
	struct call_zero *z;

	if (th && th->start_time != start) {
		th->depth = 0;
		th->offcpu_ns = 0;
		th->offcpu_since = 0;
		th->start_time = start;
	}
	if (th || !create)
		return th;
	z = zero();
	if (!z)
		return NULL;
	if (bpf_map_update_elem(&call_threads, &tid, &z->thread, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&call_threads, &tid)) {
		count_lost(CALL_LOST_THREAD_MAP_FULL);
		return NULL;
	}
	th = bpf_map_lookup_elem(&call_threads, &tid);
	if (th)
		th->start_time = start;
	return th;
}

/* Copies the function's strings (file, name: target addresses). */
static __always_inline void remember_name(const struct call_fn_key *k,
					  __u64 file, __u64 name, __u32 line)
{
	struct call_fn_name *n;
	struct call_zero *z;

	if (bpf_map_lookup_elem(&call_names, k))
		return;
	z = zero();
	if (!z)
		return;
	z->name.line = line;
	if (bpf_map_update_elem(&call_names, k, &z->name, BPF_NOEXIST)) {
		if (!bpf_map_lookup_elem(&call_names, k))
			count_lost(CALL_LOST_NAME_MAP_FULL);
		return;
	}
	n = bpf_map_lookup_elem(&call_names, k);
	if (!n)
		return;
	bpf_probe_read_user_str(n->file, sizeof(n->file), (void *)file);
	bpf_probe_read_user_str(n->name, sizeof(n->name), (void *)name);
}

/*
 * The path id of fn called from parent and its stats slot, registered on
 * first use (then *fresh is set); 0 when the maps are full.
 */
static __always_inline __u64 path_of(__u64 parent, __u64 fn,
				     const struct call_fn_key *k, __u32 *slot,
				     bool *fresh)
{
	__u64 path = mix64(parent, fn) | 1;
	struct call_node node = {.parent = parent, .fn = *k}, *known;

	known = bpf_map_lookup_elem(&call_nodes, &path);
	if (known) {
		*slot = known->slot;
		return path;
	}
	node.slot = __sync_fetch_and_add(&next_slot, 1);
	if (node.slot >= MAX_CALL_PATHS) {
		count_lost(CALL_LOST_PATH_MAP_FULL);
		return 0;
	}
	if (bpf_map_update_elem(&call_nodes, &path, &node, BPF_NOEXIST)) {
		/* another CPU registered it first: use its slot */
		known = bpf_map_lookup_elem(&call_nodes, &path);
		if (!known) {
			count_lost(CALL_LOST_PATH_MAP_FULL);
			return 0;
		}
		*slot = known->slot;
		return path;
	}
	*slot = node.slot;
	*fresh = true;
	return path;
}

/* Where a new function's name comes from, read only when first seen. */
enum name_source {
	NAME_IN_KEY,  /* CPython's probes: key.file/key.name are the strings */
	NAME_IN_ARGS, /* the provider: entry arguments 1-3 */
};

static __always_inline int on_entry(struct pt_regs *ctx,
				    const struct call_fn_key *k, __u32 line,
				    __u32 kind, enum name_source src)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct shadow_frame *fr, *up = NULL;
	struct call_thread *th;
	__u64 parent = 0, fn, path = 0;
	bool fresh = false;
	__u32 d, slot = 0;

	th = thread_of((__u32)id, true);
	if (!th)
		return 0;
	d = th->depth;
	if (d >= MAX_CALL_DEPTH) {
		th->depth = d + 1;
		count_lost(CALL_LOST_TOO_DEEP);
		return 0;
	}
	if (d > 0) {
		up = &th->frames[(d - 1) & (MAX_CALL_DEPTH - 1)];
		parent = up->path;
	}
	fn = fn_hash(k);
	if (up && up->last_child_path && up->last_child_fn == fn) {
		path = up->last_child_path;
		slot = up->last_child_slot;
	} else if (d == 0 || parent) {
		/* (under an unaggregated frame this one is not either) */
		path = path_of(parent, fn, k, &slot, &fresh);
		if (up && path) {
			up->last_child_fn = fn;
			up->last_child_path = path;
			up->last_child_slot = slot;
		}
	}
	if (fresh && src == NAME_IN_KEY) {
		remember_name(k, k->file, k->name, line);
	} else if (fresh) {
		long file = 0, name = 0, first_line = 0;

		bpf_usdt_arg(ctx, 1, &file);
		bpf_usdt_arg(ctx, 2, &name);
		bpf_usdt_arg(ctx, 3, &first_line);
		remember_name(k, file, name, first_line);
	}
	fr = &th->frames[d & (MAX_CALL_DEPTH - 1)];
	fr->path = path;
	fr->slot = slot;
	fr->fn = fn;
	fr->last_child_path = 0;
	fr->offcpu_at_start = th->offcpu_ns;
	fr->child_ns = 0;
	fr->child_offcpu_ns = 0;
	fr->kind = kind;
	th->depth = d + 1;
	fr->start_ns = bpf_ktime_get_ns(); /* last: the probe's own cost out */
	return 0;
}

static __always_inline void add_stats(const struct shadow_frame *fr, __u64 wall,
				      __u64 off, __u32 ret_kind)
{
	__u64 self = wall > fr->child_ns ? wall - fr->child_ns : 0;
	__u64 self_off =
		off > fr->child_offcpu_ns ? off - fr->child_offcpu_ns : 0;
	__u32 slot = fr->slot;
	struct call_stats *st;

	if (!fr->path)
		return;
	st = bpf_map_lookup_elem(&call_stats, &slot);
	if (!st)
		return;
	/* atomic: threads of one path return on several CPUs at once */
	if (fr->kind == CALL_ENTRY_RESUME)
		__sync_fetch_and_add(&st->resumes, 1);
	else
		__sync_fetch_and_add(&st->calls, 1);
	if (ret_kind == CALL_RETURN_UNWIND)
		__sync_fetch_and_add(&st->unwinds, 1);
	__sync_fetch_and_add(&st->total_ns, wall);
	__sync_fetch_and_add(&st->self_ns, self);
	__sync_fetch_and_add(&st->total_offcpu_ns, off);
	__sync_fetch_and_add(&st->self_offcpu_ns, self_off);
}

static __always_inline void send_event(const struct shadow_frame *fr, __u64 id,
				       __u64 wall, __u64 off, __u32 ret_kind)
{
	struct call_event *e;

	if (!min_event_ns || wall < min_event_ns || !fr->path)
		return;
	e = bpf_ringbuf_reserve(&call_events, sizeof(*e), 0);
	if (!e) {
		count_lost(CALL_LOST_EVENTS);
		return;
	}
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->path = fr->path;
	e->start_ns = fr->start_ns;
	e->dur_ns = wall;
	e->offcpu_ns = off;
	e->entry_kind = fr->kind;
	e->return_kind = ret_kind;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int on_return(const struct call_fn_key *k,
				     __u32 ret_kind)
{
	__u64 id = bpf_get_current_pid_tgid(), now, wall, off;
	struct shadow_frame *fr, *parent;
	struct call_thread *th;
	__u64 fn = fn_hash(k);
	__u32 d, top, i, match = MAX_CALL_DEPTH;

	now = bpf_ktime_get_ns();
	th = thread_of((__u32)id, false);
	if (!th || !th->depth) {
		count_lost(CALL_LOST_UNMATCHED);
		return 0;
	}
	d = th->depth;
	if (d > MAX_CALL_DEPTH) {
		th->depth = d - 1; /* a frame too deep to keep */
		return 0;
	}
	top = d - 1;
	for (i = 0; i < CALL_MISMATCH_SEARCH; i++) {
		if (i > top)
			break;
		if (th->frames[(top - i) & (MAX_CALL_DEPTH - 1)].fn == fn) {
			match = top - i;
			break;
		}
	}
	if (match == MAX_CALL_DEPTH) {
		count_lost(CALL_LOST_UNMATCHED);
		return 0;
	}
	for (i = 0; i < CALL_MISMATCH_SEARCH; i++)
		if (match + i < top)
			count_lost(CALL_LOST_POPPED);
	fr = &th->frames[match & (MAX_CALL_DEPTH - 1)];
	wall = now > fr->start_ns ? now - fr->start_ns : 0;
	off = th->offcpu_ns - fr->offcpu_at_start;
	if (off > wall)
		off = wall;
	add_stats(fr, wall, off, ret_kind);
	send_event(fr, id, wall, off, ret_kind);
	if (match > 0) {
		parent = &th->frames[(match - 1) & (MAX_CALL_DEPTH - 1)];
		parent->child_ns += wall;
		parent->child_offcpu_ns += off;
	}
	th->depth = match;
	return 0;
}

#define KIND_BITS 7ULL /* the provider passes id << 3 | kind */

/*
 * pystrobe:function__entry(id | kind, file, qualname, firstlineno): the
 * function is its code object's id (never reused); its names are read the
 * first time only.
 */
SEC("usdt")
int pc_entry(struct pt_regs *ctx)
{
	long arg = 0;
	struct call_fn_key k = {.pid = bpf_get_current_pid_tgid() >> 32};

	bpf_usdt_arg(ctx, 0, &arg);
	k.file = (__u64)arg & ~KIND_BITS;
	return on_entry(ctx, &k, 0,
			(arg & KIND_BITS) == CALL_ENTRY_RESUME
				? CALL_ENTRY_RESUME
				: CALL_ENTRY_CALL,
			NAME_IN_ARGS);
}

/* pystrobe:function__return(id | kind) */
SEC("usdt")
int pc_return(struct pt_regs *ctx)
{
	long arg = 0;
	struct call_fn_key k = {.pid = bpf_get_current_pid_tgid() >> 32};

	bpf_usdt_arg(ctx, 0, &arg);
	k.file = (__u64)arg & ~KIND_BITS;
	return on_return(&k, arg & KIND_BITS);
}

/*
 * python:function__entry/return(file, name, line): the function is its
 * (file, name) strings. CPython's line is the executing one, which differs
 * between entry and return, so it is kept with the name, not in the key.
 */
SEC("usdt")
int BPF_USDT(pc_py_entry, void *file, void *name, int line)
{
	struct call_fn_key k = {.pid = bpf_get_current_pid_tgid() >> 32,
				.file = (__u64)file,
				.name = (__u64)name};

	return on_entry(ctx, &k, line, CALL_ENTRY_CALL, NAME_IN_KEY);
}

SEC("usdt")
int BPF_USDT(pc_py_return, void *file, void *name)
{
	struct call_fn_key k = {.pid = bpf_get_current_pid_tgid() >> 32,
				.file = (__u64)file,
				.name = (__u64)name};

	return on_return(&k, CALL_RETURN_RETURN);
}

/* Time off the CPU, per traced thread (runnable-but-waiting included). */
SEC("raw_tp/sched_switch")
int BPF_PROG(pc_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	__u32 prev_tid = BPF_CORE_READ(prev, pid);
	__u32 next_tid = BPF_CORE_READ(next, pid);
	struct call_thread *th;
	__u64 now = bpf_ktime_get_ns();

	th = bpf_map_lookup_elem(&call_threads, &prev_tid);
	if (th)
		th->offcpu_since = now;
	th = bpf_map_lookup_elem(&call_threads, &next_tid);
	if (th && th->offcpu_since) {
		th->offcpu_ns += now - th->offcpu_since;
		th->offcpu_since = 0;
	} else if (th) {
		/* back on a CPU, never seen leaving: that time is lost */
		count_lost(CALL_LOST_SWITCH_OUT_MISSED);
	}
	return 0;
}
