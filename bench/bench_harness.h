/* SPDX-License-Identifier: MIT */
/*
 * What the benchmark programs share, so that every bench measures the same way:
 *
 *  - clocks: this thread's CPU time (a round preempted by other work on the machine does not
 *    count the time it spent off the CPU) and the wall clock (for throughput of several
 *    threads, where CPU time would not show waiting);
 *  - pinning to one CPU, or to chosen CPUs of the process's set (two workers on two CPUs);
 *  - interleaved rounds: every case of a comparison (the model and its baselines) runs once
 *    per round, the first case of a round rotating, so that all of them see the same machine;
 *    the figure is the median of the rounds;
 *  - operations that need untimed preparation before each call, timed in batches (a clock
 *    read costs more than some of the operations measured);
 *  - instruction counts of named functions by valgrind's callgrind (a child process runs the
 *    bench's own "--inner" mode with collection toggled on those functions only, so set-up
 *    and the parent's timing loops are not counted);
 *  - the CPU time of a child process;
 *  - two workers on two CPUs against one alone (throughput scaling), in interleaved phases.
 *
 * Header-only (static functions): each bench is one translation unit.
 */
#ifndef SOFTIOMMU_BENCH_HARNESS_H
#define SOFTIOMMU_BENCH_HARNESS_H

#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdbool.h>
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

/* The wall clock (monotonic) in nanoseconds: for rates of several threads together. */
static inline double bench_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
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

/* Pin the calling thread to CPU `cpu`. Returns 0 or -1. */
static inline int bench_pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Pin the calling thread to the CPU it runs on (timings of interleaved rounds then see the
 * same caches and frequency). Returns 0 or -1. */
static inline int bench_pin(void)
{
	int cpu = sched_getcpu();

	return bench_pin_cpu(cpu < 0 ? 0 : cpu);
}

/*
 * The first `max` CPUs the calling thread may run on, lowest first, into cpu[]; returns how
 * many there are (0 when the set cannot be read). Call it before bench_pin() narrows the set
 * to one CPU, to place worker threads on CPUs of their own.
 */
static inline int bench_cpus(int *cpu, int max)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpu[n++] = c;
	return n;
}

/*
 * Interleaved rounds. In each of `rounds` rounds every one of the `ncases` cases runs once,
 * by `run(ctx, k)`, which returns case k's figure for that round (typically time per
 * operation); the first case of round r is case r % ncases, so no case always runs after
 * the same one. The figures go to samples[k * rounds + r] (ncases * rounds doubles); the
 * figure of a case is then the median of its row (bench_median), and a ratio of two cases
 * the median of their per-round ratios where the machine's speed may drift between rounds.
 */
static inline void bench_interleave(int ncases, int rounds, double (*run)(void *ctx, int k),
				    void *ctx, double *samples)
{
	for (int r = 0; r < rounds; r++)
		for (int j = 0; j < ncases; j++) {
			int k = (r + j) % ncases;

			samples[k * rounds + r] = run(ctx, k);
		}
}

/*
 * This thread's CPU time per call of `op(ctx, j)`, for operations that need untimed work
 * before each call (mapping what an unmap then removes): `reps` times, prep(ctx, j) for every
 * j in [0, batch) untimed, then op(ctx, j) for every j under one pair of clock reads. A
 * thread-CPU clock read is a system call (about 0.3 us on the machine these benches were
 * written on), longer than some of the operations measured: timing each call alone would
 * count it in full.
 */
static inline double bench_prepared_ns(void (*prep)(void *ctx, int j), void (*op)(void *ctx, int j),
				       void *ctx, int batch, int reps)
{
	double total = 0;

	for (int r = 0; r < reps; r++) {
		for (int j = 0; j < batch; j++)
			prep(ctx, j);
		double t0 = bench_thread_ns();

		for (int j = 0; j < batch; j++)
			op(ctx, j);
		total += bench_thread_ns() - t0;
	}
	return total / ((double)batch * reps);
}

/*
 * Run `argv` (argv[0] the program, NULL-terminated) to completion under callgrind, counting
 * only the instructions executed inside the functions named in fn[] (NULL-terminated, at
 * most 8) and what they call. Returns the count, or -1 when valgrind is missing or the
 * program failed.
 */
static inline long long bench_callgrind_fns(char *const argv[], const char *const fn[])
{
	char out[] = "/tmp/softiommu_bench_cg.XXXXXX", outarg[64], toggle[8][128];
	char *args[40] = {"valgrind", "--tool=callgrind", "-q", outarg};
	int fd = mkstemp(out), status, n = 4;
	long long ir = -1;
	pid_t pid;

	if (fd < 0)
		return -1;
	close(fd);
	snprintf(outarg, sizeof(outarg), "--callgrind-out-file=%s", out);
	for (int i = 0; fn[i] && i < 8; i++) {
		snprintf(toggle[i], sizeof(toggle[i]), "--toggle-collect=%s", fn[i]);
		args[n++] = toggle[i];
	}
	for (int i = 0; argv[i] && n < 39; i++)
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

/* bench_callgrind_fns() counting inside the one function `fn`. */
static inline long long bench_callgrind(char *const argv[], const char *fn)
{
	const char *fns[] = {fn, NULL};

	return bench_callgrind_fns(argv, fns);
}

/* The usual case: `self --inner what n`, counting inside the functions fn[]. */
static inline long long bench_callgrind_inner_fns(const char *self, const char *what,
						  const char *const fn[], long n)
{
	char nbuf[32];
	char *argv[] = {(char *)self, "--inner", (char *)what, nbuf, NULL};

	snprintf(nbuf, sizeof(nbuf), "%ld", n);
	return bench_callgrind_fns(argv, fn);
}

/* `self --inner what n`, counting inside function `fn`. */
static inline long long bench_callgrind_inner(const char *self, const char *what, const char *fn,
					      long n)
{
	const char *fns[] = {fn, NULL};

	return bench_callgrind_inner_fns(self, what, fns, n);
}

/* One count of a table for bench_callgrind_all(). */
struct bench_count {
	const char *what;  /* the --inner mode */
	const char *fn[3]; /* the functions counted in (NULL-terminated) */
	long n;		   /* the --inner count */
	long long ir;	   /* out: the instructions, or -1 */
};

/*
 * `self --inner what n` under callgrind for each of c[0..count-1], counting in its functions.
 * Returns 0 when every count was taken, or -1 after saying on stderr that valgrind did not
 * run (the counts taken are still in c[].ir).
 */
static inline int bench_callgrind_all(const char *self, struct bench_count *c, int count)
{
	int failed = 0;

	for (int i = 0; i < count; i++) {
		c[i].ir = bench_callgrind_inner_fns(self, c[i].what, c[i].fn, c[i].n);
		failed |= c[i].ir < 0;
	}
	if (failed)
		fprintf(stderr, "%s: a callgrind run failed (is valgrind installed?)\n", self);
	return failed ? -1 : 0;
}

/*
 * Whether the command line is the child's, `bench --inner what n` (as the bench_callgrind_
 * functions above run it); sets *what and *n when it is.
 */
static inline bool bench_inner_args(int argc, char **argv, const char **what, long *n)
{
	if (argc != 4 || strcmp(argv[1], "--inner"))
		return false;
	*what = argv[2];
	*n = atol(argv[3]);
	return true;
}

/*
 * The usual command line, `bench [--callgrind] [rounds]`: returns whether --callgrind came
 * first and sets *rounds when a positive count follows (else leaves it).
 */
static inline bool bench_args(int argc, char **argv, int *rounds)
{
	bool cg = argc > 1 && !strcmp(argv[1], "--callgrind");

	if (argc > 1 + cg && atoi(argv[1 + cg]) > 0)
		*rounds = atoi(argv[1 + cg]);
	return cg;
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

/* ---- two workers against one ------------------------------------------------------------ */

/* What bench_pair_scaling() measured: medians over its rounds. */
struct bench_pair_result {
	double alone_ns[2]; /* wall time of one work() call of worker i running alone */
	double both_ns[2];  /* ... with the other worker running at the same time */
	double ratio;	    /* both workers' rate together over one worker's rate alone */
	int cpu[2];	    /* where the workers ran (-1: not pinned) */
};

struct bench_pair_run {
	void (*work)(void *ctx, int worker);
	void *ctx;
	int rounds, cpu[2];
	pthread_barrier_t bar;
	double *ns; /* [phase][worker]: phases 0 .. 3 * rounds */
};

struct bench_pair_worker {
	struct bench_pair_run *run;
	int id;
};

/* Phase 0 is the warm-up (both); then per round: worker 0 alone, worker 1 alone, both. */
static inline bool bench_pair_runs(int phase, int id)
{
	return phase == 0 || (phase - 1) % 3 == 2 || (phase - 1) % 3 == id;
}

static inline void *bench_pair_main(void *arg)
{
	struct bench_pair_worker *w = arg;
	struct bench_pair_run *s = w->run;

	if (s->cpu[w->id] >= 0)
		bench_pin_cpu(s->cpu[w->id]);
	for (int p = 0; p <= 3 * s->rounds; p++) {
		pthread_barrier_wait(&s->bar);
		if (bench_pair_runs(p, w->id)) {
			double t0 = bench_wall_ns();

			s->work(s->ctx, w->id);
			s->ns[2 * p + w->id] = bench_wall_ns() - t0;
		}
		pthread_barrier_wait(&s->bar);
	}
	return NULL;
}

/*
 * Throughput scaling of two workers. Two threads work for the whole run - a new one as worker
 * 0, the calling thread as worker 1 (its CPU affinity restored after) - worker i pinned
 * to cpu[i] (not pinned when cpu[i] < 0: a machine with one CPU) - a thread made for each
 * measurement starts on its creator's CPU and may share it for milliseconds before the
 * scheduler moves it, which made short measurements of "two threads" as slow as one. After
 * a warm-up in which both run, each of `rounds` rounds (at most 64) has three phases,
 * separated by barriers: worker 0 alone, worker 1 alone, both at once; in each a running
 * worker makes one call of work(ctx, worker) - a fixed amount of work - timed by the wall
 * clock. A round's ratio is the rate of both together (1/t0 + 1/t1) over the mean rate of
 * one alone, so a CPU slower than the other, or a machine whose speed drifts between
 * rounds, does not bias it. Returns 0, or -1 when the thread could not be made.
 */
static inline int bench_pair_scaling(void (*work)(void *ctx, int worker), void *ctx,
				     const int cpu[2], int rounds, struct bench_pair_result *out)
{
	double ns[2 * (1 + 3 * 64)], alone[2][64], both[2][64], ratio[64];
	struct bench_pair_run s = {.work = work, .ctx = ctx, .ns = ns};
	struct bench_pair_worker w[2] = {{&s, 0}, {&s, 1}};
	cpu_set_t mine;
	pthread_t t;
	bool restore = !sched_getaffinity(0, sizeof(mine), &mine);

	s.rounds = rounds < 1 ? 1 : rounds > 64 ? 64 : rounds;
	s.cpu[0] = cpu[0];
	s.cpu[1] = cpu[1];
	if (pthread_barrier_init(&s.bar, NULL, 2))
		return -1;
	if (pthread_create(&t, NULL, bench_pair_main, &w[0])) {
		pthread_barrier_destroy(&s.bar);
		return -1;
	}
	bench_pair_main(&w[1]); /* the calling thread is worker 1 */
	pthread_join(t, NULL);
	pthread_barrier_destroy(&s.bar);
	if (restore)
		sched_setaffinity(0, sizeof(mine), &mine);
	for (int r = 0; r < s.rounds; r++) {
		int p = 1 + 3 * r;
		double a = ns[2 * p], b = ns[2 * (p + 1) + 1];
		double ba = ns[2 * (p + 2)], bb = ns[2 * (p + 2) + 1];

		ratio[r] = (1 / ba + 1 / bb) / ((1 / a + 1 / b) / 2);
		alone[0][r] = a;
		alone[1][r] = b;
		both[0][r] = ba;
		both[1][r] = bb;
	}
	for (int i = 0; i < 2; i++) {
		out->alone_ns[i] = bench_median(alone[i], s.rounds);
		out->both_ns[i] = bench_median(both[i], s.rounds);
		out->cpu[i] = cpu[i];
	}
	out->ratio = bench_median(ratio, s.rounds);
	return 0;
}

#endif
