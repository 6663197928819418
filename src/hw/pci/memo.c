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
#define EP_CLAIMS    8	   /* endpoints a thread holds a reader slot in at once */
#define NO_SLOT	     (~0u) /* a claim that found every slot taken */

/* A reader slot this thread holds: endpoint (by pointer and id) and slot index. */
struct ep_claim {
	struct pci_endpoint *ep;
	uint64_t ep_id; /* 0: unused */
	unsigned slot;	/* or NO_SLOT */
};

struct ep_memo {
	struct ep_memo_run run[EP_MEMO_RUNS];
	unsigned next;	/* round-robin victim */
	uint64_t token; /* this thread, for reader slots: unique, never 0 */
	struct ep_claim claim[EP_CLAIMS];
	unsigned next_claim;
};

static __thread struct ep_memo *memo_tls __attribute__((tls_model("initial-exec")));
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;
static pthread_key_t memo_key;
static bool memo_key_ok;
static uint64_t next_token;

/* Live endpoints, so that a thread that leaves gives its slots back only in endpoints that
 * still exist. */
static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;
static struct pci_endpoint *registry_head;

void ep_register(struct pci_endpoint *ep)
{
	pthread_mutex_lock(&registry);
	ep->reg_prev = NULL;
	ep->reg_next = registry_head;
	if (registry_head)
		registry_head->reg_prev = ep;
	registry_head = ep;
	pthread_mutex_unlock(&registry);
}

void ep_unregister(struct pci_endpoint *ep)
{
	pthread_mutex_lock(&registry);
	if (ep->reg_prev)
		ep->reg_prev->reg_next = ep->reg_next;
	else
		registry_head = ep->reg_next;
	if (ep->reg_next)
		ep->reg_next->reg_prev = ep->reg_prev;
	pthread_mutex_unlock(&registry);
}

/* Give a claimed slot back, if its endpoint still exists. */
static void claim_release(const struct ep_memo *m, struct ep_claim *c)
{
	if (c->ep_id && c->slot != NO_SLOT) {
		pthread_mutex_lock(&registry);
		for (struct pci_endpoint *ep = registry_head; ep; ep = ep->reg_next) {
			if (ep == c->ep && ep->id == c->ep_id) {
				uint64_t token = m->token;

				__atomic_compare_exchange_n(&ep->readers[c->slot].owner, &token, 0,
							    false, __ATOMIC_RELEASE,
							    __ATOMIC_RELAXED);
				break;
			}
		}
		pthread_mutex_unlock(&registry);
	}
	*c = (struct ep_claim){0};
}

static void memo_free(void *p)
{
	struct ep_memo *m = p;

	for (unsigned i = 0; i < EP_CLAIMS; i++)
		claim_release(m, &m->claim[i]);
	memo_tls = NULL;
	free(m);
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
	m->token = __atomic_add_fetch(&next_token, 1, __ATOMIC_RELAXED);
	memo_tls = m;
	return m;
}

/* Claim a free slot of `ep` for this thread, starting from one its token picks. */
static unsigned slot_claim(struct pci_endpoint *ep, uint64_t token)
{
	for (unsigned k = 0; k < EP_READERS; k++) {
		unsigned i = (unsigned)((token + k) % EP_READERS);
		uint64_t expect = 0;

		if (__atomic_compare_exchange_n(&ep->readers[i].owner, &expect, token, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			/* Published before the slot's first use: a writer that has not seen the
			 * bit yet has raised its flag, which the reader's handshake then sees
			 * (endpoint.h). */
			__atomic_fetch_or(&ep->readers_claimed, 1ull << i, __ATOMIC_SEQ_CST);
			return i;
		}
	}
	return NO_SLOT;
}

static __attribute__((noinline)) struct ep_reader *reader_slot_slow(struct pci_endpoint *ep)
{
	struct ep_memo *m = memo_get();
	struct ep_claim *c;

	if (!m)
		return NULL;
	c = &m->claim[m->next_claim];
	m->next_claim = (m->next_claim + 1) % EP_CLAIMS;
	claim_release(m, c);
	c->ep = ep;
	c->ep_id = ep->id;
	c->slot = slot_claim(ep, m->token);
	return c->slot == NO_SLOT ? NULL : &ep->readers[c->slot];
}

struct ep_reader *ep_reader_slot(struct pci_endpoint *ep)
{
	const struct ep_memo *m = memo_tls;

	if (__builtin_expect(m != NULL, 1)) {
		for (unsigned i = 0; i < EP_CLAIMS; i++) {
			const struct ep_claim *c = &m->claim[i];

			if (c->ep_id == ep->id)
				return c->slot == NO_SLOT ? NULL : &ep->readers[c->slot];
		}
	}
	return reader_slot_slow(ep);
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
