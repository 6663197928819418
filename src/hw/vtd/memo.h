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
 *
 * The requester memo. Beside the translations, each memo keeps a small direct-mapped table
 * keyed by the whole request word (no address): what the context and PASID caches decided
 * for that kind of request - the PASID entry to translate with (scalable mode; legacy mode:
 * what the context entry gives), the access as checked against the context and PASID
 * entries (SCT.5-SCT.9, SPT.5, SPT.6, RID_PASID and RID_PRIV applied), FPD, or for a
 * translated request (AT = 2) that it passes (ATS enabled in the context entry, digest
 * 2.5). Those decisions depend on nothing but the request word and the two cached entries,
 * so an IOTLB miss, and every translated request, skips both lookups while the entries
 * stand - checked by the structure generation alone, as above (their going, or a
 * replacement in their slots, moves it). A requester-memo hit counts as the context-cache
 * hit (and PASID-cache hit) it stands for and refreshes their LRU stamps; it is made only
 * where both caches took part, never in check mode.
 *
 * The paging-structure memo. Behind a requester-memo hit, an IOTLB miss on a first-stage
 * entry looks for its PDE - the leaf table - in a small direct-mapped table of the level-2
 * entries the first-stage paging-structure cache gave this thread, keyed by their tags
 * (DID, PASID and the address bits above 2 MiB) and trusted, as the translation memo is,
 * only while the cache slot keeps the same version (and the structure generation holds,
 * for version wrap-around). A hit counts as the paging-structure cache hit it stands for
 * and refreshes the slot's LRU stamp.
 */
#ifndef SOFTIOMMU_HW_VTD_MEMO_H
#define SOFTIOMMU_HW_VTD_MEMO_H

#include "cache.h"

#include <stddef.h>

#define VTD_MEMO_NO_SLOT (~0u) /* a memo's PASID-cache slot: none */

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

/*
 * The request word's hash: its top bits depend on every bit of the word. (A multiplicative
 * hash alone carries a bit only upwards: taking middle bits of the product dropped the
 * word's top byte - AT and the read/write flags - so a device's reads and writes of one
 * page evicted each other.) The top 10 bits, enough for the largest memo.
 */
static inline uint64_t vtd_memo_hash(uint64_t w)
{
	return ((w ^ (w >> 40)) * 0x9e3779b97f4a7c15ull) >> 54;
}

/* TLB-like indexing: consecutive pages of one kind of request never collide; the
 * request word moves the whole run. (The mask is the unit's, so that the index does not
 * wait for the memo's address.) */
static inline struct vtd_memo_ent *vtd_memo_slot(const struct vtd *vtd, struct vtd_memo *m,
						 uint64_t w, uint64_t page)
{
	return &m->ent[(page ^ vtd_memo_hash(w)) & vtd->memo_mask];
}

/* The requester memo's entry for request word `w` (see above). */
static inline struct vtd_memo_rq *vtd_memo_rq_slot(struct vtd_memo *m, uint64_t w)
{
	return &m->rq[vtd_memo_hash(w) & (VTD_MEMO_RQ_N - 1)];
}

/* The paging-structure memo's entry for a level-2 first-stage PSC entry (see above), from
 * its tag0 and its tag1's part of the PSC set hash (vtd_fspc_mix). */
static inline struct vtd_memo_psc *vtd_memo_psc_slot(struct vtd_memo *m, uint64_t tag0,
						     uint64_t fmix)
{
	return &m->psc[(tag0 ^ fmix) & (VTD_MEMO_PSC_N - 1)];
}

/* This thread's memo of `vtd`, or NULL (none yet, memos off, or no thread slot). */
static inline struct vtd_memo *vtd_memo_get(const struct vtd *vtd)
{
	return __atomic_load_n(&vtd->memo[vtd_tslot], __ATOMIC_ACQUIRE);
}

/* This thread's memo of `vtd`, created if the unit may have one; NULL otherwise. */
struct vtd_memo *vtd_memo_create(struct vtd *vtd);

/*
 * Write memo `m`'s entry `e` for `req` (vtd_memo_slot()): the 4 KiB output page `out`, the
 * translation's page size and permissions, IOTLB slot `tlb_slot` at version `ver`, the context and
 * PASID-cache slots (legacy: no PASID-cache slot) and the structure generation sampled before the
 * caches were read. The caller has checked that the memo may hold it (vtd_memo_fill).
 */
static inline __attribute__((always_inline)) void
vtd_memo_put(struct vtd *vtd, struct vtd_memo *m, struct vtd_memo_ent *e, const struct pci_req *req,
	     uint64_t out, uint64_t page_size, uint8_t perm, unsigned tlb_slot, uint32_t ver,
	     uint32_t ctx_slot, uint32_t pc_slot, uint64_t sgen, bool legacy)
{
	uint64_t w = vtd_memo_word(req), page = req->addr >> 12;

	if (VTD_UNLIKELY(legacy != m->legacy)) {
		/* The unit changed mode: the running count was the other mode's. */
		__atomic_store_n(&m->done[m->legacy], m->done[m->legacy] + m->hits,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&m->hits, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&m->legacy, legacy, __ATOMIC_RELAXED);
	}
	e->req = w;
	e->page = page;
	e->out = out;
	e->page_size = (uint32_t)page_size;
	e->sgen = sgen;
	e->verp = &vtd->iotlb.ver[tlb_slot];
	e->ver = ver;
	e->clock = (uint32_t)vtd_clock(vtd);
	e->perm = perm;
	e->ctx_slot = ctx_slot;
	e->pc_slot = legacy ? VTD_MEMO_NO_SLOT : pc_slot;
}

/*
 * Remember that the full path served `req` with `resp` from IOTLB slot `tlb_slot` at version
 * `ver` (holding `ent`), with the context and PASID-cache slots of `run` (and its memo, if
 * it has one). `legacy`: in legacy mode. Nothing happens unless the unit uses memos, check
 * mode is off and every cache took part.
 */
void vtd_memo_fill(struct vtd *vtd, const struct pci_req *req, const struct pci_resp *resp,
		   bool legacy, const struct vtd_iotlb_ent *ent, int tlb_slot, uint32_t ver,
		   const struct vtd_run *run);

/*
 * Remember in the requester memo what the caches decided for `req` (see above): translate
 * with `pe` (legacy: made from the context entry) and access `a` (its PASID and flags), or
 * for a translated request, `pass`. The context and PASID-cache slots, the memo and the
 * structure generation are `run`'s; nothing happens unless both caches took part (legacy
 * and `pass`: the context cache) and check mode is off. Returns the entry written, or NULL.
 */
struct vtd_memo_rq *vtd_memo_rq_fill(struct vtd *vtd, const struct pci_req *req,
				     const struct vtd_access *a, const struct vtd_pe *pe, bool fpd,
				     bool pass, const struct vtd_run *run);

/* Free every memo of the unit (vtd_destroy: no thread is using it). */
void vtd_memo_fini(struct vtd *vtd);

/* Add what the memos counted - the cache hits they stand for, and the counts of the path
 * behind them - to `out`, by enum vtd_cache_id. */
void vtd_memo_counters(const struct vtd *vtd, struct vtd_cache_counters out[VTD_CACHE_COUNT]);

/* Count one event of cache `id` in this thread's memo (the owner's plain increment). */
#define vtd_memo_count(m, id, field, n)                                                            \
	__atomic_store_n(&(m)->ctr[id].field, (m)->ctr[id].field + (n), __ATOMIC_RELAXED)

#endif
