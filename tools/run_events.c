// SPDX-License-Identifier: MIT
/*
 * What the hardware tells the runner: the VT-d model's trace hook (faults, invalidations
 * carried out, translations), check mode's stale-translation reports, and the device TLBs'
 * checker. Each is counted in the current slot against the device it concerns, and
 * recorded in the trace when there is one.
 *
 * These run on whatever thread caused the event (a workload thread, a DSA engine, a flush
 * timer), the model's trace hook with the unit's register lock held: they take only the
 * run's own mutex and never call back into the model.
 */
#include "run.h"
#include "trace.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <softiommu/vtd_regs.h>

/* Set while the device-TLB checker asks the unit for its reference translation: what
 * that request causes is the checker's doing, not the workload's. */
static _Thread_local bool in_reference;

void run_note_stack_error(struct run *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->lock);
	if (!r->stack_errors++) {
		va_start(ap, fmt);
		vsnprintf(r->stack_msg, sizeof(r->stack_msg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&r->lock);
}

static unsigned cur_slot(struct run *r)
{
	return atomic_load_explicit(&r->cur, memory_order_relaxed);
}

static int dev_index(struct run *r, struct run_machine *rm, uint16_t rid)
{
	struct run_device *d = run_device_by_rid(r, rm, rid);

	return d ? (int)d->index : -1;
}

static unsigned pid_of(struct run *r, struct run_machine *rm, int dev)
{
	return dev >= 0 ? run_pid_dev(dev) : run_pid_unit(r, rm->index);
}

/* ---- faults --------------------------------------------------------------------------------- */

static void count_fault(struct run *r, int dev, const struct pci_req *req, uint8_t reason,
			bool recorded)
{
	unsigned slot = cur_slot(r);
	bool has_pasid = req->flags & PCI_REQ_PASID;
	uint32_t pasid = has_pasid ? req->pasid : 0;
	struct run_fault *f = NULL;

	if (slot >= r->n_slots)
		return;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n_faults && !f; i++) {
		struct run_fault *g = &r->faults[i];

		if (g->slot == slot && g->device == dev && g->has_pasid == has_pasid &&
		    g->pasid == pasid && g->reason == reason)
			f = g;
	}
	if (!f && r->n_faults == r->cap_faults) {
		size_t cap = r->cap_faults ? 2 * r->cap_faults : 16;
		struct run_fault *n = realloc(r->faults, cap * sizeof(*n));

		if (n) {
			r->faults = n;
			r->cap_faults = cap;
		}
	}
	if (!f && r->n_faults < r->cap_faults) {
		f = &r->faults[r->n_faults++];
		*f = (struct run_fault){.slot = slot,
					.device = dev,
					.has_pasid = has_pasid,
					.pasid = pasid,
					.reason = reason,
					.first_addr = req->addr};
	}
	if (f) {
		f->count++;
		f->recorded += recorded;
	} else {
		r->faults_lost++;
	}
	pthread_mutex_unlock(&r->lock);
}

static void on_fault(struct run_machine *rm, const struct vtd_trace_event *ev)
{
	struct run *r = rm->run;
	const struct pci_req *req = ev->fault.req;
	int dev = dev_index(r, rm, req->rid);
	const char *name = scenario_fault_reason_name(ev->fault.reason);

	count_fault(r, dev, req, ev->fault.reason, ev->fault.fate == VTD_FAULT_RECORDED);
	if (r->trace) {
		struct trace_arg a[] = {
		    {"reason", ev->fault.reason, true},
		    {"addr", req->addr, true},
		    {"pasid", req->flags & PCI_REQ_PASID ? req->pasid : 0, false},
		    {"recorded", ev->fault.fate == VTD_FAULT_RECORDED, false},
		};
		trace_instant(r->trace, pid_of(r, rm, dev), "fault", "fault", a, 4, "condition",
			      name ? name : "?");
	}
}

/* ---- translations --------------------------------------------------------------------------- */

static const char *at_name(unsigned at)
{
	static const char *const n[] = {"untranslated", "translation request", "translated"};

	return at < 3 ? n[at] : "?";
}

static void on_translate(struct run_machine *rm, const struct vtd_trace_event *ev)
{
	struct run *r = rm->run;
	const struct pci_req *req = ev->xlate.req;
	const struct pci_resp *resp = ev->xlate.resp;
	uint64_t n;
	int dev;

	/* An ATS translation request that finds no usable page completes with R = W = 0 and
	 * no fault record (the device reports the failure): still a translation fault. */
	if (req->at == PCI_AT_TRANSLATION && resp->status == PCI_SC &&
	    !(resp->perm & (PCI_PERM_R | PCI_PERM_W | PCI_PERM_U)))
		count_fault(r, dev_index(r, rm, req->rid), req, 0, false);
	if (!r->trace || !r->o->trace_sample)
		return; /* no shared counter to bump: device threads translate concurrently */
	n = atomic_fetch_add_explicit(&rm->translations, 1, memory_order_relaxed) + 1;
	if (n % r->o->trace_sample)
		return;
	dev = dev_index(r, rm, req->rid);
	{
		struct trace_arg a[] = {
		    {"addr", req->addr, true},
		    {"out", resp->status == PCI_SC ? resp->addr : 0, true},
		    {"page_size", resp->page_size, false},
		    {"pasid", req->flags & PCI_REQ_PASID ? req->pasid : 0, false},
		};
		trace_instant(r->trace, pid_of(r, rm, dev), "translation", "translate", a, 4, "at",
			      at_name(req->at));
	}
}

/* ---- invalidations -------------------------------------------------------------------------- */

static unsigned gran_of(unsigned g)
{
	switch (g) {
	case VTD_INV_GRAN_GLOBAL:
	case VTD_INV_GRAN_ALL_PASID:
		return SCENARIO_IG_GLOBAL;
	case VTD_INV_GRAN_DOMAIN:
		return SCENARIO_IG_DOMAIN;
	case VTD_INV_GRAN_DEVICE:
		return SCENARIO_IG_DEVICE;
	case VTD_INV_GRAN_PAGE:
	case VTD_INV_GRAN_PASID_PAGE:
		return SCENARIO_IG_PAGE;
	case VTD_INV_GRAN_PASID:
		return SCENARIO_IG_PASID;
	default:
		return SCENARIO_IG_ANY; /* "none": waits, interrupt entries */
	}
}

/* Does the invalidation concern device `d` (digest 5.2-5.9: by SID or by DID)? */
static bool concerns(const struct run_device *d, const struct vtd_trace_event *ev)
{
	unsigned type = ev->inv.type;
	int did = atomic_load_explicit(&d->did, memory_order_relaxed);

	if (type == VTD_INV_DEVTLB || type == VTD_INV_PDEVTLB)
		return ev->inv.sid == d->sd->rid;
	if (type == VTD_INV_WAIT || type == VTD_INV_IEC)
		return false;
	if (ev->inv.gran == VTD_INV_GRAN_GLOBAL)
		return true;
	if (type == VTD_INV_CC && ev->inv.gran == VTD_INV_GRAN_DEVICE)
		return ev->inv.sid == d->sd->rid;
	return did >= 0 && ev->inv.did == (unsigned)did;
}

static void on_inv(struct run_machine *rm, const struct vtd_trace_event *ev)
{
	struct run *r = rm->run;
	unsigned slot = cur_slot(r), type = ev->inv.type, gran = gran_of(ev->inv.gran);
	int first = -1;

	if (rm->noop_any && ev->inv.desc && rm->desc_size &&
	    ev->inv.offset / rm->desc_size < RUN_QUEUE_SLOTS) {
		unsigned s = ev->inv.offset / rm->desc_size;

		if (rm->noop[s / 8] & (1u << (s % 8)))
			return; /* a descriptor the injection removed: counted by the shim */
	}
	if (ev->inv.result != VTD_INV_RES_DONE) {
		atomic_fetch_add_explicit(&r->inv_failed, 1, memory_order_relaxed);
		return;
	}
	if (slot >= r->n_slots || type == 0 || type >= RUN_INV_TYPES)
		return;
	atomic_fetch_add_explicit(run_inv(r, slot, r->n_devs, type, gran), 1, memory_order_relaxed);
	for (size_t i = 0; i < r->n_devs; i++) {
		if (r->devs[i].rm != rm || !concerns(&r->devs[i], ev))
			continue;
		atomic_fetch_add_explicit(run_inv(r, slot, i, type, gran), 1, memory_order_relaxed);
		if (first < 0)
			first = (int)i;
	}
	if (r->trace && type != VTD_INV_WAIT) {
		struct trace_arg a[] = {
		    {"did", ev->inv.did, false},
		    {"pasid", ev->inv.pasid, false},
		    {"addr", ev->inv.addr, true},
		    {"size", ev->inv.size, true},
		};
		trace_instant(r->trace, run_pid_unit(r, rm->index), "invalidation",
			      run_inv_type_name(type), a, 4, "granularity",
			      run_inv_gran_name(gran));
	}
}

void run_trace_hook(void *ctx, const struct vtd_trace_event *ev)
{
	struct run_machine *rm = ctx;

	if (in_reference)
		return;
	switch (ev->kind) {
	case VTD_TRACE_TRANSLATE:
		on_translate(rm, ev);
		break;
	case VTD_TRACE_FAULT:
		on_fault(rm, ev);
		break;
	case VTD_TRACE_INV:
		on_inv(rm, ev);
		break;
	default:
		break;
	}
}

/* ---- checker findings ----------------------------------------------------------------------- */

static void describe_resp(const struct pci_resp *p, char *buf, size_t n)
{
	const char *name;

	if (p->status != PCI_SC) {
		name = scenario_fault_reason_name(p->fault);
		snprintf(buf, n, "fault %#x %s", p->fault, name ? name : "");
		return;
	}
	if (!(p->perm & (PCI_PERM_R | PCI_PERM_W)))
		snprintf(buf, n, "no translation (R=W=0)");
	else
		snprintf(buf, n, "pa %#llx size %#llx %s%s", (unsigned long long)p->addr,
			 (unsigned long long)p->page_size, p->perm & PCI_PERM_R ? "R" : "",
			 p->perm & PCI_PERM_W ? "W" : "");
}

static void add_finding(struct run *r, const struct run_finding *f)
{
	struct run_finding_group *g = NULL;

	pthread_mutex_lock(&r->lock);
	r->findings_total++;
	for (size_t i = 0; i < r->n_groups && !g; i++) {
		struct run_finding_group *x = &r->groups[i];

		if (x->slot == f->slot && x->device == f->device && x->has_pasid == f->has_pasid &&
		    x->pasid == f->pasid && x->cache == f->cache)
			g = x;
	}
	if (!g && r->n_groups == r->cap_groups) {
		size_t cap = r->cap_groups ? 2 * r->cap_groups : 16;
		struct run_finding_group *n = realloc(r->groups, cap * sizeof(*n));

		if (n) {
			r->groups = n;
			r->cap_groups = cap;
		}
	}
	if (!g && r->n_groups < r->cap_groups) {
		g = &r->groups[r->n_groups++];
		*g = (struct run_finding_group){.slot = f->slot,
						.device = f->device,
						.has_pasid = f->has_pasid,
						.pasid = f->pasid,
						.cache = f->cache};
	}
	if (g)
		g->count++;
	else
		r->findings_lost++;
	if (r->n_findings < RUN_MAX_FINDINGS && r->n_findings < r->o->findings_shown)
		r->findings[r->n_findings++] = *f;
	pthread_mutex_unlock(&r->lock);
	if (r->trace) {
		struct trace_arg a[] = {
		    {"addr", f->addr, true},
		    {"pasid", f->has_pasid ? f->pasid : 0, false},
		    {"did", f->did, false},
		};
		trace_instant(r->trace, f->device >= 0 ? run_pid_dev(f->device) : TRACE_PID_RUN,
			      "checker", "stale translation", a, 3, "missing", f->missing);
	}
}

void run_stale_hook(void *ctx, const struct vtd_stale *st)
{
	struct run_machine *rm = ctx;
	struct run *r = rm->run;
	static const enum scenario_cache_id cache[] = {
	    [VTD_CACHE_CONTEXT] = SCENARIO_CACHE_CONTEXT,
	    [VTD_CACHE_PASID] = SCENARIO_CACHE_PASID,
	    [VTD_CACHE_IOTLB] = SCENARIO_CACHE_IOTLB,
	};
	struct run_finding f = {
	    .slot = cur_slot(r),
	    .device = dev_index(r, rm, st->sid),
	    .has_pasid = st->has_pasid,
	    .pasid = st->pasid,
	    .cache = st->cache < VTD_CACHE_COUNT ? cache[st->cache] : SCENARIO_CACHE_ANY,
	    .addr = st->addr,
	    .did = st->did,
	};

	if (f.slot >= r->n_slots)
		return;
	describe_resp(&st->cached, f.held, sizeof(f.held));
	describe_resp(&st->memory, f.memory, sizeof(f.memory));
	snprintf(f.missing, sizeof(f.missing), "%s", st->missing ? st->missing : "?");
	snprintf(f.detail, sizeof(f.detail), "%s", st->detail);
	add_finding(r, &f);
}

void run_atc_mismatch(void *ctx, const struct pci_atc_mismatch *m)
{
	struct run_device *d = ctx;
	struct run *r = d->rm->run;
	struct run_finding f = {
	    .slot = cur_slot(r),
	    .device = (int)d->index,
	    .has_pasid = m->has_pasid,
	    .pasid = m->pasid,
	    .cache = SCENARIO_CACHE_DEVTLB,
	    .addr = m->addr,
	    .did = (uint16_t)atomic_load(&d->did),
	};

	if (f.slot >= r->n_slots)
		return;
	snprintf(f.held, sizeof(f.held), "pa %#llx size %#llx %s%s", (unsigned long long)m->atc_pa,
		 (unsigned long long)m->atc.size, m->atc.perm & PCI_PERM_R ? "R" : "",
		 m->atc.perm & PCI_PERM_W ? "W" : "");
	if (m->ref_err)
		snprintf(f.memory, sizeof(f.memory), "reference translation failed (%d)",
			 m->ref_err);
	else
		describe_resp(&m->ref, f.memory, sizeof(f.memory));
	if (m->has_pasid)
		snprintf(f.missing, sizeof(f.missing),
			 "PASID-based device-TLB invalidation (type 8) of %#llx for PASID %u",
			 (unsigned long long)m->addr, m->pasid);
	else
		snprintf(f.missing, sizeof(f.missing), "device-TLB invalidation (type 3) of %#llx",
			 (unsigned long long)m->addr);
	snprintf(f.detail, sizeof(f.detail), "the device TLB of %s served a %s", d->sd->name,
		 m->write ? "write" : "read");
	add_finding(r, &f);
}

/*
 * The device-TLB checker's reference: the unit's answer to a translation request for the
 * page. The unit's own check mode vouches for that answer (a stale IOTLB entry behind it
 * is reported there); what the reference request itself causes is not counted.
 */
int run_ref_translate(void *ctx, const struct pci_req *req, struct pci_resp *resp)
{
	struct run_device *d = ctx;
	int ret;

	in_reference = true;
	ret = vtd_translate(d->rm->vtd, req, resp);
	in_reference = false;
	return ret;
}
