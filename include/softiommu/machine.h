/* SPDX-License-Identifier: MIT */
/*
 * softiommu machine: a whole simulated platform in one call - the board file.
 *
 * Tests, the DMA layer, device models and the tool all need the same wiring: physical
 * memory, a page allocator for the tables software places in it, a VT-d unit on that
 * memory, the IOMMU core, the VT-d driver running the unit through its MMIO registers, and
 * PCI endpoints whose DMA goes through the unit (with their device TLBs connected for the
 * invalidations it forwards) and which are probed onto the core. This layer knows every
 * other one; nothing below it knows about it.
 *
 * Errors are negative errno values.
 *
 * Locking: creating and destroying a machine and adding and removing devices must not run
 * concurrently with anything else on that machine. The objects it hands out follow their
 * own headers' rules (DMA on endpoints, the core's attach API, the driver).
 */
#ifndef SOFTIOMMU_MACHINE_H
#define SOFTIOMMU_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include <softiommu/intel_iommu.h>
#include <softiommu/iommu.h>
#include <softiommu/mem.h>
#include <softiommu/pci.h>
#include <softiommu/vtd.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * What to build. Start from machine_config_default() and change what you need.
 * Memory layout: [alloc_base, alloc_base + alloc_size) belongs to the page allocator
 * (tables, queues, and whatever buffers callers allocate there); the rest of memory is
 * free for callers who want fixed addresses (mind the interrupt range 0xfee00000-0xfeefffff,
 * which DMA never reaches).
 */
struct machine_config {
	uint64_t mem_size;   /* sparse physical memory */
	uint64_t alloc_base; /* page-allocator region (page aligned, inside memory) */
	uint64_t alloc_size;
	struct vtd_config vtd;		  /* the unit (vtd_config_default()) */
	struct vtd_callbacks vtd_cb;	  /* its interrupt and trace callbacks (may be zero) */
	void *vtd_cb_ctx;		  /* their context */
	struct iommu_config iommu;	  /* default-domain policy */
	struct intel_iommu_config driver; /* mmio and alloc are filled in by the machine */
};

/*
 * machine_config_default() - 8 GiB of sparse memory, the allocator on [4 GiB, 6 GiB), the
 * VT-d model's default unit (scalable mode, both stages, PASID, ATS), translated strict
 * default domains, the driver's defaults.
 */
void machine_config_default(struct machine_config *cfg);

struct machine_dev;

/* The platform. Read the fields; do not write them. */
struct machine {
	struct mem *mem;
	struct mem_alloc *alloc;
	struct vtd *vtd;
	struct iommu_core *core;
	struct intel_iommu *iommu;
	struct machine_dev *devs; /* every device added and not removed */
};

/*
 * machine_create() - build memory, allocator, unit, core and driver, in that order.
 * -EINVAL NULL arguments or a layout that does not fit memory; the layers' own errors
 * (vtd_create -EINVAL for a bad vtd config, intel_iommu_create's). Nothing is left
 * allocated on error.
 */
int machine_create(const struct machine_config *cfg, struct machine **out);

/*
 * machine_destroy() - remove every device, then the driver, core, unit, allocator and
 * memory. -EBUSY (nothing is destroyed beyond the devices already removed) when a device
 * cannot be released (a PASID or a non-default domain is still attached), or the driver
 * still holds a domain ID (a domain the caller allocated is still attached). NULL is 0.
 */
int machine_destroy(struct machine *m);

/* One PCIe function to add. Zero fields give a plain function (no PASID, no ATS). */
struct machine_dev_config {
	uint16_t rid;
	uint8_t pasid_width;	     /* PASID capability (enabled), 0 = none */
	bool pasid_priv;	     /* Privileged Mode Supported and enabled */
	bool pasid_exec;	     /* Execute Permission Supported and enabled */
	bool ats;		     /* ATS capability; enabled when the unit has device TLBs */
	uint8_t ats_inv_queue_depth; /* 0..31 */
	uint32_t atc_sets;	     /* device-TLB geometry; 0 = 64 sets */
	uint32_t atc_ways;	     /* 0 = 4 ways */
	int def_domain_type;	     /* iommu_dev_info.def_domain_type */
};

struct machine_dev {
	struct machine *m;
	struct pci_endpoint *ep; /* the function: DMA with pci_endpoint_dma_read/write */
	struct iommu_dev *dev;	 /* the core's device: attach domains and PASIDs here */
	uint16_t rid;
	struct machine_dev *next;
};

/*
 * machine_add_device() - create the endpoint with the unit as its translation agent,
 * connect its device TLB to the unit (with ATS), and probe it onto the core, which attaches
 * its default domain. ATS is enabled on the function only if the unit has device TLBs and
 * the RID will use them (not for a legacy-mode pass-through RID, whose TT 10 refuses ATS,
 * as Linux leaves ATS off there).
 * -EINVAL NULL arguments; the endpoint's, vtd_connect_ats's (-EBUSY: the RID is taken)
 * and iommu_probe_device's errors (-EEXIST). Nothing is left on error.
 */
int machine_add_device(struct machine *m, const struct machine_dev_config *dc,
		       struct machine_dev **out);

/*
 * machine_remove_device() - release the device from the core, disconnect and destroy the
 * endpoint. -EBUSY (nothing changes) while a PASID or a non-default domain is attached.
 * NULL is 0.
 */
int machine_remove_device(struct machine_dev *d);

#ifdef __cplusplus
}
#endif
#endif
