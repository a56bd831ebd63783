// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include "model/timeline.h"

int timeline__add(struct timeline *t, const struct timeline_point *pt)
{
	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct timeline_point *v =
			reallocarray(t->points, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->points = v;
		t->cap = cap;
	}
	t->points[t->nr++] = *pt;
	return 0;
}

void timeline__free(struct timeline *t)
{
	if (!t)
		return;
	free(t->points);
	t->points = NULL;
	t->nr = t->cap = 0;
}
