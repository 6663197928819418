/* SPDX-License-Identifier: MIT */
/*
 * The VT-d fuzz targets' shared harness: one model instance per input, built from the
 * input's first bytes, with a small physical memory that the input fills through
 * "guest" operations, and the invariants every completion must satisfy.
 *
 * An input is a header followed by a program of operations (fz_vtd_step()):
 *
 *   header   8 bytes of feature bits, 8 bytes of widths and counts (fz_vtd_config()),
 *            1 byte of harness options (memory backend, trace hook, TTM to enable)
 *   program  opcode byte, operands; until the input ends or FZ_VTD_MAX_OPS ran
 *
 * The operations that build translation structures do what a driver does, only with
 * fuzzer-chosen bits: "write the context entry of RID r" finds (or makes) the root entry
 * and context table on the way, so that a few bytes reach deep into a walk. Raw memory
 * writes and MMIO writes cover the rest. Operations a target does not allow (its `ops`
 * mask) are skipped, so one input format serves every VT-d target.
 *
 * Memory is one FZ_MEM_SIZE heap block, so ASan sees any access the model makes past it.
 * It is reached either directly (the model's fast path, through mem->base) or through
 * backend callbacks (the model's mem_read64 path) that can fail one page with -EIO, as
 * an emulator's guest memory may, and that count writes (for the determinism checks).
 */
#ifndef SOFTIOMMU_FUZZ_VTD_H
#define SOFTIOMMU_FUZZ_VTD_H

#include "fuzz.h"

#include <softiommu/vtd.h>

#include <errno.h>
#include <string.h>

#define FZ_MEM_PAGES   64
#define FZ_MEM_SIZE    (FZ_MEM_PAGES * 4096ull)
#define FZ_ROOT_PAGE   1 /* the root table the harness enables */
#define FZ_FIRST_FREE  2 /* pages handed out for new tables: 2 .. FZ_MEM_PAGES-1, cycling */
#define FZ_VTD_MAX_OPS 512

/* Opcodes (the first byte of each operation, modulo FZ_OP_COUNT). */
enum fz_op {
	FZ_OP_TRANSLATE,   /* one request, checked */
	FZ_OP_ROOT,	   /* root entry of a bus (either half in scalable mode) */
	FZ_OP_CTX,	   /* context entry of a RID (legacy or scalable layout) */
	FZ_OP_PASID_DIR,   /* PASID-directory entry of (RID, PASID) */
	FZ_OP_PASID_ENTRY, /* PASID-table entry of (RID, PASID) */
	FZ_OP_PTE,	   /* a page-table entry on the walk of an address */
	FZ_OP_MEM64,	   /* any 8 bytes of memory */
	FZ_OP_FAULTS,	   /* service the fault records (clear F, PFO), as a driver does */
	FZ_OP_ENABLE,	   /* RTADDR + SRTP + TE (+ QIE), the driver's enable sequence */
	FZ_OP_MMIO_WRITE,  /* any register, 4 or 8 bytes */
	FZ_OP_MMIO_READ,
	FZ_OP_QI_SETUP, /* IQA (queue base, size, descriptor width) and QIE */
	FZ_OP_QI_DESC,	/* one descriptor into the queue */
	FZ_OP_QI_TAIL,	/* IQT: hand the descriptors to the unit */
	FZ_OP_ATS_PORT, /* connect / disconnect a device-TLB port for a RID */
	FZ_OP_RESET,
	FZ_OP_FLUSH,   /* every cache emptied (vtd_reset and the enable sequence again) */
	FZ_OP_QI_SYNC, /* a driver's synchronous wait: status write at the tail, IQT */
	FZ_OP_COUNT
};
#define FZ_OPS_TABLES                                                                              \
	((1u << FZ_OP_TRANSLATE) | (1u << FZ_OP_ROOT) | (1u << FZ_OP_CTX) |                        \
	 (1u << FZ_OP_PASID_DIR) | (1u << FZ_OP_PASID_ENTRY) | (1u << FZ_OP_PTE) |                 \
	 (1u << FZ_OP_MEM64) | (1u << FZ_OP_FAULTS) | (1u << FZ_OP_FLUSH))
#define FZ_OPS_QI                                                                                  \
	((1u << FZ_OP_TRANSLATE) | (1u << FZ_OP_CTX) | (1u << FZ_OP_PASID_ENTRY) |                 \
	 (1u << FZ_OP_PTE) | (1u << FZ_OP_FAULTS) | (1u << FZ_OP_MMIO_READ) |                      \
	 (1u << FZ_OP_QI_SETUP) | (1u << FZ_OP_QI_DESC) | (1u << FZ_OP_QI_TAIL) |                  \
	 (1u << FZ_OP_ATS_PORT) | (1u << FZ_OP_FLUSH) | (1u << FZ_OP_QI_SYNC))
#define FZ_OPS_ALL    ((1u << FZ_OP_COUNT) - 1)
#define FZ_QUEUE_PAGE 40 /* where fz_vtd_init() puts the queue when asked to */

struct fz_vtd {
	struct vtd_config cfg;
	struct vtd *vtd;
	struct mem *mem;
	uint8_t *ram;
	bool direct;	    /* mem->base set: the model's fast path */
	bool cmpxchg;	    /* the backend offers cmpxchg64 */
	uint64_t bad_page;  /* reads and writes of this page fail (backend only); ~0: none */
	uint64_t writes;    /* backend writes so far (not counted when direct) */
	uint64_t rtaddr;    /* what the last SRTP latched: RTA below HAW | TTM */
	unsigned next_page; /* the next table page to hand out */
	unsigned ops;	    /* enum fz_op bits this target allows */
	unsigned fault_events, inv_events, port_calls;
	/* Check mode: "armed" from a full flush until memory or a register changes; a stale
	 * context or PASID-cache entry reported while armed is a model bug. */
	bool check;
	bool armed;
	uint64_t armed_writes;
	unsigned stale_reports;
	uint32_t sync_data;
	/* The trace hook's record of the last fault (when the hook is on). */
	bool trace;
	bool traced;
	uint8_t trace_reason;
	enum vtd_fault_fate trace_fate;
	int trace_index;
};

/* ---- configuration ------------------------------------------------------------------- */

/* Make `c` satisfy vtd_config_validate()'s dependencies by turning features off. */
static inline void fz_config_repair(struct vtd_config *c)
{
	if (c->scalable || c->dev_tlb)
		c->queued_invalidation = true;
	if (!c->scalable) {
		c->first_stage = c->second_stage = c->nested = false;
		c->pasid_bits = 0;
		c->rid_pasid = c->rid_priv = false;
	}
	if (!(c->first_stage && c->second_stage))
		c->nested = false;
	if (!c->first_stage)
		c->fs_5level = c->fs_1g = c->fs_ea = false;
	if (!c->second_stage)
		c->ss_ad = false;
	if (!c->pasid_bits)
		c->supervisor_requests = c->execute_requests = false;
	if (!c->intr_remap)
		c->x2apic = false;
	for (unsigned n = 3; n >= 1; n--) {
		if (c->sagaw & (1u << n)) {
			if (c->mgaw > 30 + 9 * n)
				c->mgaw = 30 + 9 * n;
			break;
		}
	}
}

static inline struct vtd_cache_geom fz_geom(unsigned b)
{
	/* Tiny caches, so that evictions happen; 0 sets = no cache. */
	return (struct vtd_cache_geom){.sets = (b & 3) ? 1u << ((b & 3) - 1) : 0,
				       .ways = 1 + ((b >> 2) & 3)};
}

/* The unit: 16 bytes of the input choose its features and sizes. Returns the last byte,
 * the harness's own knobs (bit 0: check mode; bit 1: a queue set up at the start, bit 2:
 * with 256-bit descriptors). */
static inline uint8_t fz_vtd_config(struct fz *f, struct vtd_config *c)
{
	uint64_t b = fz_u64(f);
	uint8_t w[8];

	for (int i = 0; i < 8; i++)
		w[i] = fz_u8(f);
	vtd_config_default(c);
	c->scalable = !(b & 1); /* the default is scalable: bit clear keeps it */
	c->first_stage = !(b & 2);
	c->second_stage = !(b & 4);
	c->nested = !(b & 8);
	c->pass_through = !(b & 16);
	c->fs_5level = !(b & 32);
	c->fs_1g = !(b & 64);
	c->ss_2m = !(b & 128);
	c->ss_1g = !(b & 256);
	c->dev_tlb = !(b & 512);
	c->supervisor_requests = !(b & 1024);
	c->execute_requests = b & 2048;
	c->ss_ad = !(b & 4096);
	c->rid_pasid = b & 8192;
	c->rid_priv = b & 16384;
	c->fs_ea = b & 32768;
	c->nwfs = b & 65536;
	c->abort_dma = b & (1u << 17);
	c->snoop_control = !(b & (1u << 18));
	c->sm_pwc = !(b & (1u << 19));
	c->caching_mode = b & (1u << 20);
	c->intr_remap = b & (1u << 21);
	c->x2apic = b & (1u << 22);
	c->esrtps = b & (1u << 23);
	c->rwbf = b & (1u << 24);
	c->psi = !(b & (1u << 25));
	c->coherent = !(b & (1u << 26));
	c->queued_invalidation = !(b & (1u << 27));
	c->pasid_bits = (b >> 28) & 0x1f ? ((b >> 28) & 0x1f) % 21 : 20;
	c->did_bits = 4 + 2 * (unsigned)((b >> 33) % 7);
	c->nfr = 1 + (unsigned)((b >> 36) & 7); /* few records: overflow is reachable */
	c->mamv = (unsigned)((b >> 39) & 0x3f);
	/* Register layout: the default, or FRCDs below IVA, or both far up. */
	switch ((b >> 45) & 3) {
	case 1:
		c->fro = 0x20;
		c->iro = 0x40;
		break;
	case 2:
		c->fro = 0x3f0;
		c->iro = 0x3ff;
		break;
	default:
		break;
	}
	if (w[0])
		c->haw = 32 + w[0] % 21;
	if (w[1])
		c->mgaw = 30 + w[1] % 28;
	if (w[2] & 7)
		c->sagaw = (w[2] & 7) << 1;
	c->context_cache = fz_geom(w[3]);
	c->pasid_cache = fz_geom(w[4]);
	c->iotlb = fz_geom(w[5]);
	c->pscache = fz_geom(w[6]);
	fz_config_repair(c);
	if (vtd_config_validate(c))
		vtd_config_default(c);
	return w[7];
}

/* ---- memory -------------------------------------------------------------------------- */

static inline bool fz_hits_bad(const struct fz_vtd *h, uint64_t pa, size_t len)
{
	return h->bad_page != ~0ull && pa < h->bad_page + 4096 && h->bad_page < pa + len;
}

static int fz_mem_read(void *ctx, uint64_t pa, void *buf, size_t len)
{
	struct fz_vtd *h = ctx;

	if (fz_hits_bad(h, pa, len))
		return -EIO;
	memcpy(buf, h->ram + pa, len);
	return 0;
}

static int fz_mem_write(void *ctx, uint64_t pa, const void *buf, size_t len)
{
	struct fz_vtd *h = ctx;

	if (fz_hits_bad(h, pa, len))
		return -EIO;
	memcpy(h->ram + pa, buf, len);
	h->writes++;
	return 0;
}

static int fz_mem_cmpxchg64(void *ctx, uint64_t pa, uint64_t *expected, uint64_t desired)
{
	struct fz_vtd *h = ctx;
	uint64_t cur;

	if (fz_hits_bad(h, pa, 8))
		return -EIO;
	memcpy(&cur, h->ram + pa, 8);
	if (cur != *expected) {
		*expected = cur;
		return -EAGAIN;
	}
	memcpy(h->ram + pa, &desired, 8);
	h->writes++;
	return 0;
}

static const struct mem_ops fz_mem_ops = {.read = fz_mem_read, .write = fz_mem_write};
static const struct mem_ops fz_mem_ops_cx = {
    .read = fz_mem_read, .write = fz_mem_write, .cmpxchg64 = fz_mem_cmpxchg64};

/* Harness-side memory access: never fails on the bad page (the guest's own CPU writes). */
static inline uint64_t fz_rd(struct fz_vtd *h, uint64_t pa)
{
	uint64_t v = 0;

	if (pa <= FZ_MEM_SIZE - 8 && !(pa & 7))
		memcpy(&v, h->ram + pa, 8);
	return v;
}

static inline void fz_wr(struct fz_vtd *h, uint64_t pa, uint64_t v)
{
	if (pa <= FZ_MEM_SIZE - 8 && !(pa & 7))
		memcpy(h->ram + pa, &v, 8);
	h->armed = false;
}

static inline bool fz_in_mem(uint64_t pa)
{
	return pa < FZ_MEM_SIZE;
}

/* FUZZ_VERBOSE=1 in the environment: print every request and its completion. */
static inline bool fz_verbose(void)
{
	static int verbose = -1;

	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	return verbose;
}

/* ---- callbacks ----------------------------------------------------------------------- */

static void fz_fault_event(void *ctx, uint32_t data, uint64_t addr)
{
	struct fz_vtd *h = ctx;

	(void)data;
	(void)addr;
	h->fault_events++;
}

static void fz_inv_event(void *ctx, uint32_t data, uint64_t addr)
{
	struct fz_vtd *h = ctx;

	(void)data;
	(void)addr;
	h->inv_events++;
}

static void fz_stale(void *ctx, const struct vtd_stale *st)
{
	struct fz_vtd *h = ctx;

	if (fz_verbose())
		fprintf(stderr,
			"stale: cache %d sid %#x pasid %#x addr %#llx: cached %u %#llx/%#llx %#x "
			"%#x, memory %u %#llx/%#llx %#x %#x: %s (missing %s)\n",
			(int)st->cache, st->sid, st->pasid, (unsigned long long)st->addr,
			st->cached.status, (unsigned long long)st->cached.addr,
			(unsigned long long)st->cached.page_size, st->cached.perm, st->cached.fault,
			st->memory.status, (unsigned long long)st->memory.addr,
			(unsigned long long)st->memory.page_size, st->memory.perm, st->memory.fault,
			st->detail, st->missing ? st->missing : "?");
	FZ_ASSERT(st->cache < VTD_CACHE_COUNT, "stale report for cache %d", (int)st->cache);
	FZ_ASSERT(st->missing && memchr(st->detail, 0, sizeof(st->detail)), "report text");
	FZ_ASSERT(st->cached.status != st->memory.status || st->cached.fault != st->memory.fault ||
		      st->cached.addr != st->memory.addr || st->cached.perm != st->memory.perm ||
		      st->cached.page_size != st->memory.page_size,
		  "a stale report for a completion that memory gives too");
	/* Right after a full flush, with memory and registers unchanged, the context and PASID
	 * caches (tagged by source-id) hold only what memory says. The IOTLB is tagged by
	 * domain: two devices that share a DID with different tables legitimately see each
	 * other's entries, as on silicon. */
	FZ_ASSERT(!h->armed || h->writes != h->armed_writes || st->cache == VTD_CACHE_IOTLB,
		  "cache %d stale right after a flush with memory unchanged: %s (missing %s)",
		  (int)st->cache, st->detail, st->missing);
	h->stale_reports++;
}

static void fz_trace(void *ctx, const struct vtd_trace_event *ev)
{
	struct fz_vtd *h = ctx;

	if (ev->kind != VTD_TRACE_FAULT)
		return;
	h->traced = true;
	h->trace_reason = ev->fault.reason;
	h->trace_fate = ev->fault.fate;
	h->trace_index = ev->fault.index;
}

/*
 * The physical memory: one heap block for the whole run, zeroed for each input (a fresh
 * block per input would cost more in page faults than the model's work).
 */
static inline uint8_t *fz_ram(void)
{
	static uint8_t *ram;

	if (!ram)
		ram = malloc(FZ_MEM_SIZE);
	if (ram)
		memset(ram, 0, FZ_MEM_SIZE);
	return ram;
}

/* ---- set-up -------------------------------------------------------------------------- */

static inline int fz_mmio_wr(struct fz_vtd *h, uint64_t off, unsigned size, uint64_t v);

/* The driver's enable sequence: root table, SRTP, TE (polling GSTS as a driver does). */
static inline void fz_enable(struct fz_vtd *h, unsigned ttm, bool qie)
{
	uint64_t gsts = 0;

	fz_mmio_wr(h, VTD_REG_RTADDR, 8, FZ_ROOT_PAGE * 4096ull | (uint64_t)ttm << 10);
	vtd_mmio_read(h->vtd, VTD_REG_GSTS, 4, &gsts);
	gsts &= VTD_GSTS_PERSISTENT_MASK;
	fz_mmio_wr(h, VTD_REG_GCMD, 4, gsts | VTD_GCMD_SRTP);
	if (qie)
		gsts |= VTD_GCMD_QIE;
	fz_mmio_wr(h, VTD_REG_GCMD, 4, gsts | VTD_GCMD_TE);
}

/* Registers as a driver sets them up: fault and completion events, translation on. */
static inline void fz_setup(struct fz_vtd *h, unsigned ttm, bool mask_faults)
{
	fz_mmio_wr(h, VTD_REG_FEDATA, 4, 0x41);
	fz_mmio_wr(h, VTD_REG_FEADDR, 4, 0xfee00000);
	fz_mmio_wr(h, VTD_REG_FECTL, 4, mask_faults ? VTD_FECTL_IM : 0);
	if (h->cfg.queued_invalidation) {
		fz_mmio_wr(h, VTD_REG_IEDATA, 4, 0x42);
		fz_mmio_wr(h, VTD_REG_IEADDR, 4, 0xfee00000);
		fz_mmio_wr(h, VTD_REG_IECTL, 4, 0);
	}
	fz_enable(h, ttm, false);
}

/*
 * Create the unit for this input: 17 header bytes. Returns 0, or -1 when the harness
 * itself cannot run (out of memory), in which case the input is skipped.
 */
static inline int fz_vtd_init(struct fz_vtd *h, struct fz *f, unsigned ops)
{
	struct vtd_callbacks cb = {
	    .fault_event = fz_fault_event, .inv_event = fz_inv_event, .stale = fz_stale};
	uint8_t opt, knobs;

	memset(h, 0, sizeof(*h));
	h->ops = ops;
	h->bad_page = ~0ull;
	h->next_page = FZ_FIRST_FREE;
	knobs = fz_vtd_config(f, &h->cfg);
	opt = fz_u8(f);
	h->direct = !(opt & 1);
	h->cmpxchg = opt & 2;
	if (!h->direct && (opt & 4))
		h->bad_page = (uint64_t)((opt >> 5) % FZ_MEM_PAGES + FZ_FIRST_FREE) * 4096;
	h->trace = opt & 8;
	if (h->trace)
		cb.trace = fz_trace;
	h->ram = fz_ram();
	if (!h->ram)
		return -1;
	if (h->direct) {
		/* A backend whose memory is reached directly: the model walks through
		 * mem->base, its fast path, and ASan sees the heap block's bounds. */
		h->mem = mem_create(&fz_mem_ops, h, FZ_MEM_SIZE);
		if (h->mem)
			h->mem->base = h->ram;
	} else {
		h->mem = mem_create(h->cmpxchg ? &fz_mem_ops_cx : &fz_mem_ops, h, FZ_MEM_SIZE);
	}
	if (!h->mem || vtd_create(&h->cfg, h->mem, &cb, h, &h->vtd)) {
		mem_destroy(h->mem);
		return -1;
	}
	h->check = (knobs & 1) && vtd_set_check(h->vtd, true) == 0;
	/* Translation on in the unit's own mode (the programs can change that). */
	fz_setup(h, h->cfg.scalable ? VTD_TTM_SCALABLE : VTD_TTM_LEGACY, opt & 16);
	if ((knobs & 2) && h->cfg.queued_invalidation) {
		/* A queue ready to take descriptors, as a driver makes at probe. */
		fz_mmio_wr(h, VTD_REG_IQA, 8,
			   FZ_QUEUE_PAGE * 4096ull |
			       (h->cfg.scalable && (knobs & 4) ? VTD_IQA_DW : 0));
		fz_enable(h, h->cfg.scalable ? VTD_TTM_SCALABLE : VTD_TTM_LEGACY, true);
	}
	return 0;
}

static inline void fz_vtd_fini(struct fz_vtd *h)
{
	vtd_destroy(h->vtd);
	mem_destroy(h->mem);
}

/* ---- operand decoding ---------------------------------------------------------------- */

static inline uint64_t fz_haw_limit(const struct fz_vtd *h)
{
	return 1ull << h->cfg.haw;
}

/*
 * A structure pointer: mostly a page of memory, sometimes the edges (the last page, just
 * past memory, at HAW), sometimes anything.
 */
static inline uint64_t fz_ptr(struct fz_vtd *h, struct fz *f)
{
	uint8_t b = fz_u8(f);

	if (b < 0xe0)
		return (uint64_t)(b % FZ_MEM_PAGES) * 4096;
	switch (b & 0xf) {
	case 0:
		return FZ_MEM_SIZE - 4096;
	case 1:
		return FZ_MEM_SIZE;
	case 2:
		return fz_haw_limit(h) - 4096;
	case 3:
		return fz_haw_limit(h);
	case 4:
		return 1ull << 51;
	case 5:
		return ~0xfffull;
	case 6:
		return VTD_INTR_RANGE_BASE;
	case 7:
		return 0;
	default:
		return fz_u64(f) & ~0xfffull;
	}
}

/* A fresh table page for the harness to build in (zeroed). */
static inline uint64_t fz_new_page(struct fz_vtd *h)
{
	uint64_t pa = (uint64_t)h->next_page * 4096;

	h->next_page = h->next_page + 1 < FZ_MEM_PAGES ? h->next_page + 1 : FZ_FIRST_FREE;
	memset(h->ram + pa, 0, 4096);
	h->armed = false;
	return pa;
}

/*
 * The table that the entry at `pa` points to, if it is present and the table is in
 * memory; otherwise a fresh page, linked in with `flags`. This is how the building
 * operations find their way down without the input spelling out every level.
 */
static inline uint64_t fz_follow(struct fz_vtd *h, uint64_t pa, uint64_t present, uint64_t flags)
{
	uint64_t e = fz_rd(h, pa), t = e & VTD_GENMASK(51, 12);

	if ((e & present) && fz_in_mem(t) && t >= FZ_FIRST_FREE * 4096ull)
		return t;
	t = fz_new_page(h);
	fz_wr(h, pa, t | flags);
	return t;
}

/* Low 12 bits of an entry, and at most one stray high bit (reserved-bit checks). */
static inline uint64_t fz_bits(struct fz *f, uint64_t *stray)
{
	uint16_t lo = fz_u16(f);
	uint8_t s = fz_u8(f);

	*stray = s >= 0xc0 ? 1ull << (s & 63) : 0;
	return lo & 0xfff;
}

/* A requester ID from a small set (so that building and translating meet), or any. */
static inline uint16_t fz_rid(struct fz *f)
{
	uint8_t b = fz_u8(f);

	if (b < 0xf0)
		return (uint16_t)(((b >> 3) & 3) << 8 | (b & 7) << 3 | ((b >> 5) & 1) << 7 |
				  (b >> 6));
	return fz_u16(f);
}

/* A PASID: small, at the edges of the directory, or any 20 bits. */
static inline uint32_t fz_pasid(struct fz *f)
{
	uint8_t b = fz_u8(f);

	if (b < 0x80)
		return b & 0x7f;
	if (b < 0xc0)
		return (uint32_t)(b & 0x3f) << 6 | (b & 1);
	return fz_u32(f) & 0xfffff;
}

/* An input address: page frames up to 2^44 with chosen high bits (width, canonical). */
static inline uint64_t fz_addr(struct fz *f)
{
	uint32_t frame = fz_u32(f);
	uint8_t k = fz_u8(f);
	uint64_t a = (uint64_t)frame << 12 | (uint64_t)(k & 0xf) << 8;

	if (k & 0x10)
		a |= 1ull << 47;
	if (k & 0x20)
		a |= ~0ull << 47;
	if (k & 0x40)
		a |= 1ull << 56;
	if (k & 0x80)
		a |= ~0ull << 56;
	return a;
}

/* ---- MMIO ---------------------------------------------------------------------------- */

/* Every MMIO write goes through here, to follow what SRTP latches. */
static inline int fz_mmio_wr(struct fz_vtd *h, uint64_t off, unsigned size, uint64_t v)
{
	int r = vtd_mmio_write(h->vtd, off, size, v);
	uint64_t rt = 0;

	h->armed = false;
	if (r == 0 && off <= VTD_REG_GCMD && off + size > VTD_REG_GCMD &&
	    ((v >> (8 * (VTD_REG_GCMD - off))) & VTD_GCMD_SRTP)) {
		vtd_mmio_read(h->vtd, VTD_REG_RTADDR, 8, &rt);
		h->rtaddr =
		    rt & (VTD_RTADDR_TTM_MASK | (VTD_RTADDR_RTA_MASK & (fz_haw_limit(h) - 1)));
	}
	return r;
}

static inline uint64_t fz_frcd_off(const struct fz_vtd *h, unsigned i)
{
	return (uint64_t)h->cfg.fro * 16 + (uint64_t)i * VTD_FRCD_SIZE;
}

/* A register offset: mostly one that exists, sometimes the window's edges or anything. */
static inline uint64_t fz_reg(struct fz_vtd *h, struct fz *f)
{
	static const uint16_t regs[] = {
	    VTD_REG_VER,     VTD_REG_CAP,     VTD_REG_ECAP,	VTD_REG_GCMD,	   VTD_REG_GSTS,
	    VTD_REG_RTADDR,  VTD_REG_CCMD,    VTD_REG_CCMD + 4, VTD_REG_FSTS,	   VTD_REG_FECTL,
	    VTD_REG_FEDATA,  VTD_REG_FEADDR,  VTD_REG_FEUADDR,	VTD_REG_AFLOG,	   VTD_REG_PMEN,
	    VTD_REG_PLMBASE, VTD_REG_PHMBASE, VTD_REG_IQH,	VTD_REG_IQT,	   VTD_REG_IQA,
	    VTD_REG_IQA + 4, VTD_REG_ICS,     VTD_REG_IECTL,	VTD_REG_IEDATA,	   VTD_REG_IEADDR,
	    VTD_REG_IEUADDR, VTD_REG_IQERCD,  VTD_REG_IRTA,	VTD_REG_PQH,	   VTD_REG_PQA,
	    VTD_REG_MTRRCAP, VTD_REG_PERFCAP, VTD_REG_ECMD,	VTD_REG_RTADDR + 4};
	uint8_t b = fz_u8(f);
	uint64_t iva = (uint64_t)h->cfg.iro * 16, size = vtd_mmio_size(h->vtd);

	if (b < sizeof(regs) / sizeof(regs[0]))
		return regs[b];
	switch (b & 0xf) {
	case 0:
		return iva;
	case 1:
		return iva + 8;
	case 2:
		return iva + 12;
	case 3: /* an FRCD's second quad-word (F is in its top dword), one past the last too */
		return fz_frcd_off(h, fz_u8(f) % (h->cfg.nfr + 1)) + 8;
	case 4:
		return fz_frcd_off(h, fz_u8(f) % (h->cfg.nfr + 1)) + 12;
	case 5:
		return fz_frcd_off(h, fz_u8(f) % (h->cfg.nfr + 1));
	case 6:
		return size - 4;
	case 7:
		return size - 8;
	case 8:
		return size;
	case 9:
		return fz_u64(f);
	default:
		return fz_u16(f) & 0x1fff;
	}
}

/* ---- the checks of one completion ---------------------------------------------------- */

static inline bool fz_is_reason(uint8_t r)
{
	return (r >= VTD_FR_LRT_2 && r <= VTD_FR_LGN_4) ||
	       (r >= VTD_FR_RTA_1 && r <= VTD_FR_RTA_4) ||
	       (r >= VTD_FR_SRT_1 && r <= VTD_FR_SRT_3) ||
	       (r >= VTD_FR_SCT_1 && r <= VTD_FR_SCT_9) ||
	       (r >= VTD_FR_SPD_1 && r <= VTD_FR_SPD_3) ||
	       (r >= VTD_FR_SPT_1 && r <= VTD_FR_SPT_6) ||
	       (r >= VTD_FR_SFL_1 && r <= VTD_FR_SFL_8) ||
	       (r >= VTD_FR_SSL_1 && r <= VTD_FR_SSL_6) ||
	       (r >= VTD_FR_SGN_1 && r <= VTD_FR_SGN_10) || r == VTD_FR_SFL_9 || r == VTD_FR_SFL_10;
}

static inline bool fz_is_legacy_reason(uint8_t r)
{
	return (r >= VTD_FR_LRT_2 && r <= VTD_FR_LGN_4) || r == VTD_FR_RTA_1 || r == VTD_FR_RTA_2;
}

/* Faults found before any FPD can be known: never suppressed (digest 4.3). */
static inline bool fz_non_qualified(uint8_t r)
{
	switch (r) {
	case VTD_FR_LRT_1:
	case VTD_FR_LRT_2:
	case VTD_FR_LRT_3:
	case VTD_FR_LCT_1:
	case VTD_FR_LCT_3:
	case VTD_FR_RTA_1:
	case VTD_FR_RTA_2:
	case VTD_FR_RTA_3:
	case VTD_FR_RTA_4:
	case VTD_FR_SRT_1:
	case VTD_FR_SRT_2:
	case VTD_FR_SRT_3:
	case VTD_FR_SCT_1:
	case VTD_FR_SCT_3:
	case VTD_FR_SPD_1:
	case VTD_FR_SPT_1:
		return true;
	default:
		return false;
	}
}

static inline uint64_t fz_mmio_rd(struct fz_vtd *h, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	int r = vtd_mmio_read(h->vtd, off, size, &v);

	FZ_ASSERT(r == 0, "reading register %#llx failed: %d", (unsigned long long)off, r);
	return v;
}

/* A fault's fate as the trace hook saw it agrees with the completion and the registers. */
static inline void fz_check_fault_fate(struct fz_vtd *h, const struct pci_req *req,
				       const struct pci_resp *resp)
{
	bool recorded = resp->flags & PCI_RESP_FAULT_RECORDED;

	FZ_ASSERT(h->traced, "fault %#x without a trace event", resp->fault);
	FZ_ASSERT(h->trace_reason == resp->fault, "traced %#x, completed %#x", h->trace_reason,
		  resp->fault);
	FZ_ASSERT(recorded == (h->trace_fate == VTD_FAULT_RECORDED), "recorded %d, fate %d",
		  recorded, (int)h->trace_fate);
	if (h->trace_fate == VTD_FAULT_FPD)
		FZ_ASSERT(!fz_non_qualified(resp->fault), "non-qualified fault %#x suppressed",
			  resp->fault);
	if (h->trace_fate == VTD_FAULT_PFO || h->trace_fate == VTD_FAULT_OVERFLOW)
		FZ_ASSERT(fz_mmio_rd(h, VTD_REG_FSTS, 4) & VTD_FSTS_PFO, "fate %d without PFO",
			  (int)h->trace_fate);
	if (recorded) {
		uint64_t q1;

		FZ_ASSERT(h->trace_index >= 0 && (unsigned)h->trace_index < h->cfg.nfr,
			  "record index %d of %u", h->trace_index, h->cfg.nfr);
		q1 = fz_mmio_rd(h, fz_frcd_off(h, (unsigned)h->trace_index) + 8, 8);
		FZ_ASSERT(q1 & VTD_FRCD_Q1_F, "recorded but FRCD[%d].F clear", h->trace_index);
		FZ_ASSERT(VTD_GET(q1, VTD_FRCD_Q1_FR) == resp->fault, "FRCD.FR %#llx, fault %#x",
			  (unsigned long long)VTD_GET(q1, VTD_FRCD_Q1_FR), resp->fault);
		FZ_ASSERT(VTD_GET(q1, VTD_FRCD_Q1_SID) == req->rid, "FRCD.SID %#llx, rid %#x",
			  (unsigned long long)VTD_GET(q1, VTD_FRCD_Q1_SID), req->rid);
		FZ_ASSERT(fz_mmio_rd(h, VTD_REG_FSTS, 4) & VTD_FSTS_PPF, "recorded without PPF");
	}
}

/*
 * What every completion must satisfy, whatever the tables hold. `te` and `rtaddr` are
 * the translation state the request met.
 */
static inline void fz_check_resp(struct fz_vtd *h, const struct pci_req *req,
				 const struct pci_resp *resp, bool te)
{
	unsigned ttm = (unsigned)VTD_GET(h->rtaddr, VTD_RTADDR_TTM);
	bool walked = te && req->at != PCI_AT_TRANSLATED;

	FZ_ASSERT(resp->status == PCI_SC || resp->status == PCI_UR, "status %u", resp->status);
	if (resp->status == PCI_SC) {
		FZ_ASSERT(resp->fault == 0 && !(resp->flags & PCI_RESP_FAULT_RECORDED),
			  "success with fault %#x flags %#x", resp->fault, resp->flags);
		FZ_ASSERT(resp->page_size == 1ull << 12 || resp->page_size == 1ull << 21 ||
			      resp->page_size == 1ull << 30,
			  "page size %#llx", (unsigned long long)resp->page_size);
		if (resp->page_size == 1ull << 30)
			FZ_ASSERT(h->cfg.fs_1g || h->cfg.ss_1g, "1 GiB page on a unit without");
		if (resp->page_size == 1ull << 21)
			FZ_ASSERT(h->cfg.first_stage || h->cfg.ss_2m,
				  "2 MiB page on a unit without");
		if (walked && (resp->perm & (PCI_PERM_R | PCI_PERM_W)) &&
		    !(resp->perm & PCI_PERM_U)) {
			FZ_ASSERT(resp->addr < fz_haw_limit(h), "output %#llx beyond HAW %u",
				  (unsigned long long)resp->addr, h->cfg.haw);
			FZ_ASSERT(((resp->addr ^ req->addr) & (resp->page_size - 1)) == 0,
				  "output %#llx not at the offset of %#llx in a %#llx page",
				  (unsigned long long)resp->addr, (unsigned long long)req->addr,
				  (unsigned long long)resp->page_size);
		}
		if (walked && req->at == PCI_AT_UNTRANSLATED) {
			unsigned need = (req->flags & PCI_REQ_WRITE) ? PCI_PERM_W : 0;

			if ((req->flags & PCI_REQ_READ) || !(req->flags & PCI_REQ_WRITE))
				need |= PCI_PERM_R;
			if ((req->flags & PCI_REQ_PASID) && (req->flags & PCI_REQ_EXEC))
				need |= PCI_PERM_X;
			FZ_ASSERT((resp->perm & need) == need, "granted %#x, needed %#x",
				  resp->perm, need);
			FZ_ASSERT(resp->addr - VTD_INTR_RANGE_BASE >= VTD_INTR_RANGE_SIZE,
				  "DMA reaches the interrupt range at %#llx",
				  (unsigned long long)resp->addr);
		}
		return;
	}
	/* UR */
	FZ_ASSERT(!(resp->flags & PCI_RESP_FAULT_RECORDED) || resp->fault, "recorded no fault");
	if (resp->fault == 0) {
		/* Blocked without a fault: a translation request with TE off, or abort-DMA. */
		FZ_ASSERT((!te && req->at == PCI_AT_TRANSLATION) ||
			      (te && ttm == VTD_TTM_ABORT_DMA && h->cfg.abort_dma),
			  "UR without a fault (te %d ttm %u at %u)", te, ttm, req->at);
		return;
	}
	FZ_ASSERT(te, "fault %#x with translation disabled", resp->fault);
	FZ_ASSERT(fz_is_reason(resp->fault), "fault %#x is no architected reason", resp->fault);
	if (ttm == VTD_TTM_LEGACY)
		FZ_ASSERT(fz_is_legacy_reason(resp->fault), "legacy mode, fault %#x", resp->fault);
	else if (ttm == VTD_TTM_SCALABLE && h->cfg.scalable)
		FZ_ASSERT(!fz_is_legacy_reason(resp->fault) || resp->fault == VTD_FR_RTA_1,
			  "scalable mode, fault %#x", resp->fault);
	else
		FZ_ASSERT(resp->fault == VTD_FR_RTA_1, "TTM %u, fault %#x", ttm, resp->fault);
	if (h->trace)
		fz_check_fault_fate(h, req, resp);
}

static inline bool fz_same_xlate(const struct pci_resp *a, const struct pci_resp *b)
{
	return a->status == b->status && a->addr == b->addr && a->page_size == b->page_size &&
	       a->perm == b->perm && a->fault == b->fault;
}

static inline int fz_translate(struct fz_vtd *h, const struct pci_req *req, struct pci_resp *resp,
			       bool *te)
{
	*te = fz_mmio_rd(h, VTD_REG_GSTS, 4) & VTD_GSTS_TES;
	h->traced = false;
	memset(resp, 0xa5, sizeof(*resp));
	return vtd_translate(h->vtd, req, resp);
}

static inline bool fz_has_caches(const struct vtd_config *c)
{
	return c->context_cache.sets || c->pasid_cache.sets || c->iotlb.sets || c->pscache.sets;
}

/*
 * The same request again, and its ATS twin: with memory unchanged (only the counting
 * backend can tell) a translation is a function of the tables, and an untranslated read
 * that succeeds has a translation request that grants read at the same address - or is
 * refused only because the context entry does not allow ATS.
 */
static inline void fz_check_consistency(struct fz_vtd *h, const struct pci_req *req,
					const struct pci_resp *first, uint64_t writes)
{
	struct pci_resp again, ats;
	struct pci_req twin = *req;
	bool te;

	/* `writes` is the count before the first request: its own A/D updates may have
	 * changed an entry that another level of the walk also uses. With caches, entries
	 * that memory no longer matches may serve one kind of request and not another (as
	 * on silicon), unless nothing changed since a full flush. */
	if (h->direct || h->writes != writes)
		return;
	if (fz_has_caches(&h->cfg) && !(h->armed && h->writes == h->armed_writes))
		return;
	FZ_ASSERT(fz_translate(h, req, &again, &te) == 0, "second call refused");
	if (h->writes != writes)
		return; /* an accessed/dirty update in an aliased table may change the walk */
	FZ_ASSERT(fz_same_xlate(first, &again),
		  "same request, memory unchanged: %u %#llx/%#llx %#x %#x then %u %#llx/%#llx "
		  "%#x %#x",
		  first->status, (unsigned long long)first->addr,
		  (unsigned long long)first->page_size, first->perm, first->fault, again.status,
		  (unsigned long long)again.addr, (unsigned long long)again.page_size, again.perm,
		  again.fault);
	if (!te || req->at != PCI_AT_UNTRANSLATED || first->status != PCI_SC ||
	    (req->flags & (PCI_REQ_WRITE | PCI_REQ_EXEC)))
		return;
	twin.at = PCI_AT_TRANSLATION;
	twin.flags &= PCI_REQ_PASID | PCI_REQ_PRIV;
	FZ_ASSERT(fz_translate(h, &twin, &ats, &te) == 0, "ATS twin refused");
	if (ats.status == PCI_UR) {
		/* Refused because the context entry blocks ATS, or because the dirty bit a
		 * write grant needs could not be set (the read needed only A). */
		FZ_ASSERT(ats.fault == VTD_FR_LCT_5 || ats.fault == VTD_FR_SCT_5 ||
			      ats.fault == VTD_FR_SFL_8 || ats.fault == VTD_FR_SFL_9 ||
			      ats.fault == VTD_FR_SFL_10 || ats.fault == VTD_FR_SSL_5 ||
			      ats.fault == VTD_FR_SSL_6,
			  "read at %#llx succeeds, its translation request faults %#x",
			  (unsigned long long)req->addr, ats.fault);
		return;
	}
	/* An input address in the interrupt range gets "untranslated access only". */
	if (h->writes != writes || (ats.perm & PCI_PERM_U))
		return;
	FZ_ASSERT((ats.perm & PCI_PERM_R) && ats.addr == first->addr &&
		      ats.page_size == first->page_size,
		  "read at %#llx gives %#llx/%#llx, its translation request %#llx/%#llx perm %#x",
		  (unsigned long long)req->addr, (unsigned long long)first->addr,
		  (unsigned long long)first->page_size, (unsigned long long)ats.addr,
		  (unsigned long long)ats.page_size, ats.perm);
}

/* ---- operations ---------------------------------------------------------------------- */

static inline void fz_op_translate(struct fz_vtd *h, struct fz *f)
{
	struct pci_req req = {0};
	struct pci_resp resp;
	uint8_t at = fz_u8(f);
	uint64_t writes;
	bool te;
	int r;

	req.rid = fz_rid(f);
	req.flags = fz_u8(f) & 0x3f;
	req.pasid = fz_pasid(f);
	req.addr = fz_addr(f);
	req.at = at < 0xf0 ? at % 3 : at;
	if (at == 0xff)
		req.pasid = fz_u32(f); /* beyond 20 bits: refused with -EINVAL */
	writes = h->writes;
	r = fz_translate(h, &req, &resp, &te);
	if (fz_verbose())
		fprintf(stderr,
			"translate rid %#x pasid %#x flags %#x at %u addr %#llx: %d status %u addr "
			"%#llx size %#llx perm %#x fault %#x flags %#x\n",
			req.rid, req.pasid, req.flags, req.at, (unsigned long long)req.addr, r,
			resp.status, (unsigned long long)resp.addr,
			(unsigned long long)resp.page_size, resp.perm, resp.fault, resp.flags);
	if (req.at > PCI_AT_TRANSLATED || ((req.flags & PCI_REQ_PASID) && req.pasid > 0xfffff)) {
		FZ_ASSERT(r == -EINVAL, "a malformed request returned %d", r);
		return;
	}
	FZ_ASSERT(r == 0, "vtd_translate returned %d", r);
	fz_check_resp(h, &req, &resp, te);
	fz_check_consistency(h, &req, &resp, writes);
}

/* The root entry of a bus; in scalable mode either half (devfn < 128 or >= 128). */
static inline void fz_op_root(struct fz_vtd *h, struct fz *f)
{
	uint8_t bus = fz_u8(f), sel = fz_u8(f);
	uint64_t stray, lo = fz_bits(f, &stray), v = fz_ptr(h, f) | lo | stray;
	uint64_t root = h->rtaddr & VTD_RTADDR_RTA_MASK;

	if (!fz_in_mem(root))
		root = FZ_ROOT_PAGE * 4096ull;
	fz_wr(h, root + bus * 16ull + (sel & 1) * 8, v);
}

/* Where the context entry of `rid` lives, making the root entry on the way. */
static inline uint64_t fz_ctx_pa(struct fz_vtd *h, uint16_t rid, bool *scalable)
{
	uint64_t root = h->rtaddr & VTD_RTADDR_RTA_MASK;
	unsigned devfn = PCI_RID_DEVFN(rid);

	if (!fz_in_mem(root))
		root = FZ_ROOT_PAGE * 4096ull;
	*scalable = VTD_GET(h->rtaddr, VTD_RTADDR_TTM) == VTD_TTM_SCALABLE;
	if (*scalable)
		return fz_follow(h, root + PCI_RID_BUS(rid) * 16ull + (devfn >> 7) * 8, 1, 1) +
		       (devfn & 0x7f) * 32ull;
	return fz_follow(h, root + PCI_RID_BUS(rid) * 16ull, 1, 1) + devfn * 16ull;
}

static inline void fz_op_ctx(struct fz_vtd *h, struct fz *f)
{
	uint16_t rid = fz_rid(f);
	uint64_t stray, lo = fz_bits(f, &stray), ptr = fz_ptr(h, f), q1 = fz_u32(f);
	bool scalable;
	uint64_t pa = fz_ctx_pa(h, rid, &scalable);

	if (scalable) {
		/* Q1: RID_PASID and RID_PRIV (bits 20:0), the rest reserved. */
		fz_wr(h, pa, ptr | lo | stray);
		fz_wr(h, pa + 8, (q1 & 0x1fffff) | ((q1 >> 24) == 0xff ? 1ull << 40 : 0));
		fz_wr(h, pa + 16, (q1 >> 24) == 0xfe ? 1 : 0);
		fz_wr(h, pa + 24, 0);
	} else {
		/* Q1: AW (2:0), DID (23:8). */
		fz_wr(h, pa, ptr | lo | stray);
		fz_wr(h, pa + 8, (q1 & 0xffff07) | ((q1 >> 24) == 0xff ? 1ull << 30 : 0));
	}
}

/* The PASID directory of `rid` (a scalable context entry made present if it is not). */
static inline uint64_t fz_pasid_dir(struct fz_vtd *h, uint16_t rid)
{
	bool scalable;
	uint64_t ce = fz_ctx_pa(h, rid, &scalable);

	/* P, and PASIDE where the unit has PASIDs; PDTS 7 (the largest directory). */
	return fz_follow(h, ce, 1, 1 | (h->cfg.pasid_bits ? 8 : 0) | 7u << 9);
}

static inline void fz_op_pasid_dir(struct fz_vtd *h, struct fz *f)
{
	uint16_t rid = fz_rid(f);
	uint32_t pasid = fz_pasid(f);
	uint64_t stray, lo = fz_bits(f, &stray), ptr = fz_ptr(h, f);

	fz_wr(h, fz_pasid_dir(h, rid) + (pasid >> 6) * 8ull, ptr | lo | stray);
}

static inline uint64_t fz_pasid_entry_pa(struct fz_vtd *h, uint16_t rid, uint32_t pasid)
{
	uint64_t dir = fz_pasid_dir(h, rid);

	return fz_follow(h, dir + (pasid >> 6) * 8ull, 1, 1) + (pasid & 0x3f) * 64ull;
}

static inline void fz_op_pasid_entry(struct fz_vtd *h, struct fz *f)
{
	uint16_t rid = fz_rid(f);
	uint32_t pasid = fz_pasid(f);
	uint8_t kind = fz_u8(f);
	uint64_t stray, lo = fz_bits(f, &stray);
	uint64_t slpt = fz_ptr(h, f), flpt = fz_ptr(h, f);
	uint64_t q1 = fz_u32(f), q2lo = fz_u8(f);
	uint64_t pa = fz_pasid_entry_pa(h, rid, pasid);

	/* Q0: P, FPD, AW, SLEE, PGTT, SLADE from the input; PGTT mostly a valid one. */
	if (kind < 0xc0)
		lo = (lo & ~VTD_PE_Q0_PGTT_MASK) | VTD_SET(VTD_PE_Q0_PGTT, 1 + kind % 4) | 1;
	fz_wr(h, pa, slpt | lo | stray);
	fz_wr(h, pa + 8, q1 & ((kind & 0x40) ? ~0ull : ~VTD_PE_Q1_RSVD));
	fz_wr(h, pa + 16, flpt | (q2lo & 0xff));
	for (int i = 3; i < 8; i++)
		fz_wr(h, pa + 8ull * i,
		      (kind & 0x20) && i == 3 + (kind & 3) ? 1ull << (kind & 7) : 0);
}

/* The page-table root that (rid, pasid) uses for `stage` (0 first, 1 second). */
static inline uint64_t fz_pt_root(struct fz_vtd *h, uint16_t rid, uint32_t pasid, unsigned stage,
				  unsigned *levels)
{
	bool scalable;
	uint64_t pa, q0, q2;

	if (VTD_GET(h->rtaddr, VTD_RTADDR_TTM) != VTD_TTM_SCALABLE) {
		pa = fz_ctx_pa(h, rid, &scalable);
		*levels = (unsigned)(fz_rd(h, pa + 8) & 7) + 2;
		return fz_follow(h, pa, 1, 1);
	}
	pa = fz_pasid_entry_pa(h, rid, pasid);
	q0 = fz_rd(h, pa);
	q2 = fz_rd(h, pa + 16);
	if (stage == 0) {
		*levels = (q2 & VTD_PE_Q2_FLPM_MASK) ? 5 : 4;
		return fz_follow(h, pa + 16, ~0ull, q2 & 0xfff);
	}
	*levels = (unsigned)VTD_GET(q0, VTD_PE_Q0_AW) + 2;
	return fz_follow(h, pa, ~0ull, (q0 & 0xfff) | 1);
}

/* One entry on the walk of an address, at a chosen level, tables made on the way. */
static inline void fz_op_pte(struct fz_vtd *h, struct fz *f)
{
	uint16_t rid = fz_rid(f);
	uint32_t pasid = fz_pasid(f);
	uint8_t sel = fz_u8(f);
	uint64_t addr = fz_addr(f);
	uint64_t stray, lo = fz_bits(f, &stray), ptr = fz_ptr(h, f);
	unsigned stage = sel & 1, levels, level = 1 + (sel >> 1) % 5;
	/* Non-leaf tables made on the way: present, writable, user (FS) or R/W (SS). */
	uint64_t table_bits = stage ? VTD_SL_R | VTD_SL_W : VTD_FL_P | VTD_FL_RW | VTD_FL_US;
	uint64_t t = fz_pt_root(h, rid, pasid, stage, &levels);

	if (levels > 5)
		levels = 5;
	for (unsigned l = levels; l > level; l--)
		t = fz_follow(h, t + VTD_PT_INDEX(addr, l) * 8, stage ? 3 : 1, table_bits);
	fz_wr(h, t + VTD_PT_INDEX(addr, level) * 8,
	      ptr | lo | stray | ((sel & 0x80) ? 1ull << 63 : 0));
}

static inline void fz_op_mem64(struct fz_vtd *h, struct fz *f)
{
	uint64_t page = fz_u8(f) % FZ_MEM_PAGES, off = (fz_u16(f) & 0x1ff) * 8ull;

	fz_wr(h, page * 4096 + off, fz_u64(f));
}

/* What a driver's fault handler does: read each pending record, clear it, clear PFO. */
static inline void fz_op_faults(struct fz_vtd *h, struct fz *f)
{
	uint8_t how = fz_u8(f);

	for (unsigned i = 0; i < h->cfg.nfr; i++)
		if ((how & 1) || (fz_mmio_rd(h, fz_frcd_off(h, i) + 8, 8) & VTD_FRCD_Q1_F))
			fz_mmio_wr(h, fz_frcd_off(h, i) + 12, 4, VTD_FRCD_Q1_F >> 32);
	fz_mmio_wr(h, VTD_REG_FSTS, 4, (how & 2) ? 0x7f : VTD_FSTS_PFO);
	if (how & 4)
		FZ_ASSERT(!(fz_mmio_rd(h, VTD_REG_FSTS, 4) & VTD_FSTS_PPF),
			  "PPF still set with every record cleared");
}

static inline void fz_op_enable(struct fz_vtd *h, struct fz *f)
{
	uint8_t b = fz_u8(f);

	fz_enable(h, b & 3, b & 4);
}

static inline void fz_op_mmio_write(struct fz_vtd *h, struct fz *f)
{
	uint8_t sz = fz_u8(f);
	uint64_t off = fz_reg(h, f), v = fz_u64(f);
	unsigned size = (sz & 1) ? 8 : 4;
	int r;

	if (sz == 0xff)
		size = fz_u8(f); /* any size: refused unless 4 or 8 */
	r = fz_mmio_wr(h, off, size, v);
	FZ_ASSERT(r == 0 || r == -EINVAL, "MMIO write returned %d", r);
	FZ_ASSERT(r == 0 || size != (unsigned)((sz & 1) ? 8 : 4) || (off & (size - 1)) ||
		      off >= vtd_mmio_size(h->vtd) || size > vtd_mmio_size(h->vtd) - off,
		  "MMIO write of %u bytes at %#llx refused", size, (unsigned long long)off);
}

static inline void fz_op_mmio_read(struct fz_vtd *h, struct fz *f)
{
	uint8_t sz = fz_u8(f);
	uint64_t off = fz_reg(h, f), v = 0;
	unsigned size = (sz & 1) ? 8 : 4;
	int r = vtd_mmio_read(h->vtd, off, size, &v);
	bool ok = !(off & (size - 1)) && off < vtd_mmio_size(h->vtd) &&
		  size <= vtd_mmio_size(h->vtd) - off;

	FZ_ASSERT(r == (ok ? 0 : -EINVAL), "MMIO read of %u at %#llx returned %d", size,
		  (unsigned long long)off, r);
	if (r)
		return;
	/* Read-only identity registers never change. */
	if (off == VTD_REG_CAP && size == 8)
		FZ_ASSERT(v == vtd_cap(h->vtd), "CAP reads %#llx", (unsigned long long)v);
	if (off == VTD_REG_ECAP && size == 8)
		FZ_ASSERT(v == vtd_ecap(h->vtd), "ECAP reads %#llx", (unsigned long long)v);
	if (off == VTD_REG_GCMD && size == 4)
		FZ_ASSERT(v == 0, "GCMD reads %#llx", (unsigned long long)v);
}

/* IQA: a queue in memory (or not), 2^QS pages, 128- or 256-bit descriptors; QIE on. */
static inline void fz_op_qi_setup(struct fz_vtd *h, struct fz *f)
{
	uint8_t b = fz_u8(f);
	uint64_t base = fz_ptr(h, f), gsts = fz_mmio_rd(h, VTD_REG_GSTS, 4);

	gsts &= VTD_GSTS_PERSISTENT_MASK;
	if (b & 0x80) /* QIE off first, as a driver does before moving the queue */
		fz_mmio_wr(h, VTD_REG_GCMD, 4, gsts & ~(uint64_t)VTD_GCMD_QIE);
	fz_mmio_wr(h, VTD_REG_IQA, 8, base | (b & 7) | ((b & 8) ? VTD_IQA_DW : 0));
	fz_mmio_wr(h, VTD_REG_GCMD, 4, gsts | ((b & 0x40) ? 0 : VTD_GCMD_QIE));
}

/* Reserved bits of each descriptor type's first two quad-words (digest 5.2-5.9). */
static const uint64_t fz_desc_rsvd[10][2] = {
    [VTD_INV_CC] = {VTD_INV_CC_Q0_RSVD, ~0ull},
    [VTD_INV_IOTLB] = {VTD_INV_IOTLB_Q0_RSVD, VTD_INV_IOTLB_Q1_RSVD},
    [VTD_INV_DEVTLB] = {VTD_INV_DEVTLB_Q0_RSVD, VTD_INV_DEVTLB_Q1_RSVD},
    [VTD_INV_IEC] = {VTD_INV_IEC_Q0_RSVD, ~0ull},
    [VTD_INV_WAIT] = {VTD_INV_WAIT_Q0_RSVD, VTD_INV_WAIT_Q1_RSVD},
    [VTD_INV_PIOTLB] = {VTD_INV_PIOTLB_Q0_RSVD, VTD_INV_PIOTLB_Q1_RSVD},
    [VTD_INV_PC] = {VTD_INV_PC_Q0_RSVD, ~0ull},
    [VTD_INV_PDEVTLB] = {0, VTD_INV_PDEVTLB_Q1_RSVD},
    [VTD_INV_PGRP_RESP] = {0, 0},
};

/* One descriptor at a queue slot: a chosen type (mostly a defined one) and any fields. */
static inline void fz_op_qi_desc(struct fz_vtd *h, struct fz *f)
{
	uint64_t iqa = fz_mmio_rd(h, VTD_REG_IQA, 8);
	uint64_t base = iqa & VTD_IQA_IQA_MASK, slot = fz_u8(f);
	unsigned dsz = (iqa & VTD_IQA_DW) ? 32 : 16;
	uint8_t type = fz_u8(f);
	uint64_t q[4];

	for (int i = 0; i < 4; i++)
		q[i] = fz_u64(f);
	if (type < 0xf0) {
		unsigned t = 1 + type % 9;

		q[0] = (q[0] & ~(VTD_INV_TYPE_LO_MASK | VTD_INV_TYPE_HI_MASK)) | (t & 0xf);
		if (type & 0x10) { /* no reserved bit set: a well-formed descriptor */
			q[0] &= ~fz_desc_rsvd[t][0];
			q[1] &= ~fz_desc_rsvd[t][1];
			q[2] = q[3] = 0;
		}
	}
	if (type >= 0x20 && type < 0x80 && (q[0] & 0xf) == VTD_INV_WAIT) {
		/* An invalidation wait with its status write inside memory. */
		q[1] = (fz_ptr(h, f) | (fz_u16(f) & 0xffc)) & ~3ull;
	}
	for (unsigned i = 0; i < dsz / 8; i++)
		fz_wr(h, base + slot * dsz + 8 * i, q[i]);
}

static inline void fz_op_qi_tail(struct fz_vtd *h, struct fz *f)
{
	uint64_t iqa = fz_mmio_rd(h, VTD_REG_IQA, 8);
	uint16_t t = fz_u16(f);
	unsigned shift = (iqa & VTD_IQA_DW) ? 5 : 4;

	uint64_t fsts_before = fz_mmio_rd(h, VTD_REG_FSTS, 4), fsts, iqei;

	/* Mostly a slot number; with the top bit, any offset (misaligned, past the end). */
	fz_mmio_wr(h, VTD_REG_IQT, 8,
		   (t & 0x8000) ? (uint64_t)(t & 0x7fff) << 4 : (uint64_t)t << shift);
	fsts = fz_mmio_rd(h, VTD_REG_FSTS, 4);
	iqei = VTD_GET(fz_mmio_rd(h, VTD_REG_IQERCD, 8), VTD_IQERCD_IQEI);
	if ((fsts & VTD_FSTS_IQE) && !(fsts_before & VTD_FSTS_IQE))
		FZ_ASSERT(iqei >= VTD_IQEI_TAIL && iqei <= VTD_IQEI_TTM, "IQE with IQEI %llu",
			  (unsigned long long)iqei);
	/* 1.7: the unit fetches until IQH == IQT unless an error stops it. */
	if ((fz_mmio_rd(h, VTD_REG_GSTS, 4) & VTD_GSTS_QIES) &&
	    !((fsts | fsts_before) & (VTD_FSTS_IQE | VTD_FSTS_ITE)))
		FZ_ASSERT(fz_mmio_rd(h, VTD_REG_IQH, 8) == fz_mmio_rd(h, VTD_REG_IQT, 8),
			  "IQH %#llx IQT %#llx with no error",
			  (unsigned long long)fz_mmio_rd(h, VTD_REG_IQH, 8),
			  (unsigned long long)fz_mmio_rd(h, VTD_REG_IQT, 8));
}

static int fz_port_ok(void *ctx, const struct pci_ats_inv *inv)
{
	struct fz_vtd *h = ctx;

	FZ_ASSERT(inv->size == 0 || (inv->size >= 4096 && !(inv->size & (inv->size - 1)) &&
				     !(inv->addr & (inv->size - 1))),
		  "device-TLB invalidation %#llx size %#llx", (unsigned long long)inv->addr,
		  (unsigned long long)inv->size);
	h->port_calls++;
	return 0;
}

static int fz_port_hung(void *ctx, const struct pci_ats_inv *inv)
{
	struct fz_vtd *h = ctx;

	(void)inv;
	h->port_calls++;
	return -ETIMEDOUT;
}

static inline void fz_op_ats_port(struct fz_vtd *h, struct fz *f)
{
	uint16_t rid = fz_rid(f);
	uint8_t b = fz_u8(f);
	struct pci_ats_port port = {.invalidate = (b & 1) ? fz_port_hung : fz_port_ok, .ctx = h};
	int r;

	if (b & 2) {
		r = vtd_disconnect_ats(h->vtd, rid);
		FZ_ASSERT(r == 0 || r == -ENOENT, "disconnect returned %d", r);
	} else {
		r = vtd_connect_ats(h->vtd, rid, &port);
		FZ_ASSERT(r == 0 || r == -EBUSY, "connect returned %d", r);
	}
}

static inline void fz_op_reset(struct fz_vtd *h)
{
	vtd_reset(h->vtd);
	h->rtaddr = 0;
	FZ_ASSERT(fz_mmio_rd(h, VTD_REG_GSTS, 4) == 0, "GSTS after reset");
	FZ_ASSERT(fz_mmio_rd(h, VTD_REG_CAP, 8) == vtd_cap(h->vtd), "CAP after reset");
}

/* Empty every cache the way only a reset can, then set the unit up again. */
static inline void fz_op_flush(struct fz_vtd *h, struct fz *f)
{
	unsigned ttm = (unsigned)VTD_GET(h->rtaddr, VTD_RTADDR_TTM);
	uint8_t b = fz_u8(f);

	vtd_reset(h->vtd);
	h->rtaddr = 0;
	fz_setup(h, ttm, b & 1);
	/* Direct memory hides the model's own writes (A/D, status): never armed there. */
	h->armed = !h->direct;
	h->armed_writes = h->writes;
}

/*
 * What a driver does to wait for its invalidations: an invalidation wait with a status
 * write at the tail, IQT past it. If the queue ran without an error or a time-out, the
 * status is in memory.
 */
static inline void fz_op_qi_sync(struct fz_vtd *h, struct fz *f)
{
	uint64_t iqa = fz_mmio_rd(h, VTD_REG_IQA, 8), base = iqa & VTD_IQA_IQA_MASK;
	uint64_t size = 4096ull << VTD_GET(iqa, VTD_IQA_QS), dsz = (iqa & VTD_IQA_DW) ? 32 : 16;
	uint64_t tail = fz_mmio_rd(h, VTD_REG_IQT, 8) & VTD_IQT_QT_MASK;
	uint64_t page = fz_u8(f) % FZ_MEM_PAGES, slot = fz_u8(f) % 16;
	uint64_t status = page * 4096 + 4096 - 4 * (1 + slot);
	uint64_t fsts, fsts_before = fz_mmio_rd(h, VTD_REG_FSTS, 4);
	uint32_t got = 0;

	if ((tail & (dsz - 1)) || tail >= size || base + tail + dsz > FZ_MEM_SIZE)
		return;
	if (fz_hits_bad(h, status, 4))
		status -= 4096; /* memory that fails would drop the status write (counted) */
	h->sync_data++;
	fz_wr(h, base + tail, VTD_INV_WAIT | VTD_INV_WAIT_SW | (uint64_t)h->sync_data << 32);
	fz_wr(h, base + tail + 8, status);
	if (dsz == 32) {
		fz_wr(h, base + tail + 16, 0);
		fz_wr(h, base + tail + 24, 0);
	}
	fz_mmio_wr(h, VTD_REG_IQT, 8, (tail + dsz) & (size - 1));
	fsts = fz_mmio_rd(h, VTD_REG_FSTS, 4);
	if (!(fz_mmio_rd(h, VTD_REG_GSTS, 4) & VTD_GSTS_QIES) ||
	    ((fsts | fsts_before) & (VTD_FSTS_IQE | VTD_FSTS_ITE)))
		return;
	memcpy(&got, h->ram + status, 4);
	FZ_ASSERT(got == h->sync_data, "wait status %#x at %#llx, expected %#x", got,
		  (unsigned long long)status, h->sync_data);
	FZ_ASSERT(fz_mmio_rd(h, VTD_REG_IQH, 8) == fz_mmio_rd(h, VTD_REG_IQT, 8),
		  "queue ran without error but IQH != IQT");
}

/* Decode and run one operation. Returns false when the input is used up. */
static inline bool fz_vtd_step(struct fz_vtd *h, struct fz *f)
{
	enum fz_op op;

	if (fz_empty(f))
		return false;
	op = (enum fz_op)(fz_u8(f) % FZ_OP_COUNT);
	if (!(h->ops & (1u << op)))
		return true;
	switch (op) {
	case FZ_OP_TRANSLATE:
		fz_op_translate(h, f);
		break;
	case FZ_OP_ROOT:
		fz_op_root(h, f);
		break;
	case FZ_OP_CTX:
		fz_op_ctx(h, f);
		break;
	case FZ_OP_PASID_DIR:
		fz_op_pasid_dir(h, f);
		break;
	case FZ_OP_PASID_ENTRY:
		fz_op_pasid_entry(h, f);
		break;
	case FZ_OP_PTE:
		fz_op_pte(h, f);
		break;
	case FZ_OP_MEM64:
		fz_op_mem64(h, f);
		break;
	case FZ_OP_FAULTS:
		fz_op_faults(h, f);
		break;
	case FZ_OP_ENABLE:
		fz_op_enable(h, f);
		break;
	case FZ_OP_MMIO_WRITE:
		fz_op_mmio_write(h, f);
		break;
	case FZ_OP_MMIO_READ:
		fz_op_mmio_read(h, f);
		break;
	case FZ_OP_QI_SETUP:
		fz_op_qi_setup(h, f);
		break;
	case FZ_OP_QI_DESC:
		fz_op_qi_desc(h, f);
		break;
	case FZ_OP_QI_TAIL:
		fz_op_qi_tail(h, f);
		break;
	case FZ_OP_ATS_PORT:
		fz_op_ats_port(h, f);
		break;
	case FZ_OP_RESET:
		fz_op_reset(h);
		break;
	case FZ_OP_FLUSH:
		fz_op_flush(h, f);
		break;
	case FZ_OP_QI_SYNC:
		fz_op_qi_sync(h, f);
		break;
	case FZ_OP_COUNT:
		break;
	}
	return true;
}

/* The counters add up: no cache lost more entries than it was given. */
static inline void fz_check_stats(struct fz_vtd *h)
{
	struct vtd_stats st;

	FZ_ASSERT(vtd_get_stats(h->vtd, &st) == 0, "vtd_get_stats failed");
	for (int i = 0; i < VTD_CACHE_COUNT; i++) {
		const struct vtd_cache_counters *c = &st.cache.cache[i];

		FZ_ASSERT(c->evictions + c->invalidated <= c->fills,
			  "cache %d: %llu evicted + %llu invalidated of %llu filled", i,
			  (unsigned long long)c->evictions, (unsigned long long)c->invalidated,
			  (unsigned long long)c->fills);
	}
	if (!h->check)
		FZ_ASSERT(h->stale_reports == 0, "stale reports with check mode off");
}

/* A whole input: header, then the program. */
static inline int fz_vtd_run(const uint8_t *data, size_t size, unsigned ops)
{
	struct fz f = fz_init(data, size);
	struct fz_vtd h;

	if (fz_vtd_init(&h, &f, ops))
		return 0;
	for (int n = 0; n < FZ_VTD_MAX_OPS && fz_vtd_step(&h, &f); n++)
		;
	fz_check_stats(&h);
	fz_vtd_fini(&h);
	return 0;
}

#endif
