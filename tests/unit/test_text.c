// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for user/output/text.c: path forms, fitting a function's text
 * to a width without cutting its name, one unit per value, and the width of
 * a real terminal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "output/text.h"
#include "tty.h"

static void test_short_path(void **state)
{
	static const char *const cases[][2] = {
		{"/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/"
		 "_distutils_hack/__init__.py",
		 "site-packages/_distutils_hack/__init__.py"},
		{"/usr/lib/python3/dist-packages/apt/cache.py",
		 "dist-packages/apt/cache.py"},
		/* A venv inside a package: the last one is where it lives. */
		{"/a/site-packages/x/site-packages/y.py", "site-packages/y.py"},
		{"/usr/lib/python3.11/json/decoder.py",
		 "<stdlib>/json/decoder.py"},
		{"/root/.pyenv/versions/3.9.18/lib/python3.9/threading.py",
		 "<stdlib>/threading.py"},
		{"/usr/lib64/python3.12/os.py", "<stdlib>/os.py"},
		{"/usr/lib/pythonista/app.py", "/usr/lib/pythonista/app.py"},
		{"/srv/app/main.py", "/srv/app/main.py"},
		{"<frozen importlib._bootstrap>",
		 "<frozen importlib._bootstrap>"},
		{"", ""},
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(
			text__short_path(cases[i][0], buf, sizeof(buf)),
			cases[i][1]);
	/* Bounded by the buffer, always terminated. */
	assert_string_equal(text__short_path("/srv/app/main.py", buf, 5),
			    "/srv");
}

/* The row: the name whole, the path as site-packages/... */
static const char long_name[] =
	"DistutilsMetaFinder.spec_for_distutils.<locals>.DistutilsLoader."
	"exec_module";
static const char long_path[] =
	"/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/"
	"_distutils_hack/__init__.py";

static void test_function_fits(void **state)
{
	char buf[1024];
	size_t cols;

	/* Unlimited: only the package form. */
	cols = text__function(buf, sizeof(buf), long_name, long_path, 120, 0);
	assert_string_equal(buf, "DistutilsMetaFinder.spec_for_distutils."
				 "<locals>.DistutilsLoader.exec_module "
				 "(site-packages/_distutils_hack/__init__.py:"
				 "120)");
	assert_int_equal(cols, strlen(buf));
	/* Narrower: cut from the left at a directory, name whole. */
	cols = text__function(buf, sizeof(buf), long_name, long_path, 120, 111);
	assert_string_equal(buf, "DistutilsMetaFinder.spec_for_distutils."
				 "<locals>.DistutilsLoader.exec_module "
				 "(…/_distutils_hack/__init__.py:120)");
	assert_int_equal(cols, 111);
	assert_int_equal(cols, text__columns(buf));
	/* Narrower still: the file name alone; the name still whole. */
	text__function(buf, sizeof(buf), long_name, long_path, 120, 100);
	assert_string_equal(buf, "DistutilsMetaFinder.spec_for_distutils."
				 "<locals>.DistutilsLoader.exec_module "
				 "(…/__init__.py:120)");
	text__function(buf, sizeof(buf), long_name, long_path, 120, 10);
	assert_string_equal(buf, "DistutilsMetaFinder.spec_for_distutils."
				 "<locals>.DistutilsLoader.exec_module "
				 "(….py:120)");
	/* The file name itself gives way from the left when it must. */
	cols = text__function(buf, sizeof(buf), "handle_request",
			      "/srv/scripts/demo_workload.py", 28, 33);
	assert_string_equal(buf, "handle_request (…_workload.py:28)");
	assert_int_equal(cols, 33);
	/* Fits: unchanged; no path: the name; no line: no colon. */
	text__function(buf, sizeof(buf), "f", "/srv/a.py", 3, 80);
	assert_string_equal(buf, "f (/srv/a.py:3)");
	text__function(buf, sizeof(buf), "f", "", 3, 80);
	assert_string_equal(buf, "f");
	text__function(buf, sizeof(buf), "f", "/srv/a.py", -1, 0);
	assert_string_equal(buf, "f (/srv/a.py)");
	/* A hostile name cannot break the row. */
	text__function(buf, sizeof(buf), "a\nb\tc\x7f", "/x\r.py", 1, 0);
	assert_string_equal(buf, "a?b?c? (/x?.py:1)");
	/* Multi-byte names count as one column per code point. */
	cols = text__function(buf, sizeof(buf), "函数", "/srv/a.py", 3, 0);
	assert_int_equal(cols, 2 + strlen(" (/srv/a.py:3)"));
}

static void test_frame(void **state)
{
	struct profile *p = profile__new();
	struct profile_frame f = {
		.kind = FRAME_NATIVE,
		.name = profile__intern(p, "memcpy"),
		.file = profile__intern(p, "/lib/x86_64-linux-gnu/libc.so.6"),
	};
	char buf[256];

	text__frame(buf, sizeof(buf), p, &f, 0);
	assert_string_equal(buf, "memcpy [libc.so.6]");
	f.kind = FRAME_KERNEL;
	text__frame(buf, sizeof(buf), p, &f, 0);
	assert_string_equal(buf, "memcpy_[k]");
	f = (struct profile_frame){
		.kind = FRAME_PYTHON,
		.name = profile__intern(p, "loads"),
		.file = profile__intern(p, "/usr/lib/python3.13/json/"
					   "__init__.py"),
		.line = 346,
		.start_line = 299,
	};
	text__frame(buf, sizeof(buf), p, &f, 0);
	assert_string_equal(buf, "loads (<stdlib>/json/__init__.py:299)");
	f.name = 0;
	f.kind = FRAME_MARKER;
	text__frame(buf, sizeof(buf), p, &f, 0);
	assert_string_equal(buf, "[unknown]");
	profile__free(p);
}

static void test_units(void **state)
{
	static const struct {
		double ns;
		const char *text;
	} times[] = {
		{0, "0"},
		{1, "1 ns"},
		{999, "999 ns"},
		{1000, "1.00 µs"},
		{1500, "1.50 µs"},
		{15349, "15.3 µs"},
		{99960, "100 µs"},
		{999499, "999 µs"},
		{999500, "1.00 ms"},
		/* The 3-second mean: 3019628.94 µs. */
		{3019628940.0, "3.02 s"},
		{4000e9, "4000 s"},
		{-2500000, "-2.50 ms"},
	};
	static const struct {
		double bytes;
		const char *text;
	} sizes[] = {
		{512, "512 B"},		{999, "999 B"},
		{1023, "1.00 KiB"},	{1536, "1.50 KiB"},
		{10 << 20, "10.0 MiB"}, {3ULL << 30, "3.00 GiB"},
	};
	char buf[TEXT_VALUE_LEN];

	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		assert_string_equal(text__ns(buf, times[i].ns), times[i].text);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		assert_string_equal(text__bytes(buf, sizes[i].bytes),
				    sizes[i].text);
	assert_string_equal(text__value(buf, 1234567, "count"), "1234567");
	assert_string_equal(text__value(buf, 1234567, "nanoseconds"),
			    "1.23 ms");
	assert_string_equal(text__value(buf, 2048, "bytes"), "2.00 KiB");
}

static int right(FILE *out, void *arg)
{
	fprintf(out, "[");
	text__right(out, "15.3 µs", 9);
	fprintf(out, "]\n%d\n", text__width(out));
	return 0;
}

static void test_terminal(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	/* Not a terminal: unlimited. */
	assert_int_equal(text__width(f), 0);
	right(f, NULL);
	fclose(f);
	/* Padded by columns, not bytes ("µ" is two bytes). */
	assert_string_equal(buf, "[  15.3 µs]\n0\n");
	free(buf);
	buf = tty_render(97, right, NULL, &err);
	assert_string_equal(buf, "[  15.3 µs]\n97\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_path),
		cmocka_unit_test(test_function_fits),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_terminal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
