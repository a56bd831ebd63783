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

static const char usage[] =
	"usage: pystrobe COMMAND [OPTIONS]\n"
	"\n"
	"  record   sample Python processes (-p PID, or -- COMMAND)\n"
	"  report   render a saved profile\n"
	"  calls    trace every Python call: counts, time, CPU vs off-CPU\n"
	"\n"
	"See 'pystrobe COMMAND --help'.\n";

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
	libbpf_set_print(silent_print);
	if (argc < 2) {
		fputs(usage, stderr);
		return 1;
	}
	/* argv[0] of a subcommand names it in usage text: "pystrobe record". */
	if (strcmp(argv[1], "record") == 0) {
		argv[1] = "pystrobe record";
		return record_main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "report") == 0) {
		argv[1] = "pystrobe report";
		return report_main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "calls") == 0) {
		argv[1] = "pystrobe calls";
		return calls_main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		puts(argp_program_version);
		return 0;
	}
	cli__error("unknown command '%s' (record, report, calls)", argv[1]);
	return 1;
}
