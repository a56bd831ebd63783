// SPDX-License-Identifier: BSD-2-Clause
/* Power-law fits and complexity classes of per-function scaling; see
 * scale.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "model/scale.h"

/* t quantiles (0.975) for 1..30 degrees of freedom; 1.96 beyond. */
static const double t975[] = {
	12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201,	2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080,	2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
};

#define NR_T (sizeof(t975) / sizeof(t975[0]))

/* The class models a * n^p * (ln n)^q, in enum complexity order. */
static const struct {
	const char *name;
	double p, q;
} classes[COMPLEXITY__COUNT] = {
	[COMPLEXITY_1] = {"O(1)", 0, 0},
	[COMPLEXITY_LOG_N] = {"O(log n)", 0, 1},
	[COMPLEXITY_N] = {"O(n)", 1, 0},
	[COMPLEXITY_N_LOG_N] = {"O(n log n)", 1, 1},
	[COMPLEXITY_N2] = {"O(n^2)", 2, 0},
	[COMPLEXITY_N3] = {"O(n^3)", 3, 0},
};

const char *scale__complexity_name(enum complexity c)
{
	return c < COMPLEXITY__COUNT ? classes[c].name : "?";
}

/*
 * The class whose model leaves the smallest squared log residuals once its
 * one constant is fitted (the mean residual). Log classes need every n > 1.
 */
static enum complexity nearest_class(const double *x, const double *y,
				     size_t nr)
{
	enum complexity best = COMPLEXITY_1;
	double best_rss = INFINITY;
	bool logs = true;

	for (size_t i = 0; i < nr; i++)
		logs &= x[i] > 0;
	for (int c = 0; c < COMPLEXITY__COUNT; c++) {
		double mean = 0, rss = 0;

		if (classes[c].q && !logs)
			continue;
		for (size_t i = 0; i < nr; i++)
			mean += y[i] - classes[c].p * x[i] -
				(classes[c].q ? log(x[i]) : 0);
		mean /= nr;
		for (size_t i = 0; i < nr; i++) {
			double r = y[i] - classes[c].p * x[i] -
				   (classes[c].q ? log(x[i]) : 0) - mean;

			rss += r * r;
		}
		/* Ties (to rounding) go to the simpler class. */
		if (rss < best_rss * (1 - 1e-9) - 1e-12) {
			best_rss = rss;
			best = c;
		}
	}
	return best;
}

int scale__fit(const double *n, const double *y, size_t nr,
	       struct scale_fit *fit)
{
	double *lx, *ly, mx = 0, my = 0, sxx = 0, sxy = 0, syy = 0, sse = 0;
	double t, se;
	bool distinct = false;

	if (nr < 3)
		return -EINVAL;
	for (size_t i = 0; i < nr; i++) {
		if (!(n[i] > 0) || !(y[i] > 0) || !isfinite(n[i]) ||
		    !isfinite(y[i]))
			return -EINVAL;
		distinct |= n[i] != n[0];
	}
	if (!distinct)
		return -EINVAL;
	lx = malloc(2 * nr * sizeof(*lx));
	if (!lx)
		return -ENOMEM;
	ly = lx + nr;
	for (size_t i = 0; i < nr; i++) {
		lx[i] = log(n[i]);
		ly[i] = log(y[i]);
		mx += lx[i];
		my += ly[i];
	}
	mx /= nr;
	my /= nr;
	for (size_t i = 0; i < nr; i++) {
		sxx += (lx[i] - mx) * (lx[i] - mx);
		sxy += (lx[i] - mx) * (ly[i] - my);
		syy += (ly[i] - my) * (ly[i] - my);
	}
	fit->exponent = sxy / sxx;
	fit->intercept = my - fit->exponent * mx;
	for (size_t i = 0; i < nr; i++) {
		double r = ly[i] - fit->intercept - fit->exponent * lx[i];

		sse += r * r;
	}
	/* y that does not vary is fitted exactly by k = 0. */
	fit->r2 = syy > 1e-12 ? 1 - sse / syy : 1;
	t = nr - 2 <= NR_T ? t975[nr - 3] : 1.96;
	se = sqrt(sse / (nr - 2) / sxx);
	fit->lo = fit->exponent - t * se;
	fit->hi = fit->exponent + t * se;
	fit->complexity = nearest_class(lx, ly, nr);
	free(lx);
	return 0;
}

struct func_entry {
	char *key; /* name \x1f file \x1f line */
	size_t index;
	UT_hash_handle hh;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int scale__init(struct scale_result *r, const char *mode, bool have_calls,
		const double *run_sizes, size_t nr_runs)
{
	memset(r, 0, sizeof(*r));
	r->mode = mode;
	r->have_calls = have_calls;
	r->run_sizes = calloc(nr_runs ?: 1, sizeof(double));
	r->run_total = calloc(nr_runs ?: 1, sizeof(double));
	r->sizes = calloc(nr_runs ?: 1, sizeof(double));
	if (!r->run_sizes || !r->run_total || !r->sizes) {
		scale__free(r);
		return -ENOMEM;
	}
	r->nr_runs = nr_runs;
	memcpy(r->run_sizes, run_sizes, nr_runs * sizeof(double));
	memcpy(r->sizes, run_sizes, nr_runs * sizeof(double));
	qsort(r->sizes, nr_runs, sizeof(double), cmp_double);
	for (size_t i = 0; i < nr_runs; i++)
		if (!r->nr_sizes || r->sizes[r->nr_sizes - 1] != r->sizes[i])
			r->sizes[r->nr_sizes++] = r->sizes[i];
	return 0;
}

static void free_index(struct scale_result *r)
{
	struct func_entry *index = r->index, *e, *tmp;

	HASH_ITER(hh, index, e, tmp)
	{
		HASH_DEL(index, e);
		free(e->key);
		free(e);
	}
	r->index = NULL;
}

void scale__free(struct scale_result *r)
{
	free_index(r);
	for (size_t i = 0; i < r->nr_funcs; i++) {
		free(r->funcs[i].name);
		free(r->funcs[i].file);
		free(r->funcs[i].seconds);
		free(r->funcs[i].self_seconds);
		free(r->funcs[i].calls);
	}
	free(r->funcs);
	free(r->run_sizes);
	free(r->run_total);
	free(r->sizes);
	memset(r, 0, sizeof(*r));
}

static struct scale_function *get_func(struct scale_result *r, const char *name,
				       const char *file, long line)
{
	struct func_entry *index = r->index, *e;
	struct scale_function *f, *grown;
	char *key;

	if (asprintf(&key, "%s\x1f%s\x1f%ld", name, file, line) < 0)
		return NULL;
	HASH_FIND_STR(index, key, e);
	if (e) {
		free(key);
		return &r->funcs[e->index];
	}
	grown = realloc(r->funcs, (r->nr_funcs + 1) * sizeof(*grown));
	e = calloc(1, sizeof(*e));
	if (grown)
		r->funcs = grown;
	if (!grown || !e) {
		free(key);
		free(e);
		return NULL;
	}
	f = &r->funcs[r->nr_funcs];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	f->file = strdup(file);
	f->line = line;
	f->seconds = calloc(r->nr_runs, sizeof(double));
	f->self_seconds = calloc(r->nr_runs, sizeof(double));
	f->calls = calloc(r->nr_runs, sizeof(double));
	if (!f->name || !f->file || !f->seconds || !f->self_seconds ||
	    !f->calls) {
		free(f->name);
		free(f->file);
		free(f->seconds);
		free(f->self_seconds);
		free(f->calls);
		free(key);
		free(e);
		return NULL;
	}
	e->key = key;
	e->index = r->nr_funcs++;
	HASH_ADD_KEYPTR(hh, index, e->key, strlen(e->key), e);
	r->index = index;
	return f;
}

int scale__add(struct scale_result *r, size_t run, const char *name,
	       const char *file, long line, double seconds, double self_seconds,
	       double calls)
{
	struct scale_function *f;

	if (run >= r->nr_runs)
		return -EINVAL;
	f = get_func(r, name, file, line);
	if (!f)
		return -ENOMEM;
	f->seconds[run] += seconds;
	f->self_seconds[run] += self_seconds;
	f->calls[run] += calls;
	r->run_total[run] += self_seconds;
	return 0;
}

double scale__median_at(const struct scale_result *r, const double *series,
			size_t size)
{
	double v[64], *buf = v, m;
	size_t n = 0;

	if (r->nr_runs > 64) {
		buf = malloc(r->nr_runs * sizeof(*buf));
		if (!buf)
			return NAN;
	}
	for (size_t i = 0; i < r->nr_runs; i++)
		if (r->run_sizes[i] == r->sizes[size])
			buf[n++] = series[i];
	qsort(buf, n, sizeof(*buf), cmp_double);
	m = !n ? 0 : n % 2 ? buf[n / 2] : (buf[n / 2 - 1] + buf[n / 2]) / 2;
	if (buf != v)
		free(buf);
	return m;
}

/* Present (non-zero) in every run, and big enough at the smallest size. */
static enum scale_skip check_series(const struct scale_result *r,
				    const double *series, double min)
{
	for (size_t i = 0; i < r->nr_runs; i++)
		if (!(series[i] > 0))
			return SCALE_MISSING;
	return scale__median_at(r, series, 0) >= min ? SCALE_FITTED
						     : SCALE_TOO_SMALL;
}

static const struct scale_result *g_sort_result; /* qsort: no context */

static int cmp_largest(const void *a, const void *b)
{
	const struct scale_function *x = a, *y = b;
	size_t last = g_sort_result->nr_sizes - 1;
	double vx = scale__median_at(g_sort_result, x->seconds, last);
	double vy = scale__median_at(g_sort_result, y->seconds, last);
	int c;

	if (vx != vy)
		return vx < vy ? 1 : -1;
	c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->file, y->file);
}

void scale__analyze(struct scale_result *r, double min_seconds)
{
	free_index(r); /* the order changes below */
	r->min_seconds = min_seconds;
	for (size_t i = 0; i < r->nr_funcs; i++) {
		struct scale_function *f = &r->funcs[i];

		f->skip = check_series(r, f->seconds, min_seconds);
		if (!f->skip && r->have_calls &&
		    check_series(r, f->calls, 0) != SCALE_FITTED)
			f->skip = SCALE_MISSING;
		if (!f->skip &&
		    (scale__fit(r->run_sizes, f->seconds, r->nr_runs,
				&f->time) ||
		     (r->have_calls && scale__fit(r->run_sizes, f->calls,
						  r->nr_runs, &f->calls_fit))))
			f->skip = SCALE_TOO_SMALL;
		f->self_skip = check_series(r, f->self_seconds, min_seconds);
		if (!f->self_skip && scale__fit(r->run_sizes, f->self_seconds,
						r->nr_runs, &f->self))
			f->self_skip = SCALE_TOO_SMALL;
	}
	if (r->nr_sizes && r->nr_funcs) {
		g_sort_result = r;
		qsort(r->funcs, r->nr_funcs, sizeof(*r->funcs), cmp_largest);
	}
}
