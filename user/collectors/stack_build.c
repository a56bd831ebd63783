// SPDX-License-Identifier: BSD-2-Clause
/*
 * Turns one aggregated key (Python stack, kernel and native stack ids) into
 * profile frames, leaf first: kernel frames, then native frames with the
 * Python frames spliced in where the eval loop ran them, then any Python
 * frames left (frame pointers missing), then pseudo-frames.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "symbols/ksyms.h"
#include "symbols/nativesym.h"
#include "cpython/pysym.h"
#include "collectors/stack_build.h"

void stack_build__push(struct stack_builder *b, enum frame_kind kind,
		       const char *name, const char *file, int64_t line,
		       int64_t start_line)
{
	struct profile_frame f = {
		.kind = kind, .line = line, .start_line = start_line};
	int64_t idx;

	if (b->err || b->depth >= MAX_OUT_FRAMES)
		return;
	f.name = profile__intern(b->p, name);
	f.file = file ? profile__intern(b->p, file) : 0;
	if (f.name == (uint32_t)-1 || f.file == (uint32_t)-1) {
		b->err = -ENOMEM;
		return;
	}
	idx = profile__add_frame(b->p, &f);
	if (idx < 0) {
		b->err = -ENOMEM;
		return;
	}
	b->frames[b->depth++] = idx;
}

static void push_py_frame(struct stack_builder *b,
			  const struct stack_sources *src,
			  const struct py_frame *pf)
{
	struct pysym_frame sym;
	char name[64];

	uint64_t code = pf->code & ~PYFRAME_ENTRY;

	if (src->pysym &&
	    pysym__resolve(src->pysym, code, pf->instr, &sym) == 0) {
		stack_build__push(b, FRAME_PYTHON, sym.name, sym.file,
				  sym.line > 0 ? sym.line : 0, sym.firstlineno);
		return;
	}
	b->unresolved_frames++;
	snprintf(name, sizeof(name), "[unknown code %#llx]",
		 (unsigned long long)code);
	stack_build__push(b, FRAME_MARKER, name, NULL, 0, 0);
}

static bool is_entry(const struct py_stack *st, uint32_t i)
{
	return st->frames[i].code & PYFRAME_ENTRY;
}

static bool is_eval_symbol(const char *sym)
{
	return sym && strncmp(sym, "_PyEval_EvalFrame", 17) == 0;
}

/* Appends the Python frames from *pi up to and including the next entry. */
static void push_py_run(struct stack_builder *b,
			const struct stack_sources *src,
			const struct py_stack *st, uint32_t *pi)
{
	while (*pi < st->depth && *pi < MAX_PY_FRAMES) {
		uint32_t i = (*pi)++;

		push_py_frame(b, src, &st->frames[i]);
		if (is_entry(st, i))
			break;
	}
}

void stack_build__stack(struct stack_builder *b,
			const struct stack_sources *src,
			const struct sample_key *k, const struct py_stack *st)
{
	__u64 ips[NATIVE_STACK_DEPTH];
	uint32_t pi = 0, depth = st ? st->depth : 0;

	if (depth > MAX_PY_FRAMES)
		depth = MAX_PY_FRAMES;
	if (k->kernel_stack_id >= 0) {
		memset(ips, 0, sizeof(ips));
		if (bpf_map_lookup_elem(src->kernel_stacks_fd,
					&k->kernel_stack_id, ips) == 0) {
			for (int i = 0; i < NATIVE_STACK_DEPTH && ips[i]; i++) {
				const char *sym =
					src->ksyms ? ksyms__lookup(src->ksyms,
								   ips[i])
						   : NULL;
				char buf[64];

				if (!sym) {
					snprintf(buf, sizeof(buf), "%#llx",
						 (unsigned long long)ips[i]);
					sym = buf;
				}
				stack_build__push(b, FRAME_KERNEL, sym, NULL, 0,
						  0);
			}
		} else {
			b->missing_native++;
		}
	}
	if (k->user_stack_id >= 0 && src->native) {
		int n = 0;

		memset(ips, 0, sizeof(ips));
		if (bpf_map_lookup_elem(src->user_stacks_fd, &k->user_stack_id,
					ips)) {
			b->missing_native++;
		}
		while (n < NATIVE_STACK_DEPTH && ips[n])
			n++;
		for (int i = 0; i < n; i++) {
			const char *sym, *mod;
			uint64_t off;

			nativesym__lookup(src->native, ips[i], &sym, &mod,
					  &off);
			if (!mod) {
				/* A library loaded after the last refresh? */
				nativesym__refresh(src->native);
				nativesym__lookup(src->native, ips[i], &sym,
						  &mod, &off);
			}
			if (st && is_eval_symbol(sym) && pi < depth) {
				/* The eval loop runs the Python frames. */
				push_py_run(b, src, st, &pi);
				continue;
			}
			if (!sym) {
				/* Unsymbolized: module+offset, or the address.
				 */
				const char *base =
					mod ? strrchr(mod, '/') : NULL;
				char buf[300];

				if (mod)
					snprintf(buf, sizeof(buf), "%s+%#llx",
						 base ? base + 1 : mod,
						 (unsigned long long)off);
				else
					snprintf(buf, sizeof(buf), "%#llx",
						 (unsigned long long)ips[i]);
				stack_build__push(b, FRAME_NATIVE, buf, mod, 0,
						  0);
			} else {
				stack_build__push(b, FRAME_NATIVE, sym, mod, 0,
						  0);
			}
		}
	}
	/* Python frames not placed by an eval-loop frame go root-side. */
	while (st && pi < depth)
		push_py_frame(b, src, &st->frames[pi++]);
	if (k->flags & STACK_TRUNCATED)
		stack_build__push(b, FRAME_MARKER, "[truncated]", NULL, 0, 0);
	if (k->flags & STACK_READ_FAILED)
		stack_build__push(b, FRAME_MARKER, "[partial stack]", NULL, 0,
				  0);
	if (b->depth == 0 ||
	    (!st && (k->flags & STACK_NO_TSTATE) && k->user_stack_id < 0))
		stack_build__push(b, FRAME_MARKER,
				  src->python ? "[no Python frames]"
					      : "[no Python runtime]",
				  NULL, 0, 0);
}

int stack_build__exited_threads(int fd, __u32 *dead, int max)
{
	__u32 key, next, *prev = NULL;
	struct py_thread th;
	char path[64];
	int n = 0;

	while (n < max && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &th))
			continue;
		snprintf(path, sizeof(path), "/proc/%u/task/%u", th.pid, key);
		if (access(path, F_OK) != 0)
			dead[n++] = key;
	}
	return n;
}
