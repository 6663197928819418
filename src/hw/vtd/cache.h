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
 * a cache after the invalidation has looked at it: every invalidation bumps the unit's
 * generation first, a translation samples it before it reads any table, and a fill checks
 * it under the set's lock and is dropped when it moved. An invalidation that skips a set
 * (its summary says it holds nothing in scope) first waits for the set's writer to leave,
 * so a fill is either visible to it or sees the new generation (sequentially consistent
 * operations on both sides: vtd_cache_inv_begin, vtd_cache_settle, the fill's lock).
 *
 * Versions. Every slot has a version that moves whenever its content changes (filled,
 * invalidated). A request memo (memo.h) that combines a slot's entry remembers the
 * version and trusts the entry only while it holds. Versions are 32 bits; when one wraps
 * the unit's structure generation moves too, so that no memo can see an old value again.
 *
 * Summaries. Each set keeps VTD_CACHE_SUMS words with a bit per hashed key (the cache
 * says which: its summarize function) of the entries it may hold, ORed in by fills and
 * recomputed by invalidations. Invalidations by domain or PASID look only at the sets
 * whose summary has their bit, instead of every entry.
 *
 * LRU. One clock for all of the unit's caches advances on each fill: the fill that makes
 * it c stamps its entry 2c, a use while it is c stamps 2c + 1 (above every entry filled or
 * used before), and a use writes its stamp at most once per tick (a stream of hits writes
 * nothing). The victim is an invalid entry or the one with the oldest stamp. The clock is
 * advanced without a locked instruction: two fills at once may share a tick.
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

/* What a fill did. */
struct vtd_fill {
	int slot;     /* the slot used, or -1 when the fill was dropped */
	uint32_t ver; /* its version now */
	bool evicted; /* a valid entry with another tag was replaced */
};

/*
 * Put (tag0, tag1) -> payload into set `set`, replacing an entry with the same tag, else an
 * invalid one, else the least recently used. Dropped if the unit's invalidation generation
 * is no longer `gen` (see above).
 */
struct vtd_fill vtd_cache_fill(struct vtd *vtd, struct vtd_cache *c, unsigned set, uint64_t tag0,
			       uint64_t tag1, const uint64_t *payload, uint64_t gen);

/* Decides whether an entry goes: its tag0 and data words (tag1 first, payload from
 * VTD_CACHE_HDR). Called with the set's lock held. */
typedef bool (*vtd_cache_match_fn)(const void *arg, uint64_t tag0, const uint64_t *d);

/*
 * Invalidate the entries of set `set` that `match` accepts. Returns how many went. The
 * caller has bumped the generation (vtd_cache_inv_begin).
 */
unsigned vtd_cache_drop_set(struct vtd_cache *c, unsigned set, vtd_cache_match_fn match,
			    const void *arg);

/*
 * Invalidate every entry that `match` accepts, looking only at sets whose summary word
 * `sum` has a bit of `bits` (sum < 0: every set). Returns how many went.
 */
unsigned vtd_cache_drop_if(struct vtd_cache *c, int sum, uint64_t bits, vtd_cache_match_fn match,
			   const void *arg);

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

/* The sample a translation takes before it reads any table (see above). */
static inline uint64_t vtd_cache_gen(const struct vtd *vtd)
{
	return __atomic_load_n(&vtd->inv_gen, __ATOMIC_SEQ_CST);
}

/* An invalidation starts: fills of walks that began before it will be dropped. */
static inline void vtd_cache_inv_begin(struct vtd *vtd)
{
	__atomic_fetch_add(&vtd->inv_gen, 1, __ATOMIC_SEQ_CST);
}

/* Context or PASID-cache entries went (invalidated, evicted, flushed): the request memos
 * that combined them must not be trusted any more. After the entries are gone. */
static inline void vtd_memo_stale(struct vtd *vtd)
{
	__atomic_fetch_add(&vtd->sgen, 1, __ATOMIC_RELEASE);
}

/* The LRU clock (see above). */
static inline uint64_t vtd_clock(const struct vtd *vtd)
{
	return __atomic_load_n(&vtd->clock, __ATOMIC_RELAXED);
}

/* A use of the entry in `slot` for LRU: its stamp, written at most once per tick. */
static inline void vtd_cache_touch(struct vtd_cache *c, unsigned slot, uint64_t clock)
{
	uint64_t *stamp = &c->stamp[slot];
	uint64_t now = 2 * clock + 1;

	if (vtd_cache_word(stamp) != now)
		__atomic_store_n(stamp, now, __ATOMIC_RELAXED);
}

/*
 * Look (tag0, tag1) up in set `set`; on a hit copy the `n` payload words to `out` and
 * return true with the entry's slot (set * ways + way) and version. No lock. The caller
 * counts (vtd_cache_hit / vtd_cache_miss): whether a found entry serves the request is its
 * decision.
 */
static inline __attribute__((always_inline)) bool
vtd_cache_lookup(const struct vtd *vtd, struct vtd_cache *c, unsigned set, uint64_t tag0,
		 uint64_t tag1, uint64_t *out, const unsigned n, unsigned *slot, uint32_t *ver)
{
	const struct vtd_cset *s = &c->set[set];
	const uint64_t *tags = c->tags + (size_t)set * c->ways;
	/* c->words == n + VTD_CACHE_HDR for every caller: the stride is a constant here. */
	const uint64_t *data = c->data + (size_t)set * c->ways * (n + VTD_CACHE_HDR);

	for (;;) {
		uint32_t q = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		const uint64_t *hit = NULL;

		for (unsigned w = 0; w < c->ways; w++) {
			if (vtd_cache_read(&tags[w]) != tag0)
				continue;
			const uint64_t *e = data + (size_t)w * (n + VTD_CACHE_HDR);
			if (vtd_cache_read(&e[VTD_CACHE_TAG1]) == tag1) {
				for (unsigned i = 0; i < n; i++)
					out[i] = vtd_cache_read(&e[VTD_CACHE_HDR + i]);
				*slot = set * c->ways + w;
				*ver = __atomic_load_n(&c->ver[*slot], __ATOMIC_ACQUIRE);
				hit = e;
				break;
			}
		}
		if (VTD_UNLIKELY((q & 1) || __atomic_load_n(&s->seq, __ATOMIC_RELAXED) != q)) {
			sched_yield(); /* a writer was in the set: look again */
			continue;
		}
		if (!hit)
			return false;
		vtd_cache_touch(c, *slot, vtd_clock(vtd));
		return true;
	}
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

#endif
