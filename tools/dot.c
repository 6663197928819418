// SPDX-License-Identifier: MIT
/*
 * The translation structures as a Graphviz graph (dot.h). Each table is a record node:
 * a header row, then one row per present entry, with an edge from the row to the table
 * the entry points to. Section numbers are the VT-d digest's.
 */
#include "dot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <softiommu/vtd_regs.h>

enum stage {
	STAGE_FIRST,
	STAGE_SECOND,
};

struct dot {
	FILE *f;
	struct vtd *vtd;
	struct mem *mem;
	const struct dot_options *o;
	unsigned max_entries;
	uint64_t seen[DOT_MAX_NODES];
	unsigned n_seen;
	bool truncated;
};

/* ---- output helpers ---------------------------------------------------------------------------
 */

/* Text inside a record label: the record syntax characters and quotes are escaped. */
static void put_text(struct dot *d, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (const char *p = buf; *p; p++) {
		if (strchr("{}|<>\"\\", *p))
			fputc('\\', d->f);
		if ((unsigned char)*p >= 0x20)
			fputc(*p, d->f);
	}
}

/*
 * Should the table at `pa` be drawn now? False when it already was (*exists set) or there
 * is no room left for another node (*exists clear: no edge may point at it).
 */
static bool first_visit(struct dot *d, uint64_t pa, bool *exists)
{
	for (unsigned i = 0; i < d->n_seen; i++)
		if (d->seen[i] == pa) {
			*exists = true;
			return false;
		}
	*exists = d->n_seen < DOT_MAX_NODES;
	if (!*exists) {
		d->truncated = true;
		return false;
	}
	d->seen[d->n_seen++] = pa;
	return true;
}

static void node_begin(struct dot *d, uint64_t pa, const char *fill)
{
	fprintf(d->f, "  n%llx [style=filled, fillcolor=\"%s\", label=\"{", (unsigned long long)pa,
		fill);
}

static void node_end(struct dot *d)
{
	fputs("}\"];\n", d->f);
}

static void row(struct dot *d, unsigned port)
{
	fprintf(d->f, "|<p%u> ", port);
}

static void edge(struct dot *d, uint64_t from, unsigned port, uint64_t to)
{
	fprintf(d->f, "  n%llx:p%u -> n%llx;\n", (unsigned long long)from, port,
		(unsigned long long)to);
}

/* "... N more" when a table has more present entries than are listed. */
static void more_row(struct dot *d, unsigned more)
{
	if (more) {
		fputs("|", d->f);
		put_text(d, "... %u more present", more);
	}
}

static bool rd(struct dot *d, uint64_t pa, uint64_t *v)
{
	return !mem_read64(d->mem, pa, v);
}

static const char *dev_name(struct dot *d, uint16_t rid)
{
	const char *n = d->o->name_of ? d->o->name_of(d->o->names, rid) : NULL;

	return n ? n : "";
}

/* ---- page tables (4.1, 4.2) -------------------------------------------------------------------
 */

static bool pte_present(enum stage st, uint64_t e)
{
	return st == STAGE_FIRST ? (e & VTD_FL_P) : (e & (VTD_SL_R | VTD_SL_W | VTD_SL_X));
}

static uint64_t pte_addr(enum stage st, uint64_t e)
{
	return e & (st == STAGE_FIRST ? VTD_FL_ADDR_MASK : VTD_SL_ADDR_MASK);
}

static void perm_text(enum stage st, uint64_t e, char *buf)
{
	if (st == STAGE_FIRST)
		snprintf(buf, 8, "R%s%s%s", e & VTD_FL_RW ? "W" : "", e & VTD_FL_US ? "U" : "",
			 e & VTD_FL_XD ? "" : "X");
	else
		snprintf(buf, 8, "%s%s%s", e & VTD_SL_R ? "R" : "", e & VTD_SL_W ? "W" : "",
			 e & VTD_SL_X ? "X" : "");
}

static const char *size_text(unsigned level)
{
	return level == 1 ? "4K" : level == 2 ? "2M" : level == 3 ? "1G" : "?";
}

/*
 * One paging structure at `level` (5..1) covering IOVAs from `base`, drawn with `depth`
 * levels left (this one included). Returns whether its node exists.
 */
static bool page_table(struct dot *d, uint64_t pa, enum stage st, unsigned level, uint64_t base,
		       unsigned depth)
{
	uint64_t child[512], cbase[512];
	unsigned port[512], n_child = 0, shown = 0, more = 0;
	bool exists;

	if (!first_visit(d, pa, &exists))
		return exists;
	node_begin(d, pa, st == STAGE_FIRST ? "#e8f0ff" : "#fff0e0");
	put_text(d, "%s-stage level %u  %#llx", st == STAGE_FIRST ? "first" : "second", level,
		 (unsigned long long)pa);
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e, iova = base + ((uint64_t)i << VTD_PT_LEVEL_SHIFT(level));
		bool leaf;
		char perm[8];

		if (!rd(d, pa + 8 * i, &e)) {
			row(d, i);
			put_text(d, "unreadable");
			break;
		}
		if (!pte_present(st, e))
			continue;
		if (shown == d->max_entries) {
			more++;
			continue;
		}
		shown++;
		leaf =
		    level == 1 || (level <= 3 && (e & (st == STAGE_FIRST ? VTD_FL_PS : VTD_SL_PS)));
		perm_text(st, e, perm);
		row(d, i);
		if (leaf) {
			put_text(d, "[%u] iova %#llx -> %#llx %s %s", i, (unsigned long long)iova,
				 (unsigned long long)pte_addr(st, e), size_text(level), perm);
		} else if (depth > 1) {
			put_text(d, "[%u] %#llx.. %s", i, (unsigned long long)iova, perm);
			child[n_child] = pte_addr(st, e);
			cbase[n_child] = iova;
			port[n_child++] = i;
		} else {
			put_text(d, "[%u] %#llx.. -> table %#llx", i, (unsigned long long)iova,
				 (unsigned long long)pte_addr(st, e));
		}
	}
	more_row(d, more);
	node_end(d);
	for (unsigned k = 0; k < n_child; k++)
		if (page_table(d, child[k], st, level - 1, cbase[k], depth - 1))
			edge(d, pa, port[k], child[k]);
	return true;
}

/* The top of a page table, or the reason there is none, as a row's edge target. */
static void table_from(struct dot *d, uint64_t from, unsigned port, uint64_t root, enum stage st,
		       unsigned levels)
{
	if (!d->o->depth || levels < 2 || levels > 5)
		return;
	if (page_table(d, root, st, levels, 0, d->o->depth))
		edge(d, from, port, root);
}

/* ---- scalable mode (2.2, 2.4, 3.1, 3.2) ---------------------------------------------------------
 */

static const char *pgtt_text(unsigned pgtt)
{
	switch (pgtt) {
	case VTD_PGTT_FS:
		return "first-stage";
	case VTD_PGTT_SS:
		return "second-stage";
	case VTD_PGTT_NESTED:
		return "nested";
	case VTD_PGTT_PT:
		return "pass-through";
	default:
		return "reserved";
	}
}

static bool pasid_table(struct dot *d, uint64_t pa, unsigned dir_index)
{
	struct {
		unsigned port;
		uint64_t q0, q2;
	} ent[64];
	unsigned n = 0, more = 0;
	bool exists;

	if (!first_visit(d, pa, &exists))
		return exists;
	node_begin(d, pa, "#e8ffe8");
	put_text(d, "PASID table %#llx (PASIDs %u-%u)", (unsigned long long)pa, dir_index * 64,
		 dir_index * 64 + 63);
	for (unsigned i = 0; i < 64; i++) {
		uint64_t q[3], e = pa + (uint64_t)i * VTD_PASID_ENTRY_SIZE;
		unsigned pgtt;

		if (!rd(d, e, &q[0]) || !rd(d, e + 8, &q[1]) || !rd(d, e + 16, &q[2]))
			break;
		if (!(q[0] & VTD_PE_Q0_P))
			continue;
		if (n == d->max_entries) {
			more++;
			continue;
		}
		pgtt = (unsigned)VTD_GET(q[0], VTD_PE_Q0_PGTT);
		row(d, i);
		put_text(d, "PASID %u: %s DID %llu", dir_index * 64 + i, pgtt_text(pgtt),
			 (unsigned long long)VTD_GET(q[1], VTD_PE_Q1_DID));
		/* The widths that apply: FLPM for the first stage, AW for the second. */
		if (pgtt == VTD_PGTT_FS || pgtt == VTD_PGTT_NESTED)
			put_text(d, " FS %u-level",
				 VTD_GET(q[2], VTD_PE_Q2_FLPM) == VTD_FLPM_5LEVEL ? 5 : 4);
		if (pgtt == VTD_PGTT_SS || pgtt == VTD_PGTT_NESTED)
			put_text(d, " SS AW %llu", (unsigned long long)VTD_GET(q[0], VTD_PE_Q0_AW));
		if (q[0] & VTD_PE_Q0_FPD)
			put_text(d, " FPD");
		ent[n].port = i;
		ent[n].q0 = q[0];
		ent[n++].q2 = q[2];
	}
	more_row(d, more);
	node_end(d);
	for (unsigned k = 0; k < n; k++) {
		unsigned pgtt = (unsigned)VTD_GET(ent[k].q0, VTD_PE_Q0_PGTT);
		unsigned fs_levels = VTD_GET(ent[k].q2, VTD_PE_Q2_FLPM) == VTD_FLPM_5LEVEL ? 5 : 4;
		unsigned ss_levels = (unsigned)VTD_GET(ent[k].q0, VTD_PE_Q0_AW) + 2;

		if (pgtt == VTD_PGTT_FS || pgtt == VTD_PGTT_NESTED)
			table_from(d, pa, ent[k].port, ent[k].q2 & VTD_PE_Q2_FLPTPTR_MASK,
				   STAGE_FIRST, fs_levels);
		if (pgtt == VTD_PGTT_SS || pgtt == VTD_PGTT_NESTED)
			table_from(d, pa, ent[k].port, ent[k].q0 & VTD_PE_Q0_SLPTPTR_MASK,
				   STAGE_SECOND, ss_levels);
	}
	return true;
}

static bool pasid_dir(struct dot *d, uint64_t pa, unsigned entries, uint16_t rid)
{
	uint64_t tbl[64];
	unsigned port[64], n = 0, more = 0;
	bool exists;

	if (!first_visit(d, pa, &exists))
		return exists;
	node_begin(d, pa, "#f0ffe0");
	put_text(d, "PASID directory %#llx (%u entries) of %02x:%02x.%x %s", (unsigned long long)pa,
		 entries, rid >> 8, (rid >> 3) & 0x1f, rid & 7, dev_name(d, rid));
	for (unsigned i = 0; i < entries; i++) {
		uint64_t e;

		if (!rd(d, pa + 8ull * i, &e))
			break;
		if (!(e & VTD_PDE_P))
			continue;
		if (n == d->max_entries || n == 64) {
			more++;
			continue;
		}
		row(d, i);
		put_text(d, "[%u] PASIDs %u-%u", i, i * 64, i * 64 + 63);
		tbl[n] = e & VTD_PDE_SMPTBLPTR_MASK;
		port[n++] = i;
	}
	more_row(d, more);
	node_end(d);
	for (unsigned k = 0; k < n; k++)
		if (pasid_table(d, tbl[k], port[k]))
			edge(d, pa, port[k], tbl[k]);
	return true;
}

/* A scalable-mode context table half: devfn 0-127 (lower) or 128-255 (upper). */
static bool sm_context_table(struct dot *d, uint64_t pa, unsigned bus, bool upper)
{
	uint64_t dir[128];
	unsigned port[128], size[128], n = 0, more = 0;
	bool exists;

	if (!first_visit(d, pa, &exists))
		return exists;
	node_begin(d, pa, "#fff8d0");
	put_text(d, "context table %#llx bus %02x %s", (unsigned long long)pa, bus,
		 upper ? "upper" : "lower");
	for (unsigned i = 0; i < 128; i++) {
		unsigned devfn = i + (upper ? 128 : 0);
		uint16_t rid = (uint16_t)(bus << 8 | devfn);
		uint64_t q0, q1, e = pa + (uint64_t)i * VTD_SM_CTX_ENTRY_SIZE;

		if (!rd(d, e, &q0) || !rd(d, e + 8, &q1))
			break;
		if (!(q0 & VTD_SCE_Q0_P))
			continue;
		if (n == d->max_entries) {
			more++;
			continue;
		}
		row(d, i);
		put_text(d, "%02x:%02x.%x %s%s%s%s RID_PASID %llu", bus, devfn >> 3, devfn & 7,
			 dev_name(d, rid), q0 & VTD_SCE_Q0_DTE ? " DTE" : "",
			 q0 & VTD_SCE_Q0_PASIDE ? " PASIDE" : "", q0 & VTD_SCE_Q0_FPD ? " FPD" : "",
			 (unsigned long long)VTD_GET(q1, VTD_SCE_Q1_RID_PASID));
		dir[n] = q0 & VTD_SCE_Q0_PASIDDIRPTR_MASK;
		size[n] = 1u << (VTD_GET(q0, VTD_SCE_Q0_PDTS) + 7);
		port[n++] = i;
	}
	more_row(d, more);
	node_end(d);
	for (unsigned k = 0; k < n; k++) {
		unsigned devfn = port[k] + (upper ? 128 : 0);

		if (pasid_dir(d, dir[k], size[k], (uint16_t)(bus << 8 | devfn)))
			edge(d, pa, port[k], dir[k]);
	}
	return true;
}

/* ---- legacy mode (2.1, 2.3) -------------------------------------------------------------------
 */

static bool legacy_context_table(struct dot *d, uint64_t pa, unsigned bus)
{
	static const char *const tt[] = {"second-stage", "second-stage+ATS", "pass-through",
					 "reserved"};
	uint64_t root[256];
	unsigned port[256], levels[256], n = 0, more = 0;
	bool exists;

	if (!first_visit(d, pa, &exists))
		return exists;
	node_begin(d, pa, "#fff8d0");
	put_text(d, "context table %#llx bus %02x", (unsigned long long)pa, bus);
	for (unsigned i = 0; i < 256; i++) {
		uint64_t q0, q1, e = pa + (uint64_t)i * VTD_CTX_ENTRY_SIZE;
		unsigned t;

		if (!rd(d, e, &q0) || !rd(d, e + 8, &q1))
			break;
		if (!(q0 & VTD_CE_Q0_P))
			continue;
		if (n == d->max_entries) {
			more++;
			continue;
		}
		t = (unsigned)VTD_GET(q0, VTD_CE_Q0_TT);
		row(d, i);
		put_text(d, "%02x:%02x.%x %s %s DID %llu AW %llu", bus, i >> 3, i & 7,
			 dev_name(d, (uint16_t)(bus << 8 | i)), tt[t],
			 (unsigned long long)VTD_GET(q1, VTD_CE_Q1_DID),
			 (unsigned long long)VTD_GET(q1, VTD_CE_Q1_AW));
		if (t == VTD_TT_PASS_THROUGH || t == VTD_TT_RSVD)
			continue;
		root[n] = q0 & VTD_CE_Q0_SLPTPTR_MASK;
		levels[n] = (unsigned)VTD_GET(q1, VTD_CE_Q1_AW) + 2;
		port[n++] = i;
	}
	more_row(d, more);
	node_end(d);
	for (unsigned k = 0; k < n; k++)
		table_from(d, pa, port[k], root[k], STAGE_SECOND, levels[k]);
	return true;
}

/* ---- the root table -----------------------------------------------------------------------------
 */

static void root_table(struct dot *d, uint64_t rta, unsigned ttm)
{
	uint64_t lo[256], hi[256];
	unsigned bus[256], n = 0;
	bool exists;

	first_visit(d, rta, &exists);
	node_begin(d, rta, "#ffe0e0");
	put_text(d, "root table %#llx (%s mode)", (unsigned long long)rta,
		 ttm == VTD_TTM_SCALABLE ? "scalable" : "legacy");
	for (unsigned b = 0; b < 256; b++) {
		uint64_t q0, q1, e = rta + (uint64_t)b * VTD_ROOT_ENTRY_SIZE;
		bool lp, up;

		if (!rd(d, e, &q0) || !rd(d, e + 8, &q1)) {
			row(d, b);
			put_text(d, "bus %02x: unreadable", b);
			break;
		}
		lp = q0 & VTD_SRE_Q0_LP; /* the legacy root entry's P is the same bit */
		up = ttm == VTD_TTM_SCALABLE && (q1 & VTD_SRE_Q1_UP);
		if (!lp && !up)
			continue;
		row(d, b);
		put_text(d, "bus %02x", b);
		lo[n] = lp ? q0 & VTD_SRE_Q0_LCTP_MASK : 0;
		hi[n] = up ? q1 & VTD_SRE_Q1_UCTP_MASK : 0;
		bus[n++] = b;
	}
	node_end(d);
	for (unsigned k = 0; k < n; k++) {
		if (ttm == VTD_TTM_SCALABLE) {
			if (lo[k] && sm_context_table(d, lo[k], bus[k], false))
				edge(d, rta, bus[k], lo[k]);
			if (hi[k] && sm_context_table(d, hi[k], bus[k], true))
				edge(d, rta, bus[k], hi[k]);
		} else if (legacy_context_table(d, lo[k], bus[k])) {
			edge(d, rta, bus[k], lo[k]);
		}
	}
}

static void put_title(struct dot *d, const char *title)
{
	fputs("  label=\"", d->f);
	for (const char *p = title; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', d->f);
		if ((unsigned char)*p >= 0x20)
			fputc(*p, d->f);
	}
	fputs("\";\n  labelloc=t;\n", d->f);
}

static int graph(struct dot *d)
{
	uint64_t rtaddr = 0, gsts = 0;
	FILE *f = d->f;
	unsigned ttm;

	vtd_mmio_read(d->vtd, VTD_REG_RTADDR, 8, &rtaddr);
	vtd_mmio_read(d->vtd, VTD_REG_GSTS, 4, &gsts);
	ttm = (unsigned)VTD_GET(rtaddr, VTD_RTADDR_TTM);
	fputs("digraph vtd {\n  rankdir=LR;\n  node [shape=record, fontname=\"monospace\", "
	      "fontsize=10];\n",
	      f);
	if (d->o->title)
		put_title(d, d->o->title);
	if (!(gsts & VTD_GSTS_RTPS) || (ttm != VTD_TTM_SCALABLE && ttm != VTD_TTM_LEGACY)) {
		fputs("  none [shape=box, label=\"no root table in use\"];\n", f);
	} else {
		root_table(d, rtaddr & VTD_RTADDR_RTA_MASK, ttm);
		if (!(gsts & VTD_GSTS_TES))
			fputs("  te [shape=box, label=\"translation disabled (GSTS.TES = 0)\"];\n",
			      f);
	}
	if (d->truncated)
		fprintf(f, "  more [shape=box, label=\"graph cut at %u tables\"];\n",
			DOT_MAX_NODES);
	fputs("}\n", f);
	return ferror(f) ? -EIO : 0;
}

int dot_write(struct vtd *vtd, struct mem *mem, const struct dot_options *o, FILE *f)
{
	struct dot *d;
	int ret;

	if (!vtd || !mem || !o || !f)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->f = f;
	d->vtd = vtd;
	d->mem = mem;
	d->o = o;
	d->max_entries = o->max_entries ? o->max_entries : 16;
	ret = graph(d);
	free(d);
	return ret;
}
