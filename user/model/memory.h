/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What `pystrobe memory` measured, and what it concludes from it.
 *
 * A site is one Python stack in one process. Its figures are estimates
 * from Poisson-sampled allocations (each sample stands for its weight in
 * bytes, weight / size blocks): bytes and objects allocated, freed, in use
 * at the end, and in use at its process's peak (the moment that process's
 * live bytes were highest); lifetimes of its freed samples; and its in-use
 * bytes at points over the run (the series, at most MEMORY_SERIES_MAX
 * points: when full, every second one is dropped and the step doubles).
 *
 * A site of the kernel-only view (processes the provider cannot reach)
 * counts pages first touched (kind MEM_SITE_FAULT) or anonymous memory
 * mapped and unmapped (MEM_SITE_MMAP, in use = still mapped) instead.
 *
 * memory__analyze derives, per location (the innermost Python frame:
 * function, file, line) and per function:
 *   leaks        locations whose in-use bytes (heap, or mapped) rise from
 *                the first half of the run to its last quarter well beyond
 *                sampling noise, and still grow over the second half at a
 *                good part of their mean rate: a cache that filled and
 *                stopped has no such rise
 *   growth       per location, the kernel-only view's faults and mappings
 *   temporaries  locations with a large share of the allocated bytes whose
 *                median sampled lifetime is short (blocks still live count
 *                as long-lived)
 */
#ifndef PYSTROBE_MODEL_MEMORY_H
#define PYSTROBE_MODEL_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "bpf/memory.h"
#include "model/profile.h"
#include "model/timeline.h"

#define MEMORY_SERIES_MAX 128

/* Where a process's figures come from. */
enum memory_view {
	MEMORY_VIEW_HEAP,   /* sampled allocations through the provider */
	MEMORY_VIEW_KERNEL, /* RSS, page faults and mappings only */
	MEMORY_VIEW__COUNT,
};

extern const char *const memory_view_names[MEMORY_VIEW__COUNT];

struct memory_site {
	int64_t pid;
	enum mem_site_kind kind;
	uint32_t *frames; /* indices into names->frames, leaf first */
	uint32_t depth;
	int64_t alloc_bytes, alloc_objects; /* objects: rounded estimates */
	int64_t freed_bytes, freed_objects;
	int64_t peak_bytes, peak_objects; /* in use at its process's peak */
	int64_t alloc_samples, freed_samples;
	uint32_t lifetime[MEM_LIFETIME_BUCKETS]; /* freed samples, log2 ns */
	int64_t oldest_live_ns; /* its oldest live sample, from the run's
				   start; -1: none live */
	int64_t *series;	/* in-use bytes at each series point */
};

struct memory_process {
	int64_t pid;
	char comm[32];
	enum memory_view view;
	char why[160]; /* why it got this view ("" for the heap view) */
	int64_t peak_bytes, peak_objects;
	int64_t peak_ns; /* when, from the run's start; -1: no peak */
	int64_t alloc_bytes, alloc_objects, live_bytes;
	int64_t alloc_samples; /* sampled allocations (or faults, mappings) */
};

/* Per innermost Python frame: a function (line = its first line). */
struct memory_fn {
	uint32_t name, file; /* string indices in names */
	int64_t line;
	int64_t alloc_bytes, alloc_objects, inuse_bytes, inuse_objects;
	int64_t peak_bytes;
};

struct memory_leak {
	uint32_t name, file;
	int64_t line;
	enum mem_site_kind kind; /* heap, or mmap: what stays mapped */
	int64_t inuse_bytes;
	double growth_bytes_per_s; /* slope over the second half */
	double age_s;		   /* of the oldest live sample */
};

/* Per location, the kernel-only view: growth by pages and mappings. */
struct memory_growth {
	uint32_t name, file;
	int64_t line;
	int64_t faulted_bytes; /* pages first touched (write faults, sampled) */
	int64_t mapped_bytes, unmapped_bytes; /* anonymous mmap, mremap, brk */
};

struct memory_temp {
	uint32_t name, file;
	int64_t line;
	int64_t alloc_bytes, alloc_objects;
	double alloc_bytes_per_s;
	double median_lifetime_s;
	double freed_share; /* of its sampled bytes */
};

/* Thresholds of memory__analyze. */
struct memory_analysis_opts {
	double leak_min_late_share; /* late slope / whole-run slope (0.25) */
	int leak_min_points;	    /* series points needed (4) */
	double temp_min_share;	    /* of the process's allocated bytes */
	double temp_max_lifetime_s; /* median lifetime below this */
};

#define MEMORY_ANALYSIS_DEFAULTS                                               \
	{                                                                      \
		.leak_min_late_share = 0.25, .leak_min_points = 4,             \
		.temp_min_share = 0.01, .temp_max_lifetime_s = 0.01,           \
	}

struct memory_result {
	struct profile *names; /* strings and frames; counters = drops */
	struct memory_site *sites;
	size_t nr_sites, cap_sites;
	void *site_index; /* private: (pid, kind, frames) -> site */
	struct memory_process *procs;
	size_t nr_procs, cap_procs;
	struct timeline timeline;
	int64_t series_t_ns[MEMORY_SERIES_MAX]; /* from the run's start */
	size_t series_n;
	int64_t series_stride, series_ticks; /* ticks per point; ticks seen */
	int64_t rate;			     /* mean sampling interval, bytes */
	int64_t duration_ns;
	/* memory__analyze's results, sorted by the bytes that matter */
	struct memory_fn *functions, *lines; /* lines: per (fn, line) */
	size_t nr_functions, nr_lines;
	struct memory_leak *leaks;
	size_t nr_leaks;
	struct memory_temp *temps;
	size_t nr_temps;
	struct memory_growth *growth; /* by faulted + mapped bytes */
	size_t nr_growth;
	bool by_inuse; /* rank lines and functions by in-use bytes */
};

/* An empty result; NULL with errno on failure. */
struct memory_result *memory__new(int64_t rate);
void memory__free(struct memory_result *m); /* accepts NULL */

/*
 * The site of pid and kind with these frames (indices into m->names,
 * leaf first), created empty when new. Its index, or a negative errno.
 */
ssize_t memory__site(struct memory_result *m, int64_t pid,
		     enum mem_site_kind kind, const uint32_t *frames,
		     uint32_t depth);

/* The record of pid, created when new (view heap); NULL: out of memory. */
struct memory_process *memory__process(struct memory_result *m, int64_t pid);

/*
 * A tick of the series at t_ns (from the run's start): a point with every
 * site's in-use bytes now, every series_stride ticks, and always for the
 * last one. 0 or -ENOMEM.
 */
int memory__tick(struct memory_result *m, int64_t t_ns, bool last);

/* Fills functions, lines, leaks, temps and growth. 0 or -ENOMEM. */
int memory__analyze(struct memory_result *m,
		    const struct memory_analysis_opts *o);

/* Median of a lifetime histogram with `live` samples still alive (taken as
 * longer than any), in seconds; negative when there are no samples. */
double memory__median_lifetime_s(const uint32_t *hist, int64_t live);

/* The site's innermost Python frame (or its leaf frame); NULL: none. */
const struct profile_frame *memory__leaf(const struct memory_result *m,
					 const struct memory_site *s);

/*
 * The sites as a profile with Go's heap sample types alloc_objects/count,
 * alloc_space/bytes, inuse_objects/count, inuse_space/bytes, a pid label
 * and the drop counters. Free with profile__free; NULL on failure.
 */
struct profile *memory__to_profile(const struct memory_result *m);

#endif
