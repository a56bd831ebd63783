// SPDX-License-Identifier: BSD-2-Clause
/* The live view of `pystrobe top`; the contract is in top_view.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "model/functions.h"
#include "model/offcpu_frames.h"
#include "output/text.h"
#include "output/top_view.h"

#define FIRST_REASON OFFCPU_SLEEP
#define COL	     9 /* a value column, its space included */

struct top_view {
	struct profile *run, *cur, *last;
	int64_t last_ns; /* the last interval's length; 0: none yet */
};

struct top_view *top_view__new(const struct profile *types)
{
	struct top_view *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->run = profile__new_like(types);
	v->cur = profile__new_like(types);
	v->last = profile__new_like(types);
	if (!v->run || !v->cur || !v->last) {
		top_view__free(v);
		errno = ENOMEM;
		return NULL;
	}
	return v;
}

void top_view__free(struct top_view *v)
{
	if (!v)
		return;
	profile__free(v->run);
	profile__free(v->cur);
	profile__free(v->last);
	free(v);
}

struct profile *top_view__interval(struct top_view *v)
{
	return v->cur;
}

struct profile *top_view__run(struct top_view *v)
{
	return v->run;
}

int top_view__end_interval(struct top_view *v, int64_t interval_ns)
{
	struct profile *next = profile__new_like(v->run);
	int err;

	if (!next)
		return -ENOMEM;
	err = profile__merge(v->run, v->cur, -1);
	if (err) {
		profile__free(next);
		return err;
	}
	profile__free(v->last);
	v->last = v->cur;
	v->cur = next;
	v->last_ns = interval_ns;
	return 0;
}

int64_t top_view__next_pid(const struct top_view *v, int64_t pid)
{
	int64_t best = 0;

	for (size_t i = 0; i < v->run->nr_samples; i++) {
		int64_t p = v->run->samples[i].pid;

		if (p > pid && (!best || p < best))
			best = p;
	}
	return best;
}

/* ---- rows ---- */

struct row {
	char *text;	/* key: "KIND function text", or the thread's */
	uint32_t frame; /* functions: a frame of it in the run's profile */
	int64_t pid, tid;
	int64_t own, total;		     /* CPU ns, last interval */
	int64_t own_run, total_run;	     /* CPU ns, the run */
	int64_t off[OFFCPU__COUNT], off_sum; /* own off-CPU ns, last interval */
};

/* Finds or adds a function's text in a hash of row indices. */
struct key_entry {
	char *key;
	size_t row;
	UT_hash_handle hh;
};

static enum top_sort g_sort; /* qsort has no context argument */

static int64_t sort_value(const struct row *r)
{
	switch (g_sort) {
	case TOP_SORT_OWN:
		return r->own;
	case TOP_SORT_TOTAL:
		return r->total;
	case TOP_SORT_OWN_TIME:
		return r->own_run;
	case TOP_SORT_TOTAL_TIME:
		return r->total_run;
	default:
		return r->off_sum;
	}
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int64_t vx = sort_value(x), vy = sort_value(y);
	bool by_total =
		g_sort == TOP_SORT_TOTAL || g_sort == TOP_SORT_TOTAL_TIME;

	if (vx != vy)
		return vx < vy ? 1 : -1;
	/*
	 * Equal totals (a caller and the callee where all its time goes):
	 * the caller first, as it has less of its own; otherwise more own
	 * time first.
	 */
	if (x->own_run != y->own_run)
		return (x->own_run < y->own_run) == by_total ? -1 : 1;
	return strcmp(x->text, y->text);
}

/* A function's identity across two profiles: its kind and text. */
static char *func_key(const struct profile *p, const struct function *f)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), "%d ", f->kind);
	profile__format_frame(p, &p->frames[f->frame], true, buf + strlen(buf),
			      sizeof(buf) - strlen(buf));
	return strdup(buf);
}

struct rows {
	struct row *r;
	size_t nr;
	struct key_entry *index;
};

static void rows_free(struct rows *rs)
{
	struct key_entry *e, *tmp;

	HASH_ITER(hh, rs->index, e, tmp)
	{
		HASH_DEL(rs->index, e);
		free(e);
	}
	for (size_t i = 0; i < rs->nr; i++)
		free(rs->r[i].text);
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

/* The row keyed key (taken over), added when new; NULL on ENOMEM. */
static struct row *row_for(struct rows *rs, char *key, size_t cap)
{
	struct key_entry *e;

	if (!key)
		return NULL;
	HASH_FIND_STR(rs->index, key, e);
	if (e) {
		free(key);
		return &rs->r[e->row];
	}
	e = calloc(1, sizeof(*e));
	if (!e || rs->nr == cap) {
		free(e);
		free(key);
		return NULL;
	}
	memset(&rs->r[rs->nr], 0, sizeof(rs->r[0]));
	rs->r[rs->nr].text = key;
	e->key = key;
	e->row = rs->nr++;
	HASH_ADD_KEYPTR(hh, rs->index, e->key, strlen(e->key), e);
	return &rs->r[e->row];
}

/* Function rows of run and last (both of one process, or all). */
static int function_rows(const struct profile *run, const struct profile *last,
			 struct rows *rs, int64_t *sum_off)
{
	struct functions fr = {.offcpu_type = -1}, fl = {.offcpu_type = -1};
	int cpu = profile__type_index(run, "cpu");
	size_t cap;
	int err = -ENOMEM;

	if (functions__build(run, FUNCTIONS_SELF_CODE, &fr) ||
	    functions__build(last, FUNCTIONS_SELF_CODE, &fl))
		goto out;
	cap = fr.nr + fl.nr;
	rs->r = calloc(cap + 1, sizeof(*rs->r));
	if (!rs->r)
		goto out;
	for (size_t i = 0; i < fr.nr; i++) {
		const struct function *f = &fr.funcs[i];
		struct row *r = row_for(rs, func_key(run, f), cap);

		if (!r)
			goto out;
		r->frame = f->frame;
		r->own_run = cpu >= 0 ? f->self[cpu] : 0;
		r->total_run = cpu >= 0 ? f->total[cpu] : 0;
	}
	for (size_t i = 0; i < fl.nr; i++) {
		const struct function *f = &fl.funcs[i];
		struct row *r = row_for(rs, func_key(last, f), cap);

		if (!r)
			goto out;
		r->own = cpu >= 0 ? f->self[cpu] : 0;
		r->total = cpu >= 0 ? f->total[cpu] : 0;
		for (int k = FIRST_REASON; k < OFFCPU__COUNT; k++) {
			r->off[k] = f->self_offcpu[k];
			r->off_sum += f->self_offcpu[k];
		}
	}
	for (int k = 0; k < OFFCPU__COUNT; k++)
		sum_off[k] = fr.sum_offcpu[k];
	err = 0;
out:
	functions__free(&fr);
	functions__free(&fl);
	return err;
}

static char *thread_key(const struct profile *p, const struct profile_sample *s)
{
	char *k;

	/* The first tab ends the ids: what follows is the row's text. */
	if (asprintf(&k, "%lld %lld\t%s (%s)", (long long)s->pid,
		     (long long)s->tid, profile__str(p, s->thread_name),
		     profile__str(p, s->comm)) < 0)
		return NULL;
	return k;
}

/* Thread rows: CPU and off-CPU per (pid, tid). */
static int thread_rows(const struct profile *run, const struct profile *last,
		       struct rows *rs, int64_t *sum_off)
{
	int cpu = profile__type_index(run, "cpu");
	int off = profile__type_index(run, "offcpu");
	size_t cap = run->nr_samples + last->nr_samples;

	rs->r = calloc(cap + 1, sizeof(*rs->r));
	if (!rs->r)
		return -ENOMEM;
	for (size_t i = 0; i < run->nr_samples; i++) {
		const struct profile_sample *s = &run->samples[i];
		struct row *r = row_for(rs, thread_key(run, s), cap);

		if (!r)
			return -ENOMEM;
		r->pid = s->pid;
		r->tid = s->tid;
		r->own_run += cpu >= 0 ? s->values[cpu] : 0;
		if (off >= 0 && s->values[off])
			sum_off[functions__reason(run, s)] += s->values[off];
	}
	for (size_t i = 0; i < last->nr_samples; i++) {
		const struct profile_sample *s = &last->samples[i];
		struct row *r = row_for(rs, thread_key(last, s), cap);

		if (!r)
			return -ENOMEM;
		r->own += cpu >= 0 ? s->values[cpu] : 0;
		if (off >= 0 && s->values[off]) {
			r->off[functions__reason(last, s)] += s->values[off];
			r->off_sum += s->values[off];
		}
	}
	for (size_t i = 0; i < rs->nr; i++) {
		rs->r[i].total = rs->r[i].own;
		rs->r[i].total_run = rs->r[i].own_run;
	}
	return 0;
}

/* ---- lines ---- */

static int add_line(struct top_screen *s, int *cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int add_line(struct top_screen *s, int *cap, const char *fmt, ...)
{
	va_list ap;

	if (s->nr == *cap) {
		int n = *cap ? 2 * *cap : 64;
		char(*l)[TOP_LINE_LEN] =
			reallocarray(s->lines, n, TOP_LINE_LEN);

		if (!l)
			return -ENOMEM;
		s->lines = l;
		*cap = n;
	}
	va_start(ap, fmt);
	vsnprintf(s->lines[s->nr++], TOP_LINE_LEN, fmt, ap);
	va_end(ap);
	return 0;
}

/* Appends a right-aligned value column to line. */
static void put_col(char *line, const char *value, int width)
{
	size_t len = strlen(line);
	int pad = width - (int)text__columns(value);

	snprintf(line + len, TOP_LINE_LEN - len, "%*s%s", pad > 0 ? pad : 0, "",
		 value);
}

static const char *pct(char *buf, int64_t ns, int64_t span)
{
	snprintf(buf, TEXT_VALUE_LEN, "%.1f%%", span ? 100.0 * ns / span : 0.0);
	return buf;
}

/* The profile of one process (pid), or p itself (pid 0). */
static struct profile *of_pid(struct profile *p, int64_t pid, bool *copy)
{
	struct profile *one;

	*copy = false;
	if (!pid)
		return p;
	one = profile__new_like(p);
	if (one && profile__merge(one, p, pid)) {
		profile__free(one);
		return NULL;
	}
	*copy = true;
	return one;
}

struct thread_id {
	int64_t pid, tid;
};

static int cmp_thread(const void *a, const void *b)
{
	const struct thread_id *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static void header_lines(const struct top_view *v, const struct top_opts *o,
			 const struct profile *run, const struct rows *rs,
			 const int64_t *off_last, struct top_screen *s,
			 int *cap)
{
	char v1[TEXT_VALUE_LEN], v2[TEXT_VALUE_LEN], line[TOP_LINE_LEN];
	int64_t cpu_last = 0, off_sum = 0;
	size_t nr_pids = 0, nr_threads = 0, len;
	const char *comm = "";
	struct thread_id *ids = calloc(run->nr_samples + 1, sizeof(*ids));

	for (int64_t p = top_view__next_pid(v, 0); p;
	     p = top_view__next_pid(v, p))
		nr_pids++;
	for (size_t i = 0; ids && i < run->nr_samples; i++) {
		ids[i].pid = run->samples[i].pid;
		ids[i].tid = run->samples[i].tid;
		if (run->samples[i].pid == o->pid)
			comm = profile__str(run, run->samples[i].comm);
	}
	if (ids) {
		qsort(ids, run->nr_samples, sizeof(*ids), cmp_thread);
		for (size_t i = 0; i < run->nr_samples; i++)
			nr_threads += !i || cmp_thread(&ids[i], &ids[i - 1]);
		free(ids);
	}
	for (size_t i = 0; i < rs->nr; i++)
		cpu_last += rs->r[i].own;
	if (o->pid)
		snprintf(line, sizeof(line),
			 "pystrobe top  %s  process %lld (%s), 1 of %zu",
			 o->what, (long long)o->pid, comm, nr_pids);
	else
		snprintf(line, sizeof(line), "pystrobe top  %s  %zu process%s",
			 o->what, nr_pids, nr_pids == 1 ? "" : "es");
	len = strlen(line);
	snprintf(line + len, sizeof(line) - len, ", %zu thread%s  %ld Hz  %s%s",
		 nr_threads, nr_threads == 1 ? "" : "s", o->freq,
		 text__ns(v1, (o->elapsed_ns / 1000000000) * 1e9),
		 o->paused ? "  [paused]" : "");
	add_line(s, cap, "%s", line);
	for (int k = FIRST_REASON; k < OFFCPU__COUNT; k++)
		off_sum += off_last[k];
	snprintf(line, sizeof(line), "CPU %s  off-CPU %s",
		 pct(v1, cpu_last, v->last_ns), text__ns(v2, off_sum));
	for (int k = FIRST_REASON, first = 1; k < OFFCPU__COUNT; k++) {
		if (!off_last[k])
			continue;
		len = strlen(line);
		snprintf(line + len, sizeof(line) - len, "%s%s %s",
			 first ? " (" : ", ", offcpu_reason_names[k],
			 text__ns(v1, off_last[k]));
		first = 0;
	}
	len = strlen(line);
	snprintf(line + len, sizeof(line) - len, "%s  in the last %s",
		 off_sum ? ")" : "", text__ns(v2, v->last_ns));
	add_line(s, cap, "%s", line);
	snprintf(line, sizeof(line), "lost:");
	for (size_t i = 0; i < v->run->nr_counters; i++) {
		if (!v->run->counters[i].value)
			continue;
		len = strlen(line);
		snprintf(line + len, sizeof(line) - len, " %s=%lld",
			 profile__str(v->run, v->run->counters[i].name),
			 (long long)v->run->counters[i].value);
	}
	if (!strcmp(line, "lost:"))
		strcat(line, " none");
	add_line(s, cap, "%s", line);
	add_line(s, cap, "%s", "");
}

/* The column header; marks where the sorted column is. */
static void column_header(const struct top_opts *o, const int64_t *sum_off,
			  struct top_screen *s, int *cap)
{
	static const char *const fn_cols[] = {"OWN%", "TOTAL%", "OWN TIME",
					      "TOTAL TIME", "OFF-CPU"};
	static const char *const th_cols[] = {"CPU%", "CPU%", "CPU TIME",
					      "CPU TIME", "OFF-CPU"};
	const char *const *cols = o->threads ? th_cols : fn_cols;
	char *line;
	int from = 0;

	add_line(s, cap, "%s", o->threads ? "    PID     TID" : "");
	line = s->lines[s->nr - 1];
	s->header = s->nr - 1;
	for (int c = 0; c < TOP_SORT__COUNT; c++) {
		int width = c == TOP_SORT_TOTAL_TIME ? COL + 2 : COL;

		if (o->threads &&
		    (c == TOP_SORT_TOTAL || c == TOP_SORT_TOTAL_TIME))
			continue;
		from = text__columns(line);
		put_col(line, cols[c], width);
		if (c == (int)o->sort ||
		    (o->threads && c + 1 == (int)o->sort &&
		     (c == TOP_SORT_OWN || c == TOP_SORT_OWN_TIME))) {
			s->sort_from = from;
			s->sort_len = width;
		}
	}
	for (int k = FIRST_REASON; k < OFFCPU__COUNT; k++)
		if (sum_off[k])
			put_col(line, offcpu_reason_names[k], COL);
	strcat(line, o->threads ? "  THREAD" : "  FUNCTION");
}

static void row_line(const struct top_view *v, const struct top_opts *o,
		     const struct row *r, const int64_t *sum_off,
		     const struct profile *run, char *line)
{
	char v1[TEXT_VALUE_LEN];
	int used;

	line[0] = 0;
	if (o->threads)
		snprintf(line, TOP_LINE_LEN, "%7lld %7lld", (long long)r->pid,
			 (long long)r->tid);
	put_col(line, pct(v1, r->own, v->last_ns), COL);
	if (!o->threads)
		put_col(line, pct(v1, r->total, v->last_ns), COL);
	put_col(line, text__ns(v1, r->own_run), COL);
	if (!o->threads)
		put_col(line, text__ns(v1, r->total_run), COL + 2);
	put_col(line, text__ns(v1, r->off_sum), COL);
	for (int k = FIRST_REASON; k < OFFCPU__COUNT; k++)
		if (sum_off[k])
			put_col(line, text__ns(v1, r->off[k]), COL);
	used = text__columns(line) + 2;
	strcat(line, "  ");
	if (o->threads) {
		const char *name = strchr(r->text, '\t') + 1;
		size_t len = strlen(line);

		text__function(line + len, TOP_LINE_LEN - len, name, NULL, -1,
			       0);
	} else {
		text__frame(line + strlen(line), TOP_LINE_LEN - strlen(line),
			    run, &run->frames[r->frame],
			    o->width > used ? o->width - used
			    : o->width	    ? 1
					    : 0);
	}
}

int top_view__render(const struct top_view *v, const struct top_opts *o,
		     struct top_screen *s)
{
	int64_t sum_off[OFFCPU__COUNT] = {}, off_last[OFFCPU__COUNT] = {};
	struct profile *run, *last;
	bool run_copy, last_copy;
	struct rows rs = {};
	int cap = s->nr = 0, err = -ENOMEM, rows;

	s->header = s->sort_from = s->sort_len = 0;
	cap = 0;
	free(s->lines);
	s->lines = NULL;
	run = of_pid(v->run, o->pid, &run_copy);
	last = of_pid(v->last, o->pid, &last_copy);
	if (!run || !last)
		goto out;
	err = o->threads ? thread_rows(run, last, &rs, sum_off)
			 : function_rows(run, last, &rs, sum_off);
	if (err)
		goto out;
	for (size_t i = 0; i < rs.nr; i++)
		for (int k = FIRST_REASON; k < OFFCPU__COUNT; k++)
			off_last[k] += rs.r[i].off[k];
	g_sort = o->sort;
	qsort(rs.r, rs.nr, sizeof(*rs.r), cmp_row);
	header_lines(v, o, run, &rs, off_last, s, &cap);
	column_header(o, sum_off, s, &cap);
	rows = o->height > 0 ? o->height - s->nr - 1 : (int)rs.nr;
	for (size_t i = 0; i < rs.nr && rows > 0; i++) {
		const struct row *r = &rs.r[i];

		/* Nothing to show (a pseudo-frame that never is a self). */
		if (!r->own && !r->total && !r->own_run && !r->total_run &&
		    !r->off_sum)
			continue;
		if (add_line(s, &cap, "%s", ""))
			goto out;
		row_line(v, o, r, sum_off, run, s->lines[s->nr - 1]);
		rows--;
	}
	err = add_line(s, &cap, "%s",
		       "q quit  space pause  1-5 sort  t threads  p process");
out:
	rows_free(&rs);
	if (run_copy)
		profile__free(run);
	if (last_copy)
		profile__free(last);
	return err;
}

void top_screen__free(struct top_screen *s)
{
	free(s->lines);
	memset(s, 0, sizeof(*s));
}
