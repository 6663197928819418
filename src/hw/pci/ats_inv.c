// SPDX-License-Identifier: MIT
/*
 * ATS invalidation at the endpoint (PCIe Base spec, ATS "Invalidate Request" and
 * "Invalidate Completion"; the VT-d side is dev_tlb_inv_dsc / p_dev_tlb_inv_dsc, digest
 * sections 5.4 and 5.9, decoded with pci_ats_decode_range()).
 *
 * The completion is the return of invalidate(): the removal happens under the endpoint's
 * write lock, which waits for every page access that holds the read lock with an entry
 * about to go, so nothing uses a removed translation after the completion. A hung or
 * removed function never answers: the IOMMU sees -ETIMEDOUT at once (its ITE).
 */
#include "hw/pci/endpoint.h"

/* A naturally aligned power of two of at least 4 KiB, or size 0 (everything). */
static bool range_ok(uint64_t addr, uint64_t size)
{
	if (size == 0)
		return true;
	return size >= 4096 && !(size & (size - 1)) && !(addr & (size - 1));
}

/*
 * Which entries the request names. The Global Invalidate bit is honoured only when the
 * capability says it is supported (otherwise the function ignores it and the request acts on
 * its PASID). A PASID-selective request leaves Global mappings alone: they belong to no one
 * PASID, and software removes them with a global request.
 */
static struct atc_sel inv_sel(const struct pci_endpoint *ep, const struct pci_ats_inv *inv)
{
	struct atc_sel sel = {.kind = ATC_SEL_NOPASID};

	if (inv->global && (ep->cfg.ats_global_inv || !inv->has_pasid)) {
		/* Without a PASID to fall back on, a global request is taken for what it
		 * says rather than dropped. */
		sel.kind = ATC_SEL_ALL_PASID;
	} else if (inv->has_pasid) {
		sel.kind = ATC_SEL_PASID;
		sel.key.pasid = inv->pasid;
	}
	return sel;
}

static int ep_invalidate(void *ctx, const struct pci_ats_inv *inv)
{
	struct pci_endpoint *ep = ctx;
	struct atc_sel sel;
	uint64_t n;

	if (!ep || !inv || inv->rid != ep->cfg.rid || !range_ok(inv->addr, inv->size))
		return -EINVAL;
	if (__atomic_load_n(&ep->state, __ATOMIC_RELAXED) != PCI_EP_ACTIVE) {
		EP_STAT_INC(ep, inv_timeouts);
		return -ETIMEDOUT;
	}
	sel = inv_sel(ep, inv);
	ep_write_lock(ep);
	n = ep_atc_remove(ep, &sel, inv->addr, inv->size);
	ep_write_unlock(ep);
	EP_STAT_INC(ep, invalidations);
	EP_STAT_ADD(ep, inv_entries, n);
	return 0;
}

struct pci_ats_port pci_endpoint_ats_port(struct pci_endpoint *ep)
{
	struct pci_ats_port port = {0};

	if (ep) {
		port.invalidate = ep_invalidate;
		port.ctx = ep;
	}
	return port;
}
