// SPDX-License-Identifier: MIT
/*
 * Page tables: creation, argument checks shared by every format, and the gather.
 * The walking itself is in pt_walk.h, instantiated by fmt_x86_64.c and fmt_vtd_ss.c.
 */
#include "pt_internal.h"

#include <stdlib.h>
#include <string.h>

#define PT_CFG_ALL (PT_CFG_SET_AD | PT_CFG_EXEC)
#define PT_MAX_OA  52 /* entries hold bits 51:12 of the output address */

static const struct pt_ops *pt_format_ops(enum pt_format format)
{
	switch (format) {
	case PT_FMT_X86_64:
		return &pt_x86_64_ops;
	case PT_FMT_VTD_SS:
		return &pt_vtd_ss_ops;
	}
	return NULL;
}

/* Leaf levels from the page sizes asked for: 4 KiB is level 1, 2 MiB 2, 1 GiB 3. */
static int pt_leaf_levels(const struct pt_config *cfg, const struct pt_fmt *f, unsigned *levels)
{
	uint64_t sizes = cfg->page_sizes;

	if (!(sizes & PT_PAGE_4K) || (sizes & ~(PT_PAGE_4K | PT_PAGE_2M | PT_PAGE_1G)))
		return -EINVAL;
	*levels = 1u << 1;
	if (sizes & PT_PAGE_2M)
		*levels |= 1u << 2;
	if (sizes & PT_PAGE_1G)
		*levels |= 1u << 3;
	if ((*levels & ~f->leaf_levels) || (*levels >> (cfg->levels + 1)))
		return -EINVAL;
	return 0;
}

static int pt_check_config(const struct pt_config *cfg, const struct pt_fmt *f,
			   unsigned *leaf_levels, unsigned *iova_bits, unsigned *oa_bits)
{
	unsigned max_bits;

	if (cfg->levels < f->min_levels || cfg->levels > f->max_levels)
		return -EINVAL;
	if (pt_leaf_levels(cfg, f, leaf_levels))
		return -EINVAL;
	/* The top level decodes bits up to 20 + 9(n-1); a canonical format loses the sign. */
	max_bits = pt_shift(cfg->levels) + 9 - (f->lower_half ? 1 : 0);
	*iova_bits = cfg->iova_bits ? cfg->iova_bits : max_bits;
	*oa_bits = cfg->oa_bits ? cfg->oa_bits : PT_MAX_OA;
	if (*iova_bits < PT_PAGE_SHIFT || *iova_bits > max_bits)
		return -EINVAL;
	if (*oa_bits < PT_PAGE_SHIFT || *oa_bits > PT_MAX_OA)
		return -EINVAL;
	if (cfg->flags & ~PT_CFG_ALL)
		return -EINVAL;
	return 0;
}

int pt_create(const struct pt_config *cfg, struct pt_table **out)
{
	const struct pt_ops *ops;
	unsigned leaf_levels, iova_bits, oa_bits;
	struct pt_table *pt;
	int ret;

	if (!cfg || !out || !cfg->alloc)
		return -EINVAL;
	ops = pt_format_ops(cfg->format);
	if (!ops || pt_check_config(cfg, ops->fmt, &leaf_levels, &iova_bits, &oa_bits))
		return -EINVAL;
	pt = calloc(1, sizeof(*pt));
	if (!pt)
		return -ENOMEM;
	pt->ops = ops;
	pt->alloc = cfg->alloc;
	pt->mem = mem_alloc_mem(cfg->alloc);
	pt->mem_size = mem_size(pt->mem);
	/* A backend that maps all of memory directly lets entries be plain atomic accesses. */
	pt->base = mem_ptr(pt->mem, 0, pt->mem_size);
	pt->levels = cfg->levels;
	pt->flags = cfg->flags;
	pt->leaf_levels = leaf_levels;
	pt->max_leaf = pt_span(31 - (unsigned)__builtin_clz(leaf_levels));
	pt->iova_limit = 1ull << iova_bits;
	pt->oa_limit = 1ull << oa_bits;
	/* The format's verdict and encoding for every protection, once: map only looks up. */
	for (unsigned prot = 0; prot < PT_PROT_COMBOS; prot++)
		if (ops->fmt->check_prot(prot, cfg->flags) == 0)
			pt->prot_attrs[prot] = ops->fmt->prot_attrs(prot, cfg->flags);
	ret = mem_alloc_page(cfg->alloc, &pt->root);
	if (ret) {
		free(pt);
		return ret;
	}
	*out = pt;
	return 0;
}

void pt_destroy(struct pt_table *pt)
{
	if (!pt)
		return;
	pt->ops->free_all(pt);
	free(pt);
}

/* [addr, addr + size) inside [0, limit), size > 0 (alignment is checked apart). */
static bool pt_range_ok(uint64_t addr, uint64_t size, uint64_t limit)
{
	return addr < limit && size - 1 < limit - addr; /* size 0 wraps to the maximum */
}

int pt_map(struct pt_table *pt, uint64_t iova, uint64_t paddr, uint64_t size, unsigned prot)
{
	uint64_t attrs;

	if (!pt)
		return -EINVAL;
	/* Every accepted protection encodes to something non-zero (P, or R or W). */
	attrs = prot < PT_PROT_COMBOS ? pt->prot_attrs[prot] : 0;
	if (size == PT_PAGE_4K) {
		/* One page (the limits are page multiples): the hot case, checked in short. */
		if (!attrs || ((iova | paddr) & (PT_PAGE_4K - 1)) || iova >= pt->iova_limit ||
		    paddr >= pt->oa_limit)
			return -EINVAL;
		return pt->ops->map_4k(pt, iova, paddr, attrs);
	}
	if (!attrs || ((iova | paddr | size) & (PT_PAGE_4K - 1)) ||
	    !pt_range_ok(iova, size, pt->iova_limit) || !pt_range_ok(paddr, size, pt->oa_limit)) {
		return -EINVAL;
	}
	return pt->ops->map_range(pt, iova, paddr, size, attrs);
}

int pt_unmap(struct pt_table *pt, uint64_t iova, uint64_t size, struct pt_gather *g,
	     uint64_t *unmapped)
{
	uint64_t done = 0;
	int ret;

	if (unmapped)
		*unmapped = 0;
	if (!pt || !g || ((iova | size) & (PT_PAGE_4K - 1)) ||
	    !pt_range_ok(iova, size, pt->iova_limit))
		return -EINVAL;
	if (g->alloc && g->alloc != pt->alloc)
		return -EINVAL;
	g->alloc = pt->alloc;
	ret = pt->ops->unmap(pt, iova, iova + size, g, &done);
	if (unmapped)
		*unmapped = done;
	return ret;
}

int pt_lookup(struct pt_table *pt, uint64_t iova, struct pt_mapping *m)
{
	if (!pt || !m || iova >= pt->iova_limit)
		return -EINVAL;
	return pt->ops->lookup(pt, iova, m);
}

int pt_iova_to_phys(struct pt_table *pt, uint64_t iova, uint64_t *paddr)
{
	struct pt_mapping m;
	int ret;

	if (!paddr)
		return -EINVAL;
	ret = pt_lookup(pt, iova, &m);
	if (ret == 0)
		*paddr = m.paddr;
	return ret;
}

uint64_t pt_root(const struct pt_table *pt)
{
	return pt->root;
}

unsigned pt_levels(const struct pt_table *pt)
{
	return pt->levels;
}

uint64_t pt_iova_limit(const struct pt_table *pt)
{
	return pt->iova_limit;
}

/* ---- entry access without a direct mapping ---------------------------------------------- */

int pt_mem_ld(struct mem *m, uint64_t pa, uint64_t *e)
{
	return mem_read64(m, pa, e);
}

int pt_mem_st(struct mem *m, uint64_t pa, uint64_t e)
{
	return mem_write64(m, pa, e);
}

int pt_mem_cas(struct mem *m, uint64_t pa, uint64_t *old, uint64_t e)
{
	return mem_cmpxchg64(m, pa, old, e);
}

/* ---- gather --------------------------------------------------------------------------- */

void pt_gather_init(struct pt_gather *g)
{
	memset(g, 0, sizeof(*g));
	g->start = UINT64_MAX;
}

int pt_gather_push(struct pt_gather *g, uint64_t page)
{
	if (g->nfreed == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 16;
		uint64_t *p = realloc(g->freed, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		g->freed = p;
		g->cap = cap;
	}
	g->freed[g->nfreed++] = page;
	return 0;
}

void pt_gather_release(struct pt_gather *g)
{
	for (size_t i = 0; i < g->nfreed; i++)
		mem_free_page(g->alloc, g->freed[i]);
	free(g->freed);
	pt_gather_init(g);
}

void pt_gather_disown(struct pt_gather *g)
{
	free(g->freed);
	pt_gather_init(g);
}
