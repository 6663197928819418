// SPDX-License-Identifier: MIT
/*
 * `softiommu replay`: the invalidation queue as software fills it (`iq`), its error record
 * (`iqercd`), the unit's counters (`stats`) and the stale-translation checker (`check`).
 *
 * `iq` statements place descriptors where software would: at the queue's base (IQA) plus
 * the software tail, which starts at IQT as the unit holds it and advances by the
 * descriptor width (IQA.DW) modulo the queue size (IQA.QS), digest 1.7. Nothing reaches the
 * unit until `iq submit` writes IQT, so a batch is processed the way one IQT write makes
 * it processed (digest 5.6: waits and fences see the descriptors before them).
 */
#include "replay.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the queue ---------------------------------------------------------------------------- */

struct iq_geom {
	uint64_t base, size; /* bytes */
	unsigned width;	     /* bytes per descriptor */
};

static bool iq_geometry(struct replay *r, const struct vec_stmt *s, struct iq_geom *g)
{
	uint64_t iqa = 0;

	if (vtd_mmio_read(r->vtd, VTD_REG_IQA, 8, &iqa)) {
		replay_input_error(r, s, 0, "IQA cannot be read");
		return false;
	}
	g->base = iqa & VTD_IQA_IQA_MASK;
	g->size = 4096ull << VTD_GET(iqa, VTD_IQA_QS);
	g->width = (iqa & VTD_IQA_DW) ? 32 : 16;
	return true;
}

/* The IQT value that starts a batch: the queue tail field (bits 18:4) as the unit has it. */
static uint64_t iq_hw_tail(struct replay *r)
{
	uint64_t iqt = 0;

	vtd_mmio_read(r->vtd, VTD_REG_IQT, 8, &iqt);
	return iqt & 0x7fff0;
}

void replay_iq(struct replay *r, const struct vec_stmt *s)
{
	uint64_t q[4] = {0};
	struct iq_geom g;
	unsigned nq;

	if (!iq_geometry(r, s, &g))
		return;
	if (s->u.iq.nq == 4 && g.width == 16) {
		replay_input_error(r, s, 0,
				   "a 256-bit descriptor (four qwords) in a 128-bit queue "
				   "(IQA.DW = 0)");
		return;
	}
	if (!r->iq_pending) {
		r->iq_tail = iq_hw_tail(r);
		r->iq_pending = true;
	}
	r->iq_tail %= g.size;
	memcpy(q, s->u.iq.q, sizeof(q));
	nq = g.width / 8;
	for (unsigned i = 0; i < nq; i++) {
		uint64_t a = g.base + r->iq_tail + 8 * i;

		if (replay_mem_failed(r, s, mem_write(r->mem, a, &q[i], 8), a, 8))
			return;
	}
	r->iq_tail = (r->iq_tail + g.width) % g.size;
}

void replay_iq_submit(struct replay *r, const struct vec_stmt *s)
{
	uint64_t tail = s->u.submit.tail.set ? s->u.submit.tail.value
			: r->iq_pending	     ? r->iq_tail
					     : iq_hw_tail(r);
	char what[64], got[64];
	int ret;

	r->iq_pending = false;
	ret = vtd_mmio_write(r->vtd, VTD_REG_IQT, 8, tail);
	if (ret) {
		snprintf(what, sizeof(what), "IQT write of 0x%" PRIx64 " accepted", tail);
		snprintf(got, sizeof(got), "error %d", ret);
		replay_report(r, s, false, what, got);
	}
}

/* IQA, then QIE set the way software sets a GCMD bit: GSTS's level bits plus QIE. */
void replay_iq_enable(struct replay *r, const struct vec_stmt *s)
{
	bool dw =
	    s->u.enable.dw.set ? s->u.enable.dw.value : (vtd_ecap(r->vtd) & VTD_ECAP_SMTS) != 0;
	uint64_t gsts = 0;

	r->iq_pending = false;
	if (vtd_mmio_write(r->vtd, VTD_REG_IQA, 8,
			   s->u.enable.addr | s->u.enable.qs | (dw ? VTD_IQA_DW : 0)) ||
	    vtd_mmio_read(r->vtd, VTD_REG_GSTS, 4, &gsts) ||
	    vtd_mmio_write(r->vtd, VTD_REG_GCMD, 4,
			   (gsts & VTD_GSTS_PERSISTENT_MASK) | VTD_GCMD_QIE))
		replay_report(r, s, false, "IQA and GCMD writes accepted", "an MMIO error");
}

void replay_iqercd(struct replay *r, const struct vec_stmt *s)
{
	static const char *const names[] = {"iqei", "itesid", "icesid"};
	const struct vec_opt *o[] = {&s->u.iqercd.iqei, &s->u.iqercd.itesid, &s->u.iqercd.icesid};
	uint64_t v = 0, got[3];
	char e[128] = "IQERCD", g[128] = "IQERCD";
	size_t el = 6, gl = 6;
	bool ok = true;

	if (vtd_mmio_read(r->vtd, VTD_REG_IQERCD, 8, &v)) {
		replay_report(r, s, false, "IQERCD readable", "an MMIO error");
		return;
	}
	got[0] = VTD_GET(v, VTD_IQERCD_IQEI);
	got[1] = VTD_GET(v, VTD_IQERCD_ITESID);
	got[2] = VTD_GET(v, VTD_IQERCD_ICESID);
	for (unsigned i = 0; i < 3; i++) {
		if (!o[i]->set)
			continue;
		el += (size_t)snprintf(e + el, sizeof(e) - el, " %s=0x%" PRIx64, names[i],
				       o[i]->value);
		gl += (size_t)snprintf(g + gl, sizeof(g) - gl, " %s=0x%" PRIx64, names[i], got[i]);
		ok = ok && got[i] == o[i]->value;
	}
	replay_report(r, s, ok, e, g);
}

/* ---- counters ------------------------------------------------------------------------------ */

#define STAT_INV(f)                                                                                \
	{                                                                                          \
		"inv." #f, offsetof(struct vtd_stats, inv.f)                                       \
	}
#define STAT_CACHE(name, id, f)                                                                    \
	{                                                                                          \
#name "." #f, offsetof(struct vtd_stats, cache.cache[id].f)                        \
	}
#define STAT_CACHE_ALL(name, id)                                                                   \
	STAT_CACHE(name, id, hits), STAT_CACHE(name, id, misses), STAT_CACHE(name, id, fills),     \
	    STAT_CACHE(name, id, evictions), STAT_CACHE(name, id, invalidated)

/* Every counter of struct vtd_stats by the name `stats` uses. */
static const struct {
	const char *name;
	size_t offset;
} stat_names[] = {
    STAT_INV(cc_global),
    STAT_INV(cc_domain),
    STAT_INV(cc_device),
    STAT_INV(iotlb_global),
    STAT_INV(iotlb_domain),
    STAT_INV(iotlb_page),
    STAT_INV(devtlb),
    STAT_INV(iec_global),
    STAT_INV(iec_index),
    STAT_INV(wait),
    STAT_INV(piotlb_pasid),
    STAT_INV(piotlb_page),
    STAT_INV(pc_global),
    STAT_INV(pc_domain),
    STAT_INV(pc_pasid),
    STAT_INV(pdevtlb),
    STAT_INV(pdevtlb_global),
    STAT_INV(reg_cc_global),
    STAT_INV(reg_cc_domain),
    STAT_INV(reg_cc_device),
    STAT_INV(reg_iotlb_global),
    STAT_INV(reg_iotlb_domain),
    STAT_INV(reg_iotlb_page),
    STAT_INV(reg_ignored),
    STAT_INV(descriptors),
    STAT_INV(wait_aborted),
    STAT_INV(fenced_dropped),
    STAT_INV(status_dropped),
    STAT_INV(iqe),
    STAT_INV(ite),
    STAT_INV(ice),
    STAT_INV(unclean_disable),
    STAT_CACHE_ALL(context, VTD_CACHE_CONTEXT),
    STAT_CACHE_ALL(pasid, VTD_CACHE_PASID),
    STAT_CACHE_ALL(iotlb, VTD_CACHE_IOTLB),
    STAT_CACHE_ALL(pscache_fs, VTD_CACHE_PSCACHE_FS),
    STAT_CACHE_ALL(pscache_ss, VTD_CACHE_PSCACHE_SS),
    {"stale.context", offsetof(struct vtd_stats, cache.stale[VTD_CACHE_CONTEXT])},
    {"stale.pasid", offsetof(struct vtd_stats, cache.stale[VTD_CACHE_PASID])},
    {"stale.iotlb", offsetof(struct vtd_stats, cache.stale[VTD_CACHE_IOTLB])},
    {"stale.pscache_fs", offsetof(struct vtd_stats, cache.stale[VTD_CACHE_PSCACHE_FS])},
    {"stale.pscache_ss", offsetof(struct vtd_stats, cache.stale[VTD_CACHE_PSCACHE_SS])},
    {"checked", offsetof(struct vtd_stats, cache.checked)},
};

#define NSTATS (sizeof(stat_names) / sizeof(stat_names[0]))

static uint64_t stat_get(const struct vtd_stats *st, size_t i)
{
	uint64_t v;

	memcpy(&v, (const char *)st + stat_names[i].offset, sizeof(v));
	return v;
}

void replay_stats(struct replay *r, const struct vec_stmt *s)
{
	struct vtd_stats now;
	char e[600], g[600];
	size_t el = 0, gl = 0;
	bool ok = true;

	if (vtd_get_stats(r->vtd, &now)) {
		replay_report(r, s, false, "the unit's counters", "an error");
		return;
	}
	for (unsigned k = 0; k < s->u.counters.count; k++) {
		const struct vec_counter *c = &s->u.counters.c[k];
		uint64_t v;
		size_t i;

		for (i = 0; i < NSTATS && strcmp(stat_names[i].name, c->name); i++)
			;
		if (i == NSTATS) {
			replay_input_error(r, s, c->col,
					   "unknown counter '%s' (docs/vectors.md lists them)",
					   c->name);
			return;
		}
		v = stat_get(&now, i) - (c->delta ? stat_get(&r->prev_stats, i) : 0);
		if (el < sizeof(e))
			el += (size_t)snprintf(e + el, sizeof(e) - el, "%s%s%s%" PRIu64,
					       el ? " " : "", c->name, c->delta ? "+=" : "=",
					       c->value);
		if (v != c->value && gl < sizeof(g)) {
			ok = false;
			gl += (size_t)snprintf(g + gl, sizeof(g) - gl, "%s%s%s%" PRIu64,
					       gl ? " " : "", c->name, c->delta ? "+=" : "=", v);
		}
	}
	r->prev_stats = now;
	replay_report(r, s, ok, e, g);
}

/* ---- the checker --------------------------------------------------------------------------- */

void replay_add_stale(struct replay *r, const struct replay_stale *st)
{
	if (r->nstale < REPLAY_REPORTS)
		r->stale[r->nstale] = *st;
	r->nstale++;
}

/* The invalidation a unit report names, from the start of its text (vtd.h: `missing`). */
static int missing_kind(const char *text)
{
	static const struct {
		const char *prefix;
		enum vec_missing kind;
	} kinds[] = {
	    {"context-cache", VEC_MISSING_CC},
	    {"PASID-cache", VEC_MISSING_PC},
	    {"PASID-based IOTLB", VEC_MISSING_PIOTLB},
	    {"IOTLB", VEC_MISSING_IOTLB},
	    {"none", VEC_MISSING_NONE},
	};

	for (size_t i = 0; text && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strncmp(text, kinds[i].prefix, strlen(kinds[i].prefix)))
			return (int)kinds[i].kind;
	return -1;
}

void replay_stale_cb(void *ctx, const struct vtd_stale *rep)
{
	static const enum vec_cache caches[VTD_CACHE_COUNT] = {
	    [VTD_CACHE_CONTEXT] = VEC_CACHE_CONTEXT,
	    [VTD_CACHE_PASID] = VEC_CACHE_PASID,
	    [VTD_CACHE_IOTLB] = VEC_CACHE_IOTLB,
	    [VTD_CACHE_PSCACHE_FS] = VEC_CACHE_PSCACHE_FS,
	    [VTD_CACHE_PSCACHE_SS] = VEC_CACHE_PSCACHE_SS,
	};
	struct replay_stale st = {
	    .cache = (unsigned)rep->cache < VTD_CACHE_COUNT ? caches[rep->cache] : VEC_CACHE_IOTLB,
	    .missing = missing_kind(rep->missing),
	    .sid = rep->sid,
	    .has_pasid = rep->has_pasid,
	    .pasid = rep->pasid,
	    .addr = rep->addr,
	};

	snprintf(st.text, sizeof(st.text), "missing %s; %s", rep->missing ? rep->missing : "?",
		 rep->detail);
	replay_add_stale(ctx, &st);
}

static void format_stale(const struct replay_stale *st, char *buf, size_t n)
{
	char pasid[16];

	if (st->has_pasid)
		snprintf(pasid, sizeof(pasid), "0x%" PRIx32, st->pasid);
	else
		snprintf(pasid, sizeof(pasid), "none");
	snprintf(buf, n, "{cache=%s missing=%s sid=%02x:%02x.%x pasid=%s addr=0x%" PRIx64 " (%s)}",
		 vec_cache_name(st->cache),
		 st->missing >= 0 ? vec_missing_name((enum vec_missing)st->missing) : "?",
		 st->sid >> 8, (st->sid >> 3) & 0x1f, st->sid & 7, pasid, st->addr, st->text);
}

static bool stale_matches(const struct vec_stmt *s, const struct replay_stale *st)
{
	const struct vec_opt *pasid = &s->u.check.pasid;

	if (s->u.check.cache.set && st->cache != s->u.check.cache.value)
		return false;
	if (s->u.check.missing.set && st->missing != (int)s->u.check.missing.value)
		return false;
	if (s->u.check.sid.set && st->sid != s->u.check.sid.value)
		return false;
	if (pasid->set &&
	    (pasid->value == VEC_PASID_NONE ? st->has_pasid
					    : !st->has_pasid || st->pasid != pasid->value))
		return false;
	return !s->u.check.addr.set || st->addr == s->u.check.addr.value;
}

/* The expectation in the vector's words. */
static void format_check(const struct vec_stmt *s, char *e, size_t n)
{
	size_t l = (size_t)snprintf(e, n, "%" PRIu64 " stale reports", s->u.check.stale);

	if (s->u.check.cache.set)
		l += (size_t)snprintf(e + l, l < n ? n - l : 0, " cache=%s",
				      vec_cache_name((enum vec_cache)s->u.check.cache.value));
	if (s->u.check.missing.set)
		l += (size_t)snprintf(e + l, l < n ? n - l : 0, " missing=%s",
				      vec_missing_name((enum vec_missing)s->u.check.missing.value));
	if (s->u.check.sid.set)
		l += (size_t)snprintf(e + l, l < n ? n - l : 0, " sid=0x%04" PRIx64,
				      s->u.check.sid.value);
	if (s->u.check.pasid.set) {
		if (s->u.check.pasid.value == VEC_PASID_NONE)
			l += (size_t)snprintf(e + l, l < n ? n - l : 0, " pasid=none");
		else
			l += (size_t)snprintf(e + l, l < n ? n - l : 0, " pasid=0x%" PRIx64,
					      s->u.check.pasid.value);
	}
	if (s->u.check.addr.set)
		snprintf(e + l, l < n ? n - l : 0, " addr=0x%" PRIx64, s->u.check.addr.value);
}

/* Every report since the previous `check` must match; then they are forgotten. */
void replay_check(struct replay *r, const struct vec_stmt *s)
{
	unsigned kept = r->nstale < REPLAY_REPORTS ? r->nstale : REPLAY_REPORTS;
	bool ok = r->nstale == s->u.check.stale;
	char e[200], g[700];
	size_t gl;
	int bad = -1;

	if (!r->check) {
		replay_input_error(r, s, 0, "`check` needs check mode: `config check on`");
		return;
	}
	format_check(s, e, sizeof(e));
	gl = (size_t)snprintf(g, sizeof(g), "%u", r->nstale);
	for (unsigned i = 0; i < kept && bad < 0; i++)
		if (!stale_matches(s, &r->stale[i]))
			bad = (int)i;
	if (bad >= 0 || (!ok && kept)) {
		char one[400];

		ok = false;
		format_stale(&r->stale[bad >= 0 ? bad : 0], one, sizeof(one));
		snprintf(g + gl, sizeof(g) - gl, ", %s %s",
			 bad >= 0 ? "one not matching" : "the first", one);
	}
	replay_report(r, s, ok, e, g);
	r->nstale = 0;
}
