// SPDX-License-Identifier: MIT
/*
 * Invalidation: descriptors (digest 5.1-5.9), batches closed by one invalidation wait,
 * the queue (1.7) with bounded waits and its errors (FSTS.IQE, ICE, ITE; 1.8), the
 * register-based interface for legacy units without QI (1.6), and the write-buffer flush.
 *
 * A submission holds the unit's queue lock from the first descriptor written to the end of
 * its wait, so the queue holds at most one submission and one status dword suffices: the
 * wait writes a new sequence number there (STDATA) and the driver polls for it, at most
 * poll_limit times. Every poll that misses also reads FSTS, so an error is seen at once:
 *  - IQE: the descriptor at IQH was refused; it is replaced by a harmless wait (a fresh
 *    copy of the wait, if the wait was refused), IQE is cleared and the queue runs on, as
 *    Linux's qi_check_fault does; unlike Linux the refused invalidation is then made up for
 *    by a global one of the same cache, so a refusal costs performance rather than leaving
 *    a stale translation; the submission reports -EIO;
 *  - ITE: a device-TLB invalidation timed out (the device is gone or hung); IQERCD.ITESID
 *    names it. The driver clears ITE, stops invalidating that device's TLB for good and
 *    sends the batch again without its descriptors (the wait was aborted, and the spec does
 *    not say which earlier descriptors completed; invalidations are idempotent);
 *  - ICE: counted and cleared (also looked for after a wait that completed, since ICE does
 *    not stop the queue).
 * A queue that looks full is told its tail again before the driver waits for room, so a
 * lost IQT write does not wedge it.
 */
#include <stdio.h>

#include "intel.h"

/* ---- registers ------------------------------------------------------------------------- */

int intel_reg_read(struct intel_iommu *unit, uint64_t off, unsigned size, uint64_t *val)
{
	return unit->mmio.read(unit->mmio.ctx, off, size, val) ? -EIO : 0;
}

int intel_reg_write(struct intel_iommu *unit, uint64_t off, unsigned size, uint64_t val)
{
	return unit->mmio.write(unit->mmio.ctx, off, size, val) ? -EIO : 0;
}

/* A status read on an error path: a failed read reads as 0 (nothing to handle). */
static uint32_t reg32(struct intel_iommu *unit, uint64_t off)
{
	uint64_t v = 0;

	intel_reg_read(unit, off, 4, &v);
	return (uint32_t)v;
}

/* Poll `off` until (value & mask) == want, at most poll_limit reads. */
static int poll_reg(struct intel_iommu *unit, uint64_t off, unsigned size, uint64_t mask,
		    uint64_t want)
{
	uint64_t v;

	for (unsigned i = 0; i < unit->poll_limit; i++) {
		if (intel_reg_read(unit, off, size, &v))
			return -EIO;
		if ((v & mask) == want)
			return 0;
	}
	return -ETIMEDOUT;
}

/*
 * 1.4: software writes GCMD with the persistent status bits it reads from GSTS plus the
 * one bit it changes, then polls GSTS until the status follows.
 */
int intel_gcmd(struct intel_iommu *unit, uint32_t bit, bool set)
{
	uint64_t sts = 0;
	int ret = intel_reg_read(unit, VTD_REG_GSTS, 4, &sts);

	sts &= VTD_GSTS_PERSISTENT_MASK;
	if (!ret)
		ret = intel_reg_write(unit, VTD_REG_GCMD, 4, set ? sts | bit : sts & ~bit);
	if (!ret)
		ret = poll_reg(unit, VTD_REG_GSTS, 4, bit, set ? bit : 0);
	return ret;
}

/* A one-shot command (SRTP, WBF): done when `status` reads `want_set`. */
int intel_gcmd_oneshot(struct intel_iommu *unit, uint32_t bit, uint32_t status, bool want_set)
{
	uint64_t sts = 0;
	int ret = intel_reg_read(unit, VTD_REG_GSTS, 4, &sts);

	if (!ret)
		ret =
		    intel_reg_write(unit, VTD_REG_GCMD, 4, (sts & VTD_GSTS_PERSISTENT_MASK) | bit);
	if (!ret)
		ret = poll_reg(unit, VTD_REG_GSTS, 4, status, want_set ? status : 0);
	return ret;
}

/* 5.11: the write buffer, flushed with GCMD.WBF after table changes when CAP.RWBF. */
int intel_flush_write_buffer(struct intel_iommu *unit)
{
	int ret;

	if (!unit->rwbf)
		return 0;
	if (__atomic_load_n(&unit->skip, __ATOMIC_RELAXED) == INTEL_IOMMU_INV_WRITE_BUFFER) {
		INTEL_STAT_INC(unit, skipped[INTEL_IOMMU_INV_WRITE_BUFFER]);
		return 0;
	}
	pthread_mutex_lock(&unit->qi.lock);
	ret = intel_gcmd_oneshot(unit, (uint32_t)VTD_GCMD_WBF, (uint32_t)VTD_GSTS_WBFS, false);
	pthread_mutex_unlock(&unit->qi.lock);
	INTEL_STAT_INC(unit, write_buffer_flushes);
	if (ret)
		intel_warn(unit, "write-buffer flush did not complete");
	return ret;
}

/* ---- descriptors (5.2-5.9) ------------------------------------------------------------- */

static inline uint64_t type_bits(unsigned type)
{
	return (type & 0xf) | ((uint64_t)(type >> 4) << 9);
}

struct intel_desc intel_desc_cc_global(void)
{
	return (struct intel_desc){
	    {type_bits(VTD_INV_CC) | VTD_SET(VTD_INV_CC_G, VTD_CCMD_GRAN_GLOBAL)}};
}

/* Device-selective; legacy context caches are tagged by DID too, so it is given. */
struct intel_desc intel_desc_cc_device(uint16_t did, uint16_t sid)
{
	return (struct intel_desc){{type_bits(VTD_INV_CC) |
				    VTD_SET(VTD_INV_CC_G, VTD_CCMD_GRAN_DEVICE) |
				    VTD_SET(VTD_INV_CC_DID, did) | VTD_SET(VTD_INV_CC_SID, sid)}};
}

struct intel_desc intel_desc_pc_global(void)
{
	return (struct intel_desc){
	    {type_bits(VTD_INV_PC) | VTD_SET(VTD_INV_PC_G, VTD_INV_PC_G_GLOBAL)}};
}

struct intel_desc intel_desc_pc_pasid(uint16_t did, uint32_t pasid)
{
	return (struct intel_desc){
	    {type_bits(VTD_INV_PC) | VTD_SET(VTD_INV_PC_G, VTD_INV_PC_G_PASID) |
	     VTD_SET(VTD_INV_PC_DID, did) | VTD_SET(VTD_INV_PC_PASID, pasid)}};
}

/* Drain reads and writes when the unit can (Linux sets DR/DW whenever CAP has them). */
static uint64_t iotlb_drain(const struct intel_iommu *unit)
{
	return ((unit->cap & VTD_CAP_DRD) ? VTD_INV_IOTLB_DR : 0) |
	       ((unit->cap & VTD_CAP_DWD) ? VTD_INV_IOTLB_DW : 0);
}

struct intel_desc intel_desc_iotlb_global(const struct intel_iommu *unit)
{
	return (struct intel_desc){{type_bits(VTD_INV_IOTLB) | iotlb_drain(unit) |
				    VTD_SET(VTD_INV_IOTLB_G, VTD_IOTLB_GRAN_GLOBAL)}};
}

struct intel_desc intel_desc_iotlb_dsi(const struct intel_iommu *unit, uint16_t did)
{
	return (struct intel_desc){{type_bits(VTD_INV_IOTLB) | iotlb_drain(unit) |
				    VTD_SET(VTD_INV_IOTLB_G, VTD_IOTLB_GRAN_DOMAIN) |
				    VTD_SET(VTD_INV_IOTLB_DID, did)}};
}

/* 5.3: 2^am pages at addr (aligned to them), IH = only leaves changed. */
struct intel_desc intel_desc_iotlb_psi(const struct intel_iommu *unit, uint16_t did, uint64_t addr,
				       unsigned am, bool ih)
{
	return (struct intel_desc){{type_bits(VTD_INV_IOTLB) | iotlb_drain(unit) |
					VTD_SET(VTD_INV_IOTLB_G, VTD_IOTLB_GRAN_PAGE) |
					VTD_SET(VTD_INV_IOTLB_DID, did),
				    (addr & VTD_INV_IOTLB_ADDR_MASK) | (ih ? VTD_INV_IOTLB_IH : 0) |
					VTD_SET(VTD_INV_IOTLB_AM, am)}};
}

struct intel_desc intel_desc_piotlb_pasid(uint16_t did, uint32_t pasid)
{
	return (struct intel_desc){
	    {type_bits(VTD_INV_PIOTLB) | VTD_SET(VTD_INV_PIOTLB_G, VTD_INV_PIOTLB_G_PASID) |
	     VTD_SET(VTD_INV_PIOTLB_DID, did) | VTD_SET(VTD_INV_PIOTLB_PASID, pasid)}};
}

struct intel_desc intel_desc_piotlb_psi(uint16_t did, uint32_t pasid, uint64_t addr, unsigned am,
					bool ih)
{
	return (struct intel_desc){
	    {type_bits(VTD_INV_PIOTLB) | VTD_SET(VTD_INV_PIOTLB_G, VTD_INV_PIOTLB_G_PAGE) |
		 VTD_SET(VTD_INV_PIOTLB_DID, did) | VTD_SET(VTD_INV_PIOTLB_PASID, pasid),
	     (addr & VTD_INV_PIOTLB_ADDR_MASK) | (ih ? VTD_INV_PIOTLB_IH : 0) |
		 VTD_SET(VTD_INV_PIOTLB_AM, am)}};
}

/*
 * 5.4: the PCIe S-bit encoding of 2^order pages at addr: S = 0 for one page, otherwise the
 * lowest zero bit of ADDR[63:12] gives the size (order 52 = ADDR[62:12] all ones = all).
 */
static uint64_t devtlb_addr(uint64_t addr, unsigned order, bool *s)
{
	uint64_t half;

	*s = order != 0;
	if (!order)
		return addr & VTD_INV_DEVTLB_ADDR_MASK;
	if (order >= 52)
		return VTD_GENMASK(62, 12); /* bit 63 clear: the entire address space */
	half = 1ull << (11 + order);
	addr &= ~(2 * half - 1);
	return (addr | (half - 1)) & VTD_INV_DEVTLB_ADDR_MASK;
}

/* PFSID: with ECAP.DIT the physical function's source-id (every endpoint here is a PF). */
static uint64_t pfsid_bits(const struct intel_iommu *unit, uint16_t sid, uint64_t lo_mask,
			   unsigned lo_shift, uint64_t hi_mask, unsigned hi_shift)
{
	if (!unit->dit)
		return 0;
	return (((uint64_t)(sid & 0xf) << lo_shift) & lo_mask) |
	       (((uint64_t)(sid >> 4) << hi_shift) & hi_mask);
}

/* MIP (max invalidations pending) 0 means 32, the deepest queue a device may have. */
struct intel_desc intel_desc_devtlb(const struct intel_iommu *unit, uint16_t sid, uint64_t addr,
				    unsigned size_order)
{
	bool s;
	uint64_t a = devtlb_addr(addr, size_order, &s);

	return (struct intel_desc){
	    {type_bits(VTD_INV_DEVTLB) | VTD_SET(VTD_INV_DEVTLB_SID, sid) |
		 pfsid_bits(unit, sid, VTD_INV_DEVTLB_PFSID_LO_MASK, VTD_INV_DEVTLB_PFSID_LO_SHIFT,
			    VTD_INV_DEVTLB_PFSID_HI_MASK, VTD_INV_DEVTLB_PFSID_HI_SHIFT),
	     a | (s ? VTD_INV_DEVTLB_S : 0)}};
}

struct intel_desc intel_desc_pdevtlb(const struct intel_iommu *unit, uint16_t sid, uint32_t pasid,
				     uint64_t addr, unsigned size_order)
{
	bool s;
	uint64_t a = devtlb_addr(addr, size_order, &s);

	return (struct intel_desc){
	    {type_bits(VTD_INV_PDEVTLB) | VTD_SET(VTD_INV_PDEVTLB_SID, sid) |
		 VTD_SET(VTD_INV_PDEVTLB_PASID, pasid) |
		 pfsid_bits(unit, sid, VTD_INV_PDEVTLB_PFSID_LO_MASK,
			    VTD_INV_PDEVTLB_PFSID_LO_SHIFT, VTD_INV_PDEVTLB_PFSID_HI_MASK,
			    VTD_INV_PDEVTLB_PFSID_HI_SHIFT),
	     a | (s ? VTD_INV_PDEVTLB_S : 0)}};
}

/* 5.6: write `data` to `addr` on completion, after everything before it (fence). */
static struct intel_desc desc_wait(uint64_t addr, uint32_t data)
{
	return (struct intel_desc){{type_bits(VTD_INV_WAIT) | VTD_INV_WAIT_SW | VTD_INV_WAIT_FN |
					VTD_SET(VTD_INV_WAIT_STDATA, data),
				    addr & VTD_INV_WAIT_STADDR_MASK}};
}

/* Which fault-injection kind a descriptor belongs to. */
static enum intel_iommu_inv_kind desc_kind(const struct intel_desc *d)
{
	switch (VTD_INV_TYPE(d->q[0])) {
	case VTD_INV_CC:
		return INTEL_IOMMU_INV_CONTEXT;
	case VTD_INV_IOTLB:
		return INTEL_IOMMU_INV_IOTLB;
	case VTD_INV_DEVTLB:
		return INTEL_IOMMU_INV_DEVTLB;
	case VTD_INV_PIOTLB:
		return INTEL_IOMMU_INV_PIOTLB;
	case VTD_INV_PC:
		return INTEL_IOMMU_INV_PASID_CACHE;
	case VTD_INV_PDEVTLB:
		return INTEL_IOMMU_INV_PDEVTLB;
	default:
		return INTEL_IOMMU_INV_NONE;
	}
}

static bool desc_is_devtlb(const struct intel_desc *d, uint16_t *sid)
{
	unsigned type = VTD_INV_TYPE(d->q[0]);

	if (type == VTD_INV_DEVTLB)
		*sid = (uint16_t)VTD_GET(d->q[0], VTD_INV_DEVTLB_SID);
	else if (type == VTD_INV_PDEVTLB)
		*sid = (uint16_t)VTD_GET(d->q[0], VTD_INV_PDEVTLB_SID);
	else
		return false;
	return true;
}

/* ---- the queue ------------------------------------------------------------------------- */

int intel_qi_init(struct intel_iommu *unit)
{
	struct intel_qi *qi = &unit->qi;
	uint64_t gsts = 0;
	int ret;

	qi->enabled = unit->ecap & VTD_ECAP_QI;
	if (!qi->enabled)
		return 0;
	/* 1.7: 2^QS pages of 32-byte slots in scalable mode, of 16-byte slots else; by
	 * default 256 slots (2 pages, or 1). */
	qi->shift = unit->scalable ? 5 : 4;
	qi->order = unit->scalable ? 1 : 0;
	if (qi->pages)
		for (qi->order = 0; (1u << qi->order) < qi->pages; qi->order++)
			;
	qi->entries = (unsigned)((4096ull << qi->order) >> qi->shift);
	ret = intel_alloc_pages(unit, qi->order, &qi->base);
	if (ret)
		return ret;
	ret = intel_alloc_pages(unit, 0, &qi->status);
	if (ret)
		goto err_queue;
	ret = intel_reg_read(unit, VTD_REG_GSTS, 4, &gsts);
	if (!ret && (gsts & VTD_GSTS_QIES))
		ret = intel_gcmd(unit, (uint32_t)VTD_GCMD_QIE, false); /* resets IQH */
	if (!ret)
		ret = intel_reg_write(unit, VTD_REG_IQT, 8, 0);
	if (!ret)
		ret = intel_reg_write(unit, VTD_REG_IQA, 8,
				      qi->base | (unit->scalable ? VTD_IQA_DW : 0) |
					  VTD_SET(VTD_IQA_QS, qi->order));
	if (!ret)
		ret = intel_gcmd(unit, (uint32_t)VTD_GCMD_QIE, true);
	if (ret)
		goto err_status;
	qi->tail = 0;
	return 0;

err_status:
	mem_free_page(unit->alloc, qi->status);
err_queue:
	mem_free_pages(unit->alloc, qi->base, qi->order);
	qi->base = 0;
	qi->enabled = false;
	return ret;
}

void intel_qi_disable(struct intel_iommu *unit)
{
	if (unit->qi.enabled)
		intel_gcmd(unit, (uint32_t)VTD_GCMD_QIE, false);
}

void intel_qi_free(struct intel_iommu *unit)
{
	if (!unit->qi.base)
		return;
	mem_free_pages(unit->alloc, unit->qi.base, unit->qi.order);
	mem_free_page(unit->alloc, unit->qi.status);
	unit->qi.base = 0;
}

static unsigned qi_head(struct intel_iommu *unit, int *err)
{
	uint64_t v = 0;

	*err = intel_reg_read(unit, VTD_REG_IQH, 8, &v);
	return (unsigned)((v & VTD_IQH_QH_MASK) >> unit->qi.shift) % unit->qi.entries;
}

/*
 * One submission in the queue: its descriptors, where they sit, the wait that closes
 * them, and the descriptors the unit refused (IQE), whose caches get a global
 * invalidation instead.
 */
struct qi_sub {
	struct intel_desc *d;
	unsigned n;
	unsigned first; /* slot of d[0] */
	unsigned wait;	/* slot of the wait */
	uint32_t seq;
	unsigned nrefused;
	struct intel_desc refused[4];
	unsigned ngone; /* devices this submission marked gone (ATS to revoke) */
	uint16_t gone[8];
};

static int qi_set_tail(struct intel_iommu *unit)
{
	/* The register write orders the descriptors before it: the unit's MMIO path takes
	 * a lock the queue processing also holds. */
	return intel_reg_write(unit, VTD_REG_IQT, 8, (uint64_t)unit->qi.tail << unit->qi.shift);
}

/*
 * Wait (bounded) until `need` slots are free between the tail and the hardware's head. A
 * queue that looks full is first told the tail again: a unit that missed an IQT write
 * would otherwise never move its head.
 */
static int qi_space(struct intel_iommu *unit, unsigned need)
{
	struct intel_qi *qi = &unit->qi;
	int err;

	for (unsigned i = 0; i < unit->poll_limit; i++) {
		unsigned head = qi_head(unit, &err);
		unsigned used = (qi->tail - head) % unit->qi.entries;

		if (err)
			return err;
		if (qi->entries - 1 - used >= need)
			return 0;
		if (i == 0)
			qi_set_tail(unit);
	}
	return -ETIMEDOUT;
}

static int qi_write_slot(struct intel_iommu *unit, unsigned slot, const struct intel_desc *d)
{
	struct intel_qi *qi = &unit->qi;
	uint64_t pa = qi->base + ((uint64_t)slot << qi->shift);
	unsigned nq = 1u << (qi->shift - 3);
	int ret = 0;

	for (unsigned i = 0; i < nq && !ret; i++)
		ret = mem_write64(unit->mem, pa + 8 * i, d->q[i]);
	return ret;
}

/* Write the descriptors and a wait for a new sequence number, then move the tail. */
static int qi_post(struct intel_iommu *unit, struct qi_sub *sub)
{
	struct intel_qi *qi = &unit->qi;
	struct intel_desc w;
	int ret = qi_space(unit, sub->n + 1);

	if (ret)
		return ret;
	if (++qi->seq == 0)
		qi->seq = 1; /* the status dword starts at 0 */
	sub->seq = qi->seq;
	sub->first = qi->tail;
	sub->wait = (qi->tail + sub->n) % unit->qi.entries;
	w = desc_wait(qi->status, qi->seq);
	for (unsigned i = 0; i <= sub->n && !ret; i++) {
		ret = qi_write_slot(unit, qi->tail, i < sub->n ? &sub->d[i] : &w);
		qi->tail = (qi->tail + 1) % unit->qi.entries;
	}
	if (!ret)
		ret = qi_set_tail(unit);
	if (!ret) {
		for (unsigned i = 0; i < sub->n; i++)
			INTEL_STAT_INC(unit, desc[VTD_INV_TYPE(sub->d[i].q[0]) & 15]);
		INTEL_STAT_INC(unit, waits);
	}
	return ret;
}

/*
 * IQE: the descriptor at IQH was refused and the queue stopped there (1.7). The slot gets
 * a copy of this submission's wait if it was the wait, else a harmless wait to the scratch
 * dword (as Linux's qi_check_fault); the refused descriptor is kept for a global
 * invalidation of its cache; IQE is cleared and the queue runs on.
 */
static void qi_handle_iqe(struct intel_iommu *unit, struct qi_sub *sub)
{
	struct intel_desc nop = desc_wait(unit->qi.status + 4, 0);
	unsigned head, idx;
	uint64_t ercd = 0;
	int err;

	head = qi_head(unit, &err);
	idx = (head - sub->first) % unit->qi.entries;
	intel_reg_read(unit, VTD_REG_IQERCD, 8, &ercd);
	if (head == sub->wait) {
		nop = desc_wait(unit->qi.status, sub->seq);
	} else if (idx < sub->n && sub->nrefused < 4) {
		sub->refused[sub->nrefused++] = sub->d[idx];
	}
	qi_write_slot(unit, head, &nop);
	intel_reg_write(unit, VTD_REG_FSTS, 4, VTD_FSTS_IQE);
	qi_set_tail(unit);
	INTEL_STAT_INC(unit, queue_errors);
	intel_warn(unit, "invalidation queue error (IQE): a descriptor was refused");
}

/* Stop invalidating the device TLB of `sid`: it did not answer. Its ATS is revoked once
 * the submission is over (qi_revoke). */
static void mark_gone(struct intel_iommu *unit, struct qi_sub *sub, uint16_t sid)
{
	uint64_t bit = 1ull << (sid % 64);

	if (__atomic_fetch_or(&unit->gone[sid / 64], bit, __ATOMIC_RELAXED) & bit)
		return;
	INTEL_STAT_INC(unit, devices_gone);
	if (sub->ngone < sizeof(sub->gone) / sizeof(sub->gone[0]))
		sub->gone[sub->ngone++] = sid;
}

/*
 * ITE: a device-TLB invalidation timed out. IQERCD.ITESID names the device; if it names
 * none of this batch's, every device the batch invalidated is suspect and marked.
 */
static void qi_handle_ite(struct intel_iommu *unit, struct qi_sub *sub)
{
	uint64_t ercd = 0;
	uint16_t sid, ite_sid;
	bool found = false;

	intel_reg_read(unit, VTD_REG_IQERCD, 8, &ercd);
	ite_sid = (uint16_t)VTD_GET(ercd, VTD_IQERCD_ITESID);
	for (unsigned i = 0; i < sub->n; i++)
		found |= desc_is_devtlb(&sub->d[i], &sid) && sid == ite_sid;
	for (unsigned i = 0; i < sub->n; i++) {
		if (desc_is_devtlb(&sub->d[i], &sid) && (!found || sid == ite_sid))
			mark_gone(unit, sub, sid);
	}
	intel_reg_write(unit, VTD_REG_FSTS, 4, VTD_FSTS_ITE);
	INTEL_STAT_INC(unit, devtlb_timeouts);
	intel_warn(unit, "device-TLB invalidation timed out (ITE): device TLB no longer "
			 "invalidated");
}

/* ICE: an endpoint answered an invalidation with a bad completion (1.8). */
static void qi_handle_ice(struct intel_iommu *unit)
{
	intel_reg_write(unit, VTD_REG_FSTS, 4, VTD_FSTS_ICE);
	INTEL_STAT_INC(unit, completion_errors);
	intel_warn(unit, "invalid device-TLB invalidation completion (ICE)");
}

/* Look at FSTS after a missed poll. -EAGAIN: an ITE aborted the wait. */
static int qi_check_fault(struct intel_iommu *unit, struct qi_sub *sub, int *err)
{
	uint32_t fsts = reg32(unit, VTD_REG_FSTS);

	if (fsts & VTD_FSTS_IQE) {
		qi_handle_iqe(unit, sub);
		*err = -EIO;
	}
	if (fsts & VTD_FSTS_ICE)
		qi_handle_ice(unit);
	if (fsts & VTD_FSTS_ITE) {
		qi_handle_ite(unit, sub);
		return -EAGAIN;
	}
	return 0;
}

/* Poll the status dword for the submission's wait, at most poll_limit times. */
static int qi_wait(struct intel_iommu *unit, struct qi_sub *sub)
{
	uint32_t st = 0, fsts;
	int err = 0, ret;
	bool devtlb = false;
	uint16_t sid;

	for (unsigned i = 0; i < unit->poll_limit; i++) {
		if (mem_read32(unit->mem, unit->qi.status, &st))
			return -EIO;
		if (st == sub->seq)
			break;
		ret = qi_check_fault(unit, sub, &err);
		if (ret)
			return ret;
	}
	if (st != sub->seq) {
		INTEL_STAT_INC(unit, wait_timeouts);
		intel_warn(unit, "invalidation wait timed out: the queue is not processed");
		return -ETIMEDOUT;
	}
	/* Device-TLB errors need not stop the wait (ICE never does): look once when the
	 * batch had device-TLB invalidations. */
	for (unsigned i = 0; i < sub->n; i++)
		devtlb |= desc_is_devtlb(&sub->d[i], &sid);
	fsts = devtlb ? reg32(unit, VTD_REG_FSTS) : 0;
	if (fsts & VTD_FSTS_ICE)
		qi_handle_ice(unit);
	if (fsts & VTD_FSTS_ITE)
		qi_handle_ite(unit, sub);
	return err;
}

/* Drop the device-TLB descriptors of devices that are gone; returns how many are left. */
static unsigned drop_gone(struct intel_iommu *unit, struct intel_desc *d, unsigned n)
{
	unsigned k = 0;
	uint16_t sid;

	for (unsigned i = 0; i < n; i++) {
		if (!desc_is_devtlb(&d[i], &sid) || !intel_sid_gone(unit, sid))
			d[k++] = d[i];
	}
	return k;
}

/*
 * For each refused descriptor, the global (or whole-range) invalidation of its cache, so
 * that the refusal costs performance, not a stale translation. Returns how many.
 */
static unsigned fallbacks(const struct intel_iommu *unit, const struct qi_sub *sub,
			  struct intel_desc *out)
{
	unsigned k = 0;
	uint16_t sid;

	for (unsigned i = 0; i < sub->nrefused; i++) {
		const struct intel_desc *d = &sub->refused[i];

		switch (VTD_INV_TYPE(d->q[0])) {
		case VTD_INV_CC:
			out[k++] = intel_desc_cc_global();
			break;
		case VTD_INV_IOTLB:
		case VTD_INV_PIOTLB:
			out[k++] = intel_desc_iotlb_global(unit);
			break;
		case VTD_INV_PC:
			out[k++] = intel_desc_pc_global();
			break;
		case VTD_INV_DEVTLB:
		case VTD_INV_PDEVTLB:
			desc_is_devtlb(d, &sid);
			out[k++] = intel_desc_devtlb(unit, sid, 0, INTEL_DEVTLB_ALL_ORDER);
			if (VTD_INV_TYPE(d->q[0]) == VTD_INV_PDEVTLB)
				out[k++] = intel_desc_pdevtlb(
				    unit, sid, (uint32_t)VTD_GET(d->q[0], VTD_INV_PDEVTLB_PASID), 0,
				    INTEL_DEVTLB_ALL_ORDER);
			break;
		}
	}
	return k;
}

/* Send and wait; after an ITE again without the gone devices (everything from the head on
 * is this submission's, so it is written again from there). */
static int qi_run(struct intel_iommu *unit, struct qi_sub *sub)
{
	int ret, err;

	for (unsigned attempt = 0;; attempt++) {
		ret = qi_post(unit, sub);
		if (!ret)
			ret = qi_wait(unit, sub);
		if (ret != -EAGAIN)
			return ret;
		if (attempt == 2)
			return -EIO;
		INTEL_STAT_INC(unit, resubmits);
		sub->n = drop_gone(unit, sub->d, sub->n);
		unit->qi.tail = qi_head(unit, &err);
	}
}

/*
 * Devices `sub` found gone are no longer invalidated, so what their device TLBs still hold
 * must become useless before the flush returns: their ATS is revoked at the unit
 * (intel_context_revoke_ats). A device that hung and comes back would otherwise keep
 * using translations unmapped - and memory reused - since.
 */
static void qi_revoke(struct intel_iommu *unit, const struct qi_sub *sub)
{
	for (unsigned i = 0; i < sub->ngone; i++) {
		struct intel_desc d[4];
		struct qi_sub r = {.d = d, .n = intel_context_revoke_ats(unit, sub->gone[i], d)};

		if (r.n)
			qi_run(unit, &r);
	}
}

/* Send `n` descriptors and wait for them; refused ones are made up for by wider ones. */
static int qi_submit(struct intel_iommu *unit, struct intel_desc *d, unsigned n)
{
	struct intel_desc extra[8];
	struct qi_sub sub = {.d = d, .n = n};
	int ret;

	pthread_mutex_lock(&unit->qi.lock);
	ret = qi_run(unit, &sub);
	if (sub.nrefused) {
		struct qi_sub again = {.d = extra, .n = fallbacks(unit, &sub, extra)};

		qi_run(unit, &again);
		qi_revoke(unit, &again);
		ret = -EIO; /* reported either way */
	}
	qi_revoke(unit, &sub);
	pthread_mutex_unlock(&unit->qi.lock);
	return ret;
}

/* ---- register-based invalidation (1.6), for legacy units without QI --------------------- */

static int reg_cc(struct intel_iommu *unit, const struct intel_desc *d)
{
	uint64_t v = VTD_CCMD_ICC | VTD_SET(VTD_CCMD_CIRG, VTD_GET(d->q[0], VTD_INV_CC_G)) |
		     VTD_SET(VTD_CCMD_DID, VTD_GET(d->q[0], VTD_INV_CC_DID)) |
		     VTD_SET(VTD_CCMD_SID, VTD_GET(d->q[0], VTD_INV_CC_SID)) |
		     VTD_SET(VTD_CCMD_FM, VTD_GET(d->q[0], VTD_INV_CC_FM));
	int ret = intel_reg_write(unit, VTD_REG_CCMD, 8, v);

	return ret ? ret : poll_reg(unit, VTD_REG_CCMD, 8, VTD_CCMD_ICC, 0);
}

static int reg_iotlb(struct intel_iommu *unit, const struct intel_desc *d)
{
	uint64_t base = VTD_GET(unit->ecap, VTD_ECAP_IRO) * 16;
	uint64_t g = VTD_GET(d->q[0], VTD_INV_IOTLB_G);
	uint64_t v = VTD_IOTLB_IVT | VTD_SET(VTD_IOTLB_IIRG, g) |
		     VTD_SET(VTD_IOTLB_DID, VTD_GET(d->q[0], VTD_INV_IOTLB_DID)) |
		     ((d->q[0] & VTD_INV_IOTLB_DR) ? VTD_IOTLB_DR : 0) |
		     ((d->q[0] & VTD_INV_IOTLB_DW) ? VTD_IOTLB_DW : 0);
	int ret = 0;

	/* The IVA register has the same layout as the descriptor's second quad-word. */
	if (g == VTD_IOTLB_GRAN_PAGE)
		ret = intel_reg_write(unit, base + VTD_REG_IVA_OFF, 8, d->q[1]);
	if (!ret)
		ret = intel_reg_write(unit, base + VTD_REG_IOTLB_OFF, 8, v);
	return ret ? ret : poll_reg(unit, base + VTD_REG_IOTLB_OFF, 8, VTD_IOTLB_IVT, 0);
}

static int reg_submit(struct intel_iommu *unit, const struct intel_desc *d, unsigned n)
{
	int ret = 0, r;

	pthread_mutex_lock(&unit->qi.lock);
	for (unsigned i = 0; i < n; i++) {
		switch (VTD_INV_TYPE(d[i].q[0])) {
		case VTD_INV_CC:
			r = reg_cc(unit, &d[i]);
			break;
		case VTD_INV_IOTLB:
			r = reg_iotlb(unit, &d[i]);
			break;
		default:
			r = -EOPNOTSUPP; /* needs QI: never built for such a unit */
			break;
		}
		INTEL_STAT_INC(unit, reg_invalidations);
		if (r && !ret)
			ret = r;
	}
	pthread_mutex_unlock(&unit->qi.lock);
	if (ret)
		intel_warn(unit, "register-based invalidation did not complete");
	return ret;
}

/* ---- batches ---------------------------------------------------------------------------- */

void intel_batch_init(struct intel_batch *b, struct intel_iommu *unit)
{
	b->unit = unit;
	b->n = 0;
	b->err = 0;
}

int intel_batch_flush(struct intel_batch *b)
{
	int ret;

	if (!b->n)
		return b->err;
	if (b->unit->qi.enabled)
		ret = qi_submit(b->unit, b->d, b->n);
	else
		ret = reg_submit(b->unit, b->d, b->n);
	b->n = 0;
	if (ret && !b->err)
		b->err = ret;
	return b->err;
}

void intel_batch_add(struct intel_batch *b, struct intel_desc d)
{
	enum intel_iommu_inv_kind kind = desc_kind(&d);

	if (kind != INTEL_IOMMU_INV_NONE &&
	    kind == (enum intel_iommu_inv_kind)__atomic_load_n(&b->unit->skip, __ATOMIC_RELAXED)) {
		INTEL_STAT_INC(b->unit, skipped[kind]);
		return;
	}
	if (b->n == b->unit->batch)
		intel_batch_flush(b);
	b->d[b->n++] = d;
}

/* ---- reports ------------------------------------------------------------------------------ */

void intel_warn(struct intel_iommu *unit, const char *what)
{
	__atomic_store_n(&unit->last_warning, what, __ATOMIC_RELEASE);
	__atomic_fetch_add(&unit->warnings, 1, __ATOMIC_RELAXED);
	if (!__atomic_load_n(&unit->quiet, __ATOMIC_RELAXED))
		fprintf(stderr, "%s: %s\n", unit->name, what);
}
