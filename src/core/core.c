// SPDX-License-Identifier: MIT
/*
 * The core instance: its policy, its units, and the warning counter that stands in for
 * the kernel's WARN_ON when a driver breaks an op's contract.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/core.h"

int iommu_core_create(const struct iommu_config *cfg, struct iommu_core **out)
{
	struct iommu_core *core;

	if (!out)
		return -EINVAL;
	core = calloc(1, sizeof(*core));
	if (!core)
		return -ENOMEM;
	core->pasid_bitmap = calloc(IOMMU_MAX_PASIDS / 64, sizeof(uint64_t));
	if (!core->pasid_bitmap) {
		free(core);
		return -ENOMEM;
	}
	if (cfg)
		core->cfg = *cfg;
	core->pasid_hint = IOMMU_FIRST_GLOBAL_PASID;
	pthread_mutex_init(&core->lock, NULL);
	pthread_mutex_init(&core->pasid_lock, NULL);
	*out = core;
	return 0;
}

int iommu_core_destroy(struct iommu_core *core)
{
	if (!core)
		return 0;
	pthread_mutex_lock(&core->lock);
	if (core->units) {
		pthread_mutex_unlock(&core->lock);
		return -EBUSY;
	}
	pthread_mutex_unlock(&core->lock);
	pthread_mutex_destroy(&core->lock);
	pthread_mutex_destroy(&core->pasid_lock);
	free(core->pasid_bitmap);
	free(core);
	return 0;
}

void iommu_set_default_passthrough(struct iommu_core *core, bool passthrough)
{
	pthread_mutex_lock(&core->lock);
	core->cfg.passthrough = passthrough;
	pthread_mutex_unlock(&core->lock);
}

void iommu_set_dma_strict(struct iommu_core *core, bool strict)
{
	pthread_mutex_lock(&core->lock);
	core->cfg.dma_lazy = !strict;
	pthread_mutex_unlock(&core->lock);
}

unsigned int iommu_core_warnings(struct iommu_core *core)
{
	return __atomic_load_n(&core->warnings, __ATOMIC_RELAXED);
}

const char *iommu_core_last_warning(struct iommu_core *core)
{
	return __atomic_load_n(&core->last_warning, __ATOMIC_RELAXED);
}

/*
 * A driver broke a "must not fail" contract. The core keeps its own bookkeeping
 * consistent and counts the event; a library does not print, the counter is the report.
 */
void iommu_warn(struct iommu_core *core, const char *what)
{
	__atomic_store_n(&core->last_warning, what, __ATOMIC_RELAXED);
	__atomic_fetch_add(&core->warnings, 1, __ATOMIC_RELAXED);
}

static bool iommu_static_domain_ok(const struct iommu_domain *domain, enum iommu_domain_type type)
{
	return domain->type == type && domain->ops && domain->ops->attach_dev;
}

static int iommu_ops_check(const struct iommu_ops *ops)
{
	if (!ops || !ops->probe_device || !ops->domain_alloc_paging)
		return -EINVAL;
	if (!ops->blocked_domain ||
	    !iommu_static_domain_ok(ops->blocked_domain, IOMMU_DOMAIN_BLOCKED))
		return -EINVAL;
	if (ops->identity_domain &&
	    !iommu_static_domain_ok(ops->identity_domain, IOMMU_DOMAIN_IDENTITY))
		return -EINVAL;
	return 0;
}

int iommu_device_register(struct iommu_core *core, struct iommu_device *iommu)
{
	int ret;

	if (!core || !iommu || iommu->max_pasids > IOMMU_MAX_PASIDS)
		return -EINVAL;
	ret = iommu_ops_check(iommu->ops);
	if (ret)
		return ret;
	pthread_mutex_lock(&core->lock);
	if (iommu->core) {
		pthread_mutex_unlock(&core->lock);
		return -EBUSY;
	}
	iommu->core = core;
	iommu->devs = NULL;
	iommu->next = core->units;
	core->units = iommu;
	pthread_mutex_unlock(&core->lock);
	return 0;
}

int iommu_device_unregister(struct iommu_device *iommu)
{
	struct iommu_core *core;
	struct iommu_device **p;

	if (!iommu || !iommu->core)
		return -EINVAL;
	core = iommu->core;
	pthread_mutex_lock(&core->lock);
	if (iommu->devs) {
		pthread_mutex_unlock(&core->lock);
		return -EBUSY;
	}
	for (p = &core->units; *p; p = &(*p)->next) {
		if (*p == iommu) {
			*p = iommu->next;
			break;
		}
	}
	iommu->core = NULL;
	iommu->next = NULL;
	pthread_mutex_unlock(&core->lock);
	return 0;
}
