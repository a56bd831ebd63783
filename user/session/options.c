// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <string.h>
#include "output/formats.h"
#include "session/cli.h"
#include "session/options.h"

enum {
	OPT_CGROUP = 2000,
	OPT_ALL,
	OPT_TOP,
	OPT_INTERVAL,
	OPT_PUSH,
	OPT_APP,
	OPT_PUSH_INTERVAL,
	OPT_FINDINGS,
};

static const struct argp_option pid_options[] = {
	{"pid", 'p', "PID[,PID...]", 0, "Processes to attach to", 0},
	{"duration", 'd', "SECONDS", 0,
	 "Stop after this long (default: until Ctrl-C or the targets exit)", 0},
	{"interval", OPT_INTERVAL, "SECONDS", 0,
	 "Resource timeline: one point per process this often (default 1)", 0},
	{},
};

static error_t parse_pid(int key, char *arg, struct argp_state *state)
{
	struct target_opts *t = state->input;

	switch (key) {
	case 'p':
		return cli__parse_pids(arg, state, t->pids, &t->nr_pids,
				       OPTIONS_MAX_PIDS);
	case 'd':
		if (cli__parse_double(arg, 0.001, 31536000, &t->duration))
			return cli__arg_error(
				state, "invalid duration '%s' (seconds, > 0)",
				arg);
		return 0;
	case OPT_INTERVAL:
		if (cli__parse_double(arg, 0.01, 3600, &t->interval))
			return cli__arg_error(state,
					      "invalid interval '%s' (0.01 to "
					      "3600 seconds)",
					      arg);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

const struct argp options__pid_argp = {pid_options, parse_pid};

static const struct argp_option scope_options[] = {
	{"cgroup", OPT_CGROUP, "PATH", 0,
	 "Every Python process in this cgroup directory and below, including "
	 "ones started later",
	 0},
	{"all", OPT_ALL, NULL, 0,
	 "Every Python process on the host, including ones started later", 0},
	{},
};

static error_t parse_scope(int key, char *arg, struct argp_state *state)
{
	struct target_opts *t = state->input;

	switch (key) {
	case OPT_CGROUP:
		t->cgroup = arg;
		return 0;
	case OPT_ALL:
		t->all = true;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

const struct argp options__scope_argp = {scope_options, parse_scope};

static const struct argp_option output_options[] = {
	{"output", 'o', "FILE", 0,
	 "Write the output here (default stdout); its extension chooses the "
	 "format when -f is not given",
	 0},
	{"format", 'f', "FORMAT", 0,
	 "Output format (default: by the -o extension, else table)", 0},
	{"top", OPT_TOP, "N", 0, "table: rows to show (default 40, 0 = all)",
	 0},
	{},
};

static error_t parse_output(int key, char *arg, struct argp_state *state)
{
	struct output_opts *o = state->input;
	char names[256];

	switch (key) {
	case 'o':
		o->path = arg;
		return 0;
	case 'f':
		o->format = output__find(arg);
		if (!o->format) {
			output__names(names, sizeof(names));
			return cli__arg_error(state, "invalid format '%s' (%s)",
					      arg, names);
		}
		return 0;
	case OPT_TOP:
		if (cli__parse_long(arg, 0, 1000000, &o->top))
			return cli__arg_error(state, "invalid row count '%s'",
					      arg);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

const struct argp options__output_argp = {output_options, parse_output};

static const struct argp_option push_options[] = {
	{"push", OPT_PUSH, "URL", 0,
	 "Send each interval's profile to this Pyroscope server "
	 "(http://host:4040)",
	 0},
	{"app", OPT_APP, "NAME", 0, "Application name for --push", 0},
	{"push-interval", OPT_PUSH_INTERVAL, "SECONDS", 0,
	 "--push: one profile per process this often (default 10)", 0},
	{},
};

static error_t parse_push(int key, char *arg, struct argp_state *state)
{
	struct push_cli *p = state->input;

	switch (key) {
	case OPT_PUSH:
		if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
			return cli__arg_error(state,
					      "--push %s: not an http:// or "
					      "https:// URL",
					      arg);
		p->url = arg;
		return 0;
	case OPT_APP:
		p->app = arg;
		return 0;
	case OPT_PUSH_INTERVAL:
		if (cli__parse_double(arg, 1, 3600, &p->interval))
			return cli__arg_error(state,
					      "invalid push interval '%s' (1 "
					      "to 3600 seconds)",
					      arg);
		return 0;
	case ARGP_KEY_END:
		if (!p->url != !p->app)
			return cli__arg_error(state,
					      "--push and --app go together");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

const struct argp options__push_argp = {push_options, parse_push};
static const struct argp_option findings_options[] = {
	{"findings", OPT_FINDINGS, NULL, 0,
	 "Only what the profile reveals (table or json), with its evidence", 0},
	{},
};

static error_t parse_findings(int key, char *arg, struct argp_state *state)
{
	struct output_opts *o = state->input;

	if (key != OPT_FINDINGS)
		return ARGP_ERR_UNKNOWN;
	o->findings_only = true;
	return 0;
}

const struct argp options__findings_argp = {findings_options, parse_findings};

/* What the wrapping parser needs to reach the command's own parser. */
struct wrapped {
	const struct argp *argp;
	const struct option_groups *groups;
	void *input;
};

static void *group_input(const struct option_groups *g, const struct argp *a)
{
	if (a == &options__pid_argp || a == &options__scope_argp)
		return g->targets;
	if (a == &options__output_argp || a == &options__findings_argp)
		return g->output;
	if (a == &options__push_argp)
		return g->push;
	return NULL;
}

/*
 * Hands each group its input (argp asks at ARGP_KEY_INIT), then runs the
 * command's own parser with the command's input.
 */
static error_t parse_wrapped(int key, char *arg, struct argp_state *state)
{
	const struct wrapped *w = state->input;
	const struct argp_child *c = w->argp->children;
	error_t err;

	if (key == ARGP_KEY_INIT)
		for (int i = 0; c && c[i].argp; i++)
			state->child_inputs[i] =
				group_input(w->groups, c[i].argp);
	if (!w->argp->parser)
		return ARGP_ERR_UNKNOWN;
	state->input = w->input;
	err = w->argp->parser(key, arg, state);
	state->input = (void *)w;
	return err;
}

int options__parse(const struct argp *argp, int argc, char **argv,
		   const struct option_groups *groups, void *input)
{
	struct argp top = *argp;
	struct wrapped w = {argp, groups, input};
	char **cmd = NULL;
	int opt_argc;

	opt_argc = cli__split_command(argc, argv, &cmd);
	if (groups->targets)
		groups->targets->cmd = cmd;
	else if (cmd) {
		cli__error("this command runs no command: nothing goes after "
			   "--");
		return -1;
	}
	top.parser = parse_wrapped;
	if (cli__parse(&top, opt_argc, argv, &w))
		return -1;
	if (cmd && !cmd[0]) {
		cli__error("no command after --");
		return -1;
	}
	return 0;
}

int options__check_targets(const struct target_opts *t, unsigned int kinds,
			   const char *verb)
{
	int given = !!t->cmd + !!t->nr_pids + !!t->cgroup + t->all;
	char list[128] = "";

	if (kinds & TARGET_PIDS)
		strcat(list, "-p PID");
	if (kinds & TARGET_SCOPE)
		strcat(list, kinds & TARGET_COMMAND
				     ? ", --cgroup PATH, --all"
				     : " or --cgroup PATH, --all");
	if (kinds & TARGET_COMMAND)
		strcat(list, " or -- COMMAND");
	if (given > 1) {
		cli__error("give one of %s", list);
		return -1;
	}
	if (!given) {
		cli__error("nothing to %s: give %s", verb, list);
		return -1;
	}
	if (((t->cgroup || t->all) && !(kinds & TARGET_SCOPE)) ||
	    (t->cmd && !(kinds & TARGET_COMMAND)) ||
	    (t->nr_pids && !(kinds & TARGET_PIDS))) {
		cli__error("this command takes %s", list);
		return -1;
	}
	return 0;
}

const struct output_format *options__choose_output(const struct output_opts *o,
						   enum result_kind *kind)
{
	const struct output_format *format;
	char why[512];

	if (o->findings_only)
		*kind = RESULT_FINDINGS;
	format = output__choose(o->format, o->path, *kind, why, sizeof(why));
	if (!format) {
		cli__error("%s", why);
		return NULL;
	}
	if (cli__check_output(o->path) || cli__check_privileges())
		return NULL;
	return format;
}
