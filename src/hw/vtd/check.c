// SPDX-License-Identifier: MIT
/*
 * Check mode (design 4, "the sanitizer"): a translation that a cache took part in is
 * compared with an uncached walk of memory as it is now. A difference means software
 * changed a structure and left out the invalidation that must follow it (digest 5.2-5.8,
 * 5.11); the report names the cache that held the old entry and that invalidation.
 */
#include "caches.h"
#include "pasid.h"
#include "root_context.h"

#include <stdio.h>

/* Two completions say the same: the same fault, or the same translation. */
static bool same(const struct pci_resp *a, const struct pci_resp *b)
{
	if (a->status != b->status || a->fault != b->fault)
		return false;
	return a->status != PCI_SC ||
	       (a->addr == b->addr && a->page_size == b->page_size && a->perm == b->perm);
}

static bool same_ctx(const struct vtd_ctx *a, const struct vtd_ctx *b)
{
	return a->ptr == b->ptr && a->rid_pasid == b->rid_pasid && a->did == b->did &&
	       a->tt == b->tt && a->aw == b->aw && a->pdts == b->pdts && a->flags == b->flags;
}

/* FPD aside (the cache folds the directory's in), the fields a translation uses. */
static bool same_pe(const struct vtd_pe *a, const struct vtd_pe *b)
{
	return a->pgtt == b->pgtt && a->did == b->did && !((a->flags ^ b->flags) & ~VTD_PE_FPD) &&
	       (a->pgtt == VTD_PGTT_FS || a->pgtt == VTD_PGTT_PT || a->slptptr == b->slptptr) &&
	       (a->pgtt == VTD_PGTT_SS || a->pgtt == VTD_PGTT_PT || a->flptptr == b->flptptr) &&
	       a->ss_levels == b->ss_levels && a->fs_levels == b->fs_levels;
}

/* Which cache holds an entry that memory no longer matches: the outermost one. */
static void diagnose(struct vtd *vtd, const struct vtd_run *run, struct vtd_stale *s)
{
	uint64_t root = __atomic_load_n(&vtd->root, __ATOMIC_ACQUIRE);
	bool scalable = VTD_GET(root, VTD_RTADDR_TTM) == VTD_TTM_SCALABLE;
	struct vtd_ctx ctx = {0};
	struct vtd_pe pe = {0};
	bool fpd = false;
	uint8_t r = vtd_context_lookup(vtd, root, scalable, s->sid, &ctx, &fpd);

	if ((run->hits & VTD_RUN_HIT_CTX) && (r || !same_ctx(&ctx, &run->ctx))) {
		s->cache = VTD_CACHE_CONTEXT;
		s->did = scalable ? 0 : run->ctx.did;
		s->missing = "context-cache invalidation (device-selective for this source-id)";
		snprintf(s->detail, sizeof(s->detail),
			 "held context ptr %#llx flags %#x; memory: %s%#llx",
			 (unsigned long long)run->ctx.ptr, run->ctx.flags, r ? "fault " : "ptr ",
			 r ? (unsigned long long)r : (unsigned long long)ctx.ptr);
		return;
	}
	if (run->hits & VTD_RUN_HIT_PC) {
		r = r ? r : vtd_pasid_lookup(vtd, &ctx, run->pasid, &pe, &fpd);
		if (r || !same_pe(&pe, &run->pe)) {
			s->cache = VTD_CACHE_PASID;
			s->did = run->pe.did;
			s->missing =
			    "PASID-cache invalidation (PASID-selective, for this DID and PASID)";
			snprintf(s->detail, sizeof(s->detail),
				 "held PGTT %u DID %u FS %#llx SS %#llx; memory: %s %u",
				 run->pe.pgtt, run->pe.did, (unsigned long long)run->pe.flptptr,
				 (unsigned long long)run->pe.slptptr, r ? "fault" : "PGTT",
				 r ? r : pe.pgtt);
			return;
		}
	}
	s->cache = VTD_CACHE_IOTLB;
	s->did = (run->hits & VTD_RUN_HIT_IOTLB) ? run->did : 0;
	if (!(run->hits & VTD_RUN_HIT_IOTLB)) {
		/* Only the structure caches took part, and their entries match memory: the
		 * translation differs for another reason (a racing change). There is no IOTLB
		 * entry to show. */
		s->missing = "none (memory changed while the translation ran)";
		snprintf(s->detail, sizeof(s->detail), "no IOTLB entry used");
		return;
	} else if (run->ent.pgtt == VTD_PGTT_FS || run->ent.pgtt == VTD_PGTT_NESTED) {
		s->missing = "PASID-based IOTLB invalidation (type 6) covering this address";
	} else {
		s->missing = "IOTLB invalidation (type 2, page-selective) covering this address";
	}
	snprintf(s->detail, sizeof(s->detail), "held %#llx (%llu KiB, perm fs %#x ss %#x, PGTT %u)",
		 (unsigned long long)run->ent.out, (1ull << (run->ent.shift & 63)) >> 10,
		 run->ent.fs, run->ent.ss, run->ent.pgtt);
}

void vtd_check(struct vtd *vtd, const struct pci_req *req, const struct pci_resp *resp,
	       const struct vtd_run *run)
{
	struct vtd_stale s = {0};

	__atomic_fetch_add(&vtd->checked, 1, __ATOMIC_RELAXED);
	vtd_translate_ref(vtd, req, &s.memory);
	if (same(resp, &s.memory))
		return;
	s.cached = *resp;
	s.sid = req->rid;
	s.has_pasid = req->flags & PCI_REQ_PASID;
	s.pasid = run->pasid;
	s.addr = req->addr;
	diagnose(vtd, run, &s);
	__atomic_fetch_add(&vtd->stale[s.cache], 1, __ATOMIC_RELAXED);
	if (vtd->cb.stale)
		vtd->cb.stale(vtd->cb_ctx, &s);
}

int vtd_set_check(struct vtd *vtd, bool on)
{
	if (!vtd)
		return -EINVAL;
#ifdef SOFTIOMMU_NO_CHECKER
	return on ? -EOPNOTSUPP : 0;
#else
	__atomic_store_n(&vtd->check, on, __ATOMIC_RELAXED);
	return 0;
#endif
}

int vtd_get_cache_stats(struct vtd *vtd, struct vtd_cache_stats *out)
{
	const struct vtd_cache *c[VTD_CACHE_COUNT] = {&vtd->ctxc, &vtd->pc, &vtd->iotlb};

	if (!vtd || !out)
		return -EINVAL;
	for (int i = 0; i < VTD_CACHE_COUNT; i++) {
		struct vtd_cache_ctr ctr;

		vtd_cache_counters(c[i], &ctr);
		out->cache[i] = (struct vtd_cache_counters){
		    .hits = ctr.hit,
		    .misses = ctr.miss,
		    .fills = ctr.fill,
		    .evictions = ctr.evict,
		    .invalidated = ctr.inval,
		};
		out->stale[i] = __atomic_load_n(&vtd->stale[i], __ATOMIC_RELAXED);
	}
	/* Request-cache hits stand for hits in the caches behind it. */
	for (int i = 0; i < VTD_CACHE_CTR_SHARDS; i++) {
		uint64_t sm = __atomic_load_n(&vtd->fast_hits[i][0], __ATOMIC_RELAXED);
		uint64_t lg = __atomic_load_n(&vtd->fast_hits[i][1], __ATOMIC_RELAXED);

		out->cache[VTD_CACHE_CONTEXT].hits += sm + lg;
		out->cache[VTD_CACHE_PASID].hits += sm;
		out->cache[VTD_CACHE_IOTLB].hits += sm + lg;
	}
	out->checked = __atomic_load_n(&vtd->checked, __ATOMIC_RELAXED);
	return 0;
}
