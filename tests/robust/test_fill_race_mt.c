// SPDX-License-Identifier: MIT
/*
 * A cache fill racing with an invalidation (also under ThreadSanitizer). Device threads
 * translate one IOVA over and over while a CPU thread maps it, unmaps it (a strict flush)
 * and at once asks the unit itself: the unmapped page must fault. A walk that read the
 * table before the unmap may only put its result in a cache if no invalidation began
 * since - and the check must not miss an invalidation that began while the fill was under
 * way. Two ways it did: the request cache took answers from IOTLB entries that an
 * invalidation had begun to drop but not dropped yet, under the generation that
 * invalidation had already started, so they outlived it (this test found that); and the
 * invalidation skipped sets where it saw nothing to drop, so a fill that had checked the
 * generation just before and wrote its entry just after left it behind (a narrower window
 * of the same kind, closed by reasoning; this test goes through it too).
 */
#include "robust.h"

#include <pthread.h>

#define IOVA  0x200000ull
#define DATA  0x40000000ull
#define NDEVT 2

struct shared {
	struct machine *m;
	struct machine_dev *d;
	unsigned stop;
	unsigned long translations;
};

static void *device(void *arg)
{
	struct shared *sh = arg;
	unsigned long n = 0;

	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		robust_xlate(sh->m->vtd, sh->d->rid, IOMMU_PASID_INVALID, IOVA, false);
		if (++n % 64 == 0)
			__atomic_fetch_add(&sh->translations, 64, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int run(enum intel_iommu_stage stage, unsigned rounds)
{
	struct machine_config cfg;
	struct shared sh = {0};
	struct iommu_domain *dom;
	pthread_t t[NDEVT];
	unsigned stale = 0, lost = 0, r;

	machine_config_default(&cfg);
	cfg.driver.quiet = true;
	cfg.driver.default_stage = stage;
	/* One set: every fill and every invalidation meet there. */
	cfg.vtd.iotlb = (struct vtd_cache_geom){.sets = 1, .ways = 4};
	CHECK_RET(machine_create(&cfg, &sh.m) == 0);
	sh.d = robust_dev(sh.m, PCI_RID(0, 3, 0), 0, false, 0);
	CHECK_RET(sh.d);
	dom = iommu_get_default_domain(sh.d->dev);
	for (unsigned k = 0; k < NDEVT; k++)
		CHECK_RET(pthread_create(&t[k], NULL, device, &sh) == 0);
	/* (Past `rounds`, on until the device threads had their share: a loaded machine may
	 * not have run them yet.) */
	for (r = 0;
	     r < rounds || (r < 20 * rounds &&
			    __atomic_load_n(&sh.translations, __ATOMIC_RELAXED) < 20ul * rounds);
	     r++) {
		uint64_t pa = DATA + (r % 8) * SZ_4K;
		struct pci_resp resp;

		CHECK_RET(iommu_map(dom, IOVA, pa, SZ_4K, IOMMU_READ) == 0);
		resp = robust_xlate(sh.m->vtd, sh.d->rid, IOMMU_PASID_INVALID, IOVA, false);
		lost += resp.status != PCI_SC || resp.addr != pa;
		CHECK_RET(iommu_unmap(dom, IOVA, SZ_4K) == (ssize_t)SZ_4K);
		resp = robust_xlate(sh.m->vtd, sh.d->rid, IOMMU_PASID_INVALID, IOVA, false);
		stale += resp.status == PCI_SC;
	}
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
	for (unsigned k = 0; k < NDEVT; k++)
		pthread_join(t[k], NULL);
	printf("stage %d: %u rounds, %lu racing translations: %u stale after unmap, %u lost\n",
	       (int)stage, r, sh.translations, stale, lost);
	CHECK_RET(stale == 0 && lost == 0);
	CHECK_RET(sh.translations >= rounds);
	CHECK_RET(machine_destroy(sh.m) == 0);
	return 0;
}

static void test_fill_race(void)
{
	unsigned rounds = (unsigned)robust_env("SOFTIOMMU_STRESS_ROUNDS", 800) * 25;

	CHECK_EQ(run(INTEL_IOMMU_STAGE_FIRST, rounds), 0);
	CHECK_EQ(run(INTEL_IOMMU_STAGE_SECOND, rounds), 0);
}

int main(void)
{
	RUN(test_fill_race);
	return CHECK_DONE();
}
