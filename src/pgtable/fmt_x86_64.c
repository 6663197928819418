// SPDX-License-Identifier: MIT
/*
 * The x86-64 first-stage format (IA-32e 4-level and 5-level paging), as the VT-d first
 * stage walks it: digest section 4.1.
 *
 * Non-leaf entries are fully permissive (P, R/W, U/S; never XD) because permissions are
 * the AND over all levels: the leaf alone decides. A 4 KiB leaf has no PS bit (bit 7 is
 * PAT there); 2 MiB and 1 GiB leaves have PS, and PS is reserved in PML4E/PML5E, so only
 * levels 1-3 hold leaves.
 */
#include "pt_internal.h"

#define X86_P  (1ull << 0)
#define X86_RW (1ull << 1)
#define X86_US (1ull << 2)
#define X86_A  (1ull << 5)
#define X86_D  (1ull << 6) /* leaf only */
#define X86_PS PT_PS
#define X86_XD (1ull << 63)

static int x86_check_prot(unsigned prot, unsigned flags)
{
	unsigned ok = PT_PROT_READ | PT_PROT_WRITE | PT_PROT_PRIV;

	if (flags & PT_CFG_EXEC)
		ok |= PT_PROT_EXEC;
	/* A present entry is always readable: a mapping without READ cannot be written. */
	return (prot & ~ok) || !(prot & PT_PROT_READ) ? -EINVAL : 0;
}

static uint64_t x86_prot_attrs(unsigned prot, unsigned flags)
{
	uint64_t a = X86_P;

	if (prot & PT_PROT_WRITE)
		a |= X86_RW;
	/* User requests need U/S = 1 at every level (SGN.2); PRIV leaves it 0. */
	if (!(prot & PT_PROT_PRIV))
		a |= X86_US;
	if ((flags & PT_CFG_EXEC) && !(prot & PT_PROT_EXEC))
		a |= X86_XD;
	if (flags & PT_CFG_SET_AD)
		a |= X86_A | (prot & PT_PROT_WRITE ? X86_D : 0);
	return a;
}

static unsigned x86_attrs_prot(uint64_t a, unsigned flags)
{
	unsigned prot = PT_PROT_READ;

	if (a & X86_RW)
		prot |= PT_PROT_WRITE;
	if (!(a & X86_US))
		prot |= PT_PROT_PRIV;
	if ((flags & PT_CFG_EXEC) && !(a & X86_XD))
		prot |= PT_PROT_EXEC;
	return prot;
}

static uint64_t x86_mk_leaf(uint64_t attrs, uint64_t pa, unsigned level)
{
	return attrs | pa | (level > 1 ? X86_PS : 0);
}

static uint64_t x86_mk_table(uint64_t pa, unsigned flags)
{
	return pa | X86_P | X86_RW | X86_US | (flags & PT_CFG_SET_AD ? X86_A : 0);
}

static bool x86_present(uint64_t e)
{
	return e & X86_P;
}

static const struct pt_fmt x86_fmt = {
    .name = "x86-64 first stage",
    .min_levels = 4,
    .max_levels = 5,
    .leaf_levels = (1u << 1) | (1u << 2) | (1u << 3),
    .lower_half = true,
    .check_prot = x86_check_prot,
    .prot_attrs = x86_prot_attrs,
    .attrs_prot = x86_attrs_prot,
    .mk_leaf = x86_mk_leaf,
    .mk_table = x86_mk_table,
    .present = x86_present,
    .is_leaf = pt_ps_is_leaf,
    .table_addr = pt_ps_table_addr,
    .leaf_addr = pt_ps_leaf_addr,
    .leaf_attrs = pt_ps_leaf_attrs,
};

#define PT_FMT	    x86_fmt
#define PT_FN(name) x86_64_##name
#include "pt_walk.h"

const struct pt_ops pt_x86_64_ops = PT_OPS_INIT(x86_fmt);
