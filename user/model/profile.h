/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The in-memory profile every mode fills and every writer renders: interned
 * strings, frames, and samples carrying one value per sample type. It maps
 * one-to-one onto pprof, so a saved profile re-renders identically.
 */
#ifndef PYSTROBE_PROFILE_H
#define PYSTROBE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROFILE_MAX_TYPES 8

enum frame_kind {
	FRAME_PYTHON,
	FRAME_NATIVE,
	FRAME_KERNEL,
	FRAME_MARKER, /* pseudo-frame such as "[truncated]" */
};

struct profile_frame {
	enum frame_kind kind;
	uint32_t name; /* string index: qualname or symbol */
	uint32_t file; /* string index: Python file or native module; 0: none */
	int64_t line;  /* 0: unknown */
	int64_t start_line; /* first line of the function; 0: unknown */
};

struct profile_sample {
	uint32_t *frames; /* frame indices, leaf first */
	uint32_t depth;
	int64_t values[PROFILE_MAX_TYPES];
	int64_t pid, tid;
	uint32_t thread_name; /* string index; 0: none */
	uint32_t comm;	      /* process command, string index; 0: none */
};

struct profile_value_type {
	uint32_t type; /* string index, e.g. "samples", "cpu" */
	uint32_t unit; /* string index, e.g. "count", "nanoseconds" */
};

struct profile_counter {
	uint32_t name; /* string index */
	int64_t value;
};

struct profile_process_label {
	int64_t pid;
	uint32_t key, value; /* string indices */
};

struct profile {
	char **strings; /* strings[0] == "" */
	size_t nr_strings, cap_strings;
	void *string_index; /* private hash: string -> index */

	struct profile_frame *frames;
	size_t nr_frames, cap_frames;
	void *frame_index; /* private hash: frame -> index */

	struct profile_sample *samples;
	size_t nr_samples, cap_samples;
	void *sample_index; /* private hash: sample key -> index */

	struct profile_value_type types[PROFILE_MAX_TYPES];
	int nr_types;
	struct profile_value_type period_type;
	int64_t period;	    /* e.g. ns between samples */
	int64_t time_nanos; /* start, wall clock */
	int64_t duration_nanos;

	/* What was lost while recording, shown with every rendering. */
	struct profile_counter *counters;
	size_t nr_counters, cap_counters;

	/* Labels every sample of one process carries (e.g. its cgroup). */
	struct profile_process_label *proc_labels;
	size_t nr_proc_labels, cap_proc_labels;
};

struct profile *profile__new(void);
void profile__free(struct profile *p); /* accepts NULL */

/* Interns s (NULL counts as ""); returns its index, or (uint32_t)-1 on
 * allocation failure. */
uint32_t profile__intern(struct profile *p, const char *s);

/* Index of s if already interned, else (uint32_t)-1; never allocates. */
uint32_t profile__find_string(const struct profile *p, const char *s);

/*
 * Returns the index of an equal frame (all five fields equal), adding it if
 * new; negative errno on failure (-EINVAL: a string index out of range).
 */
int64_t profile__add_frame(struct profile *p, const struct profile_frame *f);

/*
 * Appends a sample type; returns its index or a negative errno (-E2BIG past
 * PROFILE_MAX_TYPES). Add every type before the first sample.
 */
int profile__add_type(struct profile *p, const char *type, const char *unit);

/*
 * Adds a sample (frames leaf first, copied; values holds p->nr_types
 * entries). Samples with the same frames, pid, tid and names are merged by
 * adding values; the merged sample keeps its first position. Returns 0,
 * -EINVAL (frame index out of range) or -ENOMEM.
 */
int profile__add_sample(struct profile *p, const uint32_t *frames,
			uint32_t depth, const int64_t *values, int64_t pid,
			int64_t tid, const char *thread_name, const char *comm);

/* Sets counter name to value, adding it (in call order) if new. 0 or -errno. */
int profile__set_counter(struct profile *p, const char *name, int64_t value);

/* Sets a string label of every sample of pid (replacing one of that key). */
int profile__set_process_label(struct profile *p, int64_t pid, const char *key,
			       const char *value);

/* The value of pid's label key, or NULL. */
const char *profile__process_label(const struct profile *p, int64_t pid,
				   const char *key);

/*
 * A new empty profile with src's sample types, period, period type and
 * start (a recording's per-interval profiles). NULL with errno ENOMEM.
 */
struct profile *profile__new_like(const struct profile *src);

/*
 * Adds src's samples of process pid (pid < 0: every sample) to dst, and
 * the process labels that go with them; counters stay. dst's sample types
 * must be src's, in order. Returns 0, -EINVAL (other types) or -ENOMEM.
 */
int profile__merge(struct profile *dst, const struct profile *src, int64_t pid);

/* Value of counter name, or def when absent. */
int64_t profile__counter(const struct profile *p, const char *name,
			 int64_t def);

/* Index of the sample type named type, or -1. */
int profile__type_index(const struct profile *p, const char *type);

/*
 * Human-readable frame text shared by the text writers. With per_function the
 * Python location is the function's start line, else the executing line:
 *   Python  "qualname (file:line)"  (always this shape; unknown line: 0)
 *   native  "symbol"
 *   kernel  "symbol_[k]"
 *   marker  "name"
 * An empty name renders as "[unknown]".
 * Returns the untruncated length, as snprintf does.
 */
int profile__format_frame(const struct profile *p,
			  const struct profile_frame *f, bool per_function,
			  char *buf, size_t size);

static inline const char *profile__str(const struct profile *p, uint32_t i)
{
	return i < p->nr_strings ? p->strings[i] : "";
}

#endif /* PYSTROBE_PROFILE_H */
