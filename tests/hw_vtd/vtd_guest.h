/* SPDX-License-Identifier: MIT */
/*
 * A tiny "guest driver" for the VT-d model tests: it places tables in memory with
 * mem_write64 and programs the unit through MMIO only, as a kernel would.
 */
#ifndef SOFTIOMMU_TEST_VTD_GUEST_H
#define SOFTIOMMU_TEST_VTD_GUEST_H

#include <softiommu/vtd.h>

#include <stdio.h>
#include <string.h>

#define G_MEM_SIZE   (1ull << 33)  /* 8 GiB of sparse memory */
#define G_TABLE_BASE 0x10000000ull /* table pages are handed out from here */

struct guest {
	struct mem *m;
	struct vtd *vtd;
	uint64_t next; /* next free table page */
	uint64_t root; /* root table */
	bool scalable;
	int fault_events; /* fault_event callbacks seen */
	uint32_t ev_data;
	uint64_t ev_addr;
};

/* The unit raises fault events from whichever thread recorded the fault: device threads
 * of the multi-threaded tests fault at the same time. */
static void g_fault_event(void *ctx, uint32_t data, uint64_t addr)
{
	struct guest *g = ctx;

	__atomic_fetch_add(&g->fault_events, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&g->ev_data, data, __ATOMIC_RELAXED);
	__atomic_store_n(&g->ev_addr, addr, __ATOMIC_RELAXED);
}

static inline uint64_t g_page(struct guest *g)
{
	uint64_t p = g->next;

	g->next += 4096;
	return p;
}

static inline uint64_t g_rd(struct guest *g, uint64_t pa)
{
	uint64_t v = 0;

	mem_read64(g->m, pa, &v);
	return v;
}

static inline void g_wr(struct guest *g, uint64_t pa, uint64_t v)
{
	mem_write64(g->m, pa, v);
}

static inline uint64_t g_mmio_rd(struct guest *g, unsigned off, unsigned size)
{
	uint64_t v = ~0ull;

	if (vtd_mmio_read(g->vtd, off, size, &v))
		return ~0ull;
	return v;
}

static inline int g_mmio_wr(struct guest *g, unsigned off, unsigned size, uint64_t v)
{
	return vtd_mmio_write(g->vtd, off, size, v);
}

/* Set the root table (with TTM) and enable translation, polling GSTS like a driver. */
static inline void g_enable(struct guest *g)
{
	uint32_t gsts;

	g_mmio_wr(g, VTD_REG_RTADDR, 8, g->root | (g->scalable ? (1ull << 10) : 0));
	gsts = (uint32_t)g_mmio_rd(g, VTD_REG_GSTS, 4) & VTD_GSTS_PERSISTENT_MASK;
	g_mmio_wr(g, VTD_REG_GCMD, 4, gsts | VTD_GCMD_SRTP);
	gsts = (uint32_t)g_mmio_rd(g, VTD_REG_GSTS, 4) & VTD_GSTS_PERSISTENT_MASK;
	g_mmio_wr(g, VTD_REG_GCMD, 4, gsts | VTD_GCMD_TE);
}

/*
 * Most tests check what a walk of memory gives, and rewrite tables between requests
 * without invalidating: they run without translation caches unless they set this.
 */
static bool g_keep_caches;

static inline int g_init(struct guest *g, const struct vtd_config *cfg_in, bool scalable)
{
	struct vtd_callbacks cb = {.fault_event = g_fault_event};
	struct vtd_config c = *cfg_in, *cfg = &c;

	if (!g_keep_caches) {
		c.context_cache.sets = 0;
		c.pasid_cache.sets = 0;
		c.iotlb.sets = 0;
		c.pscache.sets = 0;
	}
	memset(g, 0, sizeof(*g));
	g->m = mem_create_sparse(G_MEM_SIZE);
	if (!g->m)
		return -1;
	if (vtd_create(cfg, g->m, &cb, g, &g->vtd)) {
		mem_destroy(g->m);
		return -1;
	}
	g->next = G_TABLE_BASE;
	g->scalable = scalable;
	g->root = g_page(g);
	/* Unmask the fault event so tests see interrupts. */
	g_mmio_wr(g, VTD_REG_FEDATA, 4, 0x4a);
	g_mmio_wr(g, VTD_REG_FEADDR, 4, 0xfee00000);
	g_mmio_wr(g, VTD_REG_FECTL, 4, 0);
	g_enable(g);
	return 0;
}

static inline void g_fini(struct guest *g)
{
	vtd_destroy(g->vtd);
	mem_destroy(g->m);
}

/* ---- context entries ------------------------------------------------------------------ */

/* Legacy: the context entry of `rid` (root entry and context table made on demand). */
static inline uint64_t g_legacy_ctx_pa(struct guest *g, uint16_t rid)
{
	uint64_t re_pa = g->root + PCI_RID_BUS(rid) * 16, re = g_rd(g, re_pa);

	if (!(re & 1)) {
		re = g_page(g) | 1;
		g_wr(g, re_pa, re);
	}
	return (re & ~0xfffull) + PCI_RID_DEVFN(rid) * 16;
}

static inline void g_legacy_ctx(struct guest *g, uint16_t rid, uint64_t q0, uint64_t q1)
{
	uint64_t pa = g_legacy_ctx_pa(g, rid);

	g_wr(g, pa, q0);
	g_wr(g, pa + 8, q1);
}

/* Scalable: the 32-byte context entry of `rid`. */
static inline uint64_t g_sm_ctx_pa(struct guest *g, uint16_t rid)
{
	unsigned devfn = PCI_RID_DEVFN(rid);
	uint64_t re_pa = g->root + PCI_RID_BUS(rid) * 16 + (devfn >> 7) * 8, re = g_rd(g, re_pa);

	if (!(re & 1)) {
		re = g_page(g) | 1;
		g_wr(g, re_pa, re);
	}
	return (re & ~0xfffull) + (devfn & 0x7f) * 32;
}

/* A scalable context entry with a fresh PASID directory; returns the directory. */
static inline uint64_t g_sm_ctx(struct guest *g, uint16_t rid, uint64_t flags, unsigned pdts)
{
	uint64_t pa = g_sm_ctx_pa(g, rid), dir = g_page(g);

	/* PDTS up to 7 needs up to 2^14 directory entries = 32 pages; take them. */
	for (unsigned i = 1; i < (1u << (pdts + 7)) * 8 / 4096; i++)
		g_page(g);
	g_wr(g, pa, dir | ((uint64_t)pdts << 9) | flags | VTD_SCE_Q0_P);
	g_wr(g, pa + 8, 0);
	return dir;
}

/* The 64-byte PASID-table entry of `pasid` below directory `dir` (made on demand). */
static inline uint64_t g_pe_pa(struct guest *g, uint64_t dir, uint32_t pasid)
{
	uint64_t de_pa = dir + (pasid >> 6) * 8, de = g_rd(g, de_pa);

	if (!(de & 1)) {
		de = g_page(g) | 1;
		g_wr(g, de_pa, de);
	}
	return (de & ~0xfffull) + (pasid & 63) * 64;
}

static inline void g_pe(struct guest *g, uint64_t dir, uint32_t pasid, uint64_t q0, uint64_t q1,
			uint64_t q2)
{
	uint64_t pa = g_pe_pa(g, dir, pasid);

	g_wr(g, pa, q0);
	g_wr(g, pa + 8, q1);
	g_wr(g, pa + 16, q2);
}

/* ---- page tables ---------------------------------------------------------------------- */

/*
 * Map `va` -> `pa` with a leaf of `shift` (12, 21, 30) in a `levels`-level table at `root`.
 * `tbl` is OR-ed into each non-leaf entry, `leaf` into the leaf (add the PS bit yourself
 * for large pages via `ps`). Works for both stages: the caller picks the bits.
 */
static inline void g_map(struct guest *g, uint64_t root, unsigned levels, uint64_t va, uint64_t pa,
			 unsigned shift, uint64_t tbl, uint64_t leaf, uint64_t ps)
{
	uint64_t table = root;
	unsigned leaf_lvl = (shift - 12) / 9 + 1;

	for (unsigned lvl = levels; lvl > leaf_lvl; lvl--) {
		uint64_t e_pa = table + VTD_PT_INDEX(va, lvl) * 8, e = g_rd(g, e_pa);

		if (!(e & 3)) {
			e = g_page(g) | tbl;
			g_wr(g, e_pa, e);
		}
		table = e & VTD_GENMASK(51, 12);
	}
	g_wr(g, table + VTD_PT_INDEX(va, leaf_lvl) * 8,
	     (pa & ~((1ull << shift) - 1)) | leaf | (shift > 12 ? ps : 0));
}

#define FS_TBL (VTD_FL_P | VTD_FL_RW | VTD_FL_US)
#define SS_TBL (VTD_SL_R | VTD_SL_W)

/* The address of the entry that maps `va` at `lvl` (tables must exist). */
static inline uint64_t g_entry_pa(struct guest *g, uint64_t root, unsigned levels, uint64_t va,
				  unsigned lvl)
{
	uint64_t table = root;

	for (unsigned l = levels; l > lvl; l--)
		table = g_rd(g, table + VTD_PT_INDEX(va, l) * 8) & VTD_GENMASK(51, 12);
	return table + VTD_PT_INDEX(va, lvl) * 8;
}

/* ---- requests ------------------------------------------------------------------------- */

#define NO_PASID (~0u)

static inline struct pci_resp g_req(struct guest *g, uint16_t rid, uint32_t pasid, uint64_t addr,
				    unsigned flags, unsigned at)
{
	struct pci_req req = {.addr = addr, .rid = rid, .at = (uint8_t)at};
	struct pci_resp resp;

	memset(&resp, 0xa5, sizeof(resp));
	req.flags = (uint8_t)flags;
	if (pasid != NO_PASID) {
		req.flags |= PCI_REQ_PASID;
		req.pasid = pasid;
	}
	if (vtd_translate(g->vtd, &req, &resp))
		resp.status = 0xee;
	return resp;
}

static inline struct pci_resp g_read(struct guest *g, uint16_t rid, uint32_t pasid, uint64_t addr)
{
	return g_req(g, rid, pasid, addr, PCI_REQ_READ, PCI_AT_UNTRANSLATED);
}

static inline struct pci_resp g_write(struct guest *g, uint16_t rid, uint32_t pasid, uint64_t addr)
{
	return g_req(g, rid, pasid, addr, PCI_REQ_WRITE, PCI_AT_UNTRANSLATED);
}

/* FRCD i as two quad-words, read through MMIO. */
static inline void g_frcd(struct guest *g, unsigned i, uint64_t *q0, uint64_t *q1)
{
	unsigned off = (unsigned)VTD_GET(vtd_cap(g->vtd), VTD_CAP_FRO) * 16 + i * 16;

	*q0 = g_mmio_rd(g, off, 8);
	*q1 = g_mmio_rd(g, off + 8, 8);
}

/* Clear every pending fault record and FSTS status (what a fault handler does). */
static inline void g_clear_faults(struct guest *g)
{
	unsigned nfr = (unsigned)VTD_GET(vtd_cap(g->vtd), VTD_CAP_NFR) + 1;
	unsigned fro = (unsigned)VTD_GET(vtd_cap(g->vtd), VTD_CAP_FRO) * 16;

	for (unsigned i = 0; i < nfr; i++)
		g_mmio_wr(g, fro + i * 16 + 12, 4, 0x80000000u);
	g_mmio_wr(g, VTD_REG_FSTS, 4, 0x7f);
}

#endif
