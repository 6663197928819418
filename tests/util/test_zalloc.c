// SPDX-License-Identifier: MIT
/* util/zalloc.h: zeroed, aligned, the size rounded up to the alignment, NULL on overflow. */
#include "check.h"

#include "util/zalloc.h"

static void test_aligned_and_zeroed(void)
{
	static const size_t aligns[] = {16, 64, 128, 4096};
	static const size_t sizes[] = {0, 1, 63, 64, 65, 1000, 70000};

	for (unsigned a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++) {
		for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			size_t align = aligns[a], size = sizes[s];
			size_t rounded = size ? (size + align - 1) & ~(align - 1) : align;
			unsigned char *p = zalloc_aligned(align, size);

			CHECK(p);
			CHECK_EQ((uintptr_t)p % align, 0);
			/* Zero up to the rounded size: a caller may use the whole last line. */
			for (size_t i = 0; i < rounded; i++)
				CHECK_EQ(p[i], 0);
			p[rounded - 1] = 0xa5; /* the rounded size is the caller's (ASan checks) */
			free(p);
		}
	}
}

static void test_lines(void)
{
	unsigned char *p = zalloc_lines(100);

	CHECK(p);
	CHECK_EQ((uintptr_t)p % 64, 0);
	p[127] = 1;
	CHECK_EQ(p[100], 0);
	free(p);
}

static void test_overflow_is_null(void)
{
	CHECK(zalloc_aligned(64, SIZE_MAX) == NULL);
	CHECK(zalloc_aligned(64, SIZE_MAX - 62) == NULL);
	CHECK(zalloc_lines(SIZE_MAX - 10) == NULL);
}

int main(void)
{
	RUN(test_aligned_and_zeroed);
	RUN(test_lines);
	RUN(test_overflow_is_null);
	return CHECK_DONE();
}
