/* SPDX-License-Identifier: MIT */
/*
 * softiommu VT-d driver: runs one Intel VT-d remapping unit for the IOMMU core.
 *
 * The driver reaches its unit the way a kernel driver reaches silicon: 32- and 64-bit
 * register accesses through `struct intel_iommu_mmio` (any implementation: the VT-d model's
 * vtd_mmio_read/vtd_mmio_write, a trace shim, an emulator's bus) and the structures it
 * writes into physical memory taken from a `struct mem_alloc` (root and context tables,
 * PASID directories and tables, page tables, the invalidation queue and its status words).
 * Field layouts come from <softiommu/vtd_regs.h>; the driver knows nothing else of the
 * model.
 *
 * What it does (design.md section 3; Linux's drivers/iommu/intel is the reference):
 *  - probe from CAP/ECAP, root table latched with SRTP, queued invalidation (256-bit
 *    descriptors in scalable mode) or register-based invalidation on legacy units without
 *    QI, a global flush, then translation enabled; every GSTS poll is bounded;
 *  - scalable mode: one context entry per device (PASID directory, DTE with ATS, PASIDE
 *    with PASID, RID_PASID = 0), the RID attachment being the PASID-0 entry; legacy mode:
 *    context entries with the second-stage table (TT 00/01) or pass-through (TT 10), and
 *    no PASIDs;
 *  - paging domains on the first stage (x86-64 4/5-level) or the second stage (AW 39/48/57),
 *    the static identity domain (pass-through entries, DID 1 as Linux's FLPT_DEFAULT_DID:
 *    identity translations are the same for everyone, so sharing a tag is correct and
 *    attaching identity never needs a domain ID), and the static blocked domain
 *    (tear-down: Present cleared, PASID cache, IOTLB and device TLB invalidated, entry
 *    zeroed); a present entry is never rewritten: replace is tear-down then set-up, and
 *    every step that can fail runs before the tear-down, so a failed replace leaves the
 *    old configuration;
 *  - per-domain cache tags, one per (unit, DID, PASID) and one per (ATS device, PASID)
 *    where the domain is attached; iotlb_sync and flush_iotlb_all walk them and submit
 *    batches of descriptors, each closed by one invalidation wait.
 *
 * Errors are negative errno values.
 *
 * Locking: a unit may be used from many threads. Descriptor submission is serialised per
 * unit (a mutex held from the first descriptor written to the end of the wait); each
 * domain has a mutex for its cache tags and domain IDs, taken before the unit's; the core
 * serialises attach operations per device. The fault-injection and statistics calls may
 * be made at any time.
 */
#ifndef SOFTIOMMU_INTEL_IOMMU_H
#define SOFTIOMMU_INTEL_IOMMU_H

#include <stdbool.h>
#include <stdint.h>

#include <softiommu/iommu.h>
#include <softiommu/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

struct intel_iommu;

/*
 * The register window. `size` is 4 or 8 and `offset` a multiple of it; both return 0 or a
 * negative errno. Required; called from whatever thread drives the unit.
 */
struct intel_iommu_mmio {
	int (*read)(void *ctx, uint64_t offset, unsigned size, uint64_t *val);
	int (*write)(void *ctx, uint64_t offset, unsigned size, uint64_t val);
	void *ctx;
};

/* ---- fault injection -------------------------------------------------------------------- */

/*
 * The invalidations a test can make the driver leave out, one kind at a time, to show that
 * the hardware's checker notices each missing kind.
 */
enum intel_iommu_inv_kind {
	INTEL_IOMMU_INV_NONE = 0,     /* leave nothing out */
	INTEL_IOMMU_INV_PASID_CACHE,  /* PASID-cache invalidation (type 7) */
	INTEL_IOMMU_INV_IOTLB,	      /* IOTLB invalidation (type 2, and IOTLB_REG) */
	INTEL_IOMMU_INV_PIOTLB,	      /* PASID-based IOTLB invalidation (type 6) */
	INTEL_IOMMU_INV_DEVTLB,	      /* device-TLB invalidation without PASID (type 3) */
	INTEL_IOMMU_INV_PDEVTLB,      /* PASID-based device-TLB invalidation (type 8) */
	INTEL_IOMMU_INV_CONTEXT,      /* context-cache invalidation (type 1, and CCMD) */
	INTEL_IOMMU_INV_WRITE_BUFFER, /* GCMD.WBF, and the global flush at probe */
	INTEL_IOMMU_INV_NR,
};

/* Which table a paging domain allocated without a stage flag gets. */
enum intel_iommu_stage {
	INTEL_IOMMU_STAGE_AUTO = 0, /* first stage when the unit has it (as Linux), else second */
	INTEL_IOMMU_STAGE_FIRST,    /* first stage; second stage when the unit lacks it */
	INTEL_IOMMU_STAGE_SECOND,   /* second stage; first stage when the unit lacks it */
};

#define INTEL_IOMMU_BATCH_MAX	    64	   /* descriptors per invalidation wait, at most */
#define INTEL_IOMMU_BATCH_DEFAULT   16	   /* as Linux's QI_MAX_BATCHED_DESC_COUNT */
#define INTEL_IOMMU_POLL_DEFAULT    100000 /* status polls before a wait gives up */
#define INTEL_IOMMU_QUEUE_ENTRIES   256	   /* invalidation-queue slots by default */
#define INTEL_IOMMU_QUEUE_PAGES_MAX 128	   /* 2^IQA.QS with QS at its largest, 7 */

struct intel_iommu_config {
	struct intel_iommu_mmio mmio; /* required */
	struct mem_alloc *alloc;      /* required: every structure the driver writes */
	const char *name;	      /* for messages; copied; NULL = "dmar" */
	enum intel_iommu_stage default_stage;
	unsigned batch;	     /* descriptors per wait, 1..INTEL_IOMMU_BATCH_MAX; 0 = default */
	unsigned poll_limit; /* polls of a status word or GSTS before -ETIMEDOUT; 0 = default */
	bool fs_5level;	     /* first-stage tables with 5 levels (needs CAP.FL5LP), else 4 */
	enum intel_iommu_inv_kind skip; /* fault injection from the start (see below) */
	bool quiet;			/* do not print warnings on stderr */
	/* Invalidation-queue size in 4 KiB pages (IQA.QS = log2 of it): a power of two,
	 * 1..INTEL_IOMMU_QUEUE_PAGES_MAX; a page holds 128 descriptors of 256 bits (scalable
	 * mode) or 256 of 128 bits. 0 = INTEL_IOMMU_QUEUE_ENTRIES slots. */
	unsigned queue_pages;
};

/*
 * intel_iommu_create() - probe the unit behind `cfg->mmio` and register it with `core`.
 * Reads VER/CAP/ECAP, turns translation off if it was on, installs an empty root table
 * (SRTP), enables queued invalidation when the unit has it, flushes every cache globally,
 * enables translation and registers the unit (max_pasids from ECAP.PSS in scalable mode,
 * 0 in legacy mode). No device is attached yet: iommu_probe_device() does that.
 * -EINVAL NULL or invalid arguments (no mmio ops, no allocator, batch out of range,
 * queue_pages not a power of two up to INTEL_IOMMU_QUEUE_PAGES_MAX);
 * -ENODEV the registers make no sense (VER 0, scalable mode without QI, no usable SAGAW,
 * translation cannot be turned off); -ETIMEDOUT a GSTS bit did not follow its command
 * within the poll limit; -ENOMEM; -EIO a register access failed; the core's errors.
 * On error nothing stays allocated and the unit is left with translation disabled.
 */
int intel_iommu_create(struct iommu_core *core, const struct intel_iommu_config *cfg,
		       struct intel_iommu **out);

/*
 * intel_iommu_destroy() - unregister the unit, disable translation and queued invalidation
 * and free every structure. -EBUSY (nothing changes) while devices are probed onto it or a
 * domain still holds one of its domain IDs. NULL is 0.
 */
int intel_iommu_destroy(struct intel_iommu *iommu);

/* intel_iommu_device() - the unit as the core knows it (for iommu_probe_device). */
struct iommu_device *intel_iommu_device(struct intel_iommu *iommu);

/* intel_iommu_is_scalable() - true when the unit runs in scalable mode (ECAP.SMTS). */
bool intel_iommu_is_scalable(const struct intel_iommu *iommu);

/* intel_iommu_root_table() - physical address of the root table (for tools and tests). */
uint64_t intel_iommu_root_table(const struct intel_iommu *iommu);

/*
 * intel_iommu_set_skip() - from now on leave out every invalidation of `kind` (NONE: none).
 * Left-out descriptors are counted in intel_iommu_stats.skipped. -EINVAL unknown kind or
 * NULL. Lock-free.
 */
int intel_iommu_set_skip(struct intel_iommu *iommu, enum intel_iommu_inv_kind kind);

/* ---- statistics and reports --------------------------------------------------------------- */

struct intel_iommu_stats {
	uint64_t desc[16];		      /* descriptors submitted, by type (1..9) */
	uint64_t waits;			      /* invalidation waits (one closes each batch) */
	uint64_t skipped[INTEL_IOMMU_INV_NR]; /* left out by fault injection, by kind */
	uint64_t write_buffer_flushes;	      /* GCMD.WBF commands */
	uint64_t reg_invalidations;	      /* register-based (CCMD / IOTLB_REG) commands */
	uint64_t psi_widened;		      /* second-stage PSI sent domain-wide (MAMV, PSI) */
	uint64_t wait_timeouts;		      /* waits whose status never came (-ETIMEDOUT) */
	uint64_t queue_errors;		      /* FSTS.IQE seen and cleared */
	uint64_t completion_errors;	      /* FSTS.ICE seen and cleared */
	uint64_t devtlb_timeouts;	      /* FSTS.ITE seen and cleared */
	uint64_t devices_gone; /* devices whose device TLB is no longer invalidated */
	uint64_t resubmits;    /* batches sent again after an ITE */
};

/* intel_iommu_get_stats() - copy the counters (relaxed). -EINVAL for NULL. */
int intel_iommu_get_stats(struct intel_iommu *iommu, struct intel_iommu_stats *out);

/*
 * intel_iommu_last_warning() - what the last reported problem was (a static string), or
 * NULL: a wait that timed out, an ITE and the device it named, a queue error. Also printed
 * on stderr unless intel_iommu_set_quiet(). The driver's userspace WARN_ON.
 */
const char *intel_iommu_last_warning(struct intel_iommu *iommu);

/* intel_iommu_warnings() - how many problems were reported since creation. */
unsigned intel_iommu_warnings(struct intel_iommu *iommu);

/* intel_iommu_set_quiet() - stop (or resume) printing warnings on stderr. */
void intel_iommu_set_quiet(struct intel_iommu *iommu, bool quiet);

/*
 * intel_iommu_dev_gone() - true when the driver stopped sending device-TLB invalidations to
 * `dev` because one timed out (the device is removed or hung). Its ATS is revoked at the
 * unit then (translation and translated requests fault), so its device TLB cannot be used.
 * Re-probing the device clears it. False for NULL or a device of another driver.
 */
bool intel_iommu_dev_gone(struct iommu_dev *dev);

/*
 * intel_iommu_domain_did() - the domain ID `domain` uses on `iommu`, or -ENOENT when it is
 * attached nowhere on that unit (-EINVAL for NULL or a domain of another driver). The
 * identity domain answers 1 on every unit. For tests and tools.
 */
int intel_iommu_domain_did(struct intel_iommu *iommu, struct iommu_domain *domain);

#ifdef __cplusplus
}
#endif
#endif
