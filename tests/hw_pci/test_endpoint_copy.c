// SPDX-License-Identifier: MIT
/*
 * pci_endpoint_dma_copy(): copies inside the function through the ATC (4 KiB and 2 MiB
 * translations, physically contiguous and scattered pages) and without ATS, runs of ATC
 * entries, faults on either side (address, bytes done, side, memory untouched past the
 * fault), a translation invalidated between the lookup and the copy, check mode, aliasing,
 * and bad arguments. The endpoint tests' fake agent plays the IOMMU.
 */
#include "check.h"
#include "fake_agent.h"

#include <softiommu/mem.h>
#include <softiommu/pci.h>

#define MiB  (1024 * 1024ull)
#define SRC  0x40000000ull /* device addresses */
#define DST  0x50000000ull
#define SPA  0x01000000ull /* where they land */
#define DPA  0x02000000ull
#define SPAN (512 * 1024u) /* bytes mapped on each side */

static struct fake_agent fa;
static struct mem *mem;
static struct pci_endpoint *ep;

static void setup(bool ats)
{
	struct pci_endpoint_config cfg;

	fake_init(&fa);
	mem = mem_create_sparse(256 * MiB);
	if (!mem)
		abort();
	cfg = fake_ep_config(&fa, mem);
	cfg.ats = cfg.ats_enable = ats;
	cfg.atc_sets = ats ? 64 : 0;
	cfg.atc_ways = ats ? 8 : 0;
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

/* Map `pages` 4 KiB pages of both sides with PASID 1; `scatter` maps page i to a
 * physical page out of order (so no two neighbours are contiguous). */
static void map_4k(bool scatter, uint8_t sperm, uint8_t dperm)
{
	unsigned pages = SPAN / 4096;

	for (unsigned i = 0; i < pages; i++) {
		unsigned p = scatter ? (i * 37) % pages : i;

		fake_map(&fa, true, 1, SRC + i * 4096ull, 4096, SPA + p * 4096ull, sperm);
		fake_map(&fa, true, 1, DST + i * 4096ull, 4096, DPA + p * 4096ull, dperm);
	}
}

static void map_2m(void)
{
	fake_map(&fa, true, 1, SRC, 2 * MiB, SPA, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, true, 1, DST, 2 * MiB, DPA, PCI_PERM_R | PCI_PERM_W);
}

/* Device address -> CPU pointer under the mapping made by map_4k/map_2m. */
static uint8_t *at(uint64_t base, uint64_t off, bool scatter)
{
	uint64_t pa = base == SRC ? SPA : DPA;
	unsigned pages = SPAN / 4096, i = (unsigned)(off / 4096);

	if (scatter)
		pa += ((i * 37) % pages) * 4096ull + off % 4096;
	else
		pa += off;
	return mem_ptr(mem, pa, 1);
}

static struct pci_endpoint_stats stats(void)
{
	struct pci_endpoint_stats s;

	if (pci_endpoint_get_stats(ep, &s))
		abort();
	return s;
}

/* Random copies inside the window, checked byte by byte against what was there. */
static int random_copies(bool scatter, unsigned n, uint64_t seed)
{
	for (unsigned k = 0; k < n; k++) {
		uint64_t len = 1 + check_rand(&seed) % (3 * 4096 * 8);
		uint64_t so = check_rand(&seed) % (SPAN - len),
			 d0 = check_rand(&seed) % (SPAN - len);
		struct pci_dma_status st;

		for (uint64_t i = 0; i < len; i++)
			*at(SRC, so + i, scatter) = (uint8_t)(k + i * 13);
		CHECK_RET(
		    pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST + d0, SRC + so, len, &st) == 0);
		CHECK_RET(st.done == len);
		for (uint64_t i = 0; i < len; i++)
			CHECK_RET(*at(DST, d0 + i, scatter) == (uint8_t)(k + i * 13));
	}
	return 0;
}

static void test_copy_4k_contiguous_runs(void)
{
	struct pci_endpoint_stats s;
	struct pci_dma_status st;

	setup(true);
	map_4k(false, PCI_PERM_R | PCI_PERM_W, PCI_PERM_R | PCI_PERM_W);
	CHECK(random_copies(false, 40, 1) == 0);
	/* A page-aligned 64 KiB copy once the ATC is warm: runs join contiguous entries, so
	 * one translated request per 16 entries and side, and one hit per entry. */
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, SRC, 64 * 1024, &st), 0);
	s = stats();
	unsigned before = fake_count(&fa, PCI_AT_TRANSLATED);
	uint64_t hits = s.hits;
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, SRC, 64 * 1024, &st), 0);
	CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATED) - before, 2);
	CHECK_EQ(stats().hits - hits, 32);
	CHECK_EQ(stats().misses, s.misses);
	teardown();
}

/* The smallest copies, at page ends on either side. */
static void test_copy_small(void)
{
	setup(true);
	map_4k(false, PCI_PERM_R | PCI_PERM_W, PCI_PERM_R | PCI_PERM_W);
	for (uint64_t len = 1; len <= 9; len++) {
		for (uint64_t so = 4096 - 9; so < 4096 + 2; so += 5) {
			struct pci_dma_status st;

			for (uint64_t i = 0; i < len; i++)
				*at(SRC, so + i, false) = (uint8_t)(len + i + 1);
			memset(at(DST, 4096 - 16, false), 0, 32);
			CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST + 8192 - so,
						       SRC + so, len, &st),
				 0);
			CHECK_EQ(st.done, len);
			for (uint64_t i = 0; i < len; i++)
				CHECK_EQ(*at(DST, 8192 - so + i, false), (uint8_t)(len + i + 1));
			CHECK_EQ(*at(DST, 8192 - so + len, false), 0);
		}
	}
	teardown();
}

static void test_copy_4k_scattered(void)
{
	setup(true);
	map_4k(true, PCI_PERM_R | PCI_PERM_W, PCI_PERM_R | PCI_PERM_W);
	CHECK(random_copies(true, 40, 2) == 0);
	teardown();
}

static void test_copy_2m(void)
{
	struct pci_dma_status st;
	unsigned before;

	setup(true);
	map_2m();
	CHECK(random_copies(false, 40, 3) == 0);
	before = fake_count(&fa, PCI_AT_TRANSLATED);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST + 8192, SRC + 100, 200000, &st),
		 0);
	CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATED) - before, 2); /* one piece */
	teardown();
}

static void test_copy_no_ats(void)
{
	setup(false);
	map_4k(true, PCI_PERM_R | PCI_PERM_W, PCI_PERM_R | PCI_PERM_W);
	CHECK(random_copies(true, 20, 4) == 0);
	CHECK_EQ(fake_count(&fa, PCI_AT_TRANSLATED), 0);
	teardown();
}

static bool all_are(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* A hole in the source at page 5: 5 pages copied, nothing after them written. */
static void fault_src(bool ats)
{
	struct pci_dma_status st;

	setup(ats);
	map_4k(false, PCI_PERM_R | PCI_PERM_W, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, true, 1, SRC + 5 * 4096, 4096, 0, 0); /* replaced: no permission */
	memset(at(SRC, 0, false), 0x11, 8 * 4096);
	memset(at(DST, 0, false), 0xee, 8 * 4096);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST + 100, SRC + 100, 7 * 4096, &st),
		 -EFAULT);
	CHECK(!st.write);
	CHECK_EQ(st.addr, SRC + 5 * 4096);
	CHECK_EQ(st.done, 5 * 4096 - 100);
	CHECK_EQ(st.at, ats ? PCI_AT_TRANSLATION : PCI_AT_UNTRANSLATED);
	CHECK(all_are(at(DST, 0, false), 100, 0xee));
	CHECK(all_are(at(DST, 100, false), 5 * 4096 - 100, 0x11));
	CHECK(all_are(at(DST, 5 * 4096, false), 3 * 4096, 0xee));
	teardown();
}

static void test_fault_src_ats(void)
{
	fault_src(true);
}

static void test_fault_src_no_ats(void)
{
	fault_src(false);
}

/* A read-only destination page: -EACCES (ATS) or a refused request (no ATS), write side. */
static void test_fault_dst(void)
{
	for (int ats = 0; ats < 2; ats++) {
		struct pci_dma_status st;

		setup(ats);
		map_4k(false, PCI_PERM_R | PCI_PERM_W, PCI_PERM_R | PCI_PERM_W);
		fake_map(&fa, true, 1, DST + 3 * 4096, 4096, DPA + 3 * 4096, PCI_PERM_R);
		memset(at(SRC, 0, false), 0x22, 8 * 4096);
		CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST + 10, SRC, 6 * 4096, &st),
			 ats ? -EACCES : -EFAULT);
		CHECK(st.write);
		CHECK_EQ(st.addr, DST + 3 * 4096);
		CHECK_EQ(st.done, 3 * 4096 - 10);
		CHECK(all_are(at(DST, 10, false), 3 * 4096 - 10, 0x22));
		CHECK(all_are(at(DST, 3 * 4096, false), 4 * 4096, 0));
		CHECK(stats().faults >= 1);
		teardown();
	}
}

/* Memory behind a translation missing on either side: -EIO with the side. */
static void test_fault_memory(void)
{
	struct pci_dma_status st;

	setup(true);
	map_4k(false, PCI_PERM_R | PCI_PERM_W, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, true, 1, SRC + 2 * 4096, 4096, 1ull << 40, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, SRC, 4 * 4096, &st), -EIO);
	CHECK(!st.write);
	CHECK_EQ(st.addr, SRC + 2 * 4096);
	CHECK_EQ(st.pa, 1ull << 40);
	CHECK_EQ(st.done, 2 * 4096);
	fake_map(&fa, true, 1, SRC + 2 * 4096, 4096, SPA + 2 * 4096, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, true, 1, DST + 1 * 4096, 4096, 1ull << 40, PCI_PERM_R | PCI_PERM_W);
	pci_endpoint_ats_disable(ep); /* forget the cached pages */
	pci_endpoint_ats_enable(ep, 0);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, SRC, 4 * 4096, &st), -EIO);
	CHECK(st.write);
	CHECK_EQ(st.addr, DST + 4096);
	CHECK_EQ(st.done, 4096);
	teardown();
}

/* The translation changes between the lookup and the copy (an invalidation arrives while
 * the translated request is in flight): the piece is translated again and the new mapping
 * used; the old physical page is never read. */
static int hook_calls;

static void remap_on_translated(void *ctx, const struct pci_req *req)
{
	struct pci_ats_port port = pci_endpoint_ats_port(ep);
	struct pci_ats_inv inv = {
	    .addr = SRC, .size = 4096, .rid = pci_endpoint_rid(ep), .has_pasid = true, .pasid = 1};

	(void)ctx;
	if (req->at != PCI_AT_TRANSLATED || hook_calls++)
		return;
	fake_map(&fa, true, 1, SRC, 4096, SPA + 100 * 4096, PCI_PERM_R | PCI_PERM_W);
	port.invalidate(port.ctx, &inv);
}

static void test_invalidation_between_lookup_and_copy(void)
{
	struct pci_dma_status st;

	setup(true);
	map_4k(false, PCI_PERM_R | PCI_PERM_W, PCI_PERM_R | PCI_PERM_W);
	memset(at(SRC, 0, false), 0x33, 4096);			  /* old page */
	memset(mem_ptr(mem, SPA + 100 * 4096, 4096), 0x44, 4096); /* new page */
	hook_calls = 0;
	fa.hook = remap_on_translated;
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, SRC, 4096, &st), 0);
	fa.hook = NULL;
	CHECK(all_are(at(DST, 0, false), 4096, 0x44));
	CHECK(stats().retries >= 1);
	teardown();
}

struct mismatches {
	unsigned n;
	uint64_t addr[8];
};

static void on_mismatch(void *ctx, const struct pci_atc_mismatch *m)
{
	struct mismatches *r = ctx;

	if (r->n < 8)
		r->addr[r->n] = m->addr;
	r->n++;
}

/* Check mode: every page served from the ATC is checked, so a stale run is reported page
 * by page even though the copy joins them when the checker is off. */
static void test_check_mode(void)
{
	struct pci_translation_agent ref = fake_as_agent(&fa);
	struct mismatches r = {0};
	struct pci_dma_status st;

	setup(true);
	map_4k(false, PCI_PERM_R | PCI_PERM_W, PCI_PERM_R | PCI_PERM_W);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, SRC, 4 * 4096, &st), 0);
	CHECK_EQ(pci_endpoint_set_checker(ep, &ref, on_mismatch, &r), 0);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, SRC, 4 * 4096, &st), 0);
	CHECK_EQ(r.n, 0);
	/* Remap two source pages without invalidating: the ATC is stale for them. */
	fake_map(&fa, true, 1, SRC + 1 * 4096, 4096, SPA + 200 * 4096, PCI_PERM_R);
	fake_map(&fa, true, 1, SRC + 2 * 4096, 4096, SPA + 201 * 4096, PCI_PERM_R);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, SRC, 4 * 4096, &st), 0);
	CHECK_EQ(r.n, 2);
	CHECK_EQ(r.addr[0], SRC + 4096);
	CHECK_EQ(r.addr[1], SRC + 2 * 4096);
	CHECK_EQ(stats().check_mismatches, 2);
	teardown();
}

/* Two device ranges that alias one physical range: copied as memmove would. */
static void test_physical_alias(void)
{
	struct pci_dma_status st;
	uint8_t *p;

	setup(true);
	fake_map(&fa, true, 1, SRC, 2 * MiB, SPA, PCI_PERM_R | PCI_PERM_W);
	fake_map(&fa, true, 1, DST, 2 * MiB, SPA, PCI_PERM_R | PCI_PERM_W);
	p = mem_ptr(mem, SPA, 8192);
	for (int i = 0; i < 8192; i++)
		p[i] = (uint8_t)i;
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST + 16, SRC, 4096, &st), 0);
	for (int i = 0; i < 4096; i++)
		CHECK_EQ(p[16 + i], (uint8_t)i);
	teardown();
}

static void test_bad_arguments(void)
{
	struct pci_dma_status st;

	setup(true);
	map_2m();
	CHECK_EQ(pci_endpoint_dma_copy(NULL, 0, 0, DST, SRC, 64, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, SRC, 0, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, ~0ull - 10, SRC, 64, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, ~0ull - 10, 64, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_copy(ep, 1u << 7, 1, DST, SRC, 64, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_EXEC | PCI_DMA_PASID, 1, DST, SRC, 64, &st),
		 -EINVAL); /* execute is a read */
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, SRC + 32, SRC, 64, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, SRC, SRC + 63, 64, &st), -EINVAL);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, SRC + 64, SRC, 64, &st), 0);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1u << 20, DST, SRC, 64, &st), -ERANGE);
	CHECK_EQ(pci_endpoint_pasid_disable(ep), 0);
	CHECK_EQ(pci_endpoint_dma_copy(ep, PCI_DMA_PASID, 1, DST, SRC, 64, &st), -EOPNOTSUPP);
	CHECK_EQ(pci_endpoint_dma_copy(ep, 0, 0, DST, SRC, 64, NULL), -EFAULT); /* no mapping */
	CHECK_EQ(pci_endpoint_set_state(ep, PCI_EP_REMOVED), 0);
	CHECK_EQ(pci_endpoint_dma_copy(ep, 0, 0, DST, SRC, 64, &st), -ENODEV);
	teardown();
}

int main(void)
{
	RUN(test_copy_4k_contiguous_runs);
	RUN(test_copy_small);
	RUN(test_copy_4k_scattered);
	RUN(test_copy_2m);
	RUN(test_copy_no_ats);
	RUN(test_fault_src_ats);
	RUN(test_fault_src_no_ats);
	RUN(test_fault_dst);
	RUN(test_fault_memory);
	RUN(test_invalidation_between_lookup_and_copy);
	RUN(test_check_mode);
	RUN(test_physical_alias);
	RUN(test_bad_arguments);
	return CHECK_DONE();
}
