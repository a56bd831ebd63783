// SPDX-License-Identifier: BSD-2-Clause
/* The JSON document of a sampled profile; the schema is in the header. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "model/functions.h"
#include "model/offcpu_frames.h"
#include "output/json_doc.h"
#include "output/profile_json.h"
#include "output/stack_tree.h"

#define KEY_LEN	     64
#define ADD(o, k, v) json_object_object_add(o, k, v)

struct doc {
	const struct profile *p;
	struct functions fs;
	char keys[PROFILE_MAX_TYPES][KEY_LEN];
	int main_type;
	bool reasons;  /* off-CPU time carries reasons (not a call trace) */
	size_t *order; /* listed functions, sorted */
	size_t nr_listed;
	int32_t *doc_index; /* fs index -> position in order, -1: unlisted */
};

int profile_json__main_type(const struct profile *p)
{
	static const char *const prefer[] = {"wall", "offcpu", "samples"};

	for (size_t i = 0; i < sizeof(prefer) / sizeof(prefer[0]); i++) {
		int t = profile__type_index(p, prefer[i]);

		if (t >= 0)
			return t;
	}
	return 0;
}

static const struct doc *g_sort_doc; /* qsort has no context argument */

static int cmp_listed(const void *a, const void *b)
{
	const struct doc *d = g_sort_doc;
	const struct function *x = &d->fs.funcs[*(const size_t *)a];
	const struct function *y = &d->fs.funcs[*(const size_t *)b];
	int t = d->main_type, c;

	if (x->self[t] != y->self[t])
		return x->self[t] < y->self[t] ? 1 : -1;
	if (x->total[t] != y->total[t])
		return x->total[t] < y->total[t] ? 1 : -1;
	c = strcmp(profile__str(d->p, x->name), profile__str(d->p, y->name));
	return c ? c : (x < y ? -1 : x > y);
}

/* Lists the functions that occur in a stack, sorted. */
static int list_functions(struct doc *d)
{
	const struct profile *p = d->p;
	bool *used = calloc(d->fs.nr + 1, sizeof(*used));

	d->order = calloc(d->fs.nr + 1, sizeof(*d->order));
	d->doc_index = calloc(d->fs.nr + 1, sizeof(*d->doc_index));
	if (!used || !d->order || !d->doc_index) {
		free(used);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->nr_samples; i++)
		for (uint32_t j = 0; j < p->samples[i].depth; j++)
			used[d->fs.of_frame[p->samples[i].frames[j]]] = true;
	for (size_t i = 0; i < d->fs.nr; i++) {
		d->doc_index[i] = -1;
		if (used[i])
			d->order[d->nr_listed++] = i;
	}
	free(used);
	g_sort_doc = d;
	qsort(d->order, d->nr_listed, sizeof(*d->order), cmp_listed);
	for (size_t i = 0; i < d->nr_listed; i++)
		d->doc_index[d->order[i]] = i;
	return 0;
}

static struct json_object *by_reason(const int64_t *ns)
{
	struct json_object *o = json_object_new_object();

	for (int r = OFFCPU_SLEEP; o && r < OFFCPU__COUNT; r++)
		ADD(o, offcpu_reason_names[r], json_object_new_int64(ns[r]));
	return o;
}

static struct json_object *function_object(const struct doc *d,
					   const struct function *f)
{
	const struct profile *p = d->p;
	struct json_object *o = json_object_new_object();
	char key[KEY_LEN + 8];

	if (!o)
		return NULL;
	ADD(o, "name", json_object_new_string(profile__str(p, f->name)));
	ADD(o, "file", json_object_new_string(profile__str(p, f->file)));
	ADD(o, "line", json_object_new_int64(f->start_line));
	ADD(o, "kind", json_object_new_string(functions__kind_name(f->kind)));
	for (int t = 0; t < p->nr_types; t++) {
		snprintf(key, sizeof(key), "self_%s", d->keys[t]);
		ADD(o, key, json_object_new_int64(f->self[t]));
		snprintf(key, sizeof(key), "total_%s", d->keys[t]);
		ADD(o, key, json_object_new_int64(f->total[t]));
	}
	if (d->reasons) {
		ADD(o, "self_offcpu_by_reason_ns", by_reason(f->self_offcpu));
		ADD(o, "total_offcpu_by_reason_ns", by_reason(f->total_offcpu));
	}
	return o;
}

struct thread_entry {
	int64_t key[2]; /* pid, tid */
	const struct profile_sample *first;
	int64_t values[PROFILE_MAX_TYPES];
	UT_hash_handle hh;
};

static struct json_object *threads_array(const struct doc *d)
{
	const struct profile *p = d->p;
	struct thread_entry *hash = NULL, *e, *tmp;
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < p->nr_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		int64_t key[2] = {s->pid, s->tid};

		HASH_FIND(hh, hash, key, sizeof(key), e);
		if (!e) {
			e = calloc(1, sizeof(*e));
			if (!e) {
				json_object_put(arr);
				arr = NULL;
				break;
			}
			memcpy(e->key, key, sizeof(key));
			e->first = s;
			HASH_ADD(hh, hash, key, sizeof(e->key), e);
		}
		for (int t = 0; t < p->nr_types; t++)
			e->values[t] += s->values[t];
	}
	HASH_ITER(hh, hash, e, tmp)
	{
		struct json_object *o = arr ? json_object_new_object() : NULL;

		if (o) {
			ADD(o, "pid", json_object_new_int64(e->key[0]));
			ADD(o, "tid", json_object_new_int64(e->key[1]));
			ADD(o, "thread_name",
			    json_object_new_string(
				    profile__str(p, e->first->thread_name)));
			ADD(o, "comm",
			    json_object_new_string(
				    profile__str(p, e->first->comm)));
			for (int t = 0; t < p->nr_types; t++)
				ADD(o, d->keys[t],
				    json_object_new_int64(e->values[t]));
			json_object_array_add(arr, o);
		}
		HASH_DEL(hash, e);
		free(e);
	}
	return arr;
}

static struct json_object *head_object(const struct doc *d,
				       const struct timeline *tl)
{
	const struct profile *p = d->p;
	struct json_object *root = json_object_new_object();
	struct json_object *types = json_object_new_array();
	struct json_object *totals = json_object_new_object();
	struct json_object *funcs = json_object_new_array();

	if (!root || !types || !totals || !funcs) {
		json_object_put(types);
		json_object_put(totals);
		json_object_put(funcs);
		json_object_put(root);
		return NULL;
	}
	ADD(root, "kind", json_object_new_string(functions__profile_kind(p)));
	for (int t = 0; t < p->nr_types; t++) {
		struct json_object *o = json_object_new_object();

		ADD(o, "type",
		    json_object_new_string(profile__str(p, p->types[t].type)));
		ADD(o, "unit",
		    json_object_new_string(profile__str(p, p->types[t].unit)));
		ADD(o, "key", json_object_new_string(d->keys[t]));
		json_object_array_add(types, o);
		ADD(totals, d->keys[t], json_object_new_int64(d->fs.sum[t]));
	}
	ADD(root, "value_types", types);
	ADD(root, "main_value",
	    json_object_new_string(p->nr_types ? d->keys[d->main_type] : ""));
	ADD(root, "time_nanos", json_object_new_int64(p->time_nanos));
	ADD(root, "duration_ns", json_object_new_int64(p->duration_nanos));
	ADD(root, "period_ns", json_object_new_int64(p->period));
	if (d->reasons)
		ADD(totals, "offcpu_by_reason_ns", by_reason(d->fs.sum_offcpu));
	ADD(root, "totals", totals);
	for (size_t i = 0; i < d->nr_listed; i++)
		json_object_array_add(
			funcs, function_object(d, &d->fs.funcs[d->order[i]]));
	ADD(root, "functions", funcs);
	ADD(root, "threads", threads_array(d));
	ADD(root, "lost", json_doc__counters(p));
	if (tl)
		ADD(root, "timeline", json_doc__timeline(tl));
	return root;
}

/* The tree of p with one column per value type, through d's listing. */
static int write_tree(const struct doc *d, bool html, FILE *out)
{
	const struct profile *p = d->p;
	const char *columns[PROFILE_MAX_TYPES];
	int column_of_type[PROFILE_MAX_TYPES];
	int32_t *func_of_frame = calloc(p->nr_frames + 1, sizeof(int32_t));
	struct stack_tree t;
	int err;

	if (!func_of_frame)
		return -ENOMEM;
	for (int i = 0; i < p->nr_types; i++) {
		columns[i] = d->keys[i];
		column_of_type[i] = i;
	}
	for (size_t i = 0; i < p->nr_frames; i++)
		func_of_frame[i] = d->doc_index[d->fs.of_frame[i]];
	err = stack_tree__init(&t, columns, p->nr_types, true);
	err = err
		      ?: stack_tree__add_profile(&t, p, func_of_frame,
						 column_of_type);
	err = err ?: stack_tree__write(&t, html, out);
	stack_tree__free(&t);
	free(func_of_frame);
	return err;
}

int profile_json__write(const struct profile *p, const struct timeline *tl,
			bool html, FILE *out)
{
	struct doc d = {.p = p};
	struct json_object *head = NULL;
	int err;

	for (int t = 0; t < p->nr_types; t++)
		json_doc__value_key(p, t, d.keys[t], KEY_LEN);
	d.main_type = profile_json__main_type(p);
	err = functions__build(p, functions__rule_for(p), &d.fs);
	err = err ?: list_functions(&d);
	/* A call trace's off-CPU time has no "[off-cpu: REASON]" frames. */
	d.reasons = d.fs.offcpu_type >= 0 &&
		    strcmp(functions__profile_kind(p), "calls") != 0;
	if (!err) {
		head = head_object(&d, tl);
		err = head ? 0 : -ENOMEM;
	}
	err = err ?: json_doc__put(out, head, html, false);
	if (!err) {
		fputs(",\"tree\":", out);
		err = write_tree(&d, html, out);
	}
	if (!err && (fputs(html ? "}" : "}\n", out) < 0 || ferror(out)))
		err = -EIO;
	json_object_put(head);
	free(d.order);
	free(d.doc_index);
	functions__free(&d.fs);
	return err;
}
