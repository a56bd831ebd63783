// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for user/cpython/pysym.c: reading str objects and symbolizing code
 * objects out of a target's memory. The target is this process
 * (pid = getpid()): fake PyASCIIObject / PyCompactUnicodeObject / PyBytesObject
 * / PyCodeObject images are laid out in local buffers with the offsets of
 * real versions from the offsets table. Buffers that must end where readable
 * memory ends are placed right before a PROT_NONE guard page, so reading one
 * byte too many fails instead of silently succeeding.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "cpython/py_offsets.h"
#include "cpython/pyproc.h"
#include "cpython/pysym.h"

/* Versions whose string/code layouts differ (3.9-3.11 vs 3.12+). */
static const int minors[] = {9, 11, 12, 14};
#define NR_MINORS (sizeof(minors) / sizeof(minors[0]))

#define OUT_LEN (PYSYM_MAX_STR * 4 + 1) /* what pysym__resolve uses */
#define ARENA	65536

/* PyASCIIObject.state: interned:2, kind:3, compact:1, ascii:1. */
#define STATE(kind, compact, ascii)                                            \
	((uint32_t)(kind) << 2 | (uint32_t)(compact) << 5 |                    \
	 (uint32_t)(ascii) << 6)

static uint8_t arena[ARENA] __attribute__((aligned(16)));
static uint8_t *guard_base; /* two pages: read-write, then PROT_NONE */
static size_t page_size;

static struct pyproc pp_for(int minor)
{
	const struct py_version_info *vi = py_version_info__find(3, minor);
	struct pyproc pp;

	assert_non_null(vi);
	memset(&pp, 0, sizeof(pp));
	pp.pid = getpid();
	pp.major = 3;
	pp.minor = minor;
	pp.info.code = vi->code;
	return pp;
}

/*
 * Writes a str object image at obj: length, state and `nbytes` of character
 * data at the offset the ascii flag selects. Returns its address.
 */
static uint64_t put_str(const struct pyproc *pp, uint8_t *obj, uint64_t length,
			uint32_t state, const void *data, size_t nbytes)
{
	const struct py_code_offsets *c = &pp->info.code;
	int ascii = (state >> 6) & 1;

	memset(obj, 0xa5, ascii ? c->ascii_data : c->compact_data);
	memcpy(obj + c->unicode_length, &length, sizeof(length));
	memcpy(obj + c->unicode_state, &state, sizeof(state));
	if (nbytes)
		memcpy(obj + (ascii ? c->ascii_data : c->compact_data), data,
		       nbytes);
	return (uint64_t)(uintptr_t)obj;
}

/* Bytes a str image with `nbytes` of data occupies, header included. */
static size_t str_size(const struct pyproc *pp, int ascii, size_t nbytes)
{
	const struct py_code_offsets *c = &pp->info.code;

	return (ascii ? c->ascii_data : c->compact_data) + nbytes;
}

/* Reads into an exact-size heap buffer of len bytes (ASan sees overflows). */
static int read_str(const struct pyproc *pp, uint64_t addr, size_t len,
		    char *copy, size_t copy_len)
{
	char *buf = malloc(len);
	int err;

	assert_non_null(buf);
	memset(buf, 'Z', len);
	err = pysym__read_unicode(pp, addr, buf, len);
	if (len)
		assert_true(memchr(buf, 0, len) != NULL);
	if (copy) {
		assert_true(len <= copy_len);
		memcpy(copy, buf, len);
	}
	free(buf);
	return err;
}

static void expect_str(const struct pyproc *pp, uint64_t addr, const char *want)
{
	char out[OUT_LEN];
	int err = read_str(pp, addr, sizeof(out), out, sizeof(out));

	if (err)
		fail_msg("3.%d: error %d, want \"%s\"", pp->minor, err, want);
	if (strcmp(out, want))
		fail_msg("3.%d: got \"%s\", want \"%s\"", pp->minor, out, want);
}

static void expect_err(const struct pyproc *pp, uint64_t addr)
{
	char out[16];
	int err = read_str(pp, addr, sizeof(out), out, sizeof(out));

	if (err >= 0)
		fail_msg("3.%d: got 0 (\"%s\"), want an error", pp->minor, out);
	assert_string_equal(out, "");
}

static void test_ascii(void **state)
{
	(void)state;
	for (size_t v = 0; v < NR_MINORS; v++) {
		struct pyproc pp = pp_for(minors[v]);
		uint64_t a;

		a = put_str(&pp, arena, 11, STATE(1, 1, 1), "hello.world", 11);
		expect_str(&pp, a, "hello.world");
		a = put_str(&pp, arena, 0, STATE(1, 1, 1), NULL, 0);
		expect_str(&pp, a, "");
		/* Only `length` characters count, not what follows. */
		a = put_str(&pp, arena, 3, STATE(1, 1, 1), "abcdef", 6);
		expect_str(&pp, a, "abc");
	}
}

static void test_latin1(void **state)
{
	(void)state;
	for (size_t v = 0; v < NR_MINORS; v++) {
		struct pyproc pp = pp_for(minors[v]);
		uint64_t a;

		a = put_str(&pp, arena, 6, STATE(1, 1, 0), "caf\xe9\xff\x80",
			    6);
		expect_str(&pp, a, "caf\xc3\xa9\xc3\xbf\xc2\x80");
	}
}

static void test_ucs2(void **state)
{
	static const uint16_t s[] = {'x', 0x3a9, 0x20ac, 0xe9, 0xfffd};

	(void)state;
	for (size_t v = 0; v < NR_MINORS; v++) {
		struct pyproc pp = pp_for(minors[v]);
		uint64_t a;

		a = put_str(&pp, arena, 5, STATE(2, 1, 0), s, sizeof(s));
		expect_str(&pp, a, "x\xce\xa9\xe2\x82\xac\xc3\xa9\xef\xbf\xbd");
	}
}

static void test_ucs4(void **state)
{
	static const uint32_t s[] = {'A', 0x1f600, 0x10ffff, 0x3a9, 0x10000};

	(void)state;
	for (size_t v = 0; v < NR_MINORS; v++) {
		struct pyproc pp = pp_for(minors[v]);
		uint64_t a;

		a = put_str(&pp, arena, 5, STATE(4, 1, 0), s, sizeof(s));
		expect_str(&pp, a,
			   "A\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xce\xa9"
			   "\xf0\x90\x80\x80");
	}
}

static void test_embedded_nul(void **state)
{
	static const uint16_t s2[] = {'a', 0, 'b'};
	static const uint32_t s4[] = {'a', 0, 0x1f600};

	(void)state;
	for (size_t v = 0; v < NR_MINORS; v++) {
		struct pyproc pp = pp_for(minors[v]);
		uint64_t a;

		a = put_str(&pp, arena, 4, STATE(1, 1, 1), "a\0b\0", 4);
		expect_str(&pp, a, "a?b?");
		a = put_str(&pp, arena, 3, STATE(1, 1, 0), "\xe9\0b", 3);
		expect_str(&pp, a, "\xc3\xa9?b");
		a = put_str(&pp, arena, 3, STATE(2, 1, 0), s2, sizeof(s2));
		expect_str(&pp, a, "a?b");
		a = put_str(&pp, arena, 3, STATE(4, 1, 0), s4, sizeof(s4));
		expect_str(&pp, a, "a?\xf0\x9f\x98\x80");
	}
}

static void test_invalid_code_points(void **state)
{
	static const uint16_t s2[] = {0xd800, 'a', 0xdfff, 0xdbff, 0xdc00};
	static const uint32_t s4[] = {0xd83d,	  0x110000,   'b',
				      0xffffffff, 0x80000000, 0xdfff};

	(void)state;
	for (size_t v = 0; v < NR_MINORS; v++) {
		struct pyproc pp = pp_for(minors[v]);
		uint64_t a;

		a = put_str(&pp, arena, 5, STATE(2, 1, 0), s2, sizeof(s2));
		expect_str(&pp, a, "?a???");
		a = put_str(&pp, arena, 6, STATE(4, 1, 0), s4, sizeof(s4));
		expect_str(&pp, a, "??b???");
	}
}

/* Strings longer than PYSYM_MAX_STR are cut to that many characters. */
static void test_long_cut(void **state)
{
	uint32_t cps[PYSYM_MAX_STR + 100];
	char want[OUT_LEN], out[OUT_LEN];

	(void)state;
	for (size_t v = 0; v < NR_MINORS; v++) {
		struct pyproc pp = pp_for(minors[v]);
		size_t n = PYSYM_MAX_STR + 100;
		uint64_t a;
		uint8_t *data;

		/* ASCII: exactly PYSYM_MAX_STR characters come back. */
		data = malloc(n);
		assert_non_null(data);
		for (size_t i = 0; i < n; i++)
			data[i] = 'a' + i % 26;
		a = put_str(&pp, arena, n, STATE(1, 1, 1), data, n);
		assert_int_equal(
			read_str(&pp, a, sizeof(out), out, sizeof(out)), 0);
		assert_int_equal(strlen(out), PYSYM_MAX_STR);
		assert_memory_equal(out, data, PYSYM_MAX_STR);
		free(data);

		/* UCS-2 'é': PYSYM_MAX_STR two-byte sequences. */
		for (size_t i = 0; i < n; i++)
			((uint16_t *)cps)[i] = 0xe9;
		a = put_str(&pp, arena, n, STATE(2, 1, 0), cps, n * 2);
		assert_int_equal(
			read_str(&pp, a, sizeof(out), out, sizeof(out)), 0);
		assert_int_equal(strlen(out), 2 * PYSYM_MAX_STR);

		/*
		 * UCS-4 emoji: the worst case for the output buffer. At
		 * most PYSYM_MAX_STR whole 4-byte sequences, never a split
		 * one.
		 */
		for (size_t i = 0; i < n; i++)
			cps[i] = 0x1f600;
		a = put_str(&pp, arena, n, STATE(4, 1, 0), cps, n * 4);
		assert_int_equal(
			read_str(&pp, a, sizeof(out), out, sizeof(out)), 0);
		for (size_t i = 0; i < PYSYM_MAX_STR; i++)
			memcpy(want + 4 * i, "\xf0\x9f\x98\x80", 4);
		assert_true(strlen(out) % 4 == 0);
		assert_true(strlen(out) >= 4 * (PYSYM_MAX_STR - 1));
		assert_true(strlen(out) <= 4 * PYSYM_MAX_STR);
		assert_memory_equal(out, want, strlen(out));
	}
}

/*
 * A str claiming 1 << 62 (or -1 as Py_ssize_t) characters: at most
 * PYSYM_MAX_STR are read. With that much readable the result is cut; when
 * readable memory ends after a few characters, the read fails cleanly.
 */
static void test_absurd_length(void **state)
{
	static const uint64_t lengths[] = {1ull << 62, UINT64_MAX,
					   (uint64_t)INT64_MAX + 1};
	char out[OUT_LEN];

	(void)state;
	for (size_t v = 0; v < NR_MINORS; v++) {
		struct pyproc pp = pp_for(minors[v]);

		for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]);
		     l++) {
			static const unsigned kinds[] = {1, 2, 4};

			for (size_t k = 0; k < 3; k++) {
				unsigned kind = kinds[k];
				int ascii = kind == 1 && l == 0;
				size_t nbytes = PYSYM_MAX_STR * 4 + 64;
				uint8_t *obj, *data = malloc(nbytes);
				uint64_t a;

				assert_non_null(data);
				memset(data, 'q', nbytes); /* 'q' in any kind */
				for (size_t i = 0; kind > 1 && i < nbytes; i++)
					data[i] = i % kind ? 0 : 'q';
				a = put_str(&pp, arena, lengths[l],
					    STATE(kind, 1, ascii), data,
					    nbytes);
				assert_int_equal(read_str(&pp, a, sizeof(out),
							  out, sizeof(out)),
						 0);
				assert_int_equal(strlen(out), PYSYM_MAX_STR);
				assert_int_equal(strspn(out, "q"),
						 PYSYM_MAX_STR);

				/* 8 data bytes, then the guard page. */
				obj = guard_base + page_size -
				      str_size(&pp, ascii, 8);
				a = put_str(&pp, obj, lengths[l],
					    STATE(kind, 1, ascii), data, 8);
				expect_err(&pp, a);
				free(data);
			}
		}
	}
}

static void test_bad_state(void **state)
{
	static const unsigned bad_kinds[] = {0, 3, 5, 6, 7};

	(void)state;
	for (size_t v = 0; v < NR_MINORS; v++) {
		struct pyproc pp = pp_for(minors[v]);

		/* Not compact: data lives behind a pointer we never follow. */
		for (unsigned kind = 1; kind <= 4; kind <<= 1)
			for (int ascii = 0; ascii <= 1; ascii++)
				expect_err(&pp, put_str(&pp, arena, 3,
							STATE(kind, 0, ascii),
							"abcdefgh", 8));
		for (size_t k = 0; k < sizeof(bad_kinds) / sizeof(*bad_kinds);
		     k++) {
			expect_err(&pp, put_str(&pp, arena, 3,
						STATE(bad_kinds[k], 1, 0),
						"abc", 3));
			expect_err(&pp, put_str(&pp, arena, 3,
						STATE(bad_kinds[k], 1, 1),
						"abc", 3));
		}
		/* Every state bit set: kind 7. */
		expect_err(&pp,
			   put_str(&pp, arena, 3, UINT32_MAX, "abcdefgh", 8));
	}
}

static void test_bad_address(void **state)
{
	void *page;

	(void)state;
	page = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);
	assert_int_equal(munmap(page, page_size), 0);
	for (size_t v = 0; v < NR_MINORS; v++) {
		struct pyproc pp = pp_for(minors[v]);

		expect_err(&pp, 0);
		expect_err(&pp, (uint64_t)(uintptr_t)page);
		expect_err(&pp, (uint64_t)(uintptr_t)page + 4000);
		expect_err(&pp, (uint64_t)(uintptr_t)(guard_base + page_size));
		/* Header straddles the guard page. */
		expect_err(&pp,
			   (uint64_t)(uintptr_t)(guard_base + page_size - 8));
		expect_err(&pp, UINT64_MAX - 8);
		expect_err(&pp, 1ull << 63);
	}
}

/* A string whose compact data ends exactly where readable memory ends. */
static void test_ends_at_guard(void **state)
{
	static const uint32_t s4[] = {0x1f600, 'z'};

	(void)state;
	for (size_t v = 0; v < NR_MINORS; v++) {
		struct pyproc pp = pp_for(minors[v]);
		uint8_t *obj;

		obj = guard_base + page_size - str_size(&pp, 0, sizeof(s4));
		expect_str(&pp,
			   put_str(&pp, obj, 2, STATE(4, 1, 0), s4, sizeof(s4)),
			   "\xf0\x9f\x98\x80z");
		/* One character too many claimed: error, not an overread. */
		obj = guard_base + page_size - str_size(&pp, 0, 4);
		expect_err(&pp, put_str(&pp, obj, 2, STATE(4, 1, 0), s4, 4));
	}
}

/*
 * Tiny output buffers: always NUL-terminated, never overflowed (exact-size
 * heap buffers), and a prefix of the full result cut at a character
 * boundary.
 */
static void test_tiny_output(void **state)
{
	static const uint16_t s2[] = {0x3a9, 'a', 0x20ac};
	static const uint32_t s4[] = {0x1f600, 'a', 0x1f600};
	static const size_t lens[] = {1, 2, 3, 4, 5, 6, 7};
	char out[16];

	(void)state;
	for (size_t v = 0; v < NR_MINORS; v++) {
		struct pyproc pp = pp_for(minors[v]);
		struct {
			uint64_t addr;
			const char *full;
		} cases[4];
		uint8_t *objs = arena;

		cases[0].addr =
			put_str(&pp, objs, 5, STATE(1, 1, 1), "abcde", 5);
		cases[0].full = "abcde";
		objs += 256;
		cases[1].addr = put_str(&pp, objs, 3, STATE(1, 1, 0),
					"\xe9\xe9\xe9", 3);
		cases[1].full = "\xc3\xa9\xc3\xa9\xc3\xa9";
		objs += 256;
		cases[2].addr =
			put_str(&pp, objs, 3, STATE(2, 1, 0), s2, sizeof(s2));
		cases[2].full = "\xce\xa9"
				"a\xe2\x82\xac";
		objs += 256;
		cases[3].addr =
			put_str(&pp, objs, 3, STATE(4, 1, 0), s4, sizeof(s4));
		cases[3].full = "\xf0\x9f\x98\x80"
				"a\xf0\x9f\x98\x80";

		for (size_t c = 0; c < 4; c++) {
			expect_str(&pp, cases[c].addr, cases[c].full);
			for (size_t l = 0; l < sizeof(lens) / sizeof(*lens);
			     l++) {
				size_t n;

				assert_int_equal(read_str(&pp, cases[c].addr,
							  lens[l], out,
							  sizeof(out)),
						 0);
				n = strlen(out);
				assert_true(n < lens[l]);
				assert_memory_equal(out, cases[c].full, n);
				/* Cut between characters, not inside one. */
				assert_true((cases[c].full[n] & 0xc0) != 0x80);
			}
		}
		/* len 0: refused, nothing written. */
		assert_int_equal(
			pysym__read_unicode(&pp, cases[0].addr, out, 0),
			-EINVAL);
	}
}

/*
 * f(a) from 3.11.7 (firstlineno 1):
 *   def f(a):
 *       x = a + 1
 *       y = x * 2
 *       return y
 * co_lines(): bytes [0,2) line 1, [2,12) 2, [12,22) 3, [22,26) 4.
 */
static const uint8_t lt311[] = {128, 0,	 216, 8,  9,  136, 65, 137, 5,
				128, 65, 216, 8,  9,  136, 65, 137, 5,
				128, 65, 216, 11, 12, 128, 72};
/* The same f from 3.9.18: co_lnotab; bytes [0,8) 2, [8,16) 3, [16,20) 4. */
static const uint8_t lnotab39[] = {0, 1, 8, 1, 8, 1};

struct fake_code {
	struct pyproc pp;
	uint8_t *code;	/* the code object image */
	uint8_t *table; /* the bytes object image */
	uint64_t name_addr, file_addr;
};

static void put_u64(uint8_t *p, uint16_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

/* Lays out name, file, line table and a code object pointing at them. */
static void fake_code_init(struct fake_code *fc, int minor,
			   const uint8_t *table, int64_t table_size,
			   size_t table_bytes)
{
	const struct py_version_info *vi = py_version_info__find(3, minor);
	const struct py_code_offsets *c;
	int32_t first = 1;

	assert_non_null(vi);
	memset(fc, 0, sizeof(*fc));
	memset(arena, 0, sizeof(arena));
	fc->pp.pid = getpid();
	fc->pp.major = 3;
	fc->pp.minor = minor;
	fc->pp.info = *vi;
	c = &fc->pp.info.code;

	fc->code = arena;
	fc->table = arena + 1024;
	fc->name_addr =
		put_str(&fc->pp, arena + 2048, 7, STATE(1, 1, 1), "Outer.f", 7);
	fc->file_addr = put_str(&fc->pp, arena + 3072, 9, STATE(1, 1, 0),
				"caf\xe9/m.py", 9);

	put_u64(fc->table, c->bytes_size, (uint64_t)table_size);
	memcpy(fc->table + c->bytes_data, table, table_bytes);

	memset(fc->code, 0x5a, 1024);
	put_u64(fc->code,
		c->co_qualname != OFF_NONE ? c->co_qualname : c->co_name,
		fc->name_addr);
	put_u64(fc->code, c->co_filename, fc->file_addr);
	put_u64(fc->code, c->co_linetable, (uint64_t)(uintptr_t)fc->table);
	memcpy(fc->code + c->co_firstlineno, &first, sizeof(first));
}

/* The frame's instruction value for a code unit, as the BPF side sends it. */
static uint64_t instr_of(const struct fake_code *fc, int64_t unit)
{
	if (fc->pp.info.walk.instr_size == 8)
		return (uint64_t)(uintptr_t)fc->code +
		       fc->pp.info.code.co_code_adaptive + 2 * unit;
	/* f_lasti: bytes on 3.9, code units after. */
	return (uint64_t)(fc->pp.info.lasti_bytes ? 2 * unit : unit);
}

static int line_at(struct pysym *ps, const struct fake_code *fc, int64_t unit)
{
	struct pysym_frame fr;

	assert_int_equal(pysym__resolve(ps, (uint64_t)(uintptr_t)fc->code,
					instr_of(fc, unit), &fr),
			 0);
	assert_string_equal(fr.name, "Outer.f");
	assert_string_equal(fr.file, "caf\xc3\xa9/m.py");
	assert_int_equal(fr.firstlineno, 1);
	return fr.line;
}

static void test_resolve(void **state)
{
	static const int want311[] = {1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4};
	static const int want39[] = {2, 2, 2, 2, 3, 3, 3, 3, 4, 4};
	static const int loc_minors[] = {11, 12, 14};

	(void)state;
	for (size_t v = 0; v < 3; v++) {
		struct fake_code fc;
		struct pysym *ps;

		fake_code_init(&fc, loc_minors[v], lt311, sizeof(lt311),
			       sizeof(lt311));
		ps = pysym__new(&fc.pp);
		assert_non_null(ps);
		for (int u = 0; u < 13; u++)
			assert_int_equal(line_at(ps, &fc, u), want311[u]);
		assert_int_equal(line_at(ps, &fc, 13), -1); /* past the end */
		assert_int_equal(line_at(ps, &fc, 100000), -1);
		/* Not started yet (before the bytecode): the first line. */
		assert_int_equal(line_at(ps, &fc, -1), 1);
		pysym__free(ps);
	}

	{
		struct fake_code fc;
		struct pysym *ps;

		fake_code_init(&fc, 9, lnotab39, sizeof(lnotab39),
			       sizeof(lnotab39));
		ps = pysym__new(&fc.pp);
		assert_non_null(ps);
		for (int u = 0; u < 10; u++)
			assert_int_equal(line_at(ps, &fc, u), want39[u]);
		assert_int_equal(line_at(ps, &fc, -1), 1); /* f_lasti -1 */
		pysym__free(ps);
	}
}

/* A cached entry is re-read when its identity fields change. */
static void test_resolve_cache(void **state)
{
	struct pysym_frame fr;
	struct fake_code fc;
	struct pysym *ps;
	uint64_t code, other;

	(void)state;
	fake_code_init(&fc, 11, lt311, sizeof(lt311), sizeof(lt311));
	code = (uint64_t)(uintptr_t)fc.code;
	ps = pysym__new(&fc.pp);
	assert_non_null(ps);
	assert_int_equal(pysym__resolve(ps, code, instr_of(&fc, 7), &fr), 0);
	assert_string_equal(fr.name, "Outer.f");
	assert_int_equal(fr.line, 3);

	other = put_str(&fc.pp, arena + 4096, 5, STATE(1, 1, 1), "g.<h>", 5);
	put_u64(fc.code, fc.pp.info.code.co_qualname, other);
	/* Same generation: the cached answer stands. */
	assert_int_equal(pysym__resolve(ps, code, instr_of(&fc, 7), &fr), 0);
	assert_string_equal(fr.name, "Outer.f");
	pysym__next_gen(ps);
	assert_int_equal(pysym__resolve(ps, code, instr_of(&fc, 7), &fr), 0);
	assert_string_equal(fr.name, "g.<h>");
	assert_string_equal(fr.file, "caf\xc3\xa9/m.py");
	pysym__free(ps);
}

/*
 * An unreadable table gives line -1 from 3.10 on. On 3.9 the empty lnotab it
 * is replaced with decodes, as in CPython, to co_firstlineno: accepted too.
 */
static void expect_no_line(struct pysym *ps, const struct fake_code *fc,
			   int64_t unit)
{
	int line = line_at(ps, fc, unit);

	if (line != -1 && !(fc->pp.minor == 9 && line == 1))
		fail_msg("3.%d: line %d for an unreadable table", fc->pp.minor,
			 line);
}

/* Hostile line tables cost the line number, nothing else. */
static void test_resolve_hostile_table(void **state)
{
	static const int64_t sizes[] = {-1, INT64_MIN, PYSYM_MAX_LINETABLE + 1,
					INT64_MAX, (int64_t)1 << 40};
	static const int hostile_minors[] = {9, 11, 14};

	(void)state;
	for (size_t v = 0; v < 3; v++) {
		int minor = hostile_minors[v];
		const uint8_t *t = minor == 9 ? lnotab39 : lt311;
		size_t tl = minor == 9 ? sizeof(lnotab39) : sizeof(lt311);

		for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
			struct fake_code fc;
			struct pysym *ps;

			fake_code_init(&fc, minor, t, sizes[s], tl);
			ps = pysym__new(&fc.pp);
			assert_non_null(ps);
			expect_no_line(ps, &fc, 3);
			assert_int_equal(line_at(ps, &fc, -1), 1);
			pysym__free(ps);
		}

		/* Line table pointer 0, and unmapped (the guard page). */
		for (int bad = 0; bad < 2; bad++) {
			struct fake_code fc;
			struct pysym *ps;

			fake_code_init(&fc, minor, t, tl, tl);
			put_u64(fc.code, fc.pp.info.code.co_linetable,
				bad ? (uint64_t)(uintptr_t)(guard_base +
							    page_size)
				    : 0);
			ps = pysym__new(&fc.pp);
			assert_non_null(ps);
			expect_no_line(ps, &fc, 3);
			pysym__free(ps);
		}

		/* Size within the limit, but the data runs into the guard. */
		{
			const struct py_code_offsets *c;
			struct fake_code fc;
			struct pysym *ps;
			uint8_t *obj;

			fake_code_init(&fc, minor, t, tl, tl);
			c = &fc.pp.info.code;
			obj = guard_base + page_size - c->bytes_data - tl;
			memset(obj, 0, c->bytes_data);
			put_u64(obj, c->bytes_size, PYSYM_MAX_LINETABLE);
			memcpy(obj + c->bytes_data, t, tl);
			put_u64(fc.code, c->co_linetable,
				(uint64_t)(uintptr_t)obj);
			ps = pysym__new(&fc.pp);
			assert_non_null(ps);
			expect_no_line(ps, &fc, 3);
			pysym__free(ps);
		}
	}
}

/* Unreadable code objects or names: an error, never a crash. */
static void test_resolve_unreadable(void **state)
{
	struct pysym_frame fr;
	struct fake_code fc;
	struct pysym *ps;
	uint64_t code;

	(void)state;
	fake_code_init(&fc, 12, lt311, sizeof(lt311), sizeof(lt311));
	code = (uint64_t)(uintptr_t)fc.code;
	ps = pysym__new(&fc.pp);
	assert_non_null(ps);
	assert_true(pysym__resolve(ps, 0, 0, &fr) < 0);
	assert_true(pysym__resolve(
			    ps,
			    (uint64_t)(uintptr_t)(guard_base + page_size - 64),
			    0, &fr) < 0);

	put_u64(fc.code, fc.pp.info.code.co_qualname, 0);
	assert_true(pysym__resolve(ps, code, instr_of(&fc, 0), &fr) < 0);
	put_u64(fc.code, fc.pp.info.code.co_qualname, fc.name_addr);
	put_u64(fc.code, fc.pp.info.code.co_filename,
		(uint64_t)(uintptr_t)(guard_base + page_size));
	assert_true(pysym__resolve(ps, code, instr_of(&fc, 0), &fr) < 0);
	/* A name that is not a valid str: kind 3. */
	put_u64(fc.code, fc.pp.info.code.co_filename, fc.file_addr);
	put_str(&fc.pp, arena + 2048, 7, STATE(3, 1, 0), "Outer.f", 7);
	assert_true(pysym__resolve(ps, code, instr_of(&fc, 0), &fr) < 0);
	pysym__free(ps);
}

/* Type addresses the fake images carry when a test turns checking on. */
#define FAKE_CODE_TYPE	  0x7f0000c0de00ULL
#define FAKE_UNICODE_TYPE 0x7f00005717e0ULL

static void set_types(struct fake_code *fc)
{
	fc->pp.bpf.code.code_type = FAKE_CODE_TYPE;
	fc->pp.bpf.code.unicode_type = FAKE_UNICODE_TYPE;
	put_u64(fc->code, 8, FAKE_CODE_TYPE);
	put_u64((uint8_t *)(uintptr_t)fc->name_addr, 8, FAKE_UNICODE_TYPE);
	put_u64((uint8_t *)(uintptr_t)fc->file_addr, 8, FAKE_UNICODE_TYPE);
}

/*
 * Memory that is not a code object (the case: a freed code object's
 * memory now holding a str, a regex constant) is never read as one, and a
 * name that is not a str is not read as a name.
 */
static void test_resolve_type_checked(void **state)
{
	static const int type_minors[] = {9, 11, 14};

	(void)state;
	for (size_t v = 0; v < 3; v++) {
		struct pysym_frame fr;
		struct fake_code fc;
		struct pysym *ps;
		uint64_t code;

		fake_code_init(&fc, type_minors[v], lt311, sizeof(lt311),
			       sizeof(lt311));
		set_types(&fc);
		code = (uint64_t)(uintptr_t)fc.code;
		ps = pysym__new(&fc.pp);
		assert_non_null(ps);
		assert_int_equal(
			pysym__resolve(ps, code, instr_of(&fc, 0), &fr), 0);
		assert_string_equal(fr.name, "Outer.f");

		/* The same memory as a str: refused, not named. */
		put_u64(fc.code, 8, FAKE_UNICODE_TYPE);
		pysym__next_gen(ps);
		assert_true(pysym__resolve(ps, code, instr_of(&fc, 0), &fr) <
			    0);

		/* A code object whose name field points at a bytes object. */
		put_u64(fc.code, 8, FAKE_CODE_TYPE);
		put_u64((uint8_t *)(uintptr_t)fc.name_addr, 8, 0x1234);
		pysym__next_gen(ps);
		assert_true(pysym__resolve(ps, code, instr_of(&fc, 0), &fr) <
			    0);
		pysym__free(ps);
	}
}

/* A code_info as BPF sends it for fc's code object, with identity tag. */
static void fill_copy(const struct fake_code *fc, uint16_t tag,
		      struct code_info *ci, const char *name, const char *file)
{
	const struct py_code_offsets *c = &fc->pp.info.code;
	uint64_t code = (uint64_t)(uintptr_t)fc->code;

	memset(ci, 0, sizeof(*ci));
	ci->key = code | (uint64_t)tag << PYFRAME_TAG_SHIFT;
	ci->pid = fc->pp.pid;
	memcpy(&ci->name_ptr,
	       fc->code + (c->co_qualname != OFF_NONE ? c->co_qualname
						      : c->co_name),
	       8);
	memcpy(&ci->file_ptr, fc->code + c->co_filename, 8);
	memcpy(&ci->table_ptr, fc->code + c->co_linetable, 8);
	ci->firstlineno = 1;
	ci->name_kind = ci->file_kind = 1;
	ci->name_len = strlen(name);
	memcpy(ci->name, name, ci->name_len);
	ci->file_len = strlen(file);
	memcpy(ci->file, file, ci->file_len);
	ci->table_len = sizeof(lt311);
	memcpy(ci->table, lt311, sizeof(lt311));
}

/*
 * BPF's copy answers for a code object that is gone or whose address
 * holds another one now; the object in memory answers only when it is the
 * one copied. Either way the address is reported stale when it changed.
 */
static void test_resolve_copies(void **state)
{
	const uint64_t tag = 0x1234;
	struct pysym_frame fr;
	struct code_info ci;
	struct fake_code fc;
	struct pysym *ps;
	uint64_t code, key, stale[4], other;

	(void)state;
	fake_code_init(&fc, 11, lt311, sizeof(lt311), sizeof(lt311));
	set_types(&fc);
	code = (uint64_t)(uintptr_t)fc.code;
	key = code | tag << PYFRAME_TAG_SHIFT;
	ps = pysym__new(&fc.pp);
	assert_non_null(ps);

	/* The copy of the object in memory: same answer, nothing stale. */
	fill_copy(&fc, tag, &ci, "Outer.f", "caf\xe9/m.py");
	assert_int_equal(pysym__add_copy(ps, &ci), 0);
	assert_int_equal(
		pysym__resolve(ps, key | PYFRAME_ENTRY, instr_of(&fc, 7), &fr),
		0);
	assert_string_equal(fr.name, "Outer.f");
	assert_string_equal(fr.file, "caf\xc3\xa9/m.py");
	assert_int_equal(fr.line, 3);
	assert_int_equal(pysym__take_stale(ps, stale, 4), 0);

	/*
	 * Another code object took the address, its name at the same
	 * address as the old name (strings are reused too): the copy.
	 */
	other = put_str(&fc.pp, (uint8_t *)(uintptr_t)fc.name_addr, 7,
			STATE(1, 1, 1), "fn_9999", 7);
	put_u64((uint8_t *)(uintptr_t)other, 8, FAKE_UNICODE_TYPE);
	pysym__next_gen(ps);
	assert_int_equal(pysym__resolve(ps, key, instr_of(&fc, 7), &fr), 0);
	assert_string_equal(fr.name, "Outer.f");
	assert_int_equal(fr.line, 3);
	assert_true(fr.copied);
	assert_int_equal(pysym__take_stale(ps, stale, 4), 1);
	assert_true(stale[0] == code);
	/* Untagged (BPF could not copy it): what is in memory now. */
	assert_int_equal(pysym__resolve(ps, code, instr_of(&fc, 7), &fr), 0);
	assert_string_equal(fr.name, "fn_9999");

	/* Freed, its memory a str now: still the copy. */
	put_u64(fc.code, 8, FAKE_UNICODE_TYPE);
	pysym__next_gen(ps);
	assert_int_equal(pysym__resolve(ps, key, instr_of(&fc, 2), &fr), 0);
	assert_string_equal(fr.name, "Outer.f");
	assert_int_equal(fr.line, 2);
	assert_true(pysym__resolve(ps, code, instr_of(&fc, 2), &fr) < 0);
	/* Another tag at the same address, never copied: not named. */
	assert_true(pysym__resolve(ps, code | 0x4321ULL << PYFRAME_TAG_SHIFT,
				   instr_of(&fc, 2), &fr) < 0);
	pysym__free(ps);
}

/*
 * A copy cut by BPF's bounds is completed from memory only while memory
 * holds the object copied; otherwise the cut copy is shown, marked "...".
 * Wide strings are decoded from their raw characters.
 */
static void test_resolve_cut_copy(void **state)
{
	static const uint16_t omega[] = {0x3a9, 'x'};
	const uint64_t tag = 7;
	struct pysym_frame fr;
	struct code_info ci;
	struct fake_code fc;
	struct pysym *ps;
	uint64_t key;

	(void)state;
	fake_code_init(&fc, 12, lt311, sizeof(lt311), sizeof(lt311));
	set_types(&fc);
	key = (uint64_t)(uintptr_t)fc.code | tag << PYFRAME_TAG_SHIFT;
	ps = pysym__new(&fc.pp);
	assert_non_null(ps);
	fill_copy(&fc, tag, &ci, "Outer", "caf\xe9/m.py");
	ci.name_cut = 1; /* "Outer" of "Outer.f" */
	assert_int_equal(pysym__add_copy(ps, &ci), 0);
	assert_int_equal(pysym__resolve(ps, key, instr_of(&fc, 7), &fr), 0);
	assert_string_equal(fr.name, "Outer.f");
	assert_false(fr.copied);

	/* Memory now names something else: the cut copy. */
	put_str(&fc.pp, (uint8_t *)(uintptr_t)fc.name_addr, 7, STATE(1, 1, 1),
		"Other.g", 7);
	put_u64((uint8_t *)(uintptr_t)fc.name_addr, 8, FAKE_UNICODE_TYPE);
	pysym__next_gen(ps);
	assert_int_equal(pysym__resolve(ps, key, instr_of(&fc, 7), &fr), 0);
	assert_string_equal(fr.name, "Outer...");
	assert_true(fr.copied);

	/* UCS-2 characters; an unknown kind decodes to "?". */
	fill_copy(&fc, tag + 1, &ci, "", "");
	ci.name_kind = 2;
	ci.name_len = sizeof(omega);
	memcpy(ci.name, omega, sizeof(omega));
	ci.file_kind = 3;
	assert_int_equal(pysym__add_copy(ps, &ci), 0);
	assert_int_equal(pysym__resolve(ps, ci.key, instr_of(&fc, 0), &fr), 0);
	assert_string_equal(fr.name, "\xce\xa9x");
	assert_string_equal(fr.file, "?");
	pysym__free(ps);
}

#define FAKE_FUNC_TYPE 0x7f00000f0000ULL
#define FAKE_CM_TYPE   0x7f00000c0000ULL

/* A type image at t: flags, dict, MRO tuple, qualified name. */
static void put_type(const struct pyproc *pp, uint8_t *t, uint64_t dict,
		     uint64_t mro, uint64_t qualname)
{
	const struct py_class_offsets *o = &pp->info.cls;

	memset(t, 0, 1024);
	put_u64(t, o->tp_flags, 1UL << 9); /* Py_TPFLAGS_HEAPTYPE */
	put_u64(t, o->tp_dict, dict);
	put_u64(t, o->tp_mro, mro);
	put_u64(t, o->ht_qualname, qualname);
}

/* A combined-table dict image at d (keys right after it): name -> value. */
static uint64_t put_dict(const struct pyproc *pp, uint8_t *d, size_t n,
			 const uint64_t *names, const uint64_t *values,
			 uint64_t size, uint64_t nentries)
{
	const struct py_class_offsets *o = &pp->info.cls;
	uint8_t *keys = d + 64, *entries;

	memset(d, 0, 64 + o->dk_indices + 8 + n * o->entry_size);
	put_u64(d, o->dict_keys, (uint64_t)(uintptr_t)keys);
	put_u64(keys, o->dk_size, size);
	put_u64(keys, o->dk_nentries, nentries);
	entries = keys + o->dk_indices + 8; /* size 8: 1-byte indices */
	for (size_t i = 0; i < n; i++) {
		put_u64(entries + i * o->entry_size, o->entry_key, names[i]);
		put_u64(entries + i * o->entry_size, o->entry_value, values[i]);
	}
	return (uint64_t)(uintptr_t)d;
}

/*
 * 3.9 and 3.10 code objects have no co_qualname: BPF's copy carries the
 * frame's first local and its type when the first argument is self or cls,
 * and the class shown is the first of the MRO whose __dict__ maps the
 * code's name to a function (or a classmethod of one) with this very code:
 * Base.f for Base's method called on a Derived instance.
 */
static void test_method_class(void **state)
{
	static const int cls_minors[] = {9, 10};

	(void)state;
	for (size_t v = 0; v < 2; v++) {
		uint64_t code, func, cm, base, derived, base_mro, der_mro,
			other, names[2], values[2], bdict, ddict;
		const struct py_class_offsets *o;
		struct pysym_frame fr;
		struct code_info ci;
		struct fake_code fc;
		struct pysym *ps;
		uint8_t *a;

		fake_code_init(&fc, cls_minors[v], lt311, sizeof(lt311),
			       sizeof(lt311));
		o = &fc.pp.info.cls;
		assert_int_not_equal(o->tp_mro, OFF_NONE);
		fc.pp.function_type = FAKE_FUNC_TYPE;
		fc.pp.classmethod_type = FAKE_CM_TYPE;
		code = (uint64_t)(uintptr_t)fc.code;
		a = arena + 8192;
		/* The function object and a classmethod wrapping it. */
		func = (uint64_t)(uintptr_t)a;
		memset(a, 0, 256);
		put_u64(a, 8, FAKE_FUNC_TYPE);
		put_u64(a, o->func_code, code);
		cm = func + 256;
		memset(a + 256, 0, 256);
		put_u64(a + 256, 8, FAKE_CM_TYPE);
		put_u64(a + 256, o->wrapped_callable, func);
		other = put_str(&fc.pp, a + 512, 5, STATE(1, 1, 1), "other", 5);
		/* Base: {"other": 0, name: func}; Derived: {"other": 0}. */
		names[0] = other;
		names[1] = fc.name_addr;
		values[0] = 0;
		values[1] = func;
		bdict = put_dict(&fc.pp, a + 1024, 2, names, values, 8, 2);
		ddict = put_dict(&fc.pp, a + 2048, 1, names, values, 8, 1);
		base = (uint64_t)(uintptr_t)(a + 4096);
		derived = (uint64_t)(uintptr_t)(a + 8192);
		base_mro = (uint64_t)(uintptr_t)(a + 12288);
		der_mro = base_mro + 64;
		memset(a + 12288, 0, 128);
		put_u64(a + 12288, o->tuple_size, 1);
		put_u64(a + 12288, o->tuple_items, base);
		put_u64(a + 12288 + 64, o->tuple_size, 2);
		put_u64(a + 12288 + 64, o->tuple_items, derived);
		put_u64(a + 12288 + 64, o->tuple_items + 8, base);
		put_type(&fc.pp, a + 4096, bdict, base_mro,
			 put_str(&fc.pp, a + 16384, 4, STATE(1, 1, 1), "Base",
				 4));
		put_type(&fc.pp, a + 8192, ddict, der_mro,
			 put_str(&fc.pp, a + 16384 + 256, 7, STATE(1, 1, 1),
				 "Derived", 7));

		ps = pysym__new(&fc.pp);
		assert_non_null(ps);
		/* self of type Derived: the method is Base's. */
		fill_copy(&fc, 1, &ci, "f", "m.py");
		memcpy(ci.arg0, "self", 4);
		ci.arg0_kind = 1;
		ci.first_local = 0x1000;
		ci.first_local_type = derived;
		assert_int_equal(pysym__add_copy(ps, &ci), 0);
		assert_int_equal(pysym__resolve(ps, ci.key, 0, &fr), 0);
		assert_string_equal(fr.name, "Base.f");

		/* cls = Derived, Base's dict holding a classmethod of it. */
		values[1] = cm;
		put_dict(&fc.pp, a + 1024, 2, names, values, 8, 2);
		fill_copy(&fc, 2, &ci, "f", "m.py");
		memcpy(ci.arg0, "cls", 3);
		ci.arg0_kind = 1;
		ci.first_local = derived;
		assert_int_equal(pysym__add_copy(ps, &ci), 0);
		assert_int_equal(pysym__resolve(ps, ci.key, 0, &fr), 0);
		assert_string_equal(fr.name, "Base.f");

		/* A function merely taking a "self": in no class, bare. */
		values[1] = other;
		put_dict(&fc.pp, a + 1024, 2, names, values, 8, 2);
		fill_copy(&fc, 3, &ci, "f", "m.py");
		memcpy(ci.arg0, "self", 4);
		ci.arg0_kind = 1;
		ci.first_local_type = derived;
		assert_int_equal(pysym__add_copy(ps, &ci), 0);
		assert_int_equal(pysym__resolve(ps, ci.key, 0, &fr), 0);
		assert_string_equal(fr.name, "f");

		/* Hostile dicts (absurd size, more entries than slots, an
		 * unreadable keys object): bare, nothing read past them. */
		values[1] = func;
		put_dict(&fc.pp, a + 1024, 2, names, values, 1ULL << 40, 2);
		fill_copy(&fc, 4, &ci, "f", "m.py");
		memcpy(ci.arg0, "self", 4);
		ci.arg0_kind = 1;
		ci.first_local_type = derived;
		assert_int_equal(pysym__add_copy(ps, &ci), 0);
		assert_int_equal(pysym__resolve(ps, ci.key, 0, &fr), 0);
		assert_string_equal(fr.name, "f");
		put_dict(&fc.pp, a + 1024, 2, names, values, 8, 9);
		ci.key = code | 5ULL << PYFRAME_TAG_SHIFT;
		assert_int_equal(pysym__add_copy(ps, &ci), 0);
		assert_int_equal(pysym__resolve(ps, ci.key, 0, &fr), 0);
		assert_string_equal(fr.name, "f");
		put_u64(a + 1024, o->dict_keys,
			(uint64_t)(uintptr_t)(guard_base + page_size));
		ci.key = code | 6ULL << PYFRAME_TAG_SHIFT;
		assert_int_equal(pysym__add_copy(ps, &ci), 0);
		assert_int_equal(pysym__resolve(ps, ci.key, 0, &fr), 0);
		assert_string_equal(fr.name, "f");
		pysym__free(ps);
	}
}

static int setup(void **state)
{
	(void)state;
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	guard_base = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard_base == MAP_FAILED)
		return -1;
	return mprotect(guard_base + page_size, page_size, PROT_NONE);
}

static int teardown(void **state)
{
	(void)state;
	return munmap(guard_base, 2 * page_size);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_latin1),
		cmocka_unit_test(test_ucs2),
		cmocka_unit_test(test_ucs4),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_invalid_code_points),
		cmocka_unit_test(test_long_cut),
		cmocka_unit_test(test_absurd_length),
		cmocka_unit_test(test_bad_state),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_ends_at_guard),
		cmocka_unit_test(test_tiny_output),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_resolve_cache),
		cmocka_unit_test(test_resolve_hostile_table),
		cmocka_unit_test(test_resolve_unreadable),
		cmocka_unit_test(test_resolve_type_checked),
		cmocka_unit_test(test_resolve_copies),
		cmocka_unit_test(test_resolve_cut_copy),
		cmocka_unit_test(test_method_class),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
