// SPDX-License-Identifier: MIT
/*
 * The driver from several threads at once (also run under ThreadSanitizer), as the core
 * allows: threads mapping and unmapping disjoint ranges of one domain, each unmap synced
 * (strict), while another thread attaches and detaches that domain on a second device's
 * PASID (its cache tags change under the flushes), and a device thread does DMA through
 * its device TLB on a range that stays mapped. With the unit's check mode on: no stale
 * translation, every mapping where its thread left it, every DMA correct.
 */
#include "drv_test.h"

#include <pthread.h>

#define NMAP	   2
#define ROUNDS	   3000
#define PAGES	   16
#define STABLE	   0x7000000ull /* the DMA thread's range, mapped for the whole test */
#define TAG_STABLE 0x5151515151515151ull

static unsigned stale_reports;

static void on_stale(void *ctx, const struct vtd_stale *s)
{
	(void)ctx;
	/* Two identical faults are not stale (see test_vtd_driver_checker.c). */
	if (s->cached.status != PCI_SC && s->memory.status != PCI_SC &&
	    s->cached.fault == s->memory.fault)
		return;
	__atomic_fetch_add(&stale_reports, 1, __ATOMIC_RELAXED);
}

static void tweak(struct machine_config *c)
{
	c->vtd_cb.stale = on_stale;
}

struct shared {
	struct machine *m;
	struct machine_dev *a, *b;
	struct iommu_domain *dom;
	int stop;
	unsigned errors;
	unsigned dmas;
};

struct mapper {
	struct shared *sh;
	unsigned id;
};

/* Map and unmap its own 16-page windows; check them with iova_to_phys. */
static void *mapper_thread(void *arg)
{
	struct mapper *mp = arg;
	struct shared *sh = mp->sh;
	uint64_t base = 0x1000000ull * (mp->id + 1), pa;

	for (unsigned r = 0; r < ROUNDS; r++) {
		uint64_t iova = base + (uint64_t)(r % 8) * PAGES * SZ_4K;
		uint64_t phys = DATA_BASE + (uint64_t)(mp->id * 8 + r % 8) * PAGES * SZ_4K;

		if (iommu_map(sh->dom, iova, phys, PAGES * SZ_4K, IOMMU_READ | IOMMU_WRITE) ||
		    iommu_iova_to_phys(sh->dom, iova + 5 * SZ_4K, &pa) || pa != phys + 5 * SZ_4K ||
		    iommu_unmap(sh->dom, iova, PAGES * SZ_4K) != (ssize_t)(PAGES * SZ_4K) ||
		    iommu_iova_to_phys(sh->dom, iova, &pa) != -ENOENT)
			__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Attach and detach the domain on device b's PASID 3, again and again. */
static void *attacher_thread(void *arg)
{
	struct shared *sh = arg;

	for (unsigned r = 0; r < ROUNDS / 4; r++) {
		if (iommu_attach_device_pasid(sh->dom, sh->b->dev, 3) ||
		    iommu_detach_device_pasid(sh->dom, sh->b->dev, 3))
			__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* DMA through device a's ATC on the range that stays mapped. */
static void *dma_thread(void *arg)
{
	struct shared *sh = arg;
	uint64_t v;

	do {
		__atomic_fetch_add(&sh->dmas, 1, __ATOMIC_RELAXED);
		for (unsigned p = 0; p < 4; p++) {
			v = 0;
			if (pci_endpoint_dma_read(sh->a->ep, 0, 0, STABLE + p * SZ_4K, &v, 8,
						  NULL) ||
			    v != TAG_STABLE)
				__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
		}
	} while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE));
	return NULL;
}

static void test_concurrent(void)
{
	struct shared sh = {0};
	struct mapper mp[NMAP];
	pthread_t t[NMAP + 2];
	struct vtd_cache_stats cs;

	stale_reports = 0;
	sh.m = mk_machine(tweak);
	CHECK(sh.m);
	CHECK_EQ(vtd_set_check(sh.m->vtd, true), 0);
	sh.a = mk_dev(sh.m, PCI_RID(0, 1, 0), 20, true);
	sh.b = mk_dev(sh.m, PCI_RID(0, 2, 0), 20, true);
	CHECK(sh.a && sh.b);
	sh.dom = iommu_get_default_domain(sh.a->dev);
	for (unsigned p = 0; p < 4; p++)
		CHECK_EQ(mem_write64(sh.m->mem, DATA_BASE + 0x1000000 + p * SZ_4K, TAG_STABLE), 0);
	CHECK_EQ(iommu_map(sh.dom, STABLE, DATA_BASE + 0x1000000, 4 * SZ_4K, IOMMU_READ), 0);

	for (unsigned i = 0; i < NMAP; i++) {
		mp[i] = (struct mapper){&sh, i};
		CHECK_EQ(pthread_create(&t[i], NULL, mapper_thread, &mp[i]), 0);
	}
	CHECK_EQ(pthread_create(&t[NMAP], NULL, attacher_thread, &sh), 0);
	CHECK_EQ(pthread_create(&t[NMAP + 1], NULL, dma_thread, &sh), 0);
	for (unsigned i = 0; i <= NMAP; i++)
		pthread_join(t[i], NULL);
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t[NMAP + 1], NULL);

	CHECK_EQ(sh.errors, 0);
	CHECK(sh.dmas > 0);
	CHECK_EQ(__atomic_load_n(&stale_reports, __ATOMIC_RELAXED), 0);
	CHECK_EQ(vtd_get_cache_stats(sh.m->vtd, &cs), 0);
	CHECK(cs.checked > 0);
	CHECK_EQ(iommu_unmap(sh.dom, STABLE, 4 * SZ_4K), (ssize_t)(4 * SZ_4K));
	CHECK_EQ(machine_destroy(sh.m), 0);
}

int main(void)
{
	RUN(test_concurrent);
	return CHECK_DONE();
}
