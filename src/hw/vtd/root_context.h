/* SPDX-License-Identifier: MIT */
/*
 * Root and context entries (digest 2.1-2.4), the part on every translation: inline, so
 * that the uncached request path is one function (root_context.c has the rest).
 */
#ifndef SOFTIOMMU_HW_VTD_ROOT_CONTEXT_H
#define SOFTIOMMU_HW_VTD_ROOT_CONTEXT_H

#include "vtd_internal.h"

/* Scalable mode: root entry halves by devfn[7], 32-byte context entries by devfn[6:0]. */
static inline __attribute__((always_inline)) uint8_t
vtd_sm_context(struct vtd *vtd, uint64_t root, uint16_t sid, struct vtd_ctx *ctx, bool *fpd)
{
	unsigned devfn = PCI_RID_DEVFN(sid);
	const uint64_t *rsvd = vtd->sm_ctx_rsvd;
	uint64_t ce[4], half;

	/* Only the half for devfn[7] is read: LP/LCTP and UP/UCTP have the same layout. */
	if (vtd_fetch(vtd, (root & VTD_ROOT_RTA_MASK) + PCI_RID_BUS(sid) * 16 + (devfn >> 7) * 8, 1,
		      &half))
		return VTD_FR_SRT_1;
	if (!(half & VTD_SRE_Q0_LP))
		return VTD_FR_SRT_2;
	if (half & (VTD_SRE_Q0_RSVD | vtd->ptr_rsvd))
		return VTD_FR_SRT_3;
	if (vtd_fetch(vtd, (half & VTD_SRE_Q0_LCTP_MASK) + (devfn & 0x7f) * 32, 4, ce))
		return VTD_FR_SCT_1;
	*fpd = ce[0] & VTD_SCE_Q0_FPD;
	if (!(ce[0] & VTD_SCE_Q0_P))
		return VTD_FR_SCT_2;
	if ((ce[0] & rsvd[0]) || (ce[1] & rsvd[1]) || ce[2] || ce[3])
		return VTD_FR_SCT_3;
	ctx->ptr = ce[0] & VTD_SCE_Q0_PASIDDIRPTR_MASK;
	ctx->rid_pasid = (uint32_t)VTD_GET(ce[1], VTD_SCE_Q1_RID_PASID);
	ctx->did = 0;
	ctx->tt = 0;
	ctx->aw = 0;
	ctx->pdts = (uint8_t)VTD_GET(ce[0], VTD_SCE_Q0_PDTS);
	ctx->flags = (*fpd ? VTD_CTX_FPD : 0) | ((ce[0] & VTD_SCE_Q0_DTE) ? VTD_CTX_DTE : 0) |
		     ((ce[0] & VTD_SCE_Q0_PASIDE) ? VTD_CTX_PASIDE : 0) |
		     ((ce[1] & VTD_SCE_Q1_RID_PRIV) ? VTD_CTX_RID_PRIV : 0);
	return 0;
}

static inline __attribute__((always_inline)) uint8_t
vtd_context_lookup(struct vtd *vtd, uint64_t root, bool scalable, uint16_t sid, struct vtd_ctx *ctx,
		   bool *fpd)
{
	*fpd = false;
	return scalable ? vtd_sm_context(vtd, root, sid, ctx, fpd)
			: vtd_legacy_context(vtd, root, sid, ctx, fpd);
}

#endif
