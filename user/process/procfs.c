// SPDX-License-Identifier: BSD-2-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "process/procfs.h"

static void path_of(char *buf, size_t len, pid_t pid, pid_t tid,
		    const char *file)
{
	if (tid > 0)
		snprintf(buf, len, "/proc/%d/task/%d/%s", pid, tid, file);
	else
		snprintf(buf, len, "/proc/%d/%s", pid, file);
}

char procfs__stat(pid_t pid, pid_t tid, unsigned long long *start)
{
	char path[64], buf[1024], *p, state = 0;
	FILE *f;

	if (start)
		*start = 0;
	path_of(path, sizeof(path), pid, tid, "stat");
	f = fopen(path, "re");
	if (!f)
		return 0;
	/* The comm may hold anything: fields resume after its last ')'. */
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1]) {
		state = p[2];
		/* starttime is field 22, the 20th after the comm. */
		for (int i = 0; start && i < 19 && p; i++)
			p = strchr(p + 1, ' ');
		if (start && p)
			*start = strtoull(p + 1, NULL, 10);
	}
	fclose(f);
	return state;
}

void procfs__comm(pid_t pid, pid_t tid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	buf[0] = 0;
	path_of(path, sizeof(path), pid, tid, "comm");
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

int64_t procfs__rss_bytes(pid_t pid)
{
	unsigned long long size, resident;
	char path[64];
	FILE *f;
	int n;

	path_of(path, sizeof(path), pid, 0, "statm");
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	return n == 2 ? (int64_t)resident * sysconf(_SC_PAGESIZE) : -1;
}
