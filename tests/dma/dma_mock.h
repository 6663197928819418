/* SPDX-License-Identifier: MIT */
/*
 * A mock IOMMU driver for the DMA layer's tests, with just enough "hardware" to show what
 * the DMA layer's flushes do (the idea of tests/core/mock_iommu.h, extended):
 *
 *  - a page table per paging domain (4 KiB and 2 MiB pages) with one real table page from
 *    a mem_alloc per 2 MiB region of 4 KiB pages, handed to the gather when it empties,
 *    so the release of freed table pages after the flush can be checked;
 *  - an IOTLB per domain (design.md rule 4: flushes are per domain, so one IOTLB serves
 *    the RID and every PASID the domain is on), filled by dmock_translate() - a device
 *    access - and emptied only by iotlb_sync (its gathered range, or everything for a
 *    queued gather) and flush_iotlb_all. A hit whose page-table entry is gone counts as
 *    a stale hit: what a device may still reach in lazy mode before the flush;
 *  - the set of pages unmapped and not flushed yet: a map of one of them means an IOVA
 *    was reused before its invalidation (`reuse_before_flush`), which must never happen;
 *  - the "hardware" state of each device: the domain on its RID and on each PASID;
 *  - one-shot failure injection for set_dev_pasid and map.
 *
 * Locks: per domain `pt` (page table) then `tlb` (IOTLB and pending set), always in that
 * order; the unit's `lock` for device state. Counters are atomics.
 */
#ifndef SOFTIOMMU_TEST_DMA_MOCK_H
#define SOFTIOMMU_TEST_DMA_MOCK_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <softiommu/dma.h>
#include <softiommu/iommu.h>

#define DMOCK_BUCKETS 4096u
#define DMOCK_PASIDS  16u
#define SZ_4K	      0x1000ull
#define SZ_2M	      0x200000ull

/* A small chained hash map: key -> (a, b). */
struct dmock_node {
	uint64_t key, a, b;
	struct dmock_node *next;
};

struct dmock_map {
	struct dmock_node *b[DMOCK_BUCKETS];
	size_t n;
};

static inline unsigned dmock_hash(uint64_t k)
{
	return (unsigned)((k * 0x9e3779b97f4a7c15ull) >> 52) & (DMOCK_BUCKETS - 1);
}

static inline struct dmock_node *dmock_get(struct dmock_map *m, uint64_t key)
{
	for (struct dmock_node *n = m->b[dmock_hash(key)]; n; n = n->next) {
		if (n->key == key)
			return n;
	}
	return NULL;
}

static inline int dmock_put(struct dmock_map *m, uint64_t key, uint64_t a, uint64_t b)
{
	struct dmock_node *n = dmock_get(m, key);

	if (!n) {
		n = malloc(sizeof(*n));
		if (!n)
			return -ENOMEM;
		n->key = key;
		n->next = m->b[dmock_hash(key)];
		m->b[dmock_hash(key)] = n;
		m->n++;
	}
	n->a = a;
	n->b = b;
	return 0;
}

static inline bool dmock_del(struct dmock_map *m, uint64_t key)
{
	for (struct dmock_node **p = &m->b[dmock_hash(key)]; *p; p = &(*p)->next) {
		if ((*p)->key == key) {
			struct dmock_node *n = *p;

			*p = n->next;
			free(n);
			m->n--;
			return true;
		}
	}
	return false;
}

static inline void dmock_clear(struct dmock_map *m)
{
	for (unsigned i = 0; i < DMOCK_BUCKETS; i++) {
		while (m->b[i]) {
			struct dmock_node *n = m->b[i];

			m->b[i] = n->next;
			free(n);
		}
	}
	m->n = 0;
}

struct dmock_unit {
	struct iommu_device iommu;
	pthread_mutex_t lock;
	struct mem *mem;
	struct mem_alloc *tables;
	bool deferred_flush; /* IOMMU_CAP_DEFERRED_FLUSH: lazy allowed */
	bool coherent;	     /* IOMMU_CAP_CACHE_COHERENCY */
	uint64_t pgsizes;
	uint64_t aperture_end;
	int fail_set_dev_pasid; /* one shot: set_dev_pasid of a non-blocked domain fails */
	int fail_map_after;	/* > 0: the map_pages call that reaches this page fails */
	atomic_ulong maps, unmaps, syncs, flush_alls, set_pasids, translations;
	atomic_ulong stale_hits;	 /* IOTLB hits whose page-table entry is gone */
	atomic_ulong reuse_before_flush; /* maps of an IOVA still awaiting its flush */
	atomic_uint last_prot;
	void (*on_flush_all)(struct dmock_unit *u); /* called inside flush_iotlb_all */
	void *hook_ctx;
	atomic_int live_domains;
};

struct dmock_devstate {
	struct iommu_domain *rid;
	uint32_t pasid[DMOCK_PASIDS];
	struct iommu_domain *pdom[DMOCK_PASIDS];
	unsigned n;
};

struct dmock_domain {
	struct iommu_domain domain;
	struct dmock_unit *u;
	pthread_mutex_t pt, tlb;
	struct dmock_map ptes;	  /* iova -> (pa, size | prot << 40) */
	struct dmock_map regions; /* iova >> 21 -> (table page pa, 4K ptes in it) */
	struct dmock_map iotlb;	  /* iova page -> (pa page, prot) */
	struct dmock_map pending; /* iova pages unmapped, not flushed */
};

#define dmock_container_of(ptr, type, member)                                                      \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline struct dmock_unit *dmock_unit_of(struct iommu_dev *dev)
{
	return dmock_container_of(dev->iommu, struct dmock_unit, iommu);
}

static inline struct dmock_domain *dmock_dom(struct iommu_domain *d)
{
	return dmock_container_of(d, struct dmock_domain, domain);
}

/* ---- attach ------------------------------------------------------------------------------ */

static inline int dmock_take(struct dmock_unit *u, int *fail)
{
	int r;

	pthread_mutex_lock(&u->lock);
	r = *fail;
	*fail = 0;
	pthread_mutex_unlock(&u->lock);
	return r;
}

static int dmock_attach_dev(struct iommu_domain *domain, struct iommu_dev *dev,
			    struct iommu_domain *old)
{
	struct dmock_unit *u = dmock_unit_of(dev);
	struct dmock_devstate *st = dev->priv;

	(void)old;
	pthread_mutex_lock(&u->lock);
	st->rid = domain->type == IOMMU_DOMAIN_BLOCKED ? NULL : domain;
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static int dmock_set_dev_pasid(struct iommu_domain *domain, struct iommu_dev *dev, uint32_t pasid,
			       struct iommu_domain *old)
{
	struct dmock_unit *u = dmock_unit_of(dev);
	struct dmock_devstate *st = dev->priv;
	int ret = 0;
	unsigned i;

	(void)old;
	atomic_fetch_add(&u->set_pasids, 1);
	if (domain->type != IOMMU_DOMAIN_BLOCKED) {
		ret = dmock_take(u, &u->fail_set_dev_pasid);
		if (ret)
			return ret;
	}
	pthread_mutex_lock(&u->lock);
	for (i = 0; i < st->n && st->pasid[i] != pasid; i++)
		;
	if (i == st->n) {
		if (st->n == DMOCK_PASIDS) {
			pthread_mutex_unlock(&u->lock);
			return -ENOSPC;
		}
		st->pasid[st->n++] = pasid;
	}
	st->pdom[i] = domain->type == IOMMU_DOMAIN_BLOCKED ? NULL : domain;
	pthread_mutex_unlock(&u->lock);
	return ret;
}

/* ---- the page table ---------------------------------------------------------------------- */

/* The pte covering iova: its start in *start. Caller holds pt. */
static inline struct dmock_node *dmock_pte(struct dmock_domain *md, uint64_t iova, uint64_t *start)
{
	struct dmock_node *n = dmock_get(&md->ptes, iova & ~(SZ_4K - 1));

	*start = iova & ~(SZ_4K - 1);
	if (n && (n->b & 0xffffffffffull) == SZ_4K)
		return n;
	*start = iova & ~(SZ_2M - 1);
	n = dmock_get(&md->ptes, *start);
	return n && (n->b & 0xffffffffffull) == SZ_2M ? n : NULL;
}

static int dmock_map_one(struct dmock_domain *md, uint64_t iova, uint64_t pa, uint64_t size,
			 unsigned prot)
{
	struct dmock_node *region = dmock_get(&md->regions, iova >> 21);
	uint64_t start;

	if (dmock_pte(md, iova, &start) || (size == SZ_2M && region && region->b))
		return -EEXIST;
	pthread_mutex_lock(&md->tlb);
	for (uint64_t p = 0; p < size; p += SZ_4K) {
		if (dmock_get(&md->pending, iova + p))
			atomic_fetch_add(&md->u->reuse_before_flush, 1);
	}
	pthread_mutex_unlock(&md->tlb);
	if (size == SZ_4K) {
		if (!region) {
			uint64_t tp;

			if (mem_alloc_page(md->u->tables, &tp))
				return -ENOMEM;
			if (dmock_put(&md->regions, iova >> 21, tp, 0)) {
				mem_free_page(md->u->tables, tp);
				return -ENOMEM;
			}
			region = dmock_get(&md->regions, iova >> 21);
		}
		region->b++;
	}
	if (dmock_put(&md->ptes, iova, pa, size | (uint64_t)prot << 40)) {
		if (size == SZ_4K)
			region->b--;
		return -ENOMEM;
	}
	return 0;
}

static int dmock_map_pages(struct iommu_domain *domain, uint64_t iova, uint64_t paddr,
			   uint64_t pgsize, size_t pgcount, unsigned int prot, uint64_t *mapped)
{
	struct dmock_domain *md = dmock_dom(domain);
	int ret = 0;

	*mapped = 0;
	atomic_fetch_add(&md->u->maps, 1);
	atomic_store(&md->u->last_prot, prot);
	pthread_mutex_lock(&md->pt);
	for (size_t i = 0; i < pgcount; i++) {
		if (md->u->fail_map_after > 0 && --md->u->fail_map_after == 0) {
			ret = -ENOMEM;
			break;
		}
		ret = dmock_map_one(md, iova + i * pgsize, paddr + i * pgsize, pgsize, prot);
		if (ret)
			break;
		*mapped += pgsize;
	}
	pthread_mutex_unlock(&md->pt);
	return ret;
}

static uint64_t dmock_unmap_one(struct dmock_domain *md, uint64_t iova,
				struct iommu_iotlb_gather *gather)
{
	uint64_t start, size;
	struct dmock_node *n = dmock_pte(md, iova, &start);

	if (!n || start != iova)
		return 0;
	size = n->b & 0xffffffffffull;
	dmock_del(&md->ptes, iova);
	pthread_mutex_lock(&md->tlb);
	for (uint64_t p = 0; p < size; p += SZ_4K)
		dmock_put(&md->pending, iova + p, 0, 0);
	pthread_mutex_unlock(&md->tlb);
	/* As the VT-d driver: a queued gather gets a flush-all, no range needed. */
	if (!gather->queued)
		iommu_iotlb_gather_add_page(&md->domain, gather, iova, size);
	if (size == SZ_4K) {
		struct dmock_node *r = dmock_get(&md->regions, iova >> 21);

		if (r && --r->b == 0) {
			iommu_pages_list_add(&gather->freelist, md->u->tables, r->a);
			dmock_del(&md->regions, iova >> 21);
		}
	}
	return size;
}

static uint64_t dmock_unmap_pages(struct iommu_domain *domain, uint64_t iova, uint64_t pgsize,
				  size_t pgcount, struct iommu_iotlb_gather *gather)
{
	struct dmock_domain *md = dmock_dom(domain);
	uint64_t done = 0;

	atomic_fetch_add(&md->u->unmaps, 1);
	pthread_mutex_lock(&md->pt);
	while (done < pgsize * pgcount) {
		uint64_t n = dmock_unmap_one(md, iova + done, gather);

		if (!n)
			break;
		done += n;
	}
	pthread_mutex_unlock(&md->pt);
	return done;
}

/* Drop IOTLB entries and pending pages in [start, end]. Caller holds tlb. */
static void dmock_inval_range(struct dmock_domain *md, uint64_t start, uint64_t end)
{
	if ((end - start) >> 12 > 4 * DMOCK_BUCKETS) {
		dmock_clear(&md->iotlb);
		dmock_clear(&md->pending);
		return;
	}
	for (uint64_t p = start & ~(SZ_4K - 1); p <= end; p += SZ_4K) {
		dmock_del(&md->iotlb, p);
		dmock_del(&md->pending, p);
		if (p + SZ_4K < p)
			break;
	}
}

static void dmock_iotlb_sync(struct iommu_domain *domain, struct iommu_iotlb_gather *gather)
{
	struct dmock_domain *md = dmock_dom(domain);

	atomic_fetch_add(&md->u->syncs, 1);
	pthread_mutex_lock(&md->tlb);
	if (gather->start <= gather->end) {
		dmock_inval_range(md, gather->start, gather->end);
	} else {
		/* A queued gather with freed table pages: everything (iommu.h). */
		dmock_clear(&md->iotlb);
		dmock_clear(&md->pending);
	}
	pthread_mutex_unlock(&md->tlb);
}

static void dmock_flush_iotlb_all(struct iommu_domain *domain)
{
	struct dmock_domain *md = dmock_dom(domain);

	atomic_fetch_add(&md->u->flush_alls, 1);
	if (md->u->on_flush_all)
		md->u->on_flush_all(md->u);
	pthread_mutex_lock(&md->tlb);
	dmock_clear(&md->iotlb);
	dmock_clear(&md->pending);
	pthread_mutex_unlock(&md->tlb);
}

static int dmock_iova_to_phys(struct iommu_domain *domain, uint64_t iova, uint64_t *paddr)
{
	struct dmock_domain *md = dmock_dom(domain);
	struct dmock_node *n;
	uint64_t start;
	int ret = -ENOENT;

	pthread_mutex_lock(&md->pt);
	n = dmock_pte(md, iova, &start);
	if (n) {
		*paddr = n->a + (iova - start);
		ret = 0;
	}
	pthread_mutex_unlock(&md->pt);
	return ret;
}

static void dmock_domain_free(struct iommu_domain *domain)
{
	struct dmock_domain *md = dmock_dom(domain);

	for (unsigned i = 0; i < DMOCK_BUCKETS; i++) {
		for (struct dmock_node *n = md->regions.b[i]; n; n = n->next)
			mem_free_page(md->u->tables, n->a);
	}
	dmock_clear(&md->ptes);
	dmock_clear(&md->regions);
	dmock_clear(&md->iotlb);
	dmock_clear(&md->pending);
	pthread_mutex_destroy(&md->pt);
	pthread_mutex_destroy(&md->tlb);
	atomic_fetch_sub(&md->u->live_domains, 1);
	free(md);
}

static const struct iommu_domain_ops dmock_paging_ops = {
    .attach_dev = dmock_attach_dev,
    .set_dev_pasid = dmock_set_dev_pasid,
    .map_pages = dmock_map_pages,
    .unmap_pages = dmock_unmap_pages,
    .iotlb_sync = dmock_iotlb_sync,
    .flush_iotlb_all = dmock_flush_iotlb_all,
    .iova_to_phys = dmock_iova_to_phys,
    .free = dmock_domain_free,
};

static const struct iommu_domain_ops dmock_static_ops = {
    .attach_dev = dmock_attach_dev,
    .set_dev_pasid = dmock_set_dev_pasid,
};

/* ---- driver ops ------------------------------------------------------------------------- */

static int dmock_probe_device(struct iommu_dev *dev)
{
	dev->priv = calloc(1, sizeof(struct dmock_devstate));
	return dev->priv ? 0 : -ENOMEM;
}

static void dmock_release_device(struct iommu_dev *dev)
{
	free(dev->priv);
	dev->priv = NULL;
}

static int dmock_domain_alloc_paging(struct iommu_dev *dev, unsigned int flags,
				     struct iommu_domain **out)
{
	struct dmock_unit *u = dmock_unit_of(dev);
	struct dmock_domain *md = calloc(1, sizeof(*md));

	(void)flags;
	if (!md)
		return -ENOMEM;
	md->u = u;
	pthread_mutex_init(&md->pt, NULL);
	pthread_mutex_init(&md->tlb, NULL);
	md->domain.ops = &dmock_paging_ops;
	md->domain.pgsize_bitmap = u->pgsizes;
	md->domain.aperture_end = u->aperture_end;
	atomic_fetch_add(&u->live_domains, 1);
	*out = &md->domain;
	return 0;
}

static bool dmock_capable(struct iommu_dev *dev, enum iommu_cap cap)
{
	struct dmock_unit *u = dmock_unit_of(dev);

	if (cap == IOMMU_CAP_DEFERRED_FLUSH)
		return u->deferred_flush;
	return cap == IOMMU_CAP_CACHE_COHERENCY && u->coherent;
}

static struct iommu_domain dmock_identity = {.type = IOMMU_DOMAIN_IDENTITY,
					     .ops = &dmock_static_ops};
static struct iommu_domain dmock_blocked = {.type = IOMMU_DOMAIN_BLOCKED, .ops = &dmock_static_ops};

static const struct iommu_ops dmock_ops = {
    .probe_device = dmock_probe_device,
    .release_device = dmock_release_device,
    .domain_alloc_paging = dmock_domain_alloc_paging,
    .capable = dmock_capable,
    .identity_domain = &dmock_identity,
    .blocked_domain = &dmock_blocked,
};

/* ---- the "hardware" side: what a device access would reach -------------------------------- */

/* The domain on (dev, pasid) in the mock hardware; NULL = blocked. */
static inline struct iommu_domain *dmock_hw_domain(struct iommu_dev *dev, uint32_t pasid)
{
	struct dmock_unit *u = dmock_unit_of(dev);
	struct dmock_devstate *st = dev->priv;
	struct iommu_domain *d = NULL;

	pthread_mutex_lock(&u->lock);
	if (pasid == IOMMU_NO_PASID) {
		d = st->rid;
	} else {
		for (unsigned i = 0; i < st->n; i++) {
			if (st->pasid[i] == pasid)
				d = st->pdom[i];
		}
	}
	pthread_mutex_unlock(&u->lock);
	return d;
}

/*
 * A DMA of `dev` with `pasid` (IOMMU_NO_PASID: none) at `iova`: the physical address, or
 * -EFAULT (blocked, not mapped, or not permitted). IOTLB first, then the table.
 */
static inline int dmock_translate(struct iommu_dev *dev, uint32_t pasid, uint64_t iova, bool write,
				  uint64_t *pa)
{
	struct iommu_domain *d = dmock_hw_domain(dev, pasid);
	unsigned need = write ? IOMMU_WRITE : IOMMU_READ;
	struct dmock_domain *md;
	struct dmock_node *n;
	uint64_t start, page = iova & ~(SZ_4K - 1);
	int ret = -EFAULT;

	atomic_fetch_add(&dmock_unit_of(dev)->translations, 1);
	if (!d)
		return -EFAULT;
	if (d->type == IOMMU_DOMAIN_IDENTITY) {
		*pa = iova;
		return 0;
	}
	md = dmock_dom(d);
	pthread_mutex_lock(&md->pt);
	pthread_mutex_lock(&md->tlb);
	n = dmock_get(&md->iotlb, page);
	if (n) {
		if (!dmock_pte(md, iova, &start))
			atomic_fetch_add(&md->u->stale_hits, 1);
		if (n->b & need) {
			*pa = n->a + (iova - page);
			ret = 0;
		}
	} else if ((n = dmock_pte(md, iova, &start)) && ((n->b >> 40) & need)) {
		uint64_t pa_page = n->a + (page - start);

		*pa = pa_page + (iova - page);
		dmock_put(&md->iotlb, page, pa_page, (n->b >> 40) & (IOMMU_READ | IOMMU_WRITE));
		ret = 0;
	}
	pthread_mutex_unlock(&md->tlb);
	pthread_mutex_unlock(&md->pt);
	return ret;
}

/* ---- a whole system for a test ------------------------------------------------------------ */

struct dmock_sys {
	struct iommu_core *core;
	struct dmock_unit *u;
	struct iommu_dev *idev;
	struct mem *mem;	 /* the device's DMA memory */
	struct mem_alloc *pages; /* buffers and coherent allocations */
	struct dma_dev *dma;
};

struct dmock_opts {
	int type;	     /* IOMMU_DOMAIN_IDENTITY, _DMA or _DMA_FQ */
	uint8_t pasid_width; /* device's PASID capability; 0 none */
	uint32_t max_pasids; /* unit's; 0 = legacy (no PASIDs) */
	bool ats;
	struct dma_dev_config cfg; /* dev, mem and alloc are filled in */
	uint64_t mem_size;	   /* 0 = 256 MiB */
};

static inline int dmock_sys_init(struct dmock_sys *s, const struct dmock_opts *o)
{
	struct iommu_dev_info info = {.rid = 0x0210,
				      .pasid_width = o->pasid_width,
				      .ats = o->ats,
				      .def_domain_type = o->type};
	struct dma_dev_config cfg = o->cfg;
	uint64_t size = o->mem_size ? o->mem_size : 256ull << 20;
	int ret;

	memset(s, 0, sizeof(*s));
	s->u = calloc(1, sizeof(*s->u));
	if (!s->u)
		return -ENOMEM;
	pthread_mutex_init(&s->u->lock, NULL);
	s->u->iommu.ops = &dmock_ops;
	s->u->iommu.name = "dmock";
	s->u->iommu.max_pasids = o->max_pasids;
	s->u->deferred_flush = true;
	s->u->pgsizes = SZ_4K | SZ_2M;
	s->u->aperture_end = (1ull << 48) - 1;
	s->u->mem = mem_create_sparse(64ull << 20);
	s->mem = mem_create_sparse(size);
	if (!s->u->mem || !s->mem)
		return -ENOMEM;
	if ((ret = mem_alloc_create(s->u->mem, 0, 64ull << 20, &s->u->tables)) ||
	    (ret = mem_alloc_create(s->mem, 0, size, &s->pages)) ||
	    (ret = iommu_core_create(NULL, &s->core)) ||
	    (ret = iommu_device_register(s->core, &s->u->iommu)) ||
	    (ret = iommu_probe_device(&s->u->iommu, &info, &s->idev)))
		return ret;
	cfg.dev = s->idev;
	cfg.mem = s->mem;
	cfg.alloc = s->pages;
	return dma_dev_create(&cfg, &s->dma);
}

/* Tear down; returns dma_dev_destroy's result. Table pages must all be back. */
static inline int dmock_sys_fini(struct dmock_sys *s)
{
	int ret = dma_dev_destroy(s->dma);

	if (s->idev)
		iommu_release_device(s->idev);
	if (s->core) {
		iommu_device_unregister(&s->u->iommu);
		iommu_core_destroy(s->core);
	}
	if (s->u) {
		if (s->u->tables && mem_alloc_in_use(s->u->tables))
			ret = ret ? ret : -ENOTEMPTY;
		mem_alloc_destroy(s->u->tables);
		mem_destroy(s->u->mem);
		pthread_mutex_destroy(&s->u->lock);
		free(s->u);
	}
	if (s->pages && mem_alloc_in_use(s->pages))
		ret = ret ? ret : -ENOTEMPTY;
	mem_alloc_destroy(s->pages);
	mem_destroy(s->mem);
	memset(s, 0, sizeof(*s));
	return ret;
}

#endif
