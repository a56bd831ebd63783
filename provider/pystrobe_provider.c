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
 * Returns whose entry came before the events were switched on (the frames
 * that imported this module, a thread's bootstrap) do occur.
 *
 * filename and qualname point into the code object's UTF-8 caches, so they
 * stay valid while the code object lives.
 *
 * Cost. Both probes have semaphores: the kernel raises them while a uprobe
 * is attached to the probe in this process (also when it was attached by
 * file path before this module was mapped). Events are switched on only
 * while a semaphore is nonzero, so with no tracer the interpreter runs with
 * no hook at all (3.12+) or none on any thread (3.9-3.11).
 *
 * Event sources, chosen at compile time (see "Per-version choices"):
 *  - 3.12+: sys.monitoring, under a tool id of our own: PY_START (entry 0),
 *    PY_RESUME and PY_THROW (entry 1), PY_RETURN (return 0), PY_YIELD
 *    (return 1), PY_UNWIND (return 2).
 *  - 3.9-3.11: the C profile hook (PyEval_SetProfile): PyTrace_CALL is an
 *    entry, PyTrace_RETURN a return (arg NULL: an unwind); the frame tells a
 *    call from a resumption and a yield from a return. The hook is per
 *    thread: it is put on every thread that has no profile function of its
 *    own, and on threads started later through threading.setprofile. It
 *    takes itself off its thread at its first event after the semaphores
 *    drop to 0.
 *
 * Switching. A background thread (no Python thread state while idle)
 * polls the semaphores every PS_POLL_MS without the GIL and takes the GIL
 * only when they changed, to switch events on or off. At import, events are
 * switched on synchronously if a tracer is already attached.
 *
 * Fork: os.fork() stops the poller before forking and starts a fresh one
 * in both processes after it (os.register_at_fork; in the parent only once
 * os.fork() has returned): a thread would not survive in the child, and
 * 3.12+ warns when a process with more than one thread forks. Events keep
 * the state they had in the parent until the child's poller (or, on
 * 3.9-3.11, the hook itself) sees the child's own semaphore values. A child
 * forked without Python's fork hooks (fork() from C code that then keeps
 * running Python) has no poller: its events stay as they were, and on
 * 3.9-3.11 the hook still takes itself off once the semaphores are 0.
 *
 * Shutdown: an atexit callback stops and joins the poller (with the GIL
 * released) before finalization starts; the poller never takes the GIL once
 * the interpreter is finalizing. Events are left as they are, so a tracer
 * still sees the calls made during finalization.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include "memory_hooks.h"

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#if defined(__x86_64__)
/*
 * A 5-byte nop at each probe site instead of sdt.h's 1-byte one: kernels
 * with optimized x86 uprobes (6.18 here) turn a hit on a nop5 into a call
 * to a trampoline instead of a breakpoint trap, several times cheaper.
 * Older kernels trap on it like on any other instruction. (Bytes, not a
 * mnemonic: the assembler would pick a shorter encoding.)
 */
#undef _SDT_NOP
#define _SDT_NOP                                                               \
	.byte 0x0f;                                                            \
	.byte 0x1f;                                                            \
	.byte 0x44;                                                            \
	.byte 0x00;                                                            \
	.byte 0x00
#endif

/* ===================== Per-version choices (the only place) ============= */
#if PY_VERSION_HEX < 0x03090000
#error "the pystrobe provider needs CPython 3.9 or later"
#endif

#if PY_VERSION_HEX >= 0x030c0000
/* 3.12+: PEP 669 sys.monitoring. */
#define PS_MONITORING 1
#else
/* 3.9-3.11: the C profile hook. */
#define PS_MONITORING 0
#include <frameobject.h>
#endif

#if PY_VERSION_HEX >= 0x030b0000
#define PS_CODE_NAME(co) ((co)->co_qualname)
#else
#define PS_CODE_NAME(co) ((co)->co_name) /* no co_qualname before 3.11 */
#endif

#if PY_VERSION_HEX >= 0x030b0000
#define PS_FRAME_LASTI(f) PyFrame_GetLasti(f)
#else
#define PS_FRAME_LASTI(f) ((f)->f_lasti)
#endif

#if PY_VERSION_HEX >= 0x030c0000
#define PS_REQUEST_EXTRA_INDEX PyUnstable_Eval_RequestCodeExtraIndex
#define PS_CODE_GET_EXTRA      PyUnstable_Code_GetExtra
#define PS_CODE_SET_EXTRA      PyUnstable_Code_SetExtra
#else
#define PS_REQUEST_EXTRA_INDEX _PyEval_RequestCodeExtraIndex
#define PS_CODE_GET_EXTRA      _PyCode_GetExtra
#define PS_CODE_SET_EXTRA      _PyCode_SetExtra
#endif

#if PY_VERSION_HEX >= 0x030d0000
#define PS_IS_FINALIZING() Py_IsFinalizing()
#else
#define PS_IS_FINALIZING() _Py_IsFinalizing()
#endif

#if PY_VERSION_HEX >= 0x030c0000
/* The pending exception's value (a new reference), clearing it. */
static PyObject *ps_take_exception(void)
{
	return PyErr_GetRaisedException();
}
#else
static PyObject *ps_take_exception(void)
{
	PyObject *type, *value, *tb;

	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	Py_XDECREF(type);
	Py_XDECREF(tb);
	return value;
}
#endif

#if PY_VERSION_HEX >= 0x030b0000 && !PS_MONITORING
#include <opcode.h>
/*
 * 3.11: the profile hook's PyTrace_CALL fires at a RESUME instruction, whose
 * oparg is 0 only at the start of the body (1-3 after a yield, a yield from
 * or an await); gen.throw() reports the call at the YIELD_VALUE it resumes.
 * A yield exits through YIELD_VALUE (also inside yield from and await).
 */
static inline _Py_CODEUNIT ps_frame_instr(PyFrameObject *f, PyCodeObject *co)
{
	int lasti = PyFrame_GetLasti(f); /* bytes; -1: not started */

	if (lasti < 0 || lasti >= _PyCode_NBYTES(co))
		return 0;
	return _PyCode_CODE(co)[lasti / (int)sizeof(_Py_CODEUNIT)];
}

static inline int ps_frame_is_new_call(PyFrameObject *f, PyCodeObject *co)
{
	_Py_CODEUNIT in;

	if (PyFrame_GetLasti(f) < 0)
		return 1;
	in = ps_frame_instr(f, co);
	return (_Py_OPCODE(in) == RESUME || _Py_OPCODE(in) == RESUME_QUICK) &&
	       _Py_OPARG(in) == 0;
}

static inline int ps_frame_is_yielding(PyFrameObject *f, PyCodeObject *co)
{
	return _Py_OPCODE(ps_frame_instr(f, co)) == YIELD_VALUE;
}
#elif PY_VERSION_HEX >= 0x030a0000 && !PS_MONITORING
/* 3.10: f_lasti is -1 until the frame first runs; f_state says suspended. */
static inline int ps_frame_is_new_call(PyFrameObject *f, PyCodeObject *co)
{
	(void)co;
	return f->f_lasti < 0;
}

static inline int ps_frame_is_yielding(PyFrameObject *f, PyCodeObject *co)
{
	(void)co;
	return f->f_state == FRAME_SUSPENDED;
}
#elif !PS_MONITORING
/* 3.9: f_stacktop is NULL while the frame runs, set again by a yield. */
static inline int ps_frame_is_new_call(PyFrameObject *f, PyCodeObject *co)
{
	(void)co;
	return f->f_lasti < 0;
}

static inline int ps_frame_is_yielding(PyFrameObject *f, PyCodeObject *co)
{
	(void)co;
	return f->f_stacktop != NULL;
}
#endif
/* ===================== End of per-version choices ======================= */

#define PS_POLL_MS 20

enum ps_entry_kind {
	PS_ENTRY_CALL = 0,
	PS_ENTRY_RESUME = 1,
};

enum ps_return_kind {
	PS_RETURN_RETURN = 0,
	PS_RETURN_YIELD = 1,
	PS_RETURN_UNWIND = 2,
};

/*
 * The probes' semaphores (sys/sdt.h names them provider_probe_semaphore).
 * In .probes, a file-backed data section, so the kernel can find and bump
 * them through the uprobe's ref_ctr_offset.
 */
#define PS_SEMAPHORE __attribute__((visibility("hidden"), section(".probes")))
PS_SEMAPHORE unsigned short pystrobe_function__entry_semaphore;
PS_SEMAPHORE unsigned short pystrobe_function__return_semaphore;

#define PS_LOAD(v)     __atomic_load_n(&(v), __ATOMIC_ACQUIRE)
#define PS_STORE(v, x) __atomic_store_n(&(v), (x), __ATOMIC_RELEASE)

/* Whether a tracer is attached to either probe in this process. */
static inline int ps_wanted(void)
{
	return PS_LOAD(pystrobe_function__entry_semaphore) != 0 ||
	       PS_LOAD(pystrobe_function__return_semaphore) != 0;
}

static int ps_enabled;	      /* events switched on (the last state applied) */
static int ps_resync;	      /* 3.9-3.11: a thread took its hook off */
static int ps_broken;	      /* switching failed once: stop trying */
static int ps_stop;	      /* the poller must exit */
static int ps_wake_fd = -1;   /* eventfd that wakes the poller to stop */
static int ps_poller_started; /* the poller runs and holds ps_poller_done */
static pid_t ps_poller_tid;
static int ps_poller_paused; /* stopped for a fork, to restart after it */
static PyThread_type_lock ps_poller_done; /* released when the poller exits */

/* UTF-8 of a str (cached in the object), or "?" when there is none. */
static const char *ps_utf8(PyObject *s)
{
	const char *p;

	if (!s || !PyUnicode_Check(s))
		return "?";
	p = PyUnicode_AsUTF8(s);
	if (!p) {
		PyErr_Clear();
		return "?";
	}
	return p;
}

static Py_ssize_t ps_extra_index = -1; /* our co_extra slot */
static uintptr_t ps_next_serial = 1;   /* under the GIL */

/* The code object's serial << 3, assigned at its first event. */
static uintptr_t ps_code_id(PyCodeObject *co)
{
	void *extra = NULL;
	uintptr_t id;

	if (PS_CODE_GET_EXTRA((PyObject *)co, ps_extra_index, &extra) == 0 &&
	    extra)
		return (uintptr_t)extra;
	PyErr_Clear();
	id = ps_next_serial++ << 3;
	if (PS_CODE_SET_EXTRA((PyObject *)co, ps_extra_index, (void *)id) < 0)
		PyErr_Clear(); /* then a new serial next time: a new name */
	return id;
}

/* One probe site each: the notes list exactly one location per probe. */
__attribute__((noinline)) static void ps_fire_entry(PyCodeObject *co, int kind)
{
	if (!PS_LOAD(pystrobe_function__entry_semaphore))
		return;
	STAP_PROBE4(pystrobe, function__entry, ps_code_id(co) | (unsigned)kind,
		    ps_utf8(co->co_filename), ps_utf8(PS_CODE_NAME(co)),
		    co->co_firstlineno);
}

__attribute__((noinline)) static void ps_fire_return(PyCodeObject *co, int kind)
{
	if (!PS_LOAD(pystrobe_function__return_semaphore))
		return;
	STAP_PROBE1(pystrobe, function__return,
		    ps_code_id(co) | (unsigned)kind);
}

/* Writes "pystrobe: provider: WHAT: <pending exception>" and clears it. */
static void ps_report(const char *what)
{
	PyObject *exc = ps_take_exception();

	if (exc)
		PySys_FormatStderr("pystrobe: provider: %s: %S\n", what, exc);
	else
		PySys_FormatStderr("pystrobe: provider: %s\n", what);
	Py_XDECREF(exc);
	PyErr_Clear();
}

#if PS_MONITORING
/* ----------------------------- sys.monitoring ---------------------------- */
static int ps_tool = -1;
static long ps_event_mask;
static PyObject *ps_set_events; /* sys.monitoring.set_events */

/* Callbacks: (code, instruction_offset[, retval or exception]) -> None. */
#define PS_CALLBACK(fn, fire, kind)                                            \
	static PyObject *fn(PyObject *self, PyObject *const *args,             \
			    Py_ssize_t nargs)                                  \
	{                                                                      \
		(void)self;                                                    \
		if (nargs >= 1 && PyCode_Check(args[0]))                       \
			fire((PyCodeObject *)args[0], kind);                   \
		Py_RETURN_NONE;                                                \
	}
PS_CALLBACK(ps_on_start, ps_fire_entry, PS_ENTRY_CALL)
PS_CALLBACK(ps_on_resume, ps_fire_entry, PS_ENTRY_RESUME)
PS_CALLBACK(ps_on_return, ps_fire_return, PS_RETURN_RETURN)
PS_CALLBACK(ps_on_yield, ps_fire_return, PS_RETURN_YIELD)
PS_CALLBACK(ps_on_unwind, ps_fire_return, PS_RETURN_UNWIND)

#define PS_FASTCALL(fn) ((PyCFunction)(void (*)(void))(fn))
static PyMethodDef ps_callbacks[] = {
	{"PY_START", PS_FASTCALL(ps_on_start), METH_FASTCALL, NULL},
	{"PY_RESUME", PS_FASTCALL(ps_on_resume), METH_FASTCALL, NULL},
	{"PY_THROW", PS_FASTCALL(ps_on_resume), METH_FASTCALL, NULL},
	{"PY_RETURN", PS_FASTCALL(ps_on_return), METH_FASTCALL, NULL},
	{"PY_YIELD", PS_FASTCALL(ps_on_yield), METH_FASTCALL, NULL},
	{"PY_UNWIND", PS_FASTCALL(ps_on_unwind), METH_FASTCALL, NULL},
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
static int ps_source_init(void)
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
		fn = PyCFunction_New(&ps_callbacks[i], NULL);
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
	if (!ps_set_events)
		goto cleanup;
	err = 0;
cleanup:
	Py_XDECREF(events);
	if (err) {
		PyObject *exc = ps_take_exception();

		r = PyObject_CallMethod(mon, "free_tool_id", "i", ps_tool);
		Py_XDECREF(r);
		PyErr_Clear();
		PyErr_SetRaisedException(exc);
		ps_tool = -1;
	}
	return err;
}

/* Switches the events on or off; GIL held. 0, or -1 with an exception. */
static int ps_source_apply(int on, int include_self)
{
	PyObject *r;

	(void)include_self;
	r = PyObject_CallFunction(ps_set_events, "il", ps_tool,
				  on ? ps_event_mask : 0L);
	if (!r)
		return -1;
	Py_DECREF(r);
	return 0;
}

static int ps_source_enabled(void)
{
	return PS_LOAD(ps_enabled);
}

static PyObject *ps_tool_id(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	return PyLong_FromLong(ps_tool);
}
#else
/* ------------------------- the C profile hook ---------------------------- */
static int ps_profile_hook(PyObject *obj, PyFrameObject *f, int what,
			   PyObject *arg)
{
	PyCodeObject *co;

	(void)obj;
	if (what != PyTrace_CALL && what != PyTrace_RETURN)
		return 0;
	if (!ps_wanted()) {
		/* The tracer left: this thread runs unhooked again. */
		PyEval_SetProfile(NULL, NULL);
		PS_STORE(ps_resync, 1);
		return 0;
	}
	co = PyFrame_GetCode(f);
	Py_DECREF(co); /* the frame keeps it alive */
	if (what == PyTrace_CALL)
		ps_fire_entry(co, ps_frame_is_new_call(f, co)
					  ? PS_ENTRY_CALL
					  : PS_ENTRY_RESUME);
	else if (!arg)
		ps_fire_return(co, PS_RETURN_UNWIND);
	else
		ps_fire_return(co, ps_frame_is_yielding(f, co)
					   ? PS_RETURN_YIELD
					   : PS_RETURN_RETURN);
	return 0;
}

/*
 * threading.setprofile() target: a new thread runs it, through
 * sys.setprofile's trampoline, at its first event (the call of the
 * thread's run()). It swaps itself for the C hook and forwards that call.
 */
static PyObject *ps_thread_start(PyObject *self, PyObject *const *args,
				 Py_ssize_t nargs)
{
	(void)self;
	if (!ps_wanted()) {
		PyEval_SetProfile(NULL, NULL);
		Py_RETURN_NONE;
	}
	PyEval_SetProfile(ps_profile_hook, NULL);
	if (nargs == 3 && PyFrame_Check(args[0]) && PyUnicode_Check(args[1]) &&
	    PyUnicode_CompareWithASCIIString(args[1], "call") == 0)
		ps_profile_hook(NULL, (PyFrameObject *)args[0], PyTrace_CALL,
				args[2]);
	Py_RETURN_NONE;
}

static PyMethodDef ps_thread_start_def = {
	"_pystrobe_thread_start", (PyCFunction)(void (*)(void))ps_thread_start,
	METH_FASTCALL, NULL};
static PyObject *ps_thread_start_fn;

static int ps_source_init(void)
{
	ps_thread_start_fn = PyCFunction_New(&ps_thread_start_def, NULL);
	return ps_thread_start_fn ? 0 : -1;
}

/*
 * Sets threading's hook for threads started later (threading._profile_hook
 * on 3.9-3.11) to ours (on) or back to None (off), leaving a hook someone
 * else set alone. threading is imported
 * only by the importing thread (the main thread, from sitecustomize): an
 * import from the poller would make it record the poller as main thread.
 */
static int ps_threading_apply(int on, int may_import)
{
	PyObject *threading, *name, *cur = NULL, *r = NULL;
	int err = -1;

	if (may_import) {
		threading = PyImport_ImportModule("threading");
		if (!threading)
			return -1;
	} else {
		name = PyUnicode_FromString("threading");
		if (!name)
			return -1;
		threading = PyImport_GetModule(name);
		Py_DECREF(name);
		if (!threading)
			return PyErr_Occurred() ? -1 : 0;
	}
	cur = PyObject_GetAttrString(threading, "_profile_hook");
	if (!cur)
		goto cleanup;
	if (on && cur == Py_None)
		r = PyObject_CallMethod(threading, "setprofile", "O",
					ps_thread_start_fn);
	else if (!on && cur == ps_thread_start_fn)
		r = PyObject_CallMethod(threading, "setprofile", "O", Py_None);
	else
		err = 0; /* nothing to change */
	if (r) {
		Py_DECREF(r);
		err = 0;
	}
cleanup:
	Py_XDECREF(cur);
	Py_DECREF(threading);
	return err;
}

/*
 * Puts the hook on (or takes it off) every thread of this interpreter that
 * has no other profile function, and sets threading's hook; GIL held. The
 * poller's own short-lived thread state is skipped (include_self == 0).
 */
static int ps_source_apply(int on, int include_self)
{
	PyThreadState *self = PyThreadState_Get(), *ts;
	PyInterpreterState *interp = PyThreadState_GetInterpreter(self);

	for (ts = PyInterpreterState_ThreadHead(interp); ts;
	     ts = PyThreadState_Next(ts)) {
		if (ts == self && !include_self)
			continue;
		if (on && !ts->c_profilefunc) {
			if (_PyEval_SetProfile(ts, ps_profile_hook, NULL) < 0)
				return -1;
		} else if (!on && ts->c_profilefunc == ps_profile_hook) {
			if (_PyEval_SetProfile(ts, NULL, NULL) < 0)
				return -1;
		}
	}
	return ps_threading_apply(on, include_self);
}

/* Whether the calling thread has the hook on. */
static int ps_source_enabled(void)
{
	return PyThreadState_Get()->c_profilefunc == ps_profile_hook;
}

static PyObject *ps_tool_id(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	Py_RETURN_NONE;
}
#endif

/* ------------------------------ switching -------------------------------- */
/*
 * Brings the events to the wanted state (on while a semaphore is nonzero);
 * GIL held. include_self: the caller is the importing Python thread, not
 * the poller. 0, or -1 with an exception set (then switching stops).
 */
static int ps_sync(int include_self)
{
	int want = ps_wanted();

	if (PS_LOAD(ps_broken))
		return 0;
	if (want == PS_LOAD(ps_enabled) && !(want && PS_LOAD(ps_resync)))
		return 0;
	PS_STORE(ps_resync, 0);
	if (ps_source_apply(want, include_self) < 0) {
		PS_STORE(ps_broken, 1);
		return -1;
	}
	PS_STORE(ps_enabled, want);
	return 0;
}

/* One poll: without the GIL unless the state must change. */
static void ps_poll_once(void)
{
	int want = ps_wanted();
	PyGILState_STATE gil;

	if (PS_LOAD(ps_broken))
		return;
	if (want == PS_LOAD(ps_enabled) && !(want && PS_LOAD(ps_resync)))
		return;
	/* Never wait for the GIL of an interpreter being finalized. */
	if (PS_LOAD(ps_stop) || PS_IS_FINALIZING())
		return;
	gil = PyGILState_Ensure();
	if (!PS_IS_FINALIZING() && ps_sync(0) < 0)
		ps_report("cannot switch events (left as they are)");
	PyGILState_Release(gil);
}

/* Memory sampling (memory_hooks.c): its hooks go in under the GIL. */
static void ps_mem_poll_once(void)
{
	PyGILState_STATE gil;

	if (!ps_mem_sync(0) || PS_LOAD(ps_stop) || PS_IS_FINALIZING())
		return;
	gil = PyGILState_Ensure();
	if (!PS_IS_FINALIZING())
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
	    PYTHREAD_INVALID_THREAD_ID) {
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
static PyFrameObject *ps_fork_frame; /* the caller of os.fork() */
static int ps_fork_lasti;	     /* its instruction then */
static int ps_restart_tries;

static void ps_set_fork_frame(PyFrameObject *f)
{
	PyFrameObject *old = ps_fork_frame;

	Py_XINCREF(f);
	ps_fork_frame = f;
	ps_fork_lasti = f ? PS_FRAME_LASTI(f) : -1;
	Py_XDECREF(old);
}

static int ps_fork_running(void)
{
	PyFrameObject *f = PyEval_GetFrame(), *back;
	int running = 0;

	if (!ps_fork_frame || !f || f == ps_fork_frame)
		return 0;
	Py_INCREF(f);
	while (f) {
		back = PyFrame_GetBack(f);
		Py_DECREF(f);
		f = back;
		if (f == ps_fork_frame) {
			running = PS_FRAME_LASTI(f) == ps_fork_lasti;
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
	ps_set_fork_frame(PyEval_GetFrame());
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
	(void)self;
	(void)unused;
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
		fn = PyCFunction_New(&defs[i], NULL);
		if (!fn)
			goto cleanup;
		if (!kw_names) {
			PyTuple_SET_ITEM(args, 0, fn);
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
static PyObject *ps_enabled_py(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	return PyBool_FromLong(ps_source_enabled());
}

static PyMethodDef ps_methods[] = {
	{"enabled", ps_enabled_py, METH_NOARGS,
	 "enabled() -> bool: whether events are on now (3.9-3.11: on the "
	 "calling thread)."},
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

/*
 * Import: claim the event source, register the exit and fork handlers,
 * start the poller, then switch events on at once if a tracer is already
 * attached (so it sees every call made after the import returns).
 */
PyMODINIT_FUNC PyInit__pystrobe_provider(void)
{
	static int initialized;
	PyObject *m;
	int err;

	if (PyInterpreterState_Get() != PyInterpreterState_Main()) {
		PyErr_SetString(PyExc_ImportError,
				"_pystrobe_provider works in the main "
				"interpreter only");
		return NULL;
	}
	m = PyModule_Create(&ps_module);
	if (!m || initialized)
		return m;
	/* the serials are plain numbers: nothing to free with the code */
	ps_extra_index = PS_REQUEST_EXTRA_INDEX(NULL);
	if (ps_extra_index < 0) {
		PyErr_SetString(PyExc_ImportError,
				"no free co_extra slot for the code ids");
		goto fail;
	}
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
	if (ps_sync(1) < 0) {
		ps_poller_stop();
		goto fail;
	}
	/* without it (out of memory) only memory sampling is missing */
	if (ps_mem_init() == 0)
		ps_mem_start();
	initialized = 1;
	return m;
fail:
	Py_DECREF(m);
	return NULL;
}
