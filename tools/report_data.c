// SPDX-License-Identifier: MIT
/*
 * The report as JSON (`softiommu run --json`): the same content as the text, as data.
 * The layout (every key) is documented in docs/softiommu.1 under JSON REPORT.
 */
#include "report.h"
#include "report_json.h"

#include <errno.h>

static void json_dma(struct run *r, struct json_writer *w)
{
	struct report_dma_row rows[512];
	size_t n = report_dma_rows(r, rows, 512);

	json_key(w, "dma");
	json_begin_array(w);
	for (size_t i = 0; i < n; i++) {
		json_begin_object(w);
		json_kv_string(w, "device", r->devs[rows[i].device].sd->name);
		json_key(w, "pasid");
		if (rows[i].has_pasid)
			json_uint(w, rows[i].pasid);
		else
			json_null(w);
		json_kv_bool(w, "kernel_pasid", rows[i].kernel);
		json_kv_uint(w, "ops", rows[i].ops);
		json_kv_uint(w, "bytes", rows[i].bytes);
		json_kv_uint(w, "failed", rows[i].failed);
		json_kv_uint(w, "verified", rows[i].verified);
		json_kv_uint(w, "mismatches", rows[i].mismatches);
		json_end_object(w);
	}
	json_end_array(w);
}

static void json_dma_api(struct run *r, struct json_writer *w)
{
	json_key(w, "dma_api");
	json_begin_object(w);
	for (size_t d = 0; d < r->n_devs; d++) {
		struct dma_stats s;

		report_dma_api(r, d, &s);
		json_key(w, r->devs[d].sd->name);
		json_begin_object(w);
		json_kv_uint(w, "maps", s.maps);
		json_kv_uint(w, "unmaps", s.unmaps);
		json_kv_uint(w, "map_errors", s.map_errors);
		json_kv_uint(w, "syncs", s.syncs);
		json_kv_uint(w, "fq_queued", s.fq_queued);
		json_kv_uint(w, "fq_flushes_full", s.fq_flush_full);
		json_kv_uint(w, "fq_flushes_timeout", s.fq_flush_timeout);
		json_kv_uint(w, "fq_flushes_other", s.fq_flush_explicit + s.fq_flush_nospace);
		json_end_object(w);
	}
	json_end_object(w);
}

static void json_caches(struct run *r, struct json_writer *w)
{
	struct report_cache_row rows[300];
	size_t n = report_cache_rows(r, rows, 300);

	json_key(w, "caches");
	json_begin_array(w);
	for (size_t i = 0; i < n; i++) {
		json_begin_object(w);
		json_kv_string(w, "cache", rows[i].name);
		json_key(w, "device");
		json_string(w, rows[i].device >= 0 ? r->devs[rows[i].device].sd->name : NULL);
		json_kv_bool(w, "measured", rows[i].measured);
		json_kv_uint(w, "lookups", rows[i].lookups);
		json_kv_uint(w, "hits", rows[i].hits);
		json_key(w, "hit_rate");
		if (rows[i].lookups)
			json_double(w, (double)rows[i].hits / (double)rows[i].lookups, 6);
		else
			json_null(w);
		json_end_object(w);
	}
	json_end_array(w);
}

/* {"type": {"granularity": n, ...}, ...} for one device index (n_devs: all). */
static void json_inv_table(struct run *r, struct json_writer *w, size_t dev)
{
	json_begin_object(w);
	for (unsigned t = 1; t < RUN_INV_TYPES; t++) {
		uint64_t total = 0;

		for (unsigned s = 0; s < r->n_slots; s++)
			for (unsigned g = 0; g < RUN_INV_GRANS; g++)
				total += atomic_load(run_inv(r, s, dev, t, g));
		if (!total)
			continue;
		json_key(w, run_inv_type_name(t));
		json_begin_object(w);
		for (unsigned g = 0; g < RUN_INV_GRANS; g++) {
			uint64_t v = 0;

			for (unsigned s = 0; s < r->n_slots; s++)
				v += atomic_load(run_inv(r, s, dev, t, g));
			if (v)
				json_kv_uint(w, run_inv_gran_name(g), v);
		}
		json_end_object(w);
	}
	json_end_object(w);
}

static void json_invalidations(struct run *r, struct json_writer *w)
{
	json_key(w, "invalidations");
	json_begin_object(w);
	json_kv_uint(w, "total", run_sum_inv(r, -1, -1, SCENARIO_IT_ANY, SCENARIO_IG_ANY));
	json_key(w, "by_type");
	json_inv_table(r, w, r->n_devs);
	json_key(w, "by_device");
	json_begin_object(w);
	for (size_t d = 0; d < r->n_devs; d++) {
		uint64_t skipped = 0;

		for (unsigned s = 0; s < r->n_slots; s++)
			skipped += atomic_load(&r->skipped[s * (r->n_devs + 1) + d]);
		json_key(w, r->devs[d].sd->name);
		json_begin_object(w);
		json_kv_uint(w, "total",
			     run_sum_inv(r, -1, (int)d, SCENARIO_IT_ANY, SCENARIO_IG_ANY));
		json_kv_uint(w, "left_out", skipped);
		json_key(w, "by_type");
		json_inv_table(r, w, d);
		json_end_object(w);
	}
	json_end_object(w);
	json_kv_uint(w, "not_completed", atomic_load(&r->inv_failed));
	json_key(w, "queues");
	json_begin_array(w);
	for (unsigned m = 0; m < r->n_machines; m++) {
		struct report_queue q;

		if (report_queue(r, m, &q))
			continue;
		json_begin_object(w);
		json_kv_uint(w, "unit", m);
		json_kv_uint(w, "descriptors", q.descriptors);
		json_kv_uint(w, "descriptor_bytes", q.desc_bytes);
		json_kv_uint(w, "pages", q.pages);
		json_end_object(w);
	}
	json_end_array(w);
	json_end_object(w);
}

static void json_faults(struct run *r, struct json_writer *w)
{
	struct report_fault_row rows[256];
	size_t n = report_fault_rows(r, rows, 256);

	json_key(w, "faults");
	json_begin_object(w);
	json_kv_uint(w, "total", run_sum_faults(r, -1, -1, SCENARIO_PSEL_ANY, 0, 0));
	json_key(w, "by_reason");
	json_begin_array(w);
	for (size_t i = 0; i < n; i++) {
		json_begin_object(w);
		json_kv_uint(w, "code", rows[i].reason);
		json_key(w, "name");
		json_string(w, rows[i].reason ? scenario_fault_reason_name(rows[i].reason)
					      : "ATS R=W=0");
		json_kv_uint(w, "count", rows[i].count);
		json_kv_uint(w, "recorded", rows[i].recorded);
		json_key(w, "first_device");
		json_string(w, rows[i].first_device >= 0 ? r->devs[rows[i].first_device].sd->name
							 : NULL);
		json_kv_uint(w, "first_address", rows[i].first_addr);
		json_end_object(w);
	}
	json_end_array(w);
	json_end_object(w);
}

static void json_findings(struct run *r, struct json_writer *w)
{
	static const enum scenario_cache_id caches[] = {SCENARIO_CACHE_IOTLB, SCENARIO_CACHE_PASID,
							SCENARIO_CACHE_CONTEXT,
							SCENARIO_CACHE_DEVTLB};

	json_key(w, "checker");
	json_begin_object(w);
	json_kv_bool(w, "enabled", r->s->iommu.checker);
	json_kv_uint(w, "findings", r->findings_total);
	json_key(w, "by_cache");
	json_begin_object(w);
	for (size_t c = 0; c < 4; c++)
		json_kv_uint(w, run_cache_name(caches[c]),
			     run_sum_findings(r, -1, -1, SCENARIO_PSEL_ANY, 0, caches[c]));
	json_end_object(w);
	json_key(w, "first");
	json_begin_array(w);
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct run_finding *x = &r->findings[i];

		json_begin_object(w);
		json_key(w, "device");
		json_string(w, x->device >= 0 ? r->devs[x->device].sd->name : NULL);
		json_key(w, "pasid");
		if (x->has_pasid)
			json_uint(w, x->pasid);
		else
			json_null(w);
		json_kv_uint(w, "address", x->addr);
		json_kv_string(w, "cache", run_cache_name(x->cache));
		json_kv_uint(w, "did", x->did);
		json_kv_string(w, "phase",
			       x->slot < r->s->n_phases ? r->s->phases[x->slot].name : "setup");
		json_kv_string(w, "held", x->held);
		json_kv_string(w, "memory", x->memory);
		json_kv_string(w, "missing", x->missing);
		json_kv_string(w, "detail", x->detail);
		json_end_object(w);
	}
	json_end_array(w);
	json_end_object(w);
}

static void json_phases(struct run *r, struct json_writer *w)
{
	json_key(w, "phases");
	json_begin_array(w);
	for (unsigned p = 0; p < r->s->n_phases; p++) {
		uint64_t ops = 0, failed = 0;

		for (size_t k = 0; k < r->s->n_workloads; k++) {
			ops += atomic_load(&run_wl(r, p, (unsigned)k)->ops);
			failed += atomic_load(&run_wl(r, p, (unsigned)k)->failed);
		}
		json_begin_object(w);
		json_kv_string(w, "name", r->s->phases[p].name);
		json_kv_uint(w, "ops", ops);
		json_kv_uint(w, "failed", failed);
		json_kv_double(w, "seconds", r->slot_ns[p] / 1e9, 6);
		json_end_object(w);
	}
	json_end_array(w);
}

static void json_expects(struct run *r, struct json_writer *w, const struct report_expects *x)
{
	json_key(w, "expectations");
	json_begin_array(w);
	for (size_t i = 0; x && i < r->s->n_expects; i++) {
		const struct scenario_expect *e = &r->s->expects[i];

		json_begin_object(w);
		json_kv_string(w, "text", e->text);
		json_kv_uint(w, "line", e->line);
		json_key(w, "phase");
		json_string(w, e->phase >= 0 ? r->s->phases[e->phase].name : NULL);
		json_kv_bool(w, "ok", x->ok[i]);
		/* a hit rate is a fraction, as in "caches"; it is measured in 0.01 % units */
		if (e->metric == SCENARIO_M_HIT_RATE)
			json_kv_double(w, "value", x->value[i] / 10000.0, 4);
		else
			json_kv_uint(w, "value", x->value[i]);
		json_key(w, "why");
		json_string(w, x->why[i]);
		json_end_object(w);
	}
	json_end_array(w);
}

static void json_debug(struct run *r, struct json_writer *w)
{
	json_key(w, "debug_findings");
	json_begin_object(w);
	for (size_t d = 0; d < r->n_devs; d++) {
		uint64_t n = 0;

		for (unsigned s = 0; s < r->n_slots; s++)
			n += r->debug[s * r->n_devs + d];
		json_kv_uint(w, r->devs[d].sd->name, n);
	}
	json_end_object(w);
	json_key(w, "pasid_fallbacks");
	json_begin_object(w);
	for (size_t d = 0; d < r->n_devs; d++) {
		uint64_t n = 0;

		for (unsigned s = 0; s < r->n_slots; s++)
			n += r->fallbacks[s * r->n_devs + d];
		json_kv_uint(w, r->devs[d].sd->name, n);
	}
	json_end_object(w);
}

int report_json(struct run *r, FILE *f, const struct report_expects *x, int status)
{
	struct json_writer w;

	json_init(&w, f, 2);
	json_begin_object(&w);
	json_kv_string(&w, "scenario", r->s->name);
	json_kv_string(&w, "file", r->s->file);
	json_kv_uint(&w, "seed", r->s->seed);
	json_kv_uint(&w, "units", r->n_machines);
	json_kv_string(&w, "result", report_verdict(status));
	json_kv_int(&w, "exit_status", status);
	json_key(&w, "error"); /* why the run could not be set up (result "error") */
	json_string(&w, status == 2 && r->setup_msg[0] ? r->setup_msg : NULL);
	json_kv_double(&w, "wall_seconds", (r->end_ns - r->start_ns) / 1e9, 6);
	json_kv_bool(&w, "timed_out", r->timed_out);
	json_kv_uint(&w, "stack_errors", r->stack_errors);
	json_key(&w, "stack_error");
	json_string(&w, r->stack_errors ? r->stack_msg : NULL);
	json_dma(r, &w);
	json_dma_api(r, &w);
	json_caches(r, &w);
	json_invalidations(r, &w);
	json_faults(r, &w);
	json_findings(r, &w);
	json_debug(r, &w);
	json_phases(r, &w);
	json_expects(r, &w, x);
	json_end_object(&w);
	return json_finish(&w);
}
