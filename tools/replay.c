// SPDX-License-Identifier: MIT
/*
 * `softiommu replay FILE...`: run conformance vectors (docs/vectors.md) against the VT-d
 * model through its public interface only: MMIO accesses, memory, and translation
 * requests, exactly as software and devices reach it.
 *
 * Each file is read whole first (tools/vector_reader.c), then checked (configuration field
 * names and values, image files), then run statement by statement. A mismatch prints
 * `file:line: expected ..., got ...` and the run goes on; an input error prints
 * `file:line:column: ...` and stops that file. Exit status: 0 all checks passed, 1 a
 * mismatch, 2 an input or usage error.
 */
#include "commands.h"
#include "replay.h"

#include <softiommu/mem.h>
#include <softiommu/pci.h>
#include <softiommu/vtd.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- configuration fields by name ------------------------------------------------------ */

enum cfg_type { CFG_BOOL, CFG_UNSIGNED };

#define CFG_B(f)                                                                                   \
	{                                                                                          \
#f, offsetof(struct vtd_config, f), CFG_BOOL                                       \
	}
#define CFG_U(f)                                                                                   \
	{                                                                                          \
#f, offsetof(struct vtd_config, f), CFG_UNSIGNED                                   \
	}
#define CFG_G(c, f)                                                                                \
	{                                                                                          \
#c "_" #f, offsetof(struct vtd_config, c.f), CFG_UNSIGNED                          \
	}

/* Every field of struct vtd_config, under its C name; cache geometry as <cache>_sets and
 * <cache>_ways. `memory` (the size of physical memory) is the replayer's own. */
static const struct {
	const char *name;
	size_t offset;
	enum cfg_type type;
} cfg_fields[] = {
    CFG_U(version),
    CFG_U(mgaw),
    CFG_U(haw),
    CFG_U(sagaw),
    CFG_B(scalable),
    CFG_B(first_stage),
    CFG_B(second_stage),
    CFG_B(nested),
    CFG_B(pass_through),
    CFG_B(fs_5level),
    CFG_B(fs_1g),
    CFG_B(ss_2m),
    CFG_B(ss_1g),
    CFG_U(pasid_bits),
    CFG_B(dev_tlb),
    CFG_B(dev_tlb_throttle),
    CFG_B(caching_mode),
    CFG_B(supervisor_requests),
    CFG_B(execute_requests),
    CFG_B(ss_ad),
    CFG_B(queued_invalidation),
    CFG_B(rid_pasid),
    CFG_B(rid_priv),
    CFG_B(fs_ea),
    CFG_B(nwfs),
    CFG_B(rwbf),
    CFG_B(psi),
    CFG_U(mamv),
    CFG_B(drain_reads),
    CFG_B(drain_writes),
    CFG_B(zlr),
    CFG_B(coherent),
    CFG_B(sm_pwc),
    CFG_B(snoop_control),
    CFG_B(intr_remap),
    CFG_B(x2apic),
    CFG_B(abort_dma),
    CFG_B(esrtps),
    CFG_U(nfr),
    CFG_U(did_bits),
    CFG_U(iro),
    CFG_U(fro),
    CFG_G(context_cache, sets),
    CFG_G(context_cache, ways),
    CFG_G(pasid_cache, sets),
    CFG_G(pasid_cache, ways),
    CFG_G(iotlb, sets),
    CFG_G(iotlb, ways),
    CFG_G(pscache, sets),
    CFG_G(pscache, ways),
};

#define NCFG (sizeof(cfg_fields) / sizeof(cfg_fields[0]))

static int cfg_find(const char *name)
{
	for (size_t i = 0; i < NCFG; i++)
		if (!strcmp(cfg_fields[i].name, name))
			return (int)i;
	return -1;
}

static uint64_t cfg_get(const struct vtd_config *cfg, size_t i)
{
	const char *base = (const char *)cfg + cfg_fields[i].offset;

	if (cfg_fields[i].type == CFG_BOOL)
		return *(const bool *)(const void *)base;
	return *(const unsigned *)(const void *)base;
}

static void cfg_set(struct vtd_config *cfg, size_t i, uint64_t v)
{
	char *base = (char *)cfg + cfg_fields[i].offset;

	if (cfg_fields[i].type == CFG_BOOL)
		*(bool *)(void *)base = v != 0;
	else
		*(unsigned *)(void *)base = (unsigned)v;
}

/* ---- one run ---------------------------------------------------------------------------- */

void replay_input_error(struct replay *r, const struct vec_stmt *s, unsigned col, const char *fmt,
			...)
{
	va_list ap;

	fflush(stdout); /* keep the report in file order when both go to one place */
	fprintf(stderr, "%s:%u:%u: ", r->vf->name, s->line, col ? col : s->col);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	r->input_error = true;
}

/* Report one check: a mismatch always, a pass with -v. */
void replay_report(struct replay *r, const struct vec_stmt *s, bool ok, const char *expected,
		   const char *got)
{
	r->checks++;
	if (!ok) {
		r->mismatches++;
		printf("%s:%u: expected %s, got %s\n", r->vf->name, s->line, expected, got);
	} else if (r->verbose) {
		printf("%s:%u: ok: %s\n", r->vf->name, s->line, expected);
	}
}

static void fault_event_cb(void *ctx, uint32_t data, uint64_t addr)
{
	struct replay *r = ctx;

	r->fault_events++;
	r->last_data = data;
	r->last_addr = addr;
}

static void inv_event_cb(void *ctx, uint32_t data, uint64_t addr)
{
	struct replay *r = ctx;

	r->inv_events++;
	r->last_inv_data = data;
	r->last_inv_addr = addr;
}

static void model_destroy(struct replay *r)
{
	/* The unit first: once it is gone nothing calls the endpoints' ports. */
	vtd_destroy(r->vtd);
	replay_eps_destroy(r);
	mem_destroy(r->mem);
	r->vtd = NULL;
	r->mem = NULL;
}

static void model_begin(struct replay *r, unsigned line)
{
	model_destroy(r);
	vtd_config_default(&r->cfg);
	r->mem_size = VEC_MEMORY_DFLT;
	r->check = false;
	r->model_line = line;
	r->fault_events = r->inv_events = 0;
	r->last_data = r->last_addr = r->last_inv_data = r->last_inv_addr = 0;
	r->iq_pending = false;
	r->nstale = 0;
	memset(&r->prev_stats, 0, sizeof(r->prev_stats));
}

/* Create the model the `config` statements describe, on its first use. */
static bool model_need(struct replay *r, const struct vec_stmt *s)
{
	static const struct vtd_callbacks cb = {
	    .fault_event = fault_event_cb, .inv_event = inv_event_cb, .stale = replay_stale_cb};
	int ret;

	if (r->vtd)
		return true;
	if (vtd_config_validate(&r->cfg)) {
		replay_input_error(r, s, 1,
				   "the configuration of the model started at line %u is not valid "
				   "(see vtd_config_validate() in vtd.h)%s",
				   r->model_line,
				   r->cfg.scalable
				       ? ""
				       : "; a legacy unit (scalable off) also needs first_stage, "
					 "second_stage, nested, fs_5level, fs_1g, fs_ea, ss_ad, "
					 "supervisor_requests and execute_requests off and "
					 "pasid_bits 0");
		return false;
	}
	r->mem = mem_create_sparse(r->mem_size);
	if (!r->mem) {
		replay_input_error(r, s, 1, "cannot reserve 0x%" PRIx64 " bytes of memory: %s",
				   r->mem_size, strerror(errno));
		return false;
	}
	ret = vtd_create(&r->cfg, r->mem, &cb, r, &r->vtd);
	if (ret) {
		replay_input_error(r, s, 1, "cannot create the model: %s", strerror(-ret));
		return false;
	}
	ret = vtd_set_check(r->vtd, r->check);
	if (ret) {
		replay_input_error(r, s, 1,
				   "cannot turn check mode on: %s (a build without the "
				   "checker)",
				   strerror(-ret));
		return false;
	}
	return true;
}

/* ---- memory ----------------------------------------------------------------------------- */

bool replay_mem_failed(struct replay *r, const struct vec_stmt *s, int ret, uint64_t addr,
		       uint64_t len)
{
	if (!ret)
		return false;
	replay_input_error(r, s, 0,
			   "memory access 0x%" PRIx64 "+0x%" PRIx64
			   " failed: %s (memory is 0x%" PRIx64 " bytes; see `config memory`)",
			   addr, len, strerror(-ret), r->mem_size);
	return true;
}

static void do_mem_write(struct replay *r, const struct vec_stmt *s)
{
	unsigned w = s->u.write.width;

	for (size_t i = 0; i < s->u.write.count; i++) {
		uint64_t v = s->u.write.values[i], a = s->u.write.addr + i * w;
		uint32_t v32 = (uint32_t)v;
		int ret = mem_write(r->mem, a, w == 8 ? (void *)&v : (void *)&v32, w);

		if (replay_mem_failed(r, s, ret, a, w))
			return;
	}
}

static char *image_path(struct replay *r, const char *path)
{
	size_t n = strlen(r->dir) + strlen(path) + 2;
	char *p = malloc(n);

	if (!p)
		return NULL;
	if (path[0] == '/')
		snprintf(p, n, "%s", path);
	else
		snprintf(p, n, "%s/%s", r->dir, path);
	return p;
}

static void do_mem_load(struct replay *r, const struct vec_stmt *s)
{
	char *path = image_path(r, s->u.load.path);
	FILE *fp = path ? fopen(path, "rb") : NULL;
	uint64_t addr = s->u.load.addr;
	char buf[65536];
	size_t n;

	if (!fp) {
		replay_input_error(r, s, s->u.load.path_col, "cannot open image '%s': %s",
				   path ? path : s->u.load.path, strerror(errno));
		free(path);
		return;
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		if (replay_mem_failed(r, s, mem_write(r->mem, addr, buf, n), addr, n))
			break;
		addr += n;
	}
	if (ferror(fp))
		replay_input_error(r, s, s->u.load.path_col, "cannot read image '%s'", path);
	fclose(fp);
	free(path);
}

static void check_value(struct replay *r, const struct vec_stmt *s, const char *what, uint64_t got)
{
	char e[160], g[64];
	uint64_t mask = s->u.access.mask, full = s->u.access.width == 8 ? UINT64_MAX : 0xffffffff;

	if (mask == full)
		snprintf(e, sizeof(e), "%s 0x%" PRIx64, what, s->u.access.value);
	else
		snprintf(e, sizeof(e), "%s 0x%" PRIx64 " under mask 0x%" PRIx64, what,
			 s->u.access.value, mask);
	snprintf(g, sizeof(g), "0x%" PRIx64, got);
	replay_report(r, s, (got & mask) == s->u.access.value, e, g);
}

static void do_mem_read(struct replay *r, const struct vec_stmt *s)
{
	uint64_t v = 0;
	char what[48];

	if (replay_mem_failed(r, s, mem_read(r->mem, s->u.access.addr, &v, s->u.access.width),
			      s->u.access.addr, s->u.access.width))
		return;
	snprintf(what, sizeof(what), "memory at 0x%" PRIx64 " =", s->u.access.addr);
	check_value(r, s, what, v);
}

/* ---- MMIO ------------------------------------------------------------------------------- */

static uint64_t mmio_offset(struct replay *r, const struct vec_stmt *s)
{
	uint64_t iro = VTD_GET(vtd_ecap(r->vtd), VTD_ECAP_IRO) * 16;

	switch (s->u.access.base) {
	case VEC_BASE_FRCD:
		return VTD_GET(vtd_cap(r->vtd), VTD_CAP_FRO) * 16 + s->u.access.addr;
	case VEC_BASE_IVA:
		return iro + VTD_REG_IVA_OFF + s->u.access.addr;
	case VEC_BASE_IOTLB:
		return iro + VTD_REG_IOTLB_OFF + s->u.access.addr;
	default:
		return s->u.access.addr;
	}
}

static void do_mmio(struct replay *r, const struct vec_stmt *s)
{
	uint64_t off = mmio_offset(r, s), v = 0;
	char what[64], got[48];
	int ret;

	if (s->kind == VEC_MMIO_WRITE) {
		ret = vtd_mmio_write(r->vtd, off, s->u.access.width, s->u.access.value);
		snprintf(what, sizeof(what), "MMIO write to 0x%" PRIx64 " accepted", off);
	} else {
		ret = vtd_mmio_read(r->vtd, off, s->u.access.width, &v);
		snprintf(what, sizeof(what), "MMIO read of 0x%" PRIx64 " accepted", off);
	}
	if (s->u.access.error) {
		snprintf(what, sizeof(what), "the model to refuse an access to 0x%" PRIx64, off);
		replay_report(r, s, ret != 0, what, "it accepted it");
		return;
	}
	if (ret) {
		snprintf(got, sizeof(got), "error %d (%s)", ret, strerror(-ret));
		replay_report(r, s, false, what, got);
		return;
	}
	if (s->kind == VEC_MMIO_READ && s->u.access.check) {
		snprintf(what, sizeof(what), "register 0x%" PRIx64 " =", off);
		check_value(r, s, what, v);
	}
}

/* ---- translation ------------------------------------------------------------------------ */

void replay_format_size(uint64_t v, char *buf, size_t n)
{
	if (v >= (1ull << 30) && !(v & ((1ull << 30) - 1)))
		snprintf(buf, n, "%" PRIu64 "G", v >> 30);
	else if (v >= (1ull << 20) && !(v & ((1ull << 20) - 1)))
		snprintf(buf, n, "%" PRIu64 "M", v >> 20);
	else if (v >= 1024 && !(v & 1023))
		snprintf(buf, n, "%" PRIu64 "K", v >> 10);
	else
		snprintf(buf, n, "0x%" PRIx64, v);
}

void replay_format_reason(uint64_t code, char *buf, size_t n)
{
	const char *name = vec_reason_name((unsigned)code);

	if (name)
		snprintf(buf, n, "0x%02" PRIx64 " (%s)", code, name);
	else
		snprintf(buf, n, "0x%02" PRIx64, code);
}

static const char *const status_names[] = {"sc", "ur", "ca"};

static const char *status_name(unsigned st)
{
	return st < 3 ? status_names[st] : "?";
}

/* What the vector asked for, in the vector's own words. */
static void format_expected(const struct vec_result *x, char *buf, size_t n)
{
	size_t len = 0;
	char t[48];

#define ADD(...) len += (size_t)snprintf(buf + len, len < n ? n - len : 0, __VA_ARGS__)
	if (x->fault) {
		if (x->reason_any)
			snprintf(t, sizeof(t), "any");
		else
			replay_format_reason(x->reason.value, t, sizeof(t));
		ADD("fault %s %s", t, x->recorded.value ? "recorded" : "unrecorded");
	} else {
		ADD("ok");
		if (x->addr.set)
			ADD(" 0x%" PRIx64, x->addr.value);
		if (x->size.set) {
			replay_format_size(x->size.value, t, sizeof(t));
			ADD(" size=%s", t);
		}
		if (x->perm.set) {
			vec_format_perm(x->perm.value, t);
			ADD(" perm=%s", t);
			if (x->perm_mask != 0x3f) {
				vec_format_perm(x->perm_mask, t);
				ADD("/%s", t);
			}
		}
		if (x->reason.set) {
			replay_format_reason(x->reason.value, t, sizeof(t));
			ADD(" fault=%s", t);
		}
		if (x->recorded.set)
			ADD(" %s", x->recorded.value ? "recorded" : "unrecorded");
	}
	if (x->status.set)
		ADD(" status=%s", status_name((unsigned)x->status.value));
	if (x->iotlb.set)
		ADD(" iotlb=%s", x->iotlb.value ? "hit" : "miss");
#undef ADD
}

/* How the IOTLB took part in one translation (its hit and miss counters around it). */
enum iotlb_use { IOTLB_MISS, IOTLB_HIT, IOTLB_UNUSED };

static const char *const iotlb_use_names[] = {"miss", "hit", "unused"};

/* What the model answered, in the same words. */
static void format_got(const struct pci_resp *resp, enum iotlb_use use, char *buf, size_t n)
{
	bool rec = resp->flags & PCI_RESP_FAULT_RECORDED;
	char sz[32], perm[8], reason[32];
	int len;

	replay_format_reason(resp->fault, reason, sizeof(reason));
	if (resp->status != PCI_SC) {
		len = snprintf(buf, n, "fault %s %s status=%s", reason,
			       rec ? "recorded" : "unrecorded", status_name(resp->status));
	} else {
		replay_format_size(resp->page_size, sz, sizeof(sz));
		vec_format_perm(resp->perm, perm);
		len = snprintf(buf, n, "ok 0x%" PRIx64 " size=%s perm=%s%s%s%s", resp->addr, sz,
			       perm, resp->fault ? " fault=" : "", resp->fault ? reason : "",
			       rec ? " recorded" : "");
	}
	if (len > 0 && (size_t)len < n)
		snprintf(buf + len, n - (size_t)len, " iotlb=%s", iotlb_use_names[use]);
}

static bool result_matches(const struct vec_result *x, const struct pci_resp *resp,
			   enum iotlb_use use)
{
	bool rec = resp->flags & PCI_RESP_FAULT_RECORDED;

	if (x->iotlb.set && use != (x->iotlb.value ? IOTLB_HIT : IOTLB_MISS))
		return false;
	if (x->status.set ? resp->status != x->status.value : (resp->status == PCI_SC) == x->fault)
		return false;
	if (x->reason.set ? resp->fault != x->reason.value : !x->reason_any && resp->fault)
		return false;
	if (x->recorded.set ? rec != (x->recorded.value != 0) : rec)
		return false;
	if (x->fault)
		return true;
	return (!x->addr.set || resp->addr == x->addr.value) &&
	       (!x->size.set || resp->page_size == x->size.value) &&
	       (!x->perm.set || (resp->perm & x->perm_mask) == x->perm.value);
}

static void do_translate(struct replay *r, const struct vec_stmt *s)
{
	const struct vec_translate *t = &s->u.translate;
	struct pci_req req = {.addr = t->addr, .pasid = t->pasid, .rid = t->sid, .at = t->at};
	struct vtd_cache_stats before, after;
	enum iotlb_use use = IOTLB_UNUSED;
	struct pci_resp resp;
	char e[200], g[200];
	int ret;

	req.flags = (t->has_pasid ? PCI_REQ_PASID : 0) | (t->read ? PCI_REQ_READ : 0) |
		    (t->write ? PCI_REQ_WRITE : 0) | (t->priv ? PCI_REQ_PRIV : 0) |
		    (t->exec ? PCI_REQ_EXEC : 0) | (t->nw ? PCI_REQ_NW : 0);
	memset(&resp, 0, sizeof(resp));
	vtd_get_cache_stats(r->vtd, &before);
	ret = vtd_translate(r->vtd, &req, &resp);
	vtd_get_cache_stats(r->vtd, &after);
	format_expected(&t->expect, e, sizeof(e));
	if (ret) {
		snprintf(g, sizeof(g), "error %d (%s) from vtd_translate()", ret, strerror(-ret));
		replay_report(r, s, false, e, g);
		return;
	}
	/* A hit counts one IOTLB hit; a walk that found no entry one miss. */
	if (after.cache[VTD_CACHE_IOTLB].hits != before.cache[VTD_CACHE_IOTLB].hits)
		use = IOTLB_HIT;
	else if (after.cache[VTD_CACHE_IOTLB].misses != before.cache[VTD_CACHE_IOTLB].misses)
		use = IOTLB_MISS;
	format_got(&resp, use, g, sizeof(g));
	replay_report(r, s, result_matches(&t->expect, &resp, use), e, g);
}

/* ---- fault status and records ----------------------------------------------------------- */

static uint64_t field_value(enum vec_field f, uint64_t fsts, uint64_t q0, uint64_t q1)
{
	switch (f) {
	case VEC_F_PFO:
		return !!(fsts & VTD_FSTS_PFO);
	case VEC_F_PPF:
		return !!(fsts & VTD_FSTS_PPF);
	case VEC_F_AFO:
		return !!(fsts & VTD_FSTS_AFO);
	case VEC_F_APF:
		return !!(fsts & VTD_FSTS_APF);
	case VEC_F_IQE:
		return !!(fsts & VTD_FSTS_IQE);
	case VEC_F_ICE:
		return !!(fsts & VTD_FSTS_ICE);
	case VEC_F_ITE:
		return !!(fsts & VTD_FSTS_ITE);
	case VEC_F_FRI:
		return VTD_GET(fsts, VTD_FSTS_FRI);
	case VEC_F_F:
		return !!(q1 & VTD_FRCD_Q1_F);
	case VEC_F_FR:
		return VTD_GET(q1, VTD_FRCD_Q1_FR);
	case VEC_F_SID:
		return VTD_GET(q1, VTD_FRCD_Q1_SID);
	case VEC_F_FI:
		return q0 & VTD_FRCD_Q0_FI_MASK;
	case VEC_F_PP:
		return !!(q1 & VTD_FRCD_Q1_PP);
	case VEC_F_PV:
		return VTD_GET(q1, VTD_FRCD_Q1_PV);
	case VEC_F_AT:
		return VTD_GET(q1, VTD_FRCD_Q1_AT);
	case VEC_F_T1:
		return !!(q1 & VTD_FRCD_Q1_T1);
	case VEC_F_T2:
		return !!(q1 & VTD_FRCD_Q1_T2);
	case VEC_F_PRIV:
		return !!(q1 & VTD_FRCD_Q1_PRIV);
	case VEC_F_EXE:
		return !!(q1 & VTD_FRCD_Q1_EXE);
	}
	return 0;
}

/* Compare each field; one report for the statement, listing every field that differs. */
static void check_fields(struct replay *r, const struct vec_stmt *s, const char *reg, uint64_t fsts,
			 uint64_t q0, uint64_t q1)
{
	char e[400], g[400];
	size_t el = 0, gl = 0;
	bool ok = true;

	el += (size_t)snprintf(e, sizeof(e), "%s", reg);
	gl += (size_t)snprintf(g, sizeof(g), "%s", reg);
	for (unsigned i = 0; i < s->u.fields.count; i++) {
		const struct vec_field_check *c = &s->u.fields.f[i];
		uint64_t v = field_value(c->field, fsts, q0, q1);
		const char *name = vec_field_name(c->field);

		if (el < sizeof(e))
			el += (size_t)snprintf(e + el, sizeof(e) - el, " %s=0x%" PRIx64, name,
					       c->value);
		if (v != c->value) {
			ok = false;
			if (gl < sizeof(g))
				gl += (size_t)snprintf(g + gl, sizeof(g) - gl, " %s=0x%" PRIx64,
						       name, v);
		}
	}
	replay_report(r, s, ok, e, g);
}

static void do_fsts(struct replay *r, const struct vec_stmt *s)
{
	uint64_t v = 0;
	int ret = vtd_mmio_read(r->vtd, VTD_REG_FSTS, 4, &v);

	if (ret) {
		replay_report(r, s, false, "FSTS readable", "an MMIO error");
		return;
	}
	check_fields(r, s, "FSTS", v, 0, 0);
}

static void do_frcd(struct replay *r, const struct vec_stmt *s)
{
	uint64_t cap = vtd_cap(r->vtd), q0 = 0, q1 = 0;
	unsigned idx = s->u.fields.index, nfr = (unsigned)VTD_GET(cap, VTD_CAP_NFR) + 1;
	uint64_t off = VTD_GET(cap, VTD_CAP_FRO) * 16 + (uint64_t)idx * VTD_FRCD_SIZE;
	char reg[32];

	if (idx >= nfr) {
		replay_input_error(
		    r, s, 6, "FRCD %u does not exist: the model has %u (CAP.NFR + 1)", idx, nfr);
		return;
	}
	if (vtd_mmio_read(r->vtd, off, 8, &q0) || vtd_mmio_read(r->vtd, off + 8, 8, &q1)) {
		replay_report(r, s, false, "FRCD readable", "an MMIO error");
		return;
	}
	snprintf(reg, sizeof(reg), "FRCD[%u]", idx);
	check_fields(r, s, reg, 0, q0, q1);
}

/* One event kind: the count, and the data and address of the last one. */
static bool events_kind(const char *what, const struct vec_opt *n, const struct vec_opt *data,
			const struct vec_opt *addr, uint64_t count, uint64_t last_data,
			uint64_t last_addr, char *e, size_t *el, char *g, size_t *gl)
{
	bool ok = true;

#define EADD(...) (*el += (size_t)snprintf(e + *el, *el < 160 ? 160 - *el : 0, __VA_ARGS__))
#define GADD(...) (*gl += (size_t)snprintf(g + *gl, *gl < 160 ? 160 - *gl : 0, __VA_ARGS__))
	if (!n->set && !data->set && !addr->set)
		return true;
	EADD("%s%s events", *el ? ", " : "", what);
	GADD("%s%" PRIu64 " %s events", *gl ? ", " : "", count, what);
	if (n->set) {
		EADD(" %" PRIu64, n->value);
		ok = count == n->value;
	}
	if (data->set) {
		EADD(" (last data 0x%" PRIx64 ")", data->value);
		GADD(" (last data 0x%" PRIx64 ")", last_data);
		ok = ok && count && last_data == data->value;
	}
	if (addr->set) {
		EADD(" (last address 0x%" PRIx64 ")", addr->value);
		GADD(" (last address 0x%" PRIx64 ")", last_addr);
		ok = ok && count && last_addr == addr->value;
	}
#undef EADD
#undef GADD
	return ok;
}

static void do_events(struct replay *r, const struct vec_stmt *s)
{
	char e[160] = "", g[160] = "";
	size_t el = 0, gl = 0;
	bool ok;

	ok = events_kind("fault", &s->u.events.fault, &s->u.events.data, &s->u.events.addr,
			 r->fault_events, r->last_data, r->last_addr, e, &el, g, &gl);
	ok &= events_kind("invalidation completion", &s->u.events.inv, &s->u.events.inv_data,
			  &s->u.events.inv_addr, r->inv_events, r->last_inv_data, r->last_inv_addr,
			  e, &el, g, &gl);
	replay_report(r, s, ok, e, g);
}

/* ---- the run ------------------------------------------------------------------------------ */

/* Everything that can be checked before running: configuration names and values, and
 * whether image files can be opened. */
static bool validate(struct replay *r)
{
	for (size_t i = 0; i < r->vf->count && !r->input_error; i++) {
		const struct vec_stmt *s = &r->vf->stmts[i];

		if (s->kind == VEC_CONFIG) {
			const char *name = s->u.config.name;
			uint64_t v = s->u.config.value;
			int f = cfg_find(name);

			if (!strcmp(name, "memory")) {
				if (v < MEM_PAGE_SIZE || v > (1ull << 47))
					replay_input_error(r, s, s->u.config.value_col,
							   "memory size must be 4K to 128T");
			} else if (!strcmp(name, "check")) {
				if (v > 1)
					replay_input_error(r, s, s->u.config.value_col,
							   "'check' is 0 or 1 (off or on)");
			} else if (f < 0) {
				replay_input_error(
				    r, s, s->u.config.name_col,
				    "unknown configuration field '%s' (softiommu replay "
				    "--config lists them)",
				    name);
			} else if (cfg_fields[f].type == CFG_BOOL && v > 1) {
				replay_input_error(r, s, s->u.config.value_col,
						   "'%s' is 0 or 1 (off or on)", name);
			} else if (v > UINT32_MAX) {
				replay_input_error(r, s, s->u.config.value_col,
						   "value out of range for '%s'", name);
			}
		} else if (s->kind == VEC_MEM_LOAD) {
			char *path = image_path(r, s->u.load.path);
			struct stat st;

			if (!path || stat(path, &st) || !S_ISREG(st.st_mode))
				replay_input_error(r, s, s->u.load.path_col,
						   "cannot open image '%s': %s",
						   path ? path : s->u.load.path,
						   path ? strerror(errno) : "out of memory");
			free(path);
		}
	}
	return !r->input_error;
}

static void run_config(struct replay *r, const struct vec_stmt *s)
{
	int f = cfg_find(s->u.config.name);

	if (!strcmp(s->u.config.name, "check"))
		r->check = s->u.config.value; /* checked by validate() */
	else if (f < 0)
		r->mem_size = s->u.config.value; /* `memory`, checked by validate() */
	else
		cfg_set(&r->cfg, (size_t)f, s->u.config.value);
}

static void run_stmt(struct replay *r, const struct vec_stmt *s)
{
	switch (s->kind) {
	case VEC_MODEL:
		model_begin(r, s->line);
		return;
	case VEC_CONFIG:
		run_config(r, s);
		return;
	default:
		break;
	}
	if (!model_need(r, s))
		return;
	switch (s->kind) {
	case VEC_MEM_WRITE:
		do_mem_write(r, s);
		break;
	case VEC_MEM_FILL:
		replay_mem_failed(r, s,
				  mem_fill(r->mem, s->u.fill.addr, s->u.fill.byte, s->u.fill.len),
				  s->u.fill.addr, s->u.fill.len);
		break;
	case VEC_MEM_LOAD:
		do_mem_load(r, s);
		break;
	case VEC_MEM_READ:
		do_mem_read(r, s);
		break;
	case VEC_MMIO_WRITE:
	case VEC_MMIO_READ:
		do_mmio(r, s);
		break;
	case VEC_TRANSLATE:
		do_translate(r, s);
		break;
	case VEC_FSTS:
		do_fsts(r, s);
		break;
	case VEC_FRCD:
		do_frcd(r, s);
		break;
	case VEC_EVENTS:
		do_events(r, s);
		break;
	case VEC_IQ:
		replay_iq(r, s);
		break;
	case VEC_IQ_SUBMIT:
		replay_iq_submit(r, s);
		break;
	case VEC_IQ_ENABLE:
		replay_iq_enable(r, s);
		break;
	case VEC_IQERCD:
		replay_iqercd(r, s);
		break;
	case VEC_ATS_CONNECT:
		replay_ats_connect(r, s);
		break;
	case VEC_ATS_STATE:
		replay_ats_state(r, s);
		break;
	case VEC_ATS_ENTRY:
		replay_ats_entry(r, s);
		break;
	case VEC_ATS_STATS:
		replay_ats_stats(r, s);
		break;
	case VEC_DMA:
		replay_dma(r, s);
		break;
	case VEC_STATS:
		replay_stats(r, s);
		break;
	case VEC_CHECK:
		replay_check(r, s);
		break;
	default:
		break;
	}
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* Replay one file: 0 passed, 1 a mismatch, 2 an input error. */
static int replay_file(const char *path, bool verbose)
{
	struct replay r = {.verbose = verbose};
	struct vec_file *vf;
	struct vec_error err;
	int ret = vec_parse_path(path, &vf, &err);

	if (ret) {
		fflush(stdout);
		if (err.line)
			fprintf(stderr, "%s:%u:%u: %s\n", path, err.line, err.col, err.msg);
		else
			fprintf(stderr, "%s: %s\n", path, err.msg);
		return 2;
	}
	r.vf = vf;
	r.dir = dir_of(path);
	if (!r.dir) {
		fprintf(stderr, "%s: out of memory\n", path);
		vec_file_free(vf);
		return 2;
	}
	model_begin(&r, 1);
	if (validate(&r))
		for (size_t i = 0; i < vf->count && !r.input_error; i++)
			run_stmt(&r, &vf->stmts[i]);
	model_destroy(&r);
	if (verbose || r.mismatches)
		printf("%s: %u checks, %u mismatches%s\n", path, r.checks, r.mismatches,
		       r.input_error ? ", stopped by an input error" : "");
	fflush(stdout);
	free(r.dir);
	vec_file_free(vf);
	return r.input_error ? 2 : r.mismatches ? 1 : 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: softiommu replay [-v] FILE...\n"
		"       softiommu replay --config\n"
		"\n"
		"Run VT-d conformance vectors (format: docs/vectors.md) against the model and\n"
		"report each mismatch as `file:line: expected ..., got ...`.\n"
		"\n"
		"  -v, --verbose  print every check, and a summary per file\n"
		"  --config       list the configuration fields with their defaults\n"
		"  -h, --help     this text\n"
		"\n"
		"Exit status: 0 every check passed, 1 a mismatch, 2 an input or usage error\n"
		"(reported as file:line:column: what was expected).\n");
}

static int list_config(void)
{
	struct vtd_config cfg;

	vtd_config_default(&cfg);
	printf("%-24s 0x%llx (the replayer's own: bytes of physical memory)\n", "memory",
	       VEC_MEMORY_DFLT);
	printf("%-24s off (the replayer's own: check mode in the unit and its endpoints)\n",
	       "check");
	for (size_t i = 0; i < NCFG; i++) {
		uint64_t v = cfg_get(&cfg, i);

		if (cfg_fields[i].type == CFG_BOOL)
			printf("%-24s %s\n", cfg_fields[i].name, v ? "on" : "off");
		else
			printf("%-24s %" PRIu64 " (0x%" PRIx64 ")\n", cfg_fields[i].name, v, v);
	}
	return 0;
}

int cmd_replay(int argc, char **argv)
{
	bool verbose = false;
	int i, worst = 0, files = 0;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			verbose = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--config")) {
			return list_config();
		} else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else {
			fprintf(stderr, "softiommu replay: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	for (; i < argc; i++) {
		int rc = replay_file(argv[i], verbose);

		worst = rc > worst ? rc : worst;
		files++;
	}
	if (!files) {
		fprintf(stderr, "softiommu replay: no vector files given\n");
		usage(stderr);
		return 2;
	}
	return worst;
}
