/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The rules that name why a thread is off the CPU, shared by the BPF
 * switch-out program and the loader (which applies them to threads already
 * blocked at attach, from /proc/PID/task/TID/{stat,syscall}).
 *
 *   preempted (state TASK_RUNNING)            runqueue
 *   futex on the GIL's mutex/conditions       gil
 *   other futex                               lock
 *   nanosleep, clock_nanosleep                sleep
 *   select/pselect6 with nfds 0, poll/ppoll
 *   with nfds 0 (time.sleep before 3.11)      sleep
 *   ... with fds                              io
 *   uninterruptible (D), other syscalls       disk (page fault, disk)
 *   read/write/recv/send/accept/connect/epoll io
 *   anything else                             other
 */
#ifndef OFFCPU_REASON_H
#define OFFCPU_REASON_H

/* Task states as sched_switch reports them (include/linux/sched.h). */
#define TASK_RUNNING_STATE	   0
#define TASK_INTERRUPTIBLE_STATE   1
#define TASK_UNINTERRUPTIBLE_STATE 2
#define TASK_DEAD_STATE		   0x80

/* Why a thread was off the CPU; decided when it switched out. */
enum offcpu_reason {
	OFFCPU_NONE,
	OFFCPU_SLEEP,	 /* nanosleep, clock_nanosleep, select/poll on no fds */
	OFFCPU_LOCK,	 /* futex wait (locks, conditions, events) */
	OFFCPU_GIL,	 /* futex wait on the GIL's mutex or condition */
	OFFCPU_IO,	 /* read/write/recv/send/poll/epoll/select on fds */
	OFFCPU_DISK,	 /* uninterruptible: page fault or disk */
	OFFCPU_RUNQUEUE, /* runnable, waiting for a CPU */
	OFFCPU_OTHER,
	OFFCPU__COUNT,
};

/* x86-64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
enum {
	NR_read = 0,
	NR_write = 1,
	NR_poll = 7,
	NR_pread64 = 17,
	NR_pwrite64 = 18,
	NR_readv = 19,
	NR_writev = 20,
	NR_select = 23,
	NR_nanosleep = 35,
	NR_connect = 42,
	NR_accept = 43,
	NR_sendto = 44,
	NR_recvfrom = 45,
	NR_sendmsg = 46,
	NR_recvmsg = 47,
	NR_futex = 202,
	NR_clock_nanosleep = 230,
	NR_epoll_wait = 232,
	NR_pselect6 = 270,
	NR_ppoll = 271,
	NR_epoll_pwait = 281,
	NR_accept4 = 288,
	NR_recvmmsg = 299,
	NR_sendmmsg = 307,
	NR_epoll_pwait2 = 441,
	NR_futex_waitv = 449,
};

/*
 * state: the task state it switches out in; nr: the system call it is in
 * (-1: none); arg0/arg1: its first two arguments; [gil_lo, gil_hi): the
 * target's GIL state.
 */
static inline __u32 offcpu_reason_of(unsigned int state, long nr, __u64 arg0,
				     __u64 arg1, __u64 gil_lo, __u64 gil_hi)
{
	if (state == TASK_RUNNING_STATE)
		return OFFCPU_RUNQUEUE;
	switch (nr) {
	case NR_futex:
	case NR_futex_waitv:
		return arg0 >= gil_lo && arg0 < gil_hi ? OFFCPU_GIL
						       : OFFCPU_LOCK;
	case NR_nanosleep:
	case NR_clock_nanosleep:
		return OFFCPU_SLEEP;
	case NR_select:
	case NR_pselect6:
		return arg0 == 0 ? OFFCPU_SLEEP : OFFCPU_IO; /* nfds */
	case NR_poll:
	case NR_ppoll:
		return arg1 == 0 ? OFFCPU_SLEEP : OFFCPU_IO; /* nfds */
	}
	if (state & TASK_UNINTERRUPTIBLE_STATE)
		return OFFCPU_DISK;
	switch (nr) {
	case NR_read:
	case NR_write:
	case NR_pread64:
	case NR_pwrite64:
	case NR_readv:
	case NR_writev:
	case NR_connect:
	case NR_accept:
	case NR_accept4:
	case NR_sendto:
	case NR_recvfrom:
	case NR_sendmsg:
	case NR_recvmsg:
	case NR_recvmmsg:
	case NR_sendmmsg:
	case NR_epoll_wait:
	case NR_epoll_pwait:
	case NR_epoll_pwait2:
		return OFFCPU_IO;
	}
	return OFFCPU_OTHER;
}

/*
 * When a wait stopped being a block and became a wait for a CPU: at its
 * wakeup (wake_ts, 0: not seen), unless the thread was preempted (runqueue
 * throughout). The time from then to running again (now) is runqueue time.
 */
static inline __u64 offcpu_blocked_end(__u32 reason, __u64 wake_ts, __u64 now)
{
	return wake_ts && reason != OFFCPU_RUNQUEUE ? wake_ts : now;
}

/* The task state a /proc stat state letter stands for ('D', 'S', ...). */
static inline unsigned int offcpu_state_of_letter(char letter)
{
	return letter == 'D'   ? TASK_UNINTERRUPTIBLE_STATE
	       : letter == 'R' ? TASK_RUNNING_STATE
			       : TASK_INTERRUPTIBLE_STATE;
}

#endif /* OFFCPU_REASON_H */
