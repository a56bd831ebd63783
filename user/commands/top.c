// SPDX-License-Identifier: BSD-2-Clause
/*
 * `pystrobe top`: a live view of Python processes in the terminal, like
 * py-spy top: per function, own and total CPU over the last second and
 * over the run, and off-CPU time by reason; keys sort, pause, switch to
 * threads and pick one process of a scope. Samples as `record --wall`
 * does; the view is output/top_view.c, drawn here with ncurses.
 */
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "collectors/sampler.h"
#include "commands/commands.h"
#include "output/top_view.h"
#include "session/cli.h"
#include "session/options.h"
#include "session/session.h"

#define REFRESH_NS 1000000000LL
/* A collect sooner than this after a refresh (a target stopped at its
 * exit) adds to the interval without ending it. */
#define MIN_INTERVAL_NS (REFRESH_NS / 2)

static struct top_env {
	struct target_opts targets;
	long freq;
} env = {
	.freq = 99,
};

static const char doc[] =
	"A live view of Python processes: per function, CPU (own and total) "
	"and time off the CPU by reason, refreshed every second.\n"
	"\n"
	"Keys: q quit, space pause, 1-5 sort by a column, t threads, p the "
	"next process of a scope (P: all).\n"
	"\n"
	"EXAMPLES:\n"
	"  pystrobe top -p 1234\n"
	"  pystrobe top --cgroup /sys/fs/cgroup/system.slice/app.service\n"
	"  pystrobe top --all";

static const struct argp_option options[] = {
	{"frequency", 'F', "HZ", 0, "Samples per second per CPU (default 99)",
	 0},
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'F':
		if (cli__parse_long(arg, 1, 100000, &env.freq))
			return cli__arg_error(
				state,
				"invalid frequency '%s' (1 to 100000 Hz)", arg);
		return 0;
	case ARGP_KEY_ARG:
		return cli__unexpected_arg(state, arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp_child children[] = {
	{&options__pid_argp, 0, "What to watch:", 1},
	{&options__scope_argp, 0, NULL, 1},
	{},
};

struct top_run {
	struct sampler *sampler;
	struct top_view *view;
	struct top_opts opts;
	struct top_screen screen;
	SCREEN *term;
	int64_t start_ns, interval_start_ns;
	char what[128];
};

/* The first `columns` columns of s, in bytes. */
static int bytes_of_columns(const char *s, int columns)
{
	int i = 0;

	for (; s[i] && columns >= 0; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && --columns < 0)
			break;
	return i;
}

static void draw(struct top_run *r)
{
	struct top_screen *s = &r->screen;

	r->opts.width = COLS;
	r->opts.height = LINES;
	r->opts.elapsed_ns = cli__now_ns() - r->start_ns;
	if (top_view__render(r->view, &r->opts, s))
		return; /* out of memory: the last screen stays */
	erase();
	for (int i = 0; i < s->nr && i < LINES; i++) {
		const char *line = s->lines[i];

		if (i == s->header)
			attron(A_REVERSE);
		mvaddnstr(i, 0, line, bytes_of_columns(line, COLS));
		if (i == s->header) {
			mvchgat(i, s->sort_from, s->sort_len,
				A_REVERSE | A_BOLD | A_UNDERLINE, 0, NULL);
			attroff(A_REVERSE);
		}
	}
	refresh();
}

static int on_python(void *ctx, const struct pyproc *pp,
		     enum session_origin origin, const char *cgroup, char *why,
		     size_t why_len)
{
	struct top_run *r = ctx;
	int err = sampler__set_python(r->sampler, pp);

	if (!err)
		err = sampler__seed_blocked(r->sampler, pp->pid);
	if (err)
		snprintf(why, why_len, "cannot watch process %d: %s", pp->pid,
			 strerror(-err));
	return err;
}

/* Every second a new interval and a new screen (unless paused). */
static int collect(void *ctx, char *why, size_t why_len)
{
	struct top_run *r = ctx;
	int64_t now = cli__now_ns();
	int err = sampler__drain(r->sampler, top_view__interval(r->view));

	if (!err && !r->opts.paused &&
	    now - r->interval_start_ns >= MIN_INTERVAL_NS) {
		sampler__counters(r->sampler, top_view__run(r->view));
		err = top_view__end_interval(r->view,
					     now - r->interval_start_ns);
		r->interval_start_ns = now;
		if (!err)
			draw(r);
	}
	if (err)
		snprintf(why, why_len, "collecting samples failed: %s",
			 strerror(-err));
	return err;
}

/* Keys, between polls. */
static int tick(void *ctx, char *why, size_t why_len)
{
	struct top_run *r = ctx;
	bool redraw = false;
	int ch;

	sampler__poll_gil(r->sampler);
	while ((ch = getch()) != ERR) {
		redraw = true;
		switch (ch) {
		case 'q':
		case 'Q':
			raise(SIGINT); /* what Ctrl-C does: the session stops */
			return 0;
		case ' ':
			r->opts.paused = !r->opts.paused;
			break;
		case 't':
			r->opts.threads = !r->opts.threads;
			break;
		case 'p':
			r->opts.pid = top_view__next_pid(r->view, r->opts.pid);
			break;
		case 'P':
			r->opts.pid = 0;
			break;
		case '1':
		case '2':
		case '3':
		case '4':
		case '5':
			r->opts.sort = ch - '1';
			break;
		default:
			redraw = ch == KEY_RESIZE;
			break;
		}
	}
	if (redraw)
		draw(r);
	return 0;
}

static const struct session_hooks hooks = {
	.on_python = on_python,
	.collect = collect,
	.tick = tick,
};

/* The sample types of `record --wall`, with the sampler's indices. */
static struct profile *wall_types(struct sampler_values *v)
{
	struct profile *p = profile__new();

	if (!p)
		return NULL;
	v->samples = profile__add_type(p, "samples", "count");
	v->cpu = profile__add_type(p, "cpu", "nanoseconds");
	v->offcpu = profile__add_type(p, "offcpu", "nanoseconds");
	v->wall = profile__add_type(p, "wall", "nanoseconds");
	p->period_type.type = profile__intern(p, "cpu");
	p->period_type.unit = profile__intern(p, "nanoseconds");
	p->period = 1000000000LL / env.freq;
	if (v->samples < 0 || v->cpu < 0 || v->offcpu < 0 || v->wall < 0 ||
	    p->period_type.type == (uint32_t)-1 ||
	    p->period_type.unit == (uint32_t)-1) {
		profile__free(p);
		return NULL;
	}
	return p;
}

static void describe_targets(char *buf, size_t len)
{
	const struct target_opts *t = &env.targets;

	if (t->cgroup)
		snprintf(buf, len, "cgroup %s", t->cgroup);
	else if (t->all)
		snprintf(buf, len, "all Python processes");
	else
		snprintf(buf, len, "pid%s %d%s", t->nr_pids > 1 ? "s" : "",
			 t->pids[0], t->nr_pids > 1 ? ", ..." : "");
}

/* The terminal, ready for the view; NULL with a reason in why. */
static SCREEN *open_terminal(char *why, size_t why_len)
{
	SCREEN *term;

	setlocale(LC_ALL, ""); /* wide characters: "µs", "…" */
	term = newterm(NULL, stdout, stdin);
	if (!term) {
		snprintf(why, why_len, "cannot use the terminal (TERM=%s)",
			 getenv("TERM") ?: "");
		return NULL;
	}
	set_term(term);
	cbreak();
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
	return term;
}

static void close_terminal(SCREEN *term)
{
	if (!term)
		return;
	endwin();
	delscreen(term);
}

int top_main(int argc, char **argv)
{
	static const struct argp argp = {options, parse_arg, NULL, doc,
					 children};
	const struct option_groups groups = {&env.targets};
	struct session_config cfg = {
		.targets = &env.targets,
		.hooks = &hooks,
		.collect_interval_ns = REFRESH_NS,
	};
	struct sampler_opts sopts = {.cpu = true, .offcpu = true};
	struct profile *types = NULL;
	struct top_run r = {};
	struct session *s = NULL;
	char why[512];
	int err;

	if (options__parse(&argp, argc, argv, &groups, NULL) ||
	    options__check_targets(&env.targets, TARGET_PIDS | TARGET_SCOPE,
				   "watch"))
		return 1;
	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
		cli__error("top draws on a terminal, and std%s is not one (to "
			   "save a profile, use 'pystrobe record')",
			   isatty(STDOUT_FILENO) ? "in" : "out");
		return 1;
	}
	if (cli__check_privileges())
		return 1;
	cfg.ctx = &r;
	s = session__new(&cfg, why, sizeof(why));
	if (!s) {
		cli__error("%s", why);
		return 1;
	}
	sopts.freq = env.freq;
	types = wall_types(&sopts.values);
	r.view = types ? top_view__new(types) : NULL;
	err = r.view ? 0 : -ENOMEM;
	if (err) {
		snprintf(why, sizeof(why), "out of memory");
		goto cleanup;
	}
	r.sampler = sampler__new(&sopts, why, sizeof(why));
	if (!r.sampler) {
		err = -errno;
		goto cleanup;
	}
	describe_targets(r.what, sizeof(r.what));
	r.opts.what = r.what;
	r.opts.freq = env.freq;
	err = session__start(s, why, sizeof(why));
	if (err)
		goto cleanup;
	r.term = open_terminal(why, sizeof(why));
	if (!r.term) {
		err = -ENOTTY;
		goto cleanup;
	}
	r.start_ns = r.interval_start_ns = cli__now_ns();
	draw(&r);
	err = session__run(s, why, sizeof(why));

cleanup:
	/* Detached and back to a plain terminal before any word is said. */
	sampler__free(r.sampler);
	r.sampler = NULL;
	session__release(s);
	close_terminal(r.term);
	if (err)
		cli__error("%s", why);
	err = session__exit_status(s, err);
	session__free(s);
	top_screen__free(&r.screen);
	top_view__free(r.view);
	profile__free(types);
	return err;
}
