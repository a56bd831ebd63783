/* SPDX-License-Identifier: BSD-2-Clause */
/* Writers for `pystrobe scale`: the table and JSON. */
#ifndef PYSTROBE_SCALE_REPORT_H
#define PYSTROBE_SCALE_REPORT_H

#include <stdio.h>
#include "model/findings.h"
#include "model/scale.h"

/*
 * One row per function (at most max_rows; <= 0: all), in the result's
 * order (time at the largest size): that time, the time exponent with its
 * interval, R^2, the class, the calls exponent, the per-call exponent, the
 * own-time exponent and the time predicted at 10x the largest size; "too
 * small to fit" or "not in every run" instead of guesses.
 */
int scale_report__table(const struct scale_result *r, int max_rows, FILE *out);

/*
 * {"kind": "scale", "mode", "runs", "sizes": [...], "functions": [{"name",
 * "file", "line", "time_exponent", "time_interval": [lo, hi], "calls_exponent",
 * "per_call_exponent", "self_exponent", "self_interval", "complexity", "r2",
 * "predicted_seconds", "seconds": [...], "self_seconds": [...],
 * "calls": [...]}], "findings": [...]}: per-size values are medians over
 * the repeats, parallel to "sizes"; what was not fitted is null.
 */
int scale_report__json(const struct scale_result *r,
		       const struct finding_list *findings, FILE *out);

/* The HTML report page of that document (findings, function table). */
int scale_report__html(const struct scale_result *r,
		       const struct finding_list *findings, FILE *out);

#endif
