// SPDX-License-Identifier: MIT
/*
 * Strict versus lazy invalidation, against the mock driver's IOTLB (dma_mock.h):
 * strict flushes before an IOVA can be reused; lazy defers the flush to its queue, which
 * flushes once per full ring, on its timer, when the IOVA space runs out, on request and
 * at teardown; page-table pages freed by an unmap are never reused before the flush.
 */
#include <pthread.h>
#include <time.h>

#include "check.h"
#include "dma/dma_internal.h"
#include "dma/dma_mock.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct dma_stats stats(struct dma_dev *d)
{
	struct dma_stats st;

	dma_get_stats(d, &st);
	return st;
}

/* Strict: every unmap is flushed before its IOVA comes back, so reuse never sees stale. */
static void t_strict_flush_before_reuse(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA};
	struct dmock_sys s;
	uint64_t pa = 0x100000, out;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	for (unsigned i = 0; i < 500; i++) {
		uint64_t size = 0x1000 << (i % 4);
		dma_addr_t a = dma_map_single(s.dma, pa, size, DMA_BIDIRECTIONAL);

		CHECK(a != DMA_MAPPING_ERROR);
		CHECK_EQ(dmock_translate(s.idev, 0, a, true, &out), 0); /* fills the IOTLB */
		CHECK_EQ(dma_unmap_single(s.dma, a, size, DMA_BIDIRECTIONAL), 0);
		CHECK(dmock_translate(s.idev, 0, a, false, &out) == -EFAULT);
	}
	CHECK_EQ(atomic_load(&s.u->syncs), 500);
	CHECK_EQ(atomic_load(&s.u->flush_alls), 0);
	CHECK_EQ(atomic_load(&s.u->stale_hits), 0);
	CHECK_EQ(atomic_load(&s.u->reuse_before_flush), 0);
	CHECK_EQ(stats(s.dma).fq_queued, 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* Lazy: the unmap only clears the table; the device still hits its IOTLB until the flush. */
static void t_lazy_defers(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA_FQ,
			       .cfg = {.fq_timeout_ms = DMA_FQ_TIMEOUT_NONE}};
	struct dmock_sys s;
	uint64_t out;
	dma_addr_t a;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	CHECK_EQ(dma_dev_mode(s.dma), DMA_MODE_LAZY);
	a = dma_map_single(s.dma, 0x200000, 0x1000, DMA_FROM_DEVICE);
	CHECK_EQ(dmock_translate(s.idev, 0, a, true, &out), 0);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_FROM_DEVICE), 0);
	CHECK_EQ(atomic_load(&s.u->syncs), 0);
	CHECK_EQ(atomic_load(&s.u->flush_alls), 0);
	CHECK_EQ(stats(s.dma).fq_pending, 1);
	CHECK_EQ(stats(s.dma).fq_queued, 1);
	/* The stale translation still works: that is what lazy mode trades. */
	CHECK_EQ(dmock_translate(s.idev, 0, a, true, &out), 0);
	CHECK_EQ(out, 0x200000);
	CHECK_EQ(atomic_load(&s.u->stale_hits), 1);
	CHECK_EQ(dma_flush_queues(s.dma), 1);
	CHECK_EQ(atomic_load(&s.u->flush_alls), 1);
	CHECK_EQ(stats(s.dma).fq_pending, 0);
	CHECK_EQ(stats(s.dma).fq_flush_explicit, 1);
	CHECK(dmock_translate(s.idev, 0, a, true, &out) == -EFAULT);
	/* Nothing queued: a request still flushes (the caller asked), and releases nothing. */
	CHECK_EQ(dma_flush_queues(s.dma), 0);
	CHECK_EQ(dma_flush_queues(NULL), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* A full ring flushes once and releases what it held; reuse only ever follows a flush. */
static void t_lazy_full_ring(void)
{
	enum { N = 16 };
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA_FQ,
			       .cfg = {.fq_size = N, .fq_timeout_ms = DMA_FQ_TIMEOUT_NONE}};
	struct dmock_sys s;
	struct dma_stats st;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	for (unsigned i = 0; i < 3 * N + 1; i++) {
		dma_addr_t a = dma_map_single(s.dma, 0x300000, 0x1000, DMA_TO_DEVICE);

		CHECK(a != DMA_MAPPING_ERROR);
		CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
		/* The ring holds up to N: the (N+1)th unmap flushes. */
		CHECK_EQ(atomic_load(&s.u->flush_alls), i / N);
	}
	st = stats(s.dma);
	CHECK_EQ(st.fq_flush_full, 3);
	CHECK_EQ(st.fq_pending, 1);
	CHECK_EQ(st.fq_queued, 3 * N + 1);
	CHECK_EQ(atomic_load(&s.u->syncs), 0);
	CHECK_EQ(atomic_load(&s.u->reuse_before_flush), 0);
	/* Teardown flushes the last one (fini checks every table page is back). */
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/*
 * The timer flushes a lonely entry after fq_timeout_ms - not before, since the deadline is
 * set when the entry arms it.
 */
static void t_lazy_timeout(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA_FQ, .cfg = {.fq_timeout_ms = 200}};
	struct dmock_sys s;
	uint64_t t0, waited, out;
	dma_addr_t a;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	a = dma_map_single(s.dma, 0x200000, 0x1000, DMA_TO_DEVICE);
	CHECK_EQ(dmock_translate(s.idev, 0, a, false, &out), 0);
	t0 = now_ms();
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
	while (stats(s.dma).fq_pending && now_ms() - t0 < 10000)
		nanosleep(&(struct timespec){0, 2000000}, NULL);
	waited = now_ms() - t0;
	CHECK_EQ(stats(s.dma).fq_pending, 0);
	CHECK(waited >= 190);
	CHECK_EQ(stats(s.dma).fq_flush_timeout, 1);
	CHECK_EQ(atomic_load(&s.u->flush_alls), 1);
	CHECK(dmock_translate(s.idev, 0, a, false, &out) == -EFAULT);
	/* It re-arms: the next entry gets its own timeout. */
	a = dma_map_single(s.dma, 0x200000, 0x1000, DMA_TO_DEVICE);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
	t0 = now_ms();
	while (stats(s.dma).fq_pending && now_ms() - t0 < 10000)
		nanosleep(&(struct timespec){0, 2000000}, NULL);
	CHECK_EQ(stats(s.dma).fq_flush_timeout, 2);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/*
 * A thread that keeps unmapping releases what the timer's flushes cover itself, at its next
 * unmap: its IOVAs stay in its own cache (the timer thread never frees one, so it has no
 * cache in the domain), while the timer still flushes on time. When the thread stops, the
 * timer releases its queue by the next expiry.
 */
struct busy_unmapper {
	struct dma_dev *dma;
	int ms;
	int err;
};

static void *busy_unmap(void *arg)
{
	struct busy_unmapper *b = arg;
	uint64_t t0 = now_ms();

	while (now_ms() - t0 < (uint64_t)b->ms) {
		dma_addr_t a = dma_map_single(b->dma, 0x200000, 0x1000, DMA_TO_DEVICE);

		b->err |=
		    a == DMA_MAPPING_ERROR || dma_unmap_single(b->dma, a, 0x1000, DMA_TO_DEVICE);
		nanosleep(&(struct timespec){0, 200000}, NULL);
	}
	return NULL;
}

static void t_lazy_timer_leaves_active_queues(void)
{
	/* Periods long enough that a loaded machine does not leave the worker out of one. */
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA_FQ, .cfg = {.fq_timeout_ms = 100}};
	struct busy_unmapper b = {.ms = 450};
	struct iova_stats ist;
	struct dmock_sys s;
	pthread_t t;
	uint64_t t0;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	b.dma = s.dma;
	CHECK_EQ(pthread_create(&t, NULL, busy_unmap, &b), 0);
	pthread_join(t, NULL);
	CHECK_EQ(b.err, 0);
	CHECK(stats(s.dma).fq_flush_timeout >= 2);
	CHECK_EQ(iova_stats(s.dma->iovad, &ist), 0);
	CHECK_EQ(ist.thread_caches, 0); /* the worker left; the timer never had one */
	/* The worker's last entries: released by an expiry after it stopped. */
	t0 = now_ms();
	while (stats(s.dma).fq_pending && now_ms() - t0 < 10000)
		nanosleep(&(struct timespec){0, 2000000}, NULL);
	CHECK_EQ(stats(s.dma).fq_pending, 0);
	CHECK_EQ(iova_stats(s.dma->iovad, &ist), 0);
	CHECK_EQ(ist.thread_caches, 1); /* now the timer thread's */
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* The default timeout (10 ms) is what a default device gets. */
static void t_lazy_default_timeout(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA_FQ};
	struct dmock_sys s;
	uint64_t t0;
	dma_addr_t a;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	a = dma_map_single(s.dma, 0x200000, 0x1000, DMA_TO_DEVICE);
	t0 = now_ms();
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
	while (stats(s.dma).fq_pending && now_ms() - t0 < 10000)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	CHECK_EQ(stats(s.dma).fq_pending, 0);
	CHECK(now_ms() - t0 >= 9);
	CHECK_EQ(stats(s.dma).fq_flush_timeout, 1);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* Page-table pages freed by an unmap go back only after the flush that covers them. */
static void t_table_pages_wait_for_flush(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA_FQ,
			       .cfg = {.fq_timeout_ms = DMA_FQ_TIMEOUT_NONE}};
	struct dmock_sys s;
	dma_addr_t a;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	a = dma_map_single(s.dma, 0x200000, 0x1000, DMA_TO_DEVICE);
	CHECK_EQ(mem_alloc_in_use(s.u->tables), 1);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
	CHECK_EQ(mem_alloc_in_use(s.u->tables), 1); /* still cached by the hardware, maybe */
	CHECK_EQ(dma_flush_queues(s.dma), 1);
	CHECK_EQ(mem_alloc_in_use(s.u->tables), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);

	/* Strict: released right after the unmap's own sync. */
	o.type = IOMMU_DOMAIN_DMA;
	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	a = dma_map_single(s.dma, 0x200000, 0x1000, DMA_TO_DEVICE);
	CHECK_EQ(mem_alloc_in_use(s.u->tables), 1);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
	CHECK_EQ(mem_alloc_in_use(s.u->tables), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/* Lazy coherent buffers: the pages wait for the flush too (stricter than Linux). */
static void t_lazy_coherent_pages(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA_FQ,
			       .cfg = {.fq_timeout_ms = DMA_FQ_TIMEOUT_NONE}};
	struct dmock_sys s;
	uint64_t phys, in_use;
	dma_addr_t h;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	in_use = mem_alloc_in_use(s.pages);
	CHECK_EQ(dma_alloc_coherent(s.dma, 0x3000, &phys, &h), 0);
	CHECK_EQ(mem_alloc_in_use(s.pages), in_use + 4);
	CHECK_EQ(dma_free_coherent(s.dma, 0x3000, phys, h), 0);
	CHECK_EQ(mem_alloc_in_use(s.pages), in_use + 4);
	CHECK_EQ(dma_flush_queues(s.dma), 1);
	CHECK_EQ(mem_alloc_in_use(s.pages), in_use);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/*
 * A small IOVA space (a 20-bit DMA mask: 255 pages): lazy unmaps fill it with queued
 * IOVAs; the next map flushes, releases, drains the caches and succeeds. With everything
 * really mapped, the map fails with -ENOSPC after its one retry.
 */
static void t_exhaustion_retry(void)
{
	struct dmock_opts o = {
	    .type = IOMMU_DOMAIN_DMA_FQ,
	    .cfg = {.dma_mask_bits = 20, .fq_size = 4096, .fq_timeout_ms = DMA_FQ_TIMEOUT_NONE}};
	static dma_addr_t live[300];
	struct dmock_sys s;
	struct dma_stats st;
	unsigned n;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	for (unsigned i = 0; i < 1000; i++) {
		dma_addr_t a = dma_map_single(s.dma, 0x200000, 0x1000, DMA_TO_DEVICE);

		CHECK(a != DMA_MAPPING_ERROR);
		CHECK(a < (1u << 20));
		CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
	}
	st = stats(s.dma);
	CHECK(st.fq_flush_nospace >= 3);
	CHECK_EQ(st.fq_flush_full, 0);
	CHECK_EQ(st.iova_retries, st.fq_flush_nospace);
	CHECK_EQ(atomic_load(&s.u->reuse_before_flush), 0);
	dma_flush_queues(s.dma);
	/* Now fill it for real. */
	for (n = 0; n < 300; n++) {
		live[n] = dma_map_single(s.dma, 0x200000, 0x1000, DMA_TO_DEVICE);
		if (live[n] == DMA_MAPPING_ERROR)
			break;
	}
	CHECK_EQ(n, 255);
	CHECK_EQ(dma_mapping_error(s.dma, live[n]), -ENOSPC);
	for (unsigned i = 0; i < n; i++)
		CHECK_EQ(dma_unmap_single(s.dma, live[i], 0x1000, DMA_TO_DEVICE), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/*
 * Strict mode retries too: freed IOVAs sit in the allocator's per-thread caches. With a
 * 20-bit mask (pfns 1..255) 128 cached single pages hold pfns 128..255, so a 100-page
 * buffer (aligned to 128 pages) fits only after the caches are drained.
 */
static void t_exhaustion_strict(void)
{
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA, .cfg = {.dma_mask_bits = 20}};
	static dma_addr_t a[128];
	struct dmock_sys s;
	dma_addr_t big;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	for (unsigned i = 0; i < 128; i++) {
		a[i] = dma_map_single(s.dma, 0x200000, 0x1000, DMA_TO_DEVICE);
		CHECK(a[i] >= (128u << 12) && a[i] < (256u << 12));
	}
	for (unsigned i = 0; i < 128; i++)
		CHECK_EQ(dma_unmap_single(s.dma, a[i], 0x1000, DMA_TO_DEVICE), 0);
	CHECK_EQ(stats(s.dma).iova_retries, 0);
	big = dma_map_single(s.dma, 0x200000, 100 << 12, DMA_TO_DEVICE);
	CHECK(big != DMA_MAPPING_ERROR);
	CHECK_EQ(big, 128u << 12);
	CHECK_EQ(stats(s.dma).iova_retries, 1);
	CHECK_EQ(stats(s.dma).fq_flush_nospace, 0); /* no flush queue in strict mode */
	CHECK_EQ(dma_unmap_single(s.dma, big, 100 << 12, DMA_TO_DEVICE), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

/*
 * A full ring while another thread's flush is still in flight: the finish count lags, but
 * the ring's own flush started after every entry in it, so all of them go (an earlier
 * version overwrote the oldest entry here and leaked its IOVA and table page).
 */
struct slow_flush {
	atomic_int calls, inside, release;
};

static void slow_first_flush(struct dmock_unit *u)
{
	struct slow_flush *sf = u->hook_ctx;

	if (atomic_fetch_add(&sf->calls, 1))
		return;
	atomic_store(&sf->inside, 1);
	while (!atomic_load(&sf->release))
		nanosleep(&(struct timespec){0, 100000}, NULL);
}

static void *flusher(void *arg)
{
	dma_flush_queues(arg);
	return NULL;
}

static void t_full_ring_during_other_flush(void)
{
	enum { N = 4 };
	struct dmock_opts o = {.type = IOMMU_DOMAIN_DMA_FQ,
			       .cfg = {.fq_size = N, .fq_timeout_ms = DMA_FQ_TIMEOUT_NONE}};
	struct slow_flush sf = {0};
	struct dmock_sys s;
	struct dma_stats st;
	pthread_t t;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	s.u->hook_ctx = &sf;
	s.u->on_flush_all = slow_first_flush;
	CHECK_EQ(pthread_create(&t, NULL, flusher, s.dma), 0);
	while (!atomic_load(&sf.inside))
		nanosleep(&(struct timespec){0, 100000}, NULL);
	for (unsigned i = 0; i < N + 1; i++) {
		dma_addr_t a =
		    dma_map_single(s.dma, 0x200000 + i * 0x200000ull, 0x1000, DMA_TO_DEVICE);

		CHECK(a != DMA_MAPPING_ERROR);
		CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
	}
	st = stats(s.dma);
	atomic_store(&sf.release, 1);
	pthread_join(t, NULL);
	CHECK_EQ(st.fq_flush_full, 1);
	CHECK_EQ(st.fq_pending, 1);
	CHECK_EQ(atomic_load(&s.u->reuse_before_flush), 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

int main(void)
{
	RUN(t_strict_flush_before_reuse);
	RUN(t_lazy_defers);
	RUN(t_lazy_full_ring);
	RUN(t_lazy_timeout);
	RUN(t_lazy_default_timeout);
	RUN(t_lazy_timer_leaves_active_queues);
	RUN(t_table_pages_wait_for_flush);
	RUN(t_lazy_coherent_pages);
	RUN(t_exhaustion_retry);
	RUN(t_exhaustion_strict);
	RUN(t_full_ring_during_other_flush);
	return CHECK_DONE();
}
