// SPDX-License-Identifier: MIT
/*
 * The scenario's devices: each a PCIe function (requester ID, PASID and ATS capabilities,
 * device TLB) probed onto its unit, then its kernel driver - DSA (dsa_driver.h), NIC or
 * storage (traffic.h) - which makes the DMA-API handle on the default domain with the
 * scenario's policy (translated or pass-through, strict or lazy) and starts the device;
 * the kernel PASID where the policy asks for it (the DSA driver tries it itself).
 */
#include "run_ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Device-TLB geometry for `entries`: a power-of-two number of sets of at most 8 ways (the
 * endpoint's limits are 2^16 sets and 64 ways), rounded down when entries do not factor. */
static void atc_geometry(uint32_t entries, uint32_t *sets, uint32_t *ways)
{
	uint32_t odd = entries, w = 1;

	while (!(odd & 1))
		odd >>= 1;
	w = odd <= 64 ? odd : 64;
	while (w * 2 <= 8 && entries / (w * 2) >= 1 && (entries / w) % 2 == 0)
		w *= 2;
	*ways = w;
	*sets = entries / w ? entries / w : 1;
	while (*sets & (*sets - 1))
		*sets &= *sets - 1;
	if (*sets > 65536)
		*sets = 65536;
}

static int make_endpoint(struct run_device *d)
{
	const struct scenario_device *sd = d->sd;
	const struct vtd_config *vc = vtd_get_config(d->rm->vtd);
	struct pci_endpoint_config ec = {
	    .rid = sd->rid,
	    .pasid_width = sd->pasid_bits,
	    .pasid_enable = sd->pasid_bits != 0,
	    .ats = sd->ats,
	    .ats_enable = sd->ats && vc->dev_tlb,
	    .agent = vtd_translation_agent(d->rm->vtd),
	    .mem = d->rm->mem,
	};

	if (sd->ats)
		atc_geometry(sd->devtlb_entries, &ec.atc_sets, &ec.atc_ways);
	return pci_endpoint_create(&ec, &d->ep);
}

/* DMA-API debug reports: counted by the DMA layer; the first few are kept for the report. */
static void debug_report(void *ctx, const struct dma_debug_report *rep)
{
	struct run_device *d = ctx;
	struct run *r = d->rm->run;

	pthread_mutex_lock(&r->lock);
	if (r->n_debug_texts < RUN_DEBUG_TEXTS)
		snprintf(r->debug_texts[r->n_debug_texts++], sizeof(r->debug_texts[0]),
			 "%s: %s at %#llx size %llu", d->sd->name, dma_debug_kind_name(rep->kind),
			 (unsigned long long)rep->addr, (unsigned long long)rep->size);
	pthread_mutex_unlock(&r->lock);
}

/* The DMA-API handle the device's driver makes: the scenario's [dma] policy. */
static void dma_config(struct run_device *d, struct dma_dev_config *dc)
{
	const struct scenario_dma *p = &d->sd->dma;

	*dc = (struct dma_dev_config){
	    .dev = d->dev,
	    .mem = d->rm->mem,
	    .alloc = d->rm->alloc,
	    .fq_size = p->flush_queue_size,
	    /* The DMA layer's timer counts milliseconds: round up, at least 1 ms. */
	    .fq_timeout_ms = (unsigned)((p->flush_timeout_ns + 999999) / 1000000),
	    .debug = p->debug,
	    .debug_fn = debug_report,
	    .debug_ctx = d,
	};
	if (!dc->fq_timeout_ms)
		dc->fq_timeout_ms = 1;
}

/* The driver's log: kept (the report and stack errors quote it), not printed. */
static void driver_log(void *ctx, const char *line)
{
	struct run_device *d = ctx;

	snprintf(d->log, sizeof(d->log), "%s", line);
}

/* Descriptors in flight at most: each thread's window, for every workload on the device. */
static unsigned dsa_records(struct run *r, struct run_device *d)
{
	unsigned n = 0;

	for (size_t w = 0; w < r->s->n_workloads; w++)
		if (r->s->workloads[w].device == d->index)
			n +=
			    r->s->workloads[w].threads * run_dsa_window(d->sd, &r->s->workloads[w]);
	return n < 1 ? 1 : n > 4096 ? 4096 : n;
}

/* The engine through its kernel driver, which makes the DMA handle and - when the policy
 * asks for one - tries the kernel PASID, as idxd does. */
static int make_dsa(struct run *r, struct run_device *d, const struct dma_dev_config *dc,
		    bool use_pasid)
{
	const struct scenario_device *sd = d->sd;
	struct dsa_drv_config c = {
	    .ep = d->ep,
	    .dma = *dc,
	    .use_pasid = use_pasid,
	    .records = dsa_records(r, d),
	    .timeout_ns = RUN_OP_TIMEOUT_NS,
	    .log = driver_log,
	    .log_ctx = d,
	};
	int ret;

	c.dsa.num_wqs = sd->work_queues;
	c.dsa.max_transfer_size = DSA_DEFAULT_MAX_XFER;
	for (unsigned q = 0; q < sd->work_queues && q < DSA_MAX_WQS; q++)
		c.dsa.wq_size[q] = sd->wq_size;
	/* The largest transfer any workload of this device asks for. */
	for (size_t w = 0; w < r->s->n_workloads; w++)
		if (r->s->workloads[w].device == d->index &&
		    r->s->workloads[w].size.max > c.dsa.max_transfer_size)
			c.dsa.max_transfer_size = (uint32_t)r->s->workloads[w].size.max;
	ret = dsa_drv_probe(&c, &d->dsa_drv);
	if (ret)
		return ret;
	d->dma = dsa_drv_dma(d->dsa_drv);
	return 0;
}

bool run_device_kpasid(const struct run_device *d, uint32_t pasid)
{
	for (unsigned i = 0; i < d->n_kpasids; i++)
		if (d->kpasids[i] == pasid)
			return true;
	return false;
}

/* The NIC through its driver: the scenario's rings, receive buffers for the largest packet
 * a workload on it receives. */
static int make_nic(struct run *r, struct run_device *d, const struct dma_dev_config *dc)
{
	struct nic_drv_config c = {
	    .ep = d->ep,
	    .dma = *dc,
	    .rx_size = d->sd->rx_ring,
	    .tx_size = d->sd->tx_ring,
	    .timeout_ns = RUN_OP_TIMEOUT_NS,
	};
	int ret;

	for (size_t i = 0; i < r->s->n_workloads; i++) {
		const struct scenario_workload *w = &r->s->workloads[i];

		if (w->device == d->index && w->op != SCENARIO_OP_TX && w->size.max > c.buf_size)
			c.buf_size = (uint32_t)w->size.max;
	}
	ret = nic_drv_probe(&c, &d->nic_drv);
	if (!ret)
		d->dma = nic_drv_dma(d->nic_drv);
	return ret;
}

/* The storage controller through its driver: a queue one larger than the requests in
 * flight (a power of two), and a medium of 512-byte blocks with each workload thread's
 * own share (run_ops_traffic.c). */
static int make_storage(struct run *r, struct run_device *d, const struct dma_dev_config *dc)
{
	struct storage_drv_config c = {
	    .ep = d->ep,
	    .dma = *dc,
	    .queue_size = 2,
	    .block_size = 512,
	    .timeout_ns = RUN_OP_TIMEOUT_NS,
	};
	int ret;

	while (c.queue_size < d->sd->queue_depth + 1)
		c.queue_size <<= 1;
	for (size_t i = 0; i < r->s->n_workloads; i++) {
		const struct scenario_workload *w = &r->s->workloads[i];

		if (w->device == d->index)
			c.blocks += w->threads * run_storage_blocks(w);
	}
	if (!c.blocks)
		c.blocks = 1;
	ret = storage_drv_probe(&c, &d->sto_drv);
	if (!ret)
		d->dma = storage_drv_dma(d->sto_drv);
	return ret;
}

/* What became of a kernel-PASID request: the PASID, or the fallback the scenario's `try`
 * allows (counted), or - when `must` - something the stack got wrong (the reader already
 * ruled out the cases that cannot work). */
static void pasid_outcome(struct run *r, struct run_device *d, bool must, int ret, uint32_t pasid)
{
	unsigned slot = atomic_load(&r->cur);

	if (ret) {
		if (must)
			run_note_stack_error(r, "%s: dma_enable_pasid failed: %s (%s)", d->sd->name,
					     strerror(-ret),
					     d->log[0] ? d->log : dma_pasid_status(d->dma));
		if (slot < r->n_slots)
			r->fallbacks[slot * r->n_devs + d->index]++;
		return;
	}
	d->kpasid_on = true;
	d->kpasid_ever = true;
	d->kpasid = pasid;
	if (!run_device_kpasid(d, pasid) &&
	    d->n_kpasids < sizeof(d->kpasids) / sizeof(d->kpasids[0]))
		d->kpasids[d->n_kpasids++] = pasid;
}

/* dma_enable_pasid for `d` (a DSA engine's driver asks itself). Returns 0 either way: a
 * failure is an outcome, not a reason to stop the run. */
int run_enable_pasid(struct run *r, struct run_device *d, bool must)
{
	uint32_t pasid = IOMMU_PASID_INVALID;
	int ret;

	if (d->dsa_drv) {
		ret = dsa_drv_enable_pasid(d->dsa_drv);
		pasid = dsa_drv_pasid(d->dsa_drv);
	} else {
		ret = dma_enable_pasid(d->dma, &pasid);
	}
	pasid_outcome(r, d, must, ret, pasid);
	return 0;
}

int run_disable_pasid(struct run *r, struct run_device *d)
{
	int ret;

	if (!d->kpasid_on)
		return 0; /* the fallback left nothing to disable */
	ret = d->dsa_drv ? dsa_drv_disable_pasid(d->dsa_drv) : dma_disable_pasid(d->dma, d->kpasid);
	if (ret)
		run_note_stack_error(r, "%s: dma_disable_pasid(%u) failed: %s", d->sd->name,
				     d->kpasid, strerror(-ret));
	d->kpasid_on = false;
	return 0;
}

static int device_setup(struct run *r, struct run_device *d)
{
	const struct scenario_device *sd = d->sd;
	struct iommu_dev_info info = {
	    .rid = sd->rid,
	    .pasid_width = sd->pasid_bits,
	    .ats = sd->ats,
	};
	bool must_pasid = sd->dma.kernel_pasid == SCENARIO_KPASID_ON,
	     want_pasid = must_pasid || sd->dma.kernel_pasid == SCENARIO_KPASID_TRY;
	struct dma_dev_config dc;
	struct pci_ats_port port;
	int ret;

	if (sd->dma.default_domain == SCENARIO_DOMAIN_PASS_THROUGH)
		info.def_domain_type = IOMMU_DOMAIN_IDENTITY;
	else if (sd->dma.invalidation == SCENARIO_INV_LAZY)
		info.def_domain_type = IOMMU_DOMAIN_DMA_FQ;
	else
		info.def_domain_type = IOMMU_DOMAIN_DMA;
	ret = make_endpoint(d);
	if (ret)
		return ret;
	if (sd->ats && vtd_get_config(d->rm->vtd)->dev_tlb) {
		port = pci_endpoint_ats_port(d->ep);
		ret = vtd_connect_ats(d->rm->vtd, sd->rid, &port);
		if (ret)
			return ret;
		d->ats_connected = true;
	}
	ret = iommu_probe_device(intel_iommu_device(d->rm->iommu), &info, &d->dev);
	if (ret)
		return ret;
	/* A legacy pass-through context entry (TT 10) refuses translation requests: Linux
	 * leaves ATS off for such a device, and so does the board. */
	if (sd->ats && !intel_iommu_is_scalable(d->rm->iommu) &&
	    info.def_domain_type == IOMMU_DOMAIN_IDENTITY)
		pci_endpoint_ats_disable(d->ep);
	ret = intel_iommu_domain_did(d->rm->iommu, iommu_get_default_domain(d->dev));
	atomic_store(&d->did, ret >= 0 ? ret : -1);
	if (r->s->iommu.checker && sd->ats) {
		struct pci_translation_agent ref = {.translate = run_ref_translate, .ctx = d};

		ret = pci_endpoint_set_checker(d->ep, &ref, run_atc_mismatch, d);
		if (ret)
			return ret;
	}
	dma_config(d, &dc);
	if (sd->type == SCENARIO_DEV_DSA) {
		ret = make_dsa(r, d, &dc, want_pasid);
		if (!ret && want_pasid) {
			uint32_t pasid = dsa_drv_pasid(d->dsa_drv);

			pasid_outcome(r, d, must_pasid, pasid == IOMMU_PASID_INVALID ? -ENODEV : 0,
				      pasid);
		}
		return ret;
	}
	ret = sd->type == SCENARIO_DEV_NIC ? make_nic(r, d, &dc) : make_storage(r, d, &dc);
	if (!ret && want_pasid)
		run_enable_pasid(r, d, must_pasid);
	return ret;
}

/*
 * The device array exists from the start of the run (counters are indexed by device and
 * events may name one before it is set up); a device belongs to no unit (rm NULL) until
 * run_devices_create() sets it up.
 */
int run_devices_alloc(struct run *r)
{
	r->devs = calloc(r->s->n_devices ? r->s->n_devices : 1, sizeof(*r->devs));
	if (!r->devs)
		return -ENOMEM;
	r->n_devs = r->s->n_devices;
	for (size_t p = 0; p < r->s->n_phases; p++)
		r->any_skip |=
		    r->s->phases[p].has_skip_invalidation && r->s->phases[p].skip_invalidation;
	for (size_t i = 0; i < r->n_devs; i++) {
		struct run_device *d = &r->devs[i];

		d->sd = &r->s->devices[i];
		d->index = (unsigned)i;
		atomic_init(&d->did, -1);
		atomic_init(&d->skip, d->sd->dma.skip_invalidation);
		r->any_skip |= d->sd->dma.skip_invalidation != 0;
	}
	return 0;
}

int run_devices_create(struct run *r)
{
	/* Every device's unit first: the engines that setting up starts read them all. */
	for (size_t i = 0; i < r->n_devs; i++)
		r->devs[i].rm = run_machine_for(r, r->devs[i].sd);
	for (size_t i = 0; i < r->n_devs; i++) {
		int ret = device_setup(r, &r->devs[i]);

		if (ret) {
			snprintf(r->setup_msg, sizeof(r->setup_msg),
				 "%s:%u: cannot set up device '%s': %s", r->s->file,
				 r->devs[i].sd->line, r->devs[i].sd->name, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void device_teardown(struct run *r, struct run_device *d)
{
	int ret;

	if (d->dsa_drv) {
		/* The driver disables its WQs and its kernel PASID, then its DMA handle. */
		ret = dsa_drv_remove(d->dsa_drv);
		if (ret)
			run_note_stack_error(r, "%s: mappings were still live at teardown",
					     d->sd->name);
		d->dsa_drv = NULL;
		d->dma = NULL;
	}
	if (d->nic_drv || d->sto_drv) {
		/* The kernel PASID first: the driver's remove destroys the DMA handle. */
		run_disable_pasid(r, d);
		ret = d->nic_drv ? nic_drv_remove(d->nic_drv) : storage_drv_remove(d->sto_drv);
		if (ret)
			run_note_stack_error(r, "%s: mappings were still live at teardown",
					     d->sd->name);
		d->nic_drv = NULL;
		d->sto_drv = NULL;
		d->dma = NULL;
	}
	if (d->dev) {
		ret = iommu_release_device(d->dev);
		if (ret)
			run_note_stack_error(r, "%s: the device could not be released: %s",
					     d->sd->name, strerror(-ret));
		d->dev = NULL;
	}
	if (d->ats_connected)
		vtd_disconnect_ats(d->rm->vtd, d->sd->rid);
	pci_endpoint_destroy(d->ep);
	d->ep = NULL;
}

void run_devices_teardown(struct run *r)
{
	for (size_t i = r->n_devs; i-- > 0;)
		device_teardown(r, &r->devs[i]);
}

void run_devices_free(struct run *r)
{
	free(r->devs);
	r->devs = NULL;
	r->n_devs = 0;
}
