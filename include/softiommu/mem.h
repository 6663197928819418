/* SPDX-License-Identifier: MIT */
/*
 * softiommu physical memory.
 *
 * A `struct mem` is one physical address space [0, size). Everything that touches
 * "RAM" (the VT-d model walking tables, the driver writing them, devices doing DMA)
 * goes through one of these, so the same model can run on the default sparse backend
 * or on an emulator's own guest memory (supply a `struct mem_ops`).
 *
 * Errors are negative errno values. An access that is not wholly inside [0, size)
 * returns -EFAULT and touches nothing; it is never undefined behaviour.
 *
 * Locking: the default backend needs none (the host page tables commit pages; data races
 * between a CPU thread and a device thread on the same bytes are the caller's business,
 * as on real hardware). `mem_cmpxchg64` and the 64-bit accessors are single-copy atomic
 * on the default backend and on any backend that provides `ptr`.
 */
#ifndef SOFTIOMMU_MEM_H
#define SOFTIOMMU_MEM_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MEM_PAGE_SHIFT 12
#define MEM_PAGE_SIZE  (1ull << MEM_PAGE_SHIFT)

/*
 * A backend. `read` and `write` are required; they are only called with ranges already
 * checked to lie inside [0, size) and return 0 or a negative errno (for example -EIO for
 * a memory error the backend wants the model to see as a fetch failure).
 * `ptr` is optional: it returns a host pointer through which [pa, pa + len) may be
 * accessed directly, or NULL. `cmpxchg64` is optional: without it (and without `ptr`)
 * mem_cmpxchg64 falls back to read-compare-write, which is not atomic.
 */
struct mem_ops {
	int (*read)(void *ctx, uint64_t pa, void *buf, size_t len);
	int (*write)(void *ctx, uint64_t pa, const void *buf, size_t len);
	void *(*ptr)(void *ctx, uint64_t pa, size_t len);
	int (*cmpxchg64)(void *ctx, uint64_t pa, uint64_t *expected, uint64_t desired);
	void (*destroy)(void *ctx);
};

/*
 * Treat the fields as private; they are visible only so the accessors below can be
 * inlined on hot paths (a page walk is a handful of 8-byte loads).
 */
struct mem {
	uint8_t *base; /* direct mapping of [0, size) or NULL */
	uint64_t size;
	const struct mem_ops *ops;
	void *ctx;
};

/*
 * mem_create_sparse() - the default backend: reserves `size` bytes of host address space
 * (rounded up to a page) and lets the host commit pages only when first touched; untouched
 * memory reads as zero. Returns NULL (errno set) if `size` is 0 or cannot be reserved.
 */
struct mem *mem_create_sparse(uint64_t size);

/*
 * mem_create() - wrap a caller's backend (for example an emulator's guest RAM).
 * `ops->read` and `ops->write` are required (NULL otherwise, errno EINVAL).
 * `ops->destroy`, if set, is called with `ctx` by mem_destroy().
 */
struct mem *mem_create(const struct mem_ops *ops, void *ctx, uint64_t size);

/* mem_destroy() - release the memory (and the backend, see above). NULL is accepted. */
void mem_destroy(struct mem *m);

/* mem_size() - size of the physical address space in bytes. */
static inline uint64_t mem_size(const struct mem *m)
{
	return m->size;
}

/* True if [pa, pa + len) lies inside the address space (no overflow). */
static inline bool mem_range_ok(const struct mem *m, uint64_t pa, uint64_t len)
{
	return pa <= m->size && len <= m->size - pa;
}

/* mem_read() / mem_write() - copy bytes. 0, -EFAULT outside memory, or a backend error. */
int mem_read(struct mem *m, uint64_t pa, void *buf, size_t len);
int mem_write(struct mem *m, uint64_t pa, const void *buf, size_t len);

/* mem_fill() - set `len` bytes at `pa` to `byte`. Same errors as mem_write(). */
int mem_fill(struct mem *m, uint64_t pa, uint8_t byte, uint64_t len);

/*
 * mem_ptr() - a host pointer for [pa, pa + len), or NULL if the range is outside memory
 * or the backend has no direct mapping for it. Valid until mem_destroy().
 */
static inline void *mem_ptr(struct mem *m, uint64_t pa, uint64_t len)
{
	if (!mem_range_ok(m, pa, len))
		return NULL;
	if (m->base)
		return m->base + pa;
	return m->ops && m->ops->ptr ? m->ops->ptr(m->ctx, pa, (size_t)len) : NULL;
}

/*
 * mem_read64() / mem_write64() - one naturally aligned little-endian 64-bit access
 * (single-copy atomic on direct-mapped memory). -EFAULT if outside memory or misaligned.
 */
static inline int mem_read64(struct mem *m, uint64_t pa, uint64_t *val)
{
	if ((pa & 7) || !mem_range_ok(m, pa, 8))
		return -EFAULT;
	if (m->base) {
		*val = __atomic_load_n((uint64_t *)(void *)(m->base + pa), __ATOMIC_RELAXED);
		return 0;
	}
	return mem_read(m, pa, val, 8);
}

static inline int mem_write64(struct mem *m, uint64_t pa, uint64_t val)
{
	if ((pa & 7) || !mem_range_ok(m, pa, 8))
		return -EFAULT;
	if (m->base) {
		__atomic_store_n((uint64_t *)(void *)(m->base + pa), val, __ATOMIC_RELAXED);
		return 0;
	}
	return mem_write(m, pa, &val, 8);
}

/* mem_read32() / mem_write32() - the 32-bit versions, naturally aligned (status writes of
 * invalidation-wait descriptors; the write is a release store on direct-mapped memory).
 * -EFAULT if outside memory or misaligned. */
int mem_read32(struct mem *m, uint64_t pa, uint32_t *val);
int mem_write32(struct mem *m, uint64_t pa, uint32_t val);

/*
 * mem_cmpxchg64() - if the 64-bit word at `pa` equals *expected, store `desired` and
 * return 0; otherwise store the current value in *expected and return -EAGAIN.
 * -EFAULT if outside memory or misaligned. Used for accessed/dirty updates.
 */
int mem_cmpxchg64(struct mem *m, uint64_t pa, uint64_t *expected, uint64_t desired);

/* ---- page allocator ------------------------------------------------------------------- */

/*
 * A `struct mem_alloc` hands out naturally aligned, zeroed runs of 2^order 4 KiB pages
 * from one region of a `struct mem`. Software (the driver, the DMA layer, tests) uses it
 * to place tables, queues and buffers in simulated physical memory.
 * Thread-safe (one internal mutex). Counts pages in use, so tests can check for leaks.
 */
struct mem_alloc;

/*
 * mem_alloc_create() - manage [base, base + size) of `m`. Both must be page aligned and
 * inside memory; -EINVAL otherwise, -ENOMEM if the bookkeeping cannot be allocated.
 */
int mem_alloc_create(struct mem *m, uint64_t base, uint64_t size, struct mem_alloc **out);

/* mem_alloc_destroy() - forget the region (pages still in use are not touched). */
void mem_alloc_destroy(struct mem_alloc *a);

/*
 * mem_alloc_pages() - allocate 2^order contiguous pages aligned to their size, zeroed.
 * Stores the physical address in *pa. -ENOMEM when no such run is free, -EINVAL for an
 * order above 20. mem_alloc_page() is order 0.
 */
int mem_alloc_pages(struct mem_alloc *a, unsigned order, uint64_t *pa);
int mem_alloc_page(struct mem_alloc *a, uint64_t *pa);

/*
 * mem_free_pages() - give back a run from mem_alloc_pages() with the same order.
 * -EINVAL if `pa` is not the start of an allocated run of that order (nothing is freed).
 */
int mem_free_pages(struct mem_alloc *a, uint64_t pa, unsigned order);
int mem_free_page(struct mem_alloc *a, uint64_t pa);

/* mem_alloc_in_use() - number of 4 KiB pages currently allocated. */
uint64_t mem_alloc_in_use(struct mem_alloc *a);

/* mem_alloc_mem() - the memory this allocator places pages in. */
struct mem *mem_alloc_mem(struct mem_alloc *a);

#ifdef __cplusplus
}
#endif
#endif
