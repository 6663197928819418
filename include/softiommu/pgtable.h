/* SPDX-License-Identifier: MIT */
/*
 * softiommu page tables: build and edit IOMMU page tables in simulated physical memory.
 *
 * One walker serves every format; a format is a small table of entry encoders and decoders.
 * Formats (digest sections in ../shared/reference/vtd.md):
 *   PT_FMT_X86_64  x86-64 first stage (section 4.1), 4 levels (48-bit) or 5 levels (57-bit)
 *   PT_FMT_VTD_SS  VT-d second stage (section 4.2), AW 39/48/57 = 3/4/5 levels
 * Leaves are 4 KiB, 2 MiB or 1 GiB pages, as allowed per table (what the hardware supports,
 * CAP.SLLPS / CAP.FS1GP, is the caller's parameter). Table pages come from a `mem_alloc`.
 *
 * A table knows nothing of hardware caches: an unmap collects what must be invalidated in a
 * `pt_gather` (the IOVA range, the page size, the table pages it freed) and the caller
 * flushes the IOTLB before it gives the freed table pages back with pt_gather_release().
 *
 * Memory ordering (for a hardware walker running concurrently in another thread): every
 * entry is written with one 64-bit store; a new table page is complete (zeroed or filled)
 * before the pointer to it is installed with a compare-and-swap; unmap clears the pointer to
 * a table before the table page is handed to the gather, and the page returns to the
 * allocator only in pt_gather_release().
 *
 * Locking: none inside; operations on disjoint IOVA ranges are safe to run concurrently,
 * as in Linux's generic page tables (the DMA layer maps and unmaps its own IOVA ranges of a
 * domain from many threads):
 *   - pt_map() and pt_unmap() may run at the same time from any number of threads as long
 *     as their ranges [iova, iova + size) do not overlap. Missing tables are installed with
 *     a compare-and-swap (a thread that loses the race frees its own never-seen page), and
 *     large pages are split the same way, so two threads unmapping disjoint parts of one
 *     2 MiB or 1 GiB page may both split it. Overlapping concurrent map/unmap is a caller
 *     bug (the result is undefined, as in Linux).
 *   - pt_iova_to_phys() and pt_lookup() may run at any time; for an address whose mapping
 *     is changing they return the old or the new translation. A lookup that races with an
 *     unmap of its address may read a table page the unmap detached: that is safe until the
 *     gather is released, which is the caller's business (as for the hardware walker).
 *   - A table page is freed by pt_unmap() only when the unmapped range covers the table's
 *     whole span: then no operation on a disjoint range can be using it. A table emptied
 *     by several unmaps that each cover only part of its span stays linked (empty) until an
 *     unmap covers its span or pt_destroy(); a later map into that span reuses it.
 *   - pt_create() and pt_destroy() must not run concurrently with anything on that table.
 *
 * Errors are negative errno values. A table stays consistent after every error.
 */
#ifndef SOFTIOMMU_PGTABLE_H
#define SOFTIOMMU_PGTABLE_H

#include <stddef.h>
#include <stdint.h>

#include <softiommu/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

enum pt_format {
	PT_FMT_X86_64 = 1, /* first stage: 4 or 5 levels; the lower canonical half only */
	PT_FMT_VTD_SS = 2, /* second stage: 3, 4 or 5 levels (AW 39, 48, 57) */
};

/* Page sizes, for pt_config.page_sizes (a bit mask of sizes) and pt_mapping.pgsize. */
#define PT_PAGE_4K (1ull << 12)
#define PT_PAGE_2M (1ull << 21)
#define PT_PAGE_1G (1ull << 30)

/*
 * Protection, for pt_map(). Each format refuses (-EINVAL) what it cannot encode:
 *   first stage:  READ is required (a present entry is always readable); WRITE sets R/W;
 *                 PRIV clears U/S (supervisor requests only; without it U/S = 1, which is
 *                 what kernel DMA without PASID privilege needs); EXEC needs PT_CFG_EXEC
 *                 (leaves without it get XD); SNOOP is refused.
 *   second stage: READ or WRITE or both (R = W = 0 is "not present"); EXEC sets X and needs
 *                 PT_CFG_EXEC; SNOOP sets SNP; PRIV is refused.
 */
#define PT_PROT_READ  (1u << 0)
#define PT_PROT_WRITE (1u << 1)
#define PT_PROT_EXEC  (1u << 2)
#define PT_PROT_PRIV  (1u << 3)
#define PT_PROT_SNOOP (1u << 4)

/*
 * Table options, for pt_config.flags.
 * PT_CFG_SET_AD: write Accessed in every entry and Dirty in writable leaves, so the hardware
 *   never has to write them back (Linux does this for first-stage domains). Second stage:
 *   A/D are bits 8/9, used only with SLADE and ignored otherwise.
 * PT_CFG_EXEC: the hardware honours execute permission (first stage: XD is valid; second
 *   stage: SLEE = 1, non-leaf entries carry X). Without it XD and X are never written.
 */
#define PT_CFG_SET_AD (1u << 0)
#define PT_CFG_EXEC   (1u << 1)

struct pt_config {
	enum pt_format format;
	unsigned levels;	 /* first stage 4 or 5; second stage 3, 4 or 5 */
	uint64_t page_sizes;	 /* PT_PAGE_4K, optionally | PT_PAGE_2M and/or | PT_PAGE_1G */
	unsigned iova_bits;	 /* 0: all the levels translate (first stage: 47 / 56, the
				    lower canonical half; second stage 39 / 48 / 57); else
				    a narrower width (12 .. that), e.g. MGAW + 1 */
	unsigned oa_bits;	 /* output address width (the host address width): 0 = 52 */
	unsigned flags;		 /* PT_CFG_* */
	struct mem_alloc *alloc; /* where table pages come from */
};

struct pt_table;

/*
 * The gather: what an unmap (or several) left for the caller to invalidate, and the table
 * pages waiting for that invalidation. Initialise with pt_gather_init(); pass to pt_unmap()
 * any number of times (the range grows to cover every call); flush the IOTLB for
 * [start, end) (and the paging-structure caches if nfreed != 0: no invalidation hint);
 * then pt_gather_release(). One gather serves one thread and one allocator.
 * Read the fields; do not write them.
 */
struct pt_gather {
	uint64_t start;		 /* lowest IOVA unmapped; UINT64_MAX when nothing was */
	uint64_t end;		 /* one past the highest IOVA unmapped; 0 when nothing was */
	uint64_t pgsize;	 /* largest page size whose translations went away: the leaves
				    cleared, and a large page split so part of it could go (the
				    IOTLB may hold it whole); 0 if none */
	size_t nfreed;		 /* table pages detached by the unmaps, waiting for release */
	uint64_t *freed;	 /* their physical addresses */
	size_t cap;		 /* (private) room in freed[] */
	struct mem_alloc *alloc; /* (private) where the pages go back */
};

/* What pt_lookup() found for one address. */
struct pt_mapping {
	uint64_t iova;	 /* the start of the page (leaf) holding the address */
	uint64_t paddr;	 /* the translation of the address itself */
	uint64_t pgsize; /* PT_PAGE_4K, PT_PAGE_2M or PT_PAGE_1G */
	unsigned prot;	 /* PT_PROT_* decoded from the leaf */
};

/*
 * pt_create() - allocate an empty table (one zeroed root page).
 * -EINVAL: cfg or cfg->alloc NULL, unknown format, levels the format lacks, page_sizes
 * without PT_PAGE_4K or with another size, a 1 GiB size on a table too shallow for it,
 * iova_bits or oa_bits out of range, unknown flags. -ENOMEM: no host memory or no page.
 */
int pt_create(const struct pt_config *cfg, struct pt_table **out);

/*
 * pt_destroy() - free every table page and the table. The caller guarantees that no
 * hardware uses the table any more (detached and invalidated). NULL is accepted.
 */
void pt_destroy(struct pt_table *pt);

/*
 * pt_map() - map [iova, iova + size) to [paddr, paddr + size) with `prot`, using the largest
 * allowed page that fits the alignment of both addresses and the remaining length, filled in
 * level by level (a run of leaves in one table is written in one pass). Missing tables are
 * allocated on the way. Where a table already sits (perhaps left empty by earlier unmaps)
 * the mapping goes into it with smaller pages rather than replacing it by a large leaf: the
 * hardware may hold the pointer to that table in its paging-structure caches, and a map
 * comes with no invalidation to drop it.
 * -EINVAL: iova, paddr or size not 4 KiB aligned, size 0, the range beyond iova_bits or the
 *          output beyond oa_bits (or wrapping), a prot the format cannot encode.
 * -EEXIST: part of the range is already mapped.
 * -ENOMEM: a table page could not be allocated.
 * -EFAULT: table memory could not be read or written (a memory backend error).
 * On every error nothing is mapped: the leaves written by this call are cleared again before
 * it returns. Table pages it added stay linked (empty, reused by later maps, freed by an
 * unmap covering their span or by pt_destroy()), so no page is freed and nothing needs an
 * invalidation unless a device used the IOVAs while the call ran.
 * Locking: see the top of this file (disjoint ranges concurrently).
 */
int pt_map(struct pt_table *pt, uint64_t iova, uint64_t paddr, uint64_t size, unsigned prot);

/*
 * pt_unmap() - remove every mapping in [iova, iova + size). Holes are allowed. A large page
 * that the range covers only in part is split first (a table of the next smaller pages with
 * the same translation is built, then swapped in for the leaf), down to 4 KiB if needed.
 * Tables whose whole span lies inside the range are detached and put in `g`.
 * *unmapped (may be NULL) receives the number of bytes that were mapped in the range and
 * are not any more; the gather grows to cover them and the detached tables.
 * -EINVAL: NULL pt or g, iova or size not 4 KiB aligned, size 0, the range beyond iova_bits,
 *          g holding pages of another allocator.
 * -ENOMEM: a large page needed splitting and no table page was free; nothing was unmapped
 *          (a split already done keeps the same translations), *unmapped is 0.
 * -EFAULT: table memory could not be read or written (a memory backend error); the part
 *          unmapped before it is in *unmapped and in the gather.
 * Locking: see the top of this file (disjoint ranges concurrently).
 */
int pt_unmap(struct pt_table *pt, uint64_t iova, uint64_t size, struct pt_gather *g,
	     uint64_t *unmapped);

/*
 * pt_iova_to_phys() - the physical address `iova` translates to.
 * -EINVAL: iova beyond iova_bits. -ENOENT: not mapped. -EFAULT: table memory unreadable.
 */
int pt_iova_to_phys(struct pt_table *pt, uint64_t iova, uint64_t *paddr);

/* pt_lookup() - like pt_iova_to_phys(), with the page size and protection of the leaf; the
 * same errors (-EINVAL also for NULL arguments). */
int pt_lookup(struct pt_table *pt, uint64_t iova, struct pt_mapping *m);

/* pt_root() - physical address of the top-level table (for FSPTPTR / SSPTPTR). */
uint64_t pt_root(const struct pt_table *pt);

/* pt_levels() - number of levels (3, 4 or 5). */
unsigned pt_levels(const struct pt_table *pt);

/* pt_iova_limit() - one past the highest IOVA the table maps (2^iova_bits). */
uint64_t pt_iova_limit(const struct pt_table *pt);

/* pt_gather_init() - an empty gather (no allocation happens until a table is freed). */
void pt_gather_init(struct pt_gather *g);

/*
 * pt_gather_release() - call after invalidating the IOTLB for the gather: give the collected
 * table pages back to their allocator, free the gather's own memory and make it empty
 * again. Safe on an empty gather.
 */
void pt_gather_release(struct pt_gather *g);

/*
 * pt_gather_disown() - for a caller that has taken the collected table pages over (read
 * freed[0 .. nfreed - 1] and will free each page itself after its invalidation, e.g. by
 * moving them into another list): forget the pages without freeing them, free the
 * gather's own memory and make it empty again. Safe on an empty gather.
 */
void pt_gather_disown(struct pt_gather *g);

#ifdef __cplusplus
}
#endif
#endif
