// SPDX-License-Identifier: MIT
/*
 * Concurrency stress, also run under ThreadSanitizer: device threads doing DMA through
 * ATS endpoints (device TLB, translation requests, translated requests) - and, in part 1
 * once more, through endpoints without ATS (untranslated requests) - while CPU threads
 * map and unmap and another thread attaches, replaces and detaches PASIDs - through the
 * core and the VT-d driver, and through the DMA API in strict and lazy mode with the kernel
 * PASID enabled and disabled - with the unit's check mode and every endpoint's ATC checker
 * on.
 *
 * The oracle. Each window of IOVA space has one owner thread, which publishes its state
 * (mapped to which physical chunk, or unmapped, or unmapped but not flushed yet in lazy
 * mode) under a sequence counter, odd while it changes; each PASID slot likewise (the
 * thread that attaches it). A device thread reads both counters before its DMA and again
 * after it (seqlock style). When neither moved, the DMA ran entirely inside one known
 * state and must do exactly what it says:
 *  - mapped: succeed and read the chunk's tag (no lost mapping);
 *  - unmapped and flushed: fail (no access after unmap + flush), or - in the DMA API's
 *    shared IOVA space only - reach another window's chunk, never this one's;
 *  - PASID detached: fail; identity: succeed;
 *  - and neither checker may report anything (nothing stale).
 * Whatever the counters say, a DMA that succeeds reads a tag that belongs to that IOVA
 * (memory it may reach), and a device write stores the device address it was sent to,
 * which the owner checks in the chunk when it unmaps it: a write that landed through a
 * stale translation in a chunk since given to another IOVA is caught there. The owner also
 * checks its own mappings after each change: iova_to_phys, the unit's answer, and a DMA
 * through a requester ID that never changes domain.
 *
 * SOFTIOMMU_STRESS_ROUNDS sets the map/unmap rounds per CPU thread (make soak raises it).
 */
#include "robust.h"

#include <softiommu/dma.h>

#include <pthread.h>
#include <sched.h>

#define WIN_PAGES 4
#define WIN_SIZE  (WIN_PAGES * SZ_4K)
#define NWIN	  8		/* windows per owner thread (and domain) */
#define NOWN	  2		/* owner (CPU) threads per domain or device */
#define NCHUNK	  (4 * NWIN)	/* physical chunks per owner */
#define NDEVTHR	  2		/* device threads */
#define IOVA_BASE 0x10000000ull /* core part: windows here; identity reads scratch here */
#define DATA_BASE 0x40000000ull /* chunks (below the machine's page allocator) */
#define TAG_MARK  0x7a00000000000000ull
#define WR_MARK	  0x800ull /* low bits of a device-written word: the mark and thread */

/* ---- checker reports, counted per thread -------------------------------------------------- */

static _Thread_local unsigned tl_reports;
static _Thread_local char tl_last[600]; /* the thread's last report, for failure messages */
static unsigned long reports_total;
static int report_printed;

static void note_report(const char *what)
{
	tl_reports++;
	__atomic_fetch_add(&reports_total, 1, __ATOMIC_RELAXED);
	(void)what;
}

static void on_stale(void *ctx, const struct vtd_stale *s)
{
	(void)ctx;
	note_report(s->missing);
	snprintf(tl_last, sizeof(tl_last),
		 "unit: sid %#x pasid %u addr %#llx: %s; %s (unit answered status %u fault %#x "
		 "addr %#llx; memory says status %u fault %#x addr %#llx)",
		 s->sid, s->pasid, (unsigned long long)s->addr, s->missing, s->detail,
		 s->cached.status, s->cached.fault, (unsigned long long)s->cached.addr,
		 s->memory.status, s->memory.fault, (unsigned long long)s->memory.addr);
	if (getenv("SOFTIOMMU_STRESS_VERBOSE") &&
	    !__atomic_exchange_n(&report_printed, 1, __ATOMIC_RELAXED))
		fprintf(stderr, "first check-mode report: sid %#x pasid %u addr %#llx: %s; %s\n",
			s->sid, s->pasid, (unsigned long long)s->addr, s->missing, s->detail);
}

static void on_atc(void *ctx, const struct pci_atc_mismatch *mm)
{
	(void)ctx;
	note_report("atc");
	snprintf(tl_last, sizeof(tl_last),
		 "atc: rid %#x pasid %u addr %#llx held %#llx+%#llx perm %#x; ref status %u "
		 "addr %#llx perm %#x err %d",
		 mm->rid, mm->has_pasid ? mm->pasid : 0, (unsigned long long)mm->addr,
		 (unsigned long long)mm->atc.pa, (unsigned long long)mm->atc.size, mm->atc.perm,
		 mm->ref.status, (unsigned long long)mm->ref.addr, mm->ref.perm, mm->ref_err);
}

/* ---- sequence counters (one writer each) ------------------------------------------------------
 *
 * No fences (ThreadSanitizer does not model them): the writer opens a change with an
 * acquire read-modify-write, so nothing it does next is seen before the counter is odd; a
 * reader re-reads the counter after its DMA with a release read-modify-write, so if the
 * writer's change comes later in the counter's order, everything the DMA read happened
 * before it.
 */
static void seq_begin(unsigned *seq)
{
	__atomic_fetch_add(seq, 1, __ATOMIC_ACQ_REL);
}

static void seq_end(unsigned *seq)
{
	__atomic_fetch_add(seq, 1, __ATOMIC_RELEASE);
}

static unsigned seq_read(unsigned *seq)
{
	return __atomic_load_n(seq, __ATOMIC_ACQUIRE);
}

static unsigned seq_recheck(unsigned *seq)
{
	return __atomic_fetch_add(seq, 0, __ATOMIC_ACQ_REL);
}

#define LOAD(x)	    __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* What a check found; the first failure is printed, every one counted. */
struct tally {
	unsigned long failures;
	unsigned long device_failures; /* found by the device threads */
	bool quiet;		       /* failures are expected: do not print them */
	unsigned long stable_mapped, stable_unmapped, stable_blocked, stable_identity;
	unsigned long unstable, gave_up, dmas, owner_checks;
	int printed;
};

static _Thread_local bool tl_device; /* a device thread */

static void fail(struct tally *t, const char *fmt, unsigned long long a, unsigned long long b)
{
	__atomic_fetch_add(&t->failures, 1, __ATOMIC_RELAXED);
	if (tl_device)
		__atomic_fetch_add(&t->device_failures, 1, __ATOMIC_RELAXED);
	if (!t->quiet && !__atomic_exchange_n(&t->printed, 1, __ATOMIC_RELAXED)) {
		fprintf(stderr, "stress failure: ");
		fprintf(stderr, fmt, a, b);
		fputc('\n', stderr);
		if (tl_reports)
			fprintf(stderr, "  last checker report on this thread: %s\n", tl_last);
	}
}

static void count(unsigned long *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return check_rand(s) % n;
}

static uint64_t tag_of(unsigned space, unsigned owner, unsigned win, unsigned gen, unsigned pg)
{
	return TAG_MARK | (uint64_t)space << 48 | (uint64_t)owner << 40 | (uint64_t)gen << 16 |
	       (uint64_t)win << 8 | pg;
}

/* Physical chunks of one owner: WIN_PAGES pages each, handed out at random. */
struct pool {
	uint64_t base;
	bool used[NCHUNK];
};

static int pool_get(struct pool *p, uint64_t *rng)
{
	unsigned start = (unsigned)rnd(rng, NCHUNK);

	for (unsigned i = 0; i < NCHUNK; i++) {
		unsigned c = (start + i) % NCHUNK;

		if (!p->used[c]) {
			p->used[c] = true;
			return (int)c;
		}
	}
	return -1;
}

static uint64_t chunk_pa(const struct pool *p, int c)
{
	return p->base + (uint64_t)c * WIN_SIZE;
}

/* A free chunk, made ready for `tag`: zeroed, each page's first word its tag. */
static int chunk_prepare(struct mem *mem, uint64_t pa, uint64_t tag0)
{
	if (mem_fill(mem, pa, 0, WIN_SIZE))
		return -1;
	for (unsigned pg = 0; pg < WIN_PAGES; pg++) {
		if (mem_write64(mem, pa + pg * SZ_4K, tag0 + pg))
			return -1;
	}
	return 0;
}

/*
 * A chunk that left its IOVA (unmapped and flushed): its tags intact (else -1; devices
 * never write them), and every word a device wrote holds the device address it was
 * written to - `iova` of this chunk - and the writing thread (else 1). 0 when all is well.
 */
static int chunk_verify(struct mem *mem, uint64_t pa, uint64_t iova, uint64_t tag0)
{
	for (unsigned pg = 0; pg < WIN_PAGES; pg++) {
		uint64_t v;

		if (mem_read64(mem, pa + pg * SZ_4K, &v) || v != tag0 + pg)
			return -1;
		for (unsigned k = 0; k < NDEVTHR; k++) {
			uint64_t want = (iova + pg * SZ_4K) | WR_MARK | k;

			if (mem_read64(mem, pa + pg * SZ_4K + 64 + 8 * k, &v) || (v && v != want))
				return 1;
		}
	}
	return 0;
}

/* One DMA of a device thread: a read of a page's tag or a write of its own word. */
static int device_dma(struct pci_endpoint *ep, unsigned flags, uint32_t pasid, uint64_t iova,
		      unsigned k, bool write, uint64_t *val)
{
	if (write) {
		uint64_t w = iova | WR_MARK | k;

		return pci_endpoint_dma_write(ep, flags, pasid, iova + 64 + 8 * k, &w, 8, NULL);
	}
	*val = 0;
	return pci_endpoint_dma_read(ep, flags, pasid, iova, val, 8, NULL);
}

static struct machine *stress_machine(enum intel_iommu_stage stage)
{
	struct machine_config cfg;
	struct machine *m = NULL;

	machine_config_default(&cfg);
	cfg.driver.quiet = true;
	cfg.driver.default_stage = stage;
	cfg.vtd_cb.stale = on_stale;
	if (machine_create(&cfg, &m))
		return NULL;
	if (vtd_set_check(m->vtd, true)) {
		machine_destroy(m);
		return NULL;
	}
	return m;
}

static int checker_on(struct machine *m, struct machine_dev *d)
{
	struct pci_translation_agent ref = vtd_translation_agent(m->vtd);

	return pci_endpoint_set_checker(d->ep, &ref, on_atc, NULL);
}

static unsigned stress_rounds(void)
{
	return (unsigned)robust_env("SOFTIOMMU_STRESS_ROUNDS", 800);
}

/* =========================================================================================
 * Part 1: through the core and the driver. Two paging domains (first and second stage),
 * each with NOWN owners mapping NWIN windows at fixed IOVAs; three ATS devices: A's RID on
 * the first-stage domain and B's on the second-stage one for good, C's RID moving between
 * them and its default domain; PASIDs 1 and 2 of every device attached, replaced (also
 * with identity) and detached by one thread.
 */

enum { DOM_FS, DOM_SS, DOM_ID, DOM_NONE, DOM_NR };

#define NDEV  3
#define NSLOT 3 /* RID, PASID 1, PASID 2 */

struct window {
	unsigned seq;
	int chunk; /* -1: unmapped (and flushed: strict) */
	unsigned gen;
};

struct slot {
	unsigned seq;
	int dom; /* DOM_*; C's RID: DOM_NONE = its own (empty) default domain */
};

struct core_world {
	struct machine *m;
	struct machine_dev *dev[NDEV];
	struct iommu_domain *dom[DOM_NR];
	struct window win[2][NOWN][NWIN];
	struct slot slot[NDEV][NSLOT];
	uint32_t pasid[NSLOT];
	struct tally t;
	unsigned owners_left;
	unsigned rounds;
	unsigned long min_dmas; /* owners go on until the device threads did this many */
	bool until_caught;	/* ... or until the device threads found a failure */
};

static uint64_t win_iova(unsigned o, unsigned w)
{
	/* Interleaved: the owners' windows share page-table pages. */
	return IOVA_BASE + (uint64_t)(w * NOWN + o) * WIN_SIZE;
}

/* The requester ID whose domain never changes, for the owner's own checks. */
static struct machine_dev *fixed_dev(struct core_world *cw, unsigned d)
{
	return cw->dev[d == DOM_FS ? 0 : 1];
}

struct owner_arg {
	struct core_world *cw;
	unsigned o;
};

static void core_map(struct core_world *cw, unsigned o, unsigned d, unsigned w, struct pool *pl,
		     uint64_t *rng)
{
	struct window *win = &cw->win[d][o][w];
	uint64_t iova = win_iova(o, w), pa, got;
	int c = pool_get(pl, rng);
	struct machine_dev *fx = fixed_dev(cw, d);
	unsigned rep0 = tl_reports;

	if (c < 0) {
		fail(&cw->t, "owner %llu: chunk pool empty (%llu)", o, 0);
		return;
	}
	pa = chunk_pa(pl, c);
	if (chunk_prepare(cw->m->mem, pa, tag_of(d, o, w, 0, 0)))
		fail(&cw->t, "owner %llu: cannot prepare chunk %#llx", o, pa);
	seq_begin(&win->seq);
	if (iommu_map(cw->dom[d], iova, pa, WIN_SIZE, IOMMU_READ | IOMMU_WRITE))
		fail(&cw->t, "iommu_map of %#llx failed (domain %llu)", iova, d);
	STORE(win->chunk, c);
	seq_end(&win->seq);
	/* No lost mapping: the table, the unit and the fixed device agree. */
	for (unsigned pg = 0; pg < WIN_PAGES; pg++) {
		struct pci_resp r = robust_xlate(cw->m->vtd, fx->rid, IOMMU_PASID_INVALID,
						 iova + pg * SZ_4K, pg & 1);
		uint64_t v = 0;
		int ret;

		if (iommu_iova_to_phys(cw->dom[d], iova + pg * SZ_4K, &got) ||
		    got != pa + pg * SZ_4K)
			fail(&cw->t, "iova_to_phys(%#llx) lost its mapping (%#llx)",
			     iova + pg * SZ_4K, got);
		if (r.status != PCI_SC || r.addr != pa + pg * SZ_4K)
			fail(&cw->t, "unit lost the mapping of %#llx (status %llu)",
			     iova + pg * SZ_4K, r.status);
		ret = pci_endpoint_dma_read(fx->ep, 0, 0, iova + pg * SZ_4K, &v, 8, NULL);
		if (ret != -EAGAIN && (ret || v != tag_of(d, o, w, 0, pg)))
			fail(&cw->t, "owner's DMA at %#llx read %#llx", iova + pg * SZ_4K, v);
	}
	if (tl_reports != rep0)
		fail(&cw->t, "checker reports on the owner's own mapping at %#llx (%llu)", iova,
		     tl_reports - rep0);
	count(&cw->t.owner_checks);
}

static void core_unmap(struct core_world *cw, unsigned o, unsigned d, unsigned w, struct pool *pl,
		       uint64_t *rng)
{
	struct window *win = &cw->win[d][o][w];
	uint64_t iova = win_iova(o, w), got;
	int c = win->chunk;
	struct machine_dev *fx = fixed_dev(cw, d);
	unsigned rep0 = tl_reports;
	ssize_t n;
	int cv;

	seq_begin(&win->seq);
	if (rnd(rng, 3) == 0) {
		/* Batched: two halves in one gather, one sync. */
		struct iommu_iotlb_gather g;

		iommu_iotlb_gather_init(&g);
		n = iommu_unmap_fast(cw->dom[d], iova + WIN_SIZE / 2, WIN_SIZE / 2, &g);
		n += iommu_unmap_fast(cw->dom[d], iova, WIN_SIZE / 2, &g);
		iommu_iotlb_sync(cw->dom[d], &g);
	} else {
		n = iommu_unmap(cw->dom[d], iova, WIN_SIZE);
	}
	if (n != (ssize_t)WIN_SIZE)
		fail(&cw->t, "iommu_unmap of %#llx gave %lld", iova, (unsigned long long)n);
	STORE(win->chunk, -1);
	seq_end(&win->seq);
	/* Unmapped and flushed: nothing reaches it any more. */
	for (unsigned pg = 0; pg < WIN_PAGES; pg++) {
		struct pci_resp r = robust_xlate(cw->m->vtd, fx->rid, IOMMU_PASID_INVALID,
						 iova + pg * SZ_4K, false);
		uint64_t v = 0;
		int ret;

		if (iommu_iova_to_phys(cw->dom[d], iova + pg * SZ_4K, &got) != -ENOENT)
			fail(&cw->t, "iova_to_phys(%#llx) still mapped after unmap (%llu)",
			     iova + pg * SZ_4K, 0);
		if (r.status == PCI_SC)
			fail(&cw->t, "unit translates %#llx after unmap + flush (to %#llx)",
			     iova + pg * SZ_4K, r.addr);
		ret = pci_endpoint_dma_read(fx->ep, 0, 0, iova + pg * SZ_4K, &v, 8, NULL);
		if (ret == 0)
			fail(&cw->t, "DMA at %#llx after unmap + flush read %#llx",
			     iova + pg * SZ_4K, v);
	}
	if (tl_reports != rep0)
		fail(&cw->t, "checker reports after the owner's unmap of %#llx (%llu)", iova,
		     tl_reports - rep0);
	/* Without ATS too: a write translated before the unmap was drained by its flush. */
	cv = chunk_verify(cw->m->mem, chunk_pa(pl, c), iova, tag_of(d, o, w, 0, 0));
	if (cv)
		fail(&cw->t, "chunk %#llx of %#llx written through a stale translation",
		     chunk_pa(pl, c), iova);
	pl->used[c] = false;
	count(&cw->t.owner_checks);
}

/*
 * Past its rounds, an owner goes on while the device threads have not had their share
 * (a loaded machine may not have run them yet), within a bound.
 */
static bool core_more(struct core_world *cw, unsigned r)
{
	if (r >= 100 * cw->rounds + 20000)
		return false;
	if (cw->until_caught)
		return !__atomic_load_n(&cw->t.device_failures, __ATOMIC_RELAXED);
	return __atomic_load_n(&cw->t.dmas, __ATOMIC_RELAXED) < cw->min_dmas;
}

static void *core_owner(void *arg)
{
	struct owner_arg *oa = arg;
	struct core_world *cw = oa->cw;
	struct pool pl = {.base = DATA_BASE + (uint64_t)oa->o * NCHUNK * WIN_SIZE};
	uint64_t rng = 0x1234567ull + oa->o;

	for (unsigned r = 0; r < cw->rounds || core_more(cw, r); r++) {
		unsigned d = (unsigned)rnd(&rng, 2), w = (unsigned)rnd(&rng, NWIN);

		if (cw->win[d][oa->o][w].chunk < 0)
			core_map(cw, oa->o, d, w, &pl, &rng);
		else
			core_unmap(cw, oa->o, d, w, &pl, &rng);
		if (r % 16 == 0)
			sched_yield(); /* quiet moments for the device threads' stable checks */
	}
	for (unsigned d = 0; d < 2; d++) {
		for (unsigned w = 0; w < NWIN; w++) {
			if (cw->win[d][oa->o][w].chunk >= 0)
				core_unmap(cw, oa->o, d, w, &pl, &rng);
		}
	}
	__atomic_fetch_sub(&cw->owners_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* PASIDs 1 and 2 of every device, and C's RID, change domains. */
static void *core_attacher(void *arg)
{
	struct core_world *cw = arg;
	uint64_t rng = 0xa77ac4ull;

	while (__atomic_load_n(&cw->owners_left, __ATOMIC_ACQUIRE)) {
		unsigned i = (unsigned)rnd(&rng, NDEV), s = (unsigned)rnd(&rng, NSLOT);
		struct slot *sl = &cw->slot[i][s];
		struct iommu_dev *dev = cw->dev[i]->dev;
		int cur = sl->dom, nd = (int)rnd(&rng, DOM_NR), ret;

		if (s == 0) {
			if (i != 2)
				continue; /* A's and B's RIDs stay where they are */
			nd = cur == DOM_NONE ? (int)rnd(&rng, 2) : DOM_NONE;
		}
		seq_begin(&sl->seq);
		if (s == 0)
			ret = nd == DOM_NONE ? iommu_detach_device(cw->dom[cur], dev)
					     : iommu_attach_device(cw->dom[nd], dev);
		else if (cur == DOM_NONE)
			ret = nd == DOM_NONE
				  ? 0
				  : iommu_attach_device_pasid(cw->dom[nd], dev, cw->pasid[s]);
		else if (nd == DOM_NONE)
			ret = iommu_detach_device_pasid(cw->dom[cur], dev, cw->pasid[s]);
		else
			ret = iommu_replace_device_pasid(cw->dom[nd], dev, cw->pasid[s]);
		if (ret)
			fail(&cw->t, "attach/replace/detach failed: %lld (slot %llu)", ret,
			     i * NSLOT + s);
		else
			STORE(sl->dom, nd);
		seq_end(&sl->seq);
		if (rnd(&rng, 4) == 0)
			sched_yield();
	}
	return NULL;
}

struct devthr_arg {
	struct core_world *cw;
	unsigned k;
};

static void core_device_check(struct core_world *cw, unsigned k, uint64_t *rng)
{
	unsigned i = (unsigned)rnd(rng, NDEV), s = (unsigned)rnd(rng, NSLOT);
	unsigned o = (unsigned)rnd(rng, NOWN), w = (unsigned)rnd(rng, NWIN);
	unsigned pg = (unsigned)rnd(rng, WIN_PAGES);
	struct slot *sl = &cw->slot[i][s];
	unsigned s1 = seq_read(&sl->seq), s2, w1, w2;
	int sd = LOAD(sl->dom), d = sd <= DOM_SS ? sd : (int)rnd(rng, 2);
	struct window *win = &cw->win[d][o][w];
	uint64_t iova = win_iova(o, w) + pg * SZ_4K, v = 0;
	bool write = rnd(rng, 4) == 0, stable, mapped;
	unsigned rep0 = tl_reports;
	int ret;

	w1 = seq_read(&win->seq);
	mapped = LOAD(win->chunk) >= 0;
	ret = device_dma(cw->dev[i]->ep, s ? PCI_DMA_PASID : 0, cw->pasid[s], iova, k, write, &v);
	s2 = seq_recheck(&sl->seq);
	w2 = seq_recheck(&win->seq);
	count(&cw->t.dmas);
	if (ret == -EAGAIN) {
		count(&cw->t.gave_up);
		return;
	}
	stable = s1 == s2 && !(s1 & 1) && (sd > DOM_SS || (w1 == w2 && !(w1 & 1)));
	/* Whatever happened meanwhile, a read that succeeded found memory this IOVA may
	 * reach: its page in either domain, or (identity) the untouched scratch page - with
	 * ATS or without (a read translated before an unmap is drained by its flush). */
	if (!ret && !write && v && v != tag_of(DOM_FS, o, w, 0, pg) &&
	    v != tag_of(DOM_SS, o, w, 0, pg))
		fail(&cw->t, "DMA read at %#llx reached foreign memory: %#llx", iova, v);
	if (!stable) {
		count(&cw->t.unstable);
		return;
	}
	if (tl_reports != rep0)
		fail(&cw->t, "checker reported a stale translation at %#llx (slot %llu)", iova,
		     i * NSLOT + s);
	if (sd == DOM_NONE) {
		if (!ret)
			fail(&cw->t, "DMA at %#llx through a detached PASID/RID %llu succeeded",
			     iova, i * NSLOT + s);
		count(&cw->t.stable_blocked);
	} else if (sd == DOM_ID) {
		if (ret)
			fail(&cw->t, "identity DMA at %#llx failed: %lld", iova, ret);
		count(&cw->t.stable_identity);
	} else if (mapped) {
		if (ret || (!write && v != tag_of((unsigned)d, o, w, 0, pg)))
			fail(&cw->t, "mapped %#llx: DMA gave %lld", iova,
			     ret ? (uint64_t)(int64_t)ret : v);
		count(&cw->t.stable_mapped);
	} else {
		if (!ret)
			fail(&cw->t, "DMA at %#llx unmapped and flushed succeeded (%#llx)", iova,
			     v);
		count(&cw->t.stable_unmapped);
	}
}

static void *core_device(void *arg)
{
	struct devthr_arg *da = arg;
	uint64_t rng = 0xdea1ull + da->k;

	tl_device = true;
	while (__atomic_load_n(&da->cw->owners_left, __ATOMIC_ACQUIRE))
		core_device_check(da->cw, da->k, &rng);
	return NULL;
}

static void print_tally(const char *name, const struct tally *t, uint64_t ns)
{
	printf("%s: %.2f s, %lu DMAs (stable: %lu mapped, %lu unmapped, %lu blocked, %lu "
	       "identity; %lu racing, %lu gave up), %lu owner checks, %lu checker reports in "
	       "all, %lu failures\n",
	       name, (double)ns / 1e9, t->dmas, t->stable_mapped, t->stable_unmapped,
	       t->stable_blocked, t->stable_identity, t->unstable, t->gave_up, t->owner_checks,
	       __atomic_load_n(&reports_total, __ATOMIC_RELAXED), t->failures);
}

static int core_setup(struct core_world *cw, bool ats)
{
	memset(cw, 0, sizeof(*cw));
	cw->m = stress_machine(INTEL_IOMMU_STAGE_AUTO);
	CHECK_RET(cw->m);
	for (unsigned i = 0; i < NDEV; i++) {
		cw->dev[i] = robust_dev(cw->m, PCI_RID(0, 8 + i, 0), 20, ats, 0);
		CHECK_RET(cw->dev[i]);
		CHECK_RET(checker_on(cw->m, cw->dev[i]) == 0);
	}
	CHECK_RET(iommu_paging_domain_alloc(cw->dev[0]->dev, IOMMU_DOMAIN_ALLOC_FIRST_STAGE,
					    &cw->dom[DOM_FS]) == 0);
	CHECK_RET(iommu_paging_domain_alloc(cw->dev[0]->dev, IOMMU_DOMAIN_ALLOC_SECOND_STAGE,
					    &cw->dom[DOM_SS]) == 0);
	cw->dom[DOM_ID] = cw->dev[0]->dev->iommu->ops->identity_domain;
	CHECK_RET(cw->dom[DOM_ID]);
	CHECK_RET(iommu_attach_device(cw->dom[DOM_FS], cw->dev[0]->dev) == 0);
	CHECK_RET(iommu_attach_device(cw->dom[DOM_SS], cw->dev[1]->dev) == 0);
	cw->pasid[1] = (uint32_t)iommu_alloc_global_pasid(cw->dev[0]->dev);
	cw->pasid[2] = (uint32_t)iommu_alloc_global_pasid(cw->dev[0]->dev);
	CHECK_RET(cw->pasid[1] == 1 && cw->pasid[2] == 2);
	for (unsigned i = 0; i < NDEV; i++) {
		for (unsigned s = 0; s < NSLOT; s++)
			cw->slot[i][s].dom = DOM_NONE;
	}
	cw->slot[0][0].dom = DOM_FS;
	cw->slot[1][0].dom = DOM_SS;
	for (unsigned d = 0; d < 2; d++) {
		for (unsigned o = 0; o < NOWN; o++) {
			for (unsigned w = 0; w < NWIN; w++)
				cw->win[d][o][w].chunk = -1;
		}
	}
	cw->owners_left = NOWN;
	return 0;
}

static int core_teardown(struct core_world *cw)
{
	struct intel_iommu_stats st;
	struct vtd_stats vs;

	for (unsigned i = 0; i < NDEV; i++) {
		for (unsigned s = 1; s < NSLOT; s++) {
			int d = cw->slot[i][s].dom;

			if (d != DOM_NONE)
				CHECK_RET(iommu_detach_device_pasid(cw->dom[d], cw->dev[i]->dev,
								    cw->pasid[s]) == 0);
		}
		CHECK_RET(pci_endpoint_set_checker(cw->dev[i]->ep, NULL, NULL, NULL) == 0);
	}
	if (cw->slot[2][0].dom != DOM_NONE)
		CHECK_RET(iommu_detach_device(cw->dom[cw->slot[2][0].dom], cw->dev[2]->dev) == 0);
	CHECK_RET(iommu_detach_device(cw->dom[DOM_FS], cw->dev[0]->dev) == 0);
	CHECK_RET(iommu_detach_device(cw->dom[DOM_SS], cw->dev[1]->dev) == 0);
	CHECK_RET(iommu_free_global_pasid(cw->dev[0]->dev, cw->pasid[1]) == 0);
	CHECK_RET(iommu_free_global_pasid(cw->dev[0]->dev, cw->pasid[2]) == 0);
	CHECK_RET(iommu_domain_free(cw->dom[DOM_FS]) == 0);
	CHECK_RET(iommu_domain_free(cw->dom[DOM_SS]) == 0);
	/* Nothing went wrong underneath either: no drain gave up on a request in flight. */
	CHECK_RET(intel_iommu_get_stats(cw->m->iommu, &st) == 0);
	CHECK_RET(st.wait_timeouts == 0 && st.queue_errors == 0 && st.devtlb_timeouts == 0);
	CHECK_RET(vtd_get_stats(cw->m->vtd, &vs) == 0 && vs.inv.drain_timeouts == 0);
	CHECK_RET(vs.inv.drains > 0);
	CHECK_RET(iommu_core_warnings(cw->m->core) == 0);
	CHECK_RET(machine_destroy(cw->m) == 0);
	return 0;
}

/* One run of part 1: `rounds` per owner, with `skip` left out by the driver. */
static int run_core(struct core_world *cw, unsigned rounds, enum intel_iommu_inv_kind skip,
		    bool ats)
{
	struct owner_arg oa[NOWN];
	struct devthr_arg da[NDEVTHR];
	pthread_t own[NOWN], dt[NDEVTHR], at;
	uint64_t t0 = robust_now_ns();

	__atomic_store_n(&reports_total, 0, __ATOMIC_RELAXED);
	CHECK_RET(core_setup(cw, ats) == 0);
	cw->rounds = rounds;
	cw->min_dmas = 20 * rounds;
	cw->until_caught = skip != INTEL_IOMMU_INV_NONE;
	cw->t.quiet = skip != INTEL_IOMMU_INV_NONE;
	CHECK_RET(intel_iommu_set_skip(cw->m->iommu, skip) == 0);
	for (unsigned k = 0; k < NDEVTHR; k++) {
		da[k] = (struct devthr_arg){cw, k};
		CHECK_RET(pthread_create(&dt[k], NULL, core_device, &da[k]) == 0);
	}
	CHECK_RET(pthread_create(&at, NULL, core_attacher, cw) == 0);
	for (unsigned o = 0; o < NOWN; o++) {
		oa[o] = (struct owner_arg){cw, o};
		CHECK_RET(pthread_create(&own[o], NULL, core_owner, &oa[o]) == 0);
	}
	for (unsigned o = 0; o < NOWN; o++)
		pthread_join(own[o], NULL);
	pthread_join(at, NULL);
	for (unsigned k = 0; k < NDEVTHR; k++)
		pthread_join(dt[k], NULL);
	print_tally(skip  ? "core+driver (one invalidation kind left out)"
		    : ats ? "core+driver"
			  : "core+driver, devices without ATS",
		    &cw->t, robust_now_ns() - t0);
	CHECK_RET(intel_iommu_set_skip(cw->m->iommu, INTEL_IOMMU_INV_NONE) == 0);
	return 0;
}

static void test_core_driver(void)
{
	static struct core_world cw;

	CHECK_EQ(run_core(&cw, stress_rounds(), INTEL_IOMMU_INV_NONE, true), 0);
	CHECK_EQ(cw.t.failures, 0);
	/* Not vacuous: every kind of stable check happened. */
	CHECK(cw.t.stable_mapped > 0 && cw.t.stable_unmapped > 0);
	CHECK(cw.t.stable_blocked > 0 && cw.t.stable_identity > 0);
	CHECK_EQ(core_teardown(&cw), 0);
}

/*
 * Devices without ATS (docs/robustness.md, "In-flight DMA without ATS"): the same checks as
 * with ATS. An untranslated request is in flight from the unit's answer to its access, and
 * the flush that ends an unmap drains it (the driver's IOTLB invalidations with DR / DW
 * and its PASID-based ones, then a wait): no read finds a page's next owner, no write
 * lands in a chunk already handed on. Under ThreadSanitizer too, where such a late access
 * would be a data race with the next owner.
 */
static void test_core_driver_without_ats(void)
{
	static struct core_world cw;

	CHECK_EQ(run_core(&cw, stress_rounds(), INTEL_IOMMU_INV_NONE, false), 0);
	CHECK_EQ(cw.t.failures, 0);
	CHECK(cw.t.stable_mapped > 0 && cw.t.stable_unmapped > 0);
	CHECK(cw.t.stable_blocked > 0 && cw.t.stable_identity > 0);
	CHECK_EQ(core_teardown(&cw), 0);
}

/*
 * The device threads' checks are not vacuous: with PASID-based device-TLB invalidations
 * left out - which only they can notice, the owners check through requester IDs - they
 * find stale translations.
 */
static __attribute__((unused)) void test_core_driver_catches_missing_pdevtlb(void)
{
	static struct core_world cw;

	CHECK_EQ(run_core(&cw, 100, INTEL_IOMMU_INV_PDEVTLB, true), 0);
	CHECK(cw.t.device_failures > 0);
	CHECK_EQ(core_teardown(&cw), 0);
}

/* =========================================================================================
 * Part 2: through the DMA API. Two ATS devices, one strict and one lazy (10 ms flush timer
 * running), each with NOWN owner threads mapping buffers with dma_map_single into the
 * shared IOVA space of the device's default domain; one thread enables and disables each
 * device's kernel PASID; device threads DMA with the RID or the kernel PASID.
 */

enum win_state { W_UNMAPPED, W_MAPPED, W_PENDING, W_FLUSHED };

struct dwindow {
	unsigned seq;
	unsigned state;	 /* enum win_state */
	uint64_t iova;	 /* W_MAPPED/PENDING/FLUSHED: the DMA address of its chunk */
	unsigned npages; /* 1..WIN_PAGES */
	int chunk;
	unsigned gen;
};

struct dslot {
	unsigned seq;
	uint32_t pasid; /* the kernel PASID, IOMMU_PASID_INVALID when disabled */
	uint32_t last;	/* the last one it had (for DMA once disabled) */
};

struct dma_world {
	struct machine *m;
	struct machine_dev *dev[2];
	struct dma_dev *dma[2];
	struct dwindow win[2][NOWN][NWIN];
	struct dslot kp[2];
	struct tally t;
	unsigned owners_left;
	unsigned rounds;
	unsigned long min_dmas; /* as struct core_world */
};

struct downer_arg {
	struct dma_world *dw;
	unsigned dv, o;
};

static uint64_t dtag(unsigned dv, unsigned o, unsigned w, unsigned gen, unsigned pg)
{
	return tag_of(4 + dv, o, w, gen & 0xff, pg);
}

static void dma_owner_map(struct dma_world *dw, unsigned dv, unsigned o, unsigned w,
			  struct pool *pl, uint64_t *rng)
{
	struct dwindow *win = &dw->win[dv][o][w];
	struct dma_dev *dd = dw->dma[dv];
	unsigned np = 1 + (unsigned)rnd(rng, WIN_PAGES), gen = win->gen + 1;
	int c = pool_get(pl, rng);
	unsigned rep0 = tl_reports;
	uint64_t pa, iova, got;

	if (c < 0) {
		fail(&dw->t, "owner %llu: chunk pool empty (%llu)", o, dv);
		return;
	}
	pa = chunk_pa(pl, c);
	if (chunk_prepare(dw->m->mem, pa, dtag(dv, o, w, gen, 0)))
		fail(&dw->t, "cannot prepare chunk %#llx (%llu)", pa, 0);
	seq_begin(&win->seq);
	iova = dma_map_single(dd, pa, np * SZ_4K, DMA_BIDIRECTIONAL);
	if (iova == DMA_MAPPING_ERROR) {
		fail(&dw->t, "dma_map_single failed: %lld (device %llu)",
		     dma_mapping_error(dd, iova), dv);
		pl->used[c] = false;
		seq_end(&win->seq);
		return;
	}
	STORE(win->iova, iova);
	STORE(win->npages, np);
	STORE(win->chunk, c);
	STORE(win->gen, gen);
	STORE(win->state, (unsigned)W_MAPPED);
	seq_end(&win->seq);
	for (unsigned pg = 0; pg < np; pg++) {
		struct pci_resp r = robust_xlate(dw->m->vtd, dw->dev[dv]->rid, IOMMU_PASID_INVALID,
						 iova + pg * SZ_4K, pg & 1);

		if (iommu_iova_to_phys(dma_dev_domain(dd), iova + pg * SZ_4K, &got) ||
		    got != pa + pg * SZ_4K)
			fail(&dw->t, "iova_to_phys(%#llx) lost its mapping (%#llx)",
			     iova + pg * SZ_4K, got);
		if (r.status != PCI_SC || r.addr != pa + pg * SZ_4K)
			fail(&dw->t, "unit lost the mapping of %#llx (status %llu)",
			     iova + pg * SZ_4K, r.status);
	}
	if (tl_reports != rep0)
		fail(&dw->t, "checker reports on the owner's own mapping at %#llx (%llu)", iova,
		     tl_reports - rep0);
	count(&dw->t.owner_checks);
}

/* A chunk whose IOVA is flushed: verify it and give it back. */
static void dma_owner_retire(struct dma_world *dw, unsigned dv, unsigned o, unsigned w,
			     struct pool *pl)
{
	struct dwindow *win = &dw->win[dv][o][w];

	if (chunk_verify(dw->m->mem, chunk_pa(pl, win->chunk), win->iova,
			 dtag(dv, o, w, win->gen, 0)))
		fail(&dw->t, "chunk %#llx of %#llx written through a stale translation",
		     chunk_pa(pl, win->chunk), win->iova);
	pl->used[win->chunk] = false;
}

static void dma_owner_unmap(struct dma_world *dw, unsigned dv, unsigned o, unsigned w,
			    struct pool *pl)
{
	struct dwindow *win = &dw->win[dv][o][w];
	struct dma_dev *dd = dw->dma[dv];
	bool lazy = dma_dev_mode(dd) == DMA_MODE_LAZY;
	uint64_t iova = win->iova, pa = chunk_pa(pl, win->chunk);

	seq_begin(&win->seq);
	if (dma_unmap_single(dd, iova, win->npages * SZ_4K, DMA_BIDIRECTIONAL))
		fail(&dw->t, "dma_unmap_single(%#llx) failed (device %llu)", iova, dv);
	STORE(win->state, (unsigned)(lazy ? W_PENDING : W_FLUSHED));
	seq_end(&win->seq);
	if (lazy)
		return;
	/* Strict: gone from the unit at once - unless another owner already got the IOVA,
	 * which then leads to its own chunk, never to this one. */
	for (unsigned pg = 0; pg < win->npages; pg++) {
		struct pci_resp r = robust_xlate(dw->m->vtd, dw->dev[dv]->rid, IOMMU_PASID_INVALID,
						 iova + pg * SZ_4K, false);

		if (r.status == PCI_SC && r.addr >= pa && r.addr < pa + WIN_SIZE)
			fail(&dw->t, "unit translates %#llx to its old chunk after unmap (%#llx)",
			     iova + pg * SZ_4K, r.addr);
	}
	dma_owner_retire(dw, dv, o, w, pl);
	count(&dw->t.owner_checks);
}

/* Lazy mode: flush the queues; what this owner left pending is now flushed. */
static void dma_owner_flush(struct dma_world *dw, unsigned dv, unsigned o, struct pool *pl)
{
	dma_flush_queues(dw->dma[dv]);
	for (unsigned w = 0; w < NWIN; w++) {
		struct dwindow *win = &dw->win[dv][o][w];

		if (win->state != W_PENDING)
			continue;
		seq_begin(&win->seq);
		STORE(win->state, (unsigned)W_FLUSHED);
		seq_end(&win->seq);
		dma_owner_retire(dw, dv, o, w, pl);
	}
}

static void *dma_owner(void *arg)
{
	struct downer_arg *oa = arg;
	struct dma_world *dw = oa->dw;
	unsigned dv = oa->dv, o = oa->o;
	struct pool pl = {.base = DATA_BASE + 0x10000000ull +
				  (uint64_t)(dv * NOWN + o) * NCHUNK * WIN_SIZE};
	uint64_t rng = 0x777ull + dv * 16 + o;

	for (unsigned r = 0;
	     r < dw->rounds || (r < 100 * dw->rounds + 20000 &&
				__atomic_load_n(&dw->t.dmas, __ATOMIC_RELAXED) < dw->min_dmas);
	     r++) {
		unsigned w = (unsigned)rnd(&rng, NWIN);
		struct dwindow *win = &dw->win[dv][o][w];

		if (win->state == W_MAPPED)
			dma_owner_unmap(dw, dv, o, w, &pl);
		else if (win->state != W_PENDING)
			dma_owner_map(dw, dv, o, w, &pl, &rng);
		if (r % 8 == 7)
			dma_owner_flush(dw, dv, o, &pl);
		if (r % 16 == 0)
			sched_yield();
	}
	for (unsigned w = 0; w < NWIN; w++) {
		if (dw->win[dv][o][w].state == W_MAPPED)
			dma_owner_unmap(dw, dv, o, w, &pl);
	}
	dma_owner_flush(dw, dv, o, &pl);
	__atomic_fetch_sub(&dw->owners_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Kernel PASIDs on and off. */
static void *dma_pasid_toggler(void *arg)
{
	struct dma_world *dw = arg;
	uint64_t rng = 0x9a51dull;

	while (__atomic_load_n(&dw->owners_left, __ATOMIC_ACQUIRE)) {
		unsigned dv = (unsigned)rnd(&rng, 2);
		struct dslot *kp = &dw->kp[dv];
		uint32_t p;

		seq_begin(&kp->seq);
		if (kp->pasid != IOMMU_PASID_INVALID) {
			if (dma_disable_pasid(dw->dma[dv], kp->pasid))
				fail(&dw->t, "dma_disable_pasid(%llu) failed (device %llu)",
				     kp->pasid, dv);
			STORE(kp->pasid, IOMMU_PASID_INVALID);
		} else if (dma_enable_pasid(dw->dma[dv], &p) == 0) {
			STORE(kp->pasid, p);
			STORE(kp->last, p);
		} else {
			fail(&dw->t, "dma_enable_pasid failed (device %llu)%llu", dv, 0);
		}
		seq_end(&kp->seq);
		for (unsigned i = 0; i < 4; i++)
			sched_yield();
	}
	return NULL;
}

static void dma_device_check(struct dma_world *dw, unsigned k, uint64_t *rng)
{
	unsigned dv = (unsigned)rnd(rng, 2), o = (unsigned)rnd(rng, NOWN);
	unsigned w = (unsigned)rnd(rng, NWIN);
	struct dslot *kp = &dw->kp[dv];
	struct dwindow *win = &dw->win[dv][o][w];
	bool use_pasid = rnd(rng, 2), write = rnd(rng, 4) == 0, stable;
	unsigned s1 = seq_read(&kp->seq), s2, w1, w2, st, np, gen;
	uint32_t pasid = LOAD(kp->pasid), last = LOAD(kp->last);
	unsigned rep0 = tl_reports, pg;
	uint64_t iova, v = 0;
	int ret;

	w1 = seq_read(&win->seq);
	st = LOAD(win->state);
	np = LOAD(win->npages);
	gen = LOAD(win->gen);
	iova = LOAD(win->iova);
	if (st == W_UNMAPPED || (use_pasid && last == 0))
		return; /* nothing to aim at yet */
	pg = (unsigned)rnd(rng, np ? np : 1);
	iova += pg * SZ_4K;
	ret = device_dma(dw->dev[dv]->ep, use_pasid ? PCI_DMA_PASID : 0, use_pasid ? last : 0, iova,
			 k, write, &v);
	s2 = seq_recheck(&kp->seq);
	w2 = seq_recheck(&win->seq);
	count(&dw->t.dmas);
	if (ret == -EAGAIN) {
		count(&dw->t.gave_up);
		return;
	}
	/* Any read that succeeded found a buffer's tag (never a table page or free memory). */
	if (!ret && !write && (v & 0xff00000000000000ull) != TAG_MARK)
		fail(&dw->t, "DMA read at %#llx reached foreign memory: %#llx", iova, v);
	stable = w1 == w2 && !(w1 & 1) && (!use_pasid || (s1 == s2 && !(s1 & 1)));
	if (!stable) {
		count(&dw->t.unstable);
		return;
	}
	if (use_pasid && pasid == IOMMU_PASID_INVALID) {
		if (!ret)
			fail(&dw->t, "DMA with the disabled kernel PASID %llu succeeded at %#llx",
			     last, iova);
		count(&dw->t.stable_blocked);
		return;
	}
	if (st == W_MAPPED) {
		if (ret || (!write && v != dtag(dv, o, w, gen, pg)))
			fail(&dw->t, "mapped %#llx: DMA gave %lld", iova,
			     ret ? (uint64_t)(int64_t)ret : v);
		if (tl_reports != rep0)
			fail(&dw->t, "checker reported a stale translation at mapped %#llx (%llu)",
			     iova, tl_reports - rep0);
		count(&dw->t.stable_mapped);
	} else if (st == W_FLUSHED) {
		/* The IOVA may belong to another owner's buffer now (whose changes this
		 * window's counter does not show, so neither are the checkers' reports about
		 * it this window's business); it never leads to this buffer. */
		if (!ret && !write && v == dtag(dv, o, w, gen, pg))
			fail(&dw->t, "DMA at %#llx reached its buffer after unmap + flush (%llu)",
			     iova, gen);
		count(&dw->t.stable_unmapped);
	}
	/* Pending (lazy): a stale translation may still reach this buffer until a flush -
	 * the owner's, another owner's or the timer's - after which the IOVA may be someone
	 * else's; only the tag check above applies. */
}

struct ddev_arg {
	struct dma_world *dw;
	unsigned k;
};

static void *dma_device(void *arg)
{
	struct ddev_arg *da = arg;
	uint64_t rng = 0xd0d0ull + da->k;

	tl_device = true;
	while (__atomic_load_n(&da->dw->owners_left, __ATOMIC_ACQUIRE))
		dma_device_check(da->dw, da->k, &rng);
	return NULL;
}

static int dma_setup(struct dma_world *dw, enum intel_iommu_stage stage)
{
	memset(dw, 0, sizeof(*dw));
	dw->m = stress_machine(stage);
	CHECK_RET(dw->m);
	for (unsigned dv = 0; dv < 2; dv++) {
		struct dma_dev_config dc = {0};

		dw->dev[dv] = robust_dev(dw->m, PCI_RID(1, dv, 0), 20, true,
					 dv ? IOMMU_DOMAIN_DMA_FQ : IOMMU_DOMAIN_DMA);
		CHECK_RET(dw->dev[dv]);
		CHECK_RET(checker_on(dw->m, dw->dev[dv]) == 0);
		dc.dev = dw->dev[dv]->dev;
		dc.mem = dw->m->mem;
		dc.alloc = dw->m->alloc;
		CHECK_RET(dma_dev_create(&dc, &dw->dma[dv]) == 0);
		CHECK_RET(dma_dev_mode(dw->dma[dv]) == (dv ? DMA_MODE_LAZY : DMA_MODE_STRICT));
		dw->kp[dv].pasid = IOMMU_PASID_INVALID;
	}
	dw->rounds = stress_rounds();
	dw->min_dmas = 20ul * dw->rounds;
	dw->owners_left = 2 * NOWN;
	return 0;
}

static int dma_teardown(struct dma_world *dw)
{
	struct intel_iommu_stats st;
	struct dma_stats ds;
	struct vtd_stats vs;

	for (unsigned dv = 0; dv < 2; dv++) {
		CHECK_RET(dma_get_stats(dw->dma[dv], &ds) == 0);
		CHECK_RET(ds.live == 0 && ds.map_errors == 0);
		CHECK_RET(dma_dev_destroy(dw->dma[dv]) == 0);
		CHECK_RET(pci_endpoint_set_checker(dw->dev[dv]->ep, NULL, NULL, NULL) == 0);
	}
	CHECK_RET(intel_iommu_get_stats(dw->m->iommu, &st) == 0);
	CHECK_RET(st.wait_timeouts == 0 && st.queue_errors == 0 && st.devtlb_timeouts == 0);
	CHECK_RET(vtd_get_stats(dw->m->vtd, &vs) == 0 && vs.inv.drain_timeouts == 0);
	CHECK_RET(iommu_core_warnings(dw->m->core) == 0);
	CHECK_RET(machine_destroy(dw->m) == 0);
	return 0;
}

static int run_dma_api(enum intel_iommu_stage stage, const char *name)
{
	static struct dma_world dw;
	struct downer_arg oa[2 * NOWN];
	struct ddev_arg da[NDEVTHR];
	pthread_t own[2 * NOWN], dt[NDEVTHR], tg;
	uint64_t t0 = robust_now_ns();

	__atomic_store_n(&reports_total, 0, __ATOMIC_RELAXED);
	CHECK_RET(dma_setup(&dw, stage) == 0);
	for (unsigned k = 0; k < NDEVTHR; k++) {
		da[k] = (struct ddev_arg){&dw, k};
		CHECK_RET(pthread_create(&dt[k], NULL, dma_device, &da[k]) == 0);
	}
	CHECK_RET(pthread_create(&tg, NULL, dma_pasid_toggler, &dw) == 0);
	for (unsigned i = 0; i < 2 * NOWN; i++) {
		oa[i] = (struct downer_arg){&dw, i / NOWN, i % NOWN};
		CHECK_RET(pthread_create(&own[i], NULL, dma_owner, &oa[i]) == 0);
	}
	for (unsigned i = 0; i < 2 * NOWN; i++)
		pthread_join(own[i], NULL);
	pthread_join(tg, NULL);
	for (unsigned k = 0; k < NDEVTHR; k++)
		pthread_join(dt[k], NULL);
	print_tally(name, &dw.t, robust_now_ns() - t0);
	CHECK_RET(dw.t.failures == 0);
	CHECK_RET(dw.t.stable_mapped > 0 && dw.t.stable_unmapped > 0 && dw.t.stable_blocked > 0);
	CHECK_RET(dma_teardown(&dw) == 0);
	return 0;
}

static void test_dma_api_first_stage(void)
{
	CHECK_EQ(run_dma_api(INTEL_IOMMU_STAGE_FIRST, "dma api, first stage"), 0);
}

static void test_dma_api_second_stage(void)
{
	CHECK_EQ(run_dma_api(INTEL_IOMMU_STAGE_SECOND, "dma api, second stage"), 0);
}

int main(void)
{
	RUN(test_core_driver);
	RUN(test_core_driver_without_ats);
#ifndef SOFTIOMMU_TSAN
	/* Under ThreadSanitizer the stale accesses this provokes are data races, which it
	 * stops at (as it should); the plain and ASan builds run it. */
	RUN(test_core_driver_catches_missing_pdevtlb);
#endif
	RUN(test_dma_api_first_stage);
	RUN(test_dma_api_second_stage);
	return CHECK_DONE();
}
