/* SPDX-License-Identifier: MIT */
/*
 * The VT-d model's insides, shared by its files (one spec chapter each):
 *   config.c        the configuration, CAP/ECAP (digest 1.2, 1.3)
 *   regs.c          the register window and GCMD (1.1, 1.4-1.7)
 *   fault.c         fault recording and the fault event (1.8, 4.3, 4.4)
 *   root_context.c  root and context entries (2.x)
 *   pasid.c         PASID directory and table entries (3.x)
 *   walk_ss.c       second-stage tables (4.2)
 *   walk_fs.c       first-stage tables and nesting (4.1)
 *   translate.c     the request path that ties them together (2.5)
 *   inv_queue.c     queued invalidation: the queue, every descriptor, IQE/ITE/ICE (1.7, 5)
 *   reg_inv.c       register-based invalidation: CCMD, IOTLB_REG, IVA_REG (1.6)
 *   cache_inv.h     the invalidation entry points the translation caches implement (5.11)
 *   stats.c         vtd_get_stats()
 *
 * The request path is a chain of uncached steps - context lookup, PASID lookup, walk -
 * each a plain function of (unit, memory, inputs) returning decoded results and an
 * internal status, so a cache layer can wrap each step and a checker can call the
 * uncached step to compare.
 */
#ifndef SOFTIOMMU_HW_VTD_INTERNAL_H
#define SOFTIOMMU_HW_VTD_INTERNAL_H

#include <softiommu/vtd.h>

#include <pthread.h>

#define VTD_LIKELY(x)	__builtin_expect(!!(x), 1)
#define VTD_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The latched root-table state that translations read with one atomic load. */
#define VTD_ROOT_TE	  VTD_BIT(0) /* GSTS.TES */
#define VTD_ROOT_TTM_MASK VTD_RTADDR_TTM_MASK
#define VTD_ROOT_RTA_MASK VTD_RTADDR_RTA_MASK

/* ---- the cache engine's state (cache.h has its functions) ------------------------------ */

#define VTD_CACHE_CTR_SHARDS 16

/* Counters, sharded by thread so that hits on many threads do not share a cache line. */
struct vtd_cache_ctr {
	uint64_t hit, miss, fill, evict, inval;
} __attribute__((aligned(64)));

struct vtd_cset {
	uint32_t seq;  /* odd while a writer changes the set */
	uint32_t busy; /* writer flag */
};

struct vtd_cache {
	unsigned sets, ways;
	unsigned words; /* per entry in data[]: tag1, stamp, payload */
	unsigned set_mask;
	struct vtd_cset *set;
	uint64_t *tags; /* sets * ways: each entry's tag0, 0 when invalid (scanned first) */
	uint64_t *data; /* sets * ways * words */
	uint64_t epoch;
	struct vtd_cache_ctr ctr[VTD_CACHE_CTR_SHARDS];
};

/*
 * One request-cache entry (caches.h): the combined answer of the context, PASID and IOTLB
 * caches for a (source-id, PASID, 4 KiB page). 64 bytes; seq is its writer's flag.
 */
struct vtd_fast_ent {
	uint64_t seq;
	uint64_t key0, key1;
	uint64_t gen;
	uint64_t out;	/* output address of the 4 KiB input page */
	uint64_t info;	/* shift | clean | pgtt | fs perm | ss perm | context flags */
	uint64_t flags; /* the PASID entry's VTD_PE_* flags */
	uint64_t pad;	/* IOTLB slot | PASID-cache slot << 32 (for their LRU) */
} __attribute__((aligned(64)));

struct vtd_msi {
	bool fault; /* send the fault event */
	bool inv;   /* send the invalidation completion event */
	uint32_t fault_data, inv_data;
	uint64_t fault_addr, inv_addr;
};

struct vtd {
	struct vtd_config cfg;
	struct mem *mem;
	struct vtd_callbacks cb;
	void *cb_ctx;
	uint64_t cap, ecap;
	uint64_t mmio_size;
	uint64_t ptr_rsvd;  /* bits haw..63: reserved in structure pointers */
	uint64_t addr_rsvd; /* bits haw..51: reserved in page-table addresses */
	uint32_t did_mask;
	uint32_t pasid_limit; /* 2^pasid_bits (0 without PASID support) */
	uint64_t root;	      /* VTD_ROOT_*: RTA | TTM | TE, atomic */

	/* The walk's fast path: memory reached directly, and the reserved-bit masks of every
	 * entry kind precomputed from the configuration (see each file's _init). */
	const uint8_t *base; /* mem->base, or NULL to go through mem_read64 */
	uint64_t mem_size;
	uint64_t fs_rsvd[2][2][6][2]; /* [nested][NXE][level][PS] */
	uint64_t ss_rsvd[2][6][2];    /* [legacy][level][PS] */
	uint64_t pe_rsvd[8][3];	      /* [PGTT][Q0..Q2] */
	uint64_t sm_ctx_rsvd[2];      /* scalable context entry Q0, Q1 */
	uint8_t pgtt_ok;	      /* bit n: PGTT n supported */

	/* The translation caches (digest 5.11; caches.c) and check mode (check.c). */
	uint64_t inv_gen; /* bumped by every invalidation, sampled by every walk */
	struct vtd_cache ctxc, pc, iotlb;
	bool caching; /* any of them has entries */
	/* The request cache in front of them (caches.h): valid while fast_gen holds. */
	struct vtd_fast_ent *fast;
	unsigned fast_shift; /* 64 - log2(entries): the slot is the hash's top bits */
	uint64_t fast_gen;   /* bumped by every invalidation and every eviction */
	uint64_t fast_hits[VTD_CACHE_CTR_SHARDS][8]; /* [shard][0]: scalable, [1]: legacy */
	bool check;			 /* check mode: compare cached translations with memory */
	uint64_t stale[VTD_CACHE_COUNT]; /* check-mode reports, by enum vtd_cache_id */
	uint64_t checked;		 /* translations check mode compared */

	pthread_mutex_t lock;	       /* the register lock: regs[], fault state, ATS ports */
	uint32_t *regs;		       /* the window, one dword each */
	uint32_t *wmask;	       /* writable bits per dword */
	uint32_t *w1c;		       /* write-1-to-clear bits per dword */
	unsigned fault_next;	       /* next FRCD to use (4.4) */
	struct pci_ats_port *ats[256]; /* per bus, 256 devfns each, allocated on connect */

	/* Invalidation (inv_queue.c, reg_inv.c), under the register lock. */
	struct vtd_inv_stats inv_stats;
	bool qi_last_wait; /* the last descriptor carried out was a wait */
};

/* ---- config.c -------------------------------------------------------------------------- */
/* The precomputed masks (each in the file of the structure it describes). */
void vtd_context_init(struct vtd *vtd);
void vtd_pasid_init(struct vtd *vtd);
void vtd_walk_ss_init(struct vtd *vtd);
void vtd_walk_fs_init(struct vtd *vtd);
uint64_t vtd_config_cap(const struct vtd_config *cfg);
uint64_t vtd_config_ecap(const struct vtd_config *cfg);

/* ---- regs.c ---------------------------------------------------------------------------- */
static inline uint64_t vtd_reg64(const struct vtd *vtd, unsigned off)
{
	return vtd->regs[off / 4] | (uint64_t)vtd->regs[off / 4 + 1] << 32;
}
static inline void vtd_set_reg64(struct vtd *vtd, unsigned off, uint64_t v)
{
	vtd->regs[off / 4] = (uint32_t)v;
	vtd->regs[off / 4 + 1] = (uint32_t)(v >> 32);
}
/* Deliver interrupts collected under the lock; call with the lock released. */
void vtd_send_msi(struct vtd *vtd, const struct vtd_msi *msi);

static inline void vtd_trace(struct vtd *vtd, const struct vtd_trace_event *ev)
{
	if (VTD_UNLIKELY(vtd->cb.trace != NULL))
		vtd->cb.trace(vtd->cb_ctx, ev);
}

/* ---- inv_queue.c (all with the register lock held) ------------------------------------ */
/* True if a write to `off` must be ignored (IQA while QI is enabled). */
bool vtd_qi_write_blocked(const struct vtd *vtd, unsigned off);
/* IQA was written: IQH and IQT go back to 0. */
void vtd_qi_iqa_written(struct vtd *vtd);
/* GSTS.QIES changed to `enabled` (disabling resets IQH to 0). */
void vtd_qi_enable_changed(struct vtd *vtd, bool enabled);
/* Process the queue if it may run (QIES, no IQE/ITE, IQH != IQT). Cheap when it may not. */
void vtd_qi_kick(struct vtd *vtd, struct vtd_msi *msi);

/* ---- reg_inv.c (register lock held) ---------------------------------------------------- */
/* The high dword of CCMD_REG / IOTLB_REG was written: run the command if ICC / IVT is set. */
void vtd_ccmd_written(struct vtd *vtd);
void vtd_iotlb_reg_written(struct vtd *vtd, unsigned iotlb_off);

/* ---- fault.c --------------------------------------------------------------------------- */
/* Set FSTS status bit(s) `bit` (PPF/IQE/ICE/ITE) with the 1.8 interrupt rule. Lock held. */
void vtd_fsts_raise(struct vtd *vtd, uint32_t bit, struct vtd_msi *msi);
/* After software cleared FSTS bits or FRCD.F: recompute PPF, clear FECTL.IP if idle. */
void vtd_fsts_update(struct vtd *vtd);
/* FECTL written: deliver a pending event if IM was cleared. Lock held. */
void vtd_fectl_written(struct vtd *vtd, struct vtd_msi *msi);
/* True if `reason` is a qualified fault (suppressed by FPD), digest 4.3. */
bool vtd_fault_qualified(uint8_t reason);
/*
 * Report a fault detected for `req`: record it (4.4) unless FPD suppresses it and fill
 * resp (UR, reason, PCI_RESP_FAULT_RECORDED). Takes the register lock.
 */
void vtd_fault(struct vtd *vtd, const struct pci_req *req, uint8_t reason, bool fpd,
	       struct pci_resp *resp);

/* ---- memory access --------------------------------------------------------------------- */

/*
 * Fetch `n` quad-words at `pa` (naturally aligned by construction: every structure
 * address is a 4 KiB-aligned pointer plus a scaled index). 0, or -EFAULT / a backend error
 * (a fetch error for the caller). vtd->base is only set when memory is at least 64 bytes,
 * so mem_size - 8 * n cannot wrap for n <= 8.
 */
static inline __attribute__((always_inline)) int vtd_fetch(const struct vtd *vtd, uint64_t pa,
							   unsigned n, uint64_t *q)
{
	if (VTD_LIKELY(vtd->base != NULL)) {
		if (VTD_UNLIKELY(pa > vtd->mem_size - 8 * n))
			return -EFAULT;
		const uint64_t *p = (const uint64_t *)(const void *)(vtd->base + pa);
		/* Acquire: software zeroes a table (and writes a buffer) before it publishes
		 * the entry that points there with a release store or CAS; the walk that
		 * follows the pointer must see that work (a plain load on x86, as the
		 * hardware's ordered walk). Relaxed loads were a data race in C11. */
#pragma GCC unroll 8
		for (unsigned i = 0; i < n; i++)
			q[i] = __atomic_load_n(&p[i], __ATOMIC_ACQUIRE);
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		int r = mem_read64(vtd->mem, pa + 8 * i, &q[i]);
		if (r)
			return r;
	}
	return 0;
}

/* ---- the request, decoded (translate.c) ------------------------------------------------ */

/* struct vtd_access.acc */
#define VTD_ACC_R     (1u << 0) /* read (also for execute and atomics) */
#define VTD_ACC_W     (1u << 1) /* write */
#define VTD_ACC_X     (1u << 2) /* execute (PASID prefix ER) */
#define VTD_ACC_PRIV  (1u << 3) /* supervisor (PASID prefix PMR, or RID_PRIV) */
#define VTD_ACC_PASID (1u << 4) /* the request carried a PASID prefix */
#define VTD_ACC_ATS   (1u << 5) /* a translation request: permissions reported, not checked */

struct vtd_access {
	uint64_t addr;
	uint32_t pasid; /* the request's PASID, or RID_PASID for requests without one */
	uint16_t sid;
	uint8_t at;  /* enum pci_at */
	uint8_t acc; /* VTD_ACC_* */
};

/* ---- root_context.c -------------------------------------------------------------------- */

#define VTD_CTX_FPD	 (1u << 0)
#define VTD_CTX_DTE	 (1u << 1) /* scalable DTE, or legacy TT = 01 */
#define VTD_CTX_PASIDE	 (1u << 2)
#define VTD_CTX_PRE	 (1u << 3)
#define VTD_CTX_RID_PRIV (1u << 4)

/* A context entry, decoded and checked. */
struct vtd_ctx {
	uint64_t ptr;	    /* legacy: SLPTPTR; scalable: PASID directory */
	uint32_t rid_pasid; /* scalable; 0 without ECAP.RPS */
	uint16_t did;	    /* legacy */
	uint8_t tt;	    /* legacy */
	uint8_t aw;	    /* legacy */
	uint8_t pdts;	    /* scalable */
	uint8_t flags;	    /* VTD_CTX_* */
};

/*
 * Find and check the context entry of `sid` under root state `root`. Returns 0 or a
 * fault reason; on a fault, *fpd says whether FPD was known set (a present or not-present
 * context entry was read). Legacy when `scalable` is false.
 */
uint8_t vtd_legacy_context(struct vtd *vtd, uint64_t root, uint16_t sid, struct vtd_ctx *ctx,
			   bool *fpd);
/* static inline uint8_t vtd_context_lookup(vtd, root, scalable, sid, ctx, fpd): root_context.h */

/* ---- pasid.c --------------------------------------------------------------------------- */

/* struct vtd_pe.flags: the PASID entry's Q0 bits 11:0 as they are and its Q2 bits 7:0
 * moved to 23:16, so decoding is two masks and a shift. */
#define VTD_PE_FPD    ((uint32_t)VTD_PE_Q0_FPD)
#define VTD_PE_SLEE   ((uint32_t)VTD_PE_Q0_SLEE)
#define VTD_PE_SLADE  ((uint32_t)VTD_PE_Q0_SLADE)
#define VTD_PE_SRE    ((uint32_t)VTD_PE_Q2_SRE << 16)
#define VTD_PE_ERE    ((uint32_t)VTD_PE_Q2_ERE << 16)
#define VTD_PE_WPE    ((uint32_t)VTD_PE_Q2_WPE << 16)
#define VTD_PE_NXE    ((uint32_t)VTD_PE_Q2_NXE << 16)
#define VTD_PE_SMEP   ((uint32_t)VTD_PE_Q2_SMEP << 16)
#define VTD_PE_EAFE   ((uint32_t)VTD_PE_Q2_EAFE << 16)
#define VTD_PE_LEGACY (1u << 30) /* made from a legacy context entry: legacy fault codes */

/* What a translation needs from a PASID-table entry (or a legacy context entry). */
struct vtd_pe {
	uint64_t slptptr;
	uint64_t flptptr;
	uint16_t did;
	uint8_t pgtt;	   /* VTD_PGTT_* */
	uint8_t ss_levels; /* 3..5 (AW + 2) */
	uint8_t ss_width;  /* min(30 + 9 * AW, MGAW) */
	uint8_t fs_levels; /* 4 or 5 */
	uint32_t flags;	   /* VTD_PE_* */
};

/* 2.3: second-stage input width of AW value `aw`, limited by MGAW. */
static inline uint8_t vtd_ss_width(const struct vtd *vtd, unsigned aw)
{
	unsigned w = 30 + 9 * aw;

	return (uint8_t)(w < vtd->cfg.mgaw ? w : vtd->cfg.mgaw);
}

/*
 * Find and check the PASID-table entry of `pasid` below scalable context `ctx`.
 * Returns 0 or a fault reason; *fpd collects FPD from the entries read (digest 2.5.7).
 */
/* static inline uint8_t vtd_pasid_lookup(vtd, ctx, pasid, pe, fpd): pasid.h */

/* What an IOTLB entry holds (and what a walk produced): see translate.c's struct xl. */
struct vtd_iotlb_ent {
	uint64_t out;	/* output address of the page base */
	unsigned shift; /* 12, 21, 30 */
	unsigned fs;	/* VTD_XL_* of the first stage (all for none) */
	unsigned ss;	/* VTD_XL_* of the second stage (all for none) */
	unsigned pgtt;	/* the PGTT that produced it */
	bool clean;	/* a write needs no A/D update */
};

/* One request's trip through the unit, besides the request itself (translate.c). */
#define VTD_RUN_HIT_CTX	  (1u << 0) /* the context cache served the context entry */
#define VTD_RUN_HIT_PC	  (1u << 1) /* the PASID cache served the PASID entry */
#define VTD_RUN_HIT_IOTLB (1u << 2) /* the IOTLB served the translation */

struct vtd_run {
	uint64_t gen;	    /* invalidation generation, sampled before any table is read */
	unsigned hits;	    /* VTD_RUN_HIT_* */
	bool dry;	    /* check mode's reference: no caches, no A/D writes, no fault records */
	struct vtd_ctx ctx; /* the context entry used (with VTD_RUN_HIT_CTX) */
	struct vtd_pe pe;   /* the PASID entry used (with VTD_RUN_HIT_PC) */
	struct vtd_iotlb_ent ent; /* the IOTLB entry used (with VTD_RUN_HIT_IOTLB) */
	uint16_t did;		  /* the domain of the translation (IOTLB tag) */
	uint32_t pasid;		  /* the PASID used (request's or RID_PASID) */
	uint64_t fgen;		  /* request-cache generation, sampled first */
	uint8_t ctx_flags;	  /* VTD_CTX_* of the context entry used */
	int ctx_slot, pc_slot;	  /* their cache slots, -1 if not cached */
};

/* The request path with run->dry: an uncached walk of memory as it is now (translate.c). */
void vtd_translate_ref(struct vtd *vtd, const struct pci_req *req, struct pci_resp *resp);
/* Check mode: compare a cache-served completion with memory, report (check.c). */
void vtd_check(struct vtd *vtd, const struct pci_req *req, const struct pci_resp *resp,
	       const struct vtd_run *run);

/* ---- walks (walk_ss.c, walk_fs.c) ------------------------------------------------------ */

/* The walks' own outcomes; the caller maps them to reason codes for its mode. */
enum vtd_walk_status {
	VTD_WALK_OK = 0,
	VTD_WALK_WIDTH,	      /* input beyond the table's width / not canonical */
	VTD_WALK_FETCH_ROOT,  /* the root-level table could not be read */
	VTD_WALK_FETCH,	      /* a lower-level table could not be read */
	VTD_WALK_NOT_PRESENT, /* an entry is not present (SS: R = W = 0 in a non-leaf) */
	VTD_WALK_RSVD,	      /* reserved bits set in a present entry */
	VTD_WALK_AD_FAIL,     /* an accessed/dirty update could not be written */
	VTD_WALK_RETRY,	      /* an entry changed under an A/D update: walk again */
	VTD_WALK_NESTED,      /* nested: the SS translation of an FS structure failed;
				 the reason code is in walk.fault */
};

/* Permissions a translation grants (VTD_XL_*), before the request is checked. */
#define VTD_XL_R   (1u << 0)
#define VTD_XL_W   (1u << 1)
#define VTD_XL_X   (1u << 2) /* SS: X (SLEE) or R; FS: not XD */
#define VTD_XL_US  (1u << 3) /* FS: U/S set at every level */
#define VTD_XL_G   (1u << 4) /* FS leaf G */
#define VTD_XL_SSX (1u << 5) /* nested: the SS part allows execute */

#define VTD_MAX_LEVELS 5

/* One walk: the result and where its entries live (for A/D updates). */
struct vtd_walk {
	uint64_t out;		      /* output address of the input address */
	uint8_t shift;		      /* page size: 12, 21 or 30 */
	uint8_t perm;		      /* VTD_XL_* */
	uint8_t nlev;		      /* entries used */
	uint8_t fault;		      /* VTD_WALK_NESTED: the reason code */
	uint64_t and_all;	      /* AND of the entries used: which A bits are already set */
	uint64_t epa[VTD_MAX_LEVELS]; /* physical address of each entry used, root first
					 (second stage and nested; see vtd_fs_entry_pa) */
	uint64_t ev[VTD_MAX_LEVELS];  /* its value as read */
	uint64_t gpa[VTD_MAX_LEVELS]; /* nested: the entry's guest-physical address */
	uint64_t va;		      /* first stage: the input address */
};

/* Second-stage walk of `iova` with the AW and SLPTPTR of `pe` (legacy rules if LEGACY). */
/* static inline enum vtd_walk_status vtd_walk_ss(vtd, pe, iova, w): walk_ss.h */
/* Set A at every level and D on the leaf (if `dirty`) of a second-stage walk (SLADE). */
enum vtd_walk_status vtd_ss_set_ad(struct vtd *vtd, const struct vtd_walk *w, bool dirty);

/* First-stage walk of `va` (nested through the second stage when pe->pgtt is NESTED). */
/* static inline enum vtd_walk_status vtd_walk_fs(vtd, pe, va, w): walk_fs.h */
/* Set A (and EA) at every level and D on the leaf (if `dirty`) of a first-stage walk. */
enum vtd_walk_status vtd_fs_set_ad(struct vtd *vtd, const struct vtd_pe *pe, struct vtd_walk *w,
				   bool dirty);

/* Compare-and-set `bits` in the entry at `pa` that was read as `seen`. */
enum vtd_walk_status vtd_entry_set_bits(struct vtd *vtd, uint64_t pa, uint64_t seen, uint64_t bits,
					uint64_t ad_mask);

#endif
