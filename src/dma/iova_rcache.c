// SPDX-License-Identifier: MIT
/*
 * IOVA range caches: per-thread magazines of freed ranges by size class, and a per-domain
 * depot of full magazines (the magazine scheme Linux's iova.c uses per CPU, here per
 * thread, found through thread-local storage).
 *
 * Each thread keeps, per domain it uses, an `iova_tc` with a loaded and a previous
 * magazine per class. Allocation pops from the loaded one; when it is empty the two are
 * swapped, and when both are empty a full magazine comes from the thread's spares, else
 * from the depot. Freeing pushes onto the loaded one; when it is full the two are swapped,
 * and when both are full the previous one becomes a spare (up to IOVA_TC_SPARES), else goes
 * to the depot (or, with the depot at its limit, back to the tree) and an empty one is
 * loaded. So a thread that alternates allocation and freeing touches the depot at most once
 * per IOVA_MAG_SIZE operations, and the tree never; and one that frees in batches of up to
 * 2 + IOVA_TC_SPARES magazines - a lazy DMA domain's flush queue releases 256 ranges at
 * once - keeps reusing its own ranges: they do not go through the shared depot to another
 * thread, whose use of them would pull their page-table lines from this thread's cache.
 *
 * Lifetimes: a process-wide registry mutex links caches to their thread and their domain.
 * A thread's exit (the key destructor) returns its caches' ranges: full magazines to the
 * depot, the rest to the tree. Destroying a domain frees every cache's magazines; a cache
 * whose thread lives on becomes an empty shell (domain NULL) that the thread frees at its
 * next slow-path call or at exit.
 */
#include "dma/iova_internal.h"
#include "util/zalloc.h"

#include <stdlib.h>
#include <string.h>

_Thread_local struct iova_tls iova_tls_self __attribute__((tls_model("initial-exec")));

static pthread_mutex_t iova_registry = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t iova_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t iova_key;
static int iova_key_ret;

static void iova_thread_exit(void *arg);

static void iova_key_create(void)
{
	iova_key_ret = pthread_key_create(&iova_key, iova_thread_exit);
}

int iova_rcache_init(struct iova_domain *d)
{
	pthread_once(&iova_key_once, iova_key_create);
	if (iova_key_ret)
		return -EAGAIN;
	for (unsigned int k = 0; k < IOVA_RCACHE_CLASSES; k++)
		pthread_mutex_init(&d->depot[k].lock, NULL);
	return 0;
}

/* ---- magazines ----------------------------------------------------------------------- */

static struct iova_mag *iova_mag_new(void)
{
	struct iova_mag *m = malloc(sizeof(*m));

	if (m) {
		m->next = NULL;
		m->n = 0;
	}
	return m;
}

/* Take out the most recently cached entry whose first pfn is at or below `last`. */
static bool iova_mag_take_below(struct iova_mag *m, uint64_t last, uint64_t *pfn,
				_Atomic uint8_t **state)
{
	for (uint64_t i = m->n; i--;) {
		if (m->pfns[i] <= last) {
			*pfn = m->pfns[i];
			*state = m->states[i];
			m->n--;
			m->pfns[i] = m->pfns[m->n];
			m->states[i] = m->states[m->n];
			return true;
		}
	}
	return false;
}

static bool iova_mag_pop_top(struct iova_mag *m, uint64_t last, uint64_t *pfn,
			     _Atomic uint8_t **state)
{
	if (!m->n || m->pfns[m->n - 1] > last)
		return false;
	m->n--;
	*pfn = m->pfns[m->n];
	*state = m->states[m->n];
	return true;
}

static void iova_mag_push(struct iova_mag *m, uint64_t pfn, _Atomic uint8_t *state)
{
	m->pfns[m->n] = pfn;
	m->states[m->n] = state;
	m->n++;
}

/* Hand a full magazine to the depot; with the depot at its limit, its ranges to the tree. */
static void iova_depot_push(struct iova_domain *d, unsigned int k, struct iova_mag *m)
{
	struct iova_depot *dep = &d->depot[k];

	pthread_mutex_lock(&dep->lock);
	if (dep->count < d->depot_max) {
		m->next = dep->full;
		dep->full = m;
		dep->count++;
		m = NULL;
	}
	pthread_mutex_unlock(&dep->lock);
	if (m) {
		iova_tree_free_cached(d, m->pfns, m->n);
		free(m);
	}
}

static struct iova_mag *iova_depot_pop(struct iova_domain *d, unsigned int k)
{
	struct iova_depot *dep = &d->depot[k];
	struct iova_mag *m;

	pthread_mutex_lock(&dep->lock);
	m = dep->full;
	if (m) {
		dep->full = m->next;
		dep->count--;
	}
	pthread_mutex_unlock(&dep->lock);
	return m;
}

/* ---- the slow halves of the fast path ------------------------------------------------ */

static bool iova_rcache_get_locked(struct iova_domain *d, struct iova_tc *tc, unsigned int k,
				   uint64_t last, bool deep, uint64_t *pfn, _Atomic uint8_t **state)
{
	struct iova_mag *m = tc->loaded[k];

	if (m->n == 0) {
		if (tc->prev[k]->n) {
			tc->loaded[k] = tc->prev[k];
			tc->prev[k] = m;
		} else {
			struct iova_mag *full = tc->spare[k];

			if (full) {
				tc->spare[k] = full->next;
				tc->nspare[k]--;
			} else if (!(full = iova_depot_pop(d, k))) {
				return false;
			}
			free(m);
			tc->loaded[k] = full;
		}
		m = tc->loaded[k];
	}
	if (iova_mag_pop_top(m, last, pfn, state) ||
	    iova_mag_pop_top(tc->prev[k], last, pfn, state))
		return true;
	/* A limit below the tops: look deeper, as Linux's magazine pop does. */
	return deep && (iova_mag_take_below(m, last, pfn, state) ||
			iova_mag_take_below(tc->prev[k], last, pfn, state));
}

bool iova_rcache_get(struct iova_domain *d, unsigned int k, uint64_t last, bool deep, uint64_t *pfn,
		     _Atomic uint8_t **state)
{
	struct iova_tc *tc = iova_tc_get(d);
	bool ok;

	if (!tc)
		return false;
	iova_tc_lock(tc);
	ok = iova_rcache_get_locked(d, tc, k, last, deep, pfn, state);
	iova_tc_unlock(tc);
	return ok;
}

/* The loaded magazine is full: swap in the previous one, or retire it to the depot. */
static bool iova_rcache_make_room(struct iova_domain *d, struct iova_tc *tc, unsigned int k)
{
	struct iova_mag *m;

	if (tc->prev[k]->n < IOVA_MAG_SIZE) {
		m = tc->prev[k];
		tc->prev[k] = tc->loaded[k];
		tc->loaded[k] = m;
		return true;
	}
	m = iova_mag_new();
	if (!m)
		return false;
	if (tc->nspare[k] < IOVA_TC_SPARES) {
		tc->prev[k]->next = tc->spare[k];
		tc->spare[k] = tc->prev[k];
		tc->nspare[k]++;
	} else {
		iova_depot_push(d, k, tc->prev[k]);
	}
	tc->prev[k] = tc->loaded[k];
	tc->loaded[k] = m;
	return true;
}

int iova_rcache_put(struct iova_domain *d, unsigned int k, uint64_t pfn, _Atomic uint8_t *state)
{
	struct iova_tc *tc = iova_tc_get(d);

	if (tc) {
		iova_tc_lock(tc);
		if (tc->loaded[k]->n < IOVA_MAG_SIZE || iova_rcache_make_room(d, tc, k)) {
			iova_mag_push(tc->loaded[k], pfn, state);
			iova_tc_unlock(tc);
			return 0;
		}
		iova_tc_unlock(tc);
	}
	/* No cache to be had (no memory): straight back to the tree. */
	iova_tree_free_cached(d, &pfn, 1);
	return 0;
}

/* ---- thread caches and their registry ------------------------------------------------- */

/* Free a thread's spare magazines of class k (their ranges are the caller's business). */
static void iova_spares_free(struct iova_tc *tc, unsigned int k)
{
	struct iova_mag *m, *next;

	for (m = tc->spare[k]; m; m = next) {
		next = m->next;
		free(m);
	}
	tc->spare[k] = NULL;
	tc->nspare[k] = 0;
}

static void iova_tc_free(struct iova_tc *tc)
{
	for (unsigned int k = 0; k < IOVA_RCACHE_CLASSES; k++) {
		free(tc->loaded[k]);
		free(tc->prev[k]);
		iova_spares_free(tc, k);
	}
	free(tc);
}

static struct iova_tc *iova_tc_new(void)
{
	struct iova_tc *tc = zalloc_aligned(alignof(struct iova_tc), sizeof(*tc));

	if (!tc)
		return NULL;
	for (unsigned int k = 0; k < IOVA_RCACHE_CLASSES; k++) {
		tc->loaded[k] = iova_mag_new();
		tc->prev[k] = iova_mag_new();
		if (!tc->loaded[k] || !tc->prev[k]) {
			iova_tc_free(tc);
			return NULL;
		}
	}
	return tc;
}

static void iova_tls_forget(struct iova_tls *tls, const struct iova_tc *tc)
{
	for (unsigned int i = 0; i < IOVA_TLS_SLOTS; i++) {
		if (tls->slots[i].tc == tc) {
			tls->slots[i].id = 0;
			tls->slots[i].tc = NULL;
		}
	}
}

static void iova_domain_unlist(struct iova_domain *d, struct iova_tc *tc)
{
	struct iova_tc **pp = &d->tcs;

	while (*pp != tc)
		pp = &(*pp)->dnext;
	*pp = tc->dnext;
}

static void iova_thread_unlist(struct iova_tls *tls, struct iova_tc *tc)
{
	struct iova_tc **pp = &tls->tcs;

	while (*pp != tc)
		pp = &(*pp)->tnext;
	*pp = tc->tnext;
}

/* The calling thread's cache for d, created on first use; NULL without memory. */
struct iova_tc *iova_tc_get_slow(struct iova_domain *d)
{
	struct iova_tls *tls = &iova_tls_self;
	struct iova_tc **pp, *tc;

	pthread_mutex_lock(&iova_registry);
	for (pp = &tls->tcs; (tc = *pp);) {
		if (tc->domain == d)
			break;
		if (!tc->domain) {
			/* Its domain was destroyed by another thread: collect the shell. */
			*pp = tc->tnext;
			iova_tls_forget(tls, tc);
			iova_tc_free(tc);
			continue;
		}
		pp = &tc->tnext;
	}
	if (!tc) {
		tc = iova_tc_new();
		/* Arm the exit destructor (again, if this runs from inside it). */
		if (tc && !tls->registered) {
			if (pthread_setspecific(iova_key, tls)) {
				iova_tc_free(tc);
				tc = NULL;
			} else {
				tls->registered = true;
			}
		}
		if (tc) {
			tc->domain = d;
			tc->owner = tls;
			tc->dnext = d->tcs;
			d->tcs = tc;
			tc->tnext = tls->tcs;
			tls->tcs = tc;
		}
	}
	if (tc) {
		struct iova_tls_slot *s = &tls->slots[d->id & (IOVA_TLS_SLOTS - 1)];

		s->id = d->id;
		s->tc = tc;
	}
	pthread_mutex_unlock(&iova_registry);
	return tc;
}

/* Empty one magazine into the tree. */
static void iova_mag_drain(struct iova_domain *d, struct iova_mag *m)
{
	iova_tree_free_cached(d, m->pfns, m->n);
	m->n = 0;
}

/* A thread is leaving: full magazines to the depot, the rest to the tree. Registry held. */
static void iova_tc_release(struct iova_domain *d, struct iova_tc *tc)
{
	for (unsigned int k = 0; k < IOVA_RCACHE_CLASSES; k++) {
		struct iova_mag **mags[2] = {&tc->loaded[k], &tc->prev[k]};

		for (unsigned int i = 0; i < 2; i++) {
			if ((*mags[i])->n == IOVA_MAG_SIZE) {
				iova_depot_push(d, k, *mags[i]);
				*mags[i] = NULL;
			} else {
				iova_mag_drain(d, *mags[i]);
			}
		}
		while (tc->spare[k]) {
			struct iova_mag *m = tc->spare[k];

			tc->spare[k] = m->next;
			iova_depot_push(d, k, m);
		}
		tc->nspare[k] = 0;
	}
}

static void iova_thread_exit(void *arg)
{
	struct iova_tls *tls = arg;
	struct iova_tc *tc;

	pthread_mutex_lock(&iova_registry);
	while ((tc = tls->tcs)) {
		tls->tcs = tc->tnext;
		if (tc->domain) {
			iova_tc_release(tc->domain, tc);
			iova_domain_unlist(tc->domain, tc);
		}
		iova_tc_free(tc);
	}
	memset(tls->slots, 0, sizeof(tls->slots));
	tls->registered = false;
	pthread_mutex_unlock(&iova_registry);
}

void iova_rcache_destroy(struct iova_domain *d)
{
	struct iova_tc *tc;

	pthread_mutex_lock(&iova_registry);
	while ((tc = d->tcs)) {
		d->tcs = tc->dnext;
		iova_tc_lock(tc);
		for (unsigned int k = 0; k < IOVA_RCACHE_CLASSES; k++) {
			free(tc->loaded[k]);
			free(tc->prev[k]);
			tc->loaded[k] = tc->prev[k] = NULL;
			iova_spares_free(tc, k);
		}
		tc->domain = NULL;
		iova_tc_unlock(tc);
		if (tc->owner == &iova_tls_self) {
			iova_thread_unlist(tc->owner, tc);
			iova_tls_forget(tc->owner, tc);
			free(tc);
		}
	}
	for (unsigned int k = 0; k < IOVA_RCACHE_CLASSES; k++) {
		struct iova_mag *m, *next;

		for (m = d->depot[k].full; m; m = next) {
			next = m->next;
			free(m);
		}
		pthread_mutex_destroy(&d->depot[k].lock);
	}
	pthread_mutex_unlock(&iova_registry);
}

void iova_flush_rcaches(struct iova_domain *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&iova_registry);
	for (struct iova_tc *tc = d->tcs; tc; tc = tc->dnext) {
		iova_tc_lock(tc);
		for (unsigned int k = 0; k < IOVA_RCACHE_CLASSES; k++) {
			iova_mag_drain(d, tc->loaded[k]);
			iova_mag_drain(d, tc->prev[k]);
			for (struct iova_mag *m = tc->spare[k]; m; m = m->next)
				iova_mag_drain(d, m);
			iova_spares_free(tc, k);
		}
		iova_tc_unlock(tc);
	}
	for (unsigned int k = 0; k < IOVA_RCACHE_CLASSES; k++) {
		struct iova_mag *m, *next;

		pthread_mutex_lock(&d->depot[k].lock);
		m = d->depot[k].full;
		d->depot[k].full = NULL;
		d->depot[k].count = 0;
		pthread_mutex_unlock(&d->depot[k].lock);
		for (; m; m = next) {
			next = m->next;
			iova_mag_drain(d, m);
			free(m);
		}
	}
	atomic_fetch_add(&d->rcache_flushes, 1);
	pthread_mutex_unlock(&iova_registry);
}

void iova_rcache_count(struct iova_domain *d, struct iova_stats *st)
{
	pthread_mutex_lock(&iova_registry);
	for (struct iova_tc *tc = d->tcs; tc; tc = tc->dnext) {
		iova_tc_lock(tc);
		for (unsigned int k = 0; k < IOVA_RCACHE_CLASSES; k++) {
			st->cached += tc->loaded[k]->n + tc->prev[k]->n;
			for (const struct iova_mag *m = tc->spare[k]; m; m = m->next)
				st->cached += m->n;
		}
		iova_tc_unlock(tc);
		st->thread_caches++;
	}
	for (unsigned int k = 0; k < IOVA_RCACHE_CLASSES; k++) {
		pthread_mutex_lock(&d->depot[k].lock);
		st->depot_magazines += d->depot[k].count;
		for (struct iova_mag *m = d->depot[k].full; m; m = m->next)
			st->cached += m->n;
		pthread_mutex_unlock(&d->depot[k].lock);
	}
	pthread_mutex_unlock(&iova_registry);
}
