// SPDX-License-Identifier: BSD-2-Clause
/*
 * `pystrobe record`: samples Python processes (attached with -p, a whole
 * --cgroup or --all, or a command started with --) and renders or saves
 * the profile.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "collectors/sampler.h"
#include "commands/commands.h"
#include "output/formats.h"
#include "output/push.h"
#include "session/cli.h"
#include "session/options.h"
#include "session/session.h"

#define DRAIN_INTERVAL_NS 250000000LL

static struct record_env {
	struct target_opts targets;
	struct output_opts output;
	struct push_cli push;
	long freq;
	bool native, kernel, threads;
	enum { MODE_CPU, MODE_OFFCPU, MODE_WALL } mode;
	int nr_modes; /* --cpu/--offcpu/--wall given */
} env = {
	.output = OUTPUT_OPTS_DEFAULT,
	.push = PUSH_CLI_DEFAULT,
	.freq = 99,
};

enum {
	OPT_CPU = 1000,
	OPT_OFFCPU,
	OPT_WALL,
	OPT_NATIVE,
	OPT_KERNEL,
	OPT_THREADS,
};

static const char doc[] =
	"Sample the CPU time of Python processes, with Python stacks walked in "
	"the kernel.\n"
	"\n"
	"EXAMPLES:\n"
	"  pystrobe record -p 1234                 # until Ctrl-C, table\n"
	"  pystrobe record -p 1234,1240 -d 10 -F 999\n"
	"  pystrobe record -o out.folded -- python3 app.py\n"
	"  pystrobe record -o cpu.pb.gz --native -- python3 app.py\n"
	"  pystrobe record --wall -p 1234 -d 30   # CPU and waits, with "
	"reasons\n"
	"  pystrobe record --all --push http://pyroscope:4040 --app web";

static const struct argp_option options[] = {
	{"frequency", 'F', "HZ", 0, "Samples per second per CPU (default 99)",
	 0},
	{"cpu", OPT_CPU, NULL, 0, "Sample CPU time (the default)", 0},
	{"offcpu", OPT_OFFCPU, NULL, 0,
	 "Measure time off the CPU, with the reason (sleep, lock, gil, io, "
	 "disk, runqueue, other)",
	 0},
	{"wall", OPT_WALL, NULL, 0, "CPU samples and off-CPU time together", 0},
	{"native", OPT_NATIVE, NULL, 0, "Add native frames (frame pointers)",
	 0},
	{"kernel", OPT_KERNEL, NULL, 0, "Add kernel frames", 0},
	{"threads", OPT_THREADS, NULL, 0,
	 "folded: start each stack with its thread", 0},
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'F':
		if (cli__parse_long(arg, 1, 100000, &env.freq))
			return cli__arg_error(
				state,
				"invalid frequency '%s' (1 to 100000 Hz)", arg);
		break;
	case OPT_CPU:
	case OPT_OFFCPU:
	case OPT_WALL:
		env.mode = key == OPT_CPU      ? MODE_CPU
			   : key == OPT_OFFCPU ? MODE_OFFCPU
					       : MODE_WALL;
		if (++env.nr_modes > 1)
			return cli__arg_error(
				state, "give one of --cpu, --offcpu, --wall");
		break;
	case OPT_NATIVE:
		env.native = true;
		break;
	case OPT_KERNEL:
		env.kernel = true;
		break;
	case OPT_THREADS:
		env.threads = true;
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

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Sample types by mode: CPU samples as a count and as time; off-CPU time;
 * wall = both, per stack. The last type is what folded output shows.
 */
static int add_types(struct profile *p, struct sampler_values *v)
{
	v->samples = v->cpu = v->offcpu = v->wall = -1;
	if (env.mode != MODE_OFFCPU) {
		v->samples = profile__add_type(p, "samples", "count");
		v->cpu = profile__add_type(p, "cpu", "nanoseconds");
		if (v->samples < 0 || v->cpu < 0)
			return -ENOMEM;
	}
	if (env.mode != MODE_CPU) {
		v->offcpu = profile__add_type(p, "offcpu", "nanoseconds");
		if (v->offcpu < 0)
			return -ENOMEM;
	}
	if (env.mode == MODE_WALL) {
		v->wall = profile__add_type(p, "wall", "nanoseconds");
		if (v->wall < 0)
			return -ENOMEM;
	}
	p->period_type.type =
		profile__intern(p, env.mode == MODE_OFFCPU ? "offcpu" : "cpu");
	p->period_type.unit = profile__intern(p, "nanoseconds");
	p->period = 1000000000LL / env.freq;
	p->time_nanos = wall_ns();
	return 0;
}

struct record_run {
	struct sampler *sampler;
	struct profile *profile;
	/* --push: what was drained since the last push, and when that was. */
	struct pusher *pusher;
	struct profile *interval;
	int64_t pushed_unix_ns, next_push_ns;
};

static int label_cgroup(struct record_run *r, pid_t pid, const char *cgroup,
			char *why, size_t why_len)
{
	int err = 0;

	if (cgroup[0])
		err = profile__set_process_label(r->profile, pid, "cgroup",
						 cgroup);
	if (err)
		snprintf(why, why_len, "out of memory");
	return err;
}

static int on_python(void *ctx, const struct pyproc *pp,
		     enum session_origin origin, const char *cgroup, char *why,
		     size_t why_len)
{
	struct record_run *r = ctx;
	int err = sampler__set_python(r->sampler, pp);

	/* Threads of a process running before us may be blocked already. */
	if (!err && origin != ORIGIN_COMMAND)
		err = sampler__seed_blocked(r->sampler, pp->pid);
	if (err) {
		snprintf(why, why_len, "cannot watch process %d: %s", pp->pid,
			 strerror(-err));
		return err;
	}
	return label_cgroup(r, pp->pid, cgroup, why, why_len);
}

/* Other processes in scope: skipped without a word, or profiled natively
 * when native or kernel frames are asked for. */
static int on_other(void *ctx, pid_t pid, const char *cgroup, char *why,
		    size_t why_len)
{
	struct record_run *r = ctx;
	int err;

	if (!env.native && !env.kernel)
		return 0;
	err = sampler__add_pid(r->sampler, pid);
	if (err) {
		snprintf(why, why_len, "cannot watch process %d: %s", pid,
			 strerror(-err));
		return err;
	}
	return label_cgroup(r, pid, cgroup, why, why_len);
}

/* Until its runtime is found, a command is sampled without Python frames. */
static int before_exec(void *ctx, struct target_proc *t, char *why,
		       size_t why_len)
{
	struct record_run *r = ctx;
	int err = sampler__add_pid(r->sampler, t->pid);

	if (err)
		snprintf(why, why_len, "cannot watch process %d: %s", t->pid,
			 strerror(-err));
	return err;
}

static int collect(void *ctx, char *why, size_t why_len)
{
	struct record_run *r = ctx;
	int err = sampler__drain(r->sampler, r->interval ?: r->profile);

	if (err)
		snprintf(why, why_len, "collecting samples failed: %s",
			 strerror(-err));
	return err;
}

/* Stacks so far belong to the old program: drain them, then start over. */
static int on_exec(void *ctx, struct target_proc *t, char *why, size_t why_len)
{
	return collect(ctx, why, why_len) ?: before_exec(ctx, t, why, why_len);
}

/*
 * --push: the interval's profile goes to the pusher (which never waits on
 * the server), then joins the whole recording's.
 */
static int push_interval(struct record_run *r, char *why, size_t why_len)
{
	int64_t now = wall_ns();
	struct profile *next;
	int err;

	err = push__interval(r->pusher, r->interval, r->profile,
			     r->pushed_unix_ns, now);
	err = err ?: profile__merge(r->profile, r->interval, -1);
	next = err ? NULL : profile__new_like(r->profile);
	if (!err && !next)
		err = -ENOMEM;
	if (err) {
		snprintf(why, why_len, "pushing the profile failed: %s",
			 strerror(-err));
		return err;
	}
	profile__free(r->interval);
	r->interval = next;
	r->pushed_unix_ns = now;
	return 0;
}

static int tick(void *ctx, char *why, size_t why_len)
{
	struct record_run *r = ctx;

	sampler__poll_gil(r->sampler);
	if (!r->pusher || cli__now_ns() < r->next_push_ns)
		return 0;
	r->next_push_ns += env.push.interval * 1e9;
	return collect(ctx, why, why_len) ?: push_interval(r, why, why_len);
}

/* The timeline's off-CPU time by reason: what each interval drained. */
static int timeline(void *ctx, struct timeline_point *points, size_t nr,
		    char *why, size_t why_len)
{
	struct record_run *r = ctx;
	int err;

	if (env.mode == MODE_CPU)
		return 0;
	err = collect(ctx, why, why_len);
	for (size_t i = 0; !err && i < nr; i++)
		sampler__take_offcpu(r->sampler, points[i].pid,
				     points[i].offcpu_ns);
	return err;
}

static const struct session_hooks hooks = {
	.before_exec = before_exec,
	.on_python = on_python,
	.on_other = on_other,
	.on_exec = on_exec,
	.collect = collect,
	.tick = tick,
	.timeline = timeline,
};

static void print_summary(const struct profile *p, int64_t elapsed_ns)
{
	int64_t total = 0;

	for (size_t i = 0; i < p->nr_samples; i++)
		total += p->samples[i].values[0];
	if (env.mode == MODE_OFFCPU)
		fprintf(stderr, "pystrobe: %.3f s off-CPU in %.1f s\n",
			total / 1e9, elapsed_ns / 1e9);
	else
		fprintf(stderr, "pystrobe: %lld samples in %.1f s at %ld Hz\n",
			(long long)total, elapsed_ns / 1e9, env.freq);
}

/*
 * The last interval goes, the server gets a few seconds for what is queued,
 * and what never arrived is counted (push_dropped) and said.
 */
static int finish_push(struct record_run *r, char *why, size_t why_len)
{
	struct push_stats st;
	char line[512];
	int err = push_interval(r, why, why_len);

	push__free(r->pusher, 5, &st);
	r->pusher = NULL;
	profile__set_counter(r->profile, "push_dropped", push__dropped(&st));
	push__summary(&st, env.push.url, line, sizeof(line));
	fprintf(stderr, "pystrobe: %s\n", line);
	return err;
}

/* Collects what is left, then detaches: nothing stays attached after. */
static int finish(struct record_run *r, struct session *s, char *why,
		  size_t why_len)
{
	int err = collect(r, why, why_len);

	if (!err)
		err = sampler__finish_offcpu(r->sampler,
					     r->interval ?: r->profile);
	if (err) {
		snprintf(why, why_len, "collecting samples failed: %s",
			 strerror(-err));
		return err;
	}
	sampler__counters(r->sampler, r->profile);
	r->profile->duration_nanos = session__elapsed_ns(s);
	sampler__free(r->sampler);
	r->sampler = NULL;
	session__release(s);
	return r->pusher ? finish_push(r, why, why_len) : 0;
}

static int start_push(struct record_run *r, char *why, size_t why_len)
{
	struct push_opts o = {
		.url = env.push.url,
		.app = env.push.app,
		.type = env.mode == MODE_CPU	  ? "cpu"
			: env.mode == MODE_OFFCPU ? "offcpu"
						  : "wall",
		.sample_rate = env.freq,
	};

	r->pusher = push__new(&o, why, why_len);
	if (!r->pusher)
		return -errno;
	r->interval = profile__new_like(r->profile);
	if (!r->interval) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	r->pushed_unix_ns = wall_ns();
	r->next_push_ns = cli__now_ns() + env.push.interval * 1e9;
	return 0;
}

int record_main(int argc, char **argv)
{
	static const struct argp argp = {options, parse_arg, NULL, doc,
					 children};
	const struct option_groups groups = {&env.targets, &env.output,
					     &env.push};
	struct session_config cfg = {
		.targets = &env.targets,
		.hooks = &hooks,
		.collect_interval_ns = DRAIN_INTERVAL_NS,
		.follow_python = true,
	};
	struct sampler_opts sopts = {};
	struct record_run r = {};
	struct result res = {.kind = RESULT_SAMPLES};
	const struct output_format *format;
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
	s = session__new(&cfg, why, sizeof(why));
	if (!s) {
		cli__error("%s", why);
		return 1;
	}
	sopts.cpu = env.mode != MODE_OFFCPU;
	sopts.offcpu = env.mode != MODE_CPU;
	sopts.freq = env.freq;
	sopts.system_wide = env.targets.cgroup || env.targets.all;
	sopts.cgroup = env.targets.cgroup;
	sopts.kernel = env.kernel;
	sopts.native = env.native;
	r.profile = profile__new();
	err = r.profile ? add_types(r.profile, &sopts.values) : -ENOMEM;
	if (err) {
		snprintf(why, sizeof(why), "out of memory");
		goto cleanup;
	}
	r.sampler = sampler__new(&sopts, why, sizeof(why));
	if (!r.sampler) {
		err = -errno;
		goto cleanup;
	}
	if (env.push.url) {
		err = start_push(&r, why, sizeof(why));
		if (err)
			goto cleanup;
	}
	err = session__start(s, why, sizeof(why));
	if (!err)
		err = session__run(s, why, sizeof(why));
	if (!err)
		err = finish(&r, s, why, sizeof(why));
	if (err)
		goto cleanup;
	res.profile = r.profile;
	res.timeline = session__timeline(s);
	res.top = env.output.top;
	res.threads = env.threads;
	err = output__write(format, &res, env.output.path, why, sizeof(why));
	if (!err)
		print_summary(r.profile, r.profile->duration_nanos);

cleanup:
	if (err)
		cli__error("%s", why);
	sampler__free(r.sampler);
	push__free(r.pusher, 0, NULL);
	err = session__exit_status(s, err);
	session__free(s);
	profile__free(r.interval);
	profile__free(r.profile);
	return err;
}
