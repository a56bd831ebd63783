/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * CPython line-table decoders: map an instruction offset inside a code object
 * to a source line, for each line-table format CPython has used.
 *
 * Tables are copied out of the target process and are hostile input: every
 * read is bounds-checked against `len`, every loop consumes at least one table
 * byte per iteration, and arithmetic is done in 64 bits with range checks.
 */
#ifndef PYSTROBE_LINETABLE_H
#define PYSTROBE_LINETABLE_H

#include <stddef.h>
#include <stdint.h>
#include "cpython/py_offsets.h"

/*
 * Line of the instruction at `offset_units` code units (2-byte units) from
 * the start of the bytecode, decoded from `table` (co_lnotab on <= 3.9,
 * co_linetable on 3.10+) of a code object whose co_firstlineno is
 * `firstlineno`. `table` may be NULL when `len` is 0.
 *
 * Returns the line number (>= 0), or -1 when the table has no line for that
 * offset (3.10+ "no line" entries, an offset past the last entry) or is
 * malformed (truncated varint, line out of int range, ...). As in CPython's
 * PyCode_Addr2Line, a <= 3.9 lnotab cannot tell an offset past the end of
 * the bytecode: it yields the last line.
 */
int linetable__line(enum py_linetable_format fmt, const uint8_t *table,
		    size_t len, int firstlineno, uint32_t offset_units);

#endif /* PYSTROBE_LINETABLE_H */
