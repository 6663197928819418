/* SPDX-License-Identifier: MIT */
/*
 * The tests' tiny harness. Each test file is a program: main() calls RUN(fn) for each case;
 * a failed CHECK prints file:line and the values, marks the case failed and returns from it.
 * The program's exit status is the number of failed cases (capped), so CTest sees failures.
 */
#ifndef SOFTIOMMU_TEST_CHECK_H
#define SOFTIOMMU_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failed_cases;
static int check_case_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);   \
			check_case_failed = 1;                                                     \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		unsigned long long check_a_ = (unsigned long long)(a);                             \
		unsigned long long check_b_ = (unsigned long long)(b);                             \
		if (check_a_ != check_b_) {                                                        \
			fprintf(stderr,                                                            \
				"%s:%d: %s == %s failed: 0x%llx != 0x%llx (%lld != %lld)\n",       \
				__FILE__, __LINE__, #a, #b, check_a_, check_b_,                    \
				(long long)check_a_, (long long)check_b_);                         \
			check_case_failed = 1;                                                     \
			return;                                                                    \
		}                                                                                  \
	} while (0)

/* For helpers that return int: use inside functions returning int (0 = ok). */
#define CHECK_RET(cond)                                                                            \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);   \
			check_case_failed = 1;                                                     \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

#define RUN(fn)                                                                                    \
	do {                                                                                       \
		check_case_failed = 0;                                                             \
		fn();                                                                              \
		if (check_case_failed) {                                                           \
			fprintf(stderr, "FAIL %s\n", #fn);                                         \
			check_failed_cases++;                                                      \
		} else {                                                                           \
			printf("ok   %s\n", #fn);                                                  \
		}                                                                                  \
	} while (0)

#define CHECK_DONE() (check_failed_cases > 100 ? 100 : check_failed_cases)

/* xorshift64*: the tests' deterministic random numbers (seeded per test). */
static inline uint64_t check_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

#endif
