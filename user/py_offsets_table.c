/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * GENERATED FILE: do not edit. Regenerate with `make offsets`, which runs
 *   bash scripts/gen-offsets.sh > user/py_offsets_table.c
 * (scripts/py_offsets_probe.c compiled against each version's own headers,
 * including the internal ones, with -DPy_BUILD_CORE; the header sets come
 * from pyenv and from scripts/provision-pythons.sh).
 *
 * Header sets used, per minor version (first: generated from; others:
 * checked to give identical offsets):
 *   3.9: 3.9.18 (pyenv 3.9.18)
 *     = 3.9.2 (Debian bullseye libpython3.9-dev)
 *   3.10: 3.10.13 (pyenv 3.10.13)
 *   3.11: 3.11.7 (pyenv 3.11.7)
 *     = 3.11.2 (Debian bookworm libpython3.11-dev)
 *   3.12: 3.12.1 (pyenv 3.12.1)
 *   3.13: 3.13.5 (Debian trixie libpython3.13-dev)
 *     = 3.13.0 (pyenv 3.13.0)
 *   3.14: 3.14.10 (Debian sid libpython3.14-dev)
 *   3.15: 3.15.2 (Debian experimental libpython3.15-dev)
 */
#include <stddef.h>
#include "py_offsets.h"

const struct py_version_info py_versions[] = {
	{
		.major = 3,
		.minor = 9,
		.generated_from =
			"3.9.18 headers (pyenv 3.9.18); same offsets: 3.9.2",
		.linetable = PY_LINETABLE_LNOTAB,
		.lasti_bytes = 1,
		/* frame fields end by byte 112 */
		.walk =
			{
				.runtime_interpreters_head = 32,
				.interp_threads_head = 8,
				.tstate_next = 8,
				.tstate_native_thread_id = OFF_NONE,
				.tstate_thread_id = 176,
				.tstate_frame = 24,
				.cframe_current_frame = OFF_NONE,
				.frame_previous = 24,
				.frame_code = 32,
				.frame_instr = 104,
				.frame_owner = OFF_NONE,
				.frame_is_entry = OFF_NONE,
				.instr_size = 4,
				.owner_shim_min = 255,
			},
		.code =
			{
				.co_filename = 104,
				.co_name = 112,
				.co_qualname = OFF_NONE,
				.co_firstlineno = 40,
				.co_linetable = 120,
				.co_code_adaptive = OFF_NONE,
				.bytes_size = 16,
				.bytes_data = 32,
				.unicode_length = 16,
				.unicode_state = 32,
				.ascii_data = 48,
				.compact_data = 72,
			},
		.gil =
			{
				.runtime_off = 352,
				.interp_ptr_off = OFF_NONE,
				.size = 208,
			},
		.has_debug_offsets = 0,
		.dbg =
			{
				.size = 0,
				.version = OFF_NONE,
				.free_threaded = OFF_NONE,
				.runtime_interpreters_head = OFF_NONE,
				.interp_threads_head = OFF_NONE,
				.tstate_next = OFF_NONE,
				.tstate_native_thread_id = OFF_NONE,
				.tstate_current_frame = OFF_NONE,
				.frame_previous = OFF_NONE,
				.frame_executable = OFF_NONE,
				.frame_instr_ptr = OFF_NONE,
				.frame_owner = OFF_NONE,
				.code_filename = OFF_NONE,
				.code_name = OFF_NONE,
				.code_qualname = OFF_NONE,
				.code_linetable = OFF_NONE,
				.code_firstlineno = OFF_NONE,
				.code_co_code_adaptive = OFF_NONE,
				.unicode_state = OFF_NONE,
				.unicode_length = OFF_NONE,
				.unicode_asciiobject_size = OFF_NONE,
				.bytes_ob_size = OFF_NONE,
				.bytes_ob_sval = OFF_NONE,
			},
	},
	{
		.major = 3,
		.minor = 10,
		.generated_from = "3.10.13 headers (pyenv 3.10.13)",
		.linetable = PY_LINETABLE_310,
		.lasti_bytes = 0,
		/* frame fields end by byte 104 */
		.walk =
			{
				.runtime_interpreters_head = 32,
				.interp_threads_head = 8,
				.tstate_next = 8,
				.tstate_native_thread_id = OFF_NONE,
				.tstate_thread_id = 176,
				.tstate_frame = 24,
				.cframe_current_frame = OFF_NONE,
				.frame_previous = 24,
				.frame_code = 32,
				.frame_instr = 96,
				.frame_owner = OFF_NONE,
				.frame_is_entry = OFF_NONE,
				.instr_size = 4,
				.owner_shim_min = 255,
			},
		.code =
			{
				.co_filename = 104,
				.co_name = 112,
				.co_qualname = OFF_NONE,
				.co_firstlineno = 40,
				.co_linetable = 120,
				.co_code_adaptive = OFF_NONE,
				.bytes_size = 16,
				.bytes_data = 32,
				.unicode_length = 16,
				.unicode_state = 32,
				.ascii_data = 48,
				.compact_data = 72,
			},
		.gil =
			{
				.runtime_off = 352,
				.interp_ptr_off = OFF_NONE,
				.size = 208,
			},
		.has_debug_offsets = 0,
		.dbg =
			{
				.size = 0,
				.version = OFF_NONE,
				.free_threaded = OFF_NONE,
				.runtime_interpreters_head = OFF_NONE,
				.interp_threads_head = OFF_NONE,
				.tstate_next = OFF_NONE,
				.tstate_native_thread_id = OFF_NONE,
				.tstate_current_frame = OFF_NONE,
				.frame_previous = OFF_NONE,
				.frame_executable = OFF_NONE,
				.frame_instr_ptr = OFF_NONE,
				.frame_owner = OFF_NONE,
				.code_filename = OFF_NONE,
				.code_name = OFF_NONE,
				.code_qualname = OFF_NONE,
				.code_linetable = OFF_NONE,
				.code_firstlineno = OFF_NONE,
				.code_co_code_adaptive = OFF_NONE,
				.unicode_state = OFF_NONE,
				.unicode_length = OFF_NONE,
				.unicode_asciiobject_size = OFF_NONE,
				.bytes_ob_size = OFF_NONE,
				.bytes_ob_sval = OFF_NONE,
			},
	},
	{
		.major = 3,
		.minor = 11,
		.generated_from =
			"3.11.7 headers (pyenv 3.11.7); same offsets: 3.11.2",
		.linetable = PY_LINETABLE_LOCATION,
		.lasti_bytes = 0,
		/* frame fields end by byte 76 */
		.walk =
			{
				.runtime_interpreters_head = 40,
				.interp_threads_head = 16,
				.tstate_next = 8,
				.tstate_native_thread_id = 160,
				.tstate_thread_id = 152,
				.tstate_frame = 56,
				.cframe_current_frame = 8,
				.frame_previous = 48,
				.frame_code = 32,
				.frame_instr = 56,
				.frame_owner = OFF_NONE,
				.frame_is_entry = 68,
				.instr_size = 8,
				.owner_shim_min = 255,
			},
		.code =
			{
				.co_filename = 112,
				.co_name = 120,
				.co_qualname = 128,
				.co_firstlineno = 72,
				.co_linetable = 136,
				.co_code_adaptive = 184,
				.bytes_size = 16,
				.bytes_data = 32,
				.unicode_length = 16,
				.unicode_state = 32,
				.ascii_data = 48,
				.compact_data = 72,
			},
		.gil =
			{
				.runtime_off = 360,
				.interp_ptr_off = OFF_NONE,
				.size = 208,
			},
		.has_debug_offsets = 0,
		.dbg =
			{
				.size = 0,
				.version = OFF_NONE,
				.free_threaded = OFF_NONE,
				.runtime_interpreters_head = OFF_NONE,
				.interp_threads_head = OFF_NONE,
				.tstate_next = OFF_NONE,
				.tstate_native_thread_id = OFF_NONE,
				.tstate_current_frame = OFF_NONE,
				.frame_previous = OFF_NONE,
				.frame_executable = OFF_NONE,
				.frame_instr_ptr = OFF_NONE,
				.frame_owner = OFF_NONE,
				.code_filename = OFF_NONE,
				.code_name = OFF_NONE,
				.code_qualname = OFF_NONE,
				.code_linetable = OFF_NONE,
				.code_firstlineno = OFF_NONE,
				.code_co_code_adaptive = OFF_NONE,
				.unicode_state = OFF_NONE,
				.unicode_length = OFF_NONE,
				.unicode_asciiobject_size = OFF_NONE,
				.bytes_ob_size = OFF_NONE,
				.bytes_ob_sval = OFF_NONE,
			},
	},
	{
		.major = 3,
		.minor = 12,
		.generated_from = "3.12.1 headers (pyenv 3.12.1)",
		.linetable = PY_LINETABLE_LOCATION,
		.lasti_bytes = 0,
		/* frame fields end by byte 78; FRAME_OWNED_BY_CSTACK = 3 */
		.walk =
			{
				.runtime_interpreters_head = 40,
				.interp_threads_head = 72,
				.tstate_next = 8,
				.tstate_native_thread_id = 144,
				.tstate_thread_id = 136,
				.tstate_frame = 56,
				.cframe_current_frame = 0,
				.frame_previous = 8,
				.frame_code = 0,
				.frame_instr = 56,
				.frame_owner = 70,
				.frame_is_entry = OFF_NONE,
				.instr_size = 8,
				.owner_shim_min = 3,
			},
		.code =
			{
				.co_filename = 112,
				.co_name = 120,
				.co_qualname = 128,
				.co_firstlineno = 68,
				.co_linetable = 136,
				.co_code_adaptive = 192,
				.bytes_size = 16,
				.bytes_data = 32,
				.unicode_length = 16,
				.unicode_state = 32,
				.ascii_data = 40,
				.compact_data = 56,
			},
		.gil =
			{
				.runtime_off = OFF_NONE,
				.interp_ptr_off = 384,
				.size = 208,
			},
		.has_debug_offsets = 0,
		.dbg =
			{
				.size = 0,
				.version = OFF_NONE,
				.free_threaded = OFF_NONE,
				.runtime_interpreters_head = OFF_NONE,
				.interp_threads_head = OFF_NONE,
				.tstate_next = OFF_NONE,
				.tstate_native_thread_id = OFF_NONE,
				.tstate_current_frame = OFF_NONE,
				.frame_previous = OFF_NONE,
				.frame_executable = OFF_NONE,
				.frame_instr_ptr = OFF_NONE,
				.frame_owner = OFF_NONE,
				.code_filename = OFF_NONE,
				.code_name = OFF_NONE,
				.code_qualname = OFF_NONE,
				.code_linetable = OFF_NONE,
				.code_firstlineno = OFF_NONE,
				.code_co_code_adaptive = OFF_NONE,
				.unicode_state = OFF_NONE,
				.unicode_length = OFF_NONE,
				.unicode_asciiobject_size = OFF_NONE,
				.bytes_ob_size = OFF_NONE,
				.bytes_ob_sval = OFF_NONE,
			},
	},
	{
		.major = 3,
		.minor = 13,
		.generated_from = "3.13.5 headers (Debian trixie "
				  "libpython3.13-dev); same offsets: 3.13.0",
		.linetable = PY_LINETABLE_LOCATION,
		.lasti_bytes = 0,
		/* frame fields end by byte 78; FRAME_OWNED_BY_CSTACK = 3 */
		.walk =
			{
				.runtime_interpreters_head = 632,
				.interp_threads_head = 7344,
				.tstate_next = 8,
				.tstate_native_thread_id = 160,
				.tstate_thread_id = 152,
				.tstate_frame = 72,
				.cframe_current_frame = OFF_NONE,
				.frame_previous = 8,
				.frame_code = 0,
				.frame_instr = 56,
				.frame_owner = 70,
				.frame_is_entry = OFF_NONE,
				.instr_size = 8,
				.owner_shim_min = 3,
			},
		.code =
			{
				.co_filename = 112,
				.co_name = 120,
				.co_qualname = 128,
				.co_firstlineno = 68,
				.co_linetable = 136,
				.co_code_adaptive = 200,
				.bytes_size = 16,
				.bytes_data = 32,
				.unicode_length = 16,
				.unicode_state = 32,
				.ascii_data = 40,
				.compact_data = 56,
			},
		.gil =
			{
				.runtime_off = OFF_NONE,
				.interp_ptr_off = 16,
				.size = 208,
			},
		.has_debug_offsets = 1,
		.dbg =
			{
				.size = 584,
				.version = 8,
				.free_threaded = 16,
				.runtime_interpreters_head = 40,
				.interp_threads_head = 72,
				.tstate_next = 168,
				.tstate_native_thread_id = 200,
				.tstate_current_frame = 184,
				.frame_previous = 232,
				.frame_executable = 240,
				.frame_instr_ptr = 248,
				.frame_owner = 264,
				.code_filename = 280,
				.code_name = 288,
				.code_qualname = 296,
				.code_linetable = 304,
				.code_firstlineno = 312,
				.code_co_code_adaptive = 344,
				.unicode_state = 544,
				.unicode_length = 552,
				.unicode_asciiobject_size = 560,
				.bytes_ob_size = 520,
				.bytes_ob_sval = 528,
			},
	},
	{
		.major = 3,
		.minor = 14,
		.generated_from =
			"3.14.10 headers (Debian sid libpython3.14-dev)",
		.linetable = PY_LINETABLE_LOCATION,
		.lasti_bytes = 0,
		/* frame fields end by byte 82; FRAME_OWNED_BY_INTERPRETER = 3;
		   f_executable is a _PyStackRef: tag mask 3 */
		.walk =
			{
				.runtime_interpreters_head = 808,
				.interp_threads_head = 7344,
				.tstate_next = 8,
				.tstate_native_thread_id = 160,
				.tstate_thread_id = 152,
				.tstate_frame = 72,
				.cframe_current_frame = OFF_NONE,
				.frame_previous = 8,
				.frame_code = 0,
				.frame_instr = 56,
				.frame_owner = 74,
				.frame_is_entry = OFF_NONE,
				.instr_size = 8,
				.owner_shim_min = 3,
			},
		.code =
			{
				.co_filename = 112,
				.co_name = 120,
				.co_qualname = 128,
				.co_firstlineno = 68,
				.co_linetable = 136,
				.co_code_adaptive = 208,
				.bytes_size = 16,
				.bytes_data = 32,
				.unicode_length = 16,
				.unicode_state = 32,
				.ascii_data = 40,
				.compact_data = 56,
			},
		.gil =
			{
				.runtime_off = OFF_NONE,
				.interp_ptr_off = 16,
				.size = 208,
			},
		.has_debug_offsets = 1,
		.dbg =
			{
				.size = 760,
				.version = 8,
				.free_threaded = 16,
				.runtime_interpreters_head = 40,
				.interp_threads_head = 72,
				.tstate_next = 192,
				.tstate_native_thread_id = 224,
				.tstate_current_frame = 208,
				.frame_previous = 256,
				.frame_executable = 264,
				.frame_instr_ptr = 272,
				.frame_owner = 288,
				.code_filename = 320,
				.code_name = 328,
				.code_qualname = 336,
				.code_linetable = 344,
				.code_firstlineno = 352,
				.code_co_code_adaptive = 384,
				.unicode_state = 624,
				.unicode_length = 632,
				.unicode_asciiobject_size = 640,
				.bytes_ob_size = 600,
				.bytes_ob_sval = 608,
			},
	},
	{
		.major = 3,
		.minor = 15,
		.generated_from = "3.15.2 headers (Debian experimental "
				  "libpython3.15-dev)",
		.linetable = PY_LINETABLE_LOCATION,
		.lasti_bytes = 0,
		/* frame fields end by byte 82; FRAME_OWNED_BY_INTERPRETER = 3;
		   f_executable is a _PyStackRef: tag mask 3 */
		.walk =
			{
				.runtime_interpreters_head = 936,
				.interp_threads_head = 7336,
				.tstate_next = 8,
				.tstate_native_thread_id = 184,
				.tstate_thread_id = 176,
				.tstate_frame = 72,
				.cframe_current_frame = OFF_NONE,
				.frame_previous = 8,
				.frame_code = 0,
				.frame_instr = 56,
				.frame_owner = 74,
				.frame_is_entry = OFF_NONE,
				.instr_size = 8,
				.owner_shim_min = 3,
			},
		.code =
			{
				.co_filename = 112,
				.co_name = 120,
				.co_qualname = 128,
				.co_firstlineno = 68,
				.co_linetable = 136,
				.co_code_adaptive = 208,
				.bytes_size = 16,
				.bytes_data = 32,
				.unicode_length = 16,
				.unicode_state = 32,
				.ascii_data = 40,
				.compact_data = 56,
			},
		.gil =
			{
				.runtime_off = OFF_NONE,
				.interp_ptr_off = 16,
				.size = 208,
			},
		.has_debug_offsets = 1,
		.dbg =
			{
				.size = 888,
				.version = 8,
				.free_threaded = 16,
				.runtime_interpreters_head = 40,
				.interp_threads_head = 72,
				.tstate_next = 192,
				.tstate_native_thread_id = 248,
				.tstate_current_frame = 208,
				.frame_previous = 320,
				.frame_executable = 328,
				.frame_instr_ptr = 336,
				.frame_owner = 352,
				.code_filename = 384,
				.code_name = 392,
				.code_qualname = 400,
				.code_linetable = 408,
				.code_firstlineno = 416,
				.code_co_code_adaptive = 448,
				.unicode_state = 720,
				.unicode_length = 728,
				.unicode_asciiobject_size = 736,
				.bytes_ob_size = 696,
				.bytes_ob_sval = 704,
			},
	},
};

const int py_versions_count = sizeof(py_versions) / sizeof(py_versions[0]);

const struct py_version_info *py_version_info__find(int major, int minor)
{
	for (int i = 0; i < py_versions_count; i++)
		if (py_versions[i].major == major &&
		    py_versions[i].minor == minor)
			return &py_versions[i];
	return NULL;
}
