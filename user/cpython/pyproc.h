/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Finds the CPython runtime in a target process: the module defining
 * _PyRuntime (executable or libpython), its load address, the running
 * version, and the offsets for that version (table, or the target's own
 * _Py_DebugOffsets on 3.13+).
 */
#ifndef PYSTROBE_PYPROC_H
#define PYSTROBE_PYPROC_H

#include <sys/types.h>
#include "cpython/py_offsets.h"

struct pyproc {
	pid_t pid;
	int major, minor, micro;
	uint64_t runtime_addr;
	char module[256];	     /* path of the module holding _PyRuntime */
	struct py_version_info info; /* effective offsets for this process */
	struct proc_info bpf;	     /* what the BPF walker gets */
	/* Types a method's class is recognized by (0: not exported). */
	uint64_t function_type, classmethod_type, staticmethod_type;
};

enum pyproc_error {
	PYPROC_OK,
	PYPROC_NO_PROCESS,  /* no such process, or a zombie */
	PYPROC_NOT_PYTHON,  /* no module defines _PyRuntime */
	PYPROC_UNSUPPORTED, /* a Python version we have no offsets for */
	PYPROC_BAD_RUNTIME, /* memory did not look like the version's runtime */
};

/*
 * Inspects pid. On failure returns the reason and writes a one-line
 * explanation into why (may be NULL).
 */
enum pyproc_error pyproc__inspect(pid_t pid, struct pyproc *out, char *why,
				  size_t why_len);

/*
 * Locates the GIL's state in pp->bpf.gil_lo/hi. On 3.12+ it hangs off the
 * main interpreter, which exists only once the runtime is initialized:
 * returns -EAGAIN until then (call again later).
 */
int pyproc__find_gil(struct pyproc *pp);

#endif
