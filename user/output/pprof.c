// SPDX-License-Identifier: BSD-2-Clause
/*
 * pprof writer and reader; the mapping rules are in pprof.h. The reader
 * trusts nothing in the file: every index and id is range-checked before use.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

#define NR_LABELS	 4 /* pid, tid, thread_name, comm */
#define MAX_EXTRA_LABELS 8 /* per-process string labels read back */

/* ---- writer ---- */

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

struct func_key {
	int64_t start_line;
	uint32_t name, file;
};

struct func_entry {
	struct func_key key;
	uint64_t id;
	UT_hash_handle hh;
};

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

int pprof__write(const struct profile *p, FILE *out)
{
	PbProfile pb = PERFTOOLS__PROFILES__PROFILE__INIT;
	PbValueType *vt = NULL, **vt_ptrs = NULL;
	PbValueType period_type = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	PbMapping *maps = NULL, **map_ptrs = NULL;
	PbFunction *funcs = NULL, **func_ptrs = NULL;
	PbLocation *locs = NULL, **loc_ptrs = NULL;
	PbLine *lines = NULL, **line_ptrs = NULL;
	PbSample *samples = NULL, **sample_ptrs = NULL;
	PbLabel *labels = NULL, **label_ptrs = NULL;
	uint64_t *loc_ids = NULL, *module_map = NULL;
	int64_t *values = NULL, *comments = NULL;
	struct func_entry *fentries = NULL, *fhash = NULL, *fe;
	struct strtab st = {.p = p};
	uint64_t kind_map[FRAME_MARKER + 1] = {};
	size_t i, j, nr_maps = 0, nr_funcs = 0, nr_ids = 0, nr_labels = 0;
	size_t nr_frames = p->nr_frames, nr_samples = p->nr_samples;
	uint8_t *buf = NULL;
	size_t len;
	int err = -ENOMEM;

	/* String table: p's strings first, so indices carry over unchanged. */
	st.cap = p->nr_strings + 16;
	st.v = calloc(st.cap, sizeof(*st.v));
	if (!st.v)
		goto cleanup;
	for (i = 0; i < p->nr_strings; i++)
		st.v[i] = p->strings[i];
	st.n = p->nr_strings;

	vt = calloc(PROFILE_MAX_TYPES, sizeof(*vt));
	vt_ptrs = calloc(PROFILE_MAX_TYPES, sizeof(*vt_ptrs));
	maps = calloc(nr_frames + 3, sizeof(*maps));
	map_ptrs = calloc(nr_frames + 3, sizeof(*map_ptrs));
	module_map = calloc(p->nr_strings, sizeof(*module_map));
	funcs = calloc(nr_frames + 1, sizeof(*funcs));
	func_ptrs = calloc(nr_frames + 1, sizeof(*func_ptrs));
	fentries = calloc(nr_frames + 1, sizeof(*fentries));
	locs = calloc(nr_frames + 1, sizeof(*locs));
	loc_ptrs = calloc(nr_frames + 1, sizeof(*loc_ptrs));
	lines = calloc(nr_frames + 1, sizeof(*lines));
	line_ptrs = calloc(nr_frames + 1, sizeof(*line_ptrs));
	samples = calloc(nr_samples + 1, sizeof(*samples));
	sample_ptrs = calloc(nr_samples + 1, sizeof(*sample_ptrs));
	values = calloc(nr_samples * PROFILE_MAX_TYPES + 1, sizeof(*values));
	labels = calloc(nr_samples * (NR_LABELS + p->nr_proc_labels) + 1,
			sizeof(*labels));
	label_ptrs = calloc(nr_samples * (NR_LABELS + p->nr_proc_labels) + 1,
			    sizeof(*label_ptrs));
	comments = calloc(p->nr_counters + 1, sizeof(*comments));
	for (i = 0; i < nr_samples; i++)
		nr_ids += p->samples[i].depth;
	loc_ids = calloc(nr_ids + 1, sizeof(*loc_ids));
	if (!vt || !vt_ptrs || !maps || !map_ptrs || !funcs || !func_ptrs ||
	    !fentries || !locs || !loc_ptrs || !lines || !line_ptrs ||
	    !samples || !sample_ptrs || !values || !labels || !label_ptrs ||
	    !comments || !loc_ids || (p->nr_strings && !module_map))
		goto cleanup;

	for (i = 0; i < (size_t)p->nr_types; i++) {
		perftools__profiles__value_type__init(&vt[i]);
		vt[i].type = p->types[i].type;
		vt[i].unit = p->types[i].unit;
		vt_ptrs[i] = &vt[i];
	}
	pb.n_sample_type = p->nr_types;
	pb.sample_type = vt_ptrs;
	period_type.type = p->period_type.type;
	period_type.unit = p->period_type.unit;
	pb.period_type = &period_type;
	pb.period = p->period;
	pb.time_nanos = p->time_nanos;
	pb.duration_nanos = p->duration_nanos;

	/* Frames become locations one to one; functions are shared. */
	for (i = 0; i < nr_frames; i++) {
		const struct profile_frame *f = &p->frames[i];
		struct func_key key;
		uint64_t map_id = 0;
		int64_t s;

		if (f->kind == FRAME_NATIVE) {
			if (f->file && f->file < p->nr_strings) {
				if (!module_map[f->file]) {
					module_map[f->file] = ++nr_maps;
					maps[nr_maps - 1].filename = f->file;
				}
				map_id = module_map[f->file];
			}
		} else {
			if (!kind_map[f->kind]) {
				s = strtab__get(&st,
						f->kind == FRAME_PYTHON
							? PPROF_MAP_PYTHON
						: f->kind == FRAME_KERNEL
							? PPROF_MAP_KERNEL
							: PPROF_MAP_MARKER);
				if (s < 0)
					goto cleanup;
				kind_map[f->kind] = ++nr_maps;
				maps[nr_maps - 1].filename = s;
			}
			map_id = kind_map[f->kind];
		}

		memset(&key, 0, sizeof(key));
		key.name = f->name;
		key.file = f->kind == FRAME_NATIVE ? 0 : f->file;
		key.start_line = f->start_line;
		HASH_FIND(hh, fhash, &key, sizeof(key), fe);
		if (!fe) {
			PbFunction *fn = &funcs[nr_funcs];

			perftools__profiles__function__init(fn);
			fn->id = nr_funcs + 1;
			fn->name = fn->system_name = key.name;
			fn->filename = key.file;
			fn->start_line = key.start_line;
			func_ptrs[nr_funcs] = fn;
			fe = &fentries[nr_funcs++];
			fe->key = key;
			fe->id = fn->id;
			HASH_ADD(hh, fhash, key, sizeof(key), fe);
		}

		perftools__profiles__line__init(&lines[i]);
		lines[i].function_id = fe->id;
		lines[i].line = f->line;
		line_ptrs[i] = &lines[i];
		perftools__profiles__location__init(&locs[i]);
		locs[i].id = i + 1;
		locs[i].mapping_id = map_id;
		locs[i].n_line = 1;
		locs[i].line = &line_ptrs[i];
		loc_ptrs[i] = &locs[i];
	}
	for (i = 0; i < nr_maps; i++) {
		PbMapping *m = &maps[i];
		int64_t filename = m->filename;

		perftools__profiles__mapping__init(m);
		m->id = i + 1;
		m->filename = filename;
		/* Fully symbolized: consumers must not look for binaries. */
		m->has_functions = m->has_filenames = m->has_line_numbers = 1;
		map_ptrs[i] = m;
	}
	pb.n_mapping = nr_maps;
	pb.mapping = map_ptrs;
	pb.n_function = nr_funcs;
	pb.function = func_ptrs;
	pb.n_location = nr_frames;
	pb.location = loc_ptrs;

	{
		int64_t k_pid = strtab__get(&st, "pid");
		int64_t k_tid = strtab__get(&st, "tid");
		int64_t k_thread = strtab__get(&st, "thread_name");
		int64_t k_comm = strtab__get(&st, "comm");
		uint64_t *ids = loc_ids;

		if (k_pid < 0 || k_tid < 0 || k_thread < 0 || k_comm < 0)
			goto cleanup;
		for (i = 0; i < nr_samples; i++) {
			const struct profile_sample *s = &p->samples[i];
			PbSample *ps = &samples[i];
			PbLabel **lp = &label_ptrs[nr_labels];

			perftools__profiles__sample__init(ps);
			for (j = 0; j < s->depth; j++)
				ids[j] = (uint64_t)s->frames[j] + 1;
			ps->n_location_id = s->depth;
			ps->location_id = ids;
			ids += s->depth;
			ps->n_value = p->nr_types;
			ps->value = &values[i * PROFILE_MAX_TYPES];
			memcpy(ps->value, s->values,
			       p->nr_types * sizeof(*ps->value));

			ps->label = lp;
#define ADD_LABEL(k, field, v)                                                 \
	do {                                                                   \
		PbLabel *l = &labels[nr_labels];                               \
		perftools__profiles__label__init(l);                           \
		l->key = (k);                                                  \
		l->field = (v);                                                \
		label_ptrs[nr_labels++] = l;                                   \
		ps->n_label++;                                                 \
	} while (0)
			ADD_LABEL(k_pid, num, s->pid);
			ADD_LABEL(k_tid, num, s->tid);
			ADD_LABEL(k_thread, str, s->thread_name);
			ADD_LABEL(k_comm, str, s->comm);
			for (size_t x = 0; x < p->nr_proc_labels; x++) {
				const struct profile_process_label *pl =
					&p->proc_labels[x];

				if (pl->pid == s->pid)
					ADD_LABEL(pl->key, str, pl->value);
			}
#undef ADD_LABEL
			sample_ptrs[i] = ps;
		}
	}
	pb.n_sample = nr_samples;
	pb.sample = sample_ptrs;

	for (i = 0; i < p->nr_counters; i++) {
		char text[512];

		snprintf(text, sizeof(text), "%s=%" PRId64,
			 profile__str(p, p->counters[i].name),
			 p->counters[i].value);
		comments[i] = strtab__get(&st, text);
		if (comments[i] < 0)
			goto cleanup;
	}
	pb.n_comment = p->nr_counters;
	pb.comment = comments;

	pb.n_string_table = st.n;
	pb.string_table = st.v;

	len = perftools__profiles__profile__get_packed_size(&pb);
	buf = malloc(len ? len : 1);
	if (!buf)
		goto cleanup;
	perftools__profiles__profile__pack(&pb, buf);

	err = gzip_write(out, buf, len);

cleanup:
	HASH_CLEAR(hh, fhash);
	for (i = p->nr_strings; i < st.n; i++)
		free(st.v[i]);
	free(st.v);
	free(buf);
	free(vt);
	free(vt_ptrs);
	free(maps);
	free(map_ptrs);
	free(module_map);
	free(funcs);
	free(func_ptrs);
	free(fentries);
	free(locs);
	free(loc_ptrs);
	free(lines);
	free(line_ptrs);
	free(samples);
	free(sample_ptrs);
	free(values);
	free(labels);
	free(label_ptrs);
	free(comments);
	free(loc_ids);
	return err;
}

/* ---- reader ---- */

/* Reads all of path, inflating it if gzipped, up to PPROF_MAX_SIZE bytes. */
static int read_all(const char *path, uint8_t **out, size_t *out_len)
{
	size_t len = 0, cap = 1 << 16;
	uint8_t *buf = NULL, *tmp;
	gzFile gz = NULL;
	int err = 0, errnum = Z_OK, n, fd;

	if (!strcmp(path, "-")) {
		fd = dup(STDIN_FILENO);
		if (fd < 0)
			return -errno;
		gz = gzdopen(fd, "rb");
		if (!gz) {
			close(fd);
			return -ENOMEM;
		}
	} else {
		errno = 0;
		gz = gzopen(path, "rb");
		if (!gz)
			return errno ? -errno : -ENOMEM;
	}
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		if (len == cap) {
			if (cap > PPROF_MAX_SIZE) {
				err = -EFBIG;
				goto cleanup;
			}
			tmp = realloc(buf, cap * 2);
			if (!tmp) {
				err = -ENOMEM;
				goto cleanup;
			}
			buf = tmp;
			cap *= 2;
		}
		errno = 0;
		n = gzread(gz, buf + len, cap - len);
		if (n < 0) {
			err = errno ? -errno : -EINVAL;
			gzerror(gz, &errnum);
			if (errnum != Z_ERRNO)
				err = -EINVAL;
			goto cleanup;
		}
		if (n == 0)
			break;
		len += n;
	}
	if (len > PPROF_MAX_SIZE) {
		err = -EFBIG;
		goto cleanup;
	}
	/* A truncated gzip stream reads as a short file plus Z_BUF_ERROR. */
	gzerror(gz, &errnum);
	if (errnum != Z_OK)
		err = errnum == Z_ERRNO ? -EIO : -EINVAL;

cleanup:
	n = gzclose_r(gz);
	if (!err && n != Z_OK)
		err = n == Z_ERRNO ? -EIO : -EINVAL;
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

struct id_entry {
	uint64_t id;
	size_t idx;
	UT_hash_handle hh;
};

/*
 * Indexes n ids (read through get) into *hash, backed by entries. Ids must be
 * non-zero and unique.
 */
static int index_ids(struct id_entry **hash, struct id_entry *entries, size_t n,
		     uint64_t (*get)(const PbProfile *, size_t),
		     const PbProfile *pb)
{
	struct id_entry *e;
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t id = get(pb, i);

		if (!id)
			return -EINVAL;
		HASH_FIND(hh, *hash, &id, sizeof(id), e);
		if (e)
			return -EINVAL;
		entries[i].id = id;
		entries[i].idx = i;
		HASH_ADD(hh, *hash, id, sizeof(id), &entries[i]);
	}
	return 0;
}

static uint64_t mapping_id(const PbProfile *pb, size_t i)
{
	return pb->mapping[i]->id;
}

static uint64_t function_id(const PbProfile *pb, size_t i)
{
	return pb->function[i]->id;
}

static uint64_t location_id(const PbProfile *pb, size_t i)
{
	return pb->location[i]->id;
}

/* Index of id in hash, or -1 if absent. */
static int64_t lookup_id(struct id_entry *hash, uint64_t id)
{
	struct id_entry *e;

	HASH_FIND(hh, hash, &id, sizeof(id), e);
	return e ? (int64_t)e->idx : -1;
}

static bool str_ok(const PbProfile *pb, int64_t i)
{
	return i >= 0 && (uint64_t)i < pb->n_string_table;
}

/* Reads a "name=value" comment back into a counter; others are ignored. */
static int read_comment(struct profile *p, const char *text)
{
	const char *eq = strrchr(text, '=');
	char name[256], *end;
	long long v;

	if (!eq || eq == text || (size_t)(eq - text) >= sizeof(name) || !eq[1])
		return 0;
	errno = 0;
	v = strtoll(eq + 1, &end, 10);
	if (errno || *end)
		return 0;
	memcpy(name, text, eq - text);
	name[eq - text] = '\0';
	return profile__set_counter(p, name, v);
}

/*
 * Converts a validated-as-we-go unpacked profile. Locations expand to
 * loc_first[i] .. loc_first[i + 1] in loc_frames (one frame per Line).
 */
static int convert(const PbProfile *pb, struct profile *p)
{
	struct id_entry *map_hash = NULL, *func_hash = NULL, *loc_hash = NULL;
	struct id_entry *map_ent = NULL, *func_ent = NULL, *loc_ent = NULL;
	enum frame_kind *map_kind = NULL;
	uint32_t *strmap = NULL, *loc_frames = NULL, *frames = NULL;
	size_t *loc_first = NULL;
	size_t i, j, k, nr_lines = 0;
	int64_t values[PROFILE_MAX_TYPES];
	int err = -EINVAL;

	if (pb->n_string_table < 1 || pb->string_table[0][0] != '\0' ||
	    pb->n_sample_type > PROFILE_MAX_TYPES)
		return -EINVAL;
	if (!str_ok(pb, pb->drop_frames) || !str_ok(pb, pb->keep_frames) ||
	    !str_ok(pb, pb->default_sample_type))
		return -EINVAL;

	strmap = calloc(pb->n_string_table, sizeof(*strmap));
	map_ent = calloc(pb->n_mapping + 1, sizeof(*map_ent));
	map_kind = calloc(pb->n_mapping + 1, sizeof(*map_kind));
	func_ent = calloc(pb->n_function + 1, sizeof(*func_ent));
	loc_ent = calloc(pb->n_location + 1, sizeof(*loc_ent));
	loc_first = calloc(pb->n_location + 1, sizeof(*loc_first));
	frames = calloc(PPROF_MAX_DEPTH, sizeof(*frames));
	if (!strmap || !map_ent || !map_kind || !func_ent || !loc_ent ||
	    !loc_first || !frames) {
		err = -ENOMEM;
		goto cleanup;
	}

	for (i = 0; i < pb->n_string_table; i++) {
		strmap[i] = profile__intern(p, pb->string_table[i]);
		if (strmap[i] == (uint32_t)-1) {
			err = -ENOMEM;
			goto cleanup;
		}
	}

	for (i = 0; i < pb->n_sample_type; i++) {
		const PbValueType *v = pb->sample_type[i];

		if (!str_ok(pb, v->type) || !str_ok(pb, v->unit))
			goto cleanup;
		p->types[i].type = strmap[v->type];
		p->types[i].unit = strmap[v->unit];
	}
	p->nr_types = pb->n_sample_type;
	if (pb->period_type) {
		if (!str_ok(pb, pb->period_type->type) ||
		    !str_ok(pb, pb->period_type->unit))
			goto cleanup;
		p->period_type.type = strmap[pb->period_type->type];
		p->period_type.unit = strmap[pb->period_type->unit];
	}
	p->period = pb->period;
	p->time_nanos = pb->time_nanos;
	p->duration_nanos = pb->duration_nanos;

	if (index_ids(&map_hash, map_ent, pb->n_mapping, mapping_id, pb) ||
	    index_ids(&func_hash, func_ent, pb->n_function, function_id, pb) ||
	    index_ids(&loc_hash, loc_ent, pb->n_location, location_id, pb))
		goto cleanup;

	for (i = 0; i < pb->n_mapping; i++) {
		const PbMapping *m = pb->mapping[i];
		const char *name;

		if (!str_ok(pb, m->filename) || !str_ok(pb, m->build_id))
			goto cleanup;
		name = pb->string_table[m->filename];
		map_kind[i] = !strcmp(name, PPROF_MAP_PYTHON)	? FRAME_PYTHON
			      : !strcmp(name, PPROF_MAP_KERNEL) ? FRAME_KERNEL
			      : !strcmp(name, PPROF_MAP_MARKER) ? FRAME_MARKER
								: FRAME_NATIVE;
	}
	for (i = 0; i < pb->n_function; i++) {
		const PbFunction *fn = pb->function[i];

		if (!str_ok(pb, fn->name) || !str_ok(pb, fn->system_name) ||
		    !str_ok(pb, fn->filename))
			goto cleanup;
	}

	for (i = 0; i < pb->n_location; i++) {
		nr_lines +=
			pb->location[i]->n_line ? pb->location[i]->n_line : 1;
		if (nr_lines > UINT32_MAX)
			goto cleanup;
	}
	loc_frames = calloc(nr_lines + 1, sizeof(*loc_frames));
	if (!loc_frames) {
		err = -ENOMEM;
		goto cleanup;
	}

	for (i = 0, k = 0; i < pb->n_location; i++) {
		const PbLocation *loc = pb->location[i];
		const PbMapping *m = NULL;
		enum frame_kind kind = FRAME_NATIVE;
		int64_t mi = -1;

		if (loc->mapping_id) {
			mi = lookup_id(map_hash, loc->mapping_id);
			if (mi < 0)
				goto cleanup;
			m = pb->mapping[mi];
			kind = map_kind[mi];
		}
		loc_first[i] = k;
		for (j = 0; j < (loc->n_line ? loc->n_line : 1); j++) {
			struct profile_frame f = {.kind = kind};
			const PbFunction *fn = NULL;
			int64_t idx;

			if (loc->n_line) {
				const PbLine *l = loc->line[j];

				if (l->function_id) {
					idx = lookup_id(func_hash,
							l->function_id);
					if (idx < 0)
						goto cleanup;
					fn = pb->function[idx];
				}
				f.line = l->line;
			}
			if (fn) {
				f.name = strmap[fn->name];
				f.file = strmap[fn->filename];
				f.start_line = fn->start_line;
			} else if (loc->address) {
				char addr[32];

				snprintf(addr, sizeof(addr), "0x%" PRIx64,
					 loc->address);
				f.name = profile__intern(p, addr);
				if (f.name == (uint32_t)-1) {
					err = -ENOMEM;
					goto cleanup;
				}
			}
			if (kind == FRAME_NATIVE)
				f.file = m ? strmap[m->filename] : f.file;
			idx = profile__add_frame(p, &f);
			if (idx < 0) {
				err = idx;
				goto cleanup;
			}
			loc_frames[k++] = idx;
		}
	}

	for (i = 0; i < pb->n_sample; i++) {
		const PbSample *s = pb->sample[i];
		const char *thread_name = NULL, *comm = NULL;
		const PbLabel *extra[MAX_EXTRA_LABELS];
		size_t nr_extra = 0;
		int64_t pid = 0, tid = 0;
		size_t depth = 0;

		if (s->n_value != pb->n_sample_type)
			goto cleanup;
		for (j = 0; j < s->n_location_id; j++) {
			int64_t li = lookup_id(loc_hash, s->location_id[j]);
			size_t end;

			if (li < 0)
				goto cleanup;
			end = (size_t)li + 1 < pb->n_location
				      ? loc_first[li + 1]
				      : k;
			for (size_t x = loc_first[li]; x < end; x++) {
				if (depth >= PPROF_MAX_DEPTH)
					goto cleanup;
				frames[depth++] = loc_frames[x];
			}
		}
		for (j = 0; j < s->n_label; j++) {
			const PbLabel *l = s->label[j];
			const char *key;

			if (!str_ok(pb, l->key) || !str_ok(pb, l->str) ||
			    !str_ok(pb, l->num_unit))
				goto cleanup;
			key = pb->string_table[l->key];
			if (!strcmp(key, "pid"))
				pid = l->num;
			else if (!strcmp(key, "tid"))
				tid = l->num;
			else if (!strcmp(key, "thread_name"))
				thread_name = pb->string_table[l->str];
			else if (!strcmp(key, "comm"))
				comm = pb->string_table[l->str];
			else if (l->str && nr_extra < MAX_EXTRA_LABELS)
				extra[nr_extra++] = l;
		}
		memset(values, 0, sizeof(values));
		if (s->n_value)
			memcpy(values, s->value, s->n_value * sizeof(*values));
		err = profile__add_sample(p, frames, depth, values, pid, tid,
					  thread_name, comm);
		/* Other string labels are per process (cgroup, ...). */
		for (j = 0; !err && j < nr_extra; j++)
			err = profile__set_process_label(
				p, pid, pb->string_table[extra[j]->key],
				pb->string_table[extra[j]->str]);
		if (err)
			goto cleanup;
		err = -EINVAL;
	}

	for (i = 0; i < pb->n_comment; i++) {
		if (!str_ok(pb, pb->comment[i]))
			goto cleanup;
		err = read_comment(p, pb->string_table[pb->comment[i]]);
		if (err)
			goto cleanup;
		err = -EINVAL;
	}
	err = 0;

cleanup:
	HASH_CLEAR(hh, map_hash);
	HASH_CLEAR(hh, func_hash);
	HASH_CLEAR(hh, loc_hash);
	free(strmap);
	free(map_ent);
	free(map_kind);
	free(func_ent);
	free(loc_ent);
	free(loc_first);
	free(loc_frames);
	free(frames);
	return err;
}

int pprof__read(const char *path, struct profile **out)
{
	PbProfile *pb = NULL;
	struct profile *p = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int err;

	err = read_all(path, &buf, &len);
	if (err)
		return err;
	pb = perftools__profiles__profile__unpack(NULL, len, buf);
	if (!pb) {
		err = -EINVAL;
		goto cleanup;
	}
	p = profile__new();
	if (!p) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = convert(pb, p);
	if (err)
		goto cleanup;
	*out = p;
	p = NULL;

cleanup:
	profile__free(p);
	if (pb)
		perftools__profiles__profile__free_unpacked(pb, NULL);
	free(buf);
	return err;
}
