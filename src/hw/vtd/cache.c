// SPDX-License-Identifier: MIT
/*
 * The cache engine's writer side (digest 5.11): fills with LRU replacement, invalidation
 * of one set or of every set a summary names, and the counters. The lookup is inline in
 * cache.h.
 */
#include "cache.h"
#include "util/zalloc.h"

#include <stdlib.h>

int vtd_cache_init(struct vtd *vtd, struct vtd_cache *c, const struct vtd_cache_geom *geom,
		   unsigned payload, vtd_cache_sum_fn sum)
{
	memset(c, 0, sizeof(*c));
	c->sgen = &vtd->sgen;
	c->gen = &vtd->inv_gen;
	c->clock = &vtd->tclock; /* (the unit's caches set their own: caches.c) */
	if (!geom->sets)
		return 0;
	c->sets = geom->sets;
	c->ways = geom->ways;
	c->words = VTD_CACHE_HDR + payload;
	c->set_mask = geom->sets - 1;
	c->summarize = sum;
	c->set = zalloc_lines((size_t)c->sets * sizeof(*c->set));
	c->tags = calloc((size_t)c->sets * c->ways, sizeof(uint64_t));
	c->data = calloc((size_t)c->sets * c->ways * c->words, sizeof(uint64_t));
	c->ver = calloc((size_t)c->sets * c->ways, sizeof(*c->ver));
	c->stamp = calloc((size_t)c->sets * c->ways, sizeof(*c->stamp));
	if (!c->set || !c->tags || !c->data || !c->ver || !c->stamp) {
		vtd_cache_fini(c);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < c->sets; i++)
		c->set[i].free = c->ways == 64 ? ~0ull : (1ull << c->ways) - 1;
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

uint32_t vtd_set_lock_slow(struct vtd_cset *s)
{
	for (;;) {
		uint32_t q = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);

		if (!(q & 1) && __atomic_compare_exchange_n(&s->seq, &q, q + 1, false,
							    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
			return q + 1;
		sched_yield();
	}
}

/* Wait until no writer is in the set (its sequence even) and return the sequence. */
static uint32_t set_settle(const struct vtd_cset *s)
{
	uint32_t q;

	while ((q = __atomic_load_n(&s->seq, __ATOMIC_SEQ_CST)) & 1)
		sched_yield();
	return q;
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

void vtd_size_count(struct vtd_cache *c, uint64_t tag0, int delta)
{
	unsigned code = (unsigned)(tag0 & 3);

	if (c->count_sizes && tag0 && code)
		__atomic_fetch_add(&c->size[code], (uint32_t)delta, __ATOMIC_SEQ_CST);
}

void vtd_cache_ver_wrapped(struct vtd_cache *c)
{
	__atomic_fetch_add(c->sgen, 1, __ATOMIC_RELEASE);
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
		c->set[set].free |= 1ull << w; /* taken first by the next fill */
		vtd_cache_bump_ver(c, slot);
		vtd_size_count(c, t0, -1);
		dropped++;
	}
	if (dropped) /* otherwise the summary is what it was */
		set_sum_rebuild(c, set);
	return dropped;
}

/* Whether set `set` may hold an entry with a bit of `bits` in summary word `sum`: settled
 * first, so that a fill in progress is either visible now or will see the generation this
 * invalidation moved (cache.h). */
static bool set_may_hold(struct vtd_cache *c, unsigned set, int sum, uint64_t bits)
{
	struct vtd_cset *s = &c->set[set];

	set_settle(s);
	return sum < 0 || (__atomic_load_n(&s->sum[sum], __ATOMIC_RELAXED) & bits);
}

unsigned vtd_cache_drop_set(struct vtd_cache *c, unsigned set, int sum, uint64_t bits,
			    vtd_cache_match_fn match, const void *arg)
{
	struct vtd_cset *s = &c->set[set];

	if (sum >= 0 && !set_may_hold(c, set, sum, bits))
		return 0;
	uint32_t q = vtd_set_lock(s);
	unsigned dropped = drop_locked(c, set, match, arg);

	vtd_set_unlock(s, q);
	if (dropped)
		vtd_cache_count_n(c, inval, dropped);
	return dropped;
}

unsigned vtd_cache_drop_if(struct vtd_cache *c, int sum, uint64_t bits, vtd_cache_match_fn match,
			   const void *arg)
{
	unsigned dropped = 0;

	/* No fill ever set the bit: nothing in scope anywhere (cache.h, summaries). */
	if (!vtd_cache_may_hold(c, sum, bits))
		return 0;
	for (unsigned set = 0; set < c->sets; set++) {
		struct vtd_cset *s = &c->set[set];

		if (!set_may_hold(c, set, sum, bits))
			continue;
		uint32_t q = vtd_set_lock(s);
		dropped += drop_locked(c, set, match, arg);
		vtd_set_unlock(s, q);
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
