// SPDX-License-Identifier: BSD-2-Clause
/* speedscope JSON writers; the mapping is described in speedscope.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "model/functions.h"
#include "output/json_doc.h"
#include "output/speedscope.h"

#define SCHEMA "https://www.speedscope.app/file-format-schema.json"

static void put_frame(FILE *out, bool first, const char *name, const char *file,
		      int64_t line)
{
	fputs(first ? "{\"name\":" : ",{\"name\":", out);
	json_doc__string(out, *name ? name : "[unknown]", false);
	if (*file) {
		fputs(",\"file\":", out);
		json_doc__string(out, file, false);
	}
	if (line > 0)
		fprintf(out, ",\"line\":%" PRId64, line);
	fputc('}', out);
}

static void put_header(FILE *out, const char *name)
{
	fputs("{\"$schema\":\"" SCHEMA "\",\"exporter\":\"pystrobe\","
	      "\"name\":",
	      out);
	json_doc__string(out, name, false);
	fputs(",\"shared\":{\"frames\":[", out);
}

/* ---- sampled profiles ---- */

static const struct profile *g_sort_p; /* qsort has no context argument */

static int cmp_thread(const void *a, const void *b)
{
	const struct profile_sample *x = &g_sort_p->samples[*(const size_t *)a];
	const struct profile_sample *y = &g_sort_p->samples[*(const size_t *)b];

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return (*(const size_t *)a > *(const size_t *)b) -
	       (*(const size_t *)a < *(const size_t *)b);
}

/* The type speedscope shows: time where the profile has it. */
static int weight_type(const struct profile *p, const char **unit)
{
	static const char *const prefer[] = {"wall", "offcpu", "cpu"};

	*unit = "nanoseconds";
	for (size_t i = 0; i < sizeof(prefer) / sizeof(prefer[0]); i++) {
		int t = profile__type_index(p, prefer[i]);

		if (t >= 0 &&
		    !strcmp(profile__str(p, p->types[t].unit), "nanoseconds"))
			return t;
	}
	*unit = "none";
	return 0;
}

/* Writes the profile of the samples order[from, to) (one thread). */
static void put_thread(FILE *out, const struct profile *p,
		       const struct functions *fs, const size_t *order,
		       size_t from, size_t to, int type, const char *unit)
{
	const struct profile_sample *s0 = &p->samples[order[from]];
	const char *comm = profile__str(p, s0->comm);
	const char *thread = profile__str(p, s0->thread_name);
	int64_t sum = 0;
	bool first = true;
	char name[512];

	snprintf(name, sizeof(name), "%s%spid %" PRId64 " tid %" PRId64 "%s%s",
		 comm, *comm ? " " : "", s0->pid, s0->tid, *thread ? " " : "",
		 thread);
	fputs("{\"type\":\"sampled\",\"name\":", out);
	json_doc__string(out, name, false);
	fprintf(out, ",\"unit\":\"%s\",\"startValue\":0,\"samples\":[", unit);
	for (size_t i = from; i < to; i++) {
		const struct profile_sample *s = &p->samples[order[i]];

		if (!s->values[type])
			continue;
		fputs(first ? "[" : ",[", out);
		for (uint32_t d = s->depth; d-- > 0;)
			fprintf(out, d + 1 == s->depth ? "%u" : ",%u",
				fs->of_frame[s->frames[d]]);
		fputc(']', out);
		first = false;
	}
	fputs("],\"weights\":[", out);
	first = true;
	for (size_t i = from; i < to; i++) {
		int64_t v = p->samples[order[i]].values[type];

		if (!v)
			continue;
		fprintf(out, first ? "%" PRId64 : ",%" PRId64, v);
		sum += v;
		first = false;
	}
	fprintf(out, "],\"endValue\":%" PRId64 "}", sum);
}

int speedscope__write_profile(const struct profile *p, FILE *out)
{
	struct functions fs;
	const char *unit;
	int type = weight_type(p, &unit), err;
	size_t *order = NULL, nr_profiles = 0, active = 0;
	int64_t best = -1, cur = 0;
	char name[128];

	if (!p->nr_types)
		return -EINVAL;
	err = functions__build(p, FUNCTIONS_SELF_LEAF, &fs);
	if (err)
		return err;
	order = malloc((p->nr_samples + 1) * sizeof(*order));
	if (!order) {
		functions__free(&fs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->nr_samples; i++)
		order[i] = i;
	g_sort_p = p;
	qsort(order, p->nr_samples, sizeof(*order), cmp_thread);

	snprintf(name, sizeof(name), "pystrobe %s profile",
		 functions__profile_kind(p));
	put_header(out, name);
	for (size_t i = 0; i < fs.nr; i++) {
		const struct function *f = &fs.funcs[i];
		char text[1024];

		profile__format_frame(p, &p->frames[f->frame], true, text,
				      sizeof(text));
		put_frame(out, i == 0,
			  f->kind == FRAME_PYTHON ? profile__str(p, f->name)
						  : text,
			  profile__str(p, f->file), f->start_line);
	}
	fputs("]},\"profiles\":[", out);
	for (size_t i = 0, from = 0; i <= p->nr_samples; i++) {
		const struct profile_sample *s =
			i < p->nr_samples ? &p->samples[order[i]] : NULL;
		const struct profile_sample *f = &p->samples[order[from]];

		if (i > from && (!s || s->pid != f->pid || s->tid != f->tid)) {
			/* A thread without any of this value: no profile. */
			if (cur) {
				if (nr_profiles)
					fputc(',', out);
				put_thread(out, p, &fs, order, from, i, type,
					   unit);
				if (cur > best) {
					best = cur;
					active = nr_profiles;
				}
				nr_profiles++;
			}
			from = i;
			cur = 0;
		}
		if (s)
			cur += s->values[type];
	}
	fprintf(out, "],\"activeProfileIndex\":%zu}\n", active);
	free(order);
	functions__free(&fs);
	return ferror(out) ? -EIO : 0;
}

/* ---- call traces ---- */

struct path_entry {
	uint64_t id;
	size_t func;
	UT_hash_handle hh;
};

/* An event's interval, in ns from the first event. */
struct span {
	uint32_t pid, tid;
	uint64_t start, end;
	size_t func;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* The enclosing call first. */
	return (x->end < y->end) - (x->end > y->end);
}

static void put_paths(FILE *out, const struct call_graph *g, uint32_t pid)
{
	bool first = true;
	uint64_t sum = 0;
	char name[96];

	snprintf(name, sizeof(name),
		 "pid %u: call paths, self wall time (every call)", pid);
	fputs("{\"type\":\"sampled\",\"name\":", out);
	json_doc__string(out, name, false);
	fputs(",\"unit\":\"nanoseconds\",\"startValue\":0,\"samples\":[", out);
	for (size_t i = 0; i < g->nr_paths; i++) {
		const struct call_path *cp = &g->paths[i];

		if (cp->pid != pid || !cp->stats.self_ns)
			continue;
		fputs(first ? "[" : ",[", out);
		for (uint32_t d = cp->depth; d-- > 0;)
			fprintf(out, d + 1 == cp->depth ? "%zu" : ",%zu",
				cp->funcs[d]);
		fputc(']', out);
		first = false;
	}
	fputs("],\"weights\":[", out);
	first = true;
	for (size_t i = 0; i < g->nr_paths; i++) {
		const struct call_path *cp = &g->paths[i];

		if (cp->pid != pid || !cp->stats.self_ns)
			continue;
		fprintf(out, first ? "%" PRIu64 : ",%" PRIu64,
			(uint64_t)cp->stats.self_ns);
		sum += cp->stats.self_ns;
		first = false;
	}
	fprintf(out, "],\"endValue\":%" PRIu64 "}", sum);
}

/*
 * One thread's spans [from, to), sorted, as open/close events. Spans of one
 * thread nest; one that would outlast its enclosing span (clock rounding)
 * is cut at the enclosing end so that the events stay balanced.
 */
static int put_timeline(FILE *out, struct span *sp, size_t from, size_t to)
{
	size_t *stack = malloc((to - from + 1) * sizeof(*stack)), depth = 0;
	uint64_t end = 0;
	bool first = true;
	char name[64];

	if (!stack)
		return -ENOMEM;
	snprintf(name, sizeof(name), "pid %u tid %u: calls timeline",
		 sp[from].pid, sp[from].tid);
	fputs("{\"type\":\"evented\",\"name\":", out);
	json_doc__string(out, name, false);
	fputs(",\"unit\":\"nanoseconds\",\"startValue\":", out);
	fprintf(out, "%" PRIu64 ",\"events\":[", sp[from].start);
	for (size_t i = from; i <= to; i++) {
		while (depth &&
		       (i == to || sp[stack[depth - 1]].end <= sp[i].start)) {
			struct span *top = &sp[stack[--depth]];

			fprintf(out,
				"%s{\"type\":\"C\",\"at\":%" PRIu64
				",\"frame\":%zu}",
				first ? "" : ",", top->end, top->func);
			first = false;
		}
		if (i == to)
			break;
		if (depth && sp[i].end > sp[stack[depth - 1]].end)
			sp[i].end = sp[stack[depth - 1]].end;
		fprintf(out,
			"%s{\"type\":\"O\",\"at\":%" PRIu64 ",\"frame\":%zu}",
			first ? "" : ",", sp[i].start, sp[i].func);
		first = false;
		stack[depth++] = i;
		if (sp[i].end > end)
			end = sp[i].end;
	}
	fprintf(out, "],\"endValue\":%" PRIu64 "}", end);
	free(stack);
	return 0;
}

int speedscope__write_calls(const struct call_graph *g,
			    const struct call_event *events, size_t nr_events,
			    FILE *out)
{
	struct path_entry *paths = NULL, *pe, *ptmp;
	struct span *spans = NULL;
	uint32_t *pids = NULL;
	size_t nr_spans = 0, nr_pids = 0, nr_profiles = 0;
	uint64_t t0 = UINT64_MAX;
	int err = -ENOMEM;

	pids = calloc(g->nr_paths + 1, sizeof(*pids));
	spans = calloc(nr_events + 1, sizeof(*spans));
	if (!pids || !spans)
		goto cleanup;
	for (size_t i = 0; i < g->nr_paths; i++) {
		size_t j;

		pe = calloc(1, sizeof(*pe));
		if (!pe)
			goto cleanup;
		pe->id = g->paths[i].id;
		pe->func = g->paths[i].funcs[0];
		HASH_ADD(hh, paths, id, sizeof(pe->id), pe);
		for (j = 0; j < nr_pids && pids[j] != g->paths[i].pid; j++)
			;
		if (j == nr_pids)
			pids[nr_pids++] = g->paths[i].pid;
	}
	for (size_t i = 0; i < nr_events; i++) {
		HASH_FIND(hh, paths, &events[i].path, sizeof(events[i].path),
			  pe);
		if (!pe)
			continue;
		spans[nr_spans++] = (struct span){
			.pid = events[i].pid,
			.tid = events[i].tid,
			.start = events[i].start_ns,
			.end = events[i].start_ns + events[i].dur_ns,
			.func = pe->func,
		};
		if (events[i].start_ns < t0)
			t0 = events[i].start_ns;
	}
	for (size_t i = 0; i < nr_spans; i++) {
		spans[i].start -= t0;
		spans[i].end -= t0;
	}
	qsort(spans, nr_spans, sizeof(*spans), cmp_span);

	put_header(out, "pystrobe calls");
	for (size_t i = 0; i < g->nr_funcs; i++)
		put_frame(out, i == 0, g->funcs[i].name, g->funcs[i].file,
			  g->funcs[i].line);
	fputs("]},\"profiles\":[", out);
	for (size_t i = 0; i < nr_pids; i++) {
		if (nr_profiles++)
			fputc(',', out);
		put_paths(out, g, pids[i]);
	}
	err = 0;
	for (size_t i = 0, from = 0; i <= nr_spans && !err; i++) {
		if (i > from &&
		    (i == nr_spans || spans[i].pid != spans[from].pid ||
		     spans[i].tid != spans[from].tid)) {
			if (nr_profiles++)
				fputc(',', out);
			err = put_timeline(out, spans, from, i);
			from = i;
		}
	}
	fputs("],\"activeProfileIndex\":0}\n", out);
	if (!err && ferror(out))
		err = -EIO;
cleanup:
	HASH_ITER(hh, paths, pe, ptmp)
	{
		HASH_DEL(paths, pe);
		free(pe);
	}
	free(spans);
	free(pids);
	return err;
}
