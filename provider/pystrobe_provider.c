// SPDX-License-Identifier: BSD-2-Clause
/*
 * _pystrobe_provider: fires pystrobe's USDT probes on every Python function
 * entry and exit, for `pystrobe calls` on interpreters whose own
 * python:function__entry/return probes are missing or incomplete (3.11-3.14,
 * or any build without --with-dtrace).
 *
 *   pystrobe:function__entry(id | kind, filename, qualname, firstlineno)
 *	kind 0: a call (the body starts); 1: a generator/coroutine resumes
 *   pystrobe:function__return(id | kind)
 *	kind 0: a return; 1: a yield (the frame suspends); 2: an unwind
 *
 * id is the code object's serial number shifted left by 3 (kept in the code
 * object's co_extra): unlike its address it is never reused by another code
 * object, so a tracer can name it once. The kind rides in the low 3 bits. A
 * tracer reads one argument per event and the names only the first time it
 * sees an id: each USDT argument costs a tracer about 75 ns here.
 *
 * The same on every version (checked on 3.9-3.15): a generator consumed to
 * the end gives 1 call and N resumes, N yields and 1 return; gen.throw()
 * and gen.close() resume the frame (an unwind follows if the exception
 * escapes); an `await` or `yield from` that suspends counts as a yield of
 * every frame in the chain; an exception leaving a frame is an unwind.
 *
 * filename and qualname point into UTF-8 strings the code object's record
 * holds (see struct ps_code), so they stay valid while the code object
 * lives.
 *
 * One binary for every version. The module is built once, against the
 * stable ABI of 3.9 (Py_LIMITED_API), from any one version's headers, so
 * that it loads into every interpreter 3.9-3.15 whether or not that
 * interpreter's headers exist anywhere. What the stable ABI lacks (the frame
 * evaluation function, co_extra, the finalization test) are functions every
 * interpreter of those versions exports; they are declared here, weakly,
 * under their exported names (PS_API below) and the ones the running
 * version has are used. The few facts that differ per version are data:
 * ps_versions[].
 *
 * Cost. Both probes have semaphores: the kernel raises them while a uprobe
 * is attached to the probe in this process (also when it was attached by
 * file path before this module was mapped). Events are switched on only
 * while a semaphore is nonzero, so with no tracer the interpreter runs with
 * no hook at all.
 *
 * Event sources, by version (ps_versions[].source):
 *  - 3.12+: sys.monitoring, under a tool id of our own: PY_START (entry 0),
 *    PY_RESUME and PY_THROW (entry 1), PY_RETURN (return 0), PY_YIELD
 *    (return 1), PY_UNWIND (return 2).
 *  - 3.9-3.11: the frame evaluation function (PEP 523): every frame the
 *    interpreter evaluates goes through ps_eval_frame, which records an
 *    entry, runs the frame with the function it replaced and records the
 *    return (NULL: an unwind). A generator's frame tells a call (it has not
 *    run yet; 3.11: it stands at RETURN_GENERATOR) from a resumption, and a
 *    return (RETURN_VALUE) from a yield; on 3.11 the run that only creates
 *    a generator is not an activation. Unlike a profile function this does
 *    nothing for C calls and leaves 3.11's bytecode specialized: its cost
 *    is per activation, which the calibration takes out. Per interpreter:
 *    every thread at once, threads started later too.
 *
 * Switching. Nothing is switched on before the loader calls start() (after
 * it has done its own work: pystrobe's code is not the program's). Then a
 * background thread (no Python thread state while idle) polls the
 * semaphores every PS_POLL_MS without the GIL and takes the GIL only when
 * they changed, to switch events on or off; start() itself switches them
 * on synchronously if a tracer is already attached.
 *
 * Fork: os.fork() stops the poller before forking and starts a fresh one
 * in both processes after it (os.register_at_fork; in the parent only once
 * os.fork() has returned): a thread would not survive in the child, and
 * 3.12+ warns when a process with more than one thread forks. Events keep
 * the state they had in the parent until the child's poller sees the
 * child's own semaphore values. A child forked without Python's fork hooks
 * (fork() from C code that then keeps running Python) has no poller: its
 * events stay as they were (recording only while a semaphore is nonzero).
 *
 * Shutdown: an atexit callback stops and joins the poller (with the GIL
 * released) before finalization starts; the poller never takes the GIL once
 * the interpreter is finalizing. Events are left as they are, so a tracer
 * still sees the calls made during finalization.
 */
#define PY_SSIZE_T_CLEAN
#define Py_LIMITED_API 0x03090000
#include <Python.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <linux/types.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif
#include "call_tracer.h" /* the ring's layout, shared with the BPF side */
#include "memory_hooks.h"

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#if defined(__x86_64__)
/*
 * A 5-byte nop at each probe site instead of sdt.h's 1-byte one: kernels
 * with optimized x86 uprobes (6.18 here) turn a hit on a nop5 into a call
 * to a trampoline instead of a breakpoint trap, several times cheaper.
 * Older kernels trap on it like on any other instruction. (Bytes, not a
 * mnemonic: the assembler would pick a shorter encoding.) A call writes
 * below the stack pointer: this file is built with -mno-red-zone, so that
 * no live value is kept there (scripts/build-provider.sh).
 */
#undef _SDT_NOP
#define _SDT_NOP                                                               \
	.byte 0x0f;                                                            \
	.byte 0x1f;                                                            \
	.byte 0x44;                                                            \
	.byte 0x00;                                                            \
	.byte 0x00
#endif

/* ======================= Beyond the stable ABI ========================== */
/*
 * Functions of the full C API that every interpreter of the versions named
 * exports (checked on Debian's static builds and on shared libpythons).
 * Weak: a name the running version lacks is NULL, never a load error. The
 * asm label keeps our declaration apart from any the headers may make.
 */
#define PS_API(ret, name, args)                                                \
	extern ret ps_##name args __asm__(#name) __attribute__((weak))

/* Stable values since 2.x. */
#define PS_METH_FASTCALL	 0x0080 /* in the stable ABI only from 3.10 */
#define PS_CO_GENERATOR		 0x0020
#define PS_CO_COROUTINE		 0x0080
#define PS_CO_ITERABLE_COROUTINE 0x0100
#define PS_CO_ASYNC_GENERATOR	 0x0200
typedef void (*ps_freefunc)(void *);

/*
 * The frame evaluation function (PEP 523); frame: a PyFrameObject (3.9/3.10)
 * or an _PyInterpreterFrame (3.11)
 */
typedef PyObject *(*ps_evalfunc)(PyThreadState *ts, void *frame, int exc);
PS_API(ps_evalfunc, _PyInterpreterState_GetEvalFrameFunc,
       (PyInterpreterState * interp));
PS_API(void, _PyInterpreterState_SetEvalFrameFunc,
       (PyInterpreterState * interp, ps_evalfunc f));
/* co_extra: 3.9-3.11 names, 3.12+ names */
PS_API(Py_ssize_t, _PyEval_RequestCodeExtraIndex, (ps_freefunc free));
PS_API(int, _PyCode_GetExtra, (PyObject * code, Py_ssize_t i, void **extra));
PS_API(int, _PyCode_SetExtra, (PyObject * code, Py_ssize_t i, void *extra));
PS_API(Py_ssize_t, PyUnstable_Eval_RequestCodeExtraIndex, (ps_freefunc free));
PS_API(int, PyUnstable_Code_GetExtra,
       (PyObject * code, Py_ssize_t i, void **extra));
PS_API(int, PyUnstable_Code_SetExtra,
       (PyObject * code, Py_ssize_t i, void *extra));
/* finalization: 3.9-3.12 name, 3.13+ name */
PS_API(int, _Py_IsFinalizing, (void));
PS_API(int, Py_IsFinalizing, (void));
/* in the stable ABI only from 3.10 */
PS_API(const char *, PyUnicode_AsUTF8AndSize, (PyObject * s, Py_ssize_t *n));
/* types.FunctionType (3.9/3.10: finding qualified names) */
extern PyTypeObject ps_PyFunction_Type __asm__("PyFunction_Type")
	__attribute__((weak));

/*
 * Per minor version: the event source and, for the evaluation function,
 * where a frame keeps its code object and its last instruction (3.9/3.10:
 * PyFrameObject.f_lasti, an index into co_code, -1 before the frame first
 * ran; 3.11: _PyInterpreterFrame.prev_instr, a pointer to a 2-byte code
 * unit) and who owns it (3.11), and the opcodes that tell a generator's
 * call from its resumption and its yield from its return. Generated from
 * each version's real headers (frameobject.h, pycore_frame.h, opcode.h;
 * the same in every patch release checked: 3.9.2/3.9.18, 3.10.13,
 * 3.11.2/3.11.7) and checked at load (ps_eval_check).
 */
enum ps_source {
	PS_SRC_EVAL_FRAME, /* the frame evaluation function (PEP 523) */
	PS_SRC_MONITORING, /* sys.monitoring */
};

struct ps_version {
	int minor;
	enum ps_source source;
	int has_qualname;  /* code objects have co_qualname */
	size_t f_code;	   /* offsetof(frame, f_code) */
	size_t f_lasti;	   /* offsetof(PyFrameObject, f_lasti), or 0 */
	int lasti_unit;	   /* bytes per f_lasti unit */
	size_t prev_instr; /* offsetof(_PyInterpreterFrame, prev_instr), or 0 */
	size_t owner;	   /* offsetof(_PyInterpreterFrame, owner), or 0 */
	int return_op;	   /* RETURN_VALUE */
	/*
	 * What a generator's frame reads as before its body runs: -1 (not
	 * started, 3.9/3.10) or RETURN_GENERATOR (3.11)
	 */
	int gen_start_op;
};

#define PS_OWNED_BY_GENERATOR 1 /* _PyInterpreterFrame.owner */

static const struct ps_version ps_versions[] = {
	{9, PS_SRC_EVAL_FRAME, 0, 32, 104, 1, 0, 0, 83, -1},
	{10, PS_SRC_EVAL_FRAME, 0, 32, 96, 2, 0, 0, 83, -1},
	{11, PS_SRC_EVAL_FRAME, 1, 32, 0, 0, 56, 69, 83, 75},
	{12, PS_SRC_MONITORING, 1, 0, 0, 0, 0, 0, 0, 0},
	{13, PS_SRC_MONITORING, 1, 0, 0, 0, 0, 0, 0, 0},
	{14, PS_SRC_MONITORING, 1, 0, 0, 0, 0, 0, 0, 0},
	{15, PS_SRC_MONITORING, 1, 0, 0, 0, 0, 0, 0, 0},
};
#define PS_NR_VERSIONS (sizeof(ps_versions) / sizeof(ps_versions[0]))

static const struct ps_version *ps_ver; /* the running version's row */

static Py_ssize_t (*ps_request_extra)(ps_freefunc);
static int (*ps_get_extra)(PyObject *, Py_ssize_t, void **);
static int (*ps_set_extra)(PyObject *, Py_ssize_t, void *);
static int (*ps_is_finalizing)(void);

/*
 * Picks the running version's row and the functions it exports. 0, or -1
 * with ImportError set.
 */
static int ps_resolve(void)
{
	PyObject *vi = PySys_GetObject("version_info"); /* borrowed */
	PyObject *major = NULL, *minor = NULL;
	long ma = -1, mi = -1;
	size_t i;

	if (vi) {
		major = PySequence_GetItem(vi, 0);
		minor = PySequence_GetItem(vi, 1);
	}
	if (major && minor) {
		ma = PyLong_AsLong(major);
		mi = PyLong_AsLong(minor);
	}
	Py_XDECREF(major);
	Py_XDECREF(minor);
	PyErr_Clear();
	for (i = 0; ma == 3 && i < PS_NR_VERSIONS; i++)
		if (ps_versions[i].minor == mi)
			ps_ver = &ps_versions[i];
	if (!ps_ver) {
		PyErr_Format(PyExc_ImportError,
			     "the pystrobe provider does not support Python "
			     "%ld.%ld",
			     ma, mi);
		return -1;
	}
	ps_request_extra = ps__PyEval_RequestCodeExtraIndex
				   ? ps__PyEval_RequestCodeExtraIndex
				   : ps_PyUnstable_Eval_RequestCodeExtraIndex;
	ps_get_extra = ps__PyCode_GetExtra ? ps__PyCode_GetExtra
					   : ps_PyUnstable_Code_GetExtra;
	ps_set_extra = ps__PyCode_SetExtra ? ps__PyCode_SetExtra
					   : ps_PyUnstable_Code_SetExtra;
	ps_is_finalizing =
		ps_Py_IsFinalizing ? ps_Py_IsFinalizing : ps__Py_IsFinalizing;
	if (!ps_request_extra || !ps_get_extra || !ps_set_extra ||
	    !ps_is_finalizing || !ps_PyUnicode_AsUTF8AndSize ||
	    (ps_ver->source == PS_SRC_EVAL_FRAME &&
	     (!ps__PyInterpreterState_GetEvalFrameFunc ||
	      !ps__PyInterpreterState_SetEvalFrameFunc))) {
		PyErr_Format(PyExc_ImportError,
			     "this Python 3.%d does not export the C API "
			     "functions the pystrobe provider needs",
			     ps_ver->minor);
		return -1;
	}
	return 0;
}
/* ===================== End of beyond the stable ABI ===================== */

#define PS_POLL_MS 20

/*
 * The probes' semaphores (sys/sdt.h names them provider_probe_semaphore).
 * In .probes, a file-backed data section, so the kernel can find and bump
 * them through the uprobe's ref_ctr_offset.
 */
#define PS_SEMAPHORE __attribute__((visibility("hidden"), section(".probes")))
PS_SEMAPHORE unsigned short pystrobe_batch_semaphore;
PS_SEMAPHORE unsigned short pystrobe_function__name_semaphore;
PS_SEMAPHORE unsigned short pystrobe_calibration_semaphore;

#define PS_LOAD(v)     __atomic_load_n(&(v), __ATOMIC_ACQUIRE)
#define PS_STORE(v, x) __atomic_store_n(&(v), (x), __ATOMIC_RELEASE)

static int ps_started; /* start() was called: events may be switched on */

/*
 * Whether events are wanted: start() was called and a tracer is attached to
 * the batch probe in this process.
 */
static inline int ps_wanted(void)
{
	return PS_LOAD(ps_started) && PS_LOAD(pystrobe_batch_semaphore) != 0;
}

static int ps_enabled;	      /* events switched on (the last state applied) */
static int ps_broken;	      /* switching failed once: stop trying */
static int ps_stop;	      /* the poller must exit */
static int ps_wake_fd = -1;   /* eventfd that wakes the poller to stop */
static int ps_poller_started; /* the poller runs and holds ps_poller_done */
static pid_t ps_poller_tid;
static int ps_poller_paused; /* stopped for a fork, to restart after it */
static PyThread_type_lock ps_poller_done; /* released when the poller exits */

/* Writes "pystrobe: provider: WHAT: <pending exception>" and clears it. */
static void ps_report(const char *what)
{
	PyObject *type, *value, *tb;

	PyErr_Fetch(&type, &value, &tb);
	if (value)
		PySys_FormatStderr("pystrobe: provider: %s: %S\n", what, value);
	else
		PySys_FormatStderr("pystrobe: provider: %s\n", what);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
}

/* ------------------------------ code records ------------------------------ */
/*
 * What the provider knows of a code object, made at its first event and
 * kept in its co_extra slot; freed with the code object (ps_code_free).
 */
enum ps_code_flags {
	PS_CODE_GENERATOR = 1, /* generator, coroutine or async generator */
	PS_CODE_MODULE = 2,    /* a module's body (<module>) */
	PS_CODE_FUNCTION =
		4, /* a function's (CO_NEWLOCALS), not a class body */
	PS_CODE_CALIBRATION = 8, /* the empty function timed by ps_calibrate */
	PS_CODE_UNTRACED = 16,	 /* calibration code run without events */
};

struct ps_code {
	uintptr_t id; /* serial << 3 */
	unsigned flags;
	unsigned gen;	       /* the tracing session it was last named in */
	int line;	       /* co_firstlineno */
	PyObject *file, *name; /* str (co_filename, co_qualname/co_name) */
	const char *file_utf8; /* their UTF-8, owned by them */
	const char *name_utf8;
	PyObject *bytecode;	   /* 3.9/3.10 generators: co_code */
	const unsigned char *code; /* its bytes */
	Py_ssize_t code_len;
};

static Py_ssize_t ps_extra_index = -1; /* our co_extra slot */
static uintptr_t ps_next_serial = 1;   /* under the GIL */
static PyObject *ps_code_type;	       /* type(f.__code__) */

static void ps_code_free(void *p)
{
	struct ps_code *pc = p;

	if (!pc)
		return;
	Py_XDECREF(pc->file);
	Py_XDECREF(pc->name);
	Py_XDECREF(pc->bytecode);
	free(pc);
}

/* UTF-8 of a str (cached in the object), or "?" when there is none. */
static const char *ps_utf8(PyObject *s)
{
	const char *p;

	if (!s || !PyUnicode_Check(s))
		return "?";
	p = ps_PyUnicode_AsUTF8AndSize(s, NULL);
	if (!p) {
		PyErr_Clear();
		return "?";
	}
	return p;
}

static long ps_code_int(PyObject *co, const char *attr)
{
	PyObject *v = PyObject_GetAttrString(co, attr);
	long n = v ? PyLong_AsLong(v) : -1;

	Py_XDECREF(v);
	PyErr_Clear();
	return n;
}

/*
 * Makes the record of code object co (its serial is taken even if some
 * attribute cannot be read: the names are "?" then). NULL when out of
 * memory. The pending exception, if any, is left as it was.
 */
static struct ps_code *ps_code_new(PyObject *co)
{
	PyObject *type, *value, *tb;
	struct ps_code *pc = calloc(1, sizeof(*pc));
	long flags;

	if (!pc)
		return NULL;
	PyErr_Fetch(&type, &value, &tb);
	pc->id = ps_next_serial++ << 3;
	pc->file = PyObject_GetAttrString(co, "co_filename");
	pc->name = PyObject_GetAttrString(
		co, ps_ver->has_qualname ? "co_qualname" : "co_name");
	PyErr_Clear();
	pc->file_utf8 = ps_utf8(pc->file);
	pc->name_utf8 = ps_utf8(pc->name);
	pc->line = (int)ps_code_int(co, "co_firstlineno");
	flags = ps_code_int(co, "co_flags");
	if (flags > 0 &&
	    (flags & (PS_CO_GENERATOR | PS_CO_COROUTINE |
		      PS_CO_ITERABLE_COROUTINE | PS_CO_ASYNC_GENERATOR)))
		pc->flags |= PS_CODE_GENERATOR;
	if (flags > 0 && (flags & 0x0002)) /* CO_NEWLOCALS */
		pc->flags |= PS_CODE_FUNCTION;
	if (strcmp(pc->name_utf8, "<module>") == 0)
		pc->flags |= PS_CODE_MODULE;
	if ((pc->flags & PS_CODE_GENERATOR) && ps_ver->f_lasti) {
		pc->bytecode = PyObject_GetAttrString(co, "co_code");
		if (pc->bytecode && !PyBytes_Check(pc->bytecode))
			Py_CLEAR(pc->bytecode);
		if (pc->bytecode) {
			pc->code = (const unsigned char *)PyBytes_AsString(
				pc->bytecode);
			pc->code_len = PyBytes_Size(pc->bytecode);
		}
		PyErr_Clear();
	}
	if (ps_set_extra(co, ps_extra_index, pc) < 0) {
		PyErr_Clear(); /* then a new record (a new serial) next time */
		PyErr_Restore(type, value, tb);
		ps_code_free(pc);
		return NULL;
	}
	PyErr_Restore(type, value, tb);
	return pc;
}

static inline struct ps_code *ps_code_of(PyObject *co)
{
	void *extra = NULL;

	if (ps_get_extra(co, ps_extra_index, &extra) == 0 && extra)
		return extra;
	return ps_code_new(co);
}

/* --------------------- qualified names on 3.9/3.10 ----------------------- */
/*
 * Code objects have no co_qualname before 3.11. The names are recovered
 * from what the program's module holds, before a code object's name is
 * first given to a tracer: when a code object is first seen, its frame's
 * module globals are indexed (again only if they grew since), giving a
 * record, named by the compiler's rule, to every code object reachable
 * from there:
 *  - a function defined in that module: its __qualname__ (when its
 *    __name__ is its code's: a functools.wraps wrapper is not named after
 *    what it wraps), and what it wraps (__wrapped__);
 *  - a class defined in that module: its methods, static and class methods
 *    and property accessors, and its nested classes;
 *  - a code object inside one of those (co_consts): PARENT.<locals>.NAME
 *    under a function, PARENT.NAME under a class body.
 * What cannot be reached that way (a function deleted from its module, a
 * class made with type(), code run by exec) keeps its bare name; at module
 * level the bare name is the qualified name anyway.
 */
#define PS_CO_NEWLOCALS	 0x0002 /* a function's code, not a class body */
#define PS_INDEX_NESTING 16	/* classes and code objects followed */

static PyObject *ps_indexed;  /* {id(globals): (globals, len, position)} */
static PyObject *ps_descr[3]; /* staticmethod, classmethod, property */

/* Names code object co qual, unless it was given a record already. */
static void ps_name_code(PyObject *co, PyObject *qual)
{
	void *extra = NULL;
	struct ps_code *pc;
	PyObject *old;

	if (ps_get_extra(co, ps_extra_index, &extra) == 0 && extra)
		return;
	PyErr_Clear();
	pc = ps_code_new(co);
	if (!pc)
		return;
	old = pc->name;
	Py_INCREF(qual);
	pc->name = qual;
	pc->name_utf8 = ps_utf8(qual);
	Py_XDECREF(old);
	pc->flags &= ~PS_CODE_MODULE;
}

/* Names the code objects in co's constants, under co named qual. */
static void ps_index_consts(PyObject *co, PyObject *qual, int nesting)
{
	PyObject *consts, *child, *name, *cq;
	long flags = ps_code_int(co, "co_flags");
	Py_ssize_t i, n;

	if (nesting > PS_INDEX_NESTING)
		return;
	consts = PyObject_GetAttrString(co, "co_consts");
	if (!consts || !PyTuple_Check(consts)) {
		Py_XDECREF(consts);
		PyErr_Clear();
		return;
	}
	n = PyTuple_Size(consts);
	for (i = 0; i < n; i++) {
		child = PyTuple_GetItem(consts, i); /* borrowed */
		if (!child || (PyObject *)Py_TYPE(child) != ps_code_type)
			continue;
		name = PyObject_GetAttrString(child, "co_name");
		cq = name ? PyUnicode_FromFormat(
				    flags > 0 && (flags & PS_CO_NEWLOCALS)
					    ? "%U.<locals>.%U"
					    : "%U.%U",
				    qual, name)
			  : NULL;
		if (cq) {
			ps_name_code(child, cq);
			ps_index_consts(child, cq, nesting + 1);
		}
		Py_XDECREF(cq);
		Py_XDECREF(name);
		PyErr_Clear();
	}
	Py_DECREF(consts);
}

static void ps_index_object(PyObject *v, PyObject *globals, PyObject *modname,
			    int nesting);

/* A function of this module (globals): its code and what it wraps. */
static void ps_index_function(PyObject *fn, PyObject *globals, int nesting)
{
	PyObject *g, *co = NULL, *qual = NULL, *name = NULL, *coname = NULL;
	PyObject *wrapped;

	g = PyObject_GetAttrString(fn, "__globals__");
	if (g == globals) {
		co = PyObject_GetAttrString(fn, "__code__");
		qual = PyObject_GetAttrString(fn, "__qualname__");
		name = PyObject_GetAttrString(fn, "__name__");
		coname = co ? PyObject_GetAttrString(co, "co_name") : NULL;
	}
	if (co && (PyObject *)Py_TYPE(co) == ps_code_type && qual &&
	    PyUnicode_Check(qual) && name && coname &&
	    PyObject_RichCompareBool(name, coname, Py_EQ) == 1) {
		ps_name_code(co, qual);
		ps_index_consts(co, qual, nesting + 1);
	}
	Py_XDECREF(g);
	Py_XDECREF(co);
	Py_XDECREF(qual);
	Py_XDECREF(name);
	Py_XDECREF(coname);
	PyErr_Clear();
	if (nesting >= PS_INDEX_NESTING)
		return;
	/* functools.wraps: the wrapped function is another code object */
	wrapped = PyObject_GetAttrString(fn, "__wrapped__");
	if (wrapped &&
	    (PyObject *)Py_TYPE(wrapped) == (PyObject *)&ps_PyFunction_Type)
		ps_index_function(wrapped, globals, nesting + 1);
	Py_XDECREF(wrapped);
	PyErr_Clear();
}

/* A class of this module: what its namespace holds. */
static void ps_index_class(PyObject *cls, PyObject *globals, PyObject *modname,
			   int nesting)
{
	PyObject *mod = PyObject_GetAttrString(cls, "__module__");
	PyObject *ns = NULL, *values = NULL;
	Py_ssize_t i, n;

	if (mod && PyObject_RichCompareBool(mod, modname, Py_EQ) == 1)
		ns = PyObject_GetAttrString(cls, "__dict__");
	if (ns)
		values = PyMapping_Values(ns);
	n = values && PyList_Check(values) ? PyList_Size(values) : 0;
	for (i = 0; i < n; i++)
		ps_index_object(PyList_GetItem(values, i), globals, modname,
				nesting + 1);
	Py_XDECREF(mod);
	Py_XDECREF(ns);
	Py_XDECREF(values);
	PyErr_Clear();
}

static void ps_index_object(PyObject *v, PyObject *globals, PyObject *modname,
			    int nesting)
{
	static const char *const accessors[] = {"__func__", "fget", "fset",
						"fdel"};
	PyObject *type = (PyObject *)Py_TYPE(v), *f;
	size_t i;

	if (!v || nesting > PS_INDEX_NESTING)
		return;
	if (type == (PyObject *)&ps_PyFunction_Type) {
		ps_index_function(v, globals, nesting);
		return;
	}
	if (PyType_Check(v)) {
		ps_index_class(v, globals, modname, nesting);
		return;
	}
	/* only the exact builtin descriptors: no program code runs here */
	if (type != ps_descr[0] && type != ps_descr[1] && type != ps_descr[2])
		return;
	for (i = 0; i < sizeof(accessors) / sizeof(accessors[0]); i++) {
		f = PyObject_GetAttrString(v, accessors[i]);
		if (f &&
		    (PyObject *)Py_TYPE(f) == (PyObject *)&ps_PyFunction_Type)
			ps_index_function(f, globals, nesting);
		Py_XDECREF(f);
		PyErr_Clear();
	}
}

/*
 * Indexes a module's globals: the entries added since the last time (a
 * dict appends new entries, and PyDict_Next's position is the entry's),
 * or all of them if the dict shrank or was compacted since.
 */
static void ps_index_globals(PyObject *globals)
{
	PyObject *key, *seen, *entry, *modname, *value;
	Py_ssize_t pos = 0, len, old_len = 0, old_pos = 0, n = 0;

	if (!globals || !PyDict_Check(globals) || !ps_indexed)
		return;
	len = PyDict_Size(globals);
	key = PyLong_FromVoidPtr(globals);
	if (!key)
		return;
	seen = PyDict_GetItem(ps_indexed, key); /* borrowed */
	if (seen && PyTuple_Check(seen) && PyTuple_Size(seen) == 3) {
		old_len = PyLong_AsSsize_t(PyTuple_GetItem(seen, 1));
		old_pos = PyLong_AsSsize_t(PyTuple_GetItem(seen, 2));
		if (old_len == len) {
			Py_DECREF(key);
			return;
		}
		/* exactly the new entries after old_pos, or start over */
		for (pos = old_pos; PyDict_Next(globals, &pos, NULL, &value);)
			n++;
		pos = old_len < len && n == len - old_len ? old_pos : 0;
	}
	modname = PyDict_GetItemString(globals, "__name__"); /* borrowed */
	Py_XINCREF(modname);
	while (modname && PyDict_Next(globals, &pos, NULL, &value))
		ps_index_object(value, globals, modname, 0);
	Py_XDECREF(modname);
	PyErr_Clear();
	entry = Py_BuildValue("(Onn)", globals, len, pos);
	if (entry)
		PyDict_SetItem(ps_indexed, key, entry);
	Py_XDECREF(entry);
	Py_DECREF(key);
	PyErr_Clear();
}

static struct ps_code *ps_code_of_frame(PyObject *co, PyFrameObject *f,
					int nesting);

/*
 * Names what the index cannot reach but its running frame tells: a class
 * body or a list, set or dict comprehension is run by the frame of the
 * code it is written in (its f_back), so its name is that code's name and
 * its own, joined by the compiler's rule.
 */
static void ps_name_from_parent(PyObject *co, PyFrameObject *f, int nesting)
{
	PyObject *back = NULL, *pco = NULL, *name = NULL, *qual;
	struct ps_code *parent;
	long flags = ps_code_int(co, "co_flags");
	const char *n;

	name = PyObject_GetAttrString(co, "co_name");
	n = name ? ps_utf8(name) : "?";
	/* module bodies (and exec'd code) have no CO_NEWLOCALS either */
	if (!name || flags < 0 || strcmp(n, "<module>") == 0 ||
	    ((flags & PS_CO_NEWLOCALS) && strcmp(n, "<listcomp>") != 0 &&
	     strcmp(n, "<setcomp>") != 0 && strcmp(n, "<dictcomp>") != 0))
		goto out;
	back = PyObject_GetAttrString((PyObject *)f, "f_back");
	if (back && back != Py_None)
		pco = PyObject_GetAttrString(back, "f_code");
	if (!pco || (PyObject *)Py_TYPE(pco) != ps_code_type)
		goto out;
	parent = ps_code_of_frame(pco, (PyFrameObject *)back, nesting + 1);
	if (!parent || !parent->name || (parent->flags & PS_CODE_MODULE))
		goto out; /* at module level the bare name is the full one */
	qual = PyUnicode_FromFormat(
		(parent->flags & PS_CODE_FUNCTION) ? "%U.<locals>.%U" : "%U.%U",
		parent->name, name);
	if (qual)
		ps_name_code(co, qual);
	Py_XDECREF(qual);
out:
	Py_XDECREF(name);
	Py_XDECREF(back);
	Py_XDECREF(pco);
	PyErr_Clear();
}

/*
 * ps_code_of() for the evaluation function, which has the frame: on 3.9/3.10 a
 * new code object is named from its module's index, or from its parent frame,
 * before its record is made.
 */
static struct ps_code *ps_code_of_frame(PyObject *co, PyFrameObject *f,
					int nesting)
{
	PyObject *type, *value, *tb, *globals;
	void *extra = NULL;

	if (ps_get_extra(co, ps_extra_index, &extra) == 0 && extra)
		return extra;
	if (!ps_ver->has_qualname && nesting <= PS_INDEX_NESTING) {
		PyErr_Fetch(&type, &value, &tb);
		globals = PyObject_GetAttrString((PyObject *)f, "f_globals");
		ps_index_globals(globals);
		Py_XDECREF(globals);
		PyErr_Clear();
		if (ps_get_extra(co, ps_extra_index, &extra) != 0 || !extra)
			ps_name_from_parent(co, f, nesting);
		PyErr_Clear();
		PyErr_Restore(type, value, tb);
	}
	return ps_code_of(co);
}

/*
 * The index's state; the builtin descriptor types whose accessors it
 * follows. 0, or -1 with an exception set.
 */
static int ps_index_init(void)
{
	static const char *const names[] = {"staticmethod", "classmethod",
					    "property"};
	PyObject *builtins = PyEval_GetBuiltins(); /* borrowed */
	size_t i;

	if (ps_ver->has_qualname)
		return 0;
	if (!&ps_PyFunction_Type) {
		PyErr_SetString(PyExc_ImportError,
				"PyFunction_Type is not exported");
		return -1;
	}
	for (i = 0; i < 3; i++) {
		ps_descr[i] = builtins
				      ? PyDict_GetItemString(builtins, names[i])
				      : NULL;
		if (!ps_descr[i]) {
			PyErr_Format(PyExc_ImportError, "no builtin %s",
				     names[i]);
			return -1;
		}
		Py_INCREF(ps_descr[i]);
	}
	ps_indexed = PyDict_New();
	return ps_indexed ? 0 : -1;
}

/* ------------------------------ the rings -------------------------------- */
/*
 * Each thread writes its events into a ring of its own (struct call_ring,
 * read by the tracer's BPF programs); the provider's own fields sit in the
 * ring's reserved words, beside head. A tracing session (events switched
 * on) has a generation number: a thread announces its ring, and a code
 * object its name, once per session, so that a tracer attached later
 * learns both.
 */
struct ps_ring {
	uint64_t head;	  /* events written (read by the tracer) */
	uint64_t fired;	  /* head at the last batch */
	uint64_t fire_ts; /* when */
	int64_t depth;	  /* frames entered and not left since the announce */
	uint64_t gen;	  /* the session it was announced in */
	uint64_t owner;	  /* tid of the thread writing it */
	uint64_t pad[2];
	struct call_ring_event ev[CALL_RING_EVENTS];
};
_Static_assert(sizeof(struct ps_ring) == sizeof(struct call_ring) &&
		       __builtin_offsetof(struct ps_ring, ev) ==
			       __builtin_offsetof(struct call_ring, ev),
	       "struct ps_ring must be struct call_ring");

static __thread struct ps_ring *ps_self;
static unsigned ps_gen = 1; /* the current session; under the GIL */
/* What was sent (under the GIL; for stats()). */
static unsigned long long ps_nr_events, ps_nr_batches, ps_nr_names;

/*
 * Every ring made (under the GIL): a thread that exited leaves its ring to
 * the next new thread. Never freed: a tracer may still be reading one.
 */
static struct ps_ring **ps_rings;
static size_t ps_nr_rings, ps_cap_rings;

/* ------------------------------- the clock ------------------------------- */
/*
 * Events carry CLOCK_MONOTONIC ns, the tracer's clock (bpf_ktime_get_ns),
 * and an activation reads it twice. Where the CPU's TSC runs at a constant
 * rate, it is read instead and mapped onto that clock: cheaper (in this
 * project's VMs the calibrated cost per activation fell from 52-112 ns to
 * 18-45, README). The map is a line through a (clock, TSC) pair
 * read at every calibration (about every PS_RECALIB_NS, under the GIL like
 * every event), with the slope measured since the first pair (read at
 * import, and at least PS_TSC_BASELINE_NS before the first use). Between
 * two pairs the map drifts by the slope's error: a few µs after the first
 * (a 2 ms baseline read to about 25 ns), tens of ns later. A slope that
 * moves by more than 1e-3, or a TSC that runs backwards, turns the TSC off
 * for good: clock_gettime() from then on, as on CPUs without it.
 */
static inline uint64_t ps_clock_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

#define PS_TSC_BASELINE_NS 2000000ULL

/* under the GIL: written by ps_clock_anchor, read by ps_now */
static struct {
	int usable;		      /* a constant TSC: mapping allowed */
	int on;			      /* ps_now reads the TSC */
	uint64_t first_ns, first_tsc; /* the first pair (the slope's base) */
	uint64_t base_ns, base_tsc;   /* the latest pair */
	uint64_t mult;		      /* ns per TSC tick, << 32 */
	uint64_t first_mult;	      /* the first slope measured */
} ps_tsc;

#if defined(__x86_64__)
static int ps_tsc_constant(void)
{
	unsigned a, b, c, d;

	/* CPUID 0x80000007 EDX bit 8: the invariant TSC */
	return __get_cpuid(0x80000007, &a, &b, &c, &d) && (d & (1u << 8));
}
static inline uint64_t ps_tsc_read(void)
{
	return __rdtsc();
}
#else
static int ps_tsc_constant(void)
{
	return 0;
}
static inline uint64_t ps_tsc_read(void)
{
	return 0;
}
#endif

static inline uint64_t ps_now(void)
{
	int64_t d;

	if (!ps_tsc.on)
		return ps_clock_ns();
	d = (int64_t)(ps_tsc_read() - ps_tsc.base_tsc);
	if (d >= 0)
		return ps_tsc.base_ns +
		       (uint64_t)(((unsigned __int128)d * ps_tsc.mult) >> 32);
	return ps_tsc.base_ns -
	       (uint64_t)(((unsigned __int128)-d * ps_tsc.mult) >> 32);
}

/* A (clock, TSC) pair: the TSC read between the two closest clock reads. */
static void ps_tsc_pair(uint64_t *ns, uint64_t *tsc)
{
	uint64_t a, b, t, best = UINT64_MAX;
	int i;

	for (i = 0; i < 5; i++) {
		a = ps_clock_ns();
		t = ps_tsc_read();
		b = ps_clock_ns();
		if (b - a < best) {
			best = b - a;
			*ns = a + (b - a) / 2;
			*tsc = t;
		}
	}
}

/*
 * Brings the map up to date (GIL held): a new pair, and the slope since the
 * first one; waits out the baseline the first time.
 */
static void ps_clock_anchor(void)
{
	uint64_t ns, tsc, mult;

	if (!ps_tsc.usable)
		return;
	ps_tsc_pair(&ns, &tsc);
	if (!ps_tsc.first_tsc) {
		ps_tsc.first_ns = ns;
		ps_tsc.first_tsc = tsc;
	}
	while (ns - ps_tsc.first_ns < PS_TSC_BASELINE_NS)
		ps_tsc_pair(&ns, &tsc);
	if (tsc <= ps_tsc.first_tsc || tsc < ps_tsc.base_tsc)
		goto unusable;
	mult = (uint64_t)(((unsigned __int128)(ns - ps_tsc.first_ns) << 32) /
			  (tsc - ps_tsc.first_tsc));
	if (!ps_tsc.first_mult)
		ps_tsc.first_mult = mult;
	if (mult > ps_tsc.first_mult + ps_tsc.first_mult / 1000 ||
	    mult < ps_tsc.first_mult - ps_tsc.first_mult / 1000)
		goto unusable;
	ps_tsc.base_ns = ns;
	ps_tsc.base_tsc = tsc;
	ps_tsc.mult = mult;
	ps_tsc.on = 1;
	return;
unusable:
	ps_tsc.usable = ps_tsc.on = 0;
}

/*
 * The one batch probe site (the notes list one location per probe): the
 * tracer folds this ring's events up to head.
 */
__attribute__((noinline)) static void ps_fire(struct ps_ring *r, uint64_t ts)
{
	uint64_t head = r->head;

	STAP_PROBE2(pystrobe, batch, (uintptr_t)r, head);
	ps_nr_batches++;
	r->fired = head;
	r->fire_ts = ts;
}

/* Time held up in timed batches (under the GIL; for the calibration). */
static uint64_t ps_paused_ns;

/*
 * A batch from the event path: how long handing it over took (the probe,
 * and the tracer's fold in it) is recorded as a CALL_EV_PAUSE event, which
 * the tracer takes out of the activations open now: measured, not
 * estimated.
 */
static void ps_fire_timed(struct ps_ring *r, uint64_t ts)
{
	struct call_ring_event *ev;
	uint64_t end, h;

	ps_fire(r, ts);
	end = ps_now();
	h = r->head;
	ev = &r->ev[h & (CALL_RING_EVENTS - 1)];
	ev->ts = end;
	ev->word = (end - ts) << 3 | CALL_EV_PAUSE;
	PS_STORE(r->head, h + 1);
	ps_paused_ns += end - ts;
}

/* Names a code object to the tracer, once per session. */
__attribute__((noinline)) static void ps_name(struct ps_code *pc)
{
	pc->gen = ps_gen;
	ps_nr_names++;
	STAP_PROBE4(pystrobe, function__name, pc->id, pc->file_utf8,
		    pc->name_utf8, pc->line);
}

/* A ring for the calling thread: one an exited thread left, or a new one. */
static struct ps_ring *ps_ring_get(void)
{
	pid_t me = (pid_t)syscall(SYS_gettid), pid = getpid();
	struct ps_ring *r, **grown;
	size_t i, cap;

	for (i = 0; i < ps_nr_rings; i++) {
		r = ps_rings[i];
		/* its thread is gone (its tid may even be ours now) */
		if ((pid_t)r->owner == me ||
		    (syscall(SYS_tgkill, pid, (pid_t)r->owner, 0) < 0 &&
		     errno == ESRCH)) {
			r->owner = (uint64_t)me;
			return r;
		}
	}
	if (ps_nr_rings == ps_cap_rings) {
		cap = ps_cap_rings ? 2 * ps_cap_rings : 16;
		grown = realloc(ps_rings, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		ps_rings = grown;
		ps_cap_rings = cap;
	}
	if (posix_memalign((void **)&r, 64, sizeof(*r)))
		return NULL;
	memset(r, 0, sizeof(*r));
	r->owner = (uint64_t)me;
	ps_rings[ps_nr_rings++] = r;
	return r;
}

/*
 * The calling thread's ring, announced to the tracer of this session
 * (a batch with nothing new: the tracer folds from here on).
 */
static struct ps_ring *ps_ring_start(void)
{
	struct ps_ring *r = ps_self;

	if (!r) {
		r = ps_ring_get();
		if (!r)
			return NULL;
		ps_self = r;
	}
	r->gen = ps_gen;
	r->depth = 0;
	ps_fire(r, ps_now());
	return r;
}

/*
 * Start-up frames not recorded (see start()): on thread ps_skip_thread, the
 * frames that were running when start() was called and have not returned
 * yet (ps_skip_outer), and the calls made under them (ps_skip_depth). Under
 * the GIL.
 */
static unsigned long ps_skip_thread;
static long ps_skip_outer, ps_skip_depth;

/*
 * Whether this event belongs to a start-up frame; keeps the counts. The
 * evaluation function (3.9-3.11) never sees a start-up frame return (it was
 * entered before): there, a frame entered with no Python frame under it
 * ends the start-up.
 */
static int ps_skip(int entry)
{
	if (PyThread_get_thread_ident() != ps_skip_thread)
		return 0;
	if (entry && !ps_skip_depth && ps_ver->source == PS_SRC_EVAL_FRAME &&
	    !PyEval_GetFrame()) {
		ps_skip_outer = 0;
		return 0;
	}
	if (entry)
		ps_skip_depth++;
	else if (ps_skip_depth > 0)
		ps_skip_depth--;
	else
		ps_skip_outer--; /* a start-up frame returned */
	return 1;
}

/* The calibration's empty function: the time inside it (ps_calibrate). */
static uint64_t ps_calib_entry_ts, ps_calib_inside, ps_calib_n;
static uint64_t ps_calib_entry_paused; /* ps_paused_ns at its entry */

/* (the batches' pauses are not in it: the tracer takes them out itself) */
static void ps_calib_event(int entry, uint64_t ts)
{
	if (entry) {
		ps_calib_entry_ts = ts;
		ps_calib_entry_paused = ps_paused_ns;
	} else if (ps_calib_entry_ts) {
		ps_calib_inside += ts - ps_calib_entry_ts -
				   (ps_paused_ns - ps_calib_entry_paused);
		ps_calib_n++;
		ps_calib_entry_ts = 0;
	}
}

/*
 * Records one event (enum call_event_kind) of the calling thread, GIL
 * held. The batch goes to the tracer when CALL_RING_BATCH events are new,
 * when CALL_RING_FLUSH_NS passed since the last one, and when the thread's
 * outermost frame returns (its end, a module's end, each call made from C
 * during finalization): a thread's or a process's last events are never
 * left behind.
 */
static inline void ps_event(struct ps_code *pc, unsigned kind)
{
	struct ps_ring *r = ps_self;
	struct call_ring_event *ev;
	int entry = kind <= CALL_EV_RESUME;
	uint64_t ts, h;

	if (!PS_LOAD(pystrobe_batch_semaphore))
		return;
	if (ps_skip_outer > 0 && ps_skip(entry))
		return;
	if (__builtin_expect(!r || r->gen != ps_gen, 0)) {
		r = ps_ring_start();
		if (!r)
			return;
	}
	if (entry && __builtin_expect(pc->gen != ps_gen, 0))
		ps_name(pc);
	ts = ps_now();
	if (__builtin_expect(pc->flags & PS_CODE_CALIBRATION, 0))
		ps_calib_event(entry, ts);
	h = r->head;
	ev = &r->ev[h & (CALL_RING_EVENTS - 1)];
	ev->ts = ts;
	ev->word = pc->id | kind;
	PS_STORE(r->head, h + 1);
	ps_nr_events++;
	if (entry) {
		r->depth++;
	} else if (--r->depth <= 0) {
		r->depth = 0;
		ps_fire(r, ts); /* a thread's end: nothing after it */
		return;
	}
	if (h + 1 - r->fired >= CALL_RING_BATCH ||
	    ts - r->fire_ts >= CALL_RING_FLUSH_NS)
		ps_fire_timed(r, ts);
}

/* Hands the calling thread's events to the tracer now (fork, exit). */
static void ps_flush_self(void)
{
	struct ps_ring *r = ps_self;

	if (r && r->head != r->fired && PS_LOAD(pystrobe_batch_semaphore))
		ps_fire(r, ps_now());
}

/* ------------------------ sys.monitoring (3.12+) ------------------------- */
static int ps_tool = -1;
static long ps_event_mask;
static PyObject *ps_set_events; /* sys.monitoring.set_events */

static PyObject *ps_disable; /* sys.monitoring.DISABLE */

/*
 * Callbacks: (code, instruction_offset[, retval or exception]) -> None, or
 * DISABLE for code that runs untraced (ps_calib_init), where the event
 * allows it (PY_THROW and PY_UNWIND do not: returning it there would
 * remove the callback).
 */
#define PS_CALLBACK(fn, kind, can_disable)                                     \
	static PyObject *fn(PyObject *self, PyObject *const *args,             \
			    Py_ssize_t nargs)                                  \
	{                                                                      \
		struct ps_code *pc;                                            \
		(void)self;                                                    \
		if (nargs >= 1 &&                                              \
		    (PyObject *)Py_TYPE(args[0]) == ps_code_type &&            \
		    (pc = ps_code_of(args[0]))) {                              \
			if (!(pc->flags & PS_CODE_UNTRACED))                   \
				ps_event(pc, kind);                            \
			else if (can_disable) {                                \
				Py_INCREF(ps_disable);                         \
				return ps_disable;                             \
			}                                                      \
		}                                                              \
		Py_RETURN_NONE;                                                \
	}
PS_CALLBACK(ps_on_start, CALL_EV_CALL, 1)
PS_CALLBACK(ps_on_resume, CALL_EV_RESUME, 1)
PS_CALLBACK(ps_on_throw, CALL_EV_RESUME, 0)
PS_CALLBACK(ps_on_return, CALL_EV_RETURN, 1)
PS_CALLBACK(ps_on_yield, CALL_EV_YIELD, 1)
PS_CALLBACK(ps_on_unwind, CALL_EV_UNWIND, 0)

#define PS_FASTCALL(fn) ((PyCFunction)(void (*)(void))(fn))
static PyMethodDef ps_callbacks[] = {
	{"PY_START", PS_FASTCALL(ps_on_start), PS_METH_FASTCALL, NULL},
	{"PY_RESUME", PS_FASTCALL(ps_on_resume), PS_METH_FASTCALL, NULL},
	{"PY_THROW", PS_FASTCALL(ps_on_throw), PS_METH_FASTCALL, NULL},
	{"PY_RETURN", PS_FASTCALL(ps_on_return), PS_METH_FASTCALL, NULL},
	{"PY_YIELD", PS_FASTCALL(ps_on_yield), PS_METH_FASTCALL, NULL},
	{"PY_UNWIND", PS_FASTCALL(ps_on_unwind), PS_METH_FASTCALL, NULL},
};
#define PS_NR_CALLBACKS (sizeof(ps_callbacks) / sizeof(ps_callbacks[0]))

/*
 * Tool ids tried in order. 3 and 4 have no assigned user; 2 (PROFILER_ID)
 * comes last because cProfile claims it on enable() and fails with
 * "Another profiling tool is already active" when it is taken.
 */
static const int ps_tool_ids[] = {3, 4, 2};

/*
 * Claims a tool id and registers the callbacks (with events still off).
 * 0, or -1 with an exception set (ImportError when no id is free).
 */
static int ps_monitoring_init(void)
{
	PyObject *mon, *events = NULL, *fn, *r;
	size_t i;
	int err = -1;

	mon = PySys_GetObject("monitoring"); /* borrowed */
	if (!mon) {
		PyErr_SetString(PyExc_ImportError, "sys.monitoring is missing");
		return -1;
	}
	for (i = 0; i < sizeof(ps_tool_ids) / sizeof(ps_tool_ids[0]); i++) {
		r = PyObject_CallMethod(mon, "use_tool_id", "is",
					ps_tool_ids[i], "pystrobe");
		if (r) {
			Py_DECREF(r);
			ps_tool = ps_tool_ids[i];
			break;
		}
		if (!PyErr_ExceptionMatches(PyExc_ValueError))
			return -1;
		PyErr_Clear();
	}
	if (ps_tool < 0) {
		PyErr_SetString(PyExc_ImportError,
				"no free sys.monitoring tool id (3, 4 and 2 "
				"are all in use)");
		return -1;
	}
	events = PyObject_GetAttrString(mon, "events");
	if (!events)
		goto cleanup;
	for (i = 0; i < PS_NR_CALLBACKS; i++) {
		PyObject *ev =
			PyObject_GetAttrString(events, ps_callbacks[i].ml_name);
		long bit;

		if (!ev)
			goto cleanup;
		bit = PyLong_AsLong(ev);
		if (bit == -1 && PyErr_Occurred()) {
			Py_DECREF(ev);
			goto cleanup;
		}
		fn = PyCFunction_NewEx(&ps_callbacks[i], NULL, NULL);
		if (!fn) {
			Py_DECREF(ev);
			goto cleanup;
		}
		r = PyObject_CallMethod(mon, "register_callback", "iOO",
					ps_tool, ev, fn);
		Py_DECREF(ev);
		Py_DECREF(fn); /* sys.monitoring keeps it */
		if (!r)
			goto cleanup;
		Py_DECREF(r);
		ps_event_mask |= bit;
	}
	ps_set_events = PyObject_GetAttrString(mon, "set_events");
	ps_disable = PyObject_GetAttrString(mon, "DISABLE");
	if (!ps_set_events || !ps_disable)
		goto cleanup;
	err = 0;
cleanup:
	Py_XDECREF(events);
	if (err) {
		PyObject *type, *value, *tb;

		PyErr_Fetch(&type, &value, &tb);
		r = PyObject_CallMethod(mon, "free_tool_id", "i", ps_tool);
		Py_XDECREF(r);
		PyErr_Clear();
		PyErr_Restore(type, value, tb);
		ps_tool = -1;
	}
	return err;
}

/* Switches the events on or off; GIL held. 0, or -1 with an exception. */
static int ps_monitoring_apply(int on)
{
	PyObject *r = PyObject_CallFunction(ps_set_events, "il", ps_tool,
					    on ? ps_event_mask : 0L);

	if (!r)
		return -1;
	Py_DECREF(r);
	return 0;
}

/*
 * Runs src, the provider's own code, in a new module namespace under
 * CALL_CALIBRATION_FILE (a file the tracer leaves out). Its globals (a new
 * reference), or NULL with an exception set.
 */
static PyObject *ps_run_own_code(const char *src)
{
	PyObject *code, *globals, *r = NULL;

	code = Py_CompileString(src, CALL_CALIBRATION_FILE, Py_file_input);
	globals = code ? PyDict_New() : NULL;
	if (globals && PyDict_SetItemString(globals, "__builtins__",
					    PyEval_GetBuiltins()) == 0)
		r = PyEval_EvalCode(code, globals, globals);
	Py_XDECREF(code);
	if (!r) {
		Py_XDECREF(globals);
		return NULL;
	}
	Py_DECREF(r);
	return globals;
}

/* ------------- the frame evaluation function (3.9-3.11) ----------------- */
static ps_evalfunc ps_eval_inner; /* the function ours runs frames with */

static inline PyObject *ps_frame_code(void *frame)
{
	return *(PyObject **)((char *)frame + ps_ver->f_code);
}

/*
 * The opcode of the frame's last instruction: 3.9/3.10 read it in the
 * code's co_code (generators only: pc->code), -1 before the frame first
 * ran; 3.11 where prev_instr points (a code unit's low byte).
 */
static inline int ps_frame_op(void *frame, const struct ps_code *pc)
{
	const uint16_t *pi;
	long at;
	int lasti;

	if (ps_ver->prev_instr) {
		pi = *(const uint16_t **)((char *)frame + ps_ver->prev_instr);
		return pi ? (int)(*pi & 0xff) : -2;
	}
	lasti = *(int *)((char *)frame + ps_ver->f_lasti);
	if (lasti < 0)
		return -1;
	at = (long)lasti * ps_ver->lasti_unit;
	return pc->code && at < pc->code_len ? pc->code[at] : -2;
}

/* 3.11: a generator's own frame, not the one of the call creating it */
static inline int ps_frame_gen_owned(void *frame)
{
	return !ps_ver->owner ||
	       *((char *)frame + ps_ver->owner) == PS_OWNED_BY_GENERATOR;
}

/* 3.9/3.10: the frame is a PyFrameObject, which names need (see there) */
static inline struct ps_code *ps_code_of_eval(PyObject *co, void *frame)
{
	return ps_ver->has_qualname
		       ? ps_code_of(co)
		       : ps_code_of_frame(co, (PyFrameObject *)frame, 0);
}

/*
 * Every frame the interpreter evaluates while events are on, on every
 * thread. A generator function's own call only creates the generator (its
 * frame is not the generator's yet): not an activation.
 */
static PyObject *ps_eval_frame(PyThreadState *ts, void *frame, int exc)
{
	PyObject *co = ps_frame_code(frame), *r;
	struct ps_code *pc;
	int gen;

	if (!PS_LOAD(pystrobe_batch_semaphore) ||
	    !(pc = ps_code_of_eval(co, frame)) ||
	    (pc->flags & PS_CODE_UNTRACED))
		return ps_eval_inner(ts, frame, exc);
	gen = (pc->flags & PS_CODE_GENERATOR) != 0;
	if (gen && !ps_frame_gen_owned(frame))
		return ps_eval_inner(ts, frame, exc);
	ps_event(pc, gen && ps_frame_op(frame, pc) != ps_ver->gen_start_op
			     ? CALL_EV_RESUME
			     : CALL_EV_CALL);
	r = ps_eval_inner(ts, frame, exc);
	/* the frame (and its code) are the caller's to clear, after us */
	if (!r)
		ps_event(pc, CALL_EV_UNWIND);
	else if (gen && ps_frame_op(frame, pc) != ps_ver->return_op)
		ps_event(pc, CALL_EV_YIELD);
	else
		ps_event(pc, CALL_EV_RETURN);
	return r;
}

/*
 * The layout check: what the table's offsets read in a function's frame and
 * a generator's, run once through ps_eval_check_frame.
 */
#define PS_EVAL_SEEN 8
static struct {
	PyObject *code;
	int owned, op_before, op_after, ok;
} ps_eval_seen[PS_EVAL_SEEN];
static int ps_eval_nr_seen;

static PyObject *ps_eval_check_frame(PyThreadState *ts, void *frame, int exc)
{
	int i = ps_eval_nr_seen < PS_EVAL_SEEN ? ps_eval_nr_seen++ : -1;
	struct ps_code *pc = NULL;
	PyObject *r;

	if (i >= 0) {
		pc = ps_code_of(ps_frame_code(frame));
		ps_eval_seen[i].code = ps_frame_code(frame);
		ps_eval_seen[i].owned = ps_frame_gen_owned(frame);
		ps_eval_seen[i].op_before = pc ? ps_frame_op(frame, pc) : -2;
	}
	r = ps_eval_inner(ts, frame, exc);
	if (i >= 0) {
		ps_eval_seen[i].op_after = pc ? ps_frame_op(frame, pc) : -2;
		ps_eval_seen[i].ok = r != NULL;
	}
	return r;
}

static const char ps_eval_check_src[] = "def f():\n"
					"    pass\n"
					"def g():\n"
					"    yield 1\n"
					"def run():\n"
					"    f()\n"
					"    return list(g())\n";

/*
 * Runs f() and list(g()) through ps_eval_check_frame and compares what it
 * read with what they must be: f's frame; g's creating frame (not the
 * generator's), its body starting at RETURN_GENERATOR and yielding, then
 * resuming and returning. 0, or -1 with ImportError set.
 */
static int ps_eval_check(void)
{
	/*
	 * After run() itself: g (0: f, 1: g), owned (3.11), starts, returns
	 * (-1: any). Only 3.11 runs a frame to create a generator.
	 */
	static const int want[4][4] = {
		{0, 0, -1, -1}, /* f */
		{1, 0, -1, -1}, /* g's creating run (3.11) */
		{1, 1, 1, 0},	/* g starts and yields */
		{1, 1, 0, 1},	/* g resumes and returns */
	};
	PyInterpreterState *interp = PyInterpreterState_Get();
	PyObject *globals, *r = NULL, *run, *co[2] = {NULL, NULL};
	int ok = 0, i, n;

	globals = ps_run_own_code(ps_eval_check_src);
	for (i = 0; globals && i < 2; i++) {
		PyObject *fn = PyDict_GetItemString(globals, i ? "g" : "f");

		co[i] = fn ? PyObject_GetAttrString(fn, "__code__") : NULL;
	}
	run = globals ? PyDict_GetItemString(globals, "run") : NULL;
	if (co[0] && co[1] && run) {
		ps_eval_inner = ps__PyInterpreterState_GetEvalFrameFunc(interp);
		ps_eval_nr_seen = 0;
		ps__PyInterpreterState_SetEvalFrameFunc(interp,
							ps_eval_check_frame);
		r = PyObject_CallObject(run, NULL);
		ps__PyInterpreterState_SetEvalFrameFunc(interp, ps_eval_inner);
	}
	PyErr_Clear();
	ok = r && ps_eval_nr_seen == (ps_ver->owner ? 5 : 4);
	for (i = 0, n = 1; ok && i < 4; i++) {
		const int *w = want[i];
		int starts, returns;

		if (i == 1 && !ps_ver->owner)
			continue;
		starts = ps_eval_seen[n].op_before == ps_ver->gen_start_op;
		returns = ps_eval_seen[n].op_after == ps_ver->return_op;
		ok = ps_eval_seen[n].code == co[w[0]] && ps_eval_seen[n].ok &&
		     (!ps_ver->owner || ps_eval_seen[n].owned == w[1]) &&
		     (w[2] < 0 || starts == w[2]) &&
		     (w[3] < 0 || returns == w[3]);
		n++;
	}
	Py_XDECREF(r);
	Py_XDECREF(co[0]);
	Py_XDECREF(co[1]);
	Py_XDECREF(globals);
	if (!ok) {
		PyErr_Format(PyExc_ImportError,
			     "unexpected interpreter frame layout in Python "
			     "3.%d",
			     ps_ver->minor);
		return -1;
	}
	return 0;
}

/*
 * Puts ps_eval_frame in (on) over whatever evaluation function is there, or
 * the one it replaced back (off), unless another tool replaced ours since:
 * then ours stays in their chain, recording only while a tracer is attached.
 */
static void ps_eval_apply(int on)
{
	PyInterpreterState *interp = PyInterpreterState_Get();
	ps_evalfunc cur = ps__PyInterpreterState_GetEvalFrameFunc(interp);

	if (on && cur != ps_eval_frame) {
		ps_eval_inner = cur;
		ps__PyInterpreterState_SetEvalFrameFunc(interp, ps_eval_frame);
	} else if (!on && cur == ps_eval_frame) {
		ps__PyInterpreterState_SetEvalFrameFunc(interp, ps_eval_inner);
	}
}

static int ps_eval_enabled(void)
{
	return ps__PyInterpreterState_GetEvalFrameFunc(
		       PyInterpreterState_Get()) == ps_eval_frame;
}

/* ---------------------------- either source ------------------------------ */
static int ps_source_init(void)
{
	if (ps_ver->source == PS_SRC_MONITORING)
		return ps_monitoring_init();
	if (ps_index_init() < 0)
		return -1;
	return ps_eval_check();
}

/* GIL held. 0, or -1 with an exception set. */
static int ps_source_apply(int on)
{
	if (ps_ver->source == PS_SRC_MONITORING)
		return ps_monitoring_apply(on);
	ps_eval_apply(on);
	return 0;
}

/* Whether events are on. */
static int ps_source_enabled(void)
{
	if (ps_ver->source == PS_SRC_MONITORING)
		return PS_LOAD(ps_enabled);
	return ps_eval_enabled();
}

static PyObject *ps_tool_id(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	if (ps_tool < 0)
		Py_RETURN_NONE;
	return PyLong_FromLong(ps_tool);
}

/* ----------------------------- calibration ------------------------------ */
/*
 * What tracing costs per activation, measured in this process, so that the
 * tracer can take it out of the times it reports: an empty function called
 * PS_CALIB_CALLS times, and a generator resumed as often, each timed in
 * rounds (the fastest round counts: the least disturbed). overhead is the
 * traced time less the untraced time per activation; inside, the part of
 * it between the activation's own entry and return timestamps (the rest
 * falls in its caller's time). Generators cost more per event on 3.9-3.11
 * (the frame is read to tell a resumption from a call): hence the two. The
 * calibration code is named CALL_CALIBRATION_FILE; the tracer leaves it
 * out. Costs that are not per activation are not covered.
 *
 * The untraced time is measured at every calibration, with events on, in
 * copies of the loops whose code sends no events (PS_CODE_UNTRACED), in
 * rounds alternating with the traced ones: a baseline taken once, with
 * events off before they went on, made every calibration of a process too
 * low when that moment was slow (at a session's start the tracer is busy on
 * the machine too), and untraced rounds timed after all the traced ones
 * made some calibrations low, down to nothing. What the copies still pay
 * with events on is added back (ps_calib_wrap). The bare loop times a
 * round of a loop: the generator's own work between its timestamps.
 */
#define PS_CALIB_ROUNDS 11
/*
 * Then, while tracing lasts, the poller calibrates again about every
 * PS_RECALIB_NS, in PS_RECALIB_ROUNDS rounds (about 2 ms with the GIL:
 * under 1 % of the time): what a call costs moves with the machine, and the
 * tracer wants many calibrations to choose from (it takes their lower
 * quartile).
 */
#define PS_RECALIB_NS	  250000000ULL
#define PS_RECALIB_ROUNDS 3
#define PS_CALIB_CALLS	  2000

/* The traced loops, then their untraced copies (the same code). */
static const char ps_calib_src[] = "def _pystrobe_leaf():\n"
				   "    pass\n"
				   "def _pystrobe_calls(n):\n"
				   "    f = _pystrobe_leaf\n"
				   "    for _ in range(n):\n"
				   "        f()\n"
				   "def _pystrobe_gen(n):\n"
				   "    for _ in range(n):\n"
				   "        yield\n"
				   "def _pystrobe_resumes(n):\n"
				   "    for _ in _pystrobe_gen(n):\n"
				   "        pass\n"
				   "def _pystrobe_leaf_u():\n"
				   "    pass\n"
				   "def _pystrobe_calls_u(n):\n"
				   "    f = _pystrobe_leaf_u\n"
				   "    for _ in range(n):\n"
				   "        f()\n"
				   "def _pystrobe_gen_u(n):\n"
				   "    for _ in range(n):\n"
				   "        yield\n"
				   "def _pystrobe_resumes_u(n):\n"
				   "    for _ in _pystrobe_gen_u(n):\n"
				   "        pass\n"
				   "def _pystrobe_bare(n):\n"
				   "    for _ in range(n):\n"
				   "        pass\n";

/* What is timed: loops of calls, of resumptions, of nothing. */
enum ps_calib_loop { PS_CALIB_CALL, PS_CALIB_RESUME, PS_CALIB_BARE };
#define PS_CALIB_LOOPS 3
static PyObject *ps_calib_traced[PS_CALIB_LOOPS]; /* traced (but the bare) */
static PyObject *ps_calib_untraced[2];		  /* copies sending nothing */

/* Flags functions name of globals' code with flag. 0, or -1. */
static int ps_calib_flag(PyObject *globals, const char *name, unsigned flag)
{
	PyObject *fn = PyDict_GetItemString(globals, name); /* borrowed */
	PyObject *co = fn ? PyObject_GetAttrString(fn, "__code__") : NULL;
	struct ps_code *pc = co ? ps_code_of(co) : NULL;

	Py_XDECREF(co);
	if (!pc) {
		if (!PyErr_Occurred())
			PyErr_NoMemory();
		return -1;
	}
	pc->flags |= flag;
	return 0;
}

/* Compiles the calibration code. 0, or -1 with an exception set. */
static int ps_calib_init(void)
{
	static const char *const loops[PS_CALIB_LOOPS] = {
		"_pystrobe_calls", "_pystrobe_resumes", "_pystrobe_bare"};
	static const char *const loops_u[2] = {"_pystrobe_calls_u",
					       "_pystrobe_resumes_u"};
	static const char *const untraced[] = {
		"_pystrobe_leaf_u", "_pystrobe_calls_u", "_pystrobe_gen_u",
		"_pystrobe_resumes_u", "_pystrobe_bare"};
	PyObject *globals;
	int err = -1;
	size_t i;

	globals = ps_run_own_code(ps_calib_src);
	if (!globals)
		return -1;
	for (i = 0; i < PS_CALIB_LOOPS; i++) {
		ps_calib_traced[i] = PyDict_GetItemString(globals, loops[i]);
		if (!ps_calib_traced[i])
			goto cleanup;
		Py_INCREF(ps_calib_traced[i]);
	}
	for (i = 0; i < 2; i++) {
		ps_calib_untraced[i] =
			PyDict_GetItemString(globals, loops_u[i]);
		if (!ps_calib_untraced[i])
			goto cleanup;
		Py_INCREF(ps_calib_untraced[i]);
	}
	/* the timed functions: their own time is watched (ps_calib_event) */
	if (ps_calib_flag(globals, "_pystrobe_leaf", PS_CODE_CALIBRATION) ||
	    ps_calib_flag(globals, "_pystrobe_gen", PS_CODE_CALIBRATION))
		goto cleanup;
	for (i = 0; i < sizeof(untraced) / sizeof(untraced[0]); i++)
		if (ps_calib_flag(globals, untraced[i], PS_CODE_UNTRACED))
			goto cleanup;
	err = 0;
cleanup:
	Py_DECREF(globals);
	return err;
}

/*
 * One round of loop, in ns per call (0 if it failed: its exception is
 * cleared), and the time inside the timed function per call (if inside).
 */
static uint64_t ps_calib_time(PyObject *loop, uint64_t *inside)
{
	uint64_t t0, t, p0;
	PyObject *r;

	ps_calib_inside = ps_calib_n = ps_calib_entry_ts = 0;
	p0 = ps_paused_ns; /* the tracer takes the pauses out itself */
	t0 = ps_now();
	r = PyObject_CallFunction(loop, "i", PS_CALIB_CALLS);
	t = ps_now() - t0 - (ps_paused_ns - p0);
	if (!r) {
		PyErr_Clear();
		return 0;
	}
	Py_DECREF(r);
	if (inside)
		*inside = ps_calib_n ? ps_calib_inside / ps_calib_n : 0;
	return t / PS_CALIB_CALLS;
}

/* Keeps in *best the fastest of the rounds timed (0: none yet). 1 if t is. */
static int ps_calib_fastest(uint64_t *best, uint64_t t)
{
	if (*best && t >= *best)
		return 0;
	*best = t;
	return 1;
}

__attribute__((noinline)) static void ps_fire_calibration(uint64_t overhead,
							  uint64_t inside,
							  uint64_t r_overhead,
							  uint64_t r_inside)
{
	STAP_PROBE4(pystrobe, calibration, overhead, inside, r_overhead,
		    r_inside);
}

/* a - b, or 0 */
static inline uint64_t ps_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/*
 * What the untraced copies pay with events on, per round (ps_calib_wrap):
 * on 3.9-3.11 our evaluation function runs for them too, up to its look at
 * their flags; on 3.12+ their events are disabled where they fire, which
 * leaves nothing. Measured at a session's start, before events go on, in
 * rounds alternating with the function in place and without, so that the
 * machine's speed is the same for both.
 */
static uint64_t ps_calib_wrap[2];
static int ps_calib_ready;   /* the calibration loops are there */
static uint64_t ps_calib_at; /* when it last calibrated */

static void ps_calib_measure_wrap(void)
{
	uint64_t with, without;
	int i, r;

	ps_calib_ready = ps_calib_traced[PS_CALIB_CALL] != NULL;
	ps_calib_wrap[0] = ps_calib_wrap[1] = 0;
	if (!ps_calib_ready || ps_ver->source != PS_SRC_EVAL_FRAME ||
	    ps_eval_enabled())
		return;
	for (i = 0; i < 2; i++) {
		with = without = 0;
		for (r = 0; r < PS_CALIB_ROUNDS; r++) {
			uint64_t t;

			ps_eval_apply(1);
			t = ps_calib_time(ps_calib_untraced[i], NULL);
			if (t)
				ps_calib_fastest(&with, t);
			ps_eval_apply(0);
			t = ps_calib_time(ps_calib_untraced[i], NULL);
			if (t)
				ps_calib_fastest(&without, t);
		}
		if (!with || !without)
			ps_calib_ready = 0;
		ps_calib_wrap[i] = ps_sub(with, without);
	}
}

/*
 * One calibration, events on. With another tool's evaluation function in
 * front of ours (3.9-3.11), nothing is calibrated.
 */
static void ps_calibrate(int rounds)
{
	uint64_t on[PS_CALIB_LOOPS] = {0}, in[2] = {0, 0}, u[2] = {0, 0}, t,
		 t_in;
	int i, r;

	ps_calib_at = ps_clock_ns();
	ps_clock_anchor();
	if (!ps_calib_ready || !PS_LOAD(pystrobe_calibration_semaphore))
		return;
	if (ps_ver->source == PS_SRC_EVAL_FRAME && !ps_eval_enabled())
		return; /* another tool's evaluation function is in front */
	/* round by round, so that a slow moment hits both kinds or neither */
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < PS_CALIB_LOOPS; i++) {
			t = ps_calib_time(ps_calib_traced[i], &t_in);
			if (!t)
				return;
			if (ps_calib_fastest(&on[i], t) && i < 2)
				in[i] = t_in;
		}
		for (i = 0; i < 2; i++) {
			t = ps_calib_time(ps_calib_untraced[i], NULL);
			if (!t)
				return;
			ps_calib_fastest(&u[i], t);
		}
	}
	for (i = 0; i < 2; i++)
		on[i] = ps_sub(on[i], ps_sub(u[i], ps_calib_wrap[i]));
	/*
	 * The generator's time between its resumption and its yield is also
	 * its loop's own work, not tracing's: about a bare round's.
	 */
	in[PS_CALIB_RESUME] = ps_sub(in[PS_CALIB_RESUME], on[PS_CALIB_BARE]);
	ps_fire_calibration(on[PS_CALIB_CALL],
			    in[PS_CALIB_CALL] < on[PS_CALIB_CALL]
				    ? in[PS_CALIB_CALL]
				    : on[PS_CALIB_CALL],
			    on[PS_CALIB_RESUME],
			    in[PS_CALIB_RESUME] < on[PS_CALIB_RESUME]
				    ? in[PS_CALIB_RESUME]
				    : on[PS_CALIB_RESUME]);
}

/* ------------------------------ switching -------------------------------- */
/*
 * Brings the events to the wanted state (on while a semaphore is nonzero);
 * GIL held. 0, or -1 with an exception set (then switching stops).
 */
static int ps_sync(void)
{
	int want = ps_wanted(), starting;

	if (PS_LOAD(ps_broken))
		return 0;
	if (want == PS_LOAD(ps_enabled))
		return 0;
	starting = want && !PS_LOAD(ps_enabled);
	if (!want) {
		ps_skip_outer = 0; /* start-up frames not followed any more */
	} else if (starting) {
		ps_gen++; /* a new session: rings and names announced anew */
		ps_calib_measure_wrap();
	}
	if (starting)
		ps_clock_anchor(); /* before the first event */
	if (ps_source_apply(want) < 0) {
		PS_STORE(ps_broken, 1);
		return -1;
	}
	PS_STORE(ps_enabled, want);
	if (starting)
		ps_calibrate(PS_CALIB_ROUNDS);
	return 0;
}

/* One poll: without the GIL unless the state must change. */
static void ps_poll_once(void)
{
	int want = ps_wanted();
	PyGILState_STATE gil;

	if (PS_LOAD(ps_broken))
		return;
	if (want == PS_LOAD(ps_enabled)) {
		/* ps_calib_at: written under the GIL, read without (a hint) */
		if (want &&
		    ps_clock_ns() - PS_LOAD(ps_calib_at) >= PS_RECALIB_NS &&
		    !PS_LOAD(ps_stop) && !ps_is_finalizing()) {
			gil = PyGILState_Ensure();
			if (!ps_is_finalizing() && PS_LOAD(ps_enabled) &&
			    ps_wanted())
				ps_calibrate(PS_RECALIB_ROUNDS);
			PyGILState_Release(gil);
		}
		return;
	}
	/* Never wait for the GIL of an interpreter being finalized. */
	if (PS_LOAD(ps_stop) || ps_is_finalizing())
		return;
	gil = PyGILState_Ensure();
	if (!ps_is_finalizing() && ps_sync() < 0)
		ps_report("cannot switch events (left as they are)");
	PyGILState_Release(gil);
}

/* Memory sampling (memory_hooks.c): its hooks go in under the GIL. */
static void ps_mem_poll_once(void)
{
	PyGILState_STATE gil;

	if (!ps_mem_sync(0) || PS_LOAD(ps_stop) || ps_is_finalizing())
		return;
	gil = PyGILState_Ensure();
	if (!ps_is_finalizing())
		ps_mem_sync(1);
	PyGILState_Release(gil);
}

/*
 * The poller: a plain thread from PyThread_start_new_thread (no thread
 * state; and unlike pthread_create it needs no glibc 2.34 symbols, so one
 * build loads on bullseye too). Every signal is blocked in it, so signals
 * keep going to Python's threads (a SIGINT must interrupt the main thread's
 * sleep; a sigwait() thread must get what it waits for).
 */
static void ps_poller_main(void *arg)
{
	struct pollfd pfd = {.fd = (int)(intptr_t)arg, .events = POLLIN};
	sigset_t all;

	PS_STORE(ps_poller_tid, (pid_t)syscall(SYS_gettid));
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL); /* per thread, on Linux */
	while (!PS_LOAD(ps_stop)) {
		int n = poll(&pfd, 1, PS_POLL_MS);

		if (n < 0 && errno == EINTR)
			continue;
		if (n != 0) /* woken to stop, or poll failed */
			break;
		ps_poll_once();
		ps_mem_poll_once();
	}
	PyThread_release_lock(ps_poller_done);
}

/* 0, or a negative errno. */
static int ps_poller_start(void)
{
	if (!ps_poller_done)
		ps_poller_done = PyThread_allocate_lock();
	if (!ps_poller_done)
		return -ENOMEM;
	ps_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ps_wake_fd < 0)
		return -errno;
	PyThread_acquire_lock(ps_poller_done, WAIT_LOCK);
	PS_STORE(ps_stop, 0);
	PS_STORE(ps_poller_tid, 0);
	if (PyThread_start_new_thread(ps_poller_main,
				      (void *)(intptr_t)ps_wake_fd) ==
	    (unsigned long)-1) { /* PYTHREAD_INVALID_THREAD_ID */
		PyThread_release_lock(ps_poller_done);
		close(ps_wake_fd);
		ps_wake_fd = -1;
		return -EAGAIN;
	}
	ps_poller_started = 1;
	return 0;
}

/*
 * Stops the poller and waits until its thread is gone from the process
 * (not only done with our code: os.fork() on 3.12+ counts the process's
 * threads right after forking and warns if there is more than one). GIL
 * held, and released while waiting, since the poller may be waiting for it.
 */
static void ps_poller_stop(void)
{
	struct timespec pause = {.tv_nsec = 20 * 1000};
	uint64_t one = 1;
	ssize_t n;
	int i;

	if (!ps_poller_started)
		return;
	PS_STORE(ps_stop, 1);
	n = write(ps_wake_fd, &one, sizeof(one));
	(void)n; /* if it failed, the poller sees ps_stop within PS_POLL_MS */
	Py_BEGIN_ALLOW_THREADS;
	PyThread_acquire_lock(ps_poller_done, WAIT_LOCK);
	/* Exited threads leave the thread group shortly after; 50 ms at most.
	 */
	for (i = 0; PS_LOAD(ps_poller_tid) > 0 && i < 2500; i++) {
		if (syscall(SYS_tgkill, getpid(), PS_LOAD(ps_poller_tid), 0) &&
		    errno == ESRCH)
			break;
		nanosleep(&pause, NULL);
	}
	Py_END_ALLOW_THREADS;
	PyThread_release_lock(ps_poller_done);
	ps_poller_started = 0;
	close(ps_wake_fd);
	ps_wake_fd = -1;
}

/*
 * os.register_at_fork() callbacks. There is no poller while forking: it
 * would not survive in the child, and 3.12+ warns when a process with other
 * threads forks. The child starts a fresh one at once. The parent restarts
 * it only once os.fork() has returned, since 3.13+ counts the threads after
 * running the after_in_parent hooks: from a pending call (the main thread's
 * next eval-breaker check), which tries again while it finds itself inside
 * a Python hook registered after ours (logging has one), that is, while the
 * frame that called os.fork() is an ancestor still at that call.
 */
static PyObject *ps_fork_frame; /* the caller of os.fork() */
static long ps_fork_lasti;	/* its instruction then */
static int ps_restart_tries;

/* A frame's f_lasti or f_back (new reference; NULL for None). */
static long ps_lasti(PyObject *f)
{
	PyObject *v = PyObject_GetAttrString(f, "f_lasti");
	long lasti = v ? PyLong_AsLong(v) : -1;

	Py_XDECREF(v);
	PyErr_Clear();
	return lasti;
}

static PyObject *ps_back(PyObject *f)
{
	PyObject *b = PyObject_GetAttrString(f, "f_back");

	PyErr_Clear();
	if (b == Py_None)
		Py_CLEAR(b);
	return b;
}

static void ps_set_fork_frame(PyObject *f)
{
	PyObject *old = ps_fork_frame;

	Py_XINCREF(f);
	ps_fork_frame = f;
	ps_fork_lasti = f ? ps_lasti(f) : -1;
	Py_XDECREF(old);
}

static int ps_fork_running(void)
{
	PyObject *f = (PyObject *)PyEval_GetFrame(), *back;
	int running = 0;

	if (!ps_fork_frame || !f || f == ps_fork_frame)
		return 0;
	Py_INCREF(f);
	while (f) {
		back = ps_back(f);
		Py_DECREF(f);
		f = back;
		if (f == ps_fork_frame) {
			running = ps_lasti(f) == ps_fork_lasti;
			break;
		}
	}
	Py_XDECREF(f);
	return running;
}

static void ps_poller_resume(void)
{
	int err;

	ps_set_fork_frame(NULL);
	if (!ps_poller_paused)
		return;
	ps_poller_paused = 0;
	err = ps_poller_start();
	if (err)
		PySys_FormatStderr("pystrobe: provider: no poller after fork: "
				   "%s\n",
				   strerror(-err));
}

static int ps_resume_pending(void *unused)
{
	(void)unused;
	if (ps_poller_paused && ps_fork_running() &&
	    ++ps_restart_tries < 10000 &&
	    Py_AddPendingCall(ps_resume_pending, NULL) == 0)
		return 0;
	ps_poller_resume();
	return 0;
}

static PyObject *ps_before_fork(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	if (ps_poller_started)
		ps_poller_paused = 1;
	ps_poller_stop();
	ps_set_fork_frame((PyObject *)PyEval_GetFrame());
	ps_flush_self(); /* the child must not carry them too */
	Py_RETURN_NONE;
}

static PyObject *ps_after_fork_parent(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	ps_restart_tries = 0;
	if (ps_poller_paused && Py_AddPendingCall(ps_resume_pending, NULL))
		ps_poller_resume();
	Py_RETURN_NONE;
}

static PyObject *ps_after_fork_child(PyObject *self, PyObject *unused)
{
	struct ps_ring *r = ps_self;

	(void)self;
	(void)unused;
	/*
	 * The child's one thread keeps its ring, under its own tid; the
	 * parent's other rings are free (their owners do not exist here).
	 * Its events so far were its parent's.
	 */
	if (r) {
		r->owner = (uint64_t)syscall(SYS_gettid);
		r->fired = r->head;
		r->depth = 0;
		r->gen = 0;
	}
	ps_poller_resume();
	Py_RETURN_NONE;
}

/* atexit callback: runs before finalization starts. */
static PyObject *ps_at_exit(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	ps_poller_stop();
	ps_mem_at_exit();
	ps_poller_paused = 0; /* no restart by a pending call either */
	ps_set_fork_frame(NULL);
	ps_flush_self();
	Py_RETURN_NONE;
}

static PyMethodDef ps_at_exit_def = {"_pystrobe_at_exit", ps_at_exit,
				     METH_NOARGS, NULL};
static PyMethodDef ps_fork_defs[] = {
	{"before", ps_before_fork, METH_NOARGS, NULL},
	{"after_in_parent", ps_after_fork_parent, METH_NOARGS, NULL},
	{"after_in_child", ps_after_fork_child, METH_NOARGS, NULL},
};

/*
 * module.attr(fn) for defs[0] (kw_names false), or module.attr(**{name: fn})
 * for every def, keyed by its name. 0, or -1 with an exception set.
 */
static int ps_register(const char *module, const char *attr, PyMethodDef *defs,
		       size_t nr, int kw_names)
{
	PyObject *mod, *meth, *args = NULL, *kwargs = NULL, *fn, *r = NULL;
	size_t i;

	mod = PyImport_ImportModule(module);
	if (!mod)
		return -1;
	meth = PyObject_GetAttrString(mod, attr);
	Py_DECREF(mod);
	if (!meth)
		return -1;
	args = PyTuple_New(kw_names ? 0 : 1);
	kwargs = kw_names ? PyDict_New() : NULL;
	if (!args || (kw_names && !kwargs))
		goto cleanup;
	for (i = 0; i < nr; i++) {
		fn = PyCFunction_NewEx(&defs[i], NULL, NULL);
		if (!fn)
			goto cleanup;
		if (!kw_names) {
			PyTuple_SetItem(args, 0, fn); /* steals fn */
			break;
		}
		if (PyDict_SetItemString(kwargs, defs[i].ml_name, fn) < 0) {
			Py_DECREF(fn);
			goto cleanup;
		}
		Py_DECREF(fn);
	}
	r = PyObject_Call(meth, args, kwargs);
cleanup:
	Py_XDECREF(kwargs);
	Py_XDECREF(args);
	Py_DECREF(meth);
	if (!r)
		return -1;
	Py_DECREF(r);
	return 0;
}

/* ------------------------------- module ---------------------------------- */
/* How many Python frames the calling thread is running. */
static long ps_stack_depth(void)
{
	PyObject *f = (PyObject *)PyEval_GetFrame(), *back;
	long n = 0;

	Py_XINCREF(f);
	while (f && n < 100000) {
		n++;
		back = ps_back(f);
		Py_DECREF(f);
		f = back;
	}
	Py_XDECREF(f);
	return n;
}

/*
 * start(skip_running=False): from now on events are on whenever a tracer
 * is attached; at once if one is attached already. The loader calls it as
 * its last step, so that no Python code of pystrobe's own (nor the import
 * of this module) is traced. With skip_running, and a tracer attached, the
 * frames running now on this thread (the interpreter's start-up: site, the
 * sitecustomize chain) and everything they call are not recorded either:
 * recording starts with the program's own first frame.
 */
static PyObject *ps_start(PyObject *self, PyObject *args)
{
	int skip_running = 0;

	(void)self;
	if (!PyArg_ParseTuple(args, "|p:start", &skip_running))
		return NULL;
	PS_STORE(ps_started, 1);
	if (ps_sync() < 0)
		return NULL;
	ps_mem_start(); /* allocations are sampled from here on, too */
	if (skip_running && PS_LOAD(ps_enabled)) {
		ps_skip_thread = PyThread_get_thread_ident();
		ps_skip_depth = 0;
		ps_skip_outer = ps_stack_depth();
	}
	Py_RETURN_NONE;
}

static PyObject *ps_enabled_py(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	return PyBool_FromLong(ps_source_enabled());
}

static PyObject *ps_stats(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	return Py_BuildValue("{sKsKsKss}", "events", ps_nr_events, "batches",
			     ps_nr_batches, "names", ps_nr_names, "clock",
			     ps_tsc.usable ? "tsc" : "clock_gettime");
}

static PyMethodDef ps_methods[] = {
	{"stats", ps_stats, METH_NOARGS,
	 "stats() -> dict: events recorded, batches and names sent to "
	 "tracers, and the clock timestamps come from (tsc or "
	 "clock_gettime)."},
	{"start", ps_start, METH_VARARGS,
	 "start(skip_running=False): switch events on while a tracer is "
	 "attached (at once if one is); skip_running: not for the frames "
	 "running now and their callees."},
	{"enabled", ps_enabled_py, METH_NOARGS,
	 "enabled() -> bool: whether events are on now."},
	{"tool_id", ps_tool_id, METH_NOARGS,
	 "tool_id() -> int or None: the sys.monitoring tool id in use (None "
	 "before 3.12)."},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef ps_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "_pystrobe_provider",
	.m_doc = "Fires pystrobe:function__entry/return USDT probes on Python "
		 "calls while a tracer is attached.",
	.m_size = -1,
	.m_methods = ps_methods,
};

/* type(code): the code object of the frame importing this module. */
static int ps_init_code_type(void)
{
	PyObject *f = (PyObject *)PyEval_GetFrame(), *co;

	if (!f) {
		PyErr_SetString(
			PyExc_ImportError,
			"_pystrobe_provider must be imported from Python");
		return -1;
	}
	co = PyObject_GetAttrString(f, "f_code");
	if (!co)
		return -1;
	ps_code_type = (PyObject *)Py_TYPE(co);
	Py_INCREF(ps_code_type);
	Py_DECREF(co);
	return 0;
}

/*
 * Import: claim the event source, register the exit and fork handlers and
 * start the poller. Events stay off until start() is called.
 */
PyMODINIT_FUNC PyInit__pystrobe_provider(void)
{
	static int initialized;
	const char *env;
	PyObject *m;
	int err;

	if (PyInterpreterState_GetID(PyInterpreterState_Get()) != 0) {
		PyErr_SetString(PyExc_ImportError,
				"_pystrobe_provider works in the main "
				"interpreter only");
		return NULL;
	}
	m = PyModule_Create(&ps_module);
	if (!m || initialized)
		return m;
	if (ps_resolve() < 0 || ps_init_code_type() < 0)
		goto fail;
	ps_extra_index = ps_request_extra(ps_code_free);
	if (ps_extra_index < 0) {
		PyErr_SetString(PyExc_ImportError,
				"no free co_extra slot for the code ids");
		goto fail;
	}
	/* PYSTROBE_NO_TSC set (not "0"): clock_gettime() as without one */
	env = getenv("PYSTROBE_NO_TSC");
	ps_tsc.usable = ps_tsc_constant() && !(env && *env && strcmp(env, "0"));
	if (ps_tsc.usable)
		ps_tsc_pair(&ps_tsc.first_ns, &ps_tsc.first_tsc);
	if (ps_calib_init() < 0)
		goto fail;
	if (ps_source_init() < 0)
		goto fail;
	if (ps_register("atexit", "register", &ps_at_exit_def, 1, 0) < 0)
		goto fail;
	if (ps_register("os", "register_at_fork", ps_fork_defs,
			sizeof(ps_fork_defs) / sizeof(ps_fork_defs[0]), 1) < 0)
		goto fail;
	err = ps_poller_start();
	if (err) {
		PyErr_Format(PyExc_ImportError,
			     "cannot start the poller thread: %s",
			     strerror(-err));
		goto fail;
	}
	/* without it (out of memory) only memory sampling is missing */
	ps_mem_init();
	initialized = 1;
	return m;
fail:
	Py_DECREF(m);
	return NULL;
}
