// SPDX-License-Identifier: MIT
/*
 * The operations of the DSA-like engine, each done as DMA through the device's endpoint.
 *
 * The engine moves data in pieces that never cross a 4 KiB boundary on any side (a PCIe
 * request never does), so a failed request means that nothing of its piece was transferred:
 * the bytes completed are exactly the pieces before it, and no byte past the faulting
 * address is read or written. Each piece is read into the engine's internal buffer before
 * it is written (memmove) or compared, as a hardware engine does. A memmove whose ranges do
 * not overlap uses the endpoint's copy (pci_endpoint_dma_copy), which keeps those rules
 * with pieces as large as the translations allow.
 */
#include "devices/dsa_internal.h"

#include <errno.h>
#include <string.h>

/* Bytes from `addr` to the next 4 KiB boundary. */
static uint32_t to_page_end(uint64_t addr)
{
	return DSA_PAGE - (uint32_t)(addr & (DSA_PAGE - 1));
}

/* Bytes from the previous 4 KiB boundary (or `addr` - DSA_PAGE) up to `end`. */
static uint32_t from_page_start(uint64_t end)
{
	uint32_t n = (uint32_t)(end & (DSA_PAGE - 1));

	return n ? n : DSA_PAGE;
}

static uint32_t min3(uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t m = a < b ? a : b;

	return m < c ? m : c;
}

/* How the endpoint's error is reported: a refused or insufficient translation is a page
 * fault; PASID use the function does not allow is an invalid PASID; the rest a DMA error. */
static uint8_t status_of(int err)
{
	switch (err) {
	case -EFAULT:
	case -EACCES:
		return DSA_COMP_PAGE_FAULT;
	case -EOPNOTSUPP:
	case -ERANGE:
		return DSA_COMP_INVALID_PASID;
	default:
		return DSA_COMP_DMA_ERROR;
	}
}

/* Describe the endpoint's error `ret` on a request (status `st`) in `r`; `fi` carries the
 * fault-info bits the caller knows (DSA_FI_SRC2, DSA_FI_WRITE). */
static void dma_result(struct dsa_result *r, int ret, const struct pci_dma_status *st, uint8_t fi)
{
	r->status = status_of(ret);
	r->fault_info = (uint8_t)(fi | (st->at << DSA_FI_AT_SHIFT));
	r->fault_reason = st->fault;
	r->fault_addr = st->addr;
	if (r->status == DSA_COMP_DMA_ERROR)
		r->error = ret;
}

/* What a copy through the endpoint did (its result `ret`, its status `st`). */
static void copy_result(struct dsa_result *r, int ret, const struct pci_dma_status *st)
{
	r->done = (uint32_t)st->done;
	if (ret)
		dma_result(r, ret, st, st->write ? DSA_FI_WRITE : 0);
}

int dsa_dma(struct dsa_xfer *x, bool write, uint64_t addr, void *buf, size_t len, uint8_t fi)
{
	struct pci_endpoint *ep = x->dsa->ep;
	struct pci_dma_status st;
	int ret;

	if (x->dsa->access)
		x->dsa->access(x->dsa->access_ctx, x->flags & PCI_DMA_PASID, x->pasid, addr, len,
			       write);
	if (write)
		ret = pci_endpoint_dma_write(ep, x->flags, x->pasid, addr, buf, len, &st);
	else
		ret = pci_endpoint_dma_read(ep, x->flags, x->pasid, addr, buf, len, &st);
	if (!ret)
		return 0;
	dma_result(x->res, ret, &st, (uint8_t)(fi | (write ? DSA_FI_WRITE : 0)));
	return ret;
}

/* Forward: pieces from the start, for dst at or below src with overlap. */
static void memmove_forward(struct dsa_xfer *x, const struct dsa_desc *d)
{
	uint8_t *buf = x->wq->buf[0];
	uint32_t off = 0;

	while (off < d->size) {
		uint32_t n =
		    min3(d->size - off, to_page_end(d->src + off), to_page_end(d->dst + off));

		if (dsa_dma(x, false, d->src + off, buf, n, 0) ||
		    dsa_dma(x, true, d->dst + off, buf, n, 0))
			break;
		off += n;
	}
	x->res->done = off;
}

/* Backward: pieces from the end, for dst above src with overlap. Each piece is read whole
 * before it is written, and every source byte it overwrites belongs to this piece or was
 * already copied, so the result is memmove's. The completed bytes are the last ones. */
static void memmove_backward(struct dsa_xfer *x, const struct dsa_desc *d)
{
	uint8_t *buf = x->wq->buf[0];
	uint32_t left = d->size;

	x->res->result = 1;
	while (left) {
		uint32_t n =
		    min3(left, from_page_start(d->src + left), from_page_start(d->dst + left));

		if (dsa_dma(x, false, d->src + left - n, buf, n, 0) ||
		    dsa_dma(x, true, d->dst + left - n, buf, n, 0))
			break;
		left -= n;
	}
	x->res->done = d->size - left;
}

/* Ranges that do not overlap: the endpoint's copy, which moves whole translated runs (the
 * internal buffer is the endpoint's business). Same fault semantics as the piecewise path:
 * each piece is translated on both sides before any of its bytes move. */
static void memmove_copy(struct dsa_xfer *x, const struct dsa_desc *d)
{
	struct dsa *dsa = x->dsa;
	struct pci_dma_status st;
	struct dsa_result *r = x->res;
	int ret;

	if (dsa->access) {
		bool pasid = x->flags & PCI_DMA_PASID;

		dsa->access(dsa->access_ctx, pasid, x->pasid, d->src, d->size, false);
		dsa->access(dsa->access_ctx, pasid, x->pasid, d->dst, d->size, true);
	}
	ret = pci_endpoint_dma_copy(dsa->ep, x->flags, x->pasid, d->dst, d->src, d->size, &st);
	copy_result(r, ret, &st);
}

bool dsa_memmove_whole(const struct dsa_desc *d)
{
	return dsa_desc_op(d) == DSA_OP_MEMMOVE &&
	       !(d->src < d->dst + d->size && d->dst < d->src + d->size);
}

int dsa_op_memmove_record(struct dsa_xfer *x, const struct dsa_desc *d,
			  const struct dsa_completion *c, struct dsa_result *wr)
{
	struct dsa *dsa = x->dsa;
	struct pci_dma_status st, wst;
	int ret, wret;

	ret = pci_endpoint_dma_copy_write(dsa->ep, x->flags, x->pasid, d->dst, d->src, d->size, &st,
					  d->completion, c, DSA_COMP_SIZE, &wret, &wst);
	if (ret) {
		copy_result(x->res, ret, &st);
		return ret;
	}
	x->res->done = d->size;
	*wr = (struct dsa_result){0};
	if (wret)
		dma_result(wr, wret, &wst, DSA_FI_WRITE);
	return 0;
}

void dsa_op_memmove(struct dsa_xfer *x, const struct dsa_desc *d)
{
	/* Descriptor checks guarantee that neither range wraps. */
	bool overlap = d->src < d->dst + d->size && d->dst < d->src + d->size;

	if (!overlap)
		memmove_copy(x, d);
	else if (d->dst > d->src)
		memmove_backward(x, d);
	else
		memmove_forward(x, d);
}

void dsa_op_fill(struct dsa_xfer *x, const struct dsa_desc *d)
{
	uint8_t *pat = x->wq->pattern;
	uint32_t off = 0;

	/* Byte i of the fill is byte (i mod 8) of the little-endian pattern: a buffer of the
	 * repeated pattern, entered at offset (off mod 8), serves every piece. */
	for (unsigned i = 0; i < sizeof(x->wq->pattern); i++)
		pat[i] = (uint8_t)(d->pattern >> (8 * (i % 8)));
	while (off < d->size) {
		uint32_t n = min3(d->size - off, to_page_end(d->dst + off), DSA_PAGE);

		if (dsa_dma(x, true, d->dst + off, pat + off % 8, n, 0))
			break;
		off += n;
	}
	x->res->done = off;
}

void dsa_op_compare(struct dsa_xfer *x, const struct dsa_desc *d)
{
	uint8_t *a = x->wq->buf[0], *b = x->wq->buf[1];
	uint32_t off = 0;

	while (off < d->size) {
		uint32_t n =
		    min3(d->size - off, to_page_end(d->src + off), to_page_end(d->dst + off));

		if (dsa_dma(x, false, d->src + off, a, n, 0) ||
		    dsa_dma(x, false, d->dst + off, b, n, DSA_FI_SRC2))
			break;
		if (memcmp(a, b, n)) {
			uint32_t i = 0;

			while (a[i] == b[i])
				i++;
			x->res->result = 1;
			x->res->done = off + i;
			return;
		}
		off += n;
	}
	x->res->done = off;
}

void dsa_op_crc32c(struct dsa_xfer *x, const struct dsa_desc *d)
{
	uint8_t *buf = x->wq->buf[0];
	uint32_t crc = (uint32_t)d->pattern;
	uint32_t off = 0;

	while (off < d->size) {
		uint32_t n = min3(d->size - off, to_page_end(d->src + off), DSA_PAGE);

		if (dsa_dma(x, false, d->src + off, buf, n, 0))
			break;
		crc = dsa_crc32c(crc, buf, n);
		off += n;
	}
	x->res->done = off;
	x->res->crc = crc;
}
