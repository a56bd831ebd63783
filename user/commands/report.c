// SPDX-License-Identifier: BSD-2-Clause
/* `pystrobe report FILE`: re-renders a saved (pprof) profile. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "session/cli.h"
#include "output/pprof.h"
#include "commands/commands.h"
#include "output/render.h"

static struct report_env {
	const char *input;
	struct render_opts render;
} renv = {
	.render = {.format = FORMAT_TABLE, .max_rows = 40},
};

enum {
	OPT_THREADS = 1000,
	OPT_TOP,
};

static const char doc[] = "Render a profile saved with -f pprof.\n"
			  "\n"
			  "EXAMPLES:\n"
			  "  pystrobe report cpu.pb.gz\n"
			  "  pystrobe report cpu.pb.gz -f folded > cpu.folded";

static const struct argp_option options[] = {
	{"output", 'o', "FILE", 0, "Write the output here (default stdout)", 0},
	{"format", 'f', "FORMAT", 0, "table (default), folded or pprof", 0},
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
	case 'o':
		renv.render.path = arg;
		break;
	case 'f':
		if (cli__parse_format(arg, &renv.render.format))
			return cli__arg_error(
				state,
				"invalid format '%s' (table, folded, pprof)",
				arg);
		break;
	case OPT_THREADS:
		renv.render.threads = true;
		break;
	case OPT_TOP:
		if (cli__parse_long(arg, 0, 1000000, &v))
			return cli__arg_error(state, "invalid row count '%s'",
					      arg);
		renv.render.max_rows = v;
		break;
	case ARGP_KEY_ARG:
		if (renv.input)
			return cli__arg_error(state, "unexpected argument '%s'",
					      arg);
		renv.input = arg;
		break;
	case ARGP_KEY_END:
		if (!renv.input)
			return cli__arg_error(state, "no profile file given");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int report_main(int argc, char **argv)
{
	static const struct argp argp = {options, parse_arg, "FILE", doc};
	struct profile *p = NULL;
	int err;

	if (cli__parse(&argp, argc, argv, NULL))
		return 1;
	err = pprof__read(renv.input, &p);
	if (err) {
		cli__error("cannot read profile %s: %s", renv.input,
			   err == -EINVAL ? "not a valid pprof profile"
					  : strerror(-err));
		return 1;
	}
	err = render__write(p, &renv.render);
	profile__free(p);
	return err ? 1 : 0;
}
