// SPDX-License-Identifier: MIT
/*
 * Fault reporting: qualified faults and FPD (digest 4.3), primary fault logging into the
 * fault-recording registers (4.4), FSTS and the fault event interrupt (1.8).
 */
#include "vtd_internal.h"

#define DW(off)		 ((off) / 4)
#define FSTS_EVENT_BITS	 (VTD_FSTS_PPF | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE)
#define FSTS_STATUS_BITS (VTD_FSTS_PFO | FSTS_EVENT_BITS)

/*
 * 4.3: a fault is "non-qualified" when it is found before any FPD on the path can be
 * known - root-table problems, errors fetching (or reserved bits in) the context entry,
 * errors fetching the PASID-directory or PASID-table entry, an invalid root-table
 * address. Those are always recorded; every other fault is suppressed by an FPD.
 */
bool vtd_fault_qualified(uint8_t reason)
{
	switch (reason) {
	case VTD_FR_LRT_1:
	case VTD_FR_LRT_2:
	case VTD_FR_LRT_3:
	case VTD_FR_LCT_1:
	case VTD_FR_LCT_3:
	case VTD_FR_RTA_1:
	case VTD_FR_RTA_2:
	case VTD_FR_RTA_3:
	case VTD_FR_RTA_4:
	case VTD_FR_SRT_1:
	case VTD_FR_SRT_2:
	case VTD_FR_SRT_3:
	case VTD_FR_SCT_1:
	case VTD_FR_SCT_3:
	case VTD_FR_SPD_1:
	case VTD_FR_SPT_1:
		return false;
	default:
		return true;
	}
}

static void fault_msi(struct vtd *vtd, struct vtd_msi *msi)
{
	msi->fault = true;
	msi->fault_data = vtd->regs[DW(VTD_REG_FEDATA)];
	msi->fault_addr = vtd->regs[DW(VTD_REG_FEADDR)] | (uint64_t)vtd->regs[DW(VTD_REG_FEUADDR)]
							      << 32;
}

/*
 * 1.8: an interrupt condition arises only when PPF, IQE, ICE or ITE goes from 0 to 1 while
 * none of PFO/PPF/IQE/ICE/ITE was set. It sets FECTL.IP; unmasked, the message goes out
 * and IP clears.
 */
void vtd_fsts_raise(struct vtd *vtd, uint32_t bit, struct vtd_msi *msi)
{
	uint32_t *fsts = &vtd->regs[DW(VTD_REG_FSTS)];
	uint32_t *fectl = &vtd->regs[DW(VTD_REG_FECTL)];
	bool idle = !(*fsts & FSTS_STATUS_BITS);

	*fsts |= bit;
	if (!idle || !(bit & FSTS_EVENT_BITS))
		return;
	*fectl |= (uint32_t)VTD_FECTL_IP;
	if (!(*fectl & VTD_FECTL_IM)) {
		*fectl &= ~(uint32_t)VTD_FECTL_IP;
		fault_msi(vtd, msi);
	}
}

static uint32_t *frcd(struct vtd *vtd, unsigned i)
{
	return &vtd->regs[DW(vtd->cfg.fro * 16 + i * VTD_FRCD_SIZE)];
}

static bool frcd_pending(struct vtd *vtd, unsigned i)
{
	return frcd(vtd, i)[3] & (uint32_t)(VTD_FRCD_Q1_F >> 32);
}

void vtd_fsts_update(struct vtd *vtd)
{
	uint32_t *fsts = &vtd->regs[DW(VTD_REG_FSTS)];
	bool ppf = false;

	for (unsigned i = 0; i < vtd->cfg.nfr && !ppf; i++)
		ppf = frcd_pending(vtd, i);
	if (ppf)
		*fsts |= (uint32_t)VTD_FSTS_PPF;
	else
		*fsts &= ~(uint32_t)VTD_FSTS_PPF;
	/* 1.8: IP is cleared once software has serviced every status condition. */
	if (!(*fsts & FSTS_STATUS_BITS))
		vtd->regs[DW(VTD_REG_FECTL)] &= ~(uint32_t)VTD_FECTL_IP;
}

void vtd_fectl_written(struct vtd *vtd, struct vtd_msi *msi)
{
	uint32_t *fectl = &vtd->regs[DW(VTD_REG_FECTL)];

	/* Unmasking with an interrupt pending delivers it. */
	if ((*fectl & VTD_FECTL_IP) && !(*fectl & VTD_FECTL_IM)) {
		*fectl &= ~(uint32_t)VTD_FECTL_IP;
		fault_msi(vtd, msi);
	}
}

/* The record's request type, T1/T2 (4.4): write 00, read 10, atomic 11. */
static uint64_t frcd_type(const struct pci_req *req)
{
	bool wr = req->flags & PCI_REQ_WRITE, rd = req->flags & PCI_REQ_READ;

	if (req->at == PCI_AT_TRANSLATION && (req->flags & PCI_REQ_NW))
		wr = false;
	if (wr && rd)
		return VTD_FRCD_Q1_T1 | VTD_FRCD_Q1_T2;
	return wr ? 0 : VTD_FRCD_Q1_T1;
}

static void frcd_write(struct vtd *vtd, unsigned i, const struct pci_req *req, uint8_t reason)
{
	bool pp = req->flags & PCI_REQ_PASID;
	uint64_t q0 = req->addr & VTD_FRCD_Q0_FI_MASK;
	uint64_t q1 = VTD_SET(VTD_FRCD_Q1_SID, req->rid) | frcd_type(req) |
		      VTD_SET(VTD_FRCD_Q1_FR, reason) | VTD_SET(VTD_FRCD_Q1_AT, req->at) |
		      VTD_FRCD_Q1_F;
	uint32_t *r = frcd(vtd, i);

	if (pp) {
		q1 |= VTD_FRCD_Q1_PP | VTD_SET(VTD_FRCD_Q1_PV, req->pasid);
		q1 |= (req->flags & PCI_REQ_PRIV) ? VTD_FRCD_Q1_PRIV : 0;
		q1 |= (req->flags & PCI_REQ_EXEC) ? VTD_FRCD_Q1_EXE : 0;
	}
	r[0] = (uint32_t)q0;
	r[1] = (uint32_t)(q0 >> 32);
	r[2] = (uint32_t)q1;
	r[3] = (uint32_t)(q1 >> 32);
}

/* 4.4 primary fault logging. Lock held. Returns the fate and the index used. */
static enum vtd_fault_fate record(struct vtd *vtd, const struct pci_req *req, uint8_t reason,
				  int *index, struct vtd_msi *msi)
{
	uint32_t *fsts = &vtd->regs[DW(VTD_REG_FSTS)];
	unsigned next = vtd->fault_next;
	bool had_ppf = *fsts & VTD_FSTS_PPF;

	if (*fsts & VTD_FSTS_PFO)
		return VTD_FAULT_PFO;
	for (unsigned i = 0; i < vtd->cfg.nfr; i++)
		if (frcd_pending(vtd, i) && (uint16_t)frcd(vtd, i)[2] == req->rid)
			return VTD_FAULT_COMPRESSED;
	if (frcd_pending(vtd, next)) {
		vtd_fsts_raise(vtd, (uint32_t)VTD_FSTS_PFO, msi);
		return VTD_FAULT_OVERFLOW;
	}
	frcd_write(vtd, next, req, reason);
	vtd->fault_next = (next + 1) % vtd->cfg.nfr;
	*index = (int)next;
	if (!had_ppf) {
		*fsts =
		    (*fsts & ~(uint32_t)VTD_FSTS_FRI_MASK) | (uint32_t)VTD_SET(VTD_FSTS_FRI, next);
		vtd_fsts_raise(vtd, (uint32_t)VTD_FSTS_PPF, msi);
	}
	return VTD_FAULT_RECORDED;
}

void vtd_fault(struct vtd *vtd, const struct pci_req *req, uint8_t reason, bool fpd,
	       struct pci_resp *resp)
{
	struct vtd_trace_event ev = {.kind = VTD_TRACE_FAULT};
	struct vtd_msi msi = {0};
	enum vtd_fault_fate fate = VTD_FAULT_FPD;
	int index = -1;

	resp->status = PCI_UR;
	resp->fault = reason;
	resp->perm = 0;
	resp->addr = 0;
	resp->page_size = 0;
	resp->flags = 0;
	if (fpd && vtd_fault_qualified(reason)) {
		if (VTD_LIKELY(vtd->cb.trace == NULL))
			return;
		pthread_mutex_lock(&vtd->lock);
	} else {
		pthread_mutex_lock(&vtd->lock);
		fate = record(vtd, req, reason, &index, &msi);
		if (fate == VTD_FAULT_RECORDED)
			resp->flags = PCI_RESP_FAULT_RECORDED;
	}
	ev.fault.req = req;
	ev.fault.reason = reason;
	ev.fault.fate = fate;
	ev.fault.index = index;
	vtd_trace(vtd, &ev);
	pthread_mutex_unlock(&vtd->lock);
	vtd_send_msi(vtd, &msi);
}
