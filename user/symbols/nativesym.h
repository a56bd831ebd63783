/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Native (user-space) frames of one process: address -> module and symbol,
 * through the process's maps and each module's ELF symbols.
 */
#ifndef PYSTROBE_NATIVESYM_H
#define PYSTROBE_NATIVESYM_H

#include <stdint.h>
#include <sys/types.h>

struct nativesym;

struct nativesym *nativesym__new(pid_t pid);
void nativesym__free(struct nativesym *ns); /* accepts NULL */
/* Re-reads the maps (new libraries); keeps already loaded modules. */
int nativesym__refresh(struct nativesym *ns);

/*
 * Symbol, module path and offset in the module's file for addr; *sym is
 * NULL when no symbol covers it, *module NULL when no file mapping does.
 * Strings live as long as ns.
 */
void nativesym__lookup(struct nativesym *ns, uint64_t addr, const char **sym,
		       const char **module, uint64_t *file_off);

#endif
