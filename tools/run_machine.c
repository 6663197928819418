// SPDX-License-Identifier: MIT
/*
 * The platform a scenario runs on: memory, and one VT-d unit per page-table stage the
 * devices ask for (the driver picks one default stage per unit, as Linux does), each with
 * its IOMMU core and VT-d driver.
 *
 * Between the driver and each unit's registers sits a shim that carries out the scenario's
 * fault injection (`skip_invalidation`, docs/scenarios.md). The driver's own switch
 * (intel_iommu_set_skip) leaves out one descriptor type for the whole unit; a scenario asks
 * for more: several kinds at once, per device, and "PASIDs other than 0" - the seed
 * review's case. So the shim looks at each batch when the driver moves the queue tail
 * (IQT) and turns every descriptor the injection covers into an invalidation wait with no
 * status write and no interrupt, which does nothing (digest 5.6). To the unit the
 * invalidation never arrived, exactly as if the driver had not written it; the trace hook
 * is told which queue slots those were, so they are counted as left out and not as done.
 */
#include "run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <softiommu/vtd_regs.h>

/* ---- the unit's configuration ------------------------------------------------------------- */

/*
 * A scenario cache geometry as the model's sets x ways: sets must be a power of two and
 * ways at most 64, so an entry count that does not factor that way is rounded down to the
 * nearest one that does. Returns true when the geometry had to change.
 */
static bool geom_from(const struct scenario_cache *c, struct vtd_cache_geom *g)
{
	uint32_t ways = c->ways ? c->ways : 1, sets;

	if (!c->entries) {
		*g = (struct vtd_cache_geom){0};
		return false;
	}
	if (ways > 64)
		ways = 64;
	sets = c->entries / ways;
	if (!sets)
		sets = 1;
	while (sets & (sets - 1))
		sets &= sets - 1; /* the highest power of two below */
	if (sets > 65536)
		sets = 65536;
	*g = (struct vtd_cache_geom){.sets = sets, .ways = ways};
	return (uint64_t)sets * ways != c->entries;
}

/* The vtd_config of a scenario's [iommu] (docs/scenarios.md lists the mapping). */
static void config_from(const struct scenario_iommu *io, struct vtd_config *c, bool *adjusted)
{
	bool scalable = io->mode == SCENARIO_MODE_SCALABLE;

	vtd_config_default(c);
	c->mgaw = io->mgaw;
	c->haw = io->haw;
	c->sagaw = 0;
	if (io->sagaw & SCENARIO_SAGAW_39)
		c->sagaw |= 1u << VTD_AW_39BIT;
	if (io->sagaw & SCENARIO_SAGAW_48)
		c->sagaw |= 1u << VTD_AW_48BIT;
	if (io->sagaw & SCENARIO_SAGAW_57)
		c->sagaw |= 1u << VTD_AW_57BIT;
	c->scalable = scalable;
	/* Legacy mode always walks second-stage tables; the ECAP bits are scalable-mode's. */
	c->first_stage = scalable && io->first_stage;
	c->second_stage = scalable && io->second_stage;
	c->nested = scalable && io->nested;
	c->pass_through = io->pass_through;
	c->fs_5level = c->first_stage && io->five_level;
	c->fs_1g = c->first_stage && (io->large_pages & SCENARIO_LARGE_1G);
	c->fs_ea = false;
	c->ss_2m = io->large_pages & SCENARIO_LARGE_2M;
	c->ss_1g = io->large_pages & SCENARIO_LARGE_1G;
	c->ss_ad = c->second_stage;
	c->pasid_bits = scalable ? io->pasid_bits : 0;
	c->supervisor_requests = c->pasid_bits != 0;
	c->execute_requests = false;
	c->rid_pasid = c->rid_priv = false;
	c->dev_tlb = io->device_tlb;
	c->caching_mode = io->caching_mode;
	c->queued_invalidation = true; /* scalable mode needs it; legacy units use it too */
	c->nfr = io->fault_records;
	*adjusted = false;
	*adjusted |= geom_from(&io->context_cache, &c->context_cache);
	*adjusted |= geom_from(&io->pasid_cache, &c->pasid_cache);
	*adjusted |= geom_from(&io->iotlb, &c->iotlb);
	*adjusted |= geom_from(&io->pwc, &c->pscache);
}

/* Why vtd_config_validate() refused a configuration the reader accepted, in words. */
static const char *config_problem(const struct vtd_config *c)
{
	unsigned widest = 0;

	for (unsigned n = 1; n <= 3; n++)
		if (c->sagaw & (1u << n))
			widest = 30 + 9 * n;
	if (c->mgaw > 57)
		return "mgaw above 57 bits (the model's widest)";
	if (c->mgaw > widest)
		return "mgaw wider than the widest sagaw width";
	return "the unit's configuration is not one the VT-d model accepts";
}

/* ---- the register-window shim ------------------------------------------------------------- */

static bool did_matches(const struct run_device *d, unsigned did)
{
	return atomic_load_explicit(&d->did, memory_order_relaxed) == (int)did;
}

/*
 * Which device's injection leaves out the descriptor whose first quad-word is `q0`, or
 * NULL. Global-granularity descriptors belong to no device and are never left out.
 */
static struct run_device *skipper(struct run_machine *rm, uint64_t q0)
{
	struct run *r = rm->run;
	unsigned type = VTD_INV_TYPE(q0);

	for (size_t i = 0; i < r->n_devs; i++) {
		struct run_device *d = &r->devs[i];
		uint32_t skip = atomic_load_explicit(&d->skip, memory_order_relaxed);
		unsigned g;

		if (d->rm != rm || !skip)
			continue;
		switch (type) {
		case VTD_INV_CC: /* 5.2: device-selective by SID, domain-selective by DID */
			g = (unsigned)VTD_GET(q0, VTD_INV_CC_G);
			if ((skip & SCENARIO_SKIP_CONTEXT_CACHE) &&
			    ((g == VTD_CCMD_GRAN_DEVICE &&
			      VTD_GET(q0, VTD_INV_CC_SID) == d->sd->rid) ||
			     (g == VTD_CCMD_GRAN_DOMAIN &&
			      did_matches(d, (unsigned)VTD_GET(q0, VTD_INV_CC_DID)))))
				return d;
			break;
		case VTD_INV_IOTLB: /* 5.3: the PASID plays no part; domain or page of a DID */
			g = (unsigned)VTD_GET(q0, VTD_INV_IOTLB_G);
			if ((skip & SCENARIO_SKIP_IOTLB) && g != VTD_IOTLB_GRAN_GLOBAL &&
			    did_matches(d, (unsigned)VTD_GET(q0, VTD_INV_IOTLB_DID)))
				return d;
			break;
		case VTD_INV_PIOTLB: /* 5.7: DID and PASID */
			if (!did_matches(d, (unsigned)VTD_GET(q0, VTD_INV_PIOTLB_DID)))
				break;
			if ((skip & SCENARIO_SKIP_IOTLB) || ((skip & SCENARIO_SKIP_PASID_IOTLB) &&
							     VTD_GET(q0, VTD_INV_PIOTLB_PASID)))
				return d;
			break;
		case VTD_INV_PC: /* 5.8 */
			g = (unsigned)VTD_GET(q0, VTD_INV_PC_G);
			if ((skip & SCENARIO_SKIP_PASID_CACHE) && g != VTD_INV_PC_G_GLOBAL &&
			    did_matches(d, (unsigned)VTD_GET(q0, VTD_INV_PC_DID)))
				return d;
			break;
		case VTD_INV_DEVTLB: /* 5.4: requests without PASID */
			if ((skip & SCENARIO_SKIP_DEVTLB) &&
			    VTD_GET(q0, VTD_INV_DEVTLB_SID) == d->sd->rid)
				return d;
			break;
		case VTD_INV_PDEVTLB: /* 5.9: with PASID */
			if (VTD_GET(q0, VTD_INV_PDEVTLB_SID) == d->sd->rid &&
			    (skip & (SCENARIO_SKIP_DEVTLB | SCENARIO_SKIP_PASID_DEVTLB)))
				return d;
			break;
		default:
			break;
		}
	}
	return NULL;
}

/*
 * Before the unit sees a new tail: walk the descriptors from IQH to `tail` and turn the
 * ones the injection covers into no-op waits (type 5, no SW/IF/FN: nothing is written and
 * nothing is signalled). Records their slots for the trace hook.
 */
static void filter_queue(struct run_machine *rm, uint64_t tail)
{
	struct run *r = rm->run;
	uint64_t iqa, iqh, base, qbytes, ds;
	unsigned slot = atomic_load_explicit(&r->cur, memory_order_relaxed);

	if (vtd_mmio_read(rm->vtd, VTD_REG_IQA, 8, &iqa) ||
	    vtd_mmio_read(rm->vtd, VTD_REG_IQH, 8, &iqh))
		return;
	ds = (iqa & VTD_IQA_DW) ? 32 : 16;
	base = iqa & VTD_IQA_IQA_MASK;
	qbytes = 4096ull << VTD_GET(iqa, VTD_IQA_QS);
	rm->desc_size = (unsigned)ds;
	tail &= VTD_IQT_QT_MASK;
	iqh &= VTD_IQH_QH_MASK;
	if (tail >= qbytes || iqh >= qbytes || (tail % ds) || (iqh % ds))
		return; /* the unit reports the bad tail itself (IQE) */
	for (uint64_t off = iqh; off != tail; off = (off + ds) % qbytes) {
		struct run_device *d;
		uint64_t q0;

		if (mem_read64(rm->mem, base + off, &q0))
			return;
		d = skipper(rm, q0);
		if (!d)
			continue;
		mem_write64(rm->mem, base + off, VTD_INV_WAIT);
		for (uint64_t q = 8; q < ds; q += 8)
			mem_write64(rm->mem, base + off + q, 0);
		if (off / ds < RUN_QUEUE_SLOTS) {
			rm->noop[off / ds / 8] |= (uint8_t)(1u << (off / ds % 8));
			rm->noop_any = true;
		}
		atomic_fetch_add_explicit(&rm->skipped[VTD_INV_TYPE(q0) % RUN_INV_TYPES], 1,
					  memory_order_relaxed);
		if (slot < r->n_slots)
			atomic_fetch_add_explicit(&r->skipped[slot * (r->n_devs + 1) + d->index], 1,
						  memory_order_relaxed);
	}
}

static int shim_read(void *ctx, uint64_t offset, unsigned size, uint64_t *val)
{
	struct run_machine *rm = ctx;

	return vtd_mmio_read(rm->vtd, offset, size, val);
}

static int shim_write(void *ctx, uint64_t offset, unsigned size, uint64_t val)
{
	struct run_machine *rm = ctx;
	/* Without injection anywhere in the run there is nothing to filter. */
	bool tail = rm->run->any_skip && offset == VTD_REG_IQT && (size == 8 || size == 4);
	int ret;

	if (tail)
		filter_queue(rm, val);
	ret = vtd_mmio_write(rm->vtd, offset, size, val);
	if (tail && rm->noop_any) {
		memset(rm->noop, 0, sizeof(rm->noop));
		rm->noop_any = false;
	}
	return ret;
}

/* ---- building ----------------------------------------------------------------------------- */

/* The stage each translated device's default domain uses; AUTO never reaches here. */
static enum scenario_page_table dev_stage(const struct scenario_device *d)
{
	return d->dma.default_domain == SCENARIO_DOMAIN_PASS_THROUGH ? SCENARIO_PT_AUTO
								     : d->dma.page_table;
}

static int machine_setup(struct run *r, struct run_machine *rm, const struct vtd_config *vc,
			 uint64_t tables_base, uint64_t tables_size)
{
	const struct scenario *s = r->s;
	struct vtd_callbacks cb = {
	    .trace = run_trace_hook,
	    .stale = run_stale_hook,
	};
	struct intel_iommu_config dc = {
	    .mmio = {shim_read, shim_write, rm},
	    .name = NULL,
	    .default_stage = rm->stage == SCENARIO_PT_SECOND ? INTEL_IOMMU_STAGE_SECOND
							     : INTEL_IOMMU_STAGE_FIRST,
	    .fs_5level = vc->fs_5level,
	    .queue_pages = s->iommu.inv_queue_pages,
	    .quiet = true,
	};
	int ret;

	rm->run = r;
	rm->mem = r->mem;
	ret = mem_alloc_create(r->mem, tables_base, tables_size, &rm->alloc);
	if (ret)
		return ret;
	ret = vtd_create(vc, r->mem, &cb, rm, &rm->vtd);
	if (ret)
		return ret;
	if (s->iommu.checker) {
		ret = vtd_set_check(rm->vtd, true);
		if (ret)
			return ret;
	}
	ret = iommu_core_create(NULL, &rm->core);
	if (ret)
		return ret;
	dc.alloc = rm->alloc;
	return intel_iommu_create(rm->core, &dc, &rm->iommu);
}

/*
 * Memory layout: buffers from 1 MiB upwards (run_workload.c places them), the machines'
 * page allocators (tables, queues, coherent buffers) at the top, one equal share each.
 */
uint64_t run_tables_base(const struct run *r)
{
	uint64_t mem = r->s->memory, t = mem / 8;

	if (t < (4ull << 20))
		t = 4ull << 20;
	if (t > (512ull << 20))
		t = 512ull << 20;
	return (mem - t) & ~0xfffffull;
}

int run_machines_create(struct run *r)
{
	const struct scenario *s = r->s;
	enum scenario_page_table stages[2];
	struct vtd_config vc;
	uint64_t base, share;
	unsigned n = 0;
	bool adjusted;

	config_from(&s->iommu, &vc, &adjusted);
	if (vtd_config_validate(&vc)) {
		snprintf(r->setup_msg, sizeof(r->setup_msg), "%s: [iommu]: %s", s->file,
			 config_problem(&vc));
		return -EINVAL;
	}
	/* One unit per stage that translated devices use, in the order devices name them. */
	for (size_t i = 0; i < s->n_devices; i++) {
		enum scenario_page_table st = dev_stage(&s->devices[i]);
		bool seen = false;

		for (unsigned k = 0; k < n; k++)
			seen |= stages[k] == st;
		if (st != SCENARIO_PT_AUTO && !seen && n < 2)
			stages[n++] = st;
	}
	if (!n)
		stages[n++] = s->iommu.first_stage && s->iommu.mode == SCENARIO_MODE_SCALABLE
				  ? SCENARIO_PT_FIRST
				  : SCENARIO_PT_SECOND;
	r->mem = mem_create_sparse(s->memory);
	if (!r->mem) {
		/* The sparse memory reserves its whole size of address space up front. */
		snprintf(r->setup_msg, sizeof(r->setup_msg),
			 "%s: cannot reserve %" PRIu64 " MiB of address space for the simulated "
			 "memory ([scenario] memory): %s",
			 s->file, s->memory >> 20, strerror(errno));
		return -ENOMEM;
	}
	r->machines = calloc(n, sizeof(*r->machines));
	if (!r->machines)
		return -ENOMEM;
	r->n_machines = n;
	base = run_tables_base(r);
	share = ((s->memory - base) / n) & ~0xfffull;
	for (unsigned k = 0; k < n; k++) {
		struct run_machine *rm = &r->machines[k];
		int ret;

		rm->index = k;
		rm->stage = stages[k];
		ret = machine_setup(r, rm, &vc, base + k * share, share);
		if (ret) {
			snprintf(r->setup_msg, sizeof(r->setup_msg),
				 "%s: cannot build VT-d unit %u: %s", s->file, k, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void run_machines_destroy(struct run *r)
{
	for (unsigned k = 0; k < r->n_machines; k++) {
		struct run_machine *rm = &r->machines[k];

		if (rm->iommu && intel_iommu_destroy(rm->iommu))
			run_note_stack_error(r, "VT-d unit %u could not be torn down", k);
		if (rm->core)
			iommu_core_destroy(rm->core);
		vtd_destroy(rm->vtd);
		mem_alloc_destroy(rm->alloc);
	}
	free(r->machines);
	r->machines = NULL;
	r->n_machines = 0;
	mem_destroy(r->mem);
	r->mem = NULL;
}

/* The machine a device goes on: the unit of its stage (pass-through devices: the first). */
struct run_machine *run_machine_for(struct run *r, const struct scenario_device *sd)
{
	enum scenario_page_table st = dev_stage(sd);

	for (unsigned k = 0; k < r->n_machines; k++)
		if (r->machines[k].stage == st)
			return &r->machines[k];
	return &r->machines[0];
}

struct run_device *run_device_by_rid(struct run *r, const struct run_machine *rm, uint16_t rid)
{
	for (size_t i = 0; i < r->n_devs; i++)
		if (r->devs[i].rm == rm && r->devs[i].sd->rid == rid)
			return &r->devs[i];
	return NULL;
}

/* Device names for the graph: the scenario's, by requester ID on that unit. */
const char *run_dot_device_name(void *ctx, uint16_t rid)
{
	struct run_machine *rm = ctx;
	struct run_device *d = run_device_by_rid(rm->run, rm, rid);

	return d ? d->sd->name : NULL;
}
