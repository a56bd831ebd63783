/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HTML report: one self-contained page (no network) that embeds the
 * result's JSON document in <script type="application/json"
 * id="pystrobe-data"> and renders it with the script and styles in
 * user/output/html/ (inlined at build time). The document is the kind's
 * `-f json` output (calls, memory, diff), or a superset of it (record:
 * the same; calls: plus "kind", "value_types", "main_value", the call-path
 * "tree" and "timeline").
 */
#ifndef PYSTROBE_HTML_H
#define PYSTROBE_HTML_H

#include <stdio.h>
#include <json-c/json.h>
#include "output/formats.h"

/* Writes a page whose document write_doc writes (escaped for HTML: see
 * json_doc__put). 0 or a negative errno. */
int html__page(FILE *out, const char *title,
	       int (*write_doc)(void *ctx, FILE *out), void *ctx);

/* A page for a ready document (e.g. memory's, a saved -f json file). */
int html__write_document(struct json_object *doc, FILE *out);

/* The registry's writers. */
int html__write_samples(const struct result *r, FILE *out);
int html__write_calls(const struct result *r, FILE *out);

#endif
