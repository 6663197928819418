// SPDX-License-Identifier: MIT
/*
 * Phases and their workload threads (docs/scenarios.md, [phase]): for each phase, set the
 * fault injection, disable and enable kernel PASIDs, start every thread of every workload
 * it runs, wait for them, pause. Counters are taken per phase: the hardware's (cache and
 * device-TLB statistics, DMA-API debug counts) as differences of snapshots at the phase's
 * edges, the workloads' from the threads themselves.
 *
 * Buffers: each (workload, thread) gets its own physical range, placed once before the
 * first phase from 1 MiB upwards, aligned to the workload's page size, around the
 * interrupt range (DMA there never reaches memory), below the page allocators.
 */
#include "run_ops.h"
#include "dot.h"
#include "trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <softiommu/vtd_regs.h>

static uint64_t wl_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* ---- memory layout ----------------------------------------------------------------------------
 */

int run_layout(struct run *r)
{
	const struct scenario *s = r->s;
	uint64_t next = 1ull << 20, limit = run_tables_base(r), need = 0;

	r->wl_buf = calloc(s->n_workloads ? s->n_workloads : 1, sizeof(*r->wl_buf));
	if (!r->wl_buf)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_workloads; i++) {
		const struct scenario_workload *w = &s->workloads[i];
		uint64_t per = run_ops_region(r, w), page = w->page_size;
		uint64_t size = wl_align_up(per, page) * w->threads;

		next = wl_align_up(next, page);
		/* Keep clear of the interrupt range: identity-mapped DMA there is refused. */
		if (next < VTD_INTR_RANGE_BASE + VTD_INTR_RANGE_SIZE &&
		    next + size > VTD_INTR_RANGE_BASE)
			next = wl_align_up(VTD_INTR_RANGE_BASE + VTD_INTR_RANGE_SIZE, page);
		r->wl_buf[i] = next;
		next += size;
		need += size;
	}
	if (next > limit) {
		snprintf(r->setup_msg, sizeof(r->setup_msg),
			 "%s: the workloads' buffers need %llu MiB but memory = %llu MiB leaves "
			 "%llu MiB for them; raise [scenario] memory or lower sizes and threads",
			 s->file, (unsigned long long)(need >> 20),
			 (unsigned long long)(s->memory >> 20), (unsigned long long)(limit >> 20));
		return -ENOSPC;
	}
	return 0;
}

/* ---- snapshots --------------------------------------------------------------------------------
 */

static void sub_cache(struct vtd_cache_stats *out, const struct vtd_cache_stats *a,
		      const struct vtd_cache_stats *b)
{
	for (unsigned c = 0; c < VTD_CACHE_COUNT; c++) {
		out->cache[c].hits = a->cache[c].hits - b->cache[c].hits;
		out->cache[c].misses = a->cache[c].misses - b->cache[c].misses;
		out->cache[c].fills = a->cache[c].fills - b->cache[c].fills;
		out->cache[c].evictions = a->cache[c].evictions - b->cache[c].evictions;
		out->cache[c].invalidated = a->cache[c].invalidated - b->cache[c].invalidated;
		out->stale[c] = a->stale[c] - b->stale[c];
	}
	out->checked = a->checked - b->checked;
}

static void sub_ep(struct pci_endpoint_stats *out, const struct pci_endpoint_stats *a,
		   const struct pci_endpoint_stats *b)
{
	const uint64_t *x = (const uint64_t *)a, *y = (const uint64_t *)b;
	uint64_t *o = (uint64_t *)out;

	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		o[i] = x[i] - y[i];
	out->atc_entries = a->atc_entries; /* a level, not a count */
}

static void sub_dma(struct dma_stats *out, const struct dma_stats *a, const struct dma_stats *b)
{
	*out = (struct dma_stats){
	    .maps = a->maps - b->maps,
	    .unmaps = a->unmaps - b->unmaps,
	    .map_errors = a->map_errors - b->map_errors,
	    .live = a->live, /* levels, not counts */
	    .fq_pending = a->fq_pending,
	    .syncs = a->syncs - b->syncs,
	    .fq_queued = a->fq_queued - b->fq_queued,
	    .fq_flush_full = a->fq_flush_full - b->fq_flush_full,
	    .fq_flush_timeout = a->fq_flush_timeout - b->fq_flush_timeout,
	    .fq_flush_explicit = a->fq_flush_explicit - b->fq_flush_explicit,
	    .fq_flush_nospace = a->fq_flush_nospace - b->fq_flush_nospace,
	    .iova_retries = a->iova_retries - b->iova_retries,
	    .inv_ns = a->inv_ns - b->inv_ns,
	};
}

/*
 * A slot's counters are the difference between snapshots at its edges. Devices made during
 * the setup slot start from zero (their snapshot is zero-initialised).
 */
void run_snapshot_begin(struct run *r, unsigned slot)
{
	atomic_store(&r->cur, slot);
	r->snap_t = run_now_ns();
	for (unsigned m = 0; m < r->n_machines; m++)
		vtd_get_cache_stats(r->machines[m].vtd, &r->snap_vc[m]);
	for (size_t i = 0; i < r->n_devs; i++) {
		if (r->devs[i].ep)
			pci_endpoint_get_stats(r->devs[i].ep, &r->snap_ep[i]);
		if (r->devs[i].dma) {
			r->snap_dbg[i] = dma_debug_count(r->devs[i].dma, DMA_DEBUG_NR);
			dma_get_stats(r->devs[i].dma, &r->snap_dma[i]);
		}
	}
}

void run_snapshot_end(struct run *r, unsigned slot)
{
	r->slot_ns[slot] = run_now_ns() - r->snap_t;
	for (unsigned m = 0; m < r->n_machines; m++) {
		struct vtd_cache_stats now;

		vtd_get_cache_stats(r->machines[m].vtd, &now);
		sub_cache(&r->vcache[slot * r->n_machines + m], &now, &r->snap_vc[m]);
	}
	for (size_t i = 0; i < r->n_devs; i++) {
		struct pci_endpoint_stats now;
		struct dma_stats dnow;

		if (r->devs[i].ep && !pci_endpoint_get_stats(r->devs[i].ep, &now))
			sub_ep(&r->atc[slot * r->n_devs + i], &now, &r->snap_ep[i]);
		if (r->devs[i].dma && !dma_get_stats(r->devs[i].dma, &dnow))
			sub_dma(&r->dmastat[slot * r->n_devs + i], &dnow, &r->snap_dma[i]);
		if (r->devs[i].dma)
			r->debug[slot * r->n_devs + i] =
			    dma_debug_count(r->devs[i].dma, DMA_DEBUG_NR) - r->snap_dbg[i];
	}
}

/* ---- threads ----------------------------------------------------------------------------------
 */

static void draw_graph(struct run *r, unsigned p);

/*
 * The graph is drawn between the operations and the tear-down of every thread of the
 * phase, so it shows the mappings that live as long as a thread does. Every started
 * thread comes here exactly once.
 */
void run_ops_pause(struct run_thread *th)
{
	struct run *r = th->r;

	if (!r->pause_on)
		return;
	pthread_mutex_lock(&r->pause_lock);
	r->pause_arrived++;
	pthread_cond_broadcast(&r->pause_cond);
	while (!r->pause_release)
		pthread_cond_wait(&r->pause_cond, &r->pause_lock);
	pthread_mutex_unlock(&r->pause_lock);
}

/* Wait for `n` threads to pause, draw, let them go. */
static void pause_and_draw(struct run *r, unsigned p, unsigned n)
{
	pthread_mutex_lock(&r->pause_lock);
	while (r->pause_arrived < n)
		pthread_cond_wait(&r->pause_cond, &r->pause_lock);
	pthread_mutex_unlock(&r->pause_lock);
	draw_graph(r, p);
	pthread_mutex_lock(&r->pause_lock);
	r->pause_release = true;
	pthread_cond_broadcast(&r->pause_cond);
	pthread_mutex_unlock(&r->pause_lock);
}

static void flush_counts(struct run_thread *th)
{
	struct run_wl_counts *c = run_wl(th->r, th->slot, th->wi);

	atomic_fetch_add(&c->ops, th->ops);
	atomic_fetch_add(&c->bytes, th->bytes);
	atomic_fetch_add(&c->failed, th->failed);
	atomic_fetch_add(&c->verified, th->verified);
	atomic_fetch_add(&c->mismatches, th->mismatches);
}

static void *thread_main(void *arg)
{
	struct run_thread *th = arg;

	if (th->r->trace) {
		char name[96];

		snprintf(name, sizeof(name), "%s#%u", th->w->name, th->t);
		trace_name_thread(th->r->trace, name);
	}
	run_ops_thread(th);
	flush_counts(th);
	return NULL;
}

/* Threads of the workloads before `wi` on the same device: where its threads start
 * taking the device's DSA work queues in turn. */
static unsigned thread_base(const struct scenario *s, unsigned wi)
{
	unsigned n = 0;

	for (unsigned i = 0; i < wi; i++)
		if (s->workloads[i].device == s->workloads[wi].device)
			n += s->workloads[i].threads;
	return n;
}

/* The first medium block of workload `wi`'s threads (make_storage sizes the medium so). */
static uint64_t storage_base(const struct scenario *s, unsigned wi)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < wi; i++)
		if (s->workloads[i].device == s->workloads[wi].device)
			n += s->workloads[i].threads * run_storage_blocks(&s->workloads[i]);
	return n;
}

uint64_t run_scaled_count(const struct run *r, const struct scenario_workload *w)
{
	double c = (double)w->count * r->o->scale;

	return c < 1 ? 1 : (uint64_t)c;
}

static void prepare_thread(struct run *r, struct run_thread *th, unsigned slot, unsigned wi,
			   unsigned t)
{
	const struct scenario_workload *w = &r->s->workloads[wi];
	struct run_device *d = &r->devs[w->device];
	uint64_t count = run_scaled_count(r, w);
	unsigned window;
	uint64_t slot_size;

	run_ops_footprint(r, w, &window, &slot_size);
	*th = (struct run_thread){
	    .r = r,
	    .w = w,
	    .wi = wi,
	    .t = t,
	    .d = d,
	    .slot = slot,
	    .count = count / w->threads + (t < count % w->threads),
	    .rng = w->seed * 0x9e3779b97f4a7c15ull + t + 1,
	    .pid = run_pid_dev(d->index),
	    .window = window,
	    .slot_size = slot_size,
	    .buf = r->wl_buf[wi] + t * wl_align_up(run_ops_region(r, w), w->page_size),
	};
	/* A workload's threads use the device's work queues in turn; on a storage device each
	 * has its own blocks of the medium. */
	th->wq = (thread_base(r->s, wi) + t) % (d->sd->work_queues ? d->sd->work_queues : 1);
	th->lba = storage_base(r->s, wi) + t * run_storage_blocks(w);
	/* A kernel-PASID workload carries the device's PASID - the one it had last, also
	 * after dma_disable_pasid (those descriptors must fault) - or none after a fallback. */
	if (w->pasid == SCENARIO_WL_KERNEL && d->kpasid_ever) {
		th->has_pasid = true;
		th->pasid = d->kpasid;
	}
}

/* The phase after which the graph is drawn: the named one, else the last. */
static bool dot_phase(const struct run *r, unsigned p)
{
	if (!r->o->dot_path)
		return false;
	if (r->o->dot_phase)
		return !strcmp(r->s->phases[p].name, r->o->dot_phase);
	return p + 1 == r->s->n_phases;
}

static void draw_graph(struct run *r, unsigned p)
{
	const struct run_options *o = r->o;
	struct run_machine *rm = &r->machines[o->dot_machine < r->n_machines ? o->dot_machine : 0];
	struct dot_options dopt = {.depth = o->dot_depth, .max_entries = 16};
	char title[256];
	int ret;
	FILE *f = run_to_stdout(o->dot_path) ? o->out : fopen(o->dot_path, "w");

	r->dot_done = true; /* the phase came: whatever happens now is no "did not run" */
	if (!f) {
		run_note_stack_error(r, "cannot write %s: %s", o->dot_path, strerror(errno));
		return;
	}
	snprintf(title, sizeof(title), "%s: VT-d unit %u after phase %s", r->s->name, rm->index,
		 r->s->phases[p].name);
	dopt.title = title;
	dopt.names = rm;
	dopt.name_of = run_dot_device_name;
	ret = dot_write(rm->vtd, rm->mem, &dopt, f);
	/* A full disk shows when the buffered graph is flushed: fclose's result counts. */
	if ((f != o->out ? fclose(f) : fflush(f)) && !ret)
		ret = -EIO;
	if (ret)
		run_note_stack_error(r, "writing the graph to %s failed", o->dot_path);
}

static void set_injection(struct run *r, const struct scenario_phase *ph)
{
	for (size_t i = 0; i < r->n_devs; i++)
		atomic_store(&r->devs[i].skip, ph->has_skip_invalidation
						   ? ph->skip_invalidation
						   : r->devs[i].sd->dma.skip_invalidation);
}

/* Steps 1-3 of a phase (docs/scenarios.md): injection, then disable, then enable. */
static void phase_setup(struct run *r, const struct scenario_phase *ph)
{
	set_injection(r, ph);
	for (size_t i = 0; i < ph->n_disable_pasid; i++)
		run_disable_pasid(r, &r->devs[ph->disable_pasid[i]]);
	for (size_t i = 0; i < ph->n_enable_pasid; i++) {
		struct run_device *d = &r->devs[ph->enable_pasid[i]];

		run_enable_pasid(r, d, d->sd->dma.kernel_pasid != SCENARIO_KPASID_TRY);
	}
}

/* Step 4: every thread of every workload the phase runs, started together, joined; the
 * graph drawn in between when this is its phase. Returns 0 or -errno of pthread_create. */
static int phase_threads(struct run *r, unsigned p, struct run_thread *th, pthread_t *tid,
			 unsigned n)
{
	const struct scenario_phase *ph = &r->s->phases[p];
	unsigned k = 0, started = 0;
	int ret = 0;

	for (size_t i = 0; i < ph->n_run; i++) {
		unsigned wi = ph->run[i];
		struct run_wl_counts *c = run_wl(r, p, wi);

		for (unsigned t = 0; t < r->s->workloads[wi].threads; t++)
			prepare_thread(r, &th[k++], p, wi, t);
		c->ran = true;
		c->has_pasid = th[k - 1].has_pasid;
		c->pasid = th[k - 1].pasid;
	}
	r->pause_on = dot_phase(r, p) && n;
	r->pause_arrived = 0;
	r->pause_release = false;
	run_nic_phase_begin(r);
	for (k = 0; k < n && !ret; k++) {
		ret = -pthread_create(&tid[k], NULL, thread_main, &th[k]);
		started += !ret;
	}
	if (r->pause_on)
		pause_and_draw(r, p, started);
	for (k = 0; k < started; k++)
		pthread_join(tid[k], NULL);
	run_nic_phase_end(r, p);
	r->pause_on = false;
	if (!n && dot_phase(r, p))
		draw_graph(r, p);
	return ret;
}

static int run_phase(struct run *r, unsigned p)
{
	const struct scenario_phase *ph = &r->s->phases[p];
	struct run_thread *th;
	pthread_t *tid;
	unsigned n = 0;
	int ret;

	atomic_store(&r->phase_name, ph->name);
	phase_setup(r, ph);
	for (size_t i = 0; i < ph->n_run; i++)
		n += r->s->workloads[ph->run[i]].threads;
	th = calloc(n ? n : 1, sizeof(*th));
	tid = calloc(n ? n : 1, sizeof(*tid));
	ret = th && tid ? phase_threads(r, p, th, tid, n) : -ENOMEM;
	/* Step 5: the pause (lets lazy flush timers fire). */
	if (!ret && ph->wait_ns && !atomic_load(&r->abort)) {
		struct timespec ts = {(time_t)(ph->wait_ns / 1000000000ull),
				      (long)(ph->wait_ns % 1000000000ull)};

		nanosleep(&ts, NULL);
	}
	free(th);
	free(tid);
	if (ret)
		snprintf(r->setup_msg, sizeof(r->setup_msg), "cannot start a workload thread: %s",
			 strerror(-ret));
	return ret;
}

int run_phases(struct run *r)
{
	int ret = 0;

	for (unsigned p = 0; p < r->s->n_phases && !ret && !atomic_load(&r->abort); p++) {
		uint64_t t0 = r->trace ? trace_now(r->trace) : 0;

		run_snapshot_begin(r, p);
		ret = run_phase(r, p);
		run_snapshot_end(r, p);
		if (r->trace) {
			struct trace_arg a[] = {{"index", p, false}};

			trace_complete(r->trace, TRACE_PID_RUN, "phase", r->s->phases[p].name, t0,
				       trace_now(r->trace), a, 1, NULL, NULL);
		}
	}
	atomic_store(&r->cur, r->n_slots); /* tear-down is nobody's phase */
	return ret;
}
