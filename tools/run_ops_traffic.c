// SPDX-License-Identifier: MIT
/*
 * NIC and storage workloads on their kernel drivers (include/softiommu/traffic.h), the same
 * code the device tests use: the drivers map every packet and request with the DMA API,
 * the devices move the bytes in their own threads by DMA through their PCIe functions.
 *
 * NIC. An `rx` operation is a packet the wire delivers (nic_generate: the device writes it
 * into the next posted receive buffer); a `tx` operation is nic_drv_xmit. Between
 * operations the thread polls the receive ring (nic_drv_rx_poll: unmap, check, map again,
 * repost). The driver checks every packet it receives and the device every packet it
 * transmits (header, length, CRC-32C, payload), so the counts come from their counters:
 * at the end of a phase, the difference since its start goes to the one workload that ran
 * on the NIC in that phase (the reader allows one: the rings are shared). The wire is
 * kept at most a ring's worth of packets ahead of the polling.
 *
 * Storage. Each operation is one storage_drv_rw request of `segments` buffers (each size
 * drawn, in whole 512-byte blocks) between memory and the thread's own blocks of the
 * medium; its data is checked against the medium afterwards: a write must have put the
 * buffers' bytes there, a read must have brought the medium's bytes into buffers poisoned
 * beforehand. The driver waits for each request, so a thread has one in flight.
 */
#include "run_ops.h"
#include "trace.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include <softiommu/traffic.h>

#define BLOCK 512u /* the medium's block size: every segment is whole blocks */

/* ---- NIC ------------------------------------------------------------------------------------ */

static bool nic_rx_op(const struct run_thread *th, uint64_t i)
{
	return th->w->op == SCENARIO_OP_RX || (th->w->op == SCENARIO_OP_RXTX && !(i & 1));
}

/* Take received packets; returns how many (a negative errno stops the thread). */
static int nic_poll(struct run_thread *th)
{
	struct run_device *d = th->d;
	int n = nic_drv_rx_poll(d->nic_drv, 64);

	if (n > 0)
		atomic_fetch_add_explicit(&d->nic_taken, (uint64_t)n, memory_order_relaxed);
	else if (n < 0)
		run_op_stop(th, n, "the NIC driver could not repost a receive buffer");
	return n;
}

/* Keep the wire at most a ring's worth of packets ahead of what was taken. */
static void nic_backpressure(struct run_thread *th)
{
	struct run_device *d = th->d;
	uint64_t start = 0;

	while (!th->error && atomic_load_explicit(&d->nic_gen, memory_order_relaxed) -
				     atomic_load_explicit(&d->nic_taken, memory_order_relaxed) >=
				 d->sd->rx_ring - 1) {
		if (nic_poll(th) > 0)
			continue;
		if (!start)
			start = run_now_ns();
		else if (run_now_ns() - start > RUN_OP_TIMEOUT_NS)
			run_op_stop(th, -ETIMEDOUT, "the NIC delivered no packet");
		sched_yield();
	}
}

void run_nic_op(struct run_thread *th, uint64_t i)
{
	struct run_device *d = th->d;
	uint64_t len = run_op_draw(th, &th->w->size);
	uint64_t t0 = th->r->trace ? trace_now(th->r->trace) : 0;
	bool rx = nic_rx_op(th, i);
	int ret;

	if (rx) {
		atomic_fetch_add_explicit(&d->nic_rx_want, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&d->nic_gen, 1, memory_order_relaxed);
		ret = nic_generate(nic_drv_nic(d->nic_drv), 1, (uint32_t)len);
		if (ret)
			run_op_stop(th, ret, "the NIC took no packet from the wire");
	} else {
		atomic_fetch_add_explicit(&d->nic_tx_want, 1, memory_order_relaxed);
		ret = nic_drv_xmit(d->nic_drv, NIC_TX_SEQ0 | (uint32_t)(i & 0x7fffffff),
				   (uint32_t)len);
		if (ret == -EBUSY) {
			run_op_stop(th, ret, "the NIC's transmit ring stayed full");
		} else if (ret) {
			/* A map error: the packet never reached the device. */
			atomic_fetch_sub_explicit(&d->nic_tx_want, 1, memory_order_relaxed);
			th->failed++;
		}
	}
	nic_poll(th);
	if (rx)
		nic_backpressure(th);
	run_op_trace(th, 0, rx ? "rx" : "tx", t0, len, !ret);
	run_op_progress(th);
}

/* Until every packet the phase's threads asked for so far is accounted for. */
void run_nic_drain(struct run_thread *th)
{
	struct run_device *d = th->d;
	uint64_t start = run_now_ns();

	while (!th->error) {
		struct nic_drv_stats s;
		uint64_t rx, tx;

		nic_drv_tx_reap(d->nic_drv);
		nic_poll(th);
		if (nic_drv_get_stats(d->nic_drv, &s))
			break;
		rx = s.rx_packets + s.rx_bad + s.rx_errors - d->nic_base.rx_packets -
		     d->nic_base.rx_bad - d->nic_base.rx_errors;
		tx = s.tx_packets + s.tx_errors - d->nic_base.tx_packets - d->nic_base.tx_errors;
		if (rx >= atomic_load(&d->nic_rx_want) && tx >= atomic_load(&d->nic_tx_want))
			break;
		if (run_now_ns() - start > RUN_OP_TIMEOUT_NS)
			run_op_stop(th, -ETIMEDOUT, "NIC packets were never completed");
		sched_yield();
	}
}

/* Before a phase's threads start: each NIC's counters, and nothing asked for yet. */
void run_nic_phase_begin(struct run *r)
{
	for (size_t i = 0; i < r->n_devs; i++) {
		struct run_device *d = &r->devs[i];

		if (!d->nic_drv)
			continue;
		nic_drv_get_stats(d->nic_drv, &d->nic_base);
		nic_get_stats(nic_drv_nic(d->nic_drv), &d->nic_dev_base);
		atomic_store(&d->nic_rx_want, 0);
		atomic_store(&d->nic_tx_want, 0);
	}
}

/* After they ended: what each NIC did goes to the workload that ran on it. */
void run_nic_phase_end(struct run *r, unsigned slot)
{
	const struct scenario_phase *ph = &r->s->phases[slot];

	for (size_t j = 0; j < ph->n_run; j++) {
		const struct scenario_workload *w = &r->s->workloads[ph->run[j]];
		struct run_device *d = &r->devs[w->device];
		struct run_wl_counts *c = run_wl(r, slot, ph->run[j]);
		struct nic_drv_stats s, b = d->nic_base;
		struct nic_stats ns;
		uint64_t tx_bad;

		if (!d->nic_drv || nic_drv_get_stats(d->nic_drv, &s) ||
		    nic_get_stats(nic_drv_nic(d->nic_drv), &ns))
			continue;
		tx_bad = ns.tx_bad - d->nic_dev_base.tx_bad;
		atomic_fetch_add(&c->ops,
				 s.rx_packets - b.rx_packets + s.tx_packets - b.tx_packets);
		atomic_fetch_add(&c->bytes, s.rx_bytes - b.rx_bytes + s.tx_bytes - b.tx_bytes);
		atomic_fetch_add(&c->failed, s.rx_errors - b.rx_errors + s.tx_errors - b.tx_errors);
		if (!w->verify)
			continue;
		/* Received: the driver's check (and order); sent: the device's check. */
		atomic_fetch_add(&c->mismatches, s.rx_bad - b.rx_bad + s.rx_out_of_order -
						     b.rx_out_of_order + tx_bad);
		atomic_fetch_add(&c->verified, s.rx_packets - b.rx_packets - s.rx_out_of_order +
						   b.rx_out_of_order + s.tx_packets - b.tx_packets -
						   tx_bad);
	}
}

/* ---- storage -------------------------------------------------------------------------------- */

static uint64_t seg_stride(const struct run_thread *th)
{
	return (th->w->size.max + RUN_SZ_4K - 1) & ~(RUN_SZ_4K - 1);
}

/* Blocks one request of `w` can span: its thread's share of the medium. */
uint64_t run_storage_blocks(const struct scenario_workload *w)
{
	return (uint64_t)w->segments * (w->size.max / BLOCK);
}

/* Lay out request i: segment sizes in whole blocks, the buffers filled (a write) or
 * poisoned (a read). Returns the request's bytes. */
static uint64_t storage_prepare(struct run_thread *th, struct dma_sg *sg, bool write, uint64_t i)
{
	uint64_t total = 0;

	for (unsigned g = 0; g < th->w->segments; g++) {
		uint64_t l = run_op_draw(th, &th->w->size) / BLOCK * BLOCK;
		uint64_t pa = th->buf + g * seg_stride(th);

		sg[g] = (struct dma_sg){.phys = pa, .length = l};
		if (write || th->w->verify)
			run_op_pattern(run_op_ptr(th, pa, l), l,
				       run_op_seed(th, i, g) ^ (write ? 0 : 0xdeadull << 40));
		total += l;
	}
	return total;
}

/* After request i: the medium holds what its buffers hold (whichever way it went). */
static bool storage_check(struct run_thread *th, const struct dma_sg *sg)
{
	uint64_t size = 0, off = th->lba * BLOCK;
	const uint8_t *medium = storage_medium(storage_drv_dev(th->d->sto_drv), &size);

	for (unsigned g = 0; g < th->w->segments; g++) {
		if (!medium || off + sg[g].length > size ||
		    memcmp(medium + off, run_op_ptr(th, sg[g].phys, sg[g].length), sg[g].length))
			return false;
		off += sg[g].length;
	}
	return true;
}

void run_storage_op(struct run_thread *th, uint64_t i)
{
	const struct scenario_workload *w = th->w;
	struct dma_sg *sg = th->slots[0].sg;
	uint64_t t0 = th->r->trace ? trace_now(th->r->trace) : 0, total;
	bool write = w->op == SCENARIO_OP_WRITE ||
		     (w->op == SCENARIO_OP_MIXED && (run_op_rnd(&th->rng) & 1));
	int ret;

	total = storage_prepare(th, sg, write, i);
	ret = storage_drv_rw(th->d->sto_drv, write, th->lba, (uint32_t)(total / BLOCK), sg,
			     (int)w->segments, NULL);
	if (ret == -ETIMEDOUT) {
		run_op_stop(th, ret, "the storage controller did not complete a request");
		return;
	}
	if (ret) {
		th->failed++; /* a map error, or the device's error status */
	} else {
		th->ops++;
		th->bytes += total;
		if (w->verify && storage_check(th, sg))
			th->verified++;
		else if (w->verify)
			th->mismatches++;
	}
	run_op_trace(th, 0, write ? "write" : "read", t0, total, !ret);
	run_op_progress(th);
}
