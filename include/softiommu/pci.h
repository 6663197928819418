/* SPDX-License-Identifier: MIT */
/*
 * softiommu PCI side: the request interface between endpoints and an IOMMU, and
 * (issue "caches, queued invalidation, ATS") endpoints with PASID and ATS capabilities.
 *
 * The request interface is what crosses the PCIe link, in PCIe terms: a memory request
 * carries a requester ID, an optional PASID prefix (with privileged-mode and execute
 * bits), and the AT field (untranslated, translation request, translated). The IOMMU
 * ("translation agent") answers with a completion. Nothing here is VT-d specific; the
 * VT-d model implements a `struct pci_translation_agent`, and an endpoint calls it.
 *
 * ATS invalidations travel the other way: the IOMMU forwards device-TLB invalidation
 * descriptors to the endpoint that owns the requester ID through a `struct pci_ats_port`.
 */
#ifndef SOFTIOMMU_PCI_H
#define SOFTIOMMU_PCI_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Requester ID: bus[15:8] dev[7:3] fn[2:0]. */
#define PCI_RID(bus, dev, fn) ((uint16_t)(((bus) << 8) | ((dev) << 3) | (fn)))
#define PCI_RID_BUS(rid)      ((unsigned)((rid) >> 8))
#define PCI_RID_DEVFN(rid)    ((unsigned)((rid)&0xff))

/* PCIe address type (AT field). */
enum pci_at {
	PCI_AT_UNTRANSLATED = 0, /* ordinary DMA: the IOMMU translates it */
	PCI_AT_TRANSLATION = 1,	 /* ATS translation request: answer with a translation */
	PCI_AT_TRANSLATED = 2,	 /* the address came from the device's ATC */
};

/* struct pci_req.flags */
#define PCI_REQ_PASID (1u << 0) /* a PASID TLP prefix is present; `pasid` is valid */
#define PCI_REQ_READ  (1u << 1)
#define PCI_REQ_WRITE (1u << 2)
#define PCI_REQ_PRIV  (1u << 3) /* privileged-mode requested (PASID prefix PMR bit) */
#define PCI_REQ_EXEC  (1u << 4) /* execute requested (PASID prefix ER bit) */
#define PCI_REQ_NW    (1u << 5) /* translation request: no-write (read-only access wanted) */

/*
 * One memory request. For a translation request (AT=1) the read/write flags say which
 * access the device intends (a translation request with neither is a read-intent request).
 */
struct pci_req {
	uint64_t addr;
	uint32_t pasid; /* 20 bits; valid with PCI_REQ_PASID */
	uint16_t rid;
	uint8_t at;    /* enum pci_at */
	uint8_t flags; /* PCI_REQ_* */
};

/* Completion status, as PCIe has them. */
enum pci_status {
	PCI_SC = 0, /* successful completion */
	PCI_UR = 1, /* unsupported request: DMA blocked / translation refused */
	PCI_CA = 2, /* completer abort */
};

/* struct pci_resp.perm: what the translation allows (an ATS completion's R/W/X/Priv/U/G) */
#define PCI_PERM_R	(1u << 0)
#define PCI_PERM_W	(1u << 1)
#define PCI_PERM_X	(1u << 2)
#define PCI_PERM_PRIV	(1u << 3) /* the translation is for privileged-mode accesses */
#define PCI_PERM_U	(1u << 4) /* ATS "untranslated access only" */
#define PCI_PERM_GLOBAL (1u << 5) /* the translation is the same for every PASID */

/* struct pci_resp.flags */
#define PCI_RESP_FAULT_RECORDED (1u << 0) /* the IOMMU logged the fault (not FPD-suppressed) */

/*
 * The completion. On success `addr` is the output address of req.addr itself and
 * `page_size` the size of the (naturally aligned) translation that contains it; the base
 * of that translation is addr & ~(page_size - 1). An ATS translation request that finds no
 * usable mapping still completes successfully with perm R=W=0, as ATS requires.
 * `fault` is the IOMMU's architected fault reason code (0 when none), whether or not it
 * was recorded.
 */
struct pci_resp {
	uint64_t addr;
	uint64_t page_size;
	uint8_t status; /* enum pci_status */
	uint8_t perm;	/* PCI_PERM_* */
	uint8_t fault;	/* architected reason code, 0 = none */
	uint8_t flags;	/* PCI_RESP_* */
};

/*
 * The upstream side of a link: an IOMMU or anything else that translates. `translate`
 * must be callable concurrently from many device threads. It returns 0 when a completion
 * was produced (check resp->status), or a negative errno for a broken call (NULL pointers).
 */
struct pci_translation_agent {
	int (*translate)(void *ctx, const struct pci_req *req, struct pci_resp *resp);
	void *ctx;
};

/*
 * One ATS invalidation request, as it arrives at an endpoint: invalidate the device-TLB
 * entries of `rid` that overlap [addr, addr + size) - for `pasid` only (with `has_pasid`),
 * for every PASID (`global`), or for requests without PASID. `size` is a power of two,
 * at least 4 KiB, and `addr` is aligned to it (the PCIe S-bit encoding, decoded).
 */
struct pci_ats_inv {
	uint64_t addr;
	uint64_t size;
	uint32_t pasid;
	uint16_t rid;
	bool has_pasid;
	bool global;
};

/*
 * The downstream side: how an IOMMU reaches an endpoint's device TLB. `invalidate`
 * returns 0 once the endpoint has completed the invalidation, or -ETIMEDOUT if it never
 * answers (a removed or hung device); it must not block for long either way.
 */
struct pci_ats_port {
	int (*invalidate)(void *ctx, const struct pci_ats_inv *inv);
	void *ctx;
};

/* Helpers for the S-bit size encoding (PCIe ATS, VT-d dev_tlb descriptors). */

/* Decode ADDR[63:12] with the S bit into a naturally aligned range. size 0 = everything. */
static inline void pci_ats_decode_range(uint64_t addr, bool s, uint64_t *base, uint64_t *size)
{
	uint64_t a = addr & ~0xfffull;

	if (!s) {
		*base = a;
		*size = 4096;
		return;
	}
	/* The lowest 0 bit of ADDR[63:12] gives the size: bit 12 clear = 8 KiB, bits 12 set
	 * and 13 clear = 16 KiB, ...; ADDR[62:12] all ones means the whole address space. */
	unsigned k = (unsigned)__builtin_ctzll(~(a >> 12)); /* trailing ones, at most 52 */
	if (k + 13 >= 64) {
		*base = 0;
		*size = 0;
		return;
	}
	*size = 1ull << (k + 13);
	*base = a & ~(*size - 1);
}

#ifdef __cplusplus
}
#endif
#endif
