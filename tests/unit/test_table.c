// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for the top-functions table (user/output/table.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "profile_fixture.h"

#include "output/table.h"
#include "output/wall_table.h"
#include "tty.h"

static char *render_wall(const struct profile *p, int *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*err = wall_table__write(p, f, 0);
	fclose(f);
	return buf;
}

static char *render(const struct profile *p, int value_index, int max_rows,
		    int *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*err = table__write(p, f, value_index, max_rows);
	fclose(f);
	return buf;
}

/*
 * fib recurses (two lines of one function on one stack) and must count once
 * per sample in total; main never is a leaf.
 */
static struct profile *fixture(void)
{
	struct profile *p = profile__new();
	uint32_t main_, fib10, fib11, memcpy_;
	int64_t v;

	profile__add_type(p, "samples", "count");
	main_ = frame(p, FRAME_PYTHON, "main", "/m.py", 5, 1);
	fib10 = frame(p, FRAME_PYTHON, "fib", "/m.py", 10, 9);
	fib11 = frame(p, FRAME_PYTHON, "fib", "/m.py", 11, 9);
	memcpy_ = frame(p, FRAME_NATIVE, "memcpy", "/lib/libc.so.6", 0, 0);
	v = 6;
	profile__add_sample(p, (uint32_t[]){fib10, fib11, fib11, main_}, 4, &v,
			    1, 1, "MainThread", "python3");
	v = 2;
	profile__add_sample(p, (uint32_t[]){fib11, main_}, 2, &v, 1, 2,
			    "worker", "python3");
	profile__add_sample(p, (uint32_t[]){memcpy_, fib10, main_}, 3, &v, 2, 3,
			    "MainThread", "python3");
	v = 0;
	profile__add_sample(p, (uint32_t[]){main_}, 1, &v, 3, 4, NULL, NULL);
	profile__set_counter(p, "read_failed", 3);
	profile__set_counter(p, "truncated", 1);
	return p;
}

static void test_percentages(void **state)
{
	struct profile *p = fixture();
	int err;
	char *out = render(p, 0, 0, &err);

	assert_int_equal(err, 0);
	assert_string_equal(
		out,
		"total: 10 samples (count) from 3 threads in 2 processes\n"
		"  SELF%  TOTAL%         SELF        TOTAL  FUNCTION\n"
		" 80.00% 100.00%            8           10  fib (/m.py:9)\n"
		" 20.00%  20.00%            2            2  memcpy "
		"[libc.so.6]\n"
		"  0.00% 100.00%            0           10  main (/m.py:1)\n"
		"lost: read_failed=3 truncated=1\n");
	free(out);
	profile__free(p);
}

static void test_max_rows(void **state)
{
	struct profile *p = fixture();
	int err;
	char *out = render(p, 0, 1, &err);

	assert_int_equal(err, 0);
	assert_non_null(strstr(out, "fib (/m.py:9)\n(2 more functions)\n"));
	assert_null(strstr(out, "memcpy"));
	free(out);
	profile__free(p);
}

static const char long_name[] =
	"DistutilsMetaFinder.spec_for_distutils.<locals>.DistutilsLoader."
	"exec_module";

/* One long-named function in site-packages, one in the standard library,
 * with CPU time in nanoseconds. */
static struct profile *long_fixture(void)
{
	struct profile *p = profile__new();
	uint32_t a, b;
	int64_t v[2];

	profile__add_type(p, "samples", "count");
	profile__add_type(p, "cpu", "nanoseconds");
	a = frame(p, FRAME_PYTHON, long_name,
		  "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/"
		  "_distutils_hack/__init__.py",
		  121, 120);
	b = frame(p, FRAME_PYTHON, "loads",
		  "/usr/lib/python3.11/json/__init__.py", 346, 299);
	v[0] = 302;
	v[1] = 3019628940; /* 3.02 s */
	profile__add_sample(p, (uint32_t[]){a, b}, 2, v, 1, 1, NULL, NULL);
	v[0] = 1;
	v[1] = 999500; /* 1.00 ms */
	profile__add_sample(p, &b, 1, v, 1, 1, NULL, NULL);
	return p;
}

static int write_cpu(FILE *out, void *p)
{
	return table__write(p, out, 1, 0);
}

/* In a file: full width; the name whole, the package form of the path, and
 * times in their own unit per value. */
static void test_full_width(void **state)
{
	struct profile *p = long_fixture();
	int err;
	char *out = render(p, 1, 0, &err);

	assert_int_equal(err, 0);
	assert_string_equal(
		out, "total: 3.02 s cpu from 1 thread in 1 process\n"
		     "  SELF%  TOTAL%         SELF        TOTAL  FUNCTION\n"
		     " 99.97%  99.97%       3.02 s       3.02 s  "
		     "DistutilsMetaFinder.spec_for_distutils.<locals>."
		     "DistutilsLoader.exec_module "
		     "(site-packages/_distutils_hack/__init__.py:120)\n"
		     "  0.03% 100.00%      1.00 ms       3.02 s  "
		     "loads (<stdlib>/json/__init__.py:299)\n"
		     "lost: none\n");
	free(out);
	profile__free(p);
}

/* In a terminal: every row fits its width, the path giving way from the
 * left; a name longer than the row is still whole. */
static void test_terminal_width(void **state)
{
	struct profile *p = long_fixture();
	char *out;
	int err;

	out = tty_render(140, write_cpu, p, &err);
	assert_int_equal(err, 0);
	assert_true(widest_line(out) <= 140);
	assert_non_null(strstr(out, long_name));
	assert_non_null(strstr(out, " (…/__init__.py:120)\n"));
	assert_non_null(strstr(out, "  loads (<stdlib>/json/__init__.py:299)"));
	free(out);
	out = tty_render(60, write_cpu, p, &err);
	assert_int_equal(err, 0);
	assert_non_null(strstr(out, long_name));
	assert_non_null(strstr(out, " (….py:120)\n"));
	assert_non_null(strstr(out, "  loads (__init__.py:299)\n"));
	free(out);
	profile__free(p);
}

/* The lost: line breaks between counters in a terminal, under its first
 * counter; in a file it stays one line. */
static void test_lost_wraps(void **state)
{
	struct profile *p = long_fixture();
	char *out, *lost;
	int err;

	profile__set_counter(p, "sample_map_full", 0);
	profile__set_counter(p, "frame_read_failed", 12);
	profile__set_counter(p, "offcpu_switch_out_missed", 3);
	profile__set_counter(p, "unresolved_frames", 0);
	out = tty_render(60, write_cpu, p, &err);
	assert_int_equal(err, 0);
	lost = strstr(out, "lost:");
	assert_non_null(lost);
	assert_true(widest_line(lost) <= 60);
	assert_string_equal(lost,
			    "lost: sample_map_full=0 frame_read_failed=12\n"
			    "      offcpu_switch_out_missed=3 "
			    "unresolved_frames=0\n");
	free(out);
	out = render(p, 1, 0, &err);
	assert_non_null(strstr(out,
			       "lost: sample_map_full=0 frame_read_failed=12 "
			       "offcpu_switch_out_missed=3 "
			       "unresolved_frames=0\n"));
	free(out);
	profile__free(p);
}

static int write_wall(FILE *out, void *p)
{
	return wall_table__write(p, out, 0);
}

/* The wall table: times scaled per value, one column per reason that had
 * time (sleep here; lock, gil, ... had none), rows fitted like the other. */
static void test_wall(void **state)
{
	struct profile *p = profile__new();
	uint32_t work, nap, sleep_;
	int64_t v[3] = {};
	char *out;
	int err;

	profile__add_type(p, "cpu", "nanoseconds");
	profile__add_type(p, "offcpu", "nanoseconds");
	profile__add_type(p, "wall", "nanoseconds");
	work = frame(p, FRAME_PYTHON, "work", "/srv/app/jobs.py", 12, 10);
	nap = frame(p, FRAME_PYTHON, long_name,
		    "/usr/lib/python3.11/site-packages/_distutils_hack/"
		    "__init__.py",
		    121, 120);
	sleep_ = frame(p, FRAME_MARKER, "[off-cpu: sleep]", "", 0, 0);
	v[0] = v[2] = 2500000000; /* 2.50 s on the CPU */
	profile__add_sample(p, &work, 1, v, 1, 1, NULL, NULL);
	v[0] = 0;
	v[1] = v[2] = 7500000; /* 7.50 ms asleep */
	profile__add_sample(p, (uint32_t[]){sleep_, nap, work}, 3, v, 1, 1,
			    NULL, NULL);
	out = render_wall(p, &err);
	assert_int_equal(err, 0);
	assert_string_equal(
		out,
		"wall 2.51 s = cpu 2.50 s + off-cpu 7.50 ms (sleep 7.50 ms)\n"
		"    TOTAL     SELF      CPU    sleep  FUNCTION\n"
		"   2.51 s   2.50 s   2.50 s        0  work "
		"(/srv/app/jobs.py:10)\n"
		"  7.50 ms  7.50 ms        0  7.50 ms  "
		"DistutilsMetaFinder.spec_for_distutils.<locals>."
		"DistutilsLoader.exec_module "
		"(site-packages/_distutils_hack/__init__.py:120)\n");
	free(out);
	out = tty_render(140, write_wall, p, &err);
	assert_int_equal(err, 0);
	assert_true(widest_line(out) <= 140);
	assert_non_null(strstr(out, long_name));
	assert_non_null(strstr(out, " (…/__init__.py:120)\n"));
	free(out);
	profile__free(p);
}

static void test_errors(void **state)
{
	struct profile *p = profile__new();
	int err;
	char *out = render(p, 0, 0, &err);

	assert_int_equal(err, -EINVAL);
	free(out);
	profile__add_type(p, "samples", "count");
	out = render(p, 0, 0, &err);
	assert_int_equal(err, 0);
	assert_non_null(strstr(out, "total: 0 samples (count) from 0 threads"));
	free(out);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentages),
		cmocka_unit_test(test_max_rows),
		cmocka_unit_test(test_full_width),
		cmocka_unit_test(test_terminal_width),
		cmocka_unit_test(test_lost_wraps),
		cmocka_unit_test(test_wall),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
