/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Finds the processes in scope for --all (every process on the host) or
 * --cgroup PATH (every process in that cgroup or below it, v1 or v2), and
 * reports each process once, plus again after it exec'd a new program.
 */
#ifndef PYSTROBE_DISCOVERY_H
#define PYSTROBE_DISCOVERY_H

#include <stddef.h>
#include <sys/types.h>

struct discovery;

/* cgroup NULL: the whole host. NULL with a reason in why on failure. */
struct discovery *discovery__new(const char *cgroup, char *why, size_t why_len);
void discovery__free(struct discovery *d); /* accepts NULL */

/*
 * Scans the scope and calls found() for every process not reported before
 * (or whose executable changed since), with the cgroup it is in: for
 * --cgroup the directory that lists it, else as /proc/PID/cgroup names it.
 * Returns 0 or a negative errno.
 */
typedef void (*discovery_found_fn)(pid_t pid, const char *cgroup, void *ctx);
int discovery__scan(struct discovery *d, discovery_found_fn found, void *ctx);

#endif
