// SPDX-License-Identifier: MIT
/*
 * DMA-API debugging (Linux's kernel/dma/debug.c, reshaped for a device model that can
 * also say what the device touched). Every mapping becomes a record, hashed under each
 * 4 KiB page of DMA address space it covers so that both "the mapping that starts at this
 * address" (unmap checks) and "the mappings that contain this byte" (access checks) are a
 * bucket walk. An unmapped record is kept for a while (the last DMA_DBG_HISTORY per
 * device) so that a second unmap is told apart from a wild one and a late device access
 * from a stray one. One mutex per device guards it all; devices without debugging never
 * get here (each entry point is behind `dev->debug`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "dma/dma_internal.h"

#define DMA_DBG_BUCKETS 16384u
#define DMA_DBG_HISTORY 4096u
#define DMA_DBG_PAGE	12

struct dma_dbg_rec;

struct dma_dbg_node {
	uint64_t page;
	struct dma_dbg_rec *rec;
	struct dma_dbg_node *next;
};

struct dma_dbg_link {
	struct dma_dbg_link *prev, *next;
};

struct dma_dbg_rec {
	struct dma_dbg_link link; /* first: the live list, or the history (oldest first) */
	dma_addr_t addr;
	uint64_t size;
	uint64_t phys;
	enum dma_data_direction dir;
	enum dma_map_type type;
	bool live;
	bool head; /* owns the IOVA allocation (every single/coherent; an sg's first) */
	uint64_t iova_pfn, iova_npages;
	int order;		     /* coherent buffer order, else -1 */
	int nents;		     /* sg: nents given to dma_map_sg (head only) */
	struct dma_dbg_rec *sibling; /* sg: the list's next segment */
	uint64_t npg;
	struct dma_dbg_node nodes[];
};

struct dma_debug {
	pthread_mutex_t lock;
	dma_debug_fn fn;
	void *ctx;
	uint16_t rid;
	struct dma_dbg_link live;
	struct dma_dbg_link hist;
	unsigned nhist;
	atomic_uint_least64_t counts[DMA_DEBUG_NR];
	struct dma_dbg_node *buckets[DMA_DBG_BUCKETS];
};

/* ---- the global switch ------------------------------------------------------------------- */

static pthread_mutex_t dma_dbg_global_lock = PTHREAD_MUTEX_INITIALIZER;
static bool dma_dbg_global_on;
static dma_debug_fn dma_dbg_global_fn;
static void *dma_dbg_global_ctx;

void dma_debug_set_global(bool enable, dma_debug_fn fn, void *ctx)
{
	pthread_mutex_lock(&dma_dbg_global_lock);
	dma_dbg_global_on = enable;
	dma_dbg_global_fn = fn;
	dma_dbg_global_ctx = ctx;
	pthread_mutex_unlock(&dma_dbg_global_lock);
}

static const char *const dma_dbg_names[DMA_DEBUG_NR] = {
    [DMA_DEBUG_NOT_MAPPED] = "not-mapped",
    [DMA_DEBUG_DOUBLE_UNMAP] = "double-unmap",
    [DMA_DEBUG_SIZE_MISMATCH] = "size-mismatch",
    [DMA_DEBUG_DIR_MISMATCH] = "direction-mismatch",
    [DMA_DEBUG_LEAK] = "leak",
    [DMA_DEBUG_USE_AFTER_UNMAP] = "use-after-unmap",
    [DMA_DEBUG_ACCESS_UNMAPPED] = "access-unmapped",
    [DMA_DEBUG_ACCESS_DIRECTION] = "access-direction",
    [DMA_DEBUG_TYPE_MISMATCH] = "type-mismatch",
};

const char *dma_debug_kind_name(enum dma_debug_kind kind)
{
	return (unsigned)kind < DMA_DEBUG_NR ? dma_dbg_names[kind] : "?";
}

static const char *dma_dir_name(enum dma_data_direction dir)
{
	static const char *const n[] = {"bidirectional", "to-device", "from-device", "none"};

	return (unsigned)dir <= DMA_NONE ? n[dir] : "?";
}

/* ---- records ------------------------------------------------------------------------------ */

static inline struct dma_dbg_node **dma_dbg_bucket(struct dma_debug *dbg, uint64_t page)
{
	return &dbg->buckets[(page * 0x9e3779b97f4a7c15ull) >> 50 & (DMA_DBG_BUCKETS - 1)];
}

static void dma_dbg_link_add(struct dma_dbg_link *head, struct dma_dbg_link *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

static void dma_dbg_link_del(struct dma_dbg_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
}

static struct dma_dbg_rec *dma_dbg_rec_new(struct dma_debug *dbg, dma_addr_t addr, uint64_t size)
{
	uint64_t last = addr + size - 1 < addr ? UINT64_MAX : addr + size - 1;
	uint64_t first_pg = addr >> DMA_DBG_PAGE, npg = (last >> DMA_DBG_PAGE) - first_pg + 1;
	struct dma_dbg_rec *r;

	if (npg > (SIZE_MAX - sizeof(*r)) / sizeof(r->nodes[0]))
		return NULL;
	r = calloc(1, sizeof(*r) + npg * sizeof(r->nodes[0]));
	if (!r)
		return NULL;
	r->addr = addr;
	r->size = size;
	r->npg = npg;
	r->order = -1;
	r->live = true;
	for (uint64_t i = 0; i < npg; i++) {
		struct dma_dbg_node **b = dma_dbg_bucket(dbg, first_pg + i);

		r->nodes[i] = (struct dma_dbg_node){.page = first_pg + i, .rec = r, .next = *b};
		*b = &r->nodes[i];
	}
	dma_dbg_link_add(&dbg->live, &r->link);
	return r;
}

static void dma_dbg_rec_free(struct dma_debug *dbg, struct dma_dbg_rec *r)
{
	for (uint64_t i = 0; i < r->npg; i++) {
		struct dma_dbg_node **p = dma_dbg_bucket(dbg, r->nodes[i].page);

		while (*p != &r->nodes[i])
			p = &(*p)->next;
		*p = r->nodes[i].next;
	}
	dma_dbg_link_del(&r->link);
	free(r);
}

/* The mapping is gone: keep it in the history, dropping the oldest beyond the limit. */
static void dma_dbg_retire(struct dma_debug *dbg, struct dma_dbg_rec *r)
{
	r->live = false;
	dma_dbg_link_del(&r->link);
	dma_dbg_link_add(&dbg->hist, &r->link);
	if (++dbg->nhist > DMA_DBG_HISTORY) {
		dma_dbg_rec_free(dbg, (struct dma_dbg_rec *)(void *)dbg->hist.next);
		dbg->nhist--;
	}
}

/*
 * The record starting at `addr` in the wanted state. Of several live ones (the same
 * buffer mapped twice in direct mode) the one matching size, direction and type best.
 */
static struct dma_dbg_rec *dma_dbg_find_start(struct dma_debug *dbg, dma_addr_t addr, bool live,
					      uint64_t size, enum dma_data_direction dir,
					      enum dma_map_type type)
{
	uint64_t page = addr >> DMA_DBG_PAGE;
	struct dma_dbg_rec *best = NULL;
	int best_score = -1;

	for (struct dma_dbg_node *n = *dma_dbg_bucket(dbg, page); n; n = n->next) {
		struct dma_dbg_rec *r = n->rec;
		int score;

		if (n->page != page || r->addr != addr || r->live != live)
			continue;
		score = 4 * (r->type == type) + 2 * (r->size == size) + (r->dir == dir) +
			8 * (r->type != DMA_MAP_SG || r->head);
		if (score > best_score) {
			best = r;
			best_score = score;
		}
	}
	return best;
}

static bool dma_dir_allows(enum dma_data_direction map, enum dma_data_direction access)
{
	return map == DMA_BIDIRECTIONAL || map == access;
}

/*
 * A record containing byte `pos`: live with a direction allowing `dir` (the one reaching
 * furthest), else live of any direction, else unmapped. NULL if none.
 */
static struct dma_dbg_rec *dma_dbg_find_at(struct dma_debug *dbg, uint64_t pos,
					   enum dma_data_direction dir)
{
	uint64_t page = pos >> DMA_DBG_PAGE;
	struct dma_dbg_rec *ok = NULL, *other_dir = NULL, *old = NULL;

	for (struct dma_dbg_node *n = *dma_dbg_bucket(dbg, page); n; n = n->next) {
		struct dma_dbg_rec *r = n->rec;

		if (n->page != page || pos < r->addr || pos - r->addr >= r->size)
			continue;
		if (!r->live)
			old = r;
		else if (!dma_dir_allows(r->dir, dir))
			other_dir = r;
		else if (!ok || r->addr + r->size > ok->addr + ok->size)
			ok = r;
	}
	return ok ? ok : other_dir ? other_dir : old;
}

/* ---- reports ------------------------------------------------------------------------------ */

static void dma_dbg_print(void *ctx, const struct dma_debug_report *r)
{
	(void)ctx;
	fprintf(stderr, "dma-debug: device %02x:%02x.%x: %s at %#llx size %#llx %s", r->rid >> 8,
		(r->rid >> 3) & 0x1f, r->rid & 7, dma_debug_kind_name(r->kind),
		(unsigned long long)r->addr, (unsigned long long)r->size, dma_dir_name(r->dir));
	if (r->map_size)
		fprintf(stderr, " (mapping %#llx size %#llx %s, phys %#llx)",
			(unsigned long long)r->map_addr, (unsigned long long)r->map_size,
			dma_dir_name(r->map_dir), (unsigned long long)r->map_phys);
	fputc('\n', stderr);
}

static void dma_dbg_report(struct dma_debug *dbg, enum dma_debug_kind kind, dma_addr_t addr,
			   uint64_t size, enum dma_data_direction dir, const struct dma_dbg_rec *m)
{
	struct dma_debug_report r = {
	    .kind = kind, .rid = dbg->rid, .addr = addr, .size = size, .dir = dir};

	if (m) {
		r.map_addr = m->addr;
		r.map_size = m->size;
		r.map_dir = m->dir;
		r.map_type = m->type;
		r.map_phys = m->phys;
	}
	atomic_fetch_add_explicit(&dbg->counts[kind], 1, memory_order_relaxed);
	(dbg->fn ? dbg->fn : dma_dbg_print)(dbg->ctx, &r);
}

/* ---- set-up and teardown ------------------------------------------------------------------ */

int dma_debug_create(struct dma_dev *dev, const struct dma_dev_config *cfg)
{
	const char *env = getenv("SOFTIOMMU_DMA_DEBUG");
	bool on = cfg->debug || (env && env[0] == '1');
	struct dma_debug *dbg;

	pthread_mutex_lock(&dma_dbg_global_lock);
	on = on || dma_dbg_global_on;
	dbg = on ? calloc(1, sizeof(*dbg)) : NULL;
	if (dbg) {
		dbg->fn = cfg->debug_fn ? cfg->debug_fn : dma_dbg_global_fn;
		dbg->ctx = cfg->debug_fn ? cfg->debug_ctx : dma_dbg_global_ctx;
	}
	pthread_mutex_unlock(&dma_dbg_global_lock);
	if (!on)
		return 0;
	if (!dbg)
		return -ENOMEM;
	pthread_mutex_init(&dbg->lock, NULL);
	dbg->rid = dev->idev->rid;
	dbg->live.prev = dbg->live.next = &dbg->live;
	dbg->hist.prev = dbg->hist.next = &dbg->hist;
	dev->dbg = dbg;
	dev->debug = true;
	return 0;
}

void dma_debug_destroy(struct dma_dev *dev)
{
	struct dma_debug *dbg = dev->dbg;

	if (!dbg)
		return;
	while (dbg->live.next != &dbg->live)
		dma_dbg_rec_free(dbg, (struct dma_dbg_rec *)(void *)dbg->live.next);
	while (dbg->hist.next != &dbg->hist)
		dma_dbg_rec_free(dbg, (struct dma_dbg_rec *)(void *)dbg->hist.next);
	pthread_mutex_destroy(&dbg->lock);
	free(dbg);
	dev->dbg = NULL;
	dev->debug = false;
}

uint64_t dma_debug_count(struct dma_dev *dev, enum dma_debug_kind kind)
{
	uint64_t n = 0;

	if (!dev || !dev->dbg || (unsigned)kind > DMA_DEBUG_NR)
		return 0;
	if (kind < DMA_DEBUG_NR)
		return atomic_load(&dev->dbg->counts[kind]);
	for (unsigned k = 0; k < DMA_DEBUG_NR; k++)
		n += atomic_load(&dev->dbg->counts[k]);
	return n;
}

/* ---- map and unmap ------------------------------------------------------------------------ */

int dma_debug_add(struct dma_dev *dev, dma_addr_t addr, uint64_t size, uint64_t phys,
		  enum dma_data_direction dir, enum dma_map_type type, uint64_t iova_pfn,
		  uint64_t iova_npages, int order)
{
	struct dma_debug *dbg = dev->dbg;
	struct dma_dbg_rec *r;

	if (DMA_LIKELY(!dev->debug))
		return 0;
	pthread_mutex_lock(&dbg->lock);
	r = dma_dbg_rec_new(dbg, addr, size);
	if (r) {
		r->phys = phys;
		r->dir = dir;
		r->type = type;
		r->head = true;
		r->iova_pfn = iova_pfn;
		r->iova_npages = iova_npages;
		r->order = order;
	}
	pthread_mutex_unlock(&dbg->lock);
	return r ? 0 : -ENOMEM;
}

int dma_debug_add_sg(struct dma_dev *dev, const struct dma_sg *sg, int nents, int segs,
		     enum dma_data_direction dir, uint64_t iova_pfn, uint64_t iova_npages)
{
	struct dma_debug *dbg = dev->dbg;
	struct dma_dbg_rec *prev = NULL, *head = NULL;

	if (DMA_LIKELY(!dev->debug))
		return 0;
	pthread_mutex_lock(&dbg->lock);
	for (int i = 0; i < segs; i++) {
		struct dma_dbg_rec *r = dma_dbg_rec_new(dbg, sg[i].dma_address, sg[i].dma_length);

		if (!r) {
			for (struct dma_dbg_rec *p = head, *nx; p; p = nx) {
				nx = p->sibling;
				dma_dbg_rec_free(dbg, p);
			}
			pthread_mutex_unlock(&dbg->lock);
			return -ENOMEM;
		}
		r->dir = dir;
		r->type = DMA_MAP_SG;
		/* In direct mode the segment is its physical range; else where it starts. */
		r->phys = dev->mode == DMA_MODE_DIRECT ? sg[i].dma_address : i ? 0 : sg[0].phys;
		if (!head) {
			head = r;
			r->head = true;
			r->nents = nents;
			r->iova_pfn = iova_pfn;
			r->iova_npages = iova_npages;
		} else {
			prev->sibling = r;
		}
		prev = r;
	}
	pthread_mutex_unlock(&dbg->lock);
	return 0;
}

static void dma_dbg_undo_from(struct dma_debug_undo *u, const struct dma_dbg_rec *r)
{
	u->addr = r->addr;
	u->size = r->size;
	u->iova_pfn = r->iova_pfn;
	u->iova_npages = r->iova_npages;
	u->phys = r->phys;
	u->order = r->order;
}

/* No live record where an unmap pointed: a second unmap, or a wild one. */
static int dma_dbg_missing(struct dma_debug *dbg, dma_addr_t addr, uint64_t size,
			   enum dma_data_direction dir, enum dma_map_type type)
{
	struct dma_dbg_rec *old = dma_dbg_find_start(dbg, addr, false, size, dir, type);

	dma_dbg_report(dbg, old ? DMA_DEBUG_DOUBLE_UNMAP : DMA_DEBUG_NOT_MAPPED, addr, size, dir,
		       old);
	return -ENOENT;
}

int dma_debug_unmap(struct dma_dev *dev, dma_addr_t addr, uint64_t size,
		    enum dma_data_direction dir, enum dma_map_type type, uint64_t phys,
		    struct dma_debug_undo *u)
{
	struct dma_debug *dbg = dev->dbg;
	struct dma_dbg_rec *r;
	int ret = 0;

	pthread_mutex_lock(&dbg->lock);
	r = dma_dbg_find_start(dbg, addr, true, size, dir, type);
	if (!r) {
		ret = dma_dbg_missing(dbg, addr, size, dir, type);
	} else if (r->type != type || !r->head) {
		/* Freeing it the wrong way would leak or free the wrong thing: refuse. */
		dma_dbg_report(dbg, DMA_DEBUG_TYPE_MISMATCH, addr, size, dir, r);
		ret = -EINVAL;
	} else {
		/* Undo what was really mapped, so nothing beyond it is touched or leaked. */
		if (r->size != size || (type == DMA_MAP_COHERENT && r->phys != phys))
			dma_dbg_report(dbg, DMA_DEBUG_SIZE_MISMATCH, addr, size, dir, r);
		if (r->dir != dir)
			dma_dbg_report(dbg, DMA_DEBUG_DIR_MISMATCH, addr, size, dir, r);
		dma_dbg_undo_from(u, r);
		dma_dbg_retire(dbg, r);
	}
	pthread_mutex_unlock(&dbg->lock);
	return ret;
}

/* Compare the list the caller passed with the segments recorded; report one mismatch. */
static void dma_dbg_check_sg(struct dma_debug *dbg, struct dma_dbg_rec *head,
			     const struct dma_sg *sg, int nents)
{
	struct dma_dbg_rec *r = head;
	int i = 0;

	if (head->nents != nents) {
		dma_dbg_report(dbg, DMA_DEBUG_SIZE_MISMATCH, sg[0].dma_address, (uint64_t)nents,
			       head->dir, head);
		return;
	}
	for (; r && i < nents; r = r->sibling, i++) {
		if (sg[i].dma_address != r->addr || sg[i].dma_length != r->size) {
			dma_dbg_report(dbg, DMA_DEBUG_SIZE_MISMATCH, sg[i].dma_address,
				       sg[i].dma_length, head->dir, r);
			return;
		}
	}
	if (r || (i < nents && sg[i].dma_length))
		dma_dbg_report(dbg, DMA_DEBUG_SIZE_MISMATCH, i < nents ? sg[i].dma_address : 0,
			       i < nents ? sg[i].dma_length : 0, head->dir, r ? r : head);
}

int dma_debug_unmap_sg(struct dma_dev *dev, const struct dma_sg *sg, int nents,
		       enum dma_data_direction dir, struct dma_debug_undo *u)
{
	struct dma_debug *dbg = dev->dbg;
	struct dma_dbg_rec *r;
	int ret = 0;

	pthread_mutex_lock(&dbg->lock);
	r = dma_dbg_find_start(dbg, sg[0].dma_address, true, sg[0].dma_length, dir, DMA_MAP_SG);
	if (!r) {
		ret = dma_dbg_missing(dbg, sg[0].dma_address, sg[0].dma_length, dir, DMA_MAP_SG);
	} else if (r->type != DMA_MAP_SG || !r->head) {
		dma_dbg_report(dbg, DMA_DEBUG_TYPE_MISMATCH, sg[0].dma_address, sg[0].dma_length,
			       dir, r);
		ret = -EINVAL;
	} else {
		dma_dbg_check_sg(dbg, r, sg, nents);
		if (r->dir != dir)
			dma_dbg_report(dbg, DMA_DEBUG_DIR_MISMATCH, sg[0].dma_address,
				       sg[0].dma_length, dir, r);
		dma_dbg_undo_from(u, r);
		while (r) {
			struct dma_dbg_rec *next = r->sibling;

			dma_dbg_retire(dbg, r);
			r = next;
		}
	}
	pthread_mutex_unlock(&dbg->lock);
	return ret;
}

/* ---- device accesses ---------------------------------------------------------------------- */

int dma_debug_check_access(struct dma_dev *dev, dma_addr_t addr, uint64_t len,
			   enum dma_data_direction dir)
{
	struct dma_debug *dbg;
	uint64_t pos = addr, end;
	int ret = 0;

	if (DMA_LIKELY(!dev || !dev->debug) || !len)
		return 0;
	dbg = dev->dbg;
	end = addr + len < addr ? UINT64_MAX : addr + len;
	pthread_mutex_lock(&dbg->lock);
	while (pos < end) {
		struct dma_dbg_rec *r = dma_dbg_find_at(dbg, pos, dir);
		enum dma_debug_kind kind;

		if (r && r->live && dma_dir_allows(r->dir, dir)) {
			uint64_t stop = r->addr + r->size;

			pos = stop < r->addr || stop > end ? end : stop;
			continue;
		}
		kind = !r	 ? DMA_DEBUG_ACCESS_UNMAPPED
		       : r->live ? DMA_DEBUG_ACCESS_DIRECTION
				 : DMA_DEBUG_USE_AFTER_UNMAP;
		dma_dbg_report(dbg, kind, addr, len, dir, r);
		ret = -EFAULT;
		break;
	}
	pthread_mutex_unlock(&dbg->lock);
	return ret;
}

/* ---- leaks -------------------------------------------------------------------------------- */

/*
 * At teardown: report every live mapping, then undo each allocation (outside the lock:
 * the unmap path takes flush-queue and driver locks). Returns how many were reported.
 */
size_t dma_debug_leaks(struct dma_dev *dev)
{
	struct dma_debug *dbg = dev->dbg;
	struct dma_debug_undo *undo = NULL;
	size_t n = 0, nundo = 0;

	if (!dev->debug)
		return 0;
	pthread_mutex_lock(&dbg->lock);
	for (struct dma_dbg_link *l = dbg->live.next; l != &dbg->live; l = l->next)
		n++;
	if (n)
		undo = calloc(n, sizeof(*undo));
	while (dbg->live.next != &dbg->live) {
		struct dma_dbg_rec *r = (struct dma_dbg_rec *)(void *)dbg->live.next;

		dma_dbg_report(dbg, DMA_DEBUG_LEAK, r->addr, r->size, r->dir, r);
		if (undo && r->head)
			dma_dbg_undo_from(&undo[nundo++], r);
		dma_dbg_retire(dbg, r);
	}
	pthread_mutex_unlock(&dbg->lock);
	for (size_t i = 0; i < nundo; i++) {
		dma_undo(dev, &undo[i], dma_this_slot(dev));
	}
	free(undo);
	return n;
}
