// SPDX-License-Identifier: MIT
/*
 * The DSA engine and its kernel driver end to end: VT-d model, VT-d driver, IOMMU core, DMA
 * API with the kernel PASID, the endpoint's device TLB. memmove (and fill, compare, CRC)
 * give the right data in strict mode on both stages, lazy mode and pass-through, with the
 * kernel PASID and without it (by choice, or by fallback when the device or the unit has no
 * PASID support), with check mode on in the unit and in the device TLB and no stale
 * translation found; after dma_disable_pasid() descriptors that still carry the PASID fault
 * and leave memory alone; the DMA API's debug checks see the engine touch an unmapped IOVA.
 */
#include "check.h"
#include "devices/dsa_machine.h"

#define SRC (SYS_DATA + 0x100000)
#define DST (SYS_DATA + 0x1000000)

static struct sys s;

static void pattern(uint8_t *p, uint64_t n, unsigned seed)
{
	for (uint64_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

/* memmoves of several sizes and alignments, checked from the CPU; then fill, compare and
 * CRC through the same mappings. */
static int data_ops(void)
{
	static const uint64_t sizes[] = {1, 64, 4095, 4096, 8193, 65536, 300000, 3u << 20};
	struct dsa_completion c;
	uint32_t crc;
	int64_t diff;

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t so = (i * 1237) % 4096, d0 = (i * 3001) % 4096;

		pattern(sys_ptr(&s, SRC + so), sizes[i], i);
		memset(sys_ptr(&s, DST + d0 + sizes[i]), 0xee, 64);
		CHECK_RET(dsa_drv_memmove(s.drv, DST + d0, SRC + so, sizes[i], &c) == 0);
		CHECK_RET(c.status == DSA_COMP_SUCCESS);
		CHECK_RET(memcmp(sys_ptr(&s, DST + d0), sys_ptr(&s, SRC + so), sizes[i]) == 0);
		CHECK_RET(*sys_ptr(&s, DST + d0 + sizes[i]) == 0xee);
	}
	CHECK_RET(dsa_drv_memmove(s.drv, DST, SRC, 65536, NULL) == 0);
	CHECK_RET(dsa_drv_compare(s.drv, SRC, DST, 65536, &diff, NULL) == 0);
	CHECK_RET(diff == -1);
	*sys_ptr(&s, DST + 40000) ^= 1;
	CHECK_RET(dsa_drv_compare(s.drv, SRC, DST, 65536, &diff, NULL) == 0);
	CHECK_RET(diff == 40000);
	CHECK_RET(dsa_drv_crc32c(s.drv, SRC, 100000, 0, &crc, NULL) == 0);
	CHECK_RET(crc == dsa_crc32c(0, sys_ptr(&s, SRC), 100000));
	CHECK_RET(dsa_drv_fill(s.drv, DST + 3, 0x1122334455667788ull, 5000, NULL) == 0);
	for (unsigned k = 0; k < 5000; k++)
		CHECK_RET(*sys_ptr(&s, DST + 3 + k) ==
			  (uint8_t)(0x1122334455667788ull >> (8 * (k % 8))));
	/* Overlapping memmove inside one descriptor. */
	pattern(sys_ptr(&s, SRC), 20000, 9);
	CHECK_RET(dsa_drv_memmove(s.drv, SRC + 100, SRC, 20000, &c) == 0);
	CHECK_RET(c.result == 1);
	for (unsigned k = 0; k < 20000; k++)
		CHECK_RET(*sys_ptr(&s, SRC + 100 + k) == (uint8_t)(9 * 31 + k * 7 + (k >> 9)));
	return 0;
}

/* Run data_ops with check mode on, and check that the descriptors carried the PASID we
 * expect (or none). */
static int checked_run(bool want_pasid)
{
	struct dsa_pasid_stats ps;
	struct vtd_cache_stats cs;
	uint32_t pasid = dsa_drv_pasid(s.drv);

	CHECK_RET((pasid != IOMMU_PASID_INVALID) == want_pasid);
	CHECK_RET(sys_check(&s, true) == 0);
	CHECK_RET(data_ops() == 0);
	CHECK_RET(sys_check(&s, false) == 0);
	CHECK_RET(vtd_get_cache_stats(s.m->vtd, &cs) == 0);
	CHECK_RET(cs.checked > 0); /* check mode looked at the translations */
	CHECK_RET(s.stale == 0);
	CHECK_RET(s.atc_stale == 0);
	if (want_pasid) {
		CHECK_RET(dsa_get_pasid_stats(dsa_drv_dsa(s.drv), true, pasid, &ps) == 0);
		CHECK_RET(ps.descriptors > 10 && ps.faults == 0);
		CHECK_RET(dsa_get_pasid_stats(dsa_drv_dsa(s.drv), false, 0, &ps) == -ENOENT);
	} else {
		CHECK_RET(dsa_get_pasid_stats(dsa_drv_dsa(s.drv), false, 0, &ps) == 0);
		CHECK_RET(ps.descriptors > 10 && ps.faults == 0);
	}
	return 0;
}

static void test_strict_first_stage_pasid(void)
{
	struct sys_opts o = {.domain = IOMMU_DOMAIN_DMA, .pasid_width = 20, .use_pasid = true};
	struct pci_endpoint_stats es;

	CHECK_EQ(sys_init(&s, &o), 0);
	CHECK(strstr(s.log[0], "kernel DMA with PASID") != NULL);
	CHECK_EQ(checked_run(true), 0);
	/* The data went through the device TLB. */
	CHECK_EQ(pci_endpoint_get_stats(s.md->ep, &es), 0);
	CHECK(es.hits > 0 && es.translation_requests > 0);
	CHECK_EQ(sys_fini(&s), 0);
}

static void test_strict_second_stage_pasid(void)
{
	struct sys_opts o = {
	    .domain = IOMMU_DOMAIN_DMA, .pasid_width = 20, .use_pasid = true, .second_stage = true};

	CHECK_EQ(sys_init(&s, &o), 0);
	CHECK_EQ(checked_run(true), 0);
	CHECK_EQ(sys_fini(&s), 0);
}

static void test_lazy_pasid(void)
{
	struct sys_opts o = {.domain = IOMMU_DOMAIN_DMA_FQ, .pasid_width = 20, .use_pasid = true};

	CHECK_EQ(sys_init(&s, &o), 0);
	CHECK_EQ(dma_dev_mode(dsa_drv_dma(s.drv)), DMA_MODE_LAZY);
	CHECK_EQ(checked_run(true), 0);
	CHECK_EQ(sys_fini(&s), 0);
}

static void test_passthrough_pasid(void)
{
	struct sys_opts o = {.domain = IOMMU_DOMAIN_IDENTITY, .pasid_width = 20, .use_pasid = true};

	CHECK_EQ(sys_init(&s, &o), 0);
	CHECK_EQ(dma_dev_mode(dsa_drv_dma(s.drv)), DMA_MODE_DIRECT);
	CHECK_EQ(checked_run(true), 0);
	CHECK_EQ(sys_fini(&s), 0);
}

static void test_without_pasid_by_choice(void)
{
	struct sys_opts o = {.domain = IOMMU_DOMAIN_DMA, .pasid_width = 20, .use_pasid = false};

	CHECK_EQ(sys_init(&s, &o), 0);
	CHECK_EQ(s.nlog, 0);
	CHECK_EQ(checked_run(false), 0);
	CHECK_EQ(sys_fini(&s), 0);
}

/* Fallback: a device without the PASID capability. */
static void test_fallback_no_capability(void)
{
	struct sys_opts o = {.domain = IOMMU_DOMAIN_DMA, .pasid_width = 0, .use_pasid = true};

	CHECK_EQ(sys_init(&s, &o), 0);
	CHECK_EQ(s.nlog, 1);
	CHECK(strstr(s.log[0], "no in-kernel DMA with PASID") != NULL);
	CHECK(strstr(s.log[0], "(-95)") != NULL); /* -EOPNOTSUPP */
	CHECK_EQ(checked_run(false), 0);
	CHECK_EQ(sys_fini(&s), 0);
}

/* Fallback: a legacy-mode unit translates no PASIDs. */
static void test_fallback_legacy_unit(void)
{
	struct sys_opts o = {
	    .domain = IOMMU_DOMAIN_DMA, .pasid_width = 20, .use_pasid = true, .legacy = true};

	CHECK_EQ(sys_init(&s, &o), 0);
	CHECK(strstr(s.log[0], "no in-kernel DMA with PASID") != NULL);
	CHECK(strstr(dsa_drv_pasid_status(s.drv), "legacy") != NULL);
	CHECK_EQ(checked_run(false), 0);
	CHECK_EQ(sys_fini(&s), 0);
}

/* After dma_disable_pasid(), a descriptor that still carries the PASID faults on its first
 * access and moves nothing; its record cannot be written either (same PASID), so the error
 * is in the software-error register and the wait ends with the completion interrupt and
 * no record (-EIO). The driver itself goes on without a PASID. */
static void disabled_case(int domain)
{
	struct sys_opts o = {.domain = domain, .pasid_width = 20, .use_pasid = true};
	struct dma_dev *dma;
	struct dsa_completion c = {.status = 0xff};
	struct dsa_swerr e;
	struct dsa_desc d;
	dma_addr_t a, b;
	uint32_t old;
	unsigned t;

	CHECK_EQ(sys_init(&s, &o), 0);
	dma = dsa_drv_dma(s.drv);
	old = dsa_drv_pasid(s.drv);
	CHECK(old != IOMMU_PASID_INVALID);
	pattern(sys_ptr(&s, SRC), 8192, 1);
	memset(sys_ptr(&s, DST), 0x5a, 8192);
	a = dma_map_single(dma, SRC, 8192, DMA_TO_DEVICE);
	b = dma_map_single(dma, DST, 8192, DMA_FROM_DEVICE);
	CHECK(a != DMA_MAPPING_ERROR && b != DMA_MAPPING_ERROR);
	/* Warm the device TLB with the PASID first: the detach must flush it. */
	dsa_desc_init(&d, DSA_OP_CRC32C, 0, false, 0, false);
	d.src = a;
	d.size = 8192;
	CHECK_EQ(dsa_drv_submit(s.drv, 0, &d, 0, &t), 0);
	CHECK_EQ(dsa_drv_wait(s.drv, t, NULL), 0);
	CHECK_EQ(dsa_drv_disable_pasid(s.drv), 0);
	CHECK_EQ(dsa_drv_pasid(s.drv), IOMMU_PASID_INVALID);
	dsa_desc_init(&d, DSA_OP_MEMMOVE, DSA_F_CRAV, true, old, false);
	d.src = a;
	d.dst = b;
	d.size = 8192;
	d.completion = 0; /* set by submit */
	CHECK_EQ(dsa_drv_submit(s.drv, 0, &d, DSA_DRV_RAW_PASID, &t), 0);
	CHECK_EQ(dsa_drv_wait(s.drv, t, &c), -EIO);
	CHECK_EQ(c.status, DSA_COMP_NONE);
	CHECK_EQ(dsa_drv_wait(s.drv, t, &c), -EINVAL); /* its record went back to the pool */
	CHECK_EQ(dsa_read_swerr(dsa_drv_dsa(s.drv), &e), 0);
	CHECK(e.valid && e.record_fault);
	CHECK_EQ(e.status, DSA_COMP_PAGE_FAULT);
	CHECK_EQ(e.desc_pasid & DSA_PASID_MASK, old);
	for (unsigned k = 0; k < 8192; k++)
		CHECK_EQ(*sys_ptr(&s, DST + k), 0x5a);
	/* Without the PASID the same buffers still work. */
	CHECK_EQ(dsa_drv_memmove(s.drv, DST, SRC, 8192, NULL), 0);
	CHECK(memcmp(sys_ptr(&s, DST), sys_ptr(&s, SRC), 8192) == 0);
	CHECK_EQ(dma_unmap_single(dma, a, 8192, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_unmap_single(dma, b, 8192, DMA_FROM_DEVICE), 0);
	CHECK_EQ(sys_fini(&s), 0);
}

static void test_disable_pasid_strict(void)
{
	disabled_case(IOMMU_DOMAIN_DMA);
}

static void test_disable_pasid_lazy(void)
{
	disabled_case(IOMMU_DOMAIN_DMA_FQ);
}

static void test_disable_pasid_passthrough(void)
{
	disabled_case(IOMMU_DOMAIN_IDENTITY);
}

/* Lazy mode keeps the unit's and the device's translations of an unmapped buffer until the
 * flush: a buggy driver that reuses the old address gets through, and only the DMA API's
 * debug check (the engine's access hook) says so. A correct run reports nothing. */
static void test_debug_use_after_unmap(void)
{
	struct sys_opts o = {
	    .domain = IOMMU_DOMAIN_DMA_FQ, .pasid_width = 20, .use_pasid = true, .debug = true};
	struct dma_dev *dma;
	struct dsa_completion c;
	struct dsa_desc d;
	dma_addr_t a;
	unsigned t;

	CHECK_EQ(sys_init(&s, &o), 0);
	dma = dsa_drv_dma(s.drv);
	CHECK_EQ(data_ops(), 0);
	CHECK_EQ(s.debug_hits, 0);
	a = dma_map_single(dma, SRC, 4096, DMA_TO_DEVICE);
	CHECK(a != DMA_MAPPING_ERROR);
	dsa_desc_init(&d, DSA_OP_CRC32C, 0, false, 0, false);
	d.src = a;
	d.size = 4096;
	CHECK_EQ(dsa_drv_submit(s.drv, 0, &d, 0, &t), 0);
	CHECK_EQ(dsa_drv_wait(s.drv, t, &c), 0);
	CHECK_EQ(s.debug_hits, 0);
	CHECK_EQ(dma_unmap_single(dma, a, 4096, DMA_TO_DEVICE), 0);
	dsa_desc_init(&d, DSA_OP_CRC32C, 0, false, 0, false);
	d.src = a;
	d.size = 4096;
	CHECK_EQ(dsa_drv_submit(s.drv, 0, &d, 0, &t), 0);
	CHECK_EQ(dsa_drv_wait(s.drv, t, &c), 0);
	CHECK_EQ(c.status, DSA_COMP_SUCCESS); /* the stale translation let it through */
	CHECK_EQ(s.debug_hits, 1);
	CHECK_EQ(s.last_debug, DMA_DEBUG_USE_AFTER_UNMAP);
	CHECK_EQ(dma_debug_count(dma, DMA_DEBUG_USE_AFTER_UNMAP), 1);
	/* After the flush the same mistake faults as well. */
	dma_flush_queues(dma);
	CHECK_EQ(dsa_drv_submit(s.drv, 0, &d, 0, &t), 0);
	CHECK_EQ(dsa_drv_wait(s.drv, t, &c), 0);
	CHECK_EQ(c.status, DSA_COMP_PAGE_FAULT);
	CHECK_EQ(c.fault_addr, a);
	CHECK_EQ(s.debug_hits, 2);
	CHECK_EQ(sys_fini(&s), 0);
}

/* Several WQs used at once from the async API, on the kernel PASID. */
static void test_async_two_wqs(void)
{
	struct sys_opts o = {
	    .domain = IOMMU_DOMAIN_DMA, .pasid_width = 20, .use_pasid = true, .num_wqs = 2};
	struct dma_dev *dma;
	dma_addr_t a, b;
	unsigned t[16];

	CHECK_EQ(sys_init(&s, &o), 0);
	dma = dsa_drv_dma(s.drv);
	pattern(sys_ptr(&s, SRC), 16 * 4096, 4);
	a = dma_map_single(dma, SRC, 16 * 4096, DMA_TO_DEVICE);
	b = dma_map_single(dma, DST, 16 * 4096, DMA_FROM_DEVICE);
	CHECK(a != DMA_MAPPING_ERROR && b != DMA_MAPPING_ERROR);
	for (unsigned i = 0; i < 16; i++) {
		struct dsa_desc d;

		dsa_desc_init(&d, DSA_OP_MEMMOVE, 0, false, 0, false);
		d.src = a + i * 4096;
		d.dst = b + (15 - i) * 4096;
		d.size = 4096;
		CHECK_EQ(dsa_drv_submit(s.drv, i % 2, &d, 0, &t[i]), 0);
	}
	for (unsigned i = 0; i < 16; i++) {
		struct dsa_completion c;

		CHECK_EQ(dsa_drv_wait(s.drv, t[i], &c), 0);
		CHECK_EQ(c.status, DSA_COMP_SUCCESS);
	}
	for (unsigned i = 0; i < 16; i++)
		CHECK(memcmp(sys_ptr(&s, DST + (15 - i) * 4096), sys_ptr(&s, SRC + i * 4096),
			     4096) == 0);
	CHECK_EQ(dsa_drv_wait(s.drv, t[0], NULL), -EINVAL); /* already collected */
	CHECK_EQ(dma_unmap_single(dma, a, 16 * 4096, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_unmap_single(dma, b, 16 * 4096, DMA_FROM_DEVICE), 0);
	CHECK_EQ(sys_fini(&s), 0);
}

/* A pool of records that is not a power of two: every record works, with its interrupt
 * flag beside it, and the tickets past the last (inside the records' pages) are refused. */
static void test_driver_odd_pool(void)
{
	struct sys_opts o = {
	    .domain = IOMMU_DOMAIN_DMA, .pasid_width = 20, .use_pasid = true, .records = 100};
	struct dma_dev *dma;
	dma_addr_t a, b;
	unsigned t[100];

	CHECK_EQ(sys_init(&s, &o), 0);
	dma = dsa_drv_dma(s.drv);
	pattern(sys_ptr(&s, SRC), 4096, 6);
	a = dma_map_single(dma, SRC, 4096, DMA_TO_DEVICE);
	b = dma_map_single(dma, DST, 100 * 64, DMA_FROM_DEVICE);
	CHECK(a != DMA_MAPPING_ERROR && b != DMA_MAPPING_ERROR);
	for (unsigned round = 0; round < 2; round++) {
		for (unsigned i = 0; i < 100; i++) {
			struct dsa_desc d;

			dsa_desc_init(&d, DSA_OP_MEMMOVE, 0, false, 0, false);
			d.src = a + i * 40;
			d.dst = b + i * 64;
			d.size = 64;
			CHECK_EQ(dsa_drv_submit(s.drv, 0, &d, 0, &t[i]), 0);
		}
		for (unsigned i = 0; i < 100; i++) {
			struct dsa_completion c;

			CHECK_EQ(dsa_drv_wait(s.drv, t[i], &c), 0);
			CHECK_EQ(c.status, DSA_COMP_SUCCESS);
			CHECK(memcmp(sys_ptr(&s, DST + i * 64), sys_ptr(&s, SRC + i * 40), 64) ==
			      0);
		}
	}
	for (unsigned i = 100; i < 128; i++)
		CHECK_EQ(dsa_drv_wait(s.drv, i, NULL), -EINVAL);
	CHECK_EQ(dma_unmap_single(dma, a, 4096, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_unmap_single(dma, b, 100 * 64, DMA_FROM_DEVICE), 0);
	CHECK_EQ(sys_fini(&s), 0);
}

static void test_driver_bad_arguments(void)
{
	struct sys_opts o = {.domain = IOMMU_DOMAIN_DMA, .pasid_width = 20, .use_pasid = true};
	struct dsa_drv_config cfg = {0};
	struct dsa_drv *drv = NULL;
	struct dsa_desc d = {0};
	uint32_t crc;
	int64_t diff;
	unsigned t;

	CHECK_EQ(dsa_drv_probe(NULL, &drv), -EINVAL);
	CHECK_EQ(dsa_drv_probe(&cfg, &drv), -EINVAL);
	CHECK_EQ(sys_init(&s, &o), 0);
	cfg.ep = s.md->ep;
	cfg.dma.dev = s.md->dev;
	cfg.dma.mem = s.m->mem;
	cfg.dma.alloc = s.m->alloc;
	cfg.records = 4097;
	CHECK_EQ(dsa_drv_probe(&cfg, &drv), -EINVAL);
	cfg.records = 0;
	CHECK_EQ(dsa_drv_probe(&cfg, &drv), -EBUSY); /* the device has its DMA handle */
	CHECK(drv == NULL);
	CHECK_EQ(dsa_drv_submit(s.drv, 1, &d, 0, &t), -EINVAL);
	CHECK_EQ(dsa_drv_submit(s.drv, 0, &d, 2, &t), -EINVAL);
	CHECK_EQ(dsa_drv_submit(NULL, 0, &d, 0, &t), -EINVAL);
	CHECK_EQ(dsa_drv_wait(s.drv, 100000, NULL), -EINVAL);
	CHECK_EQ(dsa_drv_wait(s.drv, 3, NULL), -EINVAL);
	CHECK_EQ(dsa_drv_memmove(s.drv, DST, SRC, 0, NULL), -EINVAL);
	CHECK_EQ(dsa_drv_compare(s.drv, DST, SRC, 8, NULL, NULL), -EINVAL);
	CHECK_EQ(dsa_drv_crc32c(s.drv, SRC, 8, 0, NULL, NULL), -EINVAL);
	CHECK_EQ(dsa_drv_fill(NULL, DST, 0, 8, NULL), -EINVAL);
	/* Buffers the DMA API refuses: outside memory. */
	CHECK_EQ(dsa_drv_memmove(s.drv, 1ull << 40, SRC, 64, NULL), -EFAULT);
	CHECK_EQ(dsa_drv_compare(s.drv, 1ull << 40, SRC, 64, &diff, NULL), -EFAULT);
	CHECK_EQ(dsa_drv_crc32c(s.drv, 1ull << 40, 64, 0, &crc, NULL), -EFAULT);
	/* Overlap larger than one descriptor. */
	CHECK_EQ(dsa_drv_memmove(s.drv, SRC + 1, SRC, DSA_DEFAULT_MAX_XFER + 1, NULL), -EINVAL);
	CHECK_EQ(dsa_drv_disable_pasid(s.drv), 0);
	CHECK_EQ(dsa_drv_disable_pasid(s.drv), -ENOENT);
	CHECK_EQ(dsa_drv_status_errno(NULL), -EINVAL);
	CHECK_EQ(dsa_drv_remove(NULL), 0);
	CHECK_EQ(sys_fini(&s), 0);
}

int main(void)
{
	RUN(test_strict_first_stage_pasid);
	RUN(test_strict_second_stage_pasid);
	RUN(test_lazy_pasid);
	RUN(test_passthrough_pasid);
	RUN(test_without_pasid_by_choice);
	RUN(test_fallback_no_capability);
	RUN(test_fallback_legacy_unit);
	RUN(test_disable_pasid_strict);
	RUN(test_disable_pasid_lazy);
	RUN(test_disable_pasid_passthrough);
	RUN(test_debug_use_after_unmap);
	RUN(test_async_two_wqs);
	RUN(test_driver_odd_pool);
	RUN(test_driver_bad_arguments);
	return CHECK_DONE();
}
