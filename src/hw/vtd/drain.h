/* SPDX-License-Identifier: MIT */
/*
 * Draining the requests in flight (digest 1.6 and 5.3: DR / DW of IOTLB_REG and of the
 * IOTLB invalidation descriptor, with CAP.DRD / CAP.DWD; 5.6: a wait completes only after
 * every descriptor before it).
 *
 * On hardware, a request without ATS is translated in the root complex and then queued
 * there for memory; a drain-capable unit completes an IOTLB invalidation with DR / DW only
 * once the reads it translated have fetched their data and the writes are visible. The
 * model's equivalent of that queue is the time between the unit's answer and the
 * endpoint's memory access: the endpoint translates (vtd_translation_agent()'s translate)
 * and then accesses memory, and says so with the agent's done() (include/softiommu/pci.h).
 * So the unit counts each untranslated (AT = 0) and translated (AT = 2) request it answers
 * PCI_SC through its agent until done(), and a drain waits until every request counted
 * before it is done. vtd_translate() itself counts nothing (its callers access memory, if
 * at all, on their own).
 *
 * Counting costs the request path no shared write and no locked instruction: each thread
 * counts in a counter pair of its own (struct vtd_drain_ctr: in its memo of the unit, on the
 * line an IOTLB hit writes anyway, or without a memo in its thread slot's shard), per epoch
 * parity - the parity of the epoch word it read before counting. A drain, after the
 * invalidation is done:
 *   1. makes every count stored so far visible (the barrier below);
 *   2. waits until every thread's count of the other parity is back to zero: requests that
 *      read the epoch before the previous drain moved it but counted only after that
 *      drain's barrier (a thread preempted between the two) - translated after the
 *      previous invalidation, so maybe with an entry this one removes;
 *   3. moves the epoch, so that requests from then on count in the parity just emptied,
 *      and waits until the count of the old parity is back to zero.
 * New requests never count in a parity a drain waits for, so both waits end.
 *
 * Why a request cannot slip past a drain: a translation stores its count (begun) before it
 * reads anything an invalidation changes (the memo's versions and generations, the caches,
 * the tables). Without a fence on the request's side the count's store could still sit in
 * its CPU's store buffer while the translation reads the old tables and the drain reads
 * zero. The drain closes that with membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) (step 1):
 * every thread of the process passes a full barrier during the call, so a translation
 * either made its count visible before the drain looks - in one parity or the other, both
 * of which the drain waits for - or reads the tables after the invalidation (and then is
 * not one the drain must wait for). Where membarrier is not available the counting side
 * uses an atomic addition (a full barrier on x86) instead: VTD_DRAIN_FENCE.
 * The endpoint's access happens before its done() (a release store), and the drain reads
 * the counts with acquire loads, so the access happens before the wait completes.
 */
#ifndef SOFTIOMMU_HW_VTD_DRAIN_H
#define SOFTIOMMU_HW_VTD_DRAIN_H

#include "memo.h"

/* The agent's bits of a completion it counted (PCI_RESP_AGENT_MASK). */
#define VTD_RESP_ODD  (1u << 4) /* counted in the odd epoch: drain_epoch & VTD_RESP_ODD */
#define VTD_RESP_SLOT (1u << 5) /* counted in the thread slot's shard, not in its memo */

_Static_assert(sizeof(((struct vtd_drain_ctr *)0)->p[0]) == VTD_RESP_ODD,
	       "an epoch's counter pair sits at its parity bit's offset");

/* How a request path counts. */
enum vtd_drain_how {
	VTD_DRAIN_OFF,	 /* not at all: vtd_translate() */
	VTD_DRAIN_ASYM,	 /* a plain store; drains use membarrier */
	VTD_DRAIN_FENCE, /* an atomic addition; drains use an atomic operation */
};

/* The process's choice, made once before any unit exists (vtd_drain_setup()). */
extern enum vtd_drain_how vtd_drain_how;

/* The pair of counters of the epoch whose parity bit is `odd` (0 or VTD_RESP_ODD). */
static inline __attribute__((always_inline)) uint64_t *vtd_drain_pair(struct vtd_drain_ctr *c,
								      unsigned odd)
{
	return (uint64_t *)(void *)((char *)c + odd);
}

/* Count one request in flight in `c` (this thread's). Returns the completion's flags for
 * it (PCI_RESP_INFLIGHT and the epoch); VTD_RESP_SLOT is the caller's to add. */
static inline __attribute__((always_inline)) unsigned
vtd_drain_enter(struct vtd *vtd, struct vtd_drain_ctr *c, const enum vtd_drain_how how)
{
	/* The epoch word is the completion's flags already (drain.c). */
	unsigned tag = (unsigned)__atomic_load_n(&vtd->drain_epoch, __ATOMIC_RELAXED);
	uint64_t *begun = vtd_drain_pair(c, tag & VTD_RESP_ODD);

	if (how == VTD_DRAIN_ASYM) {
		__atomic_store_n(begun, *begun + 1, __ATOMIC_RELAXED);
		/* No reordering by the compiler; the CPU's is the drain's membarrier's. */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	} else {
		__atomic_fetch_add(begun, 1, __ATOMIC_SEQ_CST);
	}
	return tag;
}

/* Count a request in flight without a memo: in this thread's shard. Returns its flags. */
unsigned vtd_drain_enter_slot(struct vtd *vtd, enum vtd_drain_how how);

/* The request counted with `tag` in `c` (NULL: its slot's shard) will make no access (it
 * failed): count it done. */
void vtd_drain_cancel(struct vtd *vtd, struct vtd_drain_ctr *c, unsigned tag);

/* After the translation of a counted request (`tag`, in `c` as for vtd_drain_cancel): mark
 * its completion if it goes on to an access, else count it done. Returns `ret`. */
static inline __attribute__((always_inline)) int vtd_drain_finish(struct vtd *vtd,
								  struct vtd_drain_ctr *c,
								  unsigned tag, int ret,
								  struct pci_resp *resp)
{
	if (!tag)
		return ret;
	if (VTD_LIKELY(ret == 0 && resp->status == PCI_SC))
		resp->flags |= (uint8_t)tag;
	else
		vtd_drain_cancel(vtd, c, tag);
	return ret;
}

/* The agent's done() (include/softiommu/pci.h). */
int vtd_drain_done(void *ctx, const struct pci_req *req, struct pci_resp *resp);

/* Once per process: whether membarrier works. Called by vtd_create(). */
void vtd_drain_setup(void);

/* A unit's drain state: set up (0 or -ENOMEM, in vtd_create()) and torn down. */
int vtd_drain_init(struct vtd *vtd);
void vtd_drain_fini(struct vtd *vtd);

/*
 * Wait until every request counted in flight before the call is done - except the calling
 * thread's own, which cannot end while it waits - for at most the configured time-out.
 * 0, or -ETIMEDOUT. Call it after the invalidation it drains for, without the register
 * lock (a translation may need it to record a fault). Drains run one at a time.
 */
int vtd_drain_wait(struct vtd *vtd);

/* A thread gives its slot back (memo.c): what it still had in flight in any unit will make
 * no access; count it done. */
void vtd_drain_thread_exit(unsigned slot);

#endif
