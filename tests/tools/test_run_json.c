// SPDX-License-Identifier: MIT
/*
 * The JSON writer behind `softiommu run --json` and `--trace`: structure, separators and
 * indentation, every escape RFC 8259 requires, UTF-8 repair of every kind of malformed
 * sequence, numbers at their limits, and misuse that must be refused (never written).
 *
 * The writer lives in tools/, which is not part of the library: include its source.
 */
#include "check.h"

#include "../../tools/report_json.c"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *text;
	size_t len;
	FILE *f;
};

static void buf_open(struct buf *b)
{
	b->text = NULL;
	b->len = 0;
	b->f = open_memstream(&b->text, &b->len);
}

static char *buf_close(struct buf *b)
{
	fclose(b->f);
	return b->text;
}

/* Escape `len` bytes and return the text (caller frees). */
static char *escaped(const char *s, size_t len)
{
	struct buf b;

	buf_open(&b);
	json_write_escaped(b.f, s, len);
	return buf_close(&b);
}

static void test_compact_document(void)
{
	struct json_writer w;
	struct buf b;
	char *out;

	buf_open(&b);
	json_init(&w, b.f, 0);
	json_begin_object(&w);
	json_kv_string(&w, "name", "dsa0");
	json_kv_uint(&w, "ops", 18446744073709551615ull);
	json_kv_int(&w, "delta", -9223372036854775807ll - 1);
	json_kv_bool(&w, "ok", true);
	json_key(&w, "list");
	json_begin_array(&w);
	json_uint(&w, 1);
	json_null(&w);
	json_begin_object(&w);
	json_end_object(&w);
	json_begin_array(&w);
	json_end_array(&w);
	json_end_array(&w);
	json_kv_double(&w, "rate", 99.5, 2);
	json_end_object(&w);
	CHECK_EQ(json_finish(&w), 0);
	out = buf_close(&b);
	CHECK(!strcmp(out, "{\"name\":\"dsa0\",\"ops\":18446744073709551615,"
			   "\"delta\":-9223372036854775808,\"ok\":true,"
			   "\"list\":[1,null,{},[]],\"rate\":99.50}\n"));
	free(out);
}

static void test_indented_document(void)
{
	struct json_writer w;
	struct buf b;
	char *out;

	buf_open(&b);
	json_init(&w, b.f, 2);
	json_begin_object(&w);
	json_key(&w, "a");
	json_begin_array(&w);
	json_uint(&w, 1);
	json_uint(&w, 2);
	json_end_array(&w);
	json_key(&w, "b");
	json_begin_object(&w);
	json_end_object(&w);
	json_end_object(&w);
	CHECK_EQ(json_finish(&w), 0);
	out = buf_close(&b);
	CHECK(!strcmp(out, "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}\n"));
	free(out);
}

static void test_escapes(void)
{
	char all[32];
	char *out;

	out = escaped("a\"b\\c/d", 7);
	CHECK(!strcmp(out, "a\\\"b\\\\c/d"));
	free(out);
	out = escaped("\b\f\n\r\t", 5);
	CHECK(!strcmp(out, "\\b\\f\\n\\r\\t"));
	free(out);
	/* Every other control character as \u00XX, including NUL inside the string. */
	for (int i = 0; i < 32; i++)
		all[i] = (char)i;
	out = escaped(all, 32);
	CHECK(!strncmp(out, "\\u0000\\u0001\\u0002", 18));
	CHECK(strstr(out, "\\u001f") != NULL);
	CHECK(strstr(out, "\\u000b") != NULL);
	CHECK(strstr(out, "\\n") != NULL);
	for (const char *p = out; *p; p++)
		CHECK((unsigned char)*p >= 0x20);
	free(out);
	/* DEL is not a control character for JSON. */
	out = escaped("\x7f", 1);
	CHECK(!strcmp(out, "\x7f"));
	free(out);
}

static void test_utf8_kept(void)
{
	/* Two, three and four-byte sequences at the edges of their ranges pass unchanged. */
	static const char *good[] = {
	    "\xc2\x80",	    "\xdf\xbf",		"\xe0\xa0\x80",	    "\xed\x9f\xbf", "\xee\x80\x80",
	    "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "caf\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *out = escaped(good[i], strlen(good[i]));

		CHECK(!strcmp(out, good[i]));
		free(out);
	}
}

static void test_utf8_repaired(void)
{
	/* Each malformed input and what must come out (U+FFFD per offending byte). */
	static const struct {
		const char *in;
		const char *out;
	} bad[] = {
	    {"\x80", "\xef\xbf\xbd"},				      /* stray continuation */
	    {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},		      /* overlong '/' */
	    {"\xc1\xbf", "\xef\xbf\xbd\xef\xbf\xbd"},		      /* overlong */
	    {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong 3-byte */
	    {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate D800 */
	    {"\xf4\x90\x80\x80",
	     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* above U+10FFFF */
	    {"\xf5\x80", "\xef\xbf\xbd\xef\xbf\xbd"},		  /* F5 never appears */
	    {"\xff", "\xef\xbf\xbd"},
	    {"a\xc3", "a\xef\xbf\xbd"},			/* truncated at the end */
	    {"\xe2\x82x", "\xef\xbf\xbd\xef\xbf\xbdx"}, /* truncated before ASCII */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = escaped(bad[i].in, strlen(bad[i].in));

		if (strcmp(out, bad[i].out))
			fprintf(stderr, "case %zu\n", i);
		CHECK(!strcmp(out, bad[i].out));
		free(out);
	}
}

static void test_doubles(void)
{
	struct json_writer w;
	struct buf b;
	char *out;

	buf_open(&b);
	json_init(&w, b.f, 0);
	json_begin_array(&w);
	json_double(&w, 1.0 / 3.0, 3);
	json_double(&w, -0.0001, 2); /* prints as 0.00, not -0.00 */
	json_double(&w, NAN, 2);
	json_double(&w, INFINITY, 2);
	json_double(&w, 12.5, 0);
	json_double(&w, 2.0, 99); /* decimals are capped */
	json_end_array(&w);
	CHECK_EQ(json_finish(&w), 0);
	out = buf_close(&b);
	CHECK(!strcmp(out, "[0.333,0.00,null,null,12,2.000000000]\n"));
	free(out);
}

/* Every kind of misuse is refused, writes nothing more, and json_finish reports it. */
static void test_misuse(void)
{
	struct json_writer w;
	struct buf b;
	char *out;

	/* A value without a key inside an object. */
	buf_open(&b);
	json_init(&w, b.f, 0);
	json_begin_object(&w);
	json_uint(&w, 1);
	json_end_object(&w);
	CHECK_EQ(json_finish(&w), -EINVAL);
	out = buf_close(&b);
	CHECK(!strcmp(out, "{"));
	free(out);

	/* A key in an array, a key after a key, closing the wrong kind. */
	buf_open(&b);
	json_init(&w, b.f, 0);
	json_begin_array(&w);
	json_key(&w, "x");
	CHECK_EQ(json_finish(&w), -EINVAL);
	free(buf_close(&b));

	buf_open(&b);
	json_init(&w, b.f, 0);
	json_begin_object(&w);
	json_key(&w, "x");
	json_key(&w, "y");
	CHECK_EQ(json_finish(&w), -EINVAL);
	free(buf_close(&b));

	buf_open(&b);
	json_init(&w, b.f, 0);
	json_begin_object(&w);
	json_key(&w, "x");
	json_end_object(&w); /* a dangling key */
	CHECK_EQ(json_finish(&w), -EINVAL);
	free(buf_close(&b));

	buf_open(&b);
	json_init(&w, b.f, 0);
	json_begin_array(&w);
	json_end_object(&w);
	CHECK_EQ(json_finish(&w), -EINVAL);
	free(buf_close(&b));

	/* Unfinished, empty, and two top-level values. */
	buf_open(&b);
	json_init(&w, b.f, 0);
	json_begin_array(&w);
	CHECK_EQ(json_finish(&w), -EINVAL);
	free(buf_close(&b));

	buf_open(&b);
	json_init(&w, b.f, 0);
	CHECK_EQ(json_finish(&w), -EINVAL);
	free(buf_close(&b));

	buf_open(&b);
	json_init(&w, b.f, 0);
	json_uint(&w, 1);
	json_uint(&w, 2);
	CHECK_EQ(json_finish(&w), -EINVAL);
	out = buf_close(&b);
	CHECK(!strcmp(out, "1"));
	free(out);

	/* Closing at depth 0, a NULL key. */
	buf_open(&b);
	json_init(&w, b.f, 0);
	json_end_array(&w);
	CHECK_EQ(json_finish(&w), -EINVAL);
	free(buf_close(&b));

	buf_open(&b);
	json_init(&w, b.f, 0);
	json_begin_object(&w);
	json_key(&w, NULL);
	CHECK_EQ(json_finish(&w), -EINVAL);
	free(buf_close(&b));
}

static void test_depth_limit(void)
{
	struct json_writer w;
	struct buf b;

	buf_open(&b);
	json_init(&w, b.f, 0);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_begin_array(&w);
	CHECK_EQ(w.err, 0);
	json_begin_array(&w); /* one too deep */
	CHECK_EQ(w.err, -EINVAL);
	CHECK_EQ(json_finish(&w), -EINVAL);
	free(buf_close(&b));

	/* Exactly the limit is fine. */
	buf_open(&b);
	json_init(&w, b.f, 0);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_begin_array(&w);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_end_array(&w);
	CHECK_EQ(json_finish(&w), 0);
	free(buf_close(&b));
}

static void test_stream_error(void)
{
	struct json_writer w;
	FILE *f = fopen("/dev/full", "w");

	if (!f) {
		/* No /dev/full: a read-only stream fails the same way. */
		f = fopen("/dev/null", "r");
		CHECK(f != NULL);
	}
	setvbuf(f, NULL, _IONBF, 0);
	json_init(&w, f, 0);
	json_string(&w, "x");
	CHECK_EQ(json_finish(&w), -EIO);
	fclose(f);
}

/* A string of random bytes always comes out as valid UTF-8 without control characters. */
static void test_random_strings(void)
{
	uint64_t seed = 42;
	char in[64];

	for (int round = 0; round < 20000; round++) {
		size_t n = check_rand(&seed) % sizeof(in);
		char *out;

		for (size_t i = 0; i < n; i++)
			in[i] = (char)check_rand(&seed);
		out = escaped(in, n);
		for (const unsigned char *p = (const unsigned char *)out; *p;) {
			size_t l;

			CHECK(*p >= 0x20);
			if (*p < 0x80) {
				/* A backslash always starts a complete escape. */
				if (*p == '\\') {
					CHECK(strchr("\"\\bfnrtu", p[1]) != NULL);
					p += p[1] == 'u' ? 6 : 2;
				} else {
					CHECK(*p != '"');
					p++;
				}
				continue;
			}
			l = utf8_len(p, strlen((const char *)p));
			CHECK(l != 0);
			p += l;
		}
		free(out);
	}
}

int main(void)
{
	RUN(test_compact_document);
	RUN(test_indented_document);
	RUN(test_escapes);
	RUN(test_utf8_kept);
	RUN(test_utf8_repaired);
	RUN(test_doubles);
	RUN(test_misuse);
	RUN(test_depth_limit);
	RUN(test_stream_error);
	RUN(test_random_strings);
	return CHECK_DONE();
}
