// SPDX-License-Identifier: MIT
/*
 * Scatter-gather: merging of physically contiguous entries, the one-range IOVA layout
 * and the merging it allows, the segment size limit, errors, and unmapping.
 */
#include "check.h"
#include "dma/dma_mock.h"

#define P(n) (0x1000000ull + (uint64_t)(n)*0x1000) /* page n of a free area */

static size_t nptes(struct dmock_sys *s)
{
	return dmock_dom(dma_dev_domain(s->dma))->ptes.n;
}

/* Every byte of segment `seg` (dma address) must reach `phys`, in 0x80-byte steps. */
static int reaches(struct dmock_sys *s, dma_addr_t dma, uint64_t phys, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += 0x80) {
		uint64_t out;

		CHECK_RET(dmock_translate(s->idev, 0, dma + off, false, &out) == 0);
		CHECK_RET(out == phys + off);
	}
	return 0;
}

static void t_direct_merge(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_IDENTITY};
	struct dmock_sys s;
	struct dma_sg sg[5] = {
	    {.phys = P(0), .length = 0x1000},	     {.phys = P(1), .length = 0x1000},
	    {.phys = P(8), .length = 0x800},	     {.phys = P(8) + 0x800, .length = 0x800},
	    {.phys = P(20) + 0x10, .length = 0x100},
	};

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_map_sg(s.dma, sg, 5, DMA_TO_DEVICE), 3);
	CHECK_EQ(sg[0].dma_address, P(0));
	CHECK_EQ(sg[0].dma_length, 0x2000);
	CHECK_EQ(sg[1].dma_address, P(8));
	CHECK_EQ(sg[1].dma_length, 0x1000);
	CHECK_EQ(sg[2].dma_address, P(20) + 0x10);
	CHECK_EQ(sg[2].dma_length, 0x100);
	CHECK_EQ(sg[3].dma_length, 0);
	CHECK_EQ(sg[4].dma_length, 0);
	/* The CPU side is untouched. */
	CHECK_EQ(sg[3].phys, P(8) + 0x800);
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 5, DMA_TO_DEVICE), 0);

	/* The segment limit stops merging; an entry above it stays whole. */
	CHECK_EQ(dma_dev_destroy(s.dma), 0);
	CHECK_EQ(dma_dev_create(
		     &(struct dma_dev_config){.dev = s.idev, .mem = s.mem, .max_seg_size = 0x1800},
		     &s.dma),
		 0);
	sg[0] = (struct dma_sg){.phys = P(0), .length = 0x1000};
	sg[1] = (struct dma_sg){.phys = P(1), .length = 0x1000};
	sg[2] = (struct dma_sg){.phys = P(2), .length = 0x4000};
	CHECK_EQ(dma_map_sg(s.dma, sg, 3, DMA_TO_DEVICE), 3);
	CHECK_EQ(sg[0].dma_length, 0x1000);
	CHECK_EQ(sg[1].dma_length, 0x1000);
	CHECK_EQ(sg[2].dma_length, 0x4000);
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 3, DMA_TO_DEVICE), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* Scattered whole pages become one IOVA-contiguous segment. */
static void t_iova_scattered_pages(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA};
	struct dmock_sys s;
	struct dma_sg sg[3] = {{.phys = P(1), .length = 0x1000},
			       {.phys = P(5), .length = 0x1000},
			       {.phys = P(3), .length = 0x1000}};
	uint64_t out;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_map_sg(s.dma, sg, 3, DMA_BIDIRECTIONAL), 1);
	CHECK_EQ(sg[0].dma_length, 0x3000);
	CHECK_EQ(sg[1].dma_length, 0);
	CHECK_EQ(sg[2].dma_length, 0);
	CHECK_EQ(sg[1].dma_address, DMA_MAPPING_ERROR);
	CHECK_EQ(reaches(&s, sg[0].dma_address, P(1), 0x1000), 0);
	CHECK_EQ(reaches(&s, sg[0].dma_address + 0x1000, P(5), 0x1000), 0);
	CHECK_EQ(reaches(&s, sg[0].dma_address + 0x2000, P(3), 0x1000), 0);
	CHECK_EQ(atomic_load(&s.u->last_prot), IOMMU_READ | IOMMU_WRITE);
	CHECK_EQ(nptes(&s), 3);
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 3, DMA_BIDIRECTIONAL), 0);
	CHECK_EQ(nptes(&s), 0);
	CHECK_EQ(atomic_load(&s.u->syncs), 1); /* one flush for the whole list */
	CHECK(dmock_translate(s.idev, 0, sg[0].dma_address, false, &out) == -EFAULT);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/*
 * Offsets within a page are kept; runs merge where they meet on a page boundary and not
 * elsewhere; the list occupies one IOVA range with each run on its own pages.
 */
static void t_iova_layout(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA};
	struct dmock_sys s;
	struct dma_sg sg[3] = {{.phys = P(1) + 0x100, .length = 0xf00},
			       {.phys = P(7), .length = 0x800},
			       {.phys = P(4) + 0x200, .length = 0x100}};
	dma_addr_t base;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_map_sg(s.dma, sg, 3, DMA_TO_DEVICE), 2);
	base = sg[0].dma_address & ~0xfffull;
	CHECK_EQ(sg[0].dma_address & 0xfff, 0x100);
	CHECK_EQ(sg[0].dma_length, 0xf00 + 0x800);
	CHECK_EQ(sg[1].dma_address, base + 0x2200);
	CHECK_EQ(sg[1].dma_length, 0x100);
	CHECK_EQ(reaches(&s, sg[0].dma_address, P(1) + 0x100, 0xf00), 0);
	CHECK_EQ(reaches(&s, base + 0x1000, P(7), 0x800), 0);
	CHECK_EQ(reaches(&s, sg[1].dma_address, P(4) + 0x200, 0x100), 0);
	CHECK_EQ(nptes(&s), 3);
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 3, DMA_TO_DEVICE), 0);
	CHECK_EQ(nptes(&s), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* Physically contiguous sub-page entries share one IOVA page. */
static void t_iova_subpage_merge(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA};
	struct dmock_sys s;
	struct dma_sg sg[4] = {{.phys = P(2), .length = 0x400},
			       {.phys = P(2) + 0x400, .length = 0x400},
			       {.phys = P(2) + 0x800, .length = 0x400},
			       {.phys = P(2) + 0xc00, .length = 0x300}};

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_map_sg(s.dma, sg, 4, DMA_FROM_DEVICE), 1);
	CHECK_EQ(sg[0].dma_length, 0xf00);
	CHECK_EQ(sg[0].dma_address & 0xfff, 0);
	CHECK_EQ(nptes(&s), 1);
	CHECK_EQ(reaches(&s, sg[0].dma_address, P(2), 0), 0);
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 4, DMA_FROM_DEVICE), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* 17 scattered pages with the default 64 KiB limit: a 64 KiB segment and a 4 KiB one. */
static void t_iova_seg_limit(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA};
	struct dmock_sys s;
	struct dma_sg sg[17];

	for (int i = 0; i < 17; i++)
		sg[i] = (struct dma_sg){.phys = P(2 * i), .length = 0x1000};
	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_map_sg(s.dma, sg, 17, DMA_TO_DEVICE), 2);
	CHECK_EQ(sg[0].dma_length, 0x10000);
	CHECK_EQ(sg[1].dma_address, sg[0].dma_address + 0x10000);
	CHECK_EQ(sg[1].dma_length, 0x1000);
	CHECK_EQ(reaches(&s, sg[1].dma_address, P(32), 0x1000), 0);
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 17, DMA_TO_DEVICE), 0);
	CHECK_EQ(nptes(&s), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* A 2 MiB-aligned 2 MiB entry gets a 2 MiB-aligned IOVA and so one 2 MiB page. */
static void t_iova_large_page(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA, .cfg = {.max_seg_size = 4u << 20}};
	struct dmock_sys s;
	struct dma_sg sg[1] = {{.phys = 0x400000, .length = 0x200000}};

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_map_sg(s.dma, sg, 1, DMA_TO_DEVICE), 1);
	CHECK_EQ(sg[0].dma_address & 0x1fffff, 0);
	CHECK_EQ(nptes(&s), 1);
	CHECK_EQ(reaches(&s, sg[0].dma_address + 0x1ff000, 0x5ff000, 0x1000), 0);
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 1, DMA_TO_DEVICE), 0);
	CHECK_EQ(nptes(&s), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

static void t_errors(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA};
	struct dmock_sys s;
	struct dma_sg sg[3] = {{.phys = P(1), .length = 0x1000},
			       {.phys = P(3), .length = 0x1000},
			       {.phys = P(5), .length = 0x1000}};
	struct dma_stats st;
	dma_addr_t first;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_map_sg(NULL, sg, 3, DMA_TO_DEVICE), -EINVAL);
	CHECK_EQ(dma_map_sg(s.dma, NULL, 3, DMA_TO_DEVICE), -EINVAL);
	CHECK_EQ(dma_map_sg(s.dma, sg, 0, DMA_TO_DEVICE), -EINVAL);
	CHECK_EQ(dma_map_sg(s.dma, sg, -1, DMA_TO_DEVICE), -EINVAL);
	CHECK_EQ(dma_map_sg(s.dma, sg, 3, DMA_NONE), -EINVAL);
	sg[1].length = 0;
	CHECK_EQ(dma_map_sg(s.dma, sg, 3, DMA_TO_DEVICE), -EINVAL);
	sg[1].length = 0x1000;
	sg[2].phys = 1ull << 40;
	CHECK_EQ(dma_map_sg(s.dma, sg, 3, DMA_TO_DEVICE), -EFAULT);
	sg[2].phys = ~0ull - 0x10;
	CHECK_EQ(dma_map_sg(s.dma, sg, 3, DMA_TO_DEVICE), -EFAULT);
	sg[2].phys = P(5);
	CHECK_EQ(nptes(&s), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(sg[i].dma_length, 0);
	/* The driver fails on the second run: the first is unmapped, the IOVA freed. */
	s.u->fail_map_after = 2;
	CHECK_EQ(dma_map_sg(s.dma, sg, 3, DMA_TO_DEVICE), -ENOMEM);
	CHECK_EQ(nptes(&s), 0);
	CHECK_EQ(mem_alloc_in_use(s.u->tables), 0);
	CHECK_EQ(dma_get_stats(s.dma, &st), 0);
	CHECK_EQ(st.map_errors, 8); /* all but the one without a device */
	CHECK_EQ(st.live, 0);
	CHECK_EQ(dma_map_sg(s.dma, sg, 3, DMA_TO_DEVICE), 1);
	first = sg[0].dma_address;
	CHECK_EQ(atomic_load(&s.u->reuse_before_flush), 0);
	/* Unmap argument errors change nothing. */
	CHECK_EQ(dma_unmap_sg(NULL, sg, 3, DMA_TO_DEVICE), -EINVAL);
	CHECK_EQ(dma_unmap_sg(s.dma, NULL, 3, DMA_TO_DEVICE), -EINVAL);
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 0, DMA_TO_DEVICE), -EINVAL);
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 3, DMA_NONE), -EINVAL);
	sg[0].dma_length = 0;
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 3, DMA_TO_DEVICE), -EINVAL);
	sg[0].dma_length = 0x3000;
	sg[0].dma_address = first + 0x100000;
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 3, DMA_TO_DEVICE), -ENOENT);
	sg[0].dma_address = ~0ull - 0x1000;
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 3, DMA_TO_DEVICE), -ENOENT);
	CHECK_EQ(nptes(&s), 3);
	sg[0].dma_address = first;
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 3, DMA_TO_DEVICE), 0);
	CHECK_EQ(nptes(&s), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* Lazy: the whole list is one queue entry; direct mode: unmap has nothing to do. */
static void t_lazy_and_direct_unmap(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA_FQ,
			       .cfg = {.fq_timeout_ms = DMA_FQ_TIMEOUT_NONE}};
	struct dmock_sys s;
	struct dma_sg sg[2] = {{.phys = P(1), .length = 0x1000}, {.phys = P(9), .length = 0x1000}};
	struct dma_stats st;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_map_sg(s.dma, sg, 2, DMA_TO_DEVICE), 1);
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 2, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_get_stats(s.dma, &st), 0);
	CHECK_EQ(st.fq_pending, 1);
	CHECK_EQ(atomic_load(&s.u->syncs), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);

	o.type = IOMMU_DOMAIN_IDENTITY;
	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_map_sg(s.dma, sg, 2, DMA_TO_DEVICE), 2);
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 2, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_get_stats(s.dma, &st), 0);
	CHECK_EQ(st.live, 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

int main(void)
{
	RUN(t_direct_merge);
	RUN(t_iova_scattered_pages);
	RUN(t_iova_layout);
	RUN(t_iova_subpage_merge);
	RUN(t_iova_seg_limit);
	RUN(t_iova_large_page);
	RUN(t_errors);
	RUN(t_lazy_and_direct_unmap);
	return CHECK_DONE();
}
