// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for the findings rules (user/model/findings.c): each planted
 * problem is found with its kind and location, and beside it a control that
 * looks similar but does not have the problem is not flagged; thresholds
 * are tested from both sides.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "profile_fixture.h"

#include <json-c/json.h>

#include "model/findings.h"
#include "model/memory.h"
#include "output/findings_report.h"

#define MS 1000000LL /* ns */

/* The findings of kind for function (NULL: any), counted. */
static size_t count(const struct finding_list *l, enum finding_kind kind,
		    const char *function)
{
	size_t n = 0;

	for (size_t i = 0; i < l->nr; i++)
		n += l->items[i].kind == kind &&
		     (!function || !strcmp(l->items[i].function, function));
	return n;
}

static const struct finding *get(const struct finding_list *l,
				 enum finding_kind kind, const char *function)
{
	for (size_t i = 0; i < l->nr; i++)
		if (l->items[i].kind == kind &&
		    !strcmp(l->items[i].function, function))
			return &l->items[i];
	fail_msg("no %s finding for %s", finding__kind_name(kind), function);
	return NULL;
}

static void analyze(const struct findings_input *in, struct finding_list *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(findings__analyze(in, l), 0);
}

/* ---- call graphs ---- */

struct graph_builder {
	struct call_graph g;
};

static size_t add_func(struct call_graph *g, const char *name, int line,
		       uint64_t calls, uint64_t self_ns, uint64_t self_off)
{
	struct call_func *f;

	g->funcs = realloc(g->funcs, (g->nr_funcs + 1) * sizeof(*g->funcs));
	assert_non_null(g->funcs);
	f = &g->funcs[g->nr_funcs];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	f->file = strdup("/w.py");
	f->line = line;
	f->calls = calls;
	f->self_ns = self_ns;
	f->self_offcpu_ns = self_off;
	return g->nr_funcs++;
}

/* A path leaf-first; adds its edge (to its caller) as call_graph does. */
static void add_path(struct call_graph *g, const size_t *funcs, uint32_t depth,
		     uint64_t calls, uint64_t total_ns)
{
	struct call_path *p;
	size_t e;

	g->paths = realloc(g->paths, (g->nr_paths + 1) * sizeof(*g->paths));
	assert_non_null(g->paths);
	p = &g->paths[g->nr_paths++];
	memset(p, 0, sizeof(*p));
	p->funcs = malloc(depth * sizeof(size_t));
	assert_non_null(p->funcs);
	memcpy(p->funcs, funcs, depth * sizeof(size_t));
	p->depth = depth;
	p->stats.calls = calls;
	p->stats.total_ns = total_ns;
	if (depth < 2)
		return;
	for (e = 0; e < g->nr_edges; e++)
		if (g->edges[e].caller == funcs[1] &&
		    g->edges[e].callee == funcs[0])
			break;
	if (e == g->nr_edges) {
		g->edges = realloc(g->edges, (e + 1) * sizeof(*g->edges));
		assert_non_null(g->edges);
		g->edges[e] = (struct call_edge){funcs[1], funcs[0], 0, 0};
		g->nr_edges++;
	}
	g->edges[e].calls += calls;
	g->edges[e].total_ns += total_ns;
}

/*
 * main (once) calls expensive once (400 ms) and cheap 20 000 times (400 ms
 * in all); fib recurses 10 000 times under main (150 ms); rare is called
 * 999 times (100 ms): all as the repeated_call rule must see them.
 */
static void test_repeated_call(void **state)
{
	struct call_graph g = {};
	struct finding_list l;
	size_t main_, expensive, cheap, fib, rare;
	const struct finding *f;

	main_ = add_func(&g, "main", 1, 1, 50 * MS, 0);
	expensive = add_func(&g, "expensive", 10, 1, 400 * MS, 0);
	cheap = add_func(&g, "cheap", 20, 20000, 400 * MS, 0);
	fib = add_func(&g, "fib", 30, 10001, 150 * MS, 0);
	rare = add_func(&g, "rare", 40, 999, 100 * MS, 0);
	add_path(&g, (size_t[]){main_}, 1, 1, 1100 * MS);
	add_path(&g, (size_t[]){expensive, main_}, 2, 1, 400 * MS);
	add_path(&g, (size_t[]){cheap, main_}, 2, 20000, 400 * MS);
	add_path(&g, (size_t[]){fib, main_}, 2, 1, 150 * MS);
	add_path(&g, (size_t[]){fib, fib, main_}, 3, 10000, 140 * MS);
	add_path(&g, (size_t[]){rare, main_}, 2, 999, 100 * MS);
	analyze(&(struct findings_input){.calls = &g}, &l);
	assert_int_equal(count(&l, FINDING_REPEATED_CALL, NULL), 1);
	f = get(&l, FINDING_REPEATED_CALL, "cheap");
	assert_int_equal(f->line, 20);
	assert_string_equal(f->file, "/w.py");
	assert_true(fabs(f->share - 400.0 / 1100) < 1e-9);
	assert_int_equal(f->severity, SEVERITY_MEDIUM);
	assert_non_null(strstr(f->evidence, "called 20000 times from main"));
	assert_non_null(strstr(f->evidence, "36.4 %"));
	assert_non_null(strstr(f->evidence, "20.0 µs per call"));
	/* The whole run is on the CPU: cpu_bound, most in expensive. */
	assert_int_equal(count(&l, FINDING_CPU_BOUND, "expensive"), 1);
	finding_list__free(&l);

	/* Under 10 % of traced time: not a finding. */
	g.paths[2].stats.total_ns = 100 * MS;
	g.funcs[cheap].self_ns = 100 * MS;
	g.funcs[main_].self_ns = 1000 * MS;
	analyze(&(struct findings_input){.calls = &g}, &l);
	assert_int_equal(count(&l, FINDING_REPEATED_CALL, NULL), 0);
	finding_list__free(&l);
	call_graph__free(&g);
}

/* Mostly off the CPU (no reasons in a trace): wait_bound. */
static void test_calls_wait_bound(void **state)
{
	struct call_graph g = {};
	struct finding_list l;
	const struct finding *f;

	add_func(&g, "main", 1, 1, 10 * MS, 0);
	add_func(&g, "fetch", 5, 3, 830 * MS, 800 * MS);
	add_func(&g, "parse", 9, 3, 160 * MS, 0);
	analyze(&(struct findings_input){.calls = &g}, &l);
	assert_int_equal(count(&l, FINDING_CPU_BOUND, NULL), 0);
	f = get(&l, FINDING_WAIT_BOUND, "fetch");
	assert_true(fabs(f->share - 0.8) < 1e-9);
	assert_int_equal(f->severity, SEVERITY_HIGH);
	assert_non_null(strstr(f->evidence, "80.0 % of traced time is off"));
	assert_non_null(strstr(f->evidence, "record --wall"));
	finding_list__free(&l);
	/* Neither: 60 % on the CPU. */
	g.funcs[1].self_offcpu_ns = 400 * MS;
	analyze(&(struct findings_input){.calls = &g}, &l);
	assert_int_equal(l.nr, 0);
	finding_list__free(&l);
	call_graph__free(&g);
}

/* ---- sampled profiles ---- */

/* A CPU profile (samples, cpu at 1 ms per sample). */
static struct profile *cpu_profile(void)
{
	struct profile *p = profile__new();

	assert_int_equal(profile__add_type(p, "samples", "count"), 0);
	assert_int_equal(profile__add_type(p, "cpu", "nanoseconds"), 1);
	return p;
}

static void cpu_samples(struct profile *p, const uint32_t *frames,
			uint32_t depth, int64_t n)
{
	int64_t v[2] = {n, n * MS};

	assert_int_equal(
		profile__add_sample(p, frames, depth, v, 1, 1, "t", "python"),
		0);
}

/*
 * hot: line 12 holds 300 of 1000 samples (below a native frame); spread:
 * ten lines of 30 samples each, the same function time as hot's.
 */
static void test_hot_line(void **state)
{
	struct profile *p = cpu_profile();
	uint32_t main_ = frame(p, FRAME_PYTHON, "main", "/w.py", 50, 48);
	uint32_t hot12 = frame(p, FRAME_PYTHON, "hot", "/w.py", 12, 10);
	uint32_t hot13 = frame(p, FRAME_PYTHON, "hot", "/w.py", 13, 10);
	uint32_t memcpy_ = frame(p, FRAME_NATIVE, "memcpy", "libc.so", 0, 0);
	struct finding_list l;
	const struct finding *f;

	cpu_samples(p, (uint32_t[]){memcpy_, hot12, main_}, 3, 200);
	cpu_samples(p, (uint32_t[]){hot12, main_}, 2, 100);
	cpu_samples(p, (uint32_t[]){hot13, main_}, 2, 30);
	for (int i = 0; i < 10; i++) {
		uint32_t s =
			frame(p, FRAME_PYTHON, "spread", "/w.py", 21 + i, 20);

		cpu_samples(p, (uint32_t[]){s, main_}, 2, 30);
	}
	cpu_samples(p, (uint32_t[]){main_}, 1, 370);
	analyze(&(struct findings_input){.profile = p}, &l);
	f = get(&l, FINDING_HOT_LINE, "hot");
	assert_int_equal(f->line, 12);
	assert_true(fabs(f->share - 0.3) < 1e-9);
	assert_non_null(strstr(f->evidence, "line 12 holds 30.0 %"));
	assert_non_null(strstr(f->evidence, "(300 of 1000"));
	assert_non_null(strstr(f->evidence, "91 % of its function"));
	assert_int_equal(count(&l, FINDING_HOT_LINE, "spread"), 0);
	/* main's line 50: 370 samples, a hot line too. */
	assert_int_equal(count(&l, FINDING_HOT_LINE, NULL), 2);
	/* A CPU profile has no off-CPU time: no waits, no bound. */
	assert_int_equal(l.nr, 2);
	finding_list__free(&l);
	profile__free(p);

	/*
	 * 3 of 10 samples: a 30 % share, but two standard errors (29 %)
	 * leave it under 10 %: too few samples to say.
	 */
	p = cpu_profile();
	hot12 = frame(p, FRAME_PYTHON, "hot", "/w.py", 12, 10);
	main_ = frame(p, FRAME_PYTHON, "main", "/w.py", 50, 48);
	cpu_samples(p, (uint32_t[]){hot12}, 1, 3);
	for (int i = 0; i < 7; i++)
		cpu_samples(p,
			    (uint32_t[]){frame(p, FRAME_PYTHON, "other",
					       "/w.py", 60 + i, 60)},
			    1, 1);
	analyze(&(struct findings_input){.profile = p}, &l);
	assert_int_equal(count(&l, FINDING_HOT_LINE, NULL), 0);
	finding_list__free(&l);
	/* ... and 300 of 1000 is found. */
	cpu_samples(p, (uint32_t[]){hot12}, 1, 297);
	cpu_samples(p, (uint32_t[]){main_}, 1, 693);
	analyze(&(struct findings_input){.profile = p}, &l);
	assert_int_equal(count(&l, FINDING_HOT_LINE, "hot"), 1);
	finding_list__free(&l);
	profile__free(p);
}

/* A --wall profile: samples, cpu, offcpu, wall. */
static struct profile *wall_profile(void)
{
	struct profile *p = cpu_profile();

	assert_int_equal(profile__add_type(p, "offcpu", "nanoseconds"), 2);
	assert_int_equal(profile__add_type(p, "wall", "nanoseconds"), 3);
	return p;
}

static void wall_cpu(struct profile *p, const uint32_t *frames, uint32_t depth,
		     int64_t ms)
{
	int64_t v[4] = {ms, ms * MS, 0, ms * MS};

	assert_int_equal(
		profile__add_sample(p, frames, depth, v, 1, 1, "t", "python"),
		0);
}

static void wall_off(struct profile *p, const char *reason,
		     const uint32_t *frames, uint32_t depth, int64_t ms)
{
	char name[64];
	uint32_t stack[8];
	int64_t v[4] = {0, 0, ms * MS, ms * MS};

	snprintf(name, sizeof(name), "[off-cpu: %s]", reason);
	stack[0] = frame(p, FRAME_MARKER, name, "", 0, 0);
	memcpy(stack + 1, frames, depth * sizeof(*frames));
	assert_int_equal(profile__add_sample(p, stack, depth + 1, v, 1, 1, "t",
					     "python"),
			 0);
}

/*
 * wait_lock waits 300 ms on a lock at line 52; nap sleeps 290 ms at line
 * 61; burn runs 200 ms and waits 100 ms on a lock (mostly CPU); idle waits
 * 50 ms on a lock (all of its time, but 5 % of the run). 1 s in all.
 */
static void test_waits(void **state)
{
	struct profile *p = wall_profile();
	uint32_t main_ = frame(p, FRAME_PYTHON, "main", "/w.py", 80, 78);
	uint32_t lock52 = frame(p, FRAME_PYTHON, "wait_lock", "/w.py", 52, 50);
	uint32_t lock53 = frame(p, FRAME_PYTHON, "wait_lock", "/w.py", 53, 50);
	uint32_t nap = frame(p, FRAME_PYTHON, "nap", "/w.py", 61, 60);
	uint32_t burn = frame(p, FRAME_PYTHON, "burn", "/w.py", 71, 70);
	uint32_t idle = frame(p, FRAME_PYTHON, "idle", "/w.py", 91, 90);
	uint32_t futex = frame(p, FRAME_KERNEL, "futex_wait", "", 0, 0);
	struct finding_list l;
	const struct finding *f;

	wall_off(p, "lock", (uint32_t[]){futex, lock52, main_}, 3, 280);
	wall_off(p, "lock", (uint32_t[]){lock53, main_}, 2, 20);
	wall_cpu(p, (uint32_t[]){lock52, main_}, 2, 5);
	wall_off(p, "sleep", (uint32_t[]){nap, main_}, 2, 290);
	wall_cpu(p, (uint32_t[]){burn, main_}, 2, 200);
	wall_off(p, "lock", (uint32_t[]){burn, main_}, 2, 100);
	wall_off(p, "lock", (uint32_t[]){idle}, 1, 50);
	wall_cpu(p, (uint32_t[]){main_}, 1, 55);
	analyze(&(struct findings_input){.profile = p}, &l);
	f = get(&l, FINDING_LOCK_WAIT, "wait_lock");
	assert_int_equal(f->line, 52);
	assert_true(fabs(f->share - 0.3) < 1e-9);
	assert_non_null(strstr(f->evidence, "waiting on a lock for 300.0 ms"));
	assert_non_null(strstr(f->evidence, "of its 305.0 ms (98 %)"));
	f = get(&l, FINDING_SLEEP_WAIT, "nap");
	assert_int_equal(f->line, 61);
	assert_int_equal(count(&l, FINDING_LOCK_WAIT, NULL), 1);
	assert_int_equal(count(&l, FINDING_SLEEP_WAIT, NULL), 1);
	assert_int_equal(count(&l, FINDING_IO_WAIT, NULL), 0);
	assert_int_equal(count(&l, FINDING_GIL_WAIT, NULL), 0);
	/* 26 % CPU, 74 % waiting: wait_bound (lock first), not cpu_bound. */
	f = get(&l, FINDING_WAIT_BOUND, "wait_lock");
	assert_non_null(strstr(f->evidence, "74.0 % of wall time is off"));
	assert_non_null(strstr(f->evidence, "lock 45.0 %, sleep 29.0 %"));
	assert_int_equal(count(&l, FINDING_CPU_BOUND, NULL), 0);
	assert_int_equal(count(&l, FINDING_HOT_LINE, "burn"), 1);
	/* Most severe first, then by share. */
	for (size_t i = 1; i < l.nr; i++)
		assert_true(l.items[i - 1].severity > l.items[i].severity ||
			    (l.items[i - 1].severity == l.items[i].severity &&
			     l.items[i - 1].share >= l.items[i].share));
	finding_list__free(&l);
	profile__free(p);
}

/* io and gil reasons; an off-CPU-only profile measures against off-CPU. */
static void test_wait_reasons(void **state)
{
	struct profile *p = profile__new();
	uint32_t fetch = frame(p, FRAME_PYTHON, "fetch", "/w.py", 5, 4);
	uint32_t spin = frame(p, FRAME_PYTHON, "spin", "/w.py", 9, 8);
	uint32_t io, gil;
	int64_t v;
	struct finding_list l;
	const struct finding *f;

	assert_int_equal(profile__add_type(p, "offcpu", "nanoseconds"), 0);
	io = frame(p, FRAME_MARKER, "[off-cpu: io]", "", 0, 0);
	gil = frame(p, FRAME_MARKER, "[off-cpu: gil]", "", 0, 0);
	v = 600 * MS;
	assert_int_equal(profile__add_sample(p, (uint32_t[]){io, fetch}, 2, &v,
					     1, 1, "t", "c"),
			 0);
	v = 400 * MS;
	assert_int_equal(profile__add_sample(p, (uint32_t[]){gil, spin}, 2, &v,
					     1, 2, "t", "c"),
			 0);
	/* An unnamed function waits: not its caller's (spin's) wait. */
	v = 600 * MS;
	assert_int_equal(
		profile__add_sample(
			p,
			(uint32_t[]){io,
				     frame(p, FRAME_MARKER,
					   "[unknown code 0x1]", "", 0, 0),
				     spin},
			3, &v, 1, 3, "t", "c"),
		0);
	analyze(&(struct findings_input){.profile = p}, &l);
	f = get(&l, FINDING_IO_WAIT, "fetch");
	assert_non_null(strstr(f->evidence, "of off-CPU time"));
	get(&l, FINDING_GIL_WAIT, "spin");
	assert_int_equal(count(&l, FINDING_IO_WAIT, "spin"), 0);
	/* No CPU time: nothing to say about the wall time. */
	assert_int_equal(l.nr, 2);
	finding_list__free(&l);
	profile__free(p);
}

/* A call trace saved as a profile has off-CPU time but no reasons. */
static void test_calls_profile(void **state)
{
	struct profile *p = profile__new();
	uint32_t f = frame(p, FRAME_PYTHON, "f", "/w.py", 1, 1);
	int64_t v[4] = {1, 100 * MS, 10 * MS, 90 * MS};
	struct finding_list l;

	profile__add_type(p, "calls", "count");
	profile__add_type(p, "wall", "nanoseconds");
	profile__add_type(p, "cpu", "nanoseconds");
	profile__add_type(p, "offcpu", "nanoseconds");
	assert_int_equal(profile__add_sample(p, &f, 1, v, 1, 1, "t", "c"), 0);
	analyze(&(struct findings_input){.profile = p}, &l);
	assert_int_equal(l.nr, 0);
	finding_list__free(&l);
	profile__free(p);
}

/* ---- scale ---- */

/*
 * O(n^2), O(n log n), O(n), O(1)-per-call functions; a function called n
 * times with O(n) work per call; one with n^1.4 per call, called once, and
 * one with n^1.2.
 */
static void test_superlinear(void **state)
{
	double runs[] = {1000, 2000, 4000, 8000};
	struct scale_result r;
	struct finding_list l;
	const struct finding *f;

	assert_int_equal(scale__init(&r, "calls", true, runs, 4), 0);
	for (size_t i = 0; i < 4; i++) {
		double n = runs[i];

		scale__add(&r, i, "quad", "/s.py", 10, 1e-8 * n * n,
			   1e-8 * n * n, 1);
		scale__add(&r, i, "nlogn", "/s.py", 20, 1e-7 * n * log2(n),
			   1e-7 * n * log2(n), 1);
		scale__add(&r, i, "lin", "/s.py", 30, 1e-6 * n, 1e-6 * n, 1);
		scale__add(&r, i, "step", "/s.py", 40, 1e-6 * n, 1e-6 * n, n);
		scale__add(&r, i, "inner", "/s.py", 50, 1e-9 * n * n,
			   1e-9 * n * n, n);
		scale__add(&r, i, "p14", "/s.py", 60, 1e-5 * pow(n, 1.4),
			   1e-5 * pow(n, 1.4), 1);
		scale__add(&r, i, "p12", "/s.py", 70, 1e-4 * pow(n, 1.2),
			   1e-4 * pow(n, 1.2), 1);
		/* main: inclusive n^2, own time linear */
		scale__add(&r, i, "main", "/s.py", 80, 2e-8 * n * n, 1e-6 * n,
			   1);
	}
	scale__analyze(&r, 1e-3);
	analyze(&(struct findings_input){.scale = &r}, &l);
	assert_int_equal(l.nr, 3);
	f = get(&l, FINDING_SUPERLINEAR, "quad");
	assert_int_equal(f->line, 10);
	assert_non_null(strstr(f->evidence, "own time ∝ n^2.00"));
	assert_non_null(strstr(f->evidence, "O(n^2)"));
	assert_non_null(strstr(f->evidence, "calls ∝ n^0.00"));
	assert_non_null(strstr(f->evidence, "at n=80000"));
	get(&l, FINDING_SUPERLINEAR, "inner");
	get(&l, FINDING_SUPERLINEAR, "p14");
	finding_list__free(&l);

	/* Without call counts (record), only the 1.5 bound applies. */
	r.have_calls = false;
	analyze(&(struct findings_input){.scale = &r}, &l);
	assert_int_equal(l.nr, 2);
	assert_int_equal(count(&l, FINDING_SUPERLINEAR, "p14"), 0);
	finding_list__free(&l);
	scale__free(&r);
}

/* ---- memory ---- */

/*
 * A memory result built through the memory model's API, as `pystrobe
 * memory` builds it: sites with frames, the series ticked over a run of
 * TICKS * TICK_S seconds, then memory__analyze. The findings must be its
 * leaks and temporaries, with its numbers.
 */
#define RATE   16384
#define MiB    (1024 * 1024)
#define TICKS  20
#define TICK_S 0.2

/* A site of kind allocating in function fn at line line of /w.py. */
static ssize_t msite(struct memory_result *m, enum mem_site_kind kind,
		     const char *fn, int64_t line)
{
	uint32_t leaf = frame(m->names, FRAME_PYTHON, fn, "/w.py", line, 10);
	uint32_t root = frame(m->names, FRAME_PYTHON, "main", "/w.py", 99, 90);
	ssize_t idx = memory__site(m, 1, kind, (uint32_t[]){leaf, root}, 2);

	assert_true(idx >= 0);
	return idx;
}

/* Sets a site's in-use bytes, allocating or freeing sampled bytes. */
static void set_inuse(struct memory_result *m, ssize_t i, int64_t bytes)
{
	struct memory_site *s = &m->sites[i];
	int64_t now = s->alloc_bytes - s->freed_bytes;

	if (bytes > now) {
		s->alloc_bytes += bytes - now;
		s->alloc_samples += (bytes - now) / RATE;
	} else {
		s->freed_bytes += now - bytes;
		s->freed_samples += (now - bytes) / RATE;
	}
}

static void tick(struct memory_result *m, int t)
{
	assert_int_equal(
		memory__tick(m, (int64_t)(t * TICK_S * 1e9), t == TICKS), 0);
}

static void analyze_memory(struct memory_result *m, struct finding_list *l)
{
	const struct memory_analysis_opts o = MEMORY_ANALYSIS_DEFAULTS;

	m->duration_ns = (int64_t)(TICKS * TICK_S * 1e9);
	assert_int_equal(memory__analyze(m, &o), 0);
	analyze(&(struct findings_input){.memory = m}, l);
}

/*
 * A site that grows steadily is a leak; a cache that fills in the first
 * 1.2 s and plateaus is not, though it holds more at the end.
 */
static void test_leak(void **state)
{
	struct memory_result *m = memory__new(RATE);
	struct finding_list l;
	const struct finding *f;
	ssize_t leak, cache;
	char want[96];

	assert_non_null(m);
	leak = msite(m, MEM_SITE_HEAP, "leaky", 11);
	cache = msite(m, MEM_SITE_HEAP, "fill_cache", 21);
	for (int t = 1; t <= TICKS; t++) {
		double s = t * TICK_S;

		set_inuse(m, leak, (int64_t)(2 * MiB * s));
		set_inuse(m, cache, (int64_t)(16 * MiB * fmin(s / 1.2, 1)));
		tick(m, t);
	}
	/* its oldest live sample: from the first tick */
	m->sites[leak].oldest_live_ns = (int64_t)(TICK_S * 1e9);
	analyze_memory(m, &l);
	assert_int_equal(m->nr_leaks, 1);
	assert_int_equal(l.nr, 1);
	assert_int_equal(count(&l, FINDING_LEAK, "fill_cache"), 0);
	f = get(&l, FINDING_LEAK, "leaky");
	assert_string_equal(f->file, "/w.py");
	assert_int_equal(f->line, 11);
	/* 8 MiB of the 24 MiB in use at the end */
	assert_true(fabs(f->share - 8.0 / 24) < 1e-9);
	assert_int_equal(f->severity, SEVERITY_MEDIUM);
	assert_non_null(strstr(f->evidence, "8.0 MiB in use at the end "
					    "(33.3 % of all bytes in use)"));
	/* the rate and age are memory__analyze's, not computed again */
	snprintf(want, sizeof(want), "still growing %.2f MiB/s",
		 m->leaks[0].growth_bytes_per_s / MiB);
	assert_non_null(strstr(f->evidence, want));
	assert_non_null(strstr(f->evidence, "still growing 2.00 MiB/s"));
	assert_non_null(strstr(f->evidence, "the oldest held 3.80 s"));
	finding_list__free(&l);
	memory__free(m);
}

/* The kernel-only view: anonymous memory still mapped and still growing. */
static void test_leak_mapped(void **state)
{
	struct memory_result *m = memory__new(RATE);
	struct finding_list l;
	const struct finding *f;
	ssize_t maps, heap;

	assert_non_null(m);
	maps = msite(m, MEM_SITE_MMAP, "map_pages", 31);
	heap = msite(m, MEM_SITE_HEAP, "steady", 41);
	for (int t = 1; t <= TICKS; t++) {
		set_inuse(m, maps, (int64_t)t * MiB);
		set_inuse(m, heap, 64 * MiB); /* held from the start */
		tick(m, t);
	}
	analyze_memory(m, &l);
	assert_int_equal(l.nr, 1);
	f = get(&l, FINDING_LEAK, "map_pages");
	assert_int_equal(f->line, 31);
	/* its share is of what is mapped, not of the heap */
	assert_true(fabs(f->share - 1) < 1e-9);
	assert_non_null(
		strstr(f->evidence, "20.0 MiB still mapped at the end"));
	finding_list__free(&l);
	memory__free(m);
}

/*
 * Short-lived bulk is temporaries; bytes allocated once and kept are not,
 * though they are a larger share; a short-lived trickle is too small.
 */
static void test_temporaries(void **state)
{
	struct memory_result *m = memory__new(RATE);
	struct finding_list l;
	const struct finding *f;
	ssize_t tmp, kept, rare;

	assert_non_null(m);
	tmp = msite(m, MEM_SITE_HEAP, "concat", 51);
	kept = msite(m, MEM_SITE_HEAP, "load_table", 61);
	rare = msite(m, MEM_SITE_HEAP, "rare", 71);
	for (int t = 1; t <= TICKS; t++) {
		/* 10 MiB a tick, freed within microseconds */
		m->sites[tmp].alloc_bytes += 10 * MiB;
		m->sites[tmp].freed_bytes += 10 * MiB;
		set_inuse(m, kept, 300 * MiB);
		tick(m, t);
	}
	m->sites[tmp].alloc_samples = m->sites[tmp].freed_samples = 5000;
	m->sites[tmp].lifetime[13] = 5000; /* 8-16 µs */
	/* none of the kept samples freed: the median one lives on */
	m->sites[rare].alloc_bytes = m->sites[rare].freed_bytes = 64 * 1024;
	m->sites[rare].alloc_samples = m->sites[rare].freed_samples = 4;
	m->sites[rare].lifetime[10] = 4;
	analyze_memory(m, &l);
	assert_int_equal(m->nr_temps, 1);
	assert_int_equal(l.nr, 1);
	assert_int_equal(count(&l, FINDING_TEMPORARIES, "load_table"), 0);
	assert_int_equal(count(&l, FINDING_TEMPORARIES, "rare"), 0);
	f = get(&l, FINDING_TEMPORARIES, "concat");
	assert_string_equal(f->file, "/w.py");
	assert_int_equal(f->line, 51);
	/* 200 MiB of 500 MiB allocated (plus the rare 64 KiB) */
	assert_true(fabs(f->share - 200.0 / (500 + 1.0 / 16)) < 1e-9);
	assert_non_null(strstr(f->evidence,
			       "allocates 200.0 MiB (40.0 % of "
			       "all allocated bytes, 50.0 MiB/s)"));
	/* the median of 5000 samples in [8192, 16384) ns: 8192 * sqrt(2) */
	assert_non_null(strstr(f->evidence, "median lifetime 11.6 µs"));
	assert_non_null(strstr(f->evidence, "100 % freed"));
	finding_list__free(&l);
	memory__free(m);
}

/* A result with a site that allocated nothing: nothing found. */
static void test_memory_empty(void **state)
{
	struct memory_result *m = memory__new(RATE);
	struct finding_list l;

	assert_non_null(m);
	msite(m, MEM_SITE_HEAP, "idle", 81);
	for (int t = 1; t <= TICKS; t++)
		tick(m, t);
	analyze_memory(m, &l);
	assert_int_equal(l.nr, 0);
	finding_list__free(&l);
	memory__free(m);
}

static void test_names(void **state)
{
	assert_string_equal(finding__kind_name(FINDING_REPEATED_CALL),
			    "repeated_call");
	assert_string_equal(finding__kind_name(FINDING_WAIT_BOUND),
			    "wait_bound");
	assert_string_equal(finding__severity_name(SEVERITY_HIGH), "high");
	assert_int_equal(finding__severity(0.5), SEVERITY_HIGH);
	assert_int_equal(finding__severity(0.49), SEVERITY_MEDIUM);
	assert_int_equal(finding__severity(0.25), SEVERITY_MEDIUM);
	assert_int_equal(finding__severity(0.1), SEVERITY_LOW);
}

static char *render(int (*fn)(const struct finding_list *, FILE *),
		    const struct finding_list *l)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(l, f), 0);
	fclose(f);
	return buf;
}

/* The FINDINGS section and the "findings" array, hostile names too. */
static void test_report(void **state)
{
	struct call_graph g = {};
	struct finding_list l = {};
	struct json_object *root, *arr, *o, *v;
	size_t main_, cheap;
	char *text;

	text = render(findings_report__table, &l);
	assert_string_equal(text, "FINDINGS: none\n");
	free(text);
	text = render(findings_report__write_json, &l);
	assert_string_equal(text, "{\"findings\":[]}\n");
	free(text);

	main_ = add_func(&g, "ma\"in\n", 1, 1, 100 * MS, 0);
	cheap = add_func(&g, "cheap", 20, 5000, 900 * MS, 0);
	add_path(&g, (size_t[]){cheap, main_}, 2, 5000, 900 * MS);
	analyze(&(struct findings_input){.calls = &g}, &l);
	assert_int_equal(l.nr, 2);
	text = render(findings_report__table, &l);
	assert_non_null(strstr(text, "FINDINGS (2)\n"));
	assert_non_null(strstr(text, "  high    cpu_bound     100.0 %  cheap "
				     "(/w.py:20): 100.0 % of traced time"));
	assert_non_null(strstr(text, "  high    repeated_call  90.0 %  cheap "
				     "(/w.py:20): called 5000 times from ma"));
	free(text);
	text = render(findings_report__write_json, &l);
	root = json_tokener_parse(text);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "findings", &arr));
	assert_int_equal(json_object_array_length(arr), 2);
	o = json_object_array_get_idx(arr, 1);
	assert_true(json_object_object_get_ex(o, "kind", &v));
	assert_string_equal(json_object_get_string(v), "repeated_call");
	assert_true(json_object_object_get_ex(o, "severity", &v));
	assert_string_equal(json_object_get_string(v), "high");
	assert_true(json_object_object_get_ex(o, "function", &v));
	assert_string_equal(json_object_get_string(v), "cheap");
	assert_true(json_object_object_get_ex(o, "file", &v));
	assert_string_equal(json_object_get_string(v), "/w.py");
	assert_true(json_object_object_get_ex(o, "line", &v));
	assert_int_equal(json_object_get_int64(v), 20);
	assert_true(json_object_object_get_ex(o, "share", &v));
	assert_true(fabs(json_object_get_double(v) - 0.9) < 1e-9);
	assert_true(json_object_object_get_ex(o, "evidence", &v));
	assert_non_null(strstr(json_object_get_string(v),
			       "called 5000 times from ma\"in\n"));
	json_object_put(root);
	free(text);
	finding_list__free(&l);
	call_graph__free(&g);
}

/* Nothing to look at: nothing found. */
static void test_empty(void **state)
{
	struct finding_list l;
	struct profile *p = cpu_profile();
	struct call_graph g = {};

	analyze(&(struct findings_input){0}, &l);
	assert_int_equal(l.nr, 0);
	analyze(&(struct findings_input){.profile = p, .calls = &g}, &l);
	assert_int_equal(l.nr, 0);
	finding_list__free(&l);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repeated_call),
		cmocka_unit_test(test_calls_wait_bound),
		cmocka_unit_test(test_hot_line),
		cmocka_unit_test(test_waits),
		cmocka_unit_test(test_wait_reasons),
		cmocka_unit_test(test_calls_profile),
		cmocka_unit_test(test_superlinear),
		cmocka_unit_test(test_temporaries),
		cmocka_unit_test(test_leak),
		cmocka_unit_test(test_leak_mapped),
		cmocka_unit_test(test_memory_empty),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
