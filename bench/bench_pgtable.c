// SPDX-License-Identifier: MIT
/*
 * bench_pgtable: the page-table library's hot paths beside a baseline measured in the
 * same run, over the same pre-built tables:
 *   map      one 4 KiB page (pt_map), against a bare 4-level walk that stores one entry
 *            (written here: three loads, three masks, one store; the least any map does);
 *   unmap    256 contiguous 4 KiB pages with one gather (pt_unmap + pt_gather_release),
 *            against the same bare walk, and against 256 of them.
 * Target (issue 4): map of one page at most 4 times the baseline.
 *
 * Times are thread CPU time, pinned to one CPU, medians of interleaved rounds of the three
 * (bench_harness.h). The unmaps are timed in batches of UNMAP_BATCH runs mapped beforehand.
 *
 *   bench_pgtable              time per operation and ratios
 *   bench_pgtable --callgrind  instructions per operation, counted by valgrind's callgrind
 *                              on this program (one run per measured function)
 *   bench_pgtable --inner x86-64|vtd-ss N   (used by --callgrind: each measured function
 *                              of one shape, the unmaps N times)
 */
#include "bench_harness.h"

#include <softiommu/pgtable.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KB	    (1ull << 10)
#define MB	    (1ull << 20)
#define GB	    (1ull << 30)
#define ADDR_MASK   0x000ffffffffff000ull
#define NPAGES	    4096	      /* pages mapped one by one per trial: 8 level-1 tables */
#define IOVA_BASE   (3 * GB + 6 * MB) /* every level's index non-zero */
#define PA_BASE	    (5 * GB + 4 * KB)
#define UNMAP_RUN   256
#define UNMAP_BATCH 16 /* runs of 1 MiB mapped, then unmapped under one clock pair */
#define UNMAP_REPS  64 /* runs unmapped per round */
#define ROUNDS	    25

struct bench {
	const char *name;
	enum pt_format format;
	struct mem *mem;
	struct mem_alloc *alloc;
	struct pt_table *pt;
	uint8_t *base; /* the memory's direct mapping, for the baseline */
	unsigned prot;
};

static void die(const char *what, int ret)
{
	fprintf(stderr, "bench_pgtable: %s: %d\n", what, ret);
	exit(1);
}

/*
 * The baseline: walk the pre-built 4-level table to the level-1 entry of `iova` and store
 * `e` there. Entry loads and the store are atomic like the library's (plain moves on x86);
 * `base` is a local so that the acquire loads do not force it to be fetched again.
 */
static inline void bare_walk_store(uint8_t *base, uint64_t root, uint64_t iova, uint64_t e)
{
	uint64_t t = root;

	for (unsigned shift = 39; shift > 12; shift -= 9) {
		uint64_t *p = (uint64_t *)(void *)(base + t + 8 * ((iova >> shift) & 511));

		t = __atomic_load_n(p, __ATOMIC_ACQUIRE) & ADDR_MASK;
	}
	__atomic_store_n((uint64_t *)(void *)(base + t + 8 * ((iova >> 12) & 511)), e,
			 __ATOMIC_RELEASE);
}

/* The measured functions: not inlined, so callgrind can count each one alone. */
__attribute__((noinline)) static void run_map_pages(struct bench *b)
{
	for (unsigned i = 0; i < NPAGES; i++) {
		int ret =
		    pt_map(b->pt, IOVA_BASE + i * 4 * KB, PA_BASE + i * 4 * KB, 4 * KB, b->prot);

		if (ret)
			die("pt_map", ret);
	}
}

__attribute__((noinline)) static void run_bare_walks(struct bench *b)
{
	uint64_t root = pt_root(b->pt);
	uint8_t *base = b->base;

	for (unsigned i = 0; i < NPAGES; i++)
		bare_walk_store(base, root, IOVA_BASE + i * 4 * KB, (PA_BASE + i * 4 * KB) | 0x3);
}

__attribute__((noinline)) static void run_unmap_256(struct bench *b, uint64_t iova)
{
	struct pt_gather g;
	uint64_t n;
	int ret;

	pt_gather_init(&g);
	ret = pt_unmap(b->pt, iova, UNMAP_RUN * 4 * KB, &g, &n);
	if (ret || n != UNMAP_RUN * 4 * KB)
		die("pt_unmap 256", ret);
	pt_gather_release(&g);
}

/* Run j of an unmap batch: 1 MiB at IOVA_BASE + j MiB, half of one pre-built leaf table. */
static void prep_unmap(void *ctx, int j)
{
	struct bench *b = ctx;

	if (pt_map(b->pt, IOVA_BASE + j * MB, PA_BASE + j * MB, UNMAP_RUN * 4 * KB, b->prot))
		die("pt_map 256", -1);
}

static void op_unmap(void *ctx, int j)
{
	run_unmap_256(ctx, IOVA_BASE + j * MB);
}

/* Unmap the pages one by one, which keeps their tables: the next trial finds them built. */
static void unmap_pages(struct bench *b)
{
	struct pt_gather g;
	uint64_t n;

	pt_gather_init(&g);
	for (unsigned i = 0; i < NPAGES; i++)
		if (pt_unmap(b->pt, IOVA_BASE + i * 4 * KB, 4 * KB, &g, &n) || n != 4 * KB)
			die("pt_unmap", -1);
	pt_gather_release(&g);
}

static void setup(struct bench *b, const char *name, enum pt_format format, unsigned prot)
{
	struct pt_config cfg = {
	    .format = format,
	    .levels = 4,
	    .page_sizes = PT_PAGE_4K | PT_PAGE_2M | PT_PAGE_1G,
	    .flags = format == PT_FMT_X86_64 ? PT_CFG_SET_AD : 0,
	};
	int ret;

	memset(b, 0, sizeof(*b));
	b->name = name;
	b->format = format;
	b->prot = prot;
	b->mem = mem_create_sparse(64 * MB);
	if (!b->mem)
		die("mem_create_sparse", -1);
	b->base = mem_ptr(b->mem, 0, mem_size(b->mem));
	ret = mem_alloc_create(b->mem, MB, 32 * MB, &b->alloc);
	if (ret)
		die("mem_alloc_create", ret);
	cfg.alloc = b->alloc;
	ret = pt_create(&cfg, &b->pt);
	if (ret)
		die("pt_create", ret);
	/*
	 * Pre-build the tables (steady state, not first touch), without calling the measured
	 * function: callgrind counts every call of it.
	 */
	for (unsigned i = 0; i < NPAGES; i++)
		if (pt_map(b->pt, IOVA_BASE + i * 4 * KB, PA_BASE, 4 * KB, b->prot))
			die("pt_map", -1);
	unmap_pages(b);
}

static void teardown(struct bench *b)
{
	pt_destroy(b->pt);
	mem_alloc_destroy(b->alloc);
	mem_destroy(b->mem);
}

struct figures {
	double map, walk, unmap256;
};

enum { MAP, WALK, UNMAP, NCASES };

/* One round of case k: thread CPU time per operation, the tables left as they were. */
static double run_case(void *ctx, int k)
{
	struct bench *b = ctx;
	double t0 = bench_thread_ns(), t;

	if (k == UNMAP)
		return bench_prepared_ns(prep_unmap, op_unmap, b, UNMAP_BATCH,
					 UNMAP_REPS / UNMAP_BATCH);
	if (k == MAP)
		run_map_pages(b);
	else
		run_bare_walks(b);
	t = (bench_thread_ns() - t0) / NPAGES;
	unmap_pages(b); /* the walks wrote leaves too: clear them the library's way */
	return t;
}

static void measure(struct bench *b, struct figures *f)
{
	double s[NCASES * ROUNDS];

	bench_interleave(NCASES, ROUNDS, run_case, b, s);
	f->map = bench_median(&s[MAP * ROUNDS], ROUNDS);
	f->walk = bench_median(&s[WALK * ROUNDS], ROUNDS);
	f->unmap256 = bench_median(&s[UNMAP * ROUNDS], ROUNDS);
}

static void print_figures(const char *name, const char *unit, const struct figures *f)
{
	printf("%s\n", name);
	printf("  map one 4 KiB page                     %9.1f %s\n", f->map, unit);
	printf("  baseline: bare 4-level walk + 1 store  %9.1f %s\n", f->walk, unit);
	printf("  ratio map / baseline                   %9.2f   (target <= 4)\n",
	       f->map / f->walk);
	printf("  unmap 256 x 4 KiB, one gather          %9.1f %s\n", f->unmap256, unit);
	printf("  ratio unmap / baseline                 %9.2f\n", f->unmap256 / f->walk);
	printf("  ratio unmap / 256 baselines            %9.2f\n",
	       f->unmap256 / (UNMAP_RUN * f->walk));
}

static const struct {
	const char *name;
	const char *tag; /* the --inner mode */
	enum pt_format format;
	unsigned prot;
} shapes[] = {
    {"x86-64 first stage, 4 levels, A/D preset", "x86-64", PT_FMT_X86_64,
     PT_PROT_READ | PT_PROT_WRITE},
    {"VT-d second stage, AW48", "vtd-ss", PT_FMT_VTD_SS, PT_PROT_READ | PT_PROT_WRITE},
};
enum { NSHAPES = sizeof(shapes) / sizeof(shapes[0]) };

/*
 * Under callgrind: run each measured function of one shape as the timings do, the unmap
 * batches `n` runs in all; valgrind counts the one asked for.
 */
static int inner(const char *tag, long n)
{
	struct bench b;
	unsigned s = 0;

	while (s < NSHAPES && strcmp(tag, shapes[s].tag))
		s++;
	if (s == NSHAPES || n <= 0 || n % UNMAP_BATCH)
		return 2;
	setup(&b, shapes[s].name, shapes[s].format, shapes[s].prot);
	run_map_pages(&b);
	unmap_pages(&b);
	run_bare_walks(&b);
	unmap_pages(&b);
	bench_prepared_ns(prep_unmap, op_unmap, &b, UNMAP_BATCH, (int)(n / UNMAP_BATCH));
	teardown(&b);
	return 0;
}

static int run_callgrind(const char *self)
{
	printf("instructions per operation (valgrind --tool=callgrind --toggle-collect=...)\n");
	for (unsigned s = 0; s < NSHAPES; s++) {
		struct bench_count c[] = {
		    {shapes[s].tag, {"run_map_pages"}, UNMAP_REPS, 0},
		    {shapes[s].tag, {"run_bare_walks"}, UNMAP_REPS, 0},
		    {shapes[s].tag, {"run_unmap_256"}, UNMAP_REPS, 0},
		};
		struct figures f;

		if (bench_callgrind_all(self, c, 3))
			return 2;
		f.map = (double)c[0].ir / NPAGES;
		f.walk = (double)c[1].ir / NPAGES;
		f.unmap256 = (double)c[2].ir / UNMAP_REPS;
		print_figures(shapes[s].name, "instr", &f);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *what;
	long n;

	if (bench_inner_args(argc, argv, &what, &n))
		return inner(what, n);
	if (argc == 2 && !strcmp(argv[1], "--callgrind"))
		return run_callgrind(argv[0]);
	if (argc != 1) {
		fprintf(stderr, "usage: bench_pgtable [--callgrind]\n");
		return 2;
	}
	if (bench_pin())
		perror("sched_setaffinity");
	printf("time per operation, median of %u interleaved rounds (%u pages each; tables "
	       "pre-built; thread CPU time)\n",
	       ROUNDS, NPAGES);
	for (unsigned s = 0; s < NSHAPES; s++) {
		struct bench b;
		struct figures f;

		setup(&b, shapes[s].name, shapes[s].format, shapes[s].prot);
		measure(&b, &f);
		print_figures(shapes[s].name, "ns   ", &f);
		teardown(&b);
	}
	return 0;
}
