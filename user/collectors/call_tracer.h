/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The call tracer's BPF side (bpf/call_tracer.bpf.c): loading, attaching to the
 * entry/return probes of target processes, the timeline events, and reading
 * the aggregates back.
 */
#ifndef PYSTROBE_CALL_TRACER_H
#define PYSTROBE_CALL_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "model/call_graph.h"

struct call_tracer;

/*
 * Loads the programs and starts off-CPU accounting. Activations at least
 * min_event_ns long become timeline events (0: none), at most max_events
 * kept. raw: times as measured, tracing's cost in them (the provider's
 * measured pauses left in, its calibration not read; call_graph__build).
 * NULL on failure, with a one-line reason in why.
 */
struct call_tracer *call_tracer__new(uint64_t min_event_ns, size_t max_events,
				     bool raw, char *why, size_t why_len);
/* Detaches every program; the collected
 * data stays readable. */
void call_tracer__detach(struct call_tracer *t);
/* Detaches everything and frees (accepts
 * NULL). */
void call_tracer__free(struct call_tracer *t);

/*
 * Attaches to pid's pystrobe:batch and
 * pystrobe:function__name probes in the
 * provider module at host path so (mapped
 * already or later). 0 or a negative
 * errno.
 */
int call_tracer__attach_provider(struct call_tracer *t, pid_t pid,
				 const char *so);
/* The same for CPython's
 * python:function__entry/return in binary.
 */
int call_tracer__attach_cpython(struct call_tracer *t, pid_t pid,
				const char *binary);

/*
 * Forgets exited threads, so thread churn
 * does not fill the thread map
 * (MAX_CALL_THREADS live ones at a time).
 */
void call_tracer__prune(struct call_tracer *t);

/* Moves pending timeline events into the
 * tracer's list. */
void call_tracer__poll(struct call_tracer *t);

/*
 * Reads the aggregates, once the targets'
 * running threads had a moment to fold
 * their last events (what is left is
 * counted as events_unfolded); the caller
 * frees in with call_input__free.
 */
int call_tracer__collect(struct call_tracer *t, struct call_input *in);

/* Drop counters, by name, in the order of
 * enum call_lost. */
size_t call_tracer__counters(struct call_tracer *t, const char **names,
			     int64_t *values, size_t max);

const struct call_event *call_tracer__events(const struct call_tracer *t,
					     size_t *nr);

#endif
