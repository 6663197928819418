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

	pthread_mutex_t lock;	       /* the register lock: regs[], fault state, ATS ports */
	uint32_t *regs;		       /* the window, one dword each */
	uint32_t *wmask;	       /* writable bits per dword */
	uint32_t *w1c;		       /* write-1-to-clear bits per dword */
	unsigned fault_next;	       /* next FRCD to use (4.4) */
	struct pci_ats_port *ats[256]; /* per bus, 256 devfns each, allocated on connect */
};

/* ---- config.c -------------------------------------------------------------------------- */
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

/* Fetch `n` naturally aligned quad-words at `pa`. 0 or -EFAULT/-EIO (a fetch error). */
static inline int vtd_fetch(struct mem *m, uint64_t pa, unsigned n, uint64_t *q)
{
	if (VTD_LIKELY(m->base != NULL)) {
		if (VTD_UNLIKELY(!mem_range_ok(m, pa, (uint64_t)n * 8)))
			return -EFAULT;
		const uint64_t *p = (const uint64_t *)(const void *)(m->base + pa);
		for (unsigned i = 0; i < n; i++)
			q[i] = __atomic_load_n(&p[i], __ATOMIC_RELAXED);
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		int r = mem_read64(m, pa + 8 * i, &q[i]);
		if (r)
			return r;
	}
	return 0;
}

/* ---- the request, decoded (translate.c) ------------------------------------------------ */

struct vtd_access {
	uint64_t addr;
	uint32_t pasid; /* the request's PASID, or RID_PASID for requests without one */
	uint16_t sid;
	uint8_t at;	/* enum pci_at */
	bool has_pasid; /* the request carried a PASID prefix */
	bool read, write, exec, priv;
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
uint8_t vtd_context_lookup(struct vtd *vtd, uint64_t root, bool scalable, uint16_t sid,
			   struct vtd_ctx *ctx, bool *fpd);

/* ---- pasid.c --------------------------------------------------------------------------- */

#define VTD_PE_FPD    (1u << 0)
#define VTD_PE_SLEE   (1u << 1)
#define VTD_PE_SLADE  (1u << 2)
#define VTD_PE_SRE    (1u << 3)
#define VTD_PE_ERE    (1u << 4)
#define VTD_PE_WPE    (1u << 5)
#define VTD_PE_NXE    (1u << 6)
#define VTD_PE_SMEP   (1u << 7)
#define VTD_PE_EAFE   (1u << 8)
#define VTD_PE_LEGACY (1u << 9) /* made from a legacy context entry: legacy fault codes */

/* What a translation needs from a PASID-table entry (or a legacy context entry). */
struct vtd_pe {
	uint64_t slptptr;
	uint64_t flptptr;
	uint16_t did;
	uint8_t pgtt;	   /* VTD_PGTT_* */
	uint8_t ss_levels; /* 3..5 (AW + 2) */
	uint8_t ss_width;  /* min(30 + 9 * AW, MGAW) */
	uint8_t fs_levels; /* 4 or 5 */
	uint16_t flags;	   /* VTD_PE_* */
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
uint8_t vtd_pasid_lookup(struct vtd *vtd, const struct vtd_ctx *ctx, uint32_t pasid,
			 struct vtd_pe *pe, bool *fpd);

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
	uint64_t epa[VTD_MAX_LEVELS]; /* physical address of each entry used, root first */
	uint64_t ev[VTD_MAX_LEVELS];  /* its value as read */
	uint64_t gpa[VTD_MAX_LEVELS]; /* nested: the entry's guest-physical address */
};

/* Second-stage walk of `iova` with the AW and SLPTPTR of `pe` (legacy rules if LEGACY). */
enum vtd_walk_status vtd_walk_ss(struct vtd *vtd, const struct vtd_pe *pe, uint64_t iova,
				 struct vtd_walk *w);
/* Set A at every level and D on the leaf (if `dirty`) of a second-stage walk (SLADE). */
enum vtd_walk_status vtd_ss_set_ad(struct vtd *vtd, const struct vtd_walk *w, bool dirty);

/* First-stage walk of `va` (nested through the second stage when pe->pgtt is NESTED). */
enum vtd_walk_status vtd_walk_fs(struct vtd *vtd, const struct vtd_pe *pe, uint64_t va,
				 struct vtd_walk *w);
/* Set A (and EA) at every level and D on the leaf (if `dirty`) of a first-stage walk. */
enum vtd_walk_status vtd_fs_set_ad(struct vtd *vtd, const struct vtd_pe *pe, struct vtd_walk *w,
				   bool dirty);

/* Compare-and-set `bits` in the entry at `pa` that was read as `seen`. */
enum vtd_walk_status vtd_entry_set_bits(struct vtd *vtd, uint64_t pa, uint64_t seen, uint64_t bits,
					uint64_t ad_mask);

#endif
