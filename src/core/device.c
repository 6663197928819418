// SPDX-License-Identifier: MIT
/*
 * Devices: probe onto a unit (group, driver, default domain on the RID) and release.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/core.h"

static bool iommu_is_default_type(int type)
{
	return type == IOMMU_DOMAIN_IDENTITY || type == IOMMU_DOMAIN_DMA ||
	       type == IOMMU_DOMAIN_DMA_FQ;
}

/*
 * The default domain type. Identity or translated: the device's request, else the
 * driver's requirement, else the policy - and the device may not contradict the driver.
 * Strict or lazy: the device's request, else the policy; lazy needs a driver that can
 * defer flushes. A policy of pass-through falls back to translated when the driver has no
 * identity domain; a request or requirement for identity does not.
 */
static int iommu_def_domain_type(struct iommu_dev *dev, const struct iommu_config *policy,
				 int *type)
{
	const struct iommu_ops *ops = dev->iommu->ops;
	int drv = ops->def_domain_type ? ops->def_domain_type(dev) : 0;
	int req = dev->requested_type;
	bool identity, lazy;

	if (drv && drv != IOMMU_DOMAIN_IDENTITY && drv != IOMMU_DOMAIN_DMA)
		return -EINVAL;
	if (drv && req && (drv == IOMMU_DOMAIN_IDENTITY) != (req == IOMMU_DOMAIN_IDENTITY))
		return -EINVAL;
	if (req || drv)
		identity = (req ? req : drv) == IOMMU_DOMAIN_IDENTITY;
	else
		identity = policy->passthrough && ops->identity_domain;
	if (identity) {
		if (!ops->identity_domain)
			return -EOPNOTSUPP;
		*type = IOMMU_DOMAIN_IDENTITY;
		return 0;
	}
	lazy = req == IOMMU_DOMAIN_DMA_FQ || (req != IOMMU_DOMAIN_DMA && policy->dma_lazy);
	if (lazy && !iommu_capable(dev, IOMMU_CAP_DEFERRED_FLUSH))
		lazy = false;
	*type = lazy ? IOMMU_DOMAIN_DMA_FQ : IOMMU_DOMAIN_DMA;
	return 0;
}

static int iommu_alloc_default_domain(struct iommu_dev *dev, int type, struct iommu_domain **out)
{
	int ret;

	if (type == IOMMU_DOMAIN_IDENTITY) {
		*out = dev->iommu->ops->identity_domain;
		return 0;
	}
	ret = iommu_paging_domain_alloc(dev, 0, out);
	if (!ret)
		(*out)->type = (enum iommu_domain_type)type;
	return ret;
}

static void iommu_free_default_domain(struct iommu_domain *domain)
{
	if (iommu_is_paging_domain(domain))
		domain->ops->free(domain);
}

static struct iommu_group *iommu_group_alloc(struct iommu_dev *dev)
{
	struct iommu_group *group = calloc(1, sizeof(*group));

	if (!group)
		return NULL;
	if (iommu_pasid_array_init(&group->pasids, dev->max_pasids)) {
		free(group);
		return NULL;
	}
	pthread_mutex_init(&group->mutex, NULL);
	group->dev = dev;
	return group;
}

static void iommu_group_free(struct iommu_group *group)
{
	iommu_pasid_array_destroy(&group->pasids);
	pthread_mutex_destroy(&group->mutex);
	free(group);
}

static uint32_t iommu_dev_max_pasids(const struct iommu_device *iommu, unsigned width)
{
	uint32_t dev_max = width ? 1u << width : 0;

	return dev_max < iommu->max_pasids ? dev_max : iommu->max_pasids;
}

/* Put `dev` on its unit's list unless the RID is taken. */
static int iommu_dev_link(struct iommu_dev *dev)
{
	struct iommu_core *core = iommu_dev_core(dev);
	int ret = 0;

	pthread_mutex_lock(&core->lock);
	for (struct iommu_dev *d = dev->iommu->devs; d; d = d->next) {
		if (d->rid == dev->rid)
			ret = -EEXIST;
	}
	if (!ret) {
		dev->next = dev->iommu->devs;
		dev->iommu->devs = dev;
	}
	pthread_mutex_unlock(&core->lock);
	return ret;
}

static void iommu_dev_unlink(struct iommu_dev *dev)
{
	struct iommu_core *core = iommu_dev_core(dev);

	pthread_mutex_lock(&core->lock);
	for (struct iommu_dev **p = &dev->iommu->devs; *p; p = &(*p)->next) {
		if (*p == dev) {
			*p = dev->next;
			break;
		}
	}
	pthread_mutex_unlock(&core->lock);
}

static struct iommu_dev *iommu_dev_alloc(struct iommu_device *iommu,
					 const struct iommu_dev_info *info)
{
	struct iommu_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->rid = info->rid;
	dev->pasid_width = info->pasid_width;
	dev->ats = info->ats;
	dev->max_pasids = iommu_dev_max_pasids(iommu, info->pasid_width);
	dev->requested_type = info->def_domain_type;
	dev->iommu = iommu;
	dev->group = iommu_group_alloc(dev);
	if (!dev->group) {
		free(dev);
		return NULL;
	}
	return dev;
}

static void iommu_dev_free(struct iommu_dev *dev)
{
	iommu_group_free(dev->group);
	free(dev);
}

/* The driver has the device: pick, allocate and attach its default domain. */
static int iommu_setup_default_domain(struct iommu_dev *dev)
{
	struct iommu_core *core = iommu_dev_core(dev);
	struct iommu_group *group = dev->group;
	struct iommu_config policy;
	struct iommu_domain *domain;
	int type, ret;

	pthread_mutex_lock(&core->lock);
	policy = core->cfg;
	pthread_mutex_unlock(&core->lock);

	ret = iommu_def_domain_type(dev, &policy, &type);
	if (ret)
		return ret;
	ret = iommu_alloc_default_domain(dev, type, &domain);
	if (ret)
		return ret;
	pthread_mutex_lock(&group->mutex);
	ret = iommu_group_set_rid_domain(group, domain);
	if (!ret)
		group->default_domain = domain;
	pthread_mutex_unlock(&group->mutex);
	if (ret)
		iommu_free_default_domain(domain);
	return ret;
}

int iommu_probe_device(struct iommu_device *iommu, const struct iommu_dev_info *info,
		       struct iommu_dev **out)
{
	struct iommu_dev *dev;
	int ret;

	if (!iommu || !iommu->core || !info || !out || info->pasid_width > 20)
		return -EINVAL;
	if (info->def_domain_type && !iommu_is_default_type(info->def_domain_type))
		return -EINVAL;
	dev = iommu_dev_alloc(iommu, info);
	if (!dev)
		return -ENOMEM;
	ret = iommu_dev_link(dev);
	if (ret)
		goto err_free;
	ret = iommu->ops->probe_device(dev);
	if (ret)
		goto err_unlink;
	ret = iommu_setup_default_domain(dev);
	if (ret)
		goto err_release;
	*out = dev;
	return 0;

err_release:
	if (iommu->ops->release_device)
		iommu->ops->release_device(dev);
err_unlink:
	iommu_dev_unlink(dev);
err_free:
	iommu_dev_free(dev);
	return ret;
}

int iommu_release_device(struct iommu_dev *dev)
{
	struct iommu_group *group;
	struct iommu_domain *def;

	if (!dev)
		return 0;
	group = dev->group;
	pthread_mutex_lock(&group->mutex);
	def = group->default_domain;
	if (group->pasids.count ||
	    (group->domain != def && group->domain != dev->iommu->ops->blocked_domain)) {
		pthread_mutex_unlock(&group->mutex);
		return -EBUSY;
	}
	iommu_group_block_rid(group);
	/* The group goes away with the device: it no longer uses the blocked domain. */
	iommu_domain_put(group->domain);
	pthread_mutex_unlock(&group->mutex);

	if (dev->iommu->ops->release_device)
		dev->iommu->ops->release_device(dev);
	iommu_free_default_domain(def);
	iommu_dev_unlink(dev);
	iommu_dev_free(dev);
	return 0;
}

bool iommu_capable(struct iommu_dev *dev, enum iommu_cap cap)
{
	if (!dev || !dev->iommu->ops->capable)
		return false;
	return dev->iommu->ops->capable(dev, cap);
}
