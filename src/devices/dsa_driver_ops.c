// SPDX-License-Identifier: MIT
/*
 * The DSA driver's synchronous helpers: map the buffers with the DMA API, run the work as
 * descriptors of at most the device's transfer size, wait for each, unmap.
 */
#include <softiommu/dsa_driver.h>

#include <errno.h>

/* One operation over DMA addresses, cut into descriptors. */
struct job {
	unsigned op;
	dma_addr_t src, dst;
	uint64_t len;
	uint64_t pattern; /* fill */
	uint32_t crc;	  /* crc32c: running value */
	int64_t diff;	  /* compare: first difference or -1 */
};

/* The fill pattern as seen from byte `off` of the buffer: rotated so every descriptor
 * continues the pattern where the previous one stopped. */
static uint64_t pattern_at(uint64_t pattern, uint64_t off)
{
	unsigned r = (unsigned)(off % 8) * 8;

	return r ? (pattern >> r) | (pattern << (64 - r)) : pattern;
}

static int run_job(struct dsa_drv *drv, struct job *j, struct dsa_completion *out)
{
	uint32_t max = dsa_max_transfer_size(dsa_drv_dsa(drv));
	struct dsa_completion c = {0};
	int ret = 0;

	j->diff = -1;
	for (uint64_t off = 0; off < j->len;) {
		uint32_t n = (uint32_t)(j->len - off < max ? j->len - off : max);
		struct dsa_desc d;
		unsigned ticket;

		dsa_desc_init(&d, j->op, 0, false, 0, false);
		d.src = j->op == DSA_OP_FILL ? 0 : j->src + off;
		d.dst = j->op == DSA_OP_CRC32C ? 0 : j->dst + off;
		d.size = n;
		if (j->op == DSA_OP_FILL)
			d.pattern = pattern_at(j->pattern, off);
		else if (j->op == DSA_OP_CRC32C)
			d.pattern = j->crc;
		ret = dsa_drv_submit(drv, 0, &d, 0, &ticket);
		if (!ret)
			ret = dsa_drv_wait(drv, ticket, &c);
		if (!ret)
			ret = dsa_drv_status_errno(&c);
		if (ret)
			break;
		if (j->op == DSA_OP_CRC32C)
			j->crc = c.crc;
		if (j->op == DSA_OP_COMPARE && c.result) {
			j->diff = (int64_t)(off + c.bytes_completed);
			break;
		}
		off += n;
	}
	if (out)
		*out = c;
	return ret;
}

/* Map one buffer; 0 or the DMA API's error. */
static int map(struct dma_dev *dma, uint64_t phys, uint64_t len, enum dma_data_direction dir,
	       dma_addr_t *a)
{
	*a = dma_map_single(dma, phys, len, dir);
	return *a == DMA_MAPPING_ERROR ? dma_mapping_error(dma, *a) : 0;
}

/* Two buffers, each mapped in its own direction (`dst_dir` DMA_NONE: only the source). */
static int run_mapped(struct dsa_drv *drv, struct job *j, uint64_t src, enum dma_data_direction sd,
		      uint64_t dst, enum dma_data_direction dd, struct dsa_completion *c)
{
	struct dma_dev *dma = dsa_drv_dma(drv);
	int ret = map(dma, src, j->len, sd, &j->src);

	if (ret)
		return ret;
	if (dd != DMA_NONE) {
		ret = map(dma, dst, j->len, dd, &j->dst);
		if (ret) {
			dma_unmap_single(dma, j->src, j->len, sd);
			return ret;
		}
	}
	ret = run_job(drv, j, c);
	if (dd != DMA_NONE)
		dma_unmap_single(dma, j->dst, j->len, dd);
	dma_unmap_single(dma, j->src, j->len, sd);
	return ret;
}

int dsa_drv_memmove(struct dsa_drv *drv, uint64_t dst, uint64_t src, uint64_t len,
		    struct dsa_completion *c)
{
	struct job j = {.op = DSA_OP_MEMMOVE, .len = len};
	uint64_t lo, hi;
	dma_addr_t a;
	int ret;

	if (!drv || !len)
		return -EINVAL;
	if (src + len <= dst || dst + len <= src)
		return run_mapped(drv, &j, src, DMA_TO_DEVICE, dst, DMA_FROM_DEVICE, c);
	/* Overlap: one mapping of both, so the device sees the overlap and copies in the
	 * right direction - possible within one descriptor only. */
	if (len > dsa_max_transfer_size(dsa_drv_dsa(drv)))
		return -EINVAL;
	lo = src < dst ? src : dst;
	hi = (src > dst ? src : dst) + len;
	ret = map(dsa_drv_dma(drv), lo, hi - lo, DMA_BIDIRECTIONAL, &a);
	if (ret)
		return ret;
	j.src = a + (src - lo);
	j.dst = a + (dst - lo);
	ret = run_job(drv, &j, c);
	dma_unmap_single(dsa_drv_dma(drv), a, hi - lo, DMA_BIDIRECTIONAL);
	return ret;
}

int dsa_drv_fill(struct dsa_drv *drv, uint64_t dst, uint64_t pattern, uint64_t len,
		 struct dsa_completion *c)
{
	struct job j = {.op = DSA_OP_FILL, .len = len, .pattern = pattern};
	int ret;

	if (!drv || !len)
		return -EINVAL;
	ret = map(dsa_drv_dma(drv), dst, len, DMA_FROM_DEVICE, &j.dst);
	if (ret)
		return ret;
	ret = run_job(drv, &j, c);
	dma_unmap_single(dsa_drv_dma(drv), j.dst, len, DMA_FROM_DEVICE);
	return ret;
}

int dsa_drv_compare(struct dsa_drv *drv, uint64_t a, uint64_t b, uint64_t len, int64_t *diff,
		    struct dsa_completion *c)
{
	struct job j = {.op = DSA_OP_COMPARE, .len = len};
	int ret;

	if (!drv || !len || !diff)
		return -EINVAL;
	ret = run_mapped(drv, &j, a, DMA_TO_DEVICE, b, DMA_TO_DEVICE, c);
	*diff = j.diff;
	return ret;
}

int dsa_drv_crc32c(struct dsa_drv *drv, uint64_t src, uint64_t len, uint32_t seed, uint32_t *crc,
		   struct dsa_completion *c)
{
	struct job j = {.op = DSA_OP_CRC32C, .len = len, .crc = seed};
	int ret;

	if (!drv || !len || !crc)
		return -EINVAL;
	ret = run_mapped(drv, &j, src, DMA_TO_DEVICE, 0, DMA_NONE, c);
	*crc = j.crc;
	return ret;
}
