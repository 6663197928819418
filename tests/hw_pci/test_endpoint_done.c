// SPDX-License-Identifier: MIT
/*
 * The endpoint tells the translation agent when the access of each request it counted in
 * flight is over (struct pci_translation_agent.done, include/softiommu/pci.h): exactly once,
 * from the translating thread, on every path - untranslated and translated requests, the
 * request memo's fast paths, copies, and the ways a request ends without its access (a
 * memory error, an invalidation racing with it, the other side of a copy refused). The
 * fake agent marks every PCI_SC completion of an untranslated or translated request and
 * counts done() calls; after each DMA nothing may be left in flight.
 */
#include "check.h"
#include "fake_agent.h"

#include <softiommu/mem.h>
#include <softiommu/pci.h>

#define MiB  (1024 * 1024ull)
#define MEM  (64 * MiB)
#define IOVA 0x40000000ull
#define DST  0x50000000ull
#define PA   0x01000000ull
#define DPA  0x02000000ull
#define FAR  (MEM + 0x100000ull) /* beyond memory: the access fails */

static struct fake_agent fa;
static struct mem *mem;
static struct pci_endpoint *ep;
static uint8_t buf[3 * 4096];

static void setup(bool ats)
{
	struct pci_endpoint_config cfg;

	fake_init(&fa);
	mem = mem_create_sparse(MEM);
	if (!mem)
		abort();
	cfg = fake_ep_config(&fa, mem);
	cfg.ats = cfg.ats_enable = ats;
	cfg.atc_sets = ats ? 16 : 0;
	cfg.atc_ways = ats ? 4 : 0;
	if (pci_endpoint_create(&cfg, &ep))
		abort();
	fake_map(&fa, true, 1, IOVA, 16 * 4096, PA, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, true, 1, DST, 16 * 4096, DPA, PCI_PERM_R | PCI_PERM_W);
}

static void teardown(void)
{
	pci_endpoint_destroy(ep);
	mem_destroy(mem);
	fake_fini(&fa); /* aborts on anything left in flight */
}

/* Every request marked in flight got its done(); `n` were marked since `before`. */
#define CHECK_SETTLED(before, n)                                                                   \
	do {                                                                                       \
		CHECK_EQ(fake_inflight(&fa), 0);                                                   \
		CHECK_EQ(fa.marked - (before), (n));                                               \
		CHECK_EQ(fake_tl_inflight, 0);                                                     \
	} while (0)

static void test_untranslated(void)
{
	struct pci_dma_status st;
	unsigned long m0;

	setup(false);
	m0 = fa.marked;
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 1, IOVA + 100, buf, sizeof(buf), NULL),
		 0);
	CHECK_SETTLED(m0, 4); /* four 4 KiB requests */
	m0 = fa.marked;
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 1, IOVA, buf, 8, NULL), 0);
	CHECK_SETTLED(m0, 1);
	/* Refused: nothing in flight, no done(). */
	m0 = fa.marked;
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 1, IOVA + 16 * 4096, buf, 8, &st),
		 -EFAULT);
	CHECK_SETTLED(m0, 0);
	/* Translated, then memory refuses the access: done() all the same. */
	fake_map(&fa, true, 1, IOVA + 32 * 4096, 4096, FAR, PCI_PERM_R | PCI_PERM_W);
	m0 = fa.marked;
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 1, IOVA + 32 * 4096, buf, 8, &st), -EIO);
	CHECK_SETTLED(m0, 1);
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 1, IOVA + 32 * 4096, buf, 8, &st), -EIO);
	CHECK_SETTLED(m0, 2);
	teardown();
}

static void test_translated(void)
{
	struct pci_dma_status st;
	unsigned long m0;

	setup(true);
	/* The general path (ATC miss, translation request, translated request), then the
	 * memo's fast path for the same page. */
	for (unsigned i = 0; i < 3; i++) {
		m0 = fa.marked;
		CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 1, IOVA + 8, buf, 64, NULL), 0);
		CHECK_SETTLED(m0, 1); /* the translation request is not counted */
	}
	m0 = fa.marked;
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 1, IOVA + 4000, buf, 3 * 4096, NULL), 0);
	CHECK_SETTLED(m0, 4);
	/* The translated request refused: no done(). */
	fa.block_translated = true;
	m0 = fa.marked;
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 1, IOVA + 8, buf, 64, &st), -EFAULT);
	CHECK_SETTLED(m0, 0);
	fa.block_translated = false;
	/* Memory refuses the access, through the memo and through the general path. */
	fake_map(&fa, true, 1, IOVA + 32 * 4096, 4096, FAR, PCI_PERM_R | PCI_PERM_W);
	for (unsigned i = 0; i < 2; i++) {
		m0 = fa.marked;
		CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 1, IOVA + 32 * 4096, buf, 8, &st),
			 -EIO);
		CHECK_SETTLED(m0, 1);
	}
	teardown();
}

/* An ATS invalidation of the page that arrives while its translated request is out (the
 * hook runs at the start of translate()): the access does not happen, the request is
 * repeated, and both requests get their done(). */
struct race {
	struct pci_ats_port port;
	int left;
};

static void invalidate_once(void *ctx, const struct pci_req *req)
{
	struct race *r = ctx;
	struct pci_ats_inv inv = {.addr = IOVA,
				  .size = 16 * 4096,
				  .pasid = 1,
				  .rid = PCI_RID(1, 0, 0),
				  .has_pasid = true};

	if (req->at == PCI_AT_TRANSLATED && r->left > 0) {
		r->left--;
		r->port.invalidate(r->port.ctx, &inv);
	}
}

static void test_raced_invalidation(void)
{
	struct race r;
	unsigned long m0;

	setup(true);
	r = (struct race){.port = pci_endpoint_ats_port(ep)};
	fa.hook = invalidate_once;
	fa.hook_ctx = &r;
	/* The general path first (the memo is empty), then the memo's fast path, then a
	 * copy through both sides' memo runs. */
	for (unsigned i = 0; i < 2; i++) {
		struct pci_endpoint_stats s0, s1;

		pci_endpoint_get_stats(ep, &s0);
		r.left = 1;
		m0 = fa.marked;
		CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 1, IOVA + 8, buf, 64, NULL), 0);
		pci_endpoint_get_stats(ep, &s1);
		CHECK(s1.retries > s0.retries);
		CHECK(fa.marked - m0 >= 2);
		CHECK_SETTLED(m0, fa.marked - m0);
	}
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, IOVA, 4096, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, IOVA, 4096, NULL), 0);
	r.left = 1;
	m0 = fa.marked;
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, IOVA, 4096, NULL), 0);
	CHECK(fa.marked - m0 >= 3);
	CHECK_SETTLED(m0, fa.marked - m0);
	fa.hook = NULL;
	teardown();
}

/* The fake refuses translated writes (the hook runs before it answers). */
static void refuse_writes(void *ctx, const struct pci_req *req)
{
	(void)ctx;
	fa.block_translated = req->at == PCI_AT_TRANSLATED && (req->flags & PCI_REQ_WRITE);
}

/* Copies: both sides counted; when one side is refused or memory refuses the copy, the
 * other side's request still gets its done(). */
static void copy_case(bool ats)
{
	struct pci_dma_status st;
	unsigned long m0;

	setup(ats);
	for (unsigned i = 0; i < 2; i++) { /* general path, then (with ATS) the memo's */
		m0 = fa.marked;
		CHECK_EQ(
		    pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST + 16, IOVA + 16, 8192, NULL),
		    0);
		CHECK_EQ(fake_inflight(&fa), 0);
		CHECK(fa.marked - m0 >= 2);
	}
	/* The destination refused after the source was translated: without ATS its
	 * untranslated request, with ATS its translated request. */
	m0 = fa.marked;
	if (ats) {
		fa.hook = refuse_writes;
		CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, IOVA, 4096, &st),
			 -EFAULT);
		fa.hook = NULL;
		fa.block_translated = false;
	} else {
		CHECK_EQ(
		    pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST + 16 * 4096, IOVA, 4096, &st),
		    -EFAULT);
	}
	CHECK(st.write);
	CHECK_SETTLED(m0, 1);
	/* The source refused: nothing counted. */
	m0 = fa.marked;
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, IOVA + 16 * 4096, 4096, &st),
		 -EFAULT);
	CHECK_SETTLED(m0, 0);
	/* Both translated, memory refuses the source, then the destination. */
	fake_map(&fa, true, 1, IOVA + 32 * 4096, 4096, FAR, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, true, 1, DST + 32 * 4096, 4096, FAR, PCI_PERM_R | PCI_PERM_W);
	for (unsigned i = 0; i < 2; i++) {
		m0 = fa.marked;
		CHECK_EQ(
		    pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, IOVA + 32 * 4096, 4096, &st),
		    -EIO);
		CHECK(!st.write);
		CHECK_SETTLED(m0, 2);
		m0 = fa.marked;
		CHECK_EQ(
		    pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST + 32 * 4096, IOVA, 4096, &st),
		    -EIO);
		CHECK(st.write);
		CHECK_SETTLED(m0, 2);
	}
	teardown();
}

static void test_copy(void)
{
	copy_case(false);
	copy_case(true);
}

/* The fake refuses translated requests to the record's page (REC's). */
#define REC (DST + 8 * 4096)

static void refuse_record(void *ctx, const struct pci_req *req)
{
	(void)ctx;
	fa.block_translated =
	    req->at == PCI_AT_TRANSLATED && (req->addr & ~0xfffull) == DPA + 8 * 4096;
}

/* A copy and a write (pci_endpoint_dma_copy_write): every request settled - done, a side
 * refused, the write refused, an invalidation racing with them. */
static void test_copy_write(void)
{
	static const uint64_t rec[4] = {1, 2, 3, 4};
	struct race r;
	unsigned long m0;
	int wret;

	setup(true);
	for (unsigned i = 0; i < 3; i++) { /* general path, then the memo's */
		m0 = fa.marked;
		CHECK_EQ(pci_endpoint_dma_copy_write(ep, PCI_DMA_PASID, 1, DST, IOVA, 8192, NULL,
						     REC, rec, sizeof(rec), &wret, NULL),
			 0);
		CHECK_EQ(wret, 0);
		CHECK_SETTLED(m0, 3);
	}
	/* The destination refused (and so would the record be): only the source counted. */
	m0 = fa.marked;
	fa.hook = refuse_writes;
	CHECK_EQ(pci_endpoint_dma_copy_write(ep, PCI_DMA_PASID, 1, DST, IOVA, 8192, NULL, REC, rec,
					     sizeof(rec), &wret, NULL),
		 -EFAULT);
	CHECK_SETTLED(m0, 1);
	/* The record refused: the copy's two. */
	fa.hook = refuse_record;
	m0 = fa.marked;
	CHECK_EQ(pci_endpoint_dma_copy_write(ep, PCI_DMA_PASID, 1, DST, IOVA, 8192, NULL, REC, rec,
					     sizeof(rec), &wret, NULL),
		 0);
	CHECK_EQ(wret, -EFAULT);
	CHECK_SETTLED(m0, 2);
	fa.block_translated = false;
	/* An invalidation racing with the first request: done() for those sent before the
	 * race was seen and for those the general paths send again. */
	r = (struct race){.port = pci_endpoint_ats_port(ep), .left = 1};
	fa.hook = invalidate_once;
	fa.hook_ctx = &r;
	CHECK_EQ(pci_endpoint_dma_copy_write(ep, PCI_DMA_PASID, 1, DST, IOVA, 8192, NULL, REC, rec,
					     sizeof(rec), &wret, NULL),
		 0);
	m0 = fa.marked;
	r.left = 1;
	CHECK_EQ(pci_endpoint_dma_copy_write(ep, PCI_DMA_PASID, 1, DST, IOVA, 8192, NULL, REC, rec,
					     sizeof(rec), &wret, NULL),
		 0);
	CHECK_EQ(wret, 0);
	CHECK(fa.marked - m0 >= 4);
	CHECK_SETTLED(m0, fa.marked - m0);
	fa.hook = NULL;
	teardown();
}

/* An agent without done() (it counts nothing) works as before. */
static int plain_translate(void *ctx, const struct pci_req *req, struct pci_resp *resp)
{
	(void)ctx;
	*resp = (struct pci_resp){.addr = req->addr - IOVA + PA, .page_size = 4096};
	return 0;
}

static void test_agent_without_done(void)
{
	struct pci_endpoint_config cfg = {.rid = PCI_RID(1, 0, 0),
					  .agent = {.translate = plain_translate}};
	struct pci_endpoint *e;
	struct mem *m = mem_create_sparse(MEM);

	CHECK(m != NULL);
	cfg.mem = m;
	CHECK_EQ(pci_endpoint_create(&cfg, &e), 0);
	CHECK_EQ(pci_endpoint_dma_write(e, 0, 0, IOVA + 8, buf, 64, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_copy(e, 0, 0, IOVA + 8192, IOVA, 64, NULL), 0);
	pci_endpoint_destroy(e);
	mem_destroy(m);
}

int main(void)
{
	RUN(test_untranslated);
	RUN(test_translated);
	RUN(test_raced_invalidation);
	RUN(test_copy);
	RUN(test_copy_write);
	RUN(test_agent_without_done);
	return CHECK_DONE();
}
