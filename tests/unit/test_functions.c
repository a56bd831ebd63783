// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the per-function aggregation (user/model/functions.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "profile_fixture.h"

#include "model/functions.h"

static const struct function *find(const struct profile *p,
				   const struct functions *fs, const char *name,
				   const char *file)
{
	for (size_t i = 0; i < fs->nr; i++)
		if (strcmp(profile__str(p, fs->funcs[i].name), name) == 0 &&
		    strcmp(profile__str(p, fs->funcs[i].file), file) == 0)
			return &fs->funcs[i];
	fail_msg("no function %s (%s)", name, file);
	return NULL;
}

/*
 * Two lines of fib are one function; fib recursing three deep counts once
 * per sample in total; memcpy of two modules is two functions.
 */
static void test_key_and_recursion(void **state)
{
	struct profile *p = profile__new();
	struct functions fs;
	uint32_t main_, fib10, fib11, m1, m2;
	int64_t v[2];

	profile__add_type(p, "samples", "count");
	profile__add_type(p, "cpu", "nanoseconds");
	main_ = frame(p, FRAME_PYTHON, "main", "/m.py", 5, 1);
	fib10 = frame(p, FRAME_PYTHON, "fib", "/m.py", 10, 9);
	fib11 = frame(p, FRAME_PYTHON, "fib", "/m.py", 11, 9);
	m1 = frame(p, FRAME_NATIVE, "memcpy", "/lib/a.so", 0, 0);
	m2 = frame(p, FRAME_NATIVE, "memcpy", "/lib/b.so", 0, 0);
	v[0] = 6, v[1] = 60;
	profile__add_sample(p, (uint32_t[]){fib10, fib11, fib11, main_}, 4, v,
			    1, 1, NULL, NULL);
	v[0] = 2, v[1] = 20;
	profile__add_sample(p, (uint32_t[]){m1, fib10, main_}, 3, v, 1, 1, NULL,
			    NULL);
	v[0] = 1, v[1] = 10;
	profile__add_sample(p, (uint32_t[]){m2, main_}, 2, v, 1, 2, NULL, NULL);
	v[0] = 4, v[1] = 40;
	profile__add_sample(p, NULL, 0, v, 1, 3, NULL, NULL);

	assert_int_equal(functions__build(p, FUNCTIONS_SELF_LEAF, &fs), 0);
	assert_int_equal(fs.nr, 4); /* main, fib, memcpy x2 */
	assert_int_equal(fs.sum[0], 13);
	assert_int_equal(fs.sum[1], 130);
	assert_int_equal(fs.offcpu_type, -1);

	const struct function *fib = find(p, &fs, "fib", "/m.py");
	const struct function *main_fn = find(p, &fs, "main", "/m.py");
	const struct function *a = find(p, &fs, "memcpy", "/lib/a.so");
	const struct function *b = find(p, &fs, "memcpy", "/lib/b.so");

	assert_int_equal(fib->start_line, 9);
	assert_int_equal(fib->self[0], 6);
	assert_int_equal(fib->total[0], 8);
	assert_int_equal(fib->total[1], 80);
	assert_int_equal(main_fn->self[0], 0);
	assert_int_equal(main_fn->total[0], 9);
	assert_int_equal(a->self[1], 20);
	assert_int_equal(b->self[1], 10);
	assert_int_equal(fs.of_frame[fib10], fs.of_frame[fib11]);
	assert_int_not_equal(fs.of_frame[m1], fs.of_frame[m2]);
	assert_string_equal(functions__profile_kind(p), "cpu");
	functions__free(&fs);
	profile__free(p);
}

/*
 * A wall profile: off-CPU time is charged to the Python function that
 * waited (not the marker or the kernel frames), split by the marker's
 * reason; an unknown reason and a missing marker count as other.
 */
static void test_offcpu_reasons(void **state)
{
	struct profile *p = profile__new();
	struct functions fs;
	uint32_t main_, wait, sleep_m, lock_m, odd_m, ksched;
	int64_t v[3];

	profile__add_type(p, "cpu", "nanoseconds");
	profile__add_type(p, "offcpu", "nanoseconds");
	profile__add_type(p, "wall", "nanoseconds");
	main_ = frame(p, FRAME_PYTHON, "main", "/m.py", 3, 1);
	wait = frame(p, FRAME_PYTHON, "wait", "/m.py", 21, 20);
	sleep_m = frame(p, FRAME_MARKER, "[off-cpu: sleep]", "", 0, 0);
	lock_m = frame(p, FRAME_MARKER, "[off-cpu: lock]", "", 0, 0);
	odd_m = frame(p, FRAME_MARKER, "[off-cpu: martian]", "", 0, 0);
	ksched = frame(p, FRAME_KERNEL, "schedule", "", 0, 0);

	v[0] = 0, v[1] = 300, v[2] = 300;
	profile__add_sample(p, (uint32_t[]){sleep_m, ksched, wait, main_}, 4, v,
			    1, 1, NULL, NULL);
	v[0] = 0, v[1] = 50, v[2] = 50;
	profile__add_sample(p, (uint32_t[]){lock_m, wait, main_}, 3, v, 1, 1,
			    NULL, NULL);
	v[0] = 0, v[1] = 7, v[2] = 7;
	profile__add_sample(p, (uint32_t[]){odd_m, main_}, 2, v, 1, 1, NULL,
			    NULL);
	v[0] = 0, v[1] = 5, v[2] = 5;
	profile__add_sample(p, (uint32_t[]){main_}, 1, v, 1, 1, NULL, NULL);
	v[0] = 100, v[1] = 0, v[2] = 100;
	profile__add_sample(p, (uint32_t[]){wait, main_}, 2, v, 1, 1, NULL,
			    NULL);

	assert_int_equal(functions__rule_for(p), FUNCTIONS_SELF_CODE);
	assert_string_equal(functions__profile_kind(p), "wall");
	assert_int_equal(functions__build(p, FUNCTIONS_SELF_CODE, &fs), 0);
	assert_int_equal(fs.offcpu_type, 1);

	const struct function *w = find(p, &fs, "wait", "/m.py");
	const struct function *m = find(p, &fs, "main", "/m.py");
	const struct function *k = find(p, &fs, "schedule", "");
	const struct function *s = find(p, &fs, "[off-cpu: sleep]", "");

	assert_int_equal(w->self[0], 100);
	assert_int_equal(w->self[1], 350);
	assert_int_equal(w->self_offcpu[OFFCPU_SLEEP], 300);
	assert_int_equal(w->self_offcpu[OFFCPU_LOCK], 50);
	assert_int_equal(w->total[2], 450);
	assert_int_equal(m->self[1], 12);
	assert_int_equal(m->self_offcpu[OFFCPU_OTHER], 12);
	assert_int_equal(m->total[2], 462);
	assert_int_equal(m->total_offcpu[OFFCPU_SLEEP], 300);
	/* Leafward of the code frame: nothing. */
	assert_int_equal(k->total[1], 0);
	assert_int_equal(s->total[1], 0);
	assert_int_equal(fs.sum_offcpu[OFFCPU_SLEEP], 300);
	assert_int_equal(fs.sum_offcpu[OFFCPU_LOCK], 50);
	assert_int_equal(fs.sum_offcpu[OFFCPU_OTHER], 12);
	functions__free(&fs);

	/* The leaf rule charges the markers themselves. */
	assert_int_equal(functions__build(p, FUNCTIONS_SELF_LEAF, &fs), 0);
	s = find(p, &fs, "[off-cpu: sleep]", "");
	assert_int_equal(s->self[1], 300);
	assert_int_equal(s->self_offcpu[OFFCPU_SLEEP], 300);
	functions__free(&fs);
	profile__free(p);
}

static void test_kinds(void **state)
{
	static const char *const cases[][4] = {
		{"samples", "cpu", NULL, "cpu"},
		{"offcpu", NULL, NULL, "offcpu"},
		{"samples", "cpu", "offcpu", "wall"},
		{"calls", "wall", "cpu", "calls"},
		{"alloc_space", "inuse_space", NULL, "memory"},
		{"bogus", NULL, NULL, "unknown"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct profile *p = profile__new();

		for (int t = 0; t < 3 && cases[i][t]; t++)
			profile__add_type(p, cases[i][t], "count");
		assert_string_equal(functions__profile_kind(p), cases[i][3]);
		profile__free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_and_recursion),
		cmocka_unit_test(test_offcpu_reasons),
		cmocka_unit_test(test_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
