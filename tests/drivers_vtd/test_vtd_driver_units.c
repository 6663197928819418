// SPDX-License-Identifier: MIT
/*
 * Two VT-d units on one memory and one core, a device behind each, and domains attached
 * to both: each unit gives the domain its own domain ID, a flush sends one batch to each
 * unit's queue with that unit's ID, detaching from one unit frees only that unit's ID, and
 * with both units' check mode on nothing goes stale. Also: a unit whose device TLBs and
 * page sizes differ refuses domains it cannot walk.
 */
#include "drv_test.h"

struct two {
	struct mem *mem;
	struct mem_alloc *alloc;
	struct vtd *vtd[2];
	struct intel_iommu *iommu[2];
	struct iommu_core *core;
	struct pci_endpoint *ep[2];
	struct iommu_dev *dev[2];
};

static unsigned reports;

static void on_stale(void *ctx, const struct vtd_stale *s)
{
	(void)ctx;
	if (s->cached.status != PCI_SC && s->memory.status != PCI_SC &&
	    s->cached.fault == s->memory.fault)
		return; /* two identical faults (see test_vtd_driver_checker.c) */
	reports++;
}

static int rd(void *ctx, uint64_t off, unsigned size, uint64_t *val)
{
	return vtd_mmio_read(ctx, off, size, val);
}

static int wr(void *ctx, uint64_t off, unsigned size, uint64_t val)
{
	return vtd_mmio_write(ctx, off, size, val);
}

static int two_up(struct two *t, bool second_no_1g)
{
	struct vtd_callbacks cb = {.stale = on_stale};
	struct intel_iommu_config dc = {.quiet = true, .poll_limit = 200};
	struct vtd_config vc;

	memset(t, 0, sizeof(*t));
	reports = 0;
	t->mem = mem_create_sparse(8 * SZ_1G);
	CHECK_RET(t->mem);
	CHECK_RET(mem_alloc_create(t->mem, 4 * SZ_1G, SZ_1G, &t->alloc) == 0);
	CHECK_RET(iommu_core_create(NULL, &t->core) == 0);
	for (int u = 0; u < 2; u++) {
		struct iommu_dev_info info = {
		    .rid = PCI_RID(u, 1, 0), .pasid_width = 20, .ats = true};
		struct pci_endpoint_config ec = {.rid = info.rid,
						 .pasid_width = 20,
						 .pasid_enable = true,
						 .ats = true,
						 .ats_enable = true,
						 .atc_sets = 16,
						 .atc_ways = 2,
						 .mem = t->mem};
		struct pci_ats_port port;

		vtd_config_default(&vc);
		if (u == 1 && second_no_1g) {
			vc.fs_1g = false;
			vc.ss_1g = false;
		}
		CHECK_RET(vtd_create(&vc, t->mem, &cb, NULL, &t->vtd[u]) == 0);
		CHECK_RET(vtd_set_check(t->vtd[u], true) == 0);
		dc.mmio = (struct intel_iommu_mmio){rd, wr, t->vtd[u]};
		dc.alloc = t->alloc;
		dc.name = u ? "dmar1" : "dmar0";
		CHECK_RET(intel_iommu_create(t->core, &dc, &t->iommu[u]) == 0);
		ec.agent = vtd_translation_agent(t->vtd[u]);
		CHECK_RET(pci_endpoint_create(&ec, &t->ep[u]) == 0);
		port = pci_endpoint_ats_port(t->ep[u]);
		CHECK_RET(vtd_connect_ats(t->vtd[u], info.rid, &port) == 0);
		CHECK_RET(iommu_probe_device(intel_iommu_device(t->iommu[u]), &info, &t->dev[u]) ==
			  0);
	}
	return 0;
}

static int two_down(struct two *t)
{
	for (int u = 0; u < 2; u++) {
		CHECK_RET(iommu_release_device(t->dev[u]) == 0);
		CHECK_RET(intel_iommu_destroy(t->iommu[u]) == 0);
		vtd_disconnect_ats(t->vtd[u], PCI_RID(u, 1, 0));
		pci_endpoint_destroy(t->ep[u]);
		vtd_destroy(t->vtd[u]);
	}
	CHECK_RET(mem_alloc_in_use(t->alloc) == 0);
	CHECK_RET(iommu_core_destroy(t->core) == 0);
	mem_alloc_destroy(t->alloc);
	mem_destroy(t->mem);
	return 0;
}

/* The descriptors queued on unit `u` since `mark` (as qlog, on a bare vtd). */
static void log_mark(struct vtd *vtd, struct qlog *l)
{
	struct machine m = {.vtd = vtd};

	qlog_mark(&m, l);
}

static void log_read(struct vtd *vtd, struct mem *mem, struct qlog *l)
{
	struct machine m = {.vtd = vtd, .mem = mem};

	qlog_read(&m, l);
}

static void test_one_domain_two_units(void)
{
	struct iommu_domain *dom;
	struct qlog l[2];
	struct two t;
	int did[2];
	uint64_t v;

	CHECK_EQ(two_up(&t, false), 0);
	CHECK_EQ(iommu_paging_domain_alloc(t.dev[0], 0, &dom), 0);
	CHECK_EQ(iommu_attach_device_pasid(dom, t.dev[0], 7), 0);
	CHECK_EQ(iommu_attach_device_pasid(dom, t.dev[1], 7), 0);
	did[0] = intel_iommu_domain_did(t.iommu[0], dom);
	did[1] = intel_iommu_domain_did(t.iommu[1], dom);
	CHECK(did[0] >= 2 && did[1] >= 2);
	/* Each unit's default domain took its first ID: the shared domain has the next. */
	CHECK_EQ(did[0], 3);
	CHECK_EQ(did[1], 3);

	CHECK_EQ(iommu_map(dom, 0x10000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	for (int u = 0; u < 2; u++)
		CHECK_EQ(pci_endpoint_dma_read(t.ep[u], PCI_DMA_PASID, 7, 0x10000, &v, 8, NULL), 0);
	for (int u = 0; u < 2; u++)
		log_mark(t.vtd[u], &l[u]);
	CHECK_EQ(iommu_unmap(dom, 0x10000, SZ_4K), (ssize_t)SZ_4K);
	for (int u = 0; u < 2; u++) {
		log_read(t.vtd[u], t.mem, &l[u]);
		CHECK_EQ(l[u].n, 3); /* PASID-based IOTLB, PASID-based device TLB, wait */
		CHECK_EQ(VTD_INV_TYPE(l[u].d[0][0]), VTD_INV_PIOTLB);
		CHECK_EQ((int)VTD_GET(l[u].d[0][0], VTD_INV_PIOTLB_DID), did[u]);
		CHECK_EQ(VTD_INV_TYPE(l[u].d[1][0]), VTD_INV_PDEVTLB);
		CHECK_EQ(VTD_GET(l[u].d[1][0], VTD_INV_PDEVTLB_SID), PCI_RID(u, 1, 0));
		CHECK_EQ(pci_endpoint_dma_read(t.ep[u], PCI_DMA_PASID, 7, 0x10000, &v, 8, NULL),
			 -EFAULT);
	}
	/* Leaving unit 1 frees only unit 1's ID; unit 0 still gets its flushes. */
	CHECK_EQ(iommu_detach_device_pasid(dom, t.dev[1], 7), 0);
	CHECK_EQ(intel_iommu_domain_did(t.iommu[1], dom), -ENOENT);
	CHECK_EQ(intel_iommu_domain_did(t.iommu[0], dom), did[0]);
	CHECK_EQ(iommu_map(dom, 0x10000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	for (int u = 0; u < 2; u++)
		log_mark(t.vtd[u], &l[u]);
	CHECK_EQ(iommu_unmap(dom, 0x10000, SZ_4K), (ssize_t)SZ_4K);
	log_read(t.vtd[0], t.mem, &l[0]);
	log_read(t.vtd[1], t.mem, &l[1]);
	CHECK_EQ(l[0].n, 3);
	CHECK_EQ(l[1].n, 0);
	CHECK_EQ(reports, 0);
	CHECK_EQ(iommu_detach_device_pasid(dom, t.dev[0], 7), 0);
	CHECK_EQ(iommu_domain_free(dom), 0);
	CHECK_EQ(two_down(&t), 0);
}

/* A unit without 1 GiB pages cannot walk a domain that may use them. */
static void test_unit_refuses_page_sizes(void)
{
	struct iommu_domain *big, *small;
	struct two t;

	CHECK_EQ(two_up(&t, true), 0);
	CHECK_EQ(iommu_paging_domain_alloc(t.dev[0], 0, &big), 0);
	CHECK(big->pgsize_bitmap & SZ_1G);
	CHECK_EQ(iommu_attach_device_pasid(big, t.dev[1], 8), -EINVAL);
	CHECK(iommu_get_domain_for_dev_pasid(t.dev[1], 8) == NULL);
	/* A domain made for unit 1 fits both. */
	CHECK_EQ(iommu_paging_domain_alloc(t.dev[1], 0, &small), 0);
	CHECK(!(small->pgsize_bitmap & SZ_1G));
	CHECK_EQ(iommu_attach_device_pasid(small, t.dev[0], 8), 0);
	CHECK_EQ(iommu_attach_device_pasid(small, t.dev[1], 8), 0);
	CHECK_EQ(iommu_detach_device_pasid(small, t.dev[0], 8), 0);
	CHECK_EQ(iommu_detach_device_pasid(small, t.dev[1], 8), 0);
	CHECK_EQ(iommu_domain_free(big), 0);
	CHECK_EQ(iommu_domain_free(small), 0);
	CHECK_EQ(two_down(&t), 0);
}

int main(void)
{
	RUN(test_one_domain_two_units);
	RUN(test_unit_refuses_page_sizes);
	return CHECK_DONE();
}
