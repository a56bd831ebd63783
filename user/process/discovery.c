// SPDX-License-Identifier: BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>
#include "process/discovery.h"
#include "process/procfs.h"

#define MAX_CGROUP_DEPTH 16

struct seen {
	pid_t pid;
	unsigned long long start; /* start time: tells a reused pid apart */
	char exe[256];		  /* exec'ing a new program reports it again */
	unsigned gen;		  /* last scan that saw it */
	UT_hash_handle hh;
};

struct discovery {
	char *cgroup; /* NULL: all */
	struct seen *seen;
	unsigned gen;
};

struct discovery *discovery__new(const char *cgroup, char *why, size_t why_len)
{
	struct discovery *d = calloc(1, sizeof(*d));
	char procs[4096];

	if (!d) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	if (cgroup) {
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup);
		if (access(procs, R_OK) != 0) {
			snprintf(why, why_len,
				 "%s is not a cgroup directory (no readable "
				 "cgroup.procs)",
				 cgroup);
			free(d);
			return NULL;
		}
		d->cgroup = strdup(cgroup);
		if (!d->cgroup) {
			snprintf(why, why_len, "out of memory");
			free(d);
			return NULL;
		}
	}
	return d;
}

void discovery__free(struct discovery *d)
{
	struct seen *s, *tmp;

	if (!d)
		return;
	HASH_ITER(hh, d->seen, s, tmp)
	{
		HASH_DEL(d->seen, s);
		free(s);
	}
	free(d->cgroup);
	free(d);
}

/* The cgroup of pid as /proc/PID/cgroup names it. */
static void cgroup_of(pid_t pid, char *buf, size_t len)
{
	char path[64], line[1024];
	FILE *f;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');

		line[strcspn(line, "\n")] = 0;
		if (!p || !(p = strchr(p + 1, ':')))
			continue;
		/* The v2 line ("0::/path") unless it is the root; else the
		 * first v1 hierarchy that places pid below its root. */
		if (strcmp(p + 1, "/") == 0 && buf[0])
			continue;
		snprintf(buf, len, "%s", p + 1);
		if (strncmp(line, "0::", 3) == 0 && strcmp(p + 1, "/") != 0)
			break;
	}
	fclose(f);
}

static void consider(struct discovery *d, pid_t pid, const char *cgroup,
		     discovery_found_fn found, void *ctx)
{
	char own[512];

	char path[64], exe[256] = "";
	unsigned long long start;
	struct seen *s;
	ssize_t n;

	if (pid == getpid())
		return;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return; /* kernel thread, zombie, or gone */
	exe[n] = 0;
	procfs__stat(pid, 0, &start);
	HASH_FIND_INT(d->seen, &pid, s);
	if (s && s->start == start && strcmp(s->exe, exe) == 0) {
		s->gen = d->gen;
		return;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return;
		s->pid = pid;
		HASH_ADD_INT(d->seen, pid, s);
	}
	s->start = start;
	s->gen = d->gen;
	snprintf(s->exe, sizeof(s->exe), "%s", exe);
	if (!cgroup) {
		cgroup_of(pid, own, sizeof(own));
		cgroup = own;
	}
	found(pid, cgroup, ctx);
}

static void scan_cgroup(struct discovery *d, const char *dir, int depth,
			discovery_found_fn found, void *ctx)
{
	char path[4096];
	struct dirent *e;
	FILE *f;
	DIR *dh;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (f) {
		while (fscanf(f, "%d", &pid) == 1)
			consider(d, pid, dir, found, ctx);
		fclose(f);
	}
	if (depth >= MAX_CGROUP_DEPTH)
		return;
	dh = opendir(dir);
	if (!dh)
		return;
	while ((e = readdir(dh))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		scan_cgroup(d, path, depth + 1, found, ctx);
	}
	closedir(dh);
}

int discovery__scan(struct discovery *d, discovery_found_fn found, void *ctx)
{
	struct seen *s, *tmp;
	struct dirent *e;
	DIR *dh;

	d->gen++;
	if (d->cgroup) {
		scan_cgroup(d, d->cgroup, 0, found, ctx);
	} else {
		dh = opendir("/proc");
		if (!dh)
			return -errno;
		while ((e = readdir(dh)))
			if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
				consider(d, atoi(e->d_name), NULL, found, ctx);
		closedir(dh);
	}
	/* Forget processes that left the scope, so a reused pid is new. */
	HASH_ITER(hh, d->seen, s, tmp)
	{
		if (s->gen != d->gen) {
			HASH_DEL(d->seen, s);
			free(s);
		}
	}
	return 0;
}
