// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>
#include "process/procfs.h"
#include "process/target.h"

int target__spawn(struct target_proc *t, char **argv, char *why, size_t why_len)
{
	int go[2], err;
	pid_t pid;

	memset(t, 0, sizeof(*t));
	if (pipe2(go, O_CLOEXEC)) {
		err = -errno;
		snprintf(why, why_len, "pipe: %s", strerror(-err));
		return err;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(go[0]);
		close(go[1]);
		snprintf(why, why_len, "fork: %s", strerror(-err));
		return err;
	}
	if (pid == 0) {
		int e;
		char c;

		close(go[1]);
		/* Wait until the sampler watches our pid. */
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		/* The parent gets an exit stop; we die if it dies. */
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execvp(argv[0], argv);
		e = errno;
		/* Tell the parent why, through the exit status. */
		_exit(e == ENOENT ? 127 : 126);
	}
	close(go[0]);
	t->pid = pid;
	t->child = true;
	t->traced = true;
	/* Keep the write end: target__release sends the go byte. */
	t->go_fd = go[1];
	return 0;
}

int target__release(struct target_proc *t, char **argv, char *why,
		    size_t why_len)
{
	int fd = t->go_fd, status;
	char c = 1;

	t->go_fd = -1;
	if (write(fd, &c, 1) != 1) {
		close(fd);
		snprintf(why, why_len, "cannot start %s", argv[0]);
		return -EIO;
	}
	close(fd);
	/* The first stop is the SIGTRAP of a successful exec, else an exit. */
	if (waitpid(t->pid, &status, __WALL) < 0)
		return -errno;
	if (WIFEXITED(status)) {
		t->gone = true;
		t->exit_status = status;
		snprintf(why, why_len, "cannot run %s: %s", argv[0],
			 WEXITSTATUS(status) == 127 ? "command not found"
						    : "exec failed");
		return -ENOENT;
	}
	if (WIFSTOPPED(status)) {
		ptrace(PTRACE_SETOPTIONS, t->pid, NULL,
		       (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC |
				      PTRACE_O_EXITKILL));
		ptrace(PTRACE_CONT, t->pid, NULL, NULL);
	}
	return 0;
}

void target__seize(struct target_proc *t)
{
	/* Fails when another tracer is attached: then no exit stop. */
	t->traced = ptrace(PTRACE_SEIZE, t->pid, NULL,
			   (void *)(long)(PTRACE_O_TRACEEXIT |
					  PTRACE_O_TRACEEXEC)) == 0;
}

static bool process_gone(pid_t pid)
{
	char state = procfs__stat(pid, 0, NULL);

	return !state || state == 'Z' || state == 'X';
}

bool target__poll(struct target_proc *t)
{
	int status;
	pid_t r;

	if (t->gone)
		return false;
	if (!t->traced && !t->child) {
		t->gone = process_gone(t->pid);
		return t->gone;
	}
	for (;;) {
		r = waitpid(t->pid, &status, WNOHANG | __WALL);
		if (r == 0)
			return false;
		if (r < 0) {
			t->gone = errno == ECHILD ? process_gone(t->pid) : true;
			return t->gone;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			t->gone = true;
			t->exit_status = status;
			return true;
		}
		if (!WIFSTOPPED(status))
			continue;
		if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			t->exiting = true;
			return true;
		}
		if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
			/* A new program (chroot -> python): look again. */
			t->execed = true;
			if (t->hold_exec) {
				t->held = true;
				return true;
			}
			ptrace(PTRACE_CONT, t->pid, NULL, NULL);
			continue;
		}
		/* A signal for the target (or a group stop): pass it on. */
		if (status >> 16 == PTRACE_EVENT_STOP)
			ptrace(PTRACE_LISTEN, t->pid, NULL, NULL);
		else
			ptrace(PTRACE_CONT, t->pid, NULL,
			       (void *)(long)WSTOPSIG(status));
	}
}

void target__resume(struct target_proc *t)
{
	if (t->held && !t->gone)
		ptrace(PTRACE_CONT, t->pid, NULL, NULL);
	t->held = false;
}

void target__let_go(struct target_proc *t)
{
	target__resume(t);
	if (!t->traced || t->gone)
		return;
	if (t->exiting)
		ptrace(PTRACE_DETACH, t->pid, NULL, NULL);
	else if (!t->child)
		/* A seized tracee must be stopped to detach: interrupt it. */
		if (ptrace(PTRACE_INTERRUPT, t->pid, NULL, NULL) == 0) {
			int status;

			while (waitpid(t->pid, &status, __WALL) > 0) {
				if (!WIFSTOPPED(status))
					break;
				if (status >> 16 == PTRACE_EVENT_STOP ||
				    status >> 8 == (SIGTRAP |
						    (PTRACE_EVENT_EXIT << 8))) {
					ptrace(PTRACE_DETACH, t->pid, NULL,
					       NULL);
					break;
				}
				/* Hold the signal for after the detach. */
				ptrace(PTRACE_DETACH, t->pid, NULL,
				       (void *)(long)WSTOPSIG(status));
				break;
			}
		}
	if (t->child && !t->exiting)
		return; /* still traced: target__wait_child resumes its stops */
	t->traced = false;
	t->exiting = false;
}

int target__wait_child(struct target_proc *t)
{
	int status = t->exit_status;

	/* Never released (an error before exec): it exits on the pipe's EOF. */
	if (t->child && t->go_fd >= 0) {
		close(t->go_fd);
		t->go_fd = -1;
	}
	while (!t->gone) {
		if (waitpid(t->pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			status = 1 << 8;
			break;
		}
		if (WIFSTOPPED(status)) {
			int sig = WSTOPSIG(status);

			/* Resume stops of a still-traced child. */
			if (sig == SIGTRAP && (status >> 16))
				sig = 0;
			ptrace(PTRACE_CONT, t->pid, NULL, (void *)(long)sig);
			continue;
		}
		t->gone = WIFEXITED(status) || WIFSIGNALED(status);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}
