// SPDX-License-Identifier: MIT
/*
 * What mapping and unmapping cost through the IOMMU core and the VT-d driver, each beside
 * a baseline measured in the same run: a bare 4-level walk that stores one entry (four
 * loads down tables already in place, one store of the leaf) - the least any map of one
 * page must do.
 *
 *   map1      iommu_map() of one 4 KiB page of a first-stage default domain (its tables
 *             already allocated, as in a DMA layer's steady state; no caching mode, so
 *             no flush after the map).
 *   unmap256  iommu_unmap() of 256 contiguous 4 KiB pages with one sync: the leaves
 *             cleared, one PASID-based IOTLB descriptor and a wait through the queue,
 *             processed by the VT-d model inside the IQT write (its share is included).
 *   walk      the baseline.
 *
 * Times are medians over rounds of thread CPU time, pinned to one CPU; the unmaps are timed
 * in batches of UNMAP_BATCH runs mapped beforehand (bench_harness.h). With --callgrind each
 * loop runs again under `valgrind --tool=callgrind` (collecting only inside it) and the
 * instructions per operation are printed with the same ratios.
 *
 *   bench_vtd_driver [--callgrind] [rounds]
 *   bench_vtd_driver --inner map1|unmap256|walk N         (used by --callgrind)
 *
 * Target (issue 4): map of one page at most 4 times the baseline.
 */
#include "bench_harness.h"

#include <softiommu/machine.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE    __attribute__((noinline, noclone))
#define SZ_4K	    4096ull
#define NPAGES	    4096 /* map1: pages per batch (16 MiB of IOVA, eight leaf tables) */
#define IOVA_BASE   0x10000000ull
#define DATA_BASE   0x40000000ull
#define UNMAP_IOVA  0x20000000ull
#define UNMAP_RUNS  64 /* unmap256: runs unmapped per round */
#define UNMAP_BATCH 16 /* runs of 1 MiB mapped, then unmapped under one clock pair */

struct bench {
	struct machine *m;
	struct machine_dev *d;
	struct iommu_domain *dom;
	uint64_t walk_root; /* the baseline's own 4-level table */
	uint8_t *base;	    /* memory's direct mapping */
};

static volatile uint64_t sink;

/* ---- the baseline: a bare 4-level walk storing one entry ---------------------------------- */

static inline uint64_t *entry(struct bench *b, uint64_t table, uint64_t iova, unsigned level)
{
	return (uint64_t *)(void *)(b->base + table) + ((iova >> (12 + 9 * (level - 1))) & 511);
}

static NOINLINE void walk_store(struct bench *b, uint64_t iova, uint64_t pa)
{
	uint64_t t = b->walk_root;

	for (unsigned level = 4; level > 1; level--)
		t = __atomic_load_n(entry(b, t, iova, level), __ATOMIC_ACQUIRE) & ~0xfffull;
	__atomic_store_n(entry(b, t, iova, 1), pa | 3, __ATOMIC_RELEASE);
}

/* Tables for the baseline covering [IOVA_BASE, + NPAGES pages), built once. */
static int walk_setup(struct bench *b)
{
	uint64_t pa;

	if (mem_alloc_page(b->m->alloc, &b->walk_root))
		return -1;
	for (uint64_t iova = IOVA_BASE; iova < IOVA_BASE + NPAGES * SZ_4K; iova += SZ_4K) {
		uint64_t t = b->walk_root;

		for (unsigned level = 4; level > 1; level--) {
			uint64_t *e = entry(b, t, iova, level);

			if (!*e) {
				if (mem_alloc_page(b->m->alloc, &pa))
					return -1;
				*e = pa | 3;
			}
			t = *e & ~0xfffull;
		}
	}
	return 0;
}

/* ---- the measured loops (noinline: callgrind collects inside them by name) ----------------- */

static NOINLINE uint64_t walk_loop(struct bench *b, long n)
{
	for (long i = 0; i < n; i++)
		walk_store(b, IOVA_BASE + (uint64_t)(i % NPAGES) * SZ_4K,
			   DATA_BASE + (uint64_t)i * SZ_4K);
	return (uint64_t)n;
}

static NOINLINE uint64_t map1_loop(struct bench *b, long n)
{
	uint64_t bad = 0;

	for (long i = 0; i < n; i++)
		bad += iommu_map(b->dom, IOVA_BASE + (uint64_t)i * SZ_4K,
				 DATA_BASE + (uint64_t)i * SZ_4K, SZ_4K,
				 IOMMU_READ | IOMMU_WRITE) != 0;
	return bad;
}

/* Run j of an unmap batch: 1 MiB at UNMAP_IOVA + j MiB, half of a leaf table. */
static uint64_t run_iova(int j)
{
	return UNMAP_IOVA + (uint64_t)j * 256 * SZ_4K;
}

static NOINLINE void unmap256(void *ctx, int j)
{
	struct bench *b = ctx;

	sink += iommu_unmap(b->dom, run_iova(j), 256 * SZ_4K) != (ssize_t)(256 * SZ_4K);
}

/*
 * What the map loop leaves behind is taken away outside the measurement, 1 MiB at a time:
 * an unmap covering a leaf table's whole 2 MiB span would free the table, and the next
 * batch would measure table allocation instead of the steady state.
 */
static void unmap_batch(struct bench *b, long n)
{
	for (uint64_t off = 0; off < (uint64_t)n * SZ_4K; off += 256 * SZ_4K)
		iommu_unmap(b->dom, IOVA_BASE + off, 256 * SZ_4K);
}

/* Outside the measurement: the run unmap256(ctx, j) takes away. */
static void map_unmap_run(void *ctx, int j)
{
	struct bench *b = ctx;

	iommu_map(b->dom, run_iova(j), DATA_BASE, 256 * SZ_4K, IOMMU_READ | IOMMU_WRITE);
}

static double unmap256_ns(struct bench *b, int runs)
{
	return bench_prepared_ns(map_unmap_run, unmap256, b, UNMAP_BATCH, runs / UNMAP_BATCH);
}

/* ---- setup --------------------------------------------------------------------------------- */

static int setup(struct bench *b)
{
	struct machine_config cfg;
	struct machine_dev_config dc = {.rid = PCI_RID(0, 4, 0), .pasid_width = 20};

	machine_config_default(&cfg);
	if (machine_create(&cfg, &b->m) || machine_add_device(b->m, &dc, &b->d))
		return -1;
	b->dom = iommu_get_default_domain(b->d->dev);
	b->base = mem_ptr(b->m->mem, 0, mem_size(b->m->mem));
	if (!b->base || walk_setup(b))
		return -1;
	/* Warm up (outside the measured functions): the map batch's tables exist from now
	 * on, as the unmap runs' do (an unmap of half a leaf table leaves the table). */
	if (iommu_map(b->dom, IOVA_BASE, DATA_BASE, NPAGES * SZ_4K, IOMMU_READ | IOMMU_WRITE))
		return -1;
	unmap_batch(b, NPAGES);
	for (int j = 0; j < UNMAP_BATCH; j++) {
		map_unmap_run(b, j);
		iommu_unmap(b->dom, run_iova(j), 256 * SZ_4K);
	}
	return 0;
}

/* Rounds of the three loops interleaved; medians of ns per operation. */
static int timed(struct bench *b, int rounds)
{
	double *t[3], med[3], t0;

	for (int k = 0; k < 3; k++)
		t[k] = calloc((size_t)rounds, sizeof(double));
	if (!t[0] || !t[1] || !t[2])
		return 1;
	for (int r = 0; r < rounds; r++) {
		t0 = bench_thread_ns();
		sink = walk_loop(b, NPAGES);
		t[0][r] = (bench_thread_ns() - t0) / NPAGES;

		t0 = bench_thread_ns();
		sink = map1_loop(b, NPAGES);
		t[1][r] = (bench_thread_ns() - t0) / NPAGES;
		unmap_batch(b, NPAGES);

		t[2][r] = unmap256_ns(b, UNMAP_RUNS);
	}
	for (int k = 0; k < 3; k++)
		med[k] = bench_median(t[k], rounds);
	printf("time (median of %d rounds, thread CPU time):\n", rounds);
	printf("  bare 4-level walk storing one entry   %8.1f ns\n", med[0]);
	printf("  map one 4 KiB page (core + driver)    %8.1f ns   ratio %.2f x  (target <= 4)\n",
	       med[1], med[1] / med[0]);
	printf(
	    "  unmap 256 x 4 KiB, one sync           %8.1f ns   ratio %.2f x  (%.1f ns per page)\n",
	    med[2], med[2] / med[0], med[2] / 256);
	for (int k = 0; k < 3; k++)
		free(t[k]);
	return 0;
}

/* ---- callgrind ---------------------------------------------------------------------------- */

static int with_callgrind(const char *self)
{
	const long n = NPAGES, nu = UNMAP_RUNS;
	struct bench_count c[] = {
	    {"walk", {"walk_loop"}, n, 0},
	    {"map1", {"map1_loop"}, n, 0},
	    {"unmap256", {"unmap256"}, nu, 0},
	};
	double w, m, u;

	if (bench_callgrind_all(self, c, 3))
		return 1;
	w = (double)c[0].ir / n;
	m = (double)c[1].ir / n;
	u = (double)c[2].ir / nu;
	printf("instructions (callgrind):\n");
	printf("  bare 4-level walk storing one entry   %8.1f\n", w);
	printf("  map one 4 KiB page (core + driver)    %8.1f   ratio %.2f x  (target <= 4)\n", m,
	       m / w);
	printf("  unmap 256 x 4 KiB, one sync           %8.1f   ratio %.2f x  (%.1f per page)\n", u,
	       u / w, u / 256);
	return 0;
}

/* The --inner mode: one loop, n operations, for callgrind. */
static int inner(struct bench *b, const char *what, long n)
{
	if (!strcmp(what, "walk"))
		sink = walk_loop(b, n);
	else if (!strcmp(what, "map1"))
		sink = map1_loop(b, n);
	else
		unmap256_ns(b, (int)n);
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b;
	int rounds = 31, r;
	const char *what;
	long n;
	bool cg;

	if (setup(&b)) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	if (bench_inner_args(argc, argv, &what, &n))
		return inner(&b, what, n);
	if (bench_pin())
		perror("sched_setaffinity");
	cg = bench_args(argc, argv, &rounds);
	r = timed(&b, rounds);
	if (!r && cg)
		r = with_callgrind(argv[0]);
	else if (!r)
		printf("(run with --callgrind for instruction counts)\n");
	return r;
}
