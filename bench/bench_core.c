// SPDX-License-Identifier: MIT
/*
 * What the IOMMU core itself costs on the hot paths, each beside a baseline measured in the
 * same run: the same driver ops called directly (so the ratio is the core's overhead over
 * the driver's own work), a bare array load, a mutex pair. The driver here is a flat array
 * of 4 KiB entries that does almost nothing, which makes the core's share as visible as it
 * can be; with a real page table the ratios only shrink.
 *
 * Times are thread CPU time, pinned to one CPU, medians of rounds in which the step and its
 * baseline alternate (bench_harness.h); the 256-page unmaps are timed in batches of
 * UNMAP_BATCH, mapped beforehand.
 *
 *   build/bench_core [iterations-scale]       times and ratios
 *
 * Instruction counts: every measured step is a noinline function, so
 *   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out build/bench_core 0.01
 *   callgrind_annotate --inclusive=yes /tmp/cg.out | grep step_
 * gives instructions per call (inclusive count / calls, see the "calls" printed below).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <softiommu/iommu.h>

#include "bench_harness.h"

#define NPTES	    (1u << 16) /* 256 MiB of 4 KiB pages */
#define SZ_4K	    4096ull
#define NOINLINE    __attribute__((noinline))
#define ROUNDS	    15
#define UNMAP_BATCH 64 /* 256-page runs mapped, then unmapped under one clock pair */

/* ---- a flat, do-nothing driver ------------------------------------------------------- */

struct flat_domain {
	struct iommu_domain domain;
	uint64_t pte[NPTES];
	unsigned long syncs;
};

static struct flat_domain *to_flat(struct iommu_domain *d)
{
	return (struct flat_domain *)(void *)d;
}

static int flat_attach(struct iommu_domain *d, struct iommu_dev *dev, struct iommu_domain *old)
{
	(void)d, (void)dev, (void)old;
	return 0;
}

static int flat_set_dev_pasid(struct iommu_domain *d, struct iommu_dev *dev, uint32_t pasid,
			      struct iommu_domain *old)
{
	(void)d, (void)dev, (void)pasid, (void)old;
	return 0;
}

static int flat_map_pages(struct iommu_domain *d, uint64_t iova, uint64_t paddr, uint64_t pgsize,
			  size_t pgcount, unsigned int prot, uint64_t *mapped)
{
	struct flat_domain *fd = to_flat(d);

	(void)pgsize;
	for (size_t i = 0; i < pgcount; i++)
		fd->pte[(iova >> 12) + i] = (paddr + i * SZ_4K) | prot | 1;
	*mapped = pgcount * SZ_4K;
	return 0;
}

static uint64_t flat_unmap_pages(struct iommu_domain *d, uint64_t iova, uint64_t pgsize,
				 size_t pgcount, struct iommu_iotlb_gather *gather)
{
	struct flat_domain *fd = to_flat(d);
	size_t i;

	(void)pgsize;
	for (i = 0; i < pgcount && fd->pte[(iova >> 12) + i]; i++)
		fd->pte[(iova >> 12) + i] = 0;
	iommu_iotlb_gather_add_range(gather, iova, i * SZ_4K);
	return i * SZ_4K;
}

static void flat_iotlb_sync(struct iommu_domain *d, struct iommu_iotlb_gather *gather)
{
	(void)gather;
	to_flat(d)->syncs++;
}

static int flat_iova_to_phys(struct iommu_domain *d, uint64_t iova, uint64_t *paddr)
{
	uint64_t pte = to_flat(d)->pte[(iova >> 12) % NPTES];

	if (!pte)
		return -ENOENT;
	*paddr = (pte & ~0xfffull) | (iova & 0xfff);
	return 0;
}

static void flat_free(struct iommu_domain *d)
{
	free(to_flat(d));
}

static const struct iommu_domain_ops flat_domain_ops = {
    .attach_dev = flat_attach,
    .set_dev_pasid = flat_set_dev_pasid,
    .map_pages = flat_map_pages,
    .unmap_pages = flat_unmap_pages,
    .iotlb_sync = flat_iotlb_sync,
    .iova_to_phys = flat_iova_to_phys,
    .free = flat_free,
};

static const struct iommu_domain_ops flat_static_ops = {
    .attach_dev = flat_attach,
    .set_dev_pasid = flat_set_dev_pasid,
};

static struct iommu_domain flat_blocked = {.type = IOMMU_DOMAIN_BLOCKED, .ops = &flat_static_ops};

static int flat_probe(struct iommu_dev *dev)
{
	(void)dev;
	return 0;
}

static int flat_alloc(struct iommu_dev *dev, unsigned int flags, struct iommu_domain **out)
{
	struct flat_domain *fd = calloc(1, sizeof(*fd));

	(void)dev, (void)flags;
	if (!fd)
		return -ENOMEM;
	fd->domain.ops = &flat_domain_ops;
	fd->domain.pgsize_bitmap = SZ_4K;
	fd->domain.aperture_end = (uint64_t)NPTES * SZ_4K - 1;
	*out = &fd->domain;
	return 0;
}

static const struct iommu_ops flat_ops = {
    .probe_device = flat_probe,
    .domain_alloc_paging = flat_alloc,
    .blocked_domain = &flat_blocked,
};

/* ---- the steps ------------------------------------------------------------------------ */

static struct iommu_domain *dom;
static struct iommu_dev *dev;
static struct iommu_domain *bare_table[1024];
static pthread_mutex_t bare_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile uintptr_t sink;

NOINLINE static void step_core_map_unmap_4k(uint64_t i)
{
	uint64_t iova = (i % NPTES) * SZ_4K;

	iommu_map(dom, iova, iova, SZ_4K, IOMMU_READ | IOMMU_WRITE);
	iommu_unmap(dom, iova, SZ_4K);
}

NOINLINE static void step_driver_map_unmap_4k(uint64_t i)
{
	uint64_t iova = (i % NPTES) * SZ_4K, mapped;
	struct iommu_iotlb_gather g;

	dom->ops->map_pages(dom, iova, iova, SZ_4K, 1, IOMMU_READ | IOMMU_WRITE, &mapped);
	iommu_iotlb_gather_init(&g);
	dom->ops->unmap_pages(dom, iova, SZ_4K, 1, &g);
	dom->ops->iotlb_sync(dom, &g);
}

/* Run i of a batch: 256 pages at 1 MiB * i (map_256 maps it, untimed). */
static uint64_t run_iova(uint64_t i)
{
	return (i % UNMAP_BATCH) * 256 * SZ_4K;
}

/* The run's 256 pages are mapped before each of these; only the unmap and its one sync count. */
NOINLINE static void step_core_unmap_256(uint64_t i)
{
	iommu_unmap(dom, run_iova(i), 256 * SZ_4K);
}

NOINLINE static void step_driver_unmap_256(uint64_t i)
{
	struct iommu_iotlb_gather g;

	iommu_iotlb_gather_init(&g);
	dom->ops->unmap_pages(dom, run_iova(i), SZ_4K, 256, &g);
	dom->ops->iotlb_sync(dom, &g);
}

NOINLINE static void step_core_lookup(uint64_t i)
{
	sink = (uintptr_t)iommu_get_domain_for_dev_pasid(dev, (uint32_t)(i & 1023));
}

NOINLINE static void step_bare_lookup(uint64_t i)
{
	sink = (uintptr_t)__atomic_load_n(&bare_table[i & 1023], __ATOMIC_ACQUIRE);
}

NOINLINE static void step_core_pasid_attach_detach(uint64_t i)
{
	uint32_t pasid = 1 + (uint32_t)(i & 1022);

	iommu_attach_device_pasid(dom, dev, pasid);
	iommu_detach_device_pasid(dom, dev, pasid);
}

NOINLINE static void step_driver_set_dev_pasid_pair(uint64_t i)
{
	uint32_t pasid = 1 + (uint32_t)(i & 1022);

	dom->ops->set_dev_pasid(dom, dev, pasid, NULL);
	flat_blocked.ops->set_dev_pasid(&flat_blocked, dev, pasid, dom);
}

NOINLINE static void step_core_global_pasid(uint64_t i)
{
	int p = iommu_alloc_global_pasid(dev);

	(void)i;
	iommu_free_global_pasid(dev, (uint32_t)p);
}

NOINLINE static void step_mutex_pair(uint64_t i)
{
	(void)i;
	pthread_mutex_lock(&bare_lock);
	sink++;
	pthread_mutex_unlock(&bare_lock);
}

static void map_256(uint64_t i)
{
	iommu_map(dom, run_iova(i), run_iova(i), 256 * SZ_4K, IOMMU_READ);
}

/* ---- timing --------------------------------------------------------------------------- */

/* A step and its baseline; `before` (untimed, optional) prepares each call. */
struct comparison {
	void (*step[2])(uint64_t);
	void (*before)(uint64_t);
	uint64_t n;		 /* calls per round */
	void (*timed)(uint64_t); /* what this round's bench_prepared_ns() times */
};

static void prep(void *ctx, int j)
{
	((const struct comparison *)ctx)->before((uint64_t)j);
}

static void op(void *ctx, int j)
{
	((const struct comparison *)ctx)->timed((uint64_t)j);
}

/* One round of the step (k = 0) or its baseline (k = 1): thread CPU time per call. */
static double run_round(void *ctx, int k)
{
	struct comparison *c = ctx;
	double t0;

	if (c->before) {
		c->timed = c->step[k];
		return bench_prepared_ns(prep, op, ctx, UNMAP_BATCH, (int)(c->n / UNMAP_BATCH));
	}
	t0 = bench_thread_ns();
	for (uint64_t i = 0; i < c->n; i++)
		c->step[k](i);
	return (bench_thread_ns() - t0) / (double)c->n;
}

static void report(const char *what, void (*step)(uint64_t), const char *base_name,
		   void (*base)(uint64_t), void (*before)(uint64_t), uint64_t n)
{
	struct comparison c = {
	    {step, base}, before, before ? n / UNMAP_BATCH * UNMAP_BATCH : n, NULL};
	double s[2 * ROUNDS], t, b;

	bench_interleave(2, ROUNDS, run_round, &c, s);
	t = bench_median(s, ROUNDS);
	b = bench_median(s + ROUNDS, ROUNDS);
	printf("%-34s %8.1f ns   %-30s %8.1f ns   ratio %5.2f   (%llu calls x %d)\n", what, t,
	       base_name, b, t / b, (unsigned long long)c.n, ROUNDS);
}

int main(int argc, char **argv)
{
	double scale = argc > 1 ? atof(argv[1]) : 1.0;
	struct iommu_device unit = {.ops = &flat_ops, .name = "flat", .max_pasids = 1u << 20};
	struct iommu_dev_info info = {.rid = 1, .pasid_width = 20};
	struct iommu_core *core;
	uint64_t n = (uint64_t)(200000 * scale) + 1;

	if (iommu_core_create(NULL, &core) || iommu_device_register(core, &unit) ||
	    iommu_probe_device(&unit, &info, &dev) || iommu_paging_domain_alloc(dev, 0, &dom)) {
		fprintf(stderr, "bench_core: set-up failed\n");
		return 1;
	}
	if (bench_pin())
		perror("sched_setaffinity");
	printf("bench_core: the core's cost over a do-nothing driver (lower ratio is better; "
	       "medians of %d rounds, thread CPU time)\n",
	       ROUNDS);
	report("iommu_map+iommu_unmap 4K", step_core_map_unmap_4k, "driver map+unmap+sync",
	       step_driver_map_unmap_4k, NULL, n);
	report("iommu_unmap 256x4K, one sync", step_core_unmap_256, "driver unmap_pages+sync",
	       step_driver_unmap_256, map_256, n / 20 + UNMAP_BATCH);
	report("iommu_get_domain_for_dev_pasid", step_core_lookup, "bare array load",
	       step_bare_lookup, NULL, n * 4);
	report("attach+detach PASID", step_core_pasid_attach_detach, "driver set_dev_pasid x2",
	       step_driver_set_dev_pasid_pair, NULL, n);
	report("global PASID alloc+free", step_core_global_pasid, "mutex lock+unlock",
	       step_mutex_pair, NULL, n);

	iommu_domain_free(dom);
	iommu_release_device(dev);
	iommu_device_unregister(&unit);
	iommu_core_destroy(core);
	return 0;
}
