/* SPDX-License-Identifier: MIT */
/*
 * PASID directory and table entries (digest 3.1-3.3), the part on every translation:
 * inline, so that the uncached request path is one function (pasid.c has the rest).
 */
#ifndef SOFTIOMMU_HW_VTD_PASID_H
#define SOFTIOMMU_HW_VTD_PASID_H

#include "vtd_internal.h"

static inline bool vtd_pgtt_uses_ss(unsigned pgtt)
{
	return pgtt == VTD_PGTT_SS || pgtt == VTD_PGTT_NESTED;
}

static inline bool vtd_pgtt_uses_fs(unsigned pgtt)
{
	return pgtt == VTD_PGTT_FS || pgtt == VTD_PGTT_NESTED;
}

/* The checks of a faulty entry in their order, to name the fault (pasid.c). */
uint8_t vtd_pasid_entry_fault(const struct vtd *vtd, const uint64_t q[8], unsigned pgtt);

/* SPT.4 beyond the PGTT: AW (second-stage and pass-through types) and FLPM. */
static inline bool vtd_pasid_programming_ok(const struct vtd *vtd, unsigned pgtt, uint64_t q0,
					    uint64_t q2)
{
	unsigned aw = (unsigned)VTD_GET(q0, VTD_PE_Q0_AW);
	unsigned flpm = (unsigned)VTD_GET(q2, VTD_PE_Q2_FLPM);

	if (pgtt != VTD_PGTT_FS && (aw > 3 || !(vtd->cfg.sagaw & (1u << aw))))
		return false;
	return !vtd_pgtt_uses_fs(pgtt) || flpm == VTD_FLPM_4LEVEL ||
	       (flpm == VTD_FLPM_5LEVEL && vtd->cfg.fs_5level);
}

static inline __attribute__((always_inline)) uint8_t vtd_pasid_lookup(struct vtd *vtd,
								      const struct vtd_ctx *ctx,
								      uint32_t pasid,
								      struct vtd_pe *pe, bool *fpd)
{
	uint64_t de, q[8];
	unsigned pgtt, aw;
	bool dfpd;

	/* 3.3: PASID[19:6] indexes the directory (bounded by PDTS, checked by the caller as
	 * SCT.7 / SCT.9), PASID[5:0] the 64-entry table. FPD of both entries counts even in
	 * a not-present entry (2.5 step 7): it goes to *fpd on a fault, into pe->flags on
	 * success. */
	if (vtd_fetch(vtd, ctx->ptr + (uint64_t)(pasid >> VTD_PASID_DIR_SHIFT) * 8, 1, &de))
		return VTD_FR_SPD_1;
	dfpd = de & VTD_PDE_FPD;
	if (VTD_UNLIKELY(!(de & VTD_PDE_P) || (de & (VTD_PDE_RSVD | vtd->ptr_rsvd)))) {
		*fpd |= dfpd;
		return (de & VTD_PDE_P) ? VTD_FR_SPD_3 : VTD_FR_SPD_2;
	}
	if (vtd_fetch(vtd, (de & VTD_PDE_SMPTBLPTR_MASK) + (pasid & VTD_PASID_TBL_MASK) * 64, 8,
		      q)) {
		*fpd |= dfpd;
		return VTD_FR_SPT_1;
	}
	pgtt = (unsigned)VTD_GET(q[0], VTD_PE_Q0_PGTT);
	const uint64_t *r = vtd->pe_rsvd[pgtt];
	if (VTD_UNLIKELY(!(q[0] & VTD_PE_Q0_P) ||
			 ((q[0] & r[0]) | (q[1] & r[1]) | (q[2] & r[2]) | q[3] | q[4] | q[5] |
			  q[6] | q[7]) ||
			 !(vtd->pgtt_ok & (1u << pgtt)) ||
			 !vtd_pasid_programming_ok(vtd, pgtt, q[0], q[2]))) {
		*fpd |= dfpd || (q[0] & VTD_PE_Q0_FPD);
		if (!(q[0] & VTD_PE_Q0_P))
			return VTD_FR_SPT_2;
		return vtd_pasid_entry_fault(vtd, q, pgtt);
	}
	aw = (unsigned)VTD_GET(q[0], VTD_PE_Q0_AW);
	pe->pgtt = (uint8_t)pgtt;
	pe->slptptr = q[0] & VTD_PE_Q0_SLPTPTR_MASK;
	pe->flptptr = q[2] & VTD_PE_Q2_FLPTPTR_MASK;
	/* Domain-id bits beyond CAP.ND are not implemented: hardware ignores them. */
	pe->did = (uint16_t)(VTD_GET(q[1], VTD_PE_Q1_DID) & vtd->did_mask);
	pe->ss_levels = (uint8_t)(aw + 2);
	pe->ss_width = vtd_ss_width(vtd, aw);
	pe->fs_levels = (q[2] & VTD_PE_Q2_FLPM_MASK) ? 5 : 4;
	pe->flags =
	    (uint32_t)(q[0] & 0xfff) | (uint32_t)(q[2] & 0xff) << 16 | (dfpd ? VTD_PE_FPD : 0);
	return 0;
}

#endif
