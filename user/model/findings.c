// SPDX-License-Identifier: BSD-2-Clause
/*
 * The findings rules: one row per rule, thresholds as data, a small
 * function per rule. Why each threshold is what it is: README, "Findings".
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/findings.h"
#include "model/functions.h"
#include "model/memory.h"
#include "model/offcpu_frames.h"

struct pass;
struct finding_rule;

typedef int (*rule_fn)(const struct finding_rule *rule, struct pass *ps);

/*
 * One rule. Fields a rule does not use are 0:
 *   share  the least share of the whole (run time, CPU, bytes) it needs
 *   count  the least count: calls, bytes
 *   ratio  its own proportion (off-CPU part of a function's time, ...)
 *   z      standard errors a sampled share must clear its threshold by
 *   margin exponent margin (superlinear)
 */
struct finding_rule {
	enum finding_kind kind;
	rule_fn apply;
	double share, count, ratio, z, margin;
	enum offcpu_reason reason; /* wait rules */
};

static int rule_repeated_call(const struct finding_rule *, struct pass *);
static int rule_hot_line(const struct finding_rule *, struct pass *);
static int rule_superlinear(const struct finding_rule *, struct pass *);
static int rule_temporaries(const struct finding_rule *, struct pass *);
static int rule_leak(const struct finding_rule *, struct pass *);
static int rule_wait(const struct finding_rule *, struct pass *);
static int rule_bound(const struct finding_rule *, struct pass *);

#define MIB (1024.0 * 1024.0)

static const struct finding_rule rules[] = {
	{FINDING_REPEATED_CALL, rule_repeated_call, .share = 0.10,
	 .count = 1000},
	{FINDING_HOT_LINE, rule_hot_line, .share = 0.10, .z = 2},
	{FINDING_SUPERLINEAR, rule_superlinear, .ratio = 1.5, .margin = 0.3},
	/* memory: memory__analyze's thresholds (struct memory_analysis_opts) */
	{FINDING_TEMPORARIES, rule_temporaries},
	{FINDING_LEAK, rule_leak},
	{FINDING_LOCK_WAIT, rule_wait, .share = 0.10, .ratio = 0.5,
	 .reason = OFFCPU_LOCK},
	{FINDING_GIL_WAIT, rule_wait, .share = 0.10, .ratio = 0.5,
	 .reason = OFFCPU_GIL},
	{FINDING_IO_WAIT, rule_wait, .share = 0.10, .ratio = 0.5,
	 .reason = OFFCPU_IO},
	{FINDING_SLEEP_WAIT, rule_wait, .share = 0.10, .ratio = 0.5,
	 .reason = OFFCPU_SLEEP},
	{FINDING_CPU_BOUND, rule_bound, .ratio = 0.8},
	{FINDING_WAIT_BOUND, rule_bound, .ratio = 0.5},
};

#define NR_RULES (sizeof(rules) / sizeof(rules[0]))

/* Severity by measured share, most severe first. */
static const struct {
	double share;
	enum finding_severity severity;
} severities[] = {
	{0.50, SEVERITY_HIGH},
	{0.25, SEVERITY_MEDIUM},
	{0.00, SEVERITY_LOW},
};

static const char *const kind_names[FINDING__COUNT] = {
	[FINDING_REPEATED_CALL] = "repeated_call",
	[FINDING_HOT_LINE] = "hot_line",
	[FINDING_SUPERLINEAR] = "superlinear",
	[FINDING_TEMPORARIES] = "temporaries",
	[FINDING_LEAK] = "leak",
	[FINDING_LOCK_WAIT] = "lock_wait",
	[FINDING_GIL_WAIT] = "gil_wait",
	[FINDING_IO_WAIT] = "io_wait",
	[FINDING_SLEEP_WAIT] = "sleep_wait",
	[FINDING_CPU_BOUND] = "cpu_bound",
	[FINDING_WAIT_BOUND] = "wait_bound",
};

static const char *const severity_names[] = {
	[SEVERITY_LOW] = "low",
	[SEVERITY_MEDIUM] = "medium",
	[SEVERITY_HIGH] = "high",
};

/* What a wait is called in evidence, by reason. */
static const char *const wait_words[OFFCPU__COUNT] = {
	[OFFCPU_SLEEP] = "sleeping",
	[OFFCPU_LOCK] = "waiting on a lock",
	[OFFCPU_GIL] = "waiting for the GIL",
	[OFFCPU_IO] = "waiting on I/O",
	[OFFCPU_DISK] = "waiting on the disk",
	[OFFCPU_RUNQUEUE] = "waiting for a CPU",
	[OFFCPU_OTHER] = "waiting",
};

const char *finding__kind_name(enum finding_kind kind)
{
	return kind < FINDING__COUNT ? kind_names[kind] : "?";
}

int finding__kind_from_name(const char *name)
{
	for (int k = 0; k < FINDING__COUNT; k++)
		if (!strcmp(kind_names[k], name))
			return k;
	return -1;
}

const char *finding__severity_name(enum finding_severity severity)
{
	return severity <= SEVERITY_HIGH ? severity_names[severity] : "?";
}

enum finding_severity finding__severity(double share)
{
	for (size_t i = 0; i < sizeof(severities) / sizeof(severities[0]); i++)
		if (share >= severities[i].share)
			return severities[i].severity;
	return SEVERITY_LOW;
}

/* ---- the list ---- */

static int add(struct finding_list *l, enum finding_kind kind,
	       const char *function, const char *file, int64_t line,
	       double share, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static int add(struct finding_list *l, enum finding_kind kind,
	       const char *function, const char *file, int64_t line,
	       double share, const char *fmt, ...)
{
	struct finding *f;
	va_list ap;
	int n;

	if (l->nr == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct finding *grown =
			reallocarray(l->items, cap, sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		l->items = grown;
		l->cap = cap;
	}
	f = &l->items[l->nr];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->share = share < 0 ? 0 : share > 1 ? 1 : share;
	f->severity = finding__severity(f->share);
	f->line = line;
	f->function = strdup(function ? function : "");
	f->file = strdup(file ? file : "");
	va_start(ap, fmt);
	n = vasprintf(&f->evidence, fmt, ap);
	va_end(ap);
	if (n < 0)
		f->evidence = NULL;
	if (!f->function || !f->file || !f->evidence) {
		free(f->function);
		free(f->file);
		free(f->evidence);
		return -ENOMEM;
	}
	l->nr++;
	return 0;
}

int finding_list__add(struct finding_list *l, enum finding_kind kind,
		      const char *function, const char *file, int64_t line,
		      double share, const char *evidence)
{
	return add(l, kind, function, file, line, share, "%s",
		   evidence ? evidence : "");
}

void finding_list__free(struct finding_list *l)
{
	for (size_t i = 0; i < l->nr; i++) {
		free(l->items[i].function);
		free(l->items[i].file);
		free(l->items[i].evidence);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* ---- numbers for evidence ---- */

/* "1.23 s", "12.3 ms", "45.6 µs" */
static const char *secs(char *buf, double s)
{
	if (s >= 1)
		snprintf(buf, 32, "%.2f s", s);
	else if (s >= 1e-3)
		snprintf(buf, 32, "%.1f ms", s * 1e3);
	else
		snprintf(buf, 32, "%.1f µs", s * 1e6);
	return buf;
}

static double pct(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0;
}

/* ---- what the rules share ---- */

/* Per function (name, file, first line) of a sampled profile. */
struct prof_func {
	uint32_t name, file;
	int64_t start_line;
	double cpu, off[OFFCPU__COUNT];
	/* the line holding most of each reason's wait */
	int64_t top_line[OFFCPU__COUNT];
	double top_line_off[OFFCPU__COUNT];
	int64_t top_cpu_line;
	double top_cpu_line_value;
};

struct pass {
	const struct findings_input *in;
	struct finding_list *out;
	/* The sampled profile by function, built on first use. */
	struct prof_func *funcs;
	size_t nr_funcs;
	bool funcs_built;
	double cpu, off[OFFCPU__COUNT], off_total; /* whole profile */
	bool have_cpu, have_off;
};

/*
 * Innermost Python frame of a sample, below which only native and kernel
 * frames and the off-CPU leaf may lie; -1 when there is none, or when
 * another pseudo-frame comes first ("[unknown code ...]": the time belongs
 * to a function nobody can name, not to its caller).
 */
static int innermost_python(const struct profile *p,
			    const struct profile_sample *s)
{
	for (uint32_t j = 0; j < s->depth; j++) {
		const struct profile_frame *f = &p->frames[s->frames[j]];

		if (f->kind == FRAME_PYTHON)
			return j;
		if (f->kind == FRAME_MARKER &&
		    (j || functions__frame_reason(p, f) < 0))
			return -1;
	}
	return -1;
}

static int cmp_frame_fn(const struct profile_frame *x,
			const struct profile_frame *y)
{
	if (x->name != y->name)
		return x->name < y->name ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->start_line != y->start_line)
		return x->start_line < y->start_line ? -1 : 1;
	return 0;
}

static const struct profile *g_sort_profile; /* qsort has no context */

static int cmp_frame_index(const void *a, const void *b)
{
	const struct profile_frame *f = g_sort_profile->frames;

	return cmp_frame_fn(&f[*(const uint32_t *)a], &f[*(const uint32_t *)b]);
}

/*
 * Groups the profile's time by the innermost Python frame of each sample:
 * per frame (so per line), then per function. The time of a sample is its
 * "cpu" value (else "samples") and its "offcpu" value, by the reason its
 * leaf names.
 */
static int build_funcs(struct pass *ps)
{
	const struct profile *p = ps->in->profile;
	int ci = profile__type_index(p, "cpu");
	int si = profile__type_index(p, "samples");
	int oi = profile__type_index(p, "offcpu");
	double *cpu = NULL, (*off)[OFFCPU__COUNT] = NULL;
	uint32_t *order = NULL;
	size_t nr = 0;
	int err = -ENOMEM;

	ps->funcs_built = true;
	if (ci < 0)
		ci = si;
	/* A call trace saved as a profile has no reasons to tell. */
	if (!strcmp(functions__profile_kind(p), "calls"))
		oi = -1;
	ps->have_cpu = ci >= 0;
	ps->have_off = oi >= 0;
	cpu = calloc(p->nr_frames + 1, sizeof(*cpu));
	off = calloc(p->nr_frames + 1, sizeof(*off));
	order = calloc(p->nr_frames + 1, sizeof(*order));
	if (!cpu || !off || !order)
		goto cleanup;
	for (size_t i = 0; i < p->nr_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		double c = ci >= 0 ? s->values[ci] : 0;
		double o = oi >= 0 ? s->values[oi] : 0;
		enum offcpu_reason r =
			o > 0 ? functions__reason(p, s) : OFFCPU_NONE;
		int j = innermost_python(p, s);

		ps->cpu += c;
		ps->off[r] += o;
		ps->off_total += o;
		if (j < 0)
			continue;
		cpu[s->frames[j]] += c;
		off[s->frames[j]][r] += o;
	}
	for (uint32_t i = 0; i < p->nr_frames; i++) {
		bool any = cpu[i] > 0;

		for (int r = 0; r < OFFCPU__COUNT; r++)
			any |= off[i][r] > 0;
		if (any)
			order[nr++] = i;
	}
	g_sort_profile = p;
	qsort(order, nr, sizeof(*order), cmp_frame_index);
	ps->funcs = calloc(nr + 1, sizeof(*ps->funcs));
	if (!ps->funcs)
		goto cleanup;
	for (size_t i = 0; i < nr; i++) {
		const struct profile_frame *f = &p->frames[order[i]];
		struct prof_func *fn;

		if (!ps->nr_funcs ||
		    cmp_frame_fn(&p->frames[order[i - 1]], f) != 0) {
			fn = &ps->funcs[ps->nr_funcs++];
			fn->name = f->name;
			fn->file = f->file;
			fn->start_line = f->start_line;
		}
		fn = &ps->funcs[ps->nr_funcs - 1];
		fn->cpu += cpu[order[i]];
		if (cpu[order[i]] > fn->top_cpu_line_value) {
			fn->top_cpu_line_value = cpu[order[i]];
			fn->top_cpu_line = f->line;
		}
		for (int r = 0; r < OFFCPU__COUNT; r++) {
			fn->off[r] += off[order[i]][r];
			if (off[order[i]][r] > fn->top_line_off[r]) {
				fn->top_line_off[r] = off[order[i]][r];
				fn->top_line[r] = f->line;
			}
		}
	}
	err = 0;
cleanup:
	free(cpu);
	free(off);
	free(order);
	return err;
}

static int need_funcs(struct pass *ps)
{
	if (!ps->in->profile)
		return 1;
	if (!ps->funcs_built) {
		int err = build_funcs(ps);

		if (err)
			return err;
	}
	return 0;
}

static double func_off(const struct prof_func *fn)
{
	double o = 0;

	for (int r = 0; r < OFFCPU__COUNT; r++)
		o += fn->off[r];
	return o;
}

/* ---- call traces ---- */

static const struct call_func *callfn(const struct call_graph *g, size_t i)
{
	return &g->funcs[i];
}

/*
 * A callee called at least `count` times by one caller whose inclusive time
 * under that caller is at least `share` of all traced time. Recursion into
 * itself is not a call site to cache; the callee's time is counted only for
 * activations with no activation of it above them (so mutual recursion is
 * not counted twice).
 */
static int rule_repeated_call(const struct finding_rule *rule, struct pass *ps)
{
	const struct call_graph *g = ps->in->calls;
	double traced = 0;
	int err;

	if (!g)
		return 0;
	for (size_t i = 0; i < g->nr_funcs; i++)
		traced += g->funcs[i].self_ns;
	if (traced <= 0)
		return 0;
	for (size_t e = 0; e < g->nr_edges; e++) {
		const struct call_edge *ed = &g->edges[e];
		const struct call_func *caller, *callee;
		double total = 0;
		char t[32], mean[32];

		if (ed->caller == ed->callee || ed->calls < rule->count)
			continue;
		for (size_t i = 0; i < g->nr_paths; i++) {
			const struct call_path *pa = &g->paths[i];
			bool recursive = false;

			if (pa->depth < 2 || pa->funcs[0] != ed->callee ||
			    pa->funcs[1] != ed->caller)
				continue;
			for (uint32_t j = 1; j < pa->depth; j++)
				recursive |= pa->funcs[j] == ed->callee;
			if (!recursive)
				total += pa->stats.total_ns;
		}
		if (total < rule->share * traced)
			continue;
		caller = callfn(g, ed->caller);
		callee = callfn(g, ed->callee);
		err = add(
			ps->out, rule->kind, callee->name, callee->file,
			callee->line, total / traced,
			"called %llu times from %s (%s:%u): %s in all, %.1f %% "
			"of traced time, %s per call; cache or batch these "
			"calls",
			(unsigned long long)ed->calls, caller->name,
			caller->file, caller->line, secs(t, total / 1e9),
			pct(total, traced),
			secs(mean, total / 1e9 / ed->calls));
		if (err)
			return err;
	}
	return 0;
}

/* ---- sampled profiles ---- */

/*
 * One line (the innermost Python frame's executing line) holding at least
 * `share` of the profile's CPU samples, by `z` standard errors of that
 * sampled share (sqrt(p(1-p)/N)), so that a short profile's luck does not
 * make a hot line. Needs sample counts.
 */
static int rule_hot_line(const struct finding_rule *rule, struct pass *ps)
{
	const struct profile *p = ps->in->profile;
	int si, ci;
	double *count = NULL, *value = NULL, n = 0, total = 0;
	int err = -ENOMEM;

	if (!p || (si = profile__type_index(p, "samples")) < 0)
		return 0;
	ci = profile__type_index(p, "cpu");
	if (ci < 0)
		ci = si;
	err = need_funcs(ps);
	if (err)
		return err < 0 ? err : 0;
	count = calloc(p->nr_frames + 1, sizeof(*count));
	value = calloc(p->nr_frames + 1, sizeof(*value));
	err = -ENOMEM;
	if (!count || !value)
		goto cleanup;
	for (size_t i = 0; i < p->nr_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		int j = innermost_python(p, s);

		n += s->values[si];
		total += s->values[ci];
		if (j >= 0) {
			count[s->frames[j]] += s->values[si];
			value[s->frames[j]] += s->values[ci];
		}
	}
	err = 0;
	for (uint32_t i = 0; i < p->nr_frames && n > 0 && !err; i++) {
		const struct profile_frame *f = &p->frames[i];
		double share = count[i] / n;
		double se = sqrt(share * (1 - share) / n);
		const struct prof_func *fn = NULL;
		char t[32];

		if (!f->line || share - rule->z * se < rule->share)
			continue;
		for (size_t k = 0; k < ps->nr_funcs && !fn; k++)
			if (!cmp_frame_fn(
				    &(struct profile_frame){
					    .name = ps->funcs[k].name,
					    .file = ps->funcs[k].file,
					    .start_line =
						    ps->funcs[k].start_line},
				    f))
				fn = &ps->funcs[k];
		err = add(
			ps->out, rule->kind, profile__str(p, f->name),
			profile__str(p, f->file), f->line, share,
			"line %lld holds %.1f %% of CPU samples (%.0f of %.0f, "
			"%s)%s%.0f%s",
			(long long)f->line, 100 * share, count[i], n,
			secs(t, value[i] / 1e9), fn ? ", " : "",
			fn ? pct(value[i], fn->cpu) : 0,
			fn ? " % of its function's own CPU time" : "");
	}
cleanup:
	free(count);
	free(value);
	return err;
}

/*
 * A function whose own time (innermost Python frame: CPU plus each off-CPU
 * reason) is at least `ratio` off the CPU for this rule's reason, that wait
 * being at least `share` of the whole: wall time when the profile has CPU
 * time too, else all off-CPU time.
 */
static int rule_wait(const struct finding_rule *rule, struct pass *ps)
{
	const struct profile *p = ps->in->profile;
	enum offcpu_reason r = rule->reason;
	double whole;
	int err = need_funcs(ps);

	if (err)
		return err < 0 ? err : 0;
	if (!ps->have_off)
		return 0;
	whole = ps->off_total + (ps->have_cpu ? ps->cpu : 0);
	for (size_t i = 0; i < ps->nr_funcs && whole > 0; i++) {
		const struct prof_func *fn = &ps->funcs[i];
		double own = fn->cpu + func_off(fn);
		char t[32], o[32];

		if (fn->off[r] < rule->ratio * own ||
		    fn->off[r] < rule->share * whole)
			continue;
		err = add(ps->out, rule->kind, profile__str(p, fn->name),
			  profile__str(p, fn->file), fn->top_line[r],
			  fn->off[r] / whole,
			  "%s for %s of its %s (%.0f %%): %.1f %% of %s",
			  wait_words[r], secs(t, fn->off[r] / 1e9),
			  secs(o, own / 1e9), pct(fn->off[r], own),
			  pct(fn->off[r], whole),
			  ps->have_cpu ? "wall time" : "off-CPU time");
		if (err)
			return err;
	}
	return 0;
}

/* The function with the most own CPU time (reason < 0) or wait for reason. */
static const struct prof_func *top_func(const struct pass *ps, int reason)
{
	const struct prof_func *best = NULL;
	double best_v = 0;

	for (size_t i = 0; i < ps->nr_funcs; i++) {
		const struct prof_func *fn = &ps->funcs[i];
		double v = reason < 0 ? fn->cpu : fn->off[reason];

		if (v > best_v) {
			best_v = v;
			best = fn;
		}
	}
	return best;
}

static const struct call_func *top_call_func(const struct call_graph *g,
					     bool offcpu)
{
	const struct call_func *best = NULL;
	double best_v = 0;

	for (size_t i = 0; i < g->nr_funcs; i++) {
		const struct call_func *f = &g->funcs[i];
		double v = offcpu ? f->self_offcpu_ns
				  : (double)f->self_ns - f->self_offcpu_ns;

		if (v > best_v) {
			best_v = v;
			best = f;
		}
	}
	return best;
}

/*
 * "sleep 47.4 %, io 21.2 %": the off-CPU reasons of at least 0.1 % of the
 * wall time, largest first; returns the largest reason (-1: none).
 */
static int reasons_text(const struct pass *ps, double wall, char *buf,
			size_t len)
{
	bool used[OFFCPU__COUNT] = {};
	int first = -1;
	size_t n = 0;

	buf[0] = 0;
	for (int k = 0; k < OFFCPU__COUNT; k++) {
		int best = -1;

		for (int r = 0; r < OFFCPU__COUNT; r++)
			if (!used[r] && ps->off[r] > 0 &&
			    (best < 0 || ps->off[r] > ps->off[best]))
				best = r;
		if (best < 0)
			break;
		used[best] = true;
		if (first < 0)
			first = best;
		if (pct(ps->off[best], wall) >= 0.1 && n < len)
			n += snprintf(buf + n, len - n, "%s%s %.1f %%",
				      n ? ", " : "", offcpu_reason_names[best],
				      pct(ps->off[best], wall));
	}
	return first;
}

/*
 * Where the whole run's wall time went: at least `ratio` of it on the CPU
 * (cpu_bound, naming the function with the most CPU time) or off it
 * (wait_bound, naming the largest reason and the function with the most of
 * it). From a profile with both CPU and off-CPU time (record --wall), else
 * from a call trace, whose off-CPU time has no reasons.
 */
static int rule_bound(const struct finding_rule *rule, struct pass *ps)
{
	const struct call_graph *g = ps->in->calls;
	bool cpu_rule = rule->kind == FINDING_CPU_BOUND;
	const char *name = "?", *file = "", *whole = "wall time";
	const char *doing = "waiting (record --wall tells why)";
	double cpu = 0, off = 0, wall, top = 0;
	char t[32], w[32], tt[32], reasons[256] = "";
	int64_t line = 0;
	int err = need_funcs(ps);

	if (err < 0)
		return err;
	if (!err && ps->have_cpu && ps->have_off) {
		const struct profile *p = ps->in->profile;
		const struct prof_func *fn;
		int r;

		cpu = ps->cpu;
		off = ps->off_total;
		r = reasons_text(ps, cpu + off, reasons, sizeof(reasons));
		if (r >= 0)
			doing = wait_words[r];
		fn = top_func(ps, cpu_rule ? -1 : r);
		if (fn) {
			name = profile__str(p, fn->name);
			file = profile__str(p, fn->file);
			line = fn->start_line;
			top = cpu_rule ? fn->cpu : fn->off[r];
		}
	} else if (g) {
		const struct call_func *f = top_call_func(g, !cpu_rule);

		whole = "traced time";
		for (size_t i = 0; i < g->nr_funcs; i++) {
			off += g->funcs[i].self_offcpu_ns;
			cpu += (double)g->funcs[i].self_ns -
			       g->funcs[i].self_offcpu_ns;
		}
		if (f) {
			name = f->name;
			file = f->file;
			line = f->line;
			top = cpu_rule ? (double)f->self_ns - f->self_offcpu_ns
				       : f->self_offcpu_ns;
		}
	} else {
		return 0;
	}
	wall = cpu + off;
	if (wall <= 0)
		return 0;
	if (cpu_rule && cpu >= rule->ratio * wall)
		return add(ps->out, rule->kind, name, file, line, cpu / wall,
			   "%.1f %% of %s is on the CPU (%s of %s), the most "
			   "in %s (%s)",
			   pct(cpu, wall), whole, secs(t, cpu / 1e9),
			   secs(w, wall / 1e9), name, secs(tt, top / 1e9));
	if (!cpu_rule && off >= rule->ratio * wall)
		return add(ps->out, rule->kind, name, file, line, off / wall,
			   "%.1f %% of %s is off the CPU (%s of %s), mostly "
			   "%s, the most in %s (%s)%s%s",
			   pct(off, wall), whole, secs(t, off / 1e9),
			   secs(w, wall / 1e9), doing, name,
			   secs(tt, top / 1e9), reasons[0] ? "; " : "",
			   reasons);
	return 0;
}

/* ---- scale sweeps ---- */

/*
 * A function whose own time grows, by the low end of its 95 % interval,
 * faster than n^ratio, or faster than n^(c + 1 + margin) where n^c is how
 * its calls grow (so the work per call grows faster than linearly, beyond
 * what a log factor gives: n log n fits k = 1.12 over n = 1000..8000).
 */
static int rule_superlinear(const struct finding_rule *rule, struct pass *ps)
{
	const struct scale_result *r = ps->in->scale;
	size_t last;
	double total;
	int err;

	if (!r || !r->nr_sizes)
		return 0;
	last = r->nr_sizes - 1;
	total = scale__median_at(r, r->run_total, last);
	for (size_t i = 0; i < r->nr_funcs; i++) {
		const struct scale_function *f = &r->funcs[i];
		bool calls = r->have_calls && f->skip == SCALE_FITTED;
		double c = calls ? f->calls_fit.exponent : 0;
		double self = scale__median_at(r, f->self_seconds, last);
		double n = r->sizes[last];
		char t[32], pred[32], callsx[96] = "";

		if (f->self_skip != SCALE_FITTED)
			continue;
		if (!(f->self.lo > rule->ratio ||
		      (calls && f->self.lo > c + 1 + rule->margin)))
			continue;
		if (calls)
			snprintf(callsx, sizeof(callsx),
				 ", calls ∝ n^%.2f, so ∝ n^%.2f per call", c,
				 f->self.exponent - c);
		err = add(ps->out, rule->kind, f->name, f->file, f->line,
			  total > 0 ? self / total : 0,
			  "own time ∝ n^%.2f [%.2f, %.2f] (R² %.3f, %s)%s: %s "
			  "at n=%.0f, about %s predicted at n=%.0f",
			  f->self.exponent, f->self.lo, f->self.hi, f->self.r2,
			  scale__complexity_name(f->self.complexity), callsx,
			  secs(t, self), n,
			  secs(pred, exp(f->self.intercept) *
					     pow(10 * n, f->self.exponent)),
			  10 * n);
		if (err)
			return err;
	}
	return 0;
}

/* ---- memory ---- */

/*
 * The bytes of m's sites of kind: allocated (or mapped) over the run, and
 * in use (or still mapped) at the series' last point, the point a leak's
 * in-use bytes are read at.
 */
static void memory_totals(const struct memory_result *m,
			  enum mem_site_kind kind, double *alloc,
			  double *inuse_end)
{
	*alloc = *inuse_end = 0;
	for (size_t i = 0; i < m->nr_sites; i++) {
		const struct memory_site *s = &m->sites[i];

		if (s->kind != kind)
			continue;
		*alloc += (double)s->alloc_bytes;
		if (s->series && m->series_n)
			*inuse_end += (double)s->series[m->series_n - 1];
	}
}

/*
 * Each of memory__analyze's temporaries (its thresholds: struct
 * memory_analysis_opts), as a share of all bytes allocated.
 */
static int rule_temporaries(const struct finding_rule *rule, struct pass *ps)
{
	const struct memory_result *m = ps->in->memory;
	double alloc, inuse;
	int err;

	if (!m)
		return 0;
	memory_totals(m, MEM_SITE_HEAP, &alloc, &inuse);
	for (size_t i = 0; i < m->nr_temps && alloc > 0; i++) {
		const struct memory_temp *t = &m->temps[i];
		char life[32];

		err = add(ps->out, rule->kind, profile__str(m->names, t->name),
			  profile__str(m->names, t->file), t->line,
			  t->alloc_bytes / alloc,
			  "allocates %.1f MiB (%.1f %% of all allocated bytes, "
			  "%.1f MiB/s), median lifetime %s, %.0f %% freed; "
			  "reuse a buffer or avoid the copies",
			  t->alloc_bytes / MIB, pct(t->alloc_bytes, alloc),
			  t->alloc_bytes_per_s / MIB,
			  secs(life, t->median_lifetime_s),
			  100 * t->freed_share);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Each of memory__analyze's leaks (heap bytes, or anonymous memory still
 * mapped in the kernel-only view), as a share of the bytes of its kind in
 * use at the end.
 */
static int rule_leak(const struct finding_rule *rule, struct pass *ps)
{
	const struct memory_result *m = ps->in->memory;
	double alloc, heap_end, mapped_end;
	int err;

	if (!m)
		return 0;
	memory_totals(m, MEM_SITE_HEAP, &alloc, &heap_end);
	memory_totals(m, MEM_SITE_MMAP, &alloc, &mapped_end);
	for (size_t i = 0; i < m->nr_leaks; i++) {
		const struct memory_leak *l = &m->leaks[i];
		bool mapped = l->kind == MEM_SITE_MMAP;
		double whole = mapped ? mapped_end : heap_end;
		const char *held = mapped ? "still mapped" : "in use";
		char age[32];

		err = add(ps->out, rule->kind, profile__str(m->names, l->name),
			  profile__str(m->names, l->file), l->line,
			  whole > 0 ? l->inuse_bytes / whole : 0,
			  "%.1f MiB %s at the end (%.1f %% of all bytes %s), "
			  "still growing %.2f MiB/s over the second half of "
			  "the run, the oldest held %s; release what is no "
			  "longer needed or bound the container",
			  l->inuse_bytes / MIB, held,
			  pct(l->inuse_bytes, whole), held,
			  l->growth_bytes_per_s / MIB, secs(age, l->age_s));
		if (err)
			return err;
	}
	return 0;
}

/* ---- the pass ---- */

static int cmp_finding(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	int c;

	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	if (x->share != y->share)
		return x->share > y->share ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	c = strcmp(x->function, y->function);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

int findings__analyze(const struct findings_input *in, struct finding_list *out)
{
	struct pass ps = {.in = in, .out = out};
	size_t first = out->nr;
	int err = 0;

	for (size_t i = 0; i < NR_RULES && !err; i++)
		err = rules[i].apply(&rules[i], &ps);
	free(ps.funcs);
	if (out->nr > first)
		qsort(out->items + first, out->nr - first, sizeof(*out->items),
		      cmp_finding);
	return err;
}
