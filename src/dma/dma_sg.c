// SPDX-License-Identifier: MIT
/*
 * Scatter-gather mapping. Entries whose physical ranges follow each other are one "run"
 * (up to max_seg_size). Direct mode gives each run as a DMA segment. IOVA mode follows
 * Linux's iommu_dma_map_sg: one IOVA allocation for the whole list, each run laid out
 * after the previous one starting on a granule boundary with its offset within the granule
 * kept (so the device sees the same sub-page alignment as the CPU), mapped run by run, and
 * then adjacent runs merged into one DMA segment wherever they meet in IOVA space - the
 * previous run ends on a granule boundary and the next starts at offset 0
 * (__finalise_sg), which merges physically scattered pages into one segment.
 */
#include <errno.h>

#include "dma/dma_internal.h"

/* Length of the run starting at entry i, and in *next the entry after it. */
static uint64_t dma_sg_run(const struct dma_dev *dev, const struct dma_sg *sg, int nents, int i,
			   int *next)
{
	uint64_t len = sg[i].length;
	int j = i + 1;

	while (j < nents && sg[j].phys == sg[i].phys + len &&
	       len + sg[j].length <= dev->max_seg_size) {
		len += sg[j].length;
		j++;
	}
	*next = j;
	return len;
}

static int dma_sg_check(const struct dma_dev *dev, const struct dma_sg *sg, int nents)
{
	for (int i = 0; i < nents; i++) {
		if (!sg[i].length)
			return -EINVAL;
		if (!mem_range_ok(dev->mem, sg[i].phys, sg[i].length))
			return -EFAULT;
		if (dev->mode == DMA_MODE_DIRECT && sg[i].phys + sg[i].length - 1 > dev->dma_mask)
			return -ERANGE;
	}
	return 0;
}

/* Append a DMA segment, merging it into the previous one where they meet. */
static void dma_sg_emit(const struct dma_dev *dev, struct dma_sg *sg, int *segs, dma_addr_t addr,
			uint64_t len)
{
	if (*segs) {
		struct dma_sg *prev = &sg[*segs - 1];

		if (prev->dma_address + prev->dma_length == addr &&
		    prev->dma_length + len <= dev->max_seg_size) {
			prev->dma_length += len;
			return;
		}
	}
	/* Written over entries already read: segment k never passes entry k. */
	sg[*segs].dma_address = addr;
	sg[*segs].dma_length = len;
	(*segs)++;
}

/* Clear the DMA side past the last segment, as Linux's sg_dma_len() == 0 marks the end. */
static void dma_sg_terminate(struct dma_sg *sg, int nents, int segs)
{
	for (int i = segs; i < nents; i++) {
		sg[i].dma_address = DMA_MAPPING_ERROR;
		sg[i].dma_length = 0;
	}
}

static int dma_map_sg_direct(struct dma_dev *dev, struct dma_sg *sg, int nents)
{
	int segs = 0, next;

	for (int i = 0; i < nents; i = next) {
		uint64_t phys = sg[i].phys, len = dma_sg_run(dev, sg, nents, i, &next);

		sg[segs].dma_address = phys;
		sg[segs].dma_length = len;
		segs++;
	}
	return segs;
}

/* IOVA bytes the list needs: each run from its granule start to its granule end. */
static uint64_t dma_sg_iova_len(const struct dma_dev *dev, const struct dma_sg *sg, int nents)
{
	uint64_t total = 0;
	int next;

	for (int i = 0; i < nents; i = next) {
		uint64_t len = dma_sg_run(dev, sg, nents, i, &next);
		uint64_t span = dma_align(dev, len + (sg[i].phys & dev->gmask));

		if (total + span < total)
			return 0; /* more than any IOVA space holds */
		total += span;
	}
	return total;
}

/* Map every run; on failure unmap (and flush) what was mapped. */
static int dma_sg_map_runs(struct dma_dev *dev, struct dma_sg *sg, int nents, uint64_t iova,
			   unsigned prot, int *segs)
{
	uint64_t cursor = 0;
	int next, ret = 0;

	*segs = 0;
	for (int i = 0; i < nents; i = next) {
		uint64_t off = sg[i].phys & dev->gmask;
		uint64_t len = dma_sg_run(dev, sg, nents, i, &next);
		uint64_t span = dma_align(dev, len + off);

		ret = iommu_map(dev->domain, iova + cursor, sg[i].phys - off, span, prot);
		if (ret)
			break;
		dma_sg_emit(dev, sg, segs, iova + cursor + off, len);
		cursor += span;
	}
	if (ret && cursor)
		iommu_unmap(dev->domain, iova, cursor);
	return ret;
}

static int dma_map_sg_iova(struct dma_dev *dev, struct dma_sg *sg, int nents,
			   enum dma_data_direction dir, uint64_t *pfn, uint64_t *npages)
{
	uint64_t len = dma_sg_iova_len(dev, sg, nents);
	int segs, ret;

	if (!len)
		return -ENOSPC;
	*npages = len >> dev->shift;
	ret = dma_iova_alloc(dev, *npages, pfn);
	if (ret)
		return ret;
	ret = dma_sg_map_runs(dev, sg, nents, *pfn << dev->shift, dma_dir_prot(dev, dir), &segs);
	if (ret) {
		iova_free(dev->iovad, *pfn, *npages);
		return ret;
	}
	return segs;
}

int dma_map_sg(struct dma_dev *dev, struct dma_sg *sg, int nents, enum dma_data_direction dir)
{
	uint64_t pfn = 0, npages = 0;
	struct dma_slot *slot;
	int ret;

	if (!dev)
		return -EINVAL;
	slot = dma_this_slot(dev);
	if (!sg || nents <= 0 || !dma_dir_valid(dir)) {
		atomic_fetch_add_explicit(&slot->map_errors, 1, memory_order_relaxed);
		return -EINVAL;
	}
	ret = dma_sg_check(dev, sg, nents);
	if (!ret) {
		if (dev->mode == DMA_MODE_DIRECT)
			ret = dma_map_sg_direct(dev, sg, nents);
		else
			ret = dma_map_sg_iova(dev, sg, nents, dir, &pfn, &npages);
	}
	if (ret > 0) {
		int segs = ret;

		dma_sg_terminate(sg, nents, segs);
		ret = dma_debug_add_sg(dev, sg, nents, segs, dir, pfn, npages);
		if (ret && npages) {
			iommu_unmap(dev->domain, pfn << dev->shift, npages << dev->shift);
			iova_free(dev->iovad, pfn, npages);
		}
		if (!ret)
			ret = segs;
	}
	if (ret < 0) {
		dma_sg_terminate(sg, nents, 0);
		atomic_fetch_add_explicit(&slot->map_errors, 1, memory_order_relaxed);
		return ret;
	}
	atomic_fetch_add_explicit(&slot->maps, 1, memory_order_relaxed);
	return ret;
}

/* The IOVA allocation behind the segments: first granule to the last segment's end. */
static int dma_sg_plan(const struct dma_dev *dev, const struct dma_sg *sg, int nents,
		       struct dma_debug_undo *u)
{
	int last = -1;

	for (int i = 0; i < nents && sg[i].dma_length; i++)
		last = i;
	if (last < 0)
		return -EINVAL;
	u->order = -1;
	u->iova_npages = 0;
	if (dev->mode == DMA_MODE_DIRECT)
		return 0;
	u->iova_pfn = sg[0].dma_address >> dev->shift;
	if (sg[last].dma_address + sg[last].dma_length < sg[last].dma_address ||
	    sg[last].dma_address + sg[last].dma_length <= sg[0].dma_address)
		return -ENOENT;
	u->iova_npages =
	    (dma_align(dev, sg[last].dma_address + sg[last].dma_length) >> dev->shift) -
	    u->iova_pfn;
	return 0;
}

int dma_unmap_sg(struct dma_dev *dev, struct dma_sg *sg, int nents, enum dma_data_direction dir)
{
	struct dma_debug_undo u;
	int ret;

	if (!dev || !sg || nents <= 0 || !dma_dir_valid(dir) || !sg[0].dma_length)
		return -EINVAL;
	if (dev->debug)
		ret = dma_debug_unmap_sg(dev, sg, nents, dir, &u);
	else
		ret = dma_sg_plan(dev, sg, nents, &u);
	if (ret)
		return ret;
	return dma_unmap_done(dev, &u);
}
