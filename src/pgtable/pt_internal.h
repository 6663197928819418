/* SPDX-License-Identifier: MIT */
/*
 * Page tables, inside: the table object, the format interface, entry access.
 *
 * Both formats use 4 KiB tables of 512 64-bit entries; level n decodes IOVA bits
 * 12 + 9(n-1) .. 20 + 9(n-1) (digest section 4), so the geometry below is shared and only
 * the entry encoding differs per format.
 */
#ifndef SOFTIOMMU_PT_INTERNAL_H
#define SOFTIOMMU_PT_INTERNAL_H

#include <softiommu/pgtable.h>

#include <stdbool.h>

#define PT_PAGE_SHIFT	  12
#define PT_ENTRIES	  512
#define PT_MAX_LEVELS	  5
#define PT_ADDR_MASK	  0x000ffffffffff000ull /* bits 51:12, both formats */
#define PT_PROT_COMBOS	  32			/* every value of the five PT_PROT_* bits */
#define PT_MAX_LEAF_LEVEL 3			/* 1 GiB, in both formats */

/*
 * A format: the static const table of encoders and decoders the walker is written against.
 * `attrs` are the bits of a leaf other than its address and its page-size bit; they are
 * computed once per map from the protection, and read back from a leaf to split it.
 */
struct pt_fmt {
	const char *name;
	unsigned min_levels, max_levels;
	unsigned leaf_levels; /* bit n: the architecture allows a leaf at level n */
	bool lower_half;      /* IOVAs are canonical: only the lower half (top bit 0) is used */
	/* 0 if the format can encode `prot` with these PT_CFG_* flags, else -EINVAL */
	int (*check_prot)(unsigned prot, unsigned flags);
	uint64_t (*prot_attrs)(unsigned prot, unsigned flags);
	unsigned (*attrs_prot)(uint64_t attrs, unsigned flags);
	uint64_t (*mk_leaf)(uint64_t attrs, uint64_t pa, unsigned level);
	uint64_t (*mk_table)(uint64_t pa, unsigned flags);
	bool (*present)(uint64_t e);
	bool (*is_leaf)(uint64_t e, unsigned level);
	uint64_t (*table_addr)(uint64_t e);		   /* the next table */
	uint64_t (*leaf_addr)(uint64_t e, unsigned level); /* a leaf's page base */
	uint64_t (*leaf_attrs)(uint64_t e, unsigned level);
};

/* The walker instantiated for one format (pt_walk.h, included by each format's file). */
struct pt_ops {
	const struct pt_fmt *fmt;
	/* One 4 KiB page (checked by pt_map): a fast descent, map_range() behind it */
	int (*map_4k)(struct pt_table *pt, uint64_t iova, uint64_t pa, uint64_t attrs);
	int (*map_range)(struct pt_table *pt, uint64_t iova, uint64_t pa, uint64_t size,
			 uint64_t attrs);
	int (*unmap)(struct pt_table *pt, uint64_t iova, uint64_t end, struct pt_gather *g,
		     uint64_t *unmapped);
	int (*lookup)(struct pt_table *pt, uint64_t iova, struct pt_mapping *m);
	void (*free_all)(struct pt_table *pt);
};

extern const struct pt_ops pt_x86_64_ops;
extern const struct pt_ops pt_vtd_ss_ops;

struct pt_table {
	const struct pt_ops *ops;
	struct mem *mem;
	struct mem_alloc *alloc;
	uint8_t *base; /* the memory's direct mapping, or NULL: use the mem_* calls */
	uint64_t mem_size;
	uint64_t root;
	unsigned levels;
	unsigned flags;
	unsigned leaf_levels; /* bit n: leaves allowed at level n (from page_sizes) */
	uint64_t max_leaf;    /* the largest allowed page size */
	uint64_t iova_limit;
	uint64_t oa_limit;
	/* leaf attributes for each protection (from the format, at creation); 0: refused */
	uint64_t prot_attrs[PT_PROT_COMBOS];
};

static inline unsigned pt_shift(unsigned level)
{
	return PT_PAGE_SHIFT + 9 * (level - 1);
}

static inline uint64_t pt_span(unsigned level)
{
	return 1ull << pt_shift(level);
}

static inline unsigned pt_index(uint64_t iova, unsigned level)
{
	return (unsigned)(iova >> pt_shift(level)) & (PT_ENTRIES - 1);
}

/*
 * Entry decoding both formats share: the next table's address and a leaf's page in bits
 * 51:12, and the page-size bit 7 marking a 2 MiB or 1 GiB leaf (digest 4.1, 4.2; reserved
 * at levels 4 and 5 in both). At level 1 every present entry is a leaf, and bit 7 is
 * something else there (x86-64: PAT) - it stays among the leaf's attributes. A large
 * x86-64 leaf keeps PAT in bit 12, below its address: the page-size mask drops it.
 */
#define PT_PS (1ull << 7)

static inline bool pt_ps_is_leaf(uint64_t e, unsigned level)
{
	/* PS first: it is clear in the table entries a walk mostly meets. */
	return (e & PT_PS) ? level <= 3 : level == 1;
}

static inline uint64_t pt_ps_table_addr(uint64_t e)
{
	return e & PT_ADDR_MASK;
}

static inline uint64_t pt_ps_leaf_addr(uint64_t e, unsigned level)
{
	return e & PT_ADDR_MASK & ~(pt_span(level) - 1);
}

static inline uint64_t pt_ps_leaf_attrs(uint64_t e, unsigned level)
{
	return e & ~PT_ADDR_MASK & ~(level > 1 ? PT_PS : 0);
}

/*
 * The levels at which a leaf can start [iova, iova + len) -> pa, as a mask (bit n: level
 * n): allowed by the table, both addresses aligned to its page size, the range at least
 * that long. Level 1 is always in it.
 */
static inline unsigned pt_fit_mask(const struct pt_table *pt, uint64_t iova, uint64_t pa,
				   uint64_t len)
{
	unsigned fit = 1u << 1;

	/* Most maps are short or not 2 MiB aligned: one test settles them. */
	if (len < PT_PAGE_2M || ((iova | pa) & (PT_PAGE_2M - 1)))
		return fit;
	for (unsigned level = 2; level <= PT_MAX_LEAF_LEVEL; level++) {
		uint64_t span = pt_span(level);

		if (((iova | pa) & (span - 1)) || len < span)
			break;
		fit |= pt->leaf_levels & (1u << level);
	}
	return fit;
}

/*
 * How entries are reached: the memory's direct mapping (NULL: through the mem_* calls,
 * which check ranges and report backend errors) and the highest address a table page may
 * start at. Walkers take a copy in a local first: the acquire loads below would otherwise
 * make the compiler fetch these fields from the table object again after every entry.
 */
struct pt_io {
	uint8_t *base;
	struct mem *mem;
	uint64_t table_max;
};

static inline struct pt_io pt_io(const struct pt_table *pt)
{
	struct pt_io io = {pt->base, pt->mem, pt->mem_size - MEM_PAGE_SIZE};

	return io;
}

/* Entry access without a direct mapping (pgtable.c): out of line, off the fast path. */
int pt_mem_ld(struct mem *m, uint64_t pa, uint64_t *e);
int pt_mem_st(struct mem *m, uint64_t pa, uint64_t e);
int pt_mem_cas(struct mem *m, uint64_t pa, uint64_t *old, uint64_t e);

/*
 * Entries are read with acquire and written with release semantics: a walker that follows
 * a freshly installed pointer must see the table contents written before it (on x86 these
 * are plain moves). The fallbacks get copies, so that the caller's entry never has its
 * address taken and stays in a register.
 */
static inline int pt_ld(struct pt_io io, uint64_t pa, uint64_t *e)
{
	if (io.base) {
		*e = __atomic_load_n((uint64_t *)(void *)(io.base + pa), __ATOMIC_ACQUIRE);
		return 0;
	} else {
		uint64_t v = 0;
		int ret = pt_mem_ld(io.mem, pa, &v);

		*e = v;
		return ret;
	}
}

static inline int pt_st(struct pt_io io, uint64_t pa, uint64_t e)
{
	if (io.base) {
		__atomic_store_n((uint64_t *)(void *)(io.base + pa), e, __ATOMIC_RELEASE);
		return 0;
	}
	return pt_mem_st(io.mem, pa, e);
}

/* 0 if the entry held *old and now holds `e`; -EAGAIN with *old = what it holds instead. */
static inline int pt_cas(struct pt_io io, uint64_t pa, uint64_t *old, uint64_t e)
{
	uint64_t v = *old;
	int ret;

	if (io.base)
		return __atomic_compare_exchange_n((uint64_t *)(void *)(io.base + pa), old, e,
						   false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
			   ? 0
			   : -EAGAIN;
	ret = pt_mem_cas(io.mem, pa, &v, e);
	*old = v;
	return ret;
}

/*
 * A table address taken from an entry must name a whole page of memory before it is used:
 * the entries are ours, but table memory is ordinary RAM that a buggy device could scribble
 * over, and an out-of-range pointer must become an error, not a stray host access.
 */
static inline bool pt_table_ok(struct pt_io io, uint64_t tpa)
{
	return tpa <= io.table_max;
}

/* Gather bookkeeping (pgtable.c). */
int pt_gather_push(struct pt_gather *g, uint64_t page);

static inline void pt_gather_add(struct pt_gather *g, uint64_t start, uint64_t len, uint64_t pgsize)
{
	if (start < g->start)
		g->start = start;
	if (start + len > g->end)
		g->end = start + len;
	if (pgsize > g->pgsize)
		g->pgsize = pgsize;
}

#endif
