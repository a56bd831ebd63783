// SPDX-License-Identifier: BSD-2-Clause
/*
 * `pystrobe memory`: where Python processes allocate, what they keep, what
 * keeps growing and what dies young, from Poisson-sampled allocations
 * (pystrobe's provider hooks the interpreter's allocators and fires a USDT
 * probe per sampled allocation and per free of a sampled block; BPF walks
 * the Python stack at each).
 *
 * Targets:
 *   -- CMD    the provider loaded at start-up (PYTHONPATH), probes
 *             attached by file before the command execs
 *   -p PID    the provider the process has loaded; on 3.14+ the provider
 *             loaded through PEP 768
 *
 * Where the provider cannot be loaded (-p on 3.9-3.13 without it, the
 * processes of a --cgroup/--all scope), or with --faults: the kernel-only
 * view, RSS over time and growth (pages first touched, anonymous mappings)
 * charged to Python stacks. The output names each process's view.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "collectors/memory.h"
#include "commands/commands.h"
#include "cpython/provider_attach.h"
#include "output/formats.h"
#include "output/push.h"
#include "process/procfs.h"
#include "session/cli.h"
#include "session/options.h"
#include "session/session.h"

#define COLLECT_INTERVAL_NS 250000000LL /* new sites named while alive */
#define DEFAULT_RATE	    (512 * 1024)
#define MAX_RATE	    (1ULL << 30)

static struct memory_env {
	struct target_opts targets;
	struct output_opts output;
	struct push_cli push;
	unsigned long long rate;
	bool leaks, faults;
	const char *metric;
} env = {
	.output = OUTPUT_OPTS_DEFAULT,
	.push = PUSH_CLI_DEFAULT,
	.rate = DEFAULT_RATE,
};

enum {
	OPT_RATE = 1000,
	OPT_LEAKS,
	OPT_METRIC,
	OPT_FAULTS,
};

static const char doc[] =
	"Sample the allocations of Python processes: bytes and objects "
	"allocated and in use per site, the peak, leaks, temporaries, and "
	"the live heap over time.\n"
	"\n"
	"EXAMPLES:\n"
	"  pystrobe memory -- python3 app.py             # table at exit\n"
	"  pystrobe memory --leaks -d 60 -p 1234         # 3.14+, or provider "
	"loaded\n"
	"  pystrobe memory -o heap.pb.gz -- python3 app.py   # go tool pprof "
	"-sample_index=alloc_space\n"
	"  pystrobe memory --rate 64K -o mem.json -- python3 app.py\n"
	"  pystrobe memory --findings -- python3 app.py  # leaks, temporaries\n"
	"  pystrobe memory -p 1234 --push http://pyroscope:4040 --app web";

static const char *const metrics[] = {"alloc_space", "alloc_objects",
				      "inuse_space", "inuse_objects"};

static const struct argp_option options[] = {
	{"rate", OPT_RATE, "BYTES", 0,
	 "Mean bytes between samples (default 512K; K, M, G suffixes)", 0},
	{"leaks", OPT_LEAKS, NULL, 0,
	 "table: rank sites by bytes still in use, for finding leaks", 0},
	{"metric", OPT_METRIC, "NAME", 0,
	 "folded: alloc_space (default), alloc_objects, inuse_space, "
	 "inuse_objects",
	 0},
	{"faults", OPT_FAULTS, NULL, 0,
	 "The kernel-only view for every target: RSS, page faults and "
	 "mappings charged to Python stacks (no provider)",
	 0},
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	size_t i;

	switch (key) {
	case OPT_RATE:
		if (cli__parse_size(arg, 1, MAX_RATE, &env.rate))
			return cli__arg_error(state,
					      "invalid rate '%s' (bytes, 1 to "
					      "1G, with K, M or G)",
					      arg);
		break;
	case OPT_LEAKS:
		env.leaks = true;
		break;
	case OPT_FAULTS:
		env.faults = true;
		break;
	case OPT_METRIC:
		for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
			if (strcmp(arg, metrics[i]) == 0)
				break;
		if (i == sizeof(metrics) / sizeof(metrics[0]))
			return cli__arg_error(state,
					      "invalid metric '%s' "
					      "(alloc_space, alloc_objects, "
					      "inuse_space, inuse_objects)",
					      arg);
		env.metric = metrics[i];
		break;
	case ARGP_KEY_ARG:
		return cli__unexpected_arg(state, arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp_child children[] = {
	{&options__pid_argp, 0, "What to profile:", 1},
	{&options__scope_argp, 0, NULL, 1},
	{&options__output_argp, 0, "Output:", 2},
	{&options__findings_argp, 0, NULL, 2},
	{&options__push_argp, 0, "Continuous profiling:", 3},
	{},
};

struct memory_run {
	struct memory_collector *mc;
	struct memory_result *m;
	struct provider_link link;
	int64_t next_tick_ns, interval_ns;
	/*
	 * --push: what each site had allocated at the last push, and when
	 * that was; the processes gone (their last interval pushed: done of
	 * them, the rest at the next push).
	 */
	struct pusher *pusher;
	struct memory_mark mark;
	int64_t pushed_unix_ns, next_push_ns;
	pid_t *gone;
	size_t nr_gone, done_gone;
};

static int attach(void *ctx, pid_t pid, const char *so)
{
	struct memory_run *r = ctx;

	return memory_collector__attach_provider(r->mc, pid, so);
}

static int note_view(struct memory_run *r, pid_t pid, enum memory_view view,
		     const char *why)
{
	struct memory_process *p = memory__process(r->m, pid);

	if (!p)
		return -ENOMEM;
	p->view = view;
	snprintf(p->why, sizeof(p->why), "%s", why);
	procfs__comm(pid, 0, p->comm, sizeof(p->comm));
	return 0;
}

/*
 * The kernel-only view for pp (registered): its faults and mappings, and
 * one line on stderr saying so and why.
 */
static int kernel_view(struct memory_run *r, const struct pyproc *pp,
		       const char *reason, char *why, size_t why_len)
{
	int err = memory_collector__kernel_view(r->mc, pp->pid, why, why_len);

	if (err)
		return err;
	fprintf(stderr,
		"pystrobe: process %d (Python %d.%d): kernel-only view (%s): "
		"RSS, page faults and mappings, not allocations\n",
		pp->pid, pp->major, pp->minor, reason);
	return note_view(r, pp->pid, MEMORY_VIEW_KERNEL, reason);
}

/*
 * A running process: its loaded provider (told the rate first), else on
 * 3.14+ the provider loaded through PEP 768, else the kernel-only view.
 */
static int attach_running(struct memory_run *r, const struct pyproc *pp,
			  enum session_origin origin, char *why, size_t why_len)
{
	char so[PATH_MAX + 64], reason[160];
	int err;

	err = memory_collector__set_python(r->mc, pp);
	if (err) {
		snprintf(why, why_len, "cannot watch process %d: %s", pp->pid,
			 strerror(-err));
		return err;
	}
	if (env.faults)
		return kernel_view(r, pp, "--faults", why, why_len);
	if (origin == ORIGIN_SCOPE)
		return kernel_view(r, pp, "in a --cgroup/--all scope", why,
				   why_len);
	err = provider_link__find_loaded(pp, so, sizeof(so), why, why_len);
	if (err < 0)
		return err;
	if (err == 1) {
		err = provider__set_memory_rate(pp->pid, so, env.rate);
		err = err ?: attach(r, pp->pid, so);
		if (err)
			snprintf(why, why_len,
				 "cannot attach to the provider in process "
				 "%d: %s",
				 pp->pid, strerror(-err));
		return err ?: note_view(r, pp->pid, MEMORY_VIEW_HEAP, "");
	}
	err = provider_link__inject(&r->link, pp, reason, sizeof(reason));
	if (err == -ENOTSUP)
		return kernel_view(
			r, pp,
			"no pystrobe provider loaded, and no PEP 768 "
			"before 3.14: start it with 'pystrobe "
			"memory -- CMD' for allocations",
			why, why_len);
	if (err == -EPERM)
		return kernel_view(r, pp, reason, why, why_len);
	if (err) {
		snprintf(why, why_len, "%s", reason);
		return err;
	}
	return note_view(r, pp->pid, MEMORY_VIEW_HEAP, "");
}

static int on_python(void *ctx, const struct pyproc *pp,
		     enum session_origin origin, const char *cgroup, char *why,
		     size_t why_len)
{
	struct memory_run *r = ctx;
	int err;

	if (origin != ORIGIN_COMMAND)
		return attach_running(r, pp, origin, why, why_len);
	/* A started command brings the provider itself (PYTHONPATH). */
	err = memory_collector__set_python(r->mc, pp);
	if (err) {
		snprintf(why, why_len, "cannot watch process %d: %s", pp->pid,
			 strerror(-err));
		return err;
	}
	if (env.faults)
		return kernel_view(r, pp, "--faults", why, why_len);
	err = note_view(r, pp->pid, MEMORY_VIEW_HEAP, "");
	if (err)
		snprintf(why, why_len, "out of memory");
	return err;
}

/* The command, held before its exec: its probes are attached by file. */
static int before_exec(void *ctx, struct target_proc *t, char *why,
		       size_t why_len)
{
	struct memory_run *r = ctx;
	int err = memory_collector__add_pid(r->mc, t->pid);

	if (err) {
		snprintf(why, why_len, "cannot watch process %d: %s", t->pid,
			 strerror(-err));
		return err;
	}
	if (env.faults)
		return 0;
	return provider_link__attach_staged(&r->link, t->pid, "", why, why_len);
}

static int collect(void *ctx, char *why, size_t why_len)
{
	struct memory_run *r = ctx;
	int err = memory_collector__collect(r->mc);

	if (err)
		snprintf(why, why_len, "collecting allocations failed: %s",
			 strerror(-err));
	return err;
}

/* A command's new program: the provider goes into its root too. */
static int on_exec(void *ctx, struct target_proc *t, char *why, size_t why_len)
{
	struct memory_run *r = ctx;
	int err;

	if (!t->child)
		return 0;
	err = collect(ctx, why, why_len);
	if (!err)
		err = memory_collector__add_pid(r->mc, t->pid);
	if (err) {
		snprintf(why, why_len, "cannot watch process %d: %s", t->pid,
			 strerror(-err));
		return err;
	}
	return env.faults
		       ? 0
		       : provider_link__on_exec(&r->link, t->pid, why, why_len);
}

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Whether pid's last interval is still to be pushed. */
static bool not_done(void *ctx, int64_t pid)
{
	const struct memory_run *r = ctx;

	for (size_t i = 0; i < r->done_gone; i++)
		if (r->gone[i] == pid)
			return false;
	return true;
}

/*
 * Notes the processes that have exited since the last push: their figures
 * are final (the heap view stops at atexit), the next push is their last.
 */
static int find_gone(struct memory_run *r)
{
	for (size_t i = 0; i < r->m->nr_procs; i++) {
		pid_t pid = r->m->procs[i].pid;
		char st = procfs__stat(pid, 0, NULL);
		pid_t *grown;
		size_t j;

		if (st && st != 'Z')
			continue;
		for (j = 0; j < r->nr_gone && r->gone[j] != pid; j++)
			;
		if (j < r->nr_gone)
			continue;
		grown = realloc(r->gone, (r->nr_gone + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		r->gone = grown;
		r->gone[r->nr_gone++] = pid;
	}
	return 0;
}

/*
 * --push: per process, what was allocated since the last push and what is
 * in use now, to the pusher (which never waits on the server).
 */
static int push_interval(struct memory_run *r, bool collect, char *why,
			 size_t why_len)
{
	int64_t now = wall_ns();
	struct profile *p = NULL;
	size_t gone;
	int err;

	err = find_gone(r);
	gone = r->nr_gone;
	err = err ?: collect ? memory_collector__collect(r->mc) : 0;
	if (!err) {
		p = memory__interval_profile(r->m, &r->mark, not_done, r);
		err = p ? 0 : -errno;
	}
	err = err ?: push__interval(r->pusher, p, p, r->pushed_unix_ns, now);
	err = err ?: memory__mark(r->m, &r->mark);
	profile__free(p);
	if (err) {
		snprintf(why, why_len, "pushing the profile failed: %s",
			 strerror(-err));
		return err;
	}
	r->done_gone = gone;
	r->pushed_unix_ns = now;
	return 0;
}

/*
 * Every --interval: a point of the timeline and of the leak series; every
 * --push-interval, a push.
 */
static int tick(void *ctx, char *why, size_t why_len)
{
	struct memory_run *r = ctx;
	int64_t now = cli__now_ns(), step = env.push.interval * 1e9;
	int err;

	memory_collector__poll(r->mc);
	if (r->pusher && now >= r->next_push_ns) {
		r->next_push_ns += step;
		if (r->next_push_ns <= now)
			r->next_push_ns = now + step;
		err = push_interval(r, true, why, why_len);
		if (err)
			return err;
	}
	if (now < r->next_tick_ns)
		return 0;
	r->next_tick_ns += r->interval_ns;
	if (r->next_tick_ns <= now)
		r->next_tick_ns = now + r->interval_ns;
	err = memory_collector__tick(r->mc, now);
	if (err)
		snprintf(why, why_len, "collecting allocations failed: %s",
			 strerror(-err));
	return err;
}

static const struct session_hooks hooks = {
	.before_exec = before_exec,
	.on_python = on_python,
	.on_exec = on_exec,
	.collect = collect,
	.tick = tick,
};

/*
 * The last interval goes, the server gets a few seconds for what is queued,
 * and what never arrived is counted (push_dropped) and said.
 */
static int finish_push(struct memory_run *r, char *why, size_t why_len)
{
	struct push_stats st;
	char line[512];
	int err = push_interval(r, false, why, why_len);

	push__free(r->pusher, 5, &st);
	r->pusher = NULL;
	push__summary(&st, env.push.url, line, sizeof(line));
	fprintf(stderr, "pystrobe: %s\n", line);
	if (!err && profile__set_counter(r->m->names, "push_dropped",
					 (int64_t)push__dropped(&st))) {
		snprintf(why, why_len, "out of memory");
		err = -ENOMEM;
	}
	return err;
}

/* Collects the rest and detaches: nothing stays attached after. */
static int finish(struct memory_run *r, struct session *s, char *why,
		  size_t why_len)
{
	const struct memory_analysis_opts o = MEMORY_ANALYSIS_DEFAULTS;
	int64_t now = cli__now_ns();
	int err;

	err = memory_collector__finish(r->mc, now);
	memory_collector__detach(r->mc);
	session__release(s);
	if (!err && r->pusher) {
		err = finish_push(r, why, why_len);
		if (err)
			return err;
	}
	r->m->duration_ns = session__elapsed_ns(s);
	r->m->by_inuse = env.leaks;
	err = err ?: memory__analyze(r->m, &o);
	if (err)
		snprintf(why, why_len, "collecting allocations failed: %s",
			 strerror(-err));
	return err;
}

static void print_summary(const struct memory_result *m)
{
	int64_t heap = 0, kernel = 0;
	bool heap_view = false;

	for (size_t i = 0; i < m->nr_sites; i++) {
		if (m->sites[i].kind == MEM_SITE_HEAP)
			heap += m->sites[i].alloc_samples;
		else
			kernel += m->sites[i].alloc_samples;
	}
	for (size_t i = 0; i < m->nr_procs; i++)
		heap_view |= m->procs[i].view == MEMORY_VIEW_HEAP;
	fprintf(stderr, "pystrobe: %lld sampled allocations", (long long)heap);
	if (kernel)
		fprintf(stderr, ", %lld sampled page faults and mappings",
			(long long)kernel);
	fprintf(stderr, " in %.1f s\n", m->duration_ns / 1e9);
	if (heap_view && !heap)
		fprintf(stderr, "pystrobe: no allocations seen: was the "
				"provider loaded? (python -I, -E or -S skip "
				"it)\n");
}

int memory_main(int argc, char **argv)
{
	static const struct argp argp = {options, parse_arg, NULL, doc,
					 children};
	const struct option_groups groups = {&env.targets, &env.output,
					     &env.push};
	struct session_config cfg = {
		.targets = &env.targets,
		.hooks = &hooks,
		.collect_interval_ns = COLLECT_INTERVAL_NS,
		.follow_python = true,
	};
	struct result res = {.kind = RESULT_MEMORY};
	const struct output_format *format;
	struct memory_run r = {};
	struct session *s = NULL;
	char why[512];
	int err;

	if (options__parse(&argp, argc, argv, &groups, NULL) ||
	    options__check_targets(&env.targets,
				   TARGET_PIDS | TARGET_SCOPE | TARGET_COMMAND,
				   "profile"))
		return 1;
	format = options__choose_output(&env.output, &res.kind);
	if (!format)
		return 1;

	cfg.ctx = &r;
	r.link.attach = attach;
	r.link.ctx = &r;
	r.link.stage.memory_rate = env.rate;
	s = session__new(&cfg, why, sizeof(why));
	if (!s) {
		cli__error("%s", why);
		return 1;
	}
	/* The session's --interval (its default applied), one step for all. */
	r.interval_ns = session__timeline(s)->interval_ns;
	r.m = memory__new(env.rate);
	if (!r.m) {
		err = -ENOMEM;
		snprintf(why, sizeof(why), "out of memory");
		goto cleanup;
	}
	if (env.push.url) {
		/* Heap profiles: their sample types say the type; no rate. */
		const struct push_opts po = {
			.url = env.push.url,
			.app = env.push.app,
			.type = "memory",
		};

		r.pusher = push__new(&po, why, sizeof(why));
		if (!r.pusher) {
			err = -errno;
			goto cleanup;
		}
	}
	r.mc = memory_collector__new(r.m, env.rate, why, sizeof(why));
	err = r.mc ? 0 : -errno;
	if (!err && env.targets.cmd && !env.faults)
		err = provider_link__stage_for_command(&r.link, why,
						       sizeof(why));
	if (!err) {
		memory_collector__start(r.mc, cli__now_ns());
		r.next_tick_ns = cli__now_ns() + r.interval_ns;
		r.pushed_unix_ns = wall_ns();
		r.next_push_ns = cli__now_ns() + env.push.interval * 1e9;
		err = session__start(s, why, sizeof(why));
	}
	if (!err)
		err = session__run(s, why, sizeof(why));
	if (!err)
		err = finish(&r, s, why, sizeof(why));
	if (err)
		goto cleanup;
	res.memory = r.m;
	res.top = env.output.top;
	res.metric = env.metric;
	err = output__write(format, &res, env.output.path, why, sizeof(why));
	if (!err)
		print_summary(r.m);

cleanup:
	if (err)
		cli__error("%s", why);
	memory_collector__free(r.mc);
	push__free(r.pusher, 0, NULL);
	memory__mark_free(&r.mark);
	free(r.gone);
	err = session__exit_status(s, err);
	session__free(s);
	provider_link__cleanup(&r.link);
	memory__free(r.m);
	return err;
}
