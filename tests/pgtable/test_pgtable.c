// SPDX-License-Identifier: MIT
/*
 * The page-table library: page sizes in every format, mixed sizes, splits, holes, table
 * freeing through the gather, and every error of the API.
 */
#include "pt_test.h"

/* Map one page of `size` at iova -> pa, check it from every side, unmap it. */
static int check_one_page(struct pt_table *pt, uint64_t iova, uint64_t pa, uint64_t size)
{
	struct pt_mapping m;
	struct pt_gather g;
	uint64_t out, n;

	CHECK_RET(pt_map(pt, iova, pa, size, PT_RW) == 0);
	CHECK_RET(pt_lookup(pt, iova, &m) == 0);
	CHECK_RET(m.paddr == pa && m.pgsize == size && m.iova == iova && m.prot == PT_RW);
	CHECK_RET(pt_iova_to_phys(pt, iova + size / 2 + 8, &out) == 0 && out == pa + size / 2 + 8);
	CHECK_RET(pt_iova_to_phys(pt, iova + size - 1, &out) == 0 && out == pa + size - 1);
	CHECK_RET(pt_lookup(pt, iova + size - 1, &m) == 0 && m.iova == iova);
	if (iova)
		CHECK_RET(pt_iova_to_phys(pt, iova - 1, &out) == -ENOENT);
	if (iova + size < pt_iova_limit(pt))
		CHECK_RET(pt_iova_to_phys(pt, iova + size, &out) == -ENOENT);
	pt_gather_init(&g);
	CHECK_RET(pt_unmap(pt, iova, size, &g, &n) == 0 && n == size);
	CHECK_RET(g.start == iova && g.end == iova + size && g.pgsize == size);
	pt_gather_release(&g);
	CHECK_RET(pt_iova_to_phys(pt, iova, &out) == -ENOENT);
	CHECK_RET(pt_iova_to_phys(pt, iova + size - 1, &out) == -ENOENT);
	return 0;
}

static void test_every_page_size_every_shape(void)
{
	/*
	 * Largest first: a smaller page leaves its table behind (an unmap that does not
	 * cover a table's span keeps it), and a later large map into that span reuses the
	 * table with smaller pages instead of writing a leaf over it.
	 */
	static const uint64_t sizes[] = {PT_PAGE_1G, PT_PAGE_2M, PT_PAGE_4K};
	struct pt_env env;

	CHECK(pt_env_init(&env, 4096) == 0);
	for (unsigned s = 0; s < PT_NSHAPES; s++) {
		const struct pt_shape *sh = &pt_shapes[s];
		struct pt_config cfg = pt_cfg(&env, sh->format, sh->levels, PT_ALL_SIZES, 0);
		uint64_t base = mem_alloc_in_use(env.alloc), top = 1ull << sh->iova_bits;
		struct pt_table *pt;

		CHECK_EQ(pt_create(&cfg, &pt), 0);
		CHECK_EQ(pt_levels(pt), sh->levels);
		CHECK_EQ(pt_iova_limit(pt), top);
		CHECK_EQ(mem_alloc_in_use(env.alloc), base + 1);
		for (unsigned i = 0; i < 3; i++) {
			uint64_t sz = sizes[i];

			/* Low, high (last page of the space: every index 511) and in between. */
			CHECK_EQ(check_one_page(pt, 0, 5 * sz, sz), 0);
			CHECK_EQ(check_one_page(pt, top - sz, 7 * sz, sz), 0);
			CHECK_EQ(check_one_page(pt, (top / 3) & ~(sz - 1), (1ull << 51) - sz, sz),
				 0);
		}
		/* Unmapping the whole space frees every table but the root. */
		{
			struct pt_gather g;
			uint64_t n;

			pt_gather_init(&g);
			CHECK_EQ(pt_unmap(pt, 0, top, &g, &n), 0);
			CHECK_EQ(n, 0);
			CHECK(g.nfreed > 0);
			pt_gather_release(&g);
			CHECK_EQ(mem_alloc_in_use(env.alloc), base + 1);
		}
		pt_destroy(pt);
		CHECK_EQ(mem_alloc_in_use(env.alloc), base);
	}
	pt_env_fini(&env);
}

/* The page size found at each address of a list. */
static int expect_sizes(struct pt_table *pt, const uint64_t (*want)[2], unsigned n, uint64_t iova0,
			uint64_t pa0)
{
	struct pt_mapping m;

	for (unsigned i = 0; i < n; i++) {
		CHECK_RET(pt_lookup(pt, want[i][0], &m) == 0);
		if (m.pgsize != want[i][1])
			fprintf(stderr, "at 0x%llx: page 0x%llx, want 0x%llx\n",
				(unsigned long long)want[i][0], (unsigned long long)m.pgsize,
				(unsigned long long)want[i][1]);
		CHECK_RET(m.pgsize == want[i][1]);
		CHECK_RET(m.paddr == pa0 + (want[i][0] - iova0));
	}
	return 0;
}

static void test_largest_pages_mixed(void)
{
	const uint64_t iova = GB - 8 * KB, pa = 3 * GB - 8 * KB, size = GB + 2 * MB + 20 * KB;
	const uint64_t want[][2] = {
	    {iova, PT_PAGE_4K},
	    {iova + 4 * KB, PT_PAGE_4K},
	    {GB, PT_PAGE_1G},
	    {2 * GB - 4 * KB, PT_PAGE_1G},
	    {2 * GB, PT_PAGE_2M},
	    {2 * GB + 2 * MB - 4 * KB, PT_PAGE_2M},
	    {2 * GB + 2 * MB, PT_PAGE_4K},
	    {iova + size - 4 * KB, PT_PAGE_4K},
	};
	struct pt_env env;
	struct pt_table *pt;
	struct pt_config cfg;
	struct pt_gather g;
	uint64_t base, n, out;

	CHECK(pt_env_init(&env, 256) == 0);
	base = mem_alloc_in_use(env.alloc);
	for (unsigned f = 0; f < 2; f++) {
		cfg = pt_cfg(&env, f ? PT_FMT_VTD_SS : PT_FMT_X86_64, 4, PT_ALL_SIZES, 0);
		CHECK_EQ(pt_create(&cfg, &pt), 0);
		CHECK_EQ(pt_map(pt, iova, pa, size, PT_RW), 0);
		CHECK_EQ(expect_sizes(pt, want, 8, iova, pa), 0);
		CHECK_EQ(pt_iova_to_phys(pt, iova + size, &out), -ENOENT);
		/* Root, one level-3 table, level-2 tables at 0 and 2 GiB, two level-1 tables. */
		CHECK_EQ(mem_alloc_in_use(env.alloc), base + 6);
		pt_gather_init(&g);
		CHECK_EQ(pt_unmap(pt, iova, size, &g, &n), 0);
		CHECK_EQ(n, size);
		CHECK_EQ(g.pgsize, PT_PAGE_1G);
		pt_gather_release(&g);
		pt_destroy(pt);
	}
	/* Misaligned physical address: only 4 KiB pages fit. */
	cfg = pt_cfg(&env, PT_FMT_X86_64, 4, PT_ALL_SIZES, 0);
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	CHECK_EQ(pt_map(pt, 0, 4 * KB, 4 * MB, PT_RW), 0);
	for (uint64_t a = 0; a < 4 * MB; a += 256 * KB) {
		const uint64_t w[][2] = {{a, PT_PAGE_4K}};

		CHECK_EQ(expect_sizes(pt, w, 1, 0, 4 * KB), 0);
	}
	pt_destroy(pt);
	/* Without 1 GiB pages a 1 GiB range is 512 pages of 2 MiB; without 2 MiB, 4 KiB. */
	cfg = pt_cfg(&env, PT_FMT_VTD_SS, 3, PT_PAGE_4K | PT_PAGE_2M, 0);
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	CHECK_EQ(pt_map(pt, GB, 0, GB, PT_RW), 0);
	{
		const uint64_t w[][2] = {{GB, PT_PAGE_2M}, {2 * GB - 1, PT_PAGE_2M}};

		CHECK_EQ(expect_sizes(pt, w, 2, GB, 0), 0);
	}
	CHECK_EQ(mem_alloc_in_use(env.alloc), base + 2);
	pt_destroy(pt);
	cfg = pt_cfg(&env, PT_FMT_VTD_SS, 3, PT_PAGE_4K | PT_PAGE_1G, 0);
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	CHECK_EQ(pt_map(pt, 0, 0, 2 * MB + GB, PT_RW), 0);
	{
		const uint64_t w[][2] = {
		    {0, PT_PAGE_1G}, {GB, PT_PAGE_4K}, {GB + 2 * MB - 1, 4 * KB}};

		CHECK_EQ(expect_sizes(pt, w, 3, 0, 0), 0);
	}
	pt_destroy(pt);
	CHECK_EQ(mem_alloc_in_use(env.alloc), base);
	pt_env_fini(&env);
}

/* Every 64 KiB of [lo, hi) translates as the identity-plus-offset mapping says, or not. */
static int expect_range(struct pt_table *pt, uint64_t lo, uint64_t hi, uint64_t delta, bool mapped)
{
	uint64_t out, step = hi - lo <= 4 * MB ? 4 * KB : 64 * KB;

	for (uint64_t a = lo; a < hi; a += step) {
		int ret = pt_iova_to_phys(pt, a, &out);

		if (mapped)
			CHECK_RET(ret == 0 && out == a + delta);
		else
			CHECK_RET(ret == -ENOENT);
	}
	return 0;
}

static void test_split_1g_2m_4k(void)
{
	const uint64_t d = 5 * GB; /* pa = iova + d */
	struct pt_env env;
	struct pt_table *pt;
	struct pt_config cfg;
	struct pt_gather g;
	struct pt_mapping m;
	uint64_t base, n, hole = GB + 300 * MB + 12 * KB;

	CHECK(pt_env_init(&env, 256) == 0);
	base = mem_alloc_in_use(env.alloc);
	for (unsigned f = 0; f < 2; f++) {
		cfg = pt_cfg(&env, f ? PT_FMT_VTD_SS : PT_FMT_X86_64, 4, PT_ALL_SIZES, 0);
		CHECK_EQ(pt_create(&cfg, &pt), 0);
		CHECK_EQ(pt_map(pt, GB, GB + d, GB, PT_RW), 0);
		/* One 4 KiB hole: 1G -> 512 x 2M -> 512 x 4K around the hole. */
		pt_gather_init(&g);
		CHECK_EQ(pt_unmap(pt, hole, 4 * KB, &g, &n), 0);
		CHECK_EQ(n, 4 * KB);
		CHECK_EQ(g.start, hole);
		CHECK_EQ(g.end, hole + 4 * KB);
		CHECK_EQ(g.pgsize, PT_PAGE_1G); /* the IOTLB may hold the 1 GiB page */
		CHECK_EQ(g.nfreed, 0);
		pt_gather_release(&g);
		CHECK_EQ(mem_alloc_in_use(env.alloc), base + 2 + 2);
		CHECK_EQ(expect_range(pt, GB, hole, d, true), 0);
		CHECK_EQ(expect_range(pt, hole, hole + 4 * KB, d, false), 0);
		CHECK_EQ(expect_range(pt, hole + 4 * KB, 2 * GB, d, true), 0);
		CHECK_EQ(pt_lookup(pt, hole - 4 * KB, &m), 0);
		CHECK_EQ(m.pgsize, PT_PAGE_4K);
		CHECK_EQ(pt_lookup(pt, hole + 2 * MB, &m), 0);
		CHECK_EQ(m.pgsize, PT_PAGE_2M);
		CHECK_EQ(m.paddr, hole + 2 * MB + d);
		/* A range across 2 MiB pages, neither covered whole: both split. */
		pt_gather_init(&g);
		CHECK_EQ(pt_unmap(pt, GB + 5 * MB, 2 * MB, &g, &n), 0);
		CHECK_EQ(n, 2 * MB);
		CHECK_EQ(g.pgsize, PT_PAGE_2M);
		pt_gather_release(&g);
		CHECK_EQ(expect_range(pt, GB + 4 * MB, GB + 5 * MB, d, true), 0);
		CHECK_EQ(expect_range(pt, GB + 5 * MB, GB + 7 * MB, d, false), 0);
		CHECK_EQ(expect_range(pt, GB + 7 * MB, GB + 8 * MB, d, true), 0);
		/* A whole 2 MiB page inside the split 1 GiB: no split, no table. */
		pt_gather_init(&g);
		CHECK_EQ(pt_unmap(pt, GB + 512 * MB, 2 * MB, &g, &n), 0);
		CHECK_EQ(n, 2 * MB);
		CHECK_EQ(g.pgsize, PT_PAGE_2M);
		pt_gather_release(&g);
		/* Everything: the 2 MiB-level table and the three 4 KiB tables go. */
		pt_gather_init(&g);
		CHECK_EQ(pt_unmap(pt, GB, GB, &g, &n), 0);
		CHECK_EQ(n, GB - 4 * KB - 2 * MB - 2 * MB);
		CHECK_EQ(g.nfreed, 4);
		CHECK_EQ(mem_alloc_in_use(env.alloc), base + 2 + 4);
		pt_gather_release(&g);
		CHECK_EQ(mem_alloc_in_use(env.alloc), base + 2);
		CHECK_EQ(expect_range(pt, GB, 2 * GB, d, false), 0);
		pt_destroy(pt);
		CHECK_EQ(mem_alloc_in_use(env.alloc), base);
	}
	pt_env_fini(&env);
}

/* A 1 GiB page on a table without 2 MiB pages splits into tables of 4 KiB pages. */
static void test_split_1g_without_2m(void)
{
	struct pt_env env;
	struct pt_table *pt;
	struct pt_config cfg;
	struct pt_gather g;
	uint64_t base, n;

	CHECK(pt_env_init(&env, 1024) == 0);
	base = mem_alloc_in_use(env.alloc);
	cfg = pt_cfg(&env, PT_FMT_X86_64, 4, PT_PAGE_4K | PT_PAGE_1G, 0);
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	CHECK_EQ(pt_map(pt, 0, 7 * GB, GB, PT_RW), 0);
	pt_gather_init(&g);
	CHECK_EQ(pt_unmap(pt, 100 * MB, 4 * KB, &g, &n), 0);
	CHECK_EQ(n, 4 * KB);
	pt_gather_release(&g);
	/* root, level 3, the split level-2 table and its 512 level-1 tables */
	CHECK_EQ(mem_alloc_in_use(env.alloc), base + 3 + 512);
	CHECK_EQ(expect_range(pt, 0, 100 * MB, 7 * GB, true), 0);
	CHECK_EQ(expect_range(pt, 100 * MB + 4 * KB, GB, 7 * GB, true), 0);
	CHECK_EQ(expect_range(pt, 100 * MB, 100 * MB + 4 * KB, 7 * GB, false), 0);
	pt_destroy(pt);
	CHECK_EQ(mem_alloc_in_use(env.alloc), base);
	pt_env_fini(&env);
}

static void test_unmap_holes(void)
{
	struct pt_env env;
	struct pt_table *pt;
	struct pt_config cfg;
	struct pt_gather g;
	uint64_t n;

	CHECK(pt_env_init(&env, 256) == 0);
	cfg = pt_cfg(&env, PT_FMT_VTD_SS, 4, PT_ALL_SIZES, 0);
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	CHECK_EQ(pt_map(pt, 8 * KB, 0, 4 * KB, PT_RW), 0);
	CHECK_EQ(pt_map(pt, 2 * MB, 2 * MB, 2 * MB, PT_PROT_WRITE), 0);
	CHECK_EQ(pt_map(pt, 6 * MB, 0, 12 * KB, PT_PROT_READ), 0);
	pt_gather_init(&g);
	/* Nothing mapped: 0 bytes, an empty gather. */
	CHECK_EQ(pt_unmap(pt, 64 * MB, 4 * MB, &g, &n), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(g.start, UINT64_MAX);
	CHECK_EQ(g.end, 0);
	CHECK_EQ(pt_unmap(pt, 4 * KB, 6 * MB, &g, &n), 0);
	CHECK_EQ(n, 4 * KB + 2 * MB + 4 * KB);
	CHECK_EQ(g.start, 8 * KB);
	CHECK_EQ(g.end, 6 * MB + 4 * KB);
	CHECK_EQ(g.pgsize, PT_PAGE_2M);
	CHECK_EQ(expect_range(pt, 0, 6 * MB + 4 * KB, 0, false), 0);
	CHECK_EQ(pt_unmap(pt, 6 * MB + 4 * KB, 4 * KB, &g, &n), 0);
	CHECK_EQ(n, 4 * KB);
	CHECK_EQ(g.end, 6 * MB + 8 * KB); /* one gather, two unmaps */
	pt_gather_release(&g);
	CHECK_EQ(pt_iova_to_phys(pt, 6 * MB + 8 * KB, &n), 0);
	CHECK_EQ(n, 8 * KB);
	pt_destroy(pt);
	pt_env_fini(&env);
}

/* Freed table pages wait in the gather: unlinked, intact, still allocated until release. */
static void test_gather_holds_freed_tables(void)
{
	struct pt_env env;
	struct pt_table *pt;
	struct pt_config cfg;
	struct pt_gather g;
	struct mem *mem;
	uint64_t base, n, e, l3, l2, l1;

	CHECK(pt_env_init(&env, 64) == 0);
	mem = env.mem;
	base = mem_alloc_in_use(env.alloc);
	cfg = pt_cfg(&env, PT_FMT_X86_64, 4, PT_ALL_SIZES, 0);
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	CHECK_EQ(pt_map(pt, 2 * MB + 4 * KB, 0x1234000, 4 * KB, PT_RW), 0);
	CHECK_EQ(mem_read64(mem, pt_root(pt), &e), 0);
	l3 = e & 0x000ffffffffff000ull;
	CHECK_EQ(mem_read64(mem, l3, &e), 0);
	l2 = e & 0x000ffffffffff000ull;
	CHECK_EQ(mem_read64(mem, l2 + 8, &e), 0);
	l1 = e & 0x000ffffffffff000ull;
	pt_gather_init(&g);
	/* Covers the level-1 table's span (2 MiB .. 4 MiB) but not the level-2 table's. */
	CHECK_EQ(pt_unmap(pt, 2 * MB, 2 * MB, &g, &n), 0);
	CHECK_EQ(n, 4 * KB);
	CHECK_EQ(g.nfreed, 1);
	CHECK_EQ(g.freed[0], l1);
	CHECK_EQ(g.start, 2 * MB);
	CHECK_EQ(g.end, 4 * MB);
	CHECK_EQ(mem_read64(mem, l2 + 8, &e), 0);
	CHECK_EQ(e, 0); /* unlinked */
	CHECK_EQ(mem_read64(mem, l1 + 8, &e), 0);
	CHECK_EQ(e & 0x000ffffffffff000ull, 0x1234000); /* intact for a late walker */
	CHECK_EQ(mem_alloc_in_use(env.alloc), base + 4);
	pt_gather_release(&g);
	CHECK_EQ(mem_alloc_in_use(env.alloc), base + 3);
	CHECK_EQ(g.nfreed, 0);
	pt_gather_release(&g); /* empty: nothing happens */
	pt_destroy(pt);
	CHECK_EQ(mem_alloc_in_use(env.alloc), base);
	pt_env_fini(&env);
}

/* disown: the caller takes the pages over; the gather forgets them without freeing. */
static void test_gather_disown(void)
{
	struct pt_env env;
	struct pt_table *pt;
	struct pt_config cfg;
	struct pt_gather g;
	uint64_t base, n, pages[8];
	size_t k;

	CHECK(pt_env_init(&env, 64) == 0);
	base = mem_alloc_in_use(env.alloc);
	cfg = pt_cfg(&env, PT_FMT_VTD_SS, 4, PT_ALL_SIZES, 0);
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	CHECK_EQ(pt_map(pt, 0, 0, 4 * KB, PT_RW), 0);
	pt_gather_init(&g);
	CHECK_EQ(pt_unmap(pt, 0, 1ull << 39, &g, &n), 0); /* the level-3, -2 and -1 tables */
	CHECK_EQ(g.nfreed, 3);
	for (k = 0; k < g.nfreed; k++)
		pages[k] = g.freed[k];
	pt_gather_disown(&g);
	CHECK_EQ(g.nfreed, 0);
	CHECK_EQ(g.start, UINT64_MAX);
	CHECK_EQ(mem_alloc_in_use(env.alloc), base + 4); /* still the caller's to free */
	for (size_t i = 0; i < k; i++)
		CHECK_EQ(mem_free_page(env.alloc, pages[i]), 0);
	pt_gather_disown(&g); /* empty: nothing happens */
	pt_destroy(pt);
	CHECK_EQ(mem_alloc_in_use(env.alloc), base);
	pt_env_fini(&env);
}

/* A table left empty by partial unmaps is reused by a later map into its span. */
static void test_reuse_empty_table(void)
{
	struct pt_env env;
	struct pt_table *pt;
	struct pt_config cfg;
	struct pt_gather g;
	struct pt_mapping m;
	uint64_t base, n;

	CHECK(pt_env_init(&env, 64) == 0);
	base = mem_alloc_in_use(env.alloc);
	cfg = pt_cfg(&env, PT_FMT_VTD_SS, 3, PT_ALL_SIZES, 0);
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	CHECK_EQ(pt_map(pt, 4 * MB + 8 * KB, 0, 4 * KB, PT_RW), 0);
	pt_gather_init(&g);
	CHECK_EQ(pt_unmap(pt, 4 * MB + 8 * KB, 4 * KB, &g, &n), 0);
	CHECK_EQ(g.nfreed, 0);
	pt_gather_release(&g);
	CHECK_EQ(mem_alloc_in_use(env.alloc), base + 3);
	CHECK_EQ(pt_map(pt, 4 * MB, 6 * MB, 2 * MB, PT_RW), 0);
	CHECK_EQ(mem_alloc_in_use(env.alloc), base + 3);
	CHECK_EQ(pt_lookup(pt, 5 * MB, &m), 0);
	CHECK_EQ(m.paddr, 7 * MB);
	CHECK_EQ(m.pgsize, PT_PAGE_4K); /* written into the existing table */
	CHECK_EQ(pt_map(pt, 4 * MB, 6 * MB, 4 * KB, PT_RW), -EEXIST);
	pt_gather_init(&g);
	CHECK_EQ(pt_unmap(pt, 4 * MB, 2 * MB, &g, &n), 0);
	CHECK_EQ(n, 2 * MB);
	CHECK_EQ(g.nfreed, 1);
	pt_gather_release(&g);
	pt_destroy(pt);
	CHECK_EQ(mem_alloc_in_use(env.alloc), base);
	pt_env_fini(&env);
}

/* Reusing a table never puts a leaf at a level the table does not allow (4K+1G: no 2M). */
static void test_reuse_table_allowed_sizes_only(void)
{
	struct pt_env env;
	struct pt_table *pt;
	struct pt_config cfg;
	struct pt_gather g;
	struct pt_mapping m;
	uint64_t n;

	CHECK(pt_env_init(&env, 1024) == 0);
	cfg = pt_cfg(&env, PT_FMT_VTD_SS, 4, PT_PAGE_4K | PT_PAGE_1G, 0);
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	CHECK_EQ(pt_map(pt, GB + 100 * MB, 0, 4 * KB, PT_RW), 0);
	pt_gather_init(&g);
	CHECK_EQ(pt_unmap(pt, GB + 100 * MB, 4 * KB, &g, &n), 0);
	pt_gather_release(&g);
	/* The 1 GiB slot holds a table now: the range goes in as 4 KiB pages, never 2 MiB. */
	CHECK_EQ(pt_map(pt, GB, 0, GB, PT_RW), 0);
	CHECK_EQ(pt_lookup(pt, GB, &m), 0);
	CHECK_EQ(m.pgsize, PT_PAGE_4K);
	CHECK_EQ(pt_lookup(pt, GB + 6 * MB, &m), 0);
	CHECK_EQ(m.pgsize, PT_PAGE_4K);
	CHECK_EQ(m.paddr, 6 * MB);
	CHECK_EQ(pt_map(pt, 3 * GB, 0, GB, PT_RW), 0); /* an empty slot: one 1 GiB page */
	CHECK_EQ(pt_lookup(pt, 3 * GB + 5 * MB, &m), 0);
	CHECK_EQ(m.pgsize, PT_PAGE_1G);
	pt_destroy(pt);
	CHECK_EQ(mem_alloc_in_use(env.alloc), 0);
	pt_env_fini(&env);
}

static void test_create_errors(void)
{
	struct pt_env env;
	struct pt_table *pt = NULL;
	struct pt_config cfg;
	uint64_t base;

	CHECK(pt_env_init(&env, 2) == 0);
	base = mem_alloc_in_use(env.alloc);
	cfg = pt_cfg(&env, PT_FMT_X86_64, 4, PT_ALL_SIZES, 0);
	CHECK_EQ(pt_create(NULL, &pt), -EINVAL);
	CHECK_EQ(pt_create(&cfg, NULL), -EINVAL);
	cfg.alloc = NULL;
	CHECK_EQ(pt_create(&cfg, &pt), -EINVAL);
	cfg = pt_cfg(&env, (enum pt_format)7, 4, PT_ALL_SIZES, 0);
	CHECK_EQ(pt_create(&cfg, &pt), -EINVAL);
	cfg = pt_cfg(&env, (enum pt_format)0, 4, PT_ALL_SIZES, 0);
	CHECK_EQ(pt_create(&cfg, &pt), -EINVAL);
	/* Depths each format lacks. */
	static const struct {
		enum pt_format f;
		unsigned levels;
	} bad_levels[] = {{PT_FMT_X86_64, 3}, {PT_FMT_X86_64, 6}, {PT_FMT_X86_64, 0},
			  {PT_FMT_VTD_SS, 2}, {PT_FMT_VTD_SS, 6}, {PT_FMT_VTD_SS, 0}};
	for (unsigned i = 0; i < 6; i++) {
		cfg = pt_cfg(&env, bad_levels[i].f, bad_levels[i].levels, PT_PAGE_4K, 0);
		CHECK_EQ(pt_create(&cfg, &pt), -EINVAL);
	}
	static const uint64_t bad_sizes[] = {0, PT_PAGE_2M, PT_PAGE_1G | PT_PAGE_2M,
					     PT_PAGE_4K | (1ull << 39), PT_PAGE_4K | 8 * KB};
	for (unsigned i = 0; i < 5; i++) {
		cfg = pt_cfg(&env, PT_FMT_VTD_SS, 4, bad_sizes[i], 0);
		CHECK_EQ(pt_create(&cfg, &pt), -EINVAL);
	}
	cfg = pt_cfg(&env, PT_FMT_VTD_SS, 3, PT_PAGE_4K, 0);
	for (unsigned bits = 0; bits < 70; bits++) {
		cfg.iova_bits = bits;
		CHECK_EQ(pt_create(&cfg, &pt),
			 bits == 0 || (bits >= 12 && bits <= 39) ? 0 : -EINVAL);
		if (pt) {
			CHECK_EQ(pt_iova_limit(pt), 1ull << (bits ? bits : 39));
			pt_destroy(pt);
			pt = NULL;
		}
	}
	cfg = pt_cfg(&env, PT_FMT_X86_64, 4, PT_PAGE_4K, 0);
	cfg.iova_bits = 48; /* the upper canonical half is not used */
	CHECK_EQ(pt_create(&cfg, &pt), -EINVAL);
	cfg.iova_bits = 0;
	for (unsigned bits = 1; bits < 70; bits++) {
		cfg.oa_bits = bits;
		CHECK_EQ(pt_create(&cfg, &pt), bits >= 12 && bits <= 52 ? 0 : -EINVAL);
		pt_destroy(pt);
		pt = NULL;
	}
	cfg = pt_cfg(&env, PT_FMT_X86_64, 4, PT_PAGE_4K, 1u << 5);
	CHECK_EQ(pt_create(&cfg, &pt), -EINVAL);
	CHECK_EQ(mem_alloc_in_use(env.alloc), base);
	/* Out of pages for the root. */
	{
		uint64_t p[2];

		CHECK_EQ(mem_alloc_page(env.alloc, &p[0]), 0);
		CHECK_EQ(mem_alloc_page(env.alloc, &p[1]), 0);
		cfg = pt_cfg(&env, PT_FMT_X86_64, 4, PT_PAGE_4K, 0);
		CHECK_EQ(pt_create(&cfg, &pt), -ENOMEM);
		mem_free_page(env.alloc, p[0]);
		mem_free_page(env.alloc, p[1]);
	}
	pt_destroy(NULL);
	pt_env_fini(&env);
}

/* Each map error; after each the table maps exactly what it did before. */
static void test_map_errors(void)
{
	struct pt_env env;
	struct pt_table *pt;
	struct pt_config cfg;
	uint64_t out, lim;

	CHECK(pt_env_init(&env, 64) == 0);
	cfg = pt_cfg(&env, PT_FMT_X86_64, 4, PT_ALL_SIZES, 0);
	cfg.oa_bits = 40;
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	lim = pt_iova_limit(pt);
	CHECK_EQ(pt_map(NULL, 0, 0, 4 * KB, PT_RW), -EINVAL);
	CHECK_EQ(pt_map(pt, 0, 0, 0, PT_RW), -EINVAL);
	CHECK_EQ(pt_map(pt, 1, 0, 4 * KB, PT_RW), -EINVAL);
	CHECK_EQ(pt_map(pt, 0, 2048, 4 * KB, PT_RW), -EINVAL);
	CHECK_EQ(pt_map(pt, 0, 0, 4 * KB + 8, PT_RW), -EINVAL);
	CHECK_EQ(pt_map(pt, lim, 0, 4 * KB, PT_RW), -EINVAL);
	CHECK_EQ(pt_map(pt, lim - 4 * KB, 0, 8 * KB, PT_RW), -EINVAL);
	CHECK_EQ(pt_map(pt, 4 * KB, 0, UINT64_MAX & ~(4 * KB - 1), PT_RW), -EINVAL); /* wraps */
	CHECK_EQ(pt_map(pt, 0, 1ull << 40, 4 * KB, PT_RW), -EINVAL);
	CHECK_EQ(pt_map(pt, 0, (1ull << 40) - 4 * KB, 8 * KB, PT_RW), -EINVAL);
	CHECK_EQ(pt_map(pt, lim - 4 * KB, (1ull << 40) - 4 * KB, 4 * KB, PT_RW), 0);
	/* First stage: READ needed, no SNOOP, no EXEC without PT_CFG_EXEC, no unknown bits. */
	CHECK_EQ(pt_map(pt, 0, 0, 4 * KB, 0), -EINVAL);
	CHECK_EQ(pt_map(pt, 0, 0, 4 * KB, PT_PROT_WRITE), -EINVAL);
	CHECK_EQ(pt_map(pt, 0, 0, 4 * KB, PT_RW | PT_PROT_SNOOP), -EINVAL);
	CHECK_EQ(pt_map(pt, 0, 0, 4 * KB, PT_RW | PT_PROT_EXEC), -EINVAL);
	CHECK_EQ(pt_map(pt, 0, 0, 4 * KB, PT_RW | (1u << 9)), -EINVAL);
	CHECK_EQ(pt_iova_to_phys(pt, 0, &out), -ENOENT);
	/* -EEXIST at every level, and the part written before the clash is undone. */
	CHECK_EQ(pt_map(pt, 4 * MB, 4 * MB, 2 * MB, PT_RW), 0);		  /* a 2 MiB leaf */
	CHECK_EQ(pt_map(pt, GB + 12 * KB, 0, 4 * KB, PT_RW), 0);	  /* a 4 KiB leaf */
	CHECK_EQ(pt_map(pt, 4 * MB + 8 * KB, 0, 4 * KB, PT_RW), -EEXIST); /* under the 2M */
	CHECK_EQ(pt_map(pt, 2 * MB, 0, 4 * MB, PT_RW), -EEXIST);	  /* 2M then clash */
	CHECK_EQ(expect_range(pt, 2 * MB, 4 * MB, 0, false), 0);
	CHECK_EQ(pt_map(pt, GB - 8 * KB, 5 * GB, 24 * KB, PT_RW), -EEXIST);
	CHECK_EQ(expect_range(pt, GB - 8 * KB, GB + 12 * KB, 0, false), 0);
	CHECK_EQ(pt_map(pt, 0, 0, 2 * GB, PT_RW), -EEXIST);
	CHECK_EQ(expect_range(pt, 0, 4 * MB, 0, false), 0);
	CHECK_EQ(expect_range(pt, 4 * MB, 6 * MB, 0, true), 0);
	CHECK_EQ(expect_range(pt, 6 * MB, GB + 12 * KB, 0, false), 0);
	CHECK_EQ(pt_iova_to_phys(pt, GB + 12 * KB, &out), 0);
	CHECK_EQ(out, 0);
	CHECK_EQ(pt_map(pt, 4 * MB, 4 * MB, 2 * MB, PT_RW), -EEXIST); /* the same again */
	pt_destroy(pt);
	pt_env_fini(&env);
}

static void test_map_enomem_rolls_back(void)
{
	struct pt_env env;
	struct pt_table *pt;
	struct pt_config cfg;
	struct pt_gather g;
	uint64_t base, n, out;

	/* Root + level 3 + level 2 + one level 1 table: a 4 KiB run needing a second fails. */
	CHECK(pt_env_init(&env, 4) == 0);
	base = mem_alloc_in_use(env.alloc);
	cfg = pt_cfg(&env, PT_FMT_X86_64, 4, PT_PAGE_4K, 0);
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	CHECK_EQ(pt_map(pt, 2 * MB - 8 * KB, 0, 16 * KB, PT_RW), -ENOMEM);
	CHECK_EQ(expect_range(pt, 0, 4 * MB, 0, false), 0);
	CHECK_EQ(pt_iova_to_phys(pt, 2 * MB - 8 * KB, &out), -ENOENT);
	CHECK_EQ(pt_iova_to_phys(pt, 2 * MB - 4 * KB, &out), -ENOENT);
	CHECK_EQ(mem_alloc_in_use(env.alloc), base + 4); /* the tables stay, empty */
	/* Still usable where tables exist, and they are freed by a covering unmap. */
	CHECK_EQ(pt_map(pt, 2 * MB - 8 * KB, 0, 8 * KB, PT_RW), 0);
	pt_gather_init(&g);
	CHECK_EQ(pt_unmap(pt, 0, 1ull << 39, &g, &n), 0);
	CHECK_EQ(n, 8 * KB);
	CHECK_EQ(g.nfreed, 3);
	pt_gather_release(&g);
	CHECK_EQ(mem_alloc_in_use(env.alloc), base + 1);
	pt_destroy(pt);
	CHECK_EQ(mem_alloc_in_use(env.alloc), base);
	pt_env_fini(&env);
}

static void test_unmap_errors(void)
{
	struct pt_env env, other;
	struct pt_table *pt, *pt2;
	struct pt_config cfg;
	struct pt_gather g;
	uint64_t n, lim, page, page2;

	CHECK(pt_env_init(&env, 6) == 0);
	CHECK(pt_env_init(&other, 4) == 0);
	cfg = pt_cfg(&env, PT_FMT_VTD_SS, 4, PT_ALL_SIZES, 0);
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	lim = pt_iova_limit(pt);
	pt_gather_init(&g);
	n = 77;
	CHECK_EQ(pt_unmap(NULL, 0, 4 * KB, &g, &n), -EINVAL);
	CHECK_EQ(n, 0);
	CHECK_EQ(pt_unmap(pt, 0, 4 * KB, NULL, &n), -EINVAL);
	CHECK_EQ(pt_unmap(pt, 0, 0, &g, &n), -EINVAL);
	CHECK_EQ(pt_unmap(pt, 512, 4 * KB, &g, &n), -EINVAL);
	CHECK_EQ(pt_unmap(pt, 0, 4 * KB + 1, &g, &n), -EINVAL);
	CHECK_EQ(pt_unmap(pt, lim, 4 * KB, &g, &n), -EINVAL);
	CHECK_EQ(pt_unmap(pt, lim - 4 * KB, 8 * KB, &g, &n), -EINVAL);
	CHECK_EQ(pt_unmap(pt, 8 * KB, UINT64_MAX & ~(4 * KB - 1), &g, &n), -EINVAL);
	CHECK_EQ(pt_unmap(pt, 0, 4 * KB, &g, NULL), 0); /* *unmapped is optional */
	/* A gather bound to one allocator refuses another's table. */
	cfg = pt_cfg(&other, PT_FMT_VTD_SS, 4, PT_ALL_SIZES, 0);
	CHECK_EQ(pt_create(&cfg, &pt2), 0);
	CHECK_EQ(pt_unmap(pt2, 0, 4 * KB, &g, &n), -EINVAL);
	pt_destroy(pt2);
	pt_gather_release(&g);
	/* Two 2 MiB pages; a range over half of each needs two splits; one page is free. */
	CHECK_EQ(pt_map(pt, 0, 8 * MB, 4 * MB, PT_RW), 0); /* root + L3 + L2 = 3 of 6 */
	CHECK_EQ(mem_alloc_page(env.alloc, &page2), 0);	   /* leave one page */
	CHECK_EQ(mem_alloc_page(env.alloc, &page), 0);
	pt_gather_init(&g);
	CHECK_EQ(pt_unmap(pt, MB, 2 * MB, &g, &n), -ENOMEM);
	CHECK_EQ(n, 0);
	CHECK_EQ(g.start, UINT64_MAX);
	pt_gather_release(&g);
	CHECK_EQ(expect_range(pt, 0, 4 * MB, 8 * MB, true), 0);
	mem_free_page(env.alloc, page);
	pt_gather_init(&g);
	CHECK_EQ(pt_unmap(pt, MB, 2 * MB, &g, &n), 0);
	CHECK_EQ(n, 2 * MB);
	pt_gather_release(&g);
	CHECK_EQ(expect_range(pt, 0, MB, 8 * MB, true), 0);
	CHECK_EQ(expect_range(pt, MB, 3 * MB, 8 * MB, false), 0);
	CHECK_EQ(expect_range(pt, 3 * MB, 4 * MB, 8 * MB, true), 0);
	mem_free_page(env.alloc, page2);
	pt_destroy(pt);
	CHECK_EQ(mem_alloc_in_use(env.alloc), 0);
	pt_env_fini(&env);
	pt_env_fini(&other);
}

static void test_lookup_errors(void)
{
	struct pt_env env;
	struct pt_table *pt;
	struct pt_config cfg;
	struct pt_mapping m;
	uint64_t out;

	CHECK(pt_env_init(&env, 8) == 0);
	cfg = pt_cfg(&env, PT_FMT_X86_64, 5, PT_ALL_SIZES, 0);
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	CHECK_EQ(pt_iova_to_phys(pt, 1ull << 56, &out), -EINVAL);
	CHECK_EQ(pt_iova_to_phys(pt, UINT64_MAX, &out), -EINVAL);
	CHECK_EQ(pt_iova_to_phys(pt, 0, NULL), -EINVAL);
	CHECK_EQ(pt_iova_to_phys(NULL, 0, &out), -EINVAL);
	CHECK_EQ(pt_lookup(pt, 0, NULL), -EINVAL);
	CHECK_EQ(pt_lookup(pt, (1ull << 56) - 1, &m), -ENOENT);
	CHECK_EQ(pt_iova_to_phys(pt, 0, &out), -ENOENT);
	pt_destroy(pt);
	pt_env_fini(&env);
}

/* What goes in comes back out, for every protection each format accepts. */
static void test_prot_roundtrip(void)
{
	struct pt_env env;
	struct pt_table *pt;
	struct pt_config cfg;
	struct pt_mapping m;
	unsigned accepted;

	CHECK(pt_env_init(&env, 64) == 0);
	for (unsigned f = 0; f < 4; f++) {
		unsigned flags = (f & 1) ? PT_CFG_EXEC | PT_CFG_SET_AD : 0;

		cfg = pt_cfg(&env, f & 2 ? PT_FMT_VTD_SS : PT_FMT_X86_64, 4, PT_ALL_SIZES, flags);
		CHECK_EQ(pt_create(&cfg, &pt), 0);
		accepted = 0;
		for (unsigned prot = 0; prot < 32; prot++) {
			uint64_t iova = prot * 2 * MB + ((prot & 1) ? 0 : 4 * KB);
			int ret = pt_map(pt, iova, 0, prot & 1 ? 2 * MB : 4 * KB, prot);

			if (ret)
				continue;
			accepted++;
			CHECK_EQ(pt_lookup(pt, iova, &m), 0);
			CHECK_EQ(m.prot, prot);
		}
		/* x86: READ with any of WRITE/PRIV (+EXEC); SS: any non-empty R/W (+X, SNP). */
		CHECK_EQ(accepted, (f & 2 ? 3 * 2 : 4) * (f & 1 ? 2 : 1));
		pt_destroy(pt);
	}
	pt_env_fini(&env);
}

/* A memory backend without a direct mapping: every entry goes through mem_read/write. */
struct buf_mem {
	uint8_t *bytes;
};

static int buf_read(void *ctx, uint64_t pa, void *buf, size_t len)
{
	memcpy(buf, ((struct buf_mem *)ctx)->bytes + pa, len);
	return 0;
}

static int buf_write(void *ctx, uint64_t pa, const void *buf, size_t len)
{
	memcpy(((struct buf_mem *)ctx)->bytes + pa, buf, len);
	return 0;
}

static void test_indirect_backend(void)
{
	static const struct mem_ops ops = {.read = buf_read, .write = buf_write};
	struct buf_mem bm = {calloc(1, 64 * 4096)};
	struct mem_alloc *a;
	struct mem *m;
	struct pt_table *pt;
	struct pt_config cfg = {PT_FMT_X86_64, 4, PT_ALL_SIZES, 0, 0, PT_CFG_SET_AD, NULL};
	struct pt_gather g;
	uint64_t n;

	CHECK(bm.bytes);
	m = mem_create(&ops, &bm, 64 * 4096);
	CHECK(m);
	CHECK(mem_ptr(m, 0, 8) == NULL);
	CHECK_EQ(mem_alloc_create(m, 0, 64 * 4096, &a), 0);
	cfg.alloc = a;
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	CHECK_EQ(pt_map(pt, GB, 0, GB + 2 * MB + 4 * KB, PT_RW), 0);
	CHECK_EQ(pt_map(pt, 3 * GB, 5 * GB, 4 * KB, PT_RW), 0); /* one page: the general path */
	CHECK_EQ(pt_map(pt, 3 * GB, 5 * GB, 4 * KB, PT_RW), -EEXIST);
	CHECK_EQ(pt_iova_to_phys(pt, 3 * GB + 8, &n), 0);
	CHECK_EQ(n, 5 * GB + 8);
	pt_gather_init(&g);
	CHECK_EQ(pt_unmap(pt, GB + 2 * MB - 4 * KB, 8 * KB, &g, &n), 0);
	CHECK_EQ(n, 8 * KB);
	pt_gather_release(&g);
	CHECK_EQ(expect_range(pt, GB, GB + 2 * MB - 4 * KB, -GB, true), 0);
	CHECK_EQ(expect_range(pt, GB + 2 * MB + 4 * KB, 2 * GB + 2 * MB + 4 * KB, -GB, true), 0);
	CHECK_EQ(pt_iova_to_phys(pt, GB + 2 * MB, &n), -ENOENT);
	pt_gather_init(&g);
	CHECK_EQ(pt_unmap(pt, 0, 1ull << 39, &g, &n), 0);
	CHECK_EQ(n, GB + 2 * MB - 4 * KB + 4 * KB);
	pt_gather_release(&g);
	CHECK_EQ(mem_alloc_in_use(a), 1);
	pt_destroy(pt);
	CHECK_EQ(mem_alloc_in_use(a), 0);
	mem_alloc_destroy(a);
	mem_destroy(m);
	free(bm.bytes);
}

/* A table pointer scribbled outside memory is an error, never a stray access. */
static void test_corrupt_pointer(void)
{
	struct pt_env env;
	struct pt_table *pt;
	struct pt_config cfg;
	struct pt_gather g;
	uint64_t out, n, e;

	CHECK(pt_env_init(&env, 8) == 0);
	cfg = pt_cfg(&env, PT_FMT_VTD_SS, 3, PT_ALL_SIZES, 0);
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	CHECK_EQ(pt_map(pt, GB, 0, 4 * KB, PT_RW), 0);
	CHECK_EQ(mem_read64(env.mem, pt_root(pt) + 8, &e), 0);
	CHECK_EQ(mem_write64(env.mem, pt_root(pt) + 8, (1ull << 45) | 3), 0);
	CHECK_EQ(pt_iova_to_phys(pt, GB, &out), -EFAULT);
	CHECK_EQ(pt_map(pt, GB + 4 * KB, 0, 4 * KB, PT_RW), -EFAULT);
	pt_gather_init(&g);
	CHECK_EQ(pt_unmap(pt, GB + 4 * KB, 4 * KB, &g, &n), -EFAULT);
	pt_gather_release(&g);
	CHECK_EQ(mem_write64(env.mem, pt_root(pt) + 8, e), 0);
	CHECK_EQ(pt_iova_to_phys(pt, GB, &out), 0);
	pt_destroy(pt);
	CHECK_EQ(mem_alloc_in_use(env.alloc), 0);
	pt_env_fini(&env);
}

int main(void)
{
	RUN(test_every_page_size_every_shape);
	RUN(test_largest_pages_mixed);
	RUN(test_split_1g_2m_4k);
	RUN(test_split_1g_without_2m);
	RUN(test_unmap_holes);
	RUN(test_gather_holds_freed_tables);
	RUN(test_gather_disown);
	RUN(test_reuse_empty_table);
	RUN(test_reuse_table_allowed_sizes_only);
	RUN(test_create_errors);
	RUN(test_map_errors);
	RUN(test_map_enomem_rolls_back);
	RUN(test_unmap_errors);
	RUN(test_lookup_errors);
	RUN(test_prot_roundtrip);
	RUN(test_indirect_backend);
	RUN(test_corrupt_pointer);
	return CHECK_DONE();
}
