// SPDX-License-Identifier: MIT
/*
 * Second-stage translation (digest 4.2): 3-, 4- or 5-level tables selected by AW, R/W/X
 * permissions ANDed over the levels, 2 MiB / 1 GiB leaves where CAP.SLLPS allows them,
 * reserved-bit checks, and accessed/dirty updates when SLADE is set.
 *
 * The walk reports its own outcome (enum vtd_walk_status); the caller turns it into the
 * reason code of its mode (legacy LSL/LGN, scalable SSL/SGN, nested SFL).
 */
#include "walk_ss.h"

#include "caches.h"

/*
 * Reserved bits of a present second-stage entry, by mode, level and PS:
 *  - every entry: address bits at or above HAW, TM (reserved since spec 3.2);
 *  - non-leaf: SNP; PS at a level without large pages on this unit (PS itself is then
 *    the reserved bit: levels 4 and 5 always, 2 and 3 per CAP.SLLPS);
 *  - 2 MiB / 1 GiB leaf: address bits 20:12 / 29:12;
 *  - leaf SNP in legacy mode without ECAP.SC (scalable mode always accepts it).
 * At level 1 bit 7 is ignored: a level-1 entry is a leaf either way.
 */
void vtd_walk_ss_init(struct vtd *vtd)
{
	const struct vtd_config *c = &vtd->cfg;

	for (unsigned legacy = 0; legacy < 2; legacy++) {
		uint64_t base = vtd->addr_rsvd | VTD_SL_TM;
		uint64_t leaf = base | (legacy && !c->snoop_control ? VTD_SL_SNP : 0);

		for (unsigned lvl = 0; lvl < 6; lvl++) {
			uint64_t *r = vtd->ss_rsvd[legacy][lvl];

			r[0] = lvl == 1 ? leaf : base | VTD_SL_SNP;
			if (lvl == 1)
				r[1] = leaf;
			else if (lvl == 2 && c->ss_2m)
				r[1] = leaf | VTD_GENMASK(20, 12);
			else if (lvl == 3 && c->ss_1g)
				r[1] = leaf | VTD_GENMASK(29, 12);
			else
				r[1] = VTD_SL_PS;
		}
	}
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
	/* Nothing to write when A is set everywhere and D (if needed) on the leaf. */
	if ((w->and_all & VTD_SL_A) && (!dirty || (w->ev[w->nlev - 1] & VTD_SL_D)))
		return VTD_WALK_OK;
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

enum vtd_walk_status vtd_walk_ss_cached(struct vtd *vtd, const struct vtd_pe *pe, uint64_t iova,
					struct vtd_walk *w, struct vtd_run *run, bool nested)
{
	struct vtd_walk_start st;

	if (!vtd->sspc.sets ||
	    !vtd_sspc_lookup(vtd, pe->did, iova, pe->ss_levels, vtd_ss_ad(pe), &st))
		return vtd_walk_ss(vtd, pe, iova, w);
	if (nested) {
		run->hits |= VTD_RUN_HIT_SSPC_NESTED;
	} else {
		run->hits |= VTD_RUN_HIT_SSPC;
		run->ssp = st;
		run->ss_in = iova;
	}
	return vtd_walk_ss_from(vtd, pe, iova, w, st.table, st.lvl, st.and_all);
}

bool vtd_ss_entry_at(struct vtd *vtd, const struct vtd_pe *pe, uint64_t iova, unsigned from,
		     struct vtd_walk_start *st)
{
	const uint64_t(*rsvd)[2] = vtd->ss_rsvd[!!(pe->flags & VTD_PE_LEGACY)];
	uint64_t table = pe->slptptr, and_all = ~0ull, e;

	if (iova >> pe->ss_width || from < 2)
		return false;
	for (unsigned lvl = pe->ss_levels; lvl >= from; lvl--) {
		if (vtd_fetch(vtd, table + VTD_PT_INDEX(iova, lvl) * 8, 1, &e) ||
		    !(e & (VTD_SL_R | VTD_SL_W)) || (e & rsvd[lvl][(e >> 7) & 1]) ||
		    (e & VTD_SL_PS))
			return false;
		and_all &= e;
		table = e & VTD_SL_ADDR_MASK;
	}
	st->table = st->gtable = table;
	st->and_all = ~(uint64_t)VTD_SSPC_ACC | and_all;
	st->or_all = 0;
	st->lvl = (uint8_t)(from - 1);
	st->from = (uint8_t)from;
	return true;
}
