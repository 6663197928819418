// SPDX-License-Identifier: MIT
/*
 * The workload thread (run_ops.h): what every device type shares - random sizes, data
 * patterns, the DMA API counted and traced, progress - then NIC packets and storage
 * requests; DSA descriptors are in run_ops_dsa.c.
 */
#include "run_ops.h"
#include "trace.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* xorshift64*: the workloads' random numbers, seeded per thread. */
uint64_t run_op_rnd(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

uint64_t run_op_draw(struct run_thread *th, const struct scenario_range *rg)
{
	if (rg->max <= rg->min)
		return rg->min;
	return rg->min + run_op_rnd(&th->rng) % (rg->max - rg->min + 1);
}

/*
 * Bytes that identify (thread seed, operation, part): word i is (seed + i) times an odd
 * constant, so different seeds give different words everywhere, and the loop has no
 * dependency from one word to the next (it vectorises).
 */
void run_op_pattern(uint8_t *p, uint64_t len, uint64_t seed)
{
	uint64_t i = 0;

	seed *= 0xbf58476d1ce4e5b9ull;
	for (; i + 8 <= len; i += 8) {
		uint64_t z = (seed + i) * 0x9e3779b97f4a7c15ull;

		memcpy(p + i, &z, 8);
	}
	for (; i < len; i++)
		p[i] = (uint8_t)((seed + i) >> (8 * (i & 7)));
}

uint64_t run_op_seed(const struct run_thread *th, uint64_t op, uint64_t part)
{
	return th->w->seed ^ ((uint64_t)th->t << 48) ^ (op << 12) ^ part;
}

uint8_t *run_op_ptr(struct run_thread *th, uint64_t pa, uint64_t len)
{
	return mem_ptr(th->r->mem, pa, len);
}

void run_op_progress(struct run_thread *th)
{
	if (++th->progress_pending == 64) {
		atomic_fetch_add_explicit(&th->r->ops_done, 64, memory_order_relaxed);
		th->progress_pending = 0;
	}
}

static bool aborted(const struct run_thread *th)
{
	return atomic_load_explicit(&th->r->abort, memory_order_relaxed);
}

void run_op_stop(struct run_thread *th, int err, const char *what)
{
	run_note_stack_error(th->r, "%s: %s: %s", th->w->name, what, strerror(-err));
	th->error = err;
}

/* ---- the DMA API, counted and traced ------------------------------------------------------- */

dma_addr_t run_op_map(struct run_thread *th, uint64_t pa, uint64_t len, enum dma_data_direction dir)
{
	struct trace *tr = th->r->trace;
	uint64_t t0 = tr ? trace_now(tr) : 0;
	dma_addr_t a = dma_map_single(th->d->dma, pa, len, dir);

	if (a == DMA_MAPPING_ERROR) {
		th->map_errors++;
		return a;
	}
	th->maps++;
	if (tr) {
		struct trace_arg args[] = {{"iova", a, true}, {"size", len, false}};

		trace_complete(tr, th->pid, "dma", "map", t0, trace_now(tr), args, 2, NULL, NULL);
	}
	return a;
}

void run_op_unmap(struct run_thread *th, dma_addr_t a, uint64_t len, enum dma_data_direction dir)
{
	struct trace *tr = th->r->trace;
	uint64_t t0 = tr ? trace_now(tr) : 0;
	int ret = dma_unmap_single(th->d->dma, a, len, dir);

	if (ret) {
		run_op_stop(th, ret, "dma_unmap_single of a live mapping failed");
		return;
	}
	th->unmaps++;
	if (tr) {
		struct trace_arg args[] = {{"iova", a, true}, {"size", len, false}};

		trace_complete(tr, th->pid, "dma", "unmap", t0, trace_now(tr), args, 2, NULL, NULL);
	}
}

/* One operation, from its start to its completion, on the lane of its window slot (0: the
 * thread's own), so operations in flight together do not overlap on one lane. */
void run_op_trace(struct run_thread *th, unsigned k, const char *name, uint64_t t0, uint64_t len,
		  bool ok)
{
	struct trace *tr = th->r->trace;

	if (tr) {
		struct trace_arg args[] = {{"bytes", len, false},
					   {"pasid", th->has_pasid ? th->pasid : 0, false}};

		trace_complete_lane(tr, th->pid, th->slots[k].lane, "op", name, t0, trace_now(tr),
				    args, 2, "status", ok ? "ok" : "failed");
	}
}

/* ---- the device side of NIC and storage: DMA through the function -----------------------------
 */

static bool dev_dma(struct run_thread *th, bool write, uint64_t addr, void *buf, uint64_t len)
{
	struct pci_endpoint *ep = th->d->ep;
	struct pci_dma_status st;

	dma_debug_check_access(th->d->dma, addr, len, write ? DMA_FROM_DEVICE : DMA_TO_DEVICE);
	if (write)
		return !pci_endpoint_dma_write(ep, 0, 0, addr, buf, len, &st);
	return !pci_endpoint_dma_read(ep, 0, 0, addr, buf, len, &st);
}

/* ---- NIC ------------------------------------------------------------------------------------- */

/* A ring entry: the buffer's DMA address, its length, and DONE once the device used it. */
struct nic_desc {
	uint64_t addr;
	uint32_t len;
	uint32_t flags;
};

#define NIC_DONE 1u

static bool nic_rx(const struct run_thread *th, uint64_t i)
{
	return th->w->op == SCENARIO_OP_RX || (th->w->op == SCENARIO_OP_RXTX && !(i & 1));
}

static bool nic_has_rx(const struct run_thread *th)
{
	return th->w->op != SCENARIO_OP_TX;
}

/* Receive slots 0..window-1, the transmit slot after them. */
static uint64_t nic_buf(const struct run_thread *th, unsigned k)
{
	return th->buf + (uint64_t)k * th->slot_size;
}

static void nic_write_desc(struct run_thread *th, unsigned k, uint64_t addr, uint32_t len)
{
	struct nic_desc e = {.addr = addr, .len = len};

	mem_write(th->r->mem, th->coh_pa + k * sizeof(e), &e, sizeof(e));
}

/* Post receive buffer k: map it (unless mapped once) and hand it to the device. */
static bool nic_post_rx(struct run_thread *th, unsigned k)
{
	struct run_slot *s = &th->slots[k];

	if (!th->mapped_once) {
		s->dma = run_op_map(th, nic_buf(th, k), th->slot_size, DMA_FROM_DEVICE);
		if (s->dma == DMA_MAPPING_ERROR)
			return false;
	}
	s->map_len = th->slot_size;
	s->busy = true;
	nic_write_desc(th, k, s->dma, (uint32_t)th->slot_size);
	return true;
}

/* The device's side of one transfer: fetch ring entry k, move the packet, write it back. */
static bool nic_device(struct run_thread *th, unsigned k, bool rx, uint8_t *pkt, uint64_t len)
{
	dma_addr_t ring = th->coh_dma + k * sizeof(struct nic_desc);
	struct nic_desc e;

	if (!dev_dma(th, false, ring, &e, sizeof(e)))
		return false;
	if (e.len < len || !dev_dma(th, rx, e.addr, pkt, len))
		return false;
	e.len = (uint32_t)len;
	e.flags = NIC_DONE;
	return dev_dma(th, true, ring, &e, sizeof(e));
}

/* Account one checked transfer. */
static void nic_verify(struct run_thread *th, bool ok, const void *got, const void *want,
		       uint64_t len)
{
	if (!ok || !th->w->verify)
		return;
	if (!memcmp(got, want, len))
		th->verified++;
	else
		th->mismatches++;
}

/* Receive packet `expect` into the oldest posted buffer, then post it again. */
static bool nic_receive(struct run_thread *th, const uint8_t *expect, uint64_t len)
{
	unsigned k = (unsigned)(th->ops_rx++ % th->window);
	struct run_slot *s = &th->slots[k];
	bool ok;

	if (!s->busy && !nic_post_rx(th, k))
		return false;
	ok = nic_device(th, k, true, (uint8_t *)expect, len);
	if (!th->mapped_once)
		run_op_unmap(th, s->dma, s->map_len, DMA_FROM_DEVICE);
	s->busy = false;
	nic_verify(th, ok, run_op_ptr(th, nic_buf(th, k), len), expect, len);
	if (!nic_post_rx(th, k))
		run_op_stop(th, dma_mapping_error(th->d->dma, DMA_MAPPING_ERROR),
			    "reposting a receive buffer");
	return ok;
}

/* Transmit packet `expect` from the transmit slot: the device reads it into `bounce`. */
static bool nic_transmit(struct run_thread *th, const uint8_t *expect, uint8_t *bounce,
			 uint64_t len)
{
	unsigned k = th->window;
	struct run_slot *s = &th->slots[k];
	bool ok;

	memcpy(run_op_ptr(th, nic_buf(th, k), len), expect, len);
	if (!th->mapped_once) {
		s->dma = run_op_map(th, nic_buf(th, k), len, DMA_TO_DEVICE);
		if (s->dma == DMA_MAPPING_ERROR)
			return false;
	}
	nic_write_desc(th, k, s->dma, (uint32_t)(th->mapped_once ? th->slot_size : len));
	ok = nic_device(th, k, false, bounce, len);
	if (!th->mapped_once)
		run_op_unmap(th, s->dma, len, DMA_TO_DEVICE);
	nic_verify(th, ok, bounce, expect, len);
	return ok;
}

static void nic_op(struct run_thread *th, uint64_t i)
{
	uint64_t len = run_op_draw(th, &th->w->size),
		 t0 = th->r->trace ? trace_now(th->r->trace) : 0;
	uint8_t *expect = th->scratch, *bounce = th->scratch + th->scratch_size / 2;
	bool rx = nic_rx(th, i), ok;

	run_op_pattern(expect, len, run_op_seed(th, i, 0));
	ok = rx ? nic_receive(th, expect, len) : nic_transmit(th, expect, bounce, len);
	if (ok) {
		th->ops++;
		th->bytes += len;
	} else {
		th->failed++;
	}
	run_op_trace(th, th->window, rx ? "rx" : "tx", t0, len, ok);
}

static int nic_setup(struct run_thread *th)
{
	uint64_t ring = align_up((th->window + 1) * sizeof(struct nic_desc), RUN_SZ_4K);
	int ret;

	while (ring & (ring - 1))
		ring &= ring - 1, ring <<= 1; /* a power of two, as dma_alloc_coherent gives */
	ret = dma_alloc_coherent(th->d->dma, ring, &th->coh_pa, &th->coh_dma);
	if (ret)
		return ret;
	th->coh_size = ring;
	if (th->w->map == SCENARIO_MAP_ONCE) {
		for (unsigned k = 0; k <= th->window; k++) {
			enum dma_data_direction dir =
			    k < th->window ? DMA_FROM_DEVICE : DMA_TO_DEVICE;

			th->slots[k].dma = run_op_map(th, nic_buf(th, k), th->slot_size, dir);
			if (th->slots[k].dma == DMA_MAPPING_ERROR)
				return dma_mapping_error(th->d->dma, DMA_MAPPING_ERROR);
			th->slots[k].map_len = th->slot_size;
			th->slots[k].nents = 1;
		}
		th->mapped_once = true;
	}
	if (nic_has_rx(th))
		for (unsigned k = 0; k < th->window; k++)
			if (!nic_post_rx(th, k))
				return dma_mapping_error(th->d->dma, DMA_MAPPING_ERROR);
	return 0;
}

static void nic_teardown(struct run_thread *th)
{
	for (unsigned k = 0; k <= th->window; k++) {
		struct run_slot *s = &th->slots[k];
		bool mapped = th->mapped_once ? s->nents : (s->busy && k < th->window);

		if (mapped)
			run_op_unmap(th, s->dma, s->map_len,
				     k < th->window ? DMA_FROM_DEVICE : DMA_TO_DEVICE);
		s->busy = false;
		s->nents = 0;
	}
	th->mapped_once = false;
	if (th->coh_size)
		dma_free_coherent(th->d->dma, th->coh_size, th->coh_pa, th->coh_dma);
	th->coh_size = 0;
}

/* ---- storage --------------------------------------------------------------------------------- */

static uint64_t seg_stride(const struct run_thread *th)
{
	return align_up(th->w->size.max, RUN_SZ_4K);
}

static uint64_t seg_pa(const struct run_thread *th, unsigned k, unsigned s)
{
	return th->buf + (uint64_t)k * th->slot_size + (uint64_t)s * seg_stride(th);
}

/*
 * Device access to `len` bytes at offset `off` of a mapped request: the DMA segments carry
 * the request's bytes in order, so walk them to the one holding the offset.
 */
static bool storage_xfer(struct run_thread *th, struct run_slot *s, uint64_t off, uint8_t *buf,
			 uint64_t len, bool device_writes)
{
	for (int g = 0; g < s->nsegs && len; g++) {
		uint64_t dl = s->sg[g].dma_length;

		if (off >= dl) {
			off -= dl;
			continue;
		}
		uint64_t n = dl - off < len ? dl - off : len;

		if (!dev_dma(th, device_writes, s->sg[g].dma_address + off, buf, n))
			return false;
		buf += n;
		len -= n;
		off = 0;
	}
	return len == 0;
}

static int storage_map(struct run_thread *th, struct run_slot *s, unsigned k, bool full)
{
	enum dma_data_direction dir = th->mapped_once ? DMA_BIDIRECTIONAL
				      : s->write      ? DMA_TO_DEVICE
						      : DMA_FROM_DEVICE;
	uint64_t t0 = th->r->trace ? trace_now(th->r->trace) : 0;
	int n;

	for (unsigned g = 0; g < th->w->segments; g++) {
		s->sg[g] = (struct dma_sg){.phys = seg_pa(th, k, g),
					   .length = full ? th->w->size.max : s->sg[g].length};
	}
	n = dma_map_sg(th->d->dma, s->sg, (int)th->w->segments, dir);
	if (n < 0) {
		th->map_errors++;
		return n;
	}
	th->maps++;
	s->nsegs = n;
	s->nents = (int)th->w->segments;
	if (th->r->trace) {
		struct trace_arg a[] = {{"iova", s->sg[0].dma_address, true},
					{"segments", (uint64_t)n, false}};

		trace_complete(th->r->trace, th->pid, "dma", "map_sg", t0, trace_now(th->r->trace),
			       a, 2, NULL, NULL);
	}
	return 0;
}

static void storage_unmap(struct run_thread *th, struct run_slot *s)
{
	enum dma_data_direction dir = th->mapped_once ? DMA_BIDIRECTIONAL
				      : s->write      ? DMA_TO_DEVICE
						      : DMA_FROM_DEVICE;
	int ret = dma_unmap_sg(th->d->dma, s->sg, s->nents, dir);

	if (ret)
		run_op_stop(th, ret, "dma_unmap_sg of a live mapping failed");
	else
		th->unmaps++;
	s->nents = 0;
}

/* Where segment g starts in the request's DMA stream when mapped once (every segment
 * mapped at its largest size). */
static uint64_t storage_seg_off(const struct run_thread *th, unsigned g)
{
	return (uint64_t)g * th->w->size.max;
}

static void storage_post(struct run_thread *th, unsigned k, uint64_t i)
{
	struct run_slot *s = &th->slots[k];
	uint64_t total = 0;

	s->op = i;
	s->write = th->w->op == SCENARIO_OP_WRITE ||
		   (th->w->op == SCENARIO_OP_MIXED && (run_op_rnd(&th->rng) & 1));
	for (unsigned g = 0; g < th->w->segments; g++) {
		uint64_t l = run_op_draw(th, &th->w->size);

		if (!th->mapped_once)
			s->sg[g].length = l;
		s->lens[g] = (uint32_t)l;
		total += l;
		if (s->write)
			run_op_pattern(run_op_ptr(th, seg_pa(th, k, g), l), l,
				       run_op_seed(th, i, g));
	}
	s->len = total;
	s->t_post = th->r->trace ? trace_now(th->r->trace) : 0;
	if (!th->mapped_once && storage_map(th, s, k, false)) {
		th->failed++;
		return;
	}
	s->busy = true;
}

static void storage_complete(struct run_thread *th, unsigned k)
{
	struct run_slot *s = &th->slots[k];
	uint8_t *expect = th->scratch, *bounce = th->scratch + th->scratch_size / 2;
	bool ok = true, right = true;
	uint64_t off = 0;

	for (unsigned g = 0; g < th->w->segments && ok; g++) {
		uint64_t l = s->lens[g];

		if (th->mapped_once)
			off = storage_seg_off(th, g);
		run_op_pattern(expect, l, run_op_seed(th, s->op, g));
		if (s->write) {
			ok = storage_xfer(th, s, off, bounce, l, false);
			right &= !ok || !memcmp(bounce, expect, l);
		} else {
			ok = storage_xfer(th, s, off, expect, l, true);
		}
		off += l;
	}
	if (!th->mapped_once)
		storage_unmap(th, s);
	s->busy = false;
	if (ok && !s->write)
		for (unsigned g = 0; g < th->w->segments && th->w->verify; g++) {
			run_op_pattern(expect, s->lens[g], run_op_seed(th, s->op, g));
			right &= !memcmp(run_op_ptr(th, seg_pa(th, k, g), s->lens[g]), expect,
					 s->lens[g]);
		}
	if (ok) {
		th->ops++;
		th->bytes += s->len;
		if (th->w->verify) {
			th->verified += right;
			th->mismatches += !right;
		}
	} else {
		th->failed++;
	}
	run_op_trace(th, k, s->write ? "write" : "read", s->t_post, s->len, ok);
	run_op_progress(th);
}

static void storage_op(struct run_thread *th, uint64_t i)
{
	unsigned k = (unsigned)(i % th->window);

	if (th->slots[k].busy)
		storage_complete(th, k);
	storage_post(th, k, i);
}

static int storage_setup(struct run_thread *th)
{
	if (th->w->map != SCENARIO_MAP_ONCE)
		return 0;
	th->mapped_once = true;
	for (unsigned k = 0; k < th->window; k++) {
		int ret = storage_map(th, &th->slots[k], k, true);

		if (ret)
			return ret;
	}
	return 0;
}

static void storage_drain(struct run_thread *th)
{
	for (unsigned k = 0; k < th->window; k++)
		if (th->slots[k].busy)
			storage_complete(th, k);
}

static void storage_teardown(struct run_thread *th)
{
	if (th->mapped_once)
		for (unsigned k = 0; k < th->window; k++)
			if (th->slots[k].nents)
				storage_unmap(th, &th->slots[k]);
	th->mapped_once = false;
}

/* ---- the thread -------------------------------------------------------------------------------
 */

unsigned run_dsa_window(const struct scenario_device *d, const struct scenario_workload *w)
{
	unsigned per_thread = d->wq_size * d->work_queues / w->threads;

	if (per_thread > RUN_DSA_WINDOW)
		per_thread = RUN_DSA_WINDOW;
	return per_thread ? per_thread : 1;
}

void run_ops_footprint(const struct run *r, const struct scenario_workload *w, unsigned *window,
		       uint64_t *slot_size)
{
	const struct scenario_device *d = &r->s->devices[w->device];
	uint64_t page = w->page_size;

	switch (d->type) {
	case SCENARIO_DEV_DSA: /* descriptors in flight, each with its source and destination */
		*window = run_dsa_window(d, w);
		*slot_size = 2 * align_up(w->size.max, page);
		break;
	case SCENARIO_DEV_NIC: /* receive slots, and the transmit slot after them */
		*window = d->rx_ring / w->threads ? d->rx_ring / w->threads : 1;
		*slot_size = align_up(w->size.max, RUN_SZ_4K);
		break;
	default: /* requests in flight, each of `segments` segments */
		*window = d->queue_depth / w->threads ? d->queue_depth / w->threads : 1;
		*slot_size = align_up(align_up(w->size.max, RUN_SZ_4K) * w->segments, page);
		break;
	}
}

uint64_t run_ops_region(const struct run *r, const struct scenario_workload *w)
{
	unsigned window;
	uint64_t slot_size;

	run_ops_footprint(r, w, &window, &slot_size);
	/* NIC threads have a transmit slot after the receive ring. */
	if (r->s->devices[w->device].type == SCENARIO_DEV_NIC)
		window++;
	return (uint64_t)window * slot_size;
}

static int setup(struct run_thread *th)
{
	unsigned n = th->window + 1;

	th->slots = calloc(n, sizeof(*th->slots));
	th->scratch_size = 2 * align_up(th->w->size.max, RUN_SZ_4K);
	th->scratch = malloc(th->scratch_size);
	if (!th->slots || !th->scratch)
		return -ENOMEM;
	if (th->d->sd->type == SCENARIO_DEV_STORAGE) {
		for (unsigned k = 0; k < n; k++) {
			th->slots[k].sg = calloc(th->w->segments, sizeof(struct dma_sg));
			th->slots[k].lens = calloc(th->w->segments, sizeof(uint32_t));
			if (!th->slots[k].sg || !th->slots[k].lens)
				return -ENOMEM;
		}
	}
	if (!mem_ptr(th->r->mem, th->buf, run_ops_region(th->r, th->w)))
		return -EFAULT;
	/* Windowed operations overlap in time: each slot gets a lane of its own. */
	if (th->r->trace && th->window > 1 && th->d->sd->type != SCENARIO_DEV_NIC)
		for (unsigned k = 0; k < th->window; k++) {
			char name[96];

			snprintf(name, sizeof(name), "%s#%u slot %u", th->w->name, th->t, k);
			th->slots[k].lane = trace_lane(th->r->trace, name);
		}
	switch (th->d->sd->type) {
	case SCENARIO_DEV_DSA:
		return run_dsa_setup(th);
	case SCENARIO_DEV_NIC:
		return nic_setup(th);
	default:
		return storage_setup(th);
	}
}

static void teardown(struct run_thread *th)
{
	if (th->slots) {
		switch (th->d->sd->type) {
		case SCENARIO_DEV_DSA:
			run_dsa_teardown(th);
			break;
		case SCENARIO_DEV_NIC:
			nic_teardown(th);
			break;
		default:
			storage_teardown(th);
			break;
		}
		for (unsigned k = 0; k <= th->window; k++) {
			free(th->slots[k].sg);
			free(th->slots[k].lens);
		}
	}
	free(th->slots);
	free(th->scratch);
	th->slots = NULL;
	th->scratch = NULL;
}

int run_ops_thread(struct run_thread *th)
{
	int ret = setup(th);

	if (ret) {
		run_op_stop(th, ret, "setting up the workload's buffers");
		run_ops_pause(th);
		teardown(th);
		return ret;
	}
	for (uint64_t i = 0; i < th->count && !th->error && !aborted(th); i++) {
		switch (th->d->sd->type) {
		case SCENARIO_DEV_DSA:
			run_dsa_op(th, i);
			break;
		case SCENARIO_DEV_NIC:
			nic_op(th, i);
			run_op_progress(th);
			break;
		default:
			storage_op(th, i);
			break;
		}
	}
	if (th->d->sd->type == SCENARIO_DEV_STORAGE && !th->error)
		storage_drain(th);
	if (th->d->sd->type == SCENARIO_DEV_DSA)
		run_dsa_drain(th);
	run_ops_pause(th);
	teardown(th);
	atomic_fetch_add(&th->r->ops_done, th->progress_pending);
	th->progress_pending = 0;
	return th->error;
}
