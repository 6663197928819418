// SPDX-License-Identifier: MIT
/*
 * DMA handles: creation from a probed device's default domain, the IOVA space, per-thread
 * slots, teardown, statistics and the calling thread's last map error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dma/dma_internal.h"
#include "util/zalloc.h"

/* Handles by default domain: two handles on one domain would hand out the same IOVAs. */
static pthread_mutex_t dma_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dma_dev *dma_registry;

static atomic_uint dma_next_slot;
static _Thread_local unsigned dma_tls_slot; /* slot index + 1; 0 = not assigned yet */
static _Thread_local int dma_tls_error;

struct dma_slot *dma_this_slot(struct dma_dev *dev)
{
	unsigned s = dma_tls_slot;

	if (DMA_UNLIKELY(!s)) {
		s = atomic_fetch_add_explicit(&dma_next_slot, 1, memory_order_relaxed) %
			DMA_FQ_MAX +
		    1;
		dma_tls_slot = s;
	}
	return &dev->slots[s - 1];
}

void dma_set_error(int err)
{
	dma_tls_error = err;
}

uint64_t dma_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int dma_mapping_error(struct dma_dev *dev, dma_addr_t addr)
{
	(void)dev;
	if (addr != DMA_MAPPING_ERROR)
		return 0;
	return dma_tls_error < 0 ? dma_tls_error : -ENOMEM;
}

/* ---- creation ---------------------------------------------------------------------------- */

static int dma_check_config(const struct dma_dev_config *cfg)
{
	if (!cfg->dev || !cfg->mem || cfg->dma_mask_bits > 64 || cfg->fq_size > 65536)
		return -EINVAL;
	if (cfg->alloc && mem_alloc_mem(cfg->alloc) != cfg->mem)
		return -EINVAL;
	return 0;
}

/*
 * The IOVA space of a translated default domain: its aperture in units of its smallest
 * page, never pfn 0 (so that no DMA address is 0), below the DMA mask, and without the
 * interrupt window, which Intel's driver reserves in every DMA domain.
 */
static int dma_iova_setup(struct dma_dev *dev)
{
	struct iommu_domain *d = dev->domain;
	uint64_t gran = d->pgsize_bitmap & -d->pgsize_bitmap;
	struct iova_config ic = {0};
	uint64_t last;
	int ret;

	if (!gran)
		return -EINVAL;
	dev->shift = (unsigned)__builtin_ctzll(gran);
	dev->gmask = gran - 1;
	if (dev->shift < 12 || dev->shift > 30)
		return -EINVAL;
	last = d->aperture_end < dev->dma_mask ? d->aperture_end : dev->dma_mask;
	ic.granule_shift = dev->shift;
	/* Both VT-d table formats have 8-byte entries: 8 granules' entries share a 64-byte
	 * line. Threads then map and unmap in lines of their own (iova_config). */
	ic.line_pfns = 8;
	ic.start_pfn = (d->aperture_start + dev->gmask) >> dev->shift;
	if (!ic.start_pfn)
		ic.start_pfn = 1;
	ic.limit_pfn = ((last + 1) >> dev->shift) - 1;
	if (last == UINT64_MAX)
		ic.limit_pfn = UINT64_MAX >> dev->shift;
	if (ic.limit_pfn >= (1ull << 52))
		ic.limit_pfn = (1ull << 52) - 1;
	if (last < gran || ic.start_pfn > ic.limit_pfn)
		return -EINVAL;
	dev->limit_pfn = ic.limit_pfn;
	ret = iova_domain_create(&ic, &dev->iovad);
	if (ret)
		return ret;
	ret = iova_reserve(dev->iovad, DMA_MSI_START >> dev->shift, DMA_MSI_END >> dev->shift);
	if (ret) {
		iova_domain_destroy(dev->iovad);
		dev->iovad = NULL;
	}
	return ret;
}

static int dma_mode_of(const struct iommu_domain *d, enum dma_mode *mode)
{
	switch (d->type) {
	case IOMMU_DOMAIN_IDENTITY:
		*mode = DMA_MODE_DIRECT;
		return 0;
	case IOMMU_DOMAIN_DMA:
		*mode = DMA_MODE_STRICT;
		return 0;
	case IOMMU_DOMAIN_DMA_FQ:
		*mode = DMA_MODE_LAZY;
		return 0;
	default:
		return -EINVAL;
	}
}

static int dma_registry_add(struct dma_dev *dev)
{
	int ret = 0;

	pthread_mutex_lock(&dma_registry_lock);
	for (struct dma_dev *d = dma_registry; d; d = d->next) {
		if (d->domain == dev->domain && dev->mode != DMA_MODE_DIRECT) {
			ret = -EBUSY;
			break;
		}
		if (d->idev == dev->idev) {
			ret = -EBUSY;
			break;
		}
	}
	if (!ret) {
		dev->next = dma_registry;
		dma_registry = dev;
	}
	pthread_mutex_unlock(&dma_registry_lock);
	return ret;
}

static void dma_registry_del(struct dma_dev *dev)
{
	pthread_mutex_lock(&dma_registry_lock);
	for (struct dma_dev **p = &dma_registry; *p; p = &(*p)->next) {
		if (*p == dev) {
			*p = dev->next;
			break;
		}
	}
	pthread_mutex_unlock(&dma_registry_lock);
}

static struct dma_dev *dma_dev_alloc(void)
{
	struct dma_dev *dev = zalloc_aligned(128, sizeof(*dev));

	if (!dev)
		return NULL;
	for (unsigned i = 0; i < DMA_FQ_MAX; i++)
		pthread_mutex_init(&dev->slots[i].lock, NULL);
	pthread_mutex_init(&dev->pasid_lock, NULL);
	dev->pasid = IOMMU_PASID_INVALID;
	atomic_store(&dev->pasid_status, "not enabled");
	return dev;
}

static void dma_dev_free(struct dma_dev *dev)
{
	for (unsigned i = 0; i < DMA_FQ_MAX; i++)
		pthread_mutex_destroy(&dev->slots[i].lock);
	pthread_mutex_destroy(&dev->pasid_lock);
	free(dev);
}

static void dma_dev_fill(struct dma_dev *dev, const struct dma_dev_config *cfg)
{
	dev->idev = cfg->dev;
	dev->mem = cfg->mem;
	dev->alloc = cfg->alloc;
	dev->timing = cfg->timing;
	dev->dma_mask = !cfg->dma_mask_bits || cfg->dma_mask_bits == 64
			    ? UINT64_MAX
			    : (1ull << cfg->dma_mask_bits) - 1;
	dev->max_seg_size = cfg->max_seg_size ? cfg->max_seg_size : DMA_MAX_SEG_SIZE_DEFAULT;
	dev->iova_flags = IOVA_ALLOC_ALIGN | (cfg->forcedac ? 0 : IOVA_ALLOC_PREFER_32);
	dev->fq_size = cfg->fq_size ? cfg->fq_size : DMA_FQ_SIZE_DEFAULT;
	dev->fq_timeout_ms = cfg->fq_timeout_ms ? cfg->fq_timeout_ms : DMA_FQ_TIMEOUT_MS_DEFAULT;
	/* DMA snoops the CPU caches only where the unit says so (Linux's dma_info_to_prot). */
	if (iommu_capable(cfg->dev, IOMMU_CAP_CACHE_COHERENCY))
		dev->prot_extra = IOMMU_CACHE;
}

int dma_dev_create(const struct dma_dev_config *cfg, struct dma_dev **out)
{
	struct dma_dev *dev;
	int ret;

	if (!cfg || !out)
		return -EINVAL;
	ret = dma_check_config(cfg);
	if (ret)
		return ret;
	dev = dma_dev_alloc();
	if (!dev)
		return -ENOMEM;
	dma_dev_fill(dev, cfg);
	dev->domain = iommu_get_default_domain(cfg->dev);
	ret = dev->domain ? dma_mode_of(dev->domain, &dev->mode) : -EINVAL;
	if (!ret && dev->mode != DMA_MODE_DIRECT)
		ret = dma_iova_setup(dev);
	if (!ret)
		ret = dma_debug_create(dev, cfg);
	if (!ret && dev->mode == DMA_MODE_LAZY)
		ret = dma_fq_init(dev);
	if (!ret)
		ret = dma_registry_add(dev);
	if (ret) {
		dma_fq_destroy(dev);
		dma_debug_destroy(dev);
		iova_domain_destroy(dev->iovad);
		dma_dev_free(dev);
		return ret;
	}
	*out = dev;
	return 0;
}

/* ---- teardown ------------------------------------------------------------------------------ */

static uint64_t dma_live(struct dma_dev *dev)
{
	uint64_t maps = 0, unmaps = 0;

	for (unsigned i = 0; i < DMA_FQ_MAX; i++) {
		maps += atomic_load_explicit(&dev->slots[i].maps, memory_order_relaxed);
		unmaps += atomic_load_explicit(&dev->slots[i].unmaps, memory_order_relaxed);
	}
	return maps - unmaps;
}

int dma_dev_destroy(struct dma_dev *dev)
{
	uint64_t live;

	if (!dev)
		return 0;
	dma_pasid_teardown(dev);
	live = dma_live(dev);
	/* Reports and unmaps each leak it knows of (queued in lazy mode, flushed below). */
	dma_debug_leaks(dev);
	dma_fq_destroy(dev);
	dma_registry_del(dev);
	dma_debug_destroy(dev);
	iova_domain_destroy(dev->iovad);
	dma_dev_free(dev);
	return live ? -EBUSY : 0;
}

/* ---- queries ------------------------------------------------------------------------------- */

enum dma_mode dma_dev_mode(const struct dma_dev *dev)
{
	return dev->mode;
}

struct iommu_dev *dma_dev_iommu(const struct dma_dev *dev)
{
	return dev->idev;
}

struct iommu_domain *dma_dev_domain(const struct dma_dev *dev)
{
	return dev->domain;
}

bool dma_debug_enabled(const struct dma_dev *dev)
{
	return dev && dev->debug;
}

int dma_get_stats(struct dma_dev *dev, struct dma_stats *st)
{
	if (!dev || !st)
		return -EINVAL;
	*st = (struct dma_stats){0};
	for (unsigned i = 0; i < DMA_FQ_MAX; i++) {
		struct dma_slot *s = &dev->slots[i];

		st->maps += atomic_load_explicit(&s->maps, memory_order_relaxed);
		st->unmaps += atomic_load_explicit(&s->unmaps, memory_order_relaxed);
		st->map_errors += atomic_load_explicit(&s->map_errors, memory_order_relaxed);
		st->syncs += atomic_load_explicit(&s->syncs, memory_order_relaxed);
		st->fq_queued += atomic_load_explicit(&s->queued, memory_order_relaxed);
		st->inv_ns += atomic_load_explicit(&s->inv_ns, memory_order_relaxed);
	}
	st->live = st->maps - st->unmaps;
	st->fq_pending = dev->mode == DMA_MODE_LAZY ? dma_fq_pending(dev) : 0;
	st->fq_flush_full = atomic_load(&dev->flushes[DMA_FLUSH_FULL]);
	st->fq_flush_timeout = atomic_load(&dev->flushes[DMA_FLUSH_TIMEOUT]);
	st->fq_flush_explicit = atomic_load(&dev->flushes[DMA_FLUSH_EXPLICIT]);
	st->fq_flush_nospace = atomic_load(&dev->flushes[DMA_FLUSH_NOSPACE]);
	st->iova_retries = atomic_load(&dev->iova_retries);
	st->inv_ns += atomic_load(&dev->flush_ns);
	return 0;
}
