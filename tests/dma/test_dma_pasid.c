// SPDX-License-Identifier: MIT
/*
 * In-kernel PASID: dma_enable_pasid attaches the default domain to a global PASID, so
 * every DMA address reaches the same memory with and without the PASID, in strict, lazy
 * and pass-through mode; unmaps and flushes cover both; every error path leaves nothing
 * behind and says why.
 */
#include <string.h>

#include "check.h"
#include "dma/dma_mock.h"

static struct dmock_opts pasid_opts(int type)
{
	return (struct dmock_opts){.type = type,
				   .pasid_width = 20,
				   .max_pasids = 1u << 20,
				   .ats = true,
				   .cfg = {.fq_timeout_ms = DMA_FQ_TIMEOUT_NONE}};
}

/* Both requesters reach `pa` through `a` (or both fault when pa is UINT64_MAX). */
static int same_both_ways(struct dmock_sys *s, uint32_t pasid, dma_addr_t a, uint64_t pa)
{
	uint64_t rid_pa = 0, pasid_pa = 0;
	int r1 = dmock_translate(s->idev, IOMMU_NO_PASID, a, false, &rid_pa);
	int r2 = dmock_translate(s->idev, pasid, a, false, &pasid_pa);

	if (pa == UINT64_MAX) {
		CHECK_RET(r1 == -EFAULT && r2 == -EFAULT);
		return 0;
	}
	CHECK_RET(r1 == 0 && r2 == 0);
	CHECK_RET(rid_pa == pa && pasid_pa == pa);
	return 0;
}

static void t_strict_mirror(void)
{
	struct dmock_opts o = pasid_opts(IOMMU_DOMAIN_DMA);
	struct dmock_sys s;
	uint32_t pasid = 0;
	dma_addr_t a;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_dev_pasid(s.dma), IOMMU_PASID_INVALID);
	CHECK(strcmp(dma_pasid_status(s.dma), "not enabled") == 0);
	CHECK_EQ(dma_enable_pasid(s.dma, &pasid), 0);
	CHECK_EQ(pasid, IOMMU_FIRST_GLOBAL_PASID);
	CHECK_EQ(dma_dev_pasid(s.dma), pasid);
	CHECK(strcmp(dma_pasid_status(s.dma), "enabled") == 0);
	/* The core and the hardware both have the default domain on the PASID. */
	CHECK(iommu_get_domain_for_dev_pasid(s.idev, pasid) == dma_dev_domain(s.dma));
	CHECK(dmock_hw_domain(s.idev, pasid) == dma_dev_domain(s.dma));
	a = dma_map_single(s.dma, 0x345000 + 0x67, 0x100, DMA_TO_DEVICE);
	CHECK_EQ(same_both_ways(&s, pasid, a, 0x345067), 0);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x100, DMA_TO_DEVICE), 0);
	/* Strict: the one domain flush covered the RID and the PASID. */
	CHECK_EQ(same_both_ways(&s, pasid, a, UINT64_MAX), 0);
	CHECK_EQ(atomic_load(&s.u->stale_hits), 0);
	/* Disable: the PASID is blocked, freed and can be had again. */
	a = dma_map_single(s.dma, 0x345000, 0x1000, DMA_TO_DEVICE);
	CHECK_EQ(dma_disable_pasid(s.dma, pasid), 0);
	CHECK(dmock_hw_domain(s.idev, pasid) == NULL);
	CHECK(iommu_get_domain_for_dev_pasid(s.idev, pasid) == NULL);
	uint64_t out;
	CHECK(dmock_translate(s.idev, pasid, a, false, &out) == -EFAULT);
	CHECK_EQ(dmock_translate(s.idev, IOMMU_NO_PASID, a, false, &out), 0); /* RID unchanged */
	CHECK_EQ(dma_dev_pasid(s.dma), IOMMU_PASID_INVALID);
	CHECK(strcmp(dma_pasid_status(s.dma), "disabled") == 0);
	CHECK_EQ(dma_disable_pasid(s.dma, pasid), -EINVAL);
	CHECK_EQ(dma_enable_pasid(s.dma, &pasid), 0);
	CHECK_EQ(pasid, IOMMU_FIRST_GLOBAL_PASID);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_disable_pasid(s.dma, pasid), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* Lazy: both requesters keep the stale translation until the flush-all, then both fault. */
static void t_lazy_mirror(void)
{
	struct dmock_opts o = pasid_opts(IOMMU_DOMAIN_DMA_FQ);
	struct dmock_sys s;
	uint32_t pasid;
	dma_addr_t a;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_enable_pasid(s.dma, &pasid), 0);
	a = dma_map_single(s.dma, 0x345000, 0x1000, DMA_BIDIRECTIONAL);
	CHECK_EQ(same_both_ways(&s, pasid, a, 0x345000), 0);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_BIDIRECTIONAL), 0);
	CHECK_EQ(same_both_ways(&s, pasid, a, 0x345000), 0); /* stale, as lazy allows */
	CHECK_EQ(atomic_load(&s.u->stale_hits), 2);
	CHECK_EQ(dma_flush_queues(s.dma), 1);
	CHECK_EQ(same_both_ways(&s, pasid, a, UINT64_MAX), 0);
	/* Teardown disables the PASID itself (else the device could not be released). */
	CHECK_EQ(dma_dev_destroy(s.dma), 0);
	s.dma = NULL;
	CHECK(dmock_hw_domain(s.idev, pasid) == NULL);
	CHECK_EQ(iommu_release_device(s.idev), 0);
	s.idev = NULL;
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* Pass-through: the PASID gets the identity domain, DMA address = physical address. */
static void t_identity_mirror(void)
{
	struct dmock_opts o = pasid_opts(IOMMU_DOMAIN_IDENTITY);
	struct dmock_sys s;
	uint32_t pasid;
	dma_addr_t a;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_enable_pasid(s.dma, &pasid), 0);
	CHECK_EQ(dmock_hw_domain(s.idev, pasid)->type, IOMMU_DOMAIN_IDENTITY);
	a = dma_map_single(s.dma, 0x345000, 0x1000, DMA_TO_DEVICE);
	CHECK_EQ(a, 0x345000);
	CHECK_EQ(same_both_ways(&s, pasid, a, 0x345000), 0);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_disable_pasid(s.dma, pasid), 0);
	CHECK(dmock_hw_domain(s.idev, pasid) == NULL);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

static void t_errors(void)
{
	struct dmock_opts o = pasid_opts(IOMMU_DOMAIN_DMA);
	struct dmock_sys s;
	uint32_t pasid = 77, p2 = 77;
	int g;

	/* No PASID capability on the device. */
	o.pasid_width = 0;
	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_enable_pasid(s.dma, &pasid), -EOPNOTSUPP);
	CHECK_EQ(pasid, 77);
	CHECK(strcmp(dma_pasid_status(s.dma), "device has no PASID capability") == 0);
	CHECK_EQ(dma_dev_pasid(s.dma), IOMMU_PASID_INVALID);
	CHECK_EQ(dmock_sys_fini(&s), 0);

	/* A unit in legacy mode translates no PASIDs. */
	o = pasid_opts(IOMMU_DOMAIN_DMA);
	o.max_pasids = 0;
	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_enable_pasid(s.dma, &pasid), -EOPNOTSUPP);
	CHECK(strcmp(dma_pasid_status(s.dma),
		     "IOMMU unit does not translate PASIDs (legacy mode)") == 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);

	/* The driver refuses: the PASID goes back (the next allocation gets it). */
	o = pasid_opts(IOMMU_DOMAIN_DMA);
	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	s.u->fail_set_dev_pasid = -EOPNOTSUPP;
	CHECK_EQ(dma_enable_pasid(s.dma, &pasid), -EOPNOTSUPP);
	CHECK(strcmp(dma_pasid_status(s.dma),
		     "IOMMU driver cannot attach the default domain to a PASID") == 0);
	CHECK(iommu_get_domain_for_dev_pasid(s.idev, 1) == NULL);
	s.u->fail_set_dev_pasid = -ENOMEM;
	CHECK_EQ(dma_enable_pasid(s.dma, &pasid), -ENOMEM);
	CHECK(strcmp(dma_pasid_status(s.dma), "out of memory attaching the PASID") == 0);
	s.u->fail_set_dev_pasid = -ENOSPC;
	CHECK_EQ(dma_enable_pasid(s.dma, &pasid), -ENOSPC);
	CHECK(strcmp(dma_pasid_status(s.dma), "IOMMU driver refused the PASID attachment") == 0);
	g = iommu_alloc_global_pasid(s.idev);
	CHECK_EQ(g, 1);
	CHECK_EQ(iommu_free_global_pasid(s.idev, (uint32_t)g), 0);
	CHECK_EQ(dma_dev_pasid(s.dma), IOMMU_PASID_INVALID);
	/* Arguments, and a second enable. */
	CHECK_EQ(dma_enable_pasid(NULL, &pasid), -EINVAL);
	CHECK_EQ(dma_enable_pasid(s.dma, NULL), -EINVAL);
	CHECK_EQ(dma_enable_pasid(s.dma, &pasid), 0);
	CHECK_EQ(dma_enable_pasid(s.dma, &p2), -EBUSY);
	CHECK_EQ(p2, 77);
	CHECK(strcmp(dma_pasid_status(s.dma), "kernel PASID already enabled") == 0);
	CHECK_EQ(dma_dev_pasid(s.dma), pasid);
	CHECK_EQ(dma_disable_pasid(NULL, pasid), -EINVAL);
	CHECK_EQ(dma_disable_pasid(s.dma, pasid + 1), -EINVAL);
	CHECK_EQ(dma_disable_pasid(s.dma, IOMMU_PASID_INVALID), -EINVAL);
	CHECK_EQ(dma_dev_pasid(s.dma), pasid);
	CHECK_EQ(dma_dev_pasid(NULL), IOMMU_PASID_INVALID);
	CHECK(strcmp(dma_pasid_status(NULL), "no device") == 0);
	CHECK_EQ(dmock_sys_fini(&s), 0); /* destroy disables it */
}

/* A one-bit PASID capability has PASID 1 only: when it is taken, -ENOSPC. */
static void t_pasid_space_full(void)
{
	struct dmock_opts o = pasid_opts(IOMMU_DOMAIN_DMA);
	struct dmock_sys s;
	uint32_t pasid;
	int g;

	o.pasid_width = 1;
	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	g = iommu_alloc_global_pasid(s.idev);
	CHECK_EQ(g, 1);
	CHECK_EQ(dma_enable_pasid(s.dma, &pasid), -ENOSPC);
	CHECK(strcmp(dma_pasid_status(s.dma), "no free global PASID") == 0);
	CHECK_EQ(iommu_free_global_pasid(s.idev, (uint32_t)g), 0);
	CHECK_EQ(dma_enable_pasid(s.dma, &pasid), 0);
	CHECK_EQ(pasid, 1);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* Two devices share the one global namespace: different PASIDs, each its own domain. */
static void t_two_devices(void)
{
	struct dmock_opts o = pasid_opts(IOMMU_DOMAIN_DMA);
	struct iommu_dev_info info = {.rid = 0x0218, .pasid_width = 20};
	struct iommu_dev *idev2;
	struct dma_dev *d2;
	struct dmock_sys s;
	uint32_t p1, p2;
	dma_addr_t a1, a2;
	uint64_t out;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(iommu_probe_device(&s.u->iommu, &info, &idev2), 0);
	CHECK_EQ(dma_dev_create(&(struct dma_dev_config){.dev = idev2, .mem = s.mem}, &d2), 0);
	CHECK_EQ(dma_enable_pasid(s.dma, &p1), 0);
	CHECK_EQ(dma_enable_pasid(d2, &p2), 0);
	CHECK(p1 != p2);
	a1 = dma_map_single(s.dma, 0x111000, 0x1000, DMA_TO_DEVICE);
	a2 = dma_map_single(d2, 0x222000, 0x1000, DMA_TO_DEVICE);
	CHECK_EQ(dmock_translate(idev2, p2, a2, false, &out), 0);
	CHECK_EQ(out, 0x222000);
	/* Device 2's PASID does not reach device 1's mapping unless IOVAs collide... */
	if (a1 != a2)
		CHECK(dmock_translate(idev2, p2, a1, false, &out) == -EFAULT);
	/* ... and device 1's PASID is not attached on device 2 at all. */
	CHECK(dmock_translate(idev2, p1, a2, false, &out) == -EFAULT);
	CHECK_EQ(dma_unmap_single(d2, a2, 0x1000, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_unmap_single(s.dma, a1, 0x1000, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_dev_destroy(d2), 0);
	CHECK_EQ(iommu_release_device(idev2), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

int main(void)
{
	RUN(t_strict_mirror);
	RUN(t_lazy_mirror);
	RUN(t_identity_mirror);
	RUN(t_errors);
	RUN(t_pasid_space_full);
	RUN(t_two_devices);
	return CHECK_DONE();
}
