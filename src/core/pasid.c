// SPDX-License-Identifier: MIT
/*
 * PASID attachment (design.md section 3, rules 1, 2 and 5): the core stores which domain
 * sits on each PASID of a group and drives the domain's set_dev_pasid op; attach reserves
 * the slot, calls the driver and publishes only on success; replace tells the driver the
 * old domain and keeps it on failure; detach is attaching the blocked domain.
 */
#include <errno.h>

#include "core/core.h"

/*
 * The checks every PASID attach and replace make before taking the group mutex, in the
 * order Linux makes them (iommu_attach_device_pasid), so callers see the same errors.
 */
static int iommu_pasid_attach_check(struct iommu_domain *domain, struct iommu_dev *dev,
				    uint32_t pasid)
{
	struct iommu_domain *blocked;

	if (!domain || !dev)
		return -EINVAL;
	blocked = dev->iommu->ops->blocked_domain;
	if (!domain->ops || !domain->ops->set_dev_pasid || !blocked->ops->set_dev_pasid)
		return -EOPNOTSUPP;
	if (!iommu_domain_compatible(domain, dev))
		return -EINVAL;
	if (pasid == IOMMU_NO_PASID)
		return -EINVAL;
	if (!dev->max_pasids)
		return -EOPNOTSUPP;
	if (pasid >= dev->max_pasids)
		return -EINVAL;
	return 0;
}

int iommu_attach_device_pasid(struct iommu_domain *domain, struct iommu_dev *dev, uint32_t pasid)
{
	struct iommu_group *group;
	struct iommu_domain **slot;
	int ret = iommu_pasid_attach_check(domain, dev, pasid);

	if (ret)
		return ret;
	group = dev->group;
	pthread_mutex_lock(&group->mutex);
	/* Reserve: the slot exists and is free before the hardware is touched. */
	slot = iommu_pasid_array_slot(&group->pasids, pasid, true);
	if (!slot)
		ret = -ENOMEM;
	else if (*slot)
		ret = -EBUSY;
	else
		ret = domain->ops->set_dev_pasid(domain, dev, pasid, NULL);
	if (!ret) {
		/* Publish: only now can a lookup see the attachment. */
		iommu_domain_get(domain);
		iommu_pasid_array_publish(slot, domain);
		group->pasids.count++;
	}
	pthread_mutex_unlock(&group->mutex);
	return ret;
}

int iommu_replace_device_pasid(struct iommu_domain *domain, struct iommu_dev *dev, uint32_t pasid)
{
	struct iommu_group *group;
	struct iommu_domain **slot, *old;
	int ret = iommu_pasid_attach_check(domain, dev, pasid);

	if (ret)
		return ret;
	group = dev->group;
	pthread_mutex_lock(&group->mutex);
	slot = iommu_pasid_array_slot(&group->pasids, pasid, false);
	old = slot ? *slot : NULL;
	if (!old)
		ret = -EINVAL; /* nothing attached: not a replace */
	else if (old != domain)
		ret = domain->ops->set_dev_pasid(domain, dev, pasid, old);
	if (!ret && old != domain) {
		iommu_domain_get(domain);
		iommu_pasid_array_publish(slot, domain);
		iommu_domain_put(old);
	}
	pthread_mutex_unlock(&group->mutex);
	return ret;
}

int iommu_detach_device_pasid(struct iommu_domain *domain, struct iommu_dev *dev, uint32_t pasid)
{
	struct iommu_domain *blocked, **slot, *old;
	struct iommu_group *group;
	int ret = 0;

	if (!domain || !dev || pasid == IOMMU_NO_PASID || pasid >= dev->max_pasids)
		return -EINVAL;
	group = dev->group;
	blocked = dev->iommu->ops->blocked_domain;
	pthread_mutex_lock(&group->mutex);
	slot = iommu_pasid_array_slot(&group->pasids, pasid, false);
	old = slot ? *slot : NULL;
	if (!old) {
		ret = -ENOENT;
	} else if (old != domain) {
		ret = -EINVAL;
	} else {
		/* Attach succeeded, so the blocked domain has set_dev_pasid. */
		if (blocked->ops->set_dev_pasid(blocked, dev, pasid, old))
			iommu_warn(iommu_dev_core(dev), "blocked set_dev_pasid failed");
		iommu_pasid_array_publish(slot, NULL);
		group->pasids.count--;
		iommu_domain_put(old);
	}
	pthread_mutex_unlock(&group->mutex);
	return ret;
}

struct iommu_domain *iommu_get_domain_for_dev_pasid(struct iommu_dev *dev, uint32_t pasid)
{
	if (!dev)
		return NULL;
	if (pasid == IOMMU_NO_PASID)
		return iommu_get_domain_for_dev(dev);
	return iommu_pasid_array_load(&dev->group->pasids, pasid);
}
