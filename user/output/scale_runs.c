// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "model/functions.h"
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

/*
 * Python functions only: the CPU time of a sample is its own time only
 * when it is the sample's leaf (record -- CMD samples no native frames, so
 * a leaf that is not Python is a pseudo-frame such as "[unknown code]":
 * nobody's own time).
 */
int scale_runs__add_pprof(struct scale_result *r, size_t run, const char *path)
{
	struct profile *p = NULL;
	struct functions fs = {};
	double scale = 1e-9;
	int t, err;

	err = pprof__read(path, &p);
	if (err)
		return err;
	t = profile__type_index(p, "cpu");
	if (t < 0) {
		/* Counts only: the period makes them time. */
		t = profile__type_index(p, "samples");
		scale = p->period * 1e-9;
	}
	err = t < 0 ? -EINVAL : functions__build(p, FUNCTIONS_SELF_LEAF, &fs);
	for (size_t i = 0; !err && i < fs.nr; i++) {
		const struct function *f = &fs.funcs[i];

		if (f->kind != FRAME_PYTHON || !f->total[t])
			continue;
		err = scale__add(r, run, profile__str(p, f->name),
				 profile__str(p, f->file), f->start_line,
				 f->total[t] * scale, f->self[t] * scale, 0);
	}
	functions__free(&fs);
	profile__free(p);
	return err;
}
