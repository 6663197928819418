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
#include "walk_fs.h"

#include "caches.h"
#include "walk_ss.h"

/*
 * Reserved bits of a present first-stage entry, by nesting, NXE, level and PS:
 *  - address bits at or above HAW (not in nested mode: there the entries hold
 *    guest-physical addresses, whose width the second stage checks - SFL.5, SGN.4);
 *  - XD without NXE (as on x86 with EFER.NXE = 0);
 *  - PS in a PML5E/PML4E, and in a PDPE without CAP.FL1GP;
 *  - address bits 29:13 of a 1 GiB leaf and 20:13 of a 2 MiB leaf (bit 12 is PAT).
 */
void vtd_walk_fs_init(struct vtd *vtd)
{
	for (unsigned nested = 0; nested < 2; nested++) {
		for (unsigned nxe = 0; nxe < 2; nxe++) {
			uint64_t base = (nested ? 0 : vtd->addr_rsvd) | (nxe ? 0 : VTD_FL_XD);

			for (unsigned lvl = 0; lvl < 6; lvl++) {
				uint64_t *r = vtd->fs_rsvd[nested][nxe][lvl];

				r[0] = base;
				if (lvl >= 4)
					r[1] = base | VTD_FL_PS;
				else if (lvl == 3)
					r[1] = base |
					       (vtd->cfg.fs_1g ? VTD_GENMASK(29, 13) : VTD_FL_PS);
				else if (lvl == 2)
					r[1] = base | VTD_GENMASK(20, 13);
				else
					r[1] = base; /* bit 7 of a PTE is PAT */
				/* The plain walk's one test per level (walk_fs.h). */
				if (!nested)
					vtd->fs_chk[nxe][lvl] =
					    r[0] | VTD_FL_P | (lvl >= 2 ? VTD_FL_PS : 0);
			}
		}
	}
}

/*
 * Nested: the host-physical address of the first-stage structure at `gpa`. `write` asks
 * for second-stage write permission (an A/D update); `root` selects SFL.6 over SFL.7.
 * With `run` the second-stage walk goes through its paging-structure cache, and what it
 * read is cached once its A/D bits are set.
 */
static enum vtd_walk_status nested_gpa(struct vtd *vtd, const struct vtd_pe *pe, uint64_t gpa,
				       bool root, bool write, uint64_t *hpa, struct vtd_walk *w,
				       struct vtd_run *run)
{
	struct vtd_walk sw;
	enum vtd_walk_status s =
	    run ? vtd_walk_ss_cached(vtd, pe, gpa, &sw, run, true) : vtd_walk_ss(vtd, pe, gpa, &sw);

	if (s) {
		w->fault = vtd_ss_walk_reason(s, VTD_FR_SFL_5);
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
	if ((pe->flags & VTD_PE_SLADE) && !w->dry) {
		s = vtd_ss_set_ad(vtd, &sw, write);
		if (s == VTD_WALK_RETRY)
			return s;
		if (s) {
			w->fault = VTD_FR_SSL_6;
			return VTD_WALK_NESTED;
		}
	}
	if (run)
		vtd_sspc_fill(vtd, pe->did, gpa, &sw, vtd_ss_ad(pe), run->gen);
	*hpa = sw.out;
	return VTD_WALK_OK;
}

/* Nested: each table address is a guest-physical address, translated before the read -
 * except the first table of a walk that starts below a cached (combined) entry. */
enum vtd_walk_status vtd_walk_fs_nested(struct vtd *vtd, const struct vtd_pe *pe, uint64_t va,
					struct vtd_walk *w, const struct vtd_walk_start *st,
					struct vtd_run *run)
{
	const uint64_t(*rsvd)[2] = vtd->fs_rsvd[1][!!(pe->flags & VTD_PE_NXE)];
	unsigned lvl = st ? st->lvl : pe->fs_levels, top = pe->fs_levels, n = 0;
	uint64_t table = st ? st->gtable : pe->flptptr, e;
	uint64_t and_all = st ? st->and_all : ~0ull, or_all = st ? st->or_all : 0;

	w->run = run;
	w->top = (uint8_t)lvl;
	w->table = table;
	w->and0 = and_all;
	w->or0 = or_all;
	for (;;) {
		uint64_t gpa = table + VTD_PT_INDEX(va, lvl) * 8, pa;
		enum vtd_walk_status s = VTD_WALK_OK;

		if (n == 0 && st)
			pa = st->table + VTD_PT_INDEX(va, lvl) * 8;
		else
			s = nested_gpa(vtd, pe, gpa, lvl == top, false, &pa, w, run);
		if (s)
			return s;
		if (vtd_fetch(vtd, pa, 1, &e))
			return lvl == top ? VTD_WALK_FETCH_ROOT : VTD_WALK_FETCH;
		w->gpa[n] = gpa;
		w->epa[n] = pa;
		w->ev[n++] = e;
		if (!(e & VTD_FL_P)) {
			w->nlev = (uint8_t)n;
			return VTD_WALK_NOT_PRESENT;
		}
		if (e & rsvd[lvl][(e >> 7) & 1])
			return VTD_WALK_RSVD;
		and_all &= e;
		or_all |= e;
		if (lvl == 1 || (e & VTD_FL_PS))
			break;
		table = e & VTD_FL_ADDR_MASK;
		lvl--;
	}
	return vtd_fs_done(w, va, lvl, e, and_all, or_all, n);
}

enum vtd_walk_status vtd_fs_set_ad(struct vtd *vtd, const struct vtd_pe *pe, struct vtd_walk *w,
				   bool dirty)
{
	uint64_t a = VTD_FL_A | ((pe->flags & VTD_PE_EAFE) ? VTD_FL_EA : 0);

	/* Nothing to write when A (and EA) is set everywhere and D (if needed) on the leaf. */
	if ((w->and_all & a) == a && (!dirty || (w->ev[w->nlev - 1] & VTD_FL_D)))
		return VTD_WALK_OK;
	for (unsigned i = 0; i < w->nlev; i++) {
		uint64_t bits = a | (dirty && i + 1 == w->nlev ? VTD_FL_D : 0), hpa;
		enum vtd_walk_status s;

		if ((w->ev[i] & bits) == bits)
			continue;
		if (pe->pgtt == VTD_PGTT_NESTED) {
			s = nested_gpa(vtd, pe, w->gpa[i], i == 0 && w->top == pe->fs_levels, true,
				       &hpa, w, w->run);
			if (s)
				return s;
		}
		/* The plain walk does not store entry addresses: they follow from the
		 * entries above (or the table it started in) and the input address. */
		uint64_t pa = pe->pgtt == VTD_PGTT_NESTED
				  ? w->epa[i]
				  : (i ? w->ev[i - 1] & VTD_FL_ADDR_MASK : w->table) +
					VTD_PT_INDEX(w->va, w->top - i) * 8;
		s = w->dry ? VTD_WALK_OK
			   : vtd_entry_set_bits(vtd, pa, w->ev[i], bits,
						VTD_FL_A | VTD_FL_D | VTD_FL_EA);
		if (s)
			return s;
	}
	return VTD_WALK_OK;
}

bool vtd_fs_entry_at(struct vtd *vtd, const struct vtd_pe *pe, uint64_t va, unsigned from,
		     struct vtd_walk_start *st)
{
	bool nested = pe->pgtt == VTD_PGTT_NESTED;
	const uint64_t(*rsvd)[2] = vtd->fs_rsvd[nested][!!(pe->flags & VTD_PE_NXE)];
	uint64_t table = pe->flptptr, and_all = ~0ull, or_all = 0, e, pa;
	struct vtd_walk sw;

	if (!vtd_fs_canonical(pe, va) || from < 2)
		return false;
	for (unsigned lvl = pe->fs_levels; lvl >= from; lvl--) {
		pa = table + VTD_PT_INDEX(va, lvl) * 8;
		if (nested) {
			if (vtd_walk_ss(vtd, pe, pa, &sw) || !(sw.perm & VTD_XL_R))
				return false;
			pa = sw.out;
		}
		if (vtd_fetch(vtd, pa, 1, &e) || !(e & VTD_FL_P) || (e & rsvd[lvl][(e >> 7) & 1]) ||
		    (e & VTD_FL_PS))
			return false;
		and_all &= e;
		or_all |= e;
		table = e & VTD_FL_ADDR_MASK;
	}
	st->gtable = table;
	st->table = table;
	if (nested) {
		if (vtd_walk_ss(vtd, pe, table, &sw) || !(sw.perm & VTD_XL_R))
			return false;
		st->table = sw.out & VTD_FL_ADDR_MASK;
	}
	st->and_all = ~(uint64_t)(VTD_FL_RW | VTD_FL_US) | and_all;
	st->or_all = or_all & VTD_FL_XD;
	st->lvl = (uint8_t)(from - 1);
	st->from = (uint8_t)from;
	return true;
}
