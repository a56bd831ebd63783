// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "model/functions.h"
#include "model/offcpu_frames.h"
#include "output/text.h"
#include "output/wall_table.h"

/* Table columns: the reasons from OFFCPU_SLEEP to OFFCPU_OTHER. */
#define FIRST_REASON   OFFCPU_SLEEP
#define NR_REASONS     (OFFCPU__COUNT - FIRST_REASON)
#define reason_name(i) offcpu_reason_names[FIRST_REASON + (i)]

/* A row: a function's wall time, self split into CPU and reasons. */
struct wall_func {
	char *text;
	const struct profile_frame *frame; /* for the row's text */
	int64_t total, self, cpu, off[NR_REASONS];
};

bool wall_table__applies(const struct profile *p)
{
	return profile__type_index(p, "offcpu") >= 0;
}

static int cmp_self(const void *a, const void *b)
{
	const struct wall_func *x = a, *y = b;

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
		       const struct wall_func *sorted, size_t n, int max_rows,
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
		const struct wall_func *fn = &sorted[i];

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
	struct functions fs = {.offcpu_type = -1};
	struct wall_func *sorted = NULL, *fn;
	int64_t sum_cpu, sum_off[NR_REASONS], sum_wall;
	size_t n = 0, i;
	int err = -ENOMEM;

	if (functions__build(p, FUNCTIONS_SELF_CODE, &fs))
		goto cleanup;
	sorted = calloc(fs.nr + 1, sizeof(*sorted));
	if (!sorted)
		goto cleanup;
	for (i = 0; i < fs.nr; i++) {
		const struct function *f = &fs.funcs[i];
		char buf[1024];

		fn = &sorted[n];
		fn->total = (cpu >= 0 ? f->total[cpu] : 0) +
			    (off >= 0 ? f->total[off] : 0);
		if (!fn->total)
			continue;
		fn->cpu = cpu >= 0 ? f->self[cpu] : 0;
		fn->self = fn->cpu;
		for (size_t j = 0; j < NR_REASONS; j++) {
			fn->off[j] = f->self_offcpu[FIRST_REASON + j];
			fn->self += fn->off[j];
		}
		profile__format_frame(p, &p->frames[f->frame], true, buf,
				      sizeof(buf));
		fn->frame = &p->frames[f->frame];
		fn->text = strdup(buf);
		if (!fn->text)
			goto cleanup;
		n++;
	}
	qsort(sorted, n, sizeof(*sorted), cmp_self);
	sum_cpu = cpu >= 0 ? fs.sum[cpu] : 0;
	sum_wall = sum_cpu;
	for (i = 0; i < NR_REASONS; i++) {
		sum_off[i] = fs.sum_offcpu[FIRST_REASON + i];
		sum_wall += sum_off[i];
	}

	print_rows(out, p, sorted, n, max_rows, sum_wall, sum_cpu, sum_off);
	if (p->nr_counters) {
		struct text_wrap wrap;
		char word[512];

		text__wrap_start(&wrap, out, "lost:");
		for (i = 0; i < p->nr_counters; i++) {
			snprintf(word, sizeof(word), "%s=%" PRId64,
				 profile__str(p, p->counters[i].name),
				 p->counters[i].value);
			text__wrap_word(&wrap, word);
		}
		text__wrap_end(&wrap);
	}
	err = ferror(out) ? -EIO : 0;
cleanup:
	for (i = 0; sorted && i < fs.nr; i++)
		free(sorted[i].text);
	free(sorted);
	functions__free(&fs);
	return err;
}
