// SPDX-License-Identifier: MIT
/*
 * The report (report.h): the rows both formats share, and the text format - aligned
 * tables for a person at a terminal.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <softiommu/vtd_regs.h>

const char *run_cache_name(enum scenario_cache_id c)
{
	static const char *const n[] = {
	    [SCENARIO_CACHE_ANY] = "any",
	    [SCENARIO_CACHE_IOTLB] = "IOTLB",
	    [SCENARIO_CACHE_CONTEXT] = "context cache",
	    [SCENARIO_CACHE_PASID] = "PASID cache",
	    [SCENARIO_CACHE_PWC] = "paging-structure caches",
	    [SCENARIO_CACHE_DEVTLB] = "device TLB",
	};

	return (unsigned)c < sizeof(n) / sizeof(n[0]) ? n[c] : "?";
}

const char *run_inv_type_name(unsigned type)
{
	static const char *const n[RUN_INV_TYPES] = {
	    "?",    "context-cache", "iotlb",	    "devtlb",	    "iec",
	    "wait", "pasid-iotlb",   "pasid-cache", "pasid-devtlb",
	};

	return type < RUN_INV_TYPES ? n[type] : "?";
}

const char *run_inv_gran_name(unsigned gran)
{
	static const char *const n[RUN_INV_GRANS] = {
	    [SCENARIO_IG_ANY] = "none",	     [SCENARIO_IG_GLOBAL] = "global",
	    [SCENARIO_IG_DOMAIN] = "domain", [SCENARIO_IG_DEVICE] = "device",
	    [SCENARIO_IG_PASID] = "pasid",   [SCENARIO_IG_PAGE] = "page",
	};

	return gran < RUN_INV_GRANS ? n[gran] : "?";
}

const char *report_verdict(int status)
{
	return status == 0 ? "pass" : status == 1 ? "fail" : "error";
}

/* ---- rows ------------------------------------------------------------------------------------ */

size_t report_dma_rows(struct run *r, struct report_dma_row *rows, size_t max)
{
	size_t n = 0;

	for (unsigned s = 0; s < r->s->n_phases; s++)
		for (size_t w = 0; w < r->s->n_workloads; w++) {
			const struct run_wl_counts *c = run_wl(r, s, (unsigned)w);
			unsigned dev = r->s->workloads[w].device;
			struct report_dma_row *row = NULL;

			if (!c->ran)
				continue;
			for (size_t i = 0; i < n && !row; i++)
				if (rows[i].device == dev && rows[i].has_pasid == c->has_pasid &&
				    rows[i].pasid == c->pasid)
					row = &rows[i];
			if (!row) {
				if (n == max)
					continue;
				row = &rows[n++];
				*row = (struct report_dma_row){
				    .device = dev,
				    .has_pasid = c->has_pasid,
				    .pasid = c->pasid,
				    .kernel =
					c->has_pasid && run_device_kpasid(&r->devs[dev], c->pasid),
				};
			}
			row->ops += atomic_load(&c->ops);
			row->bytes += atomic_load(&c->bytes);
			row->failed += atomic_load(&c->failed);
			row->verified += atomic_load(&c->verified);
			row->mismatches += atomic_load(&c->mismatches);
		}
	/* By device, then without PASID first. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0; j--) {
			struct report_dma_row *a = &rows[j - 1], *b = &rows[j], t;

			if (a->device < b->device ||
			    (a->device == b->device &&
			     (a->has_pasid < b->has_pasid ||
			      (a->has_pasid == b->has_pasid && a->pasid <= b->pasid))))
				break;
			t = *a;
			*a = *b;
			*b = t;
		}
	return n;
}

void report_dma_api(struct run *r, size_t dev, struct dma_stats *out)
{
	*out = (struct dma_stats){0};
	for (unsigned s = 0; s < r->n_slots; s++) {
		const struct dma_stats *d = &r->dmastat[s * r->n_devs + dev];

		out->maps += d->maps;
		out->unmaps += d->unmaps;
		out->map_errors += d->map_errors;
		out->syncs += d->syncs;
		out->fq_queued += d->fq_queued;
		out->fq_flush_full += d->fq_flush_full;
		out->fq_flush_timeout += d->fq_flush_timeout;
		out->fq_flush_explicit += d->fq_flush_explicit;
		out->fq_flush_nospace += d->fq_flush_nospace;
		out->iova_retries += d->iova_retries;
	}
}

size_t report_fault_rows(struct run *r, struct report_fault_row *rows, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n_faults; i++) {
		const struct run_fault *f = &r->faults[i];
		struct report_fault_row *row = NULL;

		for (size_t k = 0; k < n && !row; k++)
			if (rows[k].reason == f->reason)
				row = &rows[k];
		if (!row) {
			if (n == max)
				continue;
			row = &rows[n++];
			*row = (struct report_fault_row){.reason = f->reason,
							 .first_addr = f->first_addr,
							 .first_device = f->device};
		}
		row->count += f->count;
		row->recorded += f->recorded;
	}
	/* Distinct devices per reason. */
	for (size_t k = 0; k < n; k++) {
		for (size_t i = 0; i < r->n_faults; i++) {
			bool before = false;

			if (r->faults[i].reason != rows[k].reason)
				continue;
			for (size_t j = 0; j < i && !before; j++)
				before = r->faults[j].reason == rows[k].reason &&
					 r->faults[j].device == r->faults[i].device;
			rows[k].devices += !before;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

size_t report_cache_rows(struct run *r, struct report_cache_row *rows, size_t max)
{
	static const enum scenario_cache_id unit[] = {SCENARIO_CACHE_IOTLB, SCENARIO_CACHE_PASID,
						      SCENARIO_CACHE_CONTEXT};
	static const char *const pwc[] = {"paging-structure cache, first stage",
					  "paging-structure cache, second stage"};
	struct run_cache_counts c;
	size_t n = 0;

	run_sum_caches(r, -1, -1, &c);
	for (size_t i = 0; i < 3 && n < max; i++, n++)
		rows[n] = (struct report_cache_row){
		    .name = run_cache_name(unit[i]),
		    .device = -1,
		    .measured = c.measured[unit[i]],
		    .hits = c.hits[unit[i]],
		    .lookups = c.hits[unit[i]] + c.misses[unit[i]],
		};
	for (size_t k = 0; k < 2 && n < max; k++, n++)
		rows[n] = (struct report_cache_row){
		    .name = pwc[k],
		    .device = -1,
		    .measured = c.measured[SCENARIO_CACHE_PWC],
		    .hits = c.pwc_hits[k],
		    .lookups = c.pwc_hits[k] + c.pwc_misses[k],
		};
	for (size_t d = 0; d < r->n_devs && n < max; d++) {
		if (!r->devs[d].sd->ats)
			continue;
		run_sum_caches(r, -1, (int)d, &c);
		rows[n++] = (struct report_cache_row){
		    .name = "device TLB",
		    .device = (int)d,
		    .measured = true,
		    .hits = c.hits[SCENARIO_CACHE_DEVTLB],
		    .lookups = c.hits[SCENARIO_CACHE_DEVTLB] + c.misses[SCENARIO_CACHE_DEVTLB],
		};
	}
	return n;
}

int report_queue(struct run *r, unsigned m, struct report_queue *q)
{
	uint64_t iqa = 0, gsts = 0;

	if (m >= r->n_machines || vtd_mmio_read(r->machines[m].vtd, VTD_REG_IQA, 8, &iqa) ||
	    vtd_mmio_read(r->machines[m].vtd, VTD_REG_GSTS, 4, &gsts) || !(gsts & VTD_GSTS_QIES))
		return -EIO;
	q->pages = 1u << VTD_GET(iqa, VTD_IQA_QS);
	q->desc_bytes = (iqa & VTD_IQA_DW) ? 32 : 16;
	q->descriptors = q->pages * 4096 / q->desc_bytes;
	return 0;
}

/* ---- text ------------------------------------------------------------------------------------ */

static void bytes_text(uint64_t b, char *buf, size_t n)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	unsigned u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%" PRIu64 " B", b);
	else
		snprintf(buf, n, "%.1f %s", v, unit[u]);
}

static void pasid_text(const struct report_dma_row *row, char *buf, size_t n)
{
	if (!row->has_pasid)
		snprintf(buf, n, "none");
	else
		snprintf(buf, n, "%u%s", row->pasid, row->kernel ? " (kernel)" : "");
}

static void rate_text(uint64_t hits, uint64_t lookups, char *buf, size_t n)
{
	if (!lookups)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.2f %%", 100.0 * (double)hits / (double)lookups);
}

static void section(FILE *f, const char *title)
{
	fprintf(f, "\n%s\n", title);
}

static void text_header(struct run *r, FILE *f)
{
	const struct scenario *s = r->s;

	fprintf(f, "softiommu run: %s\n", s->name);
	if (s->description && *s->description)
		fprintf(f, "  %s\n", s->description);
	fprintf(f,
		"  scenario %s, seed %" PRIu64 ", %zu device%s on %u VT-d unit%s (%s mode), "
		"checker %s\n",
		s->file, s->seed, r->n_devs, r->n_devs == 1 ? "" : "s", r->n_machines,
		r->n_machines == 1 ? "" : "s",
		s->iommu.mode == SCENARIO_MODE_SCALABLE ? "scalable" : "legacy",
		s->iommu.checker ? "on" : "off");
}

static void text_dma(struct run *r, FILE *f)
{
	struct report_dma_row rows[512];
	size_t n = report_dma_rows(r, rows, 512);

	section(f, "DMA by device and PASID");
	fprintf(f, "  %-16s %-14s %12s %12s %9s %10s %10s\n", "device", "pasid", "ops", "bytes",
		"failed", "verified", "mismatches");
	for (size_t i = 0; i < n; i++) {
		char p[32], b[32];

		pasid_text(&rows[i], p, sizeof(p));
		bytes_text(rows[i].bytes, b, sizeof(b));
		fprintf(f,
			"  %-16s %-14s %12" PRIu64 " %12s %9" PRIu64 " %10" PRIu64 " %10" PRIu64
			"\n",
			r->devs[rows[i].device].sd->name, p, rows[i].ops, b, rows[i].failed,
			rows[i].verified, rows[i].mismatches);
	}
	if (!n)
		fprintf(f, "  (no workload ran)\n");
}

static void text_dma_api(struct run *r, FILE *f)
{
	section(f, "DMA API by device (mappings, and how unmaps were flushed)");
	fprintf(f, "  %-16s %10s %10s %7s %10s %10s %20s\n", "device", "maps", "unmaps", "errors",
		"syncs", "queued", "flush-alls full/time");
	for (size_t d = 0; d < r->n_devs; d++) {
		struct dma_stats s;
		char fl[32];

		report_dma_api(r, d, &s);
		snprintf(fl, sizeof(fl), "%" PRIu64 "/%" PRIu64, s.fq_flush_full,
			 s.fq_flush_timeout);
		fprintf(f,
			"  %-16s %10" PRIu64 " %10" PRIu64 " %7" PRIu64 " %10" PRIu64 " %10" PRIu64
			" %20s\n",
			r->devs[d].sd->name, s.maps, s.unmaps, s.map_errors, s.syncs, s.fq_queued,
			fl);
	}
}

static void text_caches(struct run *r, FILE *f)
{
	struct report_cache_row rows[300];
	size_t n = report_cache_rows(r, rows, 300);

	section(f, "Cache hit rates");
	fprintf(f, "  %-37s %14s %14s %10s\n", "cache", "lookups", "hits", "hit rate");
	for (size_t i = 0; i < n; i++) {
		char name[96], rate[24];

		if (rows[i].device >= 0)
			snprintf(name, sizeof(name), "%s %s", rows[i].name,
				 r->devs[rows[i].device].sd->name);
		else
			snprintf(name, sizeof(name), "%s", rows[i].name);
		rate_text(rows[i].hits, rows[i].lookups, rate, sizeof(rate));
		if (!rows[i].measured)
			snprintf(rate, sizeof(rate), "n/a");
		fprintf(f, "  %-37s %14" PRIu64 " %14" PRIu64 " %10s\n", name, rows[i].lookups,
			rows[i].hits, rate);
	}
}

static void text_invalidations(struct run *r, FILE *f)
{
	static const unsigned order[] = {SCENARIO_IG_GLOBAL, SCENARIO_IG_DOMAIN, SCENARIO_IG_DEVICE,
					 SCENARIO_IG_PASID,  SCENARIO_IG_PAGE,	 SCENARIO_IG_ANY};
	uint64_t skipped = 0;

	section(f, "Invalidations the units carried out (descriptors, by type and granularity)");
	fprintf(f, "  %-16s", "type");
	for (unsigned g = 0; g < RUN_INV_GRANS; g++)
		fprintf(f, " %9s", run_inv_gran_name(order[g]));
	fprintf(f, " %10s\n", "total");
	for (unsigned t = 1; t < RUN_INV_TYPES; t++) {
		uint64_t total = run_sum_inv(r, -1, -1, (enum scenario_inv_type)t, SCENARIO_IG_ANY);

		if (!total)
			continue;
		fprintf(f, "  %-16s", run_inv_type_name(t));
		for (unsigned g = 0; g < RUN_INV_GRANS; g++) {
			uint64_t v = 0;

			for (unsigned s = 0; s < r->n_slots; s++)
				v += atomic_load(run_inv(r, s, r->n_devs, t, order[g]));
			if (v)
				fprintf(f, " %9" PRIu64, v);
			else
				fprintf(f, " %9s", "-");
		}
		fprintf(f, " %10" PRIu64 "\n", total);
	}
	fprintf(f, "  %-16s %69" PRIu64 "\n", "all",
		run_sum_inv(r, -1, -1, SCENARIO_IT_ANY, SCENARIO_IG_ANY));
	for (size_t d = 0; d < r->n_devs; d++) {
		uint64_t n = 0;

		for (unsigned s = 0; s < r->n_slots; s++)
			n += atomic_load(&r->skipped[s * (r->n_devs + 1) + d]);
		if (n)
			fprintf(f, "  left out by fault injection for %s: %" PRIu64 "\n",
				r->devs[d].sd->name, n);
		skipped += n;
	}
	if (atomic_load(&r->inv_failed))
		fprintf(f, "  not completed (queue errors, device-TLB time-outs): %" PRIu64 "\n",
			atomic_load(&r->inv_failed));
	for (unsigned m = 0; m < r->n_machines; m++) {
		struct report_queue q;

		if (!report_queue(r, m, &q))
			fprintf(f, "  queue of unit %u: %u descriptors of %u bytes (%u page%s)\n",
				m, q.descriptors, q.desc_bytes, q.pages, q.pages == 1 ? "" : "s");
	}
	(void)skipped;
}

static void text_faults(struct run *r, FILE *f)
{
	struct report_fault_row rows[256];
	size_t n = report_fault_rows(r, rows, 256);

	section(f, "Faults by reason");
	if (!n) {
		fprintf(f, "  none\n");
		return;
	}
	fprintf(f, "  %-6s %-8s %12s %10s  %s\n", "code", "name", "count", "recorded",
		"first seen");
	for (size_t i = 0; i < n; i++) {
		const char *name =
		    rows[i].reason ? scenario_fault_reason_name(rows[i].reason) : "ATS R=W=0";
		const char *dev = rows[i].first_device >= 0 ? r->devs[rows[i].first_device].sd->name
							    : "unknown requester";

		fprintf(f, "  %#-6x %-8s %12" PRIu64 " %10" PRIu64 "  %s at %#" PRIx64 "%s\n",
			rows[i].reason, name ? name : "?", rows[i].count, rows[i].recorded, dev,
			rows[i].first_addr, rows[i].devices > 1 ? " (and other devices)" : "");
	}
}

static void text_findings(struct run *r, FILE *f)
{
	static const enum scenario_cache_id caches[] = {SCENARIO_CACHE_IOTLB, SCENARIO_CACHE_PASID,
							SCENARIO_CACHE_CONTEXT,
							SCENARIO_CACHE_DEVTLB};

	section(f, "Checker (stale translations served from a cache)");
	if (!r->s->iommu.checker) {
		fprintf(f, "  off\n");
		return;
	}
	fprintf(f, "  %" PRIu64 " finding%s", r->findings_total, r->findings_total == 1 ? "" : "s");
	for (size_t c = 0; c < 4; c++) {
		uint64_t v = run_sum_findings(r, -1, -1, SCENARIO_PSEL_ANY, 0, caches[c]);

		if (v)
			fprintf(f, "; %s %" PRIu64, run_cache_name(caches[c]), v);
	}
	fprintf(f, "\n");
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct run_finding *x = &r->findings[i];
		char pasid[24];

		if (x->has_pasid)
			snprintf(pasid, sizeof(pasid), "PASID %u", x->pasid);
		else
			snprintf(pasid, sizeof(pasid), "no PASID");
		fprintf(f, "  %zu. %s, %s, address %#" PRIx64 ", %s (DID %u), phase %s\n", i + 1,
			x->device >= 0 ? r->devs[x->device].sd->name : "unknown device", pasid,
			x->addr, run_cache_name(x->cache), x->did,
			x->slot < r->s->n_phases ? r->s->phases[x->slot].name : "setup");
		fprintf(f, "     held: %s\n     memory: %s\n     missing: %s\n", x->held, x->memory,
			x->missing);
	}
	if (r->findings_total > r->n_findings && r->n_findings)
		fprintf(f, "  (%" PRIu64 " more not shown; --findings N shows more)\n",
			r->findings_total - r->n_findings);
}

static void text_debug(struct run *r, FILE *f)
{
	bool any = false;

	for (size_t d = 0; d < r->n_devs; d++)
		any |= r->devs[d].sd->dma.debug;
	if (!any)
		return;
	section(f, "DMA-API debug checks");
	for (size_t d = 0; d < r->n_devs; d++) {
		uint64_t n = 0;

		if (!r->devs[d].sd->dma.debug)
			continue;
		for (unsigned s = 0; s < r->n_slots; s++)
			n += r->debug[s * r->n_devs + d];
		fprintf(f, "  %-16s %" PRIu64 " report%s\n", r->devs[d].sd->name, n,
			n == 1 ? "" : "s");
	}
	for (unsigned i = 0; i < r->n_debug_texts; i++)
		fprintf(f, "  %u. %s\n", i + 1, r->debug_texts[i]);
}

static void text_phases(struct run *r, FILE *f)
{
	section(f, "Phases");
	fprintf(f, "  %-24s %12s %12s %10s\n", "phase", "ops", "failed", "time");
	fprintf(f, "  %-24s %12s %12s %9.3fs\n", "(setup)", "-", "-",
		r->slot_ns[r->n_slots - 1] / 1e9);
	for (unsigned p = 0; p < r->s->n_phases; p++) {
		uint64_t ops = 0, failed = 0;

		for (size_t w = 0; w < r->s->n_workloads; w++) {
			ops += atomic_load(&run_wl(r, p, (unsigned)w)->ops);
			failed += atomic_load(&run_wl(r, p, (unsigned)w)->failed);
		}
		fprintf(f, "  %-24s %12" PRIu64 " %12" PRIu64 " %9.3fs\n", r->s->phases[p].name,
			ops, failed, r->slot_ns[p] / 1e9);
	}
}

static void text_expects(struct run *r, FILE *f, const struct report_expects *x)
{
	if (!r->s->n_expects || !x)
		return;
	section(f, "Expectations");
	for (size_t i = 0; i < r->s->n_expects; i++) {
		const struct scenario_expect *e = &r->s->expects[i];
		const char *phase = e->phase >= 0 ? r->s->phases[e->phase].name : NULL;

		if (x->ok[i]) {
			fprintf(f, "  ok    %s%s%s%s (", phase ? "[" : "", phase ? phase : "",
				phase ? "] " : "", e->text);
			/* hit_rate is measured in 0.01 % units */
			if (e->metric == SCENARIO_M_HIT_RATE)
				fprintf(f, "%.2f %%)\n", x->value[i] / 100.0);
			else
				fprintf(f, "%" PRIu64 ")\n", x->value[i]);
			continue;
		}
		fprintf(f, "  FAIL  %s:%u: %s%s%s%s: ", r->s->file, e->line, phase ? "[" : "",
			phase ? phase : "", phase ? "] " : "", e->text);
		if (x->why[i])
			fprintf(f, "%s\n", x->why[i]);
		else if (e->metric == SCENARIO_M_HIT_RATE)
			fprintf(f, "measured %.2f %%\n", x->value[i] / 100.0);
		else
			fprintf(f, "measured %" PRIu64 "\n", x->value[i]);
	}
}

int report_text(struct run *r, FILE *f, const struct report_expects *x, int status)
{
	text_header(r, f);
	text_dma(r, f);
	text_dma_api(r, f);
	text_caches(r, f);
	text_invalidations(r, f);
	text_faults(r, f);
	text_findings(r, f);
	text_debug(r, f);
	text_phases(r, f);
	text_expects(r, f, x);
	section(f, "Result");
	if (r->timed_out)
		fprintf(f, "  stopped by the scenario's timeout\n");
	if (r->stack_errors)
		fprintf(f, "  %u problem%s in the stack: %s\n", r->stack_errors,
			r->stack_errors == 1 ? "" : "s", r->stack_msg);
	if (x && x->failed)
		fprintf(f, "  %zu of %zu expectation%s failed\n", x->failed, r->s->n_expects,
			r->s->n_expects == 1 ? "" : "s");
	if (r->findings_total && !run_expects_findings(r->s))
		fprintf(f, "  the checker found stale translations\n");
	fprintf(f, "  %s (exit status %d), wall time %.3f s\n", status == 0 ? "PASS" : "FAIL",
		status, (r->end_ns - r->start_ns) / 1e9);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}
