// SPDX-License-Identifier: MIT
/*
 * The engine of one WQ: take descriptors in order, check each one, run it, write its
 * completion record, raise its interrupt.
 *
 * Checking is the hardware's, not the submitter's (ENQCMDS only copies 64 bytes): a bad
 * descriptor completes with an invalid-descriptor status and touches no data. The checks,
 * in order: opcode, flags, reserved fields, completion-record address, PASID, size.
 */
#include "devices/dsa_internal.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

/* How long an idle engine polls its ring before it sleeps. A wake-up through the kernel
 * costs a few microseconds on both sides and, while the engine sleeps, a descriptor waits
 * for it; a submitter that keeps a queue fed refills it within microseconds. Polling for a
 * bounded time, as a hardware engine's fetch unit (or a kernel poller) does, keeps a busy
 * queue free of wake-ups and an idle one off the CPU. */
#define IDLE_POLL_NS	30000u
#define IDLE_POLL_BATCH 64 /* pauses between two clock reads */

static bool op_known(unsigned op)
{
	return op == DSA_OP_NOOP || op == DSA_OP_MEMMOVE || op == DSA_OP_FILL ||
	       op == DSA_OP_COMPARE || op == DSA_OP_CRC32C;
}

static bool range_wraps(uint64_t addr, uint32_t size)
{
	return addr + (size - 1) < addr;
}

/* Reserved fields of each opcode: the ones every descriptor has, and the pattern field
 * where the opcode does not use it (crc32c uses its low 32 bits as the seed). */
static bool reserved_clear(const struct dsa_desc *d, unsigned op)
{
	if ((d->pasid & DSA_PASID_RSVD) || d->rsvd0 || d->rsvd1[0] || d->rsvd1[1])
		return false;
	if (op == DSA_OP_MEMMOVE || op == DSA_OP_COMPARE)
		return d->pattern == 0;
	if (op == DSA_OP_CRC32C)
		return (d->pattern >> 32) == 0;
	return true;
}

static uint8_t check_size(const struct dsa *dsa, const struct dsa_desc *d, unsigned op)
{
	bool src = op == DSA_OP_MEMMOVE || op == DSA_OP_COMPARE || op == DSA_OP_CRC32C;
	bool dst = op == DSA_OP_MEMMOVE || op == DSA_OP_COMPARE || op == DSA_OP_FILL;

	if (op == DSA_OP_NOOP)
		return 0;
	if (!d->size || d->size > dsa->max_transfer_size)
		return DSA_COMP_INVALID_SIZE;
	if ((src && range_wraps(d->src, d->size)) || (dst && range_wraps(d->dst, d->size)))
		return DSA_COMP_INVALID_SIZE;
	return 0;
}

/* 0 for a descriptor the engine can run, else its invalid-descriptor status. */
static uint8_t check_desc(const struct dsa *dsa, const struct dsa_desc *d)
{
	unsigned op = dsa_desc_op(d), flags = dsa_desc_flags(d);
	bool pv = d->pasid & DSA_PASID_PV;

	if (!op_known(op))
		return DSA_COMP_INVALID_OPCODE;
	if ((flags & ~DSA_F_MASK) || (flags & DSA_F_BOF) ||
	    ((flags & DSA_F_RCR) && !(flags & DSA_F_CRAV)))
		return DSA_COMP_INVALID_FLAGS;
	if (!reserved_clear(d, op))
		return DSA_COMP_RESERVED;
	if ((flags & DSA_F_CRAV) &&
	    ((d->completion & (DSA_COMP_ALIGN - 1)) || range_wraps(d->completion, DSA_COMP_SIZE)))
		return DSA_COMP_INVALID_CR_ADDR;
	/* A PASID must fit the function's Max PASID Width; PRIV travels in the PASID prefix. */
	if ((pv && (d->pasid & DSA_PASID_MASK) >> dsa->pasid_width) ||
	    (!pv && (d->pasid & DSA_PASID_PRIV)))
		return DSA_COMP_INVALID_PASID;
	return check_size(dsa, d, op);
}

static void run_op(struct dsa_xfer *x, const struct dsa_desc *d)
{
	switch (dsa_desc_op(d)) {
	case DSA_OP_MEMMOVE:
		dsa_op_memmove(x, d);
		break;
	case DSA_OP_FILL:
		dsa_op_fill(x, d);
		break;
	case DSA_OP_COMPARE:
		dsa_op_compare(x, d);
		break;
	case DSA_OP_CRC32C:
		dsa_op_crc32c(x, d);
		break;
	default: /* DSA_OP_NOOP */
		break;
	}
}

static void swerr_of(struct dsa_swerr *e, const struct dsa_wq *wq, const struct dsa_desc *d,
		     const struct dsa_result *r)
{
	*e = (struct dsa_swerr){
	    .valid = true,
	    .wq = wq->id,
	    .status = r->status,
	    .opcode = (uint8_t)dsa_desc_op(d),
	    .fault_info = r->fault_info,
	    .fault_reason = r->fault_reason,
	    .desc_pasid = d->pasid,
	    .completion = d->completion,
	    .fault_addr = r->fault_addr,
	    .error = r->error,
	};
}

/*
 * Write the record: one 32-byte write inside one cache line, which the endpoint lands as a
 * unit with its first 8 bytes (status first) stored last, so a reader that sees the status
 * sees the rest. How it went in *wr (status 0: written, else the failure).
 */
static void write_record(struct dsa_xfer *x, const struct dsa_desc *d, const struct dsa_result *r,
			 struct dsa_result *wr)
{
	struct dsa_completion c = {
	    .status = r->status,
	    .result = r->result,
	    .fault_info = r->fault_info,
	    .fault_reason = r->fault_reason,
	    .bytes_completed = r->done,
	    .fault_addr = r->fault_addr,
	    .crc = r->crc,
	    .error = r->error,
	};

	*wr = (struct dsa_result){0};
	x->res = wr;
	dsa_dma(x, true, d->completion, &c, DSA_COMP_SIZE, 0);
}

/* Count a record write's outcome `wr` (status 0: written); a failed one goes to the
 * software-error register with the descriptor's own outcome `r`. */
static void record_done(struct dsa_xfer *x, const struct dsa_desc *d, const struct dsa_result *r,
			const struct dsa_result *wr)
{
	struct dsa_swerr e;

	if (!wr->status) {
		WQ_STAT_INC(x->wq, cnt.records);
		return;
	}
	WQ_STAT_INC(x->wq, cnt.record_errors);
	swerr_of(&e, x->wq, d, r);
	e.record_fault = true;
	e.fault_info = wr->fault_info;
	e.fault_reason = wr->fault_reason;
	e.fault_addr = wr->fault_addr;
	e.error = wr->error;
	dsa_latch_swerr(x->wq, &e);
}

/* The completion interrupt, if the descriptor asks for one. */
static void interrupt(struct dsa_xfer *x, const struct dsa_desc *d)
{
	struct dsa *dsa = x->dsa;

	if ((dsa_desc_flags(d) & DSA_F_RCI) && dsa->irq) {
		WQ_STAT_INC(x->wq, cnt.interrupts);
		dsa->irq(dsa->irq_ctx, x->wq->id, d->int_handle);
	}
}

/* Report the outcome: a record where the descriptor asks for one, else (on an error) the
 * software-error register; then the interrupt. */
static void complete(struct dsa_xfer *x, const struct dsa_desc *d, const struct dsa_result *r,
		     bool record_ok)
{
	unsigned flags = dsa_desc_flags(d);
	bool failed = r->status != DSA_COMP_SUCCESS;
	struct dsa_swerr e;

	if (record_ok && (flags & DSA_F_CRAV) && (failed || (flags & DSA_F_RCR))) {
		struct dsa_result wr;

		write_record(x, d, r, &wr);
		record_done(x, d, r, &wr);
	} else if (failed) {
		swerr_of(&e, x->wq, d, r);
		dsa_latch_swerr(x->wq, &e);
	}
	interrupt(x, d);
}

/*
 * A memmove the endpoint copies whole, with a record on success, on an engine without an
 * access hook: the copy and its record in one call to the endpoint (the record's request
 * prepared with the copy's, the record still landing after the data). The counters are
 * those of a success before the call, since the record must not be seen before them, and
 * are taken back if the copy fails. True when the descriptor is complete (record written or
 * its failure reported, interrupt raised); false when the copy failed, `r` describing how,
 * for the general completion to report.
 */
static bool memmove_record(struct dsa_xfer *x, const struct dsa_desc *d, struct dsa_result *r)
{
	const struct dsa_completion c = {.status = DSA_COMP_SUCCESS, .bytes_completed = d->size};
	const struct dsa_result ok = {.status = DSA_COMP_SUCCESS, .done = d->size};
	struct dsa_result wr;

	dsa_account(x->wq, d, &ok, 1);
	if (dsa_op_memmove_record(x, d, &c, &wr)) {
		dsa_account(x->wq, d, &ok, -1);
		return false;
	}
	record_done(x, d, r, &wr);
	interrupt(x, d);
	return true;
}

static bool record_fusable(const struct dsa *dsa, const struct dsa_desc *d)
{
	return (dsa_desc_flags(d) & (DSA_F_CRAV | DSA_F_RCR)) == (DSA_F_CRAV | DSA_F_RCR) &&
	       !dsa->access && dsa_memmove_whole(d);
}

static void process(struct dsa_wq *wq, const struct dsa_desc *d)
{
	struct dsa_result r = {.status = DSA_COMP_SUCCESS};
	struct dsa_xfer x = {.dsa = wq->dsa, .wq = wq, .res = &r};
	uint8_t bad = check_desc(wq->dsa, d);
	bool record_ok = true;

	if (d->pasid & DSA_PASID_PV) {
		x.flags = PCI_DMA_PASID | ((d->pasid & DSA_PASID_PRIV) ? PCI_DMA_PRIV : 0);
		x.pasid = d->pasid & DSA_PASID_MASK;
	}
	if (bad) {
		r.status = bad;
		/* No request can carry a PASID the function cannot express, nor reach a
		 * misaligned record: those go to the software-error register. */
		record_ok = bad != DSA_COMP_INVALID_CR_ADDR && bad != DSA_COMP_INVALID_PASID;
	} else if (record_fusable(wq->dsa, d)) {
		if (memmove_record(&x, d, &r))
			return;
	} else {
		run_op(&x, d);
	}
	x.res = &r;
	dsa_account(wq, d, &r, 1);
	complete(&x, d, &r, record_ok);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static bool ring_empty(struct dsa_wq *wq, uint64_t head)
{
	return __atomic_load_n(&wq->tail, __ATOMIC_ACQUIRE) == head;
}

/*
 * Poll the empty ring for up to IDLE_POLL_NS; true as soon as it has a descriptor. Between
 * batches the CPU is offered to other threads: on a core of its own that costs a system
 * call per batch, on a shared one it lets the submitter run instead of waiting for this
 * thread's time slice to end.
 */
static bool poll_ring(struct dsa_wq *wq, uint64_t head)
{
	uint64_t start = 0;

	for (;;) {
		for (unsigned i = 0; i < IDLE_POLL_BATCH; i++) {
			if (!ring_empty(wq, head))
				return true;
			if (__atomic_load_n(&wq->stop, __ATOMIC_RELAXED))
				return false;
			cpu_relax();
		}
		if (!start)
			start = mono_ns();
		else if (mono_ns() - start >= IDLE_POLL_NS)
			return false;
		sched_yield();
	}
}

/*
 * Wait for a descriptor at `head`: poll, then sleep under the lock (see struct dsa_wq for
 * why no wake-up is lost). False when told to stop and the ring is empty.
 */
static bool wait_desc(struct dsa_wq *wq, uint64_t head)
{
	while (ring_empty(wq, head)) {
		if (poll_ring(wq, head))
			return true;
		pthread_mutex_lock(&wq->lock);
		while (ring_empty(wq, head) && !wq->stop) {
			wq->sleeping = true;
			pthread_cond_wait(&wq->work, &wq->lock);
			wq->sleeping = false;
		}
		pthread_mutex_unlock(&wq->lock);
		if (ring_empty(wq, head))
			return false; /* stop */
	}
	return true;
}

/* Wake the drainers; those still waiting set drain_at again. */
static void wake_drainers(struct dsa_wq *wq)
{
	pthread_mutex_lock(&wq->lock);
	__atomic_store_n(&wq->drain_at, UINT64_MAX, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&wq->idle);
	pthread_mutex_unlock(&wq->lock);
}

/*
 * A descriptor is finished. Drainers are woken when the count reaches the first of their
 * targets (drain_at), without a fence (a release store and a relaxed load: no locked
 * instruction on the busy path, and no lock taken for a drainer that waits for more); the
 * one this may miss, a drainer that came in while the count was in flight, is woken by a
 * later completion, by idle_check() before the engine waits, or by its own short timed
 * waits (dsa_wq_drain).
 */
static void finished(struct dsa_wq *wq, uint64_t n)
{
	__atomic_store_n(&wq->completed, n, __ATOMIC_RELEASE);
	if (__builtin_expect(n >= __atomic_load_n(&wq->drain_at, __ATOMIC_RELAXED), 0))
		wake_drainers(wq);
}

/*
 * The ring is empty: no drainer may wait for what is done. A read-modify-write of
 * `drainers` reads its latest value: either it sees a drainer that came in, or that
 * drainer's own increment comes after it and (acquire on release) sees `completed`.
 */
static void idle_check(struct dsa_wq *wq)
{
	if (__atomic_fetch_add(&wq->drainers, 0, __ATOMIC_ACQ_REL))
		wake_drainers(wq);
}

void *dsa_engine_main(void *arg)
{
	struct dsa_wq *wq = arg;
	bool timing = wq->dsa->cfg.timing;
	uint64_t head = wq->head; /* this thread is the only writer */
	uint64_t avail = head;	  /* a `tail` seen: the slots below it are published */
	uint32_t slot = (uint32_t)(head % wq->size); /* head's slot, kept without a division */
	struct timespec ts;
	struct dsa_desc d;

	for (;;) {
		if (head == avail) {
			/* Look at the submitters' line only when the descriptors seen are done. */
			avail = __atomic_load_n(&wq->tail, __ATOMIC_ACQUIRE);
			if (head == avail) {
				idle_check(wq);
				if (!wait_desc(wq, head))
					break;
				avail = __atomic_load_n(&wq->tail, __ATOMIC_ACQUIRE);
			}
		}
		d = wq->ring[slot];
		/* The slot is copied out: submitters may reuse it. */
		__atomic_store_n(&wq->head, ++head, __ATOMIC_RELEASE);
		if (++slot == wq->size)
			slot = 0;
		/* Fetch the next descriptor while this one runs, as an engine's fetch unit does
		 * (a hint: no access is made before the slot is taken). */
		if (head != avail)
			__builtin_prefetch(&wq->ring[slot]);
		if (timing) {
			uint64_t t0 = mono_ns();

			process(wq, &d);
			WQ_STAT_ADD(wq, cnt.busy_ns, mono_ns() - t0);
		} else {
			process(wq, &d);
		}
		finished(wq, wq->completed + 1);
	}
	/* The thread's CPU clock ends with it: keep its time (dsa_engine_cpu_ns). */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	pthread_mutex_lock(&wq->lock);
	wq->cpu_done += (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	wq->exited = true;
	pthread_mutex_unlock(&wq->lock);
	return NULL;
}
