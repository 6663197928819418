// SPDX-License-Identifier: MIT
/*
 * Mapping and unmapping single buffers and coherent buffers, and the IOVA side every
 * mapping shares: allocation with its one retry, and the strict or lazy unmap.
 * Linux's reference is drivers/iommu/dma-iommu.c (__iommu_dma_map, __iommu_dma_unmap,
 * iommu_dma_alloc_iova).
 */
#include <errno.h>

#include "dma/dma_internal.h"

unsigned dma_dir_prot(const struct dma_dev *dev, enum dma_data_direction dir)
{
	/* The device reads what goes to it and writes what comes from it. */
	switch (dir) {
	case DMA_TO_DEVICE:
		return IOMMU_READ | dev->prot_extra;
	case DMA_FROM_DEVICE:
		return IOMMU_WRITE | dev->prot_extra;
	default:
		return IOMMU_READ | IOMMU_WRITE | dev->prot_extra;
	}
}

/*
 * An IOVA range of `npages` granules below the device's limit. When the space is full,
 * IOVAs may only be waiting in flush queues or in the allocator's per-thread caches:
 * flush and release the queues, drain the caches, and try exactly once more.
 */
int dma_iova_alloc(struct dma_dev *dev, uint64_t npages, uint64_t *pfn)
{
	int ret = iova_alloc(dev->iovad, npages, dev->limit_pfn, dev->iova_flags, pfn);

	if (DMA_LIKELY(ret != -ENOSPC))
		return ret;
	atomic_fetch_add(&dev->iova_retries, 1);
	if (dev->mode == DMA_MODE_LAZY)
		dma_fq_flush_drain(dev, DMA_FLUSH_NOSPACE);
	iova_flush_rcaches(dev->iovad);
	return iova_alloc(dev->iovad, npages, dev->limit_pfn, dev->iova_flags, pfn);
}

static void dma_sync(struct dma_dev *dev, struct dma_slot *slot, struct iommu_iotlb_gather *g)
{
	uint64_t t0 = dev->timing ? dma_now_ns() : 0;

	iommu_iotlb_sync(dev->domain, g);
	if (dev->timing)
		atomic_fetch_add_explicit(&slot->inv_ns, dma_now_ns() - t0, memory_order_relaxed);
	atomic_fetch_add_explicit(&slot->syncs, 1, memory_order_relaxed);
}

/* dma_internal.h */
int dma_undo(struct dma_dev *dev, const struct dma_debug_undo *u, struct dma_slot *slot)
{
	if (u->iova_npages)
		return dma_iova_unmap(dev, u->iova_pfn << dev->shift, u->iova_npages << dev->shift,
				      u->phys, u->order, slot);
	if (u->order >= 0)
		mem_free_pages(dev->alloc, u->phys, (unsigned)u->order);
	return 0;
}

/*
 * Undo a mapping of [iova, iova + len) (granule aligned, the whole IOVA allocation), and
 * then free the coherent buffer `buf_phys` of `buf_order` if order >= 0.
 * Strict (design.md rule 4): the page table is cleared, every IOTLB and device TLB where
 * the domain is attached - the RID and the kernel PASID alike - is flushed, and only then
 * do the IOVA, the freed table pages and the buffer go back. Lazy: the same release waits
 * in the flush queue for the next flush-all. -ENOENT when nothing was mapped at iova
 * (nothing changes), -EINVAL when the IOVA allocator refused the range (a wrong size).
 */
int dma_iova_unmap(struct dma_dev *dev, uint64_t iova, uint64_t len, uint64_t buf_phys,
		   int buf_order, struct dma_slot *slot)
{
	struct iommu_iotlb_gather g;
	uint64_t pfn = iova >> dev->shift, npages = len >> dev->shift;
	ssize_t unmapped;
	int ret = 0;

	iommu_iotlb_gather_init(&g);
	g.queued = dev->mode == DMA_MODE_LAZY;
	unmapped = iommu_unmap_fast(dev->domain, iova, len, &g);
	if (unmapped <= 0) {
		/* Nothing left the table, so nothing was gathered either. */
		iommu_iotlb_sync(dev->domain, &g);
		return -ENOENT;
	}
	if (g.queued) {
		dma_fq_queue(dev, slot, pfn, npages, &g.freelist, buf_phys, buf_order);
	} else {
		dma_sync(dev, slot, &g);
		if (iova_free(dev->iovad, pfn, npages))
			ret = -EINVAL;
		if (buf_order >= 0)
			mem_free_pages(dev->alloc, buf_phys, (unsigned)buf_order);
	}
	if (!ret && (uint64_t)unmapped != len)
		ret = -EINVAL;
	return ret;
}

/* Map [phys, phys + size): the DMA address, or a negative errno. */
static int dma_map_range(struct dma_dev *dev, uint64_t phys, uint64_t size,
			 enum dma_data_direction dir, enum dma_map_type type, int order,
			 dma_addr_t *out)
{
	uint64_t off, len, pfn;
	int ret;

	if (dev->mode == DMA_MODE_DIRECT) {
		if (phys + size - 1 > dev->dma_mask)
			return -ERANGE;
		*out = phys;
		return dma_debug_add(dev, phys, size, phys, dir, type, 0, 0, order);
	}
	off = phys & dev->gmask;
	len = dma_align(dev, size + off);
	ret = dma_iova_alloc(dev, len >> dev->shift, &pfn);
	if (ret)
		return ret;
	ret = iommu_map(dev->domain, pfn << dev->shift, phys - off, len, dma_dir_prot(dev, dir));
	if (!ret) {
		*out = (pfn << dev->shift) + off;
		ret =
		    dma_debug_add(dev, *out, size, phys, dir, type, pfn, len >> dev->shift, order);
		if (ret)
			iommu_unmap(dev->domain, pfn << dev->shift, len);
	}
	/* Nothing is mapped any more (iommu_map undoes itself), and flushed: free at once. */
	if (ret)
		iova_free(dev->iovad, pfn, len >> dev->shift);
	return ret;
}

dma_addr_t dma_map_single(struct dma_dev *dev, uint64_t phys, uint64_t size,
			  enum dma_data_direction dir)
{
	struct dma_slot *slot;
	dma_addr_t addr;
	int ret;

	if (DMA_UNLIKELY(!dev)) {
		dma_set_error(-EINVAL);
		return DMA_MAPPING_ERROR;
	}
	slot = dma_this_slot(dev);
	if (DMA_UNLIKELY(!size || !dma_dir_valid(dir)))
		ret = -EINVAL;
	else if (DMA_UNLIKELY(!mem_range_ok(dev->mem, phys, size)))
		ret = -EFAULT;
	else
		ret = dma_map_range(dev, phys, size, dir, DMA_MAP_SINGLE, -1, &addr);
	if (DMA_UNLIKELY(ret)) {
		atomic_fetch_add_explicit(&slot->map_errors, 1, memory_order_relaxed);
		dma_set_error(ret);
		return DMA_MAPPING_ERROR;
	}
	atomic_fetch_add_explicit(&slot->maps, 1, memory_order_relaxed);
	return addr;
}

dma_addr_t dma_map_page(struct dma_dev *dev, uint64_t page, uint64_t offset, uint64_t size,
			enum dma_data_direction dir)
{
	if (DMA_UNLIKELY(page + offset < page)) {
		/* No such buffer: the address wrapped. */
		if (dev)
			atomic_fetch_add_explicit(&dma_this_slot(dev)->map_errors, 1,
						  memory_order_relaxed);
		dma_set_error(dev ? -EFAULT : -EINVAL);
		return DMA_MAPPING_ERROR;
	}
	return dma_map_single(dev, page + offset, size, dir);
}

/* The range an unmap must undo: from the debug record when debugging, else the caller. */
static int dma_unmap_plan(struct dma_dev *dev, dma_addr_t addr, uint64_t size,
			  enum dma_data_direction dir, enum dma_map_type type, uint64_t phys,
			  struct dma_debug_undo *u)
{
	if (DMA_UNLIKELY(dev->debug))
		return dma_debug_unmap(dev, addr, size, dir, type, phys, u);
	u->addr = addr;
	u->size = size;
	u->phys = phys;
	u->order = -1;
	u->iova_npages = 0;
	if (dev->mode != DMA_MODE_DIRECT) {
		uint64_t off = addr & dev->gmask;

		if (addr + size < addr)
			return -ENOENT;
		u->iova_pfn = addr >> dev->shift;
		u->iova_npages = dma_align(dev, size + off) >> dev->shift;
	}
	return 0;
}

int dma_unmap_single(struct dma_dev *dev, dma_addr_t addr, uint64_t size,
		     enum dma_data_direction dir)
{
	struct dma_debug_undo u;
	int ret;

	if (DMA_UNLIKELY(!dev || !size || !dma_dir_valid(dir)))
		return -EINVAL;
	ret = dma_unmap_plan(dev, addr, size, dir, DMA_MAP_SINGLE, 0, &u);
	if (DMA_UNLIKELY(ret))
		return ret;
	return dma_unmap_done(dev, &u);
}

int dma_unmap_page(struct dma_dev *dev, dma_addr_t addr, uint64_t size, enum dma_data_direction dir)
{
	return dma_unmap_single(dev, addr, size, dir);
}

/* ---- coherent buffers -------------------------------------------------------------------- */

static int dma_coherent_order(uint64_t size)
{
	uint64_t pages = (size + MEM_PAGE_SIZE - 1) >> MEM_PAGE_SHIFT;

	return pages <= 1 ? 0 : 64 - __builtin_clzll(pages - 1);
}

int dma_alloc_coherent(struct dma_dev *dev, uint64_t size, uint64_t *phys, dma_addr_t *dma_handle)
{
	struct dma_slot *slot;
	uint64_t pa;
	int order, ret;

	if (!dev || !phys || !dma_handle || !size || size > (1ull << 32))
		return -EINVAL;
	if (!dev->alloc)
		return -ENODEV;
	slot = dma_this_slot(dev);
	order = dma_coherent_order(size);
	ret = mem_alloc_pages(dev->alloc, (unsigned)order, &pa);
	if (!ret) {
		ret = dma_map_range(dev, pa, (uint64_t)MEM_PAGE_SIZE << order, DMA_BIDIRECTIONAL,
				    DMA_MAP_COHERENT, order, dma_handle);
		if (ret)
			mem_free_pages(dev->alloc, pa, (unsigned)order);
	}
	if (ret) {
		atomic_fetch_add_explicit(&slot->map_errors, 1, memory_order_relaxed);
		return ret;
	}
	*phys = pa;
	atomic_fetch_add_explicit(&slot->maps, 1, memory_order_relaxed);
	return 0;
}

/* Without debugging: the mapping must translate `handle` to `phys`. */
static int dma_coherent_check(struct dma_dev *dev, uint64_t phys, dma_addr_t handle)
{
	uint64_t pa;
	int ret;

	if (dev->mode == DMA_MODE_DIRECT)
		return handle == phys ? 0 : -EINVAL;
	ret = iommu_iova_to_phys(dev->domain, handle, &pa);
	if (ret)
		return -ENOENT;
	return pa == phys ? 0 : -EINVAL;
}

int dma_free_coherent(struct dma_dev *dev, uint64_t size, uint64_t phys, dma_addr_t dma_handle)
{
	struct dma_debug_undo u;
	int order, ret;

	if (!dev || !size || size > (1ull << 32))
		return -EINVAL;
	order = dma_coherent_order(size);
	if (!dev->debug) {
		ret = dma_coherent_check(dev, phys, dma_handle);
		if (ret)
			return ret;
	}
	/* The whole run was mapped, so the run is what is unmapped. */
	ret = dma_unmap_plan(dev, dma_handle, (uint64_t)MEM_PAGE_SIZE << order, DMA_BIDIRECTIONAL,
			     DMA_MAP_COHERENT, phys, &u);
	if (ret)
		return ret;
	if (!dev->debug)
		u.order = order;
	return dma_unmap_done(dev, &u);
}
