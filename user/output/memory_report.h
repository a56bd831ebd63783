/* SPDX-License-Identifier: BSD-2-Clause */
/* Writers for `pystrobe memory`: the table and JSON (memory_table.c,
 * memory_json.c); pprof and folded go through memory__to_profile. */
#ifndef PYSTROBE_MEMORY_REPORT_H
#define PYSTROBE_MEMORY_REPORT_H

#include <stdio.h>
#include <json-c/json.h>
#include "model/findings.h"
#include "model/memory.h"

/*
 * Each process's view, the top max_rows locations (<= 0: all) by bytes
 * allocated (by bytes in use with m->by_inuse), the leaks, the
 * temporaries, then the drops (the caller adds the FINDINGS section).
 */
int memory_report__table(const struct memory_result *m, int max_rows,
			 FILE *out);

/*
 * The JSON document memory_json.c describes, with findings (NULL: none) as
 * its "findings" array; NULL: out of memory.
 */
struct json_object *
memory_report__document(const struct memory_result *m,
			const struct finding_list *findings);

/* That document, written to out. */
int memory_report__json(const struct memory_result *m,
			const struct finding_list *findings, FILE *out);

#endif
