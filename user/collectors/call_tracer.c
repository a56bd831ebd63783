// SPDX-License-Identifier: BSD-2-Clause
/* Loads bpf/call_tracer.bpf.c, attaches its probes, reads its maps. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collectors/call_tracer.h"
#include "collectors/prog_misses.h"
#include "process/remote_mem.h"
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
	uint64_t unfolded;	 /* events left in the targets' rings at end */
	bool raw; /* times as measured, tracing's cost included */
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
	[CALL_LOST_RING_OVERRUN] = "ring_events_overwritten",
	[CALL_LOST_RING_UNREADABLE] = "ring_reads_failed",
	[CALL_LOST_UNFOLDED] = "events_unfolded",
	[CALL_LOST_GAPS_OVERFLOW] = "offcpu_gaps_overflow",
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
				     bool raw, char *why, size_t why_len)
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
	t->skel->rodata->raw_times = raw;
	t->raw = raw;
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
	/* a thread's last events, folded as it exits */
	link = bpf_program__attach(t->skel->progs.pc_exit);
	if (!link) {
		snprintf(why, why_len,
			 "cannot attach to sched_process_exit: %s",
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

/* Attaches p1 to provider:n1 and p2 to provider:n2 in path, for pid. */
static int attach_pair(struct call_tracer *t, pid_t pid, const char *path,
		       const char *provider, struct bpf_program *p1,
		       const char *n1, struct bpf_program *p2, const char *n2)
{
	struct bpf_link *l1, *l2;
	int err;

	if (t->nr_links + 2 > MAX_LINKS)
		return -E2BIG;
	l1 = bpf_program__attach_usdt(p1, pid, path, provider, n1, NULL);
	if (!l1)
		return -errno;
	l2 = bpf_program__attach_usdt(p2, pid, path, provider, n2, NULL);
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
	struct bpf_link *l;
	int err;

	if (t->nr_links + 3 > MAX_LINKS)
		return -E2BIG;
	l = bpf_program__attach_usdt(t->skel->progs.pc_calibration, pid, so,
				     "pystrobe", "calibration", NULL);
	if (!l)
		return -errno;
	/* names before batches: a code is named before its events fold */
	err = attach_pair(t, pid, so, "pystrobe", t->skel->progs.pc_name,
			  "function__name", t->skel->progs.pc_batch, "batch");
	if (err) {
		bpf_link__destroy(l);
		return err;
	}
	t->links[t->nr_links++] = l;
	return 0;
}

int call_tracer__attach_cpython(struct call_tracer *t, pid_t pid,
				const char *binary)
{
	return attach_pair(t, pid, binary, "python", t->skel->progs.pc_py_entry,
			   "function__entry", t->skel->progs.pc_py_return,
			   "function__return");
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

/*
 * Events the provider wrote that no fold has taken yet, summed over the
 * live threads that have a ring (their heads read from their memory).
 */
static uint64_t pending_events(struct call_tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.call_threads);
	static struct call_thread th;
	__u32 key, next, *prev = NULL;
	uint64_t head, pending = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &th) || !th.ring)
			continue;
		if (remote_read_u64((pid_t)key, th.ring, &head) == 0 &&
		    head > th.read)
			pending += head - th.read < CALL_RING_EVENTS
					   ? head - th.read
					   : CALL_RING_EVENTS;
	}
	return pending;
}

/*
 * Gives running threads the time to fold what they wrote last (each
 * batches at the latest CALL_RING_FLUSH_NS after its last batch, when it
 * runs Python code, or when it leaves the CPU), then counts what is left.
 */
static void settle(struct call_tracer *t)
{
	struct timespec pause = {.tv_nsec = 5 * 1000 * 1000};
	int i;

	for (i = 0; i < (int)(2 * CALL_RING_FLUSH_NS / 5000000); i++) {
		if (!pending_events(t))
			return;
		nanosleep(&pause, NULL);
	}
	t->unfolded = pending_events(t);
}

/*
 * The timeline's durations less what tracing cost inside them (calibrated
 * processes); events no longer min_event_ns long go.
 */
static void correct_events(struct call_tracer *t, const struct call_input *in)
{
	size_t i, n = 0;

	if (!in->nr_calibs)
		return;
	for (i = 0; i < t->nr_events; i++) {
		struct call_event e = t->events[i];

		e.dur_ns = call_graph__event_ns(in, &e);
		if (e.dur_ns >= t->skel->rodata->min_event_ns)
			t->events[n++] = e;
	}
	t->nr_events = n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The value of field off (a __u64) at quantile q4 / 4 over n calibrations
 * (0: the lowest, 1: the lower quartile, 4: the highest; the nearest
 * rank).
 */
static uint64_t quartile(const struct call_calibration *s, size_t n, size_t off,
			 unsigned q4)
{
	uint64_t v[CALL_CALIB_SAMPLES];

	for (size_t i = 0; i < n; i++)
		memcpy(&v[i], (const char *)&s[i] + off, sizeof(v[i]));
	qsort(v, n, sizeof(v[0]), cmp_u64);
	return v[((n - 1) * q4 + 2) / 4];
}

/*
 * Per process, the lower quartile of each figure over its calibrations,
 * and how far apart they were. A calibration is a loop of a few ms on the
 * provider's poller thread; on a VM sharing its host such loops now and
 * then run 1.5-1.8x slower than usual (none did with the process kept to
 * one CPU), and the workload's calls sometimes pay that too, more often
 * not. No figure follows them every time; on the runs compared (README,
 * "What tracing costs") the lower quartile came closest more often than
 * the median, and it still follows the machine when it is slow for most
 * of a run.
 */
static int read_calibrations(int fd, struct call_input *in)
{
	static const size_t fields[] = {
		offsetof(struct call_calibration, overhead_ns),
		offsetof(struct call_calibration, inside_ns),
		offsetof(struct call_calibration, resume_overhead_ns),
		offsetof(struct call_calibration, resume_inside_ns),
	};
	static const size_t per_call =
		offsetof(struct call_calibration, overhead_ns);
	struct call_calib_samples *all = NULL;
	size_t nr = 0, n, k = 0;
	int err;

	err = dump_map(fd, sizeof(uint32_t), sizeof(*all),
		       (void **)&in->calib_pids, (void **)&all, &nr);
	if (err)
		return err;
	in->calibs = calloc(nr ?: 1, sizeof(*in->calibs));
	in->calib_ranges = calloc(nr ?: 1, sizeof(*in->calib_ranges));
	if (!in->calibs || !in->calib_ranges) {
		free(all);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nr; i++) {
		const struct call_calibration *s = all[i].s;

		n = all[i].n < CALL_CALIB_SAMPLES ? all[i].n
						  : CALL_CALIB_SAMPLES;
		if (!n)
			continue;
		in->calib_pids[k] = in->calib_pids[i];
		in->calib_ranges[k] = (struct call_calib_range){
			.calibrations = all[i].n,
			.kept = (uint32_t)n,
			.per_call_min_ns = quartile(s, n, per_call, 0),
			.per_call_max_ns = quartile(s, n, per_call, 4),
		};
		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]);
		     f++) {
			uint64_t m = quartile(s, n, fields[f], 1);

			memcpy((char *)&in->calibs[k] + fields[f], &m,
			       sizeof(m));
		}
		k++;
	}
	in->nr_calibs = k;
	free(all);
	return 0;
}

int call_tracer__collect(struct call_tracer *t, struct call_input *in)
{
	int err;

	memset(in, 0, sizeof(*in));
	settle(t);
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
	if (!err && !t->raw)
		err = read_calibrations(bpf_map__fd(t->skel->maps.call_calib),
					in);
	if (err) {
		call_input__free(in);
		return err;
	}
	correct_events(t, in);
	return 0;
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
	if (CALL_LOST_UNFOLDED < max)
		values[CALL_LOST_UNFOLDED] = t->unfolded;
	if (CALL_LOST_SWITCH_SKIPPED < max)
		values[CALL_LOST_SWITCH_SKIPPED] =
			prog_misses(t->skel->progs.pc_switch) +
			prog_misses(t->skel->progs.pc_exit);
	/* e.g. a probe hit while another BPF program ran on that CPU */
	if (CALL_LOST_PROBE_SKIPPED < max)
		values[CALL_LOST_PROBE_SKIPPED] =
			prog_misses(t->skel->progs.pc_batch) +
			prog_misses(t->skel->progs.pc_name) +
			prog_misses(t->skel->progs.pc_calibration) +
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
