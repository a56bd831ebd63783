// SPDX-License-Identifier: BSD-2-Clause
/*
 * CPython line-table decoders. Formats, as CPython writes and reads them:
 *
 * <= 3.9 co_lnotab (Objects/lnotab_notes.txt, PyCode_Addr2Line): byte pairs
 *   (address increment in bytes, unsigned; line increment, signed). The line
 *   of address A is firstlineno plus every line increment whose cumulative
 *   address is <= A.
 *
 * 3.10 co_linetable (Objects/lnotab_notes.txt, PEP 626): byte pairs
 *   (range length in bytes, unsigned; line delta, signed). Each pair covers
 *   [end, end + length) of bytecode; a delta of -128 means "no line" and
 *   leaves the running line unchanged. Zero-length pairs only carry line
 *   deltas too big for one byte.
 *
 * >= 3.11 location table (Objects/locations.md, codeobject.c advance()): a
 *   sequence of entries, each a header byte with bit 7 set (bits 3-6: code,
 *   bits 0-2: length - 1 in code units) followed by bytes with bit 7 clear.
 *   Line deltas: codes 0-9 (short form) and 10 add 0, 11 adds 1, 12 adds 2,
 *   13 (no columns) and 14 (long form) add a signed varint, 15 (no location)
 *   adds 0 and has no line. Varints are 6 bits per byte, little end first,
 *   bit 6 meaning "more"; a signed varint stores |v| << 1 with the sign in
 *   bit 0.
 */
#include <limits.h>
#include "cpython/linetable.h"

#define LOC_CODE_ONE_LINE1  11
#define LOC_CODE_ONE_LINE2  12
#define LOC_CODE_NO_COLUMNS 13
#define LOC_CODE_LONG	    14
#define LOC_CODE_NONE	    15

/* Longest varint accepted: 10 * 6 bits still fits a uint64_t. */
#define VARINT_MAX_BYTES 10

/* A running line outside int range cannot come from CPython (it keeps the
 * line in an int): the table is malformed. */
static int line_ok(int64_t line)
{
	return line >= INT_MIN && line <= INT_MAX;
}

/* Public result for a decoded line: negative lines are not representable. */
static int line_result(int64_t line)
{
	return line >= 0 && line <= INT_MAX ? (int)line : -1;
}

static int lnotab_line(const uint8_t *t, size_t len, int firstlineno,
		       uint64_t target)
{
	uint64_t addr = 0;
	int64_t line = firstlineno;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		addr += t[i];
		if (addr > target)
			break;
		line += (int8_t)t[i + 1];
		if (!line_ok(line))
			return -1;
	}
	return line_result(line);
}

static int linetable310_line(const uint8_t *t, size_t len, int firstlineno,
			     uint64_t target)
{
	uint64_t end = 0;
	int64_t line = firstlineno;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		int8_t ldelta = (int8_t)t[i + 1];

		end += t[i];
		if (ldelta != -128) {
			line += ldelta;
			if (!line_ok(line))
				return -1;
		}
		/* Entries are contiguous from 0, so target >= this start. */
		if (target < end)
			return ldelta == -128 ? -1 : line_result(line);
	}
	return -1;
}

/*
 * Signed varint in t[p, end) (end: the next entry header or the table end).
 * Returns 0 and sets *out, or -1 when it is truncated or too long.
 */
static int read_svarint(const uint8_t *t, size_t p, size_t end, int64_t *out)
{
	uint64_t val = 0;
	unsigned int shift = 0;
	int n;

	for (n = 0; n < VARINT_MAX_BYTES && p < end; n++, p++, shift += 6) {
		val |= (uint64_t)(t[p] & 63) << shift;
		if (!(t[p] & 64)) {
			*out = val & 1 ? -(int64_t)(val >> 1)
				       : (int64_t)(val >> 1);
			return 0;
		}
	}
	return -1;
}

static int location_line(const uint8_t *t, size_t len, int firstlineno,
			 uint64_t target)
{
	uint64_t end = 0;
	int64_t line = firstlineno;
	size_t p = 0;

	while (p < len) {
		uint8_t h = t[p];
		int code = (h >> 3) & 15;
		int64_t delta = 0;
		size_t next = p + 1;

		if (!(h & 0x80))
			return -1;
		while (next < len && !(t[next] & 0x80))
			next++;

		switch (code) {
		case LOC_CODE_ONE_LINE1:
			delta = 1;
			break;
		case LOC_CODE_ONE_LINE2:
			delta = 2;
			break;
		case LOC_CODE_NO_COLUMNS:
		case LOC_CODE_LONG:
			if (read_svarint(t, p + 1, next, &delta))
				return -1;
			break;
		default: /* short forms, one-line form 0, no location */
			break;
		}
		line += delta;
		if (!line_ok(line))
			return -1;

		end += (h & 7) + 1;
		if (target < end)
			return code == LOC_CODE_NONE ? -1 : line_result(line);
		p = next;
	}
	return -1;
}

int linetable__line(enum py_linetable_format fmt, const uint8_t *table,
		    size_t len, int firstlineno, uint32_t offset_units)
{
	if (!table)
		len = 0;

	switch (fmt) {
	case PY_LINETABLE_LNOTAB:
		return lnotab_line(table, len, firstlineno,
				   (uint64_t)offset_units * 2);
	case PY_LINETABLE_310:
		return linetable310_line(table, len, firstlineno,
					 (uint64_t)offset_units * 2);
	case PY_LINETABLE_LOCATION:
		return location_line(table, len, firstlineno, offset_units);
	}
	return -1;
}
