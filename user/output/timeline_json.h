/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The resource timeline as JSON, for every writer that emits JSON:
 *
 *   {"interval_ns": N, "start_unix_ns": N,
 *    "io_bytes": "storage"|"syscalls"|null,
 *    "points": [{"t_ns", "pid", "cpu_pct",
 *                "offcpu_ns": {"sleep", "lock", "gil", "io", "disk",
 *                              "runqueue", "other"} | null,
 *                "rss_bytes", "read_bytes", "write_bytes",
 *                "voluntary_switches", "involuntary_switches",
 *                "heap_live_bytes", "alloc_bytes_per_s"}]}
 *
 * A point covers (t_ns - its length, t_ns], t_ns from the run's start;
 * values not measured in the run are null. read_bytes and write_bytes
 * count what io_bytes says (model/timeline.h).
 */
#ifndef PYSTROBE_TIMELINE_JSON_H
#define PYSTROBE_TIMELINE_JSON_H

#include <json-c/json.h>
#include "model/timeline.h"

/* Adds "timeline": the object above (null when t is NULL) to parent.
 * 0 or -ENOMEM. */
int timeline_json__add(struct json_object *parent, const struct timeline *t);

#endif
