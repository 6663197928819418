// SPDX-License-Identifier: MIT
/*
 * The IOVA range tree on its own: random inserts and erases of disjoint ranges, with the
 * red-black invariants checked as they go and every lookup compared with a plain array.
 */
#include "check.h"

#include "dma/iova_internal.h"

#include <string.h>

#define SLOTS 1024 /* slot i may hold the range [8i, 8i + len) with len 1..8 */

static struct iova_node nodes[SLOTS];
static bool present[SLOTS];

/* Brute force: lowest present slot whose range satisfies a predicate. */
static struct iova_node *oracle_above(uint64_t pfn)
{
	for (int i = 0; i < SLOTS; i++)
		if (present[i] && nodes[i].pfn_lo > pfn)
			return &nodes[i];
	return NULL;
}

static struct iova_node *oracle_reaching(uint64_t pfn)
{
	for (int i = 0; i < SLOTS; i++)
		if (present[i] && nodes[i].pfn_hi >= pfn)
			return &nodes[i];
	return NULL;
}

static struct iova_node *oracle_find(uint64_t pfn)
{
	int i = (int)(pfn / 8);

	if (i < SLOTS && present[i] && pfn <= nodes[i].pfn_hi)
		return &nodes[i];
	return NULL;
}

static void test_random_insert_erase(void)
{
	struct iova_tree t;
	uint64_t seed = 42;
	long live = 0;

	iova_tree_init(&t);
	memset(present, 0, sizeof(present));
	CHECK(iova_tree_first(&t) == NULL);
	CHECK_EQ(iova_tree_check(&t), 0);
	for (int step = 0; step < 20000; step++) {
		int i = (int)(check_rand(&seed) % SLOTS);

		if (!present[i]) {
			nodes[i].pfn_lo = 8ull * i;
			nodes[i].pfn_hi = 8ull * i + check_rand(&seed) % 8;
			/* Both insertion paths: by key, and before the known successor. */
			struct iova_node *succ = oracle_above(nodes[i].pfn_hi);

			if (succ && (step & 1))
				iova_tree_insert_before(&t, &nodes[i], succ);
			else
				iova_tree_insert(&t, &nodes[i]);
			present[i] = true;
			live++;
		} else {
			iova_tree_erase(&t, &nodes[i]);
			present[i] = false;
			live--;
		}
		if (step % 97 == 0)
			CHECK_EQ(iova_tree_check(&t), live);
		uint64_t probe = check_rand(&seed) % (8ull * SLOTS + 16);

		CHECK(iova_tree_find(&t, probe) == oracle_find(probe));
		CHECK(iova_tree_above(&t, probe) == oracle_above(probe));
		CHECK(iova_tree_reaching(&t, probe) == oracle_reaching(probe));
	}
	CHECK_EQ(iova_tree_check(&t), live);
	/* In-order walks both ways visit exactly the present slots. */
	struct iova_node *n = iova_tree_first(&t), *last = NULL;
	for (int i = 0; i < SLOTS; i++) {
		if (!present[i])
			continue;
		CHECK(n == &nodes[i]);
		CHECK(iova_tree_prev(&t, n) == last);
		last = n;
		n = iova_tree_next(&t, n);
	}
	CHECK(n == NULL);
	/* Erase everything in a scrambled order. */
	for (int j = 0; j < SLOTS; j++) {
		int i = (j * 1237) % SLOTS;

		if (present[i]) {
			iova_tree_erase(&t, &nodes[i]);
			present[i] = false;
			live--;
			if (j % 131 == 0)
				CHECK_EQ(iova_tree_check(&t), live);
		}
	}
	CHECK_EQ(live, 0);
	CHECK_EQ(iova_tree_check(&t), 0);
	CHECK(iova_tree_first(&t) == NULL);
}

/* Sequential inserts (what top-down allocation does) keep the tree balanced. */
static void test_sequential_stays_balanced(void)
{
	struct iova_tree t;

	iova_tree_init(&t);
	for (int i = SLOTS - 1; i >= 0; i--) {
		nodes[i].pfn_lo = nodes[i].pfn_hi = (uint64_t)i;
		iova_tree_insert(&t, &nodes[i]);
	}
	CHECK_EQ(iova_tree_check(&t), SLOTS);
	/* Depth of a red-black tree is at most 2 log2(n + 1). */
	int depth = 0;
	for (struct iova_node *n = t.root; n != &t.nil; n = n->left)
		depth++;
	CHECK(depth <= 2 * 11);
	for (int i = 0; i < SLOTS; i += 2)
		iova_tree_erase(&t, &nodes[i]);
	CHECK_EQ(iova_tree_check(&t), SLOTS / 2);
}

int main(void)
{
	RUN(test_random_insert_erase);
	RUN(test_sequential_stays_balanced);
	return CHECK_DONE();
}
