// SPDX-License-Identifier: MIT
/*
 * First-stage translation (digest 4.1): x86-64 4-level (48-bit) and 5-level (57-bit)
 * tables, canonical input check, present and reserved-bit checks, R/W, U/S and XD
 * gathered over the levels, 2 MiB and (with CAP.FL1GP) 1 GiB leaves, and the accessed,
 * extended-accessed and dirty updates.
 *
 * Nested translation (PGTT 011): every first-stage structure address - FLPTPTR and each
 * next-table pointer - is a guest-physical address translated through the second stage
 * before it is read (SFL.5-SFL.7), and an A/D update needs second-stage write
 * permission on it (SFL.8). The final guest-physical output is translated by the caller.
 */
#include "vtd_internal.h"

/* Reserved bits of a present first-stage entry `e` at `lvl`. */
static uint64_t fs_rsvd(const struct vtd *vtd, const struct vtd_pe *pe, unsigned lvl, uint64_t e)
{
	/* Nested first-stage entries hold guest-physical addresses: their width is checked
	 * by the second stage (SFL.5, SGN.4), not against HAW. */
	uint64_t r = pe->pgtt == VTD_PGTT_NESTED ? 0 : vtd->addr_rsvd;

	if (!(pe->flags & VTD_PE_NXE))
		r |= VTD_FL_XD; /* as on x86 with EFER.NXE = 0 */
	if (lvl >= 4)
		r |= VTD_FL_PS;
	else if (lvl == 3 && (e & VTD_FL_PS))
		r |= vtd->cfg.fs_1g ? VTD_GENMASK(29, 13) : VTD_FL_PS;
	else if (lvl == 2 && (e & VTD_FL_PS))
		r |= VTD_GENMASK(20, 13);
	return r;
}

/* Map a second-stage walk outcome on a first-stage structure to its reason code. */
static uint8_t nested_reason(enum vtd_walk_status s)
{
	switch (s) {
	case VTD_WALK_WIDTH:
		return VTD_FR_SFL_5;
	case VTD_WALK_FETCH_ROOT:
		return VTD_FR_SSL_4;
	case VTD_WALK_FETCH:
		return VTD_FR_SSL_1;
	case VTD_WALK_NOT_PRESENT:
		return VTD_FR_SSL_2;
	case VTD_WALK_RSVD:
		return VTD_FR_SSL_3;
	default:
		return VTD_FR_SSL_6;
	}
}

/*
 * Nested: the host-physical address of the first-stage structure at `gpa`. `write` asks
 * for second-stage write permission (an A/D update); `root` selects SFL.6 over SFL.7.
 */
static enum vtd_walk_status nested_gpa(struct vtd *vtd, const struct vtd_pe *pe, uint64_t gpa,
				       bool root, bool write, uint64_t *hpa, struct vtd_walk *w)
{
	struct vtd_walk sw;
	enum vtd_walk_status s = vtd_walk_ss(vtd, pe, gpa, &sw);

	if (s) {
		w->fault = nested_reason(s);
		return VTD_WALK_NESTED;
	}
	if (write && !(sw.perm & VTD_XL_W)) {
		w->fault = VTD_FR_SFL_8;
		return VTD_WALK_NESTED;
	}
	if (!(sw.perm & VTD_XL_R) && !write) {
		w->fault = root ? VTD_FR_SFL_6 : VTD_FR_SFL_7;
		return VTD_WALK_NESTED;
	}
	if (pe->flags & VTD_PE_SLADE) {
		s = vtd_ss_set_ad(vtd, &sw, write);
		if (s == VTD_WALK_RETRY)
			return s;
		if (s) {
			w->fault = VTD_FR_SSL_6;
			return VTD_WALK_NESTED;
		}
	}
	*hpa = sw.out;
	return VTD_WALK_OK;
}

enum vtd_walk_status vtd_walk_fs(struct vtd *vtd, const struct vtd_pe *pe, uint64_t va,
				 struct vtd_walk *w)
{
	unsigned lvl = pe->fs_levels, top = lvl, n = 0, hi = lvl == 5 ? 56 : 47;
	bool nested = pe->pgtt == VTD_PGTT_NESTED;
	uint64_t table = pe->flptptr, e;
	unsigned perm = VTD_XL_R | VTD_XL_W | VTD_XL_X | VTD_XL_US;

	/* Canonical: bits 63:48 (4-level) or 63:57 (5-level) repeat the top bit. */
	if ((uint64_t)((int64_t)(va << (63 - hi)) >> (63 - hi)) != va)
		return VTD_WALK_WIDTH;
	for (;;) {
		uint64_t pa = table + VTD_PT_INDEX(va, lvl) * 8;

		w->gpa[n] = pa;
		if (nested) {
			enum vtd_walk_status s = nested_gpa(vtd, pe, pa, lvl == top, false, &pa, w);
			if (s)
				return s;
		}
		if (vtd_fetch(vtd->mem, pa, 1, &e))
			return lvl == top ? VTD_WALK_FETCH_ROOT : VTD_WALK_FETCH;
		w->epa[n] = pa;
		w->ev[n++] = e;
		if (!(e & VTD_FL_P))
			return VTD_WALK_NOT_PRESENT;
		if (e & fs_rsvd(vtd, pe, lvl, e))
			return VTD_WALK_RSVD;
		perm &= ~((e & VTD_FL_RW) ? 0 : VTD_XL_W) & ~((e & VTD_FL_US) ? 0 : VTD_XL_US) &
			~((e & VTD_FL_XD) ? VTD_XL_X : 0);
		if (lvl == 1 || (e & VTD_FL_PS))
			break;
		table = e & VTD_FL_ADDR_MASK;
		lvl--;
	}
	unsigned shift = VTD_PT_LEVEL_SHIFT(lvl);
	uint64_t size = 1ull << shift;
	w->out = (e & VTD_FL_ADDR_MASK & ~(size - 1)) | (va & (size - 1));
	w->shift = (uint8_t)shift;
	w->perm = (uint8_t)(perm | ((e & VTD_FL_G) ? VTD_XL_G : 0));
	w->nlev = (uint8_t)n;
	return VTD_WALK_OK;
}

enum vtd_walk_status vtd_fs_set_ad(struct vtd *vtd, const struct vtd_pe *pe, struct vtd_walk *w,
				   bool dirty)
{
	uint64_t a = VTD_FL_A | ((pe->flags & VTD_PE_EAFE) ? VTD_FL_EA : 0);

	for (unsigned i = 0; i < w->nlev; i++) {
		uint64_t bits = a | (dirty && i + 1 == w->nlev ? VTD_FL_D : 0), hpa;
		enum vtd_walk_status s;

		if ((w->ev[i] & bits) == bits)
			continue;
		if (pe->pgtt == VTD_PGTT_NESTED) {
			s = nested_gpa(vtd, pe, w->gpa[i], i == 0, true, &hpa, w);
			if (s)
				return s;
		}
		s = vtd_entry_set_bits(vtd, w->epa[i], w->ev[i], bits,
				       VTD_FL_A | VTD_FL_D | VTD_FL_EA);
		if (s)
			return s;
	}
	return VTD_WALK_OK;
}
