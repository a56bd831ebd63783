/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The JSON document of a sampled profile (`record -f json`, `report -f
 * json`), which is also the data the HTML page of that profile embeds:
 *
 * {"kind": "cpu"|"offcpu"|"wall"|"calls"|"memory"|"unknown",
 *  "value_types": [{type, unit, key}], "main_value": KEY,
 *  "time_nanos", "duration_ns", "period_ns",
 *  "totals": {KEY: sum, "offcpu_by_reason_ns": {reason: ns}},
 *  "functions": [{name, file, line (first line), kind, self_KEY, total_KEY
 *                 per value type, self_offcpu_by_reason_ns,
 *                 total_offcpu_by_reason_ns (off-CPU and wall kinds)}],
 *  "threads": [{pid, tid, thread_name, comm, KEY per value type}],
 *  "lost": {counter: value},
 *  "timeline": [...]            (when the run kept one; json_doc.h),
 *  "tree": {...}}               (stack_tree.h; func indexes "functions")
 *
 * KEY is json_doc__value_key's: "samples", "cpu_ns", "offcpu_ns",
 * "wall_ns". Functions are aggregated by model/functions.h with the rule
 * the tables use (off-CPU time belongs to the code that waited), sorted by
 * self main value; every function that occurs in a stack is listed, so
 * the markers and kernel frames leafward of that code appear with 0.
 */
#ifndef PYSTROBE_PROFILE_JSON_H
#define PYSTROBE_PROFILE_JSON_H

#include <stdbool.h>
#include <stdio.h>
#include "model/profile.h"
#include "model/timeline.h"

/* Index of the type a viewer shows first: wall, else offcpu, else
 * samples, else the first. */
int profile_json__main_type(const struct profile *p);

/* Writes the document (html: escaped to sit in a <script> element).
 * timeline may be NULL. 0 or a negative errno. */
int profile_json__write(const struct profile *p, const struct timeline *tl,
			bool html, FILE *out);

#endif
