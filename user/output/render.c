// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "output/folded.h"
#include "output/pprof.h"
#include "output/render.h"
#include "output/table.h"
#include "output/wall_table.h"

/*
 * What folded lines count: samples for a CPU profile; for off-CPU and wall
 * profiles their last type (offcpu or wall time, written in microseconds).
 */
static int folded_value(const struct profile *p)
{
	int samples = profile__type_index(p, "samples");

	if (samples >= 0 && profile__type_index(p, "offcpu") < 0)
		return samples;
	return p->nr_types - 1;
}

int render__write(const struct profile *p, const struct render_opts *o)
{
	FILE *out = stdout;
	int err;

	if (o->format == FORMAT_PPROF) {
		if (!o->path) {
			cli__error("-f pprof needs -o FILE");
			return -EINVAL;
		}
		err = pprof__write(p, o->path);
		if (err)
			cli__error("cannot write %s: %s", o->path,
				   strerror(-err));
		return err;
	}
	if (o->path) {
		out = fopen(o->path, "we");
		if (!out) {
			err = -errno;
			cli__error("cannot write %s: %s", o->path,
				   strerror(-err));
			return err;
		}
	}
	if (o->format == FORMAT_FOLDED)
		err = folded__write(p, out, folded_value(p), o->threads);
	else if (wall_table__applies(p))
		err = wall_table__write(p, out, o->max_rows);
	else
		err = table__write(p, out, 0, o->max_rows);
	if (fflush(out) && !err)
		err = -errno;
	if (out != stdout && fclose(out) && !err)
		err = -errno;
	if (err)
		cli__error("cannot write %s: %s", o->path ? o->path : "output",
			   strerror(-err));
	return err;
}
