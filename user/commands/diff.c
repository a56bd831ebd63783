// SPDX-License-Identifier: BSD-2-Clause
/* `pystrobe diff BASE NEW`: two saved profiles of one kind, per function. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "commands/commands.h"
#include "model/profile_diff.h"
#include "output/formats.h"
#include "output/pprof.h"
#include "session/cli.h"
#include "session/options.h"

static struct diff_env {
	const char *paths[2];
	int nr_paths;
	struct output_opts output;
} env = {
	.output = OUTPUT_OPTS_DEFAULT,
};

static const char doc[] =
	"Compare two profiles saved as pprof (record, calls) per function: "
	"the change in share and in value. Both must be of one kind (CPU, "
	"off-CPU, wall, calls, memory).\n"
	"\n"
	"EXAMPLES:\n"
	"  pystrobe diff before.pb.gz after.pb.gz\n"
	"  pystrobe diff before.pb.gz after.pb.gz -o diff.html\n"
	"  pystrobe diff before.pb.gz after.pb.gz -f json";

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_ARG:
		if (env.nr_paths == 2)
			return cli__unexpected_arg(state, arg);
		env.paths[env.nr_paths++] = arg;
		break;
	case ARGP_KEY_END:
		if (env.nr_paths < 2)
			return cli__arg_error(state,
					      "give two profiles: BASE NEW");
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

int diff_main(int argc, char **argv)
{
	static const struct argp argp = {NULL, parse_arg, "BASE NEW", doc,
					 children};
	const struct option_groups groups = {NULL, &env.output};
	struct result res = {.kind = RESULT_DIFF};
	const struct output_format *format;
	struct profile *p[2] = {NULL, NULL};
	struct profile_diff d = {};
	char why[512];
	int err = 0;

	if (options__parse(&argp, argc, argv, &groups, NULL))
		return 1;
	format = output__choose(env.output.format, env.output.path, RESULT_DIFF,
				why, sizeof(why));
	if (!format) {
		cli__error("%s", why);
		return 1;
	}
	for (int i = 0; i < 2 && !err; i++) {
		err = pprof__read(env.paths[i], &p[i]);
		if (err)
			snprintf(why, sizeof(why), "cannot read profile %s: %s",
				 env.paths[i],
				 err == -EINVAL ? "not a valid pprof profile"
						: strerror(-err));
	}
	if (!err)
		err = profile_diff__build(p[0], p[1], env.paths, &d, why,
					  sizeof(why));
	if (!err) {
		res.diff = &d;
		res.top = env.output.top;
		err = output__write(format, &res, env.output.path, why,
				    sizeof(why));
	}
	if (err)
		cli__error("%s", why);
	profile_diff__free(&d);
	profile__free(p[0]);
	profile__free(p[1]);
	return err ? 1 : 0;
}
