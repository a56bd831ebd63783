// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for the off-CPU reason rules (bpf/offcpu_reason.h), shared by
 * the BPF switch-out program and the loader: one case per row of the table
 * at the top of the header, the GIL range's bounds, the order in which the
 * rules apply, when a wait turns into runqueue time, and /proc state letters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/types.h>

#include "bpf/offcpu_reason.h"

#define S	   TASK_INTERRUPTIBLE_STATE
#define D	   TASK_UNINTERRUPTIBLE_STATE
#define NO_SYSCALL (-1L)

/* The target's GIL state occupies [GIL_LO, GIL_HI). */
#define GIL_LO 0x7f0000001000ULL
#define GIL_HI 0x7f0000001100ULL

static __u32 reason(unsigned int state, long nr, __u64 arg0, __u64 arg1)
{
	return offcpu_reason_of(state, nr, arg0, arg1, GIL_LO, GIL_HI);
}

/* Blocking calls of the io row; none of them is in another row. */
static const long io_calls[] = {
	NR_read,	NR_write,	 NR_pread64,  NR_pwrite64,
	NR_readv,	NR_writev,	 NR_connect,  NR_accept,
	NR_accept4,	NR_sendto,	 NR_recvfrom, NR_sendmsg,
	NR_recvmsg,	NR_recvmmsg,	 NR_sendmmsg, NR_epoll_wait,
	NR_epoll_pwait, NR_epoll_pwait2,
};

/* Preempted: runnable, whatever the call it was in. */
static void test_preempted_is_runqueue(void **state)
{
	assert_int_equal(reason(TASK_RUNNING_STATE, NO_SYSCALL, 0, 0),
			 OFFCPU_RUNQUEUE);
	assert_int_equal(reason(TASK_RUNNING_STATE, NR_futex, GIL_LO, 0),
			 OFFCPU_RUNQUEUE);
	assert_int_equal(reason(TASK_RUNNING_STATE, NR_futex, 0x10, 0),
			 OFFCPU_RUNQUEUE);
	assert_int_equal(reason(TASK_RUNNING_STATE, NR_nanosleep, 0, 0),
			 OFFCPU_RUNQUEUE);
	assert_int_equal(reason(TASK_RUNNING_STATE, NR_read, 3, 0),
			 OFFCPU_RUNQUEUE);
	assert_int_equal(reason(TASK_RUNNING_STATE, NR_poll, 0, 0),
			 OFFCPU_RUNQUEUE);
}

/* A futex word inside [lo, hi) is the GIL's; lo counts, hi does not. */
static void test_futex_gil_bounds(void **state)
{
	static const long calls[] = {NR_futex, NR_futex_waitv};

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		long nr = calls[i];

		assert_int_equal(reason(S, nr, GIL_LO, 0), OFFCPU_GIL);
		assert_int_equal(reason(S, nr, GIL_LO + 0x40, 0), OFFCPU_GIL);
		assert_int_equal(reason(S, nr, GIL_HI - 1, 0), OFFCPU_GIL);
		assert_int_equal(reason(S, nr, GIL_HI, 0), OFFCPU_LOCK);
		assert_int_equal(reason(S, nr, GIL_LO - 1, 0), OFFCPU_LOCK);
		assert_int_equal(reason(S, nr, 0, 0), OFFCPU_LOCK);
		assert_int_equal(reason(S, nr, ~0ULL, 0), OFFCPU_LOCK);
	}
}

/* Without a known GIL (an empty range) every futex wait is a lock. */
static void test_futex_without_gil_is_lock(void **state)
{
	assert_int_equal(offcpu_reason_of(S, NR_futex, 0, 0, 0, 0),
			 OFFCPU_LOCK);
	assert_int_equal(
		offcpu_reason_of(S, NR_futex, GIL_LO, 0, GIL_LO, GIL_LO),
		OFFCPU_LOCK);
}

static void test_nanosleep_is_sleep(void **state)
{
	assert_int_equal(reason(S, NR_nanosleep, 0x1234, 0), OFFCPU_SLEEP);
	assert_int_equal(reason(S, NR_clock_nanosleep, 1, 0x1234),
			 OFFCPU_SLEEP);
}

/* select/pselect6: nfds is the first argument; the second is a pointer. */
static void test_select(void **state)
{
	static const long calls[] = {NR_select, NR_pselect6};

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		assert_int_equal(reason(S, calls[i], 0, 0), OFFCPU_SLEEP);
		assert_int_equal(reason(S, calls[i], 0, 0x7ffd0000),
				 OFFCPU_SLEEP);
		assert_int_equal(reason(S, calls[i], 1, 0x7ffd0000), OFFCPU_IO);
		assert_int_equal(reason(S, calls[i], 64, 0), OFFCPU_IO);
	}
}

/* poll/ppoll: nfds is the second argument; the first is a pointer. */
static void test_poll(void **state)
{
	static const long calls[] = {NR_poll, NR_ppoll};

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		assert_int_equal(reason(S, calls[i], 0, 0), OFFCPU_SLEEP);
		assert_int_equal(reason(S, calls[i], 0x7ffd0000, 0),
				 OFFCPU_SLEEP);
		assert_int_equal(reason(S, calls[i], 0x7ffd0000, 1), OFFCPU_IO);
		assert_int_equal(reason(S, calls[i], 0, 2), OFFCPU_IO);
	}
}

static void test_io_calls(void **state)
{
	for (size_t i = 0; i < sizeof(io_calls) / sizeof(io_calls[0]); i++)
		assert_int_equal(reason(S, io_calls[i], 3, 0), OFFCPU_IO);
}

/*
 * Uninterruptible: disk (or a page fault) outside a call at all, in the io
 * calls and in calls of no row; the futex, sleep, select and poll rows still
 * apply, as they come first.
 */
static void test_uninterruptible(void **state)
{
	assert_int_equal(reason(D, NO_SYSCALL, 0, 0), OFFCPU_DISK);
	assert_int_equal(reason(D, 9 /* mmap */, 0, 0), OFFCPU_DISK);
	assert_int_equal(reason(D, 74 /* fsync */, 3, 0), OFFCPU_DISK);
	for (size_t i = 0; i < sizeof(io_calls) / sizeof(io_calls[0]); i++)
		assert_int_equal(reason(D, io_calls[i], 3, 0), OFFCPU_DISK);
	/* TASK_KILLABLE (TASK_WAKEKILL 0x100 too), as sched_switch's raw
	 * prev_state has it */
	assert_int_equal(reason(D | 0x100, NR_read, 3, 0), OFFCPU_DISK);
	assert_int_equal(reason(D | 0x100, NO_SYSCALL, 0, 0), OFFCPU_DISK);

	assert_int_equal(reason(D, NR_futex, GIL_LO, 0), OFFCPU_GIL);
	assert_int_equal(reason(D, NR_futex, GIL_HI, 0), OFFCPU_LOCK);
	assert_int_equal(reason(D, NR_nanosleep, 0, 0), OFFCPU_SLEEP);
	assert_int_equal(reason(D, NR_select, 0, 0), OFFCPU_SLEEP);
	assert_int_equal(reason(D, NR_pselect6, 2, 0), OFFCPU_IO);
	assert_int_equal(reason(D, NR_poll, 0x7ffd0000, 0), OFFCPU_SLEEP);
	assert_int_equal(reason(D, NR_ppoll, 0x7ffd0000, 1), OFFCPU_IO);
}

/* Interruptible (or stopped, or dead) outside every row: other. */
static void test_other(void **state)
{
	assert_int_equal(reason(S, NO_SYSCALL, 0, 0), OFFCPU_OTHER);
	assert_int_equal(reason(S, 9 /* mmap */, 0, 0), OFFCPU_OTHER);
	assert_int_equal(reason(S, 61 /* wait4 */, 0, 0), OFFCPU_OTHER);
	assert_int_equal(reason(S, 74 /* fsync */, 3, 0), OFFCPU_OTHER);
	assert_int_equal(reason(4 /* __TASK_STOPPED */, NO_SYSCALL, 0, 0),
			 OFFCPU_OTHER);
	assert_int_equal(reason(TASK_DEAD_STATE, NO_SYSCALL, 0, 0),
			 OFFCPU_OTHER);
}

/*
 * A block ends at its wakeup when that was seen; a preempted thread waits
 * for a CPU all along, so its block ends when it runs again (now).
 */
static void test_blocked_end(void **state)
{
	const __u64 wake = 1000, now = 5000;

	for (__u32 r = OFFCPU_NONE; r < OFFCPU__COUNT; r++) {
		if (r == OFFCPU_RUNQUEUE)
			continue;
		assert_int_equal(offcpu_blocked_end(r, wake, now), wake);
		assert_int_equal(offcpu_blocked_end(r, 0, now), now);
	}
	assert_int_equal(offcpu_blocked_end(OFFCPU_RUNQUEUE, wake, now), now);
	assert_int_equal(offcpu_blocked_end(OFFCPU_RUNQUEUE, 0, now), now);
}

static void test_state_of_letter(void **state)
{
	assert_int_equal(offcpu_state_of_letter('D'),
			 TASK_UNINTERRUPTIBLE_STATE);
	assert_int_equal(offcpu_state_of_letter('R'), TASK_RUNNING_STATE);
	assert_int_equal(offcpu_state_of_letter('S'), TASK_INTERRUPTIBLE_STATE);
	assert_int_equal(offcpu_state_of_letter('T'), TASK_INTERRUPTIBLE_STATE);
	assert_int_equal(offcpu_state_of_letter('I'), TASK_INTERRUPTIBLE_STATE);
	assert_int_equal(offcpu_state_of_letter('d'), TASK_INTERRUPTIBLE_STATE);
}

/* The loader's path: a /proc letter and a call give the BPF side's reason. */
static void test_letters_through_rules(void **state)
{
	assert_int_equal(reason(offcpu_state_of_letter('R'), NR_read, 3, 0),
			 OFFCPU_RUNQUEUE);
	assert_int_equal(reason(offcpu_state_of_letter('D'), NR_read, 3, 0),
			 OFFCPU_DISK);
	assert_int_equal(reason(offcpu_state_of_letter('S'), NR_read, 3, 0),
			 OFFCPU_IO);
	assert_int_equal(reason(offcpu_state_of_letter('D'), NO_SYSCALL, 0, 0),
			 OFFCPU_DISK);
	assert_int_equal(reason(offcpu_state_of_letter('S'), NO_SYSCALL, 0, 0),
			 OFFCPU_OTHER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preempted_is_runqueue),
		cmocka_unit_test(test_futex_gil_bounds),
		cmocka_unit_test(test_futex_without_gil_is_lock),
		cmocka_unit_test(test_nanosleep_is_sleep),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_poll),
		cmocka_unit_test(test_io_calls),
		cmocka_unit_test(test_uninterruptible),
		cmocka_unit_test(test_other),
		cmocka_unit_test(test_blocked_end),
		cmocka_unit_test(test_state_of_letter),
		cmocka_unit_test(test_letters_through_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
