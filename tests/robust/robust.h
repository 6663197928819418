/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the robustness tests (docs/robustness.md): knobs read from the
 * environment (so that `make soak` runs the same programs longer), a clock, and the
 * machine set-ups they have in common.
 */
#ifndef SOFTIOMMU_TEST_ROBUST_H
#define SOFTIOMMU_TEST_ROBUST_H

#include <softiommu/machine.h>

#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SZ_4K 0x1000ull
#define SZ_2M 0x200000ull
#define SZ_1G 0x40000000ull

/* A number from the environment (decimal or 0x hex), or `def` when unset or not a number. */
static inline uint64_t robust_env(const char *name, uint64_t def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return def;
	v = strtoull(s, &end, 0);
	return *end ? def : (uint64_t)v;
}

static inline uint64_t robust_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A unit without scalable mode: legacy root/context tables, second stage only, no PASID. */
static inline void robust_legacy_unit(struct vtd_config *c)
{
	c->scalable = false;
	c->first_stage = false;
	c->second_stage = false;
	c->nested = false;
	c->fs_5level = false;
	c->fs_1g = false;
	c->fs_ea = false;
	c->pasid_bits = 0;
	c->supervisor_requests = false;
	c->execute_requests = false;
	c->sm_pwc = false;
	c->rid_pasid = false;
	c->rid_priv = false;
	c->ss_ad = false;
}

/* Add a PCIe function; NULL on error. */
static inline struct machine_dev *robust_dev(struct machine *m, uint16_t rid, unsigned pasid_width,
					     bool ats, int def_type)
{
	struct machine_dev_config dc = {.rid = rid,
					.pasid_width = (uint8_t)pasid_width,
					.ats = ats,
					.def_domain_type = def_type};
	struct machine_dev *d = NULL;

	if (machine_add_device(m, &dc, &d))
		return NULL;
	return d;
}

/* One untranslated request to the unit (pasid IOMMU_PASID_INVALID: without PASID). */
static inline struct pci_resp robust_xlate(struct vtd *vtd, uint16_t rid, uint32_t pasid,
					   uint64_t addr, bool write)
{
	struct pci_req req = {
	    .addr = addr,
	    .pasid = pasid == IOMMU_PASID_INVALID ? 0 : pasid,
	    .rid = rid,
	    .at = PCI_AT_UNTRANSLATED,
	    .flags = (uint8_t)((pasid == IOMMU_PASID_INVALID ? 0 : PCI_REQ_PASID) |
			       (write ? PCI_REQ_WRITE : PCI_REQ_READ)),
	};
	struct pci_resp r;

	memset(&r, 0, sizeof(r));
	if (vtd_translate(vtd, &req, &r))
		r.status = 0xff;
	return r;
}

#endif
