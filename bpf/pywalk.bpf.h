/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The in-kernel CPython stack walker, shared by every program that captures
 * a Python stack (CPU samples, off-CPU switches): target lookup, thread
 * state lookup, the frame walk, and the maps those fill. Included once, by
 * sampler.bpf.c.
 */
#ifndef PYWALK_BPF_H
#define PYWALK_BPF_H

#include "mix64.bpf.h"

#include "sampler.h"

const volatile bool collect_kernel = false;
const volatile bool collect_native = false;

__u64 lost[LOST__COUNT] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PROCS);
	__type(key, __u32);
	__type(value, struct proc_info);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u32);
	__type(value, struct py_thread);
} threads SEC(".maps");

/* 3 KiB a stack: not preallocated (see counts in sampler.bpf.c). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PY_STACKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct py_stack);
} py_stacks SEC(".maps");

/* Sized by the loader: 1 entry unless --kernel / --native asked for them. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, MAX_NATIVE_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, NATIVE_STACK_DEPTH * sizeof(__u64));
} kernel_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, MAX_NATIVE_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, NATIVE_STACK_DEPTH * sizeof(__u64));
} user_stacks SEC(".maps");

/* Code objects seen in stacks (address -> identity tag), and young ones. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_CODE_KNOWN);
	__type(key, struct code_id);
	__type(value, __u32);
} code_known SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CODE_SLOTS);
	__type(key, __u32);
	__type(value, struct code_slot);
} code_slots SEC(".maps");

/* struct code_info records; read by the loader at each drain. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, CODE_MSGS_BYTES);
} code_msgs SEC(".maps");

struct scratch {
	struct py_stack stack;
	/* Frame memory read so far; room past FRAME_WINDOW for field reads. */
	__u8 window[FRAME_WINDOW + FRAME_READ_MAX];
	__u8 hdr[CODE_HEADER_MAX]; /* a code object's or a string's header */
	struct code_info ci;
	__u64 frame_at[MAX_PY_FRAMES]; /* frame addresses of stack.frames */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

static __always_inline void count_lost(enum lost_counter c)
{
	__sync_fetch_and_add(&lost[c], 1);
}

static __always_inline __u64 read_ptr(__u64 addr)
{
	__u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (void *)addr))
		return 0;
	return v;
}

/* Reads `size` (4 or 8) bytes at buf[off]; 0 when off is out of the buffer. */
static __always_inline __u64 buf_field(const __u8 *buf, __u16 off, __u8 size)
{
	__u64 v = 0;

	if (off > FRAME_READ_MAX - 8)
		return 0;
	if (size == 4)
		v = *(__u32 *)(buf + off);
	else if (size == 1)
		v = buf[off];
	else
		v = *(__u64 *)(buf + off);
	return v;
}

/* Reads 8 (or 4: size 4) bytes at hdr[off]; 0 when out of the header. */
static __always_inline __u64 hdr_field(const __u8 *hdr, __u16 off, __u8 size)
{
	if (off > CODE_HEADER_MAX - 8)
		return 0;
	if (size == 4)
		return *(__u32 *)(hdr + off);
	return *(__u64 *)(hdr + off);
}

static __always_inline __u32 code_slot_index(__u64 code)
{
	return (__u32)((code >> 3) ^ (code >> 15)) & (CODE_SLOTS - 1);
}

/*
 * Reads code object `code`'s identity into s->hdr and returns its tag
 * (never 0), or 0 when it cannot be read or is not a code object.
 */
static __always_inline __u32 code_tag(const struct proc_info *pi, __u64 code,
				      struct scratch *s)
{
	const struct py_code_layout *cl = &pi->code;
	__u32 n = cl->header_size;
	__u64 name, name8 = 0, h;

	if (n < 16 || n > CODE_HEADER_MAX)
		return 0;
	if (bpf_probe_read_user(s->hdr, n, (void *)code))
		return 0;
	/* ob_type follows ob_refcnt in every (GIL) build. */
	if (cl->code_type && *(__u64 *)(s->hdr + 8) != cl->code_type)
		return 0;
	name = hdr_field(s->hdr, cl->name, 8);
	bpf_probe_read_user(&name8, sizeof(name8),
			    (void *)(name + cl->ascii_data));
	h = mix64(name, hdr_field(s->hdr, cl->filename, 8));
	h = mix64(h, hdr_field(s->hdr, cl->linetable, 8));
	h = mix64(h, hdr_field(s->hdr, cl->firstlineno, 4));
	h = mix64(h, name8);
	h = (h ^ (h >> 32) ^ (h >> 16)) & 0xffff;
	return h ? h : 1;
}

/*
 * The current thread's id as its own PID namespace numbers it: what
 * CPython stored in native_thread_id (gettid() inside a container).
 */
static __always_inline __u64 ns_tid(__u32 host_tid)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};

	if (level == 0)
		return host_tid;
	if (bpf_probe_read_kernel(&up, sizeof(up), &pid->numbers[level & 31]))
		return host_tid;
	return up.nr;
}

struct thread_walk {
	const struct py_walk_offsets *off;
	__u64 t;
	__u16 id_off; /* field of PyThreadState identifying the thread */
	__u64 id;     /* its value for the current thread */
	__u64 found;
};

static long thread_walk_step(__u32 i, struct thread_walk *w)
{
	if (!w->t || !w->off)
		return 1;
	if (read_ptr(w->t + w->id_off) == w->id) {
		w->found = w->t;
		return 1;
	}
	w->t = read_ptr(w->t + w->off->tstate_next);
	return 0;
}

/*
 * Finds the PyThreadState whose native_thread_id is tid by walking the main
 * interpreter's thread list; the answer is cached in `threads` and checked
 * on every use, so a reused address or tid is noticed. A thread without one
 * is retried at most every TSTATE_RETRY_NS, once the list has threads:
 * before that (a process still starting, its runtime not initialized) it
 * is retried at the next event, so that its first Python frames are not
 * missed for want of a walk.
 */
static __always_inline __u64 find_tstate(const struct proc_info *pi, __u32 pid,
					 __u32 tid)
{
	const struct py_walk_offsets *off = &pi->off;
	struct thread_walk w = {.off = off};
	struct py_thread *ti, fresh = {};
	__u64 now = bpf_ktime_get_ns();
	__u64 interp;

	if (off->tstate_native_thread_id != OFF_NONE) {
		w.id_off = off->tstate_native_thread_id;
		w.id = ns_tid(tid);
	} else {
		struct task_struct *task = (void *)bpf_get_current_task();

		w.id_off = off->tstate_thread_id;
		w.id = BPF_CORE_READ(task, thread.fsbase);
	}
	ti = bpf_map_lookup_elem(&threads, &tid);
	if (ti && ti->pid == pid) {
		if (ti->tstate && read_ptr(ti->tstate + w.id_off) == w.id) {
			/* Thread names change rarely: refresh now and then. */
			if (now - ti->last_walk_ns > COMM_REFRESH_NS) {
				ti->last_walk_ns = now;
				bpf_get_current_comm(ti->comm,
						     sizeof(ti->comm));
			}
			return ti->tstate;
		}
		if (!ti->tstate && now - ti->last_walk_ns < TSTATE_RETRY_NS)
			return 0;
	}

	fresh.pid = pid;
	bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
	interp = read_ptr(pi->runtime_addr + off->runtime_interpreters_head);
	w.t = interp ? read_ptr(interp + off->interp_threads_head) : 0;
	fresh.last_walk_ns = w.t ? now : 0; /* 0: no threads yet, retry */
	bpf_loop(MAX_THREADS_WALK, thread_walk_step, &w, 0);
	fresh.tstate = w.found;
	if (bpf_map_update_elem(&threads, &tid, &fresh, BPF_ANY))
		count_lost(LOST_THREAD_MAP_FULL);
	return fresh.tstate;
}

struct frame_walk {
	const struct proc_info *pi;
	struct scratch *s;
	__u32 pid;
	__u64 frame;
	__u64 hash;
	__u64 win_lo, win_hi; /* user addresses now in s->window */
	__u64 now;
	__u32 depth;
	__u32 read_size;
	bool every_frame_entry;
};

/*
 * Makes the read_size bytes at w->frame available in s->window; returns
 * their offset there, or -1. Frames of 3.11+ sit next to each other in the
 * thread's data stack, callers below callees, so one read of the
 * FRAME_WINDOW bytes below a frame usually serves the next several frames.
 */
static __always_inline long frame_bytes(struct frame_walk *w, struct scratch *s,
					__u32 n)
{
	__u64 f = w->frame, lo;

	if (f >= w->win_lo && f + n <= w->win_hi)
		return (f - w->win_lo) & (FRAME_WINDOW - 1);
	if (w->pi->frame_window && f + n > FRAME_WINDOW) {
		lo = f + n - FRAME_WINDOW;
		if (!bpf_probe_read_user(s->window, FRAME_WINDOW, (void *)lo)) {
			w->win_lo = lo;
			w->win_hi = lo + FRAME_WINDOW;
			return (f - lo) & (FRAME_WINDOW - 1);
		}
	}
	/* Heap frames (<= 3.10), or the window crossed into unmapped pages. */
	if (bpf_probe_read_user(s->window, n, (void *)f))
		return -1;
	w->win_lo = f;
	w->win_hi = f + n;
	return 0;
}

/* Entry frames carry PYFRAME_ENTRY in the (8-aligned) code address. */
static __always_inline void mark_entry(struct py_stack *st, __u32 i)
{
	asm volatile("" : "+r"(i));
	if (i < MAX_PY_FRAMES)
		st->frames[i].code |= PYFRAME_ENTRY;
}

/* One frame of the walk; returns 1 to stop. */
static long frame_walk_step(__u32 i, struct frame_walk *w)
{
	const struct py_walk_offsets *off;
	struct py_stack *st;
	struct scratch *s;
	__u32 depth = w->depth, n;
	__u64 code, instr, at;
	const __u8 *buf;
	long pos;

	if (!w->frame || !w->pi || !w->s)
		return 1;
	off = &w->pi->off;
	s = w->s;
	at = w->frame;
	st = &s->stack;
	n = w->read_size;
	if (n == 0 || n > FRAME_READ_MAX)
		return 1;
	pos = frame_bytes(w, s, n);
	if (pos < 0) {
		st->flags |= STACK_READ_FAILED;
		count_lost(LOST_READ_FAILED);
		return 1;
	}
	buf = s->window + (pos & (FRAME_WINDOW - 1));
	w->frame = buf_field(buf, off->frame_previous, 8);
	if (off->frame_owner != OFF_NONE &&
	    buf_field(buf, off->frame_owner, 1) >= off->owner_shim_min) {
		/* A shim: the frame below it (leafwards) was entered from C. */
		if (depth > 0)
			mark_entry(st, depth - 1);
		return 0;
	}
	if (depth >= MAX_PY_FRAMES) {
		st->flags |= STACK_TRUNCATED;
		count_lost(LOST_TRUNCATED);
		return 1;
	}
	/* Clear stack-ref tag bits (3.14+); objects are 8-aligned. */
	code = buf_field(buf, off->frame_code, 8) & ~7ULL;
	instr = buf_field(buf, off->frame_instr, off->instr_size);
	if (code && code <= PYFRAME_ADDR_MASK) {
		__u32 idx = code_slot_index(code), tag;
		struct code_slot *slot = bpf_map_lookup_elem(&code_slots, &idx);

		/*
		 * Young: it may be freed and its address reused any time.
		 * Not in its slot (another object's address maps there):
		 * nothing vouches that this address still holds the object
		 * BPF copied, so it is identified again.
		 */
		if (slot && (slot->code != code || slot->pid != w->pid ||
			     w->now - slot->seen_ns < CODE_YOUNG_NS)) {
			tag = code_tag(w->pi, code, s);
			code |= (__u64)tag << PYFRAME_TAG_SHIFT;
		}
	}
	if (w->every_frame_entry || (off->frame_is_entry != OFF_NONE &&
				     buf_field(buf, off->frame_is_entry, 1)))
		code |= PYFRAME_ENTRY;
	st->frames[depth].code = code;
	st->frames[depth].instr = instr;
	s->frame_at[depth] = at;
	w->hash = mix64(w->hash, code);
	w->hash = mix64(w->hash, instr);
	w->depth = depth + 1;
	return 0;
}

/*
 * Walks the frame chain leaf to root into s->stack, skipping C-stack shim
 * frames and marking the first Python frame of each C-level eval call (for
 * merging with native stacks). Returns a hash of the stack (never 0).
 */
static __always_inline __u64 walk_frames(const struct proc_info *pi, __u32 pid,
					 __u64 tstate, struct scratch *s)
{
	const struct py_walk_offsets *off = &pi->off;
	struct frame_walk w = {
		.pi = pi,
		.s = s,
		.pid = pid,
		.now = bpf_ktime_get_ns(),
		.hash = 0x5bd1e995,
		.read_size = pi->frame_read_size,
		.every_frame_entry = off->frame_owner == OFF_NONE &&
				     off->frame_is_entry == OFF_NONE,
	};
	struct py_stack *st = &s->stack;
	__u64 h;

	w.frame = read_ptr(tstate + off->tstate_frame);
	if (off->cframe_current_frame != OFF_NONE && w.frame)
		w.frame = read_ptr(w.frame + off->cframe_current_frame);
	if (w.read_size > FRAME_READ_MAX)
		w.read_size = FRAME_READ_MAX;
	bpf_loop(MAX_PY_FRAMES + 32, frame_walk_step, &w, 0);
	if (w.frame && !(st->flags & (STACK_TRUNCATED | STACK_READ_FAILED))) {
		/* Ran out of iterations on shims: still a truncation. */
		st->flags |= STACK_TRUNCATED;
		count_lost(LOST_TRUNCATED);
	}
	st->depth = w.depth;
	h = mix64(w.hash, w.depth);
	h = mix64(h, st->flags);
	return h ? h : 1;
}

/*
 * Copies the characters of str object `str` (bounded by max - 1 bytes)
 * into dst; returns the bytes copied and sets *kind (0: not a compact str
 * we can read) and *cut.
 */
static __always_inline __u32 copy_str(const struct proc_info *pi, __u64 str,
				      struct scratch *s, __u8 *dst, __u32 max,
				      __u8 *kind, __u8 *cut)
{
	const struct py_code_layout *cl = &pi->code;
	__u32 n = cl->compact_data, state, k, off;
	__u64 len;

	*kind = 0;
	*cut = 0;
	if (!str || n < 16 || n > CODE_HEADER_MAX)
		return 0;
	if (bpf_probe_read_user(s->hdr, n, (void *)str))
		return 0;
	if (cl->unicode_type && *(__u64 *)(s->hdr + 8) != cl->unicode_type)
		return 0;
	state = hdr_field(s->hdr, cl->unicode_state, 4);
	len = hdr_field(s->hdr, cl->unicode_length, 8);
	/* state: interned:2, kind:3, compact:1, ascii:1 in every version. */
	k = (state >> 2) & 7;
	if (!((state >> 5) & 1) || (k != 1 && k != 2 && k != 4))
		return 0;
	off = (state >> 6) & 1 ? cl->ascii_data : cl->compact_data;
	if (len > max / k) {
		len = max / k;
		*cut = 1;
	}
	len *= k;
	if (len >= max) {
		len = max - k;
		*cut = 1;
	}
	len &= max - 1;
	if (len && bpf_probe_read_user(dst, len, (void *)(str + off)))
		return 0;
	*kind = k;
	return len;
}

struct code_capture {
	const struct proc_info *pi;
	struct scratch *s;
	__u64 now;
	__u32 pid;
};

/*
 * Makes sure the loader will know frame i's code object: the first time
 * BPF sees it (or sees its address hold another one), copies what names it
 * into a code_info for the loader and marks it young; tags the frame.
 */
static long capture_code_step(__u32 i, struct code_capture *c)
{
	const struct py_code_layout *cl;
	struct scratch *s = c->s;
	struct code_info *ci;
	struct code_slot *slot, fresh_slot = {};
	struct code_id id = {.pid = c->pid};
	__u64 code, addr, table, size = 0;
	__u32 tag, *known, idx, n;

	if (!s || !c->pi || i >= s->stack.depth || i >= MAX_PY_FRAMES)
		return 1;
	cl = &c->pi->code;
	ci = &s->ci;
	code = s->stack.frames[i].code;
	addr = code & PYFRAME_ADDR_MASK;
	tag = code >> PYFRAME_TAG_SHIFT;
	if (!addr)
		return 0;
	id.addr = addr;
	known = bpf_map_lookup_elem(&code_known, &id);
	if (known && (!tag || *known == tag)) {
		s->stack.frames[i].code =
			(code & ~(0xffffULL << PYFRAME_TAG_SHIFT)) |
			(__u64)*known << PYFRAME_TAG_SHIFT;
		return 0;
	}
	tag = code_tag(c->pi, addr, s);
	if (!tag)
		return 0; /* unreadable, or not a code object: untagged */
	ci->key = addr | (__u64)tag << PYFRAME_TAG_SHIFT;
	ci->pid = c->pid;
	ci->name_ptr = hdr_field(s->hdr, cl->name, 8);
	ci->file_ptr = hdr_field(s->hdr, cl->filename, 8);
	ci->table_ptr = hdr_field(s->hdr, cl->linetable, 8);
	ci->firstlineno = hdr_field(s->hdr, cl->firstlineno, 4);
	ci->first_local = ci->first_local_type = 0;
	ci->arg0_kind = 0;
	*(__u64 *)ci->arg0 = 0; /* up to 7 characters, then NULs */
	if (cl->frame_localsplus != OFF_NONE &&
	    hdr_field(s->hdr, cl->co_argcount, 4) > 0) {
		__u64 names = hdr_field(s->hdr, cl->co_varnames, 8), arg0;
		__u8 cut;

		ci->first_local =
			read_ptr(s->frame_at[i] + cl->frame_localsplus);
		if (ci->first_local)
			ci->first_local_type = read_ptr(ci->first_local + 8);
		arg0 = names ? read_ptr(names + cl->tuple_items) : 0;
		copy_str(c->pi, arg0, s, ci->arg0, sizeof(ci->arg0),
			 &ci->arg0_kind, &cut);
	}
	ci->name_len = copy_str(c->pi, ci->name_ptr, s, ci->name, CODE_NAME_MAX,
				&ci->name_kind, &ci->name_cut);
	ci->file_len = copy_str(c->pi, ci->file_ptr, s, ci->file, CODE_FILE_MAX,
				&ci->file_kind, &ci->file_cut);
	table = ci->table_ptr;
	ci->table_len = 0;
	ci->table_cut = 0;
	if (table && !bpf_probe_read_user(&size, sizeof(size),
					  (void *)(table + cl->bytes_size))) {
		n = size < CODE_TABLE_MAX ? size : CODE_TABLE_MAX - 1;
		ci->table_cut = size > n;
		n &= CODE_TABLE_MAX - 1;
		if (n && !bpf_probe_read_user(ci->table, n,
					      (void *)(table + cl->bytes_data)))
			ci->table_len = n;
	}
	if (bpf_ringbuf_output(&code_msgs, ci, sizeof(*ci), BPF_RB_NO_WAKEUP)) {
		count_lost(LOST_CODE_MSG);
		s->stack.frames[i].code =
			code & ~(0xffffULL << PYFRAME_TAG_SHIFT);
		return 0;
	}
	bpf_map_update_elem(&code_known, &id, &tag, BPF_ANY);
	s->stack.frames[i].code = (code & ~(0xffffULL << PYFRAME_TAG_SHIFT)) |
				  (__u64)tag << PYFRAME_TAG_SHIFT;
	idx = code_slot_index(addr);
	slot = bpf_map_lookup_elem(&code_slots, &idx);
	if (slot &&
	    (slot->code != addr || slot->pid != c->pid || slot->tag != tag)) {
		fresh_slot.code = addr;
		fresh_slot.seen_ns = c->now;
		fresh_slot.tag = tag;
		fresh_slot.pid = c->pid;
		*slot = fresh_slot;
	}
	return 0;
}

/*
 * Fills key's stack fields for the current thread of target pi: the Python
 * stack (stored in py_stacks, referenced by hash), and kernel and native
 * stack ids when asked for. ctx is the program's context.
 */
static __always_inline void
capture_stacks(void *ctx, const struct proc_info *pi, struct sample_key *key)
{
	__u32 zero = 0;
	struct scratch *s;
	__u64 tstate = 0;
	long ret;

	key->kernel_stack_id = -1;
	key->user_stack_id = -1;
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return;
	s->stack.depth = 0;
	s->stack.flags = 0;

	if (pi->runtime_addr)
		tstate = find_tstate(pi, key->pid, key->tid);
	if (tstate) {
		key->py_stack_id = walk_frames(pi, key->pid, tstate, s);
		key->flags = s->stack.flags;
		if (s->stack.depth == 0 && !s->stack.flags) {
			key->py_stack_id = 0; /* thread idle in C, no frames */
		} else if (!bpf_map_lookup_elem(&py_stacks,
						&key->py_stack_id)) {
			/* A new stack: its code objects are alive right now. */
			struct code_capture cc = {.pi = pi,
						  .s = s,
						  .now = bpf_ktime_get_ns(),
						  .pid = key->pid};

			bpf_loop(MAX_PY_FRAMES, capture_code_step, &cc, 0);
			ret = bpf_map_update_elem(&py_stacks, &key->py_stack_id,
						  &s->stack, BPF_NOEXIST);
			if (ret && ret != -EEXIST) {
				count_lost(LOST_PY_STACK_MAP_FULL);
				key->py_stack_id = 0;
				key->flags |= STACK_READ_FAILED;
			}
		}
	} else {
		key->flags = STACK_NO_TSTATE;
		count_lost(LOST_NO_TSTATE);
	}

	if (collect_kernel) {
		ret = bpf_get_stackid(ctx, &kernel_stacks, 0);
		key->kernel_stack_id = ret;
		/* -EFAULT: the sample hit user mode, there is no kernel stack.
		 */
		if (ret < 0 && ret != -EFAULT)
			count_lost(LOST_KERNEL_STACK);
	}
	if (collect_native) {
		ret = bpf_get_stackid(ctx, &user_stacks, BPF_F_USER_STACK);
		key->user_stack_id = ret;
		if (ret < 0 && ret != -EFAULT)
			count_lost(LOST_USER_STACK);
	}
}

/* Adds delta to a counter map entry, creating it; counts a full map. */
static __always_inline void add_to(void *map, const struct sample_key *key,
				   __u64 delta, enum lost_counter full)
{
	__u64 *cnt = bpf_map_lookup_elem(map, key);

	if (cnt) {
		__sync_fetch_and_add(cnt, delta);
	} else if (bpf_map_update_elem(map, key, &delta, BPF_NOEXIST)) {
		/* Lost a race with another CPU inserting the same key? */
		cnt = bpf_map_lookup_elem(map, key);
		if (cnt)
			__sync_fetch_and_add(cnt, delta);
		else
			count_lost(full);
	}
}

#endif /* PYWALK_BPF_H */
