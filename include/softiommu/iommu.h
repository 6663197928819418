/* SPDX-License-Identifier: MIT */
/*
 * softiommu IOMMU core: units, devices, groups, domains, attachments, global PASIDs.
 *
 * The model (docs/core.md has the picture and the error table):
 *
 *  - A driver registers each IOMMU unit it runs (`struct iommu_device`) with its driver ops
 *    (`struct iommu_ops`) in a `struct iommu_core`, one per simulated system.
 *  - A bus probes each device it finds onto a unit (`iommu_probe_device`): the core makes a
 *    `struct iommu_dev` (requester ID, PASID width, ATS) and a group for it, asks the driver
 *    to take it, and attaches the group's default domain - identity (pass-through) or a
 *    translated DMA domain, chosen by policy - to the requester ID.
 *  - A domain is an address space: blocked, identity, or paging (an I/O page table). Paging
 *    domains are allocated by the driver that will program them (`owner`); each driver also
 *    has one static blocked domain and, optionally, one static identity domain.
 *  - The core owns which domain sits on each (device, PASID): the group's RID domain for
 *    IOMMU_NO_PASID and the group's PASID array for the others. It calls the domain's ops
 *    to make the hardware follow (`attach_dev`, `set_dev_pasid`); the driver keeps only
 *    what invalidation needs (where each domain is attached), never per-device PASID
 *    policy. Detach is attaching the blocked domain; replace is an attach that is told the
 *    old domain, and a failed attach or replace leaves the old configuration in place.
 *  - Mapping goes straight to the domain ops; the core only splits a range into the largest
 *    page sizes the domain supports and batches invalidations in a gather.
 *
 * Errors are negative errno values. Argument errors change nothing.
 *
 * Locking:
 *  - Each group has a mutex. Every attach, replace and detach (RID or PASID), and probe and
 *    release, hold it while the driver's attach op runs; the driver's `attach_dev` and
 *    `set_dev_pasid` are therefore serialised per device and must not call back into the
 *    attach API for the same device (lookups are fine).
 *  - Lookups (`iommu_get_domain_for_dev`, `iommu_get_domain_for_dev_pasid`,
 *    `iommu_get_default_domain`) take no lock and may run on any thread at any time, even
 *    inside a driver op. An attachment becomes visible only after the driver succeeded.
 *    A returned domain stays valid until it is detached and freed; callers that race a
 *    lookup with that detach must order it themselves (as in Linux).
 *  - The core does not serialise map, unmap, iotlb_sync, flush_iotlb_all or iova_to_phys:
 *    the driver's domain ops must allow concurrent calls on one domain for disjoint
 *    ranges. Concurrent map and unmap of the same IOVA is the caller's bug.
 *  - Unit registration, probe bookkeeping, the policy setters and the global PASID
 *    allocator use core-internal mutexes; none is held across a driver op.
 */
#ifndef SOFTIOMMU_IOMMU_H
#define SOFTIOMMU_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <softiommu/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iommu_core;
struct iommu_device;
struct iommu_dev;
struct iommu_group;
struct iommu_domain;
struct iommu_iotlb_gather;

/* ---- PASIDs ------------------------------------------------------------------------- */

#define IOMMU_NO_PASID		 0u	     /* DMA without a PASID: the requester ID */
#define IOMMU_FIRST_GLOBAL_PASID 1u	     /* the global allocator starts here */
#define IOMMU_MAX_PASIDS	 (1u << 20)  /* PCIe PASIDs are 20 bits */
#define IOMMU_PASID_INVALID	 0xffffffffu /* "no PASID" for callers that store one */

/* ---- mapping permissions (iommu_map's prot) ----------------------------------------- */

#define IOMMU_READ	(1u << 0)
#define IOMMU_WRITE	(1u << 1)
#define IOMMU_CACHE	(1u << 2) /* DMA snoops CPU caches */
#define IOMMU_NOEXEC	(1u << 3) /* no instruction fetch (PASID requests with ER) */
#define IOMMU_PRIV	(1u << 5) /* privileged (supervisor) requests only */
#define IOMMU_PROT_MASK (IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE | IOMMU_NOEXEC | IOMMU_PRIV)

/* ---- domain types ------------------------------------------------------------------- */

#define IOMMU_DOMAIN_F_PAGING  (1u << 0) /* has an I/O page table: map/unmap work */
#define IOMMU_DOMAIN_F_PT      (1u << 1) /* pass-through: IOVA == physical address */
#define IOMMU_DOMAIN_F_DMA_API (1u << 2) /* a default domain, mapped by the DMA layer */
#define IOMMU_DOMAIN_F_DMA_FQ  (1u << 3) /* ... with lazy (flush-queue) invalidation */

enum iommu_domain_type {
	IOMMU_DOMAIN_BLOCKED = 0,		     /* every DMA faults */
	IOMMU_DOMAIN_IDENTITY = IOMMU_DOMAIN_F_PT,   /* pass-through */
	IOMMU_DOMAIN_PAGING = IOMMU_DOMAIN_F_PAGING, /* translated, mapped by its owner */
	IOMMU_DOMAIN_DMA = IOMMU_DOMAIN_F_PAGING | IOMMU_DOMAIN_F_DMA_API, /* strict default */
	IOMMU_DOMAIN_DMA_FQ = IOMMU_DOMAIN_DMA | IOMMU_DOMAIN_F_DMA_FQ,	   /* lazy default */
};

/* Capabilities a driver may report per device (iommu_ops.capable, iommu_capable). */
enum iommu_cap {
	IOMMU_CAP_CACHE_COHERENCY, /* IOMMU_CACHE is honoured: DMA snoops CPU caches */
	IOMMU_CAP_DEFERRED_FLUSH,  /* flush_iotlb_all is cheap enough for lazy (flush queue) */
};

/* Flags for domain_alloc_paging / iommu_paging_domain_alloc. */
#define IOMMU_DOMAIN_ALLOC_FIRST_STAGE	(1u << 0) /* use a first-stage (CPU format) table */
#define IOMMU_DOMAIN_ALLOC_SECOND_STAGE (1u << 1) /* use a second-stage table */
#define IOMMU_DOMAIN_ALLOC_PASID	(1u << 2) /* will be attached to PASIDs too */
#define IOMMU_DOMAIN_ALLOC_FLAGS                                                                   \
	(IOMMU_DOMAIN_ALLOC_FIRST_STAGE | IOMMU_DOMAIN_ALLOC_SECOND_STAGE |                        \
	 IOMMU_DOMAIN_ALLOC_PASID)

/* ---- freed page-table pages --------------------------------------------------------- */

/*
 * Page-table pages an unmap took out of a table. They may still sit in the hardware's
 * paging-structure caches, so they go back to their allocator only after the IOTLB flush
 * that covers them (iommu_iotlb_sync does that, or the DMA layer's flush queue after its
 * flush_iotlb_all). Physical addresses of 4 KiB pages from one `struct mem_alloc`.
 */
struct iommu_pages_list {
	struct mem_alloc *alloc; /* where the pages go back; set by the first add */
	uint64_t *pages;
	size_t count;
	size_t cap;
};

#define IOMMU_PAGES_LIST_INIT                                                                      \
	{                                                                                          \
		NULL, NULL, 0, 0                                                                   \
	}

/*
 * iommu_pages_list_add() - remember page `pa` of `alloc` for freeing after the flush.
 * -EINVAL if the list already holds pages of another allocator or `alloc` is NULL,
 * -ENOMEM if the list cannot grow: then the caller must flush (iommu_iotlb_sync) before
 * freeing the page itself. Not thread-safe: a list has one owner.
 */
int iommu_pages_list_add(struct iommu_pages_list *list, struct mem_alloc *alloc, uint64_t pa);

/* iommu_pages_list_empty() - true if the list holds no page. */
static inline bool iommu_pages_list_empty(const struct iommu_pages_list *list)
{
	return list->count == 0;
}

/*
 * iommu_pages_list_move() - hand every page of `src` to `dst` and leave `src` empty.
 * -EINVAL if `dst` is not empty (nothing moves). Never allocates.
 */
int iommu_pages_list_move(struct iommu_pages_list *dst, struct iommu_pages_list *src);

/*
 * iommu_put_pages_list() - give every page back to its allocator and empty the list
 * (its storage is released too). Call only after the flush that covers the pages.
 * Returns the number of pages the allocator refused (0 unless the list was corrupted).
 */
size_t iommu_put_pages_list(struct iommu_pages_list *list);

/* ---- the gather: one unmap batch, one flush ----------------------------------------- */

/*
 * What an unmap collected for the flush that must follow it: the IOVA range [start, end]
 * (end inclusive; start > end when empty), the page size of the ranges added through
 * iommu_iotlb_gather_add_page (0 when none), the freed table pages, and `queued`: the DMA
 * layer set it because a flush queue will do a flush_iotlb_all later, so drivers need not
 * record ranges (they must still collect freed table pages).
 */
struct iommu_iotlb_gather {
	uint64_t start;
	uint64_t end;
	uint64_t pgsize;
	struct iommu_pages_list freelist;
	bool queued;
};

/* iommu_iotlb_gather_init() - an empty gather (not queued). */
static inline void iommu_iotlb_gather_init(struct iommu_iotlb_gather *gather)
{
	*gather = (struct iommu_iotlb_gather){
	    .start = UINT64_MAX,
	    .freelist = IOMMU_PAGES_LIST_INIT,
	};
}

/* iommu_iotlb_gather_empty() - true if nothing waits for a flush. */
static inline bool iommu_iotlb_gather_empty(const struct iommu_iotlb_gather *gather)
{
	return gather->start > gather->end && iommu_pages_list_empty(&gather->freelist);
}

/* iommu_iotlb_gather_add_range() - widen the range to cover [iova, iova + size). */
static inline void iommu_iotlb_gather_add_range(struct iommu_iotlb_gather *gather, uint64_t iova,
						uint64_t size)
{
	uint64_t end = iova + size - 1;

	if (gather->start > gather->end) {
		gather->start = iova;
		gather->end = end;
		return;
	}
	if (iova < gather->start)
		gather->start = iova;
	if (end > gather->end)
		gather->end = end;
}

/*
 * iommu_iotlb_gather_is_disjoint() - true if [iova, iova + size) neither overlaps nor
 * touches the gathered range, so adding it would make the flush cover a hole.
 */
static inline bool iommu_iotlb_gather_is_disjoint(const struct iommu_iotlb_gather *gather,
						  uint64_t iova, uint64_t size)
{
	uint64_t end = iova + size - 1;

	if (gather->start > gather->end)
		return false;
	/* Written so that neither side overflows at the ends of the 64-bit space. */
	return (gather->start && end < gather->start - 1) ||
	       (gather->end != UINT64_MAX && iova > gather->end + 1);
}

/*
 * iommu_iotlb_gather_add_page() - for drivers whose flush takes one page size: flush what
 * is gathered first (iommu_iotlb_sync) if `size` differs from the gathered page size or the
 * page is disjoint from the range, then add it. Same locking as the unmap that calls it.
 * Call it before listing the table pages this unmap freed: the early flush releases the
 * freelist, and those pages must wait for the flush of their own range.
 */
void iommu_iotlb_gather_add_page(struct iommu_domain *domain, struct iommu_iotlb_gather *gather,
				 uint64_t iova, uint64_t size);

/* ---- driver ops --------------------------------------------------------------------- */

/*
 * Per-domain ops. A driver has one `static const` table per kind of domain it makes.
 * Unless said otherwise an op returns 0 or a negative errno and on error changes nothing.
 */
struct iommu_domain_ops {
	/* Make the RID of `dev` use `domain` in place of `old` (NULL at probe). -EINVAL the
	 * domain cannot serve this device/unit, -ENOSPC no domain ID, -ENOMEM; on error the
	 * RID still uses `old`. The blocked domain's attach_dev must not fail. */
	int (*attach_dev)(struct iommu_domain *domain, struct iommu_dev *dev,
			  struct iommu_domain *old);
	/* The same for `pasid` (never IOMMU_NO_PASID) of `dev`; `old` is NULL when the PASID
	 * was blocked. -EOPNOTSUPP the unit cannot (e.g. no scalable mode), -EINVAL, -ENOSPC,
	 * -ENOMEM; on error `pasid` stays on `old`. The blocked domain's must not fail. */
	int (*set_dev_pasid)(struct iommu_domain *domain, struct iommu_dev *dev, uint32_t pasid,
			     struct iommu_domain *old);
	/* Map `pgcount` pages of `pgsize` (one of the domain's sizes, iova and paddr aligned
	 * to it); store the bytes mapped in *mapped, also on error. -EEXIST already mapped,
	 * -ENOMEM, -ERANGE beyond the table's reach. */
	int (*map_pages)(struct iommu_domain *domain, uint64_t iova, uint64_t paddr,
			 uint64_t pgsize, size_t pgcount, unsigned int prot, uint64_t *mapped);
	/* Unmap up to `pgcount` pages of `pgsize` at `iova`, record the range and freed table
	 * pages in `gather`; returns bytes unmapped (0: nothing mapped at iova; may exceed
	 * pgsize * pgcount if a larger page was hit and the driver cannot split it). */
	uint64_t (*unmap_pages)(struct iommu_domain *domain, uint64_t iova, uint64_t pgsize,
				size_t pgcount, struct iommu_iotlb_gather *gather);
	/* Flush the IOTLBs (and device TLBs) for the gathered range wherever the domain is
	 * attached - everything if the range is empty but table pages were freed (a queued
	 * gather); the core frees gather->freelist afterwards. Never fails. */
	void (*iotlb_sync)(struct iommu_domain *domain, struct iommu_iotlb_gather *gather);
	/* Optional: make a new mapping visible (caching-mode units). -ENOMEM, -EIO. */
	int (*iotlb_sync_map)(struct iommu_domain *domain, uint64_t iova, uint64_t size);
	/* Flush every cached translation of the domain everywhere it is attached. */
	void (*flush_iotlb_all)(struct iommu_domain *domain);
	/* Look `iova` up in the table: *paddr on success, -ENOENT when not mapped. */
	int (*iova_to_phys)(struct iommu_domain *domain, uint64_t iova, uint64_t *paddr);
	/* Release a paging domain; the core calls it only when nothing is attached. */
	void (*free)(struct iommu_domain *domain);
};

/* Per-driver ops: one `static const` table per driver, shared by all its units. */
struct iommu_ops {
	/* Take `dev` (dev->iommu is set): check it, set dev->priv. -ENODEV not this unit's
	 * device, -ENOMEM. Required. */
	int (*probe_device)(struct iommu_dev *dev);
	/* Forget `dev`; its RID is on the blocked domain and no PASID is attached. */
	void (*release_device)(struct iommu_dev *dev);
	/* A new, empty paging domain that can serve `dev`, with ops, pgsize_bitmap and the
	 * aperture filled in. -EOPNOTSUPP a flag cannot be met (stage not supported),
	 * -ENOMEM. Required. */
	int (*domain_alloc_paging)(struct iommu_dev *dev, unsigned int flags,
				   struct iommu_domain **out);
	/* Optional: the default domain type `dev` needs (IOMMU_DOMAIN_IDENTITY or
	 * IOMMU_DOMAIN_DMA), or 0 for no requirement. */
	int (*def_domain_type)(struct iommu_dev *dev);
	/* Optional: true if `cap` holds for `dev`. */
	bool (*capable)(struct iommu_dev *dev, enum iommu_cap cap);
	/* Optional static identity domain (type IOMMU_DOMAIN_IDENTITY). */
	struct iommu_domain *identity_domain;
	/* Required static blocked domain (type IOMMU_DOMAIN_BLOCKED) with attach_dev; it needs
	 * set_dev_pasid too for any PASID to be attached. */
	struct iommu_domain *blocked_domain;
};

/* ---- objects ------------------------------------------------------------------------ */

/*
 * A domain. Drivers embed it in their own domain structure. For paging domains the driver
 * fills `ops`, `pgsize_bitmap` and the aperture in domain_alloc_paging and the core sets
 * `type` and `owner`; static identity/blocked domains are initialised by the driver with
 * their type and ops (their `owner` stays NULL: the core recognises them by address).
 */
struct iommu_domain {
	enum iommu_domain_type type;
	const struct iommu_domain_ops *ops;
	const struct iommu_ops *owner; /* the driver that allocated it */
	uint64_t pgsize_bitmap;	       /* supported page sizes (bit n = 2^n bytes) */
	uint64_t aperture_start;       /* first mappable IOVA */
	uint64_t aperture_end;	       /* last mappable IOVA (inclusive) */
	/* The core's: */
	unsigned int users; /* RID and PASID attachments (atomic) */
};

/* iommu_is_paging_domain() - true for PAGING, DMA and DMA_FQ domains. */
static inline bool iommu_is_paging_domain(const struct iommu_domain *domain)
{
	return domain->type & IOMMU_DOMAIN_F_PAGING;
}

/*
 * An IOMMU unit. The driver embeds it in its own unit structure, fills the first block and
 * calls iommu_device_register().
 */
struct iommu_device {
	const struct iommu_ops *ops;
	const char *name;    /* for messages; must outlive the registration */
	uint32_t max_pasids; /* PASIDs the unit translates (0 = none, <= IOMMU_MAX_PASIDS) */
	/* The core's: */
	struct iommu_core *core;
	struct iommu_device *next; /* the core's list of units */
	struct iommu_dev *devs;	   /* devices probed onto this unit */
};

/* What a bus knows about a device when it probes it onto a unit. */
struct iommu_dev_info {
	uint16_t rid;	     /* requester ID (PCI_RID) */
	uint8_t pasid_width; /* PASID capability's Max PASID Width, 1..20; 0 = no PASID */
	bool ats;	     /* ATS capability present */
	int def_domain_type; /* 0 = the core's policy, or IOMMU_DOMAIN_IDENTITY/_DMA/_DMA_FQ */
};

/*
 * A device probed onto a unit. The core allocates it; drivers read it and own `priv`
 * (hardware facts such as the device's PASID table - never which domain sits where).
 */
struct iommu_dev {
	uint16_t rid;
	uint8_t pasid_width;
	bool ats;
	uint32_t max_pasids; /* min(2^pasid_width, iommu->max_pasids); 0 = no PASID use */
	struct iommu_device *iommu;
	struct iommu_group *group;
	void *priv; /* the driver's */
	/* The core's: */
	int requested_type;	/* iommu_dev_info.def_domain_type */
	struct iommu_dev *next; /* iommu->devs */
};

/* ---- the core instance and its policy ----------------------------------------------- */

/*
 * Default-domain policy, applied at probe (devices already probed keep theirs).
 * The zero value is: translated, strict.
 */
struct iommu_config {
	bool passthrough; /* default domains are identity rather than translated */
	bool dma_lazy;	  /* translated default domains defer flushes (IOMMU_DOMAIN_DMA_FQ) */
};

/*
 * iommu_core_create() - a new, empty system: no units, an empty global PASID space.
 * `cfg` NULL means the zero config. -EINVAL `out` NULL, -ENOMEM.
 */
int iommu_core_create(const struct iommu_config *cfg, struct iommu_core **out);

/* iommu_core_destroy() - free the core. -EBUSY while units are registered. NULL is 0. */
int iommu_core_destroy(struct iommu_core *core);

/* iommu_set_default_passthrough() - policy for later probes: identity (true) or translated. */
void iommu_set_default_passthrough(struct iommu_core *core, bool passthrough);

/* iommu_set_dma_strict() - policy for later probes: strict (true) or lazy translated domains. */
void iommu_set_dma_strict(struct iommu_core *core, bool strict);

/*
 * iommu_core_warnings() - how many driver contract violations the core has absorbed (an op
 * that must not fail failed, a map op that made no progress): the userspace WARN_ON. Tests
 * expect 0.
 */
unsigned int iommu_core_warnings(struct iommu_core *core);

/* iommu_core_last_warning() - what the last warning was about (a static string), or NULL. */
const char *iommu_core_last_warning(struct iommu_core *core);

/* ---- units -------------------------------------------------------------------------- */

/*
 * iommu_device_register() - add a unit whose ops, name and max_pasids are filled in.
 * -EINVAL required ops missing (probe_device, domain_alloc_paging, a blocked domain with
 * attach_dev), a static domain of the wrong type, max_pasids > IOMMU_MAX_PASIDS;
 * -EBUSY already registered.
 */
int iommu_device_register(struct iommu_core *core, struct iommu_device *iommu);

/*
 * iommu_device_unregister() - remove a unit. -EBUSY while devices are probed onto it,
 * -EINVAL not registered.
 */
int iommu_device_unregister(struct iommu_device *iommu);

/* ---- devices ------------------------------------------------------------------------ */

/*
 * iommu_probe_device() - make a device on `iommu`, give it a group, let the driver take it
 * and attach its default domain to the RID. Identity or translated: info->def_domain_type,
 * else what the driver requires (def_domain_type op), else the core's policy (which falls
 * back to translated if the driver has no identity domain). Strict or lazy:
 * info->def_domain_type (_DMA or _DMA_FQ), else the policy; lazy needs
 * IOMMU_CAP_DEFERRED_FLUSH, else it is strict.
 * -EINVAL bad arguments (unregistered unit, pasid_width > 20, unknown type) or the device's
 * type conflicts with the driver's requirement; -EEXIST the RID is already on this unit;
 * -EOPNOTSUPP identity required but the driver has none; -ENOMEM; the driver's errors.
 */
int iommu_probe_device(struct iommu_device *iommu, const struct iommu_dev_info *info,
		       struct iommu_dev **out);

/*
 * iommu_release_device() - undo probe: block the RID, let the driver forget the device,
 * free its default domain, group and the device. -EBUSY while a PASID is attached or the
 * RID is on a domain other than the default or blocked one (detach first). NULL is 0.
 */
int iommu_release_device(struct iommu_dev *dev);

/* iommu_capable() - the driver's answer for `cap` on `dev` (false without the op). */
bool iommu_capable(struct iommu_dev *dev, enum iommu_cap cap);

/* ---- domains ------------------------------------------------------------------------ */

/*
 * iommu_paging_domain_alloc() - a new, empty paging domain from `dev`'s driver, usable by
 * devices of that driver (owner). `flags`: IOMMU_DOMAIN_ALLOC_*. -EINVAL unknown flags,
 * both stages, NULL arguments, or a driver that returned a domain without ops/free/page
 * sizes; -EOPNOTSUPP, -ENOMEM from the driver.
 */
int iommu_paging_domain_alloc(struct iommu_dev *dev, unsigned int flags, struct iommu_domain **out);

/*
 * iommu_domain_free() - free a domain from iommu_paging_domain_alloc. -EBUSY while attached
 * anywhere; -EINVAL for static (identity/blocked) domains and default (DMA) domains, which
 * are not the caller's to free. NULL is 0.
 */
int iommu_domain_free(struct iommu_domain *domain);

/* ---- RID attachment ----------------------------------------------------------------- */

/*
 * iommu_attach_device() - put `domain` on the RID of `dev` in place of its default (or
 * blocked) domain. Attaching the domain already there is 0.
 * -EINVAL NULL arguments or a domain of another driver; -ENODEV no attach_dev op; -EBUSY
 * the RID already holds another non-default domain; the driver's error (RID unchanged).
 * Locking: the group mutex.
 */
int iommu_attach_device(struct iommu_domain *domain, struct iommu_dev *dev);

/*
 * iommu_detach_device() - give the RID back to the default domain. If the driver cannot
 * re-attach it, the RID is parked on the blocked domain (counted in iommu_core_warnings);
 * detaching never fails for valid arguments. -EINVAL `domain` is not on the RID or is the
 * default domain. Locking: the group mutex.
 */
int iommu_detach_device(struct iommu_domain *domain, struct iommu_dev *dev);

/* iommu_get_domain_for_dev() - the RID's domain. Lock-free; NULL for NULL. */
struct iommu_domain *iommu_get_domain_for_dev(struct iommu_dev *dev);

/* iommu_get_default_domain() - the group's default domain. Lock-free; NULL for NULL. */
struct iommu_domain *iommu_get_default_domain(struct iommu_dev *dev);

/* ---- PASID attachment --------------------------------------------------------------- */

/*
 * iommu_attach_device_pasid() - attach `domain` to `pasid` of `dev`, which must be free.
 * The attachment is published for lookups only after the driver succeeded.
 * Checked in this order: -EINVAL NULL arguments; -EOPNOTSUPP the domain has no
 * set_dev_pasid or the driver's blocked domain has none (no way back); -EINVAL a domain
 * of another driver; -EINVAL pasid == IOMMU_NO_PASID; -EOPNOTSUPP the device or its unit
 * has no PASID support (max_pasids == 0); -EINVAL pasid >= dev->max_pasids; -EBUSY the PASID
 * holds a domain; -ENOMEM; the driver's error (the PASID stays free).
 * Locking: the group mutex.
 */
int iommu_attach_device_pasid(struct iommu_domain *domain, struct iommu_dev *dev, uint32_t pasid);

/*
 * iommu_replace_device_pasid() - move `pasid` of `dev` from its current domain to `domain`
 * in one driver call (set_dev_pasid with old). Replacing with the same domain is 0.
 * The same checks as attach, but -EINVAL instead of -EBUSY: nothing is attached (not a
 * replace). On a driver error the old domain stays attached and lookups keep returning it.
 * Locking: the group mutex.
 */
int iommu_replace_device_pasid(struct iommu_domain *domain, struct iommu_dev *dev, uint32_t pasid);

/*
 * iommu_detach_device_pasid() - attach the blocked domain to `pasid` of `dev` and forget
 * `domain` there. The blocked domain's set_dev_pasid must not fail; if it does anyway the
 * attachment is still dropped and iommu_core_warnings counts it: detach never fails for
 * valid arguments. -EINVAL NULL arguments, pasid == IOMMU_NO_PASID or >= max_pasids, or
 * `domain` is not the one attached; -ENOENT nothing is attached. Locking: the group mutex.
 */
int iommu_detach_device_pasid(struct iommu_domain *domain, struct iommu_dev *dev, uint32_t pasid);

/*
 * iommu_get_domain_for_dev_pasid() - the domain on `pasid` of `dev`: the RID's domain for
 * IOMMU_NO_PASID, NULL when none (or the PASID is out of range). Lock-free.
 */
struct iommu_domain *iommu_get_domain_for_dev_pasid(struct iommu_dev *dev, uint32_t pasid);

/* ---- global PASIDs ------------------------------------------------------------------ */

/*
 * iommu_alloc_global_pasid() - the lowest free PASID in [1, dev->max_pasids - 1] of the
 * core's one system-wide namespace (shared by every device and unit of the core).
 * Returns the PASID (> 0), -EINVAL `dev` NULL, -EOPNOTSUPP the device or its unit has no
 * PASID support, -ENOSPC none free below the device's limit. Thread-safe.
 */
int iommu_alloc_global_pasid(struct iommu_dev *dev);

/*
 * iommu_free_global_pasid() - give `pasid` back to the namespace of `dev`'s core. Detach it
 * everywhere first. -EINVAL `pasid` is not allocated (0, out of range, double free).
 * Thread-safe.
 */
int iommu_free_global_pasid(struct iommu_dev *dev, uint32_t pasid);

/* ---- mapping ------------------------------------------------------------------------ */

/*
 * iommu_map() - map [iova, iova + size) to [paddr, paddr + size) with `prot` (IOMMU_*),
 * calling map_pages with the largest page sizes of the domain that fit the alignment of
 * iova and paddr, then iotlb_sync_map. On any error nothing of the range stays mapped.
 * -EINVAL not a paging domain, size 0, iova/paddr/size not aligned to the smallest page
 * size, unknown prot bits; -ENODEV the domain has no map_pages or page sizes; -ERANGE the
 * range leaves the aperture; -EIO the driver reported more than it was asked to map, or
 * success without progress; the driver's error (-EEXIST, -ENOMEM, ...).
 */
int iommu_map(struct iommu_domain *domain, uint64_t iova, uint64_t paddr, uint64_t size,
	      unsigned int prot);

/*
 * iommu_unmap_fast() - unmap [iova, iova + size) and leave the invalidation in `gather`
 * (initialised by the caller) for one later iommu_iotlb_sync. Stops at the first hole.
 * Returns the bytes unmapped (possibly more than `size` when a larger page had to go
 * whole, 0 when nothing was mapped at iova) or -EINVAL (not a paging domain, size 0 or
 * above SSIZE_MAX, misaligned, NULL gather), -ENODEV (no unmap_pages), -ERANGE (outside
 * the aperture).
 */
ssize_t iommu_unmap_fast(struct iommu_domain *domain, uint64_t iova, uint64_t size,
			 struct iommu_iotlb_gather *gather);

/* iommu_unmap() - iommu_unmap_fast() with its own gather, synced before returning. */
ssize_t iommu_unmap(struct iommu_domain *domain, uint64_t iova, uint64_t size);

/*
 * iommu_iotlb_sync() - flush what `gather` collected (the driver's iotlb_sync), then give
 * the freed table pages back and re-initialise the gather (`queued` is kept). Does not call
 * the driver when the gather is empty.
 */
void iommu_iotlb_sync(struct iommu_domain *domain, struct iommu_iotlb_gather *gather);

/* iommu_flush_iotlb_all() - flush every translation of a paging domain (no-op otherwise). */
void iommu_flush_iotlb_all(struct iommu_domain *domain);

/*
 * iommu_iova_to_phys() - the physical address `iova` maps to in `domain`. Identity domains
 * give iova itself. -ENOENT not mapped (or a blocked domain), -EINVAL NULL arguments,
 * -EOPNOTSUPP the domain has no iova_to_phys.
 */
int iommu_iova_to_phys(struct iommu_domain *domain, uint64_t iova, uint64_t *paddr);

#ifdef __cplusplus
}
#endif
#endif
