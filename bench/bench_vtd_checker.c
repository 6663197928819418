// SPDX-License-Identifier: MIT
/*
 * What the stale-translation checker costs when check mode is off: the VT-d model's cached
 * translation paths in the ordinary library against the same paths in a library built with
 * SOFTIOMMU_NO_CHECKER (no check code at all). Target: within 5 percent.
 *
 * The two libraries cannot live in one program, so this runs bench_vtd_cache's own inner
 * loops in two programs built from the same source: bench_vtd_cache (the library as
 * shipped) and nochk_bench_vtd_cache (`make bench` builds it, target bench_extras), both
 * next to this program.
 *   - instructions: callgrind counts the IOTLB-hit and IOTLB-miss loops (only those
 *     functions) in both programs;
 *   - time: each program's CPU time at two loop lengths, the difference divided by the
 *     difference in iterations (set-up cancels out), in interleaved rounds on one pinned
 *     CPU, the least time of the rounds at each length. On a busy machine the time is
 *     noisy (a few percent either way); the instruction counts are exact.
 *
 *   bench_vtd_checker [--quick]
 */
#include "bench_harness.h"

#include <libgen.h>
#include <limits.h>
#include <stdbool.h>

#define ROUNDS 7

struct prog {
	const char *name;
	char path[PATH_MAX];
};

struct loop {
	const char *what; /* the --inner mode */
	const char *fn;	  /* the function callgrind counts in (after the warm-up) */
	long n1, n2;	  /* the two lengths of the timed runs */
};

/* CPU time of program `p` running loop `l` for `n` iterations (set-up included). */
static double run_ns(const struct prog *p, const struct loop *l, long n)
{
	char nbuf[32];
	char *argv[] = {(char *)p->path, "--inner", (char *)l->what, nbuf, NULL};

	snprintf(nbuf, sizeof(nbuf), "%ld", n);
	return bench_child_cpu_ns(argv);
}

static int run_loop(struct prog prog[2], const struct loop *l, int rounds)
{
	double per[2];
	long long ir[2];
	char nbuf[32];

	snprintf(nbuf, sizeof(nbuf), "%d", 100000);
	for (int i = 0; i < 2; i++) {
		char *argv[] = {prog[i].path, "--inner", (char *)l->what, nbuf, NULL};

		ir[i] = bench_callgrind(argv, l->fn);
	}
	/* The least CPU time of each program at each length: other work on the machine only
	 * ever adds to a run's time, so the minimum is the estimate it disturbs least. */
	double best[2][2] = {{1e30, 1e30}, {1e30, 1e30}};

	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < 4; k++) {
			int i = (r + k) & 1, len = k >> 1; /* alternate which program goes first */
			double ns = run_ns(&prog[i], l, len ? l->n2 : l->n1);

			if (ns < 0) {
				fprintf(stderr, "%s --inner %s failed\n", prog[i].path, l->what);
				return -1;
			}
			best[i][len] = ns < best[i][len] ? ns : best[i][len];
		}
	for (int i = 0; i < 2; i++)
		per[i] = (best[i][1] - best[i][0]) / (double)(l->n2 - l->n1);
	printf("IOTLB %s:\n", l->what);
	if (ir[0] > 0 && ir[1] > 0)
		printf(
		    "  instructions  %7.1f check mode off, %7.1f without the checker: %+.2f %%\n",
		    ir[0] / 1e5, ir[1] / 1e5, 100.0 * (double)(ir[0] - ir[1]) / (double)ir[1]);
	else
		printf("  instructions  (callgrind unavailable: is valgrind installed?)\n");
	printf("  time          %7.2f ns check mode off, %7.2f ns without the checker: %+.2f %%"
	       "  (target within 5 %%)\n",
	       per[0], per[1], 100.0 * (per[0] - per[1]) / per[1]);
	return 0;
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && !strcmp(argv[1], "--quick");
	struct prog prog[2] = {{.name = "bench_vtd_cache"}, {.name = "nochk_bench_vtd_cache"}};
	const struct loop loops[] = {
	    {"hit", "measured", 2000000, 12000000},
	    {"miss", "measured", 100000, 600000},
	};
	char self[PATH_MAX];

	if (argc > 2 || (argc == 2 && !quick)) {
		fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
		return 2;
	}
	snprintf(self, sizeof(self), "%s", argv[0]);
	const char *dir = dirname(self);

	for (int i = 0; i < 2; i++) {
		snprintf(prog[i].path, sizeof(prog[i].path), "%s/%s", dir, prog[i].name);
		if (access(prog[i].path, X_OK)) {
			fprintf(stderr, "%s: not built (make bench builds it)\n", prog[i].path);
			return 1;
		}
	}
	bench_pin();
	printf("check mode off against a build without the checker (SOFTIOMMU_NO_CHECKER):\n");
	for (size_t i = 0; i < sizeof(loops) / sizeof(loops[0]); i++)
		if (run_loop(prog, &loops[i], quick ? 3 : ROUNDS))
			return 1;
	return 0;
}
