/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef PYSTROBE_PROG_MISSES_H
#define PYSTROBE_PROG_MISSES_H

#include <stdint.h>
#include <bpf/libbpf.h>

/*
 * Runs of a loaded program the kernel skipped (bpf_prog_info's
 * recursion_misses: it was already running on that CPU, or another
 * tracing program was). 0 when unknown.
 */
int64_t prog_misses(const struct bpf_program *prog);

#endif
