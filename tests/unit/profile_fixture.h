/* SPDX-License-Identifier: BSD-2-Clause */
/* Building blocks for the unit tests' hand-made profiles (cmocka). */
#ifndef PYSTROBE_PROFILE_FIXTURE_H
#define PYSTROBE_PROFILE_FIXTURE_H

#include "model/profile.h"

/* Adds (or finds) a frame; fails the test on error. Returns its index. */
static uint32_t frame(struct profile *p, enum frame_kind kind, const char *name,
		      const char *file, int64_t line, int64_t start_line)
{
	struct profile_frame f = {
		.kind = kind,
		.name = profile__intern(p, name),
		.file = profile__intern(p, file),
		.line = line,
		.start_line = start_line,
	};
	int64_t idx = profile__add_frame(p, &f);

	assert_true(idx >= 0);
	return idx;
}

#endif
