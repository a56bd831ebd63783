// SPDX-License-Identifier: BSD-2-Clause
/* Per-function comparison of two profiles; see profile_diff.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "model/profile_diff.h"

struct key_entry {
	char *key; /* "kind\nname\nfile\nline" */
	size_t idx;
	UT_hash_handle hh;
};

void profile_diff__free(struct profile_diff *d)
{
	for (int s = 0; s < 2; s++) {
		functions__free(&d->fs[s]);
		free(d->func_of_frame[s]);
	}
	free(d->funcs);
	memset(d, 0, sizeof(*d));
}

/* Adds side's functions to d, matching those already there by text. */
static int merge_side(struct profile_diff *d, int side, struct key_entry **hash)
{
	const struct profile *p = d->p[side];
	const struct functions *fs = &d->fs[side];
	int32_t *of_func = calloc(fs->nr + 1, sizeof(*of_func));
	struct key_entry *e;

	d->func_of_frame[side] = calloc(p->nr_frames + 1, sizeof(int32_t));
	if (!of_func || !d->func_of_frame[side]) {
		free(of_func);
		return -ENOMEM;
	}
	for (size_t i = 0; i < fs->nr; i++) {
		const struct function *f = &fs->funcs[i];
		const char *name = profile__str(p, f->name);
		const char *file = profile__str(p, f->file);
		char *key = NULL;

		if (asprintf(&key, "%d\n%s\n%s\n%lld", f->kind, name, file,
			     (long long)f->start_line) < 0) {
			free(of_func);
			return -ENOMEM;
		}
		HASH_FIND_STR(*hash, key, e);
		if (e) {
			free(key);
		} else {
			e = calloc(1, sizeof(*e));
			if (!e) {
				free(key);
				free(of_func);
				return -ENOMEM;
			}
			e->key = key;
			e->idx = d->nr++;
			d->funcs[e->idx] = (struct diff_func){
				.kind = f->kind,
				.name = name,
				.file = file,
				.line = f->start_line,
			};
			HASH_ADD_KEYPTR(hh, *hash, e->key, strlen(e->key), e);
		}
		d->funcs[e->idx].side[side] = f;
		of_func[i] = e->idx;
	}
	for (size_t i = 0; i < p->nr_frames; i++)
		d->func_of_frame[side][i] = of_func[fs->of_frame[i]];
	free(of_func);
	return 0;
}

int profile_diff__build(const struct profile *base, const struct profile *new,
			const char *const labels[2], struct profile_diff *d,
			char *why, size_t why_len)
{
	struct key_entry *hash = NULL, *e, *tmp;
	const char *kind_new = functions__profile_kind(new);
	int err = 0;

	memset(d, 0, sizeof(*d));
	d->p[DIFF_BASE] = base;
	d->p[DIFF_NEW] = new;
	d->label[DIFF_BASE] = labels[DIFF_BASE];
	d->label[DIFF_NEW] = labels[DIFF_NEW];
	d->kind = functions__profile_kind(base);
	if (strcmp(d->kind, kind_new) != 0) {
		snprintf(why, why_len,
			 "cannot compare profiles of different kinds: %s (%s) "
			 "and %s (%s)",
			 d->kind, labels[DIFF_BASE], kind_new,
			 labels[DIFF_NEW]);
		return -EINVAL;
	}
	for (int t = 0; t < base->nr_types; t++) {
		const char *name = profile__str(base, base->types[t].type);
		int u = profile__type_index(new, name);

		if (u < 0 || strcmp(profile__str(base, base->types[t].unit),
				    profile__str(new, new->types[u].unit)))
			continue;
		d->type[DIFF_BASE][d->nr_types] = t;
		d->type[DIFF_NEW][d->nr_types++] = u;
	}
	if (!d->nr_types) {
		snprintf(why, why_len,
			 "%s and %s have no sample type in common",
			 labels[DIFF_BASE], labels[DIFF_NEW]);
		return -EINVAL;
	}
	/* One rule for both: they are of one kind. */
	err = functions__build(base, functions__rule_for(base), &d->fs[0]);
	err = err
		      ?: functions__build(new, functions__rule_for(base),
					  &d->fs[1]);
	if (!err) {
		d->funcs = calloc(d->fs[0].nr + d->fs[1].nr + 1,
				  sizeof(*d->funcs));
		err = d->funcs ? 0 : -ENOMEM;
	}
	err = err ?: merge_side(d, DIFF_BASE, &hash);
	err = err ?: merge_side(d, DIFF_NEW, &hash);
	HASH_ITER(hh, hash, e, tmp)
	{
		HASH_DEL(hash, e);
		free(e->key);
		free(e);
	}
	if (err) {
		snprintf(why, why_len, "out of memory");
		profile_diff__free(d);
	}
	return err;
}

int64_t profile_diff__value(const struct profile_diff *d,
			    const struct diff_func *f, int side, int i,
			    bool total)
{
	const struct function *fn = f->side[side];
	int t = d->type[side][i];

	if (!fn)
		return 0;
	return total ? fn->total[t] : fn->self[t];
}

double profile_diff__share(const struct profile_diff *d,
			   const struct diff_func *f, int side, int i,
			   bool total)
{
	int64_t sum = d->fs[side].sum[d->type[side][i]];

	return sum ? (double)profile_diff__value(d, f, side, i, total) / sum
		   : 0.0;
}
