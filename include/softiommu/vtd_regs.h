/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-d architectural facts: register offsets and fields, in-memory structures
 * (root, context, PASID directory and table entries), page-table entry bits, invalidation
 * descriptors and fault reason codes. Nothing here is specific to softiommu's model: a
 * driver, a test, or an emulator author can use it as a plain spec header.
 *
 * Section numbers in comments refer to the project's VT-d digest (reference/vtd.md),
 * condition names (LRT.1, SCT.5, SPT.4, ...) to the VT-d specification's fault tables.
 *
 * Conventions: every name starts with VTD_. A single-bit field is one constant (the bit).
 * A multi-bit field FOO has FOO_SHIFT and FOO_MASK (the mask in place); VTD_GET(v, FOO)
 * extracts it and VTD_SET(FOO, x) places x. Structures wider than 64 bits name the
 * quad-word they live in: _Q0_ is bits 63:0, _Q1_ bits 127:64, and so on; field positions
 * are given within that quad-word.
 */
#ifndef SOFTIOMMU_VTD_REGS_H
#define SOFTIOMMU_VTD_REGS_H

#include <stdint.h>

#define VTD_BIT(n)	    (1ull << (n))
#define VTD_GENMASK(hi, lo) ((~0ull >> (63 - (hi))) & ~((1ull << (lo)) - 1))
#define VTD_GET(v, f)	    (((uint64_t)(v)&f##_MASK) >> f##_SHIFT)
#define VTD_SET(f, x)	    (((uint64_t)(x) << f##_SHIFT) & f##_MASK)

/* ---- 1.1 register offsets -------------------------------------------------------------- */

#define VTD_REG_VER	 0x000 /* 32 */
#define VTD_REG_CAP	 0x008 /* 64, RO */
#define VTD_REG_ECAP	 0x010 /* 64, RO */
#define VTD_REG_GCMD	 0x018 /* 32, WO (reads 0) */
#define VTD_REG_GSTS	 0x01c /* 32, RO */
#define VTD_REG_RTADDR	 0x020 /* 64 */
#define VTD_REG_CCMD	 0x028 /* 64 */
#define VTD_REG_FSTS	 0x034 /* 32 */
#define VTD_REG_FECTL	 0x038 /* 32 */
#define VTD_REG_FEDATA	 0x03c /* 32 */
#define VTD_REG_FEADDR	 0x040 /* 32 */
#define VTD_REG_FEUADDR	 0x044 /* 32 */
#define VTD_REG_AFLOG	 0x058 /* 64 */
#define VTD_REG_PMEN	 0x064 /* 32 */
#define VTD_REG_PLMBASE	 0x068 /* 32 */
#define VTD_REG_PLMLIMIT 0x06c /* 32 */
#define VTD_REG_PHMBASE	 0x070 /* 64 */
#define VTD_REG_PHMLIMIT 0x078 /* 64 */
#define VTD_REG_IQH	 0x080 /* 64 */
#define VTD_REG_IQT	 0x088 /* 64 */
#define VTD_REG_IQA	 0x090 /* 64 */
#define VTD_REG_ICS	 0x09c /* 32 */
#define VTD_REG_IECTL	 0x0a0 /* 32 */
#define VTD_REG_IEDATA	 0x0a4 /* 32 */
#define VTD_REG_IEADDR	 0x0a8 /* 32 */
#define VTD_REG_IEUADDR	 0x0ac /* 32 */
#define VTD_REG_IQERCD	 0x0b0 /* 64, RO */
#define VTD_REG_IRTA	 0x0b8 /* 64 */
#define VTD_REG_PQH	 0x0c0 /* 64 */
#define VTD_REG_PQT	 0x0c8 /* 64 */
#define VTD_REG_PQA	 0x0d0 /* 64 */
#define VTD_REG_PRS	 0x0dc /* 32 */
#define VTD_REG_PECTL	 0x0e0 /* 32 */
#define VTD_REG_PEDATA	 0x0e4 /* 32 */
#define VTD_REG_PEADDR	 0x0e8 /* 32 */
#define VTD_REG_PEUADDR	 0x0ec /* 32 */
#define VTD_REG_MTRRCAP	 0x100 /* 64 */
#define VTD_REG_MTRRDEF	 0x108 /* 64 */
#define VTD_REG_PERFCAP	 0x300 /* 64 */
#define VTD_REG_ECMD	 0x400 /* 64 */
#define VTD_REG_ECRSP	 0x410 /* 64 */
/* Relative to ECAP.IRO * 16: */
#define VTD_REG_IVA_OFF	  0x0 /* 64 */
#define VTD_REG_IOTLB_OFF 0x8 /* 64 */
/* Fault recording register i: CAP.FRO * 16 + VTD_FRCD_SIZE * i, 128 bits. */
#define VTD_FRCD_SIZE 16

/* ---- VER_REG --------------------------------------------------------------------------- */

#define VTD_VER_MINOR_SHIFT 0
#define VTD_VER_MINOR_MASK  0x0full
#define VTD_VER_MAJOR_SHIFT 4
#define VTD_VER_MAJOR_MASK  0xf0ull

/* ---- 1.2 CAP_REG ----------------------------------------------------------------------- */

#define VTD_CAP_ND_SHIFT    0 /* domain-ids: 2^(4 + 2*ND) */
#define VTD_CAP_ND_MASK	    VTD_GENMASK(2, 0)
#define VTD_CAP_AFL	    VTD_BIT(3)
#define VTD_CAP_RWBF	    VTD_BIT(4)
#define VTD_CAP_PLMR	    VTD_BIT(5)
#define VTD_CAP_PHMR	    VTD_BIT(6)
#define VTD_CAP_CM	    VTD_BIT(7)
#define VTD_CAP_SAGAW_SHIFT 8 /* bit 8+n: AW value n supported (see VTD_AW_*) */
#define VTD_CAP_SAGAW_MASK  VTD_GENMASK(12, 8)
#define VTD_CAP_MGAW_SHIFT  16 /* maximum guest address width - 1 */
#define VTD_CAP_MGAW_MASK   VTD_GENMASK(21, 16)
#define VTD_CAP_ZLR	    VTD_BIT(22)
#define VTD_CAP_FRO_SHIFT   24 /* fault-recording register offset / 16 */
#define VTD_CAP_FRO_MASK    VTD_GENMASK(33, 24)
#define VTD_CAP_SLLPS_SHIFT 34 /* bit 0: 2 MiB, bit 1: 1 GiB second-stage pages */
#define VTD_CAP_SLLPS_MASK  VTD_GENMASK(37, 34)
#define VTD_CAP_SLLPS_2M    VTD_BIT(34)
#define VTD_CAP_SLLPS_1G    VTD_BIT(35)
#define VTD_CAP_PSI	    VTD_BIT(39)
#define VTD_CAP_NFR_SHIFT   40 /* number of fault-recording registers - 1 */
#define VTD_CAP_NFR_MASK    VTD_GENMASK(47, 40)
#define VTD_CAP_MAMV_SHIFT  48
#define VTD_CAP_MAMV_MASK   VTD_GENMASK(53, 48)
#define VTD_CAP_DWD	    VTD_BIT(54)
#define VTD_CAP_DRD	    VTD_BIT(55)
#define VTD_CAP_FL1GP	    VTD_BIT(56) /* first-stage 1 GiB pages (FS1GP) */
#define VTD_CAP_PI	    VTD_BIT(59)
#define VTD_CAP_FL5LP	    VTD_BIT(60) /* first-stage 5-level paging (FS5LP) */
#define VTD_CAP_ECMDS	    VTD_BIT(61)
#define VTD_CAP_ESIRTPS	    VTD_BIT(62)
#define VTD_CAP_ESRTPS	    VTD_BIT(63)

/* AW encoding (context entry, PASID entry, SAGAW bit 8+n): width 30 + 9n, n + 2 levels. */
#define VTD_AW_39BIT 1
#define VTD_AW_48BIT 2
#define VTD_AW_57BIT 3

/* ---- 1.3 ECAP_REG ---------------------------------------------------------------------- */

#define VTD_ECAP_C	    VTD_BIT(0)
#define VTD_ECAP_QI	    VTD_BIT(1)
#define VTD_ECAP_DT	    VTD_BIT(2)
#define VTD_ECAP_IR	    VTD_BIT(3)
#define VTD_ECAP_EIM	    VTD_BIT(4)
#define VTD_ECAP_PT	    VTD_BIT(6)
#define VTD_ECAP_SC	    VTD_BIT(7)
#define VTD_ECAP_IRO_SHIFT  8 /* IOTLB register offset / 16 */
#define VTD_ECAP_IRO_MASK   VTD_GENMASK(17, 8)
#define VTD_ECAP_MHMV_SHIFT 20
#define VTD_ECAP_MHMV_MASK  VTD_GENMASK(23, 20)
#define VTD_ECAP_MTS	    VTD_BIT(25)
#define VTD_ECAP_NEST	    VTD_BIT(26)
#define VTD_ECAP_PRS	    VTD_BIT(29)
#define VTD_ECAP_ERS	    VTD_BIT(30)
#define VTD_ECAP_SRS	    VTD_BIT(31)
#define VTD_ECAP_NWFS	    VTD_BIT(33)
#define VTD_ECAP_EAFS	    VTD_BIT(34)
#define VTD_ECAP_PSS_SHIFT  35 /* PASID size - 1 */
#define VTD_ECAP_PSS_MASK   VTD_GENMASK(39, 35)
#define VTD_ECAP_PASID	    VTD_BIT(40)
#define VTD_ECAP_DIT	    VTD_BIT(41)
#define VTD_ECAP_PDS	    VTD_BIT(42)
#define VTD_ECAP_SMTS	    VTD_BIT(43)
#define VTD_ECAP_VCS	    VTD_BIT(44)
#define VTD_ECAP_SLADS	    VTD_BIT(45) /* SSADS */
#define VTD_ECAP_SLTS	    VTD_BIT(46) /* SSTS */
#define VTD_ECAP_FLTS	    VTD_BIT(47) /* FSTS */
#define VTD_ECAP_SMPWCS	    VTD_BIT(48)
#define VTD_ECAP_RPS	    VTD_BIT(49)
#define VTD_ECAP_PMS	    VTD_BIT(51)
#define VTD_ECAP_ADMS	    VTD_BIT(52)
#define VTD_ECAP_RPRIVS	    VTD_BIT(53)

/* ---- 1.4 GCMD_REG / GSTS_REG (same bit positions) -------------------------------------- */

#define VTD_GCMD_TE    VTD_BIT(31) /* level: translation enable */
#define VTD_GCMD_SRTP  VTD_BIT(30) /* one-shot: latch RTADDR */
#define VTD_GCMD_SFL   VTD_BIT(29) /* one-shot: latch AFLOG */
#define VTD_GCMD_EAFL  VTD_BIT(28) /* level: advanced fault logging */
#define VTD_GCMD_WBF   VTD_BIT(27) /* one-shot: write-buffer flush */
#define VTD_GCMD_QIE   VTD_BIT(26) /* level: queued invalidation enable */
#define VTD_GCMD_IRE   VTD_BIT(25) /* level: interrupt remapping enable */
#define VTD_GCMD_SIRTP VTD_BIT(24) /* one-shot: latch IRTA */
#define VTD_GCMD_CFI   VTD_BIT(23) /* level: compatibility-format interrupts */
#define VTD_GSTS_TES   VTD_BIT(31)
#define VTD_GSTS_RTPS  VTD_BIT(30)
#define VTD_GSTS_FLS   VTD_BIT(29)
#define VTD_GSTS_AFLS  VTD_BIT(28)
#define VTD_GSTS_WBFS  VTD_BIT(27)
#define VTD_GSTS_QIES  VTD_BIT(26)
#define VTD_GSTS_IRES  VTD_BIT(25)
#define VTD_GSTS_IRTPS VTD_BIT(24)
#define VTD_GSTS_CFIS  VTD_BIT(23)
/* What software keeps when it writes GSTS back into GCMD (level bits only). */
#define VTD_GSTS_PERSISTENT_MASK 0x96ffffffu

/* ---- 1.5 RTADDR_REG -------------------------------------------------------------------- */

#define VTD_RTADDR_TTM_SHIFT 10
#define VTD_RTADDR_TTM_MASK  VTD_GENMASK(11, 10)
#define VTD_RTADDR_RTA_MASK  VTD_GENMASK(63, 12)
#define VTD_TTM_LEGACY	     0
#define VTD_TTM_SCALABLE     1
#define VTD_TTM_RSVD	     2
#define VTD_TTM_ABORT_DMA    3

/* ---- 1.6 CCMD_REG, IOTLB_REG, IVA_REG -------------------------------------------------- */

#define VTD_CCMD_DID_SHIFT  0
#define VTD_CCMD_DID_MASK   VTD_GENMASK(15, 0)
#define VTD_CCMD_SID_SHIFT  16
#define VTD_CCMD_SID_MASK   VTD_GENMASK(31, 16)
#define VTD_CCMD_FM_SHIFT   32
#define VTD_CCMD_FM_MASK    VTD_GENMASK(33, 32)
#define VTD_CCMD_CAIG_SHIFT 59
#define VTD_CCMD_CAIG_MASK  VTD_GENMASK(60, 59)
#define VTD_CCMD_CIRG_SHIFT 61
#define VTD_CCMD_CIRG_MASK  VTD_GENMASK(62, 61)
#define VTD_CCMD_ICC	    VTD_BIT(63)
/* CIRG / CAIG values */
#define VTD_CCMD_GRAN_NONE   0 /* CAIG only: request ignored */
#define VTD_CCMD_GRAN_GLOBAL 1
#define VTD_CCMD_GRAN_DOMAIN 2
#define VTD_CCMD_GRAN_DEVICE 3

#define VTD_IOTLB_DID_SHIFT  32
#define VTD_IOTLB_DID_MASK   VTD_GENMASK(47, 32)
#define VTD_IOTLB_DW	     VTD_BIT(48)
#define VTD_IOTLB_DR	     VTD_BIT(49)
#define VTD_IOTLB_IAIG_SHIFT 57
#define VTD_IOTLB_IAIG_MASK  VTD_GENMASK(58, 57)
#define VTD_IOTLB_IIRG_SHIFT 60
#define VTD_IOTLB_IIRG_MASK  VTD_GENMASK(61, 60)
#define VTD_IOTLB_IVT	     VTD_BIT(63)
/* IIRG / IAIG values */
#define VTD_IOTLB_GRAN_NONE   0 /* IAIG only: request ignored */
#define VTD_IOTLB_GRAN_GLOBAL 1
#define VTD_IOTLB_GRAN_DOMAIN 2
#define VTD_IOTLB_GRAN_PAGE   3

#define VTD_IVA_AM_SHIFT  0
#define VTD_IVA_AM_MASK	  VTD_GENMASK(5, 0)
#define VTD_IVA_IH	  VTD_BIT(6)
#define VTD_IVA_ADDR_MASK VTD_GENMASK(63, 12)

/* ---- 1.7 queued-invalidation registers ------------------------------------------------- */

#define VTD_IQH_QH_MASK		VTD_GENMASK(18, 4) /* byte offset of the next descriptor */
#define VTD_IQT_QT_MASK		VTD_GENMASK(18, 4)
#define VTD_IQA_QS_SHIFT	0 /* 2^QS 4 KiB pages */
#define VTD_IQA_QS_MASK		VTD_GENMASK(2, 0)
#define VTD_IQA_DW		VTD_BIT(11) /* 256-bit descriptors (needs ECAP.SMTS) */
#define VTD_IQA_IQA_MASK	VTD_GENMASK(63, 12)
#define VTD_ICS_IWC		VTD_BIT(0) /* RW1C */
#define VTD_IECTL_IM		VTD_BIT(31)
#define VTD_IECTL_IP		VTD_BIT(30)
#define VTD_IQERCD_IQEI_SHIFT	0
#define VTD_IQERCD_IQEI_MASK	VTD_GENMASK(3, 0)
#define VTD_IQERCD_ITESID_SHIFT 32
#define VTD_IQERCD_ITESID_MASK	VTD_GENMASK(47, 32)
#define VTD_IQERCD_ICESID_SHIFT 48
#define VTD_IQERCD_ICESID_MASK	VTD_GENMASK(63, 48)
/* IQEI values */
#define VTD_IQEI_NONE	    0
#define VTD_IQEI_TAIL	    1 /* invalid tail pointer */
#define VTD_IQEI_FETCH	    2 /* descriptor fetch error */
#define VTD_IQEI_TYPE	    3 /* invalid descriptor type */
#define VTD_IQEI_RSVD	    4 /* reserved field violation */
#define VTD_IQEI_WIDTH	    5 /* invalid descriptor width */
#define VTD_IQEI_TAIL_ALIGN 6 /* queue tail misaligned */
#define VTD_IQEI_TTM	    7 /* invalid TTM */

/* IRTA_REG */
#define VTD_IRTA_S_SHIFT   0
#define VTD_IRTA_S_MASK	   VTD_GENMASK(3, 0)
#define VTD_IRTA_EIME	   VTD_BIT(11)
#define VTD_IRTA_IRTA_MASK VTD_GENMASK(63, 12)

/* ---- 1.8 FSTS_REG, FECTL_REG, FEDATA/FEADDR -------------------------------------------- */

#define VTD_FSTS_PFO	   VTD_BIT(0) /* RW1C */
#define VTD_FSTS_PPF	   VTD_BIT(1) /* RO: OR of all FRCD.F */
#define VTD_FSTS_AFO	   VTD_BIT(2)
#define VTD_FSTS_APF	   VTD_BIT(3)
#define VTD_FSTS_IQE	   VTD_BIT(4) /* RW1C */
#define VTD_FSTS_ICE	   VTD_BIT(5) /* RW1C */
#define VTD_FSTS_ITE	   VTD_BIT(6) /* RW1C */
#define VTD_FSTS_FRI_SHIFT 8
#define VTD_FSTS_FRI_MASK  VTD_GENMASK(15, 8)
#define VTD_FECTL_IM	   VTD_BIT(31) /* reset value 1 */
#define VTD_FECTL_IP	   VTD_BIT(30) /* RO */
#define VTD_FEDATA_MASK	   VTD_GENMASK(15, 0)
#define VTD_FEADDR_MASK	   VTD_GENMASK(31, 2)

/* ---- 4.4 fault recording register (two quad-words) ------------------------------------- */

#define VTD_FRCD_Q0_FI_MASK   VTD_GENMASK(63, 12)
#define VTD_FRCD_Q1_SID_SHIFT 0
#define VTD_FRCD_Q1_SID_MASK  VTD_GENMASK(15, 0)
#define VTD_FRCD_Q1_T2	      VTD_BIT(28)
#define VTD_FRCD_Q1_PRIV      VTD_BIT(29)
#define VTD_FRCD_Q1_EXE	      VTD_BIT(30)
#define VTD_FRCD_Q1_PP	      VTD_BIT(31)
#define VTD_FRCD_Q1_FR_SHIFT  32
#define VTD_FRCD_Q1_FR_MASK   VTD_GENMASK(39, 32)
#define VTD_FRCD_Q1_PV_SHIFT  40
#define VTD_FRCD_Q1_PV_MASK   VTD_GENMASK(59, 40)
#define VTD_FRCD_Q1_AT_SHIFT  60
#define VTD_FRCD_Q1_AT_MASK   VTD_GENMASK(61, 60)
#define VTD_FRCD_Q1_T1	      VTD_BIT(62) /* legacy "T": 0 write, 1 read */
#define VTD_FRCD_Q1_F	      VTD_BIT(63) /* RW1C */

/* ---- 2.1 legacy root entry ------------------------------------------------------------- */

#define VTD_RE_Q0_P	   VTD_BIT(0)
#define VTD_RE_Q0_RSVD	   VTD_GENMASK(11, 1)
#define VTD_RE_Q0_CTP_MASK VTD_GENMASK(63, 12)
/* Q1 is reserved. */

/* ---- 2.2 scalable-mode root entry ------------------------------------------------------ */

#define VTD_SRE_Q0_LP	     VTD_BIT(0)
#define VTD_SRE_Q0_RSVD	     VTD_GENMASK(11, 1)
#define VTD_SRE_Q0_LCTP_MASK VTD_GENMASK(63, 12) /* devfn 0-127 */
#define VTD_SRE_Q1_UP	     VTD_BIT(0)
#define VTD_SRE_Q1_RSVD	     VTD_GENMASK(11, 1)
#define VTD_SRE_Q1_UCTP_MASK VTD_GENMASK(63, 12) /* devfn 128-255 */

#define VTD_ROOT_ENTRY_SIZE	 16
#define VTD_CTX_ENTRY_SIZE	 16 /* legacy */
#define VTD_SM_CTX_ENTRY_SIZE	 32
#define VTD_PASID_DIR_ENTRY_SIZE 8
#define VTD_PASID_ENTRY_SIZE	 64

/* ---- 2.3 legacy context entry ---------------------------------------------------------- */

#define VTD_CE_Q0_P	       VTD_BIT(0)
#define VTD_CE_Q0_FPD	       VTD_BIT(1)
#define VTD_CE_Q0_TT_SHIFT     2
#define VTD_CE_Q0_TT_MASK      VTD_GENMASK(3, 2)
#define VTD_CE_Q0_RSVD	       VTD_GENMASK(11, 4)
#define VTD_CE_Q0_SLPTPTR_MASK VTD_GENMASK(63, 12)
#define VTD_CE_Q1_AW_SHIFT     0
#define VTD_CE_Q1_AW_MASK      VTD_GENMASK(2, 0)
#define VTD_CE_Q1_AVAIL_MASK   VTD_GENMASK(6, 3) /* ignored */
#define VTD_CE_Q1_DID_SHIFT    8
#define VTD_CE_Q1_DID_MASK     VTD_GENMASK(23, 8)
#define VTD_CE_Q1_RSVD	       (VTD_BIT(7) | VTD_GENMASK(63, 24))
/* TT values */
#define VTD_TT_UNTRANSLATED 0 /* second-stage only; ATS blocked */
#define VTD_TT_ALL	    1 /* second-stage, ATS allowed (needs ECAP.DT) */
#define VTD_TT_PASS_THROUGH 2 /* needs ECAP.PT */
#define VTD_TT_RSVD	    3

/* ---- 2.4 scalable-mode context entry (four quad-words) --------------------------------- */

#define VTD_SCE_Q0_P		    VTD_BIT(0)
#define VTD_SCE_Q0_FPD		    VTD_BIT(1)
#define VTD_SCE_Q0_DTE		    VTD_BIT(2)
#define VTD_SCE_Q0_PASIDE	    VTD_BIT(3)
#define VTD_SCE_Q0_PRE		    VTD_BIT(4)
#define VTD_SCE_Q0_RSVD		    VTD_GENMASK(8, 5)
#define VTD_SCE_Q0_PDTS_SHIFT	    9 /* 2^(PDTS + 7) directory entries */
#define VTD_SCE_Q0_PDTS_MASK	    VTD_GENMASK(11, 9)
#define VTD_SCE_Q0_PASIDDIRPTR_MASK VTD_GENMASK(63, 12)
#define VTD_SCE_Q1_RID_PASID_SHIFT  0
#define VTD_SCE_Q1_RID_PASID_MASK   VTD_GENMASK(19, 0)
#define VTD_SCE_Q1_RID_PRIV	    VTD_BIT(20)
#define VTD_SCE_Q1_RSVD		    VTD_GENMASK(63, 21)
/* Q2 and Q3 are reserved. */

/* ---- 3.1 PASID-directory entry --------------------------------------------------------- */

#define VTD_PDE_P	       VTD_BIT(0)
#define VTD_PDE_FPD	       VTD_BIT(1)
#define VTD_PDE_RSVD	       VTD_GENMASK(11, 2)
#define VTD_PDE_SMPTBLPTR_MASK VTD_GENMASK(63, 12)
/* 3.3 PASID split: bits 19:6 index the directory, bits 5:0 the 64-entry table. */
#define VTD_PASID_DIR_SHIFT 6
#define VTD_PASID_TBL_MASK  0x3fu
#define VTD_PASID_MAX	    0xfffffu

/* ---- 3.2 scalable-mode PASID-table entry (eight quad-words) ---------------------------- */

#define VTD_PE_Q0_P	       VTD_BIT(0)
#define VTD_PE_Q0_FPD	       VTD_BIT(1)
#define VTD_PE_Q0_AW_SHIFT     2
#define VTD_PE_Q0_AW_MASK      VTD_GENMASK(4, 2)
#define VTD_PE_Q0_SLEE	       VTD_BIT(5)
#define VTD_PE_Q0_PGTT_SHIFT   6
#define VTD_PE_Q0_PGTT_MASK    VTD_GENMASK(8, 6)
#define VTD_PE_Q0_SLADE	       VTD_BIT(9)
#define VTD_PE_Q0_RSVD	       VTD_GENMASK(11, 10)
#define VTD_PE_Q0_SLPTPTR_MASK VTD_GENMASK(63, 12)
#define VTD_PE_Q1_DID_SHIFT    0
#define VTD_PE_Q1_DID_MASK     VTD_GENMASK(15, 0)
#define VTD_PE_Q1_RSVD	       VTD_GENMASK(22, 16)
#define VTD_PE_Q1_PWSNP	       VTD_BIT(23)
#define VTD_PE_Q1_PGSNP	       VTD_BIT(24)
#define VTD_PE_Q1_CD	       VTD_BIT(25)
#define VTD_PE_Q1_EMTE	       VTD_BIT(26)
#define VTD_PE_Q1_EMT_SHIFT    27
#define VTD_PE_Q1_EMT_MASK     VTD_GENMASK(29, 27)
#define VTD_PE_Q1_PWT	       VTD_BIT(30)
#define VTD_PE_Q1_PCD	       VTD_BIT(31)
#define VTD_PE_Q1_PAT_SHIFT    32
#define VTD_PE_Q1_PAT_MASK     VTD_GENMASK(63, 32)
#define VTD_PE_Q2_SRE	       VTD_BIT(0)
#define VTD_PE_Q2_ERE	       VTD_BIT(1)
#define VTD_PE_Q2_FLPM_SHIFT   2
#define VTD_PE_Q2_FLPM_MASK    VTD_GENMASK(3, 2)
#define VTD_PE_Q2_WPE	       VTD_BIT(4)
#define VTD_PE_Q2_NXE	       VTD_BIT(5)
#define VTD_PE_Q2_SMEP	       VTD_BIT(6)
#define VTD_PE_Q2_EAFE	       VTD_BIT(7)
#define VTD_PE_Q2_RSVD	       VTD_GENMASK(11, 8)
#define VTD_PE_Q2_FLPTPTR_MASK VTD_GENMASK(63, 12)
/* Q3 to Q7 are reserved. */
/* PGTT values */
#define VTD_PGTT_FS	1 /* first-stage only */
#define VTD_PGTT_SS	2 /* second-stage only */
#define VTD_PGTT_NESTED 3
#define VTD_PGTT_PT	4 /* pass-through */
/* FLPM values */
#define VTD_FLPM_4LEVEL 0
#define VTD_FLPM_5LEVEL 1

/* ---- 4.1 first-stage paging entry (x86-64 format) -------------------------------------- */

#define VTD_FL_P	 VTD_BIT(0)
#define VTD_FL_RW	 VTD_BIT(1)
#define VTD_FL_US	 VTD_BIT(2)
#define VTD_FL_PWT	 VTD_BIT(3)
#define VTD_FL_PCD	 VTD_BIT(4)
#define VTD_FL_A	 VTD_BIT(5)
#define VTD_FL_D	 VTD_BIT(6)  /* leaf only */
#define VTD_FL_PS	 VTD_BIT(7)  /* PDPE and PDE; PAT in a 4 KiB PTE; Rsvd in PML4E/PML5E */
#define VTD_FL_G	 VTD_BIT(8)  /* leaf only */
#define VTD_FL_EA	 VTD_BIT(10) /* extended accessed (with EAFE) */
#define VTD_FL_PAT_LARGE VTD_BIT(12) /* PAT in 2 MiB / 1 GiB leaves */
#define VTD_FL_ADDR_MASK VTD_GENMASK(51, 12)
#define VTD_FL_XD	 VTD_BIT(63) /* with NXE */

/* ---- 4.2 second-stage paging entry ----------------------------------------------------- */

#define VTD_SL_R	 VTD_BIT(0)
#define VTD_SL_W	 VTD_BIT(1)
#define VTD_SL_X	 VTD_BIT(2) /* with SLEE */
#define VTD_SL_EMT_SHIFT 3
#define VTD_SL_EMT_MASK	 VTD_GENMASK(5, 3)
#define VTD_SL_IPAT	 VTD_BIT(6)
#define VTD_SL_PS	 VTD_BIT(7)
#define VTD_SL_A	 VTD_BIT(8)  /* with SLADE */
#define VTD_SL_D	 VTD_BIT(9)  /* with SLADE, leaf only */
#define VTD_SL_SNP	 VTD_BIT(11) /* leaf only */
#define VTD_SL_ADDR_MASK VTD_GENMASK(51, 12)
#define VTD_SL_TM	 VTD_BIT(62) /* reserved since spec 3.2 */

/* Paging-structure geometry shared by both stages: 512 entries, 9 bits per level. */
#define VTD_PT_LEVEL_SHIFT(lvl) (12 + 9 * ((lvl)-1))
#define VTD_PT_INDEX(addr, lvl) (((addr) >> VTD_PT_LEVEL_SHIFT(lvl)) & 0x1ff)

/* The interrupt address range: untranslated DMA output here is blocked (LGN.4, SGN.8). */
#define VTD_INTR_RANGE_BASE 0xfee00000ull
#define VTD_INTR_RANGE_SIZE 0x00100000ull

/* ---- 5. invalidation descriptors ------------------------------------------------------- */

/* 5.1: type[3:0] in Q0 bits 3:0, type[6:4] in Q0 bits 11:9. */
#define VTD_INV_TYPE_LO_MASK VTD_GENMASK(3, 0)
#define VTD_INV_TYPE_HI_MASK VTD_GENMASK(11, 9)
#define VTD_INV_TYPE(q0)     ((unsigned)(((q0)&0xf) | (((q0) >> 5) & 0x70)))
#define VTD_INV_CC	     1 /* context-cache invalidate */
#define VTD_INV_IOTLB	     2 /* IOTLB invalidate */
#define VTD_INV_DEVTLB	     3 /* device-TLB invalidate */
#define VTD_INV_IEC	     4 /* interrupt-entry-cache invalidate */
#define VTD_INV_WAIT	     5 /* invalidation wait */
#define VTD_INV_PIOTLB	     6 /* PASID-based IOTLB invalidate */
#define VTD_INV_PC	     7 /* PASID-cache invalidate */
#define VTD_INV_PDEVTLB	     8 /* PASID-based device-TLB invalidate */
#define VTD_INV_PGRP_RESP    9 /* page group response */

/* 5.2 context-cache invalidate (type 1) */
#define VTD_INV_CC_G_SHIFT   4
#define VTD_INV_CC_G_MASK    VTD_GENMASK(5, 4) /* VTD_CCMD_GRAN_* values */
#define VTD_INV_CC_DID_SHIFT 16
#define VTD_INV_CC_DID_MASK  VTD_GENMASK(31, 16)
#define VTD_INV_CC_SID_SHIFT 32
#define VTD_INV_CC_SID_MASK  VTD_GENMASK(47, 32)
#define VTD_INV_CC_FM_SHIFT  48
#define VTD_INV_CC_FM_MASK   VTD_GENMASK(49, 48)
#define VTD_INV_CC_Q0_RSVD   (VTD_GENMASK(8, 6) | VTD_GENMASK(15, 12) | VTD_GENMASK(63, 50))

/* 5.3 IOTLB invalidate (type 2) */
#define VTD_INV_IOTLB_G_SHIFT	4
#define VTD_INV_IOTLB_G_MASK	VTD_GENMASK(5, 4) /* VTD_IOTLB_GRAN_* values */
#define VTD_INV_IOTLB_DW	VTD_BIT(6)
#define VTD_INV_IOTLB_DR	VTD_BIT(7)
#define VTD_INV_IOTLB_DID_SHIFT 16
#define VTD_INV_IOTLB_DID_MASK	VTD_GENMASK(31, 16)
#define VTD_INV_IOTLB_Q0_RSVD	(VTD_BIT(8) | VTD_GENMASK(15, 12) | VTD_GENMASK(63, 32))
#define VTD_INV_IOTLB_AM_SHIFT	0 /* Q1 */
#define VTD_INV_IOTLB_AM_MASK	VTD_GENMASK(5, 0)
#define VTD_INV_IOTLB_IH	VTD_BIT(6)
#define VTD_INV_IOTLB_Q1_RSVD	VTD_GENMASK(11, 7)
#define VTD_INV_IOTLB_ADDR_MASK VTD_GENMASK(63, 12)

/* 5.4 device-TLB invalidate (type 3) */
#define VTD_INV_DEVTLB_PFSID_LO_SHIFT 12
#define VTD_INV_DEVTLB_PFSID_LO_MASK  VTD_GENMASK(15, 12)
#define VTD_INV_DEVTLB_MIP_SHIFT      16
#define VTD_INV_DEVTLB_MIP_MASK	      VTD_GENMASK(20, 16)
#define VTD_INV_DEVTLB_SID_SHIFT      32
#define VTD_INV_DEVTLB_SID_MASK	      VTD_GENMASK(47, 32)
#define VTD_INV_DEVTLB_PFSID_HI_SHIFT 52
#define VTD_INV_DEVTLB_PFSID_HI_MASK  VTD_GENMASK(63, 52)
#define VTD_INV_DEVTLB_Q0_RSVD	      (VTD_GENMASK(8, 4) | VTD_GENMASK(31, 21) | VTD_GENMASK(51, 48))
#define VTD_INV_DEVTLB_S	      VTD_BIT(0) /* Q1 */
#define VTD_INV_DEVTLB_Q1_RSVD	      VTD_GENMASK(11, 1)
#define VTD_INV_DEVTLB_ADDR_MASK      VTD_GENMASK(63, 12)

/* 5.5 interrupt-entry-cache invalidate (type 4) */
#define VTD_INV_IEC_G	       VTD_BIT(4) /* 0 global, 1 index-selective */
#define VTD_INV_IEC_IM_SHIFT   27
#define VTD_INV_IEC_IM_MASK    VTD_GENMASK(31, 27)
#define VTD_INV_IEC_IIDX_SHIFT 32
#define VTD_INV_IEC_IIDX_MASK  VTD_GENMASK(47, 32)
#define VTD_INV_IEC_Q0_RSVD    (VTD_GENMASK(8, 5) | VTD_GENMASK(26, 12) | VTD_GENMASK(63, 48))

/* 5.6 invalidation wait (type 5) */
#define VTD_INV_WAIT_IF		  VTD_BIT(4)
#define VTD_INV_WAIT_SW		  VTD_BIT(5)
#define VTD_INV_WAIT_FN		  VTD_BIT(6)
#define VTD_INV_WAIT_PD		  VTD_BIT(7)
#define VTD_INV_WAIT_Q0_RSVD	  (VTD_BIT(8) | VTD_GENMASK(31, 12))
#define VTD_INV_WAIT_STDATA_SHIFT 32
#define VTD_INV_WAIT_STDATA_MASK  VTD_GENMASK(63, 32)
#define VTD_INV_WAIT_Q1_RSVD	  VTD_GENMASK(1, 0)
#define VTD_INV_WAIT_STADDR_MASK  VTD_GENMASK(63, 2)

/* 5.7 PASID-based IOTLB invalidate (type 6) */
#define VTD_INV_PIOTLB_G_SHIFT	   4
#define VTD_INV_PIOTLB_G_MASK	   VTD_GENMASK(5, 4)
#define VTD_INV_PIOTLB_G_PASID	   2 /* all non-global mappings of DID + PASID */
#define VTD_INV_PIOTLB_G_PAGE	   3 /* page-selective within PASID */
#define VTD_INV_PIOTLB_DID_SHIFT   16
#define VTD_INV_PIOTLB_DID_MASK	   VTD_GENMASK(31, 16)
#define VTD_INV_PIOTLB_PASID_SHIFT 32
#define VTD_INV_PIOTLB_PASID_MASK  VTD_GENMASK(51, 32)
#define VTD_INV_PIOTLB_Q0_RSVD	   (VTD_GENMASK(8, 6) | VTD_GENMASK(15, 12) | VTD_GENMASK(63, 52))
#define VTD_INV_PIOTLB_AM_SHIFT	   0 /* Q1 */
#define VTD_INV_PIOTLB_AM_MASK	   VTD_GENMASK(5, 0)
#define VTD_INV_PIOTLB_IH	   VTD_BIT(6)
#define VTD_INV_PIOTLB_Q1_RSVD	   VTD_GENMASK(11, 7)
#define VTD_INV_PIOTLB_ADDR_MASK   VTD_GENMASK(63, 12)

/* 5.8 PASID-cache invalidate (type 7) */
#define VTD_INV_PC_G_SHIFT     4
#define VTD_INV_PC_G_MASK      VTD_GENMASK(5, 4)
#define VTD_INV_PC_G_DOMAIN    0 /* every PASID of DID */
#define VTD_INV_PC_G_PASID     1 /* one PASID within DID */
#define VTD_INV_PC_G_RSVD      2
#define VTD_INV_PC_G_GLOBAL    3
#define VTD_INV_PC_DID_SHIFT   16
#define VTD_INV_PC_DID_MASK    VTD_GENMASK(31, 16)
#define VTD_INV_PC_PASID_SHIFT 32
#define VTD_INV_PC_PASID_MASK  VTD_GENMASK(51, 32)
#define VTD_INV_PC_Q0_RSVD     (VTD_GENMASK(8, 6) | VTD_GENMASK(15, 12) | VTD_GENMASK(63, 52))

/* 5.9 PASID-based device-TLB invalidate (type 8) */
#define VTD_INV_PDEVTLB_MIP_SHIFT      4
#define VTD_INV_PDEVTLB_MIP_MASK       VTD_GENMASK(8, 4)
#define VTD_INV_PDEVTLB_PFSID_LO_SHIFT 12
#define VTD_INV_PDEVTLB_PFSID_LO_MASK  VTD_GENMASK(15, 12)
#define VTD_INV_PDEVTLB_SID_SHIFT      16
#define VTD_INV_PDEVTLB_SID_MASK       VTD_GENMASK(31, 16)
#define VTD_INV_PDEVTLB_PASID_SHIFT    32
#define VTD_INV_PDEVTLB_PASID_MASK     VTD_GENMASK(51, 32)
#define VTD_INV_PDEVTLB_PFSID_HI_SHIFT 52
#define VTD_INV_PDEVTLB_PFSID_HI_MASK  VTD_GENMASK(63, 52)
#define VTD_INV_PDEVTLB_G	       VTD_BIT(0) /* Q1: every PASID */
#define VTD_INV_PDEVTLB_Q1_RSVD	       VTD_GENMASK(10, 1)
#define VTD_INV_PDEVTLB_S	       VTD_BIT(11)
#define VTD_INV_PDEVTLB_ADDR_MASK      VTD_GENMASK(63, 12)

/* ---- 4.3 fault reason codes (FRCD.FR) -------------------------------------------------- */

enum vtd_fault_reason {
	VTD_FR_NONE = 0x00,
	/* Legacy mode (TTM = 00) */
	VTD_FR_LRT_2 = 0x01, /* LRT.2: root entry not present */
	VTD_FR_LCT_2 = 0x02, /* LCT.2: context entry not present */
	VTD_FR_LCT_4 = 0x03, /* LCT.4.x: invalid context-entry programming (AW, TT) */
	VTD_FR_LGN_1 = 0x04, /* LGN.1.x: input address above the address width */
	VTD_FR_LGN_2 = 0x05, /* LGN.2: write without write permission */
	VTD_FR_LGN_3 = 0x06, /* LGN.3: read without read permission */
	VTD_FR_LSL_1 = 0x07, /* LSL.1: error fetching a second-stage entry */
	VTD_FR_LRT_1 = 0x08, /* LRT.1: error fetching the root entry */
	VTD_FR_LCT_1 = 0x09, /* LCT.1: error fetching the context entry */
	VTD_FR_LRT_3 = 0x0a, /* LRT.3: reserved bits in the root entry */
	VTD_FR_LCT_3 = 0x0b, /* LCT.3: reserved bits in the context entry */
	VTD_FR_LSL_2 = 0x0c, /* LSL.2: reserved bits in a second-stage entry */
	VTD_FR_LCT_5 = 0x0d, /* LCT.5: TT blocks a translation / translated request */
	VTD_FR_LGN_4 = 0x0e, /* LGN.4: output address in the interrupt range */
	/* Scalable mode (TTM = 01) */
	VTD_FR_RTA_1 = 0x30,  /* RTA.1.x: invalid root-table address / TTM */
	VTD_FR_RTA_2 = 0x31,  /* RTA.2: legacy TTM, request with PASID */
	VTD_FR_RTA_3 = 0x32,  /* RTA.3: legacy TTM, page request */
	VTD_FR_RTA_4 = 0x33,  /* RTA.4 */
	VTD_FR_SRT_1 = 0x38,  /* SRT.1: error fetching the root entry */
	VTD_FR_SRT_2 = 0x39,  /* SRT.2: root entry LP/UP not present */
	VTD_FR_SRT_3 = 0x3a,  /* SRT.3: reserved bits in the root entry */
	VTD_FR_SCT_1 = 0x40,  /* SCT.1: error fetching the context entry */
	VTD_FR_SCT_2 = 0x41,  /* SCT.2: context entry not present */
	VTD_FR_SCT_3 = 0x42,  /* SCT.3: reserved bits in the context entry */
	VTD_FR_SCT_4 = 0x43,  /* SCT.4.x: invalid context-entry programming */
	VTD_FR_SCT_5 = 0x44,  /* SCT.5: DTE = 0 for a translation / translated request */
	VTD_FR_SCT_6 = 0x45,  /* SCT.6: PASIDE = 0 for a request with PASID */
	VTD_FR_SCT_7 = 0x46,  /* SCT.7: PASID beyond the PASID-directory size */
	VTD_FR_SCT_8 = 0x47,  /* SCT.8: PRE = 0 for a page request */
	VTD_FR_SCT_9 = 0x48,  /* SCT.9: RID_PASID field error */
	VTD_FR_SPD_1 = 0x50,  /* SPD.1: error fetching the PASID-directory entry */
	VTD_FR_SPD_2 = 0x51,  /* SPD.2: PASID-directory entry not present */
	VTD_FR_SPD_3 = 0x52,  /* SPD.3: reserved bits in the PASID-directory entry */
	VTD_FR_SPT_1 = 0x58,  /* SPT.1: error fetching the PASID-table entry */
	VTD_FR_SPT_2 = 0x59,  /* SPT.2: PASID-table entry not present */
	VTD_FR_SPT_3 = 0x5a,  /* SPT.3: reserved bits in the PASID-table entry */
	VTD_FR_SPT_4 = 0x5b,  /* SPT.4.x: invalid PASID-entry programming (PGTT, AW, FLPM) */
	VTD_FR_SPT_5 = 0x5c,  /* SPT.5: ERE = 0 for an execute request */
	VTD_FR_SPT_6 = 0x5d,  /* SPT.6: SRE = 0 for a supervisor request */
	VTD_FR_SFL_1 = 0x70,  /* SFL.1: error fetching a first-stage entry */
	VTD_FR_SFL_2 = 0x71,  /* SFL.2: first-stage entry not present */
	VTD_FR_SFL_3 = 0x72,  /* SFL.3: reserved bits in a first-stage entry */
	VTD_FR_SFL_4 = 0x73,  /* SFL.4: error fetching the first-stage root (FLPTPTR) */
	VTD_FR_SFL_5 = 0x74,  /* SFL.5: nested, FS structure address beyond SS width */
	VTD_FR_SFL_6 = 0x75,  /* SFL.6: nested, SS read denied fetching the FS root entry */
	VTD_FR_SFL_7 = 0x76,  /* SFL.7: nested, SS read denied fetching an FS entry */
	VTD_FR_SFL_8 = 0x77,  /* SFL.8: nested, SS write denied updating FS A/D */
	VTD_FR_SSL_1 = 0x78,  /* SSL.1: error fetching a second-stage entry */
	VTD_FR_SSL_2 = 0x79,  /* SSL.2: second-stage non-leaf entry not present */
	VTD_FR_SSL_3 = 0x7a,  /* SSL.3: reserved bits in a second-stage entry */
	VTD_FR_SSL_4 = 0x7b,  /* SSL.4: invalid SLPTPTR (root fetch error) */
	VTD_FR_SSL_5 = 0x7c,  /* SSL.5: SS A/D update needed, page walk non-snooped */
	VTD_FR_SSL_6 = 0x7d,  /* SSL.6 */
	VTD_FR_SGN_1 = 0x80,  /* SGN.1: first-stage input address not canonical */
	VTD_FR_SGN_2 = 0x81,  /* SGN.2: U/S = 0 for a user request */
	VTD_FR_SGN_3 = 0x82,  /* SGN.3: no execute permission */
	VTD_FR_SGN_4 = 0x83,  /* SGN.4.x: input address beyond the supported width */
	VTD_FR_SGN_5 = 0x84,  /* SGN.5: output address beyond HAW */
	VTD_FR_SGN_6 = 0x85,  /* SGN.6: no write permission */
	VTD_FR_SGN_7 = 0x86,  /* SGN.7: no read permission */
	VTD_FR_SGN_8 = 0x87,  /* SGN.8: output address in the interrupt range */
	VTD_FR_SGN_9 = 0x88,  /* SGN.9 */
	VTD_FR_SGN_10 = 0x89, /* SGN.10 */
	VTD_FR_SFL_9 = 0x90,  /* SFL.9: FS A/D update needed, page walk non-snooped */
	VTD_FR_SFL_10 = 0x91, /* SFL.10: FS A/D update failed */
};

#endif
