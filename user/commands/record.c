// SPDX-License-Identifier: BSD-2-Clause
/*
 * `pystrobe record`: samples Python processes (attached with -p, or a
 * command started with --) and renders or saves the profile.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "session/cli.h"
#include "process/discovery.h"
#include "model/profile.h"
#include "cpython/pyproc.h"
#include "commands/commands.h"
#include "output/render.h"
#include "collectors/sampler.h"
#include "process/target.h"

#define MAX_TARGETS	  64
#define DRAIN_INTERVAL_NS 250000000LL
#define SCAN_INTERVAL_NS  200000000LL /* new processes within 0.2 s */
#define POLL_NS		  2000000L

static struct env {
	pid_t pids[MAX_TARGETS];
	int nr_pids;
	long freq;
	double duration; /* seconds; 0: until stopped */
	struct render_opts render;
	bool native, kernel;
	enum { MODE_CPU, MODE_OFFCPU, MODE_WALL } mode;
	const char *cgroup; /* --cgroup PATH */
	bool all;	    /* --all */
	int nr_modes;	    /* --cpu/--offcpu/--wall given */
	char **cmd;
} env = {
	.freq = 99,
	.render = {.format = FORMAT_TABLE, .max_rows = 40},
};

enum {
	OPT_CPU = 1000,
	OPT_OFFCPU,
	OPT_WALL,
	OPT_NATIVE,
	OPT_CGROUP,
	OPT_ALL,
	OPT_KERNEL,
	OPT_THREADS,
	OPT_TOP,
};

static const char doc[] =
	"Sample the CPU time of Python processes, with Python stacks walked in "
	"the kernel.\n"
	"\n"
	"EXAMPLES:\n"
	"  pystrobe record -p 1234                 # until Ctrl-C, table\n"
	"  pystrobe record -p 1234,1240 -d 10 -F 999\n"
	"  pystrobe record -f folded -o out.folded -- python3 app.py\n"
	"  pystrobe record -f pprof -o cpu.pb.gz --native -- python3 app.py\n"
	"  pystrobe record --wall -p 1234 -d 30   # CPU and waits, with "
	"reasons";

static const struct argp_option options[] = {
	{"pid", 'p', "PID[,PID...]", 0, "Processes to profile", 0},
	{"cgroup", OPT_CGROUP, "PATH", 0,
	 "Every Python process in this cgroup directory and below, including "
	 "ones started later",
	 0},
	{"all", OPT_ALL, NULL, 0,
	 "Every Python process on the host, including ones started later", 0},
	{"frequency", 'F', "HZ", 0, "Samples per second per CPU (default 99)",
	 0},
	{"duration", 'd', "SECONDS", 0,
	 "Stop after this long (default: until Ctrl-C or the targets exit)", 0},
	{"output", 'o', "FILE", 0, "Write the output here (default stdout)", 0},
	{"format", 'f', "FORMAT", 0, "table (default), folded or pprof", 0},
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
	{"top", OPT_TOP, "N", 0, "table: rows to show (default 40, 0 = all)",
	 0},
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	long v;

	switch (key) {
	case 'p':
		return cli__parse_pids(arg, state, env.pids, &env.nr_pids,
				       MAX_TARGETS);
	case 'F':
		if (cli__parse_long(arg, 1, 100000, &env.freq))
			return cli__arg_error(
				state,
				"invalid frequency '%s' (1 to 100000 Hz)", arg);
		break;
	case 'd':
		if (cli__parse_double(arg, 0.001, 31536000, &env.duration))
			return cli__arg_error(
				state, "invalid duration '%s' (seconds, > 0)",
				arg);
		break;
	case 'o':
		env.render.path = arg;
		break;
	case 'f':
		if (cli__parse_format(arg, &env.render.format))
			return cli__arg_error(
				state,
				"invalid format '%s' (table, folded, pprof)",
				arg);
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
	case OPT_CGROUP:
		env.cgroup = arg;
		break;
	case OPT_ALL:
		env.all = true;
		break;
	case OPT_KERNEL:
		env.kernel = true;
		break;
	case OPT_THREADS:
		env.render.threads = true;
		break;
	case OPT_TOP:
		if (cli__parse_long(arg, 0, 1000000, &v))
			return cli__arg_error(state, "invalid row count '%s'",
					      arg);
		env.render.max_rows = v;
		break;
	case ARGP_KEY_ARG:
		return cli__unexpected_arg(state, arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

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
	return 0;
}

struct run {
	struct target_proc targets[MAX_TARGETS];
	int nr_targets;
	struct sampler *sampler;
	struct profile *profile;
	struct discovery *discovery; /* --cgroup / --all */
	int err;
};

/* A process came into scope: profile it if it runs Python. */
static void on_discovered(pid_t pid, const char *cgroup, void *ctx)
{
	struct run *r = ctx;
	struct pyproc pp;

	if (r->err)
		return;
	if (pyproc__inspect(pid, &pp, NULL, 0) != PYPROC_OK) {
		/* Other processes in scope: skipped without a word, or
		 * profiled natively when native or kernel frames are asked. */
		if (env.native || env.kernel)
			r->err = sampler__add_pid(r->sampler, pid);
		if (!r->err && (env.native || env.kernel) && cgroup[0])
			r->err = profile__set_process_label(r->profile, pid,
							    "cgroup", cgroup);
		return;
	}
	r->err = sampler__set_python(r->sampler, &pp);
	if (!r->err)
		r->err = sampler__seed_blocked(r->sampler, pid);
	if (!r->err && cgroup[0])
		r->err = profile__set_process_label(r->profile, pid, "cgroup",
						    cgroup);
}

/* Drains, then lets targets stopped at exit go. */
static int drain(struct run *r)
{
	int err = sampler__drain(r->sampler, r->profile);

	for (int i = 0; i < r->nr_targets; i++)
		if (r->targets[i].exiting)
			target__let_go(&r->targets[i]);
	return err;
}

static int sample_loop(struct run *r)
{
	int64_t start = cli__now_ns(), last_drain = start, now;
	int64_t last_scan = start - SCAN_INTERVAL_NS; /* scan at once */
	int64_t deadline = env.duration > 0 ? start + env.duration * 1e9 : 0;
	struct timespec pause = {.tv_nsec = POLL_NS};
	char why[256];
	int err = 0;

	while (!cli__stop_signal) {
		bool all_gone = !r->discovery, want_drain = false;

		now = cli__now_ns();
		if (deadline && now >= deadline)
			break;
		for (int i = 0; i < r->nr_targets; i++) {
			struct target_proc *t = &r->targets[i];
			struct pyproc pp;

			if (target__poll(t) && t->exiting)
				want_drain = true;
			if (t->execed) {
				/* Stacks so far belong to the old program. */
				err = drain(r);
				if (!err)
					err = sampler__add_pid(r->sampler,
							       t->pid);
				if (err)
					return err;
				t->execed = false;
			}
			if (!t->gone)
				all_gone = false;
			/* A started command becomes Python after its exec. */
			if (!t->gone &&
			    !sampler__has_python(r->sampler, t->pid) &&
			    pyproc__inspect(t->pid, &pp, why, sizeof(why)) ==
				    PYPROC_OK) {
				err = sampler__set_python(r->sampler, &pp);
				if (err)
					return err;
			}
		}
		sampler__poll_gil(r->sampler);
		if (r->discovery && now - last_scan >= SCAN_INTERVAL_NS) {
			err = discovery__scan(r->discovery, on_discovered, r);
			if (!err)
				err = r->err;
			if (err)
				return err;
			last_scan = now;
		}
		if (want_drain || now - last_drain >= DRAIN_INTERVAL_NS) {
			err = drain(r);
			if (err)
				return err;
			last_drain = now;
		}
		if (all_gone)
			break;
		nanosleep(&pause, NULL);
	}
	return 0;
}

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

int record_main(int argc, char **argv)
{
	static const struct argp argp = {options, parse_arg, NULL, doc};
	struct sampler_opts sopts = {};
	struct run *r = NULL;
	char why[512];
	int err = 0, exit_code = 0, opt_argc = argc;
	int64_t start;

	opt_argc = cli__split_command(argc, argv, &env.cmd);
	if (cli__parse(&argp, opt_argc, argv, NULL))
		return 1;
	if (env.cmd && !env.cmd[0]) {
		cli__error("no command after --");
		return 1;
	}
	if (!!env.cmd + !!env.nr_pids + !!env.cgroup + env.all > 1) {
		cli__error("give one of -p PID, --cgroup PATH, --all or "
			   "-- COMMAND");
		return 1;
	}
	if (!env.cmd && !env.nr_pids && !env.cgroup && !env.all) {
		cli__error("nothing to profile: give -p PID, --cgroup PATH, "
			   "--all or -- COMMAND");
		return 1;
	}
	if (env.render.format == FORMAT_PPROF && !env.render.path) {
		cli__error("-f pprof needs -o FILE");
		return 1;
	}
	if (cli__check_output(env.render.path))
		return 1;
	if (!cli__has_privileges()) {
		cli__error("pystrobe needs root (or CAP_BPF, CAP_PERFMON and "
			   "CAP_SYS_PTRACE)");
		return 1;
	}

	r = calloc(1, sizeof(*r));
	if (!r) {
		cli__error("out of memory");
		return 1;
	}
	/* Check every PID before attaching anything. */
	struct pyproc *procs = calloc(env.nr_pids ?: 1, sizeof(*procs));

	if (!procs) {
		cli__error("out of memory");
		free(r);
		return 1;
	}
	for (int i = 0; i < env.nr_pids; i++) {
		if (pyproc__inspect(env.pids[i], &procs[i], why, sizeof(why)) !=
		    PYPROC_OK) {
			cli__error("%s", why);
			err = -EINVAL;
			goto cleanup;
		}
	}

	sopts.cpu = env.mode != MODE_OFFCPU;
	sopts.offcpu = env.mode != MODE_CPU;
	sopts.freq = env.freq;
	sopts.system_wide = env.cgroup || env.all;
	sopts.cgroup = env.cgroup;
	sopts.kernel = env.kernel;
	sopts.native = env.native;
	r->profile = profile__new();
	if (!r->profile || add_types(r->profile, &sopts.values)) {
		cli__error("out of memory");
		err = -ENOMEM;
		goto cleanup;
	}
	r->profile->period = 1000000000LL / env.freq;
	r->profile->time_nanos = wall_ns();
	r->sampler = sampler__new(&sopts, why, sizeof(why));
	if (!r->sampler) {
		err = -errno;
		cli__error("%s", why);
		goto cleanup;
	}

	if (env.cgroup || env.all) {
		r->discovery = discovery__new(env.cgroup, why, sizeof(why));
		if (!r->discovery) {
			cli__error("%s", why);
			err = -EINVAL;
			goto cleanup;
		}
	} else if (env.cmd) {
		struct target_proc *t = &r->targets[r->nr_targets++];

		err = target__spawn(t, env.cmd, why, sizeof(why));
		if (!err)
			err = sampler__add_pid(r->sampler, t->pid);
		if (!err)
			err = target__release(t, env.cmd, why, sizeof(why));
		if (err) {
			cli__error("%s", why);
			exit_code = 127;
			goto cleanup;
		}
	} else {
		for (int i = 0; i < env.nr_pids; i++) {
			struct target_proc *t = &r->targets[r->nr_targets++];

			t->pid = env.pids[i];
			err = sampler__set_python(r->sampler, &procs[i]);
			if (!err)
				err = sampler__seed_blocked(r->sampler, t->pid);
			if (err) {
				cli__error("cannot watch process %d: %s",
					   t->pid, strerror(-err));
				goto cleanup;
			}
			target__seize(t);
		}
	}

	cli__catch_stop_signals();
	start = cli__now_ns();
	err = sample_loop(r);
	if (!err)
		err = drain(r);
	if (!err)
		err = sampler__finish_offcpu(r->sampler, r->profile);
	if (err) {
		cli__error("collecting samples failed: %s", strerror(-err));
		goto cleanup;
	}
	sampler__counters(r->sampler, r->profile);
	r->profile->duration_nanos = cli__now_ns() - start;
	/* Detach before writing: nothing stays attached past this point. */
	sampler__free(r->sampler);
	r->sampler = NULL;
	for (int i = 0; i < r->nr_targets; i++)
		target__let_go(&r->targets[i]);
	err = render__write(r->profile, &env.render);
	if (!err)
		print_summary(r->profile, r->profile->duration_nanos);
	if (env.cmd && cli__stop_signal == SIGTERM && !r->targets[0].gone)
		kill(r->targets[0].pid, SIGTERM);
	if (env.cmd)
		exit_code = target__wait_child(&r->targets[0]);

cleanup:
	sampler__free(r->sampler);
	for (int i = 0; i < r->nr_targets; i++)
		target__let_go(&r->targets[i]);
	if (env.cmd && exit_code == 0 && r->nr_targets && !r->targets[0].gone)
		exit_code = target__wait_child(&r->targets[0]);
	profile__free(r->profile);
	discovery__free(r->discovery);
	free(procs);
	free(r);
	if (env.cmd && err == 0)
		return exit_code;
	return err ? (exit_code ? exit_code : 1) : 0;
}
