// SPDX-License-Identifier: MIT
/*
 * Mapping through a domain: split a range into the largest page sizes the domain
 * supports, hand runs of equal pages to the driver (map_pages / unmap_pages take a page
 * size and a count, so a driver walks its table once per run, not once per page), and
 * batch invalidations in a gather that one iotlb_sync flushes.
 */
#include <errno.h>
#include <limits.h>

#include "core/core.h"

static inline unsigned fls64(uint64_t x)
{
	return 63u - (unsigned)__builtin_clzll(x);
}

/*
 * The page size for the next run at (iova, paddr) with `size` bytes left, and in *count
 * how many pages of it to map: the largest supported size that divides both addresses and
 * fits, repeated up to the point where the next larger size could take over (both
 * addresses aligned to it and enough bytes left), so that 4K + 2M + 4K comes out as three
 * runs. The caller guarantees size and both addresses are multiples of the smallest size.
 * Branch-light because it runs once per map and unmap of every DMA buffer.
 */
static inline uint64_t iommu_pgsize(uint64_t pgsizes, uint64_t iova, uint64_t paddr, uint64_t size,
				    uint64_t *count)
{
	uint64_t addr = iova | paddr;
	/* sizes <= size, and sizes dividing addr (addr ^ (addr - 1) is all ones for 0) */
	uint64_t sizes = pgsizes & (~0ull >> (63 - fls64(size))) & (addr ^ (addr - 1));
	unsigned shift = fls64(sizes);
	uint64_t larger = pgsizes & ~(~0ull >> (63 - shift));

	*count = size >> shift;
	if (larger) {
		uint64_t next = larger & -larger, to_next = next - (iova & (next - 1));

		/* iova and paddr can only reach a `next` boundary together if they agree
		 * modulo `next`; then stop there if a `next` page fits after it. */
		if (!((iova ^ paddr) & (next - 1)) && size >= next && to_next <= size - next)
			*count = to_next >> shift;
	}
	return 1ull << shift;
}

/* The checks map and unmap share. */
static inline int iommu_range_check(const struct iommu_domain *domain, uint64_t iova,
				    uint64_t paddr, uint64_t size)
{
	uint64_t last = iova + size - 1;

	if (!domain || !iommu_is_paging_domain(domain) || !size)
		return -EINVAL;
	if (!domain->pgsize_bitmap)
		return -ENODEV;
	if ((iova | paddr | size) & ((domain->pgsize_bitmap & -domain->pgsize_bitmap) - 1))
		return -EINVAL;
	if (last < iova || iova < domain->aperture_start || last > domain->aperture_end)
		return -ERANGE;
	return 0;
}

/*
 * Map [iova, iova + size) run by run; *done gets the bytes mapped, also on error.
 * -EIO if the driver claims more than it was asked or success without progress.
 */
static int iommu_map_runs(struct iommu_domain *domain, uint64_t iova, uint64_t paddr, uint64_t size,
			  unsigned int prot, uint64_t *done)
{
	int ret = 0;

	*done = 0;
	while (*done < size) {
		uint64_t count, mapped = 0;
		uint64_t pgsize =
		    iommu_pgsize(domain->pgsize_bitmap, iova, paddr, size - *done, &count);

		ret = domain->ops->map_pages(domain, iova, paddr, pgsize, count, prot, &mapped);
		if (mapped > pgsize * count)
			return -EIO; /* nothing it says can be trusted: undo what came before */
		iova += mapped;
		paddr += mapped;
		*done += mapped;
		if (ret)
			return ret;
		if (!mapped)
			return -EIO; /* success without progress would loop forever */
	}
	return 0;
}

/*
 * A single-page map went wrong (the driver failed, or reported what it cannot have done):
 * the general path's verdict and clean-up for it, out of line.
 */
static __attribute__((noinline)) int iommu_map_one_failed(struct iommu_domain *domain,
							  uint64_t iova, uint64_t size, int ret,
							  uint64_t done)
{
	if (done > size || (!ret && done != size)) {
		done = done > size ? 0 : done;
		ret = -EIO;
	}
	if (done)
		iommu_unmap(domain, iova, done);
	return ret;
}

/* The general path: every check, then the range run by run. */
static __attribute__((noinline)) int iommu_map_range(struct iommu_domain *domain, uint64_t iova,
						     uint64_t paddr, uint64_t size,
						     unsigned int prot)
{
	uint64_t done = 0;
	int ret = iommu_range_check(domain, iova, paddr, size);

	if (ret)
		return ret;
	if (prot & ~IOMMU_PROT_MASK)
		return -EINVAL;
	if (!domain->ops->map_pages)
		return -ENODEV;
	ret = iommu_map_runs(domain, iova, paddr, size, prot, &done);
	if (!ret && domain->ops->iotlb_sync_map)
		ret = domain->ops->iotlb_sync_map(domain, iova, size);
	/* Leave nothing of a failed map behind. */
	if (ret && done)
		iommu_unmap(domain, iova, done);
	return ret;
}

int iommu_map(struct iommu_domain *domain, uint64_t iova, uint64_t paddr, uint64_t size,
	      unsigned int prot)
{
	const struct iommu_domain_ops *ops;
	uint64_t done = 0;
	int ret;

	/*
	 * One page of the smallest size, the DMA API's common case, when every check of
	 * iommu_map_range() passes - in one condition, in a different order, which is fine
	 * because any failure goes to iommu_map_range() for the error it names. The checks
	 * agree: size is the smallest page, so it is not 0, the domain has page sizes and
	 * size is aligned to itself; iova is a multiple of that power of two, so its last
	 * byte iova + size - 1 cannot wrap. Then iommu_map_runs() would make this same one
	 * call (iommu_pgsize() of one smallest page is that page, count 1), and the
	 * iotlb_sync_map and the undo below are iommu_map_range()'s own.
	 */
	if (domain && iommu_is_paging_domain(domain) && size &&
	    size == (domain->pgsize_bitmap & -domain->pgsize_bitmap) &&
	    !((iova | paddr) & (size - 1)) && !(prot & ~IOMMU_PROT_MASK) &&
	    iova >= domain->aperture_start && iova + (size - 1) <= domain->aperture_end &&
	    (ops = domain->ops)->map_pages) {
		ret = ops->map_pages(domain, iova, paddr, size, 1, prot, &done);
		if (ret || done != size)
			return iommu_map_one_failed(domain, iova, size, ret, done);
		if (ops->iotlb_sync_map) {
			ret = ops->iotlb_sync_map(domain, iova, size);
			if (ret)
				iommu_unmap(domain, iova, size);
		}
		return ret;
	}
	return iommu_map_range(domain, iova, paddr, size, prot);
}

/* The general path of iommu_unmap_fast(): every check, then the range run by run. */
static __attribute__((noinline)) ssize_t iommu_unmap_range(struct iommu_domain *domain,
							   uint64_t iova, uint64_t size,
							   struct iommu_iotlb_gather *gather)
{
	uint64_t unmapped = 0;
	int ret = iommu_range_check(domain, iova, iova, size);

	if (ret)
		return ret;
	if (!gather || size > SSIZE_MAX)
		return -EINVAL;
	if (!domain->ops->unmap_pages)
		return -ENODEV;
	while (unmapped < size) {
		uint64_t count, done;
		uint64_t pgsize =
		    iommu_pgsize(domain->pgsize_bitmap, iova, iova, size - unmapped, &count);

		done = domain->ops->unmap_pages(domain, iova, pgsize, count, gather);
		if (!done)
			break; /* a hole: stop, as Linux does */
		iova += done;
		unmapped += done;
	}
	return (ssize_t)unmapped;
}

ssize_t iommu_unmap_fast(struct iommu_domain *domain, uint64_t iova, uint64_t size,
			 struct iommu_iotlb_gather *gather)
{
	/*
	 * One page of the smallest size, every check of iommu_unmap_range() passing, as in
	 * iommu_map(): size - 1 < SSIZE_MAX is size != 0 and size <= SSIZE_MAX at once; the
	 * loop there would make this one call and return what it returns.
	 */
	if (domain && iommu_is_paging_domain(domain) && size - 1 < (uint64_t)SSIZE_MAX &&
	    size == (domain->pgsize_bitmap & -domain->pgsize_bitmap) && !(iova & (size - 1)) &&
	    iova >= domain->aperture_start && iova + (size - 1) <= domain->aperture_end && gather &&
	    domain->ops->unmap_pages)
		return (ssize_t)domain->ops->unmap_pages(domain, iova, size, 1, gather);
	return iommu_unmap_range(domain, iova, size, gather);
}

/* Flush what the gather holds and release its table pages; the gather is spent. */
static void iommu_gather_flush(struct iommu_domain *domain, struct iommu_iotlb_gather *gather)
{
	if (!iommu_iotlb_gather_empty(gather) && domain->ops && domain->ops->iotlb_sync)
		domain->ops->iotlb_sync(domain, gather);
	/* The flush is done: the table pages cannot be walked any more. */
	if (gather->freelist.pages)
		iommu_put_pages_list(&gather->freelist);
}

ssize_t iommu_unmap(struct iommu_domain *domain, uint64_t iova, uint64_t size)
{
	struct iommu_iotlb_gather gather;
	ssize_t ret;

	iommu_iotlb_gather_init(&gather);
	ret = iommu_unmap_fast(domain, iova, size, &gather);
	if (ret > 0)
		iommu_gather_flush(domain, &gather);
	return ret;
}

void iommu_iotlb_sync(struct iommu_domain *domain, struct iommu_iotlb_gather *gather)
{
	bool queued;

	if (!domain || !gather)
		return;
	iommu_gather_flush(domain, gather);
	queued = gather->queued;
	iommu_iotlb_gather_init(gather);
	gather->queued = queued;
}

void iommu_iotlb_gather_add_page(struct iommu_domain *domain, struct iommu_iotlb_gather *gather,
				 uint64_t iova, uint64_t size)
{
	if ((gather->pgsize && gather->pgsize != size) ||
	    iommu_iotlb_gather_is_disjoint(gather, iova, size))
		iommu_iotlb_sync(domain, gather);
	gather->pgsize = size;
	iommu_iotlb_gather_add_range(gather, iova, size);
}

void iommu_flush_iotlb_all(struct iommu_domain *domain)
{
	if (domain && iommu_is_paging_domain(domain) && domain->ops->flush_iotlb_all)
		domain->ops->flush_iotlb_all(domain);
}

int iommu_iova_to_phys(struct iommu_domain *domain, uint64_t iova, uint64_t *paddr)
{
	if (!domain || !paddr)
		return -EINVAL;
	if (domain->type == IOMMU_DOMAIN_IDENTITY) {
		*paddr = iova;
		return 0;
	}
	if (!iommu_is_paging_domain(domain))
		return -ENOENT;
	if (!domain->ops->iova_to_phys)
		return -EOPNOTSUPP;
	return domain->ops->iova_to_phys(domain, iova, paddr);
}
