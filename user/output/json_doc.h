/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Writing JSON documents (json-c objects) to a file, plain or embedded in
 * an HTML page, and the pieces every kind's document shares: the lost
 * counters and the resource timeline.
 */
#ifndef PYSTROBE_JSON_DOC_H
#define PYSTROBE_JSON_DOC_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>
#include "model/profile.h"
#include "model/timeline.h"

/*
 * Writes o compactly. html: every '<' becomes \u003c (the same JSON
 * value), so that no string ends the <script> element holding it.
 * last_brace false leaves a top-level object open (without its '}') for
 * members written after it. 0 or a negative errno.
 */
int json_doc__put(FILE *out, struct json_object *o, bool html, bool last_brace);

/* Writes s as a JSON string literal (see json_doc__put for html). */
int json_doc__string(FILE *out, const char *s, bool html);

/*
 * [{t (seconds from the start, end of the interval), pid, cpu_pct,
 *   offcpu_ns: {reason: ns}, rss_bytes, read_bytes, write_bytes,
 *   voluntary_switches, involuntary_switches, heap_live_bytes,
 *   alloc_bytes_per_s}]; values not measured are left out.
 */
struct json_object *json_doc__timeline(const struct timeline *t);

/* {name: value} of p's counters. */
struct json_object *json_doc__counters(const struct profile *p);

/* The key of a value type in documents: "samples", "cpu_ns",
 * "alloc_space_bytes": the type, with _ns or _bytes for those units. */
void json_doc__value_key(const struct profile *p, int type, char *buf,
			 size_t len);

#endif
