// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for the pprof writer and reader (user/output/pprof.c): exact round
 * trips, foreign profiles, and corrupt input of every kind.
 *
 * With PYSTROBE_PPROF_SAMPLE=FILE set, the round-trip fixture is also written
 * to FILE, for tests/pprof_check.sh to feed to `go tool pprof`.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "profile_fixture.h"

#include "output/folded.h"
#include "output/pprof.h"
#include "pprof_file.h"
#include "profile.pb-c.h"
#include "output/table.h"

#define DEEP 200

static char tmp_dir[] = "/tmp/test_pprof.XXXXXX";
static char tmp_path[sizeof(tmp_dir) + 32];

static void add(struct profile *p, const uint32_t *frames, uint32_t depth,
		int64_t samples, int64_t cpu, int64_t pid, int64_t tid,
		const char *thread, const char *comm)
{
	int64_t v[] = {samples, cpu};

	assert_int_equal(profile__add_sample(p, frames, depth, v, pid, tid,
					     thread, comm),
			 0);
}

/* Every frame kind, labels set and unset, unicode, a 200-frame stack. */
static struct profile *fixture(void)
{
	struct profile *p = profile__new();
	uint32_t main_, work, uni, native, anon, kern, trunc, rec;
	uint32_t deep[DEEP];
	int i;

	assert_non_null(p);
	profile__add_type(p, "samples", "count");
	profile__add_type(p, "cpu", "nanoseconds");
	p->period_type.type = profile__intern(p, "cpu");
	p->period_type.unit = profile__intern(p, "nanoseconds");
	p->period = 10000000;
	p->time_nanos = 1700000000123456789;
	p->duration_nanos = 5000000000;
	main_ = frame(p, FRAME_PYTHON, "main", "/app/main.py", 10, 1);
	work = frame(p, FRAME_PYTHON, "Worker.run", "/app/main.py", 20, 15);
	uni = frame(p, FRAME_PYTHON, "naïve_函数", "/app/ünï.py", 3, 1);
	native = frame(p, FRAME_NATIVE, "PyObject_Call",
		       "/usr/lib/libpython3.12.so.1.0", 0, 0);
	anon = frame(p, FRAME_NATIVE, "0x7f0012345678", NULL, 0, 0);
	kern = frame(p, FRAME_KERNEL, "do_syscall_64", NULL, 0, 0);
	trunc = frame(p, FRAME_MARKER, "[truncated]", NULL, 0, 0);
	rec = frame(p, FRAME_PYTHON, "rec", "/app/deep.py", 5, 4);

	add(p, (uint32_t[]){work, main_}, 2, 3, 300, 100, 100, "MainThread",
	    "python3");
	add(p, (uint32_t[]){work, main_}, 2, 2, 200, 100, 101, "worker",
	    "python3");
	add(p, (uint32_t[]){kern, native, uni, main_}, 4, 1, 100, 100, 101,
	    "worker", "python3");
	add(p, (uint32_t[]){anon, trunc}, 2, 4, 0, 200, 200, NULL, "app");
	add(p, NULL, 0, 1, 10, 300, 300, "idle", NULL);
	for (i = 0; i < DEEP; i++)
		deep[i] = rec;
	add(p, deep, DEEP, 7, 700, 200, 201, "deep", "app");
	profile__set_counter(p, "sample_map_full", 0);
	profile__set_counter(p, "read_failed", 3);
	profile__set_counter(p, "truncated", -1);
	return p;
}

/* mode 0: folded, 1: folded per thread, 2: table. */
static char *render(const struct profile *p, int mode, int value_index)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (mode == 2)
		assert_int_equal(table__write(p, f, value_index, 0), 0);
	else
		assert_int_equal(folded__write(p, f, value_index, mode), 0);
	fclose(f);
	return buf;
}

#define S(p, i) profile__str(p, i)

/* a and b render identically and agree sample by sample, frame by frame. */
static void assert_same(const struct profile *a, const struct profile *b)
{
	size_t i, j;
	int t, mode;

	assert_int_equal(a->nr_types, b->nr_types);
	for (t = 0; t < a->nr_types; t++) {
		char *x, *y;

		assert_string_equal(S(a, a->types[t].type),
				    S(b, b->types[t].type));
		assert_string_equal(S(a, a->types[t].unit),
				    S(b, b->types[t].unit));
		for (mode = 0; mode < 3; mode++) {
			x = render(a, mode, t);
			y = render(b, mode, t);
			assert_string_equal(x, y);
			free(x);
			free(y);
		}
	}
	assert_string_equal(S(a, a->period_type.type),
			    S(b, b->period_type.type));
	assert_string_equal(S(a, a->period_type.unit),
			    S(b, b->period_type.unit));
	assert_int_equal(a->period, b->period);
	assert_int_equal(a->time_nanos, b->time_nanos);
	assert_int_equal(a->duration_nanos, b->duration_nanos);

	assert_int_equal(a->nr_counters, b->nr_counters);
	for (i = 0; i < a->nr_counters; i++) {
		assert_string_equal(S(a, a->counters[i].name),
				    S(b, b->counters[i].name));
		assert_int_equal(a->counters[i].value, b->counters[i].value);
	}

	assert_int_equal(a->nr_samples, b->nr_samples);
	for (i = 0; i < a->nr_samples; i++) {
		const struct profile_sample *x = &a->samples[i];
		const struct profile_sample *y = &b->samples[i];

		assert_int_equal(x->pid, y->pid);
		assert_int_equal(x->tid, y->tid);
		assert_string_equal(S(a, x->thread_name), S(b, y->thread_name));
		assert_string_equal(S(a, x->comm), S(b, y->comm));
		assert_memory_equal(x->values, y->values, sizeof(x->values));
		assert_int_equal(x->depth, y->depth);
		for (j = 0; j < x->depth; j++) {
			const struct profile_frame *f =
				&a->frames[x->frames[j]];
			const struct profile_frame *g =
				&b->frames[y->frames[j]];

			assert_int_equal(f->kind, g->kind);
			assert_string_equal(S(a, f->name), S(b, g->name));
			assert_string_equal(S(a, f->file), S(b, g->file));
			assert_int_equal(f->line, g->line);
			assert_int_equal(f->start_line, g->start_line);
		}
	}
}

static void test_round_trip(void **state)
{
	struct profile *p = fixture(), *q = NULL, *r = NULL;

	assert_int_equal(write_pprof_file(p, tmp_path), 0);
	assert_int_equal(pprof__read(tmp_path, &q), 0);
	assert_same(p, q);
	assert_int_equal(q->nr_frames, p->nr_frames);
	/* A second generation is stable too. */
	assert_int_equal(write_pprof_file(q, tmp_path), 0);
	assert_int_equal(pprof__read(tmp_path, &r), 0);
	assert_same(p, r);
	profile__free(p);
	profile__free(q);
	profile__free(r);
}

static void test_round_trip_empty(void **state)
{
	struct profile *p = profile__new(), *q = NULL;

	assert_int_equal(write_pprof_file(p, tmp_path), 0);
	assert_int_equal(pprof__read(tmp_path, &q), 0);
	assert_int_equal(q->nr_types, 0);
	assert_int_equal(q->nr_samples, 0);
	profile__free(p);
	profile__free(q);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void write_gz(const char *path, const void *buf, size_t len)
{
	gzFile gz = gzopen(path, "wb");

	assert_non_null(gz);
	assert_int_equal(gzwrite(gz, buf, len), (int)len);
	assert_int_equal(gzclose(gz), Z_OK);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(1 << 20);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 20, f);
	assert_true(*len < 1 << 20);
	fclose(f);
	return buf;
}

/* p as pprof__write serializes it, but not compressed. */
static uint8_t *pack_plain(const struct profile *p, size_t *len)
{
	z_stream zs = {0};
	uint8_t *gz, *raw = malloc(1 << 22);
	size_t gz_len;

	assert_non_null(raw);
	assert_int_equal(write_pprof_file(p, tmp_path), 0);
	gz = read_file(tmp_path, &gz_len);
	assert_int_equal(gz[0], 0x1f); /* gzip magic */
	assert_int_equal(gz[1], 0x8b);
	assert_int_equal(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
	zs.next_in = gz;
	zs.avail_in = gz_len;
	zs.next_out = raw;
	zs.avail_out = 1 << 22;
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	*len = zs.total_out;
	inflateEnd(&zs);
	free(gz);
	return raw;
}

/* The conventions consumers rely on (see pprof.h). */
static void test_written_layout(void **state)
{
	static const char *const keys[] = {"pid", "tid", "thread_name", "comm"};
	struct profile *p = fixture();
	Perftools__Profiles__Profile *pb;
	size_t len, i, j;
	uint8_t *raw = pack_plain(p, &len);

	pb = perftools__profiles__profile__unpack(NULL, len, raw);
	assert_non_null(pb);
	assert_string_equal(pb->string_table[0], "");
	for (i = 0; i < pb->n_mapping; i++)
		assert_int_equal(pb->mapping[i]->id, i + 1);
	for (i = 0; i < pb->n_function; i++)
		assert_int_equal(pb->function[i]->id, i + 1);
	assert_int_equal(pb->n_location, p->nr_frames);
	for (i = 0; i < pb->n_location; i++) {
		assert_int_equal(pb->location[i]->id, i + 1);
		assert_int_equal(pb->location[i]->n_line, 1);
	}
	assert_int_equal(pb->n_sample, p->nr_samples);
	for (i = 0; i < pb->n_sample; i++) {
		const Perftools__Profiles__Sample *s = pb->sample[i];

		assert_int_equal(s->n_value, 2);
		assert_int_equal(s->n_location_id, p->samples[i].depth);
		if (s->n_location_id) /* leaf first */
			assert_int_equal(s->location_id[0],
					 p->samples[i].frames[0] + 1);
		assert_int_equal(s->n_label, 4);
		for (j = 0; j < 4; j++)
			assert_string_equal(pb->string_table[s->label[j]->key],
					    keys[j]);
	}
	assert_int_equal(pb->n_comment, 3);
	assert_string_equal(pb->string_table[pb->comment[1]], "read_failed=3");
	perftools__profiles__profile__free_unpacked(pb, NULL);
	free(raw);
	profile__free(p);
}

/* pprof__read must fail with a negative errno, leaving *out untouched. */
static void assert_rejects(const char *path)
{
	struct profile *sentinel = (struct profile *)&tmp_path, *q = sentinel;
	int err = pprof__read(path, &q);

	assert_true(err < 0);
	assert_ptr_equal(q, sentinel);
}

static void test_reads_plain(void **state)
{
	struct profile *p = fixture(), *q = NULL;
	size_t len;
	uint8_t *raw = pack_plain(p, &len);

	write_file(tmp_path, raw, len);
	assert_int_equal(pprof__read(tmp_path, &q), 0);
	assert_same(p, q);
	free(raw);
	profile__free(p);
	profile__free(q);
}

static void test_unreadable(void **state)
{
	char path[sizeof(tmp_path) + 16];
	struct profile *q = NULL;

	snprintf(path, sizeof(path), "%s/missing", tmp_dir);
	assert_int_equal(pprof__read(path, &q), -ENOENT);
	assert_int_equal(pprof__read(tmp_dir, &q), -EISDIR);
	write_file(tmp_path, NULL, 0);
	assert_rejects(tmp_path);
}

static void test_write_error(void **state)
{
	struct profile *p = fixture();
	char path[sizeof(tmp_path) + 16];

	snprintf(path, sizeof(path), "%s/no/such/dir", tmp_dir);
	assert_int_equal(write_pprof_file(p, path), -ENOENT);
	profile__free(p);
}

static void test_truncated_gzip(void **state)
{
	struct profile *p = fixture();
	uint8_t *gz;
	size_t len, cut;

	assert_int_equal(write_pprof_file(p, tmp_path), 0);
	gz = read_file(tmp_path, &len);
	/* Every proper prefix, trailer included, is an error. */
	for (cut = 0; cut < len; cut++) {
		write_file(tmp_path, gz, cut);
		assert_rejects(tmp_path);
	}
	/* So is a corrupt CRC. */
	gz[len - 6] ^= 0x55;
	write_file(tmp_path, gz, len);
	assert_rejects(tmp_path);
	free(gz);
	profile__free(p);
}

static void test_random_bytes(void **state)
{
	uint8_t buf[4096];
	unsigned seed;
	size_t i, len;

	for (seed = 1; seed <= 200; seed++) {
		srand(seed);
		len = seed == 1 ? sizeof(buf) : (size_t)rand() % sizeof(buf);
		for (i = 0; i < len; i++)
			buf[i] = rand();
		write_file(tmp_path, buf, len);
		assert_rejects(tmp_path);
		write_gz(tmp_path, buf, len); /* valid gzip of garbage */
		assert_rejects(tmp_path);
	}
	write_gz(tmp_path, "hello, world\n", 13);
	assert_rejects(tmp_path);
}

/*
 * Flips bits at every offset of a valid serialized profile and truncates it
 * at every length: whatever the reader says, it must not crash or leak
 * (run under ASan/UBSan).
 */
static void test_mutations(void **state)
{
	static const uint8_t flips[] = {0x01, 0x08, 0x40, 0x80, 0xff};
	struct profile *p = fixture(), *q;
	size_t len, i, f, accepted = 0;
	uint8_t *raw = pack_plain(p, &len);

	for (i = 0; i < len; i++) {
		for (f = 0; f < sizeof(flips); f++) {
			raw[i] ^= flips[f];
			write_file(tmp_path, raw, len);
			raw[i] ^= flips[f];
			q = NULL;
			if (!pprof__read(tmp_path, &q)) {
				accepted++;
				/* What is accepted renders without error. */
				free(render(q, 1, 0));
				free(render(q, 2, 0));
				profile__free(q);
			}
		}
	}
	for (i = 0; i < len; i++) {
		write_file(tmp_path, raw, i);
		q = NULL;
		if (!pprof__read(tmp_path, &q))
			profile__free(q);
	}
	print_message("mutations: %zu of %zu accepted\n", accepted,
		      len * sizeof(flips));
	free(raw);
	profile__free(p);
}

/* ---- hand-built protobufs ---- */

typedef Perftools__Profiles__Profile PbProfile;
typedef Perftools__Profiles__ValueType PbValueType;
typedef Perftools__Profiles__Sample PbSample;
typedef Perftools__Profiles__Label PbLabel;
typedef Perftools__Profiles__Mapping PbMapping;
typedef Perftools__Profiles__Location PbLocation;
typedef Perftools__Profiles__Line PbLine;
typedef Perftools__Profiles__Function PbFunction;

#define MINI_TYPES (PROFILE_MAX_TYPES + 1)

/* A minimal valid profile: one Python frame f (/f.py:3), value 5, pid 7. */
struct mini {
	PbProfile pb;
	char *strings[8];
	PbValueType vt, period, *vtp[MINI_TYPES];
	PbMapping map, *mapp[1];
	PbFunction fn, *fnp[1];
	PbLine line, *linep[1];
	PbLocation loc, *locp[2];
	PbSample sample, *samplep[1];
	PbLabel label, *labelp[1];
	uint64_t loc_ids[1];
	int64_t values[MINI_TYPES];
	int64_t comments[1];
};

static void mini_init(struct mini *m)
{
	static const char *const strings[] = {
		"", "samples", "count", "f", "[python]", "pid", "/f.py", "x=5",
	};
	int i;

	memset(m, 0, sizeof(*m));
	perftools__profiles__profile__init(&m->pb);
	memcpy(m->strings, strings, sizeof(strings));
	m->pb.n_string_table = 8;
	m->pb.string_table = m->strings;
	perftools__profiles__value_type__init(&m->vt);
	m->vt.type = 1;
	m->vt.unit = 2;
	for (i = 0; i < MINI_TYPES; i++)
		m->vtp[i] = &m->vt;
	m->pb.n_sample_type = 1;
	m->pb.sample_type = m->vtp;
	perftools__profiles__value_type__init(&m->period);
	m->period.type = 1;
	m->period.unit = 2;
	m->pb.period_type = &m->period;
	perftools__profiles__mapping__init(&m->map);
	m->map.id = 1;
	m->map.filename = 4;
	m->mapp[0] = &m->map;
	m->pb.n_mapping = 1;
	m->pb.mapping = m->mapp;
	perftools__profiles__function__init(&m->fn);
	m->fn.id = 1;
	m->fn.name = 3;
	m->fn.filename = 6;
	m->fnp[0] = &m->fn;
	m->pb.n_function = 1;
	m->pb.function = m->fnp;
	perftools__profiles__line__init(&m->line);
	m->line.function_id = 1;
	m->line.line = 3;
	m->linep[0] = &m->line;
	perftools__profiles__location__init(&m->loc);
	m->loc.id = 1;
	m->loc.mapping_id = 1;
	m->loc.n_line = 1;
	m->loc.line = m->linep;
	m->locp[0] = m->locp[1] = &m->loc;
	m->pb.n_location = 1;
	m->pb.location = m->locp;
	perftools__profiles__label__init(&m->label);
	m->label.key = 5;
	m->label.num = 7;
	m->labelp[0] = &m->label;
	perftools__profiles__sample__init(&m->sample);
	m->loc_ids[0] = 1;
	m->sample.n_location_id = 1;
	m->sample.location_id = m->loc_ids;
	m->values[0] = 5;
	m->sample.n_value = 1;
	m->sample.value = m->values;
	m->sample.n_label = 1;
	m->sample.label = m->labelp;
	m->samplep[0] = &m->sample;
	m->pb.n_sample = 1;
	m->pb.sample = m->samplep;
	m->comments[0] = 7;
	m->pb.n_comment = 1;
	m->pb.comment = m->comments;
}

static void write_pb(const PbProfile *pb, bool gzip)
{
	size_t len = perftools__profiles__profile__get_packed_size(pb);
	uint8_t *buf = malloc(len + 1);

	assert_non_null(buf);
	perftools__profiles__profile__pack(pb, buf);
	if (gzip)
		write_gz(tmp_path, buf, len);
	else
		write_file(tmp_path, buf, len);
	free(buf);
}

static void test_mini_valid(void **state)
{
	struct profile *q = NULL;
	struct mini m;
	char *out;

	mini_init(&m);
	write_pb(&m.pb, true);
	assert_int_equal(pprof__read(tmp_path, &q), 0);
	out = render(q, 0, 0);
	assert_string_equal(out, "f (/f.py:3) 5\n");
	free(out);
	assert_int_equal(q->samples[0].pid, 7);
	assert_int_equal(profile__counter(q, "x", 0), 5);
	profile__free(q);
}

/* Each case breaks one reference or bound of the minimal profile. */
static void test_bad_references(void **state)
{
	struct profile *sentinel = (struct profile *)&tmp_path, *q;
	struct mini m;
	int c;

	for (c = 0;; c++) {
		mini_init(&m);
		switch (c) {
		case 0:
			m.vt.type = 8;
			break;
		case 1:
			m.vt.unit = -1;
			break;
		case 2:
			m.fn.name = 100;
			break;
		case 3:
			m.fn.filename = 8;
			break;
		case 4:
			m.fn.system_name = INT64_MAX;
			break;
		case 5:
			m.map.filename = 9;
			break;
		case 6:
			m.map.build_id = -5;
			break;
		case 7:
			m.label.key = 50;
			break;
		case 8:
			m.label.str = 50;
			break;
		case 9:
			m.label.num_unit = 8;
			break;
		case 10:
			m.comments[0] = 8;
			break;
		case 11:
			m.loc_ids[0] = 2;
			break;
		case 12:
			m.loc_ids[0] = 0;
			break;
		case 13:
			m.line.function_id = 5;
			break;
		case 14:
			m.loc.mapping_id = 3;
			break;
		case 15:
			m.map.id = 0;
			m.loc.mapping_id = 0;
			break;
		case 16:
			m.fn.id = 0;
			break;
		case 17:
			m.loc.id = 0;
			break;
		case 18:
			m.pb.n_location = 2;
			break; /* duplicate id */
		case 19:
			m.strings[0] = "x";
			break;
		case 20:
			m.pb.n_string_table = 0;
			break;
		case 21:
			m.sample.n_value = 0;
			break;
		case 22:
			m.pb.n_sample_type = 2;
			break; /* 1 value, 2 types */
		case 23:
			m.pb.n_sample_type = MINI_TYPES;
			m.sample.n_value = MINI_TYPES;
			break;
		case 24:
			m.period.unit = 8;
			break;
		case 25:
			m.pb.drop_frames = 99;
			break;
		case 26:
			m.pb.keep_frames = -1;
			break;
		case 27:
			m.pb.default_sample_type = 8;
			break;
		default:
			return;
		}
		write_pb(&m.pb, c % 2);
		q = sentinel;
		if (pprof__read(tmp_path, &q) >= 0 || q != sentinel)
			fail_msg("case %d accepted", c);
	}
}

/* A stack whose inlined lines expand past PPROF_MAX_DEPTH is refused. */
static void test_depth_bound(void **state)
{
	size_t n = PPROF_MAX_DEPTH / 2 + 1, i;
	uint64_t *ids = calloc(n, sizeof(*ids));
	PbLine *two[2];
	struct profile *q = NULL;
	struct mini m;

	mini_init(&m);
	two[0] = two[1] = &m.line;
	m.loc.n_line = 2;
	m.loc.line = two;
	for (i = 0; i < n; i++)
		ids[i] = 1;
	m.sample.n_location_id = n;
	m.sample.location_id = ids;
	write_pb(&m.pb, true);
	assert_rejects(tmp_path);
	m.sample.n_location_id = n - 1; /* exactly PPROF_MAX_DEPTH */
	write_pb(&m.pb, true);
	assert_int_equal(pprof__read(tmp_path, &q), 0);
	assert_int_equal(q->samples[0].depth, PPROF_MAX_DEPTH);
	profile__free(q);
	free(ids);
}

/*
 * Another producer's profile: arbitrary ids, an inlined call (line[0] is the
 * inner function), an address-only location, an unknown label.
 */
static void test_foreign(void **state)
{
	char *strings[] = {"",	     "cpu",   "nanoseconds", "/usr/bin/app",
			   "outer",  "inner", "span",	     "s1",
			   "comment"};
	PbValueType vt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT, *vtp[] = {&vt};
	PbMapping map = PERFTOOLS__PROFILES__MAPPING__INIT, *mapp[] = {&map};
	PbFunction outer = PERFTOOLS__PROFILES__FUNCTION__INIT;
	PbFunction inner = PERFTOOLS__PROFILES__FUNCTION__INIT;
	PbFunction *fnp[] = {&outer, &inner};
	PbLine l_inner = PERFTOOLS__PROFILES__LINE__INIT;
	PbLine l_outer = PERFTOOLS__PROFILES__LINE__INIT;
	PbLine *lines[] = {&l_inner, &l_outer};
	PbLocation inl = PERFTOOLS__PROFILES__LOCATION__INIT;
	PbLocation addr = PERFTOOLS__PROFILES__LOCATION__INIT;
	PbLocation *locp[] = {&addr, &inl};
	PbLabel span = PERFTOOLS__PROFILES__LABEL__INIT, *labelp[] = {&span};
	PbSample s = PERFTOOLS__PROFILES__SAMPLE__INIT, *samplep[] = {&s};
	PbProfile pb = PERFTOOLS__PROFILES__PROFILE__INIT;
	uint64_t ids[] = {20, 10};
	int64_t value = 5000, comment = 8; /* 5 µs in folded */
	struct profile *q = NULL;
	char *out;

	vt.type = 1;
	vt.unit = 2;
	map.id = 5;
	map.filename = 3;
	outer.id = 100;
	outer.name = 4;
	inner.id = 200;
	inner.name = 5;
	l_inner.function_id = 200;
	l_outer.function_id = 100;
	inl.id = 10;
	inl.mapping_id = 5;
	inl.n_line = 2;
	inl.line = lines;
	addr.id = 20;
	addr.address = 0x1234;
	span.key = 6;
	span.str = 7;
	s.n_location_id = 2;
	s.location_id = ids;
	s.n_value = 1;
	s.value = &value;
	s.n_label = 1;
	s.label = labelp;
	pb.n_sample_type = 1;
	pb.sample_type = vtp;
	pb.n_mapping = 1;
	pb.mapping = mapp;
	pb.n_function = 2;
	pb.function = fnp;
	pb.n_location = 2;
	pb.location = locp;
	pb.n_sample = 1;
	pb.sample = samplep;
	pb.n_string_table = 9;
	pb.string_table = strings;
	pb.n_comment = 1;
	pb.comment = &comment;
	write_pb(&pb, true);
	assert_int_equal(pprof__read(tmp_path, &q), 0);
	out = render(q, 0, 0);
	assert_string_equal(out, "outer;inner;0x1234 5\n");
	free(out);
	assert_int_equal(q->frames[q->samples[0].frames[1]].kind, FRAME_NATIVE);
	assert_string_equal(
		profile__str(q, q->frames[q->samples[0].frames[1]].file),
		"/usr/bin/app");
	assert_int_equal(q->nr_counters, 0);
	profile__free(q);
}

static int setup(void **state)
{
	if (!mkdtemp(tmp_dir))
		return -1;
	snprintf(tmp_path, sizeof(tmp_path), "%s/p.pb.gz", tmp_dir);
	return 0;
}

static int teardown(void **state)
{
	unlink(tmp_path);
	return rmdir(tmp_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_empty),
		cmocka_unit_test(test_written_layout),
		cmocka_unit_test(test_reads_plain),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_truncated_gzip),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_mini_valid),
		cmocka_unit_test(test_bad_references),
		cmocka_unit_test(test_depth_bound),
		cmocka_unit_test(test_foreign),
	};
	const char *sample = getenv("PYSTROBE_PPROF_SAMPLE");

	if (sample) {
		struct profile *p = fixture();
		int err = write_pprof_file(p, sample);

		profile__free(p);
		if (err) {
			fprintf(stderr, "%s: %s\n", sample, strerror(-err));
			return 1;
		}
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
