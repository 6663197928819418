// SPDX-License-Identifier: MIT
/*
 * Second-stage translation (digest 4.2): 3-, 4- or 5-level tables selected by AW, R/W/X
 * permissions ANDed over the levels, 2 MiB / 1 GiB leaves where CAP.SLLPS allows them,
 * reserved-bit checks, and accessed/dirty updates when SLADE is set.
 *
 * The walk reports its own outcome (enum vtd_walk_status); the caller turns it into the
 * reason code of its mode (legacy LSL/LGN, scalable SSL/SGN, nested SFL).
 */
#include "vtd_internal.h"

/* Reserved bits of a second-stage entry at `lvl` that is a leaf (`leaf`) or not. */
static uint64_t ss_rsvd(const struct vtd *vtd, unsigned lvl, bool leaf, bool legacy)
{
	uint64_t r = vtd->addr_rsvd | VTD_SL_TM; /* TM is reserved since spec 3.2 */

	if (!leaf)
		return r | VTD_SL_SNP;
	/* SNP needs ECAP.SC in legacy mode; scalable mode always accepts it. */
	if (legacy && !vtd->cfg.snoop_control)
		r |= VTD_SL_SNP;
	if (lvl == 2)
		r |= VTD_GENMASK(20, 12);
	else if (lvl == 3)
		r |= VTD_GENMASK(29, 12);
	return r;
}

/* Whether a present entry with PS set at `lvl` is a valid large leaf on this unit. */
static bool ss_large_ok(const struct vtd *vtd, unsigned lvl)
{
	return (lvl == 2 && vtd->cfg.ss_2m) || (lvl == 3 && vtd->cfg.ss_1g);
}

enum vtd_walk_status vtd_walk_ss(struct vtd *vtd, const struct vtd_pe *pe, uint64_t iova,
				 struct vtd_walk *w)
{
	bool legacy = pe->flags & VTD_PE_LEGACY, slee = pe->flags & VTD_PE_SLEE;
	unsigned lvl = pe->ss_levels, top = lvl, n = 0;
	uint64_t table = pe->slptptr, e;
	unsigned perm = VTD_XL_R | VTD_XL_W | VTD_XL_X;

	if (iova >> pe->ss_width)
		return VTD_WALK_WIDTH;
	for (;;) {
		uint64_t pa = table + VTD_PT_INDEX(iova, lvl) * 8;

		if (vtd_fetch(vtd->mem, pa, 1, &e))
			return lvl == top ? VTD_WALK_FETCH_ROOT : VTD_WALK_FETCH;
		w->epa[n] = pa;
		w->ev[n++] = e;
		/* R = W = 0 is "not present"; other bits are then ignored. At the last level
		 * that is a page without permissions (a permission fault for the caller). */
		if (!(e & (VTD_SL_R | VTD_SL_W))) {
			if (lvl > 1)
				return VTD_WALK_NOT_PRESENT;
			w->out = 0;
			w->shift = 12;
			w->perm = 0;
			w->nlev = (uint8_t)n;
			return VTD_WALK_OK;
		}
		bool leaf = lvl == 1 || (e & VTD_SL_PS);
		if (leaf && lvl > 1 && !ss_large_ok(vtd, lvl))
			return VTD_WALK_RSVD; /* PS where this level has no large page */
		if (e & ss_rsvd(vtd, lvl, leaf, legacy))
			return VTD_WALK_RSVD;
		perm &= (unsigned)(e & (VTD_SL_R | VTD_SL_W)) |
			(slee ? ((e & VTD_SL_X) ? VTD_XL_X : 0) : ((e & VTD_SL_R) ? VTD_XL_X : 0));
		if (leaf)
			break;
		table = e & VTD_SL_ADDR_MASK;
		lvl--;
	}
	unsigned shift = VTD_PT_LEVEL_SHIFT(lvl);
	uint64_t size = 1ull << shift;
	w->out = ((e & VTD_SL_ADDR_MASK) & ~(size - 1)) | (iova & (size - 1));
	w->shift = (uint8_t)shift;
	w->perm = (uint8_t)perm;
	w->nlev = (uint8_t)n;
	return VTD_WALK_OK;
}

enum vtd_walk_status vtd_entry_set_bits(struct vtd *vtd, uint64_t pa, uint64_t seen, uint64_t bits,
					uint64_t ad_mask)
{
	uint64_t cur = seen;

	/* Only A/D bits may have changed under us; anything else means the walk used an
	 * entry that software has since rewritten, and must be redone. */
	for (int tries = 0; tries < 8; tries++) {
		if ((cur & bits) == bits)
			return VTD_WALK_OK;
		int r = mem_cmpxchg64(vtd->mem, pa, &cur, cur | bits);
		if (r == 0)
			return VTD_WALK_OK;
		if (r != -EAGAIN)
			return VTD_WALK_AD_FAIL;
		if ((cur ^ seen) & ~ad_mask)
			return VTD_WALK_RETRY;
	}
	return VTD_WALK_RETRY;
}

enum vtd_walk_status vtd_ss_set_ad(struct vtd *vtd, const struct vtd_walk *w, bool dirty)
{
	for (unsigned i = 0; i < w->nlev; i++) {
		uint64_t bits = VTD_SL_A | (dirty && i + 1 == w->nlev ? VTD_SL_D : 0);
		enum vtd_walk_status s;

		if ((w->ev[i] & bits) == bits)
			continue;
		s = vtd_entry_set_bits(vtd, w->epa[i], w->ev[i], bits, VTD_SL_A | VTD_SL_D);
		if (s)
			return s;
	}
	return VTD_WALK_OK;
}
