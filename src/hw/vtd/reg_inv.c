// SPDX-License-Identifier: MIT
/*
 * Register-based invalidation (digest 1.6): CCMD_REG for the context cache, IOTLB_REG with
 * IVA_REG for the IOTLB and the paging-structure caches.
 *
 * A command runs when the high dword of its register is written with the busy bit (ICC,
 * IVT) set - a 64-bit write writes the low half first, so the whole command is in place.
 * It completes inside that write: the caches drop their entries (cache_inv.h), the busy
 * bit clears and the actual granularity is reported (CAIG, IAIG).
 *
 * With DR or DW (CAP.DRD / CAP.DWD), IVT clears only once the requests translated before
 * the command are done (drain.c): the register lock is released while the unit waits for
 * them - a translation takes it to record a fault - and IVA_REG and IOTLB_REG ignore writes
 * meanwhile (IVT is still set; software waits for it to clear before the next command).
 *
 * Register-based invalidation is the legacy interface; software must not use it while
 * queued invalidation is enabled. The digest is unsure whether hardware ignores or faults
 * such a command; the model does not perform it and completes it with granularity 00
 * ("not performed"), as QEMU ignores it, so a driver polling the busy bit does not hang.
 */
#include "cache_inv.h"
#include "drain.h"

#define DW(off) ((off) / 4)

static bool qi_enabled(const struct vtd *vtd)
{
	return vtd->regs[DW(VTD_REG_GSTS)] & VTD_GSTS_QIES;
}

static void trace_reg(struct vtd *vtd, uint8_t type, const struct vtd_trace_event *ev)
{
	struct vtd_trace_event e = *ev;

	e.kind = VTD_TRACE_INV;
	e.inv.type = type;
	e.inv.offset = type == VTD_INV_CC ? VTD_REG_CCMD : vtd->cfg.iro * 16 + VTD_REG_IOTLB_OFF;
	vtd_trace(vtd, &e);
}

/* Carry out a context-cache command; returns the granularity performed (CAIG). */
static unsigned ccmd_run(struct vtd *vtd, uint64_t v, struct vtd_trace_event *ev)
{
	uint16_t did = (uint16_t)(VTD_GET(v, VTD_CCMD_DID) & vtd->did_mask);
	uint16_t sid = (uint16_t)VTD_GET(v, VTD_CCMD_SID);
	unsigned fm = (unsigned)VTD_GET(v, VTD_CCMD_FM);
	struct vtd_inv_stats *st = &vtd->inv_stats;

	ev->inv.did = did;
	switch (VTD_GET(v, VTD_CCMD_CIRG)) {
	case VTD_CCMD_GRAN_GLOBAL:
		vtd_cc_inv_global(vtd);
		st->reg_cc_global++;
		ev->inv.gran = VTD_INV_GRAN_GLOBAL;
		return VTD_CCMD_GRAN_GLOBAL;
	case VTD_CCMD_GRAN_DOMAIN:
		vtd_cc_inv_domain(vtd, did);
		st->reg_cc_domain++;
		ev->inv.gran = VTD_INV_GRAN_DOMAIN;
		return VTD_CCMD_GRAN_DOMAIN;
	case VTD_CCMD_GRAN_DEVICE:
		vtd_cc_inv_device(vtd, did, sid, fm);
		st->reg_cc_device++;
		ev->inv.gran = VTD_INV_GRAN_DEVICE;
		ev->inv.sid = sid;
		ev->inv.fm = (uint8_t)fm;
		return VTD_CCMD_GRAN_DEVICE;
	default: /* CIRG 00 is reserved: nothing is done */
		return VTD_CCMD_GRAN_NONE;
	}
}

void vtd_ccmd_written(struct vtd *vtd)
{
	uint64_t v = vtd_reg64(vtd, VTD_REG_CCMD);
	struct vtd_trace_event ev = {.kind = VTD_TRACE_INV};
	unsigned caig;

	if (!(v & VTD_CCMD_ICC))
		return;
	if (qi_enabled(vtd)) {
		vtd->inv_stats.reg_ignored++;
		ev.inv.result = VTD_INV_RES_IGNORED;
		caig = VTD_CCMD_GRAN_NONE;
	} else {
		caig = ccmd_run(vtd, v, &ev);
		ev.inv.result = caig ? VTD_INV_RES_DONE : VTD_INV_RES_IGNORED;
	}
	v &= ~(VTD_CCMD_ICC | VTD_CCMD_CAIG_MASK);
	vtd_set_reg64(vtd, VTD_REG_CCMD, v | VTD_SET(VTD_CCMD_CAIG, caig));
	trace_reg(vtd, VTD_INV_CC, &ev);
}

/* The page-selective request of IVA_REG, or domain-selective if this unit cannot do it. */
static unsigned iotlb_page(struct vtd *vtd, uint16_t did, struct vtd_trace_event *ev)
{
	uint64_t iva = vtd_reg64(vtd, vtd->cfg.iro * 16 + VTD_REG_IVA_OFF);
	unsigned am = (unsigned)VTD_GET(iva, VTD_IVA_AM);
	bool ih = iva & VTD_IVA_IH;
	struct vtd_inv_range r;

	/* 1.6: hardware may invalidate more than asked and reports what it did. Without PSI,
	 * or for a mask beyond MAMV, the whole domain goes. */
	if (!vtd->cfg.psi || am > vtd->cfg.mamv) {
		vtd_iotlb_inv_domain(vtd, did);
		vtd->inv_stats.reg_iotlb_domain++;
		ev->inv.gran = VTD_INV_GRAN_DOMAIN;
		return VTD_IOTLB_GRAN_DOMAIN;
	}
	r = vtd_inv_range(iva & VTD_IVA_ADDR_MASK, am);
	vtd_iotlb_inv_page(vtd, did, &r, ih);
	vtd->inv_stats.reg_iotlb_page++;
	ev->inv.gran = VTD_INV_GRAN_PAGE;
	ev->inv.addr = r.base;
	ev->inv.size = r.last - r.base + 1;
	ev->inv.ih = ih;
	return VTD_IOTLB_GRAN_PAGE;
}

/* Carry out an IOTLB command; returns the granularity performed (IAIG). */
static unsigned iotlb_run(struct vtd *vtd, uint64_t v, struct vtd_trace_event *ev)
{
	uint16_t did = (uint16_t)(VTD_GET(v, VTD_IOTLB_DID) & vtd->did_mask);

	ev->inv.did = did;
	switch (VTD_GET(v, VTD_IOTLB_IIRG)) {
	case VTD_IOTLB_GRAN_GLOBAL:
		vtd_iotlb_inv_global(vtd);
		vtd->inv_stats.reg_iotlb_global++;
		ev->inv.gran = VTD_INV_GRAN_GLOBAL;
		return VTD_IOTLB_GRAN_GLOBAL;
	case VTD_IOTLB_GRAN_DOMAIN:
		vtd_iotlb_inv_domain(vtd, did);
		vtd->inv_stats.reg_iotlb_domain++;
		ev->inv.gran = VTD_INV_GRAN_DOMAIN;
		return VTD_IOTLB_GRAN_DOMAIN;
	case VTD_IOTLB_GRAN_PAGE:
		return iotlb_page(vtd, did, ev);
	default: /* IIRG 00 is reserved: nothing is done */
		return VTD_IOTLB_GRAN_NONE;
	}
}

/* 1.6 DR / DW: wait for the requests translated before the command, with the lock released
 * and the IOTLB registers busy. False if the unit was reset meanwhile. */
static bool reg_drain(struct vtd *vtd)
{
	uint64_t gen = ++vtd->reg_gen;
	int r;

	vtd->reg_draining = true;
	pthread_mutex_unlock(&vtd->lock);
	r = vtd_drain_wait(vtd);
	pthread_mutex_lock(&vtd->lock);
	vtd->inv_stats.drains++;
	if (r)
		vtd->inv_stats.drain_timeouts++;
	if (vtd->reg_gen != gen)
		return false;
	vtd->reg_draining = false;
	return true;
}

void vtd_iotlb_reg_written(struct vtd *vtd, unsigned off)
{
	uint64_t v = vtd_reg64(vtd, off);
	struct vtd_trace_event ev = {.kind = VTD_TRACE_INV};
	unsigned iaig;

	if (!(v & VTD_IOTLB_IVT))
		return;
	if (qi_enabled(vtd)) {
		vtd->inv_stats.reg_ignored++;
		ev.inv.result = VTD_INV_RES_IGNORED;
		iaig = VTD_IOTLB_GRAN_NONE;
	} else {
		iaig = iotlb_run(vtd, v, &ev);
		ev.inv.result = iaig ? VTD_INV_RES_DONE : VTD_INV_RES_IGNORED;
		/* DR / DW are writable only with CAP.DRD / CAP.DWD (regs.c). */
		if (iaig && (v & (VTD_IOTLB_DR | VTD_IOTLB_DW)) && !reg_drain(vtd))
			return; /* a reset came while it waited: the register is new */
	}
	v &= ~(VTD_IOTLB_IVT | VTD_IOTLB_IAIG_MASK);
	vtd_set_reg64(vtd, off, v | VTD_SET(VTD_IOTLB_IAIG, iaig));
	trace_reg(vtd, VTD_INV_IOTLB, &ev);
}
