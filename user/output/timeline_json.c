// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include "model/offcpu_frames.h"
#include "output/timeline_json.h"

/* A measured value, or null. */
static struct json_object *value(int64_t v)
{
	return v == TIMELINE_UNKNOWN ? NULL : json_object_new_int64(v);
}

static struct json_object *offcpu(const struct timeline_point *p)
{
	struct json_object *o;

	if (p->offcpu_ns[OFFCPU_SLEEP] == TIMELINE_UNKNOWN)
		return NULL;
	o = json_object_new_object();
	for (int r = OFFCPU_SLEEP; o && r <= OFFCPU_OTHER; r++)
		json_object_object_add(o, offcpu_reason_names[r],
				       value(p->offcpu_ns[r]));
	return o;
}

static struct json_object *point(const struct timeline_point *p)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "t_ns", json_object_new_int64(p->t_ns));
	json_object_object_add(o, "pid", json_object_new_int64(p->pid));
	json_object_object_add(o, "cpu_pct",
			       json_object_new_double(p->cpu_pct));
	json_object_object_add(o, "offcpu_ns", offcpu(p));
	json_object_object_add(o, "rss_bytes", value(p->rss_bytes));
	json_object_object_add(o, "read_bytes", value(p->read_bytes));
	json_object_object_add(o, "write_bytes", value(p->write_bytes));
	json_object_object_add(o, "voluntary_switches",
			       value(p->voluntary_switches));
	json_object_object_add(o, "involuntary_switches",
			       value(p->involuntary_switches));
	json_object_object_add(o, "heap_live_bytes", value(p->heap_live_bytes));
	json_object_object_add(o, "alloc_bytes_per_s",
			       value(p->alloc_bytes_per_s));
	return o;
}

int timeline_json__add(struct json_object *parent, const struct timeline *t)
{
	struct json_object *o, *points;

	if (!t)
		return json_object_object_add(parent, "timeline", NULL)
			       ? -ENOMEM
			       : 0;
	o = json_object_new_object();
	points = json_object_new_array_ext(t->nr);
	if (!o || !points) {
		json_object_put(o);
		json_object_put(points);
		return -ENOMEM;
	}
	json_object_object_add(o, "interval_ns",
			       json_object_new_int64(t->interval_ns));
	json_object_object_add(o, "start_unix_ns",
			       json_object_new_int64(t->start_unix_ns));
	json_object_object_add(o, "io_bytes",
			       t->io_bytes ? json_object_new_string(t->io_bytes)
					   : NULL);
	for (size_t i = 0; i < t->nr; i++) {
		struct json_object *p = point(&t->points[i]);

		if (!p || json_object_array_add(points, p)) {
			json_object_put(p);
			json_object_put(points);
			json_object_put(o);
			return -ENOMEM;
		}
	}
	json_object_object_add(o, "points", points);
	if (json_object_object_add(parent, "timeline", o)) {
		json_object_put(o);
		return -ENOMEM;
	}
	return 0;
}
