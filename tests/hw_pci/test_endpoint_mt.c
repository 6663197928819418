// SPDX-License-Identifier: MIT
/*
 * Device threads doing DMA through the ATC while an "IOMMU" thread remaps a page and
 * invalidates it. The rule under test: once invalidate() has returned, no access uses the
 * old translation. The old physical page is retired right after each invalidation (header
 * overwritten, second half filled with a sentinel); a late read sees the retired header, a
 * late write breaks the sentinel (checked before the page is mapped again), and
 * ThreadSanitizer sees either as a race with the retiring thread.
 */
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <softiommu/mem.h>
#include <softiommu/pci.h>
#include <string.h>

#define RID	  PCI_RID(0, 4, 0)
#define V	  0x40000000ull /* the remapped page, PASID 1 */
#define STATIC	  0x50000000ull /* 8 fixed pages, PASID 2 */
#define STATIC_PA 0x2000000ull
#define RING	  4
#define RING_PA	  0x1000000ull
#define HALF	  2048
#define RETIRED	  0xdeaddeaddeaddeadull
#define SENTINEL  0xee
#define ROUNDS	  20000
#define DEVICES	  2

static struct mem *mem;
static struct pci_endpoint *ep;

static pthread_mutex_t agent_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t version;   /* V maps to ring page version % RING (under agent_lock) */
static uint64_t completed; /* last version whose invalidation completed (acquire/release) */
static uint64_t retired;   /* versions below this have their page retired (acquire/release) */
static int done;
static unsigned calls;
/* A held answer (see agent_translate): per device, the `retired` value it waits for, until
 * its DMA call returns (0 = none). The remapping thread does not reuse a page while a device
 * released after that page's retirement is still in its DMA, so a late access is seen. */
static uint64_t stall_target[DEVICES];
static _Thread_local int dev_id = -1;

static uint64_t ring_pa(uint64_t v)
{
	return RING_PA + (v % RING) * 4096;
}

static int agent_translate(void *ctx, const struct pci_req *req, struct pci_resp *resp)
{
	bool has_pasid = req->flags & PCI_REQ_PASID;
	uint64_t page = req->addr & ~0xfffull, pa = 0;
	bool mapped = false;
	uint64_t stall_until = 0;
	unsigned n;

	(void)ctx;
	*resp = (struct pci_resp){0};
	pthread_mutex_lock(&agent_lock);
	if (req->at == PCI_AT_TRANSLATED) {
		resp->addr = req->addr;
		mapped = true;
	} else if (has_pasid && req->pasid == 1 && page == V) {
		pa = ring_pa(version);
		mapped = true;
	} else if (has_pasid && req->pasid == 2 && page >= STATIC && page < STATIC + 8 * 4096) {
		pa = STATIC_PA + (page - STATIC);
		mapped = true;
	}
	if (req->at != PCI_AT_TRANSLATED && mapped) {
		resp->addr = pa + (req->addr & 0xfff);
		resp->page_size = 4096;
		resp->perm = PCI_PERM_R | PCI_PERM_W;
	} else if (!mapped && req->at == PCI_AT_UNTRANSLATED) {
		resp->status = PCI_UR;
	}
	n = ++calls;
	/* Now and then, hold an answer about V (a translation, or a translated request to a
	 * ring page) until the invalidation that makes it stale has completed and its page is
	 * retired: the endpoint must then neither cache nor use it. Other times just widen the
	 * window a little. */
	if (n % 16 == 0 && dev_id >= 0 && !stall_target[dev_id] &&
	    ((req->at == PCI_AT_TRANSLATION && page == V) ||
	     (req->at == PCI_AT_TRANSLATED && page >= RING_PA && page < RING_PA + RING * 4096))) {
		stall_until = version + 1;
		__atomic_store_n(&stall_target[dev_id], stall_until, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&agent_lock);
	if (stall_until) {
		while (__atomic_load_n(&retired, __ATOMIC_ACQUIRE) < stall_until &&
		       !__atomic_load_n(&done, __ATOMIC_ACQUIRE))
			sched_yield();
	} else if (n % 5 == 0) {
		sched_yield();
	}
	return 0;
}

struct dev_result {
	uint64_t reads, writes, again, stale, errors;
};

static void *device(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	struct dev_result *r = calloc(1, sizeof(*r));
	uint8_t data[64], back[64];

	dev_id = (int)id;
	memset(data, (int)(0x10 + id), sizeof(data));
	for (unsigned i = 0; !__atomic_load_n(&done, __ATOMIC_ACQUIRE); i++) {
		uint64_t c0 = __atomic_load_n(&completed, __ATOMIC_ACQUIRE), h = 0;
		uint64_t sp = STATIC + (i % 8) * 4096 + id * 64;
		int ret;

		ret = pci_endpoint_dma_read(ep, PCI_DMA_PASID, 1, V, &h, 8, NULL);
		__atomic_store_n(&stall_target[id], 0, __ATOMIC_RELEASE);
		if (ret == 0) {
			r->reads++;
			/* The page read must be at least as new as the last completed
			 * invalidation says the mapping is. */
			if (h == RETIRED || h < c0)
				r->stale++;
		} else if (ret == -EAGAIN) {
			r->again++;
		} else {
			r->errors++;
		}
		ret =
		    pci_endpoint_dma_write(ep, PCI_DMA_PASID, 1, V + HALF + id * 64 + (i % 8) * 128,
					   data, sizeof(data), NULL);
		__atomic_store_n(&stall_target[id], 0, __ATOMIC_RELEASE);
		if (ret == 0)
			r->writes++;
		else if (ret == -EAGAIN)
			r->again++;
		else
			r->errors++;
		/* Traffic on pages nobody remaps: always the same bytes. */
		ret = pci_endpoint_dma_read(ep, PCI_DMA_PASID, 2, sp, back, sizeof(back), NULL);
		if (ret == -EAGAIN) {
			r->again++;
		} else if (ret || back[0] != (uint8_t)(sp >> 12) ||
			   back[63] != (uint8_t)(sp >> 12)) {
			r->errors++;
		}
	}
	return r;
}

/* Wait until no device that a retirement up to `retired_now` released is still in its DMA. */
static void wait_released_devices(uint64_t retired_now)
{
	for (int i = 0; i < DEVICES; i++) {
		for (;;) {
			uint64_t t = __atomic_load_n(&stall_target[i], __ATOMIC_ACQUIRE);

			if (!t || t > retired_now)
				break;
			sched_yield();
		}
	}
}

static bool half_is_sentinel(uint64_t pa)
{
	uint8_t b[HALF];

	if (mem_read(mem, pa + HALF, b, HALF))
		return false;
	for (int i = 0; i < HALF; i++)
		if (b[i] != SENTINEL)
			return false;
	return true;
}

/* The ways software may name V: 4 KiB, 8 KiB around it, 2 MiB global, everything. */
static struct pci_ats_inv inv_for(uint64_t v)
{
	struct pci_ats_inv inv = {.rid = RID, .has_pasid = true, .pasid = 1};

	switch (v % 4) {
	case 0:
		inv.addr = V;
		inv.size = 4096;
		break;
	case 1:
		inv.addr = V;
		inv.size = 8192;
		break;
	case 2:
		inv.addr = V & ~(2 * 1024 * 1024ull - 1);
		inv.size = 2 * 1024 * 1024;
		inv.global = true;
		break;
	default:
		inv.size = 0;
		break;
	}
	return inv;
}

static void test_no_use_after_invalidation(void)
{
	struct pci_endpoint_config cfg = {
	    .rid = RID,
	    .pasid_width = 8,
	    .pasid_enable = true,
	    .ats = true,
	    .ats_enable = true,
	    .ats_global_inv = true,
	    .atc_sets = 4,
	    .atc_ways = 4,
	    .agent = {.translate = agent_translate},
	};
	struct pci_ats_port port;
	struct dev_result total = {0};
	pthread_t t[DEVICES];
	unsigned bad_inv = 0, late_writes = 0;
	struct pci_endpoint_stats s;

	mem = mem_create_sparse(64 << 20);
	CHECK(mem);
	cfg.mem = mem;
	CHECK_EQ(pci_endpoint_create(&cfg, &ep), 0);
	port = pci_endpoint_ats_port(ep);
	for (uint64_t i = 0; i < 8; i++)
		CHECK_EQ(mem_fill(mem, STATIC_PA + i * 4096, (uint8_t)((STATIC >> 12) + i), 4096),
			 0);
	for (uint64_t i = 0; i < RING; i++) {
		CHECK_EQ(mem_write64(mem, ring_pa(i), i == 0 ? 0 : RETIRED), 0);
		CHECK_EQ(mem_fill(mem, ring_pa(i) + HALF, SENTINEL, HALF), 0);
	}

	for (uintptr_t i = 0; i < DEVICES; i++)
		pthread_create(&t[i], NULL, device, (void *)i);
	for (uint64_t v = 0; v < ROUNDS; v++) {
		uint64_t next = v + 1;
		struct pci_ats_inv inv = inv_for(v);

		/* Retired RING - 1 rounds ago: nobody may have written it since. */
		if (!half_is_sentinel(ring_pa(next)))
			late_writes++;
		mem_write64(mem, ring_pa(next), next);
		pthread_mutex_lock(&agent_lock);
		version = next;
		pthread_mutex_unlock(&agent_lock);
		if (port.invalidate(port.ctx, &inv))
			bad_inv++;
		__atomic_store_n(&completed, next, __ATOMIC_RELEASE);
		/* Retire the old page now that no access may use it. */
		mem_write64(mem, ring_pa(v), RETIRED);
		mem_fill(mem, ring_pa(v) + HALF, SENTINEL, HALF);
		__atomic_store_n(&retired, next, __ATOMIC_RELEASE);
		wait_released_devices(next);
		if (v % 64 == 0) { /* churn on the static pages too, no remapping */
			struct pci_ats_inv sinv = {.rid = RID,
						   .has_pasid = true,
						   .pasid = 2,
						   .addr = STATIC,
						   .size = 32768};
			if (port.invalidate(port.ctx, &sinv))
				bad_inv++;
		}
		if (v % 8 == 0)
			sched_yield();
	}
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < DEVICES; i++) {
		struct dev_result *r;

		pthread_join(t[i], (void **)&r);
		total.reads += r->reads;
		total.writes += r->writes;
		total.again += r->again;
		total.stale += r->stale;
		total.errors += r->errors;
		free(r);
	}
	CHECK_EQ(pci_endpoint_get_stats(ep, &s), 0);
	printf("     %llu reads, %llu writes, %llu gave up (-EAGAIN), %llu retries, %llu hits, "
	       "%llu misses\n",
	       (unsigned long long)total.reads, (unsigned long long)total.writes,
	       (unsigned long long)total.again, (unsigned long long)s.retries,
	       (unsigned long long)s.hits, (unsigned long long)s.misses);
	pci_endpoint_destroy(ep);
	mem_destroy(mem);
	CHECK_EQ(bad_inv, 0);
	CHECK_EQ(total.stale, 0);
	CHECK_EQ(late_writes, 0);
	CHECK_EQ(total.errors, 0);
	CHECK(total.reads > 0 && total.writes > 0);
	CHECK_EQ(s.invalidations, ROUNDS + (ROUNDS + 63) / 64);
}

int main(void)
{
	RUN(test_no_use_after_invalidation);
	return CHECK_DONE();
}
