// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "cpython/linetable.h"
#include "cpython/pysym.h"
#include "process/remote_mem.h"

#define CODE_READ_SIZE 256 /* covers every code object field we use */

struct code_entry {
	uint64_t addr;
	/* Identity: changes when another code object reuses the address. */
	uint64_t name_ptr, file_ptr, table_ptr;
	int32_t firstlineno;
	unsigned gen; /* last generation this entry was validated in */
	char *name, *file;
	uint8_t *table;
	size_t table_len;
	bool table_ok;
	UT_hash_handle hh;
};

struct pysym {
	struct pyproc pp;
	struct code_entry *codes;
	unsigned gen;
};

struct pysym *pysym__new(const struct pyproc *pp)
{
	struct pysym *ps = calloc(1, sizeof(*ps));

	if (ps) {
		ps->pp = *pp;
		ps->gen = 1;
	}
	return ps;
}

static void free_entry(struct code_entry *e)
{
	free(e->name);
	free(e->file);
	free(e->table);
	free(e);
}

void pysym__free(struct pysym *ps)
{
	struct code_entry *e, *tmp;

	if (!ps)
		return;
	HASH_ITER(hh, ps->codes, e, tmp)
	{
		HASH_DEL(ps->codes, e);
		free_entry(e);
	}
	free(ps);
}

void pysym__next_gen(struct pysym *ps)
{
	ps->gen++;
}

static uint64_t get_u64(const uint8_t *buf, uint16_t off)
{
	uint64_t v = 0;

	if (off != OFF_NONE && off + sizeof(v) <= CODE_READ_SIZE)
		memcpy(&v, buf + off, sizeof(v));
	return v;
}

static int32_t get_i32(const uint8_t *buf, uint16_t off)
{
	int32_t v = 0;

	if (off != OFF_NONE && off + sizeof(v) <= CODE_READ_SIZE)
		memcpy(&v, buf + off, sizeof(v));
	return v;
}

int pysym__read_unicode(const struct pyproc *pp, uint64_t addr, char *buf,
			size_t len)
{
	const struct py_code_offsets *c = &pp->info.code;
	uint8_t hdr[128];
	uint64_t length;
	uint32_t state;
	unsigned kind, compact, ascii;
	size_t n, data_off;
	int err;

	if (len == 0)
		return -EINVAL;
	buf[0] = 0;
	if (c->compact_data > sizeof(hdr) || c->ascii_data > c->compact_data ||
	    (size_t)c->unicode_state + 4 > sizeof(hdr) ||
	    (size_t)c->unicode_length + 8 > sizeof(hdr))
		return -EINVAL;
	/* The ASCII header first: a short str may end its readable memory. */
	err = remote_read(pp->pid, addr, hdr, c->ascii_data);
	if (err)
		return err;
	memcpy(&length, hdr + c->unicode_length, sizeof(length));
	memcpy(&state, hdr + c->unicode_state, sizeof(state));
	/* state: interned:2, kind:3, compact:1, ascii:1 in every version. */
	kind = (state >> 2) & 7;
	compact = (state >> 5) & 1;
	ascii = (state >> 6) & 1;
	if (!compact || (kind != 1 && kind != 2 && kind != 4))
		return -EINVAL;
	data_off = ascii ? c->ascii_data : c->compact_data;
	n = length < PYSYM_MAX_STR ? length : PYSYM_MAX_STR;
	if (kind == 1) {
		uint8_t raw[PYSYM_MAX_STR];
		size_t o = 0;

		err = remote_read(pp->pid, addr + data_off, raw, n);
		if (err)
			return err;
		/* Latin-1 or ASCII to UTF-8. */
		for (size_t i = 0; i < n && o + 3 < len; i++) {
			if (raw[i] < 0x80) {
				buf[o++] = raw[i] ? raw[i] : '?';
			} else {
				buf[o++] = 0xc0 | (raw[i] >> 6);
				buf[o++] = 0x80 | (raw[i] & 0x3f);
			}
		}
		buf[o] = 0;
		return 0;
	}
	{
		uint32_t cps[PYSYM_MAX_STR];
		uint16_t raw16[PYSYM_MAX_STR];
		size_t o = 0;

		if (kind == 2) {
			err = remote_read(pp->pid, addr + data_off, raw16,
					  n * 2);
			for (size_t i = 0; !err && i < n; i++)
				cps[i] = raw16[i];
		} else {
			err = remote_read(pp->pid, addr + data_off, cps, n * 4);
		}
		if (err)
			return err;
		for (size_t i = 0; i < n && o + 4 < len; i++) {
			uint32_t cp = cps[i];

			if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
			    cp == 0)
				cp = '?';
			if (cp < 0x80) {
				buf[o++] = cp;
			} else if (cp < 0x800) {
				buf[o++] = 0xc0 | (cp >> 6);
				buf[o++] = 0x80 | (cp & 0x3f);
			} else if (cp < 0x10000) {
				buf[o++] = 0xe0 | (cp >> 12);
				buf[o++] = 0x80 | ((cp >> 6) & 0x3f);
				buf[o++] = 0x80 | (cp & 0x3f);
			} else {
				buf[o++] = 0xf0 | (cp >> 18);
				buf[o++] = 0x80 | ((cp >> 12) & 0x3f);
				buf[o++] = 0x80 | ((cp >> 6) & 0x3f);
				buf[o++] = 0x80 | (cp & 0x3f);
			}
		}
		buf[o] = 0;
	}
	return 0;
}

static int read_bytes_object(const struct pyproc *pp, uint64_t addr,
			     uint8_t **out, size_t *out_len)
{
	const struct py_code_offsets *c = &pp->info.code;
	int64_t size;
	uint8_t *buf;
	int err;

	*out = NULL;
	*out_len = 0;
	err = remote_read(pp->pid, addr + c->bytes_size, &size, sizeof(size));
	if (err)
		return err;
	if (size < 0 || size > PYSYM_MAX_LINETABLE)
		return -E2BIG;
	buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	err = remote_read(pp->pid, addr + c->bytes_data, buf, size);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*out_len = size;
	return 0;
}

/* Reads a code object's identity fields; the full entry when load is set. */
static int read_code(struct pysym *ps, uint64_t addr, struct code_entry *e,
		     int load)
{
	const struct py_code_offsets *c = &ps->pp.info.code;
	char name[PYSYM_MAX_STR * 4 + 1], file[PYSYM_MAX_STR * 4 + 1];
	uint8_t raw[CODE_READ_SIZE];
	int err;

	err = remote_read(ps->pp.pid, addr, raw, sizeof(raw));
	if (err)
		return err;
	e->addr = addr;
	e->name_ptr = get_u64(raw, c->co_qualname != OFF_NONE ? c->co_qualname
							      : c->co_name);
	e->file_ptr = get_u64(raw, c->co_filename);
	e->table_ptr = get_u64(raw, c->co_linetable);
	e->firstlineno = get_i32(raw, c->co_firstlineno);
	if (!load)
		return 0;
	err = pysym__read_unicode(&ps->pp, e->name_ptr, name, sizeof(name));
	if (err)
		return err;
	err = pysym__read_unicode(&ps->pp, e->file_ptr, file, sizeof(file));
	if (err)
		return err;
	e->name = strdup(name);
	e->file = strdup(file);
	if (!e->name || !e->file)
		return -ENOMEM;
	/* A missing line table only costs line numbers. */
	e->table_ok = read_bytes_object(&ps->pp, e->table_ptr, &e->table,
					&e->table_len) == 0;
	return 0;
}

static struct code_entry *lookup_code(struct pysym *ps, uint64_t addr, int *err)
{
	struct code_entry *e, probe = {};

	HASH_FIND(hh, ps->codes, &addr, sizeof(addr), e);
	if (e && e->gen != ps->gen) {
		*err = read_code(ps, addr, &probe, 0);
		if (*err)
			return e; /* process gone: keep the last answer */
		if (probe.name_ptr == e->name_ptr &&
		    probe.file_ptr == e->file_ptr &&
		    probe.table_ptr == e->table_ptr &&
		    probe.firstlineno == e->firstlineno) {
			e->gen = ps->gen;
		} else {
			HASH_DEL(ps->codes, e);
			free_entry(e);
			e = NULL;
		}
	}
	*err = 0;
	if (e)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = read_code(ps, addr, e, 1);
	if (*err) {
		free_entry(e);
		return NULL;
	}
	e->gen = ps->gen;
	HASH_ADD(hh, ps->codes, addr, sizeof(e->addr), e);
	return e;
}

int pysym__resolve(struct pysym *ps, uint64_t code, uint64_t instr,
		   struct pysym_frame *out)
{
	const struct py_version_info *vi = &ps->pp.info;
	struct code_entry *e;
	int64_t units;
	int err;

	e = lookup_code(ps, code, &err);
	if (!e)
		return err;
	out->name = e->name;
	out->file = e->file;
	out->firstlineno = e->firstlineno;
	if (vi->walk.instr_size == 8) {
		/* An instruction pointer into the code object's bytecode. */
		units = ((int64_t)instr -
			 (int64_t)(code + vi->code.co_code_adaptive)) /
			2;
	} else {
		units = (int32_t)instr; /* -1: not started yet */
		if (units > 0 && vi->lasti_bytes)
			units /= 2;
	}
	if (units < 0)
		out->line = e->firstlineno; /* not started yet */
	else if (!e->table_ok)
		out->line = -1;
	else
		out->line =
			linetable__line(vi->linetable, e->table, e->table_len,
					e->firstlineno, (uint32_t)units);
	return 0;
}
