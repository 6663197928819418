/* SPDX-License-Identifier: MIT */
/*
 * The engine under the unit's translation caches (digest 5.11): a set-associative array
 * of fixed-size entries with LRU replacement, safe for many translating threads and
 * concurrent invalidation.
 *
 * Concurrency. Each set has a sequence counter:
 *   - readers (a lookup) take no lock and write nothing shared on a hit: they read the
 *     sequence, scan the set with acquire loads, and look again if the sequence moved or
 *     was odd;
 *   - writers (a fill after a walk, an invalidation) make the sequence odd with a
 *     compare-and-swap (that is their lock), change entries with release stores, and make it
 *     even again.
 * A walk that started before an invalidation must not put its (possibly stale) result in
 * a cache after the invalidation has looked at it: every invalidation makes the unit's
 * generation odd before it drops anything and even again when it is done, a translation
 * samples it before it reads any table or cache entry, and a fill checks it under the
 * set's lock and is dropped when it moved - or when the sample was odd: a translation that
 * began during an invalidation may have read an entry of a cache not emptied yet (a
 * paging-structure entry, once the IOTLB was) and filled from it after the drop it needed.
 * Context and PASID-cache fills check a generation of their own that only their
 * invalidations move (vtd_cache_ctx_gen). An invalidation that skips a set (its summary says it
 * holds nothing in scope) first waits for the set's writer to leave, so a fill is either visible to
 * it or sees the new generation (sequentially consistent operations on both sides:
 * vtd_cache_inv_begin, vtd_cache_settle, the fill's lock).
 *
 * Versions. Every slot has a version that moves whenever its content changes (filled,
 * invalidated). A request memo (memo.h) that combines a slot's entry remembers the
 * version and trusts the entry only while it holds. Versions are 32 bits; when one wraps
 * the unit's structure generation moves too, so that no memo can see an old value again.
 *
 * Summaries. Each set keeps VTD_CACHE_SUMS words with a bit per hashed key (the cache
 * says which: its summarize function) of the entries it may hold, ORed in by fills and
 * recomputed by invalidations. Invalidations by domain or PASID look only at the sets
 * whose summary has their bit, instead of every entry. The cache also keeps the union of
 * every bit a fill ever set (gsum, never cleared): an invalidation whose bit is not in it
 * has nothing to do and visits no set - a type-2 page-selective invalidation's "every
 * first-stage entry of the domain" for a domain that never had one, say. A fill adds its
 * bits there before it checks the generation, and the invalidation reads it after moving
 * the generation (both sequentially consistent), so a fill the invalidation does not see
 * there sees the new generation and is dropped.
 *
 * LRU. A cache's clock advances on each of its fills: the fill that makes it c stamps its
 * entry 2c, a use while it is c stamps 2c + 1 (above every entry filled or used before),
 * and a use writes its stamp at most once per tick (a stream of hits writes nothing). The
 * victim is an invalid entry (each set keeps a mask of its free ways, under its lock) or
 * the one with the oldest stamp. Stamps are compared only within a set, so caches may
 * share a clock or not: the context and PASID caches share one, the paging-structure
 * caches another, and the IOTLB has its own - so that IOTLB fills, the common ones, do not
 * make every use of a context or PASID entry write its stamp again. Every fill also
 * advances the unit's clock (vtd->clock), the request memos' epoch: a memo entry refreshes
 * the stamps it stands for once per epoch (memo.h). Clocks are advanced without a locked
 * instruction: two fills at once may share a tick.
 *
 * A fill replaces the entry with the same tag if the set has one. A lookup that missed
 * hands the fill the sequence at which it saw the set; if no writer has been in the set
 * since, the tag is known to be absent and the fill does not search for it.
 *
 * Layout, per set: the ways' first tag words side by side (what a lookup scans; 0 for an
 * invalid entry - every tag has VTD_CACHE_VALID), and each way's data words in data[]:
 * tag1, payload. Each slot's version and LRU stamp are in ver[] and stamp[], by slot.
 */
#ifndef SOFTIOMMU_HW_VTD_CACHE_H
#define SOFTIOMMU_HW_VTD_CACHE_H

#include "vtd_internal.h"

#include <sched.h>

#define VTD_CACHE_VALID	      (1ull << 63)
#define VTD_CACHE_TAG1	      0 /* data word: the second tag */
#define VTD_CACHE_HDR	      1 /* data words before the payload */
#define VTD_CACHE_MAX_PAYLOAD 3

/* ---- cache.c -------------------------------------------------------------------------- */

/* Allocate `geom` with `payload` words per entry; sets == 0 makes an empty (disabled)
 * cache. `sum` gives an entry's summary bits (NULL: none). -ENOMEM. */
int vtd_cache_init(struct vtd *vtd, struct vtd_cache *c, const struct vtd_cache_geom *geom,
		   unsigned payload, vtd_cache_sum_fn sum);
void vtd_cache_fini(struct vtd_cache *c);

/* Decides whether an entry goes: its tag0 and data words (tag1 first, payload from
 * VTD_CACHE_HDR). Called with the set's lock held. */
typedef bool (*vtd_cache_match_fn)(const void *arg, uint64_t tag0, const uint64_t *d);

/*
 * Invalidate the entries of set `set` that `match` accepts; when sum >= 0, only if the
 * set's summary word `sum` has a bit of `bits` (the set is not locked otherwise). Returns
 * how many went. The caller has bumped the generation (vtd_cache_inv_begin).
 */
unsigned vtd_cache_drop_set(struct vtd_cache *c, unsigned set, int sum, uint64_t bits,
			    vtd_cache_match_fn match, const void *arg);

/*
 * Invalidate every entry that `match` accepts, looking only at sets whose summary word
 * `sum` has a bit of `bits` (sum < 0: every set). Returns how many went.
 */
unsigned vtd_cache_drop_if(struct vtd_cache *c, int sum, uint64_t bits, vtd_cache_match_fn match,
			   const void *arg);

/* False when no fill ever set a bit of `bits` in summary word `sum` (sum >= 0): nothing in
 * the cache can be in the scope those bits stand for. The caller has bumped the generation
 * (the cache-wide summary above). */
static inline bool vtd_cache_may_hold(const struct vtd_cache *c, int sum, uint64_t bits)
{
	return sum < 0 || (__atomic_load_n(&c->gsum[sum], __ATOMIC_SEQ_CST) & bits);
}

/* Sum the sharded counters. */
void vtd_cache_counters(const struct vtd_cache *c, struct vtd_cache_ctr *out);

/* ---- inline: the lookup --------------------------------------------------------------- */

static inline uint64_t vtd_cache_word(const uint64_t *w)
{
	return __atomic_load_n(w, __ATOMIC_RELAXED);
}

/*
 * The reader's load of entry words. Acquire pairs with the writers' release stores: a
 * reader that sees anything a writer stored also sees the odd sequence the writer set
 * before it, so the sequence check afterwards catches the race. (No fences: they cost
 * nothing more on x86, and ThreadSanitizer does not model them.)
 */
static inline uint64_t vtd_cache_read(const uint64_t *w)
{
	return __atomic_load_n(w, __ATOMIC_ACQUIRE);
}

/* This thread's slot (memo.c): 1..VTD_THREAD_SLOTS, VTD_THREAD_SLOTS + 1 when every slot
 * is taken, 0 before the thread's first translation. */
extern _Thread_local unsigned vtd_tslot __attribute__((tls_model("initial-exec")));
unsigned vtd_tslot_init(void);

static inline unsigned vtd_thread_slot(void)
{
	unsigned s = vtd_tslot;

	return VTD_LIKELY(s) ? s : vtd_tslot_init();
}

/* Bump counter `field` of cache `c` in this thread's shard: a plain increment (the shard
 * is this thread's alone), or an atomic one in the shared last shard. */
#define vtd_cache_count_n(c, field, n)                                                             \
	do {                                                                                       \
		unsigned s_ = vtd_thread_slot();                                                   \
		uint64_t *p_ = &(c)->ctr[s_ - 1].field;                                            \
		if (VTD_LIKELY(s_ <= VTD_THREAD_SLOTS))                                            \
			__atomic_store_n(p_, __atomic_load_n(p_, __ATOMIC_RELAXED) + (n),          \
					 __ATOMIC_RELAXED);                                        \
		else                                                                               \
			__atomic_fetch_add(p_, (n), __ATOMIC_RELAXED);                             \
	} while (0)
#define vtd_cache_count(c, field) vtd_cache_count_n(c, field, 1)

static inline void vtd_cache_hit(struct vtd_cache *c)
{
	vtd_cache_count(c, hit);
}

static inline void vtd_cache_miss(struct vtd_cache *c)
{
	vtd_cache_count(c, miss);
}

/*
 * The sample a translation takes before it reads any table or cache entry (see above). An
 * odd generation is an invalidation in progress: the sample then matches no generation,
 * so that every fill of the translation is dropped.
 */
static inline uint64_t vtd_gen_sample(const uint64_t *gen)
{
	uint64_t g = __atomic_load_n(gen, __ATOMIC_SEQ_CST);

	return g + ((g & 1) << 63);
}

/* For IOTLB and paging-structure fills: every invalidation moves it. */
static inline uint64_t vtd_cache_gen(const struct vtd *vtd)
{
	return vtd_gen_sample(&vtd->inv_gen);
}

/* For context and PASID-cache fills: only their own invalidations move it - an entry read
 * from memory depends on no other cache (a PASID entry on the context entry used), and
 * IOTLB invalidations, frequent under strict unmaps, need not throw them away. */
static inline uint64_t vtd_cache_ctx_gen(const struct vtd *vtd)
{
	return vtd_gen_sample(&vtd->ctx_gen);
}

/*
 * An invalidation starts: the generation becomes odd, and fills of translations that
 * sampled it before, or while it is odd, will be dropped. Invalidations run one at a time
 * (under the register lock, cache_inv.h); one that empties several caches opens one
 * window around them all, the inner ones nest in it (inv_depth).
 */
static inline void vtd_cache_inv_begin(struct vtd *vtd)
{
	if (vtd->inv_depth++ == 0)
		__atomic_fetch_add(&vtd->inv_gen, 1, __ATOMIC_SEQ_CST);
}

/*
 * The invalidation has dropped its entries (and moved the structure generation if it
 * dropped context or PASID-cache entries): the generation is even again. A translation
 * that sampled it in between may have read a cache entry that was about to go - a
 * paging-structure entry after the IOTLB was emptied, a context or PASID entry - and
 * filled the IOTLB from it after the IOTLB was emptied; its odd sample keeps that fill out.
 */
static inline void vtd_cache_inv_end(struct vtd *vtd)
{
	if (--vtd->inv_depth == 0)
		__atomic_fetch_add(&vtd->inv_gen, 1, __ATOMIC_SEQ_CST);
}

/* The same window for an invalidation of context or PASID-cache entries: it moves both
 * generations. */
static inline void vtd_cache_ctx_inv_begin(struct vtd *vtd)
{
	if (vtd->ctx_depth++ == 0)
		__atomic_fetch_add(&vtd->ctx_gen, 1, __ATOMIC_SEQ_CST);
	vtd_cache_inv_begin(vtd);
}

static inline void vtd_cache_ctx_inv_end(struct vtd *vtd)
{
	vtd_cache_inv_end(vtd);
	if (--vtd->ctx_depth == 0)
		__atomic_fetch_add(&vtd->ctx_gen, 1, __ATOMIC_SEQ_CST);
}

/* Context or PASID-cache entries went (invalidated, evicted, flushed): the request memos
 * that combined them must not be trusted any more. After the entries are gone. */
static inline void vtd_memo_stale(struct vtd *vtd)
{
	__atomic_fetch_add(&vtd->sgen, 1, __ATOMIC_RELEASE);
}

/* The memos' epoch: moved by every fill (see above). */
static inline uint64_t vtd_clock(const struct vtd *vtd)
{
	return __atomic_load_n(&vtd->clock, __ATOMIC_RELAXED);
}

/* A cache's LRU clock (see above). */
static inline uint64_t vtd_cache_clock(const struct vtd_cache *c)
{
	return __atomic_load_n(c->clock, __ATOMIC_RELAXED);
}

/* A slot's LRU stamp for time `t` (2c for a fill at tick c, 2c + 1 for a use): the slot's
 * low six bits below it, so that the stamps of a set's ways (at most 64, consecutive slots)
 * all differ and the least recently used way is where the smallest one is. */
#define VTD_STAMP_SLOT_BITS 6

static inline uint64_t vtd_stamp(uint64_t t, size_t slot)
{
	return t << VTD_STAMP_SLOT_BITS | (slot & ((1u << VTD_STAMP_SLOT_BITS) - 1));
}

/* A use of the entry in `slot` for LRU: its stamp, written at most once per tick. */
static inline void vtd_cache_touch(struct vtd_cache *c, unsigned slot, uint64_t clock)
{
	uint64_t *stamp = &c->stamp[slot];
	uint64_t now = vtd_stamp(2 * clock + 1, slot);

	if (vtd_cache_word(stamp) != now)
		__atomic_store_n(stamp, now, __ATOMIC_RELAXED);
}

/* The way of a set holding (tag0, tag1), or `ways`: one pass over the tags, unrolled for
 * a constant way count. */
static inline __attribute__((always_inline)) unsigned
vtd_cache_find(const uint64_t *tags, const uint64_t *data, uint64_t tag0, uint64_t tag1,
	       const unsigned stride, const unsigned ways)
{
#pragma GCC unroll 16
	for (unsigned w = 0; w < ways; w++)
		if (vtd_cache_read(&tags[w]) == tag0 &&
		    VTD_LIKELY(vtd_cache_read(&data[(size_t)w * stride + VTD_CACHE_TAG1]) == tag1))
			return w;
	return ways;
}

/*
 * Look (tag0, tag1) up in set `set`; on a hit copy the `n` payload words to `out` and
 * return true with the entry's slot (set * ways + way) and version. No lock. The caller
 * counts (vtd_cache_hit / vtd_cache_miss): whether a found entry serves the request is its
 * decision. On a miss, *seen (if not NULL) is the set's sequence when it was seen without
 * the tag (for vtd_cache_fill).
 */
static inline __attribute__((always_inline)) bool
vtd_cache_lookup_seen(const struct vtd *vtd, struct vtd_cache *c, unsigned set, uint64_t tag0,
		      uint64_t tag1, uint64_t *out, const unsigned n, unsigned *slot, uint32_t *ver,
		      long long *seen)
{
	/* The geometry in locals: the acquire loads below would make the compiler read it
	 * again each time. c->words == n + VTD_CACHE_HDR for every caller. */
	(void)vtd;
	const unsigned ways = c->ways, first = set * ways, stride = n + VTD_CACHE_HDR;
	const struct vtd_cset *s = &c->set[set];
	const uint64_t *tags = c->tags + first;
	const uint64_t *data = c->data + (size_t)first * stride;

	for (;;) {
		uint32_t q = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		unsigned w = ways == 8	 ? vtd_cache_find(tags, data, tag0, tag1, stride, 8)
			     : ways == 4 ? vtd_cache_find(tags, data, tag0, tag1, stride, 4)
					 : vtd_cache_find(tags, data, tag0, tag1, stride, ways);

		if (w < ways) {
			const uint64_t *e = data + (size_t)w * stride;

			for (unsigned i = 0; i < n; i++)
				out[i] = vtd_cache_read(&e[VTD_CACHE_HDR + i]);
			*ver = __atomic_load_n(&c->ver[first + w], __ATOMIC_ACQUIRE);
		}
		if (VTD_UNLIKELY((q & 1) || __atomic_load_n(&s->seq, __ATOMIC_RELAXED) != q)) {
			sched_yield(); /* a writer was in the set: look again */
			continue;
		}
		if (w == ways) {
			if (seen)
				*seen = q;
			return false;
		}
		*slot = first + w;
		vtd_cache_touch(c, first + w, vtd_cache_clock(c));
		return true;
	}
}

static inline __attribute__((always_inline)) bool
vtd_cache_lookup(const struct vtd *vtd, struct vtd_cache *c, unsigned set, uint64_t tag0,
		 uint64_t tag1, uint64_t *out, const unsigned n, unsigned *slot, uint32_t *ver)
{
	return vtd_cache_lookup_seen(vtd, c, set, tag0, tag1, out, n, slot, ver, NULL);
}

/* A set index from a key (a multiplicative hash: keys differ in their low page bits). */
static inline unsigned vtd_cache_set(const struct vtd_cache *c, uint64_t key)
{
	return (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 40) & c->set_mask;
}

/* One of 64 summary bits for a key. */
static inline uint64_t vtd_cache_sumbit(uint64_t key)
{
	return 1ull << ((key * 0x9e3779b97f4a7c15ull) >> 58);
}

/* ---- inline: the fill ----------------------------------------------------------------- */

/* Take the set: make its sequence odd (returns the odd value). Readers of the set retry
 * until the writer is done; the entry stores that follow are releases, so a reader that
 * sees one of them sees the odd sequence too. Sequentially consistent: see above on
 * skipped sets. */
uint32_t vtd_set_lock_slow(struct vtd_cset *s);

static inline uint32_t vtd_set_lock(struct vtd_cset *s)
{
	uint32_t q = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);

	if (VTD_LIKELY(!(q & 1)) && __atomic_compare_exchange_n(&s->seq, &q, q + 1, false,
								__ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return q + 1;
	return vtd_set_lock_slow(s);
}

static inline void vtd_set_unlock(struct vtd_cset *s, uint32_t q)
{
	__atomic_store_n(&s->seq, q + 1, __ATOMIC_RELEASE);
}

/* The IOTLB's count of entries per page size (count_sizes): +1 or -1 for tag0's size. */
void vtd_size_count(struct vtd_cache *c, uint64_t tag0, int delta);

/* A slot's version wrapped: every memo goes (the structure generation moves). */
void vtd_cache_ver_wrapped(struct vtd_cache *c);

/* The slot's content changes: its version moves (release: see the memo's check). A
 * version that wraps could match a memo made 2^32 changes ago: all memos go. */
static inline uint32_t vtd_cache_bump_ver(struct vtd_cache *c, size_t slot)
{
	uint32_t *v = &c->ver[slot], n = __atomic_load_n(v, __ATOMIC_RELAXED) + 1;

	__atomic_store_n(v, n, __ATOMIC_RELEASE);
	if (VTD_UNLIKELY(n == 0))
		vtd_cache_ver_wrapped(c);
	return n;
}

/* The way of a set holding (tag0, tag1), scanned under the set's lock, or `ways`. */
static inline __attribute__((always_inline)) unsigned
vtd_cache_find_locked(const struct vtd_cache *c, size_t first, uint64_t tag0, uint64_t tag1,
		      const unsigned words)
{
	const uint64_t *tags = c->tags + first, *data = c->data + first * words;

	switch (c->ways) {
	case 4:
		return vtd_cache_find(tags, data, tag0, tag1, words, 4);
	case 8:
		return vtd_cache_find(tags, data, tag0, tag1, words, 8);
	default:
		return vtd_cache_find(tags, data, tag0, tag1, words, c->ways);
	}
}

/* The least recently used way of a full set, whose first slot is `first`: the oldest stamp
 * (ways unrolled) - the way is in its low bits (vtd_stamp()). */
static inline __attribute__((always_inline)) unsigned
vtd_lru_way_n(const uint64_t *stamps, size_t first, const unsigned ways)
{
	uint64_t oldest = vtd_cache_word(&stamps[0]);

#pragma GCC unroll 16
	for (unsigned w = 1; w < ways; w++) {
		uint64_t st = vtd_cache_word(&stamps[w]);

		oldest = st < oldest ? st : oldest;
	}
	return (unsigned)((oldest - first) & ((1u << VTD_STAMP_SLOT_BITS) - 1));
}

static inline __attribute__((always_inline)) unsigned vtd_lru_way(const struct vtd_cache *c,
								  size_t first)
{
	const uint64_t *stamps = c->stamp + first;

	_Static_assert(64 <= 1u << VTD_STAMP_SLOT_BITS, "a set's ways (at most 64) in a stamp");
	switch (c->ways) {
	case 4:
		return vtd_lru_way_n(stamps, first, 4);
	case 8:
		return vtd_lru_way_n(stamps, first, 8);
	case 16:
		return vtd_lru_way_n(stamps, first, 16);
	default:
		return vtd_lru_way_n(stamps, first, c->ways);
	}
}

/* Bump counters `fill` and (if `evicted`) `evict` of `c` in this thread's shard, or in
 * `mc` (the thread's memo counts for the cache). */
static inline void vtd_cache_count_fill(struct vtd_cache *c, bool evicted, struct vtd_memo_ctr *mc)
{
	if (mc) {
		__atomic_store_n(&mc->fill, mc->fill + 1, __ATOMIC_RELAXED);
		__atomic_store_n(&mc->evict, mc->evict + evicted, __ATOMIC_RELAXED);
		return;
	}
	unsigned s = vtd_thread_slot();
	struct vtd_cache_ctr *ctr = &c->ctr[s - 1];

	if (VTD_LIKELY(s <= VTD_THREAD_SLOTS)) {
		__atomic_store_n(&ctr->fill, __atomic_load_n(&ctr->fill, __ATOMIC_RELAXED) + 1,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&ctr->evict,
				 __atomic_load_n(&ctr->evict, __ATOMIC_RELAXED) + evicted,
				 __ATOMIC_RELAXED);
	} else {
		__atomic_fetch_add(&ctr->fill, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&ctr->evict, evicted, __ATOMIC_RELAXED);
	}
}

/* What a fill did. */
struct vtd_fill {
	int slot;      /* the slot used, or -1 when the fill was dropped */
	uint32_t ver;  /* its version now */
	bool evicted;  /* a valid entry with another tag was replaced */
	bool replaced; /* a valid entry was replaced (with this tag or another) */
};

/* Add an entry's summary bits to the cache-wide union (see above). */
static inline void vtd_cache_gsum_add(struct vtd_cache *c, const uint64_t sum[VTD_CACHE_SUMS])
{
	for (int i = 0; i < VTD_CACHE_SUMS; i++)
		if (sum[i] & ~__atomic_load_n(&c->gsum[i], __ATOMIC_RELAXED))
			__atomic_fetch_or(&c->gsum[i], sum[i], __ATOMIC_SEQ_CST);
}

/* No lookup saw the set without the tag: the fill looks for it (see vtd_cache_fill). */
#define VTD_CACHE_UNSEEN (-1ll)

/*
 * Put (tag0, tag1) -> the `n` payload words into set `set`: into the way that holds the
 * same tag, else a free one, else the least recently used. Dropped if the cache's
 * invalidation generation is no longer `gen` (see above). `sum`: the entry's summary
 * bits, as the cache's summarize function gives them (NULL for a cache without). `seen`:
 * the sequence at which a lookup found the set without the tag (vtd_cache_lookup), or
 * VTD_CACHE_UNSEEN - when no writer has been in the set since, the tag is known to be
 * absent and the ways are not searched for it. The fill is counted in the cache's shard
 * for this thread, or in `mc` (the thread's memo counts for the cache) - there only its
 * eviction if the caller counts the fill itself (`fill_counted`). Inline, for a constant
 * `n`, in each cache's fill.
 */
static inline __attribute__((always_inline)) struct vtd_fill
vtd_cache_fill_c(struct vtd *vtd, struct vtd_cache *c, unsigned set, uint64_t tag0, uint64_t tag1,
		 const uint64_t *payload, const unsigned n, const uint64_t sum[VTD_CACHE_SUMS],
		 uint64_t gen, long long seen, struct vtd_memo_ctr *mc, const bool fill_counted)
{
	const unsigned words = n + VTD_CACHE_HDR;
	struct vtd_cset *s = &c->set[set];
	size_t first = (size_t)set * c->ways;
	struct vtd_fill f = {.slot = -1};
	uint32_t q = vtd_set_lock(s);

	/* Counted before the generation is checked: an invalidation that reads the count
	 * before this addition sees no entry of this size - and this fill then sees its
	 * generation and is dropped (cache.h). */
	if (VTD_UNLIKELY(c->count_sizes && (tag0 & 3)))
		vtd_size_count(c, tag0, 1);
	/* Likewise the cache-wide summary, before the generation (see above); only when the
	 * set's summary lacks a bit (what a set's summary has, the cache-wide one has). */
	bool new_sum = false;

	_Static_assert(VTD_CACHE_SUMS == 3, "three summary words");
	if (sum) {
		new_sum = (sum[0] & ~__atomic_load_n(&s->sum[0], __ATOMIC_RELAXED)) |
			  (sum[1] & ~__atomic_load_n(&s->sum[1], __ATOMIC_RELAXED)) |
			  (sum[2] & ~__atomic_load_n(&s->sum[2], __ATOMIC_RELAXED));
		if (VTD_UNLIKELY(new_sum))
			vtd_cache_gsum_add(c, sum);
	}
	/* An invalidation ran since this walk began: its result may be stale already. */
	if (VTD_UNLIKELY(__atomic_load_n(c->gen, __ATOMIC_SEQ_CST) != gen)) {
		if (c->count_sizes && (tag0 & 3))
			vtd_size_count(c, tag0, -1);
		vtd_set_unlock(s, q);
		return f;
	}
	unsigned w = c->ways;

	if (seen != (long long)(q - 1))
		w = vtd_cache_find_locked(c, first, tag0, tag1, words);
	if (VTD_LIKELY(w == c->ways)) {
		f.replaced = f.evicted = !s->free;
		w = s->free ? (unsigned)__builtin_ctzll(s->free) : vtd_lru_way(c, first);
		s->free &= ~(1ull << w);
	} else {
		f.replaced = true;
	}

	size_t slot = first + w;
	uint64_t *e = c->data + slot * words, now = vtd_cache_clock(c) + 1;

	__atomic_store_n(c->clock, now, __ATOMIC_RELAXED);
	__atomic_store_n(&vtd->clock, vtd_clock(vtd) + 1, __ATOMIC_RELAXED);
	if (VTD_UNLIKELY(c->count_sizes) && f.replaced && (vtd_cache_word(&c->tags[slot]) & 3))
		vtd_size_count(c, vtd_cache_word(&c->tags[slot]), -1);
	__atomic_store_n(&c->tags[slot], tag0, __ATOMIC_RELEASE);
	__atomic_store_n(&e[VTD_CACHE_TAG1], tag1, __ATOMIC_RELEASE);
	__atomic_store_n(&c->stamp[slot], vtd_stamp(2 * now, slot), __ATOMIC_RELAXED);
	for (unsigned i = 0; i < n; i++)
		__atomic_store_n(&e[VTD_CACHE_HDR + i], payload[i], __ATOMIC_RELEASE);
	f.ver = vtd_cache_bump_ver(c, slot);
	if (VTD_UNLIKELY(new_sum)) {
		/* Usually the set's summary has the bits already: nothing to write. (Only
		 * writers, under the set's lock, change it.) */
		for (int i = 0; i < VTD_CACHE_SUMS; i++)
			__atomic_store_n(&s->sum[i],
					 __atomic_load_n(&s->sum[i], __ATOMIC_RELAXED) | sum[i],
					 __ATOMIC_RELAXED);
	}
	vtd_set_unlock(s, q);
	f.slot = (int)slot;
	if (fill_counted)
		__atomic_store_n(&mc->evict, mc->evict + f.evicted, __ATOMIC_RELAXED);
	else
		vtd_cache_count_fill(c, f.evicted, mc);
	return f;
}

/* vtd_cache_fill_c(), the fill counted with it. */
static inline __attribute__((always_inline)) struct vtd_fill
vtd_cache_fill(struct vtd *vtd, struct vtd_cache *c, unsigned set, uint64_t tag0, uint64_t tag1,
	       const uint64_t *payload, const unsigned n, const uint64_t sum[VTD_CACHE_SUMS],
	       uint64_t gen, long long seen, struct vtd_memo_ctr *mc)
{
	return vtd_cache_fill_c(vtd, c, set, tag0, tag1, payload, n, sum, gen, seen, mc, false);
}

#endif
