/* SPDX-License-Identifier: MIT */
/*
 * A small "guest driver" for the invalidation tests: it owns an invalidation queue in
 * memory, builds descriptors the way the digest (section 5) lays them out, submits them by
 * writing IQT, and records what comes back - fault and invalidation-completion events,
 * VTD_TRACE_INV events, and the requests that reach a recording ATS port.
 */
#ifndef SOFTIOMMU_TEST_QI_GUEST_H
#define SOFTIOMMU_TEST_QI_GUEST_H

#include <softiommu/vtd.h>

#include <string.h>

#define QG_MEM_SIZE (256ull << 20) /* small enough to point past it */
#define QG_QUEUE    0x100000ull	   /* the queue */
#define QG_STATUS   0x200000ull	   /* status words of invalidation waits */

struct qg_desc {
	uint64_t q[4];
};

#define QG_TRACE_MAX 64

struct qg {
	struct mem *m;
	struct vtd *vtd;
	struct vtd_config cfg;
	uint64_t base; /* queue base */
	uint64_t size; /* queue bytes */
	unsigned dsz;  /* descriptor bytes: 16 or 32 */
	uint64_t tail; /* where software writes next */
	int fault_events, inv_events;
	uint32_t inv_data, status_at_event; /* status word QG_STATUS seen by the inv event */
	uint64_t inv_addr;
	/* VTD_TRACE_INV events, with their descriptors copied: event n is in slot
	 * n % QG_TRACE_MAX. */
	int ntrace;
	struct vtd_trace_event trace[QG_TRACE_MAX];
	struct qg_desc trace_desc[QG_TRACE_MAX];
};

static void qg_fault_event(void *ctx, uint32_t data, uint64_t addr)
{
	struct qg *g = ctx;

	(void)data;
	(void)addr;
	g->fault_events++;
}

static void qg_inv_event(void *ctx, uint32_t data, uint64_t addr)
{
	struct qg *g = ctx;

	g->inv_events++;
	g->inv_data = data;
	g->inv_addr = addr;
	g->status_at_event = 0;
	mem_read32(g->m, QG_STATUS, &g->status_at_event);
}

static void qg_trace(void *ctx, const struct vtd_trace_event *ev)
{
	struct qg *g = ctx;

	unsigned i = (unsigned)g->ntrace % QG_TRACE_MAX;

	if (ev->kind != VTD_TRACE_INV)
		return;
	g->trace[i] = *ev;
	memset(&g->trace_desc[i], 0, sizeof(g->trace_desc[0]));
	if (ev->inv.desc)
		memcpy(&g->trace_desc[i], ev->inv.desc, g->dsz);
	g->ntrace++;
}

/* The last VTD_TRACE_INV event (the array keeps the last QG_TRACE_MAX), or NULL. */
static inline const struct vtd_trace_event *qg_last(const struct qg *g)
{
	return g->ntrace ? &g->trace[(unsigned)(g->ntrace - 1) % QG_TRACE_MAX] : NULL;
}

static inline uint64_t qg_rd(struct qg *g, unsigned off, unsigned size)
{
	uint64_t v = ~0ull;

	if (vtd_mmio_read(g->vtd, off, size, &v))
		return ~0ull;
	return v;
}

static inline void qg_wr(struct qg *g, unsigned off, unsigned size, uint64_t v)
{
	vtd_mmio_write(g->vtd, off, size, v);
}

static inline uint32_t qg_fsts(struct qg *g)
{
	return (uint32_t)qg_rd(g, VTD_REG_FSTS, 4);
}

static inline uint64_t qg_iqh(struct qg *g)
{
	return qg_rd(g, VTD_REG_IQH, 8);
}

static inline uint64_t qg_iqercd(struct qg *g)
{
	return qg_rd(g, VTD_REG_IQERCD, 8);
}

static inline struct vtd_inv_stats qg_stats(struct qg *g)
{
	struct vtd_stats st;

	memset(&st, 0xff, sizeof(st));
	vtd_get_stats(g->vtd, &st);
	return st.inv;
}

/* Set GCMD.QIE to `on`, keeping the other enables, as a driver does. */
static inline void qg_qie(struct qg *g, bool on)
{
	uint32_t gsts = (uint32_t)qg_rd(g, VTD_REG_GSTS, 4) & VTD_GSTS_PERSISTENT_MASK;

	gsts = on ? gsts | (uint32_t)VTD_GCMD_QIE : gsts & ~(uint32_t)VTD_GCMD_QIE;
	qg_wr(g, VTD_REG_GCMD, 4, gsts);
}

/* Program IQA (base, 2^qs pages, descriptor width) with QI disabled, as software must. */
static inline void qg_setup_queue(struct qg *g, uint64_t base, unsigned qs, bool dw256)
{
	g->base = base;
	g->size = 4096ull << qs;
	g->dsz = dw256 ? 32 : 16;
	g->tail = 0;
	qg_wr(g, VTD_REG_IQA, 8, base | qs | (dw256 ? VTD_IQA_DW : 0));
}

/*
 * A unit from `cfg` with its queue at QG_QUEUE (2^qs pages, 256-bit descriptors if
 * `dw256`), fault and invalidation events unmasked, and QI enabled. 0 or -1.
 */
static inline int qg_init(struct qg *g, const struct vtd_config *cfg, bool dw256, unsigned qs)
{
	struct vtd_callbacks cb = {
	    .fault_event = qg_fault_event, .inv_event = qg_inv_event, .trace = qg_trace};

	memset(g, 0, sizeof(*g));
	g->cfg = *cfg;
	g->m = mem_create_sparse(QG_MEM_SIZE);
	if (!g->m)
		return -1;
	if (vtd_create(cfg, g->m, &cb, g, &g->vtd)) {
		mem_destroy(g->m);
		return -1;
	}
	qg_wr(g, VTD_REG_FEDATA, 4, 0x41);
	qg_wr(g, VTD_REG_FEADDR, 4, 0xfee00000);
	qg_wr(g, VTD_REG_FECTL, 4, 0);
	qg_wr(g, VTD_REG_IEDATA, 4, 0x42);
	qg_wr(g, VTD_REG_IEADDR, 4, 0xfee01000);
	qg_wr(g, VTD_REG_IEUADDR, 4, 0x1);
	qg_wr(g, VTD_REG_IECTL, 4, 0);
	qg_setup_queue(g, QG_QUEUE, qs, dw256);
	qg_qie(g, true);
	return 0;
}

static inline void qg_fini(struct qg *g)
{
	vtd_destroy(g->vtd);
	mem_destroy(g->m);
}

/* Write a descriptor at the tail (without submitting it). */
static inline void qg_put(struct qg *g, struct qg_desc d)
{
	for (unsigned i = 0; i < g->dsz / 8; i++)
		mem_write64(g->m, g->base + g->tail + 8 * i, d.q[i]);
	g->tail = (g->tail + g->dsz) % g->size;
}

/* Hand everything written so far to the hardware. */
static inline void qg_submit(struct qg *g)
{
	qg_wr(g, VTD_REG_IQT, 8, g->tail);
}

static inline void qg_run(struct qg *g, struct qg_desc d)
{
	qg_put(g, d);
	qg_submit(g);
}

static inline uint32_t qg_status(struct qg *g, unsigned i)
{
	uint32_t v = 0xdeaddead;

	mem_read32(g->m, QG_STATUS + 4 * i, &v);
	return v;
}

/* ---- descriptors (digest 5.2-5.9) ------------------------------------------------------ */

static inline struct qg_desc qd(uint64_t q0, uint64_t q1)
{
	return (struct qg_desc){{q0, q1, 0, 0}};
}

static inline struct qg_desc qd_cc(unsigned g, uint16_t did, uint16_t sid, unsigned fm)
{
	return qd(VTD_INV_CC | VTD_SET(VTD_INV_CC_G, g) | VTD_SET(VTD_INV_CC_DID, did) |
		      VTD_SET(VTD_INV_CC_SID, sid) | VTD_SET(VTD_INV_CC_FM, fm),
		  0);
}

static inline struct qg_desc qd_iotlb(unsigned g, uint16_t did, uint64_t addr, unsigned am, bool ih)
{
	return qd(VTD_INV_IOTLB | VTD_SET(VTD_INV_IOTLB_G, g) | VTD_SET(VTD_INV_IOTLB_DID, did),
		  addr | VTD_SET(VTD_INV_IOTLB_AM, am) | (ih ? VTD_INV_IOTLB_IH : 0));
}

static inline struct qg_desc qd_devtlb(uint16_t sid, uint64_t addr, bool s)
{
	return qd(VTD_INV_DEVTLB | VTD_SET(VTD_INV_DEVTLB_SID, sid), addr | (s ? 1 : 0));
}

static inline struct qg_desc qd_iec(bool index, uint16_t iidx, unsigned im)
{
	return qd(VTD_INV_IEC | (index ? VTD_INV_IEC_G : 0) | VTD_SET(VTD_INV_IEC_IIDX, iidx) |
		      VTD_SET(VTD_INV_IEC_IM, im),
		  0);
}

/* Invalidation wait: `flags` is VTD_INV_WAIT_IF/SW/FN/PD; the status word is QG_STATUS+4i. */
static inline struct qg_desc qd_wait(uint64_t flags, uint32_t data, unsigned i)
{
	return qd(VTD_INV_WAIT | flags | VTD_SET(VTD_INV_WAIT_STDATA, data), QG_STATUS + 4 * i);
}

static inline struct qg_desc qd_piotlb(unsigned g, uint16_t did, uint32_t pasid, uint64_t addr,
				       unsigned am, bool ih)
{
	return qd(VTD_INV_PIOTLB | VTD_SET(VTD_INV_PIOTLB_G, g) | VTD_SET(VTD_INV_PIOTLB_DID, did) |
		      VTD_SET(VTD_INV_PIOTLB_PASID, pasid),
		  addr | VTD_SET(VTD_INV_PIOTLB_AM, am) | (ih ? VTD_INV_PIOTLB_IH : 0));
}

static inline struct qg_desc qd_pc(unsigned g, uint16_t did, uint32_t pasid)
{
	return qd(VTD_INV_PC | VTD_SET(VTD_INV_PC_G, g) | VTD_SET(VTD_INV_PC_DID, did) |
		      VTD_SET(VTD_INV_PC_PASID, pasid),
		  0);
}

static inline struct qg_desc qd_pdevtlb(uint16_t sid, uint32_t pasid, uint64_t addr, bool s,
					bool global)
{
	return qd(VTD_INV_PDEVTLB | VTD_SET(VTD_INV_PDEVTLB_SID, sid) |
		      VTD_SET(VTD_INV_PDEVTLB_PASID, pasid),
		  addr | (s ? VTD_INV_PDEVTLB_S : 0) | (global ? VTD_INV_PDEVTLB_G : 0));
}

/* ---- a recording ATS port -------------------------------------------------------------- */

#define REC_MAX 32

struct rec_port {
	int ret; /* what invalidate() answers */
	unsigned count;
	struct pci_ats_inv inv[REC_MAX];
};

static int rec_invalidate(void *ctx, const struct pci_ats_inv *inv)
{
	struct rec_port *p = ctx;

	if (p->count < REC_MAX)
		p->inv[p->count] = *inv;
	p->count++;
	return p->ret;
}

static inline int qg_connect(struct qg *g, uint16_t rid, struct rec_port *p)
{
	struct pci_ats_port port = {.invalidate = rec_invalidate, .ctx = p};

	return vtd_connect_ats(g->vtd, rid, &port);
}

#endif
