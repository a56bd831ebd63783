/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The resource timeline of a run: per process and per interval, what it
 * consumed (CPU, waits by reason, memory, I/O, context switches), so a
 * reader can tell computation from waiting on something outside. Every
 * command's session keeps one; the JSON and HTML writers show it.
 */
#ifndef PYSTROBE_TIMELINE_H
#define PYSTROBE_TIMELINE_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "bpf/offcpu_reason.h"

#define TIMELINE_UNKNOWN (-1) /* a value not measured in this run */

/* One process over one interval [t_ns - interval, t_ns). */
struct timeline_point {
	int64_t t_ns; /* end of the interval, from the run's start */
	int64_t pid;
	double cpu_pct; /* of one CPU over the interval */
	/* Off-CPU time by reason over the interval (--offcpu/--wall runs),
	 * else TIMELINE_UNKNOWN in every slot. */
	int64_t offcpu_ns[OFFCPU__COUNT];
	int64_t rss_bytes;		 /* at t_ns */
	int64_t read_bytes, write_bytes; /* over the interval */
	int64_t voluntary_switches, involuntary_switches; /* over it */
	int64_t heap_live_bytes;   /* memory runs: estimated live heap */
	int64_t alloc_bytes_per_s; /* memory runs: allocation rate */
};

struct timeline {
	struct timeline_point *points; /* by t_ns, then pid */
	size_t nr, cap;
	int64_t interval_ns;
	int64_t start_unix_ns; /* the run's start, wall clock (for logs) */
	/* What read_bytes and write_bytes count: "storage" (/proc/PID/io
	 * read_bytes/write_bytes: to and from the block layer, writes when
	 * pages are dirtied) or "syscalls" (rchar/wchar, where the kernel
	 * keeps no storage accounting: every read and write call, pipes and
	 * sockets too); NULL: not measured. */
	const char *io_bytes;
};

/* Appends a copy of pt; 0 or -ENOMEM. */
int timeline__add(struct timeline *t, const struct timeline_point *pt);
void timeline__free(struct timeline *t); /* leaves t empty; accepts NULL */

#endif
