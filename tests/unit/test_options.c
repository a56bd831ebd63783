// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for the shared option groups (user/session/options.c), the
 * number parsers (user/session/cli.c) and the choice of output format
 * (user/output/formats.c): good values land in their fields, and every bad
 * value gets exactly one "pystrobe: error:" line naming what was wrong.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "output/formats.h"
#include "session/cli.h"
#include "session/options.h"

/* A command like record: its own -F, and every group. */
static long freq;

static const struct argp_option own_options[] = {
	{"frequency", 'F', "HZ", 0, "Hz", 0},
	{},
};

static error_t parse_own(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'F':
		if (cli__parse_long(arg, 1, 100000, &freq))
			return cli__arg_error(state, "invalid frequency '%s'",
					      arg);
		return 0;
	case ARGP_KEY_ARG:
		return cli__unexpected_arg(state, arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp_child all_groups[] = {
	{&options__pid_argp, 0, NULL, 1},
	{&options__scope_argp, 0, NULL, 1},
	{&options__output_argp, 0, NULL, 2},
	{},
};

static const struct argp cmd_argp = {own_options, parse_own, NULL, "doc",
				     all_groups};

static struct target_opts targets;
static struct output_opts output;

/* What went to stderr between capture_begin and capture_end. */
static char err_text[1024];
static int capture_fd, saved_fd;

static void capture_begin(void)
{
	fflush(stderr);
	capture_fd = memfd_create("stderr", 0);
	saved_fd = dup(STDERR_FILENO);
	assert_true(capture_fd >= 0 && saved_fd >= 0);
	dup2(capture_fd, STDERR_FILENO);
}

static void capture_end(void)
{
	ssize_t n;

	fflush(stderr);
	dup2(saved_fd, STDERR_FILENO);
	close(saved_fd);
	n = pread(capture_fd, err_text, sizeof(err_text) - 1, 0);
	close(capture_fd);
	err_text[n > 0 ? n : 0] = 0;
}

static int parse(const char *first, ...)
{
	const struct option_groups groups = {&targets, &output};
	char *argv[32] = {"pystrobe test"};
	int argc = 1, status;
	const char *a;
	va_list ap;

	va_start(ap, first);
	for (a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	memset(&targets, 0, sizeof(targets));
	memset(&output, 0, sizeof(output));
	freq = 0;
	capture_begin();
	status = options__parse(&cmd_argp, argc, argv, &groups, NULL);
	capture_end();
	return status;
}

static int check_targets(unsigned int kinds, const char *verb)
{
	int status;

	capture_begin();
	status = options__check_targets(&targets, kinds, verb);
	capture_end();
	return status;
}

/* One line, "pystrobe: error: ", containing want. */
static void assert_one_error(const char *want)
{
	const char *nl = strchr(err_text, '\n');

	assert_non_null(nl);
	assert_string_equal(nl + 1, "");
	assert_int_equal(strncmp(err_text, "pystrobe: error: ", 17), 0);
	if (!strstr(err_text, want))
		fail_msg("error %s lacks '%s'", err_text, want);
}

static void test_good_values(void **state)
{
	assert_int_equal(parse("-p", "12,34", "-d", "2.5", "-F", "999", "-o",
			       "x.folded", "--top", "0", NULL),
			 0);
	assert_string_equal(err_text, "");
	assert_int_equal(targets.nr_pids, 2);
	assert_int_equal(targets.pids[0], 12);
	assert_int_equal(targets.pids[1], 34);
	assert_true(targets.duration == 2.5);
	assert_int_equal(freq, 999);
	assert_string_equal(output.path, "x.folded");
	assert_null(output.format);
	assert_int_equal(output.top, 0);

	assert_int_equal(
		parse("--cgroup", "/sys/fs/cgroup/app", "-f", "pprof", NULL),
		0);
	assert_string_equal(targets.cgroup, "/sys/fs/cgroup/app");
	assert_ptr_equal(output.format, output__find("pprof"));

	assert_int_equal(parse("--all", NULL), 0);
	assert_true(targets.all);
}

/* Everything after "--" is the command, even what looks like our flags. */
static void test_command_after_dashes(void **state)
{
	assert_int_equal(
		parse("-d", "1", "--", "python3", "-p", "-F", "x", NULL), 0);
	assert_non_null(targets.cmd);
	assert_string_equal(targets.cmd[0], "python3");
	assert_string_equal(targets.cmd[1], "-p");
	assert_string_equal(targets.cmd[2], "-F");
	assert_int_equal(targets.nr_pids, 0);
	assert_int_equal(freq, 0);

	assert_int_equal(parse("--", NULL), -1);
	assert_one_error("no command after --");
}

static void test_bad_values(void **state)
{
	static const struct {
		const char *args[4];
		const char *want;
	} cases[] = {
		{{"-p", "abc"}, "invalid PID 'abc'"},
		{{"-p", "12,,x"}, "invalid PID 'x'"},
		{{"-p", "0"}, "invalid PID '0'"},
		{{"-p", "-5"}, "invalid PID '-5'"},
		{{"-p", "99999999999"}, "invalid PID"},
		{{"-p", ","}, "invalid PID list"},
		{{"-d", "0"}, "invalid duration '0'"},
		{{"-d", "-1"}, "invalid duration '-1'"},
		{{"-d", "abc"}, "invalid duration 'abc'"},
		{{"-d", "1e99"}, "invalid duration"},
		{{"-d", "nan"}, "invalid duration"},
		{{"-d", "2s"}, "invalid duration '2s'"},
		{{"-f", "nope"}, "invalid format 'nope' (table, folded, pprof"},
		{{"--top", "-1"}, "invalid row count '-1'"},
		{{"--top", "1x"}, "invalid row count '1x'"},
		{{"-F", "0"}, "invalid frequency '0'"},
		{{"-F", "100001"}, "invalid frequency '100001'"},
		{{"-F", " 5"}, "invalid frequency"},
		{{"--no-such-option"}, "no-such-option"},
		{{"-F"}, "requires an argument"},
		{{"stray"}, "unexpected argument 'stray'"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i].args;

		if (parse(a[0], a[1], a[2], a[3], NULL) != -1)
			fail_msg("%s %s was accepted", a[0], a[1]);
		assert_one_error(cases[i].want);
	}
}

static void test_too_many_pids(void **state)
{
	char list[OPTIONS_MAX_PIDS * 8] = "1";

	for (int i = 2; i <= OPTIONS_MAX_PIDS + 1; i++)
		sprintf(list + strlen(list), ",%d", i);
	assert_int_equal(parse("-p", list, NULL), -1);
	assert_one_error("at most 64 PIDs");
}

/* One kind of target, and one the command takes. */
static void test_check_targets(void **state)
{
	const unsigned record = TARGET_PIDS | TARGET_SCOPE | TARGET_COMMAND;
	const unsigned calls = TARGET_PIDS | TARGET_COMMAND;

	assert_int_equal(parse("-p", "1", NULL), 0);
	assert_int_equal(check_targets(record, "profile"), 0);
	assert_string_equal(err_text, "");

	assert_int_equal(parse("-d", "1", NULL), 0);
	assert_int_equal(check_targets(record, "profile"), -1);
	assert_one_error("nothing to profile: give -p PID, --cgroup PATH, "
			 "--all or -- COMMAND");
	assert_int_equal(check_targets(calls, "trace"), -1);
	assert_one_error("nothing to trace: give -p PID or -- COMMAND");

	assert_int_equal(parse("-p", "1", "--all", NULL), 0);
	assert_int_equal(check_targets(record, "profile"), -1);
	assert_one_error("give one of -p PID, --cgroup PATH, --all or -- "
			 "COMMAND");
	assert_int_equal(parse("-p", "1", "--", "true", NULL), 0);
	assert_int_equal(check_targets(calls, "trace"), -1);
	assert_one_error("give one of -p PID or -- COMMAND");

	assert_int_equal(parse("--cgroup", "/x", NULL), 0);
	assert_int_equal(check_targets(calls, "trace"), -1);
	assert_one_error("this command takes -p PID or -- COMMAND");
	assert_int_equal(check_targets(record, "profile"), 0);
}

/* -f wins; else the longest matching -o suffix; else table. */
static void test_format_choice(void **state)
{
	static const struct {
		const char *path, *format;
	} cases[] = {
		{"cpu.pb.gz", "pprof"},	    {"cpu.pprof", "pprof"},
		{"out.folded", "folded"},   {"calls.json", "json"},
		{"t.trace.json", "chrome"}, {"profile.txt", "table"},
		{"noextension", "table"},   {".folded", "table"},
		{"dir.folded/x", "table"},
	};
	char why[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(output__for_path(cases[i].path)->name,
				    cases[i].format);
	assert_ptr_equal(output__choose(output__find("folded"), "x.pb.gz",
					RESULT_SAMPLES, why, sizeof(why)),
			 output__find("folded"));
	assert_ptr_equal(output__choose(NULL, "x.pb.gz", RESULT_SAMPLES, why,
					sizeof(why)),
			 output__find("pprof"));
	assert_ptr_equal(
		output__choose(NULL, NULL, RESULT_CALLS, why, sizeof(why)),
		output__find("table"));
	/* A binary format needs a file. */
	assert_null(output__choose(output__find("pprof"), NULL, RESULT_SAMPLES,
				   why, sizeof(why)));
	assert_string_equal(why, "-f pprof needs -o FILE");
	/* A format of another kind, named or by extension. */
	assert_null(output__choose(output__find("chrome"), "x", RESULT_SAMPLES,
				   why, sizeof(why)));
	assert_non_null(strstr(why, "chrome is not a format for sampled"));
	assert_null(output__choose(NULL, "t.trace.json", RESULT_SAMPLES, why,
				   sizeof(why)));
	assert_non_null(strstr(why, "from the -o extension"));
}

static void test_number_parsers(void **state)
{
	long l;
	double d;

	assert_int_equal(cli__parse_long("42", 0, 100, &l), 0);
	assert_int_equal(l, 42);
	assert_int_equal(cli__parse_long("101", 0, 100, &l), -EINVAL);
	assert_int_equal(cli__parse_long("", 0, 100, &l), -EINVAL);
	assert_int_equal(cli__parse_long("4 2", 0, 100, &l), -EINVAL);
	assert_int_equal(cli__parse_long("0x10", 0, 100, &l), -EINVAL);
	assert_int_equal(cli__parse_double("0.25", 0, 1, &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(cli__parse_double("inf", 0, 1e300, &d), -EINVAL);
	assert_int_equal(cli__parse_double("1.5", 0, 1, &d), -EINVAL);
	assert_int_equal(cli__parse_long(" 5", 0, 100, &l), -EINVAL);
	assert_int_equal(cli__parse_long("5 ", 0, 100, &l), -EINVAL);
	assert_int_equal(cli__parse_double("\t1", 0, 10, &d), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_values),
		cmocka_unit_test(test_command_after_dashes),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_too_many_pids),
		cmocka_unit_test(test_check_targets),
		cmocka_unit_test(test_format_choice),
		cmocka_unit_test(test_number_parsers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
