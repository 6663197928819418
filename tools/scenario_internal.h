/* SPDX-License-Identifier: MIT */
/*
 * The scenario reader's insides, shared by its files:
 *   scenario_lex.c     pass 1: text -> sections of entries (syntax only)
 *   scenario_value.c   typed values (sizes, durations, requester IDs, ...) and suggestions
 *   scenario_reader.c  pass 2: sections -> struct scenario
 *   scenario_expect.c  pass 2 for [expect] sections
 *   scenario_check.c   pass 3: cross-references, capabilities, resolved defaults
 *   scenario_parse.c   the entry points: the passes in order, files, scenario_free
 *   scenario_print.c   normal form and diagnostics output
 * Nothing here is for the runner; it uses scenario.h only.
 */
#ifndef SOFTIOMMU_TOOLS_SCENARIO_INTERNAL_H
#define SOFTIOMMU_TOOLS_SCENARIO_INTERNAL_H

#include "scenario.h"

#include <stdarg.h>

/* ---- arena: every allocation of one parse, freed at once ------------------------------ */

struct scn_arena {
	struct scn_block *head;
	bool failed; /* an allocation failed: the parse ends with -ENOMEM */
};

void *scn_alloc(struct scn_arena *a, size_t size); /* zeroed; NULL (and failed) on OOM */
char *scn_strndup(struct scn_arena *a, const char *s, size_t n);
void scn_arena_free(struct scn_arena *a);

/* ---- positions and syntax ------------------------------------------------------------- */

struct scn_pos {
	uint32_t line, col, len; /* 1-based line and byte column; len bytes of text */
	uint32_t off;		 /* byte offset of the text in the input */
};

/* A piece of text from the input, NUL-terminated copy in the arena. */
struct scn_text {
	const char *s;
	size_t n;
	struct scn_pos pos;
	bool quoted; /* was written as "..." */
};

enum scn_op {
	SCN_OP_ASSIGN, /* = */
	SCN_OP_EQ,     /* == */
	SCN_OP_NE,
	SCN_OP_LT,
	SCN_OP_LE,
	SCN_OP_GT,
	SCN_OP_GE,
};

/* A selector in an [expect] line: metric(key=value, ...). */
struct scn_sel {
	struct scn_text key, value;
};

/* One "key = value" line (values may continue over lines after a trailing comma). */
struct scn_entry {
	struct scn_text key;
	struct scn_sel *sels; /* NULL unless the key had "(...)" */
	uint32_t n_sels;
	bool has_sels;
	struct scn_pos sels_pos; /* the "(...)" */
	enum scn_op op;
	struct scn_pos op_pos;
	struct scn_text *items; /* the comma-separated items, at least one */
	uint32_t n_items;
	struct scn_text raw; /* the whole value as written (first line only), for free text */
	struct scn_entry *next;
};

struct scn_section {
	struct scn_text kind; /* "iommu", "device", ... */
	struct scn_text name; /* s == NULL when absent */
	struct scn_pos pos;   /* the whole header */
	struct scn_entry *entries;
	struct scn_entry *last_entry;
	uint32_t n_entries;
	struct scn_section *next;
};

/* ---- the parse context ---------------------------------------------------------------- */

struct scn_ctx {
	const char *buf;
	size_t len;
	const char *file;
	struct scenario_diags *diags; /* never NULL inside the reader (a local one if needed) */
	size_t errors;		      /* errors reported by this parse */
	bool last_stored;	      /* the last diagnostic was stored (a note may follow) */
	struct scn_arena *arena;
	struct scn_section *sections;
};

/* Report at `pos` (NULL: the whole input). printf-style. */
void scn_error(struct scn_ctx *c, const struct scn_pos *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void scn_warning(struct scn_ctx *c, const struct scn_pos *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Attach a note to the last diagnostic reported (no-op if it was dropped). */
void scn_note(struct scn_ctx *c, const struct scn_pos *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True when no further error can be stored: skip costly work such as suggestions. */
bool scn_diags_full(const struct scn_ctx *c);

/* Pass 1: build c->sections from c->buf. Errors are reported; parsing goes on. */
void scn_lex(struct scn_ctx *c);

/* Quote arbitrary input bytes for a message: 'text', non-printables as \xNN, truncated. */
const char *scn_quote(const char *s, size_t n, char *out, size_t outsz);

/* ---- typed values (scenario_value.c) --------------------------------------------------
 * Each returns true and stores the value, or reports an error at the item and returns
 * false. `what` names the key in range errors ("'pasid_bits'"). */

struct scn_word {
	const char *word;
	int value;
};

bool scn_val_u64(struct scn_ctx *c, const struct scn_text *t, const char *what, uint64_t min,
		 uint64_t max, uint64_t *out);
bool scn_val_size(struct scn_ctx *c, const struct scn_text *t, const char *what, uint64_t min,
		  uint64_t max, uint64_t *out);
bool scn_val_range(struct scn_ctx *c, const struct scn_text *t, const char *what, uint64_t min,
		   uint64_t max, struct scenario_range *out);
bool scn_val_duration(struct scn_ctx *c, const struct scn_text *t, const char *what,
		      uint64_t min_ns, uint64_t max_ns, uint64_t *out);
bool scn_val_bool(struct scn_ctx *c, const struct scn_text *t, bool *out);
bool scn_val_percent(struct scn_ctx *c, const struct scn_text *t, uint64_t *out);
bool scn_val_rid(struct scn_ctx *c, const struct scn_text *t, uint16_t *out);
bool scn_val_word(struct scn_ctx *c, const struct scn_text *t, const struct scn_word *words,
		  const char *what, int *out);
bool scn_val_name(struct scn_ctx *c, const struct scn_text *t, const char *what);

/* Plain parsers without diagnostics (used by the above and by tests). */
bool scn_parse_u64(const char *s, size_t n, uint64_t *out, bool *overflow);
bool scn_parse_size(const char *s, size_t n, uint64_t *out);

/* Edit distance (optimal string alignment, case-insensitive), capped at `cap`. */
unsigned scn_distance(const char *a, const char *b, unsigned cap);
/* The candidate nearest to `s` if it is near enough to be a likely typo, else NULL. */
const char *scn_suggest(const char *s, const char *const *cands, size_t n);
/* Join the words of a word list for messages: "a, b or c". */
const char *scn_word_list(const struct scn_word *words, char *out, size_t outsz);

/* ---- format tables shared by the reader and the printer ------------------------------- */

extern const struct scn_word scn_words_mode[];
extern const struct scn_word scn_words_domain[];
extern const struct scn_word scn_words_page_table[];
extern const struct scn_word scn_words_invalidation[];
extern const struct scn_word scn_words_kernel_pasid[];
extern const struct scn_word scn_words_skip[];
extern const struct scn_word scn_words_dev_type[];
extern const struct scn_word scn_words_ops_dsa[];
extern const struct scn_word scn_words_ops_nic[];
extern const struct scn_word scn_words_ops_storage[];
extern const struct scn_word scn_words_wl_pasid[];
extern const struct scn_word scn_words_map[];
extern const struct scn_word scn_words_metric[];
extern const struct scn_word scn_words_cmp[];
extern const struct scn_word scn_words_cache[];
extern const struct scn_word scn_words_inv_type[];
extern const struct scn_word scn_words_inv_gran[];

/* The first word of `words` whose value is `v` (the canonical spelling), or "?". */
const char *scn_word_name(const struct scn_word *words, int v);

/* Sizes and durations in their shortest exact form ("4K", "10ms"). */
const char *scn_fmt_size(uint64_t v, char *out, size_t outsz);
const char *scn_fmt_duration(uint64_t ns, char *out, size_t outsz);
const char *scn_fmt_percent(uint64_t bp, char *out, size_t outsz);
const char *scn_fmt_rid(uint16_t rid, char *out, size_t outsz);

const char *scn_suggest_fault_reason(const char *s);

/* ---- pass 2 state, shared with pass 3 ------------------------------------------------- */

/* Key indices of each section kind (the order of the key tables in scenario_reader.c). */
enum { SK_NAME, SK_DESCRIPTION, SK_SEED, SK_MEMORY, SK_TIMEOUT, SK_COUNT };
enum {
	IK_MODE,
	IK_FIRST_STAGE,
	IK_SECOND_STAGE,
	IK_NESTED,
	IK_PASS_THROUGH,
	IK_FIVE_LEVEL,
	IK_CACHING_MODE,
	IK_DEVICE_TLB,
	IK_CHECKER,
	IK_MGAW,
	IK_HAW,
	IK_SAGAW,
	IK_PASID_BITS,
	IK_LARGE_PAGES,
	IK_FAULT_RECORDS,
	IK_INV_QUEUE_PAGES,
	IK_CONTEXT_CACHE_ENTRIES,
	IK_CONTEXT_CACHE_WAYS,
	IK_PASID_CACHE_ENTRIES,
	IK_PASID_CACHE_WAYS,
	IK_IOTLB_ENTRIES,
	IK_IOTLB_WAYS,
	IK_PWC_ENTRIES,
	IK_PWC_WAYS,
	IK_COUNT
};
enum {
	MK_DEFAULT_DOMAIN,
	MK_PAGE_TABLE,
	MK_INVALIDATION,
	MK_FLUSH_QUEUE_SIZE,
	MK_FLUSH_TIMEOUT,
	MK_KERNEL_PASID,
	MK_DEBUG,
	MK_SKIP_INVALIDATION,
	MK_COUNT
};
enum {
	DK_TYPE,
	DK_RID,
	DK_PASID_BITS,
	DK_ATS,
	DK_DEVTLB_ENTRIES,
	DK_WORK_QUEUES,
	DK_WQ_SIZE,
	DK_RX_RING,
	DK_TX_RING,
	DK_QUEUE_DEPTH,
	DK_MAX_SEGMENTS,
	DK_COUNT
};
enum {
	WK_DEVICE,
	WK_OP,
	WK_PASID,
	WK_SIZE,
	WK_SEGMENTS,
	WK_COUNT_,
	WK_THREADS,
	WK_PAGE_SIZE,
	WK_MAP,
	WK_VERIFY,
	WK_SEED,
	WK_COUNT
};
enum { PK_RUN, PK_ENABLE_PASID, PK_DISABLE_PASID, PK_SKIP_INVALIDATION, PK_WAIT, PK_COUNT };

/* Which keys of one section were written, and the entry that wrote each. */
struct scn_keyset {
	uint64_t mask;
	const struct scn_entry *entry[32];
};

static inline bool scn_isset(const struct scn_keyset *k, unsigned key)
{
	return k && (k->mask >> key) & 1;
}

/* Pass 2's findings, for pass 3: the sections behind each array slot and their keysets. */
struct scn_read {
	const struct scn_section *scenario_sec, *iommu_sec, *dma_sec;
	struct scn_keyset scenario_set, iommu_set, dma_set;
	bool iommu_ok; /* [iommu] mode was valid (so capability checks make sense) */
	const struct scn_section **dev_sec;
	struct scn_keyset *dev_set;
	bool *dev_ok;			       /* the device's type was valid */
	const struct scn_section **dma_sec_of; /* per device: its [dma NAME], or NULL */
	struct scenario_dma *dma_over;
	struct scn_keyset *dma_over_set;
	const struct scn_section **wl_sec;
	struct scn_keyset *wl_set;
	bool *wl_ok; /* the workload's device was resolved */
	const struct scn_section **phase_sec;
	struct scn_keyset *phase_set;
	struct scn_pos *expect_pos; /* per expectation: its key */
};

/* The position to blame for key `key` of a keyset: the value if written, else `fallback`. */
const struct scn_pos *scn_key_pos(const struct scn_keyset *k, unsigned key,
				  const struct scn_pos *fallback);

/* Pass 2 (scenario_reader.c): sort the sections by kind and read them all into s;
 * false when memory ran out. */
bool scn_read(struct scn_ctx *c, struct scenario *s, struct scn_read *r);

/* Pass 2's working state, shared by scenario_reader.c and scenario_expect.c. */
struct scn_rd {
	struct scn_ctx *c;
	struct scenario *s;
	struct scn_read r;
	/* Sections by kind, in file order, after duplicates and excess were dropped. */
	const struct scn_section **devs, **dmas, **wls, **phases, **expects;
	size_t n_devs, n_dmas, n_wls, n_phases, n_expects;
	size_t expect_cap;
	bool over[8]; /* "more than N sections" was reported, per section kind */
};

/* Index of the section named `name` in secs[0..n), or -1. */
int scn_find_name(const char *name, const struct scn_section **secs, size_t n);
/* Report an unknown reference to a `kind` named in `t`, suggesting the nearest name. */
void scn_unknown_ref(struct scn_ctx *c, const struct scn_text *t, const char *kind,
		     const struct scn_section **secs, size_t n);
/* Resolve a name to its index in `secs`, reporting errors; -1 when it does not resolve. */
int scn_resolve_ref(struct scn_rd *rd, const struct scn_text *t, const char *kind,
		    const struct scn_section **secs, size_t n);
/* Read one [expect] or [expect PHASE] section into rd->s->expects. */
void scn_read_expects(struct scn_rd *rd, const struct scn_section *sec);

/* Pass 3 (scenario_check.c), called by the reader once every section is read. */
void scn_check(struct scn_ctx *c, struct scn_read *r, struct scenario *s);

/* Canonical text of one expectation (scenario_print.c). */
void scn_format_expect(const struct scenario *s, const struct scenario_expect *e, char *out,
		       size_t outsz);

#endif
