/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Python stack of a thread that is not running, read from userspace:
 * for threads already blocked when pystrobe attaches, which the in-kernel
 * walker only sees once they run again. Same rules as bpf/pywalk.bpf.h
 * (shim frames skipped, tag bits cleared, entry frames marked).
 */
#ifndef PYSTROBE_PYUNWIND_H
#define PYSTROBE_PYUNWIND_H

#include <sys/types.h>
#include "cpython/pyproc.h"

/*
 * Fills st with the Python stack of host thread tid of pp's process.
 * Returns 0, -ENOENT when the thread has no Python thread state, or another
 * negative errno when memory cannot be read.
 */
int pyunwind__stack(const struct pyproc *pp, pid_t tid, struct py_stack *st);

#endif
