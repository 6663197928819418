// SPDX-License-Identifier: MIT
/*
 * The flush queue of lazy (IOMMU_DOMAIN_DMA_FQ) domains, as Linux's dma-iommu.c has it:
 * an unmap clears the page table but does not invalidate; the IOVA and the page-table
 * pages it freed wait in the unmapping thread's ring until one iommu_flush_iotlb_all()
 * has covered them. Two counters order that without a global lock: a flush increments
 * fq_flush_start before it invalidates and fq_flush_finish after; an entry remembers the
 * start count when it was queued and may be released once the finish count exceeds it,
 * because then a flush that started after the entry's unmap has completed (if S flushes
 * had started when it was queued, finish > S means at least one later one finished).
 * The finish count is only a lower bound while other flushes are in flight, so a thread
 * that has just finished its own flush uses what it knows better: every entry queued
 * before its flush started (counter below the start count it took) is covered. That is
 * what empties a full ring even while another thread's flush is still running.
 *
 * Flushes happen when a ring is full (synchronously, on the unmapping thread), when the
 * timer fires (fq_timeout_ms after it was armed by an unmap that found it idle; it runs on
 * the device's timer thread, so no queued translation outlives that even if the CPU
 * threads stop unmapping), when the IOVA space is exhausted, and on dma_flush_queues()
 * and teardown. The timer thread was chosen over checking the time on the map/unmap path
 * because it bounds how long a stale translation may live regardless of traffic, and it
 * keeps a clock read off the fast path.
 *
 * What the timer's flush covers is released by the ring's own thread when that thread
 * queued in the current timer period: it does so at its next unmap (covered entries go
 * first). The timer releases only the rings of threads that did not (so a thread that
 * stops unmapping gets its IOVAs released by the next expiry: within two timeouts), and
 * re-arms itself while active rings hold entries. Releasing an active thread's IOVAs from
 * the timer thread would put them in the timer thread's IOVA cache, from where other
 * threads would get them: their page-table lines and allocation state would then move
 * between CPUs on every map and unmap (iova_config.line_pfns).
 *
 * Page-table pages freed by an unmap are never reused before the flush: they stay in the
 * entry's freelist, which goes back to the allocator only on release.
 */
#include <errno.h>
#include <stdlib.h>

#include "dma/dma_internal.h"

/*
 * Flush every translation of the domain. Returns the start count this flush took: entries
 * queued with a lower counter are covered by it once it returns.
 */
static uint64_t dma_fq_flush_iotlb(struct dma_dev *dev, enum dma_flush_reason why)
{
	uint64_t t0 = dev->timing ? dma_now_ns() : 0;
	uint64_t mine = atomic_fetch_add(&dev->fq_flush_start, 1) + 1;

	iommu_flush_iotlb_all(dev->domain);
	atomic_fetch_add(&dev->fq_flush_finish, 1);
	atomic_fetch_add(&dev->flushes[why], 1);
	if (dev->timing)
		atomic_fetch_add(&dev->flush_ns, dma_now_ns() - t0);
	return mine;
}

static void dma_fq_entry_release(struct dma_dev *dev, struct dma_fq_entry *e)
{
	iommu_put_pages_list(&e->freelist);
	if (e->npages && iova_free(dev->iovad, e->pfn, e->npages))
		atomic_fetch_add(&dev->fq_bad_frees, 1);
	if (e->buf_order >= 0)
		mem_free_pages(dev->alloc, e->buf_phys, (unsigned)e->buf_order);
}

/*
 * Release the oldest entries while their counter is below `covered` (a finished flush
 * started after they were queued). The ring's slot lock is held.
 */
static unsigned dma_fq_ring_free(struct dma_dev *dev, struct dma_fq *fq, uint64_t covered)
{
	unsigned n = 0;

	while (fq->count && fq->entries[fq->head].counter < covered) {
		dma_fq_entry_release(dev, &fq->entries[fq->head]);
		fq->head = fq->head + 1 == fq->size ? 0 : fq->head + 1;
		fq->count--;
		n++;
	}
	return n;
}

static void dma_timer_arm(struct dma_dev *dev)
{
	struct timespec *d = &dev->tmr_deadline;

	pthread_mutex_lock(&dev->tmr_lock);
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += dev->fq_timeout_ms / 1000;
	d->tv_nsec += (long)(dev->fq_timeout_ms % 1000) * 1000000L;
	if (d->tv_nsec >= 1000000000L) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000L;
	}
	dev->tmr_armed = true;
	pthread_cond_signal(&dev->tmr_cond);
	pthread_mutex_unlock(&dev->tmr_lock);
}

/*
 * Queue a lazy unmap. If the thread's ring cannot be allocated the unmap is flushed and
 * released at once, as in strict mode.
 */
void dma_fq_queue(struct dma_dev *dev, struct dma_slot *slot, uint64_t pfn, uint64_t npages,
		  struct iommu_pages_list *freelist, uint64_t buf_phys, int buf_order)
{
	struct dma_fq_entry *e;
	struct dma_fq *fq;

	pthread_mutex_lock(&slot->lock);
	fq = slot->fq;
	if (DMA_UNLIKELY(!fq)) {
		fq = calloc(1, sizeof(*fq) + dev->fq_size * sizeof(fq->entries[0]));
		if (!fq) {
			struct dma_fq_entry now = {.pfn = pfn,
						   .npages = npages,
						   .buf_phys = buf_phys,
						   .buf_order = buf_order};

			pthread_mutex_unlock(&slot->lock);
			iommu_pages_list_move(&now.freelist, freelist);
			dma_fq_flush_iotlb(dev, DMA_FLUSH_FULL);
			dma_fq_entry_release(dev, &now);
			return;
		}
		fq->size = dev->fq_size;
		slot->fq = fq;
	}
	/* Entries another thread's flush has covered go first (Linux does the same). */
	dma_fq_ring_free(dev, fq, atomic_load(&dev->fq_flush_finish));
	if (fq->count == fq->size) {
		/* Everything here was queued before this flush started: it all goes. */
		dma_fq_ring_free(dev, fq, dma_fq_flush_iotlb(dev, DMA_FLUSH_FULL));
	}
	e = &fq->entries[(fq->head + fq->count) % fq->size];
	e->pfn = pfn;
	e->npages = npages;
	e->buf_phys = buf_phys;
	e->buf_order = buf_order;
	/* Read after the unmap cleared the table: a flush counted from here saw it cleared. */
	e->counter = atomic_load(&dev->fq_flush_start);
	e->freelist = (struct iommu_pages_list)IOMMU_PAGES_LIST_INIT;
	iommu_pages_list_move(&e->freelist, freelist);
	fq->count++;
	slot->tick = atomic_load_explicit(&dev->fq_tick, memory_order_relaxed);
	pthread_mutex_unlock(&slot->lock);
	atomic_fetch_add_explicit(&slot->queued, 1, memory_order_relaxed);

	if (dev->timer_running && !atomic_load_explicit(&dev->fq_timer_on, memory_order_relaxed) &&
	    !atomic_exchange(&dev->fq_timer_on, 1))
		dma_timer_arm(dev);
}

/* One flush, then release what it covered in every ring. Returns entries released. */
unsigned dma_fq_flush_drain(struct dma_dev *dev, enum dma_flush_reason why)
{
	uint64_t covered;
	unsigned n = 0;

	if (dev->mode != DMA_MODE_LAZY)
		return 0;
	covered = dma_fq_flush_iotlb(dev, why);
	for (unsigned i = 0; i < DMA_FQ_MAX; i++) {
		struct dma_slot *s = &dev->slots[i];

		pthread_mutex_lock(&s->lock);
		if (s->fq)
			n += dma_fq_ring_free(dev, s->fq, covered);
		pthread_mutex_unlock(&s->lock);
	}
	return n;
}

/*
 * The timer fired: flush if a queued entry is not covered yet, and release what is covered
 * in the rings whose threads did not queue in this timer period (see the top). True if
 * entries remain that need the timer again.
 */
bool dma_fq_timer_fire(struct dma_dev *dev)
{
	uint64_t covered = atomic_load(&dev->fq_flush_finish), tick;
	bool need = false, again = false;

	for (unsigned i = 0; i < DMA_FQ_MAX && !need; i++) {
		struct dma_slot *s = &dev->slots[i];

		pthread_mutex_lock(&s->lock);
		if (s->fq && s->fq->count)
			need = s->fq->entries[(s->fq->head + s->fq->count - 1) % s->fq->size]
				   .counter >= covered;
		pthread_mutex_unlock(&s->lock);
	}
	if (need)
		covered = dma_fq_flush_iotlb(dev, DMA_FLUSH_TIMEOUT);
	tick = atomic_fetch_add(&dev->fq_tick, 1);
	for (unsigned i = 0; i < DMA_FQ_MAX; i++) {
		struct dma_slot *s = &dev->slots[i];

		pthread_mutex_lock(&s->lock);
		if (s->fq && s->fq->count) {
			if (s->tick != tick)
				dma_fq_ring_free(dev, s->fq, covered);
			again |= s->fq->count != 0;
		}
		pthread_mutex_unlock(&s->lock);
	}
	return again;
}

unsigned dma_flush_queues(struct dma_dev *dev)
{
	if (!dev)
		return 0;
	return dma_fq_flush_drain(dev, DMA_FLUSH_EXPLICIT);
}

uint64_t dma_fq_pending(struct dma_dev *dev)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < DMA_FQ_MAX; i++) {
		struct dma_slot *s = &dev->slots[i];

		pthread_mutex_lock(&s->lock);
		if (s->fq)
			n += s->fq->count;
		pthread_mutex_unlock(&s->lock);
	}
	return n;
}

/* ---- the timer thread -------------------------------------------------------------------- */

static bool dma_timer_expired(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

static void *dma_timer_main(void *arg)
{
	struct dma_dev *dev = arg;

	pthread_mutex_lock(&dev->tmr_lock);
	while (!dev->tmr_stop) {
		if (!dev->tmr_armed) {
			pthread_cond_wait(&dev->tmr_cond, &dev->tmr_lock);
			continue;
		}
		if (!dma_timer_expired(&dev->tmr_deadline)) {
			pthread_cond_timedwait(&dev->tmr_cond, &dev->tmr_lock, &dev->tmr_deadline);
			continue;
		}
		dev->tmr_armed = false;
		pthread_mutex_unlock(&dev->tmr_lock);
		/* Cleared first, so an unmap racing with this flush arms the next one. */
		atomic_store(&dev->fq_timer_on, 0);
		if (dma_fq_timer_fire(dev) && !atomic_exchange(&dev->fq_timer_on, 1))
			dma_timer_arm(dev);
		pthread_mutex_lock(&dev->tmr_lock);
	}
	pthread_mutex_unlock(&dev->tmr_lock);
	return NULL;
}

int dma_fq_init(struct dma_dev *dev)
{
	pthread_condattr_t ca;
	int ret;

	pthread_mutex_init(&dev->tmr_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&dev->tmr_cond, &ca);
	pthread_condattr_destroy(&ca);
	dev->fq_ready = true;
	if (dev->fq_timeout_ms == DMA_FQ_TIMEOUT_NONE)
		return 0;
	ret = pthread_create(&dev->timer, NULL, dma_timer_main, dev);
	if (ret)
		return -EAGAIN;
	dev->timer_running = true;
	return 0;
}

/* Stop the timer, flush once and release everything; free the rings. */
void dma_fq_destroy(struct dma_dev *dev)
{
	if (!dev->fq_ready)
		return;
	if (dev->timer_running) {
		pthread_mutex_lock(&dev->tmr_lock);
		dev->tmr_stop = true;
		pthread_cond_signal(&dev->tmr_cond);
		pthread_mutex_unlock(&dev->tmr_lock);
		pthread_join(dev->timer, NULL);
		dev->timer_running = false;
	}
	if (dma_fq_pending(dev))
		dma_fq_flush_drain(dev, DMA_FLUSH_EXPLICIT);
	for (unsigned i = 0; i < DMA_FQ_MAX; i++) {
		free(dev->slots[i].fq);
		dev->slots[i].fq = NULL;
	}
	pthread_cond_destroy(&dev->tmr_cond);
	pthread_mutex_destroy(&dev->tmr_lock);
	dev->fq_ready = false;
}
