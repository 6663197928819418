/* SPDX-License-Identifier: MIT */
/*
 * Scenarios: what `softiommu run` executes, read from the small block language that
 * docs/scenarios.md describes. This header is the reader's whole interface: a plain C
 * structure with every default filled in and every cross-reference resolved to an array
 * index, so the runner never looks at text again.
 *
 * The reader never executes anything and never crashes on any input: every problem becomes
 * a diagnostic with file:line:column (struct scenario_diag), several per run up to a limit.
 *
 * Memory: a parsed scenario owns all of its strings and arrays; scenario_free releases them.
 * Diagnostics are owned by the caller's struct scenario_diags (scenario_diags_free).
 *
 * Locking: none. Distinct scenarios and distinct diagnostic lists may be used from
 * different threads at once; the reader has no global state.
 */
#ifndef SOFTIOMMU_TOOLS_SCENARIO_H
#define SOFTIOMMU_TOOLS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Limits the reader enforces (each exceeded limit is a diagnostic, never a crash). */
#define SCENARIO_MAX_INPUT	   (1u << 20) /* bytes of scenario text */
#define SCENARIO_MAX_DEVICES	   256
#define SCENARIO_MAX_WORKLOADS	   256
#define SCENARIO_MAX_PHASES	   256
#define SCENARIO_MAX_EXPECTS	   1024
#define SCENARIO_MAX_LIST	   256 /* items in one comma-separated value */
#define SCENARIO_MAX_NAME	   64  /* bytes in a device, workload or phase name */
#define SCENARIO_DEFAULT_MAX_DIAGS 20

/* ---- the IOMMU unit --------------------------------------------------------------------- */

/* Translation mode of the unit: scalable (RTADDR.TTM = 01, ECAP.SMTS) or legacy (TTM = 00). */
enum scenario_mode {
	SCENARIO_MODE_SCALABLE,
	SCENARIO_MODE_LEGACY,
};

/* Bits of scenario_iommu.sagaw: supported second-stage widths (CAP.SAGAW bits 9, 10, 11). */
#define SCENARIO_SAGAW_39 (1u << 0) /* 3-level, 39-bit */
#define SCENARIO_SAGAW_48 (1u << 1) /* 4-level, 48-bit */
#define SCENARIO_SAGAW_57 (1u << 2) /* 5-level, 57-bit */

/* Bits of scenario_iommu.large_pages (CAP.SLLPS bits 34/35 and CAP.FS1GP). */
#define SCENARIO_LARGE_2M (1u << 0)
#define SCENARIO_LARGE_1G (1u << 1)

/*
 * One hardware cache's geometry. `entries` = 0 disables the cache (every lookup misses,
 * which makes a useful baseline). Otherwise 1 <= ways <= entries and ways divides entries;
 * ways == entries is fully associative.
 */
struct scenario_cache {
	uint32_t entries;
	uint32_t ways;
};

/* The VT-d unit's configuration: the CAP/ECAP values follow from it (digest §1.2, §1.3). */
struct scenario_iommu {
	enum scenario_mode mode;
	bool first_stage;   /* ECAP.FLTS: PGTT 001 first-stage tables (scalable mode only) */
	bool second_stage;  /* ECAP.SLTS in scalable mode; legacy mode always has it */
	bool nested;	    /* ECAP.NEST: PGTT 011 (needs both stages) */
	bool pass_through;  /* ECAP.PT: legacy TT = 10b, scalable PGTT = 100b */
	bool five_level;    /* CAP.FS5LP: 5-level first-stage paging (needs first_stage, mgaw 57) */
	bool caching_mode;  /* CAP.CM: not-present entries may be cached; software must flush */
	bool device_tlb;    /* ECAP.DT: ATS / device-TLB invalidation supported */
	bool checker;	    /* compare every cached translation with an uncached walk */
	uint8_t mgaw;	    /* maximum guest address width in bits (CAP.MGAW + 1), 30..64 */
	uint8_t haw;	    /* host address width in bits (from the DMAR table), 32..52 */
	uint8_t sagaw;	    /* SCENARIO_SAGAW_* bits, at least one */
	uint8_t pasid_bits; /* ECAP.PSS + 1; 0 = no PASID support (ECAP.PASID = 0); <= 20 */
	uint8_t large_pages;	 /* SCENARIO_LARGE_* bits */
	uint16_t fault_records;	 /* fault-recording registers (CAP.NFR + 1), 1..256 */
	uint8_t inv_queue_pages; /* invalidation queue size in 4 KiB pages (2^IQA.QS), 1..128 */
	struct scenario_cache context_cache;
	struct scenario_cache pasid_cache; /* unused in legacy mode */
	struct scenario_cache iotlb;
	struct scenario_cache pwc; /* paging-structure caches (first and second stage) */
};

/* ---- DMA policy ------------------------------------------------------------------------- */

/* The device's default domain (what the DMA API maps through). */
enum scenario_domain {
	SCENARIO_DOMAIN_TRANSLATED,   /* a paging domain: the DMA API hands out IOVAs */
	SCENARIO_DOMAIN_PASS_THROUGH, /* the identity domain: DMA addresses are physical */
};

/* Page-table format of a translated default domain. AUTO only appears in scenario.dma. */
enum scenario_page_table {
	SCENARIO_PT_AUTO,   /* first stage when the unit has it (as Linux prefers), else second */
	SCENARIO_PT_FIRST,  /* first-stage (x86-64) tables, PGTT 001 */
	SCENARIO_PT_SECOND, /* second-stage tables, PGTT 010 (or the legacy context entry) */
};

enum scenario_invalidation {
	SCENARIO_INV_STRICT, /* flush before the IOVA can be reused */
	SCENARIO_INV_LAZY,   /* defer IOVA and flush to a per-thread flush queue */
};

/* dma_enable_pasid at device set-up. AUTO only appears in scenario.dma. */
enum scenario_kernel_pasid {
	SCENARIO_KPASID_AUTO, /* TRY for DSA engines (as their driver does), OFF otherwise */
	SCENARIO_KPASID_OFF,  /* never enabled at set-up (a phase may still enable it) */
	SCENARIO_KPASID_ON,   /* must succeed: the reader rejects a device or unit that cannot */
	SCENARIO_KPASID_TRY,  /* try; on failure the device falls back to DMA without PASID */
};

/*
 * Fault injection: the driver leaves out one kind of invalidation, so the checker (or a
 * fault) shows it. Bits of scenario_dma.skip_invalidation.
 */
#define SCENARIO_SKIP_IOTLB	    (1u << 0) /* every IOTLB invalidation on unmap */
#define SCENARIO_SKIP_DEVTLB	    (1u << 1) /* every device-TLB invalidation on unmap */
#define SCENARIO_SKIP_PASID_IOTLB   (1u << 2) /* IOTLB invalidation of PASIDs other than 0 */
#define SCENARIO_SKIP_PASID_DEVTLB  (1u << 3) /* device-TLB invalidation of PASIDs other than 0 */
#define SCENARIO_SKIP_PASID_CACHE   (1u << 4) /* PASID-cache invalidation on entry teardown */
#define SCENARIO_SKIP_CONTEXT_CACHE (1u << 5) /* context-cache invalidation on entry change */
#define SCENARIO_SKIP_ALL	    0x3fu

/* One device's DMA policy (or, in scenario.dma, the defaults every device starts from). */
struct scenario_dma {
	enum scenario_domain default_domain;
	enum scenario_page_table page_table;
	enum scenario_invalidation invalidation;
	uint32_t flush_queue_size; /* lazy mode: entries per flush queue, 1..65536 */
	uint64_t flush_timeout_ns; /* lazy mode: drain a non-full queue after this long */
	enum scenario_kernel_pasid kernel_pasid;
	bool debug;		    /* DMA-API debug checks (double unmap, leaks, ...) */
	uint32_t skip_invalidation; /* SCENARIO_SKIP_* bits; 0 = a correct driver */
};

/* ---- devices ---------------------------------------------------------------------------- */

enum scenario_dev_type {
	SCENARIO_DEV_DSA,     /* the DSA-like DMA engine */
	SCENARIO_DEV_NIC,     /* receive and transmit rings, one small map per packet */
	SCENARIO_DEV_STORAGE, /* large scatter-gather requests */
};

struct scenario_device {
	const char *name;
	enum scenario_dev_type type;
	uint16_t rid;		 /* requester ID, PCI_RID(bus, dev, fn) */
	uint8_t pasid_bits;	 /* PASID capability width, 0 = no PASID capability, <= 20 */
	bool ats;		 /* ATS enabled: the device keeps a device TLB */
	uint32_t devtlb_entries; /* device-TLB (ATC) entries when ats */
	uint32_t work_queues;	 /* DSA: work queues (threads use them round-robin), 1..8 */
	uint32_t wq_size;	 /* DSA: descriptors per work queue, 1..1024 */
	uint32_t rx_ring;	 /* NIC: receive ring entries, 16..65536 */
	uint32_t tx_ring;	 /* NIC: transmit ring entries, 16..65536 */
	uint32_t queue_depth;	 /* storage: requests in flight, 1..1024 */
	uint32_t max_segments;	 /* storage: scatter-gather entries per request, 1..4096 */
	struct scenario_dma dma; /* resolved: [dma] overridden by [dma NAME], no AUTO left */
	unsigned line;		 /* where the [device] section starts */
};

/* ---- workloads -------------------------------------------------------------------------- */

enum scenario_op {
	SCENARIO_OP_MEMMOVE, /* DSA */
	SCENARIO_OP_FILL,    /* DSA */
	SCENARIO_OP_COMPARE, /* DSA */
	SCENARIO_OP_CRC,     /* DSA: CRC32C generation */
	SCENARIO_OP_RX,	     /* NIC */
	SCENARIO_OP_TX,	     /* NIC */
	SCENARIO_OP_RXTX,    /* NIC: both directions, alternating */
	SCENARIO_OP_READ,    /* storage */
	SCENARIO_OP_WRITE,   /* storage */
	SCENARIO_OP_MIXED,   /* storage: reads and writes, half each */
};

/* Which PASID a DSA workload's descriptors carry. */
enum scenario_wl_pasid {
	SCENARIO_WL_NO_PASID, /* requests without PASID (RID_PASID) */
	SCENARIO_WL_KERNEL,   /* the device's kernel PASID (from dma_enable_pasid) */
};

/* How buffers are mapped. */
enum scenario_map {
	SCENARIO_MAP_PER_OP, /* map before and unmap after every operation (IOVA reuse, flushes) */
	SCENARIO_MAP_ONCE,   /* map the buffers once, reuse them for every operation */
};

/* Inclusive [min, max]; min == max for a fixed value. Sizes are drawn uniformly. */
struct scenario_range {
	uint64_t min;
	uint64_t max;
};

struct scenario_workload {
	const char *name;
	unsigned device; /* index into scenario.devices */
	enum scenario_op op;
	enum scenario_wl_pasid pasid; /* DSA only; SCENARIO_WL_NO_PASID for other devices */
	struct scenario_range size;   /* bytes: DSA transfer, NIC packet, storage segment */
	uint32_t segments;	      /* storage: segments per request; 1 otherwise */
	uint64_t count;		      /* operations in all (split across the threads) */
	uint32_t threads;	      /* submitting CPU threads, 1..64 */
	uint64_t page_size;	      /* pages backing the buffers: 4 KiB, 2 MiB or 1 GiB */
	enum scenario_map map;
	bool verify; /* check every operation's data after it completes */
	uint64_t seed;
	unsigned line;
};

/* ---- phases ----------------------------------------------------------------------------- */

/*
 * One step of the run. In this order: set the invalidation override, disable then enable
 * the listed kernel PASIDs, run the listed workloads concurrently until all finish, wait.
 */
struct scenario_phase {
	const char *name;
	unsigned *run; /* workload indices */
	size_t n_run;
	unsigned *enable_pasid; /* device indices: dma_enable_pasid */
	size_t n_enable_pasid;
	unsigned *disable_pasid; /* device indices: dma_disable_pasid */
	size_t n_disable_pasid;
	bool has_skip_invalidation; /* override every device's skip_invalidation in this phase */
	uint32_t skip_invalidation;
	uint64_t wait_ns; /* pause after the workloads (lets lazy flush timeouts fire) */
	bool implicit;	  /* not written: the one phase that runs every workload */
	unsigned line;
};

/* ---- expectations ----------------------------------------------------------------------- */

enum scenario_metric {
	SCENARIO_M_CHECKER_FINDINGS, /* stale translations the checker found */
	SCENARIO_M_FAULTS,	     /* translation faults (recorded or not) */
	SCENARIO_M_DMA_OPS,	     /* operations that completed successfully */
	SCENARIO_M_DMA_BYTES,	     /* bytes those operations moved */
	SCENARIO_M_FAILED_OPS,	     /* operations whose completion reported an error */
	SCENARIO_M_VERIFIED_OPS,     /* operations whose data was checked and matched */
	SCENARIO_M_DATA_MISMATCHES,  /* operations whose data was checked and did not match */
	SCENARIO_M_INVALIDATIONS,    /* invalidation descriptors processed */
	SCENARIO_M_HIT_RATE,	     /* cache hit rate, value in 0.01 % units */
	SCENARIO_M_DEBUG_FINDINGS,   /* DMA-API debug check reports */
	SCENARIO_M_PASID_FALLBACKS,  /* dma_enable_pasid failures the device fell back from */
	SCENARIO_M_COUNT
};

enum scenario_cmp {
	SCENARIO_CMP_EQ,
	SCENARIO_CMP_NE,
	SCENARIO_CMP_LT,
	SCENARIO_CMP_LE,
	SCENARIO_CMP_GT,
	SCENARIO_CMP_GE,
};

/* Caches, for checker_findings(cache=...) and hit_rate(cache=...). */
enum scenario_cache_id {
	SCENARIO_CACHE_ANY,
	SCENARIO_CACHE_IOTLB,
	SCENARIO_CACHE_CONTEXT,
	SCENARIO_CACHE_PASID,
	SCENARIO_CACHE_PWC,
	SCENARIO_CACHE_DEVTLB,
};

/* Invalidation descriptor types (digest §5.1), for invalidations(type=...). */
enum scenario_inv_type {
	SCENARIO_IT_ANY,
	SCENARIO_IT_CONTEXT_CACHE, /* type 1 */
	SCENARIO_IT_IOTLB,	   /* type 2 */
	SCENARIO_IT_DEVTLB,	   /* type 3 */
	SCENARIO_IT_IEC,	   /* type 4 */
	SCENARIO_IT_WAIT,	   /* type 5 */
	SCENARIO_IT_PASID_IOTLB,   /* type 6 */
	SCENARIO_IT_PASID_CACHE,   /* type 7 */
	SCENARIO_IT_PASID_DEVTLB,  /* type 8 */
};

/* Invalidation granularity, for invalidations(granularity=...). */
enum scenario_inv_gran {
	SCENARIO_IG_ANY,
	SCENARIO_IG_GLOBAL,
	SCENARIO_IG_DOMAIN,
	SCENARIO_IG_DEVICE,
	SCENARIO_IG_PASID,
	SCENARIO_IG_PAGE,
};

/* What an expectation's pasid= selector matches. */
enum scenario_pasid_sel {
	SCENARIO_PSEL_ANY,
	SCENARIO_PSEL_NONE,   /* requests without PASID */
	SCENARIO_PSEL_KERNEL, /* the device's kernel PASID */
	SCENARIO_PSEL_VALUE,  /* the PASID in expect.pasid */
};

/*
 * One line of an [expect] section: "metric(selector=value, ...) op value". The runner
 * counts what the selectors pick within the phase (or the whole run) and compares.
 * Selectors a metric does not take are rejected by the reader, so unused fields are ANY.
 */
struct scenario_expect {
	enum scenario_metric metric;
	enum scenario_cmp cmp;
	uint64_t value;	 /* counts, bytes, or hit rate in 0.01 % units (9950 = 99.5 %) */
	int phase;	 /* index into scenario.phases, -1 for the whole run */
	int device;	 /* index into scenario.devices, -1 for any */
	int workload;	 /* index into scenario.workloads, -1 for any */
	uint16_t reason; /* architected fault reason code, 0 for any */
	enum scenario_pasid_sel pasid_sel;
	uint32_t pasid;
	enum scenario_cache_id cache;
	enum scenario_inv_type inv_type;
	enum scenario_inv_gran inv_gran;
	const char *text; /* the line as normalised, for the report */
	unsigned line;	  /* where it was written, for "expectation at FILE:LINE failed" */
};

/* ---- the scenario ----------------------------------------------------------------------- */

struct scenario {
	const char *file; /* the name it was read under (for messages) */
	const char *name;
	const char *description;
	uint64_t seed;
	uint64_t memory;     /* bytes of simulated physical memory */
	uint64_t timeout_ns; /* abort the run after this long; 0 = no limit */
	struct scenario_iommu iommu;
	struct scenario_dma dma; /* [dma]: the defaults devices start from (may hold AUTO) */
	struct scenario_device *devices;
	size_t n_devices;
	struct scenario_workload *workloads;
	size_t n_workloads;
	struct scenario_phase *phases; /* at least one; in run order */
	size_t n_phases;
	struct scenario_expect *expects;
	size_t n_expects;
	void *priv; /* the reader's allocations */
};

/* ---- diagnostics ------------------------------------------------------------------------ */

enum scenario_severity {
	SCENARIO_ERROR,
	SCENARIO_WARNING, /* the scenario is usable, but something in it has no effect */
};

/*
 * One diagnostic. line/col are 1-based (col counts bytes, a tab is one column); line 0
 * means the whole input (for example "file too large"). `len` bytes from col are the
 * offending text (0: just the point). A note, when note[0] != '\0', adds a second
 * message, at note_line:note_col when note_line != 0 ("first defined here").
 */
struct scenario_diag {
	enum scenario_severity severity;
	unsigned line, col, len;
	char message[256];
	char excerpt[160];     /* the source line, truncated, for printing */
	unsigned excerpt_skip; /* bytes of the line before the excerpt (a long line's window) */
	unsigned note_line, note_col;
	char note[128];
};

/*
 * A list of diagnostics. Zero-initialise it; set `max` to change the error limit
 * (0 = SCENARIO_DEFAULT_MAX_DIAGS). Past the limit further errors are counted in
 * `dropped` and not stored. It holds the diagnostics of one parse: each scenario_parse*
 * call empties it first.
 */
struct scenario_diags {
	struct scenario_diag *list;
	size_t count;
	size_t cap;
	size_t max;
	size_t errors; /* errors stored plus dropped (warnings not counted) */
	size_t dropped;
	char *file; /* the name of the last input parsed into this list */
};

/* ---- functions -------------------------------------------------------------------------- */

/*
 * Parse `len` bytes at `buf` (need not be NUL-terminated; may contain any bytes) read
 * under the name `file` (used in messages and as the default scenario name; NULL means
 * "<string>"). On success stores a new scenario in *out and returns 0; warnings may
 * still be added to `diags`. Errors:
 *   -EINVAL  the text has errors: they are in `diags` (sorted by position), *out is NULL
 *   -EFBIG   len > SCENARIO_MAX_INPUT (also reported in `diags`)
 *   -ENOMEM  out of memory (nothing leaks)
 * `diags` may be NULL when the caller only wants the verdict.
 */
int scenario_parse(const char *buf, size_t len, const char *file, struct scenario **out,
		   struct scenario_diags *diags);

/* scenario_parse of a NUL-terminated string. */
int scenario_parse_string(const char *text, const char *file, struct scenario **out,
			  struct scenario_diags *diags);

/*
 * Read and parse the file at `path` ("-" reads standard input). Errors as scenario_parse,
 * plus the negative errno of open/read failures (reported in `diags` as line 0).
 */
int scenario_parse_file(const char *path, struct scenario **out, struct scenario_diags *diags);

/* The built-in default scenario (examples/scenarios/default.scn, compiled in). */
extern const char scenario_default_text[];
extern const char scenario_default_file[]; /* "default.scn" */

/* Free a scenario from scenario_parse*; NULL is ignored. */
void scenario_free(struct scenario *s);

/* Free the stored diagnostics and reset the list (keeps `max`). NULL is ignored. */
void scenario_diags_free(struct scenario_diags *d);

/*
 * Print the diagnostics as FILE:LINE:COL: error: MESSAGE, each followed by the source
 * line with the offending text underlined, then any note, then "N more errors not shown".
 */
void scenario_diags_print(const struct scenario_diags *d, FILE *f);

/*
 * Print the scenario in normal form: every section and key in a fixed order with every
 * default written out, per-device policy resolved, expectations in canonical form. The
 * output is itself a scenario that parses back to the same structure (and prints the
 * same). Returns 0, or -EIO when writing failed.
 */
int scenario_print(const struct scenario *s, FILE *f);

/* Names for the report and messages (static strings, never NULL). */
const char *scenario_dev_type_name(enum scenario_dev_type t);
const char *scenario_op_name(enum scenario_op op);
const char *scenario_metric_name(enum scenario_metric m);

/*
 * The architected fault reason for a spec condition name ("SPT.2", "LCT.5", case
 * insensitive, ".x" suffix allowed), or 0 when unknown; and the name of a code (NULL when
 * the code has none). Codes from the digest §4.3.
 */
uint16_t scenario_fault_reason_code(const char *name);
const char *scenario_fault_reason_name(uint16_t code);

/* The `softiommu check-scenario` subcommand (tools/cmd_check_scenario.c), and the same
 * writing to the given streams (for tests). Return the exit status: 0 or 2. */
int cmd_check_scenario(int argc, char **argv);
int check_scenario_main(int argc, char **argv, FILE *out, FILE *err);

#endif
