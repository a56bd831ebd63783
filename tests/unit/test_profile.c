// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the profile model (user/model/profile.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/profile.h"

static void test_intern(void **state)
{
	struct profile *p = profile__new();
	uint32_t a, b;

	assert_non_null(p);
	assert_int_equal(p->nr_strings, 1);
	assert_string_equal(p->strings[0], "");
	assert_int_equal(profile__intern(p, ""), 0);
	assert_int_equal(profile__intern(p, NULL), 0);
	a = profile__intern(p, "naïve_函数");
	b = profile__intern(p, "other");
	assert_int_not_equal(a, b);
	assert_int_equal(profile__intern(p, "naïve_函数"), a);
	assert_int_equal(profile__find_string(p, "other"), b);
	assert_int_equal(profile__find_string(p, "missing"), (uint32_t)-1);
	assert_string_equal(profile__str(p, a), "naïve_函数");
	assert_string_equal(profile__str(p, 12345), "");
	profile__free(p);
	profile__free(NULL);
}

static void test_frames(void **state)
{
	struct profile *p = profile__new();
	struct profile_frame f = {
		.kind = FRAME_PYTHON,
		.name = profile__intern(p, "work"),
		.file = profile__intern(p, "/app/main.py"),
		.line = 20,
		.start_line = 15,
	};
	int64_t i0, i1;

	i0 = profile__add_frame(p, &f);
	assert_int_equal(i0, 0);
	assert_int_equal(profile__add_frame(p, &f), i0);
	f.line = 21;
	i1 = profile__add_frame(p, &f);
	assert_int_equal(i1, 1);
	f.kind = FRAME_NATIVE;
	assert_int_equal(profile__add_frame(p, &f), 2);
	f.name = 999;
	assert_int_equal(profile__add_frame(p, &f), -EINVAL);
	assert_int_equal(p->nr_frames, 3);
	profile__free(p);
}

static void test_types_and_samples(void **state)
{
	struct profile *p = profile__new();
	struct profile_frame f = {.kind = FRAME_NATIVE};
	uint32_t frames[2];
	int64_t v1[] = {1, 10}, v2[] = {2, 20};
	int i;

	assert_int_equal(profile__add_type(p, "samples", "count"), 0);
	assert_int_equal(profile__add_type(p, "cpu", "nanoseconds"), 1);
	for (i = 2; i < PROFILE_MAX_TYPES; i++)
		assert_int_equal(profile__add_type(p, "x", "y"), i);
	assert_int_equal(profile__add_type(p, "x", "y"), -E2BIG);
	p->nr_types = 2;
	assert_int_equal(profile__type_index(p, "cpu"), 1);
	assert_int_equal(profile__type_index(p, "wall"), -1);

	f.name = profile__intern(p, "leaf");
	frames[0] = profile__add_frame(p, &f);
	f.name = profile__intern(p, "root");
	frames[1] = profile__add_frame(p, &f);

	assert_int_equal(
		profile__add_sample(p, frames, 2, v1, 1, 2, "main", "python3"),
		0);
	assert_int_equal(
		profile__add_sample(p, frames, 2, v2, 1, 2, "main", "python3"),
		0);
	assert_int_equal(p->nr_samples, 1);
	assert_int_equal(p->samples[0].values[0], 3);
	assert_int_equal(p->samples[0].values[1], 30);
	assert_string_equal(profile__str(p, p->samples[0].thread_name), "main");
	assert_string_equal(profile__str(p, p->samples[0].comm), "python3");

	/* Any difference in the key makes a new sample. */
	assert_int_equal(
		profile__add_sample(p, frames, 2, v1, 1, 3, "main", "python3"),
		0);
	assert_int_equal(
		profile__add_sample(p, frames, 2, v1, 1, 2, "other", "python3"),
		0);
	assert_int_equal(
		profile__add_sample(p, frames, 1, v1, 1, 2, "main", "python3"),
		0);
	assert_int_equal(profile__add_sample(p, NULL, 0, v1, 1, 2, NULL, NULL),
			 0);
	assert_int_equal(p->nr_samples, 5);
	assert_int_equal(p->samples[4].depth, 0);
	assert_int_equal(p->samples[4].thread_name, 0);

	frames[0] = 77;
	assert_int_equal(
		profile__add_sample(p, frames, 2, v1, 1, 2, NULL, NULL),
		-EINVAL);
	profile__free(p);
}

static void test_counters(void **state)
{
	struct profile *p = profile__new();

	assert_int_equal(profile__counter(p, "read_failed", -1), -1);
	assert_int_equal(profile__set_counter(p, "read_failed", 3), 0);
	assert_int_equal(profile__set_counter(p, "truncated", 1), 0);
	assert_int_equal(profile__set_counter(p, "read_failed", 4), 0);
	assert_int_equal(p->nr_counters, 2);
	assert_int_equal(profile__counter(p, "read_failed", -1), 4);
	assert_string_equal(profile__str(p, p->counters[1].name), "truncated");
	profile__free(p);
}

static void test_format_frame(void **state)
{
	struct profile *p = profile__new();
	struct profile_frame f = {
		.kind = FRAME_PYTHON,
		.name = profile__intern(p, "Cls.meth"),
		.file = profile__intern(p, "/a.py"),
		.line = 7,
		.start_line = 3,
	};
	char buf[64];

	profile__format_frame(p, &f, false, buf, sizeof(buf));
	assert_string_equal(buf, "Cls.meth (/a.py:7)");
	profile__format_frame(p, &f, true, buf, sizeof(buf));
	assert_string_equal(buf, "Cls.meth (/a.py:3)");
	f.line = 0;
	profile__format_frame(p, &f, false, buf, sizeof(buf));
	assert_string_equal(buf, "Cls.meth (/a.py:0)");
	f.file = 0;
	profile__format_frame(p, &f, false, buf, sizeof(buf));
	assert_string_equal(buf, "Cls.meth (:0)");
	f.kind = FRAME_KERNEL;
	profile__format_frame(p, &f, false, buf, sizeof(buf));
	assert_string_equal(buf, "Cls.meth_[k]");
	f.kind = FRAME_NATIVE;
	f.file = profile__intern(p, "/lib/x.so");
	profile__format_frame(p, &f, false, buf, sizeof(buf));
	assert_string_equal(buf, "Cls.meth");
	f.name = 0;
	profile__format_frame(p, &f, false, buf, sizeof(buf));
	assert_string_equal(buf, "[unknown]");
	assert_int_equal(profile__format_frame(p, &f, false, NULL, 0), 9);
	profile__free(p);
}

/* Many distinct strings and samples: exercises growth and hashing. */
static void test_many(void **state)
{
	struct profile *p = profile__new();
	struct profile_frame f = {.kind = FRAME_PYTHON};
	int64_t v = 1;
	char name[32];
	uint32_t fr;
	int i;

	profile__add_type(p, "samples", "count");
	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "f%d", i % 5000);
		f.name = profile__intern(p, name);
		fr = profile__add_frame(p, &f);
		assert_int_equal(profile__add_sample(p, &fr, 1, &v, i % 3, 0,
						     NULL, NULL),
				 0);
	}
	assert_int_equal(p->nr_frames, 5000);
	assert_int_equal(p->nr_samples, 15000); /* lcm(5000, 3) */
	profile__free(p);
}

/* A profile of two processes, for the merge tests. */
static struct profile *two_processes(void)
{
	struct profile *p = profile__new();
	struct profile_frame f = {.kind = FRAME_PYTHON, .line = 3};
	uint32_t a, b;
	int64_t v[2];

	assert_int_equal(profile__add_type(p, "samples", "count"), 0);
	assert_int_equal(profile__add_type(p, "cpu", "nanoseconds"), 1);
	p->period = 1000;
	p->time_nanos = 77;
	f.name = profile__intern(p, "a");
	f.file = profile__intern(p, "/a.py");
	a = profile__add_frame(p, &f);
	f.name = profile__intern(p, "b");
	b = profile__add_frame(p, &f);
	v[0] = 2;
	v[1] = 2000;
	assert_int_equal(profile__add_sample(p, (uint32_t[]){a, b}, 2, v, 10,
					     11, "main", "py"),
			 0);
	v[0] = 5;
	v[1] = 5000;
	assert_int_equal(profile__add_sample(p, &b, 1, v, 20, 20, "t", "py"),
			 0);
	assert_int_equal(profile__set_process_label(p, 20, "cgroup", "/cg"), 0);
	return p;
}

/*
 * new_like copies the types and period, not the samples; merge re-interns
 * frames and strings, adds equal samples together, takes one process or
 * all, and refuses other sample types.
 */
static void test_merge(void **state)
{
	struct profile *src = two_processes(), *dst = profile__new_like(src);
	struct profile *other = profile__new();

	assert_non_null(dst);
	assert_int_equal(dst->nr_types, 2);
	assert_int_equal(dst->nr_samples, 0);
	assert_int_equal(dst->period, 1000);
	assert_int_equal(dst->time_nanos, 77);
	assert_int_equal(profile__merge(dst, src, 20), 0);
	assert_int_equal(dst->nr_samples, 1);
	assert_int_equal(dst->samples[0].pid, 20);
	assert_int_equal(dst->samples[0].values[1], 5000);
	assert_string_equal(
		profile__str(dst, dst->frames[dst->samples[0].frames[0]].name),
		"b");
	assert_string_equal(profile__process_label(dst, 20, "cgroup"), "/cg");
	assert_null(profile__process_label(dst, 10, "cgroup"));
	/* All of it, twice over: pid 20's sample doubles, pid 10's once. */
	assert_int_equal(profile__merge(dst, src, -1), 0);
	assert_int_equal(dst->nr_samples, 2);
	assert_int_equal(dst->samples[0].values[0], 10);
	assert_int_equal(dst->samples[1].values[0], 2);
	assert_int_equal(dst->samples[1].depth, 2);
	assert_string_equal(profile__str(dst, dst->samples[1].thread_name),
			    "main");
	assert_int_equal(dst->nr_frames, 2);
	profile__add_type(other, "offcpu", "nanoseconds");
	assert_int_equal(profile__merge(other, src, -1), -EINVAL);
	profile__free(other);
	profile__free(dst);
	profile__free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intern),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_types_and_samples),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_format_frame),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
