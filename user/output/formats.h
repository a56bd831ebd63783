/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one table of output formats: name, the -o extensions that select it,
 * and its writer for each kind of result. Every command and `report` go
 * through it: -f names a format; without -f the extension of -o chooses
 * (longest suffix first: ".speedscope.json" before ".json"), else table.
 * A new format is one writer and one row.
 */
#ifndef PYSTROBE_FORMATS_H
#define PYSTROBE_FORMATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <json-c/json.h>
#include "model/call_graph.h"
#include "model/findings.h"
#include "model/memory.h"
#include "model/profile.h"
#include "model/profile_diff.h"
#include "model/scale.h"
#include "model/timeline.h"

/* What a command produced. */
enum result_kind {
	RESULT_SAMPLES,	 /* record, report: a profile of stacks */
	RESULT_CALLS,	 /* calls: the call graph, its timeline */
	RESULT_DIFF,	 /* diff: two profiles compared per function */
	RESULT_DOCUMENT, /* report: a saved -f json document */
	RESULT_SCALE,	 /* scale: per-function fits over input sizes */
	RESULT_FINDINGS, /* --findings: only the findings of what is below */
	RESULT_MEMORY,	 /* memory: allocation sites, leaks, temporaries */
	RESULT__COUNT,
};

enum call_sort {
	CALL_SORT_CALLS,
	CALL_SORT_SELF,
	CALL_SORT_TOTAL,
	CALL_SORT_CPU,
	CALL_SORT_OFFCPU,
	CALL_SORT_MEAN,
};

/* Counters of what was lost, by name. */
struct call_counters {
	const char **names;
	const int64_t *values;
	size_t nr;
};

/* Everything a writer may use; fields not of its kind are NULL/0. */
struct result {
	enum result_kind kind;
	const struct profile *profile;	 /* RESULT_SAMPLES */
	const struct call_graph *calls;	 /* RESULT_CALLS */
	const struct call_event *events; /* RESULT_CALLS: the timeline */
	size_t nr_events;
	const struct call_counters *lost; /* RESULT_CALLS */
	const struct scale_result *scale; /* RESULT_SCALE */
	const struct timeline *timeline;  /* every kind; NULL: none kept */
	const struct profile_diff *diff;  /* RESULT_DIFF */
	struct json_object *document;	  /* RESULT_DOCUMENT */
	/*
	 * What the data reveals; NULL: output__write runs the findings pass
	 * over the profile, call graph, scale and memory results.
	 */
	const struct finding_list *findings;
	const struct memory_result *memory; /* RESULT_MEMORY */
	/* How to render. */
	int top;	     /* table rows; <= 0: all */
	bool threads;	     /* folded: a root frame per thread */
	enum call_sort sort; /* calls: row order */
	const char *metric;  /* memory: the sample type folded writes */
};

/* Writes r to out; 0 or a negative errno. */
typedef int (*output_writer)(const struct result *r, FILE *out);

struct output_format {
	const char *name;
	const char *extensions[3];	    /* NULL-terminated, longest first */
	bool binary;			    /* not for a terminal: needs -o */
	output_writer write[RESULT__COUNT]; /* NULL: not for that kind */
	bool call_events; /* calls: writes each kept call (a timeline) */
};

/* The format named name, or NULL. */
const struct output_format *output__find(const char *name);

/* The format path's extension selects; table when none does. */
const struct output_format *output__for_path(const char *path);

/* "table, folded, ..." for error messages: every format's name. */
void output__names(char *buf, size_t len);

/*
 * The format to write, from -f (may be NULL) and -o (may be NULL), checked
 * against what the command produces. NULL with a one-line reason in why
 * (the format does not apply to this kind, or a binary format without -o).
 */
const struct output_format *output__choose(const struct output_format *f,
					   const char *path,
					   enum result_kind kind, char *why,
					   size_t why_len);

/*
 * Writes r in format f to path (NULL: stdout). Returns 0 or a negative
 * errno with a one-line reason in why; a partial file may remain.
 */
int output__write(const struct output_format *f, const struct result *r,
		  const char *path, char *why, size_t why_len);

#endif
