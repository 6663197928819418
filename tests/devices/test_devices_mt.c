// SPDX-License-Identifier: MIT
/*
 * All three devices at once on one machine in strict mode, under ThreadSanitizer: several
 * threads moving data with the DSA engine through the kernel PASID (each map and unmap of
 * their buffers makes the driver invalidate the unit's IOTLB and the device TLBs), a thread
 * running NIC traffic and one running storage requests, with check mode on in the unit and
 * in every device TLB. Every byte must arrive intact and no stale translation may be used.
 */
#include "check.h"
#include "devices/traffic_machine.h"

#include <pthread.h>
#include <softiommu/dsa_driver.h>

#define DSA_RID	   PCI_RID(0, 2, 0)
#define MOVERS	   3
#define MOVES	   60
#define MOVER_AREA 0x200000ull /* per mover: source, then destination 1 MiB above */

static struct tmach t;
static struct machine_dev *dsa_dev;
static struct dsa_drv *dsa;

struct result {
	unsigned bad, errors;
};

static void *mover(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	uint64_t src = TM_DATA + 0x4000000 + id * MOVER_AREA, dst = src + MOVER_AREA / 2;
	struct result *r = calloc(1, sizeof(*r));
	uint64_t seed = 1 + id;

	for (unsigned i = 0; i < MOVES; i++) {
		uint64_t len = 1 + check_rand(&seed) % (MOVER_AREA / 2 - 4096);
		uint64_t so = check_rand(&seed) % 4096;
		uint8_t *s = mem_ptr(t.m->mem, src + so, len);

		for (uint64_t k = 0; k < len; k += 97)
			s[k] = (uint8_t)(i + k);
		if (dsa_drv_memmove(dsa, dst, src + so, len, NULL))
			r->errors++;
		else if (memcmp(mem_ptr(t.m->mem, dst, len), s, len))
			r->bad++;
	}
	return r;
}

static void *nic_runner(void *arg)
{
	struct result *r = calloc(1, sizeof(*r));

	(void)arg;
	for (int i = 0; i < 6; i++)
		if (nic_drv_run(t.nic, 40, 40, 64 + i * 150))
			r->errors++;
	return r;
}

static void *storage_runner(void *arg)
{
	struct result *r = calloc(1, sizeof(*r));
	uint64_t base = TM_DATA + 0x8000000;

	(void)arg;
	for (unsigned i = 0; i < 30; i++) {
		struct dma_sg sg[3] = {{.phys = base, .length = 4096},
				       {.phys = base + 16384, .length = 2048},
				       {.phys = base + 20480, .length = 6144}};
		uint8_t *p = mem_ptr(t.m->mem, base, 32768);

		memset(p, (int)i, 32768);
		if (storage_drv_rw(t.sto, true, i, 3, sg, 3, NULL)) {
			r->errors++;
			continue;
		}
		memset(p, 0, 32768);
		if (storage_drv_rw(t.sto, false, i, 3, sg, 3, NULL)) {
			r->errors++;
			continue;
		}
		if (p[0] != (uint8_t)i || p[16384 + 2047] != (uint8_t)i ||
		    p[20480 + 6143] != (uint8_t)i || p[8192] != 0)
			r->bad++;
	}
	return r;
}

static void quiet(void *ctx, const char *line)
{
	(void)ctx;
	(void)line;
}

static int setup(void)
{
	struct tmach_opts o = {.domain = IOMMU_DOMAIN_DMA, .loopback = true};
	struct machine_dev_config dc = {
	    .rid = DSA_RID, .pasid_width = 20, .ats = true, .def_domain_type = IOMMU_DOMAIN_DMA};
	struct dsa_drv_config cfg = {0};
	struct pci_translation_agent ref;

	CHECK_RET(tm_init(&t, &o) == 0);
	CHECK_RET(machine_add_device(t.m, &dc, &dsa_dev) == 0);
	cfg.ep = dsa_dev->ep;
	cfg.dma.dev = dsa_dev->dev;
	cfg.dma.mem = t.m->mem;
	cfg.dma.alloc = t.m->alloc;
	cfg.use_pasid = true;
	cfg.dsa.num_wqs = 2;
	cfg.log = quiet;
	cfg.timeout_ns = 20000000000ull;
	CHECK_RET(dsa_drv_probe(&cfg, &dsa) == 0);
	CHECK_RET(dsa_drv_pasid(dsa) != IOMMU_PASID_INVALID);
	CHECK_RET(tm_check(&t, true) == 0);
	ref = vtd_translation_agent(t.m->vtd);
	CHECK_RET(pci_endpoint_set_checker(dsa_dev->ep, &ref, tm_on_atc, &t) == 0);
	return 0;
}

static void test_all_devices(void)
{
	pthread_t th[MOVERS + 2];
	unsigned bad = 0, errors = 0;
	struct dsa_stats ds;

	CHECK_EQ(setup(), 0);
	for (uintptr_t i = 0; i < MOVERS; i++)
		CHECK(pthread_create(&th[i], NULL, mover, (void *)i) == 0);
	CHECK(pthread_create(&th[MOVERS], NULL, nic_runner, NULL) == 0);
	CHECK(pthread_create(&th[MOVERS + 1], NULL, storage_runner, NULL) == 0);
	for (int i = 0; i < MOVERS + 2; i++) {
		struct result *r;

		pthread_join(th[i], (void **)&r);
		bad += r->bad;
		errors += r->errors;
		free(r);
	}
	CHECK_EQ(errors, 0);
	CHECK_EQ(bad, 0);
	CHECK_EQ(tm_check(&t, false), 0);
	CHECK_EQ(pci_endpoint_set_checker(dsa_dev->ep, NULL, NULL, NULL), 0);
	CHECK_EQ(t.stale, 0);
	CHECK_EQ(t.atc_stale, 0);
	CHECK_EQ(dsa_get_stats(dsa_drv_dsa(dsa), &ds), 0);
	CHECK_EQ(ds.page_faults + ds.dma_errors + ds.invalid, 0);
	CHECK(ds.completed >= MOVERS * MOVES);
	CHECK_EQ(dsa_drv_remove(dsa), 0);
	CHECK_EQ(tm_fini(&t), 0);
}

int main(void)
{
	RUN(test_all_devices);
	return CHECK_DONE();
}
