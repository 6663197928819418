/* SPDX-License-Identifier: MIT */
/*
 * `softiommu replay` internals: the state of one vector file's run, shared by the files
 * that carry out its statements - tools/replay.c (models, memory, MMIO, translations,
 * fault status), tools/replay_queue.c (the invalidation queue, counters, the checker) and
 * tools/replay_ats.c (ATS endpoints and their DMA). Single-threaded: one run per file.
 */
#ifndef SOFTIOMMU_TOOLS_REPLAY_H
#define SOFTIOMMU_TOOLS_REPLAY_H

#include "vector_reader.h"

#include <softiommu/mem.h>
#include <softiommu/pci.h>
#include <softiommu/vtd.h>

#define REPLAY_ENDPOINTS 16 /* most `ats connect` endpoints per model */
#define REPLAY_REPORTS	 64 /* stale reports kept between two `check` statements */

/* One stale-translation report, from the unit's check mode or an endpoint's checker. */
struct replay_stale {
	enum vec_cache cache;
	int missing; /* enum vec_missing, or -1 when the report's text names none we know */
	uint16_t sid;
	bool has_pasid;
	uint32_t pasid;
	uint64_t addr;
	char text[200]; /* what the report said, for mismatch messages */
};

/* An endpoint connected with `ats connect`. */
struct replay_ep {
	struct replay *r;
	struct pci_endpoint *ep;
	struct pci_ats_port port; /* the endpoint's own port, behind the one the unit calls */
	uint16_t sid;
	enum vec_ats_mode mode;
	struct pci_endpoint_stats prev; /* at the previous `ats expect SID COUNTER...` */
};

struct replay {
	const struct vec_file *vf;
	char *dir; /* directory of the vector file: image paths are relative to it */
	bool verbose;
	struct vtd_config cfg;
	uint64_t mem_size;
	bool check;	     /* `config check on`: check mode in the unit and endpoints */
	unsigned model_line; /* where the current model was started */
	struct mem *mem;
	struct vtd *vtd;
	uint64_t fault_events, inv_events;
	uint64_t last_data, last_addr;	       /* of the last fault event */
	uint64_t last_inv_data, last_inv_addr; /* of the last invalidation completion event */
	/* The invalidation queue as `iq` statements fill it: the software tail. */
	bool iq_pending;
	uint64_t iq_tail;
	struct vtd_stats prev_stats; /* at the previous `stats` statement */
	struct replay_stale stale[REPLAY_REPORTS];
	unsigned nstale; /* reports since the previous `check` (may exceed REPLAY_REPORTS) */
	struct replay_ep eps[REPLAY_ENDPOINTS];
	unsigned neps;
	unsigned checks, mismatches;
	bool input_error;
};

/* An input error at the statement (column `col`, or the statement's): stops the file. */
void replay_input_error(struct replay *r, const struct vec_stmt *s, unsigned col, const char *fmt,
			...) __attribute__((format(printf, 4, 5)));

/* One check: a mismatch prints `file:line: expected ..., got ...`; a pass only with -v. */
void replay_report(struct replay *r, const struct vec_stmt *s, bool ok, const char *expected,
		   const char *got);

/* A memory access that failed is an input error (true); 0 is fine (false). */
bool replay_mem_failed(struct replay *r, const struct vec_stmt *s, int ret, uint64_t addr,
		       uint64_t len);

/* "4K", "2M", "0x3000"; "0x45 (SCT.6)". */
void replay_format_size(uint64_t v, char *buf, size_t n);
void replay_format_reason(uint64_t code, char *buf, size_t n);

/* tools/replay_queue.c */
void replay_iq(struct replay *r, const struct vec_stmt *s);
void replay_iq_submit(struct replay *r, const struct vec_stmt *s);
void replay_iq_enable(struct replay *r, const struct vec_stmt *s);
void replay_iqercd(struct replay *r, const struct vec_stmt *s);
void replay_stats(struct replay *r, const struct vec_stmt *s);
void replay_check(struct replay *r, const struct vec_stmt *s);
void replay_stale_cb(void *ctx, const struct vtd_stale *report);
void replay_add_stale(struct replay *r, const struct replay_stale *st);

/* tools/replay_ats.c */
void replay_ats_connect(struct replay *r, const struct vec_stmt *s);
void replay_ats_state(struct replay *r, const struct vec_stmt *s);
void replay_ats_entry(struct replay *r, const struct vec_stmt *s);
void replay_ats_stats(struct replay *r, const struct vec_stmt *s);
void replay_dma(struct replay *r, const struct vec_stmt *s);
void replay_eps_destroy(struct replay *r); /* after the unit is gone */

#endif
