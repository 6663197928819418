// SPDX-License-Identifier: MIT
/*
 * The cache engine's writer side (digest 5.11): fills with LRU replacement, invalidation
 * by predicate, and the counters. The lookup is inline in cache.h.
 */
#include "cache.h"

#include <sched.h>
#include <stdlib.h>

_Thread_local unsigned vtd_cache_shard;

unsigned vtd_cache_shard_init(void)
{
	static unsigned next;

	/* Never 0: 0 means "not assigned yet". */
	vtd_cache_shard =
	    (__atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) % VTD_CACHE_CTR_SHARDS) + 1;
	return vtd_cache_shard;
}

int vtd_cache_init(struct vtd_cache *c, const struct vtd_cache_geom *geom, unsigned payload)
{
	memset(c, 0, sizeof(*c));
	if (!geom->sets)
		return 0;
	c->sets = geom->sets;
	c->ways = geom->ways;
	c->words = 2 + payload;
	c->set_mask = geom->sets - 1;
	c->set = calloc(c->sets, sizeof(*c->set));
	c->tags = calloc((size_t)c->sets * c->ways, sizeof(uint64_t));
	c->data = calloc((size_t)c->sets * c->ways * c->words, sizeof(uint64_t));
	if (!c->set || !c->tags || !c->data) {
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
	c->set = NULL;
	c->tags = NULL;
	c->data = NULL;
	c->sets = 0;
}

static void set_lock(struct vtd_cset *s)
{
	/* Sequentially consistent: a fill's flag and the invalidation generation it reads
	 * next pair with an invalidation's generation bump and the flags it reads next
	 * (vtd_cache_drop_if). */
	while (__atomic_exchange_n(&s->busy, 1, __ATOMIC_SEQ_CST))
		sched_yield();
	/* Odd: readers of this set retry until the writer is done. The entry stores that
	 * follow are releases, so a reader that sees one of them sees this too. */
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
}

static void set_unlock(struct vtd_cset *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
}

static void put(uint64_t *tag, uint64_t *e, unsigned words, uint64_t tag0, uint64_t tag1,
		uint64_t stamp, const uint64_t *payload)
{
	__atomic_store_n(tag, tag0, __ATOMIC_RELEASE);
	__atomic_store_n(&e[0], tag1, __ATOMIC_RELEASE);
	__atomic_store_n(&e[1], stamp, __ATOMIC_RELEASE);
	for (unsigned i = 2; i < words; i++)
		__atomic_store_n(&e[i], payload[i - 2], __ATOMIC_RELEASE);
}

int vtd_cache_fill(struct vtd *vtd, struct vtd_cache *c, unsigned set, uint64_t tag0, uint64_t tag1,
		   const uint64_t *payload, uint64_t gen)
{
	struct vtd_cset *s = &c->set[set];
	uint64_t *tags = c->tags + (size_t)set * c->ways;
	uint64_t *data = c->data + (size_t)set * c->ways * c->words;
	uint64_t oldest = ~0ull;
	int victim = -1;
	bool evict = false;

	set_lock(s);
	/* An invalidation ran since this walk began: its result may be stale already. One
	 * that begins after this check finds the set busy and waits for the entry. */
	if (__atomic_load_n(&vtd->inv_gen, __ATOMIC_SEQ_CST) != gen) {
		set_unlock(s);
		return -1;
	}
	/* The same translation again (e.g. now dirty), else a free way, else the LRU way. */
	for (unsigned w = 0; w < c->ways; w++) {
		uint64_t *e = data + (size_t)w * c->words;
		uint64_t t0 = vtd_cache_word(&tags[w]), st = vtd_cache_word(&e[1]);

		if (t0 == tag0 && vtd_cache_word(&e[0]) == tag1) {
			victim = (int)w;
			evict = false;
			break;
		}
		if (!t0)
			st = 0; /* free: preferred over any valid entry */
		if (victim < 0 || st < oldest) {
			victim = (int)w;
			oldest = st;
			evict = t0 != 0;
		}
	}
	uint64_t now = 2 * __atomic_add_fetch(&c->epoch, 1, __ATOMIC_RELAXED);
	put(&tags[victim], data + (size_t)victim * c->words, c->words, tag0, tag1, now, payload);
	set_unlock(s);
	struct vtd_cache_ctr *ctr = vtd_cache_ctr(c);
	vtd_cache_count(&ctr->fill);
	if (evict) {
		vtd_cache_count(&ctr->evict);
		/* The request cache may combine the entry that just left: it must go too. */
		__atomic_fetch_add(&vtd->fast_gen, 1, __ATOMIC_ACQ_REL);
	}
	return (int)(set * c->ways) + victim;
}

/* The entry in `slot` as the matchers see it: tag0, tag1, stamp, payload. */
static void view(const struct vtd_cache *c, size_t slot, uint64_t *v)
{
	const uint64_t *e = c->data + slot * c->words;

	v[0] = vtd_cache_word(&c->tags[slot]);
	for (unsigned i = 0; i < c->words; i++)
		v[1 + i] = vtd_cache_word(&e[i]);
}

unsigned vtd_cache_drop_if(struct vtd_cache *c, bool (*match)(const void *arg, const uint64_t *e),
			   const void *arg)
{
	uint64_t v[1 + 2 + VTD_CACHE_MAX_PAYLOAD];
	unsigned dropped = 0;

	for (unsigned set = 0; set < c->sets; set++) {
		struct vtd_cset *s = &c->set[set];
		bool locked = false;

		/*
		 * A fill under way may have checked the generation before this invalidation
		 * began (vtd_cache_inv_begin) and not written its entry yet: what the set
		 * shows now would miss it. Wait for the fill, then look under the flag. (The
		 * fill sets the flag before it checks the generation, this bumped the
		 * generation before it reads the flag: one of the two sees the other.)
		 */
		if (__atomic_load_n(&s->busy, __ATOMIC_SEQ_CST)) {
			set_lock(s);
			locked = true;
		}
		for (unsigned w = 0; w < c->ways; w++) {
			size_t slot = (size_t)set * c->ways + w;

			if (!vtd_cache_word(&c->tags[slot]))
				continue;
			view(c, slot, v);
			if (!match(arg, v))
				continue;
			if (!locked) {
				set_lock(s);
				locked = true;
				/* Look again under the flag: a fill may have replaced it. */
				view(c, slot, v);
				if (!v[0] || !match(arg, v))
					continue;
			}
			__atomic_store_n(&c->tags[slot], 0, __ATOMIC_RELEASE);
			dropped++;
		}
		if (locked)
			set_unlock(s);
	}
	if (dropped) {
		uint64_t *ctr = &vtd_cache_ctr(c)->inval;
		__atomic_store_n(ctr, __atomic_load_n(ctr, __ATOMIC_RELAXED) + dropped,
				 __ATOMIC_RELAXED);
	}
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
