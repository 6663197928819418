/* SPDX-License-Identifier: MIT */
/*
 * The traffic tests' machine: the whole stack with a NIC and a storage controller, each a
 * PCIe function with ATS behind the VT-d model, each with its driver on the DMA API.
 */
#ifndef SOFTIOMMU_TEST_TRAFFIC_MACHINE_H
#define SOFTIOMMU_TEST_TRAFFIC_MACHINE_H

#include <softiommu/dma.h>
#include <softiommu/machine.h>
#include <softiommu/traffic.h>
#include <stdio.h>
#include <string.h>

#define TM_NIC_RID PCI_RID(0, 3, 0)
#define TM_STO_RID PCI_RID(0, 4, 0)
#define TM_DATA	   0x40000000ull /* plain memory for test buffers */

struct tmach {
	struct machine *m;
	struct machine_dev *nic_dev, *sto_dev;
	struct nic_drv *nic;
	struct storage_drv *sto;
	unsigned stale, atc_stale, debug_hits;
};

struct tmach_opts {
	int domain;
	bool debug;
	bool loopback;
	uint32_t buf_size;
	uint32_t rx_size, tx_size;
};

static inline void tm_on_stale(void *ctx, const struct vtd_stale *r)
{
	struct tmach *t = ctx;

	if (__atomic_fetch_add(&t->stale, 1, __ATOMIC_RELAXED) < 3)
		fprintf(stderr, "stale: sid %#x addr %#llx missing %s\n", r->sid,
			(unsigned long long)r->addr, r->missing);
}

static inline void tm_on_atc(void *ctx, const struct pci_atc_mismatch *m)
{
	struct tmach *t = ctx;

	if (__atomic_fetch_add(&t->atc_stale, 1, __ATOMIC_RELAXED) < 3)
		fprintf(stderr, "stale device TLB: rid %#x addr %#llx\n", m->rid,
			(unsigned long long)m->addr);
}

static inline void tm_on_debug(void *ctx, const struct dma_debug_report *r)
{
	struct tmach *t = ctx;

	__atomic_fetch_add(&t->debug_hits, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "dma debug: %s rid %#x addr %#llx\n", dma_debug_kind_name(r->kind), r->rid,
		(unsigned long long)r->addr);
}

static inline int tm_init(struct tmach *t, const struct tmach_opts *o)
{
	struct machine_config cfg;
	struct machine_dev_config dc = {.ats = true, .def_domain_type = o->domain};
	struct nic_drv_config nc = {0};
	struct storage_drv_config sc = {0};
	struct dma_dev_config dma = {0};
	int ret;

	memset(t, 0, sizeof(*t));
	machine_config_default(&cfg);
	cfg.driver.quiet = true;
	cfg.vtd_cb.stale = tm_on_stale;
	cfg.vtd_cb_ctx = t;
	ret = machine_create(&cfg, &t->m);
	dc.rid = TM_NIC_RID;
	if (!ret)
		ret = machine_add_device(t->m, &dc, &t->nic_dev);
	dc.rid = TM_STO_RID;
	if (!ret)
		ret = machine_add_device(t->m, &dc, &t->sto_dev);
	if (ret)
		return ret;
	dma.mem = t->m->mem;
	dma.alloc = t->m->alloc;
	dma.fq_timeout_ms = DMA_FQ_TIMEOUT_NONE;
	dma.debug = o->debug;
	dma.debug_fn = tm_on_debug;
	dma.debug_ctx = t;
	nc.ep = t->nic_dev->ep;
	nc.dma = dma;
	nc.dma.dev = t->nic_dev->dev;
	nc.loopback = o->loopback;
	nc.buf_size = o->buf_size;
	nc.rx_size = o->rx_size;
	nc.tx_size = o->tx_size;
	nc.timeout_ns = 60000000000ull; /* generous: sanitizers on a loaded machine */
	ret = nic_drv_probe(&nc, &t->nic);
	if (ret)
		return ret;
	sc.ep = t->sto_dev->ep;
	sc.dma = dma;
	sc.dma.dev = t->sto_dev->dev;
	sc.blocks = 2048;
	sc.timeout_ns = 60000000000ull;
	return storage_drv_probe(&sc, &t->sto);
}

static inline int tm_check(struct tmach *t, bool on)
{
	struct pci_translation_agent ref = vtd_translation_agent(t->m->vtd);
	int ret = vtd_set_check(t->m->vtd, on);

	if (!ret)
		ret = pci_endpoint_set_checker(t->nic_dev->ep, on ? &ref : NULL,
					       on ? tm_on_atc : NULL, t);
	if (!ret)
		ret = pci_endpoint_set_checker(t->sto_dev->ep, on ? &ref : NULL,
					       on ? tm_on_atc : NULL, t);
	return ret;
}

static inline int tm_fini(struct tmach *t)
{
	int a = nic_drv_remove(t->nic);
	int b = storage_drv_remove(t->sto);
	int c = machine_destroy(t->m);

	return a ? a : b ? b : c;
}

#endif
