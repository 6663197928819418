// SPDX-License-Identifier: MIT
/*
 * The VT-d driver's tables and attachments, checked against the spec by decoding what it
 * wrote, and by what the unit does with requests:
 *  - context and PASID entries bit by bit (scalable mode: DTE, PASIDE, PDTS, RID_PASID;
 *    PASID entries for first stage, second stage and pass-through; legacy context entries);
 *  - the kernel PASID mirrors RID_PASID (design.md rule 3): the default domain attached to a
 *    PASID translates requests with it exactly as requests without PASID, for first-stage,
 *    second-stage and pass-through default domains, and both fault after unmap;
 *  - detach makes the PASID fault (SPT.2) and zeroes the entry; replace moves a PASID from
 *    one domain to another (stage, DID and table change), RID replace likewise;
 *  - legacy mode refuses PASIDs (-EOPNOTSUPP) and programs context entries.
 */
#include "drv_test.h"

static void tweak_ss(struct machine_config *c)
{
	c->driver.default_stage = INTEL_IOMMU_STAGE_SECOND;
}

static void tweak_pt(struct machine_config *c)
{
	c->iommu.passthrough = true;
}

static void tweak_fs5(struct machine_config *c)
{
	c->driver.fs_5level = true;
}

static void tweak_legacy(struct machine_config *c)
{
	c->vtd.scalable = false;
	c->vtd.first_stage = false;
	c->vtd.second_stage = false;
	c->vtd.nested = false;
	c->vtd.fs_5level = false;
	c->vtd.fs_1g = false;
	c->vtd.pasid_bits = 0;
	c->vtd.supervisor_requests = false;
	c->vtd.sm_pwc = false;
	c->vtd.rid_pasid = false;
	c->vtd.ss_ad = false;
}

static void tweak_legacy_pt(struct machine_config *c)
{
	tweak_legacy(c);
	c->iommu.passthrough = true;
}

/* The identity domain's set_dev_pasid, called directly. */
static int d_identity_set_dev_pasid(struct machine_dev *d)
{
	struct iommu_domain *id = d->dev->iommu->ops->identity_domain;

	return id->ops->set_dev_pasid(id, d->dev, 1, NULL);
}

/* ---- the tables -------------------------------------------------------------------------- */

/* 2.4: a device with ATS and 20-bit PASIDs, one without either, one in an upper half. */
static void test_sm_context_entries(void)
{
	struct machine *m = mk_machine(NULL);
	struct machine_dev *a, *b, *c;
	uint64_t q[4];

	CHECK(m);
	a = mk_dev(m, PCI_RID(0, 3, 0), 20, true);
	b = mk_dev(m, PCI_RID(2, 4, 1), 0, false);
	c = mk_dev(m, PCI_RID(2, 31, 7), 5, false); /* devfn 0xff: upper context table */
	CHECK(a && b && c);

	CHECK_EQ(mmio_rd(m, VTD_REG_RTADDR, 8) & VTD_RTADDR_TTM_MASK,
		 VTD_SET(VTD_RTADDR_TTM, VTD_TTM_SCALABLE));
	CHECK_EQ(sm_ctx(m, a->rid, q), 0);
	CHECK(q[0] & VTD_SCE_Q0_P);
	CHECK(q[0] & VTD_SCE_Q0_DTE);
	CHECK(q[0] & VTD_SCE_Q0_PASIDE);
	CHECK(!(q[0] & (VTD_SCE_Q0_FPD | VTD_SCE_Q0_PRE | VTD_SCE_Q0_RSVD)));
	CHECK_EQ(VTD_GET(q[0], VTD_SCE_Q0_PDTS), 7); /* 2^14 entries: every 20-bit PASID */
	CHECK(q[0] & VTD_SCE_Q0_PASIDDIRPTR_MASK);
	CHECK_EQ(q[1], 0); /* RID_PASID 0, RID_PRIV 0 */
	CHECK_EQ(q[2] | q[3], 0);

	CHECK_EQ(sm_ctx(m, b->rid, q), 0);
	CHECK_EQ(q[0] & ~VTD_SCE_Q0_PASIDDIRPTR_MASK, VTD_SCE_Q0_P); /* no DTE/PASIDE, PDTS 0 */

	CHECK_EQ(sm_ctx(m, c->rid, q), 0);
	CHECK_EQ(rd64(m, root_table(m) + 2 * 16) & VTD_SRE_Q0_LP, VTD_SRE_Q0_LP);
	CHECK_EQ(rd64(m, root_table(m) + 2 * 16 + 8) & VTD_SRE_Q1_UP, VTD_SRE_Q1_UP);
	CHECK_EQ(VTD_GET(q[0], VTD_SCE_Q0_PDTS), 0); /* 32 PASIDs fit the smallest directory */
	CHECK(q[0] & VTD_SCE_Q0_PASIDE);
	CHECK_EQ(machine_destroy(m), 0);
}

/* 3.2: the RID's PASID-0 entry for each kind of default domain. */
static void check_pasid0(void (*tweak)(struct machine_config *), unsigned pgtt, unsigned flpm)
{
	struct machine *m = mk_machine(tweak);
	struct machine_dev *d;
	struct iommu_domain *dom;
	uint64_t q[8];

	CHECK(m);
	d = mk_dev(m, PCI_RID(0, 5, 0), 8, false);
	CHECK(d);
	dom = iommu_get_default_domain(d->dev);
	CHECK_EQ(pasid_entry(m, d->rid, 0, q), 0);
	CHECK(q[0] & VTD_PE_Q0_P);
	CHECK_EQ(VTD_GET(q[0], VTD_PE_Q0_PGTT), pgtt);
	CHECK(!(q[0] & (VTD_PE_Q0_FPD | VTD_PE_Q0_SLEE | VTD_PE_Q0_SLADE | VTD_PE_Q0_RSVD)));
	CHECK(!(q[1] & (VTD_PE_Q1_RSVD | VTD_PE_Q1_PGSNP | VTD_PE_Q1_CD | VTD_PE_Q1_EMTE)));
	CHECK(q[1] & VTD_PE_Q1_PWSNP); /* ECAP.SMPWCS: snooped walks */
	CHECK_EQ(q[3] | q[4] | q[5] | q[6] | q[7], 0);
	CHECK_EQ(VTD_GET(q[1], VTD_PE_Q1_DID), intel_iommu_domain_did(m->iommu, dom));
	switch (pgtt) {
	case VTD_PGTT_FS:
		CHECK(VTD_GET(q[1], VTD_PE_Q1_DID) >= 2);
		CHECK_EQ(VTD_GET(q[2], VTD_PE_Q2_FLPM), flpm);
		CHECK(q[2] & VTD_PE_Q2_FLPTPTR_MASK);
		CHECK(!(q[2] & (VTD_PE_Q2_SRE | VTD_PE_Q2_ERE | VTD_PE_Q2_RSVD)));
		CHECK_EQ(q[0] & VTD_PE_Q0_SLPTPTR_MASK, 0);
		break;
	case VTD_PGTT_SS:
		CHECK(VTD_GET(q[1], VTD_PE_Q1_DID) >= 2);
		CHECK_EQ(VTD_GET(q[0], VTD_PE_Q0_AW), VTD_AW_57BIT); /* covers MGAW 57 */
		CHECK(q[0] & VTD_PE_Q0_SLPTPTR_MASK);
		CHECK_EQ(q[2], 0);
		break;
	case VTD_PGTT_PT:
		CHECK_EQ(VTD_GET(q[1], VTD_PE_Q1_DID), 1);
		CHECK_EQ(VTD_GET(q[0], VTD_PE_Q0_AW), VTD_AW_57BIT);
		CHECK_EQ(q[0] & VTD_PE_Q0_SLPTPTR_MASK, 0);
		CHECK_EQ(q[2], 0);
		break;
	}
	CHECK_EQ(machine_destroy(m), 0);
}

static void test_pasid_entry_fs(void)
{
	check_pasid0(NULL, VTD_PGTT_FS, VTD_FLPM_4LEVEL);
}

static void test_pasid_entry_fs_5level(void)
{
	check_pasid0(tweak_fs5, VTD_PGTT_FS, VTD_FLPM_5LEVEL);
}

static void test_pasid_entry_ss(void)
{
	check_pasid0(tweak_ss, VTD_PGTT_SS, 0);
}

static void test_pasid_entry_pt(void)
{
	check_pasid0(tweak_pt, VTD_PGTT_PT, 0);
}

/* ---- the kernel PASID mirrors RID_PASID ------------------------------------------------- */

/* Addresses around the mappings the mirror test makes (and some that are not mapped). */
static const uint64_t probe_iovas[] = {
    0x100000, 0x100fff, 0x101000, 0x107ff8,	       /* read/write 4 KiB pages */
    0x400000, 0x4abcd0, 0x5ffff8,		       /* a read-only 2 MiB page */
    0x108000, 0x0fff00, 0x600000, 0x0,	    0x7fff000, /* not mapped */
};

/* Requests with `pasid` and without PASID get the same completion, reads and writes. */
static int same_everywhere(struct machine *m, uint16_t rid, uint32_t pasid, bool expect_ok)
{
	for (size_t i = 0; i < sizeof(probe_iovas) / sizeof(probe_iovas[0]); i++) {
		for (int w = 0; w < 2; w++) {
			struct pci_resp a = xlate(m, rid, NO_PASID, probe_iovas[i], w);
			struct pci_resp b = xlate(m, rid, pasid, probe_iovas[i], w);

			CHECK_RET(same_resp(&a, &b));
			/* The first four are read/write, the next three read-only. */
			if (expect_ok && i < (w ? 4u : 7u))
				CHECK_RET(a.status == PCI_SC);
		}
	}
	return 0;
}

/* DMA by the endpoint with the PASID lands where DMA without it does (and reads back). */
static int same_dma(struct machine_dev *d, uint32_t pasid, uint64_t iova)
{
	uint8_t out[64], in[64];

	for (unsigned i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + pasid);
	CHECK_RET(
	    pci_endpoint_dma_write(d->ep, PCI_DMA_PASID, pasid, iova, out, sizeof(out), NULL) == 0);
	memset(in, 0, sizeof(in));
	CHECK_RET(pci_endpoint_dma_read(d->ep, 0, 0, iova, in, sizeof(in), NULL) == 0);
	CHECK_RET(memcmp(in, out, sizeof(in)) == 0);
	return 0;
}

static void mirror(void (*tweak)(struct machine_config *), bool translated)
{
	struct machine *m = mk_machine(tweak);
	struct machine_dev *d;
	struct iommu_domain *dom;
	struct pci_resp a, b;
	uint64_t q0[8], qp[8];
	int pasid;

	CHECK(m);
	d = mk_dev(m, PCI_RID(0, 6, 0), 20, false);
	CHECK(d);
	dom = iommu_get_default_domain(d->dev);
	CHECK_EQ(dom->type, translated ? IOMMU_DOMAIN_DMA : IOMMU_DOMAIN_IDENTITY);
	if (translated) {
		CHECK_EQ(iommu_map(dom, 0x100000, DATA_BASE, 0x8000, IOMMU_READ | IOMMU_WRITE), 0);
		CHECK_EQ(iommu_map(dom, 0x400000, DATA_BASE + SZ_2M, SZ_2M, IOMMU_READ), 0);
	}
	pasid = iommu_alloc_global_pasid(d->dev);
	CHECK(pasid > 0);
	CHECK_EQ(iommu_attach_device_pasid(dom, d->dev, (uint32_t)pasid), 0);
	CHECK(iommu_get_domain_for_dev_pasid(d->dev, (uint32_t)pasid) == dom);

	/* The entries are the same but for nothing: same table, same DID, same type. */
	CHECK_EQ(pasid_entry(m, d->rid, 0, q0), 0);
	CHECK_EQ(pasid_entry(m, d->rid, (uint32_t)pasid, qp), 0);
	CHECK(memcmp(q0, qp, sizeof(q0)) == 0);

	CHECK_EQ(same_everywhere(m, d->rid, (uint32_t)pasid, true), 0);
	a = xlate(m, d->rid, (uint32_t)pasid, 0x400123, false);
	if (translated) {
		CHECK_EQ(a.addr, DATA_BASE + SZ_2M + 0x123);
		/* Read-only: a write faults, with and without the PASID. */
		b = xlate(m, d->rid, (uint32_t)pasid, 0x400123, true);
		CHECK_EQ(b.status, PCI_UR);
		CHECK_EQ(same_dma(d, (uint32_t)pasid, 0x100ff0), 0);
	} else {
		CHECK_EQ(a.addr, 0x400123);
		CHECK_EQ(same_dma(d, (uint32_t)pasid, DATA_BASE + 0x3ff0), 0);
	}

	if (translated) {
		/* Both fault after unmap, with the same reason. */
		CHECK_EQ(iommu_unmap(dom, 0x100000, 0x8000), 0x8000);
		CHECK_EQ(iommu_unmap(dom, 0x400000, SZ_2M), (ssize_t)SZ_2M);
		for (size_t i = 0; i < 7; i++) {
			a = xlate(m, d->rid, NO_PASID, probe_iovas[i], false);
			b = xlate(m, d->rid, (uint32_t)pasid, probe_iovas[i], false);
			CHECK_EQ(a.status, PCI_UR);
			CHECK(same_resp(&a, &b));
		}
	}
	CHECK_EQ(iommu_detach_device_pasid(dom, d->dev, (uint32_t)pasid), 0);
	CHECK_EQ(iommu_free_global_pasid(d->dev, (uint32_t)pasid), 0);
	CHECK_EQ(machine_destroy(m), 0);
}

static void test_mirror_first_stage(void)
{
	mirror(NULL, true);
}

static void test_mirror_first_stage_5level(void)
{
	mirror(tweak_fs5, true);
}

static void test_mirror_second_stage(void)
{
	mirror(tweak_ss, true);
}

static void test_mirror_pass_through(void)
{
	mirror(tweak_pt, false);
}

/* The reasons the unit gives after unmap are the architected ones for each stage. */
static void test_unmapped_fault_reasons(void)
{
	struct machine *m = mk_machine(NULL), *s = mk_machine(tweak_ss);
	struct machine_dev *d, *e;
	struct pci_resp r;

	CHECK(m && s);
	d = mk_dev(m, PCI_RID(0, 1, 0), 8, false);
	e = mk_dev(s, PCI_RID(0, 1, 0), 8, false);
	CHECK(d && e);
	CHECK_EQ(iommu_map(iommu_get_default_domain(d->dev), 0x1000, DATA_BASE, SZ_4K, IOMMU_READ),
		 0);
	CHECK_EQ(iommu_map(iommu_get_default_domain(e->dev), 0x1000, DATA_BASE, SZ_4K, IOMMU_READ),
		 0);
	r = xlate(m, d->rid, NO_PASID, 0x2000, false);
	CHECK_EQ(r.fault, VTD_FR_SFL_2); /* first-stage leaf not present */
	r = xlate(s, e->rid, NO_PASID, 0x2000, false);
	CHECK_EQ(r.fault, VTD_FR_SGN_7); /* second stage: R = W = 0 is no read permission */
	r = xlate(s, e->rid, NO_PASID, 0x1000, true);
	CHECK_EQ(r.fault, VTD_FR_SGN_6);
	CHECK_EQ(machine_destroy(m), 0);
	CHECK_EQ(machine_destroy(s), 0);
}

/* ---- detach and replace ---------------------------------------------------------------- */

/* Detach: the PASID faults with SPT.2, its entry is zero, the RID is unaffected. */
static void test_detach(void)
{
	struct machine *m = mk_machine(NULL);
	struct machine_dev *d;
	struct iommu_domain *dom;
	struct pci_resp r;
	uint64_t q[8];

	CHECK(m);
	d = mk_dev(m, PCI_RID(0, 7, 0), 20, true);
	CHECK(d);
	dom = iommu_get_default_domain(d->dev);
	CHECK_EQ(iommu_map(dom, 0x10000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(iommu_attach_device_pasid(dom, d->dev, 77), 0);
	CHECK_EQ(xlate(m, d->rid, 77, 0x10000, false).status, PCI_SC);
	CHECK_EQ(iommu_detach_device_pasid(dom, d->dev, 77), 0);
	r = xlate(m, d->rid, 77, 0x10000, false);
	CHECK_EQ(r.status, PCI_UR);
	CHECK_EQ(r.fault, VTD_FR_SPT_2);
	CHECK_EQ(pasid_entry(m, d->rid, 77, q), 0);
	for (unsigned i = 0; i < 8; i++)
		CHECK_EQ(q[i], 0);
	CHECK_EQ(xlate(m, d->rid, NO_PASID, 0x10000, false).addr, DATA_BASE);
	/* A PASID whose 64-entry table was never allocated faults at the directory. */
	CHECK_EQ(xlate(m, d->rid, 70000, 0x10000, false).fault, VTD_FR_SPD_2);
	CHECK_EQ(machine_destroy(m), 0);
}

/* PASID replace: first stage -> second stage -> identity -> first stage. */
static void test_replace_pasid(void)
{
	struct machine *m = mk_machine(NULL);
	struct iommu_domain *fs, *ss;
	struct machine_dev *d;
	uint64_t q[8];
	int did_fs, did_ss;

	CHECK(m);
	d = mk_dev(m, PCI_RID(0, 8, 0), 20, false);
	CHECK(d);
	CHECK_EQ(iommu_paging_domain_alloc(d->dev, IOMMU_DOMAIN_ALLOC_FIRST_STAGE, &fs), 0);
	CHECK_EQ(iommu_paging_domain_alloc(d->dev, IOMMU_DOMAIN_ALLOC_SECOND_STAGE, &ss), 0);
	CHECK_EQ(iommu_map(fs, 0x20000, DATA_BASE, SZ_4K, IOMMU_READ | IOMMU_WRITE), 0);
	CHECK_EQ(iommu_map(ss, 0x20000, DATA_BASE + 0x5000, SZ_4K, IOMMU_READ | IOMMU_WRITE), 0);

	CHECK_EQ(iommu_attach_device_pasid(fs, d->dev, 5), 0);
	did_fs = intel_iommu_domain_did(m->iommu, fs);
	CHECK(did_fs >= 2);
	CHECK_EQ(xlate(m, d->rid, 5, 0x20010, true).addr, DATA_BASE + 0x10);

	CHECK_EQ(iommu_replace_device_pasid(ss, d->dev, 5), 0);
	did_ss = intel_iommu_domain_did(m->iommu, ss);
	CHECK(did_ss >= 2);
	CHECK_EQ(intel_iommu_domain_did(m->iommu, fs), -ENOENT); /* its last use went */
	CHECK_EQ(pasid_entry(m, d->rid, 5, q), 0);
	CHECK_EQ(VTD_GET(q[0], VTD_PE_Q0_PGTT), VTD_PGTT_SS);
	CHECK_EQ(VTD_GET(q[1], VTD_PE_Q1_DID), did_ss);
	CHECK_EQ(xlate(m, d->rid, 5, 0x20010, true).addr, DATA_BASE + 0x5010);

	/* To identity: a pass-through entry with the shared DID; ss loses its DID. */
	CHECK_EQ(iommu_replace_device_pasid(d->dev->iommu->ops->identity_domain, d->dev, 5), 0);
	CHECK_EQ(pasid_entry(m, d->rid, 5, q), 0);
	CHECK_EQ(VTD_GET(q[0], VTD_PE_Q0_PGTT), VTD_PGTT_PT);
	CHECK_EQ(VTD_GET(q[1], VTD_PE_Q1_DID), 1);
	CHECK_EQ(intel_iommu_domain_did(m->iommu, ss), -ENOENT);
	CHECK_EQ(xlate(m, d->rid, 5, DATA_BASE + 0x20010, true).addr, DATA_BASE + 0x20010);

	/* And back to the first stage, which gets a domain ID again. */
	CHECK_EQ(iommu_replace_device_pasid(fs, d->dev, 5), 0);
	CHECK_EQ(pasid_entry(m, d->rid, 5, q), 0);
	CHECK_EQ(VTD_GET(q[0], VTD_PE_Q0_PGTT), VTD_PGTT_FS);
	CHECK(intel_iommu_domain_did(m->iommu, fs) >= 2);
	CHECK_EQ(xlate(m, d->rid, 5, 0x20010, true).addr, DATA_BASE + 0x10);
	/* The RID never moved. */
	CHECK_EQ(pasid_entry(m, d->rid, 0, q), 0);
	CHECK_EQ(VTD_GET(q[1], VTD_PE_Q1_DID),
		 intel_iommu_domain_did(m->iommu, iommu_get_default_domain(d->dev)));

	CHECK_EQ(iommu_detach_device_pasid(fs, d->dev, 5), 0);
	CHECK_EQ(iommu_domain_free(fs), 0);
	CHECK_EQ(iommu_domain_free(ss), 0);
	CHECK_EQ(machine_destroy(m), 0);
}

/* RID replace: attach a second-stage domain to the RID, then give the default back. */
static void test_replace_rid(void)
{
	struct machine *m = mk_machine(NULL);
	struct iommu_domain *def, *ss;
	struct machine_dev *d;
	uint64_t q[8];

	CHECK(m);
	d = mk_dev(m, PCI_RID(0, 9, 0), 20, true);
	CHECK(d);
	def = iommu_get_default_domain(d->dev);
	CHECK_EQ(iommu_paging_domain_alloc(d->dev, IOMMU_DOMAIN_ALLOC_SECOND_STAGE, &ss), 0);
	CHECK_EQ(iommu_map(ss, 0x3000, DATA_BASE + 0x9000, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(iommu_map(def, 0x3000, DATA_BASE + 0x1000, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(iommu_attach_device_pasid(def, d->dev, 9), 0);

	CHECK_EQ(iommu_attach_device(ss, d->dev), 0);
	CHECK_EQ(pasid_entry(m, d->rid, 0, q), 0);
	CHECK_EQ(VTD_GET(q[0], VTD_PE_Q0_PGTT), VTD_PGTT_SS);
	CHECK_EQ(xlate(m, d->rid, NO_PASID, 0x3000, false).addr, DATA_BASE + 0x9000);
	/* RID and PASIDs are independent: the kernel PASID stays on the default domain. */
	CHECK_EQ(xlate(m, d->rid, 9, 0x3000, false).addr, DATA_BASE + 0x1000);

	CHECK_EQ(iommu_detach_device(ss, d->dev), 0);
	CHECK_EQ(intel_iommu_domain_did(m->iommu, ss), -ENOENT);
	CHECK_EQ(xlate(m, d->rid, NO_PASID, 0x3000, false).addr, DATA_BASE + 0x1000);
	CHECK_EQ(iommu_detach_device_pasid(def, d->dev, 9), 0);
	CHECK_EQ(iommu_domain_free(ss), 0);
	CHECK_EQ(machine_destroy(m), 0);
}

/* ---- legacy mode ------------------------------------------------------------------------- */

/* 2.3: TT 01 with ATS, TT 00 without, AW/DID/SLPTPTR; no PASIDs anywhere. */
static void test_legacy_context(void)
{
	struct machine *m = mk_machine(tweak_legacy);
	struct machine_dev *a, *b;
	struct iommu_domain *dom, *fs;
	uint64_t q[2];
	struct pci_resp r;

	CHECK(m);
	CHECK(!intel_iommu_is_scalable(m->iommu));
	CHECK_EQ(mmio_rd(m, VTD_REG_RTADDR, 8) & VTD_RTADDR_TTM_MASK, 0);
	CHECK_EQ(mmio_rd(m, VTD_REG_IQA, 8) & VTD_IQA_DW, 0); /* 128-bit descriptors */
	CHECK_EQ(intel_iommu_device(m->iommu)->max_pasids, 0);
	a = mk_dev(m, PCI_RID(1, 0, 0), 20, true);
	b = mk_dev(m, PCI_RID(1, 0, 1), 0, false);
	CHECK(a && b);
	dom = iommu_get_default_domain(a->dev);
	CHECK_EQ(legacy_ctx(m, a->rid, q), 0);
	CHECK(q[0] & VTD_CE_Q0_P);
	CHECK_EQ(VTD_GET(q[0], VTD_CE_Q0_TT), VTD_TT_ALL);
	CHECK(q[0] & VTD_CE_Q0_SLPTPTR_MASK);
	CHECK_EQ(VTD_GET(q[1], VTD_CE_Q1_AW), VTD_AW_57BIT);
	CHECK_EQ(VTD_GET(q[1], VTD_CE_Q1_DID), intel_iommu_domain_did(m->iommu, dom));
	CHECK(!(q[0] & (VTD_CE_Q0_FPD | VTD_CE_Q0_RSVD)) && !(q[1] & VTD_CE_Q1_RSVD));
	CHECK_EQ(legacy_ctx(m, b->rid, q), 0);
	CHECK_EQ(VTD_GET(q[0], VTD_CE_Q0_TT), VTD_TT_UNTRANSLATED);

	CHECK_EQ(iommu_map(dom, 0x7000, DATA_BASE, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(xlate(m, a->rid, NO_PASID, 0x7008, false).addr, DATA_BASE + 8);
	r = xlate(m, a->rid, 1, 0x7008, false);
	CHECK_EQ(r.fault, VTD_FR_RTA_2); /* a PASID in legacy mode */

	/* Legacy mode refuses PASIDs: through the core and the op itself. */
	CHECK_EQ(iommu_attach_device_pasid(dom, a->dev, 1), -EOPNOTSUPP);
	CHECK_EQ(dom->ops->set_dev_pasid(dom, a->dev, 1, NULL), -EOPNOTSUPP);
	CHECK_EQ(d_identity_set_dev_pasid(a), -EOPNOTSUPP);
	CHECK_EQ(iommu_alloc_global_pasid(a->dev), -EOPNOTSUPP);
	CHECK_EQ(iommu_paging_domain_alloc(a->dev, IOMMU_DOMAIN_ALLOC_FIRST_STAGE, &fs),
		 -EOPNOTSUPP);
	CHECK_EQ(machine_destroy(m), 0);
}

/* Pass-through in legacy mode: TT 10 with the shared DID, identity translation. */
static void test_legacy_pass_through(void)
{
	struct machine *m = mk_machine(tweak_legacy_pt);
	struct machine_dev *a;
	uint64_t q[2];

	CHECK(m);
	a = mk_dev(m, PCI_RID(1, 2, 0), 0, false);
	CHECK(a);
	CHECK_EQ(legacy_ctx(m, a->rid, q), 0);
	CHECK_EQ(VTD_GET(q[0], VTD_CE_Q0_TT), VTD_TT_PASS_THROUGH);
	CHECK_EQ(q[0] & VTD_CE_Q0_SLPTPTR_MASK, 0);
	CHECK_EQ(VTD_GET(q[1], VTD_CE_Q1_DID), 1);
	CHECK_EQ(VTD_GET(q[1], VTD_CE_Q1_AW), VTD_AW_57BIT);
	CHECK_EQ(xlate(m, a->rid, NO_PASID, DATA_BASE + 0x1234, true).addr, DATA_BASE + 0x1234);
	CHECK_EQ(machine_destroy(m), 0);
}

int main(void)
{
	RUN(test_sm_context_entries);
	RUN(test_pasid_entry_fs);
	RUN(test_pasid_entry_fs_5level);
	RUN(test_pasid_entry_ss);
	RUN(test_pasid_entry_pt);
	RUN(test_mirror_first_stage);
	RUN(test_mirror_first_stage_5level);
	RUN(test_mirror_second_stage);
	RUN(test_mirror_pass_through);
	RUN(test_unmapped_fault_reasons);
	RUN(test_detach);
	RUN(test_replace_pasid);
	RUN(test_replace_rid);
	RUN(test_legacy_context);
	RUN(test_legacy_pass_through);
	return CHECK_DONE();
}
