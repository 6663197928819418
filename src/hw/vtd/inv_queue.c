// SPDX-License-Identifier: MIT
/*
 * Queued invalidation (digest 1.7 and 5.1-5.9): the invalidation queue registers (IQA, IQH,
 * IQT, ICS, IECTL, IQERCD), the processing of every descriptor type, the queue errors
 * (FSTS.IQE with IQERCD.IQEI), device-TLB invalidation time-outs (ITE) and invalid
 * completions (ICE), and the invalidation-wait status write and completion event.
 *
 * Processing model: while GSTS.QIES = 1 and neither FSTS.IQE nor FSTS.ITE is set, hardware
 * fetches descriptors from IQH until IQH == IQT, advancing IQH after each (1.7). The model
 * does this synchronously inside the register write that made it possible, so software
 * sees every descriptor up to the tail carried out when its IQT write returns - which is
 * also when hardware would have completed them as far as software can tell. Everything
 * runs with the register lock held - except a drain: an invalidation wait that follows an
 * IOTLB invalidation with DR / DW or a PASID-based IOTLB invalidation completes only once
 * the requests translated before them are done (drain.c), and the unit waits for those with
 * the lock released (a translation takes it to record a fault). Meanwhile IQH rests at the
 * wait, other writes that would start the queue leave it to the run that is waiting, and
 * the run goes on afterwards with the tail as it is then - or stops, if the queue was
 * disabled, re-programmed or reset meanwhile. A run is bounded by the queue size (at most
 * 32768 descriptors), since the tail is checked to lie inside the queue before it starts,
 * and each drain by the drain time-out.
 *
 * The caches are reached through cache_inv.h; device-TLB invalidations leave the unit for
 * the endpoint's ATS port (vtd_connect_ats).
 */
#include "cache_inv.h"
#include "drain.h"

#define DW(off) ((off) / 4)

/* One run of the queue: the state later descriptors depend on. */
struct qi_run {
	struct vtd_msi *msi;
	bool timed_out; /* a device-TLB invalidation timed out: later waits are aborted */
	bool fenced;	/* an aborted wait had FN: nothing after it is carried out */
	bool drained;	/* a wait drained, with the register lock released */
};

/* Internal: not an IQEI - the run stops, the queue having changed while a wait drained. */
#define QI_STOP 0x100u

/* The descriptor being processed, and its trace event. */
struct qi_desc {
	uint64_t q[4];
	unsigned n; /* quad-words: 2 (128-bit queue) or 4 (256-bit) */
	struct vtd_trace_event ev;
};

static uint32_t *reg(struct vtd *vtd, unsigned off)
{
	return &vtd->regs[DW(off)];
}

/* ---- hooks from regs.c ------------------------------------------------------------------ */

bool vtd_qi_write_blocked(const struct vtd *vtd, unsigned off)
{
	/* IQA is programmed before QI is enabled; the queue in use is not moved. */
	return (off == VTD_REG_IQA || off == VTD_REG_IQA + 4) &&
	       (vtd->regs[DW(VTD_REG_GSTS)] & VTD_GSTS_QIES);
}

void vtd_qi_iqa_written(struct vtd *vtd)
{
	vtd->qi_gen++;
	/* Datasheets: writing IQA_REG resets IQH and IQT to 0. */
	vtd_set_reg64(vtd, VTD_REG_IQH, 0);
	vtd_set_reg64(vtd, VTD_REG_IQT, 0);
}

void vtd_qi_enable_changed(struct vtd *vtd, bool enabled)
{
	vtd->qi_gen++;
	if (enabled) {
		vtd->qi_last_wait = true; /* nothing submitted yet: a clean point to disable */
		return;
	}
	/* 1.4: software disables QI only when IQH == IQT after an invalidation wait. The unit
	 * obeys in any case, so that a stopped queue can be recovered; the rest is lost. */
	if (vtd_reg64(vtd, VTD_REG_IQH) != vtd_reg64(vtd, VTD_REG_IQT) || !vtd->qi_last_wait)
		vtd->inv_stats.unclean_disable++;
	vtd_set_reg64(vtd, VTD_REG_IQH, 0); /* 1.7: QH is cleared when QI is disabled */
}

/* ---- errors and events ----------------------------------------------------------------- */

/* 1.7: IQE stops the queue with IQH at the descriptor; IQERCD.IQEI says why. */
static void queue_error(struct vtd *vtd, unsigned iqei, struct vtd_msi *msi)
{
	uint64_t rec = vtd_reg64(vtd, VTD_REG_IQERCD) & ~VTD_IQERCD_IQEI_MASK;

	vtd_set_reg64(vtd, VTD_REG_IQERCD, rec | VTD_SET(VTD_IQERCD_IQEI, iqei));
	vtd->inv_stats.iqe++;
	vtd_fsts_raise(vtd, (uint32_t)VTD_FSTS_IQE, msi);
}

/* A device-TLB error (ITE or ICE): the source-id is kept for the first one only (1.7). */
static void devtlb_error(struct vtd *vtd, uint32_t fsts_bit, uint64_t sid_mask, unsigned shift,
			 uint16_t sid, struct vtd_msi *msi)
{
	if (!(*reg(vtd, VTD_REG_FSTS) & fsts_bit)) {
		uint64_t rec = vtd_reg64(vtd, VTD_REG_IQERCD) & ~sid_mask;

		vtd_set_reg64(vtd, VTD_REG_IQERCD, rec | ((uint64_t)sid << shift));
	}
	vtd_fsts_raise(vtd, fsts_bit, msi);
}

/*
 * 5.6 IF: set ICS.IWC and raise the invalidation completion event. With IWC already set
 * this is not a new interrupt condition. IECTL.IM holds the message pending (IP) until
 * software unmasks it (regs.c) or clears IWC.
 */
static void wait_interrupt(struct vtd *vtd, struct vtd_msi *msi)
{
	uint32_t *ics = reg(vtd, VTD_REG_ICS), *iectl = reg(vtd, VTD_REG_IECTL);

	if (*ics & VTD_ICS_IWC)
		return;
	*ics |= (uint32_t)VTD_ICS_IWC;
	*iectl |= (uint32_t)VTD_IECTL_IP;
	if (*iectl & VTD_IECTL_IM)
		return;
	*iectl &= ~(uint32_t)VTD_IECTL_IP;
	msi->inv = true;
	msi->inv_data = *reg(vtd, VTD_REG_IEDATA);
	msi->inv_addr = *reg(vtd, VTD_REG_IEADDR) | (uint64_t)*reg(vtd, VTD_REG_IEUADDR) << 32;
}

/* ---- the context cache, IOTLB, PASID cache and IEC descriptors -------------------------- */

static uint16_t get_did(const struct vtd *vtd, uint64_t q0, uint64_t mask, unsigned shift)
{
	/* DID bits beyond CAP.ND are not implemented, as in the tables (2.3, 3.2). */
	return (uint16_t)(((q0 & mask) >> shift) & vtd->did_mask);
}

/* 5.2 context-cache invalidate (type 1). */
static unsigned do_cc(struct vtd *vtd, struct qi_desc *d)
{
	uint64_t q0 = d->q[0];
	uint16_t did = get_did(vtd, q0, VTD_INV_CC_DID_MASK, VTD_INV_CC_DID_SHIFT);
	uint16_t sid = (uint16_t)VTD_GET(q0, VTD_INV_CC_SID);
	unsigned fm = (unsigned)VTD_GET(q0, VTD_INV_CC_FM);
	struct vtd_inv_stats *st = &vtd->inv_stats;

	if ((q0 & VTD_INV_CC_Q0_RSVD) || d->q[1])
		return VTD_IQEI_RSVD;
	d->ev.inv.did = did;
	switch (VTD_GET(q0, VTD_INV_CC_G)) {
	case VTD_CCMD_GRAN_GLOBAL:
		vtd_cc_inv_global(vtd);
		st->cc_global++;
		d->ev.inv.gran = VTD_INV_GRAN_GLOBAL;
		return 0;
	case VTD_CCMD_GRAN_DOMAIN:
		vtd_cc_inv_domain(vtd, did);
		st->cc_domain++;
		d->ev.inv.gran = VTD_INV_GRAN_DOMAIN;
		return 0;
	case VTD_CCMD_GRAN_DEVICE:
		vtd_cc_inv_device(vtd, did, sid, fm);
		st->cc_device++;
		d->ev.inv.gran = VTD_INV_GRAN_DEVICE;
		d->ev.inv.sid = sid;
		d->ev.inv.fm = (uint8_t)fm;
		return 0;
	default:
		return VTD_IQEI_RSVD; /* G = 00 is reserved */
	}
}

static void set_range(struct qi_desc *d, const struct vtd_inv_range *r, bool ih)
{
	d->ev.inv.addr = r->base;
	d->ev.inv.size = r->last - r->base + 1; /* 0: the whole space */
	d->ev.inv.ih = ih;
}

/* 5.3 page-selective within domain. Without PSI the whole domain goes, as for IOTLB_REG. */
static unsigned iotlb_page(struct vtd *vtd, struct qi_desc *d, uint16_t did)
{
	uint64_t q1 = d->q[1];
	unsigned am = (unsigned)VTD_GET(q1, VTD_INV_IOTLB_AM);
	struct vtd_inv_range r;

	if (!vtd->cfg.psi) {
		vtd_iotlb_inv_domain(vtd, did);
		d->ev.inv.gran = VTD_INV_GRAN_DOMAIN;
	} else if (am > vtd->cfg.mamv) {
		return VTD_IQEI_RSVD; /* AM above CAP.MAMV */
	} else {
		r = vtd_inv_range(q1 & VTD_INV_IOTLB_ADDR_MASK, am);
		vtd_iotlb_inv_page(vtd, did, &r, q1 & VTD_INV_IOTLB_IH);
		d->ev.inv.gran = VTD_INV_GRAN_PAGE;
		set_range(d, &r, q1 & VTD_INV_IOTLB_IH);
	}
	vtd->inv_stats.iotlb_page++;
	return 0;
}

/* 5.3 IOTLB invalidate (type 2). DW / DR are accepted when CAP.DWD / DRD say so, and then
 * the next wait drains (drain.c). Q1 only matters for page-selective requests. */
static unsigned do_iotlb(struct vtd *vtd, struct qi_desc *d)
{
	uint64_t q0 = d->q[0];
	uint16_t did = get_did(vtd, q0, VTD_INV_IOTLB_DID_MASK, VTD_INV_IOTLB_DID_SHIFT);

	if ((q0 & VTD_INV_IOTLB_Q0_RSVD) || (d->q[1] & VTD_INV_IOTLB_Q1_RSVD) ||
	    ((q0 & VTD_INV_IOTLB_DW) && !vtd->cfg.drain_writes) ||
	    ((q0 & VTD_INV_IOTLB_DR) && !vtd->cfg.drain_reads))
		return VTD_IQEI_RSVD;
	/* DR = DW = 0: the invalidation may complete without draining, and does. */
	if (q0 & (VTD_INV_IOTLB_DR | VTD_INV_IOTLB_DW))
		vtd->drain_pending = true;
	d->ev.inv.did = did;
	switch (VTD_GET(q0, VTD_INV_IOTLB_G)) {
	case VTD_IOTLB_GRAN_GLOBAL:
		vtd_iotlb_inv_global(vtd);
		vtd->inv_stats.iotlb_global++;
		d->ev.inv.gran = VTD_INV_GRAN_GLOBAL;
		return 0;
	case VTD_IOTLB_GRAN_DOMAIN:
		vtd_iotlb_inv_domain(vtd, did);
		vtd->inv_stats.iotlb_domain++;
		d->ev.inv.gran = VTD_INV_GRAN_DOMAIN;
		return 0;
	case VTD_IOTLB_GRAN_PAGE:
		return iotlb_page(vtd, d, did);
	default:
		return VTD_IQEI_RSVD; /* G = 00 is reserved */
	}
}

/* 5.5 interrupt-entry-cache invalidate (type 4): checked, and handed to the (empty) IEC. */
static unsigned do_iec(struct vtd *vtd, struct qi_desc *d)
{
	uint64_t q0 = d->q[0];
	bool index = q0 & VTD_INV_IEC_G;
	unsigned im = (unsigned)VTD_GET(q0, VTD_INV_IEC_IM);
	uint16_t iidx = (uint16_t)VTD_GET(q0, VTD_INV_IEC_IIDX);

	if ((q0 & VTD_INV_IEC_Q0_RSVD) || d->q[1])
		return VTD_IQEI_RSVD;
	/* ECAP.MHMV bounds the index mask of an index-selective request. */
	if (index && im > VTD_GET(vtd->ecap, VTD_ECAP_MHMV))
		return VTD_IQEI_RSVD;
	vtd_iec_inv(vtd, !index, iidx, im);
	if (index) {
		vtd->inv_stats.iec_index++;
		d->ev.inv.gran = VTD_INV_GRAN_INDEX;
		d->ev.inv.sid = iidx;
		d->ev.inv.fm = (uint8_t)im;
	} else {
		vtd->inv_stats.iec_global++;
		d->ev.inv.gran = VTD_INV_GRAN_GLOBAL;
	}
	return 0;
}

/*
 * 5.7 PASID-based IOTLB invalidate (type 6). G = 00 and 01 are reserved in spec 3.x.
 * AM is not bounded by CAP.MAMV here (that field describes second-stage PSI); a mask
 * beyond the address space covers all of it.
 * The descriptor has no DR / DW fields, and the digest says nothing of draining for it. It
 * is how software invalidates first-stage translations, which a drain-capable unit that
 * did not drain here would leave racing with the page's reuse; draining is never wrong
 * (DR = DW = 0 only allows completing without it), so a unit with CAP.DRD or CAP.DWD drains
 * at the next wait as if both were set.
 */
static unsigned do_piotlb(struct vtd *vtd, struct qi_desc *d)
{
	uint64_t q0 = d->q[0], q1 = d->q[1];
	uint16_t did = get_did(vtd, q0, VTD_INV_PIOTLB_DID_MASK, VTD_INV_PIOTLB_DID_SHIFT);
	uint32_t pasid = (uint32_t)VTD_GET(q0, VTD_INV_PIOTLB_PASID);
	struct vtd_inv_range r;

	if ((q0 & VTD_INV_PIOTLB_Q0_RSVD) || (q1 & VTD_INV_PIOTLB_Q1_RSVD))
		return VTD_IQEI_RSVD;
	if (vtd->cfg.drain_reads || vtd->cfg.drain_writes)
		vtd->drain_pending = true;
	d->ev.inv.did = did;
	d->ev.inv.pasid = pasid;
	switch (VTD_GET(q0, VTD_INV_PIOTLB_G)) {
	case VTD_INV_PIOTLB_G_PASID:
		vtd_piotlb_inv_pasid(vtd, did, pasid);
		vtd->inv_stats.piotlb_pasid++;
		d->ev.inv.gran = VTD_INV_GRAN_PASID;
		return 0;
	case VTD_INV_PIOTLB_G_PAGE:
		r = vtd_inv_range(q1 & VTD_INV_PIOTLB_ADDR_MASK,
				  (unsigned)VTD_GET(q1, VTD_INV_PIOTLB_AM));
		vtd_piotlb_inv_page(vtd, did, pasid, &r, q1 & VTD_INV_PIOTLB_IH);
		vtd->inv_stats.piotlb_page++;
		d->ev.inv.gran = VTD_INV_GRAN_PASID_PAGE;
		set_range(d, &r, q1 & VTD_INV_PIOTLB_IH);
		return 0;
	default:
		return VTD_IQEI_RSVD;
	}
}

/* 5.8 PASID-cache invalidate (type 7). G = 10 is reserved. */
static unsigned do_pc(struct vtd *vtd, struct qi_desc *d)
{
	uint64_t q0 = d->q[0];
	uint16_t did = get_did(vtd, q0, VTD_INV_PC_DID_MASK, VTD_INV_PC_DID_SHIFT);
	uint32_t pasid = (uint32_t)VTD_GET(q0, VTD_INV_PC_PASID);

	if ((q0 & VTD_INV_PC_Q0_RSVD) || d->q[1])
		return VTD_IQEI_RSVD;
	d->ev.inv.did = did;
	switch (VTD_GET(q0, VTD_INV_PC_G)) {
	case VTD_INV_PC_G_DOMAIN:
		vtd_pc_inv_domain(vtd, did);
		vtd->inv_stats.pc_domain++;
		d->ev.inv.gran = VTD_INV_GRAN_DOMAIN;
		return 0;
	case VTD_INV_PC_G_PASID:
		vtd_pc_inv_pasid(vtd, did, pasid);
		vtd->inv_stats.pc_pasid++;
		d->ev.inv.gran = VTD_INV_GRAN_PASID;
		d->ev.inv.pasid = pasid;
		return 0;
	case VTD_INV_PC_G_GLOBAL:
		vtd_pc_inv_global(vtd);
		vtd->inv_stats.pc_global++;
		d->ev.inv.gran = VTD_INV_GRAN_GLOBAL;
		return 0;
	default:
		return VTD_IQEI_RSVD;
	}
}

/* ---- device-TLB invalidations (5.4, 5.9) ------------------------------------------------ */

/*
 * Send one ATS invalidation to the endpoint at inv->rid and handle its answer. No port
 * there (the device is gone) is the same as a port that never answers: a time-out.
 */
static void forward(struct vtd *vtd, struct qi_desc *d, const struct pci_ats_inv *inv,
		    struct qi_run *run)
{
	const struct pci_ats_port *bus = vtd->ats[PCI_RID_BUS(inv->rid)];
	const struct pci_ats_port *port = bus ? &bus[PCI_RID_DEVFN(inv->rid)] : NULL;
	int r = -ETIMEDOUT;

	if (port && port->invalidate)
		r = port->invalidate(port->ctx, inv);
	d->ev.inv.sid = inv->rid;
	d->ev.inv.pasid = inv->pasid;
	d->ev.inv.addr = inv->addr;
	d->ev.inv.size = inv->size;
	if (r == 0)
		return;
	if (r == -ETIMEDOUT) {
		devtlb_error(vtd, (uint32_t)VTD_FSTS_ITE, VTD_IQERCD_ITESID_MASK,
			     VTD_IQERCD_ITESID_SHIFT, inv->rid, run->msi);
		vtd->inv_stats.ite++;
		run->timed_out = true;
		d->ev.inv.result = VTD_INV_RES_TIMEOUT;
	} else {
		/* The endpoint answered, but not with a valid completion. */
		devtlb_error(vtd, (uint32_t)VTD_FSTS_ICE, VTD_IQERCD_ICESID_MASK,
			     VTD_IQERCD_ICESID_SHIFT, inv->rid, run->msi);
		vtd->inv_stats.ice++;
		d->ev.inv.result = VTD_INV_RES_BAD_COMPLETION;
	}
}

/* PFSID is meaningful only with device-TLB invalidation throttling; otherwise reserved. */
static bool pfsid_bad(const struct vtd *vtd, uint64_t q0, uint64_t lo_mask, uint64_t hi_mask)
{
	return !(vtd->ecap & VTD_ECAP_DIT) && (q0 & (lo_mask | hi_mask));
}

/* 5.4 device-TLB invalidate (type 3): requests without PASID, S-bit size encoding. MIP
 * (the device's invalidation queue depth) only paces hardware; it needs no action. */
static unsigned do_devtlb(struct vtd *vtd, struct qi_desc *d, struct qi_run *run)
{
	uint64_t q0 = d->q[0], q1 = d->q[1];
	struct pci_ats_inv inv = {.rid = (uint16_t)VTD_GET(q0, VTD_INV_DEVTLB_SID)};

	if ((q0 & VTD_INV_DEVTLB_Q0_RSVD) || (q1 & VTD_INV_DEVTLB_Q1_RSVD) ||
	    pfsid_bad(vtd, q0, VTD_INV_DEVTLB_PFSID_LO_MASK, VTD_INV_DEVTLB_PFSID_HI_MASK))
		return VTD_IQEI_RSVD;
	pci_ats_decode_range(q1 & VTD_INV_DEVTLB_ADDR_MASK, q1 & VTD_INV_DEVTLB_S, &inv.addr,
			     &inv.size);
	vtd->inv_stats.devtlb++;
	d->ev.inv.gran = VTD_INV_GRAN_PAGE;
	forward(vtd, d, &inv, run);
	return 0;
}

/* 5.9 PASID-based device-TLB invalidate (type 8), G = every PASID of the endpoint. */
static unsigned do_pdevtlb(struct vtd *vtd, struct qi_desc *d, struct qi_run *run)
{
	uint64_t q0 = d->q[0], q1 = d->q[1];
	struct pci_ats_inv inv = {
	    .rid = (uint16_t)VTD_GET(q0, VTD_INV_PDEVTLB_SID),
	    .pasid = (uint32_t)VTD_GET(q0, VTD_INV_PDEVTLB_PASID),
	    .has_pasid = true,
	    .global = q1 & VTD_INV_PDEVTLB_G,
	};

	if ((q1 & VTD_INV_PDEVTLB_Q1_RSVD) ||
	    pfsid_bad(vtd, q0, VTD_INV_PDEVTLB_PFSID_LO_MASK, VTD_INV_PDEVTLB_PFSID_HI_MASK))
		return VTD_IQEI_RSVD;
	pci_ats_decode_range(q1 & VTD_INV_PDEVTLB_ADDR_MASK, q1 & VTD_INV_PDEVTLB_S, &inv.addr,
			     &inv.size);
	if (inv.global) {
		vtd->inv_stats.pdevtlb_global++;
		d->ev.inv.gran = VTD_INV_GRAN_ALL_PASID;
	} else {
		vtd->inv_stats.pdevtlb++;
		d->ev.inv.gran = VTD_INV_GRAN_PASID;
	}
	forward(vtd, d, &inv, run);
	return 0;
}

/* ---- invalidation wait (5.6) ------------------------------------------------------------ */

/*
 * 5.3, 5.6 with drain: before the wait at IQH (`head`) completes, the requests translated
 * before the invalidations ahead of it are done (drain.c). Waits with the register lock
 * released; true if the run may go on (the queue is still enabled, and was neither
 * re-programmed nor reset).
 */
static bool qi_drain(struct vtd *vtd, uint64_t head)
{
	uint64_t gen = vtd->qi_gen;
	int r;

	vtd_set_reg64(vtd, VTD_REG_IQH, head);
	vtd->drain_pending = false;
	vtd->qi_draining = true;
	pthread_mutex_unlock(&vtd->lock);
	r = vtd_drain_wait(vtd);
	pthread_mutex_lock(&vtd->lock);
	vtd->qi_draining = false;
	vtd->inv_stats.drains++;
	if (r)
		vtd->inv_stats.drain_timeouts++;
	return vtd->qi_gen == gen && (vtd->regs[DW(VTD_REG_GSTS)] & VTD_GSTS_QIES);
}

static unsigned do_wait(struct vtd *vtd, struct qi_desc *d, struct qi_run *run)
{
	uint64_t q0 = d->q[0], q1 = d->q[1];
	uint64_t staddr = q1 & VTD_INV_WAIT_STADDR_MASK;
	bool sw = q0 & VTD_INV_WAIT_SW;

	if ((q0 & VTD_INV_WAIT_Q0_RSVD) || (q1 & VTD_INV_WAIT_Q1_RSVD) ||
	    ((q0 & VTD_INV_WAIT_PD) && !(vtd->ecap & VTD_ECAP_PDS)) ||
	    (sw && (staddr & vtd->ptr_rsvd)))
		return VTD_IQEI_RSVD; /* ... including a status address at or above 2^HAW */
	d->ev.inv.addr = staddr;
	if (run->timed_out) {
		/* It would complete only once every earlier descriptor has: an earlier
		 * device-TLB invalidation never will. No status, no interrupt; a fence holds
		 * back everything behind it. */
		vtd->inv_stats.wait_aborted++;
		run->fenced = q0 & VTD_INV_WAIT_FN;
		d->ev.inv.result = VTD_INV_RES_ABORTED;
		return 0;
	}
	if (vtd->drain_pending) {
		run->drained = true;
		if (!qi_drain(vtd, d->ev.inv.offset))
			return QI_STOP;
	}
	/* The status write comes before the interrupt, so a handler sees it. */
	if (sw && mem_write32(vtd->mem, staddr, (uint32_t)VTD_GET(q0, VTD_INV_WAIT_STDATA)))
		vtd->inv_stats.status_dropped++; /* nothing there to take the write */
	if (q0 & VTD_INV_WAIT_IF)
		wait_interrupt(vtd, run->msi);
	vtd->inv_stats.wait++;
	vtd->qi_last_wait = true;
	return 0;
}

/* ---- the queue -------------------------------------------------------------------------- */

/* 5.1: is `type` a descriptor this unit offers, in a queue of this width? */
static bool type_ok(const struct vtd *vtd, unsigned type, unsigned n)
{
	switch (type) {
	case VTD_INV_CC:
	case VTD_INV_IOTLB:
	case VTD_INV_IEC:
	case VTD_INV_WAIT:
		return true;
	case VTD_INV_DEVTLB:
		return vtd->cfg.dev_tlb;
	case VTD_INV_PIOTLB:
	case VTD_INV_PC:
		return n == 4; /* 256-bit descriptors only */
	case VTD_INV_PDEVTLB:
		return n == 4 && vtd->cfg.dev_tlb;
	default: /* page group responses need ECAP.PRS, which the model does not offer */
		return false;
	}
}

static unsigned execute(struct vtd *vtd, struct qi_desc *d, struct qi_run *run)
{
	unsigned type = VTD_INV_TYPE(d->q[0]);

	if (!type_ok(vtd, type, d->n))
		return VTD_IQEI_TYPE;
	if (d->n == 4 && (d->q[2] | d->q[3]))
		return VTD_IQEI_RSVD; /* 5.1: Q2 and Q3 are reserved for every type */
	switch (type) {
	case VTD_INV_CC:
		return do_cc(vtd, d);
	case VTD_INV_IOTLB:
		return do_iotlb(vtd, d);
	case VTD_INV_DEVTLB:
		return do_devtlb(vtd, d, run);
	case VTD_INV_IEC:
		return do_iec(vtd, d);
	case VTD_INV_WAIT:
		return do_wait(vtd, d, run);
	case VTD_INV_PIOTLB:
		return do_piotlb(vtd, d);
	case VTD_INV_PC:
		return do_pc(vtd, d);
	default:
		return do_pdevtlb(vtd, d, run);
	}
}

/* Fetch and carry out the descriptor at `pa`. 0, or the IQEI of the error. */
static unsigned process_one(struct vtd *vtd, uint64_t pa, uint32_t offset, unsigned n,
			    struct qi_run *run)
{
	struct qi_desc d = {.n = n};
	unsigned iqei;

	d.ev.kind = VTD_TRACE_INV;
	d.ev.inv.desc = d.q;
	d.ev.inv.offset = offset;
	if (vtd_fetch(vtd, pa, n, d.q)) {
		iqei = VTD_IQEI_FETCH;
	} else {
		d.ev.inv.type = (uint8_t)VTD_INV_TYPE(d.q[0]);
		iqei = execute(vtd, &d, run);
	}
	if (iqei == QI_STOP)
		return iqei;
	if (iqei) {
		d.ev.inv.result = VTD_INV_RES_ERROR;
		d.ev.inv.iqei = (uint8_t)iqei;
		d.ev.inv.gran = VTD_INV_GRAN_NONE;
	} else {
		vtd->inv_stats.descriptors++;
		if (d.ev.inv.type != VTD_INV_WAIT)
			vtd->qi_last_wait = false;
	}
	vtd_trace(vtd, &d.ev);
	return iqei;
}

/* 1.7 IQEI 7: descriptors are interpreted for the latched translation table mode. */
static bool ttm_ok(const struct vtd *vtd)
{
	unsigned ttm =
	    (unsigned)VTD_GET(__atomic_load_n(&vtd->root, __ATOMIC_RELAXED), VTD_RTADDR_TTM);

	return ttm == VTD_TTM_LEGACY || (ttm == VTD_TTM_SCALABLE && vtd->cfg.scalable) ||
	       (ttm == VTD_TTM_ABORT_DMA && vtd->cfg.abort_dma);
}

/* Why the tail cannot be used, or 0: 6 misaligned for 256-bit descriptors, 1 beyond the
 * queue (1.7). */
static unsigned tail_error(uint64_t tail, bool dw256, uint64_t size)
{
	if (dw256 && (tail & 0x10))
		return VTD_IQEI_TAIL_ALIGN;
	if (tail >= size)
		return VTD_IQEI_TAIL;
	return 0;
}

static bool may_run(const struct vtd *vtd)
{
	return (vtd->regs[DW(VTD_REG_GSTS)] & VTD_GSTS_QIES) &&
	       !(vtd->regs[DW(VTD_REG_FSTS)] & (VTD_FSTS_IQE | VTD_FSTS_ITE)) &&
	       vtd_reg64(vtd, VTD_REG_IQH) != vtd_reg64(vtd, VTD_REG_IQT);
}

void vtd_qi_kick(struct vtd *vtd, struct vtd_msi *msi)
{
	uint64_t iqa = vtd_reg64(vtd, VTD_REG_IQA);
	bool dw256 = iqa & VTD_IQA_DW;
	uint64_t base = iqa & VTD_IQA_IQA_MASK, size = 4096ull << VTD_GET(iqa, VTD_IQA_QS);
	uint64_t head = vtd_reg64(vtd, VTD_REG_IQH), tail = vtd_reg64(vtd, VTD_REG_IQT);
	unsigned n = dw256 ? 4 : 2, iqei = tail_error(tail, dw256, size);
	struct qi_run run = {.msi = msi};

	if (vtd->qi_draining || !may_run(vtd))
		return; /* a run waiting for a drain carries on with the new tail */
	if (!iqei && !ttm_ok(vtd))
		iqei = VTD_IQEI_TTM;
	/* IQH < size holds: it only moves inside the queue, and IQA writes reset it. The
	 * tail is inside too, so the walk ends within size / (8 n) steps. */
	while (!iqei && head != tail) {
		if (run.fenced) {
			vtd->inv_stats.fenced_dropped += ((tail - head) & (size - 1)) / (8 * n);
			head = tail;
			break;
		}
		iqei = process_one(vtd, base + head, (uint32_t)head, n, &run);
		if (iqei == QI_STOP)
			return; /* the queue changed while a wait drained: IQH is its business */
		if (!iqei)
			head = (head + 8 * n) & (size - 1);
		if (run.drained) {
			/* The lock was released: software may have moved the tail. */
			run.drained = false;
			tail = vtd_reg64(vtd, VTD_REG_IQT);
			iqei = iqei ? iqei : tail_error(tail, dw256, size);
		}
	}
	vtd_set_reg64(vtd, VTD_REG_IQH, head);
	if (iqei)
		queue_error(vtd, iqei, msi);
}
