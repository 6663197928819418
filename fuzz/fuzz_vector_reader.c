// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the conformance-vector reader (tools/vector_reader.h) on arbitrary bytes.
 *
 * The input is the text of a vector file. Whatever it holds, vec_parse() must end in a
 * statement list or one positioned error - never a crash, a read past the buffer (the
 * input is not NUL-terminated), a leak, or a long run. Checked besides:
 *   - the return value is one of the documented ones;
 *   - an error has a message, NUL-terminated, at a line that exists in the input;
 *   - a statement list is well formed: positions inside the input, widths, counts and
 *     enum values in their ranges, every value array readable (ASan checks each load).
 */
#include "fuzz.h"

#include "vector_reader.h"

#include <errno.h>
#include <string.h>

static unsigned count_lines(const uint8_t *data, size_t size)
{
	unsigned lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	return lines;
}

static void check_stmt(const struct vec_stmt *s, unsigned lines)
{
	char perm[8];

	FZ_ASSERT(s->line >= 1 && s->line <= lines, "line %u of %u", s->line, lines);
	FZ_ASSERT(s->col >= 1, "col %u", s->col);
	switch (s->kind) {
	case VEC_MODEL:
		FZ_ASSERT(memchr(s->u.model.name, 0, VEC_NAME_MAX), "model name unterminated");
		break;
	case VEC_CONFIG:
		FZ_ASSERT(memchr(s->u.config.name, 0, VEC_NAME_MAX), "config name unterminated");
		break;
	case VEC_MEM_WRITE: {
		uint64_t sum = 0;

		FZ_ASSERT(s->u.write.width == 4 || s->u.write.width == 8, "width %u",
			  s->u.write.width);
		FZ_ASSERT(s->u.write.count >= 1 && s->u.write.count <= VEC_VALUES_MAX, "count %zu",
			  s->u.write.count);
		for (size_t i = 0; i < s->u.write.count; i++)
			sum += s->u.write.values[i];
		(void)sum;
		break;
	}
	case VEC_MEM_FILL:
		break;
	case VEC_MEM_LOAD:
		FZ_ASSERT(s->u.load.path != NULL, "load without a path");
		(void)strlen(s->u.load.path);
		break;
	case VEC_MEM_READ:
	case VEC_MMIO_WRITE:
	case VEC_MMIO_READ:
		FZ_ASSERT(s->u.access.width == 4 || s->u.access.width == 8, "width %u",
			  s->u.access.width);
		FZ_ASSERT(s->u.access.base <= VEC_BASE_IOTLB, "base %d", (int)s->u.access.base);
		break;
	case VEC_TRANSLATE: {
		const struct vec_translate *t = &s->u.translate;

		FZ_ASSERT(t->at <= VEC_AT_TRANSLATED, "at %u", t->at);
		FZ_ASSERT(t->pasid <= 0xfffff, "pasid %#x", t->pasid);
		if (t->expect.reason.set && t->expect.reason.value <= 0xff)
			(void)vec_reason_name((unsigned)t->expect.reason.value);
		if (t->expect.perm.set)
			vec_format_perm(t->expect.perm.value, perm);
		break;
	}
	case VEC_FSTS:
	case VEC_FRCD:
		FZ_ASSERT(s->u.fields.count <= VEC_FIELDS_MAX, "%u fields", s->u.fields.count);
		for (unsigned i = 0; i < s->u.fields.count; i++)
			FZ_ASSERT(vec_field_name(s->u.fields.f[i].field) != NULL, "field %d",
				  (int)s->u.fields.f[i].field);
		break;
	case VEC_EVENTS:
	case VEC_IQ_SUBMIT:
	case VEC_IQ_ENABLE:
	case VEC_IQERCD:
		break;
	case VEC_IQ:
		FZ_ASSERT(s->u.iq.nq == 2 || s->u.iq.nq == 4, "nq %u", s->u.iq.nq);
		(void)vec_iq_name(s->u.iq.type);
		break;
	case VEC_ATS_CONNECT:
	case VEC_ATS_STATE:
		(void)vec_ats_mode_name(s->u.ats.mode);
		break;
	case VEC_ATS_ENTRY:
		break;
	case VEC_ATS_STATS:
	case VEC_STATS:
		FZ_ASSERT(s->u.counters.count <= VEC_FIELDS_MAX, "%u counters",
			  s->u.counters.count);
		for (unsigned i = 0; i < s->u.counters.count; i++)
			FZ_ASSERT(memchr(s->u.counters.c[i].name, 0, VEC_COUNTER_MAX),
				  "counter name unterminated");
		break;
	case VEC_DMA:
		FZ_ASSERT(s->u.dma.len >= 1 && s->u.dma.len <= VEC_DMA_MAX, "len %llu",
			  (unsigned long long)s->u.dma.len);
		FZ_ASSERT(!s->u.dma.error || vec_errno_name(s->u.dma.error), "errno %d",
			  s->u.dma.error);
		break;
	case VEC_CHECK:
		if (s->u.check.cache.set)
			(void)vec_cache_name((enum vec_cache)s->u.check.cache.value);
		if (s->u.check.missing.set)
			(void)vec_missing_name((enum vec_missing)s->u.check.missing.value);
		break;
	default:
		FZ_ASSERT(0, "statement kind %d", (int)s->kind);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vec_file *f = NULL;
	struct vec_error err;
	unsigned lines = count_lines(data, size);
	int r;

	memset(&err, 0x5a, sizeof(err)); /* the reader must set what it reports */
	r = vec_parse("fuzz.vec", (const char *)data, size, &f, &err);
	FZ_ASSERT(r == 0 || r == -EINVAL || r == -ENOMEM || r == -EFBIG, "returned %d", r);
	if (r) {
		FZ_ASSERT(f == NULL, "a file returned with error %d", r);
		FZ_ASSERT(memchr(err.msg, 0, sizeof(err.msg)) && err.msg[0], "no message");
		if (r == -EINVAL)
			FZ_ASSERT(err.line >= 1 && err.line <= lines, "error at line %u of %u: %s",
				  err.line, lines, err.msg);
		return 0;
	}
	FZ_ASSERT(f != NULL, "success without a file");
	FZ_ASSERT(f->count <= f->cap, "count %zu cap %zu", f->count, f->cap);
	for (size_t i = 0; i < f->count; i++)
		check_stmt(&f->stmts[i], lines);
	vec_file_free(f);
	return 0;
}
