// SPDX-License-Identifier: MIT
/*
 * The caches under concurrency (run under ThreadSanitizer by `make test`): device threads
 * translate - mostly IOTLB hits - while software rewrites leaves and invalidates them
 * (page-selective, PASID-selective, whole caches), with check mode on. Every completion
 * must be one that memory held at some point; after the software thread is done and has
 * invalidated, every thread must see the final mapping.
 */
#include "check.h"
#include "vtd_guest.h"

#include "hw/vtd/caches.h"

#include <pthread.h>

#define THREADS 3
#define ITERS	30000
#define DATA	0x200000000ull
#define ALT	0x100000ull
#define RID	PCI_RID(1, 0, 0)
#define PASID	7u
#define DID	3u

struct shared {
	struct guest g;
	uint64_t fsroot;
	int bad;
	unsigned long ok;
};

static void *device(void *arg)
{
	struct shared *s = arg;
	unsigned long ok = 0;
	uint64_t seed = (uint64_t)(uintptr_t)&ok;

	for (int i = 0; i < ITERS; i++) {
		unsigned page = (unsigned)(check_rand(&seed) % 8);
		bool write = check_rand(&seed) & 1;
		struct pci_resp r = g_req(&s->g, RID, PASID, page * 0x1000ull + 0x10,
					  write ? PCI_REQ_WRITE : PCI_REQ_READ, 0);
		uint64_t base = DATA + page * 0x1000ull + 0x10;

		if (r.status != PCI_SC || r.page_size != 4096 ||
		    (r.addr != base && !(page >= 4 && r.addr == base + ALT)))
			__atomic_store_n(&s->bad, 1, __ATOMIC_RELAXED);
		else
			ok++;
	}
	__atomic_fetch_add(&s->ok, ok, __ATOMIC_RELAXED);
	return NULL;
}

static int stale_reports;
static void on_stale(void *ctx, const struct vtd_stale *st)
{
	(void)ctx;
	(void)st;
	__atomic_fetch_add(&stale_reports, 1, __ATOMIC_RELAXED);
}

static void test_concurrent_cached(void)
{
	static struct shared s;
	struct vtd_config c;
	struct vtd_callbacks cb = {.stale = on_stale};
	pthread_t t[THREADS];
	uint64_t dir;

	vtd_config_default(&c);
	g_keep_caches = true;
	CHECK(!g_init(&s.g, &c, true));
	vtd_destroy(s.g.vtd);
	CHECK_EQ(vtd_create(&c, s.g.m, &cb, NULL, &s.g.vtd), 0);
	g_enable(&s.g);
	dir = g_sm_ctx(&s.g, RID, VTD_SCE_Q0_PASIDE, 7);
	s.fsroot = g_page(&s.g);
	for (unsigned p = 0; p < 8; p++)
		g_map(&s.g, s.fsroot, 4, p * 0x1000ull, DATA + p * 0x1000ull, 12, FS_TBL,
		      VTD_FL_P | VTD_FL_RW | VTD_FL_US, 0);
	g_pe(&s.g, dir, PASID, VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, VTD_PGTT_FS), DID, s.fsroot);
	CHECK_EQ(vtd_set_check(s.g.vtd, true), 0);

	for (int i = 0; i < THREADS; i++)
		CHECK(!pthread_create(&t[i], NULL, device, &s));
	/* Software: move pages 4-7 between two targets, invalidating each change the way a
	 * driver must (the leaf is always present: DMA never faults). */
	uint64_t seed = 7;
	for (int i = 0; i < 3000; i++) {
		unsigned page = 4 + (unsigned)(check_rand(&seed) % 4);
		uint64_t pte = g_entry_pa(&s.g, s.fsroot, 4, page * 0x1000ull, 1);
		uint64_t target = DATA + page * 0x1000ull + ((i & 1) ? ALT : 0);
		struct vtd_iotlb_scope sc = {.by_did = true,
					     .did = DID,
					     .by_pasid = true,
					     .pasid = PASID,
					     .fs_only = true,
					     .by_range = true,
					     .base = page * 0x1000ull,
					     .last = page * 0x1000ull + 0xfff};

		g_wr(&s.g, pte, target | VTD_FL_P | VTD_FL_RW | VTD_FL_US);
		vtd_iotlb_inv(s.g.vtd, &sc);
		if (i % 100 == 0) {
			vtd_pc_inv(s.g.vtd, true, DID, true, PASID);
			vtd_ctxc_inv(s.g.vtd, false, 0, false, 0, 0);
		}
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(s.bad, 0);
	CHECK_EQ(s.ok, (unsigned long)THREADS * ITERS);
	/* Quiescent and invalidated: the caches agree with memory for every page. */
	int before = __atomic_load_n(&stale_reports, __ATOMIC_RELAXED);
	for (unsigned p = 0; p < 8; p++) {
		uint64_t pte = g_entry_pa(&s.g, s.fsroot, 4, p * 0x1000ull, 1);
		struct pci_resp r = g_read(&s.g, RID, PASID, p * 0x1000ull);
		CHECK_EQ(r.addr, g_rd(&s.g, pte) & VTD_FL_ADDR_MASK);
	}
	CHECK_EQ(__atomic_load_n(&stale_reports, __ATOMIC_RELAXED), before);
	struct vtd_cache_stats st;
	CHECK_EQ(vtd_get_cache_stats(s.g.vtd, &st), 0);
	CHECK(st.cache[VTD_CACHE_IOTLB].hits > 0);
	CHECK(st.checked > 0);
	g_fini(&s.g);
}

int main(void)
{
	RUN(test_concurrent_cached);
	return CHECK_DONE();
}
