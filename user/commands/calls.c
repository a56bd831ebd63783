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
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "model/call_graph.h"
#include "output/call_report.h"
#include "collectors/call_tracer.h"
#include "session/cli.h"
#include "output/folded.h"
#include "output/pprof.h"
#include "process/procmaps.h"
#include "cpython/provider.h"
#include "cpython/pyproc.h"
#include "commands/commands.h"
#include "cpython/remote_exec.h"
#include "process/target.h"

#define MAX_TARGETS	  64
#define POLL_NS		  2000000L
#define PRUNE_INTERVAL_NS 250000000LL

enum calls_format {
	CALLS_TABLE,
	CALLS_JSON,
	CALLS_PPROF,
	CALLS_FOLDED,
	CALLS_CHROME,
};

static const char *const format_names[] = {
	[CALLS_TABLE] = "table",   [CALLS_JSON] = "json",
	[CALLS_PPROF] = "pprof",   [CALLS_FOLDED] = "folded",
	[CALLS_CHROME] = "chrome",
};

static struct calls_env {
	pid_t pids[MAX_TARGETS];
	int nr_pids;
	double duration;
	const char *output;
	enum calls_format format;
	enum call_sort sort;
	long top;
	double min_duration_us;
	long max_events;
	char **cmd;
} env = {
	.format = CALLS_TABLE,
	.sort = CALL_SORT_TOTAL,
	.top = 40,
	.min_duration_us = 100,
	.max_events = 1000000,
};

enum {
	OPT_SORT = 1000,
	OPT_TOP,
	OPT_MIN_DURATION,
	OPT_MAX_EVENTS,
};

static const char doc[] =
	"Trace every Python call: exact counts, inclusive and exclusive time, "
	"and how much of it was on and off the CPU, per function.\n"
	"\n"
	"EXAMPLES:\n"
	"  pystrobe calls -- python3 app.py          # table at exit\n"
	"  pystrobe calls --sort calls -- python3 app.py\n"
	"  pystrobe calls -f json -o calls.json -- python3 app.py\n"
	"  pystrobe calls -f chrome -o trace.json --min-duration 1000 -- "
	"python3 app.py\n"
	"  pystrobe calls -p 1234 -d 10   # provider loaded, or a dtrace "
	"build";

static const struct argp_option options[] = {
	{"pid", 'p', "PID[,PID...]", 0, "Processes to trace", 0},
	{"duration", 'd', "SECONDS", 0,
	 "Stop after this long (default: until Ctrl-C or the targets exit)", 0},
	{"output", 'o', "FILE", 0, "Write the output here (default stdout)", 0},
	{"format", 'f', "FORMAT", 0,
	 "table (default), json, pprof, folded or chrome", 0},
	{"sort", OPT_SORT, "KEY", 0,
	 "table/json order: total (default), self, calls, cpu, offcpu, mean",
	 0},
	{"top", OPT_TOP, "N", 0, "table: rows to show (default 40, 0 = all)",
	 0},
	{"min-duration", OPT_MIN_DURATION, "USEC", 0,
	 "chrome: keep calls at least this long (default 100)", 0},
	{"max-events", OPT_MAX_EVENTS, "N", 0,
	 "chrome: keep at most N calls (default 1000000; the rest are counted)",
	 0},
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	size_t i;

	switch (key) {
	case 'p':
		return cli__parse_pids(arg, state, env.pids, &env.nr_pids,
				       MAX_TARGETS);
	case 'd':
		if (cli__parse_double(arg, 0.001, 31536000, &env.duration))
			return cli__arg_error(
				state, "invalid duration '%s' (seconds, > 0)",
				arg);
		break;
	case 'o':
		env.output = arg;
		break;
	case 'f':
		for (i = 0; i < sizeof(format_names) / sizeof(format_names[0]);
		     i++)
			if (strcmp(arg, format_names[i]) == 0)
				break;
		if (i == sizeof(format_names) / sizeof(format_names[0]))
			return cli__arg_error(state,
					      "invalid format '%s' (table, "
					      "json, pprof, folded, chrome)",
					      arg);
		env.format = i;
		break;
	case OPT_SORT:
		if (call_report__parse_sort(arg, &env.sort))
			return cli__arg_error(state,
					      "invalid sort key '%s' (total, "
					      "self, calls, cpu, offcpu, mean)",
					      arg);
		break;
	case OPT_TOP:
		if (cli__parse_long(arg, 0, 1000000, &env.top))
			return cli__arg_error(state, "invalid row count '%s'",
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
	case ARGP_KEY_ARG:
		return cli__unexpected_arg(state, arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct calls_run {
	struct call_tracer *tracer;
	struct provider_stage stage;
	bool found, staged;
	struct pyproc injected[MAX_TARGETS]; /* asked to load the provider */
	int nr_injected;
	struct target_proc targets[MAX_TARGETS];
	int nr_targets;
};

/* Attaches to the provider modules staged under root, for pid. */
static int attach_staged(struct calls_run *r, pid_t pid, const char *root,
			 char *why, size_t why_len)
{
	char so[2 * PATH_MAX];
	int err;

	for (int i = 0; i < r->stage.nr_versions; i++) {
		provider__so_path(&r->stage, root, r->stage.versions[i], so,
				  sizeof(so));
		err = call_tracer__attach_provider(r->tracer, pid, so);
		if (err) {
			snprintf(why, why_len,
				 "cannot attach to the provider's probes in "
				 "%.300s: %s",
				 so, strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * 3.14+: stages the provider in pid's root, attaches to it by file, and asks
 * the interpreter to import it (PEP 768). Events flow once a thread of the
 * target reaches a safe point.
 */
static int inject_provider(struct calls_run *r, const struct pyproc *pp,
			   char *why, size_t why_len)
{
	char version[16], so[2 * PATH_MAX], script[PATH_MAX + 64];
	char host_script[2 * PATH_MAX + 64];
	const char *root;
	bool have = false;
	FILE *f;
	int err;

	if (!r->found) {
		err = provider__find(&r->stage, why, why_len);
		if (err)
			return err;
		r->found = true;
	}
	snprintf(version, sizeof(version), "%d.%d", pp->major, pp->minor);
	for (int i = 0; i < r->stage.nr_versions; i++)
		have |= strcmp(r->stage.versions[i], version) == 0;
	if (!have) {
		snprintf(why, why_len, "no call provider built for Python %s",
			 version);
		return -ENOENT;
	}
	r->staged = true;
	err = provider__stage_in_root(&r->stage, pp->pid, &root);
	if (err < 0) {
		snprintf(why, why_len,
			 "cannot stage the call provider for process %d: %s",
			 pp->pid, strerror(-err));
		return err;
	}
	snprintf(script, sizeof(script), "%s/load-%d.py", r->stage.path,
		 (int)pp->pid);
	snprintf(host_script, sizeof(host_script), "%s%s", root, script);
	f = fopen(host_script, "we");
	if (!f) {
		err = -errno;
		snprintf(why, why_len, "cannot write %.300s: %s", host_script,
			 strerror(-err));
		return err;
	}
	fprintf(f,
		"import sys\n"
		"sys.path.insert(0, '%s/%s')\n"
		"try:\n"
		"    import _pystrobe_provider\n"
		"finally:\n"
		"    del sys.path[0]\n"
		"_pystrobe_provider.start()\n",
		r->stage.path, version);
	if (fclose(f)) {
		snprintf(why, why_len, "cannot write %.300s", host_script);
		return -EIO;
	}
	provider__so_path(&r->stage, root, version, so, sizeof(so));
	err = call_tracer__attach_provider(r->tracer, pp->pid, so);
	if (err) {
		snprintf(why, why_len,
			 "cannot attach to the provider's probes in %.300s: %s",
			 so, strerror(-err));
		return err;
	}
	err = remote_exec__request(pp, script, why, why_len);
	if (!err && r->nr_injected < MAX_TARGETS)
		r->injected[r->nr_injected++] = *pp;
	return err;
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

	err = procmaps__read(pp->pid, &maps);
	if (err) {
		snprintf(why, why_len, "cannot read the maps of process %d: %s",
			 pp->pid, strerror(-err));
		return err;
	}
	for (size_t i = 0; i < maps.nr; i++) {
		if (!maps.maps[i].path ||
		    !provider__is_module(maps.maps[i].path))
			continue;
		procmaps__host_path(pp->pid, &maps.maps[i], path, sizeof(path));
		procmaps__free(&maps);
		err = call_tracer__attach_provider(r->tracer, pp->pid, path);
		if (err)
			snprintf(why, why_len,
				 "cannot attach to the provider in process "
				 "%d: %s",
				 pp->pid, strerror(-err));
		return err;
	}
	for (size_t i = 0; i < maps.nr; i++) {
		if (!maps.maps[i].path ||
		    strcmp(maps.maps[i].path, pp->module) != 0)
			continue;
		procmaps__host_path(pp->pid, &maps.maps[i], path, sizeof(path));
		break;
	}
	procmaps__free(&maps);
	if (pp->info.dbg.debugger_support != OFF_NONE) {
		err = inject_provider(r, pp, inject_why, sizeof(inject_why));
		if (err != -EPERM) {
			if (err)
				snprintf(why, why_len, "%s", inject_why);
			return err;
		}
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

/* The command after an exec: stage the provider in a new root, attach. */
static int on_exec(struct calls_run *r, struct target_proc *t, char *why,
		   size_t why_len)
{
	const char *root;
	int err;

	t->execed = false;
	err = provider__stage_in_root(&r->stage, t->pid, &root);
	if (err == 1)
		err = attach_staged(r, t->pid, root, why, why_len);
	else if (err < 0)
		snprintf(why, why_len,
			 "cannot stage the call provider in the root of "
			 "process %d: %s",
			 t->pid, strerror(-err));
	target__resume(t);
	return err < 0 ? err : 0;
}

static int trace_loop(struct calls_run *r, char *why, size_t why_len)
{
	int64_t start = cli__now_ns(), last_prune = start;
	int64_t deadline = env.duration > 0 ? start + env.duration * 1e9 : 0;
	struct timespec pause = {.tv_nsec = POLL_NS};
	int err;

	while (!cli__stop_signal) {
		bool all_gone = true;

		if (deadline && cli__now_ns() >= deadline)
			break;
		for (int i = 0; i < r->nr_targets; i++) {
			struct target_proc *t = &r->targets[i];

			target__poll(t);
			if (t->held) {
				err = on_exec(r, t, why, why_len);
				if (err)
					return err;
			}
			/* Its data is in the maps already: let it exit. */
			if (t->exiting)
				target__let_go(t);
			if (!t->gone)
				all_gone = false;
		}
		call_tracer__poll(r->tracer);
		if (cli__now_ns() - last_prune >= PRUNE_INTERVAL_NS) {
			call_tracer__prune(r->tracer);
			last_prune = cli__now_ns();
		}
		if (all_gone)
			break;
		nanosleep(&pause, NULL);
	}
	return 0;
}

static int write_output(const struct call_graph *g, struct call_tracer *tr,
			const struct call_counters *lost)
{
	FILE *out = stdout;
	struct profile *p = NULL;
	const struct call_event *events;
	size_t nr_events;
	int err = 0;

	if (env.format == CALLS_PPROF || env.format == CALLS_FOLDED) {
		p = profile__new();
		if (!p)
			return -ENOMEM;
		err = call_graph__to_profile(g, p);
		for (size_t i = 0; !err && i < lost->nr; i++)
			err = profile__set_counter(p, lost->names[i],
						   lost->values[i]);
		if (!err && env.format == CALLS_PPROF) {
			err = pprof__write(p, env.output);
			profile__free(p);
			return err;
		}
	}
	if (!err && env.output) {
		out = fopen(env.output, "w");
		if (!out)
			err = -errno;
	}
	if (!err) {
		switch (env.format) {
		case CALLS_TABLE:
			err = call_report__table(g, env.sort, env.top, lost,
						 out);
			break;
		case CALLS_JSON:
			err = call_report__json(g, env.sort, lost, out);
			break;
		case CALLS_FOLDED:
			/* wall: self time; the writer shows µs. */
			err = folded__write(p, out, 1, false);
			break;
		case CALLS_CHROME:
			events = call_tracer__events(tr, &nr_events);
			err = call_report__chrome(g, events, nr_events, lost,
						  out);
			break;
		case CALLS_PPROF:
			break;
		}
	}
	if (out && out != stdout && fclose(out) && !err)
		err = -errno;
	profile__free(p);
	return err;
}

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

static int check_args(void)
{
	if (env.cmd && !env.cmd[0]) {
		cli__error("no command after --");
		return -1;
	}
	if (!!env.cmd + !!env.nr_pids != 1) {
		cli__error(env.cmd || env.nr_pids
				   ? "give one of -p PID or -- COMMAND"
				   : "nothing to trace: give -p PID or -- "
				     "COMMAND");
		return -1;
	}
	if (env.format == CALLS_PPROF && !env.output) {
		cli__error("-f pprof needs -o FILE");
		return -1;
	}
	if (cli__check_output(env.output))
		return -1;
	if (!cli__has_privileges()) {
		cli__error("pystrobe needs root (or CAP_BPF, CAP_PERFMON and "
			   "CAP_SYS_PTRACE)");
		return -1;
	}
	return 0;
}

/* Puts the stage first on the command's PYTHONPATH. */
static int export_pythonpath(const struct provider_stage *s)
{
	const char *old = getenv("PYTHONPATH");
	char *v;
	int err;

	if (old && old[0]) {
		if (asprintf(&v, "%s:%s", s->path, old) < 0)
			return -ENOMEM;
	} else {
		v = strdup(s->path);
		if (!v)
			return -ENOMEM;
	}
	err = setenv("PYTHONPATH", v, 1) ? -errno : 0;
	free(v);
	return err;
}

static int start_command(struct calls_run *r, char *why, size_t why_len)
{
	struct target_proc *t = &r->targets[r->nr_targets++];
	int err;

	err = provider__find(&r->stage, why, why_len);
	if (!err)
		err = provider__stage(&r->stage, why, why_len);
	if (err)
		return err;
	r->staged = true;
	err = export_pythonpath(&r->stage);
	if (err) {
		snprintf(why, why_len, "cannot set PYTHONPATH: %s",
			 strerror(-err));
		return err;
	}
	err = target__spawn(t, env.cmd, why, why_len);
	if (err)
		return err;
	t->hold_exec = true;
	err = attach_staged(r, t->pid, "", why, why_len);
	if (!err)
		err = target__release(t, env.cmd, why, why_len);
	return err;
}

int calls_main(int argc, char **argv)
{
	static const struct argp argp = {options, parse_arg, NULL, doc};
	const char *lost_names[CALL_LOST__COUNT];
	int64_t lost_values[CALL_LOST__COUNT], start;
	struct call_counters lost = {lost_names, lost_values, 0};
	struct call_input in = {};
	struct call_graph g = {};
	struct calls_run *r;
	char why[512];
	int err = 0, exit_code = 0, opt_argc = argc;

	opt_argc = cli__split_command(argc, argv, &env.cmd);
	if (cli__parse(&argp, opt_argc, argv, NULL) || check_args())
		return 1;
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
	for (int i = 0; i < env.nr_pids; i++)
		if (pyproc__inspect(env.pids[i], &procs[i], why, sizeof(why)) !=
		    PYPROC_OK) {
			cli__error("%s", why);
			err = -EINVAL;
			goto cleanup;
		}
	r->tracer = call_tracer__new(getenv("XMIN") ? atoll(getenv("XMIN"))
				     : env.format == CALLS_CHROME
					     ? env.min_duration_us * 1e3 ?: 1
					     : 0,
				     env.max_events, why, sizeof(why));
	if (!r->tracer) {
		cli__error("%s", why);
		err = -EINVAL;
		goto cleanup;
	}
	if (env.cmd) {
		err = start_command(r, why, sizeof(why));
		if (err) {
			cli__error("%s", why);
			exit_code = 127;
			goto cleanup;
		}
	} else {
		for (int i = 0; i < env.nr_pids; i++) {
			struct target_proc *t = &r->targets[r->nr_targets++];

			t->pid = env.pids[i];
			err = attach_running(r, &procs[i], why, sizeof(why));
			if (err) {
				cli__error("%s", why);
				goto cleanup;
			}
			target__seize(t);
		}
	}

	cli__catch_stop_signals();
	start = cli__now_ns();
	err = trace_loop(r, why, sizeof(why));
	if (err) {
		cli__error("%s", why);
		goto cleanup;
	}
	err = call_tracer__collect(r->tracer, &in);
	if (!err)
		err = call_graph__build(&in, &g);
	if (err) {
		cli__error("reading the call counts failed: %s",
			   strerror(-err));
		goto cleanup;
	}
	lost.nr = call_tracer__counters(r->tracer, lost_names, lost_values,
					CALL_LOST__COUNT);
	/* Detach before writing: nothing stays attached past this point. */
	call_tracer__detach(r->tracer);
	for (int i = 0; i < r->nr_targets; i++)
		target__let_go(&r->targets[i]);
	err = write_output(&g, r->tracer, &lost);
	if (err) {
		cli__error("cannot write the output: %s", strerror(-err));
		goto cleanup;
	}
	print_summary(&g, cli__now_ns() - start);
	if (env.cmd && cli__stop_signal == SIGTERM && !r->targets[0].gone)
		kill(r->targets[0].pid, SIGTERM);

cleanup:
	/* A request no thread has run yet must not run after we are gone. */
	for (int i = 0; i < r->nr_injected; i++)
		remote_exec__cancel(&r->injected[i]);
	call_tracer__free(r->tracer);
	for (int i = 0; i < r->nr_targets; i++)
		target__let_go(&r->targets[i]);
	if (env.cmd && r->nr_targets && !r->targets[0].gone) {
		int code = target__wait_child(&r->targets[0]);

		if (!exit_code)
			exit_code = code;
	} else if (env.cmd && r->nr_targets && !exit_code) {
		exit_code = target__wait_child(&r->targets[0]);
	}
	if (r->staged)
		provider__unstage(&r->stage);
	call_graph__free(&g);
	call_input__free(&in);
	free(procs);
	free(r);
	if (env.cmd && err == 0)
		return exit_code;
	return err ? (exit_code ? exit_code : 1) : 0;
}
