// SPDX-License-Identifier: MIT
/*
 * The invalidation entry points of cache_inv.h, on the unit's caches (caches.h): each one
 * turns its descriptor's scope (digest 5.2, 5.3, 5.7, 5.8) into the cache scope that removes
 * exactly the entries cache_inv.h lists - never fewer - in the IOTLB and in the first- and
 * second-stage paging-structure caches.
 */
#include "cache_inv.h"

#include "caches.h"

/*
 * An invalidation that empties several caches is one window of the generation protocol
 * (cache.h): begun before the first is emptied, ended after the last. A translation that
 * began before the end may have read an entry of a cache not emptied yet - a
 * paging-structure entry after the IOTLB was emptied - and puts nothing it made from it in
 * the IOTLB; one that begins after the end finds every entry gone.
 */
#define INV_WINDOW(vtd, body)                                                                      \
	do {                                                                                       \
		vtd_cache_inv_begin(vtd);                                                          \
		body;                                                                              \
		vtd_cache_inv_end(vtd);                                                            \
	} while (0)

/* ---- context cache (5.2) -------------------------------------------------------------- */

void vtd_cc_inv_global(struct vtd *vtd)
{
	vtd_ctxc_inv(vtd, false, 0, false, 0, 0);
}

void vtd_cc_inv_domain(struct vtd *vtd, uint16_t did)
{
	/* Legacy entries by their DID; scalable ones carry none and all go (caches.c). */
	vtd_ctxc_inv(vtd, true, did, false, 0, 0);
}

void vtd_cc_inv_device(struct vtd *vtd, uint16_t did, uint16_t sid, unsigned fm)
{
	vtd_ctxc_inv(vtd, true, did, true, sid, fm);
}

/* ---- IOTLB (5.3) ---------------------------------------------------------------------- */

void vtd_iotlb_inv_global(struct vtd *vtd)
{
	struct vtd_iotlb_scope s = {0};
	struct vtd_psc_scope ps = {0};

	INV_WINDOW(vtd, {
		vtd_iotlb_inv(vtd, &s);
		vtd_fspc_inv(vtd, &ps);
		vtd_sspc_inv(vtd, &ps);
	});
}

void vtd_iotlb_inv_domain(struct vtd *vtd, uint16_t did)
{
	struct vtd_iotlb_scope s = {.by_did = true, .did = did};
	struct vtd_psc_scope ps = {.by_did = true, .did = did};

	INV_WINDOW(vtd, {
		vtd_iotlb_inv(vtd, &s);
		vtd_fspc_inv(vtd, &ps);
		vtd_sspc_inv(vtd, &ps);
	});
}

void vtd_iotlb_inv_page(struct vtd *vtd, uint16_t did, const struct vtd_inv_range *r, bool ih)
{
	/* Second-stage and pass-through entries of `did` in the range; every first-stage
	 * and nested entry of `did`, whose inputs a second-stage range cannot name. */
	struct vtd_iotlb_scope s = {.by_did = true,
				    .did = did,
				    .by_range = true,
				    .range_ss_only = true,
				    .base = r->base,
				    .last = r->last};
	struct vtd_psc_scope ss = {
	    .by_did = true, .did = did, .by_range = true, .base = r->base, .last = r->last};
	/* Nested entries fold second-stage translations of first-stage tables in: a change
	 * of second-stage leaves can move them, so they go even with IH. */
	struct vtd_psc_scope fs = {.by_did = true, .did = did, .nested_only = ih};

	INV_WINDOW(vtd, {
		vtd_iotlb_inv(vtd, &s);
		vtd_fspc_inv(vtd, &fs);
		if (!ih)
			vtd_sspc_inv(vtd, &ss);
	});
}

/* ---- PASID-based IOTLB (5.7) ---------------------------------------------------------- */

void vtd_piotlb_inv_pasid(struct vtd *vtd, uint16_t did, uint32_t pasid)
{
	struct vtd_iotlb_scope s = {
	    .by_did = true, .did = did, .by_pasid = true, .pasid = pasid, .keep_global = true};
	struct vtd_psc_scope ps = {.by_did = true, .did = did, .by_pasid = true, .pasid = pasid};

	INV_WINDOW(vtd, {
		vtd_iotlb_inv(vtd, &s);
		vtd_fspc_inv(vtd, &ps);
	});
}

void vtd_piotlb_inv_page(struct vtd *vtd, uint16_t did, uint32_t pasid,
			 const struct vtd_inv_range *r, bool ih)
{
	struct vtd_iotlb_scope s = {.by_did = true,
				    .did = did,
				    .by_pasid = true,
				    .pasid = pasid,
				    .fs_only = true,
				    .by_range = true,
				    .base = r->base,
				    .last = r->last};
	struct vtd_psc_scope ps = {.by_did = true,
				   .did = did,
				   .by_pasid = true,
				   .pasid = pasid,
				   .by_range = true,
				   .base = r->base,
				   .last = r->last};

	INV_WINDOW(vtd, {
		vtd_iotlb_inv(vtd, &s);
		if (!ih)
			vtd_fspc_inv(vtd, &ps);
	});
}

/* ---- PASID cache (5.8) ---------------------------------------------------------------- */

void vtd_pc_inv_global(struct vtd *vtd)
{
	vtd_pc_inv(vtd, false, 0, false, 0);
}

void vtd_pc_inv_domain(struct vtd *vtd, uint16_t did)
{
	vtd_pc_inv(vtd, true, did, false, 0);
}

void vtd_pc_inv_pasid(struct vtd *vtd, uint16_t did, uint32_t pasid)
{
	vtd_pc_inv(vtd, true, did, true, pasid);
}

/* ---- interrupt-entry cache (5.5) ------------------------------------------------------ */

void vtd_iec_inv(struct vtd *vtd, bool global, uint16_t index, unsigned im)
{
	/* Interrupts are not remapped (vtd.h): no interrupt-entry cache to empty. */
	(void)vtd;
	(void)global;
	(void)index;
	(void)im;
}
