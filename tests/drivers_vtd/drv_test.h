/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the VT-d driver's tests: build a machine, send requests to the unit, decode
 * the structures the driver wrote (reading memory the way the hardware does, from RTADDR
 * down, with the spec's field layouts), and read back the descriptors it queued.
 */
#ifndef SOFTIOMMU_TEST_DRV_TEST_H
#define SOFTIOMMU_TEST_DRV_TEST_H

#include <softiommu/machine.h>

#include "check.h"

#include <string.h>

#define SZ_4K 0x1000ull
#define SZ_2M 0x200000ull
#define SZ_1G 0x40000000ull

/* Data pages for DMA live below the allocator (machine_config_default: 4 GiB up). */
#define DATA_BASE 0x40000000ull

/* A quick machine: the default unit, changed by `tweak` (may be NULL). */
static inline struct machine *mk_machine(void (*tweak)(struct machine_config *))
{
	struct machine_config cfg;
	struct machine *m = NULL;

	machine_config_default(&cfg);
	/* Keep waits short while a queue is not processed (a unit without QI processing
	 * times every wait out): the model completes a wait before the first poll. */
	cfg.driver.poll_limit = 200;
	cfg.driver.quiet = true;
	if (tweak)
		tweak(&cfg);
	if (machine_create(&cfg, &m))
		return NULL;
	return m;
}

static inline struct machine_dev *mk_dev(struct machine *m, uint16_t rid, unsigned pasid_width,
					 bool ats)
{
	struct machine_dev_config dc = {
	    .rid = rid, .pasid_width = (uint8_t)pasid_width, .ats = ats};
	struct machine_dev *d = NULL;

	if (machine_add_device(m, &dc, &d))
		return NULL;
	return d;
}

static inline uint64_t mmio_rd(struct machine *m, unsigned off, unsigned size)
{
	uint64_t v = ~0ull;

	vtd_mmio_read(m->vtd, off, size, &v);
	return v;
}

static inline uint64_t rd64(struct machine *m, uint64_t pa)
{
	uint64_t v = 0xdeadbeefdeadbeefull;

	mem_read64(m->mem, pa, &v);
	return v;
}

/* ---- requests ---------------------------------------------------------------------------- */

#define NO_PASID 0xffffffffu

static inline struct pci_resp xlate(struct machine *m, uint16_t rid, uint32_t pasid, uint64_t addr,
				    bool write)
{
	struct pci_req req = {
	    .addr = addr,
	    .pasid = pasid == NO_PASID ? 0 : pasid,
	    .rid = rid,
	    .at = PCI_AT_UNTRANSLATED,
	    .flags = (uint8_t)((pasid == NO_PASID ? 0 : PCI_REQ_PASID) |
			       (write ? PCI_REQ_WRITE : PCI_REQ_READ)),
	};
	struct pci_resp r;

	memset(&r, 0xa5, sizeof(r));
	if (vtd_translate(m->vtd, &req, &r))
		r.status = 0xff;
	return r;
}

/* Same outcome: status, address, page size, permissions, fault reason. */
static inline bool same_resp(const struct pci_resp *a, const struct pci_resp *b)
{
	return a->status == b->status && a->fault == b->fault &&
	       (a->status != PCI_SC ||
		(a->addr == b->addr && a->page_size == b->page_size && a->perm == b->perm));
}

/* ---- structures, decoded from memory as the hardware finds them --------------------------- */

static inline uint64_t root_table(struct machine *m)
{
	return mmio_rd(m, VTD_REG_RTADDR, 8) & VTD_RTADDR_RTA_MASK;
}

/* The scalable-mode context entry of `rid` (2.2, 2.4); 0 if the root half is not present. */
static inline int sm_ctx(struct machine *m, uint16_t rid, uint64_t q[4])
{
	unsigned devfn = PCI_RID_DEVFN(rid);
	uint64_t half = rd64(m, root_table(m) + PCI_RID_BUS(rid) * 16 + 8 * (devfn >> 7));

	if (!(half & VTD_SRE_Q0_LP))
		return -1;
	for (unsigned i = 0; i < 4; i++)
		q[i] = rd64(m, (half & VTD_SRE_Q0_LCTP_MASK) + (devfn & 0x7f) * 32 + 8 * i);
	return 0;
}

/* The legacy context entry of `rid` (2.1, 2.3). */
static inline int legacy_ctx(struct machine *m, uint16_t rid, uint64_t q[2])
{
	uint64_t re = rd64(m, root_table(m) + PCI_RID_BUS(rid) * 16);

	if (!(re & VTD_RE_Q0_P))
		return -1;
	q[0] = rd64(m, (re & VTD_RE_Q0_CTP_MASK) + PCI_RID_DEVFN(rid) * 16);
	q[1] = rd64(m, (re & VTD_RE_Q0_CTP_MASK) + PCI_RID_DEVFN(rid) * 16 + 8);
	return 0;
}

/* The PASID-table entry (3.1-3.3): -1 no context, -2 PASID beyond the directory (PDTS),
 * -3 directory entry not present. */
static inline int pasid_entry(struct machine *m, uint16_t rid, uint32_t pasid, uint64_t q[8])
{
	uint64_t ce[4], de;

	if (sm_ctx(m, rid, ce) || !(ce[0] & VTD_SCE_Q0_P))
		return -1;
	if ((pasid >> 6) >= (1u << (VTD_GET(ce[0], VTD_SCE_Q0_PDTS) + 7)))
		return -2;
	de = rd64(m, (ce[0] & VTD_SCE_Q0_PASIDDIRPTR_MASK) + 8ull * (pasid >> 6));
	if (!(de & VTD_PDE_P))
		return -3;
	for (unsigned i = 0; i < 8; i++)
		q[i] = rd64(m, (de & VTD_PDE_SMPTBLPTR_MASK) + (pasid & 63) * 64 + 8 * i);
	return 0;
}

/* ---- the invalidation queue ------------------------------------------------------------------ */

#define QLOG_MAX 256

/* Descriptors queued between qlog_mark() and qlog_read(). */
struct qlog {
	uint64_t tail; /* IQT at the mark, in bytes */
	unsigned n;
	uint64_t d[QLOG_MAX][4];
};

static inline void qlog_mark(struct machine *m, struct qlog *l)
{
	l->tail = mmio_rd(m, VTD_REG_IQT, 8) & VTD_IQT_QT_MASK;
	l->n = 0;
}

static inline void qlog_read(struct machine *m, struct qlog *l)
{
	uint64_t iqa = mmio_rd(m, VTD_REG_IQA, 8);
	uint64_t base = iqa & VTD_IQA_IQA_MASK, size = 4096ull << VTD_GET(iqa, VTD_IQA_QS);
	unsigned dsz = (iqa & VTD_IQA_DW) ? 32 : 16;
	uint64_t t = l->tail, end = mmio_rd(m, VTD_REG_IQT, 8) & VTD_IQT_QT_MASK;

	l->n = 0;
	while (t != end && l->n < QLOG_MAX) {
		for (unsigned i = 0; i < 4; i++)
			l->d[l->n][i] = i < dsz / 8 ? rd64(m, base + t + 8 * i) : 0;
		l->n++;
		t = (t + dsz) % size;
	}
}

/* How many descriptors of `type` the log holds (waits are type 5). */
static inline unsigned qlog_count(const struct qlog *l, unsigned type)
{
	unsigned c = 0;

	for (unsigned i = 0; i < l->n; i++)
		c += VTD_INV_TYPE(l->d[i][0]) == type;
	return c;
}

/* The index of the k-th descriptor of `type`, or -1. */
static inline int qlog_find(const struct qlog *l, unsigned type, unsigned k)
{
	for (unsigned i = 0; i < l->n; i++) {
		if (VTD_INV_TYPE(l->d[i][0]) == type && k-- == 0)
			return (int)i;
	}
	return -1;
}

/* Decode the S-bit size encoding of a device-TLB descriptor (5.4). */
static inline void devtlb_range(uint64_t q1, bool s, uint64_t *base, uint64_t *size)
{
	pci_ats_decode_range(q1 & ~0xfffull, s, base, size);
}

#endif
