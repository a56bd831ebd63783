/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One run of a scale sweep, read back from what `pystrobe calls -f json` or
 * `pystrobe record -f pprof` wrote, into the scale model: per function its
 * inclusive and own time, and its calls (calls only).
 */
#ifndef PYSTROBE_SCALE_RUNS_H
#define PYSTROBE_SCALE_RUNS_H

#include <stddef.h>
#include "model/scale.h"

/*
 * From calls JSON: wall time (total_ns, self_ns) and calls per function.
 * 0, -EINVAL (not calls JSON), -ENOMEM or the error opening path.
 */
int scale_runs__add_calls_json(struct scale_result *r, size_t run,
			       const char *path);

/*
 * From a sampled pprof profile: CPU time per Python function, inclusive
 * (counted once per sample however deep it recurses) and own (the leaf).
 * 0, -EINVAL (no CPU values) or a negative errno as pprof__read gives.
 */
int scale_runs__add_pprof(struct scale_result *r, size_t run, const char *path);

#endif
