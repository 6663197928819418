/* SPDX-License-Identifier: MIT */
/*
 * What the VT-d model's benchmarks share: one requester's tables written as a driver writes
 * them - root entry -> scalable-mode context entry (PASID enabled, device TLB) -> PASID
 * directory -> PASID-table entry (first stage, 4-level, one domain) -> PML4 -> PDPT -> PD
 * -> PT -> 4 KiB pages - in a sparse memory, and the loop that translates a list of
 * addresses, so that the benches of the uncached and the cached paths measure the same
 * translations and count the same loop.
 *
 * Header-only (static functions), as bench_harness.h.
 */
#ifndef SOFTIOMMU_BENCH_VTD_H
#define SOFTIOMMU_BENCH_VTD_H

#include <softiommu/vtd.h>

#include <string.h>

/* One requester (rid, pasid) on a unit, its first-stage tables in `m`. */
struct bench_fs {
	struct mem *m;
	struct vtd *vtd;
	uint64_t next;	 /* the next free table page */
	uint64_t root;	 /* root table (RTADDR) */
	uint64_t fsroot; /* the PASID's PML4 */
	uint16_t rid;
	uint32_t pasid;
};

/* A zeroed page for a table, from the bump pointer. */
static inline uint64_t bench_fs_page(struct bench_fs *f)
{
	uint64_t p = f->next;

	f->next += 4096;
	return p;
}

static inline uint64_t bench_fs_rd(struct bench_fs *f, uint64_t pa)
{
	uint64_t v = 0;

	mem_read64(f->m, pa, &v);
	return v;
}

/*
 * Map `va` to `pa` (4 KiB, read/write, user) in the first-stage tables, with the accessed
 * bits already set as after a first use: no A/D write in a measured loop.
 */
static inline void bench_fs_map(struct bench_fs *f, uint64_t va, uint64_t pa)
{
	uint64_t table = f->fsroot;

	for (unsigned lvl = 4; lvl > 1; lvl--) {
		uint64_t e_pa = table + VTD_PT_INDEX(va, lvl) * 8, e = bench_fs_rd(f, e_pa);

		if (!e) {
			e = bench_fs_page(f) | VTD_FL_P | VTD_FL_RW | VTD_FL_US | VTD_FL_A;
			mem_write64(f->m, e_pa, e);
		}
		table = e & VTD_FL_ADDR_MASK;
	}
	mem_write64(f->m, table + VTD_PT_INDEX(va, 1) * 8,
		    pa | VTD_FL_P | VTD_FL_RW | VTD_FL_US | VTD_FL_A);
}

/*
 * A unit made from `c` on a sparse memory of `mem_size` bytes, tables from `tables` up:
 * the root, context, PASID directory and PASID-table entry of (rid, pasid) with domain
 * `did` and an empty PML4. Map with bench_fs_map(), then bench_fs_enable(). Returns 0, or
 * -1 (what was made is left in `f`; the benches exit).
 */
static inline int bench_fs_setup(struct bench_fs *f, const struct vtd_config *c, uint64_t mem_size,
				 uint64_t tables, uint16_t rid, uint32_t pasid, uint16_t did)
{
	uint64_t ctx, dir, ptbl, pe;

	memset(f, 0, sizeof(*f));
	f->m = mem_create_sparse(mem_size);
	if (!f->m || vtd_create(c, f->m, NULL, NULL, &f->vtd))
		return -1;
	f->rid = rid;
	f->pasid = pasid;
	f->next = tables;
	f->root = bench_fs_page(f);
	ctx = bench_fs_page(f);
	dir = bench_fs_page(f);
	ptbl = bench_fs_page(f);
	f->fsroot = bench_fs_page(f);
	mem_write64(f->m, f->root + PCI_RID_BUS(rid) * 16, ctx | 1);
	mem_write64(f->m, ctx + (PCI_RID_DEVFN(rid) & 0x7f) * 32,
		    dir | VTD_SCE_Q0_P | VTD_SCE_Q0_PASIDE | VTD_SCE_Q0_DTE);
	mem_write64(f->m, dir + (pasid >> 6) * 8, ptbl | VTD_PDE_P);
	pe = ptbl + (pasid & 63) * 64;
	mem_write64(f->m, pe, VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_PGTT, VTD_PGTT_FS));
	mem_write64(f->m, pe + 8, did);
	mem_write64(f->m, pe + 16, f->fsroot);
	return 0;
}

/* Latch the root table in scalable mode and turn translation on. */
static inline void bench_fs_enable(struct bench_fs *f)
{
	vtd_mmio_write(f->vtd, VTD_REG_RTADDR, 8, f->root | (uint64_t)VTD_TTM_SCALABLE << 10);
	vtd_mmio_write(f->vtd, VTD_REG_GCMD, 4, VTD_GCMD_SRTP);
	vtd_mmio_write(f->vtd, VTD_REG_GCMD, 4, VTD_GCMD_TE);
}

/*
 * The measured loop: `n` untranslated reads with the requester's PASID, of addr[i & mask]
 * in turn; returns the sum of the output addresses (compared with a baseline's, and kept
 * alive). Inlined into each bench's named loop function, which callgrind counts.
 */
static inline __attribute__((always_inline)) uint64_t
bench_fs_translate_each(const struct bench_fs *f, const uint64_t *addr, long mask, long n)
{
	struct pci_req req = {
	    .rid = f->rid, .pasid = f->pasid, .flags = PCI_REQ_PASID | PCI_REQ_READ};
	struct pci_resp resp;
	uint64_t acc = 0;

	for (long i = 0; i < n; i++) {
		req.addr = addr[i & mask];
		vtd_translate(f->vtd, &req, &resp);
		acc += resp.addr;
	}
	return acc;
}

/*
 * The baseline the targets name, a bare 4-level radix walk: for addr[i & mask] in turn, the
 * same four entries the model reads, at the same addresses and in the same order, a present
 * check per level and nothing else. Returns what bench_fs_translate_each() returns for the
 * same mapped addresses. `mem_size` bytes of the memory are directly mapped.
 */
static inline __attribute__((always_inline)) uint64_t
bench_fs_bare_walk_each(const struct bench_fs *f, uint64_t mem_size, const uint64_t *addr,
			long mask, long n)
{
	const uint8_t *base = mem_ptr(f->m, 0, mem_size);
	uint64_t acc = 0;

	for (long i = 0; i < n; i++) {
		uint64_t va = addr[i & mask], table = f->fsroot, e = 0;

		for (unsigned lvl = 4; lvl >= 1; lvl--) {
			e = __atomic_load_n(
			    (const uint64_t *)(const void *)(base + table +
							     VTD_PT_INDEX(va, lvl) * 8),
			    __ATOMIC_RELAXED);
			if (!(e & VTD_FL_P))
				break;
			table = e & VTD_FL_ADDR_MASK;
		}
		acc += table | (va & 0xfff);
	}
	return acc;
}

#endif
