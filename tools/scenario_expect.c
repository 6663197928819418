// SPDX-License-Identifier: MIT
/*
 * Scenario reader: [expect] sections. Each line is "metric(selector=value, ...) op value";
 * the metric decides which selectors it takes and how its value is written (a count, a
 * size, a percentage). Names in selectors resolve to indices; fault reasons are the VT-d
 * specification's condition names (SPT.2) or codes (digest §4.3).
 */
#include "scenario_internal.h"

#include <string.h>

enum sel_id { SEL_DEVICE, SEL_WORKLOAD, SEL_PASID, SEL_REASON, SEL_CACHE, SEL_TYPE, SEL_GRAN };
static const char *const sel_names[] = {"device", "workload", "pasid",	    "reason",
					"cache",  "type",     "granularity"};
#define N_SELS (sizeof(sel_names) / sizeof(sel_names[0]))
#define SB(x)  (1u << SEL_##x)
static const unsigned metric_sels[SCENARIO_M_COUNT] = {
    [SCENARIO_M_CHECKER_FINDINGS] = SB(DEVICE) | SB(PASID) | SB(CACHE),
    [SCENARIO_M_FAULTS] = SB(DEVICE) | SB(PASID) | SB(REASON),
    [SCENARIO_M_DMA_OPS] = SB(DEVICE) | SB(WORKLOAD) | SB(PASID),
    [SCENARIO_M_DMA_BYTES] = SB(DEVICE) | SB(WORKLOAD) | SB(PASID),
    [SCENARIO_M_FAILED_OPS] = SB(DEVICE) | SB(WORKLOAD),
    [SCENARIO_M_VERIFIED_OPS] = SB(DEVICE) | SB(WORKLOAD),
    [SCENARIO_M_DATA_MISMATCHES] = SB(DEVICE) | SB(WORKLOAD),
    [SCENARIO_M_INVALIDATIONS] = SB(TYPE) | SB(GRAN) | SB(DEVICE),
    [SCENARIO_M_HIT_RATE] = SB(CACHE) | SB(DEVICE),
    [SCENARIO_M_DEBUG_FINDINGS] = SB(DEVICE),
    [SCENARIO_M_PASID_FALLBACKS] = SB(DEVICE),
};

static const char *sel_list(unsigned mask, char *out, size_t outsz)
{
	out[0] = '\0';
	for (unsigned i = 0; i < N_SELS; i++)
		if ((mask >> i) & 1)
			snprintf(out + strlen(out), outsz - strlen(out), "%s%s", out[0] ? ", " : "",
				 sel_names[i]);
	return out;
}

static bool sel_pasid(struct scn_ctx *c, const struct scn_text *t, struct scenario_expect *e)
{
	bool overflow;
	uint64_t v;

	if (t->n == 4 && !strncmp(t->s, "none", 4)) {
		e->pasid_sel = SCENARIO_PSEL_NONE;
	} else if (t->n == 6 && !strncmp(t->s, "kernel", 6)) {
		e->pasid_sel = SCENARIO_PSEL_KERNEL;
	} else if (scn_parse_u64(t->s, t->n, &v, &overflow) && v < (1u << 20)) {
		e->pasid_sel = v ? SCENARIO_PSEL_VALUE : SCENARIO_PSEL_NONE; /* 0 is RID_PASID */
		e->pasid = (uint32_t)v;
	} else {
		scn_error(c, &t->pos, "expected none, kernel or a PASID (0 to 0xfffff), got '%s'",
			  t->s);
		return false;
	}
	return true;
}

static bool sel_reason(struct scn_ctx *c, const struct scn_text *t, struct scenario_expect *e)
{
	bool overflow;
	uint64_t v;
	const char *s;

	if (scn_parse_u64(t->s, t->n, &v, &overflow)) {
		if (v == 0 || v > 0xff) {
			scn_error(c, &t->pos, "a fault reason code is 0x01 to 0xff, got '%s'",
				  t->s);
			return false;
		}
		e->reason = (uint16_t)v;
		return true;
	}
	e->reason = scenario_fault_reason_code(t->s);
	if (e->reason)
		return true;
	s = scn_diags_full(c) ? NULL : scn_suggest_fault_reason(t->s);
	if (s)
		scn_error(c, &t->pos, "unknown fault reason '%s'; did you mean '%s'?", t->s, s);
	else
		scn_error(c, &t->pos,
			  "unknown fault reason '%s': use a spec condition such as SPT.2 or a "
			  "code such as 0x59",
			  t->s);
	return false;
}

static bool read_selector(struct scn_rd *rd, const struct scn_sel *sel, enum sel_id id,
			  struct scenario_expect *e)
{
	struct scn_ctx *c = rd->c;
	int v;

	switch (id) {
	case SEL_DEVICE:
		e->device = scn_resolve_ref(rd, &sel->value, "device", rd->devs, rd->n_devs);
		return e->device >= 0;
	case SEL_WORKLOAD:
		e->workload = scn_resolve_ref(rd, &sel->value, "workload", rd->wls, rd->n_wls);
		return e->workload >= 0;
	case SEL_PASID:
		return sel_pasid(c, &sel->value, e);
	case SEL_REASON:
		return sel_reason(c, &sel->value, e);
	case SEL_CACHE:
		if (!scn_val_word(c, &sel->value, scn_words_cache, "'cache'", &v))
			return false;
		e->cache = (enum scenario_cache_id)v;
		return true;
	case SEL_TYPE:
		if (!scn_val_word(c, &sel->value, scn_words_inv_type, "'type'", &v))
			return false;
		e->inv_type = (enum scenario_inv_type)v;
		return true;
	case SEL_GRAN:
		if (!scn_val_word(c, &sel->value, scn_words_inv_gran, "'granularity'", &v))
			return false;
		e->inv_gran = (enum scenario_inv_gran)v;
		return true;
	}
	return false;
}

static bool read_selectors(struct scn_rd *rd, const struct scn_entry *en, struct scenario_expect *e)
{
	struct scn_ctx *c = rd->c;
	unsigned seen = 0, allowed = metric_sels[e->metric];
	char list[100];

	for (uint32_t i = 0; i < en->n_sels; i++) {
		const struct scn_sel *sel = &en->sels[i];
		unsigned id;

		for (id = 0; id < N_SELS && strcmp(sel_names[id], sel->key.s); id++)
			;
		if (id == N_SELS || !((allowed >> id) & 1)) {
			const char *s =
			    id == N_SELS ? scn_suggest(sel->key.s, sel_names, N_SELS) : NULL;

			scn_error(c, &sel->key.pos, "%s takes no selector '%s'%s%s%s (it takes %s)",
				  en->key.s, sel->key.s, s ? "; did you mean '" : "", s ? s : "",
				  s ? "'?" : "", sel_list(allowed, list, sizeof(list)));
			return false;
		}
		if ((seen >> id) & 1) {
			scn_error(c, &sel->key.pos, "selector '%s' is given twice", sel->key.s);
			return false;
		}
		seen |= 1u << id;
		if (!read_selector(rd, sel, (enum sel_id)id, e))
			return false;
	}
	return true;
}

static bool read_expect_value(struct scn_rd *rd, const struct scn_entry *en,
			      struct scenario_expect *e)
{
	struct scn_ctx *c = rd->c;
	const struct scn_text *t = &en->items[0];

	if (en->n_items != 1) {
		scn_error(c, &en->items[1].pos,
			  "an expectation compares with one value, not a list");
		return false;
	}
	if (e->metric == SCENARIO_M_HIT_RATE)
		return scn_val_percent(c, t, &e->value);
	if (e->metric == SCENARIO_M_DMA_BYTES)
		return scn_val_size(c, t, "dma_bytes", 0, UINT64_MAX, &e->value);
	return scn_val_u64(c, t, en->key.s, 0, UINT64_MAX, &e->value);
}

static bool read_expect(struct scn_rd *rd, const struct scn_entry *en, int phase,
			struct scenario_expect *e)
{
	static const enum scenario_cmp cmps[] = {
	    [SCN_OP_ASSIGN] = SCENARIO_CMP_EQ, [SCN_OP_EQ] = SCENARIO_CMP_EQ,
	    [SCN_OP_NE] = SCENARIO_CMP_NE,     [SCN_OP_LT] = SCENARIO_CMP_LT,
	    [SCN_OP_LE] = SCENARIO_CMP_LE,     [SCN_OP_GT] = SCENARIO_CMP_GT,
	    [SCN_OP_GE] = SCENARIO_CMP_GE,
	};
	int m;

	memset(e, 0, sizeof(*e));
	e->phase = phase;
	e->device = -1;
	e->workload = -1;
	e->line = en->key.pos.line;
	if (!scn_val_word(rd->c, &en->key, scn_words_metric, "a metric", &m))
		return false;
	e->metric = (enum scenario_metric)m;
	e->cmp = cmps[en->op];
	return read_selectors(rd, en, e) && read_expect_value(rd, en, e);
}

void scn_read_expects(struct scn_rd *rd, const struct scn_section *sec)
{
	int phase = -1;

	if (sec->name.s) {
		phase = scn_find_name(sec->name.s, rd->phases, rd->n_phases);
		if (phase < 0 && rd->n_phases == 0 && !strcmp(sec->name.s, "main"))
			phase = 0; /* the implicit phase */
		if (phase < 0) {
			scn_unknown_ref(rd->c, &sec->name, "phase", rd->phases, rd->n_phases);
			return;
		}
	}
	for (const struct scn_entry *en = sec->entries; en; en = en->next) {
		struct scenario_expect *e;

		if (rd->s->n_expects == SCENARIO_MAX_EXPECTS) {
			scn_error(rd->c, &en->key.pos, "more than %d expectations",
				  SCENARIO_MAX_EXPECTS);
			return;
		}
		e = &rd->s->expects[rd->s->n_expects];
		if (read_expect(rd, en, phase, e))
			rd->r.expect_pos[rd->s->n_expects++] = en->key.pos;
	}
}
