// SPDX-License-Identifier: MIT
/*
 * The board file: memory, page allocator, VT-d unit, IOMMU core, VT-d driver on the unit's
 * MMIO, and PCI endpoints probed onto the core.
 */
#include <softiommu/machine.h>

#include <errno.h>
#include <stdlib.h>

#define SZ_1G (1ull << 30)

void machine_config_default(struct machine_config *cfg)
{
	*cfg = (struct machine_config){
	    .mem_size = 8 * SZ_1G,
	    .alloc_base = 4 * SZ_1G,
	    .alloc_size = 2 * SZ_1G,
	};
	vtd_config_default(&cfg->vtd);
}

/* The driver's register window is the model's. */
static int mmio_read(void *ctx, uint64_t offset, unsigned size, uint64_t *val)
{
	return vtd_mmio_read(ctx, offset, size, val);
}

static int mmio_write(void *ctx, uint64_t offset, unsigned size, uint64_t val)
{
	return vtd_mmio_write(ctx, offset, size, val);
}

static void teardown(struct machine *m)
{
	intel_iommu_destroy(m->iommu);
	iommu_core_destroy(m->core);
	vtd_destroy(m->vtd);
	mem_alloc_destroy(m->alloc);
	mem_destroy(m->mem);
	free(m);
}

int machine_create(const struct machine_config *cfg, struct machine **out)
{
	struct intel_iommu_config dcfg;
	struct machine *m;
	int ret;

	if (!cfg || !out || !cfg->mem_size || cfg->alloc_base > cfg->mem_size ||
	    cfg->alloc_size > cfg->mem_size - cfg->alloc_base)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->mem = mem_create_sparse(cfg->mem_size);
	if (!m->mem) {
		free(m);
		return -ENOMEM;
	}
	ret = mem_alloc_create(m->mem, cfg->alloc_base, cfg->alloc_size, &m->alloc);
	if (!ret)
		ret = vtd_create(&cfg->vtd, m->mem, &cfg->vtd_cb, cfg->vtd_cb_ctx, &m->vtd);
	if (!ret)
		ret = iommu_core_create(&cfg->iommu, &m->core);
	if (!ret) {
		dcfg = cfg->driver;
		dcfg.mmio = (struct intel_iommu_mmio){mmio_read, mmio_write, m->vtd};
		dcfg.alloc = m->alloc;
		ret = intel_iommu_create(m->core, &dcfg, &m->iommu);
	}
	if (ret) {
		teardown(m);
		return ret;
	}
	*out = m;
	return 0;
}

int machine_destroy(struct machine *m)
{
	int ret;

	if (!m)
		return 0;
	while (m->devs) {
		ret = machine_remove_device(m->devs);
		if (ret)
			return ret;
	}
	ret = intel_iommu_destroy(m->iommu);
	if (ret)
		return ret;
	m->iommu = NULL;
	teardown(m);
	return 0;
}

static int make_endpoint(struct machine *m, const struct machine_dev_config *dc,
			 struct pci_endpoint **ep)
{
	const struct vtd_config *vc = vtd_get_config(m->vtd);
	struct pci_endpoint_config ec = {
	    .rid = dc->rid,
	    .pasid_width = dc->pasid_width,
	    .pasid_priv_supported = dc->pasid_priv,
	    .pasid_exec_supported = dc->pasid_exec,
	    .pasid_enable = dc->pasid_width != 0,
	    .pasid_priv_enable = dc->pasid_priv,
	    .pasid_exec_enable = dc->pasid_exec,
	    .ats = dc->ats,
	    .ats_inv_queue_depth = dc->ats_inv_queue_depth,
	    .ats_enable = dc->ats && vc->dev_tlb,
	    .atc_sets = dc->ats ? (dc->atc_sets ? dc->atc_sets : 64) : 0,
	    .atc_ways = dc->ats ? (dc->atc_ways ? dc->atc_ways : 4) : 0,
	    .agent = vtd_translation_agent(m->vtd),
	    .mem = m->mem,
	};

	return pci_endpoint_create(&ec, ep);
}

int machine_add_device(struct machine *m, const struct machine_dev_config *dc,
		       struct machine_dev **out)
{
	struct iommu_dev_info info;
	struct pci_ats_port port;
	struct machine_dev *d;
	int ret;

	if (!m || !dc || !out)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->m = m;
	d->rid = dc->rid;
	ret = make_endpoint(m, dc, &d->ep);
	if (ret)
		goto err_free;
	if (dc->ats) {
		port = pci_endpoint_ats_port(d->ep);
		ret = vtd_connect_ats(m->vtd, dc->rid, &port);
		if (ret)
			goto err_ep;
	}
	info = (struct iommu_dev_info){
	    .rid = dc->rid,
	    .pasid_width = dc->pasid_width,
	    .ats = dc->ats,
	    .def_domain_type = dc->def_domain_type,
	};
	ret = iommu_probe_device(intel_iommu_device(m->iommu), &info, &d->dev);
	if (ret)
		goto err_ats;
	if (dc->ats && !intel_iommu_is_scalable(m->iommu) &&
	    iommu_get_default_domain(d->dev)->type == IOMMU_DOMAIN_IDENTITY)
		pci_endpoint_ats_disable(d->ep);
	d->next = m->devs;
	m->devs = d;
	*out = d;
	return 0;

err_ats:
	if (dc->ats)
		vtd_disconnect_ats(m->vtd, dc->rid);
err_ep:
	pci_endpoint_destroy(d->ep);
err_free:
	free(d);
	return ret;
}

int machine_remove_device(struct machine_dev *d)
{
	struct machine *m;
	int ret;

	if (!d)
		return 0;
	m = d->m;
	ret = iommu_release_device(d->dev);
	if (ret)
		return ret;
	vtd_disconnect_ats(m->vtd, d->rid); /* -ENOENT without ATS: nothing to undo */
	pci_endpoint_destroy(d->ep);
	for (struct machine_dev **p = &m->devs; *p; p = &(*p)->next) {
		if (*p == d) {
			*p = d->next;
			break;
		}
	}
	free(d);
	return 0;
}
