// SPDX-License-Identifier: BSD-2-Clause
/* The terminal table of `pystrobe memory`. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include "output/memory_report.h"

/* "12.3 MiB": binary units, as --rate takes them. */
static const char *human(int64_t v, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double x = (double)v;
	int u = 0;

	while (fabs(x) >= 1024 && u < 4) {
		x /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRId64 " B", v);
	else
		snprintf(buf, len, "%.1f %s", x, units[u]);
	return buf;
}

/* "1.2M": counts with an SI suffix. */
static const char *count(int64_t v, char *buf, size_t len)
{
	if (v >= 10000000)
		snprintf(buf, len, "%.1fM", v / 1e6);
	else if (v >= 10000)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%" PRId64, v);
	return buf;
}

static const char *duration(double s, char *buf, size_t len)
{
	if (s < 1e-3)
		snprintf(buf, len, "%.0f us", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.1f ms", s * 1e3);
	else
		snprintf(buf, len, "%.1f s", s);
	return buf;
}

static void location(const struct memory_result *m, uint32_t name,
		     uint32_t file, int64_t line, FILE *out)
{
	const char *f = profile__str(m->names, file);

	if (f[0])
		fprintf(out, "%s (%s:%" PRId64 ")\n",
			profile__str(m->names, name), f, line);
	else
		fprintf(out, "%s\n", profile__str(m->names, name));
}

static void views(const struct memory_result *m, FILE *out)
{
	char a[32], b[32];

	for (size_t i = 0; i < m->nr_procs; i++) {
		const struct memory_process *p = &m->procs[i];

		fprintf(out, "process %" PRId64 " (%s): %s view", p->pid,
			p->comm, memory_view_names[p->view]);
		if (p->why[0])
			fprintf(out, " (%s)", p->why);
		if (p->view == MEMORY_VIEW_HEAP && p->peak_ns >= 0)
			fprintf(out, "; %s allocated, peak %s live at %.1f s",
				human(p->alloc_bytes, a, sizeof(a)),
				human(p->peak_bytes, b, sizeof(b)),
				p->peak_ns / 1e9);
		fputc('\n', out);
	}
}

static void top_lines(const struct memory_result *m, int max_rows, FILE *out)
{
	size_t rows = m->nr_lines;
	char a[32], b[32], c[32], d[32], e[32];

	if (max_rows > 0 && (size_t)max_rows < rows)
		rows = max_rows;
	fprintf(out,
		"\nallocation sites by bytes %s (innermost Python frame):\n",
		m->by_inuse ? "in use at the end" : "allocated");
	fprintf(out, "%12s %9s %12s %9s %12s  %s\n", "allocated", "objects",
		"in use", "objects", "at peak", "location");
	for (size_t i = 0; i < rows; i++) {
		const struct memory_fn *f = &m->lines[i];

		fprintf(out, "%12s %9s %12s %9s %12s  ",
			human(f->alloc_bytes, a, sizeof(a)),
			count(f->alloc_objects, b, sizeof(b)),
			human(f->inuse_bytes, c, sizeof(c)),
			count(f->inuse_objects, d, sizeof(d)),
			human(f->peak_bytes, e, sizeof(e)));
		location(m, f->name, f->file, f->line, out);
	}
	if (rows < m->nr_lines)
		fprintf(out, "(%zu more sites)\n", m->nr_lines - rows);
}

static void leak_rows(const struct memory_result *m, FILE *out)
{
	char a[32], b[32], c[32];

	fprintf(out, "\nleaks (in use still growing in the second half of "
		     "the run):\n");
	if (!m->nr_leaks) {
		fprintf(out, "none\n");
		return;
	}
	fprintf(out, "%12s %12s %10s  %s\n", "in use", "growth/s", "oldest",
		"location");
	for (size_t i = 0; i < m->nr_leaks; i++) {
		const struct memory_leak *l = &m->leaks[i];

		fprintf(out, "%12s %12s %10s  ",
			human(l->inuse_bytes, a, sizeof(a)),
			human((int64_t)l->growth_bytes_per_s, b, sizeof(b)),
			duration(l->age_s, c, sizeof(c)));
		location(m, l->name, l->file, l->line, out);
	}
}

static void temp_rows(const struct memory_result *m, FILE *out)
{
	char a[32], b[32], c[32], d[32];

	fprintf(out, "\ntemporaries (much allocated, most freed young):\n");
	if (!m->nr_temps) {
		fprintf(out, "none\n");
		return;
	}
	fprintf(out, "%12s %9s %12s %12s  %s\n", "allocated", "objects",
		"per second", "median life", "location");
	for (size_t i = 0; i < m->nr_temps; i++) {
		const struct memory_temp *t = &m->temps[i];

		fprintf(out, "%12s %9s %12s %12s  ",
			human(t->alloc_bytes, a, sizeof(a)),
			count(t->alloc_objects, b, sizeof(b)),
			human((int64_t)t->alloc_bytes_per_s, c, sizeof(c)),
			duration(t->median_lifetime_s, d, sizeof(d)));
		location(m, t->name, t->file, t->line, out);
	}
}

static void growth_rows(const struct memory_result *m, int max_rows, FILE *out)
{
	size_t rows = m->nr_growth;
	char a[32], b[32], c[32];

	if (max_rows > 0 && (size_t)max_rows < rows)
		rows = max_rows;
	fprintf(out, "\ngrowth, kernel-only view (pages first touched: write "
		     "faults, sampled; anonymous mappings):\n");
	fprintf(out, "%12s %12s %12s  %s\n", "touched", "mapped", "unmapped",
		"location");
	for (size_t i = 0; i < rows; i++) {
		const struct memory_growth *g = &m->growth[i];

		fprintf(out, "%12s %12s %12s  ",
			human(g->faulted_bytes, a, sizeof(a)),
			human(g->mapped_bytes, b, sizeof(b)),
			human(g->unmapped_bytes, c, sizeof(c)));
		location(m, g->name, g->file, g->line, out);
	}
	if (rows < m->nr_growth)
		fprintf(out, "(%zu more sites)\n", m->nr_growth - rows);
}

int memory_report__table(const struct memory_result *m, int max_rows, FILE *out)
{
	bool heap = false, kernel = false;
	char a[32];

	for (size_t i = 0; i < m->nr_procs; i++) {
		heap |= m->procs[i].view == MEMORY_VIEW_HEAP;
		kernel |= m->procs[i].view == MEMORY_VIEW_KERNEL;
	}
	if (heap || !kernel)
		fprintf(out,
			"pystrobe memory: allocations sampled every %s on "
			"average (Poisson); figures are estimates\n",
			human(m->rate, a, sizeof(a)));
	else
		fprintf(out, "pystrobe memory: kernel-only view\n");
	views(m, out);
	if (heap || !kernel)
		top_lines(m, max_rows, out);
	if (kernel)
		growth_rows(m, max_rows, out);
	leak_rows(m, out);
	if (heap || !kernel)
		temp_rows(m, out);
	fputs("\nlost:", out);
	for (size_t i = 0; i < m->names->nr_counters; i++)
		fprintf(out, " %s=%" PRId64,
			profile__str(m->names, m->names->counters[i].name),
			m->names->counters[i].value);
	fputc('\n', out);
	return ferror(out) ? -EIO : 0;
}
