/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Two profiles of the same kind compared per function (model/functions.h:
 * kind, name, file, first line, matched by their text across the two
 * profiles' string tables), per sample type both have: self and total in
 * each, and the change in value and in share (of each profile's own sum).
 */
#ifndef PYSTROBE_PROFILE_DIFF_H
#define PYSTROBE_PROFILE_DIFF_H

#include <stddef.h>
#include <stdint.h>
#include "model/functions.h"
#include "model/profile.h"

enum { DIFF_BASE, DIFF_NEW };

struct diff_func {
	enum frame_kind kind;
	const char *name, *file; /* borrowed from one of the profiles */
	int64_t line;
	/* Per side, the function there (NULL: absent from that profile). */
	const struct function *side[2];
};

struct profile_diff {
	const struct profile *p[2];
	const char *label[2]; /* names of the sides (file paths), borrowed */
	const char *kind;     /* functions__profile_kind of both */
	struct functions fs[2];
	/* Types both profiles have: type i is index type[side][i] there. */
	int type[2][PROFILE_MAX_TYPES];
	int nr_types;
	struct diff_func *funcs;
	size_t nr;
	/* Per side, frame index -> index into funcs. */
	int32_t *func_of_frame[2];
};

/*
 * Compares base with new; labels name them (borrowed: kept in d->label).
 * Returns 0, -EINVAL with a one-line reason in why
 * when they are not comparable (different kinds, no common sample type),
 * or -ENOMEM.
 */
int profile_diff__build(const struct profile *base, const struct profile *new,
			const char *const labels[2], struct profile_diff *d,
			char *why, size_t why_len);
void profile_diff__free(struct profile_diff *d); /* accepts an empty one */

/* Self (total false) or total value of type i on one side; 0 if absent. */
int64_t profile_diff__value(const struct profile_diff *d,
			    const struct diff_func *f, int side, int i,
			    bool total);

/* That value's share of the side's sum of type i (0 when the sum is 0). */
double profile_diff__share(const struct profile_diff *d,
			   const struct diff_func *f, int side, int i,
			   bool total);

#endif
