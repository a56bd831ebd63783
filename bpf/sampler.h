/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The boundary between the BPF sampler (sampler.bpf.c) and its loader
 * (user/collectors/sampler.c): every struct here is read or written on both
 * sides, so only fixed-width fields are used.
 */
#ifndef SAMPLER_H
#define SAMPLER_H

#include "pywalk.h"
#include "offcpu_reason.h"

#ifndef MAX_STACKS
#define MAX_STACKS 16384 /* distinct (thread, stack) sample keys */
#endif
#ifndef MAX_OFFCPU_STACKS
#define MAX_OFFCPU_STACKS 16384 /* distinct off-CPU (thread, stack, reason) */
#endif

/* Key of the sample-count map: one per (thread, stacks) combination. */
struct sample_key {
	__u32 pid;
	__u32 tid;
	__u64 py_stack_id; /* hash of the Python stack; 0: no Python stack */
	__s32 kernel_stack_id;
	__s32 user_stack_id;
	__u32 flags;
	__u32 reason; /* enum offcpu_reason; OFFCPU_NONE for CPU samples */
};

/* Value of the CPU sample map: samples, and the CPU time they stand for. */
struct cpu_sample {
	__u64 count;
	__u64 ns; /* sampling-clock time since each one's previous sample */
};

/*
 * Sampling timers. Each perf event (one per target thread, or one per CPU
 * system-wide) fires at a period the loader draws at random around the
 * nominal one, and is re-armed with a fresh random period every
 * TIMER_REARM_EVERY samples: ps_sample asks for it through the timer_msgs
 * ring buffer, right after the sample, so that no partial period is lost.
 */
#ifndef TIMER_REARM_EVERY
#define TIMER_REARM_EVERY 16
#endif
#ifndef TIMER_MSGS_BYTES
#define TIMER_MSGS_BYTES (64 * 1024)
#endif

/* Per perf event: keyed by tid (per-thread timers) or CPU (system-wide). */
struct timer_state {
	__u64 last_ns; /* the event's clock at its previous sample */
	__u64 fires;
};

enum timer_msg_type {
	TIMER_REARM = 1,      /* re-arm event `key` with a new random period */
	TIMER_NEW_THREAD = 2, /* thread `key` of target `pid` needs a timer */
};

struct timer_msg {
	__u32 type; /* enum timer_msg_type */
	__u32 key;  /* tid, or CPU for system-wide timers */
	__u32 pid;
	__u32 pad;
	__u64 ts; /* bpf_ktime_get_ns() when sent */
};

/* A target thread now off the CPU, keyed by (host) tid. */
struct offcpu_start {
	struct sample_key key; /* stacks and reason captured at switch-out */
	__u64 ts;	       /* switch-out, bpf_ktime_get_ns() */
	__u64 wake_ts;	       /* woken up (runnable again); 0: not yet */
};

/* Indices of the .bss loss counters (array `lost` in the BPF object). */
enum lost_counter {
	LOST_SAMPLE_MAP_FULL,
	LOST_PY_STACK_MAP_FULL,
	LOST_THREAD_MAP_FULL,
	LOST_READ_FAILED,
	LOST_TRUNCATED,
	LOST_NO_TSTATE, /* samples of threads without a Python thread state */
	LOST_KERNEL_STACK,
	LOST_USER_STACK,
	LOST_OFFCPU_MAP_FULL,
	LOST_OFFCPU_MISSED,	/* a switch-in not seen: that wait is lost */
	LOST_OFFCPU_OUT_MISSED, /* a switch-out not seen: that wait is lost */
	LOST_TIMER_MSG,		/* timer_msgs full: a re-arm or thread missed */
	LOST_CODE_MSG,		/* code_msgs full: a code object not copied */
	LOST__COUNT,
};

#endif /* SAMPLER_H */
