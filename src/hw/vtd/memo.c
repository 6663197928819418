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
	 * thread that takes the slot (its fetch_or acquires). */
	if (s >= 1 && s <= VTD_THREAD_SLOTS)
		__atomic_fetch_and(&slots_used, ~(1ull << (s - 1)), __ATOMIC_RELEASE);
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

	m = aligned_alloc(64, size); /* entries on cache lines (sizes are multiples of 64) */
	if (!m)
		return NULL; /* no memo: the full path serves */
	memset(m, 0, size);
	m->lru = calloc(vtd->memo_n, sizeof(*m->lru));
	if (!m->lru) {
		free(m);
		return NULL;
	}
	__atomic_store_n(&vtd->memo[s], m, __ATOMIC_RELEASE);
	return m;
}

void vtd_memo_fill(struct vtd *vtd, const struct pci_req *req, const struct pci_resp *resp,
		   bool legacy, const struct vtd_iotlb_ent *ent, int tlb_slot, uint32_t ver,
		   const struct vtd_run *run)
{
	uint64_t w = vtd_memo_word(req), page = req->addr >> 12, size = 1ull << ent->shift;
	struct vtd_memo *m;
	struct vtd_memo_ent *e;

	/* Translated requests pass through without the IOTLB: never here. */
	if (req->at > PCI_AT_TRANSLATION || run->ctx_slot < 0 || (!legacy && run->pc_slot < 0) ||
	    tlb_slot < 0 || __atomic_load_n(&vtd->check, __ATOMIC_RELAXED) ||
	    !(m = vtd_memo_create(vtd)))
		return;
	if (legacy != m->legacy) {
		/* The unit changed mode: the running count was the other mode's. */
		__atomic_store_n(&m->done[m->legacy], m->done[m->legacy] + m->hits,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&m->hits, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&m->legacy, legacy, __ATOMIC_RELAXED);
	}
	e = vtd_memo_slot(vtd, m, w, page);
	e->req = w;
	e->page = page;
	e->out = ((ent->out & ~(size - 1)) | (req->addr & (size - 1))) & ~0xfffull;
	e->page_size = resp->page_size;
	e->sgen = run->sgen;
	e->verp = &vtd->iotlb.ver[tlb_slot];
	e->ver = ver;
	e->clock = (uint32_t)vtd_clock(vtd);
	e->perm = resp->perm;
	m->lru[e - m->ent] = (struct vtd_memo_lru){
	    .ctx_slot = (uint32_t)run->ctx_slot,
	    .pc_slot = legacy ? VTD_MEMO_NO_SLOT : (uint32_t)run->pc_slot,
	};
}

void vtd_memo_fini(struct vtd *vtd)
{
	for (unsigned i = 0; i < VTD_THREAD_SLOTS + 2; i++) {
		if (vtd->memo[i])
			free(vtd->memo[i]->lru);
		free(vtd->memo[i]);
		vtd->memo[i] = NULL;
	}
}

void vtd_memo_hits(const struct vtd *vtd, uint64_t hits[2])
{
	hits[0] = hits[1] = 0;
	for (unsigned i = 0; i < VTD_THREAD_SLOTS + 2; i++) {
		const struct vtd_memo *m = __atomic_load_n(&vtd->memo[i], __ATOMIC_ACQUIRE);

		if (!m)
			continue;
		hits[0] += __atomic_load_n(&m->done[1], __ATOMIC_RELAXED);
		hits[1] += __atomic_load_n(&m->done[0], __ATOMIC_RELAXED);
		hits[__atomic_load_n(&m->legacy, __ATOMIC_RELAXED) ? 0 : 1] +=
		    __atomic_load_n(&m->hits, __ATOMIC_RELAXED);
	}
}
