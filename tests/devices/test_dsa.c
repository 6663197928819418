// SPDX-License-Identifier: MIT
/*
 * The DSA-like engine on its own, with the endpoint tests' fake translation agent as the
 * IOMMU: every opcode against a host reference (sizes, alignments, page crossings, overlap,
 * with and without PASID, with and without ATS), translation faults (address, bytes
 * completed, direction, memory untouched past the fault), every kind of invalid
 * descriptor, the completion record's own faults and the software-error register, a full
 * WQ, engine start/stop, interrupts, the access hook, counters and bad arguments.
 */
#include "check.h"
#include "devices/dsa_env.h"
#include "devices/dsa_internal.h"

#include <stddef.h>

#define DATA  0x1000u /* first data offset in the window (page 0 holds the records) */
#define GUARD 0xa5

static struct dsa_env env;

static void fill_rand(uint8_t *p, size_t n, uint64_t *seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)check_rand(seed);
}

static void desc(struct dsa_desc *d, unsigned op, bool pasid, uint64_t src, uint64_t dst,
		 uint32_t size)
{
	dsa_desc_init(d, op, 0, pasid, ENV_PASID, false);
	d->src = src ? ENV_IOVA + src : 0;
	d->dst = dst ? ENV_IOVA + dst : 0;
	d->size = size;
}

static bool all_are(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* ---- data operations ----------------------------------------------------------------- */

static int memmove_case(bool pasid, uint32_t src, uint32_t dst, uint32_t size, uint64_t *seed)
{
	static uint8_t ref[512 * 1024];
	uint32_t lo = src < dst ? src : dst, hi = (src > dst ? src : dst) + size;
	struct dsa_completion c;
	struct dsa_desc d;

	CHECK_RET(hi - lo <= sizeof(ref));
	fill_rand(env_ptr(&env, lo), hi - lo, seed);
	memcpy(ref, env_ptr(&env, lo), hi - lo);
	memmove(ref + (dst - lo), ref + (src - lo), size);
	desc(&d, DSA_OP_MEMMOVE, pasid, src, dst, size);
	CHECK_RET(env_run(&env, &d, &c) == DSA_COMP_SUCCESS);
	CHECK_RET(c.bytes_completed == size && c.fault_addr == 0 && c.fault_info == 0);
	CHECK_RET(memcmp(ref, env_ptr(&env, lo), hi - lo) == 0);
	return 0;
}

static void memmove_cases(bool ats)
{
	static const uint32_t sizes[] = {1, 7, 64, 4095, 4096, 4097, 8192 + 13, 65536, 100000};
	uint64_t seed = 1;

	CHECK(env_setup(&env, ats, NULL) == 0);
	for (int p = 0; p < 2; p++) {
		for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			uint32_t src = DATA + (uint32_t)(check_rand(&seed) % 5000);
			uint32_t dst = 0x40000 + (uint32_t)(check_rand(&seed) % 5000);

			CHECK(memmove_case(p, src, dst, sizes[i], &seed) == 0);
		}
	}
	CHECK(memmove_case(true, 0x3000, 0x3000, 5000, &seed) == 0); /* src == dst */
}

static void test_memmove_ats(void)
{
	memmove_cases(true);
	env_teardown(&env);
}

static void test_memmove_no_ats(void)
{
	memmove_cases(false);
	env_teardown(&env);
}

/* Overlap in both directions, by small and large distances, across pages. */
static void test_memmove_overlap(void)
{
	static const int32_t delta[] = {1, -1, 8, -8, 4095, -4095, 4096, -4096, 5000, -5000};
	uint64_t seed = 7;
	struct dsa_completion c;
	struct dsa_desc d;

	CHECK(env_setup(&env, true, NULL) == 0);
	for (unsigned i = 0; i < sizeof(delta) / sizeof(delta[0]); i++) {
		uint32_t src = 0x20000 + 123;

		CHECK(memmove_case(true, src, (uint32_t)((int32_t)src + delta[i]), 3 * 4096 + 77,
				   &seed) == 0);
	}
	/* The direction is reported: backward for dst above an overlapping src. */
	desc(&d, DSA_OP_MEMMOVE, true, 0x20000, 0x20010, 4096);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	CHECK_EQ(c.result, 1);
	desc(&d, DSA_OP_MEMMOVE, true, 0x20010, 0x20000, 4096);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	CHECK_EQ(c.result, 0);
	env_teardown(&env);
}

static void test_fill(void)
{
	static const uint32_t sizes[] = {1, 3, 8, 9, 4096, 4099, 3 * 4096 + 5};
	const uint64_t pat = 0x0123456789abcdefull;
	struct dsa_completion c;
	struct dsa_desc d;

	CHECK(env_setup(&env, true, NULL) == 0);
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t dst = 0x8000 + 4093 + i;
		uint8_t *p = env_ptr(&env, dst);

		memset(p - 16, GUARD, sizes[i] + 32);
		desc(&d, DSA_OP_FILL, i & 1, 0, dst, sizes[i]);
		d.pattern = pat;
		CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
		for (uint32_t k = 0; k < sizes[i]; k++)
			CHECK_EQ(p[k], (uint8_t)(pat >> (8 * (k % 8))));
		for (int k = 1; k <= 16; k++) {
			CHECK_EQ(p[-k], GUARD);
			CHECK_EQ(p[sizes[i] + k - 1], GUARD);
		}
	}
	env_teardown(&env);
}

static void test_compare(void)
{
	uint64_t seed = 3;
	struct dsa_completion c;
	struct dsa_desc d;
	uint8_t *a, *b;

	CHECK(env_setup(&env, true, NULL) == 0);
	a = env_ptr(&env, 0x10000 + 100);
	b = env_ptr(&env, 0x30000 + 4000);
	fill_rand(a, 20000, &seed);
	memcpy(b, a, 20000);
	desc(&d, DSA_OP_COMPARE, true, 0x10000 + 100, 0x30000 + 4000, 20000);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	CHECK_EQ(c.result, 0);
	CHECK_EQ(c.bytes_completed, 20000);
	/* A difference: the offset of the first one, wherever it is (page ends included). */
	static const uint32_t at[] = {0, 1, 3995, 3996, 8191, 19999};
	for (unsigned i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		b[at[i]] ^= 0x40;
		if (at[i] + 5 < 20000)
			b[at[i] + 5] ^= 1; /* a later difference does not matter */
		desc(&d, DSA_OP_COMPARE, false, 0x10000 + 100, 0x30000 + 4000, 20000);
		CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
		CHECK_EQ(c.result, 1);
		CHECK_EQ(c.bytes_completed, at[i]);
		memcpy(b, a, 20000);
	}
	env_teardown(&env);
}

static void test_crc32c_function(void)
{
	static const uint8_t zeros[32];
	uint8_t ones[32];
	uint64_t seed = 11;
	uint8_t data[1000];

	/* Published check values of CRC-32C (RFC 3720 B.4 and the usual "123456789"). */
	CHECK_EQ(dsa_crc32c(0, "123456789", 9), 0xe3069283u);
	CHECK_EQ(dsa_crc32c(0, zeros, 32), 0x8a9136aau);
	memset(ones, 0xff, sizeof(ones));
	CHECK_EQ(dsa_crc32c(0, ones, 32), 0x62a8ab43u);
	CHECK_EQ(dsa_crc32c(0, "", 0), 0);
	/* Chaining through the seed gives the CRC of the concatenation, at any split. */
	fill_rand(data, sizeof(data), &seed);
	for (size_t split = 0; split <= sizeof(data); split += 37)
		CHECK_EQ(dsa_crc32c(dsa_crc32c(0, data, split), data + split, sizeof(data) - split),
			 dsa_crc32c(0, data, sizeof(data)));
}

static void test_crc32c_device(void)
{
	uint64_t seed = 5;
	struct dsa_completion c;
	struct dsa_desc d;
	uint8_t *p;

	CHECK(env_setup(&env, true, NULL) == 0);
	p = env_ptr(&env, 0x5000 + 7);
	memcpy(p, "123456789", 9);
	desc(&d, DSA_OP_CRC32C, true, 0x5000 + 7, 0, 9);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	CHECK_EQ(c.crc, 0xe3069283u);
	CHECK_EQ(c.bytes_completed, 9);
	fill_rand(p, 30000, &seed);
	desc(&d, DSA_OP_CRC32C, false, 0x5000 + 7, 0, 30000);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	CHECK_EQ(c.crc, dsa_crc32c(0, p, 30000));
	/* Seeded: the second half continues the first. */
	desc(&d, DSA_OP_CRC32C, true, 0x5000 + 7 + 10000, 0, 20000);
	d.pattern = dsa_crc32c(0, p, 10000);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	CHECK_EQ(c.crc, dsa_crc32c(0, p, 30000));
	env_teardown(&env);
}

static void test_noop_and_record_policy(void)
{
	struct dsa_completion c;
	struct dsa_desc d;

	CHECK(env_setup(&env, true, NULL) == 0);
	desc(&d, DSA_OP_NOOP, true, 0, 0, 0);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	/* Without RCR a successful descriptor writes no record; the no-op behind it (same
	 * WQ, in order) proves the first one is done. */
	memset(mem_ptr(env.mem, env_cr_pa(1), 32), 0, 32);
	desc(&d, DSA_OP_FILL, true, 0, 0x9000, 100);
	d.pattern = 0x7777777777777777ull;
	d.op_flags |= DSA_F_CRAV;
	d.completion = env_cr(1);
	CHECK_EQ(dsa_submit(env.dsa, 0, &d), 0);
	desc(&d, DSA_OP_NOOP, false, 0, 0, 0);
	CHECK_EQ(env_run_slot(&env, &d, 2, &c), DSA_COMP_SUCCESS);
	CHECK_EQ(*env_ptr(&env, ENV_CR + 32), DSA_COMP_NONE);
	CHECK(all_are(env_ptr(&env, 0x9000), 100, 0x77));
	/* ... but one that fails does write it. */
	desc(&d, DSA_OP_FILL, true, 0, 0, 100);
	d.dst = 0x7000000000ull; /* nothing mapped */
	d.op_flags |= DSA_F_CRAV;
	d.completion = env_cr(1);
	CHECK_EQ(dsa_submit(env.dsa, 0, &d), 0);
	CHECK_EQ(dsa_wait(env.mem, env_cr_pa(1), 30000000000ull, &c), 0);
	CHECK_EQ(c.status, DSA_COMP_PAGE_FAULT);
	env_teardown(&env);
}

/* ---- translation faults -------------------------------------------------------------- */

/* memmove whose source runs into a hole: stops at the hole, nothing written past it. */
static void fault_read(bool ats)
{
	const uint32_t src = 0x10000 + 100, dst = 0x40000 + 300, size = 5 * 4096;
	uint32_t hole = 0x10000 / 4096 + 3; /* the fourth source page */
	uint32_t done = (hole * 4096) - src;
	struct dsa_completion c;
	struct dsa_desc d;

	CHECK(env_setup(&env, ats, NULL) == 0);
	memset(env_ptr(&env, src), 0x11, size);
	memset(env_ptr(&env, dst - 64), GUARD, size + 128);
	env_unmap(&env, hole, 1);
	desc(&d, DSA_OP_MEMMOVE, true, src, dst, size);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_PAGE_FAULT);
	CHECK_EQ(c.fault_addr, ENV_IOVA + hole * 4096ull);
	CHECK_EQ(c.bytes_completed, done);
	CHECK_EQ(c.fault_info & DSA_FI_WRITE, 0);
	CHECK_EQ(c.fault_info >> DSA_FI_AT_SHIFT, ats ? PCI_AT_TRANSLATION : PCI_AT_UNTRANSLATED);
	if (!ats)
		CHECK_EQ(c.fault_reason, FAKE_FAULT_NOMAP);
	CHECK(all_are(env_ptr(&env, dst), done, 0x11));
	CHECK(all_are(env_ptr(&env, dst + done), size - done + 64, GUARD));
	CHECK(all_are(env_ptr(&env, dst - 64), 64, GUARD));
	env_teardown(&env);
}

static void test_fault_read_ats(void)
{
	fault_read(true);
}

static void test_fault_read_no_ats(void)
{
	fault_read(false);
}

/* memmove into a read-only destination page. */
static void test_fault_write(void)
{
	const uint32_t src = 0x10000, dst = 0x40000 + 1000, size = 4 * 4096;
	unsigned ro = 0x40000 / 4096 + 2;
	uint32_t done = ro * 4096 - dst;
	struct dsa_completion c;
	struct dsa_desc d;

	for (int ats = 0; ats < 2; ats++) {
		CHECK(env_setup(&env, ats, NULL) == 0);
		memset(env_ptr(&env, src), 0x22, size);
		memset(env_ptr(&env, dst), GUARD, size + 64);
		env_unmap(&env, ro, 1);
		env_map(&env, ro, 1, PCI_PERM_R);
		desc(&d, DSA_OP_MEMMOVE, false, src, dst, size);
		CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_PAGE_FAULT);
		CHECK_EQ(c.fault_addr, ENV_IOVA + ro * 4096ull);
		CHECK_EQ(c.bytes_completed, done);
		CHECK(c.fault_info & DSA_FI_WRITE);
		if (!ats)
			CHECK_EQ(c.fault_reason, FAKE_FAULT_WRITE);
		CHECK(all_are(env_ptr(&env, dst), done, 0x22));
		CHECK(all_are(env_ptr(&env, dst + done), size - done + 64, GUARD));
		env_teardown(&env);
	}
}

/* Backward memmove: the fault is met from the end, and the completed bytes are the last. */
static void test_fault_backward(void)
{
	const uint32_t src = 0x20000, dst = 0x20000 + 100, size = 4 * 4096;
	unsigned hole = 0x20000 / 4096 + 1; /* the second source page */
	uint32_t done = src + size - (hole + 1) * 4096;
	struct dsa_completion c;
	struct dsa_desc d;

	CHECK(env_setup(&env, true, NULL) == 0);
	for (uint32_t i = 0; i < size + 100; i++)
		env_ptr(&env, src)[i] = (uint8_t)i;
	env_unmap(&env, hole, 1);
	desc(&d, DSA_OP_MEMMOVE, true, src, dst, size);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_PAGE_FAULT);
	CHECK_EQ(c.result, 1);
	CHECK_EQ(c.bytes_completed, done);
	/* Pieces end at page boundaries of both sides: the failing one starts 100 bytes
	 * below the hole's end (a destination page boundary). */
	CHECK_EQ(c.fault_addr, ENV_IOVA + (hole + 1) * 4096ull - 100);
	/* The last `done` bytes moved; the bytes below them still hold the old data. */
	for (uint32_t i = 0; i < done; i++)
		CHECK_EQ(env_ptr(&env, dst + size - done)[i], (uint8_t)(size - done + i));
	for (uint32_t i = 0; i < size - done; i++)
		CHECK_EQ(env_ptr(&env, dst)[i], (uint8_t)(100 + i));
	env_teardown(&env);
}

static void test_fault_fill_compare_crc(void)
{
	unsigned hole = 0x30000 / 4096 + 1;
	struct dsa_completion c;
	struct dsa_desc d;

	CHECK(env_setup(&env, true, NULL) == 0);
	memset(env_ptr(&env, 0x10000), 0x33, 3 * 4096);
	memset(env_ptr(&env, 0x30000), 0x33, 3 * 4096);
	env_unmap(&env, hole, 1);
	/* fill */
	desc(&d, DSA_OP_FILL, true, 0, 0x30000 + 10, 2 * 4096);
	d.pattern = 0x5555555555555555ull;
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_PAGE_FAULT);
	CHECK(c.fault_info & DSA_FI_WRITE);
	CHECK_EQ(c.bytes_completed, 4096 - 10);
	CHECK_EQ(c.fault_addr, ENV_IOVA + hole * 4096ull);
	CHECK(all_are(env_ptr(&env, 0x30000 + 10), 4096 - 10, 0x55));
	CHECK(all_are(env_ptr(&env, 0x31000), 2 * 4096, 0x33));
	/* compare: the second source faults */
	desc(&d, DSA_OP_COMPARE, true, 0x10000, 0x30000, 3 * 4096);
	memset(env_ptr(&env, 0x30000), 0x33, 4096);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_PAGE_FAULT);
	CHECK_EQ(c.fault_info, DSA_FI_SRC2 | (PCI_AT_TRANSLATION << DSA_FI_AT_SHIFT));
	CHECK_EQ(c.bytes_completed, 4096);
	CHECK_EQ(c.fault_addr, ENV_IOVA + hole * 4096ull);
	/* crc32c: the CRC of what was read */
	desc(&d, DSA_OP_CRC32C, false, 0x30000 + 1, 0, 3 * 4096);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_PAGE_FAULT);
	CHECK_EQ(c.bytes_completed, 4095);
	CHECK_EQ(c.crc, dsa_crc32c(0, env_ptr(&env, 0x30000 + 1), 4095));
	env_teardown(&env);
}

/* Other DMA failures: memory behind the translation missing, a removed function. */
static void test_dma_errors(void)
{
	struct dsa_completion c;
	struct dsa_desc d;

	CHECK(env_setup(&env, false, NULL) == 0);
	/* A page that translates outside memory. */
	fake_map(&env.fa, true, ENV_PASID, 0x20000000ull, 4096, 1ull << 40, PCI_PERM_R);
	dsa_desc_init(&d, DSA_OP_CRC32C, 0, true, ENV_PASID, false);
	d.src = 0x20000000ull;
	d.size = 64;
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_DMA_ERROR);
	CHECK_EQ(c.error, -EIO);
	CHECK_EQ(c.fault_addr, 0x20000000ull);
	env_teardown(&env);
}

/* ---- invalid descriptors ------------------------------------------------------------- */

static int expect_invalid(struct dsa_desc *d, uint8_t status)
{
	struct dsa_completion c;

	memset(env_ptr(&env, 0x9000), GUARD, 64);
	CHECK_RET(env_run(&env, d, &c) == status);
	CHECK_RET(c.bytes_completed == 0);
	CHECK_RET(all_are(env_ptr(&env, 0x9000), 64, GUARD));
	return 0;
}

static void test_invalid_descriptors(void)
{
	struct dsa_stats st;
	struct dsa_desc d;
	struct dsa_config cfg = {.max_transfer_size = 8192};

	CHECK(env_setup(&env, true, &cfg) == 0);
	desc(&d, 0x7f, true, 0x1000, 0x9000, 64);
	CHECK(expect_invalid(&d, DSA_COMP_INVALID_OPCODE) == 0);
	desc(&d, DSA_OP_MEMMOVE, true, 0x1000, 0x9000, 64);
	d.op_flags |= 1u << 20;
	CHECK(expect_invalid(&d, DSA_COMP_INVALID_FLAGS) == 0);
	desc(&d, DSA_OP_MEMMOVE, true, 0x1000, 0x9000, 64);
	d.op_flags |= DSA_F_BOF;
	CHECK(expect_invalid(&d, DSA_COMP_INVALID_FLAGS) == 0);
	/* reserved fields, one at a time */
	for (int k = 0; k < 6; k++) {
		desc(&d, k == 5 ? DSA_OP_CRC32C : DSA_OP_MEMMOVE, true, 0x1000, 0x9000, 64);
		if (k == 0)
			d.rsvd0 = 1;
		else if (k == 1)
			d.rsvd1[0] = 1;
		else if (k == 2)
			d.rsvd1[1] = 1ull << 63;
		else if (k == 3)
			d.pasid |= 1u << 25;
		else if (k == 4)
			d.pattern = 1; /* memmove has no pattern */
		else
			d.pattern = 1ull << 40; /* crc32c's seed is 32 bits */
		CHECK(expect_invalid(&d, DSA_COMP_RESERVED) == 0);
	}
	desc(&d, DSA_OP_MEMMOVE, true, 0x1000, 0x9000, 0);
	CHECK(expect_invalid(&d, DSA_COMP_INVALID_SIZE) == 0);
	desc(&d, DSA_OP_MEMMOVE, true, 0x1000, 0x9000, 8193);
	CHECK(expect_invalid(&d, DSA_COMP_INVALID_SIZE) == 0);
	desc(&d, DSA_OP_MEMMOVE, true, 0x1000, 0x9000, 64);
	d.src = ~0ull - 10; /* wraps past 2^64 */
	CHECK(expect_invalid(&d, DSA_COMP_INVALID_SIZE) == 0);
	desc(&d, DSA_OP_FILL, true, 0, 0x9000, 64);
	d.dst = ~0ull - 62;
	CHECK(expect_invalid(&d, DSA_COMP_INVALID_SIZE) == 0);
	CHECK_EQ(dsa_get_stats(env.dsa, &st), 0);
	CHECK_EQ(st.invalid, 13);
	CHECK_EQ(st.bytes, 0);
	env_teardown(&env);
}

/* Errors that no record can report go to the software-error register. */
static void test_swerr(void)
{
	struct dsa_pasid_stats ps;
	struct dsa_swerr e;
	struct dsa_desc d;

	CHECK(env_setup(&env, true, NULL) == 0);
	CHECK_EQ(dsa_read_swerr(env.dsa, &e), 0);
	CHECK(!e.valid);
	/* A misaligned record address. */
	desc(&d, DSA_OP_MEMMOVE, true, 0x1000, 0x9000, 64);
	d.op_flags |= DSA_F_CRAV;
	d.completion = env_cr(0) + 8;
	memset(env_ptr(&env, 0x9000), GUARD, 64);
	CHECK_EQ(dsa_submit(env.dsa, 0, &d), 0);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 30000000000ull), 0);
	CHECK_EQ(dsa_read_swerr(env.dsa, &e), 0);
	CHECK(e.valid && !e.overflow && !e.record_fault);
	CHECK_EQ(e.status, DSA_COMP_INVALID_CR_ADDR);
	CHECK_EQ(e.opcode, DSA_OP_MEMMOVE);
	CHECK_EQ(e.completion, env_cr(0) + 8);
	CHECK_EQ(e.desc_pasid, d.pasid);
	CHECK(all_are(env_ptr(&env, 0x9000), 64, GUARD));
	CHECK_EQ(*env_ptr(&env, ENV_CR), 0);
	/* A second error only sets overflow. */
	d.completion = 0;
	d.op_flags &= ~DSA_F_CRAV;
	d.size = 0;
	CHECK_EQ(dsa_submit(env.dsa, 0, &d), 0);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 30000000000ull), 0);
	CHECK_EQ(dsa_read_swerr(env.dsa, &e), 0);
	CHECK(e.valid && e.overflow);
	CHECK_EQ(e.status, DSA_COMP_INVALID_CR_ADDR);
	CHECK_EQ(dsa_clear_swerr(env.dsa), 0);
	/* A page fault without CRAV. */
	desc(&d, DSA_OP_CRC32C, false, 0, 0, 64);
	d.src = 0x7000000000ull;
	CHECK_EQ(dsa_submit(env.dsa, 0, &d), 0);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 30000000000ull), 0);
	CHECK_EQ(dsa_read_swerr(env.dsa, &e), 0);
	CHECK(e.valid && !e.overflow && !e.record_fault);
	CHECK_EQ(e.status, DSA_COMP_PAGE_FAULT);
	CHECK_EQ(e.fault_addr, 0x7000000000ull);
	CHECK_EQ(dsa_clear_swerr(env.dsa), 0);
	/* The record itself faults: the data moved, the register names the record. */
	desc(&d, DSA_OP_FILL, true, 0, 0x9000, 64);
	d.pattern = 0x0101010101010101ull;
	d.op_flags |= DSA_F_CRAV | DSA_F_RCR;
	d.completion = 0x7000000000ull;
	CHECK_EQ(dsa_submit(env.dsa, 0, &d), 0);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 30000000000ull), 0);
	CHECK(all_are(env_ptr(&env, 0x9000), 64, 1));
	CHECK_EQ(dsa_read_swerr(env.dsa, &e), 0);
	CHECK(e.valid && e.record_fault);
	CHECK_EQ(e.status, DSA_COMP_SUCCESS);
	CHECK_EQ(e.fault_addr, 0x7000000000ull);
	CHECK(e.fault_info & DSA_FI_WRITE);
	CHECK_EQ(dsa_clear_swerr(env.dsa), 0);
	/* A PASID beyond the function's width (20 bits here: the field is 20 bits, so use a
	 * narrower function below), and PRIV without PASID. */
	desc(&d, DSA_OP_FILL, false, 0, 0x9000, 64);
	d.pasid = DSA_PASID_PRIV;
	d.op_flags |= DSA_F_CRAV | DSA_F_RCR;
	d.completion = env_cr(0);
	CHECK_EQ(dsa_submit(env.dsa, 0, &d), 0);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 30000000000ull), 0);
	CHECK_EQ(dsa_read_swerr(env.dsa, &e), 0);
	CHECK(e.valid && !e.record_fault);
	CHECK_EQ(e.status, DSA_COMP_INVALID_PASID);
	CHECK_EQ(*env_ptr(&env, ENV_CR), 0);
	CHECK_EQ(dsa_get_pasid_stats(env.dsa, false, 0, &ps), 0);
	CHECK_EQ(ps.descriptors, 2);
	CHECK_EQ(ps.faults, 1); /* the page fault; an invalid descriptor is not a fault */
	env_teardown(&env);
}

/* PASIDs the function cannot use: beyond its width, or while PASID is disabled in it. */
static void test_invalid_pasid(void)
{
	struct pci_endpoint_config cfg;
	struct pci_endpoint *ep8;
	struct dsa *dsa8;
	struct dsa_config dc = {0};
	struct dsa_completion c;
	struct dsa_swerr e;
	struct dsa_desc d;

	CHECK(env_setup(&env, true, NULL) == 0);
	cfg = fake_ep_config(&env.fa, env.mem);
	cfg.rid = PCI_RID(1, 0, 1);
	cfg.pasid_width = 8;
	CHECK_EQ(pci_endpoint_create(&cfg, &ep8), 0);
	dc.ep = ep8;
	CHECK_EQ(dsa_create(&dc, &dsa8), 0);
	memset(env_ptr(&env, 0x9000), GUARD, 64);
	dsa_desc_init(&d, DSA_OP_FILL, DSA_F_CRAV | DSA_F_RCR, true, 0x100, false);
	d.dst = ENV_IOVA + 0x9000;
	d.size = 64;
	d.completion = env_cr(0);
	CHECK_EQ(dsa_submit(dsa8, 0, &d), 0);
	CHECK_EQ(dsa_wq_drain(dsa8, 0, 30000000000ull), 0);
	CHECK_EQ(dsa_read_swerr(dsa8, &e), 0);
	CHECK(e.valid);
	CHECK_EQ(e.status, DSA_COMP_INVALID_PASID);
	dsa_destroy(dsa8);
	pci_endpoint_destroy(ep8);
	CHECK(all_are(env_ptr(&env, 0x9000), 64, GUARD));

	/* PASID disabled in the function: the data request is refused before anything moves,
	 * and so is the record's (same PASID). Without PASID the same descriptor works. */
	CHECK_EQ(pci_endpoint_pasid_disable(env.ep), 0);
	desc(&d, DSA_OP_FILL, true, 0, 0x9000, 64);
	d.op_flags |= DSA_F_CRAV | DSA_F_RCR;
	d.completion = env_cr(0);
	memset(mem_ptr(env.mem, env_cr_pa(0), 32), 0, 32);
	CHECK_EQ(dsa_submit(env.dsa, 0, &d), 0);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 30000000000ull), 0);
	CHECK_EQ(dsa_read_swerr(env.dsa, &e), 0);
	CHECK(e.valid && e.record_fault);
	CHECK_EQ(e.status, DSA_COMP_INVALID_PASID);
	CHECK_EQ(*env_ptr(&env, ENV_CR), 0);
	CHECK(all_are(env_ptr(&env, 0x9000), 64, GUARD));
	desc(&d, DSA_OP_FILL, false, 0, 0x9000, 64);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	CHECK(all_are(env_ptr(&env, 0x9000), 64, 0));
	/* Privileged requests need Privileged Mode Enable: refused, and so is the record. */
	CHECK_EQ(dsa_clear_swerr(env.dsa), 0);
	CHECK_EQ(pci_endpoint_pasid_enable(env.ep, false, false), 0);
	dsa_desc_init(&d, DSA_OP_FILL, DSA_F_CRAV | DSA_F_RCR, true, ENV_PASID, true);
	d.dst = ENV_IOVA + 0x9000;
	d.size = 64;
	d.pattern = 0x4242424242424242ull;
	d.completion = env_cr(0);
	memset(mem_ptr(env.mem, env_cr_pa(0), 32), 0, 32);
	CHECK_EQ(dsa_submit(env.dsa, 0, &d), 0);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 30000000000ull), 0);
	CHECK_EQ(dsa_read_swerr(env.dsa, &e), 0);
	CHECK(e.valid && e.record_fault);
	CHECK_EQ(e.status, DSA_COMP_INVALID_PASID);
	CHECK_EQ(*env_ptr(&env, ENV_CR), 0);
	CHECK(all_are(env_ptr(&env, 0x9000), 64, 0));
	env_teardown(&env);
}

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_closed, gate_reached;

/* Hold the engine at its first request while the gate is closed. */
static void gate_hook(void *ctx, const struct pci_req *req)
{
	(void)ctx;
	(void)req;
	pthread_mutex_lock(&gate_lock);
	gate_reached = true;
	pthread_cond_broadcast(&gate_cv);
	while (gate_closed)
		pthread_cond_wait(&gate_cv, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static void test_wq_full(void)
{
	struct dsa_config cfg = {.wq_size = {4}};
	struct dsa_completion c;
	struct dsa_stats st;
	struct dsa_desc d;

	CHECK(env_setup(&env, false, &cfg) == 0);
	CHECK_EQ(dsa_wq_size(env.dsa, 0), 4);
	gate_closed = true;
	gate_reached = false;
	env.fa.hook = gate_hook;
	desc(&d, DSA_OP_FILL, true, 0, 0x9000, 64);
	CHECK_EQ(dsa_submit(env.dsa, 0, &d), 0);
	pthread_mutex_lock(&gate_lock);
	while (!gate_reached)
		pthread_cond_wait(&gate_cv, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	/* The engine holds the first one; four more fill the WQ; the next is refused. */
	for (int i = 0; i < 4; i++)
		CHECK_EQ(dsa_submit(env.dsa, 0, &d), 0);
	CHECK_EQ(dsa_submit(env.dsa, 0, &d), -EAGAIN);
	CHECK_EQ(dsa_submit(env.dsa, 0, &d), -EAGAIN);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 1000000), -ETIMEDOUT);
	pthread_mutex_lock(&gate_lock);
	gate_closed = false;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_lock);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 30000000000ull), 0);
	env.fa.hook = NULL;
	desc(&d, DSA_OP_NOOP, true, 0, 0, 0);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	CHECK_EQ(dsa_get_stats(env.dsa, &st), 0);
	CHECK_EQ(st.submitted, 6);
	CHECK_EQ(st.retries, 2);
	CHECK_EQ(st.completed, 6);
	env_teardown(&env);
}

static void test_wq_enable_disable(void)
{
	struct dsa_config cfg = {.num_wqs = 3, .wq_size = {8, 1, 4096}};
	struct dsa_completion c;
	struct dsa_stats st;
	struct dsa_desc d;

	CHECK(env_setup(&env, true, &cfg) == 0);
	CHECK_EQ(dsa_num_wqs(env.dsa), 3);
	CHECK_EQ(dsa_wq_size(env.dsa, 1), 1);
	CHECK_EQ(dsa_wq_size(env.dsa, 3), 0);
	for (int round = 0; round < 20; round++) {
		/* Queue work, then disable: every accepted descriptor still completes. */
		for (unsigned i = 0; i < 8; i++) {
			desc(&d, DSA_OP_FILL, true, 0, 0x9000 + i * 64, 64);
			d.pattern = (uint64_t)round * 0x0101010101010101ull;
			CHECK_EQ(dsa_submit(env.dsa, 0, &d), 0);
		}
		CHECK_EQ(dsa_wq_disable(env.dsa, 0), 0);
		CHECK_EQ(dsa_wq_disable(env.dsa, 0), 0);
		CHECK(all_are(env_ptr(&env, 0x9000), 8 * 64, (uint8_t)round));
		CHECK_EQ(dsa_submit(env.dsa, 0, &d), -ENODEV);
		CHECK_EQ(dsa_wq_drain(env.dsa, 0, 0), 0);
		CHECK_EQ(dsa_wq_enable(env.dsa, 0), 0);
		CHECK_EQ(dsa_wq_enable(env.dsa, 0), 0);
	}
	desc(&d, DSA_OP_NOOP, true, 0, 0, 0);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	/* The other WQs run on their own engines. */
	for (unsigned w = 1; w < 3; w++) {
		memset(mem_ptr(env.mem, env_cr_pa(w), 32), 0, 32);
		dsa_desc_init(&d, DSA_OP_FILL, DSA_F_CRAV | DSA_F_RCR, false, 0, false);
		d.dst = ENV_IOVA + 0xa000 + w * 64;
		d.size = 64;
		d.pattern = w;
		d.completion = env_cr(w);
		CHECK_EQ(dsa_submit(env.dsa, w, &d), 0);
		CHECK_EQ(dsa_wait(env.mem, env_cr_pa(w), 30000000000ull, &c), 0);
		CHECK_EQ(c.status, DSA_COMP_SUCCESS);
		CHECK_EQ(*env_ptr(&env, 0xa000 + w * 64), w);
	}
	CHECK_EQ(dsa_get_stats(env.dsa, &st), 0);
	CHECK_EQ(st.completed, 20 * 8 + 3);
	/* Destroy with work queued and engines busy: it completes, then frees (ASan checks
	 * that nothing leaks). */
	for (unsigned i = 0; i < 100; i++) {
		desc(&d, DSA_OP_MEMMOVE, true, 0x10000, 0x40000, 20000);
		CHECK_EQ(dsa_submit(env.dsa, 2, &d), 0);
	}
	env_teardown(&env);
}

/*
 * The ring's slots are reused in order whatever its size: WQs of 3 and 5 slots (not powers
 * of two) take bursts of up to twice their size (retried while full), which wrap the ring,
 * across a disable and enable that leave head and tail inside it; every descriptor runs
 * exactly once, and in order (the fills of one line land in submission order).
 */
static void test_ring_wrap(void)
{
	static const uint32_t sizes[] = {3, 5};

	for (unsigned k = 0; k < 2; k++) {
		struct dsa_config cfg = {.wq_size = {sizes[k]}};
		struct dsa_stats st;
		struct dsa_desc d;
		unsigned n = 0;

		CHECK(env_setup(&env, true, &cfg) == 0);
		memset(env_ptr(&env, 0x20000), 0, 0x3000);
		for (unsigned round = 0; round < 9; round++) {
			unsigned burst = 1 + round % (2 * sizes[k]);

			for (unsigned i = 0; i < burst; i++, n++) {
				int ret;

				/* Descriptor n fills its own 64 bytes with n + 1, then the shared
				 * line at 0x22000 with n + 1: the last one submitted must win. */
				desc(&d, DSA_OP_FILL, true, 0, 0x20000 + n * 64, 64);
				d.pattern = (uint64_t)(n + 1) * 0x0101010101010101ull;
				while ((ret = dsa_submit(env.dsa, 0, &d)) == -EAGAIN)
					sched_yield();
				CHECK_EQ(ret, 0);
				desc(&d, DSA_OP_FILL, true, 0, 0x22000, 64);
				d.pattern = (uint64_t)(n + 1) * 0x0101010101010101ull;
				while ((ret = dsa_submit(env.dsa, 0, &d)) == -EAGAIN)
					sched_yield();
				CHECK_EQ(ret, 0);
			}
			CHECK_EQ(dsa_wq_drain(env.dsa, 0, 30000000000ull), 0);
			CHECK(all_are(env_ptr(&env, 0x22000), 64, (uint8_t)n));
			if (round == 4) {
				CHECK_EQ(dsa_wq_disable(env.dsa, 0), 0);
				CHECK_EQ(dsa_wq_enable(env.dsa, 0), 0);
			}
		}
		CHECK(n < 0x2000 / 64);
		for (unsigned m = 0; m < n; m++)
			CHECK(all_are(env_ptr(&env, 0x20000 + m * 64), 64, (uint8_t)(m + 1)));
		CHECK(all_are(env_ptr(&env, 0x20000 + n * 64), 0x2000 - n * 64, 0));
		CHECK_EQ(dsa_get_stats(env.dsa, &st), 0);
		CHECK_EQ(st.submitted, 2 * n);
		CHECK_EQ(st.completed, 2 * n);
		CHECK_EQ(st.success, 2 * n);
		CHECK_EQ(st.by_op[2], 2 * n);
		CHECK_EQ(st.bytes, 2 * n * 64);
		env_teardown(&env);
	}
}

/*
 * The layout the engine's speed relies on: the device, each WQ and its ring start on cache
 * lines (aligned_alloc; calloc gives 16 bytes), a ring slot is one line, and the lines a
 * submission writes (the lock, tail and its counters) are not those the engine writes for
 * each descriptor (head, its counters) nor the one it reads (the first).
 */
static void test_layout(void)
{
	struct dsa_config cfg = {.num_wqs = 2, .wq_size = {3, 100}};

	CHECK(env_setup(&env, true, &cfg) == 0);
	CHECK_EQ((uintptr_t)env.dsa % 64, 0);
	CHECK_EQ(offsetof(struct dsa, pasid) % 64, 0);
	CHECK(offsetof(struct dsa, pasid) >= 64);
	CHECK(offsetof(struct dsa, pasid_width) < 64 && offsetof(struct dsa, irq_ctx) < 64);
	for (unsigned w = 0; w < 2; w++) {
		struct dsa_wq *wq = env.dsa->wq[w];

		CHECK_EQ((uintptr_t)wq % 64, 0);
		CHECK_EQ((uintptr_t)wq->ring % 64, 0);
	}
	CHECK_EQ(sizeof(struct dsa_desc), 64);
	CHECK(offsetof(struct dsa_wq, drain_at) < 64);
	CHECK(offsetof(struct dsa_wq, lock) >= 64);
	CHECK(offsetof(struct dsa_wq, tail) / 64 > offsetof(struct dsa_wq, sleeping) / 64);
	CHECK(offsetof(struct dsa_wq, head) / 64 >
	      (offsetof(struct dsa_wq, sub) + sizeof(struct dsa_stats) - 1) / 64);
	CHECK_EQ(offsetof(struct dsa_wq, head) / 64, offsetof(struct dsa_wq, cnt.interrupts) / 64);
	CHECK_EQ(offsetof(struct dsa_wq, head) % 64, 0);
	env_teardown(&env);
}

/* ---- interrupts, the access hook, counters ------------------------------------------- */

struct irq_log {
	pthread_mutex_t lock;
	unsigned n;
	unsigned wq[8];
	uint16_t handle[8];
};

static void on_irq(void *ctx, unsigned wq, uint16_t handle)
{
	struct irq_log *l = ctx;

	pthread_mutex_lock(&l->lock);
	if (l->n < 8) {
		l->wq[l->n] = wq;
		l->handle[l->n] = handle;
	}
	l->n++;
	pthread_mutex_unlock(&l->lock);
}

static void test_interrupts(void)
{
	static struct irq_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct dsa_config cfg = {.irq = on_irq, .irq_ctx = &log};
	struct dsa_completion c;
	struct dsa_stats st;
	struct dsa_desc d;

	CHECK(env_setup(&env, true, &cfg) == 0);
	desc(&d, DSA_OP_NOOP, true, 0, 0, 0);
	d.op_flags |= DSA_F_RCI;
	d.int_handle = 0x1234;
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	desc(&d, DSA_OP_NOOP, true, 0, 0, 0); /* no RCI: no interrupt */
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	desc(&d, 0x55, true, 0, 0, 0); /* an invalid one interrupts too */
	d.op_flags |= DSA_F_RCI;
	d.int_handle = 7;
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_INVALID_OPCODE);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 30000000000ull), 0);
	pthread_mutex_lock(&log.lock);
	CHECK_EQ(log.n, 2);
	CHECK_EQ(log.wq[0], 0);
	CHECK_EQ(log.handle[0], 0x1234);
	CHECK_EQ(log.handle[1], 7);
	pthread_mutex_unlock(&log.lock);
	CHECK_EQ(dsa_get_stats(env.dsa, &st), 0);
	CHECK_EQ(st.interrupts, 2);
	env_teardown(&env);
}

struct access_log {
	unsigned n;
	bool has_pasid[16], write[16];
	uint64_t addr[16], len[16];
};

static void on_access(void *ctx, bool has_pasid, uint32_t pasid, uint64_t addr, uint64_t len,
		      bool write)
{
	struct access_log *l = ctx;

	(void)pasid;
	if (l->n < 16) {
		l->has_pasid[l->n] = has_pasid;
		l->write[l->n] = write;
		l->addr[l->n] = addr;
		l->len[l->n] = len;
	}
	l->n++;
}

/* The hook sees every DMA: the source and destination ranges, then the record. */
static void test_access_hook(void)
{
	static struct access_log log;
	struct dsa_config cfg = {.access = on_access, .access_ctx = &log};
	struct dsa_completion c;
	struct dsa_desc d;
	uint64_t rd = 0, wr = 0;

	CHECK(env_setup(&env, true, &cfg) == 0);
	desc(&d, DSA_OP_MEMMOVE, true, 0x10000, 0x40000, 8192);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 30000000000ull), 0);
	/* A memmove of ranges that do not overlap is one copy: the whole source, the whole
	 * destination, then the 32-byte record. */
	CHECK_EQ(log.n, 3);
	for (unsigned i = 0; i < log.n; i++) {
		CHECK(log.has_pasid[i]);
		if (log.addr[i] == ENV_IOVA + 0x10000) {
			CHECK(!log.write[i]);
			rd += log.len[i];
		} else if (log.addr[i] == ENV_IOVA + 0x40000) {
			CHECK(log.write[i]);
			wr += log.len[i];
		} else {
			CHECK_EQ(log.addr[i], env_cr(0));
			CHECK_EQ(log.len[i], 32);
			CHECK(log.write[i]);
		}
	}
	CHECK_EQ(rd, 8192);
	CHECK_EQ(wr, 8192);
	env_teardown(&env);
}

static void test_counters(void)
{
	struct dsa_pasid_stats ps[4];
	struct dsa_completion c;
	struct dsa_stats st;
	struct dsa_desc d;

	CHECK(env_setup(&env, true, NULL) == 0);
	CHECK_EQ(dsa_get_pasid_stats(env.dsa, true, ENV_PASID, &ps[0]), -ENOENT);
	CHECK_EQ(dsa_list_pasid_stats(env.dsa, NULL, 0), 0);
	desc(&d, DSA_OP_MEMMOVE, true, 0x10000, 0x40000, 10000);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	desc(&d, DSA_OP_FILL, false, 0, 0x40000, 3000);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	desc(&d, DSA_OP_CRC32C, true, 0, 0, 100);
	d.src = 0x7000000000ull;
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_PAGE_FAULT);
	desc(&d, DSA_OP_COMPARE, true, 0x10000, 0x40000, 5000);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 30000000000ull), 0);
	CHECK_EQ(dsa_get_stats(env.dsa, &st), 0);
	CHECK_EQ(st.submitted, 4);
	CHECK_EQ(st.completed, 4);
	CHECK_EQ(st.success, 3);
	CHECK_EQ(st.page_faults, 1);
	CHECK_EQ(st.records, 4);
	CHECK_EQ(st.by_op[1], 1);
	CHECK_EQ(st.by_op[2], 1);
	CHECK_EQ(st.by_op[3], 1);
	CHECK_EQ(st.by_op[4], 1);
	CHECK_EQ(c.result, 0);
	CHECK_EQ(st.bytes, 10000 + 3000 + 5000);
	CHECK_EQ(dsa_get_pasid_stats(env.dsa, true, ENV_PASID, &ps[0]), 0);
	CHECK(ps[0].has_pasid && !ps[0].other);
	CHECK_EQ(ps[0].pasid, ENV_PASID);
	CHECK_EQ(ps[0].descriptors, 3);
	CHECK_EQ(ps[0].faults, 1);
	CHECK_EQ(dsa_get_pasid_stats(env.dsa, false, 0, &ps[1]), 0);
	CHECK(!ps[1].has_pasid);
	CHECK_EQ(ps[1].descriptors, 1);
	CHECK_EQ(ps[1].bytes, 3000);
	CHECK_EQ(dsa_get_pasid_stats(env.dsa, true, 6, &ps[2]), -ENOENT);
	CHECK_EQ(dsa_list_pasid_stats(env.dsa, ps, 1), 2);
	CHECK_EQ(dsa_list_pasid_stats(env.dsa, ps, 4), 2);
	env_teardown(&env);
}

/* Busy time (with timing) and the engines' CPU time, kept across an engine restart. */
/*
 * A memmove with a record on success goes to the endpoint as one copy-and-write
 * (pci_endpoint_dma_copy_write): every outcome reports and counts as the copy and the
 * record made one after the other - successes from the request memos, a copy that faults
 * after the memos were made (the success counted before the copy is taken back), and a
 * record that faults after the data moved.
 */
static void test_memmove_record_counters(void)
{
	struct dsa_pasid_stats ps;
	struct dsa_completion c;
	struct dsa_stats st;
	struct dsa_swerr e;
	struct dsa_desc d;

	CHECK(env_setup(&env, true, NULL) == 0);
	for (int i = 0; i < 4; i++) {
		memset(env_ptr(&env, 0x10000), 0x30 + i, 16384);
		desc(&d, DSA_OP_MEMMOVE, true, 0x10000, 0x40000, 16384);
		CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
		CHECK_EQ(c.bytes_completed, 16384);
		CHECK(all_are(env_ptr(&env, 0x40000), 16384, (uint8_t)(0x30 + i)));
	}
	/* The copy faults: the source's third page is gone. */
	env_unmap(&env, 0x10000 / 4096 + 2, 1);
	memset(env_ptr(&env, 0x40000), GUARD, 16384);
	desc(&d, DSA_OP_MEMMOVE, true, 0x10000, 0x40000, 16384);
	CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_PAGE_FAULT);
	CHECK_EQ(c.bytes_completed, 8192);
	CHECK_EQ(c.fault_addr, ENV_IOVA + 0x12000);
	CHECK(all_are(env_ptr(&env, 0x40000 + 8192), 8192, GUARD));
	/* The record faults after the data moved. */
	memset(env_ptr(&env, 0x20000), 0x5a, 4096);
	desc(&d, DSA_OP_MEMMOVE, true, 0x20000, 0x40000, 4096);
	d.op_flags |= DSA_F_CRAV | DSA_F_RCR;
	d.completion = 0x7000000000ull;
	CHECK_EQ(dsa_submit(env.dsa, 0, &d), 0);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 30000000000ull), 0);
	CHECK(all_are(env_ptr(&env, 0x40000), 4096, 0x5a));
	CHECK_EQ(dsa_read_swerr(env.dsa, &e), 0);
	CHECK(e.valid && e.record_fault);
	CHECK_EQ(e.status, DSA_COMP_SUCCESS);
	CHECK_EQ(e.fault_addr, 0x7000000000ull);
	CHECK(e.fault_info & DSA_FI_WRITE);
	CHECK_EQ(dsa_get_stats(env.dsa, &st), 0);
	CHECK_EQ(st.completed, 6);
	CHECK_EQ(st.success, 5);
	CHECK_EQ(st.page_faults, 1);
	CHECK_EQ(st.records, 5);
	CHECK_EQ(st.record_errors, 1);
	CHECK_EQ(st.by_op[1], 6);
	CHECK_EQ(st.bytes, 4 * 16384 + 8192 + 4096);
	CHECK_EQ(dsa_get_pasid_stats(env.dsa, true, ENV_PASID, &ps), 0);
	CHECK_EQ(ps.descriptors, 6);
	CHECK_EQ(ps.bytes, 4 * 16384 + 8192 + 4096);
	CHECK_EQ(ps.faults, 1);
	env_teardown(&env);
}

static void test_engine_time(void)
{
	struct dsa_config cfg = {.timing = true};
	struct dsa_completion c;
	struct dsa_stats st;
	struct dsa_desc d;
	uint64_t cpu0, cpu1;

	CHECK(env_setup(&env, true, &cfg) == 0);
	for (int i = 0; i < 20; i++) {
		desc(&d, DSA_OP_MEMMOVE, true, 0x10000, 0x40000, 60000);
		CHECK_EQ(env_run(&env, &d, &c), DSA_COMP_SUCCESS);
	}
	CHECK_EQ(dsa_get_stats(env.dsa, &st), 0);
	CHECK(st.busy_ns > 0);
	cpu0 = dsa_engine_cpu_ns(env.dsa);
	CHECK(cpu0 > 0);
	CHECK_EQ(dsa_wq_disable(env.dsa, 0), 0);
	cpu1 = dsa_engine_cpu_ns(env.dsa);
	CHECK(cpu1 >= cpu0);
	CHECK_EQ(dsa_wq_enable(env.dsa, 0), 0);
	CHECK(dsa_engine_cpu_ns(env.dsa) >= cpu1);
	CHECK_EQ(dsa_engine_cpu_ns(NULL), 0);
	env_teardown(&env);
}

/* More PASIDs than slots: the rest share one. */
static void test_pasid_slots_overflow(void)
{
	static struct dsa_pasid_stats ps[DSA_PASID_STATS_SLOTS + 1];
	struct dsa_desc d;
	uint64_t total = 0;
	int n;

	CHECK(env_setup(&env, true, NULL) == 0);
	for (uint32_t p = 1; p <= DSA_PASID_STATS_SLOTS + 10; p++) {
		dsa_desc_init(&d, DSA_OP_NOOP, 0, true, p, false);
		CHECK_EQ(dsa_submit(env.dsa, 0, &d), 0);
		if (p % 32 == 0)
			CHECK_EQ(dsa_wq_drain(env.dsa, 0, 30000000000ull), 0);
	}
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 30000000000ull), 0);
	n = dsa_list_pasid_stats(env.dsa, ps, DSA_PASID_STATS_SLOTS + 1);
	CHECK_EQ(n, DSA_PASID_STATS_SLOTS + 1);
	CHECK(ps[DSA_PASID_STATS_SLOTS].other);
	CHECK_EQ(ps[DSA_PASID_STATS_SLOTS].descriptors, 10);
	for (int i = 0; i < n; i++)
		total += ps[i].descriptors;
	CHECK_EQ(total, DSA_PASID_STATS_SLOTS + 10);
	env_teardown(&env);
}

/* ---- waiting and bad arguments ------------------------------------------------------- */

static void test_wait(void)
{
	struct dsa_completion c;
	struct mem *m = mem_create_sparse(1 << 20);

	CHECK(m);
	CHECK_EQ(dsa_wait(m, 0x1000, 1000000, &c), -ETIMEDOUT);
	CHECK_EQ(dsa_wait(m, 0x1008, 1000000, &c), -EINVAL);
	CHECK_EQ(dsa_wait(m, 1 << 20, 1000000, &c), -EFAULT);
	CHECK_EQ(dsa_wait(m, (1 << 20) - 16, 1000000, &c), -EINVAL);
	CHECK_EQ(dsa_wait(NULL, 0, 0, &c), -EINVAL);
	*(uint8_t *)mem_ptr(m, 0x2000, 1) = DSA_COMP_PAGE_FAULT;
	*(uint64_t *)mem_ptr(m, 0x2008, 8) = 0x1234;
	CHECK_EQ(dsa_wait(m, 0x2000, 0, &c), 0);
	CHECK_EQ(c.status, DSA_COMP_PAGE_FAULT);
	CHECK_EQ(c.fault_addr, 0x1234);
	CHECK_EQ(dsa_wait(m, 0x2000, 0, NULL), 0);
	mem_destroy(m);
}

static void test_bad_arguments(void)
{
	struct dsa_config cfg = {0};
	struct dsa_stats st;
	struct dsa_swerr e;
	struct dsa_desc d = {0};
	struct dsa *dsa = NULL;

	CHECK_EQ(dsa_create(NULL, &dsa), -EINVAL);
	CHECK_EQ(dsa_create(&cfg, &dsa), -EINVAL); /* no endpoint */
	CHECK(env_setup(&env, true, NULL) == 0);
	cfg.ep = env.ep;
	CHECK_EQ(dsa_create(&cfg, NULL), -EINVAL);
	cfg.num_wqs = DSA_MAX_WQS + 1;
	CHECK_EQ(dsa_create(&cfg, &dsa), -EINVAL);
	cfg.num_wqs = 1;
	cfg.wq_size[0] = DSA_MAX_WQ_SIZE + 1;
	CHECK_EQ(dsa_create(&cfg, &dsa), -EINVAL);
	cfg.wq_size[0] = 0;
	cfg.max_transfer_size = DSA_MAX_XFER_LIMIT + 1;
	CHECK_EQ(dsa_create(&cfg, &dsa), -EINVAL);
	CHECK(dsa == NULL);
	CHECK_EQ(dsa_submit(NULL, 0, &d), -EINVAL);
	CHECK_EQ(dsa_submit(env.dsa, 1, &d), -EINVAL);
	CHECK_EQ(dsa_submit(env.dsa, 0, NULL), -EINVAL);
	CHECK_EQ(dsa_wq_enable(env.dsa, 1), -EINVAL);
	CHECK_EQ(dsa_wq_disable(NULL, 0), -EINVAL);
	CHECK_EQ(dsa_wq_drain(env.dsa, 9, 0), -EINVAL);
	CHECK_EQ(dsa_get_stats(NULL, &st), -EINVAL);
	CHECK_EQ(dsa_get_stats(env.dsa, NULL), -EINVAL);
	CHECK_EQ(dsa_get_pasid_stats(env.dsa, true, 1, NULL), -EINVAL);
	CHECK_EQ(dsa_get_pasid_stats(env.dsa, true, 1u << 20, (struct dsa_pasid_stats *)&st),
		 -ENOENT);
	CHECK_EQ(dsa_list_pasid_stats(env.dsa, NULL, 1), -EINVAL);
	CHECK_EQ(dsa_read_swerr(NULL, &e), -EINVAL);
	CHECK_EQ(dsa_read_swerr(env.dsa, NULL), -EINVAL);
	CHECK_EQ(dsa_clear_swerr(NULL), -EINVAL);
	CHECK_EQ(dsa_max_transfer_size(env.dsa), DSA_DEFAULT_MAX_XFER);
	CHECK(dsa_endpoint(env.dsa) == env.ep);
	CHECK(dsa_endpoint(NULL) == NULL);
	CHECK_EQ(dsa_num_wqs(NULL), 0);
	CHECK(strcmp(dsa_status_name(DSA_COMP_PAGE_FAULT), "page-fault") == 0);
	CHECK(strcmp(dsa_status_name(0x99), "unknown") == 0);
	dsa_destroy(NULL);
	env_teardown(&env);
}

int main(void)
{
	RUN(test_memmove_ats);
	RUN(test_memmove_no_ats);
	RUN(test_memmove_overlap);
	RUN(test_fill);
	RUN(test_compare);
	RUN(test_crc32c_function);
	RUN(test_crc32c_device);
	RUN(test_noop_and_record_policy);
	RUN(test_fault_read_ats);
	RUN(test_fault_read_no_ats);
	RUN(test_fault_write);
	RUN(test_fault_backward);
	RUN(test_fault_fill_compare_crc);
	RUN(test_dma_errors);
	RUN(test_invalid_descriptors);
	RUN(test_swerr);
	RUN(test_invalid_pasid);
	RUN(test_wq_full);
	RUN(test_wq_enable_disable);
	RUN(test_ring_wrap);
	RUN(test_layout);
	RUN(test_interrupts);
	RUN(test_access_hook);
	RUN(test_counters);
	RUN(test_memmove_record_counters);
	RUN(test_engine_time);
	RUN(test_pasid_slots_overflow);
	RUN(test_wait);
	RUN(test_bad_arguments);
	return CHECK_DONE();
}
