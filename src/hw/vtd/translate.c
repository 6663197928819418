// SPDX-License-Identifier: MIT
/*
 * The request path (digest 2.5): root-table mode, context entry, request-type checks,
 * PASID entry, the walk for the entry's PGTT, permission checks, interrupt-range check,
 * A/D updates, and the completion - including the ATS rules (translation requests answer
 * with permissions; page-level failures are not faults for them).
 *
 * The path is written for the common case: permissions are computed once as a mask and
 * compared with what the request needs; only a refused request goes through the checks
 * in their architectural order to name its fault.
 */
#include "caches.h"
#include "drain.h"
#include "memo.h"
#include "pasid.h"
#include "root_context.h"
#include "walk_fs.h"
#include "walk_ss.h"

#define XL_ALL	       (VTD_XL_R | VTD_XL_W | VTD_XL_X | VTD_XL_US)
#define REASON_RETRY   0xff /* internal: an entry changed under an A/D update */
#define MAX_WALK_TRIES 8
#define VTD_ACC_NW     (1u << 6) /* ATS no-write, honoured (ECAP.NWFS) */

_Static_assert(VTD_XL_R == PCI_PERM_R && VTD_XL_W == PCI_PERM_W && VTD_XL_X == PCI_PERM_X,
	       "walk permissions double as completion permissions");
_Static_assert(VTD_ACC_R == PCI_PERM_R && VTD_ACC_W == PCI_PERM_W && VTD_ACC_X == PCI_PERM_X,
	       "access bits double as the permissions they need");

/* The outcome of the walk for one PGTT: output, page size, and each stage's permissions
 * (all set for a stage that is not used). */
struct xl {
	uint64_t out;
	unsigned shift;
	unsigned fs;
	unsigned ss;
	uint8_t neg; /* VTD_NEG_*: which stage said "not present" */
};

struct walks {
	struct vtd_walk fs, ss;
};

static inline bool in_intr_range(uint64_t a)
{
	return a - VTD_INTR_RANGE_BASE < VTD_INTR_RANGE_SIZE;
}

static uint8_t ss_reason(enum vtd_walk_status s, bool legacy, unsigned acc)
{
	if (s == VTD_WALK_RETRY)
		return REASON_RETRY;
	if (legacy) {
		switch (s) {
		case VTD_WALK_WIDTH:
			return VTD_FR_LGN_1;
		case VTD_WALK_NOT_PRESENT:
			return (acc & VTD_ACC_W) ? VTD_FR_LGN_2 : VTD_FR_LGN_3;
		case VTD_WALK_RSVD:
			return VTD_FR_LSL_2;
		default:
			return VTD_FR_LSL_1;
		}
	}
	return vtd_ss_walk_reason(s, VTD_FR_SGN_4);
}

static uint8_t fs_reason(enum vtd_walk_status s, const struct vtd_walk *w)
{
	switch (s) {
	case VTD_WALK_RETRY:
		return REASON_RETRY;
	case VTD_WALK_WIDTH:
		return VTD_FR_SGN_1;
	case VTD_WALK_FETCH_ROOT:
		return VTD_FR_SFL_4;
	case VTD_WALK_FETCH:
		return VTD_FR_SFL_1;
	case VTD_WALK_NOT_PRESENT:
		return VTD_FR_SFL_2;
	case VTD_WALK_RSVD:
		return VTD_FR_SFL_3;
	case VTD_WALK_NESTED:
		return w->fault;
	default:
		return VTD_FR_SFL_10;
	}
}

/* Faults that mean "no translation here" rather than "broken structures": an ATS
 * translation request answers them with R = W = 0 instead of a fault. */
static bool page_level(uint8_t reason)
{
	switch (reason) {
	case VTD_FR_LGN_2:
	case VTD_FR_LGN_3:
	case VTD_FR_SFL_2:
	case VTD_FR_SFL_6:
	case VTD_FR_SFL_7:
	case VTD_FR_SSL_2:
		return true;
	default:
		return false;
	}
}

/* A first-stage walk that starts below the deepest entry its paging-structure cache holds
 * for the address (caches.h), nested or not. */
static enum vtd_walk_status walk_fs_cached(struct vtd *vtd, const struct vtd_pe *pe,
					   const struct vtd_access *a, struct vtd_walk *w,
					   struct vtd_run *run)
{
	bool nested = pe->pgtt == VTD_PGTT_NESTED;
	struct vtd_walk_start *st = &run->fsp;

	if (!vtd_fs_canonical(pe, a->addr))
		return VTD_WALK_WIDTH;
	if (!vtd->fspc.sets ||
	    !vtd_fspc_lookup(vtd, pe->did, a->pasid, nested, a->addr, pe->fs_levels, st))
		return nested ? vtd_walk_fs_nested(vtd, pe, a->addr, w, NULL, run)
			      : vtd_walk_fs(vtd, pe, a->addr, w);
	run->hits |= VTD_RUN_HIT_FSPC;
	return nested ? vtd_walk_fs_nested(vtd, pe, a->addr, w, st, run)
		      : vtd_walk_fs_start(vtd, pe, a->addr, w, st);
}

static inline __attribute__((always_inline)) enum vtd_walk_status
walk_ss(struct vtd *vtd, const struct vtd_pe *pe, uint64_t iova, struct vtd_walk *w,
	struct vtd_run *run, const bool caches)
{
	if (caches)
		return vtd_walk_ss_cached(vtd, pe, iova, w, run, false);
	return vtd_walk_ss(vtd, pe, iova, w);
}

/* Walk the tables of `pe`'s PGTT for a->addr. 0 or a reason code (x->neg says which stage
 * found a not-present entry). */
static inline __attribute__((always_inline)) uint8_t walk(struct vtd *vtd, const struct vtd_pe *pe,
							  const struct vtd_access *a, struct xl *x,
							  struct walks *w, struct vtd_run *run,
							  const bool caches)
{
	bool legacy = pe->flags & VTD_PE_LEGACY;
	enum vtd_walk_status s;

	x->fs = XL_ALL;
	x->ss = XL_ALL;
	if (VTD_LIKELY(pe->pgtt == VTD_PGTT_FS || pe->pgtt == VTD_PGTT_NESTED)) {
		s = caches ? walk_fs_cached(vtd, pe, a, &w->fs, run)
			   : vtd_walk_fs_inline(vtd, pe, a->addr, &w->fs);
		if (VTD_UNLIKELY(s)) {
			x->neg = s == VTD_WALK_NOT_PRESENT ? VTD_NEG_FS : 0;
			return fs_reason(s, &w->fs);
		}
		x->out = w->fs.out;
		x->shift = w->fs.shift;
		x->fs = w->fs.perm;
		if (pe->pgtt == VTD_PGTT_FS)
			return 0;
		s = walk_ss(vtd, pe, w->fs.out, &w->ss, run, caches);
		if (s) {
			x->neg = s == VTD_WALK_NOT_PRESENT ? VTD_NEG_SS : 0;
			return ss_reason(s, false, a->acc);
		}
		x->out = w->ss.out;
		x->shift = w->ss.shift < x->shift ? w->ss.shift : x->shift;
		x->ss = w->ss.perm;
		return 0;
	}
	if (pe->pgtt == VTD_PGTT_SS) {
		s = walk_ss(vtd, pe, a->addr, &w->ss, run, caches);
		if (s) {
			x->neg = s == VTD_WALK_NOT_PRESENT ? VTD_NEG_SS : 0;
			return ss_reason(s, legacy, a->acc);
		}
		x->out = w->ss.out;
		x->shift = w->ss.shift;
		x->ss = w->ss.perm;
		return 0;
	}
	/* Pass-through: the output must be below HAW (3.2, SGN.5). */
	if (a->addr >> vtd->cfg.haw)
		return legacy ? VTD_FR_LGN_1 : VTD_FR_SGN_5;
	x->out = a->addr;
	x->shift = 12;
	return 0;
}

/* The permission checks of an untranslated request in order (4.1, 4.2): its fault. */
static uint8_t check_access(const struct vtd_pe *pe, unsigned acc, const struct xl *x)
{
	bool priv = acc & VTD_ACC_PRIV;

	if (pe->pgtt == VTD_PGTT_FS || pe->pgtt == VTD_PGTT_NESTED) {
		if (!priv && !(x->fs & VTD_XL_US))
			return VTD_FR_SGN_2;
		/* Supervisor writes ignore R/W unless WPE is set. */
		if ((acc & VTD_ACC_W) && !(x->fs & VTD_XL_W) && (!priv || (pe->flags & VTD_PE_WPE)))
			return VTD_FR_SGN_6;
		/* XD (with NXE) forbids execution; SMEP forbids it to supervisor requests on
		 * user pages. */
		if ((acc & VTD_ACC_X) &&
		    (!(x->fs & VTD_XL_X) ||
		     (priv && (pe->flags & VTD_PE_SMEP) && (x->fs & VTD_XL_US))))
			return VTD_FR_SGN_3;
	}
	if (pe->flags & VTD_PE_LEGACY) {
		if ((acc & VTD_ACC_R) && !(x->ss & VTD_XL_R))
			return VTD_FR_LGN_3;
		return VTD_FR_LGN_2;
	}
	if ((acc & VTD_ACC_R) && !(x->ss & VTD_XL_R))
		return VTD_FR_SGN_7;
	if ((acc & VTD_ACC_W) && !(x->ss & VTD_XL_W))
		return VTD_FR_SGN_6;
	return VTD_FR_SGN_3;
}

/*
 * What the translation grants this requester, as a completion's PCI_PERM_* bits: the
 * second stage's R/W/X ANDed with the first stage's, where a user request needs U/S, a
 * supervisor request may write read-only pages unless WPE and may not execute user pages
 * with SMEP (4.1). X only when execute was requested; no W for an ATS no-write request.
 */
static inline unsigned granted(const struct vtd_pe *pe, unsigned acc, const struct xl *x)
{
	unsigned f = x->fs, p;

	if (acc & VTD_ACC_PRIV) {
		if (!(pe->flags & VTD_PE_WPE))
			f |= VTD_XL_W;
		if ((pe->flags & VTD_PE_SMEP) && (x->fs & VTD_XL_US))
			f &= ~VTD_XL_X;
	} else if (!(x->fs & VTD_XL_US)) {
		return 0;
	}
	p = x->ss & f & (VTD_XL_R | VTD_XL_W | (acc & VTD_ACC_X));
	if (VTD_UNLIKELY(acc & VTD_ACC_NW))
		p &= ~VTD_XL_W;
	if (p && (acc & VTD_ACC_PRIV))
		p |= PCI_PERM_PRIV;
	if (p && (x->fs & VTD_XL_G))
		p |= PCI_PERM_GLOBAL;
	return p;
}

/* Whether the walks left A (EA) or a needed D unset: the common case writes nothing. */
static inline bool ad_needed(const struct vtd_pe *pe, const struct walks *w, bool dirty)
{
	if (pe->pgtt == VTD_PGTT_FS || pe->pgtt == VTD_PGTT_NESTED) {
		uint64_t a = VTD_FL_A | ((pe->flags & VTD_PE_EAFE) ? VTD_FL_EA : 0);

		if ((w->fs.and_all & a) != a || (dirty && !(w->fs.ev[w->fs.nlev - 1] & VTD_FL_D)))
			return true;
	}
	if ((pe->pgtt == VTD_PGTT_SS || pe->pgtt == VTD_PGTT_NESTED) &&
	    (pe->flags & VTD_PE_SLADE) && !(pe->flags & VTD_PE_LEGACY))
		return !(w->ss.and_all & VTD_SL_A) ||
		       (dirty && !(w->ss.ev[w->ss.nlev - 1] & VTD_SL_D));
	return false;
}

/*
 * A/D updates for a translation that is being used (4.1, 4.2). 0 or a reason code. Check
 * mode's reference walk (w->fs.dry) makes every check the update makes - on a nested walk,
 * second-stage write permission to each first-stage table page whose A/EA/D it would set
 * (SFL.8) - and writes nothing: only the write itself failing (SSL.6, or the entry's
 * write-back) cannot be foreseen without writing.
 */
static uint8_t update_ad(struct vtd *vtd, const struct vtd_pe *pe, struct walks *w, bool dirty)
{
	enum vtd_walk_status s;

	if (pe->pgtt == VTD_PGTT_FS || pe->pgtt == VTD_PGTT_NESTED) {
		s = vtd_fs_set_ad(vtd, pe, &w->fs, dirty);
		if (s)
			return fs_reason(s, &w->fs);
	}
	if ((pe->pgtt == VTD_PGTT_SS || pe->pgtt == VTD_PGTT_NESTED) &&
	    (pe->flags & VTD_PE_SLADE) && !(pe->flags & VTD_PE_LEGACY) && !w->fs.dry) {
		s = vtd_ss_set_ad(vtd, &w->ss, dirty);
		if (s)
			return s == VTD_WALK_RETRY ? REASON_RETRY : VTD_FR_SSL_6;
	}
	return 0;
}

static inline void complete(struct pci_resp *resp, uint64_t addr, unsigned shift, unsigned perm)
{
	resp->addr = addr;
	resp->page_size = 1ull << shift;
	resp->status = PCI_SC;
	resp->perm = (uint8_t)perm;
	resp->fault = 0;
	resp->flags = 0;
}

/* Whether a write through this walk's translation needs no A/D update (the IOTLB keeps
 * this, so that a later write on an entry filled by a read goes back to memory). */
static inline bool leaf_dirty(const struct vtd_pe *pe, const struct walks *w, bool wrote)
{
	if (wrote || pe->pgtt == VTD_PGTT_PT)
		return true;
	if ((pe->pgtt == VTD_PGTT_FS || pe->pgtt == VTD_PGTT_NESTED) &&
	    !(w->fs.ev[w->fs.nlev - 1] & VTD_FL_D))
		return false;
	if ((pe->pgtt == VTD_PGTT_SS || pe->pgtt == VTD_PGTT_NESTED) &&
	    (pe->flags & VTD_PE_SLADE) && !(pe->flags & VTD_PE_LEGACY))
		return w->ss.ev[w->ss.nlev - 1] & VTD_SL_D;
	return true;
}

/* One attempt at the walk and its checks; REASON_RETRY asks for another. On a usable
 * translation *ent is what the IOTLB may keep (ent->shift != 0); on a page that is not
 * present, ent->neg says so (a negative entry with CAP.CM). */
static inline __attribute__((always_inline)) uint8_t
translate_once(struct vtd *vtd, const struct vtd_access *a, const struct vtd_pe *pe,
	       struct pci_resp *resp, struct vtd_iotlb_ent *ent, struct walks *w,
	       struct vtd_run *run, const bool dry, const bool caches)
{
	bool ats = a->acc & VTD_ACC_ATS;
	struct xl x = {.shift = 12};
	/* A translation request needs nothing: it reports what is granted. */
	unsigned perm, need = ats ? 0 : a->acc & (VTD_ACC_R | VTD_ACC_W | VTD_ACC_X);
	uint8_t r;

	w->fs.dry = dry;
	r = walk(vtd, pe, a, &x, w, run, caches);

	if (VTD_UNLIKELY(r)) {
		if (caches)
			ent->neg = x.neg;
		if (ats && page_level(r)) {
			complete(resp, 0, 12, 0);
			return 0;
		}
		return r;
	}
	perm = granted(pe, a->acc, &x);
	if (VTD_UNLIKELY((perm & need) != need))
		return check_access(pe, a->acc, &x);
	if (VTD_UNLIKELY(ats && !(perm & (PCI_PERM_R | PCI_PERM_W)))) {
		complete(resp, 0, 12, 0);
		return 0;
	}
	if (VTD_UNLIKELY(in_intr_range(x.out)))
		return (pe->flags & VTD_PE_LEGACY) ? VTD_FR_LGN_4 : VTD_FR_SGN_8;
	/* Untranslated writes set D; a translation request sets it when it hands out write
	 * permission, since later writes bypass the IOMMU. */
	bool dirty = ats ? (perm & PCI_PERM_W) : (a->acc & VTD_ACC_W);
	if (VTD_UNLIKELY(ad_needed(pe, w, dirty))) {
		r = update_ad(vtd, pe, w, dirty);
		if (r)
			return r;
	}
	complete(resp, x.out, x.shift, perm);
	if (caches && vtd->iotlb.sets) {
		ent->out = x.out;
		ent->shift = x.shift;
		ent->fs = x.fs;
		ent->ss = x.ss;
		ent->pgtt = pe->pgtt;
		ent->clean = leaf_dirty(pe, w, dirty);
	}
	return 0;
}

/* An IOTLB hit serves the request if its permissions suffice and nothing needs writing;
 * otherwise the request walks memory. */
static inline bool serve_hit(const struct vtd_access *a, const struct vtd_pe *pe,
			     const struct vtd_iotlb_ent *ent, struct pci_resp *resp)
{
	bool ats = a->acc & VTD_ACC_ATS;
	struct xl x = {.out = ent->out | (a->addr & ((1ull << ent->shift) - 1)),
		       .shift = ent->shift,
		       .fs = ent->fs,
		       .ss = ent->ss};
	unsigned perm = granted(pe, a->acc, &x);
	unsigned need = ats ? 0 : a->acc & (VTD_ACC_R | VTD_ACC_W | VTD_ACC_X);
	bool dirty = ats ? (perm & PCI_PERM_W) : (a->acc & VTD_ACC_W);

	if ((perm & need) != need || (ats && !(perm & (PCI_PERM_R | PCI_PERM_W))) ||
	    (dirty && !ent->clean) || in_intr_range(x.out))
		return false;
	complete(resp, x.out, x.shift, perm);
	return true;
}

/* Report a fault - or, for check mode's reference walk, only describe it. */
static void fail(struct vtd *vtd, const struct pci_req *req, uint8_t r, bool fpd,
		 struct pci_resp *resp, const bool dry)
{
	if (VTD_UNLIKELY(dry)) {
		/* As vtd_fault() fills it, without the record. */
		*resp = (struct pci_resp){.status = PCI_UR, .fault = r};
		return;
	}
	vtd_fault(vtd, req, r, fpd, resp);
}

/* A negative IOTLB entry (CAP.CM): the page was not present, and still is for the unit -
 * the fault of the stage that said so, or R = W = 0 for a translation request. */
static void serve_negative(struct vtd *vtd, const struct pci_req *req, const struct vtd_access *a,
			   const struct vtd_pe *pe, const struct vtd_iotlb_ent *ent, bool fpd,
			   struct pci_resp *resp)
{
	uint8_t r = ent->neg == VTD_NEG_FS
			? VTD_FR_SFL_2
			: ss_reason(VTD_WALK_NOT_PRESENT, pe->flags & VTD_PE_LEGACY, a->acc);

	if ((a->acc & VTD_ACC_ATS) && page_level(r))
		complete(resp, 0, 12, 0);
	else
		fail(vtd, req, r, fpd, resp, false);
}

/* What the walks read that the paging-structure caches may keep (A/D are set by now). */
static void psc_fill(struct vtd *vtd, const struct vtd_access *a, const struct vtd_pe *pe,
		     const struct walks *w, const struct vtd_run *run)
{
	if (pe->pgtt == VTD_PGTT_FS || pe->pgtt == VTD_PGTT_NESTED) {
		vtd_fspc_fill(vtd, pe->did, a->pasid, pe->pgtt == VTD_PGTT_NESTED, &w->fs,
			      run->gen);
		if (pe->pgtt == VTD_PGTT_NESTED)
			vtd_sspc_fill(vtd, pe->did, w->fs.out, &w->ss, vtd_ss_ad(pe), run->gen);
	} else if (pe->pgtt == VTD_PGTT_SS) {
		vtd_sspc_fill(vtd, pe->did, a->addr, &w->ss, vtd_ss_ad(pe), run->gen);
	}
}

/* The walk, after an IOTLB miss (or without caches): fills the caches on the way out. */
static inline __attribute__((always_inline)) void
translate_walk(struct vtd *vtd, const struct pci_req *req, const struct vtd_access *a,
	       const struct vtd_pe *pe, bool fpd, struct pci_resp *resp, struct vtd_run *run,
	       const bool dry, const bool caches)
{
	uint32_t tag_pasid = (pe->flags & VTD_PE_LEGACY) ? VTD_IOTLB_NO_PASID : a->pasid;
	struct vtd_iotlb_ent ent;
	struct walks w;
	uint8_t r;

	ent.shift = 0;
	ent.neg = 0;
	for (int tries = 0;; tries++) {
		r = translate_once(vtd, a, pe, resp, &ent, &w, run, dry, caches);
		if (VTD_LIKELY(r != REASON_RETRY))
			break;
		if (tries + 1 == MAX_WALK_TRIES) {
			r = pe->pgtt == VTD_PGTT_SS ? VTD_FR_SSL_6 : VTD_FR_SFL_10;
			ent.neg = 0;
			break;
		}
	}
	if (caches && VTD_UNLIKELY(ent.neg) && vtd->negative) {
		/* CAP.CM: the not-present page is remembered (digest 5.11). */
		ent.shift = 12;
		ent.out = 0;
		ent.fs = ent.ss = 0;
		ent.pgtt = pe->pgtt;
		ent.clean = false;
		vtd_iotlb_fill(vtd, pe->did, tag_pasid, a->addr, &ent, run->gen, VTD_CACHE_UNSEEN);
	}
	if (VTD_UNLIKELY(r)) {
		fail(vtd, req, r, fpd, resp, dry);
	} else if (caches && ent.shift && !ent.neg) {
		struct vtd_fill f = vtd_iotlb_fill(vtd, pe->did, tag_pasid, a->addr, &ent, run->gen,
						   VTD_CACHE_UNSEEN);

		psc_fill(vtd, a, pe, &w, run);
		if (f.slot >= 0 && vtd->memo_ok)
			vtd_memo_fill(vtd, req, resp, pe->flags & VTD_PE_LEGACY, &ent, f.slot,
				      f.ver, run);
	}
}

static inline __attribute__((always_inline)) void
translate_pe(struct vtd *vtd, const struct pci_req *req, const struct vtd_access *a,
	     const struct vtd_pe *pe, bool fpd, struct pci_resp *resp, struct vtd_run *run,
	     const bool dry, const bool caches)
{
	uint32_t tag_pasid = (pe->flags & VTD_PE_LEGACY) ? VTD_IOTLB_NO_PASID : a->pasid;

	/* Interrupt messages must reach the unit untranslated: a translation request for
	 * the interrupt range gets "untranslated access only" (U) with write access. */
	if (VTD_UNLIKELY((a->acc & VTD_ACC_ATS) && in_intr_range(a->addr))) {
		complete(resp, a->addr, 12, PCI_PERM_W | PCI_PERM_U);
		return;
	}
	if (caches) {
		run->did = pe->did;
		run->pe = *pe; /* for check mode's diagnosis */
	}
	if (caches && vtd->iotlb.sets) {
		struct vtd_iotlb_ent ent;
		unsigned slot = 0;
		uint32_t ver = 0;

		if (vtd_iotlb_lookup(vtd, pe->did, tag_pasid, a->addr, &ent, &slot, &ver)) {
			if (VTD_UNLIKELY(ent.neg)) {
				vtd_cache_hit(&vtd->iotlb);
				run->hits |= VTD_RUN_HIT_IOTLB;
				run->ent = ent;
				serve_negative(vtd, req, a, pe, &ent, fpd, resp);
				return;
			}
			if (VTD_LIKELY(serve_hit(a, pe, &ent, resp))) {
				vtd_cache_hit(&vtd->iotlb);
				run->hits |= VTD_RUN_HIT_IOTLB;
				run->ent = ent;
				if (vtd->memo_ok)
					vtd_memo_fill(vtd, req, resp, pe->flags & VTD_PE_LEGACY,
						      &ent, (int)slot, ver, run);
				return;
			}
		}
		vtd_cache_miss(&vtd->iotlb);
	}
	translate_walk(vtd, req, a, pe, fpd, resp, run, dry, caches);
}

/* Requests that do not need a walk: translated (ATS) requests pass through. */
static void pass(struct pci_resp *resp, uint64_t addr)
{
	complete(resp, addr, 12, PCI_PERM_R | PCI_PERM_W | PCI_PERM_X);
}

/* The context entry: from the context cache, else from memory (and then cached). */
static inline __attribute__((always_inline)) uint8_t
get_context(struct vtd *vtd, uint64_t root, bool scalable, const struct vtd_access *a,
	    struct vtd_ctx *ctx, bool *fpd, struct vtd_run *run, const bool caches)
{
	uint8_t r;

	unsigned slot = 0;

	if (caches && vtd_ctxc_lookup(vtd, a->sid, scalable, ctx, &slot)) {
		run->ctx_slot = (int)slot;
		run->hits |= VTD_RUN_HIT_CTX;
		run->ctx = *ctx;
		*fpd = ctx->flags & VTD_CTX_FPD;
		return 0;
	}
	r = vtd_context_lookup(vtd, root, scalable, a->sid, ctx, fpd);
	if (caches && !r) {
		run->ctx_slot = vtd_ctxc_fill(vtd, a->sid, scalable, ctx, run->cgen);
	}
	return r;
}

/* The PASID-table entry: from the PASID cache, else from memory (and then cached, with
 * its directory entry's FPD folded in; a not-present entry too with CAP.CM). */
static inline __attribute__((always_inline)) uint8_t
get_pasid_entry(struct vtd *vtd, const struct vtd_ctx *ctx, const struct vtd_access *a,
		struct vtd_pe *pe, bool *fpd, struct vtd_run *run, const bool caches)
{
	bool pfpd = false;
	uint8_t r;

	if (caches)
		run->pasid = a->pasid;
	unsigned slot = 0;

	if (caches && vtd_pc_lookup(vtd, a->sid, a->pasid, pe, &slot)) {
		run->pc_slot = (int)slot;
		run->hits |= VTD_RUN_HIT_PC;
		run->pe = *pe;
		*fpd |= pe->flags & VTD_PE_FPD;
		return pe->neg;
	}
	r = vtd_pasid_lookup(vtd, ctx, a->pasid, pe, &pfpd);
	*fpd |= pfpd;
	if (!r) {
		*fpd |= pe->flags & VTD_PE_FPD; /* the directory's FPD is folded in */
		pe->neg = 0;
		if (caches)
			run->pc_slot = vtd_pc_fill(vtd, a->sid, a->pasid, pe, run->cgen);
	} else if (caches && VTD_UNLIKELY(vtd->negative) &&
		   (r == VTD_FR_SPD_2 || r == VTD_FR_SPT_2)) {
		/* CAP.CM: a not-present directory or table entry is remembered (5.11). */
		struct vtd_pe neg = {.neg = r, .flags = pfpd ? VTD_PE_FPD : 0};

		vtd_pc_fill(vtd, a->sid, a->pasid, &neg, run->cgen);
	}
	return r;
}

/* Legacy mode (TTM 00): context entry with TT, second-stage tables or pass-through. */
static void translate_legacy(struct vtd *vtd, uint64_t root, const struct pci_req *req,
			     struct vtd_access *a, struct pci_resp *resp, struct vtd_run *run,
			     const bool dry, const bool caches)
{
	struct vtd_ctx ctx;
	struct vtd_pe pe;
	bool fpd = false;
	uint8_t r;

	if (a->acc & VTD_ACC_PASID) {
		fail(vtd, req, VTD_FR_RTA_2, false, resp, dry);
		return;
	}
	r = get_context(vtd, root, false, a, &ctx, &fpd, run, caches);
	if (!r && a->at != PCI_AT_UNTRANSLATED && !(ctx.flags & VTD_CTX_DTE))
		r = VTD_FR_LCT_5; /* TT 00 / 10 block ATS */
	if (r) {
		fail(vtd, req, r, fpd, resp, dry);
		return;
	}
	pe.pgtt = ctx.tt == VTD_TT_PASS_THROUGH ? VTD_PGTT_PT : VTD_PGTT_SS;
	pe.slptptr = ctx.ptr;
	pe.flptptr = 0;
	pe.did = ctx.did;
	pe.ss_levels = (uint8_t)(ctx.aw + 2);
	pe.ss_width = vtd_ss_width(vtd, ctx.aw);
	pe.fs_levels = 4;
	pe.flags = VTD_PE_LEGACY | (fpd ? VTD_PE_FPD : 0);
	pe.neg = 0;
	if (caches && vtd->memo_ok)
		vtd_memo_rq_fill(vtd, req, a, &pe, fpd, a->at == PCI_AT_TRANSLATED, run);
	if (a->at == PCI_AT_TRANSLATED) {
		pass(resp, a->addr);
		return;
	}
	translate_pe(vtd, req, a, &pe, fpd, resp, run, dry, caches);
}

/* A first-stage walk's permissions (VTD_XL_*, as vtd_fs_done() makes them) from its key
 * (vtd_fs_key()). */
static inline unsigned fs_key_xl(unsigned key)
{
	return VTD_XL_R | ((key & VTD_FSKEY_XD) ? 0 : VTD_XL_X) |
	       ((key & VTD_FSKEY_W) ? VTD_XL_W : 0) | ((key & VTD_FSKEY_US) ? VTD_XL_US : 0) |
	       ((key & VTD_FSKEY_G) ? VTD_XL_G : 0);
}

/* ... and back. */
static inline unsigned fs_xl_key(unsigned xl)
{
	return ((xl & VTD_XL_X) ? 0 : VTD_FSKEY_XD) | ((xl & VTD_XL_W) ? VTD_FSKEY_W : 0) |
	       ((xl & VTD_XL_US) ? VTD_FSKEY_US : 0) | ((xl & VTD_XL_G) ? VTD_FSKEY_G : 0);
}

/*
 * A requester-memo entry's permission table (struct vtd_memo_rq.ptab) for a first-stage
 * entry `pe` and access `acc`: for each key a walk may give (vtd_fs_key()), what
 * translate_once() decides from it - the completion's permissions (granted()), whether
 * they cover what the request needs and an ATS request is granted something, whether the
 * request sets D - and the walk's permissions.
 */
static void rq_perm_table(const struct vtd_pe *pe, unsigned acc, uint16_t tab[16])
{
	bool ats = acc & VTD_ACC_ATS;
	unsigned need = ats ? 0 : acc & (VTD_ACC_R | VTD_ACC_W | VTD_ACC_X);

	for (unsigned key = 0; key < 16; key++) {
		struct xl x = {.fs = fs_key_xl(key), .ss = XL_ALL};
		unsigned perm = granted(pe, acc, &x);
		bool dirty = ats ? (perm & PCI_PERM_W) : (acc & VTD_ACC_W);
		bool ok = (perm & need) == need && (!ats || (perm & (PCI_PERM_R | PCI_PERM_W)));

		tab[key] = (uint16_t)(perm | (ok ? VTD_RQ_OK : 0) | (dirty ? VTD_RQ_DIRTY : 0) |
				      x.fs << VTD_RQ_XL_SHIFT);
	}
}

void vtd_translate_init(struct vtd *vtd)
{
	/* uncached_fast() serves a unit without caches and trace callback whose memory it
	 * reaches directly, in scalable mode (the only one it knows). */
	vtd->fast_uncached = !vtd->caching && !vtd->cb.trace && vtd->base && vtd->cfg.scalable;
	/* Its tests of a root entry half, a context entry's Q0 and a PASID directory entry:
	 * present and no reserved bit. */
	vtd->uf_root_chk = VTD_SRE_Q0_LP | VTD_SRE_Q0_RSVD | vtd->ptr_rsvd;
	vtd->uf_ctx_chk = VTD_SCE_Q0_P | vtd->sm_ctx_rsvd[0];
	vtd->uf_dir_chk = VTD_PDE_P | VTD_PDE_RSVD | vtd->ptr_rsvd;
	/* A quad-word at pa may be read directly iff pa < direct_end (vtd->base is only set
	 * when memory is at least 64 bytes). */
	vtd->direct_end = vtd->base ? vtd->mem_size - 7 : 0;
	/* The fast paths' test of a first-stage entry that needs no A update (walk_fs.h). */
	for (unsigned nxe = 0; nxe < 2; nxe++)
		for (unsigned lvl = 0; lvl < 6; lvl++)
			vtd->fs_chka[nxe][lvl] = vtd->fs_chk[nxe][lvl] | VTD_FL_A;
	for (unsigned row = 0; row < 64; row++) {
		struct vtd_pe pe = {.flags = ((row & 16) ? VTD_PE_WPE : 0) |
					     ((row & 32) ? VTD_PE_SMEP : 0)};

		rq_perm_table(&pe, row & 15, vtd->fs_ptab[row]);
	}
}

/* The row of vtd->fs_ptab for an untranslated request's access `acc` and a PASID entry's
 * Q2 (WPE, SMEP). */
static inline unsigned fs_ptab_row(unsigned acc, uint64_t q2)
{
	_Static_assert(VTD_PE_Q2_WPE == 16 && VTD_PE_Q2_SMEP == 64, "WPE, SMEP: Q2 bits 4, 6");
	return (acc & 15) | (unsigned)(q2 & VTD_PE_Q2_WPE) | (unsigned)((q2 & VTD_PE_Q2_SMEP) >> 1);
}

/* Scalable mode, 2.5 steps 3-4: the request against the context entry. 0 or a reason. */
static inline uint8_t check_sm_request(const struct vtd *vtd, const struct vtd_ctx *ctx,
				       struct vtd_access *a)
{
	uint32_t dir_entries = 1u << (ctx->pdts + 7);

	if (VTD_UNLIKELY(a->at != PCI_AT_UNTRANSLATED && !(ctx->flags & VTD_CTX_DTE)))
		return VTD_FR_SCT_5;
	if (a->acc & VTD_ACC_PASID) {
		if (!(ctx->flags & VTD_CTX_PASIDE))
			return VTD_FR_SCT_6;
		/* Beyond the directory, or beyond the PASID width the unit implements. */
		if ((a->pasid >> VTD_PASID_DIR_SHIFT) >= dir_entries ||
		    a->pasid >= vtd->pasid_limit)
			return VTD_FR_SCT_7;
		return 0;
	}
	/* Requests without PASID use RID_PASID (0 without ECAP.RPS) and RID_PRIV. */
	a->pasid = ctx->rid_pasid;
	if (ctx->flags & VTD_CTX_RID_PRIV)
		a->acc |= VTD_ACC_PRIV;
	if ((a->pasid >> VTD_PASID_DIR_SHIFT) >= dir_entries)
		return VTD_FR_SCT_9;
	return 0;
}

static inline __attribute__((always_inline)) void
translate_scalable(struct vtd *vtd, uint64_t root, const struct pci_req *req, struct vtd_access *a,
		   struct pci_resp *resp, struct vtd_run *run, const bool dry, const bool caches)
{
	struct vtd_ctx ctx;
	struct vtd_pe pe;
	bool fpd = false;
	uint8_t r;

	r = get_context(vtd, root, true, a, &ctx, &fpd, run, caches);
	if (VTD_LIKELY(!r))
		r = check_sm_request(vtd, &ctx, a);
	if (VTD_UNLIKELY(!r && a->at == PCI_AT_TRANSLATED)) {
		/* Translated requests: the context entry allows them (DTE), the address
		 * passes (digest 2.5). */
		if (caches && vtd->memo_ok) {
			pe = (struct vtd_pe){.flags = fpd ? VTD_PE_FPD : 0};
			vtd_memo_rq_fill(vtd, req, a, &pe, fpd, true, run);
		}
		pass(resp, a->addr);
		return;
	}
	if (VTD_LIKELY(!r))
		r = get_pasid_entry(vtd, &ctx, a, &pe, &fpd, run, caches);
	/* ERE / SRE gate execute and supervisor requests of first-stage translations. */
	if (VTD_LIKELY(!r) && (pe.pgtt == VTD_PGTT_FS || pe.pgtt == VTD_PGTT_NESTED)) {
		if ((a->acc & VTD_ACC_X) && !(pe.flags & VTD_PE_ERE))
			r = VTD_FR_SPT_5;
		else if ((a->acc & VTD_ACC_PRIV) && !(pe.flags & VTD_PE_SRE))
			r = VTD_FR_SPT_6;
	}
	if (VTD_UNLIKELY(r)) {
		fail(vtd, req, r, fpd, resp, dry);
		return;
	}
	if (caches && vtd->memo_ok) {
		struct vtd_memo_rq *rq = vtd_memo_rq_fill(vtd, req, a, &pe, fpd, false, run);

		if (rq && pe.pgtt == VTD_PGTT_FS)
			rq_perm_table(&pe, a->acc, rq->ptab);
	}
	translate_pe(vtd, req, a, &pe, fpd, resp, run, dry, caches);
}

/* A completion that refuses without a fault: abort-DMA mode (TTM 11) blocks every
 * request, and a translation request finds nothing to answer with while TE = 0. */
static void block(struct pci_resp *resp)
{
	complete(resp, 0, 12, 0);
	resp->status = PCI_UR;
}

/* GSTS.TES = 0: DMA is not remapped. */
static void translate_disabled(const struct pci_req *req, struct pci_resp *resp)
{
	if (req->at == PCI_AT_TRANSLATION)
		block(resp);
	else
		pass(resp, req->addr);
}

/* What an untranslated or translated request's flags ask for, as VTD_ACC_* bits:
 * privileged-mode and execute travel in the PASID prefix; execute implies read, and so does
 * a request that asks for neither. Indexed by the flags' PASID, READ, WRITE, PRIV and EXEC
 * bits. */
#define ACC_OF(f)                                                                                  \
	((((f)&PCI_REQ_PASID) ? VTD_ACC_PASID | (((f)&PCI_REQ_PRIV) ? VTD_ACC_PRIV : 0) |          \
				    (((f)&PCI_REQ_EXEC) ? VTD_ACC_X | VTD_ACC_R : 0)               \
			      : 0) |                                                               \
	 (((f)&PCI_REQ_WRITE) ? VTD_ACC_W : 0) |                                                   \
	 ((((f)&PCI_REQ_READ) || !((f)&PCI_REQ_WRITE)) ? VTD_ACC_R : 0))
#define ACC_OF4(f) ACC_OF(f), ACC_OF((f) + 1), ACC_OF((f) + 2), ACC_OF((f) + 3)
#define ACC_FLAGS  (PCI_REQ_PASID | PCI_REQ_READ | PCI_REQ_WRITE | PCI_REQ_PRIV | PCI_REQ_EXEC)

_Static_assert(ACC_FLAGS == 31, "the access table covers the low five flag bits");
static const uint8_t acc_of[32] = {ACC_OF4(0),	ACC_OF4(4),  ACC_OF4(8),  ACC_OF4(12),
				   ACC_OF4(16), ACC_OF4(20), ACC_OF4(24), ACC_OF4(28)};

static inline void decode(const struct vtd *vtd, const struct pci_req *req, struct vtd_access *a)
{
	unsigned f = req->flags, acc = acc_of[f & ACC_FLAGS];

	a->addr = req->addr;
	a->sid = req->rid;
	a->at = req->at;
	a->pasid = (f & PCI_REQ_PASID) ? req->pasid : 0;
	if (VTD_UNLIKELY(req->at == PCI_AT_TRANSLATION)) {
		/* Intent only: permissions are reported, not enforced (X asks for X to be
		 * reported). */
		acc = (acc & (VTD_ACC_PASID | VTD_ACC_PRIV | VTD_ACC_X)) | VTD_ACC_ATS |
		      ((f & PCI_REQ_NW) && vtd->cfg.nwfs ? VTD_ACC_NW : 0);
	}
	a->acc = (uint8_t)acc;
}

/* TE, the table mode, and the mode's path. */
static inline __attribute__((always_inline)) void
dispatch(struct vtd *vtd, const struct pci_req *req, struct pci_resp *resp, struct vtd_run *run,
	 const bool dry, const bool caches)
{
	uint64_t root = __atomic_load_n(&vtd->root, __ATOMIC_ACQUIRE);
	struct vtd_access a;
	unsigned ttm;

	if (VTD_UNLIKELY(!(root & VTD_ROOT_TE))) {
		translate_disabled(req, resp);
		return;
	}
	if (caches)
		run->root = root;
	decode(vtd, req, &a);
	ttm = (unsigned)VTD_GET(root, VTD_RTADDR_TTM);
	if (VTD_LIKELY(ttm == VTD_TTM_SCALABLE && vtd->cfg.scalable))
		translate_scalable(vtd, root, req, &a, resp, run, dry, caches);
	else if (ttm == VTD_TTM_LEGACY)
		translate_legacy(vtd, root, req, &a, resp, run, dry, caches);
	else if (ttm == VTD_TTM_ABORT_DMA && vtd->cfg.abort_dma)
		block(resp);
	else
		fail(vtd, req, VTD_FR_RTA_1, false, resp, dry);
}

/* ---- the request memo (memo.h) --------------------------------------------------------- */

/* A memo hit is a use of the entries it stands for: refresh their LRU stamps. */
static __attribute__((noinline)) bool memo_touch(struct vtd *vtd, struct vtd_memo_ent *e,
						 uint64_t clock)
{
	uint64_t sclock = vtd_cache_clock(&vtd->ctxc);

	e->clock = (uint32_t)clock;
	vtd_cache_touch(&vtd->iotlb, (unsigned)(e->verp - vtd->iotlb.ver),
			vtd_cache_clock(&vtd->iotlb));
	vtd_cache_touch(&vtd->ctxc, e->ctx_slot, sclock);
	if (e->pc_slot != VTD_MEMO_NO_SLOT)
		vtd_cache_touch(&vtd->pc, e->pc_slot, sclock);
	return true;
}

/* The completion's status, permissions, fault (0) and flags with one store. */
static inline void complete_word(struct pci_resp *resp, unsigned perm, unsigned flags)
{
	uint32_t v = (uint32_t)PCI_SC | perm << 8 | flags << 24;

	_Static_assert(
	    offsetof(struct pci_resp, perm) == offsetof(struct pci_resp, status) + 1 &&
		offsetof(struct pci_resp, fault) == offsetof(struct pci_resp, status) + 2 &&
		offsetof(struct pci_resp, flags) == offsetof(struct pci_resp, status) + 3,
	    "struct pci_resp: status, perm, fault, flags in one word");
	memcpy(&resp->status, &v, sizeof(v));
}

/*
 * Serve the request from this thread's memo if it can (memo.h), with completion flags
 * `flags`. Reads only this thread's memo and three words others write rarely (the structure
 * generation, the IOTLB slot's version, the LRU clock); writes only this thread's memo.
 */
static inline __attribute__((always_inline)) bool memo_serve(struct vtd *vtd, struct vtd_memo *m,
							     struct vtd_memo_ent *e, uint64_t w,
							     const struct pci_req *req,
							     struct pci_resp *resp, unsigned flags)
{
	uint64_t page = req->addr >> 12;

	if (e->req != w || e->page != page)
		return false;
	/* (The shared words first: the entry's are then compared from memory.) */
	uint64_t sgen = __atomic_load_n(&vtd->sgen, __ATOMIC_ACQUIRE);

	if (e->sgen != sgen)
		return false;
	uint32_t ver = __atomic_load_n(e->verp, __ATOMIC_ACQUIRE);

	if (e->ver != ver)
		return false;
	uint64_t clock = vtd_clock(vtd);

	resp->addr = e->out | (req->addr & 0xfff);
	resp->page_size = e->page_size;
	complete_word(resp, e->perm, flags);
	__atomic_store_n(&m->hits, __atomic_load_n(&m->hits, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
	if (VTD_UNLIKELY(e->clock != (uint32_t)clock))
		return memo_touch(vtd, e, clock);
	return true;
}

/* ---- entry points ---------------------------------------------------------------------- */

/*
 * Where a first-stage walk of `addr` starts, for fs_fast(): the PDE from this thread's
 * paging-structure memo or the paging-structure cache (*word: its payload word 0; true),
 * remembering a cache hit in the memo. False when neither has it.
 */
static inline __attribute__((always_inline)) bool fs_fast_pde(struct vtd *vtd, struct vtd_memo *m,
							      const struct vtd_memo_rq *rq,
							      uint64_t sgen, uint64_t addr,
							      uint64_t *word)
{
	uint64_t tag0 = vtd_psc_tag0(addr, 2), tag1 = rq->tag1, p[2] = {0};
	struct vtd_memo_psc *e = vtd_memo_psc_slot(m, tag0, rq->fmix);
	unsigned slot = 0;
	uint32_t ver = 0;

	if (VTD_LIKELY(e->tag0 == tag0 && e->tag1 == tag1 && e->sgen == sgen &&
		       __atomic_load_n(e->verp, __ATOMIC_ACQUIRE) == e->ver)) {
		vtd_cache_touch(&vtd->fspc, e->slot, vtd_cache_clock(&vtd->fspc));
		*word = e->word;
		return true;
	}
	uint64_t clock = vtd_cache_clock(&vtd->fspc);

	/* (tag0 has no VTD_PSC_NESTED: vtd_fspc_set() of it is this.) */
	if (!vtd->fspc.sets ||
	    !vtd_cache_lookup(vtd, &vtd->fspc, vtd_cache_set(&vtd->fspc, tag0 ^ rq->fmix), tag0,
			      tag1, p, 2, &slot, &ver))
		return false;
	e->tag0 = tag0;
	e->tag1 = tag1;
	e->word = p[0];
	e->sgen = sgen;
	e->verp = &vtd->fspc.ver[slot];
	e->ver = ver;
	e->slot = slot;
	e->clock = clock; /* (the lookup refreshed its stamp) */
	*word = p[0];
	return true;
}

/*
 * The common case behind a requester-memo hit, on a plain first-stage PASID entry: an IOTLB
 * hit the translation memo did not have, or a miss whose walk (from the deepest
 * paging-structure entry cached: usually the PDE, so that only the leaf is read) finds a
 * present page that grants the request and needs no A/D update. The same lookups, walk,
 * checks and fills as translate_pe() and translate_walk(), without what they need for
 * anything else; counted in the thread's memo. Returns false - having counted and filled
 * nothing - when the request needs more (a fault, A/D to set, an entry that cannot serve
 * it); the full path then does it all. fs_fast() has the most common of these inline and
 * comes here for the others.
 */
static __attribute__((noinline)) bool fs_fast_slow(struct vtd *vtd, struct vtd_memo *m,
						   struct vtd_memo_ent *me,
						   const struct vtd_memo_rq *rq, uint64_t gen,
						   uint64_t sgen, const struct pci_req *req,
						   struct pci_resp *resp)
{
	const struct vtd_pe *pe = &rq->pe;
	uint64_t addr = req->addr;
	unsigned acc = rq->acc;
	bool ats = acc & VTD_ACC_ATS;
	uint64_t tag0 = vtd_iotlb_tag0(addr, 0), tag1 = rq->tag1;
	unsigned set = vtd_cache_set(&vtd->iotlb, tag0 ^ rq->imix), slot = 0;
	long long seen = VTD_CACHE_UNSEEN;
	uint32_t ver = 0;
	uint64_t p[2] = {0};
	struct vtd_iotlb_ent ent;

	if (VTD_UNLIKELY(ats && in_intr_range(addr)))
		return false;
	/* The IOTLB: the 4 KiB page, then the large sizes it holds entries of. */
	if (vtd_cache_lookup_seen(vtd, &vtd->iotlb, set, tag0, tag1, p, 2, &slot, &ver, &seen) ||
	    (__atomic_load_n(&vtd->iotlb.size[1], __ATOMIC_SEQ_CST) &&
	     vtd_iotlb_probe(vtd, tag1, pe->did, addr, 1, &ent, &slot, &ver, NULL)) ||
	    (__atomic_load_n(&vtd->iotlb.size[2], __ATOMIC_SEQ_CST) &&
	     vtd_iotlb_probe(vtd, tag1, pe->did, addr, 2, &ent, &slot, &ver, NULL))) {
		const struct vtd_access a = {
		    .addr = addr, .pasid = rq->pasid, .sid = req->rid, .at = req->at, .acc = acc};

		if (seen == VTD_CACHE_UNSEEN) /* the 4 KiB probe hit: decode it */
			vtd_iotlb_decode(p, 0, &ent);
		if (VTD_UNLIKELY(ent.neg) || !serve_hit(&a, pe, &ent, resp))
			return false;
		/* A context, PASID-cache and IOTLB hit. */
		__atomic_store_n(&m->fast_hit, m->fast_hit + 1, __ATOMIC_RELAXED);
		vtd_memo_put(vtd, m, me, req, resp->addr & ~0xfffull, resp->page_size, resp->perm,
			     slot, ver, rq->ctx_slot, rq->pc_slot, sgen, false);
		return true;
	}
	if (VTD_UNLIKELY(!vtd_fs_canonical(pe, addr)))
		return false;

	const bool nxe = pe->flags & VTD_PE_NXE;
	uint64_t leaf, and_all, out, word;
	unsigned shift = 12, key, nlev = 1;
	bool psc = true;
	struct vtd_walk w;

	if (VTD_LIKELY(fs_fast_pde(vtd, m, rq, sgen, addr, &word) && vtd->base)) {
		/* The PDE was cached: the leaf is all there is to read (as the walk reads it). */
		uint64_t pa = (word & VTD_FL_ADDR_MASK) + VTD_PT_INDEX(addr, 1) * 8, or_all;

		if (VTD_UNLIKELY(pa > vtd->mem_size - 8))
			return false;
		leaf = __atomic_load_n((const uint64_t *)(const void *)(vtd->base + pa),
				       __ATOMIC_ACQUIRE);
		if (VTD_UNLIKELY((leaf & vtd->fs_chk[nxe][1]) != VTD_FL_P))
			return false;
		/* As the walk gathers them (4.1): R/W, U/S ANDed, XD ORed over the levels. */
		and_all = (~(uint64_t)(VTD_FL_RW | VTD_FL_US) | word) & leaf;
		or_all = (word & VTD_FL_XD) | leaf;
		out = (leaf & VTD_FL_ADDR_MASK) | (addr & 0xfff);
		/* The permissions as rq->ptab's index. */
		key = vtd_fs_key(and_all, or_all, leaf);
	} else {
		struct vtd_walk_start st;

		psc = vtd_fspc_find(vtd, pe->did, rq->pasid, false, addr, pe->fs_levels, &st);
		if (psc ? vtd_walk_fs_start(vtd, pe, addr, &w, &st)
			: vtd_walk_fs(vtd, pe, addr, &w))
			return false;
		nlev = w.nlev;
		leaf = w.ev[nlev - 1];
		and_all = w.and_all;
		out = w.out;
		shift = w.shift;
		key = fs_xl_key(w.perm);
	}

	/* What translate_once() decides from the permissions, from the requester's table
	 * (granted(), what the request needs, whether it sets D); then A (EA) set at every
	 * level, D on the leaf if needed, and an output outside the interrupt range. */
	unsigned pt = rq->ptab[key], fsperm = pt >> VTD_RQ_XL_SHIFT;
	bool dirty = pt & VTD_RQ_DIRTY;
	uint64_t acc_bits = VTD_FL_A | ((pe->flags & VTD_PE_EAFE) ? VTD_FL_EA : 0);

	if (VTD_UNLIKELY(!(pt & VTD_RQ_OK) || in_intr_range(out) ||
			 (and_all & acc_bits) != acc_bits || (dirty && !(leaf & VTD_FL_D))))
		return false;
	complete(resp, out, shift, pt & 0xff);
	if (VTD_LIKELY(psc && nlev == 1)) {
		/* A context and PASID-cache hit, an IOTLB miss, a PDE hit. */
		__atomic_store_n(&m->fast_miss, m->fast_miss + 1, __ATOMIC_RELAXED);
	} else {
		vtd_memo_count(m, VTD_CACHE_CONTEXT, hit, 1);
		vtd_memo_count(m, VTD_CACHE_PASID, hit, 1);
		vtd_memo_count(m, VTD_CACHE_IOTLB, miss, 1);
		if (vtd->fspc.sets) {
			if (psc)
				vtd_memo_count(m, VTD_CACHE_PSCACHE_FS, hit, 1);
			else
				vtd_memo_count(m, VTD_CACHE_PSCACHE_FS, miss, 1);
		}
	}

	struct vtd_fill f;
	bool clean = dirty || (leaf & VTD_FL_D);

	if (VTD_LIKELY(shift == 12)) {
		/* The IOTLB entry as vtd_iotlb_words() makes it. */
		p[0] = (out & ~0xfffull) | VTD_PGTT_FS | (clean ? 8 : 0);
		p[1] = fsperm | XL_ALL << 8;
		f = vtd_cache_fill(vtd, &vtd->iotlb, set, tag0, tag1, p, 2, rq->sum, gen, seen,
				   &m->ctr[VTD_CACHE_IOTLB]);
	} else {
		ent = (struct vtd_iotlb_ent){.out = out,
					     .shift = shift,
					     .fs = fsperm,
					     .ss = XL_ALL,
					     .pgtt = VTD_PGTT_FS,
					     .clean = clean};
		f = vtd_iotlb_fill(vtd, pe->did, rq->pasid, addr, &ent, gen, VTD_CACHE_UNSEEN);
	}
	/* The non-leaf entries read below the one cached, if any. */
	if (VTD_UNLIKELY(nlev > 1))
		vtd_fspc_fill(vtd, pe->did, rq->pasid, false, &w, gen);
	if (VTD_LIKELY(f.slot >= 0))
		vtd_memo_put(vtd, m, me, req, out & ~0xfffull, 1ull << shift, (uint8_t)pt,
			     (unsigned)f.slot, f.ver, rq->ctx_slot, rq->pc_slot, sgen, false);
	return true;
}

/* An IOTLB hit behind a requester-memo hit (fs_fast()): the 4 KiB entry's payload `p` in
 * `slot` at version `ver`. */
struct fs_hit {
	uint64_t p[2];
	unsigned slot;
	uint32_t ver;
};

static __attribute__((noinline)) bool fs_fast_hit(struct vtd_memo *m, struct vtd_memo_ent *me,
						  const struct vtd_memo_rq *rq, uint64_t sgen,
						  const struct pci_req *req, struct pci_resp *resp,
						  const struct fs_hit *h, struct vtd *vtd)
{
	const struct vtd_access a = {
	    .addr = req->addr, .pasid = rq->pasid, .sid = req->rid, .at = req->at, .acc = rq->acc};
	struct vtd_iotlb_ent ent;

	vtd_iotlb_decode(h->p, 0, &ent);
	if (VTD_UNLIKELY(ent.neg) || !serve_hit(&a, &rq->pe, &ent, resp))
		return false;
	/* A context, PASID-cache and IOTLB hit. */
	__atomic_store_n(&m->fast_hit, m->fast_hit + 1, __ATOMIC_RELAXED);
	vtd_memo_put(vtd, m, me, req, resp->addr & ~0xfffull, resp->page_size, resp->perm, h->slot,
		     h->ver, rq->ctx_slot, rq->pc_slot, sgen, false);
	return true;
}

/*
 * fs_fast_slow()'s most common cases inline: a 4 KiB IOTLB hit (fs_fast_hit()), and the
 * miss of a 4 KiB page whose PDE this thread's paging-structure memo holds, while the IOTLB
 * holds no large page - the leaf read and checked with one mask, the outcome from the
 * requester's permission table, the IOTLB fill and the translation-memo fill. Anything
 * else goes to fs_fast_slow() before anything is counted or filled.
 */
static inline __attribute__((always_inline)) bool
fs_fast(struct vtd *vtd, struct vtd_memo *m, struct vtd_memo_ent *me, const struct vtd_memo_rq *rq,
	uint64_t gen, uint64_t sgen, const struct pci_req *req, struct pci_resp *resp)
{
	uint64_t addr = req->addr, tag0 = vtd_iotlb_tag0(addr, 0), tag1 = rq->tag1;
	unsigned set = vtd_cache_set(&vtd->iotlb, tag0 ^ rq->imix);
	long long seen = VTD_CACHE_UNSEEN;
	struct fs_hit h;

	if (VTD_UNLIKELY((rq->acc & VTD_ACC_ATS) && in_intr_range(addr)))
		return false;
	if (vtd_cache_lookup_seen(vtd, &vtd->iotlb, set, tag0, tag1, h.p, 2, &h.slot, &h.ver,
				  &seen))
		return fs_fast_hit(m, me, rq, sgen, req, resp, &h, vtd);

	/* The PDE from this thread's paging-structure memo (fs_fast_pde()), trusted while the
	 * cache slot keeps its version. */
	uint64_t ptag0 = vtd_psc_tag0(addr, 2);
	struct vtd_memo_psc *pm = vtd_memo_psc_slot(m, ptag0, rq->fmix);

	if (VTD_UNLIKELY(__atomic_load_n(&vtd->iotlb.size[1], __ATOMIC_SEQ_CST) |
			 __atomic_load_n(&vtd->iotlb.size[2], __ATOMIC_SEQ_CST)) ||
	    VTD_UNLIKELY((uint64_t)((int64_t)(addr << rq->cshift) >> rq->cshift) != addr) ||
	    VTD_UNLIKELY(pm->tag0 != ptag0 || pm->tag1 != tag1 || pm->sgen != sgen ||
			 __atomic_load_n(pm->verp, __ATOMIC_ACQUIRE) != pm->ver))
		return fs_fast_slow(vtd, m, me, rq, gen, sgen, req, resp);

	/* The leaf, as the walk reads it below the cached PDE: present, no reserved bit. */
	const uint32_t flags = rq->pe.flags;
	uint64_t word = pm->word, pa = (word & VTD_FL_ADDR_MASK) + VTD_PT_INDEX(addr, 1) * 8;
	uint64_t leaf, and_all, or_all, out;

	if (VTD_UNLIKELY(pa >= vtd->direct_end))
		return fs_fast_slow(vtd, m, me, rq, gen, sgen, req, resp);
	leaf = __atomic_load_n((const uint64_t *)(const void *)(vtd->base + pa), __ATOMIC_ACQUIRE);
	if (VTD_UNLIKELY((leaf & vtd->fs_chka[!!(flags & VTD_PE_NXE)][1]) != (VTD_FL_P | VTD_FL_A)))
		return false;
	/* As the walk gathers them (4.1): R/W, U/S ANDed, XD ORed over the levels. */
	and_all = (~(uint64_t)(VTD_FL_RW | VTD_FL_US) | word) & leaf;
	or_all = (word & VTD_FL_XD) | leaf;
	out = (leaf & VTD_FL_ADDR_MASK) | (addr & 0xfff);

	/* What translate_once() decides from the permissions, from the requester's table;
	 * then A (tested with the leaf: the levels above had it when cached) and EA with
	 * EAFE, D on the leaf if needed, and an output outside the interrupt range. */
	unsigned pt = rq->ptab[vtd_fs_key(and_all, or_all, leaf)];
	bool dirty = pt & VTD_RQ_DIRTY;

	if (VTD_UNLIKELY(!(pt & VTD_RQ_OK) || in_intr_range(out) ||
			 ((flags & VTD_PE_EAFE) && !(and_all & VTD_FL_EA)) ||
			 (dirty && !(leaf & VTD_FL_D))))
		return false;
	resp->addr = out;
	resp->page_size = 4096;
	complete_word(resp, pt & 0xff, 0);
	/* A context and PASID-cache hit, an IOTLB miss, a PDE hit: the PSC entry's stamp
	 * refreshed once per tick of its clock. */
	uint64_t pclock = vtd_cache_clock(&vtd->fspc);

	if (VTD_UNLIKELY(pm->clock != pclock)) {
		vtd_cache_touch(&vtd->fspc, pm->slot, pclock);
		pm->clock = pclock;
	}

	/* The IOTLB entry as vtd_iotlb_words() makes it. */
	uint64_t p[2] = {(out & ~0xfffull) | VTD_PGTT_FS | ((dirty || (leaf & VTD_FL_D)) ? 8 : 0),
			 pt >> VTD_RQ_XL_SHIFT | XL_ALL << 8};
	struct vtd_fill f = vtd_cache_fill_c(vtd, &vtd->iotlb, set, tag0, tag1, p, 2, rq->sum, gen,
					     seen, &m->ctr[VTD_CACHE_IOTLB], true);

	/* The counts: a context and PASID-cache hit, an IOTLB miss, a PDE hit, and the IOTLB
	 * fill if it went in. */
	if (VTD_LIKELY(f.slot >= 0)) {
		__atomic_store_n(&m->fast_fill, m->fast_fill + 1, __ATOMIC_RELAXED);
		vtd_memo_put(vtd, m, me, req, out & ~0xfffull, 4096, (uint8_t)pt, (unsigned)f.slot,
			     f.ver, rq->ctx_slot, rq->pc_slot, sgen, false);
	} else {
		__atomic_store_n(&m->fast_miss, m->fast_miss + 1, __ATOMIC_RELAXED);
	}
	return true;
}

/* translate_rq()'s request when fs_fast() cannot serve it: the full path from the PASID
 * entry on (translate_pe()), with the context and PASID-cache slots the memo stands for. */
static __attribute__((noinline)) void translate_rq_full(struct vtd *vtd, struct vtd_memo *m,
							const struct vtd_memo_rq *rq, uint64_t gen,
							uint64_t sgen, const struct pci_req *req,
							struct pci_resp *resp)
{
	struct vtd_access a = {
	    .addr = req->addr, .pasid = rq->pasid, .sid = req->rid, .at = req->at, .acc = rq->acc};
	struct vtd_run run;

	run.sgen = sgen;
	run.gen = gen;
	run.cgen = ~0ull; /* no context or PASID entry is read, none filled */
	run.memo = m;
	run.ctx_slot = (int)rq->ctx_slot;
	run.pc_slot = rq->pc_slot == VTD_MEMO_NO_SLOT ? -1 : (int)rq->pc_slot;
	run.hits = VTD_RUN_HIT_CTX | (run.pc_slot >= 0 ? VTD_RUN_HIT_PC : 0);
	translate_pe(vtd, req, &a, &rq->pe, rq->fpd, resp, &run, false, true);
}

static int translate_slow(struct vtd *vtd, const struct pci_req *req, struct pci_resp *resp);

/*
 * A request (not a translated one) that missed this thread's translation memo `m` at entry
 * `e` (memo.h), with request word `w`. If the requester memo holds the context and
 * PASID-cache decisions for its word - so it passed vtd_translate()'s checks before, and
 * check mode is off: count and refresh the cache entries the memo stands for, then
 * translate with the PASID entry, the rest of the path as translate_scalable() and
 * translate_legacy() go on. Otherwise the path through the caches (translate_slow()).
 */
static __attribute__((noinline)) int translate_rq(struct vtd *vtd, struct vtd_memo *m,
						  struct vtd_memo_ent *e, uint64_t w,
						  const struct pci_req *req, struct pci_resp *resp)
{
	/* The invalidation generation before the structure generation that vouches for the
	 * requester memo: were an invalidation to drop one of the entries it stands for after
	 * the first and before the second, the fills of this translation would be dropped
	 * (vtd_cache_inv_end). */
	struct vtd_memo_rq *rq = vtd_memo_rq_slot(m, w);
	uint64_t gen = vtd_cache_gen(vtd);
	uint64_t sgen = __atomic_load_n(&vtd->sgen, __ATOMIC_ACQUIRE);

	if (VTD_UNLIKELY(rq->req != w || rq->sgen != sgen))
		return translate_slow(vtd, req, resp);

	/* A use of the context and PASID-cache entries: their stamps refreshed once per tick
	 * of their clock (no fill has replaced them: the structure generation holds). */
	uint64_t sclock = vtd_cache_clock(&vtd->ctxc);

	if (VTD_UNLIKELY(rq->sclock != sclock)) {
		vtd_cache_touch(&vtd->ctxc, rq->ctx_slot, sclock);
		if (rq->pc_slot != VTD_MEMO_NO_SLOT)
			vtd_cache_touch(&vtd->pc, rq->pc_slot, sclock);
		rq->sclock = sclock;
	}
	/* (No pass entry here: those are made for translated requests only, whose word has
	 * AT = 2, and vtd_translate() serves them with translated_serve().) */
	/* (fs_fast() counts the context and PASID-cache hits with what it counts.) */
	if (VTD_LIKELY(rq->pe.pgtt == VTD_PGTT_FS) && fs_fast(vtd, m, e, rq, gen, sgen, req, resp))
		return 0;
	vtd_memo_count(m, VTD_CACHE_CONTEXT, hit, 1);
	if (rq->pc_slot != VTD_MEMO_NO_SLOT)
		vtd_memo_count(m, VTD_CACHE_PASID, hit, 1);
	translate_rq_full(vtd, m, rq, gen, sgen, req, resp);
	return 0;
}

/*
 * A translated request (AT = 2) whose context-cache decision this thread's requester memo
 * holds: the context entry allows translated requests (DTE, digest 2.5) and the request
 * passes its checks, so the address goes through untranslated. Counted as the context-cache
 * hit it stands for. False when the memo has no such entry.
 */
static inline __attribute__((always_inline)) bool translated_serve(struct vtd *vtd,
								   struct vtd_memo *m, uint64_t w,
								   const struct pci_req *req,
								   struct pci_resp *resp)
{
	struct vtd_memo_rq *rq = vtd_memo_rq_slot(m, w);

	/* The request word (AT = 2 in it) made a pass entry, or none. */
	if (rq->req != w || rq->sgen != __atomic_load_n(&vtd->sgen, __ATOMIC_ACQUIRE) ||
	    VTD_UNLIKELY(!rq->pass))
		return false;
	vtd_memo_count(m, VTD_CACHE_CONTEXT, hit, 1);
	/* The context entry's stamp, refreshed once per tick of its clock (translate_rq()). */
	uint64_t sclock = vtd_cache_clock(&vtd->ctxc);

	if (VTD_UNLIKELY(rq->sclock != sclock)) {
		vtd_cache_touch(&vtd->ctxc, rq->ctx_slot, sclock);
		rq->sclock = sclock;
	}
	pass(resp, req->addr);
	return true;
}

/* The path through the caches, out of line so that a memo hit pays for none of it. */
static __attribute__((noinline)) void translate_cached(struct vtd *vtd, const struct pci_req *req,
						       struct pci_resp *resp)
{
	struct vtd_run run;

	/* The structure generation first (memos made from this run must not outlive a
	 * context or PASID-cache entry that goes after this), then the invalidation one. */
	run.sgen = __atomic_load_n(&vtd->sgen, __ATOMIC_ACQUIRE);
	run.gen = vtd_cache_gen(vtd);
	run.cgen = vtd_cache_ctx_gen(vtd);
	run.hits = 0;
	run.ctx_slot = -1;
	run.pc_slot = -1;
	run.memo = vtd_memo_get(vtd);
	dispatch(vtd, req, resp, &run, false, true);
#ifndef SOFTIOMMU_NO_CHECKER
	if (VTD_UNLIKELY(__atomic_load_n(&vtd->check, __ATOMIC_RELAXED)) && run.hits)
		vtd_check(vtd, req, resp, &run);
#endif
}

/* A structure entry read directly (vtd_fetch()'s acquire load; the caller checked the
 * bounds). */
static inline uint64_t direct64(const uint8_t *base, uint64_t pa)
{
	return __atomic_load_n((const uint64_t *)(const void *)(base + pa), __ATOMIC_ACQUIRE);
}

/*
 * The first-stage walk (4.1) of the uncached fast path, for a plain PASID entry of
 * `levels` levels: every entry present, accessed and well-formed with one masked test each
 * (vtd->fs_chka, walk_fs.h's test with A) down to a 4 KiB page, then what translate_once()
 * decides from the walk - the permissions granted to this request and whether they cover
 * what it needs (from vtd->fs_ptab's `row` for an untranslated request, else the same
 * table made for the request), EA set at every level with EAFE and D on the leaf if the
 * request sets it, the output outside the interrupt range - and the completion. False,
 * with nothing written, for anything else (a large page, a fault, an A/D update, a
 * translation request granted nothing): the full path then does it all, in the
 * architected order.
 */
static inline __attribute__((always_inline)) bool
fs_walk_plain(const struct vtd *vtd, const struct vtd_access *a, uint64_t table, uint32_t flags,
	      unsigned row, struct pci_resp *resp, const unsigned levels)
{
	const uint8_t *base = vtd->base;
	const uint64_t *chk = vtd->fs_chka[!!(flags & VTD_PE_NXE)];
	uint64_t va = a->addr, lim = vtd->mem_size - 8, e = 0, and_all = ~0ull, or_all = 0;
	unsigned acc = a->acc;

#pragma GCC unroll 5
	for (unsigned lvl = levels; lvl >= 1; lvl--) {
		uint64_t pa = table + VTD_PT_INDEX(va, lvl) * 8;

		if (VTD_UNLIKELY(pa > lim))
			return false;
		e = direct64(base, pa);
		/* Present, accessed, no reserved bit, and (levels 2 and up) no large page. */
		if (VTD_UNLIKELY((e & chk[lvl]) != (VTD_FL_P | VTD_FL_A)))
			return false;
		and_all &= e;
		or_all |= e;
		table = e & VTD_FL_ADDR_MASK;
	}
	/* The permissions as vtd_fs_done() gathers them: R/W and U/S ANDed over the levels,
	 * XD ORed, G from the leaf - as the index of a permission table. */
	unsigned key = vtd_fs_key(and_all, or_all, e);
	uint64_t out = table | (va & 0xfff);
	unsigned pt;

	if (VTD_LIKELY(!(acc & VTD_ACC_ATS))) {
		pt = vtd->fs_ptab[row][key];
	} else {
		/* A translation request: granted something (its permission table's OK), and
		 * not for the interrupt range (translate_pe()). */
		struct vtd_pe pe = {.flags = flags};
		uint16_t tab[16];

		rq_perm_table(&pe, acc, tab);
		pt = tab[key];
		if (in_intr_range(va))
			return false;
	}
	/* EA with EAFE at every level too, D on the leaf if the request sets it, and an
	 * output outside the interrupt range. */
	if (VTD_UNLIKELY(!(pt & VTD_RQ_OK) || in_intr_range(out) ||
			 ((pt & VTD_RQ_DIRTY) && !(e & VTD_FL_D)) ||
			 ((flags & VTD_PE_EAFE) && !(and_all & VTD_FL_EA))))
		return false;
	resp->addr = out;
	resp->page_size = 4096;
	complete_word(resp, pt & 0xff, 0);
	return true;
}

/*
 * The common uncached translation in scalable mode, with memory reached directly: root,
 * context, PASID directory and first-stage PASID entries that are present and well-formed
 * (each one masked test, precomputed from the configuration), a request they allow, then
 * the walk and its checks as translate_pe() makes them (translate_once()). Returns false -
 * having changed nothing, or set accessed/dirty bits the walk needed - for anything else:
 * the full path then does it all, in the architected order, and names the fault.
 */
static inline __attribute__((always_inline)) bool
uncached_fast(struct vtd *vtd, const struct pci_req *req, struct pci_resp *resp)
{
	const uint8_t *base = vtd->base;
	uint64_t root = __atomic_load_n(&vtd->root, __ATOMIC_ACQUIRE), lim = vtd->mem_size;
	uint64_t pa, half, ce0, ce1, de, q[8];
	unsigned devfn = PCI_RID_DEVFN(req->rid);
	struct vtd_access a;

	/* (vtd->fast_uncached: memory reached directly, scalable mode supported.) */
	if (VTD_UNLIKELY((root & (VTD_ROOT_TE | VTD_ROOT_TTM_MASK)) !=
			     (VTD_ROOT_TE | VTD_SET(VTD_RTADDR_TTM, VTD_TTM_SCALABLE)) ||
			 req->at > PCI_AT_TRANSLATED))
		return false;
	decode(vtd, req, &a);
	/* The root entry half for devfn[7] (vtd_sm_context()): present, no reserved bit. */
	pa = (root & VTD_ROOT_RTA_MASK) + PCI_RID_BUS(a.sid) * 16 + (devfn >> 7) * 8;
	if (VTD_UNLIKELY(pa > lim - 8))
		return false;
	half = direct64(base, pa);
	if (VTD_UNLIKELY((half & vtd->uf_root_chk) != VTD_SRE_Q0_LP))
		return false;
	/* The context entry: present, no reserved bit. */
	pa = (half & VTD_SRE_Q0_LCTP_MASK) + (devfn & 0x7f) * 32;
	if (VTD_UNLIKELY(pa > lim - 32))
		return false;
	ce0 = direct64(base, pa);
	ce1 = direct64(base, pa + 8);
	if (VTD_UNLIKELY((ce0 & vtd->uf_ctx_chk) != VTD_SCE_Q0_P || (ce1 & vtd->sm_ctx_rsvd[1]) |
									direct64(base, pa + 16) |
									direct64(base, pa + 24)))
		return false;
	/* The request against it (check_sm_request(), digest 2.5 steps 3-4): translated and
	 * translation requests need DTE; a PASID needs PASIDE, and to be within the directory
	 * (2^(PDTS + 7) entries of 64) and the unit's PASID width; a request without uses
	 * RID_PASID (within the directory) and RID_PRIV. */
	unsigned dir_shift = (unsigned)VTD_GET(ce0, VTD_SCE_Q0_PDTS) + 7 + VTD_PASID_DIR_SHIFT;

	if (VTD_UNLIKELY(a.at != PCI_AT_UNTRANSLATED && !(ce0 & VTD_SCE_Q0_DTE)))
		return false;
	if (VTD_LIKELY(a.acc & VTD_ACC_PASID)) {
		if (VTD_UNLIKELY(!(ce0 & VTD_SCE_Q0_PASIDE) || (a.pasid >> dir_shift) ||
				 a.pasid >= vtd->pasid_limit))
			return false;
	} else {
		a.pasid = (uint32_t)VTD_GET(ce1, VTD_SCE_Q1_RID_PASID);
		if (ce1 & VTD_SCE_Q1_RID_PRIV)
			a.acc |= VTD_ACC_PRIV;
		if (VTD_UNLIKELY(a.pasid >> dir_shift))
			return false;
	}
	if (VTD_UNLIKELY(a.at == PCI_AT_TRANSLATED)) {
		pass(resp, a.addr);
		return true;
	}
	/* The PASID directory entry and the PASID-table entry (vtd_pasid_lookup()). */
	pa = (ce0 & VTD_SCE_Q0_PASIDDIRPTR_MASK) + (uint64_t)(a.pasid >> VTD_PASID_DIR_SHIFT) * 8;
	if (VTD_UNLIKELY(pa > lim - 8))
		return false;
	de = direct64(base, pa);
	if (VTD_UNLIKELY((de & vtd->uf_dir_chk) != VTD_PDE_P))
		return false;
	pa = (de & VTD_PDE_SMPTBLPTR_MASK) + (a.pasid & VTD_PASID_TBL_MASK) * 64;
	if (VTD_UNLIKELY(pa > lim - 64))
		return false;
#pragma GCC unroll 8
	for (unsigned i = 0; i < 8; i++)
		q[i] = direct64(base, pa + 8 * i);
	if (VTD_UNLIKELY((q[0] & vtd->fs_pe_chk[0]) != vtd->fs_pe_want ||
			 ((q[1] & vtd->fs_pe_chk[1]) | (q[2] & vtd->fs_pe_chk[2]) | q[3] | q[4] |
			  q[5] | q[6] | q[7])))
		return false;
	uint64_t fsroot = q[2] & VTD_PE_Q2_FLPTPTR_MASK;
	uint32_t flags = (uint32_t)(q[0] & 0xfff) | (uint32_t)(q[2] & 0xff) << 16;

	/* ERE / SRE (SPT.5, SPT.6) as translate_scalable() checks them: execute needs ERE,
	 * supervisor SRE. */
	_Static_assert(VTD_PE_Q2_ERE << 1 == VTD_ACC_X && VTD_PE_Q2_SRE << 3 == VTD_ACC_PRIV,
		       "ERE, SRE: Q2 bits 1, 0");
	if (VTD_UNLIKELY(a.acc & (VTD_ACC_X | VTD_ACC_PRIV) &
			 ~(((q[2] & VTD_PE_Q2_ERE) << 1) | ((q[2] & VTD_PE_Q2_SRE) << 3))))
		return false;
	if (VTD_UNLIKELY(q[2] & VTD_PE_Q2_FLPM_MASK)) {
		struct vtd_pe pe = {.fs_levels = 5};

		return vtd_fs_canonical(&pe, a.addr) &&
		       fs_walk_plain(vtd, &a, fsroot, flags, fs_ptab_row(a.acc, q[2]), resp, 5);
	}
	struct vtd_pe pe = {.fs_levels = 4};

	return vtd_fs_canonical(&pe, a.addr) &&
	       fs_walk_plain(vtd, &a, fsroot, flags, fs_ptab_row(a.acc, q[2]), resp, 4);
}

static __attribute__((noinline)) void
translate_uncached_full(struct vtd *vtd, const struct pci_req *req, struct pci_resp *resp)
{
	struct vtd_run run;

	dispatch(vtd, req, resp, &run, false, false);
}

static void trace_translate(struct vtd *vtd, const struct pci_req *req,
			    const struct pci_resp *resp);
static int translate_uncached(struct vtd *vtd, const struct pci_req *req, struct pci_resp *resp);

/* A unit that uncached_fast() may serve (vtd->fast_uncached): the fast path for the common
 * request, else the full one. */
static __attribute__((noinline)) int
translate_fast_uncached(struct vtd *vtd, const struct pci_req *req, struct pci_resp *resp)
{
	if (VTD_LIKELY(uncached_fast(vtd, req, resp)))
		return 0;
	return translate_uncached(vtd, req, resp);
}

/* A unit without translation caches: the checks of the request, the translation, the
 * trace. */
static __attribute__((noinline)) int translate_uncached(struct vtd *vtd, const struct pci_req *req,
							struct pci_resp *resp)
{
	if (VTD_UNLIKELY(req->at > PCI_AT_TRANSLATED ||
			 ((req->flags & PCI_REQ_PASID) && req->pasid > VTD_PASID_MAX)))
		return -EINVAL;
	translate_uncached_full(vtd, req, resp);
	if (VTD_UNLIKELY(vtd->cb.trace != NULL))
		trace_translate(vtd, req, resp);
	return 0;
}

static __attribute__((noinline)) void trace_translate(struct vtd *vtd, const struct pci_req *req,
						      const struct pci_resp *resp)
{
	struct vtd_trace_event ev = {.kind = VTD_TRACE_TRANSLATE};

	ev.xlate.req = req;
	ev.xlate.resp = resp;
	vtd->cb.trace(vtd->cb_ctx, &ev);
}

/* Behind the memo: the checks of the request, then the caches or a unit without any; and
 * the trace. */
static __attribute__((noinline)) int translate_slow(struct vtd *vtd, const struct pci_req *req,
						    struct pci_resp *resp)
{
	if (VTD_UNLIKELY(req->at > PCI_AT_TRANSLATED ||
			 ((req->flags & PCI_REQ_PASID) && req->pasid > VTD_PASID_MAX)))
		return -EINVAL;
	if (VTD_LIKELY(vtd->caching))
		translate_cached(vtd, req, resp);
	else
		translate_uncached_full(vtd, req, resp);
	if (VTD_UNLIKELY(vtd->cb.trace != NULL))
		trace_translate(vtd, req, resp);
	return 0;
}

/* Through the agent, without a memo: the request counted in the thread slot's shard. */
static __attribute__((noinline)) int translate_counted(struct vtd *vtd, const struct pci_req *req,
						       struct pci_resp *resp,
						       enum vtd_drain_how how)
{
	unsigned tag = req->at != PCI_AT_TRANSLATION ? vtd_drain_enter_slot(vtd, how) : 0;
	int ret =
	    vtd->caching ? translate_slow(vtd, req, resp) : translate_uncached(vtd, req, resp);

	return vtd_drain_finish(vtd, NULL, tag, ret, resp);
}

/* A request counted in this thread's memo (`tag`, in `c`) that the memo does not serve:
 * the path behind it, then the count settled (drain.h). Out of line, so that the memo's
 * path keeps nothing alive across a call. */
static __attribute__((noinline)) int counted_slow(struct vtd *vtd, const struct pci_req *req,
						  struct pci_resp *resp, struct vtd_drain_ctr *c,
						  unsigned tag)
{
	int ret =
	    vtd->caching ? translate_slow(vtd, req, resp) : translate_uncached(vtd, req, resp);

	return vtd_drain_finish(vtd, c, tag, ret, resp);
}

/* A request counted in this thread's memo (`tag`) that the translation memo does not serve:
 * the requester memo's path or the full path (translate_rq()), then the count settled. */
static __attribute__((noinline)) int counted_miss(struct vtd *vtd, struct vtd_memo *m,
						  struct vtd_memo_ent *e, const struct pci_req *req,
						  struct pci_resp *resp, unsigned tag)
{
	int ret = translate_rq(vtd, m, e, vtd_memo_word(req), req, resp);

	return vtd_drain_finish(vtd, &m->drain, tag, ret, resp);
}

/* vtd_translate()'s answer to a null argument, out of line: its three tests stay one
 * compare and branch each. */
static __attribute__((cold, noinline)) int null_arg(void)
{
	return -EINVAL;
}

/*
 * vtd_translate(), and the agent's translate() with `how` its way of counting untranslated
 * and translated requests in flight (drain.h): counted before anything is read, marked
 * PCI_RESP_INFLIGHT when they complete PCI_SC, counted done at once otherwise.
 */
static inline __attribute__((always_inline)) int translate_entry(struct vtd *vtd,
								 const struct pci_req *req,
								 struct pci_resp *resp,
								 const enum vtd_drain_how how)
{
	if (VTD_UNLIKELY(!vtd))
		return null_arg();
	if (VTD_UNLIKELY(!req))
		return null_arg();
	if (VTD_UNLIKELY(!resp))
		return null_arg();
	/* Three specialisations of one path: with caches (behind this thread's memo, which
	 * only holds requests the full path checked), without (a unit configured with none
	 * pays nothing for them), and check mode's reference walk (vtd_translate_ref). A memo
	 * is never used with a trace callback. */
	struct vtd_memo *m = vtd_memo_get(vtd);

	if (VTD_LIKELY(m != NULL)) {
		uint64_t w = vtd_memo_word(req);
		unsigned tag = 0;

		if (how && req->at != PCI_AT_TRANSLATION)
			tag = vtd_drain_enter(vtd, &m->drain, how);
		if (VTD_UNLIKELY(req->at == PCI_AT_TRANSLATED)) {
			if (translated_serve(vtd, m, w, req, resp)) {
				resp->flags = (uint8_t)tag;
				return 0;
			}
			if (how)
				return counted_slow(vtd, req, resp, &m->drain, tag);
			return translate_slow(vtd, req, resp);
		}

		struct vtd_memo_ent *e = vtd_memo_slot(vtd, m, w, req->addr >> 12);

		if (VTD_LIKELY(memo_serve(vtd, m, e, w, req, resp, tag)))
			return 0;
		if (how)
			return counted_miss(vtd, m, e, req, resp, tag);
		return translate_rq(vtd, m, e, w, req, resp);
	} else if (how) {
		return translate_counted(vtd, req, resp, how);
	}
	if (vtd->fast_uncached)
		return translate_fast_uncached(vtd, req, resp);
	if (!vtd->caching)
		return translate_uncached(vtd, req, resp);
	return translate_slow(vtd, req, resp);
}

int vtd_translate(struct vtd *vtd, const struct pci_req *req, struct pci_resp *resp)
{
	return translate_entry(vtd, req, resp, VTD_DRAIN_OFF);
}

void vtd_translate_ref(struct vtd *vtd, const struct pci_req *req, struct pci_resp *resp)
{
	struct vtd_run run = {.dry = true};

	dispatch(vtd, req, resp, &run, true, false);
}

/* The agent's translate(), as the process counts requests in flight (drain.h). */
static int agent_translate_asym(void *ctx, const struct pci_req *req, struct pci_resp *resp)
{
	return translate_entry(ctx, req, resp, VTD_DRAIN_ASYM);
}

static int agent_translate_fence(void *ctx, const struct pci_req *req, struct pci_resp *resp)
{
	return translate_entry(ctx, req, resp, VTD_DRAIN_FENCE);
}

struct pci_translation_agent vtd_translation_agent(struct vtd *vtd)
{
	vtd_drain_setup();
	return (struct pci_translation_agent){
	    .translate =
		vtd_drain_how == VTD_DRAIN_ASYM ? agent_translate_asym : agent_translate_fence,
	    .ctx = vtd,
	    .done = vtd_drain_done,
	};
}
