/* SPDX-License-Identifier: MIT */
/*
 * First-stage walk (digest 4.1), inline for the request path (walk_fs.c has the masks,
 * nesting and the A/D updates).
 */
#ifndef SOFTIOMMU_HW_VTD_WALK_FS_H
#define SOFTIOMMU_HW_VTD_WALK_FS_H

#include "vtd_internal.h"

/*
 * Nested walks go through the second stage for every table (walk_fs.c). `st` is where the
 * walk starts (NULL: at the root); with `run` (caches on) the second-stage walks of the
 * tables go through the second-stage paging-structure cache, and A/D updates of this walk
 * too (w->run).
 */
enum vtd_walk_status vtd_walk_fs_nested(struct vtd *vtd, const struct vtd_pe *pe, uint64_t va,
					struct vtd_walk *w, const struct vtd_walk_start *st,
					struct vtd_run *run);

/* The result of a walk that ended at `lvl` with leaf `e`. */
static inline __attribute__((always_inline)) enum vtd_walk_status
vtd_fs_done(struct vtd_walk *restrict w, uint64_t va, unsigned lvl, uint64_t e, uint64_t and_all,
	    uint64_t or_all, unsigned n)
{
	unsigned shift = VTD_PT_LEVEL_SHIFT(lvl);
	uint64_t size = 1ull << shift;

	/* R/W and U/S are ANDed over the levels, XD ORed (it is reserved without NXE). */
	w->perm =
	    (uint8_t)(VTD_XL_R | ((and_all & VTD_FL_RW) ? VTD_XL_W : 0) |
		      ((and_all & VTD_FL_US) ? VTD_XL_US : 0) |
		      ((or_all & VTD_FL_XD) ? 0 : VTD_XL_X) | ((e & VTD_FL_G) ? VTD_XL_G : 0));
	w->out = (e & VTD_FL_ADDR_MASK & ~(size - 1)) | (va & (size - 1));
	w->shift = (uint8_t)shift;
	w->nlev = (uint8_t)n;
	w->and_all = and_all;
	w->va = va;
	return VTD_WALK_OK;
}

/*
 * The plain walk of the `top` levels from table `table` at level `top` down (the root,
 * FLPTPTR at pe->fs_levels, or the table below a cached entry whose gathered bits are
 * `and_all` / `or_all`; `root`: the walk starts at the root, for the fetch fault). `top`
 * is a constant at every call: the loop unrolls with constant shifts and masks.
 *
 * Each level costs one compare beyond the load: vtd->fs_chk[][][lvl] has P, the reserved
 * bits of a non-leaf entry and PS (levels 2 and up), so an entry that is present,
 * well-formed and points to a table - or a 4 KiB leaf - is exactly `& chk == P`. Anything
 * else (not present, reserved bits, a large leaf) is sorted out in its order off the
 * straight path. Memory limits are held in locals because the stores into `w` could
 * otherwise alias them.
 */
static inline __attribute__((always_inline)) enum vtd_walk_status
vtd_walk_fs_levels(const struct vtd *vtd, const struct vtd_pe *pe, uint64_t va,
		   struct vtd_walk *restrict w, const unsigned top, uint64_t table,
		   uint64_t and_all, uint64_t or_all, const bool root)
{
	const bool nxe = pe->flags & VTD_PE_NXE;
	const uint64_t *chk = vtd->fs_chk[nxe];
	const uint8_t *base = vtd->base;
	uint64_t e = 0, lim = vtd->mem_size - 8;

	w->table = table;
	w->top = (uint8_t)top;
	w->and0 = and_all;
	w->or0 = or_all;
#pragma GCC unroll 5
	for (unsigned n = 0, lvl = top; n < top; n++, lvl--) {
		uint64_t pa = table + VTD_PT_INDEX(va, lvl) * 8;

		if (VTD_LIKELY(base != NULL)) {
			if (VTD_UNLIKELY(pa > lim))
				return n || !root ? VTD_WALK_FETCH : VTD_WALK_FETCH_ROOT;
			/* Acquire, as vtd_fetch(): the table below was finished first. */
			e = __atomic_load_n((const uint64_t *)(const void *)(base + pa),
					    __ATOMIC_ACQUIRE);
		} else {
			uint64_t v; /* (not e: its address would keep e in memory) */

			if (mem_read64(vtd->mem, pa, &v))
				return n || !root ? VTD_WALK_FETCH : VTD_WALK_FETCH_ROOT;
			e = v;
		}
		w->ev[n] = e; /* (the entry's address is recomputed if A/D need writing) */
		and_all &= e;
		or_all |= e;
		if (VTD_UNLIKELY((e & chk[lvl]) != VTD_FL_P)) {
			if (!(e & VTD_FL_P)) {
				w->nlev = (uint8_t)(n + 1);
				return VTD_WALK_NOT_PRESENT;
			}
			if (e & vtd->fs_rsvd[0][nxe][lvl][(e >> 7) & 1])
				return VTD_WALK_RSVD;
			/* A 2 MiB or 1 GiB leaf. */
			return vtd_fs_done(w, va, lvl, e, and_all, or_all, n + 1);
		}
		if (lvl == 1)
			return vtd_fs_done(w, va, 1, e, and_all, or_all, n + 1);
		table = e & VTD_FL_ADDR_MASK;
	}
	return VTD_WALK_RSVD; /* not reached: level 1 is always a leaf */
}

/* The canonical-address check (4.1): bits 63:48 (4-level) or 63:57 (5-level) repeat the
 * top bit. */
static inline bool vtd_fs_canonical(const struct vtd_pe *pe, uint64_t va)
{
	unsigned hi = pe->fs_levels == 5 ? 56 : 47;

	return (uint64_t)((int64_t)(va << (63 - hi)) >> (63 - hi)) == va;
}

static inline __attribute__((always_inline)) enum vtd_walk_status
vtd_walk_fs_inline(struct vtd *vtd, const struct vtd_pe *pe, uint64_t va,
		   struct vtd_walk *restrict w)
{
	if (!vtd_fs_canonical(pe, va))
		return VTD_WALK_WIDTH;
	if (VTD_UNLIKELY(pe->pgtt == VTD_PGTT_NESTED))
		return vtd_walk_fs_nested(vtd, pe, va, w, NULL, NULL);
	if (pe->fs_levels == 5)
		return vtd_walk_fs_levels(vtd, pe, va, w, 5, pe->flptptr, ~0ull, 0, true);
	return vtd_walk_fs_levels(vtd, pe, va, w, 4, pe->flptptr, ~0ull, 0, true);
}

/* The same, where the compiler decides whether to inline it. */
static inline enum vtd_walk_status vtd_walk_fs(struct vtd *vtd, const struct vtd_pe *pe,
					       uint64_t va, struct vtd_walk *restrict w)
{
	return vtd_walk_fs_inline(vtd, pe, va, w);
}

/*
 * Check mode: what memory says now about the non-leaf entry at level `from` above `va` - as
 * the first-stage paging-structure cache would hold it (next table, gathered bits). False
 * if memory has no such entry (not present, reserved bits, a leaf, a fetch error). No
 * writes, no caches.
 */
bool vtd_fs_entry_at(struct vtd *vtd, const struct vtd_pe *pe, uint64_t va, unsigned from,
		     struct vtd_walk_start *st);

/* A plain (not nested) walk from a cached entry: `st` (caches.h), whose level is 1..4.
 * The caller checked the address (vtd_fs_canonical). */
static inline __attribute__((always_inline)) enum vtd_walk_status
vtd_walk_fs_start(struct vtd *vtd, const struct vtd_pe *pe, uint64_t va,
		  struct vtd_walk *restrict w, const struct vtd_walk_start *st)
{
	switch (st->lvl) {
	case 1:
		return vtd_walk_fs_levels(vtd, pe, va, w, 1, st->table, st->and_all, st->or_all,
					  false);
	case 2:
		return vtd_walk_fs_levels(vtd, pe, va, w, 2, st->table, st->and_all, st->or_all,
					  false);
	case 3:
		return vtd_walk_fs_levels(vtd, pe, va, w, 3, st->table, st->and_all, st->or_all,
					  false);
	default:
		return vtd_walk_fs_levels(vtd, pe, va, w, 4, st->table, st->and_all, st->or_all,
					  false);
	}
}

#endif
