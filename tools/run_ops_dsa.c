// SPDX-License-Identifier: MIT
/*
 * DSA workloads on the engine's kernel driver (include/softiommu/dsa_driver.h), the way a
 * kernel client of idxd's DMA engine uses it: map the buffers with the DMA API, build a
 * descriptor on DMA addresses, dsa_drv_submit() it to a work queue (the driver adds the
 * completion record and the kernel PASID), later dsa_drv_wait() for its record, unmap,
 * check the data. Each thread keeps its window of descriptors in flight.
 *
 * The descriptors carry the driver's own PASID choice - its kernel PASID, or none after a
 * fallback - except in the two cases a scenario asks for on purpose, where the thread
 * writes the PASID field itself (DSA_DRV_RAW_PASID): a workload without PASID on an
 * engine that has one (the seed's comparison), and one that keeps the kernel PASID after
 * dma_disable_pasid (those descriptors must fault and change nothing).
 */
#include "run_ops.h"
#include "trace.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include <softiommu/dsa_driver.h>

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

/* A 16-byte mark at every 4 KiB page start of [pa, pa + len): (value, page). */
static void mark_pages(struct run_thread *th, uint64_t pa, uint64_t len, uint64_t value)
{
	uint8_t *p = run_op_ptr(th, pa, len);

	for (uint64_t off = 0; off < len; off += RUN_SZ_4K) {
		uint64_t m[2] = {value, off};

		memcpy(p + off, m, len - off < 16 ? len - off : 16);
	}
}

/* True when every page start at or after `from` still carries the mark. */
static bool marks_intact(struct run_thread *th, uint64_t pa, uint64_t len, uint64_t from,
			 uint64_t value)
{
	const uint8_t *p = run_op_ptr(th, pa, len);

	for (uint64_t off = (from + RUN_SZ_4K - 1) & ~(RUN_SZ_4K - 1); off < len;
	     off += RUN_SZ_4K) {
		uint64_t m[2] = {value, off};

		if (memcmp(p + off, m, len - off < 16 ? len - off : 16))
			return false;
	}
	return true;
}

/*
 * The PASID field the thread's descriptors need, and whether it differs from what the
 * driver would put there (then the thread passes DSA_DRV_RAW_PASID). Settled once per
 * thread: the driver's PASID only changes between phases.
 */
static void dsa_pasid_choice(struct run_thread *th)
{
	uint32_t cur = dsa_drv_pasid(th->d->dsa_drv);
	bool driver_has = cur != IOMMU_PASID_INVALID;

	th->dsa_raw = th->has_pasid ? (!driver_has || cur != th->pasid) : driver_has;
	/* User privilege, as the driver's own kernel-PASID descriptors (dsa_driver.h). */
	th->dsa_pasid_field = th->has_pasid ? (th->pasid & DSA_PASID_MASK) | DSA_PASID_PV : 0;
}

int run_dsa_setup(struct run_thread *th)
{
	const struct scenario_workload *w = th->w;
	uint64_t half = th->slot_size / 2;

	dsa_pasid_choice(th);
	if (w->verify)
		run_op_pattern(run_op_ptr(th, th->buf, th->slot_size * th->window),
			       th->slot_size * th->window, w->seed ^ th->t);
	if (w->map != SCENARIO_MAP_ONCE)
		return 0;
	th->mapped_once = true;
	for (unsigned k = 0; k < th->window; k++) {
		struct run_slot *s = &th->slots[k];

		s->dma = s->dma2 = DMA_MAPPING_ERROR;
		if (dsa_reads_src(w->op)) {
			s->dma = run_op_map(th, src_pa(th, k), half, DMA_TO_DEVICE);
			if (s->dma == DMA_MAPPING_ERROR)
				return dma_mapping_error(th->d->dma, s->dma);
		}
		if (dsa_uses_dst(w->op)) {
			s->dma2 = run_op_map(th, dst_pa(th, k), half, dsa_dst_dir(w->op));
			if (s->dma2 == DMA_MAPPING_ERROR)
				return dma_mapping_error(th->d->dma, s->dma2);
		}
	}
	return 0;
}

void run_dsa_teardown(struct run_thread *th)
{
	uint64_t half = th->slot_size / 2;

	for (unsigned k = 0; th->mapped_once && k < th->window; k++) {
		struct run_slot *s = &th->slots[k];

		if (dsa_reads_src(th->w->op) && s->dma && s->dma != DMA_MAPPING_ERROR)
			run_op_unmap(th, s->dma, half, DMA_TO_DEVICE);
		if (dsa_uses_dst(th->w->op) && s->dma2 && s->dma2 != DMA_MAPPING_ERROR)
			run_op_unmap(th, s->dma2, half, dsa_dst_dir(th->w->op));
	}
	th->mapped_once = false;
}

/* Check a completed descriptor's data; returns true when it is right. */
static bool dsa_check(struct run_thread *th, unsigned k, const struct dsa_completion *rec)
{
	const struct run_slot *s = &th->slots[k];
	uint64_t len = s->len;
	const uint8_t *src = run_op_ptr(th, src_pa(th, k), len),
		      *dst = run_op_ptr(th, dst_pa(th, k), len);

	if (rec->status != DSA_COMP_SUCCESS) {
		/* A failed descriptor must not have touched what it did not reach (without a
		 * record, nothing is known to have been reached: bytes_completed is 0). */
		if (th->w->op == SCENARIO_OP_MEMMOVE || th->w->op == SCENARIO_OP_FILL)
			return marks_intact(th, dst_pa(th, k), len, rec->bytes_completed, ~s->op);
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
	    (s->dma = run_op_map(th, src_pa(th, k), s->len, DMA_TO_DEVICE)) == DMA_MAPPING_ERROR)
		return false;
	if (dsa_uses_dst(op) && (s->dma2 = run_op_map(th, dst_pa(th, k), s->len,
						      dsa_dst_dir(op))) == DMA_MAPPING_ERROR) {
		if (dsa_reads_src(op))
			run_op_unmap(th, s->dma, s->len, DMA_TO_DEVICE);
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
		run_op_unmap(th, s->dma, s->len, DMA_TO_DEVICE);
	if (dsa_uses_dst(op))
		run_op_unmap(th, s->dma2, s->len, dsa_dst_dir(op));
}

/* Lay out operation i's data in slot k (for the check at completion). */
static void dsa_prepare(struct run_thread *th, struct run_slot *s, unsigned k, uint64_t i)
{
	enum scenario_op op = th->w->op;

	if (!th->w->verify)
		return;
	if (dsa_reads_src(op))
		mark_pages(th, src_pa(th, k), s->len, i);
	if (op == SCENARIO_OP_COMPARE)
		memcpy(run_op_ptr(th, dst_pa(th, k), s->len), run_op_ptr(th, src_pa(th, k), s->len),
		       s->len);
	else if (dsa_uses_dst(op))
		mark_pages(th, dst_pa(th, k), s->len, ~i);
}

/*
 * dsa_drv_submit(), retried while every completion record of the driver is taken (other
 * threads' descriptors in flight free them) up to the operation timeout.
 */
static int dsa_submit_op(struct run_thread *th, struct dsa_desc *desc, unsigned *ticket)
{
	uint64_t start = 0;
	int ret;

	while ((ret = dsa_drv_submit(th->d->dsa_drv, th->wq, desc,
				     th->dsa_raw ? DSA_DRV_RAW_PASID : 0, ticket)) == -EBUSY) {
		if (!start)
			start = run_now_ns();
		else if (run_now_ns() - start > RUN_OP_TIMEOUT_NS)
			break;
		sched_yield();
	}
	return ret;
}

/* Prepare operation i in slot k and submit its descriptor. */
static void dsa_post(struct run_thread *th, unsigned k, uint64_t i)
{
	const struct scenario_workload *w = th->w;
	struct run_slot *s = &th->slots[k];
	enum scenario_op op = w->op;
	struct dsa_desc desc;
	int ret;

	s->op = i;
	s->len = run_op_draw(th, &w->size);
	s->fill = run_op_rnd(&th->rng);
	s->t_post = th->r->trace ? trace_now(th->r->trace) : 0;
	dsa_prepare(th, s, k, i);
	if (!dsa_map(th, s, k)) {
		th->failed++;
		run_op_progress(th);
		return;
	}
	dsa_desc_init(&desc, dsa_opcode[op], 0, false, 0, false);
	desc.pasid = th->dsa_pasid_field; /* used with DSA_DRV_RAW_PASID only */
	desc.src = dsa_reads_src(op) ? s->dma : 0;
	desc.dst = dsa_uses_dst(op) ? s->dma2 : 0;
	desc.size = (uint32_t)s->len;
	if (op == SCENARIO_OP_FILL)
		desc.pattern = s->fill;
	ret = dsa_submit_op(th, &desc, &s->ticket);
	if (ret) {
		dsa_unmap(th, s);
		run_op_stop(th, ret, "the DSA driver refused a descriptor");
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
	ret = dsa_drv_wait(th->d->dsa_drv, s->ticket, &rec);
	dsa_unmap(th, s);
	if (ret == -EIO)
		ret = 0; /* completed without a record (its write faulted too): rec is zero */
	if (ret) {
		run_op_stop(th, ret, "the DSA engine did not complete a descriptor");
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
	run_op_trace(th, k, scenario_op_name(op), s->t_post, s->len, ok);
	run_op_progress(th);
}

/* Operation i: the slot it takes completes first (descriptors stay in flight meanwhile). */
void run_dsa_op(struct run_thread *th, uint64_t i)
{
	unsigned k = (unsigned)(i % th->window);

	if (th->slots[k].busy)
		dsa_complete(th, k);
	if (!th->error)
		dsa_post(th, k, i);
	th->next_op = i + 1;
}

void run_dsa_drain(struct run_thread *th)
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
