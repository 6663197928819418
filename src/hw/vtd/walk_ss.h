/* SPDX-License-Identifier: MIT */
/*
 * Second-stage walk (digest 4.2), inline for the request path (walk_ss.c has the masks
 * and the A/D updates).
 */
#ifndef SOFTIOMMU_HW_VTD_WALK_SS_H
#define SOFTIOMMU_HW_VTD_WALK_SS_H

#include "vtd_internal.h"

/* Second-stage A/D are maintained for this entry (SLADE; never in legacy mode). */
static inline bool vtd_ss_ad(const struct vtd_pe *pe)
{
	return (pe->flags & VTD_PE_SLADE) && !(pe->flags & VTD_PE_LEGACY);
}

/*
 * The walk of `iova` from table `table` at level `lvl` (the root, SLPTPTR at level
 * pe->ss_levels, or the table below a cached entry whose permissions are `and_all`).
 */
static inline __attribute__((always_inline)) enum vtd_walk_status
vtd_walk_ss_from(struct vtd *vtd, const struct vtd_pe *pe, uint64_t iova, struct vtd_walk *w,
		 uint64_t table, unsigned lvl, uint64_t and_all)
{
	const uint64_t(*rsvd)[2] = vtd->ss_rsvd[!!(pe->flags & VTD_PE_LEGACY)];
	unsigned n = 0, perm, root = lvl == pe->ss_levels;
	uint64_t e;

	if (iova >> pe->ss_width)
		return VTD_WALK_WIDTH;
	w->table = table;
	w->top = (uint8_t)lvl;
	w->and0 = and_all;
	for (;;) {
		uint64_t pa = table + VTD_PT_INDEX(iova, lvl) * 8;

		if (VTD_UNLIKELY(vtd_fetch(vtd, pa, 1, &e)))
			return n || !root ? VTD_WALK_FETCH : VTD_WALK_FETCH_ROOT;
		w->epa[n] = pa;
		w->ev[n++] = e;
		/* R = W = 0 is "not present"; other bits are then ignored. At the last level
		 * that is a page without permissions (a permission fault for the caller). */
		if (VTD_UNLIKELY(!(e & (VTD_SL_R | VTD_SL_W)))) {
			if (lvl > 1) {
				w->nlev = (uint8_t)n;
				return VTD_WALK_NOT_PRESENT;
			}
			w->out = 0;
			w->shift = 12;
			w->perm = 0;
			w->nlev = (uint8_t)n;
			w->and_all = ~0ull;
			return VTD_WALK_OK;
		}
		if (VTD_UNLIKELY(e & rsvd[lvl][(e >> 7) & 1]))
			return VTD_WALK_RSVD;
		and_all &= e;
		if (lvl == 1 || (e & VTD_SL_PS))
			break;
		table = e & VTD_SL_ADDR_MASK;
		lvl--;
	}
	unsigned shift = VTD_PT_LEVEL_SHIFT(lvl);
	uint64_t size = 1ull << shift;
	/* X is the X bit with SLEE; without it execute follows read. */
	perm = (unsigned)(and_all & (VTD_SL_R | VTD_SL_W));
	if ((pe->flags & VTD_PE_SLEE) ? (and_all & VTD_SL_X) : (and_all & VTD_SL_R))
		perm |= VTD_XL_X;
	w->out = ((e & VTD_SL_ADDR_MASK) & ~(size - 1)) | (iova & (size - 1));
	w->shift = (uint8_t)shift;
	w->perm = (uint8_t)perm;
	w->nlev = (uint8_t)n;
	w->and_all = and_all;
	return VTD_WALK_OK;
}

static inline enum vtd_walk_status vtd_walk_ss(struct vtd *vtd, const struct vtd_pe *pe,
					       uint64_t iova, struct vtd_walk *w)
{
	return vtd_walk_ss_from(vtd, pe, iova, w, pe->slptptr, pe->ss_levels, ~0ull);
}

/*
 * A second-stage walk through the second-stage paging-structure cache (walk_ss.c): it
 * starts below the deepest entry cached for `iova` and notes that in `run` (`nested`: the
 * walk translates a nested first-stage table, VTD_RUN_HIT_SSPC_NESTED; else the final
 * walk, VTD_RUN_HIT_SSPC with run->ssp). The caller fills the cache after a successful
 * translation (vtd_sspc_fill), once A/D updates are done.
 */
/* Check mode: the second-stage counterpart of vtd_fs_entry_at() (walk_fs.h). */
bool vtd_ss_entry_at(struct vtd *vtd, const struct vtd_pe *pe, uint64_t iova, unsigned from,
		     struct vtd_walk_start *st);

enum vtd_walk_status vtd_walk_ss_cached(struct vtd *vtd, const struct vtd_pe *pe, uint64_t iova,
					struct vtd_walk *w, struct vtd_run *run, bool nested);

#endif
