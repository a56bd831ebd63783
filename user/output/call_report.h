/* SPDX-License-Identifier: BSD-2-Clause */
/* Writers for `pystrobe calls`: the function table, JSON and the timeline. */
#ifndef PYSTROBE_CALL_REPORT_H
#define PYSTROBE_CALL_REPORT_H

#include <stdio.h>
#include "model/call_graph.h"
#include "output/formats.h"

/* Parses "calls", "self", ...; 0 or -EINVAL. */
int call_report__parse_sort(const char *s, enum call_sort *out);

/* Functions sorted by key, at most max_rows (<= 0: all), then drops. */
int call_report__table(const struct call_graph *g, enum call_sort key,
		       int max_rows, const struct call_counters *lost,
		       FILE *out);

/*
 * {"functions": [{name, file, line, calls, resumes, unwinds, self_ns,
 * total_ns, cpu_ns, offcpu_ns, self_cpu_ns, self_offcpu_ns}], "edges":
 * [{caller, callee, calls, total_ns}], "lost": {name: count}, "findings":
 * [...] (when findings is not NULL), "timeline": [...], "timeline_info":
 * {...} (json_doc__add_timeline; when timeline is not NULL)}; cpu_ns and
 * offcpu_ns split total_ns; edges refer to functions by index.
 */
int call_report__json(const struct call_graph *g, enum call_sort key,
		      const struct call_counters *lost,
		      const struct finding_list *findings,
		      const struct timeline *timeline, FILE *out);

/*
 * Chrome trace / Perfetto JSON: one complete ("X") event per activation
 * the tracer sent (those at least --min-duration long), timestamps in µs
 * from the first event, plus thread names.
 */
int call_report__chrome(const struct call_graph *g,
			const struct call_event *events, size_t nr_events,
			const struct call_counters *lost, FILE *out);

#endif
