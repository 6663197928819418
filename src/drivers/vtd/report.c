// SPDX-License-Identifier: MIT
/*
 * What the driver tells the outside: counters, warnings, and the fault-injection switch.
 */
#include "intel.h"

int intel_iommu_set_skip(struct intel_iommu *iommu, enum intel_iommu_inv_kind kind)
{
	if (!iommu || (unsigned)kind >= INTEL_IOMMU_INV_NR)
		return -EINVAL;
	__atomic_store_n(&iommu->skip, (unsigned)kind, __ATOMIC_RELAXED);
	return 0;
}

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

int intel_iommu_get_stats(struct intel_iommu *iommu, struct intel_iommu_stats *out)
{
	const struct intel_stats_atomic *s;

	if (!iommu || !out)
		return -EINVAL;
	s = &iommu->stats;
	for (unsigned i = 0; i < 16; i++)
		out->desc[i] = ld(&s->desc[i]);
	for (unsigned i = 0; i < INTEL_IOMMU_INV_NR; i++)
		out->skipped[i] = ld(&s->skipped[i]);
	out->waits = ld(&s->waits);
	out->write_buffer_flushes = ld(&s->write_buffer_flushes);
	out->reg_invalidations = ld(&s->reg_invalidations);
	out->psi_widened = ld(&s->psi_widened);
	out->wait_timeouts = ld(&s->wait_timeouts);
	out->queue_errors = ld(&s->queue_errors);
	out->completion_errors = ld(&s->completion_errors);
	out->devtlb_timeouts = ld(&s->devtlb_timeouts);
	out->devices_gone = ld(&s->devices_gone);
	out->resubmits = ld(&s->resubmits);
	return 0;
}

const char *intel_iommu_last_warning(struct intel_iommu *iommu)
{
	return iommu ? __atomic_load_n(&iommu->last_warning, __ATOMIC_ACQUIRE) : NULL;
}

unsigned intel_iommu_warnings(struct intel_iommu *iommu)
{
	return iommu ? __atomic_load_n(&iommu->warnings, __ATOMIC_RELAXED) : 0;
}

void intel_iommu_set_quiet(struct intel_iommu *iommu, bool quiet)
{
	if (iommu)
		__atomic_store_n(&iommu->quiet, quiet, __ATOMIC_RELAXED);
}
