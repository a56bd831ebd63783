// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Deterministic call tracing: every Python function entry and return of the
 * target processes, kept on a per-thread shadow stack. Events come from
 * pystrobe's provider, in batches (see call_tracer.h: each thread's ring of
 * timestamped events, folded here with bpf_loop), or from CPython's own
 * python:function__entry/return probes, one probe per event.
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
 *
 * Off the CPU, by timestamp: a thread's events are folded in its own
 * context only, at its batch probe or when it leaves the CPU, so they are
 * normally all older than the thread's last return to the CPU and its
 * cumulative off-CPU time applies as it stands. A fold can itself be
 * interrupted by a switch (a preempted probe; the switch then leaves the
 * fold to it), so the thread's last CALL_OFFCPU_GAPS off-CPU intervals are
 * kept and an event's off-CPU time so far is computed at its timestamp.
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
/* times as measured: tracing's own pauses left in (pystrobe calls --raw) */
const volatile bool raw_times = false;

__u64 lost[CALL_LOST__COUNT] = {};

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
	struct call_calib_samples calib;
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
		th->busy = 0;
		th->offcpu_ns = 0;
		th->offcpu_since = 0;
		th->ring = 0;
		th->read = 0;
		th->paused_ns = 0;
		__builtin_memset(th->gaps, 0, sizeof(th->gaps));
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

/*
 * The thread's time off the CPU before ts: its total minus the remembered
 * gaps that ended after ts (normally none: events are folded before the
 * thread leaves the CPU again).
 */
static __always_inline __u64 offcpu_at(const struct call_thread *th, __u64 ts)
{
	__u64 off = th->offcpu_ns, gap;
	__u32 i, later = 0;

	for (i = 0; i < CALL_OFFCPU_GAPS; i++) {
		const struct offcpu_gap *g = &th->gaps[i];

		if (!g->in || g->in <= ts)
			continue;
		/* ts inside the gap cannot be (events happen on the CPU) */
		gap = g->out < ts ? g->in - ts : g->in - g->out;
		off = off > gap ? off - gap : 0;
		later++;
	}
	/* every gap remembered is later, and older ones were forgotten */
	if (later == CALL_OFFCPU_GAPS && th->gap_next > CALL_OFFCPU_GAPS)
		count_lost(CALL_LOST_GAPS_OVERFLOW);
	return off;
}

/*
 * An activation starts at ts. For CPython's probes (in_key) the key holds
 * the name strings, read when the path is new; the provider names its
 * code ids through pystrobe:function__name.
 */
static __always_inline void on_entry(struct call_thread *th,
				     const struct call_fn_key *k, __u32 line,
				     __u64 ts, __u32 kind, bool in_key)
{
	struct shadow_frame *fr, *up = NULL;
	__u64 parent = 0, fn, path = 0;
	bool fresh = false;
	__u32 d, slot = 0;

	d = th->depth;
	if (d >= MAX_CALL_DEPTH) {
		th->depth = d + 1;
		count_lost(CALL_LOST_TOO_DEEP);
		return;
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
	if (fresh && in_key)
		remember_name(k, k->file, k->name, line);
	fr = &th->frames[d & (MAX_CALL_DEPTH - 1)];
	fr->path = path;
	fr->slot = slot;
	fr->fn = fn;
	fr->last_child_path = 0;
	fr->offcpu_at_start = offcpu_at(th, ts);
	fr->paused_at_start = th->paused_ns;
	fr->child_ns = 0;
	fr->child_offcpu_ns = 0;
	fr->children = 0;
	fr->descendants = 0;
	fr->child_resumes = 0;
	fr->desc_resumes = 0;
	fr->kind = kind;
	fr->start_ns = ts;
	th->depth = d + 1;
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
	if (fr->children)
		__sync_fetch_and_add(&st->children, fr->children);
	if (fr->descendants)
		__sync_fetch_and_add(&st->descendants, fr->descendants);
	if (fr->child_resumes)
		__sync_fetch_and_add(&st->child_resumes, fr->child_resumes);
	if (fr->desc_resumes)
		__sync_fetch_and_add(&st->desc_resumes, fr->desc_resumes);
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
	e->descendants = fr->descendants;
	e->desc_resumes = fr->desc_resumes;
	bpf_ringbuf_submit(e, 0);
}

/* An activation of k ends at ts (enum call_return_kind). */
static __always_inline void on_return(struct call_thread *th,
				      const struct call_fn_key *k, __u64 ts,
				      __u32 ret_kind, __u64 id)
{
	struct shadow_frame *fr, *parent;
	__u64 fn = fn_hash(k), wall, off, paused;
	__u32 d, top, i, match = MAX_CALL_DEPTH, resumed;

	d = th->depth;
	if (!d) {
		count_lost(CALL_LOST_UNMATCHED);
		return;
	}
	if (d > MAX_CALL_DEPTH) {
		th->depth = d - 1; /* a frame too deep to keep */
		return;
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
		return;
	}
	for (i = 0; i < CALL_MISMATCH_SEARCH; i++)
		if (match + i < top)
			count_lost(CALL_LOST_POPPED);
	fr = &th->frames[match & (MAX_CALL_DEPTH - 1)];
	wall = ts > fr->start_ns ? ts - fr->start_ns : 0;
	paused = th->paused_ns - fr->paused_at_start; /* tracing's, inside */
	wall = wall > paused ? wall - paused : 0;
	off = offcpu_at(th, ts);
	off = off > fr->offcpu_at_start ? off - fr->offcpu_at_start : 0;
	if (off > wall)
		off = wall;
	add_stats(fr, wall, off, ret_kind);
	send_event(fr, id, wall, off, ret_kind);
	if (match > 0) {
		parent = &th->frames[(match - 1) & (MAX_CALL_DEPTH - 1)];
		parent->child_ns += wall;
		parent->child_offcpu_ns += off;
		resumed = fr->kind == CALL_ENTRY_RESUME;
		parent->children++;
		parent->descendants += fr->descendants + 1;
		parent->child_resumes += resumed;
		parent->desc_resumes += fr->desc_resumes + resumed;
	}
	th->depth = match;
}

/* ------------------------- the provider's batches ------------------------ */
struct fold_ctx {
	struct call_thread *th;
	__u64 ring; /* target address of the ring's events */
	__u64 read; /* index of the first event of this fold */
	__u64 id;   /* pid_tgid */
	__u32 pid;
	__u32 done; /* events folded */
};

static long fold_one(__u64 i, void *data)
{
	struct fold_ctx *c = data;
	struct call_thread *th = c->th;
	struct call_ring_event ev;
	struct call_fn_key k = {.pid = c->pid};
	__u64 slot = (c->read + i) & (CALL_RING_EVENTS - 1);
	__u32 kind;

	if (bpf_probe_read_user(&ev, sizeof(ev),
				(void *)(c->ring + slot * sizeof(ev)))) {
		count_lost(CALL_LOST_RING_UNREADABLE);
		return 1; /* the rest stays for the next fold */
	}
	k.file = ev.word & ~CALL_EV_KIND_MASK;
	kind = ev.word & CALL_EV_KIND_MASK;
	if (kind == CALL_EV_PAUSE) {
		if (!raw_times)
			th->paused_ns += ev.word >> 3;
	} else if (kind <= CALL_EV_RESUME) {
		on_entry(th, &k, 0, ev.ts, kind, false);
	} else {
		on_return(th, &k, ev.ts, (kind - CALL_EV_RETURN) & 3, c->id);
	}
	c->done++;
	return 0;
}

/*
 * Folds the thread's events up to head (the ring's count of events
 * written), in the thread's own context. Events overwritten before they
 * could be folded (the ring went round) are counted.
 */
static __always_inline void fold(struct call_thread *th, __u64 head)
{
	__u64 id = bpf_get_current_pid_tgid(), n;
	struct fold_ctx c = {.th = th, .id = id, .pid = id >> 32};

	if (th->busy || !th->ring || head <= th->read)
		return;
	n = head - th->read;
	if (n > CALL_RING_EVENTS) {
		__sync_fetch_and_add(&lost[CALL_LOST_RING_OVERRUN],
				     n - CALL_RING_EVENTS);
		th->read = head - CALL_RING_EVENTS;
		n = CALL_RING_EVENTS;
	}
	th->busy = 1;
	c.ring = th->ring + __builtin_offsetof(struct call_ring, ev);
	c.read = th->read;
	bpf_loop(n, fold_one, &c, 0);
	th->read += c.done;
	th->busy = 0;
}

/*
 * Folds what the current thread wrote to its ring and has not handed over
 * yet (its head read from its own memory; not if that page is out).
 */
static __always_inline void fold_current(struct call_thread *th)
{
	__u64 head;

	if (th->ring && !th->busy &&
	    !bpf_probe_read_user(&head, sizeof(head), (void *)th->ring))
		fold(th, head);
}

/*
 * pystrobe:batch(ring, head): the provider's ring of this thread has head
 * events. A ring not seen before for this thread (its first batch, a new
 * tracing session) is followed from here on: what it held before is older
 * than this tracer.
 */
SEC("usdt")
int BPF_USDT(pc_batch, __u64 ring, __u64 head)
{
	struct call_thread *th =
		thread_of((__u32)bpf_get_current_pid_tgid(), true);

	if (!th)
		return 0;
	if (th->ring != ring) {
		th->ring = ring;
		th->read = head;
		return 0;
	}
	fold(th, head);
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* pid */
	__type(value, struct call_calib_samples);
} call_calib SEC(".maps");

/*
 * pystrobe:calibration(overhead_ns, inside_ns, resume_overhead_ns,
 * resume_inside_ns): when a session starts, then about every 250 ms
 */
SEC("usdt")
int BPF_USDT(pc_calibration, __u64 overhead, __u64 inside, __u64 r_overhead,
	     __u64 r_inside)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct call_calib_samples *v = bpf_map_lookup_elem(&call_calib, &pid);
	struct call_calibration *c;
	struct call_zero *z;
	__u32 slot;

	if (!v) {
		z = zero();
		if (!z)
			return 0;
		bpf_map_update_elem(&call_calib, &pid, &z->calib, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&call_calib, &pid);
		if (!v)
			return 0;
	}
	/* a process calibrates under its GIL: one at a time */
	slot = v->n < CALL_CALIB_SAMPLES ? v->n
					 : bpf_get_prandom_u32() % (v->n + 1);
	v->n++;
	if (slot >= CALL_CALIB_SAMPLES)
		return 0;
	c = &v->s[slot];
	c->overhead_ns = overhead;
	c->inside_ns = inside;
	c->resume_overhead_ns = r_overhead;
	c->resume_inside_ns = r_inside;
	return 0;
}

/* pystrobe:function__name(id, filename, qualname, firstlineno) */
SEC("usdt")
int BPF_USDT(pc_name, __u64 id, void *file, void *name, int line)
{
	struct call_fn_key k = {.pid = bpf_get_current_pid_tgid() >> 32,
				.file = id & ~CALL_EV_KIND_MASK};

	remember_name(&k, (__u64)file, (__u64)name, line);
	return 0;
}

/*
 * python:function__entry/return(file, name, line): the function is its
 * (file, name) strings. CPython's line is the executing one, which differs
 * between entry and return, so it is kept with the name, not in the key.
 */
SEC("usdt")
int BPF_USDT(pc_py_entry, void *file, void *name, int line)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_fn_key k = {
		.pid = id >> 32, .file = (__u64)file, .name = (__u64)name};
	struct call_thread *th = thread_of((__u32)id, true);

	if (th)
		on_entry(th, &k, line, bpf_ktime_get_ns(), CALL_ENTRY_CALL,
			 true);
	return 0;
}

SEC("usdt")
int BPF_USDT(pc_py_return, void *file, void *name)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	struct call_fn_key k = {
		.pid = id >> 32, .file = (__u64)file, .name = (__u64)name};
	struct call_thread *th = thread_of((__u32)id, false);

	if (th)
		on_return(th, &k, now, CALL_RETURN_RETURN, id);
	else
		count_lost(CALL_LOST_UNMATCHED);
	return 0;
}

/*
 * Time off the CPU, per traced thread (runnable-but-waiting included). A
 * thread leaving the CPU first has its pending events folded, unless a
 * fold of its own is what it is leaving in (a preempted probe: that fold
 * goes on when it is back, by timestamp).
 */
SEC("raw_tp/sched_switch")
int BPF_PROG(pc_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	__u32 prev_tid = BPF_CORE_READ(prev, pid);
	__u32 next_tid = BPF_CORE_READ(next, pid);
	struct call_thread *th;
	__u64 now = bpf_ktime_get_ns();
	struct offcpu_gap *g;

	th = bpf_map_lookup_elem(&call_threads, &prev_tid);
	if (th && th->start_time == BPF_CORE_READ(prev, start_time)) {
		/* prev is current: its memory is the one readable */
		fold_current(th);
		th->offcpu_since = now;
	}
	th = bpf_map_lookup_elem(&call_threads, &next_tid);
	if (!th || th->start_time != BPF_CORE_READ(next, start_time))
		return 0;
	if (th->offcpu_since) {
		g = &th->gaps[th->gap_next & (CALL_OFFCPU_GAPS - 1)];
		g->out = th->offcpu_since;
		g->in = now;
		th->gap_next++;
		th->offcpu_ns += now - th->offcpu_since;
		th->offcpu_since = 0;
	} else {
		/* back on a CPU, never seen leaving: that time is lost */
		count_lost(CALL_LOST_SWITCH_OUT_MISSED);
	}
	return 0;
}

/*
 * A thread that ends, however it ends (os._exit(), exit_group() from
 * another thread, a signal, a thread ended from C): what it wrote since its
 * last batch is folded in do_exit(), in its own context: since Linux 6.16
 * sched_process_exit comes before exit_mm(), while its memory is mapped
 * (before that, the read fails and the events count as events_unfolded).
 */
SEC("raw_tp/sched_process_exit")
int pc_exit(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct call_thread *th = bpf_map_lookup_elem(&call_threads, &tid);
	__u64 start = BPF_CORE_READ(bpf_get_current_task_btf(), start_time);

	if (th && th->start_time == start)
		fold_current(th);
	return 0;
}
