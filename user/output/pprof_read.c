// SPDX-License-Identifier: BSD-2-Clause
/*
 * The pprof reader; the mapping rules are in pprof.h. It trusts nothing in
 * the file: every index and id is range-checked before use, and each step
 * below returns 0 or a negative errno set at the check that failed.
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

#define MAX_EXTRA_LABELS 8 /* per-process string labels read back */

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

/* Ids of one table (mappings, functions or locations) -> their index. */
struct id_index {
	struct id_entry *hash, *entries;
};

/* Index of id, or -1 if absent. */
static int64_t id_index__find(const struct id_index *x, uint64_t id)
{
	struct id_entry *e;

	HASH_FIND(hh, x->hash, &id, sizeof(id), e);
	return e ? (int64_t)e->idx : -1;
}

static void id_index__free(struct id_index *x)
{
	HASH_CLEAR(hh, x->hash);
	free(x->entries);
}

/* Adds the id of entry i; ids must be non-zero and unique. */
static int id_index__add(struct id_index *x, uint64_t id, size_t i)
{
	if (!id || id_index__find(x, id) >= 0)
		return -EINVAL;
	x->entries[i].id = id;
	x->entries[i].idx = i;
	HASH_ADD(hh, x->hash, id, sizeof(id), &x->entries[i]);
	return 0;
}

/* The state of one conversion from pprof to the profile model. */
struct reader {
	const PbProfile *pb;
	struct profile *p;
	uint32_t *strmap; /* pb string index -> p string index */
	struct id_index maps, funcs, locs;
	enum frame_kind *map_kind; /* per mapping */
	/* Location i expands to loc_frames[loc_first[i] .. loc_first[i+1]),
	 * one frame per Line; nr_loc_frames in all. */
	size_t *loc_first;
	uint32_t *loc_frames;
	size_t nr_loc_frames;
	uint32_t *frames; /* one sample's frames, PPROF_MAX_DEPTH */
};

static bool str_ok(const PbProfile *pb, int64_t i)
{
	return i >= 0 && (uint64_t)i < pb->n_string_table;
}

/* Every string, interned into p. */
static int read_strings(struct reader *r)
{
	const PbProfile *pb = r->pb;

	if (pb->n_string_table < 1 || pb->string_table[0][0] != '\0')
		return -EINVAL;
	if (!str_ok(pb, pb->drop_frames) || !str_ok(pb, pb->keep_frames) ||
	    !str_ok(pb, pb->default_sample_type))
		return -EINVAL;
	r->strmap = calloc(pb->n_string_table, sizeof(*r->strmap));
	if (!r->strmap)
		return -ENOMEM;
	for (size_t i = 0; i < pb->n_string_table; i++) {
		r->strmap[i] = profile__intern(r->p, pb->string_table[i]);
		if (r->strmap[i] == (uint32_t)-1)
			return -ENOMEM;
	}
	return 0;
}

/* Sample types, period and times. */
static int read_header(struct reader *r)
{
	const PbProfile *pb = r->pb;
	struct profile *p = r->p;

	if (pb->n_sample_type > PROFILE_MAX_TYPES)
		return -EINVAL;
	for (size_t i = 0; i < pb->n_sample_type; i++) {
		const PbValueType *v = pb->sample_type[i];

		if (!str_ok(pb, v->type) || !str_ok(pb, v->unit))
			return -EINVAL;
		p->types[i].type = r->strmap[v->type];
		p->types[i].unit = r->strmap[v->unit];
	}
	p->nr_types = pb->n_sample_type;
	if (pb->period_type) {
		if (!str_ok(pb, pb->period_type->type) ||
		    !str_ok(pb, pb->period_type->unit))
			return -EINVAL;
		p->period_type.type = r->strmap[pb->period_type->type];
		p->period_type.unit = r->strmap[pb->period_type->unit];
	}
	p->period = pb->period;
	p->time_nanos = pb->time_nanos;
	p->duration_nanos = pb->duration_nanos;
	return 0;
}

/* Mappings: their id index and the frame kind each stands for. */
static int read_mappings(struct reader *r)
{
	const PbProfile *pb = r->pb;
	int err;

	r->maps.entries = calloc(pb->n_mapping + 1, sizeof(*r->maps.entries));
	r->map_kind = calloc(pb->n_mapping + 1, sizeof(*r->map_kind));
	if (!r->maps.entries || !r->map_kind)
		return -ENOMEM;
	for (size_t i = 0; i < pb->n_mapping; i++) {
		const PbMapping *m = pb->mapping[i];
		const char *name;

		if (!str_ok(pb, m->filename) || !str_ok(pb, m->build_id))
			return -EINVAL;
		err = id_index__add(&r->maps, m->id, i);
		if (err)
			return err;
		name = pb->string_table[m->filename];
		r->map_kind[i] =
			!strcmp(name, PPROF_MAP_PYTHON)	  ? FRAME_PYTHON
			: !strcmp(name, PPROF_MAP_KERNEL) ? FRAME_KERNEL
			: !strcmp(name, PPROF_MAP_MARKER) ? FRAME_MARKER
							  : FRAME_NATIVE;
	}
	return 0;
}

/* Functions: their id index, after checking their strings. */
static int read_functions(struct reader *r)
{
	const PbProfile *pb = r->pb;
	int err;

	r->funcs.entries =
		calloc(pb->n_function + 1, sizeof(*r->funcs.entries));
	if (!r->funcs.entries)
		return -ENOMEM;
	for (size_t i = 0; i < pb->n_function; i++) {
		const PbFunction *fn = pb->function[i];

		if (!str_ok(pb, fn->name) || !str_ok(pb, fn->system_name) ||
		    !str_ok(pb, fn->filename))
			return -EINVAL;
		err = id_index__add(&r->funcs, fn->id, i);
		if (err)
			return err;
	}
	return 0;
}

/* The frame of line j of location loc (mapping m, kind), added to p. */
static int64_t location_frame(struct reader *r, const PbLocation *loc,
			      const PbMapping *m, enum frame_kind kind,
			      size_t j)
{
	struct profile_frame f = {.kind = kind};
	const PbFunction *fn = NULL;
	int64_t idx;

	if (loc->n_line) {
		const PbLine *l = loc->line[j];

		if (l->function_id) {
			idx = id_index__find(&r->funcs, l->function_id);
			if (idx < 0)
				return -EINVAL;
			fn = r->pb->function[idx];
		}
		f.line = l->line;
	}
	if (fn) {
		f.name = r->strmap[fn->name];
		f.file = r->strmap[fn->filename];
		f.start_line = fn->start_line;
	} else if (loc->address) {
		char addr[32];

		snprintf(addr, sizeof(addr), "0x%" PRIx64, loc->address);
		f.name = profile__intern(r->p, addr);
		if (f.name == (uint32_t)-1)
			return -ENOMEM;
	}
	if (kind == FRAME_NATIVE && m)
		f.file = r->strmap[m->filename];
	return profile__add_frame(r->p, &f);
}

/* Locations: one frame per Line (a location without lines is one frame). */
static int read_locations(struct reader *r)
{
	const PbProfile *pb = r->pb;
	size_t nr_lines = 0, k = 0;
	int err;

	for (size_t i = 0; i < pb->n_location; i++) {
		nr_lines +=
			pb->location[i]->n_line ? pb->location[i]->n_line : 1;
		if (nr_lines > UINT32_MAX)
			return -EINVAL;
	}
	r->locs.entries = calloc(pb->n_location + 1, sizeof(*r->locs.entries));
	r->loc_first = calloc(pb->n_location + 1, sizeof(*r->loc_first));
	r->loc_frames = calloc(nr_lines + 1, sizeof(*r->loc_frames));
	if (!r->locs.entries || !r->loc_first || !r->loc_frames)
		return -ENOMEM;
	for (size_t i = 0; i < pb->n_location; i++) {
		const PbLocation *loc = pb->location[i];
		enum frame_kind kind = FRAME_NATIVE;
		const PbMapping *m = NULL;

		err = id_index__add(&r->locs, loc->id, i);
		if (err)
			return err;
		if (loc->mapping_id) {
			int64_t mi = id_index__find(&r->maps, loc->mapping_id);

			if (mi < 0)
				return -EINVAL;
			m = pb->mapping[mi];
			kind = r->map_kind[mi];
		}
		r->loc_first[i] = k;
		for (size_t j = 0; j < (loc->n_line ? loc->n_line : 1); j++) {
			int64_t idx = location_frame(r, loc, m, kind, j);

			if (idx < 0)
				return idx;
			r->loc_frames[k++] = idx;
		}
	}
	r->loc_first[pb->n_location] = k;
	r->nr_loc_frames = k;
	return 0;
}

/* Expands sample s's location ids into r->frames; the depth, or -errno. */
static int64_t sample_frames(struct reader *r, const PbSample *s)
{
	size_t depth = 0;

	for (size_t j = 0; j < s->n_location_id; j++) {
		int64_t li = id_index__find(&r->locs, s->location_id[j]);

		if (li < 0)
			return -EINVAL;
		for (size_t x = r->loc_first[li]; x < r->loc_first[li + 1];
		     x++) {
			if (depth >= PPROF_MAX_DEPTH)
				return -EINVAL;
			r->frames[depth++] = r->loc_frames[x];
		}
	}
	return depth;
}

/* One sample with its labels: pid, tid, names, and per-process labels. */
static int read_sample(struct reader *r, const PbSample *s)
{
	const PbProfile *pb = r->pb;
	const char *thread_name = NULL, *comm = NULL;
	const PbLabel *extra[MAX_EXTRA_LABELS];
	int64_t values[PROFILE_MAX_TYPES] = {}, pid = 0, tid = 0, depth;
	size_t nr_extra = 0;
	int err;

	if (s->n_value != pb->n_sample_type)
		return -EINVAL;
	depth = sample_frames(r, s);
	if (depth < 0)
		return depth;
	for (size_t j = 0; j < s->n_label; j++) {
		const PbLabel *l = s->label[j];
		const char *key;

		if (!str_ok(pb, l->key) || !str_ok(pb, l->str) ||
		    !str_ok(pb, l->num_unit))
			return -EINVAL;
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
	if (s->n_value)
		memcpy(values, s->value, s->n_value * sizeof(*values));
	err = profile__add_sample(r->p, r->frames, depth, values, pid, tid,
				  thread_name, comm);
	/* Other string labels are per process (cgroup, ...). */
	for (size_t j = 0; !err && j < nr_extra; j++)
		err = profile__set_process_label(
			r->p, pid, pb->string_table[extra[j]->key],
			pb->string_table[extra[j]->str]);
	return err;
}

static int read_samples(struct reader *r)
{
	int err;

	r->frames = calloc(PPROF_MAX_DEPTH, sizeof(*r->frames));
	if (!r->frames)
		return -ENOMEM;
	for (size_t i = 0; i < r->pb->n_sample; i++) {
		err = read_sample(r, r->pb->sample[i]);
		if (err)
			return err;
	}
	return 0;
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

static int read_comments(struct reader *r)
{
	int err;

	for (size_t i = 0; i < r->pb->n_comment; i++) {
		if (!str_ok(r->pb, r->pb->comment[i]))
			return -EINVAL;
		err = read_comment(r->p,
				   r->pb->string_table[r->pb->comment[i]]);
		if (err)
			return err;
	}
	return 0;
}

/* Converts an unpacked profile, validating it as it goes. */
static int convert(const PbProfile *pb, struct profile *p)
{
	struct reader r = {.pb = pb, .p = p};
	int err;

	err = read_strings(&r);
	if (!err)
		err = read_header(&r);
	if (!err)
		err = read_mappings(&r);
	if (!err)
		err = read_functions(&r);
	if (!err)
		err = read_locations(&r);
	if (!err)
		err = read_samples(&r);
	if (!err)
		err = read_comments(&r);
	id_index__free(&r.maps);
	id_index__free(&r.funcs);
	id_index__free(&r.locs);
	free(r.strmap);
	free(r.map_kind);
	free(r.loc_first);
	free(r.loc_frames);
	free(r.frames);
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
