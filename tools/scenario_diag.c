// SPDX-License-Identifier: MIT
/*
 * The scenario reader's plumbing: the arena every parse allocates from, and how
 * diagnostics are recorded (with the source line, so the printer can underline it).
 */
#include "scenario_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- arena ------------------------------------------------------------------------------ */

struct scn_block {
	struct scn_block *next;
	size_t used, size;
	max_align_t data[];
};

#define SCN_BLOCK_SIZE (64u * 1024)

void *scn_alloc(struct scn_arena *a, size_t size)
{
	struct scn_block *b = a->head;
	size_t need = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);

	if (size > SCENARIO_MAX_INPUT * 4u) { /* nothing legitimate is this large */
		a->failed = true;
		return NULL;
	}
	if (!b || b->size - b->used < need) {
		size_t bsize = need > SCN_BLOCK_SIZE ? need : SCN_BLOCK_SIZE;

		b = malloc(sizeof(*b) + bsize);
		if (!b) {
			a->failed = true;
			return NULL;
		}
		b->used = 0;
		b->size = bsize;
		b->next = a->head;
		a->head = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += need;
	memset(p, 0, size);
	return p;
}

char *scn_strndup(struct scn_arena *a, const char *s, size_t n)
{
	char *p = scn_alloc(a, n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void scn_arena_free(struct scn_arena *a)
{
	struct scn_block *b = a->head;

	while (b) {
		struct scn_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
}

/* ---- diagnostics ------------------------------------------------------------------------ */

const char *scn_quote(const char *s, size_t n, char *out, size_t outsz)
{
	size_t o = 0;
	const size_t limit = outsz > 8 ? outsz - 8 : 0; /* room for a quote, "..." and NUL */

	if (outsz < 12) {
		if (outsz)
			out[0] = '\0';
		return out;
	}
	out[o++] = '\'';
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (o + 4 > limit) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (ch >= 0x20 && ch < 0x7f) {
			out[o++] = (char)ch;
		} else {
			static const char hex[] = "0123456789abcdef";
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o++] = '\'';
	out[o] = '\0';
	return out;
}

static size_t diag_limit(const struct scenario_diags *d)
{
	return d->max ? d->max : SCENARIO_DEFAULT_MAX_DIAGS;
}

bool scn_diags_full(const struct scn_ctx *c)
{
	return c->diags->errors >= diag_limit(c->diags);
}

/* Copy the source line holding `pos` into `out` (truncated, control bytes kept as they
 * are: the printer sanitises them and keeps tabs so the underline lines up). A position
 * too far right for `out` gets a window of the line that starts a little before it; *skip
 * is how many bytes of the line that leaves out. */
static void diag_excerpt(const struct scn_ctx *c, const struct scn_pos *pos, char *out,
			 size_t outsz, unsigned *skip)
{
	size_t start, end, span;

	out[0] = '\0';
	*skip = 0;
	if (!pos || pos->line == 0 || pos->off > c->len || pos->col == 0 || pos->col - 1 > pos->off)
		return;
	start = pos->off - (pos->col - 1);
	span = (pos->col - 1) + (pos->len ? pos->len : 1);
	if (span > outsz - 1) {
		*skip = pos->col - 1 > 40 ? pos->col - 1 - 40 : 0;
		start += *skip;
	}
	end = start;
	while (end < c->len && c->buf[end] != '\n' && end - start < outsz - 1)
		end++;
	if (end > start && c->buf[end - 1] == '\r')
		end--;
	memcpy(out, c->buf + start, end - start);
	out[end - start] = '\0';
}

static struct scenario_diag *diag_slot(struct scn_ctx *c, enum scenario_severity sev)
{
	struct scenario_diags *d = c->diags;

	c->last_stored = false;
	if (sev == SCENARIO_ERROR) {
		c->errors++;
		d->errors++;
		if (d->errors > diag_limit(d)) {
			d->dropped++;
			return NULL;
		}
	} else if (d->count >= 2 * diag_limit(d)) {
		return NULL;
	}
	if (d->count == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 16;
		struct scenario_diag *n = realloc(d->list, ncap * sizeof(*n));

		if (!n) {
			c->arena->failed = true;
			return NULL;
		}
		d->list = n;
		d->cap = ncap;
	}
	c->last_stored = true;
	struct scenario_diag *g = &d->list[d->count++];
	memset(g, 0, sizeof(*g));
	g->severity = sev;
	return g;
}

static void diag_report(struct scn_ctx *c, enum scenario_severity sev, const struct scn_pos *pos,
			const char *fmt, va_list ap)
{
	struct scenario_diag *g = diag_slot(c, sev);

	if (!g)
		return;
	if (pos) {
		g->line = pos->line;
		g->col = pos->col;
		g->len = pos->len;
	}
	vsnprintf(g->message, sizeof(g->message), fmt, ap);
	diag_excerpt(c, pos, g->excerpt, sizeof(g->excerpt), &g->excerpt_skip);
}

void scn_error(struct scn_ctx *c, const struct scn_pos *pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_report(c, SCENARIO_ERROR, pos, fmt, ap);
	va_end(ap);
}

void scn_warning(struct scn_ctx *c, const struct scn_pos *pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_report(c, SCENARIO_WARNING, pos, fmt, ap);
	va_end(ap);
}

void scn_note(struct scn_ctx *c, const struct scn_pos *pos, const char *fmt, ...)
{
	va_list ap;
	struct scenario_diag *g;

	if (!c->last_stored || c->diags->count == 0)
		return;
	g = &c->diags->list[c->diags->count - 1];
	g->note_line = pos ? pos->line : 0;
	g->note_col = pos ? pos->col : 0;
	va_start(ap, fmt);
	vsnprintf(g->note, sizeof(g->note), fmt, ap);
	va_end(ap);
}

void scenario_diags_free(struct scenario_diags *d)
{
	if (!d)
		return;
	free(d->list);
	free(d->file);
	d->list = NULL;
	d->file = NULL;
	d->count = d->cap = d->errors = d->dropped = 0;
}
