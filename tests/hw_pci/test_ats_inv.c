// SPDX-License-Identifier: MIT
/*
 * ATS invalidations at an endpoint: the S-bit range encoding, every selection (one PASID,
 * global, without PASID) and size (4 KiB to the whole space), large entries removed whole,
 * Global mappings, bad requests, and the counters.
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
static struct pci_ats_port port;

static void make_ep(bool global_inv)
{
	struct pci_endpoint_config cfg = fake_ep_config(&fa, mem);

	cfg.ats_global_inv = global_inv;
	cfg.atc_sets = 64;
	cfg.atc_ways = 8;
	pci_endpoint_destroy(ep);
	ep = NULL;
	if (pci_endpoint_create(&cfg, &ep))
		abort();
	port = pci_endpoint_ats_port(ep);
}

static void setup(void)
{
	fake_init(&fa);
	mem = mem_create_sparse(64 * MiB);
	if (!mem)
		abort();
	make_ep(true);
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

/* ---- the S-bit encoding ----------------------------------------------------------------- */

static void test_decode_range(void)
{
	uint64_t base, size;

	/* S=0: one page; the low 12 bits are not address bits. */
	pci_ats_decode_range(0x12345fff, false, &base, &size);
	CHECK_EQ(base, 0x12345000);
	CHECK_EQ(size, 4096);
	/* S=1, bit 12 clear: 8 KiB. */
	pci_ats_decode_range(0x12344000, true, &base, &size);
	CHECK_EQ(base, 0x12344000);
	CHECK_EQ(size, 8 * KiB);
	/* bit 12 set, bit 13 clear: 16 KiB */
	pci_ats_decode_range(0x12341000, true, &base, &size);
	CHECK_EQ(base, 0x12340000);
	CHECK_EQ(size, 16 * KiB);
	/* 2 MiB as Linux encodes it: addr | ((1 << (12 + 9 - 1)) - 1), S=1. */
	pci_ats_decode_range(0x40000000 | ((1ull << 20) - 1), true, &base, &size);
	CHECK_EQ(base, 0x40000000);
	CHECK_EQ(size, 2 * MiB);
	/* Address bits below the size are ignored: 0x...5000 with bit 13 clear is 16 KiB at
	 * 0x...4000; bit 14 (part of the base) stays. */
	pci_ats_decode_range(0xabc5000, true, &base, &size);
	CHECK_EQ(size, 16 * KiB);
	CHECK_EQ(base, 0xabc4000);
	/* 2^63: bits 61:12 ones, 62 clear. */
	pci_ats_decode_range(0x3ffffffffffff000ull, true, &base, &size);
	CHECK_EQ(size, 1ull << 63);
	CHECK_EQ(base, 0);
	pci_ats_decode_range(0xbffffffffffff000ull, true, &base, &size);
	CHECK_EQ(size, 1ull << 63);
	CHECK_EQ(base, 1ull << 63);
	/* The whole space: bits 62:12 all ones, bit 63 either way. */
	pci_ats_decode_range(0x7ffffffffffff000ull, true, &base, &size);
	CHECK_EQ(size, 0);
	CHECK_EQ(base, 0);
	pci_ats_decode_range(0xffffffffffffffffull, true, &base, &size);
	CHECK_EQ(size, 0);
	CHECK_EQ(base, 0);
	/* The top page, S=0. */
	pci_ats_decode_range(0xfffffffffffff000ull, false, &base, &size);
	CHECK_EQ(base, 0xfffffffffffff000ull);
	CHECK_EQ(size, 4096);
}

/* ---- helpers ---------------------------------------------------------------------------- */

/* Cache a translation of `size` at iova (identity) for the tag, by reading its first byte. */
static int cache(bool has_pasid, uint32_t pasid, uint64_t iova, uint64_t size, uint8_t perm)
{
	uint8_t b;

	CHECK_RET(fake_map(&fa, has_pasid, pasid, iova, size, iova % (32 * MiB), perm) >= 0);
	CHECK_RET(pci_endpoint_dma_read(ep, has_pasid ? PCI_DMA_PASID : 0, pasid, iova, &b, 1,
					NULL) == 0);
	return 0;
}

static bool cached(bool has_pasid, uint32_t pasid, uint64_t addr)
{
	struct pci_atc_view v;

	return pci_endpoint_atc_peek(ep, has_pasid ? PCI_DMA_PASID : 0, pasid, addr, &v) == 0;
}

static int inv(bool has_pasid, uint32_t pasid, bool global, uint64_t addr, bool s)
{
	struct pci_ats_inv r = {
	    .pasid = pasid, .rid = RID, .has_pasid = has_pasid, .global = global};

	pci_ats_decode_range(addr, s, &r.addr, &r.size);
	return port.invalidate(port.ctx, &r);
}

static uint64_t entries(void)
{
	struct pci_endpoint_stats s;

	pci_endpoint_get_stats(ep, &s);
	return s.atc_entries;
}

/* ---- selections ------------------------------------------------------------------------- */

/* The same page cached without PASID, for PASID 1 and for PASID 2. */
static int three_tags(uint64_t iova)
{
	CHECK_RET(cache(false, 0, iova, 4096, PCI_PERM_R) == 0);
	CHECK_RET(cache(true, 1, iova, 4096, PCI_PERM_R) == 0);
	CHECK_RET(cache(true, 2, iova, 4096, PCI_PERM_R) == 0);
	return 0;
}

static void test_pasid_selective(void)
{
	CHECK(three_tags(0x10000) == 0);
	CHECK_EQ(inv(true, 1, false, 0x10000, false), 0);
	CHECK(!cached(true, 1, 0x10000));
	CHECK(cached(true, 2, 0x10000));
	CHECK(cached(false, 0, 0x10000));
	/* A PASID that has nothing: completes, removes nothing. */
	CHECK_EQ(inv(true, 77, false, 0x10000, false), 0);
	CHECK_EQ(entries(), 2);
}

static void test_without_pasid(void)
{
	CHECK(three_tags(0x10000) == 0);
	CHECK_EQ(inv(false, 0, false, 0x10000, false), 0);
	CHECK(!cached(false, 0, 0x10000));
	CHECK(cached(true, 1, 0x10000));
	CHECK(cached(true, 2, 0x10000));
}

static void test_global_all_pasids(void)
{
	CHECK(three_tags(0x10000) == 0);
	CHECK(cache(true, 3, 0x11000, 4096, PCI_PERM_R) == 0); /* outside the range */
	CHECK_EQ(inv(true, 1, true, 0x10000, false), 0);
	CHECK(!cached(true, 1, 0x10000));
	CHECK(!cached(true, 2, 0x10000));
	CHECK(cached(false, 0, 0x10000)); /* requests without PASID are not a PASID */
	CHECK(cached(true, 3, 0x11000));
	/* Without Global Invalidate Supported the bit is ignored: only the PASID goes. */
	make_ep(false);
	CHECK(three_tags(0x10000) == 0);
	CHECK_EQ(inv(true, 1, true, 0x10000, false), 0);
	CHECK(!cached(true, 1, 0x10000));
	CHECK(cached(true, 2, 0x10000));
	/* A global request without a PASID is taken as global. */
	CHECK_EQ(inv(false, 0, true, 0x10000, false), 0);
	CHECK(!cached(true, 2, 0x10000));
	CHECK(cached(false, 0, 0x10000));
}

/* A Global mapping serves every PASID and only a global request removes it. */
static void test_global_mappings(void)
{
	struct pci_endpoint_stats s;
	uint8_t b;

	CHECK(cache(true, 1, 0x20000, 4096, PCI_PERM_R | PCI_PERM_GLOBAL) == 0);
	CHECK(cached(true, 5, 0x20000));
	CHECK_EQ(pci_endpoint_dma_read(ep, PCI_DMA_PASID, 5, 0x20000, &b, 1, NULL), 0);
	pci_endpoint_get_stats(ep, &s);
	CHECK_EQ(s.translation_requests, 1);
	CHECK_EQ(s.hits, 1);
	CHECK(!cached(false, 0, 0x20000)); /* not for requests without PASID */
	CHECK_EQ(inv(true, 1, false, 0x20000, false), 0);
	CHECK(cached(true, 1, 0x20000));
	CHECK_EQ(inv(false, 0, false, 0x20000, false), 0);
	CHECK(cached(true, 1, 0x20000));
	CHECK_EQ(inv(true, 9, true, 0x20000, false), 0);
	CHECK(!cached(true, 1, 0x20000));
	CHECK(!cached(true, 5, 0x20000));
	/* Without Global Invalidate Supported the G bit is not honoured. */
	make_ep(false);
	CHECK(cache(true, 1, 0x20000, 4096, PCI_PERM_R | PCI_PERM_GLOBAL) == 0);
	CHECK(cached(true, 1, 0x20000));
	CHECK(!cached(true, 5, 0x20000));
	struct pci_atc_view v;
	CHECK_EQ(pci_endpoint_atc_peek(ep, PCI_DMA_PASID, 1, 0x20000, &v), 0);
	CHECK(!(v.perm & PCI_PERM_GLOBAL));
}

/* ---- sizes ------------------------------------------------------------------------------ */

/* Pages 0x100000 .. 0x10f000 cached for PASID 4, each its own 4 KiB entry. */
static int sixteen_pages(void)
{
	for (uint64_t a = 0x100000; a < 0x110000; a += 4096)
		CHECK_RET(cache(true, 4, a, 4096, PCI_PERM_R | PCI_PERM_W) == 0);
	return 0;
}

static void test_sizes(void)
{
	/* 4 KiB (S=0), with stray low bits. */
	CHECK(sixteen_pages() == 0);
	CHECK_EQ(inv(true, 4, false, 0x103abc, false), 0);
	CHECK(!cached(true, 4, 0x103000));
	CHECK(cached(true, 4, 0x102000) && cached(true, 4, 0x104000));
	CHECK_EQ(entries(), 15);
	/* 8 KiB: bit 12 clear. */
	CHECK_EQ(inv(true, 4, false, 0x106000, true), 0);
	CHECK(!cached(true, 4, 0x106000) && !cached(true, 4, 0x107000));
	CHECK(cached(true, 4, 0x105000) && cached(true, 4, 0x108000));
	CHECK_EQ(entries(), 13);
	/* 16 KiB given with an unaligned address: 0x109000 | bit 12 => 16 KiB at 0x108000. */
	CHECK_EQ(inv(true, 4, false, 0x109000, true), 0);
	for (uint64_t a = 0x108000; a < 0x10c000; a += 4096)
		CHECK(!cached(true, 4, a));
	CHECK(cached(true, 4, 0x10c000));
	CHECK_EQ(entries(), 9);
	/* 64 KiB at 0x100000 takes the rest. */
	CHECK_EQ(inv(true, 4, false, 0x100000 | 0x7000, true), 0);
	CHECK_EQ(entries(), 0);
	/* The whole space. */
	CHECK(sixteen_pages() == 0);
	CHECK(cache(true, 4, 0x40000000, 2 * MiB, PCI_PERM_R) == 0);
	CHECK(cache(true, 5, 0x40000000, 2 * MiB, PCI_PERM_R) == 0);
	CHECK_EQ(inv(true, 4, false, 0x7ffffffffffff000ull, true), 0);
	CHECK_EQ(entries(), 1);
	CHECK(cached(true, 5, 0x40000000));
	/* 2^63 ranges: the upper half leaves the lower half alone. */
	CHECK_EQ(inv(true, 5, false, 0xbffffffffffff000ull, true), 0);
	CHECK(cached(true, 5, 0x40000000));
	CHECK_EQ(inv(true, 5, false, 0x3ffffffffffff000ull, true), 0);
	CHECK(!cached(true, 5, 0x40000000));
}

/* An entry larger than the range is removed whole; one smaller than it inside goes too. */
static void test_large_entry_removed_whole(void)
{
	CHECK(cache(false, 0, 0x200000, 2 * MiB, PCI_PERM_R) == 0);
	CHECK(cache(false, 0, 0x40000000, 1 * GiB, PCI_PERM_R) == 0);
	CHECK(cache(false, 0, 0x1000, 4096, PCI_PERM_R) == 0);
	CHECK_EQ(entries(), 3);
	/* The last 4 KiB page of the 2 MiB entry. */
	CHECK_EQ(inv(false, 0, false, 0x3ff000, false), 0);
	CHECK(!cached(false, 0, 0x200000));
	CHECK(!cached(false, 0, 0x3fffff));
	CHECK(cached(false, 0, 0x40000000));
	/* 8 KiB in the middle of the 1 GiB one. */
	CHECK_EQ(inv(false, 0, false, 0x5432e000, true), 0);
	CHECK(!cached(false, 0, 0x40000000));
	CHECK(cached(false, 0, 0x1000));
	/* A 2 MiB range over a 4 KiB entry. */
	CHECK_EQ(inv(false, 0, false, 0xfffff, true), 0);
	CHECK_EQ(entries(), 0);
}

/* The top of the address space: base + size == 2^64. */
static void test_top_of_address_space(void)
{
	CHECK(cache(false, 0, 0xfffffffffffff000ull, 4096, PCI_PERM_R) == 0);
	CHECK(cache(false, 0, 0xffffffffffe00000ull, 4096, PCI_PERM_R) == 0);
	CHECK(cache(false, 0, 0xffffffffffdff000ull, 4096, PCI_PERM_R) == 0);
	/* 2 MiB at the very top: the two upper entries, not the one just below. */
	CHECK_EQ(inv(false, 0, false, 0xffffffffffe00000ull | 0xff000, true), 0);
	CHECK(!cached(false, 0, 0xfffffffffffff000ull));
	CHECK(!cached(false, 0, 0xffffffffffe00000ull));
	CHECK(cached(false, 0, 0xffffffffffdff000ull));
	/* The top page alone (few enough sets to probe rather than scan). */
	CHECK(cache(false, 0, 0xfffffffffffff000ull, 4096, PCI_PERM_R) == 0);
	CHECK_EQ(inv(false, 0, false, 0xfffffffffffff000ull, false), 0);
	CHECK(!cached(false, 0, 0xfffffffffffff000ull));
	CHECK(cached(false, 0, 0xffffffffffdff000ull));
}

/* A range of more pages than the ATC has sets is handled by scanning every slot. */
static void test_many_entries_wide_range(void)
{
	for (uint64_t a = 0; a < 256 * 4096ull; a += 4096)
		CHECK(cache(true, 6, 0x800000 + a, 4096, PCI_PERM_R) == 0);
	/* 64 x 8 = 512 slots, 256 entries (some may have been evicted by set conflicts). */
	uint64_t before = entries();
	CHECK(before > 200);
	CHECK_EQ(inv(true, 6, false, 0x800000 | 0x7f000, true), 0); /* 512 KiB: 128 pages */
	for (uint64_t a = 0; a < 128 * 4096ull; a += 4096)
		CHECK(!cached(true, 6, 0x800000 + a));
	struct pci_endpoint_stats s;
	pci_endpoint_get_stats(ep, &s);
	CHECK_EQ(s.invalidations, 1);
	CHECK_EQ(s.inv_entries, before - s.atc_entries);
	CHECK_EQ(inv(true, 6, false, 0x800000 | 0xff000, true), 0); /* 1 MiB */
	CHECK_EQ(entries(), 0);
}

/* ---- bad requests ----------------------------------------------------------------------- */

static void test_bad_requests(void)
{
	struct pci_ats_inv r = {.addr = 0x1000, .size = 4096, .rid = RID};
	struct pci_ats_port none = pci_endpoint_ats_port(NULL);

	CHECK(cache(false, 0, 0x1000, 4096, PCI_PERM_R) == 0);
	CHECK(none.invalidate == NULL && none.ctx == NULL);
	CHECK_EQ(port.invalidate(port.ctx, NULL), -EINVAL);
	CHECK_EQ(port.invalidate(NULL, &r), -EINVAL);
	r.rid = RID + 1;
	CHECK_EQ(port.invalidate(port.ctx, &r), -EINVAL);
	r.rid = RID;
	r.size = 2048;
	CHECK_EQ(port.invalidate(port.ctx, &r), -EINVAL);
	r.size = 12288;
	CHECK_EQ(port.invalidate(port.ctx, &r), -EINVAL);
	r.size = 8192; /* 0x1000 is not 8 KiB aligned */
	CHECK_EQ(port.invalidate(port.ctx, &r), -EINVAL);
	CHECK(cached(false, 0, 0x1000));
	struct pci_endpoint_stats s;
	pci_endpoint_get_stats(ep, &s);
	CHECK_EQ(s.invalidations, 0);
	r.addr = 0;
	CHECK_EQ(port.invalidate(port.ctx, &r), 0);
	CHECK(!cached(false, 0, 0x1000));
}

int main(void)
{
	RUN(test_decode_range);
	RUN_EP(test_pasid_selective);
	RUN_EP(test_without_pasid);
	RUN_EP(test_global_all_pasids);
	RUN_EP(test_global_mappings);
	RUN_EP(test_sizes);
	RUN_EP(test_large_entry_removed_whole);
	RUN_EP(test_top_of_address_space);
	RUN_EP(test_many_entries_wide_range);
	RUN_EP(test_bad_requests);
	return CHECK_DONE();
}
