/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Writers for `pystrobe diff`: a table, JSON, and the HTML page with a
 * differential flame graph. Every value is per function (profile_diff.h);
 * a share is of that profile's own sum, a change is new minus base.
 *
 * JSON: {"kind": "diff", "diff_of": KIND, "value_types": [{type, unit,
 *  key}], "main_value": KEY, "base": {path, duration_ns, totals: {KEY:
 *  sum}, lost: {...}}, "new": {...}, "functions": [{name, file, line,
 *  kind, and per KEY: base_self_KEY, new_self_KEY, base_total_KEY,
 *  new_total_KEY, delta_self_KEY, delta_total_KEY,
 *  delta_self_share_KEY, delta_total_share_KEY}], "tree": {columns
 *  base_KEY... then new_KEY..., one root for all threads}}
 * Functions are sorted by the size of their change in self share of the
 * main value, then of total share.
 */
#ifndef PYSTROBE_DIFF_REPORT_H
#define PYSTROBE_DIFF_REPORT_H

#include <stdio.h>
#include "model/profile_diff.h"

int diff_report__table(const struct profile_diff *d, int max_rows, FILE *out);
int diff_report__json(const struct profile_diff *d, FILE *out);
int diff_report__html(const struct profile_diff *d, FILE *out);

#endif
