// SPDX-License-Identifier: MIT
/*
 * Many CPU threads mapping and unmapping on one device at once (run under ThreadSanitizer
 * too): strict and lazy (with a 1 ms timer flushing concurrently, and a thread asking for
 * flushes), with debugging on, and with the kernel PASID enabled and disabled meanwhile.
 * Each thread checks through the mock's IOTLB that its live mappings translate to its own
 * buffers: an IOVA reused before its flush would show another thread's stale page.
 */
#include <pthread.h>

#include "check.h"
#include "dma/dma_mock.h"

#define THREADS 4
#define ITERS	1500

struct worker {
	struct dmock_sys *s;
	unsigned id;
	int errors;
	pthread_t t;
};

static int check_reach(struct dmock_sys *s, dma_addr_t a, uint64_t pa, uint64_t len, bool write)
{
	for (uint64_t off = 0; off < len; off += 0x1000) {
		uint64_t out;

		if (dmock_translate(s->idev, IOMMU_NO_PASID, a + off, write, &out) ||
		    out != pa + off)
			return 1;
		if (dma_debug_check_access(s->dma, a + off, 1,
					   write ? DMA_FROM_DEVICE : DMA_TO_DEVICE))
			return 1;
	}
	return 0;
}

/* One step of a worker: a single mapping, an sg list or a coherent buffer. */
static int step(struct worker *w, uint64_t *rnd)
{
	struct dmock_sys *s = w->s;
	uint64_t base = 0x1000000ull + w->id * 0x1000000ull, r = check_rand(rnd);
	uint64_t pa = base + (r % 256) * 0x1000 + (r >> 20) % 0x800;
	uint64_t len = 1 + (r >> 32) % 0x5000;
	int err = 0;

	switch (r % 3) {
	case 0: {
		dma_addr_t a = dma_map_single(s->dma, pa, len, DMA_FROM_DEVICE);

		if (a == DMA_MAPPING_ERROR)
			return 1;
		err |= check_reach(s, a, pa, len, true);
		err |= dma_unmap_single(s->dma, a, len, DMA_FROM_DEVICE) != 0;
		break;
	}
	case 1: {
		struct dma_sg sg[3] = {{.phys = pa, .length = 0x1000 - (pa & 0xfff)},
				       {.phys = base + 0x400000, .length = 0x1000},
				       {.phys = base + 0x402000, .length = len}};
		int n = dma_map_sg(s->dma, sg, 3, DMA_TO_DEVICE);

		if (n <= 0)
			return 1;
		err |= check_reach(s, sg[0].dma_address, pa, 1, false);
		err |= dma_unmap_sg(s->dma, sg, 3, DMA_TO_DEVICE) != 0;
		break;
	}
	default: {
		uint64_t phys;
		dma_addr_t h;

		if (dma_alloc_coherent(s->dma, len, &phys, &h))
			return 1;
		err |= check_reach(s, h, phys, len, true);
		err |= dma_free_coherent(s->dma, len, phys, h) != 0;
	}
	}
	return err;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t rnd = 0x1234567 + w->id;

	for (unsigned i = 0; i < ITERS && !w->errors; i++)
		w->errors += step(w, &rnd);
	return NULL;
}

/* Flushes on request and PASID enable/disable, racing the workers. */
static void *disturber_main(void *arg)
{
	struct worker *w = arg;

	for (unsigned i = 0; i < 200; i++) {
		uint32_t pasid;
		int ret = dma_enable_pasid(w->s->dma, &pasid);

		if (ret == 0) {
			uint64_t out;

			/* Whatever is mapped right now, the PASID reaches what the RID does. */
			(void)dmock_translate(w->s->idev, pasid, 0x1000, false, &out);
			if (dma_disable_pasid(w->s->dma, pasid))
				w->errors++;
		} else if (ret != -EBUSY) {
			w->errors++;
		}
		dma_flush_queues(w->s->dma);
	}
	return NULL;
}

static void run(int type, bool debug)
{
	struct dmock_opts o = {.type = type,
			       .pasid_width = 20,
			       .max_pasids = 1u << 20,
			       .mem_size = 1ull << 30,
			       .cfg = {.debug = debug, .fq_size = 32, .fq_timeout_ms = 1}};
	struct worker w[THREADS + 1];
	struct dmock_sys s;
	struct dma_stats st;

	CHECK_EQ(dmock_sys_init(&s, &o), 0);
	for (unsigned i = 0; i <= THREADS; i++) {
		w[i] = (struct worker){.s = &s, .id = i};
		CHECK_EQ(pthread_create(&w[i].t, NULL, i < THREADS ? worker_main : disturber_main,
					&w[i]),
			 0);
	}
	for (unsigned i = 0; i <= THREADS; i++)
		pthread_join(w[i].t, NULL);
	for (unsigned i = 0; i <= THREADS; i++)
		CHECK_EQ(w[i].errors, 0);
	CHECK_EQ(dma_get_stats(s.dma, &st), 0);
	CHECK_EQ(st.live, 0);
	CHECK_EQ(st.maps, THREADS * ITERS);
	CHECK_EQ(st.map_errors, 0);
	CHECK_EQ(atomic_load(&s.u->reuse_before_flush), 0);
	CHECK_EQ(dma_debug_count(s.dma, DMA_DEBUG_NR), 0);
	if (type == IOMMU_DOMAIN_DMA_FQ) {
		CHECK(st.fq_queued > 0);
		CHECK_EQ(st.syncs, 0);
	}
	if (type == IOMMU_DOMAIN_DMA)
		CHECK_EQ(st.fq_queued, 0);
	CHECK_EQ(dmock_sys_fini(&s), 0);
}

static void t_strict(void)
{
	run(IOMMU_DOMAIN_DMA, false);
}

static void t_lazy(void)
{
	run(IOMMU_DOMAIN_DMA_FQ, false);
}

static void t_lazy_debug(void)
{
	run(IOMMU_DOMAIN_DMA_FQ, true);
}

static void t_direct_debug(void)
{
	run(IOMMU_DOMAIN_IDENTITY, true);
}

int main(void)
{
	RUN(t_strict);
	RUN(t_lazy);
	RUN(t_lazy_debug);
	RUN(t_direct_debug);
	return CHECK_DONE();
}
