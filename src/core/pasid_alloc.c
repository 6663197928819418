// SPDX-License-Identifier: MIT
/*
 * The global PASID allocator: one namespace per core, shared by every device and unit
 * (design.md section 3, rule 3). PASID 0 is IOMMU_NO_PASID (the RID) and is never handed
 * out. The lowest free PASID below the device's limit is returned, as Linux's IDA does,
 * so a freed PASID is reused first. A bitmap of IOMMU_MAX_PASIDS bits (128 KiB) and a
 * hint below which every PASID is taken keep the common case to a word or two.
 */
#include <errno.h>

#include "core/core.h"

static bool pasid_test(const uint64_t *map, uint32_t p)
{
	return map[p / 64] >> (p % 64) & 1;
}

/* Lowest clear bit in [from, limit), or `limit` if none. */
static uint32_t pasid_find_free(const uint64_t *map, uint32_t from, uint32_t limit)
{
	uint32_t p = from;

	while (p < limit) {
		uint64_t free_bits = ~map[p / 64] & (~0ull << (p % 64));

		if (free_bits) {
			p = (p & ~63u) + (uint32_t)__builtin_ctzll(free_bits);
			return p < limit ? p : limit;
		}
		p = (p & ~63u) + 64;
	}
	return limit;
}

int iommu_alloc_global_pasid(struct iommu_dev *dev)
{
	struct iommu_core *core;
	uint32_t p;

	if (!dev)
		return -EINVAL;
	if (!dev->max_pasids)
		return -EOPNOTSUPP;
	core = iommu_dev_core(dev);
	pthread_mutex_lock(&core->pasid_lock);
	p = pasid_find_free(core->pasid_bitmap, core->pasid_hint, dev->max_pasids);
	/* The search found [hint, p) taken: keep "everything below the hint is taken". */
	if (p > core->pasid_hint)
		core->pasid_hint = p;
	if (p >= dev->max_pasids) {
		pthread_mutex_unlock(&core->pasid_lock);
		return -ENOSPC;
	}
	core->pasid_bitmap[p / 64] |= 1ull << (p % 64);
	core->pasid_hint = p + 1;
	pthread_mutex_unlock(&core->pasid_lock);
	return (int)p;
}

int iommu_free_global_pasid(struct iommu_dev *dev, uint32_t pasid)
{
	struct iommu_core *core;
	int ret = 0;

	if (!dev || pasid < IOMMU_FIRST_GLOBAL_PASID || pasid >= IOMMU_MAX_PASIDS)
		return -EINVAL;
	core = iommu_dev_core(dev);
	pthread_mutex_lock(&core->pasid_lock);
	if (!pasid_test(core->pasid_bitmap, pasid)) {
		ret = -EINVAL;
	} else {
		core->pasid_bitmap[pasid / 64] &= ~(1ull << (pasid % 64));
		if (pasid < core->pasid_hint)
			core->pasid_hint = pasid;
	}
	pthread_mutex_unlock(&core->pasid_lock);
	return ret;
}
