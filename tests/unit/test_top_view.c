// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for user/output/top_view.c: what `pystrobe top` shows for
 * hand-made intervals: shares of the last interval against totals over the
 * run, each sort key, the thread view, one process of several, and fitting
 * the screen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "profile_fixture.h"

#include "output/top_view.h"

#define MS 1000000LL

enum { SAMPLES, CPU, OFFCPU, WALL };

static struct profile *types(void)
{
	struct profile *p = profile__new();

	profile__add_type(p, "samples", "count");
	profile__add_type(p, "cpu", "nanoseconds");
	profile__add_type(p, "offcpu", "nanoseconds");
	profile__add_type(p, "wall", "nanoseconds");
	p->period = 10 * MS;
	return p;
}

static void cpu(struct profile *p, const uint32_t *frames, uint32_t depth,
		int64_t pid, int64_t tid, int64_t ms)
{
	int64_t v[4] = {[SAMPLES] = ms / 10, [CPU] = ms * MS, [WALL] = ms * MS};

	assert_int_equal(profile__add_sample(p, frames, depth, v, pid, tid,
					     "worker", "python3"),
			 0);
}

static void asleep(struct profile *p, const uint32_t *frames, uint32_t depth,
		   int64_t pid, int64_t tid, int64_t ms)
{
	int64_t v[4] = {[OFFCPU] = ms * MS, [WALL] = ms * MS};

	assert_int_equal(profile__add_sample(p, frames, depth, v, pid, tid,
					     "sleeper", "python3"),
			 0);
}

/*
 * Interval 1 (1 s): pid 1 runs hot() under main() 600 ms. Interval 2 (1 s):
 * hot() 200 ms, cold() 500 ms, and thread 2 sleeps 300 ms in nap(); pid 9
 * runs other() 100 ms.
 */
static struct top_view *two_intervals(void)
{
	struct profile *t = types(), *p;
	struct top_view *v = top_view__new(t);
	uint32_t main_, hot, cold, nap, sleep_, other;

	assert_non_null(v);
	p = top_view__interval(v);
	main_ = frame(p, FRAME_PYTHON, "main", "/srv/app.py", 5, 1);
	hot = frame(p, FRAME_PYTHON, "hot", "/srv/app.py", 12, 10);
	cpu(p, (uint32_t[]){hot, main_}, 2, 1, 1, 600);
	assert_int_equal(top_view__end_interval(v, 1000 * MS), 0);
	/* A new profile: its frame indices are its own. */
	p = top_view__interval(v);
	cold = frame(p, FRAME_PYTHON, "cold", "/srv/app.py", 22, 20);
	main_ = frame(p, FRAME_PYTHON, "main", "/srv/app.py", 5, 1);
	hot = frame(p, FRAME_PYTHON, "hot", "/srv/app.py", 12, 10);
	nap = frame(p, FRAME_PYTHON, "nap", "/srv/app.py", 31, 30);
	sleep_ = frame(p, FRAME_MARKER, "[off-cpu: sleep]", "", 0, 0);
	other = frame(p, FRAME_PYTHON, "other", "/srv/b.py", 3, 2);
	cpu(p, (uint32_t[]){hot, main_}, 2, 1, 1, 200);
	cpu(p, (uint32_t[]){cold, main_}, 2, 1, 1, 500);
	asleep(p, (uint32_t[]){sleep_, nap}, 2, 1, 2, 300);
	cpu(p, &other, 1, 9, 9, 100);
	assert_int_equal(top_view__end_interval(v, 1000 * MS), 0);
	profile__free(t);
	return v;
}

static const char *row_of(const struct top_screen *s, const char *func)
{
	for (int i = s->header + 1; i < s->nr; i++)
		if (strstr(s->lines[i], func))
			return s->lines[i];
	return NULL;
}

static void render(const struct top_view *v, struct top_opts *o,
		   struct top_screen *s)
{
	if (!o->what)
		o->what = "pid 1";
	o->freq = 99;
	assert_int_equal(top_view__render(v, o, s), 0);
}

/* The last interval's shares, the run's times, the off-CPU by reason. */
static void test_functions(void **state)
{
	struct top_view *v = two_intervals();
	struct top_opts o = {.elapsed_ns = 2000 * MS};
	struct top_screen s = {};

	render(v, &o, &s);
	assert_non_null(strstr(s.lines[0], "2 processes, 3 threads  99 Hz"));
	/* 800 ms CPU and 300 ms asleep in the last second. */
	assert_string_equal(s.lines[1], "CPU 80.0%  off-CPU 300 ms (sleep "
					"300 ms)  in the last 1.00 s");
	assert_string_equal(s.lines[2], "lost: none");
	assert_string_equal(
		s.lines[s.header],
		"     OWN%   TOTAL% OWN TIME TOTAL TIME  OFF-CPU    "
		"sleep  FUNCTION");
	/* Sorted by OWN%: cold (50%) before hot (20%). */
	assert_string_equal(
		s.lines[s.header + 1],
		"    50.0%    50.0%   500 ms     500 ms        0     "
		"   0  cold (/srv/app.py:20)");
	assert_string_equal(
		row_of(&s, "hot ("),
		"    20.0%    20.0%   800 ms     800 ms        0     "
		"   0  hot (/srv/app.py:10)");
	assert_string_equal(
		row_of(&s, "main ("),
		"     0.0%    70.0%        0     1.30 s        0     "
		"   0  main (/srv/app.py:1)");
	assert_string_equal(row_of(&s, "nap ("),
			    "     0.0%     0.0%        0          0   300 ms   "
			    "300 ms  nap (/srv/app.py:30)");
	/* The pseudo-frame never is a self: no row. */
	assert_null(row_of(&s, "[off-cpu"));
	/* The sorted column is marked. */
	assert_int_equal(s.sort_from, 0);
	assert_int_equal(s.sort_len, 9);
	assert_string_equal(
		s.lines[s.nr - 1],
		"q quit  space pause  1-5 sort  t threads  p process");
	top_screen__free(&s);
	top_view__free(v);
}

/* Each key orders the rows by its column. */
static void test_sorts(void **state)
{
	static const struct {
		enum top_sort sort;
		const char *first;
		int from;
	} cases[] = {
		{TOP_SORT_OWN, "cold (", 0},
		{TOP_SORT_TOTAL, "main (", 9},
		{TOP_SORT_OWN_TIME, "hot (", 18},
		{TOP_SORT_TOTAL_TIME, "main (", 27},
		{TOP_SORT_OFFCPU, "nap (", 38},
	};
	struct top_view *v = two_intervals();
	struct top_screen s = {};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct top_opts o = {.sort = cases[i].sort};

		render(v, &o, &s);
		assert_non_null(strstr(s.lines[s.header + 1], cases[i].first));
		assert_int_equal(s.sort_from, cases[i].from);
	}
	top_screen__free(&s);
	top_view__free(v);
}

/*
 * Every sample in busy() under outer(): equal totals. By a total the caller
 * comes first (less of its own), by own time busy() does.
 */
static void test_sort_ties(void **state)
{
	static const struct {
		enum top_sort sort;
		const char *first, *second;
	} cases[] = {
		{TOP_SORT_TOTAL, "outer (", "busy ("},
		{TOP_SORT_TOTAL_TIME, "outer (", "busy ("},
		{TOP_SORT_OWN, "busy (", "outer ("},
		{TOP_SORT_OWN_TIME, "busy (", "outer ("},
	};
	struct profile *t = types(), *p;
	struct top_view *v = top_view__new(t);
	struct top_screen s = {};
	uint32_t outer, busy;

	assert_non_null(v);
	p = top_view__interval(v);
	/* busy sorts before outer by name: the tie-break must not be the name
	 */
	busy = frame(p, FRAME_PYTHON, "busy", "/srv/app.py", 14, 13);
	outer = frame(p, FRAME_PYTHON, "outer", "/srv/app.py", 5, 1);
	cpu(p, (uint32_t[]){busy, outer}, 2, 1, 1, 900);
	assert_int_equal(top_view__end_interval(v, 1000 * MS), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct top_opts o = {.sort = cases[i].sort};

		render(v, &o, &s);
		assert_non_null(strstr(s.lines[s.header + 1], cases[i].first));
		assert_non_null(strstr(s.lines[s.header + 2], cases[i].second));
	}
	top_screen__free(&s);
	top_view__free(v);
	profile__free(t);
}

/* Threads: CPU share, CPU time and off-CPU per thread. */
static void test_threads(void **state)
{
	struct top_view *v = two_intervals();
	struct top_opts o = {.threads = true};
	struct top_screen s = {};

	render(v, &o, &s);
	assert_string_equal(
		s.lines[s.header],
		"    PID     TID     CPU% CPU TIME  OFF-CPU    sleep "
		" THREAD");
	assert_string_equal(
		s.lines[s.header + 1],
		"      1       1    70.0%   1.30 s        0        0 "
		" worker (python3)");
	assert_string_equal(
		row_of(&s, "sleeper"),
		"      1       2     0.0%        0   300 ms   300 ms "
		" sleeper (python3)");
	assert_non_null(row_of(&s, "      9       9    10.0%"));
	top_screen__free(&s);
	top_view__free(v);
}

/* One process of two: its rows, its shares; p steps through them. */
static void test_one_process(void **state)
{
	struct top_view *v = two_intervals();
	struct top_opts o = {};
	struct top_screen s = {};

	assert_int_equal(top_view__next_pid(v, 0), 1);
	assert_int_equal(top_view__next_pid(v, 1), 9);
	assert_int_equal(top_view__next_pid(v, 9), 0);
	o.pid = 9;
	render(v, &o, &s);
	assert_non_null(strstr(s.lines[0], "process 9 (python3), 1 of 2"));
	assert_non_null(strstr(s.lines[1], "CPU 10.0%"));
	assert_non_null(row_of(&s, "other ("));
	assert_null(row_of(&s, "hot ("));
	o.pid = 1;
	render(v, &o, &s);
	assert_null(row_of(&s, "other ("));
	assert_non_null(row_of(&s, "hot ("));
	top_screen__free(&s);
	top_view__free(v);
}

/* A small screen: the rows that fit; a narrow one: paths give way. */
static void test_fit(void **state)
{
	struct top_view *v = two_intervals();
	struct top_opts o = {.height = 8};
	struct top_screen s = {};

	render(v, &o, &s);
	assert_int_equal(s.nr, 8); /* 4 header lines, 1 column header, 2 rows,
				      the keys */
	o.height = 0;
	o.width = 74; /* 58 columns of values: 16 for the function */
	render(v, &o, &s);
	assert_non_null(row_of(&s, "  cold (app.py:20)"));
	o.width = 72;
	render(v, &o, &s);
	assert_non_null(row_of(&s, "  cold (….py:20)"));
	o.paused = true;
	render(v, &o, &s);
	assert_non_null(strstr(s.lines[0], "[paused]"));
	top_screen__free(&s);
	top_view__free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_sorts),
		cmocka_unit_test(test_sort_ties),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_one_process),
		cmocka_unit_test(test_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
