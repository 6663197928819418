/* SPDX-License-Identifier: MIT */
/*
 * softiommu VT-d hardware model: one DMA-remapping unit (DRHD) of an Intel VT-d IOMMU.
 *
 * Software reaches the unit the way a kernel reaches silicon: 32- and 64-bit MMIO accesses
 * to its register window (offsets and fields in <softiommu/vtd_regs.h>) and the root,
 * context, PASID and page tables it writes into physical memory (<softiommu/mem.h>).
 * Devices reach it through the PCI request interface (<softiommu/pci.h>): the unit is a
 * `struct pci_translation_agent`. Events leave it through per-instance callbacks.
 *
 * What is modelled (section numbers are the VT-d digest's): the register map with its
 * access rules (1.x); legacy and scalable-mode root and context entries (2.x); PASID
 * directory and table (3.x); first-stage (4/5-level x86-64), second-stage (3/4/5-level),
 * nested and pass-through translation with 4 KiB / 2 MiB / 1 GiB pages, permission,
 * reserved-bit, width and interrupt-range checks and accessed/dirty updates (4.1, 4.2);
 * the architected fault reason codes, FPD, fault recording and the fault event (4.3, 4.4,
 * 1.8); ATS translation requests and translated requests; queued invalidation with every
 * descriptor type, its errors (IQE, ITE, ICE) and the invalidation completion event, and
 * register-based invalidation (1.6, 1.7, 5.1-5.9), forwarding device-TLB invalidations to
 * the endpoints (vtd_connect_ats).
 * Not modelled: interrupt remapping (IR can be advertised so that its registers exist,
 * but interrupt requests are not translated), page requests (PRS = 0), advanced fault
 * logging, protected memory regions, memory types (MTS = 0), performance monitoring.
 *
 * Errors are negative errno values.
 *
 * Locking: a `struct vtd` may be used from many threads at once.
 *   - The translation caches are read without locks (each set has a sequence counter that
 *     readers check and that fills and invalidations take with a compare-and-swap), so
 *     translating threads do not contend on hits; an invalidation is complete when it
 *     returns, and a walk that started before it never refills the cache with what it read.
 *     Each thread also keeps per unit a private table of recent translations (up to 64
 *     threads at once get one; more are served through the caches themselves), checked
 *     against the caches' versions on every use: an IOTLB hit writes nothing another thread
 *     reads, and a hit counter is per thread.
 *   - MMIO accesses are serialized by the unit's register lock.
 *   - vtd_translate() takes no lock on its path through memory: it reads the latched
 *     root-table state (TE, RTADDR, TTM) with one atomic load and walks the tables with
 *     8-byte single-copy-atomic loads; accessed/dirty updates use compare-and-exchange.
 *     It takes the register lock only to record a fault. A translation racing with a
 *     GCMD write (TE, SRTP) sees either the state before or the state after it.
 *   - Queued and register-based invalidations are carried out inside the MMIO write that
 *     starts them (an IQT, GCMD.QIE, FSTS, CCMD or IOTLB_REG write), with the register lock
 *     held; so are the calls to a connected ATS port (see vtd_connect_ats()). The exception
 *     is a drain (vtd_translation_agent()): the write waits for requests in flight with the
 *     register lock released, so other register accesses and faulting translations go on.
 *   - fault_event and inv_event callbacks are called with no model lock held, from the
 *     thread whose access or translation caused the event; they may call back into the
 *     model. The trace callback may be called with the register lock held and must not
 *     call any vtd_* function.
 */
#ifndef SOFTIOMMU_VTD_H
#define SOFTIOMMU_VTD_H

#include <stdbool.h>
#include <stdint.h>

#include <softiommu/mem.h>
#include <softiommu/pci.h>
#include <softiommu/vtd_regs.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vtd;

/* One set-associative cache: `sets` x `ways` entries; sets == 0 disables the cache. */
struct vtd_cache_geom {
	unsigned sets;
	unsigned ways;
};

/*
 * What the unit is. CAP_REG and ECAP_REG are derived from it (vtd_cap(), vtd_ecap()).
 * Start from vtd_config_default() and change what you need; fields added later get
 * defaults there, so code that does this stays source-compatible.
 */
struct vtd_config {
	unsigned version;	  /* VER_REG: major << 4 | minor, 0x01..0xff */
	unsigned mgaw;		  /* maximum guest address width, CAP.MGAW + 1: 30..57 */
	unsigned haw;		  /* host address width (DMAR table): 32..52; output addresses,
				     table pointers and page frames live below 2^haw */
	unsigned sagaw;		  /* CAP.SAGAW: bit n = AW value n supported (VTD_AW_*), n = 1..3 */
	bool scalable;		  /* ECAP.SMTS: scalable-mode translation (needs QI) */
	bool first_stage;	  /* ECAP.FLTS: PGTT 001 */
	bool second_stage;	  /* ECAP.SLTS: PGTT 010 (legacy mode always has second-stage) */
	bool nested;		  /* ECAP.NEST: PGTT 011 (needs first and second stage) */
	bool pass_through;	  /* ECAP.PT: legacy TT 10, scalable PGTT 100 */
	bool fs_5level;		  /* CAP.FL5LP: first-stage 5-level paging (needs first stage) */
	bool fs_1g;		  /* CAP.FL1GP: first-stage 1 GiB pages (needs first stage) */
	bool ss_2m;		  /* CAP.SLLPS bit 0: second-stage 2 MiB pages */
	bool ss_1g;		  /* CAP.SLLPS bit 1: second-stage 1 GiB pages */
	unsigned pasid_bits;	  /* ECAP.PSS + 1, 1..20; 0 = no PASID support (ECAP.PASID = 0) */
	bool dev_tlb;		  /* ECAP.DT: ATS (needs QI) */
	bool dev_tlb_throttle;	  /* ECAP.DIT: PFSID of device-TLB invalidations (needs DT) */
	bool caching_mode;	  /* CAP.CM */
	bool supervisor_requests; /* ECAP.SRS (needs PASID) */
	bool execute_requests;	  /* ECAP.ERS (needs PASID) */
	bool ss_ad;		  /* ECAP.SLADS: second-stage A/D (needs second stage) */
	bool queued_invalidation; /* ECAP.QI */
	bool rid_pasid;		  /* ECAP.RPS: the context entry's RID_PASID is used */
	bool rid_priv;		  /* ECAP.RPRIVS: the context entry's RID_PRIV is used */
	bool fs_ea;		  /* ECAP.EAFS: first-stage extended-accessed (needs FS) */
	bool nwfs;		  /* ECAP.NWFS: no-write flag of ATS translation requests */
	bool rwbf;		  /* CAP.RWBF: software must flush the write buffer */
	bool psi;		  /* CAP.PSI: page-selective IOTLB invalidation */
	unsigned mamv;		  /* CAP.MAMV: 0..63 */
	bool drain_reads;	  /* CAP.DRD */
	bool drain_writes;	  /* CAP.DWD */
	bool zlr;		  /* CAP.ZLR */
	bool coherent;		  /* ECAP.C: legacy page walks snooped */
	bool sm_pwc;		  /* ECAP.SMPWCS: PASID-entry PWSNP honoured */
	bool snoop_control;	  /* ECAP.SC */
	bool intr_remap;	  /* ECAP.IR: IRTA, GCMD.IRE/SIRTP/CFI exist */
	bool x2apic;		  /* ECAP.EIM (needs IR) */
	bool abort_dma;		  /* ECAP.ADMS: TTM 11 blocks all DMA */
	bool esrtps;		  /* CAP.ESRTPS: SRTP also invalidates the translation caches */
	unsigned nfr;		  /* fault-recording registers, 1..256 */
	unsigned did_bits;	  /* domain-id width: 4, 6, ..., 16 (CAP.ND = (did_bits-4)/2) */
	unsigned iro;		  /* ECAP.IRO: IVA_REG at iro * 16, IOTLB_REG 8 bytes later */
	unsigned fro;		  /* CAP.FRO: FRCD[0] at fro * 16 */
	/* Cache geometry (the translation caches of the digest's 5.11). */
	struct vtd_cache_geom context_cache; /* by source-id */
	struct vtd_cache_geom pasid_cache;   /* by DID and PASID */
	struct vtd_cache_geom iotlb;	     /* by DID, PASID, page and page size */
	struct vtd_cache_geom pscache;	     /* paging-structure caches (non-leaf entries) */
	/* How long a drain (CAP.DRD / DWD) waits for requests in flight before it gives up
	 * and counts a time-out (vtd_translation_agent()): 1..VTD_DRAIN_TIMEOUT_MAX_MS;
	 * 0 = VTD_DRAIN_TIMEOUT_DEFAULT_MS. */
	unsigned drain_timeout_ms;
};

#define VTD_DRAIN_TIMEOUT_DEFAULT_MS 10000
#define VTD_DRAIN_TIMEOUT_MAX_MS     600000

/*
 * vtd_config_default() - a server-class unit: version 6.0, MGAW 57, HAW 46, SAGAW 48/57-bit,
 * scalable mode with first-stage (5-level, 1 GiB), second-stage (2 MiB, 1 GiB, A/D),
 * nested and pass-through, 20-bit PASIDs, ATS, supervisor requests, QI, PSI (MAMV 18),
 * read/write draining, coherent walks, SRTP flushing the caches (ESRTPS), 8 fault-recording
 * registers at 0x400, IVA/IOTLB at 0x500, 16-bit domain-ids, caching mode off, interrupt
 * remapping off; caches of 64x4 context and PASID entries, a 256x8 IOTLB; a 10 s drain
 * time-out.
 */
void vtd_config_default(struct vtd_config *cfg);

/*
 * vtd_config_validate() - 0 if `cfg` describes a unit that can exist, else -EINVAL:
 * a field out of its range; scalable mode without QI; ATS without QI; first-stage,
 * second-stage, nested, PASID or RID_PASID/RID_PRIV without scalable mode; DIT without ATS;
 * nested without both stages; 5-level or 1 GiB first stage or EA without first stage; SS
 * A/D without second stage; SRS/ERS without PASID; x2APIC without IR; MGAW wider than the widest
 * SAGAW width; SAGAW without any supported value; IVA/IOTLB or FRCD registers overlapping each
 * other or the fixed registers (below 0xf0); a drain time-out above VTD_DRAIN_TIMEOUT_MAX_MS.
 */
int vtd_config_validate(const struct vtd_config *cfg);

/* Interrupt messages, the trace hook and check-mode reports. Every member may be NULL. */
struct vtd_trace_event;
struct vtd_stale;
struct vtd_callbacks {
	/* The fault event (FEDATA, FEUADDR:FEADDR), digest 1.8. */
	void (*fault_event)(void *ctx, uint32_t data, uint64_t addr);
	/* The invalidation completion event (IEDATA, IEUADDR:IEADDR), digest 5.6. */
	void (*inv_event)(void *ctx, uint32_t data, uint64_t addr);
	/* Every state change, for traces and tests. When NULL it costs one predicted branch. */
	void (*trace)(void *ctx, const struct vtd_trace_event *ev);
	/* Check mode found a cache serving what memory no longer says (vtd_set_check()). */
	void (*stale)(void *ctx, const struct vtd_stale *report);
};

/*
 * vtd_create() - a unit in its reset state, walking tables in `mem` (which must outlive
 * it). `cb` is copied (NULL = no callbacks); `cb_ctx` is passed to each callback.
 * -EINVAL if `cfg`, `mem` or `out` is NULL or vtd_config_validate() fails; -ENOMEM.
 */
int vtd_create(const struct vtd_config *cfg, struct mem *mem, const struct vtd_callbacks *cb,
	       void *cb_ctx, struct vtd **out);

/* vtd_destroy() - free the unit. NULL is accepted. No other thread may be using it. */
void vtd_destroy(struct vtd *vtd);

/*
 * vtd_reset() - back to the power-on state: every register at its reset value (FECTL.IM
 * and IECTL.IM set, everything else 0), fault records cleared, translation disabled.
 * Connected ATS ports stay connected. Takes the register lock.
 */
void vtd_reset(struct vtd *vtd);

/* The configuration the unit was created with, and its CAP_REG / ECAP_REG values. */
const struct vtd_config *vtd_get_config(const struct vtd *vtd);
uint64_t vtd_cap(const struct vtd *vtd);
uint64_t vtd_ecap(const struct vtd *vtd);

/* vtd_mmio_size() - bytes of the register window (a multiple of 4 KiB, at least 4 KiB). */
uint64_t vtd_mmio_size(const struct vtd *vtd);

/*
 * vtd_mmio_read() / vtd_mmio_write() - one register access at byte `offset` of the window.
 * `size` is 4 or 8 and `offset` a multiple of it. 64-bit registers may be accessed whole or
 * as two 32-bit halves; an 8-byte access to two 32-bit registers reads/writes both (low
 * one first). Reserved and unimplemented locations read 0 and ignore writes; read-only
 * fields ignore writes; write-1-to-clear fields (FSTS.PFO/IQE/ICE/ITE, FRCD.F, ICS.IWC)
 * clear where 1 is written. Writes take effect as the digest's section 1 says (GCMD
 * commands, SRTP latching RTADDR, register-based invalidation completing at once).
 *
 * Queued invalidation (digest 1.7, 5). While GSTS.QIES = 1 and FSTS.IQE = FSTS.ITE = 0 the
 * unit processes the descriptors from IQH to IQT, advancing IQH after each, synchronously
 * inside the write that made that possible: an IQT write, the GCMD write that enables QI,
 * or the FSTS write that clears IQE or ITE (hardware resumes fetching when they clear).
 *   - IQA: base (bits at or above HAW are not implemented), QS, and DW (only with scalable
 *     mode; otherwise reserved, reads 0). Writing IQA resets IQH and IQT to 0; while QI is
 *     enabled IQA writes are ignored (the queue in use is not moved under the hardware).
 *   - Disabling QI resets IQH to 0. Software may only do so when IQH == IQT and the last
 *     descriptor was an invalidation wait; the unit obeys anyway (so that a driver can
 *     recover a stopped queue) and counts it in vtd_inv_stats.unclean_disable.
 *   - Errors stop the queue with IQH at the descriptor, set FSTS.IQE (fault event per 1.8)
 *     and IQERCD.IQEI: 1 tail at or beyond the queue size, 6 tail not 32-byte aligned with
 *     DW = 1, 7 the latched TTM is reserved or not supported, 2 a descriptor outside
 *     memory, 3 an unknown type, a type this unit does not offer (device-TLB without
 *     ECAP.DT, page group response) or a type 6/7/8 descriptor in a 128-bit queue,
 *     4 a reserved field set (reserved bits, reserved granularities, Q2/Q3 of a 256-bit
 *     descriptor, DW/DR without CAP.DWD/DRD, AM above CAP.MAMV, PFSID without ECAP.DIT,
 *     PD (no ECAP.PDS), a status address at or above 2^HAW).
 *   - Device-TLB invalidations (types 3 and 8) go to the port connected at their SID. No
 *     port, or a port answering -ETIMEDOUT, is an invalidation time-out: FSTS.ITE with
 *     IQERCD.ITESID (the first one), fault event. The invalidation waits that follow it up
 *     to IQT are aborted - no status write, no interrupt (5.6: a wait completes only after
 *     every earlier descriptor did) - and behind an aborted fence (FN) nothing more is
 *     carried out; other descriptors are. IQH ends at IQT and nothing new is fetched while
 *     ITE is set: software clears ITE and submits again. Any other error from the port is
 *     an invalid completion: FSTS.ICE with IQERCD.ICESID, and the queue goes on.
 *   - An invalidation wait with SW writes STDATA (32 bits) to STADDR; a write that memory
 *     refuses is dropped (counted). With IF it sets ICS.IWC and raises the invalidation
 *     completion event through IECTL (IM masks it, IP holds it until IM clears) - unless
 *     IWC was already set, which is not a new interrupt condition.
 *   - Draining (5.3, 5.6; CAP.DRD / CAP.DWD): after an IOTLB invalidation with DR or DW, or
 *     a PASID-based IOTLB invalidation (which has no such fields: the unit drains for it as
 *     if both were set), the next wait completes - status write, interrupt - only once
 *     every request the unit answered through its agent before it is done (see
 *     vtd_translation_agent()). While it waits IQH rests at the wait, the register lock is
 *     free, and writes that would start the queue leave the new descriptors to the waiting
 *     run; a queue disabled, re-programmed or reset meanwhile ends the run there. DR = DW
 *     = 0 on every invalidation since the last wait: no drain.
 * Register-based invalidation (CCMD, IOTLB_REG with IVA_REG) completes in the write that
 * sets ICC / IVT and reports the granularity performed in CAIG / IAIG (page-selective is
 * performed domain-selective without CAP.PSI or with AM above CAP.MAMV; a reserved
 * granularity reports 0). With DR or DW, IVT clears only after the drain (as for a wait
 * above); IVA_REG and IOTLB_REG ignore writes until then. While QI is enabled such
 * commands are not performed and report granularity 0 (the digest is unsure whether
 * hardware ignores or faults them).
 * -EINVAL (and no effect) for a NULL pointer, another size, a misaligned offset or an
 * offset outside the window.
 * Locking: takes the register lock; interrupt callbacks run after it is released.
 */
int vtd_mmio_read(struct vtd *vtd, uint64_t offset, unsigned size, uint64_t *val);
int vtd_mmio_write(struct vtd *vtd, uint64_t offset, unsigned size, uint64_t val);

/*
 * vtd_translate() - handle one request from a device, as the remapping hardware does:
 *   - AT untranslated: translate req->addr for the access in req->flags (read if neither
 *     read nor write is set; both = an atomic, needing both permissions). On success
 *     resp->status = PCI_SC with the output address, the page size and the permissions
 *     of the translation; otherwise PCI_UR with resp->fault set to the reason code, and
 *     PCI_RESP_FAULT_RECORDED if it went to a fault-recording register (not suppressed by
 *     FPD, not dropped by compression or overflow).
 *   - AT translation request (ATS; needs legacy TT 01 or scalable DTE): on success the
 *     permissions granted (R/W/X/PRIV/GLOBAL) for the page containing req->addr. A page
 *     that is not present or lacks the permissions completes successfully with R = W = 0
 *     and no fault record; structure errors complete with UR and a recorded fault.
 *     An input address in the interrupt range completes with W and U set (untranslated
 *     access only), R = 0, identity address. With ECAP.NWFS a no-write request gets no W.
 *   - AT translated (needs TT 01 / DTE): passes req->addr through unchanged.
 * With translation disabled (GSTS.TES = 0) untranslated and translated requests pass
 * through with R/W/X and translation requests complete with UR and no fault.
 * Returns 0 when a completion was produced, -EINVAL for NULL pointers, an AT value above
 * 2 or a PASID above 20 bits (resp untouched).
 * vtd_translate() counts nothing in flight: its caller's accesses are not drained (use the
 * agent below for a device that accesses memory with the answer).
 * Locking: none on the walk (see the top of this file); callable from many threads.
 */
int vtd_translate(struct vtd *vtd, const struct pci_req *req, struct pci_resp *resp);

/*
 * vtd_translation_agent() - the unit as the upstream side of a PCIe link: translate() is
 * vtd_translate() that also counts each untranslated (AT = 0) and translated (AT = 2)
 * request it completes PCI_SC as in flight - marked PCI_RESP_INFLIGHT - until the
 * requester's done() (include/softiommu/pci.h), so that IOTLB invalidations with DR / DW
 * (and PASID-based ones) drain them as hardware drains the requests it translated: the wait
 * or IOTLB_REG command completes only after their accesses. Translation requests (AT = 1)
 * and refused requests are not counted.
 * done() returns 0, or -EINVAL - counting nothing - for NULL pointers, a completion without
 * PCI_RESP_INFLIGHT (never counted, or done already) or one that is not in flight on the
 * calling thread (done() belongs to the thread that translated). It is a few instructions
 * on that thread's own counters: no lock, no shared write.
 * A drain does not wait for the draining thread's own requests (they cannot end while it
 * waits), nor for those of a thread that exited without done() (they make no access any
 * more). It waits at most vtd_config.drain_timeout_ms for the others: a requester stopped
 * between translate() and done() - which cannot happen on hardware - makes the drain give
 * up, complete the invalidation anyway and count vtd_inv_stats.drain_timeouts; its access,
 * if it ever comes, is late. Callbacks the unit calls from translate() (fault_event, trace,
 * stale) must not wait for another thread's invalidation of the same unit to complete.
 */
struct pci_translation_agent vtd_translation_agent(struct vtd *vtd);

/*
 * vtd_connect_ats() - tell the unit how to reach the device TLB of endpoint `rid`, for the
 * device-TLB invalidations it forwards. The port is copied. -EINVAL for a NULL port or
 * one without `invalidate`, -EBUSY if `rid` already has a port, -ENOMEM.
 * vtd_disconnect_ats() - forget it; -ENOENT if `rid` has none. Once it returns, the port is
 * not called again.
 * Locking: take the register lock. The port's invalidate() is called with the register
 * lock held, from the thread whose MMIO write is processing the queue: it must return
 * promptly (a hung device answers -ETIMEDOUT rather than blocking) and must not call any
 * vtd_* function of this unit.
 */
int vtd_connect_ats(struct vtd *vtd, uint16_t rid, const struct pci_ats_port *port);
int vtd_disconnect_ats(struct vtd *vtd, uint16_t rid);

/* ---- translation caches and check mode (digest 5.11) ---------------------------------- */

/*
 * The unit caches, with the geometry of its configuration and LRU replacement (digest
 * 5.11): context entries (by source-id), PASID-table entries (by source-id and PASID,
 * tagged with their DID), translations in the IOTLB (by DID, PASID, page and page size;
 * first-stage, second-stage, nested and pass-through), and the non-leaf entries of the
 * page tables in two paging-structure caches - first stage (PML5E, PML4E, PDPE, PDE by
 * DID and PASID; nested: with the second-stage translation of the next table folded in)
 * and second stage (by DID) - both with the `pscache` geometry. A walk that misses the
 * IOTLB starts below the deepest paging-structure entry cached for its address.
 * Only successful lookups are cached, unless CAP.CM (caching_mode) is set: then a
 * not-present PASID directory or table entry and a page that is not present are cached
 * too (faults go on until the invalidation CM requires after making them present).
 * An entry is served until an invalidation that covers it, an eviction or vtd_reset()
 * removes it - rewriting memory does not - so software that leaves an invalidation out
 * gets stale translations, as on silicon. IOTLB and PASID-based IOTLB invalidations remove
 * paging-structure entries as the digest says: with IH = 1 (only leaves changed) a
 * page-selective one keeps them (except nested entries, which a type 2 one always takes);
 * domain-selective and global ones always take them. An IOTLB entry whose permissions do
 * not cover a request, or a write through an entry that was not dirty yet, sends the
 * request back to memory.
 *
 * Cost: an IOTLB hit is normally served from a small per-thread table of recent
 * translations that stands for the three cache hits (see src/hw/vtd/memo.h): it writes no
 * cache line another thread reads. Likewise per thread, what the context and PASID caches
 * decided for each kind of request (and whether a translated request passes) and the
 * first-stage PDEs the paging-structure cache gave are remembered, so that an IOTLB miss
 * reads one leaf entry after the IOTLB and PDE lookups. These tables stand for the cache
 * entries they were made from, are trusted only while those stay, and count as their hits.
 * Page-selective invalidations probe only the cache sets that can hold the pages they
 * name; domain and PASID scopes look only at sets whose summary says they hold entries of
 * that domain or PASID.
 */
enum vtd_cache_id {
	VTD_CACHE_CONTEXT,
	VTD_CACHE_PASID,
	VTD_CACHE_IOTLB,
	VTD_CACHE_PSCACHE_FS, /* first-stage paging-structure cache */
	VTD_CACHE_PSCACHE_SS, /* second-stage paging-structure cache */
	VTD_CACHE_COUNT,
};

/*
 * What each cache counted. Hits and misses are lookups: for the context, PASID and IOTLB
 * caches one per request that reaches them (a translated request looks up the context
 * cache only); for the paging-structure caches one per walk (each second-stage walk of a
 * nested first-stage table too), a hit when the walk starts below a cached entry of any
 * level, a miss when it starts at the root - so hits / (hits + misses) is the share of
 * IOTLB misses whose walk the cache shortened. The per-thread tables in front of the caches
 * (memo.h) count as the hits of the entries they stand for.
 */
struct vtd_cache_counters {
	uint64_t hits, misses;
	uint64_t fills;	      /* entries written after a walk (PSCs: each non-leaf entry) */
	uint64_t evictions;   /* valid entries replaced by a fill of another tag */
	uint64_t invalidated; /* entries removed by invalidations */
};

struct vtd_cache_stats {
	/* By enum vtd_cache_id: [VTD_CACHE_PSCACHE_FS] and [VTD_CACHE_PSCACHE_SS] are the
	 * first- and second-stage paging-structure caches. */
	struct vtd_cache_counters cache[VTD_CACHE_COUNT];
	uint64_t stale[VTD_CACHE_COUNT]; /* check-mode reports, by cache */
	uint64_t checked;		 /* translations check mode compared */
	/* Compared translations that differed from the reference walk with every cached
	 * entry they used still matching memory: memory changed between the two walks (a
	 * racing change to a structure both read, e.g. a leaf table installed for a
	 * neighbouring page). Not stale, not reported. */
	uint64_t raced;
};

/*
 * vtd_get_cache_stats() - the counters (since creation; vtd_reset() keeps them). Counts
 * from concurrent translations may be missing a few while they run. -EINVAL for NULL.
 */
int vtd_get_cache_stats(struct vtd *vtd, struct vtd_cache_stats *out);

/*
 * A check-mode report: a completion served (at least partly) from the caches differs from
 * an uncached walk of memory as it is now. `cache` is the outermost cache whose entry no
 * longer matches memory (context before PASID before IOTLB or the paging-structure caches),
 * `did` the domain its entry is tagged with (legacy context: its DID; scalable context: 0),
 * `missing` the invalidation that would have removed it, and `detail` what it held and
 * what memory says now.
 */
struct vtd_stale {
	enum vtd_cache_id cache;
	uint16_t sid;
	bool has_pasid;
	uint32_t pasid; /* the request's PASID, or the RID_PASID used for it */
	uint64_t addr;
	uint16_t did;
	struct pci_resp cached; /* what the unit answered */
	struct pci_resp memory; /* what memory says now */
	const char *missing;
	char detail[160];
};

/*
 * vtd_set_check() - check mode on or off. When on, every translation that a cache took
 * part in (paging-structure caches and cached not-present entries included) is compared
 * with an uncached walk of memory (no A/D writes, no fault records); a difference is
 * counted and reported through the `stale` callback. Off, it costs an IOTLB hit nothing
 * and a miss a predicted branch (with -DSOFTIOMMU_NO_CHECKER: nothing, and -EOPNOTSUPP to
 * turn it on; bench/compare_checker.sh measures the difference).
 * Locking: none; translations pick the change up at once or soon after.
 */
int vtd_set_check(struct vtd *vtd, bool on);

/* ---- invalidation statistics ---------------------------------------------------------- */

/*
 * Invalidations carried out, by kind and granularity (digest 5.2-5.9 for descriptors, 1.6
 * for registers). Descriptors are counted by the granularity they ask for, register-based
 * commands by the one performed (CAIG / IAIG).
 */
struct vtd_inv_stats {
	uint64_t cc_global, cc_domain, cc_device;	      /* type 1: context cache */
	uint64_t iotlb_global, iotlb_domain, iotlb_page;      /* type 2: IOTLB */
	uint64_t devtlb;				      /* type 3: device TLB, no PASID */
	uint64_t iec_global, iec_index;			      /* type 4: interrupt-entry cache */
	uint64_t wait;					      /* type 5: waits completed */
	uint64_t piotlb_pasid, piotlb_page;		      /* type 6: PASID-based IOTLB */
	uint64_t pc_global, pc_domain, pc_pasid;	      /* type 7: PASID cache */
	uint64_t pdevtlb, pdevtlb_global;		      /* type 8: PASID-based device TLB */
	uint64_t reg_cc_global, reg_cc_domain, reg_cc_device; /* CCMD */
	uint64_t reg_iotlb_global, reg_iotlb_domain, reg_iotlb_page; /* IOTLB_REG */
	uint64_t reg_ignored;	  /* CCMD / IOTLB_REG commands not performed (QI enabled) */
	uint64_t descriptors;	  /* descriptors fetched and carried out, all types */
	uint64_t wait_aborted;	  /* waits not completed because of a time-out (ITE) */
	uint64_t fenced_dropped;  /* descriptors not carried out behind an aborted fence */
	uint64_t status_dropped;  /* wait status writes that memory refused */
	uint64_t iqe;		  /* queue errors (FSTS.IQE raised, counted per error) */
	uint64_t ite;		  /* device-TLB invalidation time-outs */
	uint64_t ice;		  /* invalid device-TLB invalidation completions */
	uint64_t unclean_disable; /* QI disabled with IQH != IQT or not after a wait */
	uint64_t drains;	  /* waits and IOTLB_REG commands that drained (DR / DW) */
	uint64_t drain_timeouts;  /* drains that gave up on a request in flight (time-out) */
};

/* Everything the unit counts. Sub-structures group the counters of one block. */
struct vtd_stats {
	struct vtd_inv_stats inv;
	struct vtd_cache_stats cache; /* as vtd_get_cache_stats() gives them */
};

/*
 * vtd_get_stats() - a consistent copy of the counters. Counters start at 0 when the unit is
 * created and survive vtd_reset(). -EINVAL for NULL pointers. Takes the register lock.
 */
int vtd_get_stats(struct vtd *vtd, struct vtd_stats *out);

/* ---- tracing -------------------------------------------------------------------------- */

enum vtd_trace_kind {
	VTD_TRACE_MMIO_READ,   /* .mmio */
	VTD_TRACE_MMIO_WRITE,  /* .mmio (the value written) */
	VTD_TRACE_COMMAND,     /* .cmd: a GCMD command took effect */
	VTD_TRACE_TRANSLATE,   /* .xlate: a completion was produced */
	VTD_TRACE_FAULT,       /* .fault: a fault was detected (recorded or not) */
	VTD_TRACE_FAULT_EVENT, /* .msi: the fault-event interrupt was sent */
	VTD_TRACE_INV_EVENT,   /* .msi: the invalidation completion interrupt was sent */
	VTD_TRACE_INV,	       /* .inv: an invalidation was carried out or refused */
};

/* The scope of an invalidation (VTD_TRACE_INV), whatever the cache. */
enum vtd_inv_gran {
	VTD_INV_GRAN_NONE,	 /* invalidation wait; or a request refused before decoding */
	VTD_INV_GRAN_GLOBAL,	 /* every entry (types 1, 2, 4, 7) */
	VTD_INV_GRAN_DOMAIN,	 /* .did (types 1, 2, 7) */
	VTD_INV_GRAN_DEVICE,	 /* .sid under .fm, .did (type 1) */
	VTD_INV_GRAN_PAGE,	 /* .did and the range (type 2); .sid and the range (type 3) */
	VTD_INV_GRAN_PASID,	 /* .did, .pasid (types 6, 7); .sid, .pasid and the range (8) */
	VTD_INV_GRAN_PASID_PAGE, /* .did, .pasid and the range (type 6) */
	VTD_INV_GRAN_ALL_PASID,	 /* .sid, every PASID, the range (type 8 with G) */
	VTD_INV_GRAN_INDEX,	 /* 2^.fm interrupt indices from .sid (type 4) */
};

/* What became of it. */
enum vtd_inv_result {
	VTD_INV_RES_DONE,	    /* carried out (a wait: completed) */
	VTD_INV_RES_ERROR,	    /* refused: IQE with .iqei, the queue stopped here */
	VTD_INV_RES_TIMEOUT,	    /* a device-TLB invalidation timed out (ITE) */
	VTD_INV_RES_BAD_COMPLETION, /* the endpoint answered with an error (ICE) */
	VTD_INV_RES_ABORTED,	    /* a wait aborted, or a descriptor dropped behind its fence */
	VTD_INV_RES_IGNORED,	    /* a register-based command while QI is enabled */
};

/* What happened to a detected fault. */
enum vtd_fault_fate {
	VTD_FAULT_RECORDED,	  /* written to FRCD[index] */
	VTD_FAULT_FPD,		  /* qualified fault, FPD set on the path: not recorded */
	VTD_FAULT_PFO,		  /* FSTS.PFO already set: dropped */
	VTD_FAULT_COMPRESSED,	  /* a pending record has the same source-id: dropped */
	VTD_FAULT_OVERFLOW,	  /* the next record was still pending: PFO set, dropped */
	VTD_FAULT_NOT_REPORTABLE, /* an ATS page-level failure (completed with R=W=0) */
};

struct vtd_trace_event {
	enum vtd_trace_kind kind;
	union {
		struct {
			uint64_t offset;
			uint64_t value;
			unsigned size;
		} mmio;
		struct {
			uint32_t bit;  /* the VTD_GCMD_* bit that took effect */
			uint32_t gsts; /* GSTS after it */
		} cmd;
		struct {
			const struct pci_req *req;
			const struct pci_resp *resp;
		} xlate;
		struct {
			const struct pci_req *req;
			uint8_t reason; /* enum vtd_fault_reason */
			enum vtd_fault_fate fate;
			int index; /* FRCD index when recorded, else -1 */
		} fault;
		struct {
			uint32_t data;
			uint64_t addr;
		} msi;
		struct {
			const uint64_t *desc; /* the descriptor's 2 or 4 quad-words; NULL when
						 register-based */
			uint32_t offset;      /* its offset in the queue (IQH) */
			uint8_t type;	      /* VTD_INV_*: the descriptor type (CCMD: VTD_INV_CC,
						 IOTLB_REG: VTD_INV_IOTLB) */
			uint8_t gran;	      /* enum vtd_inv_gran */
			uint8_t result;	      /* enum vtd_inv_result */
			uint8_t iqei;	      /* VTD_INV_RES_ERROR: the IQERCD.IQEI value */
			uint16_t did, sid;
			uint8_t fm; /* function mask; VTD_INV_GRAN_INDEX: the index mask IM */
			bool ih;    /* page ranges: only leaf entries changed */
			uint32_t pasid;
			uint64_t addr, size; /* ranges: aligned base and size, size 0 = the whole
						address space; a wait: addr = STADDR */
		} inv;
	};
};

#ifdef __cplusplus
}
#endif
#endif
