/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The boundary between the in-kernel CPython walker (pywalk.bpf.h) and the
 * loader: per-process offsets, the captured Python stack, the thread cache,
 * and the limits every program that walks Python stacks shares.
 */
#ifndef PYWALK_H
#define PYWALK_H

#ifndef MAX_PY_FRAMES
#define MAX_PY_FRAMES                                                          \
	192 /* Python frames kept per stack; deeper = truncated                \
	     */
#endif
#ifndef MAX_THREADS_WALK
#define MAX_THREADS_WALK 256 /* thread states visited to find a tid */
#endif
#ifndef MAX_PROCS
#define MAX_PROCS 1024
#endif
#ifndef MAX_PY_STACKS
#define MAX_PY_STACKS 8192 /* distinct Python stacks */
#endif
#ifndef MAX_NATIVE_STACKS
#define MAX_NATIVE_STACKS 8192
#endif
#ifndef MAX_THREADS
#define MAX_THREADS 8192
#endif
#ifndef FRAME_READ_MAX
#define FRAME_READ_MAX 128 /* one read per frame covers all its fields */
#endif
#ifndef FRAME_WINDOW
#define FRAME_WINDOW 2048 /* bytes of a 3.11+ data stack read at once */
#endif
#ifndef TSTATE_RETRY_NS
#define TSTATE_RETRY_NS 10000000ULL /* re-walk thread list of a miss */
#endif
#ifndef COMM_REFRESH_NS
#define COMM_REFRESH_NS 1000000000ULL /* thread names re-read every 1 s */
#endif
#ifndef NATIVE_STACK_DEPTH
#define NATIVE_STACK_DEPTH 127 /* perf_event_max_stack on the test hosts */
#endif

#define OFF_NONE 0xffff /* field absent in this Python version */

/*
 * Offsets the in-kernel walker needs, per target process (so one run can hold
 * several Python versions). All are byte offsets from the start of the object.
 */
struct py_walk_offsets {
	__u16 runtime_interpreters_head; /* _PyRuntime -> first interpreter */
	__u16 interp_threads_head;	 /* interpreter -> first thread state */
	__u16 tstate_next;
	__u16 tstate_native_thread_id; /* 3.11+; else OFF_NONE */
	/*
	 * PyThreadState.thread_id = pthread_self(), which on x86-64 glibc is
	 * the thread's fsbase: how 3.9/3.10 threads are matched.
	 */
	__u16 tstate_thread_id;
	__u16 tstate_frame;	    /* tstate -> top frame, or -> cframe */
	__u16 cframe_current_frame; /* cframe -> top frame; OFF_NONE: none */
	__u16 frame_previous;
	__u16 frame_code; /* code object; may carry stack-ref tag bits */
	__u16 frame_instr;
	__u16 frame_owner;    /* OFF_NONE before 3.12 */
	__u16 frame_is_entry; /* 3.11 only, else OFF_NONE */
	__u8 instr_size;      /* 4: int f_lasti, 8: instruction pointer */
	__u8 owner_shim_min;  /* frames with owner >= this are C-stack shims */
};

/* Per target process, keyed by tgid (as the host's PID namespace sees it). */
struct proc_info {
	__u64 runtime_addr; /* address of _PyRuntime in the target */
	/* The GIL's state (its mutex and condition variables): a futex wait
	 * on an address in [gil_lo, gil_hi) is a wait for the GIL. */
	__u64 gil_lo, gil_hi;
	struct py_walk_offsets off;
	__u16 frame_read_size; /* bytes covering every frame field read */
	__u16 frame_window;    /* 1: frames are contiguous (3.11+ data stack) */
	__u16 pad;
};

/*
 * Set in py_frame.code (code objects are 8-aligned) on the first frame of
 * a C-level eval call, where native stacks are spliced in.
 */
#define PYFRAME_ENTRY 1ULL

struct py_frame {
	__u64 code;  /* code object address | PYFRAME_ENTRY */
	__u64 instr; /* f_lasti or instruction pointer, as read */
};

/* Stack flags */
#define STACK_TRUNCATED	  1 /* more Python frames than MAX_PY_FRAMES */
#define STACK_NO_TSTATE	  2 /* thread has no Python thread state (yet) */
#define STACK_READ_FAILED 4 /* a frame could not be read; stack is partial */

struct py_stack {
	__u32 depth;
	__u32 flags;
	struct py_frame frames[MAX_PY_FRAMES]; /* leaf first */
};

/* Cached thread state of a target thread; tstate 0: none found yet. */
struct py_thread {
	__u64 tstate;
	__u64 last_walk_ns;
	__u32 pid;
	__u32 pad;
	char comm[16];
};

#endif /* PYWALK_H */
