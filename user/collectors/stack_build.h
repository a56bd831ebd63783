/* SPDX-License-Identifier: BSD-2-Clause */
/* Assembles the frames of one sample from its Python, native and kernel parts.
 */
#ifndef PYSTROBE_STACK_BUILD_H
#define PYSTROBE_STACK_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "bpf/sampler.h"
#include "model/profile.h"

#define MAX_OUT_FRAMES (MAX_PY_FRAMES + 2 * NATIVE_STACK_DEPTH + 4)

struct ksyms;
struct nativesym;
struct pysym;

/* Where the frames of one process come from. */
struct stack_sources {
	struct pysym *pysym;	  /* NULL: Python frames stay unresolved */
	struct nativesym *native; /* NULL: native stacks are ignored */
	const struct ksyms *ksyms;
	int kernel_stacks_fd, user_stacks_fd; /* BPF stack trace maps */
	bool python; /* the process's runtime is known */
};

struct stack_builder {
	struct profile *p;
	uint32_t frames[MAX_OUT_FRAMES]; /* leaf first */
	uint32_t depth;
	int err; /* first error; later pushes are ignored */
	int64_t unresolved_frames, missing_native; /* what could not be read */
};

/* Appends one frame (interned into b->p). */
void stack_build__push(struct stack_builder *b, enum frame_kind kind,
		       const char *name, const char *file, int64_t line,
		       int64_t start_line);

/* Appends the frames of key k with Python stack st (may be NULL). */
void stack_build__stack(struct stack_builder *b,
			const struct stack_sources *src,
			const struct sample_key *k, const struct py_stack *st);

/*
 * Threads of the walker's `threads` map (fd, keyed by tid) that have
 * exited: at most max of their tids into dead. Returns how many.
 */
int stack_build__exited_threads(int fd, __u32 *dead, int max);

#endif
