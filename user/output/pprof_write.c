// SPDX-License-Identifier: BSD-2-Clause
/*
 * The pprof writer; the mapping rules are in pprof.h. The profile is laid
 * out as protobuf-c structs that point into arrays sized up front (one
 * allocation per table), packed, then gzipped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <zlib.h>

#include "output/pprof.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile PbProfile;
typedef Perftools__Profiles__ValueType PbValueType;
typedef Perftools__Profiles__Sample PbSample;
typedef Perftools__Profiles__Label PbLabel;
typedef Perftools__Profiles__Mapping PbMapping;
typedef Perftools__Profiles__Location PbLocation;
typedef Perftools__Profiles__Line PbLine;
typedef Perftools__Profiles__Function PbFunction;

#define NR_LABELS 4 /* pid, tid, thread_name, comm */

/*
 * The output string table: p's strings (borrowed, same indices) followed by
 * the writer's own (owned).
 */
struct strtab {
	const struct profile *p;
	char **v;
	size_t n, cap;
};

/* Index of s in the output table, appending it if new; -1 on ENOMEM. */
static int64_t strtab__get(struct strtab *t, const char *s)
{
	uint32_t idx = profile__find_string(t->p, s);
	size_t i;
	char **tmp;

	if (idx != (uint32_t)-1)
		return idx;
	for (i = t->p->nr_strings; i < t->n; i++)
		if (!strcmp(t->v[i], s))
			return i;
	if (t->n == t->cap) {
		tmp = reallocarray(t->v, t->cap * 2, sizeof(*tmp));
		if (!tmp)
			return -1;
		t->v = tmp;
		t->cap *= 2;
	}
	t->v[t->n] = strdup(s);
	if (!t->v[t->n])
		return -1;
	return t->n++;
}

/* A pprof Function: frames of one function share it. */
struct func_key {
	int64_t start_line;
	uint32_t name, file;
};

struct func_entry {
	struct func_key key;
	uint64_t id;
	UT_hash_handle hh;
};

/* Everything pb points into while it is built. */
struct writer {
	const struct profile *p;
	PbProfile pb;
	struct strtab st;
	PbValueType vt[PROFILE_MAX_TYPES], *vt_ptrs[PROFILE_MAX_TYPES];
	PbValueType period_type;
	PbMapping *maps, **map_ptrs;
	size_t nr_maps;
	uint64_t *module_map; /* string index of a native module -> map id */
	uint64_t kind_map[FRAME_MARKER + 1]; /* other kinds -> map id */
	PbFunction *funcs, **func_ptrs;
	size_t nr_funcs;
	struct func_entry *fentries, *fhash;
	PbLocation *locs, **loc_ptrs;
	PbLine *lines, **line_ptrs;
	PbSample *samples, **sample_ptrs;
	PbLabel *labels, **label_ptrs;
	size_t nr_labels;
	uint64_t *loc_ids;
	int64_t *values, *comments;
};

static int writer__init(struct writer *w, const struct profile *p)
{
	size_t nr_frames = p->nr_frames, nr_samples = p->nr_samples;
	size_t nr_labels = nr_samples * (NR_LABELS + p->nr_proc_labels) + 1;
	size_t nr_ids = 0;

	w->p = p;
	perftools__profiles__profile__init(&w->pb);
	/* String table: p's strings first, so indices carry over unchanged. */
	w->st.p = p;
	w->st.cap = p->nr_strings + 16;
	w->st.v = calloc(w->st.cap, sizeof(*w->st.v));
	if (!w->st.v)
		return -ENOMEM;
	for (size_t i = 0; i < p->nr_strings; i++)
		w->st.v[i] = p->strings[i];
	w->st.n = p->nr_strings;
	for (size_t i = 0; i < nr_samples; i++)
		nr_ids += p->samples[i].depth;

	w->maps = calloc(nr_frames + 3, sizeof(*w->maps));
	w->map_ptrs = calloc(nr_frames + 3, sizeof(*w->map_ptrs));
	w->module_map = calloc(p->nr_strings + 1, sizeof(*w->module_map));
	w->funcs = calloc(nr_frames + 1, sizeof(*w->funcs));
	w->func_ptrs = calloc(nr_frames + 1, sizeof(*w->func_ptrs));
	w->fentries = calloc(nr_frames + 1, sizeof(*w->fentries));
	w->locs = calloc(nr_frames + 1, sizeof(*w->locs));
	w->loc_ptrs = calloc(nr_frames + 1, sizeof(*w->loc_ptrs));
	w->lines = calloc(nr_frames + 1, sizeof(*w->lines));
	w->line_ptrs = calloc(nr_frames + 1, sizeof(*w->line_ptrs));
	w->samples = calloc(nr_samples + 1, sizeof(*w->samples));
	w->sample_ptrs = calloc(nr_samples + 1, sizeof(*w->sample_ptrs));
	w->values =
		calloc(nr_samples * PROFILE_MAX_TYPES + 1, sizeof(*w->values));
	w->labels = calloc(nr_labels, sizeof(*w->labels));
	w->label_ptrs = calloc(nr_labels, sizeof(*w->label_ptrs));
	w->comments = calloc(p->nr_counters + 1, sizeof(*w->comments));
	w->loc_ids = calloc(nr_ids + 1, sizeof(*w->loc_ids));
	if (!w->maps || !w->map_ptrs || !w->module_map || !w->funcs ||
	    !w->func_ptrs || !w->fentries || !w->locs || !w->loc_ptrs ||
	    !w->lines || !w->line_ptrs || !w->samples || !w->sample_ptrs ||
	    !w->values || !w->labels || !w->label_ptrs || !w->comments ||
	    !w->loc_ids)
		return -ENOMEM;
	return 0;
}

static void writer__free(struct writer *w)
{
	HASH_CLEAR(hh, w->fhash);
	for (size_t i = w->p->nr_strings; i < w->st.n; i++)
		free(w->st.v[i]);
	free(w->st.v);
	free(w->maps);
	free(w->map_ptrs);
	free(w->module_map);
	free(w->funcs);
	free(w->func_ptrs);
	free(w->fentries);
	free(w->locs);
	free(w->loc_ptrs);
	free(w->lines);
	free(w->line_ptrs);
	free(w->samples);
	free(w->sample_ptrs);
	free(w->values);
	free(w->labels);
	free(w->label_ptrs);
	free(w->comments);
	free(w->loc_ids);
}

static void write_header(struct writer *w)
{
	const struct profile *p = w->p;

	for (int i = 0; i < p->nr_types; i++) {
		perftools__profiles__value_type__init(&w->vt[i]);
		w->vt[i].type = p->types[i].type;
		w->vt[i].unit = p->types[i].unit;
		w->vt_ptrs[i] = &w->vt[i];
	}
	w->pb.n_sample_type = p->nr_types;
	w->pb.sample_type = w->vt_ptrs;
	perftools__profiles__value_type__init(&w->period_type);
	w->period_type.type = p->period_type.type;
	w->period_type.unit = p->period_type.unit;
	w->pb.period_type = &w->period_type;
	w->pb.period = p->period;
	w->pb.time_nanos = p->time_nanos;
	w->pb.duration_nanos = p->duration_nanos;
}

/* Adds a mapping named by string index filename; returns its id. */
static uint64_t add_mapping(struct writer *w, int64_t filename)
{
	PbMapping *m = &w->maps[w->nr_maps];

	perftools__profiles__mapping__init(m);
	m->id = ++w->nr_maps;
	m->filename = filename;
	/* Fully symbolized: consumers must not look for binaries. */
	m->has_functions = m->has_filenames = m->has_line_numbers = 1;
	w->map_ptrs[m->id - 1] = m;
	return m->id;
}

/* The mapping of frame f (its kind's, or its native module's); 0: none. */
static int64_t frame_mapping(struct writer *w, const struct profile_frame *f)
{
	const char *name;
	int64_t s;

	if (f->kind == FRAME_NATIVE) {
		if (!f->file || f->file >= w->p->nr_strings)
			return 0;
		if (!w->module_map[f->file])
			w->module_map[f->file] = add_mapping(w, f->file);
		return w->module_map[f->file];
	}
	if (w->kind_map[f->kind])
		return w->kind_map[f->kind];
	name = f->kind == FRAME_PYTHON	 ? PPROF_MAP_PYTHON
	       : f->kind == FRAME_KERNEL ? PPROF_MAP_KERNEL
					 : PPROF_MAP_MARKER;
	s = strtab__get(&w->st, name);
	if (s < 0)
		return -ENOMEM;
	w->kind_map[f->kind] = add_mapping(w, s);
	return w->kind_map[f->kind];
}

/* The Function of frame f, added if new; returns its id. */
static uint64_t frame_function(struct writer *w, const struct profile_frame *f)
{
	struct func_key key;
	struct func_entry *fe;
	PbFunction *fn;

	memset(&key, 0, sizeof(key));
	key.name = f->name;
	key.file = f->kind == FRAME_NATIVE ? 0 : f->file;
	key.start_line = f->start_line;
	HASH_FIND(hh, w->fhash, &key, sizeof(key), fe);
	if (fe)
		return fe->id;
	fn = &w->funcs[w->nr_funcs];
	perftools__profiles__function__init(fn);
	fn->id = w->nr_funcs + 1;
	fn->name = fn->system_name = key.name;
	fn->filename = key.file;
	fn->start_line = key.start_line;
	w->func_ptrs[w->nr_funcs] = fn;
	fe = &w->fentries[w->nr_funcs++];
	fe->key = key;
	fe->id = fn->id;
	HASH_ADD(hh, w->fhash, key, sizeof(key), fe);
	return fe->id;
}

/* Frames become locations one to one; functions are shared. */
static int write_locations(struct writer *w)
{
	const struct profile *p = w->p;

	for (size_t i = 0; i < p->nr_frames; i++) {
		const struct profile_frame *f = &p->frames[i];
		int64_t map_id = frame_mapping(w, f);

		if (map_id < 0)
			return map_id;
		perftools__profiles__line__init(&w->lines[i]);
		w->lines[i].function_id = frame_function(w, f);
		w->lines[i].line = f->line;
		w->line_ptrs[i] = &w->lines[i];
		perftools__profiles__location__init(&w->locs[i]);
		w->locs[i].id = i + 1;
		w->locs[i].mapping_id = map_id;
		w->locs[i].n_line = 1;
		w->locs[i].line = &w->line_ptrs[i];
		w->loc_ptrs[i] = &w->locs[i];
	}
	w->pb.n_mapping = w->nr_maps;
	w->pb.mapping = w->map_ptrs;
	w->pb.n_function = w->nr_funcs;
	w->pb.function = w->func_ptrs;
	w->pb.n_location = p->nr_frames;
	w->pb.location = w->loc_ptrs;
	return 0;
}

static void add_label(struct writer *w, PbSample *ps, int64_t key, int64_t num,
		      int64_t str)
{
	PbLabel *l = &w->labels[w->nr_labels];

	perftools__profiles__label__init(l);
	l->key = key;
	l->num = num;
	l->str = str;
	w->label_ptrs[w->nr_labels++] = l;
	ps->n_label++;
}

/* Samples with their labels: pid, tid, names, per-process labels. */
static int write_samples(struct writer *w)
{
	const struct profile *p = w->p;
	int64_t k_pid = strtab__get(&w->st, "pid");
	int64_t k_tid = strtab__get(&w->st, "tid");
	int64_t k_thread = strtab__get(&w->st, "thread_name");
	int64_t k_comm = strtab__get(&w->st, "comm");
	uint64_t *ids = w->loc_ids;

	if (k_pid < 0 || k_tid < 0 || k_thread < 0 || k_comm < 0)
		return -ENOMEM;
	for (size_t i = 0; i < p->nr_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		PbSample *ps = &w->samples[i];

		perftools__profiles__sample__init(ps);
		for (size_t j = 0; j < s->depth; j++)
			ids[j] = (uint64_t)s->frames[j] + 1;
		ps->n_location_id = s->depth;
		ps->location_id = ids;
		ids += s->depth;
		ps->n_value = p->nr_types;
		ps->value = &w->values[i * PROFILE_MAX_TYPES];
		memcpy(ps->value, s->values, p->nr_types * sizeof(*ps->value));
		ps->label = &w->label_ptrs[w->nr_labels];
		add_label(w, ps, k_pid, s->pid, 0);
		add_label(w, ps, k_tid, s->tid, 0);
		add_label(w, ps, k_thread, 0, s->thread_name);
		add_label(w, ps, k_comm, 0, s->comm);
		for (size_t x = 0; x < p->nr_proc_labels; x++) {
			const struct profile_process_label *pl =
				&p->proc_labels[x];

			if (pl->pid == s->pid)
				add_label(w, ps, pl->key, 0, pl->value);
		}
		w->sample_ptrs[i] = ps;
	}
	w->pb.n_sample = p->nr_samples;
	w->pb.sample = w->sample_ptrs;
	return 0;
}

/* Counters travel as "name=value" comments. */
static int write_comments(struct writer *w)
{
	const struct profile *p = w->p;

	for (size_t i = 0; i < p->nr_counters; i++) {
		char text[512];

		snprintf(text, sizeof(text), "%s=%" PRId64,
			 profile__str(p, p->counters[i].name),
			 p->counters[i].value);
		w->comments[i] = strtab__get(&w->st, text);
		if (w->comments[i] < 0)
			return -ENOMEM;
	}
	w->pb.n_comment = p->nr_counters;
	w->pb.comment = w->comments;
	return 0;
}

/* Writes buf gzip-compressed to out. */
static int gzip_write(FILE *out, const uint8_t *buf, size_t len)
{
	z_stream zs = {};
	uint8_t chunk[1 << 16];
	int zerr, err = 0;

	/* windowBits 15 + 16: a gzip header and trailer, as gzip(1) writes. */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	zs.next_in = (uint8_t *)buf;
	do {
		/* avail_in is 32 bits: feed at most 1 GiB at a time. */
		if (!zs.avail_in && len) {
			zs.avail_in = len > (1u << 30) ? 1u << 30 : len;
			len -= zs.avail_in;
		}
		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		zerr = deflate(&zs, len || zs.avail_in ? Z_NO_FLUSH : Z_FINISH);
		if (zerr == Z_STREAM_ERROR) {
			err = -EINVAL;
			break;
		}
		if (fwrite(chunk, 1, sizeof(chunk) - zs.avail_out, out) !=
		    sizeof(chunk) - zs.avail_out) {
			err = -EIO;
			break;
		}
	} while (zerr != Z_STREAM_END);
	deflateEnd(&zs);
	return err;
}

/* Packs pb and writes it compressed. */
static int write_packed(struct writer *w, FILE *out)
{
	size_t len;
	uint8_t *buf;
	int err;

	w->pb.n_string_table = w->st.n;
	w->pb.string_table = w->st.v;
	len = perftools__profiles__profile__get_packed_size(&w->pb);
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	perftools__profiles__profile__pack(&w->pb, buf);
	err = gzip_write(out, buf, len);
	free(buf);
	return err;
}

int pprof__write(const struct profile *p, FILE *out)
{
	struct writer w = {};
	int err;

	err = writer__init(&w, p);
	if (!err) {
		write_header(&w);
		err = write_locations(&w);
	}
	if (!err)
		err = write_samples(&w);
	if (!err)
		err = write_comments(&w);
	if (!err)
		err = write_packed(&w, out);
	writer__free(&w);
	return err;
}
