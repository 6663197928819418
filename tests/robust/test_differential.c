// SPDX-License-Identifier: MIT
/*
 * A long randomized differential run of the whole stack against a plain oracle of what
 * each (device, PASID) may reach.
 *
 * Three devices: dev0 with ATS and a strict DMA-API default domain, dev1 without ATS and a
 * lazy one (flush queue, no timer: flushes come from full queues and dma_flush_queues),
 * dev2 with ATS and an identity default domain (DMA API in direct mode). Each has four
 * slots: the RID, PASIDs 1 and 2, and its kernel PASID (dma_enable_pasid). Random steps:
 * dma_map_single/dma_unmap_single in every direction; iommu_map/iommu_unmap (whole and
 * partial, 4 KiB and 2 MiB pages, read-only, write-only, read-write) on a first-stage and a
 * second-stage paging domain; attach, replace and detach of PASIDs 1 and 2 with those
 * domains, identity and any device's default domain; RID attach and detach; kernel PASID
 * enable and disable; flush-queue and IOTLB flushes; DMA reads and writes through the
 * endpoints (crossing pages, stopping at the first refused one) and direct translation
 * requests to the unit. The oracle keeps, per address space, the ranges mapped with their
 * physical address and permissions (lazy unmaps stay "maybe" until a flush is seen in
 * the DMA layer's counters), and a shadow copy of every byte devices may touch.
 *
 * Failures: an access the oracle forbids that succeeds; one it allows that fails; data that
 * differs from the shadow; a stale-translation report from the unit's check mode or an
 * endpoint's ATC checker that is not about a "maybe" page; any error from a call the
 * oracle expects to work. The seed and step are printed; the variant (default stage,
 * cache sizes) follows from the seed, so SOFTIOMMU_DIFF_SEED=<seed> SOFTIOMMU_DIFF_RUNS=1
 * SOFTIOMMU_DIFF_STEPS=<step + 1> replays it.
 *
 * SOFTIOMMU_DIFF_STEPS: steps in all (default 20000), split over SOFTIOMMU_DIFF_RUNS runs
 * (default 4) with seeds SOFTIOMMU_DIFF_SEED (default 1), +1, ...; every one of them is run
 * (the remainder goes to the first runs), and the end prints what they did and checked:
 * steps per kind, DMA and translation requests allowed and refused, bytes compared.
 */
#include "robust.h"

#include <softiommu/dma.h>

#include <inttypes.h>
#include <stdarg.h>

#define POOL	  0x40000000ull /* physical pool every device access lands in */
#define POOL_SIZE (8 * SZ_2M)
#define NDEV	  3
#define NSLOT	  4 /* RID, PASID 1, PASID 2, kernel PASID */
#define S_KP	  3
#define MAXREC	  192
#define MAXDMAP	  64
#define PAGES_4K  256 /* FS/SS 4 KiB region: IOVA 0x200000 + page * 4K */
#define IOVA_4K	  0x200000ull
#define IOVA_2M	  0x80000000ull /* FS/SS 2 MiB region: 4 huge pages */
#define MAXLEN	  (3 * SZ_4K)

enum space {
	SP_DEF0,
	SP_DEF1,
	SP_FS,
	SP_SS,
	SP_ID, /* identity: dev2's default domain and the static identity domain */
	SP_BLOCK,
	SP_NR,
};

#define P_R 1u
#define P_W 2u

struct rec {
	uint64_t iova, size, phys;
	uint8_t perm; /* what the stage grants (P_R, P_W) */
	bool live, pending;
};

/* A live DMA-API mapping, for unmapping it later. */
struct dmap {
	dma_addr_t addr;
	uint64_t size, phys;
	enum dma_data_direction dir;
};

/* Step kinds, for the tally. */
enum kind {
	K_DMA_MAP,
	K_DMA_UNMAP,
	K_MAP,
	K_UNMAP,
	K_PASID,
	K_RID,
	K_KPASID,
	K_FQ_FLUSH,
	K_IOTLB_FLUSH,
	K_DMA,
	K_XLATE,
	K_NR,
};

static const char *const kind_names[K_NR] = {
    "dma_map_single",
    "dma_unmap_single",
    "iommu_map",
    "iommu_unmap",
    "PASID attach/replace/detach",
    "RID attach/detach",
    "kernel PASID on/off",
    "dma_flush_queues",
    "iommu_flush_iotlb_all",
    "DMA through an endpoint",
    "translation request to the unit",
};

/* What a run did and checked (added up over the runs). */
struct tally {
	uint64_t steps;
	uint64_t kind[K_NR];	  /* steps of each kind */
	uint64_t kind_noop[K_NR]; /* ... that found nothing to do */
	uint64_t req_through;	  /* DMA requests (4 KiB pieces) that went through, allowed */
	uint64_t req_denied;	  /* DMA requests refused where the oracle forbids them */
	uint64_t req_maybe;	  /* ... refused on a page the lazy window left open */
	uint64_t xlate_ok, xlate_denied, xlate_maybe;
	uint64_t bytes;		/* bytes moved and compared with (or written to) the shadow */
	uint64_t shadow_checks; /* whole-pool comparisons of memory with the shadow */
	uint64_t lazy_reports;	/* checker reports about pages in the lazy window (allowed) */
	uint64_t ns;
};

struct diff {
	struct machine *m;
	struct machine_dev *dev[NDEV];
	struct dma_dev *dma[NDEV];
	struct iommu_domain *dom[SP_NR];
	bool first_stage_default; /* the default domains' stage */
	bool legacy;		  /* a unit without scalable mode: no PASIDs, second stage only */
	struct rec rec[SP_NR][MAXREC];
	struct dmap dmap[NDEV][MAXDMAP];
	unsigned ndmap[NDEV];
	int slot[NDEV][NSLOT];	     /* enum space */
	uint32_t pasid[NDEV][NSLOT]; /* PASID used by each slot (kernel: the last one it had) */
	uint64_t flushes1;	     /* dev1's flush-queue flushes seen so far */
	uint8_t *shadow;	     /* POOL_SIZE bytes */
	uint64_t rng, seed;
	unsigned step;
	unsigned reports;   /* checker reports since creation */
	bool maybe_touched; /* the current step touched a pending page */
	bool failed;
	bool quiet;		 /* failures are expected: do not print them */
	bool noop;		 /* the current step found nothing to do */
	unsigned long counts[8]; /* DMAs ok / refused, translations, maps, unmaps, attaches */
	struct tally t;
};

static void on_stale(void *ctx, const struct vtd_stale *s)
{
	struct diff *df = ctx;

	df->reports++;
	if (!df->maybe_touched && !df->quiet)
		fprintf(stderr, "  check mode: sid %#x pasid %u addr %#llx: %s; %s\n", s->sid,
			s->pasid, (unsigned long long)s->addr, s->missing, s->detail);
}

static void on_atc(void *ctx, const struct pci_atc_mismatch *mm)
{
	struct diff *df = ctx;

	df->reports++;
	if (!df->maybe_touched && !df->quiet)
		fprintf(stderr, "  ATC checker: rid %#x pasid %u addr %#llx held %#llx\n", mm->rid,
			mm->has_pasid ? mm->pasid : 0, (unsigned long long)mm->addr,
			(unsigned long long)mm->atc.pa);
}

static void bad(struct diff *df, const char *fmt, ...)
{
	va_list ap;

	if (df->failed)
		return;
	df->failed = true;
	if (df->quiet)
		return;
	fprintf(stderr, "differential: seed %" PRIu64 " step %u: ", df->seed, df->step);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void noop(struct diff *df)
{
	df->noop = true;
}

static uint64_t rnd(struct diff *df, uint64_t n)
{
	return check_rand(&df->rng) % n;
}

static bool space_first_stage(const struct diff *df, int sp)
{
	return (sp == SP_FS && !df->legacy) ||
	       ((sp == SP_DEF0 || sp == SP_DEF1) && df->first_stage_default);
}

/* What a stage grants for IOMMU_* protection: first-stage tables cannot say write-only. */
static uint8_t grant(const struct diff *df, int sp, unsigned prot)
{
	uint8_t p = (uint8_t)(((prot & IOMMU_READ) ? P_R : 0) | ((prot & IOMMU_WRITE) ? P_W : 0));

	return space_first_stage(df, sp) ? (uint8_t)(p | P_R) : p;
}

/* ---- the oracle ----------------------------------------------------------------------------- */

enum look { L_NONE, L_OK, L_MAYBE };

static enum look lookup(struct diff *df, int sp, uint64_t iova, uint64_t *pa, uint8_t *perm)
{
	if (sp == SP_ID) {
		*pa = iova;
		*perm = P_R | P_W;
		return L_OK;
	}
	if (sp == SP_BLOCK)
		return L_NONE;
	for (unsigned i = 0; i < MAXREC; i++) {
		struct rec *r = &df->rec[sp][i];

		if (r->live && iova >= r->iova && iova - r->iova < r->size) {
			*pa = r->phys + (iova - r->iova);
			*perm = r->perm;
			return r->pending ? L_MAYBE : L_OK;
		}
	}
	return L_NONE;
}

static bool overlaps(struct diff *df, int sp, uint64_t iova, uint64_t size)
{
	for (unsigned i = 0; i < MAXREC; i++) {
		struct rec *r = &df->rec[sp][i];

		if (r->live && iova < r->iova + r->size && r->iova < iova + size)
			return true;
	}
	return false;
}

static struct rec *rec_add(struct diff *df, int sp, uint64_t iova, uint64_t size, uint64_t phys,
			   uint8_t perm)
{
	for (unsigned i = 0; i < MAXREC; i++) {
		struct rec *r = &df->rec[sp][i];

		if (!r->live) {
			*r = (struct rec){iova, size, phys, perm, true, false};
			return r;
		}
	}
	bad(df, "oracle full (space %d)", sp);
	return NULL;
}

static struct rec *rec_pick(struct diff *df, int sp, bool pending)
{
	unsigned start = (unsigned)rnd(df, MAXREC);

	for (unsigned i = 0; i < MAXREC; i++) {
		struct rec *r = &df->rec[sp][(start + i) % MAXREC];

		if (r->live && r->pending == pending)
			return r;
	}
	return NULL;
}

static struct rec *rec_find(struct diff *df, int sp, uint64_t iova)
{
	for (unsigned i = 0; i < MAXREC; i++) {
		struct rec *r = &df->rec[sp][i];

		if (r->live && !r->pending && r->iova == iova)
			return r;
	}
	return NULL;
}

/* dev1's flush queue flushed everything it held since we last looked: pending is gone. */
static void sync_flushes(struct diff *df)
{
	struct dma_stats st;
	uint64_t n;

	if (dma_get_stats(df->dma[1], &st)) {
		bad(df, "dma_get_stats failed");
		return;
	}
	n = st.fq_flush_full + st.fq_flush_timeout + st.fq_flush_explicit + st.fq_flush_nospace;
	if (n == df->flushes1)
		return;
	df->flushes1 = n;
	for (unsigned i = 0; i < MAXREC; i++) {
		if (df->rec[SP_DEF1][i].pending)
			df->rec[SP_DEF1][i].live = df->rec[SP_DEF1][i].pending = false;
	}
}

/* ---- mapping steps -------------------------------------------------------------------------- */

static uint64_t pool_page(struct diff *df)
{
	return POOL + rnd(df, POOL_SIZE / SZ_4K) * SZ_4K;
}

static const unsigned dir_prot[] = {
    [DMA_BIDIRECTIONAL] = IOMMU_READ | IOMMU_WRITE,
    [DMA_TO_DEVICE] = IOMMU_READ,
    [DMA_FROM_DEVICE] = IOMMU_WRITE,
};

static void step_dma_map(struct diff *df)
{
	unsigned d = (unsigned)rnd(df, NDEV), np = 1 + (unsigned)rnd(df, 4);
	enum dma_data_direction dir = (enum dma_data_direction)rnd(df, 3);
	uint64_t phys = pool_page(df) + (rnd(df, 2) ? rnd(df, SZ_4K) : 0), size;
	int sp = d == 2 ? SP_ID : (int)d;
	dma_addr_t a;

	if (df->ndmap[d] == MAXDMAP) {
		noop(df);
		return;
	}
	size = np * SZ_4K - (phys & 0xfff);
	if (size > 64)
		size -= rnd(df, 64);
	if (phys + size > POOL + POOL_SIZE) {
		noop(df);
		return;
	}
	a = dma_map_single(df->dma[d], phys, size, dir);
	if (a == DMA_MAPPING_ERROR) {
		bad(df, "dma_map_single(dev%u, %#llx, %#llx) failed: %d", d,
		    (unsigned long long)phys, (unsigned long long)size,
		    dma_mapping_error(df->dma[d], a));
		return;
	}
	if ((a & 0xfff) != (phys & 0xfff)) {
		bad(df, "dma_map_single kept no page offset: %#llx for %#llx",
		    (unsigned long long)a, (unsigned long long)phys);
		return;
	}
	df->dmap[d][df->ndmap[d]++] = (struct dmap){a, size, phys, dir};
	df->counts[3]++;
	sync_flushes(df); /* a full IOVA space flushes the queues and frees what they held */
	if (sp == SP_ID) {
		if (a != phys)
			bad(df, "direct mode gave %#llx for %#llx", (unsigned long long)a,
			    (unsigned long long)phys);
		return;
	}
	{
		uint64_t base = a & ~0xfffull, len = ((a + size + 0xfff) & ~0xfffull) - base;

		if (overlaps(df, sp, base, len)) {
			bad(df, "IOVA %#llx handed out while still in use", (unsigned long long)a);
			return;
		}
		rec_add(df, sp, base, len, phys & ~0xfffull, grant(df, sp, dir_prot[dir]));
	}
}

static void step_dma_unmap(struct diff *df)
{
	unsigned d = (unsigned)rnd(df, NDEV), i;
	struct dmap mp;
	int sp = d == 2 ? SP_ID : (int)d, ret;

	if (!df->ndmap[d]) {
		noop(df);
		return;
	}
	i = (unsigned)rnd(df, df->ndmap[d]);
	mp = df->dmap[d][i];
	df->dmap[d][i] = df->dmap[d][--df->ndmap[d]];
	ret = dma_unmap_single(df->dma[d], mp.addr, mp.size, mp.dir);
	if (ret) {
		bad(df, "dma_unmap_single(dev%u, %#llx) failed: %d", d, (unsigned long long)mp.addr,
		    ret);
		return;
	}
	df->counts[4]++;
	if (sp == SP_ID)
		return;
	{
		struct rec *r = rec_find(df, sp, mp.addr & ~0xfffull);

		if (!r) {
			bad(df, "oracle lost the mapping at %#llx", (unsigned long long)mp.addr);
			return;
		}
		if (sp == SP_DEF1)
			r->pending = true; /* lazy: until a flush */
		else
			r->live = false;
	}
	sync_flushes(df);
}

static const unsigned prots[] = {IOMMU_READ, IOMMU_WRITE, IOMMU_READ | IOMMU_WRITE,
				 IOMMU_READ | IOMMU_WRITE};

static void step_map(struct diff *df)
{
	int sp = SP_FS + (int)rnd(df, 2);
	unsigned prot = prots[rnd(df, 4)];
	uint64_t iova, phys, size;
	int ret;

	if (rnd(df, 8) == 0) { /* a 2 MiB page */
		iova = IOVA_2M + rnd(df, 4) * SZ_2M;
		phys = POOL + rnd(df, POOL_SIZE / SZ_2M) * SZ_2M;
		size = SZ_2M;
	} else {
		unsigned n = 1 + (unsigned)rnd(df, 8);

		iova = IOVA_4K + rnd(df, PAGES_4K - n) * SZ_4K;
		phys = POOL + rnd(df, POOL_SIZE / SZ_4K - n) * SZ_4K;
		size = n * SZ_4K;
	}
	if (overlaps(df, sp, iova, size)) {
		noop(df);
		return;
	}
	ret = iommu_map(df->dom[sp], iova, phys, size, prot);
	if (ret) {
		bad(df, "iommu_map(%d, %#llx, %#llx) failed: %d", sp, (unsigned long long)iova,
		    (unsigned long long)size, ret);
		return;
	}
	rec_add(df, sp, iova, size, phys, grant(df, sp, prot));
	df->counts[3]++;
}

/* Unmap a whole range, or a part of a 4 KiB-page range (what is left stays mapped). */
static void step_unmap(struct diff *df)
{
	int sp = SP_FS + (int)rnd(df, 2);
	struct rec *r = rec_pick(df, sp, false), left, right;
	uint64_t from, len;
	ssize_t n;

	if (!r) {
		noop(df);
		return;
	}
	from = r->iova;
	len = r->size;
	if (r->size != SZ_2M && r->size > SZ_4K && rnd(df, 2)) {
		uint64_t pages = r->size / SZ_4K, a = rnd(df, pages),
			 b = a + 1 + rnd(df, pages - a);

		from = r->iova + a * SZ_4K;
		len = (b - a) * SZ_4K;
	}
	n = iommu_unmap(df->dom[sp], from, len);
	if (n != (ssize_t)len) {
		bad(df, "iommu_unmap(%d, %#llx, %#llx) gave %lld", sp, (unsigned long long)from,
		    (unsigned long long)len, (long long)n);
		return;
	}
	left = right = *r;
	r->live = false;
	left.size = from - r->iova;
	right.iova = from + len;
	right.phys = r->phys + (right.iova - r->iova);
	right.size = r->iova + r->size - right.iova;
	if (left.size)
		rec_add(df, sp, left.iova, left.size, left.phys, left.perm);
	if (right.size)
		rec_add(df, sp, right.iova, right.size, right.phys, right.perm);
	df->counts[4]++;
}

/* ---- attachment steps ------------------------------------------------------------------------ */

static const int pasid_targets[] = {SP_FS, SP_SS, SP_ID, SP_DEF0, SP_DEF1, SP_BLOCK};

static void step_pasid(struct diff *df)
{
	unsigned d = (unsigned)rnd(df, NDEV), s = 1 + (unsigned)rnd(df, 2);
	int cur = df->slot[d][s], nd = pasid_targets[rnd(df, 6)], ret;
	struct iommu_dev *dev = df->dev[d]->dev;
	uint32_t p = df->pasid[d][s];

	if (cur == SP_BLOCK && nd == SP_BLOCK) {
		noop(df);
		return;
	}
	if (df->legacy) {
		/* No PASIDs on this unit: a clear error, and nothing changes. */
		ret = iommu_attach_device_pasid(df->dom[nd], dev, p);
		if (ret != -EOPNOTSUPP)
			bad(df, "legacy unit: PASID %u attach gave %d", p, ret);
		return;
	}
	if (cur == SP_BLOCK)
		ret = iommu_attach_device_pasid(df->dom[nd], dev, p);
	else if (nd == SP_BLOCK)
		ret = iommu_detach_device_pasid(df->dom[cur], dev, p);
	else
		ret = iommu_replace_device_pasid(df->dom[nd], dev, p);
	if (ret) {
		bad(df, "PASID %u of dev%u: %d -> %d failed: %d", p, d, cur, nd, ret);
		return;
	}
	df->slot[d][s] = nd;
	df->counts[5]++;
}

/* dev0 and dev1's RID: another paging domain, or back to the default. */
static void step_rid(struct diff *df)
{
	unsigned d = (unsigned)rnd(df, NDEV);
	int cur = df->slot[d][0], def = d == 2 ? SP_ID : (int)d, nd, ret;
	struct iommu_dev *dev = df->dev[d]->dev;

	if (cur == def) {
		nd = SP_FS + (int)rnd(df, 2);
		ret = iommu_attach_device(df->dom[nd], dev);
	} else {
		nd = def;
		ret = iommu_detach_device(df->dom[cur], dev);
	}
	if (ret) {
		bad(df, "RID of dev%u: %d -> %d failed: %d", d, cur, nd, ret);
		return;
	}
	df->slot[d][0] = nd;
	df->counts[5]++;
}

static void step_kernel_pasid(struct diff *df)
{
	unsigned d = (unsigned)rnd(df, NDEV);
	int ret;

	if (df->slot[d][S_KP] != SP_BLOCK) {
		ret = dma_disable_pasid(df->dma[d], df->pasid[d][S_KP]);
		if (ret)
			bad(df, "dma_disable_pasid(dev%u, %u) failed: %d", d, df->pasid[d][S_KP],
			    ret);
		df->slot[d][S_KP] = SP_BLOCK;
	} else {
		uint32_t p;

		ret = dma_enable_pasid(df->dma[d], &p);
		if (df->legacy) {
			if (ret != -EOPNOTSUPP)
				bad(df, "legacy unit: dma_enable_pasid gave %d", ret);
			return;
		}
		if (ret) {
			bad(df, "dma_enable_pasid(dev%u) failed: %d (%s)", d, ret,
			    dma_pasid_status(df->dma[d]));
			return;
		}
		df->pasid[d][S_KP] = p;
		df->slot[d][S_KP] = d == 2 ? SP_ID : (int)d;
	}
	df->counts[5]++;
}

/* ---- accesses ----------------------------------------------------------------------------------
 */

/*
 * Somewhere worth accessing in space `sp`: mostly inside a mapping (sometimes a pending
 * one), sometimes another space's, sometimes anywhere. Identity reaches physical memory:
 * only the pool, where the shadow can follow it.
 */
static uint64_t pick_addr(struct diff *df, int sp)
{
	int from = sp;
	struct rec *r;

	if (sp == SP_ID)
		return pool_page(df) + rnd(df, SZ_4K);
	if (sp == SP_BLOCK || rnd(df, 5) == 0)
		from = (int)rnd(df, SP_SS + 1);
	if (rnd(df, 10) == 0)
		return rnd(df, 2) ? IOVA_4K + rnd(df, PAGES_4K * SZ_4K)
				  : 0x100000000ull - 1 - rnd(df, 0x400000);
	r = rec_pick(df, from, rnd(df, 4) == 0);
	if (!r)
		r = rec_pick(df, from, false);
	if (!r)
		return IOVA_4K + rnd(df, PAGES_4K * SZ_4K);
	return r->iova + rnd(df, r->size);
}

static bool allows(uint8_t perm, bool write)
{
	return write ? (perm & P_W) : (perm & P_R);
}

/* A slot to access through: in legacy mode mostly the RID (PASIDs there only fault). */
static unsigned pick_slot(struct diff *df)
{
	if (df->legacy && rnd(df, 4))
		return 0;
	return (unsigned)rnd(df, NSLOT);
}

/* One DMA through an endpoint, checked request by request against the oracle. */
static void step_dma(struct diff *df)
{
	unsigned d = (unsigned)rnd(df, NDEV), s = pick_slot(df);
	int sp = df->slot[d][s];
	uint64_t addr = pick_addr(df, sp), len = 1 + rnd(df, rnd(df, 4) ? 64 : MAXLEN);
	bool write = rnd(df, 5) < 2;
	unsigned flags = s ? PCI_DMA_PASID : 0;
	uint32_t pasid = s ? df->pasid[d][s] : 0;
	struct pci_dma_status st = {0};
	uint8_t buf[MAXLEN];
	uint64_t done, off = 0;
	int ret;

	if (s == S_KP && pasid == 0) { /* never had a kernel PASID */
		noop(df);
		return;
	}
	if (sp == SP_ID && addr + len > POOL + POOL_SIZE)
		len = POOL + POOL_SIZE - addr;
	/* Pending pages may go either way: the checkers may see them, the oracle may not. */
	for (uint64_t a = addr & ~0xfffull; a < addr + len; a += SZ_4K) {
		uint64_t pa;
		uint8_t perm;

		if (lookup(df, sp, a, &pa, &perm) == L_MAYBE)
			df->maybe_touched = true;
	}
	if (write) {
		for (uint64_t i = 0; i < len; i++)
			buf[i] = (uint8_t)check_rand(&df->rng);
		ret = pci_endpoint_dma_write(df->dev[d]->ep, flags, pasid, addr, buf, len, &st);
	} else {
		memset(buf, 0xee, sizeof(buf));
		ret = pci_endpoint_dma_read(df->dev[d]->ep, flags, pasid, addr, buf, len, &st);
	}
	done = ret ? st.done : len;
	if (ret && ret != -EFAULT && ret != -EACCES) {
		bad(df, "DMA dev%u slot %u at %#llx: unexpected error %d", d, s,
		    (unsigned long long)addr, ret);
		return;
	}
	df->counts[ret ? 1 : 0]++;
	/* Request by request: transferred ones must be allowed, the refused one forbidden. */
	while (off < len) {
		uint64_t a = addr + off, n = SZ_4K - (a & 0xfff), pa = 0;
		uint8_t perm = 0;
		enum look l = lookup(df, sp, a, &pa, &perm);
		bool ok = l != L_NONE && allows(perm, write);

		if (n > len - off)
			n = len - off;
		if (off + n <= done) {
			if (!ok) {
				bad(df,
				    "dev%u slot %u (space %d): %s at %#llx succeeded; the oracle "
				    "forbids it",
				    d, s, sp, write ? "write" : "read", (unsigned long long)a);
				return;
			}
			if (pa < POOL || pa + n > POOL + POOL_SIZE) {
				bad(df, "oracle maps %#llx outside the pool",
				    (unsigned long long)a);
				return;
			}
			df->t.req_through++;
			df->t.bytes += n;
			if (write)
				memcpy(df->shadow + (pa - POOL), buf + off, n);
			else if (memcmp(df->shadow + (pa - POOL), buf + off, n)) {
				bad(df,
				    "dev%u slot %u: read at %#llx (pa %#llx) returned other data",
				    d, s, (unsigned long long)a, (unsigned long long)pa);
				return;
			}
		} else {
			if (ok && l == L_OK) {
				bad(df,
				    "dev%u slot %u (space %d): %s at %#llx failed (%d, fault %#x, "
				    "status %u); the oracle allows it",
				    d, s, sp, write ? "write" : "read", (unsigned long long)a, ret,
				    st.fault, st.status);
				return;
			}
			if (st.addr != a)
				bad(df, "DMA stopped at %#llx, reported %#llx",
				    (unsigned long long)a, (unsigned long long)st.addr);
			if (ok)
				df->t.req_maybe++;
			else
				df->t.req_denied++;
			return;
		}
		off += n;
	}
}

/* An untranslated request straight to the unit. */
static void step_translate(struct diff *df)
{
	unsigned d = (unsigned)rnd(df, NDEV), s = pick_slot(df);
	int sp = df->slot[d][s];
	uint64_t addr = pick_addr(df, sp) & ~7ull, pa = 0;
	bool write = rnd(df, 2);
	uint8_t perm = 0;
	enum look l = lookup(df, sp, addr, &pa, &perm);
	struct pci_resp r;

	if (s == S_KP && df->pasid[d][s] == 0) {
		noop(df);
		return;
	}
	if (l == L_MAYBE)
		df->maybe_touched = true;
	r = robust_xlate(df->m->vtd, df->dev[d]->rid, s ? df->pasid[d][s] : IOMMU_PASID_INVALID,
			 addr, write);
	df->counts[2]++;
	if (r.status == PCI_SC)
		df->t.xlate_ok++;
	else if (l == L_NONE || !allows(perm, write))
		df->t.xlate_denied++;
	else if (l == L_MAYBE)
		df->t.xlate_maybe++;
	if (r.status == PCI_SC) {
		if (l == L_NONE || !allows(perm, write) || r.addr != pa)
			bad(df,
			    "unit translates dev%u slot %u %#llx to %#llx; oracle: %d %#llx "
			    "perm %u",
			    d, s, (unsigned long long)addr, (unsigned long long)r.addr, l,
			    (unsigned long long)pa, perm);
	} else if (l == L_OK && allows(perm, write)) {
		bad(df, "unit refuses dev%u slot %u %#llx (status %u fault %#x); oracle: %#llx", d,
		    s, (unsigned long long)addr, r.status, r.fault, (unsigned long long)pa);
	}
}

static void check_shadow(struct diff *df)
{
	uint8_t *p = mem_ptr(df->m->mem, POOL, POOL_SIZE);

	df->t.shadow_checks++;
	if (!p || memcmp(p, df->shadow, POOL_SIZE)) {
		uint64_t i = 0;

		while (p && i < POOL_SIZE && p[i] == df->shadow[i])
			i++;
		bad(df, "memory differs from the shadow at %#llx", (unsigned long long)(POOL + i));
	}
}

/* The kind of a step from a number 0..99: how often each comes up. */
static enum kind step_kind(unsigned op)
{
	static const struct {
		unsigned below;
		enum kind k;
	} mix[] = {{16, K_DMA_MAP},	{28, K_DMA_UNMAP}, {37, K_MAP},	   {44, K_UNMAP},
		   {49, K_PASID},	{51, K_RID},	   {53, K_KPASID}, {55, K_FQ_FLUSH},
		   {56, K_IOTLB_FLUSH}, {88, K_DMA},	   {100, K_XLATE}};
	unsigned i = 0;

	while (op >= mix[i].below)
		i++;
	return mix[i].k;
}

static void one_step(struct diff *df)
{
	enum kind k = step_kind((unsigned)rnd(df, 100));
	unsigned before = df->reports;

	df->maybe_touched = false;
	df->noop = false;
	switch (k) {
	case K_DMA_MAP:
		step_dma_map(df);
		break;
	case K_DMA_UNMAP:
		step_dma_unmap(df);
		break;
	case K_MAP:
		step_map(df);
		break;
	case K_UNMAP:
		step_unmap(df);
		break;
	case K_PASID:
		step_pasid(df);
		break;
	case K_RID:
		step_rid(df);
		break;
	case K_KPASID:
		step_kernel_pasid(df);
		break;
	case K_FQ_FLUSH:
		dma_flush_queues(df->dma[1]);
		sync_flushes(df);
		break;
	case K_IOTLB_FLUSH:
		iommu_flush_iotlb_all(df->dom[(int)rnd(df, 4)]);
		break;
	case K_DMA:
		step_dma(df);
		break;
	default:
		step_translate(df);
		break;
	}
	df->t.steps++;
	df->t.kind[k]++;
	df->t.kind_noop[k] += df->noop;
	if (df->reports != before && !df->maybe_touched)
		bad(df, "%u stale-translation report(s) outside the lazy window",
		    df->reports - before);
	else
		df->t.lazy_reports += df->reports - before;
}

/* ---- set-up
 * -------------------------------------------------------------------------------------- */

static int diff_up(struct diff *df, uint64_t seed, enum intel_iommu_inv_kind skip)
{
	struct machine_config cfg;
	struct pci_translation_agent ref;
	static const int types[NDEV] = {IOMMU_DOMAIN_DMA, IOMMU_DOMAIN_DMA_FQ,
					IOMMU_DOMAIN_IDENTITY};

	memset(df, 0, sizeof(*df));
	df->seed = df->rng = seed;
	df->quiet = skip != INTEL_IOMMU_INV_NONE;
	df->legacy = seed & 4;
	df->first_stage_default = !(seed & 1) && !df->legacy;
	df->shadow = calloc(1, POOL_SIZE);
	CHECK_RET(df->shadow);
	machine_config_default(&cfg);
	cfg.driver.quiet = true;
	cfg.driver.default_stage =
	    df->first_stage_default ? INTEL_IOMMU_STAGE_FIRST : INTEL_IOMMU_STAGE_SECOND;
	cfg.vtd_cb.stale = on_stale;
	cfg.vtd_cb_ctx = df;
	if (df->legacy)
		robust_legacy_unit(&cfg.vtd);
	if (seed & 2) { /* small caches: evictions all the time */
		cfg.vtd.iotlb = (struct vtd_cache_geom){.sets = 8, .ways = 2};
		cfg.vtd.pasid_cache = (struct vtd_cache_geom){.sets = 2, .ways = 2};
		cfg.vtd.context_cache = (struct vtd_cache_geom){.sets = 1, .ways = 2};
		cfg.driver.batch = 1;
	}
	cfg.driver.skip = skip;
	CHECK_RET(machine_create(&cfg, &df->m) == 0);
	CHECK_RET(vtd_set_check(df->m->vtd, true) == 0);
	ref = vtd_translation_agent(df->m->vtd);
	for (unsigned d = 0; d < NDEV; d++) {
		struct machine_dev_config dc = {.rid = PCI_RID(0, 16 + d, 0),
						.pasid_width = 20,
						.ats = d != 1,
						.atc_sets = (seed & 2) ? 2 : 0,
						.atc_ways = (seed & 2) ? 2 : 0,
						.def_domain_type = types[d]};
		struct dma_dev_config dd = {.fq_size = 16, .fq_timeout_ms = DMA_FQ_TIMEOUT_NONE};

		CHECK_RET(machine_add_device(df->m, &dc, &df->dev[d]) == 0);
		if (dc.ats)
			CHECK_RET(pci_endpoint_set_checker(df->dev[d]->ep, &ref, on_atc, df) == 0);
		dd.dev = df->dev[d]->dev;
		dd.mem = df->m->mem;
		CHECK_RET(dma_dev_create(&dd, &df->dma[d]) == 0);
		df->slot[d][0] = d == 2 ? SP_ID : (int)d;
		for (unsigned s = 1; s < NSLOT; s++)
			df->slot[d][s] = SP_BLOCK;
	}
	CHECK_RET(dma_dev_mode(df->dma[1]) == DMA_MODE_LAZY);
	CHECK_RET(dma_dev_mode(df->dma[2]) == DMA_MODE_DIRECT);
	df->dom[SP_DEF0] = dma_dev_domain(df->dma[0]);
	df->dom[SP_DEF1] = dma_dev_domain(df->dma[1]);
	df->dom[SP_ID] = df->dev[0]->dev->iommu->ops->identity_domain;
	/* (In legacy mode both are second-stage.) */
	CHECK_RET(iommu_paging_domain_alloc(df->dev[0]->dev,
					    df->legacy ? 0 : IOMMU_DOMAIN_ALLOC_FIRST_STAGE,
					    &df->dom[SP_FS]) == 0);
	CHECK_RET(iommu_paging_domain_alloc(df->dev[0]->dev, IOMMU_DOMAIN_ALLOC_SECOND_STAGE,
					    &df->dom[SP_SS]) == 0);
	for (unsigned s = 1; s <= 2; s++) {
		int p = iommu_alloc_global_pasid(df->dev[0]->dev);

		/* Legacy mode has no PASIDs to give: requests with 1, 2, 3 must fail. */
		CHECK_RET(df->legacy ? p == -EOPNOTSUPP : p > 0);
		for (unsigned d = 0; d < NDEV; d++) {
			df->pasid[d][s] = df->legacy ? s : (uint32_t)p;
			df->pasid[d][S_KP] = df->legacy ? 3 : 0;
		}
	}
	/* The pool starts with a pattern, in memory and in the shadow. */
	for (uint64_t i = 0; i < POOL_SIZE; i += 8) {
		uint64_t v = check_rand(&df->rng);

		memcpy(df->shadow + i, &v, 8);
	}
	CHECK_RET(mem_write(df->m->mem, POOL, df->shadow, POOL_SIZE) == 0);
	return 0;
}

static int diff_down(struct diff *df)
{
	for (unsigned d = 0; d < NDEV; d++) {
		while (df->ndmap[d]) {
			struct dmap *mp = &df->dmap[d][--df->ndmap[d]];

			CHECK_RET(dma_unmap_single(df->dma[d], mp->addr, mp->size, mp->dir) == 0);
		}
		for (unsigned s = 1; s <= 2; s++) {
			if (df->slot[d][s] != SP_BLOCK)
				CHECK_RET(iommu_detach_device_pasid(df->dom[df->slot[d][s]],
								    df->dev[d]->dev,
								    df->pasid[d][s]) == 0);
		}
		if (df->slot[d][0] == SP_FS || df->slot[d][0] == SP_SS)
			CHECK_RET(iommu_detach_device(df->dom[df->slot[d][0]], df->dev[d]->dev) ==
				  0);
	}
	for (unsigned d = 0; d < NDEV; d++) {
		CHECK_RET(dma_dev_destroy(df->dma[d]) == 0);
		CHECK_RET(pci_endpoint_set_checker(df->dev[d]->ep, NULL, NULL, NULL) == 0);
	}
	for (int sp = SP_FS; sp <= SP_SS; sp++) {
		for (unsigned i = 0; i < MAXREC; i++) {
			struct rec *r = &df->rec[sp][i];

			if (r->live)
				CHECK_RET(iommu_unmap(df->dom[sp], r->iova, r->size) ==
					  (ssize_t)r->size);
		}
		CHECK_RET(iommu_domain_free(df->dom[sp]) == 0);
	}
	for (unsigned s = 1; s <= 2 && !df->legacy; s++)
		CHECK_RET(iommu_free_global_pasid(df->dev[0]->dev, df->pasid[0][s]) == 0);
	CHECK_RET(iommu_core_warnings(df->m->core) == 0);
	CHECK_RET(machine_destroy(df->m) == 0);
	free(df->shadow);
	return 0;
}

static void tally_add(struct tally *sum, const struct tally *t)
{
	sum->steps += t->steps;
	for (unsigned k = 0; k < K_NR; k++) {
		sum->kind[k] += t->kind[k];
		sum->kind_noop[k] += t->kind_noop[k];
	}
	sum->req_through += t->req_through;
	sum->req_denied += t->req_denied;
	sum->req_maybe += t->req_maybe;
	sum->xlate_ok += t->xlate_ok;
	sum->xlate_denied += t->xlate_denied;
	sum->xlate_maybe += t->xlate_maybe;
	sum->bytes += t->bytes;
	sum->shadow_checks += t->shadow_checks;
	sum->lazy_reports += t->lazy_reports;
	sum->ns += t->ns;
}

static void tally_print(const struct tally *t, unsigned runs)
{
	printf("%" PRIu64 " steps in %u runs, %.2f s of steps; by kind (those that found nothing "
	       "to do in brackets):\n",
	       t->steps, runs, (double)t->ns / 1e9);
	for (unsigned k = 0; k < K_NR; k++)
		printf("  %-32s %9" PRIu64 " (%" PRIu64 ")\n", kind_names[k], t->kind[k],
		       t->kind_noop[k]);
	printf("DMA requests checked: %" PRIu64 " through (allowed), %" PRIu64
	       " refused (forbidden), %" PRIu64 " refused in the lazy window; %" PRIu64
	       " bytes compared with the shadow\n",
	       t->req_through, t->req_denied, t->req_maybe, t->bytes);
	printf("translation requests: %" PRIu64 " translated, %" PRIu64
	       " refused (forbidden), %" PRIu64 " refused in the lazy window; %" PRIu64
	       " whole-pool shadow comparisons; %" PRIu64
	       " checker reports about the lazy window\n",
	       t->xlate_ok, t->xlate_denied, t->xlate_maybe, t->shadow_checks, t->lazy_reports);
}

static int run(uint64_t seed, unsigned steps, struct tally *sum)
{
	static struct diff df;
	uint64_t t0 = robust_now_ns();

	CHECK_RET(diff_up(&df, seed, INTEL_IOMMU_INV_NONE) == 0);
	for (df.step = 0; df.step < steps && !df.failed; df.step++) {
		one_step(&df);
		if (df.step % 997 == 996)
			check_shadow(&df);
	}
	if (!df.failed)
		check_shadow(&df);
	df.t.ns = robust_now_ns() - t0;
	printf("seed %" PRIu64 " (%s, %s caches): %u steps in %.2f s; %lu DMAs "
	       "through, %lu refused, %lu translations, %lu maps, %lu unmaps, %lu attachment "
	       "changes\n",
	       seed,
	       df.legacy		? "legacy unit"
	       : df.first_stage_default ? "first-stage default domains"
					: "second-stage default domains",
	       (seed & 2) ? "small" : "default", df.step, (double)df.t.ns / 1e9, df.counts[0],
	       df.counts[1], df.counts[2], df.counts[3], df.counts[4], df.counts[5]);
	tally_add(sum, &df.t);
	CHECK_RET(!df.failed);
	CHECK_RET(df.step == steps);
	CHECK_RET(df.counts[0] > steps / 20 && df.counts[1] > steps / 50);
	CHECK_RET(diff_down(&df) == 0);
	return 0;
}

/* With `skip` left out by the driver, the oracle fails within `steps`: the step, or -1. */
static int run_skipping(uint64_t seed, unsigned steps, enum intel_iommu_inv_kind skip)
{
	static struct diff df;
	int found = -1;

	CHECK_RET(diff_up(&df, seed, skip) == 0);
	for (df.step = 0; df.step < steps && !df.failed; df.step++)
		one_step(&df);
	if (df.failed)
		found = (int)df.step;
	/* Put things right, then tear down as usual. */
	CHECK_RET(intel_iommu_set_skip(df.m->iommu, INTEL_IOMMU_INV_NONE) == 0);
	CHECK_RET(diff_down(&df) == 0);
	return found;
}

static void test_differential(void)
{
	uint64_t seed = robust_env("SOFTIOMMU_DIFF_SEED", 1);
	unsigned runs = (unsigned)robust_env("SOFTIOMMU_DIFF_RUNS", 4);
	uint64_t steps = robust_env("SOFTIOMMU_DIFF_STEPS", 20000);
	uint64_t t0 = robust_now_ns();
	static struct tally sum;

	if (!runs)
		runs = 1;
	/* Every step is run: the remainder goes to the first runs. */
	for (unsigned r = 0; r < runs; r++)
		CHECK_EQ(run(seed + r, (unsigned)(steps / runs + (r < steps % runs)), &sum), 0);
	CHECK_EQ(sum.steps, steps);
	printf("%" PRIu64 " steps in %.2f s\n", steps, (double)(robust_now_ns() - t0) / 1e9);
	tally_print(&sum, runs);
}

/*
 * Not vacuous: with each kind of invalidation left out (the driver's fault injection) the
 * same random runs fail quickly; the context cache on the legacy unit, where context
 * entries change with the RID's domain.
 */
static void test_missing_invalidations_caught(void)
{
	static const enum intel_iommu_inv_kind kinds[] = {
	    INTEL_IOMMU_INV_PASID_CACHE, INTEL_IOMMU_INV_IOTLB, INTEL_IOMMU_INV_PIOTLB,
	    INTEL_IOMMU_INV_DEVTLB, INTEL_IOMMU_INV_PDEVTLB};

	for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		for (uint64_t seed = 1; seed <= 2; seed++) {
			int at = run_skipping(seed, 20000, kinds[k]);

			printf("leaving out invalidation kind %d: caught at step %d (seed %llu)\n",
			       (int)kinds[k], at, (unsigned long long)seed);
			CHECK(at >= 0);
		}
	}
	/* Legacy mode: the RID's context entry changes with its domain. */
	{
		int at = run_skipping(4, 20000, INTEL_IOMMU_INV_CONTEXT);

		printf("leaving out context-cache invalidations (legacy unit): caught at step %d\n",
		       at);
		CHECK(at >= 0);
	}
}

int main(void)
{
	RUN(test_differential);
	RUN(test_missing_invalidations_caught);
	return CHECK_DONE();
}
