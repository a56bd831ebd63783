/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The boundary between the call tracer (call_tracer.bpf.c) and `pystrobe
 * calls`.
 *
 * A function is identified by what its probes pass: its code object's id
 * (pystrobe's provider: a serial number, never reused) or the addresses of
 * its file and name UTF-8 (CPython's probes: stable while the code object
 * lives, and could be reused by another after it is freed). Calls are
 * aggregated per call path: each activation's path id hashes its caller's path
 * id with its function, and call_nodes maps a path id to (parent path,
 * function) so userspace can rebuild the tree, the per-function totals and the
 * caller->callee edges.
 */
#ifndef PYSTROBE_CALLS_H
#define PYSTROBE_CALLS_H

#ifndef MAX_CALL_DEPTH
#define MAX_CALL_DEPTH 128 /* shadow-stack frames kept per thread */
#endif
#ifndef MAX_CALL_PATHS
#define MAX_CALL_PATHS 65536 /* distinct call paths */
#endif
#ifndef MAX_CALL_FUNCS
#define MAX_CALL_FUNCS 16384 /* distinct functions (names kept) */
#endif
#ifndef MAX_CALL_THREADS
#define MAX_CALL_THREADS 4096
#endif
#ifndef CALL_NAME_LEN
#define CALL_NAME_LEN 128
#endif
#ifndef CALL_FILE_LEN
#define CALL_FILE_LEN 256
#endif
#ifndef CALL_EVENTS_BYTES
#define CALL_EVENTS_BYTES (4 << 20) /* ring buffer for timeline events */
#endif
#define CALL_MISMATCH_SEARCH 8 /* frames searched for a return's match */

/* What an entry probe reports; CPython's own probes report only calls. */
enum call_entry_kind {
	CALL_ENTRY_CALL = 0,
	CALL_ENTRY_RESUME = 1, /* a generator or coroutine resumed */
};

enum call_return_kind {
	CALL_RETURN_RETURN = 0,
	CALL_RETURN_YIELD = 1,
	CALL_RETURN_UNWIND = 2, /* an exception left the frame */
};

struct call_fn_key {
	__u32 pid;
	__u32 line; /* 0 (reserved) */
	__u64 file; /* code object id (provider), or file UTF-8 (CPython) */
	__u64 name; /* 0 (provider), or name UTF-8 (CPython) */
};

struct call_fn_name {
	__u32 line; /* first line (provider), entry's line (CPython) */
	__u32 flags;
	char file[CALL_FILE_LEN];
	char name[CALL_NAME_LEN];
};

struct call_node {
	__u64 parent; /* path id of the caller; 0: a root */
	struct call_fn_key fn;
	__u32 slot; /* index of the path's call_stats */
	__u32 pad;
};

/*
 * Per call path (call_stats[slot]); times in ns. Inclusive times count
 * every activation.
 */
struct call_stats {
	__u64 calls;
	__u64 resumes;
	__u64 total_ns;
	__u64 self_ns;
	__u64 total_offcpu_ns;
	__u64 self_offcpu_ns;
	__u64 unwinds; /* activations ended by an exception */
};

/* One finished activation, for the timeline (-f chrome). */
struct call_event {
	__u32 pid, tid;
	__u64 path;
	__u64 start_ns; /* CLOCK_MONOTONIC */
	__u64 dur_ns;
	__u64 offcpu_ns;
	__u32 entry_kind, return_kind;
};

enum call_lost {
	CALL_LOST_TOO_DEEP,	     /* calls deeper than MAX_CALL_DEPTH */
	CALL_LOST_UNMATCHED,	     /* a return with no entry on the stack */
	CALL_LOST_POPPED,	     /* frames whose return was never seen */
	CALL_LOST_PATH_MAP_FULL,     /* activations not aggregated */
	CALL_LOST_THREAD_MAP_FULL,   /* threads not traced */
	CALL_LOST_NAME_MAP_FULL,     /* functions without a name */
	CALL_LOST_EVENTS,	     /* timeline events (ring buffer full) */
	CALL_LOST_SWITCH_SKIPPED,    /* (userspace) sched_switch runs skipped */
	CALL_LOST_SWITCH_OUT_MISSED, /* off-CPU time not seen: a switch-out */
	CALL_LOST_PROBE_SKIPPED,     /* (userspace) entry/return runs skipped */
	CALL_LOST__COUNT,
};

#endif /* PYSTROBE_CALLS_H */
