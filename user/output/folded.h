/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Folded stacks ("root;...;leaf value" per line), the input of flamegraph.pl,
 * inferno and speedscope.
 */
#ifndef PYSTROBE_FOLDED_H
#define PYSTROBE_FOLDED_H

#include <stdbool.h>
#include <stdio.h>

#include "model/profile.h"

/*
 * Writes one line per distinct stack: frames root first as
 * profile__format_frame renders them (';' in a name becomes ':', line
 * breaks become spaces), joined by ';', then a space and the sum of
 * values[value_index] over all threads with that stack. With threads, each
 * stack starts with a root frame "[thread NAME tid=TID]" (NAME: the thread
 * name, else the process comm), so stacks merge per thread only. Lines
 * summing to 0 are left out; a sample without frames counts as "[unknown]".
 * Lines are sorted bytewise, so equal profiles give identical output.
 * A value in nanoseconds is written in microseconds (rounded; lines that
 * round to 0 are left out).
 * Returns 0 or a negative errno (-EINVAL: value_index out of range, -EIO:
 * write error).
 */
int folded__write(const struct profile *p, FILE *out, int value_index,
		  bool threads);

#endif /* PYSTROBE_FOLDED_H */
