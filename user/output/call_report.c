// SPDX-License-Identifier: BSD-2-Clause
/* Table, JSON and Chrome-trace writers for the call graph. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <uthash.h>
#include "output/call_report.h"
#include "output/text.h"
#include "output/json_doc.h"
#include "output/findings_report.h"
#include "process/procfs.h"

static const char *const sort_names[] = {
	[CALL_SORT_CALLS] = "calls",   [CALL_SORT_SELF] = "self",
	[CALL_SORT_TOTAL] = "total",   [CALL_SORT_CPU] = "cpu",
	[CALL_SORT_OFFCPU] = "offcpu", [CALL_SORT_MEAN] = "mean",
};

int call_report__parse_sort(const char *s, enum call_sort *out)
{
	for (size_t i = 0; i < sizeof(sort_names) / sizeof(sort_names[0]); i++)
		if (strcmp(s, sort_names[i]) == 0) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

static uint64_t cpu_of(const struct call_func *f)
{
	return f->total_ns > f->total_offcpu_ns
		       ? f->total_ns - f->total_offcpu_ns
		       : 0;
}

static double sort_value(const struct call_func *f, enum call_sort key)
{
	uint64_t n = f->calls + f->resumes;

	switch (key) {
	case CALL_SORT_CALLS:
		return (double)f->calls;
	case CALL_SORT_SELF:
		return (double)f->self_ns;
	case CALL_SORT_TOTAL:
		return (double)f->total_ns;
	case CALL_SORT_CPU:
		return (double)cpu_of(f);
	case CALL_SORT_OFFCPU:
		return (double)f->total_offcpu_ns;
	case CALL_SORT_MEAN:
		return n ? (double)f->total_ns / n : 0.0;
	}
	return 0.0;
}

static enum call_sort g_sort_key; /* qsort has no context argument */
static const struct call_func *g_sort_funcs;

static int cmp_func(const void *a, const void *b)
{
	const struct call_func *x = &g_sort_funcs[*(const size_t *)a];
	const struct call_func *y = &g_sort_funcs[*(const size_t *)b];
	double vx = sort_value(x, g_sort_key), vy = sort_value(y, g_sort_key);
	int c;

	if (vx != vy)
		return vx < vy ? 1 : -1;
	c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->file, y->file);
}

static size_t *sorted_funcs(const struct call_graph *g, enum call_sort key)
{
	size_t *order = malloc((g->nr_funcs ?: 1) * sizeof(*order));

	if (!order)
		return NULL;
	for (size_t i = 0; i < g->nr_funcs; i++)
		order[i] = i;
	g_sort_key = key;
	g_sort_funcs = g->funcs;
	qsort(order, g->nr_funcs, sizeof(*order), cmp_func);
	return order;
}

/*
 * The lower quartile used was over 25 % above the fastest calibration: the
 * machine was slow for much of the time tracing ran, and what the
 * workload paid per call is uncertain. (A few slower calibrations are
 * expected, and are what the lower quartile leaves out.)
 */
static bool calibration_unsettled(const struct call_calib_range *r,
				  const struct call_calibration *used)
{
	return 4 * used->overhead_ns > 5 * r->per_call_min_ns;
}

static void print_lost(const struct call_counters *lost, FILE *out)
{
	struct text_wrap wrap;
	char word[512];

	text__wrap_start(&wrap, out, "lost:");
	for (size_t i = 0; i < lost->nr; i++) {
		snprintf(word, sizeof(word), "%s=%" PRId64, lost->names[i],
			 lost->values[i]);
		text__wrap_word(&wrap, word);
	}
	if (!lost->nr)
		text__wrap_word(&wrap, "none");
	text__wrap_end(&wrap);
}

/* One line per calibrated process (its pid when there are several). */
static void print_calibrations(const struct call_graph *g, FILE *out)
{
	bool several = g->nr_calibrated > 1;

	for (size_t i = 0; i < g->nr_calibrated; i++) {
		const struct call_process_calib *pc = &g->calibrated[i];

		fprintf(out, "times less tracing's own cost");
		if (several)
			fprintf(out, " in pid %" PRIu32, pc->pid);
		fprintf(out,
			": %" PRIu64 " ns per call (%" PRIu64
			" inside it), %" PRIu64 " ns per resumption (%" PRIu64
			" inside), the lower quartile of %" PRIu32
			" calibrations (%" PRIu64 "-%" PRIu64 " ns per call)\n",
			(uint64_t)pc->calibration.overhead_ns,
			(uint64_t)pc->calibration.inside_ns,
			(uint64_t)pc->calibration.resume_overhead_ns,
			(uint64_t)pc->calibration.resume_inside_ns,
			pc->range.kept, (uint64_t)pc->range.per_call_min_ns,
			(uint64_t)pc->range.per_call_max_ns);
	}
	for (size_t i = 0; i < g->nr_calibrated; i++) {
		const struct call_process_calib *pc = &g->calibrated[i];

		if (!calibration_unsettled(&pc->range, &pc->calibration))
			continue;
		fprintf(out, "warning: ");
		if (several)
			fprintf(out, "in pid %" PRIu32 ", ", pc->pid);
		fprintf(out,
			"the calibration used is over 25 %% above the "
			"fastest (the machine was slow for much of the "
			"run): what was taken out for tracing may be off "
			"by as much (--raw shows the times as measured)\n");
	}
}

/* Columns before the function's in a calls table row. */
#define CALLS_PREFIX (10 + 1 + 8 + 5 * (1 + 8) + 2)

static void put_ns(FILE *out, double ns)
{
	char v[TEXT_VALUE_LEN];

	fputc(' ', out);
	text__right(out, text__ns(v, ns), 8);
}

int call_report__table(const struct call_graph *g, enum call_sort key,
		       int max_rows, const struct call_counters *lost,
		       FILE *out)
{
	size_t *order = sorted_funcs(g, key), rows = g->nr_funcs;
	int width = text__width(out);
	char name[TEXT_ROW_LEN];

	if (!order)
		return -ENOMEM;
	if (max_rows > 0 && (size_t)max_rows < rows)
		rows = max_rows;
	if (width)
		width = width > CALLS_PREFIX + 24 ? width - CALLS_PREFIX : 24;
	fprintf(out, "%10s %8s %8s %8s %8s %8s %8s  %s\n", "calls", "resumes",
		"total", "self", "cpu", "offcpu", "mean",
		"function (file:line)");
	for (size_t i = 0; i < rows; i++) {
		const struct call_func *f = &g->funcs[order[i]];
		uint64_t n = f->calls + f->resumes;

		fprintf(out, "%10" PRIu64 " %8" PRIu64, f->calls, f->resumes);
		put_ns(out, f->total_ns);
		put_ns(out, f->self_ns);
		put_ns(out, cpu_of(f));
		put_ns(out, f->total_offcpu_ns);
		put_ns(out, n ? (double)f->total_ns / n : 0.0);
		text__function(name, sizeof(name), f->name, f->file, f->line,
			       width);
		fprintf(out, "  %s\n", name);
	}
	if (rows < g->nr_funcs)
		fprintf(out, "(%zu more functions)\n", g->nr_funcs - rows);
	print_calibrations(g, out);
	print_lost(lost, out);
	free(order);
	return ferror(out) ? -EIO : 0;
}

static struct json_object *lost_object(const struct call_counters *lost)
{
	struct json_object *o = json_object_new_object();

	for (size_t i = 0; o && i < lost->nr; i++)
		json_object_object_add(o, lost->names[i],
				       json_object_new_int64(lost->values[i]));
	return o;
}

static int write_json(struct json_object *root, FILE *out)
{
	const char *s;
	int err = 0;

	if (!root)
		return -ENOMEM;
	s = json_object_to_json_string_ext(
		root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || fputs(s, out) < 0 || fputc('\n', out) < 0)
		err = s ? -EIO : -ENOMEM;
	json_object_put(root);
	return err;
}

#define ADD_U64(o, k, v) json_object_object_add(o, k, json_object_new_int64(v))

static struct json_object *
calibration_object(const struct call_process_calib *pc)
{
	struct json_object *c = json_object_new_object();

	if (!c)
		return NULL;
	ADD_U64(c, "pid", pc->pid);
	ADD_U64(c, "per_call_ns", pc->calibration.overhead_ns);
	ADD_U64(c, "inside_ns", pc->calibration.inside_ns);
	ADD_U64(c, "per_resume_ns", pc->calibration.resume_overhead_ns);
	ADD_U64(c, "resume_inside_ns", pc->calibration.resume_inside_ns);
	ADD_U64(c, "calibrations", pc->range.calibrations);
	ADD_U64(c, "calibrations_kept", pc->range.kept);
	ADD_U64(c, "per_call_min_ns", pc->range.per_call_min_ns);
	ADD_U64(c, "per_call_max_ns", pc->range.per_call_max_ns);
	json_object_object_add(c, "unsettled",
			       json_object_new_boolean(calibration_unsettled(
				       &pc->range, &pc->calibration)));
	return c;
}

int call_report__json(const struct call_graph *g, enum call_sort key,
		      const struct call_counters *lost,
		      const struct finding_list *findings,
		      const struct timeline *timeline, FILE *out)
{
	struct json_object *root = json_object_new_object();
	struct json_object *funcs = json_object_new_array();
	struct json_object *edges = json_object_new_array();
	size_t *order = sorted_funcs(g, key), *rank;

	rank = calloc(g->nr_funcs ?: 1, sizeof(*rank));
	if (!root || !funcs || !edges || !order || !rank) {
		json_object_put(root);
		json_object_put(funcs);
		json_object_put(edges);
		free(order);
		free(rank);
		return -ENOMEM;
	}
	for (size_t i = 0; i < g->nr_funcs; i++) {
		const struct call_func *f = &g->funcs[order[i]];
		struct json_object *o = json_object_new_object();

		rank[order[i]] = i;
		json_object_object_add(o, "name",
				       json_object_new_string(f->name));
		json_object_object_add(o, "file",
				       json_object_new_string(f->file));
		ADD_U64(o, "line", f->line);
		ADD_U64(o, "calls", f->calls);
		ADD_U64(o, "resumes", f->resumes);
		ADD_U64(o, "unwinds", f->unwinds);
		ADD_U64(o, "self_ns", f->self_ns);
		ADD_U64(o, "total_ns", f->total_ns);
		ADD_U64(o, "cpu_ns", cpu_of(f));
		ADD_U64(o, "offcpu_ns", f->total_offcpu_ns);
		ADD_U64(o, "self_cpu_ns",
			f->self_ns > f->self_offcpu_ns
				? f->self_ns - f->self_offcpu_ns
				: 0);
		ADD_U64(o, "self_offcpu_ns", f->self_offcpu_ns);
		json_object_array_add(funcs, o);
	}
	for (size_t i = 0; i < g->nr_edges; i++) {
		const struct call_edge *e = &g->edges[i];
		struct json_object *o = json_object_new_object();

		ADD_U64(o, "caller", rank[e->caller]);
		ADD_U64(o, "callee", rank[e->callee]);
		ADD_U64(o, "calls", e->calls);
		ADD_U64(o, "total_ns", e->total_ns);
		json_object_array_add(edges, o);
	}
	json_object_object_add(root, "functions", funcs);
	json_object_object_add(root, "edges", edges);
	json_object_object_add(root, "lost", lost_object(lost));
	if (findings)
		json_object_object_add(root, "findings",
				       findings_report__json(findings));
	if (g->nr_calibrated) { /* times are less tracing's own cost */
		struct json_object *all = json_object_new_array();

		json_object_object_add(root, "calibration",
				       calibration_object(&g->calibrated[0]));
		for (size_t i = 0; all && i < g->nr_calibrated; i++)
			json_object_array_add(
				all, calibration_object(&g->calibrated[i]));
		json_object_object_add(root, "calibration_by_process", all);
	}
	free(order);
	free(rank);
	if (timeline && json_doc__add_timeline(root, timeline)) {
		json_object_put(root);
		return -ENOMEM;
	}
	return write_json(root, out);
}

struct path_func {
	uint64_t id;
	size_t func;
	UT_hash_handle hh;
};

struct seen_thread {
	uint64_t key; /* pid << 32 | tid */
	UT_hash_handle hh;
};

/* Writes s as a JSON string literal. */
static int put_string(FILE *out, const char *s)
{
	struct json_object *o = json_object_new_string(s);
	const char *t;
	int err;

	if (!o)
		return -ENOMEM;
	t = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	err = t && fputs(t, out) >= 0 ? 0 : -EIO;
	json_object_put(o);
	return err;
}

int call_report__chrome(const struct call_graph *g,
			const struct call_event *events, size_t nr_events,
			const struct call_counters *lost, FILE *out)
{
	struct path_func *paths = NULL, *pf, *ptmp;
	struct seen_thread *threads = NULL, *st, *stmp;
	uint64_t t0 = UINT64_MAX;
	bool first = true;
	int err = 0;

	for (size_t i = 0; i < g->nr_paths; i++) {
		pf = calloc(1, sizeof(*pf));
		if (!pf) {
			err = -ENOMEM;
			goto cleanup;
		}
		pf->id = g->paths[i].id;
		pf->func = g->paths[i].funcs[0];
		HASH_ADD(hh, paths, id, sizeof(pf->id), pf);
	}
	for (size_t i = 0; i < nr_events; i++) {
		HASH_FIND(hh, paths, &events[i].path, sizeof(events[i].path),
			  pf);
		if (pf && events[i].start_ns < t0)
			t0 = events[i].start_ns; /* of the events written */
	}
	fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", out);
	for (size_t i = 0; i < nr_events && !err; i++) {
		const struct call_event *e = &events[i];
		const struct call_func *f;
		uint64_t tkey = (uint64_t)e->pid << 32 | e->tid;

		HASH_FIND(hh, paths, &e->path, sizeof(e->path), pf);
		if (!pf)
			continue;
		f = &g->funcs[pf->func];
		HASH_FIND(hh, threads, &tkey, sizeof(tkey), st);
		if (!st) {
			char comm[64];

			st = calloc(1, sizeof(*st));
			if (!st) {
				err = -ENOMEM;
				break;
			}
			st->key = tkey;
			HASH_ADD(hh, threads, key, sizeof(st->key), st);
			procfs__comm(e->pid, e->tid, comm, sizeof(comm));
			fprintf(out,
				"%s{\"ph\":\"M\",\"name\":\"thread_name\","
				"\"pid\":%u,\"tid\":%u,\"args\":{\"name\":",
				first ? "" : ",", e->pid, e->tid);
			if (!comm[0])
				snprintf(comm, sizeof(comm), "tid %u", e->tid);
			err = put_string(out, comm);
			fputs("}}", out);
			first = false;
		}
		fprintf(out, "%s{\"ph\":\"X\",\"cat\":\"python\",\"name\":",
			first ? "" : ",");
		first = false;
		err = err ?: put_string(out, f->name);
		fprintf(out,
			",\"pid\":%u,\"tid\":%u,\"ts\":%.3f,\"dur\":%.3f,"
			"\"args\":{\"file\":",
			e->pid, e->tid, (e->start_ns - t0) / 1e3,
			e->dur_ns / 1e3);
		err = err ?: put_string(out, f->file);
		fprintf(out,
			",\"line\":%u,\"offcpu_us\":%.3f,\"resumed\":%s,"
			"\"unwound\":%s}}",
			f->line, e->offcpu_ns / 1e3,
			e->entry_kind == CALL_ENTRY_RESUME ? "true" : "false",
			e->return_kind == CALL_RETURN_UNWIND ? "true"
							     : "false");
	}
	fputs("],\"otherData\":{\"lost\":", out);
	if (!err) {
		struct json_object *lo = lost_object(lost);
		const char *s = lo ? json_object_to_json_string_ext(
					     lo, JSON_C_TO_STRING_PLAIN)
				   : NULL;

		if (s)
			fputs(s, out);
		else
			err = -ENOMEM;
		json_object_put(lo);
	}
	fputs("}}\n", out);
	if (!err && ferror(out))
		err = -EIO;
cleanup:
	HASH_ITER(hh, paths, pf, ptmp)
	{
		HASH_DEL(paths, pf);
		free(pf);
	}
	HASH_ITER(hh, threads, st, stmp)
	{
		HASH_DEL(threads, st);
		free(st);
	}
	return err;
}
