// SPDX-License-Identifier: MIT
/*
 * The IOVA range tree: a red-black tree of non-overlapping [pfn_lo, pfn_hi] ranges ordered
 * by pfn_lo, with parent links so that the allocator can walk gaps downwards from any node.
 * The rebalancing is the textbook one (insert: recolour or rotate up the tree; erase:
 * splice, then push the missing black up), with a per-tree sentinel for missing children.
 * The caller holds the domain's tree lock for everything here.
 */
#include "dma/iova_internal.h"

#include <stdio.h>

void iova_tree_init(struct iova_tree *t)
{
	t->nil.left = t->nil.right = t->nil.parent = &t->nil;
	t->nil.red = false;
	t->nil.pfn_lo = t->nil.pfn_hi = 0;
	t->root = &t->nil;
	t->count = 0;
}

static struct iova_node *iova_tree_min(const struct iova_tree *t, struct iova_node *n)
{
	while (n->left != &t->nil)
		n = n->left;
	return n;
}

static struct iova_node *iova_tree_max(const struct iova_tree *t, struct iova_node *n)
{
	while (n->right != &t->nil)
		n = n->right;
	return n;
}

struct iova_node *iova_tree_first(const struct iova_tree *t)
{
	return t->root == &t->nil ? NULL : iova_tree_min(t, t->root);
}

struct iova_node *iova_tree_prev(const struct iova_tree *t, const struct iova_node *n)
{
	const struct iova_node *p;

	if (n->left != &t->nil)
		return iova_tree_max(t, n->left);
	for (p = n->parent; p != &t->nil && n == p->left; p = p->parent)
		n = p;
	return p == &t->nil ? NULL : (struct iova_node *)p;
}

struct iova_node *iova_tree_next(const struct iova_tree *t, const struct iova_node *n)
{
	const struct iova_node *p;

	if (n->right != &t->nil)
		return iova_tree_min(t, n->right);
	for (p = n->parent; p != &t->nil && n == p->right; p = p->parent)
		n = p;
	return p == &t->nil ? NULL : (struct iova_node *)p;
}

/* Replace x in its parent by its right child y; x becomes y's left child. */
static void iova_rotate_left(struct iova_tree *t, struct iova_node *x)
{
	struct iova_node *y = x->right;

	x->right = y->left;
	if (y->left != &t->nil)
		y->left->parent = x;
	y->parent = x->parent;
	if (x->parent == &t->nil)
		t->root = y;
	else if (x == x->parent->left)
		x->parent->left = y;
	else
		x->parent->right = y;
	y->left = x;
	x->parent = y;
}

static void iova_rotate_right(struct iova_tree *t, struct iova_node *x)
{
	struct iova_node *y = x->left;

	x->left = y->right;
	if (y->right != &t->nil)
		y->right->parent = x;
	y->parent = x->parent;
	if (x->parent == &t->nil)
		t->root = y;
	else if (x == x->parent->right)
		x->parent->right = y;
	else
		x->parent->left = y;
	y->right = x;
	x->parent = y;
}

/* z is red and may have a red parent: recolour upwards, or rotate once or twice. */
static void iova_insert_fixup(struct iova_tree *t, struct iova_node *z)
{
	while (z->parent->red) {
		struct iova_node *p = z->parent, *g = p->parent;
		bool left = p == g->left;
		struct iova_node *u = left ? g->right : g->left;

		if (u->red) {
			p->red = u->red = false;
			g->red = true;
			z = g;
			continue;
		}
		if (z == (left ? p->right : p->left)) {
			/* Inner grandchild: turn it into an outer one first. */
			z = p;
			if (left)
				iova_rotate_left(t, z);
			else
				iova_rotate_right(t, z);
			p = z->parent;
		}
		p->red = false;
		g->red = true;
		if (left)
			iova_rotate_right(t, g);
		else
			iova_rotate_left(t, g);
	}
	t->root->red = false;
}

static void iova_tree_link(struct iova_tree *t, struct iova_node *n, struct iova_node *parent,
			   bool left)
{
	n->parent = parent;
	n->left = n->right = &t->nil;
	n->red = true;
	if (parent == &t->nil)
		t->root = n;
	else if (left)
		parent->left = n;
	else
		parent->right = n;
	t->count++;
	iova_insert_fixup(t, n);
}

void iova_tree_insert(struct iova_tree *t, struct iova_node *n)
{
	struct iova_node *parent = &t->nil, *cur = t->root;
	bool left = false;

	while (cur != &t->nil) {
		parent = cur;
		left = n->pfn_lo < cur->pfn_lo;
		cur = left ? cur->left : cur->right;
	}
	iova_tree_link(t, n, parent, left);
}

void iova_tree_insert_before(struct iova_tree *t, struct iova_node *n, struct iova_node *succ)
{
	if (succ->left == &t->nil)
		iova_tree_link(t, n, succ, true);
	else
		iova_tree_link(t, n, iova_tree_max(t, succ->left), false);
}

/* Put v where u hangs (v may be the sentinel, whose parent link the fix-up then uses). */
static void iova_transplant(struct iova_tree *t, struct iova_node *u, struct iova_node *v)
{
	if (u->parent == &t->nil)
		t->root = v;
	else if (u == u->parent->left)
		u->parent->left = v;
	else
		u->parent->right = v;
	v->parent = u->parent;
}

/* x carries an extra black: move it up, or absorb it by rotating a red sibling's side. */
static void iova_erase_fixup(struct iova_tree *t, struct iova_node *x)
{
	while (x != t->root && !x->red) {
		struct iova_node *p = x->parent;
		bool left = x == p->left;
		struct iova_node *w = left ? p->right : p->left;

		if (w->red) {
			w->red = false;
			p->red = true;
			if (left)
				iova_rotate_left(t, p);
			else
				iova_rotate_right(t, p);
			w = left ? p->right : p->left;
		}
		if (!w->left->red && !w->right->red) {
			w->red = true;
			x = p;
			continue;
		}
		if (left && !w->right->red) {
			w->left->red = false;
			w->red = true;
			iova_rotate_right(t, w);
			w = p->right;
		} else if (!left && !w->left->red) {
			w->right->red = false;
			w->red = true;
			iova_rotate_left(t, w);
			w = p->left;
		}
		w->red = p->red;
		p->red = false;
		if (left) {
			w->right->red = false;
			iova_rotate_left(t, p);
		} else {
			w->left->red = false;
			iova_rotate_right(t, p);
		}
		x = t->root;
	}
	x->red = false;
}

void iova_tree_erase(struct iova_tree *t, struct iova_node *z)
{
	struct iova_node *y = z, *x;
	bool removed_red = y->red;

	if (z->left == &t->nil) {
		x = z->right;
		iova_transplant(t, z, z->right);
	} else if (z->right == &t->nil) {
		x = z->left;
		iova_transplant(t, z, z->left);
	} else {
		/* Two children: z's successor y takes z's place and colour. */
		y = iova_tree_min(t, z->right);
		removed_red = y->red;
		x = y->right;
		if (y->parent == z) {
			x->parent = y;
		} else {
			iova_transplant(t, y, y->right);
			y->right = z->right;
			y->right->parent = y;
		}
		iova_transplant(t, z, y);
		y->left = z->left;
		y->left->parent = y;
		y->red = z->red;
	}
	t->count--;
	if (!removed_red)
		iova_erase_fixup(t, x);
	t->nil.parent = &t->nil;
}

struct iova_node *iova_tree_find(const struct iova_tree *t, uint64_t pfn)
{
	struct iova_node *n = t->root;

	while (n != &t->nil) {
		if (pfn < n->pfn_lo)
			n = n->left;
		else if (pfn > n->pfn_hi)
			n = n->right;
		else
			return n;
	}
	return NULL;
}

struct iova_node *iova_tree_above(const struct iova_tree *t, uint64_t pfn)
{
	struct iova_node *n = t->root, *best = NULL;

	while (n != &t->nil) {
		if (n->pfn_lo > pfn) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

struct iova_node *iova_tree_reaching(const struct iova_tree *t, uint64_t pfn)
{
	struct iova_node *n = t->root, *best = NULL;

	/* Ranges do not overlap, so pfn_hi grows with pfn_lo and one descent suffices. */
	while (n != &t->nil) {
		if (n->pfn_hi >= pfn) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

/* Black height of the subtree, or -1 if a rule is broken inside it. */
static long iova_check_subtree(const struct iova_tree *t, const struct iova_node *n,
			       const struct iova_node *parent, long *count)
{
	long lh, rh;

	if (n == &t->nil)
		return n->red ? -1 : 1;
	if (n->parent != parent || n->pfn_lo > n->pfn_hi) {
		fprintf(stderr, "iova tree: bad parent link or range at %#llx\n",
			(unsigned long long)n->pfn_lo);
		return -1;
	}
	if (n->red && (n->left->red || n->right->red)) {
		fprintf(stderr, "iova tree: red node %#llx with a red child\n",
			(unsigned long long)n->pfn_lo);
		return -1;
	}
	(*count)++;
	lh = iova_check_subtree(t, n->left, n, count);
	rh = iova_check_subtree(t, n->right, n, count);
	if (lh < 0 || rh < 0 || lh != rh) {
		if (lh >= 0 && rh >= 0)
			fprintf(stderr, "iova tree: black heights %ld and %ld under %#llx\n", lh,
				rh, (unsigned long long)n->pfn_lo);
		return -1;
	}
	return lh + !n->red;
}

long iova_tree_check(const struct iova_tree *t)
{
	long count = 0;
	const struct iova_node *prev = NULL;

	if (t->root->red || t->nil.red) {
		fprintf(stderr, "iova tree: red root or sentinel\n");
		return -1;
	}
	if (iova_check_subtree(t, t->root, &t->nil, &count) < 0)
		return -1;
	for (const struct iova_node *n = iova_tree_first(t); n; n = iova_tree_next(t, n)) {
		if (prev && prev->pfn_hi >= n->pfn_lo) {
			fprintf(stderr,
				"iova tree: [%#llx, %#llx] overlaps or precedes [%#llx, %#llx]\n",
				(unsigned long long)prev->pfn_lo, (unsigned long long)prev->pfn_hi,
				(unsigned long long)n->pfn_lo, (unsigned long long)n->pfn_hi);
			return -1;
		}
		prev = n;
	}
	if ((uint64_t)count != t->count) {
		fprintf(stderr, "iova tree: %ld nodes, count says %llu\n", count,
			(unsigned long long)t->count);
		return -1;
	}
	return count;
}
