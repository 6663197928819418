// SPDX-License-Identifier: MIT
/*
 * Page allocator for simulated physical memory.
 *
 * A bitmap of the region's pages plus, per page, the order of the run that starts there
 * (0 = no run starts here), so that mem_free_pages() can refuse a bad address or a wrong
 * order instead of corrupting the bitmap. Runs are naturally aligned, like a buddy
 * allocator's, which page tables and invalidation queues rely on.
 */
#include <softiommu/mem.h>

#include <pthread.h>
#include <stdlib.h>

#define MAX_ORDER 20

struct mem_alloc {
	struct mem *mem;
	uint64_t base;
	uint64_t npages;
	uint64_t *bitmap;   /* 1 = in use */
	uint8_t *run_order; /* order + 1 at the first page of an allocated run */
	uint64_t hint;	    /* first word that may have a free page */
	uint64_t in_use;
	pthread_mutex_t lock;
};

int mem_alloc_create(struct mem *m, uint64_t base, uint64_t size, struct mem_alloc **out)
{
	struct mem_alloc *a;
	uint64_t words;

	if (!m || !out || (base | size) & (MEM_PAGE_SIZE - 1) || size == 0 ||
	    !mem_range_ok(m, base, size))
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->mem = m;
	a->base = base;
	a->npages = size >> MEM_PAGE_SHIFT;
	words = (a->npages + 63) / 64;
	a->bitmap = calloc(words, sizeof(uint64_t));
	a->run_order = calloc(a->npages, 1);
	if (!a->bitmap || !a->run_order) {
		free(a->bitmap);
		free(a->run_order);
		free(a);
		return -ENOMEM;
	}
	/* Pages past the end of the region in the last word are permanently "in use". */
	if (a->npages % 64)
		a->bitmap[words - 1] = ~0ull << (a->npages % 64);
	pthread_mutex_init(&a->lock, NULL);
	*out = a;
	return 0;
}

void mem_alloc_destroy(struct mem_alloc *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a->bitmap);
	free(a->run_order);
	free(a);
}

static bool run_free(const struct mem_alloc *a, uint64_t first, uint64_t n)
{
	for (uint64_t p = first; p < first + n;) {
		uint64_t w = a->bitmap[p / 64];
		unsigned bit = p % 64;
		uint64_t span = 64 - bit < first + n - p ? 64 - bit : first + n - p;
		uint64_t mask = span == 64 ? ~0ull : ((1ull << span) - 1) << bit;

		if (w & mask)
			return false;
		p += span;
	}
	return true;
}

static void run_mark(struct mem_alloc *a, uint64_t first, uint64_t n, bool used)
{
	for (uint64_t p = first; p < first + n;) {
		unsigned bit = p % 64;
		uint64_t span = 64 - bit < first + n - p ? 64 - bit : first + n - p;
		uint64_t mask = span == 64 ? ~0ull : ((1ull << span) - 1) << bit;

		if (used)
			a->bitmap[p / 64] |= mask;
		else
			a->bitmap[p / 64] &= ~mask;
		p += span;
	}
}

/* First free naturally aligned run of n pages at or after word `from`; npages if none. */
static uint64_t find_run(const struct mem_alloc *a, uint64_t from_word, uint64_t n)
{
	uint64_t words = (a->npages + 63) / 64;

	if (n == 1) {
		for (uint64_t w = from_word; w < words; w++)
			if (a->bitmap[w] != ~0ull)
				return w * 64 + (uint64_t)__builtin_ctzll(~a->bitmap[w]);
		return a->npages;
	}
	for (uint64_t p = (from_word * 64 + n - 1) & ~(n - 1); p + n <= a->npages; p += n) {
		/* Skip whole words that are full. */
		if (n < 64 && a->bitmap[p / 64] == ~0ull) {
			p = (p | 63) + 1 - n;
			continue;
		}
		if (run_free(a, p, n))
			return p;
	}
	return a->npages;
}

int mem_alloc_pages(struct mem_alloc *a, unsigned order, uint64_t *pa)
{
	uint64_t n, p;
	int ret;

	if (!a || !pa || order > MAX_ORDER)
		return -EINVAL;
	n = 1ull << order;
	pthread_mutex_lock(&a->lock);
	p = find_run(a, order == 0 ? a->hint : 0, n);
	if (p >= a->npages) {
		pthread_mutex_unlock(&a->lock);
		return -ENOMEM;
	}
	run_mark(a, p, n, true);
	a->run_order[p] = (uint8_t)(order + 1);
	a->in_use += n;
	if (order == 0)
		a->hint = p / 64;
	pthread_mutex_unlock(&a->lock);

	*pa = a->base + (p << MEM_PAGE_SHIFT);
	ret = mem_fill(a->mem, *pa, 0, n << MEM_PAGE_SHIFT);
	if (ret) {
		mem_free_pages(a, *pa, order);
		return ret;
	}
	return 0;
}

int mem_alloc_page(struct mem_alloc *a, uint64_t *pa)
{
	return mem_alloc_pages(a, 0, pa);
}

int mem_free_pages(struct mem_alloc *a, uint64_t pa, unsigned order)
{
	uint64_t p;

	if (!a || order > MAX_ORDER || pa < a->base || (pa & (MEM_PAGE_SIZE - 1)))
		return -EINVAL;
	p = (pa - a->base) >> MEM_PAGE_SHIFT;
	if (p >= a->npages)
		return -EINVAL;
	pthread_mutex_lock(&a->lock);
	if (a->run_order[p] != order + 1) {
		pthread_mutex_unlock(&a->lock);
		return -EINVAL;
	}
	a->run_order[p] = 0;
	run_mark(a, p, 1ull << order, false);
	a->in_use -= 1ull << order;
	if (p / 64 < a->hint)
		a->hint = p / 64;
	pthread_mutex_unlock(&a->lock);
	return 0;
}

int mem_free_page(struct mem_alloc *a, uint64_t pa)
{
	return mem_free_pages(a, pa, 0);
}

uint64_t mem_alloc_in_use(struct mem_alloc *a)
{
	uint64_t n;

	pthread_mutex_lock(&a->lock);
	n = a->in_use;
	pthread_mutex_unlock(&a->lock);
	return n;
}

struct mem *mem_alloc_mem(struct mem_alloc *a)
{
	return a->mem;
}
