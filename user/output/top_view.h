/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What `pystrobe top` shows, as lines of text: the model of the live view,
 * apart from the terminal (commands/top.c draws the lines with ncurses), so
 * that it is testable.
 *
 * It keeps two profiles of CPU samples and off-CPU time (record --wall's
 * types): the last interval's and the whole run's. Per function (the
 * shared aggregation, model/functions.h): own and total CPU as a share of
 * one CPU over the last interval (OWN%, TOTAL%), own and total CPU time
 * over the run, and the last interval's own off-CPU time by reason. Or,
 * with threads, per thread: its CPU share, CPU time and off-CPU time by
 * reason. One process of a scope can be picked; rows fit the width, names
 * never cut (output/text.h).
 */
#ifndef PYSTROBE_TOP_VIEW_H
#define PYSTROBE_TOP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/profile.h"

#define TOP_LINE_LEN 1024

enum top_sort {
	TOP_SORT_OWN,	     /* OWN%: own CPU in the last interval */
	TOP_SORT_TOTAL,	     /* TOTAL% */
	TOP_SORT_OWN_TIME,   /* own CPU over the run */
	TOP_SORT_TOTAL_TIME, /* total CPU over the run */
	TOP_SORT_OFFCPU,     /* own off-CPU time in the last interval */
	TOP_SORT__COUNT,
};

struct top_opts {
	enum top_sort sort;
	bool threads;	  /* a row per thread instead of per function */
	int64_t pid;	  /* only this process; 0: all */
	bool paused;	  /* said in the header */
	int width;	  /* columns; 0: unlimited */
	int height;	  /* lines; rows are cut to fit */
	const char *what; /* the targets, for the header ("pid 1234") */
	long freq;	  /* Hz */
	int64_t elapsed_ns;
};

/* The lines to draw, top to bottom; the column header is lines[header]
 * and its sorted column spans [sort_from, sort_from + sort_len). */
struct top_screen {
	char (*lines)[TOP_LINE_LEN];
	int nr, header, sort_from, sort_len;
};

struct top_view;

/* NULL with errno set (ENOMEM). types: a profile with the sample types
 * and period the sampler fills (samples, cpu, offcpu, wall). */
struct top_view *top_view__new(const struct profile *types);
void top_view__free(struct top_view *v); /* accepts NULL */

/*
 * The profile the sampler drains the current interval into. Ends the
 * interval: interval_ns is its length. 0 or -ENOMEM.
 */
struct profile *top_view__interval(struct top_view *v);
int top_view__end_interval(struct top_view *v, int64_t interval_ns);

/* The run's profile (every interval so far): counters go here. */
struct profile *top_view__run(struct top_view *v);

/*
 * The processes seen so far, by pid: the one after pid (0: the first), or
 * 0 after the last, for a key that steps through them.
 */
int64_t top_view__next_pid(const struct top_view *v, int64_t pid);

/*
 * Renders the last complete interval into s (s->lines reallocated as
 * needed; free with top_screen__free). 0 or -ENOMEM.
 */
int top_view__render(const struct top_view *v, const struct top_opts *o,
		     struct top_screen *s);
void top_screen__free(struct top_screen *s);

#endif
