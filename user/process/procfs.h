/* SPDX-License-Identifier: BSD-2-Clause */
/* Small readers of /proc/PID[/task/TID]/{stat,comm}. */
#ifndef PYSTROBE_PROCFS_H
#define PYSTROBE_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * State letter ('R', 'S', 'D', 'Z', ...) of process pid (tid 0) or of its
 * thread tid; 0 when it does not exist. With start, also its start time
 * (clock ticks since boot), which tells a reused pid apart.
 */
char procfs__stat(pid_t pid, pid_t tid, unsigned long long *start);

/* Name of process pid (tid 0) or of its thread tid; "" when gone. */
void procfs__comm(pid_t pid, pid_t tid, char *buf, size_t len);

/* Resident set size of process pid in bytes; -1 when it is gone. */
int64_t procfs__rss_bytes(pid_t pid);

#endif
