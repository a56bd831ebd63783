// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "output/pprof.h"
#include "output/scale_runs.h"

static bool get_string(struct json_object *o, const char *key, const char **out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return false;
	*out = json_object_get_string(v);
	return true;
}

static bool get_number(struct json_object *o, const char *key, double *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return false;
	*out = (double)json_object_get_int64(v);
	return true;
}

int scale_runs__add_calls_json(struct scale_result *r, size_t run,
			       const char *path)
{
	struct json_object *root = json_object_from_file(path), *funcs;
	int err = 0;

	if (!root)
		return -EINVAL;
	if (!json_object_object_get_ex(root, "functions", &funcs) ||
	    !json_object_is_type(funcs, json_type_array))
		err = -EINVAL;
	for (size_t i = 0; !err && i < json_object_array_length(funcs); i++) {
		struct json_object *f = json_object_array_get_idx(funcs, i);
		const char *name, *file;
		double line, calls, total, self;

		if (!get_string(f, "name", &name) ||
		    !get_string(f, "file", &file) ||
		    !get_number(f, "line", &line) ||
		    !get_number(f, "calls", &calls) ||
		    !get_number(f, "total_ns", &total) ||
		    !get_number(f, "self_ns", &self)) {
			err = -EINVAL;
			break;
		}
		err = scale__add(r, run, name, file, (long)line, total / 1e9,
				 self / 1e9, calls);
	}
	json_object_put(root);
	return err;
}

static const struct profile *g_profile; /* qsort has no context */

/* Frames of one function (name, file, first line) sort together. */
static int cmp_func(const void *a, const void *b)
{
	const struct profile_frame *x = &g_profile->frames[*(const size_t *)a];
	const struct profile_frame *y = &g_profile->frames[*(const size_t *)b];

	if (x->name != y->name)
		return x->name < y->name ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return (x->start_line > y->start_line) -
	       (x->start_line < y->start_line);
}

int scale_runs__add_pprof(struct scale_result *r, size_t run, const char *path)
{
	struct profile *p = NULL;
	double *total = NULL, *self = NULL;
	size_t *func = NULL, *seen = NULL;
	int ci, si, err;

	err = pprof__read(path, &p);
	if (err)
		return err;
	ci = profile__type_index(p, "cpu");
	si = profile__type_index(p, "samples");
	err = -EINVAL;
	if (ci < 0 && si < 0)
		goto cleanup;
	err = -ENOMEM;
	func = calloc(p->nr_frames + 1, sizeof(*func));
	seen = calloc(p->nr_frames + 1, sizeof(*seen));
	total = calloc(p->nr_frames + 1, sizeof(*total));
	self = calloc(p->nr_frames + 1, sizeof(*self));
	if (!func || !seen || !total || !self)
		goto cleanup;
	/* func[frame]: the first frame, in sorted order, of its function. */
	for (size_t i = 0; i < p->nr_frames; i++)
		seen[i] = i;
	g_profile = p;
	qsort(seen, p->nr_frames, sizeof(*seen), cmp_func);
	for (size_t i = 0; i < p->nr_frames; i++)
		func[seen[i]] = i && !cmp_func(&seen[i - 1], &seen[i])
					? func[seen[i - 1]]
					: seen[i];
	memset(seen, 0, (p->nr_frames + 1) * sizeof(*seen));
	for (size_t i = 0; i < p->nr_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		double v = ci >= 0 ? s->values[ci] / 1e9
				   : s->values[si] * (double)p->period / 1e9;
		bool leaf = true;

		for (uint32_t j = 0; j < s->depth; j++) {
			size_t f = func[s->frames[j]];

			/* "[unknown code]" at the leaf: nobody's own time. */
			if (p->frames[f].kind == FRAME_MARKER)
				leaf = false;
			if (p->frames[f].kind != FRAME_PYTHON)
				continue;
			if (leaf)
				self[f] += v;
			leaf = false;
			if (seen[f] != i + 1) {
				seen[f] = i + 1;
				total[f] += v;
			}
		}
	}
	err = 0;
	for (size_t i = 0; i < p->nr_frames && !err; i++)
		if (total[i] > 0)
			err = scale__add(
				r, run, profile__str(p, p->frames[i].name),
				profile__str(p, p->frames[i].file),
				p->frames[i].start_line, total[i], self[i], 0);
cleanup:
	free(func);
	free(seen);
	free(total);
	free(self);
	profile__free(p);
	return err;
}
