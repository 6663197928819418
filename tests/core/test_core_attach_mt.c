// SPDX-License-Identifier: MIT
/*
 * Concurrency (run under ThreadSanitizer too): writers attach, replace and detach their own
 * PASIDs of shared devices (so they contend on the group mutex), one thread moves a RID
 * between domains, readers look everything up without locks, two threads allocate and free
 * global PASIDs, and two threads map and unmap disjoint ranges of one domain. Every
 * writer checks its own view after each step; at the end the mock hardware, the core's
 * lookups and the attachment counts must agree.
 */
#include "check.h"
#include "mock_iommu.h"

#define WRITERS	      4
#define PASIDS_PER    16
#define ROUNDS	      20000
#define NDOMAINS      4
#define ALLOC_THREADS 2
#define MAP_THREADS   2

static struct iommu_core *core;
static struct mock_iommu *mi;
static struct iommu_dev *devs[2], *rid_dev;
static struct iommu_domain *doms[NDOMAINS];
static unsigned char pasid_owned[1u << 12]; /* global PASIDs handed out (atomic flags) */
static int stop;			    /* atomic */

static struct iommu_domain *pick(uint64_t *seed)
{
	unsigned i = (unsigned)(check_rand(seed) % (NDOMAINS + 1));

	return i == NDOMAINS ? &mock_identity : doms[i];
}

static bool known(struct iommu_domain *d)
{
	if (d == NULL || d == &mock_identity)
		return true;
	for (int i = 0; i < NDOMAINS; i++) {
		if (d == doms[i])
			return true;
	}
	return false;
}

/* Thread i owns PASIDs i*16+1 .. i*16+16 of devs[i % 2]. */
static void *writer(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	struct iommu_dev *dev = devs[id % 2];
	struct iommu_domain *mine[PASIDS_PER] = {0};
	uint64_t seed = id * 7919 + 1;

	for (int r = 0; r < ROUNDS; r++) {
		unsigned k = (unsigned)(check_rand(&seed) % PASIDS_PER);
		uint32_t pasid = (uint32_t)(id * PASIDS_PER + k + 1);
		struct iommu_domain *d = pick(&seed);
		int ret;

		if (!mine[k]) {
			ret = iommu_attach_device_pasid(d, dev, pasid);
			if (!ret)
				mine[k] = d;
		} else if (check_rand(&seed) & 1) {
			ret = iommu_replace_device_pasid(d, dev, pasid);
			if (!ret)
				mine[k] = d;
		} else {
			ret = iommu_detach_device_pasid(mine[k], dev, pasid);
			if (!ret)
				mine[k] = NULL;
		}
		if (ret || iommu_get_domain_for_dev_pasid(dev, pasid) != mine[k])
			return (void *)1;
	}
	for (unsigned k = 0; k < PASIDS_PER; k++) {
		uint32_t pasid = (uint32_t)(id * PASIDS_PER + k + 1);

		if (mine[k] && iommu_detach_device_pasid(mine[k], dev, pasid))
			return (void *)1;
	}
	return NULL;
}

/* Moves rid_dev's RID between paging domains and back to its default domain. */
static void *rid_mover(void *arg)
{
	uint64_t seed = 99;

	(void)arg;
	for (int r = 0; r < ROUNDS; r++) {
		struct iommu_domain *d = doms[check_rand(&seed) % NDOMAINS];

		if (iommu_attach_device(d, rid_dev) || iommu_get_domain_for_dev(rid_dev) != d)
			return (void *)1;
		if (iommu_detach_device(d, rid_dev))
			return (void *)1;
	}
	return NULL;
}

static void *reader(void *arg)
{
	uint64_t seed = (uintptr_t)arg;
	struct iommu_domain *def = iommu_get_default_domain(rid_dev);
	unsigned long lookups = 0;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE) || lookups < 1000) {
		struct iommu_dev *dev = devs[check_rand(&seed) & 1];
		uint32_t pasid = (uint32_t)(check_rand(&seed) % (WRITERS * PASIDS_PER + 2));
		struct iommu_domain *d = iommu_get_domain_for_dev_pasid(dev, pasid);
		struct iommu_domain *rid = iommu_get_domain_for_dev(rid_dev);

		if (pasid == IOMMU_NO_PASID ? d != iommu_get_default_domain(dev) : !known(d))
			return (void *)1;
		if (rid != def && !known(rid))
			return (void *)1;
		lookups++;
	}
	return NULL;
}

static void *allocator(void *arg)
{
	uint64_t seed = (uintptr_t)arg;
	int held[32], n = 0;

	for (int r = 0; r < ROUNDS; r++) {
		if (n < 32 && (check_rand(&seed) & 1)) {
			int p = iommu_alloc_global_pasid(devs[0]);

			if (p <= 0 || __atomic_exchange_n(&pasid_owned[p], 1, __ATOMIC_RELAXED))
				return (void *)1; /* handed out twice */
			held[n++] = p;
		} else if (n) {
			int p = held[--n];

			__atomic_store_n(&pasid_owned[p], 0, __ATOMIC_RELAXED);
			if (iommu_free_global_pasid(devs[0], (uint32_t)p))
				return (void *)1;
		}
	}
	while (n--) {
		__atomic_store_n(&pasid_owned[held[n]], 0, __ATOMIC_RELAXED);
		if (iommu_free_global_pasid(devs[0], (uint32_t)held[n]))
			return (void *)1;
	}
	return NULL;
}

/* Maps and unmaps its own 1 GiB slice of doms[0]; the core takes no lock for it. */
static void *mapper(void *arg)
{
	uint64_t base = ((uintptr_t)arg + 1) << 30;

	for (int r = 0; r < ROUNDS / 4; r++) {
		uint64_t iova = base + (uint64_t)(r % 64) * 0x10000, pa = 0;

		if (iommu_map(doms[0], iova, iova, 0x4000, IOMMU_READ | IOMMU_WRITE))
			return (void *)1;
		if (iommu_iova_to_phys(doms[0], iova + 0x3008, &pa) || pa != iova + 0x3008)
			return (void *)1;
		if (iommu_unmap(doms[0], iova, 0x4000) != 0x4000)
			return (void *)1;
	}
	return NULL;
}

static void test_concurrent_attach_lookup(void)
{
	struct iommu_dev_info info = {.pasid_width = 10};
	pthread_t w[WRITERS], rd[2], rm, al[ALLOC_THREADS], mp[MAP_THREADS];
	void *res;
	int bad = 0;

	CHECK_EQ(iommu_core_create(NULL, &core), 0);
	mi = mock_iommu_new(&mock_ops, 1u << 20);
	CHECK(mi);
	CHECK_EQ(iommu_device_register(core, &mi->iommu), 0);
	for (int i = 0; i < 2; i++) {
		info.rid = (uint16_t)(0x100 + i);
		CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &devs[i]), 0);
	}
	info.rid = 0x200;
	CHECK_EQ(iommu_probe_device(&mi->iommu, &info, &rid_dev), 0);
	for (int i = 0; i < NDOMAINS; i++)
		CHECK_EQ(iommu_paging_domain_alloc(devs[0], 0, &doms[i]), 0);

	for (uintptr_t i = 0; i < 2; i++)
		pthread_create(&rd[i], NULL, reader, (void *)(i + 11));
	for (uintptr_t i = 0; i < WRITERS; i++)
		pthread_create(&w[i], NULL, writer, (void *)i);
	pthread_create(&rm, NULL, rid_mover, NULL);
	for (uintptr_t i = 0; i < ALLOC_THREADS; i++)
		pthread_create(&al[i], NULL, allocator, (void *)(i + 21));
	for (uintptr_t i = 0; i < MAP_THREADS; i++)
		pthread_create(&mp[i], NULL, mapper, (void *)i);

	for (int i = 0; i < WRITERS; i++) {
		pthread_join(w[i], &res);
		bad += res != NULL;
	}
	pthread_join(rm, &res);
	bad += res != NULL;
	for (int i = 0; i < ALLOC_THREADS; i++) {
		pthread_join(al[i], &res);
		bad += res != NULL;
	}
	for (int i = 0; i < MAP_THREADS; i++) {
		pthread_join(mp[i], &res);
		bad += res != NULL;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++) {
		pthread_join(rd[i], &res);
		bad += res != NULL;
	}
	CHECK_EQ(bad, 0);

	/* Everything is detached: the core, the hardware and the counts agree. */
	for (int i = 0; i < 2; i++) {
		for (uint32_t p = 1; p <= WRITERS * PASIDS_PER; p++) {
			CHECK(iommu_get_domain_for_dev_pasid(devs[i], p) == NULL);
			CHECK(mock_hw(devs[i], p) == NULL);
		}
	}
	CHECK(iommu_get_domain_for_dev(rid_dev) == iommu_get_default_domain(rid_dev));
	CHECK_EQ(mi->mismatches, 0);
	CHECK_EQ(iommu_core_warnings(core), 0);
	CHECK_EQ(iommu_alloc_global_pasid(devs[0]), 1); /* every PASID came back */
	CHECK_EQ(iommu_free_global_pasid(devs[0], 1), 0);
	for (int i = 0; i < NDOMAINS; i++) {
		CHECK_EQ(doms[i]->users, 0);
		CHECK_EQ(iommu_domain_free(doms[i]), 0);
	}
	CHECK_EQ(mock_identity.users, 0);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(iommu_release_device(devs[i]), 0);
	CHECK_EQ(iommu_release_device(rid_dev), 0);
	CHECK_EQ(iommu_device_unregister(&mi->iommu), 0);
	CHECK_EQ(mem_alloc_in_use(mi->alloc), 0);
	CHECK_EQ(iommu_core_destroy(core), 0);
	mock_iommu_free(mi);
}

int main(void)
{
	RUN(test_concurrent_attach_lookup);
	return CHECK_DONE();
}
