/* SPDX-License-Identifier: MIT */
/*
 * The conformance-vector reader: turns the text of a vector file (docs/vectors.md) into a
 * list of statements with every number already evaluated, or into one error with
 * file:line:column and what was expected there.
 *
 * It knows the syntax and the specification's names (register offsets, fault reason names
 * such as SCT.6, fault-record fields) but nothing of the model: `softiommu replay` runs the
 * statements, and a fuzz target can feed the reader arbitrary bytes. Any input, including
 * NUL bytes, overlong lines and deep nesting, ends in a statement list or an error; it
 * never crashes, reads out of bounds or runs for long (work is linear in the input, with
 * bounded nesting and a bounded number of names).
 *
 * No global state: the functions are safe to call from several threads on different files.
 */
#ifndef SOFTIOMMU_TOOLS_VECTOR_READER_H
#define SOFTIOMMU_TOOLS_VECTOR_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEC_NAME_MAX	64	     /* longest name (let, config field, model) + 1 */
#define VEC_LINE_MAX	4096	     /* longest line in bytes */
#define VEC_DEPTH_MAX	32	     /* deepest nesting of parentheses / unary operators */
#define VEC_SYMBOLS_MAX 4096	     /* most `let` names per file */
#define VEC_VALUES_MAX	512	     /* most values in one `mem write` statement */
#define VEC_FIELDS_MAX	16	     /* most field checks in one `fsts` / `frcd` statement */
#define VEC_COUNTER_MAX 32	     /* longest counter name (`stats`, `ats expect`) + 1 */
#define VEC_DMA_MAX	(1u << 20)   /* longest `dma` transfer in bytes */
#define VEC_FILE_MAX	(1 << 24)    /* largest vector file in bytes */
#define VEC_MEMORY_DFLT (1ull << 34) /* physical memory of a model unless `config memory` */

enum vec_kind {
	VEC_MODEL,	 /* model [NAME] */
	VEC_CONFIG,	 /* config FIELD VALUE */
	VEC_MEM_WRITE,	 /* mem write32|write64 ADDR VALUE... */
	VEC_MEM_FILL,	 /* mem fill ADDR LEN BYTE */
	VEC_MEM_LOAD,	 /* mem load ADDR "FILE" */
	VEC_MEM_READ,	 /* mem read32|read64 ADDR expect VALUE [mask MASK] */
	VEC_MMIO_WRITE,	 /* mmio write32|write64 OFFSET VALUE */
	VEC_MMIO_READ,	 /* mmio read32|read64 OFFSET [expect VALUE [mask MASK]] */
	VEC_TRANSLATE,	 /* translate SID ACCESS ADDR [options] expect RESULT */
	VEC_FSTS,	 /* fsts expect FIELD=VALUE... */
	VEC_FRCD,	 /* frcd INDEX expect FIELD=VALUE... */
	VEC_EVENTS,	 /* events expect [fault=N] [inv=N] [data=D] [addr=A] ... */
	VEC_IQ,		 /* iq DESCRIPTOR FIELD=VALUE... | iq raw Q0 Q1 [Q2 Q3] */
	VEC_IQ_SUBMIT,	 /* iq submit [tail=N] */
	VEC_IQ_ENABLE,	 /* iq enable ADDR [qs=N] [dw=128|256] */
	VEC_IQERCD,	 /* iqercd expect [iqei=N] [itesid=SID] [icesid=SID] */
	VEC_ATS_CONNECT, /* ats connect SID [answers|hung|removed|bad] [options] */
	VEC_ATS_STATE,	 /* ats state SID answers|hung|removed|bad */
	VEC_ATS_ENTRY,	 /* ats expect SID has|none addr=A [pasid=N] [priv] [pa=] ... */
	VEC_ATS_STATS,	 /* ats expect SID COUNTER=N|COUNTER+=N... */
	VEC_DMA,	 /* dma SID r|w ADDR [options] expect ok|error ... */
	VEC_STATS,	 /* stats expect COUNTER=N|COUNTER+=N... */
	VEC_CHECK,	 /* check expect stale=N [cache=] [missing=] [sid=] [pasid=] [addr=] */
};

/* Where an MMIO offset is counted from: the register map's 0, or a base the model
 * reports in CAP.FRO (fault-recording registers) or ECAP.IRO (IVA, IOTLB). */
enum vec_base {
	VEC_BASE_NONE,
	VEC_BASE_FRCD,	/* CAP.FRO * 16 */
	VEC_BASE_IVA,	/* ECAP.IRO * 16 */
	VEC_BASE_IOTLB, /* ECAP.IRO * 16 + 8 */
};

/* Address types, as in PCIe and the fault record's AT field. */
enum vec_at {
	VEC_AT_UNTRANSLATED = 0,
	VEC_AT_TRANSLATION = 1,
	VEC_AT_TRANSLATED = 2,
};

/* Permission letters of a translation result (`perm=rwxpug`). */
#define VEC_PERM_R	(1u << 0)
#define VEC_PERM_W	(1u << 1)
#define VEC_PERM_X	(1u << 2)
#define VEC_PERM_PRIV	(1u << 3)
#define VEC_PERM_U	(1u << 4)
#define VEC_PERM_GLOBAL (1u << 5)

/* Completion status of a translation (`status=sc|ur|ca`). */
enum vec_status {
	VEC_STATUS_SC = 0,
	VEC_STATUS_UR = 1,
	VEC_STATUS_CA = 2,
};

/* A check that may be absent: `set` says whether the vector asked for it. */
struct vec_opt {
	bool set;
	uint64_t value;
};

/* What a translation must produce. */
struct vec_result {
	bool fault;		 /* `expect fault ...`: completion status not SC */
	struct vec_opt addr;	 /* output address of the request's address */
	struct vec_opt size;	 /* page size of the translation */
	struct vec_opt perm;	 /* VEC_PERM_* bits expected ... */
	uint64_t perm_mask;	 /* ... among these (`perm=rw/rwx`; all six by default) */
	struct vec_opt reason;	 /* fault reason code; `ok` without fault= means 0 */
	bool reason_any;	 /* `fault=any`: the reason is not checked */
	struct vec_opt recorded; /* 1 recorded, 0 not (FPD suppressed or not recordable) */
	struct vec_opt status;	 /* enum vec_status */
	struct vec_opt iotlb;	 /* `iotlb=hit` 1 / `iotlb=miss` 0: the IOTLB served it or not */
};

struct vec_translate {
	uint64_t addr;
	uint32_t pasid;
	uint16_t sid;
	uint8_t at; /* enum vec_at */
	bool has_pasid, read, write, priv, exec, nw;
	struct vec_result expect;
};

/* Fields a `fsts` or `frcd` statement can check (docs/vectors.md lists their bits). */
enum vec_field {
	VEC_F_PFO,
	VEC_F_PPF,
	VEC_F_AFO,
	VEC_F_APF,
	VEC_F_IQE,
	VEC_F_ICE,
	VEC_F_ITE,
	VEC_F_FRI,
	VEC_F_F,   /* FRCD: fault bit */
	VEC_F_FR,  /* fault reason */
	VEC_F_SID, /* source-id */
	VEC_F_FI,  /* fault info: page address */
	VEC_F_PP,  /* PASID present */
	VEC_F_PV,  /* PASID value */
	VEC_F_AT,  /* address type */
	VEC_F_T1,
	VEC_F_T2,
	VEC_F_PRIV,
	VEC_F_EXE,
};

struct vec_field_check {
	enum vec_field field;
	uint64_t value;
};

/* Descriptor types of the invalidation queue (digest 5.1). */
enum vec_iq_type {
	VEC_IQ_RAW = 0, /* `iq raw`: the qwords as written */
	VEC_IQ_CC = 1,
	VEC_IQ_IOTLB = 2,
	VEC_IQ_DEVTLB = 3,
	VEC_IQ_IEC = 4,
	VEC_IQ_WAIT = 5,
	VEC_IQ_PIOTLB = 6,
	VEC_IQ_PC = 7,
	VEC_IQ_PDEVTLB = 8,
};

/* How an endpoint connected with `ats connect` answers invalidations. */
enum vec_ats_mode {
	VEC_ATS_ANSWERS, /* completes them (its ATC drops what they cover) */
	VEC_ATS_HUNG,	 /* never answers: a time-out; its ATC keeps serving */
	VEC_ATS_REMOVED, /* surprise-removed: a time-out, and its DMA fails */
	VEC_ATS_BAD,	 /* answers with an invalid completion */
};

/* The caches a stale translation can come from (`check expect cache=`). */
enum vec_cache {
	VEC_CACHE_CONTEXT,
	VEC_CACHE_PASID,
	VEC_CACHE_IOTLB,
	VEC_CACHE_ATC,	      /* an endpoint's device TLB */
	VEC_CACHE_PSCACHE_FS, /* the unit's first-stage paging-structure cache */
	VEC_CACHE_PSCACHE_SS, /* the unit's second-stage paging-structure cache */
	VEC_CACHE_COUNT,
};

/* The invalidation a stale translation says was left out (`check expect missing=`). */
enum vec_missing {
	VEC_MISSING_CC,	     /* context-cache (type 1) */
	VEC_MISSING_PC,	     /* PASID-cache (type 7) */
	VEC_MISSING_IOTLB,   /* IOTLB (type 2) */
	VEC_MISSING_PIOTLB,  /* PASID-based IOTLB (type 6) */
	VEC_MISSING_DEVTLB,  /* device-TLB (type 3) */
	VEC_MISSING_PDEVTLB, /* PASID-based device-TLB (type 8) */
	VEC_MISSING_NONE,    /* the report names no invalidation */
	VEC_MISSING_COUNT,
};

#define VEC_PASID_NONE (1u << 20) /* `pasid=none`: a request without PASID */

/* One counter check: NAME=VALUE (absolute) or NAME+=VALUE (growth since the previous
 * statement of the same kind). The replayer knows the names. */
struct vec_counter {
	char name[VEC_COUNTER_MAX];
	uint64_t value;
	bool delta;
	unsigned col; /* of the name */
};

/* What a `dma` statement sends and expects. */
struct vec_dma {
	uint64_t addr, len;
	uint32_t pasid;
	uint16_t sid;
	bool write, has_pasid, priv, exec;
	struct vec_opt data;  /* a write's byte pattern; a read's expected pattern */
	int error;	      /* 0 `expect ok`, else the positive errno of `expect error` */
	struct vec_opt fault; /* the failing request's fault reason */
	struct vec_opt atc;   /* 1 every page hit the ATC, 0 every page missed it */
};

struct vec_stmt {
	enum vec_kind kind;
	unsigned line, col; /* where the statement starts (1-based) */
	union {
		struct {
			char name[VEC_NAME_MAX]; /* "" when unnamed */
		} model;
		struct {
			char name[VEC_NAME_MAX];
			uint64_t value;
			unsigned name_col, value_col;
		} config;
		struct {
			uint64_t addr;
			unsigned width; /* 4 or 8 bytes */
			size_t count;
			uint64_t *values;
		} write;
		struct {
			uint64_t addr, len;
			uint8_t byte;
		} fill;
		struct {
			uint64_t addr;
			char *path; /* as written; relative to the vector file's directory */
			unsigned path_col;
		} load;
		struct {
			uint64_t addr; /* memory address or register offset from `base` */
			enum vec_base base;
			unsigned width;
			uint64_t value; /* written value, or expected value of a read */
			uint64_t mask;	/* bits a read compares (all when no `mask`) */
			bool check;	/* a read with `expect` */
			bool error;	/* `expect error`: the model must refuse the access */
		} access;		/* VEC_MEM_READ, VEC_MMIO_WRITE, VEC_MMIO_READ */
		struct vec_translate translate;
		struct {
			unsigned index; /* FRCD index */
			unsigned count;
			struct vec_field_check f[VEC_FIELDS_MAX];
		} fields; /* VEC_FSTS, VEC_FRCD */
		struct {
			struct vec_opt fault;	 /* fault-event interrupts sent so far */
			struct vec_opt data;	 /* FEDATA of the last one */
			struct vec_opt addr;	 /* FEUADDR:FEADDR of the last one */
			struct vec_opt inv;	 /* invalidation completion events so far */
			struct vec_opt inv_data; /* IEDATA of the last one */
			struct vec_opt inv_addr; /* IEUADDR:IEADDR of the last one */
		} events;
		struct {
			uint64_t q[4]; /* the descriptor's qwords */
			unsigned nq;   /* 2, or 4 for a 256-bit `iq raw` */
			enum vec_iq_type type;
		} iq;
		struct {
			struct vec_opt tail; /* IQT to write; default: after the last `iq` */
		} submit;
		struct {
			uint64_t addr;
			unsigned qs;	   /* 2^qs 4 KiB pages */
			struct vec_opt dw; /* 1 256-bit, 0 128-bit; default: by ECAP.SMTS */
		} enable;
		struct {
			struct vec_opt iqei, itesid, icesid;
		} iqercd;
		struct {
			uint16_t sid;
			enum vec_ats_mode mode;
			struct vec_opt pasid_width, atc_sets, atc_ways, stu, global_inv;
		} ats; /* VEC_ATS_CONNECT, VEC_ATS_STATE */
		struct {
			uint16_t sid;
			bool present; /* `has` (1) or `none` (0) */
			bool has_pasid, priv;
			uint32_t pasid;
			uint64_t addr;
			struct vec_opt pa, size, perm;
		} entry; /* VEC_ATS_ENTRY */
		struct {
			uint16_t sid; /* VEC_ATS_STATS */
			unsigned count;
			struct vec_counter c[VEC_FIELDS_MAX];
		} counters; /* VEC_STATS, VEC_ATS_STATS */
		struct vec_dma dma;
		struct {
			uint64_t stale;		/* reports since the previous `check` */
			struct vec_opt cache;	/* enum vec_cache */
			struct vec_opt missing; /* enum vec_missing */
			struct vec_opt sid;
			struct vec_opt pasid; /* VEC_PASID_NONE for none */
			struct vec_opt addr;
		} check;
	} u;
};

struct vec_file {
	char *name; /* the name errors and mismatches use */
	struct vec_stmt *stmts;
	size_t count, cap;
};

struct vec_error {
	unsigned line, col; /* 0 when the error has no position (out of memory, I/O) */
	char msg[256];
};

/*
 * vec_parse() - parse `len` bytes of vector text. `name` is used in messages (usually the
 * path). On success *out receives the file (free it with vec_file_free()) and 0 is
 * returned. Errors: -EINVAL for a syntax or value error (err->line, err->col and err->msg
 * say where and what was expected), -ENOMEM, -EFBIG for input beyond VEC_FILE_MAX.
 * Parsing stops at the first error. `buf` need not be NUL-terminated.
 */
int vec_parse(const char *name, const char *buf, size_t len, struct vec_file **out,
	      struct vec_error *err);

/*
 * vec_parse_path() - read the file at `path` and vec_parse() it. Errors as vec_parse(),
 * plus a negative errno from opening or reading the file (err->msg says which).
 */
int vec_parse_path(const char *path, struct vec_file **out, struct vec_error *err);

/* vec_file_free() - release a parsed file. NULL is accepted. */
void vec_file_free(struct vec_file *f);

/* vec_reason_name() - the spec's name of a fault reason code ("SCT.6"), or NULL. */
const char *vec_reason_name(unsigned code);

/* vec_field_name() - the keyword of a field check ("fri"). */
const char *vec_field_name(enum vec_field f);

/* vec_iq_name() - the `iq` keyword of a descriptor type ("piotlb"), or "raw". */
const char *vec_iq_name(enum vec_iq_type t);

/* vec_cache_name() / vec_missing_name() - the keywords of `check expect cache=, missing=`. */
const char *vec_cache_name(enum vec_cache c);
const char *vec_missing_name(enum vec_missing m);

/* vec_ats_mode_name() - "answers", "hung", "removed" or "bad". */
const char *vec_ats_mode_name(enum vec_ats_mode m);

/* vec_errno_name() - "EFAULT" for EFAULT (the errors `dma ... expect error` names), or NULL. */
const char *vec_errno_name(int err);

/* vec_format_perm() - write permission letters ("rw", "-" for none) into buf (>= 8). */
void vec_format_perm(uint64_t perm, char *buf);

#endif
