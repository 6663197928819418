// SPDX-License-Identifier: MIT
/*
 * PASID directory and PASID-table entries (digest 3.1-3.3): fetch, present and
 * reserved-bit checks (SPD.x, SPT.1-3) and the entry's programming (SPT.4).
 */
#include "vtd_internal.h"

/* The PGTT values this unit implements (SPT.4 otherwise). */
static bool pgtt_supported(const struct vtd_config *c, unsigned pgtt)
{
	switch (pgtt) {
	case VTD_PGTT_FS:
		return c->first_stage;
	case VTD_PGTT_SS:
		return c->second_stage;
	case VTD_PGTT_NESTED:
		return c->nested;
	case VTD_PGTT_PT:
		return c->pass_through;
	default:
		return false; /* 000, 101-111 are reserved */
	}
}

static bool uses_ss(unsigned pgtt)
{
	return pgtt == VTD_PGTT_SS || pgtt == VTD_PGTT_NESTED;
}

static bool uses_fs(unsigned pgtt)
{
	return pgtt == VTD_PGTT_FS || pgtt == VTD_PGTT_NESTED;
}

/*
 * SPT.3: reserved fields, plus the enables of features this unit lacks in the fields
 * the PGTT uses (3.2's table: fields a PGTT ignores are not checked).
 */
static bool pasid_entry_rsvd(const struct vtd *vtd, const uint64_t q[8], unsigned pgtt)
{
	const struct vtd_config *c = &vtd->cfg;
	uint64_t r0 = VTD_PE_Q0_RSVD, r1 = VTD_PE_Q1_RSVD, r2 = VTD_PE_Q2_RSVD;

	if (!c->sm_pwc)
		r1 |= VTD_PE_Q1_PWSNP;
	if (uses_ss(pgtt) && !c->ss_ad)
		r0 |= VTD_PE_Q0_SLADE;
	if (uses_fs(pgtt)) {
		r2 |= c->supervisor_requests ? 0 : VTD_PE_Q2_SRE;
		r2 |= c->execute_requests ? 0 : VTD_PE_Q2_ERE;
		r2 |= c->fs_ea ? 0 : VTD_PE_Q2_EAFE;
	}
	return (q[0] & r0) || (q[1] & r1) || (q[2] & r2) || (q[3] | q[4] | q[5] | q[6] | q[7]);
}

/* SPT.4: PGTT, AW (for the second-stage and pass-through types) and FLPM. */
static uint8_t decode_pasid_entry(const struct vtd *vtd, const uint64_t q[8], struct vtd_pe *pe)
{
	const struct vtd_config *c = &vtd->cfg;
	unsigned pgtt = (unsigned)VTD_GET(q[0], VTD_PE_Q0_PGTT);
	unsigned aw = (unsigned)VTD_GET(q[0], VTD_PE_Q0_AW);
	unsigned flpm = (unsigned)VTD_GET(q[2], VTD_PE_Q2_FLPM);

	/* Always-reserved fields first: their check does not depend on the PGTT. */
	if ((q[0] & VTD_PE_Q0_RSVD) || (q[1] & VTD_PE_Q1_RSVD) || (q[2] & VTD_PE_Q2_RSVD) ||
	    (q[3] | q[4] | q[5] | q[6] | q[7]))
		return VTD_FR_SPT_3;
	if (!pgtt_supported(c, pgtt))
		return VTD_FR_SPT_4;
	if (pasid_entry_rsvd(vtd, q, pgtt))
		return VTD_FR_SPT_3;
	if (pgtt != VTD_PGTT_FS && (aw > 3 || !(c->sagaw & (1u << aw))))
		return VTD_FR_SPT_4;
	if (uses_fs(pgtt) && flpm != VTD_FLPM_4LEVEL && !(flpm == VTD_FLPM_5LEVEL && c->fs_5level))
		return VTD_FR_SPT_4;
	pe->pgtt = (uint8_t)pgtt;
	pe->slptptr = q[0] & VTD_PE_Q0_SLPTPTR_MASK;
	pe->flptptr = q[2] & VTD_PE_Q2_FLPTPTR_MASK;
	pe->did = (uint16_t)(VTD_GET(q[1], VTD_PE_Q1_DID) & vtd->did_mask);
	pe->ss_levels = (uint8_t)(aw + 2);
	pe->ss_width = vtd_ss_width(vtd, aw);
	pe->fs_levels = flpm == VTD_FLPM_5LEVEL ? 5 : 4;
	pe->flags = (uint16_t)(((q[0] & VTD_PE_Q0_FPD) ? VTD_PE_FPD : 0) |
			       ((q[0] & VTD_PE_Q0_SLEE) ? VTD_PE_SLEE : 0) |
			       ((q[0] & VTD_PE_Q0_SLADE) ? VTD_PE_SLADE : 0) |
			       ((q[2] & VTD_PE_Q2_SRE) ? VTD_PE_SRE : 0) |
			       ((q[2] & VTD_PE_Q2_ERE) ? VTD_PE_ERE : 0) |
			       ((q[2] & VTD_PE_Q2_WPE) ? VTD_PE_WPE : 0) |
			       ((q[2] & VTD_PE_Q2_NXE) ? VTD_PE_NXE : 0) |
			       ((q[2] & VTD_PE_Q2_SMEP) ? VTD_PE_SMEP : 0) |
			       ((q[2] & VTD_PE_Q2_EAFE) ? VTD_PE_EAFE : 0));
	return 0;
}

uint8_t vtd_pasid_lookup(struct vtd *vtd, const struct vtd_ctx *ctx, uint32_t pasid,
			 struct vtd_pe *pe, bool *fpd)
{
	uint64_t de, q[8];

	/* 3.3: PASID[19:6] indexes the directory (bounded by PDTS, checked by the caller as
	 * SCT.7 / SCT.9), PASID[5:0] the 64-entry table. */
	if (vtd_fetch(vtd->mem, ctx->ptr + (uint64_t)(pasid >> VTD_PASID_DIR_SHIFT) * 8, 1, &de))
		return VTD_FR_SPD_1;
	*fpd |= de & VTD_PDE_FPD;
	if (!(de & VTD_PDE_P))
		return VTD_FR_SPD_2;
	if (de & (VTD_PDE_RSVD | vtd->ptr_rsvd))
		return VTD_FR_SPD_3;
	if (vtd_fetch(vtd->mem, (de & VTD_PDE_SMPTBLPTR_MASK) + (pasid & VTD_PASID_TBL_MASK) * 64,
		      8, q))
		return VTD_FR_SPT_1;
	*fpd |= q[0] & VTD_PE_Q0_FPD;
	if (!(q[0] & VTD_PE_Q0_P))
		return VTD_FR_SPT_2;
	return decode_pasid_entry(vtd, q, pe);
}
