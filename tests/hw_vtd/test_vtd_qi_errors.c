// SPDX-License-Identifier: MIT
/*
 * Queued invalidation when things go wrong (digest 1.7, 1.8, 5.6): each queue error with
 * its IQERCD.IQEI, where IQH stops and how software recovers; device-TLB time-outs (a port
 * that never answers, no port at all) and invalid completions; the QIE enable/disable rules
 * and IQA programming.
 */
#include "check.h"
#include "qi_guest.h"

static struct vtd_config default_cfg(void)
{
	struct vtd_config c;

	vtd_config_default(&c);
	return c;
}

static unsigned iqei(struct qg *g)
{
	return (unsigned)VTD_GET(qg_iqercd(g), VTD_IQERCD_IQEI);
}

/* Clear FSTS status bits (RW1C), which also lets a stopped queue go on. */
static void clear_fsts(struct qg *g, uint32_t bits)
{
	qg_wr(g, VTD_REG_FSTS, 4, bits);
}

/*
 * A bad descriptor between good ones: the good ones before it are carried out, IQH stops
 * at it, FSTS.IQE with the fault event and IQEI; after software repairs it and clears
 * IQE the queue resumes from there without another IQT write.
 */
static void bad_descriptor_case(bool dw256, struct qg_desc bad, unsigned want_iqei)
{
	struct vtd_config c = default_cfg();
	struct qg g;
	uint64_t bad_at;

	CHECK_EQ(qg_init(&g, &c, dw256, 0), 0);
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW, 1, 0));
	qg_put(&g, qd_cc(VTD_CCMD_GRAN_GLOBAL, 0, 0, 0));
	bad_at = g.tail;
	qg_put(&g, bad);
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW, 2, 1));
	qg_submit(&g);
	CHECK_EQ(qg_status(&g, 0), 1);
	CHECK_EQ(qg_status(&g, 1), 0); /* not reached */
	CHECK_EQ(qg_iqh(&g), bad_at);
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_IQE);
	CHECK_EQ(iqei(&g), want_iqei);
	CHECK_EQ(g.fault_events, 1);
	CHECK_EQ(qg_stats(&g).iqe, 1);
	CHECK_EQ(qg_stats(&g).descriptors, 2);
	CHECK_EQ(qg_last(&g)->inv.result, VTD_INV_RES_ERROR);
	CHECK_EQ(qg_last(&g)->inv.iqei, want_iqei);
	/* While IQE is set nothing is fetched, even on a new IQT write. */
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW, 3, 2));
	qg_submit(&g);
	CHECK_EQ(qg_iqh(&g), bad_at);
	CHECK_EQ(qg_status(&g, 2), 0);
	/* Software turns the bad descriptor into a wait (as Linux does) and clears IQE. */
	mem_write64(g.m, g.base + bad_at, VTD_INV_WAIT | VTD_INV_WAIT_FN);
	mem_write64(g.m, g.base + bad_at + 8, 0);
	if (dw256) {
		mem_write64(g.m, g.base + bad_at + 16, 0);
		mem_write64(g.m, g.base + bad_at + 24, 0);
	}
	clear_fsts(&g, VTD_FSTS_IQE);
	CHECK_EQ(qg_fsts(&g), 0);
	CHECK_EQ(qg_iqh(&g), g.tail);
	CHECK_EQ(qg_status(&g, 1), 2);
	CHECK_EQ(qg_status(&g, 2), 3);
	CHECK_EQ(g.fault_events, 1);
	qg_fini(&g);
}

static void test_invalid_type(void)
{
	/* Unknown types, type[6:4] set, page group responses (no ECAP.PRS). */
	bad_descriptor_case(false, qd(0, 0), VTD_IQEI_TYPE);
	bad_descriptor_case(true, qd(0xf, 0), VTD_IQEI_TYPE);
	bad_descriptor_case(true, qd(VTD_INV_CC | (1ull << 9), 0), VTD_IQEI_TYPE);
	bad_descriptor_case(true, qd(VTD_INV_PGRP_RESP, 0), VTD_IQEI_TYPE);
	bad_descriptor_case(true, qd(0xa, 0), VTD_IQEI_TYPE);
	/* Types 6, 7 and 8 are 256-bit descriptors: not in a 128-bit queue. */
	bad_descriptor_case(false, qd_piotlb(VTD_INV_PIOTLB_G_PASID, 1, 1, 0, 0, false),
			    VTD_IQEI_TYPE);
	bad_descriptor_case(false, qd_pc(VTD_INV_PC_G_GLOBAL, 0, 0), VTD_IQEI_TYPE);
	bad_descriptor_case(false, qd_pdevtlb(0x10, 1, 0, false, false), VTD_IQEI_TYPE);
}

static struct qg_desc with_bits(struct qg_desc d, unsigned q, uint64_t bits)
{
	d.q[q] |= bits;
	return d;
}

static void test_reserved_fields(void)
{
	struct qg_desc cc = qd_cc(VTD_CCMD_GRAN_GLOBAL, 0, 0, 0);
	struct qg_desc wait = qd_wait(VTD_INV_WAIT_SW, 0, 0);

	bad_descriptor_case(false, with_bits(cc, 0, 1ull << 7), VTD_IQEI_RSVD);
	bad_descriptor_case(false, with_bits(cc, 0, 1ull << 63), VTD_IQEI_RSVD);
	bad_descriptor_case(false, with_bits(cc, 1, 1), VTD_IQEI_RSVD);
	bad_descriptor_case(false, qd_cc(0, 0, 0, 0), VTD_IQEI_RSVD);  /* G = 00 */
	bad_descriptor_case(true, with_bits(cc, 2, 1), VTD_IQEI_RSVD); /* Q2 */
	bad_descriptor_case(true, with_bits(cc, 3, 1ull << 40), VTD_IQEI_RSVD);
	bad_descriptor_case(false, qd_iotlb(0, 1, 0, 0, false), VTD_IQEI_RSVD);
	bad_descriptor_case(false, with_bits(qd_iotlb(1, 0, 0, 0, false), 0, 1ull << 40),
			    VTD_IQEI_RSVD);
	bad_descriptor_case(false, with_bits(qd_iotlb(1, 0, 0, 0, false), 1, 1ull << 8),
			    VTD_IQEI_RSVD);
	bad_descriptor_case(false, qd_iotlb(VTD_IOTLB_GRAN_PAGE, 1, 0, 19, false), /* > MAMV */
			    VTD_IQEI_RSVD);
	bad_descriptor_case(false, with_bits(qd_devtlb(1, 0, false), 1, 1ull << 3), VTD_IQEI_RSVD);
	bad_descriptor_case(false, with_bits(qd_devtlb(1, 0, false), 0, 1ull << 49), VTD_IQEI_RSVD);
	bad_descriptor_case(false, with_bits(qd_iec(false, 0, 0), 0, 1ull << 20), VTD_IQEI_RSVD);
	bad_descriptor_case(false, with_bits(wait, 0, VTD_INV_WAIT_PD), VTD_IQEI_RSVD);
	bad_descriptor_case(false, with_bits(wait, 0, 1ull << 8), VTD_IQEI_RSVD);
	bad_descriptor_case(false, with_bits(wait, 1, 1), VTD_IQEI_RSVD);
	/* A status address at or above 2^HAW (46) is reserved; without SW it is not used. */
	bad_descriptor_case(false, qd(VTD_INV_WAIT | VTD_INV_WAIT_SW, 1ull << 46), VTD_IQEI_RSVD);
	bad_descriptor_case(true, with_bits(qd_piotlb(3, 1, 1, 0, 0, false), 1, 1ull << 9),
			    VTD_IQEI_RSVD);
	bad_descriptor_case(true, with_bits(qd_piotlb(2, 1, 1, 0, 0, false), 0, 1ull << 60),
			    VTD_IQEI_RSVD);
	bad_descriptor_case(true, with_bits(qd_pc(1, 1, 1), 1, 1), VTD_IQEI_RSVD);
	bad_descriptor_case(true, with_bits(qd_pdevtlb(1, 1, 0, false, false), 0, 1ull << 12),
			    VTD_IQEI_RSVD); /* PFSID without DIT */
}

static void test_status_address_unused_without_sw(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;

	CHECK_EQ(qg_init(&g, &c, false, 0), 0);
	qg_run(&g, qd(VTD_INV_WAIT | VTD_INV_WAIT_IF, ~3ull));
	CHECK_EQ(qg_fsts(&g), 0);
	CHECK_EQ(g.inv_events, 1);
	qg_fini(&g);
}

/* IQEI 1: a tail at or beyond the queue; IQEI 6: a tail not 32-byte aligned (DW = 1). */
static void test_bad_tail(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;

	CHECK_EQ(qg_init(&g, &c, false, 0), 0); /* one page: offsets 0..0xff0 */
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW, 7, 0));
	qg_wr(&g, VTD_REG_IQT, 8, 0x1000);
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_IQE);
	CHECK_EQ(iqei(&g), VTD_IQEI_TAIL);
	CHECK_EQ(qg_iqh(&g), 0);
	CHECK_EQ(qg_status(&g, 0), 0);
	CHECK_EQ(g.fault_events, 1);
	/* Software fixes the tail, then clears IQE: the queue runs to the new tail. */
	qg_submit(&g);
	CHECK_EQ(qg_status(&g, 0), 0);
	clear_fsts(&g, VTD_FSTS_IQE);
	CHECK_EQ(qg_status(&g, 0), 7);
	CHECK_EQ(qg_iqh(&g), 16);
	CHECK_EQ(qg_fsts(&g), 0);
	/* Clearing IQE with the tail still bad raises it again. */
	qg_wr(&g, VTD_REG_IQT, 8, 0x7fff0);
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_IQE);
	clear_fsts(&g, VTD_FSTS_IQE);
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_IQE);
	CHECK_EQ(g.fault_events, 3);
	CHECK_EQ(qg_stats(&g).iqe, 3);
	qg_fini(&g);

	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW, 8, 0));
	qg_wr(&g, VTD_REG_IQT, 8, 0x10);
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_IQE);
	CHECK_EQ(iqei(&g), VTD_IQEI_TAIL_ALIGN);
	CHECK_EQ(qg_iqh(&g), 0);
	qg_submit(&g); /* 0x20 */
	clear_fsts(&g, VTD_FSTS_IQE);
	CHECK_EQ(qg_status(&g, 0), 8);
	CHECK_EQ(qg_iqh(&g), 0x20);
	/* In a 256-bit queue IQH never has bit 4 set, beyond the size is still IQEI 1. */
	qg_wr(&g, VTD_REG_IQT, 8, 0x1000);
	CHECK_EQ(iqei(&g), VTD_IQEI_TAIL);
	qg_fini(&g);
}

/* IQEI 2: the queue lies (partly) outside memory. */
static void test_fetch_error(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;

	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	qg_qie(&g, false);
	qg_setup_queue(&g, QG_MEM_SIZE - 4096, 1, true); /* the second page is outside */
	qg_qie(&g, true);
	for (unsigned i = 0; i < 128; i++) /* the 128 slots of the page inside memory */
		qg_put(&g, qd_wait(0, 0, 0));
	qg_submit(&g);
	CHECK_EQ(qg_fsts(&g), 0);
	CHECK_EQ(qg_iqh(&g), 128 * 32);
	g.tail += 32; /* the next slot is outside memory */
	qg_submit(&g);
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_IQE);
	CHECK_EQ(iqei(&g), VTD_IQEI_FETCH);
	CHECK_EQ(qg_iqh(&g), 128 * 32);
	CHECK_EQ(qg_last(&g)->inv.result, VTD_INV_RES_ERROR);
	/* Recovery: disable QI (the head goes back to 0), move the queue, enable again. */
	qg_qie(&g, false);
	CHECK_EQ(qg_iqh(&g), 0);
	CHECK_EQ(qg_stats(&g).unclean_disable, 1);
	clear_fsts(&g, VTD_FSTS_IQE);
	qg_setup_queue(&g, QG_QUEUE, 0, true);
	qg_qie(&g, true);
	qg_run(&g, qd_wait(VTD_INV_WAIT_SW, 5, 0));
	CHECK_EQ(qg_status(&g, 0), 5);
	CHECK_EQ(qg_fsts(&g), 0);
	qg_fini(&g);

	/* A base beyond memory: the first fetch fails. */
	CHECK_EQ(qg_init(&g, &c, false, 0), 0);
	qg_qie(&g, false);
	qg_setup_queue(&g, 1ull << 40, 0, false);
	qg_qie(&g, true);
	qg_wr(&g, VTD_REG_IQT, 8, 0x20);
	CHECK_EQ(iqei(&g), VTD_IQEI_FETCH);
	CHECK_EQ(qg_iqh(&g), 0);
	qg_fini(&g);
}

/* IQEI 7: descriptors need a valid latched translation table mode. */
static void test_bad_ttm(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;

	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	qg_wr(&g, VTD_REG_RTADDR, 8, 0x300000 | (2ull << 10)); /* TTM 10: reserved */
	qg_wr(&g, VTD_REG_GCMD, 4, VTD_GCMD_SRTP | VTD_GCMD_QIE);
	qg_run(&g, qd_wait(VTD_INV_WAIT_SW, 1, 0));
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_IQE);
	CHECK_EQ(iqei(&g), VTD_IQEI_TTM);
	CHECK_EQ(qg_iqh(&g), 0);
	/* Latch a scalable root, clear IQE: it goes on. */
	qg_wr(&g, VTD_REG_RTADDR, 8, 0x300000 | (1ull << 10));
	qg_wr(&g, VTD_REG_GCMD, 4, VTD_GCMD_SRTP | VTD_GCMD_QIE);
	clear_fsts(&g, VTD_FSTS_IQE);
	CHECK_EQ(qg_status(&g, 0), 1);
	CHECK_EQ(qg_fsts(&g), 0);
	/* Abort-DMA mode without ECAP.ADMS is not a mode this unit has. */
	qg_wr(&g, VTD_REG_RTADDR, 8, 0x300000 | (3ull << 10));
	qg_wr(&g, VTD_REG_GCMD, 4, VTD_GCMD_SRTP | VTD_GCMD_QIE);
	qg_run(&g, qd_wait(VTD_INV_WAIT_SW, 2, 0));
	CHECK_EQ(iqei(&g), VTD_IQEI_TTM);
	qg_fini(&g);

	c.abort_dma = true;
	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	qg_wr(&g, VTD_REG_RTADDR, 8, 0x300000 | (3ull << 10));
	qg_wr(&g, VTD_REG_GCMD, 4, VTD_GCMD_SRTP | VTD_GCMD_QIE);
	qg_run(&g, qd_wait(VTD_INV_WAIT_SW, 2, 0));
	CHECK_EQ(qg_fsts(&g), 0);
	CHECK_EQ(qg_status(&g, 0), 2);
	qg_fini(&g);
}

/* 1.8: IQE makes a fault event only when no other status condition was pending. */
static void test_iqe_event_rule(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;
	struct pci_req req = {.addr = 0x1000, .rid = 0x10, .flags = PCI_REQ_READ};
	struct pci_resp resp;

	CHECK_EQ(qg_init(&g, &c, false, 0), 0);
	qg_wr(&g, VTD_REG_FECTL, 4, VTD_FECTL_IM);
	qg_run(&g, qd(0, 0));
	CHECK_EQ(g.fault_events, 0);
	CHECK_EQ(qg_rd(&g, VTD_REG_FECTL, 4), VTD_FECTL_IM | VTD_FECTL_IP);
	qg_wr(&g, VTD_REG_FECTL, 4, 0); /* unmask: the pending event goes out */
	CHECK_EQ(g.fault_events, 1);
	CHECK_EQ(qg_rd(&g, VTD_REG_FECTL, 4), 0);
	mem_write64(g.m, g.base, VTD_INV_WAIT); /* repair, clear IQE */
	clear_fsts(&g, VTD_FSTS_IQE);
	CHECK_EQ(qg_fsts(&g), 0);
	CHECK_EQ(qg_iqh(&g), 16);
	/* A primary fault is pending (root entry not present, always recorded)... */
	qg_wr(&g, VTD_REG_RTADDR, 8, 0x300000 | (1ull << 10));
	qg_wr(&g, VTD_REG_GCMD, 4, VTD_GCMD_SRTP | VTD_GCMD_QIE);
	qg_wr(&g, VTD_REG_GCMD, 4, VTD_GCMD_TE | VTD_GCMD_QIE);
	CHECK_EQ(vtd_translate(g.vtd, &req, &resp), 0);
	CHECK_EQ(resp.fault, VTD_FR_SRT_2);
	CHECK_EQ(g.fault_events, 2);
	/* ... so a queue error is no new interrupt condition. */
	qg_run(&g, qd(0, 0));
	CHECK_EQ(qg_fsts(&g) & (VTD_FSTS_IQE | VTD_FSTS_PPF), VTD_FSTS_IQE | VTD_FSTS_PPF);
	CHECK_EQ(g.fault_events, 2);
	qg_fini(&g);
}

/* ITE: the port never answers. Waits behind it are aborted, other descriptors go on. */
static void test_ite_timeout(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;
	struct rec_port hung = {.ret = -ETIMEDOUT}, ok = {0};
	struct vtd_inv_stats st;

	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	CHECK_EQ(qg_connect(&g, 0x0208, &hung), 0);
	CHECK_EQ(qg_connect(&g, 0x0300, &ok), 0);
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW, 1, 0));		      /* before: completes */
	qg_put(&g, qd_devtlb(0x0208, 0x1000, false));		      /* times out */
	qg_put(&g, qd_iotlb(VTD_IOTLB_GRAN_GLOBAL, 0, 0, 0, false));  /* still done */
	qg_put(&g, qd_pdevtlb(0x0208, 4, 0x2000, false, false));      /* times out again */
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW | VTD_INV_WAIT_IF, 2, 1)); /* aborted */
	qg_put(&g, qd_devtlb(0x0300, 0x3000, false));		      /* sent */
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW | VTD_INV_WAIT_FN, 3, 2)); /* aborted, fence */
	qg_put(&g, qd_cc(VTD_CCMD_GRAN_GLOBAL, 0, 0, 0));	      /* behind the fence */
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW, 4, 3));		      /* behind the fence */
	qg_submit(&g);
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_ITE);
	CHECK_EQ(VTD_GET(qg_iqercd(&g), VTD_IQERCD_ITESID), 0x0208);
	CHECK_EQ(g.fault_events, 1);
	CHECK_EQ(qg_status(&g, 0), 1);
	CHECK_EQ(qg_status(&g, 1), 0);
	CHECK_EQ(qg_status(&g, 2), 0);
	CHECK_EQ(qg_status(&g, 3), 0);
	CHECK_EQ(g.inv_events, 0);
	CHECK_EQ(qg_rd(&g, VTD_REG_ICS, 4), 0);
	CHECK_EQ(qg_iqh(&g), g.tail);
	CHECK_EQ(hung.count, 2);
	CHECK_EQ(ok.count, 1);
	st = qg_stats(&g);
	CHECK_EQ(st.ite, 2);
	CHECK_EQ(st.iotlb_global, 1);
	CHECK_EQ(st.cc_global, 0);
	CHECK_EQ(st.wait, 1);
	CHECK_EQ(st.wait_aborted, 2);
	CHECK_EQ(st.fenced_dropped, 2);
	CHECK_EQ(g.trace[1].inv.result, VTD_INV_RES_TIMEOUT);
	CHECK_EQ(g.trace[4].inv.result, VTD_INV_RES_ABORTED);
	CHECK_EQ(g.ntrace, 7);
	/* Nothing new is fetched while ITE is set. */
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW, 5, 4));
	qg_submit(&g);
	CHECK_EQ(qg_status(&g, 4), 0);
	CHECK(qg_iqh(&g) != g.tail);
	/* Software clears ITE: the queue resumes; it resubmits without the dead device. */
	clear_fsts(&g, VTD_FSTS_ITE);
	CHECK_EQ(qg_status(&g, 4), 5);
	qg_put(&g, qd_iotlb(VTD_IOTLB_GRAN_GLOBAL, 0, 0, 0, false));
	qg_put(&g, qd_cc(VTD_CCMD_GRAN_GLOBAL, 0, 0, 0));
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW | VTD_INV_WAIT_IF, 2, 1));
	qg_submit(&g);
	CHECK_EQ(qg_status(&g, 1), 2);
	CHECK_EQ(g.inv_events, 1);
	CHECK_EQ(qg_fsts(&g), 0);
	CHECK_EQ(qg_iqh(&g), g.tail);
	CHECK_EQ(g.fault_events, 1);
	qg_fini(&g);
}

/* ITE: no port at that SID - the device is gone. The same as a port that never answers. */
static void test_ite_no_port(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;
	struct rec_port p = {0};

	CHECK_EQ(qg_init(&g, &c, false, 0), 0);
	CHECK_EQ(qg_connect(&g, 0x0100, &p), 0);
	qg_put(&g, qd_devtlb(0x0100, 0x1000, false));
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW, 1, 0));
	qg_submit(&g);
	CHECK_EQ(p.count, 1);
	CHECK_EQ(qg_status(&g, 0), 1);
	/* Surprise removal: the port goes away. */
	CHECK_EQ(vtd_disconnect_ats(g.vtd, 0x0100), 0);
	qg_put(&g, qd_devtlb(0x0100, 0x1000, false));
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW, 2, 1));
	qg_submit(&g);
	CHECK_EQ(p.count, 1);
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_ITE);
	CHECK_EQ(VTD_GET(qg_iqercd(&g), VTD_IQERCD_ITESID), 0x0100);
	CHECK_EQ(qg_status(&g, 1), 0);
	CHECK_EQ(qg_iqh(&g), g.tail);
	clear_fsts(&g, VTD_FSTS_ITE);
	/* A later time-out of another device: ITESID is that one's (ITE was clear). */
	qg_put(&g, qd_devtlb(0x0a00, 0x1000, false));
	qg_submit(&g);
	CHECK_EQ(VTD_GET(qg_iqercd(&g), VTD_IQERCD_ITESID), 0x0a00);
	CHECK_EQ(g.fault_events, 2);
	CHECK_EQ(qg_stats(&g).ite, 2);
	qg_fini(&g);
}

/* ICE: the endpoint answered, but with an error. Reported; the queue goes on. */
static void test_ice(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;
	struct rec_port bad = {.ret = -EINVAL};

	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	CHECK_EQ(qg_connect(&g, 0x0500, &bad), 0);
	qg_put(&g, qd_devtlb(0x0500, 0x1000, false));
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW, 1, 0));
	qg_submit(&g);
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_ICE);
	CHECK_EQ(VTD_GET(qg_iqercd(&g), VTD_IQERCD_ICESID), 0x0500);
	CHECK_EQ(qg_status(&g, 0), 1);
	CHECK_EQ(g.fault_events, 1);
	CHECK_EQ(qg_stats(&g).ice, 1);
	CHECK_EQ(g.trace[0].inv.result, VTD_INV_RES_BAD_COMPLETION);
	/* ICE does not stop the queue. */
	qg_run(&g, qd_wait(VTD_INV_WAIT_SW, 2, 1));
	CHECK_EQ(qg_status(&g, 1), 2);
	clear_fsts(&g, VTD_FSTS_ICE);
	CHECK_EQ(qg_fsts(&g), 0);
	qg_fini(&g);
}

/* GCMD.QIE: disabling resets IQH; it is clean only when IQH == IQT after a wait. */
static void test_qie_rules(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;

	CHECK_EQ(qg_init(&g, &c, false, 0), 0);
	qg_run(&g, qd_cc(VTD_CCMD_GRAN_GLOBAL, 0, 0, 0));
	qg_run(&g, qd_wait(VTD_INV_WAIT_SW, 1, 0));
	qg_qie(&g, false);
	CHECK(!(qg_rd(&g, VTD_REG_GSTS, 4) & VTD_GSTS_QIES));
	CHECK_EQ(qg_iqh(&g), 0);
	CHECK_EQ(qg_rd(&g, VTD_REG_IQT, 8), 32); /* IQT is software's */
	CHECK_EQ(qg_stats(&g).unclean_disable, 0);
	/* Descriptors written and IQT moved while QI is off wait for it to be enabled. */
	qg_setup_queue(&g, QG_QUEUE, 0, false);
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW, 2, 1));
	qg_submit(&g);
	CHECK_EQ(qg_status(&g, 1), 0);
	qg_qie(&g, true);
	CHECK_EQ(qg_status(&g, 1), 2);
	CHECK_EQ(qg_iqh(&g), 16);
	/* Disabled after a descriptor that is not a wait: unclean (counted), still done. */
	qg_run(&g, qd_iotlb(VTD_IOTLB_GRAN_GLOBAL, 0, 0, 0, false));
	qg_qie(&g, false);
	CHECK_EQ(qg_stats(&g).unclean_disable, 1);
	CHECK_EQ(qg_iqh(&g), 0);
	/* Enabling a queue with IQH = IQT: nothing runs; disabling again is clean. */
	qg_setup_queue(&g, QG_QUEUE, 0, false);
	qg_qie(&g, true);
	qg_qie(&g, false);
	CHECK_EQ(qg_stats(&g).unclean_disable, 1);
	/* A unit without QI has no QIE. */
	qg_fini(&g);
	c.scalable = c.first_stage = c.second_stage = c.nested = false;
	c.fs_5level = c.fs_1g = c.ss_ad = false;
	c.pasid_bits = 0;
	c.supervisor_requests = false;
	c.dev_tlb = false;
	c.queued_invalidation = false;
	CHECK_EQ(vtd_config_validate(&c), 0);
	CHECK_EQ(qg_init(&g, &c, false, 0), 0);
	CHECK(!(qg_rd(&g, VTD_REG_GSTS, 4) & VTD_GSTS_QIES));
	CHECK_EQ(qg_rd(&g, VTD_REG_IQA, 8), 0);
	qg_wr(&g, VTD_REG_IQT, 8, 0x10);
	CHECK_EQ(qg_rd(&g, VTD_REG_IQT, 8), 0);
	CHECK_EQ(g.ntrace, 0);
	qg_fini(&g);
}

/* IQA: writes reset IQH and IQT; ignored while QI is enabled; DW needs scalable mode. */
static void test_iqa(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;

	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	qg_run(&g, qd_wait(0, 0, 0));
	CHECK_EQ(qg_iqh(&g), 32);
	/* While enabled, IQA keeps its value and nothing resets. */
	qg_wr(&g, VTD_REG_IQA, 8, 0x500000 | 3);
	qg_wr(&g, VTD_REG_IQA + 4, 4, 0x1);
	CHECK_EQ(qg_rd(&g, VTD_REG_IQA, 8), QG_QUEUE | VTD_IQA_DW);
	CHECK_EQ(qg_iqh(&g), 32);
	CHECK_EQ(qg_rd(&g, VTD_REG_IQT, 8), 32);
	qg_qie(&g, false);
	/* Disabled: IQA takes the write and IQH/IQT go back to 0. */
	qg_wr(&g, VTD_REG_IQT, 8, 0x40);
	qg_wr(&g, VTD_REG_IQA, 8, 0x500000 | 3);
	CHECK_EQ(qg_rd(&g, VTD_REG_IQA, 8), 0x500003);
	CHECK_EQ(qg_rd(&g, VTD_REG_IQT, 8), 0);
	CHECK_EQ(qg_iqh(&g), 0);
	/* Bits at or above HAW are not implemented. */
	qg_wr(&g, VTD_REG_IQA, 8, (1ull << 46) | (1ull << 63) | 0x500000);
	CHECK_EQ(qg_rd(&g, VTD_REG_IQA, 8), 0x500000);
	qg_fini(&g);

	/* A legacy-only unit has no DW: it reads 0, 128-bit descriptors. */
	c.scalable = c.first_stage = c.second_stage = c.nested = false;
	c.fs_5level = c.fs_1g = c.ss_ad = false;
	c.pasid_bits = 0;
	c.supervisor_requests = false;
	CHECK_EQ(vtd_config_validate(&c), 0);
	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	CHECK_EQ(qg_rd(&g, VTD_REG_IQA, 8), QG_QUEUE);
	g.dsz = 16; /* what the hardware uses */
	qg_run(&g, qd_wait(VTD_INV_WAIT_SW, 9, 0));
	CHECK_EQ(qg_status(&g, 0), 9);
	CHECK_EQ(qg_iqh(&g), 16);
	qg_fini(&g);
}

/* vtd_reset() puts the queue back to its power-on state; counters survive. */
static void test_reset(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;

	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	qg_run(&g, qd(0, 0));
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_IQE);
	vtd_reset(g.vtd);
	CHECK_EQ(qg_fsts(&g), 0);
	CHECK_EQ(qg_rd(&g, VTD_REG_IQA, 8), 0);
	CHECK_EQ(qg_rd(&g, VTD_REG_IQT, 8), 0);
	CHECK_EQ(qg_iqercd(&g), 0);
	CHECK_EQ(qg_rd(&g, VTD_REG_IECTL, 4), VTD_IECTL_IM);
	CHECK(!(qg_rd(&g, VTD_REG_GSTS, 4) & VTD_GSTS_QIES));
	CHECK_EQ(qg_stats(&g).iqe, 1);
	qg_fini(&g);
}

int main(void)
{
	RUN(test_invalid_type);
	RUN(test_reserved_fields);
	RUN(test_status_address_unused_without_sw);
	RUN(test_bad_tail);
	RUN(test_fetch_error);
	RUN(test_bad_ttm);
	RUN(test_iqe_event_rule);
	RUN(test_ite_timeout);
	RUN(test_ite_no_port);
	RUN(test_ice);
	RUN(test_qie_rules);
	RUN(test_iqa);
	RUN(test_reset);
	return CHECK_DONE();
}
