/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What pystrobe knows about each CPython minor version, as data.
 *
 * Versions up to 3.12 are described entirely by the generated table
 * (py_offsets_table.c, written by scripts/gen-offsets.sh from each version's
 * real headers). From 3.13 on the target's own _Py_DebugOffsets is read at
 * attach time and overrides the table; the table then also says where each
 * needed field sits inside _Py_DebugOffsets for that minor version.
 */
#ifndef PYSTROBE_PY_OFFSETS_H
#define PYSTROBE_PY_OFFSETS_H

#include <stdint.h>
#include <linux/types.h>
#include "bpf/sampler.h"

enum py_linetable_format {
	PY_LINETABLE_LNOTAB, /* <= 3.9: co_lnotab byte pairs */
	PY_LINETABLE_310,    /* 3.10: co_linetable (start delta, line delta) */
	PY_LINETABLE_LOCATION, /* >= 3.11: location table (Objects/locations.md)
				*/
};

/* Offsets userspace needs to read code objects and strings. */
struct py_code_offsets {
	uint16_t co_filename;
	uint16_t co_name;
	uint16_t co_qualname; /* OFF_NONE before 3.11: use co_name */
	uint16_t co_firstlineno;
	uint16_t co_linetable;	   /* co_lnotab on 3.9 */
	uint16_t co_code_adaptive; /* 3.11+: start of bytecode in the code
				      object */
	uint16_t bytes_size;	   /* PyBytesObject.ob_size */
	uint16_t bytes_data;	   /* PyBytesObject.ob_sval */
	uint16_t unicode_length;
	uint16_t unicode_state;
	uint16_t ascii_data;   /* sizeof(PyASCIIObject): compact ASCII data */
	uint16_t compact_data; /* sizeof(PyCompactUnicodeObject) */
};

/* Where the GIL's state is: its futexes tell a GIL wait from a lock wait. */
struct py_gil_offsets {
	uint16_t runtime_off;	 /* _PyRuntime.ceval.gil (<= 3.11) */
	uint16_t interp_ptr_off; /* interp->ceval.gil, a pointer (3.12+) */
	uint16_t size;		 /* sizeof(struct _gil_runtime_state) */
};

/*
 * What finding a method's class takes on versions without co_qualname
 * (3.9, 3.10; OFF_NONE after): the first local of a frame (self or cls),
 * the argument names of its code, the type's MRO and dict, the dict's
 * (private) entry layout, and the code of the function found there.
 */
struct py_class_offsets {
	uint16_t frame_localsplus; /* PyFrameObject.f_localsplus */
	uint16_t co_varnames;	   /* tuple of str */
	uint16_t co_argcount;	   /* int */
	uint16_t tuple_items, tuple_size;
	uint16_t tp_name, tp_flags, tp_dict, tp_mro;
	uint16_t ht_qualname; /* heap types (Py_TPFLAGS_HEAPTYPE) */
	uint16_t func_code;
	uint16_t dict_keys, dict_values;
	uint16_t dk_size, dk_nentries, dk_indices; /* in the keys object */
	uint16_t entry_size, entry_key, entry_value;
	uint16_t wrapped_callable; /* classmethod / staticmethod */
};

/*
 * Where a field lives inside _Py_DebugOffsets (3.13+), or OFF_NONE. Each
 * names the uint64_t member holding the offset of the named field.
 */
struct py_debug_offsets_layout {
	uint16_t size; /* bytes of _Py_DebugOffsets to read */
	uint16_t version;
	uint16_t free_threaded;
	uint16_t runtime_interpreters_head;
	uint16_t interp_threads_head;
	uint16_t tstate_next;
	uint16_t tstate_native_thread_id;
	uint16_t tstate_current_frame;
	uint16_t frame_previous;
	uint16_t frame_executable;
	uint16_t frame_instr_ptr;
	uint16_t frame_owner;
	uint16_t code_filename;
	uint16_t code_name;
	uint16_t code_qualname;
	uint16_t code_linetable;
	uint16_t code_firstlineno;
	uint16_t code_co_code_adaptive;
	uint16_t unicode_state;
	uint16_t unicode_length;
	uint16_t unicode_asciiobject_size;
	uint16_t bytes_ob_size;
	uint16_t bytes_ob_sval;
	/* PEP 768 remote execution (3.14+; OFF_NONE before) */
	uint16_t debugger_eval_breaker; /* tstate->eval_breaker */
	uint16_t debugger_support;	/* tstate->remote_debugger_support */
	uint16_t debugger_enabled;	/* interp->config.remote_debug */
	uint16_t debugger_pending_call; /* within the support struct */
	uint16_t debugger_script_path;	/* within the support struct */
	uint16_t debugger_script_path_size; /* value: bytes of the path */
};

struct py_version_info {
	int major, minor;
	const char *generated_from; /* e.g. "3.11.7 headers (pyenv)" */
	enum py_linetable_format linetable;
	int lasti_bytes; /* <= 3.9: f_lasti counts bytes, so halve it */
	struct py_walk_offsets walk;
	struct py_code_offsets code;
	struct py_gil_offsets gil;
	struct py_class_offsets cls;
	int has_debug_offsets;
	struct py_debug_offsets_layout dbg;
};

/* Table lookup by minor version; NULL when the version is unknown. */
const struct py_version_info *py_version_info__find(int major, int minor);

/* All known versions, for listing ("3.9, 3.10, ...") in errors and docs. */
extern const struct py_version_info py_versions[];
extern const int py_versions_count;

#endif /* PYSTROBE_PY_OFFSETS_H */
