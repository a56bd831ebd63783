/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Turns the call tracer's per-path aggregates (bpf/call_tracer.h) into
 * functions, caller->callee edges and a call-tree profile.
 *
 * A function is its (name, file, first line): the same function seen through
 * different code objects or processes is one row. Its inclusive time counts
 * only activations with no activation of the same function above them on
 * the path, so recursion is not counted twice; calls, self time and edges
 * count every level.
 */
#ifndef PYSTROBE_CALL_GRAPH_H
#define PYSTROBE_CALL_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "bpf/call_tracer.h"
#include "model/profile.h"

/* What the tracer collected, as read from its maps. */
struct call_input {
	uint64_t *node_ids;
	struct call_node *nodes;
	size_t nr_nodes;
	uint64_t *stat_ids;
	struct call_stats *stats;
	size_t nr_stats;
	struct call_fn_key *name_keys;
	struct call_fn_name *names;
	size_t nr_names;
	uint32_t *calib_pids; /* per process: what tracing cost per call */
	struct call_calibration *calibs;
	struct call_calib_range *calib_ranges; /* and how much it varied */
	size_t nr_calibs;
};

void call_input__free(struct call_input *in);

/*
 * How far apart a process's calibrations were (the cost per call): far
 * apart, the machine's speed changed while tracing ran, and the times
 * corrected with their lower quartile are uncertain by about as much.
 */
struct call_calib_range {
	uint32_t calibrations; /* made */
	uint32_t kept;	       /* of them, drawn evenly (CALL_CALIB_SAMPLES) */
	uint64_t per_call_min_ns, per_call_max_ns;
};

/* What tracing cost one process per activation, as used. */
struct call_process_calib {
	uint32_t pid;
	struct call_calibration calibration;
	struct call_calib_range range;
};

struct call_func {
	char *name, *file;
	uint32_t line;
	bool hidden; /* pystrobe's own (while building only) */
	uint64_t calls, resumes, unwinds;
	uint64_t total_ns, self_ns;
	uint64_t total_offcpu_ns, self_offcpu_ns;
	uint64_t self_cut, total_cut; /* tracing's cost (while building) */
};

struct call_edge {
	size_t caller, callee; /* indices into funcs */
	uint64_t calls;
	uint64_t total_ns;  /* inclusive time of callee under this caller */
	uint64_t total_cut; /* tracing's cost in it (while building) */
};

/* One call path with stats, leaf first through the graph's funcs. */
struct call_path {
	uint64_t id;
	size_t *funcs; /* leaf first */
	uint32_t depth;
	uint32_t pid;
	struct call_stats stats;
};

struct call_graph {
	struct call_func *funcs;
	size_t nr_funcs;
	struct call_edge *edges;
	size_t nr_edges;
	struct call_path *paths;
	size_t nr_paths;
	uint64_t broken_paths; /* paths whose chain could not be followed */
	/*
	 * Times are corrected for what tracing cost (see call_graph__build)
	 * in calibrated processes: their figures, by pid.
	 */
	struct call_process_calib *calibrated;
	size_t nr_calibrated;
};

/*
 * Builds g from in; returns 0 or -ENOMEM. In a process whose provider
 * measured what tracing costs per activation (in->calibs: overhead o, of
 * which inside falls within the activation's own timestamps; for a call
 * and for a generator's resumption), the CPU time it added is taken out of
 * every path's times, from its activations (n), the activations that
 * returned directly inside them (children) and anywhere inside them
 * (descendants), each kind at its own cost:
 *	self  -= n * inside + children * (o - inside)
 *	total -= n * inside + descendants * o
 * summed per function and edge, never below their time off the CPU. The
 *provider's calibration code itself (CALL_CALIBRATION_FILE) is left out.
 */
int call_graph__build(const struct call_input *in, struct call_graph *g);
void call_graph__free(struct call_graph *g);

/*
 * A timeline event's duration less what tracing cost inside it (its own
 * share and its descendants'), in a calibrated process of in; never below
 * its time off the CPU.
 */
uint64_t call_graph__event_ns(const struct call_input *in,
			      const struct call_event *e);

/*
 * The call tree as a profile: one sample per path (frames root to leaf)
 * carrying calls, self wall, self CPU and self off-CPU time; pid labels.
 */
int call_graph__to_profile(const struct call_graph *g, struct profile *p);

#endif
