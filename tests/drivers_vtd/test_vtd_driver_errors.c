// SPDX-License-Identifier: MIT
/*
 * Every error rule of the core-and-driver issue, through the core and the driver ops:
 * PASID 0 and PASIDs beyond the device's width, a busy PASID, devices and units without
 * PASID support, a domain of another driver, a domain the unit cannot walk, no domain ID
 * left, no memory for a PASID table, stages a unit lacks, identity without pass-through,
 * map errors - and in each failing attach or replace the old configuration stays: the
 * core's lookup, the entry in memory and the translations.
 */
#include "drv_test.h"

static void tweak_no_pasid_unit(struct machine_config *c)
{
	c->vtd.pasid_bits = 0;
	c->vtd.supervisor_requests = false;
	c->vtd.execute_requests = false;
}

static void tweak_small_dids(struct machine_config *c)
{
	c->vtd.did_bits = 4; /* 16 domain IDs: 0 and 1 reserved, 14 for domains */
}

static void tweak_no_fs(struct machine_config *c)
{
	c->vtd.first_stage = false;
	c->vtd.nested = false;
	c->vtd.fs_5level = false;
	c->vtd.fs_1g = false;
	c->vtd.fs_ea = false;
}

static void tweak_no_ss(struct machine_config *c)
{
	c->vtd.second_stage = false;
	c->vtd.nested = false;
	c->vtd.ss_ad = false;
	c->driver.default_stage = INTEL_IOMMU_STAGE_SECOND;
}

static void tweak_no_pt(struct machine_config *c)
{
	c->vtd.pass_through = false;
	c->iommu.passthrough = true; /* asked for, but the unit cannot */
}

static void tweak_tiny_alloc(struct machine_config *c)
{
	c->alloc_size = 64 * SZ_4K;
}

/* The entry in memory, the lookup and a translation all still say `dom`/`pa`. */
static int unchanged(struct machine *m, struct machine_dev *d, uint32_t pasid,
		     struct iommu_domain *dom, const uint64_t before[8], uint64_t iova, uint64_t pa)
{
	uint64_t q[8];

	CHECK_RET(iommu_get_domain_for_dev_pasid(d->dev, pasid) == dom);
	CHECK_RET(pasid_entry(m, d->rid, pasid, q) == 0);
	CHECK_RET(memcmp(q, before, sizeof(q)) == 0);
	CHECK_RET(xlate(m, d->rid, pasid, iova, false).addr == pa);
	return 0;
}

/* PASID 0 and beyond the width: -EINVAL from the core and from the op. */
static void test_pasid_range(void)
{
	struct machine *m = mk_machine(NULL);
	struct machine_dev *d;
	struct iommu_domain *dom;

	CHECK(m);
	d = mk_dev(m, PCI_RID(0, 1, 0), 4, false); /* PASIDs 0..15 */
	CHECK(d);
	dom = iommu_get_default_domain(d->dev);
	CHECK_EQ(iommu_attach_device_pasid(dom, d->dev, IOMMU_NO_PASID), -EINVAL);
	CHECK_EQ(iommu_attach_device_pasid(dom, d->dev, 16), -EINVAL);
	CHECK_EQ(dom->ops->set_dev_pasid(dom, d->dev, IOMMU_NO_PASID, NULL), -EINVAL);
	CHECK_EQ(dom->ops->set_dev_pasid(dom, d->dev, 16, NULL), -EINVAL);
	CHECK_EQ(dom->ops->set_dev_pasid(dom, d->dev, 1u << 20, NULL), -EINVAL);
	CHECK_EQ(iommu_attach_device_pasid(dom, d->dev, 15), 0);
	/* The unit refuses what the directory does not cover (PDTS sized for 16). */
	CHECK_EQ(xlate(m, d->rid, 64 * 128, 0, false).fault, VTD_FR_SCT_7);
	CHECK_EQ(iommu_detach_device_pasid(dom, d->dev, 15), 0);
	CHECK_EQ(machine_destroy(m), 0);
}

/* A busy PASID: -EBUSY, the first attachment untouched. */
static void test_busy_pasid(void)
{
	struct machine *m = mk_machine(NULL);
	struct machine_dev *d;
	struct iommu_domain *dom, *other;
	uint64_t q[8];

	CHECK(m);
	d = mk_dev(m, PCI_RID(0, 2, 0), 20, false);
	CHECK(d);
	dom = iommu_get_default_domain(d->dev);
	CHECK_EQ(iommu_map(dom, 0x1000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(iommu_paging_domain_alloc(d->dev, 0, &other), 0);
	CHECK_EQ(iommu_attach_device_pasid(dom, d->dev, 9), 0);
	CHECK_EQ(pasid_entry(m, d->rid, 9, q), 0);
	CHECK_EQ(iommu_attach_device_pasid(other, d->dev, 9), -EBUSY);
	CHECK_EQ(unchanged(m, d, 9, dom, q, 0x1000, DATA_BASE), 0);
	CHECK_EQ(intel_iommu_domain_did(m->iommu, other), -ENOENT);
	CHECK_EQ(iommu_detach_device_pasid(dom, d->dev, 9), 0);
	CHECK_EQ(iommu_domain_free(other), 0);
	CHECK_EQ(machine_destroy(m), 0);
}

/* No PASID support on the device, or on the unit: -EOPNOTSUPP. */
static void test_no_pasid_support(void)
{
	struct machine *m = mk_machine(NULL), *n = mk_machine(tweak_no_pasid_unit);
	struct machine_dev *d, *e;
	struct iommu_domain *dom, *id;
	uint64_t q[4];

	CHECK(m && n);
	d = mk_dev(m, PCI_RID(0, 3, 0), 0, false);
	e = mk_dev(n, PCI_RID(0, 3, 0), 20, false);
	CHECK(d && e);
	dom = iommu_get_default_domain(d->dev);
	id = d->dev->iommu->ops->identity_domain;
	CHECK_EQ(iommu_attach_device_pasid(dom, d->dev, 1), -EOPNOTSUPP);
	CHECK_EQ(dom->ops->set_dev_pasid(dom, d->dev, 1, NULL), -EOPNOTSUPP);
	CHECK_EQ(id->ops->set_dev_pasid(id, d->dev, 1, NULL), -EOPNOTSUPP);
	CHECK_EQ(iommu_alloc_global_pasid(d->dev), -EOPNOTSUPP);
	dom = iommu_get_default_domain(e->dev);
	CHECK_EQ(iommu_attach_device_pasid(dom, e->dev, 1), -EOPNOTSUPP);
	CHECK_EQ(dom->ops->set_dev_pasid(dom, e->dev, 1, NULL), -EOPNOTSUPP);
	CHECK_EQ(intel_iommu_device(n->iommu)->max_pasids, 0);
	/* Neither context entry enables PASIDs. */
	CHECK_EQ(sm_ctx(m, d->rid, q), 0);
	CHECK(!(q[0] & VTD_SCE_Q0_PASIDE));
	CHECK_EQ(sm_ctx(n, e->rid, q), 0);
	CHECK(!(q[0] & VTD_SCE_Q0_PASIDE));
	CHECK_EQ(xlate(n, e->rid, 1, 0, false).fault, VTD_FR_SCT_6);
	CHECK_EQ(machine_destroy(m), 0);
	CHECK_EQ(machine_destroy(n), 0);
}

/* A domain of another driver: -EINVAL from the core, nothing reaches the driver. */
static int other_set_dev_pasid(struct iommu_domain *d, struct iommu_dev *dev, uint32_t pasid,
			       struct iommu_domain *old)
{
	(void)d, (void)dev, (void)pasid, (void)old;
	return -EIO; /* never called */
}

static void test_foreign_domain(void)
{
	static const struct iommu_domain_ops other_ops = {.set_dev_pasid = other_set_dev_pasid};
	static const struct iommu_ops other_driver = {0};
	struct iommu_domain foreign = {
	    .type = IOMMU_DOMAIN_PAGING, .ops = &other_ops, .owner = &other_driver};
	struct machine *m = mk_machine(NULL);
	struct machine_dev *d;

	CHECK(m);
	d = mk_dev(m, PCI_RID(0, 4, 0), 20, false);
	CHECK(d);
	CHECK_EQ(iommu_attach_device_pasid(&foreign, d->dev, 2), -EINVAL);
	CHECK(iommu_get_domain_for_dev_pasid(d->dev, 2) == NULL);
	CHECK_EQ(intel_iommu_domain_did(m->iommu, &foreign), -EINVAL);
	CHECK_EQ(machine_destroy(m), 0);
}

/*
 * A domain of this driver that the unit cannot walk (its tables live in another machine's
 * memory): attach -EINVAL; replace -EINVAL and the old domain stays.
 */
static void test_incompatible_domain_replace_keeps_old(void)
{
	struct machine *m = mk_machine(NULL), *o = mk_machine(NULL);
	struct machine_dev *d, *x;
	struct iommu_domain *dom, *alien;
	uint64_t q[8];

	CHECK(m && o);
	d = mk_dev(m, PCI_RID(0, 5, 0), 20, false);
	x = mk_dev(o, PCI_RID(0, 5, 0), 20, false);
	CHECK(d && x);
	dom = iommu_get_default_domain(d->dev);
	CHECK_EQ(iommu_paging_domain_alloc(x->dev, 0, &alien), 0);
	CHECK_EQ(iommu_map(dom, 0x2000, DATA_BASE + 0x2000, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(iommu_attach_device_pasid(alien, d->dev, 3), -EINVAL);
	CHECK(iommu_get_domain_for_dev_pasid(d->dev, 3) == NULL);
	CHECK_EQ(iommu_attach_device_pasid(dom, d->dev, 3), 0);
	CHECK_EQ(pasid_entry(m, d->rid, 3, q), 0);
	CHECK_EQ(iommu_replace_device_pasid(alien, d->dev, 3), -EINVAL);
	CHECK_EQ(unchanged(m, d, 3, dom, q, 0x2000, DATA_BASE + 0x2000), 0);
	CHECK_EQ(iommu_attach_device(alien, d->dev), -EINVAL); /* the RID too */
	CHECK(iommu_get_domain_for_dev(d->dev) == dom);
	CHECK_EQ(intel_iommu_domain_did(m->iommu, alien), -ENOENT);
	CHECK_EQ(iommu_detach_device_pasid(dom, d->dev, 3), 0);
	CHECK_EQ(iommu_domain_free(alien), 0);
	CHECK_EQ(machine_destroy(m), 0);
	CHECK_EQ(machine_destroy(o), 0);
}

/* No domain ID left: -ENOSPC, the PASID stays free (attach) or on its domain (replace). */
static void test_no_domain_id(void)
{
	struct machine *m = mk_machine(tweak_small_dids);
	struct iommu_domain *doms[16];
	struct machine_dev *d;
	unsigned n = 0;
	uint64_t q[8];
	int ret = 0;

	CHECK(m);
	d = mk_dev(m, PCI_RID(0, 6, 0), 20, false); /* the default domain takes one */
	CHECK(d);
	for (n = 0; n < 16; n++) {
		CHECK_EQ(iommu_paging_domain_alloc(d->dev, 0, &doms[n]), 0);
		ret = iommu_attach_device_pasid(doms[n], d->dev, 100 + n);
		if (ret)
			break;
	}
	CHECK_EQ(ret, -ENOSPC);
	CHECK_EQ(n, 13); /* 14 usable IDs, one for the default domain */
	CHECK(iommu_get_domain_for_dev_pasid(d->dev, 100 + n) == NULL);
	CHECK_EQ(pasid_entry(m, d->rid, 100 + n, q), 0);
	CHECK_EQ(q[0], 0);
	/* Replace onto the domain without an ID: refused, the old one stays. */
	CHECK_EQ(iommu_map(doms[0], 0x4000, DATA_BASE + 0x4000, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(pasid_entry(m, d->rid, 100, q), 0);
	CHECK_EQ(iommu_replace_device_pasid(doms[n], d->dev, 100), -ENOSPC);
	CHECK_EQ(unchanged(m, d, 100, doms[0], q, 0x4000, DATA_BASE + 0x4000), 0);
	/* One detached: its ID is free again. */
	CHECK_EQ(iommu_detach_device_pasid(doms[1], d->dev, 101), 0);
	CHECK_EQ(iommu_attach_device_pasid(doms[n], d->dev, 100 + n), 0);
	CHECK_EQ(iommu_detach_device_pasid(doms[n], d->dev, 100 + n), 0);
	for (unsigned i = 0; i <= n; i++) {
		if (i != 1 && i != n)
			CHECK_EQ(iommu_detach_device_pasid(doms[i], d->dev, 100 + i), 0);
		CHECK_EQ(iommu_domain_free(doms[i]), 0);
	}
	CHECK_EQ(machine_destroy(m), 0);
}

/* No memory for a PASID table: -ENOMEM, nothing attached. */
static void test_no_memory(void)
{
	struct machine *m = mk_machine(tweak_tiny_alloc);
	struct machine_dev *d;
	struct iommu_domain *dom;
	uint64_t pa, held[64];
	unsigned n = 0;

	CHECK(m);
	d = mk_dev(m, PCI_RID(0, 7, 0), 20, false);
	CHECK(d);
	dom = iommu_get_default_domain(d->dev);
	while (n < 64 && mem_alloc_page(m->alloc, &pa) == 0)
		held[n++] = pa;
	CHECK(n < 64);
	CHECK_EQ(iommu_attach_device_pasid(dom, d->dev, 64 * 5), -ENOMEM);
	CHECK(iommu_get_domain_for_dev_pasid(d->dev, 64 * 5) == NULL);
	CHECK_EQ(xlate(m, d->rid, 64 * 5, 0, false).fault, VTD_FR_SPD_2);
	CHECK_EQ(iommu_map(dom, 0x600000000ull, DATA_BASE, SZ_4K, IOMMU_READ), -ENOMEM);
	/* PASIDs in the RID's table need no new page. */
	CHECK_EQ(iommu_attach_device_pasid(dom, d->dev, 5), 0);
	CHECK_EQ(iommu_detach_device_pasid(dom, d->dev, 5), 0);
	while (n)
		CHECK_EQ(mem_free_page(m->alloc, held[--n]), 0);
	CHECK_EQ(iommu_attach_device_pasid(dom, d->dev, 64 * 5), 0);
	CHECK_EQ(iommu_detach_device_pasid(dom, d->dev, 64 * 5), 0);
	CHECK_EQ(machine_destroy(m), 0);
}

/* Stages a unit lacks: -EOPNOTSUPP for the flag, the default falls back. */
static void test_missing_stages(void)
{
	struct machine *nofs = mk_machine(tweak_no_fs), *noss = mk_machine(tweak_no_ss);
	struct machine_dev *a, *b;
	struct iommu_domain *dom;
	uint64_t q[8];

	CHECK(nofs && noss);
	a = mk_dev(nofs, PCI_RID(0, 1, 0), 20, false);
	b = mk_dev(noss, PCI_RID(0, 1, 0), 20, false);
	CHECK(a && b);
	CHECK_EQ(iommu_paging_domain_alloc(a->dev, IOMMU_DOMAIN_ALLOC_FIRST_STAGE, &dom),
		 -EOPNOTSUPP);
	CHECK_EQ(iommu_paging_domain_alloc(b->dev, IOMMU_DOMAIN_ALLOC_SECOND_STAGE, &dom),
		 -EOPNOTSUPP);
	CHECK_EQ(pasid_entry(nofs, a->rid, 0, q), 0);
	CHECK_EQ(VTD_GET(q[0], VTD_PE_Q0_PGTT), VTD_PGTT_SS);
	CHECK_EQ(pasid_entry(noss, b->rid, 0, q), 0);
	CHECK_EQ(VTD_GET(q[0], VTD_PE_Q0_PGTT), VTD_PGTT_FS);
	CHECK_EQ(machine_destroy(nofs), 0);
	CHECK_EQ(machine_destroy(noss), 0);
}

/* Without ECAP.PT: translated default domains, and identity cannot be attached. */
static void test_no_pass_through(void)
{
	struct machine *m = mk_machine(tweak_no_pt);
	struct machine_dev *d;
	struct iommu_domain *id;

	CHECK(m);
	d = mk_dev(m, PCI_RID(0, 2, 0), 20, false);
	CHECK(d);
	CHECK_EQ(iommu_get_default_domain(d->dev)->type, IOMMU_DOMAIN_DMA);
	id = d->dev->iommu->ops->identity_domain;
	CHECK_EQ(iommu_attach_device_pasid(id, d->dev, 4), -EOPNOTSUPP);
	CHECK(iommu_get_domain_for_dev_pasid(d->dev, 4) == NULL);
	CHECK_EQ(iommu_attach_device(id, d->dev), -EOPNOTSUPP);
	CHECK_EQ(machine_destroy(m), 0);
}

/* Mapping errors from the driver: no permission, already mapped, not mapped. */
static void test_map_errors(void)
{
	struct machine *m = mk_machine(NULL);
	struct machine_dev *d;
	struct iommu_domain *dom;
	uint64_t pa = 0, mapped = 1;

	CHECK(m);
	d = mk_dev(m, PCI_RID(0, 3, 0), 0, false);
	CHECK(d);
	dom = iommu_get_default_domain(d->dev);
	CHECK_EQ(iommu_map(dom, 0x1000, DATA_BASE, SZ_4K, 0), -EINVAL);
	CHECK_EQ(iommu_map(dom, 0x1000, DATA_BASE, SZ_4K, IOMMU_WRITE), 0); /* FS: readable */
	CHECK_EQ(iommu_map(dom, 0x1000, DATA_BASE, SZ_4K, IOMMU_READ), -EEXIST);
	CHECK_EQ(dom->ops->map_pages(dom, 0x3000, DATA_BASE, SZ_4K, 1, 1u << 7, &mapped), -EINVAL);
	CHECK_EQ(mapped, 0);
	CHECK_EQ(iommu_map(dom, dom->aperture_end + 1, DATA_BASE, SZ_4K, IOMMU_READ), -ERANGE);
	CHECK_EQ(iommu_iova_to_phys(dom, 0x1000, &pa), 0);
	CHECK_EQ(pa, DATA_BASE);
	CHECK_EQ(iommu_iova_to_phys(dom, 0x2000, &pa), -ENOENT);
	CHECK_EQ(dom->ops->iova_to_phys(dom, ~0ull, &pa), -ENOENT);
	CHECK_EQ(iommu_unmap(dom, 0x2000, SZ_4K), 0);
	CHECK_EQ(machine_destroy(m), 0);
}

int main(void)
{
	RUN(test_pasid_range);
	RUN(test_busy_pasid);
	RUN(test_no_pasid_support);
	RUN(test_foreign_domain);
	RUN(test_incompatible_domain_replace_keeps_old);
	RUN(test_no_domain_id);
	RUN(test_no_memory);
	RUN(test_missing_stages);
	RUN(test_no_pass_through);
	RUN(test_map_errors);
	return CHECK_DONE();
}
