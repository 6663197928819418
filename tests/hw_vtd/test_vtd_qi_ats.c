// SPDX-License-Identifier: MIT
/*
 * Device-TLB invalidation end to end: a PCI endpoint with PASID and ATS fills its ATC
 * through the VT-d unit's ATS translation requests; software changes a mapping and sends
 * device-TLB invalidations through the queue (digest 5.4, 5.9); the unit forwards them to
 * the endpoint's ATS port and the stale ATC entries go. An endpoint that hangs or is
 * removed makes the invalidation time out (ITE) without anything hanging.
 */
#include "check.h"
#include "vtd_guest.h"

#define RID   PCI_RID(3, 4, 1)
#define PASID 5u
#define DID   42u
#define DATA  0x100000000ull /* DMA targets, inside the 8 GiB of memory */
#define IOVA  0x10000ull     /* second stage, requests without PASID (RID_PASID 0) */
#define VA    0x20000ull     /* first stage, PASID 5 */

struct ats_env {
	struct guest g;
	struct pci_endpoint *ep;
	uint64_t ss_root, fs_root, iq, st;
	uint64_t tail;
};

static uint64_t pe_q0(unsigned pgtt, uint64_t slptptr, unsigned aw)
{
	return VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, pgtt) | VTD_SET(VTD_PE_Q0_AW, aw) | slptptr;
}

/* Tables for both request kinds, an ATS endpoint connected to the unit, and QI enabled. */
static int env_init(struct ats_env *e)
{
	struct vtd_config c;
	struct pci_endpoint_config ec = {0};
	struct pci_ats_port port;
	uint64_t dir;
	uint32_t gsts;

	memset(e, 0, sizeof(*e));
	vtd_config_default(&c);
	if (g_init(&e->g, &c, true))
		return -1;
	dir = g_sm_ctx(&e->g, RID, VTD_SCE_Q0_PASIDE | VTD_SCE_Q0_DTE, 7);
	e->ss_root = g_page(&e->g);
	e->fs_root = g_page(&e->g);
	g_pe(&e->g, dir, 0, pe_q0(VTD_PGTT_SS, e->ss_root, VTD_AW_48BIT), DID, 0);
	g_pe(&e->g, dir, PASID, pe_q0(VTD_PGTT_FS, 0, 0), DID, e->fs_root);
	g_map(&e->g, e->ss_root, 4, IOVA, DATA + IOVA, 12, SS_TBL, VTD_SL_R | VTD_SL_W, 0);
	g_map(&e->g, e->fs_root, 4, VA, DATA + VA, 12, FS_TBL, FS_TBL, 0);
	ec.rid = RID;
	ec.pasid_width = 20;
	ec.pasid_enable = true;
	ec.ats = true;
	ec.ats_enable = true;
	ec.ats_global_inv = true;
	ec.atc_sets = 16;
	ec.atc_ways = 4;
	ec.agent = vtd_translation_agent(e->g.vtd);
	ec.mem = e->g.m;
	if (pci_endpoint_create(&ec, &e->ep))
		return -1;
	port = pci_endpoint_ats_port(e->ep);
	if (vtd_connect_ats(e->g.vtd, RID, &port))
		return -1;
	/* The invalidation queue: one page of 256-bit descriptors, QI on, TE kept. */
	e->iq = g_page(&e->g);
	e->st = g_page(&e->g);
	g_mmio_wr(&e->g, VTD_REG_IQA, 8, e->iq | VTD_IQA_DW);
	gsts = (uint32_t)g_mmio_rd(&e->g, VTD_REG_GSTS, 4) & VTD_GSTS_PERSISTENT_MASK;
	g_mmio_wr(&e->g, VTD_REG_GCMD, 4, gsts | VTD_GCMD_QIE);
	return 0;
}

static void env_fini(struct ats_env *e)
{
	pci_endpoint_destroy(e->ep);
	g_fini(&e->g);
}

/* Queue one descriptor and a wait (status `n`), submit, and return the status read back. */
static uint32_t submit(struct ats_env *e, uint64_t q0, uint64_t q1, uint32_t n)
{
	uint32_t st = 0;

	g_wr(&e->g, e->iq + e->tail, q0);
	g_wr(&e->g, e->iq + e->tail + 8, q1);
	g_wr(&e->g, e->iq + e->tail + 16, 0);
	g_wr(&e->g, e->iq + e->tail + 24, 0);
	e->tail = (e->tail + 32) % 4096;
	g_wr(&e->g, e->iq + e->tail,
	     VTD_INV_WAIT | VTD_INV_WAIT_SW | VTD_SET(VTD_INV_WAIT_STDATA, n));
	g_wr(&e->g, e->iq + e->tail + 8, e->st);
	g_wr(&e->g, e->iq + e->tail + 16, 0);
	g_wr(&e->g, e->iq + e->tail + 24, 0);
	e->tail = (e->tail + 32) % 4096;
	g_mmio_wr(&e->g, VTD_REG_IQT, 8, e->tail);
	mem_read32(e->g.m, e->st, &st);
	return st;
}

static uint64_t devtlb(void)
{
	return VTD_INV_DEVTLB | VTD_SET(VTD_INV_DEVTLB_SID, RID);
}

static uint64_t pdevtlb(uint32_t pasid)
{
	return VTD_INV_PDEVTLB | VTD_SET(VTD_INV_PDEVTLB_SID, RID) |
	       VTD_SET(VTD_INV_PDEVTLB_PASID, pasid);
}

static int dma_word(struct ats_env *e, unsigned flags, uint32_t pasid, uint64_t addr, uint32_t v)
{
	return pci_endpoint_dma_write(e->ep, flags, pasid, addr, &v, sizeof(v), NULL);
}

static uint32_t mem_word(struct ats_env *e, uint64_t pa)
{
	uint32_t v = 0;

	mem_read32(e->g.m, pa, &v);
	return v;
}

/* A remapped page keeps being served from the ATC until the device-TLB invalidation. */
static void test_devtlb_no_pasid(void)
{
	struct ats_env e;
	struct pci_atc_view view;
	struct pci_endpoint_stats st;

	CHECK_EQ(env_init(&e), 0);
	CHECK_EQ(dma_word(&e, 0, 0, IOVA, 0x1111), 0);
	CHECK_EQ(dma_word(&e, PCI_DMA_PASID, PASID, VA, 0x2222), 0);
	CHECK_EQ(mem_word(&e, DATA + IOVA), 0x1111);
	CHECK_EQ(mem_word(&e, DATA + VA), 0x2222);
	CHECK_EQ(pci_endpoint_atc_peek(e.ep, 0, 0, IOVA, &view), 0);
	CHECK_EQ(view.pa, DATA + IOVA);
	/* Software moves the page (and would invalidate the IOTLB); the ATC is stale. */
	g_map(&e.g, e.ss_root, 4, IOVA, DATA + 0x50000, 12, SS_TBL, VTD_SL_R | VTD_SL_W, 0);
	CHECK_EQ(dma_word(&e, 0, 0, IOVA, 0x3333), 0);
	CHECK_EQ(mem_word(&e, DATA + IOVA), 0x3333); /* still the old page */
	/* The IOTLB first (page-selective in the domain), as software must, then the
	 * device-TLB invalidation (no PASID) of that page: gone; PASID entries stay. */
	CHECK_EQ(submit(&e,
			VTD_INV_IOTLB | VTD_SET(VTD_INV_IOTLB_G, VTD_IOTLB_GRAN_PAGE) |
			    VTD_SET(VTD_INV_IOTLB_DID, DID),
			IOVA, 9),
		 9);
	CHECK_EQ(pci_endpoint_atc_peek(e.ep, 0, 0, IOVA, &view), 0); /* the ATC still has it */
	CHECK_EQ(submit(&e, devtlb(), IOVA, 1), 1);
	CHECK_EQ(pci_endpoint_atc_peek(e.ep, 0, 0, IOVA, &view), -ENOENT);
	CHECK_EQ(pci_endpoint_atc_peek(e.ep, PCI_DMA_PASID, PASID, VA, &view), 0);
	CHECK_EQ(dma_word(&e, 0, 0, IOVA, 0x4444), 0);
	CHECK_EQ(mem_word(&e, DATA + 0x50000), 0x4444);
	CHECK_EQ(mem_word(&e, DATA + IOVA), 0x3333);
	CHECK_EQ(pci_endpoint_get_stats(e.ep, &st), 0);
	CHECK_EQ(st.invalidations, 1);
	CHECK_EQ(g_mmio_rd(&e.g, VTD_REG_FSTS, 4), 0);
	env_fini(&e);
}

/* PASID-based device-TLB invalidation: one PASID, then every PASID (G). */
static void test_devtlb_pasid(void)
{
	struct ats_env e;
	struct pci_atc_view view;

	CHECK_EQ(env_init(&e), 0);
	CHECK_EQ(dma_word(&e, 0, 0, IOVA, 1), 0);
	CHECK_EQ(dma_word(&e, PCI_DMA_PASID, PASID, VA, 2), 0);
	/* The wrong PASID removes nothing. */
	CHECK_EQ(submit(&e, pdevtlb(PASID + 1), VA, 1), 1);
	CHECK_EQ(pci_endpoint_atc_peek(e.ep, PCI_DMA_PASID, PASID, VA, &view), 0);
	/* The right PASID, a 2 MiB range around the page (S = 1, bits 19:12 set). */
	CHECK_EQ(submit(&e, pdevtlb(PASID), 0xff000 | VTD_INV_PDEVTLB_S, 2), 2);
	CHECK_EQ(pci_endpoint_atc_peek(e.ep, PCI_DMA_PASID, PASID, VA, &view), -ENOENT);
	CHECK_EQ(pci_endpoint_atc_peek(e.ep, 0, 0, IOVA, &view), 0); /* no-PASID entry stays */
	/* Refill, then G: every PASID-tagged entry of the range. */
	CHECK_EQ(dma_word(&e, PCI_DMA_PASID, PASID, VA, 3), 0);
	CHECK_EQ(pci_endpoint_atc_peek(e.ep, PCI_DMA_PASID, PASID, VA, &view), 0);
	CHECK_EQ(submit(&e, pdevtlb(7), VA | VTD_INV_PDEVTLB_G, 3), 3);
	CHECK_EQ(pci_endpoint_atc_peek(e.ep, PCI_DMA_PASID, PASID, VA, &view), -ENOENT);
	CHECK_EQ(g_mmio_rd(&e.g, VTD_REG_FSTS, 4), 0);
	env_fini(&e);
}

/* A hung or removed endpoint: ITE, the wait is not completed, the ATC of a hung device
 * is left as it was; after recovery the invalidation goes through. */
static void test_endpoint_gone(void)
{
	struct ats_env e;
	struct pci_atc_view view;
	uint64_t rec;

	CHECK_EQ(env_init(&e), 0);
	CHECK_EQ(dma_word(&e, 0, 0, IOVA, 1), 0);
	CHECK_EQ(pci_endpoint_set_state(e.ep, PCI_EP_HUNG), 0);
	CHECK_EQ(submit(&e, devtlb(), IOVA, 1), 0); /* the wait behind it is aborted */
	CHECK_EQ(g_mmio_rd(&e.g, VTD_REG_FSTS, 4) & VTD_FSTS_ITE, VTD_FSTS_ITE);
	rec = g_mmio_rd(&e.g, VTD_REG_IQERCD, 8);
	CHECK_EQ(VTD_GET(rec, VTD_IQERCD_ITESID), RID);
	CHECK_EQ(e.g.fault_events, 1);
	CHECK_EQ(pci_endpoint_atc_peek(e.ep, 0, 0, IOVA, &view), 0);
	/* The device recovers; software clears ITE and submits again. */
	CHECK_EQ(pci_endpoint_set_state(e.ep, PCI_EP_ACTIVE), 0);
	g_mmio_wr(&e.g, VTD_REG_FSTS, 4, VTD_FSTS_ITE);
	CHECK_EQ(submit(&e, devtlb(), IOVA, 2), 2);
	CHECK_EQ(pci_endpoint_atc_peek(e.ep, 0, 0, IOVA, &view), -ENOENT);
	/* Surprise removal: time-out again, and the rest of the queue goes on once cleared. */
	CHECK_EQ(pci_endpoint_set_state(e.ep, PCI_EP_REMOVED), 0);
	CHECK_EQ(submit(&e, pdevtlb(PASID), VA, 3), 2);
	CHECK_EQ(g_mmio_rd(&e.g, VTD_REG_FSTS, 4) & VTD_FSTS_ITE, VTD_FSTS_ITE);
	g_mmio_wr(&e.g, VTD_REG_FSTS, 4, VTD_FSTS_ITE);
	CHECK_EQ(vtd_disconnect_ats(e.g.vtd, RID), 0); /* the OS forgets the device */
	CHECK_EQ(submit(&e, VTD_INV_IOTLB | VTD_SET(VTD_INV_IOTLB_G, 1), 0, 4), 4);
	CHECK_EQ(g_mmio_rd(&e.g, VTD_REG_FSTS, 4), 0);
	env_fini(&e);
}

int main(void)
{
	RUN(test_devtlb_no_pasid);
	RUN(test_devtlb_pasid);
	RUN(test_endpoint_gone);
	return CHECK_DONE();
}
