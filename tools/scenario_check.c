// SPDX-License-Identifier: MIT
/*
 * Scenario reader, pass 3: the sections against each other. The unit's capabilities
 * against each other (digest §1.2/§1.3), each device's policy against the unit, requester
 * IDs, which kernel PASIDs exist in which phase, and the expectations' selectors. Also
 * where the defaults that depend on other sections are resolved: a device's ATS and
 * requester ID, its DMA policy ([dma] overridden by [dma NAME], AUTO resolved), a
 * workload's PASID and seed, and the implicit phase.
 *
 * The kernel-PASID rule (docs/scenarios.md, "Kernel PASID"): kernel_pasid = on must be
 * able to succeed, so a device without a PASID capability, or a unit in legacy mode or
 * without PASID support, is an error; kernel_pasid = try is the scenario saying that the
 * fallback to DMA without PASID is expected, so it is accepted anywhere and the run
 * reports a pasid_fallback.
 */
#include "scenario_internal.h"

#include <string.h>

struct chk {
	struct scn_ctx *c;
	struct scn_read *r;
	struct scenario *s;
	bool kpasid_ever[SCENARIO_MAX_DEVICES]; /* the device has a kernel PASID at some point */
};

/* ---- the unit ------------------------------------------------------------------------------ */

static const struct scn_pos *iommu_pos(struct chk *k, unsigned key)
{
	static const struct scn_pos none = {0};
	const struct scn_pos *fallback = k->r->iommu_sec ? &k->r->iommu_sec->pos : &none;

	return scn_key_pos(&k->r->iommu_set, key, fallback);
}

static void check_legacy(struct chk *k)
{
	struct scenario_iommu *io = &k->s->iommu;
	const struct scn_keyset *set = &k->r->iommu_set;

	if (io->first_stage)
		scn_error(k->c, iommu_pos(k, IK_FIRST_STAGE),
			  "first_stage = yes needs mode = scalable: a legacy-mode unit translates "
			  "with second-stage tables only");
	if (io->nested)
		scn_error(k->c, iommu_pos(k, IK_NESTED),
			  "nested = yes needs mode = scalable (PGTT 011 lives in scalable-mode "
			  "PASID entries)");
	if (scn_isset(set, IK_SECOND_STAGE) && !io->second_stage)
		scn_error(k->c, iommu_pos(k, IK_SECOND_STAGE),
			  "second_stage = no is not possible in legacy mode: its context entries "
			  "always point to second-stage tables");
	if (io->pasid_bits)
		scn_error(k->c, iommu_pos(k, IK_PASID_BITS),
			  "legacy mode has no PASID support (a request with PASID faults with "
			  "RTA.2): leave pasid_bits out or set mode = scalable");
	io->first_stage = io->nested = false;
	io->second_stage = true;
	io->pasid_bits = 0;
}

static void check_cache(struct chk *k, struct scenario_cache *cc, unsigned ekey, unsigned wkey,
			const char *name)
{
	if (cc->entries == 0)
		return; /* disabled: ways do not matter */
	if (!scn_isset(&k->r->iommu_set, wkey) &&
	    (cc->ways > cc->entries || cc->entries % cc->ways)) {
		cc->ways = cc->entries; /* only the entries were given: fully associative */
		return;
	}
	if (cc->ways > cc->entries || cc->entries % cc->ways)
		scn_error(k->c, iommu_pos(k, scn_isset(&k->r->iommu_set, wkey) ? wkey : ekey),
			  "the %s has %u entries in %u ways: the ways must divide the entries",
			  name, cc->entries, cc->ways);
}

static void check_iommu(struct chk *k)
{
	struct scenario_iommu *io = &k->s->iommu;

	if (!k->r->iommu_ok)
		return;
	if (io->mode == SCENARIO_MODE_LEGACY)
		check_legacy(k);
	if (io->nested && (!io->first_stage || !io->second_stage))
		scn_error(k->c, iommu_pos(k, IK_NESTED),
			  "nested = yes needs first_stage = yes and second_stage = yes");
	if (io->five_level && !io->first_stage)
		scn_error(
		    k->c, iommu_pos(k, IK_FIVE_LEVEL),
		    "five_level = yes is first-stage 5-level paging: it needs first_stage = yes");
	else if (io->five_level && io->mgaw < 57)
		scn_error(k->c, iommu_pos(k, IK_MGAW),
			  "five_level = yes needs mgaw = 57 or more (it is %u)", io->mgaw);
	if (!io->first_stage && !io->second_stage && !io->pass_through)
		scn_error(k->c, iommu_pos(k, IK_PASS_THROUGH),
			  "this unit can neither translate nor pass through: enable first_stage, "
			  "second_stage or pass_through");
	if (io->inv_queue_pages & (io->inv_queue_pages - 1))
		scn_error(
		    k->c, iommu_pos(k, IK_INV_QUEUE_PAGES),
		    "inv_queue_pages must be a power of two (the queue is 2^QS pages, IQA.QS)");
	check_cache(k, &io->context_cache, IK_CONTEXT_CACHE_ENTRIES, IK_CONTEXT_CACHE_WAYS,
		    "context cache");
	check_cache(k, &io->pasid_cache, IK_PASID_CACHE_ENTRIES, IK_PASID_CACHE_WAYS,
		    "PASID cache");
	check_cache(k, &io->iotlb, IK_IOTLB_ENTRIES, IK_IOTLB_WAYS, "IOTLB");
	check_cache(k, &io->pwc, IK_PWC_ENTRIES, IK_PWC_WAYS, "paging-structure cache");
	if (io->haw < 64 && k->s->memory > (1ull << io->haw)) {
		static const struct scn_pos none = {0};
		const struct scn_pos *pos = scn_isset(&k->r->scenario_set, SK_MEMORY)
						? scn_key_pos(&k->r->scenario_set, SK_MEMORY, &none)
						: iommu_pos(k, IK_HAW);

		scn_error(k->c, pos, "memory exceeds what a %u-bit host address width can reach",
			  io->haw);
	}
}

/* ---- devices and their policy -------------------------------------------------------------- */

/* Where to blame a DMA policy key of device d: [dma d], else [dma], else [device d]. */
static const struct scn_pos *dma_pos(struct chk *k, unsigned d, unsigned key)
{
	if (scn_isset(&k->r->dma_over_set[d], key))
		return &k->r->dma_over_set[d].entry[key]->items[0].pos;
	return scn_key_pos(&k->r->dma_set, key, &k->r->dev_sec[d]->pos);
}

static void assign_rids(struct chk *k)
{
	struct scenario *s = k->s;
	unsigned next_dev = 1;
	uint8_t used[8192] = {0}; /* one bit per requester ID */

	for (size_t i = 0; i < s->n_devices; i++) {
		uint16_t rid = s->devices[i].rid;

		if (!scn_isset(&k->r->dev_set[i], DK_RID))
			continue;
		if (used[rid >> 3] & (1u << (rid & 7))) {
			size_t j;
			char b[16];

			for (j = 0; j < i && !(scn_isset(&k->r->dev_set[j], DK_RID) &&
					       s->devices[j].rid == rid);
			     j++)
				;
			scn_error(k->c, scn_key_pos(&k->r->dev_set[i], DK_RID, NULL),
				  "requester ID %s of device '%s' is already used by device '%s'",
				  scn_fmt_rid(rid, b, sizeof(b)), s->devices[i].name,
				  s->devices[j].name);
			scn_note(k->c, scn_key_pos(&k->r->dev_set[j], DK_RID, NULL),
				 "'%s' took it here", s->devices[j].name);
		}
		used[rid >> 3] |= (uint8_t)(1u << (rid & 7));
	}
	/* The rest get 00:01.0, 00:02.0, ... in order, skipping the ones taken. */
	for (size_t i = 0; i < s->n_devices; i++) {
		uint16_t rid;

		if (scn_isset(&k->r->dev_set[i], DK_RID) || k->r->dev_set[i].entry[DK_RID])
			continue;
		do
			rid = (uint16_t)(next_dev++ << 3);
		while (used[rid >> 3] & (1u << (rid & 7)));
		used[rid >> 3] |= (uint8_t)(1u << (rid & 7));
		s->devices[i].rid = rid;
	}
}

static void check_device(struct chk *k, unsigned i)
{
	struct scenario_device *d = &k->s->devices[i];
	const struct scn_keyset *set = &k->r->dev_set[i];

	if (!k->s->iommu.device_tlb) {
		if (d->ats && scn_isset(set, DK_ATS))
			scn_error(k->c, scn_key_pos(set, DK_ATS, NULL),
				  "ats = yes needs device_tlb = yes in [iommu] (ECAP.DT): the unit "
				  "cannot invalidate a device TLB");
		d->ats = false;
	}
	if (!d->ats && scn_isset(set, DK_DEVTLB_ENTRIES))
		scn_warning(k->c, scn_key_pos(set, DK_DEVTLB_ENTRIES, NULL),
			    "devtlb_entries has no effect: device '%s' does not use ATS", d->name);
	if (d->type == SCENARIO_DEV_NIC && (d->rx_ring & (d->rx_ring - 1)))
		scn_error(k->c, scn_key_pos(set, DK_RX_RING, NULL),
			  "rx_ring must be a power of two (the NIC's ring index wraps)");
	if (d->type == SCENARIO_DEV_NIC && (d->tx_ring & (d->tx_ring - 1)))
		scn_error(k->c, scn_key_pos(set, DK_TX_RING, NULL),
			  "tx_ring must be a power of two (the NIC's ring index wraps)");
}

/* [dma] with the keys [dma NAME] wrote replaced. */
static void merge_dma(struct scenario_dma *d, const struct scenario_dma *o,
		      const struct scn_keyset *set)
{
	if (scn_isset(set, MK_DEFAULT_DOMAIN))
		d->default_domain = o->default_domain;
	if (scn_isset(set, MK_PAGE_TABLE))
		d->page_table = o->page_table;
	if (scn_isset(set, MK_INVALIDATION))
		d->invalidation = o->invalidation;
	if (scn_isset(set, MK_FLUSH_QUEUE_SIZE))
		d->flush_queue_size = o->flush_queue_size;
	if (scn_isset(set, MK_FLUSH_TIMEOUT))
		d->flush_timeout_ns = o->flush_timeout_ns;
	if (scn_isset(set, MK_KERNEL_PASID))
		d->kernel_pasid = o->kernel_pasid;
	if (scn_isset(set, MK_DEBUG))
		d->debug = o->debug;
	if (scn_isset(set, MK_SKIP_INVALIDATION))
		d->skip_invalidation = o->skip_invalidation;
}

static void resolve_page_table(struct chk *k, unsigned i)
{
	const struct scenario_iommu *io = &k->s->iommu;
	struct scenario_dma *dma = &k->s->devices[i].dma;
	bool scalable = io->mode == SCENARIO_MODE_SCALABLE;
	bool has_first = scalable && io->first_stage;
	bool has_second = !scalable || io->second_stage;

	if (dma->page_table == SCENARIO_PT_AUTO) {
		dma->page_table = has_first ? SCENARIO_PT_FIRST : SCENARIO_PT_SECOND;
		if (!has_first && !has_second && dma->default_domain == SCENARIO_DOMAIN_TRANSLATED)
			scn_error(k->c, dma_pos(k, i, MK_DEFAULT_DOMAIN),
				  "device '%s' needs page tables, but the unit has neither "
				  "first_stage nor second_stage",
				  k->s->devices[i].name);
		return;
	}
	if (dma->default_domain != SCENARIO_DOMAIN_TRANSLATED)
		return;
	if (dma->page_table == SCENARIO_PT_FIRST && !has_first)
		scn_error(k->c, dma_pos(k, i, MK_PAGE_TABLE),
			  "page_table = first-stage for device '%s' needs %s",
			  k->s->devices[i].name,
			  scalable ? "first_stage = yes in [iommu]" : "mode = scalable in [iommu]");
	if (dma->page_table == SCENARIO_PT_SECOND && !has_second)
		scn_error(k->c, dma_pos(k, i, MK_PAGE_TABLE),
			  "page_table = second-stage for device '%s' needs second_stage = yes in "
			  "[iommu]",
			  k->s->devices[i].name);
}

/* Why dma_enable_pasid cannot succeed on device i, or NULL when it can. */
static const char *pasid_blocker(const struct chk *k, unsigned i)
{
	if (k->s->iommu.mode == SCENARIO_MODE_LEGACY)
		return "the unit is in legacy mode";
	if (k->s->iommu.pasid_bits == 0)
		return "the unit has no PASID support (pasid_bits = 0 in [iommu])";
	if (k->s->devices[i].pasid_bits == 0)
		return "the device has no PASID capability (pasid_bits = 0)";
	return NULL;
}

static void check_policy(struct chk *k, unsigned i)
{
	struct scenario_device *d = &k->s->devices[i];
	const char *why;

	d->dma = k->s->dma;
	merge_dma(&d->dma, &k->r->dma_over[i], &k->r->dma_over_set[i]);
	if (d->dma.kernel_pasid == SCENARIO_KPASID_AUTO)
		d->dma.kernel_pasid =
		    d->type == SCENARIO_DEV_DSA ? SCENARIO_KPASID_TRY : SCENARIO_KPASID_OFF;
	if (!k->r->iommu_ok || !k->r->dev_ok[i]) {
		/* Already an error; resolve quietly so later checks do not pile on. */
		if (d->dma.page_table == SCENARIO_PT_AUTO)
			d->dma.page_table = SCENARIO_PT_SECOND;
		return;
	}
	if (d->dma.default_domain == SCENARIO_DOMAIN_PASS_THROUGH && !k->s->iommu.pass_through)
		scn_error(k->c, dma_pos(k, i, MK_DEFAULT_DOMAIN),
			  "default_domain = pass-through for device '%s' needs pass_through = yes "
			  "in [iommu] (ECAP.PT)",
			  d->name);
	resolve_page_table(k, i);
	why = pasid_blocker(k, i);
	if (d->dma.kernel_pasid == SCENARIO_KPASID_ON && why)
		scn_error(k->c, dma_pos(k, i, MK_KERNEL_PASID),
			  "kernel_pasid = on cannot succeed on device '%s': %s; write kernel_pasid "
			  "= try if the fallback to DMA without PASID is what the scenario shows",
			  d->name, why);
}

/* ---- workloads ----------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void check_workload(struct chk *k, unsigned i)
{
	struct scenario_workload *w = &k->s->workloads[i];
	const struct scn_keyset *set = &k->r->wl_set[i];
	const struct scenario_device *d;

	if (!scn_isset(set, WK_SEED))
		w->seed = mix64(k->s->seed ^ mix64(i + 1)); /* distinct, stable per workload */
	if (!k->r->wl_ok[i])
		return;
	d = &k->s->devices[w->device];
	if (!scn_isset(set, WK_PASID) && d->type == SCENARIO_DEV_DSA)
		w->pasid = d->dma.kernel_pasid != SCENARIO_KPASID_OFF ? SCENARIO_WL_KERNEL
								      : SCENARIO_WL_NO_PASID;
	if (d->type == SCENARIO_DEV_STORAGE && w->segments > d->max_segments)
		scn_error(k->c, scn_key_pos(set, WK_SEGMENTS, &k->r->wl_sec[i]->pos),
			  "%u segments per request exceed device '%s's max_segments (%u)",
			  w->segments, d->name, d->max_segments);
	/* The NIC and storage drivers map each packet or request themselves. */
	if (d->type != SCENARIO_DEV_DSA && w->map == SCENARIO_MAP_ONCE)
		scn_error(k->c, scn_key_pos(set, WK_MAP, &k->r->wl_sec[i]->pos),
			  "map = once is for DSA workloads: the %s driver maps every %s itself "
			  "(%s) and unmaps it when the device is done",
			  d->type == SCENARIO_DEV_NIC ? "NIC" : "storage",
			  d->type == SCENARIO_DEV_NIC ? "packet" : "request",
			  d->type == SCENARIO_DEV_NIC ? "dma_map_single" : "dma_map_sg");
	if (w->count < w->threads)
		scn_warning(k->c, scn_key_pos(set, WK_THREADS, &k->r->wl_sec[i]->pos),
			    "%u threads share %llu operations: some will have nothing to do",
			    w->threads, (unsigned long long)w->count);
}

/* ---- phases -------------------------------------------------------------------------------- */

/* Where the kernel PASID of each device stands while the phases run in order. */
struct pasid_state {
	bool now[SCENARIO_MAX_DEVICES];	 /* enabled at this point */
	bool ever[SCENARIO_MAX_DEVICES]; /* enabled at some earlier point (a PASID exists) */
};

static void phase_pasid_changes(struct chk *k, unsigned p, struct pasid_state *st)
{
	const struct scenario_phase *ph = &k->s->phases[p];
	const struct scn_keyset *set = &k->r->phase_set[p];

	for (size_t j = 0; j < ph->n_disable_pasid; j++) {
		unsigned d = ph->disable_pasid[j];

		if (!st->now[d])
			scn_error(k->c, &set->entry[PK_DISABLE_PASID]->items[j].pos,
				  "the kernel PASID of device '%s' is not enabled at this point",
				  k->s->devices[d].name);
		st->now[d] = false;
	}
	for (size_t j = 0; j < ph->n_enable_pasid; j++) {
		unsigned d = ph->enable_pasid[j];
		const char *why = pasid_blocker(k, d);

		if (st->now[d])
			scn_error(k->c, &set->entry[PK_ENABLE_PASID]->items[j].pos,
				  "the kernel PASID of device '%s' is already enabled here",
				  k->s->devices[d].name);
		else if (why && k->s->devices[d].dma.kernel_pasid != SCENARIO_KPASID_TRY)
			scn_error(k->c, &set->entry[PK_ENABLE_PASID]->items[j].pos,
				  "enable_pasid cannot succeed on device '%s': %s (set "
				  "kernel_pasid = try in [dma %s] if the fallback is expected)",
				  k->s->devices[d].name, why, k->s->devices[d].name);
		st->now[d] = st->ever[d] = true;
	}
}

/*
 * A NIC's driver has one pair of rings: the packets of two workloads on it at once could
 * not be told apart in the report. Where: the second one in the run list (or its section,
 * for the implicit phase).
 */
static void phase_one_per_nic(struct chk *k, unsigned p, size_t j)
{
	const struct scenario_phase *ph = &k->s->phases[p];
	const struct scenario_workload *wl = &k->s->workloads[ph->run[j]];
	const struct scenario_device *d = &k->s->devices[wl->device];

	if (d->type != SCENARIO_DEV_NIC || !k->r->wl_ok[ph->run[j]])
		return;
	for (size_t i = 0; i < j; i++) {
		const struct scenario_workload *o = &k->s->workloads[ph->run[i]];

		if (!k->r->wl_ok[ph->run[i]] || o->device != wl->device)
			continue;
		scn_error(k->c,
			  ph->implicit ? &k->r->wl_sec[ph->run[j]]->pos
				       : &k->r->phase_set[p].entry[PK_RUN]->items[j].pos,
			  "workloads '%s' and '%s' both run on NIC '%s' in phase '%s': its driver "
			  "has one pair of rings, so their packets could not be told apart; run "
			  "them in different phases",
			  o->name, wl->name, d->name, ph->name);
		return;
	}
}

static void phase_runs(struct chk *k, unsigned p, struct pasid_state *st, bool *run)
{
	const struct scenario_phase *ph = &k->s->phases[p];

	for (size_t j = 0; j < ph->n_run; j++) {
		unsigned w = ph->run[j];
		const struct scenario_workload *wl = &k->s->workloads[w];
		const struct scenario_device *d = &k->s->devices[wl->device];

		run[w] = true;
		phase_one_per_nic(k, p, j);
		if (!k->r->wl_ok[w] || wl->pasid != SCENARIO_WL_KERNEL || st->ever[wl->device])
			continue;
		/* After dma_disable_pasid the workload keeps using the old PASID and faults,
		 * which is a scenario worth writing; before any enable there is no PASID. */
		scn_error(k->c, scn_key_pos(&k->r->wl_set[w], WK_PASID, &k->r->wl_sec[w]->pos),
			  "workload '%s' uses the kernel PASID, but device '%s' has none in phase "
			  "'%s': set kernel_pasid = on or try in [dma %s], or enable_pasid in an "
			  "earlier phase",
			  wl->name, d->name, k->s->phases[p].name, d->name);
	}
}

static bool phase_does_something(const struct scenario_phase *ph)
{
	return ph->n_run || ph->n_enable_pasid || ph->n_disable_pasid || ph->wait_ns ||
	       ph->has_skip_invalidation;
}

static void check_phases(struct chk *k)
{
	struct scenario *s = k->s;
	struct pasid_state st;
	bool run[SCENARIO_MAX_WORKLOADS] = {0};

	memset(&st, 0, sizeof(st));

	if (s->n_phases == 0) { /* one implicit phase runs every workload at once */
		struct scenario_phase *ph = &s->phases[0];

		ph->run = scn_alloc(k->c->arena, (s->n_workloads + 1) * sizeof(*ph->run));
		if (!ph->run)
			return;
		for (size_t i = 0; i < s->n_workloads; i++)
			ph->run[i] = (unsigned)i;
		ph->n_run = s->n_workloads;
		ph->name = "main";
		ph->implicit = true;
		s->n_phases = 1;
	}
	for (size_t d = 0; d < s->n_devices; d++)
		st.now[d] = st.ever[d] = s->devices[d].dma.kernel_pasid == SCENARIO_KPASID_ON ||
					 s->devices[d].dma.kernel_pasid == SCENARIO_KPASID_TRY;
	for (unsigned p = 0; p < s->n_phases; p++) {
		/* (A phase whose keys all had errors was reported already.) */
		if (!s->phases[p].implicit && !phase_does_something(&s->phases[p]) &&
		    (unsigned)__builtin_popcountll(k->r->phase_set[p].mask) ==
			k->r->phase_sec[p]->n_entries)
			scn_error(k->c, &k->r->phase_sec[p]->pos,
				  "phase '%s' does nothing: add run = WORKLOAD (or enable_pasid, "
				  "disable_pasid, skip_invalidation, wait)",
				  s->phases[p].name);
		phase_pasid_changes(k, p, &st);
		phase_runs(k, p, &st, run);
	}
	/* A run list with a bad name was reported; what it would have run is unknown. */
	memcpy(k->kpasid_ever, st.ever, sizeof(st.ever));
	for (unsigned p = 0; p < s->n_phases && !s->phases[p].implicit; p++)
		if (k->r->phase_set[p].entry[PK_RUN] && !scn_isset(&k->r->phase_set[p], PK_RUN))
			return;
	for (size_t w = 0; w < s->n_workloads; w++)
		if (!run[w])
			scn_error(
			    k->c, &k->r->wl_sec[w]->pos,
			    "workload '%s' is not run by any phase: add it to a phase's run list",
			    s->workloads[w].name);
}

/* ---- expectations -------------------------------------------------------------------------- */

static bool same_expect(const struct scenario_expect *a, const struct scenario_expect *b)
{
	return a->metric == b->metric && a->cmp == b->cmp && a->phase == b->phase &&
	       a->device == b->device && a->workload == b->workload && a->reason == b->reason &&
	       a->pasid_sel == b->pasid_sel && a->pasid == b->pasid && a->cache == b->cache &&
	       a->inv_type == b->inv_type && a->inv_gran == b->inv_gran;
}

static void check_expect(struct chk *k, size_t i)
{
	struct scenario *s = k->s;
	struct scenario_expect *e = &s->expects[i];
	const struct scn_pos *pos = &k->r->expect_pos[i];
	char text[200];

	if (e->workload >= 0 && e->device >= 0 &&
	    s->workloads[e->workload].device != (unsigned)e->device)
		scn_error(k->c, pos, "workload '%s' runs on device '%s', not on '%s'",
			  s->workloads[e->workload].name,
			  s->devices[s->workloads[e->workload].device].name,
			  s->devices[e->device].name);
	if (e->metric == SCENARIO_M_HIT_RATE && e->cache == SCENARIO_CACHE_ANY)
		scn_error(k->c, pos, "hit_rate needs a cache, such as hit_rate(cache=iotlb)");
	if (e->metric == SCENARIO_M_HIT_RATE && e->device >= 0 && e->cache != SCENARIO_CACHE_DEVTLB)
		scn_error(k->c, pos,
			  "hit_rate(device=...) is for the device TLB: add cache=devtlb, or drop "
			  "the device");
	if (e->metric == SCENARIO_M_HIT_RATE && e->cache == SCENARIO_CACHE_DEVTLB &&
	    e->device >= 0 && !s->devices[e->device].ats)
		scn_warning(k->c, pos, "device '%s' does not use ATS, so it has no device TLB",
			    s->devices[e->device].name);
	if (e->pasid_sel == SCENARIO_PSEL_KERNEL && e->device >= 0 && !k->kpasid_ever[e->device])
		scn_warning(k->c, pos,
			    "device '%s' never has a kernel PASID: pasid=kernel counts "
			    "nothing here",
			    s->devices[e->device].name);
	if (e->cache == SCENARIO_CACHE_PASID && s->iommu.mode == SCENARIO_MODE_LEGACY)
		scn_warning(k->c, pos, "a legacy-mode unit has no PASID cache");
	/* With the checker off nothing is compared: "== 0" would hold without meaning it. */
	if (e->metric == SCENARIO_M_CHECKER_FINDINGS && !s->iommu.checker)
		scn_warning(k->c, pos,
			    "the checker is off ([iommu] checker = no): checker_findings counts "
			    "nothing");
	for (size_t j = 0; j < i; j++)
		if (same_expect(&s->expects[j], e)) {
			scn_error(k->c, pos, "duplicate expectation");
			scn_note(k->c, &k->r->expect_pos[j],
				 "the same check was first written here");
			break;
		}
	scn_format_expect(s, e, text, sizeof(text));
	e->text = scn_strndup(k->c->arena, text, strlen(text));
}

/* Stable sort by phase, the whole run's first: the order in which the report lists them
 * and in which the normal form prints them. */
static void sort_expects(struct chk *k)
{
	struct scenario *s = k->s;

	for (size_t i = 1; i < s->n_expects; i++) {
		struct scenario_expect e = s->expects[i];
		struct scn_pos pos = k->r->expect_pos[i];
		size_t j = i;

		while (j > 0 && s->expects[j - 1].phase > e.phase) {
			s->expects[j] = s->expects[j - 1];
			k->r->expect_pos[j] = k->r->expect_pos[j - 1];
			j--;
		}
		s->expects[j] = e;
		k->r->expect_pos[j] = pos;
	}
}

void scn_check(struct scn_ctx *c, struct scn_read *r, struct scenario *s)
{
	struct chk k = {.c = c, .r = r, .s = s};

	check_iommu(&k);
	assign_rids(&k);
	for (unsigned i = 0; i < s->n_devices; i++) {
		if (r->dev_ok[i])
			check_device(&k, i);
		check_policy(&k, i);
	}
	for (unsigned i = 0; i < s->n_workloads; i++)
		check_workload(&k, i);
	check_phases(&k);
	sort_expects(&k);
	for (size_t i = 0; i < s->n_expects; i++)
		check_expect(&k, i);
}
