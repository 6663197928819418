// SPDX-License-Identifier: MIT
/*
 * The bits written match the specifications. This test walks the tables itself, from the
 * raw 64-bit words in memory, with the bit positions of the VT-d digest (section 4.1 for
 * the first stage, 4.2 for the second) written out here independently of the library.
 */
#include "pt_test.h"

/* Digest section 4.1, first-stage entry. */
#define FS_P  (1ull << 0)
#define FS_RW (1ull << 1)
#define FS_US (1ull << 2)
#define FS_A  (1ull << 5)
#define FS_D  (1ull << 6)
#define FS_PS (1ull << 7)
#define FS_XD (1ull << 63)
/* Digest section 4.2, second-stage entry. */
#define SS_R	   (1ull << 0)
#define SS_W	   (1ull << 1)
#define SS_X	   (1ull << 2)
#define SS_PS	   (1ull << 7)
#define SS_A	   (1ull << 8)
#define SS_D	   (1ull << 9)
#define SS_SNP	   (1ull << 11)
#define ADDR_51_12 0x000ffffffffff000ull

/* An IOVA whose index differs at every level, so a wrong shift shows. */
#define IOVA_4K ((3ull << 39) | (5ull << 30) | (7ull << 21) | (9ull << 12))

/*
 * Walk from the root; entries[l] is the entry used at level l. Returns the leaf's level, or
 * 0 if a level had nothing. `present` is the mask that means present in this format.
 */
static unsigned raw_walk(struct mem *m, uint64_t root, unsigned levels, uint64_t iova,
			 uint64_t present, uint64_t entries[6])
{
	uint64_t t = root;

	for (unsigned l = levels; l >= 1; l--) {
		uint64_t e = 0;

		if (mem_read64(m, t + 8 * ((iova >> (12 + 9 * (l - 1))) & 511), &e))
			return 0;
		entries[l] = e;
		if (!(e & present))
			return 0;
		if (l == 1 || (e & FS_PS)) /* bit 7 is PS in both formats */
			return l;
		t = e & ADDR_51_12;
	}
	return 0;
}

struct case_ {
	enum pt_format format;
	unsigned levels, flags, prot;
	uint64_t iova, pa, size;
	uint64_t table_bits; /* the exact bits (besides the address) of every non-leaf entry */
	uint64_t leaf_bits;  /* the exact bits (besides the address) of the leaf */
	unsigned leaf_level;
};

static const struct case_ cases[] = {
    /* First stage: tables P|RW|U; a kernel-DMA leaf P|RW|U. */
    {PT_FMT_X86_64, 4, 0, PT_RW, IOVA_4K, 0x123456000, 4 * KB, FS_P | FS_RW | FS_US,
     FS_P | FS_RW | FS_US, 1},
    {PT_FMT_X86_64, 4, 0, PT_PROT_READ, IOVA_4K, 0x1000, 4 * KB, FS_P | FS_RW | FS_US, FS_P | FS_US,
     1},
    {PT_FMT_X86_64, 4, 0, PT_RW | PT_PROT_PRIV, IOVA_4K, 0x1000, 4 * KB, FS_P | FS_RW | FS_US,
     FS_P | FS_RW, 1},
    /* A/D preset; XD on leaves that may not execute, never on tables. */
    {PT_FMT_X86_64, 4, PT_CFG_SET_AD | PT_CFG_EXEC, PT_PROT_READ, IOVA_4K, 0x1000, 4 * KB,
     FS_P | FS_RW | FS_US | FS_A, FS_P | FS_US | FS_A | FS_XD, 1},
    {PT_FMT_X86_64, 4, PT_CFG_SET_AD | PT_CFG_EXEC, PT_RW | PT_PROT_EXEC, IOVA_4K, 0x1000, 4 * KB,
     FS_P | FS_RW | FS_US | FS_A, FS_P | FS_RW | FS_US | FS_A | FS_D, 1},
    /* Large pages: PS in the PDE (2 MiB) and the PDPE (1 GiB). */
    {PT_FMT_X86_64, 4, 0, PT_RW, IOVA_4K & ~(2 * MB - 1), 0x40200000, 2 * MB, FS_P | FS_RW | FS_US,
     FS_P | FS_RW | FS_US | FS_PS, 2},
    {PT_FMT_X86_64, 4, 0, PT_RW, IOVA_4K & ~(GB - 1), 0x7c0000000, GB, FS_P | FS_RW | FS_US,
     FS_P | FS_RW | FS_US | FS_PS, 3},
    {PT_FMT_X86_64, 5, 0, PT_RW, IOVA_4K | (77ull << 48), 0x5000, 4 * KB, FS_P | FS_RW | FS_US,
     FS_P | FS_RW | FS_US, 1},
    {PT_FMT_X86_64, 5, PT_CFG_SET_AD, PT_RW, (77ull << 48) | GB, 0x40000000, GB,
     FS_P | FS_RW | FS_US | FS_A, FS_P | FS_RW | FS_US | FS_A | FS_D | FS_PS, 3},
    /* Second stage: tables R|W; leaves R, W, X, SNP as asked. */
    {PT_FMT_VTD_SS, 4, 0, PT_RW, IOVA_4K, 0xfedc000, 4 * KB, SS_R | SS_W, SS_R | SS_W, 1},
    {PT_FMT_VTD_SS, 4, 0, PT_PROT_READ, IOVA_4K, 0x1000, 4 * KB, SS_R | SS_W, SS_R, 1},
    {PT_FMT_VTD_SS, 4, 0, PT_PROT_WRITE, IOVA_4K, 0x1000, 4 * KB, SS_R | SS_W, SS_W, 1},
    {PT_FMT_VTD_SS, 4, 0, PT_RW | PT_PROT_SNOOP, IOVA_4K, 0x1000, 4 * KB, SS_R | SS_W,
     SS_R | SS_W | SS_SNP, 1},
    {PT_FMT_VTD_SS, 4, PT_CFG_EXEC | PT_CFG_SET_AD, PT_PROT_READ | PT_PROT_EXEC, IOVA_4K, 0x1000,
     4 * KB, SS_R | SS_W | SS_X | SS_A, SS_R | SS_X | SS_A, 1},
    {PT_FMT_VTD_SS, 4, PT_CFG_SET_AD, PT_RW, IOVA_4K, 0x1000, 4 * KB, SS_R | SS_W | SS_A,
     SS_R | SS_W | SS_A | SS_D, 1},
    {PT_FMT_VTD_SS, 3, 0, PT_RW, IOVA_4K &((1ull << 39) - 1) & ~(2 * MB - 1), 0xa00000, 2 * MB,
     SS_R | SS_W, SS_R | SS_W | SS_PS, 2},
    {PT_FMT_VTD_SS, 3, 0, PT_RW | PT_PROT_SNOOP, 5 * GB, 0xfc0000000, GB, SS_R | SS_W,
     SS_R | SS_W | SS_SNP | SS_PS, 3},
    {PT_FMT_VTD_SS, 5, 0, PT_RW, IOVA_4K | (300ull << 48), 0x1000, 4 * KB, SS_R | SS_W, SS_R | SS_W,
     1},
};

static int check_case(const struct case_ *c, const struct pt_env *env)
{
	struct pt_config cfg = pt_cfg(env, c->format, c->levels, PT_ALL_SIZES, c->flags);
	uint64_t present = c->format == PT_FMT_X86_64 ? FS_P : SS_R | SS_W;
	uint64_t e[6] = {0};
	struct pt_table *pt;
	unsigned leaf;

	CHECK_RET(pt_create(&cfg, &pt) == 0);
	CHECK_RET(pt_map(pt, c->iova, c->pa, c->size, c->prot) == 0);
	leaf = raw_walk(env->mem, pt_root(pt), c->levels, c->iova, present, e);
	CHECK_RET(leaf == c->leaf_level);
	for (unsigned l = c->levels; l > leaf; l--) {
		uint64_t next = e[l] & ADDR_51_12;

		/* Exactly the table bits, and an address that is a page of the allocator. */
		if ((e[l] & ~ADDR_51_12) != c->table_bits)
			fprintf(stderr, "level %u entry 0x%llx\n", l, (unsigned long long)e[l]);
		CHECK_RET((e[l] & ~ADDR_51_12) == c->table_bits);
		CHECK_RET(next >= MB && next < MB + 64 * MEM_PAGE_SIZE);
	}
	if ((e[leaf] & ~ADDR_51_12) != c->leaf_bits)
		fprintf(stderr, "leaf 0x%llx\n", (unsigned long long)e[leaf]);
	CHECK_RET((e[leaf] & ~ADDR_51_12) == c->leaf_bits);
	CHECK_RET((e[leaf] & ADDR_51_12) == c->pa);
	pt_destroy(pt);
	return 0;
}

static void test_entry_bits(void)
{
	struct pt_env env;

	CHECK(pt_env_init(&env, 64) == 0);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (check_case(&cases[i], &env)) {
			fprintf(stderr, "case %u\n", i);
			CHECK(0);
		}
	}
	CHECK_EQ(mem_alloc_in_use(env.alloc), 0);
	pt_env_fini(&env);
}

/* A split keeps every attribute; the 4 KiB leaves lose PS, the pointer is a table entry. */
static void test_split_bits(void)
{
	struct pt_env env;
	struct pt_config cfg;
	struct pt_table *pt;
	struct pt_gather g;
	uint64_t e[6] = {0}, n, iova = 6 * GB + 3 * MB;

	CHECK(pt_env_init(&env, 64) == 0);
	cfg = pt_cfg(&env, PT_FMT_VTD_SS, 4, PT_ALL_SIZES, PT_CFG_EXEC);
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	CHECK_EQ(pt_map(pt, 6 * GB, GB, GB, PT_PROT_READ | PT_PROT_EXEC | PT_PROT_SNOOP), 0);
	pt_gather_init(&g);
	CHECK_EQ(pt_unmap(pt, iova, 4 * KB, &g, &n), 0);
	pt_gather_release(&g);
	CHECK_EQ(raw_walk(env.mem, pt_root(pt), 4, iova + 4 * KB, SS_R | SS_W, e), 1);
	CHECK_EQ(e[3] & ~ADDR_51_12, SS_R | SS_W | SS_X);
	CHECK_EQ(e[2] & ~ADDR_51_12, SS_R | SS_W | SS_X);
	CHECK_EQ(e[1], (GB + 3 * MB + 4 * KB) | SS_R | SS_X | SS_SNP);
	CHECK_EQ(raw_walk(env.mem, pt_root(pt), 4, 6 * GB + 5 * MB, SS_R | SS_W, e), 2);
	CHECK_EQ(e[2], (GB + 4 * MB) | SS_R | SS_X | SS_SNP | SS_PS);
	CHECK_EQ(raw_walk(env.mem, pt_root(pt), 4, iova, SS_R | SS_W, e), 0);
	CHECK_EQ(e[1], 0);
	pt_destroy(pt);

	cfg = pt_cfg(&env, PT_FMT_X86_64, 4, PT_ALL_SIZES, PT_CFG_SET_AD | PT_CFG_EXEC);
	CHECK_EQ(pt_create(&cfg, &pt), 0);
	CHECK_EQ(pt_map(pt, 2 * MB, 4 * MB, 2 * MB, PT_RW | PT_PROT_PRIV), 0);
	pt_gather_init(&g);
	CHECK_EQ(pt_unmap(pt, 2 * MB, 4 * KB, &g, &n), 0);
	pt_gather_release(&g);
	CHECK_EQ(raw_walk(env.mem, pt_root(pt), 4, 4 * MB - 4 * KB, FS_P, e), 1);
	CHECK_EQ(e[2] & ~ADDR_51_12, FS_P | FS_RW | FS_US | FS_A);
	CHECK_EQ(e[1], (6 * MB - 4 * KB) | FS_P | FS_RW | FS_A | FS_D | FS_XD);
	pt_destroy(pt);
	CHECK_EQ(mem_alloc_in_use(env.alloc), 0);
	pt_env_fini(&env);
}

int main(void)
{
	RUN(test_entry_bits);
	RUN(test_split_bits);
	return CHECK_DONE();
}
