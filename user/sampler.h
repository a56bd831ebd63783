/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The CPU sampler: loads bpf/sampler.bpf.c, opens one cpu-clock perf event
 * per CPU, registers target processes, and drains the kernel's aggregated
 * stacks into a profile (symbolizing while the targets are alive).
 */
#ifndef PYSTROBE_SAMPLER_H
#define PYSTROBE_SAMPLER_H

#include <stdbool.h>
#include <sys/types.h>
#include "profile.h"
#include "pyproc.h"

struct sampler_opts {
	int freq; /* Hz per CPU */
	bool kernel, native;
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

/* Stores the loss counters (kernel and userspace) in p. */
void sampler__counters(struct sampler *s, struct profile *p);

#endif
