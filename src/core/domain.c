// SPDX-License-Identifier: MIT
/*
 * Domains: allocation through the owning driver, freeing, the attachment count that keeps
 * an attached domain from being freed, and the compatibility rule between a domain and a
 * device.
 */
#include <errno.h>

#include "core/core.h"

/*
 * A domain can go on a device if its driver made it, or if it is that driver's static
 * identity or blocked domain: those carry no owner, and testing `owner` alone is the bug
 * that cost Linux kernel-PASID DMA in pass-through mode (v6.12 - v6.15).
 */
bool iommu_domain_compatible(const struct iommu_domain *domain, const struct iommu_dev *dev)
{
	const struct iommu_ops *ops = dev->iommu->ops;

	if (domain == ops->identity_domain || domain == ops->blocked_domain)
		return true;
	return domain->owner == ops;
}

void iommu_domain_get(struct iommu_domain *domain)
{
	if (domain)
		__atomic_fetch_add(&domain->users, 1, __ATOMIC_RELAXED);
}

void iommu_domain_put(struct iommu_domain *domain)
{
	if (domain)
		__atomic_fetch_sub(&domain->users, 1, __ATOMIC_RELAXED);
}

/* A driver's domain must at least be freeable and have a page size. */
static bool iommu_paging_domain_ok(const struct iommu_domain *domain)
{
	return domain && domain->ops && domain->ops->free && domain->pgsize_bitmap &&
	       domain->aperture_start <= domain->aperture_end;
}

int iommu_paging_domain_alloc(struct iommu_dev *dev, unsigned int flags, struct iommu_domain **out)
{
	const unsigned int both = IOMMU_DOMAIN_ALLOC_FIRST_STAGE | IOMMU_DOMAIN_ALLOC_SECOND_STAGE;
	struct iommu_domain *domain = NULL;
	int ret;

	if (!dev || !out || (flags & ~IOMMU_DOMAIN_ALLOC_FLAGS) || (flags & both) == both)
		return -EINVAL;
	ret = dev->iommu->ops->domain_alloc_paging(dev, flags, &domain);
	if (ret)
		return ret;
	if (!iommu_paging_domain_ok(domain)) {
		iommu_warn(iommu_dev_core(dev), "domain_alloc_paging returned an unusable domain");
		if (domain && domain->ops && domain->ops->free)
			domain->ops->free(domain);
		return -EINVAL;
	}
	domain->type = IOMMU_DOMAIN_PAGING;
	domain->owner = dev->iommu->ops;
	domain->users = 0;
	*out = domain;
	return 0;
}

int iommu_domain_free(struct iommu_domain *domain)
{
	if (!domain)
		return 0;
	/* Static domains belong to their driver, default (DMA) domains to their group. */
	if (domain->type != IOMMU_DOMAIN_PAGING)
		return -EINVAL;
	if (__atomic_load_n(&domain->users, __ATOMIC_RELAXED))
		return -EBUSY;
	domain->ops->free(domain);
	return 0;
}
