/* SPDX-License-Identifier: MIT */
/*
 * IOVA allocator internals, shared by iova.c (domain, range tree placement, reserve, find),
 * iova_tree.c (the red-black tree of ranges) and iova_rcache.c (per-thread magazines, the
 * depot, the thread registry). Not a public interface: tests include it to check the tree.
 */
#ifndef SOFTIOMMU_DMA_IOVA_INTERNAL_H
#define SOFTIOMMU_DMA_IOVA_INTERNAL_H

#include <softiommu/iova.h>

#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define IOVA_LIKELY(x)	 __builtin_expect(!!(x), 1)
#define IOVA_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- the range tree (iova_tree.c) ---------------------------------------------------- */

/* One allocated or reserved range [pfn_lo, pfn_hi] (inclusive), a red-black tree node. */
struct iova_node {
	struct iova_node *left, *right, *parent;
	uint64_t pfn_lo, pfn_hi;
	bool red;
	bool reserved; /* iova_reserve() or the anchor: never freed, never handed out */
};

/*
 * A red-black tree ordered by pfn_lo with non-overlapping ranges. `nil` is the sentinel
 * that stands for every missing child and for the root's parent (it keeps the deletion
 * fix-up free of NULL cases); it is always black.
 */
struct iova_tree {
	struct iova_node nil;
	struct iova_node *root;
	uint64_t count; /* nodes in the tree */
};

void iova_tree_init(struct iova_tree *t);
/* In-order neighbours; NULL at either end. */
struct iova_node *iova_tree_prev(const struct iova_tree *t, const struct iova_node *n);
struct iova_node *iova_tree_next(const struct iova_tree *t, const struct iova_node *n);
struct iova_node *iova_tree_first(const struct iova_tree *t);
/* Insert `n` (range already set) by its pfn_lo. */
void iova_tree_insert(struct iova_tree *t, struct iova_node *n);
/* Insert `n` as the in-order predecessor of `succ` (the caller knows where it goes). */
void iova_tree_insert_before(struct iova_tree *t, struct iova_node *n, struct iova_node *succ);
void iova_tree_erase(struct iova_tree *t, struct iova_node *n);
/* The node whose range contains pfn, or NULL. */
struct iova_node *iova_tree_find(const struct iova_tree *t, uint64_t pfn);
/* The lowest node with pfn_lo > pfn, or NULL. */
struct iova_node *iova_tree_above(const struct iova_tree *t, uint64_t pfn);
/* The lowest node with pfn_hi >= pfn, or NULL. */
struct iova_node *iova_tree_reaching(const struct iova_tree *t, uint64_t pfn);
/*
 * Check every invariant: ordering, no overlap, parent links, no red node with a red child,
 * equal black height, count. Returns the number of nodes, or -1 (and prints why to stderr).
 */
long iova_tree_check(const struct iova_tree *t);

/* ---- the allocation state map (iova.c) ----------------------------------------------- */

/*
 * One byte per pfn, at the first pfn of each allocation of a cached size, so that a free
 * can be checked without the tree lock: IOVA_STATE_LIVE | size while the caller owns it,
 * IOVA_STATE_CACHED while it sits in a magazine, 0 otherwise (never allocated at a cached
 * size, or returned to the tree). A radix tree of 12-bit levels (two for a 48-bit IOVA
 * space) ending in 4 KiB leaves of 4096 pfns, filled under the tree lock and never freed
 * before the domain; readers walk it with acquire loads and no lock.
 *
 * Within a leaf the pfn's low 12 bits are permuted so that each aligned block of 8 pfns
 * (a page-table line's worth, which a domain with iova_config.line_pfns = 8 hands to one
 * thread at a time) has its 8 bytes together, and neighbouring blocks (likely another
 * thread's) sit in different cache lines: bits 0-2 stay, bits 3-8 pick the line, bits 9-11
 * the block's place in it. A line then holds blocks 512 pfns apart, which one thread
 * rarely holds at the same time as another holds a neighbour.
 */
#define IOVA_STATE_LIVE	    0x80u
#define IOVA_STATE_CACHED   0x40u
#define IOVA_MAP_LEAF_BITS  12
#define IOVA_MAP_INNER_BITS 12

struct iova_state_map {
	_Atomic(void *) *root;
	unsigned int levels;	/* inner levels, root included */
	unsigned int top_shift; /* pfn bit where the root's index starts */
};

static inline unsigned int iova_map_leaf_index(uint64_t pfn)
{
	unsigned int p = (unsigned int)pfn;

	return (p & 7u) | ((p >> 9) & 7u) << 3 | ((p >> 3) & 63u) << 6;
}

/* The general walk, for IOVA spaces above 48 bits. */
static inline _Atomic uint8_t *iova_state_slot_deep(const struct iova_state_map *m, uint64_t pfn)
{
	_Atomic(void *) *node = m->root;
	unsigned int shift = m->top_shift, left = m->levels;

	for (;;) {
		void *next =
		    atomic_load_explicit(&node[(pfn >> shift) & ((1u << IOVA_MAP_INNER_BITS) - 1)],
					 memory_order_acquire);

		if (IOVA_UNLIKELY(!next))
			return NULL;
		if (--left == 0)
			return (_Atomic uint8_t *)next + iova_map_leaf_index(pfn);
		node = next;
		shift -= IOVA_MAP_INNER_BITS;
	}
}

/*
 * The state byte of `pfn` (which must lie inside the domain), or NULL if nothing was
 * ever allocated near it. Two levels (at least two are always used) cover IOVA spaces up
 * to 48 bits with 4 KiB granules, and get a straight-line walk.
 */
static inline _Atomic uint8_t *iova_state_slot(const struct iova_state_map *m, uint64_t pfn)
{
	enum { MASK = (1u << IOVA_MAP_INNER_BITS) - 1 };
	_Atomic(void *) *mid;
	void *leaf;

	if (IOVA_UNLIKELY(m->levels != 2))
		return iova_state_slot_deep(m, pfn);
	mid = atomic_load_explicit(
	    &m->root[(pfn >> (IOVA_MAP_LEAF_BITS + IOVA_MAP_INNER_BITS)) & MASK],
	    memory_order_acquire);
	if (IOVA_UNLIKELY(!mid))
		return NULL;
	leaf = atomic_load_explicit(&mid[(pfn >> IOVA_MAP_LEAF_BITS) & MASK], memory_order_acquire);
	if (IOVA_UNLIKELY(!leaf))
		return NULL;
	return (_Atomic uint8_t *)leaf + iova_map_leaf_index(pfn);
}

/* ---- per-thread caches (iova_rcache.c) ---------------------------------------------- */

/*
 * A magazine: up to IOVA_MAG_SIZE cached ranges of one class, each with its state byte
 * (found once, when the range was freed, so that allocating it again needs no map walk).
 * 127 entries make it exactly 2 KiB.
 */
#define IOVA_MAG_SIZE	       127
#define IOVA_TLS_SLOTS	       16 /* per thread: direct-mapped (domain id -> cache) */
#define IOVA_DEPOT_MAX_DEFAULT 32
#define IOVA_TC_SPARES	       2 /* full magazines a thread keeps before the depot */

struct iova_mag {
	struct iova_mag *next; /* depot list */
	uint64_t n;
	uint64_t pfns[IOVA_MAG_SIZE];
	_Atomic uint8_t *states[IOVA_MAG_SIZE];
};

struct iova_tls;

/*
 * One thread's cache for one domain. Only its owner touches it on the fast path, under
 * `lock`, which is contended only while another thread drains it (iova_flush_rcaches,
 * iova_stats, iova_domain_destroy). `domain` and the list links are protected by the
 * process-wide registry mutex; `domain` becomes NULL when the domain is destroyed while
 * the owning thread lives on. Cache-line aligned: no false sharing with another's.
 */
struct iova_tc {
	alignas(64) atomic_int lock;
	struct iova_mag *loaded[IOVA_RCACHE_CLASSES];
	struct iova_mag *prev[IOVA_RCACHE_CLASSES];
	/* Full magazines kept by the thread before the depot gets them (at most
	 * IOVA_TC_SPARES per class, linked by `next`), see iova_rcache.c. */
	struct iova_mag *spare[IOVA_RCACHE_CLASSES];
	unsigned char nspare[IOVA_RCACHE_CLASSES];
	struct iova_domain *domain;
	struct iova_tc *dnext; /* the domain's list */
	struct iova_tc *tnext; /* the owning thread's list */
	struct iova_tls *owner;
};

struct iova_tls_slot {
	uint64_t id;
	struct iova_tc *tc;
};

struct iova_tls {
	struct iova_tls_slot slots[IOVA_TLS_SLOTS]; /* owner-only, no lock */
	struct iova_tc *tcs;			    /* registry mutex */
	bool registered;			    /* exit destructor armed */
};

/*
 * Initial-exec: a thread-local access is one %fs-relative load instead of a call to
 * __tls_get_addr, which is what keeps the fast path short. The block is small (272
 * bytes), so a dlopen()ed libsoftiommu still fits in glibc's static TLS reserve.
 */
extern _Thread_local struct iova_tls iova_tls_self __attribute__((tls_model("initial-exec")));

struct iova_depot {
	alignas(64) pthread_mutex_t lock;
	struct iova_mag *full;
	unsigned int count;
};

/* ---- the domain --------------------------------------------------------------------- */

struct iova_domain {
	/* Read-only after creation, read by every fast-path call. */
	uint64_t id; /* unique in the process, never reused: keys the per-thread slots */
	uint64_t start_pfn, limit_pfn, dma32_pfn;
	unsigned int shift;
	unsigned int depot_max;
	unsigned int line_pfns; /* iova_config.line_pfns */
	struct iova_state_map map;

	struct iova_depot depot[IOVA_RCACHE_CLASSES];
	struct iova_tc *tcs; /* registry mutex */
	atomic_uint_least64_t rcache_flushes;

	/* The range tree and everything below: tree_lock. */
	alignas(64) pthread_mutex_t tree_lock;
	struct iova_tree tree;
	struct iova_node anchor;    /* at IOVA_ANCHOR_PFN: every search has a node to start under */
	struct iova_node *cached;   /* where the last allocation above the 32-bit range went */
	struct iova_node *cached32; /* ... and within it */
	/*
	 * Smallest size that failed within the 32-bit range since the last free there, for
	 * unaligned and size-aligned requests (a failed unaligned size implies a failed
	 * aligned one, not the other way round). Atomic so that iova_alloc() can refuse
	 * without taking the lock; written under tree_lock.
	 */
	atomic_uint_least64_t max32_any, max32_aligned;
	uint64_t reserved_nodes;
	uint64_t tree_allocs, tree_frees;
	atomic_uint_least64_t fast_fail_32; /* counted without the lock: it saves taking it */
};

#define IOVA_ANCHOR_PFN UINT64_MAX

static inline unsigned int iova_size_class(uint64_t size)
{
	return size <= 1 ? 0 : 64 - (unsigned int)__builtin_clzll(size - 1);
}

/* iova.c: give cached ranges (state already claimed by the caller) back to the tree. */
void iova_tree_free_cached(struct iova_domain *d, const uint64_t *pfns, uint64_t n);

/* iova_rcache.c */
int iova_rcache_init(struct iova_domain *d);
void iova_rcache_destroy(struct iova_domain *d);
struct iova_tc *iova_tc_get_slow(struct iova_domain *d);
void iova_rcache_count(struct iova_domain *d, struct iova_stats *st);
/*
 * Take a cached range of class k whose first pfn is at most `last`, with its state byte,
 * from the calling thread's cache (refilled from the depot when empty). `deep` looks past
 * the magazines' tops for one below a low limit; without it only the tops are tried.
 */
bool iova_rcache_get(struct iova_domain *d, unsigned int k, uint64_t last, bool deep, uint64_t *pfn,
		     _Atomic uint8_t **state);
/*
 * Cache a freed range of class k (its state already CACHED); the slow half of iova_free.
 * Returns 0 (for a tail call from iova_free).
 */
int iova_rcache_put(struct iova_domain *d, unsigned int k, uint64_t pfn, _Atomic uint8_t *state);

/*
 * The calling thread's cache for d if its slot remembers it, else NULL (no side effects).
 * A slot's id and tc are set and cleared together, and no domain has id 0.
 */
static inline struct iova_tc *iova_tc_cached(const struct iova_domain *d)
{
	struct iova_tls_slot *s = &iova_tls_self.slots[d->id & (IOVA_TLS_SLOTS - 1)];

	return IOVA_LIKELY(s->id == d->id) ? s->tc : NULL;
}

static inline struct iova_tc *iova_tc_get(struct iova_domain *d)
{
	struct iova_tc *tc = iova_tc_cached(d);

	return IOVA_LIKELY(tc != NULL) ? tc : iova_tc_get_slow(d);
}

/* The fast paths only try: on the rare contention they hand over to the slow path. */
static inline bool iova_tc_trylock(struct iova_tc *tc)
{
	return !atomic_exchange_explicit(&tc->lock, 1, memory_order_acquire);
}

static inline void iova_tc_lock(struct iova_tc *tc)
{
	while (IOVA_UNLIKELY(atomic_exchange_explicit(&tc->lock, 1, memory_order_acquire))) {
		while (atomic_load_explicit(&tc->lock, memory_order_relaxed))
			sched_yield();
	}
}

static inline void iova_tc_unlock(struct iova_tc *tc)
{
	atomic_store_explicit(&tc->lock, 0, memory_order_release);
}

#endif
