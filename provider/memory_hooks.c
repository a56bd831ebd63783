// SPDX-License-Identifier: BSD-2-Clause
/*
 * Sampled allocation probes for `pystrobe memory`:
 *
 *   pystrobe:alloc(ptr, size, weight)   a sampled allocation; weight is the
 *                                       bytes it stands for (ptr 0: not
 *                                       tracked, no free will follow)
 *   pystrobe:free(ptr)                  a sampled block was freed
 *
 * Hooks. Once a tracer attaches to pystrobe:alloc (its semaphore rises),
 * the three allocator domains (RAW, MEM, OBJ) are wrapped with
 * PyMem_SetAllocator, each forwarding to the allocator it replaced, so
 * tracemalloc or another tool installed before or after keeps working. The
 * hooks are never taken out again (another tool may have wrapped them
 * since); while no tracer is attached they cost one load and a branch.
 *
 * Sampling: Poisson over bytes. Each thread counts down a random number of
 * bytes with an exponential distribution of mean `rate`; the allocation
 * that takes the count to zero is sampled, and a fresh count starts after
 * it (the process is memoryless). So a block of n bytes is sampled with
 * probability p = 1 - exp(-n / rate) whatever the allocations around it,
 * and stands for weight = n / p bytes: an unbiased estimate of the bytes
 * (and, as weight / n, of the blocks) allocated at its site. The fast path
 * is a thread-local subtraction.
 *
 * Frees. Sampled pointers go into a small lock-free set (a side table:
 * headers on sampled blocks would break free-threaded GC scanning); a
 * free fires only when its pointer is in the set, so a tracer sees every
 * sampled block's free and nothing else. realloc is a free of the old
 * block and an allocation of the new one. A free of a block allocated
 * before the tracer attached is not seen: "in use" means "since attach".
 *
 * Nesting: pymalloc hands large OBJ/MEM requests to PyMem_RawMalloc, which
 * comes back through our RAW hook; a thread-local depth counts such a
 * block once, at the outer domain.
 *
 * Threads: nothing here takes the GIL or calls Python (RAW runs without
 * it, and every domain on free-threaded builds); the state shared between
 * threads is atomic. Fork: the child forgets the parent's sampled set
 * and draws fresh countdowns from a reseeded generator.
 *
 * The mean rate comes from pystrobe: the file `memory-rate` in the
 * directory above this module's (the stage pystrobe made), read at import,
 * or the variable pystrobe_memory_rate, written into this process by
 * pystrobe before it attaches to a provider loaded earlier. The countdowns
 * are redrawn whenever the rate changes or a tracer arrives.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* dl_iterate_phdr */
#endif
#include <errno.h>
#include <link.h>
#include <math.h>
/*
 * glibc 2.29 added new versions of log(); the provider must load with the
 * oldest glibc it supports (scripts/build-provider.sh checks), so bind the
 * original one, which computes the same function.
 */
#if defined(__x86_64__)
__asm__(".symver log,log@GLIBC_2.2.5");
#elif defined(__aarch64__)
__asm__(".symver log,log@GLIBC_2.17");
#endif
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "memory_hooks.h"
#include "usdt.h"

/*
 * The allocator ABI, declared here so that this file needs no CPython
 * header (it may be built against a reduced header set): PyMemAllocatorEx
 * and PyMemAllocatorDomain have not changed since 3.5, and are checked
 * against the real ones when the full headers are at hand.
 */
struct ps_allocator {
	void *ctx;
	void *(*malloc)(void *ctx, size_t size);
	void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
	void *(*realloc)(void *ctx, void *ptr, size_t new_size);
	void (*free)(void *ctx, void *ptr);
};

enum ps_domain {
	PS_DOMAIN_RAW = 0, /* PYMEM_DOMAIN_RAW: no GIL needed */
	PS_DOMAIN_MEM = 1, /* PYMEM_DOMAIN_MEM */
	PS_DOMAIN_OBJ = 2, /* PYMEM_DOMAIN_OBJ */
	PS_NR_DOMAINS,
};

extern void
ps_get_allocator(int domain,
		 struct ps_allocator *a) __asm__("PyMem_GetAllocator");
extern void
ps_set_allocator(int domain,
		 struct ps_allocator *a) __asm__("PyMem_SetAllocator");

#if __has_include(<Python.h>)
#include <Python.h>
#if !defined(Py_LIMITED_API)
_Static_assert(sizeof(PyMemAllocatorEx) == sizeof(struct ps_allocator),
	       "PyMemAllocatorEx changed");
_Static_assert(offsetof(PyMemAllocatorEx, ctx) ==
			       offsetof(struct ps_allocator, ctx) &&
		       offsetof(PyMemAllocatorEx, malloc) ==
			       offsetof(struct ps_allocator, malloc) &&
		       offsetof(PyMemAllocatorEx, calloc) ==
			       offsetof(struct ps_allocator, calloc) &&
		       offsetof(PyMemAllocatorEx, realloc) ==
			       offsetof(struct ps_allocator, realloc) &&
		       offsetof(PyMemAllocatorEx, free) ==
			       offsetof(struct ps_allocator, free),
	       "PyMemAllocatorEx changed");
_Static_assert((int)PYMEM_DOMAIN_RAW == (int)PS_DOMAIN_RAW &&
		       (int)PYMEM_DOMAIN_MEM == (int)PS_DOMAIN_MEM &&
		       (int)PYMEM_DOMAIN_OBJ == (int)PS_DOMAIN_OBJ,
	       "PyMemAllocatorDomain changed");
#endif
#endif

#define PS_DEFAULT_RATE (512 * 1024)
#define PS_MAX_RATE	(1ULL << 30)
#define PS_RATE_FILE	"memory-rate"

#define PS_LOAD(v)	   __atomic_load_n(&(v), __ATOMIC_ACQUIRE)
#define PS_LOAD_RELAXED(v) __atomic_load_n(&(v), __ATOMIC_RELAXED)
#define PS_STORE(v, x)	   __atomic_store_n(&(v), (x), __ATOMIC_RELEASE)
#define PS_LIKELY(x)	   __builtin_expect(!!(x), 1)

PS_SEMAPHORE unsigned short pystrobe_alloc_semaphore;
PS_SEMAPHORE unsigned short pystrobe_free_semaphore;

/* The mean sampling interval in bytes: pystrobe may write it (see above). */
__attribute__((visibility("default"))) volatile uint64_t pystrobe_memory_rate =
	PS_DEFAULT_RATE;

/*
 * generation << 1 | on. "on": sampling now. Every change (a tracer came or
 * went, the rate changed, a fork) takes a new generation, which makes every
 * thread draw a fresh countdown at its next allocation.
 */
static uint64_t ps_state;
static uint64_t ps_rate_now; /* the rate of the current generation */
static int ps_installed;     /* our hooks are in (never taken out) */
static int ps_started;	     /* ps_mem_start() was called */
static int ps_frozen;	     /* ps_mem_at_exit() was called */
static int ps_sync_busy;     /* a ps_mem_sync() is running */
static struct ps_allocator ps_prev[PS_NR_DOMAINS]; /* what we wrap */

/* ----------------------------- the sampled set ---------------------------- */
/*
 * Buckets of 8 slots, one cache line each; a slot holds a sampled pointer
 * or 0. ps_set_used[b] counts bucket b's pointers, so a free whose bucket
 * is empty (nearly all of them) reads one byte of an 8 KiB array. Inserts
 * and removals are compare-and-swaps; a bucket that is full drops the
 * sample (reported as an untracked allocation).
 */
#define PS_SET_BITS    13
#define PS_SET_BUCKETS (1u << PS_SET_BITS)
#define PS_SET_WAYS    8

struct ps_bucket {
	uintptr_t slot[PS_SET_WAYS];
} __attribute__((aligned(64)));

static struct ps_bucket ps_set[PS_SET_BUCKETS];
static uint8_t ps_set_used[PS_SET_BUCKETS];

static inline uint32_t ps_bucket_of(const void *p)
{
	/* blocks are 16-aligned: the low bits carry nothing */
	return (uint32_t)((((uint64_t)(uintptr_t)p >> 4) *
			   0x9e3779b97f4a7c15ULL) >>
			  (64 - PS_SET_BITS));
}

static int ps_set_add(void *p)
{
	uint32_t bucket = ps_bucket_of(p);
	struct ps_bucket *b = &ps_set[bucket];

	for (int i = 0; i < PS_SET_WAYS; i++) {
		uintptr_t empty = 0;

		if (PS_LOAD_RELAXED(b->slot[i]) == 0 &&
		    __atomic_compare_exchange_n(
			    &b->slot[i], &empty, (uintptr_t)p, 0,
			    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			__atomic_fetch_add(&ps_set_used[bucket], 1,
					   __ATOMIC_RELEASE);
			return 1;
		}
	}
	return 0;
}

/* Removes p if present; 1 when it was. (NULL, free's no-op, never is:
 * it would match an empty slot.) */
static int ps_set_take(uint32_t bucket, void *p)
{
	struct ps_bucket *b = &ps_set[bucket];

	if (!p)
		return 0;

	for (int i = 0; i < PS_SET_WAYS; i++) {
		uintptr_t want = (uintptr_t)p;

		if (PS_LOAD_RELAXED(b->slot[i]) == want &&
		    __atomic_compare_exchange_n(&b->slot[i], &want, 0, 0,
						__ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			__atomic_fetch_sub(&ps_set_used[bucket], 1,
					   __ATOMIC_RELEASE);
			return 1;
		}
	}
	return 0;
}

/* Only while nothing samples (off, or the single thread of a fork child). */
static void ps_set_clear(void)
{
	memset(ps_set, 0, sizeof(ps_set));
	memset(ps_set_used, 0, sizeof(ps_set_used));
}

/* ------------------------------- the probes ------------------------------- */
/* One probe site each: the notes list exactly one location per probe. */
__attribute__((noinline)) static void ps_fire_alloc(void *p, size_t n,
						    uint64_t weight)
{
	if (!PS_LOAD(pystrobe_alloc_semaphore))
		return;
	STAP_PROBE3(pystrobe, alloc, p, n, weight);
}

__attribute__((noinline)) static void ps_fire_free(void *p)
{
	if (!PS_LOAD(pystrobe_free_semaphore))
		return;
	STAP_PROBE1(pystrobe, free, p);
}

/* ------------------------------- sampling --------------------------------- */
struct ps_thread {
	int64_t countdown; /* bytes until the next sample */
	uint64_t gen;	   /* the ps_state it was drawn under */
	uint64_t rng;	   /* xorshift64* state, never 0 once seeded */
	uint64_t rate;
	unsigned depth; /* inside our OBJ/MEM hooks (their RAW calls) */
};

/* initial-exec: a plain %fs-relative access, no __tls_get_addr call */
static __thread struct ps_thread ps_t
	__attribute__((tls_model("initial-exec")));

static uint64_t ps_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* A generator of its own per thread and per process (after a fork too). */
static void ps_seed(struct ps_thread *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t->rng = ps_mix(t->rng ^ (uint64_t)(uintptr_t)t ^
			((uint64_t)getpid() << 32) ^
			(uint64_t)ts.tv_sec * 1000000000ULL ^
			(uint64_t)ts.tv_nsec) |
		 1;
}

/* Exponentially distributed bytes with mean t->rate; at least 1. */
static int64_t ps_draw(struct ps_thread *t)
{
	uint64_t x = t->rng;
	double u, d;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->rng = x;
	/* uniform in (0, 1]: 53 random bits, never 0 */
	u = (double)(((x * 0x2545f4914f6cdd1dULL) >> 11) + 1) * 0x1.0p-53;
	d = -log(u) * (double)t->rate;
	return d < 9e18 ? (int64_t)d + 1 : (int64_t)9e18;
}

/* Bytes an n-byte block stands for when it is sampled: n / P(sampled). */
static uint64_t ps_weight(size_t n, uint64_t rate)
{
	double p = -expm1(-(double)n / (double)rate);

	return p > 0 ? (uint64_t)((double)n / p + 0.5) : rate;
}

/*
 * Counts n bytes down on t under state st; true when they end the
 * countdown (this block is sampled), which then starts afresh after it. A
 * stale generation (a new tracer, rate, or process) draws a new countdown
 * first.
 */
static int ps_count(struct ps_thread *t, size_t n, uint64_t st)
{
	if (t->gen != st) {
		ps_seed(t);
		t->gen = st;
		t->rate = PS_LOAD(ps_rate_now);
		t->countdown = ps_draw(t);
	}
	t->countdown -= (int64_t)n;
	if (t->countdown > 0)
		return 0;
	t->countdown = ps_draw(t);
	return 1;
}

/* A sampled block of n bytes at p: remembered, announced. */
static void ps_record(struct ps_thread *t, void *p, size_t n)
{
	uint64_t weight = ps_weight(n, t->rate);

	ps_fire_alloc(ps_set_add(p) ? p : NULL, n, weight);
}

/*
 * Off (no tracer, or the program has ended: see ps_mem_at_exit), nothing
 * is reported; what stays in the set goes when a tracer comes.
 */
__attribute__((noinline)) static void ps_forget_slow(uint32_t bucket, void *p)
{
	if ((PS_LOAD_RELAXED(ps_state) & 1) && ps_set_take(bucket, p))
		ps_fire_free(p);
}

/* A block is freed (or moved by realloc): its free fires if it was sampled.
 */
static inline void ps_forget(void *p)
{
	uint32_t b = ps_bucket_of(p);

	if (PS_LOAD_RELAXED(ps_set_used[b]))
		ps_forget_slow(b, p);
}

/* ------------------------------- the hooks -------------------------------- */
/*
 * One set per domain. outer (OBJ, MEM): a block they hand on to
 * PyMem_RawMalloc comes back through our RAW hook, which must not count it
 * again (t->depth says the RAW call is inside an outer hook).
 *
 * The fast path (sampling on, no sample due) subtracts and tail-calls the
 * wrapped allocator. pymalloc serves requests of 1 to 512 bytes itself
 * (SMALL_REQUEST_THRESHOLD, every version) and hands all others (0 bytes
 * too) to PyMem_RawMalloc: an outer request of 1 to PS_SMALL bytes (room
 * left for the debug hooks' padding) never comes back, so it needs no
 * depth and takes the fast path.
 */
#define PS_SMALL 448

enum ps_op { PS_MALLOC, PS_CALLOC, PS_REALLOC };

struct ps_req {
	enum ps_op op;
	void *p;	      /* realloc's block */
	size_t n;	      /* bytes requested */
	size_t nelem, elsize; /* calloc's arguments */
};

static void *ps_forward(const struct ps_allocator *a, const struct ps_req *r)
{
	switch (r->op) {
	case PS_CALLOC:
		return a->calloc(a->ctx, r->nelem, r->elsize);
	case PS_REALLOC:
		return a->realloc(a->ctx, r->p, r->n);
	default:
		return a->malloc(a->ctx, r->n);
	}
}

/* Whether an n-byte request takes the fast path on t under st. */
static inline int ps_fast(struct ps_thread *t, size_t n, uint64_t st, int outer)
{
	if (PS_LIKELY(t->gen == st && t->countdown > (int64_t)n &&
		      (!outer || n - 1 < PS_SMALL))) {
		t->countdown -= (int64_t)n;
		return 1;
	}
	return 0;
}

/* A sample due, a stale generation, or an outer block that may nest. */
__attribute__((noinline)) static void *
ps_slow(int d, int outer, const struct ps_req *r, uint64_t st)
{
	struct ps_thread *t = &ps_t;
	int sampled = ps_count(t, r->n, st);
	void *q;

	if (outer)
		t->depth++;
	q = ps_forward(&ps_prev[d], r);
	if (outer)
		t->depth--;
	if (sampled && q)
		ps_record(t, q, r->n);
	return q;
}

static inline __attribute__((always_inline)) void *
ps_malloc_in(int d, int outer, size_t n)
{
	const struct ps_allocator *a = &ps_prev[d];
	uint64_t st = PS_LOAD_RELAXED(ps_state);
	struct ps_thread *t = &ps_t;

	/*
	 * t->gen only ever holds an "on" state: ps_fast means on. RAW first
	 * asks whether an outer hook counts this block already.
	 */
	if ((!outer && t->depth) || ps_fast(t, n, st, outer) || !(st & 1))
		return a->malloc(a->ctx, n);
	return ps_slow(d, outer, &(struct ps_req){.op = PS_MALLOC, .n = n}, st);
}

static inline __attribute__((always_inline)) void *
ps_calloc_in(int d, int outer, size_t nelem, size_t elsize)
{
	const struct ps_allocator *a = &ps_prev[d];
	uint64_t st = PS_LOAD_RELAXED(ps_state);
	struct ps_thread *t;
	size_t n;

	if (PS_LIKELY(!(st & 1)))
		return a->calloc(a->ctx, nelem, elsize);
	t = &ps_t;
	/* an overflowing product fails in the allocator: nothing to count */
	if ((!outer && t->depth) || __builtin_mul_overflow(nelem, elsize, &n) ||
	    ps_fast(t, n, st, outer))
		return a->calloc(a->ctx, nelem, elsize);
	return ps_slow(d, outer,
		       &(struct ps_req){.op = PS_CALLOC,
					.n = n,
					.nelem = nelem,
					.elsize = elsize},
		       st);
}

static inline __attribute__((always_inline)) void *
ps_realloc_in(int d, int outer, void *p, size_t n)
{
	const struct ps_allocator *a = &ps_prev[d];
	uint64_t st = PS_LOAD_RELAXED(ps_state);
	struct ps_thread *t;

	if (PS_LIKELY(!(st & 1)))
		return a->realloc(a->ctx, p, n);
	t = &ps_t;
	if (!outer && t->depth)
		return a->realloc(a->ctx, p, n);
	/* Before the call: once it returns, p may be another thread's. */
	if (p)
		ps_forget(p);
	if (ps_fast(t, n, st, outer))
		return a->realloc(a->ctx, p, n);
	return ps_slow(d, outer,
		       &(struct ps_req){.op = PS_REALLOC, .p = p, .n = n}, st);
}

/*
 * A bucket with nothing in it (nearly always) is one byte read, whatever
 * the state (NULL is never in the set).
 */
static inline __attribute__((always_inline)) void ps_free_in(int d, void *p)
{
	const struct ps_allocator *a = &ps_prev[d];

	ps_forget(p);
	a->free(a->ctx, p);
}

/*
 * Our own ctx argument is never used (ps_prev holds what we wrap); see
 * ps_install for why it is set to the wrapped allocator's.
 */
#define PS_HOOKS(name, D, OUTER)                                               \
	static void *ps_##name##_malloc(void *ctx, size_t n)                   \
	{                                                                      \
		(void)ctx;                                                     \
		return ps_malloc_in(D, OUTER, n);                              \
	}                                                                      \
	static void *ps_##name##_calloc(void *ctx, size_t k, size_t n)         \
	{                                                                      \
		(void)ctx;                                                     \
		return ps_calloc_in(D, OUTER, k, n);                           \
	}                                                                      \
	static void *ps_##name##_realloc(void *ctx, void *p, size_t n)         \
	{                                                                      \
		(void)ctx;                                                     \
		return ps_realloc_in(D, OUTER, p, n);                          \
	}                                                                      \
	static void ps_##name##_free(void *ctx, void *p)                       \
	{                                                                      \
		(void)ctx;                                                     \
		ps_free_in(D, p);                                              \
	}
PS_HOOKS(raw, PS_DOMAIN_RAW, 0)
PS_HOOKS(mem, PS_DOMAIN_MEM, 1)
PS_HOOKS(obj, PS_DOMAIN_OBJ, 1)

static const struct ps_allocator ps_hooks[PS_NR_DOMAINS] = {
	[PS_DOMAIN_RAW] = {NULL, ps_raw_malloc, ps_raw_calloc, ps_raw_realloc,
			   ps_raw_free},
	[PS_DOMAIN_MEM] = {NULL, ps_mem_malloc, ps_mem_calloc, ps_mem_realloc,
			   ps_mem_free},
	[PS_DOMAIN_OBJ] = {NULL, ps_obj_malloc, ps_obj_calloc, ps_obj_realloc,
			   ps_obj_free},
};

/*
 * Wraps the three domains; GIL held (no other thread changes allocators
 * now). RAW calls come from threads without the GIL at any time, and
 * PyMem_SetAllocator before 3.12 copies the struct field by field while
 * they read it: our struct carries the wrapped allocator's own ctx, so
 * any mix of old and new fields is a working allocator (its functions
 * with its ctx, or ours, which ignore ctx).
 */
static void ps_install(void)
{
	struct ps_allocator mine;

	for (int d = 0; d < PS_NR_DOMAINS; d++)
		ps_get_allocator(d, &ps_prev[d]);
	for (int d = 0; d < PS_NR_DOMAINS; d++) {
		mine = ps_hooks[d];
		mine.ctx = ps_prev[d].ctx;
		ps_set_allocator(d, &mine);
	}
	PS_STORE(ps_installed, 1);
}

/* --------------------------------- control -------------------------------- */
static uint64_t ps_rate_wanted(void)
{
	uint64_t r = pystrobe_memory_rate;

	return r >= 1 && r <= PS_MAX_RATE ? r : PS_DEFAULT_RATE;
}

int ps_mem_sync(int gil_held)
{
	uint64_t st, rate;
	int want, err = 0;

	/* One at a time; a busy one is simply retried at the next poll. */
	if (__atomic_exchange_n(&ps_sync_busy, 1, __ATOMIC_ACQUIRE))
		return 0;
	want = PS_LOAD(ps_started) && !PS_LOAD(ps_frozen) &&
	       PS_LOAD(pystrobe_alloc_semaphore) != 0;
	st = PS_LOAD(ps_state);
	rate = ps_rate_wanted();
	if ((uint64_t)want == (st & 1) &&
	    (!want || rate == PS_LOAD(ps_rate_now)))
		goto out;
	if (want && !PS_LOAD(ps_installed)) {
		if (!gil_held) {
			err = 1;
			goto out;
		}
		ps_install();
	}
	/* A new tracer knows nothing of an earlier one's samples. */
	if (want && !(st & 1))
		ps_set_clear();
	PS_STORE(ps_rate_now, rate);
	PS_STORE(ps_state, (((st >> 1) + 1) << 1) | (uint64_t)want);
out:
	PS_STORE(ps_sync_busy, 0);
	return err;
}

static int ps_init_done; /* ps_mem_init() succeeded */

void ps_mem_start(void)
{
	if (!ps_init_done)
		return;
	PS_STORE(ps_started, 1);
	ps_mem_sync(1);
}

/* Off for good, whatever a concurrent ps_mem_sync() decides (it reads
 * ps_frozen first; the poller is stopped before this runs anyway). */
void ps_mem_at_exit(void)
{
	uint64_t st = PS_LOAD(ps_state);

	PS_STORE(ps_frozen, 1);
	PS_STORE(ps_state, ((st >> 1) + 1) << 1);
}

/*
 * The fork child: one thread, none of the parent's samples, and no tracer.
 * Its semaphores are copies of the parent's, but the tracer attached to
 * the parent only (the kernel raises a semaphore per process it attaches
 * to): left as they are, the child would fire probes nobody follows, and
 * with optimized uprobes (a call to a trampoline the child does not have)
 * crash on the first. Zeroed, the child samples once a tracer attaches to
 * it (the kernel then raises them from 0).
 */
static void ps_after_fork_child(void)
{
	uint64_t st = PS_LOAD(ps_state);

	ps_sync_busy = 0;
	ps_set_clear();
	PS_STORE(pystrobe_alloc_semaphore, 0);
	PS_STORE(pystrobe_free_semaphore, 0);
	PS_STORE(ps_state, ((st >> 1) + 1) << 1);
}

struct ps_self {
	uintptr_t addr;
	char path[4096];
};

/* dl_iterate_phdr callback: the loaded object holding f->addr. */
static int ps_find_self(struct dl_phdr_info *info, size_t size, void *data)
{
	struct ps_self *f = data;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && f->addr >= lo &&
		    f->addr < lo + ph->p_memsz) {
			snprintf(f->path, sizeof(f->path), "%s",
				 info->dlpi_name);
			return 1;
		}
	}
	return 0;
}

/*
 * The rate pystrobe left in the stage: DIR/memory-rate beside the
 * DIR/3.X/ directory this module was loaded from. Absent: the default.
 */
static void ps_read_rate_file(void)
{
	struct ps_self self = {.addr = (uintptr_t)&ps_read_rate_file};
	unsigned long long rate;
	char *slash;
	FILE *f;

	if (!dl_iterate_phdr(ps_find_self, &self) || !self.path[0])
		return;
	for (int up = 0; up < 2; up++) {
		slash = strrchr(self.path, '/');
		if (!slash)
			return;
		*slash = '\0';
	}
	if (strlen(self.path) + sizeof("/" PS_RATE_FILE) > sizeof(self.path))
		return;
	strcat(self.path, "/" PS_RATE_FILE);
	f = fopen(self.path, "re");
	if (!f)
		return;
	if (fscanf(f, "%llu", &rate) == 1 && rate >= 1 && rate <= PS_MAX_RATE)
		pystrobe_memory_rate = rate;
	fclose(f);
}

int ps_mem_init(void)
{
	int err;

	if (ps_init_done)
		return 0;
	ps_read_rate_file();
	err = pthread_atfork(NULL, NULL, ps_after_fork_child);
	if (err)
		return -err;
	ps_init_done = 1;
	return 0;
}
