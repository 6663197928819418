// SPDX-License-Identifier: MIT
/*
 * The request path of an endpoint: DMA split into 4 KiB requests (a PCIe TLP never crosses
 * a 4 KiB boundary), each one untranslated (AT=0), or - with ATS - served by the ATC or a
 * translation request (AT=1), then sent as a translated request (AT=2).
 *
 * Ordering against invalidations (see the locking notes in include/softiommu/pci.h):
 *  - the entry a request uses is remembered with its slot's version; the memory access
 *    happens under the read lock after checking that version, so an invalidation (write
 *    lock) either waits for the access or makes it look the page up again;
 *  - a translation completion is cached only if no entry left the ATC since the lookup that
 *    missed (inv_gen), otherwise the request is repeated: the completion may predate an
 *    invalidation that has already completed (PCIe ATS requires the function to discard
 *    such a completion).
 */
#include "hw/pci/endpoint.h"

#define PAGE_SIZE_4K 4096ull
#define PAGE_MASK_4K (~(PAGE_SIZE_4K - 1))

/* page_route() results */
enum { ROUTE_ATC, ROUTE_UNTRANSLATED, ROUTE_MISS };

/* Internal: an invalidation raced with this page; look it up again. */
#define RACE 1

/* The check-mode settings, copied under the lock for the hit being served. */
struct checker {
	struct pci_translation_agent ref;
	pci_atc_check_fn fn;
	void *ctx;
};

/* How the next request goes, decided under the read lock (see route_locked()). */
struct route {
	bool valid;
	int how;       /* ROUTE_* */
	uint64_t addr; /* the request it was decided for */
	uint64_t gen;  /* ep->inv_gen then */
	struct checker chk;
};

struct dma_op {
	struct pci_endpoint *ep;
	uint8_t *buf;
	uint32_t pasid;
	bool write;
	uint8_t prefix;	  /* PCI_REQ_PASID | PRIV | EXEC of every request */
	uint8_t need;	  /* PCI_PERM_* the access needs */
	uint32_t ctl_req; /* EP_CTL_* bits the access needs enabled */
	struct atc_key key;
	/* The entry in use (its slot and the slot's version when it was read). */
	struct atc_entry *e;
	uint64_t version;
	struct pci_atc_view view;
	struct route next;
	bool has_next;	    /* another request follows the current one */
	uint64_t next_addr; /* its address */
	/* Per-request counters, added to the endpoint's once per call. */
	uint64_t hits, translated, untranslated;
	/* Why the transfer stopped. */
	struct pci_dma_status f;
};

static int fail(struct dma_op *op, int err, uint8_t at, uint64_t pa, const struct pci_resp *r)
{
	op->f.at = at;
	op->f.pa = pa;
	if (r) {
		op->f.status = r->status;
		op->f.fault = r->fault;
		op->f.perm = r->perm;
	}
	if (err == -EFAULT || err == -EACCES)
		EP_STAT_INC(op->ep, faults);
	return err;
}

/*
 * An aligned access of 4 or 8 bytes is single-copy atomic, and a function's writes are seen
 * in the order it sent them (PCIe posted-write ordering): a device that writes data and then
 * a status word (a completion record) is never seen the other way round. On directly mapped
 * memory such an access is an atomic store with release (load with acquire) semantics, so a
 * CPU thread that polls the word with an acquire load also sees the data written before it.
 */
static bool mem_access_word(struct dma_op *op, uint64_t pa, uint8_t *p, size_t n)
{
	void *q;

	if ((n != 4 && n != 8) || (pa & (n - 1)))
		return false;
	q = mem_ptr(op->ep->cfg.mem, pa, n);
	if (!q)
		return false;
	if (n == 8) {
		uint64_t v;

		if (op->write) {
			memcpy(&v, p, 8);
			__atomic_store_n((uint64_t *)q, v, __ATOMIC_RELEASE);
		} else {
			v = __atomic_load_n((uint64_t *)q, __ATOMIC_ACQUIRE);
			memcpy(p, &v, 8);
		}
	} else {
		uint32_t v;

		if (op->write) {
			memcpy(&v, p, 4);
			__atomic_store_n((uint32_t *)q, v, __ATOMIC_RELEASE);
		} else {
			v = __atomic_load_n((uint32_t *)q, __ATOMIC_ACQUIRE);
			memcpy(p, &v, 4);
		}
	}
	return true;
}

static int mem_access(struct dma_op *op, uint64_t pa, uint8_t *p, size_t n)
{
	struct mem *m = op->ep->cfg.mem;

	if (n <= 8 && mem_access_word(op, pa, p, n))
		return 0;
	return op->write ? mem_write(m, pa, p, n) : mem_read(m, pa, p, n);
}

static int translate(struct pci_endpoint *ep, const struct pci_req *req, struct pci_resp *resp)
{
	*resp = (struct pci_resp){0};
	return ep->cfg.agent.translate(ep->cfg.agent.ctx, req, resp);
}

/* AT=0: the IOMMU translates (and checks) the request; use its completion's address. */
static int dma_untranslated(struct dma_op *op, uint64_t addr, uint8_t *p, size_t n)
{
	struct pci_endpoint *ep = op->ep;
	struct pci_req req = {
	    .addr = addr,
	    .pasid = op->pasid,
	    .rid = ep->cfg.rid,
	    .at = PCI_AT_UNTRANSLATED,
	    .flags = op->prefix | (op->write ? PCI_REQ_WRITE : PCI_REQ_READ),
	};
	struct pci_resp resp;
	int ret;

	op->untranslated++;
	ret = translate(ep, &req, &resp);
	if (ret < 0)
		return fail(op, ret, PCI_AT_UNTRANSLATED, 0, NULL);
	if (resp.status != PCI_SC)
		return fail(op, -EFAULT, PCI_AT_UNTRANSLATED, 0, &resp);
	if (mem_access(op, resp.addr, p, n))
		return fail(op, -EIO, PCI_AT_UNTRANSLATED, resp.addr, &resp);
	return 0;
}

static void hold(struct dma_op *op, struct atc_entry *e)
{
	op->e = e;
	op->version = e->version;
	ep_atc_view(e, &op->view);
}

/* Read side: is the entry in use still there and does it cover `addr`? */
static bool held_covers(const struct dma_op *op, uint64_t addr)
{
	return op->e && op->e->version == op->version && addr >= op->view.addr &&
	       addr - op->view.addr <= op->view.size - 1;
}

static bool perm_usable(const struct dma_op *op, uint8_t perm)
{
	return (perm & PCI_PERM_U) || (perm & op->need) == op->need;
}

/*
 * Read side, lock held: decide how the request for `addr` goes - the ATC entry in use if it
 * still covers it, else a lookup - and remember it in op->next. Called for the first request
 * of a call, and for each following one from inside the previous request's memory access,
 * so a request costs one trip through the lock.
 */
static void route_locked(struct dma_op *op, uint64_t addr)
{
	struct pci_endpoint *ep = op->ep;
	struct route *r = &op->next;

	if (!held_covers(op, addr)) {
		struct atc_entry *e = atc_lookup(&ep->atc, &op->key, addr, true);

		op->e = NULL;
		/* A cached entry that lacks the permission is a miss: ask again with this
		 * access's intent (a read-only entry and a write, say). */
		if (e && perm_usable(op, e->perm))
			hold(op, e);
	}
	r->valid = true;
	r->addr = addr;
	r->gen = ep->inv_gen;
	r->chk.fn = NULL;
	if (!op->e) {
		r->how = ROUTE_MISS;
		return;
	}
	r->how = (op->view.perm & PCI_PERM_U) ? ROUTE_UNTRANSLATED : ROUTE_ATC;
	/* Check mode off costs this one branch. */
	if (__builtin_expect(ep->check_fn != NULL, 0)) {
		r->chk.ref = ep->ref;
		r->chk.fn = ep->check_fn;
		r->chk.ctx = ep->check_ctx;
	}
}

/* How the request for `addr` goes: ROUTE_* or -EOPNOTSUPP. */
static int page_route(struct dma_op *op, uint64_t addr, uint64_t *gen, struct checker *chk)
{
	struct pci_endpoint *ep = op->ep;
	uint32_t ctl = ep_ctl(ep);
	struct route *r = &op->next;

	if ((ctl & op->ctl_req) != op->ctl_req)
		return -EOPNOTSUPP; /* software disabled a feature in the middle of the DMA */
	if (!(ctl & EP_CTL_ATS_EN)) {
		r->valid = false;
		op->e = NULL; /* disabling ATS emptied the ATC */
		return ROUTE_UNTRANSLATED;
	}
	if (!r->valid || r->addr != addr) {
		pthread_rwlock_rdlock(&ep->lock);
		route_locked(op, addr);
		pthread_rwlock_unlock(&ep->lock);
	}
	r->valid = false;
	*gen = r->gen;
	*chk = r->chk;
	return r->how;
}

/* A completion's size must be a power of two of at least 4 KiB and the STU, and its address
 * must sit at the same offset as the request's inside that size. */
static bool completion_ok(const struct pci_req *req, const struct pci_resp *resp, unsigned stu)
{
	uint64_t size = resp->page_size;

	return size >= (PAGE_SIZE_4K << stu) && !(size & (size - 1)) &&
	       !((resp->addr ^ req->addr) & (size - 1));
}

/* AT=1: ask for a translation of the page and cache it. 0 with op->e held, RACE, or an
 * error. The completion is cached even when it lacks this access's permission (it is still
 * a valid translation), but the access then fails: -EACCES. */
static int dma_fill(struct dma_op *op, uint64_t addr, uint64_t gen)
{
	struct pci_endpoint *ep = op->ep;
	struct pci_req req = {
	    .addr = addr & PAGE_MASK_4K, /* ATS requests are page aligned */
	    .pasid = op->pasid,
	    .rid = ep->cfg.rid,
	    .at = PCI_AT_TRANSLATION,
	    .flags = op->prefix | (op->write ? PCI_REQ_WRITE : PCI_REQ_READ | PCI_REQ_NW),
	};
	struct pci_resp resp;
	struct atc_entry *e;
	bool global, evicted;
	uint8_t perm;
	int ret;

	EP_STAT_INC(ep, translation_requests);
	ret = translate(ep, &req, &resp);
	if (ret < 0)
		return fail(op, ret, PCI_AT_TRANSLATION, 0, NULL);
	if (resp.status != PCI_SC)
		return fail(op, -EFAULT, PCI_AT_TRANSLATION, 0, &resp);
	/* ATS: R=W=0 means no translation; it is not cached and the access fails. */
	if (!(resp.perm & (PCI_PERM_R | PCI_PERM_W)))
		return fail(op, -EFAULT, PCI_AT_TRANSLATION, 0, &resp);
	perm = resp.perm;
	/* The Global bit means something only to a function that can be invalidated
	 * globally, and only for requests with a PASID. */
	global = (perm & PCI_PERM_GLOBAL) && ep->cfg.ats_global_inv && (op->prefix & PCI_REQ_PASID);
	if (!global)
		perm &= (uint8_t)~PCI_PERM_GLOBAL;

	pthread_rwlock_wrlock(&ep->lock);
	if (ep->inv_gen != gen) {
		pthread_rwlock_unlock(&ep->lock);
		return RACE;
	}
	if (!completion_ok(&req, &resp, ep_ctl_stu(ep->ctl))) {
		pthread_rwlock_unlock(&ep->lock);
		return fail(op, -EPROTO, PCI_AT_TRANSLATION, resp.addr, &resp);
	}
	e = atc_insert(&ep->atc, &op->key, global, req.addr & ~(resp.page_size - 1),
		       (unsigned)__builtin_ctzll(resp.page_size), resp.addr & ~(resp.page_size - 1),
		       perm, &evicted);
	hold(op, e);
	pthread_rwlock_unlock(&ep->lock);
	if (evicted)
		EP_STAT_INC(ep, evictions);
	if (!perm_usable(op, op->view.perm))
		return fail(op, -EACCES, PCI_AT_TRANSLATION, resp.addr, &resp);
	return 0;
}

/* AT=2: the IOMMU only checks that this function may send translated requests; then the
 * memory access, under the read lock, if the entry is still there. */
static int dma_translated(struct dma_op *op, uint64_t addr, uint8_t *p, size_t n)
{
	struct pci_endpoint *ep = op->ep;
	uint64_t pa = op->view.pa + (addr - op->view.addr);
	struct pci_req req = {
	    .addr = pa,
	    .rid = ep->cfg.rid,
	    .at = PCI_AT_TRANSLATED,
	    .flags = op->write ? PCI_REQ_WRITE : PCI_REQ_READ,
	};
	struct pci_resp resp;
	int ret;

	op->translated++;
	ret = translate(ep, &req, &resp);
	if (ret < 0)
		return fail(op, ret, PCI_AT_TRANSLATED, pa, NULL);
	if (resp.status != PCI_SC)
		return fail(op, -EFAULT, PCI_AT_TRANSLATED, pa, &resp);

	pthread_rwlock_rdlock(&ep->lock);
	if (op->e->version != op->version) {
		pthread_rwlock_unlock(&ep->lock);
		op->e = NULL;
		return RACE;
	}
	ret = mem_access(op, pa, p, n);
	if (!ret && op->has_next)
		route_locked(op, op->next_addr);
	pthread_rwlock_unlock(&ep->lock);
	if (ret)
		return fail(op, -EIO, PCI_AT_TRANSLATED, pa, &resp);
	return 0;
}

static void check_hit(struct dma_op *op, const struct checker *chk, uint64_t addr)
{
	struct ep_hit hit = {
	    .key = op->key,
	    .addr = addr,
	    .pa = op->view.pa + (addr - op->view.addr),
	    .need = op->need,
	    .req_flags = op->prefix | (op->write ? PCI_REQ_WRITE : PCI_REQ_READ | PCI_REQ_NW),
	    .atc = op->view,
	};

	ep_check_hit(op->ep, &chk->ref, chk->fn, chk->ctx, &hit);
}

/* One request of at most 4 KiB that does not cross a 4 KiB boundary. */
static int dma_page(struct dma_op *op, uint64_t addr, uint8_t *p, size_t n)
{
	struct pci_endpoint *ep = op->ep;

	for (unsigned tries = 0;; tries++) {
		struct checker chk = {0};
		uint64_t gen;
		int route, ret;

		if (tries > PCI_EP_RETRY_LIMIT)
			return fail(op, -EAGAIN, PCI_AT_TRANSLATION, 0, NULL);
		route = page_route(op, addr, &gen, &chk);
		if (route < 0)
			return route;
		if (route == ROUTE_MISS) {
			EP_STAT_INC(ep, misses);
			ret = dma_fill(op, addr, gen);
			if (ret == RACE) {
				EP_STAT_INC(ep, retries);
				continue;
			}
			if (ret < 0)
				return ret;
			if (op->view.perm & PCI_PERM_U)
				return dma_untranslated(op, addr, p, n);
		} else if (route == ROUTE_UNTRANSLATED) {
			if (op->e) /* a cached "untranslated access only" answer */
				op->hits++;
			return dma_untranslated(op, addr, p, n);
		} else {
			op->hits++;
			if (__builtin_expect(chk.fn != NULL, 0))
				check_hit(op, &chk, addr);
		}
		ret = dma_translated(op, addr, p, n);
		if (ret != RACE)
			return ret;
		EP_STAT_INC(ep, retries);
	}
}

/* Argument checks shared by read and write; fills the parts of `op` they decide. */
static int dma_setup(struct dma_op *op, struct pci_endpoint *ep, unsigned flags, uint32_t pasid,
		     uint64_t addr, const void *buf, size_t len, bool write)
{
	uint32_t ctl;

	if (!ep || !buf || !len || addr + (len - 1) < addr)
		return -EINVAL;
	if (flags & ~(unsigned)(PCI_DMA_PASID | PCI_DMA_PRIV | PCI_DMA_EXEC))
		return -EINVAL;
	/* Privileged mode and execute are bits of the PASID prefix; execute is a read. */
	if (((flags & (PCI_DMA_PRIV | PCI_DMA_EXEC)) && !(flags & PCI_DMA_PASID)) ||
	    ((flags & PCI_DMA_EXEC) && write))
		return -EINVAL;
	if (__atomic_load_n(&ep->state, __ATOMIC_RELAXED) == PCI_EP_REMOVED)
		return -ENODEV;

	*op = (struct dma_op){.ep = ep, .buf = (uint8_t *)(uintptr_t)buf, .write = write};
	op->need = write ? PCI_PERM_W : PCI_PERM_R;
	if (flags & PCI_DMA_PASID) {
		op->ctl_req |= EP_CTL_PASID_EN;
		op->prefix |= PCI_REQ_PASID;
		op->pasid = pasid;
		op->key.tag |= ATC_T_PASID;
		op->key.pasid = pasid;
	}
	if (flags & PCI_DMA_PRIV) {
		op->ctl_req |= EP_CTL_PRIV_EN;
		op->prefix |= PCI_REQ_PRIV;
		op->key.tag |= ATC_T_PRIV;
	}
	if (flags & PCI_DMA_EXEC) {
		op->ctl_req |= EP_CTL_EXEC_EN;
		op->prefix |= PCI_REQ_EXEC;
		op->need |= PCI_PERM_X;
	}
	ctl = ep_ctl(ep);
	if ((ctl & op->ctl_req) != op->ctl_req)
		return -EOPNOTSUPP;
	if ((flags & PCI_DMA_PASID) && (pasid >> ep->cfg.pasid_width))
		return -ERANGE;
	return 0;
}

static void flush_counters(struct dma_op *op)
{
	if (op->hits)
		EP_STAT_ADD(op->ep, hits, op->hits);
	if (op->translated)
		EP_STAT_ADD(op->ep, translated_requests, op->translated);
	if (op->untranslated)
		EP_STAT_ADD(op->ep, untranslated_requests, op->untranslated);
}

static int dma_run(struct dma_op *op, uint64_t addr, size_t len, struct pci_dma_status *st)
{
	uint64_t done = 0;

	while (done < len) {
		uint64_t cur = addr + done;
		size_t n = (size_t)(PAGE_SIZE_4K - (cur & ~PAGE_MASK_4K));
		int ret;

		if (n > len - done)
			n = len - done;
		op->has_next = n < len - done;
		op->next_addr = cur + n;
		ret = dma_page(op, cur, op->buf + done, n);
		if (ret) {
			flush_counters(op);
			if (st) {
				*st = op->f;
				st->addr = cur;
				st->done = done;
			}
			return ret;
		}
		done += n;
	}
	flush_counters(op);
	if (st)
		*st = (struct pci_dma_status){.done = len};
	return 0;
}

static int dma(struct pci_endpoint *ep, unsigned flags, uint32_t pasid, uint64_t addr,
	       const void *buf, size_t len, struct pci_dma_status *st, bool write)
{
	struct dma_op op;
	int ret;

	if (st)
		*st = (struct pci_dma_status){.addr = addr};
	ret = dma_setup(&op, ep, flags, pasid, addr, buf, len, write);
	if (ret)
		return ret;
	return dma_run(&op, addr, len, st);
}

int pci_endpoint_dma_read(struct pci_endpoint *ep, unsigned flags, uint32_t pasid, uint64_t addr,
			  void *buf, size_t len, struct pci_dma_status *st)
{
	return dma(ep, flags, pasid, addr, buf, len, st, false);
}

int pci_endpoint_dma_write(struct pci_endpoint *ep, unsigned flags, uint32_t pasid, uint64_t addr,
			   const void *buf, size_t len, struct pci_dma_status *st)
{
	return dma(ep, flags, pasid, addr, buf, len, st, true);
}
