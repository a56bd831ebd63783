// SPDX-License-Identifier: BSD-2-Clause
/* pystrobe: a kernel-assisted profiler for Python. Subcommands as in perf. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "session/cli.h"
#include "commands/commands.h"

const char *argp_program_version = "pystrobe 0.1";

struct command {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
	{"record", record_main,
	 "sample Python processes (-p PID, or -- COMMAND)"},
	{"report", report_main, "render a saved profile"},
	{"calls", calls_main,
	 "trace every Python call: counts, time, CPU vs off-CPU"},
	{"scale", scale_main,
	 "run a command at several sizes: how each function's time grows"},
	{"memory", memory_main,
	 "sample allocations: sites, in use, peak, leaks, temporaries"},
	{"diff", diff_main, "compare two saved profiles per function"},
	{"top", top_main, "a live view in the terminal (-p PID, or a scope)"},
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_usage(FILE *out)
{
	fputs("usage: pystrobe COMMAND [OPTIONS]\n\n", out);
	for (size_t i = 0; i < NR_COMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
	fputs("\nSee 'pystrobe COMMAND --help'.\n", out);
}

static int silent_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	/* libbpf's own warnings would break the one-line error contract. */
	if (level == LIBBPF_WARN && getenv("PYSTROBE_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

int main(int argc, char **argv)
{
	static char prog[64];
	char names[128] = "";

	libbpf_set_print(silent_print);
	if (argc < 2) {
		print_usage(stderr);
		return 1;
	}
	for (size_t i = 0; i < NR_COMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		/* argv[0] of a subcommand names it in usage text. */
		snprintf(prog, sizeof(prog), "pystrobe %s", commands[i].name);
		argv[1] = prog;
		return commands[i].main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		puts(argp_program_version);
		return 0;
	}
	for (size_t i = 0; i < NR_COMMANDS; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names),
			 "%s%s", i ? ", " : "", commands[i].name);
	cli__error("unknown command '%s' (%s)", argv[1], names);
	return 1;
}
