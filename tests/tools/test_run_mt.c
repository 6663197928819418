// SPDX-License-Identifier: MIT
/*
 * `softiommu run` in-process: small scenarios through the whole stack (VT-d model, driver,
 * DMA API, DSA engines, NIC and storage traffic), with the counters the report is made of
 * checked directly - the kernel PASID mirroring RID_PASID in every mode, each kind of
 * fault injection caught by the checker (and not caught where the hardware makes it
 * harmless), disabled PASIDs faulting without touching memory, the legacy fallback,
 * exit statuses, the text and JSON reports, the trace, the timeout and the command line.
 * Runs under ThreadSanitizer too (the engines, workload threads and flush timers race),
 * except the cases whose injected stale translations make devices race the CPU on purpose.
 *
 * The runner lives in tools/, which is not part of the library: include its sources.
 */
#include "check.h"

#include "../../tools/scenario_diag.c"
#include "../../tools/scenario_lex.c"
#include "../../tools/scenario_value.c"
#include "../../tools/scenario_reader.c"
#include "../../tools/scenario_expect.c"
#include "../../tools/scenario_parse.c"
#include "../../tools/scenario_check.c"
#include "../../tools/scenario_print.c"
#include "../../tools/default_scenario.c"
#include "../../tools/report_json.c"
#include "../../tools/report.c"
#include "../../tools/report_data.c"
#include "../../tools/trace.c"
#include "../../tools/dot.c"
#include "../../tools/run.c"
#include "../../tools/run_machine.c"
#include "../../tools/run_device.c"
#include "../../tools/run_events.c"
#include "../../tools/run_expect.c"
#include "../../tools/run_ops.c"
#include "../../tools/run_ops_dsa.c"
#include "../../tools/run_ops_traffic.c"
#include "../../tools/run_progress.c"
#include "../../tools/run_workload.c"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a test wants to know about a finished run. */
struct seen {
	int status;
	uint64_t findings, findings_kernel, findings_none, findings_iotlb, findings_devtlb;
	uint64_t faults, faults_kernel_spt2;
	uint64_t ops_kernel, ops_none, bytes, failed, verified, mismatches;
	uint64_t inv_piotlb, inv_piotlb_page, inv_iotlb, inv_pdevtlb, inv_devtlb, inv_pc;
	uint64_t skipped, fallbacks, debug;
	uint64_t iotlb_lookups, devtlb_lookups, devtlb_hits;
	unsigned units;
	bool timed_out;
	unsigned stack_errors;
	char stack_msg[256];
};

static uint64_t wl_sum(struct run *r, size_t field, enum scenario_pasid_sel psel)
{
	struct scenario_expect e = {.phase = -1, .device = -1, .workload = -1, .pasid_sel = psel};

	return sum_wl(r, &e, field);
}

static void inspect(struct run *r, int status, void *ctx)
{
	struct seen *s = ctx;
	struct run_cache_counts c;

	s->status = status;
	s->findings = run_sum_findings(r, -1, -1, SCENARIO_PSEL_ANY, 0, SCENARIO_CACHE_ANY);
	s->findings_kernel =
	    run_sum_findings(r, -1, -1, SCENARIO_PSEL_KERNEL, 0, SCENARIO_CACHE_ANY);
	s->findings_none = run_sum_findings(r, -1, -1, SCENARIO_PSEL_NONE, 0, SCENARIO_CACHE_ANY);
	s->findings_iotlb = run_sum_findings(r, -1, -1, SCENARIO_PSEL_ANY, 0, SCENARIO_CACHE_IOTLB);
	s->findings_devtlb =
	    run_sum_findings(r, -1, -1, SCENARIO_PSEL_ANY, 0, SCENARIO_CACHE_DEVTLB);
	s->faults = run_sum_faults(r, -1, -1, SCENARIO_PSEL_ANY, 0, 0);
	s->faults_kernel_spt2 = run_sum_faults(r, -1, -1, SCENARIO_PSEL_KERNEL, 0, VTD_FR_SPT_2);
	s->ops_kernel = wl_sum(r, offsetof(struct run_wl_counts, ops), SCENARIO_PSEL_KERNEL);
	s->ops_none = wl_sum(r, offsetof(struct run_wl_counts, ops), SCENARIO_PSEL_NONE);
	s->bytes = wl_sum(r, offsetof(struct run_wl_counts, bytes), SCENARIO_PSEL_ANY);
	s->failed = wl_sum(r, offsetof(struct run_wl_counts, failed), SCENARIO_PSEL_ANY);
	s->verified = wl_sum(r, offsetof(struct run_wl_counts, verified), SCENARIO_PSEL_ANY);
	s->mismatches = wl_sum(r, offsetof(struct run_wl_counts, mismatches), SCENARIO_PSEL_ANY);
	s->inv_piotlb = run_sum_inv(r, -1, -1, SCENARIO_IT_PASID_IOTLB, SCENARIO_IG_ANY);
	s->inv_piotlb_page = run_sum_inv(r, -1, -1, SCENARIO_IT_PASID_IOTLB, SCENARIO_IG_PAGE);
	s->inv_iotlb = run_sum_inv(r, -1, -1, SCENARIO_IT_IOTLB, SCENARIO_IG_ANY);
	s->inv_pdevtlb = run_sum_inv(r, -1, -1, SCENARIO_IT_PASID_DEVTLB, SCENARIO_IG_ANY);
	s->inv_devtlb = run_sum_inv(r, -1, -1, SCENARIO_IT_DEVTLB, SCENARIO_IG_ANY);
	s->inv_pc = run_sum_inv(r, -1, -1, SCENARIO_IT_PASID_CACHE, SCENARIO_IG_ANY);
	for (unsigned k = 0; k < r->n_slots; k++)
		for (size_t d = 0; d < r->n_devs; d++) {
			s->skipped += atomic_load(&r->skipped[k * (r->n_devs + 1) + d]);
			s->fallbacks += r->fallbacks[k * r->n_devs + d];
			s->debug += r->debug[k * r->n_devs + d];
		}
	run_sum_caches(r, -1, -1, &c);
	s->iotlb_lookups = c.hits[SCENARIO_CACHE_IOTLB] + c.misses[SCENARIO_CACHE_IOTLB];
	s->devtlb_lookups = c.hits[SCENARIO_CACHE_DEVTLB] + c.misses[SCENARIO_CACHE_DEVTLB];
	s->devtlb_hits = c.hits[SCENARIO_CACHE_DEVTLB];
	s->units = r->n_machines;
	s->timed_out = r->timed_out;
	s->stack_errors = r->stack_errors;
	snprintf(s->stack_msg, sizeof(s->stack_msg), "%s", r->stack_msg);
}

/* Run scenario text quietly; the report goes to /dev/null unless `out` is given. */
static int run_text(const char *text, struct seen *seen, struct run_options *opt)
{
	struct scenario_diags d = {0};
	struct run_options o;
	struct scenario *s;
	FILE *null = fopen("/dev/null", "w");
	int ret;

	if (opt) {
		o = *opt;
	} else {
		run_options_default(&o);
		o.out = null;
	}
	if (!o.out)
		o.out = null;
	o.err = null;
	o.progress = RUN_PROGRESS_OFF;
	ret = scenario_parse_string(text, "t.scn", &s, &d);
	if (ret) {
		scenario_diags_print(&d, stderr);
		scenario_diags_free(&d);
		fclose(null);
		return -1;
	}
	scenario_diags_free(&d);
	memset(seen, 0, sizeof(*seen));
	ret = run_scenario_inspect(s, &o, inspect, seen);
	if (seen->stack_errors)
		fprintf(stderr, "stack error: %s\n", seen->stack_msg);
	scenario_free(s);
	fclose(null);
	return ret;
}

/* ---- the seed's case --------------------------------------------------------------------- */

/* A scenario with one DSA engine copying with and without its kernel PASID. */
static char *copy_scenario(const char *policy, const char *extra)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf),
		 "[device dsa0]\ntype = dsa\nats = on\n"
		 "[dma dsa0]\nkernel_pasid = on\n%s\n"
		 "[workload with]\ndevice = dsa0\npasid = kernel\nsize = 4K..20K\ncount = 150\n"
		 "threads = 2\n"
		 "[workload without]\ndevice = dsa0\npasid = none\nsize = 4K..20K\ncount = 150\n"
		 "%s\n",
		 policy, extra);
	return buf;
}

static void check_mirror(const char *policy, bool translated)
{
	struct seen s;

	CHECK_EQ(run_text(copy_scenario(policy, ""), &s, NULL), 0);
	CHECK_EQ(s.status, 0);
	CHECK_EQ(s.stack_errors, 0);
	CHECK_EQ(s.findings, 0);
	CHECK_EQ(s.faults, 0);
	CHECK_EQ(s.ops_kernel, 150);
	CHECK_EQ(s.ops_none, 150);
	CHECK_EQ(s.failed, 0);
	CHECK_EQ(s.verified, 300);
	CHECK_EQ(s.mismatches, 0);
	CHECK(s.bytes >= 300 * 4096ull && s.bytes <= 300 * 20480ull);
	CHECK(s.devtlb_lookups > 0);
	if (translated) {
		/* Unmaps flushed the device TLB for both requesters (types 3 and 8). */
		CHECK(s.inv_devtlb > 0);
		CHECK(s.inv_pdevtlb > 0);
	}
}

/* Kernel PASID DMA is right and fully checked in every policy. */
static void test_mirror_strict_first_stage(void)
{
	struct seen s;

	check_mirror("page_table = first-stage\ninvalidation = strict", true);
	/* First stage: PASID-based IOTLB invalidation, page-selective, for each PASID. */
	CHECK_EQ(run_text(copy_scenario("page_table = first-stage", ""), &s, NULL), 0);
	CHECK(s.inv_piotlb_page > 0);
	CHECK_EQ(s.inv_iotlb, 1); /* only the global flush at probe */
}

static void test_mirror_strict_second_stage(void)
{
	struct seen s;

	check_mirror("page_table = second-stage", true);
	/* Second stage: IOTLB invalidation by DID, which covers every PASID. */
	CHECK_EQ(run_text(copy_scenario("page_table = second-stage", ""), &s, NULL), 0);
	CHECK(s.inv_iotlb > 1);
	CHECK_EQ(s.inv_piotlb_page, 0);
}

static void test_mirror_lazy(void)
{
	check_mirror("invalidation = lazy\nflush_queue_size = 16", true);
}

static void test_mirror_pass_through(void)
{
	struct seen s;

	check_mirror("default_domain = pass-through", false);
	CHECK_EQ(run_text(copy_scenario("default_domain = pass-through", ""), &s, NULL), 0);
	CHECK_EQ(s.inv_piotlb_page, 0); /* nothing is ever unmapped from the identity domain */
	CHECK(s.devtlb_hits > 0);
}

/* ---- fault injection --------------------------------------------------------------------- */

/* The seed review's bug: without PASID-based IOTLB invalidation of the kernel PASID, DMA
 * with it hits stale entries; DMA without PASID stays right. */
#define SKIP_PASID_IOTLB                                                                           \
	"[device dsa0]\ntype = dsa\nats = off\n"                                                   \
	"[dma dsa0]\npage_table = first-stage\nkernel_pasid = on\n"                                \
	"skip_invalidation = pasid-iotlb\n"                                                        \
	"[workload with]\npasid = kernel\nsize = 4K\ncount = 300\n"                                \
	"[workload without]\npasid = none\nsize = 4K\ncount = 300\n"

static void test_skip_pasid_iotlb(void)
{
	struct seen s;

	/* With an expectation about findings, they are what the scenario wants: status 0. */
	CHECK_EQ(
	    run_text(SKIP_PASID_IOTLB "[expect]\nchecker_findings(pasid=kernel) > 0\n", &s, NULL),
	    0);
	CHECK_EQ(s.stack_errors, 0);
	CHECK(s.findings_kernel > 0);
	CHECK_EQ(s.findings_none, 0);
	CHECK_EQ(s.findings_iotlb, s.findings);
	CHECK(s.skipped > 0);
	CHECK(s.mismatches > 0); /* the stale translations sent data where it must not go */
	/* Without one, the findings make the run fail. */
	CHECK_EQ(run_text(SKIP_PASID_IOTLB, &s, NULL), 1);
	CHECK(s.findings_kernel > 0);
}

/* With second-stage tables the IOTLB is invalidated by DID for every PASID at once: leaving
 * out the PASID-based form changes nothing, and the checker agrees. */
static void test_skip_pasid_iotlb_second_stage(void)
{
	struct seen s;

	CHECK_EQ(run_text("[device dsa0]\ntype = dsa\nats = off\n"
			  "[dma dsa0]\npage_table = second-stage\nkernel_pasid = on\n"
			  "skip_invalidation = pasid-iotlb\n"
			  "[workload with]\npasid = kernel\nsize = 4K\ncount = 300\n",
			  &s, NULL),
		 0);
	CHECK_EQ(s.findings, 0);
	CHECK_EQ(s.skipped, 0);
	CHECK_EQ(s.mismatches, 0);
}

/* Device-TLB invalidations left out: the device TLB's checker reports its stale entries. */
static void test_skip_devtlb(void)
{
	struct seen s;

	CHECK_EQ(run_text(copy_scenario("skip_invalidation = devtlb",
					"[expect]\nchecker_findings(cache=devtlb) > 0\n"),
			  &s, NULL),
		 0);
	CHECK(s.findings_devtlb > 0);
	CHECK(s.skipped > 0);
}

/* A phase's injection applies to that phase only. */
static void test_skip_by_phase(void)
{
	static const char text[] = "[device dsa0]\ntype = dsa\nats = off\n"
				   "[dma dsa0]\nkernel_pasid = on\n"
				   "[workload with]\npasid = kernel\nsize = 4K\ncount = 200\n"
				   "[phase good]\nrun = with\n"
				   "[phase bad]\nskip_invalidation = iotlb\nrun = with\n"
				   "[phase good-again]\nrun = with\n"
				   "[expect good]\nchecker_findings == 0\n"
				   "[expect bad]\nchecker_findings > 0\n"
				   "[expect good-again]\ndma_ops == 200\n";
	struct seen s;

	CHECK_EQ(run_text(text, &s, NULL), 0);
	CHECK(s.findings > 0);
}

/* ---- PASID life cycle --------------------------------------------------------------------- */

static void test_pasid_disable(void)
{
	static const char text[] =
	    "[device dsa0]\ntype = dsa\nats = off\n"
	    "[dma dsa0]\nkernel_pasid = on\n"
	    "[workload with]\npasid = kernel\nsize = 8K\ncount = 100\n"
	    "[phase before]\nrun = with\n"
	    "[phase after]\ndisable_pasid = dsa0\nrun = with\n"
	    "[phase again]\nenable_pasid = dsa0\nrun = with\n"
	    "[expect after]\nfailed_ops == 100\nfaults(pasid=kernel, reason=SPT.2) >= 1\n"
	    "[expect again]\ndma_ops(pasid=kernel) == 100\nfaults == 0\n";
	struct seen s;

	CHECK_EQ(run_text(text, &s, NULL), 0);
	CHECK_EQ(s.failed, 100);
	CHECK_EQ(s.ops_kernel, 200);
	CHECK(s.faults_kernel_spt2 >= 1);
	/* A failed copy left its destination alone: checked and counted as verified. */
	CHECK_EQ(s.verified, 300);
	CHECK_EQ(s.mismatches, 0);
	CHECK_EQ(s.findings, 0);
	CHECK(s.inv_pc >= 1); /* the PASID entry's teardown */
}

static void test_legacy_fallback(void)
{
	static const char text[] = "[iommu]\nmode = legacy\n"
				   "[device dsa0]\ntype = dsa\n"
				   "[dma dsa0]\nkernel_pasid = try\n"
				   "[workload w]\npasid = kernel\nsize = 4K\ncount = 100\n"
				   "[expect]\npasid_fallbacks == 1\ndma_ops(pasid=none) == 100\n";
	struct seen s;

	CHECK_EQ(run_text(text, &s, NULL), 0);
	CHECK_EQ(s.fallbacks, 1);
	CHECK_EQ(s.ops_none, 100);
	CHECK_EQ(s.ops_kernel, 0);
	CHECK_EQ(s.findings, 0);
	CHECK(s.inv_iotlb > 1); /* legacy units invalidate with type 2 */
	CHECK_EQ(s.inv_piotlb, 0);
}

/* ---- other devices ------------------------------------------------------------------------ */

static void test_nic_and_storage(void)
{
	static const char text[] =
	    "[dma]\ninvalidation = lazy\ndebug = on\n"
	    "[device eth0]\ntype = nic\nrx_ring = 32\n"
	    "[device nvme0]\ntype = storage\nqueue_depth = 4\n"
	    "[workload net]\ndevice = eth0\nsize = 64..1500\ncount = 300\nthreads = 2\n"
	    "[workload io]\ndevice = nvme0\nop = mixed\nsegments = 6\nsize = 4K..16K\n"
	    "count = 40\n"
	    "[expect]\ndma_ops(device=eth0) == 300\ndma_ops(device=nvme0) == 40\n"
	    "debug_findings == 0\ndata_mismatches == 0\nchecker_findings == 0\n"
	    "invalidations(type=pasid-iotlb) < 300\n";
	struct seen s;

	CHECK_EQ(run_text(text, &s, NULL), 0);
	CHECK_EQ(s.verified, 340);
	CHECK_EQ(s.debug, 0);
	CHECK(s.iotlb_lookups > 0);
}

static void test_two_units(void)
{
	static const char text[] =
	    "[device a]\ntype = dsa\n[dma a]\npage_table = first-stage\n"
	    "[device b]\ntype = nic\n[dma b]\npage_table = second-stage\n"
	    "[device c]\ntype = nic\n[dma c]\ndefault_domain = pass-through\n"
	    "[workload wa]\ndevice = a\nsize = 4K\ncount = 50\n"
	    "[workload wb]\ndevice = b\ncount = 50\n"
	    "[workload wc]\ndevice = c\ncount = 50\n"
	    "[expect]\ndma_ops == 150\nchecker_findings == 0\n";
	struct seen s;

	CHECK_EQ(run_text(text, &s, NULL), 0);
	CHECK_EQ(s.units, 2);
}

/* ---- statuses, reports, trace --------------------------------------------------------------- */

static void test_failed_expectation(void)
{
	struct seen s;
	char *text = NULL;
	size_t len = 0;
	struct run_options o;
	FILE *out = open_memstream(&text, &len);

	run_options_default(&o);
	o.out = out;
	CHECK_EQ(run_text("[device d]\ntype = dsa\n[workload w]\ncount = 20\n"
			  "[expect]\ndma_ops == 20\ndma_ops(pasid=none) == 1\n",
			  &s, &o),
		 1);
	fclose(out);
	CHECK(strstr(text, "FAIL  t.scn:7: dma_ops(pasid=none) == 1: measured 0") != NULL);
	CHECK(strstr(text, "ok    dma_ops == 20 (20)") != NULL);
	CHECK(strstr(text, "1 of 2 expectations failed") != NULL);
	CHECK(strstr(text, "FAIL (exit status 1)") != NULL);
	free(text);
}

static void test_text_report(void)
{
	struct seen s;
	char *text = NULL;
	size_t len = 0;
	struct run_options o;
	FILE *out = open_memstream(&text, &len);

	run_options_default(&o);
	o.out = out;
	CHECK_EQ(run_text(copy_scenario("", ""), &s, &o), 0);
	fclose(out);
	static const char *const want[] = {"DMA by device and PASID",
					   "Cache hit rates",
					   "Invalidations the units carried out",
					   "Faults by reason",
					   "Checker",
					   "Phases",
					   "PASS (exit status 0)",
					   "device TLB dsa0",
					   "pasid-iotlb",
					   "1 (kernel)"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(text, want[i]))
			fprintf(stderr, "missing: %s\n", want[i]);
		CHECK(strstr(text, want[i]) != NULL);
	}
	free(text);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* The JSON report carries the same numbers, and the trace the run's events. */
static void test_json_and_trace(void)
{
	char json[] = "/tmp/softiommu_test_json_XXXXXX", tr[] = "/tmp/softiommu_test_trace_XXXXXX";
	int fj = mkstemp(json), ft = mkstemp(tr);
	struct run_options o;
	struct seen s;
	char *text;

	CHECK(fj >= 0 && ft >= 0);
	close(fj);
	close(ft);
	run_options_default(&o);
	o.json_path = json;
	o.trace_path = tr;
	o.trace_sample = 1;
	o.quiet = true;
	CHECK_EQ(run_text(copy_scenario("", ""), &s, &o), 0);
	text = slurp(json);
	unlink(json);
	CHECK(text != NULL);
	CHECK(strstr(text, "\"result\": \"pass\"") != NULL);
	CHECK(strstr(text, "\"exit_status\": 0") != NULL);
	CHECK(strstr(text, "\"device\": \"dsa0\"") != NULL);
	CHECK(strstr(text, "\"ops\": 150") != NULL);
	CHECK(strstr(text, "\"pasid-iotlb\": {") != NULL);
	CHECK(strstr(text, "\"findings\": 0") != NULL);
	free(text);
	text = slurp(tr);
	unlink(tr);
	CHECK(text != NULL);
	CHECK(!strncmp(text, "{\"traceEvents\":[", 16));
	for (const char *const *n =
		 (const char *const[]){"\"map\"", "\"unmap\"", "\"memmove\"", "\"translate\"",
				       "\"pasid-iotlb\"", "\"process_name\"", "\"thread_name\"",
				       "\"with#1\"", NULL};
	     *n; n++) {
		if (!strstr(text, *n))
			fprintf(stderr, "trace lacks %s\n", *n);
		CHECK(strstr(text, *n) != NULL);
	}
	free(text);
}

/* A trace limit keeps the file bounded and says how much was left out. */
static void test_trace_limit(void)
{
	char tr[] = "/tmp/softiommu_test_trace_XXXXXX";
	int ft = mkstemp(tr);
	struct run_options o;
	struct seen s;
	char *text;

	CHECK(ft >= 0);
	close(ft);
	run_options_default(&o);
	o.trace_path = tr;
	o.trace_limit = 50;
	o.quiet = true;
	CHECK_EQ(run_text(copy_scenario("", ""), &s, &o), 0);
	text = slurp(tr);
	unlink(tr);
	CHECK(text != NULL);
	CHECK(strstr(text, "\"events\":50,") != NULL);
	CHECK(strstr(text, "\"events_dropped\":0}") == NULL);
	free(text);
}

static void test_timeout(void)
{
	struct seen s;

	CHECK_EQ(run_text("[scenario]\ntimeout = 50ms\n[device d]\ntype = dsa\n"
			  "[workload w]\ncount = 100_000_000\n",
			  &s, NULL),
		 1);
	CHECK(s.timed_out);
	CHECK(s.ops_kernel + s.ops_none < 100000000);
}

/* A platform the reader accepts but the model cannot build is a usage error (2). */
static void test_unbuildable(void)
{
	struct seen s;

	/* The model's widest second-stage width is 57 bits; the reader takes up to 64. */
	CHECK_EQ(run_text("[iommu]\nmgaw = 64\nsagaw = 39, 48, 57\n[device d]\ntype = dsa\n"
			  "[workload w]\ncount = 1\n",
			  &s, NULL),
		 2);
	/* Buffers that do not fit memory. */
	CHECK_EQ(run_text("[scenario]\nmemory = 16M\n[device d]\ntype = dsa\n"
			  "[workload w]\nsize = 64M\ncount = 1\n",
			  &s, NULL),
		 2);
}

/* ---- the command line ----------------------------------------------------------------------- */

static int cmd(int (*fn)(int, char **), const char *a, const char *b, const char *c)
{
	char *argv[] = {(char *)"x", (char *)a, (char *)b, (char *)c, NULL};
	int argc = 1 + (a != NULL) + (b != NULL) + (c != NULL);
	FILE *saved = stdout;
	int ret;

	stdout = fopen("/dev/null", "w");
	ret = fn(argc, argv);
	fclose(stdout);
	stdout = saved;
	return ret;
}

static void test_command_line(void)
{
	CHECK_EQ(cmd(cmd_run, "--help", NULL, NULL), 0);
	CHECK_EQ(cmd(cmd_dot, "-h", NULL, NULL), 0);
	CHECK_EQ(cmd(cmd_run, "--frobnicate", NULL, NULL), 2);
	CHECK_EQ(cmd(cmd_run, "--trace-limit", "0", NULL), 2);
	CHECK_EQ(cmd(cmd_run, "--trace-sample", "x", NULL), 2);
	CHECK_EQ(cmd(cmd_run, "--dot-depth", "6", NULL), 2);
	CHECK_EQ(cmd(cmd_run, "--scale", "0", NULL), 2);
	CHECK_EQ(cmd(cmd_run, "--findings", "-1", NULL), 2);
	CHECK_EQ(cmd(cmd_run, "a.scn", "b.scn", NULL), 2);
	CHECK_EQ(cmd(cmd_run, "/nonexistent/x.scn", NULL, NULL), 2);
	CHECK_EQ(cmd(cmd_run, "--dot-phase", "main", NULL), 2); /* needs --dot */
	CHECK_EQ(cmd(cmd_dot, "--phase", "nope", "examples/scenarios/nic.scn"), 2);
	CHECK_EQ(cmd(cmd_dot, "--depth", "9", NULL), 2);
	CHECK_EQ(cmd(cmd_dot, "--bogus", NULL, NULL), 2);
}

int main(void)
{
	RUN(test_mirror_strict_first_stage);
	RUN(test_mirror_strict_second_stage);
	RUN(test_mirror_lazy);
	RUN(test_mirror_pass_through);
#ifndef SOFTIOMMU_TSAN
	RUN(test_skip_pasid_iotlb);
	RUN(test_skip_devtlb);
	RUN(test_skip_by_phase);
#else
	/* A left-out invalidation makes the engine write through a stale translation into
	 * memory another operation's thread is checking: that race is the bug these cases
	 * inject, so ThreadSanitizer would rightly report it. They run in the plain and
	 * ASan builds; here the runner's own concurrency is covered by the other cases. */
	(void)test_skip_pasid_iotlb;
	(void)test_skip_devtlb;
	(void)test_skip_by_phase;
	printf("skip test_skip_pasid_iotlb, test_skip_devtlb, test_skip_by_phase "
	       "(injected stale DMA races by design)\n");
#endif
	RUN(test_skip_pasid_iotlb_second_stage);
	RUN(test_pasid_disable);
	RUN(test_legacy_fallback);
	RUN(test_nic_and_storage);
	RUN(test_two_units);
	RUN(test_failed_expectation);
	RUN(test_text_report);
	RUN(test_json_and_trace);
	RUN(test_trace_limit);
	RUN(test_timeout);
	RUN(test_unbuildable);
	RUN(test_command_line);
	return CHECK_DONE();
}
