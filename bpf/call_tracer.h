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
#ifndef CALL_OFFCPU_GAPS
#define CALL_OFFCPU_GAPS 4 /* off-CPU intervals remembered per thread */
#endif

/*
 * pystrobe's provider writes each thread's events into a ring of its own
 * (struct call_ring, in the target's memory) and fires
 *	pystrobe:batch(ring address, head)
 * when CALL_RING_BATCH are new, when the thread's outermost frame returns,
 * when CALL_RING_FLUSH_NS passed since its last batch, before a fork, and
 * once per thread when tracing starts (announcing its ring). The tracer
 * folds the events it has not folded yet, in the thread's own context: at
 * that probe, and when the thread leaves the CPU (so that every event
 * before an off-CPU interval is folded before it). A code object is named
 * once per tracing session, before its first entry event, by
 *	pystrobe:function__name(id, filename, qualname, firstlineno)
 * Timestamps are CLOCK_MONOTONIC (bpf_ktime_get_ns()'s clock).
 */
#define CALL_RING_EVENTS 512 /* events a ring holds (a power of 2) */
/*
 * New events that make the provider fire. Odd: a loop that alternates
 * calls and returns then has its batches (their folding cost) fall after
 * entries and returns alike, as in any program, so that the calibration
 * (the provider's) sees how folding splits between a call's own time and
 * its caller's.
 */
#define CALL_RING_BATCH	   255
#define CALL_RING_FLUSH_NS 10000000ULL

enum call_event_kind {
	CALL_EV_CALL = 0,   /* a call: the body starts */
	CALL_EV_RESUME = 1, /* a generator or coroutine resumes */
	CALL_EV_RETURN = 2, /* then enum call_return_kind + CALL_EV_RETURN */
	CALL_EV_YIELD = 3,
	CALL_EV_UNWIND = 4,
	/*
	 * The provider was held up by tracing itself (a batch handed over:
	 * the probe and its fold): word = duration ns << 3 | CALL_EV_PAUSE,
	 * ts = its end. Taken out of every activation open then.
	 */
	CALL_EV_PAUSE = 5,
};
#define CALL_EV_KIND_MASK 7ULL /* word = code id (serial << 3) | kind */

struct call_ring_event {
	__u64 ts;
	__u64 word;
};

struct call_ring {
	__u64 head; /* events written; the newest is ev[(head-1) % size] */
	__u64 reserved[7]; /* the provider's (head alone in its cache line) */
	struct call_ring_event ev[CALL_RING_EVENTS];
};

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
	__u64 unwinds;	   /* activations ended by an exception */
	__u64 children;	   /* activations that returned directly inside */
	__u64 descendants; /* activations that returned anywhere inside */
	__u64 child_resumes, desc_resumes; /* of those, resumptions */
};

/*
 * What tracing costs per activation in a process, as the provider measured
 * it when the session started (pystrobe:calibration): all of it (overhead,
 * an empty function's traced minus untraced time) and the part that falls
 * between the activation's own entry and return timestamps (inside).
 */
struct call_calibration {
	__u64 overhead_ns; /* a call */
	__u64 inside_ns;
	__u64 resume_overhead_ns; /* a generator resumed (to its yield) */
	__u64 resume_inside_ns;
};
/*
 * A process's calibrations: the one made when tracing started, then one
 * about every 250 ms while it lasts (what a call costs moves with the
 * machine). CALL_CALIB_SAMPLES of them are kept, drawn evenly from the
 * whole run (reservoir sampling: the n-th replaces a random one with
 * probability CALL_CALIB_SAMPLES / n), and the lower quartile of each
 * figure is used (user/collectors/call_tracer.c says why).
 */
#define CALL_CALIB_SAMPLES 64
struct call_calib_samples {
	__u32 n; /* calibrations so far */
	__u32 pad;
	struct call_calibration s[CALL_CALIB_SAMPLES];
};
/* The file the provider's calibration code is named by (never reported). */
#define CALL_CALIBRATION_FILE "<pystrobe calibration>"

/* One finished activation, for the timeline (-f chrome). */
struct call_event {
	__u32 pid, tid;
	__u64 path;
	__u64 start_ns; /* CLOCK_MONOTONIC */
	__u64 dur_ns;
	__u64 offcpu_ns;
	__u32 entry_kind, return_kind;
	__u64 descendants;  /* activations that returned inside this one */
	__u64 desc_resumes; /* of those, resumptions */
};

/* A thread's shadow stack (the call_threads map, keyed by tid). */
struct shadow_frame {
	__u64 path; /* 0: not aggregated (path map full) */
	__u64 fn;   /* hash of the function key, to match the return */
	__u64 start_ns;
	__u64 offcpu_at_start; /* the thread's off-CPU time at entry */
	__u64 paused_at_start; /* the thread's paused_ns at entry */
	__u64 child_ns;
	__u64 child_offcpu_ns;
	__u64 children, descendants;	   /* activations returned inside */
	__u64 child_resumes, desc_resumes; /* of those, resumptions */
	/* the last callee's path: a loop calling one function skips lookups */
	__u64 last_child_fn, last_child_path;
	__u32 last_child_slot;
	__u32 slot; /* index of this path's stats */
	__u32 kind; /* enum call_entry_kind */
	__u32 pad;
};

struct offcpu_gap {
	__u64 out, in; /* left the CPU, came back */
};

struct call_thread {
	__u32 depth; /* may exceed MAX_CALL_DEPTH: those frames are not kept */
	__u32 busy;  /* a fold of this thread's ring is under way */
	__u64 start_time;   /* the task's: a reused tid is another thread */
	__u64 offcpu_ns;    /* total time off the CPU, to the last return */
	__u64 offcpu_since; /* when it left the CPU; 0: running */
	__u64 ring;	    /* the provider's ring (target address); 0: none */
	__u64 read;	    /* index of the next event to fold */
	__u64 paused_ns;    /* CALL_EV_PAUSE durations so far */
	struct offcpu_gap
		gaps[CALL_OFFCPU_GAPS]; /* the last ones, by gap_next */
	__u32 gap_next;
	__u32 pad;
	struct shadow_frame frames[MAX_CALL_DEPTH];
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
	CALL_LOST_RING_OVERRUN,	     /* events overwritten before folded */
	CALL_LOST_RING_UNREADABLE,   /* folds stopped by an unreadable ring */
	CALL_LOST_UNFOLDED,	 /* (userspace) events left in rings at end */
	CALL_LOST_GAPS_OVERFLOW, /* events older than the gaps remembered */
	CALL_LOST__COUNT,
};

#endif /* PYSTROBE_CALLS_H */
