/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The high-water mark of a process's live heap, with what each site held
 * at that moment, kept without ever walking every site: the rule shared by
 * the BPF program (which applies it at each event) and the loader (which
 * reads its result).
 *
 * The process's peak_gen is bumped whenever its live bytes reach a new
 * maximum. A site, just before its in-use bytes change, saves its current
 * in-use as its peak value if it has not done so since the latest peak
 * (its peak_gen differs): no change to it since that peak means its value
 * then is its value now. Reading: a site that changed since the latest
 * peak has the saved value; one that did not has its current one.
 *
 * Exact for events applied one at a time; two CPUs changing one site at
 * the same instant may blur which side of a peak an event falls.
 */
#ifndef PYSTROBE_MEMORY_PEAK_H
#define PYSTROBE_MEMORY_PEAK_H

#include "memory.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Before site s's in-use changes, in a process at peak generation gen. */
static __always_inline void mem_peak_touch(struct mem_site *s, __u64 gen)
{
	if (s->peak_gen != gen) {
		s->peak_bytes = s->alloc_bytes - s->freed_bytes;
		s->peak_objects = s->alloc_objects - s->freed_objects;
		s->peak_gen = gen;
	}
}

/* After the process's live bytes moved to live: a new peak? */
static __always_inline void mem_peak_update(struct mem_proc *pm, __u64 live,
					    __u64 live_objects, __u64 now)
{
	if (live > pm->peak_bytes) {
		pm->peak_bytes = live;
		pm->peak_objects = live_objects;
		pm->peak_ns = now;
		pm->peak_gen++;
	}
}

/* What site s held at its process's (latest) peak, of generation gen. */
static __always_inline __u64 mem_peak_bytes(const struct mem_site *s, __u64 gen)
{
	return s->peak_gen == gen ? s->peak_bytes
				  : s->alloc_bytes - s->freed_bytes;
}

static __always_inline __u64 mem_peak_objects(const struct mem_site *s,
					      __u64 gen)
{
	return s->peak_gen == gen ? s->peak_objects
				  : s->alloc_objects - s->freed_objects;
}

#endif
