// SPDX-License-Identifier: MIT
/*
 * A device reaching a mapping that is being made, with no other synchronisation than the
 * page table itself (run under ThreadSanitizer too): one thread writes a buffer and maps
 * it at a fresh IOVA, which needs new table pages (allocated, zeroed, then published by a
 * compare-and-swap); a device thread retries DMA at that IOVA until it gets through. The
 * unit's walk must see each table page as the CPU finished it, and the device the buffer
 * as the CPU wrote it before the map - which in C11 needs the walk's loads to acquire what
 * the page-table library's release stores published. With relaxed loads ThreadSanitizer
 * reported the zeroing of a new table page (and the buffer's contents) racing with the walk.
 */
#include "robust.h"

#include <pthread.h>
#include <sched.h>

#define NMAP	  128
#define IOVA(i)	  (0x100000000ull + (uint64_t)(i) * (SZ_2M + SZ_4K)) /* new tables each */
#define BUF(i)	  (0x40000000ull + (uint64_t)(i)*SZ_4K)
#define TAG(i)	  (0x6b6b000000000000ull | (i))
#define MAX_TRIES 10000000u

struct shared {
	struct machine *m;
	struct machine_dev *d;
	struct iommu_domain *dom;
	unsigned errors;
	unsigned long tries;
};

static void *mapper(void *arg)
{
	struct shared *sh = arg;

	for (unsigned i = 0; i < NMAP; i++) {
		if (mem_write64(sh->m->mem, BUF(i), TAG(i)) ||
		    iommu_map(sh->dom, IOVA(i), BUF(i), SZ_4K, IOMMU_READ))
			__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
		if (i % 4 == 0)
			sched_yield();
	}
	return NULL;
}

static void *device(void *arg)
{
	struct shared *sh = arg;

	for (unsigned i = 0; i < NMAP; i++) {
		uint64_t v = 0;
		unsigned n = 0;

		while (pci_endpoint_dma_read(sh->d->ep, 0, 0, IOVA(i), &v, 8, NULL)) {
			if (++n == MAX_TRIES) {
				__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
				return NULL;
			}
			sched_yield();
		}
		sh->tries += n;
		if (v != TAG(i))
			__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int run(enum intel_iommu_stage stage, bool ats)
{
	struct machine_config cfg;
	struct shared sh = {0};
	pthread_t a, b;

	machine_config_default(&cfg);
	cfg.driver.quiet = true;
	cfg.driver.default_stage = stage;
	CHECK_RET(machine_create(&cfg, &sh.m) == 0);
	sh.d = robust_dev(sh.m, PCI_RID(0, 5, 0), 0, ats, 0);
	CHECK_RET(sh.d);
	sh.dom = iommu_get_default_domain(sh.d->dev);
	CHECK_RET(pthread_create(&b, NULL, device, &sh) == 0);
	CHECK_RET(pthread_create(&a, NULL, mapper, &sh) == 0);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	CHECK_RET(sh.errors == 0);
	printf("stage %d, ats %d: %lu DMAs refused before the mappings appeared\n", (int)stage,
	       (int)ats, sh.tries);
	for (unsigned i = 0; i < NMAP; i++)
		CHECK_RET(iommu_unmap(sh.dom, IOVA(i), SZ_4K) == (ssize_t)SZ_4K);
	CHECK_RET(machine_destroy(sh.m) == 0);
	return 0;
}

static void test_first_stage(void)
{
	CHECK_EQ(run(INTEL_IOMMU_STAGE_FIRST, false), 0);
	CHECK_EQ(run(INTEL_IOMMU_STAGE_FIRST, true), 0);
}

static void test_second_stage(void)
{
	CHECK_EQ(run(INTEL_IOMMU_STAGE_SECOND, false), 0);
	CHECK_EQ(run(INTEL_IOMMU_STAGE_SECOND, true), 0);
}

int main(void)
{
	RUN(test_first_stage);
	RUN(test_second_stage);
	return CHECK_DONE();
}
