// SPDX-License-Identifier: BSD-2-Clause
/* Top-functions table; the layout is described in table.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model/functions.h"
#include "output/table.h"

/* A row: a function's values of one type, and its text. */
struct func {
	int64_t self, total;
	char *text;
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

/*
 * Copies s into dst (TABLE_NAME_WIDTH * 4 + 4 bytes), shortened to at most
 * width UTF-8 characters by replacing its middle with an ellipsis, so that
 * both the name and the line stay visible.
 */
static const char *elide(const char *s, char *dst, size_t width)
{
	size_t chars = 0, head, tail, i, head_end = 0, tail_start = 0;
	size_t len = strlen(s), seen;

	for (i = 0; i < len; i++)
		chars += ((unsigned char)s[i] & 0xc0) != 0x80;
	if (chars <= width || width < 3)
		return s;
	head = (width - 1) / 2;
	tail = width - 1 - head;
	for (i = 0, seen = 0; i <= len; i++) {
		if (i == len || ((unsigned char)s[i] & 0xc0) != 0x80) {
			if (seen == head)
				head_end = i;
			if (seen == chars - tail)
				tail_start = i;
			seen++;
		}
	}
	if (head_end + 4 + len - tail_start > TABLE_NAME_WIDTH * 4 + 4) {
		/* Not UTF-8 (overlong runs of continuation bytes): cut bytes.
		 */
		snprintf(dst, width + 1, "%s", s);
		return dst;
	}
	memcpy(dst, s, head_end);
	memcpy(dst + head_end, "\xe2\x80\xa6", 3); /* U+2026 */
	memcpy(dst + head_end + 3, s + tail_start, len - tail_start + 1);
	return dst;
}

int table__write(const struct profile *p, FILE *out, int value_index,
		 int max_rows)
{
	struct functions fs = {.offcpu_type = -1};
	struct func *sorted = NULL, *fn;
	struct thread_id *threads = NULL;
	size_t i, n, nr_threads = 0, nr_pids = 0, rows;
	int64_t total;
	int err = -ENOMEM;

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
		sorted[n].text = func_text(p, &p->frames[f->frame]);
		if (!sorted[n++].text)
			goto cleanup;
	}
	qsort(sorted, n, sizeof(*sorted), cmp_func);

	fprintf(out,
		"total: %" PRId64
		" %s (%s) from %zu thread%s in %zu process%s\n",
		total, profile__str(p, p->types[value_index].type),
		profile__str(p, p->types[value_index].unit), nr_threads,
		nr_threads == 1 ? "" : "s", nr_pids, nr_pids == 1 ? "" : "es");
	fprintf(out, "%7s %7s %12s %12s  %s\n", "SELF%", "TOTAL%", "SELF",
		"TOTAL", "FUNCTION");
	rows = max_rows > 0 && (size_t)max_rows < n ? (size_t)max_rows : n;
	for (i = 0; i < rows; i++) {
		char short_text[TABLE_NAME_WIDTH * 4 + 4];

		fn = &sorted[i];
		fprintf(out,
			"%6.2f%% %6.2f%% %12" PRId64 " %12" PRId64 "  %s\n",
			total ? 100.0 * fn->self / total : 0.0,
			total ? 100.0 * fn->total / total : 0.0, fn->self,
			fn->total,
			elide(fn->text, short_text, TABLE_NAME_WIDTH));
	}
	if (rows < n)
		fprintf(out, "(%zu more functions)\n", n - rows);

	fputs("lost:", out);
	for (i = 0; i < p->nr_counters; i++)
		fprintf(out, " %s=%" PRId64,
			profile__str(p, p->counters[i].name),
			p->counters[i].value);
	fputs(p->nr_counters ? "\n" : " none\n", out);
	err = ferror(out) ? -EIO : 0;

cleanup:
	for (i = 0; sorted && i < fs.nr; i++)
		free(sorted[i].text);
	functions__free(&fs);
	free(threads);
	free(sorted);
	return err;
}
