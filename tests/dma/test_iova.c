// SPDX-License-Identifier: MIT
/*
 * The IOVA allocator: placement (alignment, top-down order, limits, 32-bit preference),
 * reservations, exhaustion, the flush-and-retry path, bad frees, per-thread caches across
 * thread exit and domain destruction, and a randomized run against a bitmap oracle.
 */
#include "check.h"

#include "dma/iova_internal.h"

#include <pthread.h>
#include <softiommu/iova.h>
#include <string.h>

#define ANY UINT64_MAX

static struct iova_domain *mk(uint64_t start, uint64_t limit, unsigned int shift)
{
	struct iova_config c = {.granule_shift = shift, .start_pfn = start, .limit_pfn = limit};
	struct iova_domain *d = NULL;

	return iova_domain_create(&c, &d) ? NULL : d;
}

static uint64_t pow2up(uint64_t n)
{
	uint64_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

static struct iova_stats stats(struct iova_domain *d)
{
	struct iova_stats st;

	if (iova_stats(d, &st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

static void test_create_rejects_bad_config(void)
{
	struct iova_config c = {.start_pfn = 1, .limit_pfn = 0xfffff};
	struct iova_domain *d = NULL;

	CHECK_EQ(iova_domain_create(NULL, &d), -EINVAL);
	CHECK_EQ(iova_domain_create(&c, NULL), -EINVAL);
	c.granule_shift = 11;
	CHECK_EQ(iova_domain_create(&c, &d), -EINVAL);
	c.granule_shift = 31;
	CHECK_EQ(iova_domain_create(&c, &d), -EINVAL);
	c.granule_shift = 0;
	c.start_pfn = 0x100000;
	CHECK_EQ(iova_domain_create(&c, &d), -EINVAL);
	c.start_pfn = 1;
	c.limit_pfn = 1ull << 52;
	CHECK_EQ(iova_domain_create(&c, &d), -EINVAL);
	c.granule_shift = 16;
	c.limit_pfn = 1ull << 48;
	CHECK_EQ(iova_domain_create(&c, &d), -EINVAL);
	CHECK(d == NULL);
	c.granule_shift = 0;
	c.limit_pfn = 0xfffff;
	c.line_pfns = 1;
	CHECK_EQ(iova_domain_create(&c, &d), -EINVAL);
	c.line_pfns = 12;
	CHECK_EQ(iova_domain_create(&c, &d), -EINVAL);
	c.line_pfns = 128;
	CHECK_EQ(iova_domain_create(&c, &d), -EINVAL);
	c.line_pfns = 0;
	CHECK(d == NULL);
	c.limit_pfn = (1ull << 52) - 1;
	CHECK_EQ(iova_domain_create(&c, &d), 0);
	CHECK_EQ(iova_shift(d), 12);
	iova_domain_destroy(d);
	iova_domain_destroy(NULL);
	iova_flush_rcaches(NULL);
}

static void test_bad_arguments(void)
{
	struct iova_domain *d = mk(0x100, 0xfffff, 0);
	struct iova_stats st;
	uint64_t pfn;

	CHECK(d);
	CHECK_EQ(iova_alloc(NULL, 1, ANY, 0, &pfn), -EINVAL);
	CHECK_EQ(iova_alloc(d, 1, ANY, 0, NULL), -EINVAL);
	CHECK_EQ(iova_alloc(d, 0, ANY, 0, &pfn), -EINVAL);
	CHECK_EQ(iova_alloc(d, 1, ANY, 1u << 7, &pfn), -EINVAL);
	CHECK_EQ(iova_alloc(d, 1, 0xff, 0, &pfn), -EINVAL);
	CHECK_EQ(iova_alloc(d, 0xfff01, ANY, 0, &pfn), -ENOSPC);
	CHECK_EQ(iova_alloc(d, 8, 0x104, 0, &pfn), -ENOSPC); /* 5 pfns below the limit */
	CHECK_EQ(iova_alloc(d, UINT64_MAX, ANY, IOVA_ALLOC_ALIGN, &pfn), -ENOSPC);
	CHECK_EQ(iova_free(NULL, 0x200, 1), -EINVAL);
	CHECK_EQ(iova_free(d, 0x200, 0), -EINVAL);
	CHECK_EQ(iova_reserve(NULL, 1, 2), -EINVAL);
	CHECK_EQ(iova_reserve(d, 3, 2), -EINVAL);
	CHECK_EQ(iova_find(NULL, 1, NULL, NULL), -EINVAL);
	CHECK_EQ(iova_stats(NULL, &st), -EINVAL);
	CHECK_EQ(iova_stats(d, NULL), -EINVAL);
	st = stats(d);
	CHECK_EQ(st.allocated, 0);
	CHECK_EQ(st.tree_allocs, 0);
	iova_domain_destroy(d);
}

static void test_size_alignment(void)
{
	struct iova_domain *d = mk(1, (1ull << 36) - 1, 0);
	uint64_t pfn, lo, size;

	CHECK(d);
	for (uint64_t s = 1; s <= 70; s++) {
		for (int aligned = 0; aligned < 2; aligned++) {
			CHECK_EQ(iova_alloc(d, s, ANY, aligned ? IOVA_ALLOC_ALIGN : 0, &pfn), 0);
			/* Cached sizes are always size-aligned, larger ones when asked. */
			if (s <= IOVA_RCACHE_MAX_SIZE || aligned)
				CHECK_EQ(pfn % pow2up(s), 0);
			CHECK_EQ(iova_find(d, pfn + s - 1, &lo, &size), 0);
			CHECK_EQ(lo, pfn);
			CHECK_EQ(size, s);
			if (s <= IOVA_RCACHE_MAX_SIZE && pow2up(s) > s)
				CHECK_EQ(iova_find(d, pfn + s, NULL, NULL), -ENOENT); /* the tail */
		}
	}
	CHECK_EQ(stats(d).allocated, 140);
	CHECK_EQ(iova_tree_check(&d->tree), 141);
	iova_domain_destroy(d);
}

static void test_top_down_order(void)
{
	struct iova_domain *d = mk(1, 0xffff, 0);
	uint64_t pfn;

	CHECK(d);
	for (uint64_t want = 0xffff; want > 0xfffc; want--) {
		CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), 0);
		CHECK_EQ(pfn, want);
	}
	CHECK_EQ(iova_alloc(d, 4, ANY, 0, &pfn), 0);
	CHECK_EQ(pfn, 0xfff8); /* highest 4-aligned run ending below 0xfffd */
	CHECK_EQ(iova_alloc(d, 40, ANY, 0, &pfn), 0);
	CHECK_EQ(pfn, 0xfff8 - 40); /* uncached: exact size, no alignment */
	CHECK_EQ(iova_alloc(d, 40, ANY, IOVA_ALLOC_ALIGN, &pfn), 0);
	CHECK_EQ(pfn, 0xff80);
	/* A limit below everything allocated so far. */
	CHECK_EQ(iova_alloc(d, 2, 0x1001, 0, &pfn), 0);
	CHECK_EQ(pfn, 0x1000);
	/* Freed to the cache, taken back first (last in, first out). */
	CHECK_EQ(iova_free(d, 0xffff, 1), 0);
	CHECK_EQ(iova_free(d, 0xfffe, 1), 0);
	CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), 0);
	CHECK_EQ(pfn, 0xfffe);
	/* Back in the tree, the highest free pfn is found again. */
	CHECK_EQ(iova_free(d, 0xfffe, 1), 0);
	iova_flush_rcaches(d);
	CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), 0);
	CHECK_EQ(pfn, 0xffff);
	CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), 0);
	CHECK_EQ(pfn, 0xfffe);
	iova_domain_destroy(d);
}

/* Gaps left above the search position (here by alignment) are found once below is full. */
static void test_every_gap_is_found(void)
{
	struct iova_domain *d = mk(0x10, 0x1f, 0);
	uint64_t pfn, seen = 0;

	CHECK(d);
	CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), 0);
	CHECK_EQ(pfn, 0x1f);
	CHECK_EQ(iova_alloc(d, 4, ANY, 0, &pfn), 0);
	CHECK_EQ(pfn, 0x18); /* leaves 0x1c-0x1e free above it */
	for (int i = 0; i < 11; i++) {
		CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), 0);
		CHECK(pfn >= 0x10 && pfn <= 0x1e && !(pfn >= 0x18 && pfn <= 0x1b));
		CHECK(!(seen & (1ull << (pfn - 0x10))));
		seen |= 1ull << (pfn - 0x10);
	}
	CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), -ENOSPC);
	CHECK_EQ(iova_tree_check(&d->tree), 14);
	iova_domain_destroy(d);
}

static void test_limit_and_cache(void)
{
	struct iova_domain *d = mk(1, 0xfffff, 0);
	uint64_t pfn;

	CHECK(d);
	CHECK_EQ(iova_alloc(d, 1, 0x1000, 0, &pfn), 0);
	CHECK_EQ(pfn, 0x1000);
	CHECK_EQ(iova_alloc(d, 8, 0x1000, 0, &pfn), 0);
	CHECK_EQ(pfn, 0xff8);
	CHECK_EQ(iova_free(d, 0x1000, 1), 0);
	/* The cached 0x1000 is above this limit: the tree serves it. */
	CHECK_EQ(iova_alloc(d, 1, 0x800, 0, &pfn), 0);
	CHECK_EQ(pfn, 0x800);
	/* Without a limit, the cache serves first. */
	CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), 0);
	CHECK_EQ(pfn, 0x1000);
	/* An 8-pfn range at 0xff8 cached; a limit of 0xffe cannot take it (it ends at 0xfff). */
	CHECK_EQ(iova_free(d, 0xff8, 8), 0);
	CHECK_EQ(iova_alloc(d, 8, 0xffe, 0, &pfn), 0);
	CHECK_EQ(pfn, 0x7f8); /* top-down from the last allocation (0x800) */
	CHECK_EQ(iova_alloc(d, 8, 0xfff, 0, &pfn), 0);
	CHECK_EQ(pfn, 0xff8);
	iova_domain_destroy(d);
}

/* 256 pfns below 4 GiB, then up to 64 GiB. */
static void test_prefer_32_and_fallback(void)
{
	struct iova_domain *d = mk(0xfff00, 0xffffff, 0);
	uint64_t pfn, big, fails;

	CHECK(d);
	CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), 0);
	CHECK_EQ(pfn, 0xffffff); /* no preference: the top */
	CHECK_EQ(iova_alloc(d, 64, ANY, IOVA_ALLOC_PREFER_32, &big), 0);
	CHECK_EQ(big, 0xfffc0);
	for (uint64_t want = 0xfffbf; want >= 0xfff00; want--) {
		CHECK_EQ(iova_alloc(d, 1, ANY, IOVA_ALLOC_PREFER_32, &pfn), 0);
		CHECK_EQ(pfn, want);
	}
	CHECK_EQ(stats(d).fast_fail_32, 0);
	/* The 32-bit range is full: this search fails there and falls back above. */
	CHECK_EQ(iova_alloc(d, 1, ANY, IOVA_ALLOC_PREFER_32, &pfn), 0);
	CHECK_EQ(pfn, 0xfffffe);
	CHECK_EQ(stats(d).fast_fail_32, 0);
	/* From now on sizes at least as large are refused below 4 GiB without a search. */
	CHECK_EQ(iova_alloc(d, 1, ANY, IOVA_ALLOC_PREFER_32, &pfn), 0);
	CHECK_EQ(pfn, 0xfffffd);
	CHECK_EQ(iova_alloc(d, 4, ANY, IOVA_ALLOC_PREFER_32, &pfn), 0);
	CHECK_EQ(pfn, 0xfffff8);
	fails = stats(d).fast_fail_32;
	CHECK_EQ(fails, 2);
	CHECK_EQ(iova_alloc(d, 2, 0xfffff, 0, &pfn), -ENOSPC); /* an explicit 32-bit limit */
	CHECK_EQ(stats(d).fast_fail_32, fails + 1);
	/* Freeing below 4 GiB to the tree makes room and resets the memory of failure. */
	CHECK_EQ(iova_free(d, big, 64), 0);
	CHECK_EQ(iova_alloc(d, 1, ANY, IOVA_ALLOC_PREFER_32, &pfn), 0);
	CHECK_EQ(pfn, 0xfffff);
	CHECK_EQ(stats(d).fast_fail_32, fails + 1);
	/* A cached 32-bit range serves a 32-bit-preferring request. */
	CHECK_EQ(iova_free(d, 0xfff00, 1), 0);
	CHECK_EQ(iova_alloc(d, 1, ANY, IOVA_ALLOC_PREFER_32, &pfn), 0);
	CHECK_EQ(pfn, 0xfff00);
	iova_domain_destroy(d);
}

/* The interrupt window inside a small domain: allocate everything, none of it in there. */
static void test_reserved_never_returned(void)
{
	struct iova_domain *d = mk(0xfed00, 0xfefff, 0);
	uint64_t pfn, got = 0, seed = 7;

	CHECK(d);
	CHECK_EQ(iova_reserve(d, 0xfee00, 0xfeeff), 0);
	CHECK_EQ(stats(d).reserved, 1);
	for (;;) {
		uint64_t s = 1ull << (check_rand(&seed) % 4);
		int ret = iova_alloc(d, s, ANY, 0, &pfn);

		if (ret == -ENOSPC && s > 1)
			continue;
		if (ret == -ENOSPC)
			break;
		CHECK_EQ(ret, 0);
		CHECK(pfn + s - 1 < 0xfee00 || pfn > 0xfeeff);
		got += s;
	}
	CHECK_EQ(got, 512);
	CHECK_EQ(iova_find(d, 0xfee40, NULL, NULL), -ENOENT);
	CHECK_EQ(iova_free(d, 0xfee00, 1), -EINVAL);
	CHECK_EQ(iova_free(d, 0xfee00, 256), -EINVAL);
	/* Overlapping an allocation: refused, nothing changes. */
	CHECK_EQ(iova_reserve(d, 0xfedf0, 0xfee10), -EBUSY);
	CHECK_EQ(stats(d).reserved, 1);
	CHECK_EQ(iova_find(d, 0xfedf0, NULL, NULL), 0);
	iova_domain_destroy(d);
}

static void test_reserve_merge_and_clamp(void)
{
	struct iova_domain *d = mk(1, 400, 0);
	uint64_t pfn, got = 0;

	CHECK(d);
	CHECK_EQ(iova_reserve(d, 100, 200), 0);
	CHECK_EQ(iova_reserve(d, 150, 300), 0);
	CHECK_EQ(iova_reserve(d, 50, 120), 0);
	CHECK_EQ(iova_reserve(d, 60, 70), 0);
	CHECK_EQ(stats(d).reserved, 1);
	CHECK_EQ(iova_reserve(d, 301, 310), 0); /* adjacent: a second range */
	CHECK_EQ(stats(d).reserved, 2);
	CHECK_EQ(iova_reserve(d, 1000, 2000), 0); /* outside the domain: nothing to do */
	CHECK_EQ(stats(d).reserved, 2);
	CHECK_EQ(iova_reserve(d, 0, 5), 0); /* clamped to [1, 5] */
	CHECK_EQ(stats(d).reserved, 3);
	CHECK_EQ(iova_tree_check(&d->tree), 4);
	while (iova_alloc(d, 1, ANY, 0, &pfn) == 0) {
		CHECK(pfn >= 6 && pfn <= 400 && !(pfn >= 50 && pfn <= 310));
		got++;
	}
	CHECK_EQ(got, 400 - 5 - 261);
	/* A cached range blocks a reservation until the caches are flushed. */
	CHECK_EQ(iova_free(d, 400, 1), 0);
	CHECK_EQ(iova_reserve(d, 400, 400), -EBUSY);
	iova_flush_rcaches(d);
	CHECK_EQ(iova_reserve(d, 400, 400), 0);
	CHECK_EQ(iova_alloc(d, 1, ANY, IOVA_ALLOC_FLUSH_RCACHE, &pfn), -ENOSPC);
	iova_domain_destroy(d);
}

static void test_exhaustion_then_free(void)
{
	struct iova_domain *d = mk(0x10, 0x1f, 0);
	uint64_t pfn, big;

	CHECK(d);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), 0);
	CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), -ENOSPC);
	CHECK_EQ(iova_alloc(d, 1, ANY, IOVA_ALLOC_FLUSH_RCACHE, &pfn), -ENOSPC);
	CHECK_EQ(iova_free(d, 0x13, 1), 0);
	CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), 0);
	CHECK_EQ(pfn, 0x13);
	iova_domain_destroy(d);

	d = mk(0x100, 0x1ff, 0);
	CHECK(d);
	CHECK_EQ(iova_alloc(d, 200, ANY, 0, &big), 0);
	CHECK_EQ(iova_alloc(d, 100, ANY, 0, &pfn), -ENOSPC);
	CHECK_EQ(iova_free(d, big, 200), 0);
	CHECK_EQ(iova_alloc(d, 100, ANY, 0, &pfn), 0);
	CHECK_EQ(pfn, 0x19c);
	iova_domain_destroy(d);
}

/* Another thread fills the domain and keeps every range in its cache. */
struct hoarder {
	struct iova_domain *d;
	pthread_barrier_t *bar;
	int n;
	int err;
};

static void *hoard(void *arg)
{
	struct hoarder *h = arg;
	uint64_t pfns[4 * IOVA_MAG_SIZE];

	for (int i = 0; i < h->n; i++)
		if (iova_alloc(h->d, 1, ANY, 0, &pfns[i]))
			h->err = 1;
	for (int i = 0; i < h->n; i++)
		if (iova_free(h->d, pfns[i], 1))
			h->err = 1;
	if (h->bar) {
		pthread_barrier_wait(h->bar); /* cached and still alive */
		pthread_barrier_wait(h->bar); /* the main thread is done */
	}
	return NULL;
}

static void test_flush_and_retry(void)
{
	struct iova_domain *d = mk(0x10, 0x1f, 0);
	uint64_t pfns[16], pfn;
	pthread_barrier_t bar;
	struct hoarder h = {.n = 16, .bar = &bar};
	pthread_t t;

	CHECK(d);
	/* Our own cache holds everything: a 2-pfn request needs a flush. */
	for (int i = 0; i < 16; i++)
		CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfns[i]), 0);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(iova_free(d, pfns[i], 1), 0);
	CHECK_EQ(stats(d).cached, 16);
	CHECK_EQ(iova_alloc(d, 2, ANY, 0, &pfn), -ENOSPC);
	CHECK_EQ(stats(d).rcache_flushes, 0);
	CHECK_EQ(iova_alloc(d, 2, ANY, IOVA_ALLOC_FLUSH_RCACHE, &pfn), 0);
	CHECK_EQ(pfn, 0x1e);
	CHECK_EQ(stats(d).rcache_flushes, 1);
	CHECK_EQ(stats(d).cached, 0);
	CHECK_EQ(iova_free(d, pfn, 2), 0);
	iova_flush_rcaches(d);
	CHECK_EQ(stats(d).allocated, 0);

	/* Another live thread's cache holds everything: the flush reaches it too. */
	h.d = d;
	pthread_barrier_init(&bar, NULL, 2);
	CHECK_EQ(pthread_create(&t, NULL, hoard, &h), 0);
	pthread_barrier_wait(&bar);
	CHECK_EQ(h.err, 0);
	CHECK_EQ(stats(d).cached, 16);
	CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), -ENOSPC);
	CHECK_EQ(iova_alloc(d, 8, ANY, IOVA_ALLOC_FLUSH_RCACHE, &pfn), 0);
	CHECK_EQ(pfn, 0x18);
	CHECK_EQ(stats(d).rcache_flushes, 3);
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&bar);
	CHECK_EQ(stats(d).allocated, 1);
	iova_domain_destroy(d);
}

/* A thread's cache goes back to the domain when the thread exits. */
static void test_thread_exit_returns_cache(void)
{
	struct iova_domain *d = mk(1, 0xfffff, 0);
	struct hoarder h = {.n = 10};
	pthread_t t;
	struct iova_stats st;

	CHECK(d);
	h.d = d;
	CHECK_EQ(pthread_create(&t, NULL, hoard, &h), 0);
	pthread_join(t, NULL);
	CHECK_EQ(h.err, 0);
	st = stats(d);
	CHECK_EQ(st.thread_caches, 0);
	CHECK_EQ(st.cached, 0); /* a part-filled magazine goes to the tree */
	CHECK_EQ(st.allocated, 0);
	CHECK_EQ(st.tree_frees, 10);

	/* A full magazine goes to the depot, where the next thread finds it. */
	h.n = IOVA_MAG_SIZE;
	CHECK_EQ(pthread_create(&t, NULL, hoard, &h), 0);
	pthread_join(t, NULL);
	CHECK_EQ(h.err, 0);
	st = stats(d);
	CHECK_EQ(st.depot_magazines, 1);
	CHECK_EQ(st.cached, IOVA_MAG_SIZE);
	uint64_t allocs = st.tree_allocs, pfn;
	CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), 0);
	st = stats(d);
	CHECK_EQ(st.tree_allocs, allocs);
	CHECK_EQ(st.depot_magazines, 0);
	CHECK_EQ(st.cached, IOVA_MAG_SIZE - 1);
	iova_domain_destroy(d);
}

/*
 * A thread that frees more than its two magazines hold keeps IOVA_TC_SPARES full ones to
 * itself and reuses them without the depot or the tree; beyond that the depot gets them,
 * and the spares go there when the thread exits.
 */
static void *spender(void *arg)
{
	struct hoarder *h = arg;
	enum { N = (3 + IOVA_TC_SPARES) * IOVA_MAG_SIZE };
	static uint64_t pfns[N];
	struct iova_stats st;

	for (int i = 0; i < N; i++)
		h->err |= iova_alloc(h->d, 1, ANY, 0, &pfns[i]) != 0;
	for (int i = 0; i < N; i++)
		h->err |= iova_free(h->d, pfns[i], 1) != 0;
	st = stats(h->d);
	/* Loaded, previous and the spares here; one full magazine in the depot. */
	h->err |= st.depot_magazines != 1 || st.cached != N;
	for (int i = 0; i < (2 + IOVA_TC_SPARES) * IOVA_MAG_SIZE; i++)
		h->err |= iova_alloc(h->d, 1, ANY, 0, &pfns[i]) != 0;
	st = stats(h->d);
	h->err |= st.tree_allocs != N || st.depot_magazines != 1;
	for (int i = 0; i < (2 + IOVA_TC_SPARES) * IOVA_MAG_SIZE; i++)
		h->err |= iova_free(h->d, pfns[i], 1) != 0;
	return NULL;
}

static void test_thread_spares(void)
{
	struct iova_domain *d = mk(1, 0xfffff, 0);
	struct hoarder h = {0};
	struct iova_stats st;
	pthread_t t;

	CHECK(d);
	h.d = d;
	CHECK_EQ(pthread_create(&t, NULL, spender, &h), 0);
	pthread_join(t, NULL);
	CHECK_EQ(h.err, 0);
	st = stats(d);
	CHECK_EQ(st.thread_caches, 0);
	/* At exit: the two full magazines and the spares went to the depot. */
	CHECK_EQ(st.depot_magazines, 3 + IOVA_TC_SPARES);
	CHECK_EQ(st.cached, (3 + IOVA_TC_SPARES) * IOVA_MAG_SIZE);
	iova_domain_destroy(d);
}

/* The state map's leaf index is a permutation of a leaf, keeps a line's worth of pfns (an
 * aligned 8) in one cache line and puts neighbouring lines' in different ones. */
static void test_state_map_layout(void)
{
	static uint8_t seen[1u << IOVA_MAP_LEAF_BITS];

	for (uint64_t p = 0; p < (1u << IOVA_MAP_LEAF_BITS); p++) {
		unsigned i = iova_map_leaf_index(p);

		CHECK(i < (1u << IOVA_MAP_LEAF_BITS));
		CHECK_EQ(seen[i]++, 0);
		CHECK_EQ(i / 64, iova_map_leaf_index(p & ~7ull) / 64);
		CHECK(i / 64 != iova_map_leaf_index(p + 8) / 64);
	}
	CHECK_EQ(iova_map_leaf_index(0x12345), iova_map_leaf_index(0x345));
}

/* With line_pfns, a miss takes an aligned line from the tree; the rest of it waits in the
 * thread's cache and comes out next, top down; larger sizes are left alone. */
struct liner {
	struct iova_domain *d;
	uint64_t pfn[8];
	int err;
};

static void *line_user(void *arg)
{
	struct liner *l = arg;

	for (int i = 0; i < 8; i++)
		l->err |= iova_alloc(l->d, 1, ANY, 0, &l->pfn[i]) != 0;
	return NULL;
}

static void test_line_allocation(void)
{
	struct iova_config c = {.start_pfn = 1, .limit_pfn = 0xfffff, .line_pfns = 8};
	struct liner other = {0};
	struct iova_domain *d;
	struct iova_stats st;
	uint64_t pfn, two[4];
	pthread_t t;

	CHECK_EQ(iova_domain_create(&c, &d), 0);
	CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), 0);
	CHECK_EQ(pfn, 0xfffff); /* the top, as without lines */
	st = stats(d);
	CHECK_EQ(st.tree_allocs, 8);
	CHECK_EQ(st.allocated, 1);
	CHECK_EQ(st.cached, 7);
	for (uint64_t i = 1; i < 8; i++) {
		CHECK_EQ(iova_alloc(d, 1, ANY, 0, &pfn), 0);
		CHECK_EQ(pfn, 0xfffff - i);
	}
	CHECK_EQ(stats(d).tree_allocs, 8);
	CHECK_EQ(stats(d).cached, 0);
	/* Another thread gets a line of its own. */
	other.d = d;
	CHECK_EQ(pthread_create(&t, NULL, line_user, &other), 0);
	pthread_join(t, NULL);
	CHECK_EQ(other.err, 0);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(other.pfn[i] & ~7ull, 0xffff0);
	/* Two pages: four to a line. */
	for (int i = 0; i < 4; i++)
		CHECK_EQ(iova_alloc(d, 2, ANY, 0, &two[i]), 0);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(two[i], 0xfffe8 + 2 * (3 - (uint64_t)i));
	/* A line's size and above: one range, as before. */
	uint64_t allocs = stats(d).tree_allocs;
	CHECK_EQ(iova_alloc(d, 8, ANY, 0, &pfn), 0);
	CHECK_EQ(stats(d).tree_allocs, allocs + 1);
	CHECK_EQ(stats(d).cached, 0);
	/* Frees go to the cache as usual; the tree keeps every range apart. */
	CHECK_EQ(iova_free(d, pfn, 8), 0);
	CHECK_EQ(iova_free(d, 0xfffff, 1), 0);
	CHECK_EQ(iova_free(d, 0xfffff, 1), -EINVAL);
	iova_flush_rcaches(d);
	CHECK_EQ(iova_find(d, 0xfffff, NULL, NULL), -ENOENT);
	CHECK_EQ(iova_find(d, 0xffffe, NULL, NULL), 0);
	iova_domain_destroy(d);
}

/* Where no whole line fits, the one range is allocated; a cached line fills the space to
 * the last pfn. */
static void test_line_allocation_when_full(void)
{
	struct iova_config c = {.start_pfn = 0x10, .limit_pfn = 0x1c, .line_pfns = 8};
	struct iova_domain *d;
	uint64_t pfn, n = 0;

	CHECK_EQ(iova_domain_create(&c, &d), 0);
	/* 0x10..0x17 is a line; 0x18..0x1c is not. */
	while (iova_alloc(d, 1, ANY, 0, &pfn) == 0) {
		CHECK(pfn >= 0x10 && pfn <= 0x1c);
		n++;
	}
	CHECK_EQ(n, 13);
	CHECK_EQ(stats(d).allocated, 13);
	CHECK_EQ(stats(d).cached, 0);
	iova_domain_destroy(d);
}

/* The depot keeps at most depot_max full magazines per class; the rest go to the tree. */
static void test_depot_limit(void)
{
	struct iova_config cfg = {.start_pfn = 1, .limit_pfn = 0xfffff, .depot_max = 1};
	struct hoarder h = {.n = 3 * IOVA_MAG_SIZE};
	struct iova_domain *d;
	struct iova_stats st;
	pthread_t t;

	CHECK_EQ(iova_domain_create(&cfg, &d), 0);
	h.d = d;
	CHECK_EQ(pthread_create(&t, NULL, hoard, &h), 0);
	pthread_join(t, NULL);
	CHECK_EQ(h.err, 0);
	st = stats(d);
	CHECK_EQ(st.depot_magazines, 1);
	CHECK_EQ(st.cached, IOVA_MAG_SIZE);
	CHECK_EQ(st.tree_frees, 2 * IOVA_MAG_SIZE);
	CHECK_EQ(st.allocated, 0);
	iova_domain_destroy(d);
}

static void test_bad_frees_change_nothing(void)
{
	struct iova_domain *d = mk(1, 0xfffff, 0);
	uint64_t a, b, lo, size;
	struct iova_stats before;

	CHECK(d);
	CHECK_EQ(iova_reserve(d, 0x500, 0x5ff), 0);
	CHECK_EQ(iova_free(d, 0x1234, 1), -EINVAL);  /* never allocated, cached size */
	CHECK_EQ(iova_free(d, 0x1234, 64), -EINVAL); /* ... uncached size */
	CHECK_EQ(iova_alloc(d, 3, ANY, 0, &a), 0);
	CHECK_EQ(iova_alloc(d, 40, ANY, 0, &b), 0);
	before = stats(d);
	CHECK_EQ(iova_free(d, a, 4), -EINVAL); /* the rounded size is not the size */
	CHECK_EQ(iova_free(d, a, 2), -EINVAL);
	CHECK_EQ(iova_free(d, a, 64), -EINVAL);
	CHECK_EQ(iova_free(d, a + 1, 3), -EINVAL);
	CHECK_EQ(iova_free(d, a + 3, 1), -EINVAL); /* the rounding tail */
	CHECK_EQ(iova_free(d, b, 39), -EINVAL);
	CHECK_EQ(iova_free(d, b, 41), -EINVAL);
	CHECK_EQ(iova_free(d, b, 1), -EINVAL);
	CHECK_EQ(iova_free(d, b + 1, 40), -EINVAL);
	CHECK_EQ(iova_free(d, 0x500, 1), -EINVAL); /* reserved */
	CHECK_EQ(iova_free(d, 0x500, 256), -EINVAL);
	CHECK_EQ(iova_free(d, 0, 1), -EINVAL); /* outside the domain */
	CHECK_EQ(iova_free(d, 0x100000, 1), -EINVAL);
	CHECK_EQ(iova_free(d, 1ull << 60, 1), -EINVAL);
	CHECK_EQ(iova_free(d, UINT64_MAX, 1), -EINVAL);
	struct iova_stats after = stats(d);
	CHECK_EQ(after.allocated, before.allocated);
	CHECK_EQ(after.cached, before.cached);
	CHECK_EQ(after.tree_frees, before.tree_frees);
	CHECK_EQ(iova_find(d, a + 2, &lo, &size), 0);
	CHECK_EQ(lo, a);
	CHECK_EQ(size, 3);
	CHECK_EQ(iova_find(d, b + 39, &lo, &size), 0);
	CHECK_EQ(lo, b);
	CHECK_EQ(size, 40);
	/* The right frees work once, and only once. */
	CHECK_EQ(iova_free(d, a, 3), 0);
	CHECK_EQ(iova_free(d, a, 3), -EINVAL);
	CHECK_EQ(iova_find(d, a, NULL, NULL), -ENOENT); /* cached, not live */
	CHECK_EQ(iova_free(d, b, 40), 0);
	CHECK_EQ(iova_free(d, b, 40), -EINVAL);
	CHECK_EQ(iova_find(d, b, NULL, NULL), -ENOENT);
	iova_flush_rcaches(d);
	CHECK_EQ(iova_free(d, a, 3), -EINVAL); /* back in the tree: still not live */
	CHECK_EQ(stats(d).allocated, 0);
	iova_domain_destroy(d);
}

/* IOVA spaces wider than 48 bits (57-bit and 64-bit addresses) take the deeper state walk. */
static void test_wide_domains(void)
{
	const uint64_t limits[] = {(1ull << 45) - 1, (1ull << 52) - 1};

	for (int i = 0; i < 2; i++) {
		struct iova_domain *d = mk(1, limits[i], 0);
		uint64_t a, b, c, lo, size;

		CHECK(d);
		CHECK_EQ(iova_alloc(d, 3, ANY, 0, &a), 0);
		CHECK_EQ(a, limits[i] - 3);
		CHECK_EQ(iova_alloc(d, 1, 0x1000, 0, &b), 0);
		CHECK_EQ(b, 0x1000);
		CHECK_EQ(iova_alloc(d, 2, ANY, IOVA_ALLOC_PREFER_32, &c), 0);
		CHECK_EQ(c, 0xffe); /* below the last 32-bit allocation */
		CHECK_EQ(iova_find(d, a + 2, &lo, &size), 0);
		CHECK_EQ(lo, a);
		CHECK_EQ(size, 3);
		CHECK_EQ(iova_free(d, a, 2), -EINVAL);
		CHECK_EQ(iova_free(d, limits[i] >> 1, 1), -EINVAL); /* no leaf there */
		CHECK_EQ(iova_free(d, a, 3), 0);
		CHECK_EQ(iova_free(d, b, 1), 0);
		CHECK_EQ(iova_free(d, c, 2), 0);
		CHECK_EQ(iova_free(d, c, 2), -EINVAL);
		CHECK_EQ(iova_alloc(d, 3, ANY, 0, &lo), 0);
		CHECK_EQ(lo, a); /* from the cache */
		iova_domain_destroy(d);
	}
}

/*
 * More domains than thread-local slots, used in turn from one thread: each domain's cache
 * must stay its own (each domain has its own range, so a mix-up shows as a foreign pfn).
 */
static void test_many_domains_one_thread(void)
{
	enum { N = 3 * IOVA_TLS_SLOTS + 1 };
	struct iova_domain *d[N];
	uint64_t pfn[N][4];

	for (int i = 0; i < N; i++) {
		d[i] = mk(0x1000ull * (i + 1), 0x1000ull * (i + 1) + 0xfff, 0);
		CHECK(d[i]);
	}
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++)
			for (int j = 0; j < 4; j++) {
				CHECK_EQ(iova_alloc(d[i], 1, ANY, 0, &pfn[i][j]), 0);
				CHECK_EQ(pfn[i][j] >> 12, i + 1);
			}
		for (int i = N; i--;)
			for (int j = 0; j < 4; j++)
				CHECK_EQ(iova_free(d[i], pfn[i][j], 1), 0);
	}
	for (int i = 0; i < N; i++) {
		struct iova_stats st = stats(d[i]);

		CHECK_EQ(st.thread_caches, 1);
		CHECK_EQ(st.cached, 4);
		CHECK_EQ(st.tree_allocs, 4);
	}
	for (int i = 0; i < N; i += 2)
		iova_domain_destroy(d[i]);
	for (int i = 1; i < N; i += 2) {
		CHECK_EQ(iova_alloc(d[i], 1, ANY, 0, &pfn[i][0]), 0);
		CHECK_EQ(pfn[i][0] >> 12, i + 1);
		iova_domain_destroy(d[i]);
	}
}

/*
 * A thread outlives a domain it cached ranges in, then goes on with another domain; and
 * a domain is destroyed with live, cached and reserved ranges (ASan checks for leaks).
 */
struct survivor {
	struct iova_domain *first, *second;
	pthread_barrier_t bar;
	int err;
};

static void *survive(void *arg)
{
	struct survivor *s = arg;
	uint64_t pfn;

	if (iova_alloc(s->first, 4, ANY, 0, &pfn) || iova_free(s->first, pfn, 4))
		s->err = 1;
	if (iova_alloc(s->first, 2, ANY, 0, &pfn)) /* left allocated */
		s->err = 1;
	pthread_barrier_wait(&s->bar);
	pthread_barrier_wait(&s->bar); /* first destroyed by the main thread */
	for (int i = 0; i < 300; i++)
		if (iova_alloc(s->second, 1, ANY, 0, &pfn) || iova_free(s->second, pfn, 1))
			s->err = 1;
	return NULL;
}

static void test_teardown_frees_everything(void)
{
	struct survivor s = {0};
	uint64_t pfn;
	pthread_t t;

	s.first = mk(1, 0xfffff, 0);
	s.second = mk(1, 0xfffff, 0);
	CHECK(s.first && s.second);
	CHECK_EQ(iova_reserve(s.first, 0xfee00, 0xfeeff), 0);
	for (uint64_t size = 1; size < 300; size += 7)
		CHECK_EQ(iova_alloc(s.first, size, ANY, 0, &pfn), 0);
	/* Cached ranges in both magazines, the spares and the depot, some singles left
	 * allocated. */
	static uint64_t pfns[(4 + IOVA_TC_SPARES) * IOVA_MAG_SIZE];
	for (int i = 0; i < (4 + IOVA_TC_SPARES) * IOVA_MAG_SIZE; i++)
		CHECK_EQ(iova_alloc(s.first, 1, ANY, 0, &pfns[i]), 0);
	for (int i = 0; i < (4 + IOVA_TC_SPARES) * IOVA_MAG_SIZE; i++)
		if (i % 7)
			CHECK_EQ(iova_free(s.first, pfns[i], 1), 0);
	CHECK(stats(s.first).depot_magazines >= 1);
	pthread_barrier_init(&s.bar, NULL, 2);
	CHECK_EQ(pthread_create(&t, NULL, survive, &s), 0);
	pthread_barrier_wait(&s.bar);
	CHECK_EQ(stats(s.first).thread_caches, 2);
	iova_domain_destroy(s.first);
	pthread_barrier_wait(&s.bar);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&s.bar);
	CHECK_EQ(s.err, 0);
	CHECK_EQ(stats(s.second).thread_caches, 0);
	CHECK_EQ(stats(s.second).allocated, 0);
	iova_domain_destroy(s.second);
}

/*
 * Random allocations and frees in a 64 KiB-granule domain four times the size of the
 * 32-bit range, with the interrupt window reserved, against a bitmap of what is owned.
 */
#define R_LIMIT 0x3ffffull
#define R_LIVE	2048

struct live {
	uint64_t pfn, size, span;
};

static uint8_t owner[R_LIMIT + 1];

static int oracle_take(uint64_t pfn, uint64_t span, uint8_t val)
{
	for (uint64_t p = pfn; p < pfn + span; p++) {
		CHECK_RET(owner[p] != val);
		owner[p] = val;
	}
	return 0;
}

static int random_step(struct iova_domain *d, struct live *live, int *n, uint64_t *seed)
{
	uint64_t r = check_rand(seed);

	if (*n < R_LIVE && (*n == 0 || r % 100 < 55)) {
		uint64_t size = r % 10 < 8 ? 1 + (r >> 8) % 32 : 33 + (r >> 8) % 300;
		unsigned int flags = (unsigned int)(r >> 20) & 7;
		uint64_t limit = (r >> 24) % 8 ? ANY : 0x1000 + (r >> 28) % (R_LIMIT - 0x1000);
		uint64_t pfn, span = size <= 32 ? pow2up(size) : size;
		int ret = iova_alloc(d, size, limit, flags, &pfn);

		if (ret == -ENOSPC)
			return 0;
		CHECK_RET(ret == 0);
		CHECK_RET(pfn >= 1 && pfn + span - 1 <= (limit < R_LIMIT ? limit : R_LIMIT));
		if (size <= 32 || (flags & IOVA_ALLOC_ALIGN))
			CHECK_RET(pfn % pow2up(size) == 0);
		CHECK_RET(pfn + span - 1 < 0xfee0 || pfn > 0xfeef);
		CHECK_RET(oracle_take(pfn, span, 1) == 0);
		live[(*n)++] = (struct live){pfn, size, span};
		return 0;
	}
	int i = (int)((r >> 8) % (uint64_t)*n);

	if (r % 50 == 0) /* a wrong size now and then: refused */
		CHECK_RET(iova_free(d, live[i].pfn, live[i].size + 1) == -EINVAL);
	CHECK_RET(iova_free(d, live[i].pfn, live[i].size) == 0);
	CHECK_RET(oracle_take(live[i].pfn, live[i].span, 0) == 0);
	live[i] = live[--(*n)];
	return 0;
}

static void test_random_against_oracle(void)
{
	struct iova_domain *d = mk(1, R_LIMIT, 16);
	static struct live live[R_LIVE];
	uint64_t seed = 2024, lo, size;
	int n = 0;

	CHECK(d);
	memset(owner, 0, sizeof(owner));
	CHECK_EQ(iova_reserve(d, 0xfee0, 0xfeef), 0);
	for (int step = 1; step <= 60000; step++) {
		CHECK_EQ(random_step(d, live, &n, &seed), 0);
		if (step % 20000 == 0)
			iova_flush_rcaches(d);
		if (step % 5000)
			continue;
		CHECK(iova_tree_check(&d->tree) > 0);
		CHECK_EQ(stats(d).allocated, n);
		for (int i = 0; i < n; i++) {
			CHECK_EQ(iova_find(d, live[i].pfn + live[i].size - 1, &lo, &size), 0);
			CHECK_EQ(lo, live[i].pfn);
			CHECK_EQ(size, live[i].size);
		}
	}
	/* Free half; the domain goes with the rest still allocated. */
	for (; n > R_LIVE / 4; n--)
		CHECK_EQ(iova_free(d, live[n - 1].pfn, live[n - 1].size), 0);
	iova_domain_destroy(d);
}

int main(void)
{
	RUN(test_create_rejects_bad_config);
	RUN(test_bad_arguments);
	RUN(test_size_alignment);
	RUN(test_top_down_order);
	RUN(test_every_gap_is_found);
	RUN(test_limit_and_cache);
	RUN(test_prefer_32_and_fallback);
	RUN(test_reserved_never_returned);
	RUN(test_reserve_merge_and_clamp);
	RUN(test_exhaustion_then_free);
	RUN(test_flush_and_retry);
	RUN(test_thread_exit_returns_cache);
	RUN(test_thread_spares);
	RUN(test_state_map_layout);
	RUN(test_line_allocation);
	RUN(test_line_allocation_when_full);
	RUN(test_depot_limit);
	RUN(test_bad_frees_change_nothing);
	RUN(test_wide_domains);
	RUN(test_many_domains_one_thread);
	RUN(test_teardown_frees_everything);
	RUN(test_random_against_oracle);
	return CHECK_DONE();
}
