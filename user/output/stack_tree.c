// SPDX-License-Identifier: BSD-2-Clause
/* The flame graph's stack tree; the contract is in stack_tree.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "output/json_doc.h"
#include "output/stack_tree.h"

#define NO_NODE UINT32_MAX

int stack_tree__init(struct stack_tree *t, const char *const *columns,
		     int nr_columns, bool by_thread)
{
	memset(t, 0, sizeof(*t));
	if (nr_columns < 0 || nr_columns > STACK_TREE_MAX_COLUMNS)
		return -EINVAL;
	memcpy(t->columns, columns, nr_columns * sizeof(*columns));
	t->nr_columns = nr_columns;
	t->by_thread = by_thread;
	return 0;
}

void stack_tree__free(struct stack_tree *t)
{
	free(t->parent);
	free(t->func);
	free(t->self);
	free(t->slots);
	for (size_t i = 0; i < t->nr_threads; i++) {
		free(t->threads[i].thread_name);
		free(t->threads[i].comm);
	}
	free(t->threads);
	memset(t, 0, sizeof(*t));
}

static uint64_t slot_hash(uint32_t parent, int32_t func)
{
	uint64_t x = (uint64_t)parent << 32 | (uint32_t)func;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* Keeps the hash at most half full: rehashes into twice the slots. */
static int grow_slots(struct stack_tree *t)
{
	size_t n = t->nr_slots ? t->nr_slots * 2 : 1024;
	uint32_t *slots;

	if ((t->nr + 1) * 2 <= t->nr_slots)
		return 0;
	slots = malloc(n * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	memset(slots, 0xff, n * sizeof(*slots));
	for (size_t i = 0; i < t->nr; i++) {
		size_t s = slot_hash(t->parent[i], t->func[i]) & (n - 1);

		while (slots[s] != NO_NODE)
			s = (s + 1) & (n - 1);
		slots[s] = i;
	}
	free(t->slots);
	t->slots = slots;
	t->nr_slots = n;
	return 0;
}

/* The child func of parent (NO_NODE: a new root), created if new; its
 * index, or -ENOMEM. */
static int64_t child(struct stack_tree *t, uint32_t parent, int32_t func)
{
	size_t s, idx;

	if (grow_slots(t))
		return -ENOMEM;
	s = slot_hash(parent, func) & (t->nr_slots - 1);
	for (; t->slots[s] != NO_NODE; s = (s + 1) & (t->nr_slots - 1)) {
		idx = t->slots[s];
		if (t->parent[idx] == parent && t->func[idx] == func &&
		    parent != NO_NODE)
			return idx;
	}
	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		uint32_t *p = realloc(t->parent, cap * sizeof(*p));
		int32_t *f = p ? realloc(t->func, cap * sizeof(*f)) : NULL;
		int64_t *v;

		if (p)
			t->parent = p;
		if (f)
			t->func = f;
		v = f ? realloc(t->self,
				cap * (t->nr_columns ?: 1) * sizeof(*v))
		      : NULL;
		if (!v)
			return -ENOMEM;
		t->self = v;
		t->cap = cap;
	}
	idx = t->nr++;
	t->parent[idx] = parent;
	t->func[idx] = func;
	memset(&t->self[idx * t->nr_columns], 0,
	       t->nr_columns * sizeof(*t->self));
	t->slots[s] = idx;
	return idx;
}

/* The root node of a sample's thread, created with the thread if new. */
static int64_t thread_root(struct stack_tree *t, const struct profile *p,
			   const struct profile_sample *s)
{
	int64_t pid = t->by_thread ? s->pid : 0,
		tid = t->by_thread ? s->tid : 0;
	struct stack_tree_thread *th;
	int64_t root;

	/* Few threads: a linear search from the last one found. */
	for (size_t i = t->nr_threads; i-- > 0;)
		if (t->threads[i].pid == pid && t->threads[i].tid == tid)
			return t->threads[i].root;
	th = realloc(t->threads, (t->nr_threads + 1) * sizeof(*th));
	if (!th)
		return -ENOMEM;
	t->threads = th;
	root = child(t, NO_NODE, -1);
	if (root < 0)
		return root;
	th = &t->threads[t->nr_threads];
	memset(th, 0, sizeof(*th));
	th->pid = pid;
	th->tid = tid;
	th->root = root;
	th->thread_name =
		strdup(t->by_thread ? profile__str(p, s->thread_name) : "");
	th->comm = strdup(t->by_thread ? profile__str(p, s->comm) : "");
	t->nr_threads++;
	if (!th->thread_name || !th->comm)
		return -ENOMEM;
	return root;
}

int stack_tree__add_profile(struct stack_tree *t, const struct profile *p,
			    const int32_t *func_of_frame,
			    const int *column_of_type)
{
	for (size_t i = 0; i < p->nr_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		int64_t node = thread_root(t, p, s);

		/* Frames are leaf first: walk from the root end. */
		for (uint32_t d = s->depth; d-- > 0 && node >= 0;)
			node = child(t, node, func_of_frame[s->frames[d]]);
		if (node < 0)
			return node;
		for (int ty = 0; ty < p->nr_types; ty++)
			if (column_of_type[ty] >= 0)
				t->self[node * t->nr_columns +
					column_of_type[ty]] += s->values[ty];
	}
	return 0;
}

int stack_tree__write(const struct stack_tree *t, bool html, FILE *out)
{
	int err = 0;

	fputs("{\"columns\":[", out);
	for (int c = 0; c < t->nr_columns && !err; c++) {
		if (c)
			fputc(',', out);
		err = json_doc__string(out, t->columns[c], html);
	}
	fputs("],\"threads\":[", out);
	for (size_t i = 0; i < t->nr_threads && !err; i++) {
		const struct stack_tree_thread *th = &t->threads[i];

		fprintf(out,
			"%s{\"pid\":%" PRId64 ",\"tid\":%" PRId64
			",\"root\":%u,\"thread_name\":",
			i ? "," : "", th->pid, th->tid, th->root);
		err = json_doc__string(out, th->thread_name, html);
		fputs(",\"comm\":", out);
		err = err ?: json_doc__string(out, th->comm, html);
		fputc('}', out);
	}
	fputs("],\"parent\":[", out);
	for (size_t i = 0; i < t->nr; i++)
		fprintf(out, i ? ",%d" : "%d",
			t->parent[i] == NO_NODE ? -1 : (int)t->parent[i]);
	fputs("],\"func\":[", out);
	for (size_t i = 0; i < t->nr; i++)
		fprintf(out, i ? ",%d" : "%d", t->func[i]);
	fputs("],\"self\":[", out);
	for (int c = 0; c < t->nr_columns; c++) {
		fputs(c ? ",[" : "[", out);
		for (size_t i = 0; i < t->nr; i++)
			fprintf(out, i ? ",%" PRId64 : "%" PRId64,
				t->self[i * t->nr_columns + c]);
		fputc(']', out);
	}
	fputs("]}", out);
	if (!err && ferror(out))
		err = -EIO;
	return err;
}
