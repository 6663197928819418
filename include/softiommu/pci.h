/* SPDX-License-Identifier: MIT */
/*
 * softiommu PCI side: the request interface between endpoints and an IOMMU, and
 * (issue "caches, queued invalidation, ATS") endpoints with PASID and ATS capabilities.
 *
 * The request interface is what crosses the PCIe link, in PCIe terms: a memory request
 * carries a requester ID, an optional PASID prefix (with privileged-mode and execute
 * bits), and the AT field (untranslated, translation request, translated). The IOMMU
 * ("translation agent") answers with a completion. Nothing here is VT-d specific; the
 * VT-d model implements a `struct pci_translation_agent`, and an endpoint calls it.
 *
 * ATS invalidations travel the other way: the IOMMU forwards device-TLB invalidation
 * descriptors to the endpoint that owns the requester ID through a `struct pci_ats_port`.
 */
#ifndef SOFTIOMMU_PCI_H
#define SOFTIOMMU_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Requester ID: bus[15:8] dev[7:3] fn[2:0]. */
#define PCI_RID(bus, dev, fn) ((uint16_t)(((bus) << 8) | ((dev) << 3) | (fn)))
#define PCI_RID_BUS(rid)      ((unsigned)((rid) >> 8))
#define PCI_RID_DEVFN(rid)    ((unsigned)((rid)&0xff))

/* PCIe address type (AT field). */
enum pci_at {
	PCI_AT_UNTRANSLATED = 0, /* ordinary DMA: the IOMMU translates it */
	PCI_AT_TRANSLATION = 1,	 /* ATS translation request: answer with a translation */
	PCI_AT_TRANSLATED = 2,	 /* the address came from the device's ATC */
};

/* struct pci_req.flags */
#define PCI_REQ_PASID (1u << 0) /* a PASID TLP prefix is present; `pasid` is valid */
#define PCI_REQ_READ  (1u << 1)
#define PCI_REQ_WRITE (1u << 2)
#define PCI_REQ_PRIV  (1u << 3) /* privileged-mode requested (PASID prefix PMR bit) */
#define PCI_REQ_EXEC  (1u << 4) /* execute requested (PASID prefix ER bit) */
#define PCI_REQ_NW    (1u << 5) /* translation request: no-write (read-only access wanted) */

/*
 * One memory request. For a translation request (AT=1) the read/write flags say which
 * access the device intends (a translation request with neither is a read-intent request).
 */
struct pci_req {
	uint64_t addr;
	uint32_t pasid; /* 20 bits; valid with PCI_REQ_PASID */
	uint16_t rid;
	uint8_t at;    /* enum pci_at */
	uint8_t flags; /* PCI_REQ_* */
};

/* Completion status, as PCIe has them. */
enum pci_status {
	PCI_SC = 0, /* successful completion */
	PCI_UR = 1, /* unsupported request: DMA blocked / translation refused */
	PCI_CA = 2, /* completer abort */
};

/* struct pci_resp.perm: what the translation allows (an ATS completion's R/W/X/Priv/U/G) */
#define PCI_PERM_R	(1u << 0)
#define PCI_PERM_W	(1u << 1)
#define PCI_PERM_X	(1u << 2)
#define PCI_PERM_PRIV	(1u << 3) /* the translation is for privileged-mode accesses */
#define PCI_PERM_U	(1u << 4) /* ATS "untranslated access only" */
#define PCI_PERM_GLOBAL (1u << 5) /* the translation is the same for every PASID */

/* struct pci_resp.flags */
#define PCI_RESP_FAULT_RECORDED (1u << 0) /* the IOMMU logged the fault (not FPD-suppressed) */
#define PCI_RESP_INFLIGHT	(1u << 1) /* the agent counts the request in flight: call done() */
#define PCI_RESP_AGENT_MASK	0xf0u	  /* the agent's own bits: give them back to done() */

/*
 * The completion. On success `addr` is the output address of req.addr itself and
 * `page_size` the size of the (naturally aligned) translation that contains it; the base
 * of that translation is addr & ~(page_size - 1). An ATS translation request that finds no
 * usable mapping still completes successfully with perm R=W=0, as ATS requires.
 * `fault` is the IOMMU's architected fault reason code (0 when none), whether or not it
 * was recorded.
 */
struct pci_resp {
	uint64_t addr;
	uint64_t page_size;
	uint8_t status; /* enum pci_status */
	uint8_t perm;	/* PCI_PERM_* */
	uint8_t fault;	/* architected reason code, 0 = none */
	uint8_t flags;	/* PCI_RESP_* */
};

/*
 * The upstream side of a link: an IOMMU or anything else that translates. `translate`
 * must be callable concurrently from many device threads. It returns 0 when a completion
 * was produced (check resp->status), or a negative errno for a broken call (NULL pointers).
 *
 * `done` (optional) is how the requester says that the memory access of a request is over,
 * so that an agent can wait for requests in flight (the VT-d model drains them at an IOTLB
 * invalidation with DR/DW, as hardware drains the requests it translated). An agent that
 * counts a request marks its PCI_SC completion with PCI_RESP_INFLIGHT (and may keep state
 * in PCI_RESP_AGENT_MASK); for each such completion the requester calls done() exactly
 * once, on the thread that called translate(), with the request and the completion as it
 * got them - after the access, or once it knows it will not make it (a memory error, an
 * invalidation that raced with it) - and promptly: an agent may wait for it. A requester
 * that stops for good between the two holds such waits up (the VT-d model bounds them and
 * counts the time-out). done() returns 0 and clears PCI_RESP_INFLIGHT, or -EINVAL, counting
 * nothing, for NULL pointers or a completion that stands for no request in flight of this
 * thread (never counted, or done already).
 */
struct pci_translation_agent {
	int (*translate)(void *ctx, const struct pci_req *req, struct pci_resp *resp);
	void *ctx;
	int (*done)(void *ctx, const struct pci_req *req, struct pci_resp *resp);
};

/*
 * One ATS invalidation request, as it arrives at an endpoint: invalidate the device-TLB
 * entries of `rid` that overlap [addr, addr + size) - for `pasid` only (with `has_pasid`),
 * for every PASID (`global`), or for requests without PASID. `size` is a power of two,
 * at least 4 KiB, and `addr` is aligned to it (the PCIe S-bit encoding, decoded).
 */
struct pci_ats_inv {
	uint64_t addr;
	uint64_t size;
	uint32_t pasid;
	uint16_t rid;
	bool has_pasid;
	bool global;
};

/*
 * The downstream side: how an IOMMU reaches an endpoint's device TLB. `invalidate`
 * returns 0 once the endpoint has completed the invalidation, or -ETIMEDOUT if it never
 * answers (a removed or hung device); it must not block for long either way.
 */
struct pci_ats_port {
	int (*invalidate)(void *ctx, const struct pci_ats_inv *inv);
	void *ctx;
};

/* Helpers for the S-bit size encoding (PCIe ATS, VT-d dev_tlb descriptors). */

/* Decode ADDR[63:12] with the S bit into a naturally aligned range. size 0 = everything. */
static inline void pci_ats_decode_range(uint64_t addr, bool s, uint64_t *base, uint64_t *size)
{
	uint64_t a = addr & ~0xfffull;

	if (!s) {
		*base = a;
		*size = 4096;
		return;
	}
	/* The lowest 0 bit of ADDR[63:12] gives the size: bit 12 clear = 8 KiB, bits 12 set
	 * and 13 clear = 16 KiB, ...; ADDR[62:12] all ones means the whole address space. */
	unsigned k = (unsigned)__builtin_ctzll(~(a >> 12)); /* trailing ones, at most 52 */
	if (k + 13 >= 64) {
		*base = 0;
		*size = 0;
		return;
	}
	*size = 1ull << (k + 13);
	*base = a & ~(*size - 1);
}

/* ==== Endpoints ===========================================================================
 *
 * A `struct pci_endpoint` is one PCIe function that a device model (a DMA engine) sits on.
 * It owns the function's PASID capability (PCIe PASID Extended Capability: Max PASID Width,
 * Execute Permission and Privileged Mode Supported, the Enable bits) and its ATS capability
 * (Invalidate Queue Depth, Global Invalidate Supported, Smallest Translation Unit, Enable),
 * and the address translation cache (ATC, "device TLB") that ATS fills.
 *
 * DMA goes through pci_endpoint_dma_read()/pci_endpoint_dma_write(), split into 4 KiB
 * requests (a TLP never crosses a 4 KiB boundary):
 *  - ATS disabled: each page is an untranslated request (AT=0) to the translation agent, and
 *    memory is accessed at the completion's address.
 *  - ATS enabled: each page is looked up in the ATC (tag: PASID-or-none, privileged mode,
 *    page). A miss sends a translation request (AT=1); a usable completion is cached with the
 *    size and permissions it grants. Then a translated request (AT=2) goes to the agent
 *    (which only checks that the function may use translated requests) and memory is accessed
 *    at the translated address. A completion with U=1 ("untranslated access only") is cached
 *    too, and the pages it covers use untranslated requests.
 *
 * A completion the agent marks PCI_RESP_INFLIGHT gets the agent's done() once its access is
 * over, or once the endpoint knows it will not make it (a memory error, a raced
 * invalidation, the other side of a copy failing), from the same thread.
 *
 * ATS invalidations arrive through the `struct pci_ats_port` of pci_endpoint_ats_port().
 *
 * Locking. Each endpoint has one reader/writer lock (writer-preferring, so an invalidation is
 * never starved by a stream of DMA):
 *  - read side: ATC lookups, and each page's memory access (at most 4 KiB of copying);
 *  - write side: ATC fills, invalidations, flushes, capability changes, the checker setter.
 * A DMA thread takes the read side through a reader slot of its own in the endpoint when
 * one is free (32 per endpoint, claimed on first use and given back when the thread exits):
 * no shared line and no locked instruction after the access; a writer waits for every
 * slot to be idle as it waits for the rwlock's readers.
 * The endpoint never holds its lock while it calls the translation agent, so the agent may
 * invalidate (call the port) from inside translate() or with its own locks held.
 * An invalidation takes the write lock, so it waits for page accesses that are using an
 * entry it removes: once invalidate() has returned 0, no access uses a removed translation
 * (PCIe ATS: the Invalidate Completion follows the requests that used the translation).
 * A translation completion that raced with an invalidation is not cached nor used: the
 * request is repeated (see PCI_EP_RETRY_LIMIT).
 * Each DMA thread remembers the ATC entries it used last (a request memo, like a device's
 * micro-TLB): a request they cover skips the lookup, but its entries are checked before its
 * translated request goes out and again under the read lock around the access, so the
 * guarantees above hold unchanged, and no translated request carries an address whose
 * invalidation completed before the DMA call began. Memos are not used in check mode.
 * Every function may be called from any thread; the DMA functions and invalidate() run
 * concurrently. pci_endpoint_destroy() must not race with anything.
 */
struct pci_endpoint;
struct mem;

/*
 * Creation parameters. Fields left zero give a function without PASID and without ATS that
 * still does DMA (untranslated requests only).
 */
struct pci_endpoint_config {
	uint16_t rid;

	/* PASID capability. */
	uint8_t pasid_width;	   /* Max PASID Width, 1..20; 0 = no PASID capability */
	bool pasid_exec_supported; /* Execute Permission Supported */
	bool pasid_priv_supported; /* Privileged Mode Supported */
	bool pasid_enable;	   /* PASID Enable at creation */
	bool pasid_exec_enable;	   /* Execute Permission Enable at creation (needs Supported) */
	bool pasid_priv_enable;	   /* Privileged Mode Enable at creation (needs Supported) */

	/* ATS capability. */
	bool ats;	     /* the capability is present */
	bool ats_global_inv; /* Global Invalidate Supported (and Global mappings honoured) */
	/* Invalidate Queue Depth, 0..31 (0 means 32): reported to software; the model
	 * completes invalidations one at a time, so it never pushes back. */
	uint8_t ats_inv_queue_depth;
	bool ats_enable; /* Enable at creation */
	uint8_t ats_stu; /* Smallest Translation Unit at creation: 2^stu 4 KiB pages */

	/* The ATC (used only with `ats`): `atc_sets` a power of two, at most 1 << 16;
	 * `atc_ways` 1..64. LRU replacement within a set. */
	uint32_t atc_sets;
	uint32_t atc_ways;

	struct pci_translation_agent agent; /* upstream: the IOMMU (translate is required) */
	struct mem *mem;		    /* where DMA lands (required) */
};

/*
 * pci_endpoint_create() - create an endpoint from `cfg` (copied). Returns 0 and stores it in
 * *out; -EINVAL for NULL pointers, a missing agent or memory, pasid_width above 20, PASID
 * features or enable without a PASID capability, a feature enabled but not supported or
 * without pasid_enable, ATS settings without `ats`, an STU above 31,
 * an invalidate queue depth above 31, or an ATC geometry outside the limits; -ENOMEM.
 */
int pci_endpoint_create(const struct pci_endpoint_config *cfg, struct pci_endpoint **out);

/* pci_endpoint_destroy() - free the endpoint. NULL is accepted. No call may be in flight. */
void pci_endpoint_destroy(struct pci_endpoint *ep);

/*
 * pci_endpoint_get_config() - the capability and control state as software would read it
 * from configuration space (the enable bits and STU as they are now). -EINVAL for NULL.
 */
int pci_endpoint_get_config(struct pci_endpoint *ep, struct pci_endpoint_config *out);

/* pci_endpoint_rid() - the requester ID. */
uint16_t pci_endpoint_rid(const struct pci_endpoint *ep);

/*
 * pci_endpoint_pasid_enable() - set PASID Enable with the Execute Permission Enable and
 * Privileged Mode Enable bits `exec` and `priv`. -EINVAL for NULL, -EOPNOTSUPP without a
 * PASID capability or for a feature that is not supported.
 * pci_endpoint_pasid_disable() - clear the three bits. PASID-tagged ATC entries are dropped:
 * software stops sending PASID invalidations for a function whose PASID is disabled.
 * -EINVAL for NULL, -EOPNOTSUPP without a PASID capability.
 * Both take the write lock.
 */
int pci_endpoint_pasid_enable(struct pci_endpoint *ep, bool exec, bool priv);
int pci_endpoint_pasid_disable(struct pci_endpoint *ep);

/*
 * pci_endpoint_ats_enable() - program the Smallest Translation Unit (2^stu pages) and set
 * Enable. STU may only change while Enable is clear (PCIe ATS Control): -EBUSY if ATS is
 * already enabled with another STU. -EINVAL for NULL or stu > 31, -EOPNOTSUPP without ATS.
 * pci_endpoint_ats_disable() - clear Enable and empty the ATC (the IOMMU stops sending
 * invalidations to a function with ATS disabled, so nothing cached may survive).
 * -EINVAL for NULL, -EOPNOTSUPP without ATS. Both take the write lock.
 */
int pci_endpoint_ats_enable(struct pci_endpoint *ep, unsigned stu);
int pci_endpoint_ats_disable(struct pci_endpoint *ep);

/*
 * pci_endpoint_flr() - Function Level Reset: the ATC is emptied, PASID and ATS Enable are
 * cleared, STU returns to 0, the function is present again (see pci_endpoint_set_state).
 * Counters are kept. -EINVAL for NULL.
 */
int pci_endpoint_flr(struct pci_endpoint *ep);

/* Fault injection: how the function answers. */
enum pci_endpoint_state {
	PCI_EP_ACTIVE = 0,  /* normal */
	PCI_EP_HUNG = 1,    /* ignores invalidations (they time out); its ATC keeps serving */
	PCI_EP_REMOVED = 2, /* surprise-removed: invalidations time out, DMA fails -ENODEV */
};

/*
 * pci_endpoint_set_state() - inject a fault (or end it). In PCI_EP_HUNG and PCI_EP_REMOVED
 * the port's invalidate() returns -ETIMEDOUT at once, without touching the ATC and without
 * waiting for the endpoint's lock, so the IOMMU can report ITE and carry on.
 * -EINVAL for NULL or an unknown state.
 */
int pci_endpoint_set_state(struct pci_endpoint *ep, enum pci_endpoint_state state);

/* pci_endpoint_ats_port() - the port the IOMMU sends this function's ATS invalidations to.
 * `invalidate` returns 0 when done; -EINVAL for a NULL request, a requester ID that is not
 * this function's, or a range that is not a power of two of at least 4 KiB aligned to its
 * size (size 0 = the whole address space); -ETIMEDOUT when the function is hung or removed.
 * A PASID invalidation removes the entries of that PASID, a global one (`global`, honoured
 * only with Global Invalidate Supported, otherwise it acts on `pasid`) every PASID-tagged
 * entry including Global mappings, a request without PASID the entries without PASID. Any
 * entry that overlaps the range is removed whole (a 2 MiB entry for a 4 KiB invalidation).
 * With a NULL `ep` the port's members are NULL. */
struct pci_ats_port pci_endpoint_ats_port(struct pci_endpoint *ep);

/* Flags for the DMA functions (the PASID TLP prefix, as in struct pci_req). */
#define PCI_DMA_PASID PCI_REQ_PASID /* use `pasid` (needs PASID Enable) */
#define PCI_DMA_PRIV  PCI_REQ_PRIV  /* privileged-mode access (needs Privileged Mode Enable) */
#define PCI_DMA_EXEC  PCI_REQ_EXEC  /* instruction fetch; reads only (needs Execute Enable) */

/* How many times a page's translation is requested again because an invalidation raced
 * with it before the DMA gives up with -EAGAIN. */
#define PCI_EP_RETRY_LIMIT 64

/*
 * What happened to a DMA. On success: done == len and the rest is 0. On failure: `addr` is
 * the device address where the transfer stopped (the start of a 4 KiB request, or the
 * start of the buffer); no byte of that request was transferred, `done` bytes before it were.
 * `at`, `status`, `fault`, `perm` describe the request that failed: its address type, its
 * completion status (PCI_SC/UR/CA), the agent's fault reason code and, for an ATS
 * completion, the permissions it granted. `pa` is the translated address when one was known.
 */
struct pci_dma_status {
	uint64_t addr;
	uint64_t done;
	uint64_t pa;
	uint8_t at;
	uint8_t status;
	uint8_t fault;
	uint8_t perm;
	bool write; /* pci_endpoint_dma_copy(): the failing request was on the write side */
};

/*
 * pci_endpoint_dma_read() / pci_endpoint_dma_write() - DMA `len` bytes at device address
 * `addr` (with `pasid` when `flags` has PCI_DMA_PASID). `st` may be NULL. Returns 0, or:
 *  -EINVAL     NULL ep or buf, len 0, a range that wraps past 2^64, unknown flags,
 *              PRIV/EXEC without PASID, EXEC on a write;
 *  -EOPNOTSUPP PASID, PRIV or EXEC while the function has it disabled or unsupported;
 *  -ERANGE     a PASID that does not fit the Max PASID Width;
 *  -ENODEV     the function is removed;
 *  -EFAULT     a request was refused: a UR/CA completion (`fault` says why), or an ATS
 *              completion with R=W=0 (`perm` 0);
 *  -EACCES     the translation does not grant the access (a write to a read-only page,
 *              an execute without X); the ATC never turns this into a success;
 *  -EPROTO     a malformed ATS completion (a page size that is not a power of two of at
 *              least 4 KiB and the STU, or an address inconsistent with it): not cached;
 *  -EIO        memory refused the access at the translated address (outside memory);
 *  -EAGAIN     invalidations kept racing with one page's translation (PCI_EP_RETRY_LIMIT);
 *  or the agent's own negative errno.
 * On an error nothing of the failing 4 KiB request is transferred; earlier pages were.
 * An aligned DMA of 4 or 8 bytes is single-copy atomic and, as PCIe orders a function's
 * posted writes, seen after the function's earlier writes; a DMA write of 8 to 64 bytes that
 * starts 8-byte aligned inside one 64-byte block lands as a unit for a reader polling its
 * first 8 bytes (a cache-line write: a completion record with its status first). On directly
 * mapped memory that word is stored last with release semantics (loaded first with acquire),
 * so a CPU that polls it with an acquire load sees the data written before it.
 * Takes the read lock (and the write lock to fill the ATC) around each page, never while
 * calling the agent.
 */
int pci_endpoint_dma_read(struct pci_endpoint *ep, unsigned flags, uint32_t pasid, uint64_t addr,
			  void *buf, size_t len, struct pci_dma_status *st);
int pci_endpoint_dma_write(struct pci_endpoint *ep, unsigned flags, uint32_t pasid, uint64_t addr,
			   const void *buf, size_t len, struct pci_dma_status *st);

/*
 * pci_endpoint_dma_copy() - a copy inside the function (a DMA engine's read into its buffer
 * and write out of it): `len` bytes from device address `src` to `dst`, both with the same
 * `flags` and `pasid`, through the same request path as the read and write functions
 * (ATC, AT=0/1/2, permission checks, the checker). The model moves each piece straight from
 * source to destination memory, without a bounce through the caller:
 *  - a piece is the largest run both sides translate without a break: an untranslated
 *    (AT=0) request covers one 4 KiB page; an ATC run covers the entry that translates its
 *    start and the entries after it that hit and continue it physically (at most 16, and
 *    256 KiB per piece), with one translated (AT=2) request per run and side;
 *  - the ATC counts one hit per entry used per piece; in check mode runs are one page and
 *    each page is checked;
 *  - each piece's source side is translated before its destination side, and both before
 *    any byte moves.
 * Returns 0 or the errors of pci_endpoint_dma_read/write, plus -EINVAL for overlapping
 * ranges (memmove semantics are the caller's: split the copy). On an error `st` describes
 * the failing request as for read and write, `st->write` says which side it was, `st->addr`
 * is that side's device address where the copy stopped and `st->done` the bytes copied
 * before it (none of the failing piece). Ranges that alias physically are copied as
 * memmove would (on directly mapped memory). Locking as pci_endpoint_dma_read(); the read
 * lock is held across one piece's copy.
 */
int pci_endpoint_dma_copy(struct pci_endpoint *ep, unsigned flags, uint32_t pasid, uint64_t dst,
			  uint64_t src, size_t len, struct pci_dma_status *st);

/*
 * pci_endpoint_dma_copy_write() - how a DMA engine ends a descriptor: its data, then its
 * completion record. pci_endpoint_dma_copy(ep, flags, pasid, dst, src, len, st) and, only if
 * it succeeded, pci_endpoint_dma_write(ep, flags, pasid, waddr, wbuf, wlen, wst): the same
 * requests, checks, counters and results as the two calls in a row, and the write lands
 * after the copy's bytes (posted-write order). The write's translated request may go out
 * before the copy's bytes move, as on a link that pipelines a function's requests; the two
 * accesses may share one trip through the read lock. Returns the copy's result; when it is
 * 0, *wret is the write's (else *wret is left alone and nothing was written). `st` and `wst`
 * may be NULL; -EINVAL (nothing done) for a NULL wret. Locking as pci_endpoint_dma_copy().
 */
int pci_endpoint_dma_copy_write(struct pci_endpoint *ep, unsigned flags, uint32_t pasid,
				uint64_t dst, uint64_t src, size_t len, struct pci_dma_status *st,
				uint64_t waddr, const void *wbuf, size_t wlen, int *wret,
				struct pci_dma_status *wst);

/* Counters (relaxed: exact when read after the DMA and invalidations have finished). */
struct pci_endpoint_stats {
	uint64_t hits;			/* 4 KiB requests served from the ATC */
	uint64_t misses;		/* lookups that found no usable entry */
	uint64_t translation_requests;	/* AT=1 requests sent */
	uint64_t translated_requests;	/* AT=2 requests sent */
	uint64_t untranslated_requests; /* AT=0 requests sent */
	uint64_t faults;	   /* DMA that failed on a refused request or missing permission */
	uint64_t invalidations;	   /* invalidation requests completed */
	uint64_t inv_entries;	   /* ATC entries they removed */
	uint64_t inv_timeouts;	   /* invalidation requests answered with -ETIMEDOUT */
	uint64_t evictions;	   /* valid entries replaced by LRU */
	uint64_t retries;	   /* translations repeated because an invalidation raced */
	uint64_t check_mismatches; /* checker reports */
	uint64_t atc_entries;	   /* valid entries now */
};

/* pci_endpoint_get_stats() - copy the counters. -EINVAL for NULL. */
int pci_endpoint_get_stats(struct pci_endpoint *ep, struct pci_endpoint_stats *out);

/* What one ATC entry holds (pci_endpoint_atc_peek, the checker). */
struct pci_atc_view {
	uint64_t addr;	/* untranslated base, aligned to size */
	uint64_t pa;	/* translated base */
	uint64_t size;	/* bytes, a power of two */
	uint32_t pasid; /* valid with has_pasid */
	bool has_pasid;
	uint8_t perm; /* PCI_PERM_* of the completion (GLOBAL only if honoured) */
};

/*
 * pci_endpoint_atc_peek() - the entry a DMA with these `flags` (PCI_DMA_PASID, PCI_DMA_PRIV)
 * and `pasid` would use for `addr` now, without counting or touching LRU. 0 and *out filled,
 * -ENOENT if none, -EINVAL for NULL or unknown flags. Takes the read lock.
 */
int pci_endpoint_atc_peek(struct pci_endpoint *ep, unsigned flags, uint32_t pasid, uint64_t addr,
			  struct pci_atc_view *out);

/*
 * The checker (check mode for the device TLB). When set, every 4 KiB request served from the
 * ATC is compared with a fresh translation request to `ref` (an uncached path of the same
 * IOMMU): if the reference refuses it, or does not grant the access, or translates the page
 * to another address, `fn` is called with what the ATC held and what the reference says.
 * The DMA still uses the cached entry, as the hardware would; the checker only reports.
 */
struct pci_atc_mismatch {
	uint16_t rid;
	bool has_pasid;
	uint32_t pasid;
	uint64_t addr;		 /* the device address of the 4 KiB request */
	bool write;		 /* the access was a write */
	struct pci_atc_view atc; /* the cached entry */
	uint64_t atc_pa;	 /* where the ATC sent this request */
	struct pci_resp ref;	 /* the reference completion (for the same page) */
	int ref_err;		 /* the reference's return value (0 = ref is valid) */
};

typedef void (*pci_atc_check_fn)(void *ctx, const struct pci_atc_mismatch *m);

/*
 * pci_endpoint_set_checker() - turn check mode on (`ref` and `fn` non-NULL; both copied) or
 * off (`ref` NULL). Off, the DMA path pays one predictable branch per ATC hit. `fn` is
 * called from the DMA thread without the endpoint's lock. -EINVAL for a NULL ep, a `ref`
 * without translate, or a `ref` without `fn`. Takes the write lock.
 */
int pci_endpoint_set_checker(struct pci_endpoint *ep, const struct pci_translation_agent *ref,
			     pci_atc_check_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
