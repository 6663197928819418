// SPDX-License-Identifier: MIT
/*
 * DMA API: handles, single and page mappings, coherent buffers, directions, the IOVA
 * space's shape, and every argument error, against the mock driver (dma_mock.h).
 */
#include "check.h"
#include "dma/dma_mock.h"

static uint64_t buf_alloc(struct dmock_sys *s, unsigned order)
{
	uint64_t pa = 0;

	if (mem_alloc_pages(s->pages, order, &pa))
		return UINT64_MAX;
	return pa;
}

static void t_direct_mode(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_IDENTITY};
	struct dmock_sys s;
	uint64_t pa, out;
	dma_addr_t a;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_dev_mode(s.dma), DMA_MODE_DIRECT);
	CHECK(dma_dev_iommu(s.dma) == s.idev);
	CHECK(dma_dev_domain(s.dma) == iommu_get_default_domain(s.idev));
	pa = buf_alloc(&s, 0);
	a = dma_map_single(s.dma, pa + 0x10, 0x100, DMA_FROM_DEVICE);
	CHECK_EQ(a, pa + 0x10);
	CHECK_EQ(dma_mapping_error(s.dma, a), 0);
	CHECK_EQ(dmock_translate(s.idev, IOMMU_NO_PASID, a, true, &out), 0);
	CHECK_EQ(out, pa + 0x10);
	CHECK_EQ(atomic_load(&s.u->maps), 0); /* nothing to map in pass-through */
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x100, DMA_FROM_DEVICE), 0);
	CHECK_EQ(dma_map_page(s.dma, pa, 0x20, 0x10, DMA_TO_DEVICE), pa + 0x20);
	CHECK_EQ(dma_unmap_page(s.dma, pa + 0x20, 0x10, DMA_TO_DEVICE), 0);
	mem_free_page(s.pages, pa);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* The direct mode has no bounce buffers: above the DMA mask is an error. */
static void t_direct_mask(void)
{
	struct dmock_opts o = {
	    .type = IOMMU_DOMAIN_IDENTITY, .mem_size = 8ull << 30, .cfg = {.dma_mask_bits = 32}};
	struct dmock_sys s;
	struct dma_sg sg[1] = {{.phys = 5ull << 30, .length = 0x1000}};
	dma_addr_t a;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	a = dma_map_single(s.dma, 5ull << 30, 0x1000, DMA_TO_DEVICE);
	CHECK_EQ(a, DMA_MAPPING_ERROR);
	CHECK_EQ(dma_mapping_error(s.dma, a), -ERANGE);
	/* The last byte below 4 GiB is fine, one more is not. */
	a = dma_map_single(s.dma, (1ull << 32) - 0x10, 0x10, DMA_TO_DEVICE);
	CHECK_EQ(a, (1ull << 32) - 0x10);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x10, DMA_TO_DEVICE), 0);
	a = dma_map_single(s.dma, (1ull << 32) - 0x10, 0x11, DMA_TO_DEVICE);
	CHECK_EQ(dma_mapping_error(s.dma, a), -ERANGE);
	CHECK_EQ(dma_map_sg(s.dma, sg, 1, DMA_TO_DEVICE), -ERANGE);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* Strict: the IOVA keeps the offset, the table says where, and the unmap flushes. */
static void t_strict_map_unmap(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA};
	struct dmock_sys s;
	struct dma_stats st;
	uint64_t pa, out;
	dma_addr_t a;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_dev_mode(s.dma), DMA_MODE_STRICT);
	pa = buf_alloc(&s, 0);
	a = dma_map_single(s.dma, pa + 0x123, 0x100, DMA_TO_DEVICE);
	CHECK(a != DMA_MAPPING_ERROR);
	CHECK_EQ(a & 0xfff, 0x123);
	CHECK(a != 0 && a < (1ull << 32)); /* 32-bit IOVAs first, as Linux for PCI */
	CHECK(a < 0xfee00000 || a > 0xfeefffff);
	CHECK_EQ(iommu_iova_to_phys(dma_dev_domain(s.dma), a, &out), 0);
	CHECK_EQ(out, pa + 0x123);
	CHECK_EQ(atomic_load(&s.u->last_prot), IOMMU_READ);
	CHECK_EQ(dmock_translate(s.idev, IOMMU_NO_PASID, a, false, &out), 0);
	CHECK_EQ(out, pa + 0x123);
	CHECK(dmock_translate(s.idev, IOMMU_NO_PASID, a, true, &out) == -EFAULT);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x100, DMA_TO_DEVICE), 0);
	CHECK_EQ(atomic_load(&s.u->syncs), 1);
	CHECK_EQ(atomic_load(&s.u->flush_alls), 0);
	/* The flush dropped the IOTLB entry the device had: no stale hit. */
	CHECK(dmock_translate(s.idev, IOMMU_NO_PASID, a, false, &out) == -EFAULT);
	CHECK_EQ(atomic_load(&s.u->stale_hits), 0);
	CHECK_EQ(dma_get_stats(s.dma, &st), 0);
	CHECK_EQ(st.maps, 1);
	CHECK_EQ(st.unmaps, 1);
	CHECK_EQ(st.live, 0);
	CHECK_EQ(st.syncs, 1);
	CHECK_EQ(st.fq_queued, 0);
	mem_free_page(s.pages, pa);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

static void t_directions(void)
{
	static const struct {
		enum dma_data_direction dir;
		unsigned prot;
	} cases[] = {{DMA_TO_DEVICE, IOMMU_READ},
		     {DMA_FROM_DEVICE, IOMMU_WRITE},
		     {DMA_BIDIRECTIONAL, IOMMU_READ | IOMMU_WRITE}};
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA};
	struct dmock_sys s;
	uint64_t pa, out;

	for (int coherent = 0; coherent < 2; coherent++) {
		CHECK_EQ(dmock_sys_init(&s, &o), 0);
		/* The capability is read at dma_dev_create: make a new handle after setting it. */
		CHECK_EQ(dma_dev_destroy(s.dma), 0);
		s.u->coherent = coherent;
		CHECK_EQ(
		    dma_dev_create(&(struct dma_dev_config){.dev = s.idev, .mem = s.mem}, &s.dma),
		    0);
		pa = buf_alloc(&s, 0);
		for (unsigned i = 0; i < 3; i++) {
			dma_addr_t a = dma_map_single(s.dma, pa, 0x1000, cases[i].dir);

			CHECK(a != DMA_MAPPING_ERROR);
			CHECK_EQ(atomic_load(&s.u->last_prot),
				 cases[i].prot | (coherent ? IOMMU_CACHE : 0));
			CHECK_EQ(dmock_translate(s.idev, 0, a, false, &out) == 0,
				 (cases[i].prot & IOMMU_READ) != 0);
			CHECK_EQ(dmock_translate(s.idev, 0, a, true, &out) == 0,
				 (cases[i].prot & IOMMU_WRITE) != 0);
			CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, cases[i].dir), 0);
		}
		mem_free_page(s.pages, pa);
		CHECK_EQ(dmock_sys_fini(&s), 0);
	}
}

/* A buffer crossing a page boundary gets both pages; every byte translates. */
static void t_multi_page(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA};
	struct dmock_sys s;
	uint64_t pa, out;
	dma_addr_t a;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	pa = buf_alloc(&s, 2);
	a = dma_map_single(s.dma, pa + 0xff0, 0x2020, DMA_BIDIRECTIONAL);
	CHECK(a != DMA_MAPPING_ERROR);
	CHECK_EQ(a & 0xfff, 0xff0);
	for (uint64_t off = 0; off < 0x2020; off += 0x10) {
		CHECK_EQ(dmock_translate(s.idev, 0, a + off, true, &out), 0);
		CHECK_EQ(out, pa + 0xff0 + off);
	}
	/* Bytes 0xff0..0x300f of the buffer: its pages 0 to 3. */
	CHECK_EQ(dmock_dom(dma_dev_domain(s.dma))->ptes.n, 4);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x2020, DMA_BIDIRECTIONAL), 0);
	CHECK_EQ(dmock_dom(dma_dev_domain(s.dma))->ptes.n, 0);
	/* dma_map_page is dma_map_single of page + offset. */
	a = dma_map_page(s.dma, pa, 0x3fff, 2, DMA_TO_DEVICE);
	CHECK_EQ(a & 0xfff, 0xfff);
	CHECK_EQ(dmock_translate(s.idev, 0, a + 1, false, &out), 0);
	CHECK_EQ(out, pa + 0x4000);
	CHECK_EQ(dmock_dom(dma_dev_domain(s.dma))->ptes.n, 2);
	mem_free_pages(s.pages, pa, 2);
	CHECK_EQ(dmock_sys_fini(&s), -EBUSY); /* the dma_map_page above was never unmapped */
}

static void t_map_errors(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA};
	struct dmock_sys s;
	struct dma_stats st;
	dma_addr_t a;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	a = dma_map_single(NULL, 0x1000, 0x10, DMA_TO_DEVICE);
	CHECK_EQ(a, DMA_MAPPING_ERROR);
	CHECK_EQ(dma_mapping_error(NULL, a), -EINVAL);
	CHECK_EQ(dma_mapping_error(s.dma, dma_map_single(s.dma, 0x1000, 0, DMA_TO_DEVICE)),
		 -EINVAL);
	CHECK_EQ(dma_mapping_error(s.dma, dma_map_single(s.dma, 0x1000, 0x10, DMA_NONE)), -EINVAL);
	CHECK_EQ(dma_mapping_error(s.dma,
				   dma_map_single(s.dma, 0x1000, 0x10, (enum dma_data_direction)9)),
		 -EINVAL);
	/* Outside memory, at the end, and wrapping around. */
	CHECK_EQ(dma_mapping_error(s.dma, dma_map_single(s.dma, 256ull << 20, 1, DMA_TO_DEVICE)),
		 -EFAULT);
	CHECK_EQ(
	    dma_mapping_error(s.dma, dma_map_single(s.dma, (256ull << 20) - 8, 9, DMA_TO_DEVICE)),
	    -EFAULT);
	CHECK_EQ(dma_mapping_error(s.dma, dma_map_single(s.dma, ~0ull - 4, 16, DMA_TO_DEVICE)),
		 -EFAULT);
	CHECK_EQ(dma_mapping_error(s.dma, dma_map_page(s.dma, ~0ull - 4, 16, 1, DMA_TO_DEVICE)),
		 -EFAULT);
	/* A good address is not an error, even after failures. */
	a = dma_map_single(s.dma, 0x1000, 0x10, DMA_TO_DEVICE);
	CHECK_EQ(dma_mapping_error(s.dma, a), 0);
	CHECK_EQ(dma_get_stats(s.dma, &st), 0);
	CHECK_EQ(st.map_errors, 7); /* all but the one without a device */
	CHECK_EQ(st.maps, 1);
	/* Unmap argument errors change nothing. */
	CHECK_EQ(dma_unmap_single(NULL, a, 0x10, DMA_TO_DEVICE), -EINVAL);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0, DMA_TO_DEVICE), -EINVAL);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x10, DMA_NONE), -EINVAL);
	CHECK_EQ(dmock_dom(dma_dev_domain(s.dma))->ptes.n, 1);
	/* Nothing mapped there: -ENOENT, no flush. */
	CHECK_EQ(dma_unmap_single(s.dma, a + 0x10000, 0x10, DMA_TO_DEVICE), -ENOENT);
	CHECK_EQ(dma_unmap_single(s.dma, ~0ull - 0x100, 0x10, DMA_TO_DEVICE), -ENOENT);
	CHECK_EQ(dma_unmap_single(s.dma, ~0ull - 0x8, 0x10, DMA_TO_DEVICE), -ENOENT);
	CHECK_EQ(atomic_load(&s.u->syncs), 0);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x10, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_get_stats(NULL, &st), -EINVAL);
	CHECK_EQ(dma_get_stats(s.dma, NULL), -EINVAL);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* A map the driver fails halfway leaves no page-table entry and no IOVA behind. */
static void t_map_failure_leaves_nothing(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA, .cfg = {.forcedac = true}};
	struct dmock_sys s;
	uint64_t pa;
	dma_addr_t a, b;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	pa = buf_alloc(&s, 2);
	s.u->fail_map_after = 3; /* the third page of the next map */
	a = dma_map_single(s.dma, pa, 0x4000, DMA_TO_DEVICE);
	CHECK_EQ(a, DMA_MAPPING_ERROR);
	CHECK_EQ(dma_mapping_error(s.dma, a), -ENOMEM);
	CHECK_EQ(dmock_dom(dma_dev_domain(s.dma))->ptes.n, 0);
	CHECK_EQ(mem_alloc_in_use(s.u->tables), 0);
	/* The IOVA went back: the same request gets the same range (top-down, size-aligned). */
	b = dma_map_single(s.dma, pa, 0x4000, DMA_TO_DEVICE);
	CHECK(b != DMA_MAPPING_ERROR);
	CHECK_EQ(atomic_load(&s.u->reuse_before_flush), 0);
	CHECK_EQ(dma_unmap_single(s.dma, b, 0x4000, DMA_TO_DEVICE), 0);
	mem_free_pages(s.pages, pa, 2);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* forcedac: IOVAs are taken from the top of the aperture; the default prefers 32 bits. */
static void t_iova_placement(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA, .cfg = {.forcedac = true}};
	struct dmock_sys s;
	dma_addr_t a;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	a = dma_map_single(s.dma, 0x1000, 0x1000, DMA_TO_DEVICE);
	CHECK(a >= (1ull << 32) && a < (1ull << 48));
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);

	/* A 32-bit device never gets an IOVA in the interrupt window. */
	o.cfg = (struct dma_dev_config){.dma_mask_bits = 32};
	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	for (unsigned i = 0; i < 4500; i++) {
		a = dma_map_single(s.dma, 0x1000, 0x1000, DMA_TO_DEVICE);
		CHECK(a != DMA_MAPPING_ERROR);
		CHECK(a < (1ull << 32));
		CHECK(a < 0xfee00000 || a > 0xfeefffff);
	}
	CHECK(a < 0xfee00000); /* it did get past the window */
	CHECK_EQ(dma_dev_destroy(s.dma), -EBUSY);
	s.dma = NULL;
	/* The leaked mappings stay in the domain until the device goes (documented). */
	CHECK_EQ(dmock_dom(iommu_get_default_domain(s.idev))->ptes.n, 4500);
	CHECK_EQ(dmock_sys_fini(&s), 0); /* their table pages went with the domain */
}

static void t_create_errors(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA};
	struct dmock_sys s, other;
	struct dma_dev *d = NULL;
	struct dma_dev_config c;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dmock_sys_init(&other, &o), 0);
	c = (struct dma_dev_config){.dev = s.idev, .mem = s.mem};
	CHECK_EQ(dma_dev_create(NULL, &d), -EINVAL);
	CHECK_EQ(dma_dev_create(&c, NULL), -EINVAL);
	c.dev = NULL;
	CHECK_EQ(dma_dev_create(&c, &d), -EINVAL);
	c.dev = s.idev;
	c.mem = NULL;
	CHECK_EQ(dma_dev_create(&c, &d), -EINVAL);
	c.mem = s.mem;
	c.dma_mask_bits = 65;
	CHECK_EQ(dma_dev_create(&c, &d), -EINVAL);
	c.dma_mask_bits = 0;
	c.fq_size = 65537;
	CHECK_EQ(dma_dev_create(&c, &d), -EINVAL);
	c.fq_size = 0;
	c.alloc = other.pages; /* an allocator of another memory */
	CHECK_EQ(dma_dev_create(&c, &d), -EINVAL);
	c.alloc = NULL;
	/* One handle per default domain: a second would hand out the same IOVAs. */
	CHECK_EQ(dma_dev_create(&c, &d), -EBUSY);
	CHECK(d == NULL);
	/* A mask below the first usable page leaves no IOVA space. */
	CHECK_EQ(dma_dev_destroy(s.dma), 0);
	s.dma = NULL;
	c.dma_mask_bits = 12;
	CHECK_EQ(dma_dev_create(&c, &d), -EINVAL);
	c.dma_mask_bits = 13;
	CHECK_EQ(dma_dev_create(&c, &d), 0);
	CHECK_EQ(dma_mapping_error(d, dma_map_single(d, 0x1000, 0x1000, DMA_TO_DEVICE)), 0);
	CHECK_EQ(dma_mapping_error(d, dma_map_single(d, 0x1000, 0x1000, DMA_TO_DEVICE)), -ENOSPC);
	CHECK_EQ(dma_unmap_single(d, 0x1000, 0x1000, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_dev_destroy(d), 0);
	CHECK_EQ(dma_dev_destroy(NULL), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
	CHECK_EQ(dmock_sys_fini(&other), 0);
}

static void t_coherent(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA};
	struct dmock_sys s;
	uint64_t phys, in_use, out;
	dma_addr_t h;
	uint8_t byte = 0xff;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	in_use = mem_alloc_in_use(s.pages);
	mem_fill(s.mem, 0, 0xa5, 0x10000); /* zeroing is the allocator's: check it holds */
	CHECK_EQ(dma_alloc_coherent(s.dma, 6000, &phys, &h), 0);
	CHECK_EQ(mem_alloc_in_use(s.pages), in_use + 2);
	CHECK_EQ(phys & 0x1fff, 0); /* a naturally aligned run of two pages */
	CHECK_EQ(h & 0xfff, 0);
	CHECK_EQ(mem_read(s.mem, phys + 5999, &byte, 1), 0);
	CHECK_EQ(byte, 0);
	for (uint64_t off = 0; off < 0x2000; off += 0x800) {
		CHECK_EQ(dmock_translate(s.idev, 0, h + off, true, &out), 0);
		CHECK_EQ(out, phys + off);
		CHECK_EQ(dmock_translate(s.idev, 0, h + off, false, &out), 0);
	}
	/* Wrong physical address or handle: refused, nothing changes. */
	CHECK_EQ(dma_free_coherent(s.dma, 6000, phys + 0x1000, h), -EINVAL);
	CHECK_EQ(dma_free_coherent(s.dma, 6000, phys, h + 0x100000), -ENOENT);
	CHECK_EQ(dma_free_coherent(NULL, 6000, phys, h), -EINVAL);
	CHECK_EQ(dma_free_coherent(s.dma, 0, phys, h), -EINVAL);
	CHECK_EQ(mem_alloc_in_use(s.pages), in_use + 2);
	CHECK_EQ(dma_free_coherent(s.dma, 6000, phys, h), 0);
	CHECK_EQ(mem_alloc_in_use(s.pages), in_use);
	CHECK(dmock_translate(s.idev, 0, h, false, &out) == -EFAULT);
	CHECK_EQ(dma_alloc_coherent(NULL, 6000, &phys, &h), -EINVAL);
	CHECK_EQ(dma_alloc_coherent(s.dma, 0, &phys, &h), -EINVAL);
	CHECK_EQ(dma_alloc_coherent(s.dma, 6000, NULL, &h), -EINVAL);
	CHECK_EQ(dma_alloc_coherent(s.dma, 6000, &phys, NULL), -EINVAL);
	CHECK_EQ(dma_alloc_coherent(s.dma, (1ull << 32) + 1, &phys, &h), -EINVAL);
	/* More than the allocator has: -ENOMEM, nothing behind. */
	CHECK_EQ(dma_alloc_coherent(s.dma, 512ull << 20, &phys, &h), -ENOMEM);
	CHECK_EQ(mem_alloc_in_use(s.pages), in_use);
	/* The map fails: the pages go back. */
	s.u->fail_map_after = 1;
	CHECK_EQ(dma_alloc_coherent(s.dma, 4096, &phys, &h), -ENOMEM);
	CHECK_EQ(mem_alloc_in_use(s.pages), in_use);
	/* No allocator: -ENODEV. */
	CHECK_EQ(dma_dev_destroy(s.dma), 0);
	CHECK_EQ(dma_dev_create(&(struct dma_dev_config){.dev = s.idev, .mem = s.mem}, &s.dma), 0);
	CHECK_EQ(dma_alloc_coherent(s.dma, 4096, &phys, &h), -ENODEV);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

static void t_coherent_direct(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_IDENTITY};
	struct dmock_sys s;
	uint64_t phys, in_use;
	dma_addr_t h;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	in_use = mem_alloc_in_use(s.pages);
	CHECK_EQ(dma_alloc_coherent(s.dma, 3 * 4096, &phys, &h), 0);
	CHECK_EQ(h, phys);
	CHECK_EQ(mem_alloc_in_use(s.pages), in_use + 4);
	CHECK_EQ(dma_free_coherent(s.dma, 3 * 4096, phys, h + 1), -EINVAL);
	CHECK_EQ(dma_free_coherent(s.dma, 3 * 4096, phys, h), 0);
	CHECK_EQ(mem_alloc_in_use(s.pages), in_use);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* A default domain the DMA layer cannot use (not identity, not DMA) is refused. */
static void t_create_blocked_default(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA};
	struct dmock_sys s;
	struct iommu_domain *def;
	enum iommu_domain_type saved;
	struct dma_dev *d = NULL;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_dev_destroy(s.dma), 0);
	s.dma = NULL;
	def = iommu_get_default_domain(s.idev);
	saved = def->type;
	def->type = IOMMU_DOMAIN_PAGING;
	CHECK_EQ(dma_dev_create(&(struct dma_dev_config){.dev = s.idev, .mem = s.mem}, &d),
		 -EINVAL);
	def->type = saved;
	CHECK(d == NULL);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

int main(void)
{
	RUN(t_direct_mode);
	RUN(t_direct_mask);
	RUN(t_strict_map_unmap);
	RUN(t_directions);
	RUN(t_multi_page);
	RUN(t_map_errors);
	RUN(t_map_failure_leaves_nothing);
	RUN(t_iova_placement);
	RUN(t_create_errors);
	RUN(t_coherent);
	RUN(t_coherent_direct);
	RUN(t_create_blocked_default);
	return CHECK_DONE();
}
