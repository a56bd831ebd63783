/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Findings as text and JSON, for every writer that shows them: the FINDINGS
 * section at the end of each table, the "findings" array in each JSON
 * output, and `--findings` (only them).
 */
#ifndef PYSTROBE_FINDINGS_REPORT_H
#define PYSTROBE_FINDINGS_REPORT_H

#include <stdio.h>
#include <json-c/json.h>
#include "model/findings.h"

/*
 * "FINDINGS" then one line per finding:
 *   SEVERITY KIND SHARE function (file:line): evidence
 * or "FINDINGS: none". 0 or -EIO.
 */
int findings_report__table(const struct finding_list *l, FILE *out);

/*
 * [{"kind", "severity", "function", "file", "line", "share", "evidence"}],
 * or NULL when out of memory.
 */
struct json_object *findings_report__json(const struct finding_list *l);

/*
 * The "findings" array of a saved JSON document, appended to out. 0,
 * -ENOENT (no such array), -EINVAL (an entry of an unknown kind or shape)
 * or -ENOMEM.
 */
int findings_report__from_json(struct json_object *doc,
			       struct finding_list *out);

/* {"findings": [...]} and a newline. 0, -ENOMEM or -EIO. */
int findings_report__write_json(const struct finding_list *l, FILE *out);

#endif
