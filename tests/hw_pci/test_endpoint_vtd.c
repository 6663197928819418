// SPDX-License-Identifier: MIT
/*
 * An endpoint behind the VT-d model: the same DMA as the fake-agent tests, but the
 * completions come from a scalable-mode unit walking real first-stage tables (programmed
 * like a guest would, with the VT-d tests' helpers). Shows that the two sides of
 * include/softiommu/pci.h agree: ATS completions with their sizes and permissions, the NW
 * flag, A/D updates, R=W=0 answers, DTE, and the untranslated path.
 */
#include "check.h"
#include "hw_vtd/vtd_guest.h"

#include <softiommu/pci.h>

#define RID   PCI_RID(3, 4, 1)
#define PASID 0x42u
#define DID   7u
#define RAM   0x20000000ull /* DMA targets, inside the guest memory */
#define LEAF  (VTD_FL_P | VTD_FL_RW | VTD_FL_US)

static struct guest g;
static struct pci_endpoint *ep;
static uint64_t fs_root;
static uint8_t buf[64 * 1024], back[64 * 1024];

/* A unit with one device: PASID entry PASID -> first stage; ctx_flags for the context. */
static int setup(uint64_t ctx_flags, bool ats, bool nwfs)
{
	struct vtd_config c;
	struct pci_endpoint_config ec = {
	    .rid = RID,
	    .pasid_width = 20,
	    .pasid_enable = true,
	    .ats = ats,
	    .ats_enable = ats,
	    .atc_sets = ats ? 16 : 0,
	    .atc_ways = ats ? 4 : 0,
	};
	uint64_t dir;

	vtd_config_default(&c);
	c.nwfs = nwfs;
	CHECK_RET(g_init(&g, &c, true) == 0);
	dir = g_sm_ctx(&g, RID, ctx_flags, 7);
	fs_root = g_page(&g);
	g_pe(&g, dir, PASID, VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, VTD_PGTT_FS), DID, fs_root);
	g_map(&g, fs_root, 4, 0x1000, RAM + 0x1000, 12, FS_TBL, LEAF, 0);
	g_map(&g, fs_root, 4, 0x2000, RAM + 0x2000, 12, FS_TBL, VTD_FL_P | VTD_FL_US, 0);
	g_map(&g, fs_root, 4, 0x200000, RAM + 0x400000, 21, FS_TBL, LEAF, VTD_FL_PS);
	ec.agent = vtd_translation_agent(g.vtd);
	ec.mem = g.m;
	CHECK_RET(pci_endpoint_create(&ec, &ep) == 0);
	return 0;
}

static void teardown(void)
{
	pci_endpoint_destroy(ep);
	ep = NULL;
	if (g.vtd)
		g_fini(&g);
	memset(&g, 0, sizeof(g));
}

#define RUN_VTD(fn)                                                                                \
	do {                                                                                       \
		RUN(fn);                                                                           \
		teardown();                                                                        \
	} while (0)

static struct pci_endpoint_stats stats(void)
{
	struct pci_endpoint_stats s = {0};

	pci_endpoint_get_stats(ep, &s);
	return s;
}

static void test_ats_through_vtd(void)
{
	struct pci_atc_view v;
	struct pci_dma_status st;

	CHECK(setup(VTD_SCE_Q0_PASIDE | VTD_SCE_Q0_DTE, true, true) == 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	/* 64 KiB inside the 2 MiB page: one translation request. */
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, PASID, 0x208000, buf, sizeof(buf), &st),
		 0);
	CHECK_EQ(mem_read(g.m, RAM + 0x408000, back, sizeof(back)), 0);
	CHECK(memcmp(buf, back, sizeof(buf)) == 0);
	CHECK_EQ(stats().translation_requests, 1);
	CHECK_EQ(stats().hits, 15);
	CHECK_EQ(pci_endpoint_atc_peek(ep, PCI_DMA_PASID, PASID, 0x3fffff, &v), 0);
	CHECK_EQ(v.size, 2ull << 20);
	CHECK_EQ(v.pa, RAM + 0x400000);
	CHECK_EQ(v.perm & (PCI_PERM_R | PCI_PERM_W), PCI_PERM_R | PCI_PERM_W);
	/* The unit set A and D on the leaf it handed out with write permission. */
	CHECK((g_rd(&g, g_entry_pa(&g, fs_root, 4, 0x200000, 2)) & (VTD_FL_A | VTD_FL_D)) ==
	      (VTD_FL_A | VTD_FL_D));
	/* Read back through the ATC. */
	memset(back, 0, sizeof(back));
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, PASID, 0x208000, back, sizeof(back), &st),
		 0);
	CHECK(memcmp(buf, back, sizeof(buf)) == 0);
	CHECK_EQ(stats().translation_requests, 1);
	/* A read of a writable 4 KiB page asks read-only (NW, honoured with NWFS): no D. */
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, PASID, 0x1000, back, 16, &st), 0);
	CHECK_EQ(pci_endpoint_atc_peek(ep, PCI_DMA_PASID, PASID, 0x1000, &v), 0);
	CHECK_EQ(v.perm & (PCI_PERM_R | PCI_PERM_W), PCI_PERM_R);
	CHECK(!(g_rd(&g, g_entry_pa(&g, fs_root, 4, 0x1000, 1)) & VTD_FL_D));
	/* Then a write asks again and gets W. */
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, PASID, 0x1000, buf, 16, &st), 0);
	CHECK_EQ(stats().translation_requests, 3);
	CHECK(g_rd(&g, g_entry_pa(&g, fs_root, 4, 0x1000, 1)) & VTD_FL_D);
	CHECK_EQ(mem_read(g.m, RAM + 0x1000, back, 16), 0);
	CHECK(memcmp(buf, back, 16) == 0);
	/* A read-only page refuses a write, and the refusal leaves memory alone. */
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, PASID, 0x2000, buf, 16, &st), -EACCES);
	CHECK_EQ(st.perm & (PCI_PERM_R | PCI_PERM_W), PCI_PERM_R);
	CHECK_EQ(mem_read(g.m, RAM + 0x2000, back, 16), 0);
	CHECK(back[0] == 0 && back[15] == 0);
	/* Nothing mapped: R=W=0, no fault recorded by the unit. */
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, PASID, 0x9000, back, 16, &st), -EFAULT);
	CHECK_EQ(st.at, PCI_AT_TRANSLATION);
	CHECK_EQ(st.status, PCI_SC);
	CHECK_EQ(st.perm, 0);
	CHECK_EQ(g_mmio_rd(&g, VTD_REG_FSTS, 4) & 0x2, 0); /* PPF clear */
}

/* A context entry without DTE: the unit refuses ATS (SCT.5), the endpoint reports it. */
static void test_dte_clear_refuses_ats(void)
{
	struct pci_dma_status st;

	CHECK(setup(VTD_SCE_Q0_PASIDE, true, false) == 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, PASID, 0x1000, back, 16, &st), -EFAULT);
	CHECK_EQ(st.at, PCI_AT_TRANSLATION);
	CHECK_EQ(st.status, PCI_UR);
	CHECK_EQ(st.fault, VTD_FR_SCT_5);
	/* The same function without ATS gets its DMA translated by the unit. */
	CHECK_EQ(pci_endpoint_ats_disable(ep), 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, PASID, 0x1000, back, 16, &st), 0);
	CHECK_EQ(stats().untranslated_requests, 1);
}

/* Without ATS: untranslated requests, faults are the unit's. */
static void test_untranslated_through_vtd(void)
{
	struct pci_dma_status st;

	CHECK(setup(VTD_SCE_Q0_PASIDE, false, false) == 0);
	for (size_t i = 0; i < 8192; i++)
		buf[i] = (uint8_t)(i + 3);
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, PASID, 0x1800, buf, 4096, &st), -EFAULT);
	/* 0x1800..0x1fff went out; 0x2000 is read-only. */
	CHECK_EQ(st.done, 0x800);
	CHECK_EQ(st.addr, 0x2000);
	CHECK_EQ(st.at, PCI_AT_UNTRANSLATED);
	CHECK_EQ(st.status, PCI_UR);
	CHECK(st.fault != 0);
	CHECK_EQ(mem_read(g.m, RAM + 0x1800, back, 0x800), 0);
	CHECK(memcmp(buf, back, 0x800) == 0);
	CHECK_EQ(stats().untranslated_requests, 2);
	CHECK_EQ(stats().faults, 1);
	/* The ATS port can be handed to the unit. */
	struct pci_ats_port port = pci_endpoint_ats_port(ep);
	CHECK_EQ(vtd_connect_ats(g.vtd, RID, &port), 0);
	CHECK_EQ(vtd_disconnect_ats(g.vtd, RID), 0);
}

int main(void)
{
	RUN_VTD(test_ats_through_vtd);
	RUN_VTD(test_dte_clear_refuses_ats);
	RUN_VTD(test_untranslated_through_vtd);
	return CHECK_DONE();
}
