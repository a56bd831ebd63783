/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The table for off-CPU and wall profiles: per function, its wall time
 * (total and self), and the self time split into CPU and each off-CPU
 * reason. A sample's reason is its "[off-cpu: REASON]" leaf pseudo-frame;
 * its function is the leaf-most frame that is neither a pseudo-frame nor
 * a kernel frame.
 */
#ifndef PYSTROBE_WALL_TABLE_H
#define PYSTROBE_WALL_TABLE_H

#include <stdio.h>
#include "model/profile.h"

/* True when p carries off-CPU time (this table applies). */
bool wall_table__applies(const struct profile *p);

/* max_rows <= 0: all rows. Returns 0 or a negative errno. */
int wall_table__write(const struct profile *p, FILE *out, int max_rows);

#endif
