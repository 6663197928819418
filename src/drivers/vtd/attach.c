// SPDX-License-Identifier: MIT
/*
 * Attaching domains (design.md section 3): attach_dev and set_dev_pasid of paging domains,
 * the static identity domain and the static blocked domain.
 *
 * In scalable mode the RID is PASID 0 (RID_PASID, rule 1): attach_dev programs the PASID-0
 * entry exactly as set_dev_pasid programs any other. In legacy mode the RID is the context
 * entry and there are no PASIDs (-EOPNOTSUPP).
 *
 * Every attach has three steps, in this order:
 *  1. everything that can fail - the unit can walk the domain's table, a domain ID on the
 *     unit, the cache tags, the PASID table the entry lives in - so that on failure the old
 *     configuration is untouched (rule 5);
 *  2. tear down the present entry, if any, and write the new one (rule 6: never rewrite a
 *     present entry);
 *  3. forget the old domain here: its tags for (device, PASID) and its domain ID reference.
 * The core serialises attach calls per device, so the entry cannot change in between.
 */
#include "intel.h"

/* Step 1 for a paging domain: compatible, domain ID, tags. On error nothing is held. */
static int paging_prepare(struct intel_domain *dom, struct intel_dev *idev, uint32_t pasid,
			  uint16_t *did)
{
	struct intel_iommu *unit = idev->unit;
	int ret = intel_domain_compatible(dom, unit);

	if (ret)
		return ret;
	ret = intel_domain_attach_unit(dom, unit, did);
	if (ret)
		return ret;
	ret = intel_cache_tag_assign(dom, idev, *did, pasid);
	if (ret)
		intel_domain_detach_unit(dom, unit);
	return ret;
}

static void paging_unprepare(struct intel_domain *dom, struct intel_dev *idev, uint32_t pasid,
			     uint16_t did)
{
	intel_cache_tag_unassign(dom, idev, did, pasid);
	intel_domain_detach_unit(dom, idev->unit);
}

/* Step 3: `old` no longer sits on (device, pasid). Identity and blocked keep no records. */
static void forget_old(struct iommu_domain *old, struct intel_dev *idev, uint32_t pasid)
{
	struct intel_domain *odom;
	int did;

	if (!intel_is_paging(old))
		return;
	odom = to_intel_domain(old);
	did = intel_iommu_domain_did(idev->unit, old);
	if (did < 0)
		return;
	paging_unprepare(odom, idev, (uint32_t)pasid, (uint16_t)did);
}

/*
 * Put `domain` (paging or identity) on `pasid` of a scalable-mode device in place of `old`.
 */
static int sm_set_pasid(struct iommu_domain *domain, struct intel_dev *idev, uint32_t pasid,
			struct iommu_domain *old)
{
	struct intel_domain *dom = intel_is_paging(domain) ? to_intel_domain(domain) : NULL;
	uint16_t did = INTEL_DID_PT;
	uint64_t pe;
	int ret;

	if (!dom && !idev->unit->pt)
		return -EOPNOTSUPP; /* no pass-through entries on this unit (ECAP.PT) */
	ret = intel_sm_context_setup(idev);
	if (ret)
		return ret;
	if (dom) {
		ret = paging_prepare(dom, idev, pasid, &did);
		if (ret)
			return ret;
	}
	ret = intel_pasid_entry(idev, pasid, true, &pe);
	if (ret)
		goto err;

	intel_pasid_teardown(idev, pasid);
	if (!dom)
		ret = intel_pasid_setup_pt(idev, pasid);
	else if (dom->stage == INTEL_STAGE_FIRST)
		ret = intel_pasid_setup_fs(idev, pasid, dom, did);
	else
		ret = intel_pasid_setup_ss(idev, pasid, dom, did);
	if (ret)
		goto err; /* memory refused the entry: the PASID is blocked now */

	forget_old(old, idev, pasid);
	return 0;
err:
	if (dom)
		paging_unprepare(dom, idev, pasid, did);
	return ret;
}

/* The same for the RID of a legacy-mode device: its context entry (2.3). */
static int legacy_set_rid(struct iommu_domain *domain, struct intel_dev *idev,
			  struct iommu_domain *old)
{
	struct intel_domain *dom = intel_is_paging(domain) ? to_intel_domain(domain) : NULL;
	struct intel_iommu *unit = idev->unit;
	uint64_t ctx;
	uint16_t did = INTEL_DID_PT;
	int ret;

	if (!dom && !unit->pt)
		return -EOPNOTSUPP;
	if (dom) {
		ret = paging_prepare(dom, idev, IOMMU_NO_PASID, &did);
		if (ret)
			return ret;
	}
	ret = intel_context_table(unit, idev->sid, true, &ctx);
	if (!ret && dom)
		ret = intel_legacy_context_set(idev, dom->root, dom->aw, did,
					       idev->ats && !intel_sid_gone(unit, idev->sid)
						   ? VTD_TT_ALL
						   : VTD_TT_UNTRANSLATED);
	else if (!ret)
		ret = intel_legacy_context_set(idev, 0, (unsigned)intel_unit_pt_aw(unit),
					       INTEL_DID_PT, VTD_TT_PASS_THROUGH);
	if (ret) {
		if (dom)
			paging_unprepare(dom, idev, IOMMU_NO_PASID, did);
		return ret;
	}
	forget_old(old, idev, IOMMU_NO_PASID);
	return 0;
}

static int set_rid(struct iommu_domain *domain, struct iommu_dev *dev, struct iommu_domain *old)
{
	struct intel_dev *idev = to_intel_dev(dev);

	if (!idev->unit->scalable)
		return legacy_set_rid(domain, idev, old);
	return sm_set_pasid(domain, idev, IOMMU_NO_PASID, old);
}

/*
 * A PASID (not 0) needs scalable mode and a device with PASID support. -EOPNOTSUPP
 * otherwise (legacy mode has no PASIDs), -EINVAL for PASID 0 or beyond the device.
 */
static int pasid_check(struct iommu_dev *dev, uint32_t pasid)
{
	struct intel_dev *idev = to_intel_dev(dev);

	if (!idev->unit->scalable || !idev->pasid)
		return -EOPNOTSUPP;
	if (pasid == IOMMU_NO_PASID || pasid >= dev->max_pasids)
		return -EINVAL;
	return 0;
}

static int set_pasid(struct iommu_domain *domain, struct iommu_dev *dev, uint32_t pasid,
		     struct iommu_domain *old)
{
	int ret = pasid_check(dev, pasid);

	return ret ? ret : sm_set_pasid(domain, to_intel_dev(dev), pasid, old);
}

/* ---- paging domains ------------------------------------------------------------------------ */

int intel_paging_attach_dev(struct iommu_domain *domain, struct iommu_dev *dev,
			    struct iommu_domain *old)
{
	return set_rid(domain, dev, old);
}

int intel_paging_set_dev_pasid(struct iommu_domain *domain, struct iommu_dev *dev, uint32_t pasid,
			       struct iommu_domain *old)
{
	return set_pasid(domain, dev, pasid, old);
}

/* ---- the identity domain ------------------------------------------------------------------- */

static int identity_attach_dev(struct iommu_domain *domain, struct iommu_dev *dev,
			       struct iommu_domain *old)
{
	return set_rid(domain, dev, old);
}

static int identity_set_dev_pasid(struct iommu_domain *domain, struct iommu_dev *dev,
				  uint32_t pasid, struct iommu_domain *old)
{
	return set_pasid(domain, dev, pasid, old);
}

static const struct iommu_domain_ops intel_identity_ops = {
    .attach_dev = identity_attach_dev,
    .set_dev_pasid = identity_set_dev_pasid,
};

struct iommu_domain intel_identity_domain = {
    .type = IOMMU_DOMAIN_IDENTITY,
    .ops = &intel_identity_ops,
};

/* ---- the blocked domain: tear-down, never fails -------------------------------------------- */

static int blocked_attach_dev(struct iommu_domain *domain, struct iommu_dev *dev,
			      struct iommu_domain *old)
{
	struct intel_dev *idev = to_intel_dev(dev);

	(void)domain;
	if (idev->unit->scalable) {
		if (idev->ctx_present)
			intel_pasid_teardown(idev, IOMMU_NO_PASID);
	} else {
		intel_legacy_context_teardown(idev);
	}
	forget_old(old, idev, IOMMU_NO_PASID);
	return 0;
}

static int blocked_set_dev_pasid(struct iommu_domain *domain, struct iommu_dev *dev, uint32_t pasid,
				 struct iommu_domain *old)
{
	struct intel_dev *idev = to_intel_dev(dev);

	(void)domain;
	if (!idev->unit->scalable || pasid == IOMMU_NO_PASID)
		return 0; /* nothing can be attached there */
	intel_pasid_teardown(idev, pasid);
	forget_old(old, idev, pasid);
	return 0;
}

static const struct iommu_domain_ops intel_blocked_ops = {
    .attach_dev = blocked_attach_dev,
    .set_dev_pasid = blocked_set_dev_pasid,
};

struct iommu_domain intel_blocked_domain = {
    .type = IOMMU_DOMAIN_BLOCKED,
    .ops = &intel_blocked_ops,
};
