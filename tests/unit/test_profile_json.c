// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for record's JSON document (user/output/profile_json.c) and
 * the stack tree it carries (user/output/stack_tree.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "profile_fixture.h"

#include "model/offcpu_frames.h"
#include "output/profile_json.h"

static char *render(const struct profile *p, const struct timeline *tl,
		    bool html)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(profile_json__write(p, tl, html, f), 0);
	fclose(f);
	return buf;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no member %s", key);
	return v;
}

static int64_t num(struct json_object *o, const char *key)
{
	return json_object_get_int64(get(o, key));
}

/* A wall profile: two threads; <module> calls wait, which sleeps (through
 * a kernel frame) and takes a lock; <module> burns CPU itself. */
static struct profile *wall_fixture(void)
{
	struct profile *p = profile__new();
	uint32_t mod, wait, sleep_m, lock_m, ksched;
	int64_t v[4];

	profile__add_type(p, "samples", "count");
	profile__add_type(p, "cpu", "nanoseconds");
	profile__add_type(p, "offcpu", "nanoseconds");
	profile__add_type(p, "wall", "nanoseconds");
	mod = frame(p, FRAME_PYTHON, "<module>", "/m.py", 3, 1);
	wait = frame(p, FRAME_PYTHON, "wait", "/m.py", 21, 20);
	sleep_m = frame(p, FRAME_MARKER, "[off-cpu: sleep]", "", 0, 0);
	lock_m = frame(p, FRAME_MARKER, "[off-cpu: lock]", "", 0, 0);
	ksched = frame(p, FRAME_KERNEL, "schedule", "", 0, 0);
	v[0] = 0, v[1] = 0, v[2] = 300, v[3] = 300;
	profile__add_sample(p, (uint32_t[]){sleep_m, ksched, wait, mod}, 4, v,
			    10, 10, "MainThread", "python3");
	v[0] = 0, v[1] = 0, v[2] = 50, v[3] = 50;
	profile__add_sample(p, (uint32_t[]){lock_m, wait, mod}, 3, v, 10, 11,
			    "worker", "python3");
	v[0] = 2, v[1] = 20, v[2] = 0, v[3] = 20;
	profile__add_sample(p, (uint32_t[]){mod}, 1, v, 10, 10, "MainThread",
			    "python3");
	profile__set_counter(p, "frame_read_failed", 4);
	p->duration_nanos = 1000;
	return p;
}

static struct json_object *function_named(struct json_object *funcs,
					  const char *name)
{
	for (size_t i = 0; i < json_object_array_length(funcs); i++) {
		struct json_object *f = json_object_array_get_idx(funcs, i);

		if (!strcmp(json_object_get_string(get(f, "name")), name))
			return f;
	}
	fail_msg("no function %s", name);
	return NULL;
}

static void test_wall_document(void **state)
{
	struct profile *p = wall_fixture();
	char *s = render(p, NULL, false);
	struct json_object *doc = json_tokener_parse(s), *funcs, *f, *tot;

	assert_non_null(doc);
	assert_string_equal(json_object_get_string(get(doc, "kind")), "wall");
	assert_string_equal(json_object_get_string(get(doc, "main_value")),
			    "wall_ns");
	tot = get(doc, "totals");
	assert_int_equal(num(tot, "wall_ns"), 370);
	assert_int_equal(num(tot, "samples"), 2);
	assert_int_equal(num(get(tot, "offcpu_by_reason_ns"), "sleep"), 300);
	assert_int_equal(num(get(tot, "offcpu_by_reason_ns"), "lock"), 50);
	assert_int_equal(num(get(doc, "lost"), "frame_read_failed"), 4);
	assert_int_equal(num(doc, "duration_ns"), 1000);
	assert_false(json_object_object_get_ex(doc, "timeline", NULL));

	/* Sorted by self wall time; the waiting code owns the wait. */
	funcs = get(doc, "functions");
	assert_int_equal(json_object_array_length(funcs), 5);
	f = json_object_array_get_idx(funcs, 0);
	assert_string_equal(json_object_get_string(get(f, "name")), "wait");
	assert_int_equal(num(f, "line"), 20);
	assert_string_equal(json_object_get_string(get(f, "kind")), "python");
	assert_int_equal(num(f, "self_wall_ns"), 350);
	assert_int_equal(num(f, "self_offcpu_ns"), 350);
	assert_int_equal(num(get(f, "self_offcpu_by_reason_ns"), "sleep"), 300);
	assert_int_equal(num(get(f, "self_offcpu_by_reason_ns"), "lock"), 50);
	f = function_named(funcs, "<module>");
	assert_int_equal(num(f, "self_cpu_ns"), 20);
	assert_int_equal(num(f, "total_wall_ns"), 370);
	assert_int_equal(num(f, "total_samples"), 2);
	f = function_named(funcs, "schedule");
	assert_string_equal(json_object_get_string(get(f, "kind")), "kernel");
	assert_int_equal(num(f, "total_wall_ns"), 0);

	/* Threads with their own sums. */
	assert_int_equal(json_object_array_length(get(doc, "threads")), 2);
	f = json_object_array_get_idx(get(doc, "threads"), 1);
	assert_int_equal(num(f, "tid"), 11);
	assert_string_equal(json_object_get_string(get(f, "thread_name")),
			    "worker");
	assert_int_equal(num(f, "wall_ns"), 50);
	json_object_put(doc);
	free(s);
	profile__free(p);
}

/* Rebuilds each stack of the tree and checks it against the samples. */
static void test_tree(void **state)
{
	struct profile *p = wall_fixture();
	char *s = render(p, NULL, false);
	struct json_object *doc = json_tokener_parse(s), *tree, *funcs;
	struct json_object *parent, *func, *wall, *threads;
	char path[256];
	int64_t found = 0;

	assert_non_null(doc);
	tree = get(doc, "tree");
	funcs = get(doc, "functions");
	parent = get(tree, "parent");
	func = get(tree, "func");
	threads = get(tree, "threads");
	assert_int_equal(json_object_array_length(get(tree, "columns")), 4);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(
				    get(tree, "columns"), 3)),
			    "wall_ns");
	wall = json_object_array_get_idx(get(tree, "self"), 3);
	assert_int_equal(json_object_array_length(threads), 2);
	/* Nodes: 2 roots; main: mod, wait, schedule, sleep; worker: mod,
	 * wait, lock. */
	assert_int_equal(json_object_array_length(parent), 9);
	for (size_t i = 0; i < json_object_array_length(parent); i++) {
		int64_t v = json_object_get_int64(
			json_object_array_get_idx(wall, i));
		int64_t n = i;
		size_t used = 0;

		assert_true(json_object_get_int(json_object_array_get_idx(
				    parent, i)) < (int)i);
		if (!v)
			continue;
		path[0] = 0;
		while (json_object_get_int(
			       json_object_array_get_idx(func, n)) >= 0) {
			int fi = json_object_get_int(
				json_object_array_get_idx(func, n));
			const char *name = json_object_get_string(get(
				json_object_array_get_idx(funcs, fi), "name"));

			used += snprintf(path + used, sizeof(path) - used,
					 "%s;", name);
			n = json_object_get_int(
				json_object_array_get_idx(parent, n));
		}
		if (v == 300)
			assert_string_equal(
				path,
				"[off-cpu: sleep];schedule;wait;<module>;");
		else if (v == 50)
			assert_string_equal(path,
					    "[off-cpu: lock];wait;<module>;");
		else
			assert_string_equal(path, "<module>;");
		found += v;
	}
	assert_int_equal(found, 370);
	json_object_put(doc);
	free(s);
	profile__free(p);
}

/* The page's copy has no '<' at all, and parses to the same document. */
static void test_html_escape_and_timeline(void **state)
{
	struct profile *p = wall_fixture();
	struct timeline tl = {.interval_ns = 250000000};
	struct timeline_point pt = {.t_ns = 250000000, .pid = 10};
	struct json_object *doc, *arr, *o;
	char *plain, *html;

	pt.cpu_pct = 42.5;
	for (int r = 0; r < OFFCPU__COUNT; r++)
		pt.offcpu_ns[r] = r == OFFCPU_SLEEP ? 1000 : 0;
	pt.rss_bytes = 4096;
	pt.read_bytes = pt.write_bytes = 0;
	pt.voluntary_switches = 3;
	pt.involuntary_switches = 1;
	pt.heap_live_bytes = TIMELINE_UNKNOWN;
	pt.alloc_bytes_per_s = TIMELINE_UNKNOWN;
	assert_int_equal(timeline__add(&tl, &pt), 0);
	plain = render(p, &tl, false);
	html = render(p, &tl, true);
	assert_non_null(strstr(plain, "\"<module>\""));
	assert_null(strchr(html, '<'));
	doc = json_tokener_parse(html);
	assert_non_null(doc);
	assert_non_null(json_object_array_get_idx(get(doc, "functions"), 1));
	function_named(get(doc, "functions"), "<module>");
	arr = get(doc, "timeline");
	assert_int_equal(json_object_array_length(arr), 1);
	o = json_object_array_get_idx(arr, 0);
	assert_true(json_object_get_double(get(o, "t")) == 0.25);
	assert_true(json_object_get_double(get(o, "cpu_pct")) == 42.5);
	assert_int_equal(num(get(o, "offcpu_ns"), "sleep"), 1000);
	assert_int_equal(num(o, "rss_bytes"), 4096);
	assert_int_equal(num(o, "voluntary_switches"), 3);
	assert_false(json_object_object_get_ex(o, "heap_live_bytes", NULL));
	json_object_put(doc);
	timeline__free(&tl);
	free(plain);
	free(html);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wall_document),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_html_escape_and_timeline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
