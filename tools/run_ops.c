// SPDX-License-Identifier: MIT
/*
 * The workload thread (run_ops.h): what every device type shares - random sizes, data
 * patterns, the DMA API counted and traced, progress - and the loop over its operations:
 * DSA descriptors in run_ops_dsa.c, NIC packets and storage requests in
 * run_ops_traffic.c.
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

	if (a == DMA_MAPPING_ERROR)
		return a;
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
	case SCENARIO_DEV_NIC: /* the driver's own packet buffers */
		*window = 1;
		*slot_size = 0;
		break;
	default: /* one request at a time (the driver waits for it), `segments` buffers */
		*window = 1;
		*slot_size = align_up(align_up(w->size.max, RUN_SZ_4K) * w->segments, page);
		break;
	}
}

uint64_t run_ops_region(const struct run *r, const struct scenario_workload *w)
{
	unsigned window;
	uint64_t slot_size;

	run_ops_footprint(r, w, &window, &slot_size);
	return (uint64_t)window * slot_size;
}

static int setup(struct run_thread *th)
{
	uint64_t region = run_ops_region(th->r, th->w);

	th->slots = calloc(th->window, sizeof(*th->slots));
	if (!th->slots)
		return -ENOMEM;
	if (th->d->sd->type == SCENARIO_DEV_STORAGE) {
		th->slots[0].sg = calloc(th->w->segments, sizeof(struct dma_sg));
		if (!th->slots[0].sg)
			return -ENOMEM;
	}
	if (region && !mem_ptr(th->r->mem, th->buf, region))
		return -EFAULT;
	/* Windowed operations overlap in time: each slot gets a lane of its own. */
	if (th->r->trace && th->window > 1)
		for (unsigned k = 0; k < th->window; k++) {
			char name[96];

			snprintf(name, sizeof(name), "%s#%u slot %u", th->w->name, th->t, k);
			th->slots[k].lane = trace_lane(th->r->trace, name);
		}
	return th->d->sd->type == SCENARIO_DEV_DSA ? run_dsa_setup(th) : 0;
}

static void teardown(struct run_thread *th)
{
	if (th->slots && th->d->sd->type == SCENARIO_DEV_DSA)
		run_dsa_teardown(th);
	if (th->slots)
		free(th->slots[0].sg);
	free(th->slots);
	th->slots = NULL;
}

static void one_op(struct run_thread *th, uint64_t i)
{
	switch (th->d->sd->type) {
	case SCENARIO_DEV_DSA:
		run_dsa_op(th, i);
		break;
	case SCENARIO_DEV_NIC:
		run_nic_op(th, i);
		break;
	default:
		run_storage_op(th, i);
		break;
	}
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
	for (uint64_t i = 0; i < th->count && !th->error && !aborted(th); i++)
		one_op(th, i);
	if (th->d->sd->type == SCENARIO_DEV_DSA)
		run_dsa_drain(th);
	else if (th->d->sd->type == SCENARIO_DEV_NIC)
		run_nic_drain(th);
	run_ops_pause(th);
	teardown(th);
	atomic_fetch_add(&th->r->ops_done, th->progress_pending);
	th->progress_pending = 0;
	return th->error;
}
