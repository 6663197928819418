// SPDX-License-Identifier: MIT
#include "check.h"

#include <softiommu/mem.h>

static void test_sparse_rw(void)
{
	struct mem *m = mem_create_sparse(1ull << 36);
	uint64_t v = 0;
	uint32_t w = 0;
	uint8_t buf[16] = {0};

	CHECK(m);
	CHECK_EQ(mem_size(m), 1ull << 36);
	/* Untouched memory reads as zero, far from the start too. */
	CHECK_EQ(mem_read64(m, (1ull << 36) - 8, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(mem_write64(m, 0x1000, 0x1122334455667788ull), 0);
	CHECK_EQ(mem_read64(m, 0x1000, &v), 0);
	CHECK_EQ(v, 0x1122334455667788ull);
	CHECK_EQ(mem_read32(m, 0x1004, &w), 0);
	CHECK_EQ(w, 0x11223344);
	CHECK_EQ(mem_fill(m, 0x2000, 0xab, 16), 0);
	CHECK_EQ(mem_read(m, 0x2000, buf, 16), 0);
	CHECK_EQ(buf[15], 0xab);
	CHECK(mem_ptr(m, 0x2000, 16) != NULL);
	mem_destroy(m);
}

static void test_out_of_range(void)
{
	struct mem *m = mem_create_sparse(1 << 20);
	uint64_t v = 7, e = 0;
	uint8_t buf[8];

	CHECK(m);
	CHECK_EQ(mem_read64(m, 1 << 20, &v), -EFAULT);
	CHECK_EQ(v, 7);
	CHECK_EQ(mem_write64(m, (1 << 20) - 4, 1), -EFAULT);	/* straddles the end */
	CHECK_EQ(mem_read64(m, 0x1004, &v), -EFAULT);		/* misaligned */
	CHECK_EQ(mem_read(m, UINT64_MAX - 3, buf, 8), -EFAULT); /* wraps */
	CHECK_EQ(mem_write(m, (1 << 20) - 4, buf, 8), -EFAULT);
	CHECK_EQ(mem_fill(m, 1 << 20, 0, 1), -EFAULT);
	CHECK(mem_ptr(m, (1 << 20) - 4, 8) == NULL);
	CHECK_EQ(mem_cmpxchg64(m, 1 << 20, &e, 1), -EFAULT);
	CHECK_EQ(mem_read(m, 1 << 20, buf, 0), 0); /* empty access at the end is fine */
	CHECK(mem_create_sparse(0) == NULL);
	mem_destroy(m);
}

static void test_cmpxchg(void)
{
	struct mem *m = mem_create_sparse(1 << 20);
	uint64_t e = 0, v;

	CHECK(m);
	CHECK_EQ(mem_cmpxchg64(m, 0x100, &e, 5), 0);
	e = 4;
	CHECK_EQ(mem_cmpxchg64(m, 0x100, &e, 6), -EAGAIN);
	CHECK_EQ(e, 5);
	CHECK_EQ(mem_read64(m, 0x100, &v), 0);
	CHECK_EQ(v, 5);
	mem_destroy(m);
}

/* A caller-supplied backend with a hole that fails reads, like a bus error. */
struct small_ram {
	uint8_t bytes[8192];
};

static int small_read(void *ctx, uint64_t pa, void *buf, size_t len)
{
	struct small_ram *r = ctx;

	if (pa >= 4096)
		return -EIO;
	memcpy(buf, r->bytes + pa, len);
	return 0;
}

static int small_write(void *ctx, uint64_t pa, const void *buf, size_t len)
{
	struct small_ram *r = ctx;

	memcpy(r->bytes + pa, buf, len);
	return 0;
}

static const struct mem_ops small_ops = {.read = small_read, .write = small_write};

static void test_custom_backend(void)
{
	static struct small_ram ram;
	struct mem *m = mem_create(&small_ops, &ram, sizeof(ram.bytes));
	uint64_t v = 0, e = 9;

	CHECK(m);
	CHECK(mem_ptr(m, 0, 8) == NULL);
	CHECK_EQ(mem_write64(m, 8, 9), 0);
	CHECK_EQ(mem_read64(m, 8, &v), 0);
	CHECK_EQ(v, 9);
	CHECK_EQ(mem_cmpxchg64(m, 8, &e, 10), 0); /* non-atomic fallback still works */
	CHECK_EQ(mem_read64(m, 8, &v), 0);
	CHECK_EQ(v, 10);
	CHECK_EQ(mem_read64(m, 4096, &v), -EIO); /* the backend's own error comes through */
	CHECK_EQ(mem_read64(m, 8192, &v), -EFAULT);
	CHECK(mem_create(&(struct mem_ops){0}, NULL, 10) == NULL);
	mem_destroy(m);
}

static void test_page_alloc(void)
{
	struct mem *m = mem_create_sparse(1 << 24);
	struct mem_alloc *a;
	uint64_t pa[64], big, v;

	CHECK(m);
	CHECK_EQ(mem_alloc_create(m, 0x1000, 1 << 20, &a), 0);
	for (int i = 0; i < 64; i++) {
		CHECK_EQ(mem_alloc_page(a, &pa[i]), 0);
		CHECK(pa[i] >= 0x1000 && pa[i] < 0x1000 + (1 << 20));
		CHECK_EQ(pa[i] & 0xfff, 0);
		for (int j = 0; j < i; j++)
			CHECK(pa[i] != pa[j]);
	}
	CHECK_EQ(mem_alloc_in_use(a), 64);
	/* Pages come back zeroed even if the last owner scribbled on them. */
	CHECK_EQ(mem_write64(m, pa[3] + 8, ~0ull), 0);
	CHECK_EQ(mem_free_page(a, pa[3]), 0);
	CHECK_EQ(mem_free_page(a, pa[3]), -EINVAL); /* double free refused */
	CHECK_EQ(mem_alloc_page(a, &pa[3]), 0);
	CHECK_EQ(mem_read64(m, pa[3] + 8, &v), 0);
	CHECK_EQ(v, 0);
	/* Runs are naturally aligned; a wrong order or a middle page is refused. */
	CHECK_EQ(mem_alloc_pages(a, 4, &big), 0);
	CHECK_EQ((big - 0x1000) % (16 * 4096), 0);
	CHECK_EQ(mem_free_pages(a, big, 3), -EINVAL);
	CHECK_EQ(mem_free_pages(a, big + 4096, 4), -EINVAL);
	CHECK_EQ(mem_free_pages(a, 0, 0), -EINVAL);
	CHECK_EQ(mem_free_pages(a, big, 4), 0);
	CHECK_EQ(mem_alloc_pages(a, 21, &big), -EINVAL);
	CHECK_EQ(mem_alloc_pages(a, 9, &big), -ENOMEM); /* 2 MiB run does not fit in 1 MiB */
	for (int i = 0; i < 64; i++)
		CHECK_EQ(mem_free_page(a, pa[i]), 0);
	CHECK_EQ(mem_alloc_in_use(a), 0);
	/* Exhaustion is an error, not a crash. */
	for (int i = 0; i < 256; i++)
		CHECK_EQ(mem_alloc_page(a, &v), 0);
	CHECK_EQ(mem_alloc_page(a, &v), -ENOMEM);
	mem_alloc_destroy(a);
	CHECK_EQ(mem_alloc_create(m, 0x800, 4096, &a), -EINVAL);
	CHECK_EQ(mem_alloc_create(m, 0, 1 << 25, &a), -EINVAL);
	mem_destroy(m);
}

int main(void)
{
	RUN(test_sparse_rw);
	RUN(test_out_of_range);
	RUN(test_cmpxchg);
	RUN(test_custom_backend);
	RUN(test_page_alloc);
	return CHECK_DONE();
}
