/* SPDX-License-Identifier: MIT */
/*
 * softiommu DSA kernel driver: the DSA-like engine (dsa.h) driven the way Linux's idxd driver
 * drives Intel DSA for in-kernel DMA - through the DMA API (dma.h) only, with no knowledge
 * of the IOMMU behind it.
 *
 * Probe makes the device's DMA handle (dma_dev_create), allocates its completion records
 * as one coherent buffer, and - when asked to use a PASID, as idxd does when SVA is on -
 * tries dma_enable_pasid(). On success every descriptor the driver builds carries that
 * kernel PASID, with PRIV clear: kernel DMA on VT-d uses user privilege, because the
 * default domain's first-stage entries are user pages (the idxd note). On failure the
 * reason is logged ("no in-kernel DMA with PASID: ...") and the driver carries on without a
 * PASID, which reaches the same mappings through the requester ID. Buffers are mapped with
 * the ordinary DMA API either way; the PASID is only the tag the descriptors carry.
 *
 * With the DMA layer's debug checks on (dma_dev_config.debug), the engine calls
 * dma_debug_check_access() before each DMA it issues with the kernel PASID or without a
 * PASID, so a device touching an IOVA that is not mapped (or no longer) is reported.
 *
 * Errors are negative errno values.
 *
 * Locking: every function may be called from many threads at once, except that
 * dsa_drv_remove() must not overlap any other call. Completion records come from a pool
 * with its own mutex; submissions go through the WQ's lock (dsa.h).
 */
#ifndef SOFTIOMMU_DSA_DRIVER_H
#define SOFTIOMMU_DSA_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include <softiommu/dma.h>
#include <softiommu/dsa.h>
#include <softiommu/pci.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dsa_drv;

/* A log line from the driver (probe results, the PASID fallback). */
typedef void (*dsa_drv_log_fn)(void *ctx, const char *line);

struct dsa_drv_config {
	struct pci_endpoint *ep;   /* the device's function (required) */
	struct dma_dev_config dma; /* the DMA handle to make: dev, mem, alloc required */
	bool use_pasid;		   /* try dma_enable_pasid() */
	struct dsa_config dsa;	   /* WQs, transfer size; ep and access are set here, and the
				    * interrupt is the driver's (it calls dsa.irq after its own) */
	unsigned records;	   /* completion records, 1..4096; 0 = 256 */
	uint64_t timeout_ns;	   /* bound of every wait; 0 = 1 s */
	dsa_drv_log_fn log;	   /* NULL: one line on stderr */
	void *log_ctx;
};

/*
 * dsa_drv_probe() - make the DMA handle, the completion records, the device (its engines
 * start) and try the kernel PASID. -EINVAL NULL pointers, a missing endpoint, device,
 * memory or allocator, or records above 4096; dma_dev_create()'s, dma_alloc_coherent()'s
 * and dsa_create()'s errors. Nothing is left behind on error. A refused kernel PASID is
 * not an error (see above).
 */
int dsa_drv_probe(const struct dsa_drv_config *cfg, struct dsa_drv **out);

/*
 * dsa_drv_remove() - disable the WQs (they finish what they hold), disable the kernel
 * PASID, free the records and destroy the DMA handle. Returns 0, or dma_dev_destroy()'s
 * -EBUSY when mappings were left (they are reported with debugging on). NULL is 0.
 */
int dsa_drv_remove(struct dsa_drv *drv);

/* The parts, for callers that need them (tests, traffic, the report). */
struct dsa *dsa_drv_dsa(struct dsa_drv *drv);
struct dma_dev *dsa_drv_dma(struct dsa_drv *drv);

/* dsa_drv_pasid() - the kernel PASID the descriptors carry, or IOMMU_PASID_INVALID. */
uint32_t dsa_drv_pasid(const struct dsa_drv *drv);

/* dsa_drv_pasid_status() - why the driver has (or has not) a kernel PASID, in words. */
const char *dsa_drv_pasid_status(const struct dsa_drv *drv);

/*
 * dsa_drv_disable_pasid() - stop using the kernel PASID and give it back
 * (dma_disable_pasid()); later descriptors go without a PASID. -ENOENT if there is none.
 * Descriptors already submitted with it may fault: drain first (dsa_drv_drain).
 */
int dsa_drv_disable_pasid(struct dsa_drv *drv);

/*
 * dsa_drv_enable_pasid() - try the kernel PASID again (dma_enable_pasid()), after
 * dsa_drv_disable_pasid() or a probe that went without one; on success later descriptors
 * carry it, on failure the reason is logged as at probe and the driver carries on without.
 * 0; -EINVAL NULL; -EBUSY the driver already has its kernel PASID; dma_enable_pasid()'s
 * errors. dsa_drv_enable_pasid() and dsa_drv_disable_pasid() must not race each other.
 */
int dsa_drv_enable_pasid(struct dsa_drv *drv);

/* ---- asynchronous use: DMA addresses, one completion record per descriptor --------------- */

/* dsa_drv_submit() flags */
/* Keep the descriptor's pasid field: tests, and scenarios that submit without PASID on an
 * engine that has one, or with a kernel PASID already disabled (softiommu run). */
#define DSA_DRV_RAW_PASID (1u << 0)

/*
 * dsa_drv_submit() - take a completion record, point the descriptor at it (DSA_F_CRAV |
 * DSA_F_RCR) and ask for the completion interrupt (DSA_F_RCI, int_handle the record's
 * number: the driver takes the interrupt, then calls cfg.dsa.irq if given), set its PASID (the
 * kernel PASID with PRIV clear, or none) unless DSA_DRV_RAW_PASID, and submit it to WQ `wq`,
 * retrying while the WQ is full (up to the timeout). *ticket names the record for dsa_drv_wait().
 * The data addresses in `d` are DMA addresses the caller mapped. -EINVAL NULL pointers, unknown
 * flags or a WQ that does not exist; -EBUSY no free completion record; -ETIMEDOUT the WQ stayed
 * full; dsa_submit()'s -ENODEV.
 */
int dsa_drv_submit(struct dsa_drv *drv, unsigned wq, struct dsa_desc *d, unsigned flags,
		   unsigned *ticket);

/*
 * dsa_drv_wait() - wait for the descriptor of `ticket` and give its record back to the
 * pool. 0 with the record in *c (may be NULL); -EIO the descriptor completed (its
 * interrupt came) without a record - the record's own write failed, as it does with a
 * PASID the IOMMU no longer knows; the software-error register says why
 * (dsa_read_swerr) and *c is zeroed; -ETIMEDOUT (the record stays taken: the device may
 * still write it); -EINVAL a ticket that is not in flight.
 */
int dsa_drv_wait(struct dsa_drv *drv, unsigned ticket, struct dsa_completion *c);

/*
 * dsa_drv_status_errno() - a completion status as an errno: 0 success, -EFAULT page fault,
 * the record's error for a DMA error, -EINVAL an invalid descriptor, -EIO otherwise.
 */
int dsa_drv_status_errno(const struct dsa_completion *c);

/* dsa_drv_drain() - wait until every WQ has completed what it was given, each for at most
 * the driver's timeout. 0; -EINVAL for NULL; -ETIMEDOUT from the first WQ that did not. */
int dsa_drv_drain(struct dsa_drv *drv);

/* ---- synchronous helpers: CPU physical addresses, mapped and unmapped around the work ----- */

/*
 * Each maps its buffers with dma_map_single() in the direction of the transfer, splits the
 * work into descriptors of at most the device's maximum transfer size, submits them to WQ
 * 0, waits, unmaps, and returns 0 or the first failure: -EFAULT (a page fault; the rest is
 * not attempted), a DMA error, the map errors of dma_map_single(), -ETIMEDOUT, or -EINVAL
 * for NULL or len 0. `c`, when not NULL, receives the last record.
 *  - dsa_drv_memmove(): copy len bytes (the ranges may overlap only when they fit one
 *    descriptor: memmove semantics hold within a descriptor);
 *  - dsa_drv_fill(): the 8-byte pattern repeated;
 *  - dsa_drv_compare(): *diff = offset of the first different byte, or -1 when equal;
 *  - dsa_drv_crc32c(): *crc = CRC-32C of the bytes, chained from `seed` (dsa_crc32c()).
 */
int dsa_drv_memmove(struct dsa_drv *drv, uint64_t dst, uint64_t src, uint64_t len,
		    struct dsa_completion *c);
int dsa_drv_fill(struct dsa_drv *drv, uint64_t dst, uint64_t pattern, uint64_t len,
		 struct dsa_completion *c);
int dsa_drv_compare(struct dsa_drv *drv, uint64_t a, uint64_t b, uint64_t len, int64_t *diff,
		    struct dsa_completion *c);
int dsa_drv_crc32c(struct dsa_drv *drv, uint64_t src, uint64_t len, uint32_t seed, uint32_t *crc,
		   struct dsa_completion *c);

#ifdef __cplusplus
}
#endif
#endif
