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

/* Bits 0..n set (n <= 63). */
static uint64_t mask_upto(unsigned n)
{
	return n >= 63 ? ~0ull : (2ull << n) - 1;
}

static unsigned fls64(uint64_t x)
{
	return 63u - (unsigned)__builtin_clzll(x);
}

/*
 * The page size for the next run at (iova, paddr) with `size` bytes left, and in *count
 * how many pages of it to map: the largest supported size that divides both addresses and
 * fits, repeated up to the point where the next larger size could take over (both
 * addresses aligned to it and enough bytes left), so that 4K + 2M + 4K comes out as three
 * runs. The caller guarantees size and both addresses are multiples of the smallest size.
 */
static uint64_t iommu_pgsize(const struct iommu_domain *domain, uint64_t iova, uint64_t paddr,
			     uint64_t size, uint64_t *count)
{
	uint64_t sizes = domain->pgsize_bitmap & mask_upto(fls64(size));
	uint64_t addr = iova | paddr;
	uint64_t pgsize, larger, next, to_next;

	if (addr)
		sizes &= mask_upto((unsigned)__builtin_ctzll(addr));
	pgsize = 1ull << fls64(sizes);
	*count = size / pgsize;

	larger = domain->pgsize_bitmap & ~mask_upto(fls64(pgsize));
	if (!larger)
		return pgsize;
	next = larger & -larger;
	/* iova and paddr can only both reach a `next` boundary if they agree modulo it. */
	if ((iova ^ paddr) & (next - 1))
		return pgsize;
	to_next = next - (iova & (next - 1));
	if (to_next + next <= size)
		*count = to_next / pgsize;
	return pgsize;
}

/* The checks map and unmap share. */
static int iommu_range_check(const struct iommu_domain *domain, uint64_t iova, uint64_t paddr,
			     uint64_t size)
{
	uint64_t min_pgsize;

	if (!domain || !iommu_is_paging_domain(domain) || !size)
		return -EINVAL;
	if (!domain->pgsize_bitmap)
		return -ENODEV;
	min_pgsize = domain->pgsize_bitmap & -domain->pgsize_bitmap;
	if ((iova | paddr | size) & (min_pgsize - 1))
		return -EINVAL;
	if (iova < domain->aperture_start || iova > domain->aperture_end ||
	    size - 1 > domain->aperture_end - iova)
		return -ERANGE;
	return 0;
}

int iommu_map(struct iommu_domain *domain, uint64_t iova, uint64_t paddr, uint64_t size,
	      unsigned int prot)
{
	const uint64_t start = iova, total = size;
	int ret = iommu_range_check(domain, iova, paddr, size);

	if (ret)
		return ret;
	if (prot & ~IOMMU_PROT_MASK)
		return -EINVAL;
	if (!domain->ops->map_pages)
		return -ENODEV;
	while (size) {
		uint64_t count, mapped = 0;
		uint64_t pgsize = iommu_pgsize(domain, iova, paddr, size, &count);

		ret = domain->ops->map_pages(domain, iova, paddr, pgsize, count, prot, &mapped);
		if (mapped > pgsize * count) {
			ret = -EIO;
			mapped = 0;
		}
		iova += mapped;
		paddr += mapped;
		size -= mapped;
		if (ret)
			break;
		if (!mapped) {
			/* A driver that maps nothing and reports success would loop us forever. */
			ret = -EIO;
			break;
		}
	}
	if (!ret && domain->ops->iotlb_sync_map)
		ret = domain->ops->iotlb_sync_map(domain, start, total);
	/* Leave nothing of a failed map behind. */
	if (ret && total - size)
		iommu_unmap(domain, start, total - size);
	return ret;
}

ssize_t iommu_unmap_fast(struct iommu_domain *domain, uint64_t iova, uint64_t size,
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
		uint64_t pgsize = iommu_pgsize(domain, iova, iova, size - unmapped, &count);

		done = domain->ops->unmap_pages(domain, iova, pgsize, count, gather);
		if (!done)
			break; /* a hole: stop, as Linux does */
		iova += done;
		unmapped += done;
	}
	return (ssize_t)unmapped;
}

ssize_t iommu_unmap(struct iommu_domain *domain, uint64_t iova, uint64_t size)
{
	struct iommu_iotlb_gather gather;
	ssize_t ret;

	iommu_iotlb_gather_init(&gather);
	ret = iommu_unmap_fast(domain, iova, size, &gather);
	iommu_iotlb_sync(domain, &gather);
	return ret;
}

void iommu_iotlb_sync(struct iommu_domain *domain, struct iommu_iotlb_gather *gather)
{
	bool queued;

	if (!domain || !gather)
		return;
	if (!iommu_iotlb_gather_empty(gather) && domain->ops && domain->ops->iotlb_sync)
		domain->ops->iotlb_sync(domain, gather);
	/* The flush is done: the table pages cannot be walked any more. */
	iommu_put_pages_list(&gather->freelist);
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
