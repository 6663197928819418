// SPDX-License-Identifier: MIT
/*
 * Cache tags (design.md rules 2 and 4; Linux's drivers/iommu/intel/cache.c): each paging
 * domain records where its translations may be cached - an IOTLB tag per (unit, DID,
 * PASID) and a device-TLB tag per (ATS device, PASID) - refcounted, added by attach and
 * removed when the domain leaves that (device, PASID). A flush walks the tags and sends
 * one batch per unit, closed by one invalidation wait:
 *   - first stage: PASID-based IOTLB (type 6), page-selective within the PASID, or
 *     PASID-selective for the whole address space (digest 5.7);
 *   - second stage: IOTLB (type 2) page-selective, or domain-selective beyond CAP.MAMV or
 *     without CAP.PSI (5.3); the PASID plays no part there, so one descriptor per DID;
 *   - device TLB: type 3 for PASID 0, type 8 otherwise (5.4, 5.9), skipped for a device
 *     that stopped answering.
 * Tags are kept sorted by unit, IOTLB tags first, so that every unit's batch invalidates
 * its IOTLB before the device TLBs that could otherwise refill from it.
 */
#include <stdlib.h>

#include "intel.h"

/* Sort key: unit, then type. */
static int tag_cmp(const struct intel_cache_tag *t, const struct intel_iommu *unit, unsigned type)
{
	if (t->unit != unit)
		return (uintptr_t)t->unit < (uintptr_t)unit ? -1 : 1;
	return (int)t->type - (int)type;
}

static bool tag_match(const struct intel_cache_tag *t, const struct intel_cache_tag *k)
{
	if (t->unit != k->unit || t->type != k->type || t->pasid != k->pasid)
		return false;
	return k->type == INTEL_TAG_IOTLB ? t->did == k->did : t->sid == k->sid;
}

/* users++ on a matching tag, or insert a new one in sorted position. Domain lock held. */
static int tag_get(struct intel_domain *dom, const struct intel_cache_tag *k)
{
	size_t pos = dom->ntags;

	for (size_t i = 0; i < dom->ntags; i++) {
		if (tag_match(&dom->tags[i], k)) {
			dom->tags[i].users++;
			return 0;
		}
		if (pos == dom->ntags && tag_cmp(&dom->tags[i], k->unit, k->type) > 0)
			pos = i;
	}
	if (dom->ntags == dom->tags_cap) {
		size_t cap = dom->tags_cap ? 2 * dom->tags_cap : 4;
		struct intel_cache_tag *t = realloc(dom->tags, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		dom->tags = t;
		dom->tags_cap = cap;
	}
	for (size_t i = dom->ntags; i > pos; i--)
		dom->tags[i] = dom->tags[i - 1];
	dom->tags[pos] = *k;
	dom->tags[pos].users = 1;
	dom->ntags++;
	return 0;
}

static void tag_put(struct intel_domain *dom, const struct intel_cache_tag *k)
{
	for (size_t i = 0; i < dom->ntags; i++) {
		if (!tag_match(&dom->tags[i], k))
			continue;
		if (--dom->tags[i].users == 0) {
			for (size_t j = i + 1; j < dom->ntags; j++)
				dom->tags[j - 1] = dom->tags[j];
			dom->ntags--;
		}
		return;
	}
}

static void make_keys(struct intel_dev *idev, uint16_t did, uint32_t pasid,
		      struct intel_cache_tag *iotlb, struct intel_cache_tag *devtlb)
{
	*iotlb = (struct intel_cache_tag){
	    .unit = idev->unit, .type = INTEL_TAG_IOTLB, .did = did, .pasid = pasid};
	*devtlb = (struct intel_cache_tag){
	    .unit = idev->unit, .type = INTEL_TAG_DEVTLB, .sid = idev->sid, .pasid = pasid};
}

/* The tags of `dom` attached to (idev, pasid) with domain ID `did`. -ENOMEM. */
int intel_cache_tag_assign(struct intel_domain *dom, struct intel_dev *idev, uint16_t did,
			   uint32_t pasid)
{
	struct intel_cache_tag iotlb, devtlb;
	int ret;

	make_keys(idev, did, pasid, &iotlb, &devtlb);
	pthread_mutex_lock(&dom->lock);
	ret = tag_get(dom, &iotlb);
	if (!ret && idev->ats) {
		ret = tag_get(dom, &devtlb);
		if (ret)
			tag_put(dom, &iotlb);
	}
	pthread_mutex_unlock(&dom->lock);
	return ret;
}

void intel_cache_tag_unassign(struct intel_domain *dom, struct intel_dev *idev, uint16_t did,
			      uint32_t pasid)
{
	struct intel_cache_tag iotlb, devtlb;

	make_keys(idev, did, pasid, &iotlb, &devtlb);
	pthread_mutex_lock(&dom->lock);
	tag_put(dom, &iotlb);
	if (idev->ats)
		tag_put(dom, &devtlb);
	pthread_mutex_unlock(&dom->lock);
}

/*
 * The smallest naturally aligned block of 2^mask pages holding [start, last] - the idea of
 * Linux's calculate_psi_aligned_address: an address mask covers an aligned power of two,
 * so a range that straddles such a boundary needs a wider one. *aligned is its base.
 * Returns the mask (64 for the whole 64-bit space).
 */
unsigned intel_psi_mask(uint64_t start, uint64_t last, uint64_t *aligned)
{
	uint64_t diff = (start >> 12) ^ (last >> 12);
	unsigned mask = diff ? 64u - (unsigned)__builtin_clzll(diff) : 0;

	*aligned = mask >= 52 ? 0 : start & ~((INTEL_PAGE_SIZE << mask) - 1);
	return mask;
}

/* What one flush sends: the aligned range, and whether the range is the whole space. */
struct flush_range {
	uint64_t addr;
	unsigned mask;
	bool all;
	bool ih;
};

static void flush_iotlb_tag(struct intel_batch *b, const struct intel_domain *dom,
			    const struct intel_cache_tag *t, const struct flush_range *r)
{
	struct intel_iommu *unit = t->unit;

	if (dom->stage == INTEL_STAGE_FIRST) {
		/* 5.7: CAP.MAMV bounds second-stage masks only (Linux sends any mask below the
		 * 52-bit page-frame width page-selectively). */
		if (r->all)
			intel_batch_add(b, intel_desc_piotlb_pasid(t->did, t->pasid));
		else
			intel_batch_add(
			    b, intel_desc_piotlb_psi(t->did, t->pasid, r->addr, r->mask, r->ih));
	} else if (!r->all && unit->psi && r->mask <= unit->mamv) {
		intel_batch_add(b, intel_desc_iotlb_psi(unit, t->did, r->addr, r->mask, r->ih));
	} else {
		if (!r->all)
			INTEL_STAT_INC(unit, psi_widened); /* beyond CAP.MAMV, or no CAP.PSI */
		intel_batch_add(b, intel_desc_iotlb_dsi(unit, t->did));
	}
}

static void flush_devtlb_tag(struct intel_batch *b, const struct intel_cache_tag *t,
			     const struct flush_range *r)
{
	unsigned order =
	    r->all || r->mask > INTEL_DEVTLB_ALL_ORDER ? INTEL_DEVTLB_ALL_ORDER : r->mask;
	uint64_t addr = r->all ? 0 : r->addr;

	if (intel_sid_gone(t->unit, t->sid))
		return;
	if (t->pasid == IOMMU_NO_PASID)
		intel_batch_add(b, intel_desc_devtlb(t->unit, t->sid, addr, order));
	else
		intel_batch_add(b, intel_desc_pdevtlb(t->unit, t->sid, t->pasid, addr, order));
}

/* Walk the tags and send every invalidation `r` needs, one batch per unit. */
static void flush_tags(struct intel_domain *dom, const struct flush_range *r)
{
	struct intel_batch b;
	bool open = false;
	int last_did = -1;

	pthread_mutex_lock(&dom->lock);
	for (size_t i = 0; i < dom->ntags; i++) {
		const struct intel_cache_tag *t = &dom->tags[i];

		if (!open || t->unit != b.unit) {
			if (open)
				intel_batch_flush(&b);
			intel_batch_init(&b, t->unit);
			open = true;
			last_did = -1;
		}
		if (t->type == INTEL_TAG_DEVTLB) {
			flush_devtlb_tag(&b, t, r);
		} else if (dom->stage == INTEL_STAGE_FIRST || t->did != last_did) {
			/* Second stage: the RID and every PASID on one DID share one flush. */
			flush_iotlb_tag(&b, dom, t, r);
			last_did = t->did;
		}
	}
	if (open)
		intel_batch_flush(&b);
	pthread_mutex_unlock(&dom->lock);
}

/* Invalidate [start, last] (inclusive) wherever `dom` is attached; `ih`: leaves only. */
void intel_cache_tag_flush_range(struct intel_domain *dom, uint64_t start, uint64_t last, bool ih)
{
	struct flush_range r = {.ih = ih};

	r.mask = intel_psi_mask(start, last, &r.addr);
	r.all = r.mask >= 52;
	flush_tags(dom, &r);
}

/* Everything the domain may have left in any cache (the flush queue's flush-all). */
void intel_cache_tag_flush_all(struct intel_domain *dom)
{
	struct flush_range r = {.all = true, .mask = 64};

	flush_tags(dom, &r);
}

/*
 * After a map (iotlb_sync_map): a caching-mode unit may hold the range as not present, so
 * its IOTLB is invalidated for it (no device TLB: a page that was not present gave the
 * device no translation to cache); a unit with only CAP.RWBF gets its write buffer
 * flushed. Linux flushes only second-stage domains under caching mode; both stages are
 * flushed here, which is never wrong. As in Linux the map itself does not fail when the
 * flush does not complete: the queue code reports it, and the device would only fault.
 */
void intel_cache_tag_flush_range_np(struct intel_domain *dom, uint64_t start, uint64_t last)
{
	struct flush_range r = {0};
	struct intel_batch b;
	struct intel_iommu *prev = NULL;
	int last_did = -1;

	r.mask = intel_psi_mask(start, last, &r.addr);
	r.all = r.mask >= 52;
	pthread_mutex_lock(&dom->lock);
	for (size_t i = 0; i < dom->ntags; i++) {
		const struct intel_cache_tag *t = &dom->tags[i];
		struct intel_iommu *unit = t->unit;

		if (unit != prev) {
			if (prev && prev->cm)
				intel_batch_flush(&b);
			prev = unit;
			last_did = -1;
			intel_batch_init(&b, unit);
			if (!unit->cm)
				intel_flush_write_buffer(unit);
		}
		if (!unit->cm || t->type != INTEL_TAG_IOTLB)
			continue;
		if (dom->stage == INTEL_STAGE_FIRST || t->did != last_did)
			flush_iotlb_tag(&b, dom, t, &r);
		last_did = t->did;
	}
	if (prev && prev->cm)
		intel_batch_flush(&b);
	pthread_mutex_unlock(&dom->lock);
}
