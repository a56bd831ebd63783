// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for pprof__read(). The input is the file's content
 * (gzipped or plain profile.proto), handed over through a memfd as
 * /proc/self/fd/N. A profile that reads back is rendered by every text
 * writer, then must round-trip: pprof__read(pprof__write(p)) renders exactly
 * as p (the contract in pprof.h). Checked beyond memory safety: any render
 * or round-trip failure traps.
 *
 * Built with -DFUZZ_SEED_WRITER instead, it is a program that writes seed
 * profiles, gzipped and plain, into a folder.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "output/folded.h"
#include "output/pprof.h"
#include "pprof_file.h"
#include "output/table.h"

#ifndef FUZZ_SEED_WRITER

static int in_fd = -1, rt_fd = -1;
static char in_path[64], rt_path[64];

static int make_memfd(const char *name, char *path, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(path, size, "/proc/self/fd/%d", fd);
	return fd;
}

/* Every text rendering of p, concatenated; NULL if one of them failed. */
static char *render(const struct profile *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err = 0;

	if (!f)
		abort();
	for (int vi = 0; vi < p->nr_types && !err; vi++) {
		err = folded__write(p, f, vi, false);
		err = err ?: folded__write(p, f, vi, true);
		err = err ?: table__write(p, f, vi, 0);
	}
	/* An index out of range is refused, not read. */
	if (folded__write(p, f, p->nr_types, false) != -EINVAL ||
	    table__write(p, f, -1, 0) != -EINVAL)
		err = -1;
	if (fclose(f) || err) {
		free(buf);
		return NULL;
	}
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p = NULL, *q = NULL;
	char *a, *b;
	int err;

	if (in_fd < 0) {
		in_fd = make_memfd("fuzz_pprof_in", in_path, sizeof(in_path));
		rt_fd = make_memfd("fuzz_pprof_rt", rt_path, sizeof(rt_path));
	}
	if (ftruncate(in_fd, 0) ||
	    (size && pwrite(in_fd, data, size, 0) != (ssize_t)size))
		abort();

	if (pprof__read(in_path, &p))
		return 0;
	a = render(p);
	if (!a)
		__builtin_trap();

	err = write_pprof_file(p, rt_path);
	if (err == -ENOMEM)
		goto out;
	if (err || pprof__read(rt_path, &q))
		__builtin_trap();
	b = render(q);
	if (!b || strcmp(a, b)) {
		fprintf(stderr,
			"round trip renders differently:\n%s\n---\n%s\n", a,
			b ? b : "(render failed)");
		__builtin_trap();
	}
	free(b);
out:
	free(a);
	profile__free(q);
	profile__free(p);
	return 0;
}

#else /* FUZZ_SEED_WRITER */
#include <zlib.h>

static uint32_t frame(struct profile *p, enum frame_kind kind, const char *name,
		      const char *file, int64_t line, int64_t start_line)
{
	struct profile_frame f = {
		.kind = kind,
		.name = profile__intern(p, name),
		.file = profile__intern(p, file),
		.line = line,
		.start_line = start_line,
	};
	int64_t idx = profile__add_frame(p, &f);

	if (idx < 0)
		abort();
	return (uint32_t)idx;
}

static void add(struct profile *p, const uint32_t *frames, uint32_t depth,
		int64_t v0, int64_t v1, int64_t pid, int64_t tid,
		const char *thread, const char *comm)
{
	int64_t values[PROFILE_MAX_TYPES] = {v0, v1};

	if (profile__add_sample(p, frames, depth, values, pid, tid, thread,
				comm))
		abort();
}

/* Seed n: 0 empty, 1 one sample, 2 every frame kind, threads, counters. */
static struct profile *seed_profile(int n)
{
	struct profile *p = profile__new();
	uint32_t m, w, u, nat, anon, k, t, r, deep[40];

	if (!p || profile__add_type(p, "samples", "count") < 0)
		abort();
	if (n == 0)
		return p;
	if (profile__add_type(p, "cpu", "nanoseconds") < 0)
		abort();
	p->period_type.type = profile__intern(p, "cpu");
	p->period_type.unit = profile__intern(p, "nanoseconds");
	p->period = 10000000;
	p->time_nanos = 1700000000123456789;
	p->duration_nanos = 1000000000;
	m = frame(p, FRAME_PYTHON, "<module>", "/app/main.py", 10, 1);
	if (n == 1) {
		add(p, &m, 1, 1, 10000000, 42, 42, "MainThread", "python3");
		return p;
	}
	w = frame(p, FRAME_PYTHON, "Worker.run", "/app/main.py", 20, 15);
	u = frame(p, FRAME_PYTHON, "naïve_函数", "/app/ünï.py", 3, 1);
	nat = frame(p, FRAME_NATIVE, "PyObject_Call",
		    "/usr/lib/libpython3.12.so.1.0", 0, 0);
	anon = frame(p, FRAME_NATIVE, "0x7f0012345678", NULL, 0, 0);
	k = frame(p, FRAME_KERNEL, "do_syscall_64", NULL, 0, 0);
	t = frame(p, FRAME_MARKER, "[truncated]", NULL, 0, 0);
	r = frame(p, FRAME_PYTHON, "rec", "/app/deep.py", 5, 4);
	add(p, (uint32_t[]){w, m}, 2, 3, 300, 100, 100, "MainThread",
	    "python3");
	add(p, (uint32_t[]){w, m}, 2, 2, 200, 100, 101, "worker", "python3");
	add(p, (uint32_t[]){k, nat, u, m}, 4, 1, 100, 100, 101, "worker",
	    "python3");
	add(p, (uint32_t[]){anon, t}, 2, 4, 0, 200, 200, NULL, "app");
	add(p, NULL, 0, 1, 10, 300, 300, "idle", NULL);
	for (size_t i = 0; i < sizeof(deep) / sizeof(deep[0]); i++)
		deep[i] = r;
	add(p, deep, sizeof(deep) / sizeof(deep[0]), 7, 700, 200, 201, "deep",
	    "app");
	if (profile__set_counter(p, "read_failed", 3) ||
	    profile__set_counter(p, "truncated", -1))
		abort();
	return p;
}

/* Copies gzipped src to plain dst, so the fuzzer also mutates raw protobuf. */
static int gunzip(const char *src, const char *dst)
{
	gzFile in = gzopen(src, "rb");
	FILE *out = fopen(dst, "wb");
	char buf[65536];
	int n, err = 0;

	if (!in || !out)
		err = -1;
	while (!err && (n = gzread(in, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, n, out) != (size_t)n)
			err = -1;
	if (in && gzclose_r(in) != Z_OK)
		err = -1;
	if (out && fclose(out))
		err = -1;
	return err;
}

int main(int argc, char **argv)
{
	char gz[4096], plain[4096];
	int n;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	for (n = 0; n < 3; n++) {
		struct profile *p = seed_profile(n);
		int err;

		snprintf(gz, sizeof(gz), "%s/seed-%d.pb.gz", argv[1], n);
		snprintf(plain, sizeof(plain), "%s/seed-%d.pb", argv[1], n);
		err = write_pprof_file(p, gz);
		profile__free(p);
		if (err) {
			fprintf(stderr, "%s: %s\n", gz, strerror(-err));
			return 1;
		}
		if (gunzip(gz, plain)) {
			fprintf(stderr, "%s: cannot gunzip\n", gz);
			return 1;
		}
	}
	printf("%d seeds written to %s\n", 2 * n, argv[1]);
	return 0;
}
#endif /* FUZZ_SEED_WRITER */
