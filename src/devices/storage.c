// SPDX-License-Identifier: MIT
/*
 * The storage model: commands from a submission queue in memory, each moving blocks between
 * the device's medium (host memory) and the segments of a scatter-gather list, every access
 * a DMA through the endpoint. Commands complete in order; the status byte is written back
 * in the command's first 8 bytes, as one ordered write (pci.h).
 */
#include <softiommu/traffic.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/worker.h"

struct storage {
	struct storage_config cfg;
	struct dev_worker w;
	uint32_t tail; /* doorbell register, under w.lock */
	uint32_t head; /* the device's own (its thread only) */
	uint8_t *medium;
	uint64_t medium_size;
	struct storage_sge sgl[STORAGE_MAX_SEGS];
	struct storage_stats stats; /* one writer: the thread */
};

static int dma(struct storage *st, bool write, uint64_t addr, void *buf, size_t len)
{
	if (st->cfg.access)
		st->cfg.access(st->cfg.access_ctx, addr, len, write);
	if (write)
		return pci_endpoint_dma_write(st->cfg.ep, 0, 0, addr, buf, len, NULL);
	return pci_endpoint_dma_read(st->cfg.ep, 0, 0, addr, buf, len, NULL);
}

/* The command's checks: 0 or its error status. */
static uint8_t check_cmd(const struct storage *st, const struct storage_cmd *c)
{
	if ((c->opcode != STORAGE_READ && c->opcode != STORAGE_WRITE) || !c->nblocks || !c->nsegs ||
	    c->nsegs > STORAGE_MAX_SEGS)
		return STORAGE_ERR_CMD;
	if (c->lba >= st->cfg.blocks || c->nblocks > st->cfg.blocks - c->lba)
		return STORAGE_ERR_LBA;
	return 0;
}

/* Move the data: 0 or an error status. The list is read first and checked whole. */
static uint8_t run_cmd(struct storage *st, const struct storage_cmd *c)
{
	uint64_t bytes = (uint64_t)c->nblocks * st->cfg.block_size, sum = 0, off;
	bool write = c->opcode == STORAGE_WRITE;

	if (dma(st, false, c->sgl, st->sgl, c->nsegs * sizeof(st->sgl[0])))
		return STORAGE_ERR_DMA;
	for (unsigned i = 0; i < c->nsegs; i++) {
		if (!st->sgl[i].len)
			return STORAGE_ERR_CMD;
		sum += st->sgl[i].len;
	}
	if (sum != bytes)
		return STORAGE_ERR_CMD;
	off = c->lba * st->cfg.block_size;
	for (unsigned i = 0; i < c->nsegs; i++) {
		uint8_t *m = st->medium + off;

		/* A write command reads memory into the medium; a read writes memory. */
		if (dma(st, !write, st->sgl[i].addr, m, st->sgl[i].len))
			return STORAGE_ERR_DMA;
		off += st->sgl[i].len;
		DEV_STAT_ADD(st->stats.segments, 1);
	}
	if (write) {
		DEV_STAT_ADD(st->stats.writes, 1);
		DEV_STAT_ADD(st->stats.bytes_written, bytes);
	} else {
		DEV_STAT_ADD(st->stats.reads, 1);
		DEV_STAT_ADD(st->stats.bytes_read, bytes);
	}
	return STORAGE_OK;
}

static bool storage_step(void *ctx)
{
	struct storage *st = ctx;
	uint64_t addr = st->cfg.queue + st->head * sizeof(struct storage_cmd);
	struct storage_cmd c;
	uint32_t tail;
	uint8_t status;

	pthread_mutex_lock(&st->w.lock);
	tail = st->tail;
	pthread_mutex_unlock(&st->w.lock);
	if (st->head == tail)
		return false;
	st->head = (st->head + 1) & (st->cfg.queue_size - 1);
	if (dma(st, false, addr, &c, sizeof(c))) {
		DEV_STAT_ADD(st->stats.errors, 1);
		return true; /* nothing can be reported: the driver times out */
	}
	status = check_cmd(st, &c);
	if (!status)
		status = run_cmd(st, &c);
	if (status != STORAGE_OK)
		DEV_STAT_ADD(st->stats.errors, 1);
	c.status = status;
	/* The first 8 bytes, status first: one ordered write. */
	if (dma(st, true, addr, &c, 8))
		DEV_STAT_ADD(st->stats.errors, 1);
	return true;
}

int storage_create(const struct storage_config *cfg, struct storage **out)
{
	struct storage *st;
	uint64_t bs;
	int ret;

	if (!cfg || !out || !cfg->ep || !cfg->queue_size || cfg->queue_size > STORAGE_Q_MAX ||
	    (cfg->queue_size & (cfg->queue_size - 1)) || !cfg->blocks)
		return -EINVAL;
	bs = cfg->block_size ? cfg->block_size : 4096;
	if ((bs != 512 && bs != 4096) || cfg->blocks > (1ull << 40) / bs)
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->cfg = *cfg;
	st->cfg.block_size = (uint32_t)bs;
	st->medium_size = cfg->blocks * bs;
	st->medium = calloc(1, st->medium_size);
	if (!st->medium) {
		free(st);
		return -ENOMEM;
	}
	ret = dev_worker_start(&st->w, storage_step, st);
	if (ret) {
		free(st->medium);
		free(st);
		return ret;
	}
	*out = st;
	return 0;
}

void storage_destroy(struct storage *st)
{
	if (!st)
		return;
	dev_worker_stop(&st->w);
	free(st->medium);
	free(st);
}

void storage_doorbell(struct storage *st, uint32_t tail)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->w.lock);
	st->tail = tail & (st->cfg.queue_size - 1);
	dev_worker_kick_locked(&st->w);
	pthread_mutex_unlock(&st->w.lock);
}

uint8_t *storage_medium(struct storage *st, uint64_t *size)
{
	if (!st)
		return NULL;
	if (size)
		*size = st->medium_size;
	return st->medium;
}

int storage_get_stats(struct storage *st, struct storage_stats *out)
{
	const struct storage_stats *s;

	if (!st || !out)
		return -EINVAL;
	s = &st->stats;
	*out = (struct storage_stats){
	    .reads = DEV_STAT_LOAD(s->reads),
	    .writes = DEV_STAT_LOAD(s->writes),
	    .bytes_read = DEV_STAT_LOAD(s->bytes_read),
	    .bytes_written = DEV_STAT_LOAD(s->bytes_written),
	    .segments = DEV_STAT_LOAD(s->segments),
	    .errors = DEV_STAT_LOAD(s->errors),
	};
	return 0;
}
