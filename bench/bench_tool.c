// SPDX-License-Identifier: MIT
/*
 * What `softiommu run` adds to the work it drives: the same DMA operations done once by the
 * tool (a scenario run in-process: phases, workload threads, counters, the model's trace
 * hook, checks, the report) and once by a plain program that calls the library directly
 * (machine, DMA API, the DSA engine's kernel driver: map, submit, wait, unmap, verify), on
 * the same unit configuration, in the same run. Printed per operation, as a ratio tool / direct, in
 * wall time and in CPU time (the machine may be shared: CPU time is the steadier figure).
 *
 * Cases: a DSA-like engine copying 4 KiB with its kernel PASID, mapping and unmapping around
 * every descriptor (strict), and the same with buffers mapped once; both sides keep the
 * same number of descriptors in flight (RUN_DSA_WINDOW).
 *
 *   bench_tool [operations [rounds]]  (default 20000 per round, best of 3 interleaved rounds)
 *
 * Both sides submit and wait through the same driver calls (dsa_drv_submit, dsa_drv_wait:
 * the completion record polled with a short spin, then yields, then sleeps), so the
 * difference is the tool's own work. Set-up and tear-down of the platform are included on
 * both sides.
 *
 * The ten-million-operation scenario (bench/scenarios/ten-million.scn) is timed from the
 * command line: time ./build/softiommu run bench/scenarios/ten-million.scn
 *
 * The tool lives in tools/, which is not part of the library: include its sources.
 */
#include "../tools/scenario_diag.c"
#include "../tools/scenario_lex.c"
#include "../tools/scenario_value.c"
#include "../tools/scenario_reader.c"
#include "../tools/scenario_expect.c"
#include "../tools/scenario_parse.c"
#include "../tools/scenario_check.c"
#include "../tools/scenario_print.c"
#include "../tools/default_scenario.c"
#include "../tools/report_json.c"
#include "../tools/report.c"
#include "../tools/report_data.c"
#include "../tools/trace.c"
#include "../tools/dot.c"
#include "../tools/run.c"
#include "../tools/run_machine.c"
#include "../tools/run_device.c"
#include "../tools/run_events.c"
#include "../tools/run_expect.c"
#include "../tools/run_ops.c"
#include "../tools/run_ops_dsa.c"
#include "../tools/run_ops_traffic.c"
#include "../tools/run_progress.c"
#include "../tools/run_workload.c"

#include <softiommu/machine.h>

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEN 4096ull
#define SRC 0x10000000ull
#define RID PCI_RID(0, 1, 0)

struct cost {
	double wall, cpu; /* ns per operation */
};

static double clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static const char *scenario_text(bool once, unsigned long ops, char *buf, size_t n)
{
	snprintf(buf, n,
		 "[iommu]\nchecker = off\n"
		 "[device dsa0]\ntype = dsa\nrid = 00:01.0\nats = on\n"
		 "[dma dsa0]\nkernel_pasid = on\ninvalidation = strict\n"
		 "[workload copy]\npasid = kernel\nsize = 4K\ncount = %lu\nmap = %s\n"
		 "[expect]\ndma_ops == %lu\ndata_mismatches == 0\n",
		 ops, once ? "once" : "per-op", ops);
	return buf;
}

/* ---- through the tool --------------------------------------------------------------------- */

static int tool_round(struct scenario *s, struct cost *c, unsigned long ops)
{
	struct run_options o;
	FILE *null = fopen("/dev/null", "w");
	double w0, c0;
	int status;

	run_options_default(&o);
	o.out = o.err = null;
	o.quiet = true;
	o.progress = RUN_PROGRESS_OFF;
	w0 = clock_ns(CLOCK_MONOTONIC);
	c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	status = run_scenario(s, &o);
	c->cpu = (clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / ops;
	c->wall = (clock_ns(CLOCK_MONOTONIC) - w0) / ops;
	fclose(null);
	return status;
}

/* ---- through the library directly ------------------------------------------------------------ */

#define WINDOW RUN_DSA_WINDOW /* descriptors in flight, as the tool keeps them */

struct direct_slot {
	bool busy;
	unsigned ticket; /* the driver's completion record */
	uint64_t op;
	dma_addr_t src, dst;
};

struct direct {
	struct direct_slot slot[WINDOW];
	bool once;
	struct machine *m;
	struct machine_dev *md;
	struct dsa_drv *drv;
	struct dma_dev *dma;
};

static uint64_t slot_src(unsigned k)
{
	return SRC + k * 2 * LEN;
}

static uint64_t slot_dst(unsigned k)
{
	return slot_src(k) + LEN;
}

static void quiet_log(void *ctx, const char *line)
{
	(void)ctx;
	(void)line;
}

/* The unit the tool builds for the same scenario (its own [iommu] translation), and the
 * engine's kernel driver with its kernel PASID. */
static int direct_setup(struct direct *d, const struct scenario *s)
{
	struct machine_config mc;
	struct machine_dev_config dc = {
	    .rid = RID, .pasid_width = 20, .ats = true, .def_domain_type = IOMMU_DOMAIN_DMA};
	struct dsa_drv_config cfg = {.use_pasid = true, .records = WINDOW, .log = quiet_log};
	bool adjusted;

	machine_config_default(&mc);
	mc.mem_size = s->memory;
	mc.alloc_base = run_tables_base(&(struct run){.s = s});
	mc.alloc_size = s->memory - mc.alloc_base;
	config_from(&s->iommu, &mc.vtd, &adjusted);
	mc.driver.quiet = true;
	if (machine_create(&mc, &d->m) || machine_add_device(d->m, &dc, &d->md))
		return -1;
	cfg.ep = d->md->ep;
	cfg.dma =
	    (struct dma_dev_config){.dev = d->md->dev, .mem = d->m->mem, .alloc = d->m->alloc};
	cfg.dsa.num_wqs = 1;
	cfg.dsa.wq_size[0] = 32;
	if (dsa_drv_probe(&cfg, &d->drv) || dsa_drv_pasid(d->drv) == IOMMU_PASID_INVALID)
		return -1;
	d->dma = dsa_drv_dma(d->drv);
	run_op_pattern(mem_ptr(d->m->mem, SRC, 2 * LEN * WINDOW), 2 * LEN * WINDOW, 42);
	if (d->once)
		for (unsigned k = 0; k < WINDOW; k++) {
			d->slot[k].src = dma_map_single(d->dma, slot_src(k), LEN, DMA_TO_DEVICE);
			d->slot[k].dst = dma_map_single(d->dma, slot_dst(k), LEN, DMA_FROM_DEVICE);
		}
	return 0;
}

static void direct_teardown(struct direct *d)
{
	for (unsigned k = 0; d->drv && d->once && k < WINDOW; k++) {
		dma_unmap_single(d->dma, d->slot[k].src, LEN, DMA_TO_DEVICE);
		dma_unmap_single(d->dma, d->slot[k].dst, LEN, DMA_FROM_DEVICE);
	}
	dsa_drv_remove(d->drv);
	machine_destroy(d->m);
}

/* Copy i in slot k as the tool does it: mark the pages, map, submit. */
static int direct_post(struct direct *d, unsigned k, uint64_t i)
{
	struct direct_slot *sl = &d->slot[k];
	uint64_t mark[2] = {i, 0}, poison[2] = {~i, 0};
	struct dsa_desc desc;
	int ret;

	memcpy(mem_ptr(d->m->mem, slot_src(k), LEN), mark, sizeof(mark));
	memcpy(mem_ptr(d->m->mem, slot_dst(k), LEN), poison, sizeof(poison));
	if (!d->once) {
		sl->src = dma_map_single(d->dma, slot_src(k), LEN, DMA_TO_DEVICE);
		sl->dst = dma_map_single(d->dma, slot_dst(k), LEN, DMA_FROM_DEVICE);
		if (sl->src == DMA_MAPPING_ERROR || sl->dst == DMA_MAPPING_ERROR)
			return -1;
	}
	dsa_desc_init(&desc, DSA_OP_MEMMOVE, 0, false, 0, false);
	desc.src = sl->src;
	desc.dst = sl->dst;
	desc.size = LEN;
	ret = dsa_drv_submit(d->drv, 0, &desc, 0, &sl->ticket);
	sl->busy = !ret;
	sl->op = i;
	return ret;
}

/* Wait for slot k, unmap, check the record and the data. */
static int direct_complete(struct direct *d, unsigned k)
{
	struct direct_slot *sl = &d->slot[k];
	struct dsa_completion rec;
	int ret = dsa_drv_wait(d->drv, sl->ticket, &rec);

	sl->busy = false;
	if (!d->once) {
		dma_unmap_single(d->dma, sl->src, LEN, DMA_TO_DEVICE);
		dma_unmap_single(d->dma, sl->dst, LEN, DMA_FROM_DEVICE);
	}
	if (ret || rec.status != DSA_COMP_SUCCESS ||
	    memcmp(mem_ptr(d->m->mem, slot_src(k), LEN), mem_ptr(d->m->mem, slot_dst(k), LEN), LEN))
		return -1;
	return 0;
}

static int direct_round(const struct scenario *s, bool once, struct cost *c, unsigned long ops)
{
	struct direct *d = calloc(1, sizeof(*d));
	double w0, c0;
	int ret = 0;

	if (!d)
		return -1;
	d->once = once;
	w0 = clock_ns(CLOCK_MONOTONIC);
	c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	if (direct_setup(d, s))
		ret = -1;
	for (unsigned long i = 0; i < ops && !ret; i++) {
		unsigned k = (unsigned)(i % WINDOW);

		if (d->slot[k].busy)
			ret = direct_complete(d, k);
		if (!ret)
			ret = direct_post(d, k, i);
	}
	for (unsigned long n = 0; n < WINDOW; n++) {
		unsigned k = (unsigned)((ops + n) % WINDOW);

		if (d->slot[k].busy && direct_complete(d, k))
			ret = -1;
	}
	direct_teardown(d);
	c->cpu = (clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / ops;
	c->wall = (clock_ns(CLOCK_MONOTONIC) - w0) / ops;
	free(d);
	return ret;
}

static void best(struct cost *b, const struct cost *c)
{
	if (c->wall < b->wall)
		b->wall = c->wall;
	if (c->cpu < b->cpu)
		b->cpu = c->cpu;
}

int main(int argc, char **argv)
{
	unsigned long ops = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000;
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	int failed = 0;

	if (!ops || rounds < 1)
		return 1;
	printf("softiommu run against the library called directly: DSA memmove of 4 KiB with the "
	       "kernel PASID, ATS, strict, checker off (best of %d interleaved rounds of %lu "
	       "operations)\n",
	       rounds, ops);
	for (int once = 0; once < 2; once++) {
		struct cost bt = {1e30, 1e30}, bd = {1e30, 1e30}, c;
		struct scenario_diags dg = {0};
		struct scenario *s;
		char text[1024];

		if (scenario_parse_string(scenario_text(once, ops, text, sizeof(text)), "bench.scn",
					  &s, &dg)) {
			scenario_diags_print(&dg, stderr);
			return 1;
		}
		scenario_diags_free(&dg);
		for (int r = 0; r < rounds; r++) {
			if (tool_round(s, &c, ops)) {
				fprintf(stderr, "the tool's run failed\n");
				failed = 1;
			}
			best(&bt, &c);
			if (direct_round(s, once, &c, ops)) {
				fprintf(stderr, "the direct run failed\n");
				failed = 1;
			}
			best(&bd, &c);
		}
		printf("  %-22s tool %8.0f ns/op wall %8.0f ns/op CPU | direct %8.0f ns/op wall "
		       "%8.0f ns/op CPU | ratio %.2f wall, %.2f CPU\n",
		       once ? "buffers mapped once" : "map/unmap per copy", bt.wall, bt.cpu,
		       bd.wall, bd.cpu, bt.wall / bd.wall, bt.cpu / bd.cpu);
		scenario_free(s);
	}
	return failed;
}
