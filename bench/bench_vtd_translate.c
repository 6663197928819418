// SPDX-License-Identifier: MIT
/*
 * The cost of one fully uncached VT-d translation - root entry, scalable context entry,
 * PASID directory and table entry, then a 4-level first-stage walk to a 4 KiB page -
 * against a bare 4-level radix walk over the same page tables in the same memory,
 * measured in the same run: pinned to one CPU, model and baseline batches interleaved,
 * medians of the per-translation times and their ratio. Target: <= 5x.
 *
 * With --callgrind the program runs each loop again under `valgrind --tool=callgrind`
 * (collecting only inside the loop) and prints instructions per translation and the
 * ratio. Target: <= 600 instructions.
 *
 *   bench_vtd_translate [--callgrind] [rounds]
 *   bench_vtd_translate --inner model|bare|checked N     (used by --callgrind)
 *
 * Instruction counts include the benchmark loop itself (about 12 per iteration for the
 * model, included in the bare walk's count too).
 */
#include "bench_harness.h"
#include "bench_vtd.h"

#include <softiommu/vtd.h>

#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE (1ull << 30)
#define TABLES	 0x1000000ull
#define DATA	 0x20000000ull
#define NADDR	 4096 /* distinct pages translated in turn (8 leaf tables) */
#define BATCH	 20000
#define RID	 PCI_RID(0x3a, 2, 0)
#define PASID	 0x42u

struct bench {
	struct bench_fs fs;
	uint64_t addrs[NADDR];
};

/* Tables as a driver writes them: root -> scalable context -> PASID dir -> PASID entry
 * (first-stage, 4-level) -> PML4 -> PDPT -> PD -> PT -> 4 KiB pages. */
static int setup(struct bench *b)
{
	struct vtd_config c;

	vtd_config_default(&c);
	/* Fully uncached: no context, PASID or IOTLB cache. */
	c.context_cache.sets = c.pasid_cache.sets = c.iotlb.sets = c.pscache.sets = 0;
	if (bench_fs_setup(&b->fs, &c, MEM_SIZE, TABLES, RID, PASID, 7))
		return -1;
	for (unsigned i = 0; i < NADDR; i++) {
		uint64_t va = 0x7f0000000000ull + (uint64_t)i * 4096;

		bench_fs_map(&b->fs, va, DATA + (uint64_t)i * 4096);
		/* Visit the pages in a scattered order so the walk is not a stride. */
		b->addrs[(i * 2654435761u) % NADDR] = va + (i & 0xff8);
	}
	bench_fs_enable(&b->fs);
	return 0;
}

static volatile uint64_t sink;

__attribute__((noinline)) static uint64_t model_loop(struct bench *b, long n)
{
	return bench_fs_translate_each(&b->fs, b->addrs, NADDR - 1, n);
}

/* The baseline: the same 4-level walk with nothing else - a present check per level. */
__attribute__((noinline)) static uint64_t bare_loop(struct bench *b, long n)
{
	return bench_fs_bare_walk_each(&b->fs, MEM_SIZE, b->addrs, NADDR - 1, n);
}

/* CPU time of this thread: the machine is shared, and wall time would charge whichever
 * loop happened to be preempted. */
/* A second baseline: the same walk through the memory API (mem_read64: alignment and
 * range checked, as any walker of hostile tables must be). Printed for context. */
__attribute__((noinline)) static uint64_t checked_loop(struct bench *b, long n)
{
	uint64_t acc = 0;

	for (long i = 0; i < n; i++) {
		uint64_t va = b->addrs[i & (NADDR - 1)], table = b->fs.fsroot, e = 0;

		for (unsigned lvl = 4; lvl >= 1; lvl--) {
			if (mem_read64(b->fs.m, table + VTD_PT_INDEX(va, lvl) * 8, &e) ||
			    !(e & VTD_FL_P))
				break;
			table = e & VTD_FL_ADDR_MASK;
		}
		acc += table | (va & 0xfff);
	}
	return acc;
}

static void pin(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("sched_setaffinity");
}

static int timed(struct bench *b, int rounds)
{
	double *tm = calloc((size_t)rounds, sizeof(double));
	double *tb = calloc((size_t)rounds, sizeof(double));
	double *tc = calloc((size_t)rounds, sizeof(double));
	uint64_t check_model, check_bare;

	if (!tm || !tb || !tc)
		return 1;
	/* The model and the bare walk must agree, or the comparison means nothing. */
	check_model = model_loop(b, NADDR);
	check_bare = bare_loop(b, NADDR);
	if (check_model != check_bare || checked_loop(b, NADDR) != check_bare) {
		fprintf(stderr, "model and bare walk disagree\n");
		return 1;
	}
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < 2; k++) {
			bool model = (r + k) & 1; /* alternate which goes first */
			/* Batches of similar duration: the bare walk gets more iterations. */
			long n = model ? BATCH : BATCH * 8;
			double t0 = bench_thread_ns();

			sink += model ? model_loop(b, n) : bare_loop(b, n);
			(model ? tm : tb)[r] = (bench_thread_ns() - t0) / (double)n;
		}
		double t0 = bench_thread_ns();
		sink += checked_loop(b, BATCH * 8);
		tc[r] = (bench_thread_ns() - t0) / (double)(BATCH * 8);
	}
	double mm = bench_median(tm, rounds), mb = bench_median(tb, rounds),
	       mc = bench_median(tc, rounds);
	printf("uncached translation (root, context, PASID dir+entry, 4-level FS, 4 KiB):\n");
	printf("  model      %7.1f ns  (median of %d batches of %d, thread CPU time)\n", mm, rounds,
	       BATCH);
	printf("  bare walk  %7.1f ns  (4 loads, same tables; batches of %d)\n", mb, BATCH * 8);
	printf("  ratio      %7.2f x   (target <= 5)\n", mm / mb);
	printf("  (a walk through mem_read64, bounds-checked: %.1f ns; model / that: %.2f x)\n", mc,
	       mm / mc);
	free(tm);
	free(tb);
	free(tc);
	return 0;
}

static int with_callgrind(const char *self)
{
	const long n = 100000;
	long long im = bench_callgrind_inner(self, "model", "model_loop", n);
	long long ib = bench_callgrind_inner(self, "bare", "bare_loop", n);
	long long ic = bench_callgrind_inner(self, "checked", "checked_loop", n);

	if (im < 0 || ib < 0 || ic < 0) {
		fprintf(stderr, "callgrind run failed (is valgrind installed?)\n");
		return 1;
	}
	printf("instructions per translation (callgrind, %ld translations):\n", n);
	printf("  model      %7.1f   (target <= 600)\n", (double)im / n);
	printf("  bare walk  %7.1f\n", (double)ib / n);
	printf("  ratio      %7.2f x\n", (double)im / (double)ib);
	printf("  (walk through mem_read64: %.1f; model / that: %.2f x)\n", (double)ic / n,
	       (double)im / (double)ic);
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b;
	int rounds = 31, r;

	if (setup(&b)) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	if (argc == 4 && !strcmp(argv[1], "--inner")) {
		long n = atol(argv[3]);
		sink = !strcmp(argv[2], "model")  ? model_loop(&b, n)
		       : !strcmp(argv[2], "bare") ? bare_loop(&b, n)
						  : checked_loop(&b, n);
		return 0;
	}
	pin();
	bool cg = argc > 1 && !strcmp(argv[1], "--callgrind");
	if (argc > 1 + cg)
		rounds = atoi(argv[1 + cg]) > 0 ? atoi(argv[1 + cg]) : rounds;
	r = timed(&b, rounds);
	if (!r && cg)
		r = with_callgrind(argv[0]);
	else if (!r)
		printf("(run with --callgrind for instruction counts)\n");
	vtd_destroy(b.fs.vtd);
	mem_destroy(b.fs.m);
	return r;
}
