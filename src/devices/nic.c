// SPDX-License-Identifier: MIT
/*
 * The NIC model: receive and transmit rings processed by the device's thread, every access a
 * DMA through its endpoint. One step handles at most one transmit and one receive
 * descriptor, so both rings make progress.
 *
 * Received packets come from the wire (nic_generate) or from loopback. Packets are a
 * function of (sequence number, length), so loopback keeps only those two numbers and
 * builds the packet again on the receive side; the transmit side has already checked that
 * the bytes it read were that packet.
 */
#include <softiommu/dsa.h>
#include <softiommu/traffic.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/worker.h"

#define NIC_HDR	   12
#define LOOP_SLOTS 1024

void nic_pkt_build(uint8_t *buf, uint32_t seq, uint32_t len)
{
	uint32_t crc;

	for (uint32_t i = NIC_HDR; i < len; i++)
		buf[i] = (uint8_t)(seq * 7 + i);
	crc = dsa_crc32c(0, buf + NIC_HDR, len - NIC_HDR);
	memcpy(buf, &seq, 4);
	memcpy(buf + 4, &len, 4);
	memcpy(buf + 8, &crc, 4);
}

int nic_pkt_check(const uint8_t *buf, uint32_t len, uint32_t *seq)
{
	uint32_t s, l, crc;

	if (len < NIC_PKT_MIN || len > NIC_PKT_MAX)
		return -EINVAL;
	memcpy(&s, buf, 4);
	memcpy(&l, buf + 4, 4);
	memcpy(&crc, buf + 8, 4);
	if (l != len)
		return -EINVAL;
	if (dsa_crc32c(0, buf + NIC_HDR, len - NIC_HDR) != crc)
		return -EBADMSG;
	for (uint32_t i = NIC_HDR; i < len; i++)
		if (buf[i] != (uint8_t)(s * 7 + i))
			return -EINVAL;
	if (seq)
		*seq = s;
	return 0;
}

struct loop_pkt {
	uint32_t seq, len;
};

/* One nic_generate() request still pending: `count` packets of `len` bytes. */
struct gen_run {
	uint32_t count, len;
};

struct nic {
	struct nic_config cfg;
	struct dev_worker w;
	/* Doorbell registers and the wire's requests, under w.lock: a ring of gen_cap runs,
	 * gen_n of them from gen_head, delivered in order. */
	uint32_t rx_tail, tx_tail;
	struct gen_run *gen;
	uint32_t gen_head, gen_n, gen_cap;
	/* The device's own state (its thread only). */
	uint32_t rx_head, tx_head;
	uint32_t gen_seq;
	struct loop_pkt loop[LOOP_SLOTS];
	uint32_t loop_head, loop_count;
	uint8_t buf[NIC_PKT_MAX];
	struct nic_stats stats; /* one writer: the thread */
};

static int dma(struct nic *nic, bool write, uint64_t addr, void *buf, size_t len)
{
	if (nic->cfg.access)
		nic->cfg.access(nic->cfg.access_ctx, addr, len, write);
	if (write)
		return pci_endpoint_dma_write(nic->cfg.ep, 0, 0, addr, buf, len, NULL);
	return pci_endpoint_dma_read(nic->cfg.ep, 0, 0, addr, buf, len, NULL);
}

/* Write a descriptor back: one 16-byte write, status in the word that lands last. */
static void desc_done(struct nic *nic, dma_addr_t ring, uint32_t i, struct nic_desc *d, bool ok)
{
	d->status = (uint16_t)(NIC_DESC_DD | (ok ? 0 : NIC_DESC_ERR));
	if (!ok)
		DEV_STAT_ADD(nic->stats.dma_errors, 1);
	if (dma(nic, true, ring + i * sizeof(*d), d, sizeof(*d)))
		DEV_STAT_ADD(nic->stats.dma_errors, 1); /* the driver will time out on it */
}

static void tx_one(struct nic *nic)
{
	uint32_t i = nic->tx_head;
	struct nic_desc d;
	bool ok;

	nic->tx_head = (i + 1) & (nic->cfg.tx_size - 1);
	if (dma(nic, false, nic->cfg.tx_ring + i * sizeof(d), &d, sizeof(d))) {
		DEV_STAT_ADD(nic->stats.dma_errors, 1);
		return;
	}
	ok = d.len >= NIC_PKT_MIN && d.len <= NIC_PKT_MAX &&
	     !dma(nic, false, d.addr, nic->buf, d.len);
	if (ok) {
		uint32_t seq;

		DEV_STAT_ADD(nic->stats.tx_packets, 1);
		DEV_STAT_ADD(nic->stats.tx_bytes, d.len);
		if (nic_pkt_check(nic->buf, d.len, &seq)) {
			DEV_STAT_ADD(nic->stats.tx_bad, 1);
		} else if (nic->cfg.loopback) {
			if (nic->loop_count == LOOP_SLOTS) {
				DEV_STAT_ADD(nic->stats.rx_dropped, 1);
			} else {
				struct loop_pkt *p =
				    &nic->loop[(nic->loop_head + nic->loop_count++) % LOOP_SLOTS];

				p->seq = seq;
				p->len = d.len;
			}
		}
	}
	desc_done(nic, nic->cfg.tx_ring, i, &d, ok);
}

/* Deliver one packet into the next receive buffer. */
static void rx_one(struct nic *nic, uint32_t seq, uint32_t len)
{
	uint32_t i = nic->rx_head;
	struct nic_desc d;
	bool ok;

	nic->rx_head = (i + 1) & (nic->cfg.rx_size - 1);
	if (dma(nic, false, nic->cfg.rx_ring + i * sizeof(d), &d, sizeof(d))) {
		DEV_STAT_ADD(nic->stats.dma_errors, 1);
		return;
	}
	if (d.len < len) { /* the buffer is too small: dropped, the descriptor returned */
		DEV_STAT_ADD(nic->stats.rx_dropped, 1);
		d.len = 0;
		desc_done(nic, nic->cfg.rx_ring, i, &d, true);
		return;
	}
	nic_pkt_build(nic->buf, seq, len);
	ok = !dma(nic, true, d.addr, nic->buf, len);
	if (ok) {
		DEV_STAT_ADD(nic->stats.rx_packets, 1);
		DEV_STAT_ADD(nic->stats.rx_bytes, len);
	}
	d.len = (uint16_t)(ok ? len : 0);
	desc_done(nic, nic->cfg.rx_ring, i, &d, ok);
}

static bool nic_step(void *ctx)
{
	struct nic *nic = ctx;
	uint32_t rx_tail, tx_tail, gen_len = 0;
	bool did = false;

	pthread_mutex_lock(&nic->w.lock);
	rx_tail = nic->rx_tail;
	tx_tail = nic->tx_tail;
	if (nic->gen_n)
		gen_len = nic->gen[nic->gen_head].len;
	pthread_mutex_unlock(&nic->w.lock);
	if (nic->cfg.tx_size && nic->tx_head != tx_tail) {
		tx_one(nic);
		did = true;
	}
	if (!nic->cfg.rx_size || nic->rx_head == rx_tail)
		return did;
	if (nic->loop_count) {
		struct loop_pkt p = nic->loop[nic->loop_head];

		nic->loop_head = (nic->loop_head + 1) % LOOP_SLOTS;
		nic->loop_count--;
		rx_one(nic, p.seq, p.len);
		return true;
	}
	if (gen_len) {
		rx_one(nic, nic->gen_seq++, gen_len);
		DEV_STAT_ADD(nic->stats.rx_generated, 1);
		pthread_mutex_lock(&nic->w.lock);
		if (!--nic->gen[nic->gen_head].count) {
			nic->gen_head = (nic->gen_head + 1) % nic->gen_cap;
			nic->gen_n--;
		}
		pthread_mutex_unlock(&nic->w.lock);
		return true;
	}
	return did;
}

static bool ring_size_ok(uint32_t n)
{
	return n <= NIC_RING_MAX && !(n & (n - 1));
}

int nic_create(const struct nic_config *cfg, struct nic **out)
{
	struct nic *nic;
	int ret;

	if (!cfg || !out || !cfg->ep || !ring_size_ok(cfg->rx_size) || !ring_size_ok(cfg->tx_size))
		return -EINVAL;
	nic = calloc(1, sizeof(*nic));
	if (!nic)
		return -ENOMEM;
	nic->cfg = *cfg;
	ret = dev_worker_start(&nic->w, nic_step, nic);
	if (ret) {
		free(nic);
		return ret;
	}
	*out = nic;
	return 0;
}

void nic_destroy(struct nic *nic)
{
	if (!nic)
		return;
	dev_worker_stop(&nic->w);
	free(nic->gen);
	free(nic);
}

void nic_rx_doorbell(struct nic *nic, uint32_t tail)
{
	if (!nic || !nic->cfg.rx_size)
		return;
	pthread_mutex_lock(&nic->w.lock);
	nic->rx_tail = tail & (nic->cfg.rx_size - 1);
	dev_worker_kick_locked(&nic->w);
	pthread_mutex_unlock(&nic->w.lock);
}

void nic_tx_doorbell(struct nic *nic, uint32_t tail)
{
	if (!nic || !nic->cfg.tx_size)
		return;
	pthread_mutex_lock(&nic->w.lock);
	nic->tx_tail = tail & (nic->cfg.tx_size - 1);
	dev_worker_kick_locked(&nic->w);
	pthread_mutex_unlock(&nic->w.lock);
}

/* With w.lock held: room for one more run (the ring doubles, kept in order). */
static int gen_grow_locked(struct nic *nic)
{
	uint32_t cap = nic->gen_cap ? nic->gen_cap * 2 : 16;
	struct gen_run *g;

	if (nic->gen_n < nic->gen_cap)
		return 0;
	g = malloc(cap * sizeof(*g));
	if (!g)
		return -ENOMEM;
	for (uint32_t i = 0; i < nic->gen_n; i++)
		g[i] = nic->gen[(nic->gen_head + i) % nic->gen_cap];
	free(nic->gen);
	nic->gen = g;
	nic->gen_cap = cap;
	nic->gen_head = 0;
	return 0;
}

int nic_generate(struct nic *nic, uint32_t count, uint32_t len)
{
	struct gen_run *last;
	int ret = 0;

	if (!nic || len < NIC_PKT_MIN || len > NIC_PKT_MAX)
		return -EINVAL;
	if (!count)
		return 0;
	pthread_mutex_lock(&nic->w.lock);
	last = nic->gen_n ? &nic->gen[(nic->gen_head + nic->gen_n - 1) % nic->gen_cap] : NULL;
	if (last && last->len == len && last->count <= UINT32_MAX - count) {
		last->count += count; /* the same length as the last request: one run */
	} else {
		ret = gen_grow_locked(nic);
		if (!ret)
			nic->gen[(nic->gen_head + nic->gen_n++) % nic->gen_cap] =
			    (struct gen_run){count, len};
	}
	if (!ret)
		dev_worker_kick_locked(&nic->w);
	pthread_mutex_unlock(&nic->w.lock);
	return ret;
}

int nic_idle(struct nic *nic, uint64_t timeout_ns)
{
	return nic ? dev_worker_idle(&nic->w, timeout_ns) : -EINVAL;
}

int nic_get_stats(struct nic *nic, struct nic_stats *out)
{
	const struct nic_stats *s;

	if (!nic || !out)
		return -EINVAL;
	s = &nic->stats;
	*out = (struct nic_stats){
	    .rx_packets = DEV_STAT_LOAD(s->rx_packets),
	    .rx_bytes = DEV_STAT_LOAD(s->rx_bytes),
	    .tx_packets = DEV_STAT_LOAD(s->tx_packets),
	    .tx_bytes = DEV_STAT_LOAD(s->tx_bytes),
	    .tx_bad = DEV_STAT_LOAD(s->tx_bad),
	    .rx_dropped = DEV_STAT_LOAD(s->rx_dropped),
	    .dma_errors = DEV_STAT_LOAD(s->dma_errors),
	    .rx_generated = DEV_STAT_LOAD(s->rx_generated),
	};
	return 0;
}
