// SPDX-License-Identifier: MIT
/*
 * Queued invalidation under concurrency (run under ThreadSanitizer by `make test`): two
 * ATS endpoints doing DMA from their own threads while two CPU threads submit batches of
 * invalidations - device-TLB ones that reach the endpoints' ATCs, IOTLB, PASID-cache and
 * context-cache ones, each batch closed by a wait - through one queue guarded by the
 * driver's lock, and another thread reads registers and counters. The mappings never
 * change, so every DMA must succeed with the right data however the invalidations fall;
 * every wait must have completed when its IQT write returns; no error bit may be set.
 */
#include "check.h"
#include "vtd_guest.h"

#include <pthread.h>
#include <sched.h>

#define DID	  7u
#define PASID	  9u
#define DATA	  0x100000000ull
#define NDEV	  2
#define DMAS	  20000
#define BATCHES	  5000
#define SUBMIT	  2
#define PER_BATCH 6 /* descriptors in a batch, the wait included */

struct env {
	struct guest g;
	struct pci_endpoint *ep[NDEV];
	uint64_t iq, st;
	uint64_t tail;
	pthread_mutex_t qlock; /* the driver's queue lock */
	int stop;
	unsigned dma_errors, dma_retry_limit, wait_errors;
	int first_error; /* the first DMA failure: its errno, or 1 for wrong data */
};

static uint16_t rid_of(unsigned i)
{
	return PCI_RID(2, 3 + i, 0);
}

static uint64_t pe_q0(unsigned pgtt, uint64_t slptptr)
{
	return VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, pgtt) | VTD_SET(VTD_PE_Q0_AW, 2) | slptptr;
}

/* Device i: page i*2 MiB (second stage, no PASID) and, with PASID 9, the same first stage. */
static int add_device(struct env *e, unsigned i)
{
	struct pci_endpoint_config ec = {0};
	struct pci_ats_port port;
	uint64_t dir = g_sm_ctx(&e->g, rid_of(i), VTD_SCE_Q0_PASIDE | VTD_SCE_Q0_DTE, 7);
	uint64_t ss = g_page(&e->g), fs = g_page(&e->g), va = 0x1000 * (i + 1);

	g_pe(&e->g, dir, 0, pe_q0(VTD_PGTT_SS, ss), DID, 0);
	g_pe(&e->g, dir, PASID, pe_q0(VTD_PGTT_FS, 0), DID, fs);
	g_map(&e->g, ss, 4, va, DATA + (i << 21), 12, SS_TBL, VTD_SL_R | VTD_SL_W, 0);
	g_map(&e->g, fs, 4, va, DATA + (i << 21) + 0x1000, 12, FS_TBL, FS_TBL, 0);
	ec.rid = rid_of(i);
	ec.pasid_width = 20;
	ec.pasid_enable = true;
	ec.ats = ec.ats_enable = true;
	ec.atc_sets = 4;
	ec.atc_ways = 2;
	ec.agent = vtd_translation_agent(e->g.vtd);
	ec.mem = e->g.m;
	if (pci_endpoint_create(&ec, &e->ep[i]))
		return -1;
	port = pci_endpoint_ats_port(e->ep[i]);
	return vtd_connect_ats(e->g.vtd, rid_of(i), &port);
}

static int env_init(struct env *e)
{
	struct vtd_config c;
	uint32_t gsts;

	memset(e, 0, sizeof(*e));
	vtd_config_default(&c);
	if (g_init(&e->g, &c, true) || pthread_mutex_init(&e->qlock, NULL))
		return -1;
	for (unsigned i = 0; i < NDEV; i++)
		if (add_device(e, i))
			return -1;
	e->iq = g_page(&e->g);
	e->st = g_page(&e->g);
	g_mmio_wr(&e->g, VTD_REG_IQA, 8, e->iq | VTD_IQA_DW);
	gsts = (uint32_t)g_mmio_rd(&e->g, VTD_REG_GSTS, 4) & VTD_GSTS_PERSISTENT_MASK;
	g_mmio_wr(&e->g, VTD_REG_GCMD, 4, gsts | VTD_GCMD_QIE);
	return 0;
}

static void put(struct env *e, uint64_t q0, uint64_t q1)
{
	g_wr(&e->g, e->iq + e->tail, q0);
	g_wr(&e->g, e->iq + e->tail + 8, q1);
	g_wr(&e->g, e->iq + e->tail + 16, 0);
	g_wr(&e->g, e->iq + e->tail + 24, 0);
	e->tail = (e->tail + 32) % 4096;
}

/* One batch, as a driver's flush does it: invalidations, then a wait it polls. */
static void batch(struct env *e, unsigned who, uint32_t n)
{
	uint64_t status = e->st + 4 * who;
	uint32_t got = 0;

	pthread_mutex_lock(&e->qlock);
	put(e,
	    VTD_INV_IOTLB | VTD_SET(VTD_INV_IOTLB_G, VTD_IOTLB_GRAN_DOMAIN) |
		VTD_SET(VTD_INV_IOTLB_DID, DID),
	    0);
	put(e,
	    VTD_INV_PIOTLB | VTD_SET(VTD_INV_PIOTLB_G, VTD_INV_PIOTLB_G_PASID) |
		VTD_SET(VTD_INV_PIOTLB_DID, DID) | VTD_SET(VTD_INV_PIOTLB_PASID, PASID),
	    0);
	put(e,
	    VTD_INV_PC | VTD_SET(VTD_INV_PC_G, VTD_INV_PC_G_PASID) | VTD_SET(VTD_INV_PC_DID, DID) |
		VTD_SET(VTD_INV_PC_PASID, PASID),
	    0);
	put(e, VTD_INV_DEVTLB | VTD_SET(VTD_INV_DEVTLB_SID, rid_of(n % NDEV)),
	    0x7ffffffffffff001ull);
	put(e,
	    VTD_INV_PDEVTLB | VTD_SET(VTD_INV_PDEVTLB_SID, rid_of((n + 1) % NDEV)) |
		VTD_SET(VTD_INV_PDEVTLB_PASID, PASID),
	    0x7ffffffffffff000ull | VTD_INV_PDEVTLB_S);
	put(e, VTD_INV_WAIT | VTD_INV_WAIT_SW | VTD_SET(VTD_INV_WAIT_STDATA, n), status);
	g_mmio_wr(&e->g, VTD_REG_IQT, 8, e->tail);
	pthread_mutex_unlock(&e->qlock);
	mem_read32(e->g.m, status, &got);
	if (got != n)
		__atomic_fetch_add(&e->wait_errors, 1, __ATOMIC_RELAXED);
}

struct dev_arg {
	struct env *e;
	unsigned i;
};

static void *device_thread(void *p)
{
	struct dev_arg *a = p;
	struct env *e = a->e;
	uint64_t va = 0x1000 * (a->i + 1);

	for (uint32_t k = 0; k < DMAS; k++) {
		uint32_t v = k * 2 + a->i, back = ~v;
		unsigned flags = (k & 1) ? PCI_DMA_PASID : 0;
		int rw = pci_endpoint_dma_write(e->ep[a->i], flags, PASID, va, &v, 4, NULL);
		int rr = pci_endpoint_dma_read(e->ep[a->i], flags, PASID, va, &back, 4, NULL);

		/* -EAGAIN: invalidations raced with this page's translation too many times in a
		 * row (PCI_EP_RETRY_LIMIT) - the endpoint's documented way out, not an error of
		 * the unit. Anything else, or wrong data, is. */
		if (rw == -EAGAIN || rr == -EAGAIN)
			__atomic_fetch_add(&e->dma_retry_limit, 1, __ATOMIC_RELAXED);
		else if (rw || rr || back != v) {
			int zero = 0, what = rw ? rw : rr ? rr : 1; /* 1: wrong data */

			__atomic_compare_exchange_n(&e->first_error, &zero, what, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
			__atomic_fetch_add(&e->dma_errors, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

struct cpu_arg {
	struct env *e;
	unsigned who;
};

static void *submit_thread(void *p)
{
	struct cpu_arg *a = p;

	for (uint32_t n = 1; n <= BATCHES; n++) {
		batch(a->e, a->who, n * SUBMIT + a->who);
		if (n % 4 == 0)
			sched_yield(); /* a driver flushes between other work */
	}
	return NULL;
}

static void *reader_thread(void *p)
{
	struct env *e = p;
	struct vtd_stats st;

	while (!__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE)) {
		vtd_get_stats(e->g.vtd, &st);
		g_mmio_rd(&e->g, VTD_REG_IQH, 8);
		g_mmio_rd(&e->g, VTD_REG_FSTS, 4);
	}
	return NULL;
}

static void test_concurrent_invalidation(void)
{
	struct env e;
	pthread_t dev[NDEV], cpu[SUBMIT], reader;
	struct dev_arg da[NDEV];
	struct cpu_arg ca[SUBMIT];
	struct vtd_stats st;
	uint64_t inv = 0;

	CHECK_EQ(env_init(&e), 0);
	CHECK_EQ(pthread_create(&reader, NULL, reader_thread, &e), 0);
	for (unsigned i = 0; i < NDEV; i++) {
		da[i] = (struct dev_arg){&e, i};
		CHECK_EQ(pthread_create(&dev[i], NULL, device_thread, &da[i]), 0);
	}
	for (unsigned i = 0; i < SUBMIT; i++) {
		ca[i] = (struct cpu_arg){&e, i};
		CHECK_EQ(pthread_create(&cpu[i], NULL, submit_thread, &ca[i]), 0);
	}
	for (unsigned i = 0; i < SUBMIT; i++)
		pthread_join(cpu[i], NULL);
	for (unsigned i = 0; i < NDEV; i++)
		pthread_join(dev[i], NULL);
	__atomic_store_n(&e.stop, 1, __ATOMIC_RELEASE);
	pthread_join(reader, NULL);

	printf("DMA given up after racing invalidations (-EAGAIN): %u of %u; first other "
	       "failure %d\n",
	       e.dma_retry_limit, NDEV * DMAS, e.first_error);
	CHECK_EQ(e.dma_errors, 0);
	CHECK(e.dma_retry_limit < NDEV * DMAS / 10);
	CHECK_EQ(e.wait_errors, 0);
	CHECK_EQ(g_mmio_rd(&e.g, VTD_REG_FSTS, 4), 0);
	CHECK_EQ(g_mmio_rd(&e.g, VTD_REG_IQH, 8), g_mmio_rd(&e.g, VTD_REG_IQT, 8));
	CHECK_EQ(vtd_get_stats(e.g.vtd, &st), 0);
	CHECK_EQ(st.inv.descriptors, (uint64_t)SUBMIT * BATCHES * PER_BATCH);
	CHECK_EQ(st.inv.wait, (uint64_t)SUBMIT * BATCHES);
	CHECK_EQ(st.inv.devtlb + st.inv.pdevtlb, 2ull * SUBMIT * BATCHES);
	for (unsigned i = 0; i < NDEV; i++) {
		struct pci_endpoint_stats es;

		CHECK_EQ(pci_endpoint_get_stats(e.ep[i], &es), 0);
		inv += es.invalidations;
		CHECK(es.misses > 0);
	}
	CHECK_EQ(inv, 2ull * SUBMIT * BATCHES);
	for (unsigned i = 0; i < NDEV; i++)
		pci_endpoint_destroy(e.ep[i]);
	pthread_mutex_destroy(&e.qlock);
	g_fini(&e.g);
}

int main(void)
{
	RUN(test_concurrent_invalidation);
	return CHECK_DONE();
}
