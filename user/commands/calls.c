// SPDX-License-Identifier: BSD-2-Clause
/*
 * `pystrobe calls`: deterministic call tracing of Python processes: exact
 * call counts, inclusive and exclusive time, CPU versus off-CPU, per
 * function, from USDT probes at every Python call and return.
 *
 * Probes, by what the target offers:
 *   -- CMD    pystrobe's provider (provider/), loaded at start-up through
 *             PYTHONPATH; probes attached by file before it loads.
 *   -p PID    the provider if the process has it loaded; on 3.14+ the
 *             provider loaded through PEP 768 remote execution; else
 *             CPython's own python:function__entry/return (3.9/3.10 built
 *             with dtrace, 3.15+), which cannot tell a generator's
 *             resumption from a call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collectors/call_tracer.h"
#include "commands/commands.h"
#include "cpython/provider_attach.h"
#include "cpython/pyproc.h"
#include "output/call_report.h"
#include "output/formats.h"
#include "process/procmaps.h"
#include "session/cli.h"
#include "session/options.h"
#include "session/session.h"

#define PRUNE_INTERVAL_NS 250000000LL

static struct calls_env {
	struct target_opts targets;
	struct output_opts output;
	enum call_sort sort;
	double min_duration_us;
	long max_events;
	bool raw;
} env = {
	.output = OUTPUT_OPTS_DEFAULT,
	.sort = CALL_SORT_TOTAL,
	.min_duration_us = 100,
	.max_events = 1000000,
};

enum {
	OPT_SORT = 1000,
	OPT_MIN_DURATION,
	OPT_MAX_EVENTS,
	OPT_RAW,
};

static const char doc[] =
	"Trace every Python call: exact counts, inclusive and exclusive time, "
	"and how much of it was on and off the CPU, per function.\n"
	"\n"
	"EXAMPLES:\n"
	"  pystrobe calls -- python3 app.py          # table at exit\n"
	"  pystrobe calls --sort calls -- python3 app.py\n"
	"  pystrobe calls -o calls.json -- python3 app.py\n"
	"  pystrobe calls -o trace.trace.json --min-duration 1000 -- "
	"python3 app.py\n"
	"  pystrobe calls -p 1234 -d 10   # provider loaded, or a dtrace "
	"build";

static const struct argp_option options[] = {
	{"sort", OPT_SORT, "KEY", 0,
	 "table/json order: total (default), self, calls, cpu, offcpu, mean",
	 0},
	{"min-duration", OPT_MIN_DURATION, "USEC", 0,
	 "chrome: keep calls at least this long (default 100)", 0},
	{"max-events", OPT_MAX_EVENTS, "N", 0,
	 "chrome: keep at most N calls (default 1000000; the rest are counted)",
	 0},
	{"raw", OPT_RAW, NULL, 0,
	 "Times as measured: tracing's own cost (calibrated at start) not "
	 "taken out",
	 0},
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_SORT:
		if (call_report__parse_sort(arg, &env.sort))
			return cli__arg_error(state,
					      "invalid sort key '%s' (total, "
					      "self, calls, cpu, offcpu, mean)",
					      arg);
		break;
	case OPT_MIN_DURATION:
		if (cli__parse_double(arg, 0, 3.6e9, &env.min_duration_us))
			return cli__arg_error(
				state, "invalid minimum duration '%s' (µs)",
				arg);
		break;
	case OPT_MAX_EVENTS:
		if (cli__parse_long(arg, 1, 100000000, &env.max_events))
			return cli__arg_error(state, "invalid event count '%s'",
					      arg);
		break;
	case OPT_RAW:
		env.raw = true;
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
	{&options__output_argp, 0, "Output:", 2},
	{&options__findings_argp, 0, NULL, 2},
	{},
};

struct calls_run {
	struct call_tracer *tracer;
	struct provider_link link; /* the provider, staged and loaded */
};

/* provider_link's attach: the call probes of the module at so, in pid. */
static int attach_probes(void *ctx, pid_t pid, const char *so)
{
	struct calls_run *r = ctx;

	return call_tracer__attach_provider(r->tracer, pid, so);
}

/*
 * A running process: its loaded provider, else the provider loaded through
 * PEP 768, else CPython's own probes.
 * Returns 0, or a negative errno with a one-line reason in why.
 */
static int attach_running(struct calls_run *r, const struct pyproc *pp,
			  char *why, size_t why_len)
{
	struct procmaps maps = {};
	char path[PATH_MAX + 64] = "", inject_why[512] = "";
	int err;

	err = provider_link__find_loaded(pp, path, sizeof(path), why, why_len);
	if (err < 0)
		return err;
	if (err == 1) {
		err = call_tracer__attach_provider(r->tracer, pp->pid, path);
		if (err)
			snprintf(why, why_len,
				 "cannot attach to the provider in process "
				 "%d: %s",
				 pp->pid, strerror(-err));
		return err;
	}
	err = provider_link__inject(&r->link, pp, inject_why,
				    sizeof(inject_why));
	if (err != -EPERM && err != -ENOTSUP) {
		if (err)
			snprintf(why, why_len, "%s", inject_why);
		return err;
	}
	if (err == -ENOTSUP)
		inject_why[0] = 0; /* no PEP 768: not worth saying */
	path[0] = 0;
	if (!procmaps__read(pp->pid, &maps)) {
		for (size_t i = 0; i < maps.nr; i++) {
			if (!maps.maps[i].path ||
			    strcmp(maps.maps[i].path, pp->module) != 0)
				continue;
			procmaps__host_path(pp->pid, &maps.maps[i], path,
					    sizeof(path));
			break;
		}
		procmaps__free(&maps);
	}
	err = call_tracer__attach_cpython(r->tracer, pp->pid,
					  path[0] ? path : pp->module);
	if (err && inject_why[0])
		snprintf(why, why_len, "%s, and it has no dtrace probes",
			 inject_why);
	else if (err)
		snprintf(why, why_len,
			 "Python %d.%d process %d has no call probes (no "
			 "dtrace build, no pystrobe provider loaded): start it "
			 "with 'pystrobe calls -- CMD', or sample it with "
			 "'pystrobe record -p %d'",
			 pp->major, pp->minor, pp->pid, pp->pid);
	return err;
}

/*
 * A command's new program (chroot, a container's entry point): the provider
 * is staged in its root too, and attached there. Other targets' new
 * programs are not traced.
 */
static int on_exec(void *ctx, struct target_proc *t, char *why, size_t why_len)
{
	struct calls_run *r = ctx;

	if (!t->child)
		return 0;
	return provider_link__on_exec(&r->link, t->pid, why, why_len);
}

static int on_python(void *ctx, const struct pyproc *pp,
		     enum session_origin origin, const char *cgroup, char *why,
		     size_t why_len)
{
	/* A started command brings the provider itself (PYTHONPATH). */
	if (origin == ORIGIN_COMMAND)
		return 0;
	return attach_running(ctx, pp, why, why_len);
}

/* The command, held before its exec: its probes are attached by file. */
static int before_exec(void *ctx, struct target_proc *t, char *why,
		       size_t why_len)
{
	struct calls_run *r = ctx;

	return provider_link__attach_staged(&r->link, t->pid, "", why, why_len);
}

/* Exited threads' shadow stacks are forgotten. */
static int collect(void *ctx, char *why, size_t why_len)
{
	struct calls_run *r = ctx;

	call_tracer__prune(r->tracer);
	return 0;
}

static int tick(void *ctx, char *why, size_t why_len)
{
	struct calls_run *r = ctx;

	call_tracer__poll(r->tracer);
	return 0;
}

static const struct session_hooks hooks = {
	.before_exec = before_exec,
	.on_python = on_python,
	.on_exec = on_exec,
	.collect = collect,
	.tick = tick,
};

static void print_summary(const struct call_graph *g, int64_t elapsed_ns)
{
	uint64_t calls = 0;

	for (size_t i = 0; i < g->nr_funcs; i++)
		calls += g->funcs[i].calls;
	fprintf(stderr, "pystrobe: %llu calls of %zu functions in %.1f s\n",
		(unsigned long long)calls, g->nr_funcs, elapsed_ns / 1e9);
	if (!calls)
		fprintf(stderr, "pystrobe: no calls seen: was the provider "
				"loaded? (python -I, -E or -S skip it)\n");
}

/* Collects the graph and detaches: nothing stays attached after. */
static int finish(struct calls_run *r, struct session *s, struct call_graph *g,
		  const char **lost_names, int64_t *lost_values,
		  size_t *nr_lost, char *why, size_t why_len)
{
	struct call_input in = {};
	int err;

	err = call_tracer__collect(r->tracer, &in);
	if (!err)
		err = call_graph__build(&in, g);
	call_input__free(&in);
	if (err) {
		snprintf(why, why_len, "reading the call counts failed: %s",
			 strerror(-err));
		return err;
	}
	*nr_lost = call_tracer__counters(r->tracer, lost_names, lost_values,
					 CALL_LOST__COUNT);
	call_tracer__detach(r->tracer);
	session__release(s);
	return 0;
}

int calls_main(int argc, char **argv)
{
	static const struct argp argp = {options, parse_arg, NULL, doc,
					 children};
	const struct option_groups groups = {&env.targets, &env.output};
	struct session_config cfg = {
		.targets = &env.targets,
		.hooks = &hooks,
		.collect_interval_ns = PRUNE_INTERVAL_NS,
	};
	const char *lost_names[CALL_LOST__COUNT];
	int64_t lost_values[CALL_LOST__COUNT];
	struct call_counters lost = {lost_names, lost_values, 0};
	struct result res = {.kind = RESULT_CALLS};
	const struct output_format *format;
	struct call_graph g = {};
	struct calls_run r = {.link = {.attach = attach_probes}};
	struct session *s = NULL;
	uint64_t min_event_ns = 0;
	char why[512];
	int err;

	if (options__parse(&argp, argc, argv, &groups, NULL) ||
	    options__check_targets(&env.targets, TARGET_PIDS | TARGET_COMMAND,
				   "trace"))
		return 1;
	format = options__choose_output(&env.output, &res.kind);
	if (!format)
		return 1;

	cfg.ctx = &r;
	r.link.ctx = &r;
	s = session__new(&cfg, why, sizeof(why));
	if (!s) {
		cli__error("%s", why);
		return 1;
	}
	/* Only a timeline needs each call's own event. */
	if (format->call_events)
		min_event_ns = env.min_duration_us * 1e3 ?: 1;
	r.tracer = call_tracer__new(min_event_ns, env.max_events, env.raw, why,
				    sizeof(why));
	err = r.tracer ? 0 : -EINVAL;
	if (!err && env.targets.cmd)
		err = provider_link__stage_for_command(&r.link, why,
						       sizeof(why));
	if (!err)
		err = session__start(s, why, sizeof(why));
	if (!err)
		err = session__run(s, why, sizeof(why));
	if (!err)
		err = finish(&r, s, &g, lost_names, lost_values, &lost.nr, why,
			     sizeof(why));
	if (err)
		goto cleanup;
	res.calls = &g;
	res.events = call_tracer__events(r.tracer, &res.nr_events);
	res.lost = &lost;
	res.timeline = session__timeline(s);
	res.top = env.output.top;
	res.sort = env.sort;
	err = output__write(format, &res, env.output.path, why, sizeof(why));
	if (!err)
		print_summary(&g, session__elapsed_ns(s));

cleanup:
	if (err)
		cli__error("%s", why);
	call_tracer__free(r.tracer);
	err = session__exit_status(s, err);
	session__free(s);
	provider_link__cleanup(&r.link);
	call_graph__free(&g);
	return err;
}
