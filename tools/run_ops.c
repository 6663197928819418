// SPDX-License-Identifier: MIT
/*
 * The operations of each device type (run_ops.h): DSA descriptors, NIC packets, storage
 * requests, each through the DMA API on the CPU side and by DMA through the device's PCIe
 * function on the device side.
 */
#include "run_ops.h"
#include "trace.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SZ_4K 4096ull

/* How long an operation may take before the run calls it stuck (a stack bug). */
#define OP_TIMEOUT_NS (30ull * 1000000000ull)

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* xorshift64*: the workloads' random numbers, seeded per thread. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint64_t draw(struct run_thread *th, const struct scenario_range *rg)
{
	if (rg->max <= rg->min)
		return rg->min;
	return rg->min + rnd(&th->rng) % (rg->max - rg->min + 1);
}

/*
 * Bytes that identify (thread seed, operation, part): word i is (seed + i) times an odd
 * constant, so different seeds give different words everywhere, and the loop has no
 * dependency from one word to the next (it vectorises).
 */
static void pattern(uint8_t *p, uint64_t len, uint64_t seed)
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

static uint64_t op_seed(const struct run_thread *th, uint64_t op, uint64_t part)
{
	return th->w->seed ^ ((uint64_t)th->t << 48) ^ (op << 12) ^ part;
}

static uint8_t *cpu_ptr(struct run_thread *th, uint64_t pa, uint64_t len)
{
	return mem_ptr(th->r->mem, pa, len);
}

static void progress(struct run_thread *th)
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

static void stop(struct run_thread *th, int err, const char *what)
{
	run_note_stack_error(th->r, "%s: %s: %s", th->w->name, what, strerror(-err));
	th->error = err;
}

/* ---- the DMA API, counted and traced ------------------------------------------------------- */

static dma_addr_t map1(struct run_thread *th, uint64_t pa, uint64_t len,
		       enum dma_data_direction dir)
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

static void unmap1(struct run_thread *th, dma_addr_t a, uint64_t len, enum dma_data_direction dir)
{
	struct trace *tr = th->r->trace;
	uint64_t t0 = tr ? trace_now(tr) : 0;
	int ret = dma_unmap_single(th->d->dma, a, len, dir);

	if (ret) {
		stop(th, ret, "dma_unmap_single of a live mapping failed");
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
static void trace_op(struct run_thread *th, unsigned k, const char *name, uint64_t t0, uint64_t len,
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

/* ---- DSA --------------------------------------------------------------------------------------
 */

static const unsigned dsa_opcode[] = {
    [SCENARIO_OP_MEMMOVE] = DSA_OP_MEMMOVE,
    [SCENARIO_OP_FILL] = DSA_OP_FILL,
    [SCENARIO_OP_COMPARE] = DSA_OP_COMPARE,
    [SCENARIO_OP_CRC] = DSA_OP_CRC32C,
};

static bool dsa_reads_src(enum scenario_op op)
{
	return op != SCENARIO_OP_FILL;
}

static bool dsa_uses_dst(enum scenario_op op)
{
	return op != SCENARIO_OP_CRC;
}

static enum dma_data_direction dsa_dst_dir(enum scenario_op op)
{
	return op == SCENARIO_OP_COMPARE ? DMA_TO_DEVICE : DMA_FROM_DEVICE;
}

/* Window slot k: its source and destination buffers, each on its own pages. */
static uint64_t src_pa(const struct run_thread *th, unsigned k)
{
	return th->buf + (uint64_t)k * th->slot_size;
}

static uint64_t dst_pa(const struct run_thread *th, unsigned k)
{
	return src_pa(th, k) + th->slot_size / 2;
}

/* Slot k's completion record in the thread's coherent page. */
static uint64_t rec_pa(const struct run_thread *th, unsigned k)
{
	return th->coh_pa + (uint64_t)k * DSA_COMP_SIZE;
}

/* A 16-byte mark at every 4 KiB page start of [pa, pa + len): (value, page). */
static void mark_pages(struct run_thread *th, uint64_t pa, uint64_t len, uint64_t value)
{
	uint8_t *p = cpu_ptr(th, pa, len);

	for (uint64_t off = 0; off < len; off += SZ_4K) {
		uint64_t m[2] = {value, off};

		memcpy(p + off, m, len - off < 16 ? len - off : 16);
	}
}

/* True when every page start at or after `from` still carries the mark. */
static bool marks_intact(struct run_thread *th, uint64_t pa, uint64_t len, uint64_t from,
			 uint64_t value)
{
	const uint8_t *p = cpu_ptr(th, pa, len);

	for (uint64_t off = align_up(from, SZ_4K); off < len; off += SZ_4K) {
		uint64_t m[2] = {value, off};

		if (memcmp(p + off, m, len - off < 16 ? len - off : 16))
			return false;
	}
	return true;
}

/* Wait for the completion interrupt of slot k's descriptor: spin briefly (a copy of a few
 * pages is microseconds away), then yield, then sleep, so the engine keeps a core. */
static int dsa_wait_irq(struct run_thread *th, unsigned k)
{
	_Atomic uint32_t *done = &th->d->irq_done[th->irq_slot + k];
	struct timespec nap = {0, 20000};
	uint64_t start = 0;

	for (unsigned i = 0;; i++) {
		if (atomic_load_explicit(done, memory_order_acquire))
			return 0;
		if (i < 512)
			continue;
		if (!start)
			start = run_now_ns();
		else if (run_now_ns() - start > OP_TIMEOUT_NS)
			return -ETIMEDOUT;
		if (i < 4096)
			sched_yield();
		else
			nanosleep(&nap, NULL);
	}
}

static int dsa_setup(struct run_thread *th)
{
	const struct scenario_workload *w = th->w;
	uint64_t half = th->slot_size / 2;
	int ret;

	/* One page holds every slot's completion record (32 bytes each, 32-byte aligned). */
	ret = dma_alloc_coherent(th->d->dma, SZ_4K, &th->coh_pa, &th->coh_dma);
	if (ret)
		return ret;
	th->coh_size = SZ_4K;
	if (w->verify)
		pattern(cpu_ptr(th, th->buf, th->slot_size * th->window),
			th->slot_size * th->window, w->seed ^ th->t);
	if (w->map != SCENARIO_MAP_ONCE)
		return 0;
	th->mapped_once = true;
	for (unsigned k = 0; k < th->window; k++) {
		struct run_slot *s = &th->slots[k];

		s->dma = s->dma2 = DMA_MAPPING_ERROR;
		if (dsa_reads_src(w->op)) {
			s->dma = map1(th, src_pa(th, k), half, DMA_TO_DEVICE);
			if (s->dma == DMA_MAPPING_ERROR)
				return dma_mapping_error(th->d->dma, s->dma);
		}
		if (dsa_uses_dst(w->op)) {
			s->dma2 = map1(th, dst_pa(th, k), half, dsa_dst_dir(w->op));
			if (s->dma2 == DMA_MAPPING_ERROR)
				return dma_mapping_error(th->d->dma, s->dma2);
		}
	}
	return 0;
}

static void dsa_teardown(struct run_thread *th)
{
	uint64_t half = th->slot_size / 2;

	for (unsigned k = 0; th->mapped_once && k < th->window; k++) {
		struct run_slot *s = &th->slots[k];

		if (dsa_reads_src(th->w->op) && s->dma && s->dma != DMA_MAPPING_ERROR)
			unmap1(th, s->dma, half, DMA_TO_DEVICE);
		if (dsa_uses_dst(th->w->op) && s->dma2 && s->dma2 != DMA_MAPPING_ERROR)
			unmap1(th, s->dma2, half, dsa_dst_dir(th->w->op));
	}
	th->mapped_once = false;
	if (th->coh_size)
		dma_free_coherent(th->d->dma, th->coh_size, th->coh_pa, th->coh_dma);
	th->coh_size = 0;
}

/* Check a completed descriptor's data; returns true when it is right. */
static bool dsa_check(struct run_thread *th, unsigned k, const struct dsa_completion *rec)
{
	const struct run_slot *s = &th->slots[k];
	uint64_t len = s->len;
	const uint8_t *src = cpu_ptr(th, src_pa(th, k), len),
		      *dst = cpu_ptr(th, dst_pa(th, k), len);

	if (rec->status != DSA_COMP_SUCCESS) {
		/* A failed descriptor must not have touched what it did not reach (no record:
		 * nothing is known to have been reached). */
		uint64_t done = rec->status ? rec->bytes_completed : 0;

		if (th->w->op == SCENARIO_OP_MEMMOVE || th->w->op == SCENARIO_OP_FILL)
			return marks_intact(th, dst_pa(th, k), len, done, ~s->op);
		return true;
	}
	switch (th->w->op) {
	case SCENARIO_OP_MEMMOVE:
		return !memcmp(src, dst, len);
	case SCENARIO_OP_FILL:
		for (uint64_t i = 0; i < len; i++)
			if (dst[i] != (uint8_t)(s->fill >> (8 * (i & 7))))
				return false;
		return true;
	case SCENARIO_OP_COMPARE:
		return rec->result == 0; /* the two buffers were made equal */
	case SCENARIO_OP_CRC:
		return rec->crc == dsa_crc32c(0, src, len);
	default:
		return false;
	}
}

/* Map slot k's buffers for this descriptor (unless they are mapped once). */
static bool dsa_map(struct run_thread *th, struct run_slot *s, unsigned k)
{
	enum scenario_op op = th->w->op;

	if (th->mapped_once)
		return true;
	s->dma = s->dma2 = 0;
	if (dsa_reads_src(op) &&
	    (s->dma = map1(th, src_pa(th, k), s->len, DMA_TO_DEVICE)) == DMA_MAPPING_ERROR)
		return false;
	if (dsa_uses_dst(op) &&
	    (s->dma2 = map1(th, dst_pa(th, k), s->len, dsa_dst_dir(op))) == DMA_MAPPING_ERROR) {
		if (dsa_reads_src(op))
			unmap1(th, s->dma, s->len, DMA_TO_DEVICE);
		return false;
	}
	return true;
}

static void dsa_unmap(struct run_thread *th, struct run_slot *s)
{
	enum scenario_op op = th->w->op;

	if (th->mapped_once)
		return;
	if (dsa_reads_src(op))
		unmap1(th, s->dma, s->len, DMA_TO_DEVICE);
	if (dsa_uses_dst(op))
		unmap1(th, s->dma2, s->len, dsa_dst_dir(op));
}

/* Prepare operation i in slot k and submit its descriptor (ENQCMDS, retried while full). */
static void dsa_post(struct run_thread *th, unsigned k, uint64_t i)
{
	const struct scenario_workload *w = th->w;
	struct run_slot *s = &th->slots[k];
	enum scenario_op op = w->op;
	struct dsa_desc desc;
	int ret;

	s->op = i;
	s->len = draw(th, &w->size);
	s->fill = rnd(&th->rng);
	s->t_post = th->r->trace ? trace_now(th->r->trace) : 0;
	if (w->verify) {
		if (dsa_reads_src(op))
			mark_pages(th, src_pa(th, k), s->len, i);
		if (op == SCENARIO_OP_COMPARE)
			memcpy(cpu_ptr(th, dst_pa(th, k), s->len),
			       cpu_ptr(th, src_pa(th, k), s->len), s->len);
		else if (dsa_uses_dst(op))
			mark_pages(th, dst_pa(th, k), s->len, ~i);
	}
	if (!dsa_map(th, s, k)) {
		th->failed++;
		progress(th);
		return;
	}
	dsa_desc_init(&desc, dsa_opcode[op], DSA_F_CRAV | DSA_F_RCR | DSA_F_RCI, th->has_pasid,
		      th->pasid, false);
	desc.completion = th->coh_dma + (uint64_t)k * DSA_COMP_SIZE;
	desc.src = dsa_reads_src(op) ? s->dma : 0;
	desc.dst = dsa_uses_dst(op) ? s->dma2 : 0;
	desc.size = (uint32_t)s->len;
	desc.int_handle = (uint16_t)(th->irq_slot + k);
	if (op == SCENARIO_OP_FILL)
		desc.pattern = s->fill;
	mem_fill(th->r->mem, rec_pa(th, k), 0, DSA_COMP_SIZE);
	atomic_store_explicit(&th->d->irq_done[th->irq_slot + k], 0, memory_order_relaxed);
	while ((ret = dsa_submit(th->d->dsa, th->wq, &desc)) == -EAGAIN)
		sched_yield(); /* the work queue is full: ENQCMDS said "retry" */
	if (ret) {
		dsa_unmap(th, s);
		stop(th, ret, "the DSA work queue refused a descriptor");
		return;
	}
	s->busy = true;
}

/* Wait for slot k's descriptor, unmap, check its data and count it. */
static void dsa_complete(struct run_thread *th, unsigned k)
{
	struct run_slot *s = &th->slots[k];
	enum scenario_op op = th->w->op;
	struct dsa_completion rec = {0};
	bool ok;
	int ret;

	s->busy = false;
	ret = dsa_wait_irq(th, k);
	if (!ret)
		ret = mem_read(th->r->mem, rec_pa(th, k), &rec, sizeof(rec));
	dsa_unmap(th, s);
	if (ret) {
		stop(th, ret, "the DSA engine did not complete a descriptor");
		return;
	}
	ok = rec.status == DSA_COMP_SUCCESS;
	if (ok) {
		th->ops++;
		th->bytes += s->len;
	} else {
		th->failed++;
	}
	if (th->w->verify && (ok || op == SCENARIO_OP_MEMMOVE || op == SCENARIO_OP_FILL)) {
		if (dsa_check(th, k, &rec))
			th->verified++;
		else
			th->mismatches++;
	}
	trace_op(th, k, scenario_op_name(op), s->t_post, s->len, ok);
	progress(th);
}

/* Operation i: the slot it takes completes first (descriptors stay in flight meanwhile). */
static void dsa_op(struct run_thread *th, uint64_t i)
{
	unsigned k = (unsigned)(i % th->window);

	if (th->slots[k].busy)
		dsa_complete(th, k);
	if (!th->error)
		dsa_post(th, k, i);
}

static void dsa_drain(struct run_thread *th)
{
	for (uint64_t n = 0; n < th->window; n++) {
		/* In submission order: the oldest slot first. */
		unsigned k = (unsigned)((th->next_op + n) % th->window);

		if (th->slots[k].busy && !th->error)
			dsa_complete(th, k);
		else
			th->slots[k].busy = false;
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
		s->dma = map1(th, nic_buf(th, k), th->slot_size, DMA_FROM_DEVICE);
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
		unmap1(th, s->dma, s->map_len, DMA_FROM_DEVICE);
	s->busy = false;
	nic_verify(th, ok, cpu_ptr(th, nic_buf(th, k), len), expect, len);
	if (!nic_post_rx(th, k))
		stop(th, dma_mapping_error(th->d->dma, DMA_MAPPING_ERROR),
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

	memcpy(cpu_ptr(th, nic_buf(th, k), len), expect, len);
	if (!th->mapped_once) {
		s->dma = map1(th, nic_buf(th, k), len, DMA_TO_DEVICE);
		if (s->dma == DMA_MAPPING_ERROR)
			return false;
	}
	nic_write_desc(th, k, s->dma, (uint32_t)(th->mapped_once ? th->slot_size : len));
	ok = nic_device(th, k, false, bounce, len);
	if (!th->mapped_once)
		unmap1(th, s->dma, len, DMA_TO_DEVICE);
	nic_verify(th, ok, bounce, expect, len);
	return ok;
}

static void nic_op(struct run_thread *th, uint64_t i)
{
	uint64_t len = draw(th, &th->w->size), t0 = th->r->trace ? trace_now(th->r->trace) : 0;
	uint8_t *expect = th->scratch, *bounce = th->scratch + th->scratch_size / 2;
	bool rx = nic_rx(th, i), ok;

	pattern(expect, len, op_seed(th, i, 0));
	ok = rx ? nic_receive(th, expect, len) : nic_transmit(th, expect, bounce, len);
	if (ok) {
		th->ops++;
		th->bytes += len;
	} else {
		th->failed++;
	}
	trace_op(th, th->window, rx ? "rx" : "tx", t0, len, ok);
}

static int nic_setup(struct run_thread *th)
{
	uint64_t ring = align_up((th->window + 1) * sizeof(struct nic_desc), SZ_4K);
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

			th->slots[k].dma = map1(th, nic_buf(th, k), th->slot_size, dir);
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
			unmap1(th, s->dma, s->map_len,
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
	return align_up(th->w->size.max, SZ_4K);
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
		stop(th, ret, "dma_unmap_sg of a live mapping failed");
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
		   (th->w->op == SCENARIO_OP_MIXED && (rnd(&th->rng) & 1));
	for (unsigned g = 0; g < th->w->segments; g++) {
		uint64_t l = draw(th, &th->w->size);

		if (!th->mapped_once)
			s->sg[g].length = l;
		s->lens[g] = (uint32_t)l;
		total += l;
		if (s->write)
			pattern(cpu_ptr(th, seg_pa(th, k, g), l), l, op_seed(th, i, g));
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
		pattern(expect, l, op_seed(th, s->op, g));
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
			pattern(expect, s->lens[g], op_seed(th, s->op, g));
			right &=
			    !memcmp(cpu_ptr(th, seg_pa(th, k, g), s->lens[g]), expect, s->lens[g]);
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
	trace_op(th, k, s->write ? "write" : "read", s->t_post, s->len, ok);
	progress(th);
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
		*slot_size = align_up(w->size.max, SZ_4K);
		break;
	default: /* requests in flight, each of `segments` segments */
		*window = d->queue_depth / w->threads ? d->queue_depth / w->threads : 1;
		*slot_size = align_up(align_up(w->size.max, SZ_4K) * w->segments, page);
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
	th->scratch_size = 2 * align_up(th->w->size.max, SZ_4K);
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
		return dsa_setup(th);
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
			dsa_teardown(th);
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
		stop(th, ret, "setting up the workload's buffers");
		run_ops_pause(th);
		teardown(th);
		return ret;
	}
	for (uint64_t i = 0; i < th->count && !th->error && !aborted(th); i++) {
		switch (th->d->sd->type) {
		case SCENARIO_DEV_DSA:
			dsa_op(th, i);
			th->next_op = i + 1;
			break;
		case SCENARIO_DEV_NIC:
			nic_op(th, i);
			progress(th);
			break;
		default:
			storage_op(th, i);
			break;
		}
	}
	if (th->d->sd->type == SCENARIO_DEV_STORAGE && !th->error)
		storage_drain(th);
	if (th->d->sd->type == SCENARIO_DEV_DSA)
		dsa_drain(th);
	run_ops_pause(th);
	teardown(th);
	atomic_fetch_add(&th->r->ops_done, th->progress_pending);
	th->progress_pending = 0;
	return th->error;
}
