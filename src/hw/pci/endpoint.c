// SPDX-License-Identifier: MIT
/*
 * A PCIe endpoint's configuration space as far as translation goes: the PASID Extended
 * Capability (Max PASID Width, Execute Permission / Privileged Mode Supported and their
 * Enable bits, PASID Enable) and the ATS Extended Capability (Invalidate Queue Depth, Global
 * Invalidate Supported, STU, Enable), plus Function Level Reset and the fault-injection
 * state. The ATC itself is atc.c, requests are dma.c, invalidations ats_inv.c.
 */
#include "hw/pci/endpoint.h"
#include "util/zalloc.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#define PASID_WIDTH_MAX	 20
#define ATS_STU_MAX	 31
#define ATS_INV_QDEP_MAX 31
#define ATC_SETS_MAX	 (1u << 16)
#define ATC_WAYS_MAX	 64

static uint64_t next_id; /* endpoint ids: 0 is never one */

static bool config_ok(const struct pci_endpoint_config *c)
{
	if (!c->agent.translate || !c->mem)
		return false;
	if (c->pasid_width > PASID_WIDTH_MAX)
		return false;
	if (!c->pasid_width &&
	    (c->pasid_exec_supported || c->pasid_priv_supported || c->pasid_enable))
		return false;
	/* An Enable bit needs its Supported bit and PASID Enable. */
	if (c->pasid_exec_enable && (!c->pasid_exec_supported || !c->pasid_enable))
		return false;
	if (c->pasid_priv_enable && (!c->pasid_priv_supported || !c->pasid_enable))
		return false;
	if (!c->ats)
		return !c->ats_enable && !c->ats_global_inv && !c->ats_stu &&
		       !c->ats_inv_queue_depth;
	if (c->ats_stu > ATS_STU_MAX || c->ats_inv_queue_depth > ATS_INV_QDEP_MAX)
		return false;
	if (!c->atc_sets || c->atc_sets > ATC_SETS_MAX || (c->atc_sets & (c->atc_sets - 1)))
		return false;
	return c->atc_ways && c->atc_ways <= ATC_WAYS_MAX;
}

static uint32_t config_ctl(const struct pci_endpoint_config *c)
{
	uint32_t ctl = 0;

	if (c->pasid_enable)
		ctl |= EP_CTL_PASID_EN;
	if (c->pasid_exec_enable)
		ctl |= EP_CTL_EXEC_EN;
	if (c->pasid_priv_enable)
		ctl |= EP_CTL_PRIV_EN;
	if (c->ats_enable)
		ctl |= EP_CTL_ATS_EN;
	return ctl | (uint32_t)c->ats_stu << EP_CTL_STU_SHIFT;
}

int pci_endpoint_create(const struct pci_endpoint_config *cfg, struct pci_endpoint **out)
{
	struct pci_endpoint *ep;
	pthread_rwlockattr_t attr;
	int ret;

	if (!cfg || !out || !config_ok(cfg))
		return -EINVAL;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	ep->cfg = *cfg;
	ep->ctl = config_ctl(cfg);
	ep->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	ep->readers = zalloc_aligned(_Alignof(struct ep_reader), EP_READERS * sizeof(*ep->readers));
	if (!ep->readers) {
		free(ep);
		return -ENOMEM;
	}
	/* Without ATS a one-entry cache keeps every path free of NULL checks; it stays empty
	 * because fills need ATS Enable. */
	ret = atc_init(&ep->atc, cfg->ats ? cfg->atc_sets : 1, cfg->ats ? cfg->atc_ways : 1);
	if (ret) {
		free(ep->readers);
		free(ep);
		return ret;
	}
	/* Writer preference: an invalidation must not wait behind an endless stream of DMA
	 * pages (each of which holds the read side only for one 4 KiB access). */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	ret = pthread_rwlock_init(&ep->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (ret) {
		atc_fini(&ep->atc);
		free(ep->readers);
		free(ep);
		return -ret;
	}
	ep_register(ep);
	*out = ep;
	return 0;
}

void pci_endpoint_destroy(struct pci_endpoint *ep)
{
	if (!ep)
		return;
	ep_unregister(ep);
	pthread_rwlock_destroy(&ep->lock);
	atc_fini(&ep->atc);
	free(ep->readers);
	free(ep);
}

/* Spin, then offer the CPU: a reader may have been preempted inside its access. */
static void wait_reader(const struct ep_reader *r)
{
	for (unsigned i = 0; __atomic_load_n(&r->busy, __ATOMIC_SEQ_CST); i++) {
		if (i < 256) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		} else {
			sched_yield();
		}
	}
}

void ep_write_lock(struct pci_endpoint *ep)
{
	pthread_rwlock_wrlock(&ep->lock);
	__atomic_store_n(&ep->writer, 1, __ATOMIC_SEQ_CST);
	for (uint64_t m = __atomic_load_n(&ep->readers_claimed, __ATOMIC_SEQ_CST); m; m &= m - 1)
		wait_reader(&ep->readers[__builtin_ctzll(m)]);
}

void ep_write_unlock(struct pci_endpoint *ep)
{
	__atomic_store_n(&ep->writer, 0, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&ep->lock);
}

int pci_endpoint_get_config(struct pci_endpoint *ep, struct pci_endpoint_config *out)
{
	uint32_t ctl;

	if (!ep || !out)
		return -EINVAL;
	ctl = ep_ctl(ep);
	*out = ep->cfg;
	out->pasid_enable = ctl & EP_CTL_PASID_EN;
	out->pasid_exec_enable = ctl & EP_CTL_EXEC_EN;
	out->pasid_priv_enable = ctl & EP_CTL_PRIV_EN;
	out->ats_enable = ctl & EP_CTL_ATS_EN;
	out->ats_stu = (uint8_t)ep_ctl_stu(ctl);
	return 0;
}

uint16_t pci_endpoint_rid(const struct pci_endpoint *ep)
{
	return ep ? ep->cfg.rid : 0;
}

uint64_t ep_atc_remove(struct pci_endpoint *ep, const struct atc_sel *sel, uint64_t base,
		       uint64_t size)
{
	ep->inv_gen++;
	return atc_remove(&ep->atc, sel, base, size);
}

int pci_endpoint_pasid_enable(struct pci_endpoint *ep, bool exec, bool priv)
{
	uint32_t ctl;

	if (!ep)
		return -EINVAL;
	if (!ep->cfg.pasid_width || (exec && !ep->cfg.pasid_exec_supported) ||
	    (priv && !ep->cfg.pasid_priv_supported))
		return -EOPNOTSUPP;
	ep_write_lock(ep);
	ctl = ep_ctl(ep) & ~(EP_CTL_EXEC_EN | EP_CTL_PRIV_EN);
	ctl |= EP_CTL_PASID_EN | (exec ? EP_CTL_EXEC_EN : 0) | (priv ? EP_CTL_PRIV_EN : 0);
	ep_set_ctl(ep, ctl);
	ep_write_unlock(ep);
	return 0;
}

int pci_endpoint_pasid_disable(struct pci_endpoint *ep)
{
	const struct atc_sel sel = {.kind = ATC_SEL_ALL_PASID};

	if (!ep)
		return -EINVAL;
	if (!ep->cfg.pasid_width)
		return -EOPNOTSUPP;
	ep_write_lock(ep);
	ep_set_ctl(ep, ep_ctl(ep) & ~(EP_CTL_PASID_EN | EP_CTL_EXEC_EN | EP_CTL_PRIV_EN));
	ep_atc_remove(ep, &sel, 0, 0);
	ep_write_unlock(ep);
	return 0;
}

int pci_endpoint_ats_enable(struct pci_endpoint *ep, unsigned stu)
{
	int ret = 0;

	if (!ep || stu > ATS_STU_MAX)
		return -EINVAL;
	if (!ep->cfg.ats)
		return -EOPNOTSUPP;
	ep_write_lock(ep);
	/* PCIe ATS Control: STU may be changed only while Enable is clear. */
	if ((ep_ctl(ep) & EP_CTL_ATS_EN) && ep_ctl_stu(ep_ctl(ep)) != stu)
		ret = -EBUSY;
	else
		ep_set_ctl(ep, (ep_ctl(ep) & ~EP_CTL_STU_MASK) | EP_CTL_ATS_EN |
				   stu << EP_CTL_STU_SHIFT);
	ep_write_unlock(ep);
	return ret;
}

int pci_endpoint_ats_disable(struct pci_endpoint *ep)
{
	const struct atc_sel sel = {.kind = ATC_SEL_ALL};

	if (!ep)
		return -EINVAL;
	if (!ep->cfg.ats)
		return -EOPNOTSUPP;
	ep_write_lock(ep);
	ep_set_ctl(ep, ep_ctl(ep) & ~EP_CTL_ATS_EN);
	ep_atc_remove(ep, &sel, 0, 0);
	ep_write_unlock(ep);
	return 0;
}

int pci_endpoint_flr(struct pci_endpoint *ep)
{
	const struct atc_sel sel = {.kind = ATC_SEL_ALL};

	if (!ep)
		return -EINVAL;
	ep_write_lock(ep);
	ep_set_ctl(ep, 0);
	ep_atc_remove(ep, &sel, 0, 0);
	__atomic_store_n(&ep->state, PCI_EP_ACTIVE, __ATOMIC_RELAXED);
	ep_set_flag(ep, EP_CTL_REMOVED, false);
	ep_write_unlock(ep);
	return 0;
}

int pci_endpoint_set_state(struct pci_endpoint *ep, enum pci_endpoint_state state)
{
	if (!ep || (state != PCI_EP_ACTIVE && state != PCI_EP_HUNG && state != PCI_EP_REMOVED))
		return -EINVAL;
	__atomic_store_n(&ep->state, (int)state, __ATOMIC_RELAXED);
	ep_set_flag(ep, EP_CTL_REMOVED, state == PCI_EP_REMOVED);
	return 0;
}

int pci_endpoint_get_stats(struct pci_endpoint *ep, struct pci_endpoint_stats *out)
{
	const uint64_t *src;
	uint64_t *dst;

	if (!ep || !out)
		return -EINVAL;
	/* Every member is a uint64_t counter. */
	_Static_assert(sizeof(*out) % sizeof(uint64_t) == 0, "counters only");
	src = (const uint64_t *)&ep->stats;
	dst = (uint64_t *)out;
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	for (unsigned i = 0; i < EP_READERS; i++) {
		out->hits += __atomic_load_n(&ep->readers[i].hits, __ATOMIC_RELAXED);
		out->translated_requests +=
		    __atomic_load_n(&ep->readers[i].translated, __ATOMIC_RELAXED);
	}
	pthread_rwlock_rdlock(&ep->lock);
	out->atc_entries = ep->atc.used;
	pthread_rwlock_unlock(&ep->lock);
	return 0;
}

void ep_atc_view(const struct atc_entry *e, struct pci_atc_view *v)
{
	v->addr = e->addr;
	v->pa = e->pa;
	v->size = 1ull << e->shift;
	v->pasid = e->pasid;
	v->has_pasid = e->tag & ATC_T_PASID;
	v->perm = e->perm;
}

int pci_endpoint_atc_peek(struct pci_endpoint *ep, unsigned flags, uint32_t pasid, uint64_t addr,
			  struct pci_atc_view *out)
{
	struct atc_key key = {0};
	struct atc_entry *e;

	if (!ep || !out || (flags & ~(unsigned)(PCI_DMA_PASID | PCI_DMA_PRIV)))
		return -EINVAL;
	if (flags & PCI_DMA_PASID) {
		key.tag |= ATC_T_PASID;
		key.pasid = pasid;
	}
	if (flags & PCI_DMA_PRIV)
		key.tag |= ATC_T_PRIV;
	pthread_rwlock_rdlock(&ep->lock);
	e = atc_lookup(&ep->atc, &key, addr, false);
	if (e)
		ep_atc_view(e, out);
	pthread_rwlock_unlock(&ep->lock);
	return e ? 0 : -ENOENT;
}
