// SPDX-License-Identifier: MIT
/* The page allocator is shared by CPU threads (driver, DMA layer): hammer it from several. */
#include "check.h"

#include <pthread.h>
#include <softiommu/mem.h>

#define THREADS 4
#define ROUNDS	2000

static struct mem_alloc *alloc;

static void *worker(void *arg)
{
	uint64_t seed = (uintptr_t)arg, held[16];
	int n = 0;

	for (int i = 0; i < ROUNDS; i++) {
		if (n < 16 && (check_rand(&seed) & 1)) {
			if (mem_alloc_page(alloc, &held[n]) == 0) {
				/* Owning a page means nobody else writes it. */
				mem_write64(mem_alloc_mem(alloc), held[n], (uintptr_t)arg);
				n++;
			}
		} else if (n) {
			uint64_t v = 0;

			n--;
			mem_read64(mem_alloc_mem(alloc), held[n], &v);
			if (v != (uintptr_t)arg)
				return (void *)1;
			mem_free_page(alloc, held[n]);
		}
	}
	while (n--)
		mem_free_page(alloc, held[n]);
	return NULL;
}

static void test_concurrent_alloc(void)
{
	struct mem *m = mem_create_sparse(1 << 24);
	pthread_t t[THREADS];
	void *r;

	CHECK(m);
	CHECK_EQ(mem_alloc_create(m, 0, 1 << 22, &alloc), 0);
	for (uintptr_t i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(i + 1));
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], &r);
		CHECK(r == NULL);
	}
	CHECK_EQ(mem_alloc_in_use(alloc), 0);
	mem_alloc_destroy(alloc);
	mem_destroy(m);
}

int main(void)
{
	RUN(test_concurrent_alloc);
	return CHECK_DONE();
}
