/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What a process has consumed so far, from /proc and its CPU clock: the
 * counters behind the resource timeline (model/timeline.h). Cumulative
 * values: a reader takes differences between two readings.
 */
#ifndef PYSTROBE_USAGE_H
#define PYSTROBE_USAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Where the byte counters came from. */
enum usage_io {
	USAGE_IO_NONE,	   /* /proc/PID/io unreadable: not measured */
	USAGE_IO_STORAGE,  /* read_bytes/write_bytes: to and from storage */
	USAGE_IO_SYSCALLS, /* rchar/wchar: every read and write call (the
			      kernel keeps no storage accounting) */
};

struct proc_usage {
	unsigned long long start; /* start time (ticks): tells reuse apart */
	int64_t cpu_ns;		  /* user + system, every thread ever */
	int64_t rss_bytes;	  /* resident now; -1: unknown */
	enum usage_io io;
	int64_t read_bytes, write_bytes;
};

/* Context switches of one live thread so far. */
struct thread_switches {
	pid_t tid;
	int64_t voluntary, involuntary;
};

/*
 * Reads pid's counters. CPU time comes from the process's CPU clock
 * (clock_getcpuclockid: nanoseconds, threads that exited included), else
 * from /proc/PID/stat's utime + stime (clock ticks). Returns 0, or -ESRCH
 * when pid is gone (or a zombie).
 */
int usage__read(pid_t pid, struct proc_usage *u);

/*
 * The voluntary and involuntary context switches of each live thread of
 * pid (/proc/PID/task/TID/status), at most max of them. Returns how many,
 * or a negative errno (-ESRCH: gone). Threads that exited took their
 * counts with them: a reader compares thread by thread.
 */
int usage__switches(pid_t pid, struct thread_switches *out, int max);

#endif
