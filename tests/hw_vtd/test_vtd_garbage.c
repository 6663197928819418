// SPDX-License-Identifier: MIT
/*
 * Hostile input: 100,000+ random configurations of the unit's tables and registers -
 * random bits in root, context, PASID directory/table entries and page tables, pointers
 * past memory, tables that point at themselves, reserved PGTT values, PASIDs beyond the
 * directory, random register writes - each followed by random requests. Every request
 * must end in a completion that is a success or an architected fault; ASan/UBSan (in
 * `make test`) catch any out-of-bounds access, and a hang would time the test out.
 */
#include "check.h"

#include <softiommu/vtd.h>

#include "hw/vtd/caches.h"

#include <string.h>

#define MEM_SIZE   (4ull << 20) /* small, so that random pointers often fall outside */
#define AREA	   0x100000ull	/* the table area: pages that entries point into */
#define AREA_PAGES 256
#define CONFIGS	   100000
#define REQS	   4

static uint64_t seed = 0x5eed1234abcdull;

static uint64_t rnd(void)
{
	return check_rand(&seed);
}

static bool chance(unsigned pct)
{
	return rnd() % 100 < pct;
}

static uint64_t area_page(void)
{
	return AREA + (rnd() % AREA_PAGES) * 4096;
}

/* An entry value: mostly plausible (a pointer into the area with low flag bits), often
 * a pointer to its own page, past memory, at or above HAW, or plain noise. */
static uint64_t entry(uint64_t self_page)
{
	uint64_t low = rnd() & 0xfff;

	switch (rnd() % 10) {
	case 0:
		return rnd();
	case 1:
		return 0;
	case 2:
		return self_page | low | 1;
	case 3:
		return ((rnd() % (1ull << 40)) & ~0xfffull) | low | 1; /* mostly past memory */
	case 4:
		return (rnd() & ~0xfffull) | 3;
	case 5:
		return area_page() | low | (rnd() & (1ull << 63));
	default:
		return area_page() | (low & 0x1e7) | 0x7; /* P/R/W/U bits, few reserved ones */
	}
}

static void scribble(struct mem *m, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t page = area_page();
		uint64_t pa = page + (rnd() % 512) * 8;

		mem_write64(m, pa, entry(page));
	}
}

/* A random unit; retried until the configuration is valid. */
static void random_config(struct vtd_config *c)
{
	do {
		uint64_t b = rnd();

		vtd_config_default(c);
		c->scalable = b & 1;
		c->first_stage = b & 2;
		c->second_stage = b & 4;
		c->nested = b & 8;
		c->pass_through = b & 16;
		c->fs_5level = b & 32;
		c->fs_1g = b & 64;
		c->ss_2m = b & 128;
		c->ss_1g = b & 256;
		c->dev_tlb = b & 512;
		c->supervisor_requests = b & 1024;
		c->execute_requests = b & 2048;
		c->ss_ad = b & 4096;
		c->rid_pasid = b & 8192;
		c->rid_priv = b & 16384;
		c->fs_ea = b & 32768;
		c->nwfs = b & 65536;
		c->abort_dma = b & (1u << 17);
		c->snoop_control = b & (1u << 18);
		c->sm_pwc = b & (1u << 19);
		c->pasid_bits = (unsigned)(rnd() % 21);
		c->haw = 32 + (unsigned)(rnd() % 21);
		c->sagaw = (unsigned)(rnd() % 8) << 1;
		c->mgaw = 30 + (unsigned)(rnd() % 28);
		c->nfr = 1 + (unsigned)(rnd() % 8);
	} while (vtd_config_validate(c));
}

static uint64_t random_addr_small(void);
static uint64_t random_addr(void);

/* ---- plausible structures, so that walks get deep before they meet the garbage ---- */

struct target {
	uint64_t addr;
	uint32_t pasid;
	uint16_t rid;
};

#define TARGETS 8
static struct target targets[TARGETS];

static uint64_t rd64(struct mem *m, uint64_t pa)
{
	uint64_t v = 0;

	mem_read64(m, pa, &v);
	return v;
}

/* The table below `e` if it is present, else a fresh pointer written into `pa`. */
static uint64_t follow(struct mem *m, uint64_t pa, uint64_t flags)
{
	uint64_t e = rd64(m, pa);

	if (!(e & 3) || (e & ~0xfffull) - AREA >= AREA_PAGES * 4096ull ||
	    ((e & 0xfff) != flags && chance(70))) {
		e = area_page() | flags;
		mem_write64(m, pa, e);
	}
	return e & VTD_GENMASK(51, 12);
}

/* A page-table path for `addr` of `levels` levels below `root`, leaf at a random level. */
static void build_path(struct mem *m, uint64_t root, unsigned levels, uint64_t addr, bool fs)
{
	uint64_t table = root, tbl = fs ? 0x7 : 0x3 | (rnd() & 4);
	unsigned leaf = chance(80) ? 1 : 1 + (unsigned)(rnd() % 3);

	if (levels > 5) /* an invalid AW: the model refuses it before any walk */
		levels = 5;
	for (unsigned lvl = levels; lvl > leaf; lvl--)
		table = follow(m, table + VTD_PT_INDEX(addr, lvl) * 8, tbl | (rnd() & 0x120));
	uint64_t flags = (fs ? 0x7 : 0x3) & (chance(90) ? ~0ull : rnd());
	flags |= rnd() & (fs ? 0x160 : 0x304); /* A/D/G or X/A/D */
	if (leaf > 1)
		flags |= 1u << 7;
	mem_write64(m, table + VTD_PT_INDEX(addr, leaf) * 8,
		    ((rnd() % (1ull << 34)) & ~((1ull << VTD_PT_LEVEL_SHIFT(leaf)) - 1)) | flags);
}

static unsigned pick_pgtt(const struct vtd_config *c)
{
	for (int tries = 0; tries < 8 && chance(95); tries++) {
		unsigned p = 1 + (unsigned)(rnd() % 4);
		bool ok = (p == 1 && c->first_stage) || (p == 2 && c->second_stage) ||
			  (p == 3 && c->nested) || (p == 4 && c->pass_through);
		if (ok)
			return p;
	}
	return (unsigned)(rnd() % 8);
}

static unsigned pick_aw(const struct vtd_config *c)
{
	for (int tries = 0; tries < 8 && chance(95); tries++) {
		unsigned aw = 1 + (unsigned)(rnd() % 3);
		if (c->sagaw & (1u << aw))
			return aw;
	}
	return (unsigned)(rnd() % 8);
}

static void build_legacy(struct mem *m, const struct vtd_config *c, struct target *t)
{
	uint64_t ctx = follow(m, AREA + PCI_RID_BUS(t->rid) * 16, 1);
	uint64_t slpt = area_page();
	unsigned aw = pick_aw(c);

	mem_write64(m, ctx + PCI_RID_DEVFN(t->rid) * 16,
		    slpt | 1 | (chance(80) ? rnd() % 3 : rnd() % 4) << 2);
	mem_write64(m, ctx + PCI_RID_DEVFN(t->rid) * 16 + 8, aw | (rnd() & 0xffff) << 8);
	build_path(m, slpt, aw + 2, t->addr, false);
}

static void build_scalable(struct mem *m, const struct vtd_config *c, struct target *t)
{
	unsigned devfn = PCI_RID_DEVFN(t->rid);
	uint64_t ctx = follow(m, AREA + PCI_RID_BUS(t->rid) * 16 + (devfn >> 7) * 8, 1);
	uint64_t ce = ctx + (devfn & 0x7f) * 32, dir = area_page(), pt, pe;
	unsigned pgtt = pick_pgtt(c), aw = pick_aw(c);
	unsigned flpm = c->fs_5level && chance(30) ? 1 : (chance(5) ? rnd() % 4 : 0);
	uint64_t q0x = 0, q2x = 0;

	/* Mostly features the unit has, sometimes any bit. */
	if (chance(90)) {
		q0x = (chance(50) ? VTD_PE_Q0_SLEE : 0) |
		      (c->ss_ad && chance(50) ? VTD_PE_Q0_SLADE : 0);
		q2x = (rnd() & (VTD_PE_Q2_WPE | VTD_PE_Q2_NXE | VTD_PE_Q2_SMEP)) |
		      (c->supervisor_requests && chance(50) ? VTD_PE_Q2_SRE : 0) |
		      (c->execute_requests && chance(50) ? VTD_PE_Q2_ERE : 0) |
		      (c->fs_ea && chance(50) ? VTD_PE_Q2_EAFE : 0);
	} else {
		q0x = rnd() & 0xe20;
		q2x = rnd() & 0xff3;
	}
	uint64_t en = (c->dev_tlb || chance(5) ? 4 : 0) | (c->pasid_bits || chance(5) ? 8 : 0);

	mem_write64(m, ce, dir | 1 | en | (chance(80) ? 7ull : rnd() % 8) << 9);
	for (int q = 1; q < 4; q++)
		mem_write64(m, ce + 8 * q, chance(97) ? 0 : rnd());
	pt = follow(m, dir + (t->pasid >> 6) * 8, 1);
	pe = pt + (t->pasid & 63) * 64;
	mem_write64(m, pe, area_page() | 1 | pgtt << 6 | aw << 2 | q0x);
	mem_write64(m, pe + 8, rnd() & 0xffff);
	mem_write64(m, pe + 16, area_page() | flpm << 2 | q2x);
	for (int q = 3; q < 8; q++)
		mem_write64(m, pe + 8 * q, chance(95) ? 0 : rnd());
	build_path(m, rd64(m, pe + 16) & ~0xfffull, flpm ? 5 : 4, t->addr, true);
	build_path(m, rd64(m, pe) & ~0xfffull, aw + 2, t->addr, false);
}

static void build_targets(struct mem *m, const struct vtd_config *c, bool scalable)
{
	uint32_t plim = c->pasid_bits ? 1u << c->pasid_bits : 1;

	for (int i = 0; i < TARGETS; i++) {
		struct target *t = &targets[i];

		t->rid = (uint16_t)(rnd() % 0x400);
		t->pasid = (uint32_t)(chance(90) ? rnd() % plim : rnd() % (1u << 20));
		t->addr = chance(50) ? rnd() % (1ull << 39) : random_addr_small();
		if (scalable)
			build_scalable(m, c, t);
		else
			build_legacy(m, c, t);
	}
}

static bool architected(uint8_t fr)
{
	switch (fr) {
	case 0x01 ... 0x0e:
	case 0x30 ... 0x33:
	case 0x38 ... 0x3a:
	case 0x40 ... 0x48:
	case 0x50 ... 0x52:
	case 0x58 ... 0x5d:
	case 0x70 ... 0x7d:
	case 0x80 ... 0x89:
	case 0x90 ... 0x91:
		return true;
	default:
		return false;
	}
}

static uint64_t random_addr_small(void)
{
	return (rnd() % (1ull << 30)) & ~7ull;
}

static uint64_t random_addr(void)
{
	switch (rnd() % 6) {
	case 0:
		return rnd();
	case 1:
		return 0xfee00000ull + (rnd() % 0x100000);
	case 2:
		return (uint64_t)((int64_t)(rnd() << 16) >> 16); /* canonical 48-bit */
	case 3:
		return rnd() % (1ull << 32);
	default:
		return rnd() % MEM_SIZE;
	}
}

/* A unit without caches translates every request from memory: its fast path and its full
 * path (what check mode's reference walk runs, vtd_translate_ref) must agree. */
static bool differential;
static int disagreements;

static int check_one(struct vtd *vtd, bool scalable, int *ok, int *faults)
{
	struct pci_req req = {0};
	struct pci_resp resp;

	if (chance(75)) {
		const struct target *t = &targets[rnd() % TARGETS];

		req.addr = t->addr + (rnd() % 4096);
		req.rid = t->rid;
		req.pasid = t->pasid;
		req.at = (uint8_t)(chance(80) ? 0 : rnd() % 3);
		req.flags =
		    (uint8_t)((rnd() & 0x3e) | (scalable && chance(70) ? PCI_REQ_PASID : 0));
	} else {
		req.addr = random_addr();
		req.rid = (uint16_t)(chance(80) ? rnd() % 0x400 : rnd());
		req.at = (uint8_t)(rnd() % 3);
		req.flags = (uint8_t)(rnd() & 0x3f);
		req.pasid = (uint32_t)(chance(50) ? rnd() % 256 : rnd() % (1u << 20));
	}
	memset(&resp, 0xa5, sizeof(resp));
	CHECK_RET(vtd_translate(vtd, &req, &resp) == 0);
	CHECK_RET(resp.status == PCI_SC || resp.status == PCI_UR);
	if (differential) {
		struct pci_resp ref;

		memset(&ref, 0x5a, sizeof(ref));
		vtd_translate_ref(vtd, &req, &ref);
		if (ref.status != resp.status || ref.fault != resp.fault ||
		    (resp.status == PCI_SC &&
		     (ref.addr != resp.addr || ref.page_size != resp.page_size ||
		      ref.perm != resp.perm))) {
			if (disagreements++ < 5)
				printf(
				    "     %04x pasid %u at %u flags %#x addr %#llx: status %u/%u "
				    "fault %#x/%#x addr %#llx/%#llx perm %#x/%#x\n",
				    req.rid, req.pasid, req.at, req.flags,
				    (unsigned long long)req.addr, resp.status, ref.status,
				    resp.fault, ref.fault, (unsigned long long)resp.addr,
				    (unsigned long long)ref.addr, resp.perm, ref.perm);
		}
	}
	if (resp.status == PCI_UR) {
		/* A fault code, or 0 for the blocked-without-fault paths (TE off for ATS,
		 * abort-DMA mode). */
		CHECK_RET(resp.fault == 0 || architected(resp.fault));
		CHECK_RET(resp.fault || !(resp.flags & PCI_RESP_FAULT_RECORDED));
		(*faults)++;
		return 0;
	}
	CHECK_RET(resp.fault == 0 && resp.flags == 0);
	CHECK_RET(resp.page_size == 4096 || resp.page_size == (2u << 20) ||
		  resp.page_size == (1u << 30));
	if (resp.perm & (PCI_PERM_R | PCI_PERM_W)) {
		/* A translation keeps the offset within its page. */
		CHECK_RET((resp.addr ^ req.addr) % resp.page_size == 0);
		if (req.at == PCI_AT_UNTRANSLATED && !(resp.perm & PCI_PERM_U))
			CHECK_RET(resp.addr - 0xfee00000ull >= 0x100000ull ||
				  resp.addr == req.addr);
	}
	(*ok)++;
	return 0;
}

static void random_mmio(struct vtd *vtd)
{
	static const unsigned regs[] = {VTD_REG_GCMD,  VTD_REG_RTADDR, VTD_REG_FSTS,
					VTD_REG_FECTL, VTD_REG_CCMD,   VTD_REG_IQT,
					VTD_REG_IQA,   VTD_REG_ICS,    VTD_REG_IECTL};
	uint64_t size = vtd_mmio_size(vtd), v;
	unsigned off;

	if (chance(50)) {
		off = regs[rnd() % (sizeof(regs) / sizeof(regs[0]))];
	} else {
		off = (unsigned)(rnd() % size) & ~3u;
	}
	unsigned sz = (off & 7) || chance(50) ? 4 : 8;
	(void)vtd_mmio_write(vtd, off, sz, rnd());
	(void)vtd_mmio_read(vtd, (unsigned)(rnd() % size) & ~3u, 4, &v);
	/* Invalid accesses are refused. */
	if (vtd_mmio_write(vtd, size + (rnd() % 64), 4, 0) != -EINVAL ||
	    vtd_mmio_read(vtd, (rnd() % size) | 1, 4, &v) != -EINVAL)
		abort();
}

/* Point the unit at the area (usually) and turn translation on, as software would. */
static void program(struct vtd *vtd, bool scalable)
{
	uint64_t rta = chance(95) ? AREA : rnd() & ~0xfffull;
	uint64_t ttm = chance(95) ? scalable : rnd() % 4;

	vtd_mmio_write(vtd, VTD_REG_RTADDR, 8, rta | ttm << 10);
	vtd_mmio_write(vtd, VTD_REG_GCMD, 4, VTD_GCMD_SRTP);
	vtd_mmio_write(vtd, VTD_REG_GCMD, 4, chance(95) ? VTD_GCMD_TE : 0);
	vtd_mmio_write(vtd, VTD_REG_FECTL, 4, chance(50) ? VTD_FECTL_IM : 0);
}

/* The caches hold whatever the garbage gave; random scopes remove random parts of it. */
static void random_invalidation(struct vtd *vtd)
{
	struct vtd_iotlb_scope sc = {.by_did = chance(70),
				     .did = (uint16_t)rnd(),
				     .by_pasid = chance(50),
				     .pasid = (uint32_t)(rnd() % (1u << 20)),
				     .keep_global = chance(50),
				     .fs_only = chance(30),
				     .by_range = chance(50),
				     .range_ss_only = chance(50),
				     .base = rnd() & ~0xfffull};

	sc.last = sc.base + (rnd() % (1ull << 32));
	switch (rnd() % 3) {
	case 0:
		vtd_iotlb_inv(vtd, &sc);
		break;
	case 1:
		vtd_pc_inv(vtd, chance(50), (uint16_t)rnd(), chance(50), sc.pasid);
		break;
	default:
		vtd_ctxc_inv(vtd, chance(50), (uint16_t)rnd(), chance(50), (uint16_t)rnd(),
			     (unsigned)(rnd() % 4));
	}
}

static int fault_events;
static void on_fault(void *ctx, uint32_t data, uint64_t addr)
{
	(void)ctx;
	(void)data;
	(void)addr;
	fault_events++;
}

static void garbage(bool caches)
{
	struct mem *m = mem_create_sparse(MEM_SIZE);
	struct vtd_callbacks cb = {.fault_event = on_fault};
	struct vtd *vtd = NULL;
	struct vtd_config c;
	int ok = 0, faults = 0;
	bool scalable = false;

	CHECK(m);
	for (unsigned i = 0; i < CONFIGS; i++) {
		if (i % 500 == 0) {
			vtd_destroy(vtd);
			random_config(&c);
			if (!caches)
				c.context_cache.sets = c.pasid_cache.sets = c.iotlb.sets =
				    c.pscache.sets = 0;
			CHECK_EQ(vtd_create(&c, m, &cb, NULL, &vtd), 0);
			for (unsigned p = 0; p < AREA_PAGES; p++)
				mem_fill(m, AREA + p * 4096, 0, 4096);
			scribble(m, 500);
			scalable = c.scalable && chance(90);
			program(vtd, scalable);
		}
		if (i % 50 == 0)
			build_targets(m, &c, scalable);
		scribble(m, 2);
		if (chance(2))
			program(vtd, scalable);
		if (chance(10))
			random_mmio(vtd);
		if (chance(20))
			vtd_mmio_write(vtd, VTD_REG_FSTS, 4, rnd()); /* let faults be recorded */
		if (chance(5))
			random_invalidation(vtd);
		for (unsigned r = 0; r < REQS; r++)
			CHECK(check_one(vtd, scalable, &ok, &faults) == 0);
	}
	vtd_destroy(vtd);
	mem_destroy(m);
	printf("     %d successes, %d faults, %d fault events\n", ok, faults, fault_events);
	/* The generator must reach both outcomes in quantity, or it tests little. */
	CHECK(ok > CONFIGS / 20);
	CHECK(faults > CONFIGS / 2);
}

static void test_garbage(void)
{
	garbage(true);
}

/* Without caches, each answer compared with the full path's (see check_one()). */
static void test_garbage_uncached(void)
{
	differential = true;
	disagreements = 0;
	garbage(false);
	differential = false;
	CHECK_EQ(disagreements, 0);
}

int main(void)
{
	RUN(test_garbage);
	RUN(test_garbage_uncached);
	return CHECK_DONE();
}
