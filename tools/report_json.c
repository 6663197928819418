// SPDX-License-Identifier: MIT
/*
 * The JSON writer (report_json.h): RFC 8259 output with string escaping and UTF-8 repair.
 */
#include "report_json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

void json_init(struct json_writer *w, FILE *f, int indent)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	w->indent = indent < 0 ? 0 : indent > 8 ? 8 : indent;
}

static void fail(struct json_writer *w, int err)
{
	if (!w->err)
		w->err = err;
}

static void newline(struct json_writer *w)
{
	if (!w->indent)
		return;
	fputc('\n', w->f);
	for (int i = 0; i < w->depth * w->indent; i++)
		fputc(' ', w->f);
}

/* Before any value: check that one may come here, and write the separator. */
static bool value_start(struct json_writer *w)
{
	if (w->err)
		return false;
	if (w->depth == 0) {
		if (w->done) {
			fail(w, -EINVAL); /* a second top-level value */
			return false;
		}
		return true;
	}
	if (w->in_object[w->depth - 1]) {
		if (w->key_due) {
			fail(w, -EINVAL); /* a value where a member name belongs */
			return false;
		}
		w->key_due = true; /* the member is complete after this value */
		return true;
	}
	if (w->count[w->depth - 1]++)
		fputc(',', w->f);
	newline(w);
	return true;
}

static void value_end(struct json_writer *w)
{
	if (w->depth == 0)
		w->done = true;
}

static void begin(struct json_writer *w, bool object)
{
	if (!value_start(w))
		return;
	if (w->depth == JSON_MAX_DEPTH) {
		fail(w, -EINVAL);
		return;
	}
	fputc(object ? '{' : '[', w->f);
	w->in_object[w->depth] = object;
	w->count[w->depth] = 0;
	w->depth++;
	w->key_due = object;
}

static void end(struct json_writer *w, bool object)
{
	if (w->err)
		return;
	/* Closing an object is only right between members, never after a dangling key. */
	if (w->depth == 0 || w->in_object[w->depth - 1] != object || (object && !w->key_due)) {
		fail(w, -EINVAL);
		return;
	}
	w->depth--;
	if (w->count[w->depth])
		newline(w);
	fputc(object ? '}' : ']', w->f);
	w->key_due = w->depth > 0 && w->in_object[w->depth - 1];
	value_end(w);
}

void json_begin_object(struct json_writer *w)
{
	begin(w, true);
}

void json_end_object(struct json_writer *w)
{
	end(w, true);
}

void json_begin_array(struct json_writer *w)
{
	begin(w, false);
}

void json_end_array(struct json_writer *w)
{
	end(w, false);
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629 table), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0; /* continuation byte, C0/C1 overlong lead, or F5..FF */
	if (n < len)
		return 0;
	/* The second byte's range excludes overlong forms, surrogates and > U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

int json_write_escaped(FILE *f, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			i++;
		} else if (c < 0x20) {
			static const char short_esc[] = {
			    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
			if (c < sizeof(short_esc) && short_esc[c])
				fprintf(f, "\\%c", short_esc[c]);
			else
				fprintf(f, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			fputc(c, f);
			i++;
		} else if ((n = utf8_len(s + i, len - i)) != 0) {
			fwrite(s + i, 1, n, f);
			i += n;
		} else {
			fputs("\xef\xbf\xbd", f); /* U+FFFD for the offending byte */
			i++;
		}
	}
	return ferror(f) ? -EIO : 0;
}

void json_key(struct json_writer *w, const char *key)
{
	if (w->err)
		return;
	if (w->depth == 0 || !w->in_object[w->depth - 1] || !w->key_due || !key) {
		fail(w, -EINVAL);
		return;
	}
	if (w->count[w->depth - 1]++)
		fputc(',', w->f);
	newline(w);
	fputc('"', w->f);
	json_write_escaped(w->f, key, strlen(key));
	fputs(w->indent ? "\": " : "\":", w->f);
	w->key_due = false;
}

void json_string_len(struct json_writer *w, const char *s, size_t len)
{
	if (!value_start(w))
		return;
	fputc('"', w->f);
	json_write_escaped(w->f, s, len);
	fputc('"', w->f);
	value_end(w);
}

void json_string(struct json_writer *w, const char *s)
{
	if (!s)
		json_null(w);
	else
		json_string_len(w, s, strlen(s));
}

void json_uint(struct json_writer *w, uint64_t v)
{
	if (!value_start(w))
		return;
	fprintf(w->f, "%" PRIu64, v);
	value_end(w);
}

void json_int(struct json_writer *w, int64_t v)
{
	if (!value_start(w))
		return;
	fprintf(w->f, "%" PRId64, v);
	value_end(w);
}

void json_double(struct json_writer *w, double v, int decimals)
{
	if (!isfinite(v)) {
		json_null(w);
		return;
	}
	if (!value_start(w))
		return;
	if (decimals < 0)
		decimals = 0;
	if (decimals > 9)
		decimals = 9;
	/* "-0.000" is valid JSON, but print small negatives as 0 to keep reports tidy. */
	if (v < 0 && v > -0.5 * pow(10, -decimals))
		v = 0;
	fprintf(w->f, "%.*f", decimals, v);
	value_end(w);
}

void json_bool(struct json_writer *w, bool v)
{
	if (!value_start(w))
		return;
	fputs(v ? "true" : "false", w->f);
	value_end(w);
}

void json_null(struct json_writer *w)
{
	if (!value_start(w))
		return;
	fputs("null", w->f);
	value_end(w);
}

void json_kv_string(struct json_writer *w, const char *key, const char *s)
{
	json_key(w, key);
	json_string(w, s);
}

void json_kv_uint(struct json_writer *w, const char *key, uint64_t v)
{
	json_key(w, key);
	json_uint(w, v);
}

void json_kv_int(struct json_writer *w, const char *key, int64_t v)
{
	json_key(w, key);
	json_int(w, v);
}

void json_kv_double(struct json_writer *w, const char *key, double v, int decimals)
{
	json_key(w, key);
	json_double(w, v, decimals);
}

void json_kv_bool(struct json_writer *w, const char *key, bool v)
{
	json_key(w, key);
	json_bool(w, v);
}

int json_finish(struct json_writer *w)
{
	if (!w->err && (w->depth || !w->done))
		w->err = -EINVAL;
	if (!w->err) {
		fputc('\n', w->f);
		if (ferror(w->f))
			w->err = -EIO;
	}
	return w->err;
}
