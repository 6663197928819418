// SPDX-License-Identifier: MIT
/*
 * PASID directory and PASID-table entries (digest 3.1-3.3): fetch, present and
 * reserved-bit checks (SPD.x, SPT.1-3) and the entry's programming (SPT.4).
 *
 * The checks are precomputed per PGTT at creation, so a well-formed entry costs one
 * combined test; only a faulty one goes through the ordered checks that pick its code.
 */
#include "pasid.h"

/*
 * Per PGTT: the always-reserved fields, plus the enables of features this unit lacks in
 * the fields that PGTT uses (3.2's table: fields a PGTT ignores are not checked).
 * And which PGTT values the unit implements (SPT.4 otherwise; 000, 101-111 are reserved).
 */
void vtd_pasid_init(struct vtd *vtd)
{
	const struct vtd_config *c = &vtd->cfg;

	vtd->pgtt_ok = (uint8_t)((c->first_stage ? 1u << VTD_PGTT_FS : 0) |
				 (c->second_stage ? 1u << VTD_PGTT_SS : 0) |
				 (c->nested ? 1u << VTD_PGTT_NESTED : 0) |
				 (c->pass_through ? 1u << VTD_PGTT_PT : 0));
	for (unsigned pgtt = 0; pgtt < 8; pgtt++) {
		uint64_t *r = vtd->pe_rsvd[pgtt];

		r[0] = VTD_PE_Q0_RSVD;
		r[1] = VTD_PE_Q1_RSVD | (c->sm_pwc ? 0 : VTD_PE_Q1_PWSNP);
		r[2] = VTD_PE_Q2_RSVD;
		if (vtd_pgtt_uses_ss(pgtt) && !c->ss_ad)
			r[0] |= VTD_PE_Q0_SLADE;
		if (vtd_pgtt_uses_fs(pgtt)) {
			r[2] |= c->supervisor_requests ? 0 : VTD_PE_Q2_SRE;
			r[2] |= c->execute_requests ? 0 : VTD_PE_Q2_ERE;
			r[2] |= c->fs_ea ? 0 : VTD_PE_Q2_EAFE;
		}
	}
	/* One test for a first-stage entry that vtd_pasid_lookup() takes (translate.c's
	 * uncached path): present, PGTT 001 and implemented, no reserved bit, and FLPM a
	 * depth the unit walks (SPT.4: 4-level, or 5-level with CAP.FL5LP). */
	vtd->fs_pe_chk[0] = vtd->pe_rsvd[VTD_PGTT_FS][0] | VTD_PE_Q0_P | VTD_PE_Q0_PGTT_MASK;
	vtd->fs_pe_want =
	    c->first_stage ? VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, VTD_PGTT_FS) : ~0ull;
	vtd->fs_pe_chk[1] = vtd->pe_rsvd[VTD_PGTT_FS][1];
	vtd->fs_pe_chk[2] = vtd->pe_rsvd[VTD_PGTT_FS][2] | VTD_SET(VTD_PE_Q2_FLPM, 2) |
			    (c->fs_5level ? 0 : VTD_SET(VTD_PE_Q2_FLPM, VTD_FLPM_5LEVEL));
}

/* A faulty entry: the checks in their order, to name the fault. */
uint8_t vtd_pasid_entry_fault(const struct vtd *vtd, const uint64_t q[8], unsigned pgtt)
{
	const uint64_t *r = vtd->pe_rsvd[pgtt];

	/* Always-reserved fields first: their check does not depend on the PGTT. */
	if ((q[0] & VTD_PE_Q0_RSVD) || (q[1] & VTD_PE_Q1_RSVD) || (q[2] & VTD_PE_Q2_RSVD) ||
	    (q[3] | q[4] | q[5] | q[6] | q[7]))
		return VTD_FR_SPT_3;
	if (!(vtd->pgtt_ok & (1u << pgtt)))
		return VTD_FR_SPT_4;
	if ((q[0] & r[0]) || (q[1] & r[1]) || (q[2] & r[2]))
		return VTD_FR_SPT_3;
	return VTD_FR_SPT_4; /* vtd_pasid_programming_ok() said no */
}
