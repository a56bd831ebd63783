/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The CPU sampler: loads bpf/sampler.bpf.c, opens cpu-clock perf events on
 * the target threads (or on every CPU), registers target processes, and
 * drains the kernel's aggregated stacks into a profile (symbolizing while
 * the targets are alive).
 */
#ifndef PYSTROBE_SAMPLER_H
#define PYSTROBE_SAMPLER_H

#include <stdbool.h>
#include <sys/types.h>
#include <stdint.h>
#include <linux/types.h>
#include "bpf/offcpu_reason.h"
#include "model/profile.h"
#include "cpython/pyproc.h"

/* Index of each value in the profile's sample types; -1: not recorded. */
struct sampler_values {
	int samples, cpu, offcpu, wall;
};

struct sampler_opts {
	bool cpu;    /* CPU samples from cpu-clock perf events */
	bool offcpu; /* off-CPU time from sched_switch */
	int freq;    /* mean samples per second of each thread's CPU time */
	/*
	 * Timers on every CPU (targets found by scanning: --cgroup, --all)
	 * rather than on the target threads only.
	 */
	bool system_wide;
	/*
	 * System-wide: a cgroup directory whose tasks (and its descendants')
	 * alone run the timers, where the kernel can (cgroup v2, or v1 with
	 * the perf_event controller); otherwise every CPU's do.
	 */
	const char *cgroup;
	bool kernel, native;
	struct sampler_values values;
};

struct sampler;

/* Loads and attaches; on failure NULL, errno set, and a reason in why. */
struct sampler *sampler__new(const struct sampler_opts *opts, char *why,
			     size_t why_len);
void sampler__free(struct sampler *s); /* detaches; accepts NULL */

/*
 * Starts sampling pid before its runtime is known (a command not yet
 * exec'd): its samples count, without Python frames, until
 * sampler__set_python registers the runtime. Also resets a pid that
 * exec'd a new program.
 */
int sampler__add_pid(struct sampler *s, pid_t pid);
int sampler__set_python(struct sampler *s, const struct pyproc *pp);
bool sampler__has_python(struct sampler *s, pid_t pid);

/* Moves what the kernel aggregated so far into p; 0 or negative errno. */
int sampler__drain(struct sampler *s, struct profile *p);

/*
 * Off-CPU time of pid by reason (enum offcpu_reason; OFFCPU_NONE stays 0)
 * drained since the last call, into ns; the count starts over. A wait is
 * counted when it ends (or, still going at the end, by
 * sampler__finish_offcpu).
 */
void sampler__take_offcpu(struct sampler *s, pid_t pid,
			  int64_t ns[OFFCPU__COUNT]);

/*
 * Accounts the threads still off the CPU (blocked until now), once, at
 * the end of a run.
 */
int sampler__finish_offcpu(struct sampler *s, struct profile *p);

/*
 * Off-CPU: starts the clock for pid's threads that are blocked right now
 * (they were before the attach, so sched_switch has not seen them leave):
 * their stacks are read from userspace and their reason from /proc.
 */
int sampler__seed_blocked(struct sampler *s, pid_t pid);

/* Retries locating the GIL of targets whose interpreter was not up yet. */
void sampler__poll_gil(struct sampler *s);

/* Stores the loss counters (kernel and userspace) in p. */
void sampler__counters(struct sampler *s, struct profile *p);

#endif
