/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reads from a target's memory. Everything read is untrusted: callers bound
 * every length and pointer that comes back.
 */
#ifndef PYSTROBE_REMOTE_MEM_H
#define PYSTROBE_REMOTE_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads exactly len bytes; 0 or a negative errno (-EFAULT on short read). */
int remote_read(pid_t pid, uint64_t addr, void *buf, size_t len);
int remote_read_u64(pid_t pid, uint64_t addr, uint64_t *v);
/* Writes exactly len bytes; 0 or a negative errno. */
int remote_write(pid_t pid, uint64_t addr, const void *buf, size_t len);

#endif
