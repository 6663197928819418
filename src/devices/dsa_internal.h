/* SPDX-License-Identifier: MIT */
/*
 * Inside the DSA-like engine: shared by dsa.c (the device, its WQs and counters),
 * dsa_engine.c (the engine threads: checking a descriptor, completing it) and dsa_ops.c
 * (the operations, done as DMA through the endpoint). Nothing outside src/devices/ includes
 * this.
 */
#ifndef SOFTIOMMU_DEVICES_DSA_INTERNAL_H
#define SOFTIOMMU_DEVICES_DSA_INTERNAL_H

#include <pthread.h>
#include <softiommu/dsa.h>
#include <softiommu/pci.h>

#define DSA_PAGE 4096u

/* Per-PASID counters: key 0 = free, 1 = requests without PASID, 2 + PASID otherwise (claimed
 * once with a CAS); the counters are kept per WQ, each written by that WQ's engine only. */
struct dsa_pasid_count {
	uint64_t descriptors, bytes, faults;
};

/*
 * The engine's counters of one WQ (struct dsa_stats' fields but `submitted` and `retries`,
 * which the submitters count, and `completed`, which is the sum of the four outcomes), each
 * with one writer (relaxed load + store, read with relaxed loads). What a successful
 * descriptor with a record and an interrupt bumps comes first, in the line of the engine's
 * `head` (struct dsa_wq), then the counts per opcode: two lines per descriptor.
 */
struct dsa_wq_counts {
	uint64_t success, bytes, records, interrupts;
	uint64_t by_op[5]; /* NOOP, MEMMOVE, FILL, COMPARE, CRC32C */
	uint64_t page_faults, dma_errors, invalid, record_errors, swerr_latched, busy_ns;
};

/*
 * One WQ and its engine. The ring holds copies of accepted descriptors.
 *
 * The ring is single-consumer: the engine takes descriptors without the lock (an acquire
 * load of `tail`, then a release store of `head` once the slot is copied out), so a
 * submitter and a busy engine never wait for each other. Submitters serialise among
 * themselves on `lock` and publish a slot with a release store of `tail`. The engine takes
 * `lock` only to go to sleep: it sets `sleeping` and looks at `tail` once more under the
 * lock, and a submitter, which moves `tail` under the lock, signals `work` when it sees
 * `sleeping`, so no wake-up is lost and a busy engine is never signalled.
 *
 * Cache lines (the struct and the ring are allocated on 64-byte boundaries): what the engine
 * reads for every descriptor and nobody writes on the busy path first; then the lock with
 * what it guards, then the submitters' line, then the engine's, so that a submission
 * writes no line the engine reads for each descriptor and a descriptor writes none a
 * submitter reads (only the slot, `tail` and the record cross between the two CPUs).
 */
struct dsa_wq {
	struct dsa *dsa;
	unsigned id;
	uint32_t size;
	struct dsa_desc *ring; /* 64-byte aligned: a slot is one cache line */
	bool stop; /* the thread leaves once the ring is empty (atomic; set under lock) */
	/* The smallest `completed` a drainer waits for (atomic; lowered by drainers and reset
	 * to UINT64_MAX by the engine's wake-up, both under lock): the engine wakes drainers
	 * when it gets there, not at every descriptor. */
	uint64_t drain_at;
	_Alignas(64) pthread_mutex_t lock; /* submitters; the engine's sleep; the flags below */
	pthread_cond_t work;		   /* the engine waits here for descriptors (or stop) */
	pthread_cond_t idle;		   /* drainers wait here for `completed` to move */
	bool enabled;			   /* submissions accepted (lock) */
	bool running;			   /* the thread exists (lock) */
	bool sleeping;			   /* the engine is in pthread_cond_wait(work) (lock) */
	bool exited;	   /* the thread has added its CPU time to cpu_done and is leaving */
	unsigned drainers; /* threads in dsa_wq_drain() (atomic; changed under lock) */
	uint64_t cpu_done; /* CPU ns of the engine threads that have left */
	pthread_t thread;
	/* Written by submitters (under lock): the next free slot; tail - head <= size; its
	 * index in the ring (tail % size, kept without a division); a value of `head` they
	 * have seen (the engine's line is read only when the ring looks full); their counters
	 * (submitted, retries). */
	_Alignas(64) uint64_t tail;
	uint32_t tail_slot;
	uint64_t head_seen;
	struct dsa_stats sub;
	/* Written by the engine only: the next descriptor it takes, and how many it has
	 * finished (drainers wait for it); the per-PASID counters of the PASID key it counted
	 * last (dsa_account), NULL before the first; its counters (struct dsa_wq_counts). */
	_Alignas(64) uint64_t head;
	uint64_t completed;
	uint64_t acct_key;
	struct dsa_pasid_count *acct;
	struct dsa_wq_counts cnt;
	/* The engine's internal buffers (used by its thread only). */
	_Alignas(64) uint8_t buf[2][DSA_PAGE];
	uint8_t pattern[DSA_PAGE + 8];
};

struct dsa_pasid_slot {
	uint64_t key;
	struct dsa_pasid_count wq[DSA_MAX_WQS];
};

/* Allocated on a 64-byte boundary: what the engines read for each descriptor in the first
 * line (copies of cfg's, constant after creation); the engines' per-PASID counters start on
 * a line of their own, apart from what submitters read (cfg, wq). */
struct dsa {
	struct pci_endpoint *ep;
	dsa_irq_fn irq;
	void *irq_ctx;
	dsa_access_fn access;
	void *access_ctx;
	uint32_t max_transfer_size;
	uint8_t pasid_width; /* the endpoint's Max PASID Width (0: no PASID capability) */
	struct dsa_config cfg;
	struct dsa_wq *wq[DSA_MAX_WQS];
	_Alignas(64) struct dsa_pasid_slot pasid[DSA_PASID_STATS_SLOTS];
	struct dsa_pasid_slot other;
	pthread_mutex_t swerr_lock;
	struct dsa_swerr swerr;
};

/* A WQ counter bumped by its only writer. */
#define WQ_STAT_ADD(wq, f, n)                                                                      \
	__atomic_store_n(&(wq)->f, __atomic_load_n(&(wq)->f, __ATOMIC_RELAXED) + (n),              \
			 __ATOMIC_RELAXED)
#define WQ_STAT_INC(wq, f) WQ_STAT_ADD(wq, f, 1)

/*
 * What an operation did, filled by dsa_ops.c and turned into a completion record by
 * dsa_engine.c. `done` counts bytes completed (see struct dsa_completion).
 */
struct dsa_result {
	uint8_t status;
	uint8_t result;
	uint8_t fault_info;
	uint8_t fault_reason;
	uint32_t done;
	uint64_t fault_addr;
	uint32_t crc;
	int32_t error;
};

/* The DMA context of one descriptor. */
struct dsa_xfer {
	struct dsa *dsa;
	struct dsa_wq *wq;
	unsigned flags; /* PCI_DMA_PASID | PCI_DMA_PRIV */
	uint32_t pasid;
	struct dsa_result *res;
};

/* dsa_ops.c: run a checked descriptor's operation; fills x->res. */
void dsa_op_memmove(struct dsa_xfer *x, const struct dsa_desc *d);
void dsa_op_fill(struct dsa_xfer *x, const struct dsa_desc *d);
void dsa_op_compare(struct dsa_xfer *x, const struct dsa_desc *d);
void dsa_op_crc32c(struct dsa_xfer *x, const struct dsa_desc *d);

/* dsa_ops.c: a memmove whose ranges do not overlap (the endpoint copies it whole). */
bool dsa_memmove_whole(const struct dsa_desc *d);

/*
 * dsa_ops.c: such a memmove and then its record `c` (written only if the copy succeeded), in
 * one call to the endpoint (pci_endpoint_dma_copy_write). 0: the copy succeeded (x->res
 * has its bytes) and the record write was made - *wr says how it went (status 0: written, or
 * its failure as dsa_dma() describes one). Else the copy's error, described in x->res, and
 * nothing written. No access hook is called: for an engine without one.
 */
int dsa_op_memmove_record(struct dsa_xfer *x, const struct dsa_desc *d,
			  const struct dsa_completion *c, struct dsa_result *wr);

/* dsa_ops.c: one DMA through the endpoint (calling the access hook first). 0, or the
 * endpoint's error with the failure described in x->res (`fi` adds DSA_FI_SRC2). */
int dsa_dma(struct dsa_xfer *x, bool write, uint64_t addr, void *buf, size_t len, uint8_t fi);

/* dsa_engine.c: the engine thread of a WQ. */
void *dsa_engine_main(void *arg);

/* dsa.c: account a finished descriptor (`n` = 1), or take back an account made before the
 * outcome was known (`n` = -1); latch a software error (engine threads). */
void dsa_account(struct dsa_wq *wq, const struct dsa_desc *d, const struct dsa_result *r, int n);
void dsa_latch_swerr(struct dsa_wq *wq, const struct dsa_swerr *e);

#endif
