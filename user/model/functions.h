/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-function aggregation of a profile, shared by every writer that shows
 * functions (the tables, JSON, HTML, diff), so that "a function" means the
 * same everywhere: (kind, name, file, start line). Its lines are summed.
 *
 * Per sample type, a function's self value is what samples charged to it as
 * their self frame, and its total value what every sample with the
 * function anywhere at or above the self frame carried, counted once per
 * sample however often the function recurses. Off-CPU time (the "offcpu"
 * type) is split by reason, read from the sample's "[off-cpu: REASON]" leaf
 * pseudo-frame (model/offcpu_frames.h); a sample without one counts as
 * "other".
 */
#ifndef PYSTROBE_FUNCTIONS_H
#define PYSTROBE_FUNCTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "bpf/offcpu_reason.h"
#include "model/profile.h"

/* Which frame of a sample its self value goes to. */
enum functions_self {
	/* The leaf frame, whatever it is (the CPU table's rule). */
	FUNCTIONS_SELF_LEAF,
	/*
	 * The leaf-most frame that is neither a pseudo-frame nor a kernel
	 * frame (the root frame when all are): the code that waited, not the
	 * "[off-cpu: REASON]" marker or the kernel path it waited in. Frames
	 * leafward of it get nothing. The rule for off-CPU and wall profiles.
	 */
	FUNCTIONS_SELF_CODE,
};

struct function {
	enum frame_kind kind;
	uint32_t name, file; /* string indices of the profile */
	int64_t start_line;
	uint32_t frame; /* the first frame of this function: for its text */
	int64_t self[PROFILE_MAX_TYPES], total[PROFILE_MAX_TYPES];
	/* The off-CPU type's self and total by enum offcpu_reason. */
	int64_t self_offcpu[OFFCPU__COUNT], total_offcpu[OFFCPU__COUNT];
};

struct functions {
	struct function *funcs; /* in order of first frame */
	size_t nr;
	uint32_t *of_frame;		   /* frame index -> index into funcs */
	int64_t sum[PROFILE_MAX_TYPES];	   /* every sample's values */
	int64_t sum_offcpu[OFFCPU__COUNT]; /* the off-CPU type, by reason */
	int offcpu_type;		   /* index of "offcpu", or -1 */
	enum functions_self rule;
};

/* The rule the tables use for p: FUNCTIONS_SELF_CODE when p has off-CPU
 * time, else FUNCTIONS_SELF_LEAF. */
enum functions_self functions__rule_for(const struct profile *p);

/* Aggregates p into out; 0 or -ENOMEM (out is then empty). */
int functions__build(const struct profile *p, enum functions_self rule,
		     struct functions *out);
void functions__free(struct functions *f); /* leaves f empty; accepts NULL */

/* Position in s->frames of the frame its self value goes to (s->depth > 0). */
uint32_t functions__self_frame(const struct profile *p,
			       const struct profile_sample *s,
			       enum functions_self rule);

/* The reason named by s's "[off-cpu: REASON]" leaf frame; OFFCPU_OTHER when
 * it has none or names an unknown reason. */
enum offcpu_reason functions__reason(const struct profile *p,
				     const struct profile_sample *s);

/* The reason a "[off-cpu: REASON]" frame names, or -1 for any other frame
 * (an unknown reason name: OFFCPU_OTHER). */
int functions__frame_reason(const struct profile *p,
			    const struct profile_frame *f);

/*
 * What kind of profile p is, from its sample types: "calls" (a calls
 * type), "memory" (alloc_* or inuse_* types), "wall" (a wall type),
 * "offcpu" (off-CPU time only), "cpu" (samples or cpu), else "unknown".
 * Two profiles can be compared when their kinds are equal.
 */
const char *functions__profile_kind(const struct profile *p);

/* "python", "native", "kernel" or "marker". */
const char *functions__kind_name(enum frame_kind kind);

#endif
