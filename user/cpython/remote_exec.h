/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PEP 768 (CPython 3.14+): asks a running interpreter to execute a Python
 * file at its next safe point, by writing the file's path and a pending-call
 * flag into its thread states and setting their eval-breaker bit, at the
 * places the target's own _Py_DebugOffsets names.
 */
#ifndef PYSTROBE_REMOTE_EXEC_H
#define PYSTROBE_REMOTE_EXEC_H

#include <stddef.h>
#include "cpython/pyproc.h"

/*
 * Queues script (a path as the target sees it) on every thread of pp's
 * main interpreter; the first thread to reach a safe point runs it.
 * Returns 0, -ENOTSUP (version without PEP 768), -EPERM (remote debugging
 * disabled in the target) or another negative errno, with why set.
 */
int remote_exec__request(const struct pyproc *pp, const char *script, char *why,
			 size_t why_len);

/* Withdraws a request not yet run (best effort): clears pending flags. */
void remote_exec__cancel(const struct pyproc *pp);

#endif
