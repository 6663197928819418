// SPDX-License-Identifier: MIT
/*
 * The ATC of a PCIe function (PCIe Base spec, Address Translation Services: the
 * "Address Translation Cache"). See atc.h for the organisation and the locking.
 */
#include "hw/pci/atc.h"

#include <errno.h>
#include <stdlib.h>

static unsigned ilog2_u32(uint32_t v)
{
	return 31u - (unsigned)__builtin_clz(v);
}

/* Set of the page number `page` of an entry of size 1 << shift. Fibonacci hashing spreads
 * both consecutive pages and large strides; the size is mixed in so that page 0 of every
 * size does not land in one set. */
static inline uint32_t atc_index(const struct atc *c, uint64_t page, unsigned shift)
{
	uint64_t h;

	if (!c->set_bits)
		return 0;
	h = (page ^ ((uint64_t)shift << 56)) * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> (64 - c->set_bits));
}

static inline struct atc_entry *atc_set(struct atc *c, uint64_t page, unsigned shift)
{
	return c->e + (size_t)atc_index(c, page, shift) * c->ways;
}

static inline uint64_t size_mask(unsigned shift)
{
	return (1ull << shift) - 1; /* shift <= 63 */
}

int atc_init(struct atc *c, uint32_t sets, uint32_t ways)
{
	*c = (struct atc){0};
	c->e = calloc((size_t)sets * ways, sizeof(*c->e));
	if (!c->e)
		return -ENOMEM;
	c->sets = sets;
	c->ways = ways;
	c->set_bits = ilog2_u32(sets);
	return 0;
}

void atc_fini(struct atc *c)
{
	free(c->e);
	c->e = NULL;
}

/* The tag comparison of a lookup: same PASID-present and privileged-mode bits, and the same
 * PASID unless the entry is a Global mapping (PCIe ATS: a translation with the Global bit
 * may be used for every PASID of the function). */
static inline bool key_match(const struct atc_entry *e, const struct atc_key *key)
{
	if ((e->tag & ~ATC_T_GLOBAL) != key->tag)
		return false;
	return !(key->tag & ATC_T_PASID) || (e->tag & ATC_T_GLOBAL) || e->pasid == key->pasid;
}

/* Plain loads and stores (no read-modify-write): exact with one device thread; with several
 * readers at once two uses may get the same stamp, which only blurs the LRU order. */
static void touch(struct atc *c, struct atc_entry *e)
{
	uint64_t now = __atomic_load_n(&c->clock, __ATOMIC_RELAXED) + 1;

	__atomic_store_n(&c->clock, now, __ATOMIC_RELAXED);
	__atomic_store_n(&e->lru, now, __ATOMIC_RELAXED);
}

struct atc_entry *atc_lookup(struct atc *c, const struct atc_key *key, uint64_t addr, bool use)
{
	for (uint64_t m = c->shifts; m; m &= m - 1) {
		unsigned s = (unsigned)__builtin_ctzll(m);
		uint64_t base = addr & ~size_mask(s);
		struct atc_entry *set = atc_set(c, addr >> s, s);

		for (uint32_t w = 0; w < c->ways; w++) {
			struct atc_entry *e = &set[w];

			if (e->shift == s && e->addr == base && key_match(e, key)) {
				if (use)
					touch(c, e);
				return e;
			}
		}
	}
	return NULL;
}

struct atc_entry *atc_lookup_size(struct atc *c, const struct atc_key *key, uint64_t addr,
				  unsigned shift, bool use)
{
	uint64_t base = addr & ~size_mask(shift);
	struct atc_entry *set;

	if (!(c->shifts & (1ull << shift)))
		return NULL;
	set = atc_set(c, addr >> shift, shift);
	for (uint32_t w = 0; w < c->ways; w++) {
		struct atc_entry *e = &set[w];

		if (e->shift == shift && e->addr == base && key_match(e, key)) {
			if (use)
				touch(c, e);
			return e;
		}
	}
	return NULL;
}

static void drop(struct atc *c, struct atc_entry *e)
{
	if (--c->nshift[e->shift] == 0)
		c->shifts &= ~(1ull << e->shift);
	c->used--;
	e->shift = 0;
	atc_bump_version(e);
}

static bool sel_match(const struct atc_entry *e, const struct atc_sel *sel)
{
	switch (sel->kind) {
	case ATC_SEL_ALL:
		return true;
	case ATC_SEL_NOPASID:
		return !(e->tag & ATC_T_PASID);
	case ATC_SEL_PASID:
		return (e->tag & (ATC_T_PASID | ATC_T_GLOBAL)) == ATC_T_PASID &&
		       e->pasid == sel->key.pasid;
	case ATC_SEL_ALL_PASID:
		return e->tag & ATC_T_PASID;
	case ATC_SEL_KEY:
		return key_match(e, &sel->key);
	}
	return false;
}

/* Walk every slot: for large ranges (or many sizes) this is cheaper than probing. */
static uint64_t remove_scan(struct atc *c, const struct atc_sel *sel, uint64_t base, uint64_t last)
{
	uint64_t n = 0;

	for (size_t i = 0; i < (size_t)c->sets * c->ways; i++) {
		struct atc_entry *e = &c->e[i];

		if (!e->shift || e->addr > last || base > e->addr + size_mask(e->shift))
			continue;
		if (sel_match(e, sel)) {
			drop(c, e);
			n++;
		}
	}
	return n;
}

/* Visit, for each present size, the sets of the pages of that size the range touches. */
static uint64_t remove_probe(struct atc *c, const struct atc_sel *sel, uint64_t shifts,
			     uint64_t base, uint64_t last)
{
	uint64_t n = 0;

	for (; shifts; shifts &= shifts - 1) {
		unsigned s = (unsigned)__builtin_ctzll(shifts);
		uint64_t first = base >> s, end = last >> s;

		for (uint64_t p = first;; p++) {
			struct atc_entry *set = atc_set(c, p, s);

			for (uint32_t w = 0; w < c->ways; w++) {
				struct atc_entry *e = &set[w];

				if (e->shift == s && e->addr == (p << s) && sel_match(e, sel)) {
					drop(c, e);
					n++;
				}
			}
			if (p == end)
				break;
		}
	}
	return n;
}

uint64_t atc_remove(struct atc *c, const struct atc_sel *sel, uint64_t base, uint64_t size)
{
	uint64_t shifts = c->shifts, probes = 0, last;

	if (size == 0) {
		base = 0;
		last = UINT64_MAX;
	} else {
		last = base + (size - 1); /* base + size may be exactly 2^64 */
		if (last < base)
			last = UINT64_MAX;
	}
	if (!c->used)
		return 0;
	for (uint64_t m = shifts; m; m &= m - 1) {
		unsigned s = (unsigned)__builtin_ctzll(m);

		probes += (last >> s) - (base >> s) + 1;
		if (probes > c->sets)
			return remove_scan(c, sel, base, last);
	}
	return remove_probe(c, sel, shifts, base, last);
}

struct atc_entry *atc_insert(struct atc *c, const struct atc_key *key, bool global, uint64_t addr,
			     unsigned shift, uint64_t pa, uint8_t perm, bool *evicted)
{
	struct atc_sel sel = {.kind = ATC_SEL_KEY, .key = *key};
	struct atc_entry *set, *victim = NULL;

	*evicted = false;
	/* An older entry the key would still find (a read-only one being replaced after a
	 * write, or a smaller one inside a new large page) would shadow the new completion. */
	atc_remove(c, &sel, addr, 1ull << shift);

	set = atc_set(c, addr >> shift, shift);
	for (uint32_t w = 0; w < c->ways; w++) {
		struct atc_entry *e = &set[w];

		if (!e->shift) {
			victim = e;
			break;
		}
		if (!victim || __atomic_load_n(&e->lru, __ATOMIC_RELAXED) <
				   __atomic_load_n(&victim->lru, __ATOMIC_RELAXED))
			victim = e;
	}
	if (victim->shift) {
		*evicted = true;
		drop(c, victim);
	}
	victim->addr = addr;
	victim->pa = pa;
	victim->pasid = (key->tag & ATC_T_PASID) ? key->pasid : 0;
	victim->tag = key->tag | (global && (key->tag & ATC_T_PASID) ? ATC_T_GLOBAL : 0);
	victim->perm = perm;
	victim->shift = (uint8_t)shift;
	atc_bump_version(victim);
	touch(c, victim);
	c->nshift[shift]++;
	c->shifts |= 1ull << shift;
	c->used++;
	return victim;
}
