// SPDX-License-Identifier: MIT
/*
 * Check mode for the device TLB: every request served from the ATC is compared with a
 * fresh translation from a reference translator (the IOMMU's uncached path). A difference
 * means the IOMMU's mappings changed without the ATS invalidation that had to follow: the
 * function is using a stale translation. It is reported, never corrected - silicon would
 * keep using the entry too.
 */
#include "hw/pci/endpoint.h"

/* The reference agrees when it grants the same page with at least the permission used. */
static bool ref_agrees(const struct ep_hit *hit, int err, const struct pci_resp *ref)
{
	if (err || ref->status != PCI_SC || (ref->perm & PCI_PERM_U))
		return false;
	if ((ref->perm & hit->need) != hit->need)
		return false;
	return (ref->addr & ~0xfffull) == (hit->pa & ~0xfffull);
}

void ep_check_hit(struct pci_endpoint *ep, const struct pci_translation_agent *ref,
		  pci_atc_check_fn fn, void *ctx, const struct ep_hit *hit)
{
	struct pci_req req = {
	    .addr = hit->addr & ~0xfffull,
	    .pasid = hit->key.pasid,
	    .rid = ep->cfg.rid,
	    .at = PCI_AT_TRANSLATION,
	    .flags = hit->req_flags,
	};
	struct pci_atc_mismatch m = {0};

	m.ref_err = ref->translate(ref->ctx, &req, &m.ref);
	if (ref_agrees(hit, m.ref_err, &m.ref))
		return;
	m.rid = ep->cfg.rid;
	m.has_pasid = hit->key.tag & ATC_T_PASID;
	m.pasid = hit->key.pasid;
	m.addr = hit->addr & ~0xfffull;
	m.write = hit->need & PCI_PERM_W;
	m.atc = hit->atc;
	m.atc_pa = hit->pa & ~0xfffull;
	EP_STAT_INC(ep, check_mismatches);
	fn(ctx, &m);
}

int pci_endpoint_set_checker(struct pci_endpoint *ep, const struct pci_translation_agent *ref,
			     pci_atc_check_fn fn, void *ctx)
{
	if (!ep || (ref && (!ref->translate || !fn)))
		return -EINVAL;
	ep_write_lock(ep);
	if (ref) {
		ep->ref = *ref;
		ep->check_fn = fn;
		ep->check_ctx = ctx;
	} else {
		ep->ref = (struct pci_translation_agent){0};
		ep->check_fn = NULL;
		ep->check_ctx = NULL;
	}
	ep_set_flag(ep, EP_CTL_CHECKING, ep->check_fn != NULL);
	ep_write_unlock(ep);
	return 0;
}
