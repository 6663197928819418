// SPDX-License-Identifier: MIT
/*
 * Draining the requests in flight at an IOTLB invalidation (digest 1.6, 5.3, 5.6): the
 * counts the request path keeps (drain.h), done(), and the drain that waits for them.
 *
 * Where drains happen: inv_queue.c, before an invalidation wait completes that follows an
 * IOTLB invalidation with DR or DW (type 2) or a PASID-based IOTLB invalidation (type 6);
 * reg_inv.c, before an IOTLB_REG command with DR or DW clears IVT.
 *
 * A drain is bounded. On hardware the requests it waits for are queued in the root complex
 * and always reach memory; in the model they are endpoint threads between translate() and
 * done(), which a thread that stops for good (blocked elsewhere, stopped in a debugger)
 * would hold up forever. After the configured time-out (vtd_config.drain_timeout_ms) the
 * drain gives up: the invalidation completes, vtd_inv_stats.drain_timeouts counts it, and
 * the stopped request, if it ever resumes, accesses memory late. A thread that exits
 * between translate() and done() makes no access any more: its slot's counts are settled
 * when it exits (vtd_drain_thread_exit), so later drains do not wait for it.
 */
#include "drain.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A drain polls DRAIN_SPINS times, then yields DRAIN_YIELDS times, then sleeps between
 * polls: a request in flight whose thread was preempted needs a CPU. */
#define DRAIN_SPINS    64
#define DRAIN_YIELDS   8
#define DRAIN_SLEEP_NS 20000l

enum vtd_drain_how vtd_drain_how = VTD_DRAIN_FENCE;

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

/* Live units, for threads that exit with requests in flight. */
static pthread_mutex_t units_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vtd *units;

static long membarrier(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

static void setup(void)
{
	/* Registering is what makes the expedited command available to this process. */
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
		vtd_drain_how = VTD_DRAIN_ASYM;
}

void vtd_drain_setup(void)
{
	pthread_once(&setup_once, setup);
}

int vtd_drain_init(struct vtd *vtd)
{
	vtd->drain_epoch = PCI_RESP_INFLIGHT; /* the even epoch */
	if (pthread_mutex_init(&vtd->drain_lock, NULL))
		return -ENOMEM;
	pthread_mutex_lock(&units_lock);
	vtd->drain_next = units;
	if (units)
		units->drain_prev = vtd;
	units = vtd;
	pthread_mutex_unlock(&units_lock);
	return 0;
}

void vtd_drain_fini(struct vtd *vtd)
{
	pthread_mutex_lock(&units_lock);
	if (vtd->drain_prev)
		vtd->drain_prev->drain_next = vtd->drain_next;
	else
		units = vtd->drain_next;
	if (vtd->drain_next)
		vtd->drain_next->drain_prev = vtd->drain_prev;
	pthread_mutex_unlock(&units_lock);
	pthread_mutex_destroy(&vtd->drain_lock);
}

/* ---- the request side ------------------------------------------------------------------ */

/* The shard of slot `s`; the last one is shared by the threads without a slot. */
static struct vtd_drain_ctr *shard(struct vtd *vtd, unsigned s)
{
	return &vtd->drain_shard[s].c;
}

static bool shared_shard(unsigned s)
{
	return s > VTD_THREAD_SLOTS;
}

unsigned vtd_drain_enter_slot(struct vtd *vtd, enum vtd_drain_how how)
{
	unsigned s = vtd_thread_slot(), odd;
	uint64_t bit = 1ull << (s % 64);
	uint64_t *used = &vtd->shard_used[s / 64];
	struct vtd_drain_ctr *c = shard(vtd, s);

	/* Made known to drains with a full barrier before the first count (drain.h). */
	if (VTD_UNLIKELY(!(__atomic_load_n(used, __ATOMIC_RELAXED) & bit)))
		__atomic_fetch_or(used, bit, __ATOMIC_SEQ_CST);
	if (VTD_LIKELY(!shared_shard(s)))
		return vtd_drain_enter(vtd, c, how) | VTD_RESP_SLOT;
	odd = (unsigned)__atomic_load_n(&vtd->drain_epoch, __ATOMIC_RELAXED) & VTD_RESP_ODD;
	__atomic_fetch_add(vtd_drain_pair(c, odd), 1, __ATOMIC_SEQ_CST);
	return PCI_RESP_INFLIGHT | VTD_RESP_SLOT | odd;
}

/*
 * Count one request done in counter pair `pair` (begun, ended), if it has one in flight
 * there: this thread's own pair (a plain store), or the shared shard's (atomic). False if
 * nothing is in flight there - a done() the request path never asked for.
 */
static bool end_one(uint64_t *pair, bool shared)
{
	uint64_t e;

	if (VTD_UNLIKELY(shared)) {
		e = __atomic_load_n(&pair[1], __ATOMIC_RELAXED);
		do {
			if (e >= __atomic_load_n(&pair[0], __ATOMIC_ACQUIRE))
				return false;
		} while (!__atomic_compare_exchange_n(&pair[1], &e, e + 1, true, __ATOMIC_RELEASE,
						      __ATOMIC_RELAXED));
		return true;
	}
	e = pair[1];
	if (VTD_UNLIKELY(e >= pair[0]))
		return false;
	/* Release: the access before it happens before the drain that reads it. */
	__atomic_store_n(&pair[1], e + 1, __ATOMIC_RELEASE);
	return true;
}

/* The counters of this thread's slot (tag VTD_RESP_SLOT), or NULL; *shared as above. */
static struct vtd_drain_ctr *slot_ctr(struct vtd *vtd, bool *shared)
{
	unsigned s = vtd_tslot;

	*shared = shared_shard(s);
	return s ? shard(vtd, s) : NULL; /* slot 0: this thread never counted anything */
}

void vtd_drain_cancel(struct vtd *vtd, struct vtd_drain_ctr *c, unsigned tag)
{
	bool shared = false;

	if (!c) {
		struct vtd_memo *m = vtd_memo_get(vtd);

		c = (tag & VTD_RESP_SLOT) ? slot_ctr(vtd, &shared) : m ? &m->drain : NULL;
	}
	if (c)
		end_one(vtd_drain_pair(c, tag & VTD_RESP_ODD), shared);
}

/* done() for a request counted in the slot's shard, or a bad one. */
static __attribute__((noinline)) int done_slow(struct vtd *vtd, struct pci_resp *resp, unsigned f)
{
	struct vtd_drain_ctr *c;
	bool shared;

	if (!vtd || !(f & PCI_RESP_INFLIGHT))
		return -EINVAL; /* never counted, or done already */
	if (f & VTD_RESP_SLOT) {
		c = slot_ctr(vtd, &shared);
	} else {
		struct vtd_memo *m = vtd_memo_get(vtd);

		c = m ? &m->drain : NULL;
		shared = false;
	}
	if (!c || !end_one(vtd_drain_pair(c, f & VTD_RESP_ODD), shared))
		return -EINVAL; /* not this thread's, or forged: no counter goes below zero */
	resp->flags = (uint8_t)(f & ~(PCI_RESP_INFLIGHT | PCI_RESP_AGENT_MASK));
	return 0;
}

int vtd_drain_done(void *ctx, const struct pci_req *req, struct pci_resp *resp)
{
	struct vtd *vtd = ctx;
	struct vtd_memo *m;
	uint64_t *pair, e;
	unsigned f;

	(void)req;
	if (VTD_UNLIKELY(!resp))
		return -EINVAL;
	f = resp->flags;
	/* The common case: counted in this thread's memo, and in flight there. */
	if (VTD_LIKELY((f & (PCI_RESP_INFLIGHT | VTD_RESP_SLOT)) == PCI_RESP_INFLIGHT && vtd &&
		       (m = vtd_memo_get(vtd)))) {
		pair = vtd_drain_pair(&m->drain, f & VTD_RESP_ODD);
		e = pair[1];
		if (VTD_LIKELY(e < pair[0])) {
			/* Release: the access before it happens before the drain that reads it. */
			__atomic_store_n(&pair[1], e + 1, __ATOMIC_RELEASE);
			resp->flags = (uint8_t)(f & ~(PCI_RESP_INFLIGHT | PCI_RESP_AGENT_MASK));
			return 0;
		}
		return -EINVAL; /* not this thread's, or forged: no counter goes below zero */
	}
	return done_slow(vtd, resp, f);
}

/* ---- the drain --------------------------------------------------------------------------- */

/* Whether `c` has a request of the epoch with parity bit `odd` in flight. Ends before
 * begins: a request whose end is seen has its begin seen too (same thread, begin first). */
static bool busy(struct vtd_drain_ctr *c, unsigned odd)
{
	uint64_t *pair = vtd_drain_pair(c, odd);
	uint64_t e = __atomic_load_n(&pair[1], __ATOMIC_ACQUIRE);

	return __atomic_load_n(&pair[0], __ATOMIC_ACQUIRE) > e;
}

/* Whether any thread but slot `own` has a request of parity `p` in flight. */
static bool any_busy(struct vtd *vtd, unsigned p, unsigned own)
{
	uint64_t m = __atomic_load_n(&vtd->memo_slots, __ATOMIC_ACQUIRE);

	for (; m; m &= m - 1) {
		unsigned s = (unsigned)__builtin_ctzll(m) + 1;
		struct vtd_memo *memo = __atomic_load_n(&vtd->memo[s], __ATOMIC_ACQUIRE);

		if (s != own && memo && busy(&memo->drain, p))
			return true;
	}
	for (unsigned w = 0; w < 2; w++) {
		for (m = __atomic_load_n(&vtd->shard_used[w], __ATOMIC_ACQUIRE); m; m &= m - 1) {
			unsigned s = w * 64 + (unsigned)__builtin_ctzll(m);

			/* The shared shard holds other threads' requests too. */
			if ((s != own || shared_shard(s)) && busy(shard(vtd, s), p))
				return true;
		}
	}
	return false;
}

/* Make every count stored before now visible, or the translation after it fresh (drain.h). */
static void barrier(struct vtd *vtd)
{
	if (vtd_drain_how == VTD_DRAIN_ASYM && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
		return;
	/* The counting side used atomic additions: an atomic operation here orders the
	 * epoch's store before the loads that follow (x86: a locked instruction). */
	__atomic_fetch_add(&vtd->drain_epoch, 0, __ATOMIC_SEQ_CST);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Poll until nothing of the epoch with parity bit `p` is in flight: spin, yield, then
 * sleep between polls. 0, or -ETIMEDOUT once `limit` ns have passed since *start (set at the
 * first poll that gives the CPU away, if 0). */
static int wait_parity(struct vtd *vtd, unsigned p, uint64_t limit, uint64_t *start)
{
	unsigned own = vtd_tslot;
	uint64_t t;

	for (unsigned i = 0; any_busy(vtd, p, own); i++) {
		if (i < DRAIN_SPINS) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
			continue;
		}
		t = now_ns();
		if (!*start)
			*start = t;
		if (t - *start >= limit)
			return -ETIMEDOUT;
		if (i < DRAIN_SPINS + DRAIN_YIELDS) {
			sched_yield();
		} else {
			struct timespec ts = {.tv_nsec = DRAIN_SLEEP_NS};

			nanosleep(&ts, NULL);
		}
	}
	return 0;
}

int vtd_drain_wait(struct vtd *vtd)
{
	unsigned ms =
	    vtd->cfg.drain_timeout_ms ? vtd->cfg.drain_timeout_ms : VTD_DRAIN_TIMEOUT_DEFAULT_MS;
	uint64_t e, start = 0, limit = (uint64_t)ms * 1000000ull;
	unsigned odd;
	int ret;

	pthread_mutex_lock(&vtd->drain_lock);
	e = __atomic_load_n(&vtd->drain_epoch, __ATOMIC_RELAXED);
	odd = (unsigned)e & VTD_RESP_ODD;
	/* From here on every count stored before is visible, and a request that stores its
	 * count later reads the tables after the invalidation (drain.h). */
	barrier(vtd);
	/* The other parity first: it holds the requests that read the epoch before the last
	 * drain moved it but counted after that drain's barrier - translated after that
	 * invalidation, so maybe with what this one removes. New requests do not go there. */
	ret = wait_parity(vtd, odd ^ VTD_RESP_ODD, limit, &start);
	/* Then move the epoch - new requests count in the parity just emptied - and wait for
	 * this one. The word is PCI_RESP_INFLIGHT and the parity bit: the flags of a
	 * completion counted in it, so that the request path has nothing to compute. */
	__atomic_store_n(&vtd->drain_epoch, e ^ VTD_RESP_ODD, __ATOMIC_SEQ_CST);
	if (wait_parity(vtd, odd, limit, &start))
		ret = -ETIMEDOUT;
	pthread_mutex_unlock(&vtd->drain_lock);
	return ret;
}

/* ---- threads that exit --------------------------------------------------------------------- */

/* The exiting thread owns these counts: settle both parities. */
static void settle(struct vtd_drain_ctr *c)
{
	for (unsigned p = 0; p < 2; p++)
		__atomic_store_n(&c->p[p].ended, c->p[p].begun, __ATOMIC_RELEASE);
}

void vtd_drain_thread_exit(unsigned slot)
{
	if (slot < 1 || slot > VTD_THREAD_SLOTS)
		return; /* the shared shard cannot tell its threads apart */
	pthread_mutex_lock(&units_lock);
	for (struct vtd *vtd = units; vtd; vtd = vtd->drain_next) {
		struct vtd_memo *m = __atomic_load_n(&vtd->memo[slot], __ATOMIC_ACQUIRE);

		if (m)
			settle(&m->drain);
		settle(shard(vtd, slot));
	}
	pthread_mutex_unlock(&units_lock);
}
