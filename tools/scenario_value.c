// SPDX-License-Identifier: MIT
/*
 * Scenario values: numbers, sizes (4K, 2M), ranges (64..1500), durations (10ms),
 * percentages, booleans, requester IDs (00:04.0), words from a fixed list and names, each
 * with the error message a person needs ("expected a size such as 4K or 2M, got 'fourK'"),
 * and the nearest-word suggestions used for every unknown key, word and name.
 */
#include "scenario_internal.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

/* ---- word tables -------------------------------------------------------------------------
 * The first word with a given value is its canonical spelling (printed, and listed in
 * messages); later words with the same value are accepted aliases. */

const struct scn_word scn_words_mode[] = {
    {"scalable", SCENARIO_MODE_SCALABLE},
    {"legacy", SCENARIO_MODE_LEGACY},
    {0},
};
const struct scn_word scn_words_domain[] = {
    {"translated", SCENARIO_DOMAIN_TRANSLATED},	   {"pass-through", SCENARIO_DOMAIN_PASS_THROUGH},
    {"paging", SCENARIO_DOMAIN_TRANSLATED},	   {"identity", SCENARIO_DOMAIN_PASS_THROUGH},
    {"passthrough", SCENARIO_DOMAIN_PASS_THROUGH}, {0},
};
const struct scn_word scn_words_page_table[] = {
    {"auto", SCENARIO_PT_AUTO},		  {"first-stage", SCENARIO_PT_FIRST},
    {"second-stage", SCENARIO_PT_SECOND}, {"first", SCENARIO_PT_FIRST},
    {"second", SCENARIO_PT_SECOND},	  {0},
};
const struct scn_word scn_words_invalidation[] = {
    {"strict", SCENARIO_INV_STRICT},
    {"lazy", SCENARIO_INV_LAZY},
    {0},
};
const struct scn_word scn_words_kernel_pasid[] = {
    {"auto", SCENARIO_KPASID_AUTO},
    {"off", SCENARIO_KPASID_OFF},
    {"on", SCENARIO_KPASID_ON},
    {"try", SCENARIO_KPASID_TRY},
    {"no", SCENARIO_KPASID_OFF},
    {"yes", SCENARIO_KPASID_ON},
    {0},
};
const struct scn_word scn_words_skip[] = {
    {"none", 0},
    {"iotlb", SCENARIO_SKIP_IOTLB},
    {"devtlb", SCENARIO_SKIP_DEVTLB},
    {"pasid-iotlb", SCENARIO_SKIP_PASID_IOTLB},
    {"pasid-devtlb", SCENARIO_SKIP_PASID_DEVTLB},
    {"pasid-cache", SCENARIO_SKIP_PASID_CACHE},
    {"context-cache", SCENARIO_SKIP_CONTEXT_CACHE},
    {0},
};
const struct scn_word scn_words_dev_type[] = {
    {"dsa", SCENARIO_DEV_DSA},
    {"nic", SCENARIO_DEV_NIC},
    {"storage", SCENARIO_DEV_STORAGE},
    {0},
};
const struct scn_word scn_words_ops_dsa[] = {
    {"memmove", SCENARIO_OP_MEMMOVE},
    {"fill", SCENARIO_OP_FILL},
    {"compare", SCENARIO_OP_COMPARE},
    {"crc", SCENARIO_OP_CRC},
    {0},
};
const struct scn_word scn_words_ops_nic[] = {
    {"rx", SCENARIO_OP_RX},
    {"tx", SCENARIO_OP_TX},
    {"rxtx", SCENARIO_OP_RXTX},
    {0},
};
const struct scn_word scn_words_ops_storage[] = {
    {"read", SCENARIO_OP_READ},
    {"write", SCENARIO_OP_WRITE},
    {"mixed", SCENARIO_OP_MIXED},
    {0},
};
const struct scn_word scn_words_wl_pasid[] = {
    {"none", SCENARIO_WL_NO_PASID},
    {"kernel", SCENARIO_WL_KERNEL},
    {0},
};
const struct scn_word scn_words_map[] = {
    {"per-op", SCENARIO_MAP_PER_OP},
    {"once", SCENARIO_MAP_ONCE},
    {0},
};
const struct scn_word scn_words_metric[] = {
    {"checker_findings", SCENARIO_M_CHECKER_FINDINGS},
    {"faults", SCENARIO_M_FAULTS},
    {"dma_ops", SCENARIO_M_DMA_OPS},
    {"dma_bytes", SCENARIO_M_DMA_BYTES},
    {"failed_ops", SCENARIO_M_FAILED_OPS},
    {"verified_ops", SCENARIO_M_VERIFIED_OPS},
    {"data_mismatches", SCENARIO_M_DATA_MISMATCHES},
    {"invalidations", SCENARIO_M_INVALIDATIONS},
    {"hit_rate", SCENARIO_M_HIT_RATE},
    {"debug_findings", SCENARIO_M_DEBUG_FINDINGS},
    {"pasid_fallbacks", SCENARIO_M_PASID_FALLBACKS},
    {0},
};
const struct scn_word scn_words_cmp[] = {
    {"==", SCENARIO_CMP_EQ},
    {"!=", SCENARIO_CMP_NE},
    {"<", SCENARIO_CMP_LT},
    {"<=", SCENARIO_CMP_LE},
    {">", SCENARIO_CMP_GT},
    {">=", SCENARIO_CMP_GE},
    {0},
};
const struct scn_word scn_words_cache[] = {
    {"iotlb", SCENARIO_CACHE_IOTLB},	   {"context-cache", SCENARIO_CACHE_CONTEXT},
    {"pasid-cache", SCENARIO_CACHE_PASID}, {"pwc", SCENARIO_CACHE_PWC},
    {"devtlb", SCENARIO_CACHE_DEVTLB},	   {0},
};
const struct scn_word scn_words_inv_type[] = {
    {"context-cache", SCENARIO_IT_CONTEXT_CACHE},
    {"iotlb", SCENARIO_IT_IOTLB},
    {"devtlb", SCENARIO_IT_DEVTLB},
    {"iec", SCENARIO_IT_IEC},
    {"wait", SCENARIO_IT_WAIT},
    {"pasid-iotlb", SCENARIO_IT_PASID_IOTLB},
    {"pasid-cache", SCENARIO_IT_PASID_CACHE},
    {"pasid-devtlb", SCENARIO_IT_PASID_DEVTLB},
    {0},
};
const struct scn_word scn_words_inv_gran[] = {
    {"global", SCENARIO_IG_GLOBAL}, {"domain", SCENARIO_IG_DOMAIN}, {"device", SCENARIO_IG_DEVICE},
    {"pasid", SCENARIO_IG_PASID},   {"page", SCENARIO_IG_PAGE},	    {0},
};

const char *scn_word_name(const struct scn_word *words, int v)
{
	for (; words->word; words++)
		if (words->value == v)
			return words->word;
	return "?";
}

static bool word_is_alias(const struct scn_word *words, const struct scn_word *w)
{
	for (const struct scn_word *p = words; p < w; p++)
		if (p->value == w->value)
			return true;
	return false;
}

const char *scn_word_list(const struct scn_word *words, char *out, size_t outsz)
{
	size_t o = 0, total = 0, i = 0;

	for (const struct scn_word *w = words; w->word; w++)
		total += !word_is_alias(words, w);
	out[0] = '\0';
	for (const struct scn_word *w = words; w->word; w++) {
		if (word_is_alias(words, w))
			continue;
		const char *sep = i == 0 ? "" : i + 1 == total ? " or " : ", ";
		int k = snprintf(out + o, outsz - o, "%s%s", sep, w->word);

		if (k < 0 || (size_t)k >= outsz - o)
			break;
		o += (size_t)k;
		i++;
	}
	return out;
}

/* ---- suggestions ------------------------------------------------------------------------ */

static char lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

unsigned scn_distance(const char *a, const char *b, unsigned cap)
{
	enum { N = SCENARIO_MAX_NAME + 1 };
	unsigned d0[N], d1[N], d2[N];
	size_t la = strlen(a), lb = strlen(b);

	if (la >= N || lb >= N)
		return cap;
	for (size_t j = 0; j <= lb; j++)
		d1[j] = (unsigned)j;
	/* Optimal string alignment: insert, delete, substitute, swap two neighbours.
	 * d2 is row i-2, d1 row i-1, d0 row i. */
	for (size_t i = 1; i <= la; i++) {
		d0[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = lower(a[i - 1]) != lower(b[j - 1]);
			unsigned v = d1[j] + 1;

			if (d0[j - 1] + 1 < v)
				v = d0[j - 1] + 1;
			if (d1[j - 1] + cost < v)
				v = d1[j - 1] + cost;
			if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
			    lower(a[i - 2]) == lower(b[j - 1]) && d2[j - 2] + 1 < v)
				v = d2[j - 2] + 1;
			d0[j] = v;
		}
		memcpy(d2, d1, sizeof(d1));
		memcpy(d1, d0, sizeof(d0));
	}
	return d1[lb] < cap ? d1[lb] : cap;
}

const char *scn_suggest(const char *s, const char *const *cands, size_t n)
{
	size_t len = strlen(s);
	/* Near enough to be a typo: one edit in a short word, more in longer ones; a one- or
	 * two-letter word is only matched up to case ('e' is no typo of 'd'). */
	unsigned limit = len <= 2 ? 0 : len <= 4 ? 1 : len <= 6 ? 2 : 3;
	unsigned best = limit + 1;
	const char *pick = NULL;

	if (len > SCENARIO_MAX_NAME)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned d = scn_distance(s, cands[i], best);

		if (d < best) {
			best = d;
			pick = cands[i];
		}
	}
	return pick;
}

static const char *suggest_word(const char *s, const struct scn_word *words)
{
	const char *cands[64];
	size_t n = 0;

	for (const struct scn_word *w = words; w->word && n < 64; w++)
		cands[n++] = w->word;
	return scn_suggest(s, cands, n);
}

/* ---- numbers ---------------------------------------------------------------------------- */

/* Length of the number at the start of s: decimal or 0x hex, '_' allowed between digits. */
static size_t number_len(const char *s, size_t n, unsigned *base)
{
	size_t i = 0;

	*base = 10;
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		*base = 16;
		i = 2;
	}
	size_t start = i;
	while (i < n) {
		char ch = s[i];
		bool digit =
		    (ch >= '0' && ch <= '9') ||
		    (*base == 16 && ((ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')));

		if (!digit && !(ch == '_' && i > start && i + 1 < n))
			break;
		i++;
	}
	if (i == start)
		return 0;
	while (i > start && s[i - 1] == '_')
		i--;
	return i;
}

static bool number_value(const char *s, size_t n, unsigned base, uint64_t *out, bool *overflow)
{
	uint64_t v = 0;

	*overflow = false;
	for (size_t i = base == 16 ? 2 : 0; i < n; i++) {
		char ch = s[i];
		unsigned d;

		if (ch == '_')
			continue;
		d = ch <= '9' ? (unsigned)(ch - '0') : (unsigned)(lower(ch) - 'a' + 10);
		if (v > (UINT64_MAX - d) / base) {
			*overflow = true;
			return false;
		}
		v = v * base + d;
	}
	*out = v;
	return true;
}

bool scn_parse_u64(const char *s, size_t n, uint64_t *out, bool *overflow)
{
	unsigned base;
	size_t k = number_len(s, n, &base);

	*overflow = false;
	if (k == 0 || k != n)
		return false;
	return number_value(s, k, base, out, overflow);
}

/* Binary size units, case-insensitive: K = KB = KiB = 1024, and so on. */
static bool size_unit(const char *u, size_t n, unsigned *shift)
{
	static const struct {
		const char *name;
		unsigned shift;
	} units[] = {
	    {"", 0},	 {"b", 0},  {"k", 10},	{"kb", 10},  {"kib", 10}, {"m", 20},  {"mb", 20},
	    {"mib", 20}, {"g", 30}, {"gb", 30}, {"gib", 30}, {"t", 40},	  {"tb", 40}, {"tib", 40},
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == n && !strncasecmp(u, units[i].name, n)) {
			*shift = units[i].shift;
			return true;
		}
	return false;
}

bool scn_parse_size(const char *s, size_t n, uint64_t *out)
{
	unsigned base, shift;
	bool overflow;
	uint64_t v;
	size_t k = number_len(s, n, &base);

	if (k == 0 || !size_unit(s + k, n - k, &shift) || !number_value(s, k, base, &v, &overflow))
		return false;
	if (shift && v > (UINT64_MAX >> shift))
		return false;
	*out = v << shift;
	return true;
}

static void range_error(struct scn_ctx *c, const struct scn_text *t, const char *what,
			const char *v, const char *lo, const char *hi)
{
	scn_error(c, &t->pos, "%s is out of range for %s (%s to %s)", v, what, lo, hi);
}

bool scn_val_u64(struct scn_ctx *c, const struct scn_text *t, const char *what, uint64_t min,
		 uint64_t max, uint64_t *out)
{
	char q[80], lo[24], hi[24];
	unsigned base;
	bool overflow;
	uint64_t v;
	size_t k = number_len(t->s, t->n, &base);

	scn_quote(t->s, t->n, q, sizeof(q));
	if (k == 0 || t->quoted) {
		scn_error(c, &t->pos, "expected a number such as 1000 or 0x40 for %s, got %s", what,
			  q);
		return false;
	}
	if (k != t->n) {
		uint64_t dummy;

		if (scn_parse_size(t->s, t->n, &dummy))
			scn_error(c, &t->pos,
				  "expected a whole number for %s, got %s (only sizes take K, M, G "
				  "suffixes; write 1_000_000 for a million)",
				  what, q);
		else
			scn_error(c, &t->pos,
				  "expected a number such as 1000 or 0x40 for %s, got %s", what, q);
		return false;
	}
	if (!number_value(t->s, k, base, &v, &overflow)) {
		scn_error(c, &t->pos, "%s is too large for %s (at most %" PRIu64 ")", q, what, max);
		return false;
	}
	if (v < min || v > max) {
		snprintf(lo, sizeof(lo), "%" PRIu64, min);
		snprintf(hi, sizeof(hi), "%" PRIu64, max);
		range_error(c, t, what, q, lo, hi);
		return false;
	}
	*out = v;
	return true;
}

bool scn_val_size(struct scn_ctx *c, const struct scn_text *t, const char *what, uint64_t min,
		  uint64_t max, uint64_t *out)
{
	char q[80], lo[24], hi[24], u[40];
	unsigned base, shift;
	bool overflow;
	uint64_t v;
	size_t k = number_len(t->s, t->n, &base);

	scn_quote(t->s, t->n, q, sizeof(q));
	if (k == 0 || t->quoted) {
		scn_error(c, &t->pos, "expected a size such as 4K or 2M for %s, got %s", what, q);
		return false;
	}
	if (!size_unit(t->s + k, t->n - k, &shift)) {
		scn_error(c, &t->pos,
			  "unknown size unit %s in %s: use K, M, G or T (powers of 1024), or none "
			  "for bytes",
			  scn_quote(t->s + k, t->n - k, u, sizeof(u)), q);
		return false;
	}
	if (!number_value(t->s, k, base, &v, &overflow) || (shift && v > (UINT64_MAX >> shift))) {
		scn_error(c, &t->pos, "%s is too large for %s (at most %s)", q, what,
			  scn_fmt_size(max, hi, sizeof(hi)));
		return false;
	}
	v <<= shift;
	if (v < min || v > max) {
		range_error(c, t, what, q, scn_fmt_size(min, lo, sizeof(lo)),
			    scn_fmt_size(max, hi, sizeof(hi)));
		return false;
	}
	*out = v;
	return true;
}

bool scn_val_range(struct scn_ctx *c, const struct scn_text *t, const char *what, uint64_t min,
		   uint64_t max, struct scenario_range *out)
{
	const char *dots = NULL;
	struct scn_text a, b;
	char qa[40], lo[24], hi[24];

	for (size_t i = 0; i + 1 < t->n; i++)
		if (t->s[i] == '.' && t->s[i + 1] == '.') {
			dots = t->s + i;
			break;
		}
	if (!dots || t->quoted) {
		if (!scn_val_size(c, t, what, min, max, &out->min))
			return false;
		out->max = out->min;
		return true;
	}
	/* Two sizes around "..": positions of each half for precise messages. */
	a = *t;
	a.n = (size_t)(dots - t->s);
	a.pos.len = (uint32_t)a.n;
	b = *t;
	b.s = dots + 2;
	b.n = t->n - a.n - 2;
	b.pos.col += (uint32_t)(a.n + 2);
	b.pos.off += (uint32_t)(a.n + 2);
	b.pos.len = (uint32_t)b.n;
	if (a.n == 0 || b.n == 0) {
		scn_error(c, &t->pos, "expected a range such as 64..1500 for %s, got %s", what,
			  scn_quote(t->s, t->n, qa, sizeof(qa)));
		return false;
	}
	/* Each half is its own NUL-free slice; scn_val_size works on (s, n). */
	if (!scn_val_size(c, &a, what, min, max, &out->min) ||
	    !scn_val_size(c, &b, what, min, max, &out->max))
		return false;
	if (out->min > out->max) {
		scn_error(c, &t->pos, "the range %s is reversed: write %s..%s",
			  scn_quote(t->s, t->n, qa, sizeof(qa)),
			  scn_fmt_size(out->max, lo, sizeof(lo)),
			  scn_fmt_size(out->min, hi, sizeof(hi)));
		return false;
	}
	return true;
}

bool scn_val_duration(struct scn_ctx *c, const struct scn_text *t, const char *what,
		      uint64_t min_ns, uint64_t max_ns, uint64_t *out)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
	    {"ns", 1},
	    {"us", 1000},
	    {"ms", 1000000},
	    {"s", 1000000000},
	};
	char q[80], lo[24], hi[24];
	unsigned base;
	bool overflow;
	uint64_t v, mult = 0;
	size_t k = number_len(t->s, t->n, &base);

	scn_quote(t->s, t->n, q, sizeof(q));
	if (k == 0 || base != 10 || t->quoted) {
		scn_error(c, &t->pos, "expected a duration such as 10ms or 2s for %s, got %s", what,
			  q);
		return false;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == t->n - k &&
		    !strncasecmp(t->s + k, units[i].name, t->n - k))
			mult = units[i].ns;
	if (!number_value(t->s, k, base, &v, &overflow)) {
		scn_error(c, &t->pos, "%s is too large for %s (at most %s)", q, what,
			  scn_fmt_duration(max_ns, hi, sizeof(hi)));
		return false;
	}
	if (k == t->n && v != 0) {
		scn_error(c, &t->pos, "%s needs a unit: ns, us, ms or s (for example %.*sms)", q,
			  (int)k, t->s);
		return false;
	}
	if (k != t->n && !mult) {
		scn_error(c, &t->pos,
			  "expected a duration such as 10ms or 2s for %s, got %s (units: ns, us, "
			  "ms, s)",
			  what, q);
		return false;
	}
	if (k == t->n)
		mult = 1;
	if (v > UINT64_MAX / mult) {
		scn_error(c, &t->pos, "%s is too large for %s (at most %s)", q, what,
			  scn_fmt_duration(max_ns, hi, sizeof(hi)));
		return false;
	}
	v *= mult;
	if (v < min_ns || v > max_ns) {
		range_error(c, t, what, q, scn_fmt_duration(min_ns, lo, sizeof(lo)),
			    scn_fmt_duration(max_ns, hi, sizeof(hi)));
		return false;
	}
	*out = v;
	return true;
}

bool scn_val_bool(struct scn_ctx *c, const struct scn_text *t, bool *out)
{
	static const struct scn_word words[] = {
	    {"yes", 1},	  {"no", 0}, {"on", 1}, {"off", 0}, {"true", 1},
	    {"false", 0}, {"1", 1},  {"0", 0},	{0},
	};
	char q[80];

	if (!t->quoted)
		for (const struct scn_word *w = words; w->word; w++)
			if (strlen(w->word) == t->n && !strncasecmp(t->s, w->word, t->n)) {
				*out = w->value;
				return true;
			}
	scn_error(c, &t->pos, "expected yes or no (or on/off, true/false), got %s",
		  scn_quote(t->s, t->n, q, sizeof(q)));
	return false;
}

bool scn_val_percent(struct scn_ctx *c, const struct scn_text *t, uint64_t *out)
{
	char q[80];
	size_t i = 0;
	uint64_t whole = 0, frac = 0;
	unsigned fdigits = 0;

	while (i < t->n && t->s[i] >= '0' && t->s[i] <= '9' && whole <= 1000)
		whole = whole * 10 + (uint64_t)(t->s[i++] - '0');
	bool ok = i > 0 && !t->quoted;
	if (ok && i < t->n && t->s[i] == '.') {
		i++;
		while (i < t->n && t->s[i] >= '0' && t->s[i] <= '9' && fdigits < 3) {
			frac = frac * 10 + (uint64_t)(t->s[i++] - '0');
			fdigits++;
		}
		ok = fdigits > 0 && fdigits <= 2;
	}
	ok = ok && i + 1 == t->n && t->s[i] == '%';
	scn_quote(t->s, t->n, q, sizeof(q));
	if (!ok) {
		scn_error(c, &t->pos, "expected a percentage such as 95%% or 99.5%%, got %s", q);
		return false;
	}
	if (fdigits == 1)
		frac *= 10;
	if (whole > 100 || (whole == 100 && frac)) {
		scn_error(c, &t->pos, "%s is out of range for a hit rate (0%% to 100%%)", q);
		return false;
	}
	*out = whole * 100 + frac;
	return true;
}

/* One hex field of a requester ID; returns its length (0 when none). */
static size_t hex_field(const char *s, size_t n, size_t max_digits, unsigned *v)
{
	size_t i = 0;

	*v = 0;
	while (i < n && i < max_digits + 1) {
		char ch = lower(s[i]);
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else
			break;
		*v = *v * 16 + d;
		i++;
	}
	return i;
}

bool scn_val_rid(struct scn_ctx *c, const struct scn_text *t, uint16_t *out)
{
	unsigned f[4], nf = 0, seg = 0, bus, dev, fn;
	size_t i = 0, k;
	char q[80];
	char seps[4] = {0};

	scn_quote(t->s, t->n, q, sizeof(q));
	/* Fields separated by ':' ':' '.' or ':' '.': [segment:]bus:device.function */
	while (nf < 4 && !t->quoted) {
		k = hex_field(t->s + i, t->n - i, 4, &f[nf]);
		if (k == 0 || k > 4)
			break;
		i += k;
		nf++;
		if (i == t->n || (t->s[i] != ':' && t->s[i] != '.'))
			break;
		seps[nf - 1] = t->s[i++];
	}
	bool shape = i == t->n && ((nf == 3 && seps[0] == ':' && seps[1] == '.') ||
				   (nf == 4 && seps[0] == ':' && seps[1] == ':' && seps[2] == '.'));
	if (!shape) {
		scn_error(c, &t->pos,
			  "expected a requester ID bus:device.function such as 00:04.0, got %s", q);
		return false;
	}
	if (nf == 4)
		seg = f[0];
	bus = f[nf - 3];
	dev = f[nf - 2];
	fn = f[nf - 1];
	if (seg) {
		scn_error(c, &t->pos,
			  "PCI segment %04x in %s is not supported: there is one segment, 0000",
			  seg, q);
		return false;
	}
	if (bus > 0xff || dev > 0x1f || fn > 7) {
		scn_error(c, &t->pos,
			  "%s is out of range: bus is 00 to ff, device 00 to 1f, function 0 to 7",
			  q);
		return false;
	}
	*out = (uint16_t)(bus << 8 | dev << 3 | fn);
	return true;
}

bool scn_val_word(struct scn_ctx *c, const struct scn_text *t, const struct scn_word *words,
		  const char *what, int *out)
{
	char q[80], list[200];
	const char *s;

	if (!t->quoted)
		for (const struct scn_word *w = words; w->word; w++)
			if (strlen(w->word) == t->n && !strncasecmp(t->s, w->word, t->n)) {
				*out = w->value;
				return true;
			}
	scn_quote(t->s, t->n, q, sizeof(q));
	scn_word_list(words, list, sizeof(list));
	s = scn_diags_full(c) ? NULL : suggest_word(t->s, words);
	if (s)
		scn_error(c, &t->pos, "expected %s for %s, got %s; did you mean '%s'?", list, what,
			  q, s);
	else
		scn_error(c, &t->pos, "expected %s for %s, got %s", list, what, q);
	return false;
}

bool scn_val_name(struct scn_ctx *c, const struct scn_text *t, const char *what)
{
	char q[80];
	bool ok = t->n > 0 && t->n <= SCENARIO_MAX_NAME;

	for (size_t i = 0; ok && i < t->n; i++) {
		char ch = t->s[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		     (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
	}
	if (!ok) {
		if (t->n > SCENARIO_MAX_NAME)
			scn_error(c, &t->pos, "%s name is longer than %d characters", what,
				  SCENARIO_MAX_NAME);
		else
			scn_error(c, &t->pos,
				  "expected a %s name (letters, digits, '_', '-', '.'), got %s",
				  what, scn_quote(t->s, t->n, q, sizeof(q)));
	}
	return ok;
}

/* ---- formatting ------------------------------------------------------------------------- */

const char *scn_fmt_size(uint64_t v, char *out, size_t outsz)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && v && (v & 1023) == 0) {
		v >>= 10;
		u++;
	}
	if (u < 0)
		snprintf(out, outsz, "%" PRIu64, v);
	else
		snprintf(out, outsz, "%" PRIu64 "%c", v, units[u]);
	return out;
}

const char *scn_fmt_duration(uint64_t ns, char *out, size_t outsz)
{
	if (ns == 0)
		snprintf(out, outsz, "0");
	else if (ns % 1000000000 == 0)
		snprintf(out, outsz, "%" PRIu64 "s", ns / 1000000000);
	else if (ns % 1000000 == 0)
		snprintf(out, outsz, "%" PRIu64 "ms", ns / 1000000);
	else if (ns % 1000 == 0)
		snprintf(out, outsz, "%" PRIu64 "us", ns / 1000);
	else
		snprintf(out, outsz, "%" PRIu64 "ns", ns);
	return out;
}

const char *scn_fmt_percent(uint64_t bp, char *out, size_t outsz)
{
	if (bp % 100 == 0)
		snprintf(out, outsz, "%" PRIu64 "%%", bp / 100);
	else if (bp % 10 == 0)
		snprintf(out, outsz, "%" PRIu64 ".%" PRIu64 "%%", bp / 100, bp % 100 / 10);
	else
		snprintf(out, outsz, "%" PRIu64 ".%02" PRIu64 "%%", bp / 100, bp % 100);
	return out;
}

const char *scn_fmt_rid(uint16_t rid, char *out, size_t outsz)
{
	snprintf(out, outsz, "%02x:%02x.%x", rid >> 8, (rid >> 3) & 0x1f, rid & 7);
	return out;
}

/* ---- fault reasons (digest §4.3) -------------------------------------------------------- */

static const struct {
	const char *name;
	uint16_t code;
} fault_reasons[] = {
    /* legacy mode */
    {"LRT.2", 0x01},
    {"LCT.2", 0x02},
    {"LCT.4", 0x03},
    {"LGN.1", 0x04},
    {"LGN.2", 0x05},
    {"LGN.3", 0x06},
    {"LSL.1", 0x07},
    {"LRT.1", 0x08},
    {"LCT.1", 0x09},
    {"LRT.3", 0x0a},
    {"LCT.3", 0x0b},
    {"LSL.2", 0x0c},
    {"LCT.5", 0x0d},
    {"LGN.4", 0x0e},
    /* scalable mode */
    {"RTA.1", 0x30},
    {"RTA.2", 0x31},
    {"RTA.3", 0x32},
    {"RTA.4", 0x33},
    {"SRT.1", 0x38},
    {"SRT.2", 0x39},
    {"SRT.3", 0x3a},
    {"SCT.1", 0x40},
    {"SCT.2", 0x41},
    {"SCT.3", 0x42},
    {"SCT.4", 0x43},
    {"SCT.5", 0x44},
    {"SCT.6", 0x45},
    {"SCT.7", 0x46},
    {"SCT.8", 0x47},
    {"SCT.9", 0x48},
    {"SPD.1", 0x50},
    {"SPD.2", 0x51},
    {"SPD.3", 0x52},
    {"SPT.1", 0x58},
    {"SPT.2", 0x59},
    {"SPT.3", 0x5a},
    {"SPT.4", 0x5b},
    {"SPT.5", 0x5c},
    {"SPT.6", 0x5d},
    {"SFL.1", 0x70},
    {"SFL.2", 0x71},
    {"SFL.3", 0x72},
    {"SFL.4", 0x73},
    {"SFL.5", 0x74},
    {"SFL.6", 0x75},
    {"SFL.7", 0x76},
    {"SFL.8", 0x77},
    {"SSL.1", 0x78},
    {"SSL.2", 0x79},
    {"SSL.3", 0x7a},
    {"SSL.4", 0x7b},
    {"SSL.5", 0x7c},
    {"SSL.6", 0x7d},
    {"SGN.1", 0x80},
    {"SGN.2", 0x81},
    {"SGN.3", 0x82},
    {"SGN.4", 0x83},
    {"SGN.5", 0x84},
    {"SGN.6", 0x85},
    {"SGN.7", 0x86},
    {"SGN.8", 0x87},
    {"SGN.9", 0x88},
    {"SGN.10", 0x89},
    {"SFL.9", 0x90},
    {"SFL.10", 0x91},
};

#define N_FAULT_REASONS (sizeof(fault_reasons) / sizeof(fault_reasons[0]))

uint16_t scenario_fault_reason_code(const char *name)
{
	size_t n = strlen(name);

	if (n > 2 && !strcasecmp(name + n - 2, ".x"))
		n -= 2;
	for (size_t i = 0; i < N_FAULT_REASONS; i++)
		if (strlen(fault_reasons[i].name) == n &&
		    !strncasecmp(name, fault_reasons[i].name, n))
			return fault_reasons[i].code;
	return 0;
}

const char *scenario_fault_reason_name(uint16_t code)
{
	for (size_t i = 0; i < N_FAULT_REASONS; i++)
		if (fault_reasons[i].code == code)
			return fault_reasons[i].name;
	return NULL;
}

/* Suggest a reason name for a typo ("SPT2" -> "SPT.2"). */
const char *scn_suggest_fault_reason(const char *s)
{
	const char *cands[N_FAULT_REASONS];

	for (size_t i = 0; i < N_FAULT_REASONS; i++)
		cands[i] = fault_reasons[i].name;
	return scn_suggest(s, cands, N_FAULT_REASONS);
}
