// SPDX-License-Identifier: BSD-2-Clause
/* JSON documents: plain or HTML-embedded writing, shared members. */
#include <errno.h>
#include <string.h>
#include "model/offcpu_frames.h"
#include "output/json_doc.h"

/* Writes len bytes of s, '<' escaped when html. */
static int put_text(FILE *out, const char *s, size_t len, bool html)
{
	const char *lt;

	while (html && (lt = memchr(s, '<', len))) {
		if (fwrite(s, 1, lt - s, out) != (size_t)(lt - s) ||
		    fputs("\\u003c", out) < 0)
			return -EIO;
		len -= lt - s + 1;
		s = lt + 1;
	}
	return fwrite(s, 1, len, out) == len ? 0 : -EIO;
}

int json_doc__put(FILE *out, struct json_object *o, bool html, bool last_brace)
{
	const char *s;
	size_t len;

	if (!o)
		return -ENOMEM;
	s = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		return -ENOMEM;
	len = strlen(s);
	if (!last_brace && len && s[len - 1] == '}')
		len--;
	return put_text(out, s, len, html);
}

int json_doc__string(FILE *out, const char *s, bool html)
{
	struct json_object *o = json_object_new_string(s ? s : "");
	int err = json_doc__put(out, o, html, true);

	json_object_put(o);
	return err;
}

#define ADD(o, k, v) json_object_object_add(o, k, v)

static void add_known(struct json_object *o, const char *key, int64_t v)
{
	if (v != TIMELINE_UNKNOWN)
		ADD(o, key, json_object_new_int64(v));
}

struct json_object *json_doc__timeline(const struct timeline *t)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < t->nr; i++) {
		const struct timeline_point *pt = &t->points[i];
		struct json_object *o = json_object_new_object();
		struct json_object *off = NULL;

		if (!o)
			break;
		ADD(o, "t", json_object_new_double(pt->t_ns / 1e9));
		ADD(o, "pid", json_object_new_int64(pt->pid));
		if (pt->cpu_pct >= 0)
			ADD(o, "cpu_pct", json_object_new_double(pt->cpu_pct));
		for (int r = OFFCPU_SLEEP; r < OFFCPU__COUNT; r++) {
			if (pt->offcpu_ns[r] == TIMELINE_UNKNOWN)
				continue;
			if (!off)
				off = json_object_new_object();
			ADD(off, offcpu_reason_names[r],
			    json_object_new_int64(pt->offcpu_ns[r]));
		}
		if (off)
			ADD(o, "offcpu_ns", off);
		add_known(o, "rss_bytes", pt->rss_bytes);
		add_known(o, "read_bytes", pt->read_bytes);
		add_known(o, "write_bytes", pt->write_bytes);
		add_known(o, "voluntary_switches", pt->voluntary_switches);
		add_known(o, "involuntary_switches", pt->involuntary_switches);
		add_known(o, "heap_live_bytes", pt->heap_live_bytes);
		add_known(o, "alloc_bytes_per_s", pt->alloc_bytes_per_s);
		json_object_array_add(arr, o);
	}
	return arr;
}

struct json_object *json_doc__counters(const struct profile *p)
{
	struct json_object *o = json_object_new_object();

	for (size_t i = 0; o && i < p->nr_counters; i++)
		ADD(o, profile__str(p, p->counters[i].name),
		    json_object_new_int64(p->counters[i].value));
	return o;
}

void json_doc__value_key(const struct profile *p, int type, char *buf,
			 size_t len)
{
	const char *name = profile__str(p, p->types[type].type);
	const char *unit = profile__str(p, p->types[type].unit);

	if (strcmp(unit, "nanoseconds") == 0)
		snprintf(buf, len, "%s_ns", name);
	else if (strcmp(unit, "bytes") == 0)
		snprintf(buf, len, "%s_bytes", name);
	else
		snprintf(buf, len, "%s", name);
}
