// SPDX-License-Identifier: MIT
/*
 * Probing a unit (digest section 1): capabilities from CAP/ECAP, the enable sequence,
 * registration with the core; probing and releasing devices; the driver's ops table.
 *
 * Enable sequence (as Linux's init_dmars / intel_iommu_init):
 *   1. translation off if it was left on;
 *   2. an empty root table, latched with SRTP (1.5);
 *   3. queued invalidation: QIE off, IQT 0, IQA (256-bit descriptors in scalable mode), QIE
 *      on (1.7) - or register-based invalidation on a legacy unit without ECAP.QI;
 *   4. a global flush: context cache, PASID cache (scalable) and IOTLB, plus the write
 *      buffer - whatever an earlier user of the unit left cached goes;
 *   5. translation on (TE). Every GSTS change is polled with a bounded loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intel.h"

/* ---- capabilities ---------------------------------------------------------------------- */

static void decode_caps(struct intel_iommu *unit)
{
	uint64_t cap = unit->cap, ecap = unit->ecap;

	unit->scalable = ecap & VTD_ECAP_SMTS;
	unit->fs = unit->scalable && (ecap & VTD_ECAP_FLTS);
	/* Legacy mode always translates with the second stage (2.3). */
	unit->ss = !unit->scalable || (ecap & VTD_ECAP_SLTS);
	unit->pt = ecap & VTD_ECAP_PT;
	unit->dt = ecap & VTD_ECAP_DT;
	unit->pasid = unit->scalable && (ecap & VTD_ECAP_PASID);
	unit->cm = cap & VTD_CAP_CM;
	unit->rwbf = cap & VTD_CAP_RWBF;
	unit->psi = cap & VTD_CAP_PSI;
	unit->dit = ecap & VTD_ECAP_DIT;
	unit->pwsnp = ecap & VTD_ECAP_SMPWCS;
	unit->mamv = (unsigned)VTD_GET(cap, VTD_CAP_MAMV);
	unit->mgaw = (unsigned)VTD_GET(cap, VTD_CAP_MGAW) + 1;
	unit->sagaw = (unsigned)VTD_GET(cap, VTD_CAP_SAGAW) & 0xe; /* 39/48/57-bit */
	unit->ss_pgsizes = PT_PAGE_4K | ((cap & VTD_CAP_SLLPS_2M) ? PT_PAGE_2M : 0) |
			   ((cap & VTD_CAP_SLLPS_1G) ? PT_PAGE_1G : 0);
	/* First-stage 2 MiB pages are architectural; 1 GiB needs CAP.FL1GP (4.1). */
	unit->fs_pgsizes = PT_PAGE_4K | PT_PAGE_2M | ((cap & VTD_CAP_FL1GP) ? PT_PAGE_1G : 0);
	unit->ndids = 1u << (4 + 2 * (unsigned)VTD_GET(cap, VTD_CAP_ND));
	if (unit->ndids > 65536)
		unit->ndids = 65536;
}

/* Registers a unit cannot have: the driver would program garbage. -ENODEV. */
static int check_caps(const struct intel_iommu *unit)
{
	if (unit->ver == 0 || unit->cap == ~0ull || unit->ecap == ~0ull)
		return -ENODEV;
	if (unit->scalable && !(unit->ecap & VTD_ECAP_QI))
		return -ENODEV; /* SMTS implies QI (1.3) */
	if (unit->dt && !(unit->ecap & VTD_ECAP_QI))
		return -ENODEV; /* device-TLB invalidation exists only as a descriptor */
	if (unit->ss && !unit->sagaw)
		return -ENODEV;
	if (!unit->fs && !unit->ss)
		return -ENODEV;
	if (VTD_GET(unit->cap, VTD_CAP_ND) > 6)
		return -ENODEV;
	return 0;
}

static int read_regs(struct intel_iommu *unit)
{
	uint64_t ver = 0;
	int ret = intel_reg_read(unit, VTD_REG_VER, 4, &ver);

	if (!ret)
		ret = intel_reg_read(unit, VTD_REG_CAP, 8, &unit->cap);
	if (!ret)
		ret = intel_reg_read(unit, VTD_REG_ECAP, 8, &unit->ecap);
	unit->ver = (uint32_t)ver;
	return ret;
}

/* ---- enable / disable ------------------------------------------------------------------ */

/* Step 4 of the sequence: everything cached by anyone before. */
static int global_flush(struct intel_iommu *unit)
{
	struct intel_batch b;

	if (unit->skip == INTEL_IOMMU_INV_WRITE_BUFFER) {
		INTEL_STAT_INC(unit, skipped[INTEL_IOMMU_INV_WRITE_BUFFER]);
		return 0;
	}
	intel_batch_init(&b, unit);
	intel_batch_add(&b, intel_desc_cc_global());
	if (unit->scalable)
		intel_batch_add(&b, intel_desc_pc_global());
	intel_batch_add(&b, intel_desc_iotlb_global(unit));
	intel_batch_flush(&b);
	intel_flush_write_buffer(unit);
	/* A unit whose queue is not processed is reported, not refused: the caches are
	 * empty after reset, so translation is still correct. */
	return 0;
}

static int enable(struct intel_iommu *unit)
{
	uint64_t gsts = 0;
	int ret = intel_reg_read(unit, VTD_REG_GSTS, 4, &gsts);

	if (!ret && (gsts & VTD_GSTS_TES))
		ret = intel_gcmd(unit, (uint32_t)VTD_GCMD_TE, false);
	if (ret)
		return ret == -ETIMEDOUT ? -ENODEV : ret;
	ret = intel_root_init(unit);
	if (ret)
		return ret;
	ret = intel_qi_init(unit);
	if (!ret)
		ret = global_flush(unit);
	if (!ret)
		ret = intel_gcmd(unit, (uint32_t)VTD_GCMD_TE, true);
	if (ret) {
		intel_qi_disable(unit);
		intel_qi_free(unit);
		intel_root_free(unit);
	}
	return ret;
}

static void disable(struct intel_iommu *unit)
{
	intel_gcmd(unit, (uint32_t)VTD_GCMD_TE, false);
	intel_qi_disable(unit);
	intel_qi_free(unit);
	intel_root_free(unit);
}

/* ---- create / destroy -------------------------------------------------------------------- */

int intel_alloc_pages(struct intel_iommu *unit, unsigned order, uint64_t *pa)
{
	int ret = mem_alloc_pages(unit->alloc, order, pa);

	if (ret || *pa)
		return ret;
	unit->zero_order = (int)order;
	return mem_alloc_pages(unit->alloc, order, pa);
}

static int check_config(const struct intel_iommu_config *cfg)
{
	if (!cfg || !cfg->mmio.read || !cfg->mmio.write || !cfg->alloc)
		return -EINVAL;
	if (cfg->batch > INTEL_IOMMU_BATCH_MAX || (unsigned)cfg->default_stage > 2 ||
	    (unsigned)cfg->skip >= INTEL_IOMMU_INV_NR)
		return -EINVAL;
	if (cfg->queue_pages > INTEL_IOMMU_QUEUE_PAGES_MAX ||
	    (cfg->queue_pages & (cfg->queue_pages - 1)))
		return -EINVAL;
	return 0;
}

static struct intel_iommu *unit_alloc(const struct intel_iommu_config *cfg)
{
	struct intel_iommu *unit = calloc(1, sizeof(*unit));

	if (!unit)
		return NULL;
	snprintf(unit->name, sizeof(unit->name), "%s", cfg->name ? cfg->name : "dmar");
	unit->mmio = cfg->mmio;
	unit->alloc = cfg->alloc;
	unit->mem = mem_alloc_mem(cfg->alloc);
	unit->default_stage = cfg->default_stage;
	unit->batch = cfg->batch ? cfg->batch : INTEL_IOMMU_BATCH_DEFAULT;
	unit->poll_limit = cfg->poll_limit ? cfg->poll_limit : INTEL_IOMMU_POLL_DEFAULT;
	unit->skip = cfg->skip;
	unit->qi.pages = cfg->queue_pages;
	unit->quiet = cfg->quiet;
	unit->zero_order = -1;
	pthread_mutex_init(&unit->ctx_lock, NULL);
	pthread_mutex_init(&unit->did_lock, NULL);
	pthread_mutex_init(&unit->qi.lock, NULL);
	return unit;
}

static void unit_free(struct intel_iommu *unit)
{
	if (unit->zero_order >= 0)
		mem_free_pages(unit->alloc, 0, (unsigned)unit->zero_order);
	pthread_mutex_destroy(&unit->ctx_lock);
	pthread_mutex_destroy(&unit->did_lock);
	pthread_mutex_destroy(&unit->qi.lock);
	free(unit->did_map);
	free(unit);
}

int intel_iommu_create(struct iommu_core *core, const struct intel_iommu_config *cfg,
		       struct intel_iommu **out)
{
	struct intel_iommu *unit;
	int ret;

	if (!core || !out || check_config(cfg))
		return -EINVAL;
	unit = unit_alloc(cfg);
	if (!unit)
		return -ENOMEM;
	ret = read_regs(unit);
	if (!ret) {
		decode_caps(unit);
		ret = check_caps(unit);
	}
	unit->fs_5level = cfg->fs_5level && (unit->cap & VTD_CAP_FL5LP);
	if (!ret) {
		unit->did_map = calloc((unit->ndids + 63) / 64, sizeof(uint64_t));
		ret = unit->did_map ? 0 : -ENOMEM;
	}
	if (ret)
		goto err_free;
	/* Domain IDs 0 (caching mode) and 1 (pass-through) are never handed out. */
	unit->did_map[0] = (1ull << INTEL_DID_CM) | (1ull << INTEL_DID_PT);
	ret = enable(unit);
	if (ret)
		goto err_free;
	unit->iommu.ops = &intel_iommu_ops;
	unit->iommu.name = unit->name;
	unit->iommu.max_pasids =
	    unit->pasid ? 1u << ((unsigned)VTD_GET(unit->ecap, VTD_ECAP_PSS) + 1) : 0;
	ret = iommu_device_register(core, &unit->iommu);
	if (ret) {
		disable(unit);
		goto err_free;
	}
	*out = unit;
	return 0;
err_free:
	unit_free(unit);
	return ret;
}

static bool dids_in_use(struct intel_iommu *unit)
{
	bool used = false;

	pthread_mutex_lock(&unit->did_lock);
	used = unit->did_map[0] != ((1ull << INTEL_DID_CM) | (1ull << INTEL_DID_PT));
	for (uint32_t w = 1; w < (unit->ndids + 63) / 64; w++)
		used |= unit->did_map[w] != 0;
	pthread_mutex_unlock(&unit->did_lock);
	return used;
}

int intel_iommu_destroy(struct intel_iommu *iommu)
{
	int ret;

	if (!iommu)
		return 0;
	if (dids_in_use(iommu))
		return -EBUSY;
	ret = iommu_device_unregister(&iommu->iommu);
	if (ret)
		return ret;
	disable(iommu);
	unit_free(iommu);
	return 0;
}

struct iommu_device *intel_iommu_device(struct intel_iommu *iommu)
{
	return iommu ? &iommu->iommu : NULL;
}

bool intel_iommu_is_scalable(const struct intel_iommu *iommu)
{
	return iommu && iommu->scalable;
}

uint64_t intel_iommu_root_table(const struct intel_iommu *iommu)
{
	return iommu ? iommu->root : 0;
}

/* ---- devices ------------------------------------------------------------------------------ */

/*
 * Record what the hardware needs to know about `dev`: its requester ID, whether it uses
 * ATS (the device has it and the unit has device TLBs) and PASIDs. Nothing is written to
 * memory until the first attach.
 */
static int intel_probe_device(struct iommu_dev *dev)
{
	struct intel_iommu *unit = to_intel_iommu(dev->iommu);
	struct intel_dev *idev = calloc(1, sizeof(*idev));

	if (!idev)
		return -ENOMEM;
	idev->unit = unit;
	idev->dev = dev;
	idev->sid = dev->rid;
	idev->ats = dev->ats && unit->dt;
	idev->pasid = unit->pasid && dev->max_pasids > 0;
	/* A new device on this requester ID answers again. */
	__atomic_fetch_and(&unit->gone[idev->sid / 64], ~(1ull << (idev->sid % 64)),
			   __ATOMIC_RELAXED);
	dev->priv = idev;
	return 0;
}

/* The RID is blocked and no PASID attached: take the context entry and tables away. */
static void intel_release_device(struct iommu_dev *dev)
{
	struct intel_dev *idev = to_intel_dev(dev);

	if (!idev)
		return;
	if (idev->unit->scalable)
		intel_sm_context_clear(idev);
	else
		intel_legacy_context_teardown(idev);
	intel_pasid_dir_free(idev);
	free(idev);
	dev->priv = NULL;
}

/* Without ECAP.PT there are no pass-through entries: translated default domains only. */
static int intel_def_domain_type(struct iommu_dev *dev)
{
	return to_intel_iommu(dev->iommu)->pt ? 0 : IOMMU_DOMAIN_DMA;
}

/* Deferred flushing is cheap unless every map needs a flush too (caching mode). */
static bool intel_capable(struct iommu_dev *dev, enum iommu_cap cap)
{
	struct intel_iommu *unit = to_intel_iommu(dev->iommu);

	switch (cap) {
	case IOMMU_CAP_CACHE_COHERENCY:
		return unit->ecap & VTD_ECAP_SC;
	case IOMMU_CAP_DEFERRED_FLUSH:
		return !unit->cm;
	}
	return false;
}

const struct iommu_ops intel_iommu_ops = {
    .probe_device = intel_probe_device,
    .release_device = intel_release_device,
    .domain_alloc_paging = intel_domain_alloc_paging,
    .def_domain_type = intel_def_domain_type,
    .capable = intel_capable,
    .identity_domain = &intel_identity_domain,
    .blocked_domain = &intel_blocked_domain,
};

bool intel_iommu_dev_gone(struct iommu_dev *dev)
{
	struct intel_dev *idev;

	if (!dev || dev->iommu->ops != &intel_iommu_ops || !dev->priv)
		return false;
	idev = to_intel_dev(dev);
	return intel_sid_gone(idev->unit, idev->sid);
}
