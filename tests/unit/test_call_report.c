// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for user/output/call_report.c: the JSON and Chrome-trace writers
 * give valid JSON whatever the target's names contain, with the documented
 * fields, order and values; the table sorts by each key.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "output/call_report.h"

/* Names as hostile as a target can make them (all valid UTF-8 or not). */
static const char *const names[] = {
	"plain",
	"quote\"back\\slash",
	"new\nline\ttab\x01ctl",
	"\xff\xfe not utf-8",
};

static void make_graph(struct call_graph *g)
{
	memset(g, 0, sizeof(*g));
	g->nr_funcs = 4;
	g->funcs = calloc(g->nr_funcs, sizeof(*g->funcs));
	assert_non_null(g->funcs);
	for (size_t i = 0; i < g->nr_funcs; i++) {
		struct call_func *f = &g->funcs[i];

		f->name = strdup(names[i]);
		f->file = strdup(names[(i + 1) % g->nr_funcs]);
		f->line = 10 + i;
		f->calls = 100 * (i + 1);     /* calls: 3 > 2 > 1 > 0 */
		f->total_ns = 1000 * (4 - i); /* total: 0 > 1 > 2 > 3 */
		f->self_ns = 500;
		f->total_offcpu_ns = 100 * i;
		f->self_offcpu_ns = 50;
	}
	g->nr_edges = 1;
	g->edges = calloc(1, sizeof(*g->edges));
	assert_non_null(g->edges);
	g->edges[0] = (struct call_edge){.caller = 0, .callee = 3, .calls = 7};
	g->nr_paths = 1;
	g->paths = calloc(1, sizeof(*g->paths));
	assert_non_null(g->paths);
	g->paths[0].id = 42;
	g->paths[0].depth = 1;
	g->paths[0].funcs = calloc(1, sizeof(size_t));
	assert_non_null(g->paths[0].funcs);
	g->paths[0].funcs[0] = 1;
}

static char *render(int (*fn)(FILE *, const struct call_graph *, void *),
		    const struct call_graph *g, void *arg)
{
	FILE *f = tmpfile();
	long len;
	char *buf;

	assert_non_null(f);
	assert_int_equal(fn(f, g, arg), 0);
	len = ftell(f);
	assert_true(len > 0);
	buf = calloc(1, len + 1);
	assert_non_null(buf);
	rewind(f);
	assert_int_equal(fread(buf, 1, len, f), len);
	fclose(f);
	return buf;
}

static const char *lost_names[] = {"a_lost", "b_lost"};
static const int64_t lost_values[] = {0, 3};
static const struct call_counters lost = {lost_names, lost_values, 2};

static int json_by(FILE *f, const struct call_graph *g, void *arg)
{
	return call_report__json(g, *(enum call_sort *)arg, &lost, NULL, NULL,
				 f);
}

static void test_json(void **state)
{
	enum call_sort key = CALL_SORT_CALLS;
	struct json_object *root, *funcs, *edges, *f, *v;
	struct call_graph g;
	char *text;

	make_graph(&g);
	text = render(json_by, &g, &key);
	root = json_tokener_parse(text);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "functions", &funcs));
	assert_int_equal(json_object_array_length(funcs), 4);
	/* sorted by calls: the last function first, names round-tripped */
	f = json_object_array_get_idx(funcs, 0);
	assert_true(json_object_object_get_ex(f, "calls", &v));
	assert_int_equal(json_object_get_int64(v), 400);
	f = json_object_array_get_idx(funcs, 2);
	assert_true(json_object_object_get_ex(f, "name", &v));
	assert_string_equal(json_object_get_string(v), names[1]);
	assert_true(json_object_object_get_ex(f, "cpu_ns", &v));
	assert_int_equal(json_object_get_int64(v), 3000 - 100);
	assert_true(json_object_object_get_ex(f, "offcpu_ns", &v));
	assert_int_equal(json_object_get_int64(v), 100);
	/* edges index the sorted array: caller 0 -> rank 3, callee 3 -> 0 */
	assert_true(json_object_object_get_ex(root, "edges", &edges));
	f = json_object_array_get_idx(edges, 0);
	assert_true(json_object_object_get_ex(f, "caller", &v));
	assert_int_equal(json_object_get_int(v), 3);
	assert_true(json_object_object_get_ex(f, "callee", &v));
	assert_int_equal(json_object_get_int(v), 0);
	assert_true(json_object_object_get_ex(root, "lost", &v));
	assert_true(json_object_object_get_ex(v, "b_lost", &v));
	assert_int_equal(json_object_get_int(v), 3);
	json_object_put(root);
	free(text);
	call_graph__free(&g);
}

static struct timeline test_timeline;

static int json_timeline(FILE *f, const struct call_graph *g, void *arg)
{
	return call_report__json(g, CALL_SORT_CALLS, &lost, NULL, arg, f);
}

static int64_t get_i64(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_int64(v);
}

static bool has(struct json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

/* "timeline" and "timeline_info": every field of a point; what was not
 * measured is left out. */
static void test_json_timeline(void **state)
{
	struct timeline_point pt = {
		.t_ns = 1500000000,
		.pid = 42,
		.cpu_pct = 87.5,
		.rss_bytes = 64 << 20,
		.read_bytes = 4096,
		.write_bytes = 8 << 20,
		.voluntary_switches = 100,
		.involuntary_switches = 3,
		.heap_live_bytes = TIMELINE_UNKNOWN,
		.alloc_bytes_per_s = TIMELINE_UNKNOWN,
	};
	struct json_object *root, *tl, *info, *p, *off, *v;
	struct call_graph g;
	char *text;

	memset(&test_timeline, 0, sizeof(test_timeline));
	test_timeline.interval_ns = 1000000000;
	test_timeline.start_unix_ns = 1700000000000000000;
	test_timeline.io_bytes = "storage";
	for (int i = 0; i < OFFCPU__COUNT; i++)
		pt.offcpu_ns[i] = TIMELINE_UNKNOWN;
	assert_int_equal(timeline__add(&test_timeline, &pt), 0);
	for (int i = 0; i < OFFCPU__COUNT; i++)
		pt.offcpu_ns[i] = 0;
	pt.offcpu_ns[OFFCPU_SLEEP] = 250000000;
	pt.t_ns = 2500000000;
	pt.write_bytes = TIMELINE_UNKNOWN;
	assert_int_equal(timeline__add(&test_timeline, &pt), 0);
	make_graph(&g);
	text = render(json_timeline, &g, &test_timeline);
	root = json_tokener_parse(text);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "timeline_info", &info));
	assert_int_equal(get_i64(info, "interval_ns"), 1000000000);
	assert_int_equal(get_i64(info, "start_unix_ns"), 1700000000000000000);
	assert_true(json_object_object_get_ex(info, "io_bytes", &v));
	assert_string_equal(json_object_get_string(v), "storage");
	assert_true(json_object_object_get_ex(root, "timeline", &tl));
	assert_int_equal(json_object_array_length(tl), 2);
	p = json_object_array_get_idx(tl, 0);
	assert_true(json_object_object_get_ex(p, "t", &v));
	assert_true(json_object_get_double(v) == 1.5);
	assert_int_equal(get_i64(p, "pid"), 42);
	assert_true(json_object_object_get_ex(p, "cpu_pct", &v));
	assert_true(json_object_get_double(v) == 87.5);
	assert_int_equal(get_i64(p, "rss_bytes"), 64 << 20);
	assert_int_equal(get_i64(p, "read_bytes"), 4096);
	assert_int_equal(get_i64(p, "write_bytes"), 8 << 20);
	assert_int_equal(get_i64(p, "voluntary_switches"), 100);
	assert_int_equal(get_i64(p, "involuntary_switches"), 3);
	assert_false(has(p, "offcpu_ns"));
	assert_false(has(p, "heap_live_bytes"));
	assert_false(has(p, "alloc_bytes_per_s"));
	p = json_object_array_get_idx(tl, 1);
	assert_false(has(p, "write_bytes"));
	assert_true(json_object_object_get_ex(p, "offcpu_ns", &off));
	assert_int_equal(get_i64(off, "sleep"), 250000000);
	assert_int_equal(get_i64(off, "runqueue"), 0);
	assert_int_equal(json_object_object_length(off), 7);
	json_object_put(root);
	free(text);
	/* Without a timeline: neither member. */
	text = render(json_timeline, &g, NULL);
	root = json_tokener_parse(text);
	assert_false(has(root, "timeline"));
	assert_false(has(root, "timeline_info"));
	json_object_put(root);
	free(text);
	timeline__free(&test_timeline);
	call_graph__free(&g);
}

static int chrome(FILE *f, const struct call_graph *g, void *arg)
{
	const struct call_event *ev = arg;

	return call_report__chrome(g, ev, 2, &lost, f);
}

static void test_chrome(void **state)
{
	struct call_event ev[2] = {
		{.pid = 1,
		 .tid = 2,
		 .path = 42,
		 .start_ns = 5000000,
		 .dur_ns = 2500,
		 .offcpu_ns = 1000,
		 .entry_kind = CALL_ENTRY_RESUME},
		{.pid = 1, .tid = 2, .path = 99 /* unknown: skipped */},
	};
	struct json_object *root, *evs, *e, *v, *args;
	struct call_graph g;
	int complete = 0;
	char *text;

	make_graph(&g);
	text = render(chrome, &g, ev);
	root = json_tokener_parse(text);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "traceEvents", &evs));
	for (size_t i = 0; i < json_object_array_length(evs); i++) {
		e = json_object_array_get_idx(evs, i);
		assert_true(json_object_object_get_ex(e, "ph", &v));
		if (strcmp(json_object_get_string(v), "X"))
			continue;
		complete++;
		assert_true(json_object_object_get_ex(e, "name", &v));
		assert_string_equal(json_object_get_string(v), names[1]);
		assert_true(json_object_object_get_ex(e, "ts", &v));
		assert_true(json_object_get_double(v) == 0.0);
		assert_true(json_object_object_get_ex(e, "dur", &v));
		assert_true(json_object_get_double(v) == 2.5);
		assert_true(json_object_object_get_ex(e, "args", &args));
		assert_true(json_object_object_get_ex(args, "resumed", &v));
		assert_true(json_object_get_boolean(v));
	}
	assert_int_equal(complete, 1);
	json_object_put(root);
	free(text);
	call_graph__free(&g);
}

static int table_by(FILE *f, const struct call_graph *g, void *arg)
{
	return call_report__table(g, *(enum call_sort *)arg, 2, &lost, f);
}

static void test_table_sort(void **state)
{
	struct call_graph g;
	enum call_sort key;
	char *text, *first;

	make_graph(&g);
	key = CALL_SORT_TOTAL;
	text = render(table_by, &g, &key);
	first = strchr(text, '\n') + 1; /* after the header */
	assert_true(strncmp(first + strspn(first, " "), "100 ", 4) == 0);
	assert_non_null(strstr(text, "(2 more functions)"));
	assert_non_null(strstr(text, "lost: a_lost=0 b_lost=3"));
	free(text);
	key = CALL_SORT_OFFCPU;
	text = render(table_by, &g, &key);
	first = strchr(text, '\n') + 1;
	assert_true(strncmp(first + strspn(first, " "), "400 ", 4) == 0);
	free(text);
	assert_int_equal(call_report__parse_sort("mean", &key), 0);
	assert_int_equal(key, CALL_SORT_MEAN);
	assert_int_not_equal(call_report__parse_sort("bogus", &key), 0);
	call_graph__free(&g);
}

static int table_all(FILE *f, const struct call_graph *g, void *arg)
{
	return call_report__table(g, CALL_SORT_TOTAL, 0, &lost, f);
}

/*
 * Times in one unit per value (the 3-second mean printed as
 * 3019628.94 us), a hostile name kept on its row, and the file in its
 * package form.
 */
static void test_table_units(void **state)
{
	struct call_graph g;
	char *text, *row;
	int lines = 0;

	make_graph(&g);
	g.funcs[0].calls = 1;
	g.funcs[0].resumes = 0;
	g.funcs[0].total_ns = 3019628940;
	g.funcs[0].total_offcpu_ns = 3000000000;
	g.funcs[0].self_ns = 999500;
	free(g.funcs[0].file);
	g.funcs[0].file = strdup("/venv/lib/python3.12/site-packages/pkg/m.py");
	text = render(table_all, &g, NULL);
	row = strchr(text, '\n') + 1; /* the first row: the longest total */
	*strchr(row, '\n') = 0;
	assert_string_equal(row, "         1        0   3.02 s  1.00 ms  "
				 "19.6 ms   3.00 s   3.02 s  plain "
				 "(site-packages/pkg/m.py:10)");
	row[strlen(row)] = '\n';
	assert_null(strstr(text, "3019628"));
	/* The name with a line break stays on its row. */
	assert_non_null(strstr(text, "  new?line?tab?tl ("));
	for (char *c = text; *c; c++)
		lines += *c == '\n';
	assert_int_equal(lines, 1 + 4 + 1); /* header, rows, lost */
	free(text);
	call_graph__free(&g);
}

static int json_total(FILE *f, const struct call_graph *g, void *arg)
{
	return call_report__json(g, CALL_SORT_TOTAL, &lost, NULL, NULL, f);
}

/*
 * Every calibrated process's calibration: one table line each, named by
 * pid when there are several, a warning only for the unsettled one; in
 * JSON all of them by process, and the first as "calibration".
 */
static void test_calibrations(void **state)
{
	struct json_object *root, *all, *c;
	struct call_graph g;
	char *text;

	make_graph(&g);
	g.nr_calibrated = 2;
	g.calibrated = calloc(2, sizeof(*g.calibrated));
	assert_non_null(g.calibrated);
	g.calibrated[0] = (struct call_process_calib){
		.pid = 7,
		.calibration = {.overhead_ns = 40, .inside_ns = 17},
		.range = {.calibrations = 12,
			  .kept = 12,
			  .per_call_min_ns = 39,
			  .per_call_max_ns = 42}};
	g.calibrated[1] = (struct call_process_calib){
		.pid = 9,
		.calibration = {.overhead_ns = 64, .inside_ns = 20},
		.range = {.calibrations = 3,
			  .kept = 3,
			  .per_call_min_ns = 40,
			  .per_call_max_ns = 70}};
	text = render(table_all, &g, NULL);
	assert_non_null(strstr(text, "times less tracing's own cost in pid 7: "
				     "40 ns per call (17 inside it)"));
	assert_non_null(strstr(text, "in pid 9: 64 ns per call"));
	assert_non_null(strstr(text, "the lower quartile of 3 calibrations "
				     "(40-70 ns per call)"));
	assert_non_null(strstr(text, "warning: in pid 9, the calibration"));
	assert_null(strstr(text, "in pid 7, the calibration"));
	free(text);
	text = render(json_total, &g, NULL);
	root = json_tokener_parse(text);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "calibration", &c));
	assert_int_equal(get_i64(c, "pid"), 7);
	assert_true(json_object_object_get_ex(root, "calibration_by_process",
					      &all));
	assert_int_equal(json_object_array_length(all), 2);
	c = json_object_array_get_idx(all, 1);
	assert_int_equal(get_i64(c, "pid"), 9);
	assert_int_equal(get_i64(c, "per_call_ns"), 64);
	assert_int_equal(get_i64(c, "calibrations_kept"), 3);
	assert_true(json_object_object_get_ex(c, "unsettled", &c));
	assert_true(json_object_get_boolean(c));
	json_object_put(root);
	free(text);
	/* one process: no pid in its line */
	g.nr_calibrated = 1;
	text = render(table_all, &g, NULL);
	assert_non_null(strstr(text, "times less tracing's own cost: 40 ns"));
	assert_null(strstr(text, "warning"));
	free(text);
	call_graph__free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_timeline),
		cmocka_unit_test(test_chrome),
		cmocka_unit_test(test_table_sort),
		cmocka_unit_test(test_table_units),
		cmocka_unit_test(test_calibrations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
