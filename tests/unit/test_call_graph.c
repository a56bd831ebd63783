// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for user/model/call_graph.c: per-path aggregates into functions
 * and edges, recursion counted once in inclusive time, unnamed functions and
 * corrupt chains (cycles, missing parents, over-long names) survived.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/call_graph.h"

#define MAX_IN 16

struct fixture {
	struct call_input in;
	uint64_t node_ids[MAX_IN], stat_ids[MAX_IN];
	struct call_node nodes[MAX_IN];
	struct call_stats stats[MAX_IN];
	struct call_fn_key name_keys[MAX_IN];
	struct call_fn_name names[MAX_IN];
};

static struct call_fn_key key_in(uint32_t pid, uint64_t fn)
{
	return (struct call_fn_key){
		.pid = pid, .line = fn, .file = 0x1000, .name = 0x2000 + fn};
}

static struct call_fn_key key_of(uint64_t fn)
{
	return key_in(7, fn);
}

static void name_in(struct fixture *f, uint32_t pid, uint64_t fn, const char *n)
{
	size_t i = f->in.nr_names++;

	f->name_keys[i] = key_in(pid, fn);
	f->names[i].line = fn;
	strcpy(f->names[i].file, "/app/x.py");
	strcpy(f->names[i].name, n);
}

static void name(struct fixture *f, uint64_t fn, const char *n)
{
	name_in(f, 7, fn, n);
}

static void node_in(struct fixture *f, uint32_t pid, uint64_t id,
		    uint64_t parent, uint64_t fn)
{
	size_t i = f->in.nr_nodes++;

	f->node_ids[i] = id;
	f->nodes[i].parent = parent;
	f->nodes[i].fn = key_in(pid, fn);
}

static void node(struct fixture *f, uint64_t id, uint64_t parent, uint64_t fn)
{
	node_in(f, 7, id, parent, fn);
}

static void stat(struct fixture *f, uint64_t id, uint64_t calls, uint64_t total,
		 uint64_t self, uint64_t off)
{
	size_t i = f->in.nr_stats++;

	f->stat_ids[i] = id;
	f->stats[i] = (struct call_stats){.calls = calls,
					  .total_ns = total,
					  .self_ns = self,
					  .total_offcpu_ns = off,
					  .self_offcpu_ns = off};
}

static void wire(struct fixture *f)
{
	f->in.node_ids = f->node_ids;
	f->in.nodes = f->nodes;
	f->in.stat_ids = f->stat_ids;
	f->in.stats = f->stats;
	f->in.name_keys = f->name_keys;
	f->in.names = f->names;
}

static const struct call_func *func(const struct call_graph *g, const char *n)
{
	for (size_t i = 0; i < g->nr_funcs; i++)
		if (strcmp(g->funcs[i].name, n) == 0)
			return &g->funcs[i];
	fail_msg("no function %s", n);
	return NULL;
}

/* main -> fib -> fib -> fib: calls at every level, total only at the top. */
static void test_recursion(void **state)
{
	struct fixture f = {};
	struct call_graph g;
	const struct call_func *fib;

	name(&f, 1, "main");
	name(&f, 2, "fib");
	node(&f, 10, 0, 1);
	node(&f, 11, 10, 2);
	node(&f, 12, 11, 2);
	node(&f, 13, 12, 2);
	stat(&f, 10, 1, 1000, 100, 0);
	stat(&f, 11, 1, 900, 300, 0);
	stat(&f, 12, 2, 600, 400, 0);
	stat(&f, 13, 4, 200, 200, 50);
	wire(&f);
	assert_int_equal(call_graph__build(&f.in, &g), 0);
	assert_int_equal(g.nr_funcs, 2);
	fib = func(&g, "fib");
	assert_int_equal(fib->calls, 7);
	assert_int_equal(fib->total_ns, 900);
	assert_int_equal(fib->self_ns, 900);
	assert_int_equal(fib->self_offcpu_ns, 50);
	assert_int_equal(fib->total_offcpu_ns, 0); /* only the outermost */
	assert_int_equal(func(&g, "main")->total_ns, 1000);
	/* main->fib once, fib->fib 6 times */
	assert_int_equal(g.nr_edges, 2);
	for (size_t i = 0; i < g.nr_edges; i++)
		assert_int_equal(g.edges[i].calls,
				 g.edges[i].caller == g.edges[i].callee ? 6
									: 1);
	assert_int_equal(g.broken_paths, 0);
	call_graph__free(&g);
}

/* Two code objects (keys) with the same name/file/line are one function. */
static void test_merge_and_unnamed(void **state)
{
	struct fixture f = {};
	struct call_graph g;

	name(&f, 1, "f");
	f.name_keys[f.in.nr_names] = key_of(1);
	f.name_keys[f.in.nr_names].name = 0x9999; /* another code object */
	f.names[f.in.nr_names] = f.names[0];
	f.in.nr_names++;
	node(&f, 20, 0, 1);
	node(&f, 21, 0, 1);
	f.nodes[1].fn.name = 0x9999;
	node(&f, 22, 0, 3); /* no name captured */
	stat(&f, 20, 2, 10, 10, 0);
	stat(&f, 21, 3, 20, 20, 0);
	stat(&f, 22, 1, 5, 5, 0);
	wire(&f);
	assert_int_equal(call_graph__build(&f.in, &g), 0);
	assert_int_equal(g.nr_funcs, 2);
	assert_int_equal(func(&g, "f")->calls, 5);
	assert_int_equal(func(&g, "[unknown]")->calls, 1);
	call_graph__free(&g);
}

/* A parent cycle or a missing parent is counted, not followed forever. */
static void test_corrupt_chains(void **state)
{
	struct fixture f = {};
	struct call_graph g;

	name(&f, 1, "a");
	node(&f, 30, 31, 1);
	node(&f, 31, 30, 1);
	node(&f, 32, 0xdead, 1);
	stat(&f, 30, 1, 1, 1, 0);
	stat(&f, 32, 1, 1, 1, 0);
	stat(&f, 0xbeef, 1, 1, 1, 0); /* no node at all */
	wire(&f);
	assert_int_equal(call_graph__build(&f.in, &g), 0);
	assert_int_equal(g.broken_paths, 3);
	assert_int_equal(g.nr_paths, 0);
	call_graph__free(&g);
}

/* Names copied by BPF fill their arrays with no NUL: bounded, not overrun. */
static void test_unterminated_name(void **state)
{
	struct fixture f = {};
	struct call_graph g;

	name(&f, 1, "x");
	memset(f.names[0].name, 'n', sizeof(f.names[0].name));
	memset(f.names[0].file, 'f', sizeof(f.names[0].file));
	node(&f, 40, 0, 1);
	stat(&f, 40, 1, 1, 1, 0);
	wire(&f);
	assert_int_equal(call_graph__build(&f.in, &g), 0);
	assert_int_equal(strlen(g.funcs[0].name), CALL_NAME_LEN);
	assert_int_equal(strlen(g.funcs[0].file), CALL_FILE_LEN);
	call_graph__free(&g);
}

static void test_profile(void **state)
{
	struct fixture f = {};
	struct call_graph g;
	struct profile *p = profile__new();

	name(&f, 1, "main");
	name(&f, 2, "work");
	node(&f, 10, 0, 1);
	node(&f, 11, 10, 2);
	stat(&f, 10, 1, 100, 40, 10);
	stat(&f, 11, 3, 60, 60, 5);
	wire(&f);
	assert_non_null(p);
	assert_int_equal(call_graph__build(&f.in, &g), 0);
	assert_int_equal(call_graph__to_profile(&g, p), 0);
	assert_int_equal(p->nr_types, 4);
	assert_int_equal(p->nr_samples, 2);
	for (size_t i = 0; i < p->nr_samples; i++) {
		const struct profile_sample *s = &p->samples[i];

		if (s->depth == 2) {
			assert_int_equal(s->values[0], 3);
			assert_int_equal(s->values[1], 60);
			assert_int_equal(s->values[2], 55);
			assert_int_equal(s->values[3], 5);
		} else {
			assert_int_equal(s->depth, 1);
			assert_int_equal(s->values[1], 40);
		}
	}
	call_graph__free(&g);
	profile__free(p);
}

/*
 * Each process's times lose what tracing cost in that process (its own
 * calibration), and the graph keeps every process's calibration, by pid.
 */
static void test_calibrations(void **state)
{
	struct fixture f = {};
	uint32_t pids[] = {9, 7};
	struct call_calibration calibs[] = {
		{.overhead_ns = 50, .inside_ns = 20},
		{.overhead_ns = 30, .inside_ns = 10},
	};
	struct call_calib_range ranges[] = {
		{.calibrations = 5, .kept = 5, .per_call_min_ns = 45},
		{.calibrations = 8, .kept = 8, .per_call_min_ns = 28},
	};
	struct call_graph g;

	name_in(&f, 7, 1, "work");
	name_in(&f, 9, 2, "other");
	node_in(&f, 7, 10, 0, 1);
	node_in(&f, 9, 20, 0, 2);
	stat(&f, 10, 100, 100000, 100000, 0);
	stat(&f, 20, 100, 100000, 100000, 0);
	wire(&f);
	f.in.calib_pids = pids;
	f.in.calibs = calibs;
	f.in.calib_ranges = ranges;
	f.in.nr_calibs = 2;
	assert_int_equal(call_graph__build(&f.in, &g), 0);
	assert_int_equal(func(&g, "work")->self_ns, 100000 - 100 * 10);
	assert_int_equal(func(&g, "other")->self_ns, 100000 - 100 * 20);
	assert_int_equal(g.nr_calibrated, 2);
	assert_int_equal(g.calibrated[0].pid, 7);
	assert_int_equal(g.calibrated[0].calibration.overhead_ns, 30);
	assert_int_equal(g.calibrated[0].range.calibrations, 8);
	assert_int_equal(g.calibrated[1].pid, 9);
	assert_int_equal(g.calibrated[1].calibration.inside_ns, 20);
	assert_int_equal(g.calibrated[1].range.per_call_min_ns, 45);
	call_graph__free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recursion),
		cmocka_unit_test(test_merge_and_unnamed),
		cmocka_unit_test(test_corrupt_chains),
		cmocka_unit_test(test_unterminated_name),
		cmocka_unit_test(test_profile),
		cmocka_unit_test(test_calibrations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
