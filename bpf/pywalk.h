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

#ifndef MAX_CODE_KNOWN
#define MAX_CODE_KNOWN 16384 /* code objects whose identity BPF remembers */
#endif
#ifndef CODE_SLOTS
#define CODE_SLOTS 4096 /* direct-mapped table of young code objects */
#endif
#ifndef CODE_YOUNG_NS
#define CODE_YOUNG_NS 1000000000ULL /* checked on every sample this long */
#endif
#ifndef CODE_MSGS_BYTES
#define CODE_MSGS_BYTES (512 * 1024)
#endif
#ifndef CODE_HEADER_MAX
#define CODE_HEADER_MAX 256 /* bytes of a code object covering its fields */
#endif
#define CODE_NAME_MAX  128 /* bytes of a name copied (a longer one is cut) */
#define CODE_FILE_MAX  256
#define CODE_TABLE_MAX 256

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

/*
 * What the walker needs to copy a code object's name, file, first line and
 * line table while it is alive (code objects die young: module bodies after
 * their import, exec'd code), and to tell one code object from another that
 * took its address. Type addresses 0: unknown, not checked.
 */
struct py_code_layout {
	__u64 code_type;    /* &PyCode_Type in the target */
	__u64 unicode_type; /* &PyUnicode_Type */
	__u16 name;	    /* co_qualname, or co_name before 3.11 */
	__u16 filename, firstlineno, linetable;
	__u16 header_size; /* bytes from the start covering those fields */
	__u16 unicode_state, unicode_length, ascii_data, compact_data;
	__u16 bytes_size, bytes_data;
	/*
	 * Before co_qualname (3.9, 3.10; else OFF_NONE): where a frame's
	 * first local (self or cls) and the code's argument names are, so
	 * that the loader can find the class of a method.
	 */
	__u16 frame_localsplus, co_argcount, co_varnames, tuple_items;
	__u16 pad;
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
	struct py_code_layout code;
};

/*
 * Set in py_frame.code (code objects are 8-aligned) on the first frame of
 * a C-level eval call, where native stacks are spliced in.
 */
#define PYFRAME_ENTRY 1ULL
/*
 * The top 16 bits of py_frame.code (user addresses stay below 2^47) hold a
 * tag of the code object's identity (its name, file, line table and first
 * line): a code object freed and its address taken by another one gives
 * another tag, so (address, tag) names one code object for the whole run.
 * 0: not tagged (the loader then reads the code object as it is now).
 */
#define PYFRAME_TAG_SHIFT 48
#define PYFRAME_ADDR_MASK 0x0000fffffffffff8ULL
#define PYFRAME_KEY(code) ((code) & ~PYFRAME_ENTRY)

struct py_frame {
	__u64 code;  /* code object address | tag << 48 | PYFRAME_ENTRY */
	__u64 instr; /* f_lasti or instruction pointer, as read */
};

/*
 * A copy of what names a code object, taken by BPF the first time it sees
 * the object in a stack (sent to the loader on the code_msgs ring buffer):
 * the loader uses it when the object is gone, or when its address now holds
 * something else, by the time it symbolizes. Strings are the raw characters
 * of the str objects (1, 2 or 4 bytes each, `kind`); kind 0: unreadable.
 */
struct code_info {
	__u64 key; /* address | tag << PYFRAME_TAG_SHIFT */
	__u32 pid;
	__u32 pad0;
	__u64 name_ptr, file_ptr, table_ptr;
	__s32 firstlineno;
	__u16 name_len, file_len, table_len; /* bytes copied */
	__u8 name_kind, file_kind;
	__u8 name_cut, file_cut, table_cut; /* only a prefix was copied */
	__u8 arg0_kind;
	/*
	 * 3.9, 3.10: the first local of the frame the object was first seen
	 * in, its type, and the name of the first argument (a method's self
	 * or cls: the loader finds the class from them).
	 */
	__u8 arg0[8];
	__u64 first_local, first_local_type;
	__u8 pad[6];
	__u8 name[CODE_NAME_MAX];
	__u8 file[CODE_FILE_MAX];
	__u8 table[CODE_TABLE_MAX];
};

/* A code object of a process (key of the code_known map). */
struct code_id {
	__u64 addr;
	__u32 pid;
	__u32 pad;
};

/* A young code object (CODE_YOUNG_NS): its tag is read on every sample. */
struct code_slot {
	__u64 code; /* address */
	__u64 seen_ns;
	__u32 tag; /* 0: unknown (the loader found the address reused) */
	__u32 pid;
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
