/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers shared by the subcommands' argument parsers. */
#ifndef PYSTROBE_CLI_H
#define PYSTROBE_CLI_H

#include <argp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

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

/* -p PID[,PID...] into pids (*nr so far, at most max); an argp error. */
error_t cli__parse_pids(const char *arg, struct argp_state *state, pid_t *pids,
			int *nr, int max);

/* Strict number parsing: the whole string, within [min, max]. */
int cli__parse_long(const char *s, long min, long max, long *out);
int cli__parse_double(const char *s, double min, double max, double *out);
/* A byte count: digits, then optionally K, M or G (binary units). */
int cli__parse_size(const char *s, unsigned long long min,
		    unsigned long long max, unsigned long long *out);

/*
 * Everything after "--" is the command, never our options: sets *cmd (if
 * there is a "--") and returns the number of arguments before it.
 */
int cli__split_command(int argc, char **argv, char ***cmd);

/*
 * Fails before tracing, not after, when the output cannot be written:
 * 0, or -1 after the one-line error. path NULL: stdout, fine.
 */
int cli__check_output(const char *path);

/* Argument after the options that is not after "--": an argp error. */
error_t cli__unexpected_arg(struct argp_state *state, const char *arg);

/* SIGINT/SIGTERM set cli__stop_signal (to the signal) instead of killing. */
extern volatile sig_atomic_t cli__stop_signal;
void cli__catch_stop_signals(void);

/* CLOCK_MONOTONIC (the clock of bpf_ktime_get_ns) in ns. */
int64_t cli__now_ns(void);

/* Root, or the capabilities BPF tracing and reading targets need. */
bool cli__has_privileges(void);
/* The same, as a check: 0, or -1 after the one-line error. */
int cli__check_privileges(void);

#endif
