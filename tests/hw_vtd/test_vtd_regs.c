// SPDX-License-Identifier: MIT
/* The VT-d register window: configuration, CAP/ECAP, access rules, GCMD/GSTS. */
#include "check.h"
#include "vtd_guest.h"

static struct vtd *make(const struct vtd_config *cfg, struct mem **m)
{
	struct vtd *vtd = NULL;

	*m = mem_create_sparse(1 << 24);
	if (!*m || vtd_create(cfg, *m, NULL, NULL, &vtd)) {
		mem_destroy(*m);
		return NULL;
	}
	return vtd;
}

static uint64_t rd(struct vtd *vtd, unsigned off, unsigned size)
{
	uint64_t v = 0xdeadbeefdeadbeefull;

	if (vtd_mmio_read(vtd, off, size, &v))
		return 0xbadbadbadull;
	return v;
}

static void test_config_validate(void)
{
	struct vtd_config c;
	struct mem *m = mem_create_sparse(1 << 20);
	struct vtd *vtd = NULL;

	CHECK(m);
	vtd_config_default(&c);
	CHECK_EQ(vtd_config_validate(&c), 0);
	CHECK_EQ(vtd_config_validate(NULL), -EINVAL);
#define BAD(field, value)                                                                          \
	do {                                                                                       \
		vtd_config_default(&c);                                                            \
		c.field = value;                                                                   \
		CHECK_EQ(vtd_config_validate(&c), -EINVAL);                                        \
		CHECK_EQ(vtd_create(&c, m, NULL, NULL, &vtd), -EINVAL);                            \
	} while (0)
	BAD(queued_invalidation, false); /* scalable without QI */
	BAD(mgaw, 58);
	BAD(mgaw, 29);
	BAD(haw, 53);
	BAD(haw, 31);
	BAD(sagaw, 0);
	BAD(sagaw, 1);			/* obsolete 2-level only */
	BAD(sagaw, 1u << 4);		/* reserved bit */
	BAD(sagaw, 1u << VTD_AW_48BIT); /* MGAW 57 not covered */
	BAD(pasid_bits, 21);
	BAD(nfr, 0);
	BAD(nfr, 257);
	BAD(did_bits, 5);
	BAD(did_bits, 18);
	BAD(did_bits, 2);
	BAD(mamv, 64);
	BAD(version, 0);
	BAD(version, 0x100);
	BAD(iro, 0xe);	    /* inside the fixed registers (PECTL..PEUADDR) */
	BAD(fro, 0x50);	    /* overlaps IVA/IOTLB at 0x500 */
	BAD(iro, 0x400);    /* beyond ECAP.IRO */
	BAD(iotlb.sets, 3); /* not a power of two */
	BAD(pscache.ways, 0);
	BAD(x2apic, true); /* EIM without IR */
	vtd_config_default(&c);
	c.first_stage = false; /* 5-level and 1 GiB and nested need the first stage */
	CHECK_EQ(vtd_config_validate(&c), -EINVAL);
	c.fs_5level = c.fs_1g = c.nested = false;
	CHECK_EQ(vtd_config_validate(&c), 0);
	vtd_config_default(&c);
	c.second_stage = false; /* SS A/D and nested need the second stage */
	CHECK_EQ(vtd_config_validate(&c), -EINVAL);
	c.ss_ad = c.nested = false;
	CHECK_EQ(vtd_config_validate(&c), 0);
	vtd_config_default(&c);
	c.scalable = false; /* scalable-only features on a legacy unit */
	CHECK_EQ(vtd_config_validate(&c), -EINVAL);
	c.first_stage = c.second_stage = c.nested = c.fs_5level = c.fs_1g = c.ss_ad = false;
	CHECK_EQ(vtd_config_validate(&c), -EINVAL); /* still PASID */
	c.pasid_bits = 0;
	CHECK_EQ(vtd_config_validate(&c), -EINVAL); /* SRS needs PASID */
	c.supervisor_requests = false;
	CHECK_EQ(vtd_config_validate(&c), 0);
	c.queued_invalidation = false;
	CHECK_EQ(vtd_config_validate(&c), -EINVAL); /* ATS needs QI */
	c.dev_tlb = false;
	CHECK_EQ(vtd_config_validate(&c), 0); /* a register-invalidation-only legacy unit */
	CHECK_EQ(vtd_create(&c, NULL, NULL, NULL, &vtd), -EINVAL);
	CHECK_EQ(vtd_create(NULL, m, NULL, NULL, &vtd), -EINVAL);
	CHECK_EQ(vtd_create(&c, m, NULL, NULL, NULL), -EINVAL);
	mem_destroy(m);
#undef BAD
}

static void test_cap_ecap(void)
{
	struct vtd_config c;
	struct mem *m;
	struct vtd *vtd;
	uint64_t cap, ecap;

	vtd_config_default(&c);
	vtd = make(&c, &m);
	CHECK(vtd);
	cap = rd(vtd, VTD_REG_CAP, 8);
	ecap = rd(vtd, VTD_REG_ECAP, 8);
	CHECK_EQ(cap, vtd_cap(vtd));
	CHECK_EQ(ecap, vtd_ecap(vtd));
	CHECK_EQ(rd(vtd, VTD_REG_VER, 4), 0x60);
	CHECK_EQ(VTD_GET(cap, VTD_CAP_ND), 6);
	CHECK_EQ(VTD_GET(cap, VTD_CAP_SAGAW), 0xc);
	CHECK_EQ(VTD_GET(cap, VTD_CAP_MGAW), 56);
	CHECK_EQ(VTD_GET(cap, VTD_CAP_FRO), 0x40);
	CHECK_EQ(VTD_GET(cap, VTD_CAP_NFR), 7);
	CHECK_EQ(VTD_GET(cap, VTD_CAP_MAMV), 18);
	CHECK_EQ(VTD_GET(cap, VTD_CAP_SLLPS), 3);
	CHECK(cap & VTD_CAP_FL1GP);
	CHECK(cap & VTD_CAP_FL5LP);
	CHECK(cap & VTD_CAP_PSI);
	CHECK(!(cap & VTD_CAP_CM));
	CHECK_EQ(VTD_GET(ecap, VTD_ECAP_IRO), 0x50);
	CHECK_EQ(VTD_GET(ecap, VTD_ECAP_PSS), 19);
	CHECK(ecap & VTD_ECAP_SMTS);
	CHECK(ecap & VTD_ECAP_QI);
	CHECK(ecap & VTD_ECAP_DT);
	CHECK(ecap & VTD_ECAP_PASID);
	CHECK(ecap & VTD_ECAP_FLTS);
	CHECK(ecap & VTD_ECAP_SLTS);
	CHECK(ecap & VTD_ECAP_NEST);
	CHECK(ecap & VTD_ECAP_PT);
	CHECK(ecap & VTD_ECAP_SLADS);
	CHECK(ecap & VTD_ECAP_SRS);
	CHECK(!(ecap & VTD_ECAP_ERS));
	CHECK(!(ecap & VTD_ECAP_IR));
	CHECK_EQ(vtd_mmio_size(vtd), 0x1000);
	/* RO: writes to VER/CAP/ECAP change nothing. */
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_CAP, 8, 0), 0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_ECAP + 4, 4, 0), 0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_VER, 4, 0x10), 0);
	CHECK_EQ(rd(vtd, VTD_REG_CAP, 8), cap);
	CHECK_EQ(rd(vtd, VTD_REG_ECAP, 8), ecap);
	CHECK_EQ(rd(vtd, VTD_REG_VER, 4), 0x60);
	vtd_destroy(vtd);
	mem_destroy(m);

	/* A different unit: legacy-only, caching mode, 3 FRCDs, QEMU's offsets, IR. */
	vtd_config_default(&c);
	c.scalable = c.first_stage = c.second_stage = c.nested = false;
	c.fs_5level = c.fs_1g = c.ss_ad = c.supervisor_requests = false;
	c.pasid_bits = 0;
	c.caching_mode = true;
	c.nfr = 3;
	c.iro = 0x0f;
	c.fro = 0x22;
	c.did_bits = 8;
	c.mgaw = 48;
	c.sagaw = 1u << VTD_AW_48BIT | 1u << VTD_AW_39BIT;
	c.intr_remap = true;
	c.ss_1g = false;
	vtd = make(&c, &m);
	CHECK(vtd);
	cap = vtd_cap(vtd);
	ecap = vtd_ecap(vtd);
	CHECK(cap & VTD_CAP_CM);
	CHECK_EQ(VTD_GET(cap, VTD_CAP_NFR), 2);
	CHECK_EQ(VTD_GET(cap, VTD_CAP_FRO), 0x22);
	CHECK_EQ(VTD_GET(cap, VTD_CAP_ND), 2);
	CHECK_EQ(VTD_GET(cap, VTD_CAP_SAGAW), 6);
	CHECK_EQ(VTD_GET(cap, VTD_CAP_SLLPS), 1);
	CHECK_EQ(VTD_GET(ecap, VTD_ECAP_IRO), 0x0f);
	CHECK(!(ecap & (VTD_ECAP_SMTS | VTD_ECAP_PASID | VTD_ECAP_FLTS | VTD_ECAP_SLTS)));
	CHECK(ecap & VTD_ECAP_IR);
	CHECK_EQ(vtd_mmio_size(vtd), 0x1000);
	vtd_destroy(vtd);
	mem_destroy(m);
}

static void test_access_rules(void)
{
	struct vtd_config c;
	struct mem *m;
	struct vtd *vtd;
	uint64_t v = 5;

	vtd_config_default(&c);
	vtd = make(&c, &m);
	CHECK(vtd);
	/* Bad size, alignment, offset: -EINVAL and no effect. */
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_FEDATA, 2, 1), -EINVAL);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_FEDATA, 1, 1), -EINVAL);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_FEDATA, 16, 1), -EINVAL);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_FEDATA + 2, 4, 1), -EINVAL);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_FEDATA, 8, 1), -EINVAL); /* 0x3c: not 8-aligned */
	CHECK_EQ(vtd_mmio_write(vtd, 0x1000, 4, 1), -EINVAL);
	CHECK_EQ(vtd_mmio_write(vtd, 0xffc, 8, 1), -EINVAL);
	CHECK_EQ(vtd_mmio_write(vtd, ~0ull - 3, 4, 1), -EINVAL);
	CHECK_EQ(vtd_mmio_read(vtd, 0x1000, 4, &v), -EINVAL);
	CHECK_EQ(vtd_mmio_read(vtd, 0x3, 4, &v), -EINVAL);
	CHECK_EQ(vtd_mmio_read(vtd, 0, 4, NULL), -EINVAL);
	CHECK_EQ(vtd_mmio_read(NULL, 0, 4, &v), -EINVAL);
	CHECK_EQ(vtd_mmio_write(NULL, 0, 4, 0), -EINVAL);
	CHECK_EQ(v, 5);
	CHECK_EQ(rd(vtd, VTD_REG_FEDATA, 4), 0);
	/* Reserved bits read 0 and ignore writes. */
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_FEDATA, 4, 0xffffffff), 0);
	CHECK_EQ(rd(vtd, VTD_REG_FEDATA, 4), 0xffff);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_FEADDR, 4, 0xffffffff), 0);
	CHECK_EQ(rd(vtd, VTD_REG_FEADDR, 4), 0xfffffffc);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_RTADDR, 8, ~0ull), 0);
	CHECK_EQ(rd(vtd, VTD_REG_RTADDR, 8), ~0ull & ~0x3ffull);
	/* Unimplemented registers (PMEN, AFLOG, PQA, IRTA without IR) read 0. */
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_PMEN, 4, ~0u), 0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_AFLOG, 8, ~0ull), 0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_PQA, 8, ~0ull), 0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_IRTA, 8, ~0ull), 0);
	CHECK_EQ(vtd_mmio_write(vtd, 0xff8, 8, ~0ull), 0);
	CHECK_EQ(rd(vtd, VTD_REG_PMEN, 4), 0);
	CHECK_EQ(rd(vtd, VTD_REG_AFLOG, 8), 0);
	CHECK_EQ(rd(vtd, VTD_REG_PQA, 8), 0);
	CHECK_EQ(rd(vtd, VTD_REG_IRTA, 8), 0);
	CHECK_EQ(rd(vtd, 0xff8, 8), 0);
	/* 64-bit registers as two 32-bit halves, and 8-byte access over two dwords. */
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_RTADDR, 4, 0x12345c00), 0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_RTADDR + 4, 4, 0x9), 0);
	CHECK_EQ(rd(vtd, VTD_REG_RTADDR, 8), 0x912345c00ull);
	CHECK_EQ(rd(vtd, VTD_REG_RTADDR + 4, 4), 0x9);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_FEDATA - 4, 8, 0x0000abcd00000000ull), 0); /* 0x38 */
	CHECK_EQ(rd(vtd, VTD_REG_FEDATA, 4), 0xabcd);
	CHECK_EQ(rd(vtd, VTD_REG_FECTL, 4), 0); /* IM cleared by the low half */
	CHECK_EQ(rd(vtd, VTD_REG_FECTL, 8), 0x0000abcd00000000ull);
	/* Queue registers: field masks. */
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_IQT, 8, ~0ull), 0);
	CHECK_EQ(rd(vtd, VTD_REG_IQT, 8), 0x7fff0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_IQH, 8, ~0ull), 0);
	CHECK_EQ(rd(vtd, VTD_REG_IQH, 8), 0); /* RO */
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_IQA, 8, ~0ull), 0);
	CHECK_EQ(rd(vtd, VTD_REG_IQA, 8), VTD_GENMASK(45, 12) | 0x807); /* base below HAW 46 */
	CHECK_EQ(rd(vtd, VTD_REG_IQT, 8), 0);				/* reset by IQA */
	CHECK_EQ(rd(vtd, VTD_REG_IECTL, 4), VTD_IECTL_IM);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_IEDATA, 4, ~0u), 0);
	CHECK_EQ(rd(vtd, VTD_REG_IEDATA, 4), 0xffff);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_IQERCD, 8, ~0ull), 0);
	CHECK_EQ(rd(vtd, VTD_REG_IQERCD, 8), 0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_ICS, 4, ~0u), 0);
	CHECK_EQ(rd(vtd, VTD_REG_ICS, 4), 0);
	/* IVA is RW with its field masks. */
	CHECK_EQ(vtd_mmio_write(vtd, 0x500, 8, ~0ull), 0);
	CHECK_EQ(rd(vtd, 0x500, 8), ~0ull & ~0xf80ull);
	/* Reset brings everything back. */
	vtd_reset(vtd);
	CHECK_EQ(rd(vtd, VTD_REG_RTADDR, 8), 0);
	CHECK_EQ(rd(vtd, VTD_REG_FECTL, 4), VTD_FECTL_IM);
	CHECK_EQ(rd(vtd, VTD_REG_IQA, 8), 0);
	CHECK_EQ(rd(vtd, VTD_REG_CAP, 8), vtd_cap(vtd));
	vtd_destroy(vtd);
	mem_destroy(m);
}

static void test_legacy_unit_masks(void)
{
	struct vtd_config c;
	struct mem *m;
	struct vtd *vtd;

	/* Without scalable mode TTM and IQA.DW are reserved; without QI the queue
	 * registers are. IR brings IRTA. */
	vtd_config_default(&c);
	c.scalable = c.first_stage = c.second_stage = c.nested = false;
	c.fs_5level = c.fs_1g = c.ss_ad = c.supervisor_requests = c.dev_tlb = false;
	c.pasid_bits = 0;
	c.queued_invalidation = false;
	c.intr_remap = true;
	vtd = make(&c, &m);
	CHECK(vtd);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_RTADDR, 8, ~0ull), 0);
	CHECK_EQ(rd(vtd, VTD_REG_RTADDR, 8), ~0xfffull);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_IQA, 8, ~0ull), 0);
	CHECK_EQ(rd(vtd, VTD_REG_IQA, 8), 0);
	CHECK_EQ(rd(vtd, VTD_REG_IECTL, 4), 0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_IRTA, 8, ~0ull), 0);
	CHECK_EQ(rd(vtd, VTD_REG_IRTA, 8), ~0ull & ~0xff0ull); /* no EIME without x2APIC */
	/* GCMD.QIE is not accepted without QI; IRE and SIRTP are with IR. */
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_GCMD, 4, VTD_GCMD_QIE), 0);
	CHECK_EQ(rd(vtd, VTD_REG_GSTS, 4), 0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_GCMD, 4, VTD_GCMD_SIRTP), 0);
	CHECK_EQ(rd(vtd, VTD_REG_GSTS, 4), VTD_GSTS_IRTPS);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_GCMD, 4, VTD_GCMD_IRE | VTD_GCMD_CFI), 0);
	CHECK_EQ(rd(vtd, VTD_REG_GSTS, 4), VTD_GSTS_IRTPS | VTD_GSTS_IRES | VTD_GSTS_CFIS);
	vtd_destroy(vtd);
	mem_destroy(m);
}

static void test_gcmd(void)
{
	struct vtd_config c;
	struct mem *m;
	struct vtd *vtd;

	vtd_config_default(&c);
	vtd = make(&c, &m);
	CHECK(vtd);
	CHECK_EQ(rd(vtd, VTD_REG_GSTS, 4), 0);
	/* SRTP latches; RTPS stays set. GCMD reads 0. */
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_RTADDR, 8, 0x5000 | 1 << 10), 0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_GCMD, 4, VTD_GCMD_SRTP), 0);
	CHECK_EQ(rd(vtd, VTD_REG_GSTS, 4), VTD_GSTS_RTPS);
	CHECK_EQ(rd(vtd, VTD_REG_GCMD, 4), 0);
	/* TE is level-sensitive: software writes GSTS persistent bits | TE. */
	uint32_t g = (uint32_t)rd(vtd, VTD_REG_GSTS, 4) & VTD_GSTS_PERSISTENT_MASK;
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_GCMD, 4, g | VTD_GCMD_TE), 0);
	CHECK_EQ(rd(vtd, VTD_REG_GSTS, 4), VTD_GSTS_RTPS | VTD_GSTS_TES);
	g = (uint32_t)rd(vtd, VTD_REG_GSTS, 4) & VTD_GSTS_PERSISTENT_MASK;
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_GCMD, 4, g | VTD_GCMD_QIE), 0);
	CHECK_EQ(rd(vtd, VTD_REG_GSTS, 4), VTD_GSTS_RTPS | VTD_GSTS_TES | VTD_GSTS_QIES);
	/* Capabilities this unit lacks are not reflected: WBF (no RWBF), IRE, SIRTP, CFI,
	 * EAFL, SFL. */
	g = (uint32_t)rd(vtd, VTD_REG_GSTS, 4) & VTD_GSTS_PERSISTENT_MASK;
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_GCMD, 4,
				g | VTD_GCMD_WBF | VTD_GCMD_IRE | VTD_GCMD_SIRTP | VTD_GCMD_CFI |
				    VTD_GCMD_EAFL | VTD_GCMD_SFL),
		 0);
	CHECK_EQ(rd(vtd, VTD_REG_GSTS, 4), VTD_GSTS_RTPS | VTD_GSTS_TES | VTD_GSTS_QIES);
	/* Disabling QI resets IQH; disabling TE. */
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_GCMD, 4, VTD_GCMD_TE), 0);
	CHECK_EQ(rd(vtd, VTD_REG_GSTS, 4), VTD_GSTS_RTPS | VTD_GSTS_TES);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_GCMD, 4, 0), 0);
	CHECK_EQ(rd(vtd, VTD_REG_GSTS, 4), VTD_GSTS_RTPS);
	/* GSTS is read-only. */
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_GSTS, 4, ~0u), 0);
	CHECK_EQ(rd(vtd, VTD_REG_GSTS, 4), VTD_GSTS_RTPS);
	vtd_destroy(vtd);
	mem_destroy(m);

	/* With RWBF, WBF is accepted and completes at once (WBFS reads 0). */
	vtd_config_default(&c);
	c.rwbf = true;
	vtd = make(&c, &m);
	CHECK(vtd);
	CHECK(vtd_cap(vtd) & VTD_CAP_RWBF);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_GCMD, 4, VTD_GCMD_WBF), 0);
	CHECK_EQ(rd(vtd, VTD_REG_GSTS, 4), 0);
	vtd_destroy(vtd);
	mem_destroy(m);
}

static void test_register_invalidation(void)
{
	struct vtd_config c;
	struct mem *m;
	struct vtd *vtd;
	uint64_t v;

	vtd_config_default(&c);
	vtd = make(&c, &m);
	CHECK(vtd);
	/* CCMD: ICC clears, CAIG reports the granularity, written as two halves too. */
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_CCMD, 8,
				VTD_CCMD_ICC | VTD_SET(VTD_CCMD_CIRG, VTD_CCMD_GRAN_DEVICE) |
				    VTD_SET(VTD_CCMD_SID, 0x1234) | VTD_SET(VTD_CCMD_DID, 7)),
		 0);
	v = rd(vtd, VTD_REG_CCMD, 8);
	CHECK(!(v & VTD_CCMD_ICC));
	CHECK_EQ(VTD_GET(v, VTD_CCMD_CAIG), VTD_CCMD_GRAN_DEVICE);
	CHECK_EQ(VTD_GET(v, VTD_CCMD_SID), 0x1234);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_CCMD, 4, 0), 0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_CCMD + 4, 4,
				(uint32_t)((VTD_CCMD_ICC | VTD_SET(VTD_CCMD_CIRG, 1)) >> 32)),
		 0);
	CHECK_EQ(VTD_GET(rd(vtd, VTD_REG_CCMD, 8), VTD_CCMD_CAIG), VTD_CCMD_GRAN_GLOBAL);
	/* IOTLB: IVT clears, IAIG reported; DW/DR writable with DWD/DRD. */
	CHECK_EQ(vtd_mmio_write(vtd, 0x508, 8,
				VTD_IOTLB_IVT | VTD_SET(VTD_IOTLB_IIRG, VTD_IOTLB_GRAN_PAGE) |
				    VTD_IOTLB_DW | VTD_IOTLB_DR | VTD_SET(VTD_IOTLB_DID, 3) |
				    0xffff),
		 0);
	v = rd(vtd, 0x508, 8);
	CHECK(!(v & VTD_IOTLB_IVT));
	CHECK_EQ(VTD_GET(v, VTD_IOTLB_IAIG), VTD_IOTLB_GRAN_PAGE);
	CHECK_EQ(VTD_GET(v, VTD_IOTLB_DID), 3);
	CHECK(v & VTD_IOTLB_DW);
	CHECK_EQ(v & 0xffffffff, 0); /* reserved low half */
	/* While QI is enabled, register-based invalidation is ignored (granularity 0). */
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_GCMD, 4, VTD_GCMD_QIE), 0);
	CHECK_EQ(vtd_mmio_write(vtd, 0x508, 8,
				VTD_IOTLB_IVT | VTD_SET(VTD_IOTLB_IIRG, VTD_IOTLB_GRAN_GLOBAL)),
		 0);
	CHECK_EQ(VTD_GET(rd(vtd, 0x508, 8), VTD_IOTLB_IAIG), 0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_CCMD, 8,
				VTD_CCMD_ICC | VTD_SET(VTD_CCMD_CIRG, VTD_CCMD_GRAN_GLOBAL)),
		 0);
	CHECK_EQ(VTD_GET(rd(vtd, VTD_REG_CCMD, 8), VTD_CCMD_CAIG), 0);
	vtd_destroy(vtd);
	mem_destroy(m);

	/* Without PSI a page-selective request is performed as domain-selective. */
	vtd_config_default(&c);
	c.psi = false;
	vtd = make(&c, &m);
	CHECK(vtd);
	CHECK_EQ(VTD_GET(vtd_cap(vtd), VTD_CAP_MAMV), 0);
	CHECK_EQ(vtd_mmio_write(vtd, 0x508, 8,
				VTD_IOTLB_IVT | VTD_SET(VTD_IOTLB_IIRG, VTD_IOTLB_GRAN_PAGE)),
		 0);
	CHECK_EQ(VTD_GET(rd(vtd, 0x508, 8), VTD_IOTLB_IAIG), VTD_IOTLB_GRAN_DOMAIN);
	vtd_destroy(vtd);
	mem_destroy(m);
}

static int inv_count;
static int fake_inv(void *ctx, const struct pci_ats_inv *inv)
{
	(void)ctx;
	(void)inv;
	inv_count++;
	return 0;
}

static void test_ats_ports(void)
{
	struct vtd_config c;
	struct mem *m;
	struct vtd *vtd;
	struct pci_ats_port port = {.invalidate = fake_inv}, empty = {0};

	vtd_config_default(&c);
	vtd = make(&c, &m);
	CHECK(vtd);
	CHECK_EQ(vtd_connect_ats(vtd, 0x100, NULL), -EINVAL);
	CHECK_EQ(vtd_connect_ats(vtd, 0x100, &empty), -EINVAL);
	CHECK_EQ(vtd_connect_ats(vtd, 0x100, &port), 0);
	CHECK_EQ(vtd_connect_ats(vtd, 0x100, &port), -EBUSY);
	CHECK_EQ(vtd_connect_ats(vtd, 0xffff, &port), 0);
	CHECK_EQ(vtd_disconnect_ats(vtd, 0x100), 0);
	CHECK_EQ(vtd_disconnect_ats(vtd, 0x100), -ENOENT);
	CHECK_EQ(vtd_disconnect_ats(vtd, 0x2000), -ENOENT);
	CHECK_EQ(vtd_connect_ats(vtd, 0x100, &port), 0);
	vtd_destroy(vtd); /* frees connected ports */
	mem_destroy(m);
}

struct trace_log {
	int mmio_writes, commands, translations, faults;
	uint32_t last_cmd;
};

static void tracer(void *ctx, const struct vtd_trace_event *ev)
{
	struct trace_log *t = ctx;

	switch (ev->kind) {
	case VTD_TRACE_MMIO_WRITE:
		t->mmio_writes++;
		break;
	case VTD_TRACE_COMMAND:
		t->commands++;
		t->last_cmd = ev->cmd.bit;
		break;
	case VTD_TRACE_TRANSLATE:
		t->translations++;
		break;
	case VTD_TRACE_FAULT:
		t->faults++;
		break;
	default:
		break;
	}
}

static void test_trace(void)
{
	struct vtd_config c;
	struct mem *m = mem_create_sparse(1 << 24);
	struct vtd *vtd = NULL;
	struct trace_log log = {0};
	struct vtd_callbacks cb = {.trace = tracer};
	struct pci_req req = {.addr = 0x1000, .rid = 1, .flags = PCI_REQ_READ};
	struct pci_resp resp;

	CHECK(m);
	vtd_config_default(&c);
	CHECK_EQ(vtd_create(&c, m, &cb, &log, &vtd), 0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_RTADDR, 8, 0x1000 | 1 << 10), 0);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_GCMD, 4, VTD_GCMD_SRTP), 0);
	CHECK_EQ(log.last_cmd, (uint32_t)VTD_GCMD_SRTP);
	CHECK_EQ(vtd_mmio_write(vtd, VTD_REG_GCMD, 4, VTD_GCMD_TE), 0);
	CHECK_EQ(log.last_cmd, (uint32_t)VTD_GCMD_TE);
	CHECK_EQ(log.commands, 2);
	CHECK_EQ(log.mmio_writes, 3);
	CHECK_EQ(vtd_translate(vtd, &req, &resp), 0);
	CHECK_EQ(resp.status, PCI_UR);
	CHECK_EQ(resp.fault, VTD_FR_SRT_2);
	CHECK_EQ(log.translations, 1);
	CHECK_EQ(log.faults, 1);
	vtd_destroy(vtd);
	mem_destroy(m);
}

int main(void)
{
	RUN(test_config_validate);
	RUN(test_cap_ecap);
	RUN(test_access_rules);
	RUN(test_legacy_unit_masks);
	RUN(test_gcmd);
	RUN(test_register_invalidation);
	RUN(test_ats_ports);
	RUN(test_trace);
	return CHECK_DONE();
}
