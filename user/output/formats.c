// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "output/call_report.h"
#include "output/diff_report.h"
#include "output/findings_report.h"
#include "output/folded.h"
#include "output/html.h"
#include "output/json_doc.h"
#include "output/formats.h"
#include "output/memory_report.h"
#include "output/pprof.h"
#include "output/profile_json.h"
#include "output/scale_report.h"
#include "output/speedscope.h"
#include "output/table.h"
#include "output/wall_table.h"

static const char *const kind_names[RESULT__COUNT] = {
	[RESULT_SAMPLES] = "sampled profiles",
	[RESULT_CALLS] = "call traces",
	[RESULT_MEMORY] = "memory profiles",
	[RESULT_DIFF] = "profile diffs",
	[RESULT_DOCUMENT] = "saved JSON documents",
	[RESULT_SCALE] = "scale results",
	[RESULT_FINDINGS] = "findings",
};

/* ---- sampled profiles ---- */

/* Every table ends with the findings. */
static int with_findings(int err, const struct result *r, FILE *out)
{
	if (err || !r->findings)
		return err;
	fputc('\n', out);
	return findings_report__table(r->findings, out);
}

static int samples_table(const struct result *r, FILE *out)
{
	int err;

	if (wall_table__applies(r->profile))
		err = wall_table__write(r->profile, out, r->top);
	else
		err = table__write(r->profile, out, 0, r->top);
	return with_findings(err, r, out);
}

/*
 * What folded lines count: samples for a CPU profile; for off-CPU and wall
 * profiles their last type (offcpu or wall time, written in microseconds).
 */
static int samples_folded(const struct result *r, FILE *out)
{
	const struct profile *p = r->profile;
	int value = profile__type_index(p, "samples");

	if (value < 0 || profile__type_index(p, "offcpu") >= 0)
		value = p->nr_types - 1;
	return folded__write(p, out, value, r->threads);
}

static int samples_pprof(const struct result *r, FILE *out)
{
	return pprof__write(r->profile, out);
}

static int samples_json(const struct result *r, FILE *out)
{
	return profile_json__write(r->profile, r->timeline, r->findings, false,
				   out);
}

static int samples_speedscope(const struct result *r, FILE *out)
{
	return speedscope__write_profile(r->profile, out);
}

/* ---- call traces ---- */

static int calls_table(const struct result *r, FILE *out)
{
	return with_findings(
		call_report__table(r->calls, r->sort, r->top, r->lost, out), r,
		out);
}

static int calls_json(const struct result *r, FILE *out)
{
	return call_report__json(r->calls, r->sort, r->lost, r->findings,
				 r->timeline, out);
}

static int calls_chrome(const struct result *r, FILE *out)
{
	return call_report__chrome(r->calls, r->events, r->nr_events, r->lost,
				   out);
}

static int calls_speedscope(const struct result *r, FILE *out)
{
	return speedscope__write_calls(r->calls, r->events, r->nr_events, out);
}

/* The call tree as a profile (values: calls, wall, cpu, offcpu), with the
 * drop counters, for the profile writers. */
static int calls_profile(const struct result *r, struct profile **out)
{
	struct profile *p = profile__new();
	int err;

	if (!p)
		return -ENOMEM;
	err = call_graph__to_profile(r->calls, p);
	for (size_t i = 0; !err && i < r->lost->nr; i++)
		err = profile__set_counter(p, r->lost->names[i],
					   r->lost->values[i]);
	if (err) {
		profile__free(p);
		return err;
	}
	*out = p;
	return 0;
}

static int calls_folded(const struct result *r, FILE *out)
{
	struct profile *p;
	int err = calls_profile(r, &p);

	if (err)
		return err;
	/* Self wall time per path, in µs. */
	err = folded__write(p, out, 1, false);
	profile__free(p);
	return err;
}

static int calls_pprof(const struct result *r, FILE *out)
{
	struct profile *p;
	int err = calls_profile(r, &p);

	if (err)
		return err;
	err = pprof__write(p, out);
	profile__free(p);
	return err;
}

/* ---- memory profiles ---- */

static int memory_table(const struct result *r, FILE *out)
{
	return with_findings(memory_report__table(r->memory, r->top, out), r,
			     out);
}

static int memory_json(const struct result *r, FILE *out)
{
	return memory_report__json(r->memory, r->findings, out);
}

/* The HTML report renders the JSON document. */
static int memory_html(const struct result *r, FILE *out)
{
	struct json_object *doc =
		memory_report__document(r->memory, r->findings);
	int err;

	if (!doc)
		return -ENOMEM;
	err = html__write_document(doc, out);
	json_object_put(doc);
	return err;
}

/* Folded: the sample type r->metric (default alloc_space). */
static int memory_folded(const struct result *r, FILE *out)
{
	struct profile *p = memory__to_profile(r->memory);
	int value, err;

	if (!p)
		return -errno;
	value = profile__type_index(p, r->metric ? r->metric : "alloc_space");
	err = value < 0 ? -EINVAL : folded__write(p, out, value, false);
	profile__free(p);
	return err;
}

static int memory_pprof(const struct result *r, FILE *out)
{
	struct profile *p = memory__to_profile(r->memory);
	int err;

	if (!p)
		return -errno;
	err = pprof__write(p, out);
	profile__free(p);
	return err;
}

/* ---- profile diffs ---- */

static int diff_table(const struct result *r, FILE *out)
{
	return diff_report__table(r->diff, r->top, out);
}

static int diff_json(const struct result *r, FILE *out)
{
	return diff_report__json(r->diff, out);
}

static int diff_html(const struct result *r, FILE *out)
{
	return diff_report__html(r->diff, out);
}

/* ---- saved JSON documents ---- */

static int document_json(const struct result *r, FILE *out)
{
	int err = json_doc__put(out, r->document, false, true);

	return err ?: (fputc('\n', out) == EOF ? -EIO : 0);
}

static int document_html(const struct result *r, FILE *out)
{
	return html__write_document(r->document, out);
}

/* ---- scale sweeps ---- */

static int scale_table(const struct result *r, FILE *out)
{
	return with_findings(scale_report__table(r->scale, r->top, out), r,
			     out);
}

static int scale_json(const struct result *r, FILE *out)
{
	return scale_report__json(r->scale, r->findings, out);
}

static int scale_html(const struct result *r, FILE *out)
{
	return scale_report__html(r->scale, r->findings, out);
}

/* ---- only the findings (--findings) ---- */

static int findings_table(const struct result *r, FILE *out)
{
	return findings_report__table(r->findings, out);
}

static int findings_json(const struct result *r, FILE *out)
{
	return findings_report__write_json(r->findings, out);
}

/* ---- the table ---- */

static const struct output_format formats[] = {
	{"table",
	 {NULL},
	 false,
	 {[RESULT_SAMPLES] = samples_table,
	  [RESULT_CALLS] = calls_table,
	  [RESULT_DIFF] = diff_table,
	  [RESULT_SCALE] = scale_table,
	  [RESULT_FINDINGS] = findings_table,
	  [RESULT_MEMORY] = memory_table}},
	{"folded",
	 {".folded", NULL},
	 false,
	 {[RESULT_SAMPLES] = samples_folded,
	  [RESULT_CALLS] = calls_folded,
	  [RESULT_MEMORY] = memory_folded}},
	{"pprof",
	 {".pb.gz", ".pprof", NULL},
	 true,
	 {[RESULT_SAMPLES] = samples_pprof,
	  [RESULT_CALLS] = calls_pprof,
	  [RESULT_MEMORY] = memory_pprof}},
	{"json",
	 {".json", NULL},
	 false,
	 {[RESULT_SAMPLES] = samples_json,
	  [RESULT_CALLS] = calls_json,
	  [RESULT_DIFF] = diff_json,
	  [RESULT_DOCUMENT] = document_json,
	  [RESULT_SCALE] = scale_json,
	  [RESULT_FINDINGS] = findings_json,
	  [RESULT_MEMORY] = memory_json}},
	{"speedscope",
	 {".speedscope.json", NULL},
	 false,
	 {[RESULT_SAMPLES] = samples_speedscope,
	  [RESULT_CALLS] = calls_speedscope},
	 true},
	{"html",
	 {".html", ".htm", NULL},
	 false,
	 {[RESULT_SAMPLES] = html__write_samples,
	  [RESULT_CALLS] = html__write_calls,
	  [RESULT_DIFF] = diff_html,
	  [RESULT_DOCUMENT] = document_html,
	  [RESULT_SCALE] = scale_html,
	  [RESULT_MEMORY] = memory_html}},
	{"chrome",
	 {".trace.json", NULL},
	 false,
	 {[RESULT_CALLS] = calls_chrome},
	 true},
};

#define NR_FORMATS (sizeof(formats) / sizeof(formats[0]))

const struct output_format *output__find(const char *name)
{
	for (size_t i = 0; i < NR_FORMATS; i++)
		if (strcmp(formats[i].name, name) == 0)
			return &formats[i];
	return NULL;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

const struct output_format *output__for_path(const char *path)
{
	const struct output_format *best = &formats[0];
	size_t best_len = 0;

	for (size_t i = 0; path && i < NR_FORMATS; i++)
		for (const char *const *e = formats[i].extensions; *e; e++)
			if (strlen(*e) > best_len && has_suffix(path, *e)) {
				best = &formats[i];
				best_len = strlen(*e);
			}
	return best;
}

/* Names of the formats that write kind (all formats: kind < 0). */
static void names_for(int kind, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < NR_FORMATS && used < len; i++) {
		if (kind >= 0 && !formats[i].write[kind])
			continue;
		used += snprintf(buf + used, len - used, "%s%s",
				 used ? ", " : "", formats[i].name);
	}
}

void output__names(char *buf, size_t len)
{
	names_for(-1, buf, len);
}

const struct output_format *output__choose(const struct output_format *f,
					   const char *path,
					   enum result_kind kind, char *why,
					   size_t why_len)
{
	bool by_extension = !f;
	char names[256];

	if (!f)
		f = output__for_path(path);
	if (!f->write[kind]) {
		names_for(kind, names, sizeof(names));
		snprintf(why, why_len, "%s%s is not a format for %s (%s)",
			 f->name,
			 by_extension ? " (from the -o extension)" : "",
			 kind_names[kind], names);
		return NULL;
	}
	if (f->binary && !path) {
		snprintf(why, why_len, "-f %s needs -o FILE", f->name);
		return NULL;
	}
	return f;
}

int output__write(const struct output_format *f, const struct result *r,
		  const char *path, char *why, size_t why_len)
{
	struct finding_list found = {};
	struct result with = *r;
	FILE *out = stdout;
	int err;

	if (!r->findings) {
		struct findings_input in = {
			.profile = r->profile,
			.calls = r->calls,
			.scale = r->scale,
			.memory = r->memory,
		};

		err = findings__analyze(&in, &found);
		if (err) {
			finding_list__free(&found);
			snprintf(why, why_len,
				 "looking for findings failed: %s",
				 strerror(-err));
			return err;
		}
		with.findings = &found;
	}
	if (path) {
		out = fopen(path, "we");
		if (!out) {
			err = -errno;
			snprintf(why, why_len, "cannot write %s: %s", path,
				 strerror(-err));
			finding_list__free(&found);
			return err;
		}
	}
	err = f->write[r->kind](&with, out);
	finding_list__free(&found);
	if (fflush(out) && !err)
		err = -errno;
	if (out != stdout && fclose(out) && !err)
		err = -errno;
	if (err)
		snprintf(why, why_len, "cannot write %s: %s",
			 path ? path : "the output", strerror(-err));
	return err;
}
