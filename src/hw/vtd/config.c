// SPDX-License-Identifier: MIT
/*
 * The unit's configuration and the CAP_REG / ECAP_REG values that follow from it
 * (digest 1.2, 1.3).
 */
#include "vtd_internal.h"

void vtd_config_default(struct vtd_config *cfg)
{
	*cfg = (struct vtd_config){
	    .version = 0x60,
	    .mgaw = 57,
	    .haw = 46,
	    .sagaw = (1u << VTD_AW_48BIT) | (1u << VTD_AW_57BIT),
	    .scalable = true,
	    .first_stage = true,
	    .second_stage = true,
	    .nested = true,
	    .pass_through = true,
	    .fs_5level = true,
	    .fs_1g = true,
	    .ss_2m = true,
	    .ss_1g = true,
	    .pasid_bits = 20,
	    .dev_tlb = true,
	    .supervisor_requests = true,
	    .ss_ad = true,
	    .queued_invalidation = true,
	    .psi = true,
	    .mamv = 18,
	    .drain_reads = true,
	    .drain_writes = true,
	    .zlr = true,
	    .coherent = true,
	    .sm_pwc = true,
	    .snoop_control = true,
	    .esrtps = true,
	    .nfr = 8,
	    .did_bits = 16,
	    .iro = 0x50,
	    .fro = 0x40,
	    .context_cache = {.sets = 64, .ways = 4},
	    .pasid_cache = {.sets = 64, .ways = 4},
	    .iotlb = {.sets = 256, .ways = 8},
	    .pscache = {.sets = 64, .ways = 4},
	    .drain_timeout_ms = VTD_DRAIN_TIMEOUT_DEFAULT_MS,
	};
}

static bool geom_ok(const struct vtd_cache_geom *g)
{
	/* Sets are indexed by a mask; bound the memory a hostile config can ask for. */
	if (g->sets == 0)
		return true;
	return (g->sets & (g->sets - 1)) == 0 && g->sets <= 65536 && g->ways >= 1 && g->ways <= 64;
}

static unsigned widest_sagaw(unsigned sagaw)
{
	for (int n = 3; n >= 1; n--)
		if (sagaw & (1u << n))
			return 30 + 9 * (unsigned)n;
	return 0;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int vtd_config_validate(const struct vtd_config *c)
{
	if (!c)
		return -EINVAL;
	if (c->version == 0 || c->version > 0xff)
		return -EINVAL;
	if (c->haw < 32 || c->haw > 52 || c->mgaw < 30 || c->mgaw > 57)
		return -EINVAL;
	/* SAGAW: AW values 1..3 (the obsolete 2-level value 0 is not modelled). */
	if ((c->sagaw & ~0xeu) || !c->sagaw || c->mgaw > widest_sagaw(c->sagaw))
		return -EINVAL;
	if (c->pasid_bits > 20 || c->mamv > 63 || c->nfr < 1 || c->nfr > 256)
		return -EINVAL;
	if (c->did_bits < 4 || c->did_bits > 16 || (c->did_bits & 1))
		return -EINVAL;
	/* Scalable mode is only programmable through queued invalidation (1.3: SMTS => QI);
	 * device-TLB invalidations only exist as descriptors. */
	if ((c->scalable || c->dev_tlb) && !c->queued_invalidation)
		return -EINVAL;
	if (c->dev_tlb_throttle && !c->dev_tlb)
		return -EINVAL;
	if (!c->scalable && (c->first_stage || c->second_stage || c->nested || c->pasid_bits ||
			     c->rid_pasid || c->rid_priv))
		return -EINVAL;
	if (c->nested && !(c->first_stage && c->second_stage))
		return -EINVAL;
	if (!c->first_stage && (c->fs_5level || c->fs_1g || c->fs_ea))
		return -EINVAL;
	if (c->ss_ad && !c->second_stage)
		return -EINVAL;
	if (!c->pasid_bits && (c->supervisor_requests || c->execute_requests))
		return -EINVAL;
	if (c->x2apic && !c->intr_remap)
		return -EINVAL;
	if (c->iro > 0x3ff || c->fro > 0x3ff || c->drain_timeout_ms > VTD_DRAIN_TIMEOUT_MAX_MS)
		return -EINVAL;
	/* IVA/IOTLB and the FRCDs sit above the fixed registers (0x000-0x0ef) and apart. */
	uint64_t iva = (uint64_t)c->iro * 16, frcd = (uint64_t)c->fro * 16;
	uint64_t frlen = (uint64_t)c->nfr * VTD_FRCD_SIZE;
	if (iva < 0xf0 || frcd < 0xf0 || ranges_overlap(iva, 16, frcd, frlen))
		return -EINVAL;
	if (!geom_ok(&c->context_cache) || !geom_ok(&c->pasid_cache) || !geom_ok(&c->iotlb) ||
	    !geom_ok(&c->pscache))
		return -EINVAL;
	return 0;
}

uint64_t vtd_config_cap(const struct vtd_config *c)
{
	uint64_t cap = 0;

	cap |= VTD_SET(VTD_CAP_ND, (c->did_bits - 4) / 2);
	cap |= c->rwbf ? VTD_CAP_RWBF : 0;
	cap |= c->caching_mode ? VTD_CAP_CM : 0;
	cap |= VTD_SET(VTD_CAP_SAGAW, c->sagaw);
	cap |= VTD_SET(VTD_CAP_MGAW, c->mgaw - 1);
	cap |= c->zlr ? VTD_CAP_ZLR : 0;
	cap |= VTD_SET(VTD_CAP_FRO, c->fro);
	cap |= c->ss_2m ? VTD_CAP_SLLPS_2M : 0;
	cap |= c->ss_1g ? VTD_CAP_SLLPS_1G : 0;
	cap |= c->psi ? VTD_CAP_PSI : 0;
	cap |= VTD_SET(VTD_CAP_NFR, c->nfr - 1);
	cap |= c->psi ? VTD_SET(VTD_CAP_MAMV, c->mamv) : 0;
	cap |= c->drain_writes ? VTD_CAP_DWD : 0;
	cap |= c->drain_reads ? VTD_CAP_DRD : 0;
	cap |= c->fs_1g ? VTD_CAP_FL1GP : 0;
	cap |= c->fs_5level ? VTD_CAP_FL5LP : 0;
	cap |= c->esrtps ? VTD_CAP_ESRTPS : 0;
	return cap;
}

uint64_t vtd_config_ecap(const struct vtd_config *c)
{
	uint64_t ecap = 0;

	ecap |= c->coherent ? VTD_ECAP_C : 0;
	ecap |= c->queued_invalidation ? VTD_ECAP_QI : 0;
	ecap |= c->dev_tlb ? VTD_ECAP_DT : 0;
	ecap |= c->dev_tlb_throttle ? VTD_ECAP_DIT : 0;
	ecap |= c->intr_remap ? VTD_ECAP_IR | VTD_SET(VTD_ECAP_MHMV, 0xf) : 0;
	ecap |= c->x2apic ? VTD_ECAP_EIM : 0;
	ecap |= c->pass_through ? VTD_ECAP_PT : 0;
	ecap |= c->snoop_control ? VTD_ECAP_SC : 0;
	ecap |= VTD_SET(VTD_ECAP_IRO, c->iro);
	ecap |= c->nested ? VTD_ECAP_NEST : 0;
	ecap |= c->execute_requests ? VTD_ECAP_ERS : 0;
	ecap |= c->supervisor_requests ? VTD_ECAP_SRS : 0;
	ecap |= c->nwfs ? VTD_ECAP_NWFS : 0;
	ecap |= c->fs_ea ? VTD_ECAP_EAFS : 0;
	if (c->pasid_bits)
		ecap |= VTD_ECAP_PASID | VTD_SET(VTD_ECAP_PSS, c->pasid_bits - 1);
	ecap |= c->scalable ? VTD_ECAP_SMTS : 0;
	ecap |= c->ss_ad ? VTD_ECAP_SLADS : 0;
	ecap |= c->second_stage ? VTD_ECAP_SLTS : 0;
	ecap |= c->first_stage ? VTD_ECAP_FLTS : 0;
	ecap |= c->sm_pwc ? VTD_ECAP_SMPWCS : 0;
	ecap |= c->rid_pasid ? VTD_ECAP_RPS : 0;
	ecap |= c->abort_dma ? VTD_ECAP_ADMS : 0;
	ecap |= c->rid_priv ? VTD_ECAP_RPRIVS : 0;
	return ecap;
}
