/* SPDX-License-Identifier: MIT */
/*
 * The translation structures of a live VT-d unit as a Graphviz graph (`softiommu dot`,
 * `softiommu run --dot FILE`).
 *
 * Everything is read the way software or a debugger would: the root-table address and
 * translation mode from the RTADDR register (vtd_mmio_read), the tables from physical
 * memory (mem_read64), decoded with <softiommu/vtd_regs.h>. Nothing of the model's
 * internals is used, so the graph shows what the hardware would walk:
 *
 *   scalable mode: root table -> context tables (lower/upper halves) -> context entries
 *                  -> PASID directory -> PASID tables -> PASID entries (PGTT, DID, AW)
 *                  -> first- and second-stage page tables
 *   legacy mode:   root table -> context tables -> context entries (TT, DID, AW)
 *                  -> second-stage page tables
 *
 * A table reached twice (the kernel PASID and RID_PASID sharing the default domain's page
 * table, design.md rule 3) is one node with two edges into it. Page tables are drawn down to
 * `depth` levels below the top one; deeper levels and leaves are summarised in their
 * parent's row. Nodes list at most `max_entries` present entries each ("... N more").
 *
 * Garbage is expected (this reads what a driver wrote): entries pointing outside memory
 * show as unreadable, and the walk is bounded by DOT_MAX_NODES.
 *
 * Locking: the caller keeps the structures still while the graph is written (nothing is
 * mapped or unmapped); the unit may keep translating.
 */
#ifndef SOFTIOMMU_TOOLS_DOT_H
#define SOFTIOMMU_TOOLS_DOT_H

#include <stdint.h>
#include <stdio.h>

#include <softiommu/mem.h>
#include <softiommu/vtd.h>

#define DOT_MAX_NODES 4096

struct dot_options {
	unsigned depth;	      /* page-table levels drawn (0: none, 5: every level) */
	unsigned max_entries; /* present entries listed per table (0: 16) */
	const char *title;    /* graph label (may be NULL) */
	/* Device names for requester IDs (may be NULL): shown next to bus:dev.fn. */
	const char *(*name_of)(void *ctx, uint16_t rid);
	void *names;
};

/*
 * dot_write() - write the graph of `vtd`'s structures in `mem` to `f`. 0, -EINVAL for NULL
 * arguments, -EIO when writing failed. Translation disabled or no root table is a graph
 * that says so.
 */
int dot_write(struct vtd *vtd, struct mem *mem, const struct dot_options *o, FILE *f);

#endif
