// SPDX-License-Identifier: MIT
/*
 * Physical memory: the sparse default backend and the generic accessors.
 *
 * The sparse backend is one anonymous MAP_NORESERVE mapping of the whole address space:
 * the host commits a page on first touch and untouched pages read as zero, so a
 * 64 GiB "machine" costs only what the run writes.
 */
#include <softiommu/mem.h>

#include <stdlib.h>
#include <sys/mman.h>

static void sparse_destroy(void *ctx)
{
	struct mem *m = ctx;

	munmap(m->base, m->size);
}

static const struct mem_ops sparse_ops = {
    .destroy = sparse_destroy,
};

struct mem *mem_create_sparse(uint64_t size)
{
	struct mem *m;
	void *p;

	if (size == 0 || size > (1ull << 47)) {
		errno = EINVAL;
		return NULL;
	}
	size = (size + MEM_PAGE_SIZE - 1) & ~(MEM_PAGE_SIZE - 1);
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED) {
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	m->base = p;
	m->size = size;
	m->ops = &sparse_ops;
	m->ctx = m;
	return m;
}

struct mem *mem_create(const struct mem_ops *ops, void *ctx, uint64_t size)
{
	struct mem *m;

	if (!ops || !ops->read || !ops->write || size == 0) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->size = size;
	m->ops = ops;
	m->ctx = ctx;
	return m;
}

void mem_destroy(struct mem *m)
{
	if (!m)
		return;
	if (m->ops && m->ops->destroy)
		m->ops->destroy(m->ctx);
	free(m);
}

int mem_read(struct mem *m, uint64_t pa, void *buf, size_t len)
{
	if (!mem_range_ok(m, pa, len))
		return -EFAULT;
	if (len == 0)
		return 0;
	if (m->base) {
		memcpy(buf, m->base + pa, len);
		return 0;
	}
	return m->ops->read(m->ctx, pa, buf, len);
}

int mem_write(struct mem *m, uint64_t pa, const void *buf, size_t len)
{
	if (!mem_range_ok(m, pa, len))
		return -EFAULT;
	if (len == 0)
		return 0;
	if (m->base) {
		memcpy(m->base + pa, buf, len);
		return 0;
	}
	return m->ops->write(m->ctx, pa, buf, len);
}

int mem_fill(struct mem *m, uint64_t pa, uint8_t byte, uint64_t len)
{
	uint8_t chunk[512];
	int ret;

	if (!mem_range_ok(m, pa, len))
		return -EFAULT;
	if (m->base) {
		memset(m->base + pa, byte, len);
		return 0;
	}
	memset(chunk, byte, sizeof(chunk));
	while (len) {
		size_t n = len < sizeof(chunk) ? (size_t)len : sizeof(chunk);

		ret = m->ops->write(m->ctx, pa, chunk, n);
		if (ret)
			return ret;
		pa += n;
		len -= n;
	}
	return 0;
}

int mem_read32(struct mem *m, uint64_t pa, uint32_t *val)
{
	if ((pa & 3) || !mem_range_ok(m, pa, 4))
		return -EFAULT;
	if (m->base) {
		*val = __atomic_load_n((uint32_t *)(void *)(m->base + pa), __ATOMIC_RELAXED);
		return 0;
	}
	return mem_read(m, pa, val, 4);
}

int mem_write32(struct mem *m, uint64_t pa, uint32_t val)
{
	if ((pa & 3) || !mem_range_ok(m, pa, 4))
		return -EFAULT;
	if (m->base) {
		__atomic_store_n((uint32_t *)(void *)(m->base + pa), val, __ATOMIC_RELEASE);
		return 0;
	}
	return mem_write(m, pa, &val, 4);
}

int mem_cmpxchg64(struct mem *m, uint64_t pa, uint64_t *expected, uint64_t desired)
{
	uint64_t *p, cur;
	int ret;

	if ((pa & 7) || !mem_range_ok(m, pa, 8))
		return -EFAULT;
	p = mem_ptr(m, pa, 8);
	if (p)
		return __atomic_compare_exchange_n(p, expected, desired, false, __ATOMIC_ACQ_REL,
						   __ATOMIC_ACQUIRE)
			   ? 0
			   : -EAGAIN;
	if (m->ops->cmpxchg64)
		return m->ops->cmpxchg64(m->ctx, pa, expected, desired);
	ret = m->ops->read(m->ctx, pa, &cur, 8);
	if (ret)
		return ret;
	if (cur != *expected) {
		*expected = cur;
		return -EAGAIN;
	}
	return m->ops->write(m->ctx, pa, &desired, 8);
}
