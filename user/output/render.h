/* SPDX-License-Identifier: BSD-2-Clause */
/* Writes a profile in the chosen format to a file or stdout. */
#ifndef PYSTROBE_RENDER_H
#define PYSTROBE_RENDER_H

#include <stdbool.h>
#include "session/cli.h"
#include "model/profile.h"

struct render_opts {
	enum output_format format;
	const char *path; /* NULL: stdout */
	bool threads;	  /* folded: a root frame per thread */
	int max_rows;	  /* table rows; <= 0: all */
};

/* Returns 0 or a negative errno, after printing a one-line error. */
int render__write(const struct profile *p, const struct render_opts *o);

#endif
