// SPDX-License-Identifier: MIT
/*
 * Translations from several device threads concurrently with MMIO (SRTP, TE, fault
 * servicing) and with software rewriting page-table entries whose A/D bits the model
 * is updating. Run under ThreadSanitizer by `make test`: the test is the locking proof
 * the header promises; it also checks that every completion is one a single-threaded
 * run could have produced.
 */
#include "check.h"
#include "vtd_guest.h"

#include <pthread.h>

#define THREADS 3
#define ITERS	20000
#define DATA	0x200000000ull
#define RID	PCI_RID(1, 0, 0)
#define PASID	7u

struct shared {
	struct guest g;
	uint64_t fsroot;
	int stop;
	int bad;
	unsigned long ok, faults;
};

static void *device(void *arg)
{
	struct shared *s = arg;
	unsigned long ok = 0, faults = 0;
	uint64_t seed = (uint64_t)(uintptr_t)&ok;

	for (int i = 0; i < ITERS; i++) {
		unsigned page = (unsigned)(check_rand(&seed) % 8);
		bool write = check_rand(&seed) & 1;
		struct pci_resp r = g_req(&s->g, RID, PASID, page * 0x1000ull + 0x10,
					  write ? PCI_REQ_WRITE : PCI_REQ_READ, 0);

		if (r.status == PCI_SC) {
			/* Pages 0-3 are stable; 4-7 are rewritten between two targets. */
			bool good =
			    r.addr == DATA + page * 0x1000ull + 0x10 ||
			    (page >= 4 && r.addr == DATA + 0x100000 + page * 0x1000ull + 0x10);
			if (!good || r.page_size != 4096)
				__atomic_store_n(&s->bad, 1, __ATOMIC_RELAXED);
			ok++;
		} else if (r.status == PCI_UR) {
			/* Not present (being rewritten), or TE off is a success; nothing else. */
			if (r.fault != VTD_FR_SFL_2 && r.fault != VTD_FR_SPT_2)
				__atomic_store_n(&s->bad, 2, __ATOMIC_RELAXED);
			faults++;
		} else {
			__atomic_store_n(&s->bad, 3, __ATOMIC_RELAXED);
		}
	}
	__atomic_fetch_add(&s->ok, ok, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->faults, faults, __ATOMIC_RELAXED);
	return NULL;
}

static void test_concurrent(void)
{
	static struct shared s;
	struct vtd_config c;
	pthread_t t[THREADS];
	uint64_t dir, pe;

	vtd_config_default(&c);
	CHECK(!g_init(&s.g, &c, true));
	dir = g_sm_ctx(&s.g, RID, VTD_SCE_Q0_PASIDE, 7);
	s.fsroot = g_page(&s.g);
	for (unsigned p = 0; p < 8; p++)
		g_map(&s.g, s.fsroot, 4, p * 0x1000ull, DATA + p * 0x1000ull, 12, FS_TBL,
		      VTD_FL_P | VTD_FL_RW | VTD_FL_US, 0);
	g_pe(&s.g, dir, PASID, VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, VTD_PGTT_FS), 1, s.fsroot);
	pe = g_pe_pa(&s.g, dir, PASID);

	for (int i = 0; i < THREADS; i++)
		CHECK(!pthread_create(&t[i], NULL, device, &s));
	/* Software side: rewrite leaves 4-7 (not present, then another page), latch the
	 * root pointer again, service faults, flip the PASID entry. */
	uint64_t seed = 99;
	for (int i = 0; i < 4000; i++) {
		unsigned page = 4 + (unsigned)(check_rand(&seed) % 4);
		uint64_t pte = g_entry_pa(&s.g, s.fsroot, 4, page * 0x1000ull, 1);
		uint64_t target = (i & 1) ? DATA + 0x100000 : DATA;

		g_wr(&s.g, pte, 0);
		g_wr(&s.g, pte, (target + page * 0x1000ull) | VTD_FL_P | VTD_FL_RW | VTD_FL_US);
		if (i % 16 == 0)
			g_mmio_wr(&s.g, VTD_REG_GCMD, 4, VTD_GCMD_TE | VTD_GCMD_SRTP);
		if (i % 8 == 0)
			g_clear_faults(&s.g);
		if (i % 64 == 0) {
			uint64_t q0 = g_rd(&s.g, pe);
			g_wr(&s.g, pe, q0 & ~1ull);
			g_wr(&s.g, pe, q0);
		}
		(void)g_mmio_rd(&s.g, VTD_REG_FSTS, 4);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(s.bad, 0);
	CHECK_EQ(s.ok + s.faults, (unsigned long)THREADS * ITERS);
	CHECK(s.ok > 0);
	g_fini(&s.g);
}

int main(void)
{
	RUN(test_concurrent);
	return CHECK_DONE();
}
