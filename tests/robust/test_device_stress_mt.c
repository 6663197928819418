// SPDX-License-Identifier: MIT
/*
 * Device stress, also run under ThreadSanitizer: two DSA-like engines under their kernel
 * driver - one on a strict default domain, one on a lazy one with its 10 ms flush timer -
 * doing DMA with the kernel PASID and without it, through buffers their users map and unmap
 * with the DMA API for every operation, while another thread maps and unmaps on the same
 * devices, a third disables and enables the kernel PASIDs, and (in the traffic variants) a
 * NIC and a storage controller move packets and blocks through the same unit. The unit's
 * check mode, every endpoint's ATC checker and DMA-API debugging are on throughout.
 *
 * What must hold:
 *  - data: every engine operation on live mappings completes with success and the right
 *    result (bytes copied, fill pattern, first difference, CRC-32C), and each user's whole
 *    memory region (sources, destinations and the bytes around them) matches the CPU's
 *    copy after every round: a write through a stale translation anywhere in it is caught;
 *  - nothing stale: neither checker reports anything;
 *  - no access outside a live mapping: DMA-API debugging reports nothing;
 *  - no lost mapping: every operation succeeds with and without the PASID while the PASID
 *    comes and goes, and the churn thread finds each of its mappings in the page table and
 *    in the unit;
 *  - the disabled kernel PASID reaches nothing: with it disabled, a descriptor carrying it
 *    faults (reported in the software-error register), its destination untouched, and the
 *    endpoint's own DMA with it fails;
 *  - the NIC's packets and the storage blocks arrive intact.
 *
 * The PASID gate. A descriptor whose PASID is disabled under it cannot write its completion
 * record (the driver's rule: drain before disabling), so users submit with the kernel PASID
 * only through a gate that the toggling thread closes and drains before it changes the
 * PASID; while the gate is closed they go on without PASID, so engine DMA, maps and unmaps
 * go on during every PASID change.
 *
 * SOFTIOMMU_STRESS_ROUNDS (default 2000, 800 under ThreadSanitizer) sets the rounds of each
 * user (one or two operations each, mapped, run and unmapped).
 */
#include "robust.h"

#include <softiommu/dma.h>
#include <softiommu/dsa_driver.h>
#include <softiommu/traffic.h>

#include <pthread.h>
#include <sched.h>

#define NDSA	    2 /* engines: 0 strict, 1 lazy */
#define USERS	    2 /* per engine */
#define SLOT	    (4 * SZ_4K)
#define REGION	    (4 * SLOT) /* per user: two jobs, each a source and a destination slot */
#define GUARD	    64
#define MAXLEN	    (SLOT - 2 * GUARD)
#define DATA	    0x40000000ull	  /* users' regions */
#define CHURN	    (DATA + 0x1000000ull) /* the churn threads' buffers */
#define TOGBUF	    (DATA + 0x2000000ull) /* the toggler's buffer per engine */
#define NICBASE	    (DATA + 0x3000000ull) /* storage buffers */
#define NWQ	    2
#define WAIT_NS	    60000000000ull /* sanitizers on a loaded machine wait, they do not fail */
#define PV_PASID(p) ((p) | DSA_PASID_PV)
#ifdef SOFTIOMMU_TSAN
#define ROUNDS_DEFAULT 800
#else
#define ROUNDS_DEFAULT 2000
#endif

/* ---- reports and failures ------------------------------------------------------------------ */

static unsigned long stale_reports, atc_reports, debug_reports, debug_uau;

static void on_stale(void *ctx, const struct vtd_stale *s)
{
	(void)ctx;
	if (!__atomic_fetch_add(&stale_reports, 1, __ATOMIC_RELAXED) &&
	    getenv("SOFTIOMMU_STRESS_VERBOSE"))
		fprintf(stderr, "check mode: sid %#x pasid %u addr %#llx: %s; %s\n", s->sid,
			s->pasid, (unsigned long long)s->addr, s->missing, s->detail);
}

static void on_atc(void *ctx, const struct pci_atc_mismatch *mm)
{
	(void)ctx;
	if (!__atomic_fetch_add(&atc_reports, 1, __ATOMIC_RELAXED) &&
	    getenv("SOFTIOMMU_STRESS_VERBOSE"))
		fprintf(stderr, "ATC checker: rid %#x pasid %u addr %#llx held %#llx\n", mm->rid,
			mm->has_pasid ? mm->pasid : 0, (unsigned long long)mm->addr,
			(unsigned long long)mm->atc.pa);
}

/* Runs with the device's debug mutex held: counts only. */
static void on_debug(void *ctx, const struct dma_debug_report *r)
{
	(void)ctx;
	__atomic_fetch_add(&debug_reports, 1, __ATOMIC_RELAXED);
	if (r->kind == DMA_DEBUG_USE_AFTER_UNMAP)
		__atomic_fetch_add(&debug_uau, 1, __ATOMIC_RELAXED);
}

struct world;
static void fail(struct world *w, const char *fmt, long long a, long long b);

/* ---- the world ------------------------------------------------------------------------------ */

/* The PASID gate of one engine (see the file comment). */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t idle;
	bool closing;
	unsigned inflight;
};

struct engine {
	struct machine_dev *md;
	struct dsa_drv *drv;
	struct dma_dev *dd;
	struct gate gate;
	dma_addr_t tog_iova; /* the toggler's buffer: 8 KiB, mapped the whole run */
	unsigned long ops_pasid, ops_rid, toggles, stale_checks;
	unsigned long pasid_ops_since_toggle;
};

struct world {
	struct machine *m;
	struct engine eng[NDSA];
	struct machine_dev *nic_dev, *sto_dev;
	struct nic_drv *nic;
	struct storage_drv *sto;
	bool traffic;
	unsigned rounds;
	unsigned users_left;
	unsigned long failures;
	bool quiet; /* failures are expected: do not print them */
	int printed;
	unsigned long churn_maps, nic_runs, sto_rws;
};

static void fail(struct world *w, const char *fmt, long long a, long long b)
{
	__atomic_fetch_add(&w->failures, 1, __ATOMIC_RELAXED);
	if (!w->quiet && !__atomic_exchange_n(&w->printed, 1, __ATOMIC_RELAXED)) {
		fprintf(stderr, "device stress failure: ");
		fprintf(stderr, fmt, a, b);
		fputc('\n', stderr);
	}
}

static bool running(struct world *w)
{
	return __atomic_load_n(&w->users_left, __ATOMIC_ACQUIRE) != 0;
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return check_rand(s) % n;
}

/* True (and counted in flight) if descriptors may carry the kernel PASID now. */
static bool gate_enter(struct engine *e)
{
	bool ok;

	pthread_mutex_lock(&e->gate.lock);
	ok = !e->gate.closing && dsa_drv_pasid(e->drv) != IOMMU_PASID_INVALID;
	if (ok)
		e->gate.inflight++;
	pthread_mutex_unlock(&e->gate.lock);
	return ok;
}

static void gate_exit(struct engine *e)
{
	pthread_mutex_lock(&e->gate.lock);
	if (!--e->gate.inflight)
		pthread_cond_broadcast(&e->gate.idle);
	pthread_mutex_unlock(&e->gate.lock);
}

static void gate_close(struct engine *e)
{
	pthread_mutex_lock(&e->gate.lock);
	e->gate.closing = true;
	while (e->gate.inflight)
		pthread_cond_wait(&e->gate.idle, &e->gate.lock);
	pthread_mutex_unlock(&e->gate.lock);
}

static void gate_open(struct engine *e)
{
	pthread_mutex_lock(&e->gate.lock);
	e->gate.closing = false;
	pthread_mutex_unlock(&e->gate.lock);
}

/* ---- the users ------------------------------------------------------------------------------ */

static const unsigned ops[] = {DSA_OP_MEMMOVE, DSA_OP_FILL, DSA_OP_COMPARE, DSA_OP_CRC32C};

/* One operation of a round: where its bytes are and what it should find. */
struct job {
	unsigned op;
	uint64_t src_off, dst_off, len; /* offsets in the user's region */
	uint64_t pattern;		/* fill: the pattern; crc32c: the seed */
	int64_t diff;			/* compare: the first difference, or -1 */
	dma_addr_t src, dst;
	bool src_mapped, dst_mapped;
	enum dma_data_direction dst_dir;
	unsigned ticket;
	bool submitted;
	struct dsa_completion c;
};

struct user {
	struct world *w;
	unsigned e, k;
	uint64_t base; /* physical address of the region */
	uint8_t *mem;  /* the region, CPU view */
	uint8_t shadow[REGION];
	uint64_t rng;
};

/* Choose a job and write its inputs (the CPU's copy follows). */
static void job_prepare(struct user *u, struct job *j, unsigned k)
{
	uint64_t at;

	*j = (struct job){.op = ops[rnd(&u->rng, 4)], .diff = -1};
	j->len = 1 + rnd(&u->rng, rnd(&u->rng, 4) ? 512 : MAXLEN);
	j->src_off = 2 * k * SLOT + GUARD + rnd(&u->rng, SLOT - 2 * GUARD - j->len + 1);
	j->dst_off = (2 * k + 1) * SLOT + GUARD + rnd(&u->rng, SLOT - 2 * GUARD - j->len + 1);
	j->pattern = check_rand(&u->rng);
	for (uint64_t i = 0; i < j->len; i++)
		u->shadow[j->src_off + i] = (uint8_t)check_rand(&u->rng);
	memcpy(u->mem + j->src_off, u->shadow + j->src_off, j->len);
	if (j->op != DSA_OP_COMPARE)
		return;
	/* The second source: a copy of the first, one byte changed half of the time. */
	memcpy(u->shadow + j->dst_off, u->shadow + j->src_off, j->len);
	if (rnd(&u->rng, 2)) {
		at = rnd(&u->rng, j->len);
		u->shadow[j->dst_off + at] ^= (uint8_t)(1 + rnd(&u->rng, 255));
		j->diff = (int64_t)at;
	}
	memcpy(u->mem + j->dst_off, u->shadow + j->dst_off, j->len);
}

static int job_map(struct user *u, struct dma_dev *dd, struct job *j)
{
	j->src = dma_map_single(dd, u->base + j->src_off, j->len, DMA_TO_DEVICE);
	if (j->src == DMA_MAPPING_ERROR)
		return dma_mapping_error(dd, j->src);
	j->src_mapped = true;
	if (j->op == DSA_OP_CRC32C)
		return 0;
	j->dst_dir = j->op == DSA_OP_COMPARE ? DMA_TO_DEVICE : DMA_FROM_DEVICE;
	j->dst = dma_map_single(dd, u->base + j->dst_off, j->len, j->dst_dir);
	if (j->dst == DMA_MAPPING_ERROR)
		return dma_mapping_error(dd, j->dst);
	j->dst_mapped = true;
	return 0;
}

static void job_unmap(struct user *u, struct dma_dev *dd, struct job *j)
{
	if (j->src_mapped && dma_unmap_single(dd, j->src, j->len, DMA_TO_DEVICE))
		fail(u->w, "dma_unmap_single(%#llx) of a source failed (engine %lld)",
		     (long long)j->src, u->e);
	if (j->dst_mapped && dma_unmap_single(dd, j->dst, j->len, j->dst_dir))
		fail(u->w, "dma_unmap_single(%#llx) of a destination failed (engine %lld)",
		     (long long)j->dst, u->e);
	j->src_mapped = j->dst_mapped = false;
}

static int job_submit(struct user *u, struct job *j, unsigned wq, bool pasid)
{
	struct engine *e = &u->w->eng[u->e];
	struct dsa_desc d;

	dsa_desc_init(&d, j->op, 0, false, 0, false);
	d.src = j->src;
	d.dst = j->op == DSA_OP_CRC32C ? 0 : j->dst;
	d.size = (uint32_t)j->len;
	if (j->op == DSA_OP_FILL) {
		d.src = 0;
		d.pattern = j->pattern;
	} else if (j->op == DSA_OP_CRC32C) {
		d.pattern = (uint32_t)j->pattern;
	}
	/* With the kernel PASID the driver sets it; without, the descriptor has none. */
	return dsa_drv_submit(e->drv, wq, &d, pasid ? 0 : DSA_DRV_RAW_PASID, &j->ticket);
}

/* The job's result and what it wrote, checked and folded into the CPU's copy. */
static void job_check(struct user *u, struct job *j)
{
	uint8_t *exp = u->shadow + j->dst_off;

	if (j->c.status != DSA_COMP_SUCCESS) {
		fail(u->w, "engine op %#llx on live mappings: status %#llx", j->op, j->c.status);
		return;
	}
	switch (j->op) {
	case DSA_OP_MEMMOVE:
		memcpy(exp, u->shadow + j->src_off, j->len);
		break;
	case DSA_OP_FILL:
		for (uint64_t i = 0; i < j->len; i++)
			exp[i] = (uint8_t)(j->pattern >> (8 * (i % 8)));
		break;
	case DSA_OP_COMPARE:
		if ((j->diff < 0 && j->c.result) ||
		    (j->diff >= 0 && (!j->c.result || j->c.bytes_completed != (uint64_t)j->diff)))
			fail(u->w, "compare found %lld, expected %lld",
			     j->c.result ? (long long)j->c.bytes_completed : -1, j->diff);
		break;
	default:
		if (j->c.crc != dsa_crc32c((uint32_t)j->pattern, u->shadow + j->src_off, j->len))
			fail(u->w, "crc32c of %lld bytes gave %#llx", (long long)j->len, j->c.crc);
		break;
	}
}

static void user_round(struct user *u)
{
	struct world *w = u->w;
	struct engine *e = &w->eng[u->e];
	unsigned nj = 1 + (unsigned)rnd(&u->rng, NWQ);
	struct job jobs[NWQ];
	bool pasid;
	int ret = 0;

	for (unsigned k = 0; k < nj; k++)
		job_prepare(u, &jobs[k], k);
	for (unsigned k = 0; k < nj && !ret; k++) {
		ret = job_map(u, e->dd, &jobs[k]);
		if (ret)
			fail(w, "dma_map_single failed: %lld (engine %lld)", ret, u->e);
	}
	pasid = !ret && gate_enter(e);
	for (unsigned k = 0; k < nj && !ret; k++) {
		ret = job_submit(u, &jobs[k], k, pasid);
		if (ret)
			fail(w, "dsa_drv_submit failed: %lld (engine %lld)", ret, u->e);
		else
			jobs[k].submitted = true;
	}
	for (unsigned k = 0; k < nj; k++) {
		if (jobs[k].submitted && dsa_drv_wait(e->drv, jobs[k].ticket, &jobs[k].c))
			fail(w, "descriptor never completed (engine %lld, PASID %lld)", u->e,
			     pasid);
	}
	if (pasid) {
		__atomic_fetch_add(&e->pasid_ops_since_toggle, nj, __ATOMIC_RELAXED);
		gate_exit(e);
	}
	for (unsigned k = 0; k < nj; k++)
		job_unmap(u, e->dd, &jobs[k]);
	if (ret)
		return;
	for (unsigned k = 0; k < nj; k++)
		job_check(u, &jobs[k]);
	/* Nothing else in the region moved: not the bytes around the destinations, not the
	 * sources, not the slots this round left alone. */
	if (memcmp(u->mem, u->shadow, REGION)) {
		uint64_t i = 0;

		while (u->mem[i] == u->shadow[i])
			i++;
		fail(w, "region byte %#llx differs from the CPU's copy (engine %lld)", (long long)i,
		     u->e);
		memcpy(u->shadow, u->mem, REGION); /* report each corruption once */
	}
	__atomic_fetch_add(pasid ? &e->ops_pasid : &e->ops_rid, nj, __ATOMIC_RELAXED);
}

static void *user_thread(void *arg)
{
	struct user *u = arg;
	struct world *w = u->w;
	for (unsigned r = 0; r < w->rounds; r++) {
		user_round(u);
		if (u->e == 1 && r % 8 == 7)
			dma_flush_queues(w->eng[1].dd); /* besides the timer's flushes */
	}
	__atomic_fetch_sub(&w->users_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* ---- the churn: maps of its own on the same devices, each checked in the page table and the
 * unit ---------------------------------------------------------------------------------------- */

static void churn_one(struct world *w, struct engine *e, uint64_t *rng)
{
	static const enum dma_data_direction dirs[] = {DMA_TO_DEVICE, DMA_FROM_DEVICE,
						       DMA_BIDIRECTIONAL};
	enum dma_data_direction dir = dirs[rnd(rng, 3)];
	uint64_t size = (1 + rnd(rng, 8)) * SZ_4K - rnd(rng, 64);
	uint64_t phys = CHURN + (e == &w->eng[1]) * 0x100000ull + rnd(rng, 64) * 64, got;
	dma_addr_t a = dma_map_single(e->dd, phys, size, dir);

	if (a == DMA_MAPPING_ERROR) {
		fail(w, "churn: dma_map_single failed: %lld (%lld)", dma_mapping_error(e->dd, a),
		     0);
		return;
	}
	for (uint64_t off = 0; off < size; off += SZ_4K) {
		bool write = dir == DMA_FROM_DEVICE;
		struct pci_resp r =
		    robust_xlate(w->m->vtd, e->md->rid, IOMMU_PASID_INVALID, a + off, write);

		if (iommu_iova_to_phys(dma_dev_domain(e->dd), a + off, &got) || got != phys + off)
			fail(w, "churn: iova_to_phys(%#llx) lost its mapping (%#llx)",
			     (long long)(a + off), (long long)got);
		if (r.status != PCI_SC || r.addr != phys + off)
			fail(w, "churn: the unit lost the mapping of %#llx (status %lld)",
			     (long long)(a + off), r.status);
	}
	if (dma_unmap_single(e->dd, a, size, dir))
		fail(w, "churn: dma_unmap_single(%#llx) failed (%lld)", (long long)a, 0);
	__atomic_fetch_add(&w->churn_maps, 1, __ATOMIC_RELAXED);
}

static void *churn_thread(void *arg)
{
	struct world *w = arg;
	uint64_t rng = 0xc4c4ull;

	while (running(w)) {
		churn_one(w, &w->eng[rnd(&rng, NDSA)], &rng);
		if (rnd(&rng, 4) == 0)
			sched_yield();
	}
	return NULL;
}

/* ---- the kernel PASIDs, off and on -------------------------------------------------------- */

/*
 * The PASID `old` was just disabled: a descriptor carrying it (without a completion record:
 * that could not be written either) faults into the software-error register and leaves
 * its destination alone; the endpoint's own DMA with it fails too.
 */
static void stale_pasid_check(struct world *w, struct engine *e, uint32_t old)
{
	struct dsa *dsa = dsa_drv_dsa(e->drv);
	uint8_t *buf = mem_ptr(w->m->mem, TOGBUF + (uint64_t)(e - w->eng) * 0x10000, 2 * SZ_4K);
	struct dsa_swerr sw;
	struct dsa_desc d;
	uint64_t v;
	int ret;

	memset(buf, 0x11, SZ_4K);
	memset(buf + SZ_4K, 0x22, SZ_4K);
	dsa_desc_init(&d, DSA_OP_MEMMOVE, 0, true, old, false);
	d.src = e->tog_iova;
	d.dst = e->tog_iova + SZ_4K;
	d.size = 256;
	while ((ret = dsa_submit(dsa, 1, &d)) == -EAGAIN)
		sched_yield();
	if (ret || dsa_wq_drain(dsa, 1, WAIT_NS) || dsa_read_swerr(dsa, &sw)) {
		fail(w, "stale PASID %lld: submit or drain failed (%lld)", old, ret);
		return;
	}
	if (!sw.valid || sw.overflow || sw.record_fault || sw.status != DSA_COMP_PAGE_FAULT ||
	    sw.desc_pasid != PV_PASID(old))
		fail(w, "stale PASID %lld: software error status %#llx", old,
		     sw.valid ? sw.status : -1);
	for (unsigned i = 0; i < SZ_4K; i++) {
		if (buf[SZ_4K + i] != 0x22) {
			fail(w, "a descriptor with the disabled PASID %lld wrote byte %lld", old,
			     i);
			break;
		}
	}
	dsa_clear_swerr(dsa);
	if (!pci_endpoint_dma_read(e->md->ep, PCI_DMA_PASID, old, e->tog_iova, &v, 8, NULL))
		fail(w, "DMA with the disabled PASID %lld succeeded (%lld)", old, 0);
	e->stale_checks++;
}

static void toggle(struct world *w, struct engine *e)
{
	uint32_t old = dsa_drv_pasid(e->drv);

	gate_close(e);
	if (old != IOMMU_PASID_INVALID) {
		if (dsa_drv_disable_pasid(e->drv) || dsa_drv_pasid(e->drv) != IOMMU_PASID_INVALID)
			fail(w, "dsa_drv_disable_pasid(%lld) failed (%lld)", old, 0);
		else
			stale_pasid_check(w, e, old);
	} else if (dsa_drv_enable_pasid(e->drv) || dsa_drv_pasid(e->drv) == IOMMU_PASID_INVALID) {
		fail(w, "dsa_drv_enable_pasid failed (%lld, %lld)", 0, 0);
	}
	__atomic_store_n(&e->pasid_ops_since_toggle, 0, __ATOMIC_RELAXED);
	e->toggles++;
	gate_open(e);
}

static void *toggler_thread(void *arg)
{
	struct world *w = arg;
	uint64_t rng = 0x70661eull;

	while (running(w)) {
		struct engine *e = &w->eng[rnd(&rng, NDSA)];

		/* Off once some descriptors used the PASID; on again soon. */
		if (dsa_drv_pasid(e->drv) == IOMMU_PASID_INVALID ||
		    __atomic_load_n(&e->pasid_ops_since_toggle, __ATOMIC_RELAXED) >= 4)
			toggle(w, e);
		sched_yield();
	}
	return NULL;
}

/* ---- NIC and storage traffic ----------------------------------------------------------------- */

static void *nic_thread(void *arg)
{
	struct world *w = arg;
	uint32_t len = NIC_PKT_MIN;

	while (running(w)) {
		int ret = nic_drv_run(w->nic, 8, 8, len);

		if (ret)
			fail(w, "nic_drv_run(%lld bytes) failed: %lld", len, ret);
		len = len >= 1900 ? NIC_PKT_MIN : len + 371;
		__atomic_fetch_add(&w->nic_runs, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Write blocks from three segments, read them back into three others, compare. */
static void sto_round(struct world *w, uint64_t *rng, unsigned r)
{
	uint64_t a = NICBASE, b = NICBASE + 0x10000;
	uint32_t l0 = 512 * (1 + (uint32_t)rnd(rng, 6)), l1 = 512 * (1 + (uint32_t)rnd(rng, 6));
	uint32_t l2 = 3 * 4096 - l0 - l1;
	struct dma_sg wr[3] = {{.phys = a, .length = l0},
			       {.phys = a + 0x4000 + rnd(rng, 64) * 8, .length = l1},
			       {.phys = a + 0x8000, .length = l2}};
	struct dma_sg rd[3] = {{.phys = b + 0x8000, .length = l2},
			       {.phys = b, .length = l0},
			       {.phys = b + 0x4000, .length = l1}};
	uint8_t *p = mem_ptr(w->m->mem, a, 0x20000), *q = p + 0x10000;
	uint64_t lba = rnd(rng, 2000);
	int ret;

	for (unsigned s = 0; s < 3; s++) {
		uint8_t *x = mem_ptr(w->m->mem, wr[s].phys, wr[s].length);

		for (uint32_t i = 0; i < wr[s].length; i++)
			x[i] = (uint8_t)(r * 31 + s * 7 + i);
	}
	ret = storage_drv_rw(w->sto, true, lba, 3, wr, 3, NULL);
	memset(q, 0, 0x10000);
	if (!ret)
		ret = storage_drv_rw(w->sto, false, lba, 3, rd, 3, NULL);
	if (ret) {
		fail(w, "storage_drv_rw failed: %lld (lba %lld)", ret, (long long)lba);
		return;
	}
	/* Read back in another order: the medium's first l2 bytes come from wr[0..]. */
	{
		uint8_t flat[3 * 4096], back[3 * 4096];
		uint64_t o = 0, ob = 0;

		for (unsigned s = 0; s < 3; s++) {
			memcpy(flat + o, mem_ptr(w->m->mem, wr[s].phys, wr[s].length),
			       wr[s].length);
			memcpy(back + ob, mem_ptr(w->m->mem, rd[s].phys, rd[s].length),
			       rd[s].length);
			o += wr[s].length;
			ob += rd[s].length;
		}
		if (memcmp(flat, back, sizeof(flat)))
			fail(w, "storage read back other data (lba %lld)%lld", (long long)lba, 0);
	}
}

static void *sto_thread(void *arg)
{
	struct world *w = arg;
	uint64_t rng = 0x5705ull;

	for (unsigned r = 0; running(w); r++) {
		sto_round(w, &rng, r);
		__atomic_fetch_add(&w->sto_rws, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* ---- set-up and the runs -----------------------------------------------------------------------
 */

static void quiet_log(void *ctx, const char *line)
{
	(void)ctx;
	(void)line; /* probe and PASID lines; the PASID itself is checked */
}

static struct dma_dev_config dma_config(struct world *w, struct machine_dev *md)
{
	return (struct dma_dev_config){.dev = md->dev,
				       .mem = w->m->mem,
				       .alloc = w->m->alloc,
				       .debug = true,
				       .debug_fn = on_debug};
}

static int checker_on(struct world *w, struct machine_dev *md)
{
	struct pci_translation_agent ref = vtd_translation_agent(w->m->vtd);

	return pci_endpoint_set_checker(md->ep, &ref, on_atc, NULL);
}

static int engine_up(struct world *w, unsigned i)
{
	struct engine *e = &w->eng[i];
	struct dsa_drv_config dc = {0};

	e->md = robust_dev(w->m, PCI_RID(2, i, 0), 20, true,
			   i ? IOMMU_DOMAIN_DMA_FQ : IOMMU_DOMAIN_DMA);
	CHECK_RET(e->md && checker_on(w, e->md) == 0);
	dc.ep = e->md->ep;
	dc.dma = dma_config(w, e->md);
	dc.use_pasid = true;
	dc.dsa.num_wqs = NWQ;
	dc.timeout_ns = WAIT_NS;
	dc.log = quiet_log;
	CHECK_RET(dsa_drv_probe(&dc, &e->drv) == 0);
	e->dd = dsa_drv_dma(e->drv);
	CHECK_RET(dma_dev_mode(e->dd) == (i ? DMA_MODE_LAZY : DMA_MODE_STRICT));
	CHECK_RET(dma_debug_enabled(e->dd));
	CHECK_RET(dsa_drv_pasid(e->drv) != IOMMU_PASID_INVALID);
	e->tog_iova = dma_map_single(e->dd, TOGBUF + i * 0x10000ull, 2 * SZ_4K, DMA_BIDIRECTIONAL);
	CHECK_RET(e->tog_iova != DMA_MAPPING_ERROR);
	pthread_mutex_init(&e->gate.lock, NULL);
	pthread_cond_init(&e->gate.idle, NULL);
	return 0;
}

static int traffic_up(struct world *w, bool nic_lazy)
{
	struct nic_drv_config nc = {0};
	struct storage_drv_config sc = {0};

	w->nic_dev = robust_dev(w->m, PCI_RID(3, 0, 0), 0, true,
				nic_lazy ? IOMMU_DOMAIN_DMA_FQ : IOMMU_DOMAIN_DMA);
	w->sto_dev = robust_dev(w->m, PCI_RID(3, 1, 0), 0, true,
				nic_lazy ? IOMMU_DOMAIN_DMA : IOMMU_DOMAIN_DMA_FQ);
	CHECK_RET(w->nic_dev && w->sto_dev);
	CHECK_RET(checker_on(w, w->nic_dev) == 0 && checker_on(w, w->sto_dev) == 0);
	nc.ep = w->nic_dev->ep;
	nc.dma = dma_config(w, w->nic_dev);
	nc.loopback = true;
	nc.rx_size = nc.tx_size = 64;
	nc.timeout_ns = WAIT_NS;
	CHECK_RET(nic_drv_probe(&nc, &w->nic) == 0);
	sc.ep = w->sto_dev->ep;
	sc.dma = dma_config(w, w->sto_dev);
	sc.timeout_ns = WAIT_NS;
	CHECK_RET(storage_drv_probe(&sc, &w->sto) == 0);
	return 0;
}

static int world_up(struct world *w, enum intel_iommu_stage stage, bool traffic, bool nic_lazy,
		    enum intel_iommu_inv_kind skip)
{
	struct machine_config cfg;

	memset(w, 0, sizeof(*w));
	__atomic_store_n(&stale_reports, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&atc_reports, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&debug_reports, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&debug_uau, 0, __ATOMIC_RELAXED);
	machine_config_default(&cfg);
	cfg.driver.quiet = true;
	cfg.driver.default_stage = stage;
	cfg.driver.skip = skip;
	cfg.vtd_cb.stale = on_stale;
	CHECK_RET(machine_create(&cfg, &w->m) == 0);
	CHECK_RET(vtd_set_check(w->m->vtd, true) == 0);
	for (unsigned i = 0; i < NDSA; i++)
		CHECK_RET(engine_up(w, i) == 0);
	w->traffic = traffic;
	if (traffic)
		CHECK_RET(traffic_up(w, nic_lazy) == 0);
	w->rounds = (unsigned)robust_env("SOFTIOMMU_STRESS_ROUNDS", ROUNDS_DEFAULT);
	w->quiet = skip != INTEL_IOMMU_INV_NONE;
	return 0;
}

static int world_down(struct world *w)
{
	struct intel_iommu_stats st;

	for (unsigned i = 0; i < NDSA; i++) {
		struct engine *e = &w->eng[i];

		CHECK_RET(dma_unmap_single(e->dd, e->tog_iova, 2 * SZ_4K, DMA_BIDIRECTIONAL) == 0);
		CHECK_RET(dsa_drv_remove(e->drv) == 0);
		CHECK_RET(pci_endpoint_set_checker(e->md->ep, NULL, NULL, NULL) == 0);
		pthread_mutex_destroy(&e->gate.lock);
		pthread_cond_destroy(&e->gate.idle);
	}
	if (w->traffic) {
		CHECK_RET(nic_drv_remove(w->nic) == 0);
		CHECK_RET(storage_drv_remove(w->sto) == 0);
		CHECK_RET(pci_endpoint_set_checker(w->nic_dev->ep, NULL, NULL, NULL) == 0);
		CHECK_RET(pci_endpoint_set_checker(w->sto_dev->ep, NULL, NULL, NULL) == 0);
	}
	/* Nothing went wrong underneath either. */
	CHECK_RET(intel_iommu_get_stats(w->m->iommu, &st) == 0);
	CHECK_RET(st.wait_timeouts == 0 && st.queue_errors == 0 && st.devtlb_timeouts == 0);
	CHECK_RET(iommu_core_warnings(w->m->core) == 0);
	CHECK_RET(machine_destroy(w->m) == 0);
	return 0;
}

static struct user users[NDSA * USERS];

/* Run the threads to the end; the tally is printed. */
static int run_world(struct world *w, const char *name)
{
	pthread_t ut[NDSA * USERS], ct, tt, nt, st;
	uint64_t t0 = robust_now_ns();

	w->users_left = NDSA * USERS;
	for (unsigned i = 0; i < NDSA * USERS; i++) {
		struct user *u = &users[i];

		u->w = w;
		u->e = i / USERS;
		u->k = i % USERS;
		u->base = DATA + (uint64_t)i * REGION;
		u->mem = mem_ptr(w->m->mem, u->base, REGION);
		u->rng = 0x5eed0ull + i;
		CHECK_RET(u->mem);
		memset(u->mem, 0, REGION);
		memset(u->shadow, 0, REGION);
	}
	for (unsigned i = 0; i < NDSA * USERS; i++)
		CHECK_RET(pthread_create(&ut[i], NULL, user_thread, &users[i]) == 0);
	CHECK_RET(pthread_create(&ct, NULL, churn_thread, w) == 0);
	CHECK_RET(pthread_create(&tt, NULL, toggler_thread, w) == 0);
	if (w->traffic) {
		CHECK_RET(pthread_create(&nt, NULL, nic_thread, w) == 0);
		CHECK_RET(pthread_create(&st, NULL, sto_thread, w) == 0);
	}
	for (unsigned i = 0; i < NDSA * USERS; i++)
		pthread_join(ut[i], NULL);
	pthread_join(ct, NULL);
	pthread_join(tt, NULL);
	if (w->traffic) {
		pthread_join(nt, NULL);
		pthread_join(st, NULL);
	}
	printf("%s: %.2f s; engine ops with the kernel PASID %lu + %lu, without %lu + %lu; "
	       "PASID changes %lu + %lu (stale-PASID checks %lu + %lu); churn maps %lu; NIC "
	       "runs %lu, storage round trips %lu; reports: check mode %lu, ATC %lu, DMA debug "
	       "%lu; %lu failures\n",
	       name, (double)(robust_now_ns() - t0) / 1e9, w->eng[0].ops_pasid, w->eng[1].ops_pasid,
	       w->eng[0].ops_rid, w->eng[1].ops_rid, w->eng[0].toggles, w->eng[1].toggles,
	       w->eng[0].stale_checks, w->eng[1].stale_checks, w->churn_maps, w->nic_runs,
	       w->sto_rws, stale_reports, atc_reports, debug_reports, w->failures);
	return 0;
}

/* Descriptors the engine completed with a PASID (any), or without. */
static uint64_t pasid_descriptors(struct engine *e, bool has_pasid)
{
	struct dsa_pasid_stats ps[DSA_PASID_STATS_SLOTS + 1];
	int n = dsa_list_pasid_stats(dsa_drv_dsa(e->drv), ps, DSA_PASID_STATS_SLOTS + 1);
	uint64_t sum = 0;

	for (int i = 0; i < n && i <= DSA_PASID_STATS_SLOTS; i++) {
		if (ps[i].has_pasid == has_pasid)
			sum += ps[i].descriptors;
	}
	return sum;
}

/* After a clean run: the counts that make it mean something, and the devices' own. */
static int check_clean(struct world *w)
{
	CHECK_RET(w->failures == 0);
	CHECK_RET(stale_reports == 0 && atc_reports == 0 && debug_reports == 0);
	for (unsigned i = 0; i < NDSA; i++) {
		struct engine *e = &w->eng[i];
		struct dsa_stats ds;

		CHECK_RET(e->ops_pasid > 0 && e->ops_rid > 0);
		CHECK_RET(e->toggles >= 4 && e->stale_checks >= 2);
		CHECK_RET(dsa_get_stats(dsa_drv_dsa(e->drv), &ds) == 0);
		/* The only faults: the stale-PASID descriptors. */
		CHECK_RET(ds.page_faults == e->stale_checks && ds.dma_errors == 0);
		CHECK_RET(ds.record_errors == 0 && ds.invalid == 0);
		CHECK_RET(pasid_descriptors(e, true) == e->ops_pasid + e->stale_checks);
		CHECK_RET(pasid_descriptors(e, false) == e->ops_rid);
	}
	CHECK_RET(w->churn_maps > 0);
	if (w->traffic) {
		struct nic_drv_stats ns;

		CHECK_RET(w->nic_runs > 0 && w->sto_rws > 0);
		CHECK_RET(nic_drv_get_stats(w->nic, &ns) == 0);
		CHECK_RET(ns.rx_packets > 0 && ns.rx_bad == 0 && ns.rx_out_of_order == 0);
		CHECK_RET(ns.rx_errors == 0 && ns.tx_errors == 0 && ns.map_errors == 0);
	}
	return 0;
}

/*
 * DMA-API debugging is really on for the engines: a descriptor reading a buffer just
 * unmapped is reported (and faults on the strict device, where the unmap flushed).
 */
static int check_debug_live(struct world *w)
{
	for (unsigned i = 0; i < NDSA; i++) {
		struct engine *e = &w->eng[i];
		unsigned long before = __atomic_load_n(&debug_uau, __ATOMIC_RELAXED);
		dma_addr_t a = dma_map_single(e->dd, DATA, 256, DMA_TO_DEVICE);
		struct dsa_completion c;
		struct dsa_desc d;
		unsigned t;

		CHECK_RET(a != DMA_MAPPING_ERROR);
		CHECK_RET(dma_unmap_single(e->dd, a, 256, DMA_TO_DEVICE) == 0);
		dsa_desc_init(&d, DSA_OP_MEMMOVE, 0, false, 0, false);
		d.src = a;
		d.dst = e->tog_iova + SZ_4K;
		d.size = 256;
		CHECK_RET(dsa_drv_submit(e->drv, 0, &d, DSA_DRV_RAW_PASID, &t) == 0);
		CHECK_RET(dsa_drv_wait(e->drv, t, &c) == 0);
		CHECK_RET(__atomic_load_n(&debug_uau, __ATOMIC_RELAXED) == before + 1);
		if (i == 0)
			CHECK_RET(c.status == DSA_COMP_PAGE_FAULT && c.fault_addr == a);
	}
	return 0;
}

static int stress(enum intel_iommu_stage stage, bool traffic, bool nic_lazy, const char *name)
{
	static struct world w;

	CHECK_RET(world_up(&w, stage, traffic, nic_lazy, INTEL_IOMMU_INV_NONE) == 0);
	CHECK_RET(run_world(&w, name) == 0);
	CHECK_RET(check_clean(&w) == 0);
	CHECK_RET(check_debug_live(&w) == 0);
	CHECK_RET(world_down(&w) == 0);
	return 0;
}

static void test_engines_and_traffic_second_stage(void)
{
	CHECK_EQ(stress(INTEL_IOMMU_STAGE_SECOND, true, true,
			"engines, NIC (lazy) and storage (strict), second stage"),
		 0);
}

static void test_engines_and_traffic_first_stage(void)
{
	CHECK_EQ(stress(INTEL_IOMMU_STAGE_FIRST, true, false,
			"engines, NIC (strict) and storage (lazy), first stage"),
		 0);
}

/*
 * The checks are not vacuous: with one kind of invalidation left out by the driver, the
 * engines use translations of buffers unmapped since, and the users' data checks, the
 * stale-PASID checks or the checkers find it. (Not under ThreadSanitizer: such accesses are
 * data races, which it stops at.)
 */
static int run_skipping(enum intel_iommu_stage stage, enum intel_iommu_inv_kind skip)
{
	static struct world w;
	char name[96];

	snprintf(name, sizeof(name), "engines, %s stage, invalidation kind %d left out",
		 stage == INTEL_IOMMU_STAGE_FIRST ? "first" : "second", (int)skip);
	CHECK_RET(world_up(&w, stage, false, false, skip) == 0);
	w.rounds = 300;
	CHECK_RET(run_world(&w, name) == 0);
	CHECK_RET(w.failures + stale_reports + atc_reports > 0);
	CHECK_RET(intel_iommu_set_skip(w.m->iommu, INTEL_IOMMU_INV_NONE) == 0);
	CHECK_RET(world_down(&w) == 0);
	return 0;
}

static __attribute__((unused)) void test_catches_missing_invalidations(void)
{
	static const struct {
		enum intel_iommu_stage stage;
		enum intel_iommu_inv_kind kind;
	} cases[] = {
	    {INTEL_IOMMU_STAGE_FIRST, INTEL_IOMMU_INV_PDEVTLB},
	    {INTEL_IOMMU_STAGE_FIRST, INTEL_IOMMU_INV_DEVTLB},
	    {INTEL_IOMMU_STAGE_FIRST, INTEL_IOMMU_INV_PIOTLB},
	    {INTEL_IOMMU_STAGE_SECOND, INTEL_IOMMU_INV_IOTLB},
	    {INTEL_IOMMU_STAGE_FIRST, INTEL_IOMMU_INV_PASID_CACHE},
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_EQ(run_skipping(cases[i].stage, cases[i].kind), 0);
}

/* The driver's kernel PASID taken again after it was given back, and the errors. */
static void test_driver_pasid_again(void)
{
	static struct world w;
	struct engine *e;
	uint32_t p;

	CHECK_EQ(world_up(&w, INTEL_IOMMU_STAGE_FIRST, false, false, INTEL_IOMMU_INV_NONE), 0);
	e = &w.eng[0];
	p = dsa_drv_pasid(e->drv);
	CHECK_EQ(dsa_drv_enable_pasid(NULL), -EINVAL);
	CHECK_EQ(dsa_drv_enable_pasid(e->drv), -EBUSY);
	CHECK_EQ(dsa_drv_disable_pasid(e->drv), 0);
	CHECK_EQ(dsa_drv_disable_pasid(e->drv), -ENOENT);
	CHECK_EQ(dsa_drv_enable_pasid(e->drv), 0);
	CHECK(dsa_drv_pasid(e->drv) != IOMMU_PASID_INVALID);
	CHECK_EQ(dma_dev_pasid(e->dd), dsa_drv_pasid(e->drv));
	CHECK(strcmp(dsa_drv_pasid_status(e->drv), dma_pasid_status(e->dd)) == 0);
	(void)p;
	/* A descriptor built now carries it and reaches the buffer. */
	{
		uint8_t *buf = mem_ptr(w.m->mem, TOGBUF, 2 * SZ_4K);
		struct dsa_completion c;
		struct dsa_desc d;
		struct dsa_pasid_stats ps;
		unsigned t;

		memset(buf, 0x5a, SZ_4K);
		memset(buf + SZ_4K, 0, SZ_4K);
		dsa_desc_init(&d, DSA_OP_MEMMOVE, 0, false, 0, false);
		d.src = e->tog_iova;
		d.dst = e->tog_iova + SZ_4K;
		d.size = SZ_4K;
		CHECK_EQ(dsa_drv_submit(e->drv, 0, &d, 0, &t), 0);
		CHECK_EQ(d.pasid, PV_PASID(dsa_drv_pasid(e->drv)));
		CHECK_EQ(dsa_drv_wait(e->drv, t, &c), 0);
		CHECK_EQ(c.status, DSA_COMP_SUCCESS);
		CHECK(buf[SZ_4K] == 0x5a && buf[2 * SZ_4K - 1] == 0x5a);
		CHECK_EQ(dsa_get_pasid_stats(dsa_drv_dsa(e->drv), true, dsa_drv_pasid(e->drv), &ps),
			 0);
		CHECK(ps.descriptors >= 1 && ps.faults == 0);
	}
	CHECK_EQ(world_down(&w), 0);
}

int main(void)
{
	RUN(test_driver_pasid_again);
	RUN(test_engines_and_traffic_second_stage);
	RUN(test_engines_and_traffic_first_stage);
#ifndef SOFTIOMMU_TSAN
	RUN(test_catches_missing_invalidations);
#endif
	return CHECK_DONE();
}
