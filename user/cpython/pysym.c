// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "cpython/linetable.h"
#include "cpython/pysym.h"
#include "process/remote_mem.h"

#define CODE_READ_SIZE 256 /* covers every code object field we use */
#define STALE_MAX      1024
#define MRO_MAX	       64   /* classes looked at per method */
#define DICT_SCAN_MAX  1024 /* entries of one class dict */
/* Public flag bits of PyTypeObject.tp_flags (Include/object.h). */
#define TPFLAGS_HEAPTYPE (1UL << 9)
#define COPY_KEEP_GENS	 64 /* copies unused this many drains are dropped */

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

/* BPF's copy of a code object, taken while it was alive. */
struct code_copy {
	uint64_t key; /* address | tag << PYFRAME_TAG_SHIFT */
	uint64_t name_ptr, file_ptr, table_ptr;
	int32_t firstlineno;
	char *name, *file;     /* "..." appended when cut */
	size_t name_n, file_n; /* bytes before any "..." */
	bool cut;	       /* name, file or line table is a prefix */
	char *shown; /* 3.9, 3.10: "Class.name" when the class was found */
	uint8_t *table;
	size_t table_len;
	bool table_cut;
	unsigned used_gen;
	UT_hash_handle hh;
};

struct pysym {
	struct pyproc pp;
	struct code_entry *codes;
	struct code_copy *copies;
	unsigned gen;
	uint64_t stale[STALE_MAX];
	size_t nr_stale;
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

static void free_copy(struct code_copy *c)
{
	free(c->shown);
	free(c->name);
	free(c->file);
	free(c->table);
	free(c);
}

void pysym__free(struct pysym *ps)
{
	struct code_entry *e, *tmp;
	struct code_copy *c, *ctmp;

	if (!ps)
		return;
	HASH_ITER(hh, ps->codes, e, tmp)
	{
		HASH_DEL(ps->codes, e);
		free_entry(e);
	}
	HASH_ITER(hh, ps->copies, c, ctmp)
	{
		HASH_DEL(ps->copies, c);
		free_copy(c);
	}
	free(ps);
}

/* BPF should forget addr and watch it (see pysym__take_stale). */
static void note_stale(struct pysym *ps, uint64_t addr)
{
	for (size_t i = 0; i < ps->nr_stale; i++)
		if (ps->stale[i] == addr)
			return;
	if (ps->nr_stale < STALE_MAX)
		ps->stale[ps->nr_stale++] = addr;
}

size_t pysym__take_stale(struct pysym *ps, uint64_t *addrs, size_t max)
{
	size_t n = ps->nr_stale < max ? ps->nr_stale : max;

	memcpy(addrs, ps->stale, n * sizeof(*addrs));
	memmove(ps->stale, ps->stale + n,
		(ps->nr_stale - n) * sizeof(*ps->stale));
	ps->nr_stale -= n;
	return n;
}

void pysym__next_gen(struct pysym *ps)
{
	struct code_copy *c, *tmp;

	ps->gen++;
	/* Copies of long-gone code objects: forget them, and let BPF know. */
	if (ps->gen % 16)
		return;
	HASH_ITER(hh, ps->copies, c, tmp)
	{
		if (ps->gen - c->used_gen < COPY_KEEP_GENS ||
		    ps->nr_stale == STALE_MAX)
			continue;
		note_stale(ps, c->key & PYFRAME_ADDR_MASK);
		HASH_DEL(ps->copies, c);
		free_copy(c);
	}
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

/*
 * Decodes n characters of `kind` bytes each (1: Latin-1, 2: UCS-2, 4:
 * UCS-4, as CPython stores them) into UTF-8 in buf (len > 0), cutting
 * between characters; NUL and invalid code points become '?'.
 */
static void decode_chars(const uint8_t *raw, size_t n, unsigned kind, char *buf,
			 size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t cp;

		if (kind == 1) {
			cp = raw[i];
		} else if (kind == 2) {
			uint16_t v;

			memcpy(&v, raw + 2 * i, sizeof(v));
			cp = v;
		} else {
			memcpy(&cp, raw + 4 * i, sizeof(cp));
		}
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0)
			cp = '?';
		if (cp < 0x80) {
			if (o + 1 >= len)
				break;
			buf[o++] = cp;
		} else if (cp < 0x800) {
			if (o + 2 >= len)
				break;
			buf[o++] = 0xc0 | (cp >> 6);
			buf[o++] = 0x80 | (cp & 0x3f);
		} else if (cp < 0x10000) {
			if (o + 3 >= len)
				break;
			buf[o++] = 0xe0 | (cp >> 12);
			buf[o++] = 0x80 | ((cp >> 6) & 0x3f);
			buf[o++] = 0x80 | (cp & 0x3f);
		} else {
			if (o + 4 >= len)
				break;
			buf[o++] = 0xf0 | (cp >> 18);
			buf[o++] = 0x80 | ((cp >> 12) & 0x3f);
			buf[o++] = 0x80 | ((cp >> 6) & 0x3f);
			buf[o++] = 0x80 | (cp & 0x3f);
		}
	}
	buf[o] = 0;
}

int pysym__read_unicode(const struct pyproc *pp, uint64_t addr, char *buf,
			size_t len)
{
	const struct py_code_offsets *c = &pp->info.code;
	uint64_t type, unicode_type = pp->bpf.code.unicode_type;
	uint8_t hdr[128], raw[PYSYM_MAX_STR * 4];
	uint64_t length;
	uint32_t state;
	unsigned kind, compact, ascii;
	size_t n, data_off;
	int err;

	if (len == 0)
		return -EINVAL;
	buf[0] = 0;
	if (c->compact_data > sizeof(hdr) || c->ascii_data > c->compact_data ||
	    c->ascii_data < 16 || (size_t)c->unicode_state + 4 > sizeof(hdr) ||
	    (size_t)c->unicode_length + 8 > sizeof(hdr))
		return -EINVAL;
	/* The ASCII header first: a short str may end its readable memory. */
	err = remote_read(pp->pid, addr, hdr, c->ascii_data);
	if (err)
		return err;
	/* ob_type, when known: memory that is not a str is not read as one. */
	memcpy(&type, hdr + 8, sizeof(type));
	if (unicode_type && type != unicode_type)
		return -EINVAL;
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
	err = remote_read(pp->pid, addr + data_off, raw, n * kind);
	if (err)
		return err;
	decode_chars(raw, n, kind, buf, len);
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

	uint64_t type;

	err = remote_read(ps->pp.pid, addr, raw, sizeof(raw));
	if (err)
		return err;
	/* Memory that is not a code object (any more) is not read as one. */
	memcpy(&type, raw + 8, sizeof(type));
	if (ps->pp.bpf.code.code_type && type != ps->pp.bpf.code.code_type)
		return -EINVAL;
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

/*
 * Whether the code object at e->addr is still the one cached: the same
 * fields and the same characters in its name and file (a new code object
 * can take the old one's address with its strings at the old strings'
 * addresses). 1: same, 0: another or none, < 0: the process is gone.
 */
static int still_same(struct pysym *ps, const struct code_entry *e)
{
	char buf[PYSYM_MAX_STR * 4 + 1];
	struct code_entry probe = {};
	int err;

	err = read_code(ps, e->addr, &probe, 0);
	if (err == -ESRCH)
		return err;
	if (err || probe.name_ptr != e->name_ptr ||
	    probe.file_ptr != e->file_ptr || probe.table_ptr != e->table_ptr ||
	    probe.firstlineno != e->firstlineno)
		return 0;
	err = pysym__read_unicode(&ps->pp, e->name_ptr, buf, sizeof(buf));
	if (err == -ESRCH)
		return err;
	if (err || strcmp(buf, e->name))
		return 0;
	err = pysym__read_unicode(&ps->pp, e->file_ptr, buf, sizeof(buf));
	if (err == -ESRCH)
		return err;
	return !err && !strcmp(buf, e->file);
}

static struct code_entry *lookup_code(struct pysym *ps, uint64_t addr, int *err)
{
	struct code_entry *e;
	int same;

	HASH_FIND(hh, ps->codes, &addr, sizeof(addr), e);
	if (e && e->gen != ps->gen) {
		same = still_same(ps, e);
		if (same < 0) {
			*err = same;
			return e; /* process gone: keep the last answer */
		}
		if (same) {
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

static char *copy_string(const uint8_t *raw, size_t bytes, unsigned kind,
			 bool cut)
{
	char buf[CODE_FILE_MAX * 4 + 8];

	if (kind != 1 && kind != 2 && kind != 4)
		return strdup("?");
	decode_chars(raw, bytes / kind, kind, buf, sizeof(buf) - 3);
	if (cut)
		strcat(buf, "...");
	return strdup(buf);
}

static uint64_t read_u64(const struct pysym *ps, uint64_t addr)
{
	uint64_t v = 0;

	if (remote_read(ps->pp.pid, addr, &v, sizeof(v)))
		return 0;
	return v;
}

/*
 * The function (or the function a classmethod / staticmethod wraps) that
 * name maps to in type k's __dict__ has code `code`.
 */
static bool class_defines(const struct pysym *ps, uint64_t k, uint64_t name,
			  uint64_t code)
{
	const struct py_class_offsets *o = &ps->pp.info.cls;
	uint64_t dict, keys, size, n, ix, entries, value, type, func;
	uint8_t buf[DICT_SCAN_MAX * 24];

	dict = read_u64(ps, k + o->tp_dict);
	/* A split table (ma_values) is an instance dict, not a class's. */
	if (!dict || read_u64(ps, dict + o->dict_values))
		return false;
	keys = read_u64(ps, dict + o->dict_keys);
	size = keys ? read_u64(ps, keys + o->dk_size) : 0;
	n = keys ? read_u64(ps, keys + o->dk_nentries) : 0;
	if (!size || size > (1ULL << 24) || n > size || o->entry_size > 24 ||
	    o->entry_key + 8 > o->entry_size ||
	    o->entry_value + 8 > o->entry_size)
		return false;
	if (n > DICT_SCAN_MAX)
		n = DICT_SCAN_MAX;
	/* dk_indices holds size indices of 1, 2, 4 or 8 bytes. */
	ix = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
	entries = keys + o->dk_indices + size * ix;
	if (remote_read(ps->pp.pid, entries, buf, n * o->entry_size))
		return false;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t key;

		memcpy(&key, buf + i * o->entry_size + o->entry_key, 8);
		if (key != name)
			continue;
		memcpy(&value, buf + i * o->entry_size + o->entry_value, 8);
		type = value ? read_u64(ps, value + 8) : 0;
		func = value;
		if (type && (type == ps->pp.classmethod_type ||
			     type == ps->pp.staticmethod_type))
			func = read_u64(ps, value + o->wrapped_callable);
		if (!func || !ps->pp.function_type ||
		    read_u64(ps, func + 8) != ps->pp.function_type)
			return false;
		return read_u64(ps, func + o->func_code) == code;
	}
	return false;
}

/*
 * 3.9, 3.10 (no co_qualname): the qualified name of the class defining
 * the method copied in ci, from its first argument (self: its type; cls:
 * itself): the first class of that type's MRO whose __dict__ holds this
 * very code. Written into buf; false when there is none (a function, a
 * staticmethod, a nested function, a class we cannot read).
 */
static bool method_class(const struct pysym *ps, const struct code_info *ci,
			 char *buf, size_t len)
{
	const struct py_class_offsets *o = &ps->pp.info.cls;
	uint64_t start, mro, n, k = 0, code = ci->key & PYFRAME_ADDR_MASK;
	bool found = false;

	if (ps->pp.info.code.co_qualname != OFF_NONE || o->tp_mro == OFF_NONE ||
	    ci->arg0_kind != 1)
		return false;
	if (!strncmp((const char *)ci->arg0, "self", 5))
		start = ci->first_local_type;
	else if (!strncmp((const char *)ci->arg0, "cls", 4))
		start = ci->first_local;
	else
		return false;
	mro = start ? read_u64(ps, start + o->tp_mro) : 0;
	n = mro ? read_u64(ps, mro + o->tuple_size) : 0;
	for (uint64_t i = 0; i < n && i < MRO_MAX && !found; i++) {
		k = read_u64(ps, mro + o->tuple_items + 8 * i);
		found = k && class_defines(ps, k, ci->name_ptr, code);
	}
	if (!found)
		return false;
	if (read_u64(ps, k + o->tp_flags) & TPFLAGS_HEAPTYPE)
		return pysym__read_unicode(&ps->pp,
					   read_u64(ps, k + o->ht_qualname),
					   buf, len) == 0 &&
		       buf[0];
	/* A static type: its tp_name, a C string "module.Name". */
	{
		char raw[64];
		const char *dot;

		if (len < sizeof(raw) ||
		    remote_read(ps->pp.pid, read_u64(ps, k + o->tp_name), raw,
				sizeof(raw)))
			return false;
		raw[sizeof(raw) - 1] = 0;
		dot = strrchr(raw, '.');
		snprintf(buf, len, "%s", dot ? dot + 1 : raw);
		return buf[0] != 0;
	}
}

int pysym__add_copy(struct pysym *ps, const struct code_info *ci)
{
	char cls[PYSYM_MAX_STR * 4 + 1];
	struct code_copy *c;

	HASH_FIND(hh, ps->copies, &ci->key, sizeof(ci->key), c);
	if (c) {
		c->used_gen = ps->gen;
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->key = ci->key;
	c->name_ptr = ci->name_ptr;
	c->file_ptr = ci->file_ptr;
	c->table_ptr = ci->table_ptr;
	c->firstlineno = ci->firstlineno;
	c->name = copy_string(ci->name,
			      ci->name_len < CODE_NAME_MAX ? ci->name_len
							   : CODE_NAME_MAX,
			      ci->name_kind, ci->name_cut);
	c->file = copy_string(ci->file,
			      ci->file_len < CODE_FILE_MAX ? ci->file_len
							   : CODE_FILE_MAX,
			      ci->file_kind, ci->file_cut);
	if (c->name && method_class(ps, ci, cls, sizeof(cls))) {
		c->shown = malloc(strlen(cls) + strlen(c->name) + 2);
		if (c->shown)
			sprintf(c->shown, "%s.%s", cls, c->name);
	}
	c->table_len = ci->table_len < CODE_TABLE_MAX ? ci->table_len : 0;
	c->table_cut = ci->table_cut;
	c->cut = ci->name_cut || ci->file_cut || ci->table_cut;
	c->name_n = c->name ? strlen(c->name) - (ci->name_cut ? 3 : 0) : 0;
	c->file_n = c->file ? strlen(c->file) - (ci->file_cut ? 3 : 0) : 0;
	c->table = malloc(c->table_len ? c->table_len : 1);
	if (!c->name || !c->file || !c->table) {
		free_copy(c);
		return -ENOMEM;
	}
	memcpy(c->table, ci->table, c->table_len);
	c->used_gen = ps->gen;
	HASH_ADD(hh, ps->copies, key, sizeof(c->key), c);
	return 0;
}

/* Code units from the start of the bytecode (negative: not started). */
static int64_t instr_units(const struct py_version_info *vi, uint64_t addr,
			   uint64_t instr)
{
	int64_t units;

	if (vi->walk.instr_size == 8)
		/* An instruction pointer into the code object's bytecode. */
		return ((int64_t)instr -
			(int64_t)(addr + vi->code.co_code_adaptive)) /
		       2;
	units = (int32_t)instr; /* -1: not started yet */
	if (units > 0 && vi->lasti_bytes)
		units /= 2;
	return units;
}

static int line_of(const struct py_version_info *vi, const uint8_t *table,
		   size_t len, bool ok, bool cut, int firstlineno,
		   int64_t units)
{
	if (units < 0)
		return firstlineno; /* not started yet */
	/* A cut co_lnotab would answer with its last line: unknown. */
	if (!ok || (cut && vi->linetable == PY_LINETABLE_LNOTAB))
		return -1;
	return linetable__line(vi->linetable, table, len, firstlineno,
			       (uint32_t)units);
}

int pysym__resolve(struct pysym *ps, uint64_t code, uint64_t instr,
		   struct pysym_frame *out)
{
	const struct py_version_info *vi = &ps->pp.info;
	uint64_t key = PYFRAME_KEY(code), addr = code & PYFRAME_ADDR_MASK;
	struct code_copy *copy = NULL;
	struct code_entry *e;
	int64_t units;
	int err = 0;

	if (key >> PYFRAME_TAG_SHIFT)
		HASH_FIND(hh, ps->copies, &key, sizeof(key), copy);
	units = instr_units(vi, addr, instr);
	out->copied = false;
	if (copy) {
		copy->used_gen = ps->gen;
		/*
		 * The object in memory now is the one copied only if it has
		 * the same fields and the same characters (strings get reused
		 * at the same addresses as readily as code objects). Then it
		 * can complete a copy that was cut; if it is another, BPF must
		 * learn that the address was reused.
		 */
		e = lookup_code(ps, addr, &err);
		if (!e || e->name_ptr != copy->name_ptr ||
		    e->file_ptr != copy->file_ptr ||
		    e->table_ptr != copy->table_ptr ||
		    e->firstlineno != copy->firstlineno ||
		    strncmp(e->name, copy->name, copy->name_n) ||
		    strncmp(e->file, copy->file, copy->file_n))
			note_stale(ps, addr);
		else if (copy->cut)
			goto live;
		out->name = copy->shown ? copy->shown : copy->name;
		out->file = copy->file;
		out->firstlineno = copy->firstlineno;
		out->line = line_of(vi, copy->table, copy->table_len, true,
				    copy->table_cut, copy->firstlineno, units);
		out->copied = true;
		return 0;
	}
	e = lookup_code(ps, addr, &err);
live:
	if (!e)
		return err;
	out->name = copy && copy->shown ? copy->shown : e->name;
	out->file = e->file;
	out->firstlineno = e->firstlineno;
	out->line = line_of(vi, e->table, e->table_len, e->table_ok, false,
			    e->firstlineno, units);
	return 0;
}
