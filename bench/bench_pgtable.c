// SPDX-License-Identifier: MIT
/*
 * bench_pgtable: the page-table library's hot paths beside a baseline measured in the
 * same run, over the same pre-built tables:
 *   map      one 4 KiB page (pt_map), against a bare 4-level walk that stores one entry
 *            (written here: three loads, three masks, one store; the least any map does);
 *   unmap    256 contiguous 4 KiB pages with one gather (pt_unmap + pt_gather_release),
 *            against the same bare walk, and against 256 of them.
 * Target (issue 4): map of one page at most 4 times the baseline.
 *
 *   bench_pgtable              time per operation (best of several trials) and ratios
 *   bench_pgtable --callgrind  instructions per operation, counted by valgrind's callgrind
 *                              on this program (one run per measured function)
 */
#include <softiommu/pgtable.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KB	   (1ull << 10)
#define MB	   (1ull << 20)
#define GB	   (1ull << 30)
#define ADDR_MASK  0x000ffffffffff000ull
#define NPAGES	   4096		     /* pages mapped one by one per trial: 8 level-1 tables */
#define IOVA_BASE  (3 * GB + 6 * MB) /* every level's index non-zero */
#define PA_BASE	   (5 * GB + 4 * KB)
#define UNMAP_RUN  256
#define UNMAP_REPS 64
#define TRIALS	   25

struct bench {
	const char *name;
	enum pt_format format;
	struct mem *mem;
	struct mem_alloc *alloc;
	struct pt_table *pt;
	uint8_t *base; /* the memory's direct mapping, for the baseline */
	unsigned prot;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what, int ret)
{
	fprintf(stderr, "bench_pgtable: %s: %d\n", what, ret);
	exit(1);
}

/*
 * The baseline: walk the pre-built 4-level table to the level-1 entry of `iova` and store
 * `e` there. Entry loads and the store are atomic like the library's (plain moves on x86);
 * `base` is a local so that the acquire loads do not force it to be fetched again.
 */
static inline void bare_walk_store(uint8_t *base, uint64_t root, uint64_t iova, uint64_t e)
{
	uint64_t t = root;

	for (unsigned shift = 39; shift > 12; shift -= 9) {
		uint64_t *p = (uint64_t *)(void *)(base + t + 8 * ((iova >> shift) & 511));

		t = __atomic_load_n(p, __ATOMIC_ACQUIRE) & ADDR_MASK;
	}
	__atomic_store_n((uint64_t *)(void *)(base + t + 8 * ((iova >> 12) & 511)), e,
			 __ATOMIC_RELEASE);
}

/* The measured functions: not inlined, so callgrind can count each one alone. */
__attribute__((noinline)) static void run_map_pages(struct bench *b)
{
	for (unsigned i = 0; i < NPAGES; i++) {
		int ret =
		    pt_map(b->pt, IOVA_BASE + i * 4 * KB, PA_BASE + i * 4 * KB, 4 * KB, b->prot);

		if (ret)
			die("pt_map", ret);
	}
}

__attribute__((noinline)) static void run_bare_walks(struct bench *b)
{
	uint64_t root = pt_root(b->pt);
	uint8_t *base = b->base;

	for (unsigned i = 0; i < NPAGES; i++)
		bare_walk_store(base, root, IOVA_BASE + i * 4 * KB, (PA_BASE + i * 4 * KB) | 0x3);
}

__attribute__((noinline)) static void run_unmap_256(struct bench *b)
{
	struct pt_gather g;
	uint64_t n;
	int ret;

	pt_gather_init(&g);
	ret = pt_unmap(b->pt, IOVA_BASE, UNMAP_RUN * 4 * KB, &g, &n);
	if (ret || n != UNMAP_RUN * 4 * KB)
		die("pt_unmap 256", ret);
	pt_gather_release(&g);
}

/* Unmap the pages one by one, which keeps their tables: the next trial finds them built. */
static void unmap_pages(struct bench *b)
{
	struct pt_gather g;
	uint64_t n;

	pt_gather_init(&g);
	for (unsigned i = 0; i < NPAGES; i++)
		if (pt_unmap(b->pt, IOVA_BASE + i * 4 * KB, 4 * KB, &g, &n) || n != 4 * KB)
			die("pt_unmap", -1);
	pt_gather_release(&g);
}

static void setup(struct bench *b, const char *name, enum pt_format format, unsigned prot)
{
	struct pt_config cfg = {
	    .format = format,
	    .levels = 4,
	    .page_sizes = PT_PAGE_4K | PT_PAGE_2M | PT_PAGE_1G,
	    .flags = format == PT_FMT_X86_64 ? PT_CFG_SET_AD : 0,
	};
	int ret;

	memset(b, 0, sizeof(*b));
	b->name = name;
	b->format = format;
	b->prot = prot;
	b->mem = mem_create_sparse(64 * MB);
	if (!b->mem)
		die("mem_create_sparse", -1);
	b->base = mem_ptr(b->mem, 0, mem_size(b->mem));
	ret = mem_alloc_create(b->mem, MB, 32 * MB, &b->alloc);
	if (ret)
		die("mem_alloc_create", ret);
	cfg.alloc = b->alloc;
	ret = pt_create(&cfg, &b->pt);
	if (ret)
		die("pt_create", ret);
	/*
	 * Pre-build the tables (steady state, not first touch), without calling the measured
	 * function: callgrind counts every call of it.
	 */
	for (unsigned i = 0; i < NPAGES; i++)
		if (pt_map(b->pt, IOVA_BASE + i * 4 * KB, PA_BASE, 4 * KB, b->prot))
			die("pt_map", -1);
	unmap_pages(b);
}

static void teardown(struct bench *b)
{
	pt_destroy(b->pt);
	mem_alloc_destroy(b->alloc);
	mem_destroy(b->mem);
}

struct figures {
	double map, walk, unmap256;
};

static void measure(struct bench *b, struct figures *f)
{
	f->map = f->walk = f->unmap256 = 1e300;
	for (unsigned t = 0; t < TRIALS; t++) {
		double t0 = now_ns(), t1, sum = 0;

		run_map_pages(b);
		t1 = now_ns();
		if ((t1 - t0) / NPAGES < f->map)
			f->map = (t1 - t0) / NPAGES;
		unmap_pages(b);
		t0 = now_ns();
		run_bare_walks(b);
		t1 = now_ns();
		if ((t1 - t0) / NPAGES < f->walk)
			f->walk = (t1 - t0) / NPAGES;
		unmap_pages(b); /* the walks wrote leaves: clear them the library's way */
		for (unsigned r = 0; r < UNMAP_REPS; r++) {
			if (pt_map(b->pt, IOVA_BASE, PA_BASE, UNMAP_RUN * 4 * KB, b->prot))
				die("pt_map 256", -1);
			t0 = now_ns();
			run_unmap_256(b);
			sum += now_ns() - t0;
		}
		if (sum / UNMAP_REPS < f->unmap256)
			f->unmap256 = sum / UNMAP_REPS;
	}
}

static void print_figures(const char *name, const char *unit, const struct figures *f)
{
	printf("%s\n", name);
	printf("  map one 4 KiB page                     %9.1f %s\n", f->map, unit);
	printf("  baseline: bare 4-level walk + 1 store  %9.1f %s\n", f->walk, unit);
	printf("  ratio map / baseline                   %9.2f   (target <= 4)\n",
	       f->map / f->walk);
	printf("  unmap 256 x 4 KiB, one gather          %9.1f %s\n", f->unmap256, unit);
	printf("  ratio unmap / baseline                 %9.2f\n", f->unmap256 / f->walk);
	printf("  ratio unmap / 256 baselines            %9.2f\n",
	       f->unmap256 / (UNMAP_RUN * f->walk));
}

static const struct {
	const char *name;
	enum pt_format format;
	unsigned prot;
} shapes[] = {
    {"x86-64 first stage, 4 levels, A/D preset", PT_FMT_X86_64, PT_PROT_READ | PT_PROT_WRITE},
    {"VT-d second stage, AW48", PT_FMT_VTD_SS, PT_PROT_READ | PT_PROT_WRITE},
};

/* Under callgrind: run each measured function once; valgrind counts the one asked for. */
static int cg_worker(unsigned shape)
{
	struct bench b;

	setup(&b, shapes[shape].name, shapes[shape].format, shapes[shape].prot);
	run_map_pages(&b);
	unmap_pages(&b);
	run_bare_walks(&b);
	unmap_pages(&b);
	for (unsigned r = 0; r < UNMAP_REPS; r++) {
		if (pt_map(b.pt, IOVA_BASE, PA_BASE, UNMAP_RUN * 4 * KB, b.prot))
			die("pt_map 256", -1);
		run_unmap_256(&b);
	}
	teardown(&b);
	return 0;
}

/* Instructions callgrind counted inside `fn` (and what it calls), or -1. */
static double callgrind_count(const char *self, unsigned shape, const char *fn)
{
	char out[] = "/tmp/bench_pgtable.cg.XXXXXX", arg_out[128], arg_fn[128], arg_shape[16];
	char line[512];
	double ir = -1;
	int fd = mkstemp(out), status;
	pid_t pid;
	FILE *f;

	if (fd < 0)
		return -1;
	close(fd);
	snprintf(arg_out, sizeof(arg_out), "--callgrind-out-file=%s", out);
	snprintf(arg_fn, sizeof(arg_fn), "--toggle-collect=%s", fn);
	snprintf(arg_shape, sizeof(arg_shape), "%u", shape);
	pid = fork();
	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		execlp("valgrind", "valgrind", "--tool=callgrind", arg_out, arg_fn, self,
		       "--cg-worker", arg_shape, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		unlink(out);
		return -1;
	}
	f = fopen(out, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "summary:", 8) || !strncmp(line, "totals:", 7))
			ir = strtod(strchr(line, ':') + 1, NULL);
	if (f)
		fclose(f);
	unlink(out);
	return ir;
}

static int run_callgrind(void)
{
	char self[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (len <= 0)
		return 2;
	self[len] = 0;
	printf("instructions per operation (valgrind --tool=callgrind --toggle-collect=...)\n");
	for (unsigned s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		struct figures f;

		f.map = callgrind_count(self, s, "run_map_pages") / NPAGES;
		f.walk = callgrind_count(self, s, "run_bare_walks") / NPAGES;
		f.unmap256 = callgrind_count(self, s, "run_unmap_256") / UNMAP_REPS;
		if (f.map < 0 || f.walk < 0 || f.unmap256 < 0) {
			fprintf(stderr, "bench_pgtable: valgrind --tool=callgrind failed "
					"(is valgrind installed?)\n");
			return 2;
		}
		print_figures(shapes[s].name, "instr", &f);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--cg-worker"))
		return cg_worker((unsigned)atoi(argv[2]) % 2);
	if (argc == 2 && !strcmp(argv[1], "--callgrind"))
		return run_callgrind();
	if (argc != 1) {
		fprintf(stderr, "usage: bench_pgtable [--callgrind]\n");
		return 2;
	}
	printf("time per operation, best of %u trials (%u pages each; tables pre-built)\n", TRIALS,
	       NPAGES);
	for (unsigned s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		struct bench b;
		struct figures f;

		setup(&b, shapes[s].name, shapes[s].format, shapes[s].prot);
		measure(&b, &f);
		print_figures(shapes[s].name, "ns   ", &f);
		teardown(&b);
	}
	return 0;
}
