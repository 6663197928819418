// SPDX-License-Identifier: MIT
/*
 * The DSA kernel driver: probe and remove on the DMA API, the kernel PASID with its
 * fallback (the flow of Linux's idxd_enable_system_pasid()), the completion-record pool,
 * submission and waiting, and the synchronous helpers. Only dma.h and dsa.h are used: the
 * driver knows nothing of the IOMMU.
 */
#include "util/zalloc.h"

#include <softiommu/dsa_driver.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECORDS_DEFAULT 256
#define RECORDS_MAX	4096
#define TIMEOUT_DEFAULT 1000000000ull
/* One record per cache line: the engine writing one record does not steal the line from a
 * CPU zeroing or polling its neighbour. */
#define RECORD_STRIDE 64
/* A waiter polls the record for this long between looks at the completion interrupt. */
#define WAIT_SLICE_NS 200000ull

enum { SLOT_FREE, SLOT_BUSY, SLOT_LOST };

/*
 * Allocated on a 64-byte boundary: what the engines' interrupt reads for each descriptor in
 * one line of its own; the pool's lock and count, which every submission and every wait
 * write, on lines of their own.
 */
struct dsa_drv {
	struct dsa_drv_config cfg;
	struct dma_dev *dma;
	struct dsa *dsa;
	uint32_t pasid; /* relaxed atomic: the engines' access hook reads it */
	const char *pasid_status;
	uint64_t cr_phys;
	dma_addr_t cr_dma;
	unsigned records; /* completion records (tickets 0 .. records - 1) */
	uint8_t *state;	  /* SLOT_* per record */
	_Alignas(64) uint64_t cr_size;
	/* Per record: its descriptor's completion interrupt came (atomic). In the record's
	 * own cache line when the records are directly mapped (cr_host): the line the engine
	 * has just written and the waiter reads anyway, so the interrupt moves no other line
	 * between the CPUs; else in `irq`. */
	uint8_t *cr_host;
	uint8_t *irq;
	/* cfg.dsa.irq and its context (copies, constant). */
	dsa_irq_fn user_irq;
	void *user_irq_ctx;
	_Alignas(64) pthread_mutex_t pool_lock;
	unsigned *free_list;
	unsigned nfree;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void drv_log(struct dsa_drv *drv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void drv_log(struct dsa_drv *drv, const char *fmt, ...)
{
	uint16_t rid = pci_endpoint_rid(drv->cfg.ep);
	char line[200];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "dsa %02x:%02x.%x: ", PCI_RID_BUS(rid),
		     PCI_RID_DEVFN(rid) >> 3, PCI_RID_DEVFN(rid) & 7);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (drv->cfg.log)
		drv->cfg.log(drv->cfg.log_ctx, line);
	else
		fprintf(stderr, "%s\n", line);
}

/* The interrupt flag of record `slot`: the byte after the record (which is DSA_COMP_SIZE
 * bytes of its RECORD_STRIDE), or its byte in `irq`. */
static uint8_t *irq_flag(struct dsa_drv *drv, unsigned slot)
{
	return drv->cr_host ? drv->cr_host + slot * RECORD_STRIDE + DSA_COMP_SIZE : &drv->irq[slot];
}

static uint32_t kernel_pasid(const struct dsa_drv *drv)
{
	return __atomic_load_n(&drv->pasid, __ATOMIC_RELAXED);
}

/* The engines' debug hook: accesses in the DMA API's address space (no PASID, or the
 * kernel PASID, which mirrors it) are checked against the live mappings. */
static void on_access(void *ctx, bool has_pasid, uint32_t pasid, uint64_t addr, uint64_t len,
		      bool write)
{
	struct dsa_drv *drv = ctx;

	if (has_pasid && pasid != kernel_pasid(drv))
		return;
	dma_debug_check_access(drv->dma, addr, len, write ? DMA_FROM_DEVICE : DMA_TO_DEVICE);
}

/* ---- probe and remove ------------------------------------------------------------------- */

static uint64_t pow2_at_least(uint64_t v)
{
	uint64_t p = 4096;

	while (p < v)
		p <<= 1;
	return p;
}

/* The completion interrupt: the descriptor of record `handle` has completed, its record
 * written before (or its write failed). Then the caller's handler, if it gave one. */
static void on_irq(void *ctx, unsigned wq, uint16_t handle)
{
	struct dsa_drv *drv = ctx;

	if (handle < drv->cr_size / RECORD_STRIDE)
		__atomic_store_n(irq_flag(drv, handle), 1, __ATOMIC_RELEASE);
	if (drv->user_irq)
		drv->user_irq(drv->user_irq_ctx, wq, handle);
}

static int pool_init(struct dsa_drv *drv, unsigned n)
{
	/* Whole lines: what submitters and waiters write (the free list and the states)
	 * shares none with what an engine reads. */
	drv->free_list = zalloc_lines(n * sizeof(*drv->free_list));
	drv->state = zalloc_lines(n);
	drv->irq = calloc(pow2_at_least((uint64_t)n * RECORD_STRIDE) / RECORD_STRIDE, 1);
	if (!drv->free_list || !drv->state || !drv->irq)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		drv->free_list[i] = n - 1 - i;
	drv->nfree = n;
	drv->records = n;
	pthread_mutex_init(&drv->pool_lock, NULL);
	return 0;
}

/* idxd_enable_system_pasid(): the default domain on a global PASID, or no PASID at all. */
static int try_pasid(struct dsa_drv *drv)
{
	uint32_t pasid = IOMMU_PASID_INVALID;
	int ret = dma_enable_pasid(drv->dma, &pasid);

	drv->pasid_status = dma_pasid_status(drv->dma);
	if (ret) {
		drv_log(drv, "no in-kernel DMA with PASID: %s (%d)", drv->pasid_status, ret);
		return ret;
	}
	__atomic_store_n(&drv->pasid, pasid, __ATOMIC_RELAXED);
	drv_log(drv, "kernel DMA with PASID %u", pasid);
	return 0;
}

static void drv_free(struct dsa_drv *drv)
{
	if (drv->free_list)
		pthread_mutex_destroy(&drv->pool_lock);
	free(drv->free_list);
	free(drv->state);
	free(drv->irq);
	free(drv);
}

int dsa_drv_probe(const struct dsa_drv_config *cfg, struct dsa_drv **out)
{
	struct dsa_config dcfg;
	struct dsa_drv *drv;
	unsigned records;
	int ret;

	if (!cfg || !out || !cfg->ep || !cfg->dma.dev || !cfg->dma.mem || !cfg->dma.alloc ||
	    cfg->records > RECORDS_MAX)
		return -EINVAL;
	drv = zalloc_lines(sizeof(*drv));
	if (!drv)
		return -ENOMEM;
	drv->cfg = *cfg;
	drv->user_irq = cfg->dsa.irq;
	drv->user_irq_ctx = cfg->dsa.irq_ctx;
	if (!drv->cfg.timeout_ns)
		drv->cfg.timeout_ns = TIMEOUT_DEFAULT;
	records = cfg->records ? cfg->records : RECORDS_DEFAULT;
	drv->pasid = IOMMU_PASID_INVALID;
	drv->pasid_status = "not requested";
	ret = pool_init(drv, records);
	if (!ret)
		ret = dma_dev_create(&cfg->dma, &drv->dma);
	if (ret) {
		drv_free(drv);
		return ret;
	}
	drv->cr_size = pow2_at_least((uint64_t)records * RECORD_STRIDE);
	ret = dma_alloc_coherent(drv->dma, drv->cr_size, &drv->cr_phys, &drv->cr_dma);
	if (ret)
		goto err_dma;
	drv->cr_host = mem_ptr(cfg->dma.mem, drv->cr_phys, drv->cr_size);
	/* As idxd: the PASID is settled before the WQs start taking descriptors. */
	if (cfg->use_pasid)
		try_pasid(drv);
	dcfg = cfg->dsa;
	dcfg.ep = cfg->ep;
	dcfg.access = dma_debug_enabled(drv->dma) ? on_access : NULL;
	dcfg.access_ctx = drv;
	dcfg.irq = on_irq;
	dcfg.irq_ctx = drv;
	ret = dsa_create(&dcfg, &drv->dsa);
	if (ret)
		goto err_coherent;
	*out = drv;
	return 0;

err_coherent:
	if (kernel_pasid(drv) != IOMMU_PASID_INVALID)
		dma_disable_pasid(drv->dma, kernel_pasid(drv));
	dma_free_coherent(drv->dma, drv->cr_size, drv->cr_phys, drv->cr_dma);
err_dma:
	dma_dev_destroy(drv->dma);
	drv_free(drv);
	return ret;
}

int dsa_drv_remove(struct dsa_drv *drv)
{
	int ret;

	if (!drv)
		return 0;
	dsa_destroy(drv->dsa);
	if (kernel_pasid(drv) != IOMMU_PASID_INVALID)
		dma_disable_pasid(drv->dma, kernel_pasid(drv));
	dma_free_coherent(drv->dma, drv->cr_size, drv->cr_phys, drv->cr_dma);
	ret = dma_dev_destroy(drv->dma);
	drv_free(drv);
	return ret;
}

struct dsa *dsa_drv_dsa(struct dsa_drv *drv)
{
	return drv ? drv->dsa : NULL;
}

struct dma_dev *dsa_drv_dma(struct dsa_drv *drv)
{
	return drv ? drv->dma : NULL;
}

uint32_t dsa_drv_pasid(const struct dsa_drv *drv)
{
	return drv ? kernel_pasid(drv) : IOMMU_PASID_INVALID;
}

const char *dsa_drv_pasid_status(const struct dsa_drv *drv)
{
	return drv ? drv->pasid_status : "no device";
}

int dsa_drv_disable_pasid(struct dsa_drv *drv)
{
	uint32_t pasid;
	int ret;

	if (!drv)
		return -EINVAL;
	pasid = kernel_pasid(drv);
	if (pasid == IOMMU_PASID_INVALID)
		return -ENOENT;
	__atomic_store_n(&drv->pasid, IOMMU_PASID_INVALID, __ATOMIC_RELAXED);
	ret = dma_disable_pasid(drv->dma, pasid);
	drv->pasid_status = dma_pasid_status(drv->dma);
	drv_log(drv, "kernel PASID %u disabled (%d)", pasid, ret);
	return ret;
}

int dsa_drv_enable_pasid(struct dsa_drv *drv)
{
	if (!drv)
		return -EINVAL;
	if (kernel_pasid(drv) != IOMMU_PASID_INVALID)
		return -EBUSY;
	return try_pasid(drv);
}

/* ---- submission and completion ------------------------------------------------------------ */

static int slot_get(struct dsa_drv *drv, unsigned *slot)
{
	int ret = 0;

	pthread_mutex_lock(&drv->pool_lock);
	if (!drv->nfree) {
		ret = -EBUSY;
	} else {
		*slot = drv->free_list[--drv->nfree];
		__atomic_store_n(&drv->state[*slot], SLOT_BUSY, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&drv->pool_lock);
	return ret;
}

static void slot_put(struct dsa_drv *drv, unsigned slot, int state)
{
	pthread_mutex_lock(&drv->pool_lock);
	__atomic_store_n(&drv->state[slot], (uint8_t)state, __ATOMIC_RELEASE);
	if (state == SLOT_FREE)
		drv->free_list[drv->nfree++] = slot;
	pthread_mutex_unlock(&drv->pool_lock);
}

static bool wq_ok(struct dsa_drv *drv, unsigned wq)
{
	return wq < dsa_num_wqs(drv->dsa);
}

int dsa_drv_submit(struct dsa_drv *drv, unsigned wq, struct dsa_desc *d, unsigned flags,
		   unsigned *ticket)
{
	uint64_t deadline = 0;
	unsigned slot;
	uint32_t pasid;
	int ret;

	if (!drv || !d || !ticket || (flags & ~DSA_DRV_RAW_PASID) || !wq_ok(drv, wq))
		return -EINVAL;
	ret = slot_get(drv, &slot);
	if (ret)
		return ret;
	memset(mem_ptr(drv->cfg.dma.mem, drv->cr_phys + slot * RECORD_STRIDE, DSA_COMP_SIZE), 0,
	       DSA_COMP_SIZE);
	__atomic_store_n(irq_flag(drv, slot), 0, __ATOMIC_RELAXED);
	d->completion = drv->cr_dma + slot * RECORD_STRIDE;
	d->op_flags |= DSA_F_CRAV | DSA_F_RCR | DSA_F_RCI;
	d->int_handle = (uint16_t)slot;
	if (!(flags & DSA_DRV_RAW_PASID)) {
		pasid = kernel_pasid(drv);
		/* Kernel DMA on VT-d runs with user privilege (PRIV clear). */
		d->pasid = pasid == IOMMU_PASID_INVALID ? 0 : (pasid | DSA_PASID_PV);
	}
	while ((ret = dsa_submit(drv->dsa, wq, d)) == -EAGAIN) {
		uint64_t t = now_ns();

		if (!deadline)
			deadline = t + drv->cfg.timeout_ns;
		else if (t >= deadline)
			break;
		sched_yield();
	}
	if (ret) {
		slot_put(drv, slot, SLOT_FREE);
		return ret == -EAGAIN ? -ETIMEDOUT : ret;
	}
	*ticket = slot;
	return 0;
}

static bool irq_came(struct dsa_drv *drv, unsigned ticket)
{
	return __atomic_load_n(irq_flag(drv, ticket), __ATOMIC_ACQUIRE);
}

/*
 * Poll the record, a slice at a time, until it is written; between slices look at the
 * interrupt: once it has come the record is final (the engine writes it first), so a
 * record still empty then was never written - its own write failed (the software-error
 * register says why). A record seen before its interrupt is waited for until the
 * interrupt comes (it follows at once): the record goes back to the pool only when the
 * engine is done with it, so a late interrupt cannot land on its next descriptor.
 * 0, -EIO (no record), -ETIMEDOUT.
 */
static int wait_record(struct dsa_drv *drv, unsigned ticket, struct dsa_completion *c)
{
	uint64_t cr = drv->cr_phys + ticket * RECORD_STRIDE, start = 0;
	int ret;

	/* The clock is read only once there is something to wait for: a record already
	 * written with its interrupt costs no clock read. */
	for (;;) {
		bool irq = irq_came(drv, ticket);

		ret = dsa_wait(drv->cfg.dma.mem, cr, irq ? 0 : WAIT_SLICE_NS, c);
		if (ret != -ETIMEDOUT)
			break;
		if (irq) {
			if (c)
				*c = (struct dsa_completion){0};
			return -EIO;
		}
		if (!start)
			start = now_ns() - WAIT_SLICE_NS;
		if (now_ns() - start >= drv->cfg.timeout_ns)
			return -ETIMEDOUT;
	}
	while (!ret && !irq_came(drv, ticket)) {
		if (!start)
			start = now_ns();
		if (now_ns() - start >= drv->cfg.timeout_ns)
			return -ETIMEDOUT;
		sched_yield();
	}
	return ret;
}

int dsa_drv_wait(struct dsa_drv *drv, unsigned ticket, struct dsa_completion *c)
{
	bool busy;
	int ret;

	if (!drv || ticket >= drv->records)
		return -EINVAL;
	/* Written under pool_lock, read without it: a ticket is waited for by the thread
	 * that holds it, after its own submission. */
	busy = __atomic_load_n(&drv->state[ticket], __ATOMIC_ACQUIRE) == SLOT_BUSY;
	if (!busy)
		return -EINVAL;
	ret = wait_record(drv, ticket, c);
	/* A record that never came may still be written: it is not handed out again. */
	slot_put(drv, ticket, ret == -ETIMEDOUT ? SLOT_LOST : SLOT_FREE);
	return ret;
}

int dsa_drv_status_errno(const struct dsa_completion *c)
{
	if (!c)
		return -EINVAL;
	switch (c->status) {
	case DSA_COMP_SUCCESS:
		return 0;
	case DSA_COMP_PAGE_FAULT:
		return -EFAULT;
	case DSA_COMP_DMA_ERROR:
		return c->error < 0 ? c->error : -EIO;
	default:
		return c->status >= DSA_COMP_INVALID_OPCODE ? -EINVAL : -EIO;
	}
}

int dsa_drv_drain(struct dsa_drv *drv)
{
	if (!drv)
		return -EINVAL;
	for (unsigned w = 0; w < dsa_num_wqs(drv->dsa); w++) {
		int ret = dsa_wq_drain(drv->dsa, w, drv->cfg.timeout_ns);

		if (ret)
			return ret;
	}
	return 0;
}
