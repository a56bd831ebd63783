// SPDX-License-Identifier: BSD-2-Clause
/* `pystrobe report FILE`: re-renders a saved (pprof) profile. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "commands/commands.h"
#include "output/formats.h"
#include "output/pprof.h"
#include "session/cli.h"
#include "session/options.h"

static struct report_env {
	const char *input;
	struct output_opts output;
	bool threads;
} env = {
	.output = OUTPUT_OPTS_DEFAULT,
};

enum {
	OPT_THREADS = 1000,
};

static const char doc[] =
	"Render a profile saved with -f pprof, or a document saved with -f "
	"json (as json or html).\n"
	"\n"
	"EXAMPLES:\n"
	"  pystrobe report cpu.pb.gz\n"
	"  pystrobe report cpu.pb.gz -o cpu.folded\n"
	"  pystrobe report calls.json -o calls.html";

static const struct argp_option options[] = {
	{"threads", OPT_THREADS, NULL, 0,
	 "folded: start each stack with its thread", 0},
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_THREADS:
		env.threads = true;
		break;
	case ARGP_KEY_ARG:
		if (env.input)
			return cli__arg_error(state, "unexpected argument '%s'",
					      arg);
		env.input = arg;
		break;
	case ARGP_KEY_END:
		if (!env.input)
			return cli__arg_error(state, "no profile file given");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp_child children[] = {
	{&options__output_argp, 0, "Output:", 2},
	{},
};

/* A saved JSON document: its first non-blank byte is '{'. */
static bool is_document(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : NULL;
	int c = EOF;

	if (!f)
		return false;
	do
		c = fgetc(f);
	while (c == ' ' || c == '\n' || c == '\t' || c == '\r');
	fclose(f);
	return c == '{';
}

int report_main(int argc, char **argv)
{
	static const struct argp argp = {options, parse_arg, "FILE", doc,
					 children};
	const struct option_groups groups = {NULL, &env.output};
	struct result res = {.kind = RESULT_SAMPLES};
	const struct output_format *format;
	struct profile *p = NULL;
	char why[512];
	int err;

	if (options__parse(&argp, argc, argv, &groups, NULL))
		return 1;
	if (is_document(env.input))
		res.kind = RESULT_DOCUMENT;
	format = output__choose(env.output.format, env.output.path, res.kind,
				why, sizeof(why));
	if (!format) {
		cli__error("%s", why);
		return 1;
	}
	if (res.kind == RESULT_DOCUMENT) {
		res.document = json_object_from_file(env.input);
		if (!res.document ||
		    !json_object_is_type(res.document, json_type_object)) {
			cli__error("cannot read %s: not a JSON document",
				   env.input);
			json_object_put(res.document);
			return 1;
		}
	} else {
		err = pprof__read(env.input, &p);
		if (err) {
			cli__error("cannot read profile %s: %s", env.input,
				   err == -EINVAL ? "not a valid pprof profile"
						  : strerror(-err));
			return 1;
		}
	}
	res.profile = p;
	res.top = env.output.top;
	res.threads = env.threads;
	err = output__write(format, &res, env.output.path, why, sizeof(why));
	if (err)
		cli__error("%s", why);
	json_object_put(res.document);
	profile__free(p);
	return err ? 1 : 0;
}
