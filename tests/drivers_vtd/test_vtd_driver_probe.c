// SPDX-License-Identifier: MIT
/*
 * Probing a unit: the enable sequence as the registers show it afterwards (root table
 * latched, queued invalidation with 256-bit descriptors, the global flush, translation on),
 * legacy units with and without QI, caching mode and write-buffer flushing, and every way
 * probing can fail - bad arguments, registers that make no sense, a unit that never
 * answers a command, a register access that fails - without leaking a page. Also the
 * machine layer's own errors.
 */
#include "drv_test.h"

static void tweak_legacy(struct machine_config *c)
{
	c->vtd.scalable = false;
	c->vtd.first_stage = false;
	c->vtd.second_stage = false;
	c->vtd.nested = false;
	c->vtd.fs_5level = false;
	c->vtd.fs_1g = false;
	c->vtd.pasid_bits = 0;
	c->vtd.supervisor_requests = false;
	c->vtd.sm_pwc = false;
	c->vtd.rid_pasid = false;
	c->vtd.ss_ad = false;
}

static void tweak_legacy_noqi(struct machine_config *c)
{
	tweak_legacy(c);
	c->vtd.queued_invalidation = false;
	c->vtd.dev_tlb = false;
}

static void tweak_cm(struct machine_config *c)
{
	c->vtd.caching_mode = true;
}

static void tweak_rwbf(struct machine_config *c)
{
	c->vtd.rwbf = true;
}

/* 1.4-1.7: what the registers say after probe, and the global flush it queued. */
static void test_enable_scalable(void)
{
	struct machine *m = mk_machine(NULL);
	struct qlog l = {0};
	uint64_t gsts, iqa;

	CHECK(m);
	gsts = mmio_rd(m, VTD_REG_GSTS, 4);
	CHECK(gsts & VTD_GSTS_TES);
	CHECK(gsts & VTD_GSTS_RTPS);
	CHECK(gsts & VTD_GSTS_QIES);
	CHECK_EQ(mmio_rd(m, VTD_REG_RTADDR, 8),
		 intel_iommu_root_table(m->iommu) | VTD_SET(VTD_RTADDR_TTM, VTD_TTM_SCALABLE));
	iqa = mmio_rd(m, VTD_REG_IQA, 8);
	CHECK(iqa & VTD_IQA_DW);
	CHECK_EQ(VTD_GET(iqa, VTD_IQA_QS), 1); /* 256 slots of 32 bytes */
	CHECK_EQ(iqa & VTD_IQA_IQA_MASK & 0x1fff, 0);
	/* The global flush: context cache, PASID cache, IOTLB, closed by a wait. */
	l.tail = 0;
	qlog_read(m, &l);
	CHECK_EQ(l.n, 4);
	CHECK_EQ(VTD_INV_TYPE(l.d[0][0]), VTD_INV_CC);
	CHECK_EQ(VTD_GET(l.d[0][0], VTD_INV_CC_G), VTD_CCMD_GRAN_GLOBAL);
	CHECK_EQ(VTD_INV_TYPE(l.d[1][0]), VTD_INV_PC);
	CHECK_EQ(VTD_GET(l.d[1][0], VTD_INV_PC_G), VTD_INV_PC_G_GLOBAL);
	CHECK_EQ(VTD_INV_TYPE(l.d[2][0]), VTD_INV_IOTLB);
	CHECK_EQ(VTD_GET(l.d[2][0], VTD_INV_IOTLB_G), VTD_IOTLB_GRAN_GLOBAL);
	CHECK(l.d[2][0] & VTD_INV_IOTLB_DR); /* CAP.DRD */
	CHECK(l.d[2][0] & VTD_INV_IOTLB_DW);
	CHECK_EQ(VTD_INV_TYPE(l.d[3][0]), VTD_INV_WAIT);
	CHECK(l.d[3][0] & VTD_INV_WAIT_SW);
	CHECK(l.d[3][1]); /* a status address */
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(l.d[i][2] | l.d[i][3], 0);
	CHECK_EQ(intel_iommu_device(m->iommu)->max_pasids, 1u << 20);
	CHECK_EQ(machine_destroy(m), 0);
}

/* Legacy mode with QI: 128-bit descriptors, TTM 00, no PASID-cache flush. */
static void test_enable_legacy(void)
{
	struct machine *m = mk_machine(tweak_legacy);
	struct qlog l = {0};

	CHECK(m);
	CHECK(mmio_rd(m, VTD_REG_GSTS, 4) & VTD_GSTS_QIES);
	CHECK_EQ(mmio_rd(m, VTD_REG_IQA, 8) & (VTD_IQA_DW | VTD_IQA_QS_MASK), 0);
	qlog_read(m, &l);
	CHECK_EQ(l.n, 3);
	CHECK_EQ(VTD_INV_TYPE(l.d[0][0]), VTD_INV_CC);
	CHECK_EQ(VTD_INV_TYPE(l.d[1][0]), VTD_INV_IOTLB);
	CHECK_EQ(VTD_INV_TYPE(l.d[2][0]), VTD_INV_WAIT);
	CHECK_EQ(machine_destroy(m), 0);
}

static unsigned queue_pages_wanted;

static void tweak_queue(struct machine_config *c)
{
	c->driver.queue_pages = queue_pages_wanted;
}

static void tweak_queue_legacy(struct machine_config *c)
{
	tweak_legacy(c);
	c->driver.queue_pages = queue_pages_wanted;
}

/*
 * 1.7: the queue is 2^IQA.QS pages as configured. Enough strict unmaps go through it to
 * wrap it several times (each is a batch and a wait), and each wait completes: the driver
 * wraps its tail at the configured size, as the unit wraps IQH.
 */
static void check_queue_pages(bool legacy, unsigned pages)
{
	struct machine *m;
	struct machine_dev *d;
	struct iommu_domain *dom;
	struct intel_iommu_stats st;
	unsigned qs = 0, slots;
	uint64_t iqa;

	queue_pages_wanted = pages;
	m = mk_machine(legacy ? tweak_queue_legacy : tweak_queue);
	CHECK(m);
	d = mk_dev(m, PCI_RID(0, 2, 0), legacy ? 0 : 20, true);
	CHECK(d);
	while ((1u << qs) < pages)
		qs++;
	iqa = mmio_rd(m, VTD_REG_IQA, 8);
	CHECK_EQ(VTD_GET(iqa, VTD_IQA_QS), qs);
	CHECK_EQ(iqa & VTD_IQA_IQA_MASK & ((4096ull << qs) - 1), 0); /* aligned to its size */
	slots = (unsigned)((4096ull << qs) / (legacy ? 16 : 32));
	dom = iommu_get_default_domain(d->dev);
	/* Each unmap queues a few descriptors and a wait: 3 * slots of them wrap the queue. */
	for (unsigned i = 0; i < slots; i++) {
		CHECK_EQ(iommu_map(dom, 0x200000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
		CHECK_EQ(iommu_unmap(dom, 0x200000, SZ_4K), (ssize_t)SZ_4K);
	}
	CHECK_EQ(intel_iommu_get_stats(m->iommu, &st), 0);
	CHECK(st.waits > slots / 2);
	CHECK_EQ(st.wait_timeouts, 0);
	CHECK_EQ(st.queue_errors, 0);
	CHECK(mmio_rd(m, VTD_REG_IQH, 8) < (4096ull << qs));
	CHECK_EQ(machine_destroy(m), 0);
}

static void test_queue_pages(void)
{
	check_queue_pages(false, 1); /* 128 slots of 256 bits */
	check_queue_pages(false, 8);
	check_queue_pages(false, 128); /* QS = 7, the largest */
	check_queue_pages(true, 1);    /* 256 slots of 128 bits */
	check_queue_pages(true, 4);
}

/* Legacy without QI: register-based invalidation (1.6); the commands complete. */
static void test_enable_legacy_register_invalidation(void)
{
	struct machine *m = mk_machine(tweak_legacy_noqi);
	struct intel_iommu_stats st;
	struct machine_dev *d;
	uint64_t iro;

	CHECK(m);
	CHECK(!(mmio_rd(m, VTD_REG_GSTS, 4) & VTD_GSTS_QIES));
	CHECK(mmio_rd(m, VTD_REG_GSTS, 4) & VTD_GSTS_TES);
	CHECK_EQ(intel_iommu_get_stats(m->iommu, &st), 0);
	CHECK_EQ(st.reg_invalidations, 2); /* global context cache, global IOTLB */
	CHECK_EQ(VTD_GET(mmio_rd(m, VTD_REG_CCMD, 8), VTD_CCMD_CAIG), VTD_CCMD_GRAN_GLOBAL);
	iro = VTD_GET(mmio_rd(m, VTD_REG_ECAP, 8), VTD_ECAP_IRO) * 16;
	CHECK_EQ(VTD_GET(mmio_rd(m, iro + VTD_REG_IOTLB_OFF, 8), VTD_IOTLB_IAIG),
		 VTD_IOTLB_GRAN_GLOBAL);

	/* An unmap flushes page-selectively through IVA/IOTLB_REG. */
	d = mk_dev(m, PCI_RID(0, 2, 0), 0, false);
	CHECK(d);
	CHECK_EQ(iommu_map(iommu_get_default_domain(d->dev), 0x5000, DATA_BASE, SZ_4K, IOMMU_READ),
		 0);
	CHECK_EQ(iommu_unmap(iommu_get_default_domain(d->dev), 0x5000, SZ_4K), (ssize_t)SZ_4K);
	CHECK_EQ(VTD_GET(mmio_rd(m, iro + VTD_REG_IOTLB_OFF, 8), VTD_IOTLB_IAIG),
		 VTD_IOTLB_GRAN_PAGE);
	CHECK_EQ(mmio_rd(m, iro + VTD_REG_IVA_OFF, 8) & VTD_IVA_ADDR_MASK, 0x5000);
	CHECK(mmio_rd(m, iro + VTD_REG_IVA_OFF, 8) & VTD_IVA_IH);
	CHECK_EQ(VTD_GET(mmio_rd(m, iro + VTD_REG_IOTLB_OFF, 8), VTD_IOTLB_DID),
		 intel_iommu_domain_did(m->iommu, iommu_get_default_domain(d->dev)));
	CHECK_EQ(intel_iommu_get_stats(m->iommu, &st), 0);
	CHECK(st.reg_invalidations > 2);
	CHECK_EQ(st.waits, 0);
	CHECK_EQ(machine_destroy(m), 0);
}

/* CAP.CM: new context and PASID entries are followed by invalidations. */
static void test_caching_mode(void)
{
	struct machine *m = mk_machine(tweak_cm);
	struct machine_dev *d;
	struct iommu_domain *dom;
	struct qlog l;
	int i, did;

	CHECK(m);
	qlog_mark(m, &l);
	d = mk_dev(m, PCI_RID(0, 3, 0), 20, false);
	CHECK(d);
	dom = iommu_get_default_domain(d->dev);
	did = intel_iommu_domain_did(m->iommu, dom);
	qlog_read(m, &l);
	/* Context entry: device-selective context cache; PASID 0: PASID cache + PIOTLB. */
	i = qlog_find(&l, VTD_INV_CC, 0);
	CHECK(i >= 0);
	CHECK_EQ(VTD_GET(l.d[i][0], VTD_INV_CC_G), VTD_CCMD_GRAN_DEVICE);
	CHECK_EQ(VTD_GET(l.d[i][0], VTD_INV_CC_SID), d->rid);
	i = qlog_find(&l, VTD_INV_PC, 0);
	CHECK(i >= 0);
	CHECK_EQ(VTD_GET(l.d[i][0], VTD_INV_PC_G), VTD_INV_PC_G_PASID);
	CHECK_EQ(VTD_GET(l.d[i][0], VTD_INV_PC_DID), did);
	CHECK_EQ(VTD_GET(l.d[i][0], VTD_INV_PC_PASID), 0);
	i = qlog_find(&l, VTD_INV_PIOTLB, 0);
	CHECK(i >= 0);
	CHECK_EQ(VTD_GET(l.d[i][0], VTD_INV_PIOTLB_G), VTD_INV_PIOTLB_G_PASID);

	/* A map is flushed too (the unit may have cached "not present"). */
	qlog_mark(m, &l);
	CHECK_EQ(iommu_map(dom, 0x42000, DATA_BASE, 2 * SZ_4K, IOMMU_READ), 0);
	qlog_read(m, &l);
	CHECK_EQ(qlog_count(&l, VTD_INV_PIOTLB), 1);
	i = qlog_find(&l, VTD_INV_PIOTLB, 0);
	CHECK_EQ(VTD_GET(l.d[i][0], VTD_INV_PIOTLB_G), VTD_INV_PIOTLB_G_PAGE);
	CHECK_EQ(l.d[i][1] & VTD_INV_PIOTLB_ADDR_MASK, 0x42000);
	CHECK_EQ(VTD_GET(l.d[i][1], VTD_INV_PIOTLB_AM), 1);
	CHECK(!iommu_capable(d->dev, IOMMU_CAP_DEFERRED_FLUSH));
	CHECK_EQ(machine_destroy(m), 0);
}

/* CAP.RWBF: the write buffer is flushed after new entries and maps. */
static void test_write_buffer(void)
{
	struct machine *m = mk_machine(tweak_rwbf);
	struct intel_iommu_stats s0, s1;
	struct machine_dev *d;

	CHECK(m);
	CHECK_EQ(intel_iommu_get_stats(m->iommu, &s0), 0);
	CHECK_EQ(s0.write_buffer_flushes, 1); /* the global flush at probe */
	d = mk_dev(m, PCI_RID(0, 4, 0), 20, false);
	CHECK(d);
	CHECK_EQ(intel_iommu_get_stats(m->iommu, &s1), 0);
	CHECK_EQ(s1.write_buffer_flushes, 3); /* context entry, PASID-0 entry */
	CHECK_EQ(iommu_map(iommu_get_default_domain(d->dev), 0x1000, DATA_BASE, SZ_4K, IOMMU_READ),
		 0);
	CHECK_EQ(intel_iommu_get_stats(m->iommu, &s1), 0);
	CHECK_EQ(s1.write_buffer_flushes, 4);
	CHECK_EQ(machine_destroy(m), 0);
}

/* ---- failures ------------------------------------------------------------------------------ */

/* A register file that answers what the test wants. */
struct fake_unit {
	uint32_t ver;
	uint64_t cap, ecap;
	uint32_t gsts;
	bool follow;   /* GSTS follows GCMD */
	int fail_read; /* > 0: the n-th read fails */
	unsigned reads;
};

static int fake_read(void *ctx, uint64_t off, unsigned size, uint64_t *val)
{
	struct fake_unit *f = ctx;

	(void)size;
	if (f->fail_read && (int)++f->reads == f->fail_read)
		return -EIO;
	switch (off) {
	case VTD_REG_VER:
		*val = f->ver;
		break;
	case VTD_REG_CAP:
		*val = f->cap;
		break;
	case VTD_REG_ECAP:
		*val = f->ecap;
		break;
	case VTD_REG_GSTS:
		*val = f->gsts;
		break;
	default:
		*val = 0;
	}
	return 0;
}

static int fake_write(void *ctx, uint64_t off, unsigned size, uint64_t val)
{
	struct fake_unit *f = ctx;

	(void)size;
	if (off == VTD_REG_GCMD && f->follow)
		f->gsts = (uint32_t)val & ~((uint32_t)VTD_GCMD_WBF);
	return 0;
}

static const uint64_t good_cap =
    VTD_SET(VTD_CAP_SAGAW, 1u << VTD_AW_48BIT) | VTD_SET(VTD_CAP_MGAW, 47) | VTD_SET(VTD_CAP_ND, 2);

static int try_fake(struct fake_unit *f, struct iommu_core *core, struct mem_alloc *a)
{
	struct intel_iommu_config cfg = {
	    .mmio = {fake_read, fake_write, f}, .alloc = a, .poll_limit = 50, .quiet = true};
	struct intel_iommu *u = NULL;
	int ret = intel_iommu_create(core, &cfg, &u);

	if (!ret)
		intel_iommu_destroy(u);
	return ret;
}

static void test_create_bad_hardware(void)
{
	struct mem *m = mem_create_sparse(1ull << 30);
	struct iommu_core *core = NULL;
	struct mem_alloc *a = NULL;
	struct fake_unit f;

	CHECK(m);
	CHECK_EQ(mem_alloc_create(m, 0, 1ull << 30, &a), 0);
	CHECK_EQ(iommu_core_create(NULL, &core), 0);

	/* A sane legacy unit without QI works against the fake. */
	f = (struct fake_unit){.ver = 0x10, .cap = good_cap, .follow = true};
	CHECK_EQ(try_fake(&f, core, a), 0);
	CHECK_EQ(mem_alloc_in_use(a), 0);

	f = (struct fake_unit){.ver = 0, .cap = good_cap, .follow = true};
	CHECK_EQ(try_fake(&f, core, a), -ENODEV); /* VER 0: nothing there */
	f = (struct fake_unit){.ver = 0x10, .cap = ~0ull, .ecap = ~0ull, .follow = true};
	CHECK_EQ(try_fake(&f, core, a), -ENODEV); /* a bus that reads all ones */
	f = (struct fake_unit){.ver = 0x10, .cap = good_cap, .ecap = VTD_ECAP_SMTS, .follow = true};
	CHECK_EQ(try_fake(&f, core, a), -ENODEV); /* scalable without QI */
	f = (struct fake_unit){.ver = 0x10, .cap = good_cap, .ecap = VTD_ECAP_DT, .follow = true};
	CHECK_EQ(try_fake(&f, core, a), -ENODEV); /* device TLBs without QI */
	f = (struct fake_unit){.ver = 0x10, .cap = VTD_SET(VTD_CAP_MGAW, 47), .follow = true};
	CHECK_EQ(try_fake(&f, core, a), -ENODEV); /* no SAGAW */
	f = (struct fake_unit){
	    .ver = 0x10, .cap = good_cap | VTD_SET(VTD_CAP_ND, 7), .follow = true};
	CHECK_EQ(try_fake(&f, core, a), -ENODEV); /* reserved ND */
	/* GSTS never follows: the SRTP poll gives up. */
	f = (struct fake_unit){.ver = 0x10, .cap = good_cap};
	CHECK_EQ(try_fake(&f, core, a), -ETIMEDOUT);
	/* Translation on and stuck on: it cannot be turned off. */
	f = (struct fake_unit){.ver = 0x10, .cap = good_cap, .gsts = (uint32_t)VTD_GSTS_TES};
	CHECK_EQ(try_fake(&f, core, a), -ENODEV);
	/* A register read that fails, at each of the first reads. */
	for (int n = 1; n <= 6; n++) {
		f = (struct fake_unit){
		    .ver = 0x10, .cap = good_cap, .follow = true, .fail_read = n};
		CHECK_EQ(try_fake(&f, core, a), -EIO);
	}
	CHECK_EQ(mem_alloc_in_use(a), 0);
	CHECK_EQ(iommu_core_destroy(core), 0);
	mem_alloc_destroy(a);
	mem_destroy(m);
}

static void test_create_bad_arguments(void)
{
	struct mem *m = mem_create_sparse(1ull << 24);
	struct iommu_core *core = NULL;
	struct mem_alloc *a = NULL;
	struct fake_unit f = {.ver = 0x10, .cap = good_cap, .follow = true};
	struct intel_iommu_config cfg = {.mmio = {fake_read, fake_write, &f}, .quiet = true};
	struct intel_iommu *u = NULL;

	CHECK(m);
	CHECK_EQ(mem_alloc_create(m, 0, 1ull << 24, &a), 0);
	CHECK_EQ(iommu_core_create(NULL, &core), 0);
	CHECK_EQ(intel_iommu_create(core, &cfg, &u), -EINVAL); /* no allocator */
	cfg.alloc = a;
	CHECK_EQ(intel_iommu_create(NULL, &cfg, &u), -EINVAL);
	CHECK_EQ(intel_iommu_create(core, NULL, &u), -EINVAL);
	CHECK_EQ(intel_iommu_create(core, &cfg, NULL), -EINVAL);
	cfg.batch = INTEL_IOMMU_BATCH_MAX + 1;
	CHECK_EQ(intel_iommu_create(core, &cfg, &u), -EINVAL);
	cfg.batch = 0;
	cfg.default_stage = (enum intel_iommu_stage)3;
	CHECK_EQ(intel_iommu_create(core, &cfg, &u), -EINVAL);
	cfg.default_stage = INTEL_IOMMU_STAGE_AUTO;
	cfg.skip = INTEL_IOMMU_INV_NR;
	CHECK_EQ(intel_iommu_create(core, &cfg, &u), -EINVAL);
	cfg.skip = INTEL_IOMMU_INV_NONE;
	cfg.queue_pages = 3; /* not a power of two */
	CHECK_EQ(intel_iommu_create(core, &cfg, &u), -EINVAL);
	cfg.queue_pages = INTEL_IOMMU_QUEUE_PAGES_MAX * 2;
	CHECK_EQ(intel_iommu_create(core, &cfg, &u), -EINVAL);
	cfg.queue_pages = 0;
	cfg.mmio.write = NULL;
	CHECK_EQ(intel_iommu_create(core, &cfg, &u), -EINVAL);
	cfg.mmio.write = fake_write;
	CHECK_EQ(intel_iommu_create(core, &cfg, &u), 0);
	/* Registered once only: a second unit object on the same registers is fine, the
	 * same unit twice is not possible through this API. */
	CHECK_EQ(intel_iommu_set_skip(u, INTEL_IOMMU_INV_NR), -EINVAL);
	CHECK_EQ(intel_iommu_set_skip(NULL, INTEL_IOMMU_INV_NONE), -EINVAL);
	CHECK_EQ(intel_iommu_get_stats(u, NULL), -EINVAL);
	CHECK_EQ(intel_iommu_destroy(u), 0);
	CHECK_EQ(intel_iommu_destroy(NULL), 0);
	CHECK_EQ(mem_alloc_in_use(a), 0);
	CHECK_EQ(iommu_core_destroy(core), 0);
	mem_alloc_destroy(a);
	mem_destroy(m);
}

static int vtd_rd(void *ctx, uint64_t off, unsigned size, uint64_t *val)
{
	return vtd_mmio_read(ctx, off, size, val);
}

static int vtd_wr(void *ctx, uint64_t off, unsigned size, uint64_t val)
{
	return vtd_mmio_write(ctx, off, size, val);
}

/* Translation left on by an earlier user: turned off, then on with the new tables. */
static void test_translation_left_on(void)
{
	struct mem *mem = mem_create_sparse(1ull << 32);
	struct vtd_config vc;
	struct vtd *vtd = NULL;
	struct iommu_core *core = NULL;
	struct mem_alloc *a = NULL;
	struct intel_iommu *u = NULL;
	struct intel_iommu_config cfg = {.quiet = true, .poll_limit = 50};
	uint64_t v = 0;

	CHECK(mem);
	vtd_config_default(&vc);
	CHECK_EQ(vtd_create(&vc, mem, NULL, NULL, &vtd), 0);
	CHECK_EQ(mem_alloc_create(mem, 1ull << 31, 1ull << 30, &a), 0);
	CHECK_EQ(iommu_core_create(NULL, &core), 0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_GCMD, 4, VTD_GCMD_TE), 0);
	cfg.mmio = (struct intel_iommu_mmio){vtd_rd, vtd_wr, vtd};
	cfg.alloc = a;
	CHECK_EQ(intel_iommu_create(core, &cfg, &u), 0);
	CHECK_EQ(vtd_mmio_read(vtd, VTD_REG_GSTS, 4, &v), 0);
	CHECK(v & VTD_GSTS_TES);
	CHECK_EQ(vtd_mmio_read(vtd, VTD_REG_RTADDR, 8, &v), 0);
	CHECK_EQ(v & VTD_RTADDR_RTA_MASK, intel_iommu_root_table(u));
	CHECK_EQ(intel_iommu_destroy(u), 0);
	CHECK_EQ(mem_alloc_in_use(a), 0);
	CHECK_EQ(iommu_core_destroy(core), 0);
	vtd_destroy(vtd);
	mem_alloc_destroy(a);
	mem_destroy(mem);
}

/* Destroy refuses while devices are probed; the machine layer's own errors. */
static void test_destroy_and_machine_errors(void)
{
	struct machine_config cfg;
	struct machine *m = mk_machine(NULL), *bad = NULL;
	struct machine_dev *d, *e = NULL;
	struct machine_dev_config dc = {.rid = PCI_RID(0, 1, 0), .ats = true};

	CHECK(m);
	d = mk_dev(m, PCI_RID(0, 1, 0), 20, true);
	CHECK(d);
	CHECK_EQ(intel_iommu_destroy(m->iommu), -EBUSY);
	CHECK_EQ(machine_add_device(m, &dc, &e), -EBUSY); /* the ATS port of that RID */
	dc.ats = false;
	CHECK_EQ(machine_add_device(m, &dc, &e), -EEXIST); /* the RID on the unit */
	CHECK_EQ(machine_add_device(NULL, &dc, &e), -EINVAL);
	CHECK_EQ(iommu_attach_device_pasid(iommu_get_default_domain(d->dev), d->dev, 3), 0);
	CHECK_EQ(machine_remove_device(d), -EBUSY);
	CHECK_EQ(machine_destroy(m), -EBUSY);
	CHECK_EQ(iommu_detach_device_pasid(iommu_get_default_domain(d->dev), d->dev, 3), 0);
	CHECK_EQ(machine_remove_device(d), 0);
	CHECK_EQ(machine_destroy(m), 0);
	CHECK_EQ(machine_destroy(NULL), 0);

	machine_config_default(&cfg);
	cfg.alloc_size = cfg.mem_size;
	CHECK_EQ(machine_create(&cfg, &bad), -EINVAL);
	machine_config_default(&cfg);
	cfg.vtd.mgaw = 99;
	CHECK_EQ(machine_create(&cfg, &bad), -EINVAL);
	CHECK_EQ(machine_create(NULL, &bad), -EINVAL);
}

int main(void)
{
	RUN(test_enable_scalable);
	RUN(test_enable_legacy);
	RUN(test_queue_pages);
	RUN(test_enable_legacy_register_invalidation);
	RUN(test_caching_mode);
	RUN(test_write_buffer);
	RUN(test_create_bad_hardware);
	RUN(test_create_bad_arguments);
	RUN(test_translation_left_on);
	RUN(test_destroy_and_machine_errors);
	return CHECK_DONE();
}
