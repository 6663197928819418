// SPDX-License-Identifier: MIT
/*
 * PCIe endpoint DMA: untranslated and ATS paths, the ATC (hits, misses, page sizes, PASID
 * and privileged-mode tags, LRU), permissions, capability enables, failed completions,
 * malformed completions, fault injection and bad arguments. A fake translation agent plays
 * the IOMMU.
 */
#include "check.h"
#include "fake_agent.h"

#include <softiommu/mem.h>
#include <softiommu/pci.h>

#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define RID PCI_RID(1, 0, 0)

static struct fake_agent fa;
static struct mem *mem;
static struct pci_endpoint *ep;
static uint8_t buf[256 * KiB], back[256 * KiB];

static void setup_cfg(const struct pci_endpoint_config *cfg)
{
	if (ep)
		pci_endpoint_destroy(ep);
	ep = NULL;
	if (pci_endpoint_create(cfg, &ep))
		abort();
}

static void setup(void)
{
	struct pci_endpoint_config cfg;

	fake_init(&fa);
	mem = mem_create_sparse(4 * GiB);
	if (!mem)
		abort();
	cfg = fake_ep_config(&fa, mem);
	setup_cfg(&cfg);
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

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 12));
}

static struct pci_endpoint_stats stats(void)
{
	struct pci_endpoint_stats s;

	if (pci_endpoint_get_stats(ep, &s))
		abort();
	return s;
}

/* True if memory at pa holds buf[0..n). */
static bool mem_holds(uint64_t pa, const uint8_t *p, size_t n)
{
	static uint8_t tmp[256 * KiB];

	return mem_read(mem, pa, tmp, n) == 0 && memcmp(tmp, p, n) == 0;
}

static bool mem_zero(uint64_t pa, size_t n)
{
	static const uint8_t zero[4096];

	for (size_t off = 0; off < n; off += 4096)
		if (!mem_holds(pa + off, zero, n - off < 4096 ? n - off : 4096))
			return false;
	return true;
}

/* ---- configuration ---------------------------------------------------------------------- */

static void test_create_rejects_bad_config(void)
{
	struct pci_endpoint_config good = fake_ep_config(&fa, mem), c;
	struct pci_endpoint *e = NULL;

	CHECK_EQ(pci_endpoint_create(NULL, &e), -EINVAL);
	CHECK_EQ(pci_endpoint_create(&good, NULL), -EINVAL);
#define BAD(stmt)                                                                                  \
	do {                                                                                       \
		c = good;                                                                          \
		stmt;                                                                              \
		CHECK_EQ(pci_endpoint_create(&c, &e), -EINVAL);                                    \
		CHECK(e == NULL);                                                                  \
	} while (0)
	BAD(c.agent.translate = NULL);
	BAD(c.mem = NULL);
	BAD(c.pasid_width = 21);
	BAD((c.pasid_width = 0, c.pasid_exec_enable = c.pasid_priv_enable = c.pasid_enable = 0));
	BAD((c.pasid_width = 0, c.pasid_priv_supported = c.pasid_exec_supported = 0));
	BAD(c.pasid_exec_supported = false);
	BAD(c.pasid_priv_supported = false);
	BAD(c.pasid_enable = false);
	BAD(c.ats = false); /* with ats_enable */
	BAD((c.ats = false, c.ats_enable = false, c.ats_stu = 1));
	BAD((c.ats = false, c.ats_enable = false, c.ats_inv_queue_depth = 4));
	BAD((c.ats = false, c.ats_enable = false, c.ats_global_inv = true));
	BAD(c.ats_stu = 32);
	BAD(c.ats_inv_queue_depth = 32);
	BAD(c.atc_sets = 0);
	BAD(c.atc_sets = 3);
	BAD(c.atc_sets = 1u << 17);
	BAD(c.atc_ways = 0);
	BAD(c.atc_ways = 65);
#undef BAD
	/* Without ATS the ATC geometry is not looked at; without PASID none of its bits. */
	c = (struct pci_endpoint_config){.rid = 7, .agent = good.agent, .mem = mem};
	CHECK_EQ(pci_endpoint_create(&c, &e), 0);
	CHECK_EQ(pci_endpoint_rid(e), 7);
	pci_endpoint_destroy(e);
	pci_endpoint_destroy(NULL);
	CHECK_EQ(pci_endpoint_rid(NULL), 0);
}

static void test_get_config_reflects_control(void)
{
	struct pci_endpoint_config c;

	CHECK_EQ(pci_endpoint_get_config(ep, &c), 0);
	CHECK_EQ(c.rid, RID);
	CHECK_EQ(c.pasid_width, 20);
	CHECK(c.pasid_enable && c.pasid_exec_enable && c.pasid_priv_enable && c.ats_enable);
	CHECK_EQ(pci_endpoint_pasid_enable(ep, false, true), 0);
	CHECK_EQ(pci_endpoint_ats_disable(ep), 0);
	CHECK_EQ(pci_endpoint_ats_enable(ep, 3), 0);
	CHECK_EQ(pci_endpoint_get_config(ep, &c), 0);
	CHECK(c.pasid_enable && !c.pasid_exec_enable && c.pasid_priv_enable);
	CHECK(c.ats_enable);
	CHECK_EQ(c.ats_stu, 3);
	CHECK_EQ(pci_endpoint_get_config(NULL, &c), -EINVAL);
	CHECK_EQ(pci_endpoint_get_config(ep, NULL), -EINVAL);
}

/* ---- the untranslated path -------------------------------------------------------------- */

static void test_untranslated_dma_splits_at_pages(void)
{
	struct pci_endpoint_config cfg = {.rid = RID, .agent = fake_as_agent(&fa), .mem = mem};
	struct pci_dma_status st;

	setup_cfg(&cfg); /* no PASID, no ATS */
	CHECK(fake_map(&fa, false, 0, 0x100000, 64 * KiB, 0x2000000, PCI_PERM_R | PCI_PERM_W) >= 0);
	fill(buf, 10000, 1);
	/* 0x100ff0 .. +10000: 16 bytes, 4096, 4096, 1792: four requests */
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x100ff0, buf, 10000, &st), 0);
	CHECK_EQ(st.done, 10000);
	CHECK_EQ(fake_count(&fa, PCI_AT_UNTRANSLATED), 4);
	CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATION), 0);
	CHECK_EQ(fa.last[0].at, PCI_AT_UNTRANSLATED);
	CHECK_EQ(fa.last[0].rid, RID);
	CHECK_EQ(fa.last[0].flags, PCI_REQ_WRITE);
	CHECK(mem_holds(0x2000ff0, buf, 10000));
	memset(back, 0, 10000);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x100ff0, back, 10000, NULL), 0);
	CHECK(memcmp(back, buf, 10000) == 0);
	CHECK_EQ(fa.last[0].flags, PCI_REQ_READ);
	CHECK_EQ(stats().untranslated_requests, 8);
	CHECK_EQ(stats().hits + stats().misses, 0);
}

static void test_untranslated_ur_stops_before_the_page(void)
{
	struct pci_endpoint_config cfg = {.rid = RID, .agent = fake_as_agent(&fa), .mem = mem};
	struct pci_dma_status st;

	setup_cfg(&cfg);
	/* Two writable pages, then a read-only one. */
	fake_map(&fa, false, 0, 0x10000, 8 * KiB, 0x300000, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, false, 0, 0x12000, 4 * KiB, 0x302000, PCI_PERM_R);
	fill(buf, 12 * KiB, 9);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x10800, buf, 10 * KiB, &st), -EFAULT);
	CHECK_EQ(st.addr, 0x12000);
	CHECK_EQ(st.done, 0x12000 - 0x10800);
	CHECK_EQ(st.at, PCI_AT_UNTRANSLATED);
	CHECK_EQ(st.status, PCI_UR);
	CHECK_EQ(st.fault, FAKE_FAULT_WRITE);
	CHECK(mem_holds(0x300800, buf, 0x12000 - 0x10800));
	CHECK(mem_zero(0x302000, 4096)); /* nothing of the refused page */
	CHECK_EQ(stats().faults, 1);
	/* An unmapped page. */
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x40000, back, 16, &st), -EFAULT);
	CHECK_EQ(st.fault, FAKE_FAULT_NOMAP);
	CHECK_EQ(st.addr, 0x40000);
	CHECK_EQ(st.done, 0);
}

/* ---- ATS: hits, misses, sizes ----------------------------------------------------------- */

static void test_ats_miss_then_hit(void)
{
	struct pci_endpoint_stats s;
	struct pci_atc_view v;

	for (int i = 0; i < 4; i++) /* four 4 KiB mappings */
		fake_map(&fa, false, 0, 0x40000 + i * 4096ull, 4096, 0x500000 + (3 - i) * 4096ull,
			 PCI_PERM_R | PCI_PERM_W);
	fill(buf, 16 * KiB, 3);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x40000, buf, 16 * KiB, NULL), 0);
	s = stats();
	CHECK_EQ(s.misses, 4);
	CHECK_EQ(s.hits, 0);
	CHECK_EQ(s.translation_requests, 4);
	CHECK_EQ(s.translated_requests, 4);
	CHECK_EQ(s.atc_entries, 4);
	CHECK_EQ(fa.last[PCI_AT_TRANSLATION].flags, PCI_REQ_WRITE);
	CHECK_EQ(fa.last[PCI_AT_TRANSLATION].addr, 0x43000);
	CHECK_EQ(fa.last[PCI_AT_TRANSLATED].flags, PCI_REQ_WRITE);
	CHECK_EQ(fa.last[PCI_AT_TRANSLATED].addr, 0x500000);
	/* The pages landed where each mapping says (reversed order). */
	for (int i = 0; i < 4; i++)
		CHECK(mem_holds(0x500000 + (3 - i) * 4096ull, buf + i * 4096, 4096));
	/* Again: all from the ATC, no translation request. */
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x40000, back, 16 * KiB, NULL), 0);
	CHECK(memcmp(back, buf, 16 * KiB) == 0);
	s = stats();
	CHECK_EQ(s.hits, 4);
	CHECK_EQ(s.misses, 4);
	CHECK_EQ(s.translation_requests, 4);
	CHECK_EQ(s.translated_requests, 8);
	CHECK_EQ(fake_count(&fa, PCI_AT_UNTRANSLATED), 0);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x41abc, &v), 0);
	CHECK_EQ(v.addr, 0x41000);
	CHECK_EQ(v.pa, 0x502000);
	CHECK_EQ(v.size, 4096);
	CHECK(!v.has_pasid);
	CHECK_EQ(v.perm, PCI_PERM_R | PCI_PERM_W);
}

/* One translation serves the whole large page; sizes 2 MiB and 1 GiB. */
static void test_large_pages_cached_once(void)
{
	static const uint64_t sizes[] = {2 * MiB, 1 * GiB};

	for (unsigned i = 0; i < 2; i++) {
		uint64_t size = sizes[i], iova = 4 * size, pa = size; /* pa inside 4 GiB */
		struct pci_endpoint_stats s0 = stats(), s;
		struct pci_atc_view v;

		fake_map(&fa, true, 5, iova, size, pa, PCI_PERM_R | PCI_PERM_W);
		fill(buf, 64 * KiB, (uint8_t)i);
		CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 5, iova + size / 2, buf,
						64 * KiB, NULL),
			 0);
		CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 5, iova + 12 * KiB, back,
					       64 * KiB, NULL),
			 0);
		CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 5, iova + size - 64 * KiB, back,
					       64 * KiB, NULL),
			 0);
		s = stats();
		CHECK_EQ(s.translation_requests - s0.translation_requests, 1);
		CHECK_EQ(s.misses - s0.misses, 1);
		CHECK_EQ(s.hits - s0.hits, 3 * 16 - 1);
		CHECK(mem_holds(pa + size / 2, buf, 64 * KiB));
		CHECK_EQ(pci_endpoint_atc_peek(ep, PCI_DMA_PASID, 5, iova + size - 1, &v), 0);
		CHECK_EQ(v.addr, iova);
		CHECK_EQ(v.pa, pa);
		CHECK_EQ(v.size, size);
		CHECK(v.has_pasid);
		CHECK_EQ(v.pasid, 5);
		/* The next page is another translation. */
		CHECK_EQ(pci_endpoint_atc_peek(ep, PCI_DMA_PASID, 5, iova + size, &v), -ENOENT);
	}
}

static void test_dma_crossing_large_pages(void)
{
	fake_map(&fa, false, 0, 0, 2 * MiB, 6 * MiB, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, false, 0, 2 * MiB, 2 * MiB, 4 * MiB, PCI_PERM_R | PCI_PERM_W);
	fill(buf, 64 * KiB, 77);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 2 * MiB - 32 * KiB, buf, 64 * KiB, NULL), 0);
	CHECK_EQ(stats().translation_requests, 2);
	CHECK(mem_holds(8 * MiB - 32 * KiB, buf, 32 * KiB));
	CHECK(mem_holds(4 * MiB, buf + 32 * KiB, 32 * KiB));
}

/* The same address under different PASIDs (and none) are different translations. */
static void test_pasid_tagging(void)
{
	uint8_t a[64], b[64], c[64];
	struct pci_atc_view v;

	fake_map(&fa, false, 0, 0x7000, 4096, 0x100000, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, true, 1, 0x7000, 4096, 0x200000, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, true, 2, 0x7000, 4096, 0x300000, PCI_PERM_R | PCI_PERM_W);
	memset(a, 0xa, sizeof(a));
	memset(b, 0xb, sizeof(b));
	memset(c, 0xc, sizeof(c));
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x7010, a, 64, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 1, 0x7010, b, 64, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 2, 0x7010, c, 64, NULL), 0);
	CHECK_EQ(fa.last[PCI_AT_TRANSLATION].flags, PCI_REQ_PASID | PCI_REQ_WRITE);
	CHECK_EQ(fa.last[PCI_AT_TRANSLATION].pasid, 2);
	/* Hits now, each to its own page. */
	for (int round = 0; round < 2; round++) {
		CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x7010, a, 64, NULL), 0);
		CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 1, 0x7010, b, 64, NULL), 0);
		CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 2, 0x7010, c, 64, NULL), 0);
	}
	CHECK_EQ(stats().translation_requests, 3);
	CHECK_EQ(stats().hits, 6);
	CHECK(mem_holds(0x100010, a, 64));
	CHECK(mem_holds(0x200010, b, 64));
	CHECK(mem_holds(0x300010, c, 64));
	CHECK_EQ(pci_endpoint_atc_peek(ep, PCI_DMA_PASID, 2, 0x7000, &v), 0);
	CHECK_EQ(v.pa, 0x300000);
	CHECK_EQ(pci_endpoint_atc_peek(ep, PCI_DMA_PASID, 3, 0x7000, &v), -ENOENT);
	/* A PASID nobody mapped: R=W=0. */
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 3, 0x7000, back, 4, NULL), -EFAULT);
}

/* Privileged-mode requests are a separate tag: a user entry does not serve them. */
static void test_priv_tagging(void)
{
	struct pci_atc_view v;

	fake_map(&fa, true, 9, 0x9000, 4096, 0x90000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 9, 0x9000, back, 8, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID | PCI_DMA_PRIV, 9, 0x9000, back, 8, NULL),
		 0);
	CHECK_EQ(stats().translation_requests, 2);
	CHECK_EQ(fa.last[PCI_AT_TRANSLATION].flags,
		 PCI_REQ_PASID | PCI_REQ_PRIV | PCI_REQ_READ | PCI_REQ_NW);
	CHECK_EQ(pci_endpoint_atc_peek(ep, PCI_DMA_PASID | PCI_DMA_PRIV, 9, 0x9000, &v), 0);
	CHECK(v.perm & PCI_PERM_PRIV);
	CHECK_EQ(pci_endpoint_atc_peek(ep, PCI_DMA_PASID, 9, 0x9000, &v), 0);
	CHECK(!(v.perm & PCI_PERM_PRIV));
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID | PCI_DMA_PRIV, 9, 0x9000, back, 8, NULL),
		 0);
	CHECK_EQ(stats().translation_requests, 2);
	CHECK_EQ(pci_endpoint_atc_peek(ep, PCI_DMA_EXEC, 9, 0x9000, &v), -EINVAL);
	CHECK_EQ(pci_endpoint_atc_peek(NULL, 0, 0, 0, &v), -EINVAL);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0, NULL), -EINVAL);
}

/* LRU within a set: a one-set, two-way ATC. */
static void test_lru_replacement(void)
{
	struct pci_endpoint_config cfg = fake_ep_config(&fa, mem);
	struct pci_atc_view v;

	cfg.atc_sets = 1;
	cfg.atc_ways = 2;
	setup_cfg(&cfg);
	for (int i = 0; i < 3; i++)
		fake_map(&fa, false, 0, 0x1000 * (i + 1), 4096, 0x10000 * (i + 1), PCI_PERM_R);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, back, 4, NULL), 0); /* A */
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x2000, back, 4, NULL), 0); /* B */
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, back, 4, NULL), 0); /* A again */
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x3000, back, 4, NULL), 0); /* C evicts B */
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x1000, &v), 0);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x2000, &v), -ENOENT);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x3000, &v), 0);
	CHECK_EQ(stats().evictions, 1);
	CHECK_EQ(stats().atc_entries, 2);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x2000, back, 4, NULL), 0); /* B evicts A */
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x1000, &v), -ENOENT);
	CHECK_EQ(stats().misses, 4);
	CHECK_EQ(stats().hits, 1);
}

/* ---- permissions ------------------------------------------------------------------------ */

static void test_write_to_read_only_translation(void)
{
	struct pci_dma_status st;
	struct pci_atc_view v;

	fake_map(&fa, false, 0, 0x20000, 4096, 0x80000, PCI_PERM_R);
	fill(buf, 4096, 5);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x20000, buf, 4096, &st), -EACCES);
	CHECK_EQ(st.at, PCI_AT_TRANSLATION);
	CHECK_EQ(st.status, PCI_SC);
	CHECK_EQ(st.perm, PCI_PERM_R);
	CHECK_EQ(st.addr, 0x20000);
	CHECK_EQ(st.done, 0);
	CHECK(mem_zero(0x80000, 4096));
	CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATED), 0);
	/* The read-only answer is cached (usable for reads) ... */
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x20000, &v), 0);
	CHECK_EQ(v.perm, PCI_PERM_R);
	/* ... but a second write does not succeed from it: it asks again, and fails again. */
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x20000, buf, 4096, &st), -EACCES);
	CHECK_EQ(stats().translation_requests, 2);
	CHECK_EQ(stats().faults, 2);
	CHECK(mem_zero(0x80000, 4096));
	/* Reads hit. */
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x20000, back, 4096, NULL), 0);
	CHECK_EQ(stats().translation_requests, 2);
	CHECK_EQ(stats().hits, 1);
}

/* A W=0 entry from a read, then a write: a new translation request, which may grant W. */
static void test_read_entry_then_write_upgrades(void)
{
	struct pci_atc_view v;

	fake_map(&fa, true, 4, 0x20000, 4096, 0x80000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 4, 0x20000, back, 64, NULL), 0);
	CHECK_EQ(fa.last[PCI_AT_TRANSLATION].flags, PCI_REQ_PASID | PCI_REQ_READ | PCI_REQ_NW);
	CHECK_EQ(pci_endpoint_atc_peek(ep, PCI_DMA_PASID, 4, 0x20000, &v), 0);
	CHECK_EQ(v.perm, PCI_PERM_R); /* NW: read-only wanted and granted */
	fill(buf, 64, 1);
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 4, 0x20000, buf, 64, NULL), 0);
	CHECK_EQ(stats().translation_requests, 2);
	CHECK_EQ(stats().misses, 2);
	CHECK_EQ(fa.last[PCI_AT_TRANSLATION].flags, PCI_REQ_PASID | PCI_REQ_WRITE);
	CHECK(mem_holds(0x80000, buf, 64));
	/* The writable entry replaced the read-only one. */
	CHECK_EQ(pci_endpoint_atc_peek(ep, PCI_DMA_PASID, 4, 0x20000, &v), 0);
	CHECK_EQ(v.perm, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(stats().atc_entries, 1);
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 4, 0x20000, buf, 64, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 4, 0x20000, back, 64, NULL), 0);
	CHECK_EQ(stats().translation_requests, 2);
}

/* A larger translation supersedes smaller entries of the same tag inside it. */
static void test_new_large_entry_supersedes_small_ones(void)
{
	struct pci_atc_view v;

	fake_map(&fa, false, 0, 0x200000, 4096, 0x10000, PCI_PERM_R);
	fake_map(&fa, false, 0, 0x201000, 4096, 0x11000, PCI_PERM_R);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x200000, back, 8192, NULL), 0);
	CHECK_EQ(stats().atc_entries, 2);
	fake_unmap_all(&fa);
	fake_map(&fa, false, 0, 0x200000, 2 * MiB, 0x400000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x201000, buf, 16, NULL), 0);
	CHECK_EQ(stats().atc_entries, 1);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x200000, &v), 0);
	CHECK_EQ(v.size, 2 * MiB);
}

static void test_exec_and_priv_features(void)
{
	struct pci_dma_status st;

	fake_map(&fa, true, 3, 0x1000, 4096, 0x1000, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, true, 3, 0x2000, 4096, 0x2000, PCI_PERM_R | PCI_PERM_X);
	/* Without X: refused, even though a plain read entry is cached. */
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 3, 0x1000, back, 4, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID | PCI_DMA_EXEC, 3, 0x1000, back, 4, &st),
		 -EACCES);
	CHECK_EQ(fa.last[PCI_AT_TRANSLATION].flags,
		 PCI_REQ_PASID | PCI_REQ_EXEC | PCI_REQ_READ | PCI_REQ_NW);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID | PCI_DMA_EXEC, 3, 0x2000, back, 4, &st),
		 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID | PCI_DMA_EXEC, 3, 0x2000, back, 4, &st),
		 0);
	CHECK_EQ(stats().translation_requests, 3);
	/* Features switched off. */
	CHECK_EQ(pci_endpoint_pasid_enable(ep, false, false), 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID | PCI_DMA_EXEC, 3, 0x2000, back, 4, &st),
		 -EOPNOTSUPP);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID | PCI_DMA_PRIV, 3, 0x2000, back, 4, &st),
		 -EOPNOTSUPP);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 3, 0x2000, back, 4, &st), 0);
	/* A function without the features cannot enable them. */
	struct pci_endpoint_config cfg = fake_ep_config(&fa, mem);
	cfg.pasid_exec_supported = cfg.pasid_exec_enable = false;
	cfg.pasid_priv_supported = cfg.pasid_priv_enable = false;
	setup_cfg(&cfg);
	CHECK_EQ(pci_endpoint_pasid_enable(ep, true, false), -EOPNOTSUPP);
	CHECK_EQ(pci_endpoint_pasid_enable(ep, false, true), -EOPNOTSUPP);
	CHECK_EQ(pci_endpoint_pasid_enable(ep, false, false), 0);
	CHECK_EQ(pci_endpoint_pasid_enable(NULL, false, false), -EINVAL);
}

/* ---- capability enables ------------------------------------------------------------------ */

static void test_ats_disabled_path(void)
{
	struct pci_endpoint_config cfg = fake_ep_config(&fa, mem);
	struct pci_atc_view v;

	cfg.ats_enable = false;
	setup_cfg(&cfg);
	fake_map(&fa, false, 0, 0x5000, 4096, 0x15000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x5000, back, 4096, NULL), 0);
	CHECK_EQ(fake_count(&fa, PCI_AT_UNTRANSLATED), 1);
	CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATION), 0);
	CHECK_EQ(pci_endpoint_ats_enable(ep, 0), 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x5000, back, 4096, NULL), 0);
	CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATION), 1);
	CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATED), 1);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x5000, &v), 0);
	/* STU is fixed while enabled; the same value is fine. */
	CHECK_EQ(pci_endpoint_ats_enable(ep, 1), -EBUSY);
	CHECK_EQ(pci_endpoint_ats_enable(ep, 0), 0);
	CHECK_EQ(pci_endpoint_ats_enable(ep, 32), -EINVAL);
	/* Disabling empties the ATC and goes back to untranslated requests. */
	CHECK_EQ(pci_endpoint_ats_disable(ep), 0);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x5000, &v), -ENOENT);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x5000, back, 4096, NULL), 0);
	CHECK_EQ(fake_count(&fa, PCI_AT_UNTRANSLATED), 2);
	CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATION), 1);
	CHECK_EQ(pci_endpoint_ats_enable(NULL, 0), -EINVAL);
	CHECK_EQ(pci_endpoint_ats_disable(NULL), -EINVAL);
	/* No ATS capability at all. */
	cfg = (struct pci_endpoint_config){.rid = RID, .agent = fake_as_agent(&fa), .mem = mem};
	setup_cfg(&cfg);
	CHECK_EQ(pci_endpoint_ats_enable(ep, 0), -EOPNOTSUPP);
	CHECK_EQ(pci_endpoint_ats_disable(ep), -EOPNOTSUPP);
	CHECK_EQ(pci_endpoint_pasid_enable(ep, false, false), -EOPNOTSUPP);
	CHECK_EQ(pci_endpoint_pasid_disable(ep), -EOPNOTSUPP);
}

static void test_pasid_disabled_path(void)
{
	struct pci_endpoint_config cfg = fake_ep_config(&fa, mem);
	struct pci_atc_view v;

	cfg.pasid_enable = cfg.pasid_exec_enable = cfg.pasid_priv_enable = false;
	setup_cfg(&cfg);
	fake_map(&fa, false, 0, 0x5000, 4096, 0x15000, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, true, 8, 0x5000, 4096, 0x25000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 8, 0x5000, back, 16, NULL), -EOPNOTSUPP);
	CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATION), 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x5000, back, 16, NULL), 0);
	CHECK_EQ(pci_endpoint_pasid_enable(ep, false, false), 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 8, 0x5000, back, 16, NULL), 0);
	CHECK_EQ(pci_endpoint_atc_peek(ep, PCI_DMA_PASID, 8, 0x5000, &v), 0);
	/* Disabling PASID drops the PASID entries and keeps the others. */
	CHECK_EQ(pci_endpoint_pasid_disable(ep), 0);
	CHECK_EQ(pci_endpoint_atc_peek(ep, PCI_DMA_PASID, 8, 0x5000, &v), -ENOENT);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x5000, &v), 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 8, 0x5000, back, 16, NULL), -EOPNOTSUPP);
	CHECK_EQ(pci_endpoint_pasid_disable(NULL), -EINVAL);
}

/* ---- failed and malformed completions --------------------------------------------------- */

static void test_ats_failures(void)
{
	struct pci_dma_status st;
	struct pci_atc_view v;

	fake_map(&fa, false, 0, 0, 16 * KiB, 0, PCI_PERM_R | PCI_PERM_W);
	/* Nothing mapped: R=W=0, not cached, asked again next time. */
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x9000, back, 8, &st), -EFAULT);
	CHECK_EQ(st.at, PCI_AT_TRANSLATION);
	CHECK_EQ(st.status, PCI_SC);
	CHECK_EQ(st.perm, 0);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x9000, &v), -ENOENT);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x9000, back, 8, &st), -EFAULT);
	CHECK_EQ(stats().translation_requests, 2);
	CHECK_EQ(stats().atc_entries, 0);
	/* The IOMMU refuses translation requests (UR). */
	fa.ats_ur = true;
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, back, 8, &st), -EFAULT);
	CHECK_EQ(st.status, PCI_UR);
	CHECK_EQ(st.fault, FAKE_FAULT_ATS);
	CHECK_EQ(st.at, PCI_AT_TRANSLATION);
	fa.ats_ur = false;
	/* ... or translated requests: the cached entry stays, the access fails untouched. */
	fa.block_translated = true;
	fill(buf, 8192, 4);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x1000, buf, 8192, &st), -EFAULT);
	CHECK_EQ(st.at, PCI_AT_TRANSLATED);
	CHECK_EQ(st.status, PCI_UR);
	CHECK_EQ(st.pa, 0x1000);
	CHECK_EQ(st.done, 0);
	CHECK(mem_zero(0x1000, 8192));
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x1000, &v), 0);
	fa.block_translated = false;
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x1000, buf, 8192, &st), 0);
	CHECK(mem_holds(0x1000, buf, 8192));
	CHECK_EQ(stats().faults, 4);
	/* The agent's own error comes back as is. */
	fa.force_err = -EINVAL;
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, back, 8, &st), -EINVAL);
	CHECK_EQ(st.at, PCI_AT_TRANSLATED);
	fa.force_err = 0;
}

static void test_malformed_completions(void)
{
	static const uint64_t bad_sizes[] = {0, 2048, 3 * 4096, 4096 + 1, 1ull << 63 | 4096};
	struct pci_endpoint_config cfg = fake_ep_config(&fa, mem);
	struct pci_dma_status st;
	struct pci_atc_view v;

	fake_map(&fa, false, 0, 0x200000, 2 * MiB, 0x600000, PCI_PERM_R | PCI_PERM_W);
	fa.force_size_on = true;
	for (unsigned i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		fa.force_size = bad_sizes[i];
		CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x201000, back, 8, &st), -EPROTO);
		CHECK_EQ(st.at, PCI_AT_TRANSLATION);
	}
	fa.force_size_on = false;
	/* An address not at the request's offset within the size. */
	fa.force_offset = 4096;
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x201000, back, 8, &st), -EPROTO);
	fa.force_offset = 0;
	CHECK_EQ(stats().atc_entries, 0);
	CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATED), 0);
	/* Smaller than the Smallest Translation Unit (STU 9 = 2 MiB). */
	cfg.ats_stu = 9;
	setup_cfg(&cfg);
	fake_map(&fa, false, 0, 0x1000, 4096, 0x1000, PCI_PERM_R);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, back, 8, &st), -EPROTO);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x1000, &v), -ENOENT);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x200000, back, 8, &st), 0);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x3fffff, &v), 0);
}

static void test_memory_outside_range(void)
{
	struct pci_endpoint_config cfg = fake_ep_config(&fa, mem);
	struct pci_dma_status st;

	fake_map(&fa, false, 0, 0x1000, 4096, 8 * GiB, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x1000, buf, 16, &st), -EIO);
	CHECK_EQ(st.at, PCI_AT_TRANSLATED);
	CHECK_EQ(st.pa, 8 * GiB);
	cfg.ats = cfg.ats_enable = false;
	setup_cfg(&cfg);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, back, 16, &st), -EIO);
	CHECK_EQ(st.at, PCI_AT_UNTRANSLATED);
	CHECK_EQ(st.pa, 8 * GiB);
}

/* "Untranslated access only" answers are cached; their pages go as AT=0 requests. */
static void test_untranslated_only_answer(void)
{
	struct pci_atc_view v;

	fake_map(&fa, false, 0, 0x3000, 4096, 0x33000, PCI_PERM_R | PCI_PERM_W | PCI_PERM_U);
	fill(buf, 32, 8);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x3000, buf, 32, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x3000, buf, 32, NULL), 0);
	CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATION), 1);
	CHECK_EQ(fake_count(&fa, PCI_AT_UNTRANSLATED), 2);
	CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATED), 0);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x3000, &v), 0);
	CHECK(v.perm & PCI_PERM_U);
	CHECK(mem_holds(0x33000, buf, 32));
}

/* ---- fault injection --------------------------------------------------------------------- */

static void test_removed_and_hung(void)
{
	struct pci_ats_port port = pci_endpoint_ats_port(ep);
	struct pci_ats_inv inv = {.addr = 0, .size = 0, .rid = RID};
	struct pci_atc_view v;

	fake_map(&fa, false, 0, 0x1000, 4096, 0x1000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, back, 8, NULL), 0);
	/* Hung: the invalidation times out at once and the ATC keeps its entry (and uses it). */
	CHECK_EQ(pci_endpoint_set_state(ep, PCI_EP_HUNG), 0);
	CHECK_EQ(port.invalidate(port.ctx, &inv), -ETIMEDOUT);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x1000, &v), 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, back, 8, NULL), 0);
	CHECK_EQ(stats().hits, 1);
	/* Removed: DMA fails too. */
	CHECK_EQ(pci_endpoint_set_state(ep, PCI_EP_REMOVED), 0);
	CHECK_EQ(port.invalidate(port.ctx, &inv), -ETIMEDOUT);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, back, 8, NULL), -ENODEV);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x1000, buf, 8, NULL), -ENODEV);
	CHECK_EQ(stats().inv_timeouts, 2);
	CHECK_EQ(stats().invalidations, 0);
	/* Back: invalidations complete again. */
	CHECK_EQ(pci_endpoint_set_state(ep, PCI_EP_ACTIVE), 0);
	CHECK_EQ(port.invalidate(port.ctx, &inv), 0);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x1000, &v), -ENOENT);
	CHECK_EQ(stats().invalidations, 1);
	CHECK_EQ(stats().inv_entries, 1);
	CHECK_EQ(pci_endpoint_set_state(ep, (enum pci_endpoint_state)3), -EINVAL);
	CHECK_EQ(pci_endpoint_set_state(NULL, PCI_EP_HUNG), -EINVAL);
}

static void test_flr(void)
{
	struct pci_endpoint_config c;
	struct pci_atc_view v;

	fake_map(&fa, false, 0, 0x1000, 4096, 0x1000, PCI_PERM_R);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, back, 8, NULL), 0);
	CHECK_EQ(pci_endpoint_set_state(ep, PCI_EP_REMOVED), 0);
	CHECK_EQ(pci_endpoint_flr(ep), 0);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x1000, &v), -ENOENT);
	CHECK_EQ(pci_endpoint_get_config(ep, &c), 0);
	CHECK(!c.ats_enable && !c.pasid_enable && !c.pasid_exec_enable && !c.pasid_priv_enable);
	CHECK_EQ(c.ats_stu, 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, back, 8, NULL), 0);
	CHECK_EQ(fake_count(&fa, PCI_AT_UNTRANSLATED), 1);
	CHECK_EQ(pci_endpoint_flr(NULL), -EINVAL);
}

/* ---- bad arguments ----------------------------------------------------------------------- */

static void test_bad_dma_arguments(void)
{
	struct pci_endpoint_config cfg = fake_ep_config(&fa, mem);
	struct pci_dma_status st;

	fake_map(&fa, false, 0, 0xfffffffffffff000ull, 4096, 0x1000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_read(NULL, 0, 0, 0x1000, back, 8, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, NULL, 8, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, 0x1000, NULL, 8, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, back, 0, &st), -EINVAL);
	CHECK_EQ(st.done, 0);
	/* Wrapping past 2^64 is refused; ending exactly at 2^64 is not. */
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0xfffffffffffff000ull, back, 4097, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, ~0ull, back, 2, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0xfffffffffffff000ull, back, 4096, &st), 0);
	CHECK_EQ(st.done, 4096);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, ~0ull, back, 1, &st), 0);
	/* Flags. */
	CHECK_EQ(pci_endpoint_dma_read(ep, 1u << 7, 0, 0x1000, back, 8, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_REQ_WRITE, 0, 0x1000, back, 8, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PRIV, 0, 0x1000, back, 8, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_EXEC, 0, 0x1000, back, 8, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID | PCI_DMA_EXEC, 1, 0x1000, buf, 8, &st),
		 -EINVAL);
	/* PASID width: 20 bits here, 5 bits below. */
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 1u << 20, 0x1000, back, 8, &st), -ERANGE);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 0xfffff, 0x1000, back, 8, &st), -EFAULT);
	cfg.pasid_width = 5;
	setup_cfg(&cfg);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 32, 0x1000, back, 8, &st), -ERANGE);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, ~0u, 0x1000, back, 8, &st), -ERANGE);
	CHECK_EQ(st.done, 0);
	/* Only the top page and PASID 0xfffff were asked for. */
	CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATION), 2);
	/* No PASID capability. */
	cfg = (struct pci_endpoint_config){.rid = RID, .agent = fake_as_agent(&fa), .mem = mem};
	setup_cfg(&cfg);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 0, 0x1000, back, 8, &st), -EOPNOTSUPP);
	CHECK_EQ(pci_endpoint_get_stats(NULL, NULL), -EINVAL);
	CHECK_EQ(pci_endpoint_get_stats(ep, NULL), -EINVAL);
}

/* ---- invalidations racing with a translation --------------------------------------------- */

struct race {
	struct pci_ats_port port;
	int left; /* invalidations still to send; -1 = every time */
};

static void invalidate_during_translation(void *ctx, const struct pci_req *req)
{
	struct race *r = ctx;
	struct pci_ats_inv inv = {.addr = 0x40000000, .size = 4096, .rid = RID};

	if (req->at != PCI_AT_TRANSLATION || r->left == 0)
		return;
	if (r->left > 0)
		r->left--;
	r->port.invalidate(r->port.ctx, &inv);
}

/* A completion that an invalidation overtook is neither cached nor used. */
static void test_invalidation_racing_with_translation(void)
{
	struct race r = {.port = pci_endpoint_ats_port(ep), .left = 1};
	struct pci_dma_status st;
	struct pci_atc_view v;

	fake_map(&fa, false, 0, 0x1000, 4096, 0x1000, PCI_PERM_R | PCI_PERM_W);
	fa.hook = invalidate_during_translation;
	fa.hook_ctx = &r;
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, back, 8, &st), 0);
	CHECK_EQ(stats().translation_requests, 2);
	CHECK_EQ(stats().retries, 1);
	CHECK_EQ(stats().atc_entries, 1);
	/* An endless storm: the DMA gives up instead of spinning, nothing cached. */
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x1000, &v), 0);
	fake_map(&fa, false, 0, 0x2000, 4096, 0x2000, PCI_PERM_R | PCI_PERM_W);
	r.left = -1;
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x2000, back, 8, &st), -EAGAIN);
	CHECK_EQ(st.addr, 0x2000);
	CHECK_EQ(pci_endpoint_atc_peek(ep, 0, 0, 0x2000, &v), -ENOENT);
	CHECK_EQ(stats().translation_requests, 2 + PCI_EP_RETRY_LIMIT + 1);
	fa.hook = NULL;
}

/* ---- check mode -------------------------------------------------------------------------- */

struct reports {
	unsigned n;
	struct pci_atc_mismatch last;
};

static void on_mismatch(void *ctx, const struct pci_atc_mismatch *m)
{
	struct reports *r = ctx;

	r->n++;
	r->last = *m;
}

static void test_checker_reports_stale_entries(void)
{
	struct pci_translation_agent ref = fake_as_agent(&fa);
	struct pci_ats_port port = pci_endpoint_ats_port(ep);
	struct pci_ats_inv inv = {
	    .addr = 0x7000, .size = 4096, .rid = RID, .has_pasid = true, .pasid = 3};
	struct reports r = {0};
	uint8_t b[8];

	CHECK_EQ(pci_endpoint_set_checker(ep, &ref, on_mismatch, &r), 0);
	CHECK_EQ(mem_fill(mem, 0x10000, 0x11, 4096), 0);
	CHECK_EQ(mem_fill(mem, 0x20000, 0x22, 4096), 0);
	fake_map(&fa, true, 3, 0x7000, 4096, 0x10000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 3, 0x7008, b, 8, NULL), 0); /* miss */
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 3, 0x7008, b, 8, NULL), 0); /* hit */
	CHECK_EQ(r.n, 0);
	/* The IOMMU remaps the page and "forgets" the ATS invalidation. */
	fake_map(&fa, true, 3, 0x7000, 4096, 0x20000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 3, 0x7008, b, 8, NULL), 0);
	CHECK_EQ(b[0], 0x11); /* the stale entry is still used, as silicon would */
	CHECK_EQ(r.n, 1);
	CHECK_EQ(r.last.rid, RID);
	CHECK(r.last.has_pasid);
	CHECK_EQ(r.last.pasid, 3);
	CHECK_EQ(r.last.addr, 0x7000);
	CHECK(!r.last.write);
	CHECK_EQ(r.last.atc.addr, 0x7000);
	CHECK_EQ(r.last.atc.pa, 0x10000);
	CHECK_EQ(r.last.atc.size, 4096);
	CHECK_EQ(r.last.atc_pa, 0x10000);
	CHECK_EQ(r.last.ref_err, 0);
	CHECK_EQ(r.last.ref.status, PCI_SC);
	CHECK_EQ(r.last.ref.addr, 0x20000);
	CHECK_EQ(stats().check_mismatches, 1);
	/* The invalidation that was missing: then the fresh entry agrees. */
	CHECK_EQ(port.invalidate(port.ctx, &inv), 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 3, 0x7008, b, 8, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 3, 0x7008, b, 8, NULL), 0);
	CHECK_EQ(b[0], 0x22);
	CHECK_EQ(r.n, 1);
	/* Write permission taken away: a write hit is reported, a read hit is not. */
	fill(buf, 8, 1);
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 3, 0x7000, buf, 8, NULL), 0);
	CHECK_EQ(r.n, 1);
	fake_map(&fa, true, 3, 0x7000, 4096, 0x20000, PCI_PERM_R);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 3, 0x7000, b, 8, NULL), 0);
	CHECK_EQ(r.n, 1);
	CHECK_EQ(pci_endpoint_dma_write(ep, PCI_DMA_PASID, 3, 0x7000, buf, 8, NULL), 0);
	CHECK_EQ(r.n, 2);
	CHECK(r.last.write);
	CHECK_EQ(r.last.ref.perm & (PCI_PERM_R | PCI_PERM_W), PCI_PERM_R);
	/* Unmapped: the reference answers R=W=0. */
	fake_unmap_all(&fa);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 3, 0x7000, b, 8, NULL), 0);
	CHECK_EQ(r.n, 3);
	CHECK_EQ(r.last.ref.perm, 0);
	/* Off: nothing is compared any more. */
	CHECK_EQ(pci_endpoint_set_checker(ep, NULL, NULL, NULL), 0);
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 3, 0x7000, b, 8, NULL), 0);
	CHECK_EQ(r.n, 3);
	CHECK_EQ(stats().check_mismatches, 3);
}

/* Every 4 KiB request served by a large entry is checked, not only the first. */
static void test_checker_inside_large_entry(void)
{
	struct pci_translation_agent ref = fake_as_agent(&fa);
	struct reports r = {0};

	CHECK_EQ(pci_endpoint_set_checker(ep, &ref, on_mismatch, &r), 0);
	fake_map(&fa, false, 0, 0x200000, 2 * MiB, 0x400000, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x200000, back, 16 * KiB, NULL), 0);
	CHECK_EQ(r.n, 0);
	/* The large page is split and one 4 KiB piece moves, without invalidation. */
	fake_unmap_all(&fa);
	for (uint64_t a = 0x200000; a < 0x204000; a += 4096)
		fake_map(&fa, false, 0, a, 4096, a == 0x202000 ? 0x900000 : a + 0x200000,
			 PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x200000, back, 16 * KiB, NULL), 0);
	CHECK_EQ(r.n, 1);
	CHECK_EQ(r.last.addr, 0x202000);
	CHECK_EQ(r.last.atc.size, 2 * MiB);
	CHECK_EQ(r.last.atc_pa, 0x402000);
	CHECK_EQ(r.last.ref.addr, 0x900000);
	CHECK(!r.last.has_pasid);
}

static void test_checker_bad_arguments(void)
{
	struct pci_translation_agent ref = fake_as_agent(&fa), none = {0};
	struct reports r = {0};

	CHECK_EQ(pci_endpoint_set_checker(NULL, &ref, on_mismatch, &r), -EINVAL);
	CHECK_EQ(pci_endpoint_set_checker(ep, &none, on_mismatch, &r), -EINVAL);
	CHECK_EQ(pci_endpoint_set_checker(ep, &ref, NULL, &r), -EINVAL);
	/* A reference that fails outright is a mismatch too (ref_err says so). */
	fake_map(&fa, false, 0, 0x1000, 4096, 0x1000, PCI_PERM_R);
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, back, 8, NULL), 0);
	CHECK_EQ(pci_endpoint_set_checker(ep, &ref, on_mismatch, &r), 0);
	fa.force_err = -EIO;
	fa.block_translated = false;
	/* The agent is also the upstream here, so its AT=2 fails too: the DMA fails after the
	 * checker has seen the hit. */
	CHECK_EQ(pci_endpoint_dma_read(ep, 0, 0, 0x1000, back, 8, NULL), -EIO);
	fa.force_err = 0;
	CHECK_EQ(r.n, 1);
	CHECK_EQ(r.last.ref_err, -EIO);
}

int main(void)
{
	RUN_EP(test_create_rejects_bad_config);
	RUN_EP(test_get_config_reflects_control);
	RUN_EP(test_untranslated_dma_splits_at_pages);
	RUN_EP(test_untranslated_ur_stops_before_the_page);
	RUN_EP(test_ats_miss_then_hit);
	RUN_EP(test_large_pages_cached_once);
	RUN_EP(test_dma_crossing_large_pages);
	RUN_EP(test_pasid_tagging);
	RUN_EP(test_priv_tagging);
	RUN_EP(test_lru_replacement);
	RUN_EP(test_write_to_read_only_translation);
	RUN_EP(test_read_entry_then_write_upgrades);
	RUN_EP(test_new_large_entry_supersedes_small_ones);
	RUN_EP(test_exec_and_priv_features);
	RUN_EP(test_ats_disabled_path);
	RUN_EP(test_pasid_disabled_path);
	RUN_EP(test_ats_failures);
	RUN_EP(test_malformed_completions);
	RUN_EP(test_memory_outside_range);
	RUN_EP(test_untranslated_only_answer);
	RUN_EP(test_removed_and_hung);
	RUN_EP(test_flr);
	RUN_EP(test_bad_dma_arguments);
	RUN_EP(test_invalidation_racing_with_translation);
	RUN_EP(test_checker_reports_stale_entries);
	RUN_EP(test_checker_inside_large_entry);
	RUN_EP(test_checker_bad_arguments);
	return CHECK_DONE();
}
