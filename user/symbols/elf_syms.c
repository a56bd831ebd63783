// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "symbols/elf_syms.h"

#define MAX_LOADS 16

struct elf_sym {
	uint64_t addr, size;
	const char *name; /* into names */
};

struct elf_syms {
	struct elf_sym *syms; /* sorted by addr */
	size_t nr;
	char *names;
	struct {
		uint64_t vaddr, offset, filesz;
	} loads[MAX_LOADS];
	int nr_loads;
};

static int cmp_sym(const void *a, const void *b)
{
	const struct elf_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return 0;
}

/* Appends the FUNC and OBJECT symbols of one symbol table section. */
static int add_symtab(struct elf_syms *es, Elf *elf, Elf_Scn *scn,
		      GElf_Shdr *sh, size_t *names_len, size_t *names_cap)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n;

	if (!data || !sh->sh_entsize)
		return 0;
	n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *name;
		size_t len;
		int type;

		if (!gelf_getsym(data, i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_OBJECT) || !sym.st_value ||
		    sym.st_shndx == SHN_UNDEF)
			continue;
		name = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		len = strlen(name) + 1;
		if (*names_len + len > *names_cap) {
			size_t nc = (*names_cap + len) * 2;
			char *nn = realloc(es->names, nc);

			if (!nn)
				return -ENOMEM;
			/* Names are re-pointed after loading; store offsets. */
			es->names = nn;
			*names_cap = nc;
		}
		memcpy(es->names + *names_len, name, len);
		if (es->nr % 1024 == 0) {
			struct elf_sym *ns = realloc(
				es->syms, (es->nr + 1024) * sizeof(*ns));

			if (!ns)
				return -ENOMEM;
			es->syms = ns;
		}
		es->syms[es->nr].addr = sym.st_value;
		es->syms[es->nr].size = sym.st_size;
		es->syms[es->nr].name = (const char *)(uintptr_t)*names_len;
		es->nr++;
		*names_len += len;
	}
	return 0;
}

struct elf_syms *elf_syms__open(const char *path)
{
	size_t names_len = 0, names_cap = 0, phnum;
	Elf_Scn *scn = NULL, *dynsym = NULL, *symtab = NULL;
	GElf_Shdr sh, dynsym_sh, symtab_sh;
	struct elf_syms *es;
	Elf *elf = NULL;
	int fd, err = 0;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = EINVAL;
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	es = calloc(1, sizeof(*es));
	if (!es) {
		err = -ENOMEM;
		goto cleanup;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	if (elf_getphdrnum(elf, &phnum) == 0) {
		for (size_t i = 0; i < phnum && es->nr_loads < MAX_LOADS; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
				continue;
			es->loads[es->nr_loads].vaddr = ph.p_vaddr;
			es->loads[es->nr_loads].offset = ph.p_offset;
			es->loads[es->nr_loads].filesz = ph.p_filesz;
			es->nr_loads++;
		}
	}
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			symtab = scn;
			symtab_sh = sh;
		} else if (sh.sh_type == SHT_DYNSYM) {
			dynsym = scn;
			dynsym_sh = sh;
		}
	}
	/* .symtab is a superset when present; .dynsym survives stripping. */
	if (symtab)
		err = add_symtab(es, elf, symtab, &symtab_sh, &names_len,
				 &names_cap);
	else if (dynsym)
		err = add_symtab(es, elf, dynsym, &dynsym_sh, &names_len,
				 &names_cap);
	if (err)
		goto cleanup;
	for (size_t i = 0; i < es->nr; i++)
		es->syms[i].name = es->names + (uintptr_t)es->syms[i].name;
	qsort(es->syms, es->nr, sizeof(*es->syms), cmp_sym);
cleanup:
	if (elf)
		elf_end(elf);
	close(fd);
	if (err) {
		elf_syms__free(es);
		errno = -err;
		return NULL;
	}
	return es;
}

void elf_syms__free(struct elf_syms *es)
{
	if (!es)
		return;
	free(es->syms);
	free(es->names);
	free(es);
}

uint64_t elf_syms__find(const struct elf_syms *es, const char *name)
{
	for (size_t i = 0; i < es->nr; i++)
		if (strcmp(es->syms[i].name, name) == 0)
			return es->syms[i].addr;
	return 0;
}

const char *elf_syms__lookup(const struct elf_syms *es, uint64_t addr)
{
	size_t lo = 0, hi = es->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (es->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	/* Symbols without a size (hand-written asm) own up to the next one. */
	if (es->syms[lo - 1].size &&
	    addr >= es->syms[lo - 1].addr + es->syms[lo - 1].size)
		return NULL;
	return es->syms[lo - 1].name;
}

int64_t elf_syms__bias(const struct elf_syms *es, uint64_t start,
		       uint64_t offset)
{
	for (int i = 0; i < es->nr_loads; i++) {
		uint64_t seg_off = es->loads[i].offset & ~0xfffULL;

		if (offset >= seg_off &&
		    offset < es->loads[i].offset + es->loads[i].filesz)
			return (int64_t)(start -
					 (es->loads[i].vaddr -
					  es->loads[i].offset + offset));
	}
	return (int64_t)(start - offset);
}
