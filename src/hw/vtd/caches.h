/* SPDX-License-Identifier: MIT */
/*
 * The unit's translation caches (digest 5.11) on the cache engine of cache.h:
 *   - context cache, by source-id (and the table mode, so a legacy entry is never read
 *     as a scalable one): the decoded context entry;
 *   - PASID cache, by source-id and PASID: the decoded PASID-table entry, whose DID tags
 *     it for invalidation;
 *   - IOTLB, by DID, PASID (or "no PASID" in legacy mode), input page and page size: the
 *     output page and each stage's permissions, the PGTT that produced it (the
 *     invalidation rules depend on it) and whether a write needs no A/D update;
 *   - first-stage paging-structure cache, by DID, PASID, level and the input-address bits
 *     that select the entry: a present non-leaf entry (PML5E, PML4E, PDPE, PDE) as the
 *     next table's address and the permissions gathered down to it (nested: the next
 *     table's guest- and host-physical address, the second-stage translation folded in);
 *   - second-stage paging-structure cache, by DID, level and input bits: a present
 *     non-leaf second-stage entry, likewise.
 * A walk that misses the IOTLB starts below the deepest paging-structure entry cached for
 * its address, so that it reads only the last level(s).
 *
 * Negative entries. With CAP.CM = 0 only successful lookups are cached. With CAP.CM = 1
 * the hardware may cache not-present entries too (digest 1.2, 5.11), and the model does:
 * a not-present PASID directory or table entry in the PASID cache, and a page that is not
 * present (first or second stage) in the IOTLB, so that software which makes something
 * present without the invalidation CM requires keeps getting the fault.
 *
 * An entry stays until an invalidation removes it (the scopes below), an eviction, or
 * vtd_reset(); nothing else - rewriting memory does not - exactly as silicon.
 */
#ifndef SOFTIOMMU_HW_VTD_CACHES_H
#define SOFTIOMMU_HW_VTD_CACHES_H

#include "cache.h"

#define VTD_IOTLB_NO_PASID (1u << 20) /* PASID tag of legacy-mode translations */

/* Summary words (cache.h): by DID, by DID and PASID, and first-stage IOTLB entries by DID. */
#define VTD_SUM_DID   0
#define VTD_SUM_DP    1
#define VTD_SUM_FSDID 2

static inline uint64_t vtd_did_bit(uint16_t did)
{
	return vtd_cache_sumbit(did + 1);
}

static inline uint64_t vtd_dp_bit(uint16_t did, uint32_t pasid)
{
	return vtd_cache_sumbit((uint64_t)did << 32 | (pasid + 1));
}

/* ---- context cache -------------------------------------------------------------------- */

static inline uint64_t vtd_ctxc_tag(uint16_t sid, bool scalable)
{
	return VTD_CACHE_VALID | (scalable ? 1ull << 16 : 0) | sid;
}

static inline __attribute__((always_inline)) bool
vtd_ctxc_lookup(struct vtd *vtd, uint16_t sid, bool scalable, struct vtd_ctx *ctx, unsigned *slot)
{
	uint64_t p[2] = {0}, tag = vtd_ctxc_tag(sid, scalable);
	uint32_t ver;

	if (!vtd->ctxc.sets)
		return false;
	if (!vtd_cache_lookup(vtd, &vtd->ctxc, vtd_cache_set(&vtd->ctxc, tag), tag, 0, p, 2, slot,
			      &ver)) {
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

#define VTD_PC_NEG (1ull << 63) /* payload word 2: a not-present entry (CAP.CM) */

static inline __attribute__((always_inline)) bool
vtd_pc_lookup(struct vtd *vtd, uint16_t sid, uint32_t pasid, struct vtd_pe *pe, unsigned *slot)
{
	uint64_t p[3] = {0}, tag = vtd_pc_tag(sid, pasid);
	uint32_t ver;

	if (!vtd->pc.sets)
		return false;
	if (!vtd_cache_lookup(vtd, &vtd->pc, vtd_cache_set(&vtd->pc, tag), tag, 0, p, 3, slot,
			      &ver)) {
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
	pe->neg = (p[2] & VTD_PC_NEG) ? (uint8_t)(p[2] >> 48) : 0;
	return true;
}

/* `pe` with the FPD of its directory entry folded into pe->flags; a negative entry
 * (pe->neg = its fault reason) only with CAP.CM. */
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

/* The set of a page: by DID and page, not PASID, so that a page-selective invalidation
 * by domain (any PASID, digest 5.3) finds it by probing. (The DID is mixed in by a
 * multiplication: the set hash keeps only some middle bits of its product.) */
static inline uint64_t vtd_iotlb_mix(uint16_t did)
{
	return (uint64_t)did * 0xff51afd7ed558ccdull;
}

static inline unsigned vtd_iotlb_set(const struct vtd *vtd, uint16_t did, uint64_t tag0)
{
	return vtd_cache_set(&vtd->iotlb, tag0 ^ vtd_iotlb_mix(did));
}

/* An IOTLB entry's payload words, of size `code`, decoded. */
static inline void vtd_iotlb_decode(const uint64_t p[2], unsigned code, struct vtd_iotlb_ent *ent)
{
	ent->out = p[0] & ~0xfffull;
	ent->pgtt = (unsigned)(p[0] & 7);
	ent->clean = p[0] & 8;
	ent->neg = (uint8_t)((p[0] >> 4) & 3);
	ent->shift = 12 + 9 * code;
	ent->fs = (unsigned)(p[1] & 0xff);
	ent->ss = (unsigned)((p[1] >> 8) & 0xff);
}

/* The page at size `code` containing `addr`, in the IOTLB: true with *ent, slot, version. */
static inline __attribute__((always_inline)) bool
vtd_iotlb_probe(struct vtd *vtd, uint64_t tag1, uint16_t did, uint64_t addr, unsigned code,
		struct vtd_iotlb_ent *ent, unsigned *slot, uint32_t *ver, long long *seen)
{
	uint64_t p[2] = {0}, tag0 = vtd_iotlb_tag0(addr, code);

	if (!vtd_cache_lookup_seen(vtd, &vtd->iotlb, vtd_iotlb_set(vtd, did, tag0), tag0, tag1, p,
				   2, slot, ver, seen))
		return false;
	vtd_iotlb_decode(p, code, ent);
	return true;
}

/* Look up the page containing `addr` at each page size the IOTLB holds entries of, 4 KiB
 * first. The caller counts the hit (if the entry serves the request) or the miss. */
static inline __attribute__((always_inline)) bool
vtd_iotlb_lookup_seen(struct vtd *vtd, uint16_t did, uint32_t pasid, uint64_t addr,
		      struct vtd_iotlb_ent *ent, unsigned *slot, uint32_t *ver, long long *seen4k)
{
	uint64_t tag1 = vtd_iotlb_tag1(did, pasid);

	*seen4k = VTD_CACHE_UNSEEN;
	if (!vtd->iotlb.sets)
		return false;
	if (vtd_iotlb_probe(vtd, tag1, did, addr, 0, ent, slot, ver, seen4k))
		return true;
	if (__atomic_load_n(&vtd->iotlb.size[1], __ATOMIC_SEQ_CST) &&
	    vtd_iotlb_probe(vtd, tag1, did, addr, 1, ent, slot, ver, NULL))
		return true;
	return __atomic_load_n(&vtd->iotlb.size[2], __ATOMIC_SEQ_CST) &&
	       vtd_iotlb_probe(vtd, tag1, did, addr, 2, ent, slot, ver, NULL);
}

static inline __attribute__((always_inline)) bool vtd_iotlb_lookup(struct vtd *vtd, uint16_t did,
								   uint32_t pasid, uint64_t addr,
								   struct vtd_iotlb_ent *ent,
								   unsigned *slot, uint32_t *ver)
{
	long long seen;

	return vtd_iotlb_lookup_seen(vtd, did, pasid, addr, ent, slot, ver, &seen);
}

/* The IOTLB's payload words and summary bits of a translation (vtd_iotlb_fill). */
static inline void vtd_iotlb_words(const struct vtd_iotlb_ent *ent, uint64_t p[2])
{
	p[0] = (ent->out & ~((1ull << ent->shift) - 1)) | ent->pgtt | (ent->clean ? 8 : 0) |
	       (uint64_t)ent->neg << 4;
	p[1] = ent->fs | ent->ss << 8;
}

/* The IOTLB's summary bits of an entry (as caches.c's iotlb_sum() gives them). */
static inline void vtd_iotlb_sums(uint16_t did, uint32_t pasid, unsigned pgtt,
				  uint64_t sum[VTD_CACHE_SUMS])
{
	sum[VTD_SUM_DID] = vtd_did_bit(did);
	sum[VTD_SUM_DP] = vtd_dp_bit(did, pasid);
	sum[VTD_SUM_FSDID] = pgtt == VTD_PGTT_FS || pgtt == VTD_PGTT_NESTED ? sum[VTD_SUM_DID] : 0;
}

/* Put payload `p` under (tag0, tag1) into IOTLB set `set` (vtd_cache_fill). */
struct vtd_fill vtd_iotlb_fill_words(struct vtd *vtd, unsigned set, uint64_t tag0, uint64_t tag1,
				     const uint64_t p[2], const uint64_t sum[VTD_CACHE_SUMS],
				     uint64_t gen, long long seen, struct vtd_memo_ctr *mc);

/* Put `ent` in the IOTLB (vtd_cache_fill; `seen4k`: what the lookup of the 4 KiB page saw,
 * vtd_iotlb_lookup_seen, or VTD_CACHE_UNSEEN). */
struct vtd_fill vtd_iotlb_fill(struct vtd *vtd, uint16_t did, uint32_t pasid, uint64_t addr,
			       const struct vtd_iotlb_ent *ent, uint64_t gen, long long seen4k);

/* ---- paging-structure caches ---------------------------------------------------------- */

/* The tag of the non-leaf entry at `lvl` (2..5) that maps `addr`: the address bits above
 * the table it points to. */
#define VTD_PSC_PREFIX ((1ull << 56) - 1)
#define VTD_PSC_NESTED (1ull << 60) /* first stage: a nested (combined) entry */

static inline uint64_t vtd_psc_tag0(uint64_t addr, unsigned lvl)
{
	return VTD_CACHE_VALID | (uint64_t)lvl << 56 |
	       ((addr >> VTD_PT_LEVEL_SHIFT(lvl)) & VTD_PSC_PREFIX);
}

/* Payload word 0 of a first-stage entry: the next table | R/W, U/S ANDed | XD ORed down to
 * it; word 1: the next table's guest-physical address (nested; else the same). Second
 * stage: the next table | R, W, X ANDed. */
#define VTD_FSPC_ACC (VTD_FL_RW | VTD_FL_US | VTD_FL_XD)
#define VTD_SSPC_ACC (VTD_SL_R | VTD_SL_W | VTD_SL_X | VTD_SL_A)

/* The set of a first-stage entry: by address, level, DID and PASID - not by whether the
 * entry is nested, so that a range probe finds both kinds. */
static inline uint64_t vtd_fspc_mix(uint64_t tag1)
{
	return tag1 * 0xff51afd7ed558ccdull;
}

static inline unsigned vtd_fspc_set(const struct vtd *vtd, uint64_t tag0, uint64_t tag1)
{
	return vtd_cache_set(&vtd->fspc, (tag0 & ~VTD_PSC_NESTED) ^ vtd_fspc_mix(tag1));
}

/*
 * The deepest cached first-stage entry above `va` (levels 2..`levels`; `nested`: combined
 * entries), as a start for the walk: *st. False when none is cached (or the cache is off).
 * Counts nothing.
 */
static inline __attribute__((always_inline)) bool vtd_fspc_find(struct vtd *vtd, uint16_t did,
								uint32_t pasid, bool nested,
								uint64_t va, unsigned levels,
								struct vtd_walk_start *st)
{
	uint64_t tag1 = vtd_iotlb_tag1(did, pasid), p[2] = {0};
	uint32_t ver;
	unsigned slot;

	if (!vtd->fspc.sets)
		return false;
	/* Deepest first: a PDE saves the most reads. */
	for (unsigned lvl = 2; lvl <= levels; lvl++) {
		uint64_t tag0 = vtd_psc_tag0(va, lvl) | (nested ? VTD_PSC_NESTED : 0);

		if (!vtd_cache_lookup(vtd, &vtd->fspc, vtd_fspc_set(vtd, tag0, tag1), tag0, tag1, p,
				      2, &slot, &ver))
			continue;
		st->table = p[0] & VTD_FL_ADDR_MASK;
		st->gtable = p[1];
		st->and_all = ~(uint64_t)(VTD_FL_RW | VTD_FL_US) | p[0];
		st->or_all = p[0] & VTD_FL_XD;
		st->lvl = (uint8_t)(lvl - 1);
		st->from = (uint8_t)lvl;
		return true;
	}
	return false;
}

/* vtd_fspc_find(), counting the hit or the miss (when the cache is on). */
bool vtd_fspc_lookup(struct vtd *vtd, uint16_t did, uint32_t pasid, bool nested, uint64_t va,
		     unsigned levels, struct vtd_walk_start *st);
/* Likewise in the second-stage cache, for a walk of `levels` levels. A second-stage entry
 * also says whether A was set in it and every entry above (ANDed in with R, W, X): a walk
 * that maintains A/D (`need_a`: SLADE) passes over one that was not. */
bool vtd_sspc_lookup(struct vtd *vtd, uint16_t did, uint64_t iova, unsigned levels, bool need_a,
		     struct vtd_walk_start *st);

/* Cache the non-leaf entries a successful walk read (those below its start). */
void vtd_fspc_fill(struct vtd *vtd, uint16_t did, uint32_t pasid, bool nested,
		   const struct vtd_walk *w, uint64_t gen);
/* `a_set`: the translation set A in every entry of the walk (SLADE): it is not in w->ev. */
void vtd_sspc_fill(struct vtd *vtd, uint16_t did, uint64_t iova, const struct vtd_walk *w,
		   bool a_set, uint64_t gen);

/* ---- invalidation scopes (called by cache_inv.c; each bumps the generation first) ---- */

/* Context cache: all; or by DID (legacy entries only carry one: scalable ones all go);
 * or by source-id under a function mask (legacy: and DID). */
unsigned vtd_ctxc_inv(struct vtd *vtd, bool by_did, uint16_t did, bool by_sid, uint16_t sid,
		      unsigned fm);

/* PASID cache: all, or by DID, or by DID and PASID (negative entries carry no DID: every
 * domain-selective request takes them, and a PASID-selective one whatever its DID). */
unsigned vtd_pc_inv(struct vtd *vtd, bool by_did, uint16_t did, bool by_pasid, uint32_t pasid);

/* What an IOTLB invalidation removes. */
struct vtd_iotlb_scope {
	bool by_did;
	uint16_t did;
	bool by_pasid; /* PASID-based (type 6): only entries of this PASID */
	uint32_t pasid;
	bool keep_global;   /* PASID-selective: first-stage global pages stay */
	bool fs_only;	    /* page-selective within PASID: only first-stage and nested entries */
	bool ss_only;	    /* only second-stage and pass-through entries */
	bool by_range;	    /* only entries overlapping [base, last] ... */
	bool range_ss_only; /* ... applied to second-stage/pass-through entries only (type 2
			       page-selective: first-stage and nested entries all go) */
	uint64_t base, last;
};

/* Returns how many IOTLB entries went. Page ranges probe only the sets that can hold the
 * pages named (at each page size present); domain and PASID scopes look only at the sets
 * whose summary names them. */
unsigned vtd_iotlb_inv(struct vtd *vtd, const struct vtd_iotlb_scope *scope);

/* What a paging-structure-cache invalidation removes (digest 5.11, cache_inv.h). */
struct vtd_psc_scope {
	bool by_did;
	uint16_t did;
	bool by_pasid; /* first stage: only entries of this PASID */
	uint32_t pasid;
	bool by_range;	  /* only entries whose span overlaps [base, last] */
	bool nested_only; /* first stage: only nested (combined) entries */
	uint64_t base, last;
};

unsigned vtd_fspc_inv(struct vtd *vtd, const struct vtd_psc_scope *scope);
unsigned vtd_sspc_inv(struct vtd *vtd, const struct vtd_psc_scope *scope);

/* Everything (vtd_reset, SRTP with CAP.ESRTPS). */
void vtd_caches_flush(struct vtd *vtd);

int vtd_caches_init(struct vtd *vtd);
void vtd_caches_fini(struct vtd *vtd);

#endif
