/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Findings: what a profile reveals, each with the numbers it rests on.
 *
 * A pass of rules over whatever a command produced (a sampled profile, a
 * call graph, a scale sweep, a memory result). Each rule is one row of a
 * table (findings.c) holding its thresholds and a small function; a rule
 * that lacks its input (no call counts in a sampled profile, no off-CPU
 * reasons in a call trace) finds nothing. A finding is only made when the
 * measured numbers clear the row's thresholds: the README lists them and
 * says why. The memory rules detect nothing themselves: they show the
 * leaks and temporaries memory__analyze found, with its numbers.
 */
#ifndef PYSTROBE_FINDINGS_H
#define PYSTROBE_FINDINGS_H

#include <stddef.h>
#include <stdint.h>
#include "model/call_graph.h"
#include "model/profile.h"
#include "model/scale.h"

enum finding_kind {
	FINDING_REPEATED_CALL, /* one callee called many times from one caller
				*/
	FINDING_HOT_LINE,      /* one line holds a large share of CPU time */
	FINDING_SUPERLINEAR,   /* time grows faster than n (scale) */
	FINDING_TEMPORARIES,   /* bytes that die young, at a high rate */
	FINDING_LEAK,	       /* live bytes that keep growing */
	FINDING_LOCK_WAIT,     /* mostly off-CPU waiting on a lock */
	FINDING_GIL_WAIT,      /* ... waiting to take the GIL */
	FINDING_IO_WAIT,       /* ... waiting on I/O */
	FINDING_SLEEP_WAIT,    /* ... sleeping */
	FINDING_CPU_BOUND,     /* the run's wall time is mostly on the CPU */
	FINDING_WAIT_BOUND,    /* ... mostly waiting */
	FINDING__COUNT,
};

enum finding_severity {
	SEVERITY_LOW,
	SEVERITY_MEDIUM,
	SEVERITY_HIGH,
};

struct finding {
	enum finding_kind kind;
	enum finding_severity severity;
	char *function; /* "" for none */
	char *file;	/* "" for none */
	int64_t line;	/* 0: unknown */
	double share;	/* of what the evidence names, 0..1 */
	char *evidence; /* one line, with the numbers */
};

struct finding_list {
	struct finding *items; /* most severe first, then by share */
	size_t nr, cap;
};

/* `pystrobe memory`'s result, analysed (model/memory.h: memory__analyze). */
struct memory_result;

/* Everything a pass may look at; NULL where a command has none. */
struct findings_input {
	const struct profile *profile;	  /* record, report */
	const struct call_graph *calls;	  /* calls */
	const struct scale_result *scale; /* scale */
	/* memory, after memory__analyze: its leaks and temporaries */
	const struct memory_result *memory;
};

/*
 * Runs every rule over in and appends what they find to out (most severe
 * first). Returns 0 or -ENOMEM; out holds what was found before a failure.
 */
int findings__analyze(const struct findings_input *in,
		      struct finding_list *out);

void finding_list__free(struct finding_list *l); /* accepts NULL members */

/*
 * Appends a finding (strings copied; severity from share). 0 or -ENOMEM.
 */
int finding_list__add(struct finding_list *l, enum finding_kind kind,
		      const char *function, const char *file, int64_t line,
		      double share, const char *evidence);

const char *finding__kind_name(enum finding_kind kind);
/* The kind named name, or -1. */
int finding__kind_from_name(const char *name);
const char *finding__severity_name(enum finding_severity severity);

/* The severity of a measured share (the table of cut-offs in findings.c). */
enum finding_severity finding__severity(double share);

#endif
