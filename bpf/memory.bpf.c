// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Memory: sampled allocations from the provider's USDT probes, charged to
 * the Python stack that made them (walked in the kernel at the probe).
 *
 *   pm_alloc   pystrobe:alloc(ptr, size, weight): the site's allocated
 *              bytes and objects grow by the sample's weight; the block is
 *              remembered as live (site, weight, time)
 *   pm_free    pystrobe:free(ptr): the block's weight moves from live to
 *              freed, its lifetime goes to the site's histogram
 *
 * Per process, the live total and its high-water mark (memory_peak.h).
 * Nothing is sent per event: userspace reads the maps every interval.
 * Only registered processes (procs) count.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>
#include <asm/errno.h>
#include "memory.h"
#include "memory_peak.h"
#include "pywalk.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

__u64 mem_lost[MEM_LOST__COUNT] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_MEM_SITES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mem_site_key);
	__type(value, struct mem_site);
} mem_sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_MEM_LIVE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mem_live_key);
	__type(value, struct mem_live);
} mem_live SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PROCS);
	__type(key, __u32);
	__type(value, struct mem_proc);
} mem_procs SEC(".maps");

/*
 * Each new site's key, so that userspace names it (reads its code
 * objects) within a poll, before a short-lived code object (a module's
 * body, a function defined at run time) is freed and its address reused.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MEM_NEW_SITES_BYTES);
} mem_new_sites SEC(".maps");

/* A zeroed site, the template for new ones (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mem_site);
} mem_zero SEC(".maps");

static __always_inline void count_mem_lost(enum mem_lost c)
{
	__sync_fetch_and_add(&mem_lost[c], 1);
}

static __always_inline struct mem_proc *proc_of(__u32 pid)
{
	struct mem_proc *pm = bpf_map_lookup_elem(&mem_procs, &pid),
			fresh = {.peak_gen = 1};

	if (pm)
		return pm;
	if (bpf_map_update_elem(&mem_procs, &pid, &fresh, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&mem_procs, &pid)) {
		count_mem_lost(MEM_LOST_PROC_MAP_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&mem_procs, &pid);
}

static __always_inline struct mem_site *site_of(const struct mem_site_key *k)
{
	struct mem_site *s = bpf_map_lookup_elem(&mem_sites, k);
	__u32 zero = 0;

	if (s)
		return s;
	s = bpf_map_lookup_elem(&mem_zero, &zero);
	if (!s)
		return NULL;
	if (bpf_map_update_elem(&mem_sites, k, s, BPF_NOEXIST) == 0) {
		if (bpf_ringbuf_output(&mem_new_sites, (void *)k, sizeof(*k),
				       0))
			count_mem_lost(MEM_LOST_NEW_SITE_EVENTS);
	} else if (!bpf_map_lookup_elem(&mem_sites, k)) {
		/* not -EEXIST (another CPU added it first): full */
		count_mem_lost(MEM_LOST_SITE_MAP_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&mem_sites, k);
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r;
}

SEC("usdt")
int BPF_USDT(pm_alloc, void *ptr, __u64 size, __u64 weight)
{
	__u64 id = bpf_get_current_pid_tgid(), now, objects, live;
	struct sample_key key = {.pid = id >> 32, .tid = (__u32)id};
	struct mem_live_key lk = {.pid = key.pid, .ptr = (__u64)ptr};
	struct mem_live block = {};
	struct proc_info *pi;
	struct mem_proc *pm;
	struct mem_site *s;

	pi = bpf_map_lookup_elem(&procs, &key.pid);
	if (!pi || !weight)
		return 0;
	capture_stacks(ctx, pi, &key);
	now = bpf_ktime_get_ns();
	objects = size ? (weight << MEM_OBJECTS_SHIFT) / size : 0;
	block.site.pid = key.pid;
	block.site.flags = key.flags;
	block.site.kind = MEM_SITE_HEAP;
	block.site.py_stack_id = key.py_stack_id;
	block.bytes = weight;
	block.objects = objects;
	block.time_ns = now;
	pm = proc_of(key.pid);
	s = site_of(&block.site);
	if (s) {
		mem_peak_touch(s, pm ? pm->peak_gen : 0);
		__sync_fetch_and_add(&s->alloc_bytes, weight);
		__sync_fetch_and_add(&s->alloc_objects, objects);
		__sync_fetch_and_add(&s->alloc_samples, 1);
	}
	if (pm) {
		__sync_fetch_and_add(&pm->alloc_bytes, weight);
		__sync_fetch_and_add(&pm->alloc_objects, objects);
		__sync_fetch_and_add(&pm->alloc_samples, 1);
	}
	/*
	 * A block whose free cannot be matched is counted as allocated but
	 * not as live: held forever, it would look like a leak.
	 */
	if (!ptr) {
		count_mem_lost(MEM_LOST_UNTRACKED);
	} else if (bpf_map_update_elem(&mem_live, &lk, &block, BPF_ANY)) {
		count_mem_lost(MEM_LOST_LIVE_MAP_FULL);
	} else {
		if (pm) {
			live = __sync_fetch_and_add(&pm->live_bytes, weight) +
			       weight;
			__sync_fetch_and_add(&pm->live_objects, objects);
			mem_peak_update(pm, live, pm->live_objects, now);
		}
		return 0;
	}
	if (s) {
		__sync_fetch_and_add(&s->freed_bytes, weight);
		__sync_fetch_and_add(&s->freed_objects, objects);
	}
	if (pm)
		__sync_fetch_and_add(&pm->freed_bytes, weight);
	return 0;
}

SEC("usdt")
int BPF_USDT(pm_free, void *ptr)
{
	__u64 id = bpf_get_current_pid_tgid(), life;
	struct mem_live_key lk = {.pid = id >> 32, .ptr = (__u64)ptr};
	struct mem_live block, *l;
	struct mem_proc *pm;
	struct mem_site *s;
	__u32 b;

	l = bpf_map_lookup_elem(&mem_live, &lk);
	if (!l) {
		count_mem_lost(MEM_LOST_UNKNOWN_FREE);
		return 0;
	}
	block = *l;
	/* Only one free takes it: a racing reuse of ptr keeps its own. */
	if (bpf_map_delete_elem(&mem_live, &lk))
		return 0;
	life = bpf_ktime_get_ns() - block.time_ns;
	pm = bpf_map_lookup_elem(&mem_procs, &lk.pid);
	s = bpf_map_lookup_elem(&mem_sites, &block.site);
	if (s) {
		mem_peak_touch(s, pm ? pm->peak_gen : 0);
		__sync_fetch_and_add(&s->freed_bytes, block.bytes);
		__sync_fetch_and_add(&s->freed_objects, block.objects);
		__sync_fetch_and_add(&s->freed_samples, 1);
		b = log2_u64(life);
		if (b >= MEM_LIFETIME_BUCKETS)
			b = MEM_LIFETIME_BUCKETS - 1;
		__sync_fetch_and_add(&s->lifetime[b], 1);
	}
	if (pm) {
		__sync_fetch_and_sub(&pm->live_bytes, block.bytes);
		__sync_fetch_and_sub(&pm->live_objects, block.objects);
		__sync_fetch_and_add(&pm->freed_bytes, block.bytes);
	}
	return 0;
}

/* --------------------------- the kernel-only view ------------------------- */
/*
 * For processes the provider cannot reach. Pages first touched: a write
 * fault on a page not yet present allocates one, so one in fault_every
 * user write faults (per CPU) is charged, as fault_every pages, to the
 * faulting thread's Python stack. Mappings: anonymous mmap, mremap and brk
 * growth to the caller's stack; munmap and shrinks back to the site of the
 * mapping (found by its address), so in use = still mapped.
 */
const volatile __u64 fault_every = 128;

#define X86_PF_WRITE	 2 /* error_code: the access was a write */
#define NR_MMAP		 9
#define NR_MUNMAP	 11
#define NR_BRK		 12
#define NR_MREMAP	 25
#define MAP_ANONYMOUS_FL 0x20
#define PAGE_UP(n)	 (((n) + MEM_PAGE_SIZE - 1) & ~(__u64)(MEM_PAGE_SIZE - 1))

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_MEM_SYSCALLS);
	__type(key, __u32); /* tid */
	__type(value, struct mem_syscall);
} mem_syscalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fault_countdown SEC(".maps");

/* The current thread's process, when it is in the kernel-only view. */
static __always_inline struct mem_proc *kernel_view_proc(__u32 pid)
{
	struct mem_proc *pm = bpf_map_lookup_elem(&mem_procs, &pid);

	return pm && (pm->flags & MEM_PROC_KERNEL_VIEW) ? pm : NULL;
}

/* The current thread's site of this kind; its key in *k. */
static __always_inline struct mem_site *current_site(void *ctx, __u16 kind,
						     struct mem_site_key *k)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sample_key key = {.pid = id >> 32, .tid = (__u32)id};
	struct proc_info *pi = bpf_map_lookup_elem(&procs, &key.pid);

	if (!pi)
		return NULL;
	capture_stacks(ctx, pi, &key);
	k->pid = key.pid;
	k->flags = key.flags;
	k->kind = kind;
	k->py_stack_id = key.py_stack_id;
	return site_of(k);
}

static __always_inline void site_grows(struct mem_proc *pm, struct mem_site *s,
				       __u64 bytes)
{
	__sync_fetch_and_add(&s->alloc_bytes, bytes);
	__sync_fetch_and_add(&s->alloc_samples, 1);
	__sync_fetch_and_add(&pm->alloc_bytes, bytes);
	__sync_fetch_and_add(&pm->alloc_samples, 1);
}

static __always_inline void site_shrinks(struct mem_proc *pm,
					 struct mem_site *s, __u64 bytes)
{
	__sync_fetch_and_add(&s->freed_bytes, bytes);
	__sync_fetch_and_add(&s->freed_samples, 1);
	__sync_fetch_and_add(&pm->freed_bytes, bytes);
}

SEC("raw_tp/page_fault_user")
int BPF_PROG(pm_fault, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	struct mem_site_key k;
	struct mem_proc *pm;
	struct mem_site *s;
	__u64 *left;

	if (!(error_code & X86_PF_WRITE))
		return 0;
	pm = kernel_view_proc(pid);
	left = bpf_map_lookup_elem(&fault_countdown, &zero);
	if (!pm || !left)
		return 0;
	if (*left > 1) {
		(*left)--;
		return 0;
	}
	*left = fault_every;
	s = current_site(ctx, MEM_SITE_FAULT, &k);
	if (s)
		site_grows(pm, s, fault_every * MEM_PAGE_SIZE);
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(pm_sys_enter, struct pt_regs *regs, long nr)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct mem_syscall call = {.nr = nr};
	struct task_struct *task;
	__u32 tid = (__u32)id;

	if (nr != NR_MMAP && nr != NR_MUNMAP && nr != NR_BRK && nr != NR_MREMAP)
		return 0;
	if (!kernel_view_proc(id >> 32))
		return 0;
	call.args[0] = BPF_CORE_READ(regs, di);
	call.args[1] = BPF_CORE_READ(regs, si);
	call.args[2] = BPF_CORE_READ(regs, dx);
	call.args[3] = BPF_CORE_READ(regs, r10);
	if (nr == NR_BRK) {
		task = bpf_get_current_task_btf();
		call.old_brk = BPF_CORE_READ(task, mm, brk);
	}
	if (bpf_map_update_elem(&mem_syscalls, &tid, &call, BPF_ANY))
		count_mem_lost(MEM_LOST_SYSCALL_MAP_FULL);
	return 0;
}

/* A new mapping [addr, addr + len) of the caller's site. */
static __always_inline void mapped(void *ctx, struct mem_proc *pm, __u64 addr,
				   __u64 len)
{
	struct mem_live block = {.time_ns = bpf_ktime_get_ns()};
	struct mem_live_key lk = {.pid = bpf_get_current_pid_tgid() >> 32,
				  .ptr = addr};
	struct mem_site *s = current_site(ctx, MEM_SITE_MMAP, &block.site);

	if (!s)
		return;
	site_grows(pm, s, len);
	block.bytes = len;
	if (bpf_map_update_elem(&mem_live, &lk, &block, BPF_ANY)) {
		count_mem_lost(MEM_LOST_LIVE_MAP_FULL);
		site_shrinks(pm, s, len); /* never matched: not in use */
	}
}

/*
 * [addr, addr + len) unmapped: back to the site that mapped addr; a part
 * from its start keeps the rest there. Anything else is not matched.
 */
static __always_inline void unmapped(struct mem_proc *pm, __u64 addr, __u64 len)
{
	struct mem_live_key lk = {.pid = bpf_get_current_pid_tgid() >> 32,
				  .ptr = addr};
	struct mem_live *l = bpf_map_lookup_elem(&mem_live, &lk), block;
	struct mem_site *s;

	if (!l) {
		count_mem_lost(MEM_LOST_UNMATCHED_UNMAP);
		return;
	}
	block = *l;
	s = bpf_map_lookup_elem(&mem_sites, &block.site);
	if (len >= block.bytes) {
		len = block.bytes;
		bpf_map_delete_elem(&mem_live, &lk);
	} else {
		block.bytes -= len;
		lk.ptr = addr + len;
		bpf_map_update_elem(&mem_live, &lk, &block, BPF_ANY);
		lk.ptr = addr;
		bpf_map_delete_elem(&mem_live, &lk);
	}
	if (s)
		site_shrinks(pm, s, len);
}

/*
 * mremap(old, old_len, new_len) returned to: the mapping keeps its site,
 * which grows or shrinks by the difference. Not one of ours (a file's
 * mapping): nothing to do.
 */
static __always_inline void remapped(struct mem_proc *pm, __u64 old, __u64 to,
				     __u64 len)
{
	struct mem_live_key lk = {.pid = bpf_get_current_pid_tgid() >> 32,
				  .ptr = old};
	struct mem_live *l = bpf_map_lookup_elem(&mem_live, &lk), block;
	struct mem_site *s;

	if (!l)
		return;
	block = *l;
	bpf_map_delete_elem(&mem_live, &lk);
	s = bpf_map_lookup_elem(&mem_sites, &block.site);
	if (s && len > block.bytes)
		site_grows(pm, s, len - block.bytes);
	else if (s && len < block.bytes)
		site_shrinks(pm, s, block.bytes - len);
	block.bytes = len;
	lk.ptr = to;
	if (bpf_map_update_elem(&mem_live, &lk, &block, BPF_ANY)) {
		count_mem_lost(MEM_LOST_LIVE_MAP_FULL);
		if (s)
			site_shrinks(pm, s, len);
	}
}

SEC("raw_tp/sys_exit")
int BPF_PROG(pm_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct mem_syscall *c, call;
	struct mem_site_key k;
	struct mem_proc *pm;
	struct mem_site *s;
	__u32 tid = (__u32)id;

	c = bpf_map_lookup_elem(&mem_syscalls, &tid);
	if (!c)
		return 0;
	call = *c;
	bpf_map_delete_elem(&mem_syscalls, &tid);
	pm = kernel_view_proc(id >> 32);
	if (!pm || (ret < 0 && ret > -4096))
		return 0; /* failed */
	switch (call.nr) {
	case NR_MMAP:
		if (call.args[3] & MAP_ANONYMOUS_FL)
			mapped(ctx, pm, ret, PAGE_UP(call.args[1]));
		break;
	case NR_MUNMAP:
		unmapped(pm, call.args[0], PAGE_UP(call.args[1]));
		break;
	case NR_MREMAP:
		remapped(pm, call.args[0], ret, PAGE_UP(call.args[2]));
		break;
	case NR_BRK:
		if ((__u64)ret > call.old_brk) {
			s = current_site(ctx, MEM_SITE_MMAP, &k);
			if (s)
				site_grows(pm, s, ret - call.old_brk);
		} else if ((__u64)ret < call.old_brk) {
			/* a shrink is charged where it happens */
			s = current_site(ctx, MEM_SITE_MMAP, &k);
			if (s)
				site_shrinks(pm, s, call.old_brk - ret);
		}
		break;
	}
	return 0;
}
