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

static void test_long_name_elided(void **state)
{
	struct profile *p = profile__new();
	char name[600], *out, *row, *end;
	size_t chars = 0;
	uint32_t fr;
	int64_t v = 1;
	int err, i;

	profile__add_type(p, "samples", "count");
	for (i = 0; i < 150; i++)
		strcpy(name + 3 * i, "函"); /* 3 bytes each */
	fr = frame(p, FRAME_PYTHON, name, "/very/long/path.py", 1, 42);
	profile__add_sample(p, &fr, 1, &v, 1, 1, NULL, NULL);
	out = render(p, 0, 0, &err);
	assert_int_equal(err, 0);
	row = strstr(out, "  函");
	assert_non_null(row);
	row += 2;
	end = strchr(row, '\n');
	assert_non_null(end);
	for (char *c = row; c < end; c++)
		chars += ((unsigned char)*c & 0xc0) != 0x80;
	assert_int_equal(chars, TABLE_NAME_WIDTH);
	assert_non_null(strstr(row, "…"));
	assert_non_null(strstr(row, "/path.py:42)\n"));
	assert_non_null(strstr(out, "lost: none\n"));
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
		cmocka_unit_test(test_long_name_elided),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
