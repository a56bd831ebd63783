/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * speedscope's file format
 * (https://www.speedscope.app/file-format-schema.json), loadable by the
 * speedscope app. Frames are functions (model/functions.h: name, file, first
 * line), so a function's lines form one box.
 *
 * Sampled profiles (record, report): one "sampled" profile per thread,
 * stacks root first, weighted by the profile's wall, else off-CPU, else
 * CPU time in nanoseconds (else sample counts, unit "none").
 *
 * Call traces (calls): first one "sampled" profile per process whose
 * stacks are the traced call paths weighted by their exact self wall time
 * (every call counted: the aggregate, no time order), then one "evented"
 * profile per thread built from the calls the tracer kept as events (those
 * at least --min-duration long, up to --max-events): a true timeline, but
 * of those calls only, so shorter calls show as their caller's self time.
 */
#ifndef PYSTROBE_SPEEDSCOPE_H
#define PYSTROBE_SPEEDSCOPE_H

#include <stdio.h>
#include "model/call_graph.h"
#include "model/profile.h"

/* 0 or a negative errno. */
int speedscope__write_profile(const struct profile *p, FILE *out);

int speedscope__write_calls(const struct call_graph *g,
			    const struct call_event *events, size_t nr_events,
			    FILE *out);

#endif
