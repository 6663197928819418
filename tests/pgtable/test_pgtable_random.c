// SPDX-License-Identifier: MIT
/*
 * Random map/unmap steps against a plain interval map (the oracle). After every step the
 * table is asked about the step's boundaries, the boundaries of every mapping near it and
 * random points; every 1000 steps about every mapping's boundaries. Each answer must agree
 * with the oracle: translation, protection, and a leaf that lies wholly inside one mapping.
 * 100,000 steps on the x86-64 4-level table, 50,000 more over four other shapes.
 * The windows straddle a top-level index boundary, and sizes are drawn so that 2 MiB and
 * 1 GiB pages, splits of both, and whole-table unmaps all happen often.
 */
#include "pt_test.h"

#include <string.h>

#define MAX_IV 4096

struct iv {
	uint64_t iova, pa, size;
	unsigned prot;
};

struct run {
	const char *name;
	struct pt_table *pt;
	enum pt_format format;
	uint64_t lo, hi; /* the IOVA window */
	uint64_t seed;
	struct iv iv[MAX_IV];
	unsigned n;
	uint64_t lookups;
	/* what happened, so the test can show it covered each case */
	uint64_t leaves[3]; /* lookups that found a 4K, 2M, 1G leaf */
	uint64_t maps, eexist, unmaps, freed;
};

/* Index of the mapping holding `a`, or -1. */
static int or_find(const struct run *r, uint64_t a)
{
	int lo = 0, hi = (int)r->n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;

		if (a < r->iv[mid].iova)
			hi = mid - 1;
		else if (a >= r->iv[mid].iova + r->iv[mid].size)
			lo = mid + 1;
		else
			return mid;
	}
	return -1;
}

/* First mapping ending after `a` (the mappings are sorted and disjoint). */
static unsigned or_first_after(const struct run *r, uint64_t a)
{
	unsigned lo = 0, hi = r->n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (r->iv[mid].iova + r->iv[mid].size <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool or_overlaps(const struct run *r, uint64_t a, uint64_t b)
{
	unsigned i = or_first_after(r, a);

	return i < r->n && r->iv[i].iova < b;
}

static void or_insert(struct run *r, struct iv v)
{
	unsigned i = or_first_after(r, v.iova);

	memmove(&r->iv[i + 1], &r->iv[i], (r->n - i) * sizeof(v));
	r->iv[i] = v;
	r->n++;
}

/* Remove [a, b); the bytes that were mapped, and the hull of what went in *lo, *hi. */
static uint64_t or_remove(struct run *r, uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi)
{
	static struct iv out[MAX_IV + 2];
	uint64_t removed = 0;
	unsigned m = 0;

	*lo = UINT64_MAX;
	*hi = 0;
	for (unsigned i = 0; i < r->n; i++) {
		struct iv v = r->iv[i];
		uint64_t s = v.iova, e = v.iova + v.size;

		if (e <= a || s >= b) {
			out[m++] = v;
			continue;
		}
		if (s < a)
			out[m++] = (struct iv){s, v.pa, a - s, v.prot};
		if (e > b)
			out[m++] = (struct iv){b, v.pa + (b - s), e - b, v.prot};
		s = s > a ? s : a;
		e = e < b ? e : b;
		removed += e - s;
		*lo = s < *lo ? s : *lo;
		*hi = e > *hi ? e : *hi;
	}
	memcpy(r->iv, out, m * sizeof(out[0]));
	r->n = m;
	return removed;
}

/* The table agrees with the oracle at `a`. */
static int check_point(struct run *r, uint64_t a)
{
	struct pt_mapping m;
	int i = or_find(r, a), ret = pt_lookup(r->pt, a, &m);
	const struct iv *v;

	r->lookups++;
	if (i < 0) {
		if (ret != -ENOENT)
			fprintf(stderr, "%s: 0x%llx should be unmapped (%d)\n", r->name,
				(unsigned long long)a, ret);
		CHECK_RET(ret == -ENOENT);
		return 0;
	}
	v = &r->iv[i];
	if (ret || m.paddr != v->pa + (a - v->iova))
		fprintf(stderr, "%s: 0x%llx -> %d 0x%llx, want 0x%llx\n", r->name,
			(unsigned long long)a, ret, (unsigned long long)m.paddr,
			(unsigned long long)(v->pa + (a - v->iova)));
	CHECK_RET(ret == 0 && m.paddr == v->pa + (a - v->iova));
	CHECK_RET(m.prot == v->prot);
	r->leaves[m.pgsize == PT_PAGE_4K ? 0 : m.pgsize == PT_PAGE_2M ? 1 : 2]++;
	CHECK_RET(m.iova <= a && a - m.iova < m.pgsize && !(m.iova & (m.pgsize - 1)));
	/* The leaf maps only what the oracle maps. */
	CHECK_RET(m.iova >= v->iova && m.iova + m.pgsize <= v->iova + v->size);
	return 0;
}

/* The step's edges, every mapping near it, and random points. */
static int check_around(struct run *r, uint64_t a, uint64_t b)
{
	const uint64_t pts[] = {a - 4 * KB, a, a + 4 * KB, a + ((b - a) / 2 & ~(4 * KB - 1)),
				b - 4 * KB, b};

	for (unsigned i = 0; i < 6; i++)
		CHECK_RET(check_point(r, pts[i]) == 0);
	for (unsigned i = or_first_after(r, a - 4 * KB); i < r->n && r->iv[i].iova <= b; i++) {
		uint64_t s = r->iv[i].iova, e = s + r->iv[i].size;

		CHECK_RET(check_point(r, s - 4 * KB) == 0 && check_point(r, s) == 0);
		CHECK_RET(check_point(r, e - 4 * KB) == 0 && check_point(r, e) == 0);
	}
	for (unsigned i = 0; i < 8; i++)
		CHECK_RET(check_point(r, r->lo + check_rand(&r->seed) % (r->hi - r->lo)) == 0);
	return 0;
}

static int check_all(struct run *r)
{
	for (unsigned i = 0; i < r->n; i++) {
		uint64_t s = r->iv[i].iova, e = s + r->iv[i].size;

		CHECK_RET(check_point(r, s - 4 * KB) == 0 && check_point(r, s) == 0);
		CHECK_RET(check_point(r, e - 4 * KB) == 0 && check_point(r, e) == 0);
		CHECK_RET(check_point(r, s + check_rand(&r->seed) % (e - s)) == 0);
	}
	return 0;
}

static unsigned random_prot(struct run *r)
{
	uint64_t x = check_rand(&r->seed);

	if (r->format == PT_FMT_X86_64)
		return PT_PROT_READ | (x & 1 ? PT_PROT_WRITE : 0) | (x & 2 ? PT_PROT_PRIV : 0);
	return ((x % 3) + 1) | (x & 4 ? PT_PROT_SNOOP : 0);
}

static uint64_t rnd(struct run *r, uint64_t n)
{
	return check_rand(&r->seed) % n;
}

/* A random range in the window: a size class, then a start aligned to suit it. */
static void random_range(struct run *r, uint64_t *a, uint64_t *size)
{
	uint64_t c = rnd(r, 100), align = 4 * KB, span = r->hi - r->lo;

	if (c < 55) {
		*size = (1 + rnd(r, 16)) * 4 * KB;
	} else if (c < 80) {
		*size = (1 + rnd(r, 1024)) * 4 * KB;
		align = rnd(r, 3) ? 4 * KB : 2 * MB;
	} else if (c < 95) {
		*size = (1 + rnd(r, 8)) * 2 * MB + rnd(r, 3) * 4 * KB;
		align = 2 * MB;
	} else {
		*size = (1 + rnd(r, 2)) * GB + rnd(r, 2) * 2 * MB;
		align = GB;
	}
	*a = (r->lo + rnd(r, span - *size)) & ~(align - 1);
	if (rnd(r, 8) == 0)
		*a += 4 * KB * rnd(r, 4); /* just off the alignment */
	if (*a < r->lo)
		*a = r->lo;
	if (*a + *size > r->hi)
		*a = (r->hi - *size) & ~(4 * KB - 1);
}

static int step_map(struct run *r)
{
	uint64_t a, size, pa;
	unsigned prot = random_prot(r);
	int ret;

	random_range(r, &a, &size);
	/* Mostly the same offset within 1 GiB, so that large pages can be used. */
	if (rnd(r, 5) < 3)
		pa = (a & (GB - 1)) + rnd(r, 64) * GB;
	else
		pa = rnd(r, 1ull << 28) << 12;
	ret = pt_map(r->pt, a, pa, size, prot);
	if (or_overlaps(r, a, a + size)) {
		CHECK_RET(ret == -EEXIST);
		r->eexist++;
	} else {
		r->maps++;
		if (ret)
			fprintf(stderr, "%s: map 0x%llx+0x%llx: %d\n", r->name,
				(unsigned long long)a, (unsigned long long)size, ret);
		CHECK_RET(ret == 0);
		CHECK_RET(r->n < MAX_IV);
		or_insert(r, (struct iv){a, pa, size, prot});
	}
	return check_around(r, a, a + size);
}

static void unmap_range(struct run *r, uint64_t *a, uint64_t *size)
{
	uint64_t c = rnd(r, 100);

	if (r->n && c < 40) { /* exactly one mapping, as the DMA layer does */
		const struct iv *v = &r->iv[rnd(r, r->n)];

		*a = v->iova;
		*size = v->size;
	} else if (r->n && c < 60) { /* part of one: splits */
		const struct iv *v = &r->iv[rnd(r, r->n)];
		uint64_t pages = v->size >> 12, first = rnd(r, pages);

		*a = v->iova + (first << 12);
		*size = (1 + rnd(r, pages - first)) << 12;
	} else if (c < 95) {
		random_range(r, a, size);
	} else { /* large: whole tables go */
		*size = (1 + rnd(r, 4)) * GB + rnd(r, 2) * 2 * MB;
		*a = (r->lo + rnd(r, r->hi - r->lo - *size)) & ~(2 * MB - 1);
	}
}

static int step_unmap(struct run *r, struct mem_alloc *alloc)
{
	uint64_t a, size, n, lo, hi, want, before;
	struct pt_gather g;

	unmap_range(r, &a, &size);
	pt_gather_init(&g);
	CHECK_RET(pt_unmap(r->pt, a, size, &g, &n) == 0);
	want = or_remove(r, a, a + size, &lo, &hi);
	CHECK_RET(n == want);
	if (want) { /* the gather covers what went and stays inside the range */
		CHECK_RET(g.start <= lo && g.end >= hi);
		CHECK_RET(g.start >= a && g.end <= a + size);
		CHECK_RET(g.pgsize >= 4 * KB);
	}
	if (g.nfreed)
		CHECK_RET(g.start >= a && g.end <= a + size && g.start < g.end);
	before = mem_alloc_in_use(alloc);
	n = g.nfreed;
	r->unmaps++;
	r->freed += n;
	pt_gather_release(&g);
	CHECK_RET(mem_alloc_in_use(alloc) == before - n);
	return check_around(r, a, a + size);
}

static void run_random(const char *name, enum pt_format format, unsigned levels, uint64_t sizes,
		       unsigned flags, uint64_t lo, unsigned steps, uint64_t seed)
{
	static struct run r;
	struct pt_env env;
	struct pt_config cfg;
	struct pt_gather g;
	uint64_t base, n, total = 0;

	CHECK(pt_env_init(&env, 1 << 15) == 0);
	memset(&r, 0, sizeof(r));
	r.name = name;
	r.format = format;
	r.lo = lo;
	r.hi = lo + 8 * GB;
	r.seed = seed;
	cfg = pt_cfg(&env, format, levels, sizes, flags);
	base = mem_alloc_in_use(env.alloc);
	CHECK_EQ(pt_create(&cfg, &r.pt), 0);
	CHECK(r.hi < pt_iova_limit(r.pt));
	for (unsigned i = 0; i < steps; i++) {
		/* Keep the number of mappings moderate: unmap more when there are many. */
		bool map = rnd(&r, 100) < (r.n > 200 ? 35 : 60);

		if (map)
			CHECK_EQ(step_map(&r), 0);
		else
			CHECK_EQ(step_unmap(&r, env.alloc), 0);
		if (i % 1000 == 999)
			CHECK_EQ(check_all(&r), 0);
	}
	/* Unmapping everything leaves the root alone; destroying it leaves nothing. */
	for (unsigned i = 0; i < r.n; i++)
		total += r.iv[i].size;
	pt_gather_init(&g);
	CHECK_EQ(pt_unmap(r.pt, 0, pt_iova_limit(r.pt), &g, &n), 0);
	CHECK_EQ(n, total);
	pt_gather_release(&g);
	CHECK_EQ(mem_alloc_in_use(env.alloc), base + 1);
	printf("     %s: %u steps: %llu maps, %llu -EEXIST, %llu unmaps freeing %llu tables; "
	       "%llu lookups found %llu/%llu/%llu 4K/2M/1G leaves\n",
	       name, steps, (unsigned long long)r.maps, (unsigned long long)r.eexist,
	       (unsigned long long)r.unmaps, (unsigned long long)r.freed,
	       (unsigned long long)r.lookups, (unsigned long long)r.leaves[0],
	       (unsigned long long)r.leaves[1], (unsigned long long)r.leaves[2]);
	/* Every case the sizes allow did happen. */
	CHECK(r.maps > steps / 10 && r.eexist > steps / 100 && r.freed > 0);
	CHECK(r.leaves[0] > 0);
	CHECK(!(sizes & PT_PAGE_2M) == !r.leaves[1]);
	CHECK(!(sizes & PT_PAGE_1G) == !r.leaves[2]);
	pt_destroy(r.pt);
	CHECK_EQ(mem_alloc_in_use(env.alloc), base);
	pt_env_fini(&env);
}

static void test_x86_64_4level(void)
{
	run_random("x86-64 4-level", PT_FMT_X86_64, 4, PT_ALL_SIZES, 0, 512 * GB - 4 * GB, 100000,
		   1);
}

static void test_vtd_ss_aw39(void)
{
	run_random("VT-d SS AW39", PT_FMT_VTD_SS, 3, PT_ALL_SIZES, 0, 256 * GB - 4 * GB, 15000, 2);
}

static void test_x86_64_5level_no_1g(void)
{
	run_random("x86-64 5-level, 4K+2M, A/D, XD", PT_FMT_X86_64, 5, PT_PAGE_4K | PT_PAGE_2M,
		   PT_CFG_SET_AD | PT_CFG_EXEC, (1ull << 48) - 4 * GB, 15000, 3);
}

static void test_vtd_ss_aw48_no_2m(void)
{
	run_random("VT-d SS AW48, 4K+1G", PT_FMT_VTD_SS, 4, PT_PAGE_4K | PT_PAGE_1G, 0,
		   512 * GB - 4 * GB, 10000, 4);
}

static void test_vtd_ss_aw57_4k(void)
{
	run_random("VT-d SS AW57, 4K only", PT_FMT_VTD_SS, 5, PT_PAGE_4K, 0, 3ull << 48, 10000, 5);
}

int main(void)
{
	RUN(test_x86_64_4level);
	RUN(test_vtd_ss_aw39);
	RUN(test_x86_64_5level_no_1g);
	RUN(test_vtd_ss_aw48_no_2m);
	RUN(test_vtd_ss_aw57_4k);
	return CHECK_DONE();
}
