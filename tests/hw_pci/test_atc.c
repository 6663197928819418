// SPDX-License-Identifier: MIT
/*
 * The ATC on its own, against a brute-force oracle: thousands of random fills, lookups and
 * removals (every selection, ranges from 4 KiB to the whole space, at the top of the address
 * space), checking what each removal takes, what each lookup finds, and the bookkeeping
 * (present sizes, entry count) after every step.
 */
#include "check.h"

#include "hw/pci/atc.h"

#include <softiommu/pci.h>
#include <string.h>

#define SETS 8
#define WAYS 4
#define N    (SETS * WAYS)

static const unsigned shifts[] = {12, 12, 12, 13, 14, 16, 21, 21, 30, 63};

/* The oracle's own statement of the tag rules (atc.h). */
static bool o_key_match(const struct atc_entry *e, const struct atc_key *k)
{
	bool e_pasid = e->tag & ATC_T_PASID, k_pasid = k->tag & ATC_T_PASID;

	if (e_pasid != k_pasid || !!(e->tag & ATC_T_PRIV) != !!(k->tag & ATC_T_PRIV))
		return false;
	if (!k_pasid)
		return true;
	return (e->tag & ATC_T_GLOBAL) || e->pasid == k->pasid;
}

static bool o_sel(const struct atc_entry *e, const struct atc_sel *s)
{
	switch (s->kind) {
	case ATC_SEL_ALL:
		return true;
	case ATC_SEL_NOPASID:
		return !(e->tag & ATC_T_PASID);
	case ATC_SEL_PASID:
		return (e->tag & ATC_T_PASID) && !(e->tag & ATC_T_GLOBAL) &&
		       e->pasid == s->key.pasid;
	case ATC_SEL_ALL_PASID:
		return e->tag & ATC_T_PASID;
	case ATC_SEL_KEY:
		return o_key_match(e, &s->key);
	}
	return false;
}

/* Inclusive-range overlap, immune to 2^64 overflow. */
static bool o_overlap(const struct atc_entry *e, uint64_t base, uint64_t size)
{
	uint64_t e_last = e->addr + ((1ull << e->shift) - 1);
	uint64_t last = size ? base + (size - 1) : UINT64_MAX;

	if (!size)
		base = 0;
	return e->addr <= last && base <= e_last;
}

static int check_books(const struct atc *c)
{
	uint64_t used = 0, mask = 0;
	uint32_t n[64] = {0};

	for (int i = 0; i < N; i++) {
		const struct atc_entry *e = &c->e[i];

		if (!e->shift)
			continue;
		CHECK_RET(e->shift >= 12 && e->shift <= 63);
		CHECK_RET(!(e->addr & ((1ull << e->shift) - 1)));
		used++;
		mask |= 1ull << e->shift;
		n[e->shift]++;
	}
	CHECK_RET(used == c->used);
	CHECK_RET(mask == c->shifts);
	CHECK_RET(memcmp(n, c->nshift, sizeof(n)) == 0);
	return 0;
}

static struct atc_key rand_key(uint64_t *seed)
{
	struct atc_key k = {0};
	unsigned r = (unsigned)check_rand(seed);

	if (r & 1) {
		k.tag |= ATC_T_PASID;
		k.pasid = (r >> 4) % 3 + 1;
	}
	if ((r & 6) == 6)
		k.tag |= ATC_T_PRIV;
	return k;
}

/* Mostly low addresses (lots of overlap), sometimes the top of the space. */
static uint64_t rand_addr(uint64_t *seed)
{
	uint64_t r = check_rand(seed);
	uint64_t a = (r % 96) << 12;

	return (r >> 60) == 0 ? ~0ull - a : a;
}

static void test_random_against_oracle(void)
{
	struct atc c;
	uint64_t seed = 0x5eed;
	uint64_t versions[N];

	CHECK_EQ(atc_init(&c, SETS, WAYS), 0);
	for (int step = 0; step < 40000; step++) {
		unsigned op = (unsigned)(check_rand(&seed) % 8);

		if (op < 4) { /* fill */
			struct atc_key k = rand_key(&seed);
			unsigned shift = shifts[check_rand(&seed) % 10];
			uint64_t addr = rand_addr(&seed) & ~((1ull << shift) - 1);
			bool global = check_rand(&seed) % 4 == 0, ev;
			struct atc_entry *e;

			e = atc_insert(&c, &k, global, addr, shift, addr ^ 0x1000000000ull,
				       PCI_PERM_R, &ev);
			CHECK(e && e->shift == shift && e->addr == addr);
			/* The key finds the new entry at its base (nothing smaller shadows it). */
			if (atc_lookup(&c, &k, addr, false) != e) {
				fprintf(stderr, "step %d: fill not found\n", step);
				CHECK(0);
			}
		} else if (op < 6) { /* lookup */
			struct atc_key k = rand_key(&seed);
			uint64_t addr = rand_addr(&seed) | (check_rand(&seed) & 0xfff);
			struct atc_entry *got = atc_lookup(&c, &k, addr, true);
			unsigned best = 64;

			for (int i = 0; i < N; i++) {
				struct atc_entry *e = &c.e[i];

				if (e->shift && o_key_match(e, &k) && o_overlap(e, addr, 1) &&
				    e->shift < best)
					best = e->shift;
			}
			if (best == 64) {
				CHECK(got == NULL);
			} else {
				CHECK(got != NULL);
				CHECK_EQ(got->shift, best);
				CHECK(o_key_match(got, &k) && o_overlap(got, addr, 1));
			}
		} else { /* remove */
			struct atc_sel s = {.kind = (enum atc_sel_kind)(check_rand(&seed) % 5)};
			unsigned r = (unsigned)(check_rand(&seed) % 24);
			uint64_t size = r == 23 ? 0 : 1ull << (12 + r % 20);
			uint64_t base = rand_addr(&seed) & (size ? ~(size - 1) : 0);
			bool doomed[N];
			uint64_t expect = 0, got;

			s.key = rand_key(&seed);
			for (int i = 0; i < N; i++) {
				struct atc_entry *e = &c.e[i];

				versions[i] = e->version;
				doomed[i] = e->shift && o_sel(e, &s) && o_overlap(e, base, size);
				expect += doomed[i];
			}
			got = atc_remove(&c, &s, base, size);
			if (got != expect)
				fprintf(stderr, "step %d: removed %llu, expected %llu\n", step,
					(unsigned long long)got, (unsigned long long)expect);
			CHECK_EQ(got, expect);
			for (int i = 0; i < N; i++) {
				if (doomed[i])
					CHECK(c.e[i].shift == 0 && c.e[i].version != versions[i]);
				else
					CHECK_EQ(c.e[i].version, versions[i]);
			}
		}
		if (check_books(&c)) {
			fprintf(stderr, "step %d: bookkeeping\n", step);
			CHECK(0);
		}
	}
	atc_fini(&c);
}

/* A full set evicts its least recently used entry; lookups refresh. */
static void test_lru_order(void)
{
	struct atc c;
	struct atc_key k = {0};
	struct atc_entry *a, *b, *d;
	bool ev;

	CHECK_EQ(atc_init(&c, 1, 3), 0);
	a = atc_insert(&c, &k, false, 0x1000, 12, 0, PCI_PERM_R, &ev);
	CHECK(!ev);
	b = atc_insert(&c, &k, false, 0x2000, 12, 0, PCI_PERM_R, &ev);
	atc_insert(&c, &k, false, 0x3000, 12, 0, PCI_PERM_R, &ev);
	CHECK(atc_lookup(&c, &k, 0x1000, true) == a);
	CHECK(atc_lookup(&c, &k, 0x2000, false) == b); /* no refresh */
	d = atc_insert(&c, &k, false, 0x4000, 12, 0, PCI_PERM_R, &ev);
	CHECK(ev);
	CHECK(d == b); /* b was the oldest use */
	CHECK(atc_lookup(&c, &k, 0x2000, false) == NULL);
	CHECK(atc_lookup(&c, &k, 0x1000, false) == a);
	CHECK_EQ(c.used, 3);
	atc_fini(&c);
}

int main(void)
{
	RUN(test_random_against_oracle);
	RUN(test_lru_order);
	return CHECK_DONE();
}
