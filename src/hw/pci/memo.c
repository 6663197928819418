// SPDX-License-Identifier: MIT
/*
 * Request memos: what a device thread last translated through an endpoint's ATC, so that
 * its next request to the same pages skips the lookup - a device's micro-TLB in front of
 * its ATC. A memo is a run (one entry, or entries that continue each other physically)
 * with each slot's version as it was when the run was resolved under the read lock.
 *
 * Nothing here is trusted for an access: dma.c checks the versions without the lock
 * before it sends a translated request from a memo (so no request goes out from an entry
 * whose invalidation had completed when the DMA began), and again under the read lock
 * around the access, exactly as for an entry it has just looked up. A memo names its
 * endpoint by id (never reused), so a memo of a destroyed endpoint never matches; its entry
 * pointers are dereferenced only by a caller that holds that endpoint.
 *
 * Memos are per thread (found through thread-local storage, allocated on first use and
 * freed when the thread exits): no lock, no shared line.
 */
#include "hw/pci/endpoint.h"

#include <stdlib.h>
#include <string.h>

#define EP_MEMO_RUNS 4

struct ep_memo {
	struct ep_memo_run run[EP_MEMO_RUNS];
	unsigned next; /* round-robin victim */
};

static __thread struct ep_memo *memo_tls __attribute__((tls_model("initial-exec")));
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;
static pthread_key_t memo_key;
static bool memo_key_ok;

static void memo_free(void *p)
{
	free(p);
}

static void memo_key_create(void)
{
	memo_key_ok = !pthread_key_create(&memo_key, memo_free);
}

static struct ep_memo *memo_get(void)
{
	struct ep_memo *m = memo_tls;

	if (__builtin_expect(m != NULL, 1))
		return m;
	pthread_once(&memo_once, memo_key_create);
	if (!memo_key_ok || !(m = calloc(1, sizeof(*m))))
		return NULL;
	if (pthread_setspecific(memo_key, m)) {
		free(m);
		return NULL;
	}
	memo_tls = m;
	return m;
}

static bool run_matches(const struct ep_memo_run *r, const struct pci_endpoint *ep,
			const struct atc_key *key, uint8_t need)
{
	return r->ep_id == ep->id && r->need == need && r->key.tag == key->tag &&
	       r->key.pasid == key->pasid;
}

const struct ep_memo_run *ep_memo_find(const struct pci_endpoint *ep, const struct atc_key *key,
				       uint8_t need, uint64_t addr)
{
	const struct ep_memo *m = memo_tls;

	if (!m)
		return NULL;
	for (unsigned i = 0; i < EP_MEMO_RUNS; i++) {
		const struct ep_memo_run *r = &m->run[i];

		if (run_matches(r, ep, key, need) && addr - r->addr < r->len)
			return r;
	}
	return NULL;
}

bool ep_memo_current(const struct ep_memo_run *r)
{
	for (unsigned i = 0; i < r->nheld; i++)
		if (__atomic_load_n(&r->held[i]->version, __ATOMIC_RELAXED) != r->ver[i])
			return false;
	return true;
}

void ep_memo_put(const struct pci_endpoint *ep, const struct ep_memo_run *src)
{
	struct ep_memo *m = memo_get();
	struct ep_memo_run *r = NULL;

	if (!m || !src->nheld || src->nheld > EP_MEMO_HELD || !src->len)
		return;
	/* Replace a run of the same requester that overlaps this one, else the oldest. */
	for (unsigned i = 0; i < EP_MEMO_RUNS && !r; i++) {
		struct ep_memo_run *o = &m->run[i];

		if (run_matches(o, ep, &src->key, src->need) && o->addr < src->addr + src->len &&
		    src->addr < o->addr + o->len)
			r = o;
	}
	if (!r) {
		r = &m->run[m->next];
		m->next = (m->next + 1) % EP_MEMO_RUNS;
	}
	r->ep_id = ep->id;
	r->key = src->key;
	r->need = src->need;
	r->addr = src->addr;
	r->len = src->len;
	r->pa = src->pa;
	r->nheld = src->nheld;
	memcpy(r->held, src->held, src->nheld * sizeof(r->held[0]));
	memcpy(r->ver, src->ver, src->nheld * sizeof(r->ver[0]));
	memcpy(r->upto, src->upto, src->nheld * sizeof(r->upto[0]));
}
