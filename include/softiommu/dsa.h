/* SPDX-License-Identifier: MIT */
/*
 * softiommu DSA-like DMA engine: a PCIe function with work queues that accept 64-byte
 * descriptors (memory move, fill, compare, CRC-32C), in the spirit of Intel's Data Streaming
 * Accelerator but with this project's own documented layout.
 *
 * The device sits on a `struct pci_endpoint` (include/softiommu/pci.h) that has the PASID and
 * ATS capabilities. Every byte it moves goes through that endpoint - its device TLB and the
 * IOMMU behind it - with the descriptor's PASID (or without a PASID when PASID-valid is
 * clear), and the completion record is written by DMA with the same PASID. So a descriptor
 * can only touch what the IOMMU lets that (requester ID, PASID) touch; a translation fault
 * stops the operation and is reported in the completion record with the faulting address
 * and the bytes completed.
 *
 * Work queues and engines. The device has 1..DSA_MAX_WQS work queues (WQs); each WQ is a ring
 * of descriptors served by its own engine thread, which takes the descriptors in submission
 * order and completes each one (record and interrupt) before it starts the next. Different
 * WQs run in parallel. dsa_submit() is the ENQCMDS of this model: it copies the descriptor
 * into the WQ and answers "accepted" or "retry" (the WQ is full), and nothing else: all
 * checking happens in the engine, which reports a bad descriptor with an invalid-descriptor
 * status, as hardware does.
 *
 * Completion. With DSA_F_CRAV the descriptor names a 32-byte aligned completion-record
 * address (a device address, translated like the data). The engine writes the record when
 * the operation fails, or always with DSA_F_RCR, as one 32-byte DMA write inside a cache
 * line, which lands as a unit for a reader polling its first 8 bytes (pci.h), so software
 * that sees a non-zero status sees the whole record. Software zeroes the record before
 * submitting and polls it (dsa_wait()). With DSA_F_RCI the engine then calls the configured
 * interrupt callback. An error that cannot be reported in a record (no DSA_F_CRAV, or the
 * record's own write failed) is latched in the software-error register (dsa_read_swerr()).
 *
 * Errors of the functions here are negative errno values.
 *
 * Locking. Each WQ has one mutex (its ring) shared by submitters and its engine; counters are
 * kept per WQ, each written by one thread at a time (its engine, or a submitter under the
 * WQ's mutex) and read with relaxed loads; the per-PASID counters are atomic; the
 * software-error register has its own mutex. dsa_submit(), dsa_wait(),
 * the counters and the software-error functions may be called from any thread at any time.
 * dsa_wq_enable()/dsa_wq_disable() for one WQ must not race each other, and dsa_destroy()
 * must not race anything. The engines call the interrupt and access callbacks without any
 * lock of the device held.
 */
#ifndef SOFTIOMMU_DSA_H
#define SOFTIOMMU_DSA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mem;
struct pci_endpoint;

/* ==== The descriptor ==========================================================================
 *
 * 64 bytes, little-endian, all reserved fields zero:
 *
 *   offset  size  field
 *        0     4  pasid       bits 19:0 PASID, 29:20 reserved, 30 PRIV, 31 PV (PASID valid)
 *        4     4  op_flags    bits 23:0 flags (DSA_F_*), bits 31:24 opcode (DSA_OP_*)
 *        8     8  completion  completion-record address, 32-byte aligned (with DSA_F_CRAV)
 *       16     8  src         source: memmove, compare (first source), crc32c
 *       24     8  dst         destination: memmove, fill; second source of compare
 *       32     4  size        transfer size in bytes, 1..max_transfer_size
 *       36     2  int_handle  passed to the interrupt callback (DSA_F_RCI)
 *       38     2  reserved
 *       40     8  pattern     fill: the 8-byte pattern; crc32c: the seed in bits 31:0
 *                             (bits 63:32 reserved); memmove, compare: reserved
 *       48    16  reserved
 *
 * The no-op (DSA_OP_NOOP) moves nothing and ignores src, dst, size and pattern; it is a
 * marker whose completion says that every earlier descriptor of its WQ has completed.
 *
 * PRIV asks for privileged-mode requests (the PASID prefix's PMR bit). Kernel DMA on VT-d
 * uses user privilege (PRIV clear): first-stage tables set up by the DMA API are user pages,
 * as Linux's idxd driver notes, so PRIV is for tables that grant supervisor access.
 */
struct dsa_desc {
	uint32_t pasid;
	uint32_t op_flags;
	uint64_t completion;
	uint64_t src;
	uint64_t dst;
	uint32_t size;
	uint16_t int_handle;
	uint16_t rsvd0;
	uint64_t pattern;
	uint64_t rsvd1[2];
};

#define DSA_DESC_SIZE 64

/* struct dsa_desc.pasid */
#define DSA_PASID_MASK 0xfffffu
#define DSA_PASID_RSVD 0x3ff00000u
#define DSA_PASID_PRIV (1u << 30)
#define DSA_PASID_PV   (1u << 31)

/* Opcodes (struct dsa_desc.op_flags bits 31:24). */
#define DSA_OP_NOOP    0x00
#define DSA_OP_MEMMOVE 0x03 /* copy size bytes from src to dst; the ranges may overlap */
#define DSA_OP_FILL    0x04 /* write the 8-byte pattern repeatedly over size bytes at dst */
#define DSA_OP_COMPARE 0x05 /* compare size bytes at src and dst: result 0 equal, 1 not */
#define DSA_OP_CRC32C  0x10 /* CRC-32C (Castagnoli) of size bytes at src, seeded: see below */

/*
 * Flags (struct dsa_desc.op_flags bits 23:0). Any other bit is an invalid-flags error.
 * DSA_F_BOF (block on fault: wait for the OS to resolve a page fault through a page request)
 * is defined because descriptors carry it, but page requests are not modelled: a descriptor
 * with it set completes with DSA_COMP_INVALID_FLAGS. DSA_F_RCR needs DSA_F_CRAV.
 */
#define DSA_F_BOF  (1u << 1) /* block on fault (unsupported here) */
#define DSA_F_CRAV (1u << 2) /* completion-record address valid */
#define DSA_F_RCR  (1u << 3) /* request a completion record also on success */
#define DSA_F_RCI  (1u << 4) /* request a completion interrupt */
#define DSA_F_MASK (DSA_F_BOF | DSA_F_CRAV | DSA_F_RCR | DSA_F_RCI)

/*
 * CRC-32C: the Castagnoli polynomial 0x1EDC6F41 in its reflected form 0x82F63B78 (iSCSI,
 * ext4, Intel's crc32 instruction), with the usual pre- and post-inversion, chained through
 * the seed: crc32c(seed, data) = ~update(~seed, data). Seed 0 starts a new CRC; passing a
 * returned CRC as the seed of the next part gives the CRC of the concatenation. The CRC of
 * the nine bytes "123456789" with seed 0 is 0xE3069283.
 */
uint32_t dsa_crc32c(uint32_t seed, const void *buf, size_t len);

/* Build a descriptor: zeroed, with the opcode, flags and PASID set (PV when `has_pasid`). */
static inline void dsa_desc_init(struct dsa_desc *d, unsigned op, unsigned flags, bool has_pasid,
				 uint32_t pasid, bool priv)
{
	*d = (struct dsa_desc){0};
	d->op_flags = ((uint32_t)op << 24) | (flags & 0xffffffu);
	if (has_pasid)
		d->pasid = (pasid & DSA_PASID_MASK) | DSA_PASID_PV | (priv ? DSA_PASID_PRIV : 0);
}

static inline unsigned dsa_desc_op(const struct dsa_desc *d)
{
	return d->op_flags >> 24;
}

static inline unsigned dsa_desc_flags(const struct dsa_desc *d)
{
	return d->op_flags & 0xffffffu;
}

/* ==== The completion record ===================================================================
 *
 * 32 bytes at a 32-byte aligned device address:
 *
 *   offset  size  field
 *        0     1  status           DSA_COMP_*; 0 until the engine writes the record
 *        1     1  result           compare: 0 equal, 1 different; memmove: 1 if the copy ran
 *                                  backwards (overlapping, dst above src), so that on a fault
 *                                  the completed bytes are the last ones
 *        2     1  fault_info       DSA_FI_*: which access failed
 *        3     1  fault_reason     the IOMMU's fault reason code for that access (0 if none)
 *        4     4  bytes_completed  bytes processed: the size on success, the bytes done
 *                                  before the failure otherwise (memmove: written at dst;
 *                                  fill: written; compare, crc32c: read); for a compare that
 *                                  found a difference, the offset of the first one
 *        8     8  fault_addr       device address of the access that failed
 *       16     4  crc              crc32c: the CRC (also of the completed bytes on a fault)
 *       20     4  error            DSA_COMP_DMA_ERROR: the endpoint's error (a negative errno)
 *       24     8  reserved
 */
struct dsa_completion {
	uint8_t status;
	uint8_t result;
	uint8_t fault_info;
	uint8_t fault_reason;
	uint32_t bytes_completed;
	uint64_t fault_addr;
	uint32_t crc;
	int32_t error;
	uint64_t rsvd;
};

#define DSA_COMP_SIZE  32
#define DSA_COMP_ALIGN 32

/* struct dsa_completion.status */
#define DSA_COMP_NONE		 0x00 /* not written yet */
#define DSA_COMP_SUCCESS	 0x01
#define DSA_COMP_PAGE_FAULT	 0x03 /* a translation was refused or lacked the permission */
#define DSA_COMP_DMA_ERROR	 0x04 /* another DMA failure: see `error` */
#define DSA_COMP_INVALID_OPCODE	 0x10
#define DSA_COMP_INVALID_FLAGS	 0x11 /* unknown flag, BOF, RCR without CRAV */
#define DSA_COMP_RESERVED	 0x12 /* a reserved field is not zero */
#define DSA_COMP_INVALID_SIZE	 0x13 /* 0, above the maximum, or a range that wraps 2^64 */
#define DSA_COMP_INVALID_CR_ADDR 0x14 /* completion record not 32-byte aligned */
#define DSA_COMP_INVALID_PASID	 0x15 /* PASID beyond the width, PASID or PRIV not enabled */

/*
 * struct dsa_completion.fault_info. DSA_FI_WRITE: the failing access was a write (else a
 * read). DSA_FI_SRC2: it was compare's second source (dst). DSA_FI_AT_SHIFT: bits 3:2 hold
 * the PCIe address type of the failing request (enum pci_at).
 */
#define DSA_FI_WRITE	(1u << 0)
#define DSA_FI_SRC2	(1u << 1)
#define DSA_FI_AT_SHIFT 2

/* ==== The device ============================================================================== */

#define DSA_MAX_WQS	      8
#define DSA_MAX_WQ_SIZE	      4096
#define DSA_DEFAULT_WQ_SIZE   64
#define DSA_DEFAULT_MAX_XFER  (2u << 20)
#define DSA_MAX_XFER_LIMIT    (1u << 30)
#define DSA_PASID_STATS_SLOTS 64 /* PASIDs counted separately; more share one slot */

struct dsa;

/*
 * The debug hook: called by an engine before each DMA it issues, with what it is about to
 * access (device address range, direction, PASID). A driver points it at its DMA layer's
 * debug checks (dma_debug_check_access()), so a device touching an IOVA that is not mapped
 * is reported even when a stale translation would let the access through. It only observes.
 */
typedef void (*dsa_access_fn)(void *ctx, bool has_pasid, uint32_t pasid, uint64_t addr,
			      uint64_t len, bool write);

/* The completion interrupt (DSA_F_RCI): the WQ and the descriptor's int_handle. */
typedef void (*dsa_irq_fn)(void *ctx, unsigned wq, uint16_t int_handle);

struct dsa_config {
	struct pci_endpoint *ep; /* the function the engines do DMA through (required; not owned) */
	unsigned num_wqs;	 /* 1..DSA_MAX_WQS; 0 means 1 */
	/* Descriptors each WQ holds, 1..DSA_MAX_WQ_SIZE; 0 means DSA_DEFAULT_WQ_SIZE. */
	uint32_t wq_size[DSA_MAX_WQS];
	/* Largest transfer size, 1..DSA_MAX_XFER_LIMIT; 0 means DSA_DEFAULT_MAX_XFER. */
	uint32_t max_transfer_size;
	dsa_irq_fn irq;
	void *irq_ctx;
	dsa_access_fn access;
	void *access_ctx;
	bool timing; /* measure the engines' busy time (dsa_stats.busy_ns): two clock reads
		      * per descriptor */
};

/*
 * dsa_create() - make the device on `cfg->ep` (the config is copied) and start one engine
 * thread per WQ, every WQ enabled. -EINVAL for NULL pointers, a missing endpoint, or sizes
 * outside the limits; -ENOMEM; the error of pthread_create() as a negative errno.
 */
int dsa_create(const struct dsa_config *cfg, struct dsa **out);

/*
 * dsa_destroy() - disable every WQ (see dsa_wq_disable()) and free the device. The endpoint
 * is left alone. NULL is accepted.
 */
void dsa_destroy(struct dsa *dsa);

/* dsa_endpoint() - the function the device does DMA through. */
struct pci_endpoint *dsa_endpoint(const struct dsa *dsa);

/* dsa_num_wqs() / dsa_wq_size() - the geometry (0 for a WQ that does not exist). */
unsigned dsa_num_wqs(const struct dsa *dsa);
uint32_t dsa_wq_size(const struct dsa *dsa, unsigned wq);

/* dsa_max_transfer_size() - the largest `size` a descriptor may have. */
uint32_t dsa_max_transfer_size(const struct dsa *dsa);

/*
 * dsa_submit() - ENQCMDS: copy the 64-byte descriptor into WQ `wq`. 0 when accepted;
 * -EAGAIN ("retry") when the WQ is full; -ENODEV when the WQ is disabled; -EINVAL for NULL
 * pointers or a WQ that does not exist. Nothing about the descriptor itself is checked
 * here. Takes the WQ's mutex; wakes its engine.
 */
int dsa_submit(struct dsa *dsa, unsigned wq, const struct dsa_desc *desc);

/*
 * dsa_wq_disable() - stop accepting descriptors on `wq` (dsa_submit() says -ENODEV), let the
 * engine complete every descriptor already accepted, and stop its thread.
 * dsa_wq_enable() - start the engine thread again and accept descriptors.
 * Both return 0 when the WQ is already in that state; -EINVAL for NULL or a WQ that does not
 * exist; dsa_wq_enable() the error of pthread_create() as a negative errno.
 */
int dsa_wq_disable(struct dsa *dsa, unsigned wq);
int dsa_wq_enable(struct dsa *dsa, unsigned wq);

/*
 * dsa_wq_drain() - wait until every descriptor accepted by `wq` before the call has been
 * completed, at most `timeout_ns`. 0, -ETIMEDOUT, -EINVAL for NULL or a WQ that does not
 * exist. Returns at once for a disabled WQ (it has nothing in flight).
 */
int dsa_wq_drain(struct dsa *dsa, unsigned wq, uint64_t timeout_ns);

/*
 * dsa_wait() - poll the completion record at physical address `cr_pa` of `mem` (the CPU's
 * view of the record's memory) until its status is not DSA_COMP_NONE, at most `timeout_ns`
 * (spinning briefly, then yielding, then sleeping). 0 with the record in *out (may be NULL);
 * -ETIMEDOUT; -EINVAL for a NULL mem or a record that is not 32-byte aligned; -EFAULT for
 * a record outside memory. The status load has acquire semantics, pairing with the release
 * store that completes the engine's write of the record.
 */
int dsa_wait(struct mem *mem, uint64_t cr_pa, uint64_t timeout_ns, struct dsa_completion *out);

/* ==== Counters ================================================================================ */

struct dsa_stats {
	uint64_t submitted;	/* descriptors dsa_submit() accepted */
	uint64_t retries;	/* dsa_submit() calls answered -EAGAIN */
	uint64_t completed;	/* descriptors the engines finished, with any status */
	uint64_t success;	/* ... with DSA_COMP_SUCCESS */
	uint64_t page_faults;	/* ... with DSA_COMP_PAGE_FAULT */
	uint64_t dma_errors;	/* ... with DSA_COMP_DMA_ERROR */
	uint64_t invalid;	/* ... with an invalid-descriptor status (0x10 and above) */
	uint64_t bytes;		/* bytes completed (compare counts each source once) */
	uint64_t records;	/* completion records written */
	uint64_t record_errors; /* completion records that could not be written */
	uint64_t interrupts;	/* interrupt callbacks made */
	uint64_t by_op[5];	/* completed per opcode: NOOP, MEMMOVE, FILL, COMPARE, CRC32C */
	uint64_t swerr_latched; /* errors that went to the software-error register */
	uint64_t busy_ns;	/* with cfg.timing: wall ns from taking each descriptor to
				 * its completion, summed over the engines */
};

/* dsa_get_stats() - the device's counters (the sum over its WQs). -EINVAL for NULL. */
int dsa_get_stats(struct dsa *dsa, struct dsa_stats *out);

/*
 * dsa_engine_cpu_ns() - CPU time the engine threads have used since creation (their thread
 * CPU clocks; the time of engines already stopped is kept), busy or polling for work. 0 if
 * the host cannot tell. Takes each WQ's mutex in turn.
 */
uint64_t dsa_engine_cpu_ns(struct dsa *dsa);

/*
 * Per PASID (descriptors without PV count under has_pasid = false). The first
 * DSA_PASID_STATS_SLOTS distinct PASIDs seen get their own counters; the rest are added to
 * one slot reported with `other` set.
 */
struct dsa_pasid_stats {
	bool has_pasid;
	bool other; /* the shared slot of PASIDs that found no free slot */
	uint32_t pasid;
	uint64_t descriptors; /* descriptors completed */
	uint64_t bytes;	      /* bytes completed */
	uint64_t faults;      /* DSA_COMP_PAGE_FAULT and DSA_COMP_DMA_ERROR completions */
};

/*
 * dsa_get_pasid_stats() - the counters of one PASID (or of requests without PASID).
 * 0 and *out; -ENOENT if the engines have not completed a descriptor with it (or it went to
 * the shared slot); -EINVAL for NULL.
 */
int dsa_get_pasid_stats(struct dsa *dsa, bool has_pasid, uint32_t pasid,
			struct dsa_pasid_stats *out);

/*
 * dsa_list_pasid_stats() - copy up to `max` slots in use (the shared slot last) and return
 * how many are in use (possibly more than `max`); -EINVAL for a NULL dsa, or a NULL `out`
 * with `max` > 0.
 */
int dsa_list_pasid_stats(struct dsa *dsa, struct dsa_pasid_stats *out, unsigned max);

/* ==== The software-error register =============================================================
 *
 * Latches the first error that no completion record reports: a failed descriptor without
 * DSA_F_CRAV, or a completion record whose write failed (then `record_fault` is set and the
 * fault fields describe the record's write). Later errors only set `overflow` until the
 * register is cleared.
 */
struct dsa_swerr {
	bool valid;
	bool overflow;
	bool record_fault; /* the error is the completion record's own write */
	unsigned wq;
	uint8_t status; /* DSA_COMP_* of the descriptor */
	uint8_t opcode;
	uint8_t fault_info;
	uint8_t fault_reason;
	uint32_t desc_pasid; /* the descriptor's pasid field as submitted */
	uint64_t completion; /* the descriptor's completion-record address */
	uint64_t fault_addr;
	int32_t error; /* the endpoint's error for the failed access, 0 if none */
};

/* dsa_read_swerr() - copy the register. dsa_clear_swerr() - clear it. -EINVAL for NULL. */
int dsa_read_swerr(struct dsa *dsa, struct dsa_swerr *out);
int dsa_clear_swerr(struct dsa *dsa);

/* dsa_status_name() - a short name for a DSA_COMP_* status ("success", "page-fault", ...). */
const char *dsa_status_name(unsigned status);

#ifdef __cplusplus
}
#endif
#endif
