// SPDX-License-Identifier: MIT
/*
 * Legacy-mode translation (TTM 00): root and context entries, TT 00/01/10, 3/4/5-level
 * second-stage tables, and every legacy fault reason.
 */
#include "check.h"
#include "vtd_guest.h"

#define RID	PCI_RID(0x12, 3, 2)
#define DATA	0x200000000ull
#define SS_LEAF (VTD_SL_R | VTD_SL_W)

static uint64_t ctx_q1(unsigned aw, unsigned did)
{
	return VTD_SET(VTD_CE_Q1_AW, aw) | VTD_SET(VTD_CE_Q1_DID, did);
}

static uint64_t ctx_q0(unsigned tt, uint64_t slptptr)
{
	return VTD_CE_Q0_P | VTD_SET(VTD_CE_Q0_TT, tt) | slptptr;
}

static int setup(struct guest *g, struct vtd_config *c)
{
	if (!c->version) {
		vtd_config_default(c);
		c->sagaw |= 1u << VTD_AW_39BIT;
	}
	return g_init(g, c, false);
}

#define EXPECT(req, code)                                                                          \
	do {                                                                                       \
		r = (req);                                                                         \
		CHECK_EQ(r.status, PCI_UR);                                                        \
		CHECK_EQ(r.fault, code);                                                           \
		g_clear_faults(&g);                                                                \
	} while (0)

static void test_levels_and_pages(void)
{
	struct vtd_config c = {0};
	struct guest g;
	struct pci_resp r;

	CHECK(!setup(&g, &c));
	for (unsigned aw = 1; aw <= 3; aw++) {
		uint16_t rid = PCI_RID(1, aw, 0);
		uint64_t root = g_page(&g), top = 1ull << (30 + 9 * aw);

		g_legacy_ctx(&g, rid, ctx_q0(VTD_TT_UNTRANSLATED, root), ctx_q1(aw, 1));
		g_map(&g, root, aw + 2, top - 0x1000, DATA + 0x3000, 12, SS_LEAF, SS_LEAF, 0);
		g_map(&g, root, aw + 2, 0x200000, DATA + 0x200000, 21, SS_LEAF, SS_LEAF, VTD_SL_PS);
		g_map(&g, root, aw + 2, 0x40000000, DATA, 30, SS_LEAF, VTD_SL_R, VTD_SL_PS);
		r = g_read(&g, rid, NO_PASID, top - 0x1000 + 0xff8);
		CHECK_EQ(r.status, PCI_SC);
		CHECK_EQ(r.addr, DATA + 0x3ff8);
		CHECK_EQ(r.page_size, 4096);
		CHECK_EQ(r.perm, PCI_PERM_R | PCI_PERM_W);
		r = g_write(&g, rid, NO_PASID, 0x2abcde);
		CHECK_EQ(r.addr, DATA + 0x2abcde);
		CHECK_EQ(r.page_size, 2ull << 20);
		r = g_read(&g, rid, NO_PASID, 0x7fffffff);
		CHECK_EQ(r.addr, DATA + 0x3fffffff);
		CHECK_EQ(r.page_size, 1ull << 30);
		CHECK_EQ(r.perm, PCI_PERM_R);
		EXPECT(g_write(&g, rid, NO_PASID, 0x40000000), VTD_FR_LGN_2);
		EXPECT(g_read(&g, rid, NO_PASID, top), VTD_FR_LGN_1);
	}
	g_fini(&g);
}

static void test_mgaw_limit(void)
{
	struct vtd_config c = {0};
	struct guest g;
	struct pci_resp r;
	uint64_t root;

	vtd_config_default(&c);
	c.mgaw = 48;
	c.fs_5level = false;
	CHECK(!setup(&g, &c));
	root = g_page(&g);
	g_legacy_ctx(&g, RID, ctx_q0(0, root), ctx_q1(VTD_AW_57BIT, 1));
	/* AW 57 with MGAW 48: inputs at or above 2^48 fault. */
	EXPECT(g_read(&g, RID, NO_PASID, 1ull << 48), VTD_FR_LGN_1);
	EXPECT(g_read(&g, RID, NO_PASID, (1ull << 48) - 1), VTD_FR_LGN_3);
	g_fini(&g);
}

static void test_permissions(void)
{
	struct vtd_config c = {0};
	struct guest g;
	struct pci_resp r;
	uint64_t root;

	CHECK(!setup(&g, &c));
	root = g_page(&g);
	g_legacy_ctx(&g, RID, ctx_q0(0, root), ctx_q1(VTD_AW_48BIT, 9));
	g_map(&g, root, 4, 0x1000, DATA, 12, SS_LEAF, VTD_SL_R, 0);
	g_map(&g, root, 4, 0x2000, DATA, 12, SS_LEAF, VTD_SL_W, 0);
	EXPECT(g_write(&g, RID, NO_PASID, 0x1000), VTD_FR_LGN_2);
	EXPECT(g_read(&g, RID, NO_PASID, 0x2000), VTD_FR_LGN_3);
	EXPECT(g_req(&g, RID, NO_PASID, 0x2000, PCI_REQ_READ | PCI_REQ_WRITE, 0), VTD_FR_LGN_3);
	/* Not present, at the leaf and above: LGN.2/3 by request type. */
	EXPECT(g_read(&g, RID, NO_PASID, 0x3000), VTD_FR_LGN_3);
	EXPECT(g_write(&g, RID, NO_PASID, 0x80000000000ull), VTD_FR_LGN_2);
	/* Permissions AND over the levels. */
	uint64_t pde = g_entry_pa(&g, root, 4, 0x2000, 2);
	g_wr(&g, pde, g_rd(&g, pde) & ~VTD_SL_W);
	EXPECT(g_write(&g, RID, NO_PASID, 0x2000), VTD_FR_LGN_2);
	/* A/D are not written in legacy mode. */
	g_wr(&g, pde, g_rd(&g, pde) | VTD_SL_W);
	r = g_write(&g, RID, NO_PASID, 0x2000);
	CHECK_EQ(r.status, PCI_SC);
	CHECK(!(g_rd(&g, g_entry_pa(&g, root, 4, 0x2000, 1)) & (VTD_SL_A | VTD_SL_D)));
	/* Output in the interrupt range. */
	g_map(&g, root, 4, 0x5000, 0xfeefe000ull, 12, SS_LEAF, SS_LEAF, 0);
	EXPECT(g_write(&g, RID, NO_PASID, 0x5000), VTD_FR_LGN_4);
	g_fini(&g);
}

static void test_reserved_and_fetch(void)
{
	struct vtd_config c = {0};
	struct guest g;
	struct pci_resp r;
	uint64_t root, pte, v;

	CHECK(!setup(&g, &c));
	root = g_page(&g);
	g_legacy_ctx(&g, RID, ctx_q0(0, root), ctx_q1(VTD_AW_48BIT, 9));
	g_map(&g, root, 4, 0x1000, DATA, 12, SS_LEAF, SS_LEAF, 0);
	pte = g_entry_pa(&g, root, 4, 0x1000, 1);
	v = g_rd(&g, pte);
	g_wr(&g, pte, v | VTD_SL_TM);
	EXPECT(g_read(&g, RID, NO_PASID, 0x1000), VTD_FR_LSL_2);
	g_wr(&g, pte, v | (1ull << 46));
	EXPECT(g_read(&g, RID, NO_PASID, 0x1000), VTD_FR_LSL_2);
	g_wr(&g, pte, v | VTD_SL_SNP); /* ECAP.SC is set: allowed at a leaf */
	r = g_read(&g, RID, NO_PASID, 0x1000);
	CHECK_EQ(r.status, PCI_SC);
	g_wr(&g, pte, v | VTD_SL_X | VTD_SL_A | VTD_SL_D | VTD_SL_IPAT); /* ignored bits */
	r = g_read(&g, RID, NO_PASID, 0x1000);
	CHECK_EQ(r.status, PCI_SC);
	g_wr(&g, pte, v);
	g_wr(&g, root, g_rd(&g, root) | VTD_SL_PS);
	EXPECT(g_read(&g, RID, NO_PASID, 0x1000), VTD_FR_LSL_2);
	g_wr(&g, root, G_MEM_SIZE | SS_LEAF);
	EXPECT(g_read(&g, RID, NO_PASID, 0x1000), VTD_FR_LSL_1);
	g_legacy_ctx(&g, RID, ctx_q0(0, 1ull << 40), ctx_q1(VTD_AW_48BIT, 9));
	EXPECT(g_read(&g, RID, NO_PASID, 0x1000), VTD_FR_LSL_1);
	g_fini(&g);

	/* Without snoop control SNP at a leaf is reserved. */
	c = (struct vtd_config){0};
	vtd_config_default(&c);
	c.snoop_control = false;
	CHECK(!setup(&g, &c));
	root = g_page(&g);
	g_legacy_ctx(&g, RID, ctx_q0(0, root), ctx_q1(VTD_AW_48BIT, 9));
	g_map(&g, root, 4, 0x1000, DATA, 12, SS_LEAF, SS_LEAF | VTD_SL_SNP, 0);
	EXPECT(g_read(&g, RID, NO_PASID, 0x1000), VTD_FR_LSL_2);
	g_fini(&g);
}

static void test_root_and_context_faults(void)
{
	struct vtd_config c = {0};
	struct guest g;
	struct pci_resp r;
	uint64_t re_pa, re, cpa, root;

	CHECK(!setup(&g, &c));
	EXPECT(g_read(&g, RID, NO_PASID, 0), VTD_FR_LRT_2);
	root = g_page(&g);
	g_legacy_ctx(&g, RID, ctx_q0(0, root), ctx_q1(VTD_AW_48BIT, 9));
	re_pa = g.root + PCI_RID_BUS(RID) * 16;
	re = g_rd(&g, re_pa);
	cpa = g_legacy_ctx_pa(&g, RID);
	g_wr(&g, re_pa, re | 2);
	EXPECT(g_read(&g, RID, NO_PASID, 0), VTD_FR_LRT_3);
	g_wr(&g, re_pa, re);
	g_wr(&g, re_pa + 8, 1);
	EXPECT(g_read(&g, RID, NO_PASID, 0), VTD_FR_LRT_3);
	g_wr(&g, re_pa + 8, 0);
	g_wr(&g, re_pa, (1ull << 40) | 1);
	EXPECT(g_read(&g, RID, NO_PASID, 0), VTD_FR_LCT_1);
	g_wr(&g, re_pa, re);
	/* Context entry. */
	EXPECT(g_read(&g, PCI_RID(0x12, 0, 0), NO_PASID, 0), VTD_FR_LCT_2);
	g_wr(&g, cpa, ctx_q0(0, root) | 0x10);
	EXPECT(g_read(&g, RID, NO_PASID, 0), VTD_FR_LCT_3);
	g_wr(&g, cpa, ctx_q0(0, root | (1ull << 50)));
	EXPECT(g_read(&g, RID, NO_PASID, 0), VTD_FR_LCT_3);
	g_wr(&g, cpa, ctx_q0(0, root));
	g_wr(&g, cpa + 8, ctx_q1(VTD_AW_48BIT, 9) | (1ull << 7));
	EXPECT(g_read(&g, RID, NO_PASID, 0), VTD_FR_LCT_3);
	g_wr(&g, cpa + 8, ctx_q1(VTD_AW_48BIT, 9) | (1ull << 30));
	EXPECT(g_read(&g, RID, NO_PASID, 0), VTD_FR_LCT_3);
	g_wr(&g, cpa + 8, ctx_q1(VTD_AW_48BIT, 9) | (0xfull << 3)); /* AVAIL: ignored */
	EXPECT(g_read(&g, RID, NO_PASID, 0), VTD_FR_LGN_3);
	g_wr(&g, cpa + 8, ctx_q1(5, 9));
	EXPECT(g_read(&g, RID, NO_PASID, 0), VTD_FR_LCT_4);
	g_wr(&g, cpa + 8, ctx_q1(0, 9));
	EXPECT(g_read(&g, RID, NO_PASID, 0), VTD_FR_LCT_4);
	g_wr(&g, cpa + 8, ctx_q1(VTD_AW_48BIT, 9));
	g_wr(&g, cpa, ctx_q0(VTD_TT_RSVD, root));
	EXPECT(g_read(&g, RID, NO_PASID, 0), VTD_FR_LCT_4);
	/* A request with PASID in legacy mode. */
	g_wr(&g, cpa, ctx_q0(0, root));
	EXPECT(g_read(&g, RID, 5, 0), VTD_FR_RTA_2);
	/* The root table itself past memory. */
	g_mmio_wr(&g, VTD_REG_RTADDR, 8, 1ull << 40);
	g_mmio_wr(&g, VTD_REG_GCMD, 4, VTD_GCMD_TE | VTD_GCMD_SRTP);
	EXPECT(g_read(&g, RID, NO_PASID, 0), VTD_FR_LRT_1);
	g_fini(&g);

	/* TT 01 needs ECAP.DT, TT 10 ECAP.PT. */
	c = (struct vtd_config){0};
	vtd_config_default(&c);
	c.dev_tlb = false;
	c.pass_through = false;
	CHECK(!setup(&g, &c));
	root = g_page(&g);
	g_legacy_ctx(&g, RID, ctx_q0(VTD_TT_ALL, root), ctx_q1(VTD_AW_48BIT, 9));
	EXPECT(g_read(&g, RID, NO_PASID, 0), VTD_FR_LCT_4);
	g_legacy_ctx(&g, RID, ctx_q0(VTD_TT_PASS_THROUGH, 0), ctx_q1(VTD_AW_48BIT, 9));
	EXPECT(g_read(&g, RID, NO_PASID, 0), VTD_FR_LCT_4);
	g_fini(&g);
}

static void test_tt_modes(void)
{
	struct vtd_config c = {0};
	struct guest g;
	struct pci_resp r;
	uint64_t root;

	CHECK(!setup(&g, &c));
	root = g_page(&g);
	g_map(&g, root, 4, 0x1000, DATA, 12, SS_LEAF, VTD_SL_R, 0);
	/* TT 00: ATS blocked. */
	g_legacy_ctx(&g, RID, ctx_q0(VTD_TT_UNTRANSLATED, root), ctx_q1(VTD_AW_48BIT, 9));
	EXPECT(g_req(&g, RID, NO_PASID, 0x1000, 0, PCI_AT_TRANSLATION), VTD_FR_LCT_5);
	EXPECT(g_req(&g, RID, NO_PASID, DATA, PCI_REQ_READ, PCI_AT_TRANSLATED), VTD_FR_LCT_5);
	/* TT 01: ATS allowed. */
	g_legacy_ctx(&g, RID, ctx_q0(VTD_TT_ALL, root), ctx_q1(VTD_AW_48BIT, 9));
	r = g_req(&g, RID, NO_PASID, 0x1000, 0, PCI_AT_TRANSLATION);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.perm, PCI_PERM_R);
	CHECK_EQ(r.addr, DATA);
	r = g_req(&g, RID, NO_PASID, 0x2000, 0, PCI_AT_TRANSLATION); /* not present */
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.perm, 0);
	CHECK_EQ(g_mmio_rd(&g, VTD_REG_FSTS, 4) & 0xff, 0); /* FRI is stale, PPF clear */
	r = g_req(&g, RID, NO_PASID, DATA + 8, PCI_REQ_WRITE, PCI_AT_TRANSLATED);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.addr, DATA + 8);
	/* TT 10: pass-through, below HAW. */
	g_legacy_ctx(&g, RID, ctx_q0(VTD_TT_PASS_THROUGH, 0), ctx_q1(VTD_AW_48BIT, 9));
	r = g_write(&g, RID, NO_PASID, 0x123456000ull);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.addr, 0x123456000ull);
	EXPECT(g_write(&g, RID, NO_PASID, 1ull << 46), VTD_FR_LGN_1);
	EXPECT(g_req(&g, RID, NO_PASID, 0, 0, PCI_AT_TRANSLATION), VTD_FR_LCT_5);
	g_fini(&g);
}

int main(void)
{
	RUN(test_levels_and_pages);
	RUN(test_mgaw_limit);
	RUN(test_permissions);
	RUN(test_reserved_and_fetch);
	RUN(test_root_and_context_faults);
	RUN(test_tt_modes);
	return CHECK_DONE();
}
