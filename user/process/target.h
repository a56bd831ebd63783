/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The processes being profiled: a command pystrobe starts (held before
 * exec so sampling covers start-up) or running processes it attaches to.
 * Each is traced with PTRACE_O_TRACEEXIT where possible, which stops it on
 * exit while its memory is still readable, so the last stacks can still be
 * symbolized.
 */
#ifndef PYSTROBE_TARGET_H
#define PYSTROBE_TARGET_H

#include <stdbool.h>
#include <sys/types.h>

struct target_proc {
	pid_t pid;
	bool child;	 /* started by pystrobe */
	bool traced;	 /* ptrace exit stop is armed */
	bool exiting;	 /* stopped at exit, memory still readable */
	bool gone;	 /* exited */
	bool execed;	 /* ran a new program since last looked at */
	bool hold_exec;	 /* keep it stopped after an exec (target__resume) */
	bool held;	 /* stopped after an exec, for hold_exec */
	int exit_status; /* waitpid status, for a child */
	int go_fd;	 /* a spawned child's go pipe until released; -1 */
};

/*
 * Forks argv[0] (searched in PATH) stopped before exec. Returns 0 or a
 * negative errno; on failure why holds a one-line reason.
 */
int target__spawn(struct target_proc *t, char **argv, char *why,
		  size_t why_len);
/* Lets a spawned child exec; an exec failure comes back as an error. */
int target__release(struct target_proc *t, char **argv, char *why,
		    size_t why_len);

/* Attaches the exit stop to a running process (best effort). */
void target__seize(struct target_proc *t);

/*
 * Handles pending ptrace and exit events without blocking. Returns true
 * when the target's state changed (it stopped at exit, or it is gone).
 */
bool target__poll(struct target_proc *t);

/* Resumes a target held after an exec (hold_exec). */
void target__resume(struct target_proc *t);

/* Lets a target stopped at exit finish, and stops tracing it. */
void target__let_go(struct target_proc *t);

/* Waits for a child to exit; returns its exit code as a shell would. */
int target__wait_child(struct target_proc *t);

#endif
