// SPDX-License-Identifier: MIT
/*
 * Paging domains (allocation, flags, freeing) and RID attachment: attach, detach back to
 * the default domain, failures that keep the old domain, and the owner rule.
 */
#include "check.h"
#include "mock_iommu.h"

static struct iommu_core *core;
static struct mock_iommu *mi, *mi_other;
static struct iommu_dev *dev, *dev_other;
static unsigned expected_warnings; /* the teardown's check */

/* Two drivers (mock_ops and mock_ops_other), one device each. */
static int setup(void)
{
	struct iommu_dev_info info = {.rid = 0x10, .pasid_width = 8};

	CHECK_RET(iommu_core_create(NULL, &core) == 0);
	mi = mock_iommu_new(&mock_ops, 1u << 20);
	mi_other = mock_iommu_new(&mock_ops_other, 1u << 20);
	CHECK_RET(mi && mi_other);
	CHECK_RET(iommu_device_register(core, &mi->iommu) == 0);
	CHECK_RET(iommu_device_register(core, &mi_other->iommu) == 0);
	CHECK_RET(iommu_probe_device(&mi->iommu, &info, &dev) == 0);
	CHECK_RET(iommu_probe_device(&mi_other->iommu, &info, &dev_other) == 0);
	mock_clear_log(mi);
	return 0;
}

static void teardown(void)
{
	CHECK_EQ(iommu_release_device(dev), 0);
	CHECK_EQ(iommu_release_device(dev_other), 0);
	CHECK_EQ(iommu_device_unregister(&mi->iommu), 0);
	CHECK_EQ(iommu_device_unregister(&mi_other->iommu), 0);
	CHECK_EQ(mi->live_domains, 0);
	CHECK_EQ(mi_other->live_domains, 0);
	CHECK_EQ(mi->mismatches, 0);
	CHECK_EQ(mi_other->mismatches, 0);
	CHECK_EQ(iommu_core_warnings(core), expected_warnings);
	expected_warnings = 0;
	CHECK_EQ(iommu_core_destroy(core), 0);
	mock_iommu_free(mi);
	mock_iommu_free(mi_other);
}

static void test_domain_alloc(void)
{
	struct iommu_domain *d = NULL;

	if (setup())
		return;
	CHECK_EQ(iommu_paging_domain_alloc(NULL, 0, &d), -EINVAL);
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, NULL), -EINVAL);
	CHECK_EQ(iommu_paging_domain_alloc(dev, 1u << 7, &d), -EINVAL);
	CHECK_EQ(iommu_paging_domain_alloc(
		     dev, IOMMU_DOMAIN_ALLOC_FIRST_STAGE | IOMMU_DOMAIN_ALLOC_SECOND_STAGE, &d),
		 -EINVAL);
	CHECK_EQ(mi->calls[MOCK_ALLOC], 0);
	mi->no_second_stage = true;
	CHECK_EQ(iommu_paging_domain_alloc(dev, IOMMU_DOMAIN_ALLOC_SECOND_STAGE, &d), -EOPNOTSUPP);
	mi->fail_alloc = -ENOMEM;
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d), -ENOMEM);
	CHECK(d == NULL);

	CHECK_EQ(iommu_paging_domain_alloc(
		     dev, IOMMU_DOMAIN_ALLOC_FIRST_STAGE | IOMMU_DOMAIN_ALLOC_PASID, &d),
		 0);
	CHECK_EQ(mock_last(mi, MOCK_ALLOC)->count,
		 IOMMU_DOMAIN_ALLOC_FIRST_STAGE | IOMMU_DOMAIN_ALLOC_PASID);
	CHECK_EQ(d->type, IOMMU_DOMAIN_PAGING);
	CHECK(d->owner == &mock_ops);
	CHECK_EQ(d->pgsize_bitmap, MOCK_PGSIZES);
	CHECK_EQ(d->users, 0);
	CHECK_EQ(iommu_domain_free(d), 0);
	CHECK_EQ(mi->calls[MOCK_FREE], 1);
	CHECK_EQ(mi->live_domains, 1); /* the default domain */
	teardown();
}

/* A driver handing back a domain without page sizes is refused (and its domain freed). */
static void test_domain_alloc_unusable(void)
{
	struct iommu_domain *d = NULL;

	if (setup())
		return;
	mi->alloc_unusable = true;
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d), -EINVAL);
	CHECK(d == NULL);
	CHECK_EQ(mi->live_domains, 1); /* the default domain */
	CHECK_EQ(iommu_core_warnings(core), 1);
	CHECK(iommu_core_last_warning(core) != NULL);
	mi->alloc_unusable = false;
	expected_warnings = 1;
	teardown();
}

static void test_domain_free(void)
{
	struct iommu_domain *d;

	if (setup())
		return;
	CHECK_EQ(iommu_domain_free(NULL), 0);
	CHECK_EQ(iommu_domain_free(&mock_identity), -EINVAL);
	CHECK_EQ(iommu_domain_free(&mock_blocked), -EINVAL);
	CHECK_EQ(iommu_domain_free(iommu_get_default_domain(dev)), -EINVAL);
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d), 0);
	CHECK_EQ(iommu_attach_device(d, dev), 0);
	CHECK_EQ(iommu_domain_free(d), -EBUSY);
	CHECK_EQ(iommu_detach_device(d, dev), 0);
	CHECK_EQ(iommu_attach_device_pasid(d, dev, 5), 0);
	CHECK_EQ(iommu_domain_free(d), -EBUSY);
	CHECK_EQ(iommu_detach_device_pasid(d, dev, 5), 0);
	CHECK_EQ(mi->calls[MOCK_FREE], 0);
	CHECK_EQ(iommu_domain_free(d), 0);
	CHECK_EQ(mi->calls[MOCK_FREE], 1);
	teardown();
}

static void test_rid_attach_detach(void)
{
	struct iommu_domain *def, *d1, *d2;
	const struct mock_call *c;

	if (setup())
		return;
	def = iommu_get_default_domain(dev);
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d1), 0);
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d2), 0);

	CHECK_EQ(iommu_attach_device(d1, dev), 0);
	c = mock_last(mi, MOCK_ATTACH_DEV);
	CHECK(c->domain == d1 && c->old == def && c->dev == dev);
	CHECK(iommu_get_domain_for_dev(dev) == d1);
	CHECK(iommu_get_domain_for_dev_pasid(dev, IOMMU_NO_PASID) == d1);
	CHECK(mock_hw(dev, IOMMU_NO_PASID) == d1);
	/* The default domain stays the default while another domain is on the RID. */
	CHECK(iommu_get_default_domain(dev) == def);
	CHECK_EQ(def->users, 0);
	CHECK_EQ(d1->users, 1);

	/* Attaching what is there is a no-op; anything else must wait for a detach. */
	mock_clear_log(mi);
	CHECK_EQ(iommu_attach_device(d1, dev), 0);
	CHECK_EQ(iommu_attach_device(d2, dev), -EBUSY);
	CHECK_EQ(mi->calls[MOCK_ATTACH_DEV], 0);

	CHECK_EQ(iommu_detach_device(d2, dev), -EINVAL); /* not the one attached */
	CHECK_EQ(iommu_detach_device(NULL, dev), -EINVAL);
	CHECK_EQ(iommu_detach_device(d1, NULL), -EINVAL);
	CHECK_EQ(iommu_detach_device(d1, dev), 0);
	c = mock_last(mi, MOCK_ATTACH_DEV);
	CHECK(c->domain == def && c->old == d1);
	CHECK(iommu_get_domain_for_dev(dev) == def);
	CHECK(mock_hw(dev, IOMMU_NO_PASID) == def);
	CHECK_EQ(d1->users, 0);
	CHECK_EQ(def->users, 1);
	/* The default domain itself cannot be detached. */
	CHECK_EQ(iommu_detach_device(def, dev), -EINVAL);

	/* Now d2 may come. */
	CHECK_EQ(iommu_attach_device(d2, dev), 0);
	CHECK_EQ(iommu_detach_device(d2, dev), 0);
	CHECK_EQ(iommu_domain_free(d1), 0);
	CHECK_EQ(iommu_domain_free(d2), 0);
	teardown();
}

/* A failed RID attach leaves the old domain on the RID, in the core and in the hardware. */
static void test_rid_attach_failure_keeps_old(void)
{
	struct iommu_domain *def, *d;

	if (setup())
		return;
	def = iommu_get_default_domain(dev);
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d), 0);
	mi->fail_attach_dev = -ENOSPC;
	CHECK_EQ(iommu_attach_device(d, dev), -ENOSPC);
	CHECK(iommu_get_domain_for_dev(dev) == def);
	CHECK(mock_hw(dev, IOMMU_NO_PASID) == def);
	CHECK_EQ(d->users, 0);
	CHECK_EQ(def->users, 1);
	CHECK_EQ(iommu_domain_free(d), 0);
	teardown();
}

/*
 * If the default domain cannot be re-attached on detach, the RID is parked on the blocked
 * domain: detach still succeeds, the detached domain is free to go, and a warning counts.
 */
static void test_rid_detach_reattach_fails(void)
{
	struct iommu_domain *d;

	if (setup())
		return;
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d), 0);
	CHECK_EQ(iommu_attach_device(d, dev), 0);
	mi->fail_attach_dev = -ENOMEM;
	CHECK_EQ(iommu_detach_device(d, dev), 0);
	CHECK(iommu_get_domain_for_dev(dev) == &mock_blocked);
	CHECK(mock_hw(dev, IOMMU_NO_PASID) == NULL);
	CHECK_EQ(iommu_core_warnings(core), 1);
	CHECK_EQ(iommu_domain_free(d), 0);
	/* From blocked, attach works again, and detach brings the default back. */
	CHECK_EQ(iommu_attach_device(&mock_identity, dev), 0);
	CHECK(mock_hw(dev, IOMMU_NO_PASID) == &mock_identity);
	CHECK_EQ(iommu_detach_device(&mock_identity, dev), 0);
	CHECK(iommu_get_domain_for_dev(dev) == iommu_get_default_domain(dev));
	expected_warnings = 1;
	teardown();
}

/* Owner rule: another driver's domains are refused, the driver's static ones accepted. */
static void test_rid_attach_owner(void)
{
	struct iommu_domain *mine, *theirs;

	if (setup())
		return;
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &mine), 0);
	CHECK_EQ(iommu_paging_domain_alloc(dev_other, 0, &theirs), 0);
	CHECK_EQ(iommu_attach_device(theirs, dev), -EINVAL);
	CHECK_EQ(iommu_attach_device(mine, dev_other), -EINVAL);
	CHECK_EQ(iommu_attach_device(&mock_other_identity, dev), -EINVAL);
	CHECK_EQ(iommu_attach_device(iommu_get_default_domain(dev_other), dev), -EINVAL);
	CHECK_EQ(mi->calls[MOCK_ATTACH_DEV], 0);
	/* The static identity domain has no owner, yet it is this driver's. */
	CHECK(mock_identity.owner == NULL);
	CHECK_EQ(iommu_attach_device(&mock_identity, dev), 0);
	CHECK(iommu_get_domain_for_dev(dev) == &mock_identity);
	CHECK_EQ(iommu_detach_device(&mock_identity, dev), 0);
	CHECK_EQ(iommu_attach_device(NULL, dev), -EINVAL);
	CHECK_EQ(iommu_attach_device(mine, NULL), -EINVAL);
	CHECK(iommu_get_domain_for_dev(NULL) == NULL);
	CHECK(iommu_get_default_domain(NULL) == NULL);
	CHECK_EQ(iommu_domain_free(mine), 0);
	CHECK_EQ(iommu_domain_free(theirs), 0);
	teardown();
}

/* A domain without attach_dev cannot go on a RID: -ENODEV, as in Linux. */
static void test_rid_attach_no_op(void)
{
	static const struct iommu_domain_ops pasid_only = {.set_dev_pasid = mock_set_dev_pasid};
	struct iommu_domain d = {.type = IOMMU_DOMAIN_PAGING,
				 .ops = &pasid_only,
				 .owner = &mock_ops,
				 .pgsize_bitmap = 4096};

	if (setup())
		return;
	CHECK_EQ(iommu_attach_device(&d, dev), -ENODEV);
	teardown();
}

int main(void)
{
	RUN(test_domain_alloc);
	RUN(test_domain_alloc_unusable);
	RUN(test_domain_free);
	RUN(test_rid_attach_detach);
	RUN(test_rid_attach_failure_keeps_old);
	RUN(test_rid_detach_reattach_fails);
	RUN(test_rid_attach_owner);
	RUN(test_rid_attach_no_op);
	return CHECK_DONE();
}
