/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers shared by the subcommands' argument parsers. */
#ifndef PYSTROBE_CLI_H
#define PYSTROBE_CLI_H

#include <argp.h>
#include <stdbool.h>

/* Every error goes out as exactly this one line, then exit status 1. */
void cli__error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * argp_parse with argp's own error text captured and reprinted by
 * cli__error as one line. Returns 0, or -1 after printing the error.
 * Parsers report bad values with argp_error() and then return EINVAL.
 */
int cli__parse(const struct argp *argp, int argc, char **argv, void *input);
/* argp_error that returns EINVAL, for a parser to return. */
error_t cli__arg_error(struct argp_state *state, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Strict number parsing: the whole string, within [min, max]. */
int cli__parse_long(const char *s, long min, long max, long *out);
int cli__parse_double(const char *s, double min, double max, double *out);

/* Root, or the capabilities BPF tracing and reading targets need. */
bool cli__has_privileges(void);

enum output_format {
	FORMAT_TABLE,
	FORMAT_FOLDED,
	FORMAT_PPROF,
};
int cli__parse_format(const char *s, enum output_format *out);

#endif
