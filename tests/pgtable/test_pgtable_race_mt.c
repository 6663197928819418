// SPDX-License-Identifier: MIT
/*
 * The lost-race paths, made to happen every time. The table lives in a memory backend
 * whose compare-and-swap, when armed, holds each caller until a second thread reaches a
 * compare-and-swap too: two threads that both found the same slot empty (or the same large
 * page unsplit) then race for it for certain. Exactly one wins; the other must free the
 * table it built, nobody having seen it, and carry on in the winner's table.
 */
#include "pt_test.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MEM_BYTES (256 * MEM_PAGE_SIZE)

struct race_mem {
	uint8_t *bytes;
	int armed;   /* compare-and-swaps still to hold back */
	int waiting; /* callers that reached the rendezvous */
};

static int race_read(void *ctx, uint64_t pa, void *buf, size_t len)
{
	struct race_mem *rm = ctx;

	if (len == 8 && !(pa & 7)) /* entries: single-copy atomic, as on hardware */
		*(uint64_t *)buf =
		    __atomic_load_n((uint64_t *)(void *)(rm->bytes + pa), __ATOMIC_ACQUIRE);
	else
		memcpy(buf, rm->bytes + pa, len);
	return 0;
}

static int race_write(void *ctx, uint64_t pa, const void *buf, size_t len)
{
	struct race_mem *rm = ctx;

	if (len == 8 && !(pa & 7))
		__atomic_store_n((uint64_t *)(void *)(rm->bytes + pa), *(const uint64_t *)buf,
				 __ATOMIC_RELEASE);
	else
		memcpy(rm->bytes + pa, buf, len);
	return 0;
}

static int race_cmpxchg64(void *ctx, uint64_t pa, uint64_t *expected, uint64_t desired)
{
	struct race_mem *rm = ctx;
	struct timespec t0, t;

	if (__atomic_load_n(&rm->armed, __ATOMIC_ACQUIRE) > 0) {
		__atomic_sub_fetch(&rm->armed, 1, __ATOMIC_ACQ_REL);
		__atomic_add_fetch(&rm->waiting, 1, __ATOMIC_ACQ_REL);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		/* Wait for the other thread (a few seconds at most: never hang the suite). */
		while (__atomic_load_n(&rm->waiting, __ATOMIC_ACQUIRE) < 2) {
			sched_yield();
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > 5)
				break;
		}
	}
	return __atomic_compare_exchange_n((uint64_t *)(void *)(rm->bytes + pa), expected, desired,
					   false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
		   ? 0
		   : -EAGAIN;
}

static const struct mem_ops race_ops = {
    .read = race_read,
    .write = race_write,
    .cmpxchg64 = race_cmpxchg64,
};

struct job {
	struct pt_table *pt;
	uint64_t iova, size;
	bool unmap;
	int ret;
	uint64_t n;
};

static void *run_job(void *arg)
{
	struct job *j = arg;
	struct pt_gather g;

	if (!j->unmap) {
		j->ret = pt_map(j->pt, j->iova, j->iova + 8 * GB, j->size, PT_RW);
		return NULL;
	}
	pt_gather_init(&g);
	j->ret = pt_unmap(j->pt, j->iova, j->size, &g, &j->n);
	if (g.nfreed)
		j->ret = -EBADMSG; /* a partial unmap has no table to free */
	pt_gather_release(&g);
	return NULL;
}

/* Run two jobs at once with the next two compare-and-swaps held for a rendezvous. */
static void race(struct race_mem *rm, struct job *a, struct job *b)
{
	pthread_t ta, tb;

	__atomic_store_n(&rm->waiting, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&rm->armed, 2, __ATOMIC_RELEASE);
	pthread_create(&ta, NULL, run_job, a);
	pthread_create(&tb, NULL, run_job, b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
}

static int check_format(enum pt_format format)
{
	struct race_mem rm = {calloc(1, MEM_BYTES), 0, 0};
	struct mem_alloc *alloc;
	struct pt_table *pt;
	struct pt_config cfg = {format, 4, PT_ALL_SIZES, 0, 0, 0, NULL};
	struct mem *m;
	uint64_t pa, base;

	CHECK_RET(rm.bytes);
	m = mem_create(&race_ops, &rm, MEM_BYTES);
	CHECK_RET(m && mem_alloc_create(m, 0, MEM_BYTES, &alloc) == 0);
	cfg.alloc = alloc;
	CHECK_RET(pt_create(&cfg, &pt) == 0);
	/* Level-3 and level-2 tables exist; the level-1 table for 0..2 MiB does not. */
	CHECK_RET(pt_map(pt, 2 * MB, 2 * MB + 8 * GB, 4 * KB, PT_RW) == 0);
	base = mem_alloc_in_use(alloc);

	/* Two maps into the same missing table: one installs it, the other uses it. */
	struct job a = {pt, 4 * KB, 4 * KB, false, -1, 0}, b = {pt, 1 * MB, 8 * KB, false, -1, 0};

	race(&rm, &a, &b);
	CHECK_RET(a.ret == 0 && b.ret == 0);
	CHECK_RET(__atomic_load_n(&rm.waiting, __ATOMIC_RELAXED) == 2); /* they did meet */
	CHECK_RET(mem_alloc_in_use(alloc) == base + 1); /* the loser's page went back */
	CHECK_RET(pt_iova_to_phys(pt, 4 * KB, &pa) == 0 && pa == 4 * KB + 8 * GB);
	CHECK_RET(pt_iova_to_phys(pt, MB + 4 * KB, &pa) == 0 && pa == MB + 4 * KB + 8 * GB);

	/* Two unmaps inside one 2 MiB page: both split it, one split stays. */
	CHECK_RET(pt_map(pt, 4 * MB, 4 * MB + 8 * GB, 2 * MB, PT_RW) == 0);
	base = mem_alloc_in_use(alloc);
	a = (struct job){pt, 4 * MB + 8 * KB, 4 * KB, true, -1, 0};
	b = (struct job){pt, 5 * MB, 12 * KB, true, -1, 0};
	race(&rm, &a, &b);
	CHECK_RET(a.ret == 0 && b.ret == 0 && a.n == 4 * KB && b.n == 12 * KB);
	CHECK_RET(__atomic_load_n(&rm.waiting, __ATOMIC_RELAXED) == 2);
	CHECK_RET(mem_alloc_in_use(alloc) == base + 1);
	for (uint64_t iova = 4 * MB; iova < 6 * MB; iova += 4 * KB) {
		bool gone = iova == 4 * MB + 8 * KB || (iova >= 5 * MB && iova < 5 * MB + 12 * KB);
		int ret = pt_iova_to_phys(pt, iova, &pa);

		CHECK_RET(gone ? ret == -ENOENT : ret == 0 && pa == iova + 8 * GB);
	}
	pt_destroy(pt);
	CHECK_RET(mem_alloc_in_use(alloc) == 0);
	mem_alloc_destroy(alloc);
	mem_destroy(m);
	free(rm.bytes);
	return 0;
}

static void test_lost_races(void)
{
	CHECK_EQ(check_format(PT_FMT_X86_64), 0);
	CHECK_EQ(check_format(PT_FMT_VTD_SS), 0);
}

int main(void)
{
	RUN(test_lost_races);
	return CHECK_DONE();
}
