// SPDX-License-Identifier: BSD-2-Clause
/*
 * Sampling timers: cpu-clock perf events, one per target thread (-p, a
 * command), or one per CPU system-wide (--cgroup, --all). A fixed period
 * locks onto periodic work in the target (a 10 ms event loop sampled at
 * 100 Hz shows whatever runs at one phase of it), so each timer runs at a
 * period drawn uniformly from [T/2, 3T/2] (T = 1/F, the mean stays T) and
 * gets a freshly drawn one every TIMER_REARM_EVERY samples: the samples of
 * one draw are evenly spaced (as precise as fixed-rate sampling on
 * non-periodic work), and successive draws move their phase at random, so
 * no workload period can hold it. The BPF program asks for each re-arm
 * right after a sample, through a ring buffer read by a thread of ours;
 * re-arming restarts the period, so doing it right after a sample loses
 * only that thread's reaction time. Each sample carries the time the
 * event's clock advanced since the previous one (per-thread timers count
 * the thread's CPU time), which is what the profile records as CPU time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/resource.h>
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

/* A process the sampler watches (process/target.h has the session's view). */
struct sampled_process {
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
	unsigned used_drain; /* last drain that needed it */
	struct py_stack stack;
	UT_hash_handle hh;
};

/* Stacks no sample needed for this many drains are dropped. */
#define STACK_KEEP_DRAINS 8

#define PERIOD_STRATA 8

/* One sampling timer (perf event); see the comment at the top. */
struct timer {
	uint32_t key; /* tid, or CPU for system-wide timers */
	pid_t pid;    /* the thread's process; 0 for a CPU's timer */
	int fd;
	/* Strata of [T/2, 3T/2) not drawn yet in this round, shuffled. */
	uint8_t strata[PERIOD_STRATA];
	int strata_left;
	UT_hash_handle hh;
};

struct sampler {
	struct sampler_opts opts;
	struct sampler_bpf *skel;
	struct bpf_link **links;
	int nr_links;
	struct sampled_process *processes; /* by pid */
	struct cached_stack *stacks; /* Python stacks moved out of the kernel */
	struct ksyms *ksyms;
	/* Timers; the lock also covers rng, used by both threads. */
	bool per_thread;
	bool cgroup_timers; /* per-CPU timers count opts.cgroup's tasks only */
	struct timer *timers;
	pthread_mutex_t timers_lock;
	uint64_t rng, period_ns;
	uint64_t rearm_delay_ns; /* running mean: sample to re-arm */
	struct ring_buffer *timer_msgs;
	struct ring_buffer *code_msgs; /* read by sampler__drain only */
	pthread_t timer_thread;
	bool timer_thread_started;
	int wake_fd;  /* eventfd: tells the timer thread to stop */
	int epoll_fd; /* the timer ring and wake_fd */
	volatile bool stop;
	/* Userspace losses. */
	int64_t unresolved_frames, missing_stacks, missing_native;
	int64_t untimed_threads; /* target threads we could not give a timer */
	uint64_t seeded_stacks;
	unsigned drains;
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
	[LOST_TIMER_MSG] = "timer_msgs_full",
	[LOST_CODE_MSG] = "code_msgs_full",
};

static uint64_t ktime_now(void)
{
	struct timespec ts;

	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* xorshift64*: the period draws need no more than this. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/*
 * A period uniform in [T/2, 3T/2), less the share of one re-arm delay
 * that falls on each of the TIMER_REARM_EVERY periods it will serve (a
 * re-arm restarts the period, so the interval across it is longer by the
 * delay): the mean interval stays T. Each timer draws from the eighths of
 * that range in shuffled rounds (one draw per eighth), so that its periods
 * average to T over every 8 x TIMER_REARM_EVERY samples: independent draws
 * would make the sample count of a run wander (+-8 % at 300 samples). The
 * kernel's floor is 10 us.
 */
static uint64_t draw_period(struct sampler *s, struct timer *t)
{
	uint64_t cut = s->rearm_delay_ns / TIMER_REARM_EVERY, p, unit;
	int j;

	if (t->strata_left == 0) {
		for (int i = 0; i < PERIOD_STRATA; i++)
			t->strata[i] = i;
		for (int i = PERIOD_STRATA - 1; i > 0; i--) {
			uint8_t tmp;

			j = next_random(&s->rng) % (i + 1);
			tmp = t->strata[i];
			t->strata[i] = t->strata[j];
			t->strata[j] = tmp;
		}
		t->strata_left = PERIOD_STRATA;
	}
	j = t->strata[--t->strata_left];
	unit = s->period_ns / PERIOD_STRATA;
	p = s->period_ns / 2 + j * unit +
	    (next_random(&s->rng) >> 11) % (unit | 1);
	p = p > cut ? p - cut : 0;
	return p < 10000 ? 10000 : p;
}

/* Running mean of the re-arm delay; one stall counts as at most 4 T. */
static void note_rearm_delay(struct sampler *s, uint64_t d)
{
	if (d > 4 * s->period_ns)
		d = 4 * s->period_ns;
	s->rearm_delay_ns = s->rearm_delay_ns - s->rearm_delay_ns / 16 + d / 16;
}

/*
 * Opens a cpu-clock timer for thread tid (cpu -1) or for a CPU (tid -1)
 * with ps_sample attached; returns its fd or a negative errno. Caller holds
 * timers_lock. Attached by ioctl, not a BPF link: one fd per thread, and
 * closing it detaches everything.
 */
static int open_timer(struct sampler *s, struct timer *t, pid_t tid, int cpu,
		      unsigned long flags)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = draw_period(s, t),
		.disabled = 1,
	};
	int prog = bpf_program__fd(s->skel->progs.ps_sample);
	int fd, err;

	fd = syscall(__NR_perf_event_open, &attr, tid, cpu, -1,
		     PERF_FLAG_FD_CLOEXEC | flags);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog) ||
	    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void close_timer(struct sampler *s, struct timer *t)
{
	int fd = bpf_map__fd(s->skel->maps.timer_states);

	HASH_DEL(s->timers, t);
	close(t->fd);
	bpf_map_delete_elem(fd, &t->key);
	free(t);
}

/*
 * Gives thread tid of pid a timer unless it has one. Caller holds
 * timers_lock. A thread that exited meanwhile is no loss.
 */
static int add_thread_timer(struct sampler *s, pid_t pid, pid_t tid)
{
	uint32_t key = tid;
	struct timer *t;
	int fd;

	HASH_FIND(hh, s->timers, &key, sizeof(key), t);
	if (t)
		return 0;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	fd = open_timer(s, t, tid, -1, 0);
	if (fd < 0) {
		free(t);
		if (fd == -ESRCH)
			return 0;
		s->untimed_threads++;
		return fd;
	}
	t->key = key;
	t->pid = pid;
	t->fd = fd;
	HASH_ADD(hh, s->timers, key, sizeof(t->key), t);
	return 0;
}

/*
 * Timers for every thread of pid. Its entry in procs must exist already,
 * so that threads started from now on reach us through ps_newtask.
 */
static int add_process_timers(struct sampler *s, pid_t pid)
{
	struct dirent *e;
	char path[64];
	DIR *dh;
	int err = 0;

	if (!s->per_thread)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dh = opendir(path);
	if (!dh)
		return errno == ENOENT ? 0 : -errno;
	pthread_mutex_lock(&s->timers_lock);
	while (!err && (e = readdir(dh))) {
		pid_t tid = atoi(e->d_name);

		if (tid > 0)
			err = add_thread_timer(s, pid, tid);
		if (err == -EMFILE || err == -ENFILE || err == -EACCES ||
		    err == -EPERM)
			err = 0; /* counted in untimed_threads */
	}
	pthread_mutex_unlock(&s->timers_lock);
	closedir(dh);
	return err;
}

/* Closes the timers of pid's threads (it exec'd: they start again). */
static void drop_process_timers(struct sampler *s, pid_t pid)
{
	struct timer *t, *tmp;

	pthread_mutex_lock(&s->timers_lock);
	HASH_ITER(hh, s->timers, t, tmp)
	{
		if (t->pid == pid)
			close_timer(s, t);
	}
	pthread_mutex_unlock(&s->timers_lock);
}

static int on_timer_msg(void *ctx, void *data, size_t size)
{
	const struct timer_msg *m = data;
	struct sampler *s = ctx;
	struct timer *t;
	uint64_t period;

	if (size < sizeof(*m))
		return 0;
	pthread_mutex_lock(&s->timers_lock);
	if (m->type == TIMER_REARM) {
		HASH_FIND(hh, s->timers, &m->key, sizeof(m->key), t);
		/* Fails only for a thread that is gone: nothing to sample. */
		if (t) {
			period = draw_period(s, t);
			ioctl(t->fd, PERF_EVENT_IOC_PERIOD, &period);
		}
		note_rearm_delay(s, ktime_now() - m->ts);
	} else if (m->type == TIMER_NEW_THREAD && s->per_thread) {
		add_thread_timer(s, m->pid, m->key);
	}
	pthread_mutex_unlock(&s->timers_lock);
	return 0;
}

static void *timer_thread_main(void *arg)
{
	struct sched_param sp = {.sched_priority = 1};
	struct sampler *s = arg;
	struct epoll_event ev;

	/*
	 * Each re-arm loses the time from the sample to it: run ahead of
	 * ordinary threads (the targets) when woken. Best effort; the work
	 * per wakeup is one ioctl.
	 */
	pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	while (!s->stop) {
		if (epoll_wait(s->epoll_fd, &ev, 1, -1) > 0)
			ring_buffer__consume(s->timer_msgs);
	}
	return NULL;
}

/* Stops the timer thread at once (it may be waiting for a message). */
static void stop_timer_thread(struct sampler *s)
{
	uint64_t one = 1;

	if (!s->timer_thread_started)
		return;
	s->stop = true;
	if (write(s->wake_fd, &one, sizeof(one)) != sizeof(one))
		return; /* cannot happen with an eventfd below 2^64 - 1 */
	pthread_join(s->timer_thread, NULL);
	s->timer_thread_started = false;
}

/*
 * One timer per CPU, counting only while a task of opts.cgroup runs there
 * when the kernel takes that cgroup (v2; v1 with perf_event), else always.
 */
static int open_cpu_timers(struct sampler *s, char *why, size_t why_len)
{
	int ncpu = libbpf_num_possible_cpus(), cg = -1, err = 0;
	unsigned long flags = 0;

	if (ncpu < 0) {
		snprintf(why, why_len, "cannot count CPUs");
		return ncpu;
	}
	if (s->opts.cgroup) {
		cg = open(s->opts.cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		flags = cg >= 0 ? PERF_FLAG_PID_CGROUP : 0;
	}
	for (int cpu = 0; cpu < ncpu && !err; cpu++) {
		struct timer *t = calloc(1, sizeof(*t));
		int fd;

		if (!t) {
			err = -ENOMEM;
			break;
		}
		fd = open_timer(s, t, flags ? cg : -1, cpu, flags);
		if (fd < 0 && flags && cpu == 0 && fd != -ENODEV) {
			/* Not a perf_event cgroup: every CPU's timers. */
			flags = 0;
			fd = open_timer(s, t, -1, cpu, 0);
		}
		if (fd < 0)
			free(t);
		if (fd == -ENODEV)
			continue; /* CPU offline */
		if (fd < 0) {
			snprintf(why, why_len,
				 "cannot open cpu-clock event on CPU %d: %s%s",
				 cpu, strerror(-fd),
				 fd == -EACCES || fd == -EPERM
					 ? " (pystrobe needs root, or "
					   "CAP_PERFMON)"
					 : "");
			err = fd;
			break;
		}
		t->key = cpu;
		t->fd = fd;
		HASH_ADD(hh, s->timers, key, sizeof(t->key), t);
	}
	s->cgroup_timers = flags != 0;
	if (cg >= 0)
		close(cg);
	return err;
}

/* CPU sampling: per-CPU timers or (per_thread) none yet, and the thread. */
static int start_timers(struct sampler *s, char *why, size_t why_len)
{
	struct rlimit rl;
	int err;

	s->period_ns = 1000000000ULL / (s->opts.freq > 0 ? s->opts.freq : 1);
	if (getrandom(&s->rng, sizeof(s->rng), 0) != sizeof(s->rng))
		s->rng = ktime_now();
	s->rng |= 1;
	/* Two descriptors per thread would do; one per thread is what we use.
	 */
	if (s->per_thread && getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	s->timer_msgs = ring_buffer__new(bpf_map__fd(s->skel->maps.timer_msgs),
					 on_timer_msg, s, NULL);
	if (!s->timer_msgs) {
		err = -errno;
		snprintf(why, why_len, "cannot open the timer ring buffer: %s",
			 strerror(-err));
		return err;
	}
	if (!s->per_thread) {
		err = open_cpu_timers(s, why, why_len);
		if (err)
			return err;
	}
	/* The thread waits on the ring and on wake_fd (to stop it). */
	s->wake_fd = eventfd(0, EFD_CLOEXEC);
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->wake_fd < 0 || s->epoll_fd < 0 ||
	    epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->wake_fd,
		      &(struct epoll_event){.events = EPOLLIN}) ||
	    epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD,
		      ring_buffer__epoll_fd(s->timer_msgs),
		      &(struct epoll_event){.events = EPOLLIN})) {
		err = -errno;
		snprintf(why, why_len, "cannot wait for timer messages: %s",
			 strerror(-err));
		return err;
	}
	err = -pthread_create(&s->timer_thread, NULL, timer_thread_main, s);
	if (err) {
		snprintf(why, why_len, "cannot start a thread: %s",
			 strerror(-err));
		return err;
	}
	s->timer_thread_started = true;
	return 0;
}

/* BPF's copy of a code object: to the symbolizer of its process. */
static int on_code_msg(void *ctx, void *data, size_t size)
{
	const struct code_info *ci = data;
	struct sampler *s = ctx;
	struct sampled_process *t;
	pid_t pid;

	if (size < sizeof(*ci))
		return 0;
	pid = ci->pid;
	HASH_FIND_INT(s->processes, &pid, t);
	if (t && t->pysym)
		pysym__add_copy(t->pysym, ci);
	return 0;
}

/*
 * Addresses the symbolizers found reused (or whose copies they dropped):
 * BPF forgets them, so that it copies the code object there now, and tags
 * them on every sample for a while.
 */
static void forget_stale_codes(struct sampler *s)
{
	int known = bpf_map__fd(s->skel->maps.code_known);
	int slots = bpf_map__fd(s->skel->maps.code_slots);
	uint64_t addrs[256], now = ktime_now();
	struct sampled_process *t;
	size_t n;

	for (t = s->processes; t; t = t->hh.next) {
		if (!t->pysym)
			continue;
		while ((n = pysym__take_stale(t->pysym, addrs, 256))) {
			for (size_t i = 0; i < n; i++) {
				struct code_id id = {.addr = addrs[i],
						     .pid = t->pid};
				struct code_slot slot = {.code = addrs[i],
							 .seen_ns = now,
							 .pid = t->pid};
				__u32 idx = (__u32)((addrs[i] >> 3) ^
						    (addrs[i] >> 15)) &
					    (CODE_SLOTS - 1);

				bpf_map_delete_elem(known, &id);
				bpf_map_update_elem(slots, &idx, &slot,
						    BPF_ANY);
			}
		}
	}
}

struct sampler *sampler__new(const struct sampler_opts *opts, char *why,
			     size_t why_len)
{
	struct sampler *s;
	int err = 0;

	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->opts = *opts;
	s->wake_fd = s->epoll_fd = -1;
	s->per_thread = opts->cpu && !opts->system_wide;
	pthread_mutex_init(&s->timers_lock, NULL);
	s->skel = sampler_bpf__open();
	if (!s->skel) {
		err = -errno;
		snprintf(why, why_len, "cannot open BPF object: %s",
			 strerror(-err));
		goto cleanup;
	}
	s->skel->rodata->collect_kernel = opts->kernel;
	s->skel->rodata->collect_native = opts->native;
	s->skel->rodata->per_thread_timers = s->per_thread;
	if (!s->per_thread)
		bpf_program__set_autoload(s->skel->progs.ps_newtask, false);
	if (!opts->offcpu) {
		bpf_program__set_autoload(s->skel->progs.ps_switch, false);
		bpf_program__set_autoload(s->skel->progs.ps_wakeup, false);
		bpf_map__set_max_entries(s->skel->maps.offcpu_starts, 1);
		bpf_map__set_max_entries(s->skel->maps.offcpu_ns, 1);
	}
	if (!opts->cpu)
		bpf_map__set_max_entries(s->skel->maps.counts, 1);
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
	s->code_msgs = ring_buffer__new(bpf_map__fd(s->skel->maps.code_msgs),
					on_code_msg, s, NULL);
	if (!s->code_msgs) {
		err = -errno;
		snprintf(why, why_len, "cannot open the code ring buffer: %s",
			 strerror(-err));
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
	{
		struct bpf_program *progs[] = {s->skel->progs.ps_switch,
					       s->skel->progs.ps_wakeup,
					       s->skel->progs.ps_newtask};
		bool use[] = {opts->offcpu, opts->offcpu, s->per_thread};

		s->links = calloc(3, sizeof(*s->links));
		if (!s->links) {
			err = -ENOMEM;
			goto cleanup;
		}
		for (int i = 0; i < 3; i++) {
			struct bpf_link *link;

			if (!use[i])
				continue;
			link = bpf_program__attach(progs[i]);
			if (!link) {
				err = -errno;
				snprintf(why, why_len, "cannot attach %s: %s",
					 bpf_program__name(progs[i]),
					 strerror(-err));
				goto cleanup;
			}
			s->links[s->nr_links++] = link;
		}
	}
	if (opts->cpu) {
		err = start_timers(s, why, why_len);
		if (err)
			goto cleanup;
	}
	return s;
cleanup:
	sampler__free(s);
	errno = -err;
	return NULL;
}

void sampler__free(struct sampler *s)
{
	struct sampled_process *t, *tt;
	struct cached_stack *c, *ct;
	struct timer *tm, *tmt;

	if (!s)
		return;
	stop_timer_thread(s);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	ring_buffer__free(s->timer_msgs);
	ring_buffer__free(s->code_msgs);
	HASH_ITER(hh, s->timers, tm, tmt)
	{
		HASH_DEL(s->timers, tm);
		close(tm->fd);
		free(tm);
	}
	pthread_mutex_destroy(&s->timers_lock);
	for (int i = 0; i < s->nr_links; i++)
		bpf_link__destroy(s->links[i]);
	free(s->links);
	sampler_bpf__destroy(s->skel);
	HASH_ITER(hh, s->processes, t, tt)
	{
		HASH_DEL(s->processes, t);
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

static struct sampled_process *get_process(struct sampler *s, pid_t pid)
{
	struct sampled_process *t;

	HASH_FIND_INT(s->processes, &pid, t);
	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->pid = pid;
	HASH_ADD_INT(s->processes, pid, t);
	return t;
}

int sampler__add_pid(struct sampler *s, pid_t pid)
{
	struct proc_info pi = {};
	struct sampled_process *t = get_process(s, pid);
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
	drop_process_timers(s, pid);
	return add_process_timers(s, pid);
}

int sampler__set_python(struct sampler *s, const struct pyproc *pp)
{
	struct sampled_process *t = get_process(s, pp->pid);
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
	return add_process_timers(s, pp->pid);
}

void sampler__poll_gil(struct sampler *s)
{
	struct sampled_process *t;

	for (t = s->processes; t; t = t->hh.next) {
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
	struct sampled_process *t;
	char path[64];
	DIR *dh;

	HASH_FIND_INT(s->processes, &pid, t);
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
	struct sampled_process *t;

	HASH_FIND_INT(s->processes, &pid, t);
	for (int i = 0; i < OFFCPU__COUNT; i++) {
		ns[i] = t ? t->offcpu_ns[i] : 0;
		if (t)
			t->offcpu_ns[i] = 0;
	}
}

bool sampler__has_python(struct sampler *s, pid_t pid)
{
	struct sampled_process *t;

	HASH_FIND_INT(s->processes, &pid, t);
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
		if (c) {
			/*
			 * The same walk again; its frames may carry other
			 * identity tags now (an address reused by another
			 * code object): the kernel's copy is the current one.
			 */
			bpf_map_lookup_elem(fd, &key, &c->stack);
			continue;
		}
		c = malloc(sizeof(*c));
		if (!c)
			break;
		if (bpf_map_lookup_elem(fd, &key, &c->stack)) {
			free(c);
			continue;
		}
		c->id = key;
		c->used_drain = s->drains;
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
	if (c) {
		c->used_drain = s->drains;
		return &c->stack;
	}
	c = malloc(sizeof(*c));
	if (!c)
		return NULL;
	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.py_stacks), &id,
				&c->stack)) {
		free(c);
		return NULL;
	}
	c->id = id;
	c->used_drain = s->drains;
	HASH_ADD(hh, s->stacks, id, sizeof(c->id), c);
	return &c->stack;
}

/*
 * Drops the stacks no recent sample needed: each drain's samples find
 * theirs in the kernel's map again (it re-inserts a stack moved out), so
 * only a stack of userspace's own (a thread blocked since the attach,
 * still waited for) must stay. Bounds memory under churning code.
 */
static void prune_stacks(struct sampler *s)
{
	struct cached_stack *c, *tmp;

	HASH_ITER(hh, s->stacks, c, tmp)
	{
		if (c->id >> 63 ||
		    s->drains - c->used_drain < STACK_KEEP_DRAINS)
			continue;
		HASH_DEL(s->stacks, c);
		free(c);
	}
}

/* Closes the timers of threads that have exited. */
static void prune_timers(struct sampler *s)
{
	struct timer *t, *tmp;
	char path[64];

	pthread_mutex_lock(&s->timers_lock);
	HASH_ITER(hh, s->timers, t, tmp)
	{
		if (!t->pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%u", t->pid,
			 t->key);
		if (access(path, F_OK) != 0)
			close_timer(s, t);
	}
	pthread_mutex_unlock(&s->timers_lock);
}

/*
 * Forgets threads that have exited, so thread churn does not fill the
 * thread map. Runs after a drain: their samples are already named.
 */
static void prune_threads(struct sampler *s)
{
	int fd = bpf_map__fd(s->skel->maps.threads);
	__u32 dead[256];
	int n;

	n = stack_build__exited_threads(fd, dead, 256);
	for (int i = 0; i < n; i++) {
		bpf_map_delete_elem(fd, &dead[i]);
		bpf_map_delete_elem(bpf_map__fd(s->skel->maps.offcpu_starts),
				    &dead[i]);
	}
	prune_timers(s);
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
 * Adds one aggregated key to p: `count` CPU samples standing for `ns` of
 * CPU time, or (offcpu) `ns` off the CPU, the reason then being the leaf
 * pseudo-frame.
 */
static int add_key(struct sampler *s, struct stack_builder *b,
		   const struct sample_key *key, __u64 count, __u64 ns,
		   bool offcpu)
{
	const struct sampler_values *vi = &s->opts.values;
	int tfd = bpf_map__fd(s->skel->maps.threads);
	const struct py_stack *st = NULL;
	int64_t values[PROFILE_MAX_TYPES] = {};
	struct py_thread th = {};
	__u32 tid = key->tid;
	pid_t pid = key->pid;
	struct stack_sources src;
	struct sampled_process *t;

	HASH_FIND_INT(s->processes, &pid, t);
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
	if (offcpu)
		t->offcpu_ns[key->reason > OFFCPU_NONE &&
					     key->reason < OFFCPU__COUNT
				     ? key->reason
				     : OFFCPU_OTHER] += ns;
	if (!offcpu && vi->samples >= 0)
		values[vi->samples] = count;
	if (!offcpu && vi->cpu >= 0)
		values[vi->cpu] = ns;
	if (offcpu && vi->offcpu >= 0)
		values[vi->offcpu] = ns;
	if (vi->wall >= 0)
		values[vi->wall] = ns;
	return profile__add_sample(b->p, b->frames, b->depth, values, key->pid,
				   key->tid, th.comm, t->comm);
}

/* Moves one map (CPU samples, or off-CPU ns) into p. */
static int drain_map(struct sampler *s, struct stack_builder *b, int fd,
		     bool offcpu)
{
	struct sample_key *keys;
	struct cpu_sample cs;
	size_t nr_keys;
	__u64 ns;
	int err = 0;

	keys = collect_keys(fd, &nr_keys);
	for (size_t i = 0; i < nr_keys && !err; i++) {
		if (offcpu) {
			if (bpf_map_lookup_and_delete_elem(fd, &keys[i], &ns))
				continue;
			err = add_key(s, b, &keys[i], 0, ns, true);
		} else {
			if (bpf_map_lookup_and_delete_elem(fd, &keys[i], &cs))
				continue;
			err = add_key(s, b, &keys[i], cs.count, cs.ns, false);
		}
	}
	free(keys);
	return err;
}

int sampler__drain(struct sampler *s, struct profile *p)
{
	struct stack_builder *b;
	struct sampled_process *t;
	int err;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->p = p;
	for (t = s->processes; t; t = t->hh.next)
		if (t->pysym)
			pysym__next_gen(t->pysym);
	/* Copies first: BPF sent each before the samples that need it. */
	ring_buffer__consume(s->code_msgs);
	move_py_stacks(s);
	err = drain_map(s, b, bpf_map__fd(s->skel->maps.counts), false);
	if (!err && s->opts.offcpu)
		err = drain_map(s, b, bpf_map__fd(s->skel->maps.offcpu_ns),
				true);
	s->unresolved_frames += b->unresolved_frames;
	s->missing_native += b->missing_native;
	free(b);
	forget_stale_codes(s);
	if (!err) {
		prune_threads(s);
		prune_stacks(s);
	}
	s->drains++;
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
		err = add_key(s, b, &st.key, 0, blocked_end - st.ts, true);
		if (!err && now > blocked_end) {
			st.key.reason = OFFCPU_RUNQUEUE;
			err = add_key(s, b, &st.key, 0, now - blocked_end,
				      true);
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
	if (s->opts.cpu)
		profile__set_counter(p, "untimed_threads", s->untimed_threads);
	profile__set_counter(p, "unresolved_frames", s->unresolved_frames);
	profile__set_counter(p, "missing_stacks",
			     s->missing_stacks + s->missing_native);
}
