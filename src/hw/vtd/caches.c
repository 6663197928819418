// SPDX-License-Identifier: MIT
/*
 * The translation caches (digest 5.11): what each one holds, how it is filled, and which
 * entries each invalidation scope removes (5.2, 5.3, 5.7, 5.8).
 */
#include "caches.h"

#include "memo.h"

#include <stdlib.h>

static bool pgtt_fs(unsigned pgtt)
{
	return pgtt == VTD_PGTT_FS || pgtt == VTD_PGTT_NESTED;
}

/* ---- summaries ------------------------------------------------------------------------ */

static void pc_sum(uint64_t tag0, const uint64_t *d, uint64_t sum[VTD_CACHE_SUMS])
{
	uint64_t p2 = vtd_cache_word(&d[VTD_CACHE_HDR + 2]);
	uint16_t did = (uint16_t)(p2 >> 32);

	/* A negative entry carries no DID: every DID-scoped request must look at it. */
	sum[VTD_SUM_DID] = (p2 & VTD_PC_NEG) ? ~0ull : vtd_did_bit(did);
	(void)tag0;
}

/* First-stage paging-structure entries: by DID and by (DID, PASID). */
static void fspc_sum(uint64_t tag0, const uint64_t *d, uint64_t sum[VTD_CACHE_SUMS])
{
	uint64_t tag1 = vtd_cache_word(&d[VTD_CACHE_TAG1]);
	uint16_t did = (uint16_t)(tag1 >> 32);

	sum[VTD_SUM_DID] = vtd_did_bit(did);
	sum[VTD_SUM_DP] = vtd_dp_bit(did, (uint32_t)tag1);
	(void)tag0;
}

/* IOTLB entries: the same, and by first-stage DID for the entries a first-stage walk made. */
static void iotlb_sum(uint64_t tag0, const uint64_t *d, uint64_t sum[VTD_CACHE_SUMS])
{
	fspc_sum(tag0, d, sum);
	if (pgtt_fs((unsigned)(vtd_cache_word(&d[VTD_CACHE_HDR]) & 7)))
		sum[VTD_SUM_FSDID] = sum[VTD_SUM_DID];
}

static void sspc_sum(uint64_t tag0, const uint64_t *d, uint64_t sum[VTD_CACHE_SUMS])
{
	sum[VTD_SUM_DID] = vtd_did_bit((uint16_t)vtd_cache_word(&d[VTD_CACHE_TAG1]));
	(void)tag0;
}

/* ---- set-up --------------------------------------------------------------------------- */

int vtd_caches_init(struct vtd *vtd)
{
	const struct vtd_config *c = &vtd->cfg;

	_Static_assert(VTD_CACHE_MAX_PAYLOAD >= 3, "the PASID cache has 3 payload words");
	/* The context cache is small: its invalidations look at every set. */
	if (vtd_cache_init(vtd, &vtd->ctxc, &c->context_cache, 2, NULL) ||
	    vtd_cache_init(vtd, &vtd->pc, &c->pasid_cache, 3, pc_sum) ||
	    vtd_cache_init(vtd, &vtd->iotlb, &c->iotlb, 2, iotlb_sum) ||
	    vtd_cache_init(vtd, &vtd->fspc, &c->pscache, 2, fspc_sum) ||
	    vtd_cache_init(vtd, &vtd->sspc, &c->pscache, 1, sspc_sum)) {
		vtd_caches_fini(vtd);
		return -ENOMEM;
	}
	vtd->iotlb.count_sizes = true;
	/* Context and PASID-cache fills check their own invalidations' generation (cache.h). */
	vtd->ctxc.gen = &vtd->ctx_gen;
	vtd->pc.gen = &vtd->ctx_gen;
	/* LRU clocks (cache.h): the context and PASID caches share one, as do the
	 * paging-structure caches; the IOTLB's fills, the common ones, move only its own. */
	vtd->ctxc.clock = vtd->pc.clock = &vtd->sclock;
	vtd->iotlb.clock = &vtd->tclock;
	vtd->fspc.clock = vtd->sspc.clock = &vtd->pclock;
	vtd->caching = vtd->ctxc.sets || vtd->pc.sets || vtd->iotlb.sets || vtd->fspc.sets;
	vtd->negative = c->caching_mode;
	/* Request memos (memo.h) stand for a context-cache, PASID-cache and IOTLB hit: they
	 * need those caches, and tracing wants every translation on the slow path. Sized like
	 * the IOTLB, 64 to 1024 entries. */
	vtd->memo_ok = vtd->ctxc.sets && vtd->iotlb.sets && !vtd->cb.trace;
	vtd->memo_n = 64;
	while (vtd->memo_n < 1024 && vtd->memo_n < vtd->iotlb.sets * vtd->iotlb.ways)
		vtd->memo_n *= 2;
	vtd->memo_mask = vtd->memo_n - 1;
	return 0;
}

void vtd_caches_fini(struct vtd *vtd)
{
	vtd_memo_fini(vtd);
	vtd_cache_fini(&vtd->ctxc);
	vtd_cache_fini(&vtd->pc);
	vtd_cache_fini(&vtd->iotlb);
	vtd_cache_fini(&vtd->fspc);
	vtd_cache_fini(&vtd->sspc);
}

static bool match_all(const void *arg, uint64_t tag0, const uint64_t *d)
{
	(void)arg;
	(void)tag0;
	(void)d;
	return true;
}

void vtd_caches_flush(struct vtd *vtd)
{
	vtd_cache_ctx_inv_begin(vtd);
	vtd_cache_drop_if(&vtd->ctxc, -1, 0, match_all, NULL);
	vtd_cache_drop_if(&vtd->pc, -1, 0, match_all, NULL);
	vtd_cache_drop_if(&vtd->iotlb, -1, 0, match_all, NULL);
	vtd_cache_drop_if(&vtd->fspc, -1, 0, match_all, NULL);
	vtd_cache_drop_if(&vtd->sspc, -1, 0, match_all, NULL);
	vtd_memo_stale(vtd);
	vtd_cache_ctx_inv_end(vtd);
}

/* A fill that replaced a context or PASID-cache entry - another one, or the same one read
 * again from memory by a thread whose lookup raced with another's fill: memos may stand
 * for it (memo.h). */
static int structure_filled(struct vtd *vtd, struct vtd_fill f)
{
	if (f.replaced)
		vtd_memo_stale(vtd);
	return f.slot;
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
	return structure_filled(vtd,
				vtd_cache_fill(vtd, &vtd->ctxc, vtd_cache_set(&vtd->ctxc, tag), tag,
					       0, p, 2, NULL, gen, VTD_CACHE_UNSEEN, NULL));
}

struct ctxc_scope {
	bool by_did, by_sid;
	uint16_t did, sid;
	unsigned fm;
};

static bool ctxc_match(const void *arg, uint64_t tag, const uint64_t *d)
{
	const struct ctxc_scope *s = arg;
	bool scalable = tag & (1ull << 16);
	uint16_t sid = (uint16_t)tag;
	uint16_t did = (uint16_t)(vtd_cache_word(&d[VTD_CACHE_HDR + 1]) >> 20);
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

	vtd_cache_ctx_inv_begin(vtd);
	n = vtd->ctxc.sets ? vtd_cache_drop_if(&vtd->ctxc, -1, 0, ctxc_match, &s) : 0;
	if (n)
		vtd_memo_stale(vtd);
	vtd_cache_ctx_inv_end(vtd);
	return n;
}

/* ---- PASID cache ---------------------------------------------------------------------- */

int vtd_pc_fill(struct vtd *vtd, uint16_t sid, uint32_t pasid, const struct vtd_pe *pe,
		uint64_t gen)
{
	uint64_t tag = vtd_pc_tag(sid, pasid), p[3];

	if (!vtd->pc.sets || (pe->neg && !vtd->negative))
		return -1;
	p[0] = pe->slptptr | pe->pgtt | (uint64_t)pe->ss_levels << 3 | (uint64_t)pe->fs_levels << 7;
	p[1] = pe->flptptr | pe->ss_width;
	p[2] = pe->flags | (uint64_t)pe->did << 32 |
	       (pe->neg ? VTD_PC_NEG | (uint64_t)pe->neg << 48 : 0);
	uint64_t sum[VTD_CACHE_SUMS] = {[VTD_SUM_DID] = pe->neg ? ~0ull : vtd_did_bit(pe->did)};

	return structure_filled(vtd,
				vtd_cache_fill(vtd, &vtd->pc, vtd_cache_set(&vtd->pc, tag), tag, 0,
					       p, 3, sum, gen, VTD_CACHE_UNSEEN, NULL));
}

struct pc_scope {
	bool by_did, by_pasid;
	uint16_t did;
	uint32_t pasid;
};

static bool pc_match(const void *arg, uint64_t tag, const uint64_t *d)
{
	const struct pc_scope *s = arg;
	uint32_t pasid = (uint32_t)((tag >> 16) & VTD_PASID_MAX);
	uint64_t p2 = vtd_cache_word(&d[VTD_CACHE_HDR + 2]);
	uint16_t did = (uint16_t)(p2 >> 32);

	if (s->by_did && did != s->did && !(p2 & VTD_PC_NEG))
		return false;
	return !s->by_pasid || pasid == s->pasid;
}

unsigned vtd_pc_inv(struct vtd *vtd, bool by_did, uint16_t did, bool by_pasid, uint32_t pasid)
{
	struct pc_scope s = {.by_did = by_did, .by_pasid = by_pasid, .did = did, .pasid = pasid};
	unsigned n;

	if (!vtd->pc.sets)
		return 0;
	vtd_cache_ctx_inv_begin(vtd);
	n = vtd_cache_drop_if(&vtd->pc, by_did ? VTD_SUM_DID : -1, vtd_did_bit(did), pc_match, &s);
	if (n)
		vtd_memo_stale(vtd);
	vtd_cache_ctx_inv_end(vtd);
	return n;
}

/* ---- IOTLB ---------------------------------------------------------------------------- */

struct vtd_fill vtd_iotlb_fill_words(struct vtd *vtd, unsigned set, uint64_t tag0, uint64_t tag1,
				     const uint64_t p[2], const uint64_t sum[VTD_CACHE_SUMS],
				     uint64_t gen, long long seen, struct vtd_memo_ctr *mc)
{
	return vtd_cache_fill(vtd, &vtd->iotlb, set, tag0, tag1, p, 2, sum, gen, seen, mc);
}

struct vtd_fill vtd_iotlb_fill(struct vtd *vtd, uint16_t did, uint32_t pasid, uint64_t addr,
			       const struct vtd_iotlb_ent *ent, uint64_t gen, long long seen4k)
{
	unsigned code = (ent->shift - 12) / 9;
	uint64_t tag0 = vtd_iotlb_tag0(addr, code), tag1 = vtd_iotlb_tag1(did, pasid), p[2];
	uint64_t sum[VTD_CACHE_SUMS];
	struct vtd_fill f = {.slot = -1};

	if (!vtd->iotlb.sets || (ent->neg && !vtd->negative))
		return f;
	vtd_iotlb_words(ent, p);
	vtd_iotlb_sums(did, pasid, ent->pgtt, sum);
	return vtd_iotlb_fill_words(vtd, vtd_iotlb_set(vtd, did, tag0), tag0, tag1, p, sum, gen,
				    code ? VTD_CACHE_UNSEEN : seen4k, NULL);
}

static bool iotlb_match(const void *arg, uint64_t tag0, const uint64_t *d)
{
	const struct vtd_iotlb_scope *s = arg;
	uint64_t tag1 = vtd_cache_word(&d[VTD_CACHE_TAG1]);
	unsigned code = (unsigned)(tag0 & 3);
	unsigned pgtt = (unsigned)(vtd_cache_word(&d[VTD_CACHE_HDR]) & 7);
	unsigned fsperm = (unsigned)(vtd_cache_word(&d[VTD_CACHE_HDR + 1]) & 0xff);
	bool fs = pgtt_fs(pgtt);
	uint64_t shift = 12 + 9 * code, base = ((tag0 & ~VTD_CACHE_VALID) >> 2) << shift;

	if (s->by_did && (uint16_t)(tag1 >> 32) != s->did)
		return false;
	if (s->by_pasid && (uint32_t)tag1 != s->pasid)
		return false;
	if ((s->fs_only && !fs) || (s->ss_only && fs))
		return false;
	if (s->keep_global && fs && (fsperm & VTD_XL_G))
		return false;
	if (s->by_range && !(s->range_ss_only && fs))
		return base <= s->last && s->base <= base + ((1ull << shift) - 1);
	return true;
}

/* The summary word and bit that name the sets a scope's entries can be in (-1: any set). */
static int iotlb_scope_sum(const struct vtd_iotlb_scope *s, uint64_t *bit)
{
	*bit = 0;
	if (s->by_did && s->by_pasid) {
		*bit = vtd_dp_bit(s->did, s->pasid);
		return VTD_SUM_DP;
	}
	if (s->by_did) {
		*bit = vtd_did_bit(s->did);
		return s->fs_only ? VTD_SUM_FSDID : VTD_SUM_DID;
	}
	return -1;
}

/*
 * Probe the sets that can hold a page of the scope's range, at every page size present.
 * False (nothing done) when that would visit more sets than a scan does.
 */
static bool iotlb_probe_range(struct vtd *vtd, const struct vtd_iotlb_scope *s, unsigned *n)
{
	struct vtd_cache *c = &vtd->iotlb;
	uint64_t probes = 0, first[3], last[3], bit;
	int sum = iotlb_scope_sum(s, &bit);
	bool present[3];

	if (!vtd_cache_may_hold(c, sum, bit))
		return true; /* nothing of the scope anywhere: done */

	for (unsigned code = 0; code < 3; code++) {
		unsigned shift = 12 + 9 * code;

		/* Read before any probe: a fill of this size after this load sees the new
		 * generation (the fill counts its size before it checks it). */
		present[code] = !code || __atomic_load_n(&c->size[code], __ATOMIC_SEQ_CST);
		if (!present[code])
			continue;
		first[code] = s->base >> shift;
		last[code] = s->last >> shift;
		if (last[code] - first[code] >= c->sets)
			return false;
		probes += last[code] - first[code] + 1;
	}
	if (probes > c->sets)
		return false;
	for (unsigned code = 0; code < 3; code++) {
		if (!present[code])
			continue;
		for (uint64_t p = first[code];; p++) {
			uint64_t tag0 = vtd_iotlb_tag0(p << (12 + 9 * code), code);

			*n += vtd_cache_drop_set(c, vtd_iotlb_set(vtd, s->did, tag0), sum, bit,
						 iotlb_match, s);
			if (p == last[code])
				break;
		}
	}
	return true;
}

/* Every entry of the scope, looking only at the sets its summary bit names. */
static unsigned iotlb_scan(struct vtd *vtd, const struct vtd_iotlb_scope *s)
{
	uint64_t bit;
	int sum = iotlb_scope_sum(s, &bit);

	return vtd_cache_drop_if(&vtd->iotlb, sum, bit, iotlb_match, s);
}

static unsigned iotlb_inv(struct vtd *vtd, const struct vtd_iotlb_scope *scope)
{
	unsigned n = 0;

	if (!vtd->iotlb.sets)
		return 0;
	if (!scope->by_range || !scope->by_did)
		return iotlb_scan(vtd, scope);
	if (scope->range_ss_only) {
		/* Type 2 page-selective (5.3): second-stage and pass-through entries in the
		 * range, and every first-stage and nested entry of the DID. */
		struct vtd_iotlb_scope ss = *scope, fs = *scope;

		ss.range_ss_only = false;
		ss.ss_only = true;
		if (!iotlb_probe_range(vtd, &ss, &n))
			n = iotlb_scan(vtd, &ss);
		fs.by_range = false;
		fs.range_ss_only = false;
		fs.fs_only = true;
		return n + iotlb_scan(vtd, &fs);
	}
	if (!iotlb_probe_range(vtd, scope, &n))
		n = iotlb_scan(vtd, scope);
	return n;
}

unsigned vtd_iotlb_inv(struct vtd *vtd, const struct vtd_iotlb_scope *scope)
{
	unsigned n;

	vtd_cache_inv_begin(vtd);
	n = iotlb_inv(vtd, scope);
	vtd_cache_inv_end(vtd);
	return n;
}

/* ---- paging-structure caches ---------------------------------------------------------- */

static unsigned sspc_set(const struct vtd *vtd, uint64_t tag0, uint16_t did)
{
	return vtd_cache_set(&vtd->sspc, tag0 ^ ((uint64_t)did * 0xff51afd7ed558ccdull));
}

bool vtd_fspc_lookup(struct vtd *vtd, uint16_t did, uint32_t pasid, bool nested, uint64_t va,
		     unsigned levels, struct vtd_walk_start *st)
{
	if (vtd_fspc_find(vtd, did, pasid, nested, va, levels, st)) {
		vtd_cache_hit(&vtd->fspc);
		return true;
	}
	if (vtd->fspc.sets)
		vtd_cache_miss(&vtd->fspc);
	return false;
}

bool vtd_sspc_lookup(struct vtd *vtd, uint16_t did, uint64_t iova, unsigned levels, bool need_a,
		     struct vtd_walk_start *st)
{
	uint64_t p[1] = {0};
	uint32_t ver;
	unsigned slot;

	for (unsigned lvl = 2; lvl <= levels; lvl++) {
		uint64_t tag0 = vtd_psc_tag0(iova, lvl);

		if (!vtd_cache_lookup(vtd, &vtd->sspc, sspc_set(vtd, tag0, did), tag0, did, p, 1,
				      &slot, &ver) ||
		    (need_a && !(p[0] & VTD_SL_A)))
			continue;
		vtd_cache_hit(&vtd->sspc);
		st->table = p[0] & VTD_SL_ADDR_MASK;
		st->gtable = st->table;
		st->and_all = ~(uint64_t)VTD_SSPC_ACC | p[0];
		st->or_all = 0;
		st->lvl = (uint8_t)(lvl - 1);
		st->from = (uint8_t)lvl;
		return true;
	}
	vtd_cache_miss(&vtd->sspc);
	return false;
}

void vtd_fspc_fill(struct vtd *vtd, uint16_t did, uint32_t pasid, bool nested,
		   const struct vtd_walk *w, uint64_t gen)
{
	uint64_t tag1 = vtd_iotlb_tag1(did, pasid), and_all = w->and0, or_all = w->or0;
	/* As fspc_sum() gives them. */
	uint64_t sum[VTD_CACHE_SUMS] = {
	    [VTD_SUM_DID] = vtd_did_bit(did), [VTD_SUM_DP] = vtd_dp_bit(did, pasid)};

	if (!vtd->fspc.sets)
		return;
	/* The entries above the leaf, each with the bits gathered down to it (a walk from a
	 * cached entry began with that entry's). */
	for (unsigned i = 0; i + 1 < w->nlev; i++) {
		unsigned lvl = w->top - i;
		uint64_t e = w->ev[i],
			 tag0 = vtd_psc_tag0(w->va, lvl) | (nested ? VTD_PSC_NESTED : 0);
		uint64_t p[2];

		and_all &= e;
		or_all |= e;
		/* Nested: the next table's host-physical address is where the walk read its
		 * entry (a table sits in one 4 KiB page of the second stage); word 1 keeps
		 * its guest-physical address. */
		p[0] = (nested ? w->epa[i + 1] : e) & VTD_FL_ADDR_MASK;
		p[0] |= (and_all & (VTD_FL_RW | VTD_FL_US)) | (or_all & VTD_FL_XD);
		p[1] = e & VTD_FL_ADDR_MASK;
		vtd_cache_fill(vtd, &vtd->fspc, vtd_fspc_set(vtd, tag0, tag1), tag0, tag1, p, 2,
			       sum, gen, VTD_CACHE_UNSEEN, NULL);
	}
}

void vtd_sspc_fill(struct vtd *vtd, uint16_t did, uint64_t iova, const struct vtd_walk *w,
		   bool a_set, uint64_t gen)
{
	uint64_t and_all = w->and0 | (a_set ? VTD_SL_A : 0);
	uint64_t sum[VTD_CACHE_SUMS] = {[VTD_SUM_DID] = vtd_did_bit(did)}; /* as sspc_sum() */

	if (!vtd->sspc.sets)
		return;
	for (unsigned i = 0; i + 1 < w->nlev; i++) {
		unsigned lvl = w->top - i;
		uint64_t e = w->ev[i], tag0 = vtd_psc_tag0(iova, lvl), p[1];

		and_all &= e | (a_set ? VTD_SL_A : 0);
		p[0] = (e & VTD_SL_ADDR_MASK) | (and_all & VTD_SSPC_ACC);
		vtd_cache_fill(vtd, &vtd->sspc, sspc_set(vtd, tag0, did), tag0, did, p, 1, sum, gen,
			       VTD_CACHE_UNSEEN, NULL);
	}
}

static bool psc_match(const void *arg, uint64_t tag0, const uint64_t *d, bool fs)
{
	const struct vtd_psc_scope *s = arg;
	uint64_t tag1 = vtd_cache_word(&d[VTD_CACHE_TAG1]);
	unsigned shift = VTD_PT_LEVEL_SHIFT((unsigned)((tag0 >> 56) & 7)); /* what it maps */
	uint64_t base = (tag0 & VTD_PSC_PREFIX) << shift;

	if (s->by_did && (uint16_t)(fs ? tag1 >> 32 : tag1) != s->did)
		return false;
	if (fs && s->by_pasid && (uint32_t)tag1 != s->pasid)
		return false;
	if (s->nested_only && !(tag0 & VTD_PSC_NESTED))
		return false;
	return !s->by_range || (base <= s->last && s->base <= base + ((1ull << shift) - 1));
}

static bool fspc_match(const void *arg, uint64_t tag0, const uint64_t *d)
{
	return psc_match(arg, tag0, d, true);
}

static bool sspc_match(const void *arg, uint64_t tag0, const uint64_t *d)
{
	return psc_match(arg, tag0, d, false);
}

/* Probe the sets of every entry whose span overlaps the range, or scan if that is more. */
static unsigned psc_inv(struct vtd *vtd, struct vtd_cache *c, const struct vtd_psc_scope *s,
			bool fs)
{
	uint64_t probes = 0, tag1 = fs ? vtd_iotlb_tag1(s->did, s->pasid) : s->did;
	unsigned n = 0;
	vtd_cache_match_fn match = fs ? fspc_match : sspc_match;
	/* The sets a probe may skip: first stage by DID and PASID, second stage by DID. */
	int sum = fs ? VTD_SUM_DP : VTD_SUM_DID;
	uint64_t bit = fs ? vtd_dp_bit(s->did, s->pasid) : vtd_did_bit(s->did);

	if (!c->sets)
		return 0;
	if (s->by_range && s->by_did && (!fs || s->by_pasid) && !s->nested_only) {
		if (!vtd_cache_may_hold(c, sum, bit))
			return 0;
		for (unsigned lvl = 2; lvl <= 5 && probes <= c->sets; lvl++) {
			unsigned shift = 12 + 9 * (lvl - 1);
			probes += (s->last >> shift) - (s->base >> shift) + 1;
		}
		if (probes <= c->sets) {
			for (unsigned lvl = 2; lvl <= 5; lvl++) {
				unsigned shift = 12 + 9 * (lvl - 1);

				for (uint64_t p = s->base >> shift;; p++) {
					uint64_t tag0 = vtd_psc_tag0(p << shift, lvl);
					unsigned set = fs ? vtd_fspc_set(vtd, tag0, tag1)
							  : sspc_set(vtd, tag0, s->did);

					n += vtd_cache_drop_set(c, set, sum, bit, match, s);
					if (p == s->last >> shift)
						break;
				}
			}
			return n;
		}
	}
	if (s->by_did && fs && s->by_pasid)
		return vtd_cache_drop_if(c, VTD_SUM_DP, vtd_dp_bit(s->did, s->pasid), match, s);
	if (s->by_did)
		return vtd_cache_drop_if(c, VTD_SUM_DID, vtd_did_bit(s->did), match, s);
	return vtd_cache_drop_if(c, -1, 0, match, s);
}

unsigned vtd_fspc_inv(struct vtd *vtd, const struct vtd_psc_scope *scope)
{
	unsigned n;

	vtd_cache_inv_begin(vtd);
	n = psc_inv(vtd, &vtd->fspc, scope, true);
	vtd_cache_inv_end(vtd);
	return n;
}

unsigned vtd_sspc_inv(struct vtd *vtd, const struct vtd_psc_scope *scope)
{
	unsigned n;

	vtd_cache_inv_begin(vtd);
	n = psc_inv(vtd, &vtd->sspc, scope, false);
	vtd_cache_inv_end(vtd);
	return n;
}
