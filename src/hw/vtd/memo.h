/* SPDX-License-Identifier: MIT */
/*
 * The request memo: what lets an IOTLB hit cost about as much as one hash lookup.
 *
 * Hardware looks up the context cache, the PASID cache and the IOTLB for every request
 * (digest 5.11); the model does too, on its full path (translate.c). In front of that, each
 * thread keeps per unit a direct-mapped table indexed like a TLB by the low bits of the
 * input page, keyed by the request as it arrives - its PASID field, requester ID, AT and
 * flags, and the 4 KiB input page - holding the answer the full path gave it from those
 * three caches: the output page, the page size and the permissions. The full path's
 * decision depends on nothing else besides the cached entries, so the same request meets
 * the same decision; a request the full path has not served that way (another kind of
 * access, a fault, a translated request, a PASID out of range) finds no entry.
 *
 * It is an acceleration, not a cache of its own: it never answers differently from the
 * caches behind it, because an entry is trusted only while
 *   - the IOTLB slot it stands for still holds the same entry (the slot's version, which
 *     every fill and invalidation of the slot moves: a page-selective invalidation of
 *     another page leaves it alone), and
 *   - no context or PASID-cache entry has gone since it was made and the root-table state
 *     (TE, RTADDR, TTM) is the same (the unit's structure generation, which their
 *     invalidations, evictions and flushes and every latch of the root move - rare next to
 *     translations - and so does turning check mode on: check mode compares every cached
 *     translation, so those go through the caches themselves).
 * A memo hit counts as a hit of the caches it stands for and refreshes their LRU stamps
 * (once per clock tick). Entries are written only by their thread: a hit writes nothing
 * another thread reads, and a fill needs no lock.
 *
 * Memos are used only when the unit has a context cache and an IOTLB (and, for
 * scalable-mode entries, a PASID cache), and no trace callback (tracing reports every
 * translation from the full path).
 */
#ifndef SOFTIOMMU_HW_VTD_MEMO_H
#define SOFTIOMMU_HW_VTD_MEMO_H

#include "cache.h"

#include <stddef.h>

#define VTD_MEMO_NO_SLOT (~0u) /* struct vtd_memo_lru: not in that cache */

/*
 * A request as the memo keys it: one 8-byte load of struct pci_req from `pasid` (PASID,
 * requester ID, AT, flags, in that order, little-endian). A request without the PASID
 * prefix carries a PASID field the unit ignores: keeping it in the key only makes the key
 * more particular than the full path's decision, which is safe.
 */
_Static_assert(offsetof(struct pci_req, rid) == offsetof(struct pci_req, pasid) + 4 &&
		   offsetof(struct pci_req, at) == offsetof(struct pci_req, pasid) + 6 &&
		   offsetof(struct pci_req, flags) == offsetof(struct pci_req, pasid) + 7,
	       "struct pci_req: pasid, rid, at, flags packed in one quad-word");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the memo reads requests as words");

static inline uint64_t vtd_memo_word(const struct pci_req *req)
{
	uint64_t w;

	memcpy(&w, &req->pasid, sizeof(w));
	return w;
}

/* TLB-like indexing: consecutive pages of one kind of request never collide; the
 * request word moves the whole run. (The mask is the unit's, so that the index does not
 * wait for the memo's address.) */
static inline struct vtd_memo_ent *vtd_memo_slot(const struct vtd *vtd, struct vtd_memo *m,
						 uint64_t w, uint64_t page)
{
	return &m->ent[(page ^ ((w * 0x9e3779b97f4a7c15ull) >> 40)) & vtd->memo_mask];
}

/* This thread's memo of `vtd`, or NULL (none yet, memos off, or no thread slot). */
static inline struct vtd_memo *vtd_memo_get(const struct vtd *vtd)
{
	return __atomic_load_n(&vtd->memo[vtd_tslot], __ATOMIC_ACQUIRE);
}

/* This thread's memo of `vtd`, created if the unit may have one; NULL otherwise. */
struct vtd_memo *vtd_memo_create(struct vtd *vtd);

/*
 * Remember that the full path served `req` with `resp` from IOTLB slot `tlb_slot` at version
 * `ver` (holding `ent`), with the context and PASID-cache slots of `run`. `legacy`: in
 * legacy mode. Nothing happens unless the unit uses memos, check mode is off and every
 * cache took part.
 */
void vtd_memo_fill(struct vtd *vtd, const struct pci_req *req, const struct pci_resp *resp,
		   bool legacy, const struct vtd_iotlb_ent *ent, int tlb_slot, uint32_t ver,
		   const struct vtd_run *run);

/* Free every memo of the unit (vtd_destroy: no thread is using it). */
void vtd_memo_fini(struct vtd *vtd);

/* Hits the memos served, for the cache counters: [0] legacy, [1] scalable mode. */
void vtd_memo_hits(const struct vtd *vtd, uint64_t hits[2]);

#endif
