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
#include <string.h>
#include <time.h>

/* How long an idle engine polls its ring before it sleeps (iterations of a pause, a few
 * microseconds: a wake-up costs about as much, and the machine may be shared). */
#define IDLE_SPINS 32

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
	if (!d->size || d->size > dsa->cfg.max_transfer_size)
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
 * sees the rest. 0, or the write's failure in *wr.
 */
static int write_record(struct dsa_xfer *x, const struct dsa_desc *d, const struct dsa_result *r,
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
	return dsa_dma(x, true, d->completion, &c, DSA_COMP_SIZE, 0) ? -EFAULT : 0;
}

/* Report the outcome: a record where the descriptor asks for one, else (on an error) the
 * software-error register; then the interrupt. */
static void complete(struct dsa_xfer *x, const struct dsa_desc *d, const struct dsa_result *r,
		     bool record_ok)
{
	struct dsa *dsa = x->dsa;
	unsigned flags = dsa_desc_flags(d);
	bool failed = r->status != DSA_COMP_SUCCESS;
	struct dsa_swerr e;

	if (record_ok && (flags & DSA_F_CRAV) && (failed || (flags & DSA_F_RCR))) {
		struct dsa_result wr;

		if (!write_record(x, d, r, &wr)) {
			WQ_STAT_INC(x->wq, stats.records);
		} else {
			WQ_STAT_INC(x->wq, stats.record_errors);
			swerr_of(&e, x->wq, d, r);
			e.record_fault = true;
			e.fault_info = wr.fault_info;
			e.fault_reason = wr.fault_reason;
			e.fault_addr = wr.fault_addr;
			e.error = wr.error;
			dsa_latch_swerr(x->wq, &e);
		}
	} else if (failed) {
		swerr_of(&e, x->wq, d, r);
		dsa_latch_swerr(x->wq, &e);
	}
	if ((flags & DSA_F_RCI) && dsa->cfg.irq) {
		WQ_STAT_INC(x->wq, stats.interrupts);
		dsa->cfg.irq(dsa->cfg.irq_ctx, x->wq->id, d->int_handle);
	}
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
	} else {
		run_op(&x, d);
	}
	x.res = &r;
	dsa_account(wq, d, &r);
	complete(&x, d, &r, record_ok);
}

/* Take the next descriptor, sleeping while the ring is empty. False when told to stop and
 * the ring is empty. Called and returns with wq->lock held. */
static bool next_desc(struct dsa_wq *wq, struct dsa_desc *d)
{
	while (wq->head == wq->tail) {
		if (wq->stop)
			return false;
		/* Poll a little before sleeping: a busy submitter refills the ring in less
		 * time than a wake-up takes. */
		pthread_mutex_unlock(&wq->lock);
		for (int i = 0; i < IDLE_SPINS; i++) {
			if (__atomic_load_n(&wq->tail, __ATOMIC_RELAXED) != wq->head)
				break;
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		}
		pthread_mutex_lock(&wq->lock);
		if (wq->head != wq->tail || wq->stop)
			continue;
		wq->sleeping = true;
		pthread_cond_wait(&wq->work, &wq->lock);
		wq->sleeping = false;
	}
	*d = wq->ring[wq->head % wq->size];
	wq->head++;
	return true;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void *dsa_engine_main(void *arg)
{
	struct dsa_wq *wq = arg;
	bool timing = wq->dsa->cfg.timing;
	struct timespec ts;
	struct dsa_desc d;

	pthread_mutex_lock(&wq->lock);
	while (next_desc(wq, &d)) {
		pthread_mutex_unlock(&wq->lock);
		if (timing) {
			uint64_t t0 = mono_ns();

			process(wq, &d);
			WQ_STAT_ADD(wq, stats.busy_ns, mono_ns() - t0);
		} else {
			process(wq, &d);
		}
		pthread_mutex_lock(&wq->lock);
		wq->completed++;
		if (wq->drainers)
			pthread_cond_broadcast(&wq->idle);
	}
	/* The thread's CPU clock ends with it: keep its time (dsa_engine_cpu_ns). */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	wq->cpu_done += (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	wq->exited = true;
	pthread_mutex_unlock(&wq->lock);
	return NULL;
}
