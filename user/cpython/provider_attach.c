// SPDX-License-Identifier: BSD-2-Clause
/* Staging, finding and loading the provider for a command's probes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpython/provider_attach.h"
#include "cpython/remote_exec.h"
#include "process/procmaps.h"

/* Puts the stage first on the PYTHONPATH the command will inherit. */
static int export_pythonpath(const struct provider_stage *s)
{
	const char *old = getenv("PYTHONPATH");
	char *v;
	int err;

	if (old && old[0]) {
		if (asprintf(&v, "%s:%s", s->path, old) < 0)
			return -ENOMEM;
	} else {
		v = strdup(s->path);
		if (!v)
			return -ENOMEM;
	}
	err = setenv("PYTHONPATH", v, 1) ? -errno : 0;
	free(v);
	return err;
}

static int find(struct provider_link *l, char *why, size_t why_len)
{
	unsigned long long rate = l->stage.memory_rate;
	int err;

	if (l->found)
		return 0;
	err = provider__find(&l->stage, why, why_len);
	l->stage.memory_rate = rate; /* provider__find starts afresh */
	if (!err)
		l->found = true;
	return err;
}

int provider_link__stage_for_command(struct provider_link *l, char *why,
				     size_t why_len)
{
	int err = find(l, why, why_len);

	err = err ?: provider__stage(&l->stage, why, why_len);
	if (err)
		return err;
	l->staged = true;
	err = export_pythonpath(&l->stage);
	if (err)
		snprintf(why, why_len, "cannot set PYTHONPATH: %s",
			 strerror(-err));
	return err;
}

int provider_link__attach_staged(struct provider_link *l, pid_t pid,
				 const char *root, char *why, size_t why_len)
{
	char so[2 * PATH_MAX];
	int err;

	for (int i = 0; i < l->stage.nr_versions; i++) {
		provider__so_path(&l->stage, root, l->stage.versions[i], so,
				  sizeof(so));
		err = l->attach(l->ctx, pid, so);
		if (err) {
			snprintf(why, why_len,
				 "cannot attach to the provider's probes in "
				 "%.300s: %s",
				 so, strerror(-err));
			return err;
		}
	}
	return 0;
}

int provider_link__on_exec(struct provider_link *l, pid_t pid, char *why,
			   size_t why_len)
{
	const char *root;
	int err;

	err = provider__stage_in_root(&l->stage, pid, &root);
	if (err == 1)
		return provider_link__attach_staged(l, pid, root, why, why_len);
	if (err < 0)
		snprintf(why, why_len,
			 "cannot stage the provider in the root of process "
			 "%d: %s",
			 pid, strerror(-err));
	return err < 0 ? err : 0;
}

int provider_link__find_loaded(const struct pyproc *pp, char *so, size_t so_len,
			       char *why, size_t why_len)
{
	struct procmaps maps = {};
	int err, found = 0;

	err = procmaps__read(pp->pid, &maps);
	if (err) {
		snprintf(why, why_len, "cannot read the maps of process %d: %s",
			 pp->pid, strerror(-err));
		return err;
	}
	for (size_t i = 0; i < maps.nr && !found; i++) {
		if (!maps.maps[i].path ||
		    !provider__is_module(maps.maps[i].path))
			continue;
		procmaps__host_path(pp->pid, &maps.maps[i], so, so_len);
		found = 1;
	}
	procmaps__free(&maps);
	return found;
}

int provider_link__inject(struct provider_link *l, const struct pyproc *pp,
			  char *why, size_t why_len)
{
	char version[16], so[2 * PATH_MAX], script[PATH_MAX + 64];
	char host_script[2 * PATH_MAX + 64];
	const char *root;
	bool have = false;
	FILE *f;
	int err;

	if (pp->info.dbg.debugger_support == OFF_NONE) {
		snprintf(why, why_len,
			 "Python %d.%d has no remote execution (PEP 768 is "
			 "3.14+)",
			 pp->major, pp->minor);
		return -ENOTSUP;
	}
	err = find(l, why, why_len);
	if (err)
		return err;
	snprintf(version, sizeof(version), "%d.%d", pp->major, pp->minor);
	for (int i = 0; i < l->stage.nr_versions; i++)
		have |= strcmp(l->stage.versions[i], version) == 0;
	if (!have) {
		snprintf(why, why_len, "no provider built for Python %s",
			 version);
		return -ENOENT;
	}
	l->staged = true;
	err = provider__stage_in_root(&l->stage, pp->pid, &root);
	if (err < 0) {
		snprintf(why, why_len,
			 "cannot stage the provider for process %d: %s",
			 pp->pid, strerror(-err));
		return err;
	}
	snprintf(script, sizeof(script), "%s/load-%d.py", l->stage.path,
		 (int)pp->pid);
	snprintf(host_script, sizeof(host_script), "%s%s", root, script);
	f = fopen(host_script, "we");
	if (!f) {
		err = -errno;
		snprintf(why, why_len, "cannot write %.300s: %s", host_script,
			 strerror(-err));
		return err;
	}
	fprintf(f,
		"import sys\n"
		"sys.path.insert(0, '%s/%s')\n"
		"try:\n"
		"    import _pystrobe_provider\n"
		"    _pystrobe_provider.start()\n"
		"finally:\n"
		"    del sys.path[0]\n",
		l->stage.path, version);
	if (fclose(f)) {
		snprintf(why, why_len, "cannot write %.300s", host_script);
		return -EIO;
	}
	provider__so_path(&l->stage, root, version, so, sizeof(so));
	err = l->attach(l->ctx, pp->pid, so);
	if (err) {
		snprintf(why, why_len,
			 "cannot attach to the provider's probes in %.300s: %s",
			 so, strerror(-err));
		return err;
	}
	err = remote_exec__request(pp, script, why, why_len);
	if (!err && l->nr_injected < PROVIDER_MAX_INJECTED)
		l->injected[l->nr_injected++] = *pp;
	return err;
}

void provider_link__cleanup(struct provider_link *l)
{
	/* A request no thread has run yet must not run after we are gone. */
	for (int i = 0; i < l->nr_injected; i++)
		remote_exec__cancel(&l->injected[i]);
	l->nr_injected = 0;
	if (l->staged)
		provider__unstage(&l->stage);
	l->staged = false;
}
