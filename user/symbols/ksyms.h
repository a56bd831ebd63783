/* SPDX-License-Identifier: BSD-2-Clause */
/* Kernel symbols from /proc/kallsyms, for --kernel stacks. */
#ifndef PYSTROBE_KSYMS_H
#define PYSTROBE_KSYMS_H

#include <stdint.h>

struct ksyms;

struct ksyms *ksyms__load(void);    /* NULL with errno on failure */
void ksyms__free(struct ksyms *ks); /* accepts NULL */
/* Name of the function containing addr, or NULL. */
const char *ksyms__lookup(const struct ksyms *ks, uint64_t addr);

#endif
