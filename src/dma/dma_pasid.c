// SPDX-License-Identifier: MIT
/*
 * In-kernel PASID DMA (design.md section 3 rule 3; Linux's idxd_enable_system_pasid on
 * the DMA API since v6.6). The DMA layer does not program anything PASID-specific: it
 * allocates a global PASID and attaches the device's default domain - the one its DMA
 * addresses live in - to that PASID. The PASID entry then mirrors RID_PASID by
 * construction: the same page table and domain ID for a translated default domain, a
 * pass-through entry for an identity one. Flushes follow from rule 4: the domain's flush
 * covers every place it is attached, the kernel PASID included.
 */
#include <errno.h>

#include "dma/dma_internal.h"

static void dma_pasid_set_status(struct dma_dev *dev, const char *what)
{
	atomic_store_explicit(&dev->pasid_status, what, memory_order_release);
}

/* Say in words why a PASID cannot be had, from what the core's errors stand for. */
static const char *dma_pasid_alloc_reason(struct dma_dev *dev, int err)
{
	switch (err) {
	case -EOPNOTSUPP:
		if (!dev->idev->pasid_width)
			return "device has no PASID capability";
		if (!dev->idev->iommu->max_pasids)
			return "IOMMU unit does not translate PASIDs (legacy mode)";
		return "PASIDs not supported";
	case -ENOSPC:
		return "no free global PASID";
	case -EBUSY:
		return "kernel PASID already enabled";
	default:
		return "PASID allocation failed";
	}
}

static const char *dma_pasid_attach_reason(int err)
{
	switch (err) {
	case -EOPNOTSUPP:
		return "IOMMU driver cannot attach the default domain to a PASID";
	case -ENOMEM:
		return "out of memory attaching the PASID";
	default:
		return "IOMMU driver refused the PASID attachment";
	}
}

int dma_enable_pasid(struct dma_dev *dev, uint32_t *pasid)
{
	int p, ret;

	if (!dev || !pasid)
		return -EINVAL;
	pthread_mutex_lock(&dev->pasid_lock);
	if (dev->pasid != IOMMU_PASID_INVALID) {
		ret = -EBUSY;
		dma_pasid_set_status(dev, dma_pasid_alloc_reason(dev, ret));
		goto out;
	}
	p = iommu_alloc_global_pasid(dev->idev);
	if (p < 0) {
		ret = p;
		dma_pasid_set_status(dev, dma_pasid_alloc_reason(dev, ret));
		goto out;
	}
	ret = iommu_attach_device_pasid(dev->domain, dev->idev, (uint32_t)p);
	if (ret) {
		/* Nothing stays behind: the caller falls back to DMA without a PASID. */
		iommu_free_global_pasid(dev->idev, (uint32_t)p);
		dma_pasid_set_status(dev, dma_pasid_attach_reason(ret));
		goto out;
	}
	dev->pasid = (uint32_t)p;
	*pasid = (uint32_t)p;
	dma_pasid_set_status(dev, "enabled");
out:
	pthread_mutex_unlock(&dev->pasid_lock);
	return ret;
}

/* Detach (the core attaches the blocked domain: the entry is torn down and flushed). */
static void dma_pasid_release(struct dma_dev *dev)
{
	iommu_detach_device_pasid(dev->domain, dev->idev, dev->pasid);
	iommu_free_global_pasid(dev->idev, dev->pasid);
	dev->pasid = IOMMU_PASID_INVALID;
	dma_pasid_set_status(dev, "disabled");
}

int dma_disable_pasid(struct dma_dev *dev, uint32_t pasid)
{
	int ret = 0;

	if (!dev)
		return -EINVAL;
	pthread_mutex_lock(&dev->pasid_lock);
	if (pasid == IOMMU_PASID_INVALID || pasid != dev->pasid)
		ret = -EINVAL;
	else
		dma_pasid_release(dev);
	pthread_mutex_unlock(&dev->pasid_lock);
	return ret;
}

void dma_pasid_teardown(struct dma_dev *dev)
{
	pthread_mutex_lock(&dev->pasid_lock);
	if (dev->pasid != IOMMU_PASID_INVALID)
		dma_pasid_release(dev);
	pthread_mutex_unlock(&dev->pasid_lock);
}

uint32_t dma_dev_pasid(struct dma_dev *dev)
{
	uint32_t p;

	if (!dev)
		return IOMMU_PASID_INVALID;
	pthread_mutex_lock(&dev->pasid_lock);
	p = dev->pasid;
	pthread_mutex_unlock(&dev->pasid_lock);
	return p;
}

const char *dma_pasid_status(struct dma_dev *dev)
{
	if (!dev)
		return "no device";
	return atomic_load_explicit(&dev->pasid_status, memory_order_acquire);
}
