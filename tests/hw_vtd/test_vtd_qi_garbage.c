// SPDX-License-Identifier: MIT
/*
 * Hostile invalidation streams: 12,000 random streams of descriptors and register writes
 * - plausible descriptors of every type with random fields and reserved bits, noise,
 * queues that straddle the end of memory or lie beyond it, tails beyond the queue or
 * misaligned, QIE toggled at random, IQA rewritten, FSTS/ICS/IECTL written, CCMD and
 * IOTLB_REG commands, reserved TTMs latched, ATS ports that answer, time out, fail or are
 * missing, units with and without scalable mode, ATS, DIT, PSI, drains and IR.
 *
 * After every step the queue's architectural invariants must hold (1.7): IQH inside the
 * queue and aligned to the descriptor width, IQH == IQT whenever the queue may run, IQH 0
 * while QI is disabled, a valid IQEI while IQE is set; every trace event and every ATS
 * request must be well formed. ASan/UBSan (in `make test`) catch any out-of-bounds access
 * and a hang would time the test out.
 */
#include "check.h"

#include <softiommu/vtd.h>

#include <stdio.h>
#include <string.h>

#define STREAMS	  12000
#define STEPS	  48
#define MEM_SIZE  (2ull << 20) /* small: queues of up to 512 KiB often run past it */
#define STATUS_PA 0x1ff000ull
#define NPORTS	  4

static uint64_t seed = 0x1abe11ed5eedull;

static uint64_t rnd(void)
{
	return check_rand(&seed);
}

static bool chance(unsigned pct)
{
	return rnd() % 100 < pct;
}

struct stream;

struct port {
	struct stream *s;
	uint16_t rid;
	int ret;
};

struct stream {
	struct mem *m;
	struct vtd *vtd;
	struct vtd_config cfg;
	struct port ports[NPORTS];
	unsigned bad; /* malformed callbacks seen */
	unsigned events;
};

static int port_invalidate(void *ctx, const struct pci_ats_inv *inv)
{
	struct port *p = ctx;

	/* The request must be for this port, with a range the PCIe encoding can express. */
	if (inv->rid != p->rid ||
	    (inv->size &&
	     (inv->size < 4096 || (inv->size & (inv->size - 1)) || (inv->addr & (inv->size - 1)))))
		p->s->bad++;
	return p->ret;
}

/* Trace events must be well formed; count the ones that are not. */
static void tracer(void *ctx, const struct vtd_trace_event *ev)
{
	struct stream *s = ctx;

	if (ev->kind != VTD_TRACE_INV)
		return;
	s->events++;
	if (ev->inv.gran > VTD_INV_GRAN_INDEX || ev->inv.result > VTD_INV_RES_IGNORED)
		s->bad++;
	if (ev->inv.result == VTD_INV_RES_ERROR && (ev->inv.iqei < 1 || ev->inv.iqei > 7))
		s->bad++;
	if (ev->inv.size &&
	    ((ev->inv.size & (ev->inv.size - 1)) || (ev->inv.addr & (ev->inv.size - 1))))
		s->bad++;
	if (ev->inv.desc && (ev->inv.offset & 0xf))
		s->bad++;
}

static void cb_event(void *ctx, uint32_t data, uint64_t addr)
{
	(void)data;
	(void)addr;
	((struct stream *)ctx)->events++;
}

static void random_config(struct vtd_config *c)
{
	do {
		uint64_t b = rnd();

		vtd_config_default(c);
		if (b & 1) { /* a legacy unit */
			c->scalable = c->first_stage = c->second_stage = c->nested = false;
			c->fs_5level = c->fs_1g = c->ss_ad = false;
			c->pasid_bits = 0;
			c->supervisor_requests = false;
		}
		c->dev_tlb = b & 2;
		c->dev_tlb_throttle = b & 4;
		c->psi = b & 8;
		c->mamv = (unsigned)(rnd() % 64);
		c->drain_reads = b & 16;
		c->drain_writes = b & 32;
		c->intr_remap = b & 64;
		c->abort_dma = b & 128;
		c->did_bits = 4 + 2 * (unsigned)(rnd() % 7);
		c->haw = 32 + (unsigned)(rnd() % 21);
		c->queued_invalidation = !(b & 256) || c->scalable || c->dev_tlb;
	} while (vtd_config_validate(c));
}

/* A random SID: mostly one with a port. */
static uint16_t random_sid(const struct stream *s)
{
	return chance(70) ? s->ports[rnd() % NPORTS].rid : (uint16_t)rnd();
}

static uint64_t random_addr(void)
{
	return rnd() & VTD_GENMASK(chance(50) ? 47 : 63, 12);
}

/*
 * A descriptor of a random type with its fields filled at random (granularities include
 * the reserved ones), then often one reserved or random bit flipped, sometimes noise.
 */
static void random_desc(const struct stream *s, uint64_t q[4])
{
	static const unsigned odd[] = {0, 9, 10, 15};
	unsigned type = chance(92) ? 1 + (unsigned)(rnd() % 8) : odd[rnd() % 4];
	/* Bits 5:4 in every type that has G; reserved values now and then. */
	uint64_t g = VTD_SET(VTD_INV_CC_G, chance(80) ? 1 + rnd() % 3 : rnd() % 4);

	q[0] = type;
	q[1] = q[2] = q[3] = 0;
	switch (type) {
	case VTD_INV_CC:
		q[0] |=
		    g | (rnd() & (VTD_INV_CC_DID_MASK | VTD_INV_CC_SID_MASK | VTD_INV_CC_FM_MASK));
		break;
	case VTD_INV_IOTLB:
	case VTD_INV_PIOTLB:
		q[0] |=
		    g | (rnd() & (VTD_INV_IOTLB_DID_MASK | VTD_INV_IOTLB_DW | VTD_INV_IOTLB_DR));
		if (type == VTD_INV_PIOTLB)
			q[0] = (q[0] & ~(VTD_INV_IOTLB_DW | VTD_INV_IOTLB_DR)) |
			       (rnd() & VTD_INV_PIOTLB_PASID_MASK);
		q[1] = random_addr() | (rnd() % 24) | (rnd() & VTD_INV_IOTLB_IH);
		break;
	case VTD_INV_DEVTLB:
		q[0] |=
		    VTD_SET(VTD_INV_DEVTLB_SID, random_sid(s)) | (rnd() & VTD_INV_DEVTLB_MIP_MASK);
		q[1] = random_addr() | (rnd() & VTD_INV_DEVTLB_S);
		break;
	case VTD_INV_IEC:
		q[0] |= (rnd() & (VTD_INV_IEC_G | VTD_INV_IEC_IIDX_MASK)) |
			VTD_SET(VTD_INV_IEC_IM, rnd() % (chance(50) ? 2 : 32));
		break;
	case VTD_INV_WAIT:
		q[0] |= (rnd() & (VTD_INV_WAIT_IF | VTD_INV_WAIT_SW | VTD_INV_WAIT_FN)) |
			(rnd() & VTD_INV_WAIT_STDATA_MASK);
		q[1] = chance(90) ? STATUS_PA + (rnd() % 1024) * 4 : rnd() & ~3ull;
		break;
	case VTD_INV_PC:
		q[0] |= g | (rnd() & (VTD_INV_PC_DID_MASK | VTD_INV_PC_PASID_MASK));
		break;
	case VTD_INV_PDEVTLB:
		q[0] |= VTD_SET(VTD_INV_PDEVTLB_SID, random_sid(s)) |
			(rnd() & (VTD_INV_PDEVTLB_PASID_MASK | VTD_INV_PDEVTLB_MIP_MASK));
		q[1] = random_addr() | (rnd() & (VTD_INV_PDEVTLB_S | VTD_INV_PDEVTLB_G));
		break;
	default: /* 0, 9, 10, 15: not descriptors this unit takes */
		q[0] |= rnd() & ~0xfull;
		q[1] = rnd();
		break;
	}
	if (chance(8))
		q[rnd() % 4] ^= 1ull << (rnd() % 64);
	if (chance(2))
		q[0] = rnd();
}

/* Write `count` random descriptors from queue offset `off` (wrapping) of the current queue. */
static void fill_queue(struct stream *s, uint64_t off, unsigned count)
{
	uint64_t iqa = 0, base, size;
	unsigned dsz;

	vtd_mmio_read(s->vtd, VTD_REG_IQA, 8, &iqa);
	base = iqa & VTD_IQA_IQA_MASK;
	size = 4096ull << (iqa & 7);
	dsz = (iqa & VTD_IQA_DW) ? 32 : 16;
	for (unsigned i = 0; i < count; i++) {
		uint64_t q[4];

		random_desc(s, q);
		off &= size - 1;
		for (unsigned w = 0; w < dsz / 8; w++)
			mem_write64(s->m, base + off + w * 8, q[w]); /* fails outside: fine */
		off += dsz;
	}
}

static void wr(struct stream *s, unsigned off, unsigned size, uint64_t v)
{
	vtd_mmio_write(s->vtd, off, size, v);
}

static uint64_t rd(struct stream *s, unsigned off, unsigned size)
{
	uint64_t v = 0;

	vtd_mmio_read(s->vtd, off, size, &v);
	return v;
}

static uint64_t random_base(void)
{
	switch (rnd() % 10) {
	case 0:
		return (MEM_SIZE - 4096 * (1 + rnd() % 4)) & ~0xfffull; /* straddles the end */
	case 1:
		return rnd() & VTD_GENMASK(51, 12); /* anywhere, mostly outside */
	default:
		return 0x10000 + (rnd() % 24) * 0x10000;
	}
}

static void step(struct stream *s)
{
	uint32_t gsts = (uint32_t)rd(s, VTD_REG_GSTS, 4) & VTD_GSTS_PERSISTENT_MASK;
	uint64_t iqa = rd(s, VTD_REG_IQA, 8);
	unsigned iqei;

	switch (rnd() % 17) {
	case 0:
	case 1:
	case 2: /* move the tail: mostly forward by a few descriptors */
		if (chance(85))
			wr(s, VTD_REG_IQT, 8,
			   (rd(s, VTD_REG_IQT, 8) +
			    (1 + rnd() % 24) * ((iqa & VTD_IQA_DW) ? 32 : 16)) %
			       (4096ull << (iqa & 7)));
		else
			wr(s, VTD_REG_IQT, chance(50) ? 8 : 4, rnd());
		break;
	case 3: /* QIE on or off */
		wr(s, VTD_REG_GCMD, 4, gsts ^ (uint32_t)VTD_GCMD_QIE);
		break;
	case 4: /* a new queue */
		wr(s, VTD_REG_IQA, 8, random_base() | (rnd() % 8) | (chance(50) ? VTD_IQA_DW : 0));
		break;
	case 5: /* clear status bits */
		wr(s, VTD_REG_FSTS, 4, rnd() & 0x7f);
		break;
	case 6:
		wr(s, chance(50) ? VTD_REG_ICS : VTD_REG_IECTL, 4, rnd());
		break;
	case 7:
		wr(s, VTD_REG_CCMD, 8, rnd());
		break;
	case 8: {
		unsigned iva = s->cfg.iro * 16;
		wr(s, iva, 8, rnd());
		wr(s, iva + 8, chance(50) ? 8 : 4, rnd());
		break;
	}
	case 9: /* write more descriptors from the head on */
		fill_queue(s, rd(s, VTD_REG_IQH, 8), 8 + rnd() % 24);
		break;
	case 10: /* latch a root pointer with a random TTM */
		wr(s, VTD_REG_RTADDR, 8,
		   0x1000 | (chance(30) ? rnd() & VTD_RTADDR_TTM_MASK
					: (s->cfg.scalable ? 1ull << 10 : 0)));
		wr(s, VTD_REG_GCMD, 4, gsts | (uint32_t)VTD_GCMD_SRTP);
		break;
	case 11: /* any queue register, any value */
		wr(s, 0x80 + (unsigned)(rnd() % 16) * 4, 4, rnd());
		break;
	case 12: /* a port changes its mind, or a device goes away / comes back */
	{
		struct port *p = &s->ports[rnd() % NPORTS];
		static const int rets[] = {0, 0, -ETIMEDOUT, -EINVAL, -EIO};

		p->ret = rets[rnd() % 5];
		if (chance(30) && vtd_disconnect_ats(s->vtd, p->rid)) {
			struct pci_ats_port port = {.invalidate = port_invalidate, .ctx = p};
			vtd_connect_ats(s->vtd, p->rid, &port);
		}
		break;
	}
	case 13:
	case 14:
	case 15: /* what a driver does on IQE / ITE: fix the descriptor at IQH, clear */
		fill_queue(s, rd(s, VTD_REG_IQH, 8), 1);
		iqei = (unsigned)(rd(s, VTD_REG_IQERCD, 8) & 0xf);
		if (iqei == VTD_IQEI_TAIL || iqei == VTD_IQEI_TAIL_ALIGN) /* start again at IQH */
			wr(s, VTD_REG_IQT, 8, rd(s, VTD_REG_IQH, 8));
		wr(s, VTD_REG_FSTS, 4, VTD_FSTS_IQE | VTD_FSTS_ITE | VTD_FSTS_ICE);
		break;
	default:
		if (chance(10))
			vtd_reset(s->vtd);
		break;
	}
}

/* 1.7 invariants of the queue registers; returns the number violated. */
static unsigned check_invariants(struct stream *s, uint64_t *last_desc)
{
	uint64_t iqa = rd(s, VTD_REG_IQA, 8), iqh = rd(s, VTD_REG_IQH, 8);
	uint64_t iqt = rd(s, VTD_REG_IQT, 8), size = 4096ull << (iqa & 7);
	uint32_t gsts = (uint32_t)rd(s, VTD_REG_GSTS, 4), fsts = (uint32_t)rd(s, VTD_REG_FSTS, 4);
	unsigned iqei = (unsigned)(rd(s, VTD_REG_IQERCD, 8) & 0xf), bad = 0;
	struct vtd_stats st;

	bad += (iqh & 0xf) || ((iqa & VTD_IQA_DW) && (iqh & 0x10));
	bad += iqh >= size;
	bad += !(gsts & VTD_GSTS_QIES) && iqh != 0;
	bad += (gsts & VTD_GSTS_QIES) && !(fsts & (VTD_FSTS_IQE | VTD_FSTS_ITE)) && iqh != iqt;
	bad += (fsts & VTD_FSTS_IQE) && (iqei < 1 || iqei > 7);
	bad += (iqa & VTD_IQA_DW) && !s->cfg.scalable;
	bad += vtd_get_stats(s->vtd, &st) != 0;
	bad += st.inv.descriptors < *last_desc;
	*last_desc = st.inv.descriptors;
	return bad;
}

/* What all streams together exercised: each kind must have happened. */
static struct vtd_inv_stats totals;

static void add_totals(const struct vtd_inv_stats *st)
{
	const uint64_t *a = (const uint64_t *)(const void *)st;
	uint64_t *t = (uint64_t *)(void *)&totals;

	for (size_t i = 0; i < sizeof(totals) / sizeof(uint64_t); i++)
		t[i] += a[i];
}

static unsigned run_stream(void)
{
	struct stream s;
	struct vtd_callbacks cb = {.fault_event = cb_event, .inv_event = cb_event, .trace = tracer};
	uint64_t last_desc = 0;
	unsigned bad = 0;
	struct vtd_stats st;

	memset(&s, 0, sizeof(s));
	random_config(&s.cfg);
	s.m = mem_create_sparse(MEM_SIZE);
	if (!s.m || vtd_create(&s.cfg, s.m, &cb, &s, &s.vtd)) {
		mem_destroy(s.m);
		return 1;
	}
	for (unsigned i = 0; i < NPORTS; i++) {
		struct pci_ats_port port = {.invalidate = port_invalidate, .ctx = &s.ports[i]};

		s.ports[i].s = &s;
		s.ports[i].rid = (uint16_t)rnd();
		s.ports[i].ret = chance(70) ? 0 : -ETIMEDOUT;
		vtd_connect_ats(s.vtd, s.ports[i].rid, &port);
	}
	wr(&s, VTD_REG_FECTL, 4, 0);
	wr(&s, VTD_REG_IECTL, 4, chance(50) ? 0 : VTD_IECTL_IM);
	wr(&s, VTD_REG_IQA, 8, random_base() | (rnd() % 3) | (chance(60) ? VTD_IQA_DW : 0));
	fill_queue(&s, 0, 64);
	wr(&s, VTD_REG_GCMD, 4, VTD_GCMD_QIE);
	for (unsigned i = 0; i < STEPS; i++) {
		step(&s);
		bad += check_invariants(&s, &last_desc);
	}
	bad += s.bad;
	vtd_get_stats(s.vtd, &st);
	add_totals(&st.inv);
	vtd_destroy(s.vtd);
	mem_destroy(s.m);
	return bad;
}

static void test_garbage_streams(void)
{
	unsigned failures = 0;

	for (unsigned i = 0; i < STREAMS; i++) {
		unsigned bad = run_stream();

		if (bad && failures++ < 5)
			fprintf(stderr, "stream %u: %u invariant violations\n", i, bad);
	}
	CHECK_EQ(failures, 0);
	/* The streams reached every descriptor kind, every error and both interfaces. */
	printf("descriptors %llu, iqe %llu, ite %llu, ice %llu, waits %llu (aborted %llu)\n",
	       (unsigned long long)totals.descriptors, (unsigned long long)totals.iqe,
	       (unsigned long long)totals.ite, (unsigned long long)totals.ice,
	       (unsigned long long)totals.wait, (unsigned long long)totals.wait_aborted);
	CHECK(totals.cc_global && totals.cc_domain && totals.cc_device);
	CHECK(totals.iotlb_global && totals.iotlb_domain && totals.iotlb_page);
	CHECK(totals.devtlb && totals.iec_global && totals.iec_index && totals.wait);
	CHECK(totals.piotlb_pasid && totals.piotlb_page);
	CHECK(totals.pc_global && totals.pc_domain && totals.pc_pasid);
	CHECK(totals.pdevtlb && totals.pdevtlb_global);
	CHECK(totals.reg_cc_global && totals.reg_iotlb_page && totals.reg_ignored);
	CHECK(totals.iqe && totals.ite && totals.ice && totals.wait_aborted);
	CHECK(totals.status_dropped && totals.unclean_disable);
}

int main(void)
{
	RUN(test_garbage_streams);
	return CHECK_DONE();
}
