// SPDX-License-Identifier: BSD-2-Clause
/*
 * `pystrobe memory -f json`:
 *   {"kind": "memory",
 *    "functions": [{name, file, line, alloc_bytes, alloc_objects,
 *                   inuse_bytes, inuse_objects, peak_bytes}],
 *    "lines": [the same per (function, line): line is the allocating one],
 *    "leaks": [{name, file, line, inuse_bytes, growth_bytes_per_s, age_s}],
 *    "temporaries": [{name, file, line, alloc_bytes, alloc_objects,
 *                     alloc_bytes_per_s, median_lifetime_s, freed_share}],
 *    "timeline": [{t, pid, rss_bytes, heap_live_bytes,
 *                  alloc_bytes_per_s}] (json_doc__timeline: values not
 *                  measured are left out),
 *    "growth": [{name, file, line, faulted_bytes, mapped_bytes,
 *                unmapped_bytes}] (processes in the kernel-only view),
 *    "views": [{pid, comm, view, why, peak_bytes, peak_objects, peak_t,
 *               alloc_bytes, alloc_objects, samples}],
 *    "rate": bytes, "duration_ns": ns, "lost": {name: count},
 *    "findings": [the leaks and temporaries as findings_report.h writes
 *                 them]}
 * functions charges each allocation to its innermost Python frame (line:
 * the function's first line).
 */
#include <errno.h>
#include <json-c/json.h>
#include "output/findings_report.h"
#include "output/json_doc.h"
#include "output/memory_report.h"

#define ADD(o, k, v) json_object_object_add(o, k, v)
#define INT(v)	     json_object_new_int64(v)
#define DBL(v)	     json_object_new_double(v)
#define STR(m, i)    json_object_new_string(profile__str((m)->names, i))

static struct json_object *fns(const struct memory_result *m,
			       const struct memory_fn *f, size_t nr)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < nr; i++) {
		struct json_object *o = json_object_new_object();

		ADD(o, "name", STR(m, f[i].name));
		ADD(o, "file", STR(m, f[i].file));
		ADD(o, "line", INT(f[i].line));
		ADD(o, "alloc_bytes", INT(f[i].alloc_bytes));
		ADD(o, "alloc_objects", INT(f[i].alloc_objects));
		ADD(o, "inuse_bytes", INT(f[i].inuse_bytes));
		ADD(o, "inuse_objects", INT(f[i].inuse_objects));
		ADD(o, "peak_bytes", INT(f[i].peak_bytes));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *leaks(const struct memory_result *m)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < m->nr_leaks; i++) {
		const struct memory_leak *l = &m->leaks[i];
		struct json_object *o = json_object_new_object();

		ADD(o, "name", STR(m, l->name));
		ADD(o, "file", STR(m, l->file));
		ADD(o, "line", INT(l->line));
		ADD(o, "inuse_bytes", INT(l->inuse_bytes));
		ADD(o, "growth_bytes_per_s", DBL(l->growth_bytes_per_s));
		ADD(o, "age_s", DBL(l->age_s));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *temps(const struct memory_result *m)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < m->nr_temps; i++) {
		const struct memory_temp *t = &m->temps[i];
		struct json_object *o = json_object_new_object();

		ADD(o, "name", STR(m, t->name));
		ADD(o, "file", STR(m, t->file));
		ADD(o, "line", INT(t->line));
		ADD(o, "alloc_bytes", INT(t->alloc_bytes));
		ADD(o, "alloc_objects", INT(t->alloc_objects));
		ADD(o, "alloc_bytes_per_s", DBL(t->alloc_bytes_per_s));
		ADD(o, "median_lifetime_s", DBL(t->median_lifetime_s));
		ADD(o, "freed_share", DBL(t->freed_share));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *growth(const struct memory_result *m)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < m->nr_growth; i++) {
		const struct memory_growth *g = &m->growth[i];
		struct json_object *o = json_object_new_object();

		ADD(o, "name", STR(m, g->name));
		ADD(o, "file", STR(m, g->file));
		ADD(o, "line", INT(g->line));
		ADD(o, "faulted_bytes", INT(g->faulted_bytes));
		ADD(o, "mapped_bytes", INT(g->mapped_bytes));
		ADD(o, "unmapped_bytes", INT(g->unmapped_bytes));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *views(const struct memory_result *m)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < m->nr_procs; i++) {
		const struct memory_process *p = &m->procs[i];
		struct json_object *o = json_object_new_object();

		ADD(o, "pid", INT(p->pid));
		ADD(o, "comm", json_object_new_string(p->comm));
		ADD(o, "view",
		    json_object_new_string(memory_view_names[p->view]));
		ADD(o, "why", json_object_new_string(p->why));
		ADD(o, "peak_bytes", INT(p->peak_bytes));
		ADD(o, "peak_objects", INT(p->peak_objects));
		ADD(o, "peak_t",
		    p->peak_ns >= 0 ? DBL(p->peak_ns / 1e9) : NULL);
		ADD(o, "alloc_bytes", INT(p->alloc_bytes));
		ADD(o, "alloc_objects", INT(p->alloc_objects));
		ADD(o, "samples", INT(p->alloc_samples));
		json_object_array_add(a, o);
	}
	return a;
}

struct json_object *memory_report__document(const struct memory_result *m,
					    const struct finding_list *findings)
{
	struct json_object *root = json_object_new_object();

	if (!root)
		return NULL;
	ADD(root, "kind", json_object_new_string("memory"));
	ADD(root, "functions", fns(m, m->functions, m->nr_functions));
	ADD(root, "lines", fns(m, m->lines, m->nr_lines));
	ADD(root, "leaks", leaks(m));
	ADD(root, "temporaries", temps(m));
	ADD(root, "growth", growth(m));
	ADD(root, "timeline", json_doc__timeline(&m->timeline));
	ADD(root, "views", views(m));
	ADD(root, "rate", INT(m->rate));
	ADD(root, "duration_ns", INT(m->duration_ns));
	ADD(root, "lost", json_doc__counters(m->names));
	if (findings) {
		struct json_object *f = findings_report__json(findings);

		if (!f) {
			json_object_put(root);
			return NULL;
		}
		ADD(root, "findings", f);
	}
	return root;
}

int memory_report__json(const struct memory_result *m,
			const struct finding_list *findings, FILE *out)
{
	struct json_object *root = memory_report__document(m, findings);
	int err;

	if (!root)
		return -ENOMEM;
	err = json_doc__put(out, root, false, true);
	if (!err && fputc('\n', out) == EOF)
		err = -EIO;
	json_object_put(root);
	return err;
}
