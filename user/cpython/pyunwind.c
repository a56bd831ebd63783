// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpython/pyunwind.h"
#include "process/remote_mem.h"

#define MAX_THREAD_STATES 4096
/* offsetof(struct pthread, tid) in x86-64 glibc (2.26 through 2.41). */
#define GLIBC_PTHREAD_TID 0x2d0

/* The thread's id in its own PID namespace (what gettid() returned). */
static pid_t ns_tid(pid_t pid, pid_t tid)
{
	char path[64], line[256];
	pid_t inner = tid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return tid;
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, "NSpid:", 6) != 0)
			continue;
		/* The last column is the innermost namespace. */
		for (p = line + 6; *p;) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			inner = v;
			p = end;
		}
	}
	fclose(f);
	return inner;
}

/* Whether thread state t belongs to the thread with ids (tid, inner). */
static bool is_thread(const struct pyproc *pp, uint64_t t, pid_t inner)
{
	const struct py_walk_offsets *w = &pp->info.walk;
	uint64_t v = 0;
	uint32_t glibc_tid = 0;

	if (w->tstate_native_thread_id != OFF_NONE)
		return remote_read_u64(pp->pid, t + w->tstate_native_thread_id,
				       &v) == 0 &&
		       v == (uint64_t)inner;
	/* 3.9/3.10: thread_id is pthread_self(); glibc keeps the tid there. */
	return remote_read_u64(pp->pid, t + w->tstate_thread_id, &v) == 0 &&
	       v &&
	       remote_read(pp->pid, v + GLIBC_PTHREAD_TID, &glibc_tid,
			   sizeof(glibc_tid)) == 0 &&
	       glibc_tid == (uint32_t)inner;
}

static uint64_t field(const uint8_t *buf, uint16_t off, uint8_t size)
{
	uint64_t v = 0;

	if (off == OFF_NONE || off + size > FRAME_READ_MAX)
		return 0;
	memcpy(&v, buf + off, size);
	return v;
}

int pyunwind__stack(const struct pyproc *pp, pid_t tid, struct py_stack *st)
{
	const struct py_walk_offsets *w = &pp->info.walk;
	uint64_t interp = 0, t = 0, frame = 0;
	pid_t inner = ns_tid(pp->pid, tid);
	bool every_entry =
		w->frame_owner == OFF_NONE && w->frame_is_entry == OFF_NONE;
	uint8_t buf[FRAME_READ_MAX];
	int i, err;

	memset(st, 0, sizeof(*st));
	err = remote_read_u64(pp->pid,
			      pp->runtime_addr + w->runtime_interpreters_head,
			      &interp);
	if (err || !interp)
		return err ? err : -ENOENT;
	if (remote_read_u64(pp->pid, interp + w->interp_threads_head, &t))
		return -EFAULT;
	for (i = 0; t && i < MAX_THREAD_STATES; i++) {
		if (is_thread(pp, t, inner))
			break;
		if (remote_read_u64(pp->pid, t + w->tstate_next, &t))
			return -EFAULT;
	}
	if (!t || i == MAX_THREAD_STATES)
		return -ENOENT;

	if (remote_read_u64(pp->pid, t + w->tstate_frame, &frame))
		return -EFAULT;
	if (frame && w->cframe_current_frame != OFF_NONE &&
	    remote_read_u64(pp->pid, frame + w->cframe_current_frame, &frame))
		return -EFAULT;
	for (i = 0; frame && i < MAX_PY_FRAMES + 32; i++) {
		uint64_t code;

		if (remote_read(pp->pid, frame, buf, pp->bpf.frame_read_size)) {
			st->flags |= STACK_READ_FAILED;
			break;
		}
		frame = field(buf, w->frame_previous, 8);
		if (w->frame_owner != OFF_NONE &&
		    field(buf, w->frame_owner, 1) >= w->owner_shim_min) {
			if (st->depth)
				st->frames[st->depth - 1].code |= PYFRAME_ENTRY;
			continue;
		}
		if (st->depth >= MAX_PY_FRAMES) {
			st->flags |= STACK_TRUNCATED;
			break;
		}
		code = field(buf, w->frame_code, 8) & ~7ULL;
		if (every_entry || (w->frame_is_entry != OFF_NONE &&
				    field(buf, w->frame_is_entry, 1)))
			code |= PYFRAME_ENTRY;
		st->frames[st->depth].code = code;
		st->frames[st->depth].instr =
			field(buf, w->frame_instr, w->instr_size);
		st->depth++;
	}
	if (frame && !(st->flags & (STACK_TRUNCATED | STACK_READ_FAILED)))
		st->flags |= STACK_TRUNCATED;
	return 0;
}
