// SPDX-License-Identifier: MIT
/*
 * The caches driven as a driver drives them: tables changed in memory, then invalidation
 * descriptors through the queue (IQA, QIE, IQT), with check mode watching. Each step
 * shows the stale entry served (and reported) until the descriptor that covers it, and
 * that a descriptor that does not cover it leaves it in place.
 */
#include "check.h"
#include "vtd_guest.h"

#define RID	PCI_RID(4, 2, 0)
#define PASID	33u
#define DID	12u
#define DATA	0x200000000ull
#define FS_LEAF (VTD_FL_P | VTD_FL_RW | VTD_FL_US)
#define SS_LEAF (VTD_SL_R | VTD_SL_W)

struct qenv {
	struct guest g;
	uint64_t iq, tail, dir;
	int stale;
	enum vtd_cache_id last;
};

static void on_stale(void *ctx, const struct vtd_stale *s)
{
	struct qenv *q = ctx;

	q->stale++;
	q->last = s->cache;
}

static int qenv_init(struct qenv *q)
{
	struct vtd_config c;
	struct vtd_callbacks cb = {.stale = on_stale};

	vtd_config_default(&c);
	g_keep_caches = true;
	memset(q, 0, sizeof(*q));
	if (g_init(&q->g, &c, true))
		return -1;
	vtd_destroy(q->g.vtd);
	if (vtd_create(&c, q->g.m, &cb, q, &q->g.vtd))
		return -1;
	g_enable(&q->g);
	q->iq = g_page(&q->g);
	/* A 256-bit queue of one page, then QI on (GSTS persistent bits kept). */
	g_mmio_wr(&q->g, VTD_REG_IQA, 8, q->iq | VTD_IQA_DW);
	g_mmio_wr(&q->g, VTD_REG_GCMD, 4,
		  ((uint32_t)g_mmio_rd(&q->g, VTD_REG_GSTS, 4) & VTD_GSTS_PERSISTENT_MASK) |
		      VTD_GCMD_QIE);
	q->dir = g_sm_ctx(&q->g, RID, VTD_SCE_Q0_PASIDE | VTD_SCE_Q0_DTE, 7);
	return vtd_set_check(q->g.vtd, true);
}

/* Submit one 256-bit descriptor and wait for the queue to take it. */
static int submit(struct qenv *q, uint64_t q0, uint64_t q1)
{
	uint64_t at = q->iq + q->tail;

	g_wr(&q->g, at, q0);
	g_wr(&q->g, at + 8, q1);
	g_wr(&q->g, at + 16, 0);
	g_wr(&q->g, at + 24, 0);
	q->tail = (q->tail + 32) % 4096;
	g_mmio_wr(&q->g, VTD_REG_IQT, 8, q->tail);
	CHECK_RET(g_mmio_rd(&q->g, VTD_REG_IQH, 8) == q->tail);
	CHECK_RET(!(g_mmio_rd(&q->g, VTD_REG_FSTS, 4) & VTD_FSTS_IQE));
	return 0;
}

static uint64_t piotlb(unsigned g, uint32_t pasid)
{
	return VTD_INV_PIOTLB | VTD_SET(VTD_INV_PIOTLB_G, g) | VTD_SET(VTD_INV_PIOTLB_DID, DID) |
	       VTD_SET(VTD_INV_PIOTLB_PASID, pasid);
}

static void test_first_stage_page(void)
{
	struct qenv q;
	uint64_t root = 0, pte;

	CHECK(!qenv_init(&q));
	root = g_page(&q.g);
	g_pe(&q.g, q.dir, PASID, VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, VTD_PGTT_FS), DID, root);
	g_map(&q.g, root, 4, 0x40000, DATA, 12, FS_TBL, FS_LEAF, 0);
	CHECK_EQ(g_read(&q.g, RID, PASID, 0x40000).addr, DATA);
	pte = g_entry_pa(&q.g, root, 4, 0x40000, 1);
	g_wr(&q.g, pte, (DATA + 0x8000) | FS_LEAF);
	CHECK_EQ(g_read(&q.g, RID, PASID, 0x40000).addr, DATA); /* stale */
	CHECK_EQ(q.stale, 1);
	CHECK_EQ(q.last, VTD_CACHE_IOTLB);
	/* Page-selective for the next page, for another PASID: the entry stays. */
	CHECK(!submit(&q, piotlb(VTD_INV_PIOTLB_G_PAGE, PASID), 0x41000));
	CHECK(!submit(&q, piotlb(VTD_INV_PIOTLB_G_PAGE, PASID + 1), 0x40000));
	CHECK_EQ(g_read(&q.g, RID, PASID, 0x40000).addr, DATA);
	CHECK_EQ(q.stale, 2);
	/* A type-2 page-selective covers every first-stage entry of the domain (5.3). */
	CHECK(!submit(&q,
		      VTD_INV_IOTLB | VTD_SET(VTD_INV_IOTLB_G, VTD_IOTLB_GRAN_PAGE) |
			  VTD_SET(VTD_INV_IOTLB_DID, DID),
		      0x7000000));
	CHECK_EQ(g_read(&q.g, RID, PASID, 0x40000).addr, DATA + 0x8000);
	/* And the PASID-based page-selective with AM covering it (AM 6: 256 KiB at 0). */
	g_wr(&q.g, pte, (DATA + 0x9000) | FS_LEAF);
	CHECK_EQ(g_read(&q.g, RID, PASID, 0x40000).addr, DATA + 0x8000);
	CHECK(!submit(&q, piotlb(VTD_INV_PIOTLB_G_PAGE, PASID), 0x40000 | 6));
	CHECK_EQ(g_read(&q.g, RID, PASID, 0x40000).addr, DATA + 0x9000);
	CHECK_EQ(q.stale, 3);
	g_fini(&q.g);
}

static void test_second_stage_and_structures(void)
{
	struct qenv q;
	uint64_t ss, ss2, pte, pe, cpa;

	CHECK(!qenv_init(&q));
	ss = g_page(&q.g);
	g_pe(&q.g, q.dir, PASID,
	     VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, VTD_PGTT_SS) | VTD_SET(VTD_PE_Q0_AW, 2) | ss,
	     DID, 0);
	g_map(&q.g, ss, 4, 0x3000, DATA, 12, SS_TBL, SS_LEAF, 0);
	CHECK_EQ(g_read(&q.g, RID, PASID, 0x3000).addr, DATA);
	pte = g_entry_pa(&q.g, ss, 4, 0x3000, 1);
	g_wr(&q.g, pte, (DATA + 0x5000) | SS_LEAF);
	/* Page-selective within PASID does not touch second-stage entries (5.7). */
	CHECK(!submit(&q, piotlb(VTD_INV_PIOTLB_G_PAGE, PASID), 0x3000));
	CHECK_EQ(g_read(&q.g, RID, PASID, 0x3000).addr, DATA);
	CHECK(!submit(&q,
		      VTD_INV_IOTLB | VTD_SET(VTD_INV_IOTLB_G, VTD_IOTLB_GRAN_PAGE) |
			  VTD_SET(VTD_INV_IOTLB_DID, DID),
		      0x3000));
	CHECK_EQ(g_read(&q.g, RID, PASID, 0x3000).addr, DATA + 0x5000);
	/* A new second-stage table in the PASID entry: PASID cache (type 7) and IOTLB. */
	ss2 = g_page(&q.g);
	g_map(&q.g, ss2, 4, 0x3000, DATA + 0x6000, 12, SS_TBL, SS_LEAF, 0);
	pe = g_pe_pa(&q.g, q.dir, PASID);
	g_wr(&q.g, pe, (g_rd(&q.g, pe) & 0xfff) | ss2);
	CHECK(!submit(&q,
		      VTD_INV_IOTLB | VTD_SET(VTD_INV_IOTLB_G, VTD_IOTLB_GRAN_DOMAIN) |
			  VTD_SET(VTD_INV_IOTLB_DID, DID),
		      0));
	CHECK_EQ(g_read(&q.g, RID, PASID, 0x3000).addr, DATA + 0x5000); /* stale PE */
	CHECK_EQ(q.last, VTD_CACHE_PASID);
	CHECK(!submit(&q,
		      VTD_INV_PC | VTD_SET(VTD_INV_PC_G, VTD_INV_PC_G_PASID) |
			  VTD_SET(VTD_INV_PC_DID, DID) | VTD_SET(VTD_INV_PC_PASID, PASID),
		      0));
	CHECK(!submit(&q,
		      VTD_INV_IOTLB | VTD_SET(VTD_INV_IOTLB_G, VTD_IOTLB_GRAN_DOMAIN) |
			  VTD_SET(VTD_INV_IOTLB_DID, DID),
		      0));
	CHECK_EQ(g_read(&q.g, RID, PASID, 0x3000).addr, DATA + 0x6000);
	/* The context entry: device-selective context-cache invalidation with FM. */
	cpa = g_sm_ctx_pa(&q.g, RID);
	g_wr(&q.g, cpa, g_rd(&q.g, cpa) & ~VTD_SCE_Q0_PASIDE);
	CHECK_EQ(g_read(&q.g, RID, PASID, 0x3000).status, PCI_SC); /* stale context */
	CHECK_EQ(q.last, VTD_CACHE_CONTEXT);
	int before = q.stale;
	CHECK(!submit(&q,
		      VTD_INV_CC | VTD_SET(VTD_INV_CC_G, VTD_CCMD_GRAN_DEVICE) |
			  VTD_SET(VTD_INV_CC_SID, PCI_RID(4, 2, 7)) | VTD_SET(VTD_INV_CC_FM, 3),
		      0));
	CHECK_EQ(g_read(&q.g, RID, PASID, 0x3000).fault, VTD_FR_SCT_6);
	CHECK_EQ(q.stale, before);
	g_fini(&q.g);
}

int main(void)
{
	RUN(test_first_stage_page);
	RUN(test_second_stage_and_structures);
	return CHECK_DONE();
}
