/* SPDX-License-Identifier: BSD-2-Clause */
/* Parsed /proc/PID/maps: the file-backed mappings of a process. */
#ifndef PYSTROBE_PROCMAPS_H
#define PYSTROBE_PROCMAPS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

struct procmap {
	uint64_t start, end, offset;
	uint64_t inode;
	char perms[5];
	char *path; /* as the target sees it; NULL for anonymous mappings */
};

struct procmaps {
	struct procmap *maps;
	size_t nr;
};

/* Reads /proc/PID/maps; returns 0 or a negative errno. */
int procmaps__read(pid_t pid, struct procmaps *out);
void procmaps__free(struct procmaps *m);
/* The mapping containing addr, or NULL. */
const struct procmap *procmaps__find(const struct procmaps *m, uint64_t addr);

/*
 * Path through which the host reads the file behind a mapping, whatever
 * the target's root or mount namespace: /proc/PID/map_files/START-END,
 * else /proc/PID/root/PATH, else PATH (a chroot's maps show host paths).
 */
void procmaps__host_path(pid_t pid, const struct procmap *m, char *buf,
			 size_t len);

#endif
