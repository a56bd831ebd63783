// SPDX-License-Identifier: BSD-2-Clause
/* PEP 768 remote execution request (see remote_exec.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "cpython/remote_exec.h"
#include "process/remote_mem.h"

#define DEBUG_OFFSETS_MAX  4096
#define PLEASE_STOP_BIT	   (1u << 5) /* _PY_EVAL_PLEASE_STOP_BIT */
#define MAX_OBJECT_OFFSET  (4u << 20)
#define MAX_THREADS_QUEUED 4096

/* The uint64_t at position pos of the raw _Py_DebugOffsets, bounded. */
static int field(const uint8_t *raw, size_t size, uint16_t pos, uint64_t max,
		 uint64_t *out)
{
	if (pos == OFF_NONE || (size_t)pos + 8 > size)
		return -ENOTSUP;
	memcpy(out, raw + pos, 8);
	return *out <= max ? 0 : -EINVAL;
}

struct exec_offsets {
	uint64_t eval_breaker, support, enabled, pending, path, path_size;
};

static int read_offsets(const struct pyproc *pp, struct exec_offsets *o)
{
	const struct py_debug_offsets_layout *d = &pp->info.dbg;
	uint8_t raw[DEBUG_OFFSETS_MAX];
	int err;

	if (!pp->info.has_debug_offsets || d->size > sizeof(raw) ||
	    d->debugger_support == OFF_NONE)
		return -ENOTSUP;
	err = remote_read(pp->pid, pp->runtime_addr, raw, d->size);
	err = err
		      ?: field(raw, d->size, d->debugger_eval_breaker,
			       MAX_OBJECT_OFFSET, &o->eval_breaker);
	err = err
		      ?: field(raw, d->size, d->debugger_support,
			       MAX_OBJECT_OFFSET, &o->support);
	err = err
		      ?: field(raw, d->size, d->debugger_enabled,
			       MAX_OBJECT_OFFSET, &o->enabled);
	err = err
		      ?: field(raw, d->size, d->debugger_pending_call, 4096,
			       &o->pending);
	err = err
		      ?: field(raw, d->size, d->debugger_script_path, 4096,
			       &o->path);
	err = err
		      ?: field(raw, d->size, d->debugger_script_path_size,
			       65536, &o->path_size);
	return err;
}

void remote_exec__cancel(const struct pyproc *pp)
{
	struct exec_offsets o;
	uint64_t interp, tstate = 0;
	int32_t zero = 0;

	if (read_offsets(pp, &o) ||
	    remote_read_u64(pp->pid,
			    pp->runtime_addr +
				    pp->info.walk.runtime_interpreters_head,
			    &interp) ||
	    !interp ||
	    remote_read_u64(pp->pid, interp + pp->info.walk.interp_threads_head,
			    &tstate))
		return;
	for (int n = 0; tstate && n < MAX_THREADS_QUEUED; n++) {
		remote_write(pp->pid, tstate + o.support + o.pending, &zero,
			     sizeof(zero));
		if (remote_read_u64(pp->pid, tstate + pp->info.walk.tstate_next,
				    &tstate))
			break;
	}
}

int remote_exec__request(const struct pyproc *pp, const char *script, char *why,
			 size_t why_len)
{
	uint64_t eval_breaker, support, enabled_off, pending, path, path_size;
	uint64_t interp, tstate, breaker;
	struct exec_offsets o;
	int32_t enabled = 0, one = 1;
	size_t len = strlen(script);
	int err, n = 0;

	err = read_offsets(pp, &o);
	if (err == -ENOTSUP) {
		snprintf(why, why_len,
			 "Python %d.%d has no remote execution (PEP 768 is "
			 "3.14+)",
			 pp->major, pp->minor);
		return err;
	}
	eval_breaker = o.eval_breaker;
	support = o.support;
	enabled_off = o.enabled;
	pending = o.pending;
	path = o.path;
	path_size = o.path_size;
	if (err) {
		snprintf(why, why_len,
			 "process %d: unreadable or implausible remote "
			 "debugging offsets",
			 pp->pid);
		return err;
	}
	if (len + 1 > path_size) {
		snprintf(why, why_len, "script path %s is longer than %llu",
			 script, (unsigned long long)path_size - 1);
		return -ENAMETOOLONG;
	}
	if (remote_read_u64(pp->pid,
			    pp->runtime_addr +
				    pp->info.walk.runtime_interpreters_head,
			    &interp) ||
	    !interp ||
	    remote_read(pp->pid, interp + enabled_off, &enabled,
			sizeof(enabled))) {
		snprintf(why, why_len,
			 "process %d: cannot read its interpreter state",
			 pp->pid);
		return -EFAULT;
	}
	if (enabled != 1) {
		snprintf(why, why_len,
			 "process %d has remote debugging disabled "
			 "(PYTHON_DISABLE_REMOTE_DEBUG or -X "
			 "disable_remote_debug)",
			 pp->pid);
		return -EPERM;
	}
	if (remote_read_u64(pp->pid, interp + pp->info.walk.interp_threads_head,
			    &tstate))
		tstate = 0;
	for (; tstate && n < MAX_THREADS_QUEUED; n++) {
		uint64_t s = tstate + support;

		err = remote_write(pp->pid, s + path, script, len + 1);
		err = err
			      ?: remote_write(pp->pid, s + pending, &one,
					      sizeof(one));
		err = err
			      ?: remote_read_u64(pp->pid, tstate + eval_breaker,
						 &breaker);
		breaker |= PLEASE_STOP_BIT;
		err = err
			      ?: remote_write(pp->pid, tstate + eval_breaker,
					      &breaker, sizeof(breaker));
		if (err) {
			snprintf(why, why_len,
				 "process %d: cannot write its thread state: "
				 "%s",
				 pp->pid, strerror(-err));
			return err;
		}
		if (remote_read_u64(pp->pid, tstate + pp->info.walk.tstate_next,
				    &tstate))
			break;
	}
	if (!n) {
		snprintf(why, why_len, "process %d has no Python thread",
			 pp->pid);
		return -ESRCH;
	}
	return 0;
}
