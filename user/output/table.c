// SPDX-License-Identifier: BSD-2-Clause
/* Top-functions table; the layout is described in table.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model/functions.h"
#include "output/table.h"
#include "output/text.h"

/* Columns before the function's: "SELF%  TOTAL%  SELF  TOTAL  ". */
#define ROW_PREFIX 43

/* A row: a function's values of one type, and its text. */
struct func {
	int64_t self, total;
	char *text;
	uint32_t frame; /* for the row's text */
};

static int cmp_i64_desc(int64_t a, int64_t b)
{
	return (a < b) - (a > b);
}

static int cmp_func(const void *a, const void *b)
{
	const struct func *x = a, *y = b;
	int c;

	c = cmp_i64_desc(x->self, y->self);
	if (!c)
		c = cmp_i64_desc(x->total, y->total);
	return c ? c : strcmp(x->text, y->text);
}

struct thread_id {
	int64_t pid, tid;
};

static int cmp_thread(const void *a, const void *b)
{
	const struct thread_id *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return 0;
}

/* Function text for the table: native frames name their module too. */
static char *func_text(const struct profile *p, const struct profile_frame *f)
{
	const char *mod = profile__str(p, f->file), *slash;
	int len = profile__format_frame(p, f, true, NULL, 0);
	size_t mod_len;
	char *s;

	if (len < 0)
		return NULL;
	if (f->kind != FRAME_NATIVE || !*mod) {
		s = malloc(len + 1);
		if (s)
			profile__format_frame(p, f, true, s, len + 1);
		return s;
	}
	slash = strrchr(mod, '/');
	mod = slash ? slash + 1 : mod;
	mod_len = strlen(mod);
	s = malloc(len + mod_len + 4);
	if (!s)
		return NULL;
	profile__format_frame(p, f, true, s, len + 1);
	sprintf(s + len, " [%s]", mod);
	return s;
}

int table__write(const struct profile *p, FILE *out, int value_index,
		 int max_rows)
{
	struct functions fs = {.offcpu_type = -1};
	struct func *sorted = NULL, *fn;
	struct thread_id *threads = NULL;
	size_t i, n, nr_threads = 0, nr_pids = 0, rows;
	char v1[TEXT_VALUE_LEN], v2[TEXT_VALUE_LEN], name[TEXT_ROW_LEN];
	struct text_wrap wrap;
	const char *unit;
	int64_t total;
	int err = -ENOMEM, width;

	if (value_index < 0 || value_index >= p->nr_types)
		return -EINVAL;

	threads = calloc(p->nr_samples + 1, sizeof(*threads));
	if (!threads || functions__build(p, FUNCTIONS_SELF_LEAF, &fs))
		goto cleanup;
	total = fs.sum[value_index];
	for (i = 0; i < p->nr_samples; i++) {
		const struct profile_sample *s = &p->samples[i];

		if (!s->values[value_index])
			continue;
		threads[nr_threads].pid = s->pid;
		threads[nr_threads++].tid = s->tid;
	}

	qsort(threads, nr_threads, sizeof(*threads), cmp_thread);
	for (i = 0, n = 0; i < nr_threads; i++) {
		if (i && !cmp_thread(&threads[i], &threads[i - 1]))
			continue;
		if (!n || threads[i].pid != threads[n - 1].pid)
			nr_pids++;
		threads[n++] = threads[i];
	}
	nr_threads = n;

	n = 0;
	sorted = calloc(fs.nr + 1, sizeof(*sorted));
	if (!sorted)
		goto cleanup;
	for (i = 0; i < fs.nr; i++) {
		const struct function *f = &fs.funcs[i];

		if (!f->self[value_index] && !f->total[value_index])
			continue;
		sorted[n].self = f->self[value_index];
		sorted[n].total = f->total[value_index];
		sorted[n].frame = f->frame;
		sorted[n].text = func_text(p, &p->frames[f->frame]);
		if (!sorted[n++].text)
			goto cleanup;
	}
	qsort(sorted, n, sizeof(*sorted), cmp_func);

	unit = profile__str(p, p->types[value_index].unit);
	fprintf(out, "total: %s %s", text__value(v1, total, unit),
		profile__str(p, p->types[value_index].type));
	if (strcmp(unit, "nanoseconds") && strcmp(unit, "bytes"))
		fprintf(out, " (%s)", unit);
	fprintf(out, " from %zu thread%s in %zu process%s\n", nr_threads,
		nr_threads == 1 ? "" : "s", nr_pids, nr_pids == 1 ? "" : "es");
	fprintf(out, "%7s %7s %12s %12s  %s\n", "SELF%", "TOTAL%", "SELF",
		"TOTAL", "FUNCTION");
	/* The function column takes what the terminal has left. */
	width = text__width(out);
	if (width)
		width = width > ROW_PREFIX + 24 ? width - ROW_PREFIX : 24;
	rows = max_rows > 0 && (size_t)max_rows < n ? (size_t)max_rows : n;
	for (i = 0; i < rows; i++) {
		fn = &sorted[i];
		text__frame(name, sizeof(name), p, &p->frames[fn->frame],
			    width);
		fprintf(out, "%6.2f%% %6.2f%% ",
			total ? 100.0 * fn->self / total : 0.0,
			total ? 100.0 * fn->total / total : 0.0);
		text__right(out, text__value(v1, fn->self, unit), 12);
		fputc(' ', out);
		text__right(out, text__value(v2, fn->total, unit), 12);
		fprintf(out, "  %s\n", name);
	}
	if (rows < n)
		fprintf(out, "(%zu more functions)\n", n - rows);

	text__wrap_start(&wrap, out, "lost:");
	for (i = 0; i < p->nr_counters; i++) {
		snprintf(name, sizeof(name), "%s=%" PRId64,
			 profile__str(p, p->counters[i].name),
			 p->counters[i].value);
		text__wrap_word(&wrap, name);
	}
	if (!p->nr_counters)
		text__wrap_word(&wrap, "none");
	text__wrap_end(&wrap);
	err = ferror(out) ? -EIO : 0;

cleanup:
	for (i = 0; sorted && i < fs.nr; i++)
		free(sorted[i].text);
	functions__free(&fs);
	free(threads);
	free(sorted);
	return err;
}
