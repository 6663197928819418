// SPDX-License-Identifier: MIT
/*
 * What the endpoint's ATC costs on the DMA path: 64 KiB DMA reads and writes served by ATC
 * hits (4 KiB and 2 MiB translations), against a plain memcpy of the same bytes measured in
 * the same run; the same DMA without ATS (an untranslated request per page); and the cost of
 * one small DMA (64 bytes) that hits. The translation agent is a trivial one (a fixed offset),
 * so the figures are the endpoint's own.
 *
 *   bench_atc [iterations]     (default 20000 per measurement; best of 5 rounds)
 */
#include <softiommu/mem.h>
#include <softiommu/pci.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEN	   (64 * 1024)
#define IOVA	   0x40000000ull
#define PA	   0x10000000ull
#define ROUNDS	   5
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

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint8_t host[LEN];
static volatile uint8_t sink;

enum what { MEMCPY_READ, MEMCPY_WRITE, DMA_READ, DMA_WRITE, DMA_SMALL };

/* Best time per iteration over ROUNDS rounds of `iters`. */
static double measure(enum what w, struct pci_endpoint *ep, struct mem *mem, long iters)
{
	uint8_t *ram = mem_ptr(mem, PA, LEN);
	double best = 1e30;

	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_ns();

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
				ret = pci_endpoint_dma_read(ep, PCI_DMA_PASID, 1, IOVA, host, LEN,
							    NULL);
				break;
			case DMA_WRITE:
				ret = pci_endpoint_dma_write(ep, PCI_DMA_PASID, 1, IOVA, host, LEN,
							     NULL);
				break;
			case DMA_SMALL:
				for (int k = 0; k < SMALL_REPS; k++)
					ret |= pci_endpoint_dma_read(ep, PCI_DMA_PASID, 1,
								     IOVA + k * 4096ull, host,
								     SMALL, NULL);
				break;
			}
			if (ret) {
				fprintf(stderr, "bench_atc: DMA failed: %d\n", ret);
				exit(1);
			}
			sink = host[i & (LEN - 1)];
		}
		double t = (now_ns() - t0) / iters;
		if (t < best)
			best = t;
	}
	return best;
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

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 20000;
	struct mem *mem = mem_create_sparse(1ull << 30);
	static const uint64_t sizes[] = {4096, 2 << 20};
	struct pci_endpoint_stats s;

	if (!mem || iters <= 0)
		return 1;
	memset(host, 0x5a, LEN);
	mem_fill(mem, PA, 0xa5, LEN);

	double cpy_r = measure(MEMCPY_READ, NULL, mem, iters);
	double cpy_w = measure(MEMCPY_WRITE, NULL, mem, iters);
	printf("64 KiB memcpy (baseline): read %.0f ns, write %.0f ns (%.1f GB/s)\n", cpy_r, cpy_w,
	       LEN / cpy_r);

	for (int i = 0; i < 2; i++) {
		struct pci_endpoint *ep;
		double rd, wr, small;

		page_size = sizes[i];
		ep = make_ep(mem, true);
		measure(DMA_READ, ep, mem, 1); /* warm the ATC */
		rd = measure(DMA_READ, ep, mem, iters);
		wr = measure(DMA_WRITE, ep, mem, iters);
		small = measure(DMA_SMALL, ep, mem, iters) / SMALL_REPS;
		pci_endpoint_get_stats(ep, &s);
		printf("ATS, %s translations, ATC hits: 64 KiB read %.0f ns = %.2f x memcpy, "
		       "write %.0f ns = %.2f x memcpy; 64-byte DMA hit %.1f ns "
		       "(misses %llu, hits %llu)\n",
		       page_size == 4096 ? "4 KiB" : "2 MiB", rd, rd / cpy_r, wr, wr / cpy_w, small,
		       (unsigned long long)s.misses, (unsigned long long)s.hits);
		pci_endpoint_destroy(ep);
	}

	page_size = 4096;
	{
		struct pci_endpoint *ep = make_ep(mem, false);
		double rd = measure(DMA_READ, ep, mem, iters);
		double wr = measure(DMA_WRITE, ep, mem, iters);

		printf(
		    "no ATS (untranslated request per page): 64 KiB read %.0f ns = %.2f x memcpy, "
		    "write %.0f ns = %.2f x memcpy\n",
		    rd, rd / cpy_r, wr, wr / cpy_w);
		pci_endpoint_destroy(ep);
	}
	mem_destroy(mem);
	return 0;
}
