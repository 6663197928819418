// SPDX-License-Identifier: MIT
/*
 * The core instance, unit registration, device probe and release, and the default-domain
 * policy (identity vs translated, strict vs lazy; global, per device, driver-required).
 */
#include "check.h"
#include "mock_iommu.h"

static struct iommu_core *core;
static struct mock_iommu *mi;

/* A core with the given policy and one registered mock unit of `ops`. */
static int setup(const struct iommu_config *cfg, const struct iommu_ops *ops, uint32_t max_pasids)
{
	CHECK_RET(iommu_core_create(cfg, &core) == 0);
	mi = mock_iommu_new(ops, max_pasids);
	CHECK_RET(mi);
	CHECK_RET(iommu_device_register(core, &mi->iommu) == 0);
	return 0;
}

static void teardown(void)
{
	if (mi) {
		CHECK_EQ(iommu_device_unregister(&mi->iommu), 0);
		CHECK_EQ(mi->live_domains, 0);
		CHECK_EQ(mi->mismatches, 0);
		CHECK_EQ(mem_alloc_in_use(mi->alloc), 0);
	}
	CHECK_EQ(iommu_core_warnings(core), 0);
	CHECK_EQ(iommu_core_destroy(core), 0);
	mock_iommu_free(mi);
	mi = NULL;
	core = NULL;
}

static struct iommu_dev *probe(uint16_t rid, uint8_t width, int type)
{
	struct iommu_dev_info info = {.rid = rid, .pasid_width = width, .def_domain_type = type};
	struct iommu_dev *dev = NULL;

	if (iommu_probe_device(&mi->iommu, &info, &dev))
		return NULL;
	return dev;
}

static void test_core_create_destroy(void)
{
	struct iommu_core *c;
	struct mock_iommu *m;

	CHECK_EQ(iommu_core_create(NULL, NULL), -EINVAL);
	CHECK_EQ(iommu_core_create(NULL, &c), 0);
	CHECK_EQ(iommu_core_destroy(NULL), 0);
	m = mock_iommu_new(&mock_ops, 0);
	CHECK(m);
	CHECK_EQ(iommu_device_register(c, &m->iommu), 0);
	CHECK_EQ(iommu_core_destroy(c), -EBUSY);
	CHECK_EQ(iommu_device_unregister(&m->iommu), 0);
	CHECK_EQ(iommu_core_destroy(c), 0);
	mock_iommu_free(m);
}

static void test_register_errors(void)
{
	static struct iommu_domain wrong_type = {.type = IOMMU_DOMAIN_IDENTITY,
						 .ops = &mock_static_ops};
	static const struct iommu_domain_ops pasid_only = {.set_dev_pasid = mock_set_dev_pasid};
	static struct iommu_domain no_attach = {.type = IOMMU_DOMAIN_BLOCKED, .ops = &pasid_only};
	const struct iommu_ops no_probe = {.domain_alloc_paging = mock_domain_alloc_paging,
					   .blocked_domain = &mock_blocked};
	const struct iommu_ops no_alloc = {.probe_device = mock_probe_device,
					   .blocked_domain = &mock_blocked};
	const struct iommu_ops no_blocked = {.probe_device = mock_probe_device,
					     .domain_alloc_paging = mock_domain_alloc_paging};
	const struct iommu_ops blocked_wrong = {.probe_device = mock_probe_device,
						.domain_alloc_paging = mock_domain_alloc_paging,
						.blocked_domain = &wrong_type};
	const struct iommu_ops blocked_no_attach = {.probe_device = mock_probe_device,
						    .domain_alloc_paging = mock_domain_alloc_paging,
						    .blocked_domain = &no_attach};
	const struct iommu_ops identity_wrong = {.probe_device = mock_probe_device,
						 .domain_alloc_paging = mock_domain_alloc_paging,
						 .identity_domain = &mock_blocked,
						 .blocked_domain = &mock_blocked};
	struct iommu_device u = {.name = "u"};

	CHECK_EQ(iommu_core_create(NULL, &core), 0);
	CHECK_EQ(iommu_device_register(core, &u), -EINVAL); /* no ops */
	u.ops = &no_probe;
	CHECK_EQ(iommu_device_register(core, &u), -EINVAL);
	u.ops = &no_alloc;
	CHECK_EQ(iommu_device_register(core, &u), -EINVAL);
	u.ops = &no_blocked;
	CHECK_EQ(iommu_device_register(core, &u), -EINVAL);
	u.ops = &blocked_wrong;
	CHECK_EQ(iommu_device_register(core, &u), -EINVAL);
	u.ops = &identity_wrong;
	CHECK_EQ(iommu_device_register(core, &u), -EINVAL);
	u.ops = &blocked_no_attach;
	CHECK_EQ(iommu_device_register(core, &u), -EINVAL);
	u.ops = &mock_ops;
	u.max_pasids = IOMMU_MAX_PASIDS + 1;
	CHECK_EQ(iommu_device_register(core, &u), -EINVAL);
	CHECK_EQ(iommu_device_register(NULL, &u), -EINVAL);
	CHECK_EQ(iommu_device_register(core, NULL), -EINVAL);
	u.max_pasids = IOMMU_MAX_PASIDS;
	CHECK_EQ(iommu_device_unregister(&u), -EINVAL); /* not registered */
	CHECK_EQ(iommu_device_register(core, &u), 0);
	CHECK_EQ(iommu_device_register(core, &u), -EBUSY);
	CHECK_EQ(iommu_device_unregister(&u), 0);
	CHECK_EQ(iommu_device_unregister(&u), -EINVAL);
	CHECK_EQ(iommu_device_unregister(NULL), -EINVAL);
	teardown();
}

/* The default policy: a strict translated domain, attached to the RID at probe. */
static void test_probe_default_translated(void)
{
	struct iommu_dev *dev;
	struct iommu_domain *def;
	const struct mock_call *c;

	if (setup(NULL, &mock_ops, 1u << 20))
		return;
	dev = probe(0x0100, 8, 0);
	CHECK(dev);
	def = iommu_get_default_domain(dev);
	CHECK(def);
	CHECK_EQ(def->type, IOMMU_DOMAIN_DMA);
	CHECK(def->owner == &mock_ops);
	CHECK(iommu_get_domain_for_dev(dev) == def);
	CHECK(iommu_get_domain_for_dev_pasid(dev, IOMMU_NO_PASID) == def);
	CHECK(mock_hw(dev, IOMMU_NO_PASID) == def);
	CHECK_EQ(def->users, 1);
	/* probe, then the default domain allocated with no flags, then attached from nothing */
	CHECK_EQ(mi->log[0].op, MOCK_PROBE);
	CHECK_EQ(mi->log[1].op, MOCK_ALLOC);
	CHECK_EQ(mi->log[1].count, 0);
	c = &mi->log[2];
	CHECK_EQ(c->op, MOCK_ATTACH_DEV);
	CHECK(c->domain == def && c->old == NULL && c->dev == dev);
	CHECK_EQ(dev->rid, 0x0100);
	CHECK_EQ(dev->pasid_width, 8);
	CHECK_EQ(dev->max_pasids, 256);
	CHECK(dev->priv != NULL);
	CHECK(dev->iommu == &mi->iommu);
	CHECK_EQ(iommu_release_device(dev), 0);
	teardown();
}

static void test_probe_policy_passthrough(void)
{
	struct iommu_config cfg = {.passthrough = true};
	struct iommu_dev *a, *b;

	if (setup(&cfg, &mock_ops, 0))
		return;
	a = probe(1, 0, 0);
	CHECK(a);
	CHECK(iommu_get_default_domain(a) == &mock_identity);
	CHECK(iommu_get_domain_for_dev(a) == &mock_identity);
	CHECK(mock_hw(a, IOMMU_NO_PASID) == &mock_identity);
	CHECK_EQ(mi->calls[MOCK_ALLOC], 0);
	/* The setter changes the policy for later probes only. */
	iommu_set_default_passthrough(core, false);
	b = probe(2, 0, 0);
	CHECK(b);
	CHECK_EQ(iommu_get_default_domain(b)->type, IOMMU_DOMAIN_DMA);
	CHECK(iommu_get_default_domain(a) == &mock_identity);
	iommu_set_default_passthrough(core, true);
	CHECK_EQ(iommu_release_device(a), 0);
	a = probe(1, 0, 0);
	CHECK(a && iommu_get_default_domain(a) == &mock_identity);
	CHECK_EQ(iommu_release_device(a), 0);
	CHECK_EQ(iommu_release_device(b), 0);
	teardown();
}

static void test_probe_policy_lazy(void)
{
	struct iommu_config cfg = {.dma_lazy = true};
	struct iommu_dev *a, *b, *c;

	if (setup(&cfg, &mock_ops, 0))
		return;
	/* Lazy needs IOMMU_CAP_DEFERRED_FLUSH; without it the domain is strict. */
	a = probe(1, 0, 0);
	CHECK(a);
	CHECK_EQ(iommu_get_default_domain(a)->type, IOMMU_DOMAIN_DMA);
	mi->deferred_flush = true;
	CHECK(iommu_capable(a, IOMMU_CAP_DEFERRED_FLUSH));
	CHECK(!iommu_capable(a, IOMMU_CAP_CACHE_COHERENCY));
	CHECK(!iommu_capable(NULL, IOMMU_CAP_DEFERRED_FLUSH));
	b = probe(2, 0, 0);
	CHECK(b);
	CHECK_EQ(iommu_get_default_domain(b)->type, IOMMU_DOMAIN_DMA_FQ);
	CHECK(iommu_is_paging_domain(iommu_get_default_domain(b)));
	iommu_set_dma_strict(core, true);
	c = probe(3, 0, 0);
	CHECK(c);
	CHECK_EQ(iommu_get_default_domain(c)->type, IOMMU_DOMAIN_DMA);
	CHECK_EQ(iommu_release_device(a), 0);
	CHECK_EQ(iommu_release_device(b), 0);
	CHECK_EQ(iommu_release_device(c), 0);
	teardown();
}

/* A device's own request beats the policy in both directions. */
static void test_probe_per_device_override(void)
{
	struct iommu_dev *a, *b, *c;

	if (setup(NULL, &mock_ops, 0))
		return;
	mi->deferred_flush = true;
	a = probe(1, 0, IOMMU_DOMAIN_IDENTITY);
	CHECK(a && iommu_get_default_domain(a) == &mock_identity);
	b = probe(2, 0, IOMMU_DOMAIN_DMA_FQ);
	CHECK(b && iommu_get_default_domain(b)->type == IOMMU_DOMAIN_DMA_FQ);
	iommu_set_default_passthrough(core, true);
	iommu_set_dma_strict(core, false);
	c = probe(3, 0, IOMMU_DOMAIN_DMA);
	CHECK(c && iommu_get_default_domain(c)->type == IOMMU_DOMAIN_DMA);
	CHECK_EQ(iommu_release_device(a), 0);
	CHECK_EQ(iommu_release_device(b), 0);
	CHECK_EQ(iommu_release_device(c), 0);
	teardown();
}

/* The driver's def_domain_type beats the policy; the device may not contradict it. */
static void test_probe_driver_requirement(void)
{
	struct iommu_config cfg = {.dma_lazy = true};
	struct iommu_dev *a, *b, *c;

	if (setup(&cfg, &mock_ops, 0))
		return;
	mi->deferred_flush = true;
	mi->require_type = IOMMU_DOMAIN_IDENTITY;
	a = probe(1, 0, 0);
	CHECK(a && iommu_get_default_domain(a) == &mock_identity);
	CHECK(probe(2, 0, IOMMU_DOMAIN_DMA) == NULL);
	c = probe(2, 0, IOMMU_DOMAIN_IDENTITY);
	CHECK(c && iommu_get_default_domain(c) == &mock_identity);
	CHECK_EQ(iommu_release_device(a), 0);
	CHECK_EQ(iommu_release_device(c), 0);

	mi->require_type = IOMMU_DOMAIN_DMA;
	iommu_set_default_passthrough(core, true);
	/* Translated as required; strictness still from the policy (lazy). */
	b = probe(3, 0, 0);
	CHECK(b && iommu_get_default_domain(b)->type == IOMMU_DOMAIN_DMA_FQ);
	CHECK_EQ(iommu_release_device(b), 0);
	{
		struct iommu_dev_info info = {.rid = 4, .def_domain_type = IOMMU_DOMAIN_IDENTITY};
		struct iommu_dev *d = NULL;

		CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &d), -EINVAL);
		mi->require_type = 77; /* a driver answering nonsense */
		info.def_domain_type = 0;
		CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &d), -EINVAL);
		CHECK(d == NULL);
		/* The RID was not left behind by the failed probes. */
		mi->require_type = 0;
		CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &d), 0);
		CHECK_EQ(iommu_release_device(d), 0);
	}
	CHECK(mi->iommu.devs == NULL);
	teardown();
}

/* Without an identity domain a pass-through policy falls back, a request does not. */
static void test_probe_no_identity(void)
{
	struct iommu_config cfg = {.passthrough = true, .dma_lazy = true};
	struct iommu_dev_info info = {.rid = 9, .def_domain_type = IOMMU_DOMAIN_IDENTITY};
	struct iommu_dev *a, *d = NULL;

	if (setup(&cfg, &mock_ops_bare, 0))
		return;
	a = probe(1, 0, 0);
	CHECK(a);
	/* translated, and strict: the bare driver cannot defer flushes */
	CHECK_EQ(iommu_get_default_domain(a)->type, IOMMU_DOMAIN_DMA);
	CHECK(!iommu_capable(a, IOMMU_CAP_DEFERRED_FLUSH));
	CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &d), -EOPNOTSUPP);
	CHECK_EQ(iommu_release_device(a), 0);
	teardown();
}

static void test_probe_errors(void)
{
	struct iommu_dev_info info = {.rid = 5};
	struct iommu_device unregistered = {.ops = &mock_ops};
	struct iommu_dev *dev = NULL, *other;
	struct mock_iommu *mi2;

	if (setup(NULL, &mock_ops, 0))
		return;
	CHECK_EQ(iommu_probe_device(NULL, &info, &dev), -EINVAL);
	CHECK_EQ(iommu_probe_device(&mi->iommu, NULL, &dev), -EINVAL);
	CHECK_EQ(iommu_probe_device(&mi->iommu, &info, NULL), -EINVAL);
	CHECK_EQ(iommu_probe_device(&unregistered, &info, &dev), -EINVAL);
	info.pasid_width = 21;
	CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &dev), -EINVAL);
	info.pasid_width = 0;
	info.def_domain_type = IOMMU_DOMAIN_PAGING; /* not a default domain type */
	CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &dev), -EINVAL);
	info.def_domain_type = IOMMU_DOMAIN_BLOCKED + 99;
	CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &dev), -EINVAL);
	info.def_domain_type = 0;
	CHECK_EQ(mi->calls[MOCK_PROBE], 0);

	/* The driver refuses: nothing is left, the RID stays free. */
	mi->fail_probe = -ENODEV;
	CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &dev), -ENODEV);
	CHECK_EQ(mi->calls[MOCK_RELEASE], 0);
	/* The default domain cannot be allocated: the driver releases the device. */
	mi->fail_alloc = -ENOMEM;
	CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &dev), -ENOMEM);
	CHECK_EQ(mi->calls[MOCK_RELEASE], 1);
	/* The default domain cannot be attached: it is freed again. */
	mi->fail_attach_dev = -ENOSPC;
	CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &dev), -ENOSPC);
	CHECK_EQ(mi->calls[MOCK_RELEASE], 2);
	CHECK_EQ(mi->calls[MOCK_FREE], 1);
	CHECK_EQ(mi->live_domains, 0);
	CHECK(mi->iommu.devs == NULL);

	CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &dev), 0);
	CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &other), -EEXIST);
	/* The same RID behind another unit is another device. */
	mi2 = mock_iommu_new(&mock_ops, 0);
	CHECK(mi2);
	CHECK_EQ(iommu_device_register(core, &mi2->iommu), 0);
	CHECK_EQ(iommu_probe_device(&mi2->iommu, &info, &other), 0);
	CHECK_EQ(iommu_device_unregister(&mi->iommu), -EBUSY);
	CHECK_EQ(iommu_release_device(other), 0);
	CHECK_EQ(iommu_device_unregister(&mi2->iommu), 0);
	mock_iommu_free(mi2);
	CHECK_EQ(iommu_release_device(dev), 0);
	teardown();
}

/* The device's PASID limit is min(2^width, the unit's). */
static void test_max_pasids(void)
{
	struct iommu_dev *a, *b, *c;

	if (setup(NULL, &mock_ops, 64))
		return;
	a = probe(1, 5, 0);
	b = probe(2, 20, 0);
	c = probe(3, 0, 0);
	CHECK(a && b && c);
	CHECK_EQ(a->max_pasids, 32);
	CHECK_EQ(b->max_pasids, 64);
	CHECK_EQ(c->max_pasids, 0);
	CHECK_EQ(iommu_release_device(a), 0);
	CHECK_EQ(iommu_release_device(b), 0);
	CHECK_EQ(iommu_release_device(c), 0);
	CHECK_EQ(iommu_device_unregister(&mi->iommu), 0);
	mi->iommu.max_pasids = 0; /* a unit without PASID support */
	CHECK_EQ(iommu_device_register(core, &mi->iommu), 0);
	a = probe(1, 20, 0);
	CHECK(a);
	CHECK_EQ(a->max_pasids, 0);
	CHECK_EQ(iommu_release_device(a), 0);
	teardown();
}

static void test_release(void)
{
	struct iommu_dev *dev;
	struct iommu_domain *def, *d;
	const struct mock_call *c;

	if (setup(NULL, &mock_ops, 1u << 20))
		return;
	CHECK_EQ(iommu_release_device(NULL), 0);
	dev = probe(7, 4, 0);
	CHECK(dev);
	def = iommu_get_default_domain(dev);
	CHECK_EQ(iommu_paging_domain_alloc(dev, 0, &d), 0);

	/* Busy while a PASID is attached or the RID is away from the default domain. */
	CHECK_EQ(iommu_attach_device_pasid(def, dev, 3), 0);
	CHECK_EQ(iommu_release_device(dev), -EBUSY);
	CHECK_EQ(iommu_detach_device_pasid(def, dev, 3), 0);
	CHECK_EQ(iommu_attach_device(d, dev), 0);
	CHECK_EQ(iommu_release_device(dev), -EBUSY);
	CHECK_EQ(iommu_detach_device(d, dev), 0);
	CHECK_EQ(iommu_domain_free(d), 0);

	mock_clear_log(mi);
	CHECK_EQ(iommu_release_device(dev), 0);
	/* blocked replaces the default domain on the RID, then release, then free */
	CHECK_EQ(mi->nlog, 3);
	c = &mi->log[0];
	CHECK(c->op == MOCK_ATTACH_DEV && c->domain == &mock_blocked && c->old == def);
	CHECK_EQ(mi->log[1].op, MOCK_RELEASE);
	CHECK(mi->log[2].op == MOCK_FREE && mi->log[2].domain == def);
	teardown();
}

int main(void)
{
	RUN(test_core_create_destroy);
	RUN(test_register_errors);
	RUN(test_probe_default_translated);
	RUN(test_probe_policy_passthrough);
	RUN(test_probe_policy_lazy);
	RUN(test_probe_per_device_override);
	RUN(test_probe_driver_requirement);
	RUN(test_probe_no_identity);
	RUN(test_probe_errors);
	RUN(test_max_pasids);
	RUN(test_release);
	return CHECK_DONE();
}
