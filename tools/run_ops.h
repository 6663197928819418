/* SPDX-License-Identifier: MIT */
/*
 * One workload thread and the operations of each device type (run_ops.c), driven by the
 * phase loop of run_workload.c.
 *
 * Every operation is what a kernel driver would do with the DMA API, and what its device
 * then does by DMA through its PCIe function (and so its device TLB and the IOMMU):
 *  - DSA: map the buffers, build a descriptor, submit it through the engine's kernel
 *    driver (dsa_driver.h: it adds the completion record and the kernel PASID), later
 *    wait for its completion record, unmap. The engine does the DMA in its own thread;
 *    each thread keeps a few descriptors in flight (its share of the work queue, at most
 *    8), as a client feeding an engine does.
 *  - NIC: packets from the wire into the receive ring and packets sent, through the NIC's
 *    kernel driver (traffic.h: one dma_map_single per packet buffer, rings in coherent
 *    memory); the device moves them in its own thread.
 *  - storage: requests of several segments through the storage controller's kernel
 *    driver (traffic.h: dma_map_sg per request, commands and lists in coherent memory),
 *    one in flight per thread; the device moves them in its own thread.
 * With `map = once` (DSA) the buffers are mapped when the thread starts and unmapped at its
 * end. With `verify` each operation's data is checked: the destination holds what the
 * source held, and a failed operation left alone what it did not reach.
 */
#ifndef SOFTIOMMU_TOOLS_RUN_OPS_H
#define SOFTIOMMU_TOOLS_RUN_OPS_H

#include "run.h"

#define RUN_SZ_4K 4096ull

/* How long an operation may take before the run calls it stuck (a stack bug). */
#define RUN_OP_TIMEOUT_NS (30ull * 1000000000ull)

/* One slot of a window: an operation posted and not yet completed. */
struct run_slot {
	bool busy;
	uint64_t op;	   /* the operation's number in the thread */
	uint64_t len;	   /* bytes of the operation */
	dma_addr_t dma;	   /* DSA source */
	dma_addr_t dma2;   /* DSA destination */
	uint64_t fill;	   /* DSA fill pattern */
	unsigned ticket;   /* DSA: the driver's completion record */
	struct dma_sg *sg; /* storage: `segments` entries */
	uint64_t t_post;   /* trace: when it was posted */
	uint32_t lane;	   /* trace: its lane (0: the thread's) */
};

struct run_thread {
	struct run *r;
	const struct scenario_workload *w;
	unsigned wi; /* workload index */
	unsigned t;  /* thread index within the workload */
	struct run_device *d;
	unsigned slot; /* the phase's counter slot */
	uint64_t count;
	uint64_t rng;
	unsigned pid; /* trace lane */
	bool has_pasid;
	uint32_t pasid;
	unsigned wq;  /* DSA work queue */
	bool dsa_raw; /* DSA: the descriptors carry dsa_pasid_field, not the driver's */
	uint32_t dsa_pasid_field;

	/* Physical buffers reserved for this (workload, thread) at setup. */
	uint64_t buf;
	uint64_t slot_size; /* bytes per window slot */
	unsigned window;

	uint64_t lba; /* storage: the first of its blocks on the medium */

	struct run_slot *slots;
	bool mapped_once; /* map = once: the slots' mappings live as long as the thread */

	/* Counted locally, added to the shared counters at the end (a NIC's packets are
	 * counted from its driver instead: run_ops_traffic.c). */
	uint64_t ops, bytes, failed, verified, mismatches;
	uint64_t progress_pending;
	uint64_t next_op; /* DSA: the next operation's number (the drain's order) */
	int error;	  /* something the stack got wrong that stops the thread */
};

/* Descriptors a DSA workload's thread keeps in flight: its share of the work queues'
 * slots, at most RUN_DSA_WINDOW. */
#define RUN_DSA_WINDOW 8
unsigned run_dsa_window(const struct scenario_device *d, const struct scenario_workload *w);

/* Window slots and bytes per slot a workload's thread needs (for the memory layout). */
void run_ops_footprint(const struct run *r, const struct scenario_workload *w, unsigned *window,
		       uint64_t *slot_size);

/* Set up, run `count` operations, tear down. Returns 0 or a negative errno (also in
 * th->error) when the thread had to stop. */
int run_ops_thread(struct run_thread *th);

/* Between the operations and the tear-down: the phase end hook (the graph is drawn while
 * the thread's long-lived mappings are still in place). */
void run_ops_pause(struct run_thread *th);

/* ---- what the device types share (run_ops.c) ---------------------------------------------- */

uint64_t run_op_rnd(uint64_t *state); /* the workloads' random numbers (xorshift64*) */
uint64_t run_op_draw(struct run_thread *th, const struct scenario_range *rg); /* a size */
/* Bytes that identify `seed` (operation, part): different seeds differ everywhere. */
void run_op_pattern(uint8_t *p, uint64_t len, uint64_t seed);
uint64_t run_op_seed(const struct run_thread *th, uint64_t op, uint64_t part);
uint8_t *run_op_ptr(struct run_thread *th, uint64_t pa, uint64_t len); /* the CPU's view */
void run_op_progress(struct run_thread *th); /* one operation done (the progress bar) */
/* Something the stack got wrong: noted for the report, the thread stops. */
void run_op_stop(struct run_thread *th, int err, const char *what);
/* dma_map_single / dma_unmap_single on the device's DMA handle, counted and traced. */
dma_addr_t run_op_map(struct run_thread *th, uint64_t pa, uint64_t len,
		      enum dma_data_direction dir);
void run_op_unmap(struct run_thread *th, dma_addr_t a, uint64_t len, enum dma_data_direction dir);
/* One operation from t0 to now on the trace lane of window slot k. */
void run_op_trace(struct run_thread *th, unsigned k, const char *name, uint64_t t0, uint64_t len,
		  bool ok);

/* ---- DSA (run_ops_dsa.c): descriptors through the engine's kernel driver ------------------ */

int run_dsa_setup(struct run_thread *th);
void run_dsa_op(struct run_thread *th, uint64_t i);
void run_dsa_drain(struct run_thread *th);
void run_dsa_teardown(struct run_thread *th);

/* ---- NIC and storage (run_ops_traffic.c): through their kernel drivers -------------------- */

void run_nic_op(struct run_thread *th, uint64_t i);
void run_nic_drain(struct run_thread *th);
/* Around each phase's threads: the NICs' counters, then their differences to the
 * workloads (one per NIC and phase). */
void run_nic_phase_begin(struct run *r);
void run_nic_phase_end(struct run *r, unsigned slot);
void run_storage_op(struct run_thread *th, uint64_t i);
/* 512-byte blocks of the medium one thread of `w` uses. */
uint64_t run_storage_blocks(const struct scenario_workload *w);

#endif
