// SPDX-License-Identifier: MIT
/*
 * Paging domains: allocation (first or second stage, from the unit's capabilities), domain
 * IDs per unit, and the mapping ops - map/unmap through the page-table library, the
 * bridge from its gather to the core's, iotlb_sync and flush_iotlb_all through the cache
 * tags, iotlb_sync_map for caching-mode units, iova_to_phys, free.
 */
#include <stdlib.h>

#include "intel.h"

/* ---- domain IDs ------------------------------------------------------------------------ */

/*
 * Domain IDs 2 .. 2^(4 + 2 CAP.ND) - 1 (1.2). 0 is what caching-mode hardware tags
 * not-present entries with, 1 belongs to every pass-through entry.
 */
int intel_did_alloc(struct intel_iommu *unit, uint16_t *did)
{
	int ret = -ENOSPC;

	pthread_mutex_lock(&unit->did_lock);
	for (uint32_t w = 0; w < (unit->ndids + 63) / 64; w++) {
		uint64_t free = ~unit->did_map[w];

		if (!free)
			continue;
		uint32_t id = w * 64 + (uint32_t)__builtin_ctzll(free);
		if (id >= unit->ndids)
			break;
		unit->did_map[w] |= 1ull << (id % 64);
		*did = (uint16_t)id;
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&unit->did_lock);
	return ret;
}

void intel_did_free(struct intel_iommu *unit, uint16_t did)
{
	if (did < INTEL_DID_FIRST || did >= unit->ndids)
		return;
	pthread_mutex_lock(&unit->did_lock);
	unit->did_map[did / 64] &= ~(1ull << (did % 64));
	pthread_mutex_unlock(&unit->did_lock);
}

static struct intel_domain_unit *find_unit(struct intel_domain *dom, struct intel_iommu *unit)
{
	for (size_t i = 0; i < dom->nunits; i++) {
		if (dom->units[i].unit == unit)
			return &dom->units[i];
	}
	return NULL;
}

/*
 * One more attachment of `dom` on `unit`: its domain ID there, allocated with the first.
 * -ENOMEM, -ENOSPC (no free domain ID).
 */
int intel_domain_attach_unit(struct intel_domain *dom, struct intel_iommu *unit, uint16_t *did)
{
	struct intel_domain_unit *du;
	int ret = 0;

	pthread_mutex_lock(&dom->lock);
	du = find_unit(dom, unit);
	if (du) {
		du->refs++;
		*did = du->did;
		goto out;
	}
	if (dom->nunits == dom->units_cap) {
		size_t cap = dom->units_cap ? 2 * dom->units_cap : 2;
		struct intel_domain_unit *u = realloc(dom->units, cap * sizeof(*u));

		if (!u) {
			ret = -ENOMEM;
			goto out;
		}
		dom->units = u;
		dom->units_cap = cap;
	}
	ret = intel_did_alloc(unit, did);
	if (ret)
		goto out;
	dom->units[dom->nunits++] = (struct intel_domain_unit){unit, *did, 1};
	if (unit->cm || unit->rwbf)
		__atomic_fetch_add(&dom->map_flush_units, 1, __ATOMIC_RELAXED);
out:
	pthread_mutex_unlock(&dom->lock);
	return ret;
}

/* One attachment fewer; the last gives the domain ID back (its caches were invalidated by
 * the tear-down of every entry that used it). */
void intel_domain_detach_unit(struct intel_domain *dom, struct intel_iommu *unit)
{
	struct intel_domain_unit *du;

	pthread_mutex_lock(&dom->lock);
	du = find_unit(dom, unit);
	if (du && --du->refs == 0) {
		intel_did_free(unit, du->did);
		if (unit->cm || unit->rwbf)
			__atomic_fetch_sub(&dom->map_flush_units, 1, __ATOMIC_RELAXED);
		*du = dom->units[--dom->nunits];
	}
	pthread_mutex_unlock(&dom->lock);
}

int intel_iommu_domain_did(struct intel_iommu *iommu, struct iommu_domain *domain)
{
	struct intel_domain_unit *du;
	struct intel_domain *dom;
	int ret;

	if (!iommu || !domain)
		return -EINVAL;
	if (domain == &intel_identity_domain)
		return INTEL_DID_PT;
	if (!intel_is_paging(domain))
		return -EINVAL;
	dom = to_intel_domain(domain);
	pthread_mutex_lock(&dom->lock);
	du = find_unit(dom, iommu);
	ret = du ? du->did : -ENOENT;
	pthread_mutex_unlock(&dom->lock);
	return ret;
}

/*
 * Can `unit` walk this domain's table? Same memory, the stage, the levels (FL5LP, SAGAW)
 * and every page size the table may use. -EINVAL otherwise.
 */
int intel_domain_compatible(struct intel_domain *dom, struct intel_iommu *unit)
{
	if (mem_alloc_mem(dom->alloc) != unit->mem)
		return -EINVAL;
	if (dom->stage == INTEL_STAGE_FIRST) {
		if (!unit->fs || (dom->levels == 5 && !(unit->cap & VTD_CAP_FL5LP)))
			return -EINVAL;
		return (dom->domain.pgsize_bitmap & ~unit->fs_pgsizes) ? -EINVAL : 0;
	}
	if (!unit->ss || !(unit->sagaw & (1u << dom->aw)))
		return -EINVAL;
	return (dom->domain.pgsize_bitmap & ~unit->ss_pgsizes) ? -EINVAL : 0;
}

/* ---- mapping ----------------------------------------------------------------------------- */

/*
 * IOMMU_* protection to the page-table library's, or -1 when the stage cannot honour it.
 * A first-stage leaf is always readable and honours PRIV (U/S = 0); a second-stage leaf
 * has R and W, SNP for IOMMU_CACHE with snoop control, and no notion of privilege.
 */
static int pt_prot(const struct intel_domain *dom, unsigned int prot, bool snoop)
{
	unsigned p = 0;

	if (!(prot & (IOMMU_READ | IOMMU_WRITE)))
		return -1;
	if (dom->stage == INTEL_STAGE_FIRST) {
		p = PT_PROT_READ | ((prot & IOMMU_WRITE) ? PT_PROT_WRITE : 0) |
		    ((prot & IOMMU_PRIV) ? PT_PROT_PRIV : 0);
	} else {
		p = ((prot & IOMMU_READ) ? PT_PROT_READ : 0) |
		    ((prot & IOMMU_WRITE) ? PT_PROT_WRITE : 0) |
		    ((prot & IOMMU_CACHE) && snoop ? PT_PROT_SNOOP : 0);
	}
	return (int)p;
}

static int intel_map_pages(struct iommu_domain *domain, uint64_t iova, uint64_t paddr,
			   uint64_t pgsize, size_t pgcount, unsigned int prot, uint64_t *mapped)
{
	struct intel_domain *dom = to_intel_domain(domain);
	uint64_t size = pgsize * pgcount;
	/* prot[] is -1 for every value with a bit outside IOMMU_PROT_MASK (alloc below). */
	int p = prot <= IOMMU_PROT_MASK ? dom->prot[prot] : -1;
	int ret = p < 0 ? -EINVAL : pt_map(dom->pt, iova, paddr, size, (unsigned)p);

	/* pt_map() maps the whole range or, on any error, nothing. */
	*mapped = ret ? 0 : size;
	return ret;
}

/*
 * Hand the table pages pt_unmap() detached to the core's gather: they are freed after the
 * flush that covers them. If the list cannot grow, flush everything now and free the rest.
 */
static void hand_over_pages(struct intel_domain *dom, struct pt_gather *g,
			    struct iommu_iotlb_gather *gather)
{
	size_t i;

	for (i = 0; i < g->nfreed; i++) {
		if (iommu_pages_list_add(&gather->freelist, dom->alloc, g->freed[i]))
			break;
	}
	if (i < g->nfreed) {
		intel_cache_tag_flush_all(dom);
		for (; i < g->nfreed; i++)
			mem_free_page(dom->alloc, g->freed[i]);
	}
	pt_gather_disown(g);
}

static uint64_t intel_unmap_pages(struct iommu_domain *domain, uint64_t iova, uint64_t pgsize,
				  size_t pgcount, struct iommu_iotlb_gather *gather)
{
	struct intel_domain *dom = to_intel_domain(domain);
	uint64_t unmapped = 0;
	struct pt_gather g;

	pt_gather_init(&g);
	pt_unmap(dom->pt, iova, pgsize * pgcount, &g, &unmapped);
	/* A queued gather is flushed whole by the flush queue: no range to record (Linux). */
	if (g.end > g.start && !gather->queued) {
		if (iommu_iotlb_gather_is_disjoint(gather, g.start, g.end - g.start))
			iommu_iotlb_sync(domain, gather);
		iommu_iotlb_gather_add_range(gather, g.start, g.end - g.start);
	}
	if (g.nfreed)
		hand_over_pages(dom, &g, gather);
	else if (g.freed)
		pt_gather_release(&g);
	return unmapped;
}

/* IH when no table page was freed: only leaves changed (5.3, 5.7). */
static void intel_iotlb_sync(struct iommu_domain *domain, struct iommu_iotlb_gather *gather)
{
	struct intel_domain *dom = to_intel_domain(domain);

	if (gather->start > gather->end)
		intel_cache_tag_flush_all(dom); /* freed pages without a range: queued */
	else
		intel_cache_tag_flush_range(dom, gather->start, gather->end,
					    iommu_pages_list_empty(&gather->freelist));
}

static int intel_iotlb_sync_map(struct iommu_domain *domain, uint64_t iova, uint64_t size)
{
	struct intel_domain *dom = to_intel_domain(domain);

	if (__atomic_load_n(&dom->map_flush_units, __ATOMIC_RELAXED))
		intel_cache_tag_flush_range_np(dom, iova, iova + size - 1);
	return 0;
}

static void intel_flush_iotlb_all(struct iommu_domain *domain)
{
	intel_cache_tag_flush_all(to_intel_domain(domain));
}

static int intel_iova_to_phys(struct iommu_domain *domain, uint64_t iova, uint64_t *paddr)
{
	int ret = pt_iova_to_phys(to_intel_domain(domain)->pt, iova, paddr);

	return ret == -EINVAL ? -ENOENT : ret;
}

static void intel_domain_free(struct iommu_domain *domain)
{
	struct intel_domain *dom = to_intel_domain(domain);

	/* The core frees only unattached domains: no tag and no domain ID is left. */
	for (size_t i = 0; i < dom->nunits; i++)
		intel_did_free(dom->units[i].unit, dom->units[i].did);
	pt_destroy(dom->pt);
	pthread_mutex_destroy(&dom->lock);
	free(dom->units);
	free(dom->tags);
	free(dom);
}

/* Set in attach.c: attach_dev and set_dev_pasid. */
int intel_paging_attach_dev(struct iommu_domain *domain, struct iommu_dev *dev,
			    struct iommu_domain *old);
int intel_paging_set_dev_pasid(struct iommu_domain *domain, struct iommu_dev *dev, uint32_t pasid,
			       struct iommu_domain *old);

static const struct iommu_domain_ops intel_paging_ops = {
    .attach_dev = intel_paging_attach_dev,
    .set_dev_pasid = intel_paging_set_dev_pasid,
    .map_pages = intel_map_pages,
    .unmap_pages = intel_unmap_pages,
    .iotlb_sync = intel_iotlb_sync,
    .iotlb_sync_map = intel_iotlb_sync_map,
    .flush_iotlb_all = intel_flush_iotlb_all,
    .iova_to_phys = intel_iova_to_phys,
    .free = intel_domain_free,
};

bool intel_is_paging(const struct iommu_domain *domain)
{
	return domain && domain->ops == &intel_paging_ops;
}

/* ---- allocation -------------------------------------------------------------------------- */

/* Which stage: the flag, else the unit's default with a fallback to what it has. */
static int pick_stage(const struct intel_iommu *unit, unsigned int flags, enum intel_stage *stage)
{
	bool fs_first = unit->default_stage != INTEL_IOMMU_STAGE_SECOND;

	if (flags & IOMMU_DOMAIN_ALLOC_FIRST_STAGE) {
		*stage = INTEL_STAGE_FIRST;
		return unit->fs ? 0 : -EOPNOTSUPP;
	}
	if (flags & IOMMU_DOMAIN_ALLOC_SECOND_STAGE) {
		*stage = INTEL_STAGE_SECOND;
		return unit->ss ? 0 : -EOPNOTSUPP;
	}
	if (unit->fs && (fs_first || !unit->ss))
		*stage = INTEL_STAGE_FIRST;
	else if (unit->ss)
		*stage = INTEL_STAGE_SECOND;
	else
		return -EOPNOTSUPP;
	return 0;
}

/*
 * Second stage: the smallest supported AW that covers MGAW (as Linux's agaw choice), else
 * the widest; the table translates min(MGAW, its width) bits (LGN.1 / SGN.4 beyond).
 */
static void ss_geometry(const struct intel_iommu *unit, unsigned *aw, unsigned *bits)
{
	*aw = 0;
	for (unsigned n = VTD_AW_39BIT; n <= VTD_AW_57BIT; n++) {
		if (!(unit->sagaw & (1u << n)))
			continue;
		*aw = n;
		if (30 + 9 * n >= unit->mgaw)
			break;
	}
	*bits = 30 + 9 * *aw < unit->mgaw ? 30 + 9 * *aw : unit->mgaw;
}

static int make_table(struct intel_domain *dom, const struct intel_iommu *unit)
{
	struct pt_config cfg = {.alloc = unit->alloc};
	unsigned bits = 0;

	if (dom->stage == INTEL_STAGE_FIRST) {
		/* 4.1: x86-64 paging; A and D preset so the walk never writes them (Linux). */
		dom->levels = unit->fs_5level ? 5 : 4;
		cfg.format = PT_FMT_X86_64;
		cfg.page_sizes = unit->fs_pgsizes;
		cfg.flags = PT_CFG_SET_AD;
	} else {
		ss_geometry(unit, &dom->aw, &bits);
		dom->levels = dom->aw + 2;
		cfg.format = PT_FMT_VTD_SS;
		cfg.page_sizes = unit->ss_pgsizes;
		cfg.iova_bits = bits;
	}
	cfg.levels = dom->levels;
	return pt_create(&cfg, &dom->pt);
}

int intel_domain_alloc_paging(struct iommu_dev *dev, unsigned int flags, struct iommu_domain **out)
{
	struct intel_iommu *unit = to_intel_iommu(dev->iommu);
	struct intel_domain *dom;
	enum intel_stage stage;
	bool snoop = unit->ecap & VTD_ECAP_SC;
	int ret = pick_stage(unit, flags, &stage);

	if (ret)
		return ret;
	dom = calloc(1, sizeof(*dom));
	if (!dom)
		return -ENOMEM;
	dom->stage = stage;
	dom->alloc = unit->alloc;
	ret = make_table(dom, unit);
	if (ret) {
		free(dom);
		return ret;
	}
	pthread_mutex_init(&dom->lock, NULL);
	dom->root = pt_root(dom->pt);
	dom->domain.ops = &intel_paging_ops;
	dom->domain.pgsize_bitmap =
	    stage == INTEL_STAGE_FIRST ? unit->fs_pgsizes : unit->ss_pgsizes;
	dom->domain.aperture_start = 0;
	dom->domain.aperture_end = pt_iova_limit(dom->pt) - 1;
	for (unsigned p = 0; p <= IOMMU_PROT_MASK; p++)
		dom->prot[p] = (int8_t)(p & ~IOMMU_PROT_MASK ? -1 : pt_prot(dom, p, snoop));
	*out = &dom->domain;
	return 0;
}
