/* SPDX-License-Identifier: MIT */
/*
 * `softiommu run`: execute a scenario (tools/scenario.h) on the whole stack and report what
 * happened. This header is shared by the runner's files:
 *
 *   run.c           the command: options, the run from start to end, the exit status
 *   run_machine.c   the platform: one VT-d unit per page-table stage the devices need, the
 *                   IOMMU core and VT-d driver on it, and the register-window shim that
 *                   carries out the scenario's fault injection (skip_invalidation)
 *   run_device.c    devices: endpoints, DMA handles, the kernel PASID, DSA engines
 *   run_events.c    what the hardware reports: the model's trace hook (faults,
 *                   invalidations, translations), check-mode and device-TLB checker reports
 *   run_workload.c  workload threads and phases; run_ops.c the operations of each device type
 *   run_expect.c    the scenario's expectations against the counters
 *   run_progress.c  the progress bar
 *   report*.c       the report (text and JSON); trace.c the Chrome trace; dot.c the graph
 *
 * Everything goes through the public headers (include/softiommu/), as any program
 * embedding the library would.
 *
 * Counting. Phases run one after another; every counter belongs to a "slot": slot p is
 * phase p, and slot n_phases ("setup") holds what happened before the first phase (device
 * probe, PASID enablement). Expectations on a phase read its slot, whole-run expectations
 * and the report sum every slot. Counters fed from many threads are atomics.
 *
 * Locking: the run is driven by one thread; workload threads, DSA engine threads, the DMA
 * layer's flush timers and the progress thread feed counters through atomics and the
 * run's mutex (fault and finding lists).
 */
#ifndef SOFTIOMMU_TOOLS_RUN_H
#define SOFTIOMMU_TOOLS_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <softiommu/dma.h>
#include <softiommu/dsa.h>
#include <softiommu/dsa_driver.h>
#include <softiommu/intel_iommu.h>
#include <softiommu/iommu.h>
#include <softiommu/mem.h>
#include <softiommu/pci.h>
#include <softiommu/traffic.h>
#include <softiommu/vtd.h>

#include "scenario.h"

struct trace;

/* ---- options ------------------------------------------------------------------------------ */

enum run_progress_mode {
	RUN_PROGRESS_AUTO, /* on a terminal, for runs longer than a second */
	RUN_PROGRESS_OFF,
	RUN_PROGRESS_ON, /* even when stderr is not a terminal (tests) */
};

struct run_options {
	const char *scenario_path; /* NULL: the built-in default */
	const char *json_path;	   /* NULL: no JSON; "-": standard output */
	const char *trace_path;	   /* NULL: no trace */
	uint64_t trace_sample;	   /* record every Nth translation; 0: none */
	uint64_t trace_limit;	   /* events kept at most (the rest are counted) */
	const char *dot_path;	   /* NULL: no graph; "-": standard output */
	const char *dot_phase;	   /* the phase after which the graph is drawn; NULL: last */
	unsigned dot_depth;	   /* page-table levels drawn */
	unsigned dot_machine;	   /* which unit, when the run has several */
	unsigned findings_shown;   /* checker findings printed in full */
	enum run_progress_mode progress;
	bool quiet;	 /* no text report (the JSON, trace and graph are still written) */
	bool graph_only; /* softiommu dot: the status says whether the graph was drawn */
	double scale;	 /* multiply every workload's count (at least 1 operation) */
	FILE *out;	 /* the text report (stdout) */
	FILE *err;	 /* messages and the progress bar (stderr) */
};

void run_options_default(struct run_options *o);

/* ---- counters ----------------------------------------------------------------------------- */

/* Invalidation descriptor types 1..8 (index 0: unused) and granularities (enum
 * scenario_inv_gran, SCENARIO_IG_ANY standing for "none": waits, interrupt entries). */
#define RUN_INV_TYPES 9
#define RUN_INV_GRANS 6

/* One (phase, workload): what its operations did. */
struct run_wl_counts {
	_Atomic uint64_t ops;	     /* completed successfully */
	_Atomic uint64_t bytes;	     /* bytes those moved */
	_Atomic uint64_t failed;     /* completed with an error */
	_Atomic uint64_t verified;   /* data checked and right */
	_Atomic uint64_t mismatches; /* data checked and wrong */
	bool has_pasid;		     /* the PASID its operations carried in this phase */
	uint32_t pasid;
	bool ran;
};

/* Faults, by where they came from. `device` -1: a requester ID no device has. */
struct run_fault {
	unsigned slot;
	int device;
	bool has_pasid;
	uint32_t pasid;
	uint8_t reason; /* 0: an ATS translation request answered with R = W = 0 */
	uint64_t count;
	uint64_t recorded; /* of which went to a fault-recording register */
	uint64_t first_addr;
};

/* Checker findings, grouped; the first few are also kept in full. */
struct run_finding_group {
	unsigned slot;
	int device;
	bool has_pasid;
	uint32_t pasid;
	enum scenario_cache_id cache;
	uint64_t count;
};

struct run_finding {
	unsigned slot;
	int device;
	bool has_pasid;
	uint32_t pasid;
	enum scenario_cache_id cache;
	uint64_t addr;
	uint16_t did;
	char held[96];	  /* what the cache served */
	char memory[96];  /* what the tables say now */
	char missing[96]; /* the invalidation that was left out */
	char detail[160];
};

/* Cache counters for a slot (a difference of snapshots). SCENARIO_CACHE_PWC sums the
 * first- and second-stage paging-structure caches, which pwc_* also give apart. */
struct run_cache_counts {
	uint64_t hits[SCENARIO_CACHE_DEVTLB + 1];
	uint64_t misses[SCENARIO_CACHE_DEVTLB + 1];
	bool measured[SCENARIO_CACHE_DEVTLB + 1];
	uint64_t pwc_hits[2], pwc_misses[2]; /* [0] first stage, [1] second stage */
};

/* ---- the platform ------------------------------------------------------------------------- */

struct run;
struct run_device;

/* Descriptor offsets of the queue the shim turned into no-ops (one bit per slot): the
 * largest queue (IQA.QS = 7) of the smallest descriptors. */
#define RUN_QUEUE_SLOTS (INTEL_IOMMU_QUEUE_PAGES_MAX * 4096 / 16)

/* One VT-d unit with everything on it: one per page-table stage that devices ask for. */
struct run_machine {
	struct run *run;
	unsigned index;
	enum scenario_page_table stage; /* the driver's default stage on this unit */
	struct mem *mem;		/* shared by every machine of the run */
	struct mem_alloc *alloc;	/* tables, queues and coherent buffers */
	struct vtd *vtd;
	struct iommu_core *core;
	struct intel_iommu *iommu;
	/* The shim (run_machine.c): queue slots neutralised by the IQT write in progress,
	 * read by the trace hook that runs inside that write. Guarded by the driver's queue
	 * lock (one submission at a time per unit). */
	uint8_t noop[RUN_QUEUE_SLOTS / 8];
	bool noop_any;	    /* some bit of noop is set */
	unsigned desc_size; /* 16 or 32 bytes */
	_Atomic uint64_t skipped[RUN_INV_TYPES];
	_Atomic uint64_t translations; /* for the trace's sampling */
};

/* One scenario device. */
struct run_device {
	const struct scenario_device *sd;
	unsigned index;
	struct run_machine *rm;
	struct pci_endpoint *ep;
	struct iommu_dev *dev;
	struct dma_dev *dma;	     /* its DMA-API handle (the driver's, for a DSA engine) */
	struct dsa_drv *dsa_drv;     /* type dsa: the engine's kernel driver */
	struct nic_drv *nic_drv;     /* type nic: the NIC's driver */
	struct storage_drv *sto_drv; /* type storage: the controller's driver */
	/* NIC (run_ops_traffic.c): the driver's and device's counters when the phase began,
	 * packets the phase's threads asked for, and the wire's lead over the polling. */
	struct nic_drv_stats nic_base;
	struct nic_stats nic_dev_base;
	_Atomic uint64_t nic_rx_want, nic_tx_want, nic_gen, nic_taken;
	bool ats_connected;    /* the unit knows its device TLB */
	_Atomic uint32_t skip; /* SCENARIO_SKIP_* in force now */
	_Atomic int did;       /* its default domain's DID on its unit, -1 before probe */
	bool kpasid_on;	       /* the kernel PASID is enabled now */
	uint32_t kpasid;       /* the current (or last) kernel PASID */
	bool kpasid_ever;      /* it had one at some point */
	uint32_t kpasids[16];  /* every kernel PASID it had (for pasid=kernel) */
	unsigned n_kpasids;
	char log[160]; /* the driver's last log line (why a kernel PASID was refused) */
};

/* ---- the run ------------------------------------------------------------------------------ */

#define RUN_MAX_FINDINGS 64 /* checker findings kept in full, at most */
#define RUN_DEBUG_TEXTS	 8  /* DMA-API debug reports kept in full */

struct run {
	const struct scenario *s;
	const struct run_options *o;
	struct mem *mem;
	struct run_machine *machines;
	unsigned n_machines;
	struct run_device *devs;
	size_t n_devs;
	uint64_t *wl_buf; /* each workload's buffers: physical base */

	unsigned n_slots;     /* n_phases + 1: the phases, then setup */
	_Atomic unsigned cur; /* the slot events go to now (n_slots: none) */

	/* Counters per slot (see the top of this file). */
	struct run_wl_counts *wl; /* [slot * n_workloads + w] */
	/* Invalidations carried out, by device (index n_devs: all of them, each once), type
	 * and granularity: [((slot * (n_devs + 1) + dev) * TYPES + type) * GRANS + gran]. */
	_Atomic uint64_t *inv;
	_Atomic uint64_t *skipped;   /* [slot * (n_devs + 1) + dev]: left out by injection */
	_Atomic uint64_t inv_failed; /* invalidations that did not complete (errors, time-outs) */
	uint64_t *fallbacks;	     /* [slot * n_devs + dev] */
	uint64_t *debug;	     /* [slot * n_devs + dev]: DMA-API debug reports */
	struct pci_endpoint_stats *atc; /* [slot * n_devs + dev] */
	struct dma_stats *dmastat;	/* [slot * n_devs + dev]: the DMA API's counters */
	struct vtd_cache_stats *vcache; /* [slot * n_machines + m] */
	uint64_t *slot_ns;		/* wall time of each slot */

	/* Snapshots at the start of the current slot (run_workload.c). */
	struct vtd_cache_stats *snap_vc;
	struct pci_endpoint_stats *snap_ep;
	uint64_t *snap_dbg;
	struct dma_stats *snap_dma;
	uint64_t snap_t;

	/* The pause between a phase's operations and its threads' tear-down, when the graph
	 * is drawn (run_workload.c). */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	unsigned pause_arrived;
	bool pause_on, pause_release;

	pthread_mutex_t lock; /* the lists below */
	struct run_fault *faults;
	size_t n_faults, cap_faults;
	uint64_t faults_lost; /* no memory to count them */
	struct run_finding_group *groups;
	size_t n_groups, cap_groups;
	struct run_finding *findings; /* the first o->findings_shown, in order */
	size_t n_findings;
	uint64_t findings_total;
	uint64_t findings_lost;
	char debug_texts[RUN_DEBUG_TEXTS][160];
	unsigned n_debug_texts;

	_Atomic uint64_t ops_done; /* for the progress bar */
	uint64_t ops_total;
	_Atomic(const char *) phase_name;
	_Atomic bool abort; /* the scenario's timeout passed */
	bool any_skip;	    /* some device or phase injects a missing invalidation */
	bool timed_out;

	struct trace *trace;
	uint64_t start_ns, end_ns;
	char setup_msg[512];   /* why the run could not be built (exit status 2) */
	unsigned stack_errors; /* things the stack got wrong that no expectation names */
	char stack_msg[256];
	bool dot_done; /* the graph's phase came (whether the graph could be written or not) */
};

/* Whether an output option's FILE is "-": standard output (run_options.out). */
static inline bool run_to_stdout(const char *path)
{
	return path && !strcmp(path, "-");
}

/* Monotonic nanoseconds. */
uint64_t run_now_ns(void);

/* Trace lanes: the run, then one per device, then one per unit. */
static inline unsigned run_pid_dev(size_t dev)
{
	return 1 + (unsigned)dev;
}

static inline unsigned run_pid_unit(const struct run *r, unsigned machine)
{
	return 1 + (unsigned)r->n_devs + machine;
}

/* Slot helpers. */
static inline struct run_wl_counts *run_wl(struct run *r, unsigned slot, unsigned w)
{
	return &r->wl[slot * r->s->n_workloads + w];
}

static inline _Atomic uint64_t *run_inv(struct run *r, unsigned slot, size_t dev, unsigned type,
					unsigned gran)
{
	return &r->inv[((slot * (r->n_devs + 1) + dev) * RUN_INV_TYPES + type) * RUN_INV_GRANS +
		       gran];
}

/* run_machine.c */
int run_machines_create(struct run *r);
void run_machines_destroy(struct run *r);
struct run_machine *run_machine_for(struct run *r, const struct scenario_device *sd);
uint64_t run_tables_base(const struct run *r);
const char *run_dot_device_name(void *ctx, uint16_t rid);
/* The device of `rid` on machine `rm`, or NULL. */
struct run_device *run_device_by_rid(struct run *r, const struct run_machine *rm, uint16_t rid);

/* run_device.c */
int run_devices_alloc(struct run *r);
int run_devices_create(struct run *r);
void run_devices_teardown(struct run *r); /* the objects; the array stays for the report */
void run_devices_free(struct run *r);
int run_enable_pasid(struct run *r, struct run_device *d, bool must);
int run_disable_pasid(struct run *r, struct run_device *d);
bool run_device_kpasid(const struct run_device *d, uint32_t pasid);

/* run_events.c: hooks handed to the model, the endpoints and the DMA layer. */
void run_trace_hook(void *ctx, const struct vtd_trace_event *ev);
void run_stale_hook(void *ctx, const struct vtd_stale *st);
void run_atc_mismatch(void *ctx, const struct pci_atc_mismatch *m);
int run_ref_translate(void *ctx, const struct pci_req *req, struct pci_resp *resp);
void run_note_stack_error(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* run_workload.c */
int run_layout(struct run *r);
int run_phases(struct run *r);
void run_snapshot_begin(struct run *r, unsigned slot);
void run_snapshot_end(struct run *r, unsigned slot);
uint64_t run_scaled_count(const struct run *r, const struct scenario_workload *w);
/* run_ops.c: bytes of physical memory one thread of `w` uses. */
uint64_t run_ops_region(const struct run *r, const struct scenario_workload *w);

/* run_expect.c: evaluate one expectation. Stores the measured value (counts, bytes, or a
 * hit rate in 0.01 % units) and returns true when it holds; false with *why set when it
 * does not, or cannot be measured. */
bool run_expect_eval(struct run *r, const struct scenario_expect *e, uint64_t *value,
		     const char **why);
/* Whether the scenario says anything about checker findings (then it decides). */
bool run_expects_findings(const struct scenario *s);

/* Sums over slots (slot -1: every slot). */
uint64_t run_sum_findings(struct run *r, int slot, int device, enum scenario_pasid_sel psel,
			  uint32_t pasid, enum scenario_cache_id cache);
uint64_t run_sum_faults(struct run *r, int slot, int device, enum scenario_pasid_sel psel,
			uint32_t pasid, uint8_t reason);
uint64_t run_sum_inv(struct run *r, int slot, int device, enum scenario_inv_type type,
		     enum scenario_inv_gran gran);
void run_sum_caches(struct run *r, int slot, int device, struct run_cache_counts *out);

/* run_progress.c */
struct run_progress;
struct run_progress *run_progress_start(struct run *r);
void run_progress_stop(struct run_progress *p);

/* Names for reports. */
const char *run_cache_name(enum scenario_cache_id c);
const char *run_inv_type_name(unsigned type);
const char *run_inv_gran_name(unsigned gran);

/* The run as a library call (tests and bench_tool use it): parse nothing, run `s`. The
 * exit status (0, 1, 2) is returned; the report goes where `o` says. */
int run_scenario(const struct scenario *s, const struct run_options *o);

/* The same, calling `inspect` with the finished run (its counters, before they are freed;
 * the devices are torn down by then) and the exit status. For tests. */
int run_scenario_inspect(const struct scenario *s, const struct run_options *o,
			 void (*inspect)(struct run *r, int status, void *ctx), void *ctx);

/* The subcommands. */
int cmd_run(int argc, char **argv);
int cmd_dot(int argc, char **argv);

#endif
