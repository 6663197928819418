// SPDX-License-Identifier: MIT
/*
 * Cache fills racing with a paging-structure change (also under ThreadSanitizer). Device
 * threads translate one page over and over while a CPU thread points the page's PDE at
 * another leaf table - each maps the page elsewhere - invalidates (PASID-based,
 * page-selective, IH = 0: the IOTLB entry and the cached PDE go) and at once asks the unit
 * itself: it must see the new table. A translation that read the old PDE from the
 * paging-structure cache (or a thread's memo of it) must not leave what it made from it in
 * the IOTLB once the invalidation is done - neither when it read the PDE after the IOTLB
 * had been emptied and before the PDE went, nor when it began while the PDE was going.
 */
#include "check.h"
#include "vtd_guest.h"

#include "hw/vtd/cache_inv.h"

#include <pthread.h>
#include <time.h>

#define RID    PCI_RID(2, 3, 0)
#define PASID  9u
#define DID    17u
#define VA     0x40000000ull
#define DATA   0x200000000ull
#define NDEVT  2
#define FS_ALL (VTD_FL_P | VTD_FL_RW | VTD_FL_US | VTD_FL_A)

struct shared {
	struct guest g;
	unsigned stop;
	unsigned long translations;
};

static void *device(void *arg)
{
	struct shared *sh = arg;
	unsigned long n = 0;

	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		/* Two pages of the table: the IOTLB and the memos see both. */
		g_read(&sh->g, RID, PASID, VA + (n & 1) * 0x1000);
		if (++n % 64 == 0)
			__atomic_fetch_add(&sh->translations, 64, __ATOMIC_RELAXED);
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_pde_race(void)
{
	struct shared sh = {0};
	struct vtd_config c;
	pthread_t t[NDEVT];
	uint64_t leaf[2], root, dir, pde;
	unsigned stale = 0, r;

	vtd_config_default(&c);
	g_keep_caches = true;
	CHECK(!g_init(&sh.g, &c, true));
	dir = g_sm_ctx(&sh.g, RID, VTD_SCE_Q0_PASIDE | VTD_SCE_Q0_DTE, 7);
	root = g_page(&sh.g);
	g_pe(&sh.g, dir, PASID, VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, VTD_PGTT_FS), DID, root);
	g_map(&sh.g, root, 4, VA, DATA, 12, FS_ALL, FS_ALL, 0);
	pde = g_entry_pa(&sh.g, root, 4, VA, 2);
	leaf[0] = g_rd(&sh.g, pde) & VTD_FL_ADDR_MASK;
	leaf[1] = g_page(&sh.g);
	for (unsigned k = 0; k < 2; k++)
		for (unsigned p = 0; p < 2; p++)
			g_wr(&sh.g, leaf[k] + 8 * p, (DATA + 0x100000 * k + 0x1000 * p) | FS_ALL);
	for (unsigned k = 0; k < NDEVT; k++)
		CHECK_EQ(pthread_create(&t[k], NULL, device, &sh), 0);
	struct vtd_inv_range range = vtd_inv_range(VA, 9); /* the 2 MiB the PDE maps */
	double end = now_s() + 1.0;
	for (r = 0; r < 200000 && (now_s() < end || r < 1000); r++) {
		unsigned k = (r + 1) & 1;

		g_wr(&sh.g, pde, leaf[k] | FS_ALL);
		vtd_piotlb_inv_page(sh.g.vtd, DID, PASID, &range, false);
		for (unsigned p = 0; p < 2; p++) {
			struct pci_resp resp = g_read(&sh.g, RID, PASID, VA + 0x1000 * p);

			if (resp.status != PCI_SC ||
			    resp.addr != DATA + 0x100000 * k + 0x1000 * p) {
				if (stale < 5)
					printf("round %u, table %u, page %u: status %u fault %#x "
					       "addr %#llx\n",
					       r, k, p, resp.status, resp.fault,
					       (unsigned long long)resp.addr);
				stale++;
			}
		}
	}
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
	for (unsigned k = 0; k < NDEVT; k++)
		pthread_join(t[k], NULL);
	printf("%u rounds, %lu racing translations: %u stale after the invalidation\n", r,
	       sh.translations, stale);
	CHECK_EQ(stale, 0);
	g_fini(&sh.g);
}

int main(void)
{
	RUN(test_pde_race);
	return CHECK_DONE();
}
