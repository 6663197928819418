// SPDX-License-Identifier: MIT
/*
 * Concurrent map/unmap of disjoint ranges of one table, without a lock (the contract in
 * pgtable.h), under ThreadSanitizer too. Each round:
 *   A. the workers map interleaved 4 KiB pages of one region (they race to install the
 *      same tables) and their own 2 MiB pages;
 *   B. worker 0 has mapped a 1 GiB page; the workers unmap disjoint 4 KiB pages of it at
 *      the same time (they race to split the 1 GiB page and its 2 MiB children) and their
 *      phase-A pages, while a reader thread keeps translating addresses of the 1 GiB page
 *      that nobody unmaps: they must never stop translating, whatever split is under way;
 *   C. one owner unmaps both regions whole and releases the freed tables.
 * Afterwards every translation is checked, and no table page is left over.
 */
#include "pt_test.h"

#include <pthread.h>

#define WORKERS	 4
#define ROUNDS	 12
#define A_PER	 512	      /* phase A: 4 KiB pages per worker, 8 in each of 64 2 MiB chunks */
#define B_PAGES	 1024	      /* phase B: one 4 KiB page every 1 MiB of the 1 GiB page */
#define B_STRIDE (1ull << 20) /* GB / B_PAGES */
#define PA_DELTA (64 * GB)

static struct pt_table *tables[2];
static struct mem_alloc *alloc;
static pthread_barrier_t barrier;
static int failures;
static int b_done;
static uint64_t reader_checks;

static uint64_t region_a(unsigned round)
{
	return (uint64_t)round * 4 * GB;
}

static uint64_t region_b(unsigned round)
{
	return (uint64_t)round * 4 * GB + 2 * GB;
}

/* Worker t's page i in phase A: every 2 MiB chunk (one level-1 table) has all workers'. */
static uint64_t a_page(unsigned round, unsigned t, unsigned i)
{
	return region_a(round) + (i / 8) * 2 * MB + (t * 8 + i % 8) * 4 * KB;
}

/* Page q of the 1 GiB page: unmapped in phase B by worker q % (WORKERS + 1), if any. */
static uint64_t b_page(unsigned round, unsigned q)
{
	return region_b(round) + q * B_STRIDE;
}

static void fail(const char *what, uint64_t iova, int ret)
{
	fprintf(stderr, "%s at 0x%llx: %d\n", what, (unsigned long long)iova, ret);
	__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
}

static void expect(struct pt_table *pt, uint64_t iova, bool mapped)
{
	uint64_t pa = 0;
	int ret = pt_iova_to_phys(pt, iova, &pa);

	if (mapped ? ret || pa != iova + PA_DELTA : ret != -ENOENT)
		fail(mapped ? "lost translation" : "stale translation", iova, ret);
}

static void phase_a(struct pt_table *pt, unsigned round, unsigned t)
{
	int ret;

	for (unsigned i = 0; i < A_PER; i++) {
		uint64_t iova = a_page(round, t, i);

		ret = pt_map(pt, iova, iova + PA_DELTA, 4 * KB, PT_RW);
		if (ret)
			fail("map 4K", iova, ret);
	}
	uint64_t big = region_a(round) + GB + t * 2 * MB;

	ret = pt_map(pt, big, big + PA_DELTA, 2 * MB, PT_RW);
	if (ret)
		fail("map 2M", big, ret);
}

static void phase_b(struct pt_table *pt, unsigned round, unsigned t)
{
	struct pt_gather g;
	uint64_t n;
	int ret;

	pt_gather_init(&g);
	for (unsigned q = t; q < B_PAGES; q += WORKERS + 1) {
		ret = pt_unmap(pt, b_page(round, q), 4 * KB, &g, &n);
		if (ret || n != 4 * KB)
			fail("unmap inside 1G", b_page(round, q), ret);
	}
	for (unsigned i = 0; i < A_PER; i++) {
		uint64_t iova = a_page(round, t, i);

		ret = pt_unmap(pt, iova, 4 * KB, &g, &n);
		if (ret || n != 4 * KB)
			fail("unmap 4K", iova, ret);
	}
	if (g.nfreed) /* disjoint 4 KiB unmaps never cover a table's span */
		fail("tables freed by a partial unmap", g.start, (int)g.nfreed);
	pt_gather_release(&g);
}

static void verify(struct pt_table *pt, unsigned round, unsigned t)
{
	for (unsigned q = t; q < B_PAGES; q += WORKERS) {
		expect(pt, b_page(round, q), q % (WORKERS + 1) == WORKERS);
		expect(pt, b_page(round, q) + 4 * KB, true);
		expect(pt, b_page(round, q) + B_STRIDE - 4 * KB, true);
	}
	for (unsigned i = 0; i < A_PER; i++)
		expect(pt, a_page(round, t, i), false);
	expect(pt, region_a(round) + GB + t * 2 * MB + 4 * KB, true);
}

static void cleanup(struct pt_table *pt, unsigned round)
{
	struct pt_gather g;
	uint64_t n, want = (B_PAGES - B_PAGES / (WORKERS + 1)) * 4 * KB;

	pt_gather_init(&g);
	if (pt_unmap(pt, region_a(round), 4 * GB, &g, &n) || n != WORKERS * 2 * MB + (GB - want))
		fail("cleanup", region_a(round), (int)(n >> 12));
	pt_gather_release(&g);
}

static void *worker(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;

	for (unsigned round = 0; round < ROUNDS; round++) {
		struct pt_table *pt = tables[round & 1];

		phase_a(pt, round, t);
		pthread_barrier_wait(&barrier);
		for (unsigned i = 0; i < A_PER; i++)
			expect(pt, a_page(round, (t + 1) % WORKERS, i), true);
		if (t == 0 && pt_map(pt, region_b(round), region_b(round) + PA_DELTA, GB, PT_RW))
			fail("map 1G", region_b(round), 0);
		pthread_barrier_wait(&barrier);
		phase_b(pt, round, t);
		__atomic_add_fetch(&b_done, 1, __ATOMIC_RELEASE);
		pthread_barrier_wait(&barrier);
		verify(pt, round, t);
		pthread_barrier_wait(&barrier);
		if (t == 0)
			cleanup(pt, round);
		pthread_barrier_wait(&barrier);
	}
	return NULL;
}

/* During phase B: the pages nobody unmaps keep translating while the splits happen. */
static void *reader(void *arg)
{
	(void)arg;
	for (unsigned round = 0; round < ROUNDS; round++) {
		struct pt_table *pt = tables[round & 1];

		pthread_barrier_wait(&barrier);
		pthread_barrier_wait(&barrier);
		do {
			for (unsigned q = WORKERS; q < B_PAGES; q += WORKERS + 1) {
				expect(pt, b_page(round, q), true);
				expect(pt, b_page(round, q - 1) + 4 * KB, true);
				reader_checks += 2;
			}
		} while (__atomic_load_n(&b_done, __ATOMIC_ACQUIRE) < WORKERS);
		pthread_barrier_wait(&barrier);
		__atomic_store_n(&b_done, 0, __ATOMIC_RELAXED);
		pthread_barrier_wait(&barrier);
		pthread_barrier_wait(&barrier);
	}
	return NULL;
}

static void test_disjoint_concurrent(void)
{
	struct pt_env env;
	struct pt_config cfg;
	pthread_t th[WORKERS + 1];
	uint64_t base;

	CHECK(pt_env_init(&env, 1 << 14) == 0);
	alloc = env.alloc;
	base = mem_alloc_in_use(alloc);
	cfg = pt_cfg(&env, PT_FMT_X86_64, 4, PT_ALL_SIZES, PT_CFG_SET_AD);
	CHECK_EQ(pt_create(&cfg, &tables[0]), 0);
	cfg = pt_cfg(&env, PT_FMT_VTD_SS, 4, PT_ALL_SIZES, 0);
	CHECK_EQ(pt_create(&cfg, &tables[1]), 0);
	pthread_barrier_init(&barrier, NULL, WORKERS + 1);
	for (uintptr_t t = 0; t < WORKERS; t++)
		pthread_create(&th[t], NULL, worker, (void *)t);
	pthread_create(&th[WORKERS], NULL, reader, NULL);
	for (unsigned t = 0; t <= WORKERS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&barrier);
	printf("     %u rounds, %llu reader translations during splits\n", ROUNDS,
	       (unsigned long long)reader_checks);
	CHECK_EQ(failures, 0);
	CHECK(reader_checks > 0);
	/* Cleanup unmapped whole table spans: only the roots and the top tables remain. */
	pt_destroy(tables[0]);
	pt_destroy(tables[1]);
	CHECK_EQ(mem_alloc_in_use(alloc), base);
	pt_env_fini(&env);
}

int main(void)
{
	RUN(test_disjoint_concurrent);
	return CHECK_DONE();
}
