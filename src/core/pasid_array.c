// SPDX-License-Identifier: MIT
/*
 * The per-group PASID array (core.h explains the layout and the lock-free readers).
 * Attach is reserve-then-publish: iommu_pasid_array_slot(alloc) makes the slot exist (the
 * only step that can fail for lack of memory) before the driver is called, and
 * iommu_pasid_array_publish() stores the domain only after the driver succeeded, so a
 * lookup never sees an attachment the hardware may not have.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/core.h"

int iommu_pasid_array_init(struct iommu_pasid_array *pa, uint32_t max_pasids)
{
	pa->count = 0;
	pa->ndir = (max_pasids + IOMMU_PASID_LEAF_SIZE - 1) >> IOMMU_PASID_LEAF_SHIFT;
	pa->dir = NULL;
	if (!pa->ndir)
		return 0;
	pa->dir = calloc(pa->ndir, sizeof(*pa->dir));
	return pa->dir ? 0 : -ENOMEM;
}

void iommu_pasid_array_destroy(struct iommu_pasid_array *pa)
{
	for (uint32_t i = 0; i < pa->ndir; i++)
		free(pa->dir[i]);
	free(pa->dir);
	pa->dir = NULL;
	pa->ndir = 0;
}

/*
 * The slot of `pasid`, or NULL if it is out of range or (without `alloc`) its leaf does
 * not exist yet, or (with `alloc`) the leaf cannot be allocated. Writers only.
 */
struct iommu_domain **iommu_pasid_array_slot(struct iommu_pasid_array *pa, uint32_t pasid,
					     bool alloc)
{
	uint32_t hi = pasid >> IOMMU_PASID_LEAF_SHIFT;
	struct iommu_domain **leaf;

	if (hi >= pa->ndir)
		return NULL;
	leaf = pa->dir[hi];
	if (!leaf && alloc) {
		leaf = calloc(IOMMU_PASID_LEAF_SIZE, sizeof(*leaf));
		if (!leaf)
			return NULL;
		/* Release: a reader that finds the leaf finds it zeroed. */
		__atomic_store_n(&pa->dir[hi], leaf, __ATOMIC_RELEASE);
	}
	return leaf ? &leaf[pasid & (IOMMU_PASID_LEAF_SIZE - 1)] : NULL;
}

void iommu_pasid_array_publish(struct iommu_domain **slot, struct iommu_domain *domain)
{
	__atomic_store_n(slot, domain, __ATOMIC_RELEASE);
}
