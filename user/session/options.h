/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The option groups every command shares, as argp children, so that a
 * command declares only its own options:
 *
 *   options__pid_argp     -p PID[,PID...]  -d SECONDS      (what, how long)
 *                         --interval SECONDS (the resource timeline's step)
 *   options__scope_argp   --cgroup PATH    --all           (a whole scope)
 *   options__output_argp  -o FILE  -f FORMAT  --top N      (where, how)
 *   options__push_argp    --push URL --app NAME [--push-interval S]
 *                         (each interval's profile to a Pyroscope server)
 *   options__findings_argp  --findings  (only the findings; an output option)
 *
 * plus "-- COMMAND ARGS..." (options__parse splits it off first, so nothing
 * after "--" is ever taken for an option). A command lists the groups it
 * takes among its argp children and hands their inputs to
 * options__parse, which wires them up.
 */
#ifndef PYSTROBE_OPTIONS_H
#define PYSTROBE_OPTIONS_H

#include <argp.h>
#include <stdbool.h>
#include <sys/types.h>
#include "output/formats.h"

#define OPTIONS_MAX_PIDS 64

/* What a command can be pointed at. */
enum target_kind {
	TARGET_PIDS = 1,    /* -p */
	TARGET_SCOPE = 2,   /* --cgroup, --all */
	TARGET_COMMAND = 4, /* -- COMMAND */
};

struct target_opts {
	pid_t pids[OPTIONS_MAX_PIDS];
	int nr_pids;
	const char *cgroup; /* --cgroup PATH */
	bool all;	    /* --all */
	char **cmd;	    /* after "--"; NULL: none */
	double duration;    /* -d, seconds; 0: until stopped */
	double interval;    /* --interval, seconds; 0: the default (1) */
};

struct output_format;

struct output_opts {
	const char *path;		    /* -o; NULL: stdout */
	const struct output_format *format; /* -f; NULL: chosen by -o */
	long top;			    /* --top; rows of a table, 0: all */
	bool findings_only;		    /* --findings: only the findings */
};

/* Defaults a command starts from. */
#define OUTPUT_OPTS_DEFAULT                                                    \
	{                                                                      \
		.top = 40                                                      \
	}

/* Pushing while recording (output/push.h); url NULL: not pushing. */
struct push_cli {
	const char *url; /* --push */
	const char *app; /* --app */
	double interval; /* --push-interval, seconds */
};

#define PUSH_CLI_DEFAULT                                                       \
	{                                                                      \
		.interval = 10                                                 \
	}

extern const struct argp options__pid_argp;
extern const struct argp options__scope_argp;
extern const struct argp options__output_argp;
extern const struct argp options__push_argp;
extern const struct argp options__findings_argp;

/* Inputs of the groups a command takes; NULL for a group it does not. */
struct option_groups {
	struct target_opts *targets; /* pid and scope groups, and "--" */
	struct output_opts *output;
	struct push_cli *push;
};

/*
 * Parses argv (argv[0] names the command) with argp, whose children are
 * (some of) the groups above in the order pid, scope, output, findings,
 * push. Splits off
 * "-- COMMAND" into groups->targets->cmd first. Returns 0, or -1 after
 * printing the one-line error.
 */
int options__parse(const struct argp *argp, int argc, char **argv,
		   const struct option_groups *groups, void *input);

/*
 * Checks that exactly one kind of target was given and that the command
 * takes it (kinds: enum target_kind bits); verb names what the command does
 * with it ("profile", "trace"). 0, or -1 after the one-line error.
 */
int options__check_targets(const struct target_opts *t, unsigned int kinds,
			   const char *verb);

/*
 * Where a command's result of *kind goes: -f, else -o's extension; with
 * --findings, *kind becomes RESULT_FINDINGS. Checks that -o can be
 * written and that we have the privileges to profile. The format, or NULL
 * after the one-line error.
 */
const struct output_format *options__choose_output(const struct output_opts *o,
						   enum result_kind *kind);

#endif
