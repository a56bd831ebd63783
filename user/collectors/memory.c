// SPDX-License-Identifier: BSD-2-Clause
/* Loads bpf/memory.bpf.c, attaches its probes, reads its maps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpf/memory_peak.h"
#include "collectors/memory.h"
#include "collectors/prog_misses.h"
#include "collectors/stack_build.h"
#include "cpython/pysym.h"
#include "process/procfs.h"
#include "memory.skel.h"

#define MAX_LINKS 256

struct mc_target {
	pid_t pid;
	bool python;
	struct pyproc pp;
	struct pysym *pysym;
	int64_t last_alloc_bytes, last_tick_ns; /* for the allocation rate */
	UT_hash_handle hh;
};

/* One site as the kernel keys it (process, stack id, flags, kind). */
struct raw_site {
	struct mem_site_key key;
	ssize_t site;	      /* index in the model; -1: not named yet */
	struct mem_site last; /* the kernel's figures when last read */
	UT_hash_handle hh;
};

/* A Python stack moved out of the kernel, kept two collects. */
struct cached_stack {
	__u64 id;
	uint64_t gen;
	struct py_stack stack;
	UT_hash_handle hh;
};

/* Objects of a model site, in 1/MEM_OBJECTS_ONE, summed exactly. */
struct site_objects {
	uint64_t alloc, freed, peak;
};

struct memory_collector {
	struct memory_bpf *skel;
	struct ring_buffer *new_sites;
	struct memory_result *m;
	struct bpf_link *links[MAX_LINKS];
	size_t nr_links;
	bool kernel_attached; /* the kernel-only view's programs */
	struct mc_target *targets;
	struct raw_site *raw;
	struct cached_stack *stacks;
	uint64_t collects;
	struct site_objects *objects; /* parallel to m->sites */
	size_t cap_objects;
	struct stack_builder *builder;
	struct py_stack stack; /* one read straight from the kernel */
	int64_t start_ns;
	/* userspace losses */
	int64_t unresolved_frames, missing_stacks;
};

static int on_new_site(void *ctx, void *data, size_t len);

struct memory_collector *memory_collector__new(struct memory_result *m,
					       uint64_t rate, char *why,
					       size_t why_len)
{
	struct memory_collector *mc = calloc(1, sizeof(*mc));
	int err;

	if (!mc || !(mc->builder = calloc(1, sizeof(*mc->builder)))) {
		free(mc);
		snprintf(why, why_len, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	mc->m = m;
	mc->builder->p = m->names;
	mc->skel = memory_bpf__open();
	if (!mc->skel) {
		err = -errno;
		snprintf(why, why_len,
			 "cannot open the BPF memory collector: %s",
			 strerror(-err));
		goto fail;
	}
	/* No native or kernel stacks: their maps stay one entry. */
	bpf_map__set_max_entries(mc->skel->maps.kernel_stacks, 1);
	bpf_map__set_max_entries(mc->skel->maps.user_stacks, 1);
	mc->skel->rodata->fault_every =
		rate / MEM_PAGE_SIZE ? rate / MEM_PAGE_SIZE : 1;
	err = memory_bpf__load(mc->skel);
	if (err) {
		snprintf(why, why_len,
			 "cannot load the BPF memory collector: %s%s",
			 strerror(-err),
			 err == -EPERM
				 ? " (pystrobe needs root, or CAP_BPF and "
				   "CAP_PERFMON)"
				 : "");
		goto fail;
	}
	mc->new_sites =
		ring_buffer__new(bpf_map__fd(mc->skel->maps.mem_new_sites),
				 on_new_site, mc, NULL);
	if (!mc->new_sites) {
		err = -errno;
		snprintf(why, why_len, "cannot open a ring buffer: %s",
			 strerror(-err));
		goto fail;
	}
	return mc;
fail:
	memory_collector__free(mc);
	errno = -err;
	return NULL;
}

void memory_collector__detach(struct memory_collector *mc)
{
	for (size_t i = 0; i < mc->nr_links; i++)
		bpf_link__destroy(mc->links[i]);
	mc->nr_links = 0;
	mc->kernel_attached = false;
}

int memory_collector__kernel_view(struct memory_collector *mc, pid_t pid,
				  char *why, size_t why_len)
{
	struct bpf_program *progs[] = {mc->skel->progs.pm_sys_exit,
				       mc->skel->progs.pm_sys_enter,
				       mc->skel->progs.pm_fault};
	struct mem_proc pm;
	__u32 key = pid;
	int err;

	if (bpf_map__lookup_elem(mc->skel->maps.mem_procs, &key, sizeof(key),
				 &pm, sizeof(pm), 0)) {
		snprintf(why, why_len, "process %d is not registered", pid);
		return -ENOENT;
	}
	pm.flags |= MEM_PROC_KERNEL_VIEW;
	if (bpf_map__update_elem(mc->skel->maps.mem_procs, &key, sizeof(key),
				 &pm, sizeof(pm), BPF_EXIST)) {
		err = -errno;
		snprintf(why, why_len, "cannot watch process %d: %s", pid,
			 strerror(-err));
		return err;
	}
	for (size_t i = 0; !mc->kernel_attached && i < 3; i++) {
		struct bpf_link *l = bpf_program__attach(progs[i]);

		if (!l || mc->nr_links == MAX_LINKS) {
			err = l ? -E2BIG : -errno;
			bpf_link__destroy(l);
			snprintf(why, why_len, "cannot attach %s: %s",
				 bpf_program__name(progs[i]), strerror(-err));
			return err;
		}
		mc->links[mc->nr_links++] = l;
	}
	mc->kernel_attached = true;
	return 0;
}

void memory_collector__free(struct memory_collector *mc)
{
	struct mc_target *t, *tt;
	struct raw_site *r, *rt;
	struct cached_stack *c, *ct;

	if (!mc)
		return;
	memory_collector__detach(mc);
	ring_buffer__free(mc->new_sites);
	memory_bpf__destroy(mc->skel);
	HASH_ITER(hh, mc->targets, t, tt)
	{
		HASH_DEL(mc->targets, t);
		pysym__free(t->pysym);
		free(t);
	}
	HASH_ITER(hh, mc->raw, r, rt)
	{
		HASH_DEL(mc->raw, r);
		free(r);
	}
	HASH_ITER(hh, mc->stacks, c, ct)
	{
		HASH_DEL(mc->stacks, c);
		free(c);
	}
	free(mc->objects);
	free(mc->builder);
	free(mc);
}

void memory_collector__start(struct memory_collector *mc, int64_t now_ns)
{
	struct mc_target *t;

	mc->start_ns = now_ns;
	for (t = mc->targets; t; t = t->hh.next)
		t->last_tick_ns = now_ns;
}

static struct mc_target *get_target(struct memory_collector *mc, pid_t pid)
{
	struct mc_target *t;

	HASH_FIND_INT(mc->targets, &pid, t);
	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->pid = pid;
	t->last_tick_ns = mc->start_ns;
	HASH_ADD_INT(mc->targets, pid, t);
	return t;
}

/* Forgets pid's live blocks: a new program's heap starts empty. */
static void forget_live(struct memory_collector *mc, pid_t pid)
{
	int fd = bpf_map__fd(mc->skel->maps.mem_live);
	struct mem_live_key key, next, *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		if (key.pid == (__u32)pid && !bpf_map_delete_elem(fd, &key)) {
			prev = NULL; /* deleting restarts the walk */
			continue;
		}
		prev = &key;
	}
}

int memory_collector__add_pid(struct memory_collector *mc, pid_t pid)
{
	struct mc_target *t = get_target(mc, pid);
	struct mem_proc fresh = {.peak_gen = 1};
	struct proc_info pi = {};
	__u32 key = pid;

	if (!t)
		return -ENOMEM;
	t->python = false;
	pysym__free(t->pysym);
	t->pysym = NULL;
	forget_live(mc, pid);
	if (bpf_map__update_elem(mc->skel->maps.mem_procs, &key, sizeof(key),
				 &fresh, sizeof(fresh), BPF_ANY) ||
	    bpf_map__update_elem(mc->skel->maps.procs, &key, sizeof(key), &pi,
				 sizeof(pi), BPF_ANY))
		return -errno;
	return 0;
}

int memory_collector__set_python(struct memory_collector *mc,
				 const struct pyproc *pp)
{
	struct mc_target *t = get_target(mc, pp->pid);
	struct mem_proc fresh = {.peak_gen = 1};
	__u32 key = pp->pid;

	if (!t)
		return -ENOMEM;
	pysym__free(t->pysym);
	t->pysym = pysym__new(pp);
	if (!t->pysym)
		return -ENOMEM;
	t->python = true;
	t->pp = *pp;
	/* Kept if allocations were counted already (before exec's runtime). */
	bpf_map__update_elem(mc->skel->maps.mem_procs, &key, sizeof(key),
			     &fresh, sizeof(fresh), BPF_NOEXIST);
	if (bpf_map__update_elem(mc->skel->maps.procs, &key, sizeof(key),
				 &pp->bpf, sizeof(pp->bpf), BPF_ANY))
		return -errno;
	return 0;
}

int memory_collector__attach_provider(struct memory_collector *mc, pid_t pid,
				      const char *so)
{
	struct bpf_link *l1, *l2;
	int err;

	if (mc->nr_links + 2 > MAX_LINKS)
		return -E2BIG;
	/* free first: no sampled block may be freed unseen once allocated */
	l1 = bpf_program__attach_usdt(mc->skel->progs.pm_free, pid, so,
				      "pystrobe", "free", NULL);
	if (!l1)
		return -errno;
	l2 = bpf_program__attach_usdt(mc->skel->progs.pm_alloc, pid, so,
				      "pystrobe", "alloc", NULL);
	if (!l2) {
		err = -errno;
		bpf_link__destroy(l1);
		return err;
	}
	mc->links[mc->nr_links++] = l1;
	mc->links[mc->nr_links++] = l2;
	return 0;
}

/* Moves the kernel's Python stacks into the cache; drops old ones. */
static void move_stacks(struct memory_collector *mc)
{
	int fd = bpf_map__fd(mc->skel->maps.py_stacks);
	__u64 key, next, *prev = NULL;
	struct cached_stack *c, *ct;

	mc->collects++;
	/* A site can show up one collect after its stack was moved. */
	HASH_ITER(hh, mc->stacks, c, ct)
	{
		if (c->gen + 2 <= mc->collects) {
			HASH_DEL(mc->stacks, c);
			free(c);
		}
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		HASH_FIND(hh, mc->stacks, &key, sizeof(key), c);
		if (c)
			continue;
		c = malloc(sizeof(*c));
		if (!c)
			break;
		if (bpf_map_lookup_elem(fd, &key, &c->stack)) {
			free(c);
			continue;
		}
		c->id = key;
		c->gen = mc->collects;
		HASH_ADD(hh, mc->stacks, id, sizeof(c->id), c);
	}
	for (c = mc->stacks; c; c = c->hh.next)
		if (c->gen == mc->collects)
			bpf_map_delete_elem(fd, &c->id);
}

static int grow_objects(struct memory_collector *mc)
{
	size_t need = mc->m->nr_sites, n = mc->cap_objects ?: 256;
	struct site_objects *grown;

	if (need <= mc->cap_objects)
		return 0;
	while (n < need)
		n *= 2;
	grown = realloc(mc->objects, n * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	memset(grown + mc->cap_objects, 0,
	       (n - mc->cap_objects) * sizeof(*grown));
	mc->objects = grown;
	mc->cap_objects = n;
	return 0;
}

/* The model site for a kernel site: its stack symbolized now. */
static ssize_t name_site(struct memory_collector *mc, const struct raw_site *r)
{
	const struct mem_site_key *k = &r->key;
	struct stack_builder *b = mc->builder;
	struct sample_key sk = {
		.pid = k->pid,
		.py_stack_id = k->py_stack_id,
		.kernel_stack_id = -1,
		.user_stack_id = -1,
		.flags = k->flags,
	};
	struct stack_sources src = {};
	const struct py_stack *st = NULL;
	struct cached_stack *c = NULL;
	pid_t pid = k->pid;
	struct mc_target *t;
	ssize_t idx;

	HASH_FIND_INT(mc->targets, &pid, t);
	if (t) {
		src.pysym = t->pysym;
		src.python = t->python;
	}
	if (k->py_stack_id) {
		HASH_FIND(hh, mc->stacks, &k->py_stack_id, sizeof(__u64), c);
		if (c)
			st = &c->stack;
		else if (!bpf_map_lookup_elem(
				 bpf_map__fd(mc->skel->maps.py_stacks),
				 &k->py_stack_id, &mc->stack))
			st = &mc->stack; /* not moved out yet */
		else
			mc->missing_stacks++;
	}
	b->depth = 0;
	b->err = 0;
	b->unresolved_frames = 0;
	stack_build__stack(b, &src, &sk, st);
	mc->unresolved_frames += b->unresolved_frames;
	if (b->err)
		return b->err;
	idx = memory__site(mc->m, pid, k->kind, b->frames, b->depth);
	if (idx >= 0 && grow_objects(mc))
		return -ENOMEM;
	return idx;
}

/* Adds what the kernel counted since the last read to the model site. */
static void apply(struct memory_collector *mc, struct raw_site *r,
		  const struct mem_site *v)
{
	struct memory_site *s = &mc->m->sites[r->site];
	struct site_objects *o = &mc->objects[r->site];
	const struct mem_site *l = &r->last;

	s->alloc_bytes += v->alloc_bytes - l->alloc_bytes;
	s->freed_bytes += v->freed_bytes - l->freed_bytes;
	s->alloc_samples += v->alloc_samples - l->alloc_samples;
	s->freed_samples += v->freed_samples - l->freed_samples;
	o->alloc += v->alloc_objects - l->alloc_objects;
	o->freed += v->freed_objects - l->freed_objects;
	s->alloc_objects =
		(o->alloc + MEM_OBJECTS_ONE / 2) >> MEM_OBJECTS_SHIFT;
	s->freed_objects =
		(o->freed + MEM_OBJECTS_ONE / 2) >> MEM_OBJECTS_SHIFT;
	for (int i = 0; i < MEM_LIFETIME_BUCKETS; i++)
		s->lifetime[i] += v->lifetime[i] - l->lifetime[i];
	r->last = *v;
}

/* The record of kernel site key, named (symbolized) if it is new. */
static int raw_site_of(struct memory_collector *mc,
		       const struct mem_site_key *key, struct raw_site **out)
{
	struct raw_site *r;
	ssize_t idx;

	HASH_FIND(hh, mc->raw, key, sizeof(*key), r);
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		r->key = *key;
		r->site = -1;
		HASH_ADD(hh, mc->raw, key, sizeof(r->key), r);
	}
	if (r->site < 0) {
		idx = name_site(mc, r);
		if (idx < 0)
			return (int)idx;
		r->site = idx;
	}
	*out = r;
	return 0;
}

/* Ring buffer callback: a site the kernel just created. */
static int on_new_site(void *ctx, void *data, size_t len)
{
	struct memory_collector *mc = ctx;
	struct raw_site *r;

	if (len < sizeof(struct mem_site_key))
		return 0;
	return raw_site_of(mc, data, &r);
}

void memory_collector__poll(struct memory_collector *mc)
{
	struct mc_target *t;

	/* Code objects are re-read: an address may have been reused. */
	for (t = mc->targets; t; t = t->hh.next)
		if (t->pysym)
			pysym__next_gen(t->pysym);
	ring_buffer__consume(mc->new_sites);
}

/*
 * Forgets exited threads, so thread churn does not fill the walker's
 * thread map (their sites are named already).
 */
static void prune_threads(struct memory_collector *mc)
{
	int fd = bpf_map__fd(mc->skel->maps.threads);
	__u32 dead[256];
	int n;

	n = stack_build__exited_threads(fd, dead, 256);
	for (int i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &dead[i]);
}

int memory_collector__collect(struct memory_collector *mc)
{
	int fd = bpf_map__fd(mc->skel->maps.mem_sites);
	struct mem_site_key key, next, *prev = NULL;
	struct mem_site v;
	struct raw_site *r;
	int err;

	memory_collector__poll(mc);
	move_stacks(mc);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		err = raw_site_of(mc, &key, &r);
		if (err)
			return err;
		apply(mc, r, &v);
	}
	prune_threads(mc);
	return 0;
}

/* The timeline point of target t at now_ns. */
static int timeline_point(struct memory_collector *mc, struct mc_target *t,
			  int64_t now_ns)
{
	struct timeline_point pt = {
		.t_ns = now_ns - mc->start_ns,
		.pid = t->pid,
		.cpu_pct = TIMELINE_UNKNOWN,
		.read_bytes = TIMELINE_UNKNOWN,
		.write_bytes = TIMELINE_UNKNOWN,
		.voluntary_switches = TIMELINE_UNKNOWN,
		.involuntary_switches = TIMELINE_UNKNOWN,
		.heap_live_bytes = TIMELINE_UNKNOWN,
		.alloc_bytes_per_s = TIMELINE_UNKNOWN,
	};
	struct mem_proc pm;
	__u32 key = t->pid;

	for (int i = 0; i < OFFCPU__COUNT; i++)
		pt.offcpu_ns[i] = TIMELINE_UNKNOWN;
	pt.rss_bytes = procfs__rss_bytes(t->pid);
	if (pt.rss_bytes < 0)
		return 0; /* gone */
	if (!bpf_map__lookup_elem(mc->skel->maps.mem_procs, &key, sizeof(key),
				  &pm, sizeof(pm), 0) &&
	    !(pm.flags & MEM_PROC_KERNEL_VIEW)) {
		double dt = (now_ns - t->last_tick_ns) / 1e9;

		pt.heap_live_bytes = pm.live_bytes;
		if (dt > 0)
			pt.alloc_bytes_per_s =
				(pm.alloc_bytes - t->last_alloc_bytes) / dt;
		t->last_alloc_bytes = pm.alloc_bytes;
	}
	t->last_tick_ns = now_ns;
	return timeline__add(&mc->m->timeline, &pt);
}

static int tick(struct memory_collector *mc, int64_t now_ns, bool last)
{
	struct mc_target *t;
	int err = memory_collector__collect(mc);

	err = err ?: memory__tick(mc->m, now_ns - mc->start_ns, last);
	for (t = mc->targets; !err && t; t = t->hh.next)
		err = timeline_point(mc, t, now_ns);
	return err;
}

int memory_collector__tick(struct memory_collector *mc, int64_t now_ns)
{
	return tick(mc, now_ns, false);
}

/* Ages of what is still live: each site's oldest live block. */
static void read_live(struct memory_collector *mc)
{
	int fd = bpf_map__fd(mc->skel->maps.mem_live);
	struct mem_live_key key, next, *prev = NULL;
	struct mem_live l;
	struct raw_site *r;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct memory_site *s;
		int64_t t;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &l))
			continue;
		HASH_FIND(hh, mc->raw, &l.site, sizeof(l.site), r);
		if (!r || r->site < 0)
			continue;
		s = &mc->m->sites[r->site];
		t = (int64_t)l.time_ns - mc->start_ns;
		if (t < 0)
			t = 0;
		if (s->oldest_live_ns < 0 || t < s->oldest_live_ns)
			s->oldest_live_ns = t;
	}
}

/* The processes' peaks and totals, and each site's part of its peak. */
static int read_procs(struct memory_collector *mc)
{
	struct mc_target *t;
	struct raw_site *r;

	for (t = mc->targets; t; t = t->hh.next) {
		struct memory_process *p = memory__process(mc->m, t->pid);
		struct mem_proc pm;
		__u32 key = t->pid;

		if (!p)
			return -ENOMEM;
		if (bpf_map__lookup_elem(mc->skel->maps.mem_procs, &key,
					 sizeof(key), &pm, sizeof(pm), 0))
			continue;
		p->peak_bytes = pm.peak_bytes;
		p->peak_objects = (pm.peak_objects + MEM_OBJECTS_ONE / 2) >>
				  MEM_OBJECTS_SHIFT;
		p->peak_ns =
			pm.peak_ns ? (int64_t)pm.peak_ns - mc->start_ns : -1;
		p->alloc_bytes = pm.alloc_bytes;
		p->alloc_objects = (pm.alloc_objects + MEM_OBJECTS_ONE / 2) >>
				   MEM_OBJECTS_SHIFT;
		p->live_bytes = pm.live_bytes;
		p->alloc_samples = pm.alloc_samples;
		for (r = mc->raw; r; r = r->hh.next) {
			if (r->key.pid != key || r->site < 0)
				continue;
			mc->m->sites[r->site].peak_bytes +=
				mem_peak_bytes(&r->last, pm.peak_gen);
			mc->objects[r->site].peak +=
				mem_peak_objects(&r->last, pm.peak_gen);
		}
	}
	for (size_t i = 0; i < mc->m->nr_sites; i++)
		mc->m->sites[i].peak_objects =
			(mc->objects[i].peak + MEM_OBJECTS_ONE / 2) >>
			MEM_OBJECTS_SHIFT;
	return 0;
}

static const char *const mem_lost_names[MEM_LOST__COUNT] = {
	[MEM_LOST_SITE_MAP_FULL] = "site_map_full",
	[MEM_LOST_LIVE_MAP_FULL] = "live_map_full",
	[MEM_LOST_PROC_MAP_FULL] = "proc_map_full",
	[MEM_LOST_UNTRACKED] = "untracked_samples",
	[MEM_LOST_UNKNOWN_FREE] = "unknown_frees",
	[MEM_LOST_SYSCALL_MAP_FULL] = "syscall_map_full",
	[MEM_LOST_NEW_SITE_EVENTS] = "new_site_events_dropped",
	[MEM_LOST_UNMATCHED_UNMAP] = "unmatched_unmaps",
};

/* The walker's drops that apply to memory, by name. */
static const struct {
	enum lost_counter idx;
	const char *name;
} walker_lost[] = {
	{LOST_PY_STACK_MAP_FULL, "py_stack_map_full"},
	{LOST_THREAD_MAP_FULL, "thread_map_full"},
	{LOST_READ_FAILED, "frame_read_failed"},
	{LOST_TRUNCATED, "truncated_stacks"},
};

static int set_counters(struct memory_collector *mc)
{
	struct profile *p = mc->m->names;
	int err = 0;

	for (int i = 0; !err && i < MEM_LOST__COUNT; i++)
		err = profile__set_counter(p, mem_lost_names[i],
					   mc->skel->bss->mem_lost[i]);
	for (size_t i = 0;
	     !err && i < sizeof(walker_lost) / sizeof(walker_lost[0]); i++)
		err = profile__set_counter(
			p, walker_lost[i].name,
			mc->skel->bss->lost[walker_lost[i].idx]);
	/* runs the kernel skipped: the probe fired while another BPF
	 * program ran on that CPU */
	err = err
		      ?: profile__set_counter(
				 p, "probe_runs_skipped",
				 prog_misses(mc->skel->progs.pm_alloc) +
					 prog_misses(mc->skel->progs.pm_free) +
					 prog_misses(mc->skel->progs.pm_fault) +
					 prog_misses(
						 mc->skel->progs.pm_sys_enter) +
					 prog_misses(
						 mc->skel->progs.pm_sys_exit));
	err = err
		      ?: profile__set_counter(p, "unresolved_frames",
					      mc->unresolved_frames);
	err = err
		      ?: profile__set_counter(p, "missing_stacks",
					      mc->missing_stacks);
	return err;
}

/*
 * Whether a target still runs. After an exit, a last point would show the
 * interpreter's teardown (the heap view stops at atexit, the kernel-only
 * view cannot), not the program.
 */
static bool any_alive(struct memory_collector *mc)
{
	struct mc_target *t;

	for (t = mc->targets; t; t = t->hh.next)
		if (procfs__stat(t->pid, 0, NULL) &&
		    procfs__stat(t->pid, 0, NULL) != 'Z')
			return true;
	return false;
}

int memory_collector__finish(struct memory_collector *mc, int64_t now_ns)
{
	int err = any_alive(mc) ? tick(mc, now_ns, true)
				: memory_collector__collect(mc);

	if (err)
		return err;
	read_live(mc);
	err = read_procs(mc);
	err = err ?: set_counters(mc);
	mc->m->duration_ns = now_ns - mc->start_ns;
	return err;
}
