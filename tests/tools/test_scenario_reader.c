// SPDX-License-Identifier: MIT
/*
 * The scenario reader: every construct of the language, the defaults, every example in
 * examples/scenarios/ (and the built-in default, byte for byte), each kind of error at its
 * exact file:line:column, the check-scenario command, and garbage of every sort (random
 * bytes, truncations and mutations of real scenarios, huge numbers, repeated sections)
 * that must give errors and never a crash (ASan and UBSan run this).
 *
 * The reader lives in tools/, which is not part of the library: include its sources.
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
#include "../../tools/cmd_check_scenario.c"

#include <softiommu/pci.h>

#include <dirent.h>
#include <errno.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------ */

/* Parse text that must be valid; print the diagnostics if it is not. */
static struct scenario *parse_ok(const char *text)
{
	struct scenario_diags d = {0};
	struct scenario *s = NULL;
	int ret = scenario_parse_string(text, "t.scn", &s, &d);

	if (ret) {
		fprintf(stderr, "unexpected parse failure %d:\n", ret);
		scenario_diags_print(&d, stderr);
	}
	scenario_diags_free(&d);
	return s;
}

/* Parse text that must be invalid; the diagnostics are left in d. */
static int parse_bad(const char *text, struct scenario_diags *d)
{
	struct scenario *s = NULL;
	int ret = scenario_parse_string(text, "t.scn", &s, d);

	if (s) { /* must not happen: a scenario with errors is never returned */
		scenario_free(s);
		return 0;
	}
	return ret;
}

/* The diagnostics as printed. The caller frees the string. */
static char *render(const struct scenario_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	scenario_diags_print(d, f);
	fclose(f);
	return buf;
}

/* Does text parse to exactly one error, at line:col, whose first printed line is `want`? */
static int one_error(const char *text, unsigned line, unsigned col, const char *want)
{
	struct scenario_diags d = {0};
	int ret = parse_bad(text, &d), ok = 0;
	char *out = render(&d);

	if (ret == -EINVAL && d.errors == 1 && d.list[0].line == line && d.list[0].col == col &&
	    out && !strncmp(out, want, strlen(want)) && out[strlen(want)] == '\n')
		ok = 1;
	if (!ok)
		fprintf(stderr, "for:\n%s\nwant %u:%u \"%s\", got (ret %d, %zu errors):\n%s", text,
			line, col, want, ret, d.errors, out ? out : "");
	free(out);
	scenario_diags_free(&d);
	return ok;
}

/* Does text fail with a diagnostic at line:col whose message contains `sub`? */
static int has_error(const char *text, unsigned line, unsigned col, const char *sub)
{
	struct scenario_diags d = {0};
	int ret = parse_bad(text, &d), ok = 0;

	for (size_t i = 0; i < d.count; i++)
		if (d.list[i].severity == SCENARIO_ERROR && d.list[i].line == line &&
		    d.list[i].col == col && strstr(d.list[i].message, sub))
			ok = ret == -EINVAL;
	if (!ok) {
		char *out = render(&d);
		fprintf(stderr, "for:\n%s\nwant %u:%u containing \"%s\", got (ret %d):\n%s", text,
			line, col, sub, ret, out ? out : "");
		free(out);
	}
	scenario_diags_free(&d);
	return ok;
}

static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	*len = (size_t)n;
	fclose(f);
	return buf;
}

static char *print_to_string(const struct scenario *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (scenario_print(s, f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

#define MIN_DSA "[device d]\ntype = dsa\n"

/* ---- defaults ----------------------------------------------------------------------------- */

static void test_empty_is_all_defaults(void)
{
	struct scenario *s = parse_ok("");

	CHECK(s);
	CHECK(!strcmp(s->name, "t"));
	CHECK_EQ(s->seed, 1);
	CHECK_EQ(s->memory, 4ull << 30);
	CHECK_EQ(s->timeout_ns, 0);
	CHECK_EQ(s->iommu.mode, SCENARIO_MODE_SCALABLE);
	CHECK(s->iommu.first_stage && s->iommu.second_stage && !s->iommu.nested);
	CHECK(s->iommu.pass_through && !s->iommu.five_level && !s->iommu.caching_mode);
	CHECK(s->iommu.device_tlb && s->iommu.checker);
	CHECK_EQ(s->iommu.mgaw, 48);
	CHECK_EQ(s->iommu.haw, 46);
	CHECK_EQ(s->iommu.sagaw, SCENARIO_SAGAW_39 | SCENARIO_SAGAW_48);
	CHECK_EQ(s->iommu.pasid_bits, 20);
	CHECK_EQ(s->iommu.large_pages, SCENARIO_LARGE_2M | SCENARIO_LARGE_1G);
	CHECK_EQ(s->iommu.fault_records, 8);
	CHECK_EQ(s->iommu.inv_queue_pages, 2); /* 256 descriptors of 256 bits */
	CHECK_EQ(s->iommu.context_cache.entries, 64);
	CHECK_EQ(s->iommu.context_cache.ways, 4);
	CHECK_EQ(s->iommu.pasid_cache.entries, 256);
	CHECK_EQ(s->iommu.iotlb.entries, 1024);
	CHECK_EQ(s->iommu.iotlb.ways, 8);
	CHECK_EQ(s->iommu.pwc.entries, 256);
	CHECK_EQ(s->dma.default_domain, SCENARIO_DOMAIN_TRANSLATED);
	CHECK_EQ(s->dma.page_table, SCENARIO_PT_AUTO);
	CHECK_EQ(s->dma.invalidation, SCENARIO_INV_STRICT);
	CHECK_EQ(s->dma.flush_queue_size, 256);
	CHECK_EQ(s->dma.flush_timeout_ns, 10000000);
	CHECK_EQ(s->dma.kernel_pasid, SCENARIO_KPASID_AUTO);
	CHECK(!s->dma.debug);
	CHECK_EQ(s->dma.skip_invalidation, 0);
	CHECK_EQ(s->n_devices, 0);
	CHECK_EQ(s->n_workloads, 0);
	CHECK_EQ(s->n_phases, 1);
	CHECK(s->phases[0].implicit);
	CHECK_EQ(s->n_expects, 0);
	scenario_free(s);
}

static void test_device_and_workload_defaults(void)
{
	struct scenario *s =
	    parse_ok(MIN_DSA "[device n]\ntype = nic\n[device st]\n"
			     "type = storage\n[workload w]\ndevice = d\n"
			     "[workload x]\ndevice = n\n[workload y]\ndevice = st\n");
	const struct scenario_device *d;
	const struct scenario_workload *w;

	CHECK(s);
	CHECK_EQ(s->n_devices, 3);
	d = &s->devices[0];
	CHECK(!strcmp(d->name, "d"));
	CHECK_EQ(d->type, SCENARIO_DEV_DSA);
	CHECK_EQ(d->rid, PCI_RID(0, 1, 0));
	CHECK_EQ(d->pasid_bits, 20);
	CHECK(d->ats);
	CHECK_EQ(d->devtlb_entries, 64);
	CHECK_EQ(d->work_queues, 1);
	CHECK_EQ(d->wq_size, 32);
	CHECK_EQ(d->dma.page_table, SCENARIO_PT_FIRST);	    /* auto, the unit has first stage */
	CHECK_EQ(d->dma.kernel_pasid, SCENARIO_KPASID_TRY); /* auto on a DSA engine */
	d = &s->devices[1];
	CHECK_EQ(d->rid, PCI_RID(0, 2, 0));
	CHECK_EQ(d->pasid_bits, 0);
	CHECK(!d->ats);
	CHECK_EQ(d->rx_ring, 256);
	CHECK_EQ(d->tx_ring, 256);
	CHECK_EQ(d->dma.kernel_pasid, SCENARIO_KPASID_OFF);
	d = &s->devices[2];
	CHECK_EQ(d->queue_depth, 32);
	CHECK_EQ(d->max_segments, 128);
	w = &s->workloads[0];
	CHECK_EQ(w->device, 0);
	CHECK_EQ(w->op, SCENARIO_OP_MEMMOVE);
	CHECK_EQ(w->pasid, SCENARIO_WL_KERNEL); /* the device enables its kernel PASID */
	CHECK_EQ(w->size.min, 4096);
	CHECK_EQ(w->size.max, 4096);
	CHECK_EQ(w->segments, 1);
	CHECK_EQ(w->count, 1000);
	CHECK_EQ(w->threads, 1);
	CHECK_EQ(w->page_size, 4096);
	CHECK_EQ(w->map, SCENARIO_MAP_PER_OP);
	CHECK(w->verify);
	CHECK(w->seed != 0);
	CHECK(s->workloads[1].seed != w->seed);
	CHECK_EQ(s->workloads[1].op, SCENARIO_OP_RXTX);
	CHECK_EQ(s->workloads[1].size.min, 1500);
	CHECK_EQ(s->workloads[1].pasid, SCENARIO_WL_NO_PASID);
	CHECK_EQ(s->workloads[2].op, SCENARIO_OP_READ);
	CHECK_EQ(s->workloads[2].segments, 16);
	CHECK_EQ(s->n_phases, 1);
	CHECK_EQ(s->phases[0].n_run, 3);
	CHECK(!strcmp(s->phases[0].name, "main"));
	scenario_free(s);
}

static void test_one_device_needs_no_name(void)
{
	struct scenario *s = parse_ok(MIN_DSA "[workload w]\ncount = 5\n");

	CHECK(s);
	CHECK_EQ(s->workloads[0].device, 0);
	CHECK_EQ(s->workloads[0].count, 5);
	scenario_free(s);
}

static void test_seeds_are_stable(void)
{
	struct scenario *a = parse_ok("[scenario]\nseed = 9\n" MIN_DSA "[workload w]\n");
	struct scenario *b = parse_ok("[scenario]\nseed = 9\n" MIN_DSA "[workload w]\n");
	struct scenario *c = parse_ok("[scenario]\nseed = 10\n" MIN_DSA "[workload w]\n");

	CHECK(a && b && c);
	CHECK_EQ(a->workloads[0].seed, b->workloads[0].seed);
	CHECK(a->workloads[0].seed != c->workloads[0].seed);
	scenario_free(a);
	scenario_free(b);
	scenario_free(c);
}

static void test_no_ats_without_device_tlb(void)
{
	struct scenario *s = parse_ok("[iommu]\ndevice_tlb = no\n" MIN_DSA);

	CHECK(s);
	CHECK(!s->devices[0].ats); /* the default follows the unit */
	scenario_free(s);
}

/* ---- every construct ---------------------------------------------------------------------- */

static void test_scenario_section(void)
{
	struct scenario *s = parse_ok("[scenario]\nname = \"a \\\"b\\\" \\\\ c\\td\"\n"
				      "description = free text, with commas\nseed = 0xdead_beef\n"
				      "memory = 16G\ntimeout = 90s\n");

	CHECK(s);
	CHECK(!strcmp(s->name, "a \"b\" \\ c\td"));
	CHECK(!strcmp(s->description, "free text, with commas"));
	CHECK_EQ(s->seed, 0xdeadbeef);
	CHECK_EQ(s->memory, 16ull << 30);
	CHECK_EQ(s->timeout_ns, 90ull * 1000000000);
	scenario_free(s);
}

static void test_iommu_section(void)
{
	struct scenario *s = parse_ok(
	    "[iommu]\nmode = scalable\nfirst_stage = yes\nsecond_stage = off\nnested = no\n"
	    "pass_through = false\nfive_level = on\ncaching_mode = true\ndevice_tlb = 0\n"
	    "checker = no\nhaw = 52\nsagaw = 48, 57\npasid_bits = 16\nlarge_pages = none\n"
	    "fault_records = 256\ninv_queue_pages = 8\ncontext_cache_entries = 16\n"
	    "context_cache_ways = 16\npasid_cache_entries = 0\npasid_cache_ways = 1\n"
	    "iotlb_entries = 4096\niotlb_ways = 16\npwc_entries = 32\npwc_ways = 2\n");
	const struct scenario_iommu *io;

	CHECK(s);
	io = &s->iommu;
	CHECK(io->first_stage && !io->second_stage && !io->nested && !io->pass_through);
	CHECK(io->five_level && io->caching_mode && !io->device_tlb && !io->checker);
	CHECK_EQ(io->mgaw, 57); /* five_level makes 57 the default */
	CHECK_EQ(io->haw, 52);
	CHECK_EQ(io->sagaw, SCENARIO_SAGAW_48 | SCENARIO_SAGAW_57);
	CHECK_EQ(io->pasid_bits, 16);
	CHECK_EQ(io->large_pages, 0);
	CHECK_EQ(io->fault_records, 256);
	CHECK_EQ(io->inv_queue_pages, 8);
	CHECK_EQ(io->context_cache.entries, 16);
	CHECK_EQ(io->context_cache.ways, 16);
	CHECK_EQ(io->pasid_cache.entries, 0);
	CHECK_EQ(io->iotlb.entries, 4096);
	CHECK_EQ(io->iotlb.ways, 16);
	CHECK_EQ(io->pwc.entries, 32);
	CHECK_EQ(io->pwc.ways, 2);
	scenario_free(s);
}

static void test_legacy_defaults(void)
{
	struct scenario *s = parse_ok("[iommu]\nmode = legacy\n" MIN_DSA);

	CHECK(s);
	CHECK(!s->iommu.first_stage && s->iommu.second_stage);
	CHECK_EQ(s->iommu.pasid_bits, 0);
	CHECK_EQ(s->iommu.inv_queue_pages, 1); /* 256 descriptors of 128 bits */
	CHECK_EQ(s->devices[0].dma.page_table, SCENARIO_PT_SECOND);
	CHECK_EQ(s->devices[0].dma.kernel_pasid, SCENARIO_KPASID_TRY); /* a fallback, no error */
	scenario_free(s);
}

static void test_cache_ways_follow_entries(void)
{
	struct scenario *s = parse_ok("[iommu]\niotlb_entries = 6\ncontext_cache_entries = 2\n");

	CHECK(s);
	CHECK_EQ(s->iommu.iotlb.ways, 6); /* 8 ways do not fit: fully associative */
	CHECK_EQ(s->iommu.context_cache.ways, 2);
	scenario_free(s);
}

static void test_dma_global_and_override(void)
{
	struct scenario *s = parse_ok(
	    "[dma]\ndefault_domain = pass-through\ninvalidation = lazy\nflush_queue_size = 64\n"
	    "flush_timeout = 500us\nkernel_pasid = off\ndebug = yes\n"
	    "skip_invalidation = devtlb, context-cache\n" MIN_DSA
	    "[device e]\ntype = dsa\n[dma e]\ndefault_domain = identity\n"
	    "page_table = second\ninvalidation = strict\nkernel_pasid = on\n"
	    "skip_invalidation = none\n");
	const struct scenario_dma *a, *b;

	CHECK(s);
	CHECK_EQ(s->dma.kernel_pasid, SCENARIO_KPASID_OFF);
	a = &s->devices[0].dma;
	CHECK_EQ(a->default_domain, SCENARIO_DOMAIN_PASS_THROUGH);
	CHECK_EQ(a->page_table, SCENARIO_PT_FIRST);
	CHECK_EQ(a->invalidation, SCENARIO_INV_LAZY);
	CHECK_EQ(a->flush_queue_size, 64);
	CHECK_EQ(a->flush_timeout_ns, 500000);
	CHECK_EQ(a->kernel_pasid, SCENARIO_KPASID_OFF);
	CHECK(a->debug);
	CHECK_EQ(a->skip_invalidation, SCENARIO_SKIP_DEVTLB | SCENARIO_SKIP_CONTEXT_CACHE);
	b = &s->devices[1].dma;
	CHECK_EQ(b->default_domain, SCENARIO_DOMAIN_PASS_THROUGH);
	CHECK_EQ(b->page_table, SCENARIO_PT_SECOND);
	CHECK_EQ(b->invalidation, SCENARIO_INV_STRICT);
	CHECK_EQ(b->flush_queue_size, 64); /* not overridden: the global value */
	CHECK_EQ(b->kernel_pasid, SCENARIO_KPASID_ON);
	CHECK(b->debug);
	CHECK_EQ(b->skip_invalidation, 0);
	CHECK_EQ(s->workloads, s->workloads); /* (no workloads here) */
	scenario_free(s);
}

static void test_device_keys(void)
{
	struct scenario *s = parse_ok(
	    "[device d]\ntype = dsa\nrid = 0000:1a:1f.7\npasid_bits = 8\nats = no\n"
	    "work_queues = 8\nwq_size = 128\n[device n]\ntype = nic\nrid = 3:0.1\nats = yes\n"
	    "devtlb_entries = 1024\nrx_ring = 4096\ntx_ring = 16\n[device s]\ntype = storage\n"
	    "queue_depth = 1023\nmax_segments = 256\n");

	CHECK(s);
	CHECK_EQ(s->devices[0].rid, PCI_RID(0x1a, 0x1f, 7));
	CHECK_EQ(s->devices[0].pasid_bits, 8);
	CHECK(!s->devices[0].ats);
	CHECK_EQ(s->devices[0].work_queues, 8);
	CHECK_EQ(s->devices[0].wq_size, 128);
	CHECK_EQ(s->devices[1].rid, PCI_RID(3, 0, 1));
	CHECK(s->devices[1].ats);
	CHECK_EQ(s->devices[1].devtlb_entries, 1024);
	CHECK_EQ(s->devices[1].rx_ring, 4096);
	CHECK_EQ(s->devices[1].tx_ring, 16);
	CHECK_EQ(s->devices[2].rid, PCI_RID(0, 1, 0)); /* the first free one */
	CHECK_EQ(s->devices[2].queue_depth, 1023);
	CHECK_EQ(s->devices[2].max_segments, 256);
	scenario_free(s);
}

static void test_auto_rids_skip_taken(void)
{
	struct scenario *s = parse_ok("[device a]\ntype = nic\n[device b]\ntype = nic\n"
				      "rid = 00:01.0\n[device c]\ntype = nic\n");

	CHECK(s);
	CHECK_EQ(s->devices[0].rid, PCI_RID(0, 2, 0));
	CHECK_EQ(s->devices[1].rid, PCI_RID(0, 1, 0));
	CHECK_EQ(s->devices[2].rid, PCI_RID(0, 3, 0));
	scenario_free(s);
}

static void test_workload_keys(void)
{
	struct scenario *s = parse_ok(
	    "[device d]\ntype = dsa\n[device st]\ntype = storage\n[device n]\ntype = nic\n"
	    "[workload a]\ndevice = d\nop = crc\npasid = none\nsize = 1..1G\ncount = 10_000\n"
	    "threads = 64\npage_size = 2M\nmap = once\nverify = no\nseed = 42\n"
	    "[workload b]\ndevice = st\nop = mixed\nsegments = 100\nsize = 512..1M\n"
	    "page_size = 1G\n[workload c]\ndevice = n\nop = tx\nsize = 64..9K\n"
	    "[workload e]\ndevice = d\nop = fill\n[workload f]\ndevice = d\nop = compare\n");
	const struct scenario_workload *w;

	CHECK(s);
	w = &s->workloads[0];
	CHECK_EQ(w->op, SCENARIO_OP_CRC);
	CHECK_EQ(w->pasid, SCENARIO_WL_NO_PASID);
	CHECK_EQ(w->size.min, 1);
	CHECK_EQ(w->size.max, 1ull << 30);
	CHECK_EQ(w->count, 10000);
	CHECK_EQ(w->threads, 64);
	CHECK_EQ(w->page_size, 2ull << 20);
	CHECK_EQ(w->map, SCENARIO_MAP_ONCE);
	CHECK(!w->verify);
	CHECK_EQ(w->seed, 42);
	w = &s->workloads[1];
	CHECK_EQ(w->op, SCENARIO_OP_MIXED);
	CHECK_EQ(w->segments, 100);
	CHECK_EQ(w->size.min, 512);
	CHECK_EQ(w->size.max, 1u << 20);
	CHECK_EQ(w->page_size, 1ull << 30);
	CHECK_EQ(s->workloads[2].op, SCENARIO_OP_TX);
	CHECK_EQ(s->workloads[2].size.min, 64); /* NIC_PKT_MIN..NIC_PKT_MAX of traffic.h */
	CHECK_EQ(s->workloads[2].size.max, 9216);
	CHECK_EQ(s->workloads[3].op, SCENARIO_OP_FILL);
	CHECK_EQ(s->workloads[4].op, SCENARIO_OP_COMPARE);
	CHECK(!strcmp(scenario_op_name(SCENARIO_OP_COMPARE), "compare"));
	CHECK(!strcmp(scenario_op_name(SCENARIO_OP_RXTX), "rxtx"));
	CHECK(!strcmp(scenario_op_name(SCENARIO_OP_MIXED), "mixed"));
	scenario_free(s);
}

static void test_phases(void)
{
	struct scenario *s = parse_ok(
	    "[device d]\ntype = dsa\n[dma d]\nkernel_pasid = off\n[device e]\ntype = dsa\n"
	    "[workload w]\ndevice = d\npasid = kernel\n[workload x]\ndevice = e\n"
	    "[phase one]\nenable_pasid = d\nrun = w, x\n[phase two]\n"
	    "skip_invalidation = pasid-iotlb, pasid-devtlb\ndisable_pasid = d, e\nrun = w\n"
	    "wait = 20ms\n[phase three]\nenable_pasid = d\nwait = 1s\n");
	const struct scenario_phase *p;

	CHECK(s);
	CHECK_EQ(s->n_phases, 3);
	p = &s->phases[0];
	CHECK(!strcmp(p->name, "one") && !p->implicit);
	CHECK_EQ(p->n_enable_pasid, 1);
	CHECK_EQ(p->enable_pasid[0], 0);
	CHECK_EQ(p->n_run, 2);
	CHECK_EQ(p->run[0], 0);
	CHECK_EQ(p->run[1], 1);
	CHECK(!p->has_skip_invalidation);
	p = &s->phases[1];
	CHECK(p->has_skip_invalidation);
	CHECK_EQ(p->skip_invalidation, SCENARIO_SKIP_PASID_IOTLB | SCENARIO_SKIP_PASID_DEVTLB);
	CHECK_EQ(p->n_disable_pasid, 2);
	CHECK_EQ(p->disable_pasid[1], 1);
	CHECK_EQ(p->wait_ns, 20000000);
	p = &s->phases[2];
	CHECK_EQ(p->n_run, 0);
	CHECK_EQ(p->wait_ns, 1000000000);
	scenario_free(s);
}

static void test_expectations(void)
{
	struct scenario *s = parse_ok(
	    MIN_DSA "[workload w]\n[workload v]\n[phase p]\nrun = w, v\n[expect]\n"
		    "checker_findings = 0\nfaults(reason=spt.2, device=d, pasid=kernel) >= 3\n"
		    "faults(reason=0x45, pasid=0) != 1\nfaults(pasid=77) < 2\n"
		    "dma_ops(workload=w, device=d) <= 5\ndma_bytes(pasid=none) > 4K\n"
		    "invalidations(type=pasid-iotlb, granularity=page) >= 1\n"
		    "hit_rate(cache=devtlb, device=d) >= 99.5%\nhit_rate(cache=iotlb) == 9.05%\n"
		    "failed_ops == 0\nverified_ops(workload=v) == 1000\ndata_mismatches == 0\n"
		    "debug_findings(device=d) == 0\npasid_fallbacks == 0\n"
		    "checker_findings(cache=pasid-cache) == 0\n[expect p]\nfaults == 0\n");
	const struct scenario_expect *e;

	CHECK(s);
	CHECK_EQ(s->n_expects, 16);
	e = &s->expects[0];
	CHECK_EQ(e->metric, SCENARIO_M_CHECKER_FINDINGS);
	CHECK_EQ(e->cmp, SCENARIO_CMP_EQ);
	CHECK_EQ(e->phase, -1);
	CHECK_EQ(e->device, -1);
	CHECK_EQ(e->line, 8);
	CHECK(!strcmp(e->text, "checker_findings == 0"));
	e = &s->expects[1];
	CHECK_EQ(e->reason, 0x59);
	CHECK_EQ(e->device, 0);
	CHECK_EQ(e->pasid_sel, SCENARIO_PSEL_KERNEL);
	CHECK_EQ(e->cmp, SCENARIO_CMP_GE);
	CHECK_EQ(e->value, 3);
	CHECK(!strcmp(e->text, "faults(device=d, pasid=kernel, reason=SPT.2) >= 3"));
	e = &s->expects[2];
	CHECK_EQ(e->reason, 0x45);
	CHECK_EQ(e->pasid_sel, SCENARIO_PSEL_NONE); /* PASID 0 is RID_PASID: no PASID */
	CHECK_EQ(e->cmp, SCENARIO_CMP_NE);
	e = &s->expects[3];
	CHECK_EQ(e->pasid_sel, SCENARIO_PSEL_VALUE);
	CHECK_EQ(e->pasid, 77);
	CHECK_EQ(e->cmp, SCENARIO_CMP_LT);
	e = &s->expects[4];
	CHECK_EQ(e->workload, 0);
	CHECK_EQ(e->cmp, SCENARIO_CMP_LE);
	e = &s->expects[5];
	CHECK_EQ(e->metric, SCENARIO_M_DMA_BYTES);
	CHECK_EQ(e->value, 4096);
	CHECK_EQ(e->cmp, SCENARIO_CMP_GT);
	CHECK(!strcmp(e->text, "dma_bytes(pasid=none) > 4K"));
	e = &s->expects[6];
	CHECK_EQ(e->inv_type, SCENARIO_IT_PASID_IOTLB);
	CHECK_EQ(e->inv_gran, SCENARIO_IG_PAGE);
	e = &s->expects[7];
	CHECK_EQ(e->metric, SCENARIO_M_HIT_RATE);
	CHECK_EQ(e->cache, SCENARIO_CACHE_DEVTLB);
	CHECK_EQ(e->value, 9950);
	CHECK(!strcmp(e->text, "hit_rate(device=d, cache=devtlb) >= 99.5%"));
	CHECK_EQ(s->expects[8].value, 905);
	CHECK(!strcmp(s->expects[8].text, "hit_rate(cache=iotlb) == 9.05%"));
	CHECK_EQ(s->expects[10].workload, 1);
	CHECK_EQ(s->expects[14].cache, SCENARIO_CACHE_PASID);
	e = &s->expects[15];
	CHECK_EQ(e->phase, 0);
	CHECK_EQ(e->metric, SCENARIO_M_FAULTS);
	scenario_free(s);
}

static void test_expect_main_names_the_implicit_phase(void)
{
	struct scenario *s = parse_ok(MIN_DSA "[workload w]\n[expect main]\nfaults == 0\n");

	CHECK(s);
	CHECK_EQ(s->expects[0].phase, 0);
	CHECK(s->phases[0].implicit);
	scenario_free(s);
}

/* ---- values and lexical details ----------------------------------------------------------- */

static void test_sizes(void)
{
	static const struct {
		const char *text;
		uint64_t v;
	} ok[] = {
	    {"4096", 4096},
	    {"4K", 4096},
	    {"4k", 4096},
	    {"4KiB", 4096},
	    {"4kb", 4096},
	    {"0x1000", 4096},
	    {"1_024", 1024},
	    {"2M", 2u << 20},
	    {"1G", 1ull << 30},
	    {"1T", 1ull << 40},
	    {"0x10K", 16 << 10},
	    {"3b", 3},
	    {"16E", 0},
	    {"fourK", 0},
	    {"4 K", 0},
	    {"", 0},
	    {"K", 0},
	    {"_4K", 0},
	    {"0x", 0},
	    {"99999999999999999999", 0},
	    {"16777216T", 0},
	    {"16777215T", 16777215ull << 40},
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t v = 0;
		bool r = scn_parse_size(ok[i].text, strlen(ok[i].text), &v);

		if (r != (ok[i].v != 0) || (r && v != ok[i].v))
			fprintf(stderr, "size '%s'\n", ok[i].text);
		CHECK_EQ(r, ok[i].v != 0);
		if (r)
			CHECK_EQ(v, ok[i].v);
	}
}

static void test_value_formats_round_trip(void)
{
	char b[32];

	CHECK(!strcmp(scn_fmt_size(4096, b, sizeof(b)), "4K"));
	CHECK(!strcmp(scn_fmt_size(1500, b, sizeof(b)), "1500"));
	CHECK(!strcmp(scn_fmt_size(3ull << 40, b, sizeof(b)), "3T"));
	CHECK(!strcmp(scn_fmt_size(1ull << 50, b, sizeof(b)), "1024T"));
	CHECK(!strcmp(scn_fmt_size(0, b, sizeof(b)), "0"));
	CHECK(!strcmp(scn_fmt_duration(10000000, b, sizeof(b)), "10ms"));
	CHECK(!strcmp(scn_fmt_duration(1500, b, sizeof(b)), "1500ns"));
	CHECK(!strcmp(scn_fmt_duration(2000, b, sizeof(b)), "2us"));
	CHECK(!strcmp(scn_fmt_duration(3000000000ull, b, sizeof(b)), "3s"));
	CHECK(!strcmp(scn_fmt_percent(9950, b, sizeof(b)), "99.5%"));
	CHECK(!strcmp(scn_fmt_percent(1, b, sizeof(b)), "0.01%"));
	CHECK(!strcmp(scn_fmt_percent(10000, b, sizeof(b)), "100%"));
	CHECK(!strcmp(scn_fmt_rid(PCI_RID(0xab, 0x1f, 7), b, sizeof(b)), "ab:1f.7"));
}

static void test_durations_and_bools(void)
{
	struct scenario *s = parse_ok("[scenario]\ntimeout = 0\n[dma]\nflush_timeout = 1us\n"
				      "debug = TRUE\n");

	CHECK(s);
	CHECK_EQ(s->timeout_ns, 0);
	CHECK_EQ(s->dma.flush_timeout_ns, 1000);
	CHECK(s->dma.debug);
	scenario_free(s);
	s = parse_ok("[dma]\nflush_timeout = 10s\ndebug = Off\n");
	CHECK(s);
	CHECK_EQ(s->dma.flush_timeout_ns, 10000000000ull);
	CHECK(!s->dma.debug);
	scenario_free(s);
}

static void test_lexical_details(void)
{
	/* CRLF, tabs, comments everywhere, blank lines, a list continued over lines with
	 * comments between, no newline at the end. */
	struct scenario *s =
	    parse_ok("\t# comment\r\n\r\n  [ iommu ]  # trailing\r\n\tsagaw\t=\t39 ,\r\n"
		     "   # a comment inside the list\r\n\r\n  57\r\n[device d]\ntype = dsa # c\n"
		     "[workload w]\n[workload x]\n[phase p]\nrun = w,\n    x\n[expect]\nfaults==0");

	CHECK(s);
	CHECK_EQ(s->iommu.sagaw, SCENARIO_SAGAW_39 | SCENARIO_SAGAW_57);
	CHECK_EQ(s->phases[0].n_run, 2);
	CHECK_EQ(s->n_expects, 1);
	scenario_free(s);
}

static void test_not_nul_terminated(void)
{
	const char *text = "[device d]\ntype = dsa\n[workload w]\ncount = 12";
	size_t n = strlen(text);
	char *buf = malloc(n); /* exactly n bytes: ASan catches any read past them */
	struct scenario *s = NULL;

	CHECK(buf);
	memcpy(buf, text, n);
	CHECK_EQ(scenario_parse(buf, n, "b.scn", &s, NULL), 0);
	CHECK(s);
	CHECK_EQ(s->workloads[0].count, 12);
	scenario_free(s);
	/* Every prefix, read in exact-size buffers. */
	for (size_t k = 0; k < n; k++) {
		char *p = malloc(k ? k : 1);

		CHECK(p);
		memcpy(p, text, k);
		scenario_parse(p, k, "b.scn", &s, NULL);
		scenario_free(s);
		free(p);
	}
	free(buf);
}

/* A NUL byte anywhere makes the input binary: one error, without an excerpt, however many
 * control bytes and broken lines follow. */
static void test_binary_input(void)
{
	static const char text[] = "[device d]\ntype = d\0sa\n\x01\x02\n[[[\n\x1b[2J\n";
	struct scenario_diags d = {0};
	struct scenario *s = NULL;
	char *out;

	CHECK_EQ(scenario_parse(text, sizeof(text) - 1, "b.scn", &s, &d), -EINVAL);
	CHECK(!s);
	out = render(&d);
	CHECK(out);
	CHECK_EQ(d.errors, 1);
	CHECK(out && !strcmp(out, "b.scn: error: a NUL byte at line 2, column 9: this is not a "
				  "text file\n"));
	free(out);
	scenario_diags_free(&d);
	/* A lone NUL, and one at the very end of otherwise good text. */
	CHECK_EQ(scenario_parse("\0", 1, "b.scn", &s, &d), -EINVAL);
	CHECK(d.errors == 1 && strstr(d.list[0].message, "line 1, column 1"));
	scenario_diags_free(&d);
	CHECK_EQ(scenario_parse("[device d]\ntype = dsa\n\0", 23, "b.scn", &s, &d), -EINVAL);
	CHECK(d.errors == 1 && strstr(d.list[0].message, "line 3, column 1"));
	scenario_diags_free(&d);
}

static void test_fault_reason_table(void)
{
	CHECK_EQ(scenario_fault_reason_code("SPT.2"), 0x59);
	CHECK_EQ(scenario_fault_reason_code("sct.4.x"), 0x43);
	CHECK_EQ(scenario_fault_reason_code("LCT.5"), 0x0d);
	CHECK_EQ(scenario_fault_reason_code("SFL.10"), 0x91);
	CHECK_EQ(scenario_fault_reason_code("SFL.1"), 0x70);
	CHECK_EQ(scenario_fault_reason_code("XYZ.1"), 0);
	CHECK_EQ(scenario_fault_reason_code(""), 0);
	CHECK(!strcmp(scenario_fault_reason_name(0x87), "SGN.8"));
	CHECK(scenario_fault_reason_name(0x20) == NULL);
}

static void test_suggestions(void)
{
	static const char *const keys[] = {"pasid_bits", "ats", "devtlb_entries", "type"};

	CHECK_EQ(scn_distance("kitten", "sitting", 10), 3);
	CHECK_EQ(scn_distance("ab", "ba", 10), 1); /* a swap is one edit */
	CHECK_EQ(scn_distance("ABC", "abc", 10), 0);
	CHECK(!strcmp(scn_suggest("pasid_bit", keys, 4), "pasid_bits"));
	CHECK(!strcmp(scn_suggest("tpye", keys, 4), "type"));
	CHECK(!strcmp(scn_suggest("ast", keys, 4), "ats"));
	CHECK(scn_suggest("completely_else", keys, 4) == NULL);
	CHECK(scn_suggest("", keys, 4) == NULL);
}

/* ---- examples ----------------------------------------------------------------------------- */

static int check_round_trip(const struct scenario *s, const char *path)
{
	struct scenario *t = NULL;
	struct scenario_diags d = {0};
	char *a = print_to_string(s), *b = NULL;
	int ok = 0;

	if (a && scenario_parse_string(a, s->file, &t, &d) == 0)
		b = print_to_string(t);
	ok = a && b && !strcmp(a, b) && t->n_devices == s->n_devices &&
	     t->n_workloads == s->n_workloads && t->n_phases == s->n_phases &&
	     t->n_expects == s->n_expects;
	for (size_t i = 0; ok && i < s->n_devices; i++)
		ok = !memcmp(&s->devices[i].dma, &t->devices[i].dma, sizeof(s->devices[i].dma)) &&
		     s->devices[i].rid == t->devices[i].rid;
	for (size_t i = 0; ok && i < s->n_workloads; i++)
		ok = s->workloads[i].seed == t->workloads[i].seed &&
		     s->workloads[i].size.max == t->workloads[i].size.max;
	for (size_t i = 0; ok && i < s->n_expects; i++)
		ok = !strcmp(s->expects[i].text, t->expects[i].text) &&
		     s->expects[i].phase == t->expects[i].phase;
	if (!ok) {
		fprintf(stderr, "%s does not round-trip\n", path);
		scenario_diags_print(&d, stderr);
	}
	scenario_diags_free(&d);
	scenario_free(t);
	free(a);
	free(b);
	return ok;
}

static void test_examples_parse_and_round_trip(void)
{
	DIR *dir = opendir("examples/scenarios");
	struct dirent *de;
	int n = 0;

	CHECK(dir);
	while ((de = readdir(dir))) {
		char path[512];
		struct scenario_diags d = {0};
		struct scenario *s = NULL;
		size_t len = strlen(de->d_name);
		int ret;

		if (len < 5 || strcmp(de->d_name + len - 4, ".scn"))
			continue;
		snprintf(path, sizeof(path), "examples/scenarios/%s", de->d_name);
		ret = scenario_parse_file(path, &s, &d);
		if (ret || d.count) { /* no errors and no warnings either */
			fprintf(stderr, "%s:\n", path);
			scenario_diags_print(&d, stderr);
		}
		scenario_diags_free(&d);
		if (ret == 0 && s->n_expects == 0)
			fprintf(stderr, "%s expects nothing\n", path);
		if (ret || !s || d.count || s->n_expects == 0 || !check_round_trip(s, path)) {
			scenario_free(s);
			closedir(dir);
			CHECK(0);
		}
		scenario_free(s);
		n++;
	}
	closedir(dir);
	CHECK(n >= 5);
}

static void test_default_matches_example_file(void)
{
	size_t len;
	char *text = read_text("examples/scenarios/default.scn", &len);
	struct scenario *s;

	CHECK(text);
	if (strlen(scenario_default_text) != len || memcmp(text, scenario_default_text, len)) {
		free(text);
		fprintf(stderr, "tools/default_scenario.c is stale: run "
				"scripts/gen-default-scenario.sh\n");
		CHECK(0);
	}
	free(text);
	s = parse_ok(scenario_default_text);
	CHECK(s);
	CHECK_EQ(s->n_devices, 3);
	CHECK(s->iommu.checker);
	/* The seed's case: translated and pass-through, strict and lazy, with and without
	 * the kernel PASID. */
	bool pt = false, tr = false, strict = false, lazy = false, kp = false, nop = false;
	for (size_t i = 0; i < s->n_devices; i++) {
		pt |= s->devices[i].dma.default_domain == SCENARIO_DOMAIN_PASS_THROUGH;
		tr |= s->devices[i].dma.default_domain == SCENARIO_DOMAIN_TRANSLATED;
		strict |= s->devices[i].dma.invalidation == SCENARIO_INV_STRICT;
		lazy |= s->devices[i].dma.invalidation == SCENARIO_INV_LAZY;
	}
	for (size_t i = 0; i < s->n_workloads; i++) {
		kp |= s->workloads[i].pasid == SCENARIO_WL_KERNEL;
		nop |= s->workloads[i].pasid == SCENARIO_WL_NO_PASID;
	}
	scenario_free(s);
	CHECK(pt && tr && strict && lazy && kp && nop);
}

/* The ```ini block that follows `heading` in docs/scenarios.md, or NULL. */
static char *doc_block(const char *doc, const char *heading)
{
	const char *h = strstr(doc, heading), *b, *e;

	if (!h || !(b = strstr(h, "```ini\n")))
		return NULL;
	b += 7;
	e = strstr(b, "```\n");
	return e ? strndup(b, (size_t)(e - b)) : NULL;
}

static void test_docs_examples_parse(void)
{
	static const char *const headings[] = {"## A first scenario", "## A complete example"};
	size_t len;
	char *doc = read_text("docs/scenarios.md", &len);

	CHECK(doc);
	for (size_t i = 0; i < 2; i++) {
		char *text = doc_block(doc, headings[i]);
		struct scenario_diags d = {0};
		struct scenario *s = NULL;
		int ret = text ? scenario_parse_string(text, "doc.scn", &s, &d) : -1;
		bool bad = ret || d.count; /* not even a warning */

		if (bad) {
			fprintf(stderr, "docs/scenarios.md, %s:\n", headings[i]);
			scenario_diags_print(&d, stderr);
			free(doc);
		}
		scenario_diags_free(&d);
		scenario_free(s);
		free(text);
		CHECK(!bad);
	}
	free(doc);
}

/* ---- errors at their exact positions ------------------------------------------------------ */

static void test_error_syntax(void)
{
	CHECK(one_error("[iommu\n", 1, 7,
			"t.scn:1:7: error: expected ']' to close the section "
			"header, got the end of the line"));
	CHECK(one_error("[]\n", 1, 2,
			"t.scn:1:2: error: expected a section kind such as iommu, device or "
			"workload, got ']'"));
	CHECK(one_error("[device a b]\n", 1, 11,
			"t.scn:1:11: error: a section header holds a kind and at most one name, "
			"such as [device dsa0]"));
	CHECK(one_error("[iommu] x\n", 1, 9,
			"t.scn:1:9: error: unexpected text after the section header; a comment "
			"starts with '#'"));
	CHECK(one_error("seed = 1\n", 1, 1,
			"t.scn:1:1: error: 'seed' is outside any section: put it under a header "
			"such as [scenario]"));
	CHECK(one_error("[scenario]\nseed 1\n", 2, 6,
			"t.scn:2:6: error: expected '=' after 'seed', got '1'"));
	CHECK(one_error("[scenario]\nseed =\n", 2, 7,
			"t.scn:2:7: error: 'seed' has no value: write seed = VALUE"));
	CHECK(one_error("[scenario]\n  = 4\n", 2, 3,
			"t.scn:2:3: error: expected a key (such as size = 4K) or a section header "
			"(such as [iommu]), got '='"));
	CHECK(one_error("[scenario]\nname = \"abc\n", 2, 8,
			"t.scn:2:8: error: unterminated string: add a closing '\"' on this line"));
	CHECK(
	    one_error("[scenario]\nname = \"a\\qb\"\n", 2, 10,
		      "t.scn:2:10: error: unknown escape '\\q' in a string; use \\\", \\\\, \\n or "
		      "\\t"));
	CHECK(one_error("[scenario]\nname = \"a\" b\n", 2, 12,
			"t.scn:2:12: error: expected ',' or the end of the line after a string, "
			"got 'b'"));
	CHECK(one_error("[iommu]\nsagaw = 39,,48\n", 2, 12,
			"t.scn:2:12: error: empty item in a list: remove the extra ','"));
	CHECK(one_error("[iommu]\nsagaw = 39,\n", 2, 11,
			"t.scn:2:11: error: the value ends with ',' but no item follows"));
	CHECK(one_error("[iommu]\nsagaw = 39,\n[dma]\n", 2, 11,
			"t.scn:2:11: error: the value ends with ',' but no item follows"));
	CHECK(one_error("[scenario]\nseed = 1\x01\n", 2, 9,
			"t.scn:2:9: error: unexpected control character '\\x01'; a scenario is "
			"text"));
	CHECK(one_error("[scenario]\nseed >= 1\n", 2, 6,
			"t.scn:2:6: error: '>=' compares, which only [expect] lines do; write seed "
			"= VALUE"));
	CHECK(one_error("[scenario]\nseed(device=x) = 1\n", 2, 5,
			"t.scn:2:5: error: selectors such as (device=dsa0) only follow a metric in "
			"an [expect] section"));
	CHECK(one_error("[expect]\nfaults(device=a == 1\n", 2, 17,
			"t.scn:2:17: error: expected ',' or ')' in the selector list, got '='"));
	CHECK(one_error("[expect]\nfaults(device= ) == 1\n", 2, 16,
			"t.scn:2:16: error: selector 'device' has no value, got ')'"));
	CHECK(one_error("[expect]\nfaults(device\n", 2, 14,
			"t.scn:2:14: error: expected '=' after selector 'device', got the end of "
			"the line"));
}

static void test_error_keys_and_sections(void)
{
	CHECK(one_error("[iommu]\npasid_bit = 20\n", 2, 1,
			"t.scn:2:1: error: unknown key 'pasid_bit' in [iommu]; did you mean "
			"'pasid_bits'?"));
	CHECK(one_error("[iommu]\nzzzzzz = 20\n", 2, 1,
			"t.scn:2:1: error: unknown key 'zzzzzz' in [iommu]"));
	CHECK(
	    one_error("[device d]\ntype = dsa\nkernel_pasid = on\n", 3, 1,
		      "t.scn:3:1: error: 'kernel_pasid' is not a key of [device d]: it belongs in "
		      "[dma] (or [dma DEVICE] for one device)"));
	CHECK(one_error("[iommu]\nchecker = no\nchecker = yes\n", 3, 1,
			"t.scn:3:1: error: duplicate key 'checker' in [iommu]"));
	CHECK(has_error("[iommu]\nchecker = maybe\nchecker = yes\n", 3, 1, "duplicate key"));
	CHECK(one_error("[iommu]\n[iommu]\n", 2, 1, "t.scn:2:1: error: duplicate section [iommu]"));
	CHECK(one_error("[device a]\ntype = nic\n[device a]\ntype = nic\n", 3, 1,
			"t.scn:3:1: error: duplicate section [device a]"));
	CHECK(one_error("[device]\n", 1, 1,
			"t.scn:1:1: error: [device] needs a name, such as [device dsa0]"));
	CHECK(one_error("[iommu x]\n", 1, 8, "t.scn:1:8: error: [iommu] takes no name"));
	CHECK(one_error("[workloads w]\n", 1, 2,
			"t.scn:1:2: error: unknown section [workloads]; did you mean [workload]?"));
	CHECK(one_error("[zzzz]\n", 1, 2,
			"t.scn:1:2: error: unknown section [zzzz]: sections are scenario, iommu, "
			"dma, device, workload, phase and expect"));
	CHECK(
	    one_error("[device d]\n", 1, 1,
		      "t.scn:1:1: error: device 'd' has no type: add type = dsa, nic or storage"));
	CHECK(
	    one_error("[device d]\ntype = dsa\nrx_ring = 64\n", 3, 1,
		      "t.scn:3:1: error: 'rx_ring' applies to nic devices, not to dsa device 'd'"));
	CHECK(
	    one_error(MIN_DSA "[workload w]\nsegments = 2\n", 4, 1,
		      "t.scn:4:1: error: 'segments' applies to workloads on storage devices; this "
		      "one runs on dsa device 'd'"));
	CHECK(one_error("[device n]\ntype = nic\n[workload w]\npasid = kernel\n", 4, 1,
			"t.scn:4:1: error: 'pasid' applies to workloads on dsa devices; this one "
			"runs on nic device 'n'"));
	CHECK(one_error("[device d]\ntype = dsa\n[expect]\nfaults == 0\n[expect]\n", 5, 1,
			"t.scn:5:1: error: duplicate section [expect]"));
}

static void test_error_values(void)
{
	CHECK(one_error(MIN_DSA "[workload w]\nsize = fourK\n", 4, 8,
			"t.scn:4:8: error: expected a size such as 4K or 2M for 'size', got "
			"'fourK'"));
	CHECK(one_error(MIN_DSA "[workload w]\nsize = 4X\n", 4, 8,
			"t.scn:4:8: error: unknown size unit 'X' in '4X': use K, M, G or T (powers "
			"of 1024), or none for bytes"));
	CHECK(one_error(MIN_DSA "[workload w]\nsize = 2G\n", 4, 8,
			"t.scn:4:8: error: '2G' is out of range for 'size' (1 to 1G)"));
	CHECK(one_error(MIN_DSA "[workload w]\nsize = 64K..4K\n", 4, 8,
			"t.scn:4:8: error: the range '64K..4K' is reversed: write 4K..64K"));
	CHECK(one_error(MIN_DSA "[workload w]\nsize = 4K..x\n", 4, 12,
			"t.scn:4:12: error: expected a size such as 4K or 2M for 'size', got 'x'"));
	CHECK(one_error(MIN_DSA "[workload w]\nsize = ..4K\n", 4, 8,
			"t.scn:4:8: error: expected a range such as 64..1500 for 'size', got "
			"'..4K'"));
	CHECK(one_error(
	    MIN_DSA "[workload w]\ncount = 10K\n", 4, 9,
	    "t.scn:4:9: error: expected a whole number for 'count', got '10K' (only sizes "
	    "take K, M, G suffixes; write 1_000_000 for a million)"));
	CHECK(one_error(MIN_DSA "[workload w]\ncount = 0\n", 4, 9,
			"t.scn:4:9: error: '0' is out of range for 'count' (1 to 1000000000000)"));
	CHECK(one_error(
	    "[scenario]\nseed = 99999999999999999999999\n", 2, 8,
	    "t.scn:2:8: error: '99999999999999999999999' is too large for 'seed' (at most "
	    "18446744073709551615)"));
	CHECK(
	    one_error("[scenario]\nmemory = 99999999999T\n", 2, 10,
		      "t.scn:2:10: error: '99999999999T' is too large for 'memory' (at most 1T)"));
	CHECK(one_error("[iommu]\npasid_bits = 25\n", 2, 14,
			"t.scn:2:14: error: '25' is out of range for 'pasid_bits' (0 to 20)"));
	CHECK(one_error(
	    "[iommu]\nchecker = maybe\n", 2, 11,
	    "t.scn:2:11: error: expected yes or no (or on/off, true/false), got 'maybe'"));
	CHECK(one_error("[iommu]\nmode = scalabel\n", 2, 8,
			"t.scn:2:8: error: expected scalable or legacy for 'mode', got 'scalabel'; "
			"did you mean 'scalable'?"));
	CHECK(
	    one_error("[dma]\nflush_timeout = 10\n", 2, 17,
		      "t.scn:2:17: error: '10' needs a unit: ns, us, ms or s (for example 10ms)"));
	CHECK(one_error("[dma]\nflush_timeout = 10min\n", 2, 17,
			"t.scn:2:17: error: expected a duration such as 10ms or 2s for "
			"'flush_timeout', got '10min' (units: ns, us, ms, s)"));
	CHECK(
	    one_error("[dma]\nflush_timeout = 11s\n", 2, 17,
		      "t.scn:2:17: error: '11s' is out of range for 'flush_timeout' (1us to 10s)"));
	CHECK(
	    one_error("[dma]\nflush_timeout = 99999999999999999999s\n", 2, 17,
		      "t.scn:2:17: error: '99999999999999999999s' is too large for 'flush_timeout' "
		      "(at most 10s)"));
	CHECK(one_error("[dma]\nflush_timeout = 99999999999999s\n", 2, 17,
			"t.scn:2:17: error: '99999999999999s' is too large for 'flush_timeout' (at "
			"most 10s)"));
	CHECK(one_error("[device d]\ntype = dsa\nrid = 00:04\n", 3, 7,
			"t.scn:3:7: error: expected a requester ID bus:device.function such as "
			"00:04.0, got '00:04'"));
	CHECK(
	    one_error("[device d]\ntype = dsa\nrid = 00:20.0\n", 3, 7,
		      "t.scn:3:7: error: '00:20.0' is out of range: bus is 00 to ff, device 00 to "
		      "1f, function 0 to 7"));
	CHECK(one_error("[device d]\ntype = dsa\nrid = 0001:00:01.0\n", 3, 7,
			"t.scn:3:7: error: PCI segment 0001 in '0001:00:01.0' is not supported: "
			"there is one segment, 0000"));
	CHECK(
	    one_error("[device d]\ntype = dsa\nrid = 100:00.0\n", 3, 7,
		      "t.scn:3:7: error: '100:00.0' is out of range: bus is 00 to ff, device 00 to "
		      "1f, function 0 to 7"));
	CHECK(
	    one_error("[iommu]\nsagaw = 39, 40\n", 2, 13,
		      "t.scn:2:13: error: expected 39, 48 or 57 for 'sagaw' (widths in bits), got "
		      "'40'"));
	CHECK(one_error("[dma]\nskip_invalidation = none, iotlb\n", 2, 21,
			"t.scn:2:21: error: 'none' cannot be combined with other values"));
	CHECK(one_error(
	    "[dma]\nskip_invalidation = pasid-iotbl\n", 2, 21,
	    "t.scn:2:21: error: expected none, iotlb, devtlb, pasid-iotlb, pasid-devtlb, "
	    "pasid-cache or context-cache for 'skip_invalidation', got 'pasid-iotbl'; did "
	    "you mean 'pasid-iotlb'?"));
	CHECK(one_error("[iommu]\nmgaw = 48, 57\n", 2, 12,
			"t.scn:2:12: error: 'mgaw' takes one value, not a list"));
	CHECK(one_error(MIN_DSA "[workload w]\nop = memcopy\n", 4, 6,
			"t.scn:4:6: error: expected memmove, fill, compare or crc for 'op' on this "
			"device, got 'memcopy'; did you mean 'memmove'?"));
	CHECK(one_error(MIN_DSA "[workload w]\npage_size = 8K\n", 4, 13,
			"t.scn:4:13: error: 'page_size' is 4K, 2M or 1G (the x86 page sizes)"));
	CHECK(one_error("[scenario]\nname = \"a\", \"b\"\n", 2, 8,
			"t.scn:2:8: error: 'name' takes one string: quote all of it, commas "
			"included"));
	{
		char *long_name = malloc(1100);

		CHECK(long_name);
		memcpy(long_name, "[scenario]\nname = \"", 19);
		memset(long_name + 19, 'x', 1025);
		memcpy(long_name + 19 + 1025, "\"\n", 3);
		if (!one_error(long_name, 2, 8,
			       "t.scn:2:8: error: 'name' is longer than 1024 characters")) {
			free(long_name);
			CHECK(0);
		}
		free(long_name);
	}
	CHECK(one_error("[scenario]\ndescription = a,\n b\n", 3, 2,
			"t.scn:3:2: error: 'description' does not continue over lines: quote it, "
			"commas included"));
	CHECK(one_error("[device d%d]\ntype = dsa\n", 1, 10,
			"t.scn:1:10: error: expected ']' to close the section header, got '%'"));
}

static void test_error_references(void)
{
	CHECK(one_error(MIN_DSA "[device e]\ntype = dsa\n[workload w]\ndevice = dsb\n", 6, 10,
			"t.scn:6:10: error: unknown device 'dsb'"));
	CHECK(one_error("[device dsa0]\ntype = dsa\n[device dsa1]\ntype = dsa\n[workload w]\n"
			"device = dsa2\n",
			6, 10, "t.scn:6:10: error: unknown device 'dsa2'; did you mean 'dsa0'?"));
	CHECK(one_error("[workload w]\ndevice = x\n", 2, 10,
			"t.scn:2:10: error: unknown device 'x': no [device] section defines one"));
	CHECK(one_error(MIN_DSA "[device e]\ntype = dsa\n[workload w]\n", 5, 1,
			"t.scn:5:1: error: workload 'w' names no device: add device = NAME"));
	CHECK(one_error(MIN_DSA "[dma e]\ninvalidation = lazy\n", 3, 6,
			"t.scn:3:6: error: unknown device 'e'"));
	CHECK(one_error(MIN_DSA "[workload w]\n[phase p]\nrun = w, v\n", 5, 10,
			"t.scn:5:10: error: unknown workload 'v'"));
	CHECK(one_error(MIN_DSA "[workload copy]\n[workload fill]\n[phase p]\n"
				"run = copy, fil\n",
			6, 13, "t.scn:6:13: error: unknown workload 'fil'; did you mean 'fill'?"));
	CHECK(one_error(MIN_DSA "[workload w]\n[phase p]\nrun = w, w\n", 5, 10,
			"t.scn:5:10: error: workload 'w' is listed twice"));
	CHECK(one_error(MIN_DSA "[workload w]\n[phase warmup]\nrun = w\n[phase after]\n"
				"wait = 1s\n[expect aftr]\n",
			8, 9, "t.scn:8:9: error: unknown phase 'aftr'; did you mean 'after'?"));
	CHECK(one_error(MIN_DSA "[workload w]\n[phase p]\nrun = w\n[expect q]\n", 6, 9,
			"t.scn:6:9: error: unknown phase 'q'"));
	CHECK(
	    one_error(MIN_DSA "[workload w]\n[workload v]\n[phase p]\nrun = w\n", 4, 1,
		      "t.scn:4:1: error: workload 'v' is not run by any phase: add it to a phase's "
		      "run list"));
	CHECK(one_error(MIN_DSA "[phase p]\n", 3, 1,
			"t.scn:3:1: error: phase 'p' does nothing: add run = WORKLOAD (or "
			"enable_pasid, disable_pasid, skip_invalidation, wait)"));
}

static void test_error_capabilities(void)
{
	CHECK(one_error("[iommu]\nmode = legacy\nfirst_stage = yes\n", 3, 15,
			"t.scn:3:15: error: first_stage = yes needs mode = scalable: a legacy-mode "
			"unit translates with second-stage tables only"));
	CHECK(one_error("[iommu]\nmode = legacy\npasid_bits = 20\n", 3, 14,
			"t.scn:3:14: error: legacy mode has no PASID support (a request with PASID "
			"faults with RTA.2): leave pasid_bits out or set mode = scalable"));
	CHECK(one_error("[iommu]\nmode = legacy\nsecond_stage = no\n", 3, 16,
			"t.scn:3:16: error: second_stage = no is not possible in legacy mode: its "
			"context entries always point to second-stage tables"));
	CHECK(
	    has_error("[iommu]\nmode = legacy\nnested = yes\n", 3, 10, "nested = yes needs mode"));
	CHECK(
	    one_error("[iommu]\nnested = yes\nsecond_stage = no\n", 2, 10,
		      "t.scn:2:10: error: nested = yes needs first_stage = yes and second_stage = "
		      "yes"));
	CHECK(
	    one_error("[iommu]\nfive_level = yes\nfirst_stage = no\n", 2, 14,
		      "t.scn:2:14: error: five_level = yes is first-stage 5-level paging: it needs "
		      "first_stage = yes"));
	CHECK(one_error("[iommu]\nfive_level = yes\nmgaw = 48\n", 3, 8,
			"t.scn:3:8: error: five_level = yes needs mgaw = 57 or more (it is 48)"));
	CHECK(
	    one_error("[iommu]\nfirst_stage = no\nsecond_stage = no\npass_through = no\n", 4, 16,
		      "t.scn:4:16: error: this unit can neither translate nor pass through: enable "
		      "first_stage, second_stage or pass_through"));
	CHECK(one_error("[iommu]\ninv_queue_pages = 3\n", 2, 19,
			"t.scn:2:19: error: inv_queue_pages must be a power of two (the queue is "
			"2^QS pages, IQA.QS)"));
	CHECK(one_error(
	    "[iommu]\niotlb_entries = 100\niotlb_ways = 8\n", 3, 14,
	    "t.scn:3:14: error: the IOTLB has 100 entries in 8 ways: the ways must divide "
	    "the entries"));
	CHECK(one_error("[scenario]\nmemory = 1T\n[iommu]\nhaw = 39\n", 2, 10,
			"t.scn:2:10: error: memory exceeds what a 39-bit host address width can "
			"reach"));
	CHECK(one_error(
	    "[iommu]\ndevice_tlb = no\n" MIN_DSA "ats = yes\n", 5, 7,
	    "t.scn:5:7: error: ats = yes needs device_tlb = yes in [iommu] (ECAP.DT): the "
	    "unit cannot invalidate a device TLB"));
	CHECK(one_error("[iommu]\npass_through = no\n" MIN_DSA "[dma d]\ndefault_domain = "
			"pass-through\n",
			6, 18,
			"t.scn:6:18: error: default_domain = pass-through for device 'd' needs "
			"pass_through = yes in [iommu] (ECAP.PT)"));
	CHECK(one_error("[iommu]\nfirst_stage = no\n[dma]\npage_table = first-stage\n" MIN_DSA, 4,
			14,
			"t.scn:4:14: error: page_table = first-stage for device 'd' needs "
			"first_stage = yes in [iommu]"));
	CHECK(one_error("[iommu]\nmode = legacy\n" MIN_DSA "[dma d]\npage_table = first\n", 6, 14,
			"t.scn:6:14: error: page_table = first-stage for device 'd' needs mode = "
			"scalable in [iommu]"));
	CHECK(one_error("[iommu]\nsecond_stage = no\n" MIN_DSA "[dma d]\npage_table = second\n", 6,
			14,
			"t.scn:6:14: error: page_table = second-stage for device 'd' needs "
			"second_stage = yes in [iommu]"));
	CHECK(one_error("[iommu]\nfirst_stage = no\nsecond_stage = no\n" MIN_DSA, 4, 1,
			"t.scn:4:1: error: device 'd' needs page tables, but the unit has neither "
			"first_stage nor second_stage"));
	CHECK(one_error(MIN_DSA "[device s]\ntype = storage\nmax_segments = 8\n[workload w]\n"
				"device = s\nsegments = 9\n",
			8, 12,
			"t.scn:8:12: error: 9 segments per request exceed device 's's max_segments "
			"(8)"));
}

/* What the NIC and storage drivers can do (traffic.h) bounds their devices and workloads. */
static void test_error_traffic_drivers(void)
{
	CHECK(one_error("[device n]\ntype = nic\nrx_ring = 100\n", 3, 11,
			"t.scn:3:11: error: rx_ring must be a power of two (the NIC's ring index "
			"wraps)"));
	CHECK(one_error("[device n]\ntype = nic\ntx_ring = 8192\n", 3, 11,
			"t.scn:3:11: error: '8192' is out of range for 'tx_ring' (16 to 4096)"));
	CHECK(one_error("[device s]\ntype = storage\nqueue_depth = 1024\n", 3, 15,
			"t.scn:3:15: error: '1024' is out of range for 'queue_depth' (1 to 1023)"));
	CHECK(one_error("[device s]\ntype = storage\n[workload w]\nsegments = 257\n", 4, 12,
			"t.scn:4:12: error: '257' is out of range for 'segments' (1 to 256)"));
	CHECK(one_error("[device n]\ntype = nic\n[workload w]\nsize = 14..1500\n", 4, 8,
			"t.scn:4:8: error: '14' is out of range for 'size' (64 to 9K)"));
	CHECK(one_error("[device n]\ntype = nic\n[workload w]\nmap = once\n", 4, 7,
			"t.scn:4:7: error: map = once is for DSA workloads: the NIC driver maps "
			"every packet itself (dma_map_single) and unmaps it when the device is "
			"done"));
	CHECK(one_error("[device s]\ntype = storage\n[workload w]\nmap = once\n", 4, 7,
			"t.scn:4:7: error: map = once is for DSA workloads: the storage driver "
			"maps every request itself (dma_map_sg) and unmaps it when the device is "
			"done"));
	/* One workload per NIC and phase: the implicit phase points at the second one. */
	CHECK(one_error("[device n]\ntype = nic\n[workload a]\n[workload b]\n", 4, 1,
			"t.scn:4:1: error: workloads 'a' and 'b' both run on NIC 'n' in phase "
			"'main': its driver has one pair of rings, so their packets could not be "
			"told apart; run them in different phases"));
	CHECK(
	    one_error("[device n]\ntype = nic\n[workload a]\n[workload b]\n[phase p]\n"
		      "run = a, b\n[phase q]\nrun = b\n",
		      6, 10,
		      "t.scn:6:10: error: workloads 'a' and 'b' both run on NIC 'n' in phase 'p': "
		      "its driver has one pair of rings, so their packets could not be told "
		      "apart; run them in different phases"));
	/* Storage workloads share a controller: each has its own blocks of the medium. */
	{
		struct scenario *s = parse_ok("[device s]\ntype = storage\n[workload a]\n"
					      "[workload b]\n");

		CHECK(s);
		scenario_free(s);
	}
}

/* The kernel-PASID rule: on must be able to succeed; try accepts the fallback. */
static void test_error_kernel_pasid(void)
{
	struct scenario *s;

	CHECK(one_error("[device n]\ntype = nic\n[dma n]\nkernel_pasid = on\n", 4, 16,
			"t.scn:4:16: error: kernel_pasid = on cannot succeed on device 'n': the "
			"device has no PASID capability (pasid_bits = 0); write kernel_pasid = try "
			"if the fallback to DMA without PASID is what the scenario shows"));
	CHECK(
	    one_error("[iommu]\nmode = legacy\n[dma]\nkernel_pasid = on\n" MIN_DSA, 4, 16,
		      "t.scn:4:16: error: kernel_pasid = on cannot succeed on device 'd': the unit "
		      "is in legacy mode; write kernel_pasid = try if the fallback to DMA without "
		      "PASID is what the scenario shows"));
	CHECK(has_error("[iommu]\npasid_bits = 0\n" MIN_DSA "[dma d]\nkernel_pasid = on\n", 6, 16,
			"the unit has no PASID support"));
	s = parse_ok("[iommu]\nmode = legacy\n" MIN_DSA "[dma d]\nkernel_pasid = try\n"
		     "[workload w]\npasid = kernel\n");
	CHECK(s);
	CHECK_EQ(s->workloads[0].pasid, SCENARIO_WL_KERNEL);
	scenario_free(s);
	s = parse_ok("[device n]\ntype = nic\n[dma n]\nkernel_pasid = try\n");
	CHECK(s);
	scenario_free(s);
	/* A kernel-PASID workload needs a PASID that exists (or existed) at that point. */
	CHECK(one_error(
	    MIN_DSA "[dma d]\nkernel_pasid = off\n[workload w]\npasid = kernel\n", 6, 9,
	    "t.scn:6:9: error: workload 'w' uses the kernel PASID, but device 'd' has none "
	    "in phase 'main': set kernel_pasid = on or try in [dma d], or enable_pasid in "
	    "an earlier phase"));
	s = parse_ok(MIN_DSA "[dma d]\nkernel_pasid = off\n[workload w]\npasid = kernel\n"
			     "[phase a]\nenable_pasid = d\n[phase b]\nrun = w\n[phase c]\n"
			     "disable_pasid = d\nrun = w\n");
	CHECK(s); /* after disable the stale PASID is used: faults are the point */
	scenario_free(s);
	CHECK(one_error(MIN_DSA "[dma d]\nkernel_pasid = off\n[workload w]\n[phase a]\n"
				"disable_pasid = d\nrun = w\n",
			7, 17,
			"t.scn:7:17: error: the kernel PASID of device 'd' is not enabled at this "
			"point"));
	CHECK(
	    one_error(MIN_DSA "[workload w]\n[phase a]\nenable_pasid = d\nrun = w\n", 5, 16,
		      "t.scn:5:16: error: the kernel PASID of device 'd' is already enabled here"));
	CHECK(one_error(
	    "[device n]\ntype = nic\n[workload w]\n[phase a]\nenable_pasid = n\n"
	    "run = w\n",
	    5, 16,
	    "t.scn:5:16: error: enable_pasid cannot succeed on device 'n': the device has "
	    "no PASID capability (pasid_bits = 0) (set kernel_pasid = try in [dma n] if "
	    "the fallback is expected)"));
}

static void test_error_expectations(void)
{
	CHECK(one_error(MIN_DSA "[expect]\nfalts == 0\n", 4, 1,
			"t.scn:4:1: error: expected checker_findings, faults, dma_ops, dma_bytes, "
			"failed_ops, verified_ops, data_mismatches, invalidations, hit_rate, "
			"debug_findings or pasid_fallbacks for a metric, got 'falts'; did you mean "
			"'faults'?"));
	CHECK(
	    one_error(MIN_DSA "[expect]\nfaults(cache=iotlb) == 0\n", 4, 8,
		      "t.scn:4:8: error: faults takes no selector 'cache' (it takes device, pasid, "
		      "reason)"));
	CHECK(
	    one_error(MIN_DSA "[expect]\nfaults(devce=d) == 0\n", 4, 8,
		      "t.scn:4:8: error: faults takes no selector 'devce'; did you mean 'device'? "
		      "(it takes device, pasid, reason)"));
	CHECK(one_error(MIN_DSA "[expect]\nfaults(device=d, device=d) == 0\n", 4, 18,
			"t.scn:4:18: error: selector 'device' is given twice"));
	CHECK(one_error(MIN_DSA "[expect]\nfaults(reason=SPT2) == 0\n", 4, 15,
			"t.scn:4:15: error: unknown fault reason 'SPT2'; did you mean 'SPT.2'?"));
	CHECK(one_error(MIN_DSA "[expect]\nfaults(reason=0x100) == 0\n", 4, 15,
			"t.scn:4:15: error: a fault reason code is 0x01 to 0xff, got '0x100'"));
	CHECK(one_error(MIN_DSA "[expect]\nfaults(pasid=big) == 0\n", 4, 14,
			"t.scn:4:14: error: expected none, kernel or a PASID (0 to 0xfffff), got "
			"'big'"));
	CHECK(one_error(MIN_DSA "[expect]\nhit_rate(cache=iotlb) >= 95\n", 4, 26,
			"t.scn:4:26: error: expected a percentage such as 95% or 99.5%, got '95'"));
	CHECK(one_error(MIN_DSA "[expect]\nhit_rate(cache=iotlb) >= 100.5%\n", 4, 26,
			"t.scn:4:26: error: '100.5%' is out of range for a hit rate (0% to 100%)"));
	CHECK(one_error(MIN_DSA "[expect]\nhit_rate(cache=iotlb) >= 99.555%\n", 4, 26,
			"t.scn:4:26: error: expected a percentage such as 95% or 99.5%, got "
			"'99.555%'"));
	CHECK(one_error(MIN_DSA "[expect]\nhit_rate >= 95%\n", 4, 1,
			"t.scn:4:1: error: hit_rate needs a cache, such as hit_rate(cache=iotlb)"));
	CHECK(one_error(MIN_DSA "[expect]\nhit_rate(cache=iotlb, device=d) >= 95%\n", 4, 1,
			"t.scn:4:1: error: hit_rate(device=...) is for the device TLB: add "
			"cache=devtlb, or drop the device"));
	CHECK(one_error(MIN_DSA "[expect]\nfaults == 0\nfaults = 0\n", 5, 1,
			"t.scn:5:1: error: duplicate expectation"));
	CHECK(one_error(MIN_DSA "[device e]\ntype = dsa\n[workload w]\ndevice = d\n[expect]\n"
				"dma_ops(device=e, workload=w) == 0\n",
			8, 1, "t.scn:8:1: error: workload 'w' runs on device 'd', not on 'e'"));
	CHECK(one_error(MIN_DSA "[expect]\nfaults == 1, 2\n", 4, 14,
			"t.scn:4:14: error: an expectation compares with one value, not a list"));
	CHECK(one_error(MIN_DSA "[expect]\ncache(x=1) == 0\n", 4, 1,
			"t.scn:4:1: error: expected checker_findings, faults, dma_ops, dma_bytes, "
			"failed_ops, verified_ops, data_mismatches, invalidations, hit_rate, "
			"debug_findings or pasid_fallbacks for a metric, got 'cache'"));
}

static void test_warnings_do_not_fail(void)
{
	struct scenario_diags d = {0};
	struct scenario *s = NULL;
	char *out;

	CHECK_EQ(scenario_parse_string("[device n]\ntype = nic\ndevtlb_entries = 8\n[workload w]\n"
				       "threads = 4\ncount = 2\n",
				       "t.scn", &s, &d),
		 0);
	CHECK(s);
	scenario_free(s);
	CHECK_EQ(d.errors, 0);
	CHECK_EQ(d.count, 2);
	out = render(&d);
	CHECK(out);
	CHECK(strstr(out, "t.scn:3:18: warning: devtlb_entries has no effect: device 'n' does not "
			  "use ATS\n"));
	CHECK(strstr(out, "t.scn:5:11: warning: 4 threads share 2 operations"));
	free(out);
	scenario_diags_free(&d);
	/* Expectations that cannot count anything. */
	CHECK_EQ(scenario_parse_string("[iommu]\nmode = legacy\n[device n]\ntype = nic\n[expect]\n"
				       "faults(device=n, pasid=kernel) == 0\n"
				       "checker_findings(cache=pasid-cache) == 0\n",
				       "t.scn", &s, &d),
		 0);
	scenario_free(s);
	CHECK_EQ(d.count, 2);
	CHECK_EQ(d.list[0].line, 6);
	CHECK(strstr(d.list[0].message, "device 'n' never has a kernel PASID"));
	CHECK_EQ(d.list[1].line, 7);
	CHECK(strstr(d.list[1].message, "a legacy-mode unit has no PASID cache"));
	scenario_diags_free(&d);
	/* Stale translations with nobody looking for them. */
	CHECK_EQ(scenario_parse_string("[iommu]\nchecker = off\n[device d]\ntype = dsa\n"
				       "[expect]\nchecker_findings == 0\nfaults == 0\n",
				       "t.scn", &s, &d),
		 0);
	scenario_free(s);
	CHECK_EQ(d.count, 1);
	CHECK_EQ(d.list[0].line, 6);
	CHECK(strstr(d.list[0].message, "the checker is off ([iommu] checker = no): "
					"checker_findings counts nothing"));
	scenario_diags_free(&d);
}

static void test_many_errors_collected_and_limited(void)
{
	struct scenario_diags d = {.max = 3};
	const char *text = "[iommu]\na = 1\nb = 2\nc = 3\nd = 4\ne = 5\n";
	char *out;

	CHECK_EQ(parse_bad(text, &d), -EINVAL);
	CHECK_EQ(d.count, 3);
	CHECK_EQ(d.errors, 5);
	CHECK_EQ(d.dropped, 2);
	CHECK_EQ(d.list[0].line, 2);
	CHECK_EQ(d.list[2].line, 4);
	CHECK_EQ(d.max, 3); /* kept across scenario_diags_free */
	out = render(&d);
	CHECK(out && strstr(out, "t.scn: 2 more errors not shown (the limit is 3)\n"));
	free(out);
	scenario_diags_free(&d);
	CHECK_EQ(d.max, 3);
	/* Without a limit set, the default one; errors come sorted by position although
	 * pass 3 finds some after pass 2. */
	d.max = 0;
	CHECK_EQ(
	    parse_bad("[workload w]\ndevice = x\n[iommu]\nmode = z\n[device d]\ntype = q\n", &d),
	    -EINVAL);
	CHECK_EQ(d.errors, 3);
	CHECK_EQ(d.list[0].line, 2);
	CHECK_EQ(d.list[1].line, 4);
	CHECK_EQ(d.list[2].line, 6);
	scenario_diags_free(&d);
}

static void test_excerpt_and_notes(void)
{
	struct scenario_diags d = {0};
	char *out;

	CHECK_EQ(parse_bad("[device a]\n\ttype = nic\n\trid = 01:00.0\n[device b]\ntype = nic\n"
			   "rid = 01:00.0\n",
			   &d),
		 -EINVAL);
	out = render(&d);
	CHECK(out);
	CHECK(!strcmp(out, "t.scn:6:7: error: requester ID 01:00.0 of device 'b' is already used "
			   "by device 'a'\n"
			   "    6 | rid = 01:00.0\n"
			   "      |       ^~~~~~~\n"
			   "t.scn:3:8: note: 'a' took it here\n"));
	free(out);
	scenario_diags_free(&d);
	/* Tabs are kept in the underline so the caret lines up. */
	CHECK_EQ(parse_bad("[iommu]\n\tmgaw =\t7\n", &d), -EINVAL);
	out = render(&d);
	CHECK(out);
	CHECK(strstr(out, "    2 | \tmgaw =\t7\n      | \t      \t^\n"));
	free(out);
	scenario_diags_free(&d);
	/* Far to the right of a long line: a window of it, the caret under the error. */
	CHECK_EQ(parse_bad("[iommu]\nsagaw = 39,                                                 "
			   "                                                                   "
			   "                                                                   "
			   "        48, 56\n",
			   &d),
		 -EINVAL);
	out = render(&d);
	CHECK(out);
	CHECK_EQ(d.list[0].col, 207);
	CHECK(strstr(out, "    2 | ...                                    48, 56\n"
			  "      |                                            ^~\n"));
	free(out);
	scenario_diags_free(&d);
}

/* ---- files and the command ---------------------------------------------------------------- */

static void test_parse_file_errors(void)
{
	struct scenario_diags d = {0};
	struct scenario *s = NULL;
	char *out;
	FILE *f;

	CHECK_EQ(scenario_parse_file("/nonexistent/x.scn", &s, &d), -ENOENT);
	CHECK(!s);
	out = render(&d);
	CHECK(out && !strcmp(out, "/nonexistent/x.scn: error: cannot read: No such file or "
				  "directory\n"));
	free(out);
	CHECK_EQ(scenario_parse_file("examples", &s, &d), -EISDIR);
	/* Too large: one byte over the limit. */
	f = fopen("build-scenario-big.tmp", "wb");
	CHECK(f);
	for (size_t i = 0; i <= SCENARIO_MAX_INPUT; i++)
		fputc(i % 64 == 63 ? '\n' : '#', f);
	fclose(f);
	CHECK_EQ(scenario_parse_file("build-scenario-big.tmp", &s, &d), -EFBIG);
	remove("build-scenario-big.tmp");
	CHECK_EQ(d.errors, 1);
	CHECK(strstr(d.list[0].message, "a scenario may have at most 1048576"));
	scenario_diags_free(&d);
	CHECK_EQ(scenario_parse(NULL, 5, "x", &s, NULL), -EINVAL);
	CHECK_EQ(scenario_parse("", 0, "x", NULL, NULL), -EINVAL);
	CHECK_EQ(scenario_parse_file(NULL, &s, NULL), -EINVAL);
}

static int run_cmd(int argc, char **argv, char **out, char **err)
{
	size_t ol = 0, el = 0;
	FILE *fo = open_memstream(out, &ol), *fe = open_memstream(err, &el);
	int ret;

	if (!fo || !fe)
		return -1;
	ret = check_scenario_main(argc, argv, fo, fe);
	fclose(fo);
	fclose(fe);
	return ret;
}

static void test_check_scenario_command(void)
{
	char *out = NULL, *err = NULL;
	FILE *f;

	{
		char *argv[] = {"check-scenario", "--help", NULL};
		CHECK_EQ(run_cmd(2, argv, &out, &err), 0);
		CHECK(strstr(out, "usage: softiommu check-scenario"));
		free(out);
		free(err);
	}
	{
		char *argv[] = {"check-scenario", NULL};
		CHECK_EQ(run_cmd(1, argv, &out, &err), 2);
		CHECK(strstr(err, "usage:"));
		free(out);
		free(err);
	}
	{
		char *argv[] = {"check-scenario", "--bogus", NULL};
		CHECK_EQ(run_cmd(2, argv, &out, &err), 2);
		CHECK(strstr(err, "unknown option '--bogus'"));
		free(out);
		free(err);
	}
	{
		char *argv[] = {"check-scenario", "--max-errors", "0", "x", NULL};
		CHECK_EQ(run_cmd(4, argv, &out, &err), 2);
		free(out);
		free(err);
	}
	{
		char *argv[] = {"check-scenario", "--default", NULL};
		CHECK_EQ(run_cmd(2, argv, &out, &err), 0);
		CHECK(!strncmp(
		    out, "# default.scn in normal form\n[scenario]\nname = \"default\"\n", 55));
		CHECK(!strcmp(err, ""));
		free(out);
		free(err);
	}
	f = fopen("build-scenario-bad.tmp", "w");
	CHECK(f);
	fputs("[iommu]\nmode = scalabel\n", f);
	fclose(f);
	{
		char *argv[] = {"check-scenario", "-q", "examples/scenarios/nic.scn",
				"build-scenario-bad.tmp", NULL};
		int ret = run_cmd(4, argv, &out, &err);

		remove("build-scenario-bad.tmp");
		CHECK_EQ(ret, 2);
		CHECK(!strcmp(out, "")); /* quiet */
		CHECK(
		    strstr(err, "build-scenario-bad.tmp:2:8: error: expected scalable or legacy") ==
		    err);
		free(out);
		free(err);
	}
	{
		char *argv[] = {"check-scenario", "examples/scenarios/nic.scn", NULL};
		CHECK_EQ(run_cmd(2, argv, &out, &err), 0);
		CHECK(strstr(out, "[device eth0]\ntype = nic\nrid = 03:00.0\n"));
		free(out);
		free(err);
	}
}

/* ---- garbage never crashes ---------------------------------------------------------------- */

/* Parse and, when it parses, print: the printer must cope with anything the reader took. */
static void parse_any(const char *buf, size_t len)
{
	struct scenario_diags d = {.max = 5};
	struct scenario *s = NULL;
	int ret = scenario_parse(buf, len, "fuzz.scn", &s, &d);

	if (ret == 0) {
		char *text = print_to_string(s);
		struct scenario *t = NULL;

		/* What was accepted prints as text that is accepted again. */
		if (text && scenario_parse_string(text, "again.scn", &t, NULL) != 0) {
			fprintf(stderr, "accepted but its normal form is not:\n%.*s\n", (int)len,
				buf);
			abort();
		}
		scenario_free(t);
		free(text);
	}
	if (d.count > 2 * 5 || (ret == 0) != (d.errors == 0)) {
		fprintf(stderr, "inconsistent diagnostics (%d, %zu)\n", ret, d.errors);
		abort();
	}
	scenario_free(s);
	scenario_diags_free(&d);
}

static void test_garbage_random_bytes(void)
{
	uint64_t seed = 0x5ce9a110;
	char buf[512];

	for (int i = 0; i < 3000; i++) {
		size_t n = check_rand(&seed) % sizeof(buf);
		bool texty = i & 1; /* half from a scenario-ish alphabet, half any byte */
		static const char alpha[] = "[]=,#\"\\()<>!.:_- \t\n\r0123456789xKMGabcdeiosty";

		for (size_t k = 0; k < n; k++)
			buf[k] = texty ? alpha[check_rand(&seed) % (sizeof(alpha) - 1)]
				       : (char)check_rand(&seed);
		parse_any(buf, n);
	}
	CHECK(1);
}

static void test_garbage_truncated_and_mutated_examples(void)
{
	static const char *const files[] = {
	    "examples/scenarios/default.scn",
	    "examples/scenarios/nic.scn",
	    "examples/scenarios/storage.scn",
	    "examples/scenarios/pasid-disable.scn",
	    "examples/scenarios/missing-invalidation.scn",
	    "examples/scenarios/legacy-fallback.scn",
	};
	uint64_t seed = 42;

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t len;
		char *text = read_text(files[f], &len);

		CHECK(text);
		/* Every truncation, in an exact-size copy. */
		for (size_t k = 0; k < len; k += 1 + k / 256) {
			char *p = malloc(k ? k : 1);

			CHECK(p);
			memcpy(p, text, k);
			parse_any(p, k);
			free(p);
		}
		/* Mutations: flip, delete, duplicate or insert bytes. */
		for (int m = 0; m < 300; m++) {
			char *p = malloc(len + 64);
			size_t n = len;

			CHECK(p);
			memcpy(p, text, len);
			for (int e = 0; e < 1 + m % 4; e++) {
				size_t at = check_rand(&seed) % (n ? n : 1);
				uint64_t r = check_rand(&seed);

				if (r % 3 == 0 && n)
					p[at] = (char)(r >> 8);
				else if (r % 3 == 1 && n) {
					memmove(p + at, p + at + 1, n - at - 1);
					n--;
				} else if (n + 1 < len + 64) {
					memmove(p + at + 1, p + at, n - at);
					p[at] = "=,[]#\n\"0.9"[r % 10];
					n++;
				}
			}
			parse_any(p, n);
			free(p);
		}
		free(text);
	}
}

static void test_garbage_huge_and_repeated(void)
{
	size_t cap = SCENARIO_MAX_INPUT, n = 0;
	char *buf = malloc(cap);
	struct scenario_diags d = {0};
	struct scenario *s = NULL;

	CHECK(buf);
	/* 30000 [iommu] sections: one error each, capped, and quick. */
	while (n + 8 < cap && n < 30000 * 8) {
		memcpy(buf + n, "[iommu]\n", 8);
		n += 8;
	}
	CHECK_EQ(scenario_parse(buf, n, "rep.scn", &s, &d), -EINVAL);
	CHECK_EQ(d.count, SCENARIO_DEFAULT_MAX_DIAGS);
	CHECK_EQ(d.errors, 29999);
	/* More devices than the limit: one error. */
	n = 0;
	for (int i = 0; i < 1000 && n + 64 < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "[device d%d]\ntype = nic\n", i);
	CHECK_EQ(scenario_parse(buf, n, "devs.scn", &s, &d), -EINVAL);
	CHECK_EQ(d.errors, 1);
	CHECK(strstr(d.list[0].message, "more than 256 [device] sections"));
	/* 256 devices are fine, and take their requester IDs across buses. */
	n = 0;
	for (int i = 0; i < 256; i++)
		n += (size_t)snprintf(buf + n, cap - n, "[device d%d]\ntype = nic\n", i);
	CHECK_EQ(scenario_parse(buf, n, "devs.scn", &s, &d), 0);
	CHECK_EQ(s->n_devices, 256);
	CHECK_EQ(s->devices[255].rid, 256u << 3);
	scenario_free(s);
	/* One enormous section of unknown keys, and a list at its limit and past it. */
	n = (size_t)snprintf(buf, cap, "[iommu]\n");
	while (n + 16 < cap)
		n += (size_t)snprintf(buf + n, cap - n, "zzz%05zu = 1\n", n % 99999);
	CHECK_EQ(scenario_parse(buf, n, "keys.scn", &s, &d), -EINVAL);
	CHECK(d.dropped > 10000);
	n = (size_t)snprintf(buf, cap, "[iommu]\nsagaw = 39");
	for (int i = 1; i < 300; i++)
		n += (size_t)snprintf(buf + n, cap - n, ", 48");
	CHECK_EQ(scenario_parse(buf, n, "list.scn", &s, &d), -EINVAL);
	CHECK(strstr(d.list[0].message, "more than 256 items in one list"));
	/* A line of a megabyte, a key of a megabyte, numbers of hundreds of digits. */
	memset(buf, '9', cap);
	memcpy(buf, "[scenario]\nseed = ", 18);
	CHECK_EQ(scenario_parse(buf, cap, "long.scn", &s, &d), -EINVAL);
	CHECK(strstr(d.list[0].message, "is too large for 'seed'"));
	memset(buf, 'k', cap);
	memcpy(buf, "[scenario]\n", 11);
	CHECK_EQ(scenario_parse(buf, cap, "long.scn", &s, &d), -EINVAL);
	memset(buf, 'k', cap);
	buf[0] = '[';
	CHECK_EQ(scenario_parse(buf, cap, "long.scn", &s, &d), -EINVAL);
	memset(buf, '\n', cap);
	CHECK_EQ(scenario_parse(buf, cap, "lines.scn", &s, &d), 0);
	scenario_free(s);
	memset(buf, 0, cap);
	CHECK_EQ(scenario_parse(buf, cap, "nul.scn", &s, &d), -EINVAL);
	free(buf);
	scenario_diags_free(&d);
}

int main(void)
{
	RUN(test_empty_is_all_defaults);
	RUN(test_device_and_workload_defaults);
	RUN(test_one_device_needs_no_name);
	RUN(test_seeds_are_stable);
	RUN(test_no_ats_without_device_tlb);
	RUN(test_scenario_section);
	RUN(test_iommu_section);
	RUN(test_legacy_defaults);
	RUN(test_cache_ways_follow_entries);
	RUN(test_dma_global_and_override);
	RUN(test_device_keys);
	RUN(test_auto_rids_skip_taken);
	RUN(test_workload_keys);
	RUN(test_phases);
	RUN(test_expectations);
	RUN(test_expect_main_names_the_implicit_phase);
	RUN(test_sizes);
	RUN(test_value_formats_round_trip);
	RUN(test_durations_and_bools);
	RUN(test_lexical_details);
	RUN(test_not_nul_terminated);
	RUN(test_binary_input);
	RUN(test_fault_reason_table);
	RUN(test_suggestions);
	RUN(test_examples_parse_and_round_trip);
	RUN(test_default_matches_example_file);
	RUN(test_docs_examples_parse);
	RUN(test_error_syntax);
	RUN(test_error_keys_and_sections);
	RUN(test_error_values);
	RUN(test_error_references);
	RUN(test_error_capabilities);
	RUN(test_error_traffic_drivers);
	RUN(test_error_kernel_pasid);
	RUN(test_error_expectations);
	RUN(test_warnings_do_not_fail);
	RUN(test_many_errors_collected_and_limited);
	RUN(test_excerpt_and_notes);
	RUN(test_parse_file_errors);
	RUN(test_check_scenario_command);
	RUN(test_garbage_random_bytes);
	RUN(test_garbage_truncated_and_mutated_examples);
	RUN(test_garbage_huge_and_repeated);
	return CHECK_DONE();
}
