// SPDX-License-Identifier: MIT
/*
 * Register-based invalidation (digest 1.6): CCMD_REG, IOTLB_REG and IVA_REG, written
 * through MMIO as a driver without queued invalidation does. Each command completes in
 * the write that starts it, reports the granularity performed and reaches the caches with
 * the scope the trace event shows.
 */
#include "check.h"
#include "qi_guest.h"

#define IVA   0x500 /* default ECAP.IRO 0x50 */
#define IOTLB 0x508

static int init(struct qg *g, struct vtd_config *c)
{
	if (qg_init(g, c, false, 0))
		return -1;
	qg_qie(g, false); /* register-based invalidation is for a unit without QI in use */
	g->ntrace = 0;
	return 0;
}

static uint64_t ccmd(unsigned cirg, uint16_t did, uint16_t sid, unsigned fm)
{
	return VTD_CCMD_ICC | VTD_SET(VTD_CCMD_CIRG, cirg) | VTD_SET(VTD_CCMD_DID, did) |
	       VTD_SET(VTD_CCMD_SID, sid) | VTD_SET(VTD_CCMD_FM, fm);
}

static uint64_t iotlb(unsigned iirg, uint16_t did)
{
	return VTD_IOTLB_IVT | VTD_SET(VTD_IOTLB_IIRG, iirg) | VTD_SET(VTD_IOTLB_DID, did);
}

static void test_ccmd(void)
{
	struct vtd_config c;
	struct qg g;
	uint64_t v;
	struct vtd_inv_stats st;

	vtd_config_default(&c);
	c.did_bits = 10;
	CHECK_EQ(init(&g, &c), 0);
	qg_wr(&g, VTD_REG_CCMD, 8, ccmd(VTD_CCMD_GRAN_GLOBAL, 0, 0, 0));
	v = qg_rd(&g, VTD_REG_CCMD, 8);
	CHECK(!(v & VTD_CCMD_ICC));
	CHECK_EQ(VTD_GET(v, VTD_CCMD_CAIG), VTD_CCMD_GRAN_GLOBAL);
	CHECK_EQ(qg_last(&g)->inv.type, VTD_INV_CC);
	CHECK_EQ(qg_last(&g)->inv.gran, VTD_INV_GRAN_GLOBAL);
	CHECK_EQ(qg_last(&g)->inv.offset, VTD_REG_CCMD);
	CHECK(qg_last(&g)->inv.desc == NULL);
	qg_wr(&g, VTD_REG_CCMD, 8, ccmd(VTD_CCMD_GRAN_DOMAIN, 0xfc01, 0, 0));
	CHECK_EQ(VTD_GET(qg_rd(&g, VTD_REG_CCMD, 8), VTD_CCMD_CAIG), VTD_CCMD_GRAN_DOMAIN);
	CHECK_EQ(qg_last(&g)->inv.gran, VTD_INV_GRAN_DOMAIN);
	CHECK_EQ(qg_last(&g)->inv.did, 0x001); /* 10-bit domain-ids */
	qg_wr(&g, VTD_REG_CCMD, 8, ccmd(VTD_CCMD_GRAN_DEVICE, 3, 0x4411, 2));
	v = qg_rd(&g, VTD_REG_CCMD, 8);
	CHECK_EQ(VTD_GET(v, VTD_CCMD_CAIG), VTD_CCMD_GRAN_DEVICE);
	CHECK_EQ(VTD_GET(v, VTD_CCMD_SID), 0x4411); /* the command stays readable */
	CHECK_EQ(qg_last(&g)->inv.gran, VTD_INV_GRAN_DEVICE);
	CHECK_EQ(qg_last(&g)->inv.sid, 0x4411);
	CHECK_EQ(qg_last(&g)->inv.fm, 2);
	CHECK_EQ(qg_last(&g)->inv.did, 3);
	/* As two halves: nothing happens until the high half (with ICC) is written. */
	qg_wr(&g, VTD_REG_CCMD, 4, (uint32_t)ccmd(VTD_CCMD_GRAN_DEVICE, 5, 0x10, 0));
	CHECK_EQ(g.ntrace, 3);
	qg_wr(&g, VTD_REG_CCMD + 4, 4, ccmd(VTD_CCMD_GRAN_DEVICE, 5, 0x10, 0) >> 32);
	CHECK_EQ(g.ntrace, 4);
	CHECK_EQ(qg_last(&g)->inv.sid, 0x10);
	/* Without ICC nothing runs; CIRG 00 is reserved: CAIG 00, nothing done. */
	qg_wr(&g, VTD_REG_CCMD, 8, ccmd(VTD_CCMD_GRAN_GLOBAL, 0, 0, 0) & ~VTD_CCMD_ICC);
	CHECK_EQ(g.ntrace, 4);
	qg_wr(&g, VTD_REG_CCMD, 8, ccmd(0, 0, 0, 0));
	v = qg_rd(&g, VTD_REG_CCMD, 8);
	CHECK(!(v & VTD_CCMD_ICC));
	CHECK_EQ(VTD_GET(v, VTD_CCMD_CAIG), 0);
	CHECK_EQ(qg_last(&g)->inv.result, VTD_INV_RES_IGNORED);
	st = qg_stats(&g);
	CHECK_EQ(st.reg_cc_global, 1);
	CHECK_EQ(st.reg_cc_domain, 1);
	CHECK_EQ(st.reg_cc_device, 2);
	CHECK_EQ(st.reg_ignored, 0);
	CHECK_EQ(st.cc_global + st.cc_domain + st.cc_device, 0); /* those are descriptors */
	qg_fini(&g);
}

static void test_iotlb_reg(void)
{
	struct vtd_config c;
	struct qg g;
	uint64_t v;
	const struct vtd_trace_event *ev;
	struct vtd_inv_stats st;

	vtd_config_default(&c);
	CHECK_EQ(init(&g, &c), 0);
	qg_wr(&g, IOTLB, 8, iotlb(VTD_IOTLB_GRAN_GLOBAL, 0));
	v = qg_rd(&g, IOTLB, 8);
	CHECK(!(v & VTD_IOTLB_IVT));
	CHECK_EQ(VTD_GET(v, VTD_IOTLB_IAIG), VTD_IOTLB_GRAN_GLOBAL);
	CHECK_EQ(qg_last(&g)->inv.type, VTD_INV_IOTLB);
	CHECK_EQ(qg_last(&g)->inv.offset, IOTLB);
	qg_wr(&g, IOTLB, 8, iotlb(VTD_IOTLB_GRAN_DOMAIN, 0x222) | VTD_IOTLB_DW | VTD_IOTLB_DR);
	v = qg_rd(&g, IOTLB, 8);
	CHECK_EQ(VTD_GET(v, VTD_IOTLB_IAIG), VTD_IOTLB_GRAN_DOMAIN);
	CHECK(v & VTD_IOTLB_DW);
	CHECK(v & VTD_IOTLB_DR);
	CHECK_EQ(qg_last(&g)->inv.did, 0x222);
	/* Page-selective: IVA gives address, AM and IH; the address is aligned down. */
	qg_wr(&g, IVA, 8, 0xabcd5000 | VTD_SET(VTD_IVA_AM, 2) | VTD_IVA_IH);
	qg_wr(&g, IOTLB, 8, iotlb(VTD_IOTLB_GRAN_PAGE, 7));
	CHECK_EQ(VTD_GET(qg_rd(&g, IOTLB, 8), VTD_IOTLB_IAIG), VTD_IOTLB_GRAN_PAGE);
	ev = qg_last(&g);
	CHECK_EQ(ev->inv.gran, VTD_INV_GRAN_PAGE);
	CHECK_EQ(ev->inv.did, 7);
	CHECK_EQ(ev->inv.addr, 0xabcd4000);
	CHECK_EQ(ev->inv.size, 16384);
	CHECK(ev->inv.ih);
	/* AM up to MAMV (18); beyond it the whole domain goes and IAIG says so. */
	qg_wr(&g, IVA, 8, 0x40000000 | VTD_SET(VTD_IVA_AM, 18));
	qg_wr(&g, IOTLB, 8, iotlb(VTD_IOTLB_GRAN_PAGE, 7));
	CHECK_EQ(VTD_GET(qg_rd(&g, IOTLB, 8), VTD_IOTLB_IAIG), VTD_IOTLB_GRAN_PAGE);
	CHECK_EQ(qg_last(&g)->inv.size, 1ull << 30);
	CHECK(!qg_last(&g)->inv.ih);
	qg_wr(&g, IVA, 8, 0x40000000 | VTD_SET(VTD_IVA_AM, 19));
	qg_wr(&g, IOTLB, 8, iotlb(VTD_IOTLB_GRAN_PAGE, 7));
	CHECK_EQ(VTD_GET(qg_rd(&g, IOTLB, 8), VTD_IOTLB_IAIG), VTD_IOTLB_GRAN_DOMAIN);
	CHECK_EQ(qg_last(&g)->inv.gran, VTD_INV_GRAN_DOMAIN);
	/* IIRG 00 is reserved: IAIG 00, nothing done. */
	qg_wr(&g, IOTLB, 8, iotlb(0, 7));
	v = qg_rd(&g, IOTLB, 8);
	CHECK(!(v & VTD_IOTLB_IVT));
	CHECK_EQ(VTD_GET(v, VTD_IOTLB_IAIG), 0);
	st = qg_stats(&g);
	CHECK_EQ(st.reg_iotlb_global, 1);
	CHECK_EQ(st.reg_iotlb_domain, 2);
	CHECK_EQ(st.reg_iotlb_page, 2);
	qg_fini(&g);

	/* No DRD/DWD: the drain bits are not writable. No PSI: page becomes domain. */
	vtd_config_default(&c);
	c.drain_reads = c.drain_writes = false;
	c.psi = false;
	CHECK_EQ(init(&g, &c), 0);
	qg_wr(&g, IVA, 8, 0x1000);
	qg_wr(&g, IOTLB, 8, iotlb(VTD_IOTLB_GRAN_PAGE, 1) | VTD_IOTLB_DW | VTD_IOTLB_DR);
	v = qg_rd(&g, IOTLB, 8);
	CHECK_EQ(v & (VTD_IOTLB_DW | VTD_IOTLB_DR), 0);
	CHECK_EQ(VTD_GET(v, VTD_IOTLB_IAIG), VTD_IOTLB_GRAN_DOMAIN);
	CHECK_EQ(qg_stats(&g).reg_iotlb_domain, 1);
	qg_fini(&g);
}

/* While QI is enabled register-based commands are not performed (granularity 00). */
static void test_ignored_while_qi(void)
{
	struct vtd_config c;
	struct qg g;

	vtd_config_default(&c);
	CHECK_EQ(init(&g, &c), 0);
	qg_qie(&g, true);
	qg_wr(&g, VTD_REG_CCMD, 8, ccmd(VTD_CCMD_GRAN_GLOBAL, 0, 0, 0));
	CHECK(!(qg_rd(&g, VTD_REG_CCMD, 8) & VTD_CCMD_ICC));
	CHECK_EQ(VTD_GET(qg_rd(&g, VTD_REG_CCMD, 8), VTD_CCMD_CAIG), 0);
	qg_wr(&g, IOTLB, 8, iotlb(VTD_IOTLB_GRAN_GLOBAL, 0));
	CHECK(!(qg_rd(&g, IOTLB, 8) & VTD_IOTLB_IVT));
	CHECK_EQ(VTD_GET(qg_rd(&g, IOTLB, 8), VTD_IOTLB_IAIG), 0);
	CHECK_EQ(qg_last(&g)->inv.result, VTD_INV_RES_IGNORED);
	CHECK_EQ(qg_stats(&g).reg_ignored, 2);
	CHECK_EQ(qg_stats(&g).reg_cc_global, 0);
	CHECK_EQ(qg_stats(&g).reg_iotlb_global, 0);
	/* ... and performed again once QI is off. */
	qg_qie(&g, false);
	qg_wr(&g, IOTLB, 8, iotlb(VTD_IOTLB_GRAN_GLOBAL, 0));
	CHECK_EQ(VTD_GET(qg_rd(&g, IOTLB, 8), VTD_IOTLB_IAIG), VTD_IOTLB_GRAN_GLOBAL);
	CHECK_EQ(qg_stats(&g).reg_iotlb_global, 1);
	qg_fini(&g);
}

/* A legacy unit with another IRO: the IOTLB registers follow ECAP.IRO. */
static void test_iro(void)
{
	struct vtd_config c;
	struct qg g;

	vtd_config_default(&c);
	c.iro = 0x20; /* IVA 0x200, IOTLB 0x208 */
	CHECK_EQ(init(&g, &c), 0);
	qg_wr(&g, 0x208, 8, iotlb(VTD_IOTLB_GRAN_DOMAIN, 9));
	CHECK_EQ(VTD_GET(qg_rd(&g, 0x208, 8), VTD_IOTLB_IAIG), VTD_IOTLB_GRAN_DOMAIN);
	CHECK_EQ(qg_last(&g)->inv.offset, 0x208);
	CHECK_EQ(qg_rd(&g, IOTLB, 8), 0); /* nothing at the default place */
	qg_fini(&g);
}

int main(void)
{
	RUN(test_ccmd);
	RUN(test_iotlb_reg);
	RUN(test_ignored_while_qi);
	RUN(test_iro);
	return CHECK_DONE();
}
