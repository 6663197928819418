// SPDX-License-Identifier: MIT
/*
 * Thread slots and the request memos (memo.h).
 *
 * A thread gets a slot (1..VTD_THREAD_SLOTS) at its first translation and gives it back
 * when it exits, so that a pool that replaces its threads keeps finding slots. A slot
 * indexes the thread's counter shard in every cache and its memo in every unit. A slot
 * reused by a new thread inherits the old thread's memos: their entries stay checked by
 * versions and generations, so that is harmless.
 */
#include "memo.h"

#include "caches.h"
#include "drain.h"
#include "util/zalloc.h"

#include <stdlib.h>

_Thread_local unsigned vtd_tslot __attribute__((tls_model("initial-exec")));

static uint64_t slots_used; /* bit n: slot n + 1 taken */
static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static bool slot_key_ok;

static void slot_release(void *v)
{
	unsigned s = (unsigned)(uintptr_t)v;

	/* Release: what the thread wrote into its shards and memos is visible to the next
	 * thread that takes the slot (its fetch_or acquires). Requests it left in flight
	 * make no access any more: drains must not wait for them. */
	if (s >= 1 && s <= VTD_THREAD_SLOTS) {
		vtd_drain_thread_exit(s);
		__atomic_fetch_and(&slots_used, ~(1ull << (s - 1)), __ATOMIC_RELEASE);
	}
}

static void slot_key_create(void)
{
	slot_key_ok = pthread_key_create(&slot_key, slot_release) == 0;
}

unsigned vtd_tslot_init(void)
{
	_Static_assert(VTD_THREAD_SLOTS == 64, "one bit of slots_used per slot");
	_Static_assert(sizeof(struct vtd_memo_ent) == 64, "a memo entry is one cache line");
	pthread_once(&slot_once, slot_key_create);
	vtd_tslot = VTD_THREAD_SLOTS + 1; /* no slot, unless one is free below */
	if (!slot_key_ok)
		return vtd_tslot;
	for (;;) {
		uint64_t used = __atomic_load_n(&slots_used, __ATOMIC_RELAXED);
		unsigned n;

		if (!~used)
			return vtd_tslot;
		n = (unsigned)__builtin_ctzll(~used);
		if (__atomic_fetch_or(&slots_used, 1ull << n, __ATOMIC_ACQUIRE) & (1ull << n))
			continue; /* another thread took it first */
		if (pthread_setspecific(slot_key, (void *)(uintptr_t)(n + 1))) {
			__atomic_fetch_and(&slots_used, ~(1ull << n), __ATOMIC_RELEASE);
			return vtd_tslot;
		}
		vtd_tslot = n + 1;
		return vtd_tslot;
	}
}

struct vtd_memo *vtd_memo_create(struct vtd *vtd)
{
	unsigned s = vtd_thread_slot();
	struct vtd_memo *m;

	if (!vtd->memo_ok || s > VTD_THREAD_SLOTS)
		return NULL;
	m = __atomic_load_n(&vtd->memo[s], __ATOMIC_ACQUIRE);
	if (m)
		return m;
	/* Only this thread creates the memo of its slot: no race to publish it. */
	size_t size = sizeof(*m) + vtd->memo_n * sizeof(m->ent[0]);

	m = zalloc_lines(size); /* entries on cache lines (sizes are multiples of 64) */
	if (!m)
		return NULL; /* no memo: the full path serves */
	m->rq = zalloc_lines(VTD_MEMO_RQ_N * sizeof(*m->rq));
	m->psc = zalloc_lines(VTD_MEMO_PSC_N * sizeof(*m->psc));
	if (!m->rq || !m->psc) {
		free(m->rq);
		free(m->psc);
		free(m);
		return NULL;
	}
	/* Drains look at the memos of these slots (drain.c); known before its first count,
	 * with a full barrier. */
	__atomic_fetch_or(&vtd->memo_slots, 1ull << (s - 1), __ATOMIC_SEQ_CST);
	__atomic_store_n(&vtd->memo[s], m, __ATOMIC_RELEASE);
	return m;
}

void vtd_memo_fill(struct vtd *vtd, const struct pci_req *req, const struct pci_resp *resp,
		   bool legacy, const struct vtd_iotlb_ent *ent, int tlb_slot, uint32_t ver,
		   const struct vtd_run *run)
{
	uint64_t size = 1ull << ent->shift;
	struct vtd_memo *m;

	/* Translated requests pass through without the IOTLB: never here. */
	if (req->at > PCI_AT_TRANSLATION || run->ctx_slot < 0 || (!legacy && run->pc_slot < 0) ||
	    tlb_slot < 0 || __atomic_load_n(&vtd->check, __ATOMIC_RELAXED) ||
	    !(m = run->memo ? run->memo : vtd_memo_create(vtd)))
		return;
	vtd_memo_put(vtd, m, vtd_memo_slot(vtd, m, vtd_memo_word(req), req->addr >> 12), req,
		     ((ent->out & ~(size - 1)) | (req->addr & (size - 1))) & ~0xfffull,
		     resp->page_size, resp->perm, (unsigned)tlb_slot, ver, (uint32_t)run->ctx_slot,
		     (uint32_t)run->pc_slot, run->sgen, legacy);
}

struct vtd_memo_rq *vtd_memo_rq_fill(struct vtd *vtd, const struct pci_req *req,
				     const struct vtd_access *a, const struct vtd_pe *pe, bool fpd,
				     bool pass, const struct vtd_run *run)
{
	bool legacy = pe->flags & VTD_PE_LEGACY;
	uint64_t w = vtd_memo_word(req);
	struct vtd_memo *m;
	struct vtd_memo_rq *rq;

	if (run->ctx_slot < 0 || (!pass && !legacy && run->pc_slot < 0) ||
	    __atomic_load_n(&vtd->check, __ATOMIC_RELAXED) ||
	    !(m = run->memo ? run->memo : vtd_memo_create(vtd)))
		return NULL;
	_Static_assert(sizeof(struct vtd_memo_rq) == 192, "a requester entry is three cache lines");
	_Static_assert(sizeof(struct vtd_memo_psc) == 64, "a PSC entry is one cache line");
	rq = vtd_memo_rq_slot(m, w);
	rq->req = w;
	rq->sgen = run->sgen;
	rq->pe = *pe;
	rq->ctx_slot = (uint32_t)run->ctx_slot;
	rq->pc_slot = pass || legacy ? VTD_MEMO_NO_SLOT : (uint32_t)run->pc_slot;
	rq->pasid = a->pasid;
	rq->acc = a->acc;
	rq->pass = pass;
	rq->fpd = fpd;
	rq->sclock = ~0ull; /* its first use refreshes the stamps */
	rq->cshift = pe->fs_levels == 5 ? 63 - 56 : 63 - 47; /* (vtd_fs_canonical()) */
	rq->tag1 = vtd_iotlb_tag1(pe->did, a->pasid);
	rq->imix = vtd_iotlb_mix(pe->did);
	rq->fmix = vtd_fspc_mix(rq->tag1);
	vtd_iotlb_sums(pe->did, a->pasid, pe->pgtt, rq->sum);
	return rq;
}

void vtd_memo_fini(struct vtd *vtd)
{
	for (unsigned i = 0; i < VTD_THREAD_SLOTS + 2; i++) {
		if (vtd->memo[i]) {
			free(vtd->memo[i]->rq);
			free(vtd->memo[i]->psc);
		}
		free(vtd->memo[i]);
		vtd->memo[i] = NULL;
	}
}

void vtd_memo_counters(const struct vtd *vtd, struct vtd_cache_counters out[VTD_CACHE_COUNT])
{
	_Static_assert(VTD_CACHE_COUNT == 5, "a memo counts for every cache");
	for (unsigned i = 0; i < VTD_THREAD_SLOTS + 2; i++) {
		const struct vtd_memo *m = __atomic_load_n(&vtd->memo[i], __ATOMIC_ACQUIRE);

		if (!m)
			continue;
		/* A translation-memo hit stands for a context-cache and an IOTLB hit, and in
		 * scalable mode a PASID-cache hit. */
		uint64_t legacy = __atomic_load_n(&m->done[1], __ATOMIC_RELAXED);
		uint64_t scalable = __atomic_load_n(&m->done[0], __ATOMIC_RELAXED);
		uint64_t now = __atomic_load_n(&m->hits, __ATOMIC_RELAXED);

		if (__atomic_load_n(&m->legacy, __ATOMIC_RELAXED))
			legacy += now;
		else
			scalable += now;
		uint64_t fhit = __atomic_load_n(&m->fast_hit, __ATOMIC_RELAXED);
		uint64_t ffill = __atomic_load_n(&m->fast_fill, __ATOMIC_RELAXED);
		uint64_t fmiss = __atomic_load_n(&m->fast_miss, __ATOMIC_RELAXED) + ffill;

		out[VTD_CACHE_CONTEXT].hits += legacy + scalable + fhit + fmiss;
		out[VTD_CACHE_PASID].hits += scalable + fhit + fmiss;
		out[VTD_CACHE_IOTLB].hits += legacy + scalable + fhit;
		out[VTD_CACHE_IOTLB].misses += fmiss;
		out[VTD_CACHE_PSCACHE_FS].hits += fmiss;
		out[VTD_CACHE_IOTLB].fills += ffill;
		for (int c = 0; c < VTD_CACHE_COUNT; c++) {
			out[c].hits += __atomic_load_n(&m->ctr[c].hit, __ATOMIC_RELAXED);
			out[c].misses += __atomic_load_n(&m->ctr[c].miss, __ATOMIC_RELAXED);
			out[c].fills += __atomic_load_n(&m->ctr[c].fill, __ATOMIC_RELAXED);
			out[c].evictions += __atomic_load_n(&m->ctr[c].evict, __ATOMIC_RELAXED);
		}
	}
}
