// SPDX-License-Identifier: MIT
/*
 * What the endpoint's ATC costs on the DMA path: 64 KiB DMA reads and writes served by ATC
 * hits (4 KiB and 2 MiB translations), against a plain memcpy of the same bytes measured in
 * the same run; the same DMA without ATS (an untranslated request per page); and the cost of
 * one small DMA (64 bytes) that hits. The translation agent is a trivial one (a fixed offset),
 * so the figures are the endpoint's own.
 *
 * Times are thread CPU time, pinned to one CPU, medians of interleaved rounds of all the
 * cases (bench_harness.h), after one shorter round that warms the caches and the ATC.
 *
 *   bench_atc [iterations [rounds]]   (default 1000 per round, 21 rounds)
 */
#include "bench_harness.h"

#include <softiommu/mem.h>
#include <softiommu/pci.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEN	   (64 * 1024)
#define IOVA	   0x40000000ull
#define PA	   0x10000000ull
#define SMALL	   64
#define SMALL_REPS 16 /* small DMAs per iteration */

/* A translation agent that maps IOVA + x to PA + x with `page` sized translations. */
static uint64_t page_size;

static int offset_translate(void *ctx, const struct pci_req *req, struct pci_resp *resp)
{
	(void)ctx;
	*resp = (struct pci_resp){0};
	if (req->at == PCI_AT_TRANSLATED) {
		resp->addr = req->addr;
		return 0;
	}
	resp->addr = req->addr - IOVA + PA;
	resp->page_size = page_size;
	resp->perm = PCI_PERM_R | PCI_PERM_W;
	return 0;
}

static void on_mismatch(void *ctx, const struct pci_atc_mismatch *m)
{
	(void)ctx;
	(void)m;
}

static uint8_t host[LEN];
static volatile uint8_t sink;

enum what { MEMCPY_READ, MEMCPY_WRITE, DMA_READ, DMA_WRITE, DMA_SMALL };

/* Time per iteration of `iters` iterations of one case. */
static double run_once(enum what w, struct pci_endpoint *ep, struct mem *mem, long iters)
{
	uint8_t *ram = mem_ptr(mem, PA, LEN);
	double t0 = bench_thread_ns();

	for (long i = 0; i < iters; i++) {
		int ret = 0;

		switch (w) {
		case MEMCPY_READ:
			memcpy(host, ram, LEN);
			break;
		case MEMCPY_WRITE:
			memcpy(ram, host, LEN);
			break;
		case DMA_READ:
			ret = pci_endpoint_dma_read(ep, PCI_DMA_PASID, 1, IOVA, host, LEN, NULL);
			break;
		case DMA_WRITE:
			ret = pci_endpoint_dma_write(ep, PCI_DMA_PASID, 1, IOVA, host, LEN, NULL);
			break;
		case DMA_SMALL:
			for (int k = 0; k < SMALL_REPS; k++)
				ret |= pci_endpoint_dma_read(ep, PCI_DMA_PASID, 1,
							     IOVA + k * 4096ull, host, SMALL, NULL);
			break;
		}
		if (ret) {
			fprintf(stderr, "bench_atc: DMA failed: %d\n", ret);
			exit(1);
		}
		sink = host[i & (LEN - 1)];
	}
	return (bench_thread_ns() - t0) / iters;
}

static struct pci_endpoint *make_ep(struct mem *mem, bool ats)
{
	struct pci_endpoint_config cfg = {
	    .rid = PCI_RID(0, 2, 0),
	    .pasid_width = 20,
	    .pasid_enable = true,
	    .ats = ats,
	    .ats_enable = ats,
	    .atc_sets = 64,
	    .atc_ways = 8,
	    .agent = {.translate = offset_translate},
	    .mem = mem,
	};
	struct pci_endpoint *ep;

	if (pci_endpoint_create(&cfg, &ep)) {
		fprintf(stderr, "bench_atc: cannot create the endpoint\n");
		exit(1);
	}
	return ep;
}

/* The agent answers with this page size for the endpoints of one case. */
struct bench_case {
	const char *name;
	enum what what;
	uint64_t page; /* translation size (0: no endpoint) */
	bool ats;
	bool check;
	struct pci_endpoint *ep;
	double ns; /* per iteration, median of the rounds */
};

struct rounds {
	struct bench_case *c;
	struct mem *mem;
	long iters;
};

/* One round of case k (bench_interleave): time per iteration. */
static double run_case(void *ctx, int k)
{
	const struct rounds *a = ctx;

	page_size = a->c[k].page;
	return run_once(a->c[k].what, a->c[k].ep, a->mem, a->iters);
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 1000;
	int rounds = argc > 2 ? atoi(argv[2]) : 21;
	struct mem *mem = mem_create_sparse(1ull << 30);
	struct pci_translation_agent ref = {.translate = offset_translate};
	struct bench_case c[] = {
	    {"memcpy read", MEMCPY_READ, 0, false, false, NULL, 0},
	    {"memcpy write", MEMCPY_WRITE, 0, false, false, NULL, 0},
	    {"ATC hits, 4 KiB translations, read", DMA_READ, 4096, true, false, NULL, 0},
	    {"ATC hits, 4 KiB translations, write", DMA_WRITE, 4096, true, false, NULL, 0},
	    {"ATC hits, 2 MiB translations, read", DMA_READ, 2 << 20, true, false, NULL, 0},
	    {"ATC hits, 2 MiB translations, write", DMA_WRITE, 2 << 20, true, false, NULL, 0},
	    {"ATC hits, 4 KiB, check mode on, read", DMA_READ, 4096, true, true, NULL, 0},
	    {"no ATS (AT=0 per page), read", DMA_READ, 4096, false, false, NULL, 0},
	    {"no ATS (AT=0 per page), write", DMA_WRITE, 4096, false, false, NULL, 0},
	    {"64-byte DMA, ATC hit, 4 KiB", DMA_SMALL, 4096, true, false, NULL, 0},
	    {"64-byte DMA, ATC hit, 2 MiB", DMA_SMALL, 2 << 20, true, false, NULL, 0},
	};
	const int n = sizeof(c) / sizeof(c[0]);
	struct rounds run = {.c = c, .mem = mem, .iters = iters / 8 + 1};
	double *samples;

	if (!mem || iters <= 0 || rounds < 2)
		return 1;
	samples = malloc(sizeof(double) * (size_t)n * (size_t)(rounds - 1));
	if (!samples)
		return 1;
	if (bench_pin())
		perror("sched_setaffinity");
	memset(host, 0x5a, LEN);
	mem_fill(mem, PA, 0xa5, LEN);
	for (int i = 0; i < n; i++) {
		if (!c[i].page)
			continue;
		c[i].ep = make_ep(mem, c[i].ats);
		if (c[i].check)
			pci_endpoint_set_checker(c[i].ep, &ref, on_mismatch, NULL);
	}
	for (int i = 0; i < n; i++) /* a short round that warms caches and the ATC */
		run_case(&run, i);
	run.iters = iters;
	bench_interleave(n, rounds - 1, run_case, &run, samples);
	for (int i = 0; i < n; i++)
		c[i].ns = bench_median(&samples[i * (rounds - 1)], rounds - 1);
	free(samples);
	printf("64 KiB DMA through a PCIe endpoint vs memcpy of the same bytes (median of %d "
	       "interleaved rounds of %ld, thread CPU time)\n",
	       rounds - 1, iters);
	for (int i = 0; i < n; i++) {
		struct pci_endpoint_stats s = {0};
		double base =
		    c[i].what == DMA_WRITE || c[i].what == MEMCPY_WRITE ? c[1].ns : c[0].ns;

		if (c[i].ep)
			pci_endpoint_get_stats(c[i].ep, &s);
		if (c[i].what == DMA_SMALL)
			printf("  %-40s %8.1f ns per DMA (misses %llu)\n", c[i].name,
			       c[i].ns / SMALL_REPS, (unsigned long long)s.misses);
		else
			printf("  %-40s %8.0f ns  %5.2f x memcpy  (%.1f GB/s, misses %llu)\n",
			       c[i].name, c[i].ns, c[i].ns / base, LEN / c[i].ns,
			       (unsigned long long)s.misses);
		pci_endpoint_destroy(c[i].ep);
	}
	mem_destroy(mem);
	return 0;
}
