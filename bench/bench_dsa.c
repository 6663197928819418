// SPDX-License-Identifier: MIT
/*
 * DSA memmove bandwidth through the whole stack against plain memcpy in the same run.
 *
 * A machine (VT-d model in scalable mode, VT-d driver, core, strict DMA domain) with one
 * DSA-like device (PASID and ATS, its kernel driver on the DMA API with the kernel PASID).
 * Source and destination buffers are mapped once with dma_map_single(); then 64 KiB memmove
 * descriptors are kept in flight (QDEPTH at a time, the kernel PASID on each) on one WQ,
 * whose engine thread does the DMA through its device TLB. Two mappings:
 *  - 2 MiB: 2 MiB buffers, 2 MiB aligned in memory, so the IOMMU maps them with 2 MiB pages;
 *  - 4 KiB: 64 KiB buffers, mapped with 4 KiB pages.
 * The baseline is memcpy of the same 64 KiB between the same buffers on the CPU. The figure
 * is bandwidth (bytes per second) as a share of memcpy's; targets: 90 % on 2 MiB mappings,
 * 70 % on 4 KiB ones.
 *
 * Each round runs, per mapping: memcpy and the device's DMA alone on the engine's CPU (the
 * two CPUs of a shared machine need not be equally fast), then the DSA with the submitting
 * thread on the other CPU; rounds alternate which CPU is the engine's. Each timed run starts
 * after one untimed operation of its own kind on the same buffers: a copy for memcpy and for
 * the device's DMA alone, a descriptor submitted and completed for the DSA. So a DSA round
 * times an engine that is awake when its first descriptor comes (polling its ring, as
 * between the bursts of a queue kept fed), from the first submission to the last record
 * read: the pipeline's start (the first descriptor's trip to the engine) and end (the last
 * records read) are in it, the wake-up of an engine that slept while the baseline ran on its
 * CPU (tens of microseconds on a virtual machine, a few percent of a short round) is not.
 * Every figure is the median of the rounds' ratios:
 *  - DSA by the wall clock in rounds where no thread of the process was preempted (no
 *    involuntary context switch): what a user sees with the submitter and the engine each
 *    on a core of its own. The target is judged on this one. It comes from an engine
 *    without timing (dsa_config.timing costs two clock reads per descriptor);
 *  - DSA by the wall clock in all rounds;
 *  - the engine's busy time per descriptor (dsa_stats.busy_ns: from taking a descriptor to
 *    having written its record, on a second machine whose engine has timing on): the
 *    device's rate with its WQ never empty;
 *  - the device's DMA alone in the calling thread: the endpoint copy and the record write
 *    one descriptor costs, with no queue and no second thread, so the request path's own
 *    cost is seen apart from the threads'.
 * On a shared machine run it as `chrt -f 1 build/bench_dsa` (real-time priority keeps
 * other work off the two cores for its half second).
 *
 *   bench_dsa [descriptors per round [rounds]]   (default 300, 40: short rounds dodge other
 *                                                 work on a shared machine)
 */
#include <softiommu/dma.h>
#include <softiommu/dsa_driver.h>
#include <softiommu/machine.h>

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEN	   (64 * 1024u)
#define QDEPTH	   64
#define BUF2M	   (2u << 20)
#define SRC2M	   0x40000000ull /* 2 MiB aligned */
#define DST2M	   0x40200000ull
#define SRC4K	   0x41000000ull
#define DST4K	   0x41100000ull
#define REC	   0x41200000ull
#define MAX_ROUNDS 1000

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct setup {
	struct machine *m;
	struct machine_dev *md;
	struct dsa_drv *drv;
	dma_addr_t src[2], dst[2]; /* [0] 2 MiB mapping, [1] 4 KiB mapping */
	dma_addr_t rec;		   /* a record page for the endpoint-only figure */
};

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_dsa: %s: %d\n", what, err);
	exit(1);
}

static void quiet_log(void *ctx, const char *line)
{
	(void)ctx;
	printf("  driver: %s\n", line);
}

static void build(struct setup *s, bool timing)
{
	struct machine_config cfg;
	struct machine_dev_config dc = {
	    .rid = PCI_RID(0, 2, 0), .pasid_width = 20, .ats = true}; /* default device TLB */
	struct dsa_drv_config dcfg = {0};
	struct dma_dev *dma;
	int ret;

	machine_config_default(&cfg);
	cfg.driver.quiet = true;
	ret = machine_create(&cfg, &s->m);
	if (!ret)
		ret = machine_add_device(s->m, &dc, &s->md);
	if (ret)
		die("machine", ret);
	dcfg.ep = s->md->ep;
	dcfg.dma.dev = s->md->dev;
	dcfg.dma.mem = s->m->mem;
	dcfg.dma.alloc = s->m->alloc;
	dcfg.use_pasid = true;
	dcfg.dsa.wq_size[0] = 2 * QDEPTH;
	dcfg.dsa.timing = timing;
	dcfg.log = quiet_log;
	ret = dsa_drv_probe(&dcfg, &s->drv);
	if (ret)
		die("probe", ret);
	if (dsa_drv_pasid(s->drv) == IOMMU_PASID_INVALID)
		die("no kernel PASID", -1);
	dma = dsa_drv_dma(s->drv);
	s->src[0] = dma_map_single(dma, SRC2M, BUF2M, DMA_TO_DEVICE);
	s->dst[0] = dma_map_single(dma, DST2M, BUF2M, DMA_FROM_DEVICE);
	s->src[1] = dma_map_single(dma, SRC4K, LEN, DMA_TO_DEVICE);
	s->dst[1] = dma_map_single(dma, DST4K, LEN, DMA_FROM_DEVICE);
	s->rec = dma_map_single(dma, REC, 4096, DMA_FROM_DEVICE);
	if (s->rec == DMA_MAPPING_ERROR)
		die("dma_map_single", -1);
	for (int i = 0; i < 2; i++)
		if (s->src[i] == DMA_MAPPING_ERROR || s->dst[i] == DMA_MAPPING_ERROR)
			die("dma_map_single", dma_mapping_error(dma, DMA_MAPPING_ERROR));
	mem_fill(s->m->mem, SRC2M, 0x5a, LEN);
	mem_fill(s->m->mem, SRC4K, 0xa5, LEN);
}

static void teardown(struct setup *s)
{
	struct dma_dev *dma = dsa_drv_dma(s->drv);

	dma_unmap_single(dma, s->src[0], BUF2M, DMA_TO_DEVICE);
	dma_unmap_single(dma, s->dst[0], BUF2M, DMA_FROM_DEVICE);
	dma_unmap_single(dma, s->src[1], LEN, DMA_TO_DEVICE);
	dma_unmap_single(dma, s->dst[1], LEN, DMA_FROM_DEVICE);
	dma_unmap_single(dma, s->rec, 4096, DMA_FROM_DEVICE);
	dsa_drv_remove(s->drv);
	machine_destroy(s->m);
}

static void submit(struct setup *s, int map, unsigned *ticket)
{
	struct dsa_desc d;
	int ret;

	dsa_desc_init(&d, DSA_OP_MEMMOVE, 0, false, 0, false);
	d.src = s->src[map];
	d.dst = s->dst[map];
	d.size = LEN;
	ret = dsa_drv_submit(s->drv, 0, &d, 0, ticket);
	if (ret)
		die("submit", ret);
}

static void collect(struct setup *s, unsigned ticket)
{
	struct dsa_completion c;
	int ret = dsa_drv_wait(s->drv, ticket, &c);

	if (ret || c.status != DSA_COMP_SUCCESS)
		die("completion", ret ? ret : c.status);
}

/* ns per 64 KiB: `n` descriptors with QDEPTH in flight; *busy: the engine's busy ns per
 * descriptor (from taking it to completing it). */
static double run_dsa(struct setup *s, int map, long n, double *busy)
{
	unsigned ring[QDEPTH];
	struct dsa_stats st0, st1;
	long head = 0, tail = 0;
	double t0;

	/* Warm-up: one descriptor of the same kind, completed before the clock starts. The
	 * engine slept while the baseline ran on its CPU; waking it (a futex wake-up and an
	 * idle virtual CPU brought back, tens of microseconds on a virtual machine) is not
	 * bandwidth, and in a short round it would weigh a few percent. After it the engine
	 * polls its ring (dsa_engine.c's IDLE_POLL_NS) when the round's first descriptor
	 * comes, as it does between bursts of a queue that is kept fed. */
	submit(s, map, &ring[0]);
	collect(s, ring[0]);
	dsa_get_stats(dsa_drv_dsa(s->drv), &st0);
	t0 = now_ns();
	while (head < n) {
		while (tail < n && tail - head < QDEPTH) {
			submit(s, map, &ring[tail % QDEPTH]);
			tail++;
		}
		/* Reap half the ring at a time, as a driver coalescing completions does: wait for
		 * the last of the oldest half (the engine completes in order), then collect the
		 * rest at once. The records the engine writes meanwhile are not being polled. */
		long last = head + QDEPTH / 2 - 1 < tail ? head + QDEPTH / 2 - 1 : tail - 1;

		collect(s, ring[last % QDEPTH]);
		while (head < last)
			collect(s, ring[head++ % QDEPTH]);
		head++;
	}
	t0 = (now_ns() - t0) / n;
	dsa_get_stats(dsa_drv_dsa(s->drv), &st1);
	*busy = (double)(st1.busy_ns - st0.busy_ns) / n;
	return t0;
}

/* The device's DMA alone, in this thread: the endpoint copy of 64 KiB and a 32-byte record
 * write, as the engine issues them for one descriptor (no queue, no second thread). */
static void endpoint_once(struct setup *s, int map)
{
	static const struct dsa_completion c = {.status = DSA_COMP_SUCCESS};
	uint32_t pasid = dsa_drv_pasid(s->drv);

	if (pci_endpoint_dma_copy(s->md->ep, PCI_DMA_PASID, pasid, s->dst[map], s->src[map], LEN,
				  NULL) ||
	    pci_endpoint_dma_write(s->md->ep, PCI_DMA_PASID, pasid, s->rec, &c, sizeof(c), NULL))
		die("endpoint DMA", -1);
}

/* ns per 64 KiB of the device's DMA alone, after the same warm-up as the others. */
static double run_endpoint(struct setup *s, int map, long n)
{
	double t0;

	endpoint_once(s, map);
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		endpoint_once(s, map);
	return (now_ns() - t0) / n;
}

static volatile uint8_t sink;

static double run_memcpy(struct setup *s, int map, long n)
{
	uint8_t *src = mem_ptr(s->m->mem, map ? SRC4K : SRC2M, LEN);
	uint8_t *dst = mem_ptr(s->m->mem, map ? DST4K : DST2M, LEN);
	double t0;

	/* The same warm-up as the DSA's (run_dsa): one copy of the same bytes before the
	 * clock starts. */
	memcpy(dst, src, LEN);
	sink = dst[0];
	t0 = now_ns();

	for (long i = 0; i < n; i++) {
		memcpy(dst, src, LEN);
		sink = dst[i & (LEN - 1)];
	}
	return (now_ns() - t0) / n;
}

static uint64_t atc_size(struct setup *s, int map)
{
	struct pci_atc_view v;

	if (pci_endpoint_atc_peek(s->md->ep, PCI_DMA_PASID, dsa_drv_pasid(s->drv), s->src[map], &v))
		return 0;
	return v.size;
}

/* Involuntary context switches of every thread of this process so far: a round in which
 * this does not move ran with each of its threads on a core of its own throughout. */
static long preemptions(void)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *de;
	long sum = 0;

	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		char path[300], line[128];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", de->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "nonvoluntary_ctxt_switches:", 27))
				sum += atol(line + 27);
		fclose(f);
	}
	closedir(dir);
	return sum;
}

/* The threads of this process, by id. */
static int tasks(pid_t *t, int max)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	while (dir && (de = readdir(dir)))
		if (de->d_name[0] != '.' && n < max)
			t[n++] = (pid_t)atoi(de->d_name);
	if (dir)
		closedir(dir);
	return n;
}

/* Build a setup and find its engine thread (the one thread it started). */
static pid_t build_find_engine(struct setup *s, bool timing)
{
	pid_t before[64], after[64];
	int nb = tasks(before, 64), na;

	build(s, timing);
	na = tasks(after, 64);
	for (int i = 0; i < na; i++) {
		bool old = false;

		for (int j = 0; j < nb; j++)
			old |= after[i] == before[j];
		if (!old)
			return after[i];
	}
	return 0;
}

static bool pin(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return !sched_setaffinity(tid, sizeof(set), &set);
}

/* Samples of one figure over the rounds, and which rounds ran without preemption. */
struct samples {
	double v[MAX_ROUNDS];
	bool clean[MAX_ROUNDS];
	int n;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of the samples (only the clean ones with `clean_only`); the count. */
static int median_of(const struct samples *s, bool clean_only, double *median)
{
	double v[MAX_ROUNDS];
	int k = 0;

	for (int i = 0; i < s->n; i++)
		if (!clean_only || s->clean[i])
			v[k++] = s->v[i];
	*median = 0;
	if (!k)
		return 0;
	qsort(v, (size_t)k, sizeof(v[0]), cmp_double);
	*median = k & 1 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
	return k;
}

static void add(struct samples *s, double v, bool clean)
{
	if (s->n < MAX_ROUNDS) {
		s->v[s->n] = v;
		s->clean[s->n++] = clean;
	}
}

/* What one placement (engine on one CPU, submitter on the other) and one mapping gave. */
struct figures {
	struct samples cpy, wall, busy, alone;	/* ns per 64 KiB */
	struct samples r_wall, r_busy, r_alone; /* memcpy's time over each, per round */
};

static double med(const struct samples *s)
{
	double m;

	median_of(s, false, &m);
	return m;
}

/*
 * One round for one mapping: memcpy and the device's DMA alone on the engine's CPU (the
 * baseline runs where the engine runs: the two CPUs of a shared machine need not be
 * equally fast), then the DSA with the submitter on the other CPU, by the wall clock (the
 * setup without timing) and by the engine's busy time (the setup with it).
 */
static void round_once(struct setup *s, struct setup *st, int map, long k, int ecpu, int scpu,
		       bool record, struct figures *f)
{
	double m, w, b, e;
	long p0;
	bool clean;

	if (ecpu >= 0)
		pin(0, ecpu);
	p0 = preemptions();
	m = run_memcpy(s, map, k);
	clean = preemptions() == p0;
	e = run_endpoint(s, map, k / 4 > 8 ? k / 4 : 8);
	if (scpu >= 0)
		pin(0, scpu);
	p0 = preemptions();
	w = run_dsa(s, map, k, &b);
	clean = clean && preemptions() == p0;
	run_dsa(st, map, k, &b);
	if (!record)
		return;
	add(&f->cpy, m, true);
	add(&f->wall, w, clean);
	add(&f->busy, b, true);
	add(&f->alone, e, true);
	add(&f->r_wall, m / w, clean);
	add(&f->r_busy, m / b, true);
	add(&f->r_alone, m / e, true);
}

/* Pool the ratios of both placements. */
static void pool(struct samples *out, const struct samples *a, const struct samples *b)
{
	*out = *a;
	for (int i = 0; i < b->n; i++)
		add(out, b->v[i], b->clean[i]);
}

static void report(struct setup *s, int map, struct figures f[2], int nplace, const int *cpus)
{
	struct samples w, b, e;
	double rw, rwc, rb, re;
	int kc, kall;

	printf("  %s mappings (device TLB entry %llu KiB), target %d %%:\n",
	       map ? "4 KiB" : "2 MiB", (unsigned long long)atc_size(s, map) / 1024, map ? 70 : 90);
	for (int p = 0; p < nplace; p++) {
		char where[32] = "engine and submitter";

		if (cpus[0] >= 0)
			snprintf(where, sizeof(where), "engine on CPU %d", cpus[p]);
		printf("    %-20s memcpy %5.0f ns, DSA wall %5.0f ns (%4.1f %%), engine busy %5.0f "
		       "ns, device DMA alone %5.0f ns\n",
		       where, med(&f[p].cpy), med(&f[p].wall), 100 * med(&f[p].r_wall),
		       med(&f[p].busy), med(&f[p].alone));
	}
	pool(&w, &f[0].r_wall, nplace > 1 ? &f[1].r_wall : &(struct samples){0});
	pool(&b, &f[0].r_busy, nplace > 1 ? &f[1].r_busy : &(struct samples){0});
	pool(&e, &f[0].r_alone, nplace > 1 ? &f[1].r_alone : &(struct samples){0});
	kc = median_of(&w, true, &rwc);
	kall = median_of(&w, false, &rw);
	median_of(&b, false, &rb);
	median_of(&e, false, &re);
	if (kc)
		printf("    DSA bandwidth / memcpy's, wall clock, rounds without preemption: %5.1f "
		       "%%  "
		       "(%d of %d rounds)\n",
		       100 * rwc, kc, kall);
	else
		printf(
		    "    DSA bandwidth / memcpy's, wall clock: no round ran without preemption\n");
	printf(
	    "    ... wall clock, all rounds %5.1f %%; engine busy time %5.1f %%; device DMA alone "
	    "%5.1f %%\n",
	    100 * rw, 100 * rb, 100 * re);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 300;
	int rounds = argc > 2 ? atoi(argv[2]) : 40;
	static struct figures f[2][2]; /* [map][placement] */
	int cpus[2] = {-1, -1}, nplace = 1;
	struct pci_endpoint_stats es;
	struct setup s, st;
	pid_t eng[2];
	cpu_set_t set;

	if (n < QDEPTH || rounds < 2 || rounds > MAX_ROUNDS)
		return 1;
	/* Two CPUs of this process's set: the engine runs on one, the submitter on the
	 * other, and the other way round in alternate rounds. */
	if (!sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) >= 2) {
		for (int c = 0, k = 0; c < CPU_SETSIZE && k < 2; c++)
			if (CPU_ISSET(c, &set))
				cpus[k++] = c;
		nplace = 2;
	}
	/* Two machines: the engine's busy time needs two clock reads per descriptor, which
	 * the wall-clock figure should not pay. */
	eng[0] = build_find_engine(&s, false);
	eng[1] = build_find_engine(&st, true);
	if (nplace == 2 && (!eng[0] || !eng[1])) {
		nplace = 1;
		cpus[0] = cpus[1] = -1;
	}
	for (int r = 0; r < rounds; r++) {
		for (int p = 0; p < nplace; p++) {
			int ecpu = cpus[p], scpu = nplace > 1 ? cpus[1 - p] : -1;

			if (ecpu >= 0 && (!pin(eng[0], ecpu) || !pin(eng[1], ecpu)))
				die("sched_setaffinity", -1);
			/* Round 0 warms caches and the ATC and is not counted. */
			for (int map = 0; map < 2; map++)
				round_once(&s, &st, map, r ? n : n / 8, ecpu, scpu, r > 0,
					   &f[map][p]);
		}
	}
	if (nplace == 2)
		sched_setaffinity(0, sizeof(set), &set);
	pci_endpoint_get_stats(s.md->ep, &es);
	printf("DSA memmove of 64 KiB with the kernel PASID and ATS vs memcpy (%d rounds of %ld "
	       "descriptors, %d in flight; medians)\n",
	       rounds - 1, n, QDEPTH);
	for (int map = 0; map < 2; map++)
		report(&s, map, f[map], nplace, cpus);
	printf("  device TLB: %llu hits, %llu misses, %llu translated requests\n",
	       (unsigned long long)es.hits, (unsigned long long)es.misses,
	       (unsigned long long)es.translated_requests);
	printf("  The target is judged on the wall clock of rounds without preemption: the "
	       "bandwidth a user\n  sees with the submitter and the engine each on a core of its "
	       "own (memcpy runs on the\n  engine's core; the figures per placement show whether "
	       "the two cores differ).\n");
	teardown(&st);
	teardown(&s);
	return 0;
}
