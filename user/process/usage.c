// SPDX-License-Identifier: BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "process/usage.h"

/* utime + stime in ns and the start time, from /proc/PID/stat. */
static int read_stat(pid_t pid, int64_t *cpu_ns, unsigned long long *start)
{
	unsigned long long utime = 0, stime = 0;
	char path[64], buf[1024], *p, state;
	long hz = sysconf(_SC_CLK_TCK);
	int err = -ESRCH;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -ESRCH;
	/* The comm may hold anything: fields resume after its last ')'. */
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
	    sscanf(p + 1,
		   " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu"
		   " %*d %*d %*d %*d %*d %*d %llu",
		   &state, &utime, &stime, start) == 4 &&
	    state != 'Z' && state != 'X') {
		*cpu_ns = (int64_t)(utime + stime) * (1000000000LL / hz);
		err = 0;
	}
	fclose(f);
	return err;
}

/* "Name:   value" lines of a /proc file: the values of the names asked. */
static int read_fields(const char *path, const char *const *names,
		       int64_t *values, int nr)
{
	char line[256];
	int found = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (found < nr && fgets(line, sizeof(line), f))
		for (int i = 0; i < nr; i++) {
			size_t n = strlen(names[i]);

			if (strncmp(line, names[i], n) == 0 && line[n] == ':') {
				values[i] = strtoll(line + n + 1, NULL, 10);
				found++;
			}
		}
	fclose(f);
	return found;
}

int usage__read(pid_t pid, struct proc_usage *u)
{
	static const char *const io_names[] = {"read_bytes", "write_bytes",
					       "rchar", "wchar"};
	static const char *const rss_name[] = {"VmRSS"};
	int64_t io[4] = {-1, -1, -1, -1}, rss = -1;
	struct timespec ts;
	clockid_t clock;
	char path[64];
	int err;

	memset(u, 0, sizeof(*u));
	err = read_stat(pid, &u->cpu_ns, &u->start);
	if (err)
		return err;
	/* The CPU clock counts nanoseconds; stat's fields count ticks. */
	if (clock_getcpuclockid(pid, &clock) == 0 &&
	    clock_gettime(clock, &ts) == 0)
		u->cpu_ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	u->rss_bytes = read_fields(path, rss_name, &rss, 1) == 1 && rss >= 0
			       ? rss * 1024
			       : -1; /* kernel threads have no VmRSS */
	snprintf(path, sizeof(path), "/proc/%d/io", pid);
	read_fields(path, io_names, io, 4);
	if (io[0] >= 0 && io[1] >= 0) {
		u->io = USAGE_IO_STORAGE;
		u->read_bytes = io[0];
		u->write_bytes = io[1];
	} else if (io[2] >= 0 && io[3] >= 0) {
		u->io = USAGE_IO_SYSCALLS;
		u->read_bytes = io[2];
		u->write_bytes = io[3];
	}
	return 0;
}

int usage__switches(pid_t pid, struct thread_switches *out, int max)
{
	static const char *const names[] = {"voluntary_ctxt_switches",
					    "nonvoluntary_ctxt_switches"};
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -ESRCH;
	while (n < max && (e = readdir(d))) {
		int64_t v[2] = {0, 0};
		pid_t tid = atoi(e->d_name);

		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid,
			 tid);
		if (read_fields(path, names, v, 2) != 2)
			continue; /* exited meanwhile */
		out[n++] = (struct thread_switches){tid, v[0], v[1]};
	}
	closedir(d);
	return n;
}
