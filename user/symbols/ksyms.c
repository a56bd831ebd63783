// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "symbols/ksyms.h"

struct ksym {
	uint64_t addr;
	char *name;
};

struct ksyms {
	struct ksym *syms;
	size_t nr, cap;
};

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return 0;
}

struct ksyms *ksyms__load(void)
{
	struct ksyms *ks = calloc(1, sizeof(*ks));
	char name[256], type;
	uint64_t addr;
	FILE *f;

	if (!ks)
		return NULL;
	f = fopen("/proc/kallsyms", "re");
	if (!f) {
		free(ks);
		return NULL;
	}
	while (fscanf(f, "%" SCNx64 " %c %255s%*[^\n]", &addr, &type, name) ==
	       3) {
		if (!addr ||
		    (type != 't' && type != 'T' && type != 'w' && type != 'W'))
			continue;
		if (ks->nr == ks->cap) {
			size_t nc = ks->cap ? ks->cap * 2 : 65536;
			struct ksym *n = realloc(ks->syms, nc * sizeof(*n));

			if (!n)
				goto fail;
			ks->syms = n;
			ks->cap = nc;
		}
		ks->syms[ks->nr].addr = addr;
		ks->syms[ks->nr].name = strdup(name);
		if (!ks->syms[ks->nr].name)
			goto fail;
		ks->nr++;
	}
	fclose(f);
	if (!ks->nr) { /* kptr_restrict hides addresses */
		ksyms__free(ks);
		errno = EPERM;
		return NULL;
	}
	qsort(ks->syms, ks->nr, sizeof(*ks->syms), cmp_ksym);
	return ks;
fail:
	fclose(f);
	ksyms__free(ks);
	errno = ENOMEM;
	return NULL;
}

void ksyms__free(struct ksyms *ks)
{
	if (!ks)
		return;
	for (size_t i = 0; i < ks->nr; i++)
		free(ks->syms[i].name);
	free(ks->syms);
	free(ks);
}

const char *ksyms__lookup(const struct ksyms *ks, uint64_t addr)
{
	size_t lo = 0, hi = ks->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? ks->syms[lo - 1].name : NULL;
}
