// SPDX-License-Identifier: BSD-2-Clause
/* Loads bpf/call_tracer.bpf.c, attaches its probes, reads its maps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collectors/call_tracer.h"
#include "collectors/prog_misses.h"
#include "call_tracer.skel.h"

#define MAX_LINKS 256

struct call_tracer {
	struct call_tracer_bpf *skel;
	struct bpf_link *links[MAX_LINKS];
	size_t nr_links;
	struct ring_buffer *rb;
	struct call_event *events;
	size_t nr_events, cap_events, max_events;
	uint64_t events_dropped; /* past max_events */
};

static const char *const lost_names[CALL_LOST__COUNT] = {
	[CALL_LOST_TOO_DEEP] = "calls_too_deep",
	[CALL_LOST_UNMATCHED] = "returns_unmatched",
	[CALL_LOST_POPPED] = "returns_missed",
	[CALL_LOST_PATH_MAP_FULL] = "path_map_full",
	[CALL_LOST_THREAD_MAP_FULL] = "thread_map_full",
	[CALL_LOST_NAME_MAP_FULL] = "name_map_full",
	[CALL_LOST_EVENTS] = "timeline_events_dropped",
	[CALL_LOST_SWITCH_SKIPPED] = "switch_runs_skipped",
	[CALL_LOST_SWITCH_OUT_MISSED] = "switch_out_missed",
	[CALL_LOST_PROBE_SKIPPED] = "probe_runs_skipped",
};

static int on_event(void *ctx, void *data, size_t len)
{
	struct call_tracer *t = ctx;

	if (len < sizeof(struct call_event))
		return 0;
	if (t->nr_events == t->max_events) {
		t->events_dropped++;
		return 0;
	}
	if (t->nr_events == t->cap_events) {
		size_t cap = t->cap_events ? t->cap_events * 2 : 4096;
		struct call_event *grown;

		if (cap > t->max_events)
			cap = t->max_events;
		grown = realloc(t->events, cap * sizeof(*grown));
		if (!grown) {
			t->events_dropped++;
			return 0;
		}
		t->events = grown;
		t->cap_events = cap;
	}
	memcpy(&t->events[t->nr_events++], data, sizeof(struct call_event));
	return 0;
}

struct call_tracer *call_tracer__new(uint64_t min_event_ns, size_t max_events,
				     char *why, size_t why_len)
{
	struct call_tracer *t = calloc(1, sizeof(*t));
	struct bpf_link *link;
	int err;

	if (!t) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	t->max_events = max_events;
	t->skel = call_tracer_bpf__open();
	if (!t->skel) {
		snprintf(why, why_len, "cannot open the BPF call tracer: %s",
			 strerror(errno));
		goto fail;
	}
	t->skel->rodata->min_event_ns = min_event_ns;
	err = call_tracer_bpf__load(t->skel);
	if (err) {
		snprintf(why, why_len, "cannot load the BPF call tracer: %s",
			 strerror(-err));
		goto fail;
	}
	link = bpf_program__attach(t->skel->progs.pc_switch);
	if (!link) {
		snprintf(why, why_len, "cannot attach to sched_switch: %s",
			 strerror(errno));
		goto fail;
	}
	t->links[t->nr_links++] = link;
	if (min_event_ns) {
		t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.call_events),
					 on_event, t, NULL);
		if (!t->rb) {
			snprintf(why, why_len,
				 "cannot open the event ring buffer: %s",
				 strerror(errno));
			goto fail;
		}
	}
	return t;
fail:
	call_tracer__free(t);
	return NULL;
}

void call_tracer__detach(struct call_tracer *t)
{
	for (size_t i = 0; i < t->nr_links; i++)
		bpf_link__destroy(t->links[i]);
	t->nr_links = 0;
}

void call_tracer__free(struct call_tracer *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	call_tracer__detach(t);
	call_tracer_bpf__destroy(t->skel);
	free(t->events);
	free(t);
}

static int attach_pair(struct call_tracer *t, pid_t pid, const char *path,
		       const char *provider, struct bpf_program *entry,
		       struct bpf_program *ret)
{
	struct bpf_link *l1, *l2;
	int err;

	if (t->nr_links + 2 > MAX_LINKS)
		return -E2BIG;
	l1 = bpf_program__attach_usdt(entry, pid, path, provider,
				      "function__entry", NULL);
	if (!l1)
		return -errno;
	l2 = bpf_program__attach_usdt(ret, pid, path, provider,
				      "function__return", NULL);
	if (!l2) {
		err = -errno;
		bpf_link__destroy(l1);
		return err;
	}
	t->links[t->nr_links++] = l1;
	t->links[t->nr_links++] = l2;
	return 0;
}

int call_tracer__attach_provider(struct call_tracer *t, pid_t pid,
				 const char *so)
{
	return attach_pair(t, pid, so, "pystrobe", t->skel->progs.pc_entry,
			   t->skel->progs.pc_return);
}

int call_tracer__attach_cpython(struct call_tracer *t, pid_t pid,
				const char *binary)
{
	return attach_pair(t, pid, binary, "python", t->skel->progs.pc_py_entry,
			   t->skel->progs.pc_py_return);
}

void call_tracer__poll(struct call_tracer *t)
{
	if (t->rb)
		ring_buffer__consume(t->rb);
}

void call_tracer__prune(struct call_tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.call_threads);
	static __u32 dead[MAX_CALL_THREADS];
	__u32 key, next, *prev = NULL;
	char path[32];
	int n = 0;

	while (n < MAX_CALL_THREADS &&
	       bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		/* /proc/TID exists for every live thread, listed or not */
		snprintf(path, sizeof(path), "/proc/%u", key);
		if (access(path, F_OK) != 0)
			dead[n++] = key;
	}
	for (int i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &dead[i]);
}

/* Reads every (key, value) of map fd into fresh arrays. */
static int dump_map(int fd, size_t key_size, size_t value_size, void **keys,
		    void **values, size_t *nr)
{
	size_t n = 0, cap = 0;
	char *k = NULL, *v = NULL, *prev = NULL;
	char next[64];

	if (key_size > sizeof(next))
		return -EINVAL;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			char *gk = realloc(k, nc * key_size);
			char *gv = gk ? realloc(v, nc * value_size) : NULL;

			if (gk)
				k = gk;
			if (gv)
				v = gv;
			if (!gk || !gv) {
				free(k);
				free(v);
				return -ENOMEM;
			}
			cap = nc;
		}
		memcpy(k + n * key_size, next, key_size);
		prev = k + n * key_size;
		if (bpf_map_lookup_elem(fd, next, v + n * value_size) == 0)
			n++;
	}
	*keys = k;
	*values = v;
	*nr = n;
	return 0;
}

/* The stats of every registered path (call_stats[node.slot]). */
static int read_stats(int fd, struct call_input *in)
{
	in->stat_ids = calloc(in->nr_nodes ?: 1, sizeof(*in->stat_ids));
	in->stats = calloc(in->nr_nodes ?: 1, sizeof(*in->stats));
	if (!in->stat_ids || !in->stats)
		return -ENOMEM;
	for (size_t i = 0; i < in->nr_nodes; i++) {
		__u32 slot = in->nodes[i].slot;
		struct call_stats *st = &in->stats[in->nr_stats];

		if (slot >= MAX_CALL_PATHS ||
		    bpf_map_lookup_elem(fd, &slot, st))
			continue;
		if (!st->calls && !st->resumes)
			continue; /* entered, never returned */
		in->stat_ids[in->nr_stats++] = in->node_ids[i];
	}
	return 0;
}

int call_tracer__collect(struct call_tracer *t, struct call_input *in)
{
	int err;

	memset(in, 0, sizeof(*in));
	call_tracer__poll(t);
	err = dump_map(bpf_map__fd(t->skel->maps.call_nodes), sizeof(__u64),
		       sizeof(struct call_node), (void **)&in->node_ids,
		       (void **)&in->nodes, &in->nr_nodes);
	if (!err)
		err = read_stats(bpf_map__fd(t->skel->maps.call_stats), in);
	if (!err)
		err = dump_map(bpf_map__fd(t->skel->maps.call_names),
			       sizeof(struct call_fn_key),
			       sizeof(struct call_fn_name),
			       (void **)&in->name_keys, (void **)&in->names,
			       &in->nr_names);
	if (err)
		call_input__free(in);
	return err;
}

size_t call_tracer__counters(struct call_tracer *t, const char **names,
			     int64_t *values, size_t max)
{
	size_t n = 0;

	for (int i = 0; i < CALL_LOST__COUNT && n < max; i++, n++) {
		names[n] = lost_names[i];
		values[n] = (int64_t)t->skel->bss->lost[i];
	}
	if (CALL_LOST_EVENTS < max)
		values[CALL_LOST_EVENTS] += t->events_dropped;
	if (CALL_LOST_SWITCH_SKIPPED < max)
		values[CALL_LOST_SWITCH_SKIPPED] =
			prog_misses(t->skel->progs.pc_switch);
	/* e.g. a probe hit while another BPF program ran on that CPU */
	if (CALL_LOST_PROBE_SKIPPED < max)
		values[CALL_LOST_PROBE_SKIPPED] =
			prog_misses(t->skel->progs.pc_entry) +
			prog_misses(t->skel->progs.pc_return) +
			prog_misses(t->skel->progs.pc_py_entry) +
			prog_misses(t->skel->progs.pc_py_return);
	return n;
}

const struct call_event *call_tracer__events(const struct call_tracer *t,
					     size_t *nr)
{
	*nr = t->nr_events;
	return t->events;
}
