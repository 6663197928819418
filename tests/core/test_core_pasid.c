// SPDX-License-Identifier: MIT
/*
 * PASID attachment (attach, replace, detach, lookup) with every error rule, and the global
 * PASID allocator.
 */
#include "check.h"
#include "mock_iommu.h"

static struct iommu_core *core;
static struct mock_iommu *mi, *mi_other, *mi_bare;
static struct iommu_dev *dev;	      /* mock_ops, 8-bit PASIDs (max 256) */
static struct iommu_dev *dev_nopasid; /* mock_ops, no PASID capability */
static struct iommu_dev *dev_other;   /* mock_ops_other */
static struct iommu_dev *dev_bare;    /* mock_ops_bare: blocked without set_dev_pasid */
static unsigned expected_warnings;

static int setup_cfg(const struct iommu_config *cfg)
{
	struct iommu_dev_info info = {.rid = 0x20, .pasid_width = 8};

	CHECK_RET(iommu_core_create(cfg, &core) == 0);
	mi = mock_iommu_new(&mock_ops, 1u << 20);
	mi_other = mock_iommu_new(&mock_ops_other, 1u << 20);
	mi_bare = mock_iommu_new(&mock_ops_bare, 1u << 20);
	CHECK_RET(mi && mi_other && mi_bare);
	mi->lookup_during_attach = true;
	CHECK_RET(iommu_device_register(core, &mi->iommu) == 0);
	CHECK_RET(iommu_device_register(core, &mi_other->iommu) == 0);
	CHECK_RET(iommu_device_register(core, &mi_bare->iommu) == 0);
	CHECK_RET(iommu_probe_device(&mi->iommu, &info, &dev) == 0);
	CHECK_RET(iommu_probe_device(&mi_other->iommu, &info, &dev_other) == 0);
	CHECK_RET(iommu_probe_device(&mi_bare->iommu, &info, &dev_bare) == 0);
	info.rid = 0x21;
	info.pasid_width = 0;
	CHECK_RET(iommu_probe_device(&mi->iommu, &info, &dev_nopasid) == 0);
	mock_clear_log(mi);
	return 0;
}

static int setup(void)
{
	return setup_cfg(NULL);
}

static void teardown(void)
{
	CHECK_EQ(iommu_release_device(dev), 0);
	CHECK_EQ(iommu_release_device(dev_nopasid), 0);
	CHECK_EQ(iommu_release_device(dev_other), 0);
	CHECK_EQ(iommu_release_device(dev_bare), 0);
	CHECK_EQ(iommu_device_unregister(&mi->iommu), 0);
	CHECK_EQ(iommu_device_unregister(&mi_other->iommu), 0);
	CHECK_EQ(iommu_device_unregister(&mi_bare->iommu), 0);
	CHECK_EQ(mi->live_domains + mi_other->live_domains + mi_bare->live_domains, 0);
	CHECK_EQ(mi->mismatches + mi_other->mismatches + mi_bare->mismatches, 0);
	CHECK_EQ(iommu_core_warnings(core), expected_warnings);
	expected_warnings = 0;
	CHECK_EQ(iommu_core_destroy(core), 0);
	mock_iommu_free(mi);
	mock_iommu_free(mi_other);
	mock_iommu_free(mi_bare);
}

static void test_pasid_attach(void)
{
	struct iommu_domain *def, *d;
	const struct mock_call *c;

	if (setup())
		return;
	def = iommu_get_default_domain(dev);
	CHECK_EQ(iommu_paging_domain_alloc(dev, IOMMU_DOMAIN_ALLOC_PASID, &d), 0);
	CHECK(iommu_get_domain_for_dev_pasid(dev, 1) == NULL);
	CHECK_EQ(iommu_attach_device_pasid(d, dev, 1), 0);
	c = mock_last(mi, MOCK_SET_DEV_PASID);
	CHECK(c->domain == d && c->dev == dev && c->pasid == 1 && c->old == NULL);
	CHECK(iommu_get_domain_for_dev_pasid(dev, 1) == d);
	CHECK(mock_hw(dev, 1) == d);
	CHECK_EQ(d->users, 1);
	/* The RID and other PASIDs are untouched. */
	CHECK(iommu_get_domain_for_dev(dev) == def);
	CHECK(mock_hw(dev, IOMMU_NO_PASID) == def);
	CHECK(iommu_get_domain_for_dev_pasid(dev, 2) == NULL);
	CHECK_EQ(mi->calls[MOCK_ATTACH_DEV], 0);
	/* One domain may sit on several PASIDs; the highest PASID the device has works. */
	CHECK_EQ(iommu_attach_device_pasid(d, dev, 255), 0);
	CHECK(iommu_get_domain_for_dev_pasid(dev, 255) == d);
	CHECK_EQ(d->users, 2);
	CHECK_EQ(iommu_detach_device_pasid(d, dev, 1), 0);
	CHECK_EQ(iommu_detach_device_pasid(d, dev, 255), 0);
	CHECK_EQ(d->users, 0);
	CHECK_EQ(iommu_domain_free(d), 0);
	teardown();
}

/* Every error rule of attach, in Linux's order; none of them reaches the driver. */
static void test_pasid_attach_errors(void)
{
	struct iommu_domain *d, *theirs, *nopasid, *bare;

	if (setup())
		return;
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d), 0);
	CHECK_EQ(iommu_paging_domain_alloc(dev_other, 0, &theirs), 0);
	CHECK_EQ(iommu_paging_domain_alloc(dev_bare, 0, &bare), 0);
	mi->paging_no_pasid = true;
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &nopasid), 0);
	mi->paging_no_pasid = false;

	CHECK_EQ(iommu_attach_device_pasid(NULL, dev, 1), -EINVAL);
	CHECK_EQ(iommu_attach_device_pasid(d, NULL, 1), -EINVAL);
	/* no set_dev_pasid on the domain, or none on the blocked domain (no way back) */
	CHECK_EQ(iommu_attach_device_pasid(nopasid, dev, 1), -EOPNOTSUPP);
	CHECK_EQ(iommu_attach_device_pasid(bare, dev_bare, 1), -EOPNOTSUPP);
	/* another driver's paging, identity or blocked domain */
	CHECK_EQ(iommu_attach_device_pasid(theirs, dev, 1), -EINVAL);
	CHECK_EQ(iommu_attach_device_pasid(&mock_other_identity, dev, 1), -EINVAL);
	CHECK_EQ(iommu_attach_device_pasid(&mock_other_blocked, dev, 1), -EINVAL);
	/* PASID 0 is the RID */
	CHECK_EQ(iommu_attach_device_pasid(d, dev, IOMMU_NO_PASID), -EINVAL);
	/* the order: a foreign domain is -EINVAL before the PASID is looked at */
	CHECK_EQ(iommu_attach_device_pasid(theirs, dev_nopasid, 1), -EINVAL);
	/* no PASID capability */
	CHECK_EQ(iommu_attach_device_pasid(d, dev_nopasid, 1), -EOPNOTSUPP);
	/* beyond the device's width */
	CHECK_EQ(iommu_attach_device_pasid(d, dev, 256), -EINVAL);
	CHECK_EQ(iommu_attach_device_pasid(d, dev, IOMMU_PASID_INVALID), -EINVAL);
	CHECK_EQ(mi->calls[MOCK_SET_DEV_PASID], 0);
	/* busy, with the same or another domain */
	CHECK_EQ(iommu_attach_device_pasid(d, dev, 9), 0);
	CHECK_EQ(iommu_attach_device_pasid(d, dev, 9), -EBUSY);
	CHECK_EQ(iommu_attach_device_pasid(&mock_identity, dev, 9), -EBUSY);
	CHECK_EQ(mi->calls[MOCK_SET_DEV_PASID], 1);
	CHECK(iommu_get_domain_for_dev_pasid(dev, 9) == d);
	CHECK_EQ(iommu_detach_device_pasid(d, dev, 9), 0);
	CHECK_EQ(iommu_domain_free(d), 0);
	CHECK_EQ(iommu_domain_free(theirs), 0);
	CHECK_EQ(iommu_domain_free(nopasid), 0);
	CHECK_EQ(iommu_domain_free(bare), 0);
	teardown();
}

/* A unit without PASID support makes every device on it PASID-less. */
static void test_pasid_unit_without_pasid(void)
{
	struct iommu_dev_info info = {.rid = 0x30, .pasid_width = 20};
	struct mock_iommu *m;
	struct iommu_dev *d;

	if (setup())
		return;
	m = mock_iommu_new(&mock_ops, 0);
	CHECK(m);
	CHECK_EQ(iommu_device_register(core, &m->iommu), 0);
	CHECK_EQ(iommu_probe_device(&m->iommu, &info, &d), 0);
	CHECK_EQ(iommu_attach_device_pasid(iommu_get_default_domain(d), d, 1), -EOPNOTSUPP);
	CHECK_EQ(iommu_alloc_global_pasid(d), -EOPNOTSUPP);
	CHECK(iommu_get_domain_for_dev_pasid(d, 1) == NULL);
	CHECK(iommu_get_domain_for_dev_pasid(d, IOMMU_NO_PASID) == iommu_get_default_domain(d));
	CHECK_EQ(iommu_release_device(d), 0);
	CHECK_EQ(iommu_device_unregister(&m->iommu), 0);
	mock_iommu_free(m);
	teardown();
}

/* A failed attach leaves the PASID free: not visible, not busy, no reference taken. */
static void test_pasid_attach_failure(void)
{
	struct iommu_domain *d;

	if (setup())
		return;
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d), 0);
	mi->fail_set_dev_pasid = -ENOSPC;
	CHECK_EQ(iommu_attach_device_pasid(d, dev, 4), -ENOSPC);
	CHECK(iommu_get_domain_for_dev_pasid(dev, 4) == NULL);
	CHECK(mock_hw(dev, 4) == NULL);
	CHECK_EQ(d->users, 0);
	CHECK_EQ(iommu_detach_device_pasid(d, dev, 4), -ENOENT);
	CHECK_EQ(iommu_attach_device_pasid(d, dev, 4), 0);
	CHECK_EQ(iommu_detach_device_pasid(d, dev, 4), 0);
	CHECK_EQ(iommu_domain_free(d), 0);
	teardown();
}

/* Reserve, then publish: during the driver call the new attachment is not visible. */
static void test_pasid_publish_after_success(void)
{
	struct iommu_domain *d1, *d2;

	if (setup())
		return;
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d1), 0);
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d2), 0);
	CHECK_EQ(iommu_attach_device_pasid(d1, dev, 6), 0);
	CHECK(mock_last(mi, MOCK_SET_DEV_PASID)->seen == NULL);
	CHECK_EQ(iommu_replace_device_pasid(d2, dev, 6), 0);
	CHECK(mock_last(mi, MOCK_SET_DEV_PASID)->seen == d1);
	CHECK(iommu_get_domain_for_dev_pasid(dev, 6) == d2);
	CHECK_EQ(iommu_detach_device_pasid(d2, dev, 6), 0);
	/* ... and detach publishes the empty slot after the blocked domain went in. */
	CHECK(mock_last(mi, MOCK_SET_DEV_PASID)->seen == d2);
	CHECK(iommu_get_domain_for_dev_pasid(dev, 6) == NULL);
	CHECK_EQ(iommu_domain_free(d1), 0);
	CHECK_EQ(iommu_domain_free(d2), 0);
	teardown();
}

static void test_pasid_replace(void)
{
	struct iommu_domain *d1, *d2, *theirs;
	const struct mock_call *c;

	if (setup())
		return;
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d1), 0);
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d2), 0);
	CHECK_EQ(iommu_paging_domain_alloc(dev_other, 0, &theirs), 0);
	/* Nothing attached: not a replace. */
	CHECK_EQ(iommu_replace_device_pasid(d1, dev, 3), -EINVAL);
	CHECK(iommu_get_domain_for_dev_pasid(dev, 3) == NULL);
	/* The attach checks apply. */
	CHECK_EQ(iommu_replace_device_pasid(d1, dev, IOMMU_NO_PASID), -EINVAL);
	CHECK_EQ(iommu_replace_device_pasid(d1, dev, 256), -EINVAL);
	CHECK_EQ(iommu_replace_device_pasid(d1, dev_nopasid, 3), -EOPNOTSUPP);
	CHECK_EQ(iommu_replace_device_pasid(NULL, dev, 3), -EINVAL);

	CHECK_EQ(iommu_attach_device_pasid(d1, dev, 3), 0);
	CHECK_EQ(iommu_replace_device_pasid(theirs, dev, 3), -EINVAL);
	/* The same domain again: nothing to do, the driver is not called. */
	mock_clear_log(mi);
	CHECK_EQ(iommu_replace_device_pasid(d1, dev, 3), 0);
	CHECK_EQ(mi->calls[MOCK_SET_DEV_PASID], 0);
	/* One driver call with old; no detour through blocked. */
	CHECK_EQ(iommu_replace_device_pasid(d2, dev, 3), 0);
	CHECK_EQ(mi->calls[MOCK_SET_DEV_PASID], 1);
	c = mock_last(mi, MOCK_SET_DEV_PASID);
	CHECK(c->domain == d2 && c->old == d1 && c->pasid == 3);
	CHECK(iommu_get_domain_for_dev_pasid(dev, 3) == d2);
	CHECK(mock_hw(dev, 3) == d2);
	CHECK_EQ(d1->users, 0);
	CHECK_EQ(d2->users, 1);
	/* Replace with the identity domain (pass-through) and back. */
	CHECK_EQ(iommu_replace_device_pasid(&mock_identity, dev, 3), 0);
	CHECK(mock_hw(dev, 3) == &mock_identity);
	CHECK_EQ(iommu_replace_device_pasid(d1, dev, 3), 0);
	CHECK(mock_last(mi, MOCK_SET_DEV_PASID)->old == &mock_identity);
	CHECK_EQ(iommu_detach_device_pasid(d1, dev, 3), 0);
	CHECK_EQ(iommu_domain_free(d1), 0);
	CHECK_EQ(iommu_domain_free(d2), 0);
	CHECK_EQ(iommu_domain_free(theirs), 0);
	teardown();
}

/* A failed replace keeps the old domain: in the core, for lookups, and in the hardware. */
static void test_pasid_replace_failure_keeps_old(void)
{
	struct iommu_domain *d1, *d2;

	if (setup())
		return;
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d1), 0);
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d2), 0);
	CHECK_EQ(iommu_attach_device_pasid(d1, dev, 12), 0);
	mi->fail_set_dev_pasid = -ENOMEM;
	CHECK_EQ(iommu_replace_device_pasid(d2, dev, 12), -ENOMEM);
	CHECK(mock_last(mi, MOCK_SET_DEV_PASID)->old == d1);
	CHECK(iommu_get_domain_for_dev_pasid(dev, 12) == d1);
	CHECK(mock_hw(dev, 12) == d1);
	CHECK_EQ(d1->users, 1);
	CHECK_EQ(d2->users, 0);
	/* d2 is free to go, d1 is not */
	CHECK_EQ(iommu_domain_free(d2), 0);
	CHECK_EQ(iommu_domain_free(d1), -EBUSY);
	CHECK_EQ(iommu_detach_device_pasid(d1, dev, 12), 0);
	CHECK_EQ(iommu_domain_free(d1), 0);
	teardown();
}

/* Detach is attaching the blocked domain, with the detached domain as old. */
static void test_pasid_detach(void)
{
	struct iommu_domain *d1, *d2;
	const struct mock_call *c;

	if (setup())
		return;
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d1), 0);
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d2), 0);
	CHECK_EQ(iommu_attach_device_pasid(d1, dev, 7), 0);
	CHECK_EQ(iommu_detach_device_pasid(NULL, dev, 7), -EINVAL);
	CHECK_EQ(iommu_detach_device_pasid(d1, NULL, 7), -EINVAL);
	CHECK_EQ(iommu_detach_device_pasid(d1, dev, IOMMU_NO_PASID), -EINVAL);
	CHECK_EQ(iommu_detach_device_pasid(d1, dev, 256), -EINVAL);
	CHECK_EQ(iommu_detach_device_pasid(d1, dev_nopasid, 7), -EINVAL);
	CHECK_EQ(iommu_detach_device_pasid(d2, dev, 7), -EINVAL); /* not the one attached */
	CHECK_EQ(iommu_detach_device_pasid(d1, dev, 8), -ENOENT);
	CHECK(iommu_get_domain_for_dev_pasid(dev, 7) == d1);

	mock_clear_log(mi);
	CHECK_EQ(iommu_detach_device_pasid(d1, dev, 7), 0);
	CHECK_EQ(mi->nlog, 1);
	c = &mi->log[0];
	CHECK(c->op == MOCK_SET_DEV_PASID && c->domain == &mock_blocked && c->old == d1 &&
	      c->pasid == 7 && c->dev == dev);
	CHECK(iommu_get_domain_for_dev_pasid(dev, 7) == NULL);
	CHECK(mock_hw(dev, 7) == NULL);
	CHECK_EQ(d1->users, 0);
	/* The PASID is free again. */
	CHECK_EQ(iommu_attach_device_pasid(d2, dev, 7), 0);
	CHECK(mock_last(mi, MOCK_SET_DEV_PASID)->old == NULL);
	CHECK_EQ(iommu_detach_device_pasid(d2, dev, 7), 0);
	CHECK_EQ(iommu_domain_free(d1), 0);
	CHECK_EQ(iommu_domain_free(d2), 0);
	teardown();
}

/* Detach does not fail: a failing blocked op still drops the attachment, with a warning. */
static void test_pasid_detach_never_fails(void)
{
	struct iommu_domain *d;

	if (setup())
		return;
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d), 0);
	CHECK_EQ(iommu_attach_device_pasid(d, dev, 2), 0);
	mi->fail_set_dev_pasid = -EIO;
	CHECK_EQ(iommu_detach_device_pasid(d, dev, 2), 0);
	CHECK(iommu_get_domain_for_dev_pasid(dev, 2) == NULL);
	CHECK_EQ(iommu_core_warnings(core), 1);
	CHECK_EQ(d->users, 0);
	CHECK_EQ(iommu_domain_free(d), 0);
	expected_warnings = 1;
	teardown();
}

/*
 * Kernel PASID DMA (design.md section 3, rule 3): the DMA layer attaches the device's
 * default domain to a global PASID, so the PASID mirrors the RID - translated or
 * pass-through alike.
 */
static void kernel_pasid_mirrors_rid(bool passthrough)
{
	struct iommu_config cfg = {.passthrough = passthrough};
	struct iommu_domain *def;
	int pasid;

	if (setup_cfg(&cfg))
		return;
	def = iommu_get_domain_for_dev(dev);
	CHECK(def == (passthrough ? &mock_identity : iommu_get_default_domain(dev)));
	pasid = iommu_alloc_global_pasid(dev);
	CHECK(pasid > 0);
	CHECK_EQ(iommu_attach_device_pasid(def, dev, (uint32_t)pasid), 0);
	CHECK(iommu_get_domain_for_dev_pasid(dev, (uint32_t)pasid) ==
	      iommu_get_domain_for_dev_pasid(dev, IOMMU_NO_PASID));
	CHECK(mock_hw(dev, (uint32_t)pasid) == mock_hw(dev, IOMMU_NO_PASID));
	CHECK_EQ(iommu_detach_device_pasid(def, dev, (uint32_t)pasid), 0);
	CHECK_EQ(iommu_free_global_pasid(dev, (uint32_t)pasid), 0);
	teardown();
}

static void test_kernel_pasid_translated(void)
{
	kernel_pasid_mirrors_rid(false);
}

static void test_kernel_pasid_passthrough(void)
{
	kernel_pasid_mirrors_rid(true);
}

/* Lookups: PASID 0 is the RID; out of range or NULL gives NULL. */
static void test_pasid_lookup(void)
{
	if (setup())
		return;
	CHECK(iommu_get_domain_for_dev_pasid(dev, IOMMU_NO_PASID) == iommu_get_domain_for_dev(dev));
	CHECK(iommu_get_domain_for_dev_pasid(dev, 255) == NULL);
	CHECK(iommu_get_domain_for_dev_pasid(dev, 256) == NULL);
	CHECK(iommu_get_domain_for_dev_pasid(dev, IOMMU_PASID_INVALID) == NULL);
	CHECK(iommu_get_domain_for_dev_pasid(dev_nopasid, 1) == NULL);
	CHECK(iommu_get_domain_for_dev_pasid(NULL, 1) == NULL);
	teardown();
}

/* ---- the global PASID allocator ----------------------------------------------------- */

static void test_global_pasid_basic(void)
{
	if (setup())
		return;
	CHECK_EQ(iommu_alloc_global_pasid(NULL), -EINVAL);
	CHECK_EQ(iommu_alloc_global_pasid(dev_nopasid), -EOPNOTSUPP);
	/* 0 is the RID and never handed out; the lowest free comes first */
	CHECK_EQ(iommu_alloc_global_pasid(dev), 1);
	CHECK_EQ(iommu_alloc_global_pasid(dev), 2);
	CHECK_EQ(iommu_alloc_global_pasid(dev), 3);
	/* one namespace: another device on another unit continues it */
	CHECK_EQ(iommu_alloc_global_pasid(dev_other), 4);
	/* reuse after free: the lowest free again */
	CHECK_EQ(iommu_free_global_pasid(dev, 2), 0);
	CHECK_EQ(iommu_alloc_global_pasid(dev_other), 2);
	CHECK_EQ(iommu_alloc_global_pasid(dev), 5);
	/* bad frees */
	CHECK_EQ(iommu_free_global_pasid(dev, 0), -EINVAL);
	CHECK_EQ(iommu_free_global_pasid(dev, 6), -EINVAL);
	CHECK_EQ(iommu_free_global_pasid(dev, IOMMU_MAX_PASIDS), -EINVAL);
	CHECK_EQ(iommu_free_global_pasid(dev, IOMMU_PASID_INVALID), -EINVAL);
	CHECK_EQ(iommu_free_global_pasid(NULL, 1), -EINVAL);
	for (uint32_t p = 1; p <= 5; p++)
		CHECK_EQ(iommu_free_global_pasid(dev, p), 0);
	CHECK_EQ(iommu_free_global_pasid(dev, 3), -EINVAL); /* double free */
	CHECK_EQ(iommu_alloc_global_pasid(dev), 1);
	CHECK_EQ(iommu_free_global_pasid(dev, 1), 0);
	teardown();
}

/* The limit is min(device width, unit): exhaustion per device, and a shared space. */
static void test_global_pasid_limits(void)
{
	struct iommu_dev_info info = {.rid = 0x40, .pasid_width = 20};
	struct mock_iommu *m16;
	struct iommu_dev *small, *wide;

	if (setup())
		return;
	m16 = mock_iommu_new(&mock_ops, 16);
	CHECK(m16);
	CHECK_EQ(iommu_device_register(core, &m16->iommu), 0);
	CHECK_EQ(iommu_probe_device(&m16->iommu, &info, &small), 0);
	info.pasid_width = 3;
	CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &wide), 0); /* width 3: max 8 */
	CHECK_EQ(small->max_pasids, 16);
	CHECK_EQ(wide->max_pasids, 8);

	for (int p = 1; p < 8; p++)
		CHECK_EQ(iommu_alloc_global_pasid(wide), p);
	CHECK_EQ(iommu_alloc_global_pasid(wide), -ENOSPC);
	/* the unit's limit of 16 is the other device's */
	for (int p = 8; p < 16; p++)
		CHECK_EQ(iommu_alloc_global_pasid(small), p);
	CHECK_EQ(iommu_alloc_global_pasid(small), -ENOSPC);
	CHECK_EQ(iommu_alloc_global_pasid(wide), -ENOSPC);
	/* a device with room continues above both */
	CHECK_EQ(iommu_alloc_global_pasid(dev), 16);
	/* a freed PASID below a small limit serves the small device again */
	CHECK_EQ(iommu_free_global_pasid(dev, 5), 0);
	CHECK_EQ(iommu_alloc_global_pasid(small), 5);
	CHECK_EQ(iommu_free_global_pasid(dev, 12), 0);
	CHECK_EQ(iommu_alloc_global_pasid(wide), -ENOSPC); /* 12 is beyond 8 */
	CHECK_EQ(iommu_alloc_global_pasid(small), 12);
	for (uint32_t p = 1; p <= 16; p++)
		CHECK_EQ(iommu_free_global_pasid(dev, p), 0);

	CHECK_EQ(iommu_release_device(small), 0);
	CHECK_EQ(iommu_release_device(wide), 0);
	CHECK_EQ(iommu_device_unregister(&m16->iommu), 0);
	mock_iommu_free(m16);
	teardown();
}

/* A unit limit of 1 leaves only PASID 0, which is never allocated. */
static void test_global_pasid_unit_max_one(void)
{
	struct iommu_dev_info info = {.rid = 0x50, .pasid_width = 20};
	struct mock_iommu *m1;
	struct iommu_dev *d;

	if (setup())
		return;
	m1 = mock_iommu_new(&mock_ops, 1);
	CHECK(m1);
	CHECK_EQ(iommu_device_register(core, &m1->iommu), 0);
	CHECK_EQ(iommu_probe_device(&m1->iommu, &info, &d), 0);
	CHECK_EQ(iommu_alloc_global_pasid(d), -ENOSPC);
	CHECK_EQ(iommu_attach_device_pasid(iommu_get_default_domain(d), d, 1), -EINVAL);
	CHECK_EQ(iommu_release_device(d), 0);
	CHECK_EQ(iommu_device_unregister(&m1->iommu), 0);
	mock_iommu_free(m1);
	teardown();
}

/* The whole 20-bit space: every PASID once, then exhaustion, then reuse of a hole. */
static void test_global_pasid_full_space(void)
{
	struct iommu_dev_info info = {.rid = 0x60, .pasid_width = 20};
	struct iommu_dev *d;
	int p = 0;

	if (setup())
		return;
	CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &d), 0);
	CHECK_EQ(d->max_pasids, IOMMU_MAX_PASIDS);
	for (uint32_t want = 1; want < IOMMU_MAX_PASIDS; want++) {
		p = iommu_alloc_global_pasid(d);
		if (p != (int)want)
			break;
	}
	CHECK_EQ(p, IOMMU_MAX_PASIDS - 1);
	CHECK_EQ(iommu_alloc_global_pasid(d), -ENOSPC);
	CHECK_EQ(iommu_free_global_pasid(d, 777777), 0);
	CHECK_EQ(iommu_free_global_pasid(d, 64), 0);
	CHECK_EQ(iommu_alloc_global_pasid(d), 64);
	CHECK_EQ(iommu_alloc_global_pasid(d), 777777);
	CHECK_EQ(iommu_alloc_global_pasid(d), -ENOSPC);
	/* The attach path takes the top PASID too. */
	CHECK_EQ(iommu_attach_device_pasid(iommu_get_default_domain(d), d, IOMMU_MAX_PASIDS - 1),
		 0);
	CHECK_EQ(iommu_detach_device_pasid(iommu_get_default_domain(d), d, IOMMU_MAX_PASIDS - 1),
		 0);
	for (uint32_t q = 1; q < IOMMU_MAX_PASIDS; q++) {
		if (iommu_free_global_pasid(d, q))
			CHECK(0);
	}
	CHECK_EQ(iommu_alloc_global_pasid(d), 1);
	CHECK_EQ(iommu_free_global_pasid(d, 1), 0);
	CHECK_EQ(iommu_release_device(d), 0);
	teardown();
}

int main(void)
{
	RUN(test_pasid_attach);
	RUN(test_pasid_attach_errors);
	RUN(test_pasid_unit_without_pasid);
	RUN(test_pasid_attach_failure);
	RUN(test_pasid_publish_after_success);
	RUN(test_pasid_replace);
	RUN(test_pasid_replace_failure_keeps_old);
	RUN(test_pasid_detach);
	RUN(test_pasid_detach_never_fails);
	RUN(test_kernel_pasid_translated);
	RUN(test_kernel_pasid_passthrough);
	RUN(test_pasid_lookup);
	RUN(test_global_pasid_basic);
	RUN(test_global_pasid_limits);
	RUN(test_global_pasid_unit_max_one);
	RUN(test_global_pasid_full_space);
	return CHECK_DONE();
}
