// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the scenario reader (tools/scenario.h) on arbitrary bytes.
 *
 * The input is the text of a scenario file. scenario_parse() must end in a scenario or in
 * diagnostics - never a crash, a read past the buffer (it is not NUL-terminated), a leak
 * or a long run. Checked besides:
 *   - the return value is one of the documented ones, and *out is set exactly on success;
 *   - a failed parse leaves at least one error, at most `max` stored, each message
 *     NUL-terminated, and printing them works;
 *   - an input with NUL bytes, refused as a whole, is parsed again with spaces for them;
 *   - the header's round-trip promise: the normal form that scenario_print() writes
 *     parses back (under the same file name, which the first line names), and prints the
 *     same text again.
 */
#include "fuzz.h"

#include "scenario.h"

#include <errno.h>
#include <string.h>

/* Print `s` into a fresh buffer (free it), or NULL. */
static char *print_scenario(const struct scenario *s, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	int r;

	if (!f)
		return NULL;
	r = scenario_print(s, f);
	fclose(f);
	FZ_ASSERT(r == 0, "scenario_print returned %d", r);
	return buf;
}

static void check_diags(const struct scenario_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	FZ_ASSERT(d->count <= d->cap, "count %zu cap %zu", d->count, d->cap);
	FZ_ASSERT(d->dropped <= d->errors, "%zu dropped of %zu errors", d->dropped, d->errors);
	for (size_t i = 0; i < d->count; i++) {
		const struct scenario_diag *g = &d->list[i];

		FZ_ASSERT(memchr(g->message, 0, sizeof(g->message)), "message unterminated");
		FZ_ASSERT(memchr(g->excerpt, 0, sizeof(g->excerpt)), "excerpt unterminated");
		FZ_ASSERT(memchr(g->note, 0, sizeof(g->note)), "note unterminated");
	}
	f = open_memstream(&buf, &len);
	if (f) {
		scenario_diags_print(d, f);
		fclose(f);
		free(buf);
	}
}

static void round_trip(const struct scenario *s)
{
	struct scenario_diags d = {0};
	struct scenario *again = NULL;
	size_t len1 = 0, len2 = 0;
	char *text1 = print_scenario(s, &len1), *text2;
	int r;

	if (!text1)
		return;
	r = scenario_parse(text1, len1, "fuzz.scn", &again, &d);
	if (r) {
		fprintf(stderr, "--- normal form that does not parse back:\n%s---\n", text1);
		scenario_diags_print(&d, stderr);
	}
	FZ_ASSERT(r == 0, "the printed normal form does not parse back (%d)", r);
	text2 = print_scenario(again, &len2);
	if (text2) {
		if (len1 != len2 || memcmp(text1, text2, len1))
			fprintf(stderr, "--- first:\n%s--- second:\n%s---\n", text1, text2);
		FZ_ASSERT(len1 == len2 && !memcmp(text1, text2, len1),
			  "the normal form does not print the same twice");
	}
	free(text2);
	free(text1);
	scenario_free(again);
	scenario_diags_free(&d);
}

static void parse_one(const char *text, size_t size)
{
	struct scenario_diags d = {0};
	struct scenario *s = (struct scenario *)&d; /* must be overwritten */
	int r = scenario_parse(text, size, "fuzz.scn", &s, &d);

	FZ_ASSERT(r == 0 || r == -EINVAL || r == -EFBIG || r == -ENOMEM, "returned %d", r);
	check_diags(&d);
	if (r) {
		FZ_ASSERT(s == NULL, "a scenario returned with error %d", r);
		FZ_ASSERT(r == -ENOMEM || d.errors > 0, "error %d without a diagnostic", r);
	} else {
		FZ_ASSERT(s != NULL, "success without a scenario");
		round_trip(s);
		scenario_free(s);
	}
	scenario_diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	parse_one((const char *)data, size);
	/* A NUL byte anywhere makes the input one "not a text file" error before the lexer
	 * sees it; so that the mutations that insert NULs still reach the lexer and the
	 * parser, the same bytes go through again with each NUL as a space. */
	if (!size || !memchr(data, 0, size) || !(text = malloc(size)))
		return 0;
	for (size_t i = 0; i < size; i++)
		text[i] = data[i] ? (char)data[i] : ' ';
	parse_one(text, size);
	free(text);
	return 0;
}
