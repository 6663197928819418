/* SPDX-License-Identifier: MIT */
/*
 * The device tests' whole machine: VT-d model, driver, core, an endpoint with PASID and ATS
 * for a device, and that device's kernel driver on the DMA API. Check mode can be turned
 * on in the unit (stale IOTLB/context/PASID-cache entries) and in the endpoint (stale
 * device-TLB entries, compared with the unit's answer); both count what they find.
 */
#ifndef SOFTIOMMU_TEST_DSA_MACHINE_H
#define SOFTIOMMU_TEST_DSA_MACHINE_H

#include <softiommu/dma.h>
#include <softiommu/dsa_driver.h>
#include <softiommu/machine.h>
#include <stdio.h>
#include <string.h>

#define SYS_DATA 0x40000000ull /* plain memory below the page allocator for test buffers */
#define SYS_RID	 PCI_RID(0, 2, 0)

struct sys {
	struct machine *m;
	struct machine_dev *md;
	struct dsa_drv *drv;
	unsigned stale;	     /* unit check-mode reports */
	unsigned atc_stale;  /* endpoint check-mode reports */
	unsigned debug_hits; /* DMA-API debug reports */
	enum dma_debug_kind last_debug;
	char log[4][160]; /* the driver's first log lines */
	unsigned nlog;
};

struct sys_opts {
	int domain;	     /* IOMMU_DOMAIN_DMA, _DMA_FQ or _IDENTITY */
	uint8_t pasid_width; /* of the device; 0 = no PASID capability */
	bool use_pasid;	     /* the driver tries the kernel PASID */
	bool legacy;	     /* the unit without scalable mode */
	bool second_stage;   /* the driver's default domains on the second stage */
	bool debug;	     /* DMA-API debug checks */
	unsigned num_wqs;
	unsigned records; /* the driver's completion records; 0 = its default */
};

static inline void sys_on_stale(void *ctx, const struct vtd_stale *r)
{
	struct sys *s = ctx;

	if (s->stale++ < 3)
		fprintf(stderr, "stale: sid %#x pasid %u addr %#llx missing %s: %s\n", r->sid,
			r->has_pasid ? r->pasid : 0, (unsigned long long)r->addr, r->missing,
			r->detail);
}

static inline void sys_on_atc_stale(void *ctx, const struct pci_atc_mismatch *m)
{
	struct sys *s = ctx;

	if (__atomic_fetch_add(&s->atc_stale, 1, __ATOMIC_RELAXED) < 3)
		fprintf(stderr, "stale device TLB: pasid %u addr %#llx\n", m->pasid,
			(unsigned long long)m->addr);
}

static inline void sys_on_debug(void *ctx, const struct dma_debug_report *r)
{
	struct sys *s = ctx;

	s->debug_hits++;
	s->last_debug = r->kind;
}

static inline void sys_on_log(void *ctx, const char *line)
{
	struct sys *s = ctx;

	if (s->nlog < 4)
		snprintf(s->log[s->nlog], sizeof(s->log[0]), "%s", line);
	s->nlog++;
}

static inline void sys_legacy(struct machine_config *c)
{
	c->vtd.scalable = false;
	c->vtd.first_stage = false;
	c->vtd.second_stage = false;
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

/* 0, or the first error. */
static inline int sys_init(struct sys *s, const struct sys_opts *o)
{
	struct machine_config cfg;
	struct machine_dev_config dc = {.rid = SYS_RID,
					.pasid_width = o->pasid_width,
					.ats = true,
					.atc_sets = 64,
					.atc_ways = 8,
					.def_domain_type = o->domain};
	struct dsa_drv_config dcfg = {0};
	int ret;

	memset(s, 0, sizeof(*s));
	machine_config_default(&cfg);
	cfg.driver.quiet = true;
	cfg.vtd_cb.stale = sys_on_stale;
	cfg.vtd_cb_ctx = s;
	if (o->legacy)
		sys_legacy(&cfg);
	if (o->second_stage)
		cfg.driver.default_stage = INTEL_IOMMU_STAGE_SECOND;
	ret = machine_create(&cfg, &s->m);
	if (!ret)
		ret = machine_add_device(s->m, &dc, &s->md);
	if (ret)
		return ret;
	dcfg.ep = s->md->ep;
	dcfg.dma.dev = s->md->dev;
	dcfg.dma.mem = s->m->mem;
	dcfg.dma.alloc = s->m->alloc;
	dcfg.dma.fq_timeout_ms = DMA_FQ_TIMEOUT_NONE;
	dcfg.dma.debug = o->debug;
	dcfg.dma.debug_fn = sys_on_debug;
	dcfg.dma.debug_ctx = s;
	dcfg.use_pasid = o->use_pasid;
	dcfg.dsa.num_wqs = o->num_wqs;
	dcfg.records = o->records;
	dcfg.log = sys_on_log;
	dcfg.log_ctx = s;
	dcfg.timeout_ns = 30000000000ull; /* generous: sanitizers on a loaded machine */
	return dsa_drv_probe(&dcfg, &s->drv);
}

/* Check mode in the unit and the endpoint. */
static inline int sys_check(struct sys *s, bool on)
{
	struct pci_translation_agent ref = vtd_translation_agent(s->m->vtd);
	int ret = vtd_set_check(s->m->vtd, on);

	if (ret)
		return ret;
	return pci_endpoint_set_checker(s->md->ep, on ? &ref : NULL, on ? sys_on_atc_stale : NULL,
					s);
}

static inline int sys_fini(struct sys *s)
{
	int ret = dsa_drv_remove(s->drv);
	int ret2 = machine_destroy(s->m);

	return ret ? ret : ret2;
}

static inline uint8_t *sys_ptr(struct sys *s, uint64_t pa)
{
	return mem_ptr(s->m->mem, pa, 1);
}

#endif
