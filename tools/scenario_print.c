// SPDX-License-Identifier: MIT
/*
 * Scenario output: the normal form (every key written out, in a fixed order, so two
 * scenarios diff cleanly and a reader sees every default) and the diagnostics, printed the
 * way compilers print them so editors can jump to file:line:column.
 */
#include "scenario_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

const char *scenario_dev_type_name(enum scenario_dev_type t)
{
	return scn_word_name(scn_words_dev_type, (int)t);
}

const char *scenario_op_name(enum scenario_op op)
{
	const char *n = scn_word_name(scn_words_ops_dsa, (int)op);

	if (!strcmp(n, "?"))
		n = scn_word_name(scn_words_ops_nic, (int)op);
	if (!strcmp(n, "?"))
		n = scn_word_name(scn_words_ops_storage, (int)op);
	return n;
}

const char *scenario_metric_name(enum scenario_metric m)
{
	return scn_word_name(scn_words_metric, (int)m);
}

/* ---- expectations -------------------------------------------------------------------------- */

static void add(char *out, size_t outsz, const char *fmt, const char *a, const char *b)
{
	size_t n = strlen(out);

	if (n < outsz)
		snprintf(out + n, outsz - n, fmt, a, b);
}

void scn_format_expect(const struct scenario *s, const struct scenario_expect *e, char *out,
		       size_t outsz)
{
	char sels[160] = "", v[32];
	const char *sep = "";

#define SEL(name, val)                                                                             \
	do {                                                                                       \
		add(sels, sizeof(sels), "%s" name "=%s", sep, val);                                \
		sep = ", ";                                                                        \
	} while (0)
	if (e->device >= 0)
		SEL("device", s->devices[e->device].name);
	if (e->workload >= 0)
		SEL("workload", s->workloads[e->workload].name);
	if (e->pasid_sel == SCENARIO_PSEL_NONE)
		SEL("pasid", "none");
	if (e->pasid_sel == SCENARIO_PSEL_KERNEL)
		SEL("pasid", "kernel");
	if (e->pasid_sel == SCENARIO_PSEL_VALUE) {
		snprintf(v, sizeof(v), "%" PRIu32, e->pasid);
		SEL("pasid", v);
	}
	if (e->reason) {
		const char *n = scenario_fault_reason_name(e->reason);

		snprintf(v, sizeof(v), "0x%02x", e->reason);
		SEL("reason", n ? n : v);
	}
	if (e->cache != SCENARIO_CACHE_ANY)
		SEL("cache", scn_word_name(scn_words_cache, (int)e->cache));
	if (e->inv_type != SCENARIO_IT_ANY)
		SEL("type", scn_word_name(scn_words_inv_type, (int)e->inv_type));
	if (e->inv_gran != SCENARIO_IG_ANY)
		SEL("granularity", scn_word_name(scn_words_inv_gran, (int)e->inv_gran));
#undef SEL
	if (e->metric == SCENARIO_M_HIT_RATE)
		scn_fmt_percent(e->value, v, sizeof(v));
	else if (e->metric == SCENARIO_M_DMA_BYTES)
		scn_fmt_size(e->value, v, sizeof(v));
	else
		snprintf(v, sizeof(v), "%" PRIu64, e->value);
	snprintf(out, outsz, "%s%s%s%s %s %s", scenario_metric_name(e->metric), sels[0] ? "(" : "",
		 sels, sels[0] ? ")" : "", scn_word_name(scn_words_cmp, (int)e->cmp), v);
}

/* ---- the normal form ----------------------------------------------------------------------- */

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static void put_string(FILE *f, const char *key, const char *s)
{
	fprintf(f, "%s = \"", key);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '\t')
			fputs("\\t", f);
		else
			fputc(*s, f);
	}
	fputs("\"\n", f);
}

static void put_mask(FILE *f, const char *key, uint32_t mask, const struct scn_word *words)
{
	const char *sep = "";

	fprintf(f, "%s = ", key);
	if (!mask)
		fputs(scn_word_name(words, 0), f);
	for (const struct scn_word *w = words; w->word; w++)
		if (w->value && (mask & (uint32_t)w->value)) {
			fprintf(f, "%s%s", sep, w->word);
			sep = ", ";
		}
	fputc('\n', f);
}

static void print_scenario(const struct scenario *s, FILE *f)
{
	char b[32];

	fputs("[scenario]\n", f);
	put_string(f, "name", s->name);
	put_string(f, "description", s->description);
	fprintf(f, "seed = %" PRIu64 "\n", s->seed);
	fprintf(f, "memory = %s\n", scn_fmt_size(s->memory, b, sizeof(b)));
	fprintf(f, "timeout = %s\n", scn_fmt_duration(s->timeout_ns, b, sizeof(b)));
}

static void print_cache(FILE *f, const char *name, const struct scenario_cache *c)
{
	fprintf(f, "%s_entries = %" PRIu32 "\n%s_ways = %" PRIu32 "\n", name, c->entries, name,
		c->ways);
}

static void print_iommu(const struct scenario_iommu *io, FILE *f)
{
	static const struct scn_word sagaw[] = {{"", 0},
						{"39", SCENARIO_SAGAW_39},
						{"48", SCENARIO_SAGAW_48},
						{"57", SCENARIO_SAGAW_57},
						{0}};
	static const struct scn_word large[] = {
	    {"none", 0}, {"2M", SCENARIO_LARGE_2M}, {"1G", SCENARIO_LARGE_1G}, {0}};

	fprintf(f, "\n[iommu]\nmode = %s\n", scn_word_name(scn_words_mode, (int)io->mode));
	fprintf(f, "first_stage = %s\nsecond_stage = %s\nnested = %s\npass_through = %s\n",
		yes_no(io->first_stage), yes_no(io->second_stage), yes_no(io->nested),
		yes_no(io->pass_through));
	fprintf(f, "five_level = %s\ncaching_mode = %s\ndevice_tlb = %s\nchecker = %s\n",
		yes_no(io->five_level), yes_no(io->caching_mode), yes_no(io->device_tlb),
		yes_no(io->checker));
	fprintf(f, "mgaw = %u\nhaw = %u\n", io->mgaw, io->haw);
	put_mask(f, "sagaw", io->sagaw, sagaw);
	fprintf(f, "pasid_bits = %u\n", io->pasid_bits);
	put_mask(f, "large_pages", io->large_pages, large);
	fprintf(f, "fault_records = %u\ninv_queue_pages = %u\n", io->fault_records,
		io->inv_queue_pages);
	print_cache(f, "context_cache", &io->context_cache);
	print_cache(f, "pasid_cache", &io->pasid_cache);
	print_cache(f, "iotlb", &io->iotlb);
	print_cache(f, "pwc", &io->pwc);
}

static void print_dma(const struct scenario_dma *d, const char *name, FILE *f)
{
	char b[32];

	fprintf(f, "\n[dma%s%s]\n", name ? " " : "", name ? name : "");
	fprintf(f, "default_domain = %s\n",
		scn_word_name(scn_words_domain, (int)d->default_domain));
	fprintf(f, "page_table = %s\n", scn_word_name(scn_words_page_table, (int)d->page_table));
	fprintf(f, "invalidation = %s\n",
		scn_word_name(scn_words_invalidation, (int)d->invalidation));
	fprintf(f, "flush_queue_size = %" PRIu32 "\n", d->flush_queue_size);
	fprintf(f, "flush_timeout = %s\n", scn_fmt_duration(d->flush_timeout_ns, b, sizeof(b)));
	fprintf(f, "kernel_pasid = %s\n",
		scn_word_name(scn_words_kernel_pasid, (int)d->kernel_pasid));
	fprintf(f, "debug = %s\n", yes_no(d->debug));
	put_mask(f, "skip_invalidation", d->skip_invalidation, scn_words_skip);
}

static void print_device(const struct scenario_device *d, FILE *f)
{
	char b[16];

	fprintf(f, "\n[device %s]\ntype = %s\nrid = %s\n", d->name, scenario_dev_type_name(d->type),
		scn_fmt_rid(d->rid, b, sizeof(b)));
	fprintf(f, "pasid_bits = %u\nats = %s\n", d->pasid_bits, yes_no(d->ats));
	if (d->ats)
		fprintf(f, "devtlb_entries = %" PRIu32 "\n", d->devtlb_entries);
	if (d->type == SCENARIO_DEV_DSA)
		fprintf(f, "work_queues = %" PRIu32 "\nwq_size = %" PRIu32 "\n", d->work_queues,
			d->wq_size);
	if (d->type == SCENARIO_DEV_NIC)
		fprintf(f, "rx_ring = %" PRIu32 "\ntx_ring = %" PRIu32 "\n", d->rx_ring,
			d->tx_ring);
	if (d->type == SCENARIO_DEV_STORAGE)
		fprintf(f, "queue_depth = %" PRIu32 "\nmax_segments = %" PRIu32 "\n",
			d->queue_depth, d->max_segments);
	print_dma(&d->dma, d->name, f);
}

static void print_workload(const struct scenario *s, const struct scenario_workload *w, FILE *f)
{
	const struct scenario_device *d = &s->devices[w->device];
	char a[32], b[32];

	fprintf(f, "\n[workload %s]\ndevice = %s\nop = %s\n", w->name, d->name,
		scenario_op_name(w->op));
	if (d->type == SCENARIO_DEV_DSA)
		fprintf(f, "pasid = %s\n", scn_word_name(scn_words_wl_pasid, (int)w->pasid));
	if (w->size.min == w->size.max)
		fprintf(f, "size = %s\n", scn_fmt_size(w->size.min, a, sizeof(a)));
	else
		fprintf(f, "size = %s..%s\n", scn_fmt_size(w->size.min, a, sizeof(a)),
			scn_fmt_size(w->size.max, b, sizeof(b)));
	if (d->type == SCENARIO_DEV_STORAGE)
		fprintf(f, "segments = %" PRIu32 "\n", w->segments);
	fprintf(f, "count = %" PRIu64 "\nthreads = %" PRIu32 "\npage_size = %s\n", w->count,
		w->threads, scn_fmt_size(w->page_size, a, sizeof(a)));
	fprintf(f, "map = %s\nverify = %s\nseed = %" PRIu64 "\n",
		scn_word_name(scn_words_map, (int)w->map), yes_no(w->verify), w->seed);
}

static void put_refs(FILE *f, const char *key, const unsigned *v, size_t n,
		     const char *const *names, size_t stride)
{
	if (!n)
		return;
	fprintf(f, "%s = ", key);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ", " : "",
			*(const char *const *)((const char *)names + v[i] * stride));
	fputc('\n', f);
}

static void print_phase(const struct scenario *s, const struct scenario_phase *p, FILE *f)
{
	char b[32];

	if (p->implicit) {
		fputs(
		    "\n# No [phase] sections: one phase, \"main\", runs every workload at once.\n",
		    f);
		return;
	}
	fprintf(f, "\n[phase %s]\n", p->name);
	if (p->has_skip_invalidation)
		put_mask(f, "skip_invalidation", p->skip_invalidation, scn_words_skip);
	put_refs(f, "disable_pasid", p->disable_pasid, p->n_disable_pasid, &s->devices[0].name,
		 sizeof(s->devices[0]));
	put_refs(f, "enable_pasid", p->enable_pasid, p->n_enable_pasid, &s->devices[0].name,
		 sizeof(s->devices[0]));
	put_refs(f, "run", p->run, p->n_run, &s->workloads[0].name, sizeof(s->workloads[0]));
	if (p->wait_ns)
		fprintf(f, "wait = %s\n", scn_fmt_duration(p->wait_ns, b, sizeof(b)));
}

static void print_expects(const struct scenario *s, FILE *f)
{
	for (int p = -1; p < (int)s->n_phases; p++) {
		bool header = false;

		for (size_t i = 0; i < s->n_expects; i++) {
			if (s->expects[i].phase != p)
				continue;
			if (!header && p < 0)
				fputs("\n[expect]\n", f);
			else if (!header)
				fprintf(f, "\n[expect %s]\n", s->phases[p].name);
			header = true;
			fprintf(f, "%s\n", s->expects[i].text ? s->expects[i].text : "");
		}
	}
}

int scenario_print(const struct scenario *s, FILE *f)
{
	fprintf(f, "# %s in normal form\n", s->file);
	print_scenario(s, f);
	print_iommu(&s->iommu, f);
	print_dma(&s->dma, NULL, f);
	for (size_t i = 0; i < s->n_devices; i++)
		print_device(&s->devices[i], f);
	for (size_t i = 0; i < s->n_workloads; i++)
		print_workload(s, &s->workloads[i], f);
	for (size_t i = 0; i < s->n_phases; i++)
		print_phase(s, &s->phases[i], f);
	print_expects(s, f);
	return fflush(f) || ferror(f) ? -EIO : 0;
}

/* ---- diagnostics --------------------------------------------------------------------------- */

static void print_excerpt(const struct scenario_diag *g, FILE *f)
{
	size_t n = strlen(g->excerpt), col = g->col ? g->col - 1 : 0;

	if (!g->line || !n)
		return;
	/* A window of a long line: "..." stands for what it leaves out. */
	col = col >= g->excerpt_skip ? col - g->excerpt_skip : 0;
	fprintf(f, "%5u | %s", g->line, g->excerpt_skip ? "..." : "");
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)g->excerpt[i];
		fputc(ch == '\t' || (ch >= 0x20 && ch < 0x7f) ? ch : '?', f);
	}
	fprintf(f, "\n      | %s", g->excerpt_skip ? "   " : "");
	if (col > n)
		col = n;
	for (size_t i = 0; i < col; i++) /* keep tabs so the caret lines up */
		fputc(g->excerpt[i] == '\t' ? '\t' : ' ', f);
	fputc('^', f);
	for (size_t i = 1; i < g->len && col + i < n; i++)
		fputc('~', f);
	fputc('\n', f);
}

void scenario_diags_print(const struct scenario_diags *d, FILE *f)
{
	const char *file;

	if (!d)
		return;
	file = d->file ? d->file : "<string>";
	for (size_t i = 0; i < d->count; i++) {
		const struct scenario_diag *g = &d->list[i];
		const char *sev = g->severity == SCENARIO_ERROR ? "error" : "warning";

		if (g->line)
			fprintf(f, "%s:%u:%u: %s: %s\n", file, g->line, g->col, sev, g->message);
		else
			fprintf(f, "%s: %s: %s\n", file, sev, g->message);
		print_excerpt(g, f);
		if (g->note[0] && g->note_line)
			fprintf(f, "%s:%u:%u: note: %s\n", file, g->note_line, g->note_col,
				g->note);
		else if (g->note[0])
			fprintf(f, "%s: note: %s\n", file, g->note);
	}
	if (d->dropped)
		fprintf(f, "%s: %zu more error%s not shown (the limit is %zu)\n", file, d->dropped,
			d->dropped == 1 ? "" : "s",
			d->max ? d->max : (size_t)SCENARIO_DEFAULT_MAX_DIAGS);
}
