// SPDX-License-Identifier: MIT
/*
 * The DSA-like device: creation, the WQs (ENQCMDS-style submission, enable, disable, drain),
 * waiting for a completion record, the counters and the software-error register. The
 * engines are dsa_engine.c, the operations dsa_ops.c.
 */
#include "devices/dsa_internal.h"
#include "util/zalloc.h"

#include <errno.h>
#include <sched.h>
#include <softiommu/mem.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ONE_WRITER_ADD(x, n)                                                                       \
	__atomic_store_n(&(x), __atomic_load_n(&(x), __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CLOCK_REALTIME, which pthread_cond_timedwait() measures by default. */
static uint64_t now_ns_realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define DRAIN_SLICE_NS 1000000ull

static bool config_ok(const struct dsa_config *c)
{
	if (!c->ep || c->num_wqs > DSA_MAX_WQS || c->max_transfer_size > DSA_MAX_XFER_LIMIT)
		return false;
	for (unsigned i = 0; i < DSA_MAX_WQS; i++)
		if (c->wq_size[i] > DSA_MAX_WQ_SIZE)
			return false;
	return true;
}

static int wq_start(struct dsa_wq *wq)
{
	int ret;

	pthread_mutex_lock(&wq->lock);
	__atomic_store_n(&wq->stop, false, __ATOMIC_RELAXED);
	wq->exited = false;
	pthread_mutex_unlock(&wq->lock);
	ret = pthread_create(&wq->thread, NULL, dsa_engine_main, wq);
	if (ret)
		return -ret;
	pthread_mutex_lock(&wq->lock);
	wq->running = true;
	wq->enabled = true;
	pthread_mutex_unlock(&wq->lock);
	return 0;
}

static void wq_free(struct dsa_wq *wq)
{
	if (!wq)
		return;
	pthread_cond_destroy(&wq->idle);
	pthread_cond_destroy(&wq->work);
	pthread_mutex_destroy(&wq->lock);
	free(wq->ring);
	free(wq);
}

static struct dsa_wq *wq_alloc(struct dsa *dsa, unsigned id, uint32_t size)
{
	/* On lines: the _Alignas(64) members of struct dsa_wq, one ring slot per line. */
	struct dsa_wq *wq = zalloc_lines(sizeof(*wq));

	if (!wq)
		return NULL;
	wq->ring = zalloc_lines((size_t)size * sizeof(*wq->ring));
	if (!wq->ring) {
		free(wq);
		return NULL;
	}
	wq->dsa = dsa;
	wq->id = id;
	wq->drain_at = UINT64_MAX;
	wq->size = size;
	pthread_mutex_init(&wq->lock, NULL);
	pthread_cond_init(&wq->work, NULL);
	pthread_cond_init(&wq->idle, NULL);
	return wq;
}

int dsa_create(const struct dsa_config *cfg, struct dsa **out)
{
	struct pci_endpoint_config ep_cfg;
	struct dsa *dsa;
	int ret;

	if (!cfg || !out || !config_ok(cfg))
		return -EINVAL;
	ret = pci_endpoint_get_config(cfg->ep, &ep_cfg);
	if (ret)
		return ret;
	dsa = zalloc_lines(sizeof(*dsa));
	if (!dsa)
		return -ENOMEM;
	dsa->cfg = *cfg;
	if (!dsa->cfg.num_wqs)
		dsa->cfg.num_wqs = 1;
	if (!dsa->cfg.max_transfer_size)
		dsa->cfg.max_transfer_size = DSA_DEFAULT_MAX_XFER;
	dsa->pasid_width = ep_cfg.pasid_width;
	dsa->ep = dsa->cfg.ep;
	dsa->irq = dsa->cfg.irq;
	dsa->irq_ctx = dsa->cfg.irq_ctx;
	dsa->access = dsa->cfg.access;
	dsa->access_ctx = dsa->cfg.access_ctx;
	dsa->max_transfer_size = dsa->cfg.max_transfer_size;
	pthread_mutex_init(&dsa->swerr_lock, NULL);
	for (unsigned i = 0; i < dsa->cfg.num_wqs; i++) {
		uint32_t size = cfg->wq_size[i] ? cfg->wq_size[i] : DSA_DEFAULT_WQ_SIZE;

		dsa->cfg.wq_size[i] = size;
		dsa->wq[i] = wq_alloc(dsa, i, size);
		if (!dsa->wq[i]) {
			dsa_destroy(dsa);
			return -ENOMEM;
		}
	}
	for (unsigned i = 0; i < dsa->cfg.num_wqs; i++) {
		ret = wq_start(dsa->wq[i]);
		if (ret) {
			dsa_destroy(dsa);
			return ret;
		}
	}
	*out = dsa;
	return 0;
}

void dsa_destroy(struct dsa *dsa)
{
	if (!dsa)
		return;
	for (unsigned i = 0; i < DSA_MAX_WQS; i++) {
		if (!dsa->wq[i])
			continue;
		dsa_wq_disable(dsa, i);
		wq_free(dsa->wq[i]);
	}
	pthread_mutex_destroy(&dsa->swerr_lock);
	free(dsa);
}

struct pci_endpoint *dsa_endpoint(const struct dsa *dsa)
{
	return dsa ? dsa->cfg.ep : NULL;
}

unsigned dsa_num_wqs(const struct dsa *dsa)
{
	return dsa ? dsa->cfg.num_wqs : 0;
}

uint32_t dsa_wq_size(const struct dsa *dsa, unsigned wq)
{
	return dsa && wq < dsa->cfg.num_wqs ? dsa->wq[wq]->size : 0;
}

uint32_t dsa_max_transfer_size(const struct dsa *dsa)
{
	return dsa ? dsa->cfg.max_transfer_size : 0;
}

static struct dsa_wq *get_wq(struct dsa *dsa, unsigned wq)
{
	return dsa && wq < dsa->cfg.num_wqs ? dsa->wq[wq] : NULL;
}

int dsa_submit(struct dsa *dsa, unsigned wq_id, const struct dsa_desc *desc)
{
	struct dsa_wq *wq = get_wq(dsa, wq_id);
	int ret = 0;

	if (!wq || !desc)
		return -EINVAL;
	pthread_mutex_lock(&wq->lock);
	if (!wq->enabled) {
		ret = -ENODEV;
	} else if (wq->tail - wq->head_seen >= wq->size &&
		   wq->tail - (wq->head_seen = __atomic_load_n(&wq->head, __ATOMIC_ACQUIRE)) >=
		       wq->size) {
		/* The engine has not copied that slot out yet (its line is read only when the
		 * ring looks full). */
		ret = -EAGAIN;
	} else {
		wq->ring[wq->tail_slot] = *desc;
		if (++wq->tail_slot == wq->size)
			wq->tail_slot = 0;
		/* The engine takes the slot without the lock once it sees the new tail; a
		 * sleeping engine is woken (see struct dsa_wq). */
		__atomic_store_n(&wq->tail, wq->tail + 1, __ATOMIC_RELEASE);
		if (wq->sleeping)
			pthread_cond_signal(&wq->work);
	}
	if (ret == -EAGAIN)
		WQ_STAT_INC(wq, sub.retries);
	else if (!ret)
		WQ_STAT_INC(wq, sub.submitted);
	pthread_mutex_unlock(&wq->lock);
	return ret;
}

int dsa_wq_disable(struct dsa *dsa, unsigned wq_id)
{
	struct dsa_wq *wq = get_wq(dsa, wq_id);
	bool running;

	if (!wq)
		return -EINVAL;
	pthread_mutex_lock(&wq->lock);
	wq->enabled = false;
	running = wq->running;
	__atomic_store_n(&wq->stop, true, __ATOMIC_RELAXED);
	pthread_cond_signal(&wq->work);
	pthread_mutex_unlock(&wq->lock);
	if (!running)
		return 0;
	/* The engine finishes what the ring holds before it leaves. */
	pthread_join(wq->thread, NULL);
	pthread_mutex_lock(&wq->lock);
	wq->running = false;
	pthread_cond_broadcast(&wq->idle);
	pthread_mutex_unlock(&wq->lock);
	return 0;
}

int dsa_wq_enable(struct dsa *dsa, unsigned wq_id)
{
	struct dsa_wq *wq = get_wq(dsa, wq_id);
	bool running;

	if (!wq)
		return -EINVAL;
	pthread_mutex_lock(&wq->lock);
	running = wq->running;
	pthread_mutex_unlock(&wq->lock);
	return running ? 0 : wq_start(wq);
}

int dsa_wq_drain(struct dsa *dsa, unsigned wq_id, uint64_t timeout_ns)
{
	struct dsa_wq *wq = get_wq(dsa, wq_id);
	uint64_t target, deadline;
	int ret = 0;

	if (!wq)
		return -EINVAL;
	deadline = now_ns_realtime() + timeout_ns;
	pthread_mutex_lock(&wq->lock);
	target = wq->tail;
	/* Sequentially consistent with the engine's idle check (see finished()). */
	__atomic_add_fetch(&wq->drainers, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		/* Short waits: a busy engine wakes drainers without a fence and may miss one
		 * that has just come in. */
		uint64_t now, until;
		struct timespec slice;

		/* The engine wakes drainers once `completed` reaches drain_at (and then resets
		 * it): published before looking at the count, and again after each wake-up. */
		if (target < __atomic_load_n(&wq->drain_at, __ATOMIC_RELAXED))
			__atomic_store_n(&wq->drain_at, target, __ATOMIC_SEQ_CST);
		if (!wq->running || __atomic_load_n(&wq->completed, __ATOMIC_SEQ_CST) >= target)
			break;
		now = now_ns_realtime();
		until = now + DRAIN_SLICE_NS;

		if (now >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		if (until > deadline)
			until = deadline;
		slice.tv_sec = (time_t)(until / 1000000000ull);
		slice.tv_nsec = (long)(until % 1000000000ull);
		pthread_cond_timedwait(&wq->idle, &wq->lock, &slice);
	}
	if (!__atomic_sub_fetch(&wq->drainers, 1, __ATOMIC_SEQ_CST))
		__atomic_store_n(&wq->drain_at, UINT64_MAX, __ATOMIC_RELAXED);
	if (__atomic_load_n(&wq->completed, __ATOMIC_SEQ_CST) >= target || !wq->running)
		ret = 0;
	pthread_mutex_unlock(&wq->lock);
	return ret ? -ETIMEDOUT : 0;
}

/* ---- waiting for a completion record ---------------------------------------------------- */

/* The record's first 8 bytes, with acquire ordering (see dsa_wait()). */
static int load_head(struct mem *mem, uint64_t pa, const uint64_t *p, uint64_t *v)
{
	if (p) {
		*v = __atomic_load_n(p, __ATOMIC_ACQUIRE);
		return 0;
	}
	/* A backend without a direct mapping orders its own accesses. */
	return mem_read64(mem, pa, v);
}

static void pause_once(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

int dsa_wait(struct mem *mem, uint64_t cr_pa, uint64_t timeout_ns, struct dsa_completion *out)
{
	const uint64_t *p;
	uint64_t head, start = 0;
	int ret;

	if (!mem || (cr_pa & (DSA_COMP_ALIGN - 1)))
		return -EINVAL;
	if (!mem_range_ok(mem, cr_pa, DSA_COMP_SIZE))
		return -EFAULT;
	p = mem_ptr(mem, cr_pa, DSA_COMP_SIZE);
	for (unsigned i = 0;; i++) {
		ret = load_head(mem, cr_pa, p, &head);
		if (ret)
			return ret;
		if (head & 0xff)
			break;
		/* Spin briefly (a record is often a few microseconds away), then yield, then
		 * sleep, so a wait does not take a core from the engine when they share one. */
		if (i < 64) {
			pause_once();
			continue;
		}
		if (!start)
			start = now_ns();
		else if (now_ns() - start >= timeout_ns)
			return -ETIMEDOUT;
		if (i < 4096) {
			sched_yield();
		} else {
			struct timespec ts = {0, 20000};

			nanosleep(&ts, NULL);
		}
	}
	if (out) {
		uint8_t raw[DSA_COMP_SIZE];

		if (p) {
			memcpy(raw + 8, (const uint8_t *)p + 8, DSA_COMP_SIZE - 8);
		} else {
			ret = mem_read(mem, cr_pa + 8, raw + 8, DSA_COMP_SIZE - 8);
			if (ret)
				return ret;
		}
		memcpy(raw, &head, 8);
		memcpy(out, raw, sizeof(*out));
	}
	return 0;
}

/* ---- counters ---------------------------------------------------------------------------- */

static uint64_t pasid_key(bool has_pasid, uint32_t pasid)
{
	return has_pasid ? 2 + (uint64_t)pasid : 1;
}

/* The slot of `key`, claiming a free one on first use (engines race for it with a CAS);
 * the shared slot when all are taken. */
static struct dsa_pasid_slot *pasid_slot(struct dsa *dsa, uint64_t key, bool claim)
{
	unsigned h = (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 58);

	for (unsigned i = 0; i < DSA_PASID_STATS_SLOTS; i++) {
		struct dsa_pasid_slot *s = &dsa->pasid[(h + i) % DSA_PASID_STATS_SLOTS];
		uint64_t k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);

		if (k == key)
			return s;
		if (k)
			continue;
		if (!claim)
			return NULL;
		if (__atomic_compare_exchange_n(&s->key, &k, key, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE) ||
		    k == key)
			return s;
	}
	return claim ? &dsa->other : NULL;
}

static unsigned op_index(unsigned op)
{
	return op == DSA_OP_MEMMOVE   ? 1
	       : op == DSA_OP_FILL    ? 2
	       : op == DSA_OP_COMPARE ? 3
	       : op == DSA_OP_CRC32C  ? 4
				      : 0;
}

void dsa_account(struct dsa_wq *wq, const struct dsa_desc *d, const struct dsa_result *r, int n)
{
	uint64_t key = pasid_key(d->pasid & DSA_PASID_PV, d->pasid & DSA_PASID_MASK);
	struct dsa_pasid_count *c = wq->acct;
	uint64_t k = (uint64_t)(int64_t)n; /* 1, or -1 modulo 2^64 */

	/* A WQ mostly serves one PASID: its counters are found once (slots are never given
	 * back, so the pointer stays good). */
	if (__builtin_expect(key != wq->acct_key, 0)) {
		c = &pasid_slot(wq->dsa, key, true)->wq[wq->id];
		wq->acct = c;
		wq->acct_key = key;
	}
	/* stats.completed is the sum of the four outcomes (dsa_get_stats()). */
	if (__builtin_expect(r->status == DSA_COMP_SUCCESS, 1)) {
		WQ_STAT_ADD(wq, cnt.success, k);
	} else if (r->status == DSA_COMP_PAGE_FAULT || r->status == DSA_COMP_DMA_ERROR) {
		if (r->status == DSA_COMP_PAGE_FAULT)
			WQ_STAT_ADD(wq, cnt.page_faults, k);
		else
			WQ_STAT_ADD(wq, cnt.dma_errors, k);
		ONE_WRITER_ADD(c->faults, k);
	} else {
		WQ_STAT_ADD(wq, cnt.invalid, k);
	}
	if (r->status < DSA_COMP_INVALID_OPCODE)
		WQ_STAT_ADD(wq, cnt.by_op[op_index(dsa_desc_op(d))], k);
	WQ_STAT_ADD(wq, cnt.bytes, r->done * k);
	ONE_WRITER_ADD(c->descriptors, k);
	ONE_WRITER_ADD(c->bytes, r->done * k);
}

/* Add a WQ's submission counters (`sub`) and its engine's (`c`) to *o. */
static void stats_add(struct dsa_stats *o, const struct dsa_stats *sub,
		      const struct dsa_wq_counts *c)
{
	uint64_t success = LOAD(c->success), faults = LOAD(c->page_faults);
	uint64_t errors = LOAD(c->dma_errors), invalid = LOAD(c->invalid);

	o->submitted += LOAD(sub->submitted);
	o->retries += LOAD(sub->retries);
	o->completed += success + faults + errors + invalid;
	o->success += success;
	o->page_faults += faults;
	o->dma_errors += errors;
	o->invalid += invalid;
	o->bytes += LOAD(c->bytes);
	o->records += LOAD(c->records);
	o->record_errors += LOAD(c->record_errors);
	o->interrupts += LOAD(c->interrupts);
	o->swerr_latched += LOAD(c->swerr_latched);
	o->busy_ns += LOAD(c->busy_ns);
	for (unsigned i = 0; i < 5; i++)
		o->by_op[i] += LOAD(c->by_op[i]);
}

int dsa_get_stats(struct dsa *dsa, struct dsa_stats *out)
{
	if (!dsa || !out)
		return -EINVAL;
	*out = (struct dsa_stats){0};
	for (unsigned i = 0; i < dsa->cfg.num_wqs; i++)
		stats_add(out, &dsa->wq[i]->sub, &dsa->wq[i]->cnt);
	return 0;
}

uint64_t dsa_engine_cpu_ns(struct dsa *dsa)
{
	uint64_t sum = 0;

	if (!dsa)
		return 0;
	for (unsigned i = 0; i < dsa->cfg.num_wqs; i++) {
		struct dsa_wq *wq = dsa->wq[i];
		struct timespec ts;
		clockid_t clk;

		pthread_mutex_lock(&wq->lock);
		sum += wq->cpu_done;
		if (wq->running && !wq->exited && !pthread_getcpuclockid(wq->thread, &clk) &&
		    !clock_gettime(clk, &ts))
			sum += (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		pthread_mutex_unlock(&wq->lock);
	}
	return sum;
}

static void slot_view(const struct dsa_pasid_slot *s, uint64_t key, struct dsa_pasid_stats *out)
{
	*out = (struct dsa_pasid_stats){
	    .has_pasid = key >= 2,
	    .pasid = key >= 2 ? (uint32_t)(key - 2) : 0,
	};
	for (unsigned i = 0; i < DSA_MAX_WQS; i++) {
		out->descriptors += LOAD(s->wq[i].descriptors);
		out->bytes += LOAD(s->wq[i].bytes);
		out->faults += LOAD(s->wq[i].faults);
	}
}

int dsa_get_pasid_stats(struct dsa *dsa, bool has_pasid, uint32_t pasid,
			struct dsa_pasid_stats *out)
{
	uint64_t key = pasid_key(has_pasid, pasid & DSA_PASID_MASK);
	struct dsa_pasid_slot *s;

	if (!dsa || !out)
		return -EINVAL;
	if (has_pasid && pasid > DSA_PASID_MASK)
		return -ENOENT;
	s = pasid_slot(dsa, key, false);
	if (!s)
		return -ENOENT;
	slot_view(s, key, out);
	return 0;
}

int dsa_list_pasid_stats(struct dsa *dsa, struct dsa_pasid_stats *out, unsigned max)
{
	struct dsa_pasid_stats o;
	unsigned n = 0;

	if (!dsa || (!out && max))
		return -EINVAL;
	for (unsigned i = 0; i < DSA_PASID_STATS_SLOTS; i++) {
		uint64_t key = __atomic_load_n(&dsa->pasid[i].key, __ATOMIC_ACQUIRE);

		if (!key)
			continue;
		if (n < max)
			slot_view(&dsa->pasid[i], key, &out[n]);
		n++;
	}
	slot_view(&dsa->other, 2, &o);
	if (o.descriptors) {
		if (n < max) {
			out[n] = o;
			out[n].other = true;
			out[n].pasid = 0;
		}
		n++;
	}
	return (int)n;
}

/* ---- the software-error register ---------------------------------------------------------- */

void dsa_latch_swerr(struct dsa_wq *wq, const struct dsa_swerr *e)
{
	struct dsa *dsa = wq->dsa;

	WQ_STAT_INC(wq, cnt.swerr_latched);
	pthread_mutex_lock(&dsa->swerr_lock);
	if (dsa->swerr.valid)
		dsa->swerr.overflow = true;
	else
		dsa->swerr = *e;
	pthread_mutex_unlock(&dsa->swerr_lock);
}

int dsa_read_swerr(struct dsa *dsa, struct dsa_swerr *out)
{
	if (!dsa || !out)
		return -EINVAL;
	pthread_mutex_lock(&dsa->swerr_lock);
	*out = dsa->swerr;
	pthread_mutex_unlock(&dsa->swerr_lock);
	return 0;
}

int dsa_clear_swerr(struct dsa *dsa)
{
	if (!dsa)
		return -EINVAL;
	pthread_mutex_lock(&dsa->swerr_lock);
	dsa->swerr = (struct dsa_swerr){0};
	pthread_mutex_unlock(&dsa->swerr_lock);
	return 0;
}

const char *dsa_status_name(unsigned status)
{
	switch (status) {
	case DSA_COMP_NONE:
		return "none";
	case DSA_COMP_SUCCESS:
		return "success";
	case DSA_COMP_PAGE_FAULT:
		return "page-fault";
	case DSA_COMP_DMA_ERROR:
		return "dma-error";
	case DSA_COMP_INVALID_OPCODE:
		return "invalid-opcode";
	case DSA_COMP_INVALID_FLAGS:
		return "invalid-flags";
	case DSA_COMP_RESERVED:
		return "reserved-nonzero";
	case DSA_COMP_INVALID_SIZE:
		return "invalid-size";
	case DSA_COMP_INVALID_CR_ADDR:
		return "invalid-completion-address";
	case DSA_COMP_INVALID_PASID:
		return "invalid-pasid";
	default:
		return "unknown";
	}
}
