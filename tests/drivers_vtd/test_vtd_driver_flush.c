// SPDX-License-Identifier: MIT
/*
 * Flushes, read back from the invalidation queue's memory: what an unmap, a flush-all and
 * a tear-down send (types, granularity, DID, PASID, address and mask, IH, device-TLB size
 * encoding), the alignment of page-selective ranges, domain-selective fallback, batching,
 * cache tags following attach, replace and detach, and devices that stop answering (ITE).
 * Device-TLB invalidations are also checked end to end: an endpoint's ATC entry is gone
 * after the unmap that covered it.
 */
#include "drv_test.h"

static void tweak_ss(struct machine_config *c)
{
	c->driver.default_stage = INTEL_IOMMU_STAGE_SECOND;
}

static void tweak_pt(struct machine_config *c)
{
	c->iommu.passthrough = true;
}

static void tweak_mamv2(struct machine_config *c)
{
	c->vtd.mamv = 2;
}

static void tweak_mamv2_ss(struct machine_config *c)
{
	tweak_ss(c);
	c->vtd.mamv = 2;
}

static void tweak_nopsi_ss(struct machine_config *c)
{
	tweak_ss(c);
	c->vtd.psi = false;
}

static void tweak_batch2(struct machine_config *c)
{
	c->driver.batch = 2;
}

/* Fields of one descriptor. */
#define G(q, f)		VTD_GET((q)[0], f)
#define DESC_TYPE(q)	VTD_INV_TYPE((q)[0])
#define PIOTLB_DID(q)	G(q, VTD_INV_PIOTLB_DID)
#define PIOTLB_PASID(q) G(q, VTD_INV_PIOTLB_PASID)

/* A type-6 page-selective descriptor for (did, pasid, addr, am, ih). */
static int is_piotlb_psi(const uint64_t *q, int did, uint32_t pasid, uint64_t addr, unsigned am,
			 bool ih)
{
	CHECK_RET(DESC_TYPE(q) == VTD_INV_PIOTLB);
	CHECK_RET(G(q, VTD_INV_PIOTLB_G) == VTD_INV_PIOTLB_G_PAGE);
	CHECK_RET((int)PIOTLB_DID(q) == did);
	CHECK_RET(PIOTLB_PASID(q) == pasid);
	CHECK_RET((q[1] & VTD_INV_PIOTLB_ADDR_MASK) == addr);
	CHECK_RET(VTD_GET(q[1], VTD_INV_PIOTLB_AM) == am);
	CHECK_RET(!!(q[1] & VTD_INV_PIOTLB_IH) == ih);
	CHECK_RET((q[0] & VTD_INV_PIOTLB_Q0_RSVD) == 0 && (q[1] & VTD_INV_PIOTLB_Q1_RSVD) == 0);
	CHECK_RET(q[2] == 0 && q[3] == 0);
	return 0;
}

/* A device-TLB descriptor (type 3, or 8 with `pasid`) covering [base, base + size). */
static int is_devtlb(const uint64_t *q, uint16_t sid, uint32_t pasid, uint64_t base, uint64_t size)
{
	uint64_t b, s;

	if (pasid == NO_PASID) {
		CHECK_RET(DESC_TYPE(q) == VTD_INV_DEVTLB);
		CHECK_RET(G(q, VTD_INV_DEVTLB_SID) == sid);
		CHECK_RET((q[0] & VTD_INV_DEVTLB_Q0_RSVD) == 0);
		devtlb_range(q[1], q[1] & VTD_INV_DEVTLB_S, &b, &s);
	} else {
		CHECK_RET(DESC_TYPE(q) == VTD_INV_PDEVTLB);
		CHECK_RET(G(q, VTD_INV_PDEVTLB_SID) == sid);
		CHECK_RET(G(q, VTD_INV_PDEVTLB_PASID) == pasid);
		CHECK_RET(!(q[1] & VTD_INV_PDEVTLB_G));
		devtlb_range(q[1], q[1] & VTD_INV_PDEVTLB_S, &b, &s);
	}
	CHECK_RET(b == base && s == size);
	return 0;
}

/* A first-stage device: RID and kernel PASID on the default domain, ATS. */
struct rig {
	struct machine *m;
	struct machine_dev *d;
	struct iommu_domain *dom;
	int did;
	uint32_t pasid;
};

static int rig_up(struct rig *r, void (*tweak)(struct machine_config *), bool ats)
{
	int p;

	r->m = mk_machine(tweak);
	CHECK_RET(r->m);
	r->d = mk_dev(r->m, PCI_RID(3, 4, 5), 20, ats);
	CHECK_RET(r->d);
	r->dom = iommu_get_default_domain(r->d->dev);
	r->did = intel_iommu_domain_did(r->m->iommu, r->dom);
	p = iommu_alloc_global_pasid(r->d->dev);
	CHECK_RET(p > 0);
	r->pasid = (uint32_t)p;
	CHECK_RET(iommu_attach_device_pasid(r->dom, r->d->dev, r->pasid) == 0);
	return 0;
}

static int rig_down(struct rig *r)
{
	CHECK_RET(iommu_detach_device_pasid(r->dom, r->d->dev, r->pasid) == 0);
	CHECK_RET(iommu_free_global_pasid(r->d->dev, r->pasid) == 0);
	CHECK_RET(machine_destroy(r->m) == 0);
	return 0;
}

/* Unmap [iova, iova + size) and read what was queued. */
static int unmap_log(struct rig *r, uint64_t iova, uint64_t size, struct qlog *l)
{
	qlog_mark(r->m, l);
	CHECK_RET(iommu_unmap(r->dom, iova, size) == (ssize_t)size);
	qlog_read(r->m, l);
	return 0;
}

/* ---- unmap ------------------------------------------------------------------------------ */

/* First stage: one PASID-based PSI per attached PASID, then both device-TLB forms. */
static void test_unmap_first_stage(void)
{
	struct rig r;
	struct qlog l;

	CHECK_EQ(rig_up(&r, NULL, true), 0);
	CHECK_EQ(iommu_map(r.dom, 0x200000, DATA_BASE, 16 * SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(unmap_log(&r, 0x200000, 16 * SZ_4K, &l), 0);
	CHECK_EQ(l.n, 5);
	CHECK_EQ(is_piotlb_psi(l.d[0], r.did, 0, 0x200000, 4, true), 0);
	CHECK_EQ(is_piotlb_psi(l.d[1], r.did, r.pasid, 0x200000, 4, true), 0);
	CHECK_EQ(is_devtlb(l.d[2], r.d->rid, NO_PASID, 0x200000, 16 * SZ_4K), 0);
	CHECK_EQ(is_devtlb(l.d[3], r.d->rid, r.pasid, 0x200000, 16 * SZ_4K), 0);
	CHECK_EQ(DESC_TYPE(l.d[4]), VTD_INV_WAIT);
	CHECK(l.d[4][0] & VTD_INV_WAIT_SW);
	CHECK(l.d[4][0] & VTD_INV_WAIT_FN);
	/* The unit wrote the status the wait asked for. */
	CHECK_EQ(mmio_rd(r.m, VTD_REG_IQH, 8), mmio_rd(r.m, VTD_REG_IQT, 8));
	{
		uint32_t st = 0;

		CHECK_EQ(mem_read32(r.m->mem, l.d[4][1] & VTD_INV_WAIT_STADDR_MASK, &st), 0);
		CHECK_EQ(st, VTD_GET(l.d[4][0], VTD_INV_WAIT_STDATA));
	}
	CHECK_EQ(rig_down(&r), 0);
}

/* Second stage: one DID-based PSI serves the RID and the PASID (same DID). */
static void test_unmap_second_stage(void)
{
	struct rig r;
	struct qlog l;

	CHECK_EQ(rig_up(&r, tweak_ss, true), 0);
	CHECK_EQ(iommu_map(r.dom, 0x200000, DATA_BASE, 16 * SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(unmap_log(&r, 0x200000, 16 * SZ_4K, &l), 0);
	CHECK_EQ(l.n, 4);
	CHECK_EQ(DESC_TYPE(l.d[0]), VTD_INV_IOTLB);
	CHECK_EQ(G(l.d[0], VTD_INV_IOTLB_G), VTD_IOTLB_GRAN_PAGE);
	CHECK_EQ((int)G(l.d[0], VTD_INV_IOTLB_DID), r.did);
	CHECK(l.d[0][0] & VTD_INV_IOTLB_DR);
	CHECK(l.d[0][0] & VTD_INV_IOTLB_DW);
	CHECK_EQ(l.d[0][1] & VTD_INV_IOTLB_ADDR_MASK, 0x200000);
	CHECK_EQ(VTD_GET(l.d[0][1], VTD_INV_IOTLB_AM), 4);
	CHECK(l.d[0][1] & VTD_INV_IOTLB_IH);
	CHECK_EQ(is_devtlb(l.d[1], r.d->rid, NO_PASID, 0x200000, 16 * SZ_4K), 0);
	CHECK_EQ(is_devtlb(l.d[2], r.d->rid, r.pasid, 0x200000, 16 * SZ_4K), 0);
	CHECK_EQ(DESC_TYPE(l.d[3]), VTD_INV_WAIT);
	CHECK_EQ(rig_down(&r), 0);
}

/*
 * The address mask covers a naturally aligned power of two: a range that straddles a
 * boundary gets the smallest aligned block holding both ends (Linux's
 * calculate_psi_aligned_address).
 */
static void test_psi_alignment(void)
{
	static const struct {
		uint64_t iova, size, addr;
		unsigned am;
	} cases[] = {
	    {0x300000, SZ_4K, 0x300000, 0},	 /* one page */
	    {0x301000, 2 * SZ_4K, 0x300000, 2},	 /* pfns 0x301-0x302: 4 pages at 0x300 */
	    {0x30f000, 2 * SZ_4K, 0x300000, 5},	 /* 0x30f-0x310: 32 pages at 0x300 */
	    {0x300000, 3 * SZ_4K, 0x300000, 2},	 /* rounded up to 4 */
	    {0x3ff000, 2 * SZ_4K, 0x0, 11},	 /* 0x3ff-0x400: 2048 pages at 0 */
	    {0x340000, 64 * SZ_4K, 0x340000, 6}, /* aligned 64 */
	    {0x7ff000, 4 * SZ_4K, 0x0, 12},	 /* 0x7ff-0x802 */
	};
	struct rig r;
	struct qlog l;

	CHECK_EQ(rig_up(&r, NULL, true), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ(iommu_map(r.dom, cases[i].iova, DATA_BASE, cases[i].size, IOMMU_READ), 0);
		CHECK_EQ(unmap_log(&r, cases[i].iova, cases[i].size, &l), 0);
		CHECK_EQ(l.n, 5);
		CHECK_EQ(is_piotlb_psi(l.d[0], r.did, 0, cases[i].addr, cases[i].am, true), 0);
		CHECK_EQ(is_devtlb(l.d[2], r.d->rid, NO_PASID, cases[i].addr, SZ_4K << cases[i].am),
			 0);
	}
	CHECK_EQ(rig_down(&r), 0);
}

/* Beyond CAP.MAMV: second stage goes domain-selective; first stage stays page-selective. */
static void test_psi_beyond_mamv(void)
{
	struct intel_iommu_stats st;
	struct rig r;
	struct qlog l;

	CHECK_EQ(rig_up(&r, tweak_mamv2_ss, false), 0);
	CHECK_EQ(iommu_map(r.dom, 0x500000, DATA_BASE, 8 * SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(unmap_log(&r, 0x500000, 8 * SZ_4K, &l), 0);
	CHECK_EQ(l.n, 2);
	CHECK_EQ(DESC_TYPE(l.d[0]), VTD_INV_IOTLB);
	CHECK_EQ(G(l.d[0], VTD_INV_IOTLB_G), VTD_IOTLB_GRAN_DOMAIN);
	CHECK_EQ((int)G(l.d[0], VTD_INV_IOTLB_DID), r.did);
	CHECK_EQ(l.d[0][1], 0);
	CHECK_EQ(intel_iommu_get_stats(r.m->iommu, &st), 0);
	CHECK_EQ(st.psi_widened, 1);
	/* Within MAMV it is page-selective. */
	CHECK_EQ(iommu_map(r.dom, 0x500000, DATA_BASE, 4 * SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(unmap_log(&r, 0x500000, 4 * SZ_4K, &l), 0);
	CHECK_EQ(G(l.d[0], VTD_INV_IOTLB_G), VTD_IOTLB_GRAN_PAGE);
	CHECK_EQ(VTD_GET(l.d[0][1], VTD_INV_IOTLB_AM), 2);
	CHECK_EQ(rig_down(&r), 0);

	CHECK_EQ(rig_up(&r, tweak_mamv2, false), 0);
	CHECK_EQ(iommu_map(r.dom, 0x500000, DATA_BASE, 8 * SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(unmap_log(&r, 0x500000, 8 * SZ_4K, &l), 0);
	CHECK_EQ(l.n, 3);
	CHECK_EQ(is_piotlb_psi(l.d[0], r.did, 0, 0x500000, 3, true), 0);
	CHECK_EQ(rig_down(&r), 0);

	/* Without CAP.PSI: always domain-selective. */
	CHECK_EQ(rig_up(&r, tweak_nopsi_ss, false), 0);
	CHECK_EQ(iommu_map(r.dom, 0x500000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(unmap_log(&r, 0x500000, SZ_4K, &l), 0);
	CHECK_EQ(G(l.d[0], VTD_INV_IOTLB_G), VTD_IOTLB_GRAN_DOMAIN);
	CHECK_EQ(rig_down(&r), 0);
}

/* A freed table page: IH clear (paging-structure caches too), the page freed after it. */
static void test_ih_and_freed_tables(void)
{
	struct rig r;
	struct qlog l;
	uint64_t before, mapped;

	CHECK_EQ(rig_up(&r, NULL, false), 0);
	before = mem_alloc_in_use(r.m->alloc);
	/* 512 4 KiB pages (the physical side is not 2 MiB aligned): one full leaf table. */
	CHECK_EQ(iommu_map(r.dom, 0x40000000, DATA_BASE + SZ_4K, SZ_2M, IOMMU_READ), 0);
	mapped = mem_alloc_in_use(r.m->alloc);
	CHECK(mapped > before);
	CHECK_EQ(unmap_log(&r, 0x40000000, SZ_2M, &l), 0);
	CHECK_EQ(l.n, 3);
	CHECK_EQ(is_piotlb_psi(l.d[0], r.did, 0, 0x40000000, 9, false), 0);
	CHECK_EQ(is_piotlb_psi(l.d[1], r.did, r.pasid, 0x40000000, 9, false), 0);
	CHECK_EQ(mem_alloc_in_use(r.m->alloc), mapped - 1); /* the leaf table went back */
	CHECK_EQ(rig_down(&r), 0);
}

/* flush_iotlb_all: PASID-selective per PASID, device TLBs for the whole space. */
static void test_flush_all(void)
{
	struct rig r;
	struct qlog l;
	int i;

	CHECK_EQ(rig_up(&r, NULL, true), 0);
	qlog_mark(r.m, &l);
	iommu_flush_iotlb_all(r.dom);
	qlog_read(r.m, &l);
	CHECK_EQ(l.n, 5);
	for (i = 0; i < 2; i++) {
		CHECK_EQ(DESC_TYPE(l.d[i]), VTD_INV_PIOTLB);
		CHECK_EQ(G(l.d[i], VTD_INV_PIOTLB_G), VTD_INV_PIOTLB_G_PASID);
		CHECK_EQ((int)PIOTLB_DID(l.d[i]), r.did);
		CHECK_EQ(l.d[i][1], 0);
	}
	CHECK_EQ(PIOTLB_PASID(l.d[0]), 0);
	CHECK_EQ(PIOTLB_PASID(l.d[1]), r.pasid);
	CHECK_EQ(is_devtlb(l.d[2], r.d->rid, NO_PASID, 0, 0), 0); /* size 0: everything */
	CHECK_EQ(is_devtlb(l.d[3], r.d->rid, r.pasid, 0, 0), 0);
	CHECK_EQ(rig_down(&r), 0);

	CHECK_EQ(rig_up(&r, tweak_ss, false), 0);
	qlog_mark(r.m, &l);
	iommu_flush_iotlb_all(r.dom);
	qlog_read(r.m, &l);
	CHECK_EQ(l.n, 2);
	CHECK_EQ(G(l.d[0], VTD_INV_IOTLB_G), VTD_IOTLB_GRAN_DOMAIN);
	CHECK_EQ(rig_down(&r), 0);
}

/* A queued gather (lazy mode): no range recorded, nothing flushed until flush-all;
 * freed table pages make the sync flush everything. */
static void test_queued_gather(void)
{
	struct iommu_iotlb_gather g;
	struct rig r;
	struct qlog l;

	CHECK_EQ(rig_up(&r, NULL, false), 0);
	CHECK_EQ(iommu_map(r.dom, 0x600000, DATA_BASE, 4 * SZ_4K, IOMMU_READ), 0);
	iommu_iotlb_gather_init(&g);
	g.queued = true;
	qlog_mark(r.m, &l);
	CHECK_EQ(iommu_unmap_fast(r.dom, 0x600000, 4 * SZ_4K, &g), (ssize_t)(4 * SZ_4K));
	iommu_iotlb_sync(r.dom, &g);
	qlog_read(r.m, &l);
	CHECK_EQ(l.n, 0);

	CHECK_EQ(iommu_map(r.dom, 0x40000000, DATA_BASE + SZ_4K, SZ_2M, IOMMU_READ), 0);
	CHECK_EQ(iommu_unmap_fast(r.dom, 0x40000000, SZ_2M, &g), (ssize_t)SZ_2M);
	CHECK_EQ(g.freelist.count, 1);
	iommu_iotlb_sync(r.dom, &g);
	qlog_read(r.m, &l);
	CHECK_EQ(l.n, 3);
	CHECK_EQ(G(l.d[0], VTD_INV_PIOTLB_G), VTD_INV_PIOTLB_G_PASID);
	CHECK_EQ(G(l.d[1], VTD_INV_PIOTLB_G), VTD_INV_PIOTLB_G_PASID);
	CHECK_EQ(rig_down(&r), 0);
}

/* Batches of two descriptors: three tags need two waits. */
static void test_batching(void)
{
	struct intel_iommu_stats s0, s1;
	struct rig r;
	struct qlog l;

	CHECK_EQ(rig_up(&r, tweak_batch2, false), 0);
	CHECK_EQ(iommu_attach_device_pasid(r.dom, r.d->dev, 99), 0);
	CHECK_EQ(iommu_map(r.dom, 0x1000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(intel_iommu_get_stats(r.m->iommu, &s0), 0);
	CHECK_EQ(unmap_log(&r, 0x1000, SZ_4K, &l), 0);
	CHECK_EQ(intel_iommu_get_stats(r.m->iommu, &s1), 0);
	CHECK_EQ(l.n, 5);
	CHECK_EQ(DESC_TYPE(l.d[0]), VTD_INV_PIOTLB);
	CHECK_EQ(DESC_TYPE(l.d[1]), VTD_INV_PIOTLB);
	CHECK_EQ(DESC_TYPE(l.d[2]), VTD_INV_WAIT);
	CHECK_EQ(DESC_TYPE(l.d[3]), VTD_INV_PIOTLB);
	CHECK_EQ(DESC_TYPE(l.d[4]), VTD_INV_WAIT);
	CHECK_EQ(s1.waits - s0.waits, 2);
	CHECK_EQ(s1.desc[VTD_INV_PIOTLB] - s0.desc[VTD_INV_PIOTLB], 3);
	CHECK_EQ(iommu_detach_device_pasid(r.dom, r.d->dev, 99), 0);
	CHECK_EQ(rig_down(&r), 0);
}

/* ---- tags follow attachments ------------------------------------------------------------- */

/* One domain on two devices (one with ATS), PASIDs on each; replace and detach move tags. */
static void test_tags_follow_attachments(void)
{
	struct machine *m = mk_machine(NULL);
	struct machine_dev *a, *b;
	struct iommu_domain *dom, *other;
	struct qlog l;
	int did;

	CHECK(m);
	a = mk_dev(m, PCI_RID(0, 1, 0), 20, true);
	b = mk_dev(m, PCI_RID(0, 2, 0), 20, false);
	CHECK(a && b);
	CHECK_EQ(iommu_paging_domain_alloc(a->dev, 0, &dom), 0);
	CHECK_EQ(iommu_paging_domain_alloc(a->dev, 0, &other), 0);
	CHECK_EQ(iommu_attach_device_pasid(dom, a->dev, 10), 0);
	CHECK_EQ(iommu_attach_device_pasid(dom, b->dev, 11), 0);
	did = intel_iommu_domain_did(m->iommu, dom);
	CHECK_EQ(iommu_map(dom, 0x9000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	qlog_mark(m, &l);
	CHECK_EQ(iommu_unmap(dom, 0x9000, SZ_4K), (ssize_t)SZ_4K);
	qlog_read(m, &l);
	CHECK_EQ(l.n, 4);
	CHECK_EQ(is_piotlb_psi(l.d[0], did, 10, 0x9000, 0, true), 0);
	CHECK_EQ(is_piotlb_psi(l.d[1], did, 11, 0x9000, 0, true), 0);
	CHECK_EQ(is_devtlb(l.d[2], a->rid, 10, 0x9000, SZ_4K), 0);

	/* b's PASID moves to `other`: dom no longer flushes it. */
	CHECK_EQ(iommu_replace_device_pasid(other, b->dev, 11), 0);
	CHECK_EQ(iommu_map(dom, 0x9000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	qlog_mark(m, &l);
	CHECK_EQ(iommu_unmap(dom, 0x9000, SZ_4K), (ssize_t)SZ_4K);
	qlog_read(m, &l);
	CHECK_EQ(l.n, 3);
	CHECK_EQ(PIOTLB_PASID(l.d[0]), 10);

	/* Detached everywhere: an unmap sends nothing at all. */
	CHECK_EQ(iommu_detach_device_pasid(dom, a->dev, 10), 0);
	CHECK_EQ(intel_iommu_domain_did(m->iommu, dom), -ENOENT);
	CHECK_EQ(iommu_map(dom, 0x9000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	qlog_mark(m, &l);
	CHECK_EQ(iommu_unmap(dom, 0x9000, SZ_4K), (ssize_t)SZ_4K);
	qlog_read(m, &l);
	CHECK_EQ(l.n, 0);
	CHECK_EQ(iommu_detach_device_pasid(other, b->dev, 11), 0);
	CHECK_EQ(iommu_domain_free(dom), 0);
	CHECK_EQ(iommu_domain_free(other), 0);
	CHECK_EQ(machine_destroy(m), 0);
}

/* ---- tear-down ---------------------------------------------------------------------------- */

/* Detach: PASID cache, the IOTLB form of the entry's type, the device TLB, in that order. */
static int check_teardown(void (*tweak)(struct machine_config *), unsigned iotlb_type)
{
	struct rig r;
	struct qlog l;
	int did;

	CHECK_RET(rig_up(&r, tweak, true) == 0);
	did = r.dom->type == IOMMU_DOMAIN_IDENTITY ? 1 : r.did;
	qlog_mark(r.m, &l);
	CHECK_RET(iommu_detach_device_pasid(r.dom, r.d->dev, r.pasid) == 0);
	qlog_read(r.m, &l);
	CHECK_RET(l.n == 4);
	CHECK_RET(DESC_TYPE(l.d[0]) == VTD_INV_PC);
	CHECK_RET(G(l.d[0], VTD_INV_PC_G) == VTD_INV_PC_G_PASID);
	CHECK_RET((int)G(l.d[0], VTD_INV_PC_DID) == did);
	CHECK_RET(G(l.d[0], VTD_INV_PC_PASID) == r.pasid);
	CHECK_RET(DESC_TYPE(l.d[1]) == iotlb_type);
	if (iotlb_type == VTD_INV_PIOTLB) {
		CHECK_RET(G(l.d[1], VTD_INV_PIOTLB_G) == VTD_INV_PIOTLB_G_PASID);
		CHECK_RET((int)PIOTLB_DID(l.d[1]) == did && PIOTLB_PASID(l.d[1]) == r.pasid);
	} else {
		CHECK_RET(G(l.d[1], VTD_INV_IOTLB_G) == VTD_IOTLB_GRAN_DOMAIN);
		CHECK_RET((int)G(l.d[1], VTD_INV_IOTLB_DID) == did);
	}
	CHECK_RET(is_devtlb(l.d[2], r.d->rid, r.pasid, 0, 0) == 0);
	CHECK_RET(DESC_TYPE(l.d[3]) == VTD_INV_WAIT);
	/* Re-attach for rig_down's detach. */
	CHECK_RET(iommu_attach_device_pasid(r.dom, r.d->dev, r.pasid) == 0);
	CHECK_RET(rig_down(&r) == 0);
	return 0;
}

static void test_teardown_sequences(void)
{
	CHECK_EQ(check_teardown(NULL, VTD_INV_PIOTLB), 0);
	CHECK_EQ(check_teardown(tweak_ss, VTD_INV_IOTLB), 0);
	CHECK_EQ(check_teardown(tweak_pt, VTD_INV_PIOTLB), 0);
}

/* The RID's tear-down uses the no-PASID device-TLB form. */
static void test_rid_teardown(void)
{
	struct iommu_domain *other;
	struct rig r;
	struct qlog l;

	CHECK_EQ(rig_up(&r, NULL, true), 0);
	CHECK_EQ(iommu_paging_domain_alloc(r.d->dev, 0, &other), 0);
	qlog_mark(r.m, &l);
	CHECK_EQ(iommu_attach_device(other, r.d->dev), 0);
	qlog_read(r.m, &l);
	CHECK_EQ(l.n, 4);
	CHECK_EQ(DESC_TYPE(l.d[0]), VTD_INV_PC);
	CHECK_EQ(G(l.d[0], VTD_INV_PC_PASID), 0);
	CHECK_EQ((int)G(l.d[0], VTD_INV_PC_DID), r.did);
	CHECK_EQ(is_devtlb(l.d[2], r.d->rid, NO_PASID, 0, 0), 0);
	CHECK_EQ(iommu_detach_device(other, r.d->dev), 0);
	CHECK_EQ(iommu_domain_free(other), 0);
	CHECK_EQ(rig_down(&r), 0);
}

/* ---- device TLBs, end to end ---------------------------------------------------------------- */

/* An ATC entry filled by DMA is gone after the unmap that covers it, with and without PASID. */
static void test_atc_invalidated(void)
{
	struct pci_atc_view v;
	struct rig r;
	uint8_t buf[8];

	CHECK_EQ(rig_up(&r, NULL, true), 0);
	CHECK_EQ(iommu_map(r.dom, 0x70000, DATA_BASE, SZ_4K, IOMMU_READ | IOMMU_WRITE), 0);
	CHECK_EQ(pci_endpoint_dma_read(r.d->ep, 0, 0, 0x70000, buf, 8, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_read(r.d->ep, PCI_DMA_PASID, r.pasid, 0x70000, buf, 8, NULL), 0);
	CHECK_EQ(pci_endpoint_atc_peek(r.d->ep, 0, 0, 0x70000, &v), 0);
	CHECK_EQ(pci_endpoint_atc_peek(r.d->ep, PCI_DMA_PASID, r.pasid, 0x70000, &v), 0);
	CHECK_EQ(iommu_unmap(r.dom, 0x70000, SZ_4K), (ssize_t)SZ_4K);
	CHECK_EQ(pci_endpoint_atc_peek(r.d->ep, 0, 0, 0x70000, &v), -ENOENT);
	CHECK_EQ(pci_endpoint_atc_peek(r.d->ep, PCI_DMA_PASID, r.pasid, 0x70000, &v), -ENOENT);
	CHECK_EQ(pci_endpoint_dma_read(r.d->ep, 0, 0, 0x70000, buf, 8, NULL), -EFAULT);
	CHECK_EQ(pci_endpoint_dma_read(r.d->ep, PCI_DMA_PASID, r.pasid, 0x70000, buf, 8, NULL),
		 -EFAULT);
	CHECK_EQ(rig_down(&r), 0);
}

/*
 * A device that stops answering (hung, then removed): the invalidation times out (ITE),
 * the driver clears it, marks the device gone, finishes the flush for everyone else and
 * never waits on that device again. Re-probing the RID clears the mark.
 */
static void test_device_gone(void)
{
	struct intel_iommu_stats st;
	struct machine_dev *other;
	struct pci_atc_view v;
	struct rig r;
	struct qlog l;
	uint8_t buf[8];

	CHECK_EQ(rig_up(&r, NULL, true), 0);
	other = mk_dev(r.m, PCI_RID(3, 4, 6), 20, true);
	CHECK(other);
	CHECK_EQ(iommu_attach_device_pasid(r.dom, other->dev, r.pasid), 0);
	CHECK_EQ(iommu_map(r.dom, 0x70000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(pci_endpoint_dma_read(other->ep, PCI_DMA_PASID, r.pasid, 0x70000, buf, 8, NULL),
		 0);
	CHECK_EQ(pci_endpoint_set_state(r.d->ep, PCI_EP_HUNG), 0);
	CHECK_EQ(iommu_unmap(r.dom, 0x70000, SZ_4K), (ssize_t)SZ_4K);
	CHECK_EQ(intel_iommu_get_stats(r.m->iommu, &st), 0);
	CHECK_EQ(st.devtlb_timeouts, 1);
	CHECK_EQ(st.devices_gone, 1);
	CHECK_EQ(st.resubmits, 1);
	CHECK_EQ(st.wait_timeouts, 0);
	CHECK(intel_iommu_dev_gone(r.d->dev));
	CHECK(!intel_iommu_dev_gone(other->dev));
	CHECK(intel_iommu_last_warning(r.m->iommu) != NULL);
	CHECK(!(mmio_rd(r.m, VTD_REG_FSTS, 4) & VTD_FSTS_ITE));
	/* The healthy device's TLB was still invalidated. */
	CHECK_EQ(pci_endpoint_atc_peek(other->ep, PCI_DMA_PASID, r.pasid, 0x70000, &v), -ENOENT);

	/* From now on nothing is sent to the gone device; the other still gets its own. */
	CHECK_EQ(iommu_map(r.dom, 0x70000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	qlog_mark(r.m, &l);
	CHECK_EQ(iommu_unmap(r.dom, 0x70000, SZ_4K), (ssize_t)SZ_4K);
	qlog_read(r.m, &l);
	CHECK_EQ(qlog_count(&l, VTD_INV_DEVTLB), 0);
	CHECK_EQ(qlog_count(&l, VTD_INV_PDEVTLB), 1);
	CHECK_EQ(G(l.d[qlog_find(&l, VTD_INV_PDEVTLB, 0)], VTD_INV_PDEVTLB_SID), other->rid);
	CHECK_EQ(intel_iommu_get_stats(r.m->iommu, &st), 0);
	CHECK_EQ(st.devtlb_timeouts, 1);

	/* Removed outright: detach and release still work, nothing hangs. */
	CHECK_EQ(pci_endpoint_set_state(other->ep, PCI_EP_REMOVED), 0);
	CHECK_EQ(iommu_detach_device_pasid(r.dom, other->dev, r.pasid), 0);
	CHECK_EQ(intel_iommu_get_stats(r.m->iommu, &st), 0);
	CHECK_EQ(st.devtlb_timeouts, 2);
	CHECK(intel_iommu_dev_gone(other->dev));
	CHECK_EQ(machine_remove_device(other), 0);
	other = mk_dev(r.m, PCI_RID(3, 4, 6), 20, true);
	CHECK(other);
	CHECK(!intel_iommu_dev_gone(other->dev));
	CHECK_EQ(rig_down(&r), 0);
}

int main(void)
{
	RUN(test_unmap_first_stage);
	RUN(test_unmap_second_stage);
	RUN(test_psi_alignment);
	RUN(test_psi_beyond_mamv);
	RUN(test_ih_and_freed_tables);
	RUN(test_flush_all);
	RUN(test_queued_gather);
	RUN(test_batching);
	RUN(test_tags_follow_attachments);
	RUN(test_teardown_sequences);
	RUN(test_rid_teardown);
	RUN(test_atc_invalidated);
	RUN(test_device_gone);
	return CHECK_DONE();
}
