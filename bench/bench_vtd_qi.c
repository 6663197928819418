// SPDX-License-Identifier: MIT
/*
 * What queued invalidation costs in the VT-d model, measured against baselines in the same
 * run (pinned to one CPU, batches interleaved, medians of thread CPU time):
 *
 *   flush   the batch a driver sends to unmap one 4 KiB page of a first-stage domain
 *           attached with ATS: PASID-based IOTLB (page), PASID-based device-TLB (to a
 *           port that completes at once), and a wait with a status write - descriptors
 *           written to the queue, IQT written, the status read back. Baseline: the same
 *           driver work without the unit (descriptors and status written to memory by
 *           software), and one plain MMIO register write.
 *   stream  127 page-selective IOTLB descriptors and a wait per IQT write: the model's
 *           cost per descriptor. Baseline: reading the same 127 descriptors (32 bytes
 *           each) from memory with mem_read64, the least any fetch must do.
 *
 * With --callgrind each loop runs again under `valgrind --tool=callgrind` and the
 * instructions per batch / per descriptor are printed.
 *
 *   bench_vtd_qi [--callgrind] [rounds]
 *   bench_vtd_qi --inner flush|driver|mmio|stream|fetch N      (used by --callgrind)
 */
#include "bench_harness.h"

#include <softiommu/vtd.h>

#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE (64ull << 20)
#define IQ	 0x100000ull /* QS 0: 128 slots of 32 bytes */
#define STATUS	 0x200000ull
#define RID	 PCI_RID(0x3a, 2, 0)
#define PASID	 0x42u
#define DID	 7u
#define STREAM	 127
#define BATCH	 4000

struct bench {
	struct mem *m;
	struct vtd *vtd;
	uint64_t tail; /* the driver's tail */
	unsigned port_calls;
};

static volatile uint64_t sink;

static int port_done(void *ctx, const struct pci_ats_inv *inv)
{
	struct bench *b = ctx;

	(void)inv;
	b->port_calls++;
	return 0;
}

static int setup(struct bench *b)
{
	struct vtd_config c;
	struct pci_ats_port port = {.invalidate = port_done, .ctx = b};

	memset(b, 0, sizeof(*b));
	b->m = mem_create_sparse(MEM_SIZE);
	vtd_config_default(&c);
	if (!b->m || vtd_create(&c, b->m, NULL, NULL, &b->vtd) ||
	    vtd_connect_ats(b->vtd, RID, &port))
		return -1;
	vtd_mmio_write(b->vtd, VTD_REG_IQA, 8, IQ | VTD_IQA_DW);
	vtd_mmio_write(b->vtd, VTD_REG_GCMD, 4, VTD_GCMD_QIE);
	return 0;
}

/* One 256-bit descriptor at the driver's tail. */
static inline void put(struct bench *b, uint64_t q0, uint64_t q1)
{
	mem_write64(b->m, IQ + b->tail, q0);
	mem_write64(b->m, IQ + b->tail + 8, q1);
	mem_write64(b->m, IQ + b->tail + 16, 0);
	mem_write64(b->m, IQ + b->tail + 24, 0);
	b->tail = (b->tail + 32) & 0xfff;
}

static inline void put_flush(struct bench *b, uint64_t va, uint32_t n)
{
	put(b,
	    VTD_INV_PIOTLB | VTD_SET(VTD_INV_PIOTLB_G, VTD_INV_PIOTLB_G_PAGE) |
		VTD_SET(VTD_INV_PIOTLB_DID, DID) | VTD_SET(VTD_INV_PIOTLB_PASID, PASID),
	    va | VTD_INV_PIOTLB_IH);
	put(b,
	    VTD_INV_PDEVTLB | VTD_SET(VTD_INV_PDEVTLB_SID, RID) |
		VTD_SET(VTD_INV_PDEVTLB_PASID, PASID),
	    va);
	put(b, VTD_INV_WAIT | VTD_INV_WAIT_SW | VTD_SET(VTD_INV_WAIT_STDATA, n), STATUS);
}

/* The whole flush through the unit. */
__attribute__((noinline)) static uint64_t flush_loop(struct bench *b, long n)
{
	uint64_t acc = 0;
	uint32_t st = 0;

	for (long i = 0; i < n; i++) {
		put_flush(b, 0x7f0000000000ull + ((uint64_t)i << 12), (uint32_t)i);
		vtd_mmio_write(b->vtd, VTD_REG_IQT, 8, b->tail);
		mem_read32(b->m, STATUS, &st);
		acc += st;
	}
	return acc;
}

/* The driver's own share: the same descriptors and a status word, no unit. The tail is
 * put back afterwards, so the unit never sees these. */
__attribute__((noinline)) static uint64_t driver_loop(struct bench *b, long n)
{
	uint64_t acc = 0, tail = b->tail;
	uint32_t st = 0;

	for (long i = 0; i < n; i++) {
		put_flush(b, 0x7f0000000000ull + ((uint64_t)i << 12), (uint32_t)i);
		mem_write32(b->m, STATUS, (uint32_t)i);
		mem_read32(b->m, STATUS, &st);
		acc += st;
	}
	b->tail = tail;
	return acc;
}

/* One MMIO write that does nothing but store (IEDATA). */
__attribute__((noinline)) static uint64_t mmio_loop(struct bench *b, long n)
{
	for (long i = 0; i < n; i++)
		vtd_mmio_write(b->vtd, VTD_REG_IEDATA, 4, (uint32_t)i);
	return (uint64_t)n;
}

/* The whole queue filled with page-selective IOTLB descriptors and a wait (the driver's
 * tail, equal to IQH between loops, is kept). */
static void fill_stream(struct bench *b)
{
	uint64_t tail = b->tail;

	for (unsigned i = 0; i < STREAM; i++) {
		b->tail = 32 * i;
		put(b,
		    VTD_INV_IOTLB | VTD_SET(VTD_INV_IOTLB_G, VTD_IOTLB_GRAN_PAGE) |
			VTD_SET(VTD_INV_IOTLB_DID, DID),
		    (uint64_t)i << 12);
	}
	b->tail = 32 * STREAM;
	put(b, VTD_INV_WAIT | VTD_INV_WAIT_SW, STATUS);
	b->tail = tail;
}

/* The queue round once per iteration, in two IQT writes (127 + 1 descriptors): IQH ends
 * where it started. */
__attribute__((noinline)) static uint64_t stream_loop(struct bench *b, long n)
{
	uint64_t head = 0;

	vtd_mmio_read(b->vtd, VTD_REG_IQH, 8, &head);
	for (long i = 0; i < n; i++) {
		vtd_mmio_write(b->vtd, VTD_REG_IQT, 8, (head + 0x1000 - 32) & 0xfff);
		vtd_mmio_write(b->vtd, VTD_REG_IQT, 8, head); /* and the last slot */
	}
	vtd_mmio_read(b->vtd, VTD_REG_IQH, 8, &head);
	return head;
}

/* The least a fetch does: the same 128 x 32 bytes read through the memory API. */
__attribute__((noinline)) static uint64_t fetch_loop(struct bench *b, long n)
{
	uint64_t acc = 0, q;

	for (long i = 0; i < n; i++)
		for (unsigned s = 0; s < STREAM + 1; s++)
			for (unsigned w = 0; w < 4; w++) {
				mem_read64(b->m, IQ + 32 * s + 8 * w, &q);
				acc += q;
			}
	return acc;
}

typedef uint64_t (*loop_fn)(struct bench *, long);

/* ns per iteration of `fn` over `n` iterations. */
static double time_loop(struct bench *b, loop_fn fn, long n)
{
	double t0 = bench_thread_ns();

	sink += fn(b, n);
	return (bench_thread_ns() - t0) / (double)n;
}

static int timed(struct bench *b, int rounds)
{
	static const loop_fn fns[5] = {flush_loop, driver_loop, mmio_loop, stream_loop, fetch_loop};
	static const long iters[5] = {BATCH, BATCH, BATCH * 8, BATCH / 16, BATCH / 16};
	double *t[5], med[5];
	uint64_t st;

	for (int k = 0; k < 5; k++)
		if (!(t[k] = calloc((size_t)rounds, sizeof(double))))
			return 1;
	flush_loop(b, 1);
	if (vtd_mmio_read(b->vtd, VTD_REG_FSTS, 4, &st) || st || b->port_calls != 1) {
		fprintf(stderr, "the flush batch did not complete cleanly\n");
		return 1;
	}
	for (int r = 0; r < rounds; r++)
		for (int j = 0; j < 5; j++) {
			int k = (j + r) % 5; /* rotate which loop goes first */

			if (k == 3)
				fill_stream(b);
			t[k][r] = time_loop(b, fns[k], iters[k]);
		}
	for (int k = 0; k < 5; k++)
		med[k] = bench_median(t[k], rounds);
	vtd_mmio_read(b->vtd, VTD_REG_FSTS, 4, &st);
	if (st) {
		fprintf(stderr, "a queue error happened during the runs (FSTS %#llx)\n",
			(unsigned long long)st);
		return 1;
	}
	printf("queued invalidation (medians of %d rounds, thread CPU time):\n", rounds);
	printf("  flush: p_iotlb page + p_devtlb + wait, through IQT  %7.1f ns\n", med[0]);
	printf("    driver's own work (descriptors, status)          %7.1f ns\n", med[1]);
	printf("    one MMIO register write                          %7.1f ns\n", med[2]);
	printf("    unit's share: %.1f ns = %.1f MMIO writes; flush / driver work %.2f x\n",
	       med[0] - med[1], (med[0] - med[1]) / med[2], med[0] / med[1]);
	printf("  stream: per descriptor (127 + 1 per 2 IQT writes)  %7.1f ns\n",
	       med[3] / (STREAM + 1));
	printf("    fetching 32 bytes with mem_read64                %7.1f ns\n",
	       med[4] / (STREAM + 1));
	printf("    ratio                                            %7.2f x\n", med[3] / med[4]);
	for (int k = 0; k < 5; k++)
		free(t[k]);
	return 0;
}

static int with_callgrind(const char *self)
{
	const long n = 20000, ns = 200;
	long long fl = bench_callgrind_inner(self, "flush", "flush_loop", n);
	long long dr = bench_callgrind_inner(self, "driver", "driver_loop", n);
	long long mm = bench_callgrind_inner(self, "mmio", "mmio_loop", n);
	long long sr = bench_callgrind_inner(self, "stream", "stream_loop", ns);
	long long fe = bench_callgrind_inner(self, "fetch", "fetch_loop", ns);

	if (fl < 0 || dr < 0 || mm < 0 || sr < 0 || fe < 0) {
		fprintf(stderr, "callgrind run failed (is valgrind installed?)\n");
		return 1;
	}
	printf("instructions (callgrind):\n");
	printf("  flush through IQT  %8.1f   driver's own work %7.1f   unit's share %7.1f\n",
	       (double)fl / n, (double)dr / n, (double)(fl - dr) / n);
	printf("  one MMIO write     %8.1f\n", (double)mm / n);
	printf("  per descriptor     %8.1f   32-byte fetch via mem_read64 %7.1f   ratio %.2f x\n",
	       (double)sr / (ns * (STREAM + 1.0)), (double)fe / (ns * (STREAM + 1.0)),
	       (double)sr / (double)fe);
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b;
	int rounds = 31, r;

	if (setup(&b)) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	if (argc == 4 && !strcmp(argv[1], "--inner")) {
		long n = atol(argv[3]);
		const char *w = argv[2];

		if (!strcmp(w, "stream") || !strcmp(w, "fetch"))
			fill_stream(&b);
		sink = !strcmp(w, "flush")    ? flush_loop(&b, n)
		       : !strcmp(w, "driver") ? driver_loop(&b, n)
		       : !strcmp(w, "mmio")   ? mmio_loop(&b, n)
		       : !strcmp(w, "stream") ? stream_loop(&b, n)
					      : fetch_loop(&b, n);
		return 0;
	}
	if (bench_pin())
		perror("sched_setaffinity");
	bool cg = argc > 1 && !strcmp(argv[1], "--callgrind");
	if (argc > 1 + cg)
		rounds = atoi(argv[1 + cg]) > 0 ? atoi(argv[1 + cg]) : rounds;
	r = timed(&b, rounds);
	if (!r && cg)
		r = with_callgrind(argv[0]);
	else if (!r)
		printf("(run with --callgrind for instruction counts)\n");
	vtd_destroy(b.vtd);
	mem_destroy(b.m);
	return r;
}
