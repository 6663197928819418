// SPDX-License-Identifier: MIT
/*
 * The VT-d second-stage format: digest section 4.2.
 *
 * There is no Present bit: an entry with R = W = 0 is not present, so a mapping needs READ
 * or WRITE. Non-leaf entries carry R and W (and X when execute requests are enabled,
 * SLEE = 1) because permissions are the AND over all levels; SNP is reserved in non-leaf
 * entries and only written in leaves. PS is reserved at levels 4 and 5, so only levels
 * 1-3 hold leaves (4 KiB, 2 MiB with CAP.SLLPS bit 34, 1 GiB with bit 35).
 */
#include "pt_internal.h"

#define SS_R   (1ull << 0)
#define SS_W   (1ull << 1)
#define SS_X   (1ull << 2)
#define SS_PS  PT_PS
#define SS_A   (1ull << 8) /* with SLADE; ignored otherwise */
#define SS_D   (1ull << 9) /* leaf, with SLADE */
#define SS_SNP (1ull << 11)

static int ss_check_prot(unsigned prot, unsigned flags)
{
	unsigned ok = PT_PROT_READ | PT_PROT_WRITE | PT_PROT_SNOOP;

	if (flags & PT_CFG_EXEC)
		ok |= PT_PROT_EXEC;
	return (prot & ~ok) || !(prot & (PT_PROT_READ | PT_PROT_WRITE)) ? -EINVAL : 0;
}

static uint64_t ss_prot_attrs(unsigned prot, unsigned flags)
{
	uint64_t a = 0;

	if (prot & PT_PROT_READ)
		a |= SS_R;
	if (prot & PT_PROT_WRITE)
		a |= SS_W;
	if (prot & PT_PROT_EXEC)
		a |= SS_X;
	if (prot & PT_PROT_SNOOP)
		a |= SS_SNP;
	if (flags & PT_CFG_SET_AD)
		a |= SS_A | (prot & PT_PROT_WRITE ? SS_D : 0);
	return a;
}

static unsigned ss_attrs_prot(uint64_t a, unsigned flags)
{
	unsigned prot = 0;

	if (a & SS_R)
		prot |= PT_PROT_READ;
	if (a & SS_W)
		prot |= PT_PROT_WRITE;
	if ((flags & PT_CFG_EXEC) && (a & SS_X))
		prot |= PT_PROT_EXEC;
	if (a & SS_SNP)
		prot |= PT_PROT_SNOOP;
	return prot;
}

static uint64_t ss_mk_leaf(uint64_t attrs, uint64_t pa, unsigned level)
{
	return attrs | pa | (level > 1 ? SS_PS : 0);
}

static uint64_t ss_mk_table(uint64_t pa, unsigned flags)
{
	return pa | SS_R | SS_W | (flags & PT_CFG_EXEC ? SS_X : 0) |
	       (flags & PT_CFG_SET_AD ? SS_A : 0);
}

static bool ss_present(uint64_t e)
{
	return e & (SS_R | SS_W);
}

static const struct pt_fmt ss_fmt = {
    .name = "VT-d second stage",
    .min_levels = 3,
    .max_levels = 5,
    .leaf_levels = (1u << 1) | (1u << 2) | (1u << 3),
    .lower_half = false,
    .check_prot = ss_check_prot,
    .prot_attrs = ss_prot_attrs,
    .attrs_prot = ss_attrs_prot,
    .mk_leaf = ss_mk_leaf,
    .mk_table = ss_mk_table,
    .present = ss_present,
    .is_leaf = pt_ps_is_leaf,
    .table_addr = pt_ps_table_addr,
    .leaf_addr = pt_ps_leaf_addr,
    .leaf_attrs = pt_ps_leaf_attrs,
};

#define PT_FMT	    ss_fmt
#define PT_FN(name) vtd_ss_##name
#include "pt_walk.h"

const struct pt_ops pt_vtd_ss_ops = PT_OPS_INIT(ss_fmt);
