/* SPDX-License-Identifier: MIT */
/*
 * The invalidation entry points: the one place where the unit's translation caches are
 * told to drop entries. Queued invalidation (inv_queue.c, digest 5.2-5.8) and
 * register-based invalidation (reg_inv.c, digest 1.6) call these after they have checked
 * the request; the caches (digest 5.11) implement them. Device-TLB invalidations are not
 * here: they leave the unit for the endpoint (inv_queue.c forwards them to the ATS port).
 *
 * Each function says which cached entries it must remove. "Paging-structure caches" are the
 * non-leaf first-stage (PML5E..PDE) and second-stage entries and the nested combined
 * entries of 5.11. An invalidation may always remove more than it must (hardware may
 * invalidate at a coarser granularity); it must never remove less.
 *
 * Locking: called with the register lock held (vtd->lock), from inside the MMIO write that
 * started the invalidation. The entries must be gone when the function returns: a
 * translation that starts after that must not be served from them.
 *
 * The helpers below decode the scopes so that every cache matches them the same way.
 */
#ifndef SOFTIOMMU_HW_VTD_CACHE_INV_H
#define SOFTIOMMU_HW_VTD_CACHE_INV_H

#include "vtd_internal.h"

/* ---- scope helpers --------------------------------------------------------------------- */

/*
 * The source-id bits a function mask ignores (digest 1.6 CCMD.FM, 5.2 FM): FM 0 none,
 * 1 bit 2, 2 bits 2:1, 3 bits 2:0 - so FM 3 covers all eight functions of a device.
 */
static inline uint16_t vtd_fm_ignore(unsigned fm)
{
	static const uint16_t ignore[4] = {0x0, 0x4, 0x6, 0x7};

	return ignore[fm & 3];
}

/* True if source-id `sid` is one of the devices named by `want` under function mask `fm`. */
static inline bool vtd_sid_match(uint16_t sid, uint16_t want, unsigned fm)
{
	uint16_t keep = (uint16_t)~vtd_fm_ignore(fm);

	return (sid & keep) == (want & keep);
}

/*
 * A page-selective range (digest 5.3, 5.7, 1.6 IVA_REG): 2^am 4 KiB pages at `addr`, which
 * software must align to that size; the hardware ignores the address bits below it.
 * `am` may be up to 63 (the field is 6 bits): 2^(12 + am) past 2^64 is the whole space,
 * returned as base 0, last ~0.
 */
struct vtd_inv_range {
	uint64_t base; /* first byte */
	uint64_t last; /* last byte (inclusive, so the whole space fits) */
};

static inline struct vtd_inv_range vtd_inv_range(uint64_t addr, unsigned am)
{
	struct vtd_inv_range r = {0, ~0ull};

	if (am + 12 < 64) {
		uint64_t size = 1ull << (am + 12);

		r.base = addr & ~(size - 1);
		r.last = r.base + (size - 1);
	}
	return r;
}

/* True if the cached span [base, base + size) overlaps the range; `size` is at least 1. */
static inline bool vtd_inv_range_hits(const struct vtd_inv_range *r, uint64_t base, uint64_t size)
{
	return base <= r->last && r->base <= base + (size - 1);
}

/* ---- context cache (5.2 cc_inv_dsc, 1.6 CCMD_REG) -------------------------------------- */

/* Every context-cache entry (root and context entries of every source-id). */
void vtd_cc_inv_global(struct vtd *vtd);

/*
 * Domain-selective: legacy mode, the entries whose context entry carries DID `did`. In
 * scalable mode context entries carry no DID (2.4), so the cache cannot tell which ones
 * belong to the domain: every entry must go (QEMU does the same; 5.2).
 */
void vtd_cc_inv_domain(struct vtd *vtd, uint16_t did);

/*
 * Device-selective: the entries of every source-id that vtd_sid_match(sid, `sid`, `fm`)
 * accepts. Legacy mode: only those whose context entry carries DID `did`; scalable mode:
 * DID is not part of the tag. Spec guidance (5.2) is that software follows this with
 * PASID-cache and IOTLB invalidations; this call does not imply them.
 */
void vtd_cc_inv_device(struct vtd *vtd, uint16_t did, uint16_t sid, unsigned fm);

/* ---- IOTLB and paging-structure caches (5.3 iotlb_inv_dsc, 1.6 IOTLB_REG) ------------- */

/* Every IOTLB entry and every paging-structure cache entry, of every DID and PASID. */
void vtd_iotlb_inv_global(struct vtd *vtd);

/*
 * Domain-selective: every IOTLB and paging-structure cache entry tagged with DID `did`,
 * whatever its PASID and PGTT (5.3, scalable-mode semantics).
 */
void vtd_iotlb_inv_domain(struct vtd *vtd, uint16_t did);

/*
 * Page-selective within domain `did`, range `r` (a second-stage input range):
 *   - second-stage and pass-through IOTLB entries of `did` (any PASID) that overlap `r`;
 *   - every first-stage and nested IOTLB entry of `did`, whatever its address: the range is
 *     a second-stage address and cannot be matched against first-stage inputs (5.3);
 *   - unless `ih` (the invalidation hint: only leaf entries changed), the paging-structure
 *     cache entries of `did` - second-stage entries whose span overlaps `r`, and all
 *     first-stage and nested ones of `did`;
 *   - with `ih` too, the nested (combined) first-stage entries of `did`: they hold
 *     second-stage translations of first-stage tables, which a leaf change can move.
 */
void vtd_iotlb_inv_page(struct vtd *vtd, uint16_t did, const struct vtd_inv_range *r, bool ih);

/* ---- PASID-based IOTLB (5.7 p_iotlb_inv_dsc) ------------------------------------------- */

/*
 * PASID-selective: every non-global IOTLB entry tagged DID `did` and PASID `pasid`, of every
 * PGTT (first-stage, nested, second-stage and pass-through: Linux tears PT and FS-only PASIDs
 * down with this descriptor), and the paging-structure cache entries of that DID and PASID.
 * First-stage entries with G = 1 (global pages) stay (5.7 "non-global" wording).
 */
void vtd_piotlb_inv_pasid(struct vtd *vtd, uint16_t did, uint32_t pasid);

/*
 * Page-selective within PASID: the first-stage and nested IOTLB entries of DID `did` and
 * PASID `pasid` that overlap `r` (a first-stage input range), global pages included.
 * Second-stage-only (PGTT 010) and pass-through (PGTT 100) entries are not affected (5.7).
 * Unless `ih`, also the first-stage and nested paging-structure cache entries of that DID
 * and PASID whose span overlaps `r`.
 */
void vtd_piotlb_inv_page(struct vtd *vtd, uint16_t did, uint32_t pasid,
			 const struct vtd_inv_range *r, bool ih);

/* ---- PASID cache (5.8 pc_inv_dsc) ------------------------------------------------------ */

/* Every PASID-cache entry (PASID-table and directory entries). */
void vtd_pc_inv_global(struct vtd *vtd);

/* Domain-selective: every PASID-cache entry whose PASID entry carries DID `did`. */
void vtd_pc_inv_domain(struct vtd *vtd, uint16_t did);

/* PASID-selective within domain: the PASID-cache entries of DID `did` and PASID `pasid`. */
void vtd_pc_inv_pasid(struct vtd *vtd, uint16_t did, uint32_t pasid);

/* ---- interrupt-entry cache (5.5 iec_inv_dsc) ------------------------------------------- */

/*
 * Global (`global`), or the 2^`im` interrupt-remapping table entries from `index`. The
 * model does not remap interrupts (vtd.h), so it caches no IRTE; the call is here so that
 * an interrupt-remapping cache has its hook.
 */
void vtd_iec_inv(struct vtd *vtd, bool global, uint16_t index, unsigned im);

#endif
