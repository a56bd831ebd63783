// SPDX-License-Identifier: BSD-2-Clause
/* Per-path call aggregates -> functions, edges, call-tree profile. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "model/call_graph.h"

/* A chain longer than the shadow stack can only come from a corrupt map. */
#define MAX_CHAIN (MAX_CALL_DEPTH + 1)

struct node_entry {
	uint64_t id;
	const struct call_node *node;
	size_t func;
	UT_hash_handle hh;
};

struct name_entry {
	struct call_fn_key key;
	const struct call_fn_name *name;
	UT_hash_handle hh;
};

struct func_entry {
	char *text; /* "name\nfile\nline": the identity */
	size_t index;
	UT_hash_handle hh;
};

struct edge_entry {
	size_t key[2]; /* caller, callee */
	size_t index;
	UT_hash_handle hh;
};

void call_input__free(struct call_input *in)
{
	free(in->node_ids);
	free(in->nodes);
	free(in->stat_ids);
	free(in->stats);
	free(in->name_keys);
	free(in->names);
	free(in->calib_pids);
	free(in->calibs);
	free(in->calib_ranges);
	memset(in, 0, sizeof(*in));
}

/* A BPF-copied string is NUL-terminated only if it fit: bound it. */
static char *bounded_dup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static int64_t find_func(struct call_graph *g, struct func_entry **funcs,
			 const struct call_fn_name *n)
{
	const char *name = "[unknown]", *file = "";
	struct call_func *grown;
	struct func_entry *fe;
	uint32_t line = 0;
	char *text;
	int len;

	if (n) {
		name = n->name[0] ? n->name : "[unknown]";
		file = n->file;
		line = n->line;
	}
	len = snprintf(NULL, 0, "%.*s\n%.*s\n%u", CALL_NAME_LEN, name,
		       CALL_FILE_LEN, file, line);
	text = malloc(len + 1);
	if (!text)
		return -ENOMEM;
	snprintf(text, len + 1, "%.*s\n%.*s\n%u", CALL_NAME_LEN, name,
		 CALL_FILE_LEN, file, line);
	HASH_FIND_STR(*funcs, text, fe);
	if (fe) {
		free(text);
		return fe->index;
	}
	grown = realloc(g->funcs, (g->nr_funcs + 1) * sizeof(*grown));
	fe = calloc(1, sizeof(*fe));
	if (grown)
		g->funcs = grown;
	if (!grown || !fe) {
		free(fe);
		free(text);
		return -ENOMEM;
	}
	memset(&g->funcs[g->nr_funcs], 0, sizeof(g->funcs[0]));
	g->funcs[g->nr_funcs].name = bounded_dup(name, CALL_NAME_LEN);
	g->funcs[g->nr_funcs].file = bounded_dup(file, CALL_FILE_LEN);
	g->funcs[g->nr_funcs].line = line;
	g->funcs[g->nr_funcs].hidden =
		g->funcs[g->nr_funcs].file &&
		strcmp(g->funcs[g->nr_funcs].file, CALL_CALIBRATION_FILE) == 0;
	fe->text = text;
	fe->index = g->nr_funcs++;
	HASH_ADD_KEYPTR(hh, *funcs, fe->text, strlen(fe->text), fe);
	if (!g->funcs[fe->index].name || !g->funcs[fe->index].file)
		return -ENOMEM;
	return fe->index;
}

static int add_edge(struct call_graph *g, struct edge_entry **edges,
		    size_t caller, size_t callee, const struct call_stats *st,
		    uint64_t total_cut)
{
	size_t key[2] = {caller, callee};
	struct call_edge *grown;
	struct edge_entry *ee;

	HASH_FIND(hh, *edges, key, sizeof(key), ee);
	if (!ee) {
		grown = realloc(g->edges, (g->nr_edges + 1) * sizeof(*grown));
		ee = calloc(1, sizeof(*ee));
		if (grown)
			g->edges = grown;
		if (!grown || !ee) {
			free(ee);
			return -ENOMEM;
		}
		memcpy(ee->key, key, sizeof(key));
		ee->index = g->nr_edges;
		g->edges[g->nr_edges++] =
			(struct call_edge){.caller = caller, .callee = callee};
		HASH_ADD(hh, *edges, key, sizeof(ee->key), ee);
	}
	g->edges[ee->index].calls += st->calls;
	g->edges[ee->index].total_ns += st->total_ns;
	g->edges[ee->index].total_cut += total_cut;
	return 0;
}

static const struct call_calibration *
calibration_of(const struct call_input *in, uint32_t pid)
{
	for (size_t i = 0; i < in->nr_calibs; i++)
		if (in->calib_pids[i] == pid)
			return &in->calibs[i];
	return NULL;
}

static uint64_t sub_floor(uint64_t v, uint64_t minus, uint64_t floor)
{
	v = v > minus ? v - minus : 0;
	return v > floor ? v : floor;
}

/*
 * What tracing cost inside a path's activations (see call_graph__build):
 * from its own times (*self_cut) and its inclusive ones (*total_cut).
 */
static void cuts(const struct call_stats *st, const struct call_calibration *c,
		 uint64_t *self_cut, uint64_t *total_cut)
{
	uint64_t out_c = c->overhead_ns > c->inside_ns
				 ? c->overhead_ns - c->inside_ns
				 : 0;
	uint64_t out_r = c->resume_overhead_ns > c->resume_inside_ns
				 ? c->resume_overhead_ns - c->resume_inside_ns
				 : 0;
	uint64_t own =
		st->calls * c->inside_ns + st->resumes * c->resume_inside_ns;
	uint64_t ch_r = st->child_resumes, de_r = st->desc_resumes;
	uint64_t ch_c = st->children > ch_r ? st->children - ch_r : 0;
	uint64_t de_c = st->descendants > de_r ? st->descendants - de_r : 0;

	*self_cut = own + ch_c * out_c + ch_r * out_r;
	*total_cut = own + de_c * c->overhead_ns + de_r * c->resume_overhead_ns;
}

uint64_t call_graph__event_ns(const struct call_input *in,
			      const struct call_event *e)
{
	const struct call_calibration *c = calibration_of(in, e->pid);

	uint64_t de_r, de_c;

	if (!c)
		return e->dur_ns;
	de_r = e->desc_resumes;
	de_c = e->descendants > de_r ? e->descendants - de_r : 0;
	return sub_floor(
		e->dur_ns,
		(e->entry_kind == CALL_ENTRY_RESUME ? c->resume_inside_ns
						    : c->inside_ns) +
			de_c * c->overhead_ns + de_r * c->resume_overhead_ns,
		e->offcpu_ns);
}

/* Adds one path's stats; its chain is followed through nodes. */
static int add_path(struct call_graph *g, struct node_entry *nodes,
		    struct edge_entry **edges, struct node_entry *leaf,
		    const struct call_stats *raw, const struct call_input *in)
{
	const struct call_calibration *calib =
		calibration_of(in, leaf->node->fn.pid);
	struct call_stats corrected = *raw, *st = &corrected;
	uint64_t self_cut = 0, total_cut = 0;
	size_t chain[MAX_CHAIN] = {0};
	struct call_path *path;
	struct call_func *f;
	struct node_entry *ne = leaf;
	uint32_t depth = 0;
	bool recursive = false;

	while (ne) {
		if (depth == MAX_CHAIN) {
			g->broken_paths++;
			return 0;
		}
		chain[depth++] = ne->func;
		uint64_t parent = ne->node->parent;

		if (!parent)
			break;
		HASH_FIND(hh, nodes, &parent, sizeof(parent), ne);
		if (!ne) {
			g->broken_paths++;
			return 0;
		}
	}
	for (uint32_t i = 0; i < depth; i++)
		if (g->funcs[chain[i]].hidden)
			return 0; /* the provider's calibration, and below */
	if (calib)
		cuts(st, calib, &self_cut, &total_cut);
	for (uint32_t i = 1; i < depth; i++)
		if (chain[i] == chain[0])
			recursive = true;
	/* functions and edges: raw sums and cuts, settled in finish() */
	f = &g->funcs[chain[0]];
	f->calls += st->calls;
	f->resumes += st->resumes;
	f->unwinds += st->unwinds;
	f->self_ns += st->self_ns;
	f->self_offcpu_ns += st->self_offcpu_ns;
	f->self_cut += self_cut;
	if (!recursive) {
		f->total_ns += st->total_ns;
		f->total_offcpu_ns += st->total_offcpu_ns;
		f->total_cut += total_cut;
	}
	if (depth > 1 && add_edge(g, edges, chain[1], chain[0], st, total_cut))
		return -ENOMEM;
	path = &g->paths[g->nr_paths];
	path->funcs = malloc(depth * sizeof(size_t));
	if (!path->funcs)
		return -ENOMEM;
	memcpy(path->funcs, chain, depth * sizeof(size_t));
	path->id = leaf->id;
	path->depth = depth;
	path->pid = leaf->node->fn.pid;
	path->stats = *st;
	g->nr_paths++;
	return 0;
}

/* v * num / den, without overflow for times and counts of a run */
static uint64_t scale(uint64_t v, uint64_t num, uint64_t den)
{
	return den ? (uint64_t)((unsigned __int128)v * num / den) : 0;
}

/*
 * Functions' and edges' times less the cuts summed over their paths, never
 * below their time off the CPU; self no more than total. A correction is
 * an estimate, good in sums: a path's own cut may exceed the little time it
 * measured while its siblings' fall short. So each path's CPU time is its
 * function's corrected CPU time shared out in proportion to the path's
 * measured CPU time (a path is never cut to nothing while its function
 * keeps time).
 */
static int finish(struct call_graph *g)
{
	uint64_t *raw = calloc(2 * (g->nr_funcs ?: 1), sizeof(*raw));
	size_t i;

	if (!raw)
		return -ENOMEM;

	for (i = 0; i < g->nr_funcs; i++) {
		struct call_func *f = &g->funcs[i];

		raw[2 * i] = sub_floor(f->self_ns, f->self_offcpu_ns, 0);
		raw[2 * i + 1] = sub_floor(f->total_ns, f->total_offcpu_ns, 0);
		f->self_ns =
			sub_floor(f->self_ns, f->self_cut, f->self_offcpu_ns);
		f->total_ns = sub_floor(f->total_ns, f->total_cut,
					f->total_offcpu_ns);
		if (f->self_ns > f->total_ns)
			f->self_ns = f->total_ns;
	}
	for (i = 0; i < g->nr_paths; i++) {
		struct call_path *p = &g->paths[i];
		struct call_stats *st = &p->stats;
		const struct call_func *f = &g->funcs[p->funcs[0]];
		size_t k = p->funcs[0];

		st->self_ns =
			st->self_offcpu_ns +
			scale(sub_floor(st->self_ns, st->self_offcpu_ns, 0),
			      sub_floor(f->self_ns, f->self_offcpu_ns, 0),
			      raw[2 * k]);
		st->total_ns =
			st->total_offcpu_ns +
			scale(sub_floor(st->total_ns, st->total_offcpu_ns, 0),
			      sub_floor(f->total_ns, f->total_offcpu_ns, 0),
			      raw[2 * k + 1]);
		if (st->self_ns > st->total_ns)
			st->self_ns = st->total_ns;
	}
	free(raw);
	for (i = 0; i < g->nr_edges; i++)
		g->edges[i].total_ns = sub_floor(g->edges[i].total_ns,
						 g->edges[i].total_cut, 0);
	return 0;
}

/*
 * Removes the hidden functions (no path, edge or recursion count refers to
 * them any more: add_path skipped their paths), renumbering the others.
 */
static int drop_hidden(struct call_graph *g)
{
	size_t *map = calloc(g->nr_funcs ?: 1, sizeof(*map)), n = 0, i, d;

	if (!map)
		return -ENOMEM;
	for (i = 0; i < g->nr_funcs; i++) {
		if (g->funcs[i].hidden) {
			free(g->funcs[i].name);
			free(g->funcs[i].file);
			continue;
		}
		map[i] = n;
		g->funcs[n++] = g->funcs[i];
	}
	g->nr_funcs = n;
	for (i = 0; i < g->nr_edges; i++) {
		g->edges[i].caller = map[g->edges[i].caller];
		g->edges[i].callee = map[g->edges[i].callee];
	}
	for (i = 0; i < g->nr_paths; i++)
		for (d = 0; d < g->paths[i].depth; d++)
			g->paths[i].funcs[d] = map[g->paths[i].funcs[d]];
	free(map);
	return 0;
}

static int cmp_calib_pid(const void *a, const void *b)
{
	uint32_t x = ((const struct call_process_calib *)a)->pid;
	uint32_t y = ((const struct call_process_calib *)b)->pid;

	return x < y ? -1 : x > y;
}

static int copy_calibrations(const struct call_input *in, struct call_graph *g)
{
	if (!in->nr_calibs)
		return 0;
	g->calibrated = calloc(in->nr_calibs, sizeof(*g->calibrated));
	if (!g->calibrated)
		return -ENOMEM;
	for (size_t i = 0; i < in->nr_calibs; i++)
		g->calibrated[i] = (struct call_process_calib){
			.pid = in->calib_pids[i],
			.calibration = in->calibs[i],
			.range = in->calib_ranges[i],
		};
	g->nr_calibrated = in->nr_calibs;
	qsort(g->calibrated, g->nr_calibrated, sizeof(*g->calibrated),
	      cmp_calib_pid);
	return 0;
}

int call_graph__build(const struct call_input *in, struct call_graph *g)
{
	struct node_entry *nodes = NULL, *ne, *ntmp;
	struct name_entry *names = NULL, *me, *mtmp;
	struct func_entry *funcs = NULL, *fe, *ftmp;
	struct edge_entry *edges = NULL, *ee, *etmp;
	int err = -ENOMEM;

	memset(g, 0, sizeof(*g));
	g->paths = calloc(in->nr_stats ?: 1, sizeof(*g->paths));
	if (!g->paths)
		goto cleanup;
	for (size_t i = 0; i < in->nr_names; i++) {
		me = calloc(1, sizeof(*me));
		if (!me)
			goto cleanup;
		me->key = in->name_keys[i];
		me->name = &in->names[i];
		HASH_ADD(hh, names, key, sizeof(me->key), me);
	}
	for (size_t i = 0; i < in->nr_nodes; i++) {
		const struct call_fn_name *n;
		int64_t fi;

		HASH_FIND(hh, nodes, &in->node_ids[i], sizeof(uint64_t), ne);
		if (ne)
			continue;
		HASH_FIND(hh, names, &in->nodes[i].fn, sizeof(me->key), me);
		n = me ? me->name : NULL;
		fi = find_func(g, &funcs, n);
		if (fi < 0)
			goto cleanup;
		ne = calloc(1, sizeof(*ne));
		if (!ne)
			goto cleanup;
		ne->id = in->node_ids[i];
		ne->node = &in->nodes[i];
		ne->func = fi;
		HASH_ADD(hh, nodes, id, sizeof(ne->id), ne);
	}
	for (size_t i = 0; i < in->nr_stats; i++) {
		HASH_FIND(hh, nodes, &in->stat_ids[i], sizeof(uint64_t), ne);
		if (!ne) {
			g->broken_paths++;
			continue;
		}
		if (add_path(g, nodes, &edges, ne, &in->stats[i], in))
			goto cleanup;
	}
	err = copy_calibrations(in, g) ?: finish(g) ?: drop_hidden(g);
cleanup:
	HASH_ITER(hh, nodes, ne, ntmp)
	{
		HASH_DEL(nodes, ne);
		free(ne);
	}
	HASH_ITER(hh, names, me, mtmp)
	{
		HASH_DEL(names, me);
		free(me);
	}
	HASH_ITER(hh, funcs, fe, ftmp)
	{
		HASH_DEL(funcs, fe);
		free(fe->text);
		free(fe);
	}
	HASH_ITER(hh, edges, ee, etmp)
	{
		HASH_DEL(edges, ee);
		free(ee);
	}
	if (err)
		call_graph__free(g);
	return err;
}

void call_graph__free(struct call_graph *g)
{
	for (size_t i = 0; i < g->nr_funcs; i++) {
		free(g->funcs[i].name);
		free(g->funcs[i].file);
	}
	for (size_t i = 0; i < g->nr_paths; i++)
		free(g->paths[i].funcs);
	free(g->funcs);
	free(g->edges);
	free(g->paths);
	free(g->calibrated);
	memset(g, 0, sizeof(*g));
}

int call_graph__to_profile(const struct call_graph *g, struct profile *p)
{
	int64_t *frame_of = calloc(g->nr_funcs ?: 1, sizeof(*frame_of));
	uint32_t frames[MAX_CHAIN];
	int err = -ENOMEM;

	if (!frame_of)
		return -ENOMEM;
	if (profile__add_type(p, "calls", "count") < 0 ||
	    profile__add_type(p, "wall", "nanoseconds") < 0 ||
	    profile__add_type(p, "cpu", "nanoseconds") < 0 ||
	    profile__add_type(p, "offcpu", "nanoseconds") < 0)
		goto cleanup;
	for (size_t i = 0; i < g->nr_funcs; i++) {
		struct profile_frame f = {.kind = FRAME_PYTHON};

		f.name = profile__intern(p, g->funcs[i].name);
		f.file = profile__intern(p, g->funcs[i].file);
		if (f.name == (uint32_t)-1 || f.file == (uint32_t)-1)
			goto cleanup;
		f.line = f.start_line = g->funcs[i].line;
		frame_of[i] = profile__add_frame(p, &f);
		if (frame_of[i] < 0) {
			err = frame_of[i];
			goto cleanup;
		}
	}
	for (size_t i = 0; i < g->nr_paths; i++) {
		const struct call_path *path = &g->paths[i];
		const struct call_stats *st = &path->stats;
		int64_t values[PROFILE_MAX_TYPES] = {
			(int64_t)(st->calls + st->resumes),
			(int64_t)st->self_ns,
			(int64_t)(st->self_ns > st->self_offcpu_ns
					  ? st->self_ns - st->self_offcpu_ns
					  : 0),
			(int64_t)st->self_offcpu_ns,
		};

		for (uint32_t d = 0; d < path->depth; d++)
			frames[d] = frame_of[path->funcs[d]];
		err = profile__add_sample(p, frames, path->depth, values,
					  path->pid, 0, NULL, NULL);
		if (err)
			goto cleanup;
	}
	err = 0;
cleanup:
	free(frame_of);
	return err;
}
