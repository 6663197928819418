// SPDX-License-Identifier: MIT
/*
 * Scenario reader, pass 2: sections and keys. Each section kind has a table of its keys
 * (name, type, range, where it is stored); an entry is checked against the table (unknown
 * keys get the nearest known key suggested, or the section they belong in), parsed by its
 * type and stored. Defaults are in place before any key is applied. Keys whose meaning
 * depends on another key (a device's `type`, the unit's `mode`, a workload's `device`) are
 * applied after that key. [expect] lines are read by scenario_expect.c; pass 3
 * (scenario_check.c) then checks the sections against each other.
 */
#include "scenario_internal.h"

#include <stddef.h>
#include <string.h>

_Static_assert(sizeof(enum scenario_mode) == sizeof(int), "word keys store enums as int");
_Static_assert(IK_COUNT <= 32 && DK_COUNT <= 32 && WK_COUNT <= 32, "scn_keyset holds 32 keys");

enum key_type {
	K_BOOL,
	K_U8,
	K_U16,
	K_U32,
	K_U64,
	K_SIZE,
	K_DURATION,
	K_STRING,
	K_WORD,
	K_RID,
	K_CUSTOM, /* parsed by the section's own function */
};

struct key_desc {
	const char *name;
	enum key_type type;
	size_t off; /* in the section's target structure */
	uint64_t min, max;
	const struct scn_word *words;
	unsigned types; /* device types (1 << type) the key applies to; 0 = all */
};

#define T_DSA	  (1u << SCENARIO_DEV_DSA)
#define T_NIC	  (1u << SCENARIO_DEV_NIC)
#define T_STORAGE (1u << SCENARIO_DEV_STORAGE)
#define MS	  1000000ull
#define SEC	  1000000000ull

#define SO(f) offsetof(struct scenario, f)
static const struct key_desc scenario_keys[SK_COUNT] = {
    [SK_NAME] = {"name", K_STRING, SO(name), 0, 0, NULL, 0},
    [SK_DESCRIPTION] = {"description", K_STRING, SO(description), 0, 0, NULL, 0},
    [SK_SEED] = {"seed", K_U64, SO(seed), 0, UINT64_MAX, NULL, 0},
    [SK_MEMORY] = {"memory", K_SIZE, SO(memory), 16ull << 20, 1ull << 40, NULL, 0},
    [SK_TIMEOUT] = {"timeout", K_DURATION, SO(timeout_ns), 0, 24 * 3600 * SEC, NULL, 0},
};

#define IO(f) offsetof(struct scenario_iommu, f)
static const struct key_desc iommu_keys[IK_COUNT] = {
    [IK_MODE] = {"mode", K_WORD, IO(mode), 0, 0, scn_words_mode, 0},
    [IK_FIRST_STAGE] = {"first_stage", K_BOOL, IO(first_stage), 0, 0, NULL, 0},
    [IK_SECOND_STAGE] = {"second_stage", K_BOOL, IO(second_stage), 0, 0, NULL, 0},
    [IK_NESTED] = {"nested", K_BOOL, IO(nested), 0, 0, NULL, 0},
    [IK_PASS_THROUGH] = {"pass_through", K_BOOL, IO(pass_through), 0, 0, NULL, 0},
    [IK_FIVE_LEVEL] = {"five_level", K_BOOL, IO(five_level), 0, 0, NULL, 0},
    [IK_CACHING_MODE] = {"caching_mode", K_BOOL, IO(caching_mode), 0, 0, NULL, 0},
    [IK_DEVICE_TLB] = {"device_tlb", K_BOOL, IO(device_tlb), 0, 0, NULL, 0},
    [IK_CHECKER] = {"checker", K_BOOL, IO(checker), 0, 0, NULL, 0},
    [IK_MGAW] = {"mgaw", K_U8, IO(mgaw), 30, 64, NULL, 0},
    [IK_HAW] = {"haw", K_U8, IO(haw), 32, 52, NULL, 0},
    [IK_SAGAW] = {"sagaw", K_CUSTOM, IO(sagaw), 0, 0, NULL, 0},
    [IK_PASID_BITS] = {"pasid_bits", K_U8, IO(pasid_bits), 0, 20, NULL, 0},
    [IK_LARGE_PAGES] = {"large_pages", K_CUSTOM, IO(large_pages), 0, 0, NULL, 0},
    [IK_FAULT_RECORDS] = {"fault_records", K_U16, IO(fault_records), 1, 256, NULL, 0},
    [IK_INV_QUEUE_PAGES] = {"inv_queue_pages", K_U8, IO(inv_queue_pages), 1, 128, NULL, 0},
    [IK_CONTEXT_CACHE_ENTRIES] = {"context_cache_entries", K_U32, IO(context_cache.entries), 0,
				  1u << 20, NULL, 0},
    [IK_CONTEXT_CACHE_WAYS] = {"context_cache_ways", K_U32, IO(context_cache.ways), 1, 1u << 20,
			       NULL, 0},
    [IK_PASID_CACHE_ENTRIES] = {"pasid_cache_entries", K_U32, IO(pasid_cache.entries), 0, 1u << 20,
				NULL, 0},
    [IK_PASID_CACHE_WAYS] = {"pasid_cache_ways", K_U32, IO(pasid_cache.ways), 1, 1u << 20, NULL, 0},
    [IK_IOTLB_ENTRIES] = {"iotlb_entries", K_U32, IO(iotlb.entries), 0, 1u << 20, NULL, 0},
    [IK_IOTLB_WAYS] = {"iotlb_ways", K_U32, IO(iotlb.ways), 1, 1u << 20, NULL, 0},
    [IK_PWC_ENTRIES] = {"pwc_entries", K_U32, IO(pwc.entries), 0, 1u << 20, NULL, 0},
    [IK_PWC_WAYS] = {"pwc_ways", K_U32, IO(pwc.ways), 1, 1u << 20, NULL, 0},
};

#define DO(f) offsetof(struct scenario_dma, f)
static const struct key_desc dma_keys[MK_COUNT] = {
    [MK_DEFAULT_DOMAIN] = {"default_domain", K_WORD, DO(default_domain), 0, 0, scn_words_domain, 0},
    [MK_PAGE_TABLE] = {"page_table", K_WORD, DO(page_table), 0, 0, scn_words_page_table, 0},
    [MK_INVALIDATION] = {"invalidation", K_WORD, DO(invalidation), 0, 0, scn_words_invalidation, 0},
    [MK_FLUSH_QUEUE_SIZE] = {"flush_queue_size", K_U32, DO(flush_queue_size), 1, 65536, NULL, 0},
    [MK_FLUSH_TIMEOUT] = {"flush_timeout", K_DURATION, DO(flush_timeout_ns), 1000, 10 * SEC, NULL,
			  0},
    [MK_KERNEL_PASID] = {"kernel_pasid", K_WORD, DO(kernel_pasid), 0, 0, scn_words_kernel_pasid, 0},
    [MK_DEBUG] = {"debug", K_BOOL, DO(debug), 0, 0, NULL, 0},
    [MK_SKIP_INVALIDATION] = {"skip_invalidation", K_CUSTOM, DO(skip_invalidation), 0, 0,
			      scn_words_skip, 0},
};

#define DV(f) offsetof(struct scenario_device, f)
static const struct key_desc device_keys[DK_COUNT] = {
    [DK_TYPE] = {"type", K_WORD, DV(type), 0, 0, scn_words_dev_type, 0},
    [DK_RID] = {"rid", K_RID, DV(rid), 0, 0, NULL, 0},
    [DK_PASID_BITS] = {"pasid_bits", K_U8, DV(pasid_bits), 0, 20, NULL, 0},
    [DK_ATS] = {"ats", K_BOOL, DV(ats), 0, 0, NULL, 0},
    [DK_DEVTLB_ENTRIES] = {"devtlb_entries", K_U32, DV(devtlb_entries), 1, 65536, NULL, 0},
    [DK_WORK_QUEUES] = {"work_queues", K_U32, DV(work_queues), 1, 8, NULL, T_DSA},
    [DK_WQ_SIZE] = {"wq_size", K_U32, DV(wq_size), 1, 1024, NULL, T_DSA},
    /* The NIC driver's rings: powers of two up to NIC_RING_MAX (traffic.h). */
    [DK_RX_RING] = {"rx_ring", K_U32, DV(rx_ring), 16, 4096, NULL, T_NIC},
    [DK_TX_RING] = {"tx_ring", K_U32, DV(tx_ring), 16, 4096, NULL, T_NIC},
    /* The storage driver's queue holds one more (STORAGE_Q_MAX 1024); lists are at most
     * STORAGE_MAX_SEGS long. */
    [DK_QUEUE_DEPTH] = {"queue_depth", K_U32, DV(queue_depth), 1, 1023, NULL, T_STORAGE},
    [DK_MAX_SEGMENTS] = {"max_segments", K_U32, DV(max_segments), 1, 256, NULL, T_STORAGE},
};

#define WO(f) offsetof(struct scenario_workload, f)
static const struct key_desc workload_keys[WK_COUNT] = {
    [WK_DEVICE] = {"device", K_CUSTOM, WO(device), 0, 0, NULL, 0},
    [WK_OP] = {"op", K_CUSTOM, WO(op), 0, 0, NULL, 0},
    [WK_PASID] = {"pasid", K_WORD, WO(pasid), 0, 0, scn_words_wl_pasid, T_DSA},
    [WK_SIZE] = {"size", K_CUSTOM, WO(size), 0, 0, NULL, 0},
    [WK_SEGMENTS] = {"segments", K_U32, WO(segments), 1, 256, NULL, T_STORAGE},
    [WK_COUNT_] = {"count", K_U64, WO(count), 1, 1000000000000ull, NULL, 0},
    [WK_THREADS] = {"threads", K_U32, WO(threads), 1, 64, NULL, 0},
    [WK_PAGE_SIZE] = {"page_size", K_CUSTOM, WO(page_size), 0, 0, NULL, 0},
    [WK_MAP] = {"map", K_WORD, WO(map), 0, 0, scn_words_map, 0},
    [WK_VERIFY] = {"verify", K_BOOL, WO(verify), 0, 0, NULL, 0},
    [WK_SEED] = {"seed", K_U64, WO(seed), 0, UINT64_MAX, NULL, 0},
};

#define PO(f) offsetof(struct scenario_phase, f)
static const struct key_desc phase_keys[PK_COUNT] = {
    [PK_RUN] = {"run", K_CUSTOM, PO(run), 0, 0, NULL, 0},
    [PK_ENABLE_PASID] = {"enable_pasid", K_CUSTOM, PO(enable_pasid), 0, 0, NULL, 0},
    [PK_DISABLE_PASID] = {"disable_pasid", K_CUSTOM, PO(disable_pasid), 0, 0, NULL, 0},
    [PK_SKIP_INVALIDATION] = {"skip_invalidation", K_CUSTOM, PO(skip_invalidation), 0, 0,
			      scn_words_skip, 0},
    [PK_WAIT] = {"wait", K_DURATION, PO(wait_ns), 0, 3600 * SEC, NULL, 0},
};

/* ---- section kinds ------------------------------------------------------------------------ */

enum sec_kind { SEC_SCENARIO, SEC_IOMMU, SEC_DMA, SEC_DEVICE, SEC_WORKLOAD, SEC_PHASE, SEC_EXPECT };
_Static_assert(SEC_EXPECT < 8, "scn_rd.over has one flag per section kind");

static const struct {
	const char *name;
	const struct key_desc *keys;
	size_t nkeys;
	const char *usage; /* for "belongs in" hints */
} sec_kinds[] = {
    [SEC_SCENARIO] = {"scenario", scenario_keys, SK_COUNT, "[scenario]"},
    [SEC_IOMMU] = {"iommu", iommu_keys, IK_COUNT, "[iommu]"},
    [SEC_DMA] = {"dma", dma_keys, MK_COUNT, "[dma] (or [dma DEVICE] for one device)"},
    [SEC_DEVICE] = {"device", device_keys, DK_COUNT, "[device NAME]"},
    [SEC_WORKLOAD] = {"workload", workload_keys, WK_COUNT, "[workload NAME]"},
    [SEC_PHASE] = {"phase", phase_keys, PK_COUNT, "[phase NAME]"},
    [SEC_EXPECT] = {"expect", NULL, 0, "[expect]"},
};
#define N_SEC_KINDS (sizeof(sec_kinds) / sizeof(sec_kinds[0]))

/* How one section is being applied. */
struct apply {
	struct scn_rd *rd;
	const struct scn_section *sec;
	enum sec_kind kind;
	void *target;
	struct scn_keyset *set;
	int dev_type; /* the device type keys are checked against, -1 for none */
	const char *dev_name;
	bool (*custom)(struct apply *a, unsigned key, const struct scn_entry *en);
	unsigned index; /* the array slot being filled */
};

const struct scn_pos *scn_key_pos(const struct scn_keyset *k, unsigned key,
				  const struct scn_pos *fallback)
{
	if (scn_isset(k, key))
		return &k->entry[key]->items[0].pos;
	return fallback;
}

static const char *sec_label(const struct scn_section *sec, char *out, size_t outsz)
{
	if (sec->name.s)
		snprintf(out, outsz, "[%s %s]", sec->kind.s, sec->name.s);
	else
		snprintf(out, outsz, "[%s]", sec->kind.s);
	return out;
}

static const struct scn_entry *find_entry(const struct scn_section *sec, const char *key)
{
	for (const struct scn_entry *en = sec->entries; en; en = en->next)
		if (!strcmp(en->key.s, key))
			return en;
	return NULL;
}

/* ---- applying one entry -------------------------------------------------------------------- */

static void unknown_key(struct apply *a, const struct scn_entry *en)
{
	struct scn_ctx *c = a->rd->c;
	const struct key_desc *keys = sec_kinds[a->kind].keys;
	const char *cands[32], *s;
	char where[100];
	size_t n = sec_kinds[a->kind].nkeys;

	sec_label(a->sec, where, sizeof(where));
	if (scn_diags_full(c)) {
		scn_error(c, &en->key.pos, "unknown key");
		return;
	}
	for (size_t k = 0; k < N_SEC_KINDS; k++) /* a key of another section? */
		for (size_t i = 0; k != a->kind && i < sec_kinds[k].nkeys; i++)
			if (!strcmp(sec_kinds[k].keys[i].name, en->key.s)) {
				scn_error(c, &en->key.pos,
					  "'%s' is not a key of %s: it belongs in %s", en->key.s,
					  where, sec_kinds[k].usage);
				return;
			}
	for (size_t i = 0; i < n; i++)
		cands[i] = keys[i].name;
	s = scn_suggest(en->key.s, cands, n);
	if (s)
		scn_error(c, &en->key.pos, "unknown key '%s' in %s; did you mean '%s'?", en->key.s,
			  where, s);
	else
		scn_error(c, &en->key.pos, "unknown key '%s' in %s", en->key.s, where);
}

static bool store_typed(struct apply *a, const struct key_desc *kd, const struct scn_entry *en)
{
	struct scn_ctx *c = a->rd->c;
	const struct scn_text *t = &en->items[0];
	char *dst = (char *)a->target + kd->off;
	char what[48];
	uint64_t v = 0;
	bool b;
	int w;

	snprintf(what, sizeof(what), "'%s'", kd->name);
	switch (kd->type) {
	case K_BOOL:
		if (!scn_val_bool(c, t, &b))
			return false;
		*(bool *)dst = b;
		return true;
	case K_U8:
	case K_U16:
	case K_U32:
	case K_U64:
		if (!scn_val_u64(c, t, what, kd->min, kd->max, &v))
			return false;
		if (kd->type == K_U8)
			*(uint8_t *)dst = (uint8_t)v;
		else if (kd->type == K_U16)
			*(uint16_t *)dst = (uint16_t)v;
		else if (kd->type == K_U32)
			*(uint32_t *)dst = (uint32_t)v;
		else
			*(uint64_t *)dst = v;
		return true;
	case K_SIZE:
		return scn_val_size(c, t, what, kd->min, kd->max, (uint64_t *)dst);
	case K_DURATION:
		return scn_val_duration(c, t, what, kd->min, kd->max, (uint64_t *)dst);
	case K_WORD:
		if (!scn_val_word(c, t, kd->words, what, &w))
			return false;
		*(int *)dst = w;
		return true;
	case K_RID:
		return scn_val_rid(c, t, (uint16_t *)dst);
	case K_STRING:
	case K_CUSTOM:
		break;
	}
	return false;
}

/* A free-text value: one quoted string, or the unquoted text as written. */
static bool store_string(struct apply *a, const struct key_desc *kd, const struct scn_entry *en)
{
	const char **dst = (const char **)((char *)a->target + kd->off);

	if (en->n_items == 1 && en->items[0].quoted) {
		if (en->items[0].n > 1024) {
			scn_error(a->rd->c, &en->items[0].pos,
				  "'%s' is longer than 1024 characters", kd->name);
			return false;
		}
		*dst = en->items[0].s;
		return true;
	}
	for (uint32_t i = 0; i < en->n_items; i++) {
		if (en->items[i].pos.line != en->raw.pos.line) {
			scn_error(a->rd->c, &en->items[i].pos,
				  "'%s' does not continue over lines: quote it, commas included",
				  kd->name);
			return false;
		}
		if (en->items[i].quoted) {
			scn_error(a->rd->c, &en->items[i].pos,
				  "'%s' takes one string: quote all of it, commas included",
				  kd->name);
			return false;
		}
	}
	if (en->raw.n > 1024) {
		scn_error(a->rd->c, &en->raw.pos, "'%s' is longer than 1024 characters", kd->name);
		return false;
	}
	*dst = en->raw.s;
	return true;
}

static bool entry_shape_ok(struct apply *a, const struct scn_entry *en)
{
	struct scn_ctx *c = a->rd->c;
	char ops[4];

	if (en->has_sels) {
		scn_error(c, &en->sels_pos,
			  "selectors such as (device=dsa0) only follow a metric in an [expect] "
			  "section");
		return false;
	}
	if (en->op != SCN_OP_ASSIGN) {
		snprintf(ops, sizeof(ops), "%.*s", (int)en->op_pos.len, c->buf + en->op_pos.off);
		scn_error(c, &en->op_pos,
			  "'%s' compares, which only [expect] lines do; write %s = VALUE", ops,
			  en->key.s);
		return false;
	}
	return true;
}

static bool type_applies(struct apply *a, const struct key_desc *kd, const struct scn_entry *en)
{
	char list[64] = "";

	if (!kd->types || a->dev_type < 0 || (kd->types >> a->dev_type) & 1)
		return true;
	for (int t = 0; t < 3; t++)
		if ((kd->types >> t) & 1)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 list[0] ? " and " : "", scn_word_name(scn_words_dev_type, t));
	if (a->kind == SEC_DEVICE)
		scn_error(a->rd->c, &en->key.pos,
			  "'%s' applies to %s devices, not to %s device '%s'", kd->name, list,
			  scn_word_name(scn_words_dev_type, a->dev_type), a->dev_name);
	else
		scn_error(
		    a->rd->c, &en->key.pos,
		    "'%s' applies to workloads on %s devices; this one runs on %s device '%s'",
		    kd->name, list, scn_word_name(scn_words_dev_type, a->dev_type), a->dev_name);
	return false;
}

static void apply_entry(struct apply *a, const struct scn_entry *en)
{
	struct scn_ctx *c = a->rd->c;
	const struct key_desc *keys = sec_kinds[a->kind].keys;
	size_t n = sec_kinds[a->kind].nkeys, k;
	char where[100];
	bool ok;

	for (k = 0; k < n && strcmp(keys[k].name, en->key.s); k++)
		;
	if (k == n) {
		unknown_key(a, en);
		return;
	}
	if (!entry_shape_ok(a, en) || !type_applies(a, &keys[k], en))
		return;
	if (a->set->entry[k] && a->set->entry[k] != en) {
		scn_error(c, &en->key.pos, "duplicate key '%s' in %s", en->key.s,
			  sec_label(a->sec, where, sizeof(where)));
		scn_note(c, &a->set->entry[k]->key.pos, "'%s' was first set here", en->key.s);
		return;
	}
	/* Remember the entry even when its value is bad: a second one is still a duplicate,
	 * and pass 3 will not second-guess a key that already has an error. */
	a->set->entry[k] = en;
	if (keys[k].type == K_STRING) {
		ok = store_string(a, &keys[k], en);
	} else if (keys[k].type == K_CUSTOM) {
		ok = a->custom && a->custom(a, (unsigned)k, en);
	} else if (en->n_items != 1) {
		scn_error(c, &en->items[1].pos, "'%s' takes one value, not a list", en->key.s);
		ok = false;
	} else {
		ok = store_typed(a, &keys[k], en);
	}
	if (ok)
		a->set->mask |= 1ull << k;
}

/* Apply every entry of the section except `first` (already applied). */
static void apply_section(struct apply *a, const struct scn_entry *first)
{
	for (const struct scn_entry *en = a->sec->entries; en; en = en->next)
		if (en != first)
			apply_entry(a, en);
}

/* Apply key `name` before the others (it decides what the others mean); returns its entry. */
static const struct scn_entry *apply_first(struct apply *a, const char *name)
{
	const struct scn_entry *en = find_entry(a->sec, name);

	if (en)
		apply_entry(a, en);
	return en;
}

/* ---- custom values ------------------------------------------------------------------------- */

/* A list of words OR-ed into a bit mask ("none" alone = 0). */
static bool custom_mask(struct scn_ctx *c, const struct scn_entry *en, const struct scn_word *w,
			const char *what, uint32_t *out)
{
	uint32_t m = 0;
	int v;

	for (uint32_t i = 0; i < en->n_items; i++) {
		if (!scn_val_word(c, &en->items[i], w, what, &v))
			return false;
		if (v == 0 && en->n_items > 1) {
			scn_error(c, &en->items[i].pos,
				  "'none' cannot be combined with other values");
			return false;
		}
		m |= (uint32_t)v;
	}
	*out = m;
	return true;
}

static const struct scn_word words_sagaw[] = {
    {"39", SCENARIO_SAGAW_39}, {"48", SCENARIO_SAGAW_48}, {"57", SCENARIO_SAGAW_57}, {0}};
static const struct scn_word words_large[] = {
    {"none", 0}, {"2M", SCENARIO_LARGE_2M}, {"1G", SCENARIO_LARGE_1G}, {0}};

static bool iommu_custom(struct apply *a, unsigned key, const struct scn_entry *en)
{
	struct scenario_iommu *io = a->target;
	uint32_t m;

	if (key == IK_SAGAW) {
		if (!custom_mask(a->rd->c, en, words_sagaw, "'sagaw' (widths in bits)", &m))
			return false;
		io->sagaw = (uint8_t)m;
		return true;
	}
	if (!custom_mask(a->rd->c, en, words_large, "'large_pages'", &m))
		return false;
	io->large_pages = (uint8_t)m;
	return true;
}

static bool dma_custom(struct apply *a, unsigned key, const struct scn_entry *en)
{
	struct scenario_dma *d = a->target;

	(void)key;
	return custom_mask(a->rd->c, en, scn_words_skip, "'skip_invalidation'",
			   &d->skip_invalidation);
}

/* ---- [scenario], [iommu], [dma] ------------------------------------------------------------ */

static void read_scenario(struct scn_rd *rd, const struct scn_section *sec)
{
	struct apply a = {.rd = rd,
			  .sec = sec,
			  .kind = SEC_SCENARIO,
			  .target = rd->s,
			  .set = &rd->r.scenario_set,
			  .dev_type = -1};

	apply_section(&a, NULL);
}

/* Defaults of the unit: a current server part in scalable mode. */
static void iommu_defaults(struct scenario_iommu *io, enum scenario_mode mode)
{
	io->mode = mode;
	io->first_stage = mode == SCENARIO_MODE_SCALABLE;
	io->second_stage = true;
	io->nested = false;
	io->pass_through = true;
	io->five_level = false;
	io->caching_mode = false;
	io->device_tlb = true;
	io->checker = true;
	io->mgaw = 48;
	io->haw = 46;
	io->sagaw = SCENARIO_SAGAW_39 | SCENARIO_SAGAW_48;
	io->pasid_bits = mode == SCENARIO_MODE_SCALABLE ? 20 : 0;
	io->large_pages = SCENARIO_LARGE_2M | SCENARIO_LARGE_1G;
	io->fault_records = 8;
	/* As the VT-d driver: 256 descriptors, of 256 bits (2 pages) or 128 bits (1). */
	io->inv_queue_pages = mode == SCENARIO_MODE_SCALABLE ? 2 : 1;
	io->context_cache = (struct scenario_cache){64, 4};
	io->pasid_cache = (struct scenario_cache){256, 8};
	io->iotlb = (struct scenario_cache){1024, 8};
	io->pwc = (struct scenario_cache){256, 4};
}

static void read_iommu(struct scn_rd *rd, const struct scn_section *sec)
{
	struct scenario_iommu *io = &rd->s->iommu;
	struct apply a = {.rd = rd,
			  .sec = sec,
			  .kind = SEC_IOMMU,
			  .target = io,
			  .set = &rd->r.iommu_set,
			  .dev_type = -1,
			  .custom = iommu_custom};
	const struct scn_entry *mode;

	mode = apply_first(&a, "mode");
	rd->r.iommu_ok = !mode || scn_isset(a.set, IK_MODE);
	iommu_defaults(io, io->mode);
	apply_section(&a, mode);
	/* Five-level first stage needs the 57-bit width: make that the default with it. */
	if (io->five_level && !scn_isset(a.set, IK_MGAW))
		io->mgaw = 57;
}

static void dma_defaults(struct scenario_dma *d)
{
	d->default_domain = SCENARIO_DOMAIN_TRANSLATED;
	d->page_table = SCENARIO_PT_AUTO;
	d->invalidation = SCENARIO_INV_STRICT;
	d->flush_queue_size = 256;     /* Linux: IOVA_FQ_SIZE */
	d->flush_timeout_ns = 10 * MS; /* Linux: IOVA_FQ_TIMEOUT */
	d->kernel_pasid = SCENARIO_KPASID_AUTO;
	d->debug = false;
	d->skip_invalidation = 0;
}

static void read_dma(struct scn_rd *rd, const struct scn_section *sec, struct scenario_dma *d,
		     struct scn_keyset *set)
{
	struct apply a = {.rd = rd,
			  .sec = sec,
			  .kind = SEC_DMA,
			  .target = d,
			  .set = set,
			  .dev_type = -1,
			  .custom = dma_custom};

	apply_section(&a, NULL);
}

/* ---- [device NAME] ------------------------------------------------------------------------- */

static void device_defaults(struct scenario_device *d, enum scenario_dev_type t)
{
	d->type = t;
	d->pasid_bits = t == SCENARIO_DEV_DSA ? 20 : 0;
	d->ats = t == SCENARIO_DEV_DSA; /* pass 3 turns it off on a unit without device TLBs */
	d->devtlb_entries = 64;
	d->work_queues = t == SCENARIO_DEV_DSA ? 1 : 0;
	d->wq_size = t == SCENARIO_DEV_DSA ? 32 : 0;
	d->rx_ring = t == SCENARIO_DEV_NIC ? 256 : 0;
	d->tx_ring = t == SCENARIO_DEV_NIC ? 256 : 0;
	d->queue_depth = t == SCENARIO_DEV_STORAGE ? 32 : 0;
	d->max_segments = t == SCENARIO_DEV_STORAGE ? 128 : 0;
}

static void read_device(struct scn_rd *rd, unsigned i)
{
	const struct scn_section *sec = rd->devs[i];
	struct scenario_device *d = &rd->s->devices[i];
	struct apply a = {.rd = rd,
			  .sec = sec,
			  .kind = SEC_DEVICE,
			  .target = d,
			  .set = &rd->r.dev_set[i],
			  .dev_type = -1,
			  .dev_name = sec->name.s};
	const struct scn_entry *type = apply_first(&a, "type");

	d->name = sec->name.s;
	d->line = sec->pos.line;
	rd->r.dev_sec[i] = sec;
	rd->r.dev_ok[i] = scn_isset(a.set, DK_TYPE);
	if (!type)
		scn_error(rd->c, &sec->pos,
			  "device '%s' has no type: add type = dsa, nic or storage", d->name);
	device_defaults(d, d->type);
	if (rd->r.dev_ok[i])
		a.dev_type = (int)d->type;
	else
		a.dev_type = -1; /* unknown type: keep checking the other keys, not their fit */
	apply_section(&a, type);
}

/* ---- [workload NAME] ----------------------------------------------------------------------- */

int scn_find_name(const char *name, const struct scn_section **secs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(secs[i]->name.s, name))
			return (int)i;
	return -1;
}

/* Report an unknown reference to a `kind` named in `t`, suggesting the nearest name. */
void scn_unknown_ref(struct scn_ctx *c, const struct scn_text *t, const char *kind,
		     const struct scn_section **secs, size_t n)
{
	const char *cands[SCENARIO_MAX_WORKLOADS > SCENARIO_MAX_DEVICES ? SCENARIO_MAX_WORKLOADS
									: SCENARIO_MAX_DEVICES] = {
	    0};
	const char *s = NULL;
	char q[80];

	size_t nc = 0;

	if (!scn_diags_full(c)) {
		while (nc < n && nc < sizeof(cands) / sizeof(cands[0])) {
			cands[nc] = secs[nc]->name.s;
			nc++;
		}
		s = scn_suggest(t->s, cands, nc);
	}
	scn_quote(t->s, t->n, q, sizeof(q));
	if (s)
		scn_error(c, &t->pos, "unknown %s %s; did you mean '%s'?", kind, q, s);
	else if (n == 0)
		scn_error(c, &t->pos, "unknown %s %s: no [%s] section defines one", kind, q, kind);
	else
		scn_error(c, &t->pos, "unknown %s %s", kind, q);
}

/* Resolve a name to its index in `secs`, reporting errors. */
int scn_resolve_ref(struct scn_rd *rd, const struct scn_text *t, const char *kind,
		    const struct scn_section **secs, size_t n)
{
	int i;

	if (!scn_val_name(rd->c, t, kind))
		return -1;
	i = scn_find_name(t->s, secs, n);
	if (i < 0)
		scn_unknown_ref(rd->c, t, kind, secs, n);
	return i;
}

static const struct scn_word *ops_of(enum scenario_dev_type t)
{
	return t == SCENARIO_DEV_DSA   ? scn_words_ops_dsa
	       : t == SCENARIO_DEV_NIC ? scn_words_ops_nic
				       : scn_words_ops_storage;
}

/* Size limits per device type: a DSA transfer, a NIC packet, a storage segment. */
static void size_limits(enum scenario_dev_type t, uint64_t *min, uint64_t *max)
{
	/* NIC packets: NIC_PKT_MIN..NIC_PKT_MAX of traffic.h (a header and a CRC, up to a
	 * jumbo frame); storage segments: a 512-byte block at least. */
	*min = t == SCENARIO_DEV_STORAGE ? 512 : t == SCENARIO_DEV_NIC ? 64 : 1;
	*max = t == SCENARIO_DEV_DSA ? 1ull << 30 : t == SCENARIO_DEV_NIC ? 9216 : 1ull << 20;
}

static bool workload_custom(struct apply *a, unsigned key, const struct scn_entry *en)
{
	struct scenario_workload *w = a->target;
	struct scn_ctx *c = a->rd->c;
	const struct scn_text *t = &en->items[0];
	uint64_t min, max;
	int v;

	if (en->n_items != 1) {
		scn_error(c, &en->items[1].pos, "'%s' takes one value, not a list", en->key.s);
		return false;
	}
	switch (key) {
	case WK_DEVICE:
		v = scn_resolve_ref(a->rd, t, "device", a->rd->devs, a->rd->n_devs);
		if (v < 0)
			return false;
		w->device = (unsigned)v;
		return true;
	case WK_OP:
		if (a->dev_type < 0)
			return true; /* the device is unknown: already reported */
		if (!scn_val_word(c, t, ops_of((enum scenario_dev_type)a->dev_type),
				  "'op' on this device", &v))
			return false;
		w->op = (enum scenario_op)v;
		return true;
	case WK_SIZE:
		/* With the device unknown, still check the syntax, against the widest limits. */
		min = 1;
		max = 1ull << 30;
		if (a->dev_type >= 0)
			size_limits((enum scenario_dev_type)a->dev_type, &min, &max);
		return scn_val_range(c, t, "'size'", min, max, &w->size);
	case WK_PAGE_SIZE:
		if (!scn_val_size(c, t, "'page_size'", 4096, 1ull << 30, &w->page_size))
			return false;
		if (w->page_size != 4096 && w->page_size != 2ull << 20 &&
		    w->page_size != 1ull << 30) {
			scn_error(c, &t->pos, "'page_size' is 4K, 2M or 1G (the x86 page sizes)");
			return false;
		}
		return true;
	}
	return false;
}

static void workload_defaults(struct scenario_workload *w, enum scenario_dev_type t)
{
	w->op = t == SCENARIO_DEV_DSA	? SCENARIO_OP_MEMMOVE
		: t == SCENARIO_DEV_NIC ? SCENARIO_OP_RXTX
					: SCENARIO_OP_READ;
	w->pasid = SCENARIO_WL_NO_PASID; /* pass 3 picks kernel where the device enables it */
	w->size.min = w->size.max = t == SCENARIO_DEV_NIC ? 1500 : 4096;
	w->segments = t == SCENARIO_DEV_STORAGE ? 16 : 1;
	w->count = 1000;
	w->threads = 1;
	w->page_size = 4096;
	w->map = SCENARIO_MAP_PER_OP;
	w->verify = true;
}

static void read_workload(struct scn_rd *rd, unsigned i)
{
	const struct scn_section *sec = rd->wls[i];
	struct scenario_workload *w = &rd->s->workloads[i];
	struct apply a = {.rd = rd,
			  .sec = sec,
			  .kind = SEC_WORKLOAD,
			  .target = w,
			  .set = &rd->r.wl_set[i],
			  .dev_type = -1,
			  .custom = workload_custom,
			  .index = i};
	const struct scn_entry *dev = apply_first(&a, "device");

	w->name = sec->name.s;
	w->line = sec->pos.line;
	rd->r.wl_sec[i] = sec;
	if (!dev && rd->n_devs == 1) {
		w->device = 0; /* one device: no need to name it */
	} else if (!dev) {
		scn_error(rd->c, &sec->pos, "workload '%s' names no device: add device = NAME",
			  w->name);
	}
	rd->r.wl_ok[i] = (dev && scn_isset(a.set, WK_DEVICE)) || (!dev && rd->n_devs == 1);
	if (rd->r.wl_ok[i] && rd->r.dev_ok[w->device]) {
		a.dev_type = (int)rd->s->devices[w->device].type;
		a.dev_name = rd->s->devices[w->device].name;
	} else {
		rd->r.wl_ok[i] = false;
	}
	workload_defaults(w,
			  a.dev_type < 0 ? SCENARIO_DEV_DSA : (enum scenario_dev_type)a.dev_type);
	apply_section(&a, dev);
}

/* ---- [phase NAME] -------------------------------------------------------------------------- */

/* A list of names resolved to indices, each name at most once. The names that resolve
 * are kept even when others do not, so one bad name does not cascade into more errors. */
static bool ref_list(struct apply *a, const struct scn_entry *en, const char *kind,
		     const struct scn_section **secs, size_t n, unsigned **out, size_t *nout)
{
	struct scn_rd *rd = a->rd;
	unsigned *v = scn_alloc(rd->c->arena, en->n_items * sizeof(*v));
	size_t nv = 0;
	bool ok = true;

	if (!v)
		return false;
	for (uint32_t i = 0; i < en->n_items; i++) {
		int k = scn_resolve_ref(rd, &en->items[i], kind, secs, n);
		bool dup = false;

		for (size_t j = 0; k >= 0 && j < nv; j++)
			dup |= v[j] == (unsigned)k;
		if (dup)
			scn_error(rd->c, &en->items[i].pos, "%s '%s' is listed twice", kind,
				  en->items[i].s);
		if (k >= 0 && !dup)
			v[nv++] = (unsigned)k;
		ok &= k >= 0 && !dup;
	}
	*out = v;
	*nout = nv;
	return ok;
}

static bool phase_custom(struct apply *a, unsigned key, const struct scn_entry *en)
{
	struct scenario_phase *p = a->target;
	struct scn_rd *rd = a->rd;

	switch (key) {
	case PK_RUN:
		return ref_list(a, en, "workload", rd->wls, rd->n_wls, &p->run, &p->n_run);
	case PK_ENABLE_PASID:
		return ref_list(a, en, "device", rd->devs, rd->n_devs, &p->enable_pasid,
				&p->n_enable_pasid);
	case PK_DISABLE_PASID:
		return ref_list(a, en, "device", rd->devs, rd->n_devs, &p->disable_pasid,
				&p->n_disable_pasid);
	case PK_SKIP_INVALIDATION:
		p->has_skip_invalidation = true;
		return custom_mask(rd->c, en, scn_words_skip, "'skip_invalidation'",
				   &p->skip_invalidation);
	}
	return false;
}

static void read_phase(struct scn_rd *rd, unsigned i)
{
	const struct scn_section *sec = rd->phases[i];
	struct scenario_phase *p = &rd->s->phases[i];
	struct apply a = {.rd = rd,
			  .sec = sec,
			  .kind = SEC_PHASE,
			  .target = p,
			  .set = &rd->r.phase_set[i],
			  .dev_type = -1,
			  .custom = phase_custom};

	p->name = sec->name.s;
	p->line = sec->pos.line;
	rd->r.phase_sec[i] = sec;
	apply_section(&a, NULL);
}

/* ---- sorting sections by kind -------------------------------------------------------------- */

static int kind_of(struct scn_ctx *c, const struct scn_section *sec)
{
	const char *cands[N_SEC_KINDS], *s;

	for (size_t k = 0; k < N_SEC_KINDS; k++) {
		cands[k] = sec_kinds[k].name;
		if (!strcmp(sec->kind.s, sec_kinds[k].name))
			return (int)k;
	}
	s = scn_diags_full(c) ? NULL : scn_suggest(sec->kind.s, cands, N_SEC_KINDS);
	if (s)
		scn_error(c, &sec->kind.pos, "unknown section [%s]; did you mean [%s]?",
			  sec->kind.s, s);
	else
		scn_error(c, &sec->kind.pos,
			  "unknown section [%s]: sections are scenario, iommu, dma, device, "
			  "workload, phase and expect",
			  sec->kind.s);
	return -1;
}

/* Add a named section to its list unless its name is taken or the list is full. */
static void add_named(struct scn_rd *rd, const struct scn_section *sec,
		      const struct scn_section **list, size_t *n, size_t max, bool *over)
{
	struct scn_ctx *c = rd->c;
	int dup;

	if (!scn_val_name(c, &sec->name, sec->kind.s))
		return;
	dup = scn_find_name(sec->name.s, list, *n);
	if (dup >= 0) {
		scn_error(c, &sec->pos, "duplicate section [%s %s]", sec->kind.s, sec->name.s);
		scn_note(c, &list[dup]->pos, "[%s %s] was first defined here", sec->kind.s,
			 sec->name.s);
		return;
	}
	if (*n < max) {
		list[(*n)++] = sec;
		return;
	}
	if (!*over) /* one message per kind: later ones would say the same */
		scn_error(c, &sec->pos, "more than %zu [%s] sections", max, sec->kind.s);
	*over = true;
}

static void add_single(struct scn_rd *rd, const struct scn_section *sec,
		       const struct scn_section **slot)
{
	if (*slot) {
		scn_error(rd->c, &sec->pos, "duplicate section [%s]", sec->kind.s);
		scn_note(rd->c, &(*slot)->pos, "[%s] was first defined here", sec->kind.s);
		return;
	}
	*slot = sec;
}

static void sort_section(struct scn_rd *rd, const struct scn_section *sec, int kind)
{
	struct scn_ctx *c = rd->c;
	bool named = sec->name.s != NULL;

	switch (kind) {
	case SEC_SCENARIO:
	case SEC_IOMMU:
		if (named)
			scn_error(c, &sec->name.pos, "[%s] takes no name", sec->kind.s);
		add_single(rd, sec, kind == SEC_IOMMU ? &rd->r.iommu_sec : &rd->r.scenario_sec);
		break;
	case SEC_DMA:
		if (named)
			add_named(rd, sec, rd->dmas, &rd->n_dmas, SCENARIO_MAX_DEVICES,
				  &rd->over[SEC_DMA]);
		else
			add_single(rd, sec, &rd->r.dma_sec);
		break;
	case SEC_EXPECT:
		for (size_t i = 0; i < rd->n_expects; i++)
			if ((!named && !rd->expects[i]->name.s) ||
			    (named && rd->expects[i]->name.s &&
			     !strcmp(rd->expects[i]->name.s, sec->name.s))) {
				scn_error(c, &sec->pos, "duplicate section %s",
					  named ? "[expect NAME] for this phase" : "[expect]");
				scn_note(c, &rd->expects[i]->pos, "it was first defined here");
				return;
			}
		if (rd->n_expects < rd->expect_cap)
			rd->expects[rd->n_expects++] = sec;
		else if (!rd->over[SEC_EXPECT])
			scn_error(c, &sec->pos, "more than %zu [expect] sections", rd->expect_cap);
		if (rd->n_expects == rd->expect_cap && rd->expects[rd->n_expects - 1] != sec)
			rd->over[SEC_EXPECT] = true;
		break;
	default: {
		const struct scn_section **list = kind == SEC_DEVICE	 ? rd->devs
						  : kind == SEC_WORKLOAD ? rd->wls
									 : rd->phases;
		size_t *n = kind == SEC_DEVICE	   ? &rd->n_devs
			    : kind == SEC_WORKLOAD ? &rd->n_wls
						   : &rd->n_phases;
		size_t max = kind == SEC_DEVICE	    ? SCENARIO_MAX_DEVICES
			     : kind == SEC_WORKLOAD ? SCENARIO_MAX_WORKLOADS
						    : SCENARIO_MAX_PHASES;

		if (!named)
			scn_error(c, &sec->pos, "[%s] needs a name, such as [%s %s]", sec->kind.s,
				  sec->kind.s,
				  kind == SEC_DEVICE	 ? "dsa0"
				  : kind == SEC_WORKLOAD ? "copy"
							 : "warmup");
		else
			add_named(rd, sec, list, n, max, &rd->over[kind]);
	}
	}
}

static bool sort_sections(struct scn_rd *rd)
{
	struct scn_arena *ar = rd->c->arena;

	rd->devs = scn_alloc(ar, SCENARIO_MAX_DEVICES * sizeof(*rd->devs));
	rd->dmas = scn_alloc(ar, SCENARIO_MAX_DEVICES * sizeof(*rd->dmas));
	rd->wls = scn_alloc(ar, SCENARIO_MAX_WORKLOADS * sizeof(*rd->wls));
	rd->phases = scn_alloc(ar, SCENARIO_MAX_PHASES * sizeof(*rd->phases));
	rd->expect_cap = SCENARIO_MAX_PHASES + 1;
	rd->expects = scn_alloc(ar, rd->expect_cap * sizeof(*rd->expects));
	if (!rd->devs || !rd->dmas || !rd->wls || !rd->phases || !rd->expects)
		return false;
	for (const struct scn_section *sec = rd->c->sections; sec; sec = sec->next) {
		int kind;

		if (!sec->kind.s) /* a broken header, already reported */
			continue;
		kind = kind_of(rd->c, sec);
		if (kind >= 0)
			sort_section(rd, sec, kind);
	}
	return true;
}

/* ---- putting it together ------------------------------------------------------------------- */

static bool alloc_arrays(struct scn_rd *rd)
{
	struct scn_arena *ar = rd->c->arena;
	struct scenario *s = rd->s;
	struct scn_read *r = &rd->r;
	size_t nd = rd->n_devs ? rd->n_devs : 1, nw = rd->n_wls ? rd->n_wls : 1;
	size_t np = rd->n_phases ? rd->n_phases : 1;

	s->devices = scn_alloc(ar, nd * sizeof(*s->devices));
	s->workloads = scn_alloc(ar, nw * sizeof(*s->workloads));
	s->phases = scn_alloc(ar, np * sizeof(*s->phases));
	s->expects = scn_alloc(ar, SCENARIO_MAX_EXPECTS * sizeof(*s->expects));
	r->dev_sec = scn_alloc(ar, nd * sizeof(*r->dev_sec));
	r->dev_set = scn_alloc(ar, nd * sizeof(*r->dev_set));
	r->dev_ok = scn_alloc(ar, nd * sizeof(*r->dev_ok));
	r->dma_sec_of = scn_alloc(ar, nd * sizeof(*r->dma_sec_of));
	r->dma_over = scn_alloc(ar, nd * sizeof(*r->dma_over));
	r->dma_over_set = scn_alloc(ar, nd * sizeof(*r->dma_over_set));
	r->wl_sec = scn_alloc(ar, nw * sizeof(*r->wl_sec));
	r->wl_set = scn_alloc(ar, nw * sizeof(*r->wl_set));
	r->wl_ok = scn_alloc(ar, nw * sizeof(*r->wl_ok));
	r->phase_sec = scn_alloc(ar, np * sizeof(*r->phase_sec));
	r->phase_set = scn_alloc(ar, np * sizeof(*r->phase_set));
	r->expect_pos = scn_alloc(ar, SCENARIO_MAX_EXPECTS * sizeof(*r->expect_pos));
	s->n_devices = rd->n_devs;
	s->n_workloads = rd->n_wls;
	s->n_phases = rd->n_phases;
	return !ar->failed;
}

static void read_dma_overrides(struct scn_rd *rd)
{
	for (size_t i = 0; i < rd->n_dmas; i++) {
		const struct scn_section *sec = rd->dmas[i];
		int d = scn_resolve_ref(rd, &sec->name, "device", rd->devs, rd->n_devs);

		if (d < 0)
			continue;
		rd->r.dma_sec_of[d] = sec;
		read_dma(rd, sec, &rd->r.dma_over[d], &rd->r.dma_over_set[d]);
	}
}

static void read_all(struct scn_rd *rd)
{
	struct scenario *s = rd->s;

	s->seed = 1;
	s->memory = 4ull << 30;
	iommu_defaults(&s->iommu, SCENARIO_MODE_SCALABLE);
	rd->r.iommu_ok = true;
	dma_defaults(&s->dma);
	if (rd->r.scenario_sec)
		read_scenario(rd, rd->r.scenario_sec);
	if (rd->r.iommu_sec)
		read_iommu(rd, rd->r.iommu_sec);
	if (rd->r.dma_sec)
		read_dma(rd, rd->r.dma_sec, &s->dma, &rd->r.dma_set);
	for (unsigned i = 0; i < rd->n_devs; i++)
		read_device(rd, i);
	read_dma_overrides(rd);
	for (unsigned i = 0; i < rd->n_wls; i++)
		read_workload(rd, i);
	for (unsigned i = 0; i < rd->n_phases; i++)
		read_phase(rd, i);
	for (size_t i = 0; i < rd->n_expects; i++)
		scn_read_expects(rd, rd->expects[i]);
}

bool scn_read(struct scn_ctx *c, struct scenario *s, struct scn_read *r)
{
	struct scn_rd rd = {.c = c, .s = s};

	if (!sort_sections(&rd) || !alloc_arrays(&rd))
		return false;
	read_all(&rd);
	*r = rd.r;
	return !c->arena->failed;
}
