/* SPDX-License-Identifier: MIT */
/*
 * softiommu IOVA allocator: the I/O virtual address space of one DMA domain.
 *
 * A domain hands out ranges of pfns (units of a granule, 4 KiB by default) inside
 * [start_pfn, limit_pfn]. Two layers:
 *
 *  - A range tree: a red-black tree of every allocated, cached and reserved range.
 *    Allocation searches top-down for the highest gap that fits below the request's limit,
 *    starting from where the previous allocation went rather than from the top (as Linux's
 *    iova.c does), with a second pass above that point when the first finds nothing, so a
 *    fitting gap is always found. Requests limited to the 32-bit range remember the
 *    smallest size that failed there, and a later request at least that large fails at once
 *    (until something below 4 GiB is freed).
 *
 *  - Per-thread caches for sizes up to IOVA_RCACHE_MAX_SIZE granules ("cached sizes"),
 *    which are rounded up to a power of two and size-aligned: six size classes (1, 2, 4, 8,
 *    16, 32), each with a loaded and a previous magazine of 127 freed ranges per
 *    thread, up to two more full magazines the thread keeps before passing them on, and
 *    per domain a depot of full magazines per class. A freed range stays allocated in the
 *    tree while it is cached; the next allocation of its class on the same thread takes it
 *    back without touching the tree. This is the common DMA map/unmap path. With
 *    iova_config.line_pfns, a miss for a size below a page-table line takes a whole line
 *    from the tree and caches the rest of it, so that threads keep to lines of their own.
 *
 * Per-thread caches are thread-local: nothing to set up. A thread gets its cache for a
 * domain on its first iova_alloc()/iova_free() there (one registry lock, once), and its
 * cached ranges go back to the domain when the thread exits (a pthread key destructor).
 * iova_domain_destroy() releases every thread's cache for the domain; a thread that lives on
 * keeps a few hundred bytes of bookkeeping until its next call into the allocator or its
 * exit. Full magazines beyond the depot limit and caches of exiting threads are returned
 * to the tree.
 *
 * Every allocation of a cached size also records its exact requested size, lock-free, so
 * that iova_free() refuses a pfn that is not the start of a live allocation, a wrong size
 * or a second free (-EINVAL, nothing changes), on the cached path too.
 *
 * Locking:
 *  - The fast path (a cached size, served from or returned to the calling thread's loaded
 *    or previous magazine) takes only that thread's own cache lock, which nobody else takes
 *    except iova_flush_rcaches(), iova_stats() and iova_domain_destroy().
 *  - A depot mutex per size class: taken when a thread's magazines and spares are all
 *    empty, or all full.
 *  - The tree mutex, one per domain: cache misses, uncached sizes, frees of uncached sizes,
 *    iova_reserve(), iova_find(), and magazines returned to the tree.
 *  - A process-wide registry mutex: a thread's first use of a domain, thread exit,
 *    iova_flush_rcaches(), iova_stats(), iova_domain_destroy().
 *  Order: registry, thread cache, depot, tree. All functions but iova_domain_destroy() may
 *  be called from any number of threads at once; iova_domain_destroy() must not overlap
 *  any other call on the same domain.
 *
 * Errors are negative errno values.
 */
#ifndef SOFTIOMMU_IOVA_H
#define SOFTIOMMU_IOVA_H

#include <errno.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOVA_GRANULE_SHIFT_DEFAULT 12
#define IOVA_RCACHE_CLASSES	   6
#define IOVA_RCACHE_MAX_SIZE	   (1u << (IOVA_RCACHE_CLASSES - 1)) /* granules */

struct iova_domain;

struct iova_config {
	/* log2 of the granule in bytes, 12 (4 KiB) to 30; 0 means 12. */
	unsigned int granule_shift;
	/* First pfn handed out. Use at least 1 so that IOVA 0 is never a valid address. */
	uint64_t start_pfn;
	/* Last pfn handed out (inclusive), below 2^(64 - granule_shift) and 2^52. */
	uint64_t limit_pfn;
	/* Full magazines kept per size class in the domain's depot; 0 means 32. */
	unsigned int depot_max;
	/*
	 * 0, or a power of two from 2 to 64: the pfns whose page-table entries share a CPU
	 * cache line (8 for 8-byte entries in 64-byte lines). A cached size smaller than that
	 * which the thread's cache cannot serve then takes a whole aligned line of pfns from
	 * the tree: the top range is handed out and the others go to the thread's cache, so
	 * that the ranges two threads map and unmap at once never have their entries in one
	 * line (which the CPUs would pass back and forth). Otherwise (0) such a miss takes the
	 * one range it needs.
	 */
	unsigned int line_pfns;
};

/*
 * iova_domain_create() - an empty IOVA space as `cfg` describes.
 * -EINVAL: `cfg` or `out` NULL, granule_shift outside 12..30, start_pfn > limit_pfn, or
 * limit_pfn too large; -ENOMEM; -EAGAIN if no thread-exit hook could be registered.
 */
int iova_domain_create(const struct iova_config *cfg, struct iova_domain **out);

/*
 * iova_domain_destroy() - free the domain, every range still allocated or reserved in it,
 * and every thread's cache for it. NULL is accepted. Must not overlap any other call on
 * the same domain; other threads may exit or use other domains meanwhile.
 */
void iova_domain_destroy(struct iova_domain *d);

/* Allocation flags. */
enum {
	/* Size-align (to the size rounded up to a power of two) an uncached size too. */
	IOVA_ALLOC_ALIGN = 1u << 0,
	/* Try below 4 GiB first (as Linux does for PCI devices), then up to the limit. */
	IOVA_ALLOC_PREFER_32 = 1u << 1,
	/* When nothing fits, drain every thread's cache and the depots, and try once more. */
	IOVA_ALLOC_FLUSH_RCACHE = 1u << 2,
};

/*
 * iova_alloc() - allocate `size` contiguous pfns, all at or below `limit_pfn` (clamped to
 * the domain's limit; pass UINT64_MAX for "anywhere"), and store the first in *pfn.
 * A cached size (1..IOVA_RCACHE_MAX_SIZE) occupies the next power of two and is aligned
 * to it; a larger size occupies exactly `size` and is aligned only with IOVA_ALLOC_ALIGN.
 * Returns 0; -EINVAL for NULL arguments, size 0, an unknown flag, or a limit below the
 * domain's start; -ENOSPC when no gap fits (after the one retry with
 * IOVA_ALLOC_FLUSH_RCACHE); -ENOMEM when bookkeeping cannot be allocated.
 * Locking: the calling thread's cache only when its cache holds a range of that class;
 * otherwise the depot and then the tree mutex.
 */
int iova_alloc(struct iova_domain *d, uint64_t size, uint64_t limit_pfn, unsigned int flags,
	       uint64_t *pfn);

/*
 * iova_free() - give back the allocation that iova_alloc() returned at `pfn`, with the same
 * `size` that was asked for. A cached size goes to the calling thread's cache (any thread
 * may free what another allocated); a larger one goes back to the tree.
 * Returns 0; -EINVAL (and nothing changes) if `pfn` is not the start of a live allocation
 * of exactly `size` pfns: never allocated, already freed, reserved, a wrong size, or
 * `d` NULL. Locking: as iova_alloc().
 */
int iova_free(struct iova_domain *d, uint64_t pfn, uint64_t size);

/*
 * iova_reserve() - make [pfn_lo, pfn_hi] never handed out (for example the interrupt
 * window 0xFEE00000-0xFEEFFFFF). The part outside [start_pfn, limit_pfn] is ignored (it is
 * never handed out anyway). Overlapping reservations merge. Returns 0; -EINVAL if
 * pfn_lo > pfn_hi or `d` is NULL; -EBUSY (nothing changes) if the range overlaps an
 * allocated or cached range (call iova_flush_rcaches() first to return cached ones);
 * -ENOMEM. Locking: tree mutex.
 */
int iova_reserve(struct iova_domain *d, uint64_t pfn_lo, uint64_t pfn_hi);

/*
 * iova_find() - the live allocation that contains `pfn`: its first pfn in *pfn_lo and the
 * size it was allocated with in *size (either pointer may be NULL). Returns 0; -ENOENT if
 * `pfn` is free, reserved, cached, or in the rounding tail of a cached size; -EINVAL for a
 * NULL domain. Locking: tree mutex; a snapshot if other threads allocate meanwhile.
 */
int iova_find(struct iova_domain *d, uint64_t pfn, uint64_t *pfn_lo, uint64_t *size);

/*
 * iova_flush_rcaches() - return every cached range (every thread's magazines and the
 * depots) to the tree. Locking: registry, each thread's cache in turn, depots, tree.
 */
void iova_flush_rcaches(struct iova_domain *d);

struct iova_stats {
	uint64_t allocated;	  /* live allocations (neither cached nor reserved) */
	uint64_t cached;	  /* freed ranges held in thread caches and depots */
	uint64_t reserved;	  /* reserved ranges, after merging */
	uint64_t thread_caches;	  /* threads that hold a cache for this domain */
	uint64_t depot_magazines; /* full magazines in the depots */
	uint64_t tree_allocs;	  /* allocations served by the tree (misses, uncached sizes) */
	uint64_t tree_frees;	  /* ranges returned to the tree */
	uint64_t fast_fail_32;	  /* 32-bit attempts refused by the remembered failing size */
	uint64_t rcache_flushes;  /* drains of every cache (explicit or by a retry) */
};

/*
 * iova_stats() - counters and a census of the domain. Exact when no other thread is
 * allocating or freeing in it. -EINVAL for NULL arguments. Locking: registry, each
 * thread's cache, depots, tree.
 */
int iova_stats(struct iova_domain *d, struct iova_stats *st);

/* iova_shift() - log2 of the domain's granule in bytes. */
unsigned int iova_shift(const struct iova_domain *d);

#ifdef __cplusplus
}
#endif
#endif
