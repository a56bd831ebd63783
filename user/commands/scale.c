// SPDX-License-Identifier: BSD-2-Clause
/*
 * `pystrobe scale`: runs a command at several input sizes n ({n} in its
 * arguments, and PYSTROBE_N), profiles each run, and fits per function how
 * its time and calls grow with n (model/scale.h).
 *
 * Each run is `pystrobe calls -f json` (or `record -f pprof`) of this same
 * binary, in a child, read back from its file: every run needs a session of
 * its own anyway (one command, its own exit status, nothing attached
 * between runs), the per-run cost of a fresh process is nothing next to the
 * run, and the sweep then measures exactly what `calls` and `record` do,
 * through their tested outputs, with no second way of tracing to keep.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "commands/commands.h"
#include "output/formats.h"
#include "output/scale_runs.h"
#include "session/cli.h"
#include "session/options.h"

#define MAX_SIZES 64
#define MAX_SIZE  1000000000000LL
#define RECORD_HZ "999"

/*
 * What is too small to fit, at the smallest size: under 1 ms of traced
 * time the tracer's own cost per call and a loaded machine's jitter are a
 * large part of what is measured; a sampled function needs 20 samples
 * (their counting error is then under a quarter).
 */
#define MIN_SECONDS_CALLS  1e-3
#define MIN_SECONDS_RECORD (20 / 999.0)

static struct scale_env {
	struct target_opts targets;
	struct output_opts output;
	long long sizes[MAX_SIZES];
	int nr_sizes;
	long repeat;
	bool record;
} env = {
	.output = OUTPUT_OPTS_DEFAULT,
	.repeat = 1,
};

enum {
	OPT_SIZES = 1000,
	OPT_REPEAT,
	OPT_MODE,
};

static const char doc[] =
	"Run a command at several input sizes and fit, per function, how its "
	"time and calls grow with n: the exponent, the complexity class, the "
	"time predicted at 10x the largest size.\n"
	"\n"
	"{n} in the command's arguments becomes each size (PYSTROBE_N too).\n"
	"\n"
	"EXAMPLES:\n"
	"  pystrobe scale --sizes 1000,2000,4000,8000 -- python3 app.py {n}\n"
	"  pystrobe scale --sizes 500,1000,2000,4000 --repeat 3 -o scale.json "
	"-- python3 bench.py --n={n}\n"
	"  pystrobe scale --mode record --sizes 100000,200000,400000 -- "
	"python3 app.py {n}";

static const struct argp_option options[] = {
	{"sizes", OPT_SIZES, "N,N,N...", 0,
	 "Input sizes: positive integers, at least three distinct", 0},
	{"repeat", OPT_REPEAT, "K", 0, "Runs per size (default 1)", 0},
	{"mode", OPT_MODE, "MODE", 0,
	 "calls (default: exact time and counts) or record (sampled CPU "
	 "time at " RECORD_HZ " Hz, no counts)",
	 0},
	{},
};

static int parse_sizes(const char *arg, struct argp_state *state)
{
	char *copy = strdup(arg), *rest = copy, *tok;
	int distinct = 0, err = 0;

	if (!copy)
		return ENOMEM;
	env.nr_sizes = 0;
	while (!err && (tok = strsep(&rest, ","))) {
		long v;

		if (cli__parse_long(tok, 1, MAX_SIZE, &v))
			err = cli__arg_error(state,
					     "invalid size '%s' in --sizes "
					     "(positive integers, "
					     "comma-separated)",
					     tok);
		else if (env.nr_sizes == MAX_SIZES)
			err = cli__arg_error(state, "more than %d sizes",
					     MAX_SIZES);
		else
			env.sizes[env.nr_sizes++] = v;
	}
	for (int i = 0; i < env.nr_sizes && !err; i++) {
		bool seen = false;

		for (int j = 0; j < i; j++)
			seen |= env.sizes[j] == env.sizes[i];
		distinct += !seen;
	}
	if (!err && distinct < 3)
		err = cli__arg_error(state,
				     "scale needs at least three distinct "
				     "sizes (--sizes '%s')",
				     arg);
	free(copy);
	return err;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_SIZES:
		return parse_sizes(arg, state);
	case OPT_REPEAT:
		if (cli__parse_long(arg, 1, 100, &env.repeat))
			return cli__arg_error(state,
					      "invalid repeat count '%s' (1 to "
					      "100)",
					      arg);
		break;
	case OPT_MODE:
		if (strcmp(arg, "calls") && strcmp(arg, "record"))
			return cli__arg_error(
				state, "invalid mode '%s' (calls, record)",
				arg);
		env.record = !strcmp(arg, "record");
		break;
	case ARGP_KEY_ARG:
		return cli__unexpected_arg(state, arg);
	case ARGP_KEY_END:
		if (!env.nr_sizes)
			return cli__arg_error(
				state, "give the input sizes: --sizes N,N,N");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp_child children[] = {
	{&options__output_argp, 0, "Output:", 2},
	{&options__findings_argp, 0, NULL, 2},
	{},
};

/* arg with every "{n}" replaced by n; NULL when out of memory. */
static char *substitute(const char *arg, long long n)
{
	char num[32], *out, *o;
	size_t len = strlen(arg) + 1, k;

	k = snprintf(num, sizeof(num), "%lld", n);
	for (const char *s = strstr(arg, "{n}"); s; s = strstr(s + 3, "{n}"))
		len += k;
	out = o = malloc(len);
	if (!out)
		return NULL;
	while (*arg) {
		if (!strncmp(arg, "{n}", 3)) {
			memcpy(o, num, k);
			o += k;
			arg += 3;
		} else {
			*o++ = *arg++;
		}
	}
	*o = 0;
	return out;
}

static bool has_placeholder(char **cmd)
{
	for (; *cmd; cmd++)
		if (strstr(*cmd, "{n}"))
			return true;
	return false;
}

/*
 * The last line of a run's log worth showing: pystrobe's own error (its
 * text), else the command's last line (not pystrobe's summary).
 */
static void log_reason(const char *log, char *buf, size_t len)
{
	FILE *f = fopen(log, "re");
	char line[512];

	buf[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "pystrobe: error: ", 17)) {
			snprintf(buf, len, "%.200s", line + 17);
			break;
		}
		if (line[0] && strncmp(line, "pystrobe: ", 10))
			snprintf(buf, len, "%.200s", line);
	}
	fclose(f);
}

/*
 * Runs argv (this binary) with its output in log; returns its exit status
 * (128 + signal when killed), or -errno when it could not start. A stop
 * signal sent to us goes on to it.
 */
static int run_child(char **argv, long long n, const char *log)
{
	bool forwarded = false;
	char value[32];
	pid_t pid;
	int status, fd;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		snprintf(value, sizeof(value), "%lld", n);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ||
		    setenv("PYSTROBE_N", value, 1))
			_exit(127);
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || dup2(fd, 0) < 0)
			_exit(127);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
		/* Once: Ctrl-C reached it already, a kill of ours did not. */
		if (cli__stop_signal && !forwarded) {
			kill(pid, cli__stop_signal);
			forwarded = true;
		}
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* The argv of one run: calls or record of cmd at size n, into out. */
static char **run_argv(long long n, const char *out)
{
	static const char *const calls[] = {"pystrobe", "calls", "-f", "json",
					    "-o"};
	static const char *const record[] = {
		"pystrobe", "record", "-F", RECORD_HZ, "-f", "pprof", "-o"};
	const char *const *pre = env.record ? record : calls;
	size_t nr_pre = env.record ? 7 : 5, nr_cmd = 0, i;
	char **argv;

	while (env.targets.cmd[nr_cmd])
		nr_cmd++;
	argv = calloc(nr_pre + 3 + nr_cmd, sizeof(*argv));
	if (!argv)
		return NULL;
	for (i = 0; i < nr_pre; i++)
		argv[i] = (char *)pre[i];
	argv[i++] = (char *)out;
	argv[i++] = "--";
	for (size_t j = 0; j < nr_cmd; j++)
		if (!(argv[i + j] = substitute(env.targets.cmd[j], n))) {
			for (size_t k = 0; k < j; k++)
				free(argv[i + k]);
			free(argv);
			return NULL;
		}
	return argv;
}

static void free_argv(char **argv)
{
	size_t first = env.record ? 9 : 7;

	for (size_t i = first; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/*
 * Runs the sweep: every run (run_sizes order), each read into r. Returns
 * 0, or the exit status to leave with after printing the one-line error.
 */
static int sweep(struct scale_result *r, const char *dir)
{
	bool tty = isatty(2);

	for (size_t i = 0; i < r->nr_runs; i++) {
		long long n = r->run_sizes[i];
		char out[PATH_MAX], log[PATH_MAX], reason[256];
		int64_t t0 = cli__now_ns();
		char **argv;
		int status, err;

		snprintf(out, sizeof(out), "%s/run-%zu.%s", dir, i,
			 env.record ? "pb.gz" : "json");
		snprintf(log, sizeof(log), "%s/run-%zu.log", dir, i);
		argv = run_argv(n, out);
		if (!argv) {
			cli__error("out of memory");
			return 1;
		}
		status = run_child(argv, n, log);
		free_argv(argv);
		if (status < 0) {
			cli__error("cannot start a run: %s", strerror(-status));
			return 1;
		}
		if (cli__stop_signal) {
			cli__error("interrupted at n=%lld", n);
			return 128 + cli__stop_signal;
		}
		log_reason(log, reason, sizeof(reason));
		unlink(log);
		if (status) {
			cli__error("the run at n=%lld failed (exit status "
				   "%d)%s%s",
				   n, status, reason[0] ? ": " : "", reason);
			unlink(out);
			return status;
		}
		err = env.record ? scale_runs__add_pprof(r, i, out)
				 : scale_runs__add_calls_json(r, i, out);
		unlink(out);
		if (err) {
			cli__error("cannot read the run at n=%lld: %s", n,
				   err == -EINVAL ? "not what it should have "
						    "written"
						  : strerror(-err));
			return 1;
		}
		if (tty)
			fprintf(stderr,
				"pystrobe: n=%lld (run %zu of %zu): "
				"%.1f s\n",
				n, i + 1, r->nr_runs,
				(cli__now_ns() - t0) / 1e9);
	}
	return 0;
}

int scale_main(int argc, char **argv)
{
	static const struct argp argp = {options, parse_arg, NULL, doc,
					 children};
	const struct option_groups groups = {&env.targets, &env.output};
	struct result res = {.kind = RESULT_SCALE};
	double run_sizes[MAX_SIZES * 100];
	const struct output_format *format;
	struct scale_result r = {};
	char dir[] = "/tmp/pystrobe-scale-XXXXXX", why[512];
	size_t nr_runs = 0;
	int status;

	if (options__parse(&argp, argc, argv, &groups, NULL))
		return 1;
	if (!env.targets.cmd) {
		cli__error("nothing to scale: give -- COMMAND ARGS... with {n} "
			   "where the size goes");
		return 1;
	}
	if (!has_placeholder(env.targets.cmd)) {
		cli__error("the command has no {n} to replace with each size");
		return 1;
	}
	format = options__choose_output(&env.output, &res.kind);
	if (!format)
		return 1;
	/* Repeats interleaved, so that a drifting machine hits every size. */
	for (long k = 0; k < env.repeat; k++)
		for (int i = 0; i < env.nr_sizes; i++)
			run_sizes[nr_runs++] = env.sizes[i];
	if (scale__init(&r, env.record ? "record" : "calls", !env.record,
			run_sizes, nr_runs)) {
		cli__error("out of memory");
		return 1;
	}
	if (!mkdtemp(dir)) {
		cli__error("cannot create a directory in /tmp: %s",
			   strerror(errno));
		scale__free(&r);
		return 1;
	}
	cli__catch_stop_signals();
	status = sweep(&r, dir);
	rmdir(dir);
	if (!status) {
		scale__analyze(&r, env.record ? MIN_SECONDS_RECORD
					      : MIN_SECONDS_CALLS);
		res.scale = &r;
		res.top = env.output.top;
		if (output__write(format, &res, env.output.path, why,
				  sizeof(why))) {
			cli__error("%s", why);
			status = 1;
		}
	}
	scale__free(&r);
	return status;
}
