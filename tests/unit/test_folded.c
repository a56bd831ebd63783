// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the folded-stack writer (user/output/folded.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "profile_fixture.h"

#include "output/folded.h"

#define DEEP 200

static void add(struct profile *p, const uint32_t *frames, uint32_t depth,
		int64_t samples, int64_t cpu, int64_t pid, int64_t tid,
		const char *thread)
{
	int64_t v[] = {samples, cpu};

	assert_int_equal(profile__add_sample(p, frames, depth, v, pid, tid,
					     thread, "python3"),
			 0);
}

/*
 * Two processes, three threads; Python, native, kernel and marker frames;
 * unicode names; a 200-frame recursion; a cpu value of 0.
 */
static struct profile *fixture(void)
{
	struct profile *p = profile__new();
	uint32_t main_, work, uni, native, kern, trunc, rec, odd;
	uint32_t deep[DEEP];
	int i;

	assert_non_null(p);
	profile__add_type(p, "samples", "count");
	profile__add_type(p, "cpu", "microseconds");
	main_ = frame(p, FRAME_PYTHON, "main", "/app/main.py", 10, 1);
	work = frame(p, FRAME_PYTHON, "work", "/app/main.py", 20, 15);
	uni = frame(p, FRAME_PYTHON, "naïve_函数", "/app/ünï.py", 3, 1);
	native = frame(p, FRAME_NATIVE, "PyObject_Call",
		       "/usr/lib/libpython3.12.so.1.0", 0, 0);
	kern = frame(p, FRAME_KERNEL, "do_syscall_64", NULL, 0, 0);
	trunc = frame(p, FRAME_MARKER, "[truncated]", NULL, 0, 0);
	rec = frame(p, FRAME_PYTHON, "rec", "/app/deep.py", 5, 4);
	odd = frame(p, FRAME_PYTHON, "a;b\nc", "/x.py", 1, 1);

	add(p, (uint32_t[]){work, main_}, 2, 3, 300, 100, 100, "MainThread");
	add(p, (uint32_t[]){work, main_}, 2, 2, 200, 100, 101, "worker");
	add(p, (uint32_t[]){kern, native, uni, main_}, 4, 1, 100, 100, 101,
	    "worker");
	add(p, (uint32_t[]){work, trunc}, 2, 4, 0, 200, 200, "MainThread");
	add(p, (uint32_t[]){work, main_}, 2, 1, 100, 100, 100, "MainThread");
	add(p, (uint32_t[]){odd}, 1, 0, 5, 200, 200, "MainThread");
	for (i = 0; i < DEEP; i++)
		deep[i] = rec;
	add(p, deep, DEEP, 7, 700, 200, 201, "deep");
	return p;
}

/* Runs folded__write into a string (caller frees). */
static char *render_threads(const struct profile *p, int value_index,
			    bool threads, int *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*err = folded__write(p, f, value_index, threads);
	fclose(f);
	return buf;
}

static char *render(const struct profile *p, int value_index, int *err)
{
	return render_threads(p, value_index, false, err);
}

static char *deep_line(const char *value)
{
	static const char frame[] = "rec (/app/deep.py:5)";
	char *s = calloc(DEEP, sizeof(frame) + 1);
	int i;

	for (i = 0; i < DEEP; i++) {
		strcat(s, frame);
		strcat(s, i == DEEP - 1 ? " " : ";");
	}
	strcat(s, value);
	strcat(s, "\n");
	return s;
}

static void test_samples(void **state)
{
	struct profile *p = fixture();
	char *out, *deep = deep_line("7"), expected[8192];
	int err;

	snprintf(expected, sizeof(expected),
		 "[truncated];work (/app/main.py:20) 4\n"
		 "main (/app/main.py:10);naïve_函数 (/app/ünï.py:3);"
		 "PyObject_Call;do_syscall_64_[k] 1\n"
		 "main (/app/main.py:10);work (/app/main.py:20) 6\n"
		 "%s",
		 deep);
	out = render(p, 0, &err);
	assert_int_equal(err, 0);
	assert_string_equal(out, expected);
	free(out);
	free(deep);
	profile__free(p);
}

static void test_cpu_skips_zero(void **state)
{
	struct profile *p = fixture();
	char *out, *deep = deep_line("700"), expected[8192];
	int err;

	snprintf(expected, sizeof(expected),
		 "a:b c (/x.py:1) 5\n"
		 "main (/app/main.py:10);naïve_函数 (/app/ünï.py:3);"
		 "PyObject_Call;do_syscall_64_[k] 100\n"
		 "main (/app/main.py:10);work (/app/main.py:20) 600\n"
		 "%s",
		 deep);
	out = render(p, 1, &err);
	assert_int_equal(err, 0);
	assert_string_equal(out, expected);
	free(out);
	free(deep);
	profile__free(p);
}

/* Nanoseconds are written as rounded microseconds; zero lines are left out. */
static void test_nanoseconds_in_us(void **state)
{
	struct profile *p = profile__new();
	struct profile_frame f = {.kind = FRAME_MARKER};
	int64_t v[1];
	uint32_t fr[1];
	char *out;
	int err;

	assert_non_null(p);
	assert_int_equal(profile__add_type(p, "offcpu", "nanoseconds"), 0);
	const char *names[] = {"a", "b", "c"};
	const int64_t ns[] = {1499, 2500, 400};

	for (int i = 0; i < 3; i++) {
		f.name = profile__intern(p, names[i]);
		fr[0] = profile__add_frame(p, &f);
		v[0] = ns[i];
		assert_int_equal(
			profile__add_sample(p, fr, 1, v, 1, 1, NULL, NULL), 0);
	}
	out = render(p, 0, &err);
	assert_int_equal(err, 0);
	assert_string_equal(out, "a 1\nb 3\n");
	free(out);
	profile__free(p);
}

static void test_threads(void **state)
{
	struct profile *p = fixture();
	char *out, *deep = deep_line("7"), expected[8192];
	int err;

	snprintf(
		expected, sizeof(expected),
		"[thread MainThread tid=100];main (/app/main.py:10);"
		"work (/app/main.py:20) 4\n"
		"[thread MainThread tid=200];[truncated];"
		"work (/app/main.py:20) 4\n"
		"[thread deep tid=201];%s"
		"[thread python3 tid=7];[unknown] 1\n"
		"[thread worker tid=101];main (/app/main.py:10);"
		"naïve_函数 (/app/ünï.py:3);PyObject_Call;do_syscall_64_[k] 1\n"
		"[thread worker tid=101];main (/app/main.py:10);"
		"work (/app/main.py:20) 2\n",
		deep);
	add(p, NULL, 0, 1, 1, 7, 7, NULL); /* no name: the comm stands in */
	out = render_threads(p, 0, true, &err);
	assert_int_equal(err, 0);
	assert_string_equal(out, expected);
	free(out);
	free(deep);
	profile__free(p);
}

static void test_empty_and_errors(void **state)
{
	struct profile *p = profile__new();
	int64_t v = 2;
	char *out;
	int err;

	out = render(p, 0, &err);
	assert_int_equal(err, -EINVAL);
	free(out);
	profile__add_type(p, "samples", "count");
	out = render(p, 0, &err);
	assert_int_equal(err, 0);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(profile__add_sample(p, NULL, 0, &v, 1, 1, NULL, NULL),
			 0);
	out = render(p, 0, &err);
	assert_int_equal(err, 0);
	assert_string_equal(out, "[unknown] 2\n");
	free(out);
	out = render(p, 1, &err);
	assert_int_equal(err, -EINVAL);
	free(out);
	out = render(p, -1, &err);
	assert_int_equal(err, -EINVAL);
	free(out);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_cpu_skips_zero),
		cmocka_unit_test(test_nanoseconds_in_us),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_empty_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
