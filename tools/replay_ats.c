// SPDX-License-Identifier: MIT
/*
 * `softiommu replay`: PCI endpoints with ATS behind the unit (`ats`), and DMA through them
 * (`dma`), so that vectors can check the device TLB the way a device uses it: filled by
 * translation requests, emptied by the device-TLB invalidations the unit forwards (digest
 * 5.4, 5.9), and compared with the unit by the endpoint's checker in check mode.
 *
 * The unit reaches each endpoint through a port of the replayer's: it passes invalidations
 * on to the endpoint's own port, or, in mode `bad`, answers with an error - an invalid
 * completion (FSTS.ICE). `hung` and `removed` are the endpoint's own fault injection
 * (pci_endpoint_set_state): its port times out (FSTS.ITE).
 */
#include "replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct replay_ep *ep_find(struct replay *r, uint16_t sid)
{
	for (unsigned i = 0; i < r->neps; i++)
		if (r->eps[i].sid == sid)
			return &r->eps[i];
	return NULL;
}

static struct replay_ep *ep_need(struct replay *r, const struct vec_stmt *s, uint16_t sid)
{
	struct replay_ep *e = ep_find(r, sid);

	if (!e)
		replay_input_error(r, s, 0,
				   "no endpoint at %02x:%02x.%x (connect one with `ats connect`)",
				   sid >> 8, (sid >> 3) & 0x1f, sid & 7);
	return e;
}

static int port_invalidate(void *ctx, const struct pci_ats_inv *inv)
{
	struct replay_ep *e = ctx;

	if (e->mode == VEC_ATS_BAD)
		return -EPROTO;
	return e->port.invalidate(e->port.ctx, inv);
}

static void atc_mismatch_cb(void *ctx, const struct pci_atc_mismatch *m)
{
	struct replay_stale st = {
	    .cache = VEC_CACHE_ATC,
	    /* A device TLB is emptied by type 3 for requests without PASID, by type 8 for
	     * requests with one (digest 5.4, 5.9, 5.11). */
	    .missing = m->has_pasid ? VEC_MISSING_PDEVTLB : VEC_MISSING_DEVTLB,
	    .sid = m->rid,
	    .has_pasid = m->has_pasid,
	    .pasid = m->pasid,
	    .addr = m->addr,
	};

	snprintf(st.text, sizeof(st.text),
		 "the ATC held 0x%" PRIx64 " -> 0x%" PRIx64 "; the unit says %s 0x%" PRIx64
		 " perm 0x%x",
		 m->atc.addr, m->atc_pa, m->ref_err || m->ref.status != PCI_SC ? "refused" : "ok",
		 m->ref.addr, m->ref.perm);
	replay_add_stale(ctx, &st);
}

static int ep_set_mode(struct replay_ep *e, enum vec_ats_mode mode)
{
	e->mode = mode;
	return pci_endpoint_set_state(e->ep, mode == VEC_ATS_HUNG      ? PCI_EP_HUNG
					     : mode == VEC_ATS_REMOVED ? PCI_EP_REMOVED
								       : PCI_EP_ACTIVE);
}

static void opt_or(const struct vec_opt *o, uint64_t dflt, uint64_t *v)
{
	*v = o->set ? o->value : dflt;
}

/* The endpoint: PASID (with privileged and execute modes) and ATS enabled, an ATC. */
static int ep_create(struct replay *r, const struct vec_stmt *s, struct pci_endpoint **out)
{
	struct pci_endpoint_config cfg = {.rid = s->u.ats.sid, .ats = true, .ats_enable = true};
	uint64_t v;

	opt_or(&s->u.ats.pasid_width, 20, &v);
	cfg.pasid_width = (uint8_t)v;
	if (v) {
		cfg.pasid_enable = cfg.pasid_priv_supported = cfg.pasid_priv_enable = true;
		cfg.pasid_exec_supported = cfg.pasid_exec_enable = true;
	}
	opt_or(&s->u.ats.global_inv, 1, &v);
	cfg.ats_global_inv = v;
	opt_or(&s->u.ats.stu, 0, &v);
	cfg.ats_stu = (uint8_t)v;
	opt_or(&s->u.ats.atc_sets, 16, &v);
	cfg.atc_sets = (uint32_t)v;
	opt_or(&s->u.ats.atc_ways, 4, &v);
	cfg.atc_ways = (uint32_t)v;
	cfg.agent = vtd_translation_agent(r->vtd);
	cfg.mem = r->mem;
	return pci_endpoint_create(&cfg, out);
}

void replay_ats_connect(struct replay *r, const struct vec_stmt *s)
{
	struct pci_translation_agent ref = vtd_translation_agent(r->vtd);
	struct replay_ep *e;
	struct pci_ats_port port;
	int ret;

	if (ep_find(r, s->u.ats.sid) || r->neps == REPLAY_ENDPOINTS) {
		replay_input_error(r, s, 0, "%s",
				   r->neps == REPLAY_ENDPOINTS
				       ? "too many endpoints"
				       : "an endpoint is already connected there");
		return;
	}
	e = &r->eps[r->neps];
	memset(e, 0, sizeof(*e));
	ret = ep_create(r, s, &e->ep);
	if (ret) {
		replay_input_error(r, s, 0,
				   "cannot create the endpoint: %s (atc_sets must be a "
				   "power of two)",
				   strerror(-ret));
		return;
	}
	r->neps++;
	e->r = r;
	e->sid = s->u.ats.sid;
	e->port = pci_endpoint_ats_port(e->ep);
	port = (struct pci_ats_port){.invalidate = port_invalidate, .ctx = e};
	/* The endpoint's checker asks the unit itself: with check mode on in the unit too,
	 * the unit's caches are compared with memory on that path as well. */
	if ((r->check && (ret = pci_endpoint_set_checker(e->ep, &ref, atc_mismatch_cb, r))) ||
	    (ret = ep_set_mode(e, s->u.ats.mode)) || (ret = vtd_connect_ats(r->vtd, e->sid, &port)))
		replay_input_error(r, s, 0, "cannot connect the endpoint: %s", strerror(-ret));
	pci_endpoint_get_stats(e->ep, &e->prev);
}

void replay_ats_state(struct replay *r, const struct vec_stmt *s)
{
	struct replay_ep *e = ep_need(r, s, s->u.ats.sid);

	if (e && ep_set_mode(e, s->u.ats.mode))
		replay_input_error(r, s, 0, "cannot change the endpoint's state");
}

void replay_ats_entry(struct replay *r, const struct vec_stmt *s)
{
	struct replay_ep *e = ep_need(r, s, s->u.entry.sid);
	unsigned flags =
	    (s->u.entry.has_pasid ? PCI_DMA_PASID : 0) | (s->u.entry.priv ? PCI_DMA_PRIV : 0);
	struct pci_atc_view v;
	char ex[200], got[200], sz[32], perm[8];
	uint64_t pa;
	bool ok;
	int ret;

	if (!e)
		return;
	ret = pci_endpoint_atc_peek(e->ep, flags, s->u.entry.pasid, s->u.entry.addr, &v);
	if (ret && ret != -ENOENT) {
		replay_input_error(r, s, 0, "cannot look into the ATC: %s", strerror(-ret));
		return;
	}
	snprintf(ex, sizeof(ex), "the ATC %s an entry for 0x%" PRIx64,
		 s->u.entry.present ? "has" : "has no", s->u.entry.addr);
	if (ret) {
		snprintf(got, sizeof(got), "none");
		replay_report(r, s, !s->u.entry.present, ex, got);
		return;
	}
	pa = v.pa + (s->u.entry.addr - v.addr);
	replay_format_size(v.size, sz, sizeof(sz));
	vec_format_perm(v.perm, perm);
	snprintf(got, sizeof(got), "0x%" PRIx64 " -> 0x%" PRIx64 " size=%s perm=%s", v.addr, v.pa,
		 sz, perm);
	ok = s->u.entry.present && (!s->u.entry.pa.set || pa == s->u.entry.pa.value) &&
	     (!s->u.entry.size.set || v.size == s->u.entry.size.value) &&
	     (!s->u.entry.perm.set || v.perm == s->u.entry.perm.value);
	if (s->u.entry.present) {
		size_t l = strlen(ex);

		if (s->u.entry.pa.set)
			l += (size_t)snprintf(ex + l, sizeof(ex) - l, " pa=0x%" PRIx64,
					      s->u.entry.pa.value);
		if (s->u.entry.size.set) {
			replay_format_size(s->u.entry.size.value, sz, sizeof(sz));
			l += (size_t)snprintf(ex + l, sizeof(ex) - l, " size=%s", sz);
		}
		if (s->u.entry.perm.set) {
			vec_format_perm(s->u.entry.perm.value, perm);
			snprintf(ex + l, sizeof(ex) - l, " perm=%s", perm);
		}
	}
	replay_report(r, s, ok, ex, got);
}

#define EP_STAT(f)                                                                                 \
	{                                                                                          \
#f, offsetof(struct pci_endpoint_stats, f)                                         \
	}

static const struct {
	const char *name;
	size_t offset;
} ep_stat_names[] = {
    EP_STAT(hits),
    EP_STAT(misses),
    EP_STAT(translation_requests),
    EP_STAT(translated_requests),
    EP_STAT(untranslated_requests),
    EP_STAT(faults),
    EP_STAT(invalidations),
    EP_STAT(inv_entries),
    EP_STAT(inv_timeouts),
    EP_STAT(evictions),
    EP_STAT(retries),
    EP_STAT(check_mismatches),
    EP_STAT(atc_entries),
};

#define NEPSTATS (sizeof(ep_stat_names) / sizeof(ep_stat_names[0]))

static uint64_t ep_stat(const struct pci_endpoint_stats *st, size_t i)
{
	uint64_t v;

	memcpy(&v, (const char *)st + ep_stat_names[i].offset, sizeof(v));
	return v;
}

void replay_ats_stats(struct replay *r, const struct vec_stmt *s)
{
	struct replay_ep *e = ep_need(r, s, s->u.counters.sid);
	struct pci_endpoint_stats now;
	char ex[600], got[600];
	size_t el = 0, gl = 0;
	bool ok = true;

	if (!e)
		return;
	pci_endpoint_get_stats(e->ep, &now);
	for (unsigned k = 0; k < s->u.counters.count; k++) {
		const struct vec_counter *c = &s->u.counters.c[k];
		uint64_t v;
		size_t i;

		for (i = 0; i < NEPSTATS && strcmp(ep_stat_names[i].name, c->name); i++)
			;
		if (i == NEPSTATS) {
			replay_input_error(r, s, c->col,
					   "unknown endpoint counter '%s' (docs/vectors.md lists "
					   "them)",
					   c->name);
			return;
		}
		/* atc_entries is a level, not a count: += compares its change. */
		v = ep_stat(&now, i) - (c->delta ? ep_stat(&e->prev, i) : 0);
		if (el < sizeof(ex))
			el += (size_t)snprintf(ex + el, sizeof(ex) - el, "%s%s%s%" PRIu64,
					       el ? " " : "", c->name, c->delta ? "+=" : "=",
					       c->value);
		if (v != c->value && gl < sizeof(got)) {
			ok = false;
			gl += (size_t)snprintf(got + gl, sizeof(got) - gl, "%s%s%s%" PRIu64,
					       gl ? " " : "", c->name, c->delta ? "+=" : "=", v);
		}
	}
	e->prev = now;
	replay_report(r, s, ok, ex, got);
}

/* ---- DMA ------------------------------------------------------------------------------------ */

/* Byte i of a pattern: byte i % 8 of the 64-bit value, little-endian. */
static uint8_t pattern_byte(uint64_t v, uint64_t i)
{
	return (uint8_t)(v >> (8 * (i & 7)));
}

static void dma_expected(const struct vec_dma *d, char *buf, size_t n)
{
	size_t l;
	char reason[32];

	if (d->error)
		l = (size_t)snprintf(buf, n, "error %s", vec_errno_name(d->error));
	else
		l = (size_t)snprintf(buf, n, "ok");
	if (d->data.set && !d->write)
		l += (size_t)snprintf(buf + l, n - l, " data=0x%" PRIx64, d->data.value);
	if (d->fault.set) {
		replay_format_reason(d->fault.value, reason, sizeof(reason));
		l += (size_t)snprintf(buf + l, n - l, " fault=%s", reason);
	}
	if (d->atc.set)
		snprintf(buf + l, n - l, " atc=%s", d->atc.value ? "hit" : "miss");
}

static bool dma_data_ok(const struct vec_dma *d, const uint8_t *buf)
{
	for (uint64_t i = 0; i < d->len; i++)
		if (buf[i] != pattern_byte(d->data.value, i))
			return false;
	return true;
}

void replay_dma(struct replay *r, const struct vec_stmt *s)
{
	const struct vec_dma *d = &s->u.dma;
	struct replay_ep *e = ep_need(r, s, d->sid);
	unsigned flags = (d->has_pasid ? PCI_DMA_PASID : 0) | (d->priv ? PCI_DMA_PRIV : 0) |
			 (d->exec ? PCI_DMA_EXEC : 0);
	struct pci_endpoint_stats before, after;
	struct pci_dma_status st = {0};
	char ex[160], got[300], reason[32];
	uint64_t first = 0, hits, misses;
	uint8_t *buf;
	size_t gl;
	bool ok;
	int ret;

	if (!e)
		return;
	buf = malloc(d->len);
	if (!buf) {
		replay_input_error(r, s, 0, "out of memory");
		return;
	}
	for (uint64_t i = 0; i < d->len; i++)
		buf[i] = d->write ? pattern_byte(d->data.value, i) : 0;
	pci_endpoint_get_stats(e->ep, &before);
	if (d->write)
		ret = pci_endpoint_dma_write(e->ep, flags, d->pasid, d->addr, buf, d->len, &st);
	else
		ret = pci_endpoint_dma_read(e->ep, flags, d->pasid, d->addr, buf, d->len, &st);
	pci_endpoint_get_stats(e->ep, &after);
	hits = after.hits - before.hits;
	misses = after.misses - before.misses;
	memcpy(&first, buf, d->len < 8 ? d->len : 8);
	dma_expected(d, ex, sizeof(ex));
	if (!ret) {
		gl = (size_t)snprintf(got, sizeof(got), "ok");
		if (!d->write)
			gl += (size_t)snprintf(got + gl, sizeof(got) - gl, " data=0x%" PRIx64 "%s",
					       first, d->len > 8 ? "..." : "");
	} else {
		const char *name = vec_errno_name(-ret);

		replay_format_reason(st.fault, reason, sizeof(reason));
		gl =
		    (size_t)snprintf(got, sizeof(got), "error %s%s at 0x%" PRIx64 " fault=%s",
				     name ? name : "", name ? "" : strerror(-ret), st.addr, reason);
	}
	snprintf(got + gl, sizeof(got) - gl, " atc hits=%" PRIu64 " misses=%" PRIu64, hits, misses);
	ok = d->error ? ret == -d->error : ret == 0;
	if (ok && !d->error && !d->write && d->data.set)
		ok = dma_data_ok(d, buf);
	if (ok && d->fault.set)
		ok = st.fault == d->fault.value;
	if (ok && d->atc.set)
		ok = d->atc.value ? hits && !misses : misses && !hits;
	free(buf);
	replay_report(r, s, ok, ex, got);
}

void replay_eps_destroy(struct replay *r)
{
	for (unsigned i = 0; i < r->neps; i++)
		pci_endpoint_destroy(r->eps[i].ep);
	r->neps = 0;
}
