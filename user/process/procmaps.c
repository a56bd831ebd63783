// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "process/procmaps.h"

int procmaps__read(pid_t pid, struct procmaps *out)
{
	char path[64], *line = NULL;
	size_t cap = 0, alloc = 0;
	FILE *f;
	int err = 0;

	out->maps = NULL;
	out->nr = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		struct procmap m = {};
		char *file = NULL;
		int n = 0;

		if (sscanf(line,
			   "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64
			   " %*x:%*x %" SCNu64 " %n",
			   &m.start, &m.end, m.perms, &m.offset, &m.inode,
			   &n) < 5)
			continue;
		file = line + n;
		file[strcspn(file, "\n")] = 0;
		if (file[0] == '/') {
			m.path = strdup(file);
			if (!m.path) {
				err = -ENOMEM;
				break;
			}
		}
		if (out->nr == alloc) {
			size_t na = alloc ? alloc * 2 : 64;
			struct procmap *nm =
				realloc(out->maps, na * sizeof(*nm));

			if (!nm) {
				free(m.path);
				err = -ENOMEM;
				break;
			}
			out->maps = nm;
			alloc = na;
		}
		out->maps[out->nr++] = m;
	}
	free(line);
	fclose(f);
	if (err)
		procmaps__free(out);
	return err;
}

void procmaps__free(struct procmaps *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nr; i++)
		free(m->maps[i].path);
	free(m->maps);
	m->maps = NULL;
	m->nr = 0;
}

const struct procmap *procmaps__find(const struct procmaps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->nr;

	/* The kernel lists mappings in address order. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < m->maps[mid].start)
			hi = mid;
		else if (addr >= m->maps[mid].end)
			lo = mid + 1;
		else
			return &m->maps[mid];
	}
	return NULL;
}

void procmaps__host_path(pid_t pid, const struct procmap *m, char *buf,
			 size_t len)
{
	snprintf(buf, len, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid,
		 m->start, m->end);
	if (access(buf, R_OK) == 0)
		return;
	snprintf(buf, len, "/proc/%d/root%s", pid, m->path);
	if (access(buf, R_OK) == 0)
		return;
	snprintf(buf, len, "%s", m->path);
}
