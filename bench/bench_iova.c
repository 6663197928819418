// SPDX-License-Identifier: MIT
/*
 * What an IOVA costs. Measured in one run, each beside baselines measured in the same run:
 *
 *  - the cached path: iova_alloc + iova_free of one granule (a size class served by the
 *    calling thread's magazine), the DMA layer's per-map cost;
 *  - the tree path: the same pair for 64 granules (above the cached sizes: a tree search,
 *    insert and erase under the tree lock, plus a node malloc/free);
 *  - baselines: a malloc(64) + free pair (glibc's per-thread cache: the cheapest general
 *    allocator pair there is), and one bare lookup in a 1024-entry open-addressing hash table;
 *  - two threads doing cached pairs on one domain against one thread (throughput ratio),
 *    on a domain without iova_config.line_pfns and on one with line_pfns = 8, as the DMA
 *    layer makes them: without it the threads' granules are neighbours whose allocation
 *    states share cache lines, written at every pair (0.6x one thread against 2.0x);
 *  - instructions per pair, counted by callgrind (valgrind is run on this program itself,
 *    one loop at a time with --toggle-collect, so set-up and warm-up are not counted).
 *
 * Times are thread CPU time, pinned to one CPU, medians of interleaved rounds of the four
 * loops (bench_harness.h). The two-thread figures are by the wall clock with each worker
 * pinned to a CPU of its own, medians of interleaved rounds of the five configurations; the
 * ratios are medians of the rounds' ratios.
 *
 *   build/bench_iova [--no-callgrind] [scale]     (scale multiplies the iteration counts)
 *   build/bench_iova --callgrind                  only the instruction counts
 *   build/bench_iova --inner cached|tree|malloc|hash N    (used by the callgrind runs)
 * Target (issue 5): at most 150 instructions per cached alloc+free pair.
 */
#include "bench_harness.h"

#include <softiommu/iova.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define ROUNDS	 11
#define HASH_N	 1024
#define CG_PAIRS 200000L
#define CG_WARM	 1000

static volatile uint64_t sink;
static struct iova_domain *dom;
static struct iova_domain *dom_lines; /* line_pfns = 8, as the DMA layer creates them */

static struct iova_domain *new_domain_lines(unsigned int line_pfns)
{
	/* A 48-bit IOVA space, as a 4-level page table gives, with the interrupt window out. */
	struct iova_config cfg = {
	    .start_pfn = 1, .limit_pfn = (1ull << 36) - 1, .line_pfns = line_pfns};
	struct iova_domain *d;

	if (iova_domain_create(&cfg, &d) || iova_reserve(d, 0xfee00, 0xfeeff)) {
		fprintf(stderr, "bench_iova: cannot create a domain\n");
		exit(1);
	}
	return d;
}

static struct iova_domain *new_domain(void)
{
	return new_domain_lines(0);
}

/* ---- the measured loops (noinline: callgrind toggles on their names) -------------------- */

/* n alloc + free pairs of `size` granules. */
static inline __attribute__((always_inline)) void alloc_free_pairs(struct iova_domain *d,
								   uint64_t size, long n)
{
	uint64_t pfn;

	for (long i = 0; i < n; i++) {
		if (iova_alloc(d, size, UINT64_MAX, 0, &pfn) || iova_free(d, pfn, size))
			abort();
	}
	sink = pfn;
}

NOINLINE void bench_loop_cached(struct iova_domain *d, long n)
{
	alloc_free_pairs(d, 1, n);
}

NOINLINE void bench_loop_tree(struct iova_domain *d, long n)
{
	alloc_free_pairs(d, 64, n);
}

NOINLINE void bench_loop_malloc(struct iova_domain *d, long n)
{
	(void)d;
	for (long i = 0; i < n; i++) {
		void *volatile p = malloc(64);

		free(p);
	}
}

static uint64_t hash_keys[HASH_N];
static uint64_t hash_vals[HASH_N];

static uint64_t hash_of(uint64_t key)
{
	return (key * 0x9e3779b97f4a7c15ull) >> 54; /* 10 bits */
}

static void hash_fill(void)
{
	for (uint64_t k = 1; k <= HASH_N / 2; k++) {
		uint64_t key = k << 12, h = hash_of(key);

		while (hash_keys[h])
			h = (h + 1) % HASH_N;
		hash_keys[h] = key;
		hash_vals[h] = k;
	}
}

NOINLINE void bench_loop_hash(struct iova_domain *d, long n)
{
	(void)d;
	uint64_t sum = 0;

	for (long i = 0; i < n; i++) {
		uint64_t key = (uint64_t)(1 + (i & (HASH_N / 2 - 1))) << 12, h = hash_of(key);

		while (hash_keys[h] != key)
			h = (h + 1) % HASH_N;
		sum += hash_vals[h];
	}
	sink = sum;
}

static void (*const loops[])(struct iova_domain *, long) = {bench_loop_cached, bench_loop_tree,
							    bench_loop_malloc, bench_loop_hash};
static const char *const loop_names[] = {"cached", "tree", "malloc", "hash"};
enum { CACHED, TREE, MALLOC, HASH, NLOOPS };

/* One round of loop k: thread CPU time per iteration (the tree loop runs a quarter). */
static double run_timed(void *ctx, int k)
{
	long n = *(const long *)ctx / (k == TREE ? 4 : 1);
	double t0 = bench_thread_ns();

	loops[k](dom, n);
	return (bench_thread_ns() - t0) / (double)n;
}

static void report_times(long n)
{
	double s[NLOOPS * ROUNDS], ns[NLOOPS];

	for (int i = 0; i < NLOOPS; i++)
		loops[i](dom, 1000); /* warm */
	bench_interleave(NLOOPS, ROUNDS, run_timed, &n, s);
	for (int i = 0; i < NLOOPS; i++)
		ns[i] = bench_median(&s[i * ROUNDS], ROUNDS);
	printf("IOVA allocator, time per iteration (median of %d interleaved rounds of %ld, "
	       "thread CPU time):\n",
	       ROUNDS, n);
	printf("  cached alloc+free pair      %7.2f ns\n", ns[CACHED]);
	printf("  tree alloc+free pair        %7.2f ns\n", ns[TREE]);
	printf("  baseline malloc(64)+free    %7.2f ns\n", ns[MALLOC]);
	printf("  baseline bare hash lookup   %7.2f ns\n", ns[HASH]);
	printf("  cached pair / malloc pair   %7.2f\n", ns[CACHED] / ns[MALLOC]);
	printf("  cached pair / hash lookup   %7.2f\n", ns[CACHED] / ns[HASH]);
	printf("  tree pair / cached pair     %7.2f\n", ns[TREE] / ns[CACHED]);
}

/* ---- two threads against one -------------------------------------------------------- */

struct runner {
	int which;
	int cpu; /* -1: not pinned */
	struct iova_domain *d;
	long n;
	pthread_barrier_t *start;
	double ns;
};

static void *run_loop(void *arg)
{
	struct runner *r = arg;

	if (r->cpu >= 0)
		bench_pin_cpu(r->cpu);
	loops[r->which](r->d, 1000); /* this thread's cache, warm */
	pthread_barrier_wait(r->start);
	double t0 = bench_wall_ns();
	loops[r->which](r->d, r->n);
	r->ns = bench_wall_ns() - t0;
	return NULL;
}

/*
 * Iterations per second of `threads` threads running loop `which` together (on one domain,
 * or each on its own with `own`), by the wall clock of the slowest; thread i on cpu[i].
 */
static double throughput(int which, int threads, bool own, struct iova_domain *on, long n,
			 const int cpu[2])
{
	pthread_barrier_t start;
	pthread_t t[2];
	struct runner r[2];
	double slowest = 0;

	pthread_barrier_init(&start, NULL, (unsigned int)threads);
	for (int i = 0; i < threads; i++) {
		r[i] = (struct runner){.which = which, .cpu = cpu[i], .n = n, .start = &start};
		r[i].d = own && i ? new_domain() : on;
		pthread_create(&t[i], NULL, run_loop, &r[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		if (r[i].ns > slowest)
			slowest = r[i].ns;
		if (r[i].d != on)
			iova_domain_destroy(r[i].d);
	}
	pthread_barrier_destroy(&start);
	return threads * n / slowest * 1e9;
}

enum { ONE, TWO, APART, ONE_L, TWO_L, MALLOC1, MALLOC2, NCONFIGS };

struct scaling {
	long n;
	int cpu[2];
};

static double run_config(void *ctx, int k)
{
	const struct scaling *s = ctx;
	static const struct {
		int which, threads;
		bool own, lines;
	} cfg[NCONFIGS] = {
	    [ONE] = {CACHED, 1, false, false},	   [TWO] = {CACHED, 2, false, false},
	    [APART] = {CACHED, 2, true, false},	   [ONE_L] = {CACHED, 1, false, true},
	    [TWO_L] = {CACHED, 2, false, true},	   [MALLOC1] = {MALLOC, 1, false, false},
	    [MALLOC2] = {MALLOC, 2, false, false},
	};

	return throughput(cfg[k].which, cfg[k].threads, cfg[k].own, cfg[k].lines ? dom_lines : dom,
			  s->n, s->cpu);
}

/* The median over the rounds of a[r] / b[r]. */
static double median_ratio(const double *a, const double *b)
{
	double q[ROUNDS];

	for (int r = 0; r < ROUNDS; r++)
		q[r] = a[r] / b[r];
	return bench_median(q, ROUNDS);
}

static void report_scaling(long n, const int cpu[2])
{
	struct scaling s = {.n = n, .cpu = {cpu[0], cpu[1]}};
	double v[NCONFIGS * ROUNDS], m[NCONFIGS], q[ROUNDS];
	const double *row[NCONFIGS];

	bench_interleave(NCONFIGS, ROUNDS, run_config, &s, v);
	for (int k = 0; k < NCONFIGS; k++)
		row[k] = &v[k * ROUNDS];
	for (int r = 0; r < ROUNDS; r++) /* one-domain ratio over malloc's ratio */
		q[r] = (row[TWO][r] / row[ONE][r]) / (row[MALLOC2][r] / row[MALLOC1][r]);
	double two = median_ratio(row[TWO], row[ONE]), apart = median_ratio(row[APART], row[ONE]);
	double mal = median_ratio(row[MALLOC2], row[MALLOC1]);
	double lines = median_ratio(row[TWO_L], row[ONE_L]);

	for (int k = 0; k < NCONFIGS; k++)
		m[k] = bench_median(&v[k * ROUNDS], ROUNDS);
	if (cpu[1] >= 0)
		printf(
		    "cached pairs, medians of %d interleaved rounds, wall clock (workers pinned to "
		    "CPUs %d and %d; other load on the machine shows in the malloc line):\n",
		    ROUNDS, cpu[0], cpu[1]);
	else
		printf("cached pairs, medians of %d interleaved rounds, wall clock (one CPU: the "
		       "two threads share it):\n",
		       ROUNDS);
	printf("  1 thread                    %7.2f M pairs/s\n", m[ONE] / 1e6);
	printf("  2 threads, one domain       %7.2f M pairs/s   ratio %.2f\n", m[TWO] / 1e6, two);
	printf("  2 threads, a domain each    %7.2f M pairs/s   ratio %.2f\n", m[APART] / 1e6,
	       apart);
	printf("  with line_pfns = 8, as the DMA layer's domains (the threads' granules on lines "
	       "of their own):\n");
	printf("    1 thread                  %7.2f M pairs/s\n", m[ONE_L] / 1e6);
	printf("    2 threads, one domain     %7.2f M pairs/s   ratio %.2f\n", m[TWO_L] / 1e6,
	       lines);
	printf("  baseline malloc+free        %7.2f -> %.2f M pairs/s   ratio %.2f\n",
	       m[MALLOC1] / 1e6, m[MALLOC2] / 1e6, mal);
	printf("  one-domain ratio (no line_pfns) / malloc ratio %.2f\n", bench_median(q, ROUNDS));
}

/* ---- instruction counts -------------------------------------------------------------- */

/*
 * What callgrind counts: inside the named functions (inclusive), over the warm-up and the
 * measured iterations of one loop (the --inner mode).
 */
static const char *const cg_labels[] = {
    "cached pair: iova_alloc + iova_free",  "cached pair, with the calling loop",
    "tree pair: iova_alloc + iova_free",    "baseline malloc(64) + free",
    "baseline bare hash lookup, with loop",
};

/* Inside valgrind: the warm-up (the first pair goes to the tree) and the measured run. */
static int inner(const char *what, long n)
{
	int which = 0;

	while (which < NLOOPS && strcmp(what, loop_names[which]))
		which++;
	if (which == NLOOPS || n <= 0)
		return 2;
	dom = new_domain();
	hash_fill();
	loops[which](dom, CG_WARM);
	loops[which](dom, n);
	iova_domain_destroy(dom);
	return 0;
}

/* `required`: fail when valgrind cannot run (the --callgrind mode), else only say so. */
static int report_instructions(const char *self, bool required)
{
	struct bench_count c[] = {
	    {"cached", {"iova_alloc", "iova_free"}, CG_PAIRS, 0},
	    {"cached", {"bench_loop_cached"}, CG_PAIRS, 0},
	    {"tree", {"iova_alloc", "iova_free"}, CG_PAIRS, 0},
	    {"malloc", {"malloc", "free"}, CG_PAIRS, 0},
	    {"hash", {"bench_loop_hash"}, CG_PAIRS, 0},
	};
	enum { N = sizeof(c) / sizeof(c[0]) };
	double ir[N];

	if (bench_callgrind_all(self, c, N))
		return required ? 1 : 0;
	for (int i = 0; i < N; i++)
		ir[i] = (double)c[i].ir / (CG_PAIRS + CG_WARM);
	printf("instructions per iteration (callgrind, %ld iterations + %d warm-up):\n", CG_PAIRS,
	       CG_WARM);
	for (int i = 0; i < N; i++)
		printf("  %-40s %7.1f%s\n", cg_labels[i], ir[i],
		       i == 0 ? "   (target <= 150)" : "");
	printf("  cached pair / malloc pair                %7.2f\n", ir[0] / ir[3]);
	return ir[0] <= 150 ? 0 : 2;
}

int main(int argc, char **argv)
{
	int cpu[2] = {-1, -1};
	double scale = 1;
	const char *what;
	bool cg = true;
	long n;

	if (bench_inner_args(argc, argv, &what, &n))
		return inner(what, n);
	if (argc == 2 && !strcmp(argv[1], "--callgrind"))
		return report_instructions(argv[0], true);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-callgrind"))
			cg = false;
		else if ((scale = atof(argv[i])) <= 0) {
			fprintf(stderr, "usage: %s [--no-callgrind] [scale] | --callgrind\n",
				argv[0]);
			return 2;
		}
	}
	n = (long)(400000 * scale);
	if (n < 1000)
		n = 1000;
	/* The workers' CPUs, from the process's set before the timing pins it to one. */
	if (bench_cpus(cpu, 2) < 2)
		cpu[0] = cpu[1] = -1;
	if (bench_pin())
		perror("sched_setaffinity");
	dom = new_domain();
	dom_lines = new_domain_lines(8);
	hash_fill();
	report_times(n);
	report_scaling(n / 2, cpu);
	iova_domain_destroy(dom_lines);
	iova_domain_destroy(dom);
	return cg ? report_instructions(argv[0], false) : 0;
}
