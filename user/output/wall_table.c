// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "model/offcpu_frames.h"
#include "output/wall_table.h"

/* Table columns: the reasons from OFFCPU_SLEEP to OFFCPU_OTHER. */
#define FIRST_REASON   OFFCPU_SLEEP
#define NR_REASONS     (OFFCPU__COUNT - FIRST_REASON)
#define reason_name(i) offcpu_reason_names[FIRST_REASON + (i)]

struct wall_func {
	char *text; /* key */
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

static void ms(FILE *out, int64_t ns)
{
	fprintf(out, " %9.1f", ns / 1e6);
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

	fprintf(out, "wall %.3f s = cpu %.3f s + off-cpu", sum_wall / 1e9,
		sum_cpu / 1e9);
	for (i = 0; i < NR_REASONS; i++)
		fprintf(out, " %s %.3f s", reason_name(i), sum_off[i] / 1e9);
	fprintf(out, "\n%9s %9s %9s", "TOTAL ms", "SELF ms", "CPU");
	for (i = 0; i < NR_REASONS; i++)
		fprintf(out, " %9.9s", reason_name(i));
	fprintf(out, "  FUNCTION\n");
	for (i = 0; i < n && (max_rows <= 0 || (int)i < max_rows); i++) {
		fn = sorted[i];
		ms(out, fn->total);
		ms(out, fn->self);
		ms(out, fn->cpu);
		for (size_t j = 0; j < NR_REASONS; j++)
			ms(out, fn->off[j]);
		fprintf(out, "  %s\n", fn->text);
	}
	if (i < n)
		fprintf(out, "(%zu more functions)\n", n - i);
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
