/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Scaling analysis: per function, time and calls measured at several input
 * sizes n, fitted as power laws y = a * n^k by least squares on log-log
 * axes, with R^2 and a 95 % t-interval for k, and the nearest complexity
 * class: the model a * n^p * (ln n)^q, (p, q) in {(0,0), (0,1), (1,0),
 * (1,1), (2,0), (3,0)}, whose one free constant a leaves the smallest sum of
 * squared log residuals (each model has one free parameter, so their
 * residuals compare fairly; a log factor is told from a slightly larger
 * exponent by the curvature it gives on log-log axes).
 */
#ifndef PYSTROBE_SCALE_H
#define PYSTROBE_SCALE_H

#include <stdbool.h>
#include <stddef.h>

enum complexity {
	COMPLEXITY_1,
	COMPLEXITY_LOG_N,
	COMPLEXITY_N,
	COMPLEXITY_N_LOG_N,
	COMPLEXITY_N2,
	COMPLEXITY_N3,
	COMPLEXITY__COUNT,
};

struct scale_fit {
	double exponent;  /* k */
	double intercept; /* ln a */
	double r2;	  /* of the log-log fit; 1 when y does not vary */
	double lo, hi;	  /* 95 % t-interval of k */
	enum complexity complexity;
};

/*
 * Fits y = a * n^k over nr points. Returns 0, or -EINVAL when there are
 * fewer than three points, fewer than two distinct n, or an n or y that is
 * not positive.
 */
int scale__fit(const double *n, const double *y, size_t nr,
	       struct scale_fit *fit);

/* "O(1)", "O(log n)", "O(n)", "O(n log n)", "O(n^2)", "O(n^3)". */
const char *scale__complexity_name(enum complexity c);

/* Why a function's time was not fitted. */
enum scale_skip {
	SCALE_FITTED,
	SCALE_TOO_SMALL, /* below the minimum time at the smallest size */
	SCALE_MISSING,	 /* absent (or zero) in some run */
};

struct scale_function {
	char *name, *file;
	long line;
	/* Per run (scale_result.nr_runs), 0 where the function was absent. */
	double *seconds;	   /* inclusive */
	double *self_seconds;	   /* exclusive */
	double *calls;		   /* calls made; unused without call counts */
	enum scale_skip skip;	   /* of the inclusive time */
	enum scale_skip self_skip; /* of the self time */
	struct scale_fit time, self, calls_fit;
};

struct scale_result {
	const char *mode;  /* "calls" or "record" */
	bool have_calls;   /* call counts measured */
	double *run_sizes; /* [nr_runs] n of each run */
	double *run_total; /* [nr_runs] seconds: all functions' self time */
	size_t nr_runs;
	double *sizes; /* distinct n, ascending */
	size_t nr_sizes;
	struct scale_function *funcs;
	size_t nr_funcs;
	double min_seconds; /* at the smallest size, to be fitted */
	void *index;	    /* private: (name, file, line) -> function */
};

/* An empty result for runs of the given sizes (copied), in run order. */
int scale__init(struct scale_result *r, const char *mode, bool have_calls,
		const double *run_sizes, size_t nr_runs);
void scale__free(struct scale_result *r);

/*
 * Adds what one run measured for a function (summed if the same function is
 * added twice for that run). 0 or -ENOMEM.
 */
int scale__add(struct scale_result *r, size_t run, const char *name,
	       const char *file, long line, double seconds, double self_seconds,
	       double calls);

/*
 * Fits every function whose median time at the smallest size is at least
 * min_seconds and that was present in every run (calls too, when counted);
 * the others are marked too small or missing. Then sorts the functions by
 * their median time at the largest size, largest first.
 */
void scale__analyze(struct scale_result *r, double min_seconds);

/* Median over the runs at sizes[size] of a per-run series. */
double scale__median_at(const struct scale_result *r, const double *series,
			size_t size);

#endif
