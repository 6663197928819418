// SPDX-License-Identifier: MIT
/*
 * The NIC's kernel driver: rings in coherent memory, one dma_map_single() per packet buffer
 * posted to the device and one dma_unmap_single() when the device gives it back - the
 * streaming-DMA pattern of a classic network driver - on the DMA API only.
 */
#include <softiommu/traffic.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING_DEFAULT	256
#define BUF_DEFAULT	2048
#define TIMEOUT_DEFAULT 2000000000ull
#define GEN_SPACE	0u	    /* sequence numbers of generated packets */
#define TX_SPACE	NIC_TX_SEQ0 /* ... of transmitted ones (loopback brings them back) */

struct ring {
	uint32_t size;
	uint64_t phys, size_bytes;
	dma_addr_t dma;
	uint64_t *buf;	 /* CPU physical address of each slot's buffer */
	dma_addr_t *map; /* its DMA address while mapped, DMA_MAPPING_ERROR otherwise */
	uint16_t *len;	 /* mapped length */
	unsigned buf_order;
	uint32_t next; /* next descriptor to clean */
	uint32_t tail; /* next descriptor to post */
};

struct nic_drv {
	struct nic_drv_config cfg;
	struct dma_dev *dma;
	struct nic *nic;
	pthread_mutex_t lock; /* the rings, the expected sequence numbers, the counters */
	struct ring rx, tx;
	uint32_t expect[2]; /* next sequence number per space (generated, transmitted) */
	uint32_t tx_seq;    /* the next nic_drv_run() transmits */
	struct nic_drv_stats stats;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static unsigned order_for(uint64_t bytes)
{
	unsigned o = 0;

	while ((4096ull << o) < bytes)
		o++;
	return o;
}

static struct nic_desc *desc(struct nic_drv *drv, struct ring *r, uint32_t i)
{
	return mem_ptr(drv->cfg.dma.mem, r->phys + i * sizeof(struct nic_desc),
		       sizeof(struct nic_desc));
}

/* The descriptor's first 8 bytes with acquire: the device writes them last. */
static uint16_t desc_status(struct nic_drv *drv, struct ring *r, uint32_t i)
{
	uint64_t head = __atomic_load_n((uint64_t *)(void *)desc(drv, r, i), __ATOMIC_ACQUIRE);

	return (uint16_t)head;
}

static int map_buf(struct nic_drv *drv, struct ring *r, uint32_t i, uint32_t len,
		   enum dma_data_direction dir)
{
	dma_addr_t a = dma_map_single(drv->dma, r->buf[i], len, dir);

	if (a == DMA_MAPPING_ERROR) {
		drv->stats.map_errors++;
		return dma_mapping_error(drv->dma, a);
	}
	drv->stats.maps++;
	r->map[i] = a;
	r->len[i] = (uint16_t)len;
	return 0;
}

static void unmap_buf(struct nic_drv *drv, struct ring *r, uint32_t i, enum dma_data_direction dir)
{
	if (r->map[i] == DMA_MAPPING_ERROR)
		return;
	dma_unmap_single(drv->dma, r->map[i], r->len[i], dir);
	drv->stats.unmaps++;
	r->map[i] = DMA_MAPPING_ERROR;
}

/* ---- rings and buffers ------------------------------------------------------------------- */

static int ring_init(struct nic_drv *drv, struct ring *r, uint32_t size, uint32_t buf_bytes)
{
	struct mem_alloc *a = drv->cfg.dma.alloc;
	int ret;

	r->size = size;
	r->buf_order = order_for(buf_bytes);
	r->buf = calloc(size, sizeof(*r->buf));
	r->map = calloc(size, sizeof(*r->map));
	r->len = calloc(size, sizeof(*r->len));
	if (!r->buf || !r->map || !r->len)
		return -ENOMEM;
	for (uint32_t i = 0; i < size; i++)
		r->map[i] = DMA_MAPPING_ERROR;
	r->size_bytes = 4096;
	while (r->size_bytes < size * sizeof(struct nic_desc))
		r->size_bytes <<= 1;
	ret = dma_alloc_coherent(drv->dma, r->size_bytes, &r->phys, &r->dma);
	if (ret) {
		r->size_bytes = 0;
		return ret;
	}
	for (uint32_t i = 0; i < size; i++) {
		ret = mem_alloc_pages(a, r->buf_order, &r->buf[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static void ring_fini(struct nic_drv *drv, struct ring *r, enum dma_data_direction dir)
{
	for (uint32_t i = 0; r->map && i < r->size; i++)
		unmap_buf(drv, r, i, dir);
	for (uint32_t i = 0; r->buf && i < r->size; i++)
		if (r->buf[i])
			mem_free_pages(drv->cfg.dma.alloc, r->buf[i], r->buf_order);
	if (r->size_bytes)
		dma_free_coherent(drv->dma, r->size_bytes, r->phys, r->dma);
	free(r->buf);
	free(r->map);
	free(r->len);
}

/* Post receive slot i: map its buffer for the device to write and describe it. */
static int rx_post(struct nic_drv *drv, uint32_t i)
{
	struct nic_desc *d = desc(drv, &drv->rx, i);
	int ret = map_buf(drv, &drv->rx, i, drv->cfg.buf_size, DMA_FROM_DEVICE);

	if (ret)
		return ret;
	*d = (struct nic_desc){.len = (uint16_t)drv->cfg.buf_size, .addr = drv->rx.map[i]};
	return 0;
}

/* Post every receive slot but one (a full ring would look empty). */
static int rx_fill(struct nic_drv *drv)
{
	struct ring *r = &drv->rx;

	while (((r->tail + 1) & (r->size - 1)) != r->next) {
		int ret = rx_post(drv, r->tail);

		if (ret)
			return ret;
		r->tail = (r->tail + 1) & (r->size - 1);
	}
	nic_rx_doorbell(drv->nic, r->tail);
	return 0;
}

static bool config_ok(struct nic_drv_config *c)
{
	if (!c->ep || !c->dma.dev || !c->dma.mem || !c->dma.alloc)
		return false;
	c->rx_size = c->rx_size ? c->rx_size : RING_DEFAULT;
	c->tx_size = c->tx_size ? c->tx_size : RING_DEFAULT;
	c->buf_size = c->buf_size ? c->buf_size : BUF_DEFAULT;
	c->timeout_ns = c->timeout_ns ? c->timeout_ns : TIMEOUT_DEFAULT;
	return c->rx_size >= 2 && c->tx_size >= 2 && c->rx_size <= NIC_RING_MAX &&
	       c->tx_size <= NIC_RING_MAX && !(c->rx_size & (c->rx_size - 1)) &&
	       !(c->tx_size & (c->tx_size - 1)) && c->buf_size >= NIC_PKT_MIN &&
	       c->buf_size <= NIC_PKT_MAX;
}

static void on_access(void *ctx, uint64_t addr, uint64_t len, bool write)
{
	struct nic_drv *drv = ctx;

	dma_debug_check_access(drv->dma, addr, len, write ? DMA_FROM_DEVICE : DMA_TO_DEVICE);
}

static int probe_rings(struct nic_drv *drv)
{
	struct nic_config nc = {.ep = drv->cfg.ep, .loopback = drv->cfg.loopback};
	int ret = ring_init(drv, &drv->rx, drv->cfg.rx_size, drv->cfg.buf_size);

	if (!ret)
		ret = ring_init(drv, &drv->tx, drv->cfg.tx_size, NIC_PKT_MAX);
	if (ret)
		return ret;
	nc.rx_ring = drv->rx.dma;
	nc.rx_size = drv->rx.size;
	nc.tx_ring = drv->tx.dma;
	nc.tx_size = drv->tx.size;
	if (dma_debug_enabled(drv->dma)) {
		nc.access = on_access;
		nc.access_ctx = drv;
	}
	ret = nic_create(&nc, &drv->nic);
	if (ret)
		return ret;
	pthread_mutex_lock(&drv->lock);
	ret = rx_fill(drv);
	pthread_mutex_unlock(&drv->lock);
	return ret;
}

int nic_drv_probe(const struct nic_drv_config *cfg, struct nic_drv **out)
{
	struct nic_drv *drv;
	int ret;

	if (!cfg || !out)
		return -EINVAL;
	drv = calloc(1, sizeof(*drv));
	if (!drv)
		return -ENOMEM;
	drv->cfg = *cfg;
	if (!config_ok(&drv->cfg)) {
		free(drv);
		return -EINVAL;
	}
	drv->expect[1] = TX_SPACE;
	drv->tx_seq = TX_SPACE;
	pthread_mutex_init(&drv->lock, NULL);
	ret = dma_dev_create(&drv->cfg.dma, &drv->dma);
	if (ret) {
		pthread_mutex_destroy(&drv->lock);
		free(drv);
		return ret;
	}
	ret = probe_rings(drv);
	if (ret) {
		nic_drv_remove(drv);
		return ret;
	}
	*out = drv;
	return 0;
}

int nic_drv_remove(struct nic_drv *drv)
{
	int ret;

	if (!drv)
		return 0;
	nic_destroy(drv->nic);
	ring_fini(drv, &drv->rx, DMA_FROM_DEVICE);
	ring_fini(drv, &drv->tx, DMA_TO_DEVICE);
	ret = dma_dev_destroy(drv->dma);
	pthread_mutex_destroy(&drv->lock);
	free(drv);
	return ret;
}

struct nic *nic_drv_nic(struct nic_drv *drv)
{
	return drv ? drv->nic : NULL;
}

struct dma_dev *nic_drv_dma(struct nic_drv *drv)
{
	return drv ? drv->dma : NULL;
}

/* ---- transmit ------------------------------------------------------------------------------ */

static int tx_reap_locked(struct nic_drv *drv)
{
	struct ring *r = &drv->tx;
	int n = 0;

	while (r->next != r->tail) {
		uint16_t st = desc_status(drv, r, r->next);

		if (!(st & NIC_DESC_DD))
			break;
		unmap_buf(drv, r, r->next, DMA_TO_DEVICE);
		if (st & NIC_DESC_ERR) {
			drv->stats.tx_errors++;
		} else {
			drv->stats.tx_packets++;
			drv->stats.tx_bytes += r->len[r->next];
		}
		r->next = (r->next + 1) & (r->size - 1);
		n++;
	}
	return n;
}

int nic_drv_tx_reap(struct nic_drv *drv)
{
	int n;

	if (!drv)
		return -EINVAL;
	pthread_mutex_lock(&drv->lock);
	n = tx_reap_locked(drv);
	pthread_mutex_unlock(&drv->lock);
	return n;
}

/* Post packet `seq` in slot r->tail (free). */
static int tx_post_locked(struct nic_drv *drv, uint32_t seq, uint32_t len)
{
	struct ring *r = &drv->tx;
	uint32_t i = r->tail;
	struct nic_desc *d = desc(drv, r, i);
	int ret;

	nic_pkt_build(mem_ptr(drv->cfg.dma.mem, r->buf[i], len), seq, len);
	ret = map_buf(drv, r, i, len, DMA_TO_DEVICE);
	if (ret)
		return ret;
	*d = (struct nic_desc){.len = (uint16_t)len, .addr = r->map[i]};
	r->tail = (i + 1) & (r->size - 1);
	nic_tx_doorbell(drv->nic, r->tail);
	return 0;
}

int nic_drv_xmit(struct nic_drv *drv, uint32_t seq, uint32_t len)
{
	uint64_t deadline = 0;
	int ret;

	if (!drv || len < NIC_PKT_MIN || len > NIC_PKT_MAX)
		return -EINVAL;
	pthread_mutex_lock(&drv->lock);
	for (;;) {
		tx_reap_locked(drv);
		if (((drv->tx.tail + 1) & (drv->tx.size - 1)) != drv->tx.next)
			break;
		if (!deadline) {
			deadline = now_ns() + drv->cfg.timeout_ns;
		} else if (now_ns() > deadline) {
			pthread_mutex_unlock(&drv->lock);
			return -EBUSY;
		}
		pthread_mutex_unlock(&drv->lock);
		sched_yield();
		pthread_mutex_lock(&drv->lock);
	}
	ret = tx_post_locked(drv, seq, len);
	pthread_mutex_unlock(&drv->lock);
	return ret;
}

/* ---- receive ------------------------------------------------------------------------------- */

/* Check a received packet from the CPU's side, now that its buffer is unmapped. */
static void rx_check(struct nic_drv *drv, uint32_t i, uint16_t len)
{
	const uint8_t *p = mem_ptr(drv->cfg.dma.mem, drv->rx.buf[i], len);
	uint32_t seq;

	if (!p || nic_pkt_check(p, len, &seq)) {
		drv->stats.rx_bad++;
		return;
	}
	drv->stats.rx_packets++;
	drv->stats.rx_bytes += len;
	/* Each source (the wire, our own transmits) delivers in order. */
	if (seq != drv->expect[seq >= TX_SPACE])
		drv->stats.rx_out_of_order++;
	drv->expect[seq >= TX_SPACE] = seq + 1;
}

static int rx_poll_locked(struct nic_drv *drv, unsigned budget)
{
	struct ring *r = &drv->rx;
	int n = 0;

	while (budget-- && r->next != r->tail) {
		uint16_t st = desc_status(drv, r, r->next);
		uint16_t len;

		if (!(st & NIC_DESC_DD))
			break;
		len = desc(drv, r, r->next)->len;
		unmap_buf(drv, r, r->next, DMA_FROM_DEVICE);
		if (st & NIC_DESC_ERR)
			drv->stats.rx_errors++;
		else if (len)
			rx_check(drv, r->next, len);
		r->next = (r->next + 1) & (r->size - 1);
		n++;
	}
	if (n) {
		int ret = rx_fill(drv);

		if (ret)
			return ret;
	}
	return n;
}

int nic_drv_rx_poll(struct nic_drv *drv, unsigned budget)
{
	int n;

	if (!drv)
		return -EINVAL;
	pthread_mutex_lock(&drv->lock);
	n = rx_poll_locked(drv, budget);
	pthread_mutex_unlock(&drv->lock);
	return n;
}

/* ---- a workload ---------------------------------------------------------------------------- */

static bool run_done(struct nic_drv *drv, uint64_t rx_goal, uint64_t tx_goal)
{
	bool done;

	pthread_mutex_lock(&drv->lock);
	done = drv->stats.rx_packets + drv->stats.rx_bad + drv->stats.rx_errors >= rx_goal &&
	       drv->stats.tx_packets + drv->stats.tx_errors >= tx_goal;
	pthread_mutex_unlock(&drv->lock);
	return done;
}

int nic_drv_run(struct nic_drv *drv, uint32_t rx, uint32_t tx, uint32_t len)
{
	uint64_t deadline, rx_goal, tx_goal;
	uint32_t sent = 0;
	int ret;

	if (!drv || len < NIC_PKT_MIN || len > NIC_PKT_MAX || len > drv->cfg.buf_size)
		return -EINVAL;
	pthread_mutex_lock(&drv->lock);
	rx_goal = drv->stats.rx_packets + drv->stats.rx_bad + drv->stats.rx_errors + rx +
		  (drv->cfg.loopback ? tx : 0);
	tx_goal = drv->stats.tx_packets + drv->stats.tx_errors + tx;
	pthread_mutex_unlock(&drv->lock);
	if (rx && (ret = nic_generate(drv->nic, rx, len)))
		return ret;
	deadline = now_ns() + drv->cfg.timeout_ns;
	while (!run_done(drv, rx_goal, tx_goal)) {
		bool busy = false;

		pthread_mutex_lock(&drv->lock);
		tx_reap_locked(drv);
		while (sent < tx && ((drv->tx.tail + 1) & (drv->tx.size - 1)) != drv->tx.next) {
			ret = tx_post_locked(drv, drv->tx_seq, len);
			if (ret) {
				pthread_mutex_unlock(&drv->lock);
				return ret;
			}
			drv->tx_seq++;
			sent++;
			busy = true;
		}
		ret = rx_poll_locked(drv, 64);
		pthread_mutex_unlock(&drv->lock);
		if (ret < 0)
			return ret;
		if (ret > 0)
			busy = true;
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		if (!busy)
			sched_yield();
	}
	return 0;
}

int nic_drv_get_stats(struct nic_drv *drv, struct nic_drv_stats *out)
{
	if (!drv || !out)
		return -EINVAL;
	pthread_mutex_lock(&drv->lock);
	*out = drv->stats;
	pthread_mutex_unlock(&drv->lock);
	return 0;
}
