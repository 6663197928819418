// SPDX-License-Identifier: MIT
/*
 * The driver's invalidation queue when things go wrong, with a shim between the driver and
 * the unit's registers:
 *  - a descriptor the unit refuses (a reserved bit set on its way, as a corrupted write
 *    would): FSTS.IQE, the driver replaces it, clears IQE, the queue runs on, the flush
 *    reports it and later flushes work;
 *  - a queue that is never processed (IQT writes lost): every wait gives up after its
 *    bounded poll, nothing hangs, the queue filling up is refused in bounded time, and once
 *    the writes arrive again the driver carries on;
 *  - an endpoint that answers an invalidation with a bad completion: FSTS.ICE counted and
 *    cleared.
 */
#include "drv_test.h"

#include <time.h>

enum shim_mode {
	SHIM_PASS,
	SHIM_CORRUPT_ONCE, /* the next descriptor submitted gets a reserved bit */
	SHIM_CORRUPT_WAIT, /* the next batch's wait (its last slot) gets one */
	SHIM_DROP_IQT,	   /* IQT writes are lost */
};

struct shim {
	struct vtd *vtd;
	struct mem *mem;
	enum shim_mode mode;
	unsigned dropped;
};

static int shim_read(void *ctx, uint64_t off, unsigned size, uint64_t *val)
{
	struct shim *s = ctx;

	return vtd_mmio_read(s->vtd, off, size, val);
}

static int shim_write(void *ctx, uint64_t off, unsigned size, uint64_t val)
{
	struct shim *s = ctx;
	uint64_t iqa = 0, tail = 0, q0 = 0;

	if (off == VTD_REG_IQT && s->mode == SHIM_DROP_IQT) {
		s->dropped++;
		return 0;
	}
	if (off == VTD_REG_IQT && s->mode == SHIM_CORRUPT_ONCE) {
		/* The first new descriptor (32-byte slots): set a reserved Q0 bit (bit 8). */
		vtd_mmio_read(s->vtd, VTD_REG_IQA, 8, &iqa);
		vtd_mmio_read(s->vtd, VTD_REG_IQT, 8, &tail);
		mem_read64(s->mem, (iqa & VTD_IQA_IQA_MASK) + tail, &q0);
		mem_write64(s->mem, (iqa & VTD_IQA_IQA_MASK) + tail, q0 | (1ull << 8));
		s->mode = SHIM_PASS;
	}
	if (off == VTD_REG_IQT && s->mode == SHIM_CORRUPT_WAIT) {
		uint64_t last;

		vtd_mmio_read(s->vtd, VTD_REG_IQA, 8, &iqa);
		last = (iqa & VTD_IQA_IQA_MASK) + ((val - 32) & ((4096ull << (iqa & 7)) - 1));
		mem_read64(s->mem, last, &q0);
		mem_write64(s->mem, last, q0 | (1ull << 8));
		s->mode = SHIM_PASS;
	}
	return vtd_mmio_write(s->vtd, off, size, val);
}

struct stack {
	struct mem *mem;
	struct mem_alloc *alloc;
	struct vtd *vtd;
	struct iommu_core *core;
	struct intel_iommu *iommu;
	struct pci_endpoint *ep;
	struct iommu_dev *dev;
	struct shim shim;
};

static int stack_up(struct stack *st)
{
	struct intel_iommu_config dc = {.quiet = true, .poll_limit = 100};
	struct iommu_dev_info info = {.rid = PCI_RID(0, 3, 0), .pasid_width = 20, .ats = true};
	struct pci_endpoint_config ec = {.rid = info.rid,
					 .pasid_width = 20,
					 .pasid_enable = true,
					 .ats = true,
					 .ats_enable = true,
					 .atc_sets = 16,
					 .atc_ways = 2};
	struct pci_ats_port port;
	struct vtd_config vc;

	memset(st, 0, sizeof(*st));
	st->mem = mem_create_sparse(8 * SZ_1G);
	CHECK_RET(st->mem);
	CHECK_RET(mem_alloc_create(st->mem, 4 * SZ_1G, SZ_1G, &st->alloc) == 0);
	vtd_config_default(&vc);
	CHECK_RET(vtd_create(&vc, st->mem, NULL, NULL, &st->vtd) == 0);
	CHECK_RET(iommu_core_create(NULL, &st->core) == 0);
	st->shim = (struct shim){.vtd = st->vtd, .mem = st->mem};
	dc.mmio = (struct intel_iommu_mmio){shim_read, shim_write, &st->shim};
	dc.alloc = st->alloc;
	CHECK_RET(intel_iommu_create(st->core, &dc, &st->iommu) == 0);
	ec.agent = vtd_translation_agent(st->vtd);
	ec.mem = st->mem;
	CHECK_RET(pci_endpoint_create(&ec, &st->ep) == 0);
	port = pci_endpoint_ats_port(st->ep);
	CHECK_RET(vtd_connect_ats(st->vtd, info.rid, &port) == 0);
	CHECK_RET(iommu_probe_device(intel_iommu_device(st->iommu), &info, &st->dev) == 0);
	return 0;
}

static int stack_down(struct stack *st)
{
	CHECK_RET(iommu_release_device(st->dev) == 0);
	CHECK_RET(intel_iommu_destroy(st->iommu) == 0);
	CHECK_RET(mem_alloc_in_use(st->alloc) == 0);
	CHECK_RET(iommu_core_destroy(st->core) == 0);
	vtd_disconnect_ats(st->vtd, PCI_RID(0, 3, 0));
	pci_endpoint_destroy(st->ep);
	vtd_destroy(st->vtd);
	mem_alloc_destroy(st->alloc);
	mem_destroy(st->mem);
	return 0;
}

static struct intel_iommu_stats stats(struct stack *st)
{
	struct intel_iommu_stats s;

	memset(&s, 0xff, sizeof(s));
	intel_iommu_get_stats(st->iommu, &s);
	return s;
}

static uint64_t fsts(struct stack *st)
{
	uint64_t v = ~0ull;

	vtd_mmio_read(st->vtd, VTD_REG_FSTS, 4, &v);
	return v;
}

/* Map, DMA through the ATC, unmap: the flush worked if the DMA then faults. */
static int flush_works(struct stack *st, uint64_t iova)
{
	struct iommu_domain *dom = iommu_get_default_domain(st->dev);
	uint64_t v;

	CHECK_RET(iommu_map(dom, iova, DATA_BASE, SZ_4K, IOMMU_READ) == 0);
	CHECK_RET(pci_endpoint_dma_read(st->ep, 0, 0, iova, &v, 8, NULL) == 0);
	CHECK_RET(iommu_unmap(dom, iova, SZ_4K) == (ssize_t)SZ_4K);
	CHECK_RET(pci_endpoint_dma_read(st->ep, 0, 0, iova, &v, 8, NULL) == -EFAULT);
	return 0;
}

static void test_refused_descriptor(void)
{
	struct intel_iommu_stats before;
	struct iommu_domain *dom;
	struct stack st;
	uint64_t v;

	CHECK_EQ(stack_up(&st), 0);
	dom = iommu_get_default_domain(st.dev);
	CHECK_EQ(iommu_map(dom, 0x10000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(pci_endpoint_dma_read(st.ep, 0, 0, 0x10000, &v, 8, NULL), 0);
	st.shim.mode = SHIM_CORRUPT_ONCE;
	before = stats(&st);
	CHECK_EQ(iommu_unmap(dom, 0x10000, SZ_4K), (ssize_t)SZ_4K);
	CHECK_EQ(stats(&st).queue_errors, 1);
	/* The refused PASID-based IOTLB invalidation was made up for by a global one. */
	CHECK_EQ(stats(&st).desc[VTD_INV_IOTLB] - before.desc[VTD_INV_IOTLB], 1);
	CHECK_EQ(stats(&st).wait_timeouts, 0);
	CHECK(!(fsts(&st) & VTD_FSTS_IQE));
	CHECK(strstr(intel_iommu_last_warning(st.iommu), "IQE"));
	/* Nothing stale is left: the device faults. */
	CHECK_EQ(pci_endpoint_dma_read(st.ep, 0, 0, 0x10000, &v, 8, NULL), -EFAULT);
	/* The queue runs on. */
	CHECK_EQ(flush_works(&st, 0x20000), 0);
	CHECK_EQ(stats(&st).queue_errors, 1);

	/* The wait itself refused: rewritten, the flush completes without a time-out. */
	CHECK_EQ(iommu_map(dom, 0x10000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(pci_endpoint_dma_read(st.ep, 0, 0, 0x10000, &v, 8, NULL), 0);
	st.shim.mode = SHIM_CORRUPT_WAIT;
	CHECK_EQ(iommu_unmap(dom, 0x10000, SZ_4K), (ssize_t)SZ_4K);
	CHECK_EQ(stats(&st).queue_errors, 2);
	CHECK_EQ(stats(&st).wait_timeouts, 0);
	CHECK_EQ(pci_endpoint_dma_read(st.ep, 0, 0, 0x10000, &v, 8, NULL), -EFAULT);
	CHECK_EQ(flush_works(&st, 0x20000), 0);
	CHECK_EQ(stack_down(&st), 0);
}

static void test_queue_not_processed(void)
{
	struct iommu_domain *dom;
	struct stack st;
	struct timespec t0, t1;
	unsigned n;

	CHECK_EQ(stack_up(&st), 0);
	dom = iommu_get_default_domain(st.dev);
	st.shim.mode = SHIM_DROP_IQT;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Far more batches than the queue holds: each gives up in bounded time. */
	for (n = 0; n < 300; n++) {
		CHECK_EQ(iommu_map(dom, 0x100000 + n * SZ_4K, DATA_BASE, SZ_4K, IOMMU_READ), 0);
		CHECK_EQ(iommu_unmap(dom, 0x100000 + n * SZ_4K, SZ_4K), (ssize_t)SZ_4K);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec < 10);
	CHECK(stats(&st).wait_timeouts > 0);
	CHECK(st.shim.dropped > 0);
	CHECK(strstr(intel_iommu_last_warning(st.iommu), "timed out"));
	/* Writes arrive again: the driver carries on (the stale tail is caught up). */
	st.shim.mode = SHIM_PASS;
	CHECK_EQ(flush_works(&st, 0x30000), 0);
	n = (unsigned)stats(&st).wait_timeouts;
	CHECK_EQ(flush_works(&st, 0x40000), 0);
	CHECK_EQ(stats(&st).wait_timeouts, n);
	CHECK_EQ(stack_down(&st), 0);
}

/* An endpoint port that answers every invalidation with a bad completion. */
static int bad_completion(void *ctx, const struct pci_ats_inv *inv)
{
	(void)ctx, (void)inv;
	return -EPROTO;
}

static void test_bad_completion(void)
{
	struct pci_ats_port bad = {bad_completion, NULL};
	struct iommu_domain *dom;
	struct stack st;

	CHECK_EQ(stack_up(&st), 0);
	dom = iommu_get_default_domain(st.dev);
	CHECK_EQ(vtd_disconnect_ats(st.vtd, PCI_RID(0, 3, 0)), 0);
	CHECK_EQ(vtd_connect_ats(st.vtd, PCI_RID(0, 3, 0), &bad), 0);
	CHECK_EQ(iommu_map(dom, 0x50000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(iommu_unmap(dom, 0x50000, SZ_4K), (ssize_t)SZ_4K);
	CHECK_EQ(stats(&st).completion_errors, 1);
	CHECK_EQ(stats(&st).wait_timeouts, 0);
	CHECK(!(fsts(&st) & VTD_FSTS_ICE));
	CHECK_EQ(vtd_disconnect_ats(st.vtd, PCI_RID(0, 3, 0)), 0);
	{
		struct pci_ats_port port = pci_endpoint_ats_port(st.ep);

		CHECK_EQ(vtd_connect_ats(st.vtd, PCI_RID(0, 3, 0), &port), 0);
	}
	CHECK_EQ(flush_works(&st, 0x60000), 0);
	CHECK_EQ(stack_down(&st), 0);
}

int main(void)
{
	RUN(test_refused_descriptor);
	RUN(test_queue_not_processed);
	RUN(test_bad_completion);
	return CHECK_DONE();
}
