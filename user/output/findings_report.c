// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <string.h>
#include "output/findings_report.h"

int findings_report__table(const struct finding_list *l, FILE *out)
{
	if (!l->nr)
		fputs("FINDINGS: none\n", out);
	else
		fprintf(out, "FINDINGS (%zu)\n", l->nr);
	for (size_t i = 0; i < l->nr; i++) {
		const struct finding *f = &l->items[i];

		fprintf(out, "  %-6s  %-13s %5.1f %%  ",
			finding__severity_name(f->severity),
			finding__kind_name(f->kind), 100 * f->share);
		if (f->function[0] && f->file[0])
			fprintf(out, "%s (%s:%lld): ", f->function, f->file,
				(long long)f->line);
		else if (f->function[0])
			fprintf(out, "%s: ", f->function);
		fprintf(out, "%s\n", f->evidence);
	}
	return ferror(out) ? -EIO : 0;
}

static int add_string(struct json_object *o, const char *key, const char *s)
{
	struct json_object *v = json_object_new_string(s);

	if (!v)
		return -ENOMEM;
	json_object_object_add(o, key, v);
	return 0;
}

struct json_object *findings_report__json(const struct finding_list *l)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < l->nr; i++) {
		const struct finding *f = &l->items[i];
		struct json_object *o = json_object_new_object();
		struct json_object *line, *share;
		char digits[32];

		line = json_object_new_int64(f->line);
		/* Four decimals: the share is a measurement, not 17 digits. */
		snprintf(digits, sizeof(digits), "%.4f", f->share);
		share = json_object_new_double_s(f->share, digits);
		if (!o || !line || !share ||
		    add_string(o, "kind", finding__kind_name(f->kind)) ||
		    add_string(o, "severity",
			       finding__severity_name(f->severity)) ||
		    add_string(o, "function", f->function) ||
		    add_string(o, "file", f->file)) {
			json_object_put(o);
			json_object_put(line);
			json_object_put(share);
			json_object_put(arr);
			return NULL;
		}
		json_object_object_add(o, "line", line);
		json_object_object_add(o, "share", share);
		if (add_string(o, "evidence", f->evidence) ||
		    json_object_array_add(arr, o)) {
			json_object_put(o);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

int findings_report__write_json(const struct finding_list *l, FILE *out)
{
	struct json_object *root = json_object_new_object();
	struct json_object *arr = findings_report__json(l);
	const char *s;
	int err = 0;

	if (!root || !arr) {
		json_object_put(root);
		json_object_put(arr);
		return -ENOMEM;
	}
	json_object_object_add(root, "findings", arr);
	s = json_object_to_json_string_ext(
		root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		err = -ENOMEM;
	else if (fputs(s, out) < 0 || fputc('\n', out) < 0)
		err = -EIO;
	json_object_put(root);
	return err;
}

static const char *member(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int findings_report__from_json(struct json_object *doc,
			       struct finding_list *out)
{
	struct json_object *arr, *line, *share;

	if (!json_object_object_get_ex(doc, "findings", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return -ENOENT;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		const char *kind = member(o, "kind");
		int k = kind ? finding__kind_from_name(kind) : -1;
		int err;

		if (k < 0 || !member(o, "function") || !member(o, "file") ||
		    !member(o, "evidence") ||
		    !json_object_object_get_ex(o, "line", &line) ||
		    !json_object_object_get_ex(o, "share", &share))
			return -EINVAL;
		err = finding_list__add(
			out, k, member(o, "function"), member(o, "file"),
			json_object_get_int64(line),
			json_object_get_double(share), member(o, "evidence"));
		if (err)
			return err;
	}
	return 0;
}
