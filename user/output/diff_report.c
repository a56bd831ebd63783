// SPDX-License-Identifier: BSD-2-Clause
/* Table, JSON and HTML writers for profile diffs; see diff_report.h. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "output/diff_report.h"
#include "output/html.h"
#include "output/json_doc.h"
#include "output/profile_json.h"
#include "output/stack_tree.h"

#define KEY_LEN	     64
#define ADD(o, k, v) json_object_object_add(o, k, v)

struct ctx {
	const struct profile_diff *d;
	int main; /* index into d's common types */
	char keys[PROFILE_MAX_TYPES][KEY_LEN];
	size_t *order; /* listed functions, sorted */
	size_t nr_listed;
	int32_t *doc_index; /* diff func -> position in order, -1: unlisted */
};

static double dshare(const struct profile_diff *d, const struct diff_func *f,
		     int i, bool total)
{
	return profile_diff__share(d, f, DIFF_NEW, i, total) -
	       profile_diff__share(d, f, DIFF_BASE, i, total);
}

static int64_t dvalue(const struct profile_diff *d, const struct diff_func *f,
		      int i, bool total)
{
	return profile_diff__value(d, f, DIFF_NEW, i, total) -
	       profile_diff__value(d, f, DIFF_BASE, i, total);
}

static const struct ctx *g_sort_ctx; /* qsort has no context argument */

static int cmp_change(const void *a, const void *b)
{
	const struct ctx *c = g_sort_ctx;
	const struct diff_func *x = &c->d->funcs[*(const size_t *)a];
	const struct diff_func *y = &c->d->funcs[*(const size_t *)b];
	double vx = fabs(dshare(c->d, x, c->main, false));
	double vy = fabs(dshare(c->d, y, c->main, false));
	int r;

	if (vx != vy)
		return vx < vy ? 1 : -1;
	vx = fabs(dshare(c->d, x, c->main, true));
	vy = fabs(dshare(c->d, y, c->main, true));
	if (vx != vy)
		return vx < vy ? 1 : -1;
	/* Unchanged: the biggest first, as in a profile's own table. */
	for (int total = 0; total < 2; total++) {
		vx = profile_diff__share(c->d, x, DIFF_NEW, c->main, total);
		vy = profile_diff__share(c->d, y, DIFF_NEW, c->main, total);
		if (vx != vy)
			return vx < vy ? 1 : -1;
	}
	r = strcmp(x->name, y->name);
	if (!r)
		r = strcmp(x->file, y->file);
	return r ? r : (x->line > y->line) - (x->line < y->line);
}

/* Lists the functions that occur in a stack of either profile, sorted. */
static int setup(struct ctx *c, const struct profile_diff *d)
{
	const struct profile *base = d->p[DIFF_BASE];
	int t = profile_json__main_type(base);
	bool *used = calloc(d->nr + 1, sizeof(*used));

	memset(c, 0, sizeof(*c));
	c->d = d;
	for (int i = 0; i < d->nr_types; i++) {
		json_doc__value_key(base, d->type[DIFF_BASE][i], c->keys[i],
				    KEY_LEN);
		if (d->type[DIFF_BASE][i] == t)
			c->main = i;
	}
	c->order = calloc(d->nr + 1, sizeof(*c->order));
	c->doc_index = calloc(d->nr + 1, sizeof(*c->doc_index));
	if (!used || !c->order || !c->doc_index) {
		free(used);
		return -ENOMEM;
	}
	for (int s = 0; s < 2; s++) {
		const struct profile *p = d->p[s];

		for (size_t i = 0; i < p->nr_samples; i++)
			for (uint32_t j = 0; j < p->samples[i].depth; j++)
				used[d->func_of_frame[s][p->samples[i]
								 .frames[j]]] =
					true;
	}
	for (size_t i = 0; i < d->nr; i++) {
		c->doc_index[i] = -1;
		if (used[i])
			c->order[c->nr_listed++] = i;
	}
	free(used);
	g_sort_ctx = c;
	qsort(c->order, c->nr_listed, sizeof(*c->order), cmp_change);
	for (size_t i = 0; i < c->nr_listed; i++)
		c->doc_index[c->order[i]] = i;
	return 0;
}

static void teardown(struct ctx *c)
{
	free(c->order);
	free(c->doc_index);
}

static void print_lost(FILE *out, const char *side, const struct profile *p)
{
	fprintf(out, "lost (%s):", side);
	for (size_t i = 0; i < p->nr_counters; i++)
		fprintf(out, " %s=%" PRId64,
			profile__str(p, p->counters[i].name),
			p->counters[i].value);
	fputs(p->nr_counters ? "\n" : " none\n", out);
}

int diff_report__table(const struct profile_diff *d, int max_rows, FILE *out)
{
	const struct profile *base = d->p[DIFF_BASE];
	struct ctx c;
	size_t rows = 0, shown = 0;
	int err = setup(&c, d), t;

	if (err) {
		teardown(&c);
		return err;
	}
	t = d->type[DIFF_BASE][c.main];
	fprintf(out, "diff of %s profiles, by %s (%s)\n", d->kind,
		profile__str(base, base->types[t].type),
		profile__str(base, base->types[t].unit));
	for (int s = 0; s < 2; s++)
		fprintf(out, "%-5s %" PRId64 "  %s\n",
			s == DIFF_BASE ? "base:" : "new:",
			d->fs[s].sum[d->type[s][c.main]], d->label[s]);
	fprintf(out, "%26s  %26s  %27s\n", "----- self share -----",
		"----- total share ----", "------- change in value ----");
	fprintf(out, "%8s %8s %8s  %8s %8s %8s  %13s %13s  %s\n", "BASE", "NEW",
		"CHANGE", "BASE", "NEW", "CHANGE", "SELF", "TOTAL", "FUNCTION");
	for (size_t k = 0; k < c.nr_listed; k++) {
		const struct diff_func *f = &d->funcs[c.order[k]];
		char text[1024];

		if (!profile_diff__value(d, f, DIFF_BASE, c.main, true) &&
		    !profile_diff__value(d, f, DIFF_NEW, c.main, true) &&
		    !profile_diff__value(d, f, DIFF_BASE, c.main, false) &&
		    !profile_diff__value(d, f, DIFF_NEW, c.main, false))
			continue;
		rows++;
		if (max_rows > 0 && shown >= (size_t)max_rows)
			continue;
		shown++;
		if (f->kind == FRAME_PYTHON)
			snprintf(text, sizeof(text), "%s (%s:%" PRId64 ")",
				 *f->name ? f->name : "[unknown]", f->file,
				 f->line);
		else
			snprintf(text, sizeof(text), "%s%s",
				 *f->name ? f->name : "[unknown]",
				 f->kind == FRAME_KERNEL ? "_[k]" : "");
		fprintf(out,
			"%7.2f%% %7.2f%% %+7.2f%%  %7.2f%% %7.2f%% %+7.2f%%  "
			"%+13" PRId64 " %+13" PRId64 "  %s\n",
			100 * profile_diff__share(d, f, DIFF_BASE, c.main,
						  false),
			100 * profile_diff__share(d, f, DIFF_NEW, c.main,
						  false),
			100 * dshare(d, f, c.main, false),
			100 * profile_diff__share(d, f, DIFF_BASE, c.main,
						  true),
			100 * profile_diff__share(d, f, DIFF_NEW, c.main, true),
			100 * dshare(d, f, c.main, true),
			dvalue(d, f, c.main, false), dvalue(d, f, c.main, true),
			text);
	}
	if (shown < rows)
		fprintf(out, "(%zu more functions)\n", rows - shown);
	print_lost(out, "base", d->p[DIFF_BASE]);
	print_lost(out, "new", d->p[DIFF_NEW]);
	teardown(&c);
	return ferror(out) ? -EIO : 0;
}

static struct json_object *side_object(const struct ctx *c, int s)
{
	const struct profile_diff *d = c->d;
	const struct profile *p = d->p[s];
	struct json_object *o = json_object_new_object();
	struct json_object *totals = json_object_new_object();

	ADD(o, "path", json_object_new_string(d->label[s] ? d->label[s] : ""));
	ADD(o, "duration_ns", json_object_new_int64(p->duration_nanos));
	for (int i = 0; i < d->nr_types; i++)
		ADD(totals, c->keys[i],
		    json_object_new_int64(d->fs[s].sum[d->type[s][i]]));
	ADD(o, "totals", totals);
	ADD(o, "lost", json_doc__counters(p));
	return o;
}

static struct json_object *function_object(const struct ctx *c,
					   const struct diff_func *f)
{
	const struct profile_diff *d = c->d;
	struct json_object *o = json_object_new_object();
	char key[KEY_LEN + 32];

	ADD(o, "name", json_object_new_string(f->name));
	ADD(o, "file", json_object_new_string(f->file));
	ADD(o, "line", json_object_new_int64(f->line));
	ADD(o, "kind", json_object_new_string(functions__kind_name(f->kind)));
	for (int i = 0; i < d->nr_types; i++) {
		static const char *const side_name[2] = {"base", "new"};

		for (int s = 0; s < 2; s++) {
			snprintf(key, sizeof(key), "%s_self_%s", side_name[s],
				 c->keys[i]);
			ADD(o, key,
			    json_object_new_int64(
				    profile_diff__value(d, f, s, i, false)));
			snprintf(key, sizeof(key), "%s_total_%s", side_name[s],
				 c->keys[i]);
			ADD(o, key,
			    json_object_new_int64(
				    profile_diff__value(d, f, s, i, true)));
		}
		snprintf(key, sizeof(key), "delta_self_%s", c->keys[i]);
		ADD(o, key, json_object_new_int64(dvalue(d, f, i, false)));
		snprintf(key, sizeof(key), "delta_total_%s", c->keys[i]);
		ADD(o, key, json_object_new_int64(dvalue(d, f, i, true)));
		snprintf(key, sizeof(key), "delta_self_share_%s", c->keys[i]);
		ADD(o, key, json_object_new_double(dshare(d, f, i, false)));
		snprintf(key, sizeof(key), "delta_total_share_%s", c->keys[i]);
		ADD(o, key, json_object_new_double(dshare(d, f, i, true)));
	}
	return o;
}

static struct json_object *head_object(const struct ctx *c)
{
	const struct profile_diff *d = c->d;
	const struct profile *base = d->p[DIFF_BASE];
	struct json_object *root = json_object_new_object();
	struct json_object *types = json_object_new_array();
	struct json_object *funcs = json_object_new_array();

	ADD(root, "kind", json_object_new_string("diff"));
	ADD(root, "diff_of", json_object_new_string(d->kind));
	for (int i = 0; i < d->nr_types; i++) {
		struct json_object *o = json_object_new_object();
		int t = d->type[DIFF_BASE][i];

		ADD(o, "type",
		    json_object_new_string(
			    profile__str(base, base->types[t].type)));
		ADD(o, "unit",
		    json_object_new_string(
			    profile__str(base, base->types[t].unit)));
		ADD(o, "key", json_object_new_string(c->keys[i]));
		json_object_array_add(types, o);
	}
	ADD(root, "value_types", types);
	ADD(root, "main_value", json_object_new_string(c->keys[c->main]));
	ADD(root, "base", side_object(c, DIFF_BASE));
	ADD(root, "new", side_object(c, DIFF_NEW));
	for (size_t k = 0; k < c->nr_listed; k++)
		json_object_array_add(
			funcs, function_object(c, &d->funcs[c->order[k]]));
	ADD(root, "functions", funcs);
	return root;
}

/* Both profiles in one tree: columns base_KEY..., new_KEY.... */
static int write_tree(const struct ctx *c, bool html, FILE *out)
{
	const struct profile_diff *d = c->d;
	char names[2 * PROFILE_MAX_TYPES][KEY_LEN + 8];
	const char *columns[2 * PROFILE_MAX_TYPES];
	int column_of_type[PROFILE_MAX_TYPES];
	struct stack_tree t;
	int32_t *map = NULL;
	int err;

	for (int i = 0; i < d->nr_types; i++) {
		snprintf(names[i], sizeof(names[i]), "base_%s", c->keys[i]);
		snprintf(names[d->nr_types + i], sizeof(names[0]), "new_%s",
			 c->keys[i]);
		columns[i] = names[i];
		columns[d->nr_types + i] = names[d->nr_types + i];
	}
	err = stack_tree__init(&t, columns, 2 * d->nr_types, false);
	for (int s = 0; s < 2 && !err; s++) {
		const struct profile *p = d->p[s];

		free(map);
		map = calloc(p->nr_frames + 1, sizeof(*map));
		if (!map) {
			err = -ENOMEM;
			break;
		}
		for (size_t i = 0; i < p->nr_frames; i++)
			map[i] = c->doc_index[d->func_of_frame[s][i]];
		for (int ty = 0; ty < PROFILE_MAX_TYPES; ty++)
			column_of_type[ty] = -1;
		for (int i = 0; i < d->nr_types; i++)
			column_of_type[d->type[s][i]] = s * d->nr_types + i;
		err = stack_tree__add_profile(&t, p, map, column_of_type);
	}
	err = err ?: stack_tree__write(&t, html, out);
	stack_tree__free(&t);
	free(map);
	return err;
}

static int write_doc(const struct profile_diff *d, bool html, FILE *out)
{
	struct json_object *head = NULL;
	struct ctx c;
	int err = setup(&c, d);

	if (!err) {
		head = head_object(&c);
		err = json_doc__put(out, head, html, false);
	}
	if (!err) {
		fputs(",\"tree\":", out);
		err = write_tree(&c, html, out);
	}
	if (!err && fputs(html ? "}" : "}\n", out) < 0)
		err = -EIO;
	json_object_put(head);
	teardown(&c);
	return err;
}

int diff_report__json(const struct profile_diff *d, FILE *out)
{
	return write_doc(d, false, out);
}

static int put_doc(void *ctx, FILE *out)
{
	return write_doc(ctx, true, out);
}

int diff_report__html(const struct profile_diff *d, FILE *out)
{
	return html__page(out, "pystrobe diff", put_doc, (void *)d);
}
