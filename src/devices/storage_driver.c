// SPDX-License-Identifier: MIT
/*
 * The storage controller's kernel driver: a submission queue and one scatter-gather table
 * per queue slot in coherent memory; each request's buffers mapped with dma_map_sg() for
 * the length of the request and unmapped when its status arrives - on the DMA API only.
 */
#include <softiommu/traffic.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_DEFAULT	64
#define BLOCKS_DEFAULT	4096
#define TIMEOUT_DEFAULT 2000000000ull
#define SGL_BYTES	(STORAGE_MAX_SEGS * sizeof(struct storage_sge))

struct storage_drv {
	struct storage_drv_config cfg;
	struct dma_dev *dma;
	struct storage *dev;
	uint64_t q_phys, q_bytes, sgl_phys, sgl_bytes;
	dma_addr_t q_dma, sgl_dma;
	pthread_mutex_t lock; /* tail, doorbell, busy[], posted[], tag */
	pthread_cond_t freed;
	uint32_t tail;	   /* next slot to hand out */
	uint32_t doorbell; /* the device has been told about the slots before this one */
	bool *busy;	   /* slot handed out and not collected */
	bool *posted;	   /* slot written and not yet covered by the doorbell */
	uint32_t inflight; /* slots busy */
	uint32_t tag;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t pow2_bytes(uint64_t n)
{
	uint64_t p = 4096;

	while (p < n)
		p <<= 1;
	return p;
}

static void on_access(void *ctx, uint64_t addr, uint64_t len, bool write)
{
	struct storage_drv *drv = ctx;

	dma_debug_check_access(drv->dma, addr, len, write ? DMA_FROM_DEVICE : DMA_TO_DEVICE);
}

static int probe_queue(struct storage_drv *drv)
{
	struct storage_config sc = {.ep = drv->cfg.ep,
				    .queue_size = drv->cfg.queue_size,
				    .block_size = drv->cfg.block_size,
				    .blocks = drv->cfg.blocks};
	int ret;

	drv->q_bytes = pow2_bytes(drv->cfg.queue_size * sizeof(struct storage_cmd));
	drv->sgl_bytes = pow2_bytes(drv->cfg.queue_size * SGL_BYTES);
	ret = dma_alloc_coherent(drv->dma, drv->q_bytes, &drv->q_phys, &drv->q_dma);
	if (ret) {
		drv->q_bytes = 0;
		return ret;
	}
	ret = dma_alloc_coherent(drv->dma, drv->sgl_bytes, &drv->sgl_phys, &drv->sgl_dma);
	if (ret) {
		drv->sgl_bytes = 0;
		return ret;
	}
	sc.queue = drv->q_dma;
	if (dma_debug_enabled(drv->dma)) {
		sc.access = on_access;
		sc.access_ctx = drv;
	}
	return storage_create(&sc, &drv->dev);
}

int storage_drv_probe(const struct storage_drv_config *cfg, struct storage_drv **out)
{
	struct storage_drv *drv;
	int ret;

	if (!cfg || !out || !cfg->ep || !cfg->dma.dev || !cfg->dma.mem || !cfg->dma.alloc)
		return -EINVAL;
	drv = calloc(1, sizeof(*drv));
	if (!drv)
		return -ENOMEM;
	drv->cfg = *cfg;
	drv->cfg.queue_size = cfg->queue_size ? cfg->queue_size : QUEUE_DEFAULT;
	drv->cfg.block_size = cfg->block_size ? cfg->block_size : 4096;
	drv->cfg.blocks = cfg->blocks ? cfg->blocks : BLOCKS_DEFAULT;
	drv->cfg.timeout_ns = cfg->timeout_ns ? cfg->timeout_ns : TIMEOUT_DEFAULT;
	if (drv->cfg.queue_size < 2 || drv->cfg.queue_size > STORAGE_Q_MAX ||
	    (drv->cfg.queue_size & (drv->cfg.queue_size - 1))) {
		free(drv);
		return -EINVAL;
	}
	drv->busy = calloc(drv->cfg.queue_size, sizeof(bool));
	drv->posted = calloc(drv->cfg.queue_size, sizeof(bool));
	if (!drv->busy || !drv->posted) {
		free(drv->busy);
		free(drv->posted);
		free(drv);
		return -ENOMEM;
	}
	pthread_mutex_init(&drv->lock, NULL);
	pthread_cond_init(&drv->freed, NULL);
	ret = dma_dev_create(&drv->cfg.dma, &drv->dma);
	if (ret) {
		drv->dma = NULL;
		storage_drv_remove(drv);
		return ret;
	}
	ret = probe_queue(drv);
	if (ret) {
		storage_drv_remove(drv);
		return ret;
	}
	*out = drv;
	return 0;
}

int storage_drv_remove(struct storage_drv *drv)
{
	int ret = 0;

	if (!drv)
		return 0;
	storage_destroy(drv->dev);
	if (drv->sgl_bytes)
		dma_free_coherent(drv->dma, drv->sgl_bytes, drv->sgl_phys, drv->sgl_dma);
	if (drv->q_bytes)
		dma_free_coherent(drv->dma, drv->q_bytes, drv->q_phys, drv->q_dma);
	if (drv->dma)
		ret = dma_dev_destroy(drv->dma);
	pthread_cond_destroy(&drv->freed);
	pthread_mutex_destroy(&drv->lock);
	free(drv->busy);
	free(drv->posted);
	free(drv);
	return ret;
}

struct storage *storage_drv_dev(struct storage_drv *drv)
{
	return drv ? drv->dev : NULL;
}

struct dma_dev *storage_drv_dma(struct storage_drv *drv)
{
	return drv ? drv->dma : NULL;
}

/* Take the queue's tail slot once it is free (commands complete in order, so the slot a
 * full queue waits for is the oldest one). 0 or -ETIMEDOUT. */
static int slot_get(struct storage_drv *drv, uint32_t *slot)
{
	struct timespec ts;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(drv->cfg.timeout_ns / 1000000000ull) + 1;
	pthread_mutex_lock(&drv->lock);
	/* At most size - 1 in flight: a doorbell that went all the way round would look like
	 * an empty queue. */
	while ((drv->busy[drv->tail] || drv->inflight == drv->cfg.queue_size - 1) && !ret)
		ret = pthread_cond_timedwait(&drv->freed, &drv->lock, &ts);
	if (!drv->busy[drv->tail] && drv->inflight < drv->cfg.queue_size - 1) {
		ret = 0;
		*slot = drv->tail;
		drv->busy[*slot] = true;
		drv->inflight++;
		drv->tail = (drv->tail + 1) & (drv->cfg.queue_size - 1);
	}
	pthread_mutex_unlock(&drv->lock);
	return ret ? -ETIMEDOUT : 0;
}

static void slot_put(struct storage_drv *drv, uint32_t slot)
{
	pthread_mutex_lock(&drv->lock);
	drv->busy[slot] = false;
	drv->inflight--;
	pthread_cond_broadcast(&drv->freed);
	pthread_mutex_unlock(&drv->lock);
}

/* Poll the command's status (first 8 bytes, acquire). The status or 0 on timeout. */
static uint8_t wait_status(struct storage_drv *drv, uint32_t slot)
{
	const uint64_t *p =
	    mem_ptr(drv->cfg.dma.mem, drv->q_phys + slot * sizeof(struct storage_cmd), 8);
	uint64_t deadline = now_ns() + drv->cfg.timeout_ns;

	for (unsigned i = 0;; i++) {
		uint8_t st = (uint8_t)__atomic_load_n(p, __ATOMIC_ACQUIRE);

		if (st)
			return st;
		if (i > 256) {
			if (now_ns() > deadline)
				return 0;
			sched_yield();
		}
	}
}

/* Write the command and its list for `n` DMA segments of `sg`, then ring the doorbell. */
static void post(struct storage_drv *drv, uint32_t slot, bool write, uint64_t lba, uint32_t nblocks,
		 const struct dma_sg *sg, int n)
{
	struct storage_sge *l =
	    mem_ptr(drv->cfg.dma.mem, drv->sgl_phys + slot * SGL_BYTES, SGL_BYTES);
	struct storage_cmd *c =
	    mem_ptr(drv->cfg.dma.mem, drv->q_phys + slot * sizeof(struct storage_cmd), sizeof(*c));
	uint32_t tail;

	for (int i = 0; i < n; i++)
		l[i] = (struct storage_sge){.addr = sg[i].dma_address,
					    .len = (uint32_t)sg[i].dma_length};
	pthread_mutex_lock(&drv->lock);
	*c = (struct storage_cmd){
	    .opcode = write ? STORAGE_WRITE : STORAGE_READ,
	    .nsegs = (uint16_t)n,
	    .tag = drv->tag++,
	    .lba = lba,
	    .nblocks = nblocks,
	    .sgl = drv->sgl_dma + slot * SGL_BYTES,
	};
	/* Slots are handed out in order but may be written out of order by concurrent
	 * callers: the doorbell covers only the run of written ones. */
	drv->posted[slot] = true;
	tail = drv->doorbell;
	while (drv->posted[tail]) {
		drv->posted[tail] = false;
		tail = (tail + 1) & (drv->cfg.queue_size - 1);
	}
	if (tail != drv->doorbell) {
		drv->doorbell = tail;
		storage_doorbell(drv->dev, tail);
	}
	pthread_mutex_unlock(&drv->lock);
}

int storage_drv_rw(struct storage_drv *drv, bool write, uint64_t lba, uint32_t nblocks,
		   struct dma_sg *sg, int nents, uint8_t *status)
{
	enum dma_data_direction dir = write ? DMA_TO_DEVICE : DMA_FROM_DEVICE;
	uint32_t slot = 0;
	uint8_t st;
	int n, ret;

	if (status)
		*status = 0;
	if (!drv || !sg || nents <= 0 || !nblocks)
		return -EINVAL;
	n = dma_map_sg(drv->dma, sg, nents, dir);
	if (n < 0)
		return n;
	if (n > STORAGE_MAX_SEGS) {
		dma_unmap_sg(drv->dma, sg, nents, dir);
		return -EINVAL;
	}
	ret = slot_get(drv, &slot);
	if (ret) {
		dma_unmap_sg(drv->dma, sg, nents, dir);
		return ret;
	}
	post(drv, slot, write, lba, nblocks, sg, n);
	st = wait_status(drv, slot);
	if (status)
		*status = st;
	/* A command that never completed keeps its slot (the device may still write it). */
	if (st)
		slot_put(drv, slot);
	dma_unmap_sg(drv->dma, sg, nents, dir);
	if (!st)
		return -ETIMEDOUT;
	return st == STORAGE_OK ? 0 : -EIO;
}
