/* SPDX-License-Identifier: MIT */
/*
 * A mock IOMMU driver for the core's tests. It records every op call, keeps the
 * "hardware" state of each device (which domain its RID and each PASID use) so tests can
 * check that the core drives the hardware exactly as its bookkeeping says, checks that the
 * `old` the core passes is what the hardware really had, can be told to fail its next
 * call of an op, and keeps a fake page table (a small array of mapped pages) per paging
 * domain, with one "table page" from a real mem_alloc per 2 MiB region holding 4 KiB
 * pages, so freed table pages and their release after the flush can be checked.
 *
 * Three drivers share the code: mock_ops (full), mock_ops_other (a second driver, for
 * owner checks) and mock_ops_bare (no identity domain, a blocked domain without
 * set_dev_pasid, no capabilities).
 */
#ifndef SOFTIOMMU_TEST_MOCK_IOMMU_H
#define SOFTIOMMU_TEST_MOCK_IOMMU_H

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <softiommu/iommu.h>

enum mock_op {
	MOCK_PROBE,
	MOCK_RELEASE,
	MOCK_ALLOC,
	MOCK_FREE,
	MOCK_ATTACH_DEV,
	MOCK_SET_DEV_PASID,
	MOCK_MAP,
	MOCK_UNMAP,
	MOCK_SYNC,
	MOCK_SYNC_MAP,
	MOCK_FLUSH_ALL,
	MOCK_IOVA_TO_PHYS,
	MOCK_NR_OPS,
};

/* One recorded call. For MOCK_SYNC: iova..paddr = gather start..end, count = freed pages. */
struct mock_call {
	enum mock_op op;
	struct iommu_domain *domain;
	struct iommu_domain *old;
	struct iommu_dev *dev;
	uint32_t pasid;
	uint64_t iova, paddr, pgsize, count;
	struct iommu_domain *seen; /* the core's lookup for (dev, pasid) during the op */
	int ret;
};

#define MOCK_LOG_MAX	  4096
#define MOCK_HW_PASIDS	  256
#define MOCK_REGION_SHIFT 21 /* one table page per 2 MiB of 4 KiB pages */

struct mock_iommu {
	struct iommu_device iommu;
	pthread_mutex_t lock;
	struct mock_call log[MOCK_LOG_MAX];
	size_t nlog; /* calls logged (at most MOCK_LOG_MAX are kept) */
	unsigned calls[MOCK_NR_OPS];

	/* Failure injection: a nonzero value is returned once by the next call of that op. */
	int fail_probe, fail_alloc, fail_attach_dev, fail_set_dev_pasid, fail_sync_map;
	int fail_map_after;	   /* > 0: map_pages fails -ENOMEM after this many pages */
	bool map_no_progress;	   /* map_pages returns 0 without mapping anything */
	bool map_overclaim;	   /* map_pages reports twice what it mapped */
	bool alloc_unusable;	   /* domain_alloc_paging returns a domain without page sizes */
	bool paging_no_pasid;	   /* new paging domains have no set_dev_pasid */
	bool no_second_stage;	   /* IOMMU_DOMAIN_ALLOC_SECOND_STAGE -> -EOPNOTSUPP */
	int require_type;	   /* def_domain_type's answer */
	bool deferred_flush;	   /* capable(IOMMU_CAP_DEFERRED_FLUSH) */
	uint64_t pgsize_bitmap;	   /* for new paging domains */
	uint64_t aperture_end;	   /* for new paging domains */
	bool lookup_during_attach; /* record the core's lookup inside attach ops */

	struct mem *mem;
	struct mem_alloc *alloc; /* table pages */
	int live_domains;	 /* paging domains allocated and not freed */
	unsigned mismatches;	 /* `old` differed from the hardware state */
};

/* The "hardware" state of one device (dev->priv). */
struct mock_dev {
	struct iommu_domain *rid;
	struct {
		uint32_t pasid;
		struct iommu_domain *domain; /* NULL = blocked */
	} pasid[MOCK_HW_PASIDS];
	unsigned npasid;
};

struct mock_pte {
	uint64_t iova, pa, size;
	unsigned prot;
};

struct mock_table_page {
	uint64_t region; /* iova >> MOCK_REGION_SHIFT */
	uint64_t pa;
	unsigned used; /* 4 KiB ptes in the region */
};

struct mock_domain {
	struct iommu_domain domain;
	struct mock_iommu *mi;
	pthread_mutex_t lock;
	unsigned flags;
	struct mock_pte *ptes;
	size_t nptes, cap;
	struct mock_table_page tables[64];
	unsigned ntables;
};

#define mock_container_of(ptr, type, member)                                                       \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline struct mock_iommu *mock_of_dev(struct iommu_dev *dev)
{
	return mock_container_of(dev->iommu, struct mock_iommu, iommu);
}

static inline struct mock_domain *to_mock_domain(struct iommu_domain *d)
{
	return mock_container_of(d, struct mock_domain, domain);
}

static void mock_log(struct mock_iommu *mi, struct mock_call c)
{
	pthread_mutex_lock(&mi->lock);
	mi->calls[c.op]++;
	if (mi->nlog < MOCK_LOG_MAX)
		mi->log[mi->nlog] = c;
	mi->nlog++;
	pthread_mutex_unlock(&mi->lock);
}

/* Take a one-shot failure. */
static int mock_take(struct mock_iommu *mi, int *fail)
{
	int ret;

	pthread_mutex_lock(&mi->lock);
	ret = *fail;
	*fail = 0;
	pthread_mutex_unlock(&mi->lock);
	return ret;
}

/* ---- hardware state --------------------------------------------------------------- */

static struct iommu_domain **mock_hw_slot(struct mock_dev *md, uint32_t pasid, bool add)
{
	for (unsigned i = 0; i < md->npasid; i++) {
		if (md->pasid[i].pasid == pasid)
			return &md->pasid[i].domain;
	}
	if (!add || md->npasid == MOCK_HW_PASIDS)
		return NULL;
	md->pasid[md->npasid].pasid = pasid;
	md->pasid[md->npasid].domain = NULL;
	return &md->pasid[md->npasid++].domain;
}

/* What the hardware has on (dev, pasid): NULL for blocked or never set. */
static inline struct iommu_domain *mock_hw(struct iommu_dev *dev, uint32_t pasid)
{
	struct mock_dev *md = dev->priv;
	struct iommu_domain **slot, *d;

	pthread_mutex_lock(&mock_of_dev(dev)->lock);
	if (pasid == IOMMU_NO_PASID)
		d = md->rid;
	else
		d = (slot = mock_hw_slot(md, pasid, false)) ? *slot : NULL;
	pthread_mutex_unlock(&mock_of_dev(dev)->lock);
	return d;
}

/* Program (dev, pasid) to `domain` (NULL for blocked) after checking `old`. */
static int mock_program(struct iommu_domain *domain, struct iommu_dev *dev, uint32_t pasid,
			struct iommu_domain *old, int *fail, enum mock_op op)
{
	struct mock_iommu *mi = mock_of_dev(dev);
	struct mock_dev *md = dev->priv;
	struct mock_call c = {.op = op, .domain = domain, .old = old, .dev = dev, .pasid = pasid};
	struct iommu_domain **slot, *hw_new;

	if (mi->lookup_during_attach)
		c.seen = iommu_get_domain_for_dev_pasid(dev, pasid);
	c.ret = mock_take(mi, fail);
	hw_new = domain->type == IOMMU_DOMAIN_BLOCKED ? NULL : domain;
	pthread_mutex_lock(&mi->lock);
	slot = pasid == IOMMU_NO_PASID ? &md->rid : mock_hw_slot(md, pasid, true);
	if (!slot) {
		c.ret = -ENOSPC;
	} else {
		/* The core must tell the truth about `old` (blocked == NULL). */
		struct iommu_domain *hw_old = old && old->type == IOMMU_DOMAIN_BLOCKED ? NULL : old;
		if (*slot != hw_old)
			mi->mismatches++;
		if (!c.ret)
			*slot = hw_new;
	}
	pthread_mutex_unlock(&mi->lock);
	mock_log(mi, c);
	return c.ret;
}

static int mock_attach_dev(struct iommu_domain *domain, struct iommu_dev *dev,
			   struct iommu_domain *old)
{
	return mock_program(domain, dev, IOMMU_NO_PASID, old, &mock_of_dev(dev)->fail_attach_dev,
			    MOCK_ATTACH_DEV);
}

static int mock_set_dev_pasid(struct iommu_domain *domain, struct iommu_dev *dev, uint32_t pasid,
			      struct iommu_domain *old)
{
	return mock_program(domain, dev, pasid, old, &mock_of_dev(dev)->fail_set_dev_pasid,
			    MOCK_SET_DEV_PASID);
}

/* ---- the fake page table ------------------------------------------------------------ */

static struct mock_table_page *mock_table(struct mock_domain *md, uint64_t iova, bool add)
{
	uint64_t region = iova >> MOCK_REGION_SHIFT;

	for (unsigned i = 0; i < md->ntables; i++) {
		if (md->tables[i].region == region)
			return &md->tables[i];
	}
	if (!add || md->ntables == 64)
		return NULL;
	md->tables[md->ntables] = (struct mock_table_page){.region = region};
	if (mem_alloc_page(md->mi->alloc, &md->tables[md->ntables].pa))
		return NULL;
	return &md->tables[md->ntables++];
}

static struct mock_pte *mock_find(struct mock_domain *md, uint64_t iova)
{
	for (size_t i = 0; i < md->nptes; i++) {
		if (iova >= md->ptes[i].iova && iova - md->ptes[i].iova < md->ptes[i].size)
			return &md->ptes[i];
	}
	return NULL;
}

static bool mock_overlaps(struct mock_domain *md, uint64_t iova, uint64_t size)
{
	for (size_t i = 0; i < md->nptes; i++) {
		if (iova < md->ptes[i].iova + md->ptes[i].size && md->ptes[i].iova < iova + size)
			return true;
	}
	return false;
}

static int mock_map_one(struct mock_domain *md, uint64_t iova, uint64_t pa, uint64_t size,
			unsigned prot)
{
	if (mock_overlaps(md, iova, size))
		return -EEXIST;
	if (md->nptes == md->cap) {
		size_t cap = md->cap ? md->cap * 2 : 64;
		struct mock_pte *p = realloc(md->ptes, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		md->ptes = p;
		md->cap = cap;
	}
	if (size == 4096) {
		struct mock_table_page *t = mock_table(md, iova, true);

		if (!t)
			return -ENOMEM;
		t->used++;
	}
	md->ptes[md->nptes++] = (struct mock_pte){iova, pa, size, prot};
	return 0;
}

static int mock_map_pages(struct iommu_domain *domain, uint64_t iova, uint64_t paddr,
			  uint64_t pgsize, size_t pgcount, unsigned int prot, uint64_t *mapped)
{
	struct mock_domain *md = to_mock_domain(domain);
	struct mock_iommu *mi = md->mi;
	struct mock_call c = {.op = MOCK_MAP,
			      .domain = domain,
			      .iova = iova,
			      .paddr = paddr,
			      .pgsize = pgsize,
			      .count = pgcount};
	int ret = 0;

	*mapped = 0;
	pthread_mutex_lock(&md->lock);
	for (size_t i = 0; i < pgcount && !mi->map_no_progress; i++) {
		if (mi->fail_map_after > 0 && --mi->fail_map_after == 0) {
			ret = -ENOMEM;
			break;
		}
		ret = mock_map_one(md, iova + i * pgsize, paddr + i * pgsize, pgsize, prot);
		if (ret)
			break;
		*mapped += pgsize;
	}
	pthread_mutex_unlock(&md->lock);
	if (mi->map_overclaim)
		*mapped *= 2;
	c.ret = ret;
	mock_log(mi, c);
	return ret;
}

/* Remove the pte at iova (if any); a 4 KiB one may free its table page into `gather`. */
static uint64_t mock_unmap_one(struct mock_domain *md, uint64_t iova,
			       struct iommu_iotlb_gather *gather)
{
	struct mock_pte *p = mock_find(md, iova);
	uint64_t size;

	if (!p || p->iova != iova)
		return 0;
	size = p->size;
	*p = md->ptes[--md->nptes];
	/* Like Linux's VT-d driver: a queued gather gets a flush-all, no range needed. The
	 * range goes in first: add_page may flush the previous batch and release its pages,
	 * and the table page freed below must wait for the flush of *this* range. */
	if (!gather->queued)
		iommu_iotlb_gather_add_page(&md->domain, gather, iova, size);
	if (size == 4096) {
		struct mock_table_page *t = mock_table(md, iova, false);

		if (t && --t->used == 0) {
			iommu_pages_list_add(&gather->freelist, md->mi->alloc, t->pa);
			*t = md->tables[--md->ntables];
		}
	}
	return size;
}

static uint64_t mock_unmap_pages(struct iommu_domain *domain, uint64_t iova, uint64_t pgsize,
				 size_t pgcount, struct iommu_iotlb_gather *gather)
{
	struct mock_domain *md = to_mock_domain(domain);
	struct mock_call c = {
	    .op = MOCK_UNMAP, .domain = domain, .iova = iova, .pgsize = pgsize, .count = pgcount};
	uint64_t done = 0;

	pthread_mutex_lock(&md->lock);
	while (done < pgsize * pgcount) {
		uint64_t n = mock_unmap_one(md, iova + done, gather);

		if (!n)
			break;
		done += n;
	}
	pthread_mutex_unlock(&md->lock);
	c.paddr = done;
	mock_log(md->mi, c);
	return done;
}

static void mock_iotlb_sync(struct iommu_domain *domain, struct iommu_iotlb_gather *gather)
{
	struct mock_domain *md = to_mock_domain(domain);

	mock_log(md->mi, (struct mock_call){.op = MOCK_SYNC,
					    .domain = domain,
					    .iova = gather->start,
					    .paddr = gather->end,
					    .pgsize = gather->pgsize,
					    .count = gather->freelist.count});
}

static int mock_iotlb_sync_map(struct iommu_domain *domain, uint64_t iova, uint64_t size)
{
	struct mock_domain *md = to_mock_domain(domain);
	int ret = mock_take(md->mi, &md->mi->fail_sync_map);

	mock_log(
	    md->mi,
	    (struct mock_call){
		.op = MOCK_SYNC_MAP, .domain = domain, .iova = iova, .pgsize = size, .ret = ret});
	return ret;
}

static void mock_flush_iotlb_all(struct iommu_domain *domain)
{
	mock_log(to_mock_domain(domain)->mi,
		 (struct mock_call){.op = MOCK_FLUSH_ALL, .domain = domain});
}

static int mock_iova_to_phys(struct iommu_domain *domain, uint64_t iova, uint64_t *paddr)
{
	struct mock_domain *md = to_mock_domain(domain);
	struct mock_pte *p;
	int ret = -ENOENT;

	pthread_mutex_lock(&md->lock);
	p = mock_find(md, iova);
	if (p) {
		*paddr = p->pa + (iova - p->iova);
		ret = 0;
	}
	pthread_mutex_unlock(&md->lock);
	mock_log(md->mi, (struct mock_call){
			     .op = MOCK_IOVA_TO_PHYS, .domain = domain, .iova = iova, .ret = ret});
	return ret;
}

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_domain *md = to_mock_domain(domain);
	struct mock_iommu *mi = md->mi;

	mock_log(mi, (struct mock_call){.op = MOCK_FREE, .domain = domain});
	for (unsigned i = 0; i < md->ntables; i++)
		mem_free_page(mi->alloc, md->tables[i].pa);
	pthread_mutex_destroy(&md->lock);
	free(md->ptes);
	free(md);
	pthread_mutex_lock(&mi->lock);
	mi->live_domains--;
	pthread_mutex_unlock(&mi->lock);
}

static const struct iommu_domain_ops mock_paging_ops = {
    .attach_dev = mock_attach_dev,
    .set_dev_pasid = mock_set_dev_pasid,
    .map_pages = mock_map_pages,
    .unmap_pages = mock_unmap_pages,
    .iotlb_sync = mock_iotlb_sync,
    .iotlb_sync_map = mock_iotlb_sync_map,
    .flush_iotlb_all = mock_flush_iotlb_all,
    .iova_to_phys = mock_iova_to_phys,
    .free = mock_domain_free,
};

/* The same without set_dev_pasid: a driver whose paging domains only go on RIDs. */
static const struct iommu_domain_ops mock_paging_nopasid_ops = {
    .attach_dev = mock_attach_dev,
    .map_pages = mock_map_pages,
    .unmap_pages = mock_unmap_pages,
    .iotlb_sync = mock_iotlb_sync,
    .flush_iotlb_all = mock_flush_iotlb_all,
    .iova_to_phys = mock_iova_to_phys,
    .free = mock_domain_free,
};

static const struct iommu_domain_ops mock_static_ops = {
    .attach_dev = mock_attach_dev,
    .set_dev_pasid = mock_set_dev_pasid,
};

static const struct iommu_domain_ops mock_static_nopasid_ops = {
    .attach_dev = mock_attach_dev,
};

/* ---- driver ops --------------------------------------------------------------------- */

static int mock_probe_device(struct iommu_dev *dev)
{
	struct mock_iommu *mi = mock_of_dev(dev);
	int ret = mock_take(mi, &mi->fail_probe);

	if (!ret) {
		dev->priv = calloc(1, sizeof(struct mock_dev));
		if (!dev->priv)
			ret = -ENOMEM;
	}
	mock_log(mi, (struct mock_call){.op = MOCK_PROBE, .dev = dev, .ret = ret});
	return ret;
}

static void mock_release_device(struct iommu_dev *dev)
{
	mock_log(mock_of_dev(dev), (struct mock_call){.op = MOCK_RELEASE, .dev = dev});
	free(dev->priv);
	dev->priv = NULL;
}

static int mock_domain_alloc_paging(struct iommu_dev *dev, unsigned int flags,
				    struct iommu_domain **out)
{
	struct mock_iommu *mi = mock_of_dev(dev);
	struct mock_domain *md;
	int ret = mock_take(mi, &mi->fail_alloc);

	if (!ret && mi->no_second_stage && (flags & IOMMU_DOMAIN_ALLOC_SECOND_STAGE))
		ret = -EOPNOTSUPP;
	md = ret ? NULL : calloc(1, sizeof(*md));
	if (!ret && !md)
		ret = -ENOMEM;
	mock_log(mi, (struct mock_call){.op = MOCK_ALLOC, .dev = dev, .count = flags, .ret = ret});
	if (ret)
		return ret;
	pthread_mutex_init(&md->lock, NULL);
	md->mi = mi;
	md->flags = flags;
	md->domain.ops = mi->paging_no_pasid ? &mock_paging_nopasid_ops : &mock_paging_ops;
	md->domain.pgsize_bitmap = mi->alloc_unusable ? 0 : mi->pgsize_bitmap;
	md->domain.aperture_end = mi->aperture_end;
	pthread_mutex_lock(&mi->lock);
	mi->live_domains++;
	pthread_mutex_unlock(&mi->lock);
	*out = &md->domain;
	return 0;
}

static int mock_def_domain_type(struct iommu_dev *dev)
{
	return mock_of_dev(dev)->require_type;
}

static bool mock_capable(struct iommu_dev *dev, enum iommu_cap cap)
{
	return cap == IOMMU_CAP_DEFERRED_FLUSH && mock_of_dev(dev)->deferred_flush;
}

static struct iommu_domain mock_identity = {.type = IOMMU_DOMAIN_IDENTITY, .ops = &mock_static_ops};
static struct iommu_domain mock_blocked = {.type = IOMMU_DOMAIN_BLOCKED, .ops = &mock_static_ops};

static const struct iommu_ops mock_ops = {
    .probe_device = mock_probe_device,
    .release_device = mock_release_device,
    .domain_alloc_paging = mock_domain_alloc_paging,
    .def_domain_type = mock_def_domain_type,
    .capable = mock_capable,
    .identity_domain = &mock_identity,
    .blocked_domain = &mock_blocked,
};

static struct iommu_domain mock_other_identity = {.type = IOMMU_DOMAIN_IDENTITY,
						  .ops = &mock_static_ops};
static struct iommu_domain mock_other_blocked = {.type = IOMMU_DOMAIN_BLOCKED,
						 .ops = &mock_static_ops};

static const struct iommu_ops mock_ops_other = {
    .probe_device = mock_probe_device,
    .release_device = mock_release_device,
    .domain_alloc_paging = mock_domain_alloc_paging,
    .def_domain_type = mock_def_domain_type,
    .capable = mock_capable,
    .identity_domain = &mock_other_identity,
    .blocked_domain = &mock_other_blocked,
};

static struct iommu_domain mock_bare_blocked = {.type = IOMMU_DOMAIN_BLOCKED,
						.ops = &mock_static_nopasid_ops};

static const struct iommu_ops mock_ops_bare = {
    .probe_device = mock_probe_device,
    .release_device = mock_release_device,
    .domain_alloc_paging = mock_domain_alloc_paging,
    .blocked_domain = &mock_bare_blocked,
};

/* ---- set-up helpers ----------------------------------------------------------------- */

#define MOCK_PGSIZES ((1ull << 12) | (1ull << 21) | (1ull << 30))

/* A mock unit (not registered) with 4K/2M/1G pages and a 48-bit aperture. */
static inline struct mock_iommu *mock_iommu_new(const struct iommu_ops *ops, uint32_t max_pasids)
{
	struct mock_iommu *mi = calloc(1, sizeof(*mi));

	if (!mi)
		return NULL;
	pthread_mutex_init(&mi->lock, NULL);
	mi->iommu.ops = ops;
	mi->iommu.name = "mock";
	mi->iommu.max_pasids = max_pasids;
	mi->pgsize_bitmap = MOCK_PGSIZES;
	mi->aperture_end = (1ull << 48) - 1;
	mi->mem = mem_create_sparse(1ull << 26);
	if (!mi->mem || mem_alloc_create(mi->mem, 0, 1ull << 26, &mi->alloc)) {
		mem_destroy(mi->mem);
		free(mi);
		return NULL;
	}
	return mi;
}

static inline void mock_iommu_free(struct mock_iommu *mi)
{
	if (!mi)
		return;
	mem_alloc_destroy(mi->alloc);
	mem_destroy(mi->mem);
	pthread_mutex_destroy(&mi->lock);
	free(mi);
}

/* Forget the call log (counters too). */
static inline void mock_clear_log(struct mock_iommu *mi)
{
	pthread_mutex_lock(&mi->lock);
	mi->nlog = 0;
	memset(mi->calls, 0, sizeof(mi->calls));
	pthread_mutex_unlock(&mi->lock);
}

/* The last logged call of `op`, or NULL. */
static inline const struct mock_call *mock_last(struct mock_iommu *mi, enum mock_op op)
{
	size_t n = mi->nlog < MOCK_LOG_MAX ? mi->nlog : MOCK_LOG_MAX;

	for (size_t i = n; i-- > 0;) {
		if (mi->log[i].op == op)
			return &mi->log[i];
	}
	return NULL;
}

/* Number of 4 KiB-page mappings (ptes) a mock domain holds. */
static inline size_t mock_nptes(struct iommu_domain *d)
{
	return to_mock_domain(d)->nptes;
}

#endif
