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

/* One result item: size=, perm=, fault=, status=, iotlb=, recorded, unrecorded/suppressed. */
static bool result_item(struct parser *p, const struct field *f, struct vec_result *r)
{
	struct field key, val;

	if (field_is(f, "recorded") || field_is(f, "unrecorded") || field_is(f, "suppressed")) {
		r->recorded.set = true;
		r->recorded.value = field_is(f, "recorded");
		return true;
	}
	if (!split_kv(f, &key, &val))
		return fail_expected(
		    p, f, "size=, perm=, fault=, status=, iotlb=, recorded or unrecorded");
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
	if (field_is(&key, "iotlb")) {
		if (!field_is(&val, "hit") && !field_is(&val, "miss"))
			return fail_expected(p, &val, "hit or miss");
		r->iotlb.set = true;
		r->iotlb.value = field_is(&val, "hit");
		return true;
	}
	return fail_expected(p, &key,
			     "size=, perm=, fault=, status=, iotlb=, recorded or unrecorded");
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
		} else if (field_names[n].field == VEC_F_AT && val.len &&
			   isalpha((unsigned char)*val.s)) {
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

/* An optional value: set it, or fail if it was given already. */
static bool set_opt(struct parser *p, const struct field *at, struct vec_opt *o, uint64_t v)
{
	if (o->set)
		return fail(p, at->col, "%.*s given twice", (int)(at->len > 20 ? 20 : at->len),
			    at->s);
	o->set = true;
	o->value = v;
	return true;
}

static bool expect_word(struct parser *p, size_t *i)
{
	const struct field *f = need(p, i, "`expect`");

	if (!f)
		return false;
	if (!field_is(f, "expect"))
		return fail_expected(p, f, "`expect`");
	if (*i >= p->nfields)
		return fail(p, end_col(p), "expected a check after `expect`, got end of line");
	return true;
}

/* events expect [fault=N] [inv=N] [data=D] [addr=A] [inv_data=D] [inv_addr=A] */
static bool st_events(struct parser *p)
{
	static const char *const keys[] = {"fault", "data", "addr", "inv", "inv_data", "inv_addr"};
	struct vec_stmt *s = add_stmt(p, VEC_EVENTS, 1);
	struct vec_opt *o[6];
	const struct field *f;
	struct field key, val;
	size_t i = 1;

	if (!s || !expect_word(p, &i))
		return false;
	o[0] = &s->u.events.fault;
	o[1] = &s->u.events.data;
	o[2] = &s->u.events.addr;
	o[3] = &s->u.events.inv;
	o[4] = &s->u.events.inv_data;
	o[5] = &s->u.events.inv_addr;
	while ((f = next_field(p, &i))) {
		unsigned k;
		uint64_t v;

		if (!split_kv(f, &key, &val))
			return fail_expected(p, f,
					     "fault=, inv=, data=, addr=, inv_data= or inv_addr=");
		for (k = 0; k < 6 && !field_is(&key, keys[k]); k++)
			;
		if (k == 6)
			return fail_expected(p, &key,
					     "fault=, inv=, data=, addr=, inv_data= or inv_addr=");
		if (!eval(p, &val, &v) || !set_opt(p, &key, o[k], v))
			return false;
	}
	return true;
}

/* ---- the invalidation queue (digest 1.7, 5) ------------------------------------------- */

/* Fields of named descriptors. */
enum iq_key {
	K_G,
	K_DID,
	K_SID,
	K_FM,
	K_ADDR,
	K_AM,
	K_IH,
	K_DW,
	K_DR,
	K_SIZE,
	K_S,
	K_MIP,
	K_PFSID,
	K_IIDX,
	K_IM,
	K_IF,
	K_SW,
	K_FN,
	K_PD,
	K_STATUS,
	K_DATA,
	K_PASID,
	K_GLOBAL,
	K_COUNT,
};

#define KB(k) (1u << (k))

static const struct {
	const char *name;
	uint64_t max;
	bool flag; /* may be written bare */
} iq_keys[K_COUNT] = {
    [K_G] = {"g", 3, 0},
    [K_DID] = {"did", 0xffff, 0},
    [K_SID] = {"sid", 0xffff, 0},
    [K_FM] = {"fm", 3, 0},
    [K_ADDR] = {"addr", UINT64_MAX, 0},
    [K_AM] = {"am", 63, 0},
    [K_IH] = {"ih", 1, 1},
    [K_DW] = {"dw", 1, 1},
    [K_DR] = {"dr", 1, 1},
    [K_SIZE] = {"size", UINT64_MAX, 0},
    [K_S] = {"s", 1, 1},
    [K_MIP] = {"mip", 31, 0},
    [K_PFSID] = {"pfsid", 0xffff, 0},
    [K_IIDX] = {"iidx", 0xffff, 0},
    [K_IM] = {"im", 31, 0},
    [K_IF] = {"if", 1, 1},
    [K_SW] = {"sw", 1, 1},
    [K_FN] = {"fn", 1, 1},
    [K_PD] = {"pd", 1, 1},
    [K_STATUS] = {"status", UINT64_MAX, 0},
    [K_DATA] = {"data", 0xffffffff, 0},
    [K_PASID] = {"pasid", 0xfffff, 0},
    [K_GLOBAL] = {"global", 1, 1},
};

/* The named descriptors: the fields each takes, those it needs, and the names of its
 * granularities by G value (digest 5.2-5.9). */
static const struct iq_desc {
	const char *name;
	enum vec_iq_type type;
	uint32_t keys, need;
	unsigned gmax;
	const char *g[4];
} iq_descs[] = {
    {"cc",
     VEC_IQ_CC,
     KB(K_G) | KB(K_DID) | KB(K_SID) | KB(K_FM),
     KB(K_G),
     3,
     {NULL, "global", "domain", "device"}},
    {"iotlb",
     VEC_IQ_IOTLB,
     KB(K_G) | KB(K_DID) | KB(K_ADDR) | KB(K_AM) | KB(K_IH) | KB(K_DW) | KB(K_DR),
     KB(K_G),
     3,
     {NULL, "global", "domain", "page"}},
    {"devtlb",
     VEC_IQ_DEVTLB,
     KB(K_SID) | KB(K_ADDR) | KB(K_SIZE) | KB(K_S) | KB(K_MIP) | KB(K_PFSID),
     KB(K_SID),
     0,
     {NULL}},
    {"iec", VEC_IQ_IEC, KB(K_G) | KB(K_IIDX) | KB(K_IM), KB(K_G), 1, {"global", "index"}},
    {"wait",
     VEC_IQ_WAIT,
     KB(K_IF) | KB(K_SW) | KB(K_FN) | KB(K_PD) | KB(K_STATUS) | KB(K_DATA),
     0,
     0,
     {NULL}},
    {"piotlb",
     VEC_IQ_PIOTLB,
     KB(K_G) | KB(K_DID) | KB(K_PASID) | KB(K_ADDR) | KB(K_AM) | KB(K_IH),
     KB(K_G),
     3,
     {NULL, NULL, "pasid", "page"}},
    {"pc",
     VEC_IQ_PC,
     KB(K_G) | KB(K_DID) | KB(K_PASID),
     KB(K_G),
     3,
     {"domain", "pasid", NULL, "global"}},
    {"pdevtlb",
     VEC_IQ_PDEVTLB,
     KB(K_SID) | KB(K_PASID) | KB(K_GLOBAL) | KB(K_ADDR) | KB(K_SIZE) | KB(K_S) | KB(K_MIP) |
	 KB(K_PFSID),
     KB(K_SID),
     0,
     {NULL}},
};

#define NDESCS (sizeof(iq_descs) / sizeof(iq_descs[0]))

const char *vec_iq_name(enum vec_iq_type t)
{
	for (size_t i = 0; i < NDESCS; i++)
		if (iq_descs[i].type == t)
			return iq_descs[i].name;
	return "raw";
}

struct iq_vals {
	uint64_t v[K_COUNT];
	uint32_t set;
	unsigned col[K_COUNT];
	bool size_all;
};

/* "expected one of g=, did=, ... for `iq cc`" */
static bool iq_bad_key(struct parser *p, const struct field *f, const struct iq_desc *d)
{
	char what[200];
	size_t n = (size_t)snprintf(what, sizeof(what), "a field of `iq %s`:", d->name);

	for (unsigned k = 0; k < K_COUNT; k++)
		if ((d->keys & KB(k)) && n < sizeof(what))
			n += (size_t)snprintf(what + n, sizeof(what) - n, " %s%s", iq_keys[k].name,
					      iq_keys[k].flag ? "" : "=");
	return fail_expected(p, f, what);
}

static bool iq_granularity(struct parser *p, const struct field *val, const struct iq_desc *d,
			   uint64_t *v)
{
	char what[80];
	size_t n;

	for (unsigned g = 0; g <= d->gmax; g++) {
		if (d->g[g] && field_is(val, d->g[g])) {
			*v = g;
			return true;
		}
	}
	if (val->len && isdigit((unsigned char)val->s[0]))
		return eval_max(p, val, d->gmax, "granularity", v);
	n = (size_t)snprintf(what, sizeof(what), "a granularity:");
	for (unsigned g = 0; g <= d->gmax; g++)
		if (d->g[g] && n < sizeof(what))
			n += (size_t)snprintf(what + n, sizeof(what) - n, " %s", d->g[g]);
	snprintf(what + n, n < sizeof(what) ? sizeof(what) - n : 0, " (or 0..%u)", d->gmax);
	return fail_expected(p, val, what);
}

/* size=all or a power of two of at least 4 KiB (the ATS size encoding, digest 5.4). */
static bool iq_size(struct parser *p, const struct field *val, struct iq_vals *iv)
{
	uint64_t v;

	if (field_is(val, "all")) {
		iv->size_all = true;
		iv->v[K_SIZE] = 0;
		return true;
	}
	if (!eval(p, val, &v))
		return false;
	if (v < 4096 || (v & (v - 1)) || v > (1ull << 63))
		return fail(p, val->col, "size must be `all` or a power of two from 4K to 2^63");
	iv->v[K_SIZE] = v;
	return true;
}

static bool iq_field(struct parser *p, const struct field *f, const struct iq_desc *d,
		     struct iq_vals *iv)
{
	struct field key = *f, val = {0};
	bool bare = !split_kv(f, &key, &val);
	unsigned k;
	uint16_t sid;

	for (k = 0; k < K_COUNT && !field_is(&key, iq_keys[k].name); k++)
		;
	if (k == K_COUNT || !(d->keys & KB(k)) || (bare && !iq_keys[k].flag))
		return iq_bad_key(p, f, d);
	if (iv->set & KB(k))
		return fail(p, key.col, "%s given twice", iq_keys[k].name);
	iv->set |= KB(k);
	iv->col[k] = f->col;
	if (bare) {
		iv->v[k] = 1;
		return true;
	}
	if (!val.len)
		return fail(p, val.col, "expected a value after '='");
	switch (k) {
	case K_G:
		return iq_granularity(p, &val, d, &iv->v[k]);
	case K_SID:
	case K_PFSID:
		if (!parse_sid(p, &val, &sid))
			return false;
		iv->v[k] = sid;
		return true;
	case K_SIZE:
		return iq_size(p, &val, iv);
	default:
		return eval_max(p, &val, iq_keys[k].max, iq_keys[k].name, &iv->v[k]);
	}
}

/* ADDR[63:12] and S of a device-TLB descriptor (digest 5.4): size= encodes, s= is raw. */
static bool iq_ats_range(struct parser *p, const struct iq_vals *iv, uint64_t *q1)
{
	uint64_t addr = iv->v[K_ADDR], size = iv->v[K_SIZE];

	if ((iv->set & KB(K_SIZE)) && (iv->set & KB(K_S)))
		return fail(p, iv->col[K_S], "give size= or s=, not both");
	if (addr & 0xfff)
		return fail(p, iv->col[K_ADDR],
			    "addr must be 4 KiB aligned (bits 11:0 are not "
			    "address bits)");
	if (iv->size_all) {
		if (iv->set & KB(K_ADDR))
			return fail(p, iv->col[K_ADDR], "size=all covers every address: no addr=");
		*q1 = 0x7ffffffffffff000ull | 1;
		return true;
	}
	if (!(iv->set & KB(K_SIZE)) || size == 4096) {
		*q1 = addr | ((iv->set & KB(K_S)) ? iv->v[K_S] : 0);
		return true;
	}
	if (addr & (size - 1))
		return fail(p, iv->col[K_ADDR], "addr must be aligned to size=");
	/* The lowest 0 bit of ADDR[63:12] gives the size: bits 12 .. log2(size)-2 set. */
	*q1 = addr | ((size >> 1) - 1 - 0xfff) | 1;
	return true;
}

/* Q0/Q1 of a named descriptor from its fields (digest 5.2-5.9). */
static bool iq_encode(struct parser *p, const struct iq_desc *d, const struct iq_vals *iv,
		      uint64_t *q)
{
	const uint64_t *v = iv->v;
	uint64_t pf = v[K_PFSID];

	q[0] = d->type;
	q[1] = 0;
	switch (d->type) {
	case VEC_IQ_CC:
		q[0] |= v[K_G] << 4 | v[K_DID] << 16 | v[K_SID] << 32 | v[K_FM] << 48;
		return true;
	case VEC_IQ_IOTLB:
	case VEC_IQ_PIOTLB:
		if (v[K_ADDR] & 0xfff)
			return fail(p, iv->col[K_ADDR],
				    "addr must be 4 KiB aligned (bits 11:0 "
				    "hold AM and IH)");
		q[0] |=
		    v[K_G] << 4 | v[K_DW] << 6 | v[K_DR] << 7 | v[K_DID] << 16 | v[K_PASID] << 32;
		q[1] = v[K_ADDR] | v[K_IH] << 6 | v[K_AM];
		return true;
	case VEC_IQ_DEVTLB:
		q[0] |= (pf & 0xf) << 12 | v[K_MIP] << 16 | v[K_SID] << 32 | (pf >> 4) << 52;
		return iq_ats_range(p, iv, &q[1]);
	case VEC_IQ_PDEVTLB:
		q[0] |= v[K_MIP] << 4 | (pf & 0xf) << 12 | v[K_SID] << 16 | v[K_PASID] << 32 |
			(pf >> 4) << 52;
		if (!iq_ats_range(p, iv, &q[1]))
			return false;
		/* Type 8 keeps S in bit 11 and G in bit 0 (digest 5.9). */
		q[1] = (q[1] & ~0xfffull) | (q[1] & 1) << 11 | v[K_GLOBAL];
		return true;
	case VEC_IQ_IEC:
		q[0] |= v[K_G] << 4 | v[K_IM] << 27 | v[K_IIDX] << 32;
		return true;
	case VEC_IQ_WAIT:
		if (v[K_STATUS] & 3)
			return fail(p, iv->col[K_STATUS], "status must be 4-byte aligned");
		q[0] |= v[K_IF] << 4 | v[K_SW] << 5 | v[K_FN] << 6 | v[K_PD] << 7 | v[K_DATA] << 32;
		q[1] = v[K_STATUS];
		return true;
	case VEC_IQ_PC:
		q[0] |= v[K_G] << 4 | v[K_DID] << 16 | v[K_PASID] << 32;
		return true;
	default:
		return false;
	}
}

static bool iq_named(struct parser *p, size_t i, const struct iq_desc *d)
{
	struct vec_stmt *s = add_stmt(p, VEC_IQ, 1);
	struct iq_vals iv;

	if (!s)
		return false;
	memset(&iv, 0, sizeof(iv));
	for (; i < p->nfields; i++)
		if (!iq_field(p, &p->fields[i], d, &iv))
			return false;
	for (unsigned k = 0; k < K_COUNT; k++)
		if ((d->need & KB(k)) && !(iv.set & KB(k)))
			return fail(p, end_col(p), "expected %s= for `iq %s`", iq_keys[k].name,
				    d->name);
	s->u.iq.type = d->type;
	s->u.iq.nq = 2;
	return iq_encode(p, d, &iv, s->u.iq.q);
}

/* iq raw Q0 Q1 [Q2 Q3] */
static bool iq_raw(struct parser *p, size_t i)
{
	struct vec_stmt *s = add_stmt(p, VEC_IQ, 1);
	size_t n = p->nfields - i;

	if (!s)
		return false;
	if (n != 2 && n != 4)
		return fail(p, n ? p->fields[i].col : end_col(p),
			    "expected 2 qwords (128-bit descriptor) or 4 (256-bit), got %zu", n);
	s->u.iq.type = VEC_IQ_RAW;
	s->u.iq.nq = (unsigned)n;
	for (size_t k = 0; k < n; k++)
		if (!eval(p, &p->fields[i + k], &s->u.iq.q[k]))
			return false;
	return true;
}

/* iq submit [tail=N] */
static bool iq_submit(struct parser *p, size_t i)
{
	struct vec_stmt *s = add_stmt(p, VEC_IQ_SUBMIT, 1);
	const struct field *f = next_field(p, &i);
	struct field key, val;

	if (!s)
		return false;
	if (f) {
		if (!split_kv(f, &key, &val) || !field_is(&key, "tail"))
			return fail_expected(p, f, "tail= or end of line");
		s->u.submit.tail.set = true;
		if (!eval(p, &val, &s->u.submit.tail.value))
			return false;
	}
	return no_more(p, i);
}

/* iq enable ADDR [qs=N] [dw=128|256] */
static bool iq_enable(struct parser *p, size_t i)
{
	struct vec_stmt *s = add_stmt(p, VEC_IQ_ENABLE, 1);
	const struct field *f;
	struct field key, val;
	uint64_t v;

	if (!s || !(f = need(p, &i, "the queue's address")) || !eval(p, f, &s->u.enable.addr))
		return false;
	if (s->u.enable.addr & 0xfff)
		return fail(p, f->col, "the queue's address must be 4 KiB aligned");
	while ((f = next_field(p, &i))) {
		if (!split_kv(f, &key, &val))
			return fail_expected(p, f, "qs=, dw= or end of line");
		if (field_is(&key, "qs")) {
			if (!eval_max(p, &val, 7, "qs", &v))
				return false;
			s->u.enable.qs = (unsigned)v;
		} else if (field_is(&key, "dw")) {
			if (!eval(p, &val, &v))
				return false;
			if (v != 128 && v != 256)
				return fail(p, val.col, "dw is 128 or 256 (bits)");
			if (!set_opt(p, &key, &s->u.enable.dw, v == 256))
				return false;
		} else {
			return fail_expected(p, &key, "qs=, dw= or end of line");
		}
	}
	return true;
}

static bool st_iq(struct parser *p)
{
	static const char what[] = "a descriptor (cc, iotlb, devtlb, iec, wait, piotlb, pc, "
				   "pdevtlb, raw), submit or enable";
	size_t i = 1;
	const struct field *f = need(p, &i, what);

	if (!f)
		return false;
	if (field_is(f, "submit"))
		return iq_submit(p, i);
	if (field_is(f, "enable"))
		return iq_enable(p, i);
	if (field_is(f, "raw"))
		return iq_raw(p, i);
	for (size_t d = 0; d < NDESCS; d++)
		if (field_is(f, iq_descs[d].name))
			return iq_named(p, i, &iq_descs[d]);
	return fail_expected(p, f, what);
}

/* iqercd expect [iqei=N] [itesid=SID] [icesid=SID] */
static bool st_iqercd(struct parser *p)
{
	struct vec_stmt *s = add_stmt(p, VEC_IQERCD, 1);
	const struct field *f;
	struct field key, val;
	size_t i = 1;
	uint64_t v;
	uint16_t sid;

	if (!s || !expect_word(p, &i))
		return false;
	while ((f = next_field(p, &i))) {
		struct vec_opt *o;

		if (!split_kv(f, &key, &val))
			return fail_expected(p, f, "iqei=, itesid= or icesid=");
		if (field_is(&key, "iqei")) {
			if (!eval_max(p, &val, 15, "iqei", &v))
				return false;
			o = &s->u.iqercd.iqei;
		} else if (field_is(&key, "itesid") || field_is(&key, "icesid")) {
			if (!parse_sid(p, &val, &sid))
				return false;
			v = sid;
			o = field_is(&key, "itesid") ? &s->u.iqercd.itesid : &s->u.iqercd.icesid;
		} else {
			return fail_expected(p, &key, "iqei=, itesid= or icesid=");
		}
		if (!set_opt(p, &key, o, v))
			return false;
	}
	return true;
}

/* ---- counters -------------------------------------------------------------------------- */

/* NAME=N or NAME+=N; names are letters, digits, '_' and '.'. */
static bool counter_check(struct parser *p, const struct field *f, unsigned *count,
			  struct vec_counter *c)
{
	struct field key, val;
	struct vec_counter *x;
	bool delta = false;

	if (!split_kv(f, &key, &val))
		return fail_expected(p, f, "a counter check NAME=N or NAME+=N");
	if (key.len && key.s[key.len - 1] == '+') {
		delta = true;
		key.len--;
	}
	if (!key.len)
		return fail_expected(p, f, "a counter check NAME=N or NAME+=N");
	for (size_t k = 0; k < key.len; k++)
		if (!is_name_char((unsigned char)key.s[k]) && key.s[k] != '.')
			return fail(p, key.col + (unsigned)k, "unexpected '%c' in a counter name",
				    key.s[k]);
	if (key.len >= VEC_COUNTER_MAX)
		return fail(p, key.col, "counter name longer than %d characters",
			    VEC_COUNTER_MAX - 1);
	if (*count == VEC_FIELDS_MAX)
		return fail(p, f->col, "more than %d checks in one statement", VEC_FIELDS_MAX);
	x = &c[(*count)++];
	memcpy(x->name, key.s, key.len);
	x->name[key.len] = 0;
	x->delta = delta;
	x->col = key.col;
	return eval(p, &val, &x->value);
}

/* stats expect NAME=N|NAME+=N... */
static bool st_stats(struct parser *p)
{
	struct vec_stmt *s = add_stmt(p, VEC_STATS, 1);
	size_t i = 1;

	if (!s || !expect_word(p, &i))
		return false;
	for (; i < p->nfields; i++)
		if (!counter_check(p, &p->fields[i], &s->u.counters.count, s->u.counters.c))
			return false;
	return true;
}

/* ---- ATS endpoints --------------------------------------------------------------------- */

static const char *const ats_modes[] = {"answers", "hung", "removed", "bad"};

const char *vec_ats_mode_name(enum vec_ats_mode m)
{
	return (unsigned)m < 4 ? ats_modes[m] : "?";
}

static bool ats_mode(const struct field *f, enum vec_ats_mode *m)
{
	for (unsigned k = 0; k < 4; k++) {
		if (field_is(f, ats_modes[k])) {
			*m = (enum vec_ats_mode)k;
			return true;
		}
	}
	return false;
}

/* ats connect SID [MODE] [pasid_width=N] [atc_sets=N] [atc_ways=N] [stu=N] [global_inv=B] */
static bool ats_connect(struct parser *p, size_t i, struct vec_stmt *s)
{
	static const char opts[] =
	    "answers, hung, removed, bad, pasid_width=, atc_sets=, atc_ways=, stu= or global_inv=";
	static const char *const keys[] = {"pasid_width", "atc_sets", "atc_ways", "stu",
					   "global_inv"};
	static const uint64_t max[] = {20, 1u << 16, 64, 31, 1};
	const struct field *f;
	struct field key, val;
	bool mode = false;

	s->kind = VEC_ATS_CONNECT;
	while ((f = next_field(p, &i))) {
		struct vec_opt *o[] = {&s->u.ats.pasid_width, &s->u.ats.atc_sets,
				       &s->u.ats.atc_ways, &s->u.ats.stu, &s->u.ats.global_inv};
		unsigned k;
		uint64_t v;

		if (ats_mode(f, &s->u.ats.mode)) {
			if (mode)
				return fail(p, f->col, "the answering mode given twice");
			mode = true;
			continue;
		}
		if (!split_kv(f, &key, &val))
			return fail_expected(p, f, opts);
		for (k = 0; k < 5 && !field_is(&key, keys[k]); k++)
			;
		if (k == 5)
			return fail_expected(p, &key, opts);
		if (!eval_max(p, &val, max[k], keys[k], &v) || !set_opt(p, &key, o[k], v))
			return false;
	}
	return true;
}

/* ats expect SID has|none addr=A [pasid=N] [priv] [pa=A] [size=S] [perm=P] */
static bool ats_entry(struct parser *p, size_t i, struct vec_stmt *s, const struct field *w)
{
	const struct field *f;
	struct field key, val;
	bool addr = false;
	uint64_t v;

	s->kind = VEC_ATS_ENTRY;
	s->u.entry.present = field_is(w, "has");
	while ((f = next_field(p, &i))) {
		if (field_is(f, "priv")) {
			s->u.entry.priv = true;
			continue;
		}
		if (!split_kv(f, &key, &val))
			return fail_expected(p, f, "addr=, pasid=, priv, pa=, size= or perm=");
		if (field_is(&key, "addr")) {
			addr = true;
			if (!eval(p, &val, &s->u.entry.addr))
				return false;
		} else if (field_is(&key, "pasid")) {
			if (!eval_max(p, &val, 0xfffff, "PASID", &v))
				return false;
			s->u.entry.has_pasid = true;
			s->u.entry.pasid = (uint32_t)v;
		} else if (s->u.entry.present && field_is(&key, "pa")) {
			if (!eval(p, &val, &v) || !set_opt(p, &key, &s->u.entry.pa, v))
				return false;
		} else if (s->u.entry.present && field_is(&key, "size")) {
			if (!eval(p, &val, &v) || !set_opt(p, &key, &s->u.entry.size, v))
				return false;
			if (v < 4096 || (v & (v - 1)))
				return fail(p, val.col,
					    "page size must be a power of two of 4K or "
					    "more");
		} else if (s->u.entry.present && field_is(&key, "perm")) {
			uint64_t mask;

			s->u.entry.perm.set = true;
			if (!parse_perm(p, &val, &s->u.entry.perm.value, &mask))
				return false;
		} else {
			return fail_expected(p, &key,
					     s->u.entry.present
						 ? "addr=, pasid=, priv, pa=, size= or perm="
						 : "addr=, pasid= or priv");
		}
	}
	if (!addr)
		return fail(p, end_col(p), "expected addr=");
	return true;
}

/* ats connect|state|expect SID ... */
static bool st_ats(struct parser *p)
{
	struct vec_stmt *s = add_stmt(p, VEC_ATS_CONNECT, 1);
	const struct field *verb, *f;
	size_t i = 1;

	if (!s || !(verb = need(p, &i, "connect, state or expect")))
		return false;
	if (!field_is(verb, "connect") && !field_is(verb, "state") && !field_is(verb, "expect"))
		return fail_expected(p, verb, "connect, state or expect");
	if (!(f = need(p, &i, "a source-id")) || !parse_sid(p, f, &s->u.ats.sid))
		return false;
	if (field_is(verb, "connect"))
		return ats_connect(p, i, s);
	if (field_is(verb, "state")) {
		s->kind = VEC_ATS_STATE;
		if (!(f = need(p, &i, "answers, hung, removed or bad")))
			return false;
		if (!ats_mode(f, &s->u.ats.mode))
			return fail_expected(p, f, "answers, hung, removed or bad");
		return no_more(p, i);
	}
	if (!(f = need(p, &i, "has, none or a counter check")))
		return false;
	if (field_is(f, "has") || field_is(f, "none")) {
		uint16_t sid = s->u.ats.sid;

		memset(&s->u, 0, sizeof(s->u));
		s->u.entry.sid = sid;
		return ats_entry(p, i, s, f);
	}
	s->kind = VEC_ATS_STATS;
	s->u.counters.sid = s->u.ats.sid;
	for (i--; i < p->nfields; i++)
		if (!counter_check(p, &p->fields[i], &s->u.counters.count, s->u.counters.c))
			return false;
	return true;
}

/* ---- DMA through an endpoint ----------------------------------------------------------- */

static const struct {
	const char *name;
	int err;
} errnos[] = {
    {"EFAULT", EFAULT}, {"EACCES", EACCES}, {"ENODEV", ENODEV},
    {"EPROTO", EPROTO}, {"EIO", EIO},	    {"EAGAIN", EAGAIN},
    {"EINVAL", EINVAL}, {"ERANGE", ERANGE}, {"EOPNOTSUPP", EOPNOTSUPP},
};

const char *vec_errno_name(int err)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].err == err)
			return errnos[i].name;
	return NULL;
}

/* Request options before `expect`: len=, pasid=, priv, exec, data= (writes). */
static bool dma_option(struct parser *p, const struct field *f, struct vec_dma *d)
{
	struct field key, val;
	uint64_t v;

	if (field_is(f, "priv"))
		d->priv = true;
	else if (field_is(f, "exec"))
		d->exec = true;
	else if (!split_kv(f, &key, &val))
		return fail_expected(p, f, "len=, pasid=, priv, exec, data= or `expect`");
	else if (field_is(&key, "len")) {
		if (!eval_max(p, &val, VEC_DMA_MAX, "len", &d->len))
			return false;
		if (!d->len)
			return fail(p, val.col, "len must be at least 1");
	} else if (field_is(&key, "pasid")) {
		if (!eval_max(p, &val, 0xfffff, "PASID", &v))
			return false;
		d->pasid = (uint32_t)v;
		d->has_pasid = true;
	} else if (field_is(&key, "data") && d->write) {
		if (!eval(p, &val, &v) || !set_opt(p, &key, &d->data, v))
			return false;
	} else {
		return fail_expected(p, &key,
				     d->write ? "len=, pasid=, priv, exec, data= or `expect`"
					      : "len=, pasid=, priv, exec or `expect` (a read's "
						"data= goes after `expect ok`)");
	}
	return true;
}

/* After `expect ok` / `expect error NAME`: data= (reads), atc=hit|miss, fault= (errors). */
static bool dma_result(struct parser *p, const struct field *f, struct vec_dma *d)
{
	struct field key, val;
	uint64_t v;

	if (!split_kv(f, &key, &val))
		return fail_expected(p, f, "data=, atc= or fault=");
	if (field_is(&key, "atc")) {
		if (!field_is(&val, "hit") && !field_is(&val, "miss"))
			return fail_expected(p, &val, "hit or miss");
		return set_opt(p, &key, &d->atc, field_is(&val, "hit"));
	}
	if (field_is(&key, "data") && !d->write && !d->error)
		return eval(p, &val, &v) && set_opt(p, &key, &d->data, v);
	if (field_is(&key, "fault") && d->error)
		return parse_reason(p, &val, &v) && set_opt(p, &key, &d->fault, v);
	return fail_expected(p, &key,
			     d->error ? "atc= or fault=" : (d->write ? "atc=" : "data= or atc="));
}

/* dma SID r|w ADDR [options] expect ok [results] | expect error ENAME [results] */
static bool st_dma(struct parser *p)
{
	struct vec_stmt *s = add_stmt(p, VEC_DMA, 1);
	struct vec_dma *d;
	const struct field *f;
	size_t i = 1;

	if (!s)
		return false;
	d = &s->u.dma;
	d->len = 8;
	if (!(f = need(p, &i, "a source-id")) || !parse_sid(p, f, &d->sid) ||
	    !(f = need(p, &i, "r or w")))
		return false;
	if (field_is(f, "w") || field_is(f, "write"))
		d->write = true;
	else if (!field_is(f, "r") && !field_is(f, "read"))
		return fail_expected(p, f, "r or w");
	if (!(f = need(p, &i, "an address")) || !eval(p, f, &d->addr))
		return false;
	while ((f = need(p, &i, "`expect`")) && !field_is(f, "expect"))
		if (!dma_option(p, f, d))
			return false;
	if (!f || !(f = need(p, &i, "ok or error")))
		return false;
	if (field_is(f, "error")) {
		if (!(f = need(p, &i, "an error name such as EFAULT")))
			return false;
		for (size_t k = 0; k < sizeof(errnos) / sizeof(errnos[0]); k++)
			if (field_is(f, errnos[k].name))
				d->error = errnos[k].err;
		if (!d->error)
			return fail_expected(p, f,
					     "an error name: EFAULT, EACCES, ENODEV, EPROTO, EIO, "
					     "EAGAIN, EINVAL, ERANGE or EOPNOTSUPP");
	} else if (!field_is(f, "ok")) {
		return fail_expected(p, f, "ok or error");
	}
	if (d->addr > UINT64_MAX - d->len + 1)
		return fail(p, p->fields[3].col, "address range wraps around");
	for (; i < p->nfields; i++)
		if (!dma_result(p, &p->fields[i], d))
			return false;
	return true;
}

/* ---- the stale-translation checker ----------------------------------------------------- */

static const char *const cache_names[VEC_CACHE_COUNT] = {"context", "pasid",	  "iotlb",
							 "atc",	    "pscache-fs", "pscache-ss"};
static const char *const missing_names[VEC_MISSING_COUNT] = {"cc",     "pc",	  "iotlb", "piotlb",
							     "devtlb", "pdevtlb", "none"};

const char *vec_cache_name(enum vec_cache c)
{
	return (unsigned)c < VEC_CACHE_COUNT ? cache_names[c] : "?";
}

const char *vec_missing_name(enum vec_missing m)
{
	return (unsigned)m < VEC_MISSING_COUNT ? missing_names[m] : "?";
}

static bool word_index(const struct field *f, const char *const *words, unsigned n, uint64_t *v)
{
	for (unsigned k = 0; k < n; k++) {
		if (field_is(f, words[k])) {
			*v = k;
			return true;
		}
	}
	return false;
}

static bool check_item(struct parser *p, const struct field *f, struct vec_stmt *s, bool *stale)
{
	static const char what[] = "stale=, cache=, missing=, sid=, pasid= or addr=";
	struct field key, val;
	uint64_t v;
	uint16_t sid;

	if (!split_kv(f, &key, &val))
		return fail_expected(p, f, what);
	if (field_is(&key, "stale")) {
		if (*stale)
			return fail(p, key.col, "stale given twice");
		*stale = true;
		return eval(p, &val, &s->u.check.stale);
	}
	if (field_is(&key, "cache")) {
		if (!word_index(&val, cache_names, VEC_CACHE_COUNT, &v))
			return fail_expected(p, &val,
					     "a cache: context, pasid, iotlb, atc, "
					     "pscache-fs or pscache-ss");
		return set_opt(p, &key, &s->u.check.cache, v);
	}
	if (field_is(&key, "missing")) {
		if (!word_index(&val, missing_names, VEC_MISSING_COUNT, &v))
			return fail_expected(p, &val,
					     "an invalidation: cc, pc, iotlb, piotlb, "
					     "devtlb, pdevtlb or none");
		return set_opt(p, &key, &s->u.check.missing, v);
	}
	if (field_is(&key, "sid"))
		return parse_sid(p, &val, &sid) && set_opt(p, &key, &s->u.check.sid, sid);
	if (field_is(&key, "pasid")) {
		if (field_is(&val, "none"))
			v = VEC_PASID_NONE;
		else if (!eval_max(p, &val, 0xfffff, "PASID", &v))
			return false;
		return set_opt(p, &key, &s->u.check.pasid, v);
	}
	if (field_is(&key, "addr"))
		return eval(p, &val, &v) && set_opt(p, &key, &s->u.check.addr, v);
	return fail_expected(p, &key, what);
}

/* check expect stale=N [cache=C] [missing=M] [sid=SID] [pasid=N|none] [addr=A] */
static bool st_check(struct parser *p)
{
	struct vec_stmt *s = add_stmt(p, VEC_CHECK, 1);
	bool stale = false;
	size_t i = 1;

	if (!s || !expect_word(p, &i))
		return false;
	for (; i < p->nfields; i++)
		if (!check_item(p, &p->fields[i], s, &stale))
			return false;
	if (!stale)
		return fail(p, end_col(p), "expected stale=N");
	if (!s->u.check.stale &&
	    (s->u.check.cache.set || s->u.check.missing.set || s->u.check.sid.set ||
	     s->u.check.pasid.set || s->u.check.addr.set))
		return fail(p, end_col(p), "report fields need stale= of at least 1");
	return true;
}

/* The statement table: a new statement is a new row. */
static const struct {
	const char *keyword;
	bool (*parse)(struct parser *p);
} statements[] = {
    {"model", st_model},
    {"config", st_config},
    {"mem", st_mem},
    {"mmio", st_mmio},
    {"translate", st_translate},
    {"fsts", st_fsts},
    {"frcd", st_frcd},
    {"events", st_events},
    {"iq", st_iq},
    {"iqercd", st_iqercd},
    {"ats", st_ats},
    {"dma", st_dma},
    {"stats", st_stats},
    {"check", st_check},
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
			     "a statement: let, model, config, mem, mmio, translate, fsts, frcd, "
			     "events, iq, iqercd, ats, dma, stats or check");
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
