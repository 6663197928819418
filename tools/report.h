/* SPDX-License-Identifier: MIT */
/*
 * The end-of-run report of `softiommu run`, as aligned text (report.c) and as JSON
 * (report_data.c) with the same content: DMA per device and PASID, cache hit rates,
 * invalidations by descriptor type and granularity, faults by reason, checker findings
 * (the first few in full), DMA-API debug reports, phases, expectations, wall time.
 *
 * The rows below are the report's view of the run's counters (struct run), summed over
 * every slot; both writers use them so the two formats cannot disagree.
 */
#ifndef SOFTIOMMU_TOOLS_REPORT_H
#define SOFTIOMMU_TOOLS_REPORT_H

#include "run.h"

/* DMA by (device, PASID). */
struct report_dma_row {
	unsigned device;
	bool has_pasid;
	uint32_t pasid;
	bool kernel; /* the PASID is (or was) the device's kernel PASID */
	uint64_t ops, bytes, failed, verified, mismatches;
};

/* The DMA API's counters of device `dev` over the run (counts summed, levels at the end). */
void report_dma_api(struct run *r, size_t dev, struct dma_stats *out);

/* Faults by reason code (0: ATS translation requests answered R = W = 0). */
struct report_fault_row {
	uint8_t reason;
	uint64_t count;
	uint64_t recorded;
	uint64_t first_addr;
	int first_device; /* the first device it was seen on, -1: unknown requester */
	unsigned devices; /* how many distinct devices */
};

/* One cache's line: lookups and hits (over every unit, or one device TLB). */
struct report_cache_row {
	const char *name;
	int device; /* -1: the unit's caches */
	bool measured;
	uint64_t hits, lookups;
};

/* What the expectations came to (indexed like scenario.expects). */
struct report_expects {
	bool *ok;
	uint64_t *value;
	const char **why;
	size_t failed;
};

size_t report_dma_rows(struct run *r, struct report_dma_row *rows, size_t max);
size_t report_fault_rows(struct run *r, struct report_fault_row *rows, size_t max);
size_t report_cache_rows(struct run *r, struct report_cache_row *rows, size_t max);

/* Unit m's invalidation queue as the driver programmed it (IQA): 0, or -EIO when the
 * register cannot be read or queued invalidation is off. */
struct report_queue {
	unsigned pages;	      /* 2^IQA.QS */
	unsigned desc_bytes;  /* 16 or 32 (IQA.DW) */
	unsigned descriptors; /* pages * 4096 / desc_bytes */
};
int report_queue(struct run *r, unsigned m, struct report_queue *q);

/* The report's words for a status: "pass", "fail", "error". */
const char *report_verdict(int status);

/* Write the report. Both return 0, or -EIO when the stream failed. */
int report_text(struct run *r, FILE *f, const struct report_expects *x, int status);
int report_json(struct run *r, FILE *f, const struct report_expects *x, int status);

#endif
