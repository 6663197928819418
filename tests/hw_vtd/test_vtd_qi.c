// SPDX-License-Identifier: MIT
/*
 * Queued invalidation, driven like a guest: descriptors written into memory, IQT written
 * through MMIO. Every descriptor type and granularity (digest 5.2-5.9), what each one
 * reaches (the trace events name the decoded scope; device-TLB requests reach a recording
 * ATS port), the invalidation wait in all its forms, and the completion event (ICS, IECTL).
 */
#include "check.h"
#include "qi_guest.h"

static struct vtd_config default_cfg(void)
{
	struct vtd_config c;

	vtd_config_default(&c);
	return c;
}

static void test_enable_empty(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;
	struct vtd_inv_stats st;

	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	CHECK(qg_rd(&g, VTD_REG_GSTS, 4) & VTD_GSTS_QIES);
	CHECK_EQ(qg_rd(&g, VTD_REG_IQA, 8), QG_QUEUE | VTD_IQA_DW);
	CHECK_EQ(qg_iqh(&g), 0);
	/* An IQT write equal to IQH is an empty queue: nothing fetched. */
	qg_submit(&g);
	st = qg_stats(&g);
	CHECK_EQ(st.descriptors, 0);
	CHECK_EQ(g.ntrace, 0);
	CHECK_EQ(qg_fsts(&g), 0);
	CHECK_EQ(vtd_get_stats(NULL, NULL), -EINVAL);
	CHECK_EQ(vtd_get_stats(g.vtd, NULL), -EINVAL);
	qg_fini(&g);
}

/* 5.2: each granularity, its decoded scope, and the DID masked to CAP.ND. */
static void test_context_cache(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;
	const struct vtd_trace_event *ev;
	struct vtd_inv_stats st;

	c.did_bits = 8;
	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	qg_run(&g, qd_cc(VTD_CCMD_GRAN_GLOBAL, 0, 0, 0));
	ev = qg_last(&g);
	CHECK(ev);
	CHECK_EQ(ev->inv.type, VTD_INV_CC);
	CHECK_EQ(ev->inv.gran, VTD_INV_GRAN_GLOBAL);
	CHECK_EQ(ev->inv.result, VTD_INV_RES_DONE);
	CHECK_EQ(ev->inv.offset, 0);
	qg_run(&g, qd_cc(VTD_CCMD_GRAN_DOMAIN, 0x1234, 0, 0));
	ev = qg_last(&g);
	CHECK_EQ(ev->inv.gran, VTD_INV_GRAN_DOMAIN);
	CHECK_EQ(ev->inv.did, 0x34); /* 8-bit domain-ids */
	CHECK_EQ(ev->inv.offset, 32);
	for (unsigned fm = 0; fm < 4; fm++) {
		qg_run(&g, qd_cc(VTD_CCMD_GRAN_DEVICE, 7, 0x0a10 | fm, fm));
		ev = qg_last(&g);
		CHECK_EQ(ev->inv.gran, VTD_INV_GRAN_DEVICE);
		CHECK_EQ(ev->inv.sid, 0x0a10 | fm);
		CHECK_EQ(ev->inv.fm, fm);
		CHECK_EQ(ev->inv.did, 7);
	}
	st = qg_stats(&g);
	CHECK_EQ(st.cc_global, 1);
	CHECK_EQ(st.cc_domain, 1);
	CHECK_EQ(st.cc_device, 4);
	CHECK_EQ(st.descriptors, 6);
	CHECK_EQ(qg_iqh(&g), 6 * 32);
	CHECK_EQ(qg_fsts(&g), 0);
	qg_fini(&g);
}

/* The function-mask and range helpers that every cache will match with. */
#include "../../src/hw/vtd/cache_inv.h"

static void test_scope_helpers(void)
{
	struct vtd_inv_range r;

	CHECK(vtd_sid_match(0x0a13, 0x0a13, 0));
	CHECK(!vtd_sid_match(0x0a17, 0x0a13, 0));
	CHECK(vtd_sid_match(0x0a17, 0x0a13, 1)); /* bit 2 ignored */
	CHECK(!vtd_sid_match(0x0a11, 0x0a13, 1));
	CHECK(vtd_sid_match(0x0a15, 0x0a13, 2)); /* bits 2:1 */
	CHECK(!vtd_sid_match(0x0a14, 0x0a13, 2));
	for (unsigned fn = 0; fn < 8; fn++)
		CHECK(vtd_sid_match(0x0a10 | fn, 0x0a13, 3)); /* the whole device */
	CHECK(!vtd_sid_match(0x0a18, 0x0a13, 3));
	r = vtd_inv_range(0x12345000, 0);
	CHECK_EQ(r.base, 0x12345000);
	CHECK_EQ(r.last, 0x12345fff);
	r = vtd_inv_range(0x12345000, 9); /* 2 MiB: the low address bits are ignored */
	CHECK_EQ(r.base, 0x12200000);
	CHECK_EQ(r.last, 0x123fffff);
	CHECK(vtd_inv_range_hits(&r, 0x12200000, 4096));
	CHECK(vtd_inv_range_hits(&r, 0x12000000, 1ull << 30)); /* a 1 GiB page around it */
	CHECK(!vtd_inv_range_hits(&r, 0x12400000, 4096));
	CHECK(!vtd_inv_range_hits(&r, 0x121ff000, 4096));
	r = vtd_inv_range(0xfffff000, 52);
	CHECK_EQ(r.base, 0);
	CHECK_EQ(r.last, ~0ull);
	r = vtd_inv_range(0x5000, 63);
	CHECK_EQ(r.base, 0);
	CHECK_EQ(r.last, ~0ull);
	CHECK(vtd_inv_range_hits(&r, ~0ull - 4095, 4096));
}

/* 5.3: global, domain, page-selective with AM up to MAMV and IH; DW/DR. */
static void test_iotlb(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;
	const struct vtd_trace_event *ev;
	struct vtd_inv_stats st;
	struct qg_desc d;

	CHECK_EQ(qg_init(&g, &c, false, 1), 0);
	qg_run(&g, qd_iotlb(VTD_IOTLB_GRAN_GLOBAL, 0, 0, 0, false));
	CHECK_EQ(qg_last(&g)->inv.gran, VTD_INV_GRAN_GLOBAL);
	qg_run(&g, qd_iotlb(VTD_IOTLB_GRAN_DOMAIN, 0x55, 0, 0, false));
	CHECK_EQ(qg_last(&g)->inv.gran, VTD_INV_GRAN_DOMAIN);
	CHECK_EQ(qg_last(&g)->inv.did, 0x55);
	qg_run(&g, qd_iotlb(VTD_IOTLB_GRAN_PAGE, 9, 0x7654321000ull, 0, false));
	ev = qg_last(&g);
	CHECK_EQ(ev->inv.gran, VTD_INV_GRAN_PAGE);
	CHECK_EQ(ev->inv.did, 9);
	CHECK_EQ(ev->inv.addr, 0x7654321000ull);
	CHECK_EQ(ev->inv.size, 4096);
	CHECK(!ev->inv.ih);
	/* AM 9: 2 MiB, the address rounded down to it; IH passed on. */
	qg_run(&g, qd_iotlb(VTD_IOTLB_GRAN_PAGE, 9, 0x7654321000ull, 9, true));
	ev = qg_last(&g);
	CHECK_EQ(ev->inv.addr, 0x7654200000ull);
	CHECK_EQ(ev->inv.size, 2ull << 20);
	CHECK(ev->inv.ih);
	/* AM = MAMV (18) is the largest accepted. */
	qg_run(&g, qd_iotlb(VTD_IOTLB_GRAN_PAGE, 9, 0x40000000, 18, false));
	CHECK_EQ(qg_last(&g)->inv.size, 1ull << 30);
	/* Drain reads and writes with CAP.DRD/DWD. */
	d = qd_iotlb(VTD_IOTLB_GRAN_DOMAIN, 1, 0, 0, false);
	d.q[0] |= VTD_INV_IOTLB_DW | VTD_INV_IOTLB_DR;
	qg_run(&g, d);
	CHECK_EQ(qg_last(&g)->inv.result, VTD_INV_RES_DONE);
	/* For global and domain requests the address fields are not looked at. */
	qg_run(&g, qd_iotlb(VTD_IOTLB_GRAN_GLOBAL, 0, 0xfffff000, 63, true));
	CHECK_EQ(qg_last(&g)->inv.result, VTD_INV_RES_DONE);
	st = qg_stats(&g);
	CHECK_EQ(st.iotlb_global, 2);
	CHECK_EQ(st.iotlb_domain, 2);
	CHECK_EQ(st.iotlb_page, 3);
	CHECK_EQ(qg_fsts(&g), 0);
	CHECK_EQ(qg_iqh(&g), 7 * 16);
	qg_fini(&g);

	/* Without PSI a page-selective request is carried out for the whole domain; without
	 * DRD/DWD the drain bits are reserved. */
	c = default_cfg();
	c.psi = false;
	c.drain_reads = false;
	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	qg_run(&g, qd_iotlb(VTD_IOTLB_GRAN_PAGE, 4, 0x1000, 30, false));
	CHECK_EQ(qg_last(&g)->inv.gran, VTD_INV_GRAN_DOMAIN);
	CHECK_EQ(qg_last(&g)->inv.did, 4);
	CHECK_EQ(qg_stats(&g).iotlb_page, 1);
	d = qd_iotlb(VTD_IOTLB_GRAN_DOMAIN, 1, 0, 0, false);
	d.q[0] |= VTD_INV_IOTLB_DW;
	qg_run(&g, d);
	CHECK_EQ(qg_fsts(&g), 0);
	d.q[0] |= VTD_INV_IOTLB_DR;
	qg_run(&g, d);
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_IQE);
	CHECK_EQ(VTD_GET(qg_iqercd(&g), VTD_IQERCD_IQEI), VTD_IQEI_RSVD);
	qg_fini(&g);
}

/* 5.4: device-TLB invalidations reach the port of their SID with the S-bit range decoded. */
static void test_devtlb(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;
	struct rec_port p = {0}, other = {0};
	struct qg_desc d;
	static const struct {
		uint64_t addr;
		bool s;
		uint64_t base, size;
	} cases[] = {
	    {0x12345000, false, 0x12345000, 4096},
	    {0x12344000, true, 0x12344000, 8192},	/* bit 12 clear: 8 KiB */
	    {0x12345000, true, 0x12344000, 16384},	/* bits 12 set, 13 clear: 16 KiB */
	    {0x120ff000, true, 0x12000000, 2ull << 20}, /* bits 19:12 set, 20 clear: 2 MiB */
	    {0x7ffffffffffff000ull, true, 0, 0},	/* everything */
	    {0x0000000fff000000ull | 0xfff000, true, 0, 1ull << 37}, /* 128 GiB */
	};

	CHECK_EQ(qg_init(&g, &c, true, 1), 0);
	CHECK_EQ(qg_connect(&g, 0x0310, &p), 0);
	CHECK_EQ(qg_connect(&g, 0x0311, &other), 0);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		qg_run(&g, qd_devtlb(0x0310, cases[i].addr, cases[i].s));
		CHECK_EQ(p.count, i + 1);
		CHECK_EQ(p.inv[i].rid, 0x0310);
		CHECK_EQ(p.inv[i].addr, cases[i].base);
		CHECK_EQ(p.inv[i].size, cases[i].size);
		CHECK(!p.inv[i].has_pasid);
		CHECK(!p.inv[i].global);
		CHECK_EQ(qg_last(&g)->inv.gran, VTD_INV_GRAN_PAGE);
		CHECK_EQ(qg_last(&g)->inv.sid, 0x0310);
		CHECK_EQ(qg_last(&g)->inv.size, cases[i].size);
	}
	CHECK_EQ(other.count, 0);
	/* MIP (the device's queue depth) is accepted and needs nothing. */
	d = qd_devtlb(0x0311, 0x5000, false);
	d.q[0] |= VTD_SET(VTD_INV_DEVTLB_MIP, 31);
	qg_run(&g, d);
	CHECK_EQ(other.count, 1);
	CHECK_EQ(qg_stats(&g).devtlb, 7);
	CHECK_EQ(qg_fsts(&g), 0);
	/* PFSID without ECAP.DIT is reserved. */
	d.q[0] |= VTD_SET(VTD_INV_DEVTLB_PFSID_HI, 0x031);
	qg_run(&g, d);
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_IQE);
	CHECK_EQ(VTD_GET(qg_iqercd(&g), VTD_IQERCD_IQEI), VTD_IQEI_RSVD);
	CHECK_EQ(other.count, 1);
	qg_fini(&g);

	/* With DIT the PFSID fields are valid. */
	c.dev_tlb_throttle = true;
	CHECK(vtd_config_validate(&c) == 0);
	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	CHECK(vtd_ecap(g.vtd) & VTD_ECAP_DIT);
	CHECK_EQ(qg_connect(&g, 0x0311, &other), 0);
	d.q[0] |= VTD_SET(VTD_INV_DEVTLB_PFSID_LO, 0x5);
	qg_run(&g, d);
	CHECK_EQ(qg_fsts(&g), 0);
	CHECK_EQ(other.count, 2);
	qg_fini(&g);

	/* Without ECAP.DT device-TLB descriptors are not a type this unit has. */
	c = default_cfg();
	c.dev_tlb = false;
	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	qg_run(&g, qd_devtlb(0x0311, 0x5000, false));
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_IQE);
	CHECK_EQ(VTD_GET(qg_iqercd(&g), VTD_IQERCD_IQEI), VTD_IQEI_TYPE);
	qg_fini(&g);
}

/* 5.9: PASID-based device-TLB invalidation, with and without G. */
static void test_pdevtlb(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;
	struct rec_port p = {0};
	struct qg_desc d;

	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	CHECK_EQ(qg_connect(&g, 0xfff8, &p), 0);
	qg_run(&g, qd_pdevtlb(0xfff8, 0xabcde, 0x40000000, false, false));
	CHECK_EQ(p.count, 1);
	CHECK_EQ(p.inv[0].rid, 0xfff8);
	CHECK(p.inv[0].has_pasid);
	CHECK_EQ(p.inv[0].pasid, 0xabcde);
	CHECK(!p.inv[0].global);
	CHECK_EQ(p.inv[0].addr, 0x40000000);
	CHECK_EQ(p.inv[0].size, 4096);
	CHECK_EQ(qg_last(&g)->inv.gran, VTD_INV_GRAN_PASID);
	CHECK_EQ(qg_last(&g)->inv.pasid, 0xabcde);
	/* G, and S at bit 11 of Q1: bits 19:12 set and 20 clear make 2 MiB. */
	qg_run(&g, qd_pdevtlb(0xfff8, 1, 0x400ff000, true, true));
	CHECK_EQ(p.count, 2);
	CHECK(p.inv[1].global);
	CHECK(p.inv[1].has_pasid);
	CHECK_EQ(p.inv[1].pasid, 1);
	CHECK_EQ(p.inv[1].addr, 0x40000000);
	CHECK_EQ(p.inv[1].size, 1ull << 21);
	CHECK_EQ(qg_last(&g)->inv.gran, VTD_INV_GRAN_ALL_PASID);
	/* MIP sits in Q0 bits 8:4 here. */
	d = qd_pdevtlb(0xfff8, 2, 0x1000, false, false);
	d.q[0] |= VTD_SET(VTD_INV_PDEVTLB_MIP, 0x1f);
	qg_run(&g, d);
	CHECK_EQ(p.count, 3);
	CHECK_EQ(qg_stats(&g).pdevtlb, 2);
	CHECK_EQ(qg_stats(&g).pdevtlb_global, 1);
	CHECK_EQ(qg_fsts(&g), 0);
	/* Reserved Q1 bits 10:1. */
	d.q[1] |= 1ull << 5;
	qg_run(&g, d);
	CHECK_EQ(VTD_GET(qg_iqercd(&g), VTD_IQERCD_IQEI), VTD_IQEI_RSVD);
	CHECK_EQ(p.count, 3);
	qg_fini(&g);
}

/* 5.5: accepted and checked; IM bounded by ECAP.MHMV. */
static void test_iec(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;

	c.intr_remap = true; /* MHMV 15 */
	CHECK_EQ(qg_init(&g, &c, false, 0), 0);
	qg_run(&g, qd_iec(false, 0, 0));
	CHECK_EQ(qg_last(&g)->inv.gran, VTD_INV_GRAN_GLOBAL);
	qg_run(&g, qd_iec(true, 0x1230, 4));
	CHECK_EQ(qg_last(&g)->inv.gran, VTD_INV_GRAN_INDEX);
	CHECK_EQ(qg_last(&g)->inv.sid, 0x1230);
	CHECK_EQ(qg_last(&g)->inv.fm, 4);
	qg_run(&g, qd_iec(true, 0, 15));
	CHECK_EQ(qg_stats(&g).iec_global, 1);
	CHECK_EQ(qg_stats(&g).iec_index, 2);
	CHECK_EQ(qg_fsts(&g), 0);
	qg_fini(&g);

	/* Without interrupt remapping MHMV is 0: only single-index requests. */
	c.intr_remap = false;
	CHECK_EQ(qg_init(&g, &c, false, 0), 0);
	qg_run(&g, qd_iec(true, 5, 0));
	CHECK_EQ(qg_fsts(&g), 0);
	qg_run(&g, qd_iec(true, 5, 1));
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_IQE);
	CHECK_EQ(VTD_GET(qg_iqercd(&g), VTD_IQERCD_IQEI), VTD_IQEI_RSVD);
	CHECK_EQ(qg_iqh(&g), 16);
	qg_fini(&g);
}

/* 5.7: PASID-selective and page-selective within PASID. */
static void test_piotlb(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;
	const struct vtd_trace_event *ev;

	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	qg_run(&g, qd_piotlb(VTD_INV_PIOTLB_G_PASID, 3, 0x10001, 0, 0, false));
	ev = qg_last(&g);
	CHECK_EQ(ev->inv.type, VTD_INV_PIOTLB);
	CHECK_EQ(ev->inv.gran, VTD_INV_GRAN_PASID);
	CHECK_EQ(ev->inv.did, 3);
	CHECK_EQ(ev->inv.pasid, 0x10001);
	qg_run(&g, qd_piotlb(VTD_INV_PIOTLB_G_PAGE, 3, 0xfffff, 0x7fff12345000ull, 2, true));
	ev = qg_last(&g);
	CHECK_EQ(ev->inv.gran, VTD_INV_GRAN_PASID_PAGE);
	CHECK_EQ(ev->inv.pasid, 0xfffff);
	CHECK_EQ(ev->inv.addr, 0x7fff12344000ull); /* 16 KiB, aligned down */
	CHECK_EQ(ev->inv.size, 16384);
	CHECK(ev->inv.ih);
	/* A mask beyond CAP.MAMV is fine here, and past 2^64 covers everything. */
	qg_run(&g, qd_piotlb(VTD_INV_PIOTLB_G_PAGE, 3, 1, 0x1000, 60, false));
	CHECK_EQ(qg_last(&g)->inv.size, 0);
	CHECK_EQ(qg_last(&g)->inv.addr, 0);
	CHECK_EQ(qg_stats(&g).piotlb_pasid, 1);
	CHECK_EQ(qg_stats(&g).piotlb_page, 2);
	CHECK_EQ(qg_fsts(&g), 0);
	/* G = 00 and 01 are reserved. */
	qg_run(&g, qd_piotlb(1, 3, 1, 0, 0, false));
	CHECK_EQ(qg_fsts(&g), VTD_FSTS_IQE);
	CHECK_EQ(VTD_GET(qg_iqercd(&g), VTD_IQERCD_IQEI), VTD_IQEI_RSVD);
	CHECK_EQ(qg_iqh(&g), 3 * 32);
	qg_fini(&g);
}

/* 5.8: domain, PASID, global. */
static void test_pasid_cache(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;

	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	qg_run(&g, qd_pc(VTD_INV_PC_G_DOMAIN, 0x77, 0));
	CHECK_EQ(qg_last(&g)->inv.gran, VTD_INV_GRAN_DOMAIN);
	CHECK_EQ(qg_last(&g)->inv.did, 0x77);
	qg_run(&g, qd_pc(VTD_INV_PC_G_PASID, 0x77, 0x42));
	CHECK_EQ(qg_last(&g)->inv.gran, VTD_INV_GRAN_PASID);
	CHECK_EQ(qg_last(&g)->inv.pasid, 0x42);
	qg_run(&g, qd_pc(VTD_INV_PC_G_GLOBAL, 0, 0));
	CHECK_EQ(qg_last(&g)->inv.gran, VTD_INV_GRAN_GLOBAL);
	CHECK_EQ(qg_stats(&g).pc_domain, 1);
	CHECK_EQ(qg_stats(&g).pc_pasid, 1);
	CHECK_EQ(qg_stats(&g).pc_global, 1);
	CHECK_EQ(qg_fsts(&g), 0);
	qg_run(&g, qd_pc(VTD_INV_PC_G_RSVD, 0, 0));
	CHECK_EQ(VTD_GET(qg_iqercd(&g), VTD_IQERCD_IQEI), VTD_IQEI_RSVD);
	qg_fini(&g);
}

/* 5.6: SW writes the status dword, IF sets IWC and raises the event - SW first. */
static void test_wait(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;
	struct vtd_inv_stats st;

	CHECK_EQ(qg_init(&g, &c, true, 0), 0);
	/* Neither flag: a no-op wait (Linux uses FN-only waits to pad the queue). */
	qg_run(&g, qd_wait(0, 0, 0));
	qg_run(&g, qd_wait(VTD_INV_WAIT_FN, 0, 0));
	CHECK_EQ(qg_status(&g, 0), 0);
	CHECK_EQ(qg_rd(&g, VTD_REG_ICS, 4), 0);
	CHECK_EQ(g.inv_events, 0);
	/* SW only. */
	qg_run(&g, qd_wait(VTD_INV_WAIT_SW, 0x11111111, 1));
	CHECK_EQ(qg_status(&g, 1), 0x11111111);
	CHECK_EQ(qg_status(&g, 2), 0); /* a 32-bit write */
	CHECK_EQ(g.inv_events, 0);
	/* IF only. */
	qg_run(&g, qd_wait(VTD_INV_WAIT_IF, 0x22, 2));
	CHECK_EQ(qg_status(&g, 2), 0);
	CHECK_EQ(qg_rd(&g, VTD_REG_ICS, 4), VTD_ICS_IWC);
	CHECK_EQ(g.inv_events, 1);
	CHECK_EQ(g.inv_data, 0x42);
	CHECK_EQ(g.inv_addr, 0x1fee01000ull);
	CHECK_EQ(qg_rd(&g, VTD_REG_IECTL, 4), 0); /* sent: IP clear */
	/* IWC still set: another IF completion is not a new interrupt condition. */
	qg_run(&g, qd_wait(VTD_INV_WAIT_IF, 0, 0));
	CHECK_EQ(g.inv_events, 1);
	/* Software clears IWC (RW1C); SW + IF: the status is in memory before the event. */
	qg_wr(&g, VTD_REG_ICS, 4, VTD_ICS_IWC);
	CHECK_EQ(qg_rd(&g, VTD_REG_ICS, 4), 0);
	qg_run(&g, qd_wait(VTD_INV_WAIT_SW | VTD_INV_WAIT_IF | VTD_INV_WAIT_FN, 0xcafe, 0));
	CHECK_EQ(g.inv_events, 2);
	CHECK_EQ(g.status_at_event, 0xcafe);
	CHECK_EQ(qg_rd(&g, VTD_REG_ICS, 4), VTD_ICS_IWC);
	/* Several waits in one batch: each writes its status, one event (IWC). */
	qg_wr(&g, VTD_REG_ICS, 4, VTD_ICS_IWC);
	for (unsigned i = 3; i < 8; i++)
		qg_put(&g, qd_wait(VTD_INV_WAIT_SW | VTD_INV_WAIT_IF, 100 + i, i));
	qg_submit(&g);
	for (unsigned i = 3; i < 8; i++)
		CHECK_EQ(qg_status(&g, i), 100 + i);
	CHECK_EQ(g.inv_events, 3);
	st = qg_stats(&g);
	CHECK_EQ(st.wait, 11);
	CHECK_EQ(st.status_dropped, 0);
	CHECK_EQ(qg_fsts(&g), 0);
	/* A status address inside HAW but outside memory: the write goes nowhere. */
	qg_run(&g, qd(VTD_INV_WAIT | VTD_INV_WAIT_SW, QG_MEM_SIZE + 0x1000));
	CHECK_EQ(qg_stats(&g).status_dropped, 1);
	CHECK_EQ(qg_stats(&g).wait, 12);
	CHECK_EQ(qg_fsts(&g), 0);
	qg_fini(&g);
}

/* IECTL: masked events stay pending (IP) and go out on unmask; clearing IWC drops them. */
static void test_iectl(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;

	CHECK_EQ(qg_init(&g, &c, false, 0), 0);
	qg_wr(&g, VTD_REG_IECTL, 4, VTD_IECTL_IM);
	qg_run(&g, qd_wait(VTD_INV_WAIT_IF, 0, 0));
	CHECK_EQ(g.inv_events, 0);
	CHECK_EQ(qg_rd(&g, VTD_REG_IECTL, 4), VTD_IECTL_IM | VTD_IECTL_IP);
	CHECK_EQ(qg_rd(&g, VTD_REG_ICS, 4), VTD_ICS_IWC);
	/* IP is read-only. */
	qg_wr(&g, VTD_REG_IECTL, 4, VTD_IECTL_IM);
	CHECK_EQ(qg_rd(&g, VTD_REG_IECTL, 4), VTD_IECTL_IM | VTD_IECTL_IP);
	/* Unmask: the pending message is sent and IP clears. */
	qg_wr(&g, VTD_REG_IECTL, 4, 0);
	CHECK_EQ(g.inv_events, 1);
	CHECK_EQ(qg_rd(&g, VTD_REG_IECTL, 4), 0);
	/* Masked again with IWC still set: no new condition, nothing pending. */
	qg_wr(&g, VTD_REG_IECTL, 4, VTD_IECTL_IM);
	qg_run(&g, qd_wait(VTD_INV_WAIT_IF, 0, 0));
	CHECK_EQ(qg_rd(&g, VTD_REG_IECTL, 4), VTD_IECTL_IM);
	/* Clear IWC: the next completion is pending; clearing IWC again drops it. */
	qg_wr(&g, VTD_REG_ICS, 4, VTD_ICS_IWC);
	qg_run(&g, qd_wait(VTD_INV_WAIT_IF, 0, 0));
	CHECK_EQ(qg_rd(&g, VTD_REG_IECTL, 4), VTD_IECTL_IM | VTD_IECTL_IP);
	qg_wr(&g, VTD_REG_ICS, 4, VTD_ICS_IWC);
	CHECK_EQ(qg_rd(&g, VTD_REG_IECTL, 4), VTD_IECTL_IM);
	qg_wr(&g, VTD_REG_IECTL, 4, 0);
	CHECK_EQ(g.inv_events, 1);
	qg_fini(&g);
}

/* The queue wraps from its end to its start; 128-bit and 256-bit. */
static void test_wrap(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;

	for (int dw = 0; dw < 2; dw++) {
		unsigned entries;

		CHECK_EQ(qg_init(&g, &c, dw, 0), 0);
		entries = (unsigned)(g.size / g.dsz);
		/* Fill all but one slot (head == tail means empty), three times over. */
		for (unsigned round = 0; round < 3; round++) {
			for (unsigned i = 0; i < entries - 1; i++)
				qg_put(&g, qd_wait(VTD_INV_WAIT_SW, round * 1000 + i, i % 64));
			qg_submit(&g);
			CHECK_EQ(qg_iqh(&g), g.tail);
			CHECK_EQ(qg_status(&g, (entries - 2) % 64), round * 1000 + entries - 2);
		}
		CHECK_EQ(qg_stats(&g).wait, 3 * (entries - 1));
		CHECK_EQ(qg_fsts(&g), 0);
		qg_fini(&g);
	}
}

/* A mixed batch in one IQT write: processed in order, IQH after the last. */
static void test_batch_order(void)
{
	struct vtd_config c = default_cfg();
	struct qg g;
	struct rec_port p = {0};

	CHECK_EQ(qg_init(&g, &c, true, 2), 0);
	CHECK_EQ(qg_connect(&g, 0x100, &p), 0);
	qg_put(&g, qd_pc(VTD_INV_PC_G_PASID, 1, 5));
	qg_put(&g, qd_piotlb(VTD_INV_PIOTLB_G_PASID, 1, 5, 0, 0, false));
	qg_put(&g, qd_pdevtlb(0x100, 5, 0x7ffffffffffff000ull, true, false));
	qg_put(&g, qd_wait(VTD_INV_WAIT_SW | VTD_INV_WAIT_FN, 1, 0));
	qg_submit(&g);
	CHECK_EQ(g.ntrace, 4);
	CHECK_EQ(g.trace[0].inv.type, VTD_INV_PC);
	CHECK_EQ(g.trace[1].inv.type, VTD_INV_PIOTLB);
	CHECK_EQ(g.trace[2].inv.type, VTD_INV_PDEVTLB);
	CHECK_EQ(g.trace[3].inv.type, VTD_INV_WAIT);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(g.trace[i].inv.offset, 32 * i);
		CHECK_EQ(g.trace_desc[i].q[0] & 0xf, g.trace[i].inv.type);
	}
	CHECK_EQ(p.count, 1);
	CHECK_EQ(p.inv[0].size, 0); /* the whole address space */
	CHECK_EQ(qg_status(&g, 0), 1);
	CHECK_EQ(qg_iqh(&g), 4 * 32);
	CHECK_EQ(qg_stats(&g).descriptors, 4);
	qg_fini(&g);
}

int main(void)
{
	RUN(test_enable_empty);
	RUN(test_context_cache);
	RUN(test_scope_helpers);
	RUN(test_iotlb);
	RUN(test_devtlb);
	RUN(test_pdevtlb);
	RUN(test_iec);
	RUN(test_piotlb);
	RUN(test_pasid_cache);
	RUN(test_wait);
	RUN(test_iectl);
	RUN(test_wrap);
	RUN(test_batch_order);
	return CHECK_DONE();
}
