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
	CHECK_EQ(s[3].u.events.fault.value, 2);
	CHECK(!s[3].u.events.data.set && !s[3].u.events.addr.set);
	CHECK_EQ(s[4].u.events.fault.value, 3);
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
	BAD("events expect faults=1\n", 1, 15, "expected fault=, inv=, data=, addr=");
	BAD("events expect fault=1 date=2\n", 1, 23, "expected fault=, inv=, data=, addr=");
	BAD("events expect fault=1 2\n", 1, 23, "expected fault=, inv=, data=, addr=");
}

/* Named descriptors encode the digest's layouts (5.2-5.9); raw ones keep their qwords. */
static void test_iq(void)
{
	struct vec_file *f =
	    parse_ok("iq cc g=device did=5 sid=00:03.0 fm=3\n"				/* 0 */
		     "iq cc g=global\n"							/* 1 */
		     "iq iotlb g=page did=1 addr=0x40000000 am=9 ih dw dr=1\n"		/* 2 */
		     "iq devtlb sid=03:02.0 addr=0x5000\n"				/* 3 */
		     "iq devtlb sid=03:02.0 addr=0x10000 size=64K mip=4 pfsid=0x1234\n" /* 4 */
		     "iq devtlb sid=3 size=all\n"					/* 5 */
		     "iq iec g=index iidx=0x40 im=2\n"					/* 6 */
		     "iq wait if sw fn=1 status=0x200004 data=0xffffffff\n"		/* 7 */
		     "iq piotlb g=page did=1 pasid=5 addr=0x1000 am=0 ih=0\n"		/* 8 */
		     "iq pc g=pasid did=2 pasid=0x123\n"				/* 9 */
		     "iq pdevtlb sid=00:01.0 pasid=7 global addr=0x6000 size=8K\n"	/* 10 */
		     "iq raw 0x45 0\n"							/* 11 */
		     "iq raw 0x11 0 0 1\n"						/* 12 */
		     "iq cc g=0\n"							/* 13 */
		     "iq submit\n"							/* 14 */
		     "iq submit tail=0x1000\n"						/* 15 */
		     "iq enable 0x300000 qs=1 dw=128\n"					/* 16 */
		     "iq enable 0x300000\n"						/* 17 */
		     "iq pc g=global\n");						/* 18 */
	struct vec_stmt *s;

	CHECK(f);
	CHECK_EQ(f->count, 19);
	s = f->stmts;
	CHECK_EQ(s[0].kind, VEC_IQ);
	CHECK_EQ(s[0].u.iq.type, VEC_IQ_CC);
	CHECK_EQ(s[0].u.iq.nq, 2);
	CHECK_EQ(s[0].u.iq.q[0], 0x31 | 5ull << 16 | 0x18ull << 32 | 3ull << 48);
	CHECK_EQ(s[0].u.iq.q[1], 0);
	CHECK_EQ(s[1].u.iq.q[0], 0x11);
	CHECK_EQ(s[2].u.iq.q[0], 0xf2 | 1ull << 16);
	CHECK_EQ(s[2].u.iq.q[1], 0x40000000 | 1 << 6 | 9);
	CHECK_EQ(s[3].u.iq.q[0], 3 | 0x310ull << 32);
	CHECK_EQ(s[3].u.iq.q[1], 0x5000);
	/* 64 KiB: S = 1 and address bits 12..14 set (the lowest clear bit is 15) */
	CHECK_EQ(s[4].u.iq.q[0], 3 | 4ull << 12 | 4ull << 16 | 0x310ull << 32 | 0x123ull << 52);
	CHECK_EQ(s[4].u.iq.q[1], 0x10000 | 0x7000 | 1);
	CHECK_EQ(s[5].u.iq.q[1], 0x7ffffffffffff001ull);
	CHECK_EQ(s[6].u.iq.q[0], 0x14 | 2ull << 27 | 0x40ull << 32);
	CHECK_EQ(s[7].u.iq.q[0], 0x75 | 0xffffffffull << 32);
	CHECK_EQ(s[7].u.iq.q[1], 0x200004);
	CHECK_EQ(s[8].u.iq.q[0], 0x36 | 1ull << 16 | 5ull << 32);
	CHECK_EQ(s[8].u.iq.q[1], 0x1000);
	CHECK_EQ(s[9].u.iq.q[0], 0x17 | 2ull << 16 | 0x123ull << 32);
	/* type 8: S in bit 11, G in bit 0; 8 KiB leaves bit 12 clear */
	CHECK_EQ(s[10].u.iq.q[0], 8 | 0x8ull << 16 | 7ull << 32);
	CHECK_EQ(s[10].u.iq.q[1], 0x6000 | 1 << 11 | 1);
	CHECK_EQ(s[11].u.iq.type, VEC_IQ_RAW);
	CHECK_EQ(s[11].u.iq.nq, 2);
	CHECK_EQ(s[12].u.iq.nq, 4);
	CHECK_EQ(s[12].u.iq.q[3], 1);
	CHECK_EQ(s[13].u.iq.q[0], 1);
	CHECK_EQ(s[14].kind, VEC_IQ_SUBMIT);
	CHECK(!s[14].u.submit.tail.set);
	CHECK_EQ(s[15].u.submit.tail.value, 0x1000);
	CHECK_EQ(s[16].kind, VEC_IQ_ENABLE);
	CHECK_EQ(s[16].u.enable.addr, 0x300000);
	CHECK_EQ(s[16].u.enable.qs, 1);
	CHECK(s[16].u.enable.dw.set && !s[16].u.enable.dw.value);
	CHECK(!s[17].u.enable.dw.set);
	CHECK_EQ(s[18].u.iq.q[0], 0x37);
	CHECK(!strcmp(vec_iq_name(VEC_IQ_PDEVTLB), "pdevtlb"));
	CHECK(!strcmp(vec_iq_name(VEC_IQ_RAW), "raw"));
	vec_file_free(f);
}

static void test_bad_iq(void)
{
	BAD("iq\n", 1, 3, "expected a descriptor");
	BAD("iq flush\n", 1, 4, "expected a descriptor");
	BAD("iq cc did=1\n", 1, 12, "expected g= for `iq cc`");
	BAD("iq cc g=page\n", 1, 9, "expected a granularity: global domain device");
	BAD("iq cc g=4\n", 1, 9, "granularity 0x4 out of range");
	BAD("iq iec g=2\n", 1, 10, "granularity 0x2 out of range");
	BAD("iq cc g=global pasid=1\n", 1, 16, "a field of `iq cc`: g= did= sid= fm=");
	BAD("iq cc g=global did=0x10000\n", 1, 20, "did 0x10000 out of range");
	BAD("iq cc g=global did=1 did=2\n", 1, 22, "did given twice");
	BAD("iq cc g=global did\n", 1, 16, "a field of `iq cc`");
	BAD("iq cc g=global did=\n", 1, 20, "expected a value after '='");
	BAD("iq iotlb g=page did=1 addr=0x1001\n", 1, 23, "4 KiB aligned");
	BAD("iq iotlb g=page am=64\n", 1, 20, "am 0x40 out of range");
	BAD("iq iotlb g=page ih=2\n", 1, 20, "ih 0x2 out of range");
	BAD("iq devtlb addr=0x1000\n", 1, 22, "expected sid= for `iq devtlb`");
	BAD("iq devtlb sid=1 size=12K\n", 1, 22, "a power of two from 4K");
	BAD("iq devtlb sid=1 size=8K addr=0x1000\n", 1, 25, "aligned to size=");
	BAD("iq devtlb sid=1 size=8K s=1\n", 1, 25, "size= or s=, not both");
	BAD("iq devtlb sid=1 size=all addr=0\n", 1, 26, "no addr=");
	BAD("iq devtlb sid=00:20.0\n", 1, 15, "out of range");
	BAD("iq devtlb sid=1 mip=32\n", 1, 21, "mip 0x20 out of range");
	BAD("iq wait status=0x1002 sw\n", 1, 9, "4-byte aligned");
	BAD("iq wait data=0x100000000\n", 1, 14, "data 0x100000000 out of range");
	BAD("iq wait g=1\n", 1, 9, "a field of `iq wait`: if sw fn pd status= data=");
	BAD("iq piotlb g=domain did=1\n", 1, 13, "expected a granularity: pasid page");
	BAD("iq piotlb g=pasid pasid=0x100000\n", 1, 25, "pasid 0x100000 out of range");
	BAD("iq pc g=pasid sid=1\n", 1, 15, "a field of `iq pc`");
	BAD("iq pdevtlb pasid=1\n", 1, 19, "expected sid= for `iq pdevtlb`");
	BAD("iq raw\n", 1, 7, "expected 2 qwords");
	BAD("iq raw 1 2 3\n", 1, 8, "got 3");
	BAD("iq raw 1 2 3 4 5\n", 1, 8, "got 5");
	BAD("iq raw 1 X\n", 1, 10, "unknown name 'X'");
	BAD("iq submit 0x20\n", 1, 11, "expected tail= or end of line");
	BAD("iq submit tail=1 tail=2\n", 1, 18, "expected end of line");
	BAD("iq enable\n", 1, 10, "expected the queue's address");
	BAD("iq enable 0x1800\n", 1, 11, "4 KiB aligned");
	BAD("iq enable 0 qs=8\n", 1, 16, "qs 0x8 out of range");
	BAD("iq enable 0 dw=64\n", 1, 16, "dw is 128 or 256");
	BAD("iq enable 0 dw=128 dw=256\n", 1, 20, "dw given twice");
	BAD("iq enable 0 size=1\n", 1, 13, "expected qs=, dw=");
}

static void test_queue_and_events(void)
{
	struct vec_file *f =
	    parse_ok("iqercd expect iqei=3\n"
		     "iqercd expect itesid=03:02.0 icesid=0x0311 iqei=0\n"
		     "events expect inv=2\n"
		     "events expect inv=1 inv_data=0x21 inv_addr=0xfee01000 fault=0\n");
	struct vec_stmt *s;

	CHECK(f);
	CHECK_EQ(f->count, 4);
	s = f->stmts;
	CHECK_EQ(s[0].kind, VEC_IQERCD);
	CHECK(s[0].u.iqercd.iqei.set && !s[0].u.iqercd.itesid.set && !s[0].u.iqercd.icesid.set);
	CHECK_EQ(s[0].u.iqercd.iqei.value, 3);
	CHECK_EQ(s[1].u.iqercd.itesid.value, 0x310);
	CHECK_EQ(s[1].u.iqercd.icesid.value, 0x311);
	CHECK_EQ(s[1].u.iqercd.iqei.value, 0);
	CHECK(s[2].u.events.inv.set && !s[2].u.events.fault.set);
	CHECK_EQ(s[2].u.events.inv.value, 2);
	CHECK_EQ(s[3].u.events.inv_data.value, 0x21);
	CHECK_EQ(s[3].u.events.inv_addr.value, 0xfee01000);
	CHECK(s[3].u.events.fault.set && s[3].u.events.fault.value == 0);
	vec_file_free(f);
	BAD("iqercd expect\n", 1, 14, "expected a check after `expect`");
	BAD("iqercd iqei=1\n", 1, 8, "expected `expect`");
	BAD("iqercd expect iqei=16\n", 1, 20, "iqei 0x10 out of range");
	BAD("iqercd expect itesid=00:00.8\n", 1, 22, "out of range");
	BAD("iqercd expect ite=1\n", 1, 15, "expected iqei=, itesid= or icesid=");
	BAD("iqercd expect iqei=1 iqei=2\n", 1, 22, "iqei given twice");
	BAD("events expect\n", 1, 14, "expected a check after `expect`");
	BAD("events expect inv=1 inv=2\n", 1, 21, "inv given twice");
	BAD("events expect invs=1\n", 1, 15, "expected fault=, inv=");
}

static void test_ats_dma(void)
{
	struct vec_file *f = parse_ok(
	    "ats connect 00:03.0\n"
	    "ats connect 00:03.1 hung pasid_width=0 atc_sets=4 atc_ways=2 stu=1 global_inv=0\n"
	    "ats state 00:03.0 removed\n"
	    "ats expect 00:03.0 has addr=0x5000 pasid=7 priv pa=0xa000 size=4K perm=rw\n"
	    "ats expect 00:03.0 none addr=0x6000\n"
	    "ats expect 00:03.0 hits=1 misses+=2 inv_entries=0\n"
	    "dma 00:03.0 r 0x5000 expect ok data=0x1111 atc=hit\n"
	    "dma 00:03.0 w 0x5000 len=4K pasid=7 priv data=0x22 expect error EFAULT fault=SFL.2 "
	    "atc=miss\n"
	    "dma 00:03.0 read 0 exec pasid=1 expect error ENODEV\n");
	struct vec_stmt *s;

	CHECK(f);
	CHECK_EQ(f->count, 9);
	s = f->stmts;
	CHECK_EQ(s[0].kind, VEC_ATS_CONNECT);
	CHECK_EQ(s[0].u.ats.sid, 0x18);
	CHECK_EQ(s[0].u.ats.mode, VEC_ATS_ANSWERS);
	CHECK(!s[0].u.ats.pasid_width.set);
	CHECK_EQ(s[1].u.ats.mode, VEC_ATS_HUNG);
	CHECK(s[1].u.ats.pasid_width.set && s[1].u.ats.pasid_width.value == 0);
	CHECK_EQ(s[1].u.ats.atc_sets.value, 4);
	CHECK_EQ(s[1].u.ats.atc_ways.value, 2);
	CHECK_EQ(s[1].u.ats.stu.value, 1);
	CHECK(s[1].u.ats.global_inv.set && !s[1].u.ats.global_inv.value);
	CHECK_EQ(s[2].kind, VEC_ATS_STATE);
	CHECK_EQ(s[2].u.ats.mode, VEC_ATS_REMOVED);
	CHECK_EQ(s[3].kind, VEC_ATS_ENTRY);
	CHECK(s[3].u.entry.present && s[3].u.entry.has_pasid && s[3].u.entry.priv);
	CHECK_EQ(s[3].u.entry.pasid, 7);
	CHECK_EQ(s[3].u.entry.addr, 0x5000);
	CHECK_EQ(s[3].u.entry.pa.value, 0xa000);
	CHECK_EQ(s[3].u.entry.size.value, 4096);
	CHECK_EQ(s[3].u.entry.perm.value, VEC_PERM_R | VEC_PERM_W);
	CHECK(!s[4].u.entry.present && !s[4].u.entry.has_pasid);
	CHECK_EQ(s[5].kind, VEC_ATS_STATS);
	CHECK_EQ(s[5].u.counters.sid, 0x18);
	CHECK_EQ(s[5].u.counters.count, 3);
	CHECK(!strcmp(s[5].u.counters.c[1].name, "misses"));
	CHECK(s[5].u.counters.c[1].delta && !s[5].u.counters.c[0].delta);
	CHECK_EQ(s[5].u.counters.c[1].value, 2);
	CHECK_EQ(s[6].kind, VEC_DMA);
	CHECK(!s[6].u.dma.write && !s[6].u.dma.has_pasid);
	CHECK_EQ(s[6].u.dma.len, 8);
	CHECK_EQ(s[6].u.dma.data.value, 0x1111);
	CHECK_EQ(s[6].u.dma.error, 0);
	CHECK(s[6].u.dma.atc.set && s[6].u.dma.atc.value);
	CHECK(s[7].u.dma.write && s[7].u.dma.has_pasid && s[7].u.dma.priv);
	CHECK_EQ(s[7].u.dma.len, 4096);
	CHECK_EQ(s[7].u.dma.error, EFAULT);
	CHECK_EQ(s[7].u.dma.fault.value, 0x71);
	CHECK(s[7].u.dma.atc.set && !s[7].u.dma.atc.value);
	CHECK(s[8].u.dma.exec);
	CHECK_EQ(s[8].u.dma.error, ENODEV);
	CHECK(!strcmp(vec_ats_mode_name(VEC_ATS_BAD), "bad"));
	CHECK(!strcmp(vec_errno_name(EACCES), "EACCES"));
	CHECK(vec_errno_name(EPIPE) == NULL);
	vec_file_free(f);
	BAD("ats\n", 1, 4, "expected connect, state or expect");
	BAD("ats plug 0\n", 1, 5, "expected connect, state or expect");
	BAD("ats connect\n", 1, 12, "expected a source-id");
	BAD("ats connect 0 sleepy\n", 1, 15, "expected answers, hung, removed, bad");
	BAD("ats connect 0 hung bad\n", 1, 20, "answering mode given twice");
	BAD("ats connect 0 pasid_width=21\n", 1, 27, "pasid_width 0x15 out of range");
	BAD("ats connect 0 atc_ways=65\n", 1, 24, "atc_ways 0x41 out of range");
	BAD("ats connect 0 stu=1 stu=2\n", 1, 21, "stu given twice");
	BAD("ats state 0\n", 1, 12, "expected answers, hung, removed or bad");
	BAD("ats state 0 dead\n", 1, 13, "expected answers, hung, removed or bad");
	BAD("ats state 0 hung x\n", 1, 18, "expected end of line");
	BAD("ats expect 0\n", 1, 13, "expected has, none or a counter check");
	BAD("ats expect 0 has\n", 1, 17, "expected addr=");
	BAD("ats expect 0 none addr=0 pa=1\n", 1, 26, "expected addr=, pasid= or priv");
	BAD("ats expect 0 has addr=0 size=5K\n", 1, 30, "power of two");
	BAD("ats expect 0 has addr=0 perm=rz\n", 1, 31, "got 'z'");
	BAD("ats expect 0 hits\n", 1, 14, "expected a counter check");
	BAD("ats expect 0 hi-ts=1\n", 1, 16, "unexpected '-' in a counter name");
	BAD("ats expect 0 +=1\n", 1, 14, "expected a counter check");
	BAD("dma 0 x 0 expect ok\n", 1, 7, "expected r or w");
	BAD("dma 0 r 0\n", 1, 10, "expected `expect`, got end of line");
	BAD("dma 0 r 0 len=0 expect ok\n", 1, 15, "len must be at least 1");
	BAD("dma 0 r 0 len=2M expect ok\n", 1, 15, "len 0x200000 out of range");
	BAD("dma 0 r 0 data=1 expect ok\n", 1, 11, "a read's data= goes after `expect ok`");
	BAD("dma 0 w 0 expect ok data=1\n", 1, 21, "expected atc=");
	BAD("dma 0 r 0 expect fine\n", 1, 18, "expected ok or error");
	BAD("dma 0 r 0 expect error\n", 1, 23, "expected an error name");
	BAD("dma 0 r 0 expect error EBUSY\n", 1, 24, "expected an error name: EFAULT");
	BAD("dma 0 r 0 expect ok atc=maybe\n", 1, 25, "expected hit or miss");
	BAD("dma 0 r 0 expect ok fault=SFL.2\n", 1, 21, "expected data= or atc=");
	BAD("dma 0 r 0xfffffffffffffff8 len=9 expect ok\n", 1, 9, "wraps around");
	BAD("dma 0 r 0 expect ok atc=hit atc=miss\n", 1, 29, "atc given twice");
}

static void test_stats_check(void)
{
	struct vec_file *f = parse_ok("stats expect iotlb.hits=2 inv.iotlb_page+=1 checked=0\n"
				      "check expect stale=0\n"
				      "check expect stale=1 cache=atc missing=pdevtlb sid=00:01.0 "
				      "pasid=5 addr=0x5000\n"
				      "check expect missing=none pasid=none stale=2\n"
				      "translate 0 r 0 expect ok iotlb=hit\n"
				      "translate 0 r 0 expect ok iotlb=miss\n");
	struct vec_stmt *s;

	CHECK(f);
	CHECK_EQ(f->count, 6);
	s = f->stmts;
	CHECK_EQ(s[0].kind, VEC_STATS);
	CHECK_EQ(s[0].u.counters.count, 3);
	CHECK(!strcmp(s[0].u.counters.c[0].name, "iotlb.hits"));
	CHECK_EQ(s[0].u.counters.c[0].col, 14);
	CHECK(!strcmp(s[0].u.counters.c[1].name, "inv.iotlb_page"));
	CHECK(s[0].u.counters.c[1].delta);
	CHECK_EQ(s[1].kind, VEC_CHECK);
	CHECK_EQ(s[1].u.check.stale, 0);
	CHECK(!s[1].u.check.cache.set && !s[1].u.check.missing.set);
	CHECK_EQ(s[2].u.check.cache.value, VEC_CACHE_ATC);
	CHECK_EQ(s[2].u.check.missing.value, VEC_MISSING_PDEVTLB);
	CHECK_EQ(s[2].u.check.sid.value, 8);
	CHECK_EQ(s[2].u.check.pasid.value, 5);
	CHECK_EQ(s[2].u.check.addr.value, 0x5000);
	CHECK_EQ(s[3].u.check.stale, 2);
	CHECK_EQ(s[3].u.check.missing.value, VEC_MISSING_NONE);
	CHECK_EQ(s[3].u.check.pasid.value, VEC_PASID_NONE);
	CHECK(s[4].u.translate.expect.iotlb.set && s[4].u.translate.expect.iotlb.value);
	CHECK(s[5].u.translate.expect.iotlb.set && !s[5].u.translate.expect.iotlb.value);
	CHECK(!strcmp(vec_cache_name(VEC_CACHE_PASID), "pasid"));
	CHECK(!strcmp(vec_missing_name(VEC_MISSING_PIOTLB), "piotlb"));
	vec_file_free(f);
	BAD("stats expect\n", 1, 13, "expected a check after `expect`");
	BAD("stats expect iotlb.hits\n", 1, 14, "expected a counter check");
	BAD("stats expect a/b=1\n", 1, 15, "unexpected '/' in a counter name");
	BAD("stats expect aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1\n", 1, 14, "counter name longer");
	BAD("stats expect a=1 a=1 a=1 a=1 a=1 a=1 a=1 a=1 a=1 a=1 a=1 a=1 a=1 a=1 a=1 a=1 a=1\n", 1,
	    78, "more than 16 checks");
	BAD("stats expect x=NOPE\n", 1, 16, "unknown name 'NOPE'");
	BAD("check expect\n", 1, 13, "expected a check after `expect`");
	BAD("check expect cache=iotlb\n", 1, 25, "expected stale=N");
	BAD("check expect stale=0 cache=iotlb\n", 1, 33, "need stale= of at least 1");
	BAD("check expect stale=1 cache=tlb\n", 1, 28, "expected a cache: context, pasid");
	BAD("check expect stale=1 missing=wbf\n", 1, 30, "expected an invalidation: cc, pc");
	BAD("check expect stale=1 pasid=some\n", 1, 28, "unknown name 'some'");
	BAD("check expect stale=1 stale=2\n", 1, 22, "stale given twice");
	BAD("check expect stale=1 cache=iotlb cache=pasid\n", 1, 34, "cache given twice");
	BAD("check expect stale=1 colour=red\n", 1, 22, "expected stale=, cache=");
	BAD("check stale=1\n", 1, 7, "expected `expect`");
	BAD("translate 0 r 0 expect ok iotlb=yes\n", 1, 33, "expected hit or miss");
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
	    " ",      "recorded", "4K",	       "*",	 "X",	    "at=t",   "size=", "mask",
	    "iq",     "cc",	  "g=page",    "submit", "ats",	    "dma",    "stats", "check",
	    "stale=", "+=",	  "sid=",      "raw",	 "connect", "iqercd", "atc=",  "error"};
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
	RUN(test_iq);
	RUN(test_bad_iq);
	RUN(test_queue_and_events);
	RUN(test_ats_dma);
	RUN(test_stats_check);
	RUN(test_bad_bytes);
	RUN(test_files);
	RUN(test_garbage);
	return CHECK_DONE();
}
