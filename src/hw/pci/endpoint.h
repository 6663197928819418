/* SPDX-License-Identifier: MIT */
/*
 * Inside a PCIe endpoint: shared by endpoint.c (configuration space: the PASID and ATS
 * capabilities), ats_inv.c (invalidations), dma.c (the request path) and check.c.
 * The locking rules are in include/softiommu/pci.h.
 */
#ifndef SOFTIOMMU_HW_PCI_ENDPOINT_H
#define SOFTIOMMU_HW_PCI_ENDPOINT_H

#include <softiommu/mem.h>
#include <softiommu/pci.h>

#include <pthread.h>

#include "hw/pci/atc.h"

/*
 * The control registers in one word, so that the DMA path reads them with one load:
 * PASID Control (Enable, Execute Permission Enable, Privileged Mode Enable) and ATS Control
 * (Enable, STU). Written under the write lock, read with relaxed atomic loads.
 */
#define EP_CTL_PASID_EN	 (1u << 0)
#define EP_CTL_EXEC_EN	 (1u << 1)
#define EP_CTL_PRIV_EN	 (1u << 2)
#define EP_CTL_ATS_EN	 (1u << 3)
#define EP_CTL_STU_SHIFT 8 /* bits 12:8 */
#define EP_CTL_STU_MASK	 (0x1fu << EP_CTL_STU_SHIFT)

struct pci_endpoint {
	pthread_rwlock_t lock;
	uint64_t id; /* unique in the process, never reused: names the endpoint in memos */
	struct pci_endpoint_config cfg; /* the capabilities; constant after creation */
	uint32_t ctl;			/* EP_CTL_* */
	int state;			/* enum pci_endpoint_state, relaxed atomic */
	/* Changes (under the write lock) whenever entries leave the ATC other than by a fill:
	 * a translation requested before the change may be stale and is not cached. */
	uint64_t inv_gen;
	struct atc atc;
	/* Check mode: written under the write lock, read under the read lock. */
	struct pci_translation_agent ref;
	pci_atc_check_fn check_fn;
	void *check_ctx;
	bool checking; /* check_fn != NULL, also read without the lock (relaxed atomic) */
	struct pci_endpoint_stats stats; /* relaxed atomic counters; atc_entries unused */
};

#define EP_STAT_ADD(ep, field, n) __atomic_fetch_add(&(ep)->stats.field, (n), __ATOMIC_RELAXED)
#define EP_STAT_INC(ep, field)	  EP_STAT_ADD(ep, field, 1)

static inline uint32_t ep_ctl(struct pci_endpoint *ep)
{
	return __atomic_load_n(&ep->ctl, __ATOMIC_RELAXED);
}

static inline unsigned ep_ctl_stu(uint32_t ctl)
{
	return (ctl & EP_CTL_STU_MASK) >> EP_CTL_STU_SHIFT;
}

/* Write side: replace the control word. */
static inline void ep_set_ctl(struct pci_endpoint *ep, uint32_t ctl)
{
	__atomic_store_n(&ep->ctl, ctl, __ATOMIC_RELAXED);
}

/* Write side: remove entries for a reason other than a fill (see inv_gen). */
uint64_t ep_atc_remove(struct pci_endpoint *ep, const struct atc_sel *sel, uint64_t base,
		       uint64_t size);

/* What the checker needs to know about one ATC hit (check.c). */
struct ep_hit {
	struct atc_key key;
	uint64_t addr;		 /* device address of the 4 KiB request */
	uint64_t pa;		 /* where the ATC sends it */
	uint8_t need;		 /* PCI_PERM_* the access uses */
	uint8_t req_flags;	 /* PCI_REQ_* of the translation request that would fill it */
	struct pci_atc_view atc; /* the entry */
};

/* Compare one ATC hit with the reference translator; report a difference (check.c).
 * Called without the lock, with a copy of the checker taken under it. */
void ep_check_hit(struct pci_endpoint *ep, const struct pci_translation_agent *ref,
		  pci_atc_check_fn fn, void *ctx, const struct ep_hit *hit);

/*
 * Request memos (memo.c): a run of ATC entries a thread resolved, each slot with its
 * version then. Entry i translates [addr + upto[i - 1], addr + upto[i]) (upto[-1] = 0) to
 * pa + the same offsets; upto[nheld - 1] == len.
 */
#define EP_MEMO_HELD 16

struct ep_memo_run {
	uint64_t ep_id; /* 0: free */
	struct atc_key key;
	uint8_t need; /* PCI_PERM_* the run's entries grant (checked when it was made) */
	uint64_t addr, len, pa;
	unsigned nheld;
	struct atc_entry *held[EP_MEMO_HELD];
	uint64_t ver[EP_MEMO_HELD];
	uint64_t upto[EP_MEMO_HELD];
};

/* This thread's memo of `ep` for `key` and `need` that contains `addr`, or NULL. No lock. */
const struct ep_memo_run *ep_memo_find(const struct pci_endpoint *ep, const struct atc_key *key,
				       uint8_t need, uint64_t addr);
/* Every slot of the run still holds the entry it was made from (relaxed loads: whatever
 * removal happened before the caller's request began is seen). No lock. */
bool ep_memo_current(const struct ep_memo_run *r);
/* Remember a run for this thread (replacing one it overlaps, or the oldest). */
void ep_memo_put(const struct pci_endpoint *ep, const struct ep_memo_run *run);

/* Fill a struct pci_atc_view from an entry (read side). */
void ep_atc_view(const struct atc_entry *e, struct pci_atc_view *v);

#endif
