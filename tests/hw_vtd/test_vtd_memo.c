// SPDX-License-Identifier: MIT
/*
 * The per-thread memos in front of the translation caches (src/hw/vtd/memo.h): the
 * requester memo (what the context and PASID caches decided for a kind of request, and
 * translated requests) and the paging-structure memo (first-stage PDEs). They must never
 * answer differently from the caches behind them: they follow every invalidation and
 * eviction of the entries they stand for, keep serving what the caches keep serving, and
 * count as the hits those caches would have counted.
 */
#include "check.h"
#include "vtd_guest.h"

#include "hw/vtd/cache_inv.h"

#include <pthread.h>

#define RID	PCI_RID(2, 3, 0)
#define RID2	PCI_RID(2, 4, 0)
#define PASID	9u
#define DID	17u
#define DATA	0x200000000ull
#define FS_LEAF (VTD_FL_P | VTD_FL_RW | VTD_FL_US)

static int setup(struct guest *g, struct vtd_config *c)
{
	if (!c->version)
		vtd_config_default(c);
	g_keep_caches = true;
	return g_init(g, c, true);
}

/* A scalable context entry for `rid` (ATS allowed unless `no_dte`) and a first-stage PASID
 * entry; returns the first-stage root table. */
static uint64_t fs_setup(struct guest *g, uint16_t rid, bool no_dte)
{
	uint64_t dir = g_sm_ctx(g, rid, VTD_SCE_Q0_PASIDE | (no_dte ? 0 : VTD_SCE_Q0_DTE), 7);
	uint64_t root = g_page(g);

	/* A domain per device: IOTLB entries are tagged by domain, not by device. */
	g_pe(g, dir, PASID, VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, VTD_PGTT_FS),
	     rid == RID ? DID : DID + 1, root);
	return root;
}

static struct vtd_cache_counters ctr(struct guest *g, enum vtd_cache_id id)
{
	struct vtd_stats s;

	memset(&s, 0xff, sizeof(s));
	if (vtd_get_stats(g->vtd, &s))
		memset(&s, 0xff, sizeof(s)); /* fails every comparison */
	return s.cache.cache[id];
}

static struct pci_resp translated(struct guest *g, uint16_t rid, uint64_t addr)
{
	return g_req(g, rid, PASID, addr, PCI_REQ_READ, PCI_AT_TRANSLATED);
}

/* Translated requests pass on the context entry's DTE, counted as context-cache hits,
 * until the context cache lets go of the entry. */
static void test_translated(void)
{
	struct guest g;
	struct vtd_config c = {0};

	CHECK(!setup(&g, &c));
	fs_setup(&g, RID, false);
	struct pci_resp r = translated(&g, RID, 0x123456789000ull);
	CHECK_EQ(r.status, PCI_SC);
	CHECK_EQ(r.addr, 0x123456789000ull);
	CHECK_EQ(r.perm, PCI_PERM_R | PCI_PERM_W | PCI_PERM_X);
	CHECK_EQ(ctr(&g, VTD_CACHE_CONTEXT).misses, 1);
	uint64_t hits = ctr(&g, VTD_CACHE_CONTEXT).hits;
	for (int i = 0; i < 10; i++)
		CHECK_EQ(translated(&g, RID, 0x1000ull * i + 0x18).addr, 0x1000ull * i + 0x18);
	CHECK_EQ(ctr(&g, VTD_CACHE_CONTEXT).hits, hits + 10);
	CHECK_EQ(ctr(&g, VTD_CACHE_PASID).hits + ctr(&g, VTD_CACHE_PASID).misses, 0);
	/* Software takes ATS away without the invalidation: the cached entry still allows. */
	uint64_t cpa = g_sm_ctx_pa(&g, RID);
	g_wr(&g, cpa, g_rd(&g, cpa) & ~VTD_SCE_Q0_DTE);
	CHECK_EQ(translated(&g, RID, 0x5000).status, PCI_SC);
	/* Another device's invalidation leaves it; this device's takes it (SCT.5). */
	vtd_cc_inv_device(g.vtd, 0, RID2, 0);
	CHECK_EQ(translated(&g, RID, 0x5000).status, PCI_SC);
	vtd_cc_inv_device(g.vtd, 0, RID, 0);
	r = translated(&g, RID, 0x5000);
	CHECK_EQ(r.status, PCI_UR);
	CHECK_EQ(r.fault, VTD_FR_SCT_5);
	CHECK_EQ(translated(&g, RID, 0x6000).fault, VTD_FR_SCT_5);
	/* And back: DTE set, the context entry of the failed requests is cached (it was
	 * read and is valid), so it takes another invalidation. */
	g_wr(&g, cpa, g_rd(&g, cpa) | VTD_SCE_Q0_DTE);
	CHECK_EQ(translated(&g, RID, 0x6000).fault, VTD_FR_SCT_5);
	vtd_cc_inv_global(g.vtd);
	CHECK_EQ(translated(&g, RID, 0x6000).status, PCI_SC);
	/* A PASID beyond the unit's width is refused before any memo is consulted. */
	struct pci_req bad = {.addr = 0,
			      .rid = RID,
			      .pasid = VTD_PASID_MAX + 1,
			      .flags = PCI_REQ_PASID,
			      .at = PCI_AT_TRANSLATED};
	CHECK_EQ(vtd_translate(g.vtd, &bad, &r), -EINVAL);
	/* Without ATS in the context entry, translated requests fault from the start. */
	g_fini(&g);
	CHECK(!setup(&g, &c));
	fs_setup(&g, RID, true);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(translated(&g, RID, 0x1000).fault, VTD_FR_SCT_5);
	g_fini(&g);
}

/* Legacy mode: translated requests pass on TT = 01 (device TLB enabled), fault LCT.5 on
 * TT = 00 once the context cache lets go of the entry, and requests with a PASID fault. */
static void test_translated_legacy(void)
{
	struct guest g;
	struct vtd_config c = {0};
	uint16_t rid = PCI_RID(7, 1, 0);

	vtd_config_default(&c);
	g_keep_caches = true;
	CHECK(!g_init(&g, &c, false));
	uint64_t root = g_page(&g), q1 = VTD_SET(VTD_CE_Q1_AW, 2) | VTD_SET(VTD_CE_Q1_DID, 3);
	g_legacy_ctx(&g, rid, VTD_CE_Q0_P | VTD_SET(VTD_CE_Q0_TT, VTD_TT_ALL) | root, q1);
	for (int i = 0; i < 4; i++) {
		struct pci_resp r =
		    g_req(&g, rid, NO_PASID, 0x9000 + 0x1000 * i, PCI_REQ_WRITE, PCI_AT_TRANSLATED);

		CHECK_EQ(r.status, PCI_SC);
		CHECK_EQ(r.addr, 0x9000 + 0x1000 * i);
	}
	CHECK_EQ(ctr(&g, VTD_CACHE_CONTEXT).misses, 1);
	CHECK_EQ(ctr(&g, VTD_CACHE_CONTEXT).hits, 3);
	/* A PASID on a legacy unit: a fault however the same requester's other requests do. */
	CHECK_EQ(g_req(&g, rid, 5, 0x9000, PCI_REQ_WRITE, PCI_AT_TRANSLATED).fault, VTD_FR_RTA_2);
	g_legacy_ctx(&g, rid, VTD_CE_Q0_P | VTD_SET(VTD_CE_Q0_TT, VTD_TT_UNTRANSLATED) | root, q1);
	CHECK_EQ(g_req(&g, rid, NO_PASID, 0x9000, PCI_REQ_WRITE, PCI_AT_TRANSLATED).status, PCI_SC);
	vtd_cc_inv_device(g.vtd, 3, rid, 0);
	CHECK_EQ(g_req(&g, rid, NO_PASID, 0x9000, PCI_REQ_WRITE, PCI_AT_TRANSLATED).fault,
		 VTD_FR_LCT_5);
	g_fini(&g);
}

/* A context entry evicted by another device's: the requester memo lets go of it too, so
 * a change in memory is seen at once (as the cache would see it on its miss). */
static void test_eviction(void)
{
	struct guest g;
	struct vtd_config c = {0};

	vtd_config_default(&c);
	c.context_cache.sets = 1;
	c.context_cache.ways = 1;
	CHECK(!setup(&g, &c));
	uint64_t root = fs_setup(&g, RID, false), root2 = fs_setup(&g, RID2, false);
	g_map(&g, root, 4, 0x1000, DATA, 12, FS_TBL, FS_LEAF | VTD_FL_A, 0);
	g_map(&g, root2, 4, 0x1000, DATA + 0x8000, 12, FS_TBL, FS_LEAF | VTD_FL_A, 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(g_read(&g, RID, PASID, 0x1000 + 8 * i).addr, DATA + 8 * i);
	CHECK_EQ(translated(&g, RID, 0x7000).status, PCI_SC);
	/* RID2 takes the only context-cache entry. */
	CHECK_EQ(g_read(&g, RID2, PASID, 0x1000).addr, DATA + 0x8000);
	CHECK_EQ(ctr(&g, VTD_CACHE_CONTEXT).evictions, 1);
	/* RID's context entry loses PASIDE and DTE in memory, no invalidation: the next
	 * requests miss the context cache and read it. */
	uint64_t cpa = g_sm_ctx_pa(&g, RID);
	g_wr(&g, cpa, g_rd(&g, cpa) & ~(VTD_SCE_Q0_PASIDE | VTD_SCE_Q0_DTE));
	CHECK_EQ(g_read(&g, RID, PASID, 0x1000).fault, VTD_FR_SCT_6);
	CHECK_EQ(translated(&g, RID, 0x7000).fault, VTD_FR_SCT_5);
	g_fini(&g);
}

/* The paging-structure memo serves PDEs while the cache holds them, counts as its hits,
 * and follows the invalidations that remove them (IH = 0), not those that keep them. */
static void test_pde(void)
{
	struct guest g;
	struct vtd_config c = {0};

	CHECK(!setup(&g, &c));
	uint64_t root = fs_setup(&g, RID, false);
	for (unsigned i = 0; i < 8; i++)
		g_map(&g, root, 4, 0x40000000ull + 0x1000 * i, DATA + 0x1000 * i, 12,
		      FS_TBL | VTD_FL_A, FS_LEAF | VTD_FL_A, 0);
	/* The first translation walks from the root (a miss), the others start at the
	 * cached PDE (hits): from the cache, then from the memo. */
	for (unsigned i = 0; i < 8; i++)
		CHECK_EQ(g_read(&g, RID, PASID, 0x40000000ull + 0x1000 * i + 4).addr,
			 DATA + 0x1000 * i + 4);
	struct vtd_cache_counters fs = ctr(&g, VTD_CACHE_PSCACHE_FS);
	CHECK_EQ(fs.misses, 1);
	CHECK_EQ(fs.hits, 7);
	CHECK_EQ(fs.fills, 3); /* PML4E, PDPE, PDE */
	struct vtd_cache_counters tlb = ctr(&g, VTD_CACHE_IOTLB);
	CHECK_EQ(tlb.misses, 8);
	CHECK_EQ(tlb.fills, 8);
	CHECK_EQ(tlb.hits, 0);
	/* Hits now: the translation memo; the caches count them. */
	for (unsigned i = 0; i < 8; i++)
		CHECK_EQ(g_read(&g, RID, PASID, 0x40000000ull + 0x1000 * i).addr,
			 DATA + 0x1000 * i);
	CHECK_EQ(ctr(&g, VTD_CACHE_IOTLB).hits, 8);

	/* The PDE now points at a new leaf table (page 0 elsewhere), no invalidation. */
	uint64_t pde = g_entry_pa(&g, root, 4, 0x40000000ull, 2), leaf2 = g_page(&g);
	g_wr(&g, leaf2, (DATA + 0x100000) | FS_LEAF | VTD_FL_A);
	g_wr(&g, pde, leaf2 | FS_TBL | VTD_FL_A);
	struct vtd_inv_range page0 = vtd_inv_range(0x40000000ull, 0);
	/* IH = 1: the leaf goes from the IOTLB, the PDE stays in the paging-structure cache
	 * (and the memo): the walk reads the old leaf table. */
	vtd_piotlb_inv_page(g.vtd, DID, PASID, &page0, true);
	CHECK_EQ(g_read(&g, RID, PASID, 0x40000000ull).addr, DATA);
	CHECK_EQ(ctr(&g, VTD_CACHE_PSCACHE_FS).hits, 8);
	/* IH = 0 of another PASID changes nothing. */
	vtd_piotlb_inv_page(g.vtd, DID, PASID + 1, &page0, false);
	CHECK_EQ(g_read(&g, RID, PASID, 0x40000000ull).addr, DATA);
	/* IH = 0: the PDE goes too, the walk reads the new table. */
	vtd_piotlb_inv_page(g.vtd, DID, PASID, &page0, false);
	CHECK_EQ(g_read(&g, RID, PASID, 0x40000000ull).addr, DATA + 0x100000);
	/* Page 1 is not in the new table: a fault, now that the IOTLB lets go of it. */
	CHECK_EQ(g_read(&g, RID, PASID, 0x40001000ull).addr, DATA + 0x1000);
	struct vtd_inv_range page1 = vtd_inv_range(0x40001000ull, 0);
	vtd_piotlb_inv_page(g.vtd, DID, PASID, &page1, true);
	CHECK_EQ(g_read(&g, RID, PASID, 0x40001000ull).fault, VTD_FR_SFL_2);
	g_fini(&g);
}

/* The paging-structure caches' counters, second stage: one lookup per walk (hit: the walk
 * starts below a cached entry), a fill per non-leaf entry cached, evictions as the
 * one-entry cache turns over. */
static void test_psc_counters(void)
{
	struct guest g;
	struct vtd_config c = {0};
	uint16_t rid = PCI_RID(7, 1, 0);

	vtd_config_default(&c);
	c.pscache.sets = 1;
	c.pscache.ways = 1;
	g_keep_caches = true;
	CHECK(!g_init(&g, &c, false));
	uint64_t root = g_page(&g);
	g_legacy_ctx(&g, rid, VTD_CE_Q0_P | root,
		     VTD_SET(VTD_CE_Q1_AW, 2) | VTD_SET(VTD_CE_Q1_DID, 3));
	/* A and B in one 2 MiB region, C in the next. */
	g_map(&g, root, 4, 0x1000, DATA, 12, SS_TBL, SS_TBL, 0);
	g_map(&g, root, 4, 0x2000, DATA + 0x1000, 12, SS_TBL, SS_TBL, 0);
	g_map(&g, root, 4, 0x201000, DATA + 0x2000, 12, SS_TBL, SS_TBL, 0);
	CHECK_EQ(g_read(&g, rid, NO_PASID, 0x1000).addr, DATA);
	struct vtd_cache_counters ss = ctr(&g, VTD_CACHE_PSCACHE_SS);
	CHECK_EQ(ss.misses, 1);
	CHECK_EQ(ss.hits, 0);
	CHECK_EQ(ss.fills, 3);	   /* PML4E, PDPE, PDE */
	CHECK_EQ(ss.evictions, 2); /* one entry: the PDE stays */
	CHECK_EQ(g_read(&g, rid, NO_PASID, 0x2000).addr, DATA + 0x1000);
	ss = ctr(&g, VTD_CACHE_PSCACHE_SS);
	CHECK_EQ(ss.hits, 1);
	CHECK_EQ(ss.fills, 3);
	CHECK_EQ(g_read(&g, rid, NO_PASID, 0x201000).addr, DATA + 0x2000);
	ss = ctr(&g, VTD_CACHE_PSCACHE_SS);
	CHECK_EQ(ss.misses, 2);
	CHECK_EQ(ss.hits, 1);
	CHECK_EQ(ss.fills, 6);
	CHECK_EQ(ss.evictions, 5);
	CHECK_EQ(ss.invalidated, 0);
	vtd_iotlb_inv_domain(g.vtd, 3);
	CHECK_EQ(ctr(&g, VTD_CACHE_PSCACHE_SS).invalidated, 1);
	struct vtd_cache_counters fs = ctr(&g, VTD_CACHE_PSCACHE_FS);
	CHECK_EQ(fs.hits + fs.misses + fs.fills + fs.evictions + fs.invalidated, 0);
	g_fini(&g);
}

/* A second thread has its own memos: what it learns and counts adds to the first's. */
struct other {
	struct guest *g;
	uint64_t got[4];
};

static void *other_thread(void *p)
{
	struct other *o = p;

	for (unsigned i = 0; i < 4; i++)
		o->got[i] = g_read(o->g, RID, PASID, 0x40000000ull + 0x1000 * i).addr;
	return NULL;
}

static void test_two_threads(void)
{
	struct guest g;
	struct vtd_config c = {0};
	pthread_t t;

	CHECK(!setup(&g, &c));
	uint64_t root = fs_setup(&g, RID, false);
	for (unsigned i = 0; i < 4; i++)
		g_map(&g, root, 4, 0x40000000ull + 0x1000 * i, DATA + 0x1000 * i, 12,
		      FS_TBL | VTD_FL_A, FS_LEAF | VTD_FL_A, 0);
	for (unsigned i = 0; i < 2; i++)
		CHECK_EQ(g_read(&g, RID, PASID, 0x40000000ull + 0x1000 * i).addr,
			 DATA + 0x1000 * i);
	struct other o = {.g = &g};
	CHECK_EQ(pthread_create(&t, NULL, other_thread, &o), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(o.got[i], DATA + 0x1000 * i);
	/* Six lookups, each in the context and PASID caches: one miss each (the first
	 * thread's first), five hits. Pages 0 and 1 hit the IOTLB in the second thread. */
	CHECK_EQ(ctr(&g, VTD_CACHE_CONTEXT).misses, 1);
	CHECK_EQ(ctr(&g, VTD_CACHE_CONTEXT).hits, 5);
	CHECK_EQ(ctr(&g, VTD_CACHE_PASID).hits, 5);
	CHECK_EQ(ctr(&g, VTD_CACHE_IOTLB).hits, 2);
	CHECK_EQ(ctr(&g, VTD_CACHE_IOTLB).misses, 4);
	CHECK_EQ(ctr(&g, VTD_CACHE_PSCACHE_FS).hits, 3);
	g_fini(&g);
}

int main(void)
{
	RUN(test_translated);
	RUN(test_translated_legacy);
	RUN(test_eviction);
	RUN(test_pde);
	RUN(test_psc_counters);
	RUN(test_two_threads);
	return CHECK_DONE();
}
