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
 *    such a completion);
 *  - a request may instead take its entries from the thread's request memo (memo.c), the
 *    run it resolved last time, without the lock: the slots' versions are checked before
 *    the translated request goes out (so it never carries an address whose invalidation
 *    completed before the DMA began: an invalidation bumps the version under the write
 *    lock, before it completes) and again under the read lock around the access, as for
 *    a fresh lookup; so the access either uses entries that are still in the ATC, with the
 *    invalidation waiting for it, or does not happen and the request takes the general
 *    path. Memos are skipped in check mode, where every request is checked at lookup.
 *
 * A completion the agent marks PCI_RESP_INFLIGHT (an IOMMU that drains requests in flight at
 * its invalidations) gets the agent's done() once the access is over - or once the request
 * will not make it: a memory error, an invalidation that raced with it, the other side of a
 * copy failing - on every path, from the thread that translated it (req_done()).
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
 * a status word is never seen the other way round. A write of at most 64 bytes inside one
 * 64-byte block (a cache line) lands as a unit, as a DMA write to one line does on x86: a
 * reader that polls its first 8 bytes sees the rest once they change (a completion record
 * with its status first). On directly mapped memory the word, or the block's first 8
 * bytes, is stored last with release semantics (loaded first with acquire), so a CPU that
 * polls it with an acquire load also sees everything written before it.
 */
/* The ordered forms below on host memory `q` (the access's memory at translated address
 * `pa`, whose alignment decides): false if the access is not one of them. */
static bool host_ordered(uint8_t *q, uint64_t pa, bool write, uint8_t *p, size_t n)
{
	if (n == 4 && !(pa & 3)) {
		uint32_t v;

		if (write) {
			memcpy(&v, p, 4);
			__atomic_store_n((uint32_t *)(void *)q, v, __ATOMIC_RELEASE);
		} else {
			v = __atomic_load_n((uint32_t *)(void *)q, __ATOMIC_ACQUIRE);
			memcpy(p, &v, 4);
		}
		return true;
	}
	if (n < 8 || n > 64 || (pa & 7) || (pa >> 6) != ((pa + n - 1) >> 6))
		return false;
	if (write) {
		uint64_t v;

		memcpy(q + 8, p + 8, n - 8);
		memcpy(&v, p, 8);
		__atomic_store_n((uint64_t *)(void *)q, v, __ATOMIC_RELEASE);
	} else {
		uint64_t v = __atomic_load_n((uint64_t *)(void *)q, __ATOMIC_ACQUIRE);

		memcpy(p, &v, 8);
		memcpy(p + 8, q + 8, n - 8);
	}
	return true;
}

/* An access to host memory `q` (translated address `pa`): ordered where it must be. */
static int host_access(uint8_t *q, uint64_t pa, bool write, uint8_t *p, size_t n)
{
	if (n <= 64 && host_ordered(q, pa, write, p, n))
		return 0;
	if (write)
		memcpy(q, p, n);
	else
		memcpy(p, q, n);
	return 0;
}

static int mem_access(struct mem *m, bool write, uint64_t pa, uint8_t *p, size_t n)
{
	uint8_t *q;

	if (n <= 64 && (q = mem_ptr(m, pa, n)) && host_ordered(q, pa, write, p, n))
		return 0;
	return write ? mem_write(m, pa, p, n) : mem_read(m, pa, p, n);
}

static int translate(struct pci_endpoint *ep, const struct pci_req *req, struct pci_resp *resp)
{
	*resp = (struct pci_resp){0};
	return ep->cfg.agent.translate(ep->cfg.agent.ctx, req, resp);
}

/* The request's access is over or will not happen: tell an agent that counts it (pci.h). */
static inline void req_done(struct pci_endpoint *ep, const struct pci_req *req,
			    struct pci_resp *resp)
{
	if (__builtin_expect(resp->flags & PCI_RESP_INFLIGHT, 0) && ep->cfg.agent.done)
		ep->cfg.agent.done(ep->cfg.agent.ctx, req, resp);
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
	ret = mem_access(ep->cfg.mem, op->write, resp.addr, p, n);
	req_done(ep, &req, &resp);
	if (ret)
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
	struct ep_read rl;
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
		ep_read_lock(ep, &rl);
		route_locked(op, addr);
		ep_read_unlock(ep, &rl);
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

	ep_write_lock(ep);
	if (ep->inv_gen != gen) {
		ep_write_unlock(ep);
		return RACE;
	}
	if (!completion_ok(&req, &resp, ep_ctl_stu(ep_ctl(ep)))) {
		ep_write_unlock(ep);
		return fail(op, -EPROTO, PCI_AT_TRANSLATION, resp.addr, &resp);
	}
	e = atc_insert(&ep->atc, &op->key, global, req.addr & ~(resp.page_size - 1),
		       (unsigned)__builtin_ctzll(resp.page_size), resp.addr & ~(resp.page_size - 1),
		       perm, &evicted);
	hold(op, e);
	ep_write_unlock(ep);
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
	struct ep_read rl;
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

	ep_read_lock(ep, &rl);
	if (op->e->version != op->version) {
		ep_read_unlock(ep, &rl);
		req_done(ep, &req, &resp);
		op->e = NULL;
		return RACE;
	}
	ret = mem_access(ep->cfg.mem, op->write, pa, p, n);
	if (!ret && op->has_next)
		route_locked(op, op->next_addr);
	ep_read_unlock(ep, &rl);
	req_done(ep, &req, &resp);
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

/* Remember the entry the last request used, for this thread's next call. */
static void memo_put_held(struct dma_op *op)
{
	struct ep_memo_run r;

	if (!op->e || (op->view.perm & PCI_PERM_U) || !perm_usable(op, op->view.perm))
		return;
	r = (struct ep_memo_run){
	    .who = ep_who(op->key.pasid, op->key.tag, op->need),
	    .addr = op->view.addr,
	    .len = op->view.size,
	    .pa = op->view.pa,
	    .nheld = 1,
	};
	r.held[0] = (struct ep_memo_ent){op->e, op->version};
	r.upto[0] = op->view.size;
	ep_memo_put(op->ep, &r);
}

/*
 * How the page at `addr` is reached: ROUTE_ATC (op->e holds the ATC entry and op->view is
 * its translation; `*checked` when check mode compared it with the IOMMU), or
 * ROUTE_UNTRANSLATED, or an error. A miss asks the IOMMU for a translation (AT=1) and asks
 * again when the fill raced an invalidation. The tries count in `*tries`, with the caller's
 * own (an access that raced), up to PCI_EP_RETRY_LIMIT.
 */
static inline __attribute__((always_inline)) int page_resolve(struct dma_op *op, uint64_t addr,
							      unsigned *tries, bool *checked)
{
	*checked = false;
	for (;; ++*tries) {
		struct checker chk = {0};
		uint64_t gen;
		int route, ret;

		if (*tries > PCI_EP_RETRY_LIMIT)
			return fail(op, -EAGAIN, PCI_AT_TRANSLATION, 0, NULL);
		route = page_route(op, addr, &gen, &chk);
		if (route < 0)
			return route;
		if (route == ROUTE_MISS) {
			EP_STAT_INC(op->ep, misses);
			ret = dma_fill(op, addr, gen);
			if (ret == RACE) {
				EP_STAT_INC(op->ep, retries);
				continue;
			}
			if (ret < 0)
				return ret;
			return (op->view.perm & PCI_PERM_U) ? ROUTE_UNTRANSLATED : ROUTE_ATC;
		}
		if (route == ROUTE_UNTRANSLATED) {
			if (op->e) /* a cached "untranslated access only" answer */
				op->hits++;
			return ROUTE_UNTRANSLATED;
		}
		op->hits++;
		if (__builtin_expect(chk.fn != NULL, 0)) {
			check_hit(op, &chk, addr);
			*checked = true;
		}
		return ROUTE_ATC;
	}
}

/* One request of at most 4 KiB that does not cross a 4 KiB boundary. */
static int dma_page(struct dma_op *op, uint64_t addr, uint8_t *p, size_t n)
{
	for (unsigned tries = 0;; tries++) {
		bool checked;
		int ret = page_resolve(op, addr, &tries, &checked);

		if (ret < 0)
			return ret;
		if (ret == ROUTE_UNTRANSLATED)
			return dma_untranslated(op, addr, p, n);
		ret = dma_translated(op, addr, p, n);
		if (ret != RACE)
			return ret;
		EP_STAT_INC(op->ep, retries);
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
	memo_put_held(op);
	flush_counters(op);
	if (st)
		*st = (struct pci_dma_status){.done = len};
	return 0;
}

/* ==== The request memo's fast paths =========================================================
 *
 * A DMA that one memo run covers whole - a request of at most 4 KiB, or a copy whose both
 * sides are covered - skips the general path's setup and lookups: the arguments it can
 * take are checked, the run's versions are checked, the translated request goes out, and
 * the access happens under the read lock if the run is still in place (see the top of this
 * file). Anything else - bad arguments, a feature disabled, check mode, no memo - returns
 * NOT_FAST having sent, accessed and counted nothing, and the general path takes the DMA
 * (and reports its errors). Counters and the status are left as the general path leaves
 * them for the same requests.
 */
#define NOT_FAST 2

/* Who the request is (ep_who()), if the memo may serve it: ATS and every feature it needs
 * enabled, no check mode, the function not removed (all in the one control word), arguments
 * the general path would accept; else 0. */
static inline __attribute__((always_inline)) uint64_t
fast_who(struct pci_endpoint *ep, unsigned flags, uint32_t pasid, uint8_t need)
{
	uint32_t want = EP_CTL_ATS_EN;
	uint8_t tag = 0;

	if (__builtin_expect(flags == PCI_DMA_PASID, 1)) {
		tag = ATC_T_PASID;
		want |= EP_CTL_PASID_EN;
	} else if (flags == (PCI_DMA_PASID | PCI_DMA_PRIV)) {
		tag = ATC_T_PASID | ATC_T_PRIV;
		want |= EP_CTL_PASID_EN | EP_CTL_PRIV_EN;
	} else if (!flags) {
		pasid = 0;
	} else {
		return 0;
	}
	if ((ep_ctl(ep) & (want | EP_CTL_CHECKING | EP_CTL_REMOVED)) != want ||
	    (pasid >> ep->cfg.pasid_width))
		return 0;
	return ep_who(pasid, tag, need);
}

/* The memo run of `t` that covers [addr, addr + len) for `who` with every entry of that
 * part still in place (relaxed loads: whatever removal happened before the DMA call began is
 * seen); its part (first entry, count) in *part. NULL if none. No lock. */
static inline __attribute__((always_inline)) const struct ep_memo_run *
fast_run(const struct ep_thread *t, uint64_t who, uint64_t addr, uint64_t len, unsigned part[2])
{
	const struct ep_memo_run *m = ep_memo_find(t, who, addr);
	const struct ep_memo_ent *h, *last;
	uint64_t off;
	unsigned i, j;

	if (!m || (off = addr - m->addr) + (len - 1) >= m->len)
		return NULL;
	if (m->nheld == 1) {
		i = j = 0;
	} else {
		const uint64_t *u = m->upto;

		while (*u <= off)
			u++;
		i = (unsigned)(u - m->upto);
		while (*u < off + len)
			u++;
		j = (unsigned)(u - m->upto);
	}
	part[0] = i;
	part[1] = j - i + 1;
	/* Pointers, not indices: an entry is 16 bytes, which no x86 address scales by. */
	for (h = m->held + i, last = m->held + j; h <= last; h++)
		if (__atomic_load_n(&h->e->version, __ATOMIC_RELAXED) != h->ver)
			return NULL;
	return m;
}

/* Read side: the entries part[0] .. part[0] + part[1] - 1 of a run are still in place. */
static inline bool run_valid_locked(const struct ep_memo_run *m, const unsigned part[2])
{
	const struct ep_memo_ent *h = m->held + part[0], *end = h + part[1];

	do {
		if (h->e->version != h->ver)
			return false;
	} while (++h < end);
	return true;
}

/* Read side: give the entries part[0] .. part[0] + part[1] - 1 of a run the LRU stamp `now`
 * (atc_tick()). */
static inline void run_stamp(const struct ep_memo_run *m, const unsigned part[2], uint64_t now)
{
	const struct ep_memo_ent *h = m->held + part[0], *end = h + part[1];

	do
		atc_stamp(h->e, now);
	while (++h < end);
}

/*
 * Count what a fast path sent: in the thread's reader slot when it has one (only its owner
 * writes there: a load and a store, no locked instruction on the DMA path), else in the
 * shared counters. pci_endpoint_get_stats() adds the slots' counts.
 */
static inline void fast_count(struct pci_endpoint *ep, const struct ep_thread *t, uint64_t hits,
			      uint64_t translated)
{
	struct ep_reader *r = t->slot;

	if (__builtin_expect(r != NULL, 1)) {
		__atomic_store_n(&r->hits, __atomic_load_n(&r->hits, __ATOMIC_RELAXED) + hits,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&r->translated,
				 __atomic_load_n(&r->translated, __ATOMIC_RELAXED) + translated,
				 __ATOMIC_RELAXED);
	} else {
		EP_STAT_ADD(ep, hits, hits);
		EP_STAT_ADD(ep, translated_requests, translated);
	}
}

/* Describe a failed request in *st as dma_run()/copy_finish() do (fail()'s fields), and
 * count a refused translation as fail() does. */
static int fast_fail(struct pci_endpoint *ep, struct pci_dma_status *st, int err, uint64_t addr,
		     uint64_t pa, const struct pci_resp *r, bool write_side)
{
	if (err == -EFAULT || err == -EACCES)
		EP_STAT_INC(ep, faults);
	if (st) {
		*st = (struct pci_dma_status){
		    .addr = addr, .pa = pa, .at = PCI_AT_TRANSLATED, .write = write_side};
		if (r) {
			st->status = r->status;
			st->fault = r->fault;
			st->perm = r->perm;
		}
	}
	return err;
}

/* AT=2 `req` for `pa` (PCI_REQ_READ or PCI_REQ_WRITE in `rw`): true when the IOMMU completed
 * it successfully. The caller describes a failure with fast_at2_fail(). */
static inline __attribute__((always_inline)) bool fast_at2(struct pci_endpoint *ep, uint64_t pa,
							   uint8_t rw, struct pci_req *req,
							   struct pci_resp *resp, int *ret)
{
	*req =
	    (struct pci_req){.addr = pa, .rid = ep->cfg.rid, .at = PCI_AT_TRANSLATED, .flags = rw};

	*resp = (struct pci_resp){0};
	*ret = ep->cfg.agent.translate(ep->cfg.agent.ctx, req, resp);
	return __builtin_expect(*ret >= 0 && resp->status == PCI_SC, 1);
}

/* A refused AT=2 request (fast_at2() false) of the request at `addr`. */
static __attribute__((noinline, cold)) int
fast_at2_fail(struct pci_endpoint *ep, struct pci_dma_status *st, int ret, uint64_t addr,
	      uint64_t pa, const struct pci_resp *resp, bool write_side)
{
	if (ret < 0)
		return fast_fail(ep, st, ret, addr, pa, NULL, write_side);
	return fast_fail(ep, st, -EFAULT, addr, pa, resp, write_side);
}

/* A DMA of one request (at most 4 KiB, inside one page) from the memo. */
static inline __attribute__((always_inline)) int dma_fast(struct pci_endpoint *ep, unsigned flags,
							  uint32_t pasid, uint64_t addr, void *buf,
							  size_t len, struct pci_dma_status *st,
							  bool write)
{
	const struct ep_memo_run *m;
	const struct ep_thread *t;
	struct pci_req req;
	struct pci_resp resp;
	struct ep_read rl;
	unsigned part[2];
	uint64_t who, pa;
	int ret;

	if (!ep || !buf || !len || (addr & ~PAGE_MASK_4K) + len > PAGE_SIZE_4K ||
	    !(who = fast_who(ep, flags, pasid, write ? PCI_PERM_W : PCI_PERM_R)) ||
	    !(t = ep_thread_of(ep)) || !(m = fast_run(t, who, addr, len, part)))
		return NOT_FAST;
	pa = m->pa + (addr - m->addr);
	fast_count(ep, t, 1, 1);
	if (!fast_at2(ep, pa, write ? PCI_REQ_WRITE : PCI_REQ_READ, &req, &resp, &ret))
		return fast_at2_fail(ep, st, ret, addr, pa, &resp, false);
	ep_read_lock_t(ep, t, &rl);
	if (ep->check_fn || !run_valid_locked(m, part)) {
		ep_read_unlock(ep, &rl);
		req_done(ep, &req, &resp);
		EP_STAT_INC(ep, retries); /* an invalidation raced with it: the general path */
		return NOT_FAST;
	}
	if (m->hva)
		ret = host_access(m->hva + (addr - m->addr), pa, write, buf, len);
	else
		ret = mem_access(ep->cfg.mem, write, pa, buf, len);
	run_stamp(m, part, atc_tick(&ep->atc));
	ep_read_unlock(ep, &rl);
	req_done(ep, &req, &resp);
	if (ret)
		return fast_fail(ep, st, -EIO, addr, pa, &resp, false);
	if (st)
		*st = (struct pci_dma_status){.done = len};
	return 0;
}

/* The general path, out of line so that the fast path's function stays small. */
static __attribute__((noinline)) int dma_general(struct pci_endpoint *ep, unsigned flags,
						 uint32_t pasid, uint64_t addr, const void *buf,
						 size_t len, struct pci_dma_status *st, bool write)
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

static inline __attribute__((always_inline)) int dma(struct pci_endpoint *ep, unsigned flags,
						     uint32_t pasid, uint64_t addr, const void *buf,
						     size_t len, struct pci_dma_status *st,
						     bool write)
{
	int ret = dma_fast(ep, flags, pasid, addr, (void *)(uintptr_t)buf, len, st, write);

	if (__builtin_expect(ret != NOT_FAST, 1))
		return ret;
	return dma_general(ep, flags, pasid, addr, buf, len, st, write);
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

/* ==== Copies inside the function (pci_endpoint_dma_copy) ==================================
 *
 * A DMA engine reads a piece into its internal buffer and writes it out; the model moves
 * the piece from source to destination memory in one step, under the read lock, once both
 * sides are translated. A piece is a run on each side: an untranslated request covers one
 * 4 KiB page; an ATC run covers the entry that translates its start and, while they hit
 * and continue it physically, the entries after it (at most COPY_RUN_ENTRIES), so a 2 MiB
 * translation or a physically contiguous buffer is one lookup per entry, one translated
 * request per run and one memmove. In check mode runs stay one page long, so that every
 * 4 KiB request is checked.
 */
#define COPY_RUN_ENTRIES EP_MEMO_HELD
#define COPY_PIECE_MAX	 (256 * 1024ull) /* bounds the time an invalidation waits */

struct copy_side {
	struct dma_op op;
	uint64_t pa;	 /* translated address of the run's start */
	uint64_t len;	 /* bytes of the run from its start */
	bool translated; /* AT=2 run from the ATC (else one AT=0 page) */
	unsigned nheld;
	struct ep_memo_ent held[COPY_RUN_ENTRIES];
	uint64_t upto[COPY_RUN_ENTRIES]; /* bytes from the start to the end of held[i]'s part */
	struct pci_req req;		 /* the piece's AT=0 or AT=2 request ... */
	struct pci_resp resp;		 /* ... and its completion (for req_done()) */
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* AT=0 for one page: the IOMMU checks and translates it; nothing is accessed yet. */
static int side_untranslated(struct copy_side *s, uint64_t addr, uint64_t max)
{
	struct dma_op *op = &s->op;
	int ret;

	s->req = (struct pci_req){
	    .addr = addr,
	    .pasid = op->pasid,
	    .rid = op->ep->cfg.rid,
	    .at = PCI_AT_UNTRANSLATED,
	    .flags = op->prefix | (op->write ? PCI_REQ_WRITE : PCI_REQ_READ),
	};
	op->untranslated++;
	ret = translate(op->ep, &s->req, &s->resp);
	if (ret < 0)
		return fail(op, ret, PCI_AT_UNTRANSLATED, 0, NULL);
	if (s->resp.status != PCI_SC)
		return fail(op, -EFAULT, PCI_AT_UNTRANSLATED, 0, &s->resp);
	s->translated = false;
	s->nheld = 0;
	s->pa = s->resp.addr;
	s->len = min_u64(PAGE_SIZE_4K - (addr & ~PAGE_MASK_4K), max);
	return 0;
}

/* Read side: extend an ATC run with the entries that continue it, up to `max` bytes. */
static void side_extend_locked(struct copy_side *s, uint64_t addr, uint64_t max)
{
	struct dma_op *op = &s->op;

	while (s->len < max && s->nheld < COPY_RUN_ENTRIES) {
		uint64_t next = addr + s->len;
		/* A run of 4 KiB entries (a buffer mapped with small pages) continues with
		 * another one most of the time: one probe instead of one per size. */
		struct atc_entry *e = atc_lookup_size(&op->ep->atc, &op->key, next, 12, true);
		uint64_t end;

		if (!e)
			e = atc_lookup(&op->ep->atc, &op->key, next, true);

		if (!e || !perm_usable(op, e->perm) || (e->perm & PCI_PERM_U) ||
		    e->pa + (next - e->addr) != s->pa + s->len)
			return;
		s->held[s->nheld] = (struct ep_memo_ent){e, e->version};
		end = e->addr + (1ull << e->shift);
		op->hits++;
		s->len = min_u64(end - addr, max);
		s->upto[s->nheld++] = s->len;
	}
}

/* Start the translated run of one side at `addr` with the held entry (op->e, op->view), at
 * most `max` bytes. True when the entry ends before `max`: the run may go on in the
 * entries after it (side_extend_locked()). */
static inline bool side_begin(struct copy_side *s, uint64_t addr, uint64_t max)
{
	const struct dma_op *op = &s->op;

	s->translated = true;
	s->held[0] = (struct ep_memo_ent){op->e, op->version};
	s->nheld = 1;
	s->pa = op->view.pa + (addr - op->view.addr);
	s->len = min_u64(op->view.addr + op->view.size - addr, max);
	s->upto[0] = s->len;
	return s->len < max;
}

/* Translate the run of one side that starts at `addr`: 0, or an error in op->f. */
static int side_resolve(struct copy_side *s, uint64_t addr, uint64_t max)
{
	struct ep_read rl;
	struct dma_op *op = &s->op;
	unsigned tries = 0;
	bool checked;
	int ret = page_resolve(op, addr, &tries, &checked);

	if (ret < 0)
		return ret;
	if (ret == ROUTE_UNTRANSLATED)
		return side_untranslated(s, addr, max);
	if (checked) /* a run of one checked page: each page is checked on its own */
		max = min_u64(max, PAGE_SIZE_4K - (addr & ~PAGE_MASK_4K));
	if (side_begin(s, addr, max)) {
		ep_read_lock(op->ep, &rl);
		side_extend_locked(s, addr, max);
		ep_read_unlock(op->ep, &rl);
	}
	return 0;
}

/* Read side: the run at `addr` if the ATC has a usable translated entry for it (else false,
 * and the caller takes the general path). */
static bool side_hit_locked(struct copy_side *s, uint64_t addr, uint64_t max)
{
	struct dma_op *op = &s->op;

	if (!held_covers(op, addr)) {
		struct atc_entry *e = atc_lookup(&op->ep->atc, &op->key, addr, true);

		if (!e || !perm_usable(op, e->perm) || (e->perm & PCI_PERM_U))
			return false;
		hold(op, e);
	} else if (op->view.perm & PCI_PERM_U) {
		return false;
	}
	op->hits++;
	if (side_begin(s, addr, max))
		side_extend_locked(s, addr, max);
	return true;
}

/* Remember a side's ATC run for this thread's next copy. */
static void side_memo_put(struct copy_side *s, uint64_t addr)
{
	struct dma_op *op = &s->op;
	struct ep_memo_run r;

	if (!s->translated || !s->nheld)
		return;
	r.who = ep_who(op->key.pasid, op->key.tag, op->need);
	r.nheld = s->nheld;
	if (s->nheld == 1 && s->held[0].e == op->e) {
		/* One entry: all of it (op->view is its view from the lookup). */
		r.addr = op->view.addr;
		r.len = op->view.size;
		r.pa = op->view.pa;
		r.upto[0] = r.len;
	} else {
		r.addr = addr;
		r.len = s->len;
		r.pa = s->pa;
		memcpy(r.upto, s->upto, s->nheld * sizeof(r.upto[0]));
	}
	memcpy(r.held, s->held, s->nheld * sizeof(r.held[0]));
	ep_memo_put(op->ep, &r);
}

/* The common case - both sides hit, ATS on, no checker - under one read lock. */
static bool copy_lookup_fast(struct copy_side *rd, struct copy_side *wr, uint64_t src, uint64_t dst,
			     uint64_t max)
{
	struct ep_read rl;
	struct pci_endpoint *ep = rd->op.ep;
	uint32_t ctl = ep_ctl(ep);
	bool ok;

	if ((ctl & rd->op.ctl_req) != rd->op.ctl_req || !(ctl & EP_CTL_ATS_EN))
		return false;
	ep_read_lock(ep, &rl);
	ok = !ep->check_fn && side_hit_locked(rd, src, max) &&
	     side_hit_locked(wr, dst, min_u64(max, rd->len));
	ep_read_unlock(ep, &rl);
	return ok;
}

/* AT=2 for a run: the IOMMU only checks that the function may send translated requests. */
static int side_translated(struct copy_side *s)
{
	struct dma_op *op = &s->op;
	int ret;

	s->req = (struct pci_req){
	    .addr = s->pa,
	    .rid = op->ep->cfg.rid,
	    .at = PCI_AT_TRANSLATED,
	    .flags = op->write ? PCI_REQ_WRITE : PCI_REQ_READ,
	};
	op->translated++;
	ret = translate(op->ep, &s->req, &s->resp);
	if (ret < 0)
		return fail(op, ret, PCI_AT_TRANSLATED, s->pa, NULL);
	if (s->resp.status != PCI_SC)
		return fail(op, -EFAULT, PCI_AT_TRANSLATED, s->pa, &s->resp);
	return 0;
}

static bool side_still_valid(const struct copy_side *s)
{
	for (unsigned i = 0; i < s->nheld; i++)
		if (s->held[i].e->version != s->held[i].ver)
			return false;
	return true;
}

/* Read side: move `n` bytes between translated addresses (they may alias: memmove). */
static int copy_memory(struct mem *m, uint64_t dst, uint64_t src, uint64_t n)
{
	void *d = mem_ptr(m, dst, n), *s = mem_ptr(m, src, n);
	uint8_t bounce[512];

	if (d && s) {
		memmove(d, s, n);
		return 0;
	}
	if (!mem_range_ok(m, src, n))
		return -1;
	if (!mem_range_ok(m, dst, n))
		return -2;
	/* A backend without a direct mapping: through a small buffer, forwards (the two
	 * ranges only alias if the translations do, which a copy need not honour). */
	for (uint64_t off = 0; off < n; off += sizeof(bounce)) {
		size_t k = (size_t)min_u64(sizeof(bounce), n - off);

		if (mem_read(m, src + off, bounce, k))
			return -1;
		if (mem_write(m, dst + off, bounce, k))
			return -2;
	}
	return 0;
}

/* copy_piece() but for telling the agent that its requests are over. */
static int64_t copy_piece_once(struct copy_side *rd, struct copy_side *wr, uint64_t src,
			       uint64_t dst, uint64_t left, bool *wfail)
{
	struct ep_read rl;
	struct pci_endpoint *ep = rd->op.ep;
	uint64_t max = min_u64(left, COPY_PIECE_MAX), n;
	int ret;

	*wfail = false;
	if (!copy_lookup_fast(rd, wr, src, dst, max)) {
		ret = side_resolve(rd, src, max);
		if (!ret) {
			*wfail = true;
			ret = side_resolve(wr, dst, min_u64(max, rd->len));
		}
		if (ret)
			return ret;
	}
	side_memo_put(rd, src);
	side_memo_put(wr, dst);
	n = min_u64(rd->len, wr->len);
	*wfail = false;
	if (rd->translated && (ret = side_translated(rd)))
		return ret;
	*wfail = true;
	if (wr->translated && (ret = side_translated(wr)))
		return ret;

	ep_read_lock(ep, &rl);
	if (!side_still_valid(rd) || !side_still_valid(wr)) {
		ep_read_unlock(ep, &rl);
		rd->op.e = wr->op.e = NULL;
		return 0;
	}
	ret = copy_memory(ep->cfg.mem, wr->pa, rd->pa, n);
	ep_read_unlock(ep, &rl);
	if (ret) {
		*wfail = ret == -2;
		return fail(*wfail ? &wr->op : &rd->op, -EIO,
			    (*wfail ? wr : rd)->translated ? PCI_AT_TRANSLATED
							   : PCI_AT_UNTRANSLATED,
			    (*wfail ? wr : rd)->pa, NULL);
	}
	return (int64_t)n;
}

/* One piece: translate both sides, then move the bytes. The bytes moved (at least 1), 0 when
 * an invalidation raced with it, or an error (which side failed is in *wfail). Whatever
 * happened, the requests it sent are over when it returns (req_done()). */
static int64_t copy_piece(struct copy_side *rd, struct copy_side *wr, uint64_t src, uint64_t dst,
			  uint64_t left, bool *wfail)
{
	int64_t n;

	rd->resp.flags = wr->resp.flags = 0;
	n = copy_piece_once(rd, wr, src, dst, left, wfail);
	req_done(rd->op.ep, &rd->req, &rd->resp);
	req_done(wr->op.ep, &wr->req, &wr->resp);
	return n;
}

/* Publish both sides' counters; describe the failure of side `bad` (NULL: none). */
static void copy_finish(struct copy_side *rd, struct copy_side *wr, struct copy_side *bad,
			uint64_t addr, uint64_t done, struct pci_dma_status *st)
{
	flush_counters(&rd->op);
	flush_counters(&wr->op);
	if (!st)
		return;
	if (!bad) {
		*st = (struct pci_dma_status){.done = done};
		return;
	}
	*st = bad->op.f;
	st->addr = addr;
	st->done = done;
	st->write = bad == wr;
}

/*
 * A copy whose both sides the memo covers whole, in one piece (at most COPY_PIECE_MAX):
 * both translated requests, then the copy under the read lock (see the fast paths above).
 */
static inline __attribute__((always_inline)) int copy_fast(struct pci_endpoint *ep, unsigned flags,
							   uint32_t pasid, uint64_t dst,
							   uint64_t src, size_t len,
							   struct pci_dma_status *st)
{
	const struct ep_memo_run *a, *b;
	const struct ep_thread *t;
	unsigned pa_[2], pb[2];
	struct pci_req rreq, wreq;
	struct pci_resp rresp, wresp;
	uint64_t who, spa, dpa, now;
	struct ep_read rl;
	int ret;

	if (!ep || !len || len > COPY_PIECE_MAX || src + (len - 1) < src || dst + (len - 1) < dst ||
	    (src < dst + len && dst < src + len) ||
	    !(who = fast_who(ep, flags, pasid, PCI_PERM_R)) || !(t = ep_thread_of(ep)) ||
	    !(a = fast_run(t, who, src, len, pa_)) ||
	    !(b = fast_run(t, who ^ PCI_PERM_R ^ PCI_PERM_W, dst, len, pb)))
		return NOT_FAST;
	spa = a->pa + (src - a->addr);
	dpa = b->pa + (dst - b->addr);
	if (!fast_at2(ep, spa, PCI_REQ_READ, &rreq, &rresp, &ret)) {
		fast_count(ep, t, pa_[1] + pb[1], 1);
		return fast_at2_fail(ep, st, ret, src, spa, &rresp, false);
	}
	fast_count(ep, t, pa_[1] + pb[1], 2);
	if (!fast_at2(ep, dpa, PCI_REQ_WRITE, &wreq, &wresp, &ret)) {
		req_done(ep, &rreq, &rresp);
		return fast_at2_fail(ep, st, ret, dst, dpa, &wresp, true);
	}
	ep_read_lock_t(ep, t, &rl);
	if (ep->check_fn || !run_valid_locked(a, pa_) || !run_valid_locked(b, pb)) {
		ep_read_unlock(ep, &rl);
		req_done(ep, &rreq, &rresp);
		req_done(ep, &wreq, &wresp);
		EP_STAT_INC(ep, retries); /* an invalidation raced with it: the general path */
		return NOT_FAST;
	}
	/* The stamps before the copy, so that their stores do not wait behind its. */
	now = atc_tick(&ep->atc);
	run_stamp(a, pa_, now);
	run_stamp(b, pb, now);
	if (a->hva && b->hva) {
		memmove(b->hva + (dst - b->addr), a->hva + (src - a->addr), len);
		ret = 0;
	} else {
		ret = copy_memory(ep->cfg.mem, dpa, spa, len);
	}
	ep_read_unlock(ep, &rl);
	req_done(ep, &rreq, &rresp);
	req_done(ep, &wreq, &wresp);
	if (ret == -1)
		return fast_fail(ep, st, -EIO, src, spa, NULL, false);
	if (ret)
		return fast_fail(ep, st, -EIO, dst, dpa, NULL, true);
	if (st)
		*st = (struct pci_dma_status){.done = len};
	return 0;
}

/* The general path of a copy, out of line so that the fast path's function stays small. */
static __attribute__((noinline)) int copy_general(struct pci_endpoint *ep, unsigned flags,
						  uint32_t pasid, uint64_t dst, uint64_t src,
						  size_t len, struct pci_dma_status *st)
{
	static const uint8_t dummy;
	struct copy_side rd, wr;
	uint64_t done = 0;
	unsigned races = 0;
	int ret;

	if (st)
		*st = (struct pci_dma_status){.addr = src};
	ret = dma_setup(&rd.op, ep, flags, pasid, src, &dummy, len, false);
	if (!ret)
		ret = dma_setup(&wr.op, ep, flags, pasid, dst, &dummy, len, true);
	if (ret)
		return ret;
	/* Overlapping device ranges would need a direction: memmove is the caller's. */
	if (src < dst + len && dst < src + len)
		return -EINVAL;
	while (done < len) {
		bool wfail;
		int64_t n = copy_piece(&rd, &wr, src + done, dst + done, len - done, &wfail);

		if (n == 0) {
			EP_STAT_INC(ep, retries);
			if (++races <= PCI_EP_RETRY_LIMIT)
				continue;
			rd.op.f = (struct pci_dma_status){.at = PCI_AT_TRANSLATED};
			n = -EAGAIN;
			wfail = false;
		}
		if (n < 0) {
			copy_finish(&rd, &wr, wfail ? &wr : &rd, (wfail ? dst : src) + done, done,
				    st);
			return (int)n;
		}
		races = 0;
		done += (uint64_t)n;
	}
	copy_finish(&rd, &wr, NULL, 0, len, st);
	return 0;
}

int pci_endpoint_dma_copy(struct pci_endpoint *ep, unsigned flags, uint32_t pasid, uint64_t dst,
			  uint64_t src, size_t len, struct pci_dma_status *st)
{
	int ret = copy_fast(ep, flags, pasid, dst, src, len, st);

	if (__builtin_expect(ret != NOT_FAST, 1))
		return ret;
	return copy_general(ep, flags, pasid, dst, src, len, st);
}

/*
 * A copy and the write after it, both from the memo, all three translated requests first
 * (source, destination, then the write's), then one trip through the read lock: the copy,
 * then the write (an ordered host access, so a CPU that polls it sees the copy). Only on
 * direct memory, where neither access can fail once its entries are in place. A refused
 * request of the copy ends it as copy_fast() would, before the write's request goes out; a
 * refused request of the write leaves the copy to be made and the write failed. When an
 * invalidation raced with any of them, the general paths take what is left (as the fast
 * paths' retries do, sending those requests again).
 */
static inline __attribute__((always_inline)) int
copy_write_fast(struct pci_endpoint *ep, unsigned flags, uint32_t pasid, uint64_t dst, uint64_t src,
		size_t len, struct pci_dma_status *st, uint64_t waddr, const void *wbuf,
		size_t wlen, int *wret, struct pci_dma_status *wst)
{
	const struct ep_memo_run *a, *b, *c;
	const struct ep_thread *t;
	unsigned pa_[2], pb[2], pc[2];
	struct pci_req rreq, wreq, creq;
	struct pci_resp rresp, wresp, cresp;
	uint64_t who, spa, dpa, wpa, now;
	struct ep_read rl;
	bool wfailed;
	int ret, wr = 0;

	if (!ep || !len || len > COPY_PIECE_MAX || src + (len - 1) < src || dst + (len - 1) < dst ||
	    (src < dst + len && dst < src + len) || !wbuf || !wlen ||
	    (waddr & ~PAGE_MASK_4K) + wlen > PAGE_SIZE_4K ||
	    !(who = fast_who(ep, flags, pasid, PCI_PERM_R)) || !(t = ep_thread_of(ep)) ||
	    !(a = fast_run(t, who, src, len, pa_)) ||
	    !(b = fast_run(t, who ^ PCI_PERM_R ^ PCI_PERM_W, dst, len, pb)) ||
	    !(c = fast_run(t, who ^ PCI_PERM_R ^ PCI_PERM_W, waddr, wlen, pc)) || !a->hva ||
	    !b->hva || !c->hva)
		return NOT_FAST;
	spa = a->pa + (src - a->addr);
	dpa = b->pa + (dst - b->addr);
	wpa = c->pa + (waddr - c->addr);
	if (!fast_at2(ep, spa, PCI_REQ_READ, &rreq, &rresp, &ret)) {
		fast_count(ep, t, pa_[1] + pb[1], 1);
		return fast_at2_fail(ep, st, ret, src, spa, &rresp, false);
	}
	fast_count(ep, t, pa_[1] + pb[1], 2);
	if (!fast_at2(ep, dpa, PCI_REQ_WRITE, &wreq, &wresp, &ret)) {
		req_done(ep, &rreq, &rresp);
		return fast_at2_fail(ep, st, ret, dst, dpa, &wresp, true);
	}
	fast_count(ep, t, 1, 1);
	wfailed = !fast_at2(ep, wpa, PCI_REQ_WRITE, &creq, &cresp, &ret);
	if (wfailed)
		wr = fast_at2_fail(ep, wst, ret, waddr, wpa, &cresp, false);
	ep_read_lock_t(ep, t, &rl);
	if (ep->check_fn || !run_valid_locked(a, pa_) || !run_valid_locked(b, pb) ||
	    (!wfailed && !run_valid_locked(c, pc))) {
		ep_read_unlock(ep, &rl);
		req_done(ep, &rreq, &rresp);
		req_done(ep, &wreq, &wresp);
		if (!wfailed)
			req_done(ep, &creq, &cresp);
		EP_STAT_INC(ep, retries); /* an invalidation raced with it: the general path */
		ret = copy_general(ep, flags, pasid, dst, src, len, st);
		if (!ret)
			*wret = wfailed ? wr
					: pci_endpoint_dma_write(ep, flags, pasid, waddr, wbuf,
								 wlen, wst);
		return ret;
	}
	/* The entries' stamps first and the write's line asked for now: after the copy only
	 * the write is left, and its store does not wait behind the stamps' nor for the line. */
	now = atc_tick(&ep->atc);
	run_stamp(a, pa_, now);
	run_stamp(b, pb, now);
	if (!wfailed) {
		run_stamp(c, pc, now);
		__builtin_prefetch(c->hva + (waddr - c->addr), 1);
	}
	memmove(b->hva + (dst - b->addr), a->hva + (src - a->addr), len);
	if (!wfailed)
		host_access(c->hva + (waddr - c->addr), wpa, true, (uint8_t *)(uintptr_t)wbuf,
			    wlen);
	ep_read_unlock(ep, &rl);
	req_done(ep, &rreq, &rresp);
	req_done(ep, &wreq, &wresp);
	if (!wfailed)
		req_done(ep, &creq, &cresp);
	if (st)
		*st = (struct pci_dma_status){.done = len};
	if (!wfailed && wst)
		*wst = (struct pci_dma_status){.done = wlen};
	*wret = wr;
	return 0;
}

int pci_endpoint_dma_copy_write(struct pci_endpoint *ep, unsigned flags, uint32_t pasid,
				uint64_t dst, uint64_t src, size_t len, struct pci_dma_status *st,
				uint64_t waddr, const void *wbuf, size_t wlen, int *wret,
				struct pci_dma_status *wst)
{
	int ret;

	if (!wret)
		return -EINVAL;
	ret = copy_write_fast(ep, flags, pasid, dst, src, len, st, waddr, wbuf, wlen, wret, wst);
	if (__builtin_expect(ret != NOT_FAST, 1))
		return ret;
	ret = pci_endpoint_dma_copy(ep, flags, pasid, dst, src, len, st);
	if (!ret)
		*wret = pci_endpoint_dma_write(ep, flags, pasid, waddr, wbuf, wlen, wst);
	return ret;
}
