// SPDX-License-Identifier: MIT
/*
 * The shortcuts through directly mapped memory - the one-page map (an unrolled descent
 * and one store) and the level-1 unmap loop - against the general paths: the same script
 * runs on a backend with a direct mapping and on one without (where every entry goes
 * through mem_read/mem_write and no shortcut applies), in every shape, and both must give
 * the same results: leaves, -EEXIST at each level, -EFAULT for a table pointer outside
 * memory, bytes unmapped, the gathered range, and what stays mapped.
 */
#include "pt_test.h"

#include <stdbool.h>
#include <string.h>

#define MEM_BYTES  (MB + 64 * MEM_PAGE_SIZE)
#define RESULTS	   64
#define PATTERNS   40
#define LEAF_SHIFT 12

/* A memory backend without a direct mapping. */
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

static const struct mem_ops buf_ops = {.read = buf_read, .write = buf_write};

/* One backend: memory, its allocator, and whether entries are reached directly. */
struct backend {
	struct mem *mem;
	struct mem_alloc *alloc;
	struct buf_mem buf;
};

static int backend_init(struct backend *b, bool direct)
{
	memset(b, 0, sizeof(*b));
	if (direct) {
		b->mem = mem_create_sparse(MEM_BYTES);
	} else {
		b->buf.bytes = calloc(1, MEM_BYTES);
		b->mem = b->buf.bytes ? mem_create(&buf_ops, &b->buf, MEM_BYTES) : NULL;
	}
	if (!b->mem || (mem_ptr(b->mem, 0, 8) != NULL) != direct)
		return -1;
	return mem_alloc_create(b->mem, MB, 64 * MEM_PAGE_SIZE, &b->alloc);
}

static void backend_fini(struct backend *b)
{
	mem_alloc_destroy(b->alloc);
	mem_destroy(b->mem);
	free(b->buf.bytes);
}

static struct pt_table *make_table(struct backend *b, const struct pt_shape *s)
{
	struct pt_config cfg = {.format = s->format,
				.levels = s->levels,
				.page_sizes = PT_ALL_SIZES,
				.alloc = b->alloc};
	struct pt_table *pt = NULL;

	return pt_create(&cfg, &pt) ? NULL : pt;
}

/* An IOVA whose index is 5 + level at every level (non-zero everywhere, lower half). */
static uint64_t deep_iova(unsigned levels)
{
	uint64_t iova = 0;

	for (unsigned l = 1; l <= levels; l++)
		iova |= (uint64_t)(5 + l) << (LEAF_SHIFT + 9 * (l - 1));
	return iova;
}

/* The physical address of the entry for `iova` at `level` (the path must exist). */
static uint64_t entry_pa(struct pt_table *pt, struct mem *m, uint64_t iova, unsigned level)
{
	uint64_t t = pt_root(pt), e = 0;

	for (unsigned l = pt_levels(pt); l > level; l--) {
		if (mem_read64(m, t + 8 * ((iova >> (LEAF_SHIFT + 9 * (l - 1))) & 511), &e))
			return 0;
		t = e & 0x000ffffffffff000ull;
	}
	return t + 8 * ((iova >> (LEAF_SHIFT + 9 * (level - 1))) & 511);
}

/*
 * The one-page script: results of each step in r[], translations checked as it goes.
 * One page where tables are missing (the general path), one next to it (the shortcut),
 * the same page again, pages under a 2 MiB and a 1 GiB leaf, and a table pointer outside
 * memory at each level above the leaves.
 */
static int one_page_script(struct backend *b, const struct pt_shape *s, int *r, size_t *n)
{
	struct pt_table *pt = make_table(b, s);
	uint64_t a = deep_iova(s->levels), pa = 0x12345000ull, out = 0, epa, saved;
	uint64_t big2m = (a & ~(2 * MB - 1)) + 4 * 2 * MB, big1g = (a & ~(GB - 1)) + 4 * GB;
	struct pt_gather g;

	CHECK_RET(pt);
	*n = 0;
	r[(*n)++] = pt_map(pt, a, pa, 4 * KB, PT_RW);
	r[(*n)++] = pt_map(pt, a + 4 * KB, pa + 8 * KB, 4 * KB, PT_PROT_READ);
	r[(*n)++] = pt_map(pt, a + 4 * KB, pa, 4 * KB, PT_RW);
	r[(*n)++] = pt_map(pt, a, pa, 4 * KB, PT_RW);
	CHECK_RET(pt_iova_to_phys(pt, a + 4 * KB + 5, &out) == 0 && out == pa + 8 * KB + 5);
	CHECK_RET(pt_iova_to_phys(pt, a + 8, &out) == 0 && out == pa + 8);
	/* Under large leaves: -EEXIST at levels 2 and 3. */
	r[(*n)++] = pt_map(pt, big2m, 4 * MB, 2 * MB, PT_RW);
	r[(*n)++] = pt_map(pt, big2m + 8 * KB, 0, 4 * KB, PT_RW);
	r[(*n)++] = pt_map(pt, big1g, 2 * GB, GB, PT_RW);
	r[(*n)++] = pt_map(pt, big1g + 12 * KB, 0, 4 * KB, PT_RW);
	CHECK_RET(pt_iova_to_phys(pt, big2m + 8 * KB, &out) == 0 && out == 4 * MB + 8 * KB);
	CHECK_RET(pt_iova_to_phys(pt, big1g + 12 * KB, &out) == 0 && out == 2 * GB + 12 * KB);
	/* A pointer outside memory at each level: an error, nothing written. */
	for (unsigned level = s->levels; level > 1; level--) {
		epa = entry_pa(pt, b->mem, a, level);
		CHECK_RET(epa && mem_read64(b->mem, epa, &saved) == 0);
		CHECK_RET(mem_write64(b->mem, epa, (1ull << 45) | 3) == 0);
		r[(*n)++] = pt_map(pt, a + 16 * KB, pa, 4 * KB, PT_RW);
		CHECK_RET(mem_write64(b->mem, epa, saved) == 0);
		CHECK_RET(pt_iova_to_phys(pt, a + 16 * KB, &out) == -ENOENT);
	}
	/* Out-of-range pieces of one page still refused before any walk. */
	r[(*n)++] = pt_map(pt, pt_iova_limit(pt), pa, 4 * KB, PT_RW);
	r[(*n)++] = pt_map(pt, a + 2 * KB, pa, 4 * KB, PT_RW);
	r[(*n)++] = pt_map(pt, a + 16 * KB, pa, 4 * KB, 1u << 9);
	CHECK_RET(pt_iova_to_phys(pt, a + 16 * KB, &out) == -ENOENT);
	pt_gather_init(&g);
	CHECK_RET(pt_unmap(pt, a, 8 * KB, &g, &out) == 0 && out == 8 * KB);
	CHECK_RET(g.start == a && g.end == a + 8 * KB);
	pt_gather_release(&g);
	pt_destroy(pt);
	CHECK_RET(mem_alloc_in_use(b->alloc) == 0);
	return 0;
}

static void test_one_page_every_shape(void)
{
	static const int want_head[] = {0, 0, -EEXIST, -EEXIST, 0, -EEXIST, 0, -EEXIST};

	for (size_t i = 0; i < PT_NSHAPES; i++) {
		const struct pt_shape *s = &pt_shapes[i];
		int r[2][RESULTS];
		size_t n[2];

		for (int direct = 0; direct < 2; direct++) {
			struct backend b;

			CHECK(backend_init(&b, direct) == 0);
			CHECK_EQ(one_page_script(&b, s, r[direct], &n[direct]), 0);
			backend_fini(&b);
		}
		CHECK_EQ(n[0], n[1]);
		CHECK_EQ(n[1], 8 + (s->levels - 1) + 3);
		for (size_t k = 0; k < n[1]; k++) {
			if (r[0][k] != r[1][k])
				fprintf(stderr, "%s: step %zu: %d without, %d with a direct map\n",
					s->name, k, r[0][k], r[1][k]);
			CHECK_EQ(r[0][k], r[1][k]);
			if (k < 8)
				CHECK_EQ(r[1][k], want_head[k]);
			else if (k < 8 + s->levels - 1)
				CHECK_EQ(r[1][k], -EFAULT);
			else
				CHECK_EQ(r[1][k], -EINVAL);
		}
	}
}

/*
 * Level-1 unmaps inside one leaf table: random patterns of mapped pages, random ranges
 * short of the table's whole span (which would free the table instead), checked against
 * the pattern: bytes unmapped, the gathered range from the first to the last page that
 * was mapped, what is left inside and outside the range.
 */
static int unmap_script(struct backend *b, const struct pt_shape *s, uint64_t seed, uint64_t *log)
{
	struct pt_table *pt = make_table(b, s);
	uint64_t base = deep_iova(s->levels) & ~(2 * MB - 1), out, n;
	struct pt_gather g;
	bool mapped[512];

	CHECK_RET(pt);
	for (int round = 0; round < PATTERNS; round++) {
		unsigned density = 1 + (unsigned)(check_rand(&seed) % 8), first, last, lo = 512,
			 hi = 0, count = 0;

		for (unsigned i = 0; i < 512; i++) {
			mapped[i] = check_rand(&seed) % 8 < density;
			if (mapped[i])
				CHECK_RET(
				    pt_map(pt, base + i * 4 * KB, i * 4 * KB, 4 * KB, PT_RW) == 0);
		}
		first = (unsigned)(check_rand(&seed) % 512);
		last = first + 1 + (unsigned)(check_rand(&seed) % (512 - first));
		if (first == 0 && last == 512)
			last = 511;
		for (unsigned i = first; i < last; i++) {
			if (!mapped[i])
				continue;
			lo = i < lo ? i : lo;
			hi = i;
			count++;
		}
		pt_gather_init(&g);
		CHECK_RET(pt_unmap(pt, base + first * 4 * KB, (last - first) * 4 * KB, &g, &n) ==
			  0);
		CHECK_RET(n == count * 4 * KB);
		if (count) {
			CHECK_RET(g.start == base + lo * 4 * KB &&
				  g.end == base + (hi + 1) * 4 * KB);
			CHECK_RET(g.pgsize == PT_PAGE_4K);
		} else {
			CHECK_RET(g.start == UINT64_MAX && g.end == 0 && g.pgsize == 0);
		}
		CHECK_RET(g.nfreed == 0);
		*log++ = n ^ (g.start << 1) ^ (g.end << 2);
		pt_gather_release(&g);
		for (unsigned i = 0; i < 512; i++) {
			int ret = pt_iova_to_phys(pt, base + i * 4 * KB, &out);
			bool stays = mapped[i] && (i < first || i >= last);

			CHECK_RET(stays ? ret == 0 && out == i * 4 * KB : ret == -ENOENT);
		}
		pt_gather_init(&g);
		CHECK_RET(pt_unmap(pt, base, 2 * MB, &g, &n) == 0);
		pt_gather_release(&g);
	}
	pt_destroy(pt);
	CHECK_RET(mem_alloc_in_use(b->alloc) == 0);
	return 0;
}

static void test_unmap_leaf_runs(void)
{
	for (size_t i = 0; i < PT_NSHAPES; i++) {
		uint64_t log[2][PATTERNS];

		for (int direct = 0; direct < 2; direct++) {
			struct backend b;

			CHECK(backend_init(&b, direct) == 0);
			CHECK_EQ(unmap_script(&b, &pt_shapes[i], 0x5eed + i, log[direct]), 0);
			backend_fini(&b);
		}
		CHECK(memcmp(log[0], log[1], sizeof(log[0])) == 0);
	}
}

int main(void)
{
	RUN(test_one_page_every_shape);
	RUN(test_unmap_leaf_runs);
	return CHECK_DONE();
}
