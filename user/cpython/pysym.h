/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Symbolizes Python frames of one process: code object address ->
 * qualified name, file, first line and line table, read once and cached.
 * A cached entry is re-validated once per generation (see pysym__next_gen)
 * because a freed code object's address can be reused by another one.
 *
 * Frames from BPF name a code object by address and identity tag, and BPF
 * sends a copy of what names each one (struct code_info) the first time it
 * sees it, while it is alive. pysym__resolve trusts the code object it can
 * read now only if it is that same object (same identity fields, and typed
 * PyCode_Type); otherwise it answers from the copy. Without either, the
 * frame is unknown: never a name read from memory that is something else.
 */
#ifndef PYSTROBE_PYSYM_H
#define PYSTROBE_PYSYM_H

#include <stdbool.h>
#include <stdint.h>
#include "cpython/pyproc.h"

#define PYSYM_MAX_STR	    1024   /* longer names are cut */
#define PYSYM_MAX_LINETABLE 262144 /* bytes of line table read at most */

struct pysym;

struct pysym_frame {
	const char *name; /* qualified name; owned by the cache */
	const char *file;
	int firstlineno;
	int line;    /* -1 when unknown */
	bool copied; /* from BPF's copy: the object was gone or reused */
};

struct code_info;

struct pysym *pysym__new(const struct pyproc *pp);
void pysym__free(struct pysym *ps); /* accepts NULL */

/* Starts a new validation generation (call once per drain). */
void pysym__next_gen(struct pysym *ps);

/* Keeps BPF's copy of a code object (key: address | tag << 48). */
int pysym__add_copy(struct pysym *ps, const struct code_info *ci);

/*
 * Resolves one frame: `code` is py_frame.code (address, identity tag in
 * bits 48-63; PYFRAME_ENTRY is ignored). Returns 0, or a negative errno when
 * the code object is neither readable as the one sampled nor copied (the
 * process exited, the object was freed, or the pointer is garbage).
 */
int pysym__resolve(struct pysym *ps, uint64_t code, uint64_t instr,
		   struct pysym_frame *out);

/*
 * Addresses found holding another code object than the copy BPF made, or
 * whose copy was dropped as unused: BPF should forget what it knows of them
 * (so that it copies the object now there) and tag them on every sample for
 * a while. Moves up to max of them into addrs; returns how many.
 */
size_t pysym__take_stale(struct pysym *ps, uint64_t *addrs, size_t max);

/* Reads a str object (bounded); for tests and diagnostics too. */
int pysym__read_unicode(const struct pyproc *pp, uint64_t addr, char *buf,
			size_t len);

#endif
