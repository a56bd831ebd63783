// SPDX-License-Identifier: BSD-2-Clause
/*
 * The in-memory profile: strings, frames and samples interned through uthash
 * so that a long recording stays proportional to its distinct stacks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "model/profile.h"

struct string_entry {
	const char *s; /* owned by p->strings */
	uint32_t idx;
	UT_hash_handle hh;
};

/* Frame key: a packed copy so that padding never takes part in hashing. */
struct frame_key {
	int64_t line, start_line;
	uint32_t kind, name, file, pad;
};

struct frame_entry {
	struct frame_key key;
	uint32_t idx;
	UT_hash_handle hh;
};

/* Sample key: this header followed by depth frame indices. */
struct sample_key_hdr {
	int64_t pid, tid;
	uint32_t thread_name, comm, depth, pad;
};

struct sample_entry {
	void *key;
	size_t key_len;
	size_t idx;
	UT_hash_handle hh;
};

/* Grows *arr (of elem bytes) so that it holds at least need elements. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *tmp;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	tmp = reallocarray(*arr, n, elem);
	if (!tmp)
		return -ENOMEM;
	*arr = tmp;
	*cap = n;
	return 0;
}

struct profile *profile__new(void)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	if (profile__intern(p, "") != 0) {
		profile__free(p);
		return NULL;
	}
	return p;
}

void profile__free(struct profile *p)
{
	struct string_entry *se, *stmp;
	struct frame_entry *fe, *ftmp;
	struct sample_entry *xe, *xtmp;
	struct string_entry *strings;
	struct frame_entry *frames;
	struct sample_entry *samples;
	size_t i;

	if (!p)
		return;
	strings = p->string_index;
	HASH_ITER(hh, strings, se, stmp)
	{
		HASH_DEL(strings, se);
		free(se);
	}
	frames = p->frame_index;
	HASH_ITER(hh, frames, fe, ftmp)
	{
		HASH_DEL(frames, fe);
		free(fe);
	}
	samples = p->sample_index;
	HASH_ITER(hh, samples, xe, xtmp)
	{
		HASH_DEL(samples, xe);
		free(xe->key);
		free(xe);
	}
	for (i = 0; i < p->nr_strings; i++)
		free(p->strings[i]);
	free(p->strings);
	free(p->frames);
	for (i = 0; i < p->nr_samples; i++)
		free(p->samples[i].frames);
	free(p->samples);
	free(p->counters);
	free(p->proc_labels);
	free(p);
}

uint32_t profile__find_string(const struct profile *p, const char *s)
{
	struct string_entry *strings = p->string_index, *e;

	if (!s)
		s = "";
	HASH_FIND_STR(strings, s, e);
	return e ? e->idx : (uint32_t)-1;
}

uint32_t profile__intern(struct profile *p, const char *s)
{
	struct string_entry *strings = p->string_index, *e;
	uint32_t idx;

	if (!s)
		s = "";
	HASH_FIND_STR(strings, s, e);
	if (e)
		return e->idx;
	if (p->nr_strings >= UINT32_MAX - 1)
		return (uint32_t)-1;
	if (grow((void **)&p->strings, &p->cap_strings, p->nr_strings + 1,
		 sizeof(*p->strings)))
		return (uint32_t)-1;
	e = calloc(1, sizeof(*e));
	if (!e)
		return (uint32_t)-1;
	e->s = p->strings[p->nr_strings] = strdup(s);
	if (!e->s) {
		free(e);
		return (uint32_t)-1;
	}
	idx = e->idx = p->nr_strings++;
	HASH_ADD_KEYPTR(hh, strings, e->s, strlen(e->s), e);
	p->string_index = strings;
	return idx;
}

int64_t profile__add_frame(struct profile *p, const struct profile_frame *f)
{
	struct frame_entry *frames = p->frame_index, *e;
	struct frame_key key;

	if (f->name >= p->nr_strings || f->file >= p->nr_strings ||
	    (unsigned)f->kind > FRAME_MARKER)
		return -EINVAL;
	memset(&key, 0, sizeof(key));
	key.kind = f->kind;
	key.name = f->name;
	key.file = f->file;
	key.line = f->line;
	key.start_line = f->start_line;
	HASH_FIND(hh, frames, &key, sizeof(key), e);
	if (e)
		return e->idx;
	if (p->nr_frames >= UINT32_MAX - 1)
		return -E2BIG;
	if (grow((void **)&p->frames, &p->cap_frames, p->nr_frames + 1,
		 sizeof(*p->frames)))
		return -ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = key;
	e->idx = p->nr_frames;
	p->frames[p->nr_frames++] = *f;
	HASH_ADD(hh, frames, key, sizeof(key), e);
	p->frame_index = frames;
	return e->idx;
}

int profile__add_type(struct profile *p, const char *type, const char *unit)
{
	uint32_t t, u;

	if (p->nr_types >= PROFILE_MAX_TYPES)
		return -E2BIG;
	t = profile__intern(p, type);
	u = profile__intern(p, unit);
	if (t == (uint32_t)-1 || u == (uint32_t)-1)
		return -ENOMEM;
	p->types[p->nr_types].type = t;
	p->types[p->nr_types].unit = u;
	return p->nr_types++;
}

int profile__type_index(const struct profile *p, const char *type)
{
	int i;

	for (i = 0; i < p->nr_types; i++)
		if (!strcmp(profile__str(p, p->types[i].type), type))
			return i;
	return -1;
}

int profile__add_sample(struct profile *p, const uint32_t *frames,
			uint32_t depth, const int64_t *values, int64_t pid,
			int64_t tid, const char *thread_name, const char *comm)
{
	struct sample_entry *samples = p->sample_index, *e;
	struct profile_sample *s;
	struct sample_key_hdr hdr;
	size_t key_len;
	void *key;
	uint32_t i;
	int j;

	for (i = 0; i < depth; i++)
		if (frames[i] >= p->nr_frames)
			return -EINVAL;
	memset(&hdr, 0, sizeof(hdr));
	hdr.pid = pid;
	hdr.tid = tid;
	hdr.depth = depth;
	hdr.thread_name = profile__intern(p, thread_name);
	hdr.comm = profile__intern(p, comm);
	if (hdr.thread_name == (uint32_t)-1 || hdr.comm == (uint32_t)-1)
		return -ENOMEM;

	key_len = sizeof(hdr) + (size_t)depth * sizeof(*frames);
	key = malloc(key_len);
	if (!key)
		return -ENOMEM;
	memcpy(key, &hdr, sizeof(hdr));
	if (depth)
		memcpy((char *)key + sizeof(hdr), frames,
		       depth * sizeof(*frames));

	HASH_FIND(hh, samples, key, key_len, e);
	if (e) {
		free(key);
		s = &p->samples[e->idx];
		for (j = 0; j < p->nr_types; j++)
			s->values[j] += values[j];
		return 0;
	}

	if (grow((void **)&p->samples, &p->cap_samples, p->nr_samples + 1,
		 sizeof(*p->samples)))
		goto err_key;
	e = calloc(1, sizeof(*e));
	if (!e)
		goto err_key;
	s = &p->samples[p->nr_samples];
	memset(s, 0, sizeof(*s));
	s->frames = malloc(depth ? depth * sizeof(*frames) : 1);
	if (!s->frames) {
		free(e);
		goto err_key;
	}
	if (depth)
		memcpy(s->frames, frames, depth * sizeof(*frames));
	s->depth = depth;
	for (j = 0; j < p->nr_types; j++)
		s->values[j] = values[j];
	s->pid = pid;
	s->tid = tid;
	s->thread_name = hdr.thread_name;
	s->comm = hdr.comm;

	e->key = key;
	e->key_len = key_len;
	e->idx = p->nr_samples++;
	HASH_ADD_KEYPTR(hh, samples, e->key, e->key_len, e);
	p->sample_index = samples;
	return 0;

err_key:
	free(key);
	return -ENOMEM;
}

int profile__set_counter(struct profile *p, const char *name, int64_t value)
{
	uint32_t n = profile__intern(p, name);
	size_t i;

	if (n == (uint32_t)-1)
		return -ENOMEM;
	for (i = 0; i < p->nr_counters; i++) {
		if (p->counters[i].name == n) {
			p->counters[i].value = value;
			return 0;
		}
	}
	if (grow((void **)&p->counters, &p->cap_counters, p->nr_counters + 1,
		 sizeof(*p->counters)))
		return -ENOMEM;
	p->counters[p->nr_counters].name = n;
	p->counters[p->nr_counters].value = value;
	p->nr_counters++;
	return 0;
}

int profile__set_process_label(struct profile *p, int64_t pid, const char *key,
			       const char *value)
{
	uint32_t k = profile__intern(p, key), v = profile__intern(p, value);
	struct profile_process_label *l;
	size_t i;

	if (k == (uint32_t)-1 || v == (uint32_t)-1)
		return -ENOMEM;
	for (i = 0; i < p->nr_proc_labels; i++) {
		l = &p->proc_labels[i];
		if (l->pid == pid && l->key == k) {
			l->value = v;
			return 0;
		}
	}
	if (grow((void **)&p->proc_labels, &p->cap_proc_labels,
		 p->nr_proc_labels + 1, sizeof(*p->proc_labels)))
		return -ENOMEM;
	l = &p->proc_labels[p->nr_proc_labels++];
	l->pid = pid;
	l->key = k;
	l->value = v;
	return 0;
}

const char *profile__process_label(const struct profile *p, int64_t pid,
				   const char *key)
{
	for (size_t i = 0; i < p->nr_proc_labels; i++)
		if (p->proc_labels[i].pid == pid &&
		    !strcmp(profile__str(p, p->proc_labels[i].key), key))
			return profile__str(p, p->proc_labels[i].value);
	return NULL;
}

struct profile *profile__new_like(const struct profile *src)
{
	struct profile *p = profile__new();
	int i;

	for (i = 0; p && i < src->nr_types; i++)
		if (profile__add_type(p, profile__str(src, src->types[i].type),
				      profile__str(src, src->types[i].unit)) <
		    0)
			break;
	if (p && i == src->nr_types) {
		p->period_type.type = profile__intern(
			p, profile__str(src, src->period_type.type));
		p->period_type.unit = profile__intern(
			p, profile__str(src, src->period_type.unit));
		p->period = src->period;
		p->time_nanos = src->time_nanos;
		if (p->period_type.type != (uint32_t)-1 &&
		    p->period_type.unit != (uint32_t)-1)
			return p;
	}
	profile__free(p);
	errno = ENOMEM;
	return NULL;
}

/* dst's index of src's frame i, interning its strings. */
static int64_t copy_frame(struct profile *dst, const struct profile *src,
			  uint32_t i)
{
	struct profile_frame f = src->frames[i];

	f.name = profile__intern(dst, profile__str(src, f.name));
	f.file = profile__intern(dst, profile__str(src, f.file));
	if (f.name == (uint32_t)-1 || f.file == (uint32_t)-1)
		return -ENOMEM;
	return profile__add_frame(dst, &f);
}

int profile__merge(struct profile *dst, const struct profile *src, int64_t pid)
{
	int64_t *map = NULL; /* src frame -> dst frame + 1, 0: not yet */
	uint32_t *frames = NULL;
	size_t cap = 0;
	int err = 0;

	if (dst->nr_types != src->nr_types)
		return -EINVAL;
	for (int i = 0; i < src->nr_types; i++)
		if (strcmp(profile__str(dst, dst->types[i].type),
			   profile__str(src, src->types[i].type)))
			return -EINVAL;
	map = calloc(src->nr_frames + 1, sizeof(*map));
	if (!map)
		return -ENOMEM;
	for (size_t i = 0; !err && i < src->nr_samples; i++) {
		const struct profile_sample *s = &src->samples[i];

		if (pid >= 0 && s->pid != pid)
			continue;
		if (s->depth > cap) {
			uint32_t *f =
				reallocarray(frames, s->depth, sizeof(*f));

			if (!f) {
				err = -ENOMEM;
				break;
			}
			frames = f;
			cap = s->depth;
		}
		for (uint32_t j = 0; !err && j < s->depth; j++) {
			uint32_t k = s->frames[j];

			if (!map[k]) {
				int64_t idx = copy_frame(dst, src, k);

				if (idx < 0) {
					err = idx;
					break;
				}
				map[k] = idx + 1;
			}
			frames[j] = map[k] - 1;
		}
		if (!err)
			err = profile__add_sample(
				dst, frames, s->depth, s->values, s->pid,
				s->tid, profile__str(src, s->thread_name),
				profile__str(src, s->comm));
	}
	for (size_t i = 0; !err && i < src->nr_proc_labels; i++) {
		const struct profile_process_label *l = &src->proc_labels[i];

		if (pid < 0 || l->pid == pid)
			err = profile__set_process_label(
				dst, l->pid, profile__str(src, l->key),
				profile__str(src, l->value));
	}
	free(map);
	free(frames);
	return err;
}

int64_t profile__counter(const struct profile *p, const char *name, int64_t def)
{
	size_t i;

	for (i = 0; i < p->nr_counters; i++)
		if (!strcmp(profile__str(p, p->counters[i].name), name))
			return p->counters[i].value;
	return def;
}

int profile__format_frame(const struct profile *p,
			  const struct profile_frame *f, bool per_function,
			  char *buf, size_t size)
{
	const char *name = profile__str(p, f->name);
	const char *file = profile__str(p, f->file);
	int64_t line = per_function ? f->start_line : f->line;

	switch (f->kind) {
	case FRAME_PYTHON:
		return snprintf(buf, size, "%s (%s:%lld)",
				*name ? name : "[unknown]", file,
				(long long)line);
	case FRAME_KERNEL:
		return snprintf(buf, size, "%s_[k]",
				*name ? name : "[unknown]");
	case FRAME_NATIVE:
	case FRAME_MARKER:
	default:
		return snprintf(buf, size, "%s", *name ? name : "[unknown]");
	}
}
