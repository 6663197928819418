/* SPDX-License-Identifier: MIT */
/*
 * The unit's translation caches (digest 5.11) on the cache engine of cache.h:
 *   - context cache, by source-id (and the table mode, so a legacy entry is never read
 *     as a scalable one): the decoded context entry;
 *   - PASID cache, by source-id and PASID: the decoded PASID-table entry, whose DID tags
 *     it for invalidation;
 *   - IOTLB, by DID, PASID (or "no PASID" in legacy mode), input page and page size: the
 *     output page and each stage's permissions, the PGTT that produced it (the
 *     invalidation rules depend on it) and whether a write needs no A/D update.
 * Only successful lookups are cached (the model never caches not-present or faulting
 * entries, as hardware with CAP.CM = 0).
 *
 * An entry stays until an invalidation removes it (the scopes below), an eviction, or
 * vtd_reset(); nothing else - rewriting memory does not - exactly as silicon.
 */
#ifndef SOFTIOMMU_HW_VTD_CACHES_H
#define SOFTIOMMU_HW_VTD_CACHES_H

#include "cache.h"

#define VTD_IOTLB_NO_PASID (1u << 20) /* PASID tag of legacy-mode translations */

/* ---- context cache -------------------------------------------------------------------- */

static inline uint64_t vtd_ctxc_tag(uint16_t sid, bool scalable)
{
	return VTD_CACHE_VALID | (scalable ? 1ull << 16 : 0) | sid;
}

static inline __attribute__((always_inline)) bool
vtd_ctxc_lookup(struct vtd *vtd, uint16_t sid, bool scalable, struct vtd_ctx *ctx, unsigned *slot)
{
	uint64_t p[2], tag = vtd_ctxc_tag(sid, scalable);

	if (!vtd->ctxc.sets)
		return false;
	if (!vtd_cache_lookup(&vtd->ctxc, vtd_cache_set(&vtd->ctxc, tag), tag, 0, p, 2, slot)) {
		vtd_cache_miss(&vtd->ctxc);
		return false;
	}
	vtd_cache_hit(&vtd->ctxc);
	ctx->ptr = p[0];
	ctx->rid_pasid = (uint32_t)(p[1] & 0xfffff);
	ctx->did = (uint16_t)(p[1] >> 20);
	ctx->tt = (uint8_t)((p[1] >> 36) & 0xf);
	ctx->aw = (uint8_t)((p[1] >> 40) & 0xf);
	ctx->pdts = (uint8_t)((p[1] >> 44) & 0xf);
	ctx->flags = (uint8_t)(p[1] >> 48);
	return true;
}

/* The fills return the slot used, or -1 (not cached). */
int vtd_ctxc_fill(struct vtd *vtd, uint16_t sid, bool scalable, const struct vtd_ctx *ctx,
		  uint64_t gen);

/* ---- PASID cache ---------------------------------------------------------------------- */

static inline uint64_t vtd_pc_tag(uint16_t sid, uint32_t pasid)
{
	return VTD_CACHE_VALID | (uint64_t)pasid << 16 | sid;
}

static inline __attribute__((always_inline)) bool
vtd_pc_lookup(struct vtd *vtd, uint16_t sid, uint32_t pasid, struct vtd_pe *pe, unsigned *slot)
{
	uint64_t p[3], tag = vtd_pc_tag(sid, pasid);

	if (!vtd->pc.sets)
		return false;
	if (!vtd_cache_lookup(&vtd->pc, vtd_cache_set(&vtd->pc, tag), tag, 0, p, 3, slot)) {
		vtd_cache_miss(&vtd->pc);
		return false;
	}
	vtd_cache_hit(&vtd->pc);
	pe->slptptr = p[0] & ~0xfffull;
	pe->pgtt = (uint8_t)(p[0] & 7);
	pe->ss_levels = (uint8_t)((p[0] >> 3) & 0xf);
	pe->fs_levels = (uint8_t)((p[0] >> 7) & 7);
	pe->flptptr = p[1] & ~0xfffull;
	pe->ss_width = (uint8_t)(p[1] & 0x7f);
	pe->flags = (uint32_t)p[2];
	pe->did = (uint16_t)(p[2] >> 32);
	return true;
}

/* `pe` with the FPD of its directory entry folded into pe->flags. */
int vtd_pc_fill(struct vtd *vtd, uint16_t sid, uint32_t pasid, const struct vtd_pe *pe,
		uint64_t gen);

/* ---- IOTLB ---------------------------------------------------------------------------- */

static inline uint64_t vtd_iotlb_tag1(uint16_t did, uint32_t pasid)
{
	return (uint64_t)did << 32 | pasid;
}

static inline uint64_t vtd_iotlb_tag0(uint64_t addr, unsigned size_code)
{
	return VTD_CACHE_VALID | (addr >> (12 + 9 * size_code)) << 2 | size_code;
}

/* Look up the page containing `addr` at each page size, 4 KiB first. The caller counts
 * the hit (if the entry serves the request) or the miss. */
static inline __attribute__((always_inline)) bool vtd_iotlb_lookup(struct vtd *vtd, uint16_t did,
								   uint32_t pasid, uint64_t addr,
								   struct vtd_iotlb_ent *ent,
								   unsigned *slot)
{
	uint64_t p[2], tag1 = vtd_iotlb_tag1(did, pasid);

	if (!vtd->iotlb.sets)
		return false;
	for (unsigned code = 0; code < 3; code++) {
		uint64_t tag0 = vtd_iotlb_tag0(addr, code);

		if (vtd_cache_lookup(&vtd->iotlb, vtd_cache_set(&vtd->iotlb, tag0 ^ tag1), tag0,
				     tag1, p, 2, slot)) {
			ent->out = p[0] & ~0xfffull;
			ent->pgtt = (unsigned)(p[0] & 7);
			ent->clean = p[0] & 8;
			ent->shift = 12 + 9 * code;
			ent->fs = (unsigned)(p[1] & 0xff);
			ent->ss = (unsigned)((p[1] >> 8) & 0xff);
			return true;
		}
	}
	return false;
}

int vtd_iotlb_fill(struct vtd *vtd, uint16_t did, uint32_t pasid, uint64_t addr,
		   const struct vtd_iotlb_ent *ent, uint64_t gen);

/* ---- the request cache ------------------------------------------------------------------
 *
 * In front of the three caches: a direct-mapped table keyed by what a request carries -
 * source-id, table mode, PASID (or none) and 4 KiB input page - holding the combined
 * answer the context, PASID and IOTLB caches gave for it (output, permissions, the context
 * and PASID-entry flags the request checks need). It saves the three lookups on a hit.
 * It never answers differently from those caches: an entry is valid only while no
 * invalidation and no eviction has happened in any of them since the translation that
 * filled it began (one generation for all; correct software invalidates rarely, next to
 * the translation rate). It is bypassed in check mode, whose reports name the cache
 * that held a stale entry. Its hits count as hits of the caches it stands for; they do not
 * refresh those caches' LRU order.
 */

static inline uint64_t vtd_fast_key0(uint16_t sid, bool scalable, bool has_pasid, uint32_t pasid)
{
	return VTD_CACHE_VALID | sid | (uint64_t)scalable << 16 | (uint64_t)has_pasid << 17 |
	       (uint64_t)pasid << 18;
}

static inline struct vtd_fast_ent *vtd_fast_slot(const struct vtd *vtd, uint64_t key0,
						 uint64_t key1)
{
	uint64_t h = (key1 * 0x9e3779b97f4a7c15ull ^ key0) * 0xff51afd7ed558ccdull;

	return &vtd->fast[h >> vtd->fast_shift];
}

static inline uint64_t vtd_fast_gen(const struct vtd *vtd)
{
	return __atomic_load_n(&vtd->fast_gen, __ATOMIC_ACQUIRE);
}

static inline bool vtd_fast_read(const struct vtd_fast_ent *e, uint64_t key0, uint64_t key1,
				 uint64_t gen, uint64_t *out, uint64_t *info, uint64_t *flags,
				 uint64_t *slots)
{
	uint64_t q = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);

	if (vtd_cache_read(&e->key0) != key0 || vtd_cache_read(&e->key1) != key1 ||
	    vtd_cache_read(&e->gen) != gen)
		return false;
	*out = vtd_cache_read(&e->out);
	*info = vtd_cache_read(&e->info);
	*flags = vtd_cache_read(&e->flags);
	*slots = vtd_cache_read(&e->pad);
	return !(q & 1) && __atomic_load_n(&e->seq, __ATOMIC_RELAXED) == q;
}

/* The entry for (key0, key1) if it is valid in generation `gen` (two ways: the slot and
 * its neighbour); no lock, no retry. */
static inline __attribute__((always_inline)) bool vtd_fast_lookup(struct vtd *vtd, uint64_t key0,
								  uint64_t key1, uint64_t gen,
								  uint64_t *out, uint64_t *info,
								  uint64_t *flags, uint64_t *slots)
{
	const struct vtd_fast_ent *e = vtd_fast_slot(vtd, key0, key1);

	return vtd_fast_read(e, key0, key1, gen, out, info, flags, slots) ||
	       vtd_fast_read(vtd->fast + ((e - vtd->fast) ^ 1), key0, key1, gen, out, info, flags,
			     slots);
}

/* No slot: the cache is disabled or did not keep the entry. */
#define VTD_FAST_NO_SLOT 0x3fffffu

/* Refresh the LRU stamps of the cache entries a request-cache hit stands for. */
static inline void vtd_fast_touch(struct vtd *vtd, uint64_t info, uint64_t slots)
{
	unsigned ctx = (unsigned)(info >> 40) & VTD_FAST_NO_SLOT;
	unsigned pc = (unsigned)(slots >> 32) & VTD_FAST_NO_SLOT;
	unsigned tlb = (unsigned)slots & VTD_FAST_NO_SLOT;

	if (ctx != VTD_FAST_NO_SLOT)
		vtd_cache_touch(&vtd->ctxc, ctx);
	if (pc != VTD_FAST_NO_SLOT)
		vtd_cache_touch(&vtd->pc, pc);
	vtd_cache_touch(&vtd->iotlb, tlb);
}

/* Remember a translation that the caches answered (skipped if another thread is
 * writing the same entry: the table only accelerates). */
void vtd_fast_fill(struct vtd *vtd, uint64_t key0, uint64_t key1, uint64_t gen, uint64_t out,
		   uint64_t info, uint64_t flags, uint64_t slots);

/* Hits served by the request cache, for the counters (caches.c). */
static inline void vtd_fast_count(struct vtd *vtd, bool scalable)
{
	unsigned s = vtd_cache_shard ? vtd_cache_shard : vtd_cache_shard_init();
	uint64_t *c = &vtd->fast_hits[s & (VTD_CACHE_CTR_SHARDS - 1)][scalable ? 0 : 1];

	vtd_cache_count(c);
}

/* ---- invalidation scopes (called by cache_inv.c; each bumps the generation first) ---- */

/* Context cache: all; or by DID (legacy entries only carry one: scalable ones all go);
 * or by source-id under a function mask (legacy: and DID). */
unsigned vtd_ctxc_inv(struct vtd *vtd, bool by_did, uint16_t did, bool by_sid, uint16_t sid,
		      unsigned fm);

/* PASID cache: all, or by DID, or by DID and PASID. */
unsigned vtd_pc_inv(struct vtd *vtd, bool by_did, uint16_t did, bool by_pasid, uint32_t pasid);

/* What an IOTLB invalidation removes. */
struct vtd_iotlb_scope {
	bool by_did;
	uint16_t did;
	bool by_pasid; /* PASID-based (type 6): only entries of this PASID */
	uint32_t pasid;
	bool keep_global;   /* PASID-selective: first-stage global pages stay */
	bool fs_only;	    /* page-selective within PASID: only first-stage and nested entries */
	bool by_range;	    /* only entries overlapping [base, last] ... */
	bool range_ss_only; /* ... applied to second-stage/pass-through entries only (type 2
			       page-selective: first-stage and nested entries all go) */
	uint64_t base, last;
};

unsigned vtd_iotlb_inv(struct vtd *vtd, const struct vtd_iotlb_scope *scope);

/* Everything (vtd_reset, SRTP with CAP.ESRTPS). */
void vtd_caches_flush(struct vtd *vtd);

int vtd_caches_init(struct vtd *vtd);
void vtd_caches_fini(struct vtd *vtd);

#endif
