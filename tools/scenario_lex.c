// SPDX-License-Identifier: MIT
/*
 * Scenario reader, pass 1: the syntax. Turns the text into a list of sections, each a list
 * of entries "key = item, item, ..." with the position of every piece. It knows nothing
 * about which sections and keys exist; pass 2 does. Every malformed line is reported and
 * skipped, so one typo yields one error and the rest of the file is still read.
 *
 *   line     := blank | comment | header | entry
 *   header   := '[' kind [name] ']'
 *   entry    := key ['(' sel {',' sel} ')'] op item {',' item}
 *   sel      := word '=' word
 *   op       := '=' | '==' | '!=' | '<' | '<=' | '>' | '>='
 *   item     := '"' chars '"' | bare text without ',' or '#'
 *   comment  := '#' to the end of the line
 * A value that ends with ',' continues on the next line that is not blank or a comment.
 */
#include "scenario_internal.h"

#include <string.h>

#define SCN_MAX_SELS 8

struct lexer {
	struct scn_ctx *c;
	size_t p;	  /* current offset */
	size_t bol;	  /* start of the current line */
	size_t eol;	  /* end of the current line (before "\r\n" or "\n") */
	uint32_t line;	  /* 1-based */
	size_t next_line; /* offset of the line after this one (len at the end) */
	struct scn_section *cur;
	struct scn_section *last;
};

static bool is_ident(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-' || ch == '.';
}

static bool is_space(unsigned char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Set bol/eol/next_line for the line starting at `off`. */
static void lex_set_line(struct lexer *lx, size_t off)
{
	const char *buf = lx->c->buf;
	size_t len = lx->c->len;
	const char *nl = off < len ? memchr(buf + off, '\n', len - off) : NULL;

	lx->bol = off;
	lx->p = off;
	lx->eol = nl ? (size_t)(nl - buf) : len;
	lx->next_line = nl ? lx->eol + 1 : len;
	if (lx->eol > off && buf[lx->eol - 1] == '\r')
		lx->eol--;
}

static struct scn_pos lex_pos(const struct lexer *lx, size_t off, size_t len)
{
	struct scn_pos pos = {
	    .line = lx->line,
	    .col = (uint32_t)(off - lx->bol + 1),
	    .len = (uint32_t)(len > 0xffffff ? 0xffffff : len),
	    .off = (uint32_t)off,
	};
	return pos;
}

static unsigned char lex_peek(const struct lexer *lx)
{
	return lx->p < lx->eol ? (unsigned char)lx->c->buf[lx->p] : '\0';
}

static bool lex_at_end(const struct lexer *lx)
{
	return lx->p >= lx->eol || lx->c->buf[lx->p] == '#';
}

static void lex_skip_space(struct lexer *lx)
{
	while (lx->p < lx->eol && is_space((unsigned char)lx->c->buf[lx->p]))
		lx->p++;
}

static bool lex_text(struct lexer *lx, size_t start, size_t end, struct scn_text *t)
{
	t->s = scn_strndup(lx->c->arena, lx->c->buf + start, end - start);
	t->n = end - start;
	t->pos = lex_pos(lx, start, end - start);
	t->quoted = false;
	return t->s != NULL;
}

static size_t lex_ident_end(const struct lexer *lx)
{
	size_t e = lx->p;

	while (e < lx->eol && is_ident((unsigned char)lx->c->buf[e]))
		e++;
	return e;
}

/* Describe the character at p for "got ..." messages. */
static const char *lex_got(const struct lexer *lx, char *out, size_t outsz)
{
	if (lx->p >= lx->eol)
		return "the end of the line";
	return scn_quote(lx->c->buf + lx->p, 1, out, outsz);
}

/* A line holding a control byte (other than tab) is not text: report it and skip it. */
static bool lex_line_clean(struct lexer *lx)
{
	for (size_t i = lx->bol; i < lx->eol; i++) {
		unsigned char ch = (unsigned char)lx->c->buf[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			char q[16];
			struct scn_pos pos = lex_pos(lx, i, 1);

			scn_error(lx->c, &pos,
				  "unexpected control character %s; a scenario is text",
				  scn_quote(lx->c->buf + i, 1, q, sizeof(q)));
			return false;
		}
	}
	return true;
}

/* ---- section headers -------------------------------------------------------------------- */

static void lex_header(struct lexer *lx)
{
	struct scn_ctx *c = lx->c;
	struct scn_section *sec = scn_alloc(c->arena, sizeof(*sec));
	size_t open = lx->p, e;
	char q[32];

	if (!sec)
		return;
	/* Link it in even when malformed: its entries then belong to a section pass 2
	 * ignores, instead of being misread as part of the previous one. */
	if (lx->last)
		lx->last->next = sec;
	else
		c->sections = sec;
	lx->last = lx->cur = sec;
	sec->pos = lex_pos(lx, open, lx->eol - open);

	lx->p++;
	lex_skip_space(lx);
	e = lex_ident_end(lx);
	if (e == lx->p) {
		struct scn_pos pos = lex_pos(lx, lx->p, 1);
		scn_error(c, &pos,
			  "expected a section kind such as iommu, device or workload, got %s",
			  lex_got(lx, q, sizeof(q)));
		return;
	}
	if (!lex_text(lx, lx->p, e, &sec->kind))
		return;
	lx->p = e;
	lex_skip_space(lx);
	e = lex_ident_end(lx);
	if (e > lx->p) {
		if (!lex_text(lx, lx->p, e, &sec->name))
			return;
		lx->p = e;
		lex_skip_space(lx);
	}
	if (lex_peek(lx) != ']') {
		struct scn_pos pos = lex_pos(lx, lx->p, 1);

		if (is_ident(lex_peek(lx)))
			scn_error(c, &pos,
				  "a section header holds a kind and at most one name, such as "
				  "[device dsa0]");
		else
			scn_error(c, &pos, "expected ']' to close the section header, got %s",
				  lex_got(lx, q, sizeof(q)));
		sec->kind.s = NULL; /* ignore this section's entries */
		return;
	}
	lx->p++;
	sec->pos.len = (uint32_t)(lx->p - open);
	lex_skip_space(lx);
	if (!lex_at_end(lx)) {
		struct scn_pos pos = lex_pos(lx, lx->p, lx->eol - lx->p);
		scn_error(c, &pos,
			  "unexpected text after the section header; a comment starts with '#'");
	}
}

/* ---- entries ---------------------------------------------------------------------------- */

static bool lex_selectors(struct lexer *lx, struct scn_entry *en)
{
	struct scn_ctx *c = lx->c;
	struct scn_sel sels[SCN_MAX_SELS];
	size_t open = lx->p;
	uint32_t n = 0;
	char q[32];

	lx->p++; /* '(' */
	for (;;) {
		struct scn_sel sel;
		struct scn_pos pos;
		size_t e;

		lex_skip_space(lx);
		if (lex_peek(lx) == ')' && n == 0)
			break;
		e = lex_ident_end(lx);
		if (e == lx->p) {
			pos = lex_pos(lx, lx->p, 1);
			scn_error(c, &pos, "expected a selector such as device=dsa0, got %s",
				  lex_got(lx, q, sizeof(q)));
			return false;
		}
		if (!lex_text(lx, lx->p, e, &sel.key))
			return false;
		lx->p = e;
		lex_skip_space(lx);
		if (lex_peek(lx) != '=') {
			pos = lex_pos(lx, lx->p, 1);
			scn_error(c, &pos, "expected '=' after selector '%s', got %s", sel.key.s,
				  lex_got(lx, q, sizeof(q)));
			return false;
		}
		lx->p++;
		lex_skip_space(lx);
		e = lx->p;
		while (e < lx->eol && !is_space((unsigned char)c->buf[e]) && c->buf[e] != ',' &&
		       c->buf[e] != ')' && c->buf[e] != '#' && c->buf[e] != '(')
			e++;
		if (e == lx->p) {
			pos = lex_pos(lx, lx->p, 1);
			scn_error(c, &pos, "selector '%s' has no value, got %s", sel.key.s,
				  lex_got(lx, q, sizeof(q)));
			return false;
		}
		if (!lex_text(lx, lx->p, e, &sel.value))
			return false;
		lx->p = e;
		if (n == SCN_MAX_SELS) {
			pos = sel.key.pos;
			scn_error(c, &pos, "too many selectors (at most %d)", SCN_MAX_SELS);
			return false;
		}
		sels[n++] = sel;
		lex_skip_space(lx);
		if (lex_peek(lx) == ',') {
			lx->p++;
			continue;
		}
		if (lex_peek(lx) == ')')
			break;
		pos = lex_pos(lx, lx->p, 1);
		if (lx->p >= lx->eol) {
			pos = lex_pos(lx, open, 1);
			scn_error(c, &pos, "unclosed '(': expected ')' before the end of the line");
		} else {
			scn_error(c, &pos, "expected ',' or ')' in the selector list, got %s",
				  lex_got(lx, q, sizeof(q)));
		}
		return false;
	}
	lx->p++; /* ')' */
	en->has_sels = true;
	en->sels_pos = lex_pos(lx, open, lx->p - open);
	en->n_sels = n;
	if (n) {
		en->sels = scn_alloc(c->arena, n * sizeof(*en->sels));
		if (!en->sels)
			return false;
		memcpy(en->sels, sels, n * sizeof(*sels));
	}
	return true;
}

static bool lex_op(struct lexer *lx, struct scn_entry *en)
{
	static const struct {
		const char *s;
		enum scn_op op;
	} ops[] = {
	    {"==", SCN_OP_EQ}, {"!=", SCN_OP_NE}, {"<=", SCN_OP_LE},	{">=", SCN_OP_GE},
	    {"<", SCN_OP_LT},  {">", SCN_OP_GT},  {"=", SCN_OP_ASSIGN},
	};
	const char *at = lx->c->buf + lx->p;
	size_t left = lx->eol - lx->p;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].s);

		if (left >= n && !memcmp(at, ops[i].s, n)) {
			en->op = ops[i].op;
			en->op_pos = lex_pos(lx, lx->p, n);
			lx->p += n;
			return true;
		}
	}
	return false;
}

/* A quoted item: "..." with \" \\ \n \t escapes. */
static bool lex_quoted(struct lexer *lx, struct scn_text *t)
{
	struct scn_ctx *c = lx->c;
	size_t open = lx->p, i = lx->p + 1, o = 0;
	char *s = scn_alloc(c->arena, lx->eol - lx->p + 1);

	if (!s)
		return false;
	while (i < lx->eol && c->buf[i] != '"') {
		char ch = c->buf[i];

		if (ch == '\\') {
			char nx = i + 1 < lx->eol ? c->buf[i + 1] : '\0';
			char out;

			switch (nx) {
			case '"':
			case '\\':
				out = nx;
				break;
			case 'n':
				out = '\n';
				break;
			case 't':
				out = '\t';
				break;
			default: {
				char q[16];
				struct scn_pos pos = lex_pos(lx, i, nx ? 2 : 1);

				scn_error(
				    c, &pos,
				    "unknown escape %s in a string; use \\\", \\\\, \\n or \\t",
				    scn_quote(c->buf + i, nx ? 2 : 1, q, sizeof(q)));
				return false;
			}
			}
			s[o++] = out;
			i += 2;
			continue;
		}
		s[o++] = ch;
		i++;
	}
	if (i >= lx->eol) {
		struct scn_pos pos = lex_pos(lx, open, 1);
		scn_error(c, &pos, "unterminated string: add a closing '\"' on this line");
		return false;
	}
	t->s = s;
	t->n = o;
	t->pos = lex_pos(lx, open, i + 1 - open);
	t->quoted = true;
	lx->p = i + 1;
	return true;
}

/* A bare item: up to ',' or '#' or the end of the line, trailing blanks trimmed. */
static bool lex_bare(struct lexer *lx, struct scn_text *t)
{
	const char *buf = lx->c->buf;
	size_t s = lx->p, e = lx->p;

	while (e < lx->eol && buf[e] != ',' && buf[e] != '#')
		e++;
	lx->p = e;
	while (e > s && is_space((unsigned char)buf[e - 1]))
		e--;
	return lex_text(lx, s, e, t);
}

/* Move to the next line that holds something, for a value that ended with ','. */
static bool lex_continue(struct lexer *lx)
{
	while (lx->next_line < lx->c->len) {
		lx->line++;
		lex_set_line(lx, lx->next_line);
		if (!lex_line_clean(lx))
			return false;
		lex_skip_space(lx);
		if (lex_at_end(lx))
			continue;
		if (lex_peek(lx) != '[')
			return true;
		/* A section header ends the list: leave it for the main loop to read. */
		lx->next_line = lx->bol;
		lx->line--;
		return false;
	}
	return false;
}

static bool lex_items(struct lexer *lx, struct scn_entry *en)
{
	struct scn_ctx *c = lx->c;
	struct scn_text items[SCENARIO_MAX_LIST];
	uint32_t n = 0;
	bool too_many = false;
	char q[32];

	for (;;) {
		struct scn_text t;
		struct scn_pos pos;

		lex_skip_space(lx);
		if (lex_at_end(lx) || lex_peek(lx) == ',') {
			pos = lex_pos(lx, lx->p, lex_peek(lx) == ',' ? 1 : 0);
			if (n == 0 && !too_many)
				scn_error(c, &pos, "'%s' has no value: write %s = VALUE", en->key.s,
					  en->key.s);
			else
				scn_error(c, &pos, "empty item in a list: remove the extra ','");
			return false;
		}
		if (lex_peek(lx) == '"') {
			if (!lex_quoted(lx, &t))
				return false;
			lex_skip_space(lx);
			if (!lex_at_end(lx) && lex_peek(lx) != ',') {
				pos = lex_pos(lx, lx->p, lx->eol - lx->p);
				scn_error(
				    c, &pos,
				    "expected ',' or the end of the line after a string, got %s",
				    lex_got(lx, q, sizeof(q)));
				return false;
			}
		} else if (!lex_bare(lx, &t)) {
			return false;
		}
		if (n < SCENARIO_MAX_LIST) {
			items[n++] = t;
		} else if (!too_many) {
			too_many = true;
			scn_error(c, &t.pos, "more than %d items in one list", SCENARIO_MAX_LIST);
		}
		if (lex_peek(lx) != ',')
			break;
		struct scn_pos comma = lex_pos(lx, lx->p++, 1);
		lex_skip_space(lx);
		if (lex_at_end(lx) && !lex_continue(lx)) {
			scn_error(c, &comma, "the value ends with ',' but no item follows");
			return false;
		}
	}
	if (too_many)
		return false;
	en->items = scn_alloc(c->arena, n * sizeof(*items));
	if (!en->items)
		return false;
	memcpy(en->items, items, n * sizeof(*items));
	en->n_items = n;
	return true;
}

static void lex_entry(struct lexer *lx)
{
	struct scn_ctx *c = lx->c;
	struct scn_entry *en;
	struct scn_pos pos;
	size_t e = lex_ident_end(lx);
	char q[32];

	if (e == lx->p) {
		pos = lex_pos(lx, lx->p, 1);
		scn_error(c, &pos,
			  "expected a key (such as size = 4K) or a section header (such as "
			  "[iommu]), got %s",
			  lex_got(lx, q, sizeof(q)));
		return;
	}
	en = scn_alloc(c->arena, sizeof(*en));
	if (!en || !lex_text(lx, lx->p, e, &en->key))
		return;
	lx->p = e;
	lex_skip_space(lx);
	if (lex_peek(lx) == '(' && !lex_selectors(lx, en))
		return;
	lex_skip_space(lx);
	if (!lex_op(lx, en)) {
		pos = lex_pos(lx, lx->p, lx->p < lx->eol ? 1 : 0);
		scn_error(c, &pos, "expected '=' after '%s', got %s", en->key.s,
			  lex_got(lx, q, sizeof(q)));
		return;
	}
	lex_skip_space(lx);
	{
		size_t s = lx->p, re = lx->p;
		const char *buf = c->buf;

		/* The raw first-line value, for free text such as a description. */
		if (s >= lx->eol || buf[s] != '"') {
			while (re < lx->eol && buf[re] != '#')
				re++;
		}
		while (re > s && is_space((unsigned char)buf[re - 1]))
			re--;
		if (!lex_text(lx, s, re, &en->raw))
			return;
	}
	if (!lex_items(lx, en))
		return;
	if (!lx->cur) {
		scn_error(c, &en->key.pos,
			  "'%s' is outside any section: put it under a header such as [scenario]",
			  en->key.s);
		return;
	}
	if (!lx->cur->kind.s) /* the header was broken and already reported */
		return;
	if (lx->cur->last_entry)
		lx->cur->last_entry->next = en;
	else
		lx->cur->entries = en;
	lx->cur->last_entry = en;
	lx->cur->n_entries++;
}

void scn_lex(struct scn_ctx *c)
{
	struct lexer lx = {.c = c};
	size_t off = 0;

	if (c->len == 0)
		return;
	while (off < c->len) {
		size_t start = off;

		lx.line++;
		lex_set_line(&lx, off);
		if (lex_line_clean(&lx)) {
			lex_skip_space(&lx);
			if (!lex_at_end(&lx)) {
				if (lex_peek(&lx) == '[')
					lex_header(&lx);
				else
					lex_entry(&lx);
			}
		}
		if (c->arena->failed)
			return;
		off = lx.next_line;
		if (off <= start) /* cannot happen; guarantees progress anyway */
			break;
	}
}
