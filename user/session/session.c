// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "process/discovery.h"
#include "session/cli.h"
#include "session/session.h"
#include "session/usage_timeline.h"

#define SCAN_INTERVAL_NS 200000000LL /* new processes within 0.2 s */
#define POLL_NS		 2000000L
#define TIMELINE_NS	 1000000000LL /* --interval's default */

struct session_target {
	struct target_proc proc;
	bool python; /* its current program's runtime was handed on */
};

struct session {
	struct session_config cfg;
	const struct target_opts *opts;
	struct pyproc *procs; /* -p targets, inspected by session__new */
	struct session_target targets[OPTIONS_MAX_PIDS];
	int nr_targets;
	struct discovery *discovery;
	int64_t start_ns, end_ns;
	int scan_err; /* first hook error of a discovery scan */
	char *why;    /* where a discovery scan's hooks write */
	size_t why_len;
	struct usage_timeline *usage; /* the resource timeline */
};

struct session *session__new(const struct session_config *cfg, char *why,
			     size_t why_len)
{
	const struct target_opts *o = cfg->targets;
	struct session *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(why, why_len, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->cfg = *cfg;
	s->opts = o;
	s->procs = calloc(o->nr_pids ?: 1, sizeof(*s->procs));
	s->usage = usage_timeline__new(o->interval ? o->interval * 1e9
						   : TIMELINE_NS);
	if (!s->procs || !s->usage) {
		usage_timeline__free(s->usage);
		free(s->procs);
		free(s);
		snprintf(why, why_len, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	/* Check every PID before attaching anything. */
	for (int i = 0; i < o->nr_pids; i++)
		if (pyproc__inspect(o->pids[i], &s->procs[i], why, why_len) !=
		    PYPROC_OK) {
			usage_timeline__free(s->usage);
			free(s->procs);
			free(s);
			errno = EINVAL;
			return NULL;
		}
	return s;
}

#define HOOK(s, name, ...)                                                     \
	((s)->cfg.hooks->name                                                  \
		 ? (s)->cfg.hooks->name((s)->cfg.ctx, __VA_ARGS__)             \
		 : 0)

static struct session_target *add_target(struct session *s)
{
	struct session_target *t = &s->targets[s->nr_targets++];

	memset(t, 0, sizeof(*t));
	return t;
}

/* Resource timeline points for pid from now on. */
static int watch(struct session *s, pid_t pid)
{
	int err = usage_timeline__watch(s->usage, pid, cli__now_ns());

	if (err)
		snprintf(s->why, s->why_len, "out of memory");
	return err;
}

/* A process came into a scope: hand it on as Python or as another one. */
static void on_discovered(pid_t pid, const char *cgroup, void *ctx)
{
	struct session *s = ctx;
	struct pyproc pp;

	if (s->scan_err)
		return;
	if (pyproc__inspect(pid, &pp, NULL, 0) != PYPROC_OK)
		s->scan_err =
			HOOK(s, on_other, pid, cgroup, s->why, s->why_len);
	else
		s->scan_err = HOOK(s, on_python, &pp, ORIGIN_SCOPE, cgroup,
				   s->why, s->why_len)
				      ?: watch(s, pid);
}

static int start_command(struct session *s, char *why, size_t why_len)
{
	struct target_proc spawned;
	struct session_target *t;
	int err;

	err = target__spawn(&spawned, s->opts->cmd, why, why_len);
	if (err)
		return err;
	t = add_target(s);
	t->proc = spawned;
	t->proc.hold_exec = true;
	err = HOOK(s, before_exec, &t->proc, why, why_len);
	if (err)
		return err;
	err = target__release(&t->proc, s->opts->cmd, why, why_len);
	return err ?: watch(s, t->proc.pid);
}

int session__start(struct session *s, char *why, size_t why_len)
{
	const struct target_opts *o = s->opts;
	int err;

	s->why = why; /* for watch() */
	s->why_len = why_len;
	if (o->cgroup || o->all) {
		s->discovery = discovery__new(o->cgroup, why, why_len);
		return s->discovery ? 0 : -EINVAL;
	}
	if (o->cmd)
		return start_command(s, why, why_len);
	for (int i = 0; i < o->nr_pids; i++) {
		struct session_target *t = add_target(s);

		t->proc.pid = o->pids[i];
		err = HOOK(s, on_python, &s->procs[i], ORIGIN_PID, "", why,
			   why_len);
		if (err)
			return err;
		t->python = true;
		t->proc.hold_exec = true;
		target__seize(&t->proc);
		err = watch(s, t->proc.pid);
		if (err)
			return err;
	}
	return 0;
}

/*
 * One round of timeline points (only: that process's last one; final: the
 * run's end), completed by the command's hook, then kept. now is when the
 * processes are read, not when the loop's round began: a collect before it
 * can take a while, and the point must end where its reading was made.
 */
static int take_points(struct session *s, pid_t only, bool final, int64_t now,
		       char *why, size_t why_len)
{
	struct timeline_point *points;
	size_t nr;
	int err;

	err = usage_timeline__take(s->usage, only, final, now, &points, &nr);
	if (!err && nr)
		err = HOOK(s, timeline, points, nr, why, why_len);
	if (!err && usage_timeline__commit(s->usage))
		err = -ENOMEM;
	if (err == -ENOMEM)
		snprintf(why, why_len, "out of memory");
	return err;
}

/* Lets targets stopped at their exit go, once their data is collected
 * (their last timeline point too, unless err already). Returns err or the
 * first error. */
static int let_go_exiting(struct session *s, int err, char *why, size_t why_len)
{
	for (int i = 0; i < s->nr_targets; i++)
		if (s->targets[i].proc.exiting) {
			err = err
				      ?: take_points(s, s->targets[i].proc.pid,
						     false, cli__now_ns(), why,
						     why_len);
			target__let_go(&s->targets[i].proc);
		}
	return err;
}

/*
 * One target's events: a new program (held until on_exec ran), and, for a
 * command's program, its runtime once it has one. Sets *exiting when the
 * target stopped at its exit.
 */
static int poll_target(struct session *s, struct session_target *t,
		       bool *exiting, char *why, size_t why_len)
{
	struct pyproc pp;
	int err;

	target__poll(&t->proc);
	if (t->proc.exiting)
		*exiting = true;
	if (t->proc.held) {
		t->proc.execed = false;
		t->python = false;
		err = HOOK(s, on_exec, &t->proc, why, why_len);
		target__resume(&t->proc);
		if (err)
			return err;
	}
	if (t->proc.gone || t->python || !s->cfg.follow_python)
		return 0;
	if (pyproc__inspect(t->proc.pid, &pp, NULL, 0) != PYPROC_OK)
		return 0;
	t->python = true;
	return HOOK(s, on_python, &pp, ORIGIN_COMMAND, "", why, why_len);
}

int session__run(struct session *s, char *why, size_t why_len)
{
	int64_t interval = s->cfg.collect_interval_ns, now, last_collect;
	int64_t deadline = 0, last_scan, next_point;
	struct timespec pause = {.tv_nsec = POLL_NS};
	int err = 0;

	cli__catch_stop_signals();
	s->start_ns = last_collect = cli__now_ns();
	last_scan = s->start_ns - SCAN_INTERVAL_NS; /* scan at once */
	usage_timeline__start(s->usage, s->start_ns);
	next_point = s->start_ns + usage_timeline__get(s->usage)->interval_ns;
	if (s->opts->duration > 0)
		deadline = s->start_ns + s->opts->duration * 1e9;
	s->why = why;
	s->why_len = why_len;
	while (!err && !cli__stop_signal) {
		bool all_gone = !s->discovery, exiting = false;

		now = cli__now_ns();
		if (deadline && now >= deadline)
			break;
		for (int i = 0; !err && i < s->nr_targets; i++) {
			err = poll_target(s, &s->targets[i], &exiting, why,
					  why_len);
			if (!s->targets[i].proc.gone)
				all_gone = false;
		}
		err = err ?: HOOK(s, tick, why, why_len);
		if (!err && s->discovery &&
		    now - last_scan >= SCAN_INTERVAL_NS) {
			err = discovery__scan(s->discovery, on_discovered, s);
			if (err)
				snprintf(why, why_len,
					 "scanning for processes "
					 "failed: %s",
					 strerror(-err));
			err = err ?: s->scan_err;
			last_scan = now;
		}
		if (!err &&
		    (exiting || (interval && now - last_collect >= interval))) {
			err = HOOK(s, collect, why, why_len);
			err = let_go_exiting(s, err, why, why_len);
			last_collect = now;
		}
		if (!err && now >= next_point) {
			now = cli__now_ns();
			err = take_points(s, 0, false, now, why, why_len);
			while (next_point <= now)
				next_point += usage_timeline__get(s->usage)
						      ->interval_ns;
		}
		if (err || all_gone)
			break;
		nanosleep(&pause, NULL);
	}
	s->end_ns = cli__now_ns();
	return err ?: take_points(s, 0, true, s->end_ns, why, why_len);
}

const struct timeline *session__timeline(const struct session *s)
{
	return usage_timeline__get(s->usage);
}

int64_t session__elapsed_ns(const struct session *s)
{
	return (s->end_ns ?: cli__now_ns()) - s->start_ns;
}

void session__release(struct session *s)
{
	for (int i = 0; i < s->nr_targets; i++)
		target__let_go(&s->targets[i].proc);
}

pid_t session__command_pid(const struct session *s)
{
	return s->opts->cmd && s->nr_targets ? s->targets[0].proc.pid : 0;
}

int session__exit_status(struct session *s, int err)
{
	struct target_proc *t = &s->targets[0].proc;
	int code;

	session__release(s);
	if (!s->opts->cmd || !s->nr_targets)
		return err ? 1 : 0;
	if (cli__stop_signal == SIGTERM && !t->gone)
		kill(t->pid, SIGTERM);
	code = target__wait_child(t);
	if (err)
		return code ? code : 1;
	return code;
}

void session__free(struct session *s)
{
	if (!s)
		return;
	session__release(s);
	discovery__free(s->discovery);
	usage_timeline__free(s->usage);
	free(s->procs);
	free(s);
}
