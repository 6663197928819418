/* SPDX-License-Identifier: MIT */
/*
 * What the benchmark programs share: thread CPU time, medians, pinning to one CPU, and
 * instruction counts of one function by valgrind's callgrind (a child process runs the
 * bench's own "--inner" mode with collection toggled on that function only, so set-up and
 * the parent's timing loops are not counted).
 *
 * Header-only (static functions): each bench is one translation unit.
 */
#ifndef SOFTIOMMU_BENCH_HARNESS_H
#define SOFTIOMMU_BENCH_HARNESS_H

#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* This thread's CPU time in nanoseconds. */
static inline double bench_thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of v[0..n-1] (sorts v; n > 0). */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Pin the calling thread to the CPU it runs on (timings of interleaved rounds then see the
 * same caches and frequency). Returns 0 or -1. */
static inline int bench_pin(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/*
 * Run `argv` (argv[0] the program, NULL-terminated) to completion under callgrind, counting
 * only the instructions executed inside function `fn` and what it calls. Returns the count,
 * or -1 when valgrind is missing or the program failed.
 */
static inline long long bench_callgrind(char *const argv[], const char *fn)
{
	char out[] = "/tmp/softiommu_bench_cg.XXXXXX", outarg[64], toggle[128];
	char *args[32] = {"valgrind", "--tool=callgrind", "-q", outarg, toggle};
	int fd = mkstemp(out), status, n = 5;
	long long ir = -1;
	pid_t pid;

	if (fd < 0)
		return -1;
	close(fd);
	snprintf(outarg, sizeof(outarg), "--callgrind-out-file=%s", out);
	snprintf(toggle, sizeof(toggle), "--toggle-collect=%s", fn);
	for (int i = 0; argv[i] && n < 31; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	if (posix_spawnp(&pid, "valgrind", NULL, NULL, args, environ) ||
	    waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		unlink(out);
		return -1;
	}
	FILE *f = fopen(out, "r");
	char line[512];

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "totals:", 7) || !strncmp(line, "summary:", 8))
			ir = atoll(strchr(line, ':') + 1);
	if (f)
		fclose(f);
	unlink(out);
	return ir;
}

/* The usual case: `self --inner what n`, counting inside function `fn`. */
static inline long long bench_callgrind_inner(const char *self, const char *what, const char *fn,
					      long n)
{
	char nbuf[32];
	char *argv[] = {(char *)self, "--inner", (char *)what, nbuf, NULL};

	snprintf(nbuf, sizeof(nbuf), "%ld", n);
	return bench_callgrind(argv, fn);
}

/*
 * Run `argv` to completion and return the user+system CPU time it used, in nanoseconds, or
 * -1 when it could not run or failed. The child inherits the caller's CPU affinity: pin
 * first (bench_pin) to run the children of a comparison on the same CPU.
 */
static inline double bench_child_cpu_ns(char *const argv[])
{
	struct rusage ru;
	int status;
	pid_t pid;

	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ))
		return -1;
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
}

#endif
