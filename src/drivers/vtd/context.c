// SPDX-License-Identifier: MIT
/*
 * Root and context tables (digest 2.1-2.4): the root table latched with SRTP, context
 * tables allocated per bus (per half-bus in scalable mode) on first use, scalable-mode
 * context entries (one per device, pointing at its PASID directory) and legacy context
 * entries (the RID's domain itself: second-stage table or pass-through).
 *
 * A present context entry is never rewritten: it is cleared, the caches that may hold it
 * are invalidated, and only then is a new one written (design.md rule 6, and the spec's
 * guidance quoted in the digest's 5.2).
 */
#include "intel.h"

/*
 * A store that publishes what was written before it (a Present bit): a release store where
 * memory is directly mapped, so a walker in another thread that sees it sees the rest.
 */
int intel_publish64(struct mem *m, uint64_t pa, uint64_t val)
{
	uint64_t *p = (pa & 7) ? NULL : mem_ptr(m, pa, 8);

	if (!p)
		return mem_write64(m, pa, val);
	__atomic_store_n(p, val, __ATOMIC_RELEASE);
	return 0;
}

int intel_write_entry(struct mem *m, uint64_t pa, const uint64_t *q, unsigned n)
{
	int ret = 0;

	for (unsigned i = 1; i < n && !ret; i++)
		ret = mem_write64(m, pa + 8 * i, q[i]);
	/* Everything else is in memory before the hardware can see Present. */
	return ret ? ret : intel_publish64(m, pa, q[0]);
}

static int zero_entry(struct mem *m, uint64_t pa, unsigned n)
{
	int ret = 0;

	for (unsigned i = 0; i < n && !ret; i++)
		ret = mem_write64(m, pa + 8 * i, 0);
	return ret;
}

/* 1.5: an empty root table, latched with SRTP (TTM 01 in scalable mode). */
int intel_root_init(struct intel_iommu *unit)
{
	uint64_t rtaddr;
	int ret = intel_alloc_pages(unit, 0, &unit->root);

	if (ret)
		return ret;
	rtaddr = unit->root | (unit->scalable ? VTD_SET(VTD_RTADDR_TTM, VTD_TTM_SCALABLE) : 0);
	ret = intel_reg_write(unit, VTD_REG_RTADDR, 8, rtaddr);
	if (!ret)
		ret = intel_gcmd_oneshot(unit, (uint32_t)VTD_GCMD_SRTP, (uint32_t)VTD_GSTS_RTPS,
					 true);
	if (ret) {
		mem_free_page(unit->alloc, unit->root);
		unit->root = 0;
	}
	return ret;
}

void intel_root_free(struct intel_iommu *unit)
{
	for (unsigned i = 0; i < 512; i++) {
		if (unit->ctx_tables[i])
			mem_free_page(unit->alloc, unit->ctx_tables[i]);
		unit->ctx_tables[i] = 0;
	}
	if (unit->root)
		mem_free_page(unit->alloc, unit->root);
	unit->root = 0;
}

/*
 * The context entry of `sid`. With `alloc`, its context table is allocated and the root
 * entry (or its half, 2.2) made present on first use; without, -ENOENT if there is none. The root
 * entry needs no invalidation of its own: it was not present, and the context-entry set-up that
 * follows invalidates what caching mode requires.
 */
int intel_context_table(struct intel_iommu *unit, uint16_t sid, bool alloc, uint64_t *ctx_pa)
{
	unsigned bus = PCI_RID_BUS(sid), devfn = PCI_RID_DEVFN(sid);
	unsigned half = unit->scalable ? devfn >> 7 : 0, idx = bus * 2 + half;
	uint64_t table;
	int ret = 0;

	pthread_mutex_lock(&unit->ctx_lock);
	table = unit->ctx_tables[idx];
	if (!table && !alloc)
		ret = -ENOENT;
	else if (!table) {
		ret = intel_alloc_pages(unit, 0, &table);
		if (!ret) {
			/* LP and UP sit at bit 0 of their quad-words, like the legacy P. */
			ret = intel_publish64(unit->mem,
					      unit->root + bus * VTD_ROOT_ENTRY_SIZE + 8 * half,
					      table | VTD_RE_Q0_P);
			if (ret)
				mem_free_page(unit->alloc, table);
			else
				unit->ctx_tables[idx] = table;
		}
	}
	pthread_mutex_unlock(&unit->ctx_lock);
	if (ret)
		return ret;
	if (unit->scalable)
		*ctx_pa = table + (devfn & 0x7f) * VTD_SM_CTX_ENTRY_SIZE;
	else
		*ctx_pa = table + devfn * VTD_CTX_ENTRY_SIZE;
	return 0;
}

/*
 * After a not-present context entry became present: with CAP.CM the unit may have cached
 * the not-present entry (tagged with domain ID 0), so it is invalidated device-selectively
 * (with the IOTLB of the new domain ID in legacy mode, as Linux); otherwise a write-buffer
 * flush when CAP.RWBF.
 */
static void context_present_flush(struct intel_dev *idev, bool legacy, uint16_t did)
{
	struct intel_iommu *unit = idev->unit;
	struct intel_batch b;

	if (!unit->cm) {
		intel_flush_write_buffer(unit);
		return;
	}
	intel_batch_init(&b, unit);
	intel_batch_add(&b, intel_desc_cc_device(INTEL_DID_CM, idev->sid));
	if (legacy)
		intel_batch_add(&b, intel_desc_iotlb_dsi(unit, did));
	intel_batch_flush(&b);
}

/* ---- scalable mode (2.4) ----------------------------------------------------------------- */

/*
 * The device's scalable-mode context entry: its PASID directory (PDTS), DTE when it uses
 * ATS, PASIDE when it uses PASIDs, RID_PASID 0 (requests without PASID use the PASID-0
 * entry, as Linux programs it), no page requests. Written once per probe: it does not
 * depend on any domain.
 */
int intel_sm_context_setup(struct intel_dev *idev)
{
	struct intel_iommu *unit = idev->unit;
	uint64_t pa, q[4] = {0}, cur = 0;
	int ret;

	if (idev->ctx_present)
		return 0;
	ret = intel_pasid_dir_alloc(idev);
	if (!ret)
		ret = intel_context_table(unit, idev->sid, true, &pa);
	if (ret)
		return ret;
	/* A present entry from an earlier user of this unit is torn down first. */
	ret = mem_read64(unit->mem, pa, &cur);
	if (!ret && (cur & VTD_SCE_Q0_P)) {
		idev->ctx_present = true;
		intel_sm_context_clear(idev);
	}
	q[0] = VTD_SCE_Q0_P | VTD_SET(VTD_SCE_Q0_PDTS, idev->pdts) | idev->pasid_dir |
	       (idev->ats && !intel_sid_gone(unit, idev->sid) ? VTD_SCE_Q0_DTE : 0) |
	       (idev->pasid ? VTD_SCE_Q0_PASIDE : 0);
	q[1] = VTD_SET(VTD_SCE_Q1_RID_PASID, IOMMU_NO_PASID);
	if (!ret)
		ret = intel_write_entry(unit->mem, pa, q, 4);
	if (ret)
		return ret;
	idev->ctx_present = true;
	context_present_flush(idev, false, 0);
	return 0;
}

/*
 * Take the context entry away (device release). Every PASID entry is already torn down;
 * the spec's guidance after a scalable context-entry change (digest 5.2) is still
 * followed: device-selective context cache, then PASID cache and IOTLB (globally, since
 * the entry names no domain), then the device TLB.
 */
void intel_sm_context_clear(struct intel_dev *idev)
{
	struct intel_iommu *unit = idev->unit;
	struct intel_batch b;
	uint64_t pa, q0 = 0;

	if (!idev->ctx_present || intel_context_table(unit, idev->sid, false, &pa))
		return;
	idev->ctx_present = false;
	if (mem_read64(unit->mem, pa, &q0) || !(q0 & VTD_SCE_Q0_P)) {
		zero_entry(unit->mem, pa, 4);
		return;
	}
	mem_write64(unit->mem, pa, q0 & ~VTD_SCE_Q0_P);
	intel_batch_init(&b, unit);
	intel_batch_add(&b, intel_desc_cc_device(0, idev->sid));
	intel_batch_add(&b, intel_desc_pc_global());
	intel_batch_add(&b, intel_desc_iotlb_global(unit));
	if (idev->ats && !intel_sid_gone(unit, idev->sid))
		intel_batch_add(&b, intel_desc_devtlb(unit, idev->sid, 0, INTEL_DEVTLB_ALL_ORDER));
	intel_batch_flush(&b);
	zero_entry(unit->mem, pa, 4);
}

/*
 * Revoke ATS for a device whose device TLB is no longer invalidated (qi.c, after an ITE):
 * DTE cleared in its scalable context entry, TT 01 turned into TT 00 in a legacy one, so
 * that the unit refuses its translation and translated requests (SCT.5; legacy TT 00)
 * and nothing its device TLB still holds can be used. This is the one change made to a
 * present context entry in place - a single bit, with a compare-and-swap, as Linux clears
 * PRE (intel_context_flush_present) - followed by the spec's guidance for a changed entry
 * (digest 5.2): device-selective context cache, then PASID cache and IOTLB (legacy: the
 * entry's domain). The entry is written anew, with ATS, only when the device is probed
 * again. Returns the descriptors to send in `out` (up to 3); 0 when there is nothing to
 * revoke (no entry, not present, no ATS).
 */
unsigned intel_context_revoke_ats(struct intel_iommu *unit, uint16_t sid, struct intel_desc *out)
{
	uint64_t pa, q0 = 0, q1 = 0, nq0;
	int ret;

	if (intel_context_table(unit, sid, false, &pa) || mem_read64(unit->mem, pa, &q0))
		return 0;
	do {
		if (unit->scalable) {
			if (!(q0 & VTD_SCE_Q0_P) || !(q0 & VTD_SCE_Q0_DTE))
				return 0;
			nq0 = q0 & ~VTD_SCE_Q0_DTE;
		} else {
			if (!(q0 & VTD_CE_Q0_P) || VTD_GET(q0, VTD_CE_Q0_TT) != VTD_TT_ALL)
				return 0;
			nq0 =
			    (q0 & ~VTD_CE_Q0_TT_MASK) | VTD_SET(VTD_CE_Q0_TT, VTD_TT_UNTRANSLATED);
		}
		ret = mem_cmpxchg64(unit->mem, pa, &q0, nq0);
	} while (ret == -EAGAIN);
	if (ret)
		return 0;
	if (unit->scalable) {
		out[0] = intel_desc_cc_device(0, sid);
		out[1] = intel_desc_pc_global();
		out[2] = intel_desc_iotlb_global(unit);
		return 3;
	}
	if (mem_read64(unit->mem, pa + 8, &q1))
		return 0;
	out[0] = intel_desc_cc_device((uint16_t)VTD_GET(q1, VTD_CE_Q1_DID), sid);
	out[1] = intel_desc_iotlb_dsi(unit, (uint16_t)VTD_GET(q1, VTD_CE_Q1_DID));
	return 2;
}

/* ---- legacy mode (2.3) -------------------------------------------------------------------- */

/*
 * Tear a legacy context entry down: clear Present, invalidate the context cache for the
 * device, the IOTLB of its domain ID and the device TLB (TT 01 only), then zero it.
 */
void intel_legacy_context_teardown(struct intel_dev *idev)
{
	struct intel_iommu *unit = idev->unit;
	struct intel_batch b;
	uint64_t pa, q[2] = {0};
	uint16_t did;

	if (intel_context_table(unit, idev->sid, false, &pa) || mem_read64(unit->mem, pa, &q[0]) ||
	    mem_read64(unit->mem, pa + 8, &q[1]))
		return;
	if (!(q[0] & VTD_CE_Q0_P)) {
		zero_entry(unit->mem, pa, 2);
		return;
	}
	did = (uint16_t)VTD_GET(q[1], VTD_CE_Q1_DID);
	mem_write64(unit->mem, pa, q[0] & ~VTD_CE_Q0_P);
	intel_batch_init(&b, unit);
	intel_batch_add(&b, intel_desc_cc_device(did, idev->sid));
	intel_batch_add(&b, intel_desc_iotlb_dsi(unit, did));
	if (VTD_GET(q[0], VTD_CE_Q0_TT) == VTD_TT_ALL && !intel_sid_gone(unit, idev->sid))
		intel_batch_add(&b, intel_desc_devtlb(unit, idev->sid, 0, INTEL_DEVTLB_ALL_ORDER));
	intel_batch_flush(&b);
	zero_entry(unit->mem, pa, 2);
	idev->ctx_present = false;
}

/*
 * Point the RID at a second-stage table (`tt` 00 or 01) or pass-through (10, no table).
 * The caller made every allocation first; a present entry is torn down before the new one
 * is written, so this only fails when memory itself refuses the writes.
 */
int intel_legacy_context_set(struct intel_dev *idev, uint64_t ss_root, unsigned aw, uint16_t did,
			     unsigned tt)
{
	struct intel_iommu *unit = idev->unit;
	uint64_t pa, q[2];
	int ret = intel_context_table(unit, idev->sid, true, &pa);

	if (ret)
		return ret;
	intel_legacy_context_teardown(idev);
	q[0] = VTD_CE_Q0_P | VTD_SET(VTD_CE_Q0_TT, tt) |
	       (tt == VTD_TT_PASS_THROUGH ? 0 : (ss_root & VTD_CE_Q0_SLPTPTR_MASK));
	q[1] = VTD_SET(VTD_CE_Q1_AW, aw) | VTD_SET(VTD_CE_Q1_DID, did);
	ret = intel_write_entry(unit->mem, pa, q, 2);
	if (ret)
		return ret;
	idev->ctx_present = true;
	context_present_flush(idev, true, did);
	return 0;
}
