// SPDX-License-Identifier: MIT
/*
 * The conformance-vector reader (format: docs/vectors.md).
 *
 * A vector file is read line by line. Each line is cut into fields at white space
 * (a parenthesised expression or a quoted string stays one field), the first field names
 * the statement, and a table maps it to the function that reads the rest. Every number is
 * an expression evaluated here, against the `let` names seen so far and the register
 * names of the specification's register map, so the statements handed to the replayer
 * hold plain values and every error can point at its column.
 */
#include "vector_reader.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct field {
	const char *s;
	size_t len;
	unsigned col;
};

struct symbol {
	char name[VEC_NAME_MAX];
	uint64_t value;
};

struct parser {
	struct vec_file *file;
	struct vec_error *err;
	unsigned line;
	struct field *fields; /* the current line's fields */
	size_t nfields;
	struct symbol *syms;
	size_t nsyms;
	bool model_used; /* a statement used the current model: no more `config` */
};

static bool fail(struct parser *p, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(struct parser *p, unsigned col, const char *fmt, ...)
{
	va_list ap;

	/* Column 0 marks errors without a position (out of memory). */
	p->err->line = col ? p->line : 0;
	p->err->col = col;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	return false;
}

/* "got 'text'" for messages, cut short so that a long field cannot flood them. */
static const char *quote(const struct field *f, char *buf, size_t size)
{
	int n = f->len > 40 ? 40 : (int)f->len;

	snprintf(buf, size, "'%.*s%s'", n, f->s, f->len > 40 ? "..." : "");
	return buf;
}

static bool fail_expected(struct parser *p, const struct field *f, const char *what)
{
	char q[64];

	/* The usual slip: `A + B` where one field was meant. */
	if (f->len && strchr("|&^+-*/%<>", f->s[0]))
		return fail(p, f->col,
			    "expected %s, got %s (write an expression with spaces in "
			    "parentheses)",
			    what, quote(f, q, sizeof(q)));
	return fail(p, f->col, "expected %s, got %s", what, quote(f, q, sizeof(q)));
}

static bool field_is(const struct field *f, const char *word)
{
	size_t n = strlen(word);

	return f->len == n && !memcmp(f->s, word, n);
}

/* ---- built-in names ------------------------------------------------------------------- */

/* Register offsets of the specification's register map (digest section 1.1). The
 * fault-recording, IVA and IOTLB registers move with CAP.FRO / ECAP.IRO and are written
 * FRCD+n, IVA+n, IOTLB+n in MMIO statements instead. */
static const struct {
	const char *name;
	uint64_t value;
} builtin_names[] = {
    {"VER", 0x000},	{"CAP", 0x008},	     {"ECAP", 0x010},	 {"GCMD", 0x018},
    {"GSTS", 0x01C},	{"RTADDR", 0x020},   {"CCMD", 0x028},	 {"FSTS", 0x034},
    {"FECTL", 0x038},	{"FEDATA", 0x03C},   {"FEADDR", 0x040},	 {"FEUADDR", 0x044},
    {"AFLOG", 0x058},	{"PMEN", 0x064},     {"PLMBASE", 0x068}, {"PLMLIMIT", 0x06C},
    {"PHMBASE", 0x070}, {"PHMLIMIT", 0x078}, {"IQH", 0x080},	 {"IQT", 0x088},
    {"IQA", 0x090},	{"ICS", 0x09C},	     {"IECTL", 0x0A0},	 {"IEDATA", 0x0A4},
    {"IEADDR", 0x0A8},	{"IEUADDR", 0x0AC},  {"IQERCD", 0x0B0},	 {"IRTA", 0x0B8},
    {"PQH", 0x0C0},	{"PQT", 0x0C8},	     {"PQA", 0x0D0},	 {"PRS", 0x0DC},
    {"PECTL", 0x0E0},	{"PEDATA", 0x0E4},   {"PEADDR", 0x0E8},	 {"PEUADDR", 0x0EC},
    {"MTRRCAP", 0x100}, {"MTRRDEF", 0x108},  {"true", 1},	 {"false", 0},
    {"on", 1},		{"off", 0},
};

static bool builtin_lookup(const char *s, size_t len, uint64_t *v)
{
	for (size_t i = 0; i < sizeof(builtin_names) / sizeof(builtin_names[0]); i++) {
		if (strlen(builtin_names[i].name) == len &&
		    !memcmp(builtin_names[i].name, s, len)) {
			*v = builtin_names[i].value;
			return true;
		}
	}
	return false;
}

static struct symbol *sym_find(struct parser *p, const char *s, size_t len)
{
	for (size_t i = 0; i < p->nsyms; i++)
		if (strlen(p->syms[i].name) == len && !memcmp(p->syms[i].name, s, len))
			return &p->syms[i];
	return NULL;
}

/* Fault reason codes and their names in the specification (digest section 4.3). `sub`
 * marks conditions the spec splits further (LCT.4.1, SPT.4.2, ...): any suffix is accepted
 * for those and means the same code. */
static const struct {
	const char *name;
	uint8_t code;
	bool sub;
} reasons[] = {
    {"LRT.2", 0x01, 0},	 {"LCT.2", 0x02, 0}, {"LCT.4", 0x03, 1},  {"LGN.1", 0x04, 1},
    {"LGN.2", 0x05, 0},	 {"LGN.3", 0x06, 0}, {"LSL.1", 0x07, 0},  {"LRT.1", 0x08, 0},
    {"LCT.1", 0x09, 0},	 {"LRT.3", 0x0A, 0}, {"LCT.3", 0x0B, 0},  {"LSL.2", 0x0C, 0},
    {"LCT.5", 0x0D, 0},	 {"LGN.4", 0x0E, 0}, {"RTA.1", 0x30, 1},  {"RTA.2", 0x31, 0},
    {"RTA.3", 0x32, 0},	 {"RTA.4", 0x33, 0}, {"SRT.1", 0x38, 0},  {"SRT.2", 0x39, 0},
    {"SRT.3", 0x3A, 0},	 {"SCT.1", 0x40, 0}, {"SCT.2", 0x41, 0},  {"SCT.3", 0x42, 0},
    {"SCT.4", 0x43, 1},	 {"SCT.5", 0x44, 0}, {"SCT.6", 0x45, 0},  {"SCT.7", 0x46, 0},
    {"SCT.8", 0x47, 0},	 {"SCT.9", 0x48, 0}, {"SPD.1", 0x50, 0},  {"SPD.2", 0x51, 0},
    {"SPD.3", 0x52, 0},	 {"SPT.1", 0x58, 0}, {"SPT.2", 0x59, 0},  {"SPT.3", 0x5A, 0},
    {"SPT.4", 0x5B, 1},	 {"SPT.5", 0x5C, 0}, {"SPT.6", 0x5D, 0},  {"SFL.1", 0x70, 0},
    {"SFL.2", 0x71, 0},	 {"SFL.3", 0x72, 0}, {"SFL.4", 0x73, 0},  {"SFL.5", 0x74, 0},
    {"SFL.6", 0x75, 0},	 {"SFL.7", 0x76, 0}, {"SFL.8", 0x77, 0},  {"SSL.1", 0x78, 0},
    {"SSL.2", 0x79, 0},	 {"SSL.3", 0x7A, 0}, {"SSL.4", 0x7B, 0},  {"SSL.5", 0x7C, 0},
    {"SSL.6", 0x7D, 0},	 {"SGN.1", 0x80, 0}, {"SGN.2", 0x81, 0},  {"SGN.3", 0x82, 0},
    {"SGN.4", 0x83, 1},	 {"SGN.5", 0x84, 0}, {"SGN.6", 0x85, 0},  {"SGN.7", 0x86, 0},
    {"SGN.8", 0x87, 0},	 {"SGN.9", 0x88, 0}, {"SGN.10", 0x89, 0}, {"SFL.9", 0x90, 0},
    {"SFL.10", 0x91, 0},
};

const char *vec_reason_name(unsigned code)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == code)
			return reasons[i].name;
	return NULL;
}

/* A reason name: three letters, '.', a number, and for `sub` entries an optional
 * '.' followed by digits or 'x'. Case-insensitive. */
static bool reason_lookup(const char *s, size_t len, uint8_t *code)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		size_t n = strlen(reasons[i].name);

		if (len < n || strncasecmp(s, reasons[i].name, n))
			continue;
		if (len == n) {
			*code = reasons[i].code;
			return true;
		}
		if (!reasons[i].sub || s[n] != '.' || len == n + 1)
			continue;
		bool ok = true;
		for (size_t j = n + 1; j < len; j++)
			if (!isdigit((unsigned char)s[j]) && s[j] != 'x' && s[j] != 'X')
				ok = false;
		if (ok) {
			*code = reasons[i].code;
			return true;
		}
	}
	return false;
}

/* ---- expressions ---------------------------------------------------------------------- */

struct expr {
	struct parser *p;
	const char *s;
	size_t len, pos;
	unsigned col; /* column of s[0] */
	int depth;
};

static unsigned ex_col(const struct expr *e)
{
	return e->col + (unsigned)e->pos;
}

static void ex_skip(struct expr *e)
{
	while (e->pos < e->len && (e->s[e->pos] == ' ' || e->s[e->pos] == '\t'))
		e->pos++;
}

static int ex_peek(struct expr *e)
{
	ex_skip(e);
	return e->pos < e->len ? (unsigned char)e->s[e->pos] : -1;
}

static bool ex_fail_got(struct expr *e, const char *what)
{
	ex_skip(e);
	if (e->pos >= e->len)
		return fail(e->p, ex_col(e), "expected %s, got end of expression", what);
	return fail(e->p, ex_col(e), "expected %s, got '%c'", what, e->s[e->pos]);
}

static int digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* Number literal: 0x.., 0b.., or decimal with an optional K/M/G/T (binary) suffix;
 * '_' may separate digits. */
static bool ex_number(struct expr *e, uint64_t *v)
{
	unsigned col = ex_col(e), base = 10, digits = 0;
	uint64_t x = 0;

	if (e->pos + 1 < e->len && e->s[e->pos] == '0' &&
	    (e->s[e->pos + 1] == 'x' || e->s[e->pos + 1] == 'X' || e->s[e->pos + 1] == 'b' ||
	     e->s[e->pos + 1] == 'B')) {
		base = (e->s[e->pos + 1] | 0x20) == 'x' ? 16 : 2;
		e->pos += 2;
	}
	for (; e->pos < e->len; e->pos++) {
		int c = (unsigned char)e->s[e->pos];
		unsigned d = (unsigned)digit_value(c);

		if (c == '_')
			continue;
		if (d >= base)
			break;
		if (x > (UINT64_MAX - d) / base)
			return fail(e->p, col, "number does not fit in 64 bits");
		x = x * base + d;
		digits++;
	}
	if (!digits)
		return fail(e->p, col, "expected digits after the number's prefix");
	if (base == 10 && e->pos < e->len && strchr("KMGT", e->s[e->pos])) {
		unsigned shift = 10 * (unsigned)(strchr("KMGT", e->s[e->pos]) - "KMGT" + 1);

		if (x > (UINT64_MAX >> shift))
			return fail(e->p, col, "number does not fit in 64 bits");
		x <<= shift;
		e->pos++;
	}
	if (e->pos < e->len && (isalnum((unsigned char)e->s[e->pos]) || e->s[e->pos] == '_'))
		return fail(e->p, ex_col(e), "unexpected '%c' in a number", e->s[e->pos]);
	*v = x;
	return true;
}

static bool is_name_start(int c)
{
	return isalpha(c) || c == '_';
}

static bool is_name_char(int c)
{
	return isalnum(c) || c == '_';
}

static bool ex_name(struct expr *e, uint64_t *v)
{
	size_t start = e->pos;
	unsigned col = ex_col(e);
	struct symbol *s;

	while (e->pos < e->len && is_name_char((unsigned char)e->s[e->pos]))
		e->pos++;
	if (builtin_lookup(e->s + start, e->pos - start, v))
		return true;
	s = sym_find(e->p, e->s + start, e->pos - start);
	if (s) {
		*v = s->value;
		return true;
	}
	return fail(e->p, col, "unknown name '%.*s' (define it with `let`)",
		    (int)(e->pos - start > 40 ? 40 : e->pos - start), e->s + start);
}

static bool ex_binary(struct expr *e, int min_prec, uint64_t *v);

static bool ex_unary(struct expr *e, uint64_t *v)
{
	int c = ex_peek(e);

	if (++e->depth > VEC_DEPTH_MAX)
		return fail(e->p, ex_col(e), "expression nested more than %d deep", VEC_DEPTH_MAX);
	if (c == '~') {
		e->pos++;
		if (!ex_unary(e, v))
			return false;
		*v = ~*v;
	} else if (c == '(') {
		e->pos++;
		if (!ex_binary(e, 1, v))
			return false;
		if (ex_peek(e) != ')')
			return ex_fail_got(e, "')'");
		e->pos++;
	} else if (c >= '0' && c <= '9') {
		if (!ex_number(e, v))
			return false;
	} else if (c >= 0 && is_name_start(c)) {
		if (!ex_name(e, v))
			return false;
	} else {
		return ex_fail_got(e, "a number, a name or '('");
	}
	e->depth--;
	return true;
}

enum { OP_OR = 1, OP_XOR, OP_AND, OP_SHL, OP_SHR, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD };

/* The binary operator at the cursor: its id, precedence (C's order) and length. */
static int ex_operator(struct expr *e, int *prec, int *len)
{
	int c = ex_peek(e), c2 = e->pos + 1 < e->len ? e->s[e->pos + 1] : 0;

	*len = 1;
	switch (c) {
	case '|':
		*prec = 1;
		return OP_OR;
	case '^':
		*prec = 2;
		return OP_XOR;
	case '&':
		*prec = 3;
		return OP_AND;
	case '<':
	case '>':
		if (c2 != c)
			return 0;
		*len = 2;
		*prec = 4;
		return c == '<' ? OP_SHL : OP_SHR;
	case '+':
	case '-':
		*prec = 5;
		return c == '+' ? OP_ADD : OP_SUB;
	case '*':
		*prec = 6;
		return OP_MUL;
	case '/':
		*prec = 6;
		return OP_DIV;
	case '%':
		*prec = 6;
		return OP_MOD;
	}
	return 0;
}

static bool ex_apply(struct expr *e, int op, unsigned col, uint64_t a, uint64_t b, uint64_t *v)
{
	switch (op) {
	case OP_OR:
		*v = a | b;
		return true;
	case OP_XOR:
		*v = a ^ b;
		return true;
	case OP_AND:
		*v = a & b;
		return true;
	case OP_SHL:
		if (b >= 64 || (b && (a >> (64 - b))))
			return fail(e->p, col, "'<<' result does not fit in 64 bits");
		*v = a << b;
		return true;
	case OP_SHR:
		if (b >= 64)
			return fail(e->p, col, "shift count %llu is 64 or more",
				    (unsigned long long)b);
		*v = a >> b;
		return true;
	case OP_ADD:
		if (__builtin_add_overflow(a, b, v))
			return fail(e->p, col, "'+' result does not fit in 64 bits");
		return true;
	case OP_SUB:
		if (b > a)
			return fail(e->p, col, "'-' result is negative (values are unsigned)");
		*v = a - b;
		return true;
	case OP_MUL:
		if (__builtin_mul_overflow(a, b, v))
			return fail(e->p, col, "'*' result does not fit in 64 bits");
		return true;
	default:
		if (!b)
			return fail(e->p, col, "division by zero");
		*v = op == OP_DIV ? a / b : a % b;
		return true;
	}
}

/* Precedence climbing: operators of one level associate to the left. */
static bool ex_binary(struct expr *e, int min_prec, uint64_t *v)
{
	int op, prec, len;
	uint64_t rhs;

	if (!ex_unary(e, v))
		return false;
	while ((op = ex_operator(e, &prec, &len)) && prec >= min_prec) {
		unsigned col = ex_col(e);

		e->pos += (size_t)len;
		if (++e->depth > VEC_DEPTH_MAX)
			return fail(e->p, col, "expression nested more than %d deep",
				    VEC_DEPTH_MAX);
		if (!ex_binary(e, prec + 1, &rhs))
			return false;
		e->depth--;
		if (!ex_apply(e, op, col, *v, rhs, v))
			return false;
	}
	return true;
}

/* Evaluate `len` bytes at `s` (column `col`) as one whole expression. */
static bool eval_span(struct parser *p, const char *s, size_t len, unsigned col, uint64_t *v)
{
	struct expr e = {.p = p, .s = s, .len = len, .col = col};

	if (!ex_binary(&e, 1, v))
		return false;
	if (ex_peek(&e) >= 0)
		return ex_fail_got(&e, "an operator or the end of the expression");
	return true;
}

static bool eval(struct parser *p, const struct field *f, uint64_t *v)
{
	return eval_span(p, f->s, f->len, f->col, v);
}

static bool eval_max(struct parser *p, const struct field *f, uint64_t max, const char *what,
		     uint64_t *v)
{
	if (!eval(p, f, v))
		return false;
	if (*v > max)
		return fail(p, f->col, "%s 0x%llx out of range (at most 0x%llx)", what,
			    (unsigned long long)*v, (unsigned long long)max);
	return true;
}

/* ---- fields of a line ----------------------------------------------------------------- */

/* Cut the line (comment already removed) into fields. Parentheses and double quotes keep
 * white space inside one field. */
static bool split_fields(struct parser *p, const char *s, size_t len)
{
	size_t i = 0;

	p->nfields = 0;
	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i >= len)
			break;
		size_t start = i;
		int depth = 0;
		bool quoted = false;
		for (; i < len; i++) {
			char c = s[i];
			if (quoted) {
				quoted = c != '"';
			} else if (c == '"') {
				quoted = true;
			} else if (c == '(') {
				depth++;
			} else if (c == ')') {
				depth--;
			} else if ((c == ' ' || c == '\t') && depth <= 0) {
				break;
			}
		}
		if (quoted)
			return fail(p, (unsigned)start + 1, "missing closing '\"'");
		if (depth > 0)
			return fail(p, (unsigned)start + 1, "missing ')'");
		p->fields[p->nfields++] = (struct field){s + start, i - start, (unsigned)start + 1};
	}
	return true;
}

/* Split `key=value` at the first '=' (outside parentheses). False when there is none. */
static bool split_kv(const struct field *f, struct field *key, struct field *val)
{
	for (size_t i = 0; i < f->len; i++) {
		if (f->s[i] == '(' || f->s[i] == '"')
			return false;
		if (f->s[i] == '=') {
			*key = (struct field){f->s, i, f->col};
			*val =
			    (struct field){f->s + i + 1, f->len - i - 1, f->col + (unsigned)i + 1};
			return true;
		}
	}
	return false;
}

static const struct field *next_field(struct parser *p, size_t *i)
{
	return *i < p->nfields ? &p->fields[(*i)++] : NULL;
}

static unsigned end_col(struct parser *p)
{
	const struct field *l = &p->fields[p->nfields - 1];

	return l->col + (unsigned)l->len;
}

/* Take the next field, or fail with "expected WHAT, got end of line". */
static const struct field *need(struct parser *p, size_t *i, const char *what)
{
	const struct field *f = next_field(p, i);

	if (!f)
		fail(p, end_col(p), "expected %s, got end of line", what);
	return f;
}

static bool no_more(struct parser *p, size_t i)
{
	if (i < p->nfields)
		return fail_expected(p, &p->fields[i], "end of line");
	return true;
}

static bool copy_name(struct parser *p, const struct field *f, char *out, const char *what)
{
	if (!f->len || !is_name_start((unsigned char)f->s[0]))
		return fail_expected(p, f, what);
	for (size_t i = 0; i < f->len; i++)
		if (!is_name_char((unsigned char)f->s[i]))
			return fail(p, f->col + (unsigned)i, "unexpected '%c' in %s", f->s[i],
				    what);
	if (f->len >= VEC_NAME_MAX)
		return fail(p, f->col, "%s longer than %d characters", what, VEC_NAME_MAX - 1);
	memcpy(out, f->s, f->len);
	out[f->len] = 0;
	return true;
}

/* ---- values with a syntax of their own ------------------------------------------------ */

/* A source-id: bus:dev.fn in hex (00:1f.7), or an expression up to 0xffff. */
static bool parse_sid(struct parser *p, const struct field *f, uint16_t *sid)
{
	const char *colon = memchr(f->s, ':', f->len);
	unsigned bus, dev, fn;
	char buf[16], tail;
	uint64_t v;

	if (!colon) {
		if (!eval_max(p, f, 0xffff, "source-id", &v))
			return false;
		*sid = (uint16_t)v;
		return true;
	}
	if (f->len >= sizeof(buf))
		return fail_expected(p, f, "a source-id bus:dev.fn such as 00:1f.7");
	memcpy(buf, f->s, f->len);
	buf[f->len] = 0;
	if (sscanf(buf, "%2x:%2x.%1x%c", &bus, &dev, &fn, &tail) != 3 || !isxdigit(buf[0]) ||
	    !isxdigit((unsigned char)colon[1]))
		return fail_expected(p, f, "a source-id bus:dev.fn such as 00:1f.7");
	if (dev > 0x1f || fn > 7)
		return fail(p, f->col, "device %x or function %x out of range (at most 1f.7)", dev,
			    fn);
	*sid = (uint16_t)(bus << 8 | dev << 3 | fn);
	return true;
}

/* A fault reason: a spec name (SCT.6) or a code (0x45). */
static bool parse_reason(struct parser *p, const struct field *f, uint64_t *code)
{
	uint8_t c;
	uint64_t v;

	if (reason_lookup(f->s, f->len, &c)) {
		*code = c;
		return true;
	}
	if (f->len && isalpha((unsigned char)f->s[0]) && memchr(f->s, '.', f->len))
		return fail(p, f->col, "unknown fault reason name %.*s",
			    (int)(f->len > 20 ? 20 : f->len), f->s);
	if (!eval_max(p, f, 0xff, "fault reason", &v))
		return false;
	*code = v;
	return true;
}

static bool perm_letters(struct parser *p, const char *s, size_t len, unsigned col, uint64_t *perm)
{
	static const char letters[] = "rwxpug";

	*perm = 0;
	if (len == 1 && s[0] == '-')
		return true;
	if (!len)
		return fail(p, col, "expected permission letters from 'rwxpug' or '-'");
	for (size_t i = 0; i < len; i++) {
		const char *l = s[i] ? strchr(letters, s[i]) : NULL;

		if (!l)
			return fail(p, col + (unsigned)i,
				    "expected permission letters from 'rwxpug' or '-', got '%c'",
				    s[i]);
		*perm |= 1u << (l - letters);
	}
	return true;
}

/* perm=LETTERS or perm=LETTERS/MASK: the letters expected among those of the mask. */
static bool parse_perm(struct parser *p, const struct field *f, uint64_t *perm, uint64_t *mask)
{
	const char *slash = memchr(f->s, '/', f->len);
	size_t n = slash ? (size_t)(slash - f->s) : f->len;

	*mask = 0x3f;
	if (!perm_letters(p, f->s, n, f->col, perm))
		return false;
	if (slash) {
		if (!perm_letters(p, slash + 1, f->len - n - 1, f->col + (unsigned)n + 1, mask))
			return false;
		if (*perm & ~*mask)
			return fail(p, f->col, "expected permissions outside the mask");
	}
	return true;
}

void vec_format_perm(uint64_t perm, char *buf)
{
	static const char letters[] = "rwxpug";
	size_t n = 0;

	for (unsigned i = 0; i < 6; i++)
		if (perm & (1u << i))
			buf[n++] = letters[i];
	if (!n)
		buf[n++] = '-';
	buf[n] = 0;
}

static bool parse_at(struct parser *p, const struct field *f, uint64_t *at)
{
	if (field_is(f, "ut") || field_is(f, "untranslated"))
		*at = VEC_AT_UNTRANSLATED;
	else if (field_is(f, "tr") || field_is(f, "translation"))
		*at = VEC_AT_TRANSLATION;
	else if (field_is(f, "t") || field_is(f, "translated"))
		*at = VEC_AT_TRANSLATED;
	else
		return fail_expected(p, f, "an address type: ut, tr or t");
	return true;
}

/* ---- statements ----------------------------------------------------------------------- */

static struct vec_stmt *add_stmt(struct parser *p, enum vec_kind kind, unsigned col)
{
	struct vec_file *vf = p->file;

	if (vf->count == vf->cap) {
		size_t cap = vf->cap ? vf->cap * 2 : 64;
		struct vec_stmt *n = realloc(vf->stmts, cap * sizeof(*n));

		if (!n) {
			fail(p, 0, "out of memory");
			return NULL;
		}
		vf->stmts = n;
		vf->cap = cap;
	}
	struct vec_stmt *s = &vf->stmts[vf->count++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->line = p->line;
	s->col = col;
	if (kind != VEC_MODEL && kind != VEC_CONFIG)
		p->model_used = true;
	return s;
}

/* let NAME = EXPR   (the expression runs to the end of the line) */
static bool st_let(struct parser *p, const char *line, size_t len)
{
	const struct field *nf = p->nfields > 1 ? &p->fields[1] : NULL;
	struct field name, val;
	char buf[VEC_NAME_MAX];
	size_t rest;
	uint64_t v, dummy;

	if (!nf)
		return fail(p, end_col(p), "expected a name after `let`, got end of line");
	if (!split_kv(nf, &name, &val))
		name = *nf;
	if (!copy_name(p, &name, buf, "a name"))
		return false;
	if (builtin_lookup(name.s, name.len, &dummy) || !strcmp(buf, "FRCD") ||
	    !strcmp(buf, "IVA") || !strcmp(buf, "IOTLB"))
		return fail(p, name.col, "'%s' is a built-in name and cannot be redefined", buf);
	/* The expression starts after the first '=' following the name. */
	rest = (size_t)(name.col - 1) + name.len;
	while (rest < len && (line[rest] == ' ' || line[rest] == '\t'))
		rest++;
	if (rest >= len || line[rest] != '=')
		return fail(p, (unsigned)rest + 1, "expected '=' after the name");
	rest++;
	if (!eval_span(p, line + rest, len - rest, (unsigned)rest + 1, &v))
		return false;
	struct symbol *s = sym_find(p, buf, strlen(buf));
	if (!s) {
		if (p->nsyms == VEC_SYMBOLS_MAX)
			return fail(p, name.col, "more than %d names", VEC_SYMBOLS_MAX);
		s = &p->syms[p->nsyms++];
		memcpy(s->name, buf, sizeof(buf));
	}
	s->value = v;
	return true;
}

/* model [NAME] */
static bool st_model(struct parser *p)
{
	struct vec_stmt *s;
	size_t i = 1;
	const struct field *f = next_field(p, &i);

	s = add_stmt(p, VEC_MODEL, 1);
	if (!s)
		return false;
	if (f && !copy_name(p, f, s->u.model.name, "a model name"))
		return false;
	p->model_used = false;
	return no_more(p, i);
}

/* config FIELD VALUE | config FIELD=VALUE. The replayer checks that FIELD exists. */
static bool st_config(struct parser *p)
{
	size_t i = 1;
	const struct field *f = need(p, &i, "a configuration field name");
	struct field key, val;
	struct vec_stmt *s;

	if (!f)
		return false;
	if (p->model_used)
		return fail(p, 1,
			    "`config` after the model was used (put it before the first mem, "
			    "mmio or translate statement, or start a new `model`)");
	s = add_stmt(p, VEC_CONFIG, 1);
	if (!s)
		return false;
	if (!split_kv(f, &key, &val)) {
		key = *f;
		const struct field *v = need(p, &i, "a value");
		if (!v)
			return false;
		if (field_is(v, "=") && !(v = need(p, &i, "a value")))
			return false;
		val = *v;
	}
	if (!copy_name(p, &key, s->u.config.name, "a configuration field name"))
		return false;
	if (!val.len)
		return fail(p, val.col, "expected a value after '='");
	s->u.config.name_col = key.col;
	s->u.config.value_col = val.col;
	return eval(p, &val, &s->u.config.value) && no_more(p, i);
}

/* [expect VALUE [mask MASK]] after a read; `required` for memory reads. */
static bool parse_read_expect(struct parser *p, size_t *i, struct vec_stmt *s, uint64_t max,
			      bool required)
{
	const struct field *f = next_field(p, i);
	const struct field *vf;

	s->u.access.mask = max;
	if (!f) {
		if (required)
			return fail(p, end_col(p), "expected `expect`, got end of line");
		return true;
	}
	if (!field_is(f, "expect"))
		return fail_expected(p, f, "`expect`");
	if (!required && *i < p->nfields && field_is(&p->fields[*i], "error")) {
		s->u.access.error = true;
		return no_more(p, *i + 1);
	}
	s->u.access.check = true;
	vf = need(p, i, "the expected value");
	if (!vf || !eval_max(p, vf, max, "expected value", &s->u.access.value))
		return false;
	f = next_field(p, i);
	if (f) {
		const struct field *mf;

		if (!field_is(f, "mask"))
			return fail_expected(p, f, "`mask` or end of line");
		mf = need(p, i, "a mask");
		if (!mf || !eval_max(p, mf, max, "mask", &s->u.access.mask))
			return false;
		if (s->u.access.value & ~s->u.access.mask)
			return fail(p, vf->col, "expected value has bits outside the mask");
	}
	return no_more(p, *i);
}

static bool width_of(const struct field *f, const char *op, unsigned *width)
{
	size_t n = strlen(op);

	if (f->len != n + 2 || memcmp(f->s, op, n))
		return false;
	if (!memcmp(f->s + n, "32", 2))
		*width = 4;
	else if (!memcmp(f->s + n, "64", 2))
		*width = 8;
	else
		return false;
	return true;
}

static uint64_t width_max(unsigned width)
{
	return width == 8 ? UINT64_MAX : 0xffffffffull;
}

static bool mem_write(struct parser *p, size_t i, unsigned width)
{
	struct vec_stmt *s = add_stmt(p, VEC_MEM_WRITE, 1);
	const struct field *f;
	uint64_t *vals;

	if (!s)
		return false;
	s->u.write.width = width;
	f = need(p, &i, "an address");
	if (!f || !eval(p, f, &s->u.write.addr))
		return false;
	if (i >= p->nfields)
		return fail(p, end_col(p), "expected a value, got end of line");
	if (p->nfields - i > VEC_VALUES_MAX)
		return fail(p, p->fields[i].col, "more than %d values in one statement",
			    VEC_VALUES_MAX);
	vals = calloc(p->nfields - i, sizeof(*vals));
	if (!vals)
		return fail(p, 0, "out of memory");
	s->u.write.values = vals;
	for (; i < p->nfields; i++)
		if (!eval_max(p, &p->fields[i], width_max(width), "value",
			      &vals[s->u.write.count++]))
			return false;
	if (s->u.write.addr > UINT64_MAX - s->u.write.count * width)
		return fail(p, p->fields[2].col, "address range wraps around");
	return true;
}

static bool mem_fill(struct parser *p, size_t i)
{
	struct vec_stmt *s = add_stmt(p, VEC_MEM_FILL, 1);
	const struct field *a, *l, *b;
	uint64_t byte;

	if (!s || !(a = need(p, &i, "an address")) || !eval(p, a, &s->u.fill.addr) ||
	    !(l = need(p, &i, "a length")) || !eval(p, l, &s->u.fill.len) ||
	    !(b = need(p, &i, "a byte value")) || !eval_max(p, b, 0xff, "byte value", &byte))
		return false;
	s->u.fill.byte = (uint8_t)byte;
	if (s->u.fill.addr > UINT64_MAX - s->u.fill.len)
		return fail(p, a->col, "address range wraps around");
	return no_more(p, i);
}

static bool mem_load(struct parser *p, size_t i)
{
	struct vec_stmt *s = add_stmt(p, VEC_MEM_LOAD, 1);
	const struct field *a, *f;
	const char *path;
	size_t n;

	if (!s || !(a = need(p, &i, "an address")) || !eval(p, a, &s->u.load.addr) ||
	    !(f = need(p, &i, "a file name")))
		return false;
	path = f->s;
	n = f->len;
	if (n >= 2 && path[0] == '"' && path[n - 1] == '"') {
		path++;
		n -= 2;
	}
	if (!n || memchr(path, '"', n))
		return fail_expected(p, f, "a file name");
	s->u.load.path = strndup(path, n);
	if (!s->u.load.path)
		return fail(p, 0, "out of memory");
	s->u.load.path_col = f->col;
	return no_more(p, i);
}

static bool mem_read(struct parser *p, size_t i, unsigned width)
{
	struct vec_stmt *s = add_stmt(p, VEC_MEM_READ, 1);
	const struct field *a;

	if (!s || !(a = need(p, &i, "an address")) || !eval(p, a, &s->u.access.addr))
		return false;
	s->u.access.width = width;
	if (s->u.access.addr > UINT64_MAX - width)
		return fail(p, a->col, "address range wraps around");
	return parse_read_expect(p, &i, s, width_max(width), true);
}

/* mem write32|write64|fill|load|read32|read64 ... */
static bool st_mem(struct parser *p)
{
	size_t i = 1;
	const struct field *op = need(p, &i, "write32, write64, fill, load, read32 or read64");
	unsigned width;

	if (!op)
		return false;
	if (width_of(op, "write", &width))
		return mem_write(p, i, width);
	if (width_of(op, "read", &width))
		return mem_read(p, i, width);
	if (field_is(op, "fill"))
		return mem_fill(p, i);
	if (field_is(op, "load"))
		return mem_load(p, i);
	return fail_expected(p, op, "write32, write64, fill, load, read32 or read64");
}

/* An MMIO offset: an expression, or FRCD+n / IVA+n / IOTLB+n (bases from CAP/ECAP). */
static bool parse_offset(struct parser *p, const struct field *f, struct vec_stmt *s)
{
	static const struct {
		const char *name;
		enum vec_base base;
	} bases[] = {{"FRCD", VEC_BASE_FRCD}, {"IVA", VEC_BASE_IVA}, {"IOTLB", VEC_BASE_IOTLB}};
	struct field rest = *f;

	s->u.access.base = VEC_BASE_NONE;
	for (size_t b = 0; b < 3; b++) {
		size_t n = strlen(bases[b].name);

		if (f->len < n || memcmp(f->s, bases[b].name, n) ||
		    (f->len > n && is_name_char((unsigned char)f->s[n])))
			continue;
		s->u.access.base = bases[b].base;
		rest = (struct field){f->s + n, f->len - n, f->col + (unsigned)n};
		if (!rest.len) {
			s->u.access.addr = 0;
			return true;
		}
		if (rest.s[0] != '+')
			return fail(p, rest.col, "expected '+' after %s", bases[b].name);
		rest.s++;
		rest.len--;
		rest.col++;
		break;
	}
	return eval_max(p, &rest, 0xffffffff, "register offset", &s->u.access.addr);
}

/* mmio write32|write64|read32|read64 OFFSET ... */
static bool st_mmio(struct parser *p)
{
	size_t i = 1;
	const struct field *op = need(p, &i, "write32, write64, read32 or read64");
	const struct field *o, *v;
	struct vec_stmt *s;
	unsigned width;
	bool write;

	if (!op)
		return false;
	if (width_of(op, "write", &width))
		write = true;
	else if (width_of(op, "read", &width))
		write = false;
	else
		return fail_expected(p, op, "write32, write64, read32 or read64");
	s = add_stmt(p, write ? VEC_MMIO_WRITE : VEC_MMIO_READ, 1);
	if (!s || !(o = need(p, &i, "a register offset or name")) || !parse_offset(p, o, s))
		return false;
	s->u.access.width = width;
	if (!write)
		return parse_read_expect(p, &i, s, width_max(width), false);
	if (!(v = need(p, &i, "a value")) ||
	    !eval_max(p, v, width_max(width), "value", &s->u.access.value))
		return false;
	if (i < p->nfields && field_is(&p->fields[i], "expect")) {
		if (i + 1 >= p->nfields)
			return fail(p, end_col(p), "expected `error` after `expect`");
		if (!field_is(&p->fields[i + 1], "error"))
			return fail_expected(p, &p->fields[i + 1], "`error` after `expect`");
		s->u.access.error = true;
		i += 2;
	}
	return no_more(p, i);
}

/* One request option: pasid=N, priv, exec, nw, at=ut|tr|t. */
static bool translate_option(struct parser *p, const struct field *f, struct vec_translate *t)
{
	struct field key, val;
	uint64_t v;

	if (field_is(f, "priv"))
		t->priv = true;
	else if (field_is(f, "exec"))
		t->exec = true;
	else if (field_is(f, "nw"))
		t->nw = true;
	else if (!split_kv(f, &key, &val))
		return fail_expected(p, f, "pasid=, at=, priv, exec, nw or `expect`");
	else if (field_is(&key, "pasid")) {
		if (!eval_max(p, &val, 0xfffff, "PASID", &v))
			return false;
		t->pasid = (uint32_t)v;
		t->has_pasid = true;
	} else if (field_is(&key, "at")) {
		if (!parse_at(p, &val, &v))
			return false;
		t->at = (uint8_t)v;
	} else {
		return fail_expected(p, &key, "pasid=, at=, priv, exec, nw or `expect`");
	}
	return true;
}

/* One result item: size=, perm=, fault=, status=, recorded, unrecorded/suppressed. */
static bool result_item(struct parser *p, const struct field *f, struct vec_result *r)
{
	struct field key, val;

	if (field_is(f, "recorded") || field_is(f, "unrecorded") || field_is(f, "suppressed")) {
		r->recorded.set = true;
		r->recorded.value = field_is(f, "recorded");
		return true;
	}
	if (!split_kv(f, &key, &val))
		return fail_expected(p, f, "size=, perm=, fault=, status=, recorded or unrecorded");
	if (field_is(&key, "size")) {
		r->size.set = true;
		if (!eval(p, &val, &r->size.value))
			return false;
		if (r->size.value < 4096 || (r->size.value & (r->size.value - 1)))
			return fail(p, val.col, "page size must be a power of two of 4K or more");
		return true;
	}
	if (field_is(&key, "perm")) {
		r->perm.set = true;
		return parse_perm(p, &val, &r->perm.value, &r->perm_mask);
	}
	if (field_is(&key, "fault")) {
		if (field_is(&val, "any")) {
			r->reason_any = true;
			return true;
		}
		r->reason.set = true;
		return parse_reason(p, &val, &r->reason.value);
	}
	if (field_is(&key, "status")) {
		r->status.set = true;
		if (field_is(&val, "sc") || field_is(&val, "ur") || field_is(&val, "ca")) {
			r->status.value = field_is(&val, "sc")	 ? VEC_STATUS_SC
					  : field_is(&val, "ur") ? VEC_STATUS_UR
								 : VEC_STATUS_CA;
			return true;
		}
		return fail_expected(p, &val, "a completion status: sc, ur or ca");
	}
	return fail_expected(p, &key, "size=, perm=, fault=, status=, recorded or unrecorded");
}

/* expect ok [ADDR] [items] | expect fault REASON [items] */
static bool translate_result(struct parser *p, size_t i, struct vec_translate *t)
{
	struct vec_result *r = &t->expect;
	const struct field *f = need(p, &i, "`ok` or `fault`");

	if (!f)
		return false;
	if (field_is(f, "fault")) {
		r->fault = true;
		f = need(p, &i, "a fault reason (a name such as SCT.6, or a code)");
		if (!f)
			return false;
		if (field_is(f, "any")) {
			r->reason_any = true;
		} else {
			r->reason.set = true;
			if (!parse_reason(p, f, &r->reason.value))
				return false;
		}
	} else if (field_is(f, "ok")) {
		if (i < p->nfields && !memchr(p->fields[i].s, '=', p->fields[i].len) &&
		    !field_is(&p->fields[i], "recorded") &&
		    !field_is(&p->fields[i], "unrecorded") &&
		    !field_is(&p->fields[i], "suppressed")) {
			r->addr.set = true;
			if (!eval(p, &p->fields[i++], &r->addr.value))
				return false;
		}
	} else {
		return fail_expected(p, f, "`ok` or `fault`");
	}
	for (; i < p->nfields; i++)
		if (!result_item(p, &p->fields[i], r))
			return false;
	if (r->fault && !r->recorded.set)
		return fail(p, end_col(p), "expected `recorded` or `unrecorded` after the reason");
	return true;
}

/* translate SID ACCESS ADDR [options] expect RESULT */
static bool st_translate(struct parser *p)
{
	struct vec_stmt *s = add_stmt(p, VEC_TRANSLATE, 1);
	struct vec_translate *t;
	const struct field *f;
	size_t i = 1;

	if (!s)
		return false;
	t = &s->u.translate;
	if (!(f = need(p, &i, "a source-id")) || !parse_sid(p, f, &t->sid) ||
	    !(f = need(p, &i, "an access: r, w or rw")))
		return false;
	if (field_is(f, "r") || field_is(f, "read"))
		t->read = true;
	else if (field_is(f, "w") || field_is(f, "write"))
		t->write = true;
	else if (field_is(f, "rw"))
		t->read = t->write = true;
	else
		return fail_expected(p, f, "an access: r, w or rw");
	if (!(f = need(p, &i, "an address")) || !eval(p, f, &t->addr))
		return false;
	while ((f = need(p, &i, "`expect`")) && !field_is(f, "expect"))
		if (!translate_option(p, f, t))
			return false;
	return f && translate_result(p, i, t);
}

static const struct {
	const char *name;
	enum vec_field field;
	uint64_t max;
	bool frcd; /* a fault-recording register field (else FSTS) */
} field_names[] = {
    {"pfo", VEC_F_PFO, 1, 0},  {"ppf", VEC_F_PPF, 1, 0},      {"afo", VEC_F_AFO, 1, 0},
    {"apf", VEC_F_APF, 1, 0},  {"iqe", VEC_F_IQE, 1, 0},      {"ice", VEC_F_ICE, 1, 0},
    {"ite", VEC_F_ITE, 1, 0},  {"fri", VEC_F_FRI, 0xff, 0},   {"f", VEC_F_F, 1, 1},
    {"fr", VEC_F_FR, 0xff, 1}, {"sid", VEC_F_SID, 0xffff, 1}, {"fi", VEC_F_FI, UINT64_MAX, 1},
    {"pp", VEC_F_PP, 1, 1},    {"pv", VEC_F_PV, 0xfffff, 1},  {"at", VEC_F_AT, 3, 1},
    {"t1", VEC_F_T1, 1, 1},    {"t2", VEC_F_T2, 1, 1},	      {"priv", VEC_F_PRIV, 1, 1},
    {"exe", VEC_F_EXE, 1, 1},
};

const char *vec_field_name(enum vec_field f)
{
	for (size_t i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
		if (field_names[i].field == f)
			return field_names[i].name;
	return "?";
}

static bool add_check(struct parser *p, struct vec_stmt *s, const struct field *at,
		      enum vec_field field, uint64_t value)
{
	if (s->u.fields.count == VEC_FIELDS_MAX)
		return fail(p, at->col, "more than %d checks in one statement", VEC_FIELDS_MAX);
	s->u.fields.f[s->u.fields.count++] = (struct vec_field_check){field, value};
	return true;
}

/* type=read|write|page|atomic: the record's (T1, T2) pair (digest section 4.4). */
static bool field_type(struct parser *p, struct vec_stmt *s, const struct field *val)
{
	static const char *const types[] = {"write", "page", "read", "atomic"};

	for (unsigned t = 0; t < 4; t++)
		if (field_is(val, types[t]))
			return add_check(p, s, val, VEC_F_T1, t >> 1) &&
			       add_check(p, s, val, VEC_F_T2, t & 1);
	return fail_expected(p, val, "a request type: read, write, page or atomic");
}

static bool field_check(struct parser *p, struct vec_stmt *s, const struct field *f, bool frcd)
{
	struct field key, val;
	uint64_t v;
	uint16_t sid;

	if (!split_kv(f, &key, &val))
		return fail_expected(p, f,
				     frcd ? "a fault-record field check such as fr=SCT.6"
					  : "an FSTS field check such as ppf=1");
	if (frcd && field_is(&key, "type"))
		return field_type(p, s, &val);
	for (size_t n = 0; n < sizeof(field_names) / sizeof(field_names[0]); n++) {
		if (!field_is(&key, field_names[n].name) || field_names[n].frcd != frcd)
			continue;
		if (field_names[n].field == VEC_F_FR) {
			if (!parse_reason(p, &val, &v))
				return false;
		} else if (field_names[n].field == VEC_F_SID) {
			if (!parse_sid(p, &val, &sid))
				return false;
			v = sid;
		} else if (field_names[n].field == VEC_F_AT && isalpha((unsigned char)*val.s)) {
			if (!parse_at(p, &val, &v))
				return false;
		} else if (!eval_max(p, &val, field_names[n].max, field_names[n].name, &v)) {
			return false;
		}
		return add_check(p, s, &key, field_names[n].field, v);
	}
	return fail_expected(p, &key,
			     frcd ? "a fault-record field: f, fr, sid, fi, pp, pv, at, type, t1, "
				    "t2, priv or exe"
				  : "an FSTS field: pfo, ppf, afo, apf, iqe, ice, ite or fri");
}

static bool field_checks(struct parser *p, size_t i, struct vec_stmt *s, bool frcd)
{
	const struct field *f = need(p, &i, "`expect`");

	if (!f)
		return false;
	if (!field_is(f, "expect"))
		return fail_expected(p, f, "`expect`");
	if (i >= p->nfields)
		return fail(p, end_col(p), "expected a field check, got end of line");
	for (; i < p->nfields; i++)
		if (!field_check(p, s, &p->fields[i], frcd))
			return false;
	return true;
}

/* fsts expect FIELD=VALUE... */
static bool st_fsts(struct parser *p)
{
	struct vec_stmt *s = add_stmt(p, VEC_FSTS, 1);

	return s && field_checks(p, 1, s, false);
}

/* frcd INDEX expect FIELD=VALUE... */
static bool st_frcd(struct parser *p)
{
	struct vec_stmt *s = add_stmt(p, VEC_FRCD, 1);
	const struct field *f;
	uint64_t v;
	size_t i = 1;

	if (!s || !(f = need(p, &i, "a fault-recording register index")) ||
	    !eval_max(p, f, 255, "fault-recording register index", &v))
		return false;
	s->u.fields.index = (unsigned)v;
	return field_checks(p, i, s, true);
}

/* events expect fault=N [data=D] [addr=A] */
static bool st_events(struct parser *p)
{
	struct vec_stmt *s = add_stmt(p, VEC_EVENTS, 1);
	const struct field *f;
	struct field key, val;
	size_t i = 1;

	if (!s || !(f = need(p, &i, "`expect`")))
		return false;
	if (!field_is(f, "expect"))
		return fail_expected(p, f, "`expect`");
	if (!(f = need(p, &i, "fault=N")))
		return false;
	if (!split_kv(f, &key, &val) || !field_is(&key, "fault"))
		return fail_expected(p, f, "fault=N");
	if (!eval(p, &val, &s->u.events.fault))
		return false;
	while ((f = next_field(p, &i))) {
		struct vec_opt *o;

		if (!split_kv(f, &key, &val))
			return fail_expected(p, f, "data=, addr= or end of line");
		if (field_is(&key, "data"))
			o = &s->u.events.data;
		else if (field_is(&key, "addr"))
			o = &s->u.events.addr;
		else
			return fail_expected(p, &key, "data=, addr= or end of line");
		o->set = true;
		if (!eval(p, &val, &o->value))
			return false;
	}
	return true;
}

/* The statement table: new statements (the invalidation queue, cache and checker
 * expectations) are new rows. */
static const struct {
	const char *keyword;
	bool (*parse)(struct parser *p);
} statements[] = {
    {"model", st_model},	 {"config", st_config}, {"mem", st_mem},   {"mmio", st_mmio},
    {"translate", st_translate}, {"fsts", st_fsts},	{"frcd", st_frcd}, {"events", st_events},
};

/* Strip the comment and check the characters; returns the length that remains. */
static bool clean_line(struct parser *p, const char *s, size_t len, size_t *out)
{
	bool quoted = false;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"')
			quoted = !quoted;
		else if (c == '#' && !quoted)
			break;
		else if (c == '\r' && i == len - 1)
			break;
		else if (c != '\t' && (c < 0x20 || c >= 0x7f))
			return fail(
			    p, (unsigned)i + 1,
			    "unexpected byte 0x%02x (only printable ASCII outside comments)", c);
	}
	*out = i;
	return true;
}

static bool parse_line(struct parser *p, const char *s, size_t len)
{
	if (len > VEC_LINE_MAX)
		return fail(p, VEC_LINE_MAX + 1, "line longer than %d bytes", VEC_LINE_MAX);
	if (!clean_line(p, s, len, &len) || !split_fields(p, s, len))
		return false;
	if (!p->nfields)
		return true;
	if (field_is(&p->fields[0], "let"))
		return st_let(p, s, len);
	for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++)
		if (field_is(&p->fields[0], statements[i].keyword))
			return statements[i].parse(p);
	return fail_expected(p, &p->fields[0],
			     "a statement: let, model, config, mem, mmio, translate, fsts, frcd "
			     "or events");
}

void vec_file_free(struct vec_file *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->count; i++) {
		if (f->stmts[i].kind == VEC_MEM_WRITE)
			free(f->stmts[i].u.write.values);
		else if (f->stmts[i].kind == VEC_MEM_LOAD)
			free(f->stmts[i].u.load.path);
	}
	free(f->stmts);
	free(f->name);
	free(f);
}

static int parse_lines(struct parser *p, const char *buf, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;

		p->line++;
		if (!parse_line(p, buf + pos, n))
			return p->err->col ? -EINVAL : -ENOMEM;
		pos += n + 1;
	}
	return 0;
}

int vec_parse(const char *name, const char *buf, size_t len, struct vec_file **out,
	      struct vec_error *err)
{
	struct parser p = {.err = err};
	int ret = -ENOMEM;

	memset(err, 0, sizeof(*err));
	*out = NULL;
	if (len > VEC_FILE_MAX) {
		snprintf(err->msg, sizeof(err->msg), "file larger than %d bytes", VEC_FILE_MAX);
		return -EFBIG;
	}
	p.file = calloc(1, sizeof(*p.file));
	p.fields = malloc((VEC_LINE_MAX / 2 + 1) * sizeof(*p.fields));
	p.syms = malloc(VEC_SYMBOLS_MAX * sizeof(*p.syms));
	if (p.file)
		p.file->name = strdup(name ? name : "<input>");
	if (!p.file || !p.fields || !p.syms || !p.file->name) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		goto out;
	}
	ret = parse_lines(&p, buf, len);
	if (ret == -ENOMEM && !err->msg[0])
		snprintf(err->msg, sizeof(err->msg), "out of memory");
out:
	free(p.fields);
	free(p.syms);
	if (ret) {
		vec_file_free(p.file);
		return ret;
	}
	*out = p.file;
	return 0;
}

int vec_parse_path(const char *path, struct vec_file **out, struct vec_error *err)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	size_t len;
	int ret;

	memset(err, 0, sizeof(*err));
	*out = NULL;
	if (!fp) {
		ret = -errno;
		snprintf(err->msg, sizeof(err->msg), "cannot open: %s", strerror(errno));
		return ret;
	}
	buf = malloc(VEC_FILE_MAX + 1);
	if (!buf) {
		fclose(fp);
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	len = fread(buf, 1, VEC_FILE_MAX + 1, fp);
	if (ferror(fp)) {
		snprintf(err->msg, sizeof(err->msg), "cannot read: %s", strerror(errno));
		ret = -EIO;
	} else {
		ret = vec_parse(path, buf, len, out, err);
	}
	fclose(fp);
	free(buf);
	return ret;
}
