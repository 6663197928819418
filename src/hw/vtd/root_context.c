// SPDX-License-Identifier: MIT
/*
 * Root and context entries (digest 2.1-2.4): fetch, present and reserved-bit checks,
 * and the checks of the context entry's own programming.
 *
 * FPD is evaluated whether or not the context entry is present (2.5 step 7), so it is
 * returned even when the lookup fails at the context entry.
 */
#include "root_context.h"

/* Legacy mode: 16-byte root entries by bus, 16-byte context entries by devfn. */
uint8_t vtd_legacy_context(struct vtd *vtd, uint64_t root, uint16_t sid, struct vtd_ctx *ctx,
			   bool *fpd)
{
	const struct vtd_config *c = &vtd->cfg;
	uint64_t re[2], ce[2];
	unsigned tt, aw;

	if (vtd_fetch(vtd, (root & VTD_ROOT_RTA_MASK) + PCI_RID_BUS(sid) * 16, 2, re))
		return VTD_FR_LRT_1;
	if (!(re[0] & VTD_RE_Q0_P))
		return VTD_FR_LRT_2;
	if ((re[0] & (VTD_RE_Q0_RSVD | vtd->ptr_rsvd)) || re[1])
		return VTD_FR_LRT_3;
	if (vtd_fetch(vtd, (re[0] & VTD_RE_Q0_CTP_MASK) + PCI_RID_DEVFN(sid) * 16, 2, ce))
		return VTD_FR_LCT_1;
	*fpd = ce[0] & VTD_CE_Q0_FPD;
	if (!(ce[0] & VTD_CE_Q0_P))
		return VTD_FR_LCT_2;
	if ((ce[0] & (VTD_CE_Q0_RSVD | vtd->ptr_rsvd)) || (ce[1] & VTD_CE_Q1_RSVD))
		return VTD_FR_LCT_3;
	/* LCT.4: TT must be a value this unit supports, AW one of CAP.SAGAW (also for
	 * pass-through, 2.3). */
	tt = (unsigned)VTD_GET(ce[0], VTD_CE_Q0_TT);
	aw = (unsigned)VTD_GET(ce[1], VTD_CE_Q1_AW);
	if (tt == VTD_TT_RSVD || (tt == VTD_TT_ALL && !c->dev_tlb) ||
	    (tt == VTD_TT_PASS_THROUGH && !c->pass_through))
		return VTD_FR_LCT_4;
	if (aw > 3 || !(c->sagaw & (1u << aw)))
		return VTD_FR_LCT_4;
	ctx->ptr = ce[0] & VTD_CE_Q0_SLPTPTR_MASK;
	/* Domain-id bits beyond CAP.ND are not implemented: hardware ignores them. */
	ctx->did = (uint16_t)(VTD_GET(ce[1], VTD_CE_Q1_DID) & vtd->did_mask);
	ctx->tt = (uint8_t)tt;
	ctx->aw = (uint8_t)aw;
	ctx->pdts = 0;
	ctx->rid_pasid = 0;
	ctx->flags = (*fpd ? VTD_CTX_FPD : 0) | (tt == VTD_TT_ALL ? VTD_CTX_DTE : 0);
	return 0;
}

/*
 * Scalable-mode context-entry bits that are reserved on this unit: the fixed reserved
 * fields, pointer bits at or above HAW, and the enables of features it lacks (DTE without
 * ECAP.DT, PASIDE without ECAP.PASID, PRE without ECAP.PRS, RID_PASID without ECAP.RPS,
 * RID_PRIV without ECAP.RPRIVS).
 */
void vtd_context_init(struct vtd *vtd)
{
	const struct vtd_config *c = &vtd->cfg;
	uint64_t *rsvd = vtd->sm_ctx_rsvd;

	rsvd[0] = VTD_SCE_Q0_RSVD | vtd->ptr_rsvd | VTD_SCE_Q0_PRE;
	rsvd[0] |= c->dev_tlb ? 0 : VTD_SCE_Q0_DTE;
	rsvd[0] |= c->pasid_bits ? 0 : VTD_SCE_Q0_PASIDE;
	rsvd[1] = VTD_SCE_Q1_RSVD;
	rsvd[1] |= c->rid_pasid ? 0 : VTD_SCE_Q1_RID_PASID_MASK;
	rsvd[1] |= c->rid_priv ? 0 : VTD_SCE_Q1_RID_PRIV;
}
