/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Symbolizes Python frames of one process: code object address ->
 * qualified name, file, first line and line table, read once and cached.
 * A cached entry is re-validated once per generation (see pysym__next_gen)
 * because a freed code object's address can be reused by another one.
 */
#ifndef PYSTROBE_PYSYM_H
#define PYSTROBE_PYSYM_H

#include <stdint.h>
#include "cpython/pyproc.h"

#define PYSYM_MAX_STR	    1024   /* longer names are cut */
#define PYSYM_MAX_LINETABLE 262144 /* bytes of line table read at most */

struct pysym;

struct pysym_frame {
	const char *name; /* qualified name; owned by the cache */
	const char *file;
	int firstlineno;
	int line; /* -1 when unknown */
};

struct pysym *pysym__new(const struct pyproc *pp);
void pysym__free(struct pysym *ps); /* accepts NULL */

/* Starts a new validation generation (call once per drain). */
void pysym__next_gen(struct pysym *ps);

/*
 * Resolves one frame. Returns 0, or a negative errno when the code object
 * cannot be read (the process exited, or the pointer is garbage).
 */
int pysym__resolve(struct pysym *ps, uint64_t code, uint64_t instr,
		   struct pysym_frame *out);

/* Reads a str object (bounded); for tests and diagnostics too. */
int pysym__read_unicode(const struct pyproc *pp, uint64_t addr, char *buf,
			size_t len);

#endif
