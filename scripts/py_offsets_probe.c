/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Offset probe for scripts/gen-offsets.sh: compiled against one CPython
 * version's own headers (with -DPy_BUILD_CORE for the internal ones), it
 * prints "name value" lines, one per field pystrobe needs. A field that does
 * not exist in this version prints "none". Nothing here is hand-written
 * numbers: every value is offsetof/sizeof/an enum constant of the headers.
 */
#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#endif
#include <Python.h>
#include <stddef.h>
#include <stdio.h>

#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h>
#endif
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_code.h"
#include "internal/pycore_frame.h"
#endif
#if defined(__has_include)
#if __has_include("internal/pycore_interpframe_structs.h")
#include "internal/pycore_interpframe_structs.h"
#endif
#if __has_include("internal/pycore_debug_offsets.h")
#include "internal/pycore_debug_offsets.h"
#endif
#if __has_include("internal/pycore_stackref.h") && PY_VERSION_HEX >= 0x030E0000
#include "internal/pycore_stackref.h"
#endif
#endif

#define P(name, value) printf("%s %lu\n", name, (unsigned long)(value))
#define NONE(name) printf("%s none\n", name)
#define S(name, str) printf("%s %s\n", name, str)

int main(void)
{
	S("version", PY_VERSION);
	P("version_hex", PY_VERSION_HEX);
#ifdef Py_GIL_DISABLED
	P("free_threaded", 1);
#else
	P("free_threaded", 0);
#endif

	/* --- walk --- */
	P("walk.runtime_interpreters_head",
	  offsetof(_PyRuntimeState, interpreters.head));
#if PY_VERSION_HEX < 0x030B0000
	P("walk.interp_threads_head",
	  offsetof(PyInterpreterState, tstate_head));
#else
	P("walk.interp_threads_head",
	  offsetof(PyInterpreterState, threads.head));
#endif
	P("walk.tstate_next", offsetof(PyThreadState, next));
#if PY_VERSION_HEX >= 0x030B0000
	P("walk.tstate_native_thread_id",
	  offsetof(PyThreadState, native_thread_id));
#else
	NONE("walk.tstate_native_thread_id");
#endif
	/* pthread_self() of the thread (all versions). */
	P("walk.tstate_thread_id", offsetof(PyThreadState, thread_id));

	/* The GIL: in _PyRuntime up to 3.11, behind interp->ceval.gil after. */
#if PY_VERSION_HEX < 0x030C0000
	P("gil.runtime_off", offsetof(_PyRuntimeState, ceval.gil));
	NONE("gil.interp_ptr_off");
#else
	NONE("gil.runtime_off");
	P("gil.interp_ptr_off", offsetof(PyInterpreterState, ceval.gil));
#endif
	P("gil.size", sizeof(struct _gil_runtime_state));

#if PY_VERSION_HEX < 0x030B0000
	P("walk.tstate_frame", offsetof(PyThreadState, frame));
	NONE("walk.cframe_current_frame");
	P("walk.frame_previous", offsetof(PyFrameObject, f_back));
	P("walk.frame_code", offsetof(PyFrameObject, f_code));
	P("walk.frame_instr", offsetof(PyFrameObject, f_lasti));
	P("walk.instr_size", sizeof(((PyFrameObject *)0)->f_lasti));
	NONE("walk.frame_owner");
	NONE("walk.frame_is_entry");
	P("walk.owner_shim_min", 255);
#else
#if PY_VERSION_HEX < 0x030D0000
	P("walk.tstate_frame", offsetof(PyThreadState, cframe));
	P("walk.cframe_current_frame", offsetof(_PyCFrame, current_frame));
	P("walk.frame_code", offsetof(_PyInterpreterFrame, f_code));
	P("walk.frame_instr", offsetof(_PyInterpreterFrame, prev_instr));
	P("walk.instr_size",
	  sizeof(((_PyInterpreterFrame *)0)->prev_instr));
#else
	P("walk.tstate_frame", offsetof(PyThreadState, current_frame));
	NONE("walk.cframe_current_frame");
	P("walk.frame_code", offsetof(_PyInterpreterFrame, f_executable));
	P("walk.frame_instr", offsetof(_PyInterpreterFrame, instr_ptr));
	P("walk.instr_size", sizeof(((_PyInterpreterFrame *)0)->instr_ptr));
#endif
	P("walk.frame_previous", offsetof(_PyInterpreterFrame, previous));
#if PY_VERSION_HEX < 0x030C0000
	NONE("walk.frame_owner");
	P("walk.frame_is_entry", offsetof(_PyInterpreterFrame, is_entry));
	P("walk.owner_shim_min", 255);
#else
	P("walk.frame_owner", offsetof(_PyInterpreterFrame, owner));
	NONE("walk.frame_is_entry");
	P("owner_size", sizeof(((_PyInterpreterFrame *)0)->owner));
#if PY_VERSION_HEX < 0x030E0000
	/* 3.12, 3.13: THREAD 0, GENERATOR 1, FRAME_OBJECT 2, CSTACK 3 */
	P("walk.owner_shim_min", FRAME_OWNED_BY_CSTACK);
	P("owner.cstack", FRAME_OWNED_BY_CSTACK);
#else
	/* 3.14: ..., INTERPRETER 3, CSTACK 4; 3.15: ..., INTERPRETER 3 */
	P("walk.owner_shim_min", FRAME_OWNED_BY_INTERPRETER);
	P("owner.interpreter", FRAME_OWNED_BY_INTERPRETER);
#endif
#endif
#endif

	/* --- code objects and strings --- */
	P("code.co_filename", offsetof(PyCodeObject, co_filename));
	P("code.co_name", offsetof(PyCodeObject, co_name));
#if PY_VERSION_HEX >= 0x030B0000
	P("code.co_qualname", offsetof(PyCodeObject, co_qualname));
#else
	NONE("code.co_qualname");
#endif
	P("code.co_firstlineno", offsetof(PyCodeObject, co_firstlineno));
#if PY_VERSION_HEX < 0x030A0000
	P("code.co_linetable", offsetof(PyCodeObject, co_lnotab));
#else
	P("code.co_linetable", offsetof(PyCodeObject, co_linetable));
#endif
#if PY_VERSION_HEX >= 0x030B0000
	P("code.co_code_adaptive", offsetof(PyCodeObject, co_code_adaptive));
#else
	NONE("code.co_code_adaptive");
#endif
	P("code.bytes_size", offsetof(PyBytesObject, ob_base.ob_size));
	P("code.bytes_data", offsetof(PyBytesObject, ob_sval));
	P("code.unicode_length", offsetof(PyASCIIObject, length));
	P("code.unicode_state", offsetof(PyASCIIObject, state));
	P("code.ascii_data", sizeof(PyASCIIObject));
	P("code.compact_data", sizeof(PyCompactUnicodeObject));
	P("sizeof_PyObject", sizeof(PyObject));

#ifdef Py_TAG_BITS
	P("stackref_tag_bits", Py_TAG_BITS);
#endif

	/*
	 * --- method classes (3.9, 3.10: no co_qualname) ---
	 * A method's class is found from its first argument (self or cls):
	 * the class in type(self).__mro__ whose __dict__ maps the code's name
	 * to a function with this code. The dict layout of these versions is
	 * private (Objects/dict-common.h, not installed): struct dk mirrors
	 * its _dictkeysobject, the same in 3.9 and 3.10.
	 */
#if PY_VERSION_HEX < 0x030B0000
	{
		struct dk {
			Py_ssize_t dk_refcnt;
			Py_ssize_t dk_size;
			void *dk_lookup;
			Py_ssize_t dk_usable;
			Py_ssize_t dk_nentries;
			char dk_indices[];
		};
		struct dk_entry {
			Py_hash_t me_hash;
			PyObject *me_key;
			PyObject *me_value;
		};

		P("cls.frame_localsplus", offsetof(PyFrameObject, f_localsplus));
		P("cls.co_varnames", offsetof(PyCodeObject, co_varnames));
		P("cls.co_argcount", offsetof(PyCodeObject, co_argcount));
		P("cls.tuple_items", offsetof(PyTupleObject, ob_item));
		P("cls.tuple_size", offsetof(PyTupleObject, ob_base.ob_size));
		P("cls.tp_name", offsetof(PyTypeObject, tp_name));
		P("cls.tp_flags", offsetof(PyTypeObject, tp_flags));
		P("cls.tp_dict", offsetof(PyTypeObject, tp_dict));
		P("cls.tp_mro", offsetof(PyTypeObject, tp_mro));
		P("cls.ht_qualname", offsetof(PyHeapTypeObject, ht_qualname));
		P("cls.func_code", offsetof(PyFunctionObject, func_code));
		P("cls.dict_keys", offsetof(PyDictObject, ma_keys));
		P("cls.dict_values", offsetof(PyDictObject, ma_values));
		P("cls.dk_size", offsetof(struct dk, dk_size));
		P("cls.dk_nentries", offsetof(struct dk, dk_nentries));
		P("cls.dk_indices", offsetof(struct dk, dk_indices));
		P("cls.entry_size", sizeof(struct dk_entry));
		P("cls.entry_key", offsetof(struct dk_entry, me_key));
		P("cls.entry_value", offsetof(struct dk_entry, me_value));
		/* classmethod and staticmethod keep their callable first. */
		P("cls.wrapped_callable", sizeof(PyObject));
	}
#else
	{
		static const char *const cls[] = {
			"frame_localsplus", "co_varnames", "co_argcount",
			"tuple_items", "tuple_size", "tp_name", "tp_flags",
			"tp_dict", "tp_mro", "ht_qualname", "func_code",
			"dict_keys", "dict_values", "dk_size", "dk_nentries",
			"dk_indices", "entry_size", "entry_key", "entry_value",
			"wrapped_callable"};

		for (size_t i = 0; i < sizeof(cls) / sizeof(cls[0]); i++)
			printf("cls.%s none\n", cls[i]);
	}
#endif

	/* --- _Py_DebugOffsets (3.13+) --- */
#if PY_VERSION_HEX >= 0x030D0000
#define D(name, member) P("dbg." name, offsetof(_Py_DebugOffsets, member))
	printf("dbg.size %lu\n", (unsigned long)sizeof(_Py_DebugOffsets));
	D("version", version);
	D("free_threaded", free_threaded);
	D("runtime_interpreters_head", runtime_state.interpreters_head);
	D("interp_threads_head", interpreter_state.threads_head);
	D("tstate_next", thread_state.next);
	D("tstate_native_thread_id", thread_state.native_thread_id);
	D("tstate_current_frame", thread_state.current_frame);
	D("frame_previous", interpreter_frame.previous);
	D("frame_executable", interpreter_frame.executable);
	D("frame_instr_ptr", interpreter_frame.instr_ptr);
	D("frame_owner", interpreter_frame.owner);
	D("code_filename", code_object.filename);
	D("code_name", code_object.name);
	D("code_qualname", code_object.qualname);
	D("code_linetable", code_object.linetable);
	D("code_firstlineno", code_object.firstlineno);
	D("code_co_code_adaptive", code_object.co_code_adaptive);
	D("unicode_state", unicode_object.state);
	D("unicode_length", unicode_object.length);
	D("unicode_asciiobject_size", unicode_object.asciiobject_size);
	D("bytes_ob_size", bytes_object.ob_size);
	D("bytes_ob_sval", bytes_object.ob_sval);
#if PY_VERSION_HEX >= 0x030E0000
	/* PEP 768 remote execution (3.14+) */
	D("debugger_eval_breaker", debugger_support.eval_breaker);
	D("debugger_support", debugger_support.remote_debugger_support);
	D("debugger_enabled", debugger_support.remote_debugging_enabled);
	D("debugger_pending_call", debugger_support.debugger_pending_call);
	D("debugger_script_path", debugger_support.debugger_script_path);
	D("debugger_script_path_size",
	  debugger_support.debugger_script_path_size);
#else
	printf("dbg.debugger_eval_breaker none\n");
	printf("dbg.debugger_support none\n");
	printf("dbg.debugger_enabled none\n");
	printf("dbg.debugger_pending_call none\n");
	printf("dbg.debugger_script_path none\n");
	printf("dbg.debugger_script_path_size none\n");
#endif
	/* Values the running build stores there, to compare with the live
	 * process (scripts/check-debug-offsets.py). */
	P("expect.runtime_interpreters_head",
	  offsetof(_PyRuntimeState, interpreters.head));
	P("expect.debug_offsets_in_runtime", offsetof(_PyRuntimeState, debug_offsets));
#endif
	return 0;
}
