// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for linetable__line(). Input layout (little endian):
 *
 *   byte 0      format (taken modulo 3)
 *   bytes 1-4   firstlineno (int32)
 *   bytes 5-8   instruction offset in code units (uint32)
 *   bytes 9-    the line table, exactly sized so ASan sees any overread
 *
 * Checked beyond memory safety: the result is -1 or a line, and on 3.10+
 * formats a prefix of the table yields -1 or the same line (losing entries
 * never changes the ones kept).
 *
 * Built with -DFUZZ_SEED_WRITER instead, it is a program that writes seed
 * inputs in this layout from tests/unit/linetable_fixtures.h into a folder.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cpython/linetable.h"

#define FUZZ_HDR 9

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum py_linetable_format fmt;
	const uint8_t *table;
	size_t len;
	int32_t first;
	uint32_t off;
	int line, part;

	if (size < FUZZ_HDR)
		return 0;
	fmt = (enum py_linetable_format)(data[0] % 3);
	first = (int32_t)get_le32(data + 1);
	off = get_le32(data + 5);
	table = data + FUZZ_HDR;
	len = size - FUZZ_HDR;

	line = linetable__line(fmt, table, len, first, off);
	if (line < -1)
		__builtin_trap();
	if (fmt != PY_LINETABLE_LNOTAB) {
		part = linetable__line(fmt, table, len / 2, first, off);
		if (part != -1 && part != line)
			__builtin_trap();
	}
	return 0;
}

#ifdef FUZZ_SEED_WRITER
#include "linetable_fixtures.h"

static int write_seed(const char *dir, size_t n, const struct lt_fixture *fx,
		      uint32_t off)
{
	char path[4096];
	uint8_t hdr[FUZZ_HDR];
	uint32_t first = (uint32_t)fx->firstlineno;
	FILE *f;
	int i, ok;

	hdr[0] = (uint8_t)fx->fmt;
	for (i = 0; i < 4; i++) {
		hdr[1 + i] = (uint8_t)(first >> (8 * i));
		hdr[5 + i] = (uint8_t)(off >> (8 * i));
	}
	snprintf(path, sizeof(path), "%s/seed-%04zu", dir, n);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		return -1;
	}
	ok = fwrite(hdr, 1, sizeof(hdr), f) == sizeof(hdr) &&
	     (!fx->len || fwrite(fx->table, 1, fx->len, f) == fx->len);
	if (fclose(f) || !ok) {
		perror(path);
		return -1;
	}
	return 0;
}

/* One seed per fixture range start (at most 8 per fixture). */
int main(int argc, char **argv)
{
	size_t i, r, n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	for (i = 0; i < LT_NFIXTURES; i++) {
		const struct lt_fixture *fx = &lt_fixtures[i];
		size_t step = fx->nranges / 8 + 1;

		for (r = 0; r < fx->nranges; r += step)
			if (write_seed(argv[1], n++, fx, fx->ranges[r].start))
				return 1;
	}
	printf("%zu seeds written to %s\n", n, argv[1]);
	return 0;
}
#endif
