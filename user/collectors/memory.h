/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The memory collector: loads bpf/memory.bpf.c, attaches to the provider's
 * pystrobe:alloc/free probes in target processes, and reads the kernel's
 * per-site aggregates into a memory_result: new sites are named (their
 * Python stacks symbolized) while their process lives, every collect; the
 * series and the timeline get a point every tick.
 */
#ifndef PYSTROBE_COLLECTOR_MEMORY_H
#define PYSTROBE_COLLECTOR_MEMORY_H

#include <stdint.h>
#include <sys/types.h>
#include "cpython/pyproc.h"
#include "model/memory.h"

struct memory_collector;

/*
 * Loads the programs, filling m; the kernel-only view charges one in
 * rate / 4 KiB page faults. NULL with errno and a reason in why.
 */
struct memory_collector *memory_collector__new(struct memory_result *m,
					       uint64_t rate, char *why,
					       size_t why_len);
/* Detaches everything and frees (accepts NULL); m stays the caller's. */
void memory_collector__free(struct memory_collector *mc);
/* Detaches every probe; what was collected stays readable. */
void memory_collector__detach(struct memory_collector *mc);

/* The run's start (CLOCK_MONOTONIC ns): times are reported from it. */
void memory_collector__start(struct memory_collector *mc, int64_t now_ns);

/*
 * Counts pid's allocations before its runtime is known (a command not yet
 * exec'd: its stacks are "[no Python frames]" until then); also resets a
 * pid that exec'd a new program.
 */
int memory_collector__add_pid(struct memory_collector *mc, pid_t pid);
/* Registers pp's runtime: its allocations get Python stacks. */
int memory_collector__set_python(struct memory_collector *mc,
				 const struct pyproc *pp);

/*
 * Puts pid (registered) in the kernel-only view: its page faults and
 * mappings are followed (the programs attach at the first such process).
 * 0 or a negative errno with why set.
 */
int memory_collector__kernel_view(struct memory_collector *mc, pid_t pid,
				  char *why, size_t why_len);

/*
 * Attaches to pid's pystrobe:alloc/free probes in the provider module at
 * host path so (mapped already, or later). 0 or a negative errno.
 */
int memory_collector__attach_provider(struct memory_collector *mc, pid_t pid,
				      const char *so);

/* Names the sites created since the last poll (cheap: call it often). */
void memory_collector__poll(struct memory_collector *mc);

/* Names new sites and updates every site's figures. 0 or negative errno. */
int memory_collector__collect(struct memory_collector *mc);

/*
 * collect, then one point of the series and of the timeline (RSS, live
 * heap, allocation rate per process) at now_ns.
 */
int memory_collector__tick(struct memory_collector *mc, int64_t now_ns);

/*
 * The last tick, then: ages of live blocks, each site's share of its
 * process's peak, the processes' totals, the drop counters (into
 * m->names's counters). Call before detaching a target's data goes.
 */
int memory_collector__finish(struct memory_collector *mc, int64_t now_ns);

#endif
