// SPDX-License-Identifier: MIT
/*
 * The scenario's expectations ([expect] sections, docs/scenarios.md) against what the run
 * counted, and the sums over slots the report shares with them.
 */
#include "run.h"

#include <string.h>

/* Slot range for a phase index (-1: every slot, setup included). */
static void slots(const struct run *r, int slot, unsigned *lo, unsigned *hi)
{
	if (slot < 0) {
		*lo = 0;
		*hi = r->n_slots;
	} else {
		*lo = (unsigned)slot;
		*hi = (unsigned)slot + 1;
	}
}

/* Does a (device, has_pasid, pasid) match a pasid selector? */
static bool pasid_matches(const struct run *r, int device, bool has_pasid, uint32_t pasid,
			  enum scenario_pasid_sel psel, uint32_t want)
{
	switch (psel) {
	case SCENARIO_PSEL_ANY:
		return true;
	case SCENARIO_PSEL_NONE:
		return !has_pasid;
	case SCENARIO_PSEL_VALUE:
		return has_pasid && pasid == want;
	case SCENARIO_PSEL_KERNEL:
		if (!has_pasid)
			return false;
		if (device >= 0)
			return run_device_kpasid(&r->devs[device], pasid);
		for (size_t i = 0; i < r->n_devs; i++)
			if (run_device_kpasid(&r->devs[i], pasid))
				return true;
		return false;
	}
	return false;
}

uint64_t run_sum_findings(struct run *r, int slot, int device, enum scenario_pasid_sel psel,
			  uint32_t pasid, enum scenario_cache_id cache)
{
	uint64_t n = 0;
	unsigned lo, hi;

	slots(r, slot, &lo, &hi);
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n_groups; i++) {
		const struct run_finding_group *g = &r->groups[i];

		if (g->slot < lo || g->slot >= hi || (device >= 0 && g->device != device) ||
		    (cache != SCENARIO_CACHE_ANY && g->cache != cache) ||
		    !pasid_matches(r, g->device, g->has_pasid, g->pasid, psel, pasid))
			continue;
		n += g->count;
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

uint64_t run_sum_faults(struct run *r, int slot, int device, enum scenario_pasid_sel psel,
			uint32_t pasid, uint8_t reason)
{
	uint64_t n = 0;
	unsigned lo, hi;

	slots(r, slot, &lo, &hi);
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n_faults; i++) {
		const struct run_fault *f = &r->faults[i];

		if (f->slot < lo || f->slot >= hi || (device >= 0 && f->device != device) ||
		    (reason && f->reason != reason) ||
		    !pasid_matches(r, f->device, f->has_pasid, f->pasid, psel, pasid))
			continue;
		n += f->count;
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

uint64_t run_sum_inv(struct run *r, int slot, int device, enum scenario_inv_type type,
		     enum scenario_inv_gran gran)
{
	size_t dev = device < 0 ? r->n_devs : (size_t)device;
	uint64_t n = 0;
	unsigned lo, hi;

	slots(r, slot, &lo, &hi);
	for (unsigned s = lo; s < hi; s++)
		for (unsigned t = 1; t < RUN_INV_TYPES; t++) {
			if (type != SCENARIO_IT_ANY && t != (unsigned)type)
				continue;
			for (unsigned g = 0; g < RUN_INV_GRANS; g++)
				if (gran == SCENARIO_IG_ANY || g == (unsigned)gran)
					n += atomic_load(run_inv(r, s, dev, t, g));
		}
	return n;
}

/* Hits and lookups of the unit's caches (every unit, or `device`'s) and device TLBs. */
void run_sum_caches(struct run *r, int slot, int device, struct run_cache_counts *out)
{
	static const enum scenario_cache_id map[VTD_CACHE_COUNT] = {
	    [VTD_CACHE_CONTEXT] = SCENARIO_CACHE_CONTEXT,
	    [VTD_CACHE_PASID] = SCENARIO_CACHE_PASID,
	    [VTD_CACHE_IOTLB] = SCENARIO_CACHE_IOTLB,
	    [VTD_CACHE_PSCACHE_FS] = SCENARIO_CACHE_PWC,
	    [VTD_CACHE_PSCACHE_SS] = SCENARIO_CACHE_PWC,
	};
	unsigned lo, hi;

	memset(out, 0, sizeof(*out));
	slots(r, slot, &lo, &hi);
	for (unsigned s = lo; s < hi; s++) {
		for (unsigned m = 0; m < r->n_machines; m++) {
			const struct vtd_cache_stats *v = &r->vcache[s * r->n_machines + m];

			if (device >= 0 && r->devs[device].rm != &r->machines[m])
				continue;
			for (unsigned c = 0; c < VTD_CACHE_COUNT; c++) {
				out->hits[map[c]] += v->cache[c].hits;
				out->misses[map[c]] += v->cache[c].misses;
				out->measured[map[c]] = true;
			}
			for (unsigned k = 0; k < 2; k++) {
				out->pwc_hits[k] += v->cache[VTD_CACHE_PSCACHE_FS + k].hits;
				out->pwc_misses[k] += v->cache[VTD_CACHE_PSCACHE_FS + k].misses;
			}
		}
		for (size_t i = 0; i < r->n_devs; i++) {
			const struct pci_endpoint_stats *e = &r->atc[s * r->n_devs + i];

			if ((device >= 0 && (size_t)device != i) || !r->devs[i].sd->ats)
				continue;
			out->hits[SCENARIO_CACHE_DEVTLB] += e->hits;
			out->misses[SCENARIO_CACHE_DEVTLB] += e->misses;
			out->measured[SCENARIO_CACHE_DEVTLB] = true;
		}
	}
}

/* Sum a workload counter over the slots and workloads a selector picks. */
static uint64_t sum_wl(struct run *r, const struct scenario_expect *e, size_t field)
{
	uint64_t n = 0;
	unsigned lo, hi;

	slots(r, e->phase, &lo, &hi);
	for (unsigned s = lo; s < hi && s < r->s->n_phases; s++)
		for (size_t w = 0; w < r->s->n_workloads; w++) {
			const struct run_wl_counts *c = run_wl(r, s, (unsigned)w);
			int dev = (int)r->s->workloads[w].device;

			if (!c->ran || (e->workload >= 0 && (size_t)e->workload != w) ||
			    (e->device >= 0 && e->device != dev) ||
			    !pasid_matches(r, dev, c->has_pasid, c->pasid, e->pasid_sel, e->pasid))
				continue;
			n += atomic_load((const _Atomic uint64_t *)((const char *)c + field));
		}
	return n;
}

static uint64_t sum_dev(struct run *r, const struct scenario_expect *e, const uint64_t *arr)
{
	uint64_t n = 0;
	unsigned lo, hi;

	slots(r, e->phase, &lo, &hi);
	for (unsigned s = lo; s < hi; s++)
		for (size_t i = 0; i < r->n_devs; i++)
			if (e->device < 0 || (size_t)e->device == i)
				n += arr[s * r->n_devs + i];
	return n;
}

static bool compare(uint64_t v, enum scenario_cmp cmp, uint64_t want)
{
	switch (cmp) {
	case SCENARIO_CMP_EQ:
		return v == want;
	case SCENARIO_CMP_NE:
		return v != want;
	case SCENARIO_CMP_LT:
		return v < want;
	case SCENARIO_CMP_LE:
		return v <= want;
	case SCENARIO_CMP_GT:
		return v > want;
	case SCENARIO_CMP_GE:
		return v >= want;
	}
	return false;
}

static bool hit_rate(struct run *r, const struct scenario_expect *e, uint64_t *value,
		     const char **why)
{
	struct run_cache_counts c;
	uint64_t lookups;

	run_sum_caches(r, e->phase, e->device, &c);
	if (!c.measured[e->cache]) {
		*why = "no such cache was in use";
		return false;
	}
	lookups = c.hits[e->cache] + c.misses[e->cache];
	if (!lookups) {
		*why = "the cache had no lookups";
		return false;
	}
	/* 0.01 % units, rounded down: a rate is never reported above what it is. */
	*value = c.hits[e->cache] * 10000 / lookups;
	return true;
}

bool run_expect_eval(struct run *r, const struct scenario_expect *e, uint64_t *value,
		     const char **why)
{
	*why = NULL;
	*value = 0;
	switch (e->metric) {
	case SCENARIO_M_CHECKER_FINDINGS:
		*value = run_sum_findings(r, e->phase, e->device, e->pasid_sel, e->pasid, e->cache);
		break;
	case SCENARIO_M_FAULTS:
		*value = run_sum_faults(r, e->phase, e->device, e->pasid_sel, e->pasid,
					(uint8_t)e->reason);
		break;
	case SCENARIO_M_DMA_OPS:
		*value = sum_wl(r, e, offsetof(struct run_wl_counts, ops));
		break;
	case SCENARIO_M_DMA_BYTES:
		*value = sum_wl(r, e, offsetof(struct run_wl_counts, bytes));
		break;
	case SCENARIO_M_FAILED_OPS:
		*value = sum_wl(r, e, offsetof(struct run_wl_counts, failed));
		break;
	case SCENARIO_M_VERIFIED_OPS:
		*value = sum_wl(r, e, offsetof(struct run_wl_counts, verified));
		break;
	case SCENARIO_M_DATA_MISMATCHES:
		*value = sum_wl(r, e, offsetof(struct run_wl_counts, mismatches));
		break;
	case SCENARIO_M_INVALIDATIONS:
		*value = run_sum_inv(r, e->phase, e->device, e->inv_type, e->inv_gran);
		break;
	case SCENARIO_M_HIT_RATE:
		if (!hit_rate(r, e, value, why))
			return false;
		break;
	case SCENARIO_M_DEBUG_FINDINGS:
		*value = sum_dev(r, e, r->debug);
		break;
	case SCENARIO_M_PASID_FALLBACKS:
		*value = sum_dev(r, e, r->fallbacks);
		break;
	default:
		*why = "unknown metric";
		return false;
	}
	if (r->timed_out && !*why) {
		*why = "the run was stopped by its timeout";
		return false;
	}
	return compare(*value, e->cmp, e->value);
}

bool run_expects_findings(const struct scenario *s)
{
	for (size_t i = 0; i < s->n_expects; i++)
		if (s->expects[i].metric == SCENARIO_M_CHECKER_FINDINGS)
			return true;
	return false;
}
