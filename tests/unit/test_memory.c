// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for the memory model (user/model/memory.c): leaks against
 * caches and working sets, temporaries, the peak rule shared with the BPF
 * program (bpf/memory_peak.h), the series, the profile conversion; and
 * --rate parsing (cli__parse_size).
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

#include "model/memory.h" /* (linux/types.h first) */
#include "bpf/memory_peak.h"
#include "session/cli.h"

#define RATE   16384
#define MiB    (1024 * 1024)
#define TICKS  20
#define TICK_S 0.2

static void test_parse_size(void **state)
{
	static const struct {
		const char *s;
		int ok;
		unsigned long long v;
	} cases[] = {
		{"4096", 1, 4096},
		{"512K", 1, 512 << 10},
		{"512k", 1, 512 << 10},
		{"16M", 1, 16 << 20},
		{"1G", 1, 1ULL << 30},
		{"1", 1, 1},
		{"0", 0, 0},			 /* below the minimum */
		{"0K", 0, 0},			 /* still 0 */
		{"2G", 0, 0},			 /* above the maximum */
		{"1025M", 0, 0},		 /* above, by a unit */
		{"abc", 0, 0},			 /* garbage */
		{"12Q", 0, 0},			 /* unknown suffix */
		{"1KB", 0, 0},			 /* trailing text */
		{"1K ", 0, 0},			 /* trailing blank */
		{" 1K", 0, 0},			 /* leading blank */
		{"-5", 0, 0},			 /* sign */
		{"+5", 0, 0},			 /* sign */
		{"", 0, 0},			 /* empty */
		{"K", 0, 0},			 /* no digits */
		{"1.5M", 0, 0},			 /* not an integer */
		{"0x10", 0, 0},			 /* not decimal */
		{"99999999999999999999K", 0, 0}, /* overflows */
		{"18014398509481984K", 0, 0},	 /* 2^54 K overflows 64 bits */
	};
	unsigned long long v;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 7;
		int err = cli__parse_size(cases[i].s, 1, 1ULL << 30, &v);

		if (cases[i].ok) {
			assert_int_equal(err, 0);
			assert_int_equal(v, cases[i].v);
		} else {
			assert_int_equal(err, -EINVAL);
			assert_int_equal(v, 7); /* untouched */
		}
	}
}

/* ------------------------------ the peak rule ----------------------------- */

/* What the BPF program does at an allocation or free of site s. */
static void event(struct mem_proc *pm, struct mem_site *s, int64_t bytes)
{
	mem_peak_touch(s, pm->peak_gen);
	if (bytes > 0)
		s->alloc_bytes += bytes;
	else
		s->freed_bytes += -bytes;
	pm->live_bytes += bytes;
	if (bytes > 0)
		mem_peak_update(pm, pm->live_bytes, 0, 0);
}

static void test_peak_rule(void **state)
{
	struct mem_proc pm = {.peak_gen = 1};
	struct mem_site a = {}, b = {}, c = {};

	(void)state;
	event(&pm, &a, 100);
	event(&pm, &b, 50); /* live 150: a 100, b 50 */
	event(&pm, &a, -100);
	event(&pm, &b, 200); /* live 250: a 0, b 250 (the peak) */
	event(&pm, &c, 10);  /* live 260: a 0, b 250, c 10 (a new peak) */
	event(&pm, &b, -250);
	event(&pm, &a, 240); /* live 250: below the peak */
	event(&pm, &c, -10);
	assert_int_equal(pm.peak_bytes, 260);
	assert_int_equal(mem_peak_bytes(&a, pm.peak_gen), 0);
	assert_int_equal(mem_peak_bytes(&b, pm.peak_gen), 250);
	assert_int_equal(mem_peak_bytes(&c, pm.peak_gen), 10);
	/* a site untouched since the peak: its value now is its value then */
	event(&pm, &a, 1000); /* live 1240: a new peak again */
	assert_int_equal(pm.peak_bytes, 1240);
	assert_int_equal(mem_peak_bytes(&a, pm.peak_gen), 1240);
	assert_int_equal(mem_peak_bytes(&b, pm.peak_gen), 0);
	assert_int_equal(mem_peak_bytes(&c, pm.peak_gen), 0);
}

/* A peak reached by a free's absence: shrinking never makes a new peak. */
static void test_peak_only_grows(void **state)
{
	struct mem_proc pm = {.peak_gen = 1};
	struct mem_site a = {};

	(void)state;
	event(&pm, &a, 300);
	event(&pm, &a, -200);
	event(&pm, &a, 100);
	assert_int_equal(pm.peak_bytes, 300);
	assert_int_equal(mem_peak_bytes(&a, pm.peak_gen), 300);
}

/* ------------------------------ the model --------------------------------- */

/* A heap site allocating in function fn at line line of /w.py. */
static ssize_t site(struct memory_result *m, const char *fn, int64_t line)
{
	uint32_t leaf = frame(m->names, FRAME_PYTHON, fn, "/w.py", line, 10);
	uint32_t root = frame(m->names, FRAME_PYTHON, "main", "/w.py", 99, 90);
	ssize_t idx =
		memory__site(m, 1, MEM_SITE_HEAP, (uint32_t[]){leaf, root}, 2);

	assert_true(idx >= 0);
	return idx;
}

/* Sets a site's in-use bytes (allocating more if needed). */
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

static bool has(const struct memory_result *m, const char *name, bool leaks)
{
	size_t n = leaks ? m->nr_leaks : m->nr_temps;

	for (size_t i = 0; i < n; i++) {
		uint32_t idx = leaks ? m->leaks[i].name : m->temps[i].name;

		if (strcmp(profile__str(m->names, idx), name) == 0)
			return true;
	}
	return false;
}

static struct memory_result *scenario(void)
{
	struct memory_result *m = memory__new(RATE);
	ssize_t leak, cache, ws, tmp, tiny, late;

	assert_non_null(m);
	leak = site(m, "leak", 11);
	cache = site(m, "cache", 21);
	ws = site(m, "working_set", 31);
	tmp = site(m, "temporary", 41);
	tiny = site(m, "tiny_growth", 51);
	late = site(m, "late_leak", 61);
	for (int t = 1; t <= TICKS; t++) {
		double s = t * TICK_S;

		set_inuse(m, leak, (int64_t)(2 * MiB * s));
		set_inuse(m, cache, (int64_t)(16 * MiB * fmin(s / 1.2, 1)));
		set_inuse(m, ws, (t & 1) ? 6 * MiB : 2 * MiB);
		/* temporaries: much allocated, nothing held */
		m->sites[tmp].alloc_bytes += 10 * MiB;
		m->sites[tmp].freed_bytes += 10 * MiB;
		/* grows by two samples over the whole run: noise */
		set_inuse(m, tiny, t == TICKS ? 2 * RATE : 0);
		/* starts leaking half way through */
		set_inuse(m, late, s < 2 ? 0 : (int64_t)(4 * MiB * (s - 2)));
		assert_int_equal(
			memory__tick(m, (int64_t)(s * 1e9), t == TICKS), 0);
	}
	m->sites[tmp].lifetime[13] = 5000; /* about 8-16 us */
	m->sites[tmp].alloc_samples = m->sites[tmp].freed_samples = 5000;
	/* the cache's blocks live on: the median sample is still alive */
	m->sites[cache].lifetime[13] = 10;
	m->duration_ns = (int64_t)(TICKS * TICK_S * 1e9);
	return m;
}

static void test_leaks(void **state)
{
	const struct memory_analysis_opts o = MEMORY_ANALYSIS_DEFAULTS;
	struct memory_result *m = scenario();

	(void)state;
	assert_int_equal(memory__analyze(m, &o), 0);
	assert_true(has(m, "leak", true));
	assert_true(has(m, "late_leak", true));
	assert_false(has(m, "cache", true));
	assert_false(has(m, "working_set", true));
	assert_false(has(m, "temporary", true));
	assert_false(has(m, "tiny_growth", true));
	assert_int_equal(m->nr_leaks, 2);
	/* sorted by bytes in use; growth over the second half */
	assert_string_equal(profile__str(m->names, m->leaks[0].name), "leak");
	assert_int_equal(m->leaks[0].line, 11);
	assert_true(fabs(m->leaks[0].growth_bytes_per_s - 2.0 * MiB) <
		    0.05 * MiB);
	assert_true(fabs(m->leaks[1].growth_bytes_per_s - 4.0 * MiB) <
		    0.1 * MiB);
	memory__free(m);
}

/* Too few points: no verdict rather than a guess. */
static void test_leaks_need_points(void **state)
{
	const struct memory_analysis_opts o = MEMORY_ANALYSIS_DEFAULTS;
	struct memory_result *m = memory__new(RATE);
	ssize_t leak = site(m, "leak", 11);

	(void)state;
	for (int t = 1; t <= 3; t++) {
		set_inuse(m, leak, t * 10 * MiB);
		assert_int_equal(memory__tick(m, t * 1000000000LL, t == 3), 0);
	}
	assert_int_equal(memory__analyze(m, &o), 0);
	assert_int_equal(m->nr_leaks, 0);
	memory__free(m);
}

static void test_temporaries(void **state)
{
	const struct memory_analysis_opts o = MEMORY_ANALYSIS_DEFAULTS;
	struct memory_result *m = scenario();
	ssize_t rare = site(m, "rare_temporary", 71);

	(void)state;
	/* short-lived but a tiny share of what was allocated */
	m->sites[rare].alloc_bytes = m->sites[rare].freed_bytes = 64 * 1024;
	m->sites[rare].lifetime[10] = 4;
	m->sites[rare].alloc_samples = m->sites[rare].freed_samples = 4;
	assert_int_equal(memory__analyze(m, &o), 0);
	assert_true(has(m, "temporary", false));
	assert_false(has(m, "rare_temporary", false));
	assert_false(has(m, "cache", false));
	assert_false(has(m, "leak", false));
	assert_int_equal(m->nr_temps, 1);
	assert_true(m->temps[0].median_lifetime_s >= 8192e-9 &&
		    m->temps[0].median_lifetime_s < 16384e-9);
	assert_true(fabs(m->temps[0].freed_share - 1) < 1e-9);
	assert_true(fabs(m->temps[0].alloc_bytes_per_s - 50.0 * MiB) < MiB);
	memory__free(m);
}

static void test_median_lifetime(void **state)
{
	uint32_t h[MEM_LIFETIME_BUCKETS] = {};

	(void)state;
	assert_true(memory__median_lifetime_s(h, 0) < 0); /* no samples */
	h[10] = 10;					  /* 1024-2047 ns */
	assert_true(memory__median_lifetime_s(h, 0) >= 1024e-9);
	assert_true(memory__median_lifetime_s(h, 0) < 2048e-9);
	h[20] = 10; /* half at ~1 ms: the median is at the boundary */
	assert_true(memory__median_lifetime_s(h, 0) <= 2048e-9);
	h[20] = 11;
	assert_true(memory__median_lifetime_s(h, 0) >= (1 << 20) * 1e-9);
	/* more still alive than freed: the median sample lives on */
	assert_true(isinf(memory__median_lifetime_s(h, 100)));
}

/* Lines per (function, line); functions merge a function's lines. */
static void test_functions(void **state)
{
	const struct memory_analysis_opts o = MEMORY_ANALYSIS_DEFAULTS;
	struct memory_result *m = memory__new(RATE);
	ssize_t a = site(m, "f", 11), b = site(m, "f", 12), c = site(m, "g", 3);

	(void)state;
	assert_int_equal(site(m, "f", 11), a); /* the same stack: one site */
	m->sites[a].alloc_bytes = 100;
	m->sites[a].alloc_objects = 10;
	m->sites[b].alloc_bytes = 300;
	m->sites[b].alloc_objects = 3;
	m->sites[b].freed_bytes = 50;
	m->sites[b].freed_objects = 1;
	m->sites[c].alloc_bytes = 200;
	m->sites[a].peak_bytes = 7;
	m->sites[b].peak_bytes = 5;
	assert_int_equal(memory__analyze(m, &o), 0);
	assert_int_equal(m->nr_lines, 3);
	assert_int_equal(m->nr_functions, 2);
	/* by bytes allocated */
	assert_string_equal(profile__str(m->names, m->functions[0].name), "f");
	assert_int_equal(m->functions[0].line, 10); /* its first line */
	assert_int_equal(m->functions[0].alloc_bytes, 400);
	assert_int_equal(m->functions[0].alloc_objects, 13);
	assert_int_equal(m->functions[0].inuse_bytes, 350);
	assert_int_equal(m->functions[0].inuse_objects, 12);
	assert_int_equal(m->functions[0].peak_bytes, 12);
	assert_int_equal(m->lines[0].line, 12);
	assert_int_equal(m->lines[0].alloc_bytes, 300);
	assert_string_equal(profile__str(m->names, m->lines[1].name), "g");
	/* --leaks ranks by what is held */
	m->by_inuse = true;
	m->sites[c].freed_bytes = 200;
	assert_int_equal(memory__analyze(m, &o), 0);
	assert_int_equal(m->lines[0].inuse_bytes, 250);
	assert_int_equal(m->lines[1].inuse_bytes, 100);
	assert_int_equal(m->lines[2].inuse_bytes, 0);
	memory__free(m);
}

/* The series keeps at most MEMORY_SERIES_MAX points, the last included. */
static void test_series(void **state)
{
	struct memory_result *m = memory__new(RATE);
	ssize_t a = site(m, "f", 11);
	int n = 1000;

	(void)state;
	for (int t = 1; t <= n; t++) {
		m->sites[a].alloc_bytes = t;
		assert_int_equal(memory__tick(m, t, t == n), 0);
	}
	assert_true(m->series_n <= MEMORY_SERIES_MAX);
	assert_true(m->series_n >= MEMORY_SERIES_MAX / 2);
	assert_int_equal(m->series_t_ns[m->series_n - 1], n);
	for (size_t i = 0; i < m->series_n; i++) {
		assert_int_equal(m->sites[a].series[i], m->series_t_ns[i]);
		if (i)
			assert_true(m->series_t_ns[i] > m->series_t_ns[i - 1]);
	}
	memory__free(m);
}

static void test_to_profile(void **state)
{
	struct memory_result *m = memory__new(RATE);
	ssize_t a = site(m, "f", 11);
	struct profile *p;

	(void)state;
	m->sites[a].alloc_bytes = 1000;
	m->sites[a].alloc_objects = 10;
	m->sites[a].freed_bytes = 400;
	m->sites[a].freed_objects = 4;
	assert_int_equal(profile__set_counter(m->names, "unknown_frees", 2), 0);
	p = memory__to_profile(m);
	assert_non_null(p);
	assert_int_equal(p->nr_types, 4);
	assert_int_equal(profile__type_index(p, "alloc_objects"), 0);
	assert_int_equal(profile__type_index(p, "alloc_space"), 1);
	assert_int_equal(profile__type_index(p, "inuse_objects"), 2);
	assert_int_equal(profile__type_index(p, "inuse_space"), 3);
	assert_string_equal(profile__str(p, p->types[1].unit), "bytes");
	assert_int_equal(p->nr_samples, 1);
	assert_int_equal(p->samples[0].values[0], 10);
	assert_int_equal(p->samples[0].values[1], 1000);
	assert_int_equal(p->samples[0].values[2], 6);
	assert_int_equal(p->samples[0].values[3], 600);
	assert_int_equal(p->samples[0].depth, 2);
	assert_string_equal(
		profile__str(p, p->frames[p->samples[0].frames[0]].name), "f");
	assert_int_equal(profile__counter(p, "unknown_frees", -1), 2);
	assert_int_equal(p->period, RATE);
	profile__free(p);
	memory__free(m);
}

static bool not_pid_7(void *ctx, int64_t pid)
{
	(void)ctx;
	return pid != 7;
}

/* alloc_* since the mark, inuse_* now; idle sites and turned-down pids out. */
static void test_interval_profile(void **state)
{
	struct memory_result *m = memory__new(RATE);
	struct memory_mark mk = {};
	ssize_t a = site(m, "f", 11), b = site(m, "g", 12), c;
	struct profile *p;

	(void)state;
	m->sites[a].alloc_bytes = 1000;
	m->sites[a].alloc_objects = 10;
	m->sites[b].alloc_bytes = 500;
	m->sites[b].alloc_objects = 5;
	m->sites[b].freed_bytes = 500;
	m->sites[b].freed_objects = 5;
	assert_int_equal(memory__mark(m, &mk), 0);
	assert_int_equal(mk.nr, 2);

	/* a: 300 more allocated, 1100 held; b: nothing; c: new, all of it */
	m->sites[a].alloc_bytes = 1300;
	m->sites[a].alloc_objects = 13;
	m->sites[a].freed_bytes = 200;
	m->sites[a].freed_objects = 2;
	c = site(m, "h", 13);
	m->sites[c].alloc_bytes = 64;
	m->sites[c].alloc_objects = 1;
	p = memory__interval_profile(m, &mk, NULL, NULL);
	assert_non_null(p);
	assert_int_equal(p->nr_types, 4);
	assert_int_equal(p->period, RATE);
	assert_int_equal(p->nr_samples, 2);
	for (size_t i = 0; i < p->nr_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		const char *fn = profile__str(p, p->frames[s->frames[0]].name);

		if (strcmp(fn, "f") == 0) {
			assert_int_equal(s->values[0], 3);
			assert_int_equal(s->values[1], 300);
			assert_int_equal(s->values[2], 11);
			assert_int_equal(s->values[3], 1100);
		} else {
			assert_string_equal(fn, "h");
			assert_int_equal(s->values[0], 1);
			assert_int_equal(s->values[1], 64);
			assert_int_equal(s->values[2], 1);
			assert_int_equal(s->values[3], 64);
		}
	}
	profile__free(p);

	/* the whole run is unchanged by marks */
	p = memory__to_profile(m);
	assert_non_null(p);
	assert_int_equal(p->nr_samples, 3);
	profile__free(p);

	/* marked again: only what is held remains; pid 7 turned down */
	assert_int_equal(memory__mark(m, &mk), 0);
	assert_int_equal(mk.nr, 3);
	p = memory__interval_profile(m, &mk, NULL, NULL);
	assert_non_null(p);
	assert_int_equal(p->nr_samples, 2);
	for (size_t i = 0; i < p->nr_samples; i++) {
		assert_int_equal(p->samples[i].values[0], 0);
		assert_int_equal(p->samples[i].values[1], 0);
	}
	profile__free(p);
	m->sites[c].pid = 7;
	p = memory__interval_profile(m, &mk, not_pid_7, NULL);
	assert_non_null(p);
	assert_int_equal(p->nr_samples, 1);
	assert_int_equal(p->samples[0].values[3], 1100);
	profile__free(p);
	memory__mark_free(&mk);
	memory__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_peak_rule),
		cmocka_unit_test(test_peak_only_grows),
		cmocka_unit_test(test_leaks),
		cmocka_unit_test(test_leaks_need_points),
		cmocka_unit_test(test_temporaries),
		cmocka_unit_test(test_median_lifetime),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_series),
		cmocka_unit_test(test_to_profile),
		cmocka_unit_test(test_interval_profile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
