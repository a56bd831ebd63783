// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "symbols/elf_syms.h"
#include "symbols/nativesym.h"
#include "process/procmaps.h"

struct module {
	char *path;
	struct elf_syms *syms; /* NULL when the file cannot be read */
};

struct nativesym {
	pid_t pid;
	struct procmaps maps;
	struct module *mods;
	size_t nr_mods;
};

struct nativesym *nativesym__new(pid_t pid)
{
	struct nativesym *ns = calloc(1, sizeof(*ns));

	if (!ns)
		return NULL;
	ns->pid = pid;
	if (nativesym__refresh(ns)) {
		nativesym__free(ns);
		return NULL;
	}
	return ns;
}

void nativesym__free(struct nativesym *ns)
{
	if (!ns)
		return;
	procmaps__free(&ns->maps);
	for (size_t i = 0; i < ns->nr_mods; i++) {
		free(ns->mods[i].path);
		elf_syms__free(ns->mods[i].syms);
	}
	free(ns->mods);
	free(ns);
}

int nativesym__refresh(struct nativesym *ns)
{
	struct procmaps fresh;
	int err = procmaps__read(ns->pid, &fresh);

	if (err)
		return err;
	procmaps__free(&ns->maps);
	ns->maps = fresh;
	return 0;
}

static struct module *get_module(struct nativesym *ns, const struct procmap *pm)
{
	char host[512];
	struct module *m;

	const char *path = pm->path;

	for (size_t i = 0; i < ns->nr_mods; i++)
		if (strcmp(ns->mods[i].path, path) == 0)
			return &ns->mods[i];
	m = realloc(ns->mods, (ns->nr_mods + 1) * sizeof(*m));
	if (!m)
		return NULL;
	ns->mods = m;
	m = &ns->mods[ns->nr_mods];
	m->path = strdup(path);
	if (!m->path)
		return NULL;
	procmaps__host_path(ns->pid, pm, host, sizeof(host));
	m->syms = elf_syms__open(host);
	ns->nr_mods++;
	return m;
}

void nativesym__lookup(struct nativesym *ns, uint64_t addr, const char **sym,
		       const char **module, uint64_t *file_off)
{
	const struct procmap *pm = procmaps__find(&ns->maps, addr);
	struct module *m;

	*sym = NULL;
	*module = NULL;
	*file_off = 0;
	if (!pm || !pm->path)
		return;
	*file_off = addr - pm->start + pm->offset;
	m = get_module(ns, pm);
	if (!m)
		return;
	*module = m->path;
	if (m->syms)
		*sym = elf_syms__lookup(
			m->syms,
			addr - elf_syms__bias(m->syms, pm->start, pm->offset));
}
