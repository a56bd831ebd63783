// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "symbols/elf_syms.h"
#include "process/procfs.h"
#include "process/procmaps.h"
#include "cpython/pyproc.h"
#include "process/remote_mem.h"

#define DEBUG_COOKIE	  "xdebugpy"
#define DEBUG_OFFSETS_MAX 4096

/* "python3.11", "libpython3.9.so.1.0", "python3.13-pie" -> 3, 11 */
static int version_from_name(const char *path, int *major, int *minor)
{
	const char *base = strrchr(path, '/');
	const char *p;

	base = base ? base + 1 : path;
	p = strstr(base, "python");
	if (!p)
		return -1;
	return sscanf(p, "python%d.%d", major, minor) == 2 ? 0 : -1;
}

/* Field at dbg offset `pos` of the raw _Py_DebugOffsets copy. */
static int dbg_field(const uint8_t *raw, size_t size, uint16_t pos,
		     uint16_t *out)
{
	uint64_t v;

	if (pos == OFF_NONE)
		return 0; /* keep the table's value */
	if ((size_t)pos + sizeof(v) > size)
		return -EINVAL;
	memcpy(&v, raw + pos, sizeof(v));
	if (v >= OFF_NONE)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/*
 * Which _Py_DebugOffsets member (a field of py_debug_offsets_layout) gives
 * which offset pystrobe uses (a field of py_version_info).
 */
struct dbg_field_map {
	size_t layout, info;
};

#define DBG(layout_field, info_field)                                          \
	{                                                                      \
		offsetof(struct py_debug_offsets_layout, layout_field),        \
			offsetof(struct py_version_info, info_field)           \
	}

static const struct dbg_field_map dbg_fields[] = {
	DBG(runtime_interpreters_head, walk.runtime_interpreters_head),
	DBG(interp_threads_head, walk.interp_threads_head),
	DBG(tstate_next, walk.tstate_next),
	DBG(tstate_native_thread_id, walk.tstate_native_thread_id),
	DBG(tstate_current_frame, walk.tstate_frame),
	DBG(frame_previous, walk.frame_previous),
	DBG(frame_executable, walk.frame_code),
	DBG(frame_instr_ptr, walk.frame_instr),
	DBG(frame_owner, walk.frame_owner),
	DBG(code_filename, code.co_filename),
	DBG(code_name, code.co_name),
	DBG(code_qualname, code.co_qualname),
	DBG(code_linetable, code.co_linetable),
	DBG(code_firstlineno, code.co_firstlineno),
	DBG(code_co_code_adaptive, code.co_code_adaptive),
	DBG(unicode_state, code.unicode_state),
	DBG(unicode_length, code.unicode_length),
	DBG(unicode_asciiobject_size, code.ascii_data),
	DBG(bytes_ob_size, code.bytes_size),
	DBG(bytes_ob_sval, code.bytes_data),
};

/*
 * 3.13+: replaces table offsets with the target's own _Py_DebugOffsets, so a
 * new patch release works without regenerating the table.
 */
static int apply_debug_offsets(struct pyproc *pp, char *why, size_t why_len)
{
	const struct py_debug_offsets_layout *d = &pp->info.dbg;
	uint8_t raw[DEBUG_OFFSETS_MAX];
	uint64_t hexversion;
	size_t size = d->size;
	int err = 0;

	if (size > sizeof(raw) || size < 16)
		return -EINVAL;
	if (remote_read(pp->pid, pp->runtime_addr, raw, size)) {
		snprintf(why, why_len, "cannot read _Py_DebugOffsets of %d",
			 pp->pid);
		return -EFAULT;
	}
	if (memcmp(raw, DEBUG_COOKIE, 8) != 0) {
		snprintf(why, why_len,
			 "process %d: _PyRuntime lacks the _Py_DebugOffsets "
			 "cookie",
			 pp->pid);
		return -EINVAL;
	}
	memcpy(&hexversion, raw + d->version, sizeof(hexversion));
	if ((int)((hexversion >> 24) & 0xff) != pp->major ||
	    (int)((hexversion >> 16) & 0xff) != pp->minor) {
		snprintf(why, why_len,
			 "process %d: _Py_DebugOffsets version %#llx does not "
			 "match %d.%d",
			 pp->pid, (unsigned long long)hexversion, pp->major,
			 pp->minor);
		return -EINVAL;
	}
	pp->micro = (hexversion >> 8) & 0xff;
	if (d->free_threaded != OFF_NONE && raw[d->free_threaded]) {
		snprintf(why, why_len,
			 "process %d: free-threaded CPython %d.%d is not "
			 "supported yet",
			 pp->pid, pp->major, pp->minor);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(dbg_fields) / sizeof(dbg_fields[0]);
	     i++) {
		const struct dbg_field_map *m = &dbg_fields[i];
		uint16_t pos = *(const uint16_t *)((const char *)d + m->layout);
		uint16_t *dst = (uint16_t *)((char *)&pp->info + m->info);

		err = dbg_field(raw, size, pos, dst);
		if (err)
			break;
	}
	if (err)
		snprintf(why, why_len,
			 "process %d: implausible _Py_DebugOffsets", pp->pid);
	return err;
}

/* The bytes of a frame the walker must read to see every field it uses. */
static uint16_t frame_read_size(const struct py_walk_offsets *w)
{
	uint16_t fields[] = {w->frame_previous, w->frame_code, w->frame_instr,
			     w->frame_owner, w->frame_is_entry};
	uint16_t max = 0;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i] != OFF_NONE && fields[i] + 8 > max)
			max = fields[i] + 8;
	return max;
}

/* What the BPF walker needs to copy code objects and strings. */
static int code_layout(const struct py_code_offsets *c,
		       const struct py_class_offsets *cls, uint64_t code_type,
		       uint64_t unicode_type, struct py_code_layout *out)
{
	uint16_t fields[] = {c->co_filename,  c->co_name,
			     c->co_qualname,  c->co_firstlineno,
			     c->co_linetable, cls->co_argcount,
			     cls->co_varnames};
	uint16_t max = 16; /* ob_refcnt, ob_type */

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i] != OFF_NONE && fields[i] + 8 > max)
			max = fields[i] + 8;
	if (max > CODE_HEADER_MAX || c->compact_data > CODE_HEADER_MAX ||
	    c->compact_data < 16)
		return -EINVAL;
	*out = (struct py_code_layout){
		.code_type = code_type,
		.unicode_type = unicode_type,
		.name = c->co_qualname != OFF_NONE ? c->co_qualname
						   : c->co_name,
		.filename = c->co_filename,
		.firstlineno = c->co_firstlineno,
		.linetable = c->co_linetable,
		.header_size = max,
		.unicode_state = c->unicode_state,
		.unicode_length = c->unicode_length,
		.ascii_data = c->ascii_data,
		.compact_data = c->compact_data,
		.bytes_size = c->bytes_size,
		.bytes_data = c->bytes_data,
		/* Only where the name lacks the class. */
		.frame_localsplus = c->co_qualname == OFF_NONE
					    ? cls->frame_localsplus
					    : OFF_NONE,
		.co_argcount = cls->co_argcount,
		.co_varnames = cls->co_varnames,
		.tuple_items = cls->tuple_items,
	};
	return 0;
}

static void list_versions(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (int i = 0; i < py_versions_count && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%d.%d",
				 i ? ", " : "", py_versions[i].major,
				 py_versions[i].minor);
}

enum pyproc_error pyproc__inspect(pid_t pid, struct pyproc *pp, char *why,
				  size_t why_len)
{
	char host[512], versions[128], scratch[8];
	const struct py_version_info *vi;
	struct procmaps maps = {};
	struct elf_syms *es = NULL;
	enum pyproc_error ret = PYPROC_NOT_PYTHON;
	const char *last = NULL;
	uint64_t runtime = 0, pyver = 0, code_type = 0, unicode_type = 0;
	char state;
	int64_t bias = 0;
	int err;

	if (!why) {
		why = scratch;
		why_len = sizeof(scratch);
	}
	memset(pp, 0, sizeof(*pp));
	pp->pid = pid;
	state = procfs__stat(pid, 0, NULL);
	if (!state || state == 'Z' || state == 'X') {
		snprintf(why, why_len, "process %d %s", pid,
			 state ? "is a zombie" : "does not exist");
		return PYPROC_NO_PROCESS;
	}
	err = procmaps__read(pid, &maps);
	if (err) {
		snprintf(why, why_len,
			 "cannot read memory map of process %d: %s", pid,
			 strerror(-err));
		return PYPROC_NO_PROCESS;
	}
	/* Candidates: file mappings named like python or libpython. */
	for (size_t i = 0; i < maps.nr && !runtime; i++) {
		const struct procmap *m = &maps.maps[i];
		uint64_t sym, ver;
		int64_t b;

		if (!m->path || (last && strcmp(last, m->path) == 0))
			continue;
		last = m->path;
		if (!strstr(strrchr(m->path, '/') ?: m->path, "python"))
			continue;
		procmaps__host_path(pid, m, host, sizeof(host));
		es = elf_syms__open(host);
		if (!es)
			continue;
		sym = elf_syms__find(es, "_PyRuntime");
		if (sym) {
			b = elf_syms__bias(es, m->start, m->offset);
			runtime = sym + b;
			bias = b;
			ver = elf_syms__find(es, "Py_Version");
			pyver = ver ? ver + bias : 0;
			/* For telling code objects and strings from other
			 * memory; 0 (not checked) where not exported. */
			ver = elf_syms__find(es, "PyCode_Type");
			code_type = ver ? ver + bias : 0;
			ver = elf_syms__find(es, "PyUnicode_Type");
			unicode_type = ver ? ver + bias : 0;
			ver = elf_syms__find(es, "PyFunction_Type");
			pp->function_type = ver ? ver + bias : 0;
			ver = elf_syms__find(es, "PyClassMethod_Type");
			pp->classmethod_type = ver ? ver + bias : 0;
			ver = elf_syms__find(es, "PyStaticMethod_Type");
			pp->staticmethod_type = ver ? ver + bias : 0;
			snprintf(pp->module, sizeof(pp->module), "%s", m->path);
		}
		elf_syms__free(es);
		es = NULL;
	}
	procmaps__free(&maps);
	if (!runtime) {
		snprintf(why, why_len,
			 "process %d is not a Python process (no module "
			 "defines _PyRuntime)",
			 pid);
		return PYPROC_NOT_PYTHON;
	}
	pp->runtime_addr = runtime;

	if (pyver) {
		uint32_t hex = 0;

		if (remote_read(pid, pyver, &hex, sizeof(hex)) == 0 && hex) {
			pp->major = (hex >> 24) & 0xff;
			pp->minor = (hex >> 16) & 0xff;
			pp->micro = (hex >> 8) & 0xff;
		}
	}
	if (!pp->major &&
	    version_from_name(pp->module, &pp->major, &pp->minor)) {
		snprintf(why, why_len,
			 "process %d: cannot tell the Python version of %s",
			 pid, pp->module);
		return PYPROC_UNSUPPORTED;
	}
	vi = py_version_info__find(pp->major, pp->minor);
	if (!vi) {
		list_versions(versions, sizeof(versions));
		snprintf(why, why_len,
			 "process %d runs Python %d.%d, which is not supported "
			 "(supported: %s)",
			 pid, pp->major, pp->minor, versions);
		return PYPROC_UNSUPPORTED;
	}
	pp->info = *vi;
	if (vi->has_debug_offsets) {
		err = apply_debug_offsets(pp, why, why_len);
		if (err)
			return err == -ENOTSUP ? PYPROC_UNSUPPORTED
					       : PYPROC_BAD_RUNTIME;
	}
	pp->bpf.runtime_addr = runtime;
	pp->bpf.off = pp->info.walk;
	err = code_layout(&pp->info.code, &pp->info.cls, code_type,
			  unicode_type, &pp->bpf.code);
	if (err) {
		snprintf(why, why_len,
			 "process %d: code object fields beyond %d bytes", pid,
			 CODE_HEADER_MAX);
		return PYPROC_BAD_RUNTIME;
	}
	pp->bpf.frame_read_size = frame_read_size(&pp->info.walk);
	/* _PyInterpreterFrame versions (those with is_entry or owner) keep
	 * frames side by side in a data stack: read them a window at once. */
	pp->bpf.frame_window = pp->info.walk.frame_is_entry != OFF_NONE ||
			       pp->info.walk.frame_owner != OFF_NONE;
	if (pp->bpf.frame_read_size > FRAME_READ_MAX) {
		snprintf(why, why_len,
			 "process %d: frame fields beyond %d bytes", pid,
			 FRAME_READ_MAX);
		return PYPROC_BAD_RUNTIME;
	}
	pyproc__find_gil(pp); /* may need a later retry */
	ret = PYPROC_OK;
	return ret;
}

int pyproc__find_gil(struct pyproc *pp)
{
	const struct py_gil_offsets *g = &pp->info.gil;
	uint64_t interp = 0, gil = 0;

	if (pp->bpf.gil_lo)
		return 0;
	if (g->runtime_off != OFF_NONE) {
		gil = pp->runtime_addr + g->runtime_off;
	} else if (g->interp_ptr_off != OFF_NONE) {
		if (remote_read_u64(
			    pp->pid,
			    pp->runtime_addr +
				    pp->info.walk.runtime_interpreters_head,
			    &interp) ||
		    !interp ||
		    remote_read_u64(pp->pid, interp + g->interp_ptr_off,
				    &gil) ||
		    !gil)
			return -EAGAIN;
	} else {
		return -ENOENT;
	}
	pp->bpf.gil_lo = gil;
	pp->bpf.gil_hi = gil + g->size;
	return 0;
}
