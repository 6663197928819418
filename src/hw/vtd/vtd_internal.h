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
 *   drain.c         draining the requests in flight at an IOTLB invalidation (1.6, 5.3, 5.6)
 *   cache_inv.h     the invalidation entry points the translation caches implement (5.11)
 *   cache.c         the cache engine: sets, LRU, fills and drops, generations (cache.h)
 *   caches.c        the translation caches on it and their invalidation scopes (5.11)
 *   memo.c          per-thread memos in front of the caches (memo.h)
 *   check.c         check mode, and the cache counters
 *   stats.c         vtd_get_stats()
 *
 * The request path is a chain of uncached steps - context lookup, PASID lookup, walk -
 * each a plain function of (unit, memory, inputs) returning decoded results and an
 * internal status, so a cache layer can wrap each step and a checker can call the
 * uncached step to compare. In front of it, translate.c has the common cases' fast paths
 * (docs/vtd_model.md), each of which leaves anything unusual to the full path.
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

/*
 * Counter shards: one per thread slot (memo.c hands slots out), each written only by the
 * thread that holds the slot, so that counting costs no locked instruction and no shared
 * cache line; threads beyond the slots count in the last shard with atomic additions.
 */
#define VTD_THREAD_SLOTS     64
#define VTD_CACHE_CTR_SHARDS (VTD_THREAD_SLOTS + 1)

struct vtd_cache_ctr {
	uint64_t hit, miss, fill, evict, inval;
} __attribute__((aligned(64)));

/* Summary words per set: which tags a set may hold, one bit per hashed key (cache.h). */
#define VTD_CACHE_SUMS 3

struct vtd_cset {
	uint32_t seq; /* odd while a writer is in the set; writers take it with a CAS */
	uint32_t pad;
	uint64_t free; /* bit w: way w holds no entry (writers only, under the set's lock) */
	uint64_t sum[VTD_CACHE_SUMS];
} __attribute__((aligned(64))); /* a line each: a writer in one set leaves the others' alone */

struct vtd_cache;
/* The summary bits of one valid entry (tag0, and its data words: tag1 first). */
typedef void (*vtd_cache_sum_fn)(uint64_t tag0, const uint64_t *d, uint64_t sum[VTD_CACHE_SUMS]);

struct vtd_cache {
	unsigned sets, ways;
	unsigned words; /* per entry in data[]: tag1, payload */
	unsigned set_mask;
	struct vtd_cset *set;
	uint64_t *tags;	 /* sets * ways: each entry's tag0, 0 when invalid (scanned first) */
	uint64_t *data;	 /* sets * ways * words */
	uint32_t *ver;	 /* sets * ways: each slot's version (moves with every change) */
	uint64_t *stamp; /* sets * ways: each slot's LRU stamp */
	uint64_t *sgen;	 /* the unit's structure generation: moved when a version wraps */
	uint64_t *gen;	 /* the invalidation generation its fills check (cache.h) */
	uint64_t *clock; /* its LRU clock (cache.h) */
	vtd_cache_sum_fn summarize;
	/* Every summary bit any fill ever set, cache-wide (cache.h): an invalidation whose bit
	 * is not here skips the cache without visiting a set. Never cleared. */
	uint64_t gsum[VTD_CACHE_SUMS];
	bool count_sizes; /* keep size[] (the IOTLB: tag0 bits 1:0 are the page-size code) */
	uint32_t size[4]; /* valid entries per size code, when count_sizes */
	struct vtd_cache_ctr ctr[VTD_CACHE_CTR_SHARDS];
};

/*
 * Requests in flight (drain.h): how many requests one thread began and ended in each of the
 * two epochs a drain tells apart - epoch parity p's pair at byte offset 16 p, which is the
 * parity's bit in the epoch and in a completion's flags. Written only by the thread they
 * belong to.
 */
struct vtd_drain_ctr {
	struct {
		uint64_t begun, ended;
	} p[2];
};

struct vtd_drain_shard {
	struct vtd_drain_ctr c;
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
	uint64_t fs_chk[2][6];	      /* [NXE][level]: P | reserved | PS (walk_fs.h) */
	uint64_t fs_chka[2][6];	      /* ... | A: the fast paths' (translate.c) */
	uint64_t ss_rsvd[2][6][2];    /* [legacy][level][PS] */
	uint64_t pe_rsvd[8][3];	      /* [PGTT][Q0..Q2] */
	uint64_t sm_ctx_rsvd[2];      /* scalable context entry Q0, Q1 */
	/* The uncached path's test of a first-stage PASID entry (translate.c): well-formed
	 * and supported iff (Q0 & fs_pe_chk[0]) == fs_pe_want and Q1, Q2 have no bit of
	 * fs_pe_chk[1], fs_pe_chk[2] (and Q3-Q7 are 0). */
	uint64_t fs_pe_chk[3], fs_pe_want;
	/* What a first-stage translation of an untranslated request decides from the walk's
	 * permissions (translate.c's granted() and the checks after it), as the requester
	 * memo's ptab holds it (VTD_RQ_*): by the request's R, W, X and PRIV (VTD_ACC_* bits
	 * 0-3) and the PASID entry's WPE (16) and SMEP (32), then by the walk's key
	 * (vtd_fs_key()). */
	uint16_t fs_ptab[64][16];
	bool fast_uncached;  /* translate.c's uncached_fast() may serve this unit */
	uint64_t direct_end; /* the memory reached directly: mem_size - 7, or 0 without base */
	uint64_t uf_root_chk, uf_ctx_chk, uf_dir_chk; /* ... and its entry tests */
	uint8_t pgtt_ok;			      /* bit n: PGTT n supported */

	/* The translation caches (digest 5.11; caches.c) and check mode (check.c). */
	uint64_t inv_gen __attribute__((aligned(64))); /* odd during an invalidation, sampled
							  by every walk (cache.h) */
	uint64_t ctx_gen;	       /* likewise, for context and PASID-cache invalidations */
	unsigned inv_depth, ctx_depth; /* invalidations nested in the one running (its
					  thread only) */
	uint64_t clock; /* advanced by every fill of any cache: the memos' epoch (memo.h) */
	/* The caches' LRU clocks (cache.h), each advanced by the fills of its caches: the
	 * context and PASID caches', the IOTLB's, the paging-structure caches'. */
	uint64_t sclock __attribute__((aligned(64)));
	uint64_t tclock __attribute__((aligned(64)));
	uint64_t pclock __attribute__((aligned(64)));
	struct vtd_cache ctxc, pc, iotlb;
	struct vtd_cache fspc, sspc; /* paging-structure caches: first stage, second stage */
	bool caching;		     /* any of them has entries */
	bool negative;		     /* CAP.CM: not-present entries are cached too */
	/* The request memos in front of them (memo.h), one per thread slot, and what keeps
	 * them honest: sgen moves whenever a context or PASID-cache entry goes (invalidated
	 * or evicted), every cache flush, and when check mode turns on. */
	bool memo_ok;	 /* memos may be used (caches on, no trace callback) */
	unsigned memo_n; /* entries per memo */
	uint64_t sgen __attribute__((aligned(64)));
	uint64_t drain_epoch; /* drain.h: PCI_RESP_INFLIGHT | parity bit; moved by each drain */
	uint64_t memo_mask;   /* memo entries - 1 */
	/* By thread slot (memo.c): [0] and [VTD_THREAD_SLOTS + 1] stay NULL (a thread
	 * without a slot yet, and one for which none was left). */
	struct vtd_memo *memo[VTD_THREAD_SLOTS + 2];
	bool check;			 /* check mode: compare cached translations with memory */
	uint64_t stale[VTD_CACHE_COUNT]; /* check-mode reports, by enum vtd_cache_id */
	uint64_t checked;		 /* translations check mode compared */
	uint64_t check_raced;		 /* differences no cache entry explains (check.c) */

	pthread_mutex_t lock;	       /* the register lock: regs[], fault state, ATS ports */
	uint32_t *regs;		       /* the window, one dword each */
	uint32_t *wmask;	       /* writable bits per dword */
	uint32_t *w1c;		       /* write-1-to-clear bits per dword */
	unsigned fault_next;	       /* next FRCD to use (4.4) */
	struct pci_ats_port *ats[256]; /* per bus, 256 devfns each, allocated on connect */

	/* Invalidation (inv_queue.c, reg_inv.c), under the register lock. */
	struct vtd_inv_stats inv_stats;
	bool qi_last_wait;  /* the last descriptor carried out was a wait */
	bool drain_pending; /* an IOTLB invalidation asked for a drain the next wait does */
	bool qi_draining;   /* a queue run waits for a drain with the lock released */
	bool reg_draining;  /* so does an IOTLB_REG command: the IOTLB registers are busy */
	uint64_t qi_gen;    /* moved when the queue is re-programmed, disabled or reset */
	uint64_t reg_gen;   /* moved by each IOTLB_REG drain and by a reset */

	/* Draining (drain.c): drains one at a time; which thread slots counted requests
	 * (memos: bit s - 1 for slot s; shards: bit s of the pair); the registry of units. */
	pthread_mutex_t drain_lock;
	uint64_t memo_slots;
	uint64_t shard_used[2];
	struct vtd *drain_prev, *drain_next;
	/* The counts of requests made without a memo, by thread slot (the last one, for
	 * threads without a slot, with atomic additions). */
	struct vtd_drain_shard drain_shard[VTD_THREAD_SLOTS + 2];
};

/* ---- config.c -------------------------------------------------------------------------- */
/* The precomputed masks (each in the file of the structure it describes). */
void vtd_context_init(struct vtd *vtd);
void vtd_pasid_init(struct vtd *vtd);
void vtd_walk_ss_init(struct vtd *vtd);
void vtd_walk_fs_init(struct vtd *vtd);
uint64_t vtd_config_cap(const struct vtd_config *cfg);
uint64_t vtd_config_ecap(const struct vtd_config *cfg);

/* ---- translate.c ---------------------------------------------------------------------- */
/* The request path's precomputed state (vtd->fs_ptab, vtd->fast_uncached), once the
 * configuration, memory and caches are set up. */
void vtd_translate_init(struct vtd *vtd);

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
	uint8_t neg;	   /* a cached not-present entry (CAP.CM): its fault reason, else 0 */
	uint32_t flags;	   /* VTD_PE_* */
};

/* ---- memo.h's tables --------------------------------------------------------------- */

/*
 * The request memo (memo.h): per thread and unit, a direct-mapped table of translations
 * the caches gave, keyed by what a request carries. 64 bytes an entry.
 */
struct vtd_memo_ent {
	uint64_t req;		    /* the request word: PASID field, requester ID, AT, flags */
	uint64_t page;		    /* input address >> 12 */
	uint64_t out;		    /* output address of the 4 KiB page */
	uint64_t sgen;		    /* the unit's structure generation when the entry was made */
	const uint32_t *verp;	    /* the version of the IOTLB slot it stands for ... */
	uint32_t ver;		    /* ... and its value */
	uint32_t clock;		    /* the memos' epoch when its cache entries were last touched */
	uint32_t page_size;	    /* of the translation (1 GiB at most) */
	uint32_t ctx_slot, pc_slot; /* the context- and PASID-cache slots it stands for, for
				       their LRU stamps (pc_slot ~0: none) */
	uint8_t perm;		    /* the completion's permissions */
} __attribute__((aligned(64)));

/*
 * The requester memo (memo.h): per thread and unit, a direct-mapped table of what the
 * context and PASID caches decided for one kind of request, and what follows from it for
 * the caches behind (tags and hash parts). 128 bytes an entry.
 */
#define VTD_MEMO_RQ_N 64

struct vtd_memo_rq {
	uint64_t req;		    /* the request word (memo.h), whole */
	uint64_t sgen;		    /* the unit's structure generation when it was made */
	struct vtd_pe pe;	    /* scalable: the PASID entry; legacy: from the context entry */
	uint32_t ctx_slot, pc_slot; /* the cache slots it stands for (pc_slot: ~0 for none) */
	uint32_t pasid;		    /* the PASID used (the request's, or RID_PASID) */
	uint8_t acc;		    /* VTD_ACC_* of the request, RID_PRIV applied */
	uint8_t pass;		    /* a translated request: it passes */
	uint8_t fpd;		    /* FPD was set on the way */
	uint8_t cshift;		    /* first stage: an input address is canonical (4.1) when
				       shifting it left and arithmetically right by this much
				       gives it back */
	/* First stage (PGTT 001) only, from the PASID entry: */
	uint64_t tag1;		      /* the IOTLB's and first-stage PSC's tag1: DID, PASID */
	uint64_t imix;		      /* the DID's part of the IOTLB set hash */
	uint64_t fmix;		      /* tag1's part of the first-stage PSC set hash */
	uint64_t sum[VTD_CACHE_SUMS]; /* the IOTLB's summary bits of its entries */
	uint64_t sclock;	      /* the context and PASID caches' LRU clock when their
					 entries' stamps were last refreshed from here */
	uint64_t pad2;
	/* What a first-stage translation decides for this request, by its permissions: the
	 * completion's PCI_PERM_* bits, whether they cover what the request needs (and an ATS
	 * request is granted something), whether it sets D, and the walk's permissions as
	 * VTD_XL_* bits - indexed by the walk's key (vtd_fs_key()). translate.c:
	 * rq_perm_table(). */
	uint16_t ptab[16];
	uint64_t pad3[4];
};

#define VTD_RQ_OK	(1u << 8) /* ptab: the request may go on */
#define VTD_RQ_DIRTY	(1u << 9) /* ptab: and it sets D on the leaf */
#define VTD_RQ_XL_SHIFT 10	  /* ptab: the walk's VTD_XL_* R, W, X, U/S, G from bit 10 */

/*
 * The permission tables' index for a first-stage walk (4.1) whose entries ANDed are
 * `and_all` and ORed `or_all`, with leaf `leaf`: XD ORed over the levels (bit 0), R/W and
 * U/S ANDed (bits 1 and 2, where the entries have them), the leaf's G (bit 3).
 */
#define VTD_FSKEY_XD 1u
#define VTD_FSKEY_W  2u
#define VTD_FSKEY_US 4u
#define VTD_FSKEY_G  8u

static inline unsigned vtd_fs_key(uint64_t and_all, uint64_t or_all, uint64_t leaf)
{
	_Static_assert(VTD_FL_RW == VTD_FSKEY_W && VTD_FL_US == VTD_FSKEY_US &&
			   VTD_FL_XD == 1ull << 63 && VTD_FL_G == VTD_FSKEY_G << 5,
		       "first-stage bits as the key's");
	return (unsigned)((and_all & (VTD_FL_RW | VTD_FL_US)) | (or_all >> 63) |
			  ((leaf >> 5) & VTD_FSKEY_G));
}

/*
 * The paging-structure memo (memo.h): per thread and unit, a direct-mapped table of
 * first-stage PDEs the paging-structure cache gave - the leaf tables of recent walks.
 */
#define VTD_MEMO_PSC_N 64

struct vtd_memo_psc {
	uint64_t tag0, tag1;  /* the PSC entry's tags (level 2, DID and PASID) */
	uint64_t word;	      /* its payload word 0: the leaf table and the bits above */
	uint64_t sgen;	      /* the unit's structure generation when it was made */
	const uint32_t *verp; /* the version of the PSC slot it stands for ... */
	uint32_t ver;	      /* ... and its value */
	uint32_t slot;	      /* that slot (for its LRU stamp) */
	uint64_t clock;	      /* the cache's LRU clock when the stamp was last refreshed */
	uint64_t pad;
};

struct vtd_memo_ctr {
	uint64_t hit, miss, fill, evict;
};

struct vtd_memo {
	/* The requests this thread has in flight through the unit's agent (drain.h): first,
	 * so that the epoch's bit is their offset, and on the line a hit writes anyway. */
	struct vtd_drain_ctr drain;
	/* The two common outcomes behind a requester-memo hit on a first-stage entry, each
	 * one counter for the hits and misses they are (vtd_memo_counters): an IOTLB hit,
	 * and an IOTLB miss whose walk started at a cached PDE. */
	uint64_t fast_hit, fast_miss;
	/* ... and such a miss whose IOTLB fill went in: an IOTLB fill too. */
	uint64_t fast_fill;
	/* Hits served, for the cache counters (legacy mode has no PASID-cache lookup). Every
	 * entry that can hit was made in the unit's current mode (a root change moves the
	 * structure generation), so one counter runs, for `legacy`; `done` holds the counts
	 * of earlier modes. Written by the owner only. */
	uint64_t hits;
	uint64_t done[2]; /* [0] scalable, [1] legacy */
	bool legacy;
	/* What the path behind the memo counted (translate.c's requester-memo path): cache
	 * counters by enum vtd_cache_id, summed with the caches' own (vtd_memo_counters). */
	struct vtd_memo_ctr ctr[VTD_CACHE_COUNT];
	struct vtd_memo_rq *rq;	   /* VTD_MEMO_RQ_N requester entries */
	struct vtd_memo_psc *psc;  /* VTD_MEMO_PSC_N paging-structure entries */
	struct vtd_memo_ent ent[]; /* cache-line aligned */
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
#define VTD_NEG_FS 1 /* negative entry (CAP.CM): the first stage said not present */
#define VTD_NEG_SS 2 /* negative entry (CAP.CM): the second stage said not present */

struct vtd_iotlb_ent {
	uint64_t out;	/* output address of the page base */
	unsigned shift; /* 12, 21, 30 */
	unsigned fs;	/* VTD_XL_* of the first stage (all for none) */
	unsigned ss;	/* VTD_XL_* of the second stage (all for none) */
	unsigned pgtt;	/* the PGTT that produced it */
	bool clean;	/* a write needs no A/D update */
	uint8_t neg;	/* VTD_NEG_*: a page that is not present, 0 for a translation */
};

/* Where a walk starts: its root table, or the table below a cached paging-structure
 * entry (caches.h) with the permissions gathered above it. */
struct vtd_walk_start {
	uint64_t table;	  /* (host-)physical address of the table at `lvl` */
	uint64_t gtable;  /* nested first stage: its guest-physical address */
	uint64_t and_all; /* AND of the entries above (all ones for the root) */
	uint64_t or_all;  /* OR of the entries above (first stage: XD) */
	uint8_t lvl;	  /* the level of `table` */
	uint8_t from;	  /* the level of the cached entry (lvl + 1) */
};

/* One request's trip through the unit, besides the request itself (translate.c). */
#define VTD_RUN_HIT_CTX	  (1u << 0) /* the context cache served the context entry */
#define VTD_RUN_HIT_PC	  (1u << 1) /* the PASID cache served the PASID entry */
#define VTD_RUN_HIT_IOTLB (1u << 2) /* the IOTLB served the translation */
#define VTD_RUN_HIT_FSPC  (1u << 3) /* a first-stage walk started from its cache */
#define VTD_RUN_HIT_SSPC  (1u << 4) /* the last second-stage walk started from its cache */
#define VTD_RUN_HIT_SSPC_NESTED                                                                    \
	(1u << 5) /* a second-stage walk of a nested first-stage table started from its cache */

struct vtd_run {
	uint64_t root;	    /* the latched root-table state (TE, TTM, RTA) used */
	uint64_t gen;	    /* invalidation generation, sampled before any table is read */
	uint64_t cgen;	    /* context/PASID-cache invalidation generation, likewise */
	uint64_t sgen;	    /* structure generation (memo.h), sampled before that */
	unsigned hits;	    /* VTD_RUN_HIT_* */
	bool dry;	    /* check mode's reference: no caches, no A/D writes, no fault records */
	struct vtd_ctx ctx; /* the context entry used (with VTD_RUN_HIT_CTX) */
	struct vtd_pe pe;   /* the PASID entry used (from the PASID cache with VTD_RUN_HIT_PC) */
	struct vtd_iotlb_ent ent;  /* the IOTLB entry used (with VTD_RUN_HIT_IOTLB) */
	struct vtd_walk_start fsp; /* the first-stage cache entry used (VTD_RUN_HIT_FSPC) */
	struct vtd_walk_start ssp; /* the second-stage one (VTD_RUN_HIT_SSPC) */
	uint64_t ss_in;		   /* ... and the input address of that second-stage walk */
	uint16_t did;		   /* the domain of the translation (IOTLB tag) */
	uint32_t pasid;		   /* the PASID used (request's or RID_PASID) */
	int ctx_slot, pc_slot;	   /* their cache slots, -1 if not cached */
	struct vtd_memo *memo;	   /* this thread's memo of the unit, if it has one yet */
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

/*
 * The reason code of a second-stage walk that stopped at `s` in scalable mode (digest 7,
 * SSL.*): the same whether the walk translated the request or, nested, a first-stage
 * structure's address - except an input wider than the tables, whose code each caller
 * gives (`width`: SGN.4 for the request's address, SFL.5 for a first-stage pointer).
 * Anything else a walk can end with is SSL.6.
 */
static inline uint8_t vtd_ss_walk_reason(enum vtd_walk_status s, uint8_t width)
{
	switch (s) {
	case VTD_WALK_WIDTH:
		return width;
	case VTD_WALK_FETCH_ROOT:
		return VTD_FR_SSL_4;
	case VTD_WALK_FETCH:
		return VTD_FR_SSL_1;
	case VTD_WALK_NOT_PRESENT:
		return VTD_FR_SSL_2;
	case VTD_WALK_RSVD:
		return VTD_FR_SSL_3;
	default:
		return VTD_FR_SSL_6;
	}
}

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
	uint64_t table;		      /* the table the walk started in ... */
	uint8_t top;		      /* ... its level ... */
	uint64_t and0, or0;	      /* ... and the bits gathered above it */
	struct vtd_run *run;	      /* nested with caches: the translation's run */
	bool dry; /* set by the caller: check mode's reference walk - every check of the A/D
		     update (vtd_fs_set_ad) and of a nested walk, none of their writes */
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
