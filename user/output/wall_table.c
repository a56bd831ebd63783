// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "model/functions.h"
#include "model/offcpu_frames.h"
#include "output/wall_table.h"

/* Table columns: the reasons from OFFCPU_SLEEP to OFFCPU_OTHER. */
#define FIRST_REASON   OFFCPU_SLEEP
#define NR_REASONS     (OFFCPU__COUNT - FIRST_REASON)
#define reason_name(i) offcpu_reason_names[FIRST_REASON + (i)]

/* A row: a function's wall time, self split into CPU and reasons. */
struct wall_func {
	char *text;
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

static void ms(FILE *out, int64_t ns)
{
	fprintf(out, " %9.1f", ns / 1e6);
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

	fprintf(out, "wall %.3f s = cpu %.3f s + off-cpu", sum_wall / 1e9,
		sum_cpu / 1e9);
	for (i = 0; i < NR_REASONS; i++)
		fprintf(out, " %s %.3f s", reason_name(i), sum_off[i] / 1e9);
	fprintf(out, "\n%9s %9s %9s", "TOTAL ms", "SELF ms", "CPU");
	for (i = 0; i < NR_REASONS; i++)
		fprintf(out, " %9.9s", reason_name(i));
	fprintf(out, "  FUNCTION\n");
	for (i = 0; i < n && (max_rows <= 0 || (int)i < max_rows); i++) {
		fn = &sorted[i];
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
	for (i = 0; sorted && i < fs.nr; i++)
		free(sorted[i].text);
	free(sorted);
	functions__free(&fs);
	return err;
}
