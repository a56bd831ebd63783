/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The stack tree the HTML page draws its flame graph from: one prefix tree
 * of function paths per thread (or one for all), each node carrying the
 * self values of its path per column. Nodes are numbered in creation
 * order, so a parent always has a smaller index than its children and a
 * reader sums totals with one pass from the last node to the first.
 *
 * JSON form (stack_tree__write):
 *   {"columns": [KEY...], "threads": [{pid, tid, thread_name, comm,
 *    root}], "parent": [...], "func": [...], "self": [[...] per column]}
 * where a thread's root node has parent -1 and func -1, and func indexes
 * the document's "functions" array.
 */
#ifndef PYSTROBE_STACK_TREE_H
#define PYSTROBE_STACK_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "model/profile.h"

#define STACK_TREE_MAX_COLUMNS (2 * PROFILE_MAX_TYPES)

struct stack_tree_thread {
	int64_t pid, tid;
	char *thread_name, *comm;
	uint32_t root;
};

struct stack_tree {
	uint32_t *parent; /* UINT32_MAX: a thread root */
	int32_t *func;	  /* -1: a thread root */
	int64_t *self;	  /* nr * nr_columns, node-major */
	size_t nr, cap;
	const char *columns[STACK_TREE_MAX_COLUMNS]; /* borrowed keys */
	int nr_columns;
	struct stack_tree_thread *threads;
	size_t nr_threads;
	bool by_thread;	 /* false: one root for all threads */
	uint32_t *slots; /* private: open-addressing (parent, func) -> node */
	size_t nr_slots;
};

/* An empty tree with columns (keys borrowed, must outlive it). 0 or
 * -EINVAL (too many columns). */
int stack_tree__init(struct stack_tree *t, const char *const *columns,
		     int nr_columns, bool by_thread);
void stack_tree__free(struct stack_tree *t); /* accepts an empty tree */

/*
 * Adds every sample of p: frames map through func_of_frame (frame index
 * -> document function index, >= 0), values of type i go to column
 * column_of_type[i] (< 0: dropped). 0 or -ENOMEM.
 */
int stack_tree__add_profile(struct stack_tree *t, const struct profile *p,
			    const int32_t *func_of_frame,
			    const int *column_of_type);

/* Writes the JSON form; html: escaped to sit inside a <script> element. */
int stack_tree__write(const struct stack_tree *t, bool html, FILE *out);

#endif
