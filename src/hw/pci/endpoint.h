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
 * (Enable, STU); and, in bits of their own, two facts of the model that the memo's fast paths
 * must also see (check mode on, the function removed). The register bits are written under
 * the write lock (ep_set_ctl), the model's bits with atomic read-modify-writes (ep_set_flag),
 * so neither loses the other's change; read with relaxed atomic loads.
 */
#define EP_CTL_PASID_EN	 (1u << 0)
#define EP_CTL_EXEC_EN	 (1u << 1)
#define EP_CTL_PRIV_EN	 (1u << 2)
#define EP_CTL_ATS_EN	 (1u << 3)
#define EP_CTL_STU_SHIFT 8 /* bits 12:8 */
#define EP_CTL_STU_MASK	 (0x1fu << EP_CTL_STU_SHIFT)
#define EP_CTL_CHECKING	 (1u << 16) /* a checker is set (check_fn != NULL) */
#define EP_CTL_REMOVED	 (1u << 17) /* state == PCI_EP_REMOVED */
#define EP_CTL_MODEL	 (EP_CTL_CHECKING | EP_CTL_REMOVED)

/*
 * The read side of a DMA thread that has a reader slot of its own (see ep_read_lock()):
 * `busy` is set with a sequentially consistent exchange on entry and cleared with a release
 * store on exit. Only the slot's owner writes `busy`; `owner` (a thread token, 0 = free) is
 * claimed with a compare-and-swap and given back when the thread exits (memo.c). The slot
 * also holds the counts of the memo's fast paths (dma.c), written by its owner only (a
 * relaxed load and store: no locked instruction on the DMA path) and kept when the slot
 * changes hands (the claim's acquire sees the last owner's counts);
 * pci_endpoint_get_stats() adds them to the shared counters.
 */
#define EP_READERS 32

struct ep_reader {
	_Alignas(64) uint64_t busy;
	uint64_t owner;
	uint64_t hits;	     /* struct pci_endpoint_stats.hits */
	uint64_t translated; /* ... translated_requests */
};

struct pci_endpoint {
	pthread_rwlock_t lock;
	/* Reader slots (EP_READERS of them, cache-line aligned), the claimed ones (bit i:
	 * slot i was ever claimed), and the flag a writer raises before it waits for them. */
	struct ep_reader *readers;
	uint64_t readers_claimed;
	int writer;
	struct pci_endpoint *reg_prev, *reg_next; /* the registry of live endpoints (memo.c) */
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
	pci_atc_check_fn check_fn; /* also EP_CTL_CHECKING, for readers without the lock */
	void *check_ctx;
	struct pci_endpoint_stats stats; /* relaxed atomic counters; atc_entries unused */
};

/*
 * What a DMA thread keeps per endpoint (memo.c): its reader slot and its request memos.
 *
 * A memo run is a run of ATC entries the thread resolved, each slot with its version then
 * (held[i].e, held[i].ver).
 * Entry i translates [addr + upto[i - 1], addr + upto[i]) (upto[-1] = 0) to pa + the same
 * offsets; upto[nheld - 1] == len. `who` is ep_who() of the requests it may serve.
 */
#define EP_MEMO_HELD 16
#define EP_MEMO_RUNS 4

struct ep_memo_ent {
	struct atc_entry *e; /* the entry ... */
	uint64_t ver;	     /* ... and its slot's version when the run was resolved */
};

/* A run is one cache line for the fast paths when it holds one entry (its first entry beside
 * the words they read; `upto` only for longer runs): ep_memo allocates them on lines. */
struct ep_memo_run {
	_Alignas(64) uint64_t who; /* 0: free */
	uint64_t addr, len, pa;
	uint8_t *hva; /* the run's memory in this process (mem_ptr), or NULL */
	unsigned nheld;
	struct ep_memo_ent held[EP_MEMO_HELD];
	uint64_t upto[EP_MEMO_HELD];
};

struct ep_thread {
	uint64_t ep_id; /* 0: unused */
	struct pci_endpoint *ep;
	struct ep_reader *slot; /* NULL: every slot was taken */
	unsigned next_run;	/* round-robin victim */
	struct ep_memo_run run[EP_MEMO_RUNS];
};

/* Who makes a request, in one word: the ATC key (PASID and tag) and the permission it needs
 * (never 0). */
static inline uint64_t ep_who(uint32_t pasid, uint8_t tag, uint8_t need)
{
	return (uint64_t)pasid << 16 | (uint64_t)tag << 8 | need;
}

/* The state this thread used last, and the lookup behind it (NULL without memory). */
extern __thread struct ep_thread *ep_thread_last __attribute__((tls_model("initial-exec")));
struct ep_thread *ep_thread_find(struct pci_endpoint *ep);

/* This thread's state in `ep`, created on first use (its reader slot claimed); NULL when
 * there is no memory for it. */
static inline struct ep_thread *ep_thread_of(struct pci_endpoint *ep)
{
	struct ep_thread *t = ep_thread_last;

	if (__builtin_expect(t && t->ep_id == ep->id, 1))
		return t;
	return ep_thread_find(ep);
}

/* The thread's memo run for `who` that contains `addr`, or NULL. No lock. */
static inline const struct ep_memo_run *ep_memo_find(const struct ep_thread *t, uint64_t who,
						     uint64_t addr)
{
	for (unsigned i = 0; i < EP_MEMO_RUNS; i++) {
		const struct ep_memo_run *r = &t->run[i];

		if (r->who == who && addr - r->addr < r->len)
			return r;
	}
	return NULL;
}

/* Remember a run for this thread (replacing one of the same requester it overlaps, or the
 * oldest). */
void ep_memo_put(struct pci_endpoint *ep, const struct ep_memo_run *run);

/* The registry of live endpoints (memo.c): create and destroy. */
void ep_register(struct pci_endpoint *ep);
void ep_unregister(struct pci_endpoint *ep);

/*
 * The endpoint lock. The write side is the rwlock's write lock plus `writer` raised and
 * every claimed reader slot seen idle. The read side is either the thread's reader slot
 * (an exchange to enter and a plain release store to leave: no locked instruction after
 * the access, so a large copy's stores drain while the thread goes on; entered only while
 * no writer is in or coming, else the thread waits on the rwlock's read side like a thread
 * without a slot) or the rwlock's read lock.
 *
 * Why a writer never overlaps a slot reader (a Dekker handshake, both sides sequentially
 * consistent): the reader sets `busy` and then looks at `writer`; the writer sets `writer`
 * and then looks at every `busy`. One of them sees the other: the reader backs off to the
 * rwlock, or the writer waits for `busy` to clear, which the reader does with a release
 * store after its last access (so the writer's acquire load orders that access before
 * whatever the writer changes next).
 */
struct ep_read {
	struct ep_reader *slot; /* NULL: the rwlock's read side */
};

/* The read side through `t`'s reader slot if it has one (t may be NULL). */
static inline void ep_read_lock_t(struct pci_endpoint *ep, const struct ep_thread *t,
				  struct ep_read *h)
{
	struct ep_reader *r = t ? t->slot : NULL;

	if (__builtin_expect(r != NULL, 1)) {
		__atomic_exchange_n(&r->busy, 1, __ATOMIC_SEQ_CST);
		if (__builtin_expect(!__atomic_load_n(&ep->writer, __ATOMIC_SEQ_CST), 1)) {
			h->slot = r;
			return;
		}
		__atomic_store_n(&r->busy, 0, __ATOMIC_RELEASE);
	}
	pthread_rwlock_rdlock(&ep->lock);
	h->slot = NULL;
}

static inline void ep_read_lock(struct pci_endpoint *ep, struct ep_read *h)
{
	ep_read_lock_t(ep, ep_thread_of(ep), h);
}

static inline void ep_read_unlock(struct pci_endpoint *ep, const struct ep_read *h)
{
	if (h->slot)
		__atomic_store_n(&h->slot->busy, 0, __ATOMIC_RELEASE);
	else
		pthread_rwlock_unlock(&ep->lock);
}

/* The write side (endpoint.c). */
void ep_write_lock(struct pci_endpoint *ep);
void ep_write_unlock(struct pci_endpoint *ep);

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

/* Write side: replace the control registers (the model's bits of `ctl` are ignored). */
static inline void ep_set_ctl(struct pci_endpoint *ep, uint32_t ctl)
{
	uint32_t old = __atomic_load_n(&ep->ctl, __ATOMIC_RELAXED);

	while (!__atomic_compare_exchange_n(&ep->ctl, &old,
					    (old & EP_CTL_MODEL) | (ctl & ~EP_CTL_MODEL), false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Set or clear one of the model's bits of the control word (EP_CTL_MODEL). */
static inline void ep_set_flag(struct pci_endpoint *ep, uint32_t flag, bool on)
{
	if (on)
		__atomic_fetch_or(&ep->ctl, flag, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&ep->ctl, ~flag, __ATOMIC_RELAXED);
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

/* Fill a struct pci_atc_view from an entry (read side). */
void ep_atc_view(const struct atc_entry *e, struct pci_atc_view *v);

#endif
