/* SPDX-License-Identifier: MIT */
/*
 * Zeroed, aligned allocations, for the structures that keep what different threads write
 * on cache lines of their own (the unit and its caches' sets, the per-thread memos, the DMA
 * devices, the IOVA thread caches, the DSA engines' rings). C11's aligned_alloc() wants a
 * size that is a multiple of the alignment (7.22.3.1); it is rounded up here, so a caller
 * passes the size it needs.
 */
#ifndef SOFTIOMMU_UTIL_ZALLOC_H
#define SOFTIOMMU_UTIL_ZALLOC_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* At least `size` bytes at an `align` boundary (a power of two), zeroed; free() them. NULL
 * when out of memory or when the rounded size does not fit a size_t. */
static inline void *zalloc_aligned(size_t align, size_t size)
{
	size_t len;
	void *p;

	if (size > SIZE_MAX - (align - 1))
		return NULL;
	len = (size + align - 1) & ~(align - 1);
	if (!len)
		len = align;
	p = aligned_alloc(align, len);
	if (p)
		memset(p, 0, len);
	return p;
}

/* The same on a 64-byte cache line. */
static inline void *zalloc_lines(size_t size)
{
	return zalloc_aligned(64, size);
}

#endif
