// SPDX-License-Identifier: MIT
/*
 * The cache engine's writer side (digest 5.11): fills with LRU replacement, invalidation
 * of one set or of every set a summary names, and the counters. The lookup is inline in
 * cache.h.
 */
#include "cache.h"

#include <stdlib.h>

int vtd_cache_init(struct vtd *vtd, struct vtd_cache *c, const struct vtd_cache_geom *geom,
		   unsigned payload, vtd_cache_sum_fn sum)
{
	memset(c, 0, sizeof(*c));
	c->sgen = &vtd->sgen;
	if (!geom->sets)
		return 0;
	c->sets = geom->sets;
	c->ways = geom->ways;
	c->words = VTD_CACHE_HDR + payload;
	c->set_mask = geom->sets - 1;
	c->summarize = sum;
	c->set = calloc(c->sets, sizeof(*c->set));
	c->tags = calloc((size_t)c->sets * c->ways, sizeof(uint64_t));
	c->data = calloc((size_t)c->sets * c->ways * c->words, sizeof(uint64_t));
	c->ver = calloc((size_t)c->sets * c->ways, sizeof(*c->ver));
	c->stamp = calloc((size_t)c->sets * c->ways, sizeof(*c->stamp));
	if (!c->set || !c->tags || !c->data || !c->ver || !c->stamp) {
		vtd_cache_fini(c);
		return -ENOMEM;
	}
	return 0;
}

void vtd_cache_fini(struct vtd_cache *c)
{
	free(c->set);
	free(c->tags);
	free(c->data);
	free(c->ver);
	free(c->stamp);
	c->set = NULL;
	c->tags = NULL;
	c->data = NULL;
	c->ver = NULL;
	c->stamp = NULL;
	c->sets = 0;
}

/* Take the set: make its sequence odd. Readers of the set retry until the writer is done;
 * the entry stores that follow are releases, so a reader that sees one of them sees the
 * odd sequence too. Sequentially consistent: see cache.h on skipped sets. */
static uint32_t set_lock(struct vtd_cset *s)
{
	for (;;) {
		uint32_t q = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);

		if (!(q & 1) && __atomic_compare_exchange_n(&s->seq, &q, q + 1, false,
							    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
			return q + 1;
		sched_yield();
	}
}

static void set_unlock(struct vtd_cset *s, uint32_t q)
{
	__atomic_store_n(&s->seq, q + 1, __ATOMIC_RELEASE);
}

/* Wait until no writer is in the set (its sequence even) and return the sequence. */
static uint32_t set_settle(const struct vtd_cset *s)
{
	uint32_t q;

	while ((q = __atomic_load_n(&s->seq, __ATOMIC_SEQ_CST)) & 1)
		sched_yield();
	return q;
}

static void set_sum_or(struct vtd_cache *c, struct vtd_cset *s, uint64_t tag0, const uint64_t *d)
{
	uint64_t sum[VTD_CACHE_SUMS] = {0};

	if (!c->summarize)
		return;
	c->summarize(tag0, d, sum);
	for (int i = 0; i < VTD_CACHE_SUMS; i++) {
		uint64_t cur = __atomic_load_n(&s->sum[i], __ATOMIC_RELAXED);

		if ((cur | sum[i]) != cur)
			__atomic_store_n(&s->sum[i], cur | sum[i], __ATOMIC_RELAXED);
	}
}

/* Recompute a set's summary from the entries it holds (its lock held). */
static void set_sum_rebuild(struct vtd_cache *c, unsigned set)
{
	struct vtd_cset *s = &c->set[set];
	uint64_t all[VTD_CACHE_SUMS] = {0};

	if (!c->summarize)
		return;
	for (unsigned w = 0; w < c->ways; w++) {
		size_t slot = (size_t)set * c->ways + w;
		uint64_t t0 = vtd_cache_word(&c->tags[slot]), sum[VTD_CACHE_SUMS] = {0};

		if (!t0)
			continue;
		c->summarize(t0, c->data + slot * c->words, sum);
		for (int i = 0; i < VTD_CACHE_SUMS; i++)
			all[i] |= sum[i];
	}
	for (int i = 0; i < VTD_CACHE_SUMS; i++)
		__atomic_store_n(&s->sum[i], all[i], __ATOMIC_RELAXED);
}

/* Large-page counts (the IOTLB's size codes 1 and 2; 4 KiB entries are always probed). */
static void size_count(struct vtd_cache *c, uint64_t tag0, int delta)
{
	unsigned code = (unsigned)(tag0 & 3);

	if (c->count_sizes && tag0 && code)
		__atomic_fetch_add(&c->size[code], (uint32_t)delta, __ATOMIC_SEQ_CST);
}

/* The slot's content changes: its version moves (release: see the memo's check). A
 * version that wraps could match a memo made 2^32 changes ago: all memos go. */
static void bump_ver(struct vtd_cache *c, size_t slot)
{
	uint32_t *v = &c->ver[slot], n = __atomic_load_n(v, __ATOMIC_RELAXED) + 1;

	__atomic_store_n(v, n, __ATOMIC_RELEASE);
	if (VTD_UNLIKELY(n == 0))
		__atomic_fetch_add(c->sgen, 1, __ATOMIC_RELEASE);
}

/* The way to fill: the same tag (e.g. a translation refilled as dirty), else a free way,
 * else the least recently used one. */
static unsigned pick_victim(const struct vtd_cache *c, unsigned set, uint64_t tag0, uint64_t tag1)
{
	const uint64_t *tags = c->tags + (size_t)set * c->ways;
	const uint64_t *data = c->data + (size_t)set * c->ways * c->words;
	const uint64_t *stamps = c->stamp + (size_t)set * c->ways;
	uint64_t oldest = ~0ull;
	unsigned victim = 0;

	for (unsigned w = 0; w < c->ways; w++) {
		const uint64_t *e = data + (size_t)w * c->words;
		uint64_t t0 = vtd_cache_word(&tags[w]);

		if (t0 == tag0 && vtd_cache_word(&e[VTD_CACHE_TAG1]) == tag1)
			return w;
		uint64_t st = t0 ? vtd_cache_word(&stamps[w]) : 0;
		if (st < oldest) {
			victim = w;
			oldest = st;
		}
	}
	return victim;
}

struct vtd_fill vtd_cache_fill(struct vtd *vtd, struct vtd_cache *c, unsigned set, uint64_t tag0,
			       uint64_t tag1, const uint64_t *payload, uint64_t gen)
{
	struct vtd_cset *s = &c->set[set];
	uint64_t *tags = c->tags + (size_t)set * c->ways;
	uint64_t *data = c->data + (size_t)set * c->ways * c->words;
	struct vtd_fill f = {.slot = -1};
	uint32_t q = set_lock(s);

	/* Counted before the generation is checked: an invalidation that reads the count
	 * before this addition sees no entry of this size - and this fill then sees its
	 * generation and is dropped (cache.h). */
	size_count(c, tag0, 1);
	/* An invalidation ran since this walk began: its result may be stale already. */
	if (__atomic_load_n(&vtd->inv_gen, __ATOMIC_SEQ_CST) != gen) {
		size_count(c, tag0, -1);
		set_unlock(s, q);
		return f;
	}
	unsigned w = pick_victim(c, set, tag0, tag1);
	size_t slot = (size_t)set * c->ways + w;
	uint64_t *e = data + (size_t)w * c->words, old = vtd_cache_word(&tags[w]);
	uint64_t now = vtd_clock(vtd) + 1;

	f.evicted = old && !(old == tag0 && vtd_cache_word(&e[VTD_CACHE_TAG1]) == tag1);
	__atomic_store_n(&vtd->clock, now, __ATOMIC_RELAXED);
	size_count(c, old, -1);
	__atomic_store_n(&tags[w], tag0, __ATOMIC_RELEASE);
	__atomic_store_n(&e[VTD_CACHE_TAG1], tag1, __ATOMIC_RELEASE);
	__atomic_store_n(&c->stamp[slot], 2 * now, __ATOMIC_RELAXED);
	for (unsigned i = VTD_CACHE_HDR; i < c->words; i++)
		__atomic_store_n(&e[i], payload[i - VTD_CACHE_HDR], __ATOMIC_RELEASE);
	bump_ver(c, slot);
	f.ver = __atomic_load_n(&c->ver[slot], __ATOMIC_RELAXED);
	set_sum_or(c, s, tag0, e);
	set_unlock(s, q);
	f.slot = (int)slot;
	vtd_cache_count(c, fill);
	if (f.evicted)
		vtd_cache_count(c, evict);
	return f;
}

/* Drop the matching entries of a set whose lock is held. */
static unsigned drop_locked(struct vtd_cache *c, unsigned set, vtd_cache_match_fn match,
			    const void *arg)
{
	unsigned dropped = 0;

	for (unsigned w = 0; w < c->ways; w++) {
		size_t slot = (size_t)set * c->ways + w;
		uint64_t t0 = vtd_cache_word(&c->tags[slot]), *e = c->data + slot * c->words;

		if (!t0 || !match(arg, t0, e))
			continue;
		__atomic_store_n(&c->tags[slot], 0, __ATOMIC_RELEASE);
		bump_ver(c, slot);
		size_count(c, t0, -1);
		dropped++;
	}
	set_sum_rebuild(c, set);
	return dropped;
}

unsigned vtd_cache_drop_set(struct vtd_cache *c, unsigned set, vtd_cache_match_fn match,
			    const void *arg)
{
	struct vtd_cset *s = &c->set[set];
	uint32_t q = set_lock(s);
	unsigned dropped = drop_locked(c, set, match, arg);

	set_unlock(s, q);
	if (dropped)
		vtd_cache_count_n(c, inval, dropped);
	return dropped;
}

unsigned vtd_cache_drop_if(struct vtd_cache *c, int sum, uint64_t bits, vtd_cache_match_fn match,
			   const void *arg)
{
	unsigned dropped = 0;

	for (unsigned set = 0; set < c->sets; set++) {
		struct vtd_cset *s = &c->set[set];

		/* Settled first: a fill in progress is either visible now or will see the
		 * generation this invalidation moved (cache.h). */
		set_settle(s);
		if (sum >= 0 && !(__atomic_load_n(&s->sum[sum], __ATOMIC_RELAXED) & bits))
			continue;
		uint32_t q = set_lock(s);
		dropped += drop_locked(c, set, match, arg);
		set_unlock(s, q);
	}
	if (dropped)
		vtd_cache_count_n(c, inval, dropped);
	return dropped;
}

void vtd_cache_counters(const struct vtd_cache *c, struct vtd_cache_ctr *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < VTD_CACHE_CTR_SHARDS; i++) {
		out->hit += __atomic_load_n(&c->ctr[i].hit, __ATOMIC_RELAXED);
		out->miss += __atomic_load_n(&c->ctr[i].miss, __ATOMIC_RELAXED);
		out->fill += __atomic_load_n(&c->ctr[i].fill, __ATOMIC_RELAXED);
		out->evict += __atomic_load_n(&c->ctr[i].evict, __ATOMIC_RELAXED);
		out->inval += __atomic_load_n(&c->ctr[i].inval, __ATOMIC_RELAXED);
	}
}
