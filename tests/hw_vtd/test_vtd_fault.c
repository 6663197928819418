// SPDX-License-Identifier: MIT
/*
 * Fault recording (digest 4.4), FSTS and the fault event (1.8), FPD and qualified
 * faults (4.3).
 */
#include "check.h"
#include "vtd_guest.h"

#define DATA 0x200000000ull

static int setup(struct guest *g, unsigned nfr)
{
	struct vtd_config c;

	vtd_config_default(&c);
	c.nfr = nfr;
	c.execute_requests = true;
	return g_init(g, &c, true);
}

/* FSTS without FRI, which keeps its last value while PPF is clear. */
static unsigned fsts(struct guest *g)
{
	return (unsigned)g_mmio_rd(g, VTD_REG_FSTS, 4) & 0xff;
}

static void test_record_fields(void)
{
	struct guest g;
	struct pci_resp r;
	uint64_t q0, q1;

	CHECK(!setup(&g, 4));
	/* Nothing is mapped: bus 5 has no root entry (SRT.2). */
	r = g_req(&g, PCI_RID(5, 1, 2), 0xabcde, 0x123456789abcull,
		  PCI_REQ_READ | PCI_REQ_PRIV | PCI_REQ_EXEC, PCI_AT_UNTRANSLATED);
	CHECK_EQ(r.status, PCI_UR);
	CHECK(r.flags & PCI_RESP_FAULT_RECORDED);
	CHECK_EQ(g.fault_events, 1);
	CHECK_EQ(g.ev_data, 0x4a);
	CHECK_EQ(g.ev_addr, 0xfee00000);
	CHECK_EQ(fsts(&g), VTD_FSTS_PPF); /* FRI 0 */
	g_frcd(&g, 0, &q0, &q1);
	CHECK_EQ(q0, 0x123456789000ull);
	CHECK_EQ(VTD_GET(q1, VTD_FRCD_Q1_SID), PCI_RID(5, 1, 2));
	CHECK_EQ(VTD_GET(q1, VTD_FRCD_Q1_FR), VTD_FR_SRT_2);
	CHECK_EQ(VTD_GET(q1, VTD_FRCD_Q1_PV), 0xabcde);
	CHECK_EQ(VTD_GET(q1, VTD_FRCD_Q1_AT), 0);
	CHECK(q1 & VTD_FRCD_Q1_PP);
	CHECK(q1 & VTD_FRCD_Q1_PRIV);
	CHECK(q1 & VTD_FRCD_Q1_EXE);
	CHECK(q1 & VTD_FRCD_Q1_T1); /* read */
	CHECK(!(q1 & VTD_FRCD_Q1_T2));
	CHECK(q1 & VTD_FRCD_Q1_F);
	/* A write without PASID from another device: FRCD[1], no new event (PPF was set). */
	r = g_write(&g, PCI_RID(6, 0, 0), NO_PASID, 0x5000);
	CHECK(r.flags & PCI_RESP_FAULT_RECORDED);
	CHECK_EQ(g.fault_events, 1);
	g_frcd(&g, 1, &q0, &q1);
	CHECK(!(q1 & (VTD_FRCD_Q1_PP | VTD_FRCD_Q1_T1 | VTD_FRCD_Q1_T2 | VTD_FRCD_Q1_PRIV)));
	CHECK_EQ(VTD_GET(q1, VTD_FRCD_Q1_PV), 0);
	CHECK(q1 & VTD_FRCD_Q1_F);
	/* An atomic (read + write) and a translation request. */
	g_req(&g, PCI_RID(7, 0, 0), NO_PASID, 0, PCI_REQ_READ | PCI_REQ_WRITE, 0);
	g_frcd(&g, 2, &q0, &q1);
	CHECK_EQ(q1 & (VTD_FRCD_Q1_T1 | VTD_FRCD_Q1_T2), VTD_FRCD_Q1_T1 | VTD_FRCD_Q1_T2);
	g_req(&g, PCI_RID(8, 0, 0), NO_PASID, 0, 0, PCI_AT_TRANSLATION);
	g_frcd(&g, 3, &q0, &q1);
	CHECK_EQ(VTD_GET(q1, VTD_FRCD_Q1_AT), PCI_AT_TRANSLATION);
	CHECK(q1 & VTD_FRCD_Q1_T1);
	/* FRCD fields are read-only; F is write-1-to-clear (here as a 32-bit access). */
	unsigned off = 0x400 + 3 * 16;
	CHECK_EQ(g_mmio_wr(&g, off, 8, 0), 0);
	CHECK_EQ(g_mmio_wr(&g, off + 8, 4, ~0u), 0);
	g_frcd(&g, 3, &q0, &q1);
	CHECK_EQ(q0, 0);
	CHECK(q1 & VTD_FRCD_Q1_F);
	CHECK_EQ(g_mmio_wr(&g, off + 12, 4, 0x7fffffff), 0);
	g_frcd(&g, 3, &q0, &q1);
	CHECK(q1 & VTD_FRCD_Q1_F);
	CHECK_EQ(g_mmio_wr(&g, off + 12, 4, 0x80000000u), 0);
	g_frcd(&g, 3, &q0, &q1);
	CHECK(!(q1 & VTD_FRCD_Q1_F));
	CHECK_EQ(VTD_GET(q1, VTD_FRCD_Q1_SID), PCI_RID(8, 0, 0)); /* the record stays */
	CHECK_EQ(fsts(&g), VTD_FSTS_PPF);
	/* Clearing all F bits clears PPF. */
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(g_mmio_wr(&g, 0x400 + i * 16 + 8, 8, VTD_FRCD_Q1_F), 0);
	CHECK_EQ(fsts(&g), 0);
	g_fini(&g);
}

static void test_compression_and_overflow(void)
{
	struct guest g;
	struct pci_resp r;
	uint64_t q0, q1;

	CHECK(!setup(&g, 2));
	r = g_read(&g, 0x100, NO_PASID, 0x1000);
	CHECK(r.flags & PCI_RESP_FAULT_RECORDED);
	/* Same source-id while its record is pending: dropped, no overflow. */
	r = g_read(&g, 0x100, NO_PASID, 0x2000);
	CHECK_EQ(r.status, PCI_UR);
	CHECK(!(r.flags & PCI_RESP_FAULT_RECORDED));
	CHECK_EQ(fsts(&g), VTD_FSTS_PPF);
	r = g_read(&g, 0x200, NO_PASID, 0x3000);
	CHECK(r.flags & PCI_RESP_FAULT_RECORDED);
	/* Both records pending: the next fault overflows (PFO), and PFO drops the rest. */
	r = g_read(&g, 0x300, NO_PASID, 0x4000);
	CHECK(!(r.flags & PCI_RESP_FAULT_RECORDED));
	CHECK_EQ(fsts(&g), VTD_FSTS_PPF | VTD_FSTS_PFO);
	CHECK_EQ(g.fault_events, 1);
	/* Service FRCD[0] only: PFO still drops. */
	g_mmio_wr(&g, 0x400 + 8, 8, VTD_FRCD_Q1_F);
	r = g_read(&g, 0x400, NO_PASID, 0x5000);
	CHECK(!(r.flags & PCI_RESP_FAULT_RECORDED));
	/* Clear PFO (RW1C; PPF is RO): recording resumes at the next index, 0 (wrapped). */
	g_mmio_wr(&g, VTD_REG_FSTS, 4, VTD_FSTS_PFO | VTD_FSTS_PPF);
	CHECK_EQ(fsts(&g), VTD_FSTS_PPF);
	r = g_read(&g, 0x500, NO_PASID, 0x6000);
	CHECK(r.flags & PCI_RESP_FAULT_RECORDED);
	g_frcd(&g, 0, &q0, &q1);
	CHECK_EQ(VTD_GET(q1, VTD_FRCD_Q1_SID), 0x500);
	CHECK_EQ(q0, 0x6000);
	/* FRI stays at the first pending record seen when PPF went up. */
	g_clear_faults(&g);
	CHECK_EQ(fsts(&g), 0);
	r = g_read(&g, 0x600, NO_PASID, 0x7000);
	CHECK_EQ(VTD_GET(g_mmio_rd(&g, VTD_REG_FSTS, 4), VTD_FSTS_FRI), 1);
	CHECK_EQ(g.fault_events, 2);
	g_fini(&g);
}

static void test_event_masking(void)
{
	struct guest g;

	CHECK(!setup(&g, 8));
	/* Masked: IP set, no message. */
	g_mmio_wr(&g, VTD_REG_FECTL, 4, VTD_FECTL_IM);
	g_read(&g, 0x100, NO_PASID, 0);
	CHECK_EQ(g.fault_events, 0);
	CHECK_EQ(g_mmio_rd(&g, VTD_REG_FECTL, 4), VTD_FECTL_IM | VTD_FECTL_IP);
	/* IP is read-only. */
	g_mmio_wr(&g, VTD_REG_FECTL, 4, VTD_FECTL_IM);
	CHECK_EQ(g_mmio_rd(&g, VTD_REG_FECTL, 4), VTD_FECTL_IM | VTD_FECTL_IP);
	/* Unmasking delivers the pending message, with the current data/address. */
	g_mmio_wr(&g, VTD_REG_FEDATA, 4, 0x77);
	g_mmio_wr(&g, VTD_REG_FEUADDR, 4, 0x1);
	g_mmio_wr(&g, VTD_REG_FECTL, 4, 0);
	CHECK_EQ(g.fault_events, 1);
	CHECK_EQ(g.ev_data, 0x77);
	CHECK_EQ(g.ev_addr, 0x1fee00000ull);
	CHECK_EQ(g_mmio_rd(&g, VTD_REG_FECTL, 4), 0);
	/* Masked again with a condition pending, then software clears all status: IP goes. */
	g_clear_faults(&g);
	g_mmio_wr(&g, VTD_REG_FECTL, 4, VTD_FECTL_IM);
	g_read(&g, 0x200, NO_PASID, 0);
	CHECK_EQ(g_mmio_rd(&g, VTD_REG_FECTL, 4), VTD_FECTL_IM | VTD_FECTL_IP);
	g_clear_faults(&g);
	CHECK_EQ(g_mmio_rd(&g, VTD_REG_FECTL, 4), VTD_FECTL_IM);
	g_mmio_wr(&g, VTD_REG_FECTL, 4, 0);
	CHECK_EQ(g.fault_events, 1);
	g_fini(&g);
}

/* FPD: qualified faults are suppressed when an FPD on the path is set, even in a
 * not-present entry; non-qualified ones are always recorded. */
static void test_fpd(void)
{
	struct guest g;
	struct pci_resp r;
	uint16_t rid = PCI_RID(2, 0, 0);
	uint64_t dir, cpa, pe;

	CHECK(!setup(&g, 8));
	dir = g_sm_ctx(&g, rid, VTD_SCE_Q0_PASIDE | VTD_SCE_Q0_FPD, 7);
	cpa = g_sm_ctx_pa(&g, rid);
	r = g_read(&g, rid, 5, 0); /* SPD.2, qualified: suppressed by the context FPD */
	CHECK_EQ(r.status, PCI_UR);
	CHECK_EQ(r.fault, VTD_FR_SPD_2);
	CHECK_EQ(r.flags, 0);
	CHECK_EQ(fsts(&g), 0);
	/* A not-present context entry with FPD: SCT.2 suppressed too. */
	g_wr(&g, cpa, g_rd(&g, cpa) & ~1ull);
	r = g_read(&g, rid, 5, 0);
	CHECK_EQ(r.fault, VTD_FR_SCT_2);
	CHECK_EQ(r.flags, 0);
	/* Reserved bits in the context entry are not qualified: recorded despite FPD. */
	g_wr(&g, cpa, g_rd(&g, cpa) | 1 | (1u << 6));
	r = g_read(&g, rid, 5, 0);
	CHECK_EQ(r.fault, VTD_FR_SCT_3);
	CHECK(r.flags & PCI_RESP_FAULT_RECORDED);
	g_clear_faults(&g);
	g_wr(&g, cpa, g_rd(&g, cpa) & ~(1ull << 6));
	/* PASID-directory fetch error: not qualified. */
	g_wr(&g, cpa, (g_rd(&g, cpa) & 0xfff) | (1ull << 40));
	r = g_read(&g, rid, 5, 0);
	CHECK_EQ(r.fault, VTD_FR_SPD_1);
	CHECK(r.flags & PCI_RESP_FAULT_RECORDED);
	g_clear_faults(&g);
	/* FPD in the directory entry (not present) and in the PASID entry. */
	g_wr(&g, cpa, (g_rd(&g, cpa) & 0xfff & ~VTD_SCE_Q0_FPD) | dir);
	g_wr(&g, dir, VTD_PDE_FPD);
	r = g_read(&g, rid, 5, 0);
	CHECK_EQ(r.fault, VTD_FR_SPD_2);
	CHECK_EQ(r.flags, 0);
	g_wr(&g, dir, 0);
	r = g_read(&g, rid, 5, 0);
	CHECK(r.flags & PCI_RESP_FAULT_RECORDED);
	g_clear_faults(&g);
	pe = g_pe_pa(&g, dir, 5);
	g_wr(&g, pe, VTD_PE_Q0_FPD);
	r = g_read(&g, rid, 5, 0);
	CHECK_EQ(r.fault, VTD_FR_SPT_2);
	CHECK_EQ(r.flags, 0);
	/* A walk fault below an FPD PASID entry. */
	g_wr(&g, pe + 16, g_page(&g));
	g_wr(&g, pe, VTD_PE_Q0_P | VTD_PE_Q0_FPD | VTD_SET(VTD_PE_Q0_PGTT, VTD_PGTT_FS));
	r = g_read(&g, rid, 5, 0x1000);
	CHECK_EQ(r.fault, VTD_FR_SFL_2);
	CHECK_EQ(r.flags, 0);
	CHECK_EQ(fsts(&g), 0);
	/* PASID-table fetch error: not qualified even with FPD in the directory entry. */
	g_wr(&g, dir, (1ull << 40) | VTD_PDE_FPD | 1);
	r = g_read(&g, rid, 5, 0);
	CHECK_EQ(r.fault, VTD_FR_SPT_1);
	CHECK(r.flags & PCI_RESP_FAULT_RECORDED);
	g_fini(&g);
}

static void test_fpd_legacy(void)
{
	struct guest g;
	struct vtd_config c;
	struct pci_resp r;
	uint16_t rid = PCI_RID(9, 0, 0);
	uint64_t root;

	vtd_config_default(&c);
	CHECK(!g_init(&g, &c, false));
	root = g_page(&g);
	g_legacy_ctx(&g, rid, VTD_CE_Q0_FPD, 0); /* not present, FPD */
	r = g_read(&g, rid, NO_PASID, 0);
	CHECK_EQ(r.fault, VTD_FR_LCT_2);
	CHECK_EQ(r.flags, 0);
	g_legacy_ctx(&g, rid, VTD_CE_Q0_P | VTD_CE_Q0_FPD | root,
		     VTD_SET(VTD_CE_Q1_AW, VTD_AW_48BIT));
	r = g_write(&g, rid, NO_PASID, 0x1000);
	CHECK_EQ(r.fault, VTD_FR_LGN_2);
	CHECK_EQ(r.flags, 0);
	g_legacy_ctx(&g, rid, VTD_CE_Q0_P | VTD_CE_Q0_FPD | root | 0x100,
		     VTD_SET(VTD_CE_Q1_AW, VTD_AW_48BIT));
	r = g_write(&g, rid, NO_PASID, 0x1000);
	CHECK_EQ(r.fault, VTD_FR_LCT_3);
	CHECK(r.flags & PCI_RESP_FAULT_RECORDED);
	CHECK_EQ(fsts(&g), VTD_FSTS_PPF);
	g_fini(&g);
}

int main(void)
{
	RUN(test_record_fields);
	RUN(test_compression_and_overflow);
	RUN(test_event_masking);
	RUN(test_fpd);
	RUN(test_fpd_legacy);
	return CHECK_DONE();
}
