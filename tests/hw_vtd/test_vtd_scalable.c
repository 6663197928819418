// SPDX-License-Identifier: MIT
/*
 * Scalable-mode translation, driven like a guest: context and PASID entries, each PGTT,
 * each page size, 4- and 5-level first stage, 3/4/5-level second stage, nesting, and the
 * fault reason of every check on the way.
 */
#include "check.h"
#include "vtd_guest.h"

#define RID   PCI_RID(3, 4, 1)
#define PASID 0x1234u
#define DID   42u
#define CTXF  (VTD_SCE_Q0_PASIDE | VTD_SCE_Q0_DTE)
#define DATA  0x200000000ull /* 8 GiB: targets of mappings, outside the memory is fine */

static uint64_t pe_q0(unsigned pgtt, uint64_t slptptr, unsigned aw)
{
	return VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, pgtt) | VTD_SET(VTD_PE_Q0_AW, aw) | slptptr;
}

/* A first-stage PASID entry; returns the first-stage root. */
static uint64_t fs_setup(struct guest *g, uint64_t *dir, uint32_t pasid, unsigned levels,
			 uint64_t q2)
{
	uint64_t root = g_page(g);

	if (!*dir)
		*dir = g_sm_ctx(g, RID, CTXF, 7);
	q2 |= root | (levels == 5 ? VTD_SET(VTD_PE_Q2_FLPM, VTD_FLPM_5LEVEL) : 0);
	g_pe(g, *dir, pasid, pe_q0(VTD_PGTT_FS, 0, 0), DID, q2);
	return root;
}

/* A second-stage PASID entry with AW `aw`; returns the second-stage root. */
static uint64_t ss_setup(struct guest *g, uint64_t *dir, uint32_t pasid, unsigned aw,
			 uint64_t q0_extra)
{
	uint64_t root = g_page(g);

	if (!*dir)
		*dir = g_sm_ctx(g, RID, CTXF, 7);
	g_pe(g, *dir, pasid, pe_q0(VTD_PGTT_SS, root, aw) | q0_extra, DID, 0);
	return root;
}

static int setup(struct guest *g, struct vtd_config *c)
{
	if (!c->version)
		vtd_config_default(c);
	return g_init(g, c, true);
}

#define FS_LEAF (VTD_FL_P | VTD_FL_RW | VTD_FL_US)
#define SS_LEAF (VTD_SL_R | VTD_SL_W)

static void test_fs_4level_pages(void)
{
	struct vtd_config c = {0};
	struct guest g;
	uint64_t dir = 0, root, va = 0x7f1234567000ull;
	struct pci_resp r;

	CHECK(!setup(&g, &c));
	root = fs_setup(&g, &dir, PASID, 4, 0);
	g_map(&g, root, 4, va, DATA + 0x5000, 12, FS_TBL, FS_LEAF, VTD_FL_PS);
	g_map(&g, root, 4, 0x40000000ull, DATA + 0x600000, 21, FS_TBL, FS_LEAF, VTD_FL_PS);
	g_map(&g, root, 4, 0x80000000ull, DATA + 0x40000000, 30, FS_TBL, FS_LEAF, VTD_FL_PS);

	r = g_read(&g, RID, PASID, va + 0x123);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.addr, DATA + 0x5123);
	CHECK_EQ(r.page_size, 4096);
	CHECK_EQ(r.perm, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(r.fault, 0);
	/* A set at every level, D not (a read). */
	for (unsigned l = 4; l >= 1; l--)
		CHECK(g_rd(&g, g_entry_pa(&g, root, 4, va, l)) & VTD_FL_A);
	CHECK(!(g_rd(&g, g_entry_pa(&g, root, 4, va, 1)) & VTD_FL_D));
	r = g_write(&g, RID, PASID, va);
	CHECK_EQ(r.status, PCI_SC);
	CHECK(g_rd(&g, g_entry_pa(&g, root, 4, va, 1)) & VTD_FL_D);
	CHECK(!(g_rd(&g, g_entry_pa(&g, root, 4, va, 2)) & VTD_FL_D)); /* leaf only */

	r = g_read(&g, RID, PASID, 0x40000000ull + 0x1fffff);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.addr, DATA + 0x600000 + 0x1fffff);
	CHECK_EQ(r.page_size, 2ull << 20);
	r = g_write(&g, RID, PASID, 0x80000000ull + 0x3456789);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.addr, DATA + 0x40000000 + 0x3456789);
	CHECK_EQ(r.page_size, 1ull << 30);
	CHECK(g_rd(&g, g_entry_pa(&g, root, 4, 0x80000000ull, 3)) & VTD_FL_D);
	/* Not mapped: not present at the PTE level. */
	r = g_read(&g, RID, PASID, va + 0x1000);
	CHECK_EQ(r.status, PCI_UR);
	CHECK_EQ(r.fault, VTD_FR_SFL_2);
	CHECK(r.flags & PCI_RESP_FAULT_RECORDED);
	/* And at the PML4 level. */
	g_clear_faults(&g);
	r = g_read(&g, RID, PASID, 0x100000000000ull);
	CHECK_EQ(r.fault, VTD_FR_SFL_2);
	/* Non-canonical for 4-level. */
	g_clear_faults(&g);
	r = g_read(&g, RID, PASID, 0x0000800000000000ull);
	CHECK_EQ(r.fault, VTD_FR_SGN_1);
	/* Canonical upper half is fine to walk (not mapped here). */
	g_clear_faults(&g);
	r = g_read(&g, RID, PASID, 0xffff800000000000ull);
	CHECK_EQ(r.fault, VTD_FR_SFL_2);
	g_fini(&g);
}

static void test_fs_5level(void)
{
	struct vtd_config c = {0};
	struct guest g;
	uint64_t dir = 0, root, va = (1ull << 52) | 0x3000;
	struct pci_resp r;

	CHECK(!setup(&g, &c));
	root = fs_setup(&g, &dir, PASID, 5, 0);
	g_map(&g, root, 5, va, DATA + 0x9000, 12, FS_TBL, FS_LEAF, VTD_FL_PS);
	g_map(&g, root, 5, 0xff00000000000000ull, DATA, 21, FS_TBL, FS_LEAF, VTD_FL_PS);
	r = g_read(&g, RID, PASID, va + 8);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.addr, DATA + 0x9008);
	r = g_read(&g, RID, PASID, 0xff00000000000010ull);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.addr, DATA + 0x10);
	CHECK_EQ(r.page_size, 2ull << 20);
	CHECK(g_rd(&g, g_entry_pa(&g, root, 5, va, 5)) & VTD_FL_A);
	/* 57-bit canonical: bits 63:57 must copy bit 56. */
	r = g_read(&g, RID, PASID, 1ull << 57);
	CHECK_EQ(r.fault, VTD_FR_SGN_1);
	/* PS in a PML5E is reserved. */
	g_clear_faults(&g);
	g_wr(&g, root + VTD_PT_INDEX(va, 5) * 8,
	     g_rd(&g, root + VTD_PT_INDEX(va, 5) * 8) | VTD_FL_PS);
	r = g_read(&g, RID, PASID, va);
	CHECK_EQ(r.fault, VTD_FR_SFL_3);
	g_fini(&g);

	/* Without CAP.FL5LP, FLPM = 01 is invalid programming. */
	c = (struct vtd_config){0};
	vtd_config_default(&c);
	c.fs_5level = false;
	CHECK(!setup(&g, &c));
	dir = 0;
	fs_setup(&g, &dir, PASID, 5, 0);
	r = g_read(&g, RID, PASID, 0x1000);
	CHECK_EQ(r.fault, VTD_FR_SPT_4);
	/* FLPM 10 is reserved everywhere. */
	g_clear_faults(&g);
	g_wr(&g, g_pe_pa(&g, dir, PASID) + 16, g_page(&g) | VTD_SET(VTD_PE_Q2_FLPM, 2));
	r = g_read(&g, RID, PASID, 0x1000);
	CHECK_EQ(r.fault, VTD_FR_SPT_4);
	g_fini(&g);
}

static void test_fs_large_page_rules(void)
{
	struct vtd_config c = {0};
	struct guest g;
	uint64_t dir = 0, root;
	struct pci_resp r;

	vtd_config_default(&c);
	c.fs_1g = false;
	CHECK(!setup(&g, &c));
	root = fs_setup(&g, &dir, PASID, 4, 0);
	g_map(&g, root, 4, 0x80000000ull, DATA, 30, FS_TBL, FS_LEAF, VTD_FL_PS);
	r = g_read(&g, RID, PASID, 0x80000000ull);
	CHECK_EQ(r.fault, VTD_FR_SFL_3); /* no 1 GiB pages: PS in a PDPE is reserved */
	g_clear_faults(&g);
	/* 2 MiB leaf with bits 20:13 set: reserved. PAT (bit 12) is fine. */
	g_map(&g, root, 4, 0x40000000ull, DATA + 0x200000, 21, FS_TBL, FS_LEAF | VTD_FL_PAT_LARGE,
	      VTD_FL_PS);
	r = g_read(&g, RID, PASID, 0x40000000ull + 0x1234);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.addr, DATA + 0x201234);
	g_map(&g, root, 4, 0x40000000ull, DATA + 0x200000 + 0x2000, 12, 0, 0, 0);
	g_wr(&g, g_entry_pa(&g, root, 4, 0x40000000ull, 2),
	     (DATA + 0x200000) | (1ull << 13) | FS_LEAF | VTD_FL_PS);
	r = g_read(&g, RID, PASID, 0x40000000ull);
	CHECK_EQ(r.fault, VTD_FR_SFL_3);
	g_clear_faults(&g);
	/* Address bits at or above HAW (46) are reserved. */
	g_map(&g, root, 4, 0x1000, 1ull << 46, 12, FS_TBL, FS_LEAF, 0);
	r = g_read(&g, RID, PASID, 0x1000);
	CHECK_EQ(r.fault, VTD_FR_SFL_3);
	g_clear_faults(&g);
	/* XD without NXE is reserved. */
	g_map(&g, root, 4, 0x2000, DATA, 12, FS_TBL, FS_LEAF | VTD_FL_XD, 0);
	r = g_read(&g, RID, PASID, 0x2000);
	CHECK_EQ(r.fault, VTD_FR_SFL_3);
	g_fini(&g);
}

static void test_fs_permissions(void)
{
	struct vtd_config c = {0};
	struct guest g;
	uint64_t dir = 0, root, pe;
	struct pci_resp r;
	const unsigned priv = PCI_REQ_PRIV;

	vtd_config_default(&c);
	c.execute_requests = true;
	CHECK(!setup(&g, &c));
	root = fs_setup(&g, &dir, PASID, 4, VTD_PE_Q2_SRE | VTD_PE_Q2_ERE | VTD_PE_Q2_NXE);
	pe = g_pe_pa(&g, dir, PASID);
	g_map(&g, root, 4, 0x1000, DATA + 0x1000, 12, FS_TBL, VTD_FL_P | VTD_FL_US, 0); /* RO */
	g_map(&g, root, 4, 0x2000, DATA + 0x2000, 12, FS_TBL, VTD_FL_P | VTD_FL_RW, 0); /* kernel */
	g_map(&g, root, 4, 0x3000, DATA + 0x3000, 12, FS_TBL, FS_LEAF | VTD_FL_XD, 0);	/* NX */

	/* User write to a read-only page. */
	r = g_write(&g, RID, PASID, 0x1000);
	CHECK_EQ(r.fault, VTD_FR_SGN_6);
	g_clear_faults(&g);
	/* A supervisor write ignores R/W without WPE ... */
	r = g_req(&g, RID, PASID, 0x1000, PCI_REQ_WRITE | priv, PCI_AT_UNTRANSLATED);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.perm, PCI_PERM_R | PCI_PERM_W | PCI_PERM_PRIV);
	/* ... and honours it with WPE. */
	g_wr(&g, pe + 16, g_rd(&g, pe + 16) | VTD_PE_Q2_WPE);
	r = g_req(&g, RID, PASID, 0x1000, PCI_REQ_WRITE | priv, PCI_AT_UNTRANSLATED);
	CHECK_EQ(r.fault, VTD_FR_SGN_6);
	g_clear_faults(&g);
	/* User access to a supervisor page. */
	r = g_read(&g, RID, PASID, 0x2000);
	CHECK_EQ(r.fault, VTD_FR_SGN_2);
	g_clear_faults(&g);
	r = g_req(&g, RID, PASID, 0x2000, PCI_REQ_READ | priv, PCI_AT_UNTRANSLATED);
	CHECK_EQ(r.status, PCI_SC);
	/* Execute: XD with NXE denies; a normal page allows, SMEP denies supervisor fetches
	 * from user pages. */
	r = g_req(&g, RID, PASID, 0x3000, PCI_REQ_READ | PCI_REQ_EXEC, PCI_AT_UNTRANSLATED);
	CHECK_EQ(r.fault, VTD_FR_SGN_3);
	g_clear_faults(&g);
	r = g_req(&g, RID, PASID, 0x3000, PCI_REQ_READ, PCI_AT_UNTRANSLATED);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.perm, PCI_PERM_R | PCI_PERM_W); /* no X asked, none reported */
	r = g_req(&g, RID, PASID, 0x1000, PCI_REQ_READ | PCI_REQ_EXEC | priv, PCI_AT_UNTRANSLATED);
	CHECK_EQ(r.status, PCI_SC);
	CHECK(r.perm & PCI_PERM_X);
	g_wr(&g, pe + 16, g_rd(&g, pe + 16) | VTD_PE_Q2_SMEP);
	r = g_req(&g, RID, PASID, 0x1000, PCI_REQ_READ | PCI_REQ_EXEC | priv, PCI_AT_UNTRANSLATED);
	CHECK_EQ(r.fault, VTD_FR_SGN_3);
	g_clear_faults(&g);
	r = g_req(&g, RID, PASID, 0x2000, PCI_REQ_READ | PCI_REQ_EXEC | priv, PCI_AT_UNTRANSLATED);
	CHECK_EQ(r.status, PCI_SC);
	/* SRE / ERE gate supervisor and execute requests. */
	g_wr(&g, pe + 16, g_rd(&g, pe + 16) & ~(VTD_PE_Q2_SRE | VTD_PE_Q2_ERE));
	r = g_req(&g, RID, PASID, 0x2000, PCI_REQ_READ | priv, PCI_AT_UNTRANSLATED);
	CHECK_EQ(r.fault, VTD_FR_SPT_6);
	g_clear_faults(&g);
	r = g_req(&g, RID, PASID, 0x1000, PCI_REQ_READ | PCI_REQ_EXEC, PCI_AT_UNTRANSLATED);
	CHECK_EQ(r.fault, VTD_FR_SPT_5);
	g_clear_faults(&g);
	/* U/S and R/W are ANDed over the levels: a read-only PDE makes the page read-only. */
	g_map(&g, root, 4, 0x40000000ull, DATA, 12, FS_TBL, FS_LEAF, 0);
	uint64_t pde = g_entry_pa(&g, root, 4, 0x40000000ull, 2);
	g_wr(&g, pde, g_rd(&g, pde) & ~VTD_FL_RW);
	r = g_write(&g, RID, PASID, 0x40000000ull);
	CHECK_EQ(r.fault, VTD_FR_SGN_6);
	g_clear_faults(&g);
	g_wr(&g, pde, (g_rd(&g, pde) | VTD_FL_RW) & ~VTD_FL_US);
	r = g_read(&g, RID, PASID, 0x40000000ull);
	CHECK_EQ(r.fault, VTD_FR_SGN_2);
	g_fini(&g);
}

static void test_fs_ea_and_global(void)
{
	struct vtd_config c = {0};
	struct guest g;
	uint64_t dir = 0, root;
	struct pci_resp r;

	vtd_config_default(&c);
	c.fs_ea = true;
	CHECK(!setup(&g, &c));
	root = fs_setup(&g, &dir, PASID, 4, VTD_PE_Q2_EAFE);
	g_map(&g, root, 4, 0x5000, DATA, 12, FS_TBL, FS_LEAF | VTD_FL_G, 0);
	r = g_req(&g, RID, PASID, 0x5000, 0, PCI_AT_TRANSLATION);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.perm, PCI_PERM_R | PCI_PERM_W | PCI_PERM_GLOBAL);
	for (unsigned l = 4; l >= 1; l--)
		CHECK_EQ(g_rd(&g, g_entry_pa(&g, root, 4, 0x5000, l)) & (VTD_FL_A | VTD_FL_EA),
			 VTD_FL_A | VTD_FL_EA);
	g_fini(&g);

	/* Without ECAP.EAFS, EAFE is reserved. */
	c = (struct vtd_config){0};
	CHECK(!setup(&g, &c));
	dir = 0;
	fs_setup(&g, &dir, PASID, 4, VTD_PE_Q2_EAFE);
	r = g_read(&g, RID, PASID, 0x5000);
	CHECK_EQ(r.fault, VTD_FR_SPT_3);
	g_fini(&g);
}

static void test_fs_fetch_errors(void)
{
	struct vtd_config c = {0};
	struct guest g;
	uint64_t dir = 0, root;
	struct pci_resp r;

	CHECK(!setup(&g, &c));
	root = fs_setup(&g, &dir, PASID, 4, 0);
	/* A PML4E pointing past memory: the next fetch fails (SFL.1). */
	g_wr(&g, root, (G_MEM_SIZE + 0x1000) | FS_TBL);
	r = g_read(&g, RID, PASID, 0x1000);
	CHECK_EQ(r.fault, VTD_FR_SFL_1);
	g_clear_faults(&g);
	/* FLPTPTR past memory (below HAW): SFL.4. */
	g_wr(&g, g_pe_pa(&g, dir, PASID) + 16, 1ull << 40);
	r = g_read(&g, RID, PASID, 0x1000);
	CHECK_EQ(r.fault, VTD_FR_SFL_4);
	g_fini(&g);
}

static void test_ss_levels_and_pages(void)
{
	struct vtd_config c = {0};
	struct guest g;
	struct pci_resp r;

	vtd_config_default(&c);
	c.sagaw |= 1u << VTD_AW_39BIT;
	CHECK(!setup(&g, &c));
	for (unsigned aw = 1; aw <= 3; aw++) {
		uint64_t dir = 0, root, top = 1ull << (30 + 9 * aw);
		uint32_t pasid = aw;

		dir = g_sm_ctx(&g, RID, CTXF, 7);
		root = ss_setup(&g, &dir, pasid, aw, 0);
		g_map(&g, root, aw + 2, top - 0x1000, DATA + 0x7000, 12, SS_TBL, SS_LEAF,
		      VTD_SL_PS);
		g_map(&g, root, aw + 2, 0x200000, DATA + 0x400000, 21, SS_TBL, SS_LEAF, VTD_SL_PS);
		g_map(&g, root, aw + 2, 0x40000000, DATA + 0x80000000ull, 30, SS_TBL, SS_LEAF,
		      VTD_SL_PS);
		r = g_read(&g, RID, pasid, top - 0x1000 + 0x10);
		CHECK_EQ(r.status, PCI_SC);
		CHECK_EQ(r.addr, DATA + 0x7010);
		CHECK_EQ(r.page_size, 4096);
		r = g_write(&g, RID, pasid, 0x200000 + 0x1234);
		CHECK_EQ(r.addr, DATA + 0x401234);
		CHECK_EQ(r.page_size, 2ull << 20);
		r = g_write(&g, RID, pasid, 0x40000000 + 0x12345678);
		CHECK_EQ(r.addr, DATA + 0x80000000ull + 0x12345678);
		CHECK_EQ(r.page_size, 1ull << 30);
		/* Above the AW width (or MGAW): SGN.4. */
		r = g_read(&g, RID, pasid, top);
		CHECK_EQ(r.fault, VTD_FR_SGN_4);
		CHECK(r.flags & PCI_RESP_FAULT_RECORDED);
		g_clear_faults(&g);
	}
	g_fini(&g);

	/* AW not in SAGAW is invalid programming; so is a large page the unit lacks. */
	c = (struct vtd_config){0};
	vtd_config_default(&c);
	c.ss_1g = false;
	CHECK(!setup(&g, &c));
	uint64_t dir = 0, root = ss_setup(&g, &dir, PASID, VTD_AW_39BIT, 0);
	r = g_read(&g, RID, PASID, 0);
	CHECK_EQ(r.fault, VTD_FR_SPT_4);
	g_clear_faults(&g);
	root = ss_setup(&g, &dir, PASID, VTD_AW_48BIT, 0);
	g_map(&g, root, 4, 0x40000000, DATA, 30, SS_TBL, SS_LEAF, VTD_SL_PS);
	r = g_read(&g, RID, PASID, 0x40000000);
	CHECK_EQ(r.fault, VTD_FR_SSL_3);
	g_fini(&g);
}

static void test_ss_permissions_and_faults(void)
{
	struct vtd_config c = {0};
	struct guest g;
	uint64_t dir = 0, root, pe;
	struct pci_resp r;

	vtd_config_default(&c);
	c.execute_requests = true;
	CHECK(!setup(&g, &c));
	root = ss_setup(&g, &dir, PASID, VTD_AW_48BIT, 0);
	pe = g_pe_pa(&g, dir, PASID);
	g_map(&g, root, 4, 0x1000, DATA, 12, SS_TBL, VTD_SL_R, 0);
	g_map(&g, root, 4, 0x2000, DATA, 12, SS_TBL, VTD_SL_W, 0);
	g_map(&g, root, 4, 0x3000, DATA, 12, SS_TBL, SS_LEAF | VTD_SL_X, 0);
	r = g_write(&g, RID, PASID, 0x1000);
	CHECK_EQ(r.fault, VTD_FR_SGN_6);
	g_clear_faults(&g);
	r = g_read(&g, RID, PASID, 0x2000);
	CHECK_EQ(r.fault, VTD_FR_SGN_7);
	g_clear_faults(&g);
	r = g_write(&g, RID, PASID, 0x2000);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.perm, PCI_PERM_W);
	/* R = W = 0 leaf: a read is SGN.7; an absent non-leaf is SSL.2. */
	r = g_read(&g, RID, PASID, 0x4000);
	CHECK_EQ(r.fault, VTD_FR_SGN_7);
	g_clear_faults(&g);
	r = g_read(&g, RID, PASID, 0x8000000000ull);
	CHECK_EQ(r.fault, VTD_FR_SSL_2);
	g_clear_faults(&g);
	/* Execute: without SLEE, X follows R; with SLEE the X bit decides. */
	r = g_req(&g, RID, PASID, 0x1000, PCI_REQ_READ | PCI_REQ_EXEC, PCI_AT_UNTRANSLATED);
	CHECK_EQ(r.status, PCI_SC);
	g_wr(&g, pe, g_rd(&g, pe) | VTD_PE_Q0_SLEE);
	r = g_req(&g, RID, PASID, 0x1000, PCI_REQ_READ | PCI_REQ_EXEC, PCI_AT_UNTRANSLATED);
	CHECK_EQ(r.fault, VTD_FR_SGN_3);
	g_clear_faults(&g);
	/* X is ANDed over the levels too: the tables lack it so far. */
	r = g_req(&g, RID, PASID, 0x3000, PCI_REQ_READ | PCI_REQ_EXEC, PCI_AT_UNTRANSLATED);
	CHECK_EQ(r.fault, VTD_FR_SGN_3);
	g_clear_faults(&g);
	for (unsigned l = 4; l >= 2; l--) {
		uint64_t e = g_entry_pa(&g, root, 4, 0x3000, l);
		g_wr(&g, e, g_rd(&g, e) | VTD_SL_X);
	}
	r = g_req(&g, RID, PASID, 0x3000, PCI_REQ_READ | PCI_REQ_EXEC, PCI_AT_UNTRANSLATED);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.perm, PCI_PERM_R | PCI_PERM_W | PCI_PERM_X);
	/* Reserved: TM (bit 62), SNP in a non-leaf, PS at level 4, address >= HAW. */
	uint64_t pte = g_entry_pa(&g, root, 4, 0x3000, 1), v = g_rd(&g, pte);
	g_wr(&g, pte, v | VTD_SL_TM);
	r = g_read(&g, RID, PASID, 0x3000);
	CHECK_EQ(r.fault, VTD_FR_SSL_3);
	g_clear_faults(&g);
	g_wr(&g, pte, v | (1ull << 47));
	r = g_read(&g, RID, PASID, 0x3000);
	CHECK_EQ(r.fault, VTD_FR_SSL_3);
	g_clear_faults(&g);
	g_wr(&g, pte, v | VTD_SL_SNP); /* SNP at a leaf is fine in scalable mode */
	r = g_read(&g, RID, PASID, 0x3000);
	CHECK_EQ(r.status, PCI_SC);
	uint64_t pde = g_entry_pa(&g, root, 4, 0x3000, 2);
	g_wr(&g, pde, g_rd(&g, pde) | VTD_SL_SNP);
	r = g_read(&g, RID, PASID, 0x3000);
	CHECK_EQ(r.fault, VTD_FR_SSL_3);
	g_clear_faults(&g);
	g_wr(&g, root, g_rd(&g, root) | VTD_SL_PS);
	r = g_read(&g, RID, PASID, 0x3000);
	CHECK_EQ(r.fault, VTD_FR_SSL_3);
	g_clear_faults(&g);
	/* Fetch errors: lower table past memory SSL.1, root past memory SSL.4. */
	g_wr(&g, root, G_MEM_SIZE | SS_TBL);
	r = g_read(&g, RID, PASID, 0x3000);
	CHECK_EQ(r.fault, VTD_FR_SSL_1);
	g_clear_faults(&g);
	g_wr(&g, pe, (g_rd(&g, pe) & 0xfff) | (1ull << 40));
	r = g_read(&g, RID, PASID, 0x3000);
	CHECK_EQ(r.fault, VTD_FR_SSL_4);
	g_fini(&g);
}

static void test_ss_ad(void)
{
	struct vtd_config c = {0};
	struct guest g;
	uint64_t dir = 0, root;
	struct pci_resp r;

	CHECK(!setup(&g, &c));
	root = ss_setup(&g, &dir, PASID, VTD_AW_48BIT, VTD_PE_Q0_SLADE);
	g_map(&g, root, 4, 0x1000, DATA, 12, SS_TBL, SS_LEAF, 0);
	r = g_read(&g, RID, PASID, 0x1000);
	CHECK_EQ(r.status, PCI_SC);
	for (unsigned l = 4; l >= 1; l--)
		CHECK(g_rd(&g, g_entry_pa(&g, root, 4, 0x1000, l)) & VTD_SL_A);
	CHECK(!(g_rd(&g, g_entry_pa(&g, root, 4, 0x1000, 1)) & VTD_SL_D));
	r = g_write(&g, RID, PASID, 0x1000);
	CHECK(g_rd(&g, g_entry_pa(&g, root, 4, 0x1000, 1)) & VTD_SL_D);
	/* Without SLADE nothing is written. */
	root = ss_setup(&g, &dir, PASID + 1, VTD_AW_48BIT, 0);
	g_map(&g, root, 4, 0x1000, DATA, 12, SS_TBL, SS_LEAF, 0);
	r = g_write(&g, RID, PASID + 1, 0x1000);
	CHECK_EQ(r.status, PCI_SC);
	CHECK(!(g_rd(&g, g_entry_pa(&g, root, 4, 0x1000, 1)) & (VTD_SL_A | VTD_SL_D)));
	g_fini(&g);

	/* SLADE without ECAP.SLADS is reserved. */
	c = (struct vtd_config){0};
	vtd_config_default(&c);
	c.ss_ad = false;
	CHECK(!setup(&g, &c));
	dir = 0;
	ss_setup(&g, &dir, PASID, VTD_AW_48BIT, VTD_PE_Q0_SLADE);
	r = g_read(&g, RID, PASID, 0x1000);
	CHECK_EQ(r.fault, VTD_FR_SPT_3);
	g_fini(&g);
}

/* Nested: the first-stage tables live in guest-physical space mapped by the second stage
 * with an offset, so every structure access is visibly translated. */
#define GPA_OFF 0x100000000ull

static void nested_map_gpa(struct guest *g, uint64_t ssroot, uint64_t gpa, uint64_t hpa)
{
	g_map(g, ssroot, 4, gpa, hpa, 12, SS_TBL, SS_LEAF, 0);
}

static void test_nested(void)
{
	struct vtd_config c = {0};
	struct guest g;
	uint64_t dir, ssroot, fsroot_h, pml4[4], va = 0x7000;
	struct pci_resp r;

	CHECK(!setup(&g, &c));
	dir = g_sm_ctx(&g, RID, CTXF, 7);
	ssroot = g_page(&g);
	/* Build the FS tables at host pages, each reachable at hpa + GPA_OFF. */
	for (int i = 0; i < 4; i++)
		pml4[i] = g_page(&g);
	fsroot_h = pml4[0];
	g_wr(&g, pml4[0] + VTD_PT_INDEX(va, 4) * 8, (pml4[1] + GPA_OFF) | FS_TBL);
	g_wr(&g, pml4[1] + VTD_PT_INDEX(va, 3) * 8, (pml4[2] + GPA_OFF) | FS_TBL);
	g_wr(&g, pml4[2] + VTD_PT_INDEX(va, 2) * 8, (pml4[3] + GPA_OFF) | FS_TBL);
	g_wr(&g, pml4[3] + VTD_PT_INDEX(va, 1) * 8, 0x55000 | FS_LEAF); /* GPA of the page */
	for (int i = 0; i < 4; i++)
		nested_map_gpa(&g, ssroot, pml4[i] + GPA_OFF, pml4[i]);
	/* The data GPA 0x55000 maps to a 2 MiB SS page. */
	g_map(&g, ssroot, 4, 0x55000, DATA, 21, SS_TBL, SS_LEAF, VTD_SL_PS);
	g_pe(&g, dir, PASID, pe_q0(VTD_PGTT_NESTED, ssroot, VTD_AW_48BIT) | VTD_PE_Q0_SLADE, DID,
	     fsroot_h + GPA_OFF);

	r = g_write(&g, RID, PASID, va + 0x10);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.addr, DATA + 0x55010);
	CHECK_EQ(r.page_size, 4096); /* the smaller of FS 4 KiB and SS 2 MiB */
	CHECK(g_rd(&g, pml4[3] + VTD_PT_INDEX(va, 1) * 8) & VTD_FL_D);
	CHECK(g_rd(&g, pml4[0] + VTD_PT_INDEX(va, 4) * 8) & VTD_FL_A);
	/* The SS leaf mapping the FS leaf table got A and D (the FS D update wrote it). */
	CHECK_EQ(g_rd(&g, g_entry_pa(&g, ssroot, 4, pml4[3] + GPA_OFF, 1)) & (VTD_SL_A | VTD_SL_D),
		 VTD_SL_A | VTD_SL_D);
	CHECK(g_rd(&g, g_entry_pa(&g, ssroot, 4, 0x55000, 2)) & VTD_SL_D);

	/* Second-stage read denied on an FS table: SFL.7; on the root: SFL.6. */
	uint64_t sspte = g_entry_pa(&g, ssroot, 4, pml4[2] + GPA_OFF, 1);
	uint64_t keep = g_rd(&g, sspte);
	g_wr(&g, sspte, (keep & ~VTD_SL_R));
	r = g_read(&g, RID, PASID, va);
	CHECK_EQ(r.fault, VTD_FR_SFL_7);
	g_clear_faults(&g);
	g_wr(&g, sspte, keep);
	uint64_t ssroot_pte = g_entry_pa(&g, ssroot, 4, pml4[0] + GPA_OFF, 1);
	keep = g_rd(&g, ssroot_pte);
	g_wr(&g, ssroot_pte, keep & ~VTD_SL_R);
	r = g_read(&g, RID, PASID, va);
	CHECK_EQ(r.fault, VTD_FR_SFL_6);
	g_clear_faults(&g);
	g_wr(&g, ssroot_pte, keep);
	/* SS write denied where FS A/D must be written: SFL.8. Clear A in the FS leaf and make
	 * its table read-only in the second stage. */
	uint64_t fsleaf = pml4[3] + VTD_PT_INDEX(va, 1) * 8;
	g_wr(&g, fsleaf, g_rd(&g, fsleaf) & ~(VTD_FL_A | VTD_FL_D));
	sspte = g_entry_pa(&g, ssroot, 4, pml4[3] + GPA_OFF, 1);
	keep = g_rd(&g, sspte);
	g_wr(&g, sspte, keep & ~VTD_SL_W);
	r = g_read(&g, RID, PASID, va);
	CHECK_EQ(r.fault, VTD_FR_SFL_8);
	g_clear_faults(&g);
	g_wr(&g, sspte, keep);
	/* FS structure GPA above the SS width: SFL.5. */
	g_wr(&g, pml4[2] + VTD_PT_INDEX(va, 2) * 8, (1ull << 50) | FS_TBL);
	r = g_read(&g, RID, PASID, va);
	CHECK_EQ(r.fault, VTD_FR_SFL_5);
	g_clear_faults(&g);
	/* Final GPA above the SS width: SGN.4; not mapped in SS: SGN.7 / SSL.2. */
	g_wr(&g, pml4[2] + VTD_PT_INDEX(va, 2) * 8, (pml4[3] + GPA_OFF) | FS_TBL);
	g_wr(&g, fsleaf, (1ull << 49) | FS_LEAF);
	r = g_read(&g, RID, PASID, va);
	CHECK_EQ(r.fault, VTD_FR_SGN_4);
	g_clear_faults(&g);
	g_wr(&g, fsleaf, (GPA_OFF + G_TABLE_BASE + 0x1ff000) | FS_LEAF);
	r = g_read(&g, RID, PASID, va);
	CHECK_EQ(r.fault, VTD_FR_SGN_7); /* the SS page table exists, its entry does not */
	g_clear_faults(&g);
	g_wr(&g, fsleaf, 0x7f0000000000ull | FS_LEAF);
	r = g_read(&g, RID, PASID, va);
	CHECK_EQ(r.fault, VTD_FR_SSL_2);
	g_fini(&g);
}

static void test_pass_through(void)
{
	struct vtd_config c = {0};
	struct guest g;
	uint64_t dir;
	struct pci_resp r;

	CHECK(!setup(&g, &c));
	dir = g_sm_ctx(&g, RID, CTXF, 7);
	g_pe(&g, dir, 0, pe_q0(VTD_PGTT_PT, 0, VTD_AW_48BIT), DID, 0);
	r = g_write(&g, RID, NO_PASID, 0x123456789ull);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.addr, 0x123456789ull);
	CHECK_EQ(r.page_size, 4096);
	r = g_read(&g, RID, NO_PASID, 1ull << 46);
	CHECK_EQ(r.fault, VTD_FR_SGN_5);
	g_clear_faults(&g);
	r = g_write(&g, RID, NO_PASID, 0xfee00000ull);
	CHECK_EQ(r.fault, VTD_FR_SGN_8);
	g_fini(&g);

	/* Without ECAP.PT the PGTT is invalid. */
	c = (struct vtd_config){0};
	vtd_config_default(&c);
	c.pass_through = false;
	CHECK(!setup(&g, &c));
	dir = g_sm_ctx(&g, RID, CTXF, 7);
	g_pe(&g, dir, 0, pe_q0(VTD_PGTT_PT, 0, VTD_AW_48BIT), DID, 0);
	r = g_read(&g, RID, NO_PASID, 0x1000);
	CHECK_EQ(r.fault, VTD_FR_SPT_4);
	g_fini(&g);
}

static void test_context_and_pasid_faults(void)
{
	struct vtd_config c = {0};
	struct guest g;
	uint64_t dir, cpa, pe;
	struct pci_resp r;

#define EXPECT(req, code)                                                                          \
	do {                                                                                       \
		r = (req);                                                                         \
		CHECK_EQ(r.status, PCI_UR);                                                        \
		CHECK_EQ(r.fault, code);                                                           \
		g_clear_faults(&g);                                                                \
	} while (0)
	CHECK(!setup(&g, &c));
	/* Root entry: not present (bus 3 has nothing yet). */
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SRT_2);
	dir = g_sm_ctx(&g, RID, CTXF, 0); /* PDTS 0: 128 directory entries, PASIDs < 8192 */
	cpa = g_sm_ctx_pa(&g, RID);
	/* Upper half not present for devfn >= 128. */
	EXPECT(g_read(&g, PCI_RID(3, 31, 0), PASID, 0), VTD_FR_SRT_2);
	/* Reserved bits in the root entry. */
	uint64_t re = g_rd(&g, g.root + 3 * 16);
	g_wr(&g, g.root + 3 * 16, re | 0x10);
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SRT_3);
	g_wr(&g, g.root + 3 * 16, (re & 0xfff) | (1ull << 46));
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SRT_3); /* pointer >= HAW */
	g_wr(&g, g.root + 3 * 16, (re & 0xfff) | (1ull << 40));
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SCT_1); /* context table past memory */
	g_wr(&g, g.root + 3 * 16, re);
	/* Context entry. */
	uint64_t ce = g_rd(&g, cpa);
	g_wr(&g, cpa, ce & ~1ull);
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SCT_2);
	g_wr(&g, cpa, ce | (1u << 5));
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SCT_3);
	g_wr(&g, cpa, ce | VTD_SCE_Q0_PRE); /* no PRS on this unit */
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SCT_3);
	g_wr(&g, cpa, ce);
	g_wr(&g, cpa + 24, 1);
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SCT_3);
	g_wr(&g, cpa + 24, 0);
	g_wr(&g, cpa + 8, 5); /* RID_PASID without ECAP.RPS is reserved */
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SCT_3);
	g_wr(&g, cpa + 8, 0);
	/* Request checks: PASIDE, DTE, PASID beyond PDTS. */
	g_wr(&g, cpa, ce & ~VTD_SCE_Q0_PASIDE);
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SCT_6);
	r = g_read(&g, RID, NO_PASID, 0); /* without PASID it goes on, to the directory */
	CHECK_EQ(r.fault, VTD_FR_SPD_2);
	g_clear_faults(&g);
	g_wr(&g, cpa, ce & ~VTD_SCE_Q0_DTE);
	EXPECT(g_req(&g, RID, PASID, 0, 0, PCI_AT_TRANSLATION), VTD_FR_SCT_5);
	EXPECT(g_req(&g, RID, PASID, 0, PCI_REQ_READ, PCI_AT_TRANSLATED), VTD_FR_SCT_5);
	g_wr(&g, cpa, ce);
	EXPECT(g_read(&g, RID, 8192, 0), VTD_FR_SCT_7);
	/* PASID directory and table. */
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SPD_2);
	g_wr(&g, dir + (PASID >> 6) * 8, 0x10 | 1);
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SPD_3);
	g_wr(&g, dir + (PASID >> 6) * 8, (1ull << 40) | 1);
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SPT_1);
	g_wr(&g, cpa, (1ull << 40) | (ce & 0xfff));
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SPD_1);
	g_wr(&g, cpa, ce);
	g_wr(&g, dir + (PASID >> 6) * 8, 0);
	pe = g_pe_pa(&g, dir, PASID);
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SPT_2);
	for (unsigned pgtt = 0; pgtt < 8; pgtt++) {
		if (pgtt >= 1 && pgtt <= 4)
			continue;
		g_wr(&g, pe, pe_q0(pgtt, 0, VTD_AW_48BIT));
		EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SPT_4);
	}
	g_wr(&g, pe, pe_q0(VTD_PGTT_SS, g_page(&g), VTD_AW_48BIT) | (1u << 10));
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SPT_3);
	g_wr(&g, pe, pe_q0(VTD_PGTT_SS, g_page(&g), VTD_AW_48BIT));
	g_wr(&g, pe + 56, 1);
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SPT_3);
	g_wr(&g, pe + 56, 0);
	g_wr(&g, pe + 8, 1u << 16);
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SPT_3);
	g_wr(&g, pe + 8, DID);
	g_wr(&g, pe, pe_q0(VTD_PGTT_SS, g_page(&g), 4));
	EXPECT(g_read(&g, RID, PASID, 0), VTD_FR_SPT_4); /* AW 4 */
	g_fini(&g);
#undef EXPECT
}

static void test_rid_pasid(void)
{
	struct vtd_config c = {0};
	struct guest g;
	uint64_t dir, cpa, root;
	struct pci_resp r;

	vtd_config_default(&c);
	c.rid_pasid = true;
	c.rid_priv = true;
	CHECK(!setup(&g, &c));
	dir = g_sm_ctx(&g, RID, CTXF, 0);
	cpa = g_sm_ctx_pa(&g, RID);
	root = fs_setup(&g, &dir, 77, 4, VTD_PE_Q2_SRE);
	g_map(&g, root, 4, 0x1000, DATA, 12, FS_TBL, VTD_FL_P | VTD_FL_RW, 0); /* supervisor */
	/* Requests without PASID use RID_PASID = 77, and RID_PRIV makes them supervisor. */
	g_wr(&g, cpa + 8, 77);
	r = g_read(&g, RID, NO_PASID, 0x1000);
	CHECK_EQ(r.fault, VTD_FR_SGN_2);
	g_clear_faults(&g);
	g_wr(&g, cpa + 8, 77 | VTD_SCE_Q1_RID_PRIV);
	r = g_read(&g, RID, NO_PASID, 0x1000);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.addr, DATA);
	/* RID_PASID beyond the directory: SCT.9. */
	g_wr(&g, cpa + 8, 1u << 13);
	r = g_read(&g, RID, NO_PASID, 0x1000);
	CHECK_EQ(r.fault, VTD_FR_SCT_9);
	g_fini(&g);
}

static void test_ats(void)
{
	struct vtd_config c = {0};
	struct guest g;
	uint64_t dir = 0, root;
	struct pci_resp r;

	CHECK(!setup(&g, &c));
	root = fs_setup(&g, &dir, PASID, 4, 0);
	g_map(&g, root, 4, 0x1000, DATA + 0x1000, 12, FS_TBL, VTD_FL_P | VTD_FL_US, 0);
	g_map(&g, root, 4, 0x200000, DATA + 0x200000, 21, FS_TBL, FS_LEAF, VTD_FL_PS);
	/* A read-only page: R only, no D written. */
	r = g_req(&g, RID, PASID, 0x1000, 0, PCI_AT_TRANSLATION);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.addr, DATA + 0x1000);
	CHECK_EQ(r.perm, PCI_PERM_R);
	CHECK(g_rd(&g, g_entry_pa(&g, root, 4, 0x1000, 1)) & VTD_FL_A);
	/* Writable 2 MiB page: R/W, size 2 MiB, D set since write permission goes out. */
	r = g_req(&g, RID, PASID, 0x200000 + 0x5000, 0, PCI_AT_TRANSLATION);
	CHECK_EQ(r.perm, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(r.page_size, 2ull << 20);
	CHECK_EQ(r.addr, DATA + 0x205000);
	CHECK(g_rd(&g, g_entry_pa(&g, root, 4, 0x200000, 2)) & VTD_FL_D);
	/* Not present: success with R = W = 0 and no fault record. */
	r = g_req(&g, RID, PASID, 0x9000, 0, PCI_AT_TRANSLATION);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.perm, 0);
	CHECK_EQ(r.flags, 0);
	CHECK_EQ(g_mmio_rd(&g, VTD_REG_FSTS, 4) & 0xff, 0); /* FRI is stale, PPF clear */
	/* A supervisor-only page for a user request: no access either. */
	g_map(&g, root, 4, 0x3000, DATA, 12, FS_TBL, VTD_FL_P | VTD_FL_RW, 0);
	r = g_req(&g, RID, PASID, 0x3000, 0, PCI_AT_TRANSLATION);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.perm, 0);
	/* Structure errors are faults: reserved bits. */
	g_wr(&g, g_entry_pa(&g, root, 4, 0x3000, 1), DATA | VTD_FL_P | (1ull << 50));
	r = g_req(&g, RID, PASID, 0x3000, 0, PCI_AT_TRANSLATION);
	CHECK_EQ(r.status, PCI_UR);
	CHECK_EQ(r.fault, VTD_FR_SFL_3);
	CHECK(r.flags & PCI_RESP_FAULT_RECORDED);
	g_clear_faults(&g);
	/* The interrupt range: untranslated access only. */
	r = g_req(&g, RID, PASID, 0xfee00000ull, 0, PCI_AT_TRANSLATION);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.perm, PCI_PERM_W | PCI_PERM_U);
	CHECK_EQ(r.addr, 0xfee00000ull);
	/* An output in the interrupt range is a fault. */
	g_map(&g, root, 4, 0x4000, 0xfee01000ull, 12, FS_TBL, FS_LEAF, 0);
	r = g_read(&g, RID, PASID, 0x4000);
	CHECK_EQ(r.fault, VTD_FR_SGN_8);
	g_clear_faults(&g);
	r = g_req(&g, RID, PASID, 0x4000, 0, PCI_AT_TRANSLATION);
	CHECK_EQ(r.fault, VTD_FR_SGN_8);
	g_clear_faults(&g);
	/* Translated requests pass through with DTE. */
	r = g_req(&g, RID, PASID, DATA + 0x42, PCI_REQ_WRITE, PCI_AT_TRANSLATED);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.addr, DATA + 0x42);
	g_fini(&g);
}

static void test_nwfs(void)
{
	struct vtd_config c = {0};
	struct guest g;
	uint64_t dir = 0, root;
	struct pci_resp r;

	vtd_config_default(&c);
	c.nwfs = true;
	CHECK(!setup(&g, &c));
	root = fs_setup(&g, &dir, PASID, 4, 0);
	g_map(&g, root, 4, 0x1000, DATA, 12, FS_TBL, FS_LEAF, 0);
	r = g_req(&g, RID, PASID, 0x1000, PCI_REQ_NW, PCI_AT_TRANSLATION);
	CHECK_EQ(r.perm, PCI_PERM_R);
	CHECK(!(g_rd(&g, g_entry_pa(&g, root, 4, 0x1000, 1)) & VTD_FL_D));
	r = g_req(&g, RID, PASID, 0x1000, 0, PCI_AT_TRANSLATION);
	CHECK_EQ(r.perm, PCI_PERM_R | PCI_PERM_W);
	CHECK(g_rd(&g, g_entry_pa(&g, root, 4, 0x1000, 1)) & VTD_FL_D);
	g_fini(&g);
}

static void test_modes(void)
{
	struct vtd_config c = {0};
	struct guest g;
	struct pci_resp r;

	vtd_config_default(&c);
	c.abort_dma = true;
	CHECK(!setup(&g, &c));
	/* Translation disabled: DMA passes, ATS gets UR. */
	g_mmio_wr(&g, VTD_REG_GCMD, 4, 0);
	r = g_write(&g, RID, PASID, 0xabc000);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.addr, 0xabc000);
	r = g_req(&g, RID, PASID, 0xabc000, 0, PCI_AT_TRANSLATION);
	CHECK_EQ(r.status, PCI_UR);
	CHECK_EQ(r.fault, 0);
	/* TTM 10 is reserved: RTA.1. */
	g_mmio_wr(&g, VTD_REG_RTADDR, 8, g.root | (2ull << 10));
	g_mmio_wr(&g, VTD_REG_GCMD, 4, VTD_GCMD_SRTP);
	g_mmio_wr(&g, VTD_REG_GCMD, 4, VTD_GCMD_TE);
	r = g_read(&g, RID, PASID, 0);
	CHECK_EQ(r.fault, VTD_FR_RTA_1);
	CHECK(r.flags & PCI_RESP_FAULT_RECORDED);
	g_clear_faults(&g);
	/* TTM 11 with ADMS: every request blocked, nothing recorded. */
	g_mmio_wr(&g, VTD_REG_RTADDR, 8, g.root | (3ull << 10));
	g_mmio_wr(&g, VTD_REG_GCMD, 4, VTD_GCMD_TE | VTD_GCMD_SRTP);
	r = g_read(&g, RID, PASID, 0);
	CHECK_EQ(r.status, PCI_UR);
	CHECK_EQ(r.fault, 0);
	CHECK_EQ(g_mmio_rd(&g, VTD_REG_FSTS, 4) & 0xff, 0); /* FRI is stale, PPF clear */
	/* RTADDR written but not latched: translation still uses the old table. */
	g_mmio_wr(&g, VTD_REG_RTADDR, 8, g.root | (1ull << 10));
	r = g_read(&g, RID, PASID, 0);
	CHECK_EQ(r.fault, 0);
	g_fini(&g);
}

static void test_bad_calls(void)
{
	struct vtd_config c = {0};
	struct guest g;
	struct pci_req req = {.at = 3};
	struct pci_resp resp = {.status = 7};

	CHECK(!setup(&g, &c));
	CHECK_EQ(vtd_translate(g.vtd, &req, &resp), -EINVAL);
	req.at = 0;
	req.flags = PCI_REQ_PASID;
	req.pasid = 1u << 20;
	CHECK_EQ(vtd_translate(g.vtd, &req, &resp), -EINVAL);
	CHECK_EQ(vtd_translate(g.vtd, NULL, &resp), -EINVAL);
	CHECK_EQ(vtd_translate(g.vtd, &req, NULL), -EINVAL);
	CHECK_EQ(vtd_translate(NULL, &req, &resp), -EINVAL);
	CHECK_EQ(resp.status, 7);
	struct pci_translation_agent ta = vtd_translation_agent(g.vtd);
	req.flags = 0;
	CHECK_EQ(ta.translate(ta.ctx, &req, &resp), 0);
	CHECK_EQ(resp.fault, VTD_FR_SRT_2);
	g_fini(&g);
}

int main(void)
{
	RUN(test_fs_4level_pages);
	RUN(test_fs_5level);
	RUN(test_fs_large_page_rules);
	RUN(test_fs_permissions);
	RUN(test_fs_ea_and_global);
	RUN(test_fs_fetch_errors);
	RUN(test_ss_levels_and_pages);
	RUN(test_ss_permissions_and_faults);
	RUN(test_ss_ad);
	RUN(test_nested);
	RUN(test_pass_through);
	RUN(test_context_and_pasid_faults);
	RUN(test_rid_pasid);
	RUN(test_ats);
	RUN(test_nwfs);
	RUN(test_modes);
	RUN(test_bad_calls);
	return CHECK_DONE();
}
