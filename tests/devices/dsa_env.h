/* SPDX-License-Identifier: MIT */
/*
 * The DSA device tests' environment without an IOMMU: memory, the endpoint tests' fake
 * translation agent (tests/hw_pci/fake_agent.h), an endpoint with PASID and ATS, and the
 * device. Device addresses IOVA + x map to physical PA + x page by page, for PASID `PASID`
 * and for requests without PASID, so that a test can punch holes or make pages read-only.
 */
#ifndef SOFTIOMMU_TEST_DSA_ENV_H
#define SOFTIOMMU_TEST_DSA_ENV_H

#include "hw_pci/fake_agent.h"

#include <softiommu/dsa.h>
#include <softiommu/mem.h>
#include <softiommu/pci.h>
#include <stdlib.h>
#include <string.h>

#define ENV_IOVA  0x10000000ull
#define ENV_PA	  0x01000000ull
#define ENV_PAGES 256 /* 1 MiB mapped */
#define ENV_PASID 5u
#define ENV_CR	  0 /* offset of the completion records (64 of them, 32 bytes apart) */

struct dsa_env {
	struct mem *mem;
	struct fake_agent fa;
	struct pci_endpoint *ep;
	struct dsa *dsa;
};

/* Map (or remap with `perm`) pages [first, first + n) of the window for both tags. */
static inline void env_map(struct dsa_env *e, unsigned first, unsigned n, uint8_t perm)
{
	for (unsigned i = first; i < first + n; i++) {
		fake_map(&e->fa, true, ENV_PASID, ENV_IOVA + i * 4096ull, 4096,
			 ENV_PA + i * 4096ull, perm);
		fake_map(&e->fa, false, 0, ENV_IOVA + i * 4096ull, 4096, ENV_PA + i * 4096ull,
			 perm);
	}
}

/* Remove pages from the fake's table (both tags) and from the endpoint's ATC. */
static inline void env_unmap(struct dsa_env *e, unsigned first, unsigned n)
{
	struct pci_ats_port port = pci_endpoint_ats_port(e->ep);

	pthread_mutex_lock(&e->fa.lock);
	for (int i = 0; i < FAKE_MAPS; i++) {
		struct fake_map *m = &e->fa.maps[i];

		if (m->used && m->iova >= ENV_IOVA + first * 4096ull &&
		    m->iova < ENV_IOVA + (first + n) * 4096ull)
			m->used = false;
	}
	pthread_mutex_unlock(&e->fa.lock);
	for (unsigned i = first; i < first + n; i++) {
		struct pci_ats_inv inv = {.addr = ENV_IOVA + i * 4096ull,
					  .size = 4096,
					  .rid = pci_endpoint_rid(e->ep),
					  .has_pasid = true,
					  .pasid = ENV_PASID};

		port.invalidate(port.ctx, &inv);
		inv.has_pasid = false;
		port.invalidate(port.ctx, &inv);
	}
}

/* Set up with `ats` and an optional device configuration (ep filled in here). 0 or -1. */
static inline int env_setup(struct dsa_env *e, bool ats, const struct dsa_config *dcfg)
{
	struct pci_endpoint_config cfg;
	struct dsa_config d = dcfg ? *dcfg : (struct dsa_config){0};

	memset(e, 0, sizeof(*e));
	fake_init(&e->fa);
	e->mem = mem_create_sparse(256ull << 20);
	if (!e->mem)
		return -1;
	cfg = fake_ep_config(&e->fa, e->mem);
	cfg.ats = ats;
	cfg.ats_enable = ats;
	if (!ats)
		cfg.atc_sets = cfg.atc_ways = 0;
	if (pci_endpoint_create(&cfg, &e->ep))
		return -1;
	env_map(e, 0, ENV_PAGES, PCI_PERM_R | PCI_PERM_W);
	d.ep = e->ep;
	return dsa_create(&d, &e->dsa) ? -1 : 0;
}

static inline void env_teardown(struct dsa_env *e)
{
	dsa_destroy(e->dsa);
	pci_endpoint_destroy(e->ep);
	mem_destroy(e->mem);
	fake_fini(&e->fa);
}

/* CPU pointer to offset `off` of the window. */
static inline uint8_t *env_ptr(struct dsa_env *e, uint64_t off)
{
	return mem_ptr(e->mem, ENV_PA + off, 1);
}

/* Completion record `slot`: device address and CPU physical address. */
static inline uint64_t env_cr(unsigned slot)
{
	return ENV_IOVA + ENV_CR + slot * 32ull;
}

static inline uint64_t env_cr_pa(unsigned slot)
{
	return ENV_PA + ENV_CR + slot * 32ull;
}

/*
 * Submit `d` to WQ 0 with a completion record in `slot` (CRAV | RCR added, the record
 * zeroed first), retrying while the WQ is full, and wait for it (5 s). Returns the status
 * or -1 (timeout, submit error); the record in *c.
 */
static inline int env_run_slot(struct dsa_env *e, struct dsa_desc *d, unsigned slot,
			       struct dsa_completion *c)
{
	int ret;

	memset(mem_ptr(e->mem, env_cr_pa(slot), 32), 0, 32);
	d->completion = env_cr(slot);
	d->op_flags |= DSA_F_CRAV | DSA_F_RCR;
	while ((ret = dsa_submit(e->dsa, 0, d)) == -EAGAIN)
		;
	if (ret)
		return -1;
	if (dsa_wait(e->mem, env_cr_pa(slot), 30000000000ull, c))
		return -1;
	return c->status;
}

static inline int env_run(struct dsa_env *e, struct dsa_desc *d, struct dsa_completion *c)
{
	return env_run_slot(e, d, 0, c);
}

#endif
