/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pystrobe's USDT provider (provider/): a CPython extension per minor
 * version plus a sitecustomize.py that loads it, built into one directory:
 *   DIR/sitecustomize.py, DIR/3.X/_pystrobe_provider.so
 *
 * For `calls -- CMD` the directory is staged at /tmp/pystrobe-provider.PID
 * and put on the command's PYTHONPATH. A command that changes its root
 * (chroot, a container) sees another /tmp: the stage is copied into each
 * new root, at the same path, when the command execs there.
 */
#ifndef PYSTROBE_PROVIDER_H
#define PYSTROBE_PROVIDER_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#define PROVIDER_MAX_ROOTS    8
#define PROVIDER_MAX_VERSIONS 16

struct provider_stage {
	char src[PATH_MAX];  /* the built directory */
	char path[PATH_MAX]; /* the stage, as targets see it */
	/* Host paths of the roots the stage was copied into ("" = /). */
	char roots[PROVIDER_MAX_ROOTS][PATH_MAX];
	dev_t root_dev[PROVIDER_MAX_ROOTS];
	ino_t root_ino[PROVIDER_MAX_ROOTS];
	int nr_roots;
	char versions[PROVIDER_MAX_VERSIONS][8]; /* "3.12", ... */
	int nr_versions;
	/* `memory`: the sampling rate the staged provider starts with (the
	 * file DIR/memory-rate, read at its import); 0: none written. */
	unsigned long long memory_rate;
};

/*
 * The built provider: $PYSTROBE_PROVIDER_DIR, else the directory this
 * binary was built with. Returns 0, or -ENOENT with a reason in why.
 */
int provider__find(struct provider_stage *s, char *why, size_t why_len);

/* Copies the provider into the stage on the host. 0 or -errno (why). */
int provider__stage(struct provider_stage *s, char *why, size_t why_len);

/*
 * Copies the stage into pid's root if that root is new. Returns 1 when it
 * did, 0 when the root already had it (either way *root is the host path
 * of that root, "" for ours), or a negative errno.
 */
int provider__stage_in_root(struct provider_stage *s, pid_t pid,
			    const char **root);

/*
 * Sets the sampling rate of the provider module mapped in pid at host path
 * so (memory sampling takes it when a tracer attaches). 0 or -errno.
 */
int provider__set_memory_rate(pid_t pid, const char *so,
			      unsigned long long rate);

/* Host path of version v's module in the stage under root. */
void provider__so_path(const struct provider_stage *s, const char *root,
		       const char *version, char *buf, size_t len);

/* Removes every staged copy (best effort). */
void provider__unstage(struct provider_stage *s);

/* True if path names a provider module (as in /proc/PID/maps). */
bool provider__is_module(const char *path);

#endif
