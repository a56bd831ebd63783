// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "model/offcpu_frames.h"
#include "output/text.h"
#include "output/wall_table.h"

/* Table columns: the reasons from OFFCPU_SLEEP to OFFCPU_OTHER. */
#define FIRST_REASON   OFFCPU_SLEEP
#define NR_REASONS     (OFFCPU__COUNT - FIRST_REASON)
#define reason_name(i) offcpu_reason_names[FIRST_REASON + (i)]

struct wall_func {
	char *text;			   /* key */
	const struct profile_frame *frame; /* for the row's text */
	int64_t total, self, cpu, off[NR_REASONS];
	size_t last_sample; /* sample that last added to total, + 1 */
	UT_hash_handle hh;
};

bool wall_table__applies(const struct profile *p)
{
	return profile__type_index(p, "offcpu") >= 0;
}

/* Column of a "[off-cpu: REASON]" frame (unknown names: other), or -1. */
static int reason_of(const struct profile *p, const struct profile_frame *f)
{
	const char *name = profile__str(p, f->name);
	size_t n = strlen(OFFCPU_FRAME_PREFIX);

	if (f->kind != FRAME_MARKER ||
	    strncmp(name, OFFCPU_FRAME_PREFIX, n) != 0)
		return -1;
	for (size_t i = 0; i < NR_REASONS; i++) {
		size_t len = strlen(reason_name(i));

		if (strncmp(name + n, reason_name(i), len) == 0 &&
		    name[n + len] == ']')
			return i;
	}
	return NR_REASONS - 1;
}

static struct wall_func *get_func(struct wall_func **hash,
				  const struct profile *p,
				  const struct profile_frame *f)
{
	struct wall_func *fn;
	char buf[1024];

	profile__format_frame(p, f, true, buf, sizeof(buf));
	HASH_FIND_STR(*hash, buf, fn);
	if (fn)
		return fn;
	fn = calloc(1, sizeof(*fn));
	if (!fn)
		return NULL;
	fn->text = strdup(buf);
	if (!fn->text) {
		free(fn);
		return NULL;
	}
	fn->frame = f;
	HASH_ADD_KEYPTR(hh, *hash, fn->text, strlen(fn->text), fn);
	return fn;
}

static int cmp_self(const void *a, const void *b)
{
	const struct wall_func *x = *(const struct wall_func *const *)a;
	const struct wall_func *y = *(const struct wall_func *const *)b;

	if (x->self != y->self)
		return x->self < y->self ? 1 : -1;
	return strcmp(x->text, y->text);
}

/* One time column: scaled per value, in COLUMN columns after a space. */
#define COLUMN 8

static void put_ns(FILE *out, int64_t ns)
{
	char v[TEXT_VALUE_LEN];

	fputc(' ', out);
	text__right(out, text__ns(v, ns), COLUMN);
}

/*
 * The run's totals, then the rows: TOTAL, SELF, CPU and one column per
 * reason some time went to (reasons with none are left out), the
 * function fitted to the terminal.
 */
static void print_rows(FILE *out, const struct profile *p,
		       struct wall_func **sorted, size_t n, int max_rows,
		       int64_t sum_wall, int64_t sum_cpu,
		       const int64_t *sum_off)
{
	char v1[TEXT_VALUE_LEN], v2[TEXT_VALUE_LEN], v3[TEXT_VALUE_LEN];
	char name[TEXT_ROW_LEN];
	int width = text__width(out), prefix = 3 * (COLUMN + 1);
	const char *sep = " (";
	int64_t off = 0;
	size_t i;

	for (i = 0; i < NR_REASONS; i++)
		off += sum_off[i];
	fprintf(out, "wall %s = cpu %s + off-cpu %s", text__ns(v1, sum_wall),
		text__ns(v2, sum_cpu), text__ns(v3, off));
	for (i = 0; i < NR_REASONS; i++)
		if (sum_off[i]) {
			fprintf(out, "%s%s %s", sep, reason_name(i),
				text__ns(v1, sum_off[i]));
			sep = ", ";
		}
	fputs(off ? ")\n" : "\n", out);
	for (const char *h = "TOTAL\0SELF\0CPU\0"; *h; h += strlen(h) + 1) {
		fputc(' ', out);
		text__right(out, h, COLUMN);
	}
	for (i = 0; i < NR_REASONS; i++)
		if (sum_off[i]) {
			fprintf(out, " %*.*s", COLUMN, COLUMN, reason_name(i));
			prefix += COLUMN + 1;
		}
	fprintf(out, "  FUNCTION\n");
	prefix += 2;
	if (width)
		width = width > prefix + 24 ? width - prefix : 24;
	for (i = 0; i < n && (max_rows <= 0 || (int)i < max_rows); i++) {
		struct wall_func *fn = sorted[i];

		put_ns(out, fn->total);
		put_ns(out, fn->self);
		put_ns(out, fn->cpu);
		for (size_t j = 0; j < NR_REASONS; j++)
			if (sum_off[j])
				put_ns(out, fn->off[j]);
		text__frame(name, sizeof(name), p, fn->frame, width);
		fprintf(out, "  %s\n", name);
	}
	if (i < n)
		fprintf(out, "(%zu more functions)\n", n - i);
}

int wall_table__write(const struct profile *p, FILE *out, int max_rows)
{
	int cpu = profile__type_index(p, "cpu");
	int off = profile__type_index(p, "offcpu");
	struct wall_func *hash = NULL, *fn, *tmp, **sorted = NULL;
	int64_t sum_cpu = 0, sum_off[NR_REASONS] = {}, sum_wall = 0;
	size_t n = 0, i;
	int err = -ENOMEM;

	for (i = 0; i < p->nr_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		int64_t c = cpu >= 0 ? s->values[cpu] : 0;
		int64_t o = off >= 0 ? s->values[off] : 0;
		uint32_t leaf = 0;
		int r = -1;

		if (!s->depth || (!c && !o))
			continue;
		r = o ? reason_of(p, &p->frames[s->frames[0]]) : -1;
		if (o && r < 0)
			r = NR_REASONS - 1;
		/* The function the time belongs to: skip pseudo and kernel. */
		while (leaf + 1 < s->depth &&
		       (p->frames[s->frames[leaf]].kind == FRAME_MARKER ||
			p->frames[s->frames[leaf]].kind == FRAME_KERNEL))
			leaf++;
		for (uint32_t j = leaf; j < s->depth; j++) {
			fn = get_func(&hash, p, &p->frames[s->frames[j]]);
			if (!fn)
				goto cleanup;
			if (j == leaf) {
				fn->self += c + o;
				fn->cpu += c;
				if (r >= 0)
					fn->off[r] += o;
			}
			if (fn->last_sample != i + 1) {
				fn->last_sample = i + 1;
				fn->total += c + o;
			}
		}
		sum_cpu += c;
		if (r >= 0)
			sum_off[r] += o;
		sum_wall += c + o;
	}

	sorted = calloc(HASH_COUNT(hash) + 1, sizeof(*sorted));
	if (!sorted)
		goto cleanup;
	HASH_ITER(hh, hash, fn, tmp)
	{
		sorted[n++] = fn;
	}
	qsort(sorted, n, sizeof(*sorted), cmp_self);

	print_rows(out, p, sorted, n, max_rows, sum_wall, sum_cpu, sum_off);
	if (p->nr_counters) {
		fprintf(out, "lost:");
		for (i = 0; i < p->nr_counters; i++)
			fprintf(out, " %s=%" PRId64,
				profile__str(p, p->counters[i].name),
				p->counters[i].value);
		fputc('\n', out);
	}
	err = ferror(out) ? -EIO : 0;
cleanup:
	free(sorted);
	HASH_ITER(hh, hash, fn, tmp)
	{
		HASH_DEL(hash, fn);
		free(fn->text);
		free(fn);
	}
	return err;
}
