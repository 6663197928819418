// SPDX-License-Identifier: MIT
/*
 * The translation caches (digest 5.11): what each one holds, how it is filled, and which
 * entries each invalidation scope removes (5.2, 5.3, 5.7, 5.8).
 */
#include "caches.h"

#include <stdlib.h>

int vtd_caches_init(struct vtd *vtd)
{
	const struct vtd_config *c = &vtd->cfg;

	_Static_assert(VTD_CACHE_MAX_PAYLOAD >= 3, "the PASID cache has 3 payload words");
	if (vtd_cache_init(&vtd->ctxc, &c->context_cache, 2) ||
	    vtd_cache_init(&vtd->pc, &c->pasid_cache, 3) ||
	    vtd_cache_init(&vtd->iotlb, &c->iotlb, 2)) {
		vtd_caches_fini(vtd);
		return -ENOMEM;
	}
	vtd->caching = vtd->ctxc.sets || vtd->pc.sets || vtd->iotlb.sets;
	/* The request cache stands for the IOTLB: four times its entries (few collisions). */
	if (vtd->iotlb.sets) {
		unsigned n = 1, bits = 0;

		while (n < 4 * vtd->iotlb.sets * vtd->iotlb.ways) {
			n <<= 1;
			bits++;
		}
		vtd->fast = calloc(n, sizeof(*vtd->fast));
		if (!vtd->fast) {
			vtd_caches_fini(vtd);
			return -ENOMEM;
		}
		vtd->fast_shift = 64 - bits;
	}
	return 0;
}

void vtd_fast_fill(struct vtd *vtd, uint64_t key0, uint64_t key1, uint64_t gen, uint64_t out,
		   uint64_t info, uint64_t flags, uint64_t slots)
{
	struct vtd_fast_ent *e = vtd_fast_slot(vtd, key0, key1);
	struct vtd_fast_ent *o = vtd->fast + ((e - vtd->fast) ^ 1);
	uint64_t cur = __atomic_load_n(&vtd->fast_gen, __ATOMIC_RELAXED);

	/* The way that holds this key or nothing valid; else the neighbour if it is free. */
	if (!(__atomic_load_n(&e->key0, __ATOMIC_RELAXED) == key0 &&
	      __atomic_load_n(&e->key1, __ATOMIC_RELAXED) == key1) &&
	    __atomic_load_n(&e->gen, __ATOMIC_RELAXED) == cur &&
	    ((__atomic_load_n(&o->key0, __ATOMIC_RELAXED) == key0 &&
	      __atomic_load_n(&o->key1, __ATOMIC_RELAXED) == key1) ||
	     __atomic_load_n(&o->gen, __ATOMIC_RELAXED) != cur))
		e = o;
	uint64_t q = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);

	if ((q & 1) || !__atomic_compare_exchange_n(&e->seq, &q, q + 1, false, __ATOMIC_ACQUIRE,
						    __ATOMIC_RELAXED))
		return;
	/* Release stores: a reader that sees one of them sees the odd sequence too. */
	__atomic_store_n(&e->key0, key0, __ATOMIC_RELEASE);
	__atomic_store_n(&e->key1, key1, __ATOMIC_RELEASE);
	__atomic_store_n(&e->gen, gen, __ATOMIC_RELEASE);
	__atomic_store_n(&e->out, out, __ATOMIC_RELEASE);
	__atomic_store_n(&e->info, info, __ATOMIC_RELEASE);
	__atomic_store_n(&e->flags, flags, __ATOMIC_RELEASE);
	__atomic_store_n(&e->pad, slots, __ATOMIC_RELEASE);
	__atomic_store_n(&e->seq, q + 2, __ATOMIC_RELEASE);
}

void vtd_caches_fini(struct vtd *vtd)
{
	free(vtd->fast);
	vtd->fast = NULL;
	vtd_cache_fini(&vtd->ctxc);
	vtd_cache_fini(&vtd->pc);
	vtd_cache_fini(&vtd->iotlb);
}

static bool match_all(const void *arg, const uint64_t *e)
{
	(void)arg;
	(void)e;
	return true;
}

void vtd_caches_flush(struct vtd *vtd)
{
	vtd_cache_inv_begin(vtd);
	vtd_cache_drop_if(&vtd->ctxc, match_all, NULL);
	vtd_cache_drop_if(&vtd->pc, match_all, NULL);
	vtd_cache_drop_if(&vtd->iotlb, match_all, NULL);
	vtd_cache_inv_end(vtd);
}

/* ---- context cache -------------------------------------------------------------------- */

int vtd_ctxc_fill(struct vtd *vtd, uint16_t sid, bool scalable, const struct vtd_ctx *ctx,
		  uint64_t gen)
{
	uint64_t tag = vtd_ctxc_tag(sid, scalable), p[2];

	if (!vtd->ctxc.sets)
		return -1;
	p[0] = ctx->ptr;
	p[1] = ctx->rid_pasid | (uint64_t)ctx->did << 20 | (uint64_t)ctx->tt << 36 |
	       (uint64_t)ctx->aw << 40 | (uint64_t)ctx->pdts << 44 | (uint64_t)ctx->flags << 48;
	return vtd_cache_fill(vtd, &vtd->ctxc, vtd_cache_set(&vtd->ctxc, tag), tag, 0, p, gen);
}

struct ctxc_scope {
	bool by_did, by_sid;
	uint16_t did, sid;
	unsigned fm;
};

static bool ctxc_match(const void *arg, const uint64_t *e)
{
	const struct ctxc_scope *s = arg;
	uint64_t tag = vtd_cache_word(&e[0]);
	bool scalable = tag & (1ull << 16);
	uint16_t sid = (uint16_t)tag;
	uint16_t did = (uint16_t)(vtd_cache_word(&e[VTD_CACHE_HDR + 1]) >> 20);
	uint16_t keep = (uint16_t) ~(s->fm == 3 ? 7u : s->fm == 2 ? 6u : s->fm == 1 ? 4u : 0u);

	/* 5.2: scalable-mode context entries carry no DID, so a domain-selective request
	 * (and the DID of a device-selective one) cannot narrow them. */
	if (s->by_did && !scalable && did != s->did)
		return false;
	return !s->by_sid || (sid & keep) == (s->sid & keep);
}

unsigned vtd_ctxc_inv(struct vtd *vtd, bool by_did, uint16_t did, bool by_sid, uint16_t sid,
		      unsigned fm)
{
	struct ctxc_scope s = {
	    .by_did = by_did, .by_sid = by_sid, .did = did, .sid = sid, .fm = fm};
	unsigned n;

	vtd_cache_inv_begin(vtd);
	n = vtd_cache_drop_if(&vtd->ctxc, ctxc_match, &s);
	vtd_cache_inv_end(vtd);
	return n;
}

/* ---- PASID cache ---------------------------------------------------------------------- */

int vtd_pc_fill(struct vtd *vtd, uint16_t sid, uint32_t pasid, const struct vtd_pe *pe,
		uint64_t gen)
{
	uint64_t tag = vtd_pc_tag(sid, pasid), p[3];

	if (!vtd->pc.sets)
		return -1;
	p[0] = pe->slptptr | pe->pgtt | (uint64_t)pe->ss_levels << 3 | (uint64_t)pe->fs_levels << 7;
	p[1] = pe->flptptr | pe->ss_width;
	p[2] = pe->flags | (uint64_t)pe->did << 32;
	return vtd_cache_fill(vtd, &vtd->pc, vtd_cache_set(&vtd->pc, tag), tag, 0, p, gen);
}

struct pc_scope {
	bool by_did, by_pasid;
	uint16_t did;
	uint32_t pasid;
};

static bool pc_match(const void *arg, const uint64_t *e)
{
	const struct pc_scope *s = arg;
	uint32_t pasid = (uint32_t)((vtd_cache_word(&e[0]) >> 16) & VTD_PASID_MAX);
	uint16_t did = (uint16_t)(vtd_cache_word(&e[VTD_CACHE_HDR + 2]) >> 32);

	return (!s->by_did || did == s->did) && (!s->by_pasid || pasid == s->pasid);
}

unsigned vtd_pc_inv(struct vtd *vtd, bool by_did, uint16_t did, bool by_pasid, uint32_t pasid)
{
	struct pc_scope s = {.by_did = by_did, .by_pasid = by_pasid, .did = did, .pasid = pasid};
	unsigned n;

	vtd_cache_inv_begin(vtd);
	n = vtd_cache_drop_if(&vtd->pc, pc_match, &s);
	vtd_cache_inv_end(vtd);
	return n;
}

/* ---- IOTLB ---------------------------------------------------------------------------- */

int vtd_iotlb_fill(struct vtd *vtd, uint16_t did, uint32_t pasid, uint64_t addr,
		   const struct vtd_iotlb_ent *ent, uint64_t gen)
{
	unsigned code = (ent->shift - 12) / 9;
	uint64_t tag0 = vtd_iotlb_tag0(addr, code), tag1 = vtd_iotlb_tag1(did, pasid), p[2];

	if (!vtd->iotlb.sets)
		return -1;
	p[0] = (ent->out & ~((1ull << ent->shift) - 1)) | ent->pgtt | (ent->clean ? 8 : 0);
	p[1] = ent->fs | ent->ss << 8;
	return vtd_cache_fill(vtd, &vtd->iotlb, vtd_cache_set(&vtd->iotlb, tag0 ^ tag1), tag0, tag1,
			      p, gen);
}

static bool iotlb_match(const void *arg, const uint64_t *e)
{
	const struct vtd_iotlb_scope *s = arg;
	uint64_t tag0 = vtd_cache_word(&e[0]), tag1 = vtd_cache_word(&e[1]);
	unsigned code = (unsigned)(tag0 & 3), pgtt = (unsigned)(vtd_cache_word(&e[3]) & 7);
	unsigned fsperm = (unsigned)(vtd_cache_word(&e[4]) & 0xff);
	bool fs = pgtt == VTD_PGTT_FS || pgtt == VTD_PGTT_NESTED;
	uint64_t shift = 12 + 9 * code, base = ((tag0 & ~VTD_CACHE_VALID) >> 2) << shift;

	if (s->by_did && (uint16_t)(tag1 >> 32) != s->did)
		return false;
	if (s->by_pasid && (uint32_t)tag1 != s->pasid)
		return false;
	if (s->fs_only && !fs)
		return false;
	if (s->keep_global && fs && (fsperm & VTD_XL_G))
		return false;
	if (s->by_range && !(s->range_ss_only && fs))
		return base <= s->last && s->base <= base + ((1ull << shift) - 1);
	return true;
}

unsigned vtd_iotlb_inv(struct vtd *vtd, const struct vtd_iotlb_scope *scope)
{
	unsigned n;

	vtd_cache_inv_begin(vtd);
	n = vtd_cache_drop_if(&vtd->iotlb, iotlb_match, scope);
	vtd_cache_inv_end(vtd);
	return n;
}
