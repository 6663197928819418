// SPDX-License-Identifier: MIT
/*
 * What a DMA thread keeps per endpoint (struct ep_thread): its reader slot (endpoint.h) and
 * its request memos - what it last translated through the endpoint's ATC, so that its next
 * request to the same pages skips the lookup, as a device's micro-TLB in front of its ATC
 * would. A memo is a run (one entry, or entries that continue each other physically) with
 * each slot's version as it was when the run was resolved under the read lock.
 *
 * Nothing in a memo is trusted for an access: dma.c checks the versions without the lock
 * before it sends a translated request from a memo (so no request goes out from an entry
 * whose invalidation had completed when the DMA began), and again under the read lock
 * around the access, exactly as for an entry it has just looked up. A thread's state names
 * its endpoint by id (never reused), so the state of a destroyed endpoint never matches; its
 * entry pointers are dereferenced only by a caller that holds that endpoint.
 *
 * The state is found through thread-local storage, allocated on first use and freed when
 * the thread exits, which is also when it gives its reader slots back - in the endpoints
 * that still exist, which a registry of live endpoints tells.
 */
#include "hw/pci/endpoint.h"
#include "util/zalloc.h"

#include <stdlib.h>
#include <string.h>

#define EP_THREADS 8 /* endpoints a thread keeps state for at once */

struct ep_memo {
	uint64_t token; /* this thread, for reader slots: unique, never 0 */
	unsigned next;	/* round-robin victim among th[] */
	struct ep_thread th[EP_THREADS];
};

__thread struct ep_thread *ep_thread_last __attribute__((tls_model("initial-exec")));
static __thread struct ep_memo *memo_tls __attribute__((tls_model("initial-exec")));
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;
static pthread_key_t memo_key;
static bool memo_key_ok;
static uint64_t next_token;

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

/* Forget this thread's state in one endpoint, giving its reader slot back if the endpoint
 * still exists. */
static void thread_release(const struct ep_memo *m, struct ep_thread *t)
{
	if (t->ep_id && t->slot) {
		pthread_mutex_lock(&registry);
		for (struct pci_endpoint *ep = registry_head; ep; ep = ep->reg_next) {
			if (ep == t->ep && ep->id == t->ep_id) {
				uint64_t token = m->token;

				__atomic_compare_exchange_n(&t->slot->owner, &token, 0, false,
							    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
				break;
			}
		}
		pthread_mutex_unlock(&registry);
	}
	if (ep_thread_last == t)
		ep_thread_last = NULL;
	memset(t, 0, sizeof(*t));
}

static void memo_free(void *p)
{
	struct ep_memo *m = p;

	for (unsigned i = 0; i < EP_THREADS; i++)
		thread_release(m, &m->th[i]);
	ep_thread_last = NULL;
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

	if (m)
		return m;
	pthread_once(&memo_once, memo_key_create);
	/* On a cache line: the memo runs are (struct ep_memo_run). */
	if (!memo_key_ok || !(m = zalloc_aligned(_Alignof(struct ep_memo), sizeof(*m))))
		return NULL;
	if (pthread_setspecific(memo_key, m)) {
		free(m);
		return NULL;
	}
	m->token = __atomic_add_fetch(&next_token, 1, __ATOMIC_RELAXED);
	memo_tls = m;
	return m;
}

/* Claim a free reader slot of `ep`, starting from one the token picks; NULL if none. */
static struct ep_reader *slot_claim(struct pci_endpoint *ep, uint64_t token)
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
			return &ep->readers[i];
		}
	}
	return NULL;
}

struct ep_thread *ep_thread_find(struct pci_endpoint *ep)
{
	struct ep_memo *m = memo_get();
	struct ep_thread *t;

	if (!m)
		return NULL;
	for (unsigned i = 0; i < EP_THREADS; i++) {
		if (m->th[i].ep_id == ep->id) {
			ep_thread_last = &m->th[i];
			return ep_thread_last;
		}
	}
	t = &m->th[m->next];
	m->next = (m->next + 1) % EP_THREADS;
	thread_release(m, t);
	t->ep = ep;
	t->ep_id = ep->id;
	t->slot = slot_claim(ep, m->token);
	ep_thread_last = t;
	return t;
}

void ep_memo_put(struct pci_endpoint *ep, const struct ep_memo_run *src)
{
	struct ep_thread *t = ep_thread_of(ep);
	struct ep_memo_run *r = NULL;

	if (!t || !src->nheld || src->nheld > EP_MEMO_HELD || !src->len)
		return;
	/* Replace a run of the same requester that overlaps this one, else the oldest. */
	for (unsigned i = 0; i < EP_MEMO_RUNS && !r; i++) {
		struct ep_memo_run *o = &t->run[i];

		if (o->who == src->who && o->addr < src->addr + src->len &&
		    src->addr < o->addr + o->len)
			r = o;
	}
	if (!r) {
		r = &t->run[t->next_run];
		t->next_run = (t->next_run + 1) % EP_MEMO_RUNS;
	}
	r->who = src->who;
	r->addr = src->addr;
	r->len = src->len;
	r->pa = src->pa;
	r->hva = mem_ptr(ep->cfg.mem, src->pa, src->len);
	r->nheld = src->nheld;
	memcpy(r->held, src->held, src->nheld * sizeof(r->held[0]));
	memcpy(r->upto, src->upto, src->nheld * sizeof(r->upto[0]));
}
