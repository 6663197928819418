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
 *  - two threads doing cached pairs on one domain against one thread (throughput ratio);
 *  - instructions per pair, counted by callgrind (valgrind is run on this program itself,
 *    one loop at a time with --toggle-collect, so set-up and warm-up are not counted).
 *
 *   build/bench_iova [--no-callgrind] [scale]     (scale multiplies the iteration counts)
 *   build/bench_iova --callgrind                  only the instruction counts
 * Target (issue 5): at most 150 instructions per cached alloc+free pair.
 */
#include <softiommu/iova.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define ROUNDS	 5
#define HASH_N	 1024
#define CG_PAIRS 200000L

static volatile uint64_t sink;
static struct iova_domain *dom;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static struct iova_domain *new_domain(void)
{
	/* A 48-bit IOVA space, as a 4-level page table gives, with the interrupt window out. */
	struct iova_config cfg = {.start_pfn = 1, .limit_pfn = (1ull << 36) - 1};
	struct iova_domain *d;

	if (iova_domain_create(&cfg, &d) || iova_reserve(d, 0xfee00, 0xfeeff)) {
		fprintf(stderr, "bench_iova: cannot create a domain\n");
		exit(1);
	}
	return d;
}

/* ---- the measured loops (noinline: callgrind toggles on their names) -------------------- */

NOINLINE void bench_loop_cached(struct iova_domain *d, long n)
{
	uint64_t pfn;

	for (long i = 0; i < n; i++) {
		if (iova_alloc(d, 1, UINT64_MAX, 0, &pfn) || iova_free(d, pfn, 1))
			abort();
	}
	sink = pfn;
}

NOINLINE void bench_loop_tree(struct iova_domain *d, long n)
{
	uint64_t pfn;

	for (long i = 0; i < n; i++) {
		if (iova_alloc(d, 64, UINT64_MAX, 0, &pfn) || iova_free(d, pfn, 64))
			abort();
	}
	sink = pfn;
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
enum { CACHED, TREE, MALLOC, HASH, NLOOPS };

/* Best nanoseconds per iteration over ROUNDS rounds. */
static double time_loop(int which, long n)
{
	double best = 1e30;

	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_ns();

		loops[which](dom, n);
		double t = (now_ns() - t0) / (double)n;

		if (t < best)
			best = t;
	}
	return best;
}

/* ---- two threads against one -------------------------------------------------------- */

struct runner {
	int which;
	struct iova_domain *d;
	long n;
	pthread_barrier_t *start;
	double ns;
};

static void *run_loop(void *arg)
{
	struct runner *r = arg;

	loops[r->which](r->d, 1000); /* this thread's cache, warm */
	pthread_barrier_wait(r->start);
	double t0 = now_ns();
	loops[r->which](r->d, r->n);
	r->ns = now_ns() - t0;
	return NULL;
}

/*
 * Iterations per second of `threads` threads running loop `which` together (on one
 * domain, or each on its own with `own`), best of ROUNDS.
 */
static double throughput(int which, int threads, bool own, long n)
{
	double best = 0;

	for (int round = 0; round < ROUNDS; round++) {
		pthread_barrier_t start;
		pthread_t t[2];
		struct runner r[2];
		double slowest = 0;

		pthread_barrier_init(&start, NULL, (unsigned int)threads);
		for (int i = 0; i < threads; i++) {
			r[i] = (struct runner){.which = which, .n = n, .start = &start};
			r[i].d = own && i ? new_domain() : dom;
			pthread_create(&t[i], NULL, run_loop, &r[i]);
		}
		for (int i = 0; i < threads; i++) {
			pthread_join(t[i], NULL);
			if (r[i].ns > slowest)
				slowest = r[i].ns;
			if (r[i].d != dom)
				iova_domain_destroy(r[i].d);
		}
		pthread_barrier_destroy(&start);
		double rate = threads * n / slowest * 1e9;
		if (rate > best)
			best = rate;
	}
	return best;
}

static void report_scaling(long n)
{
	double one = throughput(CACHED, 1, false, n), two = throughput(CACHED, 2, false, n);
	double apart = throughput(CACHED, 2, true, n);
	double m1 = throughput(MALLOC, 1, false, n), m2 = throughput(MALLOC, 2, false, n);

	printf("cached pairs, best of %d (%ld cores online; other load on the machine shows in "
	       "the malloc line):\n",
	       ROUNDS, sysconf(_SC_NPROCESSORS_ONLN));
	printf("  1 thread                    %7.2f M pairs/s\n", one / 1e6);
	printf("  2 threads, one domain       %7.2f M pairs/s   ratio %.2f\n", two / 1e6,
	       two / one);
	printf("  2 threads, a domain each    %7.2f M pairs/s   ratio %.2f\n", apart / 1e6,
	       apart / one);
	printf("  baseline malloc+free        %7.2f -> %.2f M pairs/s   ratio %.2f\n", m1 / 1e6,
	       m2 / 1e6, m2 / m1);
	printf("  one-domain ratio / malloc ratio %.2f\n", (two / one) / (m2 / m1));
}

/* ---- instruction counts -------------------------------------------------------------- */

#define CG_WARM 1000

/*
 * What callgrind counts: inside the named functions (inclusive), over the warm-up and the
 * measured iterations of one loop.
 */
struct cg_case {
	const char *label;
	int loop;
	const char *fn[2];
};

static const struct cg_case cg_cases[] = {
    {"cached pair: iova_alloc + iova_free", CACHED, {"iova_alloc", "iova_free"}},
    {"cached pair, with the calling loop", CACHED, {"bench_loop_cached", NULL}},
    {"tree pair: iova_alloc + iova_free", TREE, {"iova_alloc", "iova_free"}},
    {"baseline malloc(64) + free", MALLOC, {"malloc", "free"}},
    {"baseline bare hash lookup, with loop", HASH, {"bench_loop_hash", NULL}},
};

/* Run this program under callgrind for one case; instructions per iteration, or -1. */
static double callgrind_count(const char *self, const struct cg_case *c)
{
	char out[] = "/tmp/bench_iova_cg_XXXXXX", t0[64], t1[64], outarg[64], arg[16];
	char line[256];
	double ir = -1;
	int fd = mkstemp(out), status;
	pid_t pid;
	FILE *f;

	if (fd < 0)
		return -1;
	close(fd);
	snprintf(t0, sizeof(t0), "--toggle-collect=%s", c->fn[0]);
	snprintf(t1, sizeof(t1), "--toggle-collect=%s", c->fn[1] ? c->fn[1] : c->fn[0]);
	snprintf(outarg, sizeof(outarg), "--callgrind-out-file=%s", out);
	snprintf(arg, sizeof(arg), "%d", c->loop);
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 1);
		dup2(devnull, 2);
		execlp("valgrind", "valgrind", "--tool=callgrind", t0, t1, outarg, self,
		       "--callgrind-child", arg, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		unlink(out);
		return -1;
	}
	f = fopen(out, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "summary:", 8))
			ir = strtod(line + 8, NULL) / (CG_PAIRS + CG_WARM);
	}
	if (f)
		fclose(f);
	unlink(out);
	return ir;
}

/* Inside valgrind: the warm-up (the first pair goes to the tree) and the measured run. */
static int callgrind_child(int which)
{
	if (which < 0 || which >= NLOOPS)
		return 2;
	dom = new_domain();
	hash_fill();
	loops[which](dom, CG_WARM);
	loops[which](dom, CG_PAIRS);
	iova_domain_destroy(dom);
	return 0;
}

/* `required`: fail when valgrind cannot run (the --callgrind mode), else only say so. */
static int report_instructions(const char *self, bool required)
{
	enum { N = sizeof(cg_cases) / sizeof(cg_cases[0]) };
	double ir[N];

	for (int i = 0; i < N; i++)
		ir[i] = callgrind_count(self, &cg_cases[i]);
	if (ir[0] < 0) {
		printf("instructions: valgrind --tool=callgrind did not run (is valgrind "
		       "installed?)\n");
		return required ? 1 : 0;
	}
	printf("instructions per iteration (callgrind, %ld iterations + %d warm-up):\n", CG_PAIRS,
	       CG_WARM);
	for (int i = 0; i < N; i++)
		printf("  %-40s %7.1f%s\n", cg_cases[i].label, ir[i],
		       i == 0 ? "   (target <= 150)" : "");
	printf("  cached pair / malloc pair                %7.2f\n", ir[0] / ir[3]);
	return ir[0] <= 150 ? 0 : 2;
}

int main(int argc, char **argv)
{
	double scale = 1, ns[NLOOPS];
	bool cg = true;
	long n;

	if (argc == 3 && !strcmp(argv[1], "--callgrind-child"))
		return callgrind_child(atoi(argv[2]));
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
	n = (long)(2000000 * scale);
	dom = new_domain();
	hash_fill();
	for (int i = 0; i < NLOOPS; i++) {
		loops[i](dom, 1000); /* warm */
		ns[i] = time_loop(i, i == TREE ? n / 4 : n);
	}
	printf("IOVA allocator, time per iteration (best of %d rounds of %ld):\n", ROUNDS, n);
	printf("  cached alloc+free pair      %7.2f ns\n", ns[CACHED]);
	printf("  tree alloc+free pair        %7.2f ns\n", ns[TREE]);
	printf("  baseline malloc(64)+free    %7.2f ns\n", ns[MALLOC]);
	printf("  baseline bare hash lookup   %7.2f ns\n", ns[HASH]);
	printf("  cached pair / malloc pair   %7.2f\n", ns[CACHED] / ns[MALLOC]);
	printf("  cached pair / hash lookup   %7.2f\n", ns[CACHED] / ns[HASH]);
	printf("  tree pair / cached pair     %7.2f\n", ns[TREE] / ns[CACHED]);

	report_scaling(n / 2);
	iova_domain_destroy(dom);
	return cg ? report_instructions(argv[0], false) : 0;
}
