// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "process/usage.h"
#include "session/usage_timeline.h"

#define MAX_THREADS 8192 /* threads of one process compared per reading */

struct watched {
	pid_t pid;
	int64_t read_ns; /* when last read */
	struct proc_usage usage;
	struct thread_switches *threads; /* by tid */
	int nr_threads;
};

struct usage_timeline {
	struct timeline tl;
	struct watched *procs;
	size_t nr, cap;
	struct timeline_point *pending;
	size_t nr_pending, cap_pending;
	struct thread_switches *scratch; /* MAX_THREADS */
	int64_t start_ns;
};

struct usage_timeline *usage_timeline__new(int64_t interval_ns)
{
	struct usage_timeline *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->scratch = calloc(MAX_THREADS, sizeof(*u->scratch));
	if (!u->scratch) {
		free(u);
		errno = ENOMEM;
		return NULL;
	}
	u->tl.interval_ns = interval_ns;
	return u;
}

void usage_timeline__free(struct usage_timeline *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nr; i++)
		free(u->procs[i].threads);
	free(u->procs);
	free(u->pending);
	free(u->scratch);
	timeline__free(&u->tl);
	free(u);
}

static int cmp_tid(const void *a, const void *b)
{
	const struct thread_switches *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Reads w afresh; -ESRCH when it is gone or its pid was reused. */
static int read_watched(struct usage_timeline *u, struct watched *w,
			int64_t now, struct proc_usage *usage, int *nr_threads)
{
	int err = usage__read(w->pid, usage);

	if (err)
		return err;
	if (w->usage.start && usage->start != w->usage.start)
		return -ESRCH;
	*nr_threads = usage__switches(w->pid, u->scratch, MAX_THREADS);
	if (*nr_threads < 0)
		return *nr_threads;
	qsort(u->scratch, *nr_threads, sizeof(*u->scratch), cmp_tid);
	return 0;
}

/* Keeps this reading (and its threads' counts) as w's last. */
static int remember(struct usage_timeline *u, struct watched *w, int64_t now,
		    const struct proc_usage *usage, int nr_threads)
{
	struct thread_switches *t = NULL;

	if (nr_threads) {
		t = malloc(nr_threads * sizeof(*t));
		if (!t)
			return -ENOMEM;
		memcpy(t, u->scratch, nr_threads * sizeof(*t));
	}
	free(w->threads);
	w->threads = t;
	w->nr_threads = nr_threads;
	w->usage = *usage;
	w->read_ns = now;
	if (!u->tl.io_bytes && usage->io != USAGE_IO_NONE)
		u->tl.io_bytes =
			usage->io == USAGE_IO_STORAGE ? "storage" : "syscalls";
	return 0;
}

int usage_timeline__watch(struct usage_timeline *u, pid_t pid, int64_t now)
{
	struct proc_usage usage;
	struct watched *w;
	int nr_threads;

	for (size_t i = 0; i < u->nr; i++)
		if (u->procs[i].pid == pid)
			return 0;
	if (u->nr == u->cap) {
		size_t cap = u->cap ? 2 * u->cap : 16;
		struct watched *v = reallocarray(u->procs, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		u->procs = v;
		u->cap = cap;
	}
	w = &u->procs[u->nr];
	memset(w, 0, sizeof(*w));
	w->pid = pid;
	if (read_watched(u, w, now, &usage, &nr_threads))
		return 0; /* gone already */
	u->nr++;
	return remember(u, w, now, &usage, nr_threads);
}

void usage_timeline__start(struct usage_timeline *u, int64_t now)
{
	struct proc_usage usage;
	struct timespec ts;
	int nr_threads;

	u->start_ns = now;
	clock_gettime(CLOCK_REALTIME, &ts);
	u->tl.start_unix_ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	for (size_t i = 0; i < u->nr; i++)
		if (!read_watched(u, &u->procs[i], now, &usage, &nr_threads))
			remember(u, &u->procs[i], now, &usage, nr_threads);
}

/*
 * Switches since w's last reading, thread by thread (both lists by tid):
 * a thread not seen before counts from zero; one that exited since took
 * its last switches with it.
 */
static void switches_since(const struct usage_timeline *u,
			   const struct watched *w, int nr, int64_t *vol,
			   int64_t *invol)
{
	int j = 0;

	*vol = *invol = 0;
	for (int i = 0; i < nr; i++) {
		const struct thread_switches *c = &u->scratch[i];

		while (j < w->nr_threads && w->threads[j].tid < c->tid)
			j++;
		if (j < w->nr_threads && w->threads[j].tid == c->tid &&
		    w->threads[j].voluntary <= c->voluntary &&
		    w->threads[j].involuntary <= c->involuntary) {
			*vol += c->voluntary - w->threads[j].voluntary;
			*invol += c->involuntary - w->threads[j].involuntary;
		} else {
			/* New, or a reused tid: its counts began since. */
			*vol += c->voluntary;
			*invol += c->involuntary;
		}
	}
}

static int add_pending(struct usage_timeline *u, const struct timeline_point *p)
{
	if (u->nr_pending == u->cap_pending) {
		size_t cap = u->cap_pending ? 2 * u->cap_pending : 16;
		struct timeline_point *v =
			reallocarray(u->pending, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		u->pending = v;
		u->cap_pending = cap;
	}
	u->pending[u->nr_pending++] = *p;
	return 0;
}

/* The point of w over [its last reading, now). */
static void make_point(const struct usage_timeline *u, const struct watched *w,
		       const struct proc_usage *now_usage, int nr_threads,
		       int64_t now, struct timeline_point *p)
{
	int64_t span = now - w->read_ns;
	const struct proc_usage *a = &w->usage, *b = now_usage;

	memset(p, 0, sizeof(*p));
	p->t_ns = now - u->start_ns;
	p->pid = w->pid;
	p->cpu_pct = span > 0 ? 100.0 * (b->cpu_ns - a->cpu_ns) / span : 0;
	for (int i = 0; i < OFFCPU__COUNT; i++)
		p->offcpu_ns[i] = TIMELINE_UNKNOWN;
	p->rss_bytes = b->rss_bytes;
	p->read_bytes = p->write_bytes = TIMELINE_UNKNOWN;
	if (a->io == b->io && b->io != USAGE_IO_NONE) {
		p->read_bytes = b->read_bytes - a->read_bytes;
		p->write_bytes = b->write_bytes - a->write_bytes;
	}
	switches_since(u, w, nr_threads, &p->voluntary_switches,
		       &p->involuntary_switches);
	p->heap_live_bytes = p->alloc_bytes_per_s = TIMELINE_UNKNOWN;
}

int usage_timeline__take(struct usage_timeline *u, pid_t only, bool final,
			 int64_t now, struct timeline_point **points,
			 size_t *nr)
{
	int64_t min_span = final ? 1000000 : u->tl.interval_ns / 10;
	size_t kept = 0;
	int err = 0;

	u->nr_pending = 0;
	for (size_t i = 0; i < u->nr; i++) {
		struct watched *w = &u->procs[i];
		struct timeline_point p;
		struct proc_usage usage;
		int nr_threads;
		bool gone;

		if (err || (only && w->pid != only) ||
		    (!only && now - w->read_ns < min_span)) {
			u->procs[kept++] = *w;
			continue;
		}
		gone = read_watched(u, w, now, &usage, &nr_threads) != 0;
		if (!gone) {
			make_point(u, w, &usage, nr_threads, now, &p);
			err = add_pending(u, &p);
			err = err ?: remember(u, w, now, &usage, nr_threads);
		}
		if (gone || only) {
			free(w->threads);
			continue;
		}
		u->procs[kept++] = *w;
	}
	u->nr = kept;
	*points = u->pending;
	*nr = u->nr_pending;
	return err;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct timeline_point *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int usage_timeline__commit(struct usage_timeline *u)
{
	int err = 0;

	qsort(u->pending, u->nr_pending, sizeof(*u->pending), cmp_pid);
	for (size_t i = 0; !err && i < u->nr_pending; i++)
		err = timeline__add(&u->tl, &u->pending[i]);
	u->nr_pending = 0;
	return err;
}

const struct timeline *usage_timeline__get(const struct usage_timeline *u)
{
	return &u->tl;
}
