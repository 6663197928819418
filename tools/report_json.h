/* SPDX-License-Identifier: MIT */
/*
 * A small streaming JSON writer for the softiommu command's machine-readable output (the
 * `run --json` report, the Chrome trace). It writes RFC 8259 JSON to a stdio stream as the
 * caller walks its data: objects, arrays, keys, strings, integers, doubles, booleans, null.
 *
 * Strings are escaped as the RFC requires: '"' and '\\' get a backslash, control characters
 * below 0x20 become \n, \t, \r, \b, \f or \u00XX, and bytes that are not valid UTF-8 (stray
 * continuation bytes, overlong forms, surrogates, code points above U+10FFFF, truncated
 * sequences) become U+FFFD, so the output is always valid UTF-8 whatever the input.
 * Doubles that are not finite (NaN, infinities) are written as null: JSON has no such
 * numbers.
 *
 * Misuse (a value where a key is due, a key outside an object, closing what is not open,
 * nesting deeper than JSON_MAX_DEPTH) writes nothing and is remembered: json_finish()
 * reports it, as it reports a stream error. Nothing here allocates.
 *
 * Locking: none; one writer per thread.
 */
#ifndef SOFTIOMMU_TOOLS_REPORT_JSON_H
#define SOFTIOMMU_TOOLS_REPORT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json_writer {
	FILE *f;
	int indent;   /* spaces per level; 0 writes everything on one line */
	int depth;    /* open containers */
	int err;      /* first error: -EINVAL misuse, -EIO the stream failed */
	bool key_due; /* inside an object and a key is expected next */
	bool in_object[JSON_MAX_DEPTH];
	unsigned count[JSON_MAX_DEPTH]; /* members written in each open container */
	bool done;			/* a complete top-level value has been written */
};

/* json_init() - a writer on `f`; `indent` spaces per nesting level (0: compact). */
void json_init(struct json_writer *w, FILE *f, int indent);

void json_begin_object(struct json_writer *w);
void json_end_object(struct json_writer *w);
void json_begin_array(struct json_writer *w);
void json_end_array(struct json_writer *w);

/* json_key() - the next member's name (inside an object, before its value). */
void json_key(struct json_writer *w, const char *key);

void json_string(struct json_writer *w, const char *s); /* NULL writes null */
void json_string_len(struct json_writer *w, const char *s, size_t len);
void json_uint(struct json_writer *w, uint64_t v);
void json_int(struct json_writer *w, int64_t v);
void json_double(struct json_writer *w, double v, int decimals); /* fixed point */
void json_bool(struct json_writer *w, bool v);
void json_null(struct json_writer *w);

/* Key and value in one call. */
void json_kv_string(struct json_writer *w, const char *key, const char *s);
void json_kv_uint(struct json_writer *w, const char *key, uint64_t v);
void json_kv_int(struct json_writer *w, const char *key, int64_t v);
void json_kv_double(struct json_writer *w, const char *key, double v, int decimals);
void json_kv_bool(struct json_writer *w, const char *key, bool v);

/*
 * json_write_escaped() - write `len` bytes of `s` as the inside of a JSON string (no quotes),
 * escaped as described above. Returns 0 or -EIO.
 */
int json_write_escaped(FILE *f, const char *s, size_t len);

/*
 * json_finish() - end the document with a newline. 0 when exactly one complete value was
 * written and the stream took everything; -EINVAL on misuse or an unfinished document;
 * -EIO when writing failed. Does not close or flush the stream.
 */
int json_finish(struct json_writer *w);

#endif
