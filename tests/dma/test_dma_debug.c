// SPDX-License-Identifier: MIT
/*
 * DMA-API debugging: each check fires on its mistake, with the device and the address,
 * and stays silent on correct use; off, nothing is checked.
 */
#include <stdlib.h>

#include "check.h"
#include "dma/dma_mock.h"

struct reports {
	struct dma_debug_report r[64];
	unsigned n;
};

static void collect(void *ctx, const struct dma_debug_report *r)
{
	struct reports *rs = ctx;

	if (rs->n < 64)
		rs->r[rs->n] = *r;
	rs->n++;
}

static struct dmock_opts dbg_opts(int type, struct reports *rs)
{
	*rs = (struct reports){0};
	return (struct dmock_opts){.type = type,
				   .cfg = {.debug = true,
					   .debug_fn = collect,
					   .debug_ctx = rs,
					   .fq_timeout_ms = DMA_FQ_TIMEOUT_NONE}};
}

static size_t nptes(struct iommu_dev *idev)
{
	return dmock_dom(iommu_get_default_domain(idev))->ptes.n;
}

static const int modes[] = {IOMMU_DOMAIN_IDENTITY, IOMMU_DOMAIN_DMA, IOMMU_DOMAIN_DMA_FQ};

/* Correct use of every call, with device accesses inside the mappings: no report. */
static void t_silent_on_correct_use(void)
{
	for (unsigned m = 0; m < 3; m++) {
		struct reports rs;
		struct dmock_opts o = dbg_opts(modes[m], &rs);
		struct dmock_sys s;
		struct dma_sg sg[3] = {{.phys = 0x100000, .length = 0x1000},
				       {.phys = 0x105000, .length = 0x800},
				       {.phys = 0x105800, .length = 0x100}};
		uint64_t phys;
		dma_addr_t a, b, h;
		int n;

		CHECK_EQ(dmock_sys_init(&s, &o), 0);
		CHECK(dma_debug_enabled(s.dma));
		a = dma_map_single(s.dma, 0x200010, 0x3000, DMA_TO_DEVICE);
		b = dma_map_single(s.dma, 0x200010, 0x10, DMA_FROM_DEVICE); /* same buffer twice */
		CHECK(a != DMA_MAPPING_ERROR && b != DMA_MAPPING_ERROR);
		CHECK_EQ(dma_alloc_coherent(s.dma, 0x1800, &phys, &h), 0);
		n = dma_map_sg(s.dma, sg, 3, DMA_BIDIRECTIONAL);
		CHECK(n > 0);
		CHECK_EQ(dma_debug_check_access(s.dma, a, 0x3000, DMA_TO_DEVICE), 0);
		CHECK_EQ(dma_debug_check_access(s.dma, a + 0x2fff, 1, DMA_TO_DEVICE), 0);
		CHECK_EQ(dma_debug_check_access(s.dma, b, 0x10, DMA_FROM_DEVICE), 0);
		CHECK_EQ(dma_debug_check_access(s.dma, h, 0x1800, DMA_BIDIRECTIONAL), 0);
		CHECK_EQ(dma_debug_check_access(s.dma, h + 0x1fff, 1, DMA_FROM_DEVICE), 0);
		for (int i = 0; i < n; i++)
			CHECK_EQ(dma_debug_check_access(s.dma, sg[i].dma_address, sg[i].dma_length,
							DMA_BIDIRECTIONAL),
				 0);
		CHECK_EQ(dma_debug_check_access(s.dma, a, 0, DMA_FROM_DEVICE), 0);
		CHECK_EQ(dma_unmap_sg(s.dma, sg, 3, DMA_BIDIRECTIONAL), 0);
		CHECK_EQ(dma_free_coherent(s.dma, 0x1800, phys, h), 0);
		CHECK_EQ(dma_unmap_single(s.dma, b, 0x10, DMA_FROM_DEVICE), 0);
		CHECK_EQ(dma_unmap_single(s.dma, a, 0x3000, DMA_TO_DEVICE), 0);
		CHECK_EQ(rs.n, 0);
		CHECK_EQ(dma_debug_count(s.dma, DMA_DEBUG_NR), 0);
		CHECK_EQ(dmock_sys_fini(&s), 0);
		CHECK_EQ(rs.n, 0); /* no leak either */
	}
}

static void t_not_mapped_and_double_unmap(void)
{
	for (unsigned m = 0; m < 3; m++) {
		struct reports rs;
		struct dmock_opts o = dbg_opts(modes[m], &rs);
		struct dmock_sys s;
		dma_addr_t a;
		size_t before;

		CHECK_EQ(dmock_sys_init(&s, &o), 0);
		a = dma_map_single(s.dma, 0x200000, 0x1000, DMA_TO_DEVICE);
		before = m ? nptes(s.idev) : 0;
		CHECK_EQ(dma_unmap_single(s.dma, a + 0x40000, 0x1000, DMA_TO_DEVICE), -ENOENT);
		CHECK_EQ(rs.n, 1);
		CHECK_EQ(rs.r[0].kind, DMA_DEBUG_NOT_MAPPED);
		CHECK_EQ(rs.r[0].rid, 0x0210);
		CHECK_EQ(rs.r[0].addr, a + 0x40000);
		CHECK_EQ(rs.r[0].size, 0x1000);
		CHECK_EQ(rs.r[0].dir, DMA_TO_DEVICE);
		CHECK_EQ(rs.r[0].map_size, 0);
		/* An address inside a mapping is not its start: not mapped either. */
		CHECK_EQ(dma_unmap_single(s.dma, a + 8, 0x10, DMA_TO_DEVICE), -ENOENT);
		CHECK_EQ(rs.r[1].kind, DMA_DEBUG_NOT_MAPPED);
		if (m)
			CHECK_EQ(nptes(s.idev), before);
		CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
		CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), -ENOENT);
		CHECK_EQ(rs.n, 3);
		CHECK_EQ(rs.r[2].kind, DMA_DEBUG_DOUBLE_UNMAP);
		CHECK_EQ(rs.r[2].addr, a);
		CHECK_EQ(rs.r[2].map_addr, a);
		CHECK_EQ(rs.r[2].map_size, 0x1000);
		CHECK_EQ(rs.r[2].map_phys, 0x200000);
		CHECK_EQ(dma_debug_count(s.dma, DMA_DEBUG_NOT_MAPPED), 2);
		CHECK_EQ(dma_debug_count(s.dma, DMA_DEBUG_DOUBLE_UNMAP), 1);
		CHECK_EQ(dma_debug_count(s.dma, DMA_DEBUG_NR), 3);
		CHECK_EQ(dmock_sys_fini(&s), 0);
	}
}

/* A wrong size or direction is reported; the real mapping is unmapped, nothing else. */
static void t_size_and_direction_mismatch(void)
{
	struct reports rs;
	struct dmock_opts o = dbg_opts(IOMMU_DOMAIN_DMA, &rs);
	struct dmock_sys s;
	dma_addr_t a, b;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	a = dma_map_single(s.dma, 0x200000, 0x3000, DMA_TO_DEVICE);
	b = dma_map_single(s.dma, 0x300000, 0x1000, DMA_TO_DEVICE);
	CHECK_EQ(nptes(s.idev), 4);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_FROM_DEVICE), 0);
	CHECK_EQ(rs.n, 2);
	CHECK_EQ(rs.r[0].kind, DMA_DEBUG_SIZE_MISMATCH);
	CHECK_EQ(rs.r[0].size, 0x1000);
	CHECK_EQ(rs.r[0].map_size, 0x3000);
	CHECK_EQ(rs.r[1].kind, DMA_DEBUG_DIR_MISMATCH);
	CHECK_EQ(rs.r[1].dir, DMA_FROM_DEVICE);
	CHECK_EQ(rs.r[1].map_dir, DMA_TO_DEVICE);
	CHECK_EQ(nptes(s.idev), 1); /* all three pages of a went, b stayed */
	CHECK_EQ(dma_unmap_single(s.dma, b, 0x1000, DMA_TO_DEVICE), 0);
	CHECK_EQ(rs.n, 2);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* Unmapping with the wrong call is refused: it would leak pages or free the wrong thing. */
static void t_type_mismatch(void)
{
	struct reports rs;
	struct dmock_opts o = dbg_opts(IOMMU_DOMAIN_DMA, &rs);
	struct dmock_sys s;
	struct dma_sg sg[2] = {{.phys = 0x100000, .length = 0x1000},
			       {.phys = 0x108000, .length = 0x1000}};
	uint64_t phys, in_use;
	dma_addr_t a, h;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	a = dma_map_single(s.dma, 0x200000, 0x1000, DMA_TO_DEVICE);
	CHECK_EQ(dma_alloc_coherent(s.dma, 0x1000, &phys, &h), 0);
	in_use = mem_alloc_in_use(s.pages);
	CHECK_EQ(dma_map_sg(s.dma, sg, 2, DMA_TO_DEVICE), 1);
	CHECK_EQ(dma_unmap_single(s.dma, h, 0x1000, DMA_BIDIRECTIONAL), -EINVAL);
	CHECK_EQ(dma_free_coherent(s.dma, 0x1000, 0x200000, a), -EINVAL);
	CHECK_EQ(dma_unmap_single(s.dma, sg[0].dma_address, 0x2000, DMA_TO_DEVICE), -EINVAL);
	CHECK_EQ(rs.n, 3);
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(rs.r[i].kind, DMA_DEBUG_TYPE_MISMATCH);
	CHECK_EQ(rs.r[0].map_type, DMA_MAP_COHERENT);
	CHECK_EQ(rs.r[1].map_type, DMA_MAP_SINGLE);
	CHECK_EQ(rs.r[2].map_type, DMA_MAP_SG);
	CHECK_EQ(mem_alloc_in_use(s.pages), in_use);
	CHECK_EQ(nptes(s.idev), 4);
	/* The right calls still work. */
	CHECK_EQ(dma_free_coherent(s.dma, 0x1000, phys, h), 0);
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 2, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
	CHECK_EQ(rs.n, 3);
	/* A coherent buffer freed with another CPU address or size: reported, freed right. */
	CHECK_EQ(dma_alloc_coherent(s.dma, 0x1000, &phys, &h), 0);
	CHECK_EQ(dma_free_coherent(s.dma, 0x2000, phys + 0x1000, h), 0);
	CHECK_EQ(rs.n, 4);
	CHECK_EQ(rs.r[3].kind, DMA_DEBUG_SIZE_MISMATCH);
	CHECK_EQ(rs.r[3].map_phys, phys);
	CHECK_EQ(mem_alloc_in_use(s.pages), in_use - 1);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

static void t_sg_checks(void)
{
	struct reports rs;
	struct dmock_opts o = dbg_opts(IOMMU_DOMAIN_DMA, &rs);
	struct dmock_sys s;
	struct dma_sg sg[3] = {{.phys = 0x100000, .length = 0x1000},
			       {.phys = 0x108000, .length = 0x800},
			       {.phys = 0x10a100, .length = 0x100}};
	struct dma_sg copy[3];

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_map_sg(s.dma, sg, 3, DMA_TO_DEVICE), 2);
	memcpy(copy, sg, sizeof(sg));
	/* Unmapped with another nents: reported, the whole list unmapped. */
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 2, DMA_TO_DEVICE), 0);
	CHECK_EQ(rs.n, 1);
	CHECK_EQ(rs.r[0].kind, DMA_DEBUG_SIZE_MISMATCH);
	CHECK_EQ(rs.r[0].size, 2);
	CHECK_EQ(nptes(s.idev), 0);
	CHECK_EQ(dma_unmap_sg(s.dma, copy, 3, DMA_TO_DEVICE), -ENOENT);
	CHECK_EQ(rs.r[1].kind, DMA_DEBUG_DOUBLE_UNMAP);
	/* A segment length changed by the caller: reported. */
	CHECK_EQ(dma_map_sg(s.dma, sg, 3, DMA_TO_DEVICE), 2);
	sg[1].dma_length += 0x10;
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 3, DMA_FROM_DEVICE), 0);
	CHECK_EQ(rs.n, 4);
	CHECK_EQ(rs.r[2].kind, DMA_DEBUG_SIZE_MISMATCH);
	CHECK_EQ(rs.r[2].size, sg[1].dma_length);
	CHECK_EQ(rs.r[3].kind, DMA_DEBUG_DIR_MISMATCH);
	CHECK_EQ(nptes(s.idev), 0);
	/* Never mapped. */
	sg[0].dma_address = 0x7000000;
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 3, DMA_TO_DEVICE), -ENOENT);
	CHECK_EQ(rs.r[4].kind, DMA_DEBUG_NOT_MAPPED);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* Every mapping still live at teardown is reported, then undone. */
static void t_leaks(void)
{
	struct reports rs;
	struct dmock_opts o = dbg_opts(IOMMU_DOMAIN_DMA_FQ, &rs);
	struct dmock_sys s;
	struct dma_sg sg[2] = {{.phys = 0x100000, .length = 0x1000},
			       {.phys = 0x108000, .length = 0x1000}};
	uint64_t phys, in_use;
	dma_addr_t a, b, h;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	in_use = mem_alloc_in_use(s.pages);
	a = dma_map_single(s.dma, 0x200000, 0x1000, DMA_TO_DEVICE);
	b = dma_map_single(s.dma, 0x300000, 0x2000, DMA_FROM_DEVICE);
	CHECK_EQ(dma_alloc_coherent(s.dma, 0x1000, &phys, &h), 0);
	CHECK_EQ(dma_map_sg(s.dma, sg, 2, DMA_TO_DEVICE), 1);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
	CHECK_EQ(rs.n, 0);
	CHECK_EQ(dma_dev_destroy(s.dma), -EBUSY);
	s.dma = NULL;
	CHECK_EQ(rs.n, 3);
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ(rs.r[i].kind, DMA_DEBUG_LEAK);
		CHECK_EQ(rs.r[i].rid, 0x0210);
	}
	CHECK_EQ(rs.r[0].addr, b);
	CHECK_EQ(rs.r[0].size, 0x2000);
	CHECK_EQ(rs.r[0].dir, DMA_FROM_DEVICE);
	CHECK_EQ(rs.r[1].addr, h);
	CHECK_EQ(rs.r[1].map_type, DMA_MAP_COHERENT);
	CHECK_EQ(rs.r[2].addr, sg[0].dma_address);
	CHECK_EQ(rs.r[2].map_type, DMA_MAP_SG);
	/* Undone: nothing in the table, the coherent pages back, table pages flushed back. */
	CHECK_EQ(nptes(s.idev), 0);
	CHECK_EQ(mem_alloc_in_use(s.pages), in_use);
	CHECK_EQ(mem_alloc_in_use(s.u->tables), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

static void t_device_accesses(void)
{
	for (unsigned m = 0; m < 3; m++) {
		struct reports rs;
		struct dmock_opts o = dbg_opts(modes[m], &rs);
		struct dmock_sys s;
		dma_addr_t a, b;

		CHECK_EQ(dmock_sys_init(&s, &o), 0);
		a = dma_map_single(s.dma, 0x200000, 0x1000, DMA_TO_DEVICE);
		/* Writing a to-device buffer, and read-modify-write of it. */
		CHECK_EQ(dma_debug_check_access(s.dma, a, 8, DMA_FROM_DEVICE), -EFAULT);
		CHECK_EQ(rs.r[0].kind, DMA_DEBUG_ACCESS_DIRECTION);
		CHECK_EQ(rs.r[0].addr, a);
		CHECK_EQ(rs.r[0].size, 8);
		CHECK_EQ(rs.r[0].map_addr, a);
		CHECK_EQ(dma_debug_check_access(s.dma, a, 8, DMA_BIDIRECTIONAL), -EFAULT);
		CHECK_EQ(rs.r[1].kind, DMA_DEBUG_ACCESS_DIRECTION);
		/* Past its end, and somewhere never mapped. */
		CHECK_EQ(dma_debug_check_access(s.dma, a + 0xff0, 0x20, DMA_TO_DEVICE), -EFAULT);
		CHECK_EQ(rs.r[2].kind, DMA_DEBUG_ACCESS_UNMAPPED);
		CHECK_EQ(dma_debug_check_access(s.dma, a + 0x1000000, 4, DMA_TO_DEVICE), -EFAULT);
		CHECK_EQ(rs.r[3].kind, DMA_DEBUG_ACCESS_UNMAPPED);
		CHECK_EQ(rs.r[3].map_size, 0);
		CHECK_EQ(dma_debug_check_access(s.dma, ~0ull - 3, 8, DMA_TO_DEVICE), -EFAULT);
		CHECK_EQ(rs.r[4].kind, DMA_DEBUG_ACCESS_UNMAPPED);
		/* After the unmap (in lazy mode the IOMMU may still let it through). */
		CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
		CHECK_EQ(dma_debug_check_access(s.dma, a + 0x10, 4, DMA_TO_DEVICE), -EFAULT);
		CHECK_EQ(rs.n, 6);
		CHECK_EQ(rs.r[5].kind, DMA_DEBUG_USE_AFTER_UNMAP);
		CHECK_EQ(rs.r[5].addr, a + 0x10);
		CHECK_EQ(rs.r[5].map_addr, a);
		CHECK_EQ(dma_debug_count(s.dma, DMA_DEBUG_USE_AFTER_UNMAP), 1);
		CHECK_EQ(dma_debug_count(s.dma, DMA_DEBUG_ACCESS_UNMAPPED), 3);
		CHECK_EQ(dma_debug_count(s.dma, DMA_DEBUG_ACCESS_DIRECTION), 2);
		/* A new mapping at the same address makes it legal again. */
		b = dma_map_single(s.dma, 0x200000, 0x1000, DMA_BIDIRECTIONAL);
		if (b == a)
			CHECK_EQ(dma_debug_check_access(s.dma, a + 0x10, 4, DMA_TO_DEVICE), 0);
		CHECK_EQ(dma_unmap_single(s.dma, b, 0x1000, DMA_BIDIRECTIONAL), 0);
		CHECK_EQ(rs.n, 6);
		CHECK_EQ(dmock_sys_fini(&s), 0);
	}
}

/* In direct mode adjacent buffers make one reachable range; a gap between them does not. */
static void t_access_across_mappings(void)
{
	struct reports rs;
	struct dmock_opts o = dbg_opts(IOMMU_DOMAIN_IDENTITY, &rs);
	struct dmock_sys s;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_map_single(s.dma, 0x200800, 0x800, DMA_TO_DEVICE), 0x200800);
	CHECK_EQ(dma_map_single(s.dma, 0x201000, 0x2000, DMA_BIDIRECTIONAL), 0x201000);
	CHECK_EQ(dma_map_single(s.dma, 0x203100, 0x100, DMA_TO_DEVICE), 0x203100);
	CHECK_EQ(dma_debug_check_access(s.dma, 0x200800, 0x2800, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_debug_check_access(s.dma, 0x200800, 0x2900, DMA_TO_DEVICE), -EFAULT);
	CHECK_EQ(rs.r[0].kind, DMA_DEBUG_ACCESS_UNMAPPED);
	/* Writing across a to-device part is refused at the first byte it may not write. */
	CHECK_EQ(dma_debug_check_access(s.dma, 0x201f00, 0x200, DMA_FROM_DEVICE), 0);
	CHECK_EQ(dma_debug_check_access(s.dma, 0x200f00, 0x200, DMA_FROM_DEVICE), -EFAULT);
	CHECK_EQ(rs.r[1].kind, DMA_DEBUG_ACCESS_DIRECTION);
	CHECK_EQ(rs.r[1].map_addr, 0x200800);
	CHECK_EQ(dma_unmap_single(s.dma, 0x200800, 0x800, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_unmap_single(s.dma, 0x201000, 0x2000, DMA_BIDIRECTIONAL), 0);
	CHECK_EQ(dma_unmap_single(s.dma, 0x203100, 0x100, DMA_TO_DEVICE), 0);
	CHECK_EQ(rs.n, 2);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* The history of unmapped mappings is bounded: the oldest are forgotten. */
static void t_history_bound(void)
{
	struct reports rs;
	struct dmock_opts o = dbg_opts(IOMMU_DOMAIN_IDENTITY, &rs);
	struct dmock_sys s;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	for (uint64_t i = 0; i < 5000; i++)
		CHECK_EQ(dma_map_single(s.dma, 0x100000 + i * 0x100, 0x100, DMA_TO_DEVICE),
			 0x100000 + i * 0x100);
	for (uint64_t i = 0; i < 5000; i++)
		CHECK_EQ(dma_unmap_single(s.dma, 0x100000 + i * 0x100, 0x100, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_unmap_single(s.dma, 0x100000, 0x100, DMA_TO_DEVICE), -ENOENT);
	CHECK_EQ(rs.r[0].kind, DMA_DEBUG_NOT_MAPPED);
	CHECK_EQ(dma_unmap_single(s.dma, 0x100000 + 4999 * 0x100, 0x100, DMA_TO_DEVICE), -ENOENT);
	CHECK_EQ(rs.r[1].kind, DMA_DEBUG_DOUBLE_UNMAP);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* Off: nothing is recorded or checked. */
static void t_off(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA};
	struct dmock_sys s;
	dma_addr_t a;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK(!dma_debug_enabled(s.dma));
	CHECK(!dma_debug_enabled(NULL));
	a = dma_map_single(s.dma, 0x200000, 0x1000, DMA_TO_DEVICE);
	CHECK_EQ(dma_debug_check_access(s.dma, a, 8, DMA_FROM_DEVICE), 0);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_debug_check_access(s.dma, a, 8, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_debug_check_access(NULL, a, 8, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_debug_count(s.dma, DMA_DEBUG_NR), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* The global switch and the environment variable; the default handler prints. */
static void t_global_switch(void)
{
	struct reports rs = {0};
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA};
	struct dmock_sys s;

	dma_debug_set_global(true, collect, &rs);
	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	dma_debug_set_global(false, NULL, NULL);
	CHECK(dma_debug_enabled(s.dma));
	CHECK_EQ(dma_unmap_single(s.dma, 0x5000, 0x1000, DMA_TO_DEVICE), -ENOENT);
	CHECK_EQ(rs.n, 1);
	CHECK_EQ(rs.r[0].kind, DMA_DEBUG_NOT_MAPPED);
	CHECK_EQ(dmock_sys_fini(&s), 0);
	/* Devices made after it is off are not checked. */
	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK(!dma_debug_enabled(s.dma));
	CHECK_EQ(dmock_sys_fini(&s), 0);
	/* SOFTIOMMU_DMA_DEBUG=1, with the stderr handler. */
	setenv("SOFTIOMMU_DMA_DEBUG", "1", 1);
	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	unsetenv("SOFTIOMMU_DMA_DEBUG");
	CHECK(dma_debug_enabled(s.dma));
	fprintf(stderr, "(an expected report follows)\n");
	CHECK_EQ(dma_unmap_single(s.dma, 0x5000, 0x1000, DMA_TO_DEVICE), -ENOENT);
	CHECK_EQ(dma_debug_count(s.dma, DMA_DEBUG_NOT_MAPPED), 1);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

static void t_names(void)
{
	CHECK(strcmp(dma_debug_kind_name(DMA_DEBUG_NOT_MAPPED), "not-mapped") == 0);
	CHECK(strcmp(dma_debug_kind_name(DMA_DEBUG_USE_AFTER_UNMAP), "use-after-unmap") == 0);
	CHECK(strcmp(dma_debug_kind_name(DMA_DEBUG_TYPE_MISMATCH), "type-mismatch") == 0);
	CHECK(strcmp(dma_debug_kind_name(DMA_DEBUG_NR), "?") == 0);
	CHECK(strcmp(dma_debug_kind_name((enum dma_debug_kind) - 1), "?") == 0);
	for (unsigned k = 0; k < DMA_DEBUG_NR; k++)
		CHECK(strcmp(dma_debug_kind_name((enum dma_debug_kind)k), "?") != 0);
	CHECK_EQ(dma_debug_count(NULL, DMA_DEBUG_LEAK), 0);
}

int main(void)
{
	RUN(t_silent_on_correct_use);
	RUN(t_not_mapped_and_double_unmap);
	RUN(t_size_and_direction_mismatch);
	RUN(t_type_mismatch);
	RUN(t_sg_checks);
	RUN(t_leaks);
	RUN(t_device_accesses);
	RUN(t_access_across_mappings);
	RUN(t_history_bound);
	RUN(t_off);
	RUN(t_global_switch);
	RUN(t_names);
	return CHECK_DONE();
}
