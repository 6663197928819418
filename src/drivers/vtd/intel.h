/* SPDX-License-Identifier: MIT */
/*
 * The VT-d driver's private structures. Nothing outside src/drivers/vtd/ includes this.
 *
 * Who owns what (design.md section 3, rule 2):
 *  - struct intel_iommu: one unit - its capabilities, root and context tables, domain-ID
 *    allocator, invalidation queue, fault injection and counters;
 *  - struct intel_dev (iommu_dev.priv): hardware facts about a device - requester ID, ATS,
 *    its PASID directory and the PASID tables allocated so far - never which domain sits
 *    on which PASID (the core owns that; the entries in memory are the hardware's copy);
 *  - struct intel_domain: a paging domain - its page table, one domain ID per unit it is
 *    attached on (refcounted) and its cache tags, i.e. where invalidations must go.
 */
#ifndef SOFTIOMMU_DRIVERS_VTD_INTEL_H
#define SOFTIOMMU_DRIVERS_VTD_INTEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <softiommu/intel_iommu.h>
#include <softiommu/iommu.h>
#include <softiommu/pci.h>
#include <softiommu/pgtable.h>
#include <softiommu/vtd_regs.h>

#define INTEL_DID_CM	0 /* reserved: caching-mode hardware tags not-present entries with 0 */
#define INTEL_DID_PT	1 /* every pass-through entry (Linux's FLPT_DEFAULT_DID) */
#define INTEL_DID_FIRST 2

#define INTEL_PAGE_SIZE 4096ull

/* ---- the unit --------------------------------------------------------------------------- */

/* One invalidation descriptor; 128-bit queues use q[0..1]. */
struct intel_desc {
	uint64_t q[4];
};

struct intel_qi {
	pthread_mutex_t lock; /* one submission (descriptors, wait, error handling) at a time */
	bool enabled;	      /* queued (true) or register-based (false) invalidation */
	uint64_t base;	      /* the queue: `entries` slots */
	unsigned pages;	      /* as configured (0: INTEL_IOMMU_QUEUE_ENTRIES slots) */
	unsigned order;	      /* its allocation order (IQA.QS) */
	unsigned entries;     /* slots: (4 KiB << order) >> shift */
	unsigned shift;	      /* log2 of a slot's bytes: 4 (128-bit) or 5 (256-bit) */
	unsigned tail;	      /* next slot software writes */
	uint64_t status;      /* status page: the wait's dword at +0, a scratch dword at +4 */
	uint32_t seq;	      /* the last STDATA used */
};

struct intel_stats_atomic {
	uint64_t desc[16];
	uint64_t waits;
	uint64_t skipped[INTEL_IOMMU_INV_NR];
	uint64_t write_buffer_flushes;
	uint64_t reg_invalidations;
	uint64_t psi_widened;
	uint64_t wait_timeouts;
	uint64_t queue_errors;
	uint64_t completion_errors;
	uint64_t devtlb_timeouts;
	uint64_t devices_gone;
	uint64_t resubmits;
};

struct intel_iommu {
	struct iommu_device iommu; /* first: the core's handle */
	char name[32];
	struct intel_iommu_mmio mmio;
	struct mem_alloc *alloc;
	struct mem *mem;
	enum intel_iommu_stage default_stage;
	unsigned batch;
	unsigned poll_limit;
	bool fs_5level; /* first-stage tables get 5 levels */

	/* What the registers said (digest 1.2, 1.3). */
	uint32_t ver;
	uint64_t cap, ecap;
	bool scalable;	     /* ECAP.SMTS */
	bool fs, ss, pt;     /* ECAP.FLTS, SLTS (always in legacy mode), PT */
	bool dt;	     /* ECAP.DT: device TLBs may be enabled */
	bool pasid;	     /* ECAP.PASID in scalable mode */
	bool cm;	     /* CAP.CM: invalidate after not-present -> present too */
	bool rwbf;	     /* CAP.RWBF: flush the write buffer after a table change */
	bool psi;	     /* CAP.PSI */
	bool dit;	     /* ECAP.DIT: device-TLB descriptors carry the PFSID */
	bool pwsnp;	     /* ECAP.SMPWCS: PASID entries may ask for snooped walks */
	unsigned mamv;	     /* CAP.MAMV */
	unsigned mgaw;	     /* CAP.MGAW + 1 */
	unsigned sagaw;	     /* CAP.SAGAW: bit n = AW n */
	uint64_t ss_pgsizes; /* second-stage page sizes (CAP.SLLPS) */
	uint64_t fs_pgsizes; /* first-stage page sizes (CAP.FL1GP) */
	uint32_t ndids;	     /* 2^(4 + 2 CAP.ND) */
	uint32_t gcmd;	     /* the enables software keeps set (TE, QIE) */

	uint64_t root;	/* root table */
	int zero_order; /* >= 0: the run at physical page 0, held until destroy (-1: none) */
	pthread_mutex_t ctx_lock;
	uint64_t ctx_tables[512]; /* context tables: [bus * 2 + half] (legacy: half 0 only) */

	pthread_mutex_t did_lock;
	uint64_t *did_map; /* bit set = domain ID in use */

	uint64_t gone[65536 / 64]; /* source-ids whose device TLB timed out (atomic words) */

	struct intel_qi qi;
	unsigned skip; /* enum intel_iommu_inv_kind, atomic */
	struct intel_stats_atomic stats;
	const char *last_warning; /* atomic */
	unsigned warnings;	  /* atomic */
	bool quiet;
};

static inline struct intel_iommu *to_intel_iommu(struct iommu_device *iommu)
{
	return (struct intel_iommu *)(void *)iommu;
}

#define INTEL_STAT_INC(unit, field) __atomic_fetch_add(&(unit)->stats.field, 1, __ATOMIC_RELAXED)

/* ---- devices ---------------------------------------------------------------------------- */

struct intel_dev {
	struct intel_iommu *unit;
	struct iommu_dev *dev;
	uint16_t sid;
	bool ats;		/* the device has ATS and the unit device TLBs: DTE / TT 01 */
	bool pasid;		/* the device has PASID and the unit too: PASIDE */
	bool ctx_present;	/* the context entry is programmed (scalable: once per probe) */
	uint8_t pdts;		/* PASID-directory size: 2^(pdts + 7) entries */
	unsigned dir_order;	/* the directory's allocation order */
	uint32_t dir_entries;	/* 2^(pdts + 7) */
	uint64_t pasid_dir;	/* 0 until the first attach */
	uint64_t *pasid_tables; /* [dir_entries]: each 64-entry table, 0 = not allocated */
};

static inline struct intel_dev *to_intel_dev(struct iommu_dev *dev)
{
	return dev->priv;
}

/* ---- domains ---------------------------------------------------------------------------- */

enum intel_stage {
	INTEL_STAGE_FIRST = 1,
	INTEL_STAGE_SECOND = 2,
};

enum intel_tag_type {
	INTEL_TAG_IOTLB = 0, /* (unit, DID, PASID); sorted before device-TLB tags of a unit */
	INTEL_TAG_DEVTLB = 1,
};

struct intel_cache_tag {
	struct intel_iommu *unit;
	uint8_t type; /* enum intel_tag_type */
	uint16_t did; /* IOTLB tags */
	uint16_t sid; /* device-TLB tags: the endpoint */
	uint32_t pasid;
	unsigned users;
};

struct intel_domain_unit {
	struct intel_iommu *unit;
	uint16_t did;
	unsigned refs; /* attachments (RID or PASID) on this unit */
};

struct intel_domain {
	struct iommu_domain domain; /* first */
	enum intel_stage stage;
	struct pt_table *pt;
	struct mem_alloc *alloc;
	unsigned levels;
	unsigned aw; /* second stage: the AW value (levels - 2) */
	uint64_t root;

	pthread_mutex_t lock; /* the tags and the per-unit domain IDs */
	struct intel_domain_unit *units;
	size_t nunits, units_cap;
	struct intel_cache_tag *tags;
	size_t ntags, tags_cap;
	unsigned map_flush_units; /* atomic: attached units with CM or RWBF (iotlb_sync_map) */
	int8_t prot[IOMMU_PROT_MASK + 1]; /* IOMMU_* -> PT_PROT_*, -1 = refused */
};

static inline struct intel_domain *to_intel_domain(struct iommu_domain *domain)
{
	return (struct intel_domain *)(void *)domain;
}

extern const struct iommu_ops intel_iommu_ops;
extern struct iommu_domain intel_identity_domain;
extern struct iommu_domain intel_blocked_domain;

/* ---- qi.c: descriptors, batches, submission --------------------------------------------- */

/* Up to unit->batch descriptors for one unit, sent with one wait. */
struct intel_batch {
	struct intel_iommu *unit;
	unsigned n;
	int err; /* the first error of any submission made through this batch */
	struct intel_desc d[INTEL_IOMMU_BATCH_MAX];
};

int intel_qi_init(struct intel_iommu *unit);
void intel_qi_disable(struct intel_iommu *unit);
void intel_qi_free(struct intel_iommu *unit);

void intel_batch_init(struct intel_batch *b, struct intel_iommu *unit);
void intel_batch_add(struct intel_batch *b, struct intel_desc d);
int intel_batch_flush(struct intel_batch *b);

/* Descriptor builders (digest 5.2-5.9). `size_order` is log2 of the range in 4 KiB pages. */
struct intel_desc intel_desc_cc_global(void);
struct intel_desc intel_desc_cc_device(uint16_t did, uint16_t sid);
struct intel_desc intel_desc_pc_global(void);
struct intel_desc intel_desc_pc_pasid(uint16_t did, uint32_t pasid);
struct intel_desc intel_desc_iotlb_global(const struct intel_iommu *unit);
struct intel_desc intel_desc_iotlb_dsi(const struct intel_iommu *unit, uint16_t did);
struct intel_desc intel_desc_iotlb_psi(const struct intel_iommu *unit, uint16_t did, uint64_t addr,
				       unsigned am, bool ih);
struct intel_desc intel_desc_piotlb_pasid(uint16_t did, uint32_t pasid);
struct intel_desc intel_desc_piotlb_psi(uint16_t did, uint32_t pasid, uint64_t addr, unsigned am,
					bool ih);
struct intel_desc intel_desc_devtlb(const struct intel_iommu *unit, uint16_t sid, uint64_t addr,
				    unsigned size_order);
struct intel_desc intel_desc_pdevtlb(const struct intel_iommu *unit, uint16_t sid, uint32_t pasid,
				     uint64_t addr, unsigned size_order);

/* The whole address space in a device-TLB descriptor (S = 1, ADDR[62:12] all ones). */
#define INTEL_DEVTLB_ALL_ORDER 52

/* GCMD.WBF when the unit needs it (CAP.RWBF). */
int intel_flush_write_buffer(struct intel_iommu *unit);

/* GCMD: set or clear `bit` and wait for GSTS to follow; one-shot commands wait for `done`. */
int intel_gcmd(struct intel_iommu *unit, uint32_t bit, bool set);
int intel_gcmd_oneshot(struct intel_iommu *unit, uint32_t bit, uint32_t status, bool want_set);

/*
 * Pages for the driver's structures. Physical address 0 means "none" in its bookkeeping,
 * so a run the allocator places at 0 is held (never used) until the unit is destroyed.
 */
int intel_alloc_pages(struct intel_iommu *unit, unsigned order, uint64_t *pa);

int intel_reg_read(struct intel_iommu *unit, uint64_t off, unsigned size, uint64_t *val);
int intel_reg_write(struct intel_iommu *unit, uint64_t off, unsigned size, uint64_t val);

void intel_warn(struct intel_iommu *unit, const char *what);

static inline bool intel_sid_gone(struct intel_iommu *unit, uint16_t sid)
{
	return __atomic_load_n(&unit->gone[sid / 64], __ATOMIC_RELAXED) & (1ull << (sid % 64));
}

/* ---- context.c: root and context tables ------------------------------------------------- */

int intel_root_init(struct intel_iommu *unit);
void intel_root_free(struct intel_iommu *unit);
int intel_context_table(struct intel_iommu *unit, uint16_t sid, bool alloc, uint64_t *ctx_pa);
int intel_sm_context_setup(struct intel_dev *idev);
void intel_sm_context_clear(struct intel_dev *idev);
unsigned intel_context_revoke_ats(struct intel_iommu *unit, uint16_t sid, struct intel_desc *out);
int intel_legacy_context_set(struct intel_dev *idev, uint64_t ss_root, unsigned aw, uint16_t did,
			     unsigned tt);
void intel_legacy_context_teardown(struct intel_dev *idev);

/* ---- pasid.c: PASID directory, tables, entries ------------------------------------------ */

int intel_pasid_dir_alloc(struct intel_dev *idev);
void intel_pasid_dir_free(struct intel_dev *idev);
int intel_pasid_entry(struct intel_dev *idev, uint32_t pasid, bool alloc, uint64_t *pe);
int intel_pasid_setup_fs(struct intel_dev *idev, uint32_t pasid, struct intel_domain *dom,
			 uint16_t did);
int intel_pasid_setup_ss(struct intel_dev *idev, uint32_t pasid, struct intel_domain *dom,
			 uint16_t did);
int intel_pasid_setup_pt(struct intel_dev *idev, uint32_t pasid);
void intel_pasid_teardown(struct intel_dev *idev, uint32_t pasid);
int intel_unit_pt_aw(const struct intel_iommu *unit);

/* Write a structure of `n` quad-words: q[1..n-1] first, then q[0] (with its Present bit). */
int intel_write_entry(struct mem *m, uint64_t pa, const uint64_t *q, unsigned n);
int intel_publish64(struct mem *m, uint64_t pa, uint64_t val);

/* ---- domain.c / attach.c ---------------------------------------------------------------- */

int intel_domain_alloc_paging(struct iommu_dev *dev, unsigned int flags, struct iommu_domain **out);
int intel_domain_attach_unit(struct intel_domain *dom, struct intel_iommu *unit, uint16_t *did);
void intel_domain_detach_unit(struct intel_domain *dom, struct intel_iommu *unit);
int intel_domain_compatible(struct intel_domain *dom, struct intel_iommu *unit);
int intel_did_alloc(struct intel_iommu *unit, uint16_t *did);
void intel_did_free(struct intel_iommu *unit, uint16_t did);
bool intel_is_paging(const struct iommu_domain *domain);

/* ---- cache_tag.c ------------------------------------------------------------------------- */

int intel_cache_tag_assign(struct intel_domain *dom, struct intel_dev *idev, uint16_t did,
			   uint32_t pasid);
void intel_cache_tag_unassign(struct intel_domain *dom, struct intel_dev *idev, uint16_t did,
			      uint32_t pasid);
void intel_cache_tag_flush_range(struct intel_domain *dom, uint64_t start, uint64_t last, bool ih);
void intel_cache_tag_flush_all(struct intel_domain *dom);
void intel_cache_tag_flush_range_np(struct intel_domain *dom, uint64_t start, uint64_t last);
unsigned intel_psi_mask(uint64_t start, uint64_t last, uint64_t *aligned);

#endif
