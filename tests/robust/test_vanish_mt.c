// SPDX-License-Identifier: MIT
/*
 * An endpoint that hangs, or is removed, while several threads flush (also under
 * ThreadSanitizer). Two CPU threads map and unmap their own pages of one domain, attached
 * to three ATS devices (A on its RID, B and C on PASID 1); device threads do DMA through B
 * and C and check what they read; midway A stops answering invalidations. Whichever flush
 * meets the time-out marks A gone and revokes its ATS, the others go on: nothing waits out
 * its poll limit, A is marked once, B's and C's accesses stay right (a page is only read
 * while its owner has it mapped, and faults once it has been unmapped and flushed), and A
 * can no longer use what its device TLB holds.
 */
#include "robust.h"

#include <pthread.h>
#include <sched.h>

#define NOWN	  2
#define NPG	  8 /* pages per owner */
#define IOVA	  0x10000000ull
#define DATA	  0x40000000ull
#define TAG(o, p) (0x7600000000000000ull | (uint64_t)(o) << 8 | (p))

struct page_state {
	unsigned seq; /* odd while it changes (one writer: its owner) */
	int mapped;
};

struct shared {
	struct machine *m;
	struct machine_dev *a, *b, *c;
	struct iommu_domain *dom;
	struct page_state pg[NOWN][NPG];
	unsigned owners_left;
	unsigned rounds;
	unsigned long errors, dmas, stable;
	enum pci_endpoint_state how;
};

static uint64_t pg_iova(unsigned o, unsigned p)
{
	return IOVA + (uint64_t)(p * NOWN + o) * SZ_4K;
}

struct owner_arg {
	struct shared *sh;
	unsigned o;
};

static void *owner(void *arg)
{
	struct shared *sh = ((struct owner_arg *)arg)->sh;
	unsigned o = ((struct owner_arg *)arg)->o;
	uint64_t rng = 0x77 + o;

	for (unsigned r = 0; r < sh->rounds; r++) {
		unsigned p = (unsigned)(check_rand(&rng) % NPG);
		struct page_state *ps = &sh->pg[o][p];
		int ret;

		if (o == 0 && r == sh->rounds / 2)
			pci_endpoint_set_state(sh->a->ep, sh->how);
		__atomic_fetch_add(&ps->seq, 1, __ATOMIC_ACQ_REL);
		if (ps->mapped)
			ret = iommu_unmap(sh->dom, pg_iova(o, p), SZ_4K) == (ssize_t)SZ_4K ? 0 : -1;
		else
			ret = iommu_map(sh->dom, pg_iova(o, p),
					DATA + (uint64_t)(o * NPG + p) * SZ_4K, SZ_4K, IOMMU_READ);
		if (ret)
			__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&ps->mapped, !ps->mapped, __ATOMIC_RELAXED);
		__atomic_fetch_add(&ps->seq, 1, __ATOMIC_RELEASE);
		if (r % 8 == 0)
			sched_yield();
	}
	__atomic_fetch_sub(&sh->owners_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *device(void *arg)
{
	struct shared *sh = arg;
	uint64_t rng = 0xde;

	while (__atomic_load_n(&sh->owners_left, __ATOMIC_ACQUIRE)) {
		unsigned o = (unsigned)(check_rand(&rng) % NOWN),
			 p = (unsigned)(check_rand(&rng) % NPG);
		struct machine_dev *d = check_rand(&rng) % 2 ? sh->b : sh->c;
		struct page_state *ps = &sh->pg[o][p];
		unsigned s1 = __atomic_load_n(&ps->seq, __ATOMIC_ACQUIRE), s2;
		int mapped = __atomic_load_n(&ps->mapped, __ATOMIC_RELAXED);
		uint64_t v = 0;
		int ret =
		    pci_endpoint_dma_read(d->ep, PCI_DMA_PASID, 1, pg_iova(o, p), &v, 8, NULL);

		s2 = __atomic_fetch_add(&ps->seq, 0, __ATOMIC_ACQ_REL);
		__atomic_fetch_add(&sh->dmas, 1, __ATOMIC_RELAXED);
		if (ret == -EAGAIN)
			continue;
		if (!ret && v != TAG(o, p))
			__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
		if (s1 != s2 || (s1 & 1))
			continue;
		__atomic_fetch_add(&sh->stable, 1, __ATOMIC_RELAXED);
		if (mapped ? ret != 0 : ret == 0)
			__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int run(enum pci_endpoint_state how)
{
	struct machine_config cfg;
	struct shared sh = {0};
	struct intel_iommu_stats st;
	pthread_t own[NOWN], dev;
	struct owner_arg oa[NOWN];
	uint64_t v;

	machine_config_default(&cfg);
	cfg.driver.quiet = true;
	CHECK_RET(machine_create(&cfg, &sh.m) == 0);
	sh.a = robust_dev(sh.m, PCI_RID(0, 2, 0), 20, true, 0);
	sh.b = robust_dev(sh.m, PCI_RID(0, 3, 0), 20, true, 0);
	sh.c = robust_dev(sh.m, PCI_RID(0, 4, 0), 20, true, 0);
	CHECK_RET(sh.a && sh.b && sh.c);
	CHECK_RET(iommu_paging_domain_alloc(sh.a->dev, 0, &sh.dom) == 0);
	CHECK_RET(iommu_attach_device(sh.dom, sh.a->dev) == 0);
	CHECK_RET(iommu_attach_device_pasid(sh.dom, sh.b->dev, 1) == 0);
	CHECK_RET(iommu_attach_device_pasid(sh.dom, sh.c->dev, 1) == 0);
	for (unsigned o = 0; o < NOWN; o++) {
		for (unsigned p = 0; p < NPG; p++)
			CHECK_RET(mem_write64(sh.m->mem, DATA + (uint64_t)(o * NPG + p) * SZ_4K,
					      TAG(o, p)) == 0);
	}
	/* A's device TLB holds a page before anything happens. */
	CHECK_RET(iommu_map(sh.dom, IOVA - SZ_4K, DATA, SZ_4K, IOMMU_READ) == 0);
	CHECK_RET(pci_endpoint_dma_read(sh.a->ep, 0, 0, IOVA - SZ_4K, &v, 8, NULL) == 0);
	sh.how = how;
	sh.rounds = (unsigned)robust_env("SOFTIOMMU_STRESS_ROUNDS", 800);
	sh.owners_left = NOWN;
	CHECK_RET(pthread_create(&dev, NULL, device, &sh) == 0);
	for (unsigned o = 0; o < NOWN; o++) {
		oa[o] = (struct owner_arg){&sh, o};
		CHECK_RET(pthread_create(&own[o], NULL, owner, &oa[o]) == 0);
	}
	for (unsigned o = 0; o < NOWN; o++)
		pthread_join(own[o], NULL);
	pthread_join(dev, NULL);
	CHECK_RET(iommu_unmap(sh.dom, IOVA - SZ_4K, SZ_4K) == (ssize_t)SZ_4K);
	CHECK_RET(intel_iommu_get_stats(sh.m->iommu, &st) == 0);
	printf("endpoint %s midway: %lu DMAs (%lu stable), %llu device-TLB time-outs, %llu "
	       "devices gone, %llu waits timed out, %lu errors\n",
	       how == PCI_EP_HUNG ? "hung" : "removed", sh.dmas, sh.stable,
	       (unsigned long long)st.devtlb_timeouts, (unsigned long long)st.devices_gone,
	       (unsigned long long)st.wait_timeouts, sh.errors);
	CHECK_RET(sh.errors == 0);
	CHECK_RET(st.devices_gone == 1 && st.devtlb_timeouts >= 1 && st.wait_timeouts == 0);
	CHECK_RET(intel_iommu_dev_gone(sh.a->dev) && !intel_iommu_dev_gone(sh.b->dev));
	/* What A's device TLB held is of no use any more. */
	CHECK_RET(pci_endpoint_set_state(sh.a->ep, PCI_EP_ACTIVE) == 0);
	CHECK_RET(pci_endpoint_dma_read(sh.a->ep, 0, 0, IOVA - SZ_4K, &v, 8, NULL) == -EFAULT);
	for (unsigned o = 0; o < NOWN; o++) {
		for (unsigned p = 0; p < NPG; p++) {
			if (sh.pg[o][p].mapped)
				CHECK_RET(iommu_unmap(sh.dom, pg_iova(o, p), SZ_4K) ==
					  (ssize_t)SZ_4K);
		}
	}
	CHECK_RET(iommu_detach_device_pasid(sh.dom, sh.b->dev, 1) == 0);
	CHECK_RET(iommu_detach_device_pasid(sh.dom, sh.c->dev, 1) == 0);
	CHECK_RET(iommu_detach_device(sh.dom, sh.a->dev) == 0);
	CHECK_RET(iommu_domain_free(sh.dom) == 0);
	CHECK_RET(machine_destroy(sh.m) == 0);
	return 0;
}

static void test_hung_midway(void)
{
	CHECK_EQ(run(PCI_EP_HUNG), 0);
}

static void test_removed_midway(void)
{
	CHECK_EQ(run(PCI_EP_REMOVED), 0);
}

int main(void)
{
	RUN(test_hung_midway);
	RUN(test_removed_midway);
	return CHECK_DONE();
}
