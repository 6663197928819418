// SPDX-License-Identifier: MIT
/*
 * The invalidation entry points of cache_inv.h, for a unit that caches nothing yet: every
 * translation is an uncached walk of memory, so there is no entry to remove and each
 * function is complete as soon as it is called. The translation caches replace these
 * bodies with the removals cache_inv.h specifies.
 */
#include "cache_inv.h"

void vtd_cc_inv_global(struct vtd *vtd)
{
	(void)vtd;
}

void vtd_cc_inv_domain(struct vtd *vtd, uint16_t did)
{
	(void)vtd;
	(void)did;
}

void vtd_cc_inv_device(struct vtd *vtd, uint16_t did, uint16_t sid, unsigned fm)
{
	(void)vtd;
	(void)did;
	(void)sid;
	(void)fm;
}

void vtd_iotlb_inv_global(struct vtd *vtd)
{
	(void)vtd;
}

void vtd_iotlb_inv_domain(struct vtd *vtd, uint16_t did)
{
	(void)vtd;
	(void)did;
}

void vtd_iotlb_inv_page(struct vtd *vtd, uint16_t did, const struct vtd_inv_range *r, bool ih)
{
	(void)vtd;
	(void)did;
	(void)r;
	(void)ih;
}

void vtd_piotlb_inv_pasid(struct vtd *vtd, uint16_t did, uint32_t pasid)
{
	(void)vtd;
	(void)did;
	(void)pasid;
}

void vtd_piotlb_inv_page(struct vtd *vtd, uint16_t did, uint32_t pasid,
			 const struct vtd_inv_range *r, bool ih)
{
	(void)vtd;
	(void)did;
	(void)pasid;
	(void)r;
	(void)ih;
}

void vtd_pc_inv_global(struct vtd *vtd)
{
	(void)vtd;
}

void vtd_pc_inv_domain(struct vtd *vtd, uint16_t did)
{
	(void)vtd;
	(void)did;
}

void vtd_pc_inv_pasid(struct vtd *vtd, uint16_t did, uint32_t pasid)
{
	(void)vtd;
	(void)did;
	(void)pasid;
}

void vtd_iec_inv(struct vtd *vtd, bool global, uint16_t index, unsigned im)
{
	(void)vtd;
	(void)global;
	(void)index;
	(void)im;
}
