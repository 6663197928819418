/* SPDX-License-Identifier: MIT */
/*
 * The page-table walker, written once for every format.
 *
 * A format's file defines PT_FMT (its `static const struct pt_fmt`) and PT_FN(name) (a
 * prefix for the functions made here), then includes this file. Because PT_FMT is a
 * compile-time constant, the compiler turns every encoder call into inline code: one
 * algorithm, no indirect call per entry. This is how Linux's generic page tables are built.
 *
 * Algorithms (geometry in pt_internal.h):
 *   map    - walk down to the highest level whose page fits the alignment of iova and pa
 *            and the remaining length, installing missing tables; write a run of leaves
 *            in that table; walk down again for the next run.
 *   unmap  - split any leaf straddling the end of the range first, then walk the range:
 *            wholly covered leaves are cleared, wholly covered tables are unlinked and
 *            handed to the gather, a leaf straddling the start is split on the way.
 *   lookup - one descent.
 * Concurrency rules are in include/softiommu/pgtable.h.
 */
#ifndef PT_FMT
#error "define PT_FMT and PT_FN before including pt_walk.h"
#endif

/* Where the table an entry points to lives, checked to be a page of memory. */
static inline int PT_FN(next_table)(struct pt_io io, uint64_t e, uint64_t *t)
{
	*t = PT_FMT.table_addr(e);
	return pt_table_ok(io, *t) ? 0 : -EFAULT;
}

/*
 * Install a new, zeroed table in the empty entry at `epa` (*e: the value read there). The
 * page is complete before the compare-and-swap publishes it, so a concurrent walker never
 * follows a pointer to an unfinished table. A thread that loses the race frees its page,
 * which nobody has seen, and uses the winner's. On success *e is the present entry.
 */
__attribute__((noinline)) static int PT_FN(install_table)(struct pt_table *pt, uint64_t epa,
							  uint64_t *e)
{
	const struct pt_io io = pt_io(pt);
	uint64_t page, te;
	int ret;

	ret = mem_alloc_page(pt->alloc, &page);
	if (ret)
		return ret;
	te = PT_FMT.mk_table(page, pt->flags);
	for (;;) {
		ret = pt_cas(io, epa, e, te);
		if (ret == 0) {
			*e = te;
			return 0;
		}
		if (ret != -EAGAIN || PT_FMT.present(*e))
			break;
	}
	mem_free_page(pt->alloc, page);
	return ret == -EAGAIN ? 0 : ret;
}

/* Free a table and every table below it (tables that were never published, or destroy). */
static void PT_FN(free_tree)(struct pt_table *pt, unsigned level, uint64_t t)
{
	const struct pt_io io = pt_io(pt);
	uint64_t e, child;

	for (unsigned i = 0; level > 1 && i < PT_ENTRIES; i++) {
		if (pt_ld(io, t + 8 * i, &e) || !PT_FMT.present(e) || PT_FMT.is_leaf(e, level))
			continue;
		if (PT_FN(next_table)(io, e, &child) == 0)
			PT_FN(free_tree)(pt, level - 1, child);
	}
	mem_free_page(pt->alloc, t);
}

static void PT_FN(free_all)(struct pt_table *pt)
{
	PT_FN(free_tree)(pt, pt->levels, pt->root);
}

/* ---- map ------------------------------------------------------------------------------ */

/*
 * Walk down to where the leaves for iova go: the first empty slot at a level in `fit` (see
 * pt_fit_mask()). A slot already holding a table (perhaps one that earlier unmaps emptied)
 * is walked into; missing tables on the way are installed.
 */
__attribute__((always_inline)) static inline int PT_FN(map_descend)(struct pt_table *pt,
								    uint64_t iova, unsigned fit,
								    unsigned *level_out,
								    uint64_t *table_out)
{
	const struct pt_io io = pt_io(pt);
	uint64_t t = pt->root, e, epa;
	unsigned level;
	int ret;

	for (level = pt->levels;; level--) {
		epa = t + 8 * pt_index(iova, level);
		ret = pt_ld(io, epa, &e);
		if (ret)
			return ret;
		if (!PT_FMT.present(e)) {
			if (fit & (1u << level)) /* level 1 always is: the walk ends */
				break;
			/* A copy: e itself stays in a register on the common path. */
			uint64_t cur = e;

			ret = PT_FN(install_table)(pt, epa, &cur);
			if (ret)
				return ret;
			e = cur;
		} else if (PT_FMT.is_leaf(e, level)) {
			return -EEXIST;
		}
		ret = PT_FN(next_table)(io, e, &t);
		if (ret)
			return ret;
	}
	*level_out = level;
	*table_out = t;
	return 0;
}

static int PT_FN(unmap_level)(struct pt_table *pt, unsigned level, uint64_t t, uint64_t iova,
			      uint64_t end, struct pt_gather *g, uint64_t *unmapped);

/*
 * Map [iova, iova + size) -> pa with leaves of these attributes (from the prot): runs of
 * leaves, table by table; on an error the leaves written so far are cleared again.
 */
static int PT_FN(map_range)(struct pt_table *pt, uint64_t iova, uint64_t pa, uint64_t size,
			    uint64_t attrs)
{
	const struct pt_io io = pt_io(pt);
	uint64_t start = iova, end = iova + size, t, pg, e = 0, undone = 0;
	unsigned level, idx;
	int ret;

	while (iova < end) {
		ret =
		    PT_FN(map_descend)(pt, iova, pt_fit_mask(pt, iova, pa, end - iova), &level, &t);
		if (ret)
			goto undo;
		pg = pt_span(level);
		idx = pt_index(iova, level);
		/*
		 * A run of leaves in this table. It ends with the table, when the rest is
		 * shorter than this page size, or at a used slot; the next descent decides
		 * what a used slot means (-EEXIST, or a table to walk into).
		 */
		do {
			ret = pt_st(io, t + 8 * idx, PT_FMT.mk_leaf(attrs, pa, level));
			if (ret)
				goto undo;
			iova += pg;
			pa += pg;
			if (++idx == PT_ENTRIES || end - iova < pg)
				break;
			ret = pt_ld(io, t + 8 * idx, &e);
			if (ret)
				goto undo;
		} while (!PT_FMT.present(e));
	}
	return 0;
undo:
	/* Clear what this call wrote (its own aligned leaves: no split, no table freed). */
	if (iova > start)
		PT_FN(unmap_level)(pt, pt->levels, pt->root, start, iova, NULL, &undone);
	return ret;
}

/*
 * One level of map_4k()'s descent, `level` a constant (so a format's is_leaf() test folds
 * away where leaves cannot be, levels 4 and 5): 0 and *t = the next table, 1 a table is
 * missing (map_range() installs it), or map_range()'s error for what is found there.
 */
__attribute__((always_inline)) static inline int PT_FN(map_4k_step)(const uint8_t *base,
								    uint64_t table_max,
								    uint64_t iova, unsigned level,
								    uint64_t *t)
{
	uint64_t e = __atomic_load_n(
	    (const uint64_t *)(const void *)(base + *t) + pt_index(iova, level), __ATOMIC_ACQUIRE);

	if (!PT_FMT.present(e))
		return 1;
	if (PT_FMT.is_leaf(e, level))
		return -EEXIST;
	*t = PT_FMT.table_addr(e);
	return *t > table_max ? -EFAULT : 0;
}

/*
 * One 4 KiB page with the attributes from pt_map() - a DMA layer mapping buffer by
 * buffer, the hot case. With every table in place in directly mapped memory it is a plain
 * descent, unrolled per level count, and one store; a missing table or memory without a
 * direct mapping goes to map_range(), which then does exactly what it would have done
 * without this path (map_range() of one page meets the same entries in the same order,
 * level 1 is always in its fit mask, and it reports -EEXIST and -EFAULT for the same
 * entries as the steps above).
 */
static int PT_FN(map_4k)(struct pt_table *pt, uint64_t iova, uint64_t pa, uint64_t attrs)
{
	uint8_t *const base = pt->base;
	const uint64_t table_max = pt->mem_size - MEM_PAGE_SIZE;
	const unsigned levels = pt->levels;
	uint64_t t = pt->root, *slot;
	int ret;

	if (!base)
		goto slow;
	/* levels is min_levels .. max_levels (pt_create): the constants drop dead branches. */
	if (PT_FMT.max_levels >= 5 && levels >= 5 &&
	    (ret = PT_FN(map_4k_step)(base, table_max, iova, 5, &t)))
		goto out;
	if ((PT_FMT.min_levels >= 4 || levels >= 4) &&
	    (ret = PT_FN(map_4k_step)(base, table_max, iova, 4, &t)))
		goto out;
	if ((ret = PT_FN(map_4k_step)(base, table_max, iova, 3, &t)) ||
	    (ret = PT_FN(map_4k_step)(base, table_max, iova, 2, &t)))
		goto out;
	slot = (uint64_t *)(void *)(base + t) + pt_index(iova, 1);
	if (PT_FMT.present(__atomic_load_n(slot, __ATOMIC_ACQUIRE)))
		return -EEXIST;
	__atomic_store_n(slot, PT_FMT.mk_leaf(attrs, pa, 1), __ATOMIC_RELEASE);
	return 0;
out:
	if (ret < 0)
		return ret;
slow:
	return PT_FN(map_range)(pt, iova, pa, PT_PAGE_4K, attrs);
}

/* ---- unmap ---------------------------------------------------------------------------- */

/*
 * Build, unpublished, the table that replaces a leaf at `level` (attrs, base): 512 entries
 * of the next level with the same translation. Where the table's configuration does not
 * allow leaves at that level (say 1 GiB without 2 MiB pages), the entries are tables of
 * their own, built the same way.
 */
static int PT_FN(build_split)(struct pt_table *pt, unsigned level, uint64_t attrs, uint64_t base,
			      uint64_t *page)
{
	const struct pt_io io = pt_io(pt);
	unsigned child = level - 1;
	uint64_t step = pt_span(child), e, sub;
	int ret;

	ret = mem_alloc_page(pt->alloc, page);
	if (ret)
		return ret;
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		if (pt->leaf_levels & (1u << child)) {
			e = PT_FMT.mk_leaf(attrs, base + i * step, child);
		} else {
			ret = PT_FN(build_split)(pt, child, attrs, base + i * step, &sub);
			if (ret)
				goto fail;
			e = PT_FMT.mk_table(sub, pt->flags);
		}
		ret = pt_st(io, *page + 8 * i, e);
		if (ret)
			goto fail;
	}
	return 0;
fail:
	PT_FN(free_tree)(pt, level - 1, *page);
	return ret;
}

/*
 * Replace the leaf *e at `level` with a table of smaller pages translating the same, so
 * that part of it can be unmapped. The table is complete before the compare-and-swap puts
 * it in, so a walker sees the large page or the table, which agree. If the entry changed
 * meanwhile (another thread split it first, or the hardware set A/D), the unseen table is
 * freed and *e is the entry's new value for the caller to look at again.
 */
static int PT_FN(split)(struct pt_table *pt, uint64_t epa, unsigned level, uint64_t *e)
{
	const struct pt_io io = pt_io(pt);
	uint64_t page, te;
	int ret;

	ret = PT_FN(build_split)(pt, level, PT_FMT.leaf_attrs(*e, level),
				 PT_FMT.leaf_addr(*e, level), &page);
	if (ret)
		return ret;
	te = PT_FMT.mk_table(page, pt->flags);
	ret = pt_cas(io, epa, e, te);
	if (ret == 0) {
		*e = te;
		return 0;
	}
	PT_FN(free_tree)(pt, level - 1, page);
	return ret == -EAGAIN ? 0 : ret;
}

/*
 * Split every leaf that straddles `addr`. Unmap does this for the end of its range before
 * it clears anything: the only split left is then at the start of the range, which the
 * walk meets before it clears anything either, so -ENOMEM leaves every translation intact.
 */
static int PT_FN(split_at)(struct pt_table *pt, uint64_t addr, struct pt_gather *g)
{
	const struct pt_io io = pt_io(pt);
	uint64_t t = pt->root, e, epa;
	int ret;

	if (!(addr & (pt->max_leaf - 1)) || addr >= pt->iova_limit)
		return 0;
	for (unsigned level = pt->levels; level > 1; level--) {
		if (!(addr & (pt_span(level) - 1)))
			return 0; /* no page at this level or below can straddle addr */
		epa = t + 8 * pt_index(addr, level);
		ret = pt_ld(io, epa, &e);
		while (ret == 0 && PT_FMT.present(e) && PT_FMT.is_leaf(e, level)) {
			ret = PT_FN(split)(pt, epa, level, &e);
			if (ret == 0 && pt_span(level) > g->pgsize)
				g->pgsize = pt_span(level); /* see unmap_level() */
		}
		if (ret || !PT_FMT.present(e))
			return ret;
		ret = PT_FN(next_table)(io, e, &t);
		if (ret)
			return ret;
	}
	return 0;
}

/* Put table `t` (at `level`) and every table below it in the gather; count their leaves. */
static int PT_FN(collect)(struct pt_table *pt, unsigned level, uint64_t t, struct pt_gather *g,
			  uint64_t *bytes, uint64_t *pgmax)
{
	const struct pt_io io = pt_io(pt);
	uint64_t e, child;
	int ret;

	ret = pt_gather_push(g, t);
	for (unsigned i = 0; ret == 0 && i < PT_ENTRIES; i++) {
		ret = pt_ld(io, t + 8 * i, &e);
		if (ret || !PT_FMT.present(e))
			continue;
		if (PT_FMT.is_leaf(e, level)) {
			*bytes += pt_span(level);
			if (pt_span(level) > *pgmax)
				*pgmax = pt_span(level);
			continue;
		}
		ret = PT_FN(next_table)(io, e, &child);
		if (ret == 0)
			ret = PT_FN(collect)(pt, level - 1, child, g, bytes, pgmax);
	}
	return ret;
}

/*
 * The range covers the whole span [lo, lo + span) of the entry at `epa` (at `level`), which
 * points to table `child`: unlink the table with one store and hand it, with the tables
 * below it, to the gather; the hardware may keep walking the unlinked pages until the
 * caller's invalidation, which is why they are not freed here. The pages are listed before
 * the store, so if the gather's list cannot grow the walk clears leaves one by one instead.
 */
static int PT_FN(detach)(struct pt_table *pt, unsigned level, uint64_t epa, uint64_t child,
			 uint64_t lo, struct pt_gather *g, uint64_t *unmapped)
{
	const struct pt_io io = pt_io(pt);
	size_t n0 = g->nfreed;
	uint64_t bytes = 0, pgmax = 0;
	int ret;

	ret = PT_FN(collect)(pt, level - 1, child, g, &bytes, &pgmax);
	if (ret == 0)
		ret = pt_st(io, epa, 0);
	if (ret) {
		g->nfreed = n0;
		if (ret == -ENOMEM)
			return PT_FN(unmap_level)(pt, level - 1, child, lo, lo + pt_span(level), g,
						  unmapped);
		return ret;
	}
	*unmapped += bytes;
	pt_gather_add(g, lo, pt_span(level), pgmax);
	return 0;
}

/*
 * Level 1 of unmap_level(): every entry in range is a whole 4 KiB leaf, so the loop only
 * clears what is present and records the run once. In directly mapped memory the loop is
 * the load, the test and the store per entry (the same accesses, in the same order, as
 * through pt_ld()/pt_st(), which cannot fail there).
 */
static int PT_FN(unmap_ptes)(struct pt_table *pt, uint64_t t, uint64_t iova, uint64_t end,
			     struct pt_gather *g, uint64_t *unmapped)
{
	const struct pt_io io = pt_io(pt);
	unsigned first = pt_index(iova, 1), last = first + (unsigned)((end - iova) >> 12);
	unsigned lo = PT_ENTRIES, hi = 0, n = 0;
	uint64_t e;
	int ret = 0;

	if (io.base) {
		uint64_t *pte = (uint64_t *)(void *)(io.base + t), *p = pte + first;
		uint64_t *const stop = pte + last, *top = NULL;
		unsigned holes = 0;

		/* Leading holes first; then n is what follows minus the holes met. */
		while (p < stop && !PT_FMT.present(__atomic_load_n(p, __ATOMIC_ACQUIRE)))
			p++;
		lo = (unsigned)(p - pte);
		for (; p < stop; p++) {
			if (!PT_FMT.present(__atomic_load_n(p, __ATOMIC_ACQUIRE))) {
				holes++;
				continue;
			}
			__atomic_store_n(p, 0, __ATOMIC_RELEASE);
			top = p;
		}
		n = (unsigned)(stop - pte) - lo - holes;
		hi = top ? (unsigned)(top - pte) : 0;
	} else {
		for (unsigned idx = first; idx < last; idx++) {
			ret = pt_ld(io, t + 8 * idx, &e);
			if (ret == 0 && PT_FMT.present(e))
				ret = pt_st(io, t + 8 * idx, 0);
			else if (ret == 0)
				continue;
			if (ret)
				break;
			lo = idx < lo ? idx : lo;
			hi = idx;
			n++;
		}
	}
	*unmapped += (uint64_t)n << 12;
	if (g && n)
		pt_gather_add(g, iova + ((uint64_t)(lo - first) << 12),
			      (uint64_t)(hi - lo + 1) << 12, PT_PAGE_4K);
	return ret; /* on an error, what was cleared before it is recorded all the same */
}

/*
 * Unmap [iova, end) inside table `t` at `level` (the range lies inside the table's span).
 * g == NULL is map's undo: tables stay where they are and nothing is recorded.
 */
static int PT_FN(unmap_level)(struct pt_table *pt, unsigned level, uint64_t t, uint64_t iova,
			      uint64_t end, struct pt_gather *g, uint64_t *unmapped)
{
	const struct pt_io io = pt_io(pt);
	uint64_t span = pt_span(level), e, epa, lo, stop, child;
	int ret;

	if (level == 1)
		return PT_FN(unmap_ptes)(pt, t, iova, end, g, unmapped);
	for (unsigned idx = pt_index(iova, level); iova < end && idx < PT_ENTRIES;
	     idx++, iova = stop) {
		epa = t + 8 * idx;
		lo = iova & ~(span - 1);
		stop = lo + span < end ? lo + span : end;
		ret = pt_ld(io, epa, &e);
		/* A leaf the range covers only in part: first split it. */
		while (ret == 0 && PT_FMT.present(e) && PT_FMT.is_leaf(e, level) &&
		       (lo != iova || stop != lo + span)) {
			ret = PT_FN(split)(pt, epa, level, &e);
			/* The IOTLB may hold the large page: the flush must reach it. */
			if (ret == 0 && g && span > g->pgsize)
				g->pgsize = span;
		}
		if (ret)
			return ret;
		if (!PT_FMT.present(e))
			continue;
		if (PT_FMT.is_leaf(e, level)) {
			ret = pt_st(io, epa, 0);
			if (ret)
				return ret;
			*unmapped += span;
			if (g)
				pt_gather_add(g, lo, span, span);
			continue;
		}
		ret = PT_FN(next_table)(io, e, &child);
		if (ret == 0 && g && lo == iova && stop == lo + span)
			ret = PT_FN(detach)(pt, level, epa, child, lo, g, unmapped);
		else if (ret == 0)
			ret = PT_FN(unmap_level)(pt, level - 1, child, iova, stop, g, unmapped);
		if (ret)
			return ret;
	}
	return 0;
}

static int PT_FN(unmap)(struct pt_table *pt, uint64_t iova, uint64_t end, struct pt_gather *g,
			uint64_t *unmapped)
{
	int ret = PT_FN(split_at)(pt, end, g);

	if (ret)
		return ret;
	return PT_FN(unmap_level)(pt, pt->levels, pt->root, iova, end, g, unmapped);
}

/* ---- lookup --------------------------------------------------------------------------- */

static int PT_FN(lookup)(struct pt_table *pt, uint64_t iova, struct pt_mapping *m)
{
	const struct pt_io io = pt_io(pt);
	uint64_t t = pt->root, e, span;
	int ret;

	for (unsigned level = pt->levels; level >= 1; level--) {
		ret = pt_ld(io, t + 8 * pt_index(iova, level), &e);
		if (ret)
			return ret;
		if (!PT_FMT.present(e))
			return -ENOENT;
		if (PT_FMT.is_leaf(e, level)) {
			span = pt_span(level);
			m->iova = iova & ~(span - 1);
			m->paddr = PT_FMT.leaf_addr(e, level) + (iova & (span - 1));
			m->pgsize = span;
			m->prot = PT_FMT.attrs_prot(PT_FMT.leaf_attrs(e, level), pt->flags);
			return 0;
		}
		ret = PT_FN(next_table)(io, e, &t);
		if (ret)
			return ret;
	}
	return -EFAULT; /* unreachable: level-1 entries are leaves */
}

#define PT_OPS_INIT(format)                                                                        \
	{                                                                                          \
		.fmt = &(format), .map_4k = PT_FN(map_4k), .map_range = PT_FN(map_range),          \
		.unmap = PT_FN(unmap), .lookup = PT_FN(lookup), .free_all = PT_FN(free_all),       \
	}
