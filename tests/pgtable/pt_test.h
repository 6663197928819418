/* SPDX-License-Identifier: MIT */
/* Shared set-up for the page-table tests: memory, an allocator, and the table shapes. */
#ifndef SOFTIOMMU_TEST_PT_TEST_H
#define SOFTIOMMU_TEST_PT_TEST_H

#include "check.h"

#include <softiommu/pgtable.h>

#define KB (1ull << 10)
#define MB (1ull << 20)
#define GB (1ull << 30)

#define PT_ALL_SIZES (PT_PAGE_4K | PT_PAGE_2M | PT_PAGE_1G)

/* Every format and depth, with every page size allowed. */
struct pt_shape {
	const char *name;
	enum pt_format format;
	unsigned levels;
	unsigned iova_bits; /* the width the table then has */
};

static const struct pt_shape pt_shapes[] = {
    {"x86-64 4-level", PT_FMT_X86_64, 4, 47}, {"x86-64 5-level", PT_FMT_X86_64, 5, 56},
    {"VT-d SS AW39", PT_FMT_VTD_SS, 3, 39},   {"VT-d SS AW48", PT_FMT_VTD_SS, 4, 48},
    {"VT-d SS AW57", PT_FMT_VTD_SS, 5, 57},
};
#define PT_NSHAPES (sizeof(pt_shapes) / sizeof(pt_shapes[0]))

struct pt_env {
	struct mem *mem;
	struct mem_alloc *alloc;
};

/* `pages` table pages of room at physical address 1 MiB (0 stays unused). */
static inline int pt_env_init(struct pt_env *env, uint64_t pages)
{
	env->mem = mem_create_sparse(MB + pages * MEM_PAGE_SIZE);
	if (!env->mem)
		return -1;
	return mem_alloc_create(env->mem, MB, pages * MEM_PAGE_SIZE, &env->alloc);
}

static inline void pt_env_fini(struct pt_env *env)
{
	mem_alloc_destroy(env->alloc);
	mem_destroy(env->mem);
}

static inline struct pt_config pt_cfg(const struct pt_env *env, enum pt_format format,
				      unsigned levels, uint64_t sizes, unsigned flags)
{
	struct pt_config cfg = {
	    .format = format,
	    .levels = levels,
	    .page_sizes = sizes,
	    .flags = flags,
	    .alloc = env->alloc,
	};
	return cfg;
}

/* The protection every format accepts. */
#define PT_RW (PT_PROT_READ | PT_PROT_WRITE)

#endif
