// SPDX-License-Identifier: BSD-2-Clause
/* Finds, stages and cleans up pystrobe's USDT provider (see provider.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cpython/provider.h"
#include "process/procmaps.h"
#include "process/remote_mem.h"
#include "symbols/elf_syms.h"

#ifndef PYSTROBE_PROVIDER_DIR
#define PYSTROBE_PROVIDER_DIR "/usr/lib/pystrobe/provider"
#endif

#define MODULE_NAME "_pystrobe_provider.so"
#define SITE_NAME   "sitecustomize.py"
#define RATE_NAME   "memory-rate"
#define RATE_SYMBOL "pystrobe_memory_rate"

static bool is_version_dir(const char *name)
{
	unsigned major, minor;
	char end;

	return sscanf(name, "%u.%u%c", &major, &minor, &end) == 2 &&
	       strlen(name) < 8;
}

int provider__find(struct provider_stage *s, char *why, size_t why_len)
{
	const char *dir = getenv("PYSTROBE_PROVIDER_DIR");
	struct dirent *de;
	char path[PATH_MAX + 64];
	DIR *d;

	memset(s, 0, sizeof(*s));
	if (!dir || !dir[0])
		dir = PYSTROBE_PROVIDER_DIR;
	snprintf(s->src, sizeof(s->src), "%s", dir);
	d = opendir(dir);
	if (!d) {
		snprintf(why, why_len,
			 "the call provider is not built (%s: %s): run make",
			 dir, strerror(errno));
		return -ENOENT;
	}
	while ((de = readdir(d)) && s->nr_versions < PROVIDER_MAX_VERSIONS) {
		if (!is_version_dir(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s/" MODULE_NAME, dir,
			 de->d_name);
		if (access(path, R_OK) == 0)
			snprintf(s->versions[s->nr_versions++],
				 sizeof(s->versions[0]), "%s", de->d_name);
	}
	closedir(d);
	snprintf(path, sizeof(path), "%s/" SITE_NAME, dir);
	if (!s->nr_versions || access(path, R_OK) != 0) {
		snprintf(why, why_len,
			 "the call provider in %s is incomplete: run make",
			 dir);
		return -ENOENT;
	}
	snprintf(s->path, sizeof(s->path), "/tmp/pystrobe-provider.%d",
		 (int)getpid());
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in, out, err = 0;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		err = -errno;
		close(in);
		return err;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			err = -EIO;
			break;
		}
	if (n < 0)
		err = -errno;
	if (close(out) && !err)
		err = -errno;
	close(in);
	return err;
}

static int write_rate(const char *path, unsigned long long rate)
{
	FILE *f = fopen(path, "we");
	int err = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "%llu\n", rate) < 0)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

/* Copies the provider to root + s->path (root "" = the host). */
static int copy_to(const struct provider_stage *s, const char *root)
{
	char from[PATH_MAX + 64], to[2 * PATH_MAX + 64];
	int err;

	snprintf(to, sizeof(to), "%s%s", root, s->path);
	if (mkdir(to, 0755) && errno != EEXIST)
		return -errno;
	snprintf(from, sizeof(from), "%s/" SITE_NAME, s->src);
	snprintf(to, sizeof(to), "%s%s/" SITE_NAME, root, s->path);
	err = copy_file(from, to);
	if (!err && s->memory_rate) {
		snprintf(to, sizeof(to), "%s%s/" RATE_NAME, root, s->path);
		err = write_rate(to, s->memory_rate);
	}
	for (int i = 0; i < s->nr_versions && !err; i++) {
		snprintf(to, sizeof(to), "%s%s/%s", root, s->path,
			 s->versions[i]);
		if (mkdir(to, 0755) && errno != EEXIST)
			return -errno;
		snprintf(from, sizeof(from), "%s/%s/" MODULE_NAME, s->src,
			 s->versions[i]);
		snprintf(to, sizeof(to), "%s%s/%s/" MODULE_NAME, root, s->path,
			 s->versions[i]);
		err = copy_file(from, to);
	}
	return err;
}

int provider__stage(struct provider_stage *s, char *why, size_t why_len)
{
	struct stat st;
	int err;

	if (stat("/", &st))
		return -errno;
	err = copy_to(s, "");
	if (err) {
		snprintf(why, why_len,
			 "cannot stage the call provider in %s: %s", s->path,
			 strerror(-err));
		provider__unstage(s);
		return err;
	}
	s->roots[0][0] = '\0';
	s->root_dev[0] = st.st_dev;
	s->root_ino[0] = st.st_ino;
	s->nr_roots = 1;
	return 0;
}

int provider__stage_in_root(struct provider_stage *s, pid_t pid,
			    const char **root)
{
	char proc_root[64], host[PATH_MAX];
	struct stat st, hst;
	ssize_t n;
	int i, err;

	snprintf(proc_root, sizeof(proc_root), "/proc/%d/root", (int)pid);
	if (stat(proc_root, &st))
		return -errno;
	for (i = 0; i < s->nr_roots; i++)
		if (s->root_dev[i] == st.st_dev &&
		    s->root_ino[i] == st.st_ino) {
			*root = s->roots[i];
			return 0;
		}
	if (s->nr_roots == PROVIDER_MAX_ROOTS)
		return -E2BIG;
	/* Prefer the root's host path: it outlives the process. */
	n = readlink(proc_root, host, sizeof(host) - 1);
	if (n > 0) {
		host[n] = '\0';
		if (stat(host, &hst) || hst.st_dev != st.st_dev ||
		    hst.st_ino != st.st_ino)
			n = -1;
	}
	if (n <= 0)
		snprintf(host, sizeof(host), "%s", proc_root);
	err = copy_to(s, host);
	snprintf(s->roots[i], sizeof(s->roots[i]), "%s", host);
	s->root_dev[i] = st.st_dev;
	s->root_ino[i] = st.st_ino;
	s->nr_roots++;
	if (err)
		return err;
	*root = s->roots[i];
	return 1;
}

void provider__so_path(const struct provider_stage *s, const char *root,
		       const char *version, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s/%s/" MODULE_NAME, root, s->path, version);
}

int provider__set_memory_rate(pid_t pid, const char *so,
			      unsigned long long rate)
{
	struct procmaps maps = {};
	struct elf_syms *es;
	uint64_t addr, sym;
	int64_t bias = 0;
	bool mapped = false;
	struct stat want, st;
	char path[PATH_MAX + 64];
	int err;

	if (stat(so, &want))
		return -errno;
	es = elf_syms__open(so);
	if (!es)
		return -errno;
	sym = elf_syms__find(es, RATE_SYMBOL);
	err = sym ? procmaps__read(pid, &maps) : -ENOENT;
	/* A mapping of that very file gives the load bias. */
	for (size_t i = 0; !err && i < maps.nr && !mapped; i++) {
		if (!maps.maps[i].path ||
		    !provider__is_module(maps.maps[i].path))
			continue;
		procmaps__host_path(pid, &maps.maps[i], path, sizeof(path));
		if (stat(path, &st) || st.st_dev != want.st_dev ||
		    st.st_ino != want.st_ino)
			continue;
		bias = elf_syms__bias(es, maps.maps[i].start,
				      maps.maps[i].offset);
		mapped = true;
	}
	procmaps__free(&maps);
	elf_syms__free(es);
	if (err)
		return err;
	if (!mapped)
		return -ENOENT;
	addr = sym + bias;
	return remote_write(pid, addr, &(uint64_t){rate}, sizeof(uint64_t));
}

/* Removes dir's files and, depth levels down, its directories. */
static void remove_tree(const char *dir, int depth)
{
	char p[PATH_MAX * 3];
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (unlink(p) && errno == EISDIR && depth > 0)
			remove_tree(p, depth - 1);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

void provider__unstage(struct provider_stage *s)
{
	char p[2 * PATH_MAX + 64];

	if (!s->path[0])
		return;
	/* Every root in the list, and the host even if staging failed. */
	for (int r = 0; r < (s->nr_roots ?: 1); r++) {
		snprintf(p, sizeof(p), "%s%s", s->nr_roots ? s->roots[r] : "",
			 s->path);
		/* the stage: version dirs with their __pycache__ at most */
		remove_tree(p, 2);
	}
	s->nr_roots = 0;
}

bool provider__is_module(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n = strlen(MODULE_NAME);

	base = base ? base + 1 : path;
	/* A loaded module whose file was removed shows " (deleted)". */
	return strncmp(base, MODULE_NAME, n) == 0 &&
	       (!base[n] || strcmp(base + n, " (deleted)") == 0);
}
