// SPDX-License-Identifier: MIT
/*
 * The IOVA allocator: domains, top-down placement in the range tree, reservations, the
 * lock-free allocation state of cached sizes, and the public alloc/free entry points.
 * The per-thread caches live in iova_rcache.c, the red-black tree in iova_tree.c.
 */
#include "dma/iova_internal.h"

#include <stdlib.h>

static atomic_uint_least64_t iova_next_id = 1;

/* ---- allocation state map ------------------------------------------------------------ */

static int iova_map_init(struct iova_state_map *m, uint64_t limit_pfn)
{
	unsigned int bits = 64 - (unsigned int)__builtin_clzll(limit_pfn | 1);

	m->levels = 2; /* at least: see iova_state_slot() */
	while (IOVA_MAP_LEAF_BITS + m->levels * IOVA_MAP_INNER_BITS < bits)
		m->levels++;
	m->top_shift = IOVA_MAP_LEAF_BITS + (m->levels - 1) * IOVA_MAP_INNER_BITS;
	m->root = calloc(1u << IOVA_MAP_INNER_BITS, sizeof(*m->root));
	return m->root ? 0 : -ENOMEM;
}

static void iova_map_free_node(_Atomic(void *) *node, unsigned int depth)
{
	for (unsigned int i = 0; depth && i < 1u << IOVA_MAP_INNER_BITS; i++) {
		void *child = atomic_load_explicit(&node[i], memory_order_relaxed);

		if (child && depth > 1)
			iova_map_free_node(child, depth - 1);
		else
			free(child);
	}
	free(node);
}

/* The state byte of `pfn`, creating the path to it. Tree lock held (the only writer). */
static _Atomic uint8_t *iova_map_slot_alloc(struct iova_state_map *m, uint64_t pfn)
{
	_Atomic(void *) *node = m->root;
	unsigned int shift = m->top_shift;

	for (unsigned int i = 0; i < m->levels; i++, shift -= IOVA_MAP_INNER_BITS) {
		_Atomic(void *) *slot = &node[(pfn >> shift) & ((1u << IOVA_MAP_INNER_BITS) - 1)];
		void *next = atomic_load_explicit(slot, memory_order_relaxed);

		if (!next) {
			bool leaf = i + 1 == m->levels;

			next = leaf ? calloc(1u << IOVA_MAP_LEAF_BITS, 1)
				    : calloc(1u << IOVA_MAP_INNER_BITS, sizeof(void *));
			if (!next)
				return NULL;
			/* Release: a lock-free reader that sees the pointer sees zeroed contents.
			 */
			atomic_store_explicit(slot, next, memory_order_release);
		}
		node = next;
	}
	return (_Atomic uint8_t *)(void *)node + iova_map_leaf_index(pfn);
}

/* ---- domain ------------------------------------------------------------------------- */

int iova_domain_create(const struct iova_config *cfg, struct iova_domain **out)
{
	struct iova_domain *d;
	unsigned int shift;
	int ret;

	if (!cfg || !out)
		return -EINVAL;
	shift = cfg->granule_shift ? cfg->granule_shift : IOVA_GRANULE_SHIFT_DEFAULT;
	if (shift < 12 || shift > 30 || cfg->start_pfn > cfg->limit_pfn ||
	    cfg->limit_pfn >= (1ull << (64 - shift)) || cfg->limit_pfn >= (1ull << 52) ||
	    cfg->line_pfns == 1 || cfg->line_pfns > 64 || (cfg->line_pfns & (cfg->line_pfns - 1)))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->id = atomic_fetch_add(&iova_next_id, 1);
	d->shift = shift;
	d->start_pfn = cfg->start_pfn;
	d->limit_pfn = cfg->limit_pfn;
	d->dma32_pfn = (1ull << (32 - shift)) - 1;
	d->depot_max = cfg->depot_max ? cfg->depot_max : IOVA_DEPOT_MAX_DEFAULT;
	d->line_pfns = cfg->line_pfns;
	atomic_init(&d->max32_any, UINT64_MAX);
	atomic_init(&d->max32_aligned, UINT64_MAX);
	iova_tree_init(&d->tree);
	/*
	 * The anchor sits above every pfn a domain can have, so every gap has a node above it
	 * and a search always has somewhere to start.
	 */
	d->anchor.pfn_lo = d->anchor.pfn_hi = IOVA_ANCHOR_PFN;
	d->anchor.reserved = true;
	iova_tree_insert(&d->tree, &d->anchor);
	d->cached = d->cached32 = &d->anchor;
	pthread_mutex_init(&d->tree_lock, NULL);
	ret = iova_map_init(&d->map, d->limit_pfn);
	if (!ret)
		ret = iova_rcache_init(d);
	if (ret) {
		if (d->map.root)
			iova_map_free_node(d->map.root, d->map.levels);
		pthread_mutex_destroy(&d->tree_lock);
		free(d);
		return ret;
	}
	*out = d;
	return 0;
}

/* Post-order, so no freed node is followed again (depth is logarithmic). */
static void iova_free_subtree(struct iova_domain *d, struct iova_node *n)
{
	if (n == &d->tree.nil)
		return;
	iova_free_subtree(d, n->left);
	iova_free_subtree(d, n->right);
	if (n != &d->anchor)
		free(n);
}

void iova_domain_destroy(struct iova_domain *d)
{
	if (!d)
		return;
	iova_rcache_destroy(d);
	iova_free_subtree(d, d->tree.root);
	iova_map_free_node(d->map.root, d->map.levels);
	pthread_mutex_destroy(&d->tree_lock);
	free(d);
}

unsigned int iova_shift(const struct iova_domain *d)
{
	return d->shift;
}

/* ---- placement in the tree ------------------------------------------------------------ */

/*
 * Walk gaps downwards from `curr`: the gap just below curr, then the one below its
 * predecessor, and so on. Place the range as high as it fits below `high` (exclusive),
 * aligned by `mask`, not below `low`. On success *above is the node the new range goes
 * just before.
 */
static int iova_gap_walk(struct iova_domain *d, struct iova_node *curr, uint64_t size,
			 uint64_t mask, uint64_t low, uint64_t high, struct iova_node **above,
			 uint64_t *out)
{
	for (;;) {
		uint64_t top = curr->pfn_lo < high ? curr->pfn_lo : high;
		struct iova_node *prev = iova_tree_prev(&d->tree, curr);
		uint64_t cand;

		if (top < size)
			return -ENOSPC;
		cand = (top - size) & mask;
		/* Lower gaps only give lower candidates: below `low` nothing can fit. */
		if (cand < low)
			return -ENOSPC;
		if (!prev || cand > prev->pfn_hi) {
			*above = curr;
			*out = cand;
			return 0;
		}
		curr = prev;
	}
}

/*
 * Find the highest fitting place at or below `limit`. The first pass starts under the
 * node the last allocation of this kind (32-bit limited or not) went to, because above it
 * everything was full then; frees above that node move it up (iova_unlink). Gaps above it
 * that frees or other sizes left behind are found by a second pass from the limit down.
 */
static int iova_place(struct iova_domain *d, uint64_t size, uint64_t mask, uint64_t limit,
		      struct iova_node **above, uint64_t *out)
{
	struct iova_node *start = limit <= d->dma32_pfn ? d->cached32 : d->cached;
	uint64_t low;

	if (start->pfn_lo > limit)
		start = iova_tree_above(&d->tree, limit);
	if (!iova_gap_walk(d, start, size, mask, d->start_pfn, limit + 1, above, out))
		return 0;
	if (start->pfn_hi >= limit)
		return -ENOSPC;
	low = start->pfn_hi + 1 > d->start_pfn ? start->pfn_hi + 1 : d->start_pfn;
	return iova_gap_walk(d, iova_tree_above(&d->tree, limit), size, mask, low, limit + 1, above,
			     out);
}

static void iova_link_update(struct iova_domain *d, struct iova_node *n)
{
	if (n->pfn_hi <= d->dma32_pfn)
		d->cached32 = n;
	else
		d->cached = n;
}

/* Take n out of the tree (not freed), keeping the cached search positions valid. */
static void iova_unlink(struct iova_domain *d, struct iova_node *n)
{
	if (n->pfn_lo <= d->dma32_pfn) {
		/* Room below 4 GiB again: let 32-bit attempts search. */
		atomic_store_explicit(&d->max32_any, UINT64_MAX, memory_order_relaxed);
		atomic_store_explicit(&d->max32_aligned, UINT64_MAX, memory_order_relaxed);
	}
	if (n == d->cached32 || (n->pfn_hi <= d->dma32_pfn && n->pfn_lo >= d->cached32->pfn_lo))
		d->cached32 = iova_tree_next(&d->tree, n);
	if (n->pfn_lo >= d->cached->pfn_lo)
		d->cached = iova_tree_next(&d->tree, n);
	iova_tree_erase(&d->tree, n);
}

/* Refuse at once a 32-bit-limited size at least as large as one that failed there. */
static bool iova_fails_32(struct iova_domain *d, uint64_t size, uint64_t limit, bool aligned)
{
	if (limit > d->dma32_pfn)
		return false;
	return size >= atomic_load_explicit(aligned ? &d->max32_aligned : &d->max32_any,
					    memory_order_relaxed);
}

static void iova_note_fail_32(struct iova_domain *d, uint64_t size, uint64_t limit, bool aligned)
{
	/* Only a search of the whole 32-bit range proves it full for this size. */
	if (limit < d->dma32_pfn)
		return;
	if (size < atomic_load_explicit(&d->max32_aligned, memory_order_relaxed))
		atomic_store_explicit(&d->max32_aligned, size, memory_order_relaxed);
	if (!aligned && size < atomic_load_explicit(&d->max32_any, memory_order_relaxed))
		atomic_store_explicit(&d->max32_any, size, memory_order_relaxed);
}

/*
 * Allocate `size` pfns (already rounded for cached sizes) from the tree. `track` is the
 * caller's size for a cached size (its state byte is set to LIVE | track), 0 otherwise.
 */
static int iova_tree_alloc(struct iova_domain *d, uint64_t size, uint64_t limit, bool aligned,
			   uint64_t track, uint64_t *pfn)
{
	uint64_t mask = ~0ull, where;
	struct iova_node *n, *above;
	_Atomic uint8_t *state = NULL;
	int ret;

	if (aligned && size > 1)
		mask = ~((1ull << (64 - __builtin_clzll(size - 1))) - 1);
	if (iova_fails_32(d, size, limit, aligned)) {
		atomic_fetch_add_explicit(&d->fast_fail_32, 1, memory_order_relaxed);
		return -ENOSPC;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	pthread_mutex_lock(&d->tree_lock);
	ret = iova_place(d, size, mask, limit, &above, &where);
	if (ret) {
		iova_note_fail_32(d, size, limit, aligned);
		goto out;
	}
	if (track && !(state = iova_map_slot_alloc(&d->map, where))) {
		ret = -ENOMEM;
		goto out;
	}
	n->pfn_lo = where;
	n->pfn_hi = where + size - 1;
	iova_tree_insert_before(&d->tree, n, above);
	iova_link_update(d, n);
	d->tree_allocs++;
	if (state)
		atomic_store_explicit(state, (uint8_t)(IOVA_STATE_LIVE | track),
				      memory_order_relaxed);
	*pfn = where;
	n = NULL;
out:
	pthread_mutex_unlock(&d->tree_lock);
	free(n);
	return ret;
}

/*
 * A miss for cached class k below the line size (iova_config.line_pfns): an aligned line
 * of pfns from the tree, as line_pfns >> k ranges of the class; the top one is the
 * caller's (LIVE | track), the others go to this thread's cache (CACHED), the next below
 * on top. If no whole line fits, the one range alone. 0 or an error.
 */
static int iova_tree_alloc_line(struct iova_domain *d, unsigned int k, uint64_t limit,
				uint64_t track, uint64_t *pfn)
{
	uint64_t granted = 1ull << k, line = d->line_pfns, n = line >> k, where;
	struct iova_node *nodes[64], *above;
	_Atomic uint8_t *states[64];
	uint64_t i;
	int ret;

	for (i = 0; i < n; i++) {
		if (!(nodes[i] = calloc(1, sizeof(*nodes[i])))) {
			while (i)
				free(nodes[--i]);
			return -ENOMEM;
		}
	}
	pthread_mutex_lock(&d->tree_lock);
	ret = iova_place(d, line, ~(line - 1), limit, &above, &where);
	for (i = 0; !ret && i < n; i++)
		if (!(states[i] = iova_map_slot_alloc(&d->map, where + i * granted)))
			ret = -ENOMEM;
	if (!ret) {
		/* Highest first, each just below the one before. */
		for (i = n; i--;) {
			nodes[i]->pfn_lo = where + i * granted;
			nodes[i]->pfn_hi = nodes[i]->pfn_lo + granted - 1;
			iova_tree_insert_before(&d->tree, nodes[i], above);
			above = nodes[i];
		}
		iova_link_update(d, nodes[0]);
		d->tree_allocs += n;
		for (i = 0; i + 1 < n; i++)
			atomic_store_explicit(states[i], IOVA_STATE_CACHED, memory_order_relaxed);
		atomic_store_explicit(states[n - 1], (uint8_t)(IOVA_STATE_LIVE | track),
				      memory_order_relaxed);
	}
	pthread_mutex_unlock(&d->tree_lock);
	if (ret) {
		for (i = 0; i < n; i++)
			free(nodes[i]);
		/* No whole line fits (or no map leaf): the one range the caller needs. */
		return ret == -ENOSPC ? iova_tree_alloc(d, granted, limit, true, track, pfn) : ret;
	}
	for (i = 0; i + 1 < n; i++)
		iova_rcache_put(d, k, where + i * granted, states[i]);
	*pfn = where + (n - 1) * granted;
	return 0;
}

void iova_tree_free_cached(struct iova_domain *d, const uint64_t *pfns, uint64_t n)
{
	pthread_mutex_lock(&d->tree_lock);
	for (uint64_t i = 0; i < n; i++) {
		struct iova_node *node = iova_tree_find(&d->tree, pfns[i]);

		/* Cached ranges are allocated in the tree by construction. */
		if (!node || node->pfn_lo != pfns[i] || node->reserved)
			abort();
		atomic_store_explicit(iova_state_slot(&d->map, pfns[i]), 0, memory_order_relaxed);
		iova_unlink(d, node);
		free(node);
		d->tree_frees++;
	}
	pthread_mutex_unlock(&d->tree_lock);
}

/* Free an uncached size: it must be exactly a live tree range. */
static int iova_tree_free(struct iova_domain *d, uint64_t pfn, uint64_t size)
{
	struct iova_node *n;
	int ret = -EINVAL;

	pthread_mutex_lock(&d->tree_lock);
	n = iova_tree_find(&d->tree, pfn);
	if (n && !n->reserved && n->pfn_lo == pfn && n->pfn_hi - n->pfn_lo + 1 == size) {
		iova_unlink(d, n);
		d->tree_frees++;
		ret = 0;
	} else {
		n = NULL;
	}
	pthread_mutex_unlock(&d->tree_lock);
	free(n);
	return ret;
}

/* ---- public allocation entry points ------------------------------------------------- */

/* One attempt at or below `limit`: the thread's cache first for a cached size, then the tree. */
static int iova_alloc_below(struct iova_domain *d, uint64_t size, uint64_t limit,
			    unsigned int flags, bool deep, uint64_t *pfn)
{
	if (size <= IOVA_RCACHE_MAX_SIZE) {
		unsigned int k = iova_size_class(size);
		uint64_t granted = 1ull << k;
		_Atomic uint8_t *state;

		if (limit - d->start_pfn + 1 < granted)
			return -ENOSPC;
		if (iova_rcache_get(d, k, limit - granted + 1, deep, pfn, &state)) {
			atomic_store_explicit(state, (uint8_t)(IOVA_STATE_LIVE | size),
					      memory_order_relaxed);
			return 0;
		}
		if (granted < d->line_pfns)
			return iova_tree_alloc_line(d, k, limit, size, pfn);
		return iova_tree_alloc(d, granted, limit, true, size, pfn);
	}
	if (limit - d->start_pfn + 1 < size)
		return -ENOSPC;
	return iova_tree_alloc(d, size, limit, flags & IOVA_ALLOC_ALIGN, 0, pfn);
}

static int iova_alloc_once(struct iova_domain *d, uint64_t size, uint64_t limit, unsigned int flags,
			   uint64_t *pfn)
{
	if ((flags & IOVA_ALLOC_PREFER_32) && limit > d->dma32_pfn &&
	    d->dma32_pfn >= d->start_pfn) {
		/*
		 * Below 4 GiB first. Only the magazines' tops are tried here: once the 32-bit
		 * range is full they hold higher ranges, and a scan per allocation would be
		 * the price of the preference.
		 */
		int ret = iova_alloc_below(d, size, d->dma32_pfn, flags, false, pfn);

		if (ret != -ENOSPC)
			return ret;
	}
	return iova_alloc_below(d, size, limit, flags, true, pfn);
}

static __attribute__((noinline)) int iova_alloc_slow(struct iova_domain *d, uint64_t size,
						     uint64_t limit_pfn, unsigned int flags,
						     uint64_t *pfn)
{
	int ret;

	if (!d || !pfn || !size ||
	    (flags &
	     ~(unsigned int)(IOVA_ALLOC_ALIGN | IOVA_ALLOC_PREFER_32 | IOVA_ALLOC_FLUSH_RCACHE)))
		return -EINVAL;
	if (limit_pfn > d->limit_pfn)
		limit_pfn = d->limit_pfn;
	if (limit_pfn < d->start_pfn)
		return -EINVAL;
	ret = iova_alloc_once(d, size, limit_pfn, flags, pfn);
	if (ret == -ENOSPC && (flags & IOVA_ALLOC_FLUSH_RCACHE)) {
		iova_flush_rcaches(d);
		ret = iova_alloc_once(d, size, limit_pfn, flags, pfn);
	}
	return ret;
}

int iova_alloc(struct iova_domain *d, uint64_t size, uint64_t limit_pfn, unsigned int flags,
	       uint64_t *pfn)
{
	struct iova_tc *tc;
	struct iova_mag *m;
	unsigned int k;
	uint64_t lim, i, p;

	/*
	 * The fast path, the DMA layer's every map: a cached size on top of this thread's
	 * loaded magazine. Everything else, including every error and a contended cache
	 * lock, is iova_alloc_slow(); the calls to it are tail calls, so the fast path
	 * needs no stack frame.
	 */
	if (IOVA_UNLIKELY(!d || !pfn || size - 1 >= IOVA_RCACHE_MAX_SIZE ||
			  (flags & ~(unsigned int)(IOVA_ALLOC_ALIGN | IOVA_ALLOC_PREFER_32 |
						   IOVA_ALLOC_FLUSH_RCACHE))))
		return iova_alloc_slow(d, size, limit_pfn, flags, pfn);
	tc = iova_tc_cached(d);
	if (IOVA_UNLIKELY(!tc || !iova_tc_trylock(tc)))
		return iova_alloc_slow(d, size, limit_pfn, flags, pfn);
	k = iova_size_class(size);
	lim = limit_pfn < d->limit_pfn ? limit_pfn : d->limit_pfn;
	if ((flags & IOVA_ALLOC_PREFER_32) && lim > d->dma32_pfn)
		lim = d->dma32_pfn;
	m = tc->loaded[k];
	if (IOVA_UNLIKELY(!m->n))
		goto slow;
	i = m->n - 1;
	p = m->pfns[i];
	/* No overflow: p and the size are far below 2^63. */
	if (IOVA_UNLIKELY(p + (1ull << k) - 1 > lim))
		goto slow;
	m->n = i;
	atomic_store_explicit(m->states[i], (uint8_t)(IOVA_STATE_LIVE | size),
			      memory_order_relaxed);
	iova_tc_unlock(tc);
	*pfn = p;
	return 0;
slow:
	iova_tc_unlock(tc);
	return iova_alloc_slow(d, size, limit_pfn, flags, pfn);
}

/* Uncached sizes, and every argument error. */
static __attribute__((noinline)) int iova_free_slow(struct iova_domain *d, uint64_t pfn,
						    uint64_t size)
{
	if (!d || !size || pfn < d->start_pfn || pfn > d->limit_pfn || size <= IOVA_RCACHE_MAX_SIZE)
		return -EINVAL;
	return iova_tree_free(d, pfn, size);
}

int iova_free(struct iova_domain *d, uint64_t pfn, uint64_t size)
{
	_Atomic uint8_t *state;
	struct iova_tc *tc;
	struct iova_mag *m;
	unsigned int k;
	uint8_t live;

	if (IOVA_UNLIKELY(!d || size - 1 >= IOVA_RCACHE_MAX_SIZE || pfn < d->start_pfn ||
			  pfn > d->limit_pfn))
		return iova_free_slow(d, pfn, size);
	state = iova_state_slot(&d->map, pfn);
	live = (uint8_t)(IOVA_STATE_LIVE | size);
	/* The exchange is what makes a double free or a wrong size harmless under races. */
	if (IOVA_UNLIKELY(!state || !atomic_compare_exchange_strong_explicit(
					state, &live, IOVA_STATE_CACHED, memory_order_relaxed,
					memory_order_relaxed)))
		return -EINVAL;
	k = iova_size_class(size);
	tc = iova_tc_cached(d);
	if (IOVA_UNLIKELY(!tc || !iova_tc_trylock(tc)))
		return iova_rcache_put(d, k, pfn, state);
	m = tc->loaded[k];
	if (IOVA_UNLIKELY(m->n >= IOVA_MAG_SIZE)) {
		iova_tc_unlock(tc);
		return iova_rcache_put(d, k, pfn, state);
	}
	m->pfns[m->n] = pfn;
	m->states[m->n] = state;
	m->n++;
	iova_tc_unlock(tc);
	return 0;
}

/* ---- reservations, lookup, statistics -------------------------------------------------- */

int iova_reserve(struct iova_domain *d, uint64_t pfn_lo, uint64_t pfn_hi)
{
	struct iova_node *first, *n, *next, *fresh;
	int ret = 0;

	if (!d || pfn_lo > pfn_hi)
		return -EINVAL;
	if (pfn_lo < d->start_pfn)
		pfn_lo = d->start_pfn;
	if (pfn_hi > d->limit_pfn)
		pfn_hi = d->limit_pfn;
	if (pfn_lo > pfn_hi)
		return 0;
	fresh = calloc(1, sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	pthread_mutex_lock(&d->tree_lock);
	first = iova_tree_reaching(&d->tree, pfn_lo);
	for (n = first; n && n->pfn_lo <= pfn_hi; n = iova_tree_next(&d->tree, n)) {
		if (!n->reserved) {
			ret = -EBUSY;
			goto out;
		}
	}
	if (!first || first->pfn_lo > pfn_hi) {
		fresh->pfn_lo = pfn_lo;
		fresh->pfn_hi = pfn_hi;
		fresh->reserved = true;
		iova_tree_insert(&d->tree, fresh);
		d->reserved_nodes++;
		fresh = NULL;
		goto out;
	}
	/* Merge: `first` grows to cover the union, the others overlapping it go. */
	for (n = iova_tree_next(&d->tree, first); n && n->pfn_lo <= pfn_hi; n = next) {
		next = iova_tree_next(&d->tree, n);
		if (n->pfn_hi > pfn_hi)
			pfn_hi = n->pfn_hi;
		iova_unlink(d, n);
		free(n);
		d->reserved_nodes--;
	}
	if (first->pfn_lo > pfn_lo)
		first->pfn_lo = pfn_lo;
	if (first->pfn_hi < pfn_hi)
		first->pfn_hi = pfn_hi;
out:
	pthread_mutex_unlock(&d->tree_lock);
	free(fresh);
	return ret;
}

int iova_find(struct iova_domain *d, uint64_t pfn, uint64_t *pfn_lo, uint64_t *size)
{
	struct iova_node *n;
	uint64_t len;
	int ret = -ENOENT;

	if (!d)
		return -EINVAL;
	pthread_mutex_lock(&d->tree_lock);
	n = iova_tree_find(&d->tree, pfn);
	if (!n || n->reserved)
		goto out;
	len = n->pfn_hi - n->pfn_lo + 1;
	if (len <= IOVA_RCACHE_MAX_SIZE) {
		/* A cached size: live only with its state byte saying so, and only that long. */
		_Atomic uint8_t *slot = iova_state_slot(&d->map, n->pfn_lo);
		uint8_t st = slot ? atomic_load_explicit(slot, memory_order_relaxed) : 0;

		if (!(st & IOVA_STATE_LIVE))
			goto out;
		len = st & ~IOVA_STATE_LIVE;
		if (pfn - n->pfn_lo >= len)
			goto out;
	}
	if (pfn_lo)
		*pfn_lo = n->pfn_lo;
	if (size)
		*size = len;
	ret = 0;
out:
	pthread_mutex_unlock(&d->tree_lock);
	return ret;
}

int iova_stats(struct iova_domain *d, struct iova_stats *st)
{
	if (!d || !st)
		return -EINVAL;
	*st = (struct iova_stats){0};
	iova_rcache_count(d, st); /* registry and cache locks first: the lock order */
	pthread_mutex_lock(&d->tree_lock);
	st->reserved = d->reserved_nodes;
	/* The tree holds the anchor, the reservations, and allocated or cached ranges. */
	st->allocated = d->tree.count - 1 - d->reserved_nodes;
	st->allocated = st->allocated > st->cached ? st->allocated - st->cached : 0;
	st->tree_allocs = d->tree_allocs;
	st->tree_frees = d->tree_frees;
	pthread_mutex_unlock(&d->tree_lock);
	st->rcache_flushes = atomic_load(&d->rcache_flushes);
	st->fast_fail_32 = atomic_load(&d->fast_fail_32);
	return 0;
}
