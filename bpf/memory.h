/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The boundary between the memory collector (memory.bpf.c) and its loader
 * (user/collectors/memory.c).
 *
 * Sampled allocations (the provider's pystrobe:alloc/free probes) are kept
 * per allocation site (process, Python stack) and per live block; the
 * in-use bytes of a site are its allocated minus its freed bytes, and the
 * live blocks give the age of what is still held. Objects are counted in
 * 1/MEM_OBJECTS_ONE units (a sample of weight w and size n stands for w / n
 * blocks). Where the provider is not loaded, the kernel-only view charges
 * first touches of memory (user page faults) and mappings (mmap, brk) to
 * the Python stack that caused them.
 */
#ifndef PYSTROBE_MEMORY_H
#define PYSTROBE_MEMORY_H

#include "pywalk.h"

#ifndef MAX_MEM_SITES
#define MAX_MEM_SITES 16384 /* distinct (process, Python stack) sites */
#endif
#ifndef MAX_MEM_LIVE
#define MAX_MEM_LIVE 262144 /* sampled blocks live at once */
#endif
#ifndef MAX_MEM_SYSCALLS
#define MAX_MEM_SYSCALLS 4096 /* threads inside mmap/munmap/brk at once */
#endif
#ifndef MEM_NEW_SITES_BYTES
#define MEM_NEW_SITES_BYTES (256 << 10) /* ring buffer of new site keys */
#endif
#define MEM_OBJECTS_SHIFT 16
#define MEM_OBJECTS_ONE	  (1ULL << MEM_OBJECTS_SHIFT)
#define MEM_LIFETIME_BUCKETS                                                   \
	40 /* bucket i: [2^i, 2^(i+1)) ns; the last: more */
#define MEM_PAGE_SIZE 4096

/* Which probe an event of the kernel-only view came from. */
enum mem_site_kind {
	MEM_SITE_HEAP = 0,  /* sampled allocations (the provider) */
	MEM_SITE_FAULT = 1, /* user page faults: pages first touched */
	MEM_SITE_MMAP = 2,  /* mmap/brk growth (munmap/brk shrink subtracts) */
};

struct mem_site_key {
	__u32 pid;
	__u16 flags; /* STACK_* of the captured stack */
	__u16 kind;  /* enum mem_site_kind */
	__u64 py_stack_id;
};

/*
 * Per site. Counters only grow; in use = alloc - freed. peak_*: the
 * site's in-use bytes and objects at its process's peak, valid when
 * peak_gen equals the process's peak_gen (see memory_peak.h).
 */
struct mem_site {
	__u64 alloc_bytes, alloc_objects, alloc_samples;
	__u64 freed_bytes, freed_objects, freed_samples;
	__u64 peak_bytes, peak_objects, peak_gen;
	__u32 lifetime[MEM_LIFETIME_BUCKETS]; /* freed samples by lifetime */
};

struct mem_live_key {
	__u32 pid;
	__u32 pad;
	__u64 ptr;
};

/* A sampled block not freed yet. */
struct mem_live {
	struct mem_site_key site;
	__u64 bytes;   /* its weight */
	__u64 objects; /* weight / size, in 1/MEM_OBJECTS_ONE */
	__u64 time_ns; /* allocated at (bpf_ktime_get_ns) */
};

/* mem_proc.flags */
#define MEM_PROC_KERNEL_VIEW 1 /* faults and mappings, not the provider */

/* Per process: the estimated live heap, its peak, the totals. */
struct mem_proc {
	__u64 live_bytes, live_objects;
	__u64 peak_bytes, peak_objects;
	__u64 peak_gen; /* bumped at each new peak; starts at 1 */
	__u64 peak_ns;
	__u64 alloc_bytes, alloc_objects, alloc_samples;
	__u64 freed_bytes;
	__u64 flags; /* MEM_PROC_* (set by userspace) */
};

/* A thread inside mmap/munmap/mremap/brk (kernel-only view). */
struct mem_syscall {
	__u64 nr;
	__u64 args[4];
	__u64 old_brk; /* brk: the break before the call */
};

enum mem_lost {
	MEM_LOST_SITE_MAP_FULL,	   /* samples not charged to a site */
	MEM_LOST_LIVE_MAP_FULL,	   /* sampled blocks whose free cannot match */
	MEM_LOST_PROC_MAP_FULL,	   /* samples of processes not accounted */
	MEM_LOST_UNTRACKED,	   /* the provider's sampled set was full */
	MEM_LOST_UNKNOWN_FREE,	   /* frees of blocks never seen allocated */
	MEM_LOST_SYSCALL_MAP_FULL, /* mmap/brk calls not followed */
	MEM_LOST_NEW_SITE_EVENTS,  /* new sites not announced at once */
	MEM_LOST_UNMATCHED_UNMAP,  /* unmaps of no mapping seen (or partial) */
	MEM_LOST__COUNT,
};

#endif /* PYSTROBE_MEMORY_H */
