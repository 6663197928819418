// SPDX-License-Identifier: MIT
/*
 * The endpoint's reader slots (src/hw/pci/endpoint.h): short-lived device threads, more of
 * them than there are slots, doing DMA (writes, reads and copies, through their request
 * memos) on a page that another thread keeps remapping and invalidating. The rule under
 * test is the endpoint's: once invalidate() has returned, no access uses the old
 * translation - a late write breaks the sentinel of the retired page, a late read sees its
 * retired header, and ThreadSanitizer sees either as a race with the retiring thread.
 * Threads that leave give their slots back (none is held at the end), and what they counted
 * in them stays counted; a thread that outlives an endpoint it read through leaves without
 * touching it (AddressSanitizer).
 */
#include "check.h"
#include "hw/pci/endpoint.h"

#include <pthread.h>
#include <sched.h>
#include <softiommu/mem.h>
#include <softiommu/pci.h>
#include <string.h>

#define RID	 PCI_RID(0, 5, 0)
#define V	 0x40000000ull /* the remapped page */
#define SRC	 0x50000000ull /* a fixed page, the copies' source */
#define SRC_PA	 0x2000000ull
#define RING	 4
#define RING_PA	 0x1000000ull
#define HALF	 2048
#define RETIRED	 0xdeaddeaddeaddeadull
#define SENTINEL 0xee
#define LIVE	 24 /* device threads at once, in waves: more than EP_READERS in all */
#define WAVES	 4
#define PER_DEV	 200 /* DMA rounds of one device thread */

static struct mem *mem;
static struct pci_endpoint *ep;
static pthread_mutex_t agent_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t version;   /* V maps to ring page version % RING (agent_lock) */
static uint64_t completed; /* last version whose invalidation completed */
static int done;
static unsigned calls;

static uint64_t ring_pa(uint64_t v)
{
	return RING_PA + (v % RING) * 4096;
}

static int agent_translate(void *ctx, const struct pci_req *req, struct pci_resp *resp)
{
	uint64_t page = req->addr & ~0xfffull, pa = 0;
	bool mapped = true;

	(void)ctx;
	*resp = (struct pci_resp){0};
	pthread_mutex_lock(&agent_lock);
	if (req->at == PCI_AT_TRANSLATED)
		resp->addr = req->addr;
	else if (page == V)
		pa = ring_pa(version);
	else if (page == SRC)
		pa = SRC_PA;
	else
		mapped = false;
	pthread_mutex_unlock(&agent_lock);
	if (req->at != PCI_AT_TRANSLATED && mapped) {
		resp->addr = pa + (req->addr & 0xfff);
		resp->page_size = 4096;
		resp->perm = PCI_PERM_R | PCI_PERM_W;
	} else if (!mapped && req->at == PCI_AT_UNTRANSLATED) {
		resp->status = PCI_UR;
	}
	if (__atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED) % 8 == 0)
		sched_yield(); /* now and then widen the window */
	return 0;
}

struct dev_result {
	uint64_t ops, stale, errors;
};

static void *device(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	struct dev_result *r = calloc(1, sizeof(*r));
	uint8_t data[64];

	memset(data, (int)(0x10 + id % 64), sizeof(data));
	for (unsigned i = 0; i < PER_DEV && !__atomic_load_n(&done, __ATOMIC_ACQUIRE); i++) {
		uint64_t c0 = __atomic_load_n(&completed, __ATOMIC_ACQUIRE), h = 0;
		/* Each live thread writes a 64-byte block of its own (LIVE <= 32). */
		uint64_t off = HALF + (id % 32) * 64;
		int ret = pci_endpoint_dma_read(ep, 0, 0, V, &h, 8, NULL);

		if (ret == 0 && (h == RETIRED || h < c0))
			r->stale++;
		else if (ret && ret != -EAGAIN)
			r->errors++;
		ret = pci_endpoint_dma_write(ep, 0, 0, V + off, data, sizeof(data), NULL);
		if (ret && ret != -EAGAIN)
			r->errors++;
		ret = pci_endpoint_dma_copy(ep, 0, 0, V + off, SRC + (i % 8) * 64, 64, NULL);
		if (ret && ret != -EAGAIN)
			r->errors++;
		r->ops += 3;
	}
	return r;
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

static void *remapper(void *arg)
{
	struct pci_ats_port port = pci_endpoint_ats_port(ep);
	unsigned *bad = arg;

	for (uint64_t v = 0; !__atomic_load_n(&done, __ATOMIC_ACQUIRE); v++) {
		uint64_t next = v + 1;
		struct pci_ats_inv inv = {.rid = RID, .addr = V, .size = 4096};

		/* Retired RING - 1 rounds ago: nobody may have written it since. */
		if (!half_is_sentinel(ring_pa(next)))
			bad[0]++;
		mem_write64(mem, ring_pa(next), next);
		pthread_mutex_lock(&agent_lock);
		version = next;
		pthread_mutex_unlock(&agent_lock);
		if (port.invalidate(port.ctx, &inv))
			bad[1]++;
		__atomic_store_n(&completed, next, __ATOMIC_RELEASE);
		mem_write64(mem, ring_pa(v), RETIRED);
		mem_fill(mem, ring_pa(v) + HALF, SENTINEL, HALF);
		if (v % 4 == 0)
			sched_yield();
	}
	return NULL;
}

static void test_slots_under_invalidation(void)
{
	struct pci_endpoint_config cfg = {
	    .rid = RID,
	    .ats = true,
	    .ats_enable = true,
	    .atc_sets = 4,
	    .atc_ways = 4,
	    .agent = {.translate = agent_translate},
	};
	struct dev_result total = {0};
	unsigned bad[2] = {0, 0};
	pthread_t t[LIVE], rt;
	uintptr_t next_id = 0;

	mem = mem_create_sparse(64 << 20);
	CHECK(mem);
	cfg.mem = mem;
	CHECK_EQ(pci_endpoint_create(&cfg, &ep), 0);
	CHECK_EQ(mem_fill(mem, SRC_PA, 0x5a, 4096), 0);
	for (uint64_t i = 0; i < RING; i++) {
		CHECK_EQ(mem_write64(mem, ring_pa(i), i == 0 ? 0 : RETIRED), 0);
		CHECK_EQ(mem_fill(mem, ring_pa(i) + HALF, SENTINEL, HALF), 0);
	}
	pthread_create(&rt, NULL, remapper, bad);
	for (int w = 0; w < WAVES; w++) {
		for (int i = 0; i < LIVE; i++)
			pthread_create(&t[i], NULL, device, (void *)next_id++);
		for (int i = 0; i < LIVE; i++) {
			struct dev_result *r;

			pthread_join(t[i], (void **)&r);
			total.ops += r->ops;
			total.stale += r->stale;
			total.errors += r->errors;
			free(r);
		}
	}
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	pthread_join(rt, NULL);
	/* Every thread that read through a slot has left and given it back. */
	for (int i = 0; i < EP_READERS; i++) {
		CHECK_EQ(__atomic_load_n(&ep->readers[i].owner, __ATOMIC_ACQUIRE), 0);
		CHECK_EQ(__atomic_load_n(&ep->readers[i].busy, __ATOMIC_ACQUIRE), 0);
	}
	CHECK(__atomic_load_n(&ep->readers_claimed, __ATOMIC_ACQUIRE) != 0);
	printf("     %llu DMA calls by %d threads\n", (unsigned long long)total.ops, LIVE * WAVES);
	pci_endpoint_destroy(ep);
	mem_destroy(mem);
	CHECK_EQ(bad[0], 0);
	CHECK_EQ(bad[1], 0);
	CHECK_EQ(total.stale, 0);
	CHECK_EQ(total.errors, 0);
}

/* More threads at once than slots: the rest read through the rwlock; all of them work. */
static pthread_barrier_t all_in, all_done;

static void *holder(void *arg)
{
	uint64_t v = (uintptr_t)arg, got = 0;
	int ret = pci_endpoint_dma_write(ep, 0, 0, V + 8 * v, &v, 8, NULL);

	if (!ret)
		ret = pci_endpoint_dma_read(ep, 0, 0, V + 8 * v, &got, 8, NULL);
	pthread_barrier_wait(&all_in); /* every thread has its slot, or none, now */
	pthread_barrier_wait(&all_done);
	return (void *)(uintptr_t)(ret || got != v);
}

static void test_more_threads_than_slots(void)
{
	struct pci_endpoint_config cfg = {
	    .rid = RID,
	    .ats = true,
	    .ats_enable = true,
	    .atc_sets = 4,
	    .atc_ways = 4,
	    .agent = {.translate = agent_translate},
	};
	enum { N = EP_READERS + 8 };
	pthread_t t[N];
	unsigned bad = 0, held = 0;

	mem = mem_create_sparse(64 << 20);
	CHECK(mem);
	cfg.mem = mem;
	version = 0;
	done = 0;
	CHECK_EQ(pci_endpoint_create(&cfg, &ep), 0);
	pthread_barrier_init(&all_in, NULL, N + 1);
	pthread_barrier_init(&all_done, NULL, N + 1);
	for (uintptr_t i = 0; i < N; i++)
		pthread_create(&t[i], NULL, holder, (void *)i);
	pthread_barrier_wait(&all_in);
	for (int i = 0; i < EP_READERS; i++)
		held += __atomic_load_n(&ep->readers[i].owner, __ATOMIC_ACQUIRE) != 0;
	CHECK_EQ(held, EP_READERS);
	pthread_barrier_wait(&all_done);
	for (int i = 0; i < N; i++) {
		void *r;

		pthread_join(t[i], &r);
		bad += r != NULL;
	}
	CHECK_EQ(bad, 0);
	for (int i = 0; i < EP_READERS; i++)
		CHECK_EQ(__atomic_load_n(&ep->readers[i].owner, __ATOMIC_ACQUIRE), 0);
	pthread_barrier_destroy(&all_in);
	pthread_barrier_destroy(&all_done);
	pci_endpoint_destroy(ep);
	mem_destroy(mem);
}

/*
 * The fast paths count in the thread's reader slot (or, without one, in the shared
 * counters): every request is counted once, whichever way it went - while the threads run,
 * after they left, and after new threads took over the slots.
 */
#define COUNT_WRITES 50

static void *counter(void *arg)
{
	uint64_t v = (uintptr_t)arg;
	int bad = 0;

	for (int i = 0; i < COUNT_WRITES; i++)
		bad |= pci_endpoint_dma_write(ep, 0, 0, V + 8 * (v % 512), &v, 8, NULL) != 0;
	pthread_barrier_wait(&all_in);
	return (void *)(uintptr_t)bad;
}

static void test_counts_survive_threads(void)
{
	struct pci_endpoint_config cfg = {
	    .rid = RID,
	    .ats = true,
	    .ats_enable = true,
	    .atc_sets = 4,
	    .atc_ways = 4,
	    .agent = {.translate = agent_translate},
	};
	enum { N = EP_READERS + 8 };
	struct pci_endpoint_stats s;
	pthread_t t[N];
	unsigned bad = 0;

	mem = mem_create_sparse(64 << 20);
	CHECK(mem);
	cfg.mem = mem;
	version = 0;
	CHECK_EQ(pci_endpoint_create(&cfg, &ep), 0);
	/* The one miss: every request of the threads finds the entry. */
	CHECK_EQ(pci_endpoint_dma_write(ep, 0, 0, V, &version, 8, NULL), 0);
	for (int wave = 1; wave <= 2; wave++) {
		pthread_barrier_init(&all_in, NULL, N + 1);
		for (uintptr_t i = 0; i < N; i++)
			pthread_create(&t[i], NULL, counter, (void *)i);
		pthread_barrier_wait(&all_in); /* every thread has made its requests */
		CHECK_EQ(pci_endpoint_get_stats(ep, &s), 0);
		CHECK_EQ(s.translated_requests, (uint64_t)wave * N * COUNT_WRITES + 1);
		CHECK_EQ(s.hits + s.misses, (uint64_t)wave * N * COUNT_WRITES + 1);
		for (int i = 0; i < N; i++) {
			void *r;

			pthread_join(t[i], &r);
			bad += r != NULL;
		}
		pthread_barrier_destroy(&all_in);
		CHECK_EQ(pci_endpoint_get_stats(ep, &s), 0);
		CHECK_EQ(s.translated_requests, (uint64_t)wave * N * COUNT_WRITES + 1);
		CHECK_EQ(s.hits + s.misses, (uint64_t)wave * N * COUNT_WRITES + 1);
		CHECK_EQ(s.misses, 1);
	}
	CHECK_EQ(bad, 0);
	pci_endpoint_destroy(ep);
	mem_destroy(mem);
}

/* A thread that read through an endpoint outlives it, then uses a new one, then leaves. */
static pthread_barrier_t step;
static struct pci_endpoint *ep_a, *ep_b;

static void *outliver(void *arg)
{
	uint64_t v = 1;
	int bad = 0;

	(void)arg;
	bad |= pci_endpoint_dma_write(ep_a, 0, 0, V, &v, 8, NULL) != 0;
	pthread_barrier_wait(&step); /* ep_a is destroyed, ep_b created */
	pthread_barrier_wait(&step);
	bad |= pci_endpoint_dma_write(ep_b, 0, 0, V + 8, &v, 8, NULL) != 0;
	return (void *)(uintptr_t)bad;
}

static void test_thread_outlives_endpoint(void)
{
	struct pci_endpoint_config cfg = {
	    .rid = RID,
	    .ats = true,
	    .ats_enable = true,
	    .atc_sets = 4,
	    .atc_ways = 4,
	    .agent = {.translate = agent_translate},
	};
	pthread_t t;
	void *r;

	mem = mem_create_sparse(64 << 20);
	CHECK(mem);
	cfg.mem = mem;
	CHECK_EQ(pci_endpoint_create(&cfg, &ep_a), 0);
	pthread_barrier_init(&step, NULL, 2);
	pthread_create(&t, NULL, outliver, NULL);
	pthread_barrier_wait(&step);
	pci_endpoint_destroy(ep_a);
	CHECK_EQ(pci_endpoint_create(&cfg, &ep_b), 0);
	pthread_barrier_wait(&step);
	pthread_join(t, &r);
	CHECK(r == NULL);
	for (int i = 0; i < EP_READERS; i++)
		CHECK_EQ(__atomic_load_n(&ep_b->readers[i].owner, __ATOMIC_ACQUIRE), 0);
	pthread_barrier_destroy(&step);
	pci_endpoint_destroy(ep_b);
	mem_destroy(mem);
}

int main(void)
{
	RUN(test_slots_under_invalidation);
	RUN(test_more_threads_than_slots);
	RUN(test_counts_survive_threads);
	RUN(test_thread_outlives_endpoint);
	return CHECK_DONE();
}
