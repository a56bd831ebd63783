/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sampled allocation probes for `pystrobe memory` (memory_hooks.c), driven
 * by the provider module:
 *
 *   ps_mem_init      once, from the module's init (GIL held)
 *   ps_mem_start     allocations may be sampled from now on (whenever a
 *                    tracer is attached)
 *   ps_mem_sync      applies a tracer's arrival or departure; the poller
 *                    calls it without the GIL every poll, and again with
 *                    the GIL when it returns 1 (hooks to install)
 *   ps_mem_at_exit   the program is done (atexit): nothing more is
 *                    reported, so what is live now stays live for the
 *                    tracer (interpreter teardown frees are not the
 *                    program's)
 */
#ifndef PYSTROBE_MEMORY_HOOKS_H
#define PYSTROBE_MEMORY_HOOKS_H

/* 0, or a negative errno (then memory sampling is unavailable). */
int ps_mem_init(void);
void ps_mem_start(void);
/*
 * gil_held 0: returns 1 when the allocator hooks must go in, which needs
 * the GIL (call again with gil_held 1), else 0. gil_held 1: installs them
 * if needed; returns 0.
 */
int ps_mem_sync(int gil_held);
void ps_mem_at_exit(void);

#endif
