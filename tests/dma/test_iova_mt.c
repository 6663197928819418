// SPDX-License-Identifier: MIT
/*
 * The IOVA allocator under concurrency: worker threads allocate and free (mostly cached
 * sizes, some through the tree), hand allocations to each other to free, exit and are
 * replaced while others run, and a flusher drains every cache meanwhile. Every pfn has an
 * owner word taken with compare-and-swap, so two live allocations that overlap are caught
 * the moment the second one is handed out. Runs under ThreadSanitizer too.
 */
#include "check.h"

#include "dma/iova_internal.h"

#include <pthread.h>
#include <softiommu/iova.h>
#include <stdatomic.h>
#include <string.h>

#define LIMIT	 0xfffffull
#define WORKERS	 3
#define WAVES	 2
#define OPS	 12000
#define HELD	 64
#define HANDOFFS 256

static struct iova_domain *dom;
static _Atomic uint8_t owner[LIMIT + 1];
static atomic_int failures;
static atomic_bool stop_flusher;
static atomic_uint_least64_t allocations;

struct alloc {
	uint64_t pfn, size, span;
	uint8_t tid;
};

/* Allocations passed from one worker to be freed by another. */
static pthread_mutex_t handoff_lock = PTHREAD_MUTEX_INITIALIZER;
static struct alloc handoff[HANDOFFS];
static int handoffs;

static void fail(const char *what, uint64_t pfn)
{
	if (atomic_fetch_add(&failures, 1) < 10)
		fprintf(stderr, "%s at pfn %#llx\n", what, (unsigned long long)pfn);
}

static uint64_t span_of(uint64_t size)
{
	uint64_t p = 1;

	if (size > IOVA_RCACHE_MAX_SIZE)
		return size;
	while (p < size)
		p <<= 1;
	return p;
}

static void claim(const struct alloc *a)
{
	if (a->pfn + a->span - 1 >= 0xfee00 && a->pfn <= 0xfeeff)
		fail("reserved range handed out", a->pfn);
	for (uint64_t p = a->pfn; p < a->pfn + a->span; p++) {
		uint8_t free_ = 0;

		if (!atomic_compare_exchange_strong(&owner[p], &free_, a->tid))
			fail("overlapping live allocations", p);
	}
}

static void release(const struct alloc *a)
{
	for (uint64_t p = a->pfn; p < a->pfn + a->span; p++) {
		uint8_t mine = a->tid;

		if (!atomic_compare_exchange_strong(&owner[p], &mine, 0))
			fail("owner changed under a live allocation", p);
	}
	if (iova_free(dom, a->pfn, a->size))
		fail("free refused", a->pfn);
}

static bool take_handoff(struct alloc *a)
{
	bool got = false;

	pthread_mutex_lock(&handoff_lock);
	if (handoffs) {
		*a = handoff[--handoffs];
		got = true;
	}
	pthread_mutex_unlock(&handoff_lock);
	return got;
}

static bool give_handoff(const struct alloc *a)
{
	bool given = false;

	pthread_mutex_lock(&handoff_lock);
	if (handoffs < HANDOFFS) {
		handoff[handoffs++] = *a;
		given = true;
	}
	pthread_mutex_unlock(&handoff_lock);
	return given;
}

static void worker_step(struct alloc *held, int *n, uint8_t tid, uint64_t *seed)
{
	uint64_t r = check_rand(seed);
	struct alloc a;

	if (*n < HELD && (*n == 0 || r % 2)) {
		a.size = r % 16 ? 1 + (r >> 8) % IOVA_RCACHE_MAX_SIZE : 40 + (r >> 8) % 60;
		a.span = span_of(a.size);
		a.tid = tid;
		if (iova_alloc(dom, a.size, UINT64_MAX, (r >> 20) % 8 ? 0 : IOVA_ALLOC_PREFER_32,
			       &a.pfn))
			return; /* -ENOSPC is possible while others hoard; not an error */
		claim(&a);
		atomic_fetch_add(&allocations, 1);
		held[(*n)++] = a;
		return;
	}
	if (r % 7 == 0 && take_handoff(&a)) {
		release(&a); /* freed by another thread than the one that allocated it */
		return;
	}
	int i = (int)((r >> 8) % (uint64_t)*n);
	a = held[i];
	held[i] = held[--(*n)];
	if (r % 5 == 0) {
		uint64_t lo = 0, size = 0;

		if (iova_find(dom, a.pfn + a.size - 1, &lo, &size) || lo != a.pfn || size != a.size)
			fail("live allocation not found", a.pfn);
	}
	if (r % 11 == 0 && give_handoff(&a))
		return;
	release(&a);
}

static void *worker(void *arg)
{
	uint8_t tid = (uint8_t)(uintptr_t)arg;
	uint64_t seed = 0x1234567ull * tid;
	struct alloc held[HELD];
	int n = 0;

	for (int op = 0; op < OPS; op++)
		worker_step(held, &n, tid, &seed);
	while (n)
		release(&held[--n]);
	return NULL;
}

static void *flusher(void *arg)
{
	struct iova_stats st;
	uint64_t pfn;

	(void)arg;
	while (!atomic_load(&stop_flusher)) {
		iova_flush_rcaches(dom);
		if (iova_stats(dom, &st))
			fail("stats refused", 0);
		/* A large allocation that may need the retry after draining every cache. */
		if (!iova_alloc(dom, 4096, UINT64_MAX, IOVA_ALLOC_FLUSH_RCACHE, &pfn)) {
			struct alloc a = {pfn, 4096, 4096, 255};

			claim(&a);
			release(&a);
		}
		sched_yield();
	}
	return NULL;
}

static void test_concurrent_alloc_free(void)
{
	struct iova_config cfg = {.start_pfn = 1, .limit_pfn = LIMIT};
	pthread_t w[WORKERS], f;
	struct iova_stats st;
	struct alloc a;

	CHECK_EQ(iova_domain_create(&cfg, &dom), 0);
	CHECK_EQ(iova_reserve(dom, 0xfee00, 0xfeeff), 0);
	CHECK_EQ(pthread_create(&f, NULL, flusher, NULL), 0);
	for (int wave = 0; wave < WAVES; wave++) {
		for (uintptr_t i = 0; i < WORKERS; i++)
			CHECK_EQ(
			    pthread_create(&w[i], NULL, worker, (void *)(1 + wave * WORKERS + i)),
			    0);
		for (int i = 0; i < WORKERS; i++)
			pthread_join(w[i], NULL);
	}
	atomic_store(&stop_flusher, true);
	pthread_join(f, NULL);
	bool freed_here = false;
	while (take_handoff(&a)) {
		release(&a);
		freed_here |= a.size <= IOVA_RCACHE_MAX_SIZE;
	}
	CHECK_EQ(atomic_load(&failures), 0);
	/* Everything went back: exited threads returned their caches; drain the depots. */
	CHECK_EQ(iova_stats(dom, &st), 0);
	CHECK_EQ(st.thread_caches, freed_here); /* only this thread's, if it freed here */
	CHECK_EQ(st.allocated, 0);
	/* Most allocations came from the caches, and the flusher drained them at least once. */
	CHECK(st.tree_allocs < atomic_load(&allocations) / 2);
	CHECK(st.rcache_flushes >= 1);
	iova_flush_rcaches(dom);
	CHECK_EQ(iova_stats(dom, &st), 0);
	CHECK_EQ(st.cached, 0);
	CHECK_EQ(st.depot_magazines, 0);
	CHECK_EQ(iova_tree_check(&dom->tree), 2); /* the reservation and the anchor */
	for (uint64_t p = 0; p <= LIMIT; p++)
		CHECK_EQ(atomic_load_explicit(&owner[p], memory_order_relaxed), 0);
	iova_domain_destroy(dom);
}

int main(void)
{
	RUN(test_concurrent_alloc_free);
	return CHECK_DONE();
}
