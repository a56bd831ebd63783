/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Symbols of one ELF file through libelf: .symtab when present, else
 * .dynsym (stripped binaries such as Debian's python3.11 keep that).
 */
#ifndef PYSTROBE_ELF_SYMS_H
#define PYSTROBE_ELF_SYMS_H

#include <stdint.h>

struct elf_syms;

/* Opens and indexes path; NULL with errno set on failure. */
struct elf_syms *elf_syms__open(const char *path);
void elf_syms__free(struct elf_syms *es); /* accepts NULL */

/* Link-time address of a named symbol; 0 when absent. */
uint64_t elf_syms__find(const struct elf_syms *es, const char *name);

/* Name of the function containing a link-time address, or NULL. */
const char *elf_syms__lookup(const struct elf_syms *es, uint64_t addr);

/*
 * Load bias (runtime address minus link-time address) of the segment
 * mapped at `start` from file offset `offset`; 0 for non-PIE executables.
 */
int64_t elf_syms__bias(const struct elf_syms *es, uint64_t start,
		       uint64_t offset);

#endif
