// SPDX-License-Identifier: MIT
/*
 * The DMA API's hot path on a whole machine (VT-d model + VT-d driver + core, a PCI
 * function with PASID and ATS, its kernel PASID enabled, first-stage default domain):
 *
 *  1. a dma_map_single + dma_unmap_single pair of a 4 KiB buffer, in strict mode
 *     (IOMMU_DOMAIN_DMA: every unmap sends page-selective invalidations for the RID and the
 *     kernel PASID, IOTLB and device TLB, and waits), in lazy mode (IOMMU_DOMAIN_DMA_FQ: one
 *     flush-all per 256 unmaps per thread) and in pass-through mode (no IOMMU work: the DMA
 *     API's own floor), with a 4 KiB memcpy for scale. One machine per mode, all built
 *     first and measured in interleaved rounds on one CPU; medians of the rounds.
 *     The share spent in invalidation (iotlb_sync after a strict unmap, the flush-all of a
 *     lazy queue) is measured on a second machine per mode with dma_dev_config.timing on,
 *     as that run's invalidation time over its total time; both of that run's figures are
 *     printed, since the clock reads timing adds make it slower than the untimed one.
 *  2. lazy mode, two threads mapping and unmapping at once against one: two worker threads
 *     pinned to two CPUs live for the whole run; each round runs worker A alone, worker B
 *     alone, then both; the round's ratio is the pairs per second of both together over the
 *     mean of the two alone (so two CPUs of different speed do not bias it); the median
 *     ratio over the rounds is the figure (target at least 1.6x), by the wall clock.
 *
 * On a shared machine run it as `chrt -f 1 build/bench_dma` (real-time priority keeps other
 * work off the CPUs while it runs, a couple of seconds).
 *
 *   build/bench_dma [scale]       scale multiplies the iteration counts
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <softiommu/dma.h>
#include <softiommu/machine.h>

#include "bench_harness.h"

#define DATA	 0x40000000ull /* buffers: plain memory below the page allocator */
#define ROUNDS	 15
#define NOINLINE __attribute__((noinline))

enum { STRICT, LAZY, DIRECT, NMODES };

static const char *const mode_name[NMODES] = {"strict", "lazy", "pass-through"};
static const int mode_type[NMODES] = {IOMMU_DOMAIN_DMA, IOMMU_DOMAIN_DMA_FQ, IOMMU_DOMAIN_IDENTITY};

struct bsys {
	struct machine *m;
	struct machine_dev *d;
	struct dma_dev *dma;
	uint32_t pasid;
};

static void bsys_init(struct bsys *s, int type, bool timing, uint16_t rid)
{
	struct machine_config cfg;
	struct machine_dev_config dc = {
	    .rid = rid, .pasid_width = 20, .ats = true, .def_domain_type = type};
	int ret;

	memset(s, 0, sizeof(*s));
	machine_config_default(&cfg);
	cfg.driver.quiet = true;
	cfg.driver.default_stage = INTEL_IOMMU_STAGE_FIRST;
	ret = machine_create(&cfg, &s->m);
	if (!ret)
		ret = machine_add_device(s->m, &dc, &s->d);
	if (!ret)
		ret = dma_dev_create(
		    &(struct dma_dev_config){
			.dev = s->d->dev, .mem = s->m->mem, .alloc = s->m->alloc, .timing = timing},
		    &s->dma);
	if (!ret)
		ret = dma_enable_pasid(s->dma, &s->pasid);
	if (ret) {
		fprintf(stderr, "bench_dma: cannot build the machine: %d\n", ret);
		exit(1);
	}
}

static void bsys_fini(struct bsys *s)
{
	dma_dev_destroy(s->dma);
	machine_destroy(s->m);
}

/* One map + unmap pair; the device would use the address in between. */
static NOINLINE int step_pair(struct dma_dev *d, uint64_t pa)
{
	dma_addr_t a = dma_map_single(d, pa, 4096, DMA_TO_DEVICE);

	if (a == DMA_MAPPING_ERROR)
		return -1;
	return dma_unmap_single(d, a, 4096, DMA_TO_DEVICE);
}

static void pairs(struct dma_dev *d, uint64_t pa, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (step_pair(d, pa)) {
			fprintf(stderr, "bench_dma: map/unmap failed\n");
			exit(1);
		}
	}
}

static NOINLINE void step_memcpy(void *dst, const void *src)
{
	memcpy(dst, src, 4096);
	__asm__ volatile("" : : "r"(dst) : "memory");
}

static uint64_t inv_descriptors(struct bsys *s)
{
	struct vtd_stats st;

	vtd_get_stats(s->m->vtd, &st);
	return st.inv.descriptors;
}

static uint64_t inv_ns(struct bsys *s)
{
	struct dma_stats st;

	dma_get_stats(s->dma, &st);
	return st.inv_ns;
}

/* ---- 1. one thread, per mode ----------------------------------------------------------------- */

struct mode_result {
	double ns;	  /* per pair, median of the rounds, timing off */
	double desc;	  /* invalidation descriptors per pair */
	double timed_ns;  /* per pair, timing on (median) */
	double inv_share; /* of the timed run (median) */
};

static void bench_modes(unsigned n, struct mode_result *res, double *memcpy_ns)
{
	static uint8_t src[4096], dst[4096];
	double ns[NMODES][ROUNDS], tns[NMODES][ROUNDS], share[NMODES][ROUNDS], cpy[ROUNDS];
	struct bsys plain[NMODES], timed[NMODES];
	uint64_t d0[NMODES];

	memset(src, 1, sizeof(src));
	for (int m = 0; m < NMODES; m++) {
		bsys_init(&plain[m], mode_type[m], false, 0x0310);
		bsys_init(&timed[m], mode_type[m], true, 0x0310);
		/* Warm the caches, the IOVA magazines and the flush queues. */
		pairs(plain[m].dma, DATA, n / 4);
		pairs(timed[m].dma, DATA, n / 4);
		d0[m] = inv_descriptors(&plain[m]);
	}
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = bench_wall_ns();

		for (unsigned i = 0; i < n; i++)
			step_memcpy(dst, src);
		cpy[r] = (bench_wall_ns() - t0) / n;
		for (int m = 0; m < NMODES; m++) {
			uint64_t i0;

			t0 = bench_wall_ns();
			pairs(plain[m].dma, DATA, n);
			ns[m][r] = (bench_wall_ns() - t0) / n;
			i0 = inv_ns(&timed[m]);
			t0 = bench_wall_ns();
			pairs(timed[m].dma, DATA, n);
			if (m == LAZY)
				dma_flush_queues(
				    timed[m].dma); /* charge the round its last flush */
			tns[m][r] = bench_wall_ns() - t0;
			share[m][r] = (double)(inv_ns(&timed[m]) - i0) / tns[m][r];
			tns[m][r] /= n;
		}
	}
	*memcpy_ns = bench_median(cpy, ROUNDS);
	for (int m = 0; m < NMODES; m++) {
		res[m].desc = (double)(inv_descriptors(&plain[m]) - d0[m]) / ((double)n * ROUNDS);
		res[m].ns = bench_median(ns[m], ROUNDS);
		res[m].timed_ns = bench_median(tns[m], ROUNDS);
		res[m].inv_share = bench_median(share[m], ROUNDS);
		bsys_fini(&plain[m]);
		bsys_fini(&timed[m]);
	}
}

/* ---- 2. lazy scaling ---------------------------------------------------------------------- */

#define SCALE_ROUNDS 21

struct scaling {
	struct dma_dev *d;
	unsigned n;
};

/* Worker i's share of a phase: n pairs on its own buffer. */
static void scaling_work(void *ctx, int worker)
{
	const struct scaling *s = ctx;

	pairs(s->d, DATA + (uint64_t)worker * 0x100000ull, s->n);
}

static void bench_scaling(unsigned n, const int cpu[2])
{
	struct bench_pair_result res;
	struct scaling s = {.n = n};
	struct bsys sys;

	bsys_init(&sys, IOMMU_DOMAIN_DMA_FQ, false, 0x0310);
	s.d = sys.dma;
	if (bench_pair_scaling(scaling_work, &s, cpu, SCALE_ROUNDS, &res)) {
		bsys_fini(&sys);
		printf("\nlazy scaling: cannot start a worker thread\n");
		return;
	}
	bsys_fini(&sys);
	printf("\nlazy map+unmap pairs, two workers %s, %d rounds of %u pairs (medians)\n",
	       cpu[0] >= 0 ? "pinned to two CPUs" : "(not pinned: fewer than two CPUs)",
	       SCALE_ROUNDS, n);
	for (int i = 0; i < 2; i++)
		printf(
		    "  worker %d (CPU %d): alone %5.0f ns per pair, with the other running %5.0f "
		    "ns\n",
		    i, cpu[i], res.alone_ns[i] / n, res.both_ns[i] / n);
	printf("  2 threads / 1 thread: %.2fx by the wall clock (target >= 1.6x)\n", res.ratio);
}

int main(int argc, char **argv)
{
	double scale = argc > 1 ? atof(argv[1]) : 1.0;
	unsigned n = (unsigned)(20000 * scale);
	struct mode_result r[NMODES];
	int cpu[2] = {-1, -1};
	double cpy;

	if (n < 100)
		n = 100;
	/* The CPUs this process may use, before part 1 pins it to one. */
	if (bench_cpus(cpu, 2) < 2)
		cpu[0] = cpu[1] = -1;
	bench_pin();
	bench_modes(n, r, &cpy);
	printf("bench_dma: 4 KiB dma_map_single + dma_unmap_single on the machine\n");
	printf("(VT-d model + driver, first stage, ATS, kernel PASID enabled; medians of %d "
	       "interleaved rounds of %u pairs, one CPU)\n\n",
	       ROUNDS, n);
	printf("%-14s %9s %9s %14s  %s\n", "mode", "ns/pair", "x direct", "inv desc/pair",
	       "invalidation (run with timing on)");
	for (int m = 0; m < NMODES; m++) {
		printf("%-14s %9.0f %9.1f %14.2f", mode_name[m], r[m].ns, r[m].ns / r[DIRECT].ns,
		       r[m].desc);
		if (m == DIRECT)
			printf("  -\n");
		else
			printf("  %4.1f %% of %4.0f ns per pair = %4.0f ns\n", 100 * r[m].inv_share,
			       r[m].timed_ns, r[m].inv_share * r[m].timed_ns);
	}
	printf("%-14s %9.0f\n", "memcpy 4 KiB", cpy);
	printf("\nlazy costs %.1fx less than strict; the runs with timing on are slower by two "
	       "clock reads per\ninvalidation, which are counted in the invalidation time\n",
	       r[STRICT].ns / r[LAZY].ns);
	bench_scaling(n * 2, cpu);
	return 0;
}
