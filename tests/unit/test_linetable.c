// SPDX-License-Identifier: BSD-2-Clause
/*
 * Line-table decoders against ground truth from real interpreters
 * (linetable_fixtures.h, see scripts/gen-linetable-fixtures.py) and against
 * malformed tables. Every table is handed to the decoder in a heap buffer of
 * exactly its length, so that a sanitizer build catches any overread.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cpython/linetable.h"
#include "linetable_fixtures.h"

/* Decode from an exact-size heap copy of `table`. */
static int line_of(enum py_linetable_format fmt, const uint8_t *table,
		   size_t len, int firstlineno, uint32_t off)
{
	uint8_t *copy = malloc(len ? len : 1);
	int line;

	assert_non_null(copy);
	if (len)
		memcpy(copy, table, len);
	line = linetable__line(fmt, copy, len, firstlineno, off);
	free(copy);
	return line;
}

static void test_fixtures(void **state)
{
	size_t i, r, checked = 0;
	int formats[3] = {0};

	(void)state;
	for (i = 0; i < LT_NFIXTURES; i++) {
		const struct lt_fixture *fx = &lt_fixtures[i];
		uint8_t *copy = malloc(fx->len ? fx->len : 1);

		assert_non_null(copy);
		if (fx->len)
			memcpy(copy, fx->table, fx->len);
		formats[fx->fmt]++;
		for (r = 0; r < fx->nranges; r++) {
			const struct lt_fixture_range *rg = &fx->ranges[r];
			uint32_t u;

			for (u = rg->start; u < rg->end; u++) {
				int got =
					linetable__line(fx->fmt, copy, fx->len,
							fx->firstlineno, u);

				if (got != rg->line)
					fail_msg(
						"python %s %s unit %u: got %d, "
						"want %d",
						fx->python, fx->name, u, got,
						rg->line);
				checked++;
			}
		}
		free(copy);
	}
	print_message("%zu fixtures, %zu offsets checked\n",
		      (size_t)LT_NFIXTURES, checked);
	assert_true(formats[PY_LINETABLE_LNOTAB] > 0);
	assert_true(formats[PY_LINETABLE_310] > 0);
	assert_true(formats[PY_LINETABLE_LOCATION] > 0);
}

/*
 * Every prefix of every real table (a short copy out of the target): the
 * decoder must stay in bounds and return -1 or a line; on 3.10+ the line is
 * the one the whole table gives (a prefix loses entries, never changes them).
 */
static void test_fixture_prefixes(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < LT_NFIXTURES; i++) {
		const struct lt_fixture *fx = &lt_fixtures[i];
		uint32_t last = fx->ranges[fx->nranges - 1].end;

		for (k = 0; k < fx->len; k++) {
			uint32_t u;

			for (u = 0; u <= last; u += 1 + last / 16) {
				int got = line_of(fx->fmt, fx->table, k,
						  fx->firstlineno, u);
				int full = linetable__line(fx->fmt, fx->table,
							   fx->len,
							   fx->firstlineno, u);

				assert_true(got >= -1);
				if (fx->fmt != PY_LINETABLE_LNOTAB && got != -1)
					assert_int_equal(got, full);
			}
		}
	}
}

static void test_empty(void **state)
{
	static const uint8_t one = 0x80;

	(void)state;
	/* NULL table, and a non-NULL table of length 0. */
	assert_int_equal(linetable__line(PY_LINETABLE_LNOTAB, NULL, 0, 7, 0),
			 7);
	assert_int_equal(linetable__line(PY_LINETABLE_LNOTAB, &one, 0, 7, 3),
			 7);
	assert_int_equal(linetable__line(PY_LINETABLE_310, NULL, 0, 7, 0), -1);
	assert_int_equal(linetable__line(PY_LINETABLE_310, &one, 0, 7, 0), -1);
	assert_int_equal(linetable__line(PY_LINETABLE_LOCATION, NULL, 0, 7, 0),
			 -1);
	assert_int_equal(linetable__line(PY_LINETABLE_LOCATION, &one, 0, 7, 0),
			 -1);
	/* A NULL table with a bogus length is treated as empty. */
	assert_int_equal(linetable__line(PY_LINETABLE_LOCATION, NULL, 99, 7, 0),
			 -1);
	assert_int_equal(line_of((enum py_linetable_format)42, &one, 1, 7, 0),
			 -1);
}

static void test_lnotab(void **state)
{
	/* +2 lines at byte 0, +1 at 6, -3 at 10 (signed), +300 via splits. */
	static const uint8_t t[] = {
		0, 2, 6,   1, 4,   0xfd, 255, 0, 1,
		0, 0, 127, 0, 127, 2,	 46,  9 /* odd tail */};

	(void)state;
	assert_int_equal(line_of(PY_LINETABLE_LNOTAB, t, sizeof(t), 10, 0), 12);
	assert_int_equal(line_of(PY_LINETABLE_LNOTAB, t, sizeof(t), 10, 2), 12);
	assert_int_equal(line_of(PY_LINETABLE_LNOTAB, t, sizeof(t), 10, 3), 13);
	assert_int_equal(line_of(PY_LINETABLE_LNOTAB, t, sizeof(t), 10, 5), 10);
	assert_int_equal(line_of(PY_LINETABLE_LNOTAB, t, sizeof(t), 10, 132),
			 10);
	/* byte 266: 255 + 1 + 254 more lines, then +46 at byte 268. */
	assert_int_equal(line_of(PY_LINETABLE_LNOTAB, t, sizeof(t), 10, 133),
			 264);
	assert_int_equal(line_of(PY_LINETABLE_LNOTAB, t, sizeof(t), 10, 134),
			 310);
	/* Past the end: the last line, as CPython's PyCode_Addr2Line. */
	assert_int_equal(
		line_of(PY_LINETABLE_LNOTAB, t, sizeof(t), 10, UINT32_MAX),
		310);
	/* Negative lines are not lines. */
	assert_int_equal(line_of(PY_LINETABLE_LNOTAB, t, sizeof(t), -5, 0), -1);
}

static void test_310(void **state)
{
	/* [0,4) +1, [4,6) no line, [6,6) +127, [6,10) +3, [10,12) -1 */
	static const uint8_t t[] = {4, 1, 2, 0x80, 0, 127, 4, 3, 2, 0xff};

	(void)state;
	assert_int_equal(line_of(PY_LINETABLE_310, t, sizeof(t), 1, 0), 2);
	assert_int_equal(line_of(PY_LINETABLE_310, t, sizeof(t), 1, 1), 2);
	assert_int_equal(line_of(PY_LINETABLE_310, t, sizeof(t), 1, 2), -1);
	assert_int_equal(line_of(PY_LINETABLE_310, t, sizeof(t), 1, 3), 132);
	assert_int_equal(line_of(PY_LINETABLE_310, t, sizeof(t), 1, 4), 132);
	assert_int_equal(line_of(PY_LINETABLE_310, t, sizeof(t), 1, 5), 131);
	assert_int_equal(line_of(PY_LINETABLE_310, t, sizeof(t), 1, 6), -1);
	assert_int_equal(line_of(PY_LINETABLE_310, t, sizeof(t), 1, UINT32_MAX),
			 -1);
	/* Odd length: the partial pair is ignored. */
	assert_int_equal(line_of(PY_LINETABLE_310, t, 3, 1, 1), 2);
	assert_int_equal(line_of(PY_LINETABLE_310, t, 3, 1, 2), -1);
}

/* Header byte of a location entry: code, length in code units (1..8). */
#define LOC(code, units) ((uint8_t)(0x80 | (code) << 3 | ((units)-1)))

static void test_location_codes(void **state)
{
	static const uint8_t t[] = {
		LOC(13, 1), 0x04,		 /* +2: line 12, unit 0 */
		LOC(0, 2),  0x05,		 /* short form: 12, units 1-2 */
		LOC(9, 1),  0x3f,		 /* short form: 12, unit 3 */
		LOC(10, 1), 1,	  2,		 /* one line +0: 12, unit 4 */
		LOC(11, 1), 1,	  2,		 /* one line +1: 13, unit 5 */
		LOC(12, 1), 1,	  2,		 /* one line +2: 15, unit 6 */
		LOC(15, 3),			 /* none: -1, units 7-9 */
		LOC(14, 1), 0x45, 0x09, 0, 1, 2, /* long -(2 | 9 << 5)/2 */
		LOC(14, 8), 0x40, 0x09, 0, 1, 2, /* long +(9 << 6)/2 */
		LOC(13, 1), 0x00,		 /* +0 */
	};

	(void)state;
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 10, 0),
			 12);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 10, 2),
			 12);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 10, 3),
			 12);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 10, 4),
			 12);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 10, 5),
			 13);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 10, 6),
			 15);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 10, 7),
			 -1);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 10, 9),
			 -1);
	/* varint 0x45 0x09 = 5 | 9 << 6 = 581: odd, so -(581 >> 1) = -290 */
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 300, 10),
			 15);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 10, 10),
			 -1);
	/* varint 0x40 0x09 = 576: +288 */
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 300, 11),
			 303);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 300, 18),
			 303);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 300, 19),
			 303);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 300, 20),
			 -1);
	assert_int_equal(
		line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 300, UINT32_MAX),
		-1);
}

static void test_location_malformed(void **state)
{
	/* Varint cut by the end of the table, or by the next entry. */
	static const uint8_t cut_end[] = {LOC(13, 1), 0x41};
	static const uint8_t cut_next[] = {LOC(13, 1), 0x41, LOC(0, 1), 0};
	static const uint8_t no_varint[] = {LOC(14, 1)};
	/* First byte is not an entry header. */
	static const uint8_t no_header[] = {0x10, LOC(0, 1), 0};
	/* 11 continuation bytes: longer than any real varint. */
	static const uint8_t too_long[] = {LOC(13, 1), 0x40, 0x40, 0x40, 0x40,
					   0x40,       0x40, 0x40, 0x40, 0x40,
					   0x40,       0x40, 0x00};
	/* Deltas taking the line out of int range: 2^56 up, 2^56 down. */
	static const uint8_t huge_up[] = {LOC(13, 1), 0x40, 0x40, 0x40,
					  0x40,	      0x40, 0x40, 0x40,
					  0x40,	      0x40, 0x08};
	static const uint8_t huge_down[] = {LOC(13, 1), 0x41, 0x40, 0x40,
					    0x40,	0x40, 0x40, 0x40,
					    0x40,	0x40, 0x08};
	/* +2^31 - 2, +1: exactly INT_MAX, then one more is out of range. */
	static const uint8_t to_max[] = {
		LOC(13, 1), 0x7c, 0x7f, 0x7f,	    0x7f, 0x7f, 0x03,
		LOC(11, 1), 0,	  0,	LOC(11, 1), 0,	  0};
	static const uint8_t ok_then_cut[] = {LOC(11, 1), 0, 0, LOC(13, 1),
					      0x41};

	(void)state;
	assert_int_equal(
		line_of(PY_LINETABLE_LOCATION, cut_end, sizeof(cut_end), 1, 0),
		-1);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, cut_next,
				 sizeof(cut_next), 1, 0),
			 -1);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, cut_next,
				 sizeof(cut_next), 1, 1),
			 -1);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, no_varint,
				 sizeof(no_varint), 1, 0),
			 -1);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, no_header,
				 sizeof(no_header), 1, 0),
			 -1);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, too_long,
				 sizeof(too_long), 1, 0),
			 -1);
	assert_int_equal(
		line_of(PY_LINETABLE_LOCATION, huge_up, sizeof(huge_up), 1, 0),
		-1);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, huge_down,
				 sizeof(huge_down), 1, 0),
			 -1);
	/* 0x7c 0x7f 0x7f 0x7f 0x7f 0x03 = 2^32 - 4, even: +2^31 - 2 */
	assert_int_equal(
		line_of(PY_LINETABLE_LOCATION, to_max, sizeof(to_max), 0, 0),
		INT_MAX - 1);
	assert_int_equal(
		line_of(PY_LINETABLE_LOCATION, to_max, sizeof(to_max), 0, 1),
		INT_MAX);
	assert_int_equal(
		line_of(PY_LINETABLE_LOCATION, to_max, sizeof(to_max), 0, 2),
		-1);
	/* Entries before a cut varint still decode. */
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, ok_then_cut,
				 sizeof(ok_then_cut), 1, 0),
			 2);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, ok_then_cut,
				 sizeof(ok_then_cut), 1, 1),
			 -1);
}

static void test_all_ff(void **state)
{
	uint8_t t[4096];

	(void)state;
	memset(t, 0xff, sizeof(t));
	/* lnotab: (255 bytes, -1 line) pairs. */
	assert_int_equal(line_of(PY_LINETABLE_LNOTAB, t, sizeof(t), 100, 0),
			 100);
	assert_int_equal(line_of(PY_LINETABLE_LNOTAB, t, sizeof(t), 100, 200),
			 99);
	assert_int_equal(
		line_of(PY_LINETABLE_LNOTAB, t, sizeof(t), 10000, UINT32_MAX),
		10000 - 2048);
	/* Lines below 0 are not lines. */
	assert_int_equal(
		line_of(PY_LINETABLE_LNOTAB, t, sizeof(t), 100, UINT32_MAX),
		-1);
	/* 3.10: (255 bytes, -1 line) ranges; byte 40000 is in the 157th. */
	assert_int_equal(line_of(PY_LINETABLE_310, t, sizeof(t), 100, 0), 99);
	assert_int_equal(line_of(PY_LINETABLE_310, t, sizeof(t), 100, 128), 98);
	assert_int_equal(line_of(PY_LINETABLE_310, t, sizeof(t), 10000, 20000),
			 10000 - 157);
	assert_int_equal(
		line_of(PY_LINETABLE_310, t, sizeof(t), 10000, UINT32_MAX), -1);
	/* Location table: every byte a no-location entry of 8 units. */
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 100, 0),
			 -1);
	assert_int_equal(
		line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 100, 4096 * 8),
		-1);
}

/* 0x7f bytes: an endless (truncated) varint after one header. */
static void test_all_7f(void **state)
{
	uint8_t t[1024];

	(void)state;
	memset(t, 0x7f, sizeof(t));
	t[0] = LOC(13, 1);
	assert_int_equal(line_of(PY_LINETABLE_LOCATION, t, sizeof(t), 1, 0),
			 -1);
	assert_int_equal(line_of(PY_LINETABLE_310, t, sizeof(t), 1, 0), 128);
}

/* Deterministic random tables: in bounds, and a result >= -1. */
static void test_random(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int iter;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		uint8_t t[64];
		size_t len, i;
		int got;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		len = x % (sizeof(t) + 1);
		for (i = 0; i < len; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			t[i] = (uint8_t)x;
		}
		got = line_of((enum py_linetable_format)(iter % 3), t, len,
			      (int)(x >> 40) - (1 << 20),
			      (uint32_t)(x >> 8) % 300);
		assert_true(got >= -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_fixture_prefixes),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_lnotab),
		cmocka_unit_test(test_310),
		cmocka_unit_test(test_location_codes),
		cmocka_unit_test(test_location_malformed),
		cmocka_unit_test(test_all_ff),
		cmocka_unit_test(test_all_7f),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
