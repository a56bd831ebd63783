/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The session's resource timeline: the processes it watches, read every
 * interval (process/usage.h), turned into one point per process and
 * interval (model/timeline.h). Each point covers the time since that
 * process's previous reading, so a process watched mid-interval or read
 * at its exit gets a point of its own length; CPU % is over that time.
 *
 * The session calls, per round: usage_timeline__take (points into a
 * pending batch), lets the command fill in its own values (off-CPU by
 * reason, heap), then usage_timeline__commit.
 */
#ifndef PYSTROBE_USAGE_TIMELINE_H
#define PYSTROBE_USAGE_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "model/timeline.h"

struct usage_timeline;

/* NULL with errno set (ENOMEM). */
struct usage_timeline *usage_timeline__new(int64_t interval_ns);
void usage_timeline__free(struct usage_timeline *u); /* accepts NULL */

/*
 * Starts watching pid from now (a first reading, no point); a pid already
 * watched or already gone is left as it is. 0 or -ENOMEM.
 */
int usage_timeline__watch(struct usage_timeline *u, pid_t pid, int64_t now);

/* The run starts at now: points count from here; every watched process
 * is read afresh. */
void usage_timeline__start(struct usage_timeline *u, int64_t now);

/*
 * Reads the watched processes (only: that one alone, then forgets it; 0:
 * all, skipping those read less than a tenth of an interval ago unless
 * final) and puts a point for each into the pending batch, returned in
 * *points and *nr (valid until the next call). Processes gone are
 * forgotten. 0 or -ENOMEM.
 */
int usage_timeline__take(struct usage_timeline *u, pid_t only, bool final,
			 int64_t now, struct timeline_point **points,
			 size_t *nr);

/* Appends the pending batch (sorted by pid) to the timeline. 0 or -ENOMEM. */
int usage_timeline__commit(struct usage_timeline *u);

const struct timeline *usage_timeline__get(const struct usage_timeline *u);

#endif
