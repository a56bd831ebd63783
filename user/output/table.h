/* SPDX-License-Identifier: BSD-2-Clause */
/* Terminal summary: top functions by self value, like `pprof -top`. */
#ifndef PYSTROBE_TABLE_H
#define PYSTROBE_TABLE_H

#include <stdio.h>

#include "model/profile.h"

/*
 * Writes a header (sum of values[value_index], threads, processes), then up
 * to max_rows functions (<= 0: all) sorted by self value, with self %,
 * total % (the function anywhere on the stack, once per sample however
 * often it recurses), self and total values (time and bytes scaled per
 * value, counts whole) and "qualname (file:start)" fitted to out's
 * terminal (text.h: the name whole, the path shortened from the left).
 * A function is (kind, name, file, start_line): its lines are summed.
 * Ends with one line listing every counter. Returns 0 or a negative errno
 * (-EINVAL: value_index out of range, -EIO: write error).
 */
int table__write(const struct profile *p, FILE *out, int value_index,
		 int max_rows);

#endif /* PYSTROBE_TABLE_H */
