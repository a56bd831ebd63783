/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Getting a collector's probes into pystrobe's provider, for every command
 * that uses it (the provider's module is staged and loaded as provider.h
 * describes):
 *
 *   -- CMD          the stage goes on the command's PYTHONPATH; the probes
 *                   are attached by file before it execs, and again in each
 *                   new root it execs into (chroot, a container)
 *   running, loaded attached to the module it has mapped
 *   running, 3.14+  the stage is copied into its root and the module
 *                   imported through PEP 768 remote execution; attached by
 *                   file first, so the first events are seen
 *
 * The command supplies how to attach its probes to one module file.
 */
#ifndef PYSTROBE_PROVIDER_ATTACH_H
#define PYSTROBE_PROVIDER_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "cpython/provider.h"
#include "cpython/pyproc.h"

#define PROVIDER_MAX_INJECTED 64

/* Attaches the command's probes in pid to the module at host path so. */
typedef int (*provider_attach_fn)(void *ctx, pid_t pid, const char *so);

struct provider_link {
	provider_attach_fn attach;
	void *ctx;
	struct provider_stage stage; /* stage.memory_rate: set before use */
	bool found, staged;
	struct pyproc injected[PROVIDER_MAX_INJECTED]; /* asked to load it */
	int nr_injected;
};

/*
 * Stages the provider and puts it first on PYTHONPATH (inherited by the
 * command started next). 0, or a negative errno with why set.
 */
int provider_link__stage_for_command(struct provider_link *l, char *why,
				     size_t why_len);

/* Attaches to every staged module under root ("" = ours), for pid. */
int provider_link__attach_staged(struct provider_link *l, pid_t pid,
				 const char *root, char *why, size_t why_len);

/*
 * The command pid exec'd a new program: stages the provider in its root
 * if that root is new, and attaches there. 0 or negative errno (why).
 */
int provider_link__on_exec(struct provider_link *l, pid_t pid, char *why,
			   size_t why_len);

/*
 * The module pp has loaded already, if any: its host path into so.
 * 1 found, 0 none, or a negative errno (why set).
 */
int provider_link__find_loaded(const struct pyproc *pp, char *so, size_t so_len,
			       char *why, size_t why_len);

/*
 * 3.14+: stages the provider in pp's root, attaches to it by file, and
 * asks the interpreter to import it (PEP 768). Events flow once a thread
 * of the target reaches a safe point. 0, or a negative errno with why set
 * (-ENOTSUP: no PEP 768; -EPERM: remote debugging disabled in the target).
 */
int provider_link__inject(struct provider_link *l, const struct pyproc *pp,
			  char *why, size_t why_len);

/* Withdraws requests no thread ran yet, removes the stage (best effort). */
void provider_link__cleanup(struct provider_link *l);

#endif
