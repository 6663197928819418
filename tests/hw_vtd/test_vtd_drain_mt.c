// SPDX-License-Identifier: MIT
/*
 * Draining requests in flight (digest 1.6, 5.3, 5.6; src/hw/vtd/drain.h). A request the
 * unit answers PCI_SC through its agent (vtd_translation_agent()) is in flight until the
 * requester's done(); an invalidation wait after an IOTLB invalidation with DR / DW or a
 * PASID-based IOTLB invalidation, and an IOTLB_REG command with DR / DW, complete only
 * once the requests translated before them are done - without DR / DW they do not wait.
 * A stopped requester costs a drain its time-out, never a hang; bad done() calls are
 * refused without touching the counts. Last, endpoints without ATS do DMA while pages are
 * unmapped, invalidated and reused: no access may land after the wait (ThreadSanitizer
 * runs this file too, and would see such an access race with the reuse).
 */
#include "check.h"
#include "vtd_guest.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#define RID	PCI_RID(3, 4, 0)
#define DID	7u
#define PASID	5u
#define IOVA	0x40000ull
#define DATA	0x100000000ull
#define HOLD_NS 40000000ull /* how long the tests watch a wait that must not complete */

struct env {
	struct guest g;
	struct pci_translation_agent a;
	uint64_t iq, st, tail;
	uint64_t dir;	 /* RID's PASID directory */
	uint64_t ss, fs; /* second-stage (RID_PASID) and first-stage (PASID) roots */
	uint32_t seq;	 /* the last wait's status data */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};

	nanosleep(&ts, NULL);
}

static uint64_t pe_q0(unsigned pgtt, uint64_t slptptr)
{
	return VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, pgtt) | VTD_SET(VTD_PE_Q0_AW, 2) | slptptr;
}

/*
 * A scalable unit (caches as `caches` says) and RID's context entry (PASIDs, ATS): its
 * RID_PASID entry translates IOVA to DATA through a second stage, PASID 5 to DATA + 4 KiB
 * through a first stage. With `qi` the queue is enabled (else IOTLB_REG works).
 */
static int env_init(struct env *e, bool caches, bool qi, unsigned timeout_ms)
{
	struct vtd_config c;
	uint64_t dir;
	uint32_t gsts;

	memset(e, 0, sizeof(*e));
	vtd_config_default(&c);
	c.drain_timeout_ms = timeout_ms;
	g_keep_caches = caches;
	if (g_init(&e->g, &c, true))
		return -1;
	dir = e->dir = g_sm_ctx(&e->g, RID, VTD_SCE_Q0_PASIDE | VTD_SCE_Q0_DTE, 0);
	e->ss = g_page(&e->g);
	e->fs = g_page(&e->g);
	g_pe(&e->g, dir, 0, pe_q0(VTD_PGTT_SS, e->ss), DID, 0);
	g_pe(&e->g, dir, PASID, pe_q0(VTD_PGTT_FS, 0), DID, e->fs);
	g_map(&e->g, e->ss, 4, IOVA, DATA, 12, SS_TBL, VTD_SL_R | VTD_SL_W, 0);
	g_map(&e->g, e->fs, 4, IOVA, DATA + 0x1000, 12, FS_TBL, FS_TBL | VTD_FL_A | VTD_FL_D, 0);
	e->a = vtd_translation_agent(e->g.vtd);
	e->iq = g_page(&e->g);
	e->st = g_page(&e->g);
	if (qi) {
		g_mmio_wr(&e->g, VTD_REG_IQA, 8, e->iq | VTD_IQA_DW);
		gsts = (uint32_t)g_mmio_rd(&e->g, VTD_REG_GSTS, 4) & VTD_GSTS_PERSISTENT_MASK;
		g_mmio_wr(&e->g, VTD_REG_GCMD, 4, gsts | VTD_GCMD_QIE);
	}
	return 0;
}

static struct pci_req req_of(bool pasid, bool write, uint8_t at)
{
	return (struct pci_req){
	    .addr = at == PCI_AT_TRANSLATED ? DATA : IOVA,
	    .pasid = pasid ? PASID : 0,
	    .rid = RID,
	    .at = at,
	    .flags =
		(uint8_t)((pasid ? PCI_REQ_PASID : 0) | (write ? PCI_REQ_WRITE : PCI_REQ_READ)),
	};
}

static int xlate(struct env *e, const struct pci_req *req, struct pci_resp *resp)
{
	return e->a.translate(e->a.ctx, req, resp);
}

static int done(struct env *e, const struct pci_req *req, struct pci_resp *resp)
{
	return e->a.done(e->a.ctx, req, resp);
}

static struct vtd_inv_stats inv_stats(struct env *e)
{
	struct vtd_stats s;

	memset(&s, 0, sizeof(s));
	vtd_get_stats(e->g.vtd, &s);
	return s.inv;
}

/* ---- invalidations ---------------------------------------------------------------------- */

static void put(struct env *e, uint64_t q0, uint64_t q1)
{
	g_wr(&e->g, e->iq + e->tail, q0);
	g_wr(&e->g, e->iq + e->tail + 8, q1);
	g_wr(&e->g, e->iq + e->tail + 16, 0);
	g_wr(&e->g, e->iq + e->tail + 24, 0);
	e->tail = (e->tail + 32) % 4096;
}

static uint32_t status(struct env *e)
{
	uint32_t v = 0;

	mem_read32(e->g.m, e->st, &v);
	return v;
}

/* The invalidations a test submits before its wait. */
enum inv_kind {
	INV_IOTLB_DRDW, /* type 2, page-selective, DR and DW */
	INV_IOTLB_DR,	/* type 2 with DR only */
	INV_IOTLB_DW,	/* type 2 with DW only */
	INV_IOTLB_NONE, /* type 2 without DR / DW */
	INV_PIOTLB,	/* type 6, page-selective (no DR / DW fields) */
	INV_REG_DRDW,	/* IOTLB_REG, domain-selective, DR and DW (QI disabled) */
	INV_REG_NONE,	/* IOTLB_REG without DR / DW */
};

static uint64_t iotlb_q0(uint64_t drain)
{
	return VTD_INV_IOTLB | VTD_SET(VTD_INV_IOTLB_G, VTD_IOTLB_GRAN_PAGE) |
	       VTD_SET(VTD_INV_IOTLB_DID, DID) | drain;
}

static uint64_t iotlb_reg(uint64_t drain)
{
	return VTD_IOTLB_IVT | VTD_SET(VTD_IOTLB_IIRG, VTD_IOTLB_GRAN_DOMAIN) |
	       VTD_SET(VTD_IOTLB_DID, DID) | drain;
}

static unsigned iotlb_reg_off(struct env *e)
{
	return vtd_get_config(e->g.vtd)->iro * 16 + VTD_REG_IOTLB_OFF;
}

/* Invalidate IOVA the `kind` way and wait for it (a status write of e->seq, which the caller
 * has moved). Returns when the unit has completed it. */
static void invalidate(struct env *e, enum inv_kind kind)
{
	switch (kind) {
	case INV_REG_DRDW:
		g_mmio_wr(&e->g, iotlb_reg_off(e), 8, iotlb_reg(VTD_IOTLB_DR | VTD_IOTLB_DW));
		return;
	case INV_REG_NONE:
		g_mmio_wr(&e->g, iotlb_reg_off(e), 8, iotlb_reg(0));
		return;
	case INV_IOTLB_DRDW:
		put(e, iotlb_q0(VTD_INV_IOTLB_DR | VTD_INV_IOTLB_DW), IOVA);
		break;
	case INV_IOTLB_DR:
		put(e, iotlb_q0(VTD_INV_IOTLB_DR), IOVA);
		break;
	case INV_IOTLB_DW:
		put(e, iotlb_q0(VTD_INV_IOTLB_DW), IOVA);
		break;
	case INV_IOTLB_NONE:
		put(e, iotlb_q0(0), IOVA);
		break;
	case INV_PIOTLB:
		put(e,
		    VTD_INV_PIOTLB | VTD_SET(VTD_INV_PIOTLB_G, VTD_INV_PIOTLB_G_PAGE) |
			VTD_SET(VTD_INV_PIOTLB_DID, DID) | VTD_SET(VTD_INV_PIOTLB_PASID, PASID),
		    IOVA);
		break;
	}
	put(e, VTD_INV_WAIT | VTD_INV_WAIT_SW | VTD_SET(VTD_INV_WAIT_STDATA, e->seq), e->st);
	g_mmio_wr(&e->g, VTD_REG_IQT, 8, e->tail);
}

/* Whether the invalidation `kind` has completed, as software sees it. */
static bool completed(struct env *e, enum inv_kind kind)
{
	if (kind == INV_REG_DRDW || kind == INV_REG_NONE)
		return !(g_mmio_rd(&e->g, iotlb_reg_off(e), 8) & VTD_IOTLB_IVT);
	return status(e) == e->seq;
}

struct inv_arg {
	struct env *e;
	enum inv_kind kind;
	int finished;
	uint64_t ns; /* how long the MMIO write took */
};

static void *inv_thread(void *p)
{
	struct inv_arg *ia = p;
	uint64_t t0 = now_ns();

	invalidate(ia->e, ia->kind);
	ia->ns = now_ns() - t0;
	__atomic_store_n(&ia->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Invalidate from a thread of its own (the status number is chosen here, before it runs). */
static int start_inv(struct env *e, struct inv_arg *ia, pthread_t *t)
{
	e->seq++;
	return pthread_create(t, NULL, inv_thread, ia);
}

/* Invalidate from this thread. */
static void invalidate_now(struct env *e, enum inv_kind kind)
{
	e->seq++;
	invalidate(e, kind);
}

/* Whether the invalidation `kind` started by start_inv() is draining - IQH rests at the wait
 * (at `wait_at`), or IVT is set - within 10 s (a loaded machine may be slow to run the
 * thread), then still after HOLD_NS. */
static bool draining(struct env *e, enum inv_kind kind, uint64_t wait_at)
{
	for (unsigned i = 0; i < 10000; i++) {
		bool at_wait = kind == INV_REG_DRDW
				   ? (g_mmio_rd(&e->g, iotlb_reg_off(e), 8) & VTD_IOTLB_IVT) != 0
				   : g_mmio_rd(&e->g, VTD_REG_IQH, 8) == wait_at;

		if (at_wait) {
			sleep_ns(HOLD_NS);
			return !completed(e, kind);
		}
		sleep_ns(1000000);
	}
	return false;
}

/* ---- the drain ---------------------------------------------------------------------------- */

/*
 * This thread translates (`at`, with PASID 5 or not) and holds its access while another
 * thread invalidates: the wait (or IVT) does not complete until done(), and completes
 * right after it, counted as a drain without time-out.
 */
static int drain_case(bool caches, enum inv_kind kind, bool pasid, uint8_t at)
{
	struct env e;
	struct pci_req req = req_of(pasid, at == PCI_AT_UNTRANSLATED, at);
	struct pci_resp resp;
	struct inv_arg ia;
	struct vtd_inv_stats st;
	pthread_t t;
	uint64_t v = 0, wait_at;
	bool held, ok;

	CHECK_RET(env_init(&e, caches, kind != INV_REG_DRDW, 0) == 0);
	/* Twice, so that with caches the second one is a memo hit. */
	for (unsigned i = 0; i < 2; i++) {
		CHECK_RET(xlate(&e, &req, &resp) == 0 && resp.status == PCI_SC);
		CHECK_RET(resp.flags & PCI_RESP_INFLIGHT);
		if (i == 0)
			CHECK_RET(done(&e, &req, &resp) == 0);
	}
	CHECK_RET(!(resp.flags & PCI_RESP_FAULT_RECORDED));
	if (at == PCI_AT_UNTRANSLATED)
		CHECK_RET(resp.addr == DATA + (pasid ? 0x1000 : 0));
	ia = (struct inv_arg){.e = &e, .kind = kind};
	wait_at = (e.tail + 32) % 4096; /* where the wait goes, behind the invalidation */
	CHECK_RET(start_inv(&e, &ia, &t) == 0);
	/* Still waiting: no status, IVT set; the registers stay usable meanwhile. */
	held = draining(&e, kind, wait_at) && !__atomic_load_n(&ia.finished, __ATOMIC_ACQUIRE);
	if (kind == INV_REG_DRDW) {
		/* IOTLB_REG is busy: another command is ignored. */
		g_mmio_wr(&e.g, iotlb_reg_off(&e), 8, iotlb_reg(0) ^ VTD_SET(VTD_IOTLB_DID, 1));
		held &= VTD_GET(g_mmio_rd(&e.g, iotlb_reg_off(&e), 8), VTD_IOTLB_DID) == DID;
	}
	/* The access, then done(): the invalidation completes. */
	ok = mem_read64(e.g.m, resp.addr, &v) == 0;
	ok &= done(&e, &req, &resp) == 0 && !(resp.flags & PCI_RESP_INFLIGHT);
	pthread_join(t, NULL);
	CHECK_RET(held && ok);
	CHECK_RET(ia.ns >= HOLD_NS);
	CHECK_RET(completed(&e, kind));
	st = inv_stats(&e);
	CHECK_RET(st.drains == 1 && st.drain_timeouts == 0);
	if (kind == INV_REG_DRDW)
		CHECK_RET(VTD_GET(g_mmio_rd(&e.g, iotlb_reg_off(&e), 8), VTD_IOTLB_IAIG) ==
			  VTD_IOTLB_GRAN_DOMAIN);
	/* The translation is gone from the caches. */
	if (at == PCI_AT_UNTRANSLATED && caches) {
		CHECK_RET(xlate(&e, &req, &resp) == 0 && resp.status == PCI_SC);
		CHECK_RET(done(&e, &req, &resp) == 0);
	}
	g_fini(&e.g);
	return 0;
}

static void test_wait_drains_untranslated(void)
{
	/* Type 2 with DR and DW (second stage), type 6 (first stage), through the memo and
	 * without caches (the thread slot's counts). */
	CHECK_EQ(drain_case(true, INV_IOTLB_DRDW, false, PCI_AT_UNTRANSLATED), 0);
	CHECK_EQ(drain_case(false, INV_IOTLB_DRDW, false, PCI_AT_UNTRANSLATED), 0);
	CHECK_EQ(drain_case(true, INV_PIOTLB, true, PCI_AT_UNTRANSLATED), 0);
	CHECK_EQ(drain_case(false, INV_PIOTLB, true, PCI_AT_UNTRANSLATED), 0);
	/* Reads are drained with DR alone and writes with DW alone too (the unit drains
	 * both whenever it drains: always allowed). */
	CHECK_EQ(drain_case(true, INV_IOTLB_DR, false, PCI_AT_UNTRANSLATED), 0);
	CHECK_EQ(drain_case(true, INV_IOTLB_DW, false, PCI_AT_UNTRANSLATED), 0);
}

static void test_wait_drains_translated(void)
{
	/* A translated request the unit let through (ATS device) is drained as well. */
	CHECK_EQ(drain_case(true, INV_IOTLB_DRDW, false, PCI_AT_TRANSLATED), 0);
	CHECK_EQ(drain_case(false, INV_PIOTLB, false, PCI_AT_TRANSLATED), 0);
}

static void test_iotlb_reg_drains(void)
{
	CHECK_EQ(drain_case(true, INV_REG_DRDW, false, PCI_AT_UNTRANSLATED), 0);
	CHECK_EQ(drain_case(false, INV_REG_DRDW, true, PCI_AT_UNTRANSLATED), 0);
}

/* Without DR / DW the invalidation may complete without draining (1.6, 5.3): it does, with
 * a request held in flight; so does a wait after other descriptors. */
static int no_drain_case(enum inv_kind kind)
{
	struct env e;
	struct pci_req req = req_of(false, false, PCI_AT_UNTRANSLATED);
	struct pci_resp resp;
	struct inv_arg ia;
	pthread_t t;

	CHECK_RET(env_init(&e, true, kind != INV_REG_NONE, 0) == 0);
	CHECK_RET(xlate(&e, &req, &resp) == 0 && (resp.flags & PCI_RESP_INFLIGHT));
	ia = (struct inv_arg){.e = &e, .kind = kind};
	CHECK_RET(start_inv(&e, &ia, &t) == 0);
	pthread_join(t, NULL); /* with the request still in flight */
	CHECK_RET(completed(&e, kind));
	CHECK_RET(inv_stats(&e).drains == 0);
	if (kind == INV_IOTLB_NONE) {
		/* A context-cache invalidation and a wait: nothing to drain either. */
		put(&e, VTD_INV_CC | VTD_SET(VTD_INV_CC_G, VTD_CCMD_GRAN_GLOBAL), 0);
		e.seq++;
		put(&e, VTD_INV_WAIT | VTD_INV_WAIT_SW | VTD_SET(VTD_INV_WAIT_STDATA, e.seq), e.st);
		ia = (struct inv_arg){.e = &e, .kind = kind};
		CHECK_RET(start_inv(&e, &ia, &t) == 0);
		pthread_join(t, NULL);
		CHECK_RET(inv_stats(&e).drains == 0);
	}
	CHECK_RET(done(&e, &req, &resp) == 0);
	g_fini(&e.g);
	return 0;
}

static void test_no_drain_without_dr_dw(void)
{
	CHECK_EQ(no_drain_case(INV_IOTLB_NONE), 0);
	CHECK_EQ(no_drain_case(INV_REG_NONE), 0);
}

/* The drain asked for by an invalidation in one submission is done by the wait of a later
 * one (5.3: before the next wait completes). */
static void test_drain_at_next_wait(void)
{
	struct env e;
	struct pci_req req = req_of(true, true, PCI_AT_UNTRANSLATED);
	struct pci_resp resp;
	struct inv_arg ia = {.e = &e, .kind = INV_IOTLB_NONE};
	uint64_t wait_at;
	bool held, ok;
	pthread_t t;

	CHECK_EQ(env_init(&e, true, true, 0), 0);
	CHECK_EQ(xlate(&e, &req, &resp), 0);
	CHECK(resp.flags & PCI_RESP_INFLIGHT);
	put(&e,
	    VTD_INV_PIOTLB | VTD_SET(VTD_INV_PIOTLB_G, VTD_INV_PIOTLB_G_PASID) |
		VTD_SET(VTD_INV_PIOTLB_DID, DID) | VTD_SET(VTD_INV_PIOTLB_PASID, PASID),
	    0);
	g_mmio_wr(&e.g, VTD_REG_IQT, 8, e.tail); /* no wait yet: nothing to wait for */
	CHECK_EQ(inv_stats(&e).drains, 0);
	wait_at = (e.tail + 32) % 4096;
	CHECK_EQ(start_inv(&e, &ia, &t), 0); /* type 2 without DR + wait */
	held = draining(&e, INV_IOTLB_NONE, wait_at);
	ok = done(&e, &req, &resp) == 0;
	pthread_join(t, NULL);
	CHECK(held && ok);
	CHECK(completed(&e, INV_IOTLB_NONE));
	CHECK_EQ(inv_stats(&e).drains, 1);
	g_fini(&e.g);
}

/* A request that stops between translation and done(): the wait gives up after the
 * time-out, counted; so does the next one - the request is still waited for after the
 * epoch moved on (a request counted in the epoch before is waited for too); its late
 * done() is still taken; then drains do not wait. */
static void test_drain_timeout(void)
{
	struct env e;
	struct pci_req req = req_of(false, false, PCI_AT_UNTRANSLATED);
	struct pci_resp resp;
	struct inv_arg ia = {.e = &e, .kind = INV_IOTLB_DRDW};
	pthread_t t;

	CHECK_EQ(env_init(&e, true, true, 30), 0);
	CHECK_EQ(xlate(&e, &req, &resp), 0);
	for (unsigned k = 1; k <= 3; k++) {
		ia = (struct inv_arg){.e = &e, .kind = INV_IOTLB_DRDW};
		CHECK_EQ(start_inv(&e, &ia, &t), 0);
		pthread_join(t, NULL);
		CHECK(ia.ns >= 30000000ull);
		CHECK(completed(&e, INV_IOTLB_DRDW));
		CHECK_EQ(inv_stats(&e).drain_timeouts, k);
	}
	CHECK_EQ(done(&e, &req, &resp), 0);
	ia = (struct inv_arg){.e = &e, .kind = INV_PIOTLB};
	CHECK_EQ(start_inv(&e, &ia, &t), 0);
	pthread_join(t, NULL);
	CHECK(completed(&e, INV_PIOTLB));
	CHECK_EQ(inv_stats(&e).drains, 4);
	CHECK_EQ(inv_stats(&e).drain_timeouts, 3);
	g_fini(&e.g);
}

/* The thread that invalidates does not wait for its own requests: they cannot end while it
 * waits. */
static void test_own_requests(void)
{
	struct env e;
	struct pci_req req = req_of(false, false, PCI_AT_UNTRANSLATED);
	struct pci_resp resp;
	uint64_t t0;

	CHECK_EQ(env_init(&e, true, true, 5000), 0);
	CHECK_EQ(xlate(&e, &req, &resp), 0);
	t0 = now_ns();
	invalidate_now(&e, INV_IOTLB_DRDW);
	CHECK(now_ns() - t0 < 2000000000ull);
	CHECK(completed(&e, INV_IOTLB_DRDW));
	CHECK_EQ(inv_stats(&e).drain_timeouts, 0);
	CHECK_EQ(done(&e, &req, &resp), 0);
	g_fini(&e.g);
}

struct leaver_arg {
	struct env *e;
	int ret;
	struct pci_resp resp;
};

static void *leaver(void *p)
{
	struct leaver_arg *la = p;
	struct pci_req req = req_of(false, true, PCI_AT_UNTRANSLATED);

	la->ret = xlate(la->e, &req, &la->resp);
	return NULL; /* exits without done() */
}

/* A thread that exits between translation and done() makes no access any more: drains do
 * not wait for it. */
static void test_thread_exit(void)
{
	struct env e;
	struct leaver_arg la;
	pthread_t t;
	uint64_t t0;

	for (int caches = 0; caches < 2; caches++) {
		CHECK_EQ(env_init(&e, caches, true, 10000), 0);
		la = (struct leaver_arg){.e = &e};
		CHECK_EQ(pthread_create(&t, NULL, leaver, &la), 0);
		pthread_join(t, NULL);
		CHECK_EQ(la.ret, 0);
		CHECK(la.resp.flags & PCI_RESP_INFLIGHT);
		t0 = now_ns();
		invalidate_now(&e, INV_PIOTLB);
		CHECK(now_ns() - t0 < 5000000000ull);
		CHECK(completed(&e, INV_PIOTLB));
		CHECK_EQ(inv_stats(&e).drain_timeouts, 0);
		g_fini(&e.g);
	}
}

struct other_arg {
	struct env *e;
	struct pci_req req;
	struct pci_resp resp;
	int ret;
};

static void *other_done(void *p)
{
	struct other_arg *oa = p;

	oa->ret = done(oa->e, &oa->req, &oa->resp);
	return NULL;
}

/* done() refuses what is not one of this thread's requests in flight, counting nothing. */
static void test_done_bad_input(void)
{
	struct env e;
	struct pci_req req = req_of(false, false, PCI_AT_UNTRANSLATED), bad;
	struct pci_resp resp, copy;
	struct other_arg oa;
	struct inv_arg ia = {.e = &e, .kind = INV_IOTLB_DRDW};
	uint64_t wait_at;
	bool held, ok;
	pthread_t t;

	for (int caches = 0; caches < 2; caches++) {
		CHECK_EQ(env_init(&e, caches, true, 10000), 0);
		memset(&resp, 0, sizeof(resp));
		CHECK_EQ(e.a.done(NULL, &req, &resp), -EINVAL);
		CHECK_EQ(done(&e, &req, NULL), -EINVAL);
		CHECK_EQ(done(&e, &req, &resp), -EINVAL); /* never answered */
		/* Nothing in flight for a refused request or a translation request. */
		bad = req;
		bad.addr = IOVA + 0x100000;
		CHECK_EQ(xlate(&e, &bad, &resp), 0);
		CHECK_EQ(resp.status, PCI_UR);
		CHECK(!(resp.flags & PCI_RESP_INFLIGHT));
		CHECK_EQ(done(&e, &bad, &resp), -EINVAL);
		bad = req_of(false, false, PCI_AT_TRANSLATION);
		CHECK_EQ(xlate(&e, &bad, &resp), 0);
		CHECK(resp.status == PCI_SC && !(resp.flags & PCI_RESP_INFLIGHT));
		bad.at = 3; /* not an AT value */
		CHECK_EQ(xlate(&e, &bad, &resp), -EINVAL);
		CHECK_EQ(e.a.translate(e.a.ctx, NULL, &resp), -EINVAL);
		/* vtd_translate() counts nothing. */
		CHECK_EQ(vtd_translate(e.g.vtd, &req, &resp), 0);
		CHECK(resp.status == PCI_SC && !(resp.flags & PCI_RESP_INFLIGHT));
		/* Done twice, a copy done after the original, done on another thread. */
		CHECK_EQ(xlate(&e, &req, &resp), 0);
		copy = resp;
		oa = (struct other_arg){.e = &e, .req = req, .resp = resp};
		CHECK_EQ(pthread_create(&t, NULL, other_done, &oa), 0);
		pthread_join(t, NULL);
		CHECK_EQ(oa.ret, -EINVAL);
		CHECK_EQ(done(&e, &req, &resp), 0);
		CHECK_EQ(done(&e, &req, &resp), -EINVAL);
		CHECK_EQ(done(&e, &req, &copy), -EINVAL); /* no count goes below zero */
		copy.flags ^= 0x10; /* the other epoch: nothing there either */
		CHECK_EQ(done(&e, &req, &copy), -EINVAL);
		/* The counts are balanced: a drain from another thread does not wait, and
		 * a request translated after those is still waited for. */
		CHECK_EQ(start_inv(&e, &ia, &t), 0);
		pthread_join(t, NULL);
		CHECK(ia.ns < 5000000000ull);
		CHECK_EQ(inv_stats(&e).drain_timeouts, 0);
		CHECK_EQ(xlate(&e, &req, &resp), 0);
		ia = (struct inv_arg){.e = &e, .kind = INV_PIOTLB};
		wait_at = (e.tail + 32) % 4096;
		CHECK_EQ(start_inv(&e, &ia, &t), 0);
		held = draining(&e, INV_PIOTLB, wait_at);
		ok = done(&e, &req, &resp) == 0;
		pthread_join(t, NULL);
		CHECK(held && ok);
		CHECK_EQ(inv_stats(&e).drain_timeouts, 0);
		ia = (struct inv_arg){.e = &e, .kind = INV_IOTLB_DRDW};
		g_fini(&e.g);
	}
}

/* A reset while a wait drains: the queue run stops there, and nothing breaks. */
static void test_reset_while_draining(void)
{
	struct env e;
	struct pci_req req = req_of(false, false, PCI_AT_UNTRANSLATED);
	struct pci_resp resp;
	struct inv_arg ia = {.e = &e, .kind = INV_IOTLB_DRDW};
	uint64_t wait_at;
	bool held, ok;
	pthread_t t;

	CHECK_EQ(env_init(&e, true, true, 0), 0);
	CHECK_EQ(xlate(&e, &req, &resp), 0);
	wait_at = (e.tail + 32) % 4096;
	CHECK_EQ(start_inv(&e, &ia, &t), 0);
	held = draining(&e, INV_IOTLB_DRDW, wait_at);
	vtd_reset(e.g.vtd);
	ok = done(&e, &req, &resp) == 0;
	pthread_join(t, NULL);
	CHECK(held && ok);
	CHECK_EQ(status(&e), 0); /* the queue was reset before the wait completed */
	CHECK_EQ(g_mmio_rd(&e.g, VTD_REG_IQH, 8), 0);
	CHECK_EQ(g_mmio_rd(&e.g, VTD_REG_GSTS, 4) & VTD_GSTS_QIES, 0);
	g_fini(&e.g);
}

/* ---- DMA through endpoints without ATS, with pages reused after each unmap ---------------- */

#define NDEV	   2
#define ROUNDS	   150
#define NPAGES	   4
#define MAGIC_MAP  0x6d61707065640000ull /* + round: a mapped page's contents */
#define MAGIC_FREE 0xf4eef4eef4eef4eeull /* a page given back */

struct dma_env {
	struct env e;
	struct pci_endpoint *ep[NDEV];
	int stop;
	unsigned long dmas, late, errors;
};

struct dev_arg {
	struct dma_env *d;
	unsigned i;
};

/* Read or write IOVA (RID_PASID, second stage) or with PASID 5 (first stage) - each device
 * writes bytes of its own: a read finds a mapped page's contents, never a page given back. */
static void *device(void *p)
{
	struct dev_arg *da = p;
	struct dma_env *d = da->d;
	uint64_t rng = 0x5eed + da->i, buf[8];

	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		uint64_t r = check_rand(&rng);
		bool pasid = r & 1, write = (r & 6) == 0;
		unsigned flags = pasid ? PCI_DMA_PASID : 0;
		int ret;

		if (write) {
			for (unsigned k = 0; k < 8; k++)
				buf[k] = 0xd0d0d0d000000000ull | da->i;
			ret = pci_endpoint_dma_write(d->ep[da->i], flags, PASID,
						     IOVA + 128 * (da->i + 1), buf, sizeof(buf),
						     NULL);
		} else {
			ret = pci_endpoint_dma_read(d->ep[da->i], flags, PASID, IOVA + 512, buf,
						    sizeof(buf), NULL);
			if (!ret && (buf[0] & ~0xffffull) != MAGIC_MAP)
				__atomic_fetch_add(&d->late, 1, __ATOMIC_RELAXED);
		}
		if (ret && ret != -EFAULT)
			__atomic_fetch_add(&d->errors, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&d->dmas, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Write a page-table entry the way page-table code publishes one: a release store, so that
 * a walk that sees it also sees the page's contents written before. */
static void publish(struct dma_env *d, uint64_t pa, uint64_t v)
{
	__atomic_store_n((uint64_t *)mem_ptr(d->e.g.m, pa, 8), v, __ATOMIC_RELEASE);
}

/* Fill page `pa` with `v`; false if it did not hold `want` before (a late device write). */
static bool refill(struct dma_env *d, uint64_t pa, uint64_t want, uint64_t v)
{
	bool ok = true;

	for (uint64_t off = 0; off < 4096; off += 8) {
		uint64_t x = 0;

		mem_read64(d->e.g.m, pa + off, &x);
		ok &= x == want;
		mem_write64(d->e.g.m, pa + off, v);
	}
	return ok;
}

static void test_dma_reuse_mt(void)
{
	static struct dma_env d;
	struct dev_arg da[NDEV];
	pthread_t t[NDEV];
	uint64_t pte[2];
	unsigned late_writes = 0, incomplete = 0;

	memset(&d, 0, sizeof(d));
	CHECK_EQ(env_init(&d.e, true, true, 0), 0);
	for (unsigned i = 0; i < NDEV; i++) {
		struct pci_endpoint_config ec = {
		    .rid = RID + i,
		    .pasid_width = 20,
		    .pasid_enable = true,
		    .agent = d.e.a,
		    .mem = d.e.g.m,
		};

		if (i) {
			/* The second function shares the first's tables. */
			uint64_t q0 = g_rd(&d.e.g, g_sm_ctx_pa(&d.e.g, RID));

			g_wr(&d.e.g, g_sm_ctx_pa(&d.e.g, RID + i), q0);
		}
		CHECK_EQ(pci_endpoint_create(&ec, &d.ep[i]), 0);
	}
	/* Faults of requests to an unmapped page are expected: not recorded (FPD). */
	g_pe(&d.e.g, d.e.dir, 0, pe_q0(VTD_PGTT_SS, d.e.ss) | VTD_PE_Q0_FPD, DID, 0);
	g_pe(&d.e.g, d.e.dir, PASID, pe_q0(VTD_PGTT_FS, 0) | VTD_PE_Q0_FPD, DID, d.e.fs);
	pte[0] = g_entry_pa(&d.e.g, d.e.ss, 4, IOVA, 1);
	pte[1] = g_entry_pa(&d.e.g, d.e.fs, 4, IOVA, 1);
	g_wr(&d.e.g, pte[0], 0);
	g_wr(&d.e.g, pte[1], 0);
	for (unsigned p = 0; p < NPAGES; p++)
		refill(&d, DATA + p * 4096, 0, MAGIC_FREE);
	for (unsigned i = 0; i < NDEV; i++) {
		da[i] = (struct dev_arg){&d, i};
		CHECK_EQ(pthread_create(&t[i], NULL, device, &da[i]), 0);
	}
	for (unsigned r = 0; r < ROUNDS; r++) {
		unsigned s = r % 2; /* second stage (type 2 with DR/DW), first stage (type 6) */
		uint64_t pa = DATA + (r % NPAGES) * 4096;

		/* Give the page to the device: contents first, then the mapping. */
		if (!refill(&d, pa, MAGIC_FREE, MAGIC_MAP + r))
			late_writes++;
		publish(&d, pte[s], pa | (s ? FS_TBL | VTD_FL_A | VTD_FL_D : VTD_SL_R | VTD_SL_W));
		for (unsigned k = 0; k < 3; k++)
			sched_yield();
		/* Take it back: unmap, invalidate and wait; then the page is someone
		 * else's, which writes it at once. */
		publish(&d, pte[s], 0);
		invalidate_now(&d.e, s ? INV_PIOTLB : INV_IOTLB_DRDW);
		incomplete += !completed(&d.e, s ? INV_PIOTLB : INV_IOTLB_DRDW);
		for (uint64_t off = 0; off < 4096; off += 8)
			mem_write64(d.e.g.m, pa + off, MAGIC_FREE);
	}
	__atomic_store_n(&d.stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < NDEV; i++)
		pthread_join(t[i], NULL);
	for (unsigned p = 0; p < NPAGES; p++)
		if (!refill(&d, DATA + p * 4096, MAGIC_FREE, 0))
			late_writes++;
	printf("  %lu DMAs in %u rounds: %lu late reads, %u late writes, %lu errors\n", d.dmas,
	       ROUNDS, d.late, late_writes, d.errors);
	CHECK_EQ(incomplete, 0);
	CHECK_EQ(d.late, 0);
	CHECK_EQ(late_writes, 0);
	CHECK_EQ(d.errors, 0);
	CHECK(d.dmas > ROUNDS);
	CHECK_EQ(inv_stats(&d.e).drains, ROUNDS);
	CHECK_EQ(inv_stats(&d.e).drain_timeouts, 0);
	for (unsigned i = 0; i < NDEV; i++)
		pci_endpoint_destroy(d.ep[i]);
	g_fini(&d.e.g);
}

int main(void)
{
	RUN(test_wait_drains_untranslated);
	RUN(test_wait_drains_translated);
	RUN(test_iotlb_reg_drains);
	RUN(test_no_drain_without_dr_dw);
	RUN(test_drain_at_next_wait);
	RUN(test_drain_timeout);
	RUN(test_own_requests);
	RUN(test_thread_exit);
	RUN(test_done_bad_input);
	RUN(test_reset_while_draining);
	RUN(test_dma_reuse_mt);
	return CHECK_DONE();
}
