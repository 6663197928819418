// SPDX-License-Identifier: MIT
/*
 * Request memos (a thread's last ATC runs, src/hw/pci/memo.c) and the fast paths that use
 * them: a repeated request skips the lookup but still sends its translated request and
 * counts what the general path counts; after an invalidation, a remap, a feature being
 * disabled, check mode or a new endpoint, nothing is served from a memo and no translated
 * request carries an address the invalidation removed; the fast paths' failures (a refused
 * translated request, memory outside the range, on either side of a copy) are reported as
 * the general path reports them. The endpoint tests' fake agent plays the IOMMU.
 */
#include "check.h"
#include "fake_agent.h"

#include <softiommu/mem.h>
#include <softiommu/pci.h>

#define KiB   1024ull
#define MiB   (1024 * KiB)
#define RID   PCI_RID(1, 0, 0)
#define MEMSZ (255 * MiB) /* not a multiple of 2 MiB: a 2 MiB page can reach past the end */

static struct fake_agent fa;
static struct mem *mem;
static struct pci_endpoint *ep;

/* AT=2 requests the agent saw for one physical page (counted by the hook). */
static uint64_t watch_pa;
static unsigned watch_hits;

static void on_request(void *ctx, const struct pci_req *req)
{
	(void)ctx;
	if (req->at == PCI_AT_TRANSLATED && (req->addr & ~0xfffull) == watch_pa)
		__atomic_add_fetch(&watch_hits, 1, __ATOMIC_RELAXED);
}

static void setup(void)
{
	struct pci_endpoint_config cfg;

	fake_init(&fa);
	fa.hook = on_request;
	watch_pa = ~0ull;
	watch_hits = 0;
	mem = mem_create_sparse(MEMSZ);
	if (!mem)
		abort();
	cfg = fake_ep_config(&fa, mem);
	if (pci_endpoint_create(&cfg, &ep))
		abort();
}

static void teardown(void)
{
	pci_endpoint_destroy(ep);
	ep = NULL;
	mem_destroy(mem);
	fake_fini(&fa);
}

#define RUN_EP(fn)                                                                                 \
	do {                                                                                       \
		setup();                                                                           \
		RUN(fn);                                                                           \
		teardown();                                                                        \
	} while (0)

static struct pci_endpoint_stats stats(void)
{
	struct pci_endpoint_stats s;

	if (pci_endpoint_get_stats(ep, &s))
		abort();
	return s;
}

static int invalidate(bool has_pasid, uint32_t pasid, uint64_t addr, uint64_t size)
{
	struct pci_ats_port port = pci_endpoint_ats_port(ep);
	struct pci_ats_inv inv = {
	    .addr = addr, .size = size, .rid = RID, .has_pasid = has_pasid, .pasid = pasid};

	return port.invalidate(port.ctx, &inv);
}

static uint64_t rd64(uint64_t pa)
{
	uint64_t v = 0;

	if (mem_read64(mem, pa, &v))
		abort();
	return v;
}

/* A repeated small DMA: no lookup, no translation request, one hit and one translated
 * request each, as the general path counts them. */
static void test_repeat_counts_like_a_hit(void)
{
	uint64_t v = 0x1122334455667788ull, got = 0;
	struct pci_endpoint_stats s0, s1;
	struct pci_dma_status st;

	fake_map(&fa, true, 5, 0x7000, 4096, 0x30000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 5, 0x7010, &v, 8, &st), 0);
	s0 = stats();
	CHECK_EQ(s0.misses, 1);
	for (int i = 0; i < 10; i++) {
		v++;
		CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 5, 0x7010, &v, 8, &st), 0);
		CHECK_EQ(st.done, 8);
		CHECK_EQ(rd64(0x30010), v);
	}
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 5, 0x7010, &got, 8, &st), 0);
	CHECK_EQ(got, v);
	s1 = stats();
	CHECK_EQ(s1.misses, 1); /* the read has no memo yet: a lookup, which hits */
	CHECK_EQ(s1.translation_requests, s0.translation_requests);
	CHECK_EQ(s1.translated_requests - s0.translated_requests, 11);
	CHECK_EQ(s1.hits - s0.hits, 11);
	CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATION), 1);
}

/* Invalidated and remapped: the next DMA lands at the new address, and no translated
 * request goes out with the old one. */
static void test_invalidation_ends_the_memo(void)
{
	uint64_t v = 7;

	fake_map(&fa, true, 5, 0x7000, 4096, 0x30000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 5, 0x7000, &v, 8, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 5, 0x7000, &v, 8, NULL), 0);
	fake_map(&fa, true, 5, 0x7000, 4096, 0x40000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(invalidate(true, 5, 0x7000, 4096), 0);
	watch_pa = 0x30000;
	v = 8;
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 5, 0x7000, &v, 8, NULL), 0);
	CHECK_EQ(rd64(0x40000), 8);
	CHECK_EQ(rd64(0x30000), 7);
	CHECK_EQ(watch_hits, 0);
	CHECK_EQ(stats().misses, 2);
	/* The same for a copy: both sides invalidated (a global request), remapped. */
	fake_map(&fa, true, 5, 0x10000, 64 * KiB, 0x100000, PCI_PERM_R);
	fake_map(&fa, true, 5, 0x20000, 64 * KiB, 0x200000, PCI_PERM_W);
	CHECK_EQ(mem_fill(mem, 0x100000, 0x5a, 64 * KiB), 0);
	CHECK_EQ(mem_fill(mem, 0x110000, 0x6b, 64 * KiB), 0);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 5, 0x20000, 0x10000, 64 * KiB, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 5, 0x20000, 0x10000, 64 * KiB, NULL), 0);
	CHECK_EQ(rd64(0x200000 + 8), 0x5a5a5a5a5a5a5a5aull);
	fake_map(&fa, true, 5, 0x10000, 64 * KiB, 0x110000, PCI_PERM_R);
	fake_map(&fa, true, 5, 0x20000, 64 * KiB, 0x210000, PCI_PERM_W);
	CHECK_EQ(invalidate(true, 5, 0, 0), 0);
	watch_pa = 0x100000;
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 5, 0x20000, 0x10000, 64 * KiB, NULL), 0);
	CHECK_EQ(rd64(0x210000 + 8), 0x6b6b6b6b6b6b6b6bull);
	CHECK_EQ(watch_hits, 0);
}

/* Only the side that was invalidated is looked up again; the copy is right. */
static void test_copy_one_side_invalidated(void)
{
	fake_map(&fa, false, 0, 0x10000, 64 * KiB, 0x100000, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, false, 0, 0x20000, 64 * KiB, 0x200000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(mem_fill(mem, 0x100000, 0x11, 64 * KiB), 0);
	CHECK_EQ(pci_endpoint_dma_copy(ep, 0, 0, 0x20000, 0x10000, 64 * KiB, NULL), 0);
	fake_map(&fa, false, 0, 0x20000, 64 * KiB, 0x300000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(invalidate(false, 0, 0x20000, 64 * KiB), 0);
	CHECK_EQ(mem_fill(mem, 0x100000, 0x22, 64 * KiB), 0);
	CHECK_EQ(pci_endpoint_dma_copy(ep, 0, 0, 0x20000, 0x10000, 64 * KiB, NULL), 0);
	CHECK_EQ(rd64(0x300000 + 64 * KiB - 8), 0x2222222222222222ull);
	CHECK_EQ(rd64(0x200000), 0x1111111111111111ull);
	CHECK_EQ(stats().misses, 3);
}

struct reports {
	int n;
};

static void on_mismatch(void *ctx, const struct pci_atc_mismatch *m)
{
	(void)m;
	((struct reports *)ctx)->n++;
}

/* Check mode turned on after a memo was made: the next DMA is checked (and reported, the
 * IOMMU having remapped without invalidating). */
static void test_check_mode_skips_the_memo(void)
{
	struct pci_translation_agent ref = fake_as_agent(&fa);
	struct reports r = {0};
	uint64_t v = 1;

	fake_map(&fa, false, 0, 0x7000, 4096, 0x30000, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, false, 0, 0x10000, 64 * KiB, 0x100000, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, false, 0, 0x20000, 64 * KiB, 0x200000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x7000, &v, 8, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_copy(ep, 0, 0, 0x20000, 0x10000, 4096, NULL), 0);
	fake_map(&fa, false, 0, 0x7000, 4096, 0x40000, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, false, 0, 0x10000, 64 * KiB, 0x140000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_set_checker(ep, &ref, on_mismatch, &r), 0);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x7000, &v, 8, NULL), 0);
	CHECK_EQ(r.n, 1);
	CHECK_EQ(pci_endpoint_dma_copy(ep, 0, 0, 0x20000, 0x10000, 4096, NULL), 0);
	CHECK_EQ(r.n, 2);
	CHECK_EQ(pci_endpoint_set_checker(ep, NULL, NULL, NULL), 0);
}

/* Features turned off after a memo was made. */
static void test_disabled_features(void)
{
	uint64_t v = 3;
	struct pci_dma_status st;

	fake_map(&fa, true, 5, 0x7000, 4096, 0x30000, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, false, 0, 0x7000, 4096, 0x50000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID | PCI_DMA_PRIV, 5, 0x7000, &v, 8, NULL),
		 0);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x7000, &v, 8, NULL), 0);
	/* Privileged mode off: a privileged request is refused. */
	CHECK_EQ(pci_endpoint_pasid_enable(ep, true, false), 0);
	v = 4;
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID | PCI_DMA_PRIV, 5, 0x7000, &v, 8, &st),
		 -EOPNOTSUPP);
	CHECK_EQ(rd64(0x30000), 3);
	/* PASID off: requests with a PASID are refused. */
	CHECK_EQ(pci_endpoint_pasid_disable(ep), 0);
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 5, 0x7000, &v, 8, &st), -EOPNOTSUPP);
	CHECK_EQ(rd64(0x30000), 3);
	/* ATS off: untranslated requests, not the memo. */
	unsigned at0 = fake_count(&fa, PCI_AT_UNTRANSLATED);
	CHECK_EQ(pci_endpoint_ats_disable(ep), 0);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x7000, &v, 8, NULL), 0);
	CHECK_EQ(fake_count(&fa, PCI_AT_UNTRANSLATED), at0 + 1);
	CHECK_EQ(rd64(0x50000), 4);
	/* Removed: nothing at all. */
	CHECK_EQ(pci_endpoint_ats_enable(ep, 0), 0);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x7000, &v, 8, NULL), 0);
	CHECK_EQ(pci_endpoint_set_state(ep, PCI_EP_REMOVED), 0);
	v = 5;
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x7000, &v, 8, NULL), -ENODEV);
	CHECK_EQ(rd64(0x50000), 4);
}

/* A memo belongs to its endpoint: a new endpoint (maybe at the old one's address) starts
 * with its own empty ATC. */
static void test_new_endpoint_has_no_memo(void)
{
	struct pci_endpoint_config cfg = fake_ep_config(&fa, mem);
	uint64_t v = 9;

	fake_map(&fa, false, 0, 0x7000, 4096, 0x30000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x7000, &v, 8, NULL), 0);
	for (int i = 0; i < 4; i++) {
		pci_endpoint_destroy(ep);
		fake_map(&fa, false, 0, 0x7000, 4096, 0x40000 + i * 4096ull,
			 PCI_PERM_R | PCI_PERM_W);
		CHECK_EQ(pci_endpoint_create(&cfg, &ep), 0);
		v = 10 + (uint64_t)i;
		CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x7000, &v, 8, NULL), 0);
		CHECK_EQ(rd64(0x40000 + i * 4096ull), v);
		CHECK_EQ(stats().misses, 1);
	}
}

/* The fast paths' failures read as the general path's (test_endpoint.c has those). */
static void test_fast_path_failures(void)
{
	struct pci_endpoint_stats s0;
	struct pci_dma_status st;
	uint64_t v = 1;

	fake_map(&fa, false, 0, 0x7000, 4096, 0x30000, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, false, 0, 0x10000, 64 * KiB, 0x100000, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, false, 0, 0x20000, 64 * KiB, 0x200000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x7000, &v, 8, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_copy(ep, 0, 0, 0x20000, 0x10000, 64 * KiB, NULL), 0);
	/* The IOMMU refuses translated requests. */
	fa.block_translated = true;
	s0 = stats();
	v = 2;
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x7008, &v, 8, &st), -EFAULT);
	CHECK_EQ(st.at, PCI_AT_TRANSLATED);
	CHECK_EQ(st.status, PCI_UR);
	CHECK_EQ(st.fault, FAKE_FAULT_ATS);
	CHECK_EQ(st.pa, 0x30008);
	CHECK_EQ(st.addr, 0x7008);
	CHECK_EQ(st.done, 0);
	CHECK(!st.write);
	CHECK_EQ(rd64(0x30008), 0);
	CHECK_EQ(stats().faults, s0.faults + 1);
	CHECK_EQ(pci_endpoint_dma_copy(ep, 0, 0, 0x20000, 0x10000, 64 * KiB, &st), -EFAULT);
	CHECK_EQ(st.at, PCI_AT_TRANSLATED);
	CHECK_EQ(st.status, PCI_UR);
	CHECK_EQ(st.addr, 0x10000);
	CHECK_EQ(st.pa, 0x100000);
	CHECK(!st.write);
	CHECK_EQ(stats().faults, s0.faults + 2);
	/* The agent's own error. */
	fa.block_translated = false;
	fa.force_err = -EINVAL;
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x7008, &v, 8, &st), -EINVAL);
	CHECK_EQ(st.at, PCI_AT_TRANSLATED);
	CHECK_EQ(stats().faults, s0.faults + 2);
	fa.force_err = 0;
	CHECK_EQ(stats().translated_requests, s0.translated_requests + 3);
	CHECK_EQ(stats().translation_requests, s0.translation_requests);
}

/* A 2 MiB translation that reaches past the end of memory: its first half works, so the
 * memo holds it; a DMA into the second half is -EIO from the fast path too. */
static void test_fast_path_outside_memory(void)
{
	uint64_t base = 254 * MiB, v = 5;
	struct pci_dma_status st;

	fake_map(&fa, false, 0, 0x40000000ull, 2 * MiB, base, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, false, 0, 0x50000000ull, 2 * MiB, 0x400000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x40000000ull, &v, 8, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x40000000ull + MiB + 8, &v, 8, &st), -EIO);
	CHECK_EQ(st.at, PCI_AT_TRANSLATED);
	CHECK_EQ(st.pa, base + MiB + 8);
	CHECK_EQ(st.addr, 0x40000000ull + MiB + 8);
	CHECK_EQ(st.done, 0);
	/* A copy: the read side inside, the write side outside, then the other way round. */
	CHECK_EQ(pci_endpoint_dma_copy(ep, 0, 0, 0x40000000ull, 0x50000000ull, 4096, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_copy(ep, 0, 0, 0x40000000ull + MiB, 0x50000000ull, 4096, &st),
		 -EIO);
	CHECK(st.write);
	CHECK_EQ(st.addr, 0x40000000ull + MiB);
	CHECK_EQ(st.pa, base + MiB);
	CHECK_EQ(st.at, PCI_AT_TRANSLATED);
	CHECK_EQ(pci_endpoint_dma_copy(ep, 0, 0, 0x50000000ull, 0x40000000ull + MiB, 4096, &st),
		 -EIO);
	CHECK(!st.write);
	CHECK_EQ(st.addr, 0x40000000ull + MiB);
	CHECK_EQ(st.done, 0);
}

/* Many pages and two endpoints at once: more runs than a thread remembers, data right. */
static void test_many_runs(void)
{
	struct pci_endpoint_config cfg = fake_ep_config(&fa, mem);
	struct pci_endpoint *ep2;
	uint64_t v;

	CHECK_EQ(pci_endpoint_create(&cfg, &ep2), 0);
	for (uint64_t i = 0; i < 32; i++)
		fake_map(&fa, false, 0, 0x100000 + i * 4096, 4096, 0x800000 + i * 8192,
			 PCI_PERM_R | PCI_PERM_W);
	for (int round = 0; round < 3; round++) {
		for (uint64_t i = 0; i < 32; i++) {
			struct pci_endpoint *e = (i & 1) ? ep2 : ep;

			v = i * 100 + (uint64_t)round;
			CHECK_EQ(
			    pci_endpoint_dma_write(e, 0, 0, 0x100000 + i * 4096 + 64, &v, 8, NULL),
			    0);
		}
		for (uint64_t i = 0; i < 32; i++)
			CHECK_EQ(rd64(0x800000 + i * 8192 + 64), i * 100 + (uint64_t)round);
	}
	pci_endpoint_destroy(ep2);
}

/* pci_endpoint_dma_copy_write(): a copy and a 32-byte record after it. */
static const uint64_t rec_ok[4] = {1, 0x10000, 0, 0};
static uint64_t refuse_pa = ~0ull; /* a page whose translated requests are refused */

static void refuse_hook(void *ctx, const struct pci_req *req)
{
	(void)ctx;
	on_request(NULL, req);
	if (req->at == PCI_AT_TRANSLATED)
		fa.block_translated = (req->addr & ~0xfffull) == refuse_pa;
}

static void map_copy_write(void)
{
	fake_map(&fa, false, 0, 0x10000, 64 * KiB, 0x100000, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, false, 0, 0x20000, 64 * KiB, 0x200000, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, false, 0, 0x7000, 4096, 0x30000, PCI_PERM_R | PCI_PERM_W);
}

static int copy_write(uint64_t dst, uint64_t src, size_t len, uint64_t rec, int *wret,
		      struct pci_dma_status *st, struct pci_dma_status *wst)
{
	return pci_endpoint_dma_copy_write(ep, 0, 0, dst, src, len, st, rec, rec_ok, sizeof(rec_ok),
					   wret, wst);
}

/* The first call (no memo) and the following ones (from the memo) copy, then write, and
 * count what a copy and a write in a row count. */
static void test_copy_write(void)
{
	struct pci_endpoint_stats s0, s1, s2;
	struct pci_dma_status st, wst;
	int wret;

	map_copy_write();
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(mem_fill(mem, 0x100000, (uint8_t)(0x40 + i), 64 * KiB), 0);
		CHECK_EQ(mem_fill(mem, 0x30040, 0, 32), 0);
		wret = 99;
		CHECK_EQ(copy_write(0x20000, 0x10000, 64 * KiB, 0x7040, &wret, &st, &wst), 0);
		CHECK_EQ(wret, 0);
		CHECK_EQ(st.done, 64 * KiB);
		CHECK_EQ(wst.done, 32);
		CHECK_EQ(rd64(0x200000), 0x0101010101010101ull * (uint64_t)(0x40 + i));
		CHECK_EQ(rd64(0x200000 + 64 * KiB - 8),
			 0x0101010101010101ull * (uint64_t)(0x40 + i));
		CHECK_EQ(rd64(0x30040), 1);
		CHECK_EQ(rd64(0x30048), 0x10000);
	}
	s0 = stats();
	CHECK_EQ(copy_write(0x20000, 0x10000, 64 * KiB, 0x7040, &wret, NULL, NULL), 0);
	CHECK_EQ(wret, 0);
	s1 = stats();
	CHECK_EQ(pci_endpoint_dma_copy(ep, 0, 0, 0x20000, 0x10000, 64 * KiB, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x7040, rec_ok, sizeof(rec_ok), NULL), 0);
	s2 = stats();
	CHECK_EQ(s1.translated_requests - s0.translated_requests, 3);
	CHECK_EQ(s2.translated_requests - s1.translated_requests, 3);
	CHECK_EQ(s1.hits - s0.hits, s2.hits - s1.hits);
	CHECK_EQ(s2.misses, s0.misses);
	CHECK_EQ(s2.translation_requests, s0.translation_requests);
	/* No place for the write's result: nothing done. */
	CHECK_EQ(mem_fill(mem, 0x100000, 0x77, 64 * KiB), 0);
	CHECK_EQ(copy_write(0x20000, 0x10000, 64 * KiB, 0x7040, NULL, NULL, NULL), -EINVAL);
	CHECK_EQ(rd64(0x200000), 0x4242424242424242ull);
	/* Overlapping ranges: the copy's -EINVAL, no write. */
	CHECK_EQ(mem_fill(mem, 0x30040, 0, 32), 0);
	wret = 99;
	CHECK_EQ(copy_write(0x10000 + 4096, 0x10000, 8192, 0x7040, &wret, NULL, NULL), -EINVAL);
	CHECK_EQ(wret, 99);
	CHECK_EQ(rd64(0x30040), 0);
}

/*
 * The fast paths keep the ATC's LRU order: the entries of a copy and its write served from
 * the memo get a new stamp (one for the three), so the next fill evicts an entry used
 * before them, not one of theirs. A one-set, four-way ATC.
 */
static void test_copy_write_keeps_lru(void)
{
	struct pci_endpoint_config cfg = fake_ep_config(&fa, mem);
	struct pci_endpoint_stats s0, s1;
	struct pci_atc_view v;
	uint8_t b[8];
	int wret;

	pci_endpoint_destroy(ep);
	cfg.atc_sets = 1;
	cfg.atc_ways = 4;
	CHECK_EQ(pci_endpoint_create(&cfg, &ep), 0);
	map_copy_write();
	fake_map(&fa, false, 0, 0x40000, 4096, 0x400000, PCI_PERM_R);
	fake_map(&fa, false, 0, 0x50000, 4096, 0x500000, PCI_PERM_R);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x40000, b, 8, NULL), 0); /* X */
	CHECK_EQ(copy_write(0x20000, 0x10000, 4096, 0x7040, &wret, NULL, NULL), 0);
	CHECK_EQ(wret, 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x40000, b, 8, NULL), 0); /* X again */
	s0 = stats();
	CHECK_EQ(copy_write(0x20000, 0x10000, 4096, 0x7040, &wret, NULL, NULL), 0);
	CHECK_EQ(wret, 0);
	s1 = stats();
	CHECK_EQ(s1.misses, s0.misses);
	CHECK_EQ(s1.hits - s0.hits, 3);
	CHECK_EQ(s1.atc_entries, 4);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x50000, b, 8, NULL), 0); /* Y evicts X */
	CHECK_EQ(stats().evictions, 1);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x40000, &v), -ENOENT);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x10000, &v), 0);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x20000, &v), 0);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x7000, &v), 0);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x50000, &v), 0);
}

/* A refused copy writes nothing; a refused write leaves the copy made. Both from the memo
 * and on the general path. */
static void test_copy_write_refused(void)
{
	struct pci_dma_status st, wst;
	int wret;

	map_copy_write();
	fa.hook = refuse_hook;
	for (int warm = 0; warm < 2; warm++) {
		if (warm)
			CHECK_EQ(copy_write(0x20000, 0x10000, 64 * KiB, 0x7040, &wret, NULL, NULL),
				 0);
		unsigned at1 = fake_count(&fa, PCI_AT_TRANSLATION);

		/* The copy's source refused. */
		refuse_pa = 0x100000;
		CHECK_EQ(mem_fill(mem, 0x100000, (uint8_t)(0x55 + warm), 64 * KiB), 0);
		CHECK_EQ(mem_fill(mem, 0x30040, 0, 32), 0);
		wret = 99;
		CHECK_EQ(copy_write(0x20000, 0x10000, 64 * KiB, 0x7040, &wret, &st, &wst), -EFAULT);
		CHECK_EQ(wret, 99);
		CHECK_EQ(st.addr, 0x10000);
		CHECK_EQ(st.at, PCI_AT_TRANSLATED);
		CHECK(!st.write);
		CHECK_EQ(rd64(0x30040), 0);
		CHECK(rd64(0x200000) != 0x0101010101010101ull * (uint64_t)(0x55 + warm));
		/* The write refused: the copy is made, the write reported. */
		refuse_pa = 0x30000;
		CHECK_EQ(copy_write(0x20000, 0x10000, 64 * KiB, 0x7040, &wret, &st, &wst), 0);
		CHECK_EQ(st.done, 64 * KiB);
		CHECK_EQ(rd64(0x200000 + 64 * KiB - 8),
			 0x0101010101010101ull * (uint64_t)(0x55 + warm));
		CHECK_EQ(wret, -EFAULT);
		CHECK_EQ(wst.at, PCI_AT_TRANSLATED);
		CHECK_EQ(wst.status, PCI_UR);
		CHECK_EQ(wst.fault, FAKE_FAULT_ATS);
		CHECK_EQ(wst.addr, 0x7040);
		CHECK_EQ(wst.pa, 0x30040);
		CHECK_EQ(wst.done, 0);
		CHECK_EQ(rd64(0x30040), 0);
		if (warm) /* from the memo: no lookup went to the IOMMU */
			CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATION), at1);
		refuse_pa = ~0ull;
		fa.block_translated = false;
		/* A fresh endpoint for the general path's turn. */
		if (!warm) {
			struct pci_endpoint_config cfg = fake_ep_config(&fa, mem);

			pci_endpoint_destroy(ep);
			CHECK_EQ(pci_endpoint_create(&cfg, &ep), 0);
		}
	}
}

/* The write's page invalidated and remapped between two calls: the write lands at the new
 * address and no request carries the old one. */
static void test_copy_write_after_invalidation(void)
{
	int wret;

	map_copy_write();
	CHECK_EQ(copy_write(0x20000, 0x10000, 64 * KiB, 0x7040, &wret, NULL, NULL), 0);
	CHECK_EQ(copy_write(0x20000, 0x10000, 64 * KiB, 0x7040, &wret, NULL, NULL), 0);
	fake_map(&fa, false, 0, 0x7000, 4096, 0x60000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(invalidate(false, 0, 0x7000, 4096), 0);
	CHECK_EQ(mem_fill(mem, 0x30040, 0, 32), 0);
	watch_pa = 0x30000;
	CHECK_EQ(copy_write(0x20000, 0x10000, 64 * KiB, 0x7040, &wret, NULL, NULL), 0);
	CHECK_EQ(wret, 0);
	CHECK_EQ(rd64(0x60040), 1);
	CHECK_EQ(rd64(0x30040), 0);
	CHECK_EQ(watch_hits, 0);
}

int main(void)
{
	RUN_EP(test_repeat_counts_like_a_hit);
	RUN_EP(test_invalidation_ends_the_memo);
	RUN_EP(test_copy_one_side_invalidated);
	RUN_EP(test_check_mode_skips_the_memo);
	RUN_EP(test_disabled_features);
	RUN_EP(test_new_endpoint_has_no_memo);
	RUN_EP(test_fast_path_failures);
	RUN_EP(test_fast_path_outside_memory);
	RUN_EP(test_many_runs);
	RUN_EP(test_copy_write);
	RUN_EP(test_copy_write_keeps_lru);
	RUN_EP(test_copy_write_refused);
	RUN_EP(test_copy_write_after_invalidation);
	return CHECK_DONE();
}
