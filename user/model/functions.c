// SPDX-License-Identifier: BSD-2-Clause
/* Per-function aggregation; the contract is in functions.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "model/functions.h"
#include "model/offcpu_frames.h"

/* Packed so that padding never takes part in hashing. */
struct fn_key {
	int64_t start_line;
	uint32_t kind, name, file, pad;
};

struct fn_entry {
	struct fn_key key;
	size_t idx;
	UT_hash_handle hh;
};

enum functions_self functions__rule_for(const struct profile *p)
{
	return profile__type_index(p, "offcpu") >= 0 ? FUNCTIONS_SELF_CODE
						     : FUNCTIONS_SELF_LEAF;
}

int functions__frame_reason(const struct profile *p,
			    const struct profile_frame *f)
{
	const char *name = profile__str(p, f->name);
	size_t n = strlen(OFFCPU_FRAME_PREFIX);

	if (f->kind != FRAME_MARKER ||
	    strncmp(name, OFFCPU_FRAME_PREFIX, n) != 0)
		return -1;
	/* OFFCPU_NONE shares the name "other": search from the first real
	 * reason so that "other" maps to OFFCPU_OTHER. */
	for (int r = OFFCPU_SLEEP; r < OFFCPU__COUNT; r++) {
		size_t len = strlen(offcpu_reason_names[r]);

		if (strncmp(name + n, offcpu_reason_names[r], len) == 0 &&
		    name[n + len] == ']')
			return r;
	}
	return OFFCPU_OTHER;
}

enum offcpu_reason functions__reason(const struct profile *p,
				     const struct profile_sample *s)
{
	int r = s->depth ? functions__frame_reason(p, &p->frames[s->frames[0]])
			 : -1;

	return r < 0 ? OFFCPU_OTHER : (enum offcpu_reason)r;
}

uint32_t functions__self_frame(const struct profile *p,
			       const struct profile_sample *s,
			       enum functions_self rule)
{
	uint32_t leaf = 0;

	if (rule == FUNCTIONS_SELF_CODE)
		while (leaf + 1 < s->depth &&
		       (p->frames[s->frames[leaf]].kind == FRAME_MARKER ||
			p->frames[s->frames[leaf]].kind == FRAME_KERNEL))
			leaf++;
	return leaf;
}

void functions__free(struct functions *f)
{
	if (!f)
		return;
	free(f->funcs);
	free(f->of_frame);
	memset(f, 0, sizeof(*f));
	f->offcpu_type = -1;
}

/* Maps every frame of p to its function, creating the functions. */
static int index_frames(const struct profile *p, struct functions *out)
{
	struct fn_entry *hash = NULL, *e, *tmp, *entries;
	int err = 0;

	out->of_frame = calloc(p->nr_frames + 1, sizeof(*out->of_frame));
	out->funcs = calloc(p->nr_frames + 1, sizeof(*out->funcs));
	entries = calloc(p->nr_frames + 1, sizeof(*entries));
	if (!out->of_frame || !out->funcs || !entries) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < p->nr_frames; i++) {
		const struct profile_frame *f = &p->frames[i];
		struct fn_key key = {
			.start_line = f->start_line,
			.kind = f->kind,
			.name = f->name,
			.file = f->file,
		};

		HASH_FIND(hh, hash, &key, sizeof(key), e);
		if (!e) {
			struct function *fn = &out->funcs[out->nr];

			e = &entries[i];
			e->key = key;
			e->idx = out->nr++;
			fn->kind = f->kind;
			fn->name = f->name;
			fn->file = f->file;
			fn->start_line = f->start_line;
			fn->frame = i;
			HASH_ADD(hh, hash, key, sizeof(key), e);
		}
		out->of_frame[i] = e->idx;
	}
cleanup:
	HASH_ITER(hh, hash, e, tmp)
	{
		HASH_DEL(hash, e);
	}
	free(entries);
	return err;
}

int functions__build(const struct profile *p, enum functions_self rule,
		     struct functions *out)
{
	size_t *last = NULL; /* per function: sample that last added, + 1 */
	int off = profile__type_index(p, "offcpu");
	int nt = p->nr_types, err;

	memset(out, 0, sizeof(*out));
	out->offcpu_type = off;
	out->rule = rule;
	err = index_frames(p, out);
	if (!err) {
		last = calloc(out->nr + 1, sizeof(*last));
		if (!last)
			err = -ENOMEM;
	}
	if (err) {
		functions__free(out);
		return err;
	}
	for (size_t i = 0; i < p->nr_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		enum offcpu_reason r = functions__reason(p, s);
		int64_t o = off >= 0 ? s->values[off] : 0;
		struct function *fn;
		uint32_t self;

		for (int t = 0; t < nt; t++)
			out->sum[t] += s->values[t];
		out->sum_offcpu[r] += o;
		if (!s->depth)
			continue;
		self = functions__self_frame(p, s, rule);
		fn = &out->funcs[out->of_frame[s->frames[self]]];
		for (int t = 0; t < nt; t++)
			fn->self[t] += s->values[t];
		fn->self_offcpu[r] += o;
		for (uint32_t j = self; j < s->depth; j++) {
			size_t idx = out->of_frame[s->frames[j]];

			if (last[idx] == i + 1)
				continue;
			last[idx] = i + 1;
			fn = &out->funcs[idx];
			for (int t = 0; t < nt; t++)
				fn->total[t] += s->values[t];
			fn->total_offcpu[r] += o;
		}
	}
	free(last);
	return 0;
}

const char *functions__profile_kind(const struct profile *p)
{
	bool memory = false;

	for (int t = 0; t < p->nr_types; t++) {
		const char *name = profile__str(p, p->types[t].type);

		memory |= strncmp(name, "alloc_", 6) == 0 ||
			  strncmp(name, "inuse_", 6) == 0;
	}
	if (profile__type_index(p, "calls") >= 0)
		return "calls";
	if (memory)
		return "memory";
	if (profile__type_index(p, "wall") >= 0)
		return "wall";
	if (profile__type_index(p, "offcpu") >= 0)
		return profile__type_index(p, "cpu") >= 0 ? "wall" : "offcpu";
	if (profile__type_index(p, "cpu") >= 0 ||
	    profile__type_index(p, "samples") >= 0)
		return "cpu";
	return "unknown";
}

const char *functions__kind_name(enum frame_kind kind)
{
	switch (kind) {
	case FRAME_PYTHON:
		return "python";
	case FRAME_NATIVE:
		return "native";
	case FRAME_KERNEL:
		return "kernel";
	case FRAME_MARKER:
	default:
		return "marker";
	}
}
