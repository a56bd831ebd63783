// SPDX-License-Identifier: BSD-2-Clause
/* Folded-stack writer; the format is described in folded.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "output/folded.h"

struct stack_entry {
	char *stack; /* root first, ';'-joined */
	int64_t value;
	UT_hash_handle hh;
};

/* Makes s fit in one folded frame: no ';' and no line breaks. */
static void sanitize(char *s)
{
	for (; *s; s++) {
		if (*s == ';')
			*s = ':';
		else if (*s == '\n' || *s == '\r')
			*s = ' ';
	}
}

static char *frame_text(const struct profile *p, const struct profile_frame *f)
{
	int len = profile__format_frame(p, f, false, NULL, 0);
	char *s;

	if (len < 0)
		return NULL;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	profile__format_frame(p, f, false, s, len + 1);
	sanitize(s);
	return s;
}

struct line_buf {
	char *s;
	size_t len, cap;
};

/* Appends frame text t (length n) to b, after a ';' unless b is empty. */
static int append(struct line_buf *b, const char *t, size_t n)
{
	char *grown;

	while (b->len + n + 2 > b->cap) {
		grown = realloc(b->s, b->cap * 2);
		if (!grown)
			return -ENOMEM;
		b->s = grown;
		b->cap *= 2;
	}
	if (b->len)
		b->s[b->len++] = ';';
	memcpy(b->s + b->len, t, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct stack_entry *x = *(const struct stack_entry *const *)a;
	const struct stack_entry *y = *(const struct stack_entry *const *)b;

	return strcmp(x->stack, y->stack);
}

int folded__write(const struct profile *p, FILE *out, int value_index,
		  bool threads)
{
	struct stack_entry *hash = NULL, *e, *tmp, **sorted = NULL;
	struct line_buf line = {.cap = 256};
	char **texts = NULL, thread[512];
	size_t *text_len = NULL;
	size_t i, n;
	int err = -ENOMEM;
	bool per_us;
	uint32_t j;

	if (value_index < 0 || value_index >= p->nr_types)
		return -EINVAL;
	per_us = strcmp(profile__str(p, p->types[value_index].unit),
			"nanoseconds") == 0;

	texts = calloc(p->nr_frames + 1, sizeof(*texts));
	text_len = calloc(p->nr_frames + 1, sizeof(*text_len));
	line.s = malloc(line.cap);
	if (!texts || !text_len || !line.s)
		goto cleanup;
	for (i = 0; i < p->nr_frames; i++) {
		texts[i] = frame_text(p, &p->frames[i]);
		if (!texts[i])
			goto cleanup;
		text_len[i] = strlen(texts[i]);
	}

	for (i = 0; i < p->nr_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		int64_t v = s->values[value_index];

		if (!v)
			continue;
		line.len = 0;
		if (threads) {
			const char *name = profile__str(p, s->thread_name);

			snprintf(thread, sizeof(thread), "[thread %s tid=%lld]",
				 *name ? name : profile__str(p, s->comm),
				 (long long)s->tid);
			sanitize(thread);
			if (append(&line, thread, strlen(thread)))
				goto cleanup;
		}
		for (j = s->depth; j-- > 0;)
			if (append(&line, texts[s->frames[j]],
				   text_len[s->frames[j]]))
				goto cleanup;
		if (!s->depth && append(&line, "[unknown]", 9))
			goto cleanup;

		HASH_FIND(hh, hash, line.s, line.len, e);
		if (e) {
			e->value += v;
			continue;
		}
		e = calloc(1, sizeof(*e));
		if (!e)
			goto cleanup;
		e->stack = strdup(line.s);
		if (!e->stack) {
			free(e);
			goto cleanup;
		}
		e->value = v;
		HASH_ADD_KEYPTR(hh, hash, e->stack, line.len, e);
	}

	n = HASH_COUNT(hash);
	sorted = calloc(n + 1, sizeof(*sorted));
	if (!sorted)
		goto cleanup;
	i = 0;
	HASH_ITER(hh, hash, e, tmp)
	{
		sorted[i++] = e;
	}
	qsort(sorted, n, sizeof(*sorted), cmp_entry);
	for (i = 0; i < n; i++) {
		/* Times go out in microseconds, as flame graph tools expect. */
		int64_t v = per_us ? (sorted[i]->value + 500) / 1000
				   : sorted[i]->value;

		if (v)
			fprintf(out, "%s %" PRId64 "\n", sorted[i]->stack, v);
	}
	err = ferror(out) ? -EIO : 0;

cleanup:
	HASH_ITER(hh, hash, e, tmp)
	{
		HASH_DEL(hash, e);
		free(e->stack);
		free(e);
	}
	for (i = 0; texts && i < p->nr_frames; i++)
		free(texts[i]);
	free(texts);
	free(text_len);
	free(line.s);
	free(sorted);
	return err;
}
