/* SPDX-License-Identifier: MIT */
/*
 * softiommu DMA API: what a device driver calls to let its device reach memory, on top of
 * the IOMMU core (Linux's dma-mapping + dma-iommu, including in-kernel PASID DMA).
 *
 * Addresses. The CPU side works in physical addresses of the simulated memory: where Linux
 * takes a kernel virtual address (or a struct page), this API takes the physical address
 * of the buffer in the `struct mem` the device does DMA into. What the device is given is a
 * DMA address (`dma_addr_t`): the physical address itself when the device's default domain
 * is identity (pass-through), an IOVA from the domain's allocator when it is translated.
 *
 * Modes, decided by the device's default domain at dma_dev_create() (docs/dma.md):
 *  - DMA_MODE_DIRECT (IOMMU_DOMAIN_IDENTITY): DMA address = physical address, no mapping;
 *  - DMA_MODE_STRICT (IOMMU_DOMAIN_DMA): an unmap clears the page table, flushes the
 *    IOTLBs and device TLBs (iommu_unmap_fast + iommu_iotlb_sync) and only then frees the
 *    IOVA, so no stale translation outlives dma_unmap_*();
 *  - DMA_MODE_LAZY (IOMMU_DOMAIN_DMA_FQ): an unmap clears the page table and queues the
 *    IOVA and the freed page-table pages on the calling thread's flush queue; one
 *    iommu_flush_iotlb_all() releases everything queued before it - when a queue is full,
 *    when the queue's timer fires (10 ms after the first entry by default), when the IOVA
 *    space runs out, on dma_flush_queues() and at dma_dev_destroy(). Until then the
 *    device may still hit a stale translation of the unmapped buffer (as in Linux).
 *
 * Kernel PASID (design.md section 3 rule 3). dma_enable_pasid() attaches the device's
 * default domain to a global PASID, so the PASID mirrors RID_PASID by construction: every
 * DMA address this API returns is valid with and without that PASID, in IOVA and in
 * pass-through mode alike, and every flush covers both (rule 4: flushes are per domain).
 *
 * Errors are negative errno values. Map calls that return a DMA address return
 * DMA_MAPPING_ERROR on failure; dma_mapping_error() tells which errno it was. A failed
 * map leaves nothing behind (no IOVA, no page-table entry, no page).
 *
 * DMA-API debugging (dma_debug_*), on per device (dma_dev_config.debug) or globally
 * (dma_debug_set_global(), or SOFTIOMMU_DMA_DEBUG=1 in the environment at device
 * creation): unmapping what was not mapped, double unmap, size and direction mismatches,
 * leaked mappings at dma_dev_destroy(), and device accesses outside live mappings
 * (dma_debug_check_access(), which device models call before each DMA). Off, each API call
 * pays one predictable branch.
 *
 * Locking. Every call may be made from any number of threads at once, except that
 * dma_dev_destroy() must not overlap any other call on the same device. Map/unmap take no
 * device-wide lock: the IOVA allocator's per-thread caches, the core (which takes none)
 * and the driver's own locks. Each flush queue has a mutex, taken by its own threads on
 * unmap and by whoever drains every queue (the timer, an IOVA shortage, dma_flush_queues).
 * PASID enable/disable hold a per-device mutex (and the core's group mutex inside).
 * Debug bookkeeping has one mutex per device, taken only when debugging is on.
 * Report callbacks run on the thread that found the mistake, with that mutex held: they
 * must not call back into the DMA API for the same device.
 */
#ifndef SOFTIOMMU_DMA_H
#define SOFTIOMMU_DMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <softiommu/iommu.h>
#include <softiommu/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A DMA address: what the device puts on the bus (an IOVA, or a physical address). */
typedef uint64_t dma_addr_t;

/* What failed map calls return. No valid mapping has this address. */
#define DMA_MAPPING_ERROR (~(dma_addr_t)0)

/* Which way the data moves; Linux's values. The mapping's protection follows from it. */
enum dma_data_direction {
	DMA_BIDIRECTIONAL = 0, /* the device reads and writes: IOMMU_READ | IOMMU_WRITE */
	DMA_TO_DEVICE = 1,     /* the device reads memory: IOMMU_READ */
	DMA_FROM_DEVICE = 2,   /* the device writes memory: IOMMU_WRITE */
	DMA_NONE = 3,	       /* invalid for every call */
};

enum dma_mode {
	DMA_MODE_DIRECT, /* identity default domain: DMA address = physical address */
	DMA_MODE_STRICT, /* IOMMU_DOMAIN_DMA: flush before the IOVA is freed */
	DMA_MODE_LAZY,	 /* IOMMU_DOMAIN_DMA_FQ: flush queue */
};

struct dma_dev;

/* ---- debug reports -------------------------------------------------------------------- */

enum dma_debug_kind {
	DMA_DEBUG_NOT_MAPPED,	    /* unmap/free of an address that was never mapped */
	DMA_DEBUG_DOUBLE_UNMAP,	    /* unmap/free of a mapping already unmapped */
	DMA_DEBUG_SIZE_MISMATCH,    /* unmap/free with another size (or sg nents/lengths) */
	DMA_DEBUG_DIR_MISMATCH,	    /* unmap with another direction */
	DMA_DEBUG_LEAK,		    /* still mapped when the device was destroyed */
	DMA_DEBUG_USE_AFTER_UNMAP,  /* the device touched an address after it was unmapped */
	DMA_DEBUG_ACCESS_UNMAPPED,  /* the device touched an address never mapped for it */
	DMA_DEBUG_ACCESS_DIRECTION, /* the device wrote a to-device (or read a from-device) map */
	DMA_DEBUG_TYPE_MISMATCH,    /* unmapped with the wrong call (single vs sg vs coherent) */
	DMA_DEBUG_NR,
};

/* What each API call made, for reports. */
enum dma_map_type {
	DMA_MAP_SINGLE, /* dma_map_single / dma_map_page */
	DMA_MAP_SG,	/* one DMA segment of dma_map_sg */
	DMA_MAP_COHERENT,
};

struct dma_debug_report {
	enum dma_debug_kind kind;
	uint16_t rid;		     /* the device's requester ID */
	dma_addr_t addr;	     /* the address the call or the access named */
	uint64_t size;		     /* its size (access length for access checks) */
	enum dma_data_direction dir; /* its direction (access kind for access checks) */
	/* The mapping it was checked against, when there is one (else size 0). */
	dma_addr_t map_addr;
	uint64_t map_size;
	enum dma_data_direction map_dir;
	enum dma_map_type map_type;
	uint64_t map_phys; /* the CPU physical address the mapping covers */
};

/* A report handler. Runs with the device's debug mutex held (see Locking above). */
typedef void (*dma_debug_fn)(void *ctx, const struct dma_debug_report *r);

/* dma_debug_kind_name() - "not-mapped", "double-unmap", ... ; "?" for an unknown kind. */
const char *dma_debug_kind_name(enum dma_debug_kind kind);

/*
 * dma_debug_set_global() - turn debugging on (or off) for devices created from now on,
 * as Linux's dma_debug boot option; `fn`/`ctx` handle their reports unless the device's
 * config names its own handler (NULL: one line on stderr per report). Devices already
 * created keep their setting. SOFTIOMMU_DMA_DEBUG=1 in the environment has the same
 * effect as enable = true with fn = NULL. Thread-safe.
 */
void dma_debug_set_global(bool enable, dma_debug_fn fn, void *ctx);

/* ---- devices ---------------------------------------------------------------------------- */

#define DMA_FQ_SIZE_DEFAULT	  256 /* entries per flush queue (Linux IOVA_DEFAULT_FQ_SIZE) */
#define DMA_FQ_TIMEOUT_MS_DEFAULT 10  /* Linux's IOVA_DEFAULT_FQ_TIMEOUT */
#define DMA_FQ_TIMEOUT_NONE	  0xffffffffu /* no timer: full queues and explicit flushes only */
#define DMA_FQ_MAX		  64	      /* flush queues per device (threads share beyond) */
#define DMA_MAX_SEG_SIZE_DEFAULT  (64u << 10) /* Linux's default dma_max_seg_size */

struct dma_dev_config {
	struct iommu_dev *dev;	 /* required: probed; its default domain sets the mode */
	struct mem *mem;	 /* required: the memory CPU (physical) addresses refer to */
	struct mem_alloc *alloc; /* where coherent buffers come from (NULL: no coherent) */
	unsigned dma_mask_bits;	 /* addressing limit of the device, 1..64; 0 = 64 */
	uint64_t max_seg_size;	 /* largest merged sg segment; 0 = 64 KiB */
	bool forcedac;		 /* do not try 32-bit IOVAs first (Linux's iommu.forcedac) */
	unsigned fq_size;	 /* flush-queue entries, 1..65536; 0 = 256 */
	unsigned fq_timeout_ms;	 /* 0 = 10 ms; DMA_FQ_TIMEOUT_NONE = no timer */
	bool timing;		 /* measure time spent in invalidation (dma_stats.inv_ns) */
	bool debug;		 /* DMA-API debug checks for this device */
	dma_debug_fn debug_fn;	 /* report handler (NULL: the global one, else stderr) */
	void *debug_ctx;
};

/*
 * dma_dev_create() - a DMA handle for `cfg->dev`, mapping into its default domain.
 * Translated default domains get an IOVA space: the domain's aperture (IOVA 0 never
 * handed out), limited by the DMA mask, with the interrupt window 0xFEE00000-0xFEEFFFFF
 * reserved as x86 IOMMU drivers do; lazy ones also get their flush queues' timer thread.
 * -EINVAL NULL or out-of-range config fields, a device without a default domain, a default
 * domain that is neither identity nor a DMA domain, or a smallest page size the IOVA
 * allocator cannot use; -EBUSY another DMA handle already maps into that domain; -ENOMEM;
 * -EAGAIN the timer thread could not be started.
 */
int dma_dev_create(const struct dma_dev_config *cfg, struct dma_dev **out);

/*
 * dma_dev_destroy() - release the handle: disable the kernel PASID if enabled, drain every
 * flush queue (one flush-all), stop the timer, free the IOVA space. The handle is gone in
 * every case. Returns 0, or -EBUSY if mappings or coherent buffers were still live: with
 * debugging on each is reported (DMA_DEBUG_LEAK) and then unmapped (flushed) and freed;
 * without it they cannot be named, so their translations stay in the default domain until
 * the device is released. NULL is 0. Must not overlap any other call on the device.
 */
int dma_dev_destroy(struct dma_dev *dev);

/* dma_dev_mode() - how the device maps (fixed at creation). */
enum dma_mode dma_dev_mode(const struct dma_dev *dev);

/* dma_dev_iommu() - the core device the handle was made for. */
struct iommu_dev *dma_dev_iommu(const struct dma_dev *dev);

/* dma_dev_domain() - the default domain the handle maps into. */
struct iommu_domain *dma_dev_domain(const struct dma_dev *dev);

/* ---- mapping ---------------------------------------------------------------------------- */

/*
 * dma_map_single() - let the device reach [phys, phys + size) in direction `dir`; returns
 * the DMA address of `phys` (same offset within the page as `phys`). Strict and lazy mode:
 * an IOVA range covering the pages of the buffer, mapped with the direction's protection
 * (plus IOMMU_CACHE when the unit snoops); when the IOVA space is full, queued IOVAs are
 * flushed and released and the allocator's caches drained, and the allocation is retried
 * once. Returns DMA_MAPPING_ERROR on failure; dma_mapping_error() gives the reason:
 * -EINVAL NULL device, size 0, DMA_NONE or an unknown direction; -EFAULT the buffer is not
 * wholly inside memory; -ERANGE direct mode and the buffer lies above the DMA mask (there
 * are no bounce buffers); -ENOSPC no IOVA range left; -ENOMEM; iommu_map's errors.
 * Locking: none of the device's (see the file comment).
 */
dma_addr_t dma_map_single(struct dma_dev *dev, uint64_t phys, uint64_t size,
			  enum dma_data_direction dir);

/* dma_map_page() - dma_map_single(dev, page + offset, size, dir). */
dma_addr_t dma_map_page(struct dma_dev *dev, uint64_t page, uint64_t offset, uint64_t size,
			enum dma_data_direction dir);

/*
 * dma_mapping_error() - 0 if `addr` is a mapping, else the negative errno of the calling
 * thread's last failed map (-ENOMEM if it cannot tell). As Linux, callers check every
 * returned address with it.
 */
int dma_mapping_error(struct dma_dev *dev, dma_addr_t addr);

/*
 * dma_unmap_single() - end a mapping made by dma_map_single/dma_map_page: strict mode
 * unmaps, flushes (iotlb_sync) and then frees the IOVA; lazy mode unmaps and queues the
 * IOVA and freed table pages for the next flush-all; direct mode has nothing to undo.
 * `size` and `dir` must be those of the map.
 * Returns 0; -EINVAL NULL device, size 0 or a bad direction; -ENOENT nothing is mapped at
 * `addr` (strict and lazy mode; nothing changes; direct mode without debugging has nothing
 * to check). With debugging on, an address that is not a live mapping of
 * this device is reported (not mapped, double unmap) and refused with -ENOENT; a size or
 * direction mismatch is reported and the mapping is unmapped with its real size (0).
 * Without debugging a wrong size or address is trusted as Linux trusts it: the page table
 * follows the arguments (memory-safe, but it may unmap a neighbour: turn debugging on);
 * -EINVAL when the IOVA allocator then finds no allocation of that size.
 */
int dma_unmap_single(struct dma_dev *dev, dma_addr_t addr, uint64_t size,
		     enum dma_data_direction dir);

/* dma_unmap_page() - dma_unmap_single(), with its errors and locking. */
int dma_unmap_page(struct dma_dev *dev, dma_addr_t addr, uint64_t size,
		   enum dma_data_direction dir);

/* ---- scatter-gather ----------------------------------------------------------------------- */

/*
 * One entry of a scatter-gather list: the CPU side (`phys`, `length`) filled by the
 * caller; the DMA side (`dma_address`, `dma_length`) by dma_map_sg().
 */
struct dma_sg {
	uint64_t phys;
	uint64_t length;
	dma_addr_t dma_address;
	uint64_t dma_length; /* 0 past the last DMA segment */
};

/*
 * dma_map_sg() - map `nents` entries for the device and write the DMA segments into the
 * first entries' dma_address/dma_length (dma_length 0 after the last one). Returns the
 * number of DMA segments (1..nents), or a negative errno with nothing mapped.
 * Entries whose physical ranges are contiguous merge into one segment as long as it stays
 * within max_seg_size (an entry larger than that stays one segment of its own).
 * Strict/lazy mode, as Linux's iommu_dma_map_sg: one IOVA range holds the whole list,
 * each run of contiguous entries laid out after the previous one on a page boundary with
 * its offset in the page kept; runs meet in DMA space (and merge) where the previous ends
 * and the next starts on a page boundary. Direct mode: segments are the merged physical
 * runs. Errors: -EINVAL NULL arguments, nents 0, an entry of length 0, a bad direction;
 * -EFAULT an entry outside memory; -ERANGE (direct) above the DMA mask; -ENOSPC, -ENOMEM,
 * iommu_map's errors.
 */
int dma_map_sg(struct dma_dev *dev, struct dma_sg *sg, int nents, enum dma_data_direction dir);

/*
 * dma_unmap_sg() - unmap what dma_map_sg() mapped; `nents` and `dir` as passed to it
 * (the DMA segments are read from the entries). Strict/lazy as dma_unmap_single.
 * Returns 0; -EINVAL NULL arguments, nents <= 0, a bad direction or no DMA segment;
 * -ENOENT nothing mapped at the first segment. With debugging on, each segment is checked
 * as dma_unmap_single checks a mapping, plus the nents given to the map.
 */
int dma_unmap_sg(struct dma_dev *dev, struct dma_sg *sg, int nents, enum dma_data_direction dir);

/* ---- coherent buffers --------------------------------------------------------------------- */

/*
 * dma_alloc_coherent() - allocate a zeroed buffer of `size` bytes (a naturally aligned
 * power-of-two run of pages from cfg.alloc) and map it bidirectionally. Stores its CPU
 * physical address in *phys and its DMA address in *dma_handle.
 * -EINVAL NULL arguments or size 0 (or above 4 GiB); -ENODEV the device has no allocator;
 * -ENOMEM no pages; the map errors of dma_map_single.
 */
int dma_alloc_coherent(struct dma_dev *dev, uint64_t size, uint64_t *phys, dma_addr_t *dma_handle);

/*
 * dma_free_coherent() - unmap and free a buffer from dma_alloc_coherent() (same size,
 * physical and DMA address). In lazy mode the pages go back to the allocator only after
 * the flush that retires their IOVA, so a stale translation never reaches a reused page
 * (stricter than Linux, which frees them at once).
 * Returns 0; -EINVAL NULL device, size 0, or `phys` does not match the mapping; -ENOENT
 * nothing mapped at `dma_handle`. Debug checks as dma_unmap_single.
 */
int dma_free_coherent(struct dma_dev *dev, uint64_t size, uint64_t phys, dma_addr_t dma_handle);

/* ---- flush queues --------------------------------------------------------------------------- */

/*
 * dma_flush_queues() - lazy mode: one iommu_flush_iotlb_all() and release of every queued
 * IOVA and page (what the timer does). Other modes: nothing. Returns the number of
 * entries released. Locking: each flush queue's mutex in turn.
 */
unsigned dma_flush_queues(struct dma_dev *dev);

/* ---- kernel PASID --------------------------------------------------------------------------- */

/*
 * dma_enable_pasid() - give the device a kernel PASID that reaches exactly what its RID
 * reaches: allocate a global PASID (iommu_alloc_global_pasid) and attach the default
 * domain to it (iommu_attach_device_pasid); *pasid gets it. One per device.
 * On failure nothing stays allocated and the caller does DMA without a PASID:
 * -EINVAL NULL arguments; -EBUSY the device already has its kernel PASID;
 * -EOPNOTSUPP the device has no PASID capability, or its IOMMU unit translates no PASIDs
 * (legacy mode), or the driver refused the PASID attachment; -ENOSPC no free global PASID;
 * -ENOMEM; other errors of the core and driver. dma_pasid_status() says which in words.
 * Locking: the device's PASID mutex, and the core's group mutex.
 */
int dma_enable_pasid(struct dma_dev *dev, uint32_t *pasid);

/*
 * dma_disable_pasid() - detach the default domain from the kernel PASID (the core parks it
 * on the blocked domain: the PASID entry is torn down and its caches flushed) and free the
 * PASID. DMA with it faults from now on. -EINVAL `pasid` is not the device's kernel PASID.
 */
int dma_disable_pasid(struct dma_dev *dev, uint32_t pasid);

/* dma_dev_pasid() - the device's kernel PASID, or IOMMU_PASID_INVALID. */
uint32_t dma_dev_pasid(struct dma_dev *dev);

/*
 * dma_pasid_status() - what the last dma_enable_pasid/dma_disable_pasid on the device did,
 * in words ("enabled", "device has no PASID capability", "IOMMU unit does not translate
 * PASIDs (legacy mode)", ...). A static string; never NULL.
 */
const char *dma_pasid_status(struct dma_dev *dev);

/* ---- DMA-API debugging ------------------------------------------------------------------------
 */

/* dma_debug_enabled() - true if the device was created with debugging on. */
bool dma_debug_enabled(const struct dma_dev *dev);

/*
 * dma_debug_check_access() - for device models (the DSA engine, traffic generators): call
 * it before the device reads (`dir` DMA_TO_DEVICE), writes (DMA_FROM_DEVICE) or
 * reads-and-writes (DMA_BIDIRECTIONAL) [addr, addr + len) by DMA, with or without the
 * kernel PASID. Every byte must lie in a live mapping of the device whose direction allows
 * the access; otherwise it reports DMA_DEBUG_USE_AFTER_UNMAP (the bytes were mapped and
 * have been unmapped), DMA_DEBUG_ACCESS_UNMAPPED or DMA_DEBUG_ACCESS_DIRECTION and returns
 * -EFAULT (the first problem found only). 0 when the access is fine, when debugging is off
 * (one branch) and for len 0. The access itself is the device's business: this only checks.
 */
int dma_debug_check_access(struct dma_dev *dev, dma_addr_t addr, uint64_t len,
			   enum dma_data_direction dir);

/* dma_debug_count() - reports of `kind` on the device so far (all kinds: DMA_DEBUG_NR). */
uint64_t dma_debug_count(struct dma_dev *dev, enum dma_debug_kind kind);

/* ---- statistics ------------------------------------------------------------------------------ */

struct dma_stats {
	uint64_t maps;		    /* successful map calls (single, page, sg, coherent) */
	uint64_t unmaps;	    /* successful unmap calls */
	uint64_t map_errors;	    /* map calls that failed */
	uint64_t live;		    /* maps - unmaps */
	uint64_t syncs;		    /* strict: iotlb_syncs after unmap */
	uint64_t fq_queued;	    /* lazy: entries put on a flush queue */
	uint64_t fq_pending;	    /* lazy: entries waiting for a flush now */
	uint64_t fq_flush_full;	    /* flush-alls because a queue was full */
	uint64_t fq_flush_timeout;  /* ... because the timer fired */
	uint64_t fq_flush_explicit; /* ... by dma_flush_queues() or teardown */
	uint64_t fq_flush_nospace;  /* ... because the IOVA space was exhausted */
	uint64_t iova_retries;	    /* allocations retried after draining everything */
	uint64_t inv_ns;	    /* with cfg.timing: ns in iotlb_sync and flush_iotlb_all */
};

/* dma_get_stats() - the device's counters (a snapshot). -EINVAL for NULL. */
int dma_get_stats(struct dma_dev *dev, struct dma_stats *st);

#ifdef __cplusplus
}
#endif
#endif
