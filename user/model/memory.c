// SPDX-License-Identifier: BSD-2-Clause
/* The memory model: sites, their series, and the conclusions drawn. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "model/memory.h"

const char *const memory_view_names[MEMORY_VIEW__COUNT] = {
	[MEMORY_VIEW_HEAP] = "heap",
	[MEMORY_VIEW_KERNEL] = "kernel",
};

/* Site key: this header followed by depth frame indices. */
struct site_key_hdr {
	int64_t pid;
	uint32_t kind, depth;
};

struct site_entry {
	void *key;
	size_t key_len;
	size_t idx;
	UT_hash_handle hh;
};

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *tmp;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	tmp = reallocarray(*arr, n, elem);
	if (!tmp)
		return -ENOMEM;
	*arr = tmp;
	*cap = n;
	return 0;
}

struct memory_result *memory__new(int64_t rate)
{
	struct memory_result *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->names = profile__new();
	if (!m->names) {
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	m->rate = rate;
	m->series_stride = 1;
	return m;
}

static void free_analysis(struct memory_result *m)
{
	free(m->functions);
	free(m->lines);
	free(m->leaks);
	free(m->temps);
	free(m->growth);
	m->functions = m->lines = NULL;
	m->leaks = NULL;
	m->temps = NULL;
	m->growth = NULL;
	m->nr_functions = m->nr_lines = m->nr_leaks = m->nr_temps = 0;
	m->nr_growth = 0;
}

void memory__free(struct memory_result *m)
{
	struct site_entry *e, *tmp, *index;

	if (!m)
		return;
	index = m->site_index;
	HASH_ITER(hh, index, e, tmp)
	{
		HASH_DEL(index, e);
		free(e->key);
		free(e);
	}
	for (size_t i = 0; i < m->nr_sites; i++) {
		free(m->sites[i].frames);
		free(m->sites[i].series);
	}
	free(m->sites);
	free(m->procs);
	timeline__free(&m->timeline);
	free_analysis(m);
	profile__free(m->names);
	free(m);
}

ssize_t memory__site(struct memory_result *m, int64_t pid,
		     enum mem_site_kind kind, const uint32_t *frames,
		     uint32_t depth)
{
	struct site_entry *e, *index = m->site_index;
	struct site_key_hdr hdr = {.pid = pid, .kind = kind, .depth = depth};
	size_t key_len = sizeof(hdr) + (size_t)depth * sizeof(uint32_t);
	struct memory_site *s;
	char *key;

	for (uint32_t i = 0; i < depth; i++)
		if (frames[i] >= m->names->nr_frames)
			return -EINVAL;
	key = malloc(key_len);
	if (!key)
		return -ENOMEM;
	memcpy(key, &hdr, sizeof(hdr));
	memcpy(key + sizeof(hdr), frames, (size_t)depth * sizeof(uint32_t));
	HASH_FIND(hh, index, key, key_len, e);
	if (e) {
		free(key);
		return e->idx;
	}
	e = calloc(1, sizeof(*e));
	if (!e || grow((void **)&m->sites, &m->cap_sites, m->nr_sites + 1,
		       sizeof(*m->sites))) {
		free(e);
		free(key);
		return -ENOMEM;
	}
	s = &m->sites[m->nr_sites];
	memset(s, 0, sizeof(*s));
	s->frames = malloc((depth ?: 1) * sizeof(uint32_t));
	if (!s->frames) {
		free(e);
		free(key);
		return -ENOMEM;
	}
	memcpy(s->frames, frames, (size_t)depth * sizeof(uint32_t));
	s->depth = depth;
	s->pid = pid;
	s->kind = kind;
	s->oldest_live_ns = -1;
	e->key = key;
	e->key_len = key_len;
	e->idx = m->nr_sites++;
	HASH_ADD_KEYPTR(hh, index, e->key, e->key_len, e);
	m->site_index = index;
	return e->idx;
}

struct memory_process *memory__process(struct memory_result *m, int64_t pid)
{
	struct memory_process *p;

	for (size_t i = 0; i < m->nr_procs; i++)
		if (m->procs[i].pid == pid)
			return &m->procs[i];
	if (grow((void **)&m->procs, &m->cap_procs, m->nr_procs + 1,
		 sizeof(*m->procs)))
		return NULL;
	p = &m->procs[m->nr_procs++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->peak_ns = -1;
	return p;
}

/* Drops every second point (keeping the latest of each pair). */
static void halve_series(struct memory_result *m)
{
	size_t n = m->series_n / 2;

	for (size_t i = 0; i < n; i++)
		m->series_t_ns[i] = m->series_t_ns[2 * i + 1];
	for (size_t s = 0; s < m->nr_sites; s++) {
		int64_t *v = m->sites[s].series;

		for (size_t i = 0; v && i < n; i++)
			v[i] = v[2 * i + 1];
	}
	m->series_n = n;
	m->series_stride *= 2;
}

int memory__tick(struct memory_result *m, int64_t t_ns, bool last)
{
	size_t n;

	/* A point every series_stride ticks, counted from the last one. */
	if (++m->series_ticks < m->series_stride && !last)
		return 0;
	m->series_ticks = 0;
	if (m->series_n == MEMORY_SERIES_MAX)
		halve_series(m);
	n = m->series_n;
	for (size_t s = 0; s < m->nr_sites; s++) {
		struct memory_site *site = &m->sites[s];

		if (!site->series) {
			site->series =
				calloc(MEMORY_SERIES_MAX, sizeof(int64_t));
			if (!site->series)
				return -ENOMEM;
		}
		site->series[n] = site->alloc_bytes - site->freed_bytes;
	}
	m->series_t_ns[n] = t_ns;
	m->series_n = n + 1;
	return 0;
}

const struct profile_frame *memory__leaf(const struct memory_result *m,
					 const struct memory_site *s)
{
	for (uint32_t i = 0; i < s->depth; i++) {
		const struct profile_frame *f = &m->names->frames[s->frames[i]];

		if (f->kind == FRAME_PYTHON)
			return f;
	}
	return s->depth ? &m->names->frames[s->frames[0]] : NULL;
}

double memory__median_lifetime_s(const uint32_t *hist, int64_t live)
{
	double total = live > 0 ? (double)live : 0, half, cum = 0;

	for (int i = 0; i < MEM_LIFETIME_BUCKETS; i++)
		total += hist[i];
	if (total <= 0)
		return -1;
	half = total / 2;
	for (int i = 0; i < MEM_LIFETIME_BUCKETS; i++) {
		double c = hist[i];

		if (c > 0 && cum + c >= half) {
			/* geometric within [2^i, 2^(i+1)) ns */
			double f = (half - cum) / c;

			return ldexp(1.0, i) * pow(2.0, f) / 1e9;
		}
		cum += c;
	}
	return INFINITY; /* the median sample is still alive */
}

/* ------------------------------- analysis --------------------------------- */

/* A location (innermost frame) or a function, while it is summed up. */
struct group_key {
	uint32_t name, file;
	int64_t line;
};

struct group {
	struct group_key key;
	int64_t alloc_bytes, alloc_objects, freed_bytes, freed_objects;
	int64_t peak_bytes, alloc_samples, freed_samples;
	uint32_t lifetime[MEM_LIFETIME_BUCKETS];
	int64_t oldest_live_ns;
	int64_t series[MEMORY_SERIES_MAX];
	UT_hash_handle hh;
};

static void free_groups(struct group *g)
{
	struct group *e, *tmp;

	HASH_ITER(hh, g, e, tmp)
	{
		HASH_DEL(g, e);
		free(e);
	}
}

/*
 * Sums the sites of one kind per innermost Python frame: per line or per
 * function.
 */
static int group_sites(const struct memory_result *m, enum mem_site_kind kind,
		       bool per_function, struct group **out)
{
	struct group *groups = NULL, *g;

	for (size_t i = 0; i < m->nr_sites; i++) {
		const struct memory_site *s = &m->sites[i];
		const struct profile_frame *f = memory__leaf(m, s);
		struct group_key k = {};

		if (s->kind != kind)
			continue;
		if (f) {
			k.name = f->name;
			k.file = f->file;
			k.line = per_function && f->kind == FRAME_PYTHON
					 ? f->start_line
					 : f->line;
		}
		HASH_FIND(hh, groups, &k, sizeof(k), g);
		if (!g) {
			g = calloc(1, sizeof(*g));
			if (!g) {
				free_groups(groups);
				return -ENOMEM;
			}
			g->key = k;
			g->oldest_live_ns = -1;
			HASH_ADD(hh, groups, key, sizeof(g->key), g);
		}
		g->alloc_bytes += s->alloc_bytes;
		g->alloc_objects += s->alloc_objects;
		g->freed_bytes += s->freed_bytes;
		g->freed_objects += s->freed_objects;
		g->peak_bytes += s->peak_bytes;
		g->alloc_samples += s->alloc_samples;
		g->freed_samples += s->freed_samples;
		for (int b = 0; b < MEM_LIFETIME_BUCKETS; b++)
			g->lifetime[b] += s->lifetime[b];
		if (s->oldest_live_ns >= 0 &&
		    (g->oldest_live_ns < 0 ||
		     s->oldest_live_ns < g->oldest_live_ns))
			g->oldest_live_ns = s->oldest_live_ns;
		for (size_t p = 0; s->series && p < m->series_n; p++)
			g->series[p] += s->series[p];
	}
	*out = groups;
	return 0;
}

static bool g_by_inuse; /* qsort has no context argument */

static int64_t rank_of(const struct memory_fn *f)
{
	return g_by_inuse ? f->inuse_bytes : f->alloc_bytes;
}

static int cmp_fn(const void *a, const void *b)
{
	const struct memory_fn *x = a, *y = b;

	if (rank_of(x) != rank_of(y))
		return rank_of(x) < rank_of(y) ? 1 : -1;
	if (x->alloc_bytes != y->alloc_bytes)
		return x->alloc_bytes < y->alloc_bytes ? 1 : -1;
	if (x->name != y->name)
		return x->name < y->name ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int to_fns(const struct memory_result *m, struct group *groups,
		  struct memory_fn **out, size_t *nr)
{
	size_t n = HASH_COUNT(groups), i = 0;
	struct memory_fn *fns = calloc(n ?: 1, sizeof(*fns));
	struct group *g;

	if (!fns)
		return -ENOMEM;
	for (g = groups; g; g = g->hh.next, i++) {
		fns[i].name = g->key.name;
		fns[i].file = g->key.file;
		fns[i].line = g->key.line;
		fns[i].alloc_bytes = g->alloc_bytes;
		fns[i].alloc_objects = g->alloc_objects;
		fns[i].inuse_bytes = g->alloc_bytes - g->freed_bytes;
		fns[i].inuse_objects = g->alloc_objects - g->freed_objects;
		fns[i].peak_bytes = g->peak_bytes;
	}
	g_by_inuse = m->by_inuse;
	qsort(fns, n, sizeof(*fns), cmp_fn);
	*out = fns;
	*nr = n;
	return 0;
}

/* Least-squares slope of v over t (seconds), points [from, to). */
static double slope(const int64_t *t_ns, const int64_t *v, size_t from,
		    size_t to)
{
	double st = 0, sv = 0, stt = 0, stv = 0, n = (double)(to - from), d;

	if (to - from < 2)
		return 0;
	for (size_t i = from; i < to; i++) {
		double t = t_ns[i] / 1e9;

		st += t;
		sv += (double)v[i];
		stt += t * t;
		stv += t * (double)v[i];
	}
	d = n * stt - st * st;
	return d > 0 ? (n * stv - st * sv) / d : 0;
}

/*
 * Whether a location's in-use series is a leak (see memory.h), with its
 * growth rate over the second half in *rate: its lowest point in the last
 * quarter of the run is above its highest in the first half by more than
 * sampling noise, and it still grows over the second half at a good part
 * of its mean rate. A cache that filled and stopped, or a working set
 * that comes and goes, has no such rise.
 */
static bool is_leak(const struct memory_result *m,
		    const struct memory_analysis_opts *o, const struct group *g,
		    double *rate)
{
	size_t n = m->series_n, mid = 0, quarter = 0;
	const int64_t *t = m->series_t_ns, *v = g->series;
	double late, all, noise, end, first_max = 0, last_min = INFINITY;

	*rate = 0;
	if ((int)n < o->leak_min_points)
		return false;
	end = (double)v[n - 1];
	while (mid < n && t[mid] <= t[n - 1] / 2)
		mid++;
	quarter = mid;
	while (quarter < n && t[quarter] < t[n - 1] / 4 * 3)
		quarter++;
	if (mid == 0 || n - mid < 2 || quarter == n || end <= 0)
		return false;
	for (size_t i = 0; i < mid; i++)
		first_max = fmax(first_max, (double)v[i]);
	for (size_t i = quarter; i < n; i++)
		last_min = fmin(last_min, (double)v[i]);
	late = slope(t, v, mid, n);
	all = slope(t, v, 0, n);
	/* a sample stands for about `rate` bytes: Poisson noise of a sum */
	noise = 3 * sqrt((double)m->rate * fmax(end, (double)m->rate)) +
		2.0 * (double)m->rate;
	*rate = late;
	return last_min - first_max > noise && late > 0 &&
	       (all <= 0 || late >= o->leak_min_late_share * all);
}

static int cmp_leak(const void *a, const void *b)
{
	const struct memory_leak *x = a, *y = b;

	if (x->inuse_bytes != y->inuse_bytes)
		return x->inuse_bytes < y->inuse_bytes ? 1 : -1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_temp(const void *a, const void *b)
{
	const struct memory_temp *x = a, *y = b;

	if (x->alloc_bytes != y->alloc_bytes)
		return x->alloc_bytes < y->alloc_bytes ? 1 : -1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Adds the leaks among groups to m->leaks (room for them allocated). */
static void find_leaks(struct memory_result *m,
		       const struct memory_analysis_opts *o,
		       struct group *groups, enum mem_site_kind kind)
{
	struct group *g;
	double rate;

	for (g = groups; g; g = g->hh.next) {
		struct memory_leak *l;

		if (!is_leak(m, o, g, &rate))
			continue;
		l = &m->leaks[m->nr_leaks++];
		l->name = g->key.name;
		l->file = g->key.file;
		l->line = g->key.line;
		l->kind = kind;
		/* (the last point: a process that exited may have torn its
		 * mappings down after it) */
		l->inuse_bytes = g->series[m->series_n - 1];
		l->growth_bytes_per_s = rate;
		l->age_s = (m->duration_ns - g->oldest_live_ns) / 1e9;
		if (g->oldest_live_ns < 0) {
			/* none live any more: since it started to grow */
			size_t i = 0;

			while (i + 1 < m->series_n && g->series[i] <= 0)
				i++;
			l->age_s = (m->series_t_ns[m->series_n - 1] -
				    (i ? m->series_t_ns[i - 1] : 0)) /
				   1e9;
		}
		if (l->age_s < 0)
			l->age_s = 0;
	}
}

static int find_temps(struct memory_result *m,
		      const struct memory_analysis_opts *o, struct group *lines)
{
	size_t n = HASH_COUNT(lines);
	double secs = m->duration_ns > 0 ? m->duration_ns / 1e9 : 0;
	int64_t total = 0;
	struct group *g;

	m->temps = calloc(n ?: 1, sizeof(*m->temps));
	if (!m->temps)
		return -ENOMEM;
	for (g = lines; g; g = g->hh.next)
		total += g->alloc_bytes;
	for (g = lines; g; g = g->hh.next) {
		int64_t live = g->alloc_samples - g->freed_samples;
		double median = memory__median_lifetime_s(g->lifetime, live);
		struct memory_temp *tp;

		if (total <= 0 || g->alloc_bytes < o->temp_min_share * total ||
		    median < 0 || median > o->temp_max_lifetime_s)
			continue;
		tp = &m->temps[m->nr_temps++];
		tp->name = g->key.name;
		tp->file = g->key.file;
		tp->line = g->key.line;
		tp->alloc_bytes = g->alloc_bytes;
		tp->alloc_objects = g->alloc_objects;
		tp->alloc_bytes_per_s = secs > 0 ? g->alloc_bytes / secs : 0;
		tp->median_lifetime_s = median;
		tp->freed_share = g->alloc_bytes > 0 ? (double)g->freed_bytes /
							       g->alloc_bytes
						     : 0;
	}
	qsort(m->temps, m->nr_temps, sizeof(*m->temps), cmp_temp);
	return 0;
}

static int64_t growth_of(const struct memory_growth *g)
{
	return g->faulted_bytes + g->mapped_bytes;
}

static int cmp_growth(const void *a, const void *b)
{
	const struct memory_growth *x = a, *y = b;

	if (growth_of(x) != growth_of(y))
		return growth_of(x) < growth_of(y) ? 1 : -1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* The row of location k in m->growth, added if new. */
static struct memory_growth *growth_row(struct memory_result *m,
					const struct group_key *k)
{
	struct memory_growth *r;

	for (size_t i = 0; i < m->nr_growth; i++) {
		r = &m->growth[i];
		if (r->name == k->name && r->file == k->file &&
		    r->line == k->line)
			return r;
	}
	r = &m->growth[m->nr_growth++];
	r->name = k->name;
	r->file = k->file;
	r->line = k->line;
	return r;
}

/* One row per location of the fault and mapping groups. */
static int find_growth(struct memory_result *m, struct group *faults,
		       struct group *maps)
{
	size_t n = HASH_COUNT(faults) + HASH_COUNT(maps);
	struct group *g;

	m->growth = calloc(n ?: 1, sizeof(*m->growth));
	if (!m->growth)
		return -ENOMEM;
	for (g = faults; g; g = g->hh.next)
		growth_row(m, &g->key)->faulted_bytes = g->alloc_bytes;
	for (g = maps; g; g = g->hh.next) {
		struct memory_growth *r = growth_row(m, &g->key);

		r->mapped_bytes = g->alloc_bytes;
		r->unmapped_bytes = g->freed_bytes;
	}
	qsort(m->growth, m->nr_growth, sizeof(*m->growth), cmp_growth);
	return 0;
}

int memory__analyze(struct memory_result *m,
		    const struct memory_analysis_opts *o)
{
	struct group *lines = NULL, *fns = NULL, *faults = NULL, *maps = NULL;
	int err;

	free_analysis(m);
	err = group_sites(m, MEM_SITE_HEAP, false, &lines);
	err = err ?: group_sites(m, MEM_SITE_HEAP, true, &fns);
	err = err ?: group_sites(m, MEM_SITE_FAULT, false, &faults);
	err = err ?: group_sites(m, MEM_SITE_MMAP, false, &maps);
	err = err ?: to_fns(m, lines, &m->lines, &m->nr_lines);
	err = err ?: to_fns(m, fns, &m->functions, &m->nr_functions);
	if (!err) {
		m->leaks = calloc(HASH_COUNT(lines) + HASH_COUNT(maps) ?: 1,
				  sizeof(*m->leaks));
		err = m->leaks ? 0 : -ENOMEM;
	}
	if (!err) {
		find_leaks(m, o, lines, MEM_SITE_HEAP);
		find_leaks(m, o, maps, MEM_SITE_MMAP); /* what stays mapped */
		qsort(m->leaks, m->nr_leaks, sizeof(*m->leaks), cmp_leak);
	}
	err = err ?: find_temps(m, o, lines);
	err = err ?: find_growth(m, faults, maps);
	free_groups(lines);
	free_groups(fns);
	free_groups(faults);
	free_groups(maps);
	if (err)
		free_analysis(m);
	return err;
}

/* ------------------------------ as a profile ------------------------------ */

/* Copies frame f of m->names into p; its index there, or negative. */
static int64_t copy_frame(struct profile *p, const struct memory_result *m,
			  uint32_t idx)
{
	const struct profile_frame *f = &m->names->frames[idx];
	struct profile_frame c = *f;

	c.name = profile__intern(p, profile__str(m->names, f->name));
	c.file = profile__intern(p, profile__str(m->names, f->file));
	if (c.name == (uint32_t)-1 || c.file == (uint32_t)-1)
		return -ENOMEM;
	return profile__add_frame(p, &c);
}

/* Go's heap profile types, in Go's order. */
static const char *const heap_types[4][2] = {
	{"alloc_objects", "count"},
	{"alloc_space", "bytes"},
	{"inuse_objects", "count"},
	{"inuse_space", "bytes"},
};

struct profile *memory__to_profile(const struct memory_result *m)
{
	struct profile *p = profile__new();
	uint32_t *frames = NULL;
	int err = p ? 0 : -ENOMEM;

	for (size_t i = 0; !err && i < 4; i++)
		if (profile__add_type(p, heap_types[i][0], heap_types[i][1]) <
		    0)
			err = -ENOMEM;
	if (!err) {
		p->period_type.type = profile__intern(p, "space");
		p->period_type.unit = profile__intern(p, "bytes");
		p->period = m->rate;
		p->duration_nanos = m->duration_ns;
	}
	for (size_t i = 0; !err && i < m->nr_sites; i++) {
		const struct memory_site *s = &m->sites[i];
		int64_t v[PROFILE_MAX_TYPES] = {
			s->alloc_objects, s->alloc_bytes,
			s->alloc_objects - s->freed_objects,
			s->alloc_bytes - s->freed_bytes};
		uint32_t *grown;

		if (s->kind != MEM_SITE_HEAP)
			continue;
		grown = realloc(frames, (s->depth ?: 1) * sizeof(*frames));
		if (!grown) {
			err = -ENOMEM;
			break;
		}
		frames = grown;
		for (uint32_t d = 0; !err && d < s->depth; d++) {
			int64_t idx = copy_frame(p, m, s->frames[d]);

			if (idx < 0)
				err = (int)idx;
			else
				frames[d] = (uint32_t)idx;
		}
		err = err
			      ?: profile__add_sample(p, frames, s->depth, v,
						     s->pid, 0, NULL, NULL);
	}
	for (size_t i = 0; !err && i < m->names->nr_counters; i++)
		err = profile__set_counter(
			p, profile__str(m->names, m->names->counters[i].name),
			m->names->counters[i].value);
	free(frames);
	if (err) {
		profile__free(p);
		errno = err < 0 ? -err : ENOMEM;
		return NULL;
	}
	return p;
}
