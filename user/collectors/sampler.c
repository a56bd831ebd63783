// SPDX-License-Identifier: BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uthash.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "symbols/ksyms.h"
#include "symbols/nativesym.h"
#include "model/offcpu_frames.h"
#include "process/procfs.h"
#include "cpython/pysym.h"
#include "cpython/pyunwind.h"
#include "collectors/sampler.h"
#include "collectors/prog_misses.h"
#include "collectors/stack_build.h"
#include "sampler.skel.h"

struct target {
	pid_t pid;
	bool python;
	struct pyproc pp;
	char comm[32];
	struct pysym *pysym;
	struct nativesym *native;
	int64_t offcpu_ns[OFFCPU__COUNT]; /* drained since the last take */
	UT_hash_handle hh;
};

struct cached_stack {
	uint64_t id;
	struct py_stack stack;
	UT_hash_handle hh;
};

struct sampler {
	struct sampler_opts opts;
	struct sampler_bpf *skel;
	struct bpf_link **links;
	int nr_links;
	struct target *targets;
	struct cached_stack *stacks; /* Python stacks moved out of the kernel */
	struct ksyms *ksyms;
	/* Userspace losses. */
	int64_t unresolved_frames, missing_stacks, missing_native;
	uint64_t seeded_stacks;
};

static const char *const lost_names[LOST__COUNT] = {
	[LOST_SAMPLE_MAP_FULL] = "sample_map_full",
	[LOST_PY_STACK_MAP_FULL] = "py_stack_map_full",
	[LOST_THREAD_MAP_FULL] = "thread_map_full",
	[LOST_READ_FAILED] = "frame_read_failed",
	[LOST_TRUNCATED] = "truncated_stacks",
	[LOST_NO_TSTATE] = "no_python_thread",
	[LOST_KERNEL_STACK] = "kernel_stack_failed",
	[LOST_USER_STACK] = "native_stack_failed",
	[LOST_OFFCPU_MAP_FULL] = "offcpu_map_full",
	[LOST_OFFCPU_MISSED] = "offcpu_switch_missed",
	[LOST_OFFCPU_OUT_MISSED] = "offcpu_switch_out_missed",
};

static uint64_t ktime_now(void)
{
	struct timespec ts;

	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int open_cpu_clock(int cpu, int freq)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_freq = freq,
		.freq = 1,
	};

	return syscall(__NR_perf_event_open, &attr, -1, cpu, -1,
		       PERF_FLAG_FD_CLOEXEC);
}

struct sampler *sampler__new(const struct sampler_opts *opts, char *why,
			     size_t why_len)
{
	struct sampler *s;
	int ncpu, err = 0;

	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->opts = *opts;
	s->skel = sampler_bpf__open();
	if (!s->skel) {
		err = -errno;
		snprintf(why, why_len, "cannot open BPF object: %s",
			 strerror(-err));
		goto cleanup;
	}
	s->skel->rodata->collect_kernel = opts->kernel;
	s->skel->rodata->collect_native = opts->native;
	if (!opts->offcpu) {
		bpf_program__set_autoload(s->skel->progs.ps_switch, false);
		bpf_program__set_autoload(s->skel->progs.ps_wakeup, false);
	}
	/* Stack maps cost 1 KiB per entry: only size them when asked for. */
	if (!opts->kernel)
		bpf_map__set_max_entries(s->skel->maps.kernel_stacks, 1);
	if (!opts->native)
		bpf_map__set_max_entries(s->skel->maps.user_stacks, 1);
	err = sampler_bpf__load(s->skel);
	if (err) {
		snprintf(why, why_len, "cannot load BPF programs: %s%s",
			 strerror(-err),
			 err == -EPERM ? " (pystrobe needs root, or "
					 "CAP_BPF and CAP_PERFMON)"
				       : "");
		goto cleanup;
	}
	if (opts->kernel) {
		s->ksyms = ksyms__load();
		if (!s->ksyms) {
			err = -errno;
			snprintf(why, why_len, "cannot read kernel symbols: %s",
				 strerror(-err));
			goto cleanup;
		}
	}
	if (opts->offcpu) {
		struct bpf_program *progs[] = {s->skel->progs.ps_switch,
					       s->skel->progs.ps_wakeup};

		s->links = calloc(2, sizeof(*s->links));
		if (!s->links) {
			err = -ENOMEM;
			goto cleanup;
		}
		for (int i = 0; i < 2; i++) {
			struct bpf_link *link = bpf_program__attach(progs[i]);

			if (!link) {
				err = -errno;
				snprintf(why, why_len,
					 "cannot attach to sched_switch: %s",
					 strerror(-err));
				goto cleanup;
			}
			s->links[s->nr_links++] = link;
		}
	}
	if (!opts->cpu)
		return s;
	ncpu = libbpf_num_possible_cpus();
	if (ncpu < 0) {
		err = ncpu;
		snprintf(why, why_len, "cannot count CPUs");
		goto cleanup;
	}
	{
		struct bpf_link **links = realloc(
			s->links, (s->nr_links + ncpu) * sizeof(*links));

		if (!links) {
			err = -ENOMEM;
			goto cleanup;
		}
		s->links = links;
	}
	for (int cpu = 0; cpu < ncpu; cpu++) {
		int fd = open_cpu_clock(cpu, opts->freq);
		struct bpf_link *link;

		if (fd < 0) {
			if (errno == ENODEV)
				continue; /* CPU offline */
			err = -errno;
			snprintf(why, why_len,
				 "cannot open cpu-clock event on CPU %d: %s%s",
				 cpu, strerror(-err),
				 err == -EACCES || err == -EPERM
					 ? " (pystrobe needs root, or "
					   "CAP_PERFMON)"
					 : "");
			goto cleanup;
		}
		link = bpf_program__attach_perf_event(s->skel->progs.ps_sample,
						      fd);
		if (!link) {
			err = -errno;
			close(fd);
			snprintf(why, why_len, "cannot attach to CPU %d: %s",
				 cpu, strerror(-err));
			goto cleanup;
		}
		s->links[s->nr_links++] = link;
	}
	return s;
cleanup:
	sampler__free(s);
	errno = -err;
	return NULL;
}

void sampler__free(struct sampler *s)
{
	struct target *t, *tt;
	struct cached_stack *c, *ct;

	if (!s)
		return;
	/* A perf_event link owns its perf fd: destroying it closes both. */
	for (int i = 0; i < s->nr_links; i++)
		bpf_link__destroy(s->links[i]);
	free(s->links);
	sampler_bpf__destroy(s->skel);
	HASH_ITER(hh, s->targets, t, tt)
	{
		HASH_DEL(s->targets, t);
		pysym__free(t->pysym);
		nativesym__free(t->native);
		free(t);
	}
	HASH_ITER(hh, s->stacks, c, ct)
	{
		HASH_DEL(s->stacks, c);
		free(c);
	}
	ksyms__free(s->ksyms);
	free(s);
}

static struct target *get_target(struct sampler *s, pid_t pid)
{
	struct target *t;

	HASH_FIND_INT(s->targets, &pid, t);
	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->pid = pid;
	HASH_ADD_INT(s->targets, pid, t);
	return t;
}

int sampler__add_pid(struct sampler *s, pid_t pid)
{
	struct proc_info pi = {};
	struct target *t = get_target(s, pid);
	__u32 key = pid;

	if (!t)
		return -ENOMEM;
	/* (Re)starts without a runtime: a new program may have been exec'd. */
	t->python = false;
	procfs__comm(pid, 0, t->comm, sizeof(t->comm));
	pysym__free(t->pysym);
	t->pysym = NULL;
	nativesym__free(t->native);
	t->native = NULL;
	if (bpf_map__update_elem(s->skel->maps.procs, &key, sizeof(key), &pi,
				 sizeof(pi), BPF_ANY))
		return -errno;
	return 0;
}

int sampler__set_python(struct sampler *s, const struct pyproc *pp)
{
	struct target *t = get_target(s, pp->pid);
	__u32 key = pp->pid;

	if (!t)
		return -ENOMEM;
	pysym__free(t->pysym);
	t->pysym = pysym__new(pp);
	if (!t->pysym)
		return -ENOMEM;
	t->python = true;
	t->pp = *pp;
	procfs__comm(pp->pid, 0, t->comm, sizeof(t->comm));
	if (s->opts.native && !t->native)
		t->native = nativesym__new(pp->pid);
	if (bpf_map__update_elem(s->skel->maps.procs, &key, sizeof(key),
				 &pp->bpf, sizeof(pp->bpf), BPF_ANY))
		return -errno;
	return 0;
}

void sampler__poll_gil(struct sampler *s)
{
	struct target *t;

	for (t = s->targets; t; t = t->hh.next) {
		__u32 key = t->pid;

		if (!t->python || t->pp.bpf.gil_lo || pyproc__find_gil(&t->pp))
			continue;
		bpf_map__update_elem(s->skel->maps.procs, &key, sizeof(key),
				     &t->pp.bpf, sizeof(t->pp.bpf), BPF_EXIST);
	}
}

/* System call number and first two arguments a thread is blocked in. */
static long thread_syscall(pid_t pid, pid_t tid, __u64 *arg0, __u64 *arg1)
{
	char path[64], buf[256];
	long nr = -1;
	FILE *f;

	*arg0 = *arg1 = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) &&
	    sscanf(buf, "%ld %llx %llx", &nr, (unsigned long long *)arg0,
		   (unsigned long long *)arg1) < 1)
		nr = -1;
	fclose(f);
	return nr;
}

int sampler__seed_blocked(struct sampler *s, pid_t pid)
{
	int fd = bpf_map__fd(s->skel->maps.offcpu_starts);
	uint64_t now = ktime_now();
	struct cached_stack *c;
	struct dirent *e;
	struct target *t;
	char path[64];
	DIR *dh;

	HASH_FIND_INT(s->targets, &pid, t);
	if (!s->opts.offcpu || !t || !t->python)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dh = opendir(path);
	if (!dh)
		return -errno;
	while ((e = readdir(dh))) {
		struct offcpu_start st = {};
		pid_t tid = atoi(e->d_name);
		char state = tid > 0 ? procfs__stat(pid, tid, NULL) : 0;
		__u64 arg0, arg1;
		__u32 key = tid;
		long nr;

		if (state != 'S' && state != 'D')
			continue;
		nr = thread_syscall(pid, tid, &arg0, &arg1);
		st.key.pid = pid;
		st.key.tid = tid;
		st.key.kernel_stack_id = -1;
		st.key.user_stack_id = -1;
		st.key.reason = offcpu_reason_of(
			offcpu_state_of_letter(state), nr, arg0, arg1,
			t->pp.bpf.gil_lo, t->pp.bpf.gil_hi);
		st.ts = now;
		c = malloc(sizeof(*c));
		if (!c)
			break;
		if (pyunwind__stack(&t->pp, tid, &c->stack) == 0 &&
		    (c->stack.depth || c->stack.flags)) {
			/* Ids with the top bit are userspace's own. */
			c->id = (1ULL << 63) | ++s->seeded_stacks;
			HASH_ADD(hh, s->stacks, id, sizeof(c->id), c);
			st.key.py_stack_id = c->id;
			st.key.flags = c->stack.flags;
		} else {
			free(c);
			st.key.flags = STACK_NO_TSTATE;
		}
		/* A thread that ran since then has its own entry: keep it. */
		bpf_map_update_elem(fd, &key, &st, BPF_NOEXIST);
	}
	closedir(dh);
	return 0;
}

void sampler__take_offcpu(struct sampler *s, pid_t pid,
			  int64_t ns[OFFCPU__COUNT])
{
	struct target *t;

	HASH_FIND_INT(s->targets, &pid, t);
	for (int i = 0; i < OFFCPU__COUNT; i++) {
		ns[i] = t ? t->offcpu_ns[i] : 0;
		if (t)
			t->offcpu_ns[i] = 0;
	}
}

bool sampler__has_python(struct sampler *s, pid_t pid)
{
	struct target *t;

	HASH_FIND_INT(s->targets, &pid, t);
	return t && t->python;
}

/* Moves every Python stack out of the kernel map into the cache. */
static void move_py_stacks(struct sampler *s)
{
	int fd = bpf_map__fd(s->skel->maps.py_stacks);
	__u64 key, next, *prev = NULL;
	struct cached_stack *c;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		HASH_FIND(hh, s->stacks, &key, sizeof(key), c);
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
		HASH_ADD(hh, s->stacks, id, sizeof(c->id), c);
	}
	/* Cached now: the kernel may drop them (a reinsert is identical). */
	for (c = s->stacks; c; c = c->hh.next)
		bpf_map_delete_elem(fd, &c->id);
}

static const struct py_stack *find_py_stack(struct sampler *s, __u64 id)
{
	struct cached_stack *c;

	HASH_FIND(hh, s->stacks, &id, sizeof(id), c);
	if (c)
		return &c->stack;
	c = malloc(sizeof(*c));
	if (!c)
		return NULL;
	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.py_stacks), &id,
				&c->stack)) {
		free(c);
		return NULL;
	}
	c->id = id;
	HASH_ADD(hh, s->stacks, id, sizeof(c->id), c);
	return &c->stack;
}

/*
 * Forgets threads that have exited, so thread churn does not fill the
 * thread map. Runs after a drain: their samples are already named.
 */
static void prune_threads(struct sampler *s)
{
	int fd = bpf_map__fd(s->skel->maps.threads);
	__u32 key, next, *prev = NULL, dead[256];
	struct py_thread th;
	char path[64];
	int n = 0;

	while (n < 256 && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &th))
			continue;
		snprintf(path, sizeof(path), "/proc/%u/task/%u", th.pid, key);
		if (access(path, F_OK) != 0)
			dead[n++] = key;
	}
	for (int i = 0; i < n; i++) {
		bpf_map_delete_elem(fd, &dead[i]);
		bpf_map_delete_elem(bpf_map__fd(s->skel->maps.offcpu_starts),
				    &dead[i]);
	}
}

/* Snapshot of the count map's keys: deleting while iterating restarts. */
static struct sample_key *collect_keys(int fd, size_t *nr)
{
	struct sample_key *keys = NULL, *prev = NULL, next;
	size_t n = 0, cap = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct sample_key *nk = realloc(keys, nc * sizeof(*nk));

			if (!nk)
				break;
			keys = nk;
			cap = nc;
		}
		keys[n] = next;
		prev = &keys[n++];
	}
	*nr = n;
	return keys;
}

/*
 * Adds one aggregated key to p: `amount` is a sample count (CPU) or
 * nanoseconds (off-CPU, then the reason is the leaf pseudo-frame).
 */
static int add_key(struct sampler *s, struct stack_builder *b,
		   const struct sample_key *key, __u64 amount, bool offcpu)
{
	const struct sampler_values *vi = &s->opts.values;
	int tfd = bpf_map__fd(s->skel->maps.threads);
	const struct py_stack *st = NULL;
	int64_t values[PROFILE_MAX_TYPES] = {};
	struct py_thread th = {};
	__u32 tid = key->tid;
	pid_t pid = key->pid;
	struct stack_sources src;
	struct target *t;
	int64_t ns;

	HASH_FIND_INT(s->targets, &pid, t);
	if (!t)
		return 0;
	src = (struct stack_sources){
		.pysym = t->pysym,
		.native = t->native,
		.ksyms = s->ksyms,
		.kernel_stacks_fd = bpf_map__fd(s->skel->maps.kernel_stacks),
		.user_stacks_fd = bpf_map__fd(s->skel->maps.user_stacks),
		.python = t->python,
	};
	if (key->py_stack_id) {
		st = find_py_stack(s, key->py_stack_id);
		if (!st)
			s->missing_stacks++;
	}
	b->depth = 0;
	if (offcpu) {
		char reason[32];

		snprintf(reason, sizeof(reason), OFFCPU_FRAME_PREFIX "%s]",
			 offcpu_reason_names[key->reason < OFFCPU__COUNT
						     ? key->reason
						     : OFFCPU_OTHER]);
		stack_build__push(b, FRAME_MARKER, reason, NULL, 0, 0);
	}
	stack_build__stack(b, &src, key, st);
	if (b->err)
		return b->err;
	if (bpf_map_lookup_elem(tfd, &tid, &th) || !th.comm[0]) {
		/* Not seen by the walker (no runtime yet): ask /proc. */
		procfs__comm(pid, tid, th.comm, sizeof(th.comm));
	}
	th.comm[sizeof(th.comm) - 1] = 0;
	ns = offcpu ? (int64_t)amount : (int64_t)amount * b->p->period;
	if (offcpu)
		t->offcpu_ns[key->reason > OFFCPU_NONE &&
					     key->reason < OFFCPU__COUNT
				     ? key->reason
				     : OFFCPU_OTHER] += ns;
	if (!offcpu && vi->samples >= 0)
		values[vi->samples] = amount;
	if (!offcpu && vi->cpu >= 0)
		values[vi->cpu] = ns;
	if (offcpu && vi->offcpu >= 0)
		values[vi->offcpu] = ns;
	if (vi->wall >= 0)
		values[vi->wall] = ns;
	return profile__add_sample(b->p, b->frames, b->depth, values, key->pid,
				   key->tid, th.comm, t->comm);
}

/* Moves one counter map (CPU sample counts or off-CPU ns) into p. */
static int drain_map(struct sampler *s, struct stack_builder *b, int fd,
		     bool offcpu)
{
	struct sample_key *keys;
	size_t nr_keys;
	__u64 amount;
	int err = 0;

	keys = collect_keys(fd, &nr_keys);
	for (size_t i = 0; i < nr_keys && !err; i++) {
		if (bpf_map_lookup_and_delete_elem(fd, &keys[i], &amount))
			continue;
		err = add_key(s, b, &keys[i], amount, offcpu);
	}
	free(keys);
	return err;
}

int sampler__drain(struct sampler *s, struct profile *p)
{
	struct stack_builder *b;
	struct target *t;
	int err;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->p = p;
	for (t = s->targets; t; t = t->hh.next)
		if (t->pysym)
			pysym__next_gen(t->pysym);
	move_py_stacks(s);
	err = drain_map(s, b, bpf_map__fd(s->skel->maps.counts), false);
	if (!err && s->opts.offcpu)
		err = drain_map(s, b, bpf_map__fd(s->skel->maps.offcpu_ns),
				true);
	s->unresolved_frames += b->unresolved_frames;
	s->missing_native += b->missing_native;
	free(b);
	if (!err)
		prune_threads(s);
	return err;
}

int sampler__finish_offcpu(struct sampler *s, struct profile *p)
{
	int fd = bpf_map__fd(s->skel->maps.offcpu_starts);
	__u32 key, next, *prev = NULL;
	struct offcpu_start st;
	struct stack_builder *b;
	uint64_t now = ktime_now();
	int err = 0;

	if (!s->opts.offcpu)
		return 0;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->p = p;
	/* Threads still off the CPU: their wait lasted until now. */
	while (!err && bpf_map_get_next_key(fd, prev, &next) == 0) {
		uint64_t blocked_end;

		key = next;
		prev = &key;
		char path[64];

		if (bpf_map_lookup_elem(fd, &key, &st) || now <= st.ts)
			continue;
		snprintf(path, sizeof(path), "/proc/%u/task/%u", st.key.pid,
			 key);
		if (access(path, F_OK) != 0)
			continue; /* exited while off the CPU */
		blocked_end =
			offcpu_blocked_end(st.key.reason, st.wake_ts, now);
		err = add_key(s, b, &st.key, blocked_end - st.ts, true);
		if (!err && now > blocked_end) {
			st.key.reason = OFFCPU_RUNQUEUE;
			err = add_key(s, b, &st.key, now - blocked_end, true);
		}
	}
	s->unresolved_frames += b->unresolved_frames;
	s->missing_native += b->missing_native;
	free(b);
	return err;
}

void sampler__counters(struct sampler *s, struct profile *p)
{
	for (int i = 0; i < LOST__COUNT; i++)
		profile__set_counter(p, lost_names[i], s->skel->bss->lost[i]);
	if (s->opts.offcpu)
		profile__set_counter(
			p, "offcpu_runs_skipped",
			prog_misses(s->skel->progs.ps_switch) +
				prog_misses(s->skel->progs.ps_wakeup));
	profile__set_counter(p, "unresolved_frames", s->unresolved_frames);
	profile__set_counter(p, "missing_stacks",
			     s->missing_stacks + s->missing_native);
}
