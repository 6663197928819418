// SPDX-License-Identifier: MIT
/*
 * RID attachment: the group's `domain`. Attaching replaces the default (or blocked) domain
 * in one driver call that is told the old domain; detaching goes back to the default.
 */
#include <errno.h>

#include "core/core.h"

/*
 * Move the RID to `domain`. The driver is told the old domain; on its error nothing
 * changes, on success the new domain is published for lookups. Group mutex held.
 */
int iommu_group_set_rid_domain(struct iommu_group *group, struct iommu_domain *domain)
{
	struct iommu_domain *old = group->domain;
	int ret;

	if (old == domain)
		return 0;
	ret = domain->ops->attach_dev(domain, group->dev, old);
	if (ret)
		return ret;
	iommu_domain_get(domain);
	__atomic_store_n(&group->domain, domain, __ATOMIC_RELEASE);
	iommu_domain_put(old);
	return 0;
}

/*
 * Park the RID on the blocked domain. The blocked domain's attach_dev must not fail; if
 * it does, the core still forgets the old domain (its user will free it next) and warns.
 * Group mutex held.
 */
void iommu_group_block_rid(struct iommu_group *group)
{
	struct iommu_domain *blocked = group->dev->iommu->ops->blocked_domain;
	struct iommu_domain *old = group->domain;

	if (old == blocked)
		return;
	if (blocked->ops->attach_dev(blocked, group->dev, old))
		iommu_warn(iommu_dev_core(group->dev), "blocked attach_dev failed");
	iommu_domain_get(blocked);
	__atomic_store_n(&group->domain, blocked, __ATOMIC_RELEASE);
	iommu_domain_put(old);
}

int iommu_attach_device(struct iommu_domain *domain, struct iommu_dev *dev)
{
	struct iommu_group *group;
	struct iommu_domain *cur;
	int ret;

	if (!domain || !dev)
		return -EINVAL;
	if (!domain->ops || !domain->ops->attach_dev)
		return -ENODEV;
	if (!iommu_domain_compatible(domain, dev))
		return -EINVAL;
	group = dev->group;
	pthread_mutex_lock(&group->mutex);
	cur = group->domain;
	if (cur != domain && cur != group->default_domain && cur != dev->iommu->ops->blocked_domain)
		ret = -EBUSY;
	else
		ret = iommu_group_set_rid_domain(group, domain);
	pthread_mutex_unlock(&group->mutex);
	return ret;
}

int iommu_detach_device(struct iommu_domain *domain, struct iommu_dev *dev)
{
	struct iommu_group *group;

	if (!domain || !dev)
		return -EINVAL;
	group = dev->group;
	pthread_mutex_lock(&group->mutex);
	if (group->domain != domain || domain == group->default_domain) {
		pthread_mutex_unlock(&group->mutex);
		return -EINVAL;
	}
	if (iommu_group_set_rid_domain(group, group->default_domain)) {
		iommu_warn(iommu_dev_core(dev), "re-attaching the default domain failed");
		iommu_group_block_rid(group);
	}
	pthread_mutex_unlock(&group->mutex);
	return 0;
}

struct iommu_domain *iommu_get_domain_for_dev(struct iommu_dev *dev)
{
	if (!dev)
		return NULL;
	return __atomic_load_n(&dev->group->domain, __ATOMIC_ACQUIRE);
}

struct iommu_domain *iommu_get_default_domain(struct iommu_dev *dev)
{
	if (!dev)
		return NULL;
	/* Written once at probe, before the device is handed out. */
	return dev->group->default_domain;
}
