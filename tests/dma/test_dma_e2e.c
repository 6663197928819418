// SPDX-License-Identifier: MIT
/*
 * The DMA API end to end on a whole machine (VT-d model + VT-d driver + core + PCI
 * endpoint with PASID and ATS): a mapping translates to the same physical address through
 * the requester ID and through the kernel PASID, in strict, lazy and pass-through mode and
 * on both page-table stages; a strict unmap makes both fault at once - in the unit and in
 * the endpoint's device TLB, because the driver's domain flush covers every place the
 * default domain is attached (design.md rules 3 and 4); a lazy unmap leaves the unit's
 * IOTLB and the device TLB entries until the flush queue flushes, and then both fault.
 * Check mode sees lazy mode's window: the unit serving translations memory no longer has.
 */
#include <string.h>

#include <softiommu/dma.h>
#include <softiommu/machine.h>

#include "check.h"

#define DATA 0x40000000ull /* plain memory below the machine's page allocator */
#define RID  0x0310

struct sys {
	struct machine *m;
	struct machine_dev *d;
	struct dma_dev *dma;
	uint32_t pasid;
	unsigned stale_granted; /* check-mode reports of a stale translation used */
};

static void stage_first(struct machine_config *c)
{
	c->driver.default_stage = INTEL_IOMMU_STAGE_FIRST;
}

static void stage_second(struct machine_config *c)
{
	c->driver.default_stage = INTEL_IOMMU_STAGE_SECOND;
}

/* A unit without scalable mode: no first stage, no PASIDs. */
static void legacy(struct machine_config *c)
{
	c->vtd.scalable = false;
	c->vtd.first_stage = false;
	c->vtd.second_stage = false; /* (legacy mode's tables are second-stage anyway) */
	c->vtd.nested = false;
	c->vtd.fs_ea = false;
	c->vtd.rid_priv = false;
	c->vtd.fs_5level = false;
	c->vtd.fs_1g = false;
	c->vtd.pasid_bits = 0;
	c->vtd.supervisor_requests = false;
	c->vtd.execute_requests = false;
	c->vtd.sm_pwc = false;
	c->vtd.rid_pasid = false;
	c->vtd.ss_ad = false;
}

/*
 * Check mode: count (and print) every report of a cached translation that let a request
 * through where memory says otherwise - the stale translations a missing flush leaves.
 * It is turned on only while every request succeeds: the model's check mode cannot yet
 * diagnose a refused request served through its context/PASID caches (its reference walk
 * fills in a page size the faulting completion leaves 0, and the diagnosis then reads an
 * IOTLB entry that was never looked up).
 */
static void count_stale(void *ctx, const struct vtd_stale *r)
{
	struct sys *s = ctx;

	s->stale_granted++;
	fprintf(stderr, "(expected) stale: sid %#x pasid %u addr %#llx missing %s: %s\n", r->sid,
		r->has_pasid ? r->pasid : 0, (unsigned long long)r->addr, r->missing, r->detail);
}

static int sys_init(struct sys *s, int type, uint8_t pasid_width,
		    void (*tweak)(struct machine_config *))
{
	struct machine_config cfg;
	struct machine_dev_config dc = {
	    .rid = RID, .pasid_width = pasid_width, .ats = true, .def_domain_type = type};
	struct dma_dev_config dcfg = {.fq_timeout_ms = DMA_FQ_TIMEOUT_NONE};
	int ret;

	memset(s, 0, sizeof(*s));
	s->pasid = IOMMU_PASID_INVALID;
	machine_config_default(&cfg);
	cfg.driver.quiet = true;
	cfg.vtd_cb.stale = count_stale;
	cfg.vtd_cb_ctx = s;
	if (tweak)
		tweak(&cfg);
	ret = machine_create(&cfg, &s->m);
	if (!ret)
		ret = machine_add_device(s->m, &dc, &s->d);
	if (ret)
		return ret;
	dcfg.dev = s->d->dev;
	dcfg.mem = s->m->mem;
	dcfg.alloc = s->m->alloc;
	return dma_dev_create(&dcfg, &s->dma);
}

static int sys_fini(struct sys *s)
{
	int ret = dma_dev_destroy(s->dma);
	int ret2 = machine_destroy(s->m);

	return ret ? ret : ret2;
}

/* What the unit answers for an untranslated read (with the PASID unless it is NO_PASID). */
static int unit_translate(struct sys *s, uint32_t pasid, uint64_t addr, bool write, uint64_t *pa)
{
	struct pci_req req = {.addr = addr,
			      .rid = RID,
			      .at = PCI_AT_UNTRANSLATED,
			      .flags = write ? PCI_REQ_WRITE : PCI_REQ_READ};
	struct pci_resp resp = {0};

	if (pasid != IOMMU_NO_PASID) {
		req.flags |= PCI_REQ_PASID;
		req.pasid = pasid;
	}
	if (vtd_translate(s->m->vtd, &req, &resp))
		return -EINVAL;
	if (resp.status != PCI_SC)
		return -EFAULT;
	*pa = resp.addr;
	return 0;
}

/* A DMA read by the endpoint (through its device TLB) with or without the PASID. */
static int dev_read(struct sys *s, uint32_t pasid, uint64_t addr, void *buf, size_t len)
{
	unsigned flags = pasid == IOMMU_NO_PASID ? 0 : PCI_DMA_PASID;

	return pci_endpoint_dma_read(s->d->ep, flags, pasid == IOMMU_NO_PASID ? 0 : pasid, addr,
				     buf, len, NULL);
}

/* Both requesters reach `pa` at `a`, in the unit and by DMA (which fills the ATC). */
static int both_reach(struct sys *s, dma_addr_t a, uint64_t pa, size_t len)
{
	uint32_t who[2] = {IOMMU_NO_PASID, s->pasid};
	uint8_t want[64], got[64];

	CHECK_RET(len <= sizeof(want));
	CHECK_RET(mem_read(s->m->mem, pa, want, len) == 0);
	for (unsigned i = 0; i < 2; i++) {
		uint64_t out = 0;

		CHECK_RET(unit_translate(s, who[i], a, false, &out) == 0);
		CHECK_RET(out == pa);
		memset(got, 0, sizeof(got));
		CHECK_RET(dev_read(s, who[i], a, got, len) == 0);
		CHECK_RET(memcmp(got, want, len) == 0);
	}
	return 0;
}

static void fill(struct sys *s, uint64_t pa, uint8_t seed)
{
	uint8_t b[64];

	for (unsigned i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(seed + i);
	mem_write(s->m->mem, pa, b, sizeof(b));
}

static void strict_case(void (*stage)(struct machine_config *))
{
	struct sys s;
	struct vtd_stats before, after;
	uint64_t pa = DATA + 0x5000 + 0x40, out;
	uint8_t buf[16];
	dma_addr_t a;

	CHECK_EQ(sys_init(&s, IOMMU_DOMAIN_DMA, 20, stage), 0);
	CHECK_EQ(dma_dev_mode(s.dma), DMA_MODE_STRICT);
	CHECK_EQ(dma_enable_pasid(s.dma, &s.pasid), 0);
	fill(&s, pa, 7);
	a = dma_map_single(s.dma, pa, 64, DMA_TO_DEVICE);
	CHECK(a != DMA_MAPPING_ERROR);
	CHECK_EQ(a & 0xfff, 0x40);
	CHECK_EQ(both_reach(&s, a, pa, 64), 0);
	CHECK_EQ(vtd_get_stats(s.m->vtd, &before), 0);
	CHECK_EQ(dma_unmap_single(s.dma, a, 64, DMA_TO_DEVICE), 0);
	CHECK_EQ(vtd_get_stats(s.m->vtd, &after), 0);
	/* The flush reached the device TLB for the RID and for the kernel PASID. */
	CHECK(after.inv.devtlb > before.inv.devtlb);
	CHECK(after.inv.pdevtlb > before.inv.pdevtlb);
	CHECK(unit_translate(&s, IOMMU_NO_PASID, a, false, &out) == -EFAULT);
	CHECK(unit_translate(&s, s.pasid, a, false, &out) == -EFAULT);
	CHECK_EQ(dev_read(&s, IOMMU_NO_PASID, a, buf, 16), -EFAULT);
	CHECK_EQ(dev_read(&s, s.pasid, a, buf, 16), -EFAULT);
	/* To-device: the device may not write it, with or without the PASID. */
	a = dma_map_single(s.dma, pa, 64, DMA_TO_DEVICE);
	CHECK_EQ(both_reach(&s, a, pa, 64), 0);
	CHECK(unit_translate(&s, IOMMU_NO_PASID, a, true, &out) == -EFAULT);
	CHECK(unit_translate(&s, s.pasid, a, true, &out) == -EFAULT);
	CHECK_EQ(dma_unmap_single(s.dma, a, 64, DMA_TO_DEVICE), 0);
	CHECK_EQ(sys_fini(&s), 0);
}

static void t_strict_first_stage(void)
{
	strict_case(stage_first);
}

static void t_strict_second_stage(void)
{
	strict_case(stage_second);
}

/* Lazy: the unit's IOTLB and the device TLB keep the old translation until the flush. */
static void t_lazy(void)
{
	struct sys s;
	uint64_t pa = DATA + 0x9000, out = 0;
	uint8_t buf[16];
	bool checking;
	dma_addr_t a;

	CHECK_EQ(sys_init(&s, IOMMU_DOMAIN_DMA_FQ, 20, NULL), 0);
	CHECK_EQ(dma_dev_mode(s.dma), DMA_MODE_LAZY);
	CHECK_EQ(dma_enable_pasid(s.dma, &s.pasid), 0);
	fill(&s, pa, 3);
	a = dma_map_single(s.dma, pa, 0x1000, DMA_BIDIRECTIONAL);
	CHECK_EQ(both_reach(&s, a, pa, 64), 0);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_BIDIRECTIONAL), 0);
	/* Check mode (absent in SOFTIOMMU_NO_CHECKER builds) while only successes happen. */
	checking = vtd_set_check(s.m->vtd, true) == 0;
	/* The table is cleared but nothing was invalidated: the cached translations still
	 * work, for both requesters - the window lazy mode accepts. */
	CHECK_EQ(unit_translate(&s, IOMMU_NO_PASID, a, false, &out), 0);
	CHECK_EQ(out, pa);
	CHECK_EQ(unit_translate(&s, s.pasid, a, false, &out), 0);
	CHECK_EQ(dev_read(&s, IOMMU_NO_PASID, a, buf, 16), 0);
	CHECK_EQ(dev_read(&s, s.pasid, a, buf, 16), 0);
	/* Check mode sees the unit use them (the device's own TLB is the endpoint's). */
	vtd_set_check(s.m->vtd, false);
	if (checking)
		CHECK(s.stale_granted >= 2);
	CHECK_EQ(dma_flush_queues(s.dma), 1);
	CHECK(unit_translate(&s, IOMMU_NO_PASID, a, false, &out) == -EFAULT);
	CHECK(unit_translate(&s, s.pasid, a, false, &out) == -EFAULT);
	CHECK_EQ(dev_read(&s, IOMMU_NO_PASID, a, buf, 16), -EFAULT);
	CHECK_EQ(dev_read(&s, s.pasid, a, buf, 16), -EFAULT);
	CHECK_EQ(sys_fini(&s), 0);
}

/* Pass-through: DMA address = physical address, for the RID and the kernel PASID. */
static void t_passthrough(void)
{
	struct sys s;
	uint64_t pa = DATA + 0x7000, out;
	dma_addr_t a;

	CHECK_EQ(sys_init(&s, IOMMU_DOMAIN_IDENTITY, 20, NULL), 0);
	CHECK_EQ(dma_dev_mode(s.dma), DMA_MODE_DIRECT);
	CHECK_EQ(dma_enable_pasid(s.dma, &s.pasid), 0);
	fill(&s, pa, 9);
	a = dma_map_single(s.dma, pa, 64, DMA_TO_DEVICE);
	CHECK_EQ(a, pa);
	CHECK_EQ(both_reach(&s, a, pa, 64), 0);
	CHECK_EQ(dma_unmap_single(s.dma, a, 64, DMA_TO_DEVICE), 0);
	/* After disable, the PASID is blocked and the RID still passes through. */
	CHECK_EQ(dma_disable_pasid(s.dma, s.pasid), 0);
	CHECK(unit_translate(&s, s.pasid, a, false, &out) == -EFAULT);
	CHECK_EQ(unit_translate(&s, IOMMU_NO_PASID, a, false, &out), 0);
	CHECK_EQ(out, pa);
	CHECK_EQ(sys_fini(&s), 0);
}

/* After dma_disable_pasid the PASID faults (unit and device TLB); the RID keeps working. */
static void t_disable_pasid(void)
{
	struct sys s;
	uint64_t pa = DATA + 0x3000, out;
	uint8_t buf[16];
	uint32_t pasid;
	dma_addr_t a;

	CHECK_EQ(sys_init(&s, IOMMU_DOMAIN_DMA, 20, NULL), 0);
	CHECK_EQ(dma_enable_pasid(s.dma, &s.pasid), 0);
	a = dma_map_single(s.dma, pa, 0x1000, DMA_TO_DEVICE);
	CHECK_EQ(both_reach(&s, a, pa, 16), 0);
	pasid = s.pasid;
	CHECK_EQ(dma_disable_pasid(s.dma, pasid), 0);
	CHECK(unit_translate(&s, pasid, a, false, &out) == -EFAULT);
	CHECK_EQ(dev_read(&s, pasid, a, buf, 16), -EFAULT);
	CHECK_EQ(dev_read(&s, IOMMU_NO_PASID, a, buf, 16), 0);
	CHECK_EQ(dma_unmap_single(s.dma, a, 0x1000, DMA_TO_DEVICE), 0);
	CHECK_EQ(sys_fini(&s), 0);
}

/* sg and coherent buffers through the real driver, with the kernel PASID. */
static void t_sg_and_coherent(void)
{
	struct sys s;
	struct dma_sg sg[3] = {{.phys = DATA + 0x10000, .length = 0x1000},
			       {.phys = DATA + 0x30000, .length = 0x1000},
			       {.phys = DATA + 0x20000, .length = 0x800}};
	uint64_t phys;
	dma_addr_t h;

	CHECK_EQ(sys_init(&s, IOMMU_DOMAIN_DMA, 20, NULL), 0);
	CHECK_EQ(dma_enable_pasid(s.dma, &s.pasid), 0);
	for (unsigned i = 0; i < 3; i++)
		fill(&s, sg[i].phys, (uint8_t)(0x10 * i));
	CHECK_EQ(dma_map_sg(s.dma, sg, 3, DMA_TO_DEVICE), 1);
	CHECK_EQ(sg[0].dma_length, 0x2800);
	CHECK_EQ(both_reach(&s, sg[0].dma_address, DATA + 0x10000, 64), 0);
	CHECK_EQ(both_reach(&s, sg[0].dma_address + 0x1000, DATA + 0x30000, 64), 0);
	CHECK_EQ(both_reach(&s, sg[0].dma_address + 0x2000, DATA + 0x20000, 64), 0);
	CHECK_EQ(dma_unmap_sg(s.dma, sg, 3, DMA_TO_DEVICE), 0);
	CHECK_EQ(dma_alloc_coherent(s.dma, 0x2000, &phys, &h), 0);
	fill(&s, phys + 0x1000, 0x55);
	CHECK_EQ(both_reach(&s, h + 0x1000, phys + 0x1000, 64), 0);
	CHECK_EQ(dma_free_coherent(s.dma, 0x2000, phys, h), 0);
	CHECK_EQ(sys_fini(&s), 0);
}

/* No PASID capability, and a legacy-mode unit: a clear error, DMA without PASID works. */
static void t_no_pasid(void)
{
	struct sys s;
	uint32_t pasid = 0;
	uint64_t out;
	dma_addr_t a;

	CHECK_EQ(sys_init(&s, IOMMU_DOMAIN_DMA, 0, NULL), 0);
	CHECK_EQ(dma_enable_pasid(s.dma, &pasid), -EOPNOTSUPP);
	CHECK(strcmp(dma_pasid_status(s.dma), "device has no PASID capability") == 0);
	CHECK_EQ(sys_fini(&s), 0);

	CHECK_EQ(sys_init(&s, IOMMU_DOMAIN_DMA, 20, legacy), 0);
	CHECK_EQ(dma_enable_pasid(s.dma, &pasid), -EOPNOTSUPP);
	CHECK(strcmp(dma_pasid_status(s.dma),
		     "IOMMU unit does not translate PASIDs (legacy mode)") == 0);
	fill(&s, DATA, 1);
	a = dma_map_single(s.dma, DATA, 64, DMA_TO_DEVICE);
	CHECK(a != DMA_MAPPING_ERROR);
	CHECK_EQ(unit_translate(&s, IOMMU_NO_PASID, a, false, &out), 0);
	CHECK_EQ(out, DATA);
	CHECK_EQ(dma_unmap_single(s.dma, a, 64, DMA_TO_DEVICE), 0);
	CHECK(unit_translate(&s, IOMMU_NO_PASID, a, false, &out) == -EFAULT);
	CHECK_EQ(sys_fini(&s), 0);
}

int main(void)
{
	RUN(t_strict_first_stage);
	RUN(t_strict_second_stage);
	RUN(t_lazy);
	RUN(t_passthrough);
	RUN(t_disable_pasid);
	RUN(t_sg_and_coherent);
	RUN(t_no_pasid);
	return CHECK_DONE();
}
