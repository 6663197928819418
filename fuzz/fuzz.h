/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target shares: the libFuzzer entry point's prototype, a reader that
 * takes little-endian numbers off the front of the input (zeros once it is used up, so
 * every input, however short, decodes to something), and the check that turns a broken
 * invariant into a crash the fuzzer keeps.
 *
 * A target is one file fuzz/fuzz_<name>.c defining LLVMFuzzerTestOneInput(). It is built
 * twice: with libFuzzer in the fuzz configuration (make fuzz), and with replay_main.c
 * as a plain program that runs a corpus (make test, make fuzz-replay). See docs/fuzzing.md.
 */
#ifndef SOFTIOMMU_FUZZ_H
#define SOFTIOMMU_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test: when it breaks, say which and abort, so that
 * libFuzzer saves the input and the replay program fails. */
#define FZ_ASSERT(cond, ...)                                                                       \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__,       \
				#cond);                                                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline struct fz fz_init(const uint8_t *data, size_t size)
{
	return (struct fz){.p = data, .n = size};
}

static inline int fz_empty(const struct fz *f)
{
	return f->n == 0;
}

static inline uint64_t fz_bytes(struct fz *f, unsigned k)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < k; i++) {
		uint64_t b = 0;

		if (f->n) {
			b = *f->p++;
			f->n--;
		}
		v |= b << (8 * i);
	}
	return v;
}

static inline uint8_t fz_u8(struct fz *f)
{
	return (uint8_t)fz_bytes(f, 1);
}

static inline uint16_t fz_u16(struct fz *f)
{
	return (uint16_t)fz_bytes(f, 2);
}

static inline uint32_t fz_u32(struct fz *f)
{
	return (uint32_t)fz_bytes(f, 4);
}

static inline uint64_t fz_u64(struct fz *f)
{
	return fz_bytes(f, 8);
}

#endif
