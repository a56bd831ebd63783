// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the speedscope writers (user/output/speedscope.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "profile_fixture.h"

#include "output/speedscope.h"

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no member %s", key);
	return v;
}

static struct json_object *at(struct json_object *a, size_t i)
{
	assert_true(i < json_object_array_length(a));
	return json_object_array_get_idx(a, i);
}

static const char *str(struct json_object *o, const char *key)
{
	return json_object_get_string(get(o, key));
}

static struct json_object *parse(char *buf)
{
	struct json_object *doc = json_tokener_parse(buf);

	assert_non_null(doc);
	free(buf);
	assert_string_equal(
		str(doc, "$schema"),
		"https://www.speedscope.app/file-format-schema.json");
	return doc;
}

/* Two threads; thread 2 has no CPU time and gets no profile. The frames
 * are functions: fib's two lines are one frame. Stacks are root first. */
static void test_sampled(void **state)
{
	struct profile *p = profile__new();
	struct json_object *doc, *frames, *prof, *samples;
	uint32_t main_, fib10, fib11;
	int64_t v[2];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	profile__add_type(p, "samples", "count");
	profile__add_type(p, "cpu", "nanoseconds");
	main_ = frame(p, FRAME_PYTHON, "main", "/m.py", 5, 1);
	fib10 = frame(p, FRAME_PYTHON, "fib", "/m.py", 10, 9);
	fib11 = frame(p, FRAME_PYTHON, "fib", "/m.py", 11, 9);
	v[0] = 3, v[1] = 300;
	profile__add_sample(p, (uint32_t[]){fib10, main_}, 2, v, 7, 7,
			    "MainThread", "python3");
	v[0] = 1, v[1] = 100;
	profile__add_sample(p, (uint32_t[]){fib11, fib10, main_}, 3, v, 7, 7,
			    "MainThread", "python3");
	v[0] = 0, v[1] = 0;
	profile__add_sample(p, (uint32_t[]){main_}, 1, v, 7, 8, "idle",
			    "python3");
	assert_int_equal(speedscope__write_profile(p, f), 0);
	fclose(f);
	doc = parse(buf);
	assert_string_equal(str(doc, "name"), "pystrobe cpu profile");
	frames = get(get(doc, "shared"), "frames");
	assert_int_equal(json_object_array_length(frames), 2);
	assert_string_equal(str(at(frames, 0), "name"), "main");
	assert_string_equal(str(at(frames, 1), "name"), "fib");
	assert_int_equal(json_object_get_int(get(at(frames, 1), "line")), 9);
	assert_string_equal(str(at(frames, 1), "file"), "/m.py");
	assert_int_equal(json_object_array_length(get(doc, "profiles")), 1);
	prof = at(get(doc, "profiles"), 0);
	assert_string_equal(str(prof, "type"), "sampled");
	assert_string_equal(str(prof, "unit"), "nanoseconds");
	assert_string_equal(str(prof, "name"),
			    "python3 pid 7 tid 7 MainThread");
	assert_int_equal(json_object_get_int64(get(prof, "endValue")), 400);
	samples = get(prof, "samples");
	assert_int_equal(json_object_array_length(samples), 2);
	assert_string_equal(
		json_object_to_json_string_ext(samples, JSON_C_TO_STRING_PLAIN),
		"[[0,1],[0,1,1]]");
	assert_string_equal(
		json_object_to_json_string_ext(get(prof, "weights"),
					       JSON_C_TO_STRING_PLAIN),
		"[300,100]");
	json_object_put(doc);
	profile__free(p);
}

/*
 * Calls: the exact per-path aggregate, then one evented timeline per
 * thread, whose events nest (an inner call that outlasts its caller by
 * clock rounding is cut at the caller's end) and are in time order.
 */
static void test_calls(void **state)
{
	static const char *const fnames[] = {"outer", "inner", "other"};
	struct call_graph g = {0};
	struct call_event ev[4] = {
		/* tid 1: outer [1000, 5000) holds inner [2000, 5010). */
		{.pid = 5,
		 .tid = 1,
		 .path = 10,
		 .start_ns = 1000,
		 .dur_ns = 4000},
		{.pid = 5,
		 .tid = 1,
		 .path = 11,
		 .start_ns = 2000,
		 .dur_ns = 3010},
		/* then inner again [6000, 6500) at top level. */
		{.pid = 5,
		 .tid = 1,
		 .path = 11,
		 .start_ns = 6000,
		 .dur_ns = 500},
		/* tid 2: other, unknown path: dropped. */
		{.pid = 5,
		 .tid = 2,
		 .path = 99,
		 .start_ns = 1500,
		 .dur_ns = 10},
	};
	struct json_object *doc, *profs, *events;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	g.nr_funcs = 3;
	g.funcs = calloc(3, sizeof(*g.funcs));
	g.nr_paths = 2;
	g.paths = calloc(2, sizeof(*g.paths));
	assert_non_null(g.funcs);
	assert_non_null(g.paths);
	for (int i = 0; i < 3; i++) {
		g.funcs[i].name = (char *)fnames[i];
		g.funcs[i].file = (char *)"/c.py";
		g.funcs[i].line = 1 + i;
	}
	g.paths[0] = (struct call_path){.id = 10, .depth = 1, .pid = 5};
	g.paths[0].funcs = (size_t[]){0};
	g.paths[0].stats.self_ns = 1000;
	g.paths[1] = (struct call_path){.id = 11, .depth = 2, .pid = 5};
	g.paths[1].funcs = (size_t[]){1, 0};
	g.paths[1].stats.self_ns = 3500;
	assert_int_equal(speedscope__write_calls(&g, ev, 4, f), 0);
	fclose(f);
	doc = parse(buf);
	profs = get(doc, "profiles");
	assert_int_equal(json_object_array_length(profs), 2);
	assert_string_equal(str(at(profs, 0), "type"), "sampled");
	assert_string_equal(
		json_object_to_json_string_ext(get(at(profs, 0), "samples"),
					       JSON_C_TO_STRING_PLAIN),
		"[[0],[0,1]]");
	assert_int_equal(json_object_get_int64(get(at(profs, 0), "endValue")),
			 4500);
	assert_string_equal(str(at(profs, 1), "type"), "evented");
	assert_string_equal(str(at(profs, 1), "name"),
			    "pid 5 tid 1: calls timeline");
	events = get(at(profs, 1), "events");
	assert_string_equal(
		json_object_to_json_string_ext(events, JSON_C_TO_STRING_PLAIN),
		"[{\"type\":\"O\",\"at\":0,\"frame\":0},"
		"{\"type\":\"O\",\"at\":1000,\"frame\":1},"
		"{\"type\":\"C\",\"at\":4000,\"frame\":1},"
		"{\"type\":\"C\",\"at\":4000,\"frame\":0},"
		"{\"type\":\"O\",\"at\":5000,\"frame\":1},"
		"{\"type\":\"C\",\"at\":5500,\"frame\":1}]");
	assert_int_equal(json_object_get_int64(get(at(profs, 1), "endValue")),
			 5500);
	json_object_put(doc);
	free(g.funcs);
	free(g.paths);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sampled),
		cmocka_unit_test(test_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
