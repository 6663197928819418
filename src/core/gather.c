// SPDX-License-Identifier: MIT
/*
 * Lists of freed page-table pages. A page an unmap takes out of a table may still be held
 * by the hardware's paging-structure caches until the IOTLB flush, so it is listed here and
 * returned to its allocator only after that flush (iommu_iotlb_sync, or the DMA layer's
 * flush queue). The storage is a plain growable array, allocated only when an unmap
 * actually frees a table page.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/core.h"

int iommu_pages_list_add(struct iommu_pages_list *list, struct mem_alloc *alloc, uint64_t pa)
{
	if (!list || !alloc || (list->count && list->alloc != alloc))
		return -EINVAL;
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		uint64_t *pages = realloc(list->pages, cap * sizeof(*pages));

		if (!pages)
			return -ENOMEM;
		list->pages = pages;
		list->cap = cap;
	}
	list->alloc = alloc;
	list->pages[list->count++] = pa;
	return 0;
}

int iommu_pages_list_move(struct iommu_pages_list *dst, struct iommu_pages_list *src)
{
	if (!dst || !src || dst->count)
		return -EINVAL;
	free(dst->pages);
	*dst = *src;
	*src = (struct iommu_pages_list)IOMMU_PAGES_LIST_INIT;
	return 0;
}

size_t iommu_put_pages_list(struct iommu_pages_list *list)
{
	size_t refused = 0;

	if (!list)
		return 0;
	for (size_t i = 0; i < list->count; i++) {
		if (mem_free_page(list->alloc, list->pages[i]))
			refused++;
	}
	free(list->pages);
	*list = (struct iommu_pages_list)IOMMU_PAGES_LIST_INIT;
	return refused;
}
