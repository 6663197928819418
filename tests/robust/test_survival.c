// SPDX-License-Identifier: MIT
/*
 * Fault survival: each failure ends in its documented error, and the stack keeps working
 * for everyone else.
 *
 *  - Endpoints that vanish while ATS translations are cached: removed or hung, between two
 *    device-TLB invalidations of one batch; and an endpoint answering invalidations with
 *    an error. The unit reports ITE (ICE), the driver marks the device gone and reports
 *    it, finishes the flush for the others, never waits on that device again; the other
 *    devices' DMA and invalidations stay correct (checkers on); a removed device can be
 *    released and a new one plugged in at its requester ID.
 *  - Memory reads that fail: a `struct mem_ops` backend under the unit and the endpoints
 *    that answers -EIO for chosen ranges. Root, context, PASID-directory, PASID-table and
 *    first- and second-stage page-table pages there give the architected fetch faults
 *    (SRT.1, SCT.1, SPD.1, SPT.1, SFL.4/SFL.1, SSL.4/SSL.1), recorded; a data page gives
 *    -EIO to the DMA; invalidation descriptors there give IQE with IQEI 2 (descriptor fetch
 *    error) mid-stream, which the driver survives by flushing globally; a wait status that
 *    cannot be written times the wait out. Devices whose structures are elsewhere never
 *    notice, and everything works again once the memory does.
 *  - Fault-record overflow: more faults than fault-recording registers set PFO and are
 *    dropped (counted here from the unit's trace events); once software clears the
 *    records and PFO, recording resumes; DMA and invalidations carry on throughout.
 */
#include "robust.h"

#include <softiommu/dma.h>

#define DATA  0x40000000ull
#define IOVA  0x10000ull
#define TAG_X 0x5858585858585858ull
#define TAG_Y 0x5959595959595959ull

static uint64_t mmio64(struct vtd *vtd, uint64_t off)
{
	uint64_t v = 0;

	vtd_mmio_read(vtd, off, 8, &v);
	return v;
}

static uint32_t mmio32(struct vtd *vtd, uint64_t off)
{
	uint64_t v = 0;

	vtd_mmio_read(vtd, off, 4, &v);
	return (uint32_t)v;
}

static uint64_t rd64(struct mem *mem, uint64_t pa)
{
	uint64_t v = 0;

	mem_read64(mem, pa, &v);
	return v;
}

/* ---- what the unit tells: faults by fate, stale reports, interrupts -------------------------- */

struct events {
	unsigned fate[VTD_FAULT_NOT_REPORTABLE + 1];
	unsigned reports;
	unsigned fault_irqs;
	uint8_t last_reason;
};

static void ev_trace(void *ctx, const struct vtd_trace_event *ev)
{
	struct events *e = ctx;

	if (ev->kind == VTD_TRACE_FAULT) {
		e->fate[ev->fault.fate]++;
		e->last_reason = ev->fault.reason;
	}
}

static void ev_stale(void *ctx, const struct vtd_stale *s)
{
	struct events *e = ctx;

	e->reports++;
	fprintf(stderr, "  unexpected stale translation: sid %#x addr %#llx: %s; %s\n", s->sid,
		(unsigned long long)s->addr, s->missing, s->detail);
}

static void ev_fault_irq(void *ctx, uint32_t data, uint64_t addr)
{
	(void)data;
	(void)addr;
	((struct events *)ctx)->fault_irqs++;
}

static unsigned atc_reports;

static void on_atc(void *ctx, const struct pci_atc_mismatch *mm)
{
	(void)ctx;
	(void)mm;
	atc_reports++;
}

/* Software's side of fault recording: clear every FRCD.F and then FSTS.PFO (W1C). */
static void clear_faults(struct vtd *vtd)
{
	unsigned fro = (unsigned)VTD_GET(vtd_cap(vtd), VTD_CAP_FRO) * 16;
	unsigned nfr = (unsigned)VTD_GET(vtd_cap(vtd), VTD_CAP_NFR) + 1;

	for (unsigned i = 0; i < nfr; i++)
		vtd_mmio_write(vtd, fro + i * VTD_FRCD_SIZE + 8, 8, VTD_FRCD_Q1_F);
	vtd_mmio_write(vtd, VTD_REG_FSTS, 4, VTD_FSTS_PFO);
}

/* The recorded faults with reason `fr` from `sid`. */
static unsigned recorded(struct vtd *vtd, uint16_t sid, uint8_t fr)
{
	unsigned fro = (unsigned)VTD_GET(vtd_cap(vtd), VTD_CAP_FRO) * 16;
	unsigned nfr = (unsigned)VTD_GET(vtd_cap(vtd), VTD_CAP_NFR) + 1, n = 0;

	for (unsigned i = 0; i < nfr; i++) {
		uint64_t q1 = mmio64(vtd, fro + i * VTD_FRCD_SIZE + 8);

		n += (q1 & VTD_FRCD_Q1_F) && VTD_GET(q1, VTD_FRCD_Q1_SID) == sid &&
		     VTD_GET(q1, VTD_FRCD_Q1_FR) == fr;
	}
	return n;
}

/* =========================================================================================
 * Endpoints that vanish.
 */

/*
 * A port in front of an endpoint's: it forwards the first `pass` invalidations, then puts
 * the endpoint in `after` (removed or hung) - between two descriptors of one batch - or,
 * with `bad_completion`, answers every invalidation with an error (an invalid completion).
 */
struct flaky_port {
	struct pci_ats_port real;
	struct pci_endpoint *ep;
	unsigned pass;
	enum pci_endpoint_state after;
	bool bad_completion;
	unsigned calls;
};

static int flaky_invalidate(void *ctx, const struct pci_ats_inv *inv)
{
	struct flaky_port *fp = ctx;

	fp->calls++;
	if (fp->bad_completion)
		return -EIO;
	if (fp->pass && !--fp->pass) {
		int ret = fp->real.invalidate(fp->real.ctx, inv);

		pci_endpoint_set_state(fp->ep, fp->after);
		return ret;
	}
	return fp->real.invalidate(fp->real.ctx, inv);
}

static int flaky_attach(struct machine *m, struct machine_dev *d, struct flaky_port *fp)
{
	struct pci_ats_port p = {flaky_invalidate, fp};

	fp->real = pci_endpoint_ats_port(d->ep);
	fp->ep = d->ep;
	CHECK_RET(vtd_disconnect_ats(m->vtd, d->rid) == 0);
	CHECK_RET(vtd_connect_ats(m->vtd, d->rid, &p) == 0);
	return 0;
}

static struct machine *vanish_machine(struct events *ev)
{
	struct machine_config cfg;
	struct machine *m = NULL;

	machine_config_default(&cfg);
	cfg.driver.quiet = true;
	cfg.driver.poll_limit = 1000;
	cfg.vtd_cb = (struct vtd_callbacks){.trace = ev_trace, .stale = ev_stale};
	cfg.vtd_cb_ctx = ev;
	if (machine_create(&cfg, &m))
		return NULL;
	if (vtd_set_check(m->vtd, true)) {
		machine_destroy(m);
		return NULL;
	}
	return m;
}

static int dma8(struct machine_dev *d, unsigned flags, uint32_t pasid, uint64_t iova, uint64_t *v)
{
	*v = 0;
	return pci_endpoint_dma_read(d->ep, flags, pasid, iova, v, 8, NULL);
}

/*
 * Device a (the one that vanishes) has one domain on its RID and PASID 1, so each flush
 * sends it two device-TLB invalidations; b (ATS) has the domain on PASID 1, c (no ATS) on
 * its RID. a leaves between its two invalidations.
 */
static int vanish_case(enum pci_endpoint_state how, bool bad_completion)
{
	struct events ev = {0};
	struct machine *m = vanish_machine(&ev);
	struct pci_translation_agent ref;
	struct machine_dev *a, *b, *c;
	struct iommu_domain *dom;
	struct intel_iommu_stats st;
	struct flaky_port fp = {.pass = 1, .after = how, .bad_completion = bad_completion};
	uint64_t v;

	atc_reports = 0;
	CHECK_RET(m);
	a = robust_dev(m, PCI_RID(0, 2, 0), 20, true, 0);
	b = robust_dev(m, PCI_RID(0, 3, 0), 20, true, 0);
	c = robust_dev(m, PCI_RID(0, 4, 0), 20, false, 0);
	CHECK_RET(a && b && c);
	ref = vtd_translation_agent(m->vtd);
	CHECK_RET(pci_endpoint_set_checker(b->ep, &ref, on_atc, NULL) == 0);
	CHECK_RET(iommu_paging_domain_alloc(a->dev, 0, &dom) == 0);
	CHECK_RET(iommu_attach_device(dom, a->dev) == 0);
	CHECK_RET(iommu_attach_device_pasid(dom, a->dev, 1) == 0);
	CHECK_RET(iommu_attach_device_pasid(dom, b->dev, 1) == 0);
	CHECK_RET(iommu_attach_device(dom, c->dev) == 0);
	for (unsigned i = 0; i < 4; i++) {
		CHECK_RET(mem_write64(m->mem, DATA + i * SZ_4K, TAG_X + i) == 0);
		CHECK_RET(iommu_map(dom, IOVA + i * SZ_4K, DATA + i * SZ_4K, SZ_4K, IOMMU_READ) ==
			  0);
	}
	/* Every device TLB holds page 0. */
	CHECK_RET(dma8(a, 0, 0, IOVA, &v) == 0 && v == TAG_X);
	CHECK_RET(dma8(a, PCI_DMA_PASID, 1, IOVA, &v) == 0 && v == TAG_X);
	CHECK_RET(dma8(b, PCI_DMA_PASID, 1, IOVA, &v) == 0 && v == TAG_X);
	CHECK_RET(dma8(c, 0, 0, IOVA, &v) == 0 && v == TAG_X);
	CHECK_RET(flaky_attach(m, a, &fp) == 0);

	/* The unmap during which a vanishes: it returns, the page is gone for b and c. */
	CHECK_RET(iommu_unmap(dom, IOVA, SZ_4K) == (ssize_t)SZ_4K);
	CHECK_RET(intel_iommu_get_stats(m->iommu, &st) == 0);
	if (bad_completion) {
		CHECK_RET(st.completion_errors >= 1 && st.devtlb_timeouts == 0);
		CHECK_RET(!intel_iommu_dev_gone(a->dev));
	} else {
		CHECK_RET(fp.calls == 2); /* one passed, the next timed out */
		CHECK_RET(st.devtlb_timeouts == 1 && st.devices_gone == 1 && st.resubmits >= 1);
		CHECK_RET(intel_iommu_dev_gone(a->dev) && !intel_iommu_dev_gone(b->dev));
		CHECK_RET(intel_iommu_last_warning(m->iommu) != NULL);
	}
	CHECK_RET(st.wait_timeouts == 0);
	CHECK_RET(dma8(b, PCI_DMA_PASID, 1, IOVA, &v) == -EFAULT);
	CHECK_RET(dma8(c, 0, 0, IOVA, &v) == -EFAULT);
	CHECK_RET(robust_xlate(m->vtd, a->rid, IOMMU_PASID_INVALID, IOVA, false).status == PCI_UR);
	if (how == PCI_EP_REMOVED && !bad_completion)
		CHECK_RET(dma8(a, 0, 0, IOVA + SZ_4K, &v) == -ENODEV);

	/* Life goes on for the others: more maps, unmaps and DMA, nothing more times out. */
	for (unsigned r = 0; r < 20; r++) {
		uint64_t iova = IOVA + (1 + r % 3) * SZ_4K;

		CHECK_RET(dma8(b, PCI_DMA_PASID, 1, iova, &v) == 0 && v == TAG_X + 1 + r % 3);
		CHECK_RET(dma8(c, 0, 0, iova, &v) == 0 && v == TAG_X + 1 + r % 3);
		CHECK_RET(iommu_unmap(dom, iova, SZ_4K) == (ssize_t)SZ_4K);
		CHECK_RET(dma8(b, PCI_DMA_PASID, 1, iova, &v) == -EFAULT);
		CHECK_RET(iommu_map(dom, iova, DATA + (1 + r % 3) * SZ_4K, SZ_4K, IOMMU_READ) == 0);
	}
	CHECK_RET(intel_iommu_get_stats(m->iommu, &st) == 0);
	CHECK_RET(st.devtlb_timeouts == (bad_completion ? 0u : 1u) && st.wait_timeouts == 0);
	CHECK_RET(ev.reports == 0 && atc_reports == 0);

	/* a goes away for good; a new function takes its requester ID and works. */
	CHECK_RET(iommu_detach_device_pasid(dom, a->dev, 1) == 0);
	CHECK_RET(iommu_detach_device(dom, a->dev) == 0);
	CHECK_RET(machine_remove_device(a) == 0);
	a = robust_dev(m, PCI_RID(0, 2, 0), 20, true, 0);
	CHECK_RET(a && !intel_iommu_dev_gone(a->dev));
	CHECK_RET(pci_endpoint_set_checker(a->ep, &ref, on_atc, NULL) == 0);
	CHECK_RET(iommu_attach_device_pasid(dom, a->dev, 1) == 0);
	CHECK_RET(dma8(a, PCI_DMA_PASID, 1, IOVA + SZ_4K, &v) == 0 && v == TAG_X + 1);
	CHECK_RET(iommu_unmap(dom, IOVA + SZ_4K, SZ_4K) == (ssize_t)SZ_4K);
	CHECK_RET(dma8(a, PCI_DMA_PASID, 1, IOVA + SZ_4K, &v) == -EFAULT); /* invalidated */
	CHECK_RET(ev.reports == 0 && atc_reports == 0);

	CHECK_RET(iommu_detach_device_pasid(dom, a->dev, 1) == 0);
	CHECK_RET(iommu_detach_device_pasid(dom, b->dev, 1) == 0);
	CHECK_RET(iommu_detach_device(dom, c->dev) == 0);
	CHECK_RET(pci_endpoint_set_checker(a->ep, NULL, NULL, NULL) == 0);
	CHECK_RET(pci_endpoint_set_checker(b->ep, NULL, NULL, NULL) == 0);
	CHECK_RET(iommu_domain_free(dom) == 0);
	CHECK_RET(machine_destroy(m) == 0);
	return 0;
}

static void test_endpoint_removed_mid_batch(void)
{
	CHECK_EQ(vanish_case(PCI_EP_REMOVED, false), 0);
}

static void test_endpoint_hung_mid_batch(void)
{
	CHECK_EQ(vanish_case(PCI_EP_HUNG, false), 0);
}

static void test_endpoint_bad_completion(void)
{
	CHECK_EQ(vanish_case(PCI_EP_ACTIVE, true), 0);
}

/*
 * A device that stopped answering is not trusted again until it is probed anew: once the
 * driver gives up invalidating its device TLB, whatever that TLB still holds must not be
 * usable - or a hung device that comes back would reach memory unmapped (and reused) since.
 * The unit refuses its translation and translated requests (SCT.5) from then on.
 */
static int hung_case(bool legacy)
{
	struct events ev = {0};
	struct machine_config cfg;
	struct machine *m;
	struct machine_dev *a, *b;
	struct iommu_domain *da, *db;
	struct pci_req req = {.addr = DATA, .at = PCI_AT_TRANSLATED, .flags = PCI_REQ_READ};
	struct pci_resp resp;
	uint64_t v, w = 0xbadbadbadull;

	machine_config_default(&cfg);
	cfg.driver.quiet = true;
	cfg.vtd_cb = (struct vtd_callbacks){.trace = ev_trace, .stale = ev_stale};
	cfg.vtd_cb_ctx = &ev;
	if (legacy)
		robust_legacy_unit(&cfg.vtd);
	CHECK_RET(machine_create(&cfg, &m) == 0);
	CHECK_RET(vtd_set_check(m->vtd, true) == 0);
	a = robust_dev(m, PCI_RID(0, 2, 0), legacy ? 0 : 20, true, 0);
	b = robust_dev(m, PCI_RID(0, 3, 0), legacy ? 0 : 20, true, 0);
	CHECK_RET(a && b);
	da = iommu_get_default_domain(a->dev);
	db = iommu_get_default_domain(b->dev);
	CHECK_RET(mem_write64(m->mem, DATA, TAG_X) == 0);
	CHECK_RET(iommu_map(da, IOVA, DATA, SZ_4K, IOMMU_READ | IOMMU_WRITE) == 0);
	CHECK_RET(iommu_map(db, IOVA, DATA + SZ_4K, SZ_4K, IOMMU_READ) == 0);
	CHECK_RET(dma8(a, 0, 0, IOVA, &v) == 0 && v == TAG_X);
	CHECK_RET(dma8(b, 0, 0, IOVA, &v) == 0);

	CHECK_RET(pci_endpoint_set_state(a->ep, PCI_EP_HUNG) == 0);
	CHECK_RET(iommu_unmap(da, IOVA, SZ_4K) == (ssize_t)SZ_4K);
	CHECK_RET(intel_iommu_dev_gone(a->dev));
	/* The page goes to someone else; the device comes back. */
	CHECK_RET(mem_write64(m->mem, DATA, TAG_Y) == 0);
	CHECK_RET(pci_endpoint_set_state(a->ep, PCI_EP_ACTIVE) == 0);
	CHECK_RET(pci_endpoint_atc_peek(a->ep, 0, 0, IOVA, &(struct pci_atc_view){0}) == 0);
	CHECK_RET(dma8(a, 0, 0, IOVA, &v) == -EFAULT); /* not TAG_Y */
	CHECK_RET(pci_endpoint_dma_write(a->ep, 0, 0, IOVA, &w, 8, NULL) == -EFAULT);
	CHECK_RET(rd64(m->mem, DATA) == TAG_Y);
	req.rid = a->rid;
	CHECK_RET(vtd_translate(m->vtd, &req, &resp) == 0);
	CHECK_RET(resp.status == PCI_UR);
	/* b is untouched. */
	CHECK_RET(dma8(b, 0, 0, IOVA, &v) == 0);
	CHECK_RET(iommu_unmap(db, IOVA, SZ_4K) == (ssize_t)SZ_4K);
	CHECK_RET(dma8(b, 0, 0, IOVA, &v) == -EFAULT);
	CHECK_RET(ev.reports == 0);
	/* Probed anew, the function is trusted again. */
	CHECK_RET(machine_remove_device(a) == 0);
	a = robust_dev(m, PCI_RID(0, 2, 0), legacy ? 0 : 20, true, 0);
	CHECK_RET(a);
	da = iommu_get_default_domain(a->dev);
	CHECK_RET(iommu_map(da, IOVA, DATA, SZ_4K, IOMMU_READ) == 0);
	CHECK_RET(dma8(a, 0, 0, IOVA, &v) == 0 && v == TAG_Y);
	CHECK_RET(iommu_unmap(da, IOVA, SZ_4K) == (ssize_t)SZ_4K);
	CHECK_RET(dma8(a, 0, 0, IOVA, &v) == -EFAULT);
	CHECK_RET(machine_destroy(m) == 0);
	return 0;
}

static void test_hung_device_stays_isolated(void)
{
	CHECK_EQ(hung_case(false), 0);
	CHECK_EQ(hung_case(true), 0);
}

/*
 * Through the DMA API: a device whose default domain is also on a vanished device's PASID
 * (as a DSA work queue shares its kernel PASID domain) keeps mapping and unmapping, strict
 * and lazy.
 */
static int vanish_dma_case(int type)
{
	struct events ev = {0};
	struct machine *m = vanish_machine(&ev);
	struct machine_dev *a, *b;
	struct dma_dev *dd;
	struct dma_dev_config dc = {.fq_timeout_ms = DMA_FQ_TIMEOUT_NONE};
	struct intel_iommu_stats st;
	uint64_t v;
	dma_addr_t addr;

	CHECK_RET(m);
	a = robust_dev(m, PCI_RID(0, 6, 0), 20, true, 0);
	b = robust_dev(m, PCI_RID(0, 7, 0), 20, true, type);
	CHECK_RET(a && b);
	dc.dev = b->dev;
	dc.mem = m->mem;
	CHECK_RET(dma_dev_create(&dc, &dd) == 0);
	CHECK_RET(iommu_attach_device_pasid(dma_dev_domain(dd), a->dev, 9) == 0);
	CHECK_RET(mem_write64(m->mem, DATA, TAG_Y) == 0);
	addr = dma_map_single(dd, DATA, SZ_4K, DMA_TO_DEVICE);
	CHECK_RET(addr != DMA_MAPPING_ERROR);
	CHECK_RET(dma8(a, PCI_DMA_PASID, 9, addr, &v) == 0 && v == TAG_Y);
	CHECK_RET(dma8(b, 0, 0, addr, &v) == 0 && v == TAG_Y);
	CHECK_RET(pci_endpoint_set_state(a->ep, PCI_EP_REMOVED) == 0);
	CHECK_RET(dma_unmap_single(dd, addr, SZ_4K, DMA_TO_DEVICE) == 0);
	dma_flush_queues(dd);
	CHECK_RET(dma8(b, 0, 0, addr, &v) == -EFAULT);
	for (unsigned r = 0; r < 50; r++) {
		addr = dma_map_single(dd, DATA, SZ_4K, DMA_TO_DEVICE);
		CHECK_RET(addr != DMA_MAPPING_ERROR);
		CHECK_RET(dma8(b, 0, 0, addr, &v) == 0 && v == TAG_Y);
		CHECK_RET(dma_unmap_single(dd, addr, SZ_4K, DMA_TO_DEVICE) == 0);
	}
	dma_flush_queues(dd);
	CHECK_RET(dma8(b, 0, 0, addr, &v) == -EFAULT);
	CHECK_RET(intel_iommu_get_stats(m->iommu, &st) == 0);
	CHECK_RET(st.devtlb_timeouts == 1 && st.devices_gone == 1 && st.wait_timeouts == 0);
	CHECK_RET(ev.reports == 0);
	CHECK_RET(iommu_detach_device_pasid(dma_dev_domain(dd), a->dev, 9) == 0);
	CHECK_RET(dma_dev_destroy(dd) == 0);
	CHECK_RET(machine_destroy(m) == 0);
	return 0;
}

static void test_endpoint_removed_dma_api(void)
{
	CHECK_EQ(vanish_dma_case(IOMMU_DOMAIN_DMA), 0);
	CHECK_EQ(vanish_dma_case(IOMMU_DOMAIN_DMA_FQ), 0);
}

/* =========================================================================================
 * Memory that fails.
 */

#define NBAD 4

/* A backend over sparse memory that refuses reads (and, if asked, writes) of some ranges. */
struct faulty {
	struct mem *inner;
	struct {
		uint64_t base, size;
		int reads;   /* reads to refuse: -1 all, n > 0 the next n, 0 none */
		bool writes; /* refuse writes too */
	} bad[NBAD];
	unsigned long refused_reads, refused_writes;
};

static int faulty_hit(struct faulty *f, uint64_t pa, size_t len, bool write)
{
	for (unsigned i = 0; i < NBAD; i++) {
		if (!f->bad[i].size || pa >= f->bad[i].base + f->bad[i].size ||
		    f->bad[i].base >= pa + len)
			continue;
		if (write) {
			if (f->bad[i].writes) {
				f->refused_writes++;
				return -EIO;
			}
			continue;
		}
		if (f->bad[i].reads) {
			if (f->bad[i].reads > 0)
				f->bad[i].reads--;
			f->refused_reads++;
			return -EIO;
		}
	}
	return 0;
}

static int faulty_read(void *ctx, uint64_t pa, void *buf, size_t len)
{
	struct faulty *f = ctx;

	return faulty_hit(f, pa, len, false) ?: mem_read(f->inner, pa, buf, len);
}

static int faulty_write(void *ctx, uint64_t pa, const void *buf, size_t len)
{
	struct faulty *f = ctx;

	return faulty_hit(f, pa, len, true) ?: mem_write(f->inner, pa, buf, len);
}

static int faulty_cmpxchg64(void *ctx, uint64_t pa, uint64_t *expected, uint64_t desired)
{
	struct faulty *f = ctx;

	return faulty_hit(f, pa, 8, false) ?: faulty_hit(f, pa, 8, true)
					       ?: mem_cmpxchg64(f->inner, pa, expected, desired);
}

static const struct mem_ops faulty_ops = {
    .read = faulty_read, .write = faulty_write, .cmpxchg64 = faulty_cmpxchg64};

static void bad_set(struct faulty *f, unsigned i, uint64_t base, uint64_t size, int reads,
		    bool writes)
{
	f->bad[i].base = base;
	f->bad[i].size = size;
	f->bad[i].reads = reads;
	f->bad[i].writes = writes;
}

static void bad_clear(struct faulty *f)
{
	memset(f->bad, 0, sizeof(f->bad));
}

/*
 * The stack wired by hand (machine.c does the same with one memory): software - the
 * driver, the page tables, the page allocator - works on the sparse memory; the unit and
 * the endpoints see it through the faulty backend, as hardware sees a bad DIMM.
 */
struct rig {
	struct mem *mem, *hw;
	struct faulty f;
	struct mem_alloc *alloc;
	struct vtd *vtd;
	struct iommu_core *core;
	struct intel_iommu *iommu;
	struct events ev;
	struct {
		struct pci_endpoint *ep;
		struct iommu_dev *dev;
		uint16_t rid;
		bool ats;
	} d[3];
	unsigned nd;
};

static int rig_mmio_read(void *ctx, uint64_t off, unsigned size, uint64_t *val)
{
	return vtd_mmio_read(ctx, off, size, val);
}

static int rig_mmio_write(void *ctx, uint64_t off, unsigned size, uint64_t val)
{
	return vtd_mmio_write(ctx, off, size, val);
}

static int rig_up(struct rig *r, bool caches)
{
	struct vtd_config vc;
	struct vtd_callbacks cb = {
	    .trace = ev_trace, .stale = ev_stale, .fault_event = ev_fault_irq};
	struct intel_iommu_config ic = {.quiet = true, .poll_limit = 1000};

	memset(r, 0, sizeof(*r));
	r->mem = mem_create_sparse(8 * SZ_1G);
	CHECK_RET(r->mem);
	r->f.inner = r->mem;
	r->hw = mem_create(&faulty_ops, &r->f, 8 * SZ_1G);
	CHECK_RET(r->hw);
	CHECK_RET(mem_alloc_create(r->mem, 4 * SZ_1G, SZ_1G, &r->alloc) == 0);
	vtd_config_default(&vc);
	if (!caches) {
		vc.context_cache.sets = 0;
		vc.pasid_cache.sets = 0;
		vc.iotlb.sets = 0;
	}
	CHECK_RET(vtd_create(&vc, r->hw, &cb, &r->ev, &r->vtd) == 0);
	CHECK_RET(vtd_set_check(r->vtd, true) == 0);
	CHECK_RET(iommu_core_create(NULL, &r->core) == 0);
	ic.mmio = (struct intel_iommu_mmio){rig_mmio_read, rig_mmio_write, r->vtd};
	ic.alloc = r->alloc;
	CHECK_RET(intel_iommu_create(r->core, &ic, &r->iommu) == 0);
	return 0;
}

static int rig_dev(struct rig *r, uint16_t rid, bool ats)
{
	struct pci_endpoint_config ec = {.rid = rid,
					 .pasid_width = 20,
					 .pasid_enable = true,
					 .ats = ats,
					 .ats_enable = ats,
					 .atc_sets = 16,
					 .atc_ways = 4,
					 .agent = vtd_translation_agent(r->vtd),
					 .mem = r->hw};
	struct iommu_dev_info info = {.rid = rid, .pasid_width = 20, .ats = ats};
	unsigned i = r->nd++;

	r->d[i].rid = rid;
	r->d[i].ats = ats;
	CHECK_RET(pci_endpoint_create(&ec, &r->d[i].ep) == 0);
	if (ats) {
		struct pci_ats_port p = pci_endpoint_ats_port(r->d[i].ep);

		CHECK_RET(vtd_connect_ats(r->vtd, rid, &p) == 0);
	}
	CHECK_RET(iommu_probe_device(intel_iommu_device(r->iommu), &info, &r->d[i].dev) == 0);
	return 0;
}

static int rig_down(struct rig *r)
{
	for (unsigned i = 0; i < r->nd; i++) {
		CHECK_RET(iommu_release_device(r->d[i].dev) == 0);
		if (r->d[i].ats)
			CHECK_RET(vtd_disconnect_ats(r->vtd, r->d[i].rid) == 0);
		pci_endpoint_destroy(r->d[i].ep);
	}
	CHECK_RET(intel_iommu_destroy(r->iommu) == 0);
	CHECK_RET(mem_alloc_in_use(r->alloc) == 0);
	CHECK_RET(iommu_core_destroy(r->core) == 0);
	vtd_destroy(r->vtd);
	mem_alloc_destroy(r->alloc);
	mem_destroy(r->hw);
	mem_destroy(r->mem);
	return 0;
}

/* ---- where the structures are, read the way the unit finds them --------------------------- */

static uint64_t root_table(struct rig *r)
{
	return mmio64(r->vtd, VTD_REG_RTADDR) & VTD_RTADDR_RTA_MASK;
}

static uint64_t context_table(struct rig *r, uint16_t rid)
{
	uint64_t half =
	    rd64(r->mem, root_table(r) + PCI_RID_BUS(rid) * 16 + 8 * (PCI_RID_DEVFN(rid) >> 7));

	return half & VTD_SRE_Q0_LCTP_MASK;
}

static uint64_t pasid_dir(struct rig *r, uint16_t rid)
{
	uint64_t ce = rd64(r->mem, context_table(r, rid) + (PCI_RID_DEVFN(rid) & 0x7f) * 32);

	return ce & VTD_SCE_Q0_PASIDDIRPTR_MASK;
}

static uint64_t pasid_table(struct rig *r, uint16_t rid, uint32_t pasid)
{
	return rd64(r->mem, pasid_dir(r, rid) + 8 * (pasid >> 6)) & VTD_PDE_SMPTBLPTR_MASK;
}

static void pasid_entry(struct rig *r, uint16_t rid, uint32_t pasid, uint64_t pe[4])
{
	uint64_t t = pasid_table(r, rid, pasid) + (pasid & 63) * 64;

	for (unsigned i = 0; i < 4; i++)
		pe[i] = rd64(r->mem, t + 8 * i);
}

/* The page-table page at `depth` (0 = the root) of the walk for `iova`. */
static uint64_t table_page(struct rig *r, uint16_t rid, uint32_t pasid, uint64_t iova,
			   unsigned depth)
{
	uint64_t pe[4], table;
	unsigned levels;

	pasid_entry(r, rid, pasid, pe);
	if (VTD_GET(pe[0], VTD_PE_Q0_PGTT) == VTD_PGTT_FS) {
		table = pe[2] & VTD_PE_Q2_FLPTPTR_MASK;
		levels = VTD_GET(pe[2], VTD_PE_Q2_FLPM) ? 5 : 4;
	} else {
		table = pe[0] & VTD_PE_Q0_SLPTPTR_MASK;
		levels = 2 + (unsigned)VTD_GET(pe[0], VTD_PE_Q0_AW);
	}
	for (unsigned i = 0; i < depth; i++) {
		unsigned shift = 12 + 9 * (levels - 1 - i);

		table = rd64(r->mem, table + ((iova >> shift) & 511) * 8) & 0x000ffffffffff000ull;
	}
	return table;
}

/*
 * With `base` unreadable, device i's request faults with `fr` (recorded) while device j's
 * is served; once it is readable again both are served. `pasid`: IOMMU_PASID_INVALID for
 * the RID. Returns 0 or -1.
 */
static int fetch_case(struct rig *r, uint64_t base, unsigned i, unsigned j, uint32_t pasid,
		      uint8_t fr, const char *what)
{
	unsigned flags = pasid == IOMMU_PASID_INVALID ? 0 : PCI_DMA_PASID;
	uint32_t p = flags ? pasid : 0;
	struct pci_dma_status st = {0};
	struct pci_resp resp;
	uint64_t v = 0;
	int ret;

	/* Empty x's device TLB (ATS off and on again), so that its DMA asks the unit. */
	CHECK_RET(pci_endpoint_ats_disable(r->d[i].ep) == 0);
	CHECK_RET(pci_endpoint_ats_enable(r->d[i].ep, 0) == 0);
	clear_faults(r->vtd);
	bad_set(&r->f, 0, base, SZ_4K, -1, false);
	resp = robust_xlate(r->vtd, r->d[i].rid, pasid, IOVA, false);
	if (resp.status != PCI_UR || resp.fault != fr || !(resp.flags & PCI_RESP_FAULT_RECORDED) ||
	    recorded(r->vtd, r->d[i].rid, fr) != 1) {
		fprintf(stderr, "%s at %#llx: status %u fault %#x flags %#x, want fault %#x\n",
			what, (unsigned long long)base, resp.status, resp.fault, resp.flags, fr);
		return -1;
	}
	/* An ATS translation request: a structure error is UR with the same reason. */
	{
		struct pci_req req = {.addr = IOVA,
				      .rid = r->d[i].rid,
				      .pasid = p,
				      .at = PCI_AT_TRANSLATION,
				      .flags = (uint8_t)flags};

		CHECK_RET(vtd_translate(r->vtd, &req, &resp) == 0);
		CHECK_RET(resp.status == PCI_UR && resp.fault == fr);
	}
	ret = pci_endpoint_dma_read(r->d[i].ep, flags, p, IOVA, &v, 8, &st);
	if (ret != -EFAULT || st.fault != fr) {
		fprintf(stderr, "%s: DMA gave %d fault %#x status %u at %u, want fault %#x\n", what,
			ret, st.fault, st.status, st.at, fr);
		return -1;
	}
	/* Elsewhere nothing happened. */
	CHECK_RET(pci_endpoint_dma_read(r->d[j].ep, flags, p, IOVA, &v, 8, NULL) == 0 &&
		  v == TAG_Y);
	bad_clear(&r->f);
	CHECK_RET(pci_endpoint_dma_read(r->d[i].ep, flags, p, IOVA, &v, 8, NULL) == 0 &&
		  v == TAG_X);
	CHECK_RET(mmio32(r->vtd, VTD_REG_FSTS) & VTD_FSTS_PPF);
	clear_faults(r->vtd);
	return 0;
}

static void test_fetch_errors(void)
{
	struct rig r;
	struct iommu_domain *ss;
	uint64_t v = 0;
	struct pci_dma_status st = {0};

	/* No caches: every request walks memory (cached entries would hide the error until
	 * evicted or invalidated, as on silicon). */
	CHECK_EQ(rig_up(&r, false), 0);
	CHECK_EQ(rig_dev(&r, PCI_RID(1, 0, 0), true), 0);  /* x: ATS */
	CHECK_EQ(rig_dev(&r, PCI_RID(2, 0, 0), false), 0); /* y: another bus */
	CHECK_EQ(mem_write64(r.mem, DATA, TAG_X), 0);
	CHECK_EQ(mem_write64(r.mem, DATA + SZ_4K, TAG_Y), 0);
	/* Each device's RID (default domain, first stage) and PASID 1 (a second-stage domain
	 * of its own) map IOVA to its tag. */
	for (unsigned i = 0; i < 2; i++) {
		CHECK_EQ(iommu_map(iommu_get_default_domain(r.d[i].dev), IOVA, DATA + i * SZ_4K,
				   SZ_4K, IOMMU_READ | IOMMU_WRITE),
			 0);
		CHECK_EQ(
		    iommu_paging_domain_alloc(r.d[i].dev, IOMMU_DOMAIN_ALLOC_SECOND_STAGE, &ss), 0);
		CHECK_EQ(iommu_map(ss, IOVA, DATA + i * SZ_4K, SZ_4K, IOMMU_READ | IOMMU_WRITE), 0);
		CHECK_EQ(iommu_attach_device_pasid(ss, r.d[i].dev, 1), 0);
	}
	uint16_t x = r.d[0].rid;

	CHECK_EQ(fetch_case(&r, context_table(&r, x), 0, 1, IOMMU_PASID_INVALID, VTD_FR_SCT_1,
			    "context table"),
		 0);
	CHECK_EQ(fetch_case(&r, pasid_dir(&r, x), 0, 1, IOMMU_PASID_INVALID, VTD_FR_SPD_1,
			    "PASID directory"),
		 0);
	CHECK_EQ(fetch_case(&r, pasid_table(&r, x, 0), 0, 1, IOMMU_PASID_INVALID, VTD_FR_SPT_1,
			    "PASID table"),
		 0);
	CHECK_EQ(fetch_case(&r, table_page(&r, x, 0, IOVA, 0), 0, 1, IOMMU_PASID_INVALID,
			    VTD_FR_SFL_4, "first-stage root table"),
		 0);
	CHECK_EQ(fetch_case(&r, table_page(&r, x, 0, IOVA, 3), 0, 1, IOMMU_PASID_INVALID,
			    VTD_FR_SFL_1, "first-stage leaf table"),
		 0);
	CHECK_EQ(fetch_case(&r, table_page(&r, x, 1, IOVA, 0), 0, 1, 1, VTD_FR_SSL_4,
			    "second-stage root table"),
		 0);
	CHECK_EQ(fetch_case(&r, table_page(&r, x, 1, IOVA, 1), 0, 1, 1, VTD_FR_SSL_1,
			    "second-stage table"),
		 0);

	/* The root table serves everyone: everyone faults, then everyone recovers. */
	clear_faults(r.vtd);
	bad_set(&r.f, 0, root_table(&r), SZ_4K, -1, false);
	for (unsigned i = 0; i < 2; i++) {
		struct pci_resp resp =
		    robust_xlate(r.vtd, r.d[i].rid, IOMMU_PASID_INVALID, IOVA, false);

		CHECK(resp.status == PCI_UR && resp.fault == VTD_FR_SRT_1);
	}
	bad_clear(&r.f);
	clear_faults(r.vtd);
	for (unsigned i = 0; i < 2; i++) {
		CHECK_EQ(pci_endpoint_dma_read(r.d[i].ep, 0, 0, IOVA, &v, 8, NULL), 0);
		CHECK_EQ(v, i ? TAG_Y : TAG_X);
	}

	/* A data page that cannot be read: the translation is fine, the access is -EIO;
	 * a page that cannot be written likewise for a write, and reads still work. */
	bad_set(&r.f, 0, DATA, SZ_4K, -1, true);
	CHECK_EQ(pci_endpoint_dma_read(r.d[0].ep, 0, 0, IOVA, &v, 8, &st), -EIO);
	CHECK_EQ(pci_endpoint_dma_read(r.d[1].ep, 0, 0, IOVA, &v, 8, NULL), 0);
	CHECK_EQ(v, TAG_Y);
	bad_set(&r.f, 0, DATA, SZ_4K, 0, true);
	CHECK_EQ(pci_endpoint_dma_write(r.d[0].ep, 0, 0, IOVA + 8, &v, 8, NULL), -EIO);
	CHECK_EQ(pci_endpoint_dma_read(r.d[0].ep, 0, 0, IOVA, &v, 8, NULL), 0);
	CHECK_EQ(v, TAG_X);
	bad_clear(&r.f);

	CHECK(r.f.refused_reads > 0 && r.f.refused_writes > 0);
	CHECK_EQ(r.ev.reports, 0);
	for (unsigned i = 0; i < 2; i++) {
		struct iommu_domain *dom = iommu_get_domain_for_dev_pasid(r.d[i].dev, 1);

		CHECK_EQ(iommu_detach_device_pasid(dom, r.d[i].dev, 1), 0);
		CHECK_EQ(iommu_unmap(dom, IOVA, SZ_4K), (ssize_t)SZ_4K);
		CHECK_EQ(iommu_domain_free(dom), 0);
		CHECK_EQ(iommu_unmap(iommu_get_default_domain(r.d[i].dev), IOVA, SZ_4K),
			 (ssize_t)SZ_4K);
	}
	CHECK_EQ(rig_down(&r), 0);
}

/* ---- invalidation-queue errors from memory ----------------------------------------------------
 */

/* The queue in memory and its next free slot (the tail), from IQA and IQT. */
static uint64_t queue_slot(struct rig *r, unsigned ahead)
{
	uint64_t iqa = mmio64(r->vtd, VTD_REG_IQA), base = iqa & VTD_IQA_IQA_MASK;
	uint64_t size = 4096ull << VTD_GET(iqa, VTD_IQA_QS);
	unsigned dsz = (iqa & VTD_IQA_DW) ? 32 : 16;
	uint64_t tail = mmio64(r->vtd, VTD_REG_IQT) & VTD_IQT_QT_MASK;

	return base + (tail + ahead * dsz) % size;
}

/*
 * Two ATS devices with their own domains; x's unmap runs into a descriptor the unit cannot
 * fetch - the `ahead`th of its batch, refused `reads` times. The unmap completes with the
 * page gone everywhere (the driver makes up for the refused descriptor with a global
 * invalidation), IQE is reported and counted, and y never notices.
 */
static int queue_case(unsigned ahead, int reads)
{
	struct rig r;
	struct pci_translation_agent ref;
	struct intel_iommu_stats st;
	struct vtd_stats vs;
	struct iommu_domain *dx, *dy;
	uint64_t v;

	atc_reports = 0;
	CHECK_RET(rig_up(&r, true) == 0);
	CHECK_RET(rig_dev(&r, PCI_RID(1, 0, 0), true) == 0);
	CHECK_RET(rig_dev(&r, PCI_RID(2, 0, 0), true) == 0);
	ref = vtd_translation_agent(r.vtd);
	for (unsigned i = 0; i < 2; i++)
		CHECK_RET(pci_endpoint_set_checker(r.d[i].ep, &ref, on_atc, NULL) == 0);
	dx = iommu_get_default_domain(r.d[0].dev);
	dy = iommu_get_default_domain(r.d[1].dev);
	CHECK_RET(mem_write64(r.mem, DATA, TAG_X) == 0);
	CHECK_RET(mem_write64(r.mem, DATA + SZ_4K, TAG_Y) == 0);
	CHECK_RET(iommu_map(dx, IOVA, DATA, SZ_4K, IOMMU_READ) == 0);
	CHECK_RET(iommu_map(dy, IOVA, DATA + SZ_4K, SZ_4K, IOMMU_READ) == 0);
	CHECK_RET(pci_endpoint_dma_read(r.d[0].ep, 0, 0, IOVA, &v, 8, NULL) == 0 && v == TAG_X);
	CHECK_RET(pci_endpoint_dma_read(r.d[1].ep, 0, 0, IOVA, &v, 8, NULL) == 0 && v == TAG_Y);
	CHECK_RET(robust_xlate(r.vtd, r.d[0].rid, IOMMU_PASID_INVALID, IOVA, false).status ==
		  PCI_SC);

	bad_set(&r.f, 0, queue_slot(&r, ahead), 32, reads, false);
	CHECK_RET(iommu_unmap(dx, IOVA, SZ_4K) == (ssize_t)SZ_4K);
	CHECK_RET(r.f.refused_reads == (unsigned long)reads);
	bad_clear(&r.f);
	CHECK_RET(vtd_get_stats(r.vtd, &vs) == 0);
	CHECK_RET(intel_iommu_get_stats(r.iommu, &st) == 0);
	CHECK_RET(vs.inv.iqe >= 1 && st.queue_errors >= 1);
	CHECK_RET(intel_iommu_warnings(r.iommu) >= 1);
	CHECK_RET((mmio32(r.vtd, VTD_REG_FSTS) & VTD_FSTS_IQE) == 0); /* cleared */
	/* Gone from the IOTLB and the device TLB alike; y's untouched. */
	CHECK_RET(pci_endpoint_dma_read(r.d[0].ep, 0, 0, IOVA, &v, 8, NULL) == -EFAULT);
	CHECK_RET(robust_xlate(r.vtd, r.d[0].rid, IOMMU_PASID_INVALID, IOVA, false).status ==
		  PCI_UR);
	CHECK_RET(pci_endpoint_dma_read(r.d[1].ep, 0, 0, IOVA, &v, 8, NULL) == 0 && v == TAG_Y);
	/* And the queue carries on. */
	for (unsigned k = 0; k < 10; k++) {
		CHECK_RET(iommu_map(dy, IOVA + SZ_4K, DATA + SZ_4K, SZ_4K, IOMMU_READ) == 0);
		CHECK_RET(pci_endpoint_dma_read(r.d[1].ep, 0, 0, IOVA + SZ_4K, &v, 8, NULL) == 0 &&
			  v == TAG_Y);
		CHECK_RET(iommu_unmap(dy, IOVA + SZ_4K, SZ_4K) == (ssize_t)SZ_4K);
		CHECK_RET(pci_endpoint_dma_read(r.d[1].ep, 0, 0, IOVA + SZ_4K, &v, 8, NULL) ==
			  -EFAULT);
	}
	CHECK_RET(intel_iommu_get_stats(r.iommu, &st) == 0);
	CHECK_RET(st.wait_timeouts == 0);
	CHECK_RET(r.ev.reports == 0 && atc_reports == 0);
	CHECK_RET(iommu_unmap(dy, IOVA, SZ_4K) == (ssize_t)SZ_4K);
	for (unsigned i = 0; i < 2; i++)
		CHECK_RET(pci_endpoint_set_checker(r.d[i].ep, NULL, NULL, NULL) == 0);
	CHECK_RET(rig_down(&r) == 0);
	return 0;
}

static void test_queue_fetch_error(void)
{
	CHECK_EQ(queue_case(0, 1), 0); /* the batch's first descriptor */
	CHECK_EQ(queue_case(1, 1), 0); /* mid-stream */
	CHECK_EQ(queue_case(1, 3), 0); /* refused again after the driver's repair */
}

/* A wait whose status write memory refuses: the wait times out (reported), nothing hangs,
 * and the invalidations before it were carried out. */
static void test_wait_status_unwritable(void)
{
	struct rig r;
	struct intel_iommu_stats st;
	struct vtd_stats vs;
	struct iommu_domain *dx;
	uint64_t v, wait[2], stat;

	CHECK_EQ(rig_up(&r, true), 0);
	CHECK_EQ(rig_dev(&r, PCI_RID(1, 0, 0), true), 0);
	dx = iommu_get_default_domain(r.d[0].dev);
	CHECK_EQ(mem_write64(r.mem, DATA, TAG_X), 0);
	CHECK_EQ(iommu_map(dx, IOVA, DATA, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(pci_endpoint_dma_read(r.d[0].ep, 0, 0, IOVA, &v, 8, NULL), 0);
	/* Where the driver's waits write their status: the last descriptor queued. */
	{
		uint64_t iqa = mmio64(r.vtd, VTD_REG_IQA), base = iqa & VTD_IQA_IQA_MASK;
		uint64_t size = 4096ull << VTD_GET(iqa, VTD_IQA_QS);
		uint64_t tail = mmio64(r.vtd, VTD_REG_IQT) & VTD_IQT_QT_MASK;
		uint64_t last = base + (tail + size - 32) % size;

		wait[0] = rd64(r.mem, last);
		wait[1] = rd64(r.mem, last + 8);
		CHECK_EQ(VTD_INV_TYPE(wait[0]), VTD_INV_WAIT);
		stat = wait[1] & VTD_INV_WAIT_STADDR_MASK;
	}
	bad_set(&r.f, 0, stat & ~0xfffull, SZ_4K, 0, true);
	CHECK_EQ(iommu_unmap(dx, IOVA, SZ_4K), (ssize_t)SZ_4K);
	CHECK_EQ(intel_iommu_get_stats(r.iommu, &st), 0);
	CHECK(st.wait_timeouts >= 1);
	CHECK_EQ(vtd_get_stats(r.vtd, &vs), 0);
	CHECK(vs.inv.status_dropped >= 1);
	bad_clear(&r.f);
	CHECK_EQ(pci_endpoint_dma_read(r.d[0].ep, 0, 0, IOVA, &v, 8, NULL), -EFAULT);
	/* Memory works again: so do flushes. */
	CHECK_EQ(iommu_map(dx, IOVA, DATA, SZ_4K, IOMMU_READ), 0);
	CHECK_EQ(pci_endpoint_dma_read(r.d[0].ep, 0, 0, IOVA, &v, 8, NULL), 0);
	CHECK_EQ(v, TAG_X);
	CHECK_EQ(iommu_unmap(dx, IOVA, SZ_4K), (ssize_t)SZ_4K);
	CHECK_EQ(pci_endpoint_dma_read(r.d[0].ep, 0, 0, IOVA, &v, 8, NULL), -EFAULT);
	{
		uint64_t before = st.wait_timeouts;

		CHECK_EQ(intel_iommu_get_stats(r.iommu, &st), 0);
		CHECK_EQ(st.wait_timeouts, before);
	}
	CHECK_EQ(r.ev.reports, 0);
	CHECK_EQ(rig_down(&r), 0);
}

/* =========================================================================================
 * Fault-record overflow.
 */
static void test_fault_overflow(void)
{
	struct events ev = {0};
	struct machine_config cfg;
	struct machine *m;
	struct machine_dev *d;
	struct iommu_domain *dom;
	const unsigned nfr = 4;
	uint32_t fsts;
	uint64_t v;

	machine_config_default(&cfg);
	cfg.driver.quiet = true;
	cfg.vtd.nfr = nfr;
	cfg.vtd_cb = (struct vtd_callbacks){
	    .trace = ev_trace, .stale = ev_stale, .fault_event = ev_fault_irq};
	cfg.vtd_cb_ctx = &ev;
	CHECK_EQ(machine_create(&cfg, &m), 0);
	CHECK_EQ(vtd_set_check(m->vtd, true), 0);
	/* Software's fault handler takes the fault event (the driver has none). */
	CHECK_EQ(vtd_mmio_write(m->vtd, VTD_REG_FECTL, 4, 0), 0);
	d = robust_dev(m, PCI_RID(0, 1, 0), 20, true, 0);
	CHECK(d);
	dom = iommu_get_default_domain(d->dev);
	CHECK_EQ(mem_write64(m->mem, DATA, TAG_X), 0);
	CHECK_EQ(iommu_map(dom, IOVA, DATA, SZ_4K, IOMMU_READ), 0);
	/* Faults from nfr + 6 source-ids that have no context entry (distinct sources:
	 * faults from one source are compressed while its record is pending). */
	for (unsigned i = 0; i < nfr + 6; i++) {
		struct pci_resp r =
		    robust_xlate(m->vtd, PCI_RID(3, i, 0), IOMMU_PASID_INVALID, 0x1000, false);

		CHECK(r.status == PCI_UR && r.fault != 0);
		CHECK_EQ(!!(r.flags & PCI_RESP_FAULT_RECORDED), i < nfr);
		/* The other device carries on meanwhile. */
		CHECK_EQ(pci_endpoint_dma_read(d->ep, 0, 0, IOVA, &v, 8, NULL), 0);
		CHECK_EQ(v, TAG_X);
	}
	fsts = mmio32(m->vtd, VTD_REG_FSTS);
	CHECK(fsts & VTD_FSTS_PFO);
	CHECK(fsts & VTD_FSTS_PPF);
	CHECK_EQ(ev.fate[VTD_FAULT_RECORDED], nfr);
	CHECK_EQ(ev.fate[VTD_FAULT_OVERFLOW], 1); /* the one that found the next record full */
	CHECK_EQ(ev.fate[VTD_FAULT_PFO], 5);	  /* and those after it, while PFO is set */
	CHECK(ev.fault_irqs >= 1);
	/* Invalidations do not care. */
	CHECK_EQ(iommu_unmap(dom, IOVA, SZ_4K), (ssize_t)SZ_4K);
	CHECK_EQ(pci_endpoint_dma_read(d->ep, 0, 0, IOVA, &v, 8, NULL), -EFAULT);
	/* (Through ATS that is a translation with R = W = 0, not a fault: nothing more is
	 * dropped.) */
	CHECK_EQ(ev.fate[VTD_FAULT_PFO], 5);
	/* An untranslated request faults, and is dropped too (PFO still set)... */
	CHECK_EQ(robust_xlate(m->vtd, d->rid, IOMMU_PASID_INVALID, IOVA, false).status, PCI_UR);
	CHECK_EQ(ev.fate[VTD_FAULT_PFO], 6);
	/* ...until software clears the records and PFO: recording resumes. */
	clear_faults(m->vtd);
	fsts = mmio32(m->vtd, VTD_REG_FSTS);
	CHECK_EQ(fsts & (VTD_FSTS_PFO | VTD_FSTS_PPF), 0);
	CHECK_EQ(robust_xlate(m->vtd, d->rid, IOMMU_PASID_INVALID, IOVA, false).status, PCI_UR);
	CHECK_EQ(ev.fate[VTD_FAULT_RECORDED], nfr + 1);
	CHECK_EQ(recorded(m->vtd, d->rid, ev.last_reason), 1);
	for (unsigned i = 0; i < nfr - 1; i++) {
		struct pci_resp r =
		    robust_xlate(m->vtd, PCI_RID(4, i, 0), IOMMU_PASID_INVALID, 0x1000, false);

		CHECK(r.flags & PCI_RESP_FAULT_RECORDED);
	}
	CHECK_EQ(ev.fate[VTD_FAULT_RECORDED], 2 * nfr);
	CHECK_EQ(ev.fate[VTD_FAULT_OVERFLOW], 1);
	CHECK_EQ(ev.reports, 0);
	CHECK_EQ(machine_destroy(m), 0);
}

int main(void)
{
	RUN(test_endpoint_removed_mid_batch);
	RUN(test_endpoint_hung_mid_batch);
	RUN(test_endpoint_bad_completion);
	RUN(test_hung_device_stays_isolated);
	RUN(test_endpoint_removed_dma_api);
	RUN(test_fetch_errors);
	RUN(test_queue_fetch_error);
	RUN(test_wait_status_unwritable);
	RUN(test_fault_overflow);
	return CHECK_DONE();
}
