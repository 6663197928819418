// SPDX-License-Identifier: MIT
/*
 * The cached translation paths of the VT-d model against baselines measured in the same
 * run (pinned to one CPU, interleaved rounds, medians of thread CPU time):
 *   - an IOTLB hit (context and PASID caches hit too) against lookups in a bare
 *     1024-entry hash table keyed like the IOTLB (DID, PASID, page, size). Target: <= 3x.
 *   - an IOTLB miss whose context and PASID entries are cached (a 4-level first-stage
 *     walk) against a bare 4-level walk of the same tables. Target: <= 3x.
 *   - a translated request (AT = 2, the context entry cached) against the same hash
 *     lookup: no target of its own; a DMA engine with an ATC sends one per 4 KiB.
 *   - two threads translating hits against one: throughput ratio by the wall clock, two
 *     workers pinned to two CPUs for the whole run, rounds of each alone then both
 *     (bench_pair_scaling()), the median of the rounds' ratios. Target: >= 1.6x.
 *   - the hit and the translated request as an endpoint makes them, through the unit's
 *     agent (vtd_translation_agent()): translate() counts the request in flight for the
 *     drain and done() ends it (src/hw/vtd/drain.h); against the bare vtd_translate().
 * With --callgrind: instructions per translation for the hit (target <= 120) and the
 * miss (target <= 450), counts including the benchmark loop (about 12 per iteration) but
 * not the warm-up before it (cold misses, memo creation), and their ratios to the
 * baselines' counts; and the agent's translate() + done() pairs.
 *
 *   bench_vtd_cache [--callgrind]
 *   bench_vtd_cache --inner hit|miss|hash|walk|xlated|agent_hit|agent_xlated N
 *                                                               (used by --callgrind)
 */
#include "bench_harness.h"
#include "bench_vtd.h"

#include <softiommu/vtd.h>

#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE   (1ull << 30)
#define TABLES	   0x1000000ull
#define DATA	   0x20000000ull
#define HIT_PAGES  512	 /* fit the default 256 x 8 IOTLB */
#define MISS_PAGES 16384 /* eight times the IOTLB: nearly every access misses */
#define BATCH	   20000
#define ROUNDS	   21
#define RID	   PCI_RID(0x3a, 2, 0)
#define PASID	   0x42u
#define DID	   7u

struct bench {
	struct bench_fs fs;
	uint64_t hit[HIT_PAGES];
	uint64_t miss[MISS_PAGES];
};

static int setup(struct bench *b)
{
	struct vtd_config c;

	vtd_config_default(&c);
	if (bench_fs_setup(&b->fs, &c, MEM_SIZE, TABLES, RID, PASID, DID))
		return -1;
	for (unsigned i = 0; i < HIT_PAGES; i++) {
		uint64_t va = 0x7f0000000000ull + (uint64_t)i * 4096;
		bench_fs_map(&b->fs, va, DATA + (uint64_t)i * 4096);
		b->hit[(i * 2654435761u) % HIT_PAGES] = va + 0x10;
	}
	for (unsigned i = 0; i < MISS_PAGES; i++) {
		uint64_t va = 0x100000000ull + (uint64_t)i * 4096;
		bench_fs_map(&b->fs, va, DATA + (uint64_t)(i % 4096) * 4096);
		b->miss[(i * 2654435761u) % MISS_PAGES] = va + 0x10;
	}
	bench_fs_enable(&b->fs);
	return 0;
}

static volatile uint64_t sink;

__attribute__((noinline)) static uint64_t hit_loop(struct bench *b, long n)
{
	return bench_fs_translate_each(&b->fs, b->hit, HIT_PAGES - 1, n);
}

__attribute__((noinline)) static uint64_t miss_loop(struct bench *b, long n)
{
	return bench_fs_translate_each(&b->fs, b->miss, MISS_PAGES - 1, n);
}

/* Translated requests (AT = 2), one per 4 KiB as a DMA engine with an ATC sends them: the
 * unit checks that the function may send them and passes the address. */
__attribute__((noinline)) static uint64_t translated_loop(struct bench *b, long n)
{
	struct pci_req req = {.rid = RID,
			      .pasid = PASID,
			      .flags = PCI_REQ_PASID | PCI_REQ_WRITE,
			      .at = PCI_AT_TRANSLATED};
	struct pci_resp resp;
	uint64_t acc = 0;

	for (long i = 0; i < n; i++) {
		req.addr = DATA + ((uint64_t)(i & (HIT_PAGES - 1)) << 12);
		vtd_translate(b->fs.vtd, &req, &resp);
		acc += resp.addr;
	}
	return acc;
}

/* The hit and the translated request through the agent, as an endpoint sends them: each
 * one counted in flight by translate() until done() (the endpoint's access between them is
 * left out). */
static struct pci_translation_agent agent;

__attribute__((noinline)) static uint64_t agent_hit_loop(struct bench *b, long n)
{
	struct pci_req req = {.rid = RID, .pasid = PASID, .flags = PCI_REQ_PASID | PCI_REQ_READ};
	struct pci_resp resp;
	uint64_t acc = 0;

	for (long i = 0; i < n; i++) {
		req.addr = b->hit[i & (HIT_PAGES - 1)];
		agent.translate(agent.ctx, &req, &resp);
		acc += resp.addr;
		agent.done(agent.ctx, &req, &resp);
	}
	return acc;
}

__attribute__((noinline)) static uint64_t agent_translated_loop(struct bench *b, long n)
{
	struct pci_req req = {.rid = RID,
			      .pasid = PASID,
			      .flags = PCI_REQ_PASID | PCI_REQ_WRITE,
			      .at = PCI_AT_TRANSLATED};
	struct pci_resp resp;
	uint64_t acc = 0;

	(void)b; /* the agent's context is the unit */
	for (long i = 0; i < n; i++) {
		req.addr = DATA + ((uint64_t)(i & (HIT_PAGES - 1)) << 12);
		agent.translate(agent.ctx, &req, &resp);
		acc += resp.addr;
		agent.done(agent.ctx, &req, &resp);
	}
	return acc;
}

/* ---- baselines ------------------------------------------------------------------------ */

/* A bare hash table keyed like the IOTLB: (DID, PASID, page, size) -> output page. */
struct hent {
	uint64_t key0, key1, out;
};
static struct hent htab[1024];

static unsigned hslot(uint64_t k0, uint64_t k1)
{
	return (unsigned)(((k0 ^ k1) * 0x9e3779b97f4a7c15ull) >> 54);
}

static void hash_fill(struct bench *b)
{
	for (unsigned i = 0; i < HIT_PAGES; i++) {
		uint64_t va = b->hit[i] & ~0xfffull, k0 = (va >> 12) << 2 | (1ull << 63);
		uint64_t k1 = (uint64_t)DID << 32 | PASID;
		unsigned s = hslot(k0, k1);

		while (htab[s].key0)
			s = (s + 1) & 1023;
		htab[s] = (struct hent){k0, k1, DATA + (va - 0x7f0000000000ull)};
	}
}

__attribute__((noinline)) static uint64_t hash_loop(struct bench *b, long n)
{
	uint64_t acc = 0, k1 = (uint64_t)DID << 32 | PASID;

	for (long i = 0; i < n; i++) {
		uint64_t va = b->hit[i & (HIT_PAGES - 1)];
		uint64_t k0 = (va >> 12) << 2 | (1ull << 63);
		unsigned s = hslot(k0, k1);

		while (htab[s].key0 != k0 || htab[s].key1 != k1)
			s = (s + 1) & 1023;
		acc += htab[s].out | (va & 0xfff);
	}
	return acc;
}

__attribute__((noinline)) static uint64_t walk_loop(struct bench *b, long n)
{
	return bench_fs_bare_walk_each(&b->fs, MEM_SIZE, b->miss, MISS_PAGES - 1, n);
}

/* ---- measurement ---------------------------------------------------------------------- */

typedef uint64_t (*loop_fn)(struct bench *, long);

/* Median ns per iteration of `a` and `b`, interleaved round by round. */
static void compare(struct bench *bn, loop_fn a, long na, loop_fn b, long nb, double *ma,
		    double *mb)
{
	double ta[ROUNDS], tb[ROUNDS];

	for (int r = 0; r < ROUNDS; r++) {
		for (int k = 0; k < 2; k++) {
			bool first = (r + k) & 1;
			loop_fn f = first ? a : b;
			long n = first ? na : nb;
			double t0 = bench_thread_ns();

			sink += f(bn, n);
			(first ? ta : tb)[r] = (bench_thread_ns() - t0) / (double)n;
		}
	}
	*ma = bench_median(ta, ROUNDS);
	*mb = bench_median(tb, ROUNDS);
}

/* A worker's share of a scaling phase: hits on the same pages (each thread its own memo). */
#define SCALE_HITS 1000000

static void scaling_work(void *ctx, int worker)
{
	(void)worker;
	sink += hit_loop(ctx, SCALE_HITS);
}

/* The loop callgrind counts (--toggle-collect=measured): after the warm-up, which runs the
 * loops directly. */
__attribute__((noinline)) static uint64_t measured(loop_fn f, struct bench *b, long n)
{
	return f(b, n);
}

static void warm(struct bench *b)
{
	sink += hit_loop(b, HIT_PAGES * 4);
	sink += miss_loop(b, MISS_PAGES);
	sink += translated_loop(b, HIT_PAGES);
	sink += agent_hit_loop(b, HIT_PAGES * 4);
	sink += agent_translated_loop(b, HIT_PAGES);
}

int main(int argc, char **argv)
{
	struct bench *b = malloc(sizeof(*b));
	struct vtd_cache_stats st;
	double mh, mhash, mm, mwalk, mx, mhash2, mah, mh2, max, mx2;

	if (!b || setup(b)) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	agent = vtd_translation_agent(b->fs.vtd);
	hash_fill(b);
	warm(b);
	if (argc == 4 && !strcmp(argv[1], "--inner")) {
		loop_fn f = !strcmp(argv[2], "hit")	       ? hit_loop
			    : !strcmp(argv[2], "miss")	       ? miss_loop
			    : !strcmp(argv[2], "hash")	       ? hash_loop
			    : !strcmp(argv[2], "xlated")       ? translated_loop
			    : !strcmp(argv[2], "agent_hit")    ? agent_hit_loop
			    : !strcmp(argv[2], "agent_xlated") ? agent_translated_loop
							       : walk_loop;

		sink += measured(f, b, atol(argv[3]));
		return 0;
	}
	/* Both loops must compute the same addresses, or the comparison means nothing; a
	 * translated request passes its address. */
	uint64_t passed = 0;
	for (long i = 0; i < HIT_PAGES; i++)
		passed += DATA + ((uint64_t)i << 12);
	if (hit_loop(b, HIT_PAGES) != hash_loop(b, HIT_PAGES) ||
	    miss_loop(b, MISS_PAGES) != walk_loop(b, MISS_PAGES) ||
	    translated_loop(b, HIT_PAGES) != passed ||
	    agent_hit_loop(b, HIT_PAGES) != hit_loop(b, HIT_PAGES) ||
	    agent_translated_loop(b, HIT_PAGES) != passed) {
		fprintf(stderr, "model and baseline disagree\n");
		return 1;
	}
	struct bench_pair_result pair;
	int cpu[2] = {-1, -1};

	if (bench_cpus(cpu, 2) < 2)
		cpu[0] = cpu[1] = -1;
	if (bench_pair_scaling(scaling_work, b, cpu, 15, &pair)) {
		fprintf(stderr, "cannot start a worker thread\n");
		return 1;
	}
	bench_pin();
	compare(b, hit_loop, BATCH, hash_loop, BATCH * 4, &mh, &mhash);
	compare(b, miss_loop, BATCH, walk_loop, BATCH * 8, &mm, &mwalk);
	compare(b, translated_loop, BATCH * 4, hash_loop, BATCH * 4, &mx, &mhash2);
	compare(b, agent_hit_loop, BATCH * 4, hit_loop, BATCH * 4, &mah, &mh2);
	compare(b, agent_translated_loop, BATCH * 4, translated_loop, BATCH * 4, &max, &mx2);
	vtd_get_cache_stats(b->fs.vtd, &st);
	printf("IOTLB hit (context and PASID caches hit):\n");
	printf("  model      %7.1f ns\n  hash table %7.1f ns  (1024 entries, keyed like the "
	       "IOTLB)\n  ratio      %7.2f x   (target <= 3)\n",
	       mh, mhash, mh / mhash);
	printf("IOTLB miss, context and PASID cached (4-level first-stage walk):\n");
	printf("  model      %7.1f ns\n  bare walk  %7.1f ns\n  ratio      %7.2f x   (target "
	       "<= 3)\n",
	       mm, mwalk, mm / mwalk);
	printf("translated request (AT = 2), context entry cached:\n");
	printf("  model      %7.1f ns\n  hash table %7.1f ns\n  ratio      %7.2f x\n", mx, mhash2,
	       mx / mhash2);
	printf("through the agent, counted in flight (translate + done) vs vtd_translate():\n");
	printf("  hit        %7.1f ns vs %5.1f ns  (%.2f x)\n", mah, mh2, mah / mh2);
	printf("  translated %7.1f ns vs %5.1f ns  (%.2f x)\n", max, mx2, max / mx2);
	printf("two threads translating hits: %.2f x one thread's throughput (target >= 1.6; "
	       "CPUs %d and %d; alone %.1f and %.1f M/s, together %.1f + %.1f M/s; medians of 15 "
	       "rounds)\n",
	       pair.ratio, pair.cpu[0], pair.cpu[1], SCALE_HITS / pair.alone_ns[0] * 1e3,
	       SCALE_HITS / pair.alone_ns[1] * 1e3, SCALE_HITS / pair.both_ns[0] * 1e3,
	       SCALE_HITS / pair.both_ns[1] * 1e3);
	printf("IOTLB: %llu hits, %llu misses, %llu evictions\n",
	       (unsigned long long)st.cache[VTD_CACHE_IOTLB].hits,
	       (unsigned long long)st.cache[VTD_CACHE_IOTLB].misses,
	       (unsigned long long)st.cache[VTD_CACHE_IOTLB].evictions);
	if (argc > 1 && !strcmp(argv[1], "--callgrind")) {
		const long n = 100000;
		long long ih = bench_callgrind_inner(argv[0], "hit", "measured", n);
		long long ihash = bench_callgrind_inner(argv[0], "hash", "measured", n);
		long long im = bench_callgrind_inner(argv[0], "miss", "measured", n);
		long long iw = bench_callgrind_inner(argv[0], "walk", "measured", n);
		long long ix = bench_callgrind_inner(argv[0], "xlated", "measured", n);
		long long iah = bench_callgrind_inner(argv[0], "agent_hit", "measured", n);
		long long iax = bench_callgrind_inner(argv[0], "agent_xlated", "measured", n);
		if (ih < 0 || im < 0 || ihash < 0 || iw < 0 || ix < 0 || iah < 0 || iax < 0) {
			fprintf(stderr, "callgrind run failed (is valgrind installed?)\n");
			return 1;
		}
		printf("instructions per translation (callgrind, after the warm-up, loop "
		       "included):\n");
		printf("  hit   %6.1f (target <= 120; hash lookup %.1f: %.2f x)\n", (double)ih / n,
		       (double)ihash / n, (double)ih / (double)ihash);
		printf("  miss  %6.1f (target <= 450; bare walk %.1f: %.2f x)\n", (double)im / n,
		       (double)iw / n, (double)im / (double)iw);
		printf("  translated request %6.1f (hash lookup: %.2f x)\n", (double)ix / n,
		       (double)ix / (double)ihash);
		printf("  through the agent, translate + done: hit %.1f (+%.1f), translated "
		       "request %.1f (+%.1f)\n",
		       (double)iah / n, (double)(iah - ih) / n, (double)iax / n,
		       (double)(iax - ix) / n);
	} else {
		printf("(run with --callgrind for instruction counts)\n");
	}
	vtd_destroy(b->fs.vtd);
	mem_destroy(b->fs.m);
	free(b);
	return 0;
}
