// SPDX-License-Identifier: MIT
/*
 * Fault injection: for each kind of invalidation the driver can be told to leave out, the
 * path that needs it runs and the descriptor (or command) is missing from what reached the
 * unit, counted as skipped, while every other kind still goes out. For the device-TLB
 * kinds the consequence is shown end to end: the endpoint's ATC keeps the stale entry,
 * DMA still reaches the unmapped page through it, and the endpoint's checker (comparing
 * each ATC hit with a fresh translation by the unit) reports it - and reports nothing when
 * nothing is left out.
 */
#include "drv_test.h"

static void tweak_ss(struct machine_config *c)
{
	c->driver.default_stage = INTEL_IOMMU_STAGE_SECOND;
}

static void tweak_rwbf(struct machine_config *c)
{
	c->vtd.rwbf = true;
}

static void tweak_skip_initial(struct machine_config *c)
{
	c->vtd.rwbf = true;
	c->driver.skip = INTEL_IOMMU_INV_WRITE_BUFFER;
}

static unsigned skipped(struct machine *m, enum intel_iommu_inv_kind k)
{
	struct intel_iommu_stats st;

	if (intel_iommu_get_stats(m->iommu, &st))
		return ~0u;
	return (unsigned)st.skipped[k];
}

struct rig {
	struct machine *m;
	struct machine_dev *d;
	struct iommu_domain *dom;
	uint32_t pasid;
};

static int rig_up(struct rig *r, void (*tweak)(struct machine_config *))
{
	r->m = mk_machine(tweak);
	CHECK_RET(r->m);
	r->d = mk_dev(r->m, PCI_RID(0, 8, 0), 20, true);
	CHECK_RET(r->d);
	r->dom = iommu_get_default_domain(r->d->dev);
	r->pasid = 42;
	CHECK_RET(iommu_attach_device_pasid(r->dom, r->d->dev, r->pasid) == 0);
	CHECK_RET(iommu_map(r->dom, 0x30000, DATA_BASE, SZ_4K, IOMMU_READ) == 0);
	return 0;
}

static int rig_down(struct rig *r)
{
	CHECK_RET(intel_iommu_set_skip(r->m->iommu, INTEL_IOMMU_INV_NONE) == 0);
	CHECK_RET(iommu_detach_device_pasid(r->dom, r->d->dev, r->pasid) == 0);
	CHECK_RET(machine_destroy(r->m) == 0);
	return 0;
}

/* Unmap the rig's page with `kind` left out; the log of what was queued. */
static int unmap_skipping(struct rig *r, enum intel_iommu_inv_kind kind, struct qlog *l)
{
	CHECK_RET(intel_iommu_set_skip(r->m->iommu, kind) == 0);
	qlog_mark(r->m, l);
	CHECK_RET(iommu_unmap(r->dom, 0x30000, SZ_4K) == (ssize_t)SZ_4K);
	qlog_read(r->m, l);
	return 0;
}

/* Type-6 (first stage) and type-2 (second stage) IOTLB invalidations. */
static void test_skip_iotlb_kinds(void)
{
	struct rig r;
	struct qlog l;

	CHECK_EQ(rig_up(&r, NULL), 0);
	CHECK_EQ(unmap_skipping(&r, INTEL_IOMMU_INV_PIOTLB, &l), 0);
	CHECK_EQ(qlog_count(&l, VTD_INV_PIOTLB), 0);
	CHECK_EQ(qlog_count(&l, VTD_INV_DEVTLB), 1);
	CHECK_EQ(qlog_count(&l, VTD_INV_PDEVTLB), 1);
	CHECK_EQ(skipped(r.m, INTEL_IOMMU_INV_PIOTLB), 2); /* RID and PASID */
	CHECK_EQ(rig_down(&r), 0);

	CHECK_EQ(rig_up(&r, tweak_ss), 0);
	CHECK_EQ(unmap_skipping(&r, INTEL_IOMMU_INV_IOTLB, &l), 0);
	CHECK_EQ(qlog_count(&l, VTD_INV_IOTLB), 0);
	CHECK_EQ(qlog_count(&l, VTD_INV_DEVTLB) + qlog_count(&l, VTD_INV_PDEVTLB), 2);
	CHECK_EQ(skipped(r.m, INTEL_IOMMU_INV_IOTLB), 1);
	CHECK_EQ(rig_down(&r), 0);
}

/* The endpoint's checker: count its reports. */
static void count_mismatch(void *ctx, const struct pci_atc_mismatch *mm)
{
	(void)mm;
	++*(unsigned *)ctx;
}

/*
 * Device-TLB kinds: the ATC entry survives the unmap, DMA goes on reaching the page, and
 * the checker says so. Without injection the same sequence leaves nothing stale.
 */
static int devtlb_case(enum intel_iommu_inv_kind kind, bool with_pasid)
{
	struct pci_translation_agent ref;
	unsigned reports = 0, flags = with_pasid ? PCI_DMA_PASID : 0;
	uint8_t buf[8];
	struct rig r;
	struct qlog l;

	CHECK_RET(rig_up(&r, NULL) == 0);
	ref = vtd_translation_agent(r.m->vtd);
	CHECK_RET(pci_endpoint_set_checker(r.d->ep, &ref, count_mismatch, &reports) == 0);
	CHECK_RET(pci_endpoint_dma_read(r.d->ep, flags, r.pasid, 0x30000, buf, 8, NULL) == 0);
	CHECK_RET(unmap_skipping(&r, kind, &l) == 0);
	if (kind == INTEL_IOMMU_INV_NONE) {
		CHECK_RET(pci_endpoint_dma_read(r.d->ep, flags, r.pasid, 0x30000, buf, 8, NULL) ==
			  -EFAULT);
		CHECK_RET(reports == 0);
	} else {
		CHECK_RET(qlog_count(&l, kind == INTEL_IOMMU_INV_DEVTLB ? VTD_INV_DEVTLB
									: VTD_INV_PDEVTLB) == 0);
		CHECK_RET(skipped(r.m, kind) == 1);
		/* Stale: the device still reaches the unmapped page, and it is caught. */
		CHECK_RET(pci_endpoint_dma_read(r.d->ep, flags, r.pasid, 0x30000, buf, 8, NULL) ==
			  0);
		CHECK_RET(reports == 1);
	}
	CHECK_RET(pci_endpoint_set_checker(r.d->ep, NULL, NULL, NULL) == 0);
	CHECK_RET(rig_down(&r) == 0);
	return 0;
}

static void test_skip_devtlb_caught(void)
{
	CHECK_EQ(devtlb_case(INTEL_IOMMU_INV_NONE, false), 0);
	CHECK_EQ(devtlb_case(INTEL_IOMMU_INV_NONE, true), 0);
	CHECK_EQ(devtlb_case(INTEL_IOMMU_INV_DEVTLB, false), 0);
	CHECK_EQ(devtlb_case(INTEL_IOMMU_INV_PDEVTLB, true), 0);
}

/* PASID cache: the tear-down of a PASID entry. */
static void test_skip_pasid_cache(void)
{
	struct rig r;
	struct qlog l;

	CHECK_EQ(rig_up(&r, NULL), 0);
	CHECK_EQ(intel_iommu_set_skip(r.m->iommu, INTEL_IOMMU_INV_PASID_CACHE), 0);
	qlog_mark(r.m, &l);
	CHECK_EQ(iommu_detach_device_pasid(r.dom, r.d->dev, r.pasid), 0);
	qlog_read(r.m, &l);
	CHECK_EQ(qlog_count(&l, VTD_INV_PC), 0);
	CHECK_EQ(qlog_count(&l, VTD_INV_PIOTLB), 1);
	CHECK_EQ(qlog_count(&l, VTD_INV_PDEVTLB), 1);
	CHECK_EQ(skipped(r.m, INTEL_IOMMU_INV_PASID_CACHE), 1);
	CHECK_EQ(iommu_attach_device_pasid(r.dom, r.d->dev, r.pasid), 0);
	CHECK_EQ(rig_down(&r), 0);
}

/* Context cache: the context entry's tear-down at release. */
static void test_skip_context(void)
{
	struct machine *m = mk_machine(NULL);
	struct machine_dev *d;
	struct qlog l;

	CHECK(m);
	d = mk_dev(m, PCI_RID(0, 9, 0), 0, false);
	CHECK(d);
	CHECK_EQ(intel_iommu_set_skip(m->iommu, INTEL_IOMMU_INV_CONTEXT), 0);
	qlog_mark(m, &l);
	CHECK_EQ(machine_remove_device(d), 0);
	qlog_read(m, &l);
	CHECK_EQ(qlog_count(&l, VTD_INV_CC), 0);
	CHECK_EQ(qlog_count(&l, VTD_INV_PC), 2); /* PASID 0's tear-down, then the global one */
	CHECK_EQ(skipped(m, INTEL_IOMMU_INV_CONTEXT), 1);
	CHECK_EQ(machine_destroy(m), 0);
}

/* Write buffer: new entries and maps on a CAP.RWBF unit; and the global flush at probe. */
static void test_skip_write_buffer(void)
{
	struct intel_iommu_stats s0, s1;
	struct machine *m = mk_machine(tweak_rwbf), *n = mk_machine(tweak_skip_initial);
	struct machine_dev *d;

	CHECK(m && n);
	CHECK_EQ(intel_iommu_set_skip(m->iommu, INTEL_IOMMU_INV_WRITE_BUFFER), 0);
	CHECK_EQ(intel_iommu_get_stats(m->iommu, &s0), 0);
	d = mk_dev(m, PCI_RID(0, 9, 0), 20, false);
	CHECK(d);
	CHECK_EQ(iommu_map(iommu_get_default_domain(d->dev), 0x1000, DATA_BASE, SZ_4K, IOMMU_READ),
		 0);
	CHECK_EQ(intel_iommu_get_stats(m->iommu, &s1), 0);
	CHECK_EQ(s1.write_buffer_flushes, s0.write_buffer_flushes);
	CHECK_EQ(s1.skipped[INTEL_IOMMU_INV_WRITE_BUFFER], 3); /* context, PASID 0, map */

	/* Skipped from creation: nothing was queued, no write-buffer flush. */
	CHECK_EQ(mmio_rd(n, VTD_REG_IQT, 8), 0);
	CHECK_EQ(intel_iommu_get_stats(n->iommu, &s1), 0);
	CHECK_EQ(s1.write_buffer_flushes, 0);
	CHECK_EQ(s1.skipped[INTEL_IOMMU_INV_WRITE_BUFFER], 1);
	CHECK_EQ(machine_destroy(m), 0);
	CHECK_EQ(machine_destroy(n), 0);
}

/* Back to NONE: everything is sent again. */
static void test_skip_off_again(void)
{
	struct rig r;
	struct qlog l;

	CHECK_EQ(rig_up(&r, NULL), 0);
	CHECK_EQ(unmap_skipping(&r, INTEL_IOMMU_INV_PIOTLB, &l), 0);
	CHECK_EQ(qlog_count(&l, VTD_INV_PIOTLB), 0);
	CHECK_EQ(iommu_map(r.dom, 0x30000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(unmap_skipping(&r, INTEL_IOMMU_INV_NONE, &l), 0);
	CHECK_EQ(qlog_count(&l, VTD_INV_PIOTLB), 2);
	CHECK_EQ(rig_down(&r), 0);
}

int main(void)
{
	RUN(test_skip_iotlb_kinds);
	RUN(test_skip_devtlb_caught);
	RUN(test_skip_pasid_cache);
	RUN(test_skip_context);
	RUN(test_skip_write_buffer);
	RUN(test_skip_off_again);
	return CHECK_DONE();
}
