// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for user/model/scale.c: the log-log fit (exponent, R^2, the
 * t-interval), the nearest complexity class with log factors, and the
 * per-function series (too small, missing, medians, order).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "profile_fixture.h"

#include "model/scale.h"
#include "output/call_report.h"
#include "output/pprof.h"
#include "output/scale_report.h"
#include "output/scale_runs.h"

static const double sizes[] = {1000, 2000, 4000, 8000};
#define NR_SIZES 4

/* Deterministic noise in [-amp, amp] (a fixed LCG). */
static double noise(unsigned *state, double amp)
{
	*state = *state * 1103515245u + 12345u;
	return amp * (((*state >> 8) & 0xffff) / 32767.5 - 1);
}

static void fit_model(double p, double q, double amp, int repeat,
		      struct scale_fit *fit)
{
	double n[64], y[64];
	unsigned st = 7;
	size_t nr = 0;

	for (int r = 0; r < repeat; r++)
		for (int i = 0; i < NR_SIZES; i++) {
			n[nr] = sizes[i];
			y[nr++] = 3e-7 * pow(sizes[i], p) *
				  pow(log(sizes[i]), q) * exp(noise(&st, amp));
		}
	assert_int_equal(scale__fit(n, y, nr, fit), 0);
}

static void test_exact_classes(void **state)
{
	static const struct {
		double p, q;
		enum complexity want;
	} cases[] = {
		{0, 0, COMPLEXITY_1},  {0, 1, COMPLEXITY_LOG_N},
		{1, 0, COMPLEXITY_N},  {1, 1, COMPLEXITY_N_LOG_N},
		{2, 0, COMPLEXITY_N2}, {3, 0, COMPLEXITY_N3},
	};
	struct scale_fit fit;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fit_model(cases[i].p, cases[i].q, 0, 1, &fit);
		assert_int_equal(fit.complexity, cases[i].want);
		if (!cases[i].q) {
			assert_true(fabs(fit.exponent - cases[i].p) < 1e-9);
			assert_true(fabs(fit.hi - fit.lo) < 1e-6);
			assert_true(fit.r2 > 0.999999);
		}
	}
	/* n log n over 1000..8000 looks like n^1.12: a slope, not a class. */
	fit_model(1, 1, 0, 1, &fit);
	assert_true(fit.exponent > 1.10 && fit.exponent < 1.16);
	assert_string_equal(scale__complexity_name(COMPLEXITY_N_LOG_N),
			    "O(n log n)");
	assert_string_equal(scale__complexity_name(COMPLEXITY_N2), "O(n^2)");
}

/* 3 % noise: classes still right, the interval holds the exponent. */
static void test_noisy(void **state)
{
	static const struct {
		double p, q;
		enum complexity want;
	} cases[] = {
		{1, 0, COMPLEXITY_N},
		{1, 1, COMPLEXITY_N_LOG_N},
		{2, 0, COMPLEXITY_N2},
		{0, 0, COMPLEXITY_1},
	};
	struct scale_fit one, many;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double k = cases[i].p + cases[i].q / log(sqrt(1000 * 8000.0));

		fit_model(cases[i].p, cases[i].q, 0.03, 1, &one);
		fit_model(cases[i].p, cases[i].q, 0.03, 5, &many);
		assert_int_equal(many.complexity, cases[i].want);
		assert_true(fabs(many.exponent - k) < 0.05);
		assert_true(one.lo <= one.exponent && one.exponent <= one.hi);
		assert_true(many.lo < k && k < many.hi);
		assert_true(many.hi - many.lo < 0.1);
	}
}

static void test_fit_errors(void **state)
{
	double n[] = {10, 20, 40}, y[] = {1, 2, 4}, same[] = {5, 5, 5};
	double zero[] = {1, 0, 4}, neg[] = {-10, 20, 40};
	struct scale_fit fit;

	assert_int_equal(scale__fit(n, y, 2, &fit), -EINVAL);
	assert_int_equal(scale__fit(same, y, 3, &fit), -EINVAL);
	assert_int_equal(scale__fit(n, zero, 3, &fit), -EINVAL);
	assert_int_equal(scale__fit(neg, y, 3, &fit), -EINVAL);
	assert_int_equal(scale__fit(n, y, 3, &fit), 0);
	assert_true(fabs(fit.exponent - 1) < 1e-12);
	/* Constant y: k = 0 exactly, R^2 1, class O(1). */
	assert_int_equal(scale__fit(n, same, 3, &fit), 0);
	assert_true(fabs(fit.exponent) < 1e-12);
	assert_true(fit.r2 == 1);
	assert_int_equal(fit.complexity, COMPLEXITY_1);
	/* n = 1: no log classes, and still a fit. */
	double n1[] = {1, 2, 4}, y1[] = {1, 4, 16};

	assert_int_equal(scale__fit(n1, y1, 3, &fit), 0);
	assert_int_equal(fit.complexity, COMPLEXITY_N2);
}

/* Runs: sizes 1000, 2000, 4000 twice each (repeat 2), in run order. */
static void test_series(void **state)
{
	double runs[] = {1000, 2000, 4000, 1000, 2000, 4000};
	struct scale_result r;

	assert_int_equal(scale__init(&r, "calls", true, runs, 6), 0);
	assert_int_equal(r.nr_sizes, 3);
	assert_true(r.sizes[0] == 1000 && r.sizes[2] == 4000);
	for (size_t i = 0; i < 6; i++) {
		double n = runs[i], wobble = i < 3 ? 1.02 : 0.98;

		/* quad: n^2 own time, called once */
		assert_int_equal(scale__add(&r, i, "quad", "/a.py", 3,
					    1e-8 * n * n * wobble,
					    1e-8 * n * n * wobble, 1),
				 0);
		/* step: called n times, 1 us each */
		assert_int_equal(scale__add(&r, i, "step", "/a.py", 9, 1e-6 * n,
					    1e-6 * n, n),
				 0);
		/* tiny: 10 us, below the 1 ms minimum */
		assert_int_equal(
			scale__add(&r, i, "tiny", "/a.py", 20, 1e-5, 1e-5, 1),
			0);
		/* main: inclusive n^2 (quad below it), own time small */
		assert_int_equal(scale__add(&r, i, "main", "/a.py", 30,
					    1e-8 * n * n + 1e-6 * n, 1e-4, 1),
				 0);
		/* late: absent from the first run */
		if (i)
			assert_int_equal(
				scale__add(&r, i, "late", "/a.py", 40, 1, 1, 1),
				0);
	}
	/* The same function added twice in a run is summed. */
	assert_int_equal(scale__add(&r, 0, "step", "/a.py", 9, 0, 0, 0), 0);
	assert_int_equal(scale__add(&r, 6, "step", "/a.py", 9, 0, 0, 0),
			 -EINVAL);
	scale__analyze(&r, 1e-3);
	assert_int_equal(r.nr_funcs, 5);
	/* Order: by median time at the largest size. */
	assert_string_equal(r.funcs[0].name, "late");
	assert_string_equal(r.funcs[1].name, "main");
	assert_string_equal(r.funcs[2].name, "quad");
	assert_string_equal(r.funcs[3].name, "step");
	assert_string_equal(r.funcs[4].name, "tiny");
	assert_int_equal(r.funcs[0].skip, SCALE_MISSING);
	assert_int_equal(r.funcs[1].skip, SCALE_FITTED);
	assert_int_equal(r.funcs[1].self_skip, SCALE_TOO_SMALL);
	assert_int_equal(r.funcs[4].skip, SCALE_TOO_SMALL);
	assert_true(fabs(r.funcs[2].time.exponent - 2) < 0.05);
	assert_true(fabs(r.funcs[2].calls_fit.exponent) < 1e-9);
	assert_int_equal(r.funcs[2].time.complexity, COMPLEXITY_N2);
	assert_true(fabs(r.funcs[3].calls_fit.exponent - 1) < 1e-9);
	assert_true(fabs(r.funcs[3].time.exponent - 1) < 1e-9);
	/* Medians over the two repeats undo the wobble. */
	assert_true(fabs(scale__median_at(&r, r.funcs[2].seconds, 2) -
			 1e-8 * 4000 * 4000) < 1e-9);
	/* Run totals: every function's own time in that run. */
	assert_true(fabs(r.run_total[3] -
			 (1e-8 * 1e6 * 0.98 + 1e-3 + 1e-5 + 1e-4 + 1)) < 1e-9);
	scale__free(&r);
}

/* A run read back from calls JSON written by call_report__json. */
static void test_runs_calls_json(void **state)
{
	char path[] = "/tmp/pystrobe-test-scale-XXXXXX";
	struct call_func funcs[2] = {
		{.name = "f\"x",
		 .file = "/a.py",
		 .line = 3,
		 .calls = 7,
		 .total_ns = 2000000,
		 .self_ns = 500000},
		{.name = "g",
		 .file = "/a.py",
		 .line = 9,
		 .calls = 70,
		 .total_ns = 1500000,
		 .self_ns = 1500000},
	};
	struct call_graph g = {.funcs = funcs, .nr_funcs = 2};
	struct call_counters lost = {};
	double runs[] = {10, 20, 40};
	struct scale_result r;
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_int_equal(
		call_report__json(&g, CALL_SORT_TOTAL, &lost, NULL, NULL, f),
		0);
	fclose(f);
	assert_int_equal(scale__init(&r, "calls", true, runs, 3), 0);
	assert_int_equal(scale_runs__add_calls_json(&r, 1, path), 0);
	assert_int_equal(r.nr_funcs, 2);
	assert_string_equal(r.funcs[0].name, "f\"x");
	assert_int_equal(r.funcs[0].line, 3);
	assert_true(r.funcs[0].seconds[1] == 2e-3);
	assert_true(r.funcs[0].self_seconds[1] == 5e-4);
	assert_true(r.funcs[1].calls[1] == 70);
	assert_true(r.funcs[0].seconds[0] == 0);
	assert_true(fabs(r.run_total[1] - 2e-3) < 1e-12);
	/* Not calls JSON. */
	f = fopen(path, "w");
	fputs("{\"functions\": [{\"name\": 1}]}", f);
	fclose(f);
	assert_int_equal(scale_runs__add_calls_json(&r, 0, path), -EINVAL);
	f = fopen(path, "w");
	fputs("[1, 2", f);
	fclose(f);
	assert_int_equal(scale_runs__add_calls_json(&r, 0, path), -EINVAL);
	unlink(path);
	assert_int_equal(scale_runs__add_calls_json(&r, 0, path), -EINVAL);
	scale__free(&r);
}

/*
 * A run read back from a sampled pprof profile: fib recurses (counted once
 * per sample), main is never a leaf, native frames are not listed.
 */
static void test_runs_pprof(void **state)
{
	char path[] = "/tmp/pystrobe-test-scale-XXXXXX";
	struct profile *p = profile__new();
	uint32_t main_, fib10, fib11, memcpy_;
	double runs[] = {10, 20, 40};
	struct scale_result r;
	int64_t v[2];
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	profile__add_type(p, "samples", "count");
	profile__add_type(p, "cpu", "nanoseconds");
	main_ = frame(p, FRAME_PYTHON, "main", "/m.py", 5, 1);
	fib10 = frame(p, FRAME_PYTHON, "fib", "/m.py", 10, 9);
	fib11 = frame(p, FRAME_PYTHON, "fib", "/m.py", 11, 9);
	memcpy_ = frame(p, FRAME_NATIVE, "memcpy", "libc.so", 0, 0);
	v[0] = 3, v[1] = 3000000;
	profile__add_sample(p, (uint32_t[]){fib10, fib11, fib11, main_}, 4, v,
			    1, 1, "t", "c");
	v[0] = 1, v[1] = 1000000;
	profile__add_sample(p, (uint32_t[]){memcpy_, fib11, main_}, 3, v, 1, 1,
			    "t", "c");
	f = fdopen(fd, "w");
	assert_int_equal(pprof__write(p, f), 0);
	fclose(f);
	profile__free(p);
	assert_int_equal(scale__init(&r, "record", false, runs, 3), 0);
	assert_int_equal(scale_runs__add_pprof(&r, 2, path), 0);
	assert_int_equal(r.nr_funcs, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct scale_function *fn = &r.funcs[i];
		bool fib = !strcmp(fn->name, "fib");

		assert_true(fib || !strcmp(fn->name, "main"));
		assert_int_equal(fn->line, fib ? 9 : 1);
		assert_true(fabs(fn->seconds[2] - 4e-3) < 1e-12);
		/* A native leaf's time is not fib's own (scale's record
		 * runs sample no native frames: such a leaf is a marker). */
		assert_true(fabs(fn->self_seconds[2] - (fib ? 3e-3 : 0)) <
			    1e-12);
	}
	unlink(path);
	assert_int_equal(scale_runs__add_pprof(&r, 0, path), -ENOENT);
	scale__free(&r);
}

/* The JSON: medians per size, nulls for what was not fitted. */
static void test_report_json(void **state)
{
	double runs[] = {1000, 2000, 4000, 1000, 2000, 4000};
	struct scale_result r;
	struct json_object *root, *funcs, *fn, *v;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_int_equal(scale__init(&r, "calls", true, runs, 6), 0);
	for (size_t i = 0; i < 6; i++) {
		scale__add(&r, i, "quad", "/a.py", 3,
			   1e-8 * runs[i] * runs[i] * (i < 3 ? 1.1 : 0.9),
			   1e-8 * runs[i] * runs[i], 1);
		scale__add(&r, i, "tiny", "/a.py", 8, 1e-6, 1e-6, 1);
	}
	scale__analyze(&r, 1e-3);
	f = open_memstream(&buf, &len);
	assert_int_equal(scale_report__json(&r, NULL, f), 0);
	fclose(f);
	root = json_tokener_parse(buf);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "sizes", &v));
	assert_int_equal(json_object_array_length(v), 3);
	assert_int_equal(json_object_get_int(json_object_array_get_idx(v, 2)),
			 4000);
	assert_true(json_object_object_get_ex(root, "functions", &funcs));
	fn = json_object_array_get_idx(funcs, 0);
	assert_true(json_object_object_get_ex(fn, "name", &v));
	assert_string_equal(json_object_get_string(v), "quad");
	assert_true(json_object_object_get_ex(fn, "complexity", &v));
	assert_string_equal(json_object_get_string(v), "O(n^2)");
	assert_true(json_object_object_get_ex(fn, "time_exponent", &v));
	assert_true(fabs(json_object_get_double(v) - 2) < 0.01);
	assert_true(json_object_object_get_ex(fn, "calls_exponent", &v));
	assert_true(fabs(json_object_get_double(v)) < 1e-9);
	assert_true(json_object_object_get_ex(fn, "seconds", &v));
	assert_true(
		fabs(json_object_get_double(json_object_array_get_idx(v, 1)) -
		     0.04) < 1e-4);
	fn = json_object_array_get_idx(funcs, 1);
	assert_true(json_object_object_get_ex(fn, "complexity", &v));
	assert_string_equal(json_object_get_string(v), "too small to fit");
	assert_true(json_object_object_get_ex(fn, "time_exponent", &v));
	assert_null(v);
	json_object_put(root);
	free(buf);
	/* The table names the same. */
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(scale_report__table(&r, 0, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "n = 1000, 2000, 4000 (6 runs in all"));
	assert_non_null(strstr(buf, "O(n^2)"));
	assert_non_null(strstr(buf, "too small to fit"));
	assert_non_null(strstr(buf, "AT n=40000"));
	free(buf);
	/* The page embeds the same document, kind "scale". */
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(scale_report__html(&r, NULL, f), 0);
	fclose(f);
	assert_non_null(
		strstr(buf, "id=\"pystrobe-data\">{\"kind\":\"scale\""));
	assert_non_null(strstr(buf, "\"complexity\":\"O(n^2)\""));
	free(buf);
	scale__free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_classes),
		cmocka_unit_test(test_noisy),
		cmocka_unit_test(test_fit_errors),
		cmocka_unit_test(test_series),
		cmocka_unit_test(test_runs_calls_json),
		cmocka_unit_test(test_runs_pprof),
		cmocka_unit_test(test_report_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
