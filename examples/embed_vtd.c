// SPDX-License-Identifier: MIT
/*
 * Embedding only the VT-d hardware model in an emulator: the emulator owns guest memory
 * (its own callbacks), forwards the guest's MMIO accesses to the unit's register window,
 * asks the unit to translate its devices' DMA, and takes the unit's interrupts. Nothing
 * else of softiommu is used - no driver, no core, no DMA API: the "guest" below programs
 * the unit the way a guest kernel would, through registers and tables in its memory.
 *
 * What it shows, in order:
 *   1. guest RAM as the emulator's own memory, with a hole the model sees as an error;
 *   2. a guest driver sequence: read CAP/ECAP, build a scalable-mode root table, context
 *      entry, PASID directory and table (PASID 0 with second-stage tables, PASID 7
 *      pass-through), set the root pointer, enable queued invalidation, flush, enable
 *      translation - all through MMIO writes and stores into guest RAM;
 *   3. device DMA translated by the unit: with and without PASID, a write to a
 *      read-only page, an unmapped address - with the fault recorded in the unit's
 *      fault-recording registers, read back by the guest, and the fault interrupt;
 *   4. the IOTLB at work: a page unmapped without invalidation keeps translating (check
 *      mode reports it as stale) until the guest queues the IOTLB invalidation.
 * It checks each result and exits with 0 when everything happened as described.
 *
 * Build: part of the CMake build (example_embed_vtd); outside it,
 *   cc embed_vtd.c $(pkg-config --cflags --libs softiommu)
 */
#include <softiommu/mem.h>
#include <softiommu/pci.h>
#include <softiommu/vtd.h>
#include <softiommu/vtd_regs.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the emulator's guest memory ------------------------------------------------------------ */

#define RAM_SIZE   (64ull << 20)  /* guest RAM at [0, 64 MiB) */
#define SPACE_SIZE (128ull << 20) /* physical address space; above RAM nothing answers */

struct guest_ram {
	uint8_t *bytes;
	uint64_t reads, writes; /* accesses the model made through the callbacks */
};

/* The model only calls these for ranges inside [0, SPACE_SIZE); RAM is the first part. */
static int ram_read(void *ctx, uint64_t pa, void *buf, size_t len)
{
	struct guest_ram *ram = ctx;

	if (pa + len > RAM_SIZE)
		return -EIO; /* unassigned: the unit turns this into a fetch fault */
	memcpy(buf, ram->bytes + pa, len);
	ram->reads++;
	return 0;
}

static int ram_write(void *ctx, uint64_t pa, const void *buf, size_t len)
{
	struct guest_ram *ram = ctx;

	if (pa + len > RAM_SIZE)
		return -EIO;
	memcpy(ram->bytes + pa, buf, len);
	ram->writes++;
	return 0;
}

/* A direct pointer lets page walks skip the callbacks; RAM only. */
static void *ram_ptr(void *ctx, uint64_t pa, size_t len)
{
	struct guest_ram *ram = ctx;

	return pa + len <= RAM_SIZE ? ram->bytes + pa : NULL;
}

static const struct mem_ops ram_ops = {.read = ram_read, .write = ram_write, .ptr = ram_ptr};

/* The guest's own stores into its RAM (the CPU side: no unit involved). */
static struct guest_ram ram;

static void poke64(uint64_t pa, uint64_t v)
{
	memcpy(ram.bytes + pa, &v, 8);
}

static uint64_t peek64(uint64_t pa)
{
	uint64_t v;

	memcpy(&v, ram.bytes + pa, 8);
	return v;
}

/* ---- the emulator's bus: MMIO to the unit's window ------------------------------------------- */

#define DMAR_BASE 0xfed90000ull /* where the guest finds the unit (its DMAR table says so) */

static struct vtd *unit;
static int failures;

static uint64_t mmio_read(uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	if (vtd_mmio_read(unit, addr - DMAR_BASE, size, &v))
		v = ~0ull; /* a bad access reads all ones, as on a real bus */
	return v;
}

static void mmio_write(uint64_t addr, unsigned size, uint64_t v)
{
	vtd_mmio_write(unit, addr - DMAR_BASE, size, v);
}

/* Interrupts from the unit: the emulator's interrupt controller would raise the vector. */
static unsigned fault_irqs;

static void fault_event(void *ctx, uint32_t data, uint64_t addr)
{
	(void)ctx;
	fault_irqs++;
	printf("  [irq] fault event: MSI data %#x to %#" PRIx64 "\n", data, addr);
}

static unsigned stale_reports;

static void stale(void *ctx, const struct vtd_stale *s)
{
	(void)ctx;
	stale_reports++;
	printf("  [check] stale translation at %#" PRIx64 ": missing %s\n", s->addr, s->missing);
}

static void expect(int ok, const char *what)
{
	printf("  %s %s\n", ok ? "ok  " : "FAIL", what);
	failures += !ok;
}

/* ---- the guest's driver -----------------------------------------------------------------------
 */

/* Guest-physical layout of its structures and data. */
#define ROOT	 0x100000ull
#define CONTEXT	 0x101000ull
#define PDIR	 0x102000ull
#define PTABLE	 0x103000ull
#define SL4	 0x104000ull /* second-stage tables, 4 levels */
#define SL3	 0x105000ull
#define SL2	 0x106000ull
#define SL1	 0x107000ull
#define QUEUE	 0x108000ull /* invalidation queue: one 4 KiB page of 32-byte descriptors */
#define STATUS	 0x109000ull /* invalidation-wait status word */
#define BUF	 0x200000ull /* a DMA buffer */
#define BUF_RO	 0x201000ull /* a buffer the device may only read */
#define DEV_RID	 PCI_RID(0, 3, 0)
#define DID	 5
#define IOVA	 0x40000000ull
#define IOVA_RO	 (IOVA + 0x1000)
#define PT_PASID 7

static uint64_t tail; /* the guest's queue tail, in bytes */

static void gcmd(uint32_t bit, uint32_t status_bit, bool set)
{
	uint32_t gsts = (uint32_t)mmio_read(DMAR_BASE + VTD_REG_GSTS, 4);
	uint32_t cmd = (gsts & VTD_GSTS_PERSISTENT_MASK) | bit;

	if (!set)
		cmd &= ~bit;
	mmio_write(DMAR_BASE + VTD_REG_GCMD, 4, cmd);
	/* The model completes a command inside the write; a guest polls anyway. */
	for (int i = 0; i < 1000; i++)
		if (!!(mmio_read(DMAR_BASE + VTD_REG_GSTS, 4) & status_bit) == set)
			return;
	expect(0, "GSTS follows GCMD");
}

/* Queue descriptors and an invalidation wait; return once the wait's status is written. */
static void submit(const uint64_t (*desc)[4], unsigned n)
{
	static uint32_t seq;
	uint64_t wait[4] = {VTD_INV_WAIT | VTD_INV_WAIT_SW | VTD_SET(VTD_INV_WAIT_STDATA, ++seq),
			    STATUS, 0, 0};

	for (unsigned i = 0; i <= n; i++) {
		const uint64_t *d = i < n ? desc[i] : wait;

		for (unsigned q = 0; q < 4; q++)
			poke64(QUEUE + tail + 8 * q, d[q]);
		tail = (tail + 32) % 4096;
	}
	mmio_write(DMAR_BASE + VTD_REG_IQT, 8, tail);
	expect((uint32_t)peek64(STATUS) == seq, "invalidation wait completed");
}

static void guest_setup(void)
{
	uint64_t cap = mmio_read(DMAR_BASE + VTD_REG_CAP, 8);
	uint64_t ecap = mmio_read(DMAR_BASE + VTD_REG_ECAP, 8);
	uint64_t flush[3][4] = {
	    {VTD_INV_CC | VTD_SET(VTD_INV_CC_G, VTD_CCMD_GRAN_GLOBAL)},
	    {VTD_INV_PC | VTD_SET(VTD_INV_PC_G, VTD_INV_PC_G_GLOBAL)},
	    {VTD_INV_IOTLB | VTD_SET(VTD_INV_IOTLB_G, VTD_IOTLB_GRAN_GLOBAL)},
	};

	printf("guest: VER %#x, CAP %#" PRIx64 ", ECAP %#" PRIx64 "\n",
	       (unsigned)mmio_read(DMAR_BASE + VTD_REG_VER, 4), cap, ecap);
	expect((ecap & VTD_ECAP_SMTS) && (ecap & VTD_ECAP_SLTS) && (ecap & VTD_ECAP_QI),
	       "scalable mode, second-stage tables and queued invalidation offered");
	expect(cap & VTD_BIT(VTD_CAP_SAGAW_SHIFT + VTD_AW_48BIT), "4-level tables supported");

	/* Root entry for bus 0 -> context table (lower half: devfn 0-127), 2.2. */
	poke64(ROOT, CONTEXT | VTD_SRE_Q0_LP);
	/* Context entry for 00:03.0: PASIDs enabled, a 128-entry PASID directory, 2.4. */
	poke64(CONTEXT + PCI_RID_DEVFN(DEV_RID) * VTD_SM_CTX_ENTRY_SIZE,
	       PDIR | VTD_SCE_Q0_P | VTD_SCE_Q0_PASIDE | VTD_SET(VTD_SCE_Q0_PDTS, 0));
	/* PASID directory entry 0 covers PASIDs 0-63, 3.1. */
	poke64(PDIR, PTABLE | VTD_PDE_P);
	/* PASID 0 (requests without PASID): second-stage, 4 levels, domain 5, 3.2. */
	poke64(PTABLE, SL4 | VTD_PE_Q0_P | VTD_SET(VTD_PE_Q0_AW, VTD_AW_48BIT) |
			   VTD_SET(VTD_PE_Q0_PGTT, VTD_PGTT_SS));
	poke64(PTABLE + 8, VTD_SET(VTD_PE_Q1_DID, DID));
	/* PASID 7: pass-through (the identity), domain 1. */
	poke64(PTABLE + PT_PASID * VTD_PASID_ENTRY_SIZE, VTD_PE_Q0_P |
							     VTD_SET(VTD_PE_Q0_AW, VTD_AW_48BIT) |
							     VTD_SET(VTD_PE_Q0_PGTT, VTD_PGTT_PT));
	poke64(PTABLE + PT_PASID * VTD_PASID_ENTRY_SIZE + 8, VTD_SET(VTD_PE_Q1_DID, 1));
	/* Second-stage tables: IOVA -> BUF read/write, IOVA_RO -> BUF_RO read-only, 4.2. */
	poke64(SL4 + 8 * VTD_PT_INDEX(IOVA, 4), SL3 | VTD_SL_R | VTD_SL_W);
	poke64(SL3 + 8 * VTD_PT_INDEX(IOVA, 3), SL2 | VTD_SL_R | VTD_SL_W);
	poke64(SL2 + 8 * VTD_PT_INDEX(IOVA, 2), SL1 | VTD_SL_R | VTD_SL_W);
	poke64(SL1 + 8 * VTD_PT_INDEX(IOVA, 1), BUF | VTD_SL_R | VTD_SL_W);
	poke64(SL1 + 8 * VTD_PT_INDEX(IOVA_RO, 1), BUF_RO | VTD_SL_R);

	/* Root pointer, scalable mode (1.5), then the queue (1.7), a global flush, TE. */
	mmio_write(DMAR_BASE + VTD_REG_RTADDR, 8, ROOT | VTD_SET(VTD_RTADDR_TTM, VTD_TTM_SCALABLE));
	gcmd(VTD_GCMD_SRTP, VTD_GSTS_RTPS, true);
	mmio_write(DMAR_BASE + VTD_REG_IQA, 8, QUEUE | VTD_IQA_DW | VTD_SET(VTD_IQA_QS, 0));
	gcmd(VTD_GCMD_QIE, VTD_GSTS_QIES, true);
	submit(flush, 3);
	mmio_write(DMAR_BASE + VTD_REG_FECTL, 4, 0); /* unmask the fault event */
	mmio_write(DMAR_BASE + VTD_REG_FEDATA, 4, 0x41);
	mmio_write(DMAR_BASE + VTD_REG_FEADDR, 4, 0xfee00000);
	gcmd(VTD_GCMD_TE, VTD_GSTS_TES, true);
	printf("guest: translation enabled\n");
}

/* ---- the emulator's device model: its DMA goes through the unit ---------------------------------
 */

static struct pci_resp device_dma(uint64_t addr, bool write, bool has_pasid, uint32_t pasid)
{
	struct pci_req req = {
	    .addr = addr,
	    .pasid = pasid,
	    .rid = DEV_RID,
	    .at = PCI_AT_UNTRANSLATED,
	    .flags =
		(uint8_t)((write ? PCI_REQ_WRITE : PCI_REQ_READ) | (has_pasid ? PCI_REQ_PASID : 0)),
	};
	struct pci_resp resp;

	vtd_translate(unit, &req, &resp);
	if (resp.status == PCI_SC)
		printf("device: %s %#" PRIx64 "%s -> guest physical %#" PRIx64 "\n",
		       write ? "write" : "read ", addr, has_pasid ? " (PASID 7)" : "", resp.addr);
	else
		printf("device: %s %#" PRIx64 " refused, fault reason %#x\n",
		       write ? "write" : "read ", addr, resp.fault);
	return resp;
}

/* The guest's fault handler: read the pending record (4.4), clear it (RW1C). */
static void guest_fault_handler(void)
{
	uint64_t cap = mmio_read(DMAR_BASE + VTD_REG_CAP, 8);
	uint32_t fsts = (uint32_t)mmio_read(DMAR_BASE + VTD_REG_FSTS, 4);
	uint64_t frcd = DMAR_BASE + VTD_GET(cap, VTD_CAP_FRO) * 16 +
			VTD_GET(fsts, VTD_FSTS_FRI) * VTD_FRCD_SIZE;
	uint64_t lo = mmio_read(frcd, 8), hi = mmio_read(frcd + 8, 8);

	expect(fsts & VTD_FSTS_PPF, "a fault is pending (FSTS.PPF)");
	printf("guest: fault record: source %#llx, reason %#llx, address %#llx, %s\n",
	       (unsigned long long)VTD_GET(hi, VTD_FRCD_Q1_SID),
	       (unsigned long long)VTD_GET(hi, VTD_FRCD_Q1_FR),
	       (unsigned long long)(lo & VTD_FRCD_Q0_FI_MASK),
	       hi & VTD_FRCD_Q1_T1 ? "read" : "write");
	expect(VTD_GET(hi, VTD_FRCD_Q1_SID) == DEV_RID, "the record names the device");
	mmio_write(frcd + 8, 8, VTD_FRCD_Q1_F); /* clear F: the record is free again */
	expect(!(mmio_read(DMAR_BASE + VTD_REG_FSTS, 4) & VTD_FSTS_PPF), "PPF clears with it");
}

int main(void)
{
	struct vtd_callbacks cb = {.fault_event = fault_event, .stale = stale};
	struct vtd_config cfg;
	struct pci_resp r;
	struct mem *mem;
	uint64_t inv_page[1][4];

	ram.bytes = calloc(1, RAM_SIZE);
	mem = ram.bytes ? mem_create(&ram_ops, &ram, SPACE_SIZE) : NULL;
	vtd_config_default(&cfg);
	if (!mem || vtd_create(&cfg, mem, &cb, NULL, &unit)) {
		fprintf(stderr, "cannot create the unit\n");
		return 1;
	}
	vtd_set_check(unit, true);
	printf("emulator: VT-d unit at %#llx (%llu bytes of registers) over %llu MiB of guest "
	       "RAM\n",
	       (unsigned long long)DMAR_BASE, (unsigned long long)vtd_mmio_size(unit),
	       (unsigned long long)(RAM_SIZE >> 20));

	guest_setup();

	r = device_dma(IOVA + 0x10, true, false, 0);
	expect(r.status == PCI_SC && r.addr == BUF + 0x10 && r.page_size == 4096,
	       "IOVA translates to the buffer, 4 KiB page");
	r = device_dma(IOVA_RO, false, false, 0);
	expect(r.status == PCI_SC && r.addr == BUF_RO, "the read-only page reads");
	r = device_dma(BUF, true, true, PT_PASID);
	expect(r.status == PCI_SC && r.addr == BUF, "PASID 7 passes through");

	r = device_dma(IOVA_RO, true, false, 0);
	expect(r.status == PCI_UR && r.fault, "a write to the read-only page faults");
	expect(fault_irqs == 1, "the fault event interrupt was raised");
	guest_fault_handler();
	r = device_dma(IOVA + 0x200000, false, true, 9);
	expect(r.status == PCI_UR, "a PASID without an entry faults");

	/* Unmap IOVA: clear the leaf. The IOTLB still holds it - the guest must invalidate. */
	poke64(SL1 + 8 * VTD_PT_INDEX(IOVA, 1), 0);
	r = device_dma(IOVA, true, false, 0);
	expect(r.status == PCI_SC && stale_reports == 1,
	       "before the invalidation the IOTLB still translates (check mode reports it)");
	inv_page[0][0] = VTD_INV_IOTLB | VTD_SET(VTD_INV_IOTLB_G, VTD_IOTLB_GRAN_PAGE) |
			 VTD_SET(VTD_INV_IOTLB_DID, DID) | VTD_INV_IOTLB_DR | VTD_INV_IOTLB_DW;
	inv_page[0][1] = IOVA; /* AM 0: one page */
	inv_page[0][2] = inv_page[0][3] = 0;
	submit(inv_page, 1);
	r = device_dma(IOVA, true, false, 0);
	expect(r.status == PCI_UR, "after it the unmapped IOVA faults");
	guest_fault_handler();

	printf("emulator: the model made %" PRIu64 " reads and %" PRIu64
	       " writes through the memory callbacks\n",
	       ram.reads, ram.writes);
	expect(ram.writes > 0, "status writes went through the emulator's callbacks");
	vtd_destroy(unit);
	mem_destroy(mem);
	free(ram.bytes);
	printf("%s\n", failures ? "FAILED" : "all as expected");
	return failures ? 1 : 0;
}
