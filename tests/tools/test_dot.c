// SPDX-License-Identifier: MIT
/*
 * The graph of `softiommu dot`: built from a machine whose driver set up real structures -
 * scalable mode with a PASID sharing the default domain's page table (one node, two
 * edges), first- and second-stage tables at every depth, pass-through entries, legacy mode
 * - and from garbage: a root table full of random bytes, entries pointing outside memory,
 * more tables than the graph may hold. The graph must stay well-formed (balanced braces,
 * edges only to nodes that exist) in every case. Rendering with Graphviz is checked by the
 * run/dot_* tests.
 *
 * The writer lives in tools/, which is not part of the library: include its source.
 */
#include "check.h"

#include "../../tools/dot.c"

#include <softiommu/machine.h>

#include <stdlib.h>
#include <string.h>

#define DATA 0x40000000ull

static char *draw(struct machine *m, unsigned depth, unsigned max_entries)
{
	struct dot_options o = {.depth = depth, .max_entries = max_entries, .title = "t \"q\""};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int ret = dot_write(m->vtd, m->mem, &o, f);

	fclose(f);
	if (ret) {
		free(text);
		return NULL;
	}
	return text;
}

static unsigned count(const char *text, const char *what)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* Every edge's ends are declared nodes, and braces balance in every label. */
static int well_formed(const char *text)
{
	char name[64];

	CHECK_RET(!strncmp(text, "digraph vtd {\n", 14));
	CHECK_RET(strstr(text, "\n}\n") != NULL);
	for (const char *p = text; (p = strstr(p, " -> ")); p += 4) {
		const char *to = p + 4;
		const char *from = p;
		size_t n;

		while (from > text && from[-1] != ' ')
			from--;
		n = strcspn(from, ":");
		CHECK_RET(n < sizeof(name) - 1);
		snprintf(name, sizeof(name), "  %.*s [", (int)n, from);
		CHECK_RET(strstr(text, name) != NULL);
		n = strcspn(to, ";");
		snprintf(name, sizeof(name), "  %.*s [", (int)n, to);
		CHECK_RET(strstr(text, name) != NULL);
	}
	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		int depth = 0;

		if (!strcmp(line, "}\n"))
			break; /* the graph's closing brace */
		for (const char *c = line; c < end; c++) {
			if (*c == '\\') {
				c++;
				continue;
			}
			depth += *c == '{';
			depth -= *c == '}';
			CHECK_RET(depth >= 0);
		}
		/* The graph's own braces open and close on lines of their own. */
		CHECK_RET(depth == 0 || !strncmp(line, "digraph", 7));
		line = end + 1;
	}
	return 0;
}

static struct machine *mk(bool scalable, bool passthrough)
{
	struct machine_config cfg;
	struct machine *m = NULL;

	machine_config_default(&cfg);
	cfg.driver.quiet = true;
	cfg.iommu.passthrough = passthrough;
	if (!scalable) {
		cfg.vtd.scalable = false;
		cfg.vtd.first_stage = cfg.vtd.second_stage = cfg.vtd.nested = false;
		cfg.vtd.pasid_bits = 0;
		cfg.vtd.supervisor_requests = false;
		cfg.vtd.fs_5level = cfg.vtd.fs_1g = false;
		cfg.vtd.ss_ad = false;
	}
	if (machine_create(&cfg, &m))
		return NULL;
	return m;
}

static struct machine_dev *dev(struct machine *m, uint16_t rid)
{
	struct machine_dev_config dc = {.rid = rid, .pasid_width = 20, .ats = true};
	struct machine_dev *d = NULL;

	if (machine_add_device(m, &dc, &d))
		return NULL;
	return d;
}

static void test_scalable_shared_table(void)
{
	struct machine *m = mk(true, false);
	struct machine_dev *d;
	struct iommu_domain *dom;
	char *text, node[64];
	const char *p;

	CHECK(m != NULL);
	d = dev(m, PCI_RID(0, 2, 0));
	CHECK(d != NULL);
	dom = iommu_get_default_domain(d->dev);
	CHECK_EQ(iommu_map(dom, 0x10000, DATA, 0x3000, IOMMU_READ | IOMMU_WRITE), 0);
	CHECK_EQ(iommu_map(dom, 0x200000, DATA + 0x200000, 0x200000, IOMMU_READ), 0);
	CHECK_EQ(iommu_attach_device_pasid(dom, d->dev, 5), 0);

	text = draw(m, 4, 0);
	CHECK(text != NULL);
	CHECK_EQ(well_formed(text), 0);
	CHECK(strstr(text, "label=\"t \\\"q\\\"\"") != NULL);
	CHECK(strstr(text, "(scalable mode)") != NULL);
	CHECK(strstr(text, "<p2> bus 00") == NULL); /* bus index is the port */
	CHECK(strstr(text, "<p0> bus 00") != NULL);
	CHECK(strstr(text, "00:02.0  DTE PASIDE") != NULL);
	CHECK(strstr(text, "PASID 0: first-stage DID") != NULL);
	CHECK(strstr(text, "PASID 5: first-stage DID") != NULL);
	/* Both PASID entries point at the same top-level table: drawn once, two edges. */
	p = strstr(text, "first-stage level 4");
	CHECK(p != NULL);
	while (p > text && p[-1] != '\n')
		p--;
	snprintf(node, sizeof(node), "-> %.*s;", (int)strcspn(p + 2, " "), p + 2);
	CHECK_EQ(count(text, node), 2);
	CHECK_EQ(count(text, "first-stage level 4"), 1);
	/* The leaves: three 4 KiB pages and one 2 MiB page, with their permissions. */
	CHECK(strstr(text, "[16] iova 0x10000 -\\> 0x40000000 4K RWUX") != NULL);
	CHECK(strstr(text, "[18] iova 0x12000 -\\> 0x40002000 4K RWUX") != NULL);
	CHECK(strstr(text, "[1] iova 0x200000 -\\> 0x40200000 2M RUX") != NULL);
	free(text);

	/* Depth 0: no page tables at all; depth 1: the top one, its rows summarised. */
	text = draw(m, 0, 0);
	CHECK(text && !strstr(text, "stage level"));
	CHECK_EQ(well_formed(text), 0);
	free(text);
	text = draw(m, 1, 0);
	CHECK(text && strstr(text, "level 4") && !strstr(text, "level 3"));
	CHECK(strstr(text, "-\\> table 0x") != NULL);
	free(text);

	/* A table with more present entries than listed says how many more. */
	for (unsigned i = 0; i < 40; i++)
		CHECK_EQ(iommu_map(dom, 0x400000 + i * 0x1000ull, DATA, 0x1000, IOMMU_READ), 0);
	text = draw(m, 4, 8);
	CHECK(text != NULL);
	CHECK_EQ(well_formed(text), 0);
	CHECK(strstr(text, "... 32 more present") != NULL);
	free(text);

	CHECK_EQ(iommu_detach_device_pasid(dom, d->dev, 5), 0);
	text = draw(m, 4, 0);
	CHECK(text && !strstr(text, "PASID 5:"));
	free(text);
	CHECK_EQ(machine_destroy(m), 0);
}

static void test_pass_through(void)
{
	struct machine *m = mk(true, true);
	char *text;

	CHECK(m != NULL);
	CHECK(dev(m, PCI_RID(3, 0, 1)) != NULL);
	text = draw(m, 5, 0);
	CHECK(text != NULL);
	CHECK_EQ(well_formed(text), 0);
	CHECK(strstr(text, "<p3> bus 03") != NULL);
	CHECK(strstr(text, "PASID 0: pass-through DID 1") != NULL);
	CHECK(!strstr(text, "stage level"));
	free(text);
	CHECK_EQ(machine_destroy(m), 0);
}

static void test_legacy(void)
{
	struct machine *m = mk(false, false);
	struct machine_dev *d;
	char *text;

	CHECK(m != NULL);
	d = dev(m, PCI_RID(0, 4, 0));
	CHECK(d != NULL);
	CHECK_EQ(iommu_map(iommu_get_default_domain(d->dev), 0x5000, DATA, 0x1000, IOMMU_WRITE), 0);
	text = draw(m, 5, 0);
	CHECK(text != NULL);
	CHECK_EQ(well_formed(text), 0);
	CHECK(strstr(text, "(legacy mode)") != NULL);
	CHECK(strstr(text, "00:04.0  second-stage+ATS DID") != NULL);
	CHECK(strstr(text, "second-stage level 1") != NULL);
	CHECK(strstr(text, "[5] iova 0x5000 -\\> 0x40000000 4K W") != NULL);
	CHECK(!strstr(text, "PASID"));
	free(text);
	CHECK_EQ(machine_destroy(m), 0);
}

/* Point the unit at a root table of random bytes (and entries leading anywhere). */
static void test_garbage(void)
{
	struct machine *m = mk(true, false);
	uint64_t seed = 7, root = 0x10000000, q;
	char *text;

	CHECK(m != NULL);
	for (int round = 0; round < 20; round++) {
		for (uint64_t off = 0; off < 0x40000; off += 8) {
			q = check_rand(&seed);
			/* Mostly present entries with addresses inside the first 512 MiB (so the
			 * walk goes deep), some anywhere (outside memory), some zero. */
			if (round % 3 == 0)
				q = (q & 0x1ffff000ull) | (q & 0xfff) | 1;
			else if (round % 3 == 1)
				q |= 1;
			mem_write64(m->mem, root + off, q);
		}
		CHECK_EQ(
		    vtd_mmio_write(m->vtd, VTD_REG_RTADDR, 8,
				   root | (uint64_t)(round & 1 ? VTD_TTM_LEGACY : VTD_TTM_SCALABLE)
					      << 10),
		    0);
		CHECK_EQ(vtd_mmio_write(m->vtd, VTD_REG_GCMD, 4, VTD_GCMD_SRTP | VTD_GCMD_TE), 0);
		text = draw(m, 5, 64);
		CHECK(text != NULL);
		CHECK_EQ(well_formed(text), 0);
		free(text);
	}
	/* Reserved TTM: no structures to draw, said in words. */
	CHECK_EQ(vtd_mmio_write(m->vtd, VTD_REG_RTADDR, 8, root | (uint64_t)VTD_TTM_RSVD << 10), 0);
	CHECK_EQ(vtd_mmio_write(m->vtd, VTD_REG_GCMD, 4, VTD_GCMD_SRTP | VTD_GCMD_TE), 0);
	text = draw(m, 5, 0);
	CHECK(text && strstr(text, "no root table in use"));
	CHECK_EQ(well_formed(text), 0);
	free(text);
	CHECK_EQ(dot_write(NULL, m->mem, &(struct dot_options){0}, stdout), -EINVAL);
	CHECK_EQ(dot_write(m->vtd, NULL, &(struct dot_options){0}, stdout), -EINVAL);
	machine_destroy(m);
}

int main(void)
{
	RUN(test_scalable_shared_table);
	RUN(test_pass_through);
	RUN(test_legacy);
	RUN(test_garbage);
	return CHECK_DONE();
}
