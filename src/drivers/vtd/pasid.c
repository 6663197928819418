// SPDX-License-Identifier: MIT
/*
 * PASID directory and PASID tables (digest 3.1-3.3): per device, the directory sized for
 * the device's PASIDs and allocated at its first attach, the 64-entry tables allocated
 * when a PASID in their range is first set up; PASID-table entries for first-stage,
 * second-stage and pass-through translation, and their tear-down.
 *
 * Entry life cycle (design.md rule 6; Linux's intel_pasid_tear_down_entry, including the
 * "clear Present first" order of 75ed00055c05):
 *   set-up:    the entry is zero; every field but Q0 is written, then Q0 with Present;
 *              with CAP.CM the unit may have cached the not-present entry, so the PASID
 *              cache and the IOTLB for (DID, PASID) are invalidated; otherwise the write
 *              buffer is flushed (CAP.RWBF).
 *   tear-down: Present is cleared (nothing else), then the PASID cache for (DID, PASID),
 *              the IOTLB (PASID-selective for first-stage and pass-through entries, which
 *              the PASID-based descriptor covers, domain-selective for second-stage ones,
 *              which it does not - digest 5.7), the device TLB for the whole range (the
 *              no-PASID form for PASID 0, skipped without ATS or for a device gone), and
 *              only then is the entry zeroed.
 * Linux also skips the device TLB under caching mode (a guest's vIOMMU keeps its own);
 * here the model's device TLBs are real, so it is invalidated in every mode.
 */
#include <stdlib.h>

#include "intel.h"

static unsigned ilog2_u32(uint32_t v)
{
	return 31u - (unsigned)__builtin_clz(v);
}

/*
 * 2.4, 3.3: the directory holds 2^(PDTS + 7) 8-byte entries, each for 64 PASIDs. It is
 * sized for the PASIDs the device may use (PASID 0 only without PASID support), which also
 * makes the unit refuse larger PASIDs (SCT.7).
 */
int intel_pasid_dir_alloc(struct intel_dev *idev)
{
	uint32_t max = idev->pasid ? idev->dev->max_pasids : 1;
	uint32_t entries = (max + 63) / 64, bytes;
	unsigned order;
	int ret;

	if (idev->pasid_dir)
		return 0;
	if (entries < 128)
		entries = 128;
	entries = 1u << (ilog2_u32(entries - 1) + 1); /* a power of two, >= 128 */
	if (entries > 16384)
		entries = 16384; /* 20-bit PASIDs: PDTS 7 */
	bytes = entries * VTD_PASID_DIR_ENTRY_SIZE;
	order = bytes <= INTEL_PAGE_SIZE ? 0 : ilog2_u32(bytes / (uint32_t)INTEL_PAGE_SIZE);
	idev->pasid_tables = calloc(entries, sizeof(uint64_t));
	if (!idev->pasid_tables)
		return -ENOMEM;
	ret = intel_alloc_pages(idev->unit, order, &idev->pasid_dir);
	if (ret) {
		free(idev->pasid_tables);
		idev->pasid_tables = NULL;
		return ret;
	}
	idev->dir_order = order;
	idev->dir_entries = entries;
	idev->pdts = (uint8_t)(ilog2_u32(entries) - 7);
	return 0;
}

void intel_pasid_dir_free(struct intel_dev *idev)
{
	struct intel_iommu *unit = idev->unit;

	if (!idev->pasid_dir)
		return;
	for (uint32_t i = 0; i < idev->dir_entries; i++) {
		if (idev->pasid_tables[i])
			mem_free_page(unit->alloc, idev->pasid_tables[i]);
	}
	mem_free_pages(unit->alloc, idev->pasid_dir, idev->dir_order);
	free(idev->pasid_tables);
	idev->pasid_tables = NULL;
	idev->pasid_dir = 0;
}

/*
 * The address of the PASID-table entry for `pasid`. With `alloc`, a missing table is
 * allocated and its directory entry made present (it was not present, so nothing can have
 * cached it except under caching mode, where the entry's set-up invalidates the PASID
 * cache for this PASID). -ENOENT no table (without `alloc`), -EINVAL beyond the directory,
 * -ENOMEM. Called with the device's attachments serialised by the core.
 */
int intel_pasid_entry(struct intel_dev *idev, uint32_t pasid, bool alloc, uint64_t *pe)
{
	uint32_t di = pasid >> VTD_PASID_DIR_SHIFT;
	uint64_t table;
	int ret;

	if (!idev->pasid_dir || di >= idev->dir_entries)
		return -EINVAL;
	table = idev->pasid_tables[di];
	if (!table) {
		if (!alloc)
			return -ENOENT;
		ret = intel_alloc_pages(idev->unit, 0, &table);
		if (ret)
			return ret;
		ret = intel_publish64(idev->unit->mem, idev->pasid_dir + 8ull * di,
				      table | VTD_PDE_P);
		if (ret) {
			mem_free_page(idev->unit->alloc, table);
			return ret;
		}
		idev->pasid_tables[di] = table;
	}
	*pe = table + (uint64_t)(pasid & VTD_PASID_TBL_MASK) * VTD_PASID_ENTRY_SIZE;
	return 0;
}

/* The widest second-stage width the unit supports: pass-through entries carry it (3.2). */
int intel_unit_pt_aw(const struct intel_iommu *unit)
{
	for (int aw = VTD_AW_57BIT; aw >= VTD_AW_39BIT; aw--) {
		if (unit->sagaw & (1u << aw))
			return aw;
	}
	return VTD_AW_48BIT;
}

/* The flush a new entry needs (see the top of this file). */
static void new_entry_flush(struct intel_dev *idev, uint32_t pasid, uint16_t did, unsigned pgtt)
{
	struct intel_iommu *unit = idev->unit;
	struct intel_batch b;

	if (!unit->cm) {
		intel_flush_write_buffer(unit);
		return;
	}
	intel_batch_init(&b, unit);
	intel_batch_add(&b, intel_desc_pc_pasid(did, pasid));
	if (pgtt == VTD_PGTT_SS)
		intel_batch_add(&b, intel_desc_iotlb_dsi(unit, did));
	else
		intel_batch_add(&b, intel_desc_piotlb_pasid(did, pasid));
	intel_batch_flush(&b);
}

/* Write a complete entry at a zero (torn-down) slot, then flush for it. */
static int write_pasid_entry(struct intel_dev *idev, uint32_t pasid, const uint64_t q[8])
{
	uint64_t pe, cur = 0;
	int ret = intel_pasid_entry(idev, pasid, true, &pe);

	if (ret)
		return ret;
	ret = mem_read64(idev->unit->mem, pe, &cur);
	if (ret)
		return ret;
	if (cur & VTD_PE_Q0_P)
		return -EBUSY; /* the caller tears down first: never rewrite a present entry */
	ret = intel_write_entry(idev->unit->mem, pe, q, 8);
	if (ret)
		return ret;
	new_entry_flush(idev, pasid, (uint16_t)VTD_GET(q[1], VTD_PE_Q1_DID),
			(unsigned)VTD_GET(q[0], VTD_PE_Q0_PGTT));
	return 0;
}

static uint64_t pe_q1(const struct intel_iommu *unit, uint16_t did)
{
	return VTD_SET(VTD_PE_Q1_DID, did) | (unit->pwsnp ? VTD_PE_Q1_PWSNP : 0);
}

/* PGTT 001: FLPTPTR and FLPM from the table's levels; no supervisor or execute requests. */
int intel_pasid_setup_fs(struct intel_dev *idev, uint32_t pasid, struct intel_domain *dom,
			 uint16_t did)
{
	uint64_t q[8] = {0};

	q[0] = VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, VTD_PGTT_FS);
	q[1] = pe_q1(idev->unit, did);
	q[2] = (dom->root & VTD_PE_Q2_FLPTPTR_MASK) |
	       VTD_SET(VTD_PE_Q2_FLPM, dom->levels == 5 ? VTD_FLPM_5LEVEL : VTD_FLPM_4LEVEL);
	return write_pasid_entry(idev, pasid, q);
}

/* PGTT 010: SLPTPTR and AW from the table's levels. */
int intel_pasid_setup_ss(struct intel_dev *idev, uint32_t pasid, struct intel_domain *dom,
			 uint16_t did)
{
	uint64_t q[8] = {0};

	q[0] = VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, VTD_PGTT_SS) | VTD_SET(VTD_PE_Q0_AW, dom->aw) |
	       (dom->root & VTD_PE_Q0_SLPTPTR_MASK);
	q[1] = pe_q1(idev->unit, did);
	return write_pasid_entry(idev, pasid, q);
}

/* PGTT 100 with the shared pass-through domain ID; AW bounds the output (3.2). */
int intel_pasid_setup_pt(struct intel_dev *idev, uint32_t pasid)
{
	uint64_t q[8] = {0};

	q[0] = VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, VTD_PGTT_PT) |
	       VTD_SET(VTD_PE_Q0_AW, intel_unit_pt_aw(idev->unit));
	q[1] = pe_q1(idev->unit, INTEL_DID_PT);
	return write_pasid_entry(idev, pasid, q);
}

/* The invalidations that follow clearing Present (see the top of this file). */
static void teardown_flush(struct intel_dev *idev, uint32_t pasid, uint16_t did, unsigned pgtt)
{
	struct intel_iommu *unit = idev->unit;
	struct intel_batch b;

	intel_batch_init(&b, unit);
	intel_batch_add(&b, intel_desc_pc_pasid(did, pasid));
	if (pgtt == VTD_PGTT_SS || pgtt == VTD_PGTT_NESTED)
		intel_batch_add(&b, intel_desc_iotlb_dsi(unit, did));
	else
		intel_batch_add(&b, intel_desc_piotlb_pasid(did, pasid));
	if (idev->ats && !intel_sid_gone(unit, idev->sid)) {
		if (pasid == IOMMU_NO_PASID)
			intel_batch_add(
			    &b, intel_desc_devtlb(unit, idev->sid, 0, INTEL_DEVTLB_ALL_ORDER));
		else
			intel_batch_add(&b, intel_desc_pdevtlb(unit, idev->sid, pasid, 0,
							       INTEL_DEVTLB_ALL_ORDER));
	}
	intel_batch_flush(&b);
}

/*
 * Tear the entry of `pasid` down (nothing to do if it is not present). Never fails: an
 * invalidation that does not complete is reported by the queue code and the entry is
 * zeroed all the same, since the caller is detaching.
 */
void intel_pasid_teardown(struct intel_dev *idev, uint32_t pasid)
{
	struct mem *m = idev->unit->mem;
	uint64_t pe, q0 = 0, q1 = 0;

	if (intel_pasid_entry(idev, pasid, false, &pe))
		return;
	if (mem_read64(m, pe, &q0) || mem_read64(m, pe + 8, &q1))
		return;
	if (q0 & VTD_PE_Q0_P) {
		mem_write64(m, pe, q0 & ~VTD_PE_Q0_P);
		teardown_flush(idev, pasid, (uint16_t)VTD_GET(q1, VTD_PE_Q1_DID),
			       (unsigned)VTD_GET(q0, VTD_PE_Q0_PGTT));
	}
	for (unsigned i = 0; i < 8; i++)
		mem_write64(m, pe + 8 * i, 0);
}
