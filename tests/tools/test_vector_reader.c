// SPDX-License-Identifier: MIT
/*
 * The conformance-vector reader: good files give the statements and values the format
 * (docs/vectors.md) defines; every kind of bad input gives an error at the right line and
 * column with a message saying what was expected, and never a crash (ASan/UBSan run this).
 */
#include "check.h"

#include "vector_reader.c"

#include <unistd.h>

static struct vec_file *parse_ok(const char *text)
{
	struct vec_error err;
	struct vec_file *f = NULL;
	int ret = vec_parse("t.vec", text, strlen(text), &f, &err);

	if (ret)
		fprintf(stderr, "unexpected error %d at %u:%u: %s\n", ret, err.line, err.col,
			err.msg);
	return ret ? NULL : f;
}

/* Parse `text`, which must fail at line:col with a message containing `what`. */
static int parse_bad(const char *text, size_t len, unsigned line, unsigned col, const char *what)
{
	struct vec_error err;
	struct vec_file *f = (struct vec_file *)1;
	int ret = vec_parse("t.vec", text, len, &f, &err);

	if (ret != -EINVAL || f != NULL || err.line != line || err.col != col ||
	    !strstr(err.msg, what)) {
		fprintf(stderr, "input %.60s\n  gave %d at %u:%u: %s\n  wanted %u:%u: ...%s...\n",
			text, ret, err.line, err.col, err.msg, line, col, what);
		vec_file_free(f == (struct vec_file *)1 ? NULL : f);
		return -1;
	}
	return 0;
}

#define BAD(text, line, col, what) CHECK(!parse_bad(text, strlen(text), line, col, what))

static void test_expressions(void)
{
	struct vec_file *f = parse_ok("let A = 1 + 2 * 3\n"
				      "let B=(A << 12) | 3\n"
				      "let C = 0x1_000 + 4K + 2M + 1G + 0b101\n"
				      "let D = ~0 & 0xff ^ 0x0f\n"
				      "let E = 100 / 7 % 5 - 4 >> 1\n"
				      "mem write64 A B C D E GSTS FSTS\n");
	struct vec_stmt *s;

	CHECK(f);
	CHECK_EQ(f->count, 1);
	s = &f->stmts[0];
	CHECK_EQ(s->kind, VEC_MEM_WRITE);
	CHECK_EQ(s->line, 6);
	CHECK_EQ(s->u.write.addr, 7);
	CHECK_EQ(s->u.write.width, 8);
	CHECK_EQ(s->u.write.count, 6);
	CHECK_EQ(s->u.write.values[0], 0x7003);
	CHECK_EQ(s->u.write.values[1], 0x1000 + 0x1000 + 0x200000 + 0x40000000 + 5);
	CHECK_EQ(s->u.write.values[2], (~0ull & 0xff) ^ 0x0f);
	CHECK_EQ(s->u.write.values[3], ((100 / 7) % 5 - 4) >> 1);
	CHECK_EQ(s->u.write.values[4], 0x1c);
	CHECK_EQ(s->u.write.values[5], 0x34);
	vec_file_free(f);
}

static void test_statements(void)
{
	struct vec_file *f =
	    parse_ok("# a comment, then a blank line\r\n"
		     "\r\n"
		     "config mgaw 48   # trailing comment \xe2\x86\x92 utf-8 is fine here\n"
		     "config scalable=off\n"
		     "config haw = 39\n"
		     "model second\n"
		     "config memory 1G\n"
		     "mem write32 0x1000 1 2 0xffffffff\n"
		     "mem fill 0x2000 4K 0xab\n"
		     "mem load 0x3000 \"img # not a comment.bin\"\n"
		     "mem read64 0x1000 expect 0x200000001 mask 0xffffffffffff\n"
		     "mmio write32 GCMD 0x40000000\n"
		     "mmio read32 GSTS expect 0x40000000\n"
		     "mmio read64 CAP\n"
		     "mmio write32 FRCD+12 0x80000000\n"
		     "mmio read64 IOTLB expect 0\n"
		     "mmio read64 IVA+0 expect 0\n"
		     "mmio read32 0x2 expect error\n"
		     "mmio write64 0x4 1 expect error\n");
	struct vec_stmt *s;

	CHECK(f);
	CHECK_EQ(f->count, 17);
	s = f->stmts;
	CHECK_EQ(s[0].kind, VEC_CONFIG);
	CHECK(!strcmp(s[0].u.config.name, "mgaw"));
	CHECK_EQ(s[0].u.config.value, 48);
	CHECK_EQ(s[0].line, 3);
	CHECK_EQ(s[0].u.config.value_col, 13);
	CHECK_EQ(s[1].u.config.value, 0);
	CHECK_EQ(s[2].u.config.value, 39);
	CHECK_EQ(s[3].kind, VEC_MODEL);
	CHECK(!strcmp(s[3].u.model.name, "second"));
	CHECK_EQ(s[4].u.config.value, 1ull << 30);
	CHECK_EQ(s[5].kind, VEC_MEM_WRITE);
	CHECK_EQ(s[5].u.write.width, 4);
	CHECK_EQ(s[5].u.write.values[2], 0xffffffff);
	CHECK_EQ(s[6].kind, VEC_MEM_FILL);
	CHECK_EQ(s[6].u.fill.len, 4096);
	CHECK_EQ(s[6].u.fill.byte, 0xab);
	CHECK_EQ(s[7].kind, VEC_MEM_LOAD);
	CHECK(!strcmp(s[7].u.load.path, "img # not a comment.bin"));
	CHECK_EQ(s[8].kind, VEC_MEM_READ);
	CHECK(s[8].u.access.check);
	CHECK_EQ(s[8].u.access.mask, 0xffffffffffffull);
	CHECK_EQ(s[9].kind, VEC_MMIO_WRITE);
	CHECK_EQ(s[9].u.access.addr, 0x18);
	CHECK_EQ(s[10].kind, VEC_MMIO_READ);
	CHECK_EQ(s[10].u.access.mask, 0xffffffff);
	CHECK_EQ(s[10].u.access.value, 0x40000000);
	CHECK(!s[11].u.access.check);
	CHECK_EQ(s[11].u.access.width, 8);
	CHECK_EQ(s[12].u.access.base, VEC_BASE_FRCD);
	CHECK_EQ(s[12].u.access.addr, 12);
	CHECK_EQ(s[13].u.access.base, VEC_BASE_IOTLB);
	CHECK_EQ(s[13].u.access.addr, 0);
	CHECK_EQ(s[14].u.access.base, VEC_BASE_IVA);
	CHECK(!s[14].u.access.error);
	CHECK(s[15].u.access.error && !s[15].u.access.check);
	CHECK_EQ(s[16].kind, VEC_MMIO_WRITE);
	CHECK(s[16].u.access.error);
	vec_file_free(f);
}

static void test_translate(void)
{
	struct vec_file *f = parse_ok(
	    "translate 00:1f.7 r 0x1000 expect ok 0x5000 size=4K perm=rw\n"
	    "translate 0x0108 w 0x2000 pasid=5 priv exec at=tr nw expect fault SCT.6 recorded\n"
	    "translate 1:0.0 rw 0 expect fault 0x5b unrecorded status=ur\n"
	    "translate 2:3.1 read 0 at=translated expect ok perm=- fault=any\n"
	    "translate 2:3.1 write 0 expect fault spt.4.2 suppressed\n"
	    "translate 0 r 0 expect ok fault=SFL.2 recorded perm=rwxpug status=sc\n"
	    "translate 0 r 0 expect ok perm=r/rw\n"
	    "translate 0 r 0 expect ok perm=-/x\n"
	    "translate 0 r 0 expect fault any unrecorded status=ur\n");
	struct vec_translate *t;

	CHECK(f);
	CHECK_EQ(f->count, 9);
	t = &f->stmts[0].u.translate;
	CHECK_EQ(t->sid, 0xff);
	CHECK(t->read && !t->write && !t->has_pasid);
	CHECK_EQ(t->at, VEC_AT_UNTRANSLATED);
	CHECK(!t->expect.fault);
	CHECK(t->expect.addr.set);
	CHECK_EQ(t->expect.addr.value, 0x5000);
	CHECK_EQ(t->expect.size.value, 4096);
	CHECK_EQ(t->expect.perm.value, VEC_PERM_R | VEC_PERM_W);
	CHECK(!t->expect.reason.set && !t->expect.recorded.set);
	t = &f->stmts[1].u.translate;
	CHECK_EQ(t->sid, 0x108);
	CHECK(t->write && !t->read && t->has_pasid && t->priv && t->exec && t->nw);
	CHECK_EQ(t->pasid, 5);
	CHECK_EQ(t->at, VEC_AT_TRANSLATION);
	CHECK(t->expect.fault);
	CHECK_EQ(t->expect.reason.value, 0x45);
	CHECK_EQ(t->expect.recorded.value, 1);
	t = &f->stmts[2].u.translate;
	CHECK_EQ(t->sid, 0x100);
	CHECK(t->read && t->write);
	CHECK_EQ(t->expect.reason.value, 0x5b);
	CHECK_EQ(t->expect.recorded.value, 0);
	CHECK_EQ(t->expect.status.value, VEC_STATUS_UR);
	t = &f->stmts[3].u.translate;
	CHECK_EQ(t->at, VEC_AT_TRANSLATED);
	CHECK(!t->expect.addr.set);
	CHECK(t->expect.perm.set);
	CHECK_EQ(t->expect.perm.value, 0);
	CHECK(t->expect.reason_any);
	t = &f->stmts[4].u.translate;
	CHECK_EQ(t->expect.reason.value, 0x5b);
	CHECK(t->expect.recorded.set);
	CHECK_EQ(t->expect.recorded.value, 0);
	t = &f->stmts[5].u.translate;
	CHECK_EQ(t->expect.reason.value, 0x71);
	CHECK_EQ(t->expect.perm.value, 0x3f);
	CHECK_EQ(t->expect.status.value, VEC_STATUS_SC);
	CHECK_EQ(t->expect.perm_mask, 0x3f);
	t = &f->stmts[6].u.translate;
	CHECK_EQ(t->expect.perm.value, VEC_PERM_R);
	CHECK_EQ(t->expect.perm_mask, VEC_PERM_R | VEC_PERM_W);
	t = &f->stmts[7].u.translate;
	CHECK_EQ(t->expect.perm.value, 0);
	CHECK_EQ(t->expect.perm_mask, VEC_PERM_X);
	t = &f->stmts[8].u.translate;
	CHECK(t->expect.fault && t->expect.reason_any && !t->expect.reason.set);
	CHECK_EQ(t->expect.recorded.value, 0);
	vec_file_free(f);
}

static void test_register_checks(void)
{
	struct vec_file *f =
	    parse_ok("fsts expect ppf=1 pfo=0 fri=7 iqe=0 ice=0 ite=0 afo=0 apf=0\n"
		     "frcd 3 expect f=1 fr=LGN.2 sid=00:02.0 fi=0x7000 pp=1 pv=9 "
		     "at=ut type=read priv=1 exe=0\n"
		     "frcd 0 expect t1=0 t2=1 at=2 fr=0x0e\n"
		     "events expect fault=2\n"
		     "events expect fault=3 addr=0xfee00000 data=0x41\n");
	struct vec_stmt *s;

	CHECK(f);
	CHECK_EQ(f->count, 5);
	s = f->stmts;
	CHECK_EQ(s[0].kind, VEC_FSTS);
	CHECK_EQ(s[0].u.fields.count, 8);
	CHECK_EQ(s[0].u.fields.f[2].field, VEC_F_FRI);
	CHECK_EQ(s[0].u.fields.f[2].value, 7);
	CHECK_EQ(s[1].kind, VEC_FRCD);
	CHECK_EQ(s[1].u.fields.index, 3);
	CHECK_EQ(s[1].u.fields.count, 11); /* type= is two checks */
	CHECK_EQ(s[1].u.fields.f[1].value, 0x05);
	CHECK_EQ(s[1].u.fields.f[2].value, 0x10);
	CHECK_EQ(s[1].u.fields.f[6].field, VEC_F_AT);
	CHECK_EQ(s[1].u.fields.f[6].value, 0);
	CHECK_EQ(s[1].u.fields.f[7].field, VEC_F_T1);
	CHECK_EQ(s[1].u.fields.f[7].value, 1);
	CHECK_EQ(s[1].u.fields.f[8].field, VEC_F_T2);
	CHECK_EQ(s[1].u.fields.f[8].value, 0);
	CHECK_EQ(s[2].u.fields.f[2].value, 2);
	CHECK_EQ(s[3].kind, VEC_EVENTS);
	CHECK_EQ(s[3].u.events.fault, 2);
	CHECK(!s[3].u.events.data.set && !s[3].u.events.addr.set);
	CHECK_EQ(s[4].u.events.fault, 3);
	CHECK(s[4].u.events.data.set && s[4].u.events.addr.set);
	CHECK_EQ(s[4].u.events.data.value, 0x41);
	CHECK_EQ(s[4].u.events.addr.value, 0xfee00000);
	CHECK(!strcmp(vec_reason_name(0x45), "SCT.6"));
	CHECK(vec_reason_name(0x2f) == NULL);
	CHECK(!strcmp(vec_field_name(VEC_F_FRI), "fri"));
	vec_file_free(f);
}

static void test_names_and_models(void)
{
	/* let names outlive models; redefinition replaces the value */
	struct vec_file *f = parse_ok("let X = 1\nmodel a\nconfig nfr X\nlet X = X + 1\n"
				      "mem fill X 1 0\nmodel\nconfig nfr X\n");
	char buf[8];

	CHECK(f);
	CHECK_EQ(f->count, 5);
	CHECK_EQ(f->stmts[1].u.config.value, 1);
	CHECK_EQ(f->stmts[2].u.fill.addr, 2);
	CHECK_EQ(f->stmts[3].kind, VEC_MODEL);
	CHECK_EQ(f->stmts[3].u.model.name[0], 0);
	CHECK_EQ(f->stmts[4].u.config.value, 2);
	vec_format_perm(VEC_PERM_R | VEC_PERM_X, buf);
	CHECK(!strcmp(buf, "rx"));
	vec_format_perm(0, buf);
	CHECK(!strcmp(buf, "-"));
	vec_file_free(f);
	/* an empty file and a comment-only file are valid and empty */
	f = parse_ok("");
	CHECK(f && f->count == 0);
	vec_file_free(f);
	f = parse_ok("# nothing\n\n   \t\n");
	CHECK(f && f->count == 0);
	vec_file_free(f);
}

static void test_bad_syntax(void)
{
	BAD("frobnicate 1 2\n", 1, 1, "expected a statement");
	BAD("\nmem poke 0 0\n", 2, 5, "expected write32, write64, fill, load");
	BAD("mem write64 0x1000\n", 1, 19, "expected a value, got end of line");
	BAD("mem write64\n", 1, 12, "expected an address, got end of line");
	BAD("mmio write32 GCMD 0 junk\n", 1, 21, "expected end of line, got 'junk'");
	BAD("mmio write32 GCMD 1 | 2\n", 1, 21, "write an expression with spaces in parentheses");
	BAD("mmio read32 GSTS 0x5\n", 1, 18, "expected `expect`");
	BAD("mmio read32 GSTS expect 0x5 mask 0x1\n", 1, 25, "bits outside the mask");
	BAD("mmio read32 GSTS expect 1 maks 1\n", 1, 27, "expected `mask` or end of line");
	BAD("mem read64 0 \n", 1, 13, "expected `expect`, got end of line");
	BAD("mem write64 (1 + 2\n", 1, 13, "missing ')'");
	BAD("mem write64 1+2) 0\n", 1, 16, "expected an operator or the end");
	BAD("mem load 0 \"abc\n", 1, 12, "missing closing '\"'");
	BAD("mem load 0 \"\"\n", 1, 12, "expected a file name");
	BAD("let = 5\n", 1, 5, "expected a name");
	BAD("let X 5\n", 1, 7, "expected '='");
	BAD("let GSTS = 5\n", 1, 5, "built-in name");
	BAD("let FRCD = 5\n", 1, 5, "built-in name");
	BAD("let X =\n", 1, 8, "expected a number, a name or '('");
	BAD("model 9lives\n", 1, 7, "expected a model name");
	BAD("model a b\n", 1, 9, "expected end of line");
	BAD("config\n", 1, 7, "expected a configuration field name");
	BAD("config mgaw\n", 1, 12, "expected a value");
	BAD("config mgaw=\n", 1, 13, "expected a value after '='");
	BAD("mem fill 0 1 0\nconfig mgaw 48\n", 2, 1, "`config` after the model was used");
	BAD("config a-b 1\n", 1, 9, "unexpected '-'");
}

static void test_bad_values(void)
{
	BAD("mem write64 0 0x1_0000_0000_0000_0000\n", 1, 15, "does not fit in 64 bits");
	BAD("mem write64 0 18446744073709551616\n", 1, 15, "does not fit in 64 bits");
	BAD("mem write64 0 16777216T\n", 1, 15, "does not fit in 64 bits");
	BAD("mem write32 0 0x100000000\n", 1, 15, "value 0x100000000 out of range");
	BAD("mem fill 0 1 0x100\n", 1, 14, "byte value 0x100 out of range");
	BAD("mem write64 0 NOPE\n", 1, 15, "unknown name 'NOPE'");
	BAD("mem write64 0 1/0\n", 1, 16, "division by zero");
	BAD("mem write64 0 5%(1-1)\n", 1, 16, "division by zero");
	BAD("mem write64 0 1<<64\n", 1, 16, "does not fit in 64 bits");
	BAD("mem write64 0 3<<63\n", 1, 16, "does not fit in 64 bits");
	BAD("mem write64 0 1>>64\n", 1, 16, "shift count 64");
	BAD("mem write64 0 1-2\n", 1, 16, "negative");
	BAD("mem write64 0 -1\n", 1, 15, "expected a number, a name or '('");
	BAD("mem write64 0 0xffffffffffffffff+1\n", 1, 33, "'+' result does not fit");
	BAD("mem write64 0 0x100000000*0x100000000\n", 1, 26, "'*' result does not fit");
	BAD("mem write64 0 0x\n", 1, 15, "expected digits");
	BAD("mem write64 0 0b102\n", 1, 19, "unexpected '2' in a number");
	BAD("mem write64 0 0x10K\n", 1, 19, "unexpected 'K' in a number");
	BAD("mem write64 0 12abc\n", 1, 17, "unexpected 'a' in a number");
	BAD("mem write64 0xfffffffffffffff8 1 2\n", 1, 13, "wraps around");
	BAD("mem fill 0xffffffffffffffff 2 0\n", 1, 10, "wraps around");
	BAD("mem read64 0xfffffffffffffffc expect 0\n", 1, 12, "wraps around");
	BAD("mmio write32 0x100000000 0\n", 1, 14, "register offset 0x100000000 out of range");
	BAD("mmio write32 FRCD-4 0\n", 1, 18, "expected '+' after FRCD");
	BAD("frcd 256 expect f=0\n", 1, 6, "index 0x100 out of range");
}

static void test_bad_translate(void)
{
	BAD("translate 00:20.0 r 0 expect ok\n", 1, 11, "out of range");
	BAD("translate zz:00.0 r 0 expect ok\n", 1, 11, "expected a source-id bus:dev.fn");
	BAD("translate 00:00.0x r 0 expect ok\n", 1, 11, "expected a source-id bus:dev.fn");
	BAD("translate 0x10000 r 0 expect ok\n", 1, 11, "source-id 0x10000 out of range");
	BAD("translate 0 x 0 expect ok\n", 1, 13, "expected an access: r, w or rw");
	BAD("translate 0 r 0\n", 1, 16, "expected `expect`, got end of line");
	BAD("translate 0 r 0 pasid=0x100000 expect ok\n", 1, 23, "PASID 0x100000 out of range");
	BAD("translate 0 r 0 at=xx expect ok\n", 1, 20, "expected an address type");
	BAD("translate 0 r 0 bogus expect ok\n", 1, 17, "expected pasid=, at=, priv");
	BAD("translate 0 r 0 expect maybe\n", 1, 24, "expected `ok` or `fault`");
	BAD("translate 0 r 0 expect fault\n", 1, 29, "expected a fault reason");
	BAD("translate 0 r 0 expect fault SCT.6\n", 1, 35, "expected `recorded` or `unrecorded`");
	BAD("translate 0 r 0 expect fault SCT.99 recorded\n", 1, 30, "unknown fault reason name");
	BAD("translate 0 r 0 expect fault SCT.6.1 recorded\n", 1, 30, "unknown fault reason");
	BAD("translate 0 r 0 expect fault 0x100 recorded\n", 1, 30, "fault reason 0x100 out of");
	BAD("translate 0 r 0 expect ok size=3K\n", 1, 32, "power of two");
	BAD("translate 0 r 0 expect ok size=2K\n", 1, 32, "power of two");
	BAD("translate 0 r 0 expect ok perm=rq\n", 1, 33, "got 'q'");
	BAD("translate 0 r 0 expect ok perm=\n", 1, 32, "expected permission letters");
	BAD("translate 0 r 0 expect ok perm=rw/r\n", 1, 32, "outside the mask");
	BAD("translate 0 r 0 expect ok perm=rw/\n", 1, 35, "expected permission letters");
	BAD("translate 0 r 0 expect ok perm=r/rz\n", 1, 35, "got 'z'");
	BAD("mmio write32 0 0 expect 1\n", 1, 25, "expected `error` after `expect`");
	BAD("mmio write32 0 0 expect\n", 1, 24, "expected `error` after `expect`");
	BAD("mmio read32 0 expect error 1\n", 1, 28, "expected end of line");
	BAD("translate 0 r 0 expect ok status=ok\n", 1, 34, "expected a completion status");
	BAD("translate 0 r 0 expect ok 0x1000 0x2000\n", 1, 34, "expected size=, perm=");
	BAD("translate 0 r 0 expect ok colour=red\n", 1, 27, "expected size=, perm=");
	BAD("fsts expect\n", 1, 12, "expected a field check");
	BAD("fsts expect fr=1\n", 1, 13, "expected an FSTS field");
	BAD("fsts expect ppf=2\n", 1, 17, "ppf 0x2 out of range");
	BAD("fsts ppf=1\n", 1, 6, "expected `expect`");
	BAD("frcd 0 expect type=maybe\n", 1, 20, "expected a request type");
	BAD("frcd 0 expect ppf=1\n", 1, 15, "expected a fault-record field");
	BAD("frcd 0 expect sid=00:00.8\n", 1, 19, "out of range");
	BAD("frcd 0 expect f\n", 1, 15, "expected a fault-record field check");
	BAD("events expect faults=1\n", 1, 15, "expected fault=N");
	BAD("events expect fault=1 date=2\n", 1, 23, "expected data=, addr=");
	BAD("events expect fault=1 2\n", 1, 23, "expected data=, addr=");
}

static void test_bad_bytes(void)
{
	static const char nul[] = "mem fill 0 1 0\nmem \0fill\n";
	char *big;

	CHECK(!parse_bad(nul, sizeof(nul) - 1, 2, 5, "unexpected byte 0x00"));
	BAD("mem fill 0 1 \x01\n", 1, 14, "unexpected byte 0x01");
	BAD("mem fill 0 1 0\rx\n", 1, 15, "unexpected byte 0x0d");
	BAD("mem fill 0 1 \xc3\xa9\n", 1, 14, "unexpected byte 0xc3");
	/* a line longer than the limit */
	big = malloc(VEC_LINE_MAX + 16);
	CHECK(big);
	memset(big, ' ', VEC_LINE_MAX + 15);
	big[VEC_LINE_MAX + 15] = 0;
	if (parse_bad(big, strlen(big), 1, VEC_LINE_MAX + 1, "line longer than")) {
		free(big);
		CHECK(0);
	}
	/* nesting beyond the limit: an error, not a stack overflow */
	strcpy(big, "let X=");
	memset(big + 6, '(', 2000);
	big[2006] = '1';
	memset(big + 2007, ')', 2000);
	strcpy(big + 4007, "\n");
	if (parse_bad(big, strlen(big), 1, 7 + VEC_DEPTH_MAX, "nested more than")) {
		free(big);
		CHECK(0);
	}
	memset(big, 0, 64);
	strcpy(big, "let X=");
	for (int i = 0; i < 40; i++)
		strcat(big, "~");
	strcat(big, "0\n");
	if (parse_bad(big, strlen(big), 1, 7 + VEC_DEPTH_MAX, "nested more than")) {
		free(big);
		CHECK(0);
	}
	free(big);
}

static void test_files(void)
{
	struct vec_error err;
	struct vec_file *f = (struct vec_file *)1;
	char path[] = "/tmp/softiommu-vec-XXXXXX";
	int fd;

	CHECK_EQ(vec_parse_path("/nonexistent/dir/x.vec", &f, &err), -ENOENT);
	CHECK(f == NULL);
	CHECK(strstr(err.msg, "cannot open"));
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "mem fill 0 1 2\nbad\n", 19), 19);
	close(fd);
	CHECK_EQ(vec_parse_path(path, &f, &err), -EINVAL);
	CHECK_EQ(err.line, 2);
	CHECK_EQ(err.col, 1);
	unlink(path);
	CHECK_EQ(vec_parse("x", "", VEC_FILE_MAX + 1ull, &f, &err), -EFBIG);
}

/* Garbage assembled from the format's own tokens and random bytes: every input must end
 * in a statement list or an error (ASan and UBSan watch for the rest). */
static void test_garbage(void)
{
	static const char *const tokens[] = {
	    "mem",    "mmio",	  "translate", "expect", "ok",	    "fault",  "let",   "model",
	    "config", "fsts",	  "frcd",      "events", "write64", "read32", "fill",  "load",
	    "=",      "(",	  ")",	       "0x",	 "1",	    "~",      "<<",    "+",
	    "FRCD+",  "SCT.6",	  "00:1f.7",   "pasid=", "perm=",   "\"",     "#",     "\n",
	    " ",      "recorded", "4K",	       "*",	 "X",	    "at=t",   "size=", "mask"};
	uint64_t seed = 0x5eed;
	char buf[512];

	for (int iter = 0; iter < 20000; iter++) {
		size_t len = 0;
		unsigned n = (unsigned)(check_rand(&seed) % 40);

		for (unsigned i = 0; i < n && len < sizeof(buf) - 16; i++) {
			uint64_t r = check_rand(&seed);

			if (r % 5 == 0) {
				buf[len++] = (char)(r >> 8);
			} else {
				const char *t =
				    tokens[(r >> 8) % (sizeof(tokens) / sizeof(*tokens))];
				size_t tl = strlen(t);

				memcpy(buf + len, t, tl);
				len += tl;
				buf[len++] = (r >> 20) & 1 ? ' ' : '\t';
			}
		}
		struct vec_error err;
		struct vec_file *f;
		int ret = vec_parse("g", buf, len, &f, &err);

		CHECK(ret == 0 || ret == -EINVAL);
		CHECK(ret == 0 ? f != NULL : (f == NULL && err.line >= 1 && err.col >= 1));
		vec_file_free(f);
	}
}

int main(void)
{
	RUN(test_expressions);
	RUN(test_statements);
	RUN(test_translate);
	RUN(test_register_checks);
	RUN(test_names_and_models);
	RUN(test_bad_syntax);
	RUN(test_bad_values);
	RUN(test_bad_translate);
	RUN(test_bad_bytes);
	RUN(test_files);
	RUN(test_garbage);
	return CHECK_DONE();
}
