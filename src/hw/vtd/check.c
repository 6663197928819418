// SPDX-License-Identifier: MIT
/*
 * Check mode (design 4, "the sanitizer"): a translation that a cache took part in is
 * compared with an uncached walk of memory as it is now. A difference means software
 * changed a structure and left out the invalidation that must follow it (digest 5.2-5.8,
 * 5.11); the report names the cache that held the old entry and that invalidation.
 */
#include "caches.h"
#include "memo.h"
#include "pasid.h"
#include "root_context.h"
#include "walk_fs.h"
#include "walk_ss.h"

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

/* The gathered bits a paging-structure entry holds, compared. */
static bool same_start(const struct vtd_walk_start *a, const struct vtd_walk_start *b, bool fs)
{
	uint64_t acc = fs ? (VTD_FL_RW | VTD_FL_US) : VTD_SSPC_ACC;

	return a->table == b->table && ((a->and_all ^ b->and_all) & acc) == 0 &&
	       ((a->or_all ^ b->or_all) & VTD_FL_XD) == 0 && (!fs || a->gtable == b->gtable);
}

/* A paging-structure cache took part (the IOTLB did not): is its entry what memory says? */
static bool diagnose_psc(struct vtd *vtd, const struct vtd_run *run, const struct vtd_pe *pe,
			 uint64_t addr, struct vtd_stale *s)
{
	struct vtd_walk_start mem;
	bool nested = pe->pgtt == VTD_PGTT_NESTED;

	if ((run->hits & VTD_RUN_HIT_FSPC) &&
	    !(vtd_fs_entry_at(vtd, pe, addr, run->fsp.from, &mem) &&
	      same_start(&mem, &run->fsp, true))) {
		s->cache = VTD_CACHE_PSCACHE_FS;
		s->missing = nested
				 ? "IOTLB invalidation (type 2, or type 6) without IH for this "
				   "DID: a nested paging-structure entry changed"
				 : "PASID-based IOTLB invalidation (type 6) with IH = 0 covering "
				   "this address: a paging-structure entry changed";
		snprintf(s->detail, sizeof(s->detail),
			 "held level-%u entry -> table %#llx; memory: %s%#llx", run->fsp.from,
			 (unsigned long long)run->fsp.table,
			 vtd_fs_entry_at(vtd, pe, addr, run->fsp.from, &mem) ? "table " : "none ",
			 (unsigned long long)mem.table);
		return true;
	}
	if ((run->hits & VTD_RUN_HIT_SSPC) &&
	    !(vtd_ss_entry_at(vtd, pe, run->ss_in, run->ssp.from, &mem) &&
	      same_start(&mem, &run->ssp, false))) {
		s->cache = VTD_CACHE_PSCACHE_SS;
		s->missing = "IOTLB invalidation (type 2) with IH = 0 covering this address: a "
			     "second-stage paging-structure entry changed";
		snprintf(
		    s->detail, sizeof(s->detail),
		    "held level-%u entry -> table %#llx for %#llx; memory: %s%#llx", run->ssp.from,
		    (unsigned long long)run->ssp.table, (unsigned long long)run->ss_in,
		    vtd_ss_entry_at(vtd, pe, run->ss_in, run->ssp.from, &mem) ? "table " : "none ",
		    (unsigned long long)mem.table);
		return true;
	}
	if (run->hits & VTD_RUN_HIT_SSPC_NESTED) {
		/* A second-stage entry used to reach a nested first-stage table. */
		s->cache = VTD_CACHE_PSCACHE_SS;
		s->missing = "IOTLB invalidation (type 2) with IH = 0 for the second-stage pages "
			     "that hold this PASID's first-stage tables";
		snprintf(s->detail, sizeof(s->detail), "a second-stage entry on the nested walk");
		return true;
	}
	return false;
}

/*
 * Which cache holds an entry that memory no longer matches: the outermost one. False when
 * none does: every cached entry the translation used still matches memory, so the
 * difference came from memory changing between the translation's reads and the reference
 * walk's (a racing change, e.g. a leaf table installed for a neighbouring page) - both
 * answers are ones an uncached unit could have given, and nothing is stale.
 */
static bool diagnose(struct vtd *vtd, const struct vtd_run *run, struct vtd_stale *s)
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
		return true;
	}
	if (run->hits & VTD_RUN_HIT_PC) {
		r = r ? r : vtd_pasid_lookup(vtd, &ctx, run->pasid, &pe, &fpd);
		if (run->pe.neg ? r != run->pe.neg : (r || !same_pe(&pe, &run->pe))) {
			s->cache = VTD_CACHE_PASID;
			s->did = run->pe.neg ? pe.did : run->pe.did;
			s->missing =
			    run->pe.neg
				? "PASID-cache invalidation (PASID-selective) after making the "
				  "entry present: CAP.CM = 1 caches not-present entries"
				: "PASID-cache invalidation (PASID-selective, for this DID and "
				  "PASID)";
			snprintf(s->detail, sizeof(s->detail),
				 "held %s PGTT %u DID %u FS %#llx SS %#llx; memory: %s %u",
				 run->pe.neg ? "not present" : "entry", run->pe.pgtt, run->pe.did,
				 (unsigned long long)run->pe.flptptr,
				 (unsigned long long)run->pe.slptptr, r ? "fault" : "PGTT",
				 r ? r : pe.pgtt);
			return true;
		}
	}
	/* From here on run->pe is the PASID entry (or legacy context) the walk used, which
	 * memory still holds. */
	s->cache = VTD_CACHE_IOTLB;
	s->did = run->did;
	if (!(run->hits & VTD_RUN_HIT_IOTLB)) {
		/* Only the structure caches took part: stale if one of their entries is. */
		return diagnose_psc(vtd, run, &run->pe, s->addr, s);
	} else if (run->ent.neg) {
		s->missing = run->ent.pgtt == VTD_PGTT_FS || run->ent.pgtt == VTD_PGTT_NESTED
				 ? "PASID-based IOTLB invalidation (type 6) covering this address "
				   "after making it present: CAP.CM = 1 caches not-present pages"
				 : "IOTLB invalidation (type 2, page-selective) covering this "
				   "address after making it present: CAP.CM = 1 caches not-present "
				   "pages";
		snprintf(s->detail, sizeof(s->detail), "held: not present (%s, PGTT %u)",
			 run->ent.neg == VTD_NEG_FS ? "first stage" : "second stage",
			 run->ent.pgtt);
		return true;
	} else if (run->ent.pgtt == VTD_PGTT_FS || run->ent.pgtt == VTD_PGTT_NESTED) {
		s->missing = "PASID-based IOTLB invalidation (type 6) covering this address";
	} else {
		s->missing = "IOTLB invalidation (type 2, page-selective) covering this address";
	}
	snprintf(s->detail, sizeof(s->detail), "held %#llx (%llu KiB, perm fs %#x ss %#x, PGTT %u)",
		 (unsigned long long)run->ent.out, (1ull << (run->ent.shift & 63)) >> 10,
		 run->ent.fs, run->ent.ss, run->ent.pgtt);
	return true;
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
	if (!diagnose(vtd, run, &s)) {
		__atomic_fetch_add(&vtd->check_raced, 1, __ATOMIC_RELAXED);
		return;
	}
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
	/* Check mode compares every cached translation: from now on they all go through the
	 * caches, none is served from a request memo made before (memo.h). */
	if (on)
		vtd_memo_stale(vtd);
	return 0;
#endif
}

int vtd_get_cache_stats(struct vtd *vtd, struct vtd_cache_stats *out)
{
	if (!vtd || !out)
		return -EINVAL;
	const struct vtd_cache *c[VTD_CACHE_COUNT] = {&vtd->ctxc, &vtd->pc, &vtd->iotlb, &vtd->fspc,
						      &vtd->sspc};

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
	/* Memo hits stand for hits in the caches behind them, and the path behind the memos
	 * counts in them (memo.h). */
	vtd_memo_counters(vtd, out->cache);
	out->checked = __atomic_load_n(&vtd->checked, __ATOMIC_RELAXED);
	out->raced = __atomic_load_n(&vtd->check_raced, __ATOMIC_RELAXED);
	return 0;
}
