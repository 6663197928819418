// SPDX-License-Identifier: MIT
/*
 * Mapping through the core: the page-size split handed to map_pages/unmap_pages, rollback
 * of a failed map, unmap with holes, the gather (range accumulation, add_page's early
 * flushes, queued gathers) and the release of freed table pages only after the flush.
 */
#include "check.h"
#include "mock_iommu.h"

#define SZ_4K 0x1000ull
#define SZ_1M 0x100000ull
#define SZ_2M 0x200000ull
#define SZ_1G 0x40000000ull

static struct iommu_core *core;
static struct mock_iommu *mi;
static struct iommu_dev *dev;
static struct iommu_domain *dom;

static int setup_pgsizes(uint64_t pgsizes)
{
	struct iommu_dev_info info = {.rid = 1, .pasid_width = 4};

	CHECK_RET(iommu_core_create(NULL, &core) == 0);
	mi = mock_iommu_new(&mock_ops, 1u << 20);
	CHECK_RET(mi);
	mi->pgsize_bitmap = pgsizes;
	CHECK_RET(iommu_device_register(core, &mi->iommu) == 0);
	CHECK_RET(iommu_probe_device(&mi->iommu, &info, &dev) == 0);
	CHECK_RET(iommu_paging_domain_alloc(dev, 0, &dom) == 0);
	mock_clear_log(mi);
	return 0;
}

static int setup(void)
{
	return setup_pgsizes(MOCK_PGSIZES);
}

static void teardown(void)
{
	CHECK_EQ(iommu_domain_free(dom), 0);
	CHECK_EQ(iommu_release_device(dev), 0);
	CHECK_EQ(iommu_device_unregister(&mi->iommu), 0);
	CHECK_EQ(mi->live_domains, 0);
	CHECK_EQ(mem_alloc_in_use(mi->alloc), 0);
	CHECK_EQ(iommu_core_warnings(core), 0);
	CHECK_EQ(iommu_core_destroy(core), 0);
	mock_iommu_free(mi);
}

/* The map_pages calls of the log, as (iova, pgsize, count) triples, must equal `want`. */
static int check_map_calls(const uint64_t (*want)[3], size_t n)
{
	size_t got = 0;

	for (size_t i = 0; i < mi->nlog; i++) {
		const struct mock_call *c = &mi->log[i];

		if (c->op != MOCK_MAP)
			continue;
		CHECK_RET(got < n);
		if (c->iova != want[got][0] || c->pgsize != want[got][1] ||
		    c->count != want[got][2]) {
			fprintf(stderr, "map call %zu: iova 0x%llx pgsize 0x%llx count %llu\n", got,
				(unsigned long long)c->iova, (unsigned long long)c->pgsize,
				(unsigned long long)c->count);
			CHECK_RET(0);
		}
		got++;
	}
	CHECK_RET(got == n);
	return 0;
}

/* Map, check the calls and every 4K of the translation, unmap everything. */
static int map_case(uint64_t iova, uint64_t pa, uint64_t size, const uint64_t (*want)[3], size_t n)
{
	mock_clear_log(mi);
	CHECK_RET(iommu_map(dom, iova, pa, size, IOMMU_READ | IOMMU_WRITE) == 0);
	if (check_map_calls(want, n))
		return -1;
	for (uint64_t off = 0; off < size; off += SZ_4K) {
		uint64_t got = 0;

		CHECK_RET(iommu_iova_to_phys(dom, iova + off, &got) == 0);
		CHECK_RET(got == pa + off);
	}
	CHECK_RET(iommu_unmap(dom, iova, size) == (ssize_t)size);
	CHECK_RET(mock_nptes(dom) == 0);
	return 0;
}

static void test_map_split(void)
{
	static const uint64_t one_2m[][3] = {{0x200000, SZ_2M, 1}};
	static const uint64_t small_big_small[][3] = {
	    {0x1ff000, SZ_4K, 1}, {0x200000, SZ_2M, 1}, {0x400000, SZ_4K, 1}};
	static const uint64_t two_2m[][3] = {{0x400000, SZ_2M, 2}};
	static const uint64_t incongruent[][3] = {{0x200000, SZ_4K, 1024}};
	static const uint64_t gig[][3] = {{SZ_1G, SZ_1G, 1}, {2 * SZ_1G, SZ_2M, 1}};
	static const uint64_t up_to_2m[][3] = {{SZ_1M, SZ_4K, 256}, {SZ_2M, SZ_2M, 1}};
	static const uint64_t below_2m[][3] = {{0x200000, SZ_4K, 511}};

	if (setup())
		return;
	/* A 2M-aligned 2M range is one 2M page. */
	if (map_case(0x200000, 0x40200000, SZ_2M, one_2m, 1))
		return;
	/* 4K + 2M + 4K straddling two boundaries: three runs. */
	if (map_case(0x1ff000, 0x401ff000, SZ_2M + 2 * SZ_4K, small_big_small, 3))
		return;
	/* 4M at a 2M boundary: one run of two 2M pages. */
	if (map_case(0x400000, 0x80400000, 2 * SZ_2M, two_2m, 1))
		return;
	/* iova and pa disagree modulo 2M: 2M pages are impossible, one run of 4K pages. */
	if (map_case(0x200000, 0x40201000, 2 * SZ_2M, incongruent, 1))
		return;
	/* 1G + 2M at a 1G boundary. */
	if (map_case(SZ_1G, 3 * SZ_1G, SZ_1G + SZ_2M, gig, 2))
		return;
	/* From 1M: 4K pages up to the 2M boundary, then a 2M page. */
	if (map_case(SZ_1M, SZ_1M, 3 * SZ_1M, up_to_2m, 2))
		return;
	/* Just under 2M: no larger page fits. */
	if (map_case(0x200000, 0x200000, SZ_2M - SZ_4K, below_2m, 1))
		return;
	teardown();
}

static void test_map_split_4k_only(void)
{
	static const uint64_t all_4k[][3] = {{0x200000, SZ_4K, 512}};

	if (setup_pgsizes(SZ_4K))
		return;
	if (map_case(0x200000, 0x200000, SZ_2M, all_4k, 1))
		return;
	teardown();
}

/* Unmap is split like map: a 2M page and 4K pages in one call. */
static void test_unmap_split(void)
{
	const struct mock_call *c;
	size_t units = 0;

	if (setup())
		return;
	CHECK_EQ(iommu_map(dom, 0x1ff000, 0x1ff000, SZ_2M + SZ_4K, IOMMU_READ), 0);
	mock_clear_log(mi);
	CHECK_EQ(iommu_unmap(dom, 0x1ff000, SZ_2M + SZ_4K), (ssize_t)(SZ_2M + SZ_4K));
	for (size_t i = 0; i < mi->nlog; i++) {
		c = &mi->log[i];
		if (c->op != MOCK_UNMAP)
			continue;
		if (units == 0)
			CHECK(c->iova == 0x1ff000 && c->pgsize == SZ_4K && c->count == 1);
		else
			CHECK(c->iova == 0x200000 && c->pgsize == SZ_2M && c->count == 1);
		units++;
	}
	CHECK_EQ(units, 2);
	/* add_page flushed the 4K run before gathering the 2M page, then the final sync. */
	CHECK_EQ(mi->calls[MOCK_SYNC], 2);
	CHECK_EQ(mock_nptes(dom), 0);
	teardown();
}

static void test_map_errors(void)
{
	static const struct iommu_domain_ops no_map_ops = {.free = mock_domain_free};
	struct iommu_domain no_map = {.type = IOMMU_DOMAIN_PAGING,
				      .ops = &no_map_ops,
				      .pgsize_bitmap = SZ_4K,
				      .aperture_end = ~0ull};
	struct iommu_domain no_sizes = {
	    .type = IOMMU_DOMAIN_PAGING, .ops = &mock_paging_ops, .aperture_end = ~0ull};
	struct iommu_iotlb_gather g;

	if (setup())
		return;
	CHECK_EQ(iommu_map(NULL, 0, 0, SZ_4K, IOMMU_READ), -EINVAL);
	CHECK_EQ(iommu_map(&mock_identity, 0, 0, SZ_4K, IOMMU_READ), -EINVAL);
	CHECK_EQ(iommu_map(&mock_blocked, 0, 0, SZ_4K, IOMMU_READ), -EINVAL);
	CHECK_EQ(iommu_map(dom, 0, 0, 0, IOMMU_READ), -EINVAL);
	CHECK_EQ(iommu_map(dom, 0x800, 0, SZ_4K, IOMMU_READ), -EINVAL);
	CHECK_EQ(iommu_map(dom, 0, 0x800, SZ_4K, IOMMU_READ), -EINVAL);
	CHECK_EQ(iommu_map(dom, 0, 0, 0x1800, IOMMU_READ), -EINVAL);
	CHECK_EQ(iommu_map(dom, 0, 0, SZ_4K, 1u << 9), -EINVAL);
	/* the aperture is 48 bits: the last page fits, one more does not, nor a wrap */
	CHECK_EQ(iommu_map(dom, (1ull << 48) - SZ_4K, 0, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(iommu_unmap(dom, (1ull << 48) - SZ_4K, SZ_4K), (ssize_t)SZ_4K);
	CHECK_EQ(iommu_map(dom, (1ull << 48) - SZ_4K, 0, 2 * SZ_4K, IOMMU_READ), -ERANGE);
	CHECK_EQ(iommu_map(dom, 1ull << 48, 0, SZ_4K, IOMMU_READ), -ERANGE);
	CHECK_EQ(iommu_map(dom, ~0xfffull, 0, 2 * SZ_4K, IOMMU_READ), -ERANGE);
	CHECK_EQ(iommu_map(&no_map, 0, 0, SZ_4K, IOMMU_READ), -ENODEV);
	CHECK_EQ(iommu_map(&no_sizes, 0, 0, SZ_4K, IOMMU_READ), -ENODEV);
	CHECK_EQ(mi->calls[MOCK_MAP], 1); /* only the good one */

	/* unmap's argument errors */
	mock_clear_log(mi);
	iommu_iotlb_gather_init(&g);
	CHECK_EQ(iommu_unmap(NULL, 0, SZ_4K), -EINVAL);
	CHECK_EQ(iommu_unmap(&mock_identity, 0, SZ_4K), -EINVAL);
	CHECK_EQ(iommu_unmap(dom, 0, 0), -EINVAL);
	CHECK_EQ(iommu_unmap(dom, 0x800, SZ_4K), -EINVAL);
	CHECK_EQ(iommu_unmap(dom, 1ull << 48, SZ_4K), -ERANGE);
	CHECK_EQ(iommu_unmap_fast(dom, 0, SZ_4K, NULL), -EINVAL);
	CHECK_EQ(iommu_unmap_fast(&no_map, 0, SZ_4K, &g), -ENODEV);
	CHECK_EQ(iommu_unmap_fast(&no_map, 0, 1ull << 63, &g), -EINVAL); /* > SSIZE_MAX */
	CHECK_EQ(mi->calls[MOCK_UNMAP], 0);
	teardown();
}

/* A map that fails part-way leaves nothing of itself, and nothing else is touched. */
static void test_map_rollback(void)
{
	uint64_t pa;

	if (setup())
		return;
	/* the driver runs out of memory on the 3rd page */
	mi->fail_map_after = 3;
	CHECK_EQ(iommu_map(dom, 0x10000, 0x10000, 8 * SZ_4K, IOMMU_READ), -ENOMEM);
	CHECK_EQ(mock_nptes(dom), 0);
	CHECK(mock_last(mi, MOCK_UNMAP) != NULL);
	CHECK_EQ(mi->calls[MOCK_SYNC_MAP], 0);

	/* a conflict in the middle: the pages before it are undone, the old mapping stays */
	CHECK_EQ(iommu_map(dom, 0x13000, 0x99000, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(iommu_map(dom, 0x10000, 0x10000, 8 * SZ_4K, IOMMU_READ), -EEXIST);
	CHECK_EQ(mock_nptes(dom), 1);
	CHECK_EQ(iommu_iova_to_phys(dom, 0x13000, &pa), 0);
	CHECK_EQ(pa, 0x99000);
	CHECK_EQ(iommu_iova_to_phys(dom, 0x10000, &pa), -ENOENT);

	/* iotlb_sync_map fails: the whole range goes again */
	mi->fail_sync_map = -EIO;
	CHECK_EQ(iommu_map(dom, 0x400000, 0x400000, SZ_2M + SZ_4K, IOMMU_READ), -EIO);
	CHECK_EQ(mock_nptes(dom), 1);
	CHECK(mock_last(mi, MOCK_SYNC_MAP)->iova == 0x400000);
	CHECK(mock_last(mi, MOCK_SYNC_MAP)->pgsize == SZ_2M + SZ_4K);

	/* a driver that reports success without progress is caught, not looped on */
	mi->map_no_progress = true;
	CHECK_EQ(iommu_map(dom, 0x800000, 0x800000, SZ_4K, IOMMU_READ), -EIO);
	mi->map_no_progress = false;
	/* ... and so is one that claims more than it was asked to map, single page or run */
	mi->map_overclaim = true;
	CHECK_EQ(iommu_map(dom, 0x800000, 0x800000, SZ_4K, IOMMU_READ), -EIO);
	CHECK_EQ(iommu_map(dom, 0x900000, 0x900000, 2 * SZ_4K, IOMMU_READ), -EIO);
	mi->map_overclaim = false;
	/* the core could not trust the claim, so it undid nothing: the caller cleans up */
	CHECK_EQ(iommu_unmap(dom, 0x800000, SZ_4K), (ssize_t)SZ_4K);
	CHECK_EQ(iommu_unmap(dom, 0x900000, 2 * SZ_4K), (ssize_t)(2 * SZ_4K));
	CHECK_EQ(iommu_unmap(dom, 0x13000, SZ_4K), (ssize_t)SZ_4K);
	teardown();
}

/*
 * One page of the smallest size, which iommu_map() takes apart from longer ranges: the same
 * single driver call, sync_map, undo and errors as any map, whatever the smallest size.
 */
static void test_map_one_page(void)
{
	struct iommu_domain huge = {.type = IOMMU_DOMAIN_PAGING,
				    .ops = &mock_paging_ops,
				    .pgsize_bitmap = 1ull << 63,
				    .aperture_end = ~0ull};
	struct iommu_iotlb_gather g;
	const struct mock_call *c;
	uint64_t pa;

	if (setup())
		return;
	CHECK_EQ(iommu_map(dom, 0x10000, 0x20000, SZ_4K, IOMMU_READ | IOMMU_WRITE), 0);
	CHECK_EQ(mi->calls[MOCK_MAP], 1);
	c = mock_last(mi, MOCK_MAP);
	CHECK(c->iova == 0x10000 && c->paddr == 0x20000 && c->pgsize == SZ_4K && c->count == 1);
	c = mock_last(mi, MOCK_SYNC_MAP);
	CHECK(c && c->iova == 0x10000 && c->pgsize == SZ_4K);
	CHECK_EQ(iommu_iova_to_phys(dom, 0x10008, &pa), 0);
	CHECK_EQ(pa, 0x20008);
	/* The driver fails: nothing to undo, no sync_map. */
	mi->fail_map_after = 1;
	CHECK_EQ(iommu_map(dom, 0x30000, 0x30000, SZ_4K, IOMMU_READ), -ENOMEM);
	CHECK_EQ(iommu_map(dom, 0x10000, 0x50000, SZ_4K, IOMMU_READ), -EEXIST);
	CHECK_EQ(mi->calls[MOCK_SYNC_MAP], 1);
	CHECK_EQ(mi->calls[MOCK_UNMAP], 0);
	CHECK_EQ(iommu_iova_to_phys(dom, 0x10000, &pa), 0);
	CHECK_EQ(pa, 0x20000);
	/* sync_map fails: the page goes again. */
	mi->fail_sync_map = -EIO;
	CHECK_EQ(iommu_map(dom, 0x30000, 0x30000, SZ_4K, IOMMU_READ), -EIO);
	CHECK_EQ(iommu_iova_to_phys(dom, 0x30000, &pa), -ENOENT);
	c = mock_last(mi, MOCK_UNMAP);
	CHECK(c && c->iova == 0x30000 && c->paddr == SZ_4K);
	CHECK_EQ(mock_nptes(dom), 1);
	/* An aperture that does not start at 0 is checked on this path too. */
	dom->aperture_start = 0x100000;
	CHECK_EQ(iommu_map(dom, 0xff000, 0xff000, SZ_4K, IOMMU_READ), -ERANGE);
	CHECK_EQ(iommu_map(dom, 0x100000, 0x100000, SZ_4K, IOMMU_READ), 0);
	dom->aperture_start = 0;
	CHECK_EQ(iommu_unmap(dom, 0x100000, SZ_4K), (ssize_t)SZ_4K);
	/* Unmap of one page: the driver's answer as it is, the same argument errors. */
	iommu_iotlb_gather_init(&g);
	CHECK_EQ(iommu_unmap_fast(dom, 0x10000, SZ_4K, &g), (ssize_t)SZ_4K);
	CHECK(g.start == 0x10000 && g.end == 0x10fff);
	CHECK_EQ(iommu_unmap_fast(dom, 0x10000, SZ_4K, &g), 0);
	iommu_iotlb_sync(dom, &g);
	dom->aperture_start = 0x100000;
	CHECK_EQ(iommu_unmap(dom, 0xff000, SZ_4K), -ERANGE);
	dom->aperture_start = 0;
	CHECK_EQ(iommu_unmap(dom, 0x10800, SZ_4K), -EINVAL);
	CHECK_EQ(iommu_unmap_fast(dom, 0x10000, SZ_4K, NULL), -EINVAL);
	/* A smallest page above SSIZE_MAX cannot be unmapped (the size would not fit). */
	CHECK_EQ(iommu_unmap_fast(&huge, 0, 1ull << 63, &g), -EINVAL);
	CHECK_EQ(iommu_unmap(&huge, 0, 1ull << 63), -EINVAL);
	teardown();

	/* Smallest page 2M: one 2M page is the case; 4K and misaligned ones are refused. */
	if (setup_pgsizes(SZ_2M | SZ_1G))
		return;
	CHECK_EQ(iommu_map(dom, SZ_2M, 0, SZ_4K, IOMMU_READ), -EINVAL);
	CHECK_EQ(iommu_map(dom, SZ_2M, SZ_4K, SZ_2M, IOMMU_READ), -EINVAL);
	CHECK_EQ(iommu_map(dom, SZ_2M + SZ_4K, 0, SZ_2M, IOMMU_READ), -EINVAL);
	CHECK_EQ(mi->calls[MOCK_MAP], 0);
	CHECK_EQ(iommu_map(dom, SZ_2M, 4 * SZ_2M, SZ_2M, IOMMU_READ), 0);
	c = mock_last(mi, MOCK_MAP);
	CHECK(c->iova == SZ_2M && c->paddr == 4 * SZ_2M && c->pgsize == SZ_2M && c->count == 1);
	CHECK_EQ(iommu_iova_to_phys(dom, SZ_2M + 0x123, &pa), 0);
	CHECK_EQ(pa, 4 * SZ_2M + 0x123);
	CHECK_EQ(iommu_unmap(dom, SZ_2M, SZ_2M), (ssize_t)SZ_2M);
	teardown();
}

/* Unmap stops at the first hole and reports what it did. */
static void test_unmap_holes(void)
{
	if (setup())
		return;
	CHECK_EQ(iommu_unmap(dom, 0x10000, SZ_4K), 0);
	CHECK_EQ(iommu_map(dom, 0x10000, 0x10000, 2 * SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(iommu_map(dom, 0x13000, 0x13000, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(iommu_unmap(dom, 0x10000, 4 * SZ_4K), (ssize_t)(2 * SZ_4K));
	CHECK_EQ(mock_nptes(dom), 1);
	CHECK_EQ(iommu_unmap(dom, 0x13000, SZ_4K), (ssize_t)SZ_4K);
	/* A 2M page unmapped through a 4K request goes whole; the size says so. */
	CHECK_EQ(iommu_map(dom, SZ_2M, SZ_2M, SZ_2M, IOMMU_READ), 0);
	CHECK_EQ(iommu_unmap(dom, SZ_2M, SZ_4K), (ssize_t)SZ_2M);
	CHECK_EQ(mock_nptes(dom), 0);
	teardown();
}

/* Two unmap_fast calls into one gather, one sync covering both. */
static void test_gather_accumulates(void)
{
	struct iommu_iotlb_gather g;
	const struct mock_call *c;

	if (setup())
		return;
	CHECK_EQ(iommu_map(dom, 0x10000, 0x10000, 16 * SZ_4K, IOMMU_READ), 0);
	mock_clear_log(mi);
	iommu_iotlb_gather_init(&g);
	CHECK(iommu_iotlb_gather_empty(&g));
	CHECK_EQ(iommu_unmap_fast(dom, 0x10000, 4 * SZ_4K, &g), (ssize_t)(4 * SZ_4K));
	CHECK_EQ(iommu_unmap_fast(dom, 0x14000, 4 * SZ_4K, &g), (ssize_t)(4 * SZ_4K));
	CHECK_EQ(mi->calls[MOCK_SYNC], 0);
	CHECK_EQ(g.start, 0x10000);
	CHECK_EQ(g.end, 0x17fff);
	CHECK_EQ(g.pgsize, SZ_4K);
	iommu_iotlb_sync(dom, &g);
	CHECK_EQ(mi->calls[MOCK_SYNC], 1);
	c = mock_last(mi, MOCK_SYNC);
	CHECK(c->iova == 0x10000 && c->paddr == 0x17fff && c->pgsize == SZ_4K);
	/* the gather is ready for the next batch; an empty sync does not reach the driver */
	CHECK(iommu_iotlb_gather_empty(&g));
	iommu_iotlb_sync(dom, &g);
	iommu_iotlb_sync(NULL, &g);
	iommu_iotlb_sync(dom, NULL);
	CHECK_EQ(mi->calls[MOCK_SYNC], 1);
	CHECK_EQ(iommu_unmap(dom, 0x18000, 8 * SZ_4K), (ssize_t)(8 * SZ_4K));
	teardown();
}

/* add_page flushes early when the next page is disjoint or of another size. */
static void test_gather_add_page(void)
{
	struct iommu_iotlb_gather g;
	const struct mock_call *c;

	if (setup())
		return;
	CHECK_EQ(iommu_map(dom, 0x10000, 0x10000, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(iommu_map(dom, 0x30000, 0x30000, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(iommu_map(dom, SZ_2M, SZ_2M, SZ_2M, IOMMU_READ), 0);
	CHECK_EQ(iommu_map(dom, 2 * SZ_2M, 2 * SZ_2M, SZ_4K, IOMMU_READ), 0);
	mock_clear_log(mi);
	iommu_iotlb_gather_init(&g);
	CHECK_EQ(iommu_unmap_fast(dom, 0x10000, SZ_4K, &g), (ssize_t)SZ_4K);
	CHECK_EQ(iommu_unmap_fast(dom, 0x30000, SZ_4K, &g), (ssize_t)SZ_4K); /* disjoint */
	CHECK_EQ(mi->calls[MOCK_SYNC], 1);
	c = mock_last(mi, MOCK_SYNC);
	CHECK(c->iova == 0x10000 && c->paddr == 0x10fff);
	CHECK_EQ(iommu_unmap_fast(dom, SZ_2M, SZ_2M, &g), (ssize_t)SZ_2M); /* other size */
	CHECK_EQ(mi->calls[MOCK_SYNC], 2);
	CHECK(mock_last(mi, MOCK_SYNC)->iova == 0x30000);
	CHECK_EQ(iommu_unmap_fast(dom, 2 * SZ_2M, SZ_4K, &g), (ssize_t)SZ_4K); /* size again */
	CHECK_EQ(mi->calls[MOCK_SYNC], 3);
	c = mock_last(mi, MOCK_SYNC);
	CHECK(c->iova == SZ_2M && c->paddr == 2 * SZ_2M - 1 && c->pgsize == SZ_2M);
	iommu_iotlb_sync(dom, &g);
	CHECK_EQ(mi->calls[MOCK_SYNC], 4);
	teardown();
}

/* Table pages freed by an unmap go back to the allocator only after the flush. */
static void test_freed_tables_after_sync(void)
{
	struct iommu_iotlb_gather g;
	uint64_t base;

	if (setup())
		return;
	base = mem_alloc_in_use(mi->alloc);
	CHECK_EQ(iommu_map(dom, 0x10000, 0x10000, 2 * SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(mem_alloc_in_use(mi->alloc), base + 1);
	iommu_iotlb_gather_init(&g);
	CHECK_EQ(iommu_unmap_fast(dom, 0x10000, SZ_4K, &g), (ssize_t)SZ_4K);
	CHECK(iommu_pages_list_empty(&g.freelist)); /* the table still holds a page */
	CHECK_EQ(iommu_unmap_fast(dom, 0x11000, SZ_4K, &g), (ssize_t)SZ_4K);
	CHECK_EQ(g.freelist.count, 1);
	CHECK_EQ(mem_alloc_in_use(mi->alloc), base + 1); /* not before the flush */
	iommu_iotlb_sync(dom, &g);
	CHECK_EQ(mock_last(mi, MOCK_SYNC)->count, 1); /* the driver saw the freed page */
	CHECK_EQ(mem_alloc_in_use(mi->alloc), base);
	CHECK(iommu_pages_list_empty(&g.freelist));
	teardown();
}

/*
 * A table page freed by an unmap that also forced an early flush (disjoint range) stays
 * on the list until the flush of its own range, not the early one.
 */
static void test_freed_table_waits_for_its_flush(void)
{
	struct iommu_iotlb_gather g;
	uint64_t base;

	if (setup())
		return;
	CHECK_EQ(iommu_map(dom, 0x10000, 0x10000, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(iommu_map(dom, 0x10000000, 0x10000000, SZ_4K, IOMMU_READ), 0);
	base = mem_alloc_in_use(mi->alloc);
	iommu_iotlb_gather_init(&g);
	CHECK_EQ(iommu_unmap_fast(dom, 0x10000, SZ_4K, &g), (ssize_t)SZ_4K);
	CHECK_EQ(mem_alloc_in_use(mi->alloc), base);
	/* disjoint: the first batch (and its table page) is flushed and released early */
	CHECK_EQ(iommu_unmap_fast(dom, 0x10000000, SZ_4K, &g), (ssize_t)SZ_4K);
	CHECK_EQ(mi->calls[MOCK_SYNC], 1);
	CHECK_EQ(mock_last(mi, MOCK_SYNC)->count, 1);
	CHECK_EQ(mem_alloc_in_use(mi->alloc), base - 1);
	/* the second table page waits for the second flush */
	CHECK_EQ(g.freelist.count, 1);
	CHECK_EQ(g.start, 0x10000000);
	iommu_iotlb_sync(dom, &g);
	CHECK_EQ(mem_alloc_in_use(mi->alloc), base - 2);
	teardown();
}

/*
 * A queued gather (the DMA layer's lazy mode): the driver records no range, the freed
 * pages move to a flush-queue entry, and a flush_iotlb_all releases them.
 */
static void test_gather_queued(void)
{
	struct iommu_pages_list fq_entry = IOMMU_PAGES_LIST_INIT;
	struct iommu_iotlb_gather g;

	if (setup())
		return;
	CHECK_EQ(iommu_map(dom, 0x10000, 0x10000, SZ_4K, IOMMU_READ), 0);
	iommu_iotlb_gather_init(&g);
	g.queued = true;
	CHECK_EQ(iommu_unmap_fast(dom, 0x10000, SZ_4K, &g), (ssize_t)SZ_4K);
	CHECK(g.start > g.end);
	CHECK_EQ(g.freelist.count, 1);
	CHECK_EQ(iommu_pages_list_move(&fq_entry, &g.freelist), 0);
	CHECK(iommu_pages_list_empty(&g.freelist));
	CHECK_EQ(mem_alloc_in_use(mi->alloc), 1);
	iommu_flush_iotlb_all(dom);
	CHECK_EQ(mi->calls[MOCK_FLUSH_ALL], 1);
	CHECK_EQ(iommu_put_pages_list(&fq_entry), 0);
	CHECK_EQ(mem_alloc_in_use(mi->alloc), 0);
	/* sync keeps the queued flag for the next batch */
	iommu_iotlb_sync(dom, &g);
	CHECK(g.queued);
	/* flush_iotlb_all is a no-op for non-paging domains */
	iommu_flush_iotlb_all(&mock_identity);
	iommu_flush_iotlb_all(NULL);
	CHECK_EQ(mi->calls[MOCK_FLUSH_ALL], 1);
	teardown();
}

static void test_pages_list(void)
{
	struct iommu_pages_list a = IOMMU_PAGES_LIST_INIT, b = IOMMU_PAGES_LIST_INIT;
	struct mem_alloc *other;
	uint64_t pa[20];

	if (setup())
		return;
	CHECK_EQ(mem_alloc_create(mi->mem, 0, 1ull << 20, &other), 0);
	CHECK_EQ(iommu_pages_list_add(&a, NULL, 0), -EINVAL);
	for (int i = 0; i < 20; i++) {
		CHECK_EQ(mem_alloc_page(mi->alloc, &pa[i]), 0);
		CHECK_EQ(iommu_pages_list_add(&a, mi->alloc, pa[i]), 0);
	}
	CHECK_EQ(a.count, 20);
	CHECK_EQ(iommu_pages_list_add(&a, other, 0), -EINVAL);
	CHECK_EQ(iommu_pages_list_add(&b, mi->alloc, pa[0]), 0);
	CHECK_EQ(iommu_pages_list_move(&b, &a), -EINVAL); /* b is not empty */
	CHECK_EQ(b.count, 1);
	b.count = 0; /* forget the duplicate entry */
	CHECK_EQ(iommu_pages_list_move(&b, &a), 0);
	CHECK(iommu_pages_list_empty(&a));
	CHECK_EQ(b.count, 20);
	CHECK_EQ(mem_alloc_in_use(mi->alloc), 20);
	CHECK_EQ(iommu_put_pages_list(&b), 0);
	CHECK_EQ(mem_alloc_in_use(mi->alloc), 0);
	/* a page the allocator does not know is refused and counted, not a crash */
	CHECK_EQ(iommu_pages_list_add(&a, mi->alloc, 0x123000), 0);
	CHECK_EQ(iommu_put_pages_list(&a), 1);
	CHECK_EQ(iommu_put_pages_list(&a), 0);
	CHECK_EQ(iommu_put_pages_list(NULL), 0);
	mem_alloc_destroy(other);
	teardown();
}

static void test_gather_helpers(void)
{
	struct iommu_iotlb_gather g;

	iommu_iotlb_gather_init(&g);
	CHECK(iommu_iotlb_gather_empty(&g));
	CHECK(!iommu_iotlb_gather_is_disjoint(&g, 0x5000, SZ_4K)); /* empty: nothing to split */
	iommu_iotlb_gather_add_range(&g, 0x5000, SZ_4K);
	CHECK_EQ(g.start, 0x5000);
	CHECK_EQ(g.end, 0x5fff);
	CHECK(!iommu_iotlb_gather_is_disjoint(&g, 0x6000, SZ_4K)); /* touching */
	CHECK(!iommu_iotlb_gather_is_disjoint(&g, 0x4000, SZ_4K));
	CHECK(!iommu_iotlb_gather_is_disjoint(&g, 0x5000, SZ_4K)); /* overlapping */
	CHECK(iommu_iotlb_gather_is_disjoint(&g, 0x7000, SZ_4K));
	CHECK(iommu_iotlb_gather_is_disjoint(&g, 0x3000, SZ_4K));
	iommu_iotlb_gather_add_range(&g, 0x1000, SZ_4K);
	CHECK_EQ(g.start, 0x1000);
	CHECK_EQ(g.end, 0x5fff);
	/* the ends of the 64-bit space do not wrap */
	iommu_iotlb_gather_init(&g);
	iommu_iotlb_gather_add_range(&g, 0, SZ_4K);
	CHECK(!iommu_iotlb_gather_is_disjoint(&g, 0, SZ_4K));
	CHECK(iommu_iotlb_gather_is_disjoint(&g, ~0xfffull, SZ_4K));
	iommu_iotlb_gather_init(&g);
	iommu_iotlb_gather_add_range(&g, ~0xfffull, SZ_4K);
	CHECK_EQ(g.end, ~0ull);
	CHECK(!iommu_iotlb_gather_is_disjoint(&g, ~0x1fffull, SZ_4K));
	CHECK(iommu_iotlb_gather_is_disjoint(&g, 0, SZ_4K));
}

static void test_iova_to_phys(void)
{
	static const struct iommu_domain_ops bare_ops = {.free = mock_domain_free};
	struct iommu_domain bare = {
	    .type = IOMMU_DOMAIN_PAGING, .ops = &bare_ops, .pgsize_bitmap = SZ_4K};
	uint64_t pa = 0;

	if (setup())
		return;
	CHECK_EQ(iommu_iova_to_phys(&mock_identity, 0x1234567, &pa), 0);
	CHECK_EQ(pa, 0x1234567);
	CHECK_EQ(iommu_iova_to_phys(&mock_blocked, 0x1000, &pa), -ENOENT);
	CHECK_EQ(iommu_iova_to_phys(dom, 0x1000, &pa), -ENOENT);
	CHECK_EQ(iommu_iova_to_phys(NULL, 0x1000, &pa), -EINVAL);
	CHECK_EQ(iommu_iova_to_phys(dom, 0x1000, NULL), -EINVAL);
	CHECK_EQ(iommu_iova_to_phys(&bare, 0x1000, &pa), -EOPNOTSUPP);
	/* PA 0 is a valid answer, which is why the result is not the return value */
	CHECK_EQ(iommu_map(dom, 0x1000, 0, SZ_4K, IOMMU_READ), 0);
	pa = 1;
	CHECK_EQ(iommu_iova_to_phys(dom, 0x1abc, &pa), 0);
	CHECK_EQ(pa, 0xabc);
	CHECK_EQ(iommu_unmap(dom, 0x1000, SZ_4K), (ssize_t)SZ_4K);
	teardown();
}

int main(void)
{
	RUN(test_map_split);
	RUN(test_map_split_4k_only);
	RUN(test_unmap_split);
	RUN(test_map_errors);
	RUN(test_map_rollback);
	RUN(test_map_one_page);
	RUN(test_unmap_holes);
	RUN(test_gather_accumulates);
	RUN(test_gather_add_page);
	RUN(test_freed_tables_after_sync);
	RUN(test_freed_table_waits_for_its_flush);
	RUN(test_gather_queued);
	RUN(test_pages_list);
	RUN(test_gather_helpers);
	RUN(test_iova_to_phys);
	return CHECK_DONE();
}
