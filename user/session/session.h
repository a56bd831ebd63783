/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One profiling session, the same for every command: its targets (-p PIDs,
 * a --cgroup/--all scope, or a command started with --), the deadline, the
 * stop signals, the poll loop, what happens when a target execs or exits,
 * and the exit status of a started command.
 *
 * A command supplies hooks (its collector's side) and calls, in order:
 *   session__new      checks every -p PID before anything is attached
 *   session__start    attaches to the PIDs, opens the scope, or starts the
 *                     command (held before its exec until hooks ran)
 *   session__run      polls until the deadline, a stop signal, or every
 *                     target has exited
 *   ... the command collects its data and detaches its collector ...
 *   session__release  lets every target go (nothing stays traced)
 *   ... the command writes its output ...
 *   session__exit_status, session__free
 *
 * A target that exits mid-run is stopped at its exit (ptrace) while its
 * memory is readable: the collect hook runs before it is let go, so what it
 * had is never lost.
 */
#ifndef PYSTROBE_SESSION_H
#define PYSTROBE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "cpython/pyproc.h"
#include "model/timeline.h"
#include "process/target.h"
#include "session/options.h"

/* How a Python process came to the session. */
enum session_origin {
	ORIGIN_PID,	/* -p, running before the session started */
	ORIGIN_SCOPE,	/* found in --cgroup/--all, running before we saw it */
	ORIGIN_COMMAND, /* started by the session, or a target's new program */
};

/*
 * The command's side. Hooks return 0 or a negative errno with a one-line
 * reason in why (the session stops and the command prints it). Any hook may
 * be NULL.
 */
struct session_hooks {
	/* The command is forked and held before its exec. */
	int (*before_exec)(void *ctx, struct target_proc *t, char *why,
			   size_t why_len);
	/* A Python process to profile (for -p, before session__start returns);
	 * cgroup: its cgroup for scope targets, else "". */
	int (*on_python)(void *ctx, const struct pyproc *pp,
			 enum session_origin origin, const char *cgroup,
			 char *why, size_t why_len);
	/* A process in a scope that does not run a supported Python. */
	int (*on_other)(void *ctx, pid_t pid, const char *cgroup, char *why,
			size_t why_len);
	/* A target exec'd a new program; it is held until this returns. */
	int (*on_exec)(void *ctx, struct target_proc *t, char *why,
		       size_t why_len);
	/* Moves what was gathered out of the kernel: every collect_interval_ns,
	 * and before a target stopped at its exit is let go. */
	int (*collect)(void *ctx, char *why, size_t why_len);
	/* Every poll (about every 2 ms). */
	int (*tick)(void *ctx, char *why, size_t why_len);
	/* Resource timeline points of one round (every --interval, at a
	 * target's exit, at the end), before they are kept: the command adds
	 * what it measures itself (off-CPU time by reason, heap). */
	int (*timeline)(void *ctx, struct timeline_point *points, size_t nr,
			char *why, size_t why_len);
};

struct session_config {
	const struct target_opts *targets;
	const struct session_hooks *hooks;
	void *ctx;
	int64_t collect_interval_ns; /* 0: collect only at exits */
	/* Look for the runtime of a started command (and of any target's new
	 * program after an exec) and hand it to on_python (ORIGIN_COMMAND). */
	bool follow_python;
};

struct session;

/*
 * Checks every -p PID (a live, supported Python process). NULL with errno
 * set and a one-line reason in why.
 */
struct session *session__new(const struct session_config *cfg, char *why,
			     size_t why_len);
void session__free(struct session *s); /* lets targets go; accepts NULL */

/*
 * Attaches: on_python for each -p PID; opens the scope; or forks the
 * command, runs before_exec and lets it exec. 0 or a negative errno with
 * why set (-ENOENT/-EACCES: the command could not be run).
 */
int session__start(struct session *s, char *why, size_t why_len);

/* The poll loop; returns 0 at the deadline, a stop signal or when every
 * target has exited, or the first hook error (why set). */
int session__run(struct session *s, char *why, size_t why_len);

/* Nanoseconds from session__run's start to its end (or to now). */
int64_t session__elapsed_ns(const struct session *s);

/* Lets every target go: no ptrace stop or trace stays. Idempotent. */
void session__release(struct session *s);

/*
 * The command's exit status: a started command's own (waiting for it, after
 * passing on a SIGTERM that stopped the session), else 0; err (a negative
 * errno from the command) makes it non-zero.
 */
int session__exit_status(struct session *s, int err);

/*
 * The resource timeline: a point per target process every --interval
 * (default 1 s), at its exit, and at the end of the run.
 */
const struct timeline *session__timeline(const struct session *s);

/* The started command's PID, or 0. */
pid_t session__command_pid(const struct session *s);

#endif
