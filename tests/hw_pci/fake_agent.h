/* SPDX-License-Identifier: MIT */
/*
 * A translation agent for the endpoint tests: a small table of naturally aligned mappings
 * per PASID-or-none, answering the three request types the way an IOMMU does:
 *  - AT=0: permission-checked translation, UR with a fault code otherwise;
 *  - AT=1: an ATS completion (R=W=0 when there is no mapping; W dropped for NW requests,
 *    X only for execute requests), size = the mapping's size;
 *  - AT=2: accepted unless `block_translated`.
 * Like an IOMMU that drains, it counts every AT=0 and AT=2 request it completes PCI_SC in
 * flight (PCI_RESP_INFLIGHT) until the endpoint's done(), which must come exactly once, from
 * the thread that translated: fake_fini() aborts the test if a request is left in flight or
 * a done() was wrong, and fake_inflight() tells the tests in between.
 * Knobs inject the failures the endpoint must handle. Thread-safe (one mutex), and the
 * hook runs outside it so it may call back into the endpoint.
 */
#ifndef SOFTIOMMU_TEST_FAKE_AGENT_H
#define SOFTIOMMU_TEST_FAKE_AGENT_H

#include <errno.h>
#include <pthread.h>
#include <softiommu/pci.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_MAPS 1024

/* The fake's fault reason codes (an IOMMU's own; the endpoint only passes them on). */
#define FAKE_FAULT_NOMAP 0x71
#define FAKE_FAULT_READ	 0x84
#define FAKE_FAULT_WRITE 0x85
#define FAKE_FAULT_EXEC	 0x86
#define FAKE_FAULT_ATS	 0x44

struct fake_map {
	bool used;
	bool has_pasid;
	uint32_t pasid;
	uint64_t iova, size, pa;
	uint8_t perm; /* PCI_PERM_R/W/X/U/GLOBAL */
};

struct fake_agent {
	pthread_mutex_t lock;
	struct fake_map maps[FAKE_MAPS];
	unsigned count[3];	/* requests per AT */
	struct pci_req last[3]; /* last request per AT */
	bool block_translated;	/* AT=2 -> UR */
	bool ats_ur;		/* AT=1 -> UR */
	bool force_size_on;	/* AT=1 answers with page size force_size (malformed completions) */
	uint64_t force_size;
	int64_t force_offset; /* added to AT=1 addresses (malformed-completion tests) */
	int force_err;	      /* translate returns this */
	void (*hook)(void *ctx, const struct pci_req *req); /* called first, unlocked */
	void *hook_ctx;
	/* Requests in flight: marked PCI_RESP_INFLIGHT, done() calls, bad done() calls (no
	 * flag, or on a thread with nothing in flight). */
	unsigned long marked, dones, bad_dones;
};

/* This thread's requests in flight (done() must come from the thread that translated). */
static _Thread_local long fake_tl_inflight;

static inline void fake_init(struct fake_agent *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
}

/* Requests marked in flight and not done yet (-1 after a bad done()). */
static inline long fake_inflight(struct fake_agent *f)
{
	long n;

	pthread_mutex_lock(&f->lock);
	n = f->bad_dones ? -1 : (long)(f->marked - f->dones);
	pthread_mutex_unlock(&f->lock);
	return n;
}

static inline void fake_fini(struct fake_agent *f)
{
	if (f->marked != f->dones || f->bad_dones) {
		fprintf(stderr, "fake agent: %lu requests marked in flight, %lu done(), %lu bad\n",
			f->marked, f->dones, f->bad_dones);
		abort();
	}
	pthread_mutex_destroy(&f->lock);
}

/* Add or replace (same tag and iova) a mapping. Returns its slot or -1. */
static inline int fake_map(struct fake_agent *f, bool has_pasid, uint32_t pasid, uint64_t iova,
			   uint64_t size, uint64_t pa, uint8_t perm)
{
	int slot = -1;

	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < FAKE_MAPS; i++) {
		struct fake_map *m = &f->maps[i];

		if (m->used && m->has_pasid == has_pasid && m->pasid == pasid && m->iova == iova) {
			slot = i;
			break;
		}
		if (!m->used && slot < 0)
			slot = i;
	}
	if (slot >= 0)
		f->maps[slot] = (struct fake_map){true, has_pasid, pasid, iova, size, pa, perm};
	pthread_mutex_unlock(&f->lock);
	return slot;
}

static inline void fake_unmap_all(struct fake_agent *f)
{
	pthread_mutex_lock(&f->lock);
	memset(f->maps, 0, sizeof(f->maps));
	pthread_mutex_unlock(&f->lock);
}

static inline const struct fake_map *fake_find(const struct fake_agent *f,
					       const struct pci_req *req)
{
	bool has_pasid = req->flags & PCI_REQ_PASID;

	for (int i = 0; i < FAKE_MAPS; i++) {
		const struct fake_map *m = &f->maps[i];

		if (m->used && m->has_pasid == has_pasid &&
		    (!has_pasid || m->pasid == req->pasid) && req->addr >= m->iova &&
		    req->addr - m->iova < m->size)
			return m;
	}
	return NULL;
}

static inline void fake_ur(struct pci_resp *resp, uint8_t fault)
{
	resp->status = PCI_UR;
	resp->fault = fault;
	resp->flags = PCI_RESP_FAULT_RECORDED;
}

static inline int fake_translate(void *ctx, const struct pci_req *req, struct pci_resp *resp)
{
	struct fake_agent *f = ctx;
	const struct fake_map *m;
	int ret = 0;

	if (f->hook)
		f->hook(f->hook_ctx, req);
	pthread_mutex_lock(&f->lock);
	if (req->at <= PCI_AT_TRANSLATED) {
		f->count[req->at]++;
		f->last[req->at] = *req;
	}
	*resp = (struct pci_resp){0};
	if (f->force_err) {
		ret = f->force_err;
		goto out;
	}
	if (req->at == PCI_AT_TRANSLATED) {
		if (f->block_translated)
			fake_ur(resp, FAKE_FAULT_ATS);
		else
			resp->addr = req->addr;
		goto mark;
	}
	if (req->at == PCI_AT_TRANSLATION && f->ats_ur) {
		fake_ur(resp, FAKE_FAULT_ATS);
		goto out;
	}
	m = fake_find(f, req);
	if (req->at == PCI_AT_UNTRANSLATED) {
		if (!m)
			fake_ur(resp, FAKE_FAULT_NOMAP);
		else if ((req->flags & PCI_REQ_WRITE) && !(m->perm & PCI_PERM_W))
			fake_ur(resp, FAKE_FAULT_WRITE);
		else if ((req->flags & PCI_REQ_READ) && !(m->perm & PCI_PERM_R))
			fake_ur(resp, FAKE_FAULT_READ);
		else if ((req->flags & PCI_REQ_EXEC) && !(m->perm & PCI_PERM_X))
			fake_ur(resp, FAKE_FAULT_EXEC);
		else
			resp->addr = m->pa + (req->addr - m->iova);
		if (m)
			resp->page_size = m->size;
		goto mark;
	}
	/* ATS translation request: always a successful completion. */
	if (!m)
		goto out; /* R=W=0 */
	resp->perm = m->perm & (PCI_PERM_R | PCI_PERM_W | PCI_PERM_U | PCI_PERM_GLOBAL);
	if (req->flags & PCI_REQ_NW)
		resp->perm &= (uint8_t)~PCI_PERM_W;
	if ((req->flags & PCI_REQ_EXEC) && (m->perm & PCI_PERM_X))
		resp->perm |= PCI_PERM_X;
	if (req->flags & PCI_REQ_PRIV)
		resp->perm |= PCI_PERM_PRIV;
	resp->addr = m->pa + (req->addr - m->iova) + (uint64_t)f->force_offset;
	resp->page_size = f->force_size_on ? f->force_size : m->size;
	goto out;
mark:
	if (resp->status == PCI_SC) {
		resp->flags |= PCI_RESP_INFLIGHT;
		f->marked++;
		fake_tl_inflight++;
	}
out:
	pthread_mutex_unlock(&f->lock);
	return ret;
}

static inline int fake_done(void *ctx, const struct pci_req *req, struct pci_resp *resp)
{
	struct fake_agent *f = ctx;
	int ret = 0;

	(void)req;
	pthread_mutex_lock(&f->lock);
	if (!resp || !(resp->flags & PCI_RESP_INFLIGHT) || fake_tl_inflight <= 0) {
		f->bad_dones++;
		ret = -EINVAL;
	} else {
		resp->flags &= (uint8_t)~PCI_RESP_INFLIGHT;
		f->dones++;
		fake_tl_inflight--;
	}
	pthread_mutex_unlock(&f->lock);
	return ret;
}

static inline struct pci_translation_agent fake_as_agent(struct fake_agent *f)
{
	return (struct pci_translation_agent){
	    .translate = fake_translate, .ctx = f, .done = fake_done};
}

static inline unsigned fake_count(struct fake_agent *f, unsigned at)
{
	unsigned n;

	pthread_mutex_lock(&f->lock);
	n = f->count[at];
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* The tests' usual function: RID 01:00.0, 20-bit PASID with execute and privileged mode,
 * ATS enabled (STU 0), a 16 x 4 ATC, DMA into `mem` through `f`. */
static inline struct pci_endpoint_config fake_ep_config(struct fake_agent *f, struct mem *mem)
{
	return (struct pci_endpoint_config){
	    .rid = PCI_RID(1, 0, 0),
	    .pasid_width = 20,
	    .pasid_exec_supported = true,
	    .pasid_priv_supported = true,
	    .pasid_enable = true,
	    .pasid_exec_enable = true,
	    .pasid_priv_enable = true,
	    .ats = true,
	    .ats_enable = true,
	    .atc_sets = 16,
	    .atc_ways = 4,
	    .agent = fake_as_agent(f),
	    .mem = mem,
	};
}

#endif
