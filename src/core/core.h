/* SPDX-License-Identifier: MIT */
/*
 * The IOMMU core's private structures: the core instance, groups and their PASID arrays.
 * Nothing outside src/core/ includes this.
 */
#ifndef SOFTIOMMU_CORE_CORE_H
#define SOFTIOMMU_CORE_CORE_H

#include <pthread.h>
#include <softiommu/iommu.h>

struct iommu_core {
	pthread_mutex_t lock; /* units, their device lists, the policy */
	struct iommu_device *units;
	struct iommu_config cfg;
	unsigned int warnings;	  /* atomic */
	const char *last_warning; /* atomic; a static string */

	pthread_mutex_t pasid_lock; /* the global PASID bitmap */
	uint64_t *pasid_bitmap;	    /* IOMMU_MAX_PASIDS bits, bit set = allocated */
	uint32_t pasid_hint;	    /* no free PASID below this one */
};

/*
 * The PASID array: which domain sits on each PASID of a group. A two-level radix tree
 * (1024-entry leaves allocated on first use) so that a 20-bit PASID space costs memory
 * only where PASIDs are used. Writers hold the group mutex; readers load the leaf and the
 * slot with acquire ordering and take no lock, and writers publish with release ordering,
 * so a reader sees either the old or the new domain, never a half-made leaf. Leaves are
 * freed only with the group, when no reader can exist.
 */
#define IOMMU_PASID_LEAF_SHIFT 10
#define IOMMU_PASID_LEAF_SIZE  (1u << IOMMU_PASID_LEAF_SHIFT)

struct iommu_pasid_array {
	struct iommu_domain ***dir; /* dir[pasid >> LEAF_SHIFT][pasid & (LEAF_SIZE - 1)] */
	uint32_t ndir;
	uint32_t count; /* attached PASIDs (writers only) */
};

/*
 * A group: the unit of isolation and of the core's bookkeeping. With PCIe ACS every
 * PASID-capable function is its own group, the only topology probe creates today; the
 * state hangs off the group (not the device) so that multi-device groups can come later
 * without changing the API.
 */
struct iommu_group {
	pthread_mutex_t mutex;		     /* serialises every attachment change */
	struct iommu_dev *dev;		     /* the member */
	struct iommu_domain *default_domain; /* set at probe, never changes */
	struct iommu_domain *domain;	     /* the RID's domain; atomic for readers */
	struct iommu_pasid_array pasids;
};

/* pasid_array.c */
int iommu_pasid_array_init(struct iommu_pasid_array *pa, uint32_t max_pasids);
void iommu_pasid_array_destroy(struct iommu_pasid_array *pa);
struct iommu_domain **iommu_pasid_array_slot(struct iommu_pasid_array *pa, uint32_t pasid,
					     bool alloc);
void iommu_pasid_array_publish(struct iommu_domain **slot, struct iommu_domain *domain);

/* core.c */
void iommu_warn(struct iommu_core *core, const char *what);

/* domain.c */
bool iommu_domain_compatible(const struct iommu_domain *domain, const struct iommu_dev *dev);
void iommu_domain_get(struct iommu_domain *domain);
void iommu_domain_put(struct iommu_domain *domain);

/* attach.c */
int iommu_group_set_rid_domain(struct iommu_group *group, struct iommu_domain *domain);
void iommu_group_block_rid(struct iommu_group *group);

/* The lock-free lookup (inline: it is on the DMA and fault paths). */
static inline struct iommu_domain *iommu_pasid_array_load(const struct iommu_pasid_array *pa,
							  uint32_t pasid)
{
	uint32_t hi = pasid >> IOMMU_PASID_LEAF_SHIFT;
	struct iommu_domain **leaf;

	if (hi >= pa->ndir)
		return NULL;
	leaf = __atomic_load_n(&pa->dir[hi], __ATOMIC_ACQUIRE);
	if (!leaf)
		return NULL;
	return __atomic_load_n(&leaf[pasid & (IOMMU_PASID_LEAF_SIZE - 1)], __ATOMIC_ACQUIRE);
}

static inline struct iommu_core *iommu_dev_core(const struct iommu_dev *dev)
{
	return dev->iommu->core;
}

#endif
