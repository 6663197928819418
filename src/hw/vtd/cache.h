/* SPDX-License-Identifier: MIT */
/*
 * The engine under the unit's translation caches (digest 5.11): a set-associative array
 * of fixed-size entries with LRU replacement, safe for many translating threads and
 * concurrent invalidation.
 *
 * Concurrency. Each set has a sequence counter and a writer flag:
 *   - readers (a lookup) take no lock and write nothing shared on a hit: they read the
 *     sequence, scan the set with acquire loads, and retry if the sequence moved or was odd;
 *   - writers (a fill after a walk, an invalidation) take the set's flag, make the sequence
 *     odd, change entries with release stores, and make it even again.
 * A walk that started before an invalidation must not put its (possibly stale) result in
 * a cache after the invalidation has scanned it: every invalidation bumps the unit's
 * generation first, a translation samples it before it reads any table, and a fill under
 * the set's flag is dropped when the generation moved.
 *
 * LRU. Every entry carries a stamp of its last use from the cache's epoch, which advances
 * on each fill: the fill that makes epoch e stamps its entry 2e, a hit during epoch e stamps
 * 2e + 1 (above every entry filled or used before), and a hit writes its stamp at most once
 * per epoch (a stream of hits writes nothing). The victim is an invalid entry or the one
 * with the oldest stamp.
 *
 * Layout, per set: the ways' first tag words side by side (what a lookup scans; 0 for an
 * invalid entry - every tag has VTD_CACHE_VALID), and each way's second tag word, LRU stamp
 * and payload in data[]. The invalidation matchers see an entry as one array: tag0, tag1,
 * stamp, payload (VTD_CACHE_HDR words, then the payload).
 */
#ifndef SOFTIOMMU_HW_VTD_CACHE_H
#define SOFTIOMMU_HW_VTD_CACHE_H

#include "vtd_internal.h"

#define VTD_CACHE_VALID	      (1ull << 63)
#define VTD_CACHE_HDR	      3 /* tag0, tag1, stamp (in the matchers' view) */
#define VTD_CACHE_MAX_PAYLOAD 4

/* ---- cache.c -------------------------------------------------------------------------- */

/* Allocate `geom` with `payload` words per entry; sets == 0 makes an empty (disabled)
 * cache. -ENOMEM. */
int vtd_cache_init(struct vtd_cache *c, const struct vtd_cache_geom *geom, unsigned payload);
void vtd_cache_fini(struct vtd_cache *c);

/*
 * Put (tag0, tag1) -> payload into set `set`, replacing an entry with the same tag, else an
 * invalid one, else the least recently used. Dropped if the unit's invalidation generation
 * is no longer `gen` (see above). Returns the slot used, or -1 when dropped.
 */
int vtd_cache_fill(struct vtd *vtd, struct vtd_cache *c, unsigned set, uint64_t tag0, uint64_t tag1,
		   const uint64_t *payload, uint64_t gen);

/*
 * Invalidate every entry for which `match(arg, entry)` is true (`entry` points at word 0;
 * read it with vtd_cache_word). Returns how many went. The caller has bumped the
 * generation (vtd_cache_inv_begin).
 */
unsigned vtd_cache_drop_if(struct vtd_cache *c, bool (*match)(const void *arg, const uint64_t *e),
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

/* This thread's counter shard. */
extern _Thread_local unsigned vtd_cache_shard;
unsigned vtd_cache_shard_init(void);

static inline struct vtd_cache_ctr *vtd_cache_ctr(struct vtd_cache *c)
{
	unsigned s = vtd_cache_shard;

	if (VTD_UNLIKELY(!s))
		s = vtd_cache_shard_init();
	return &c->ctr[s & (VTD_CACHE_CTR_SHARDS - 1)];
}

/* A counter of this thread's shard, bumped without a locked instruction (a shard is
 * shared only when more than VTD_CACHE_CTR_SHARDS threads run, and then a count may be
 * lost, never corrupted). */
static inline void vtd_cache_count(uint64_t *ctr)
{
	__atomic_store_n(ctr, __atomic_load_n(ctr, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* The sample a translation takes before it reads any table (see above). */
static inline uint64_t vtd_cache_gen(const struct vtd *vtd)
{
	return __atomic_load_n(&vtd->inv_gen, __ATOMIC_ACQUIRE);
}

/* An invalidation starts: fills of walks that began before it will be dropped, and the
 * request cache (caches.h) holds nothing valid any more. */
static inline void vtd_cache_inv_begin(struct vtd *vtd)
{
	/* Sequentially consistent: see vtd_cache_drop_if() and the fill's check. */
	__atomic_fetch_add(&vtd->inv_gen, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&vtd->fast_gen, 1, __ATOMIC_ACQ_REL);
}

/*
 * The invalidation has dropped its entries: the request cache moves on once more. A
 * translation that began between vtd_cache_inv_begin() and the drop may have been served
 * by an entry about to be dropped, and would otherwise put that answer in the request
 * cache under the current generation, where it would outlive the invalidation.
 */
static inline void vtd_cache_inv_end(struct vtd *vtd)
{
	__atomic_fetch_add(&vtd->fast_gen, 1, __ATOMIC_SEQ_CST);
}

/* A use of the entry in `slot` for LRU: its stamp, written at most once per epoch. */
static inline void vtd_cache_touch(struct vtd_cache *c, unsigned slot)
{
	uint64_t *stamp = &c->data[(size_t)slot * c->words + 1];
	uint64_t now = 2 * __atomic_load_n(&c->epoch, __ATOMIC_RELAXED) + 1;

	if (vtd_cache_word(stamp) != now)
		__atomic_store_n(stamp, now, __ATOMIC_RELAXED);
}

/*
 * Look (tag0, tag1) up in set `set`; on a hit copy the `n` payload words to `out` and
 * return true with the entry's slot (set * ways + way) in *slot. No lock. The caller counts
 * (vtd_cache_hit / vtd_cache_miss): whether a found entry serves the request is its decision.
 */
static inline __attribute__((always_inline)) bool vtd_cache_lookup(struct vtd_cache *c,
								   unsigned set, uint64_t tag0,
								   uint64_t tag1, uint64_t *out,
								   const unsigned n, unsigned *slot)
{
	const struct vtd_cset *s = &c->set[set];
	const uint64_t *tags = c->tags + (size_t)set * c->ways;
	/* c->words == n + 2 for every caller: the stride is a constant here. */
	const uint64_t *data = c->data + (size_t)set * c->ways * (n + 2);

	for (;;) {
		uint32_t q = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		const uint64_t *hit = NULL;

		for (unsigned w = 0; w < c->ways; w++) {
			if (vtd_cache_read(&tags[w]) != tag0)
				continue;
			const uint64_t *e = data + (size_t)w * (n + 2);
			if (vtd_cache_read(&e[0]) == tag1) {
				for (unsigned i = 0; i < n; i++)
					out[i] = vtd_cache_read(&e[2 + i]);
				hit = e;
				*slot = set * c->ways + w;
				break;
			}
		}
		if (VTD_UNLIKELY((q & 1) || __atomic_load_n(&s->seq, __ATOMIC_RELAXED) != q))
			continue; /* a writer was in the set: look again */
		if (!hit)
			return false;
		vtd_cache_touch(c, *slot);
		return true;
	}
}

static inline void vtd_cache_hit(struct vtd_cache *c)
{
	vtd_cache_count(&vtd_cache_ctr(c)->hit);
}

static inline void vtd_cache_miss(struct vtd_cache *c)
{
	vtd_cache_count(&vtd_cache_ctr(c)->miss);
}

/* A set index from a key (a multiplicative hash: keys differ in their low page bits). */
static inline unsigned vtd_cache_set(const struct vtd_cache *c, uint64_t key)
{
	return (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 40) & c->set_mask;
}

#endif
