// SPDX-License-Identifier: MIT
/*
 * The register window (digest 1.1): access rules, GCMD/GSTS commands (1.4), RTADDR
 * latching (1.5), and the hooks into register-based invalidation (1.6, reg_inv.c) and the
 * invalidation queue (1.7, inv_queue.c).
 *
 * The window is kept as an array of dwords with a writable mask and a write-1-to-clear
 * mask per dword, built from the configuration at creation: reserved and unimplemented
 * locations have both masks 0, so they read 0 and ignore writes without a special case.
 * 64-bit registers are two dwords, written low half first, which is also what a 64-bit
 * access does (commands that live in the high half - CCMD.ICC, IOTLB.IVT - therefore
 * run once the whole register is written).
 */
#include "caches.h"
#include "drain.h"
#include "util/zalloc.h"

#include <stdlib.h>

#define DW(off) ((off) / 4)

static void set_mask(struct vtd *vtd, unsigned off, unsigned size, uint64_t wmask, uint64_t w1c)
{
	vtd->wmask[DW(off)] = (uint32_t)wmask;
	vtd->w1c[DW(off)] = (uint32_t)w1c;
	if (size == 8) {
		vtd->wmask[DW(off) + 1] = (uint32_t)(wmask >> 32);
		vtd->w1c[DW(off) + 1] = (uint32_t)(w1c >> 32);
	}
}

static unsigned iotlb_off(const struct vtd *vtd)
{
	return vtd->cfg.iro * 16 + VTD_REG_IOTLB_OFF;
}

static unsigned frcd_off(const struct vtd *vtd)
{
	return vtd->cfg.fro * 16;
}

/* Which bits software may write, register by register (digest 1.1-1.8). */
static void init_masks(struct vtd *vtd)
{
	const struct vtd_config *c = &vtd->cfg;
	uint64_t ttm = (c->scalable || c->abort_dma) ? VTD_RTADDR_TTM_MASK : 0;

	set_mask(vtd, VTD_REG_RTADDR, 8, VTD_RTADDR_RTA_MASK | ttm, 0);
	set_mask(vtd, VTD_REG_CCMD, 8,
		 VTD_CCMD_DID_MASK | VTD_CCMD_SID_MASK | VTD_CCMD_FM_MASK | VTD_CCMD_CIRG_MASK |
		     VTD_CCMD_ICC,
		 0);
	set_mask(vtd, VTD_REG_FSTS, 4, 0,
		 VTD_FSTS_PFO | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE);
	set_mask(vtd, VTD_REG_FECTL, 4, VTD_FECTL_IM, 0);
	set_mask(vtd, VTD_REG_FEDATA, 4, VTD_FEDATA_MASK, 0);
	set_mask(vtd, VTD_REG_FEADDR, 4, VTD_FEADDR_MASK, 0);
	set_mask(vtd, VTD_REG_FEUADDR, 4, 0xffffffffu, 0);
	if (c->queued_invalidation) {
		set_mask(vtd, VTD_REG_IQT, 8, VTD_IQT_QT_MASK, 0);
		/* 1.7: IQA bits at or above HAW are not implemented; DW needs SMTS. */
		set_mask(vtd, VTD_REG_IQA, 8,
			 (VTD_IQA_IQA_MASK & ~vtd->ptr_rsvd) | VTD_IQA_QS_MASK |
			     (c->scalable ? VTD_IQA_DW : 0),
			 0);
		set_mask(vtd, VTD_REG_ICS, 4, 0, VTD_ICS_IWC);
		set_mask(vtd, VTD_REG_IECTL, 4, VTD_IECTL_IM, 0);
		set_mask(vtd, VTD_REG_IEDATA, 4, VTD_FEDATA_MASK, 0);
		set_mask(vtd, VTD_REG_IEADDR, 4, VTD_FEADDR_MASK, 0);
		set_mask(vtd, VTD_REG_IEUADDR, 4, 0xffffffffu, 0);
	}
	if (c->intr_remap)
		set_mask(vtd, VTD_REG_IRTA, 8,
			 VTD_IRTA_IRTA_MASK | VTD_IRTA_S_MASK | (c->x2apic ? VTD_IRTA_EIME : 0), 0);
	set_mask(vtd, c->iro * 16 + VTD_REG_IVA_OFF, 8,
		 VTD_IVA_ADDR_MASK | VTD_IVA_IH | VTD_IVA_AM_MASK, 0);
	set_mask(vtd, iotlb_off(vtd), 8,
		 VTD_IOTLB_DID_MASK | VTD_IOTLB_IIRG_MASK | VTD_IOTLB_IVT |
		     (c->drain_writes ? VTD_IOTLB_DW : 0) | (c->drain_reads ? VTD_IOTLB_DR : 0),
		 0);
	for (unsigned i = 0; i < c->nfr; i++)
		set_mask(vtd, frcd_off(vtd) + i * VTD_FRCD_SIZE + 8, 8, 0, VTD_FRCD_Q1_F);
}

static void reset_locked(struct vtd *vtd)
{
	memset(vtd->regs, 0, vtd->mmio_size);
	vtd->regs[DW(VTD_REG_VER)] = vtd->cfg.version;
	vtd_set_reg64(vtd, VTD_REG_CAP, vtd->cap);
	vtd_set_reg64(vtd, VTD_REG_ECAP, vtd->ecap);
	vtd->regs[DW(VTD_REG_FECTL)] = (uint32_t)VTD_FECTL_IM;
	if (vtd->cfg.queued_invalidation)
		vtd->regs[DW(VTD_REG_IECTL)] = (uint32_t)VTD_IECTL_IM;
	vtd->fault_next = 0;
	/* A queue run or an IOTLB_REG command waiting for a drain stops there. */
	vtd->drain_pending = false;
	vtd->reg_draining = false;
	vtd->qi_gen++;
	vtd->reg_gen++;
	__atomic_store_n(&vtd->root, 0, __ATOMIC_RELEASE);
	vtd_caches_flush(vtd);
}

int vtd_create(const struct vtd_config *cfg, struct mem *mem, const struct vtd_callbacks *cb,
	       void *cb_ctx, struct vtd **out)
{
	struct vtd *vtd;
	uint64_t end;

	if (!cfg || !mem || !out || vtd_config_validate(cfg))
		return -EINVAL;
	vtd_drain_setup();
	/* Cache-line aligned: the caches' counter shards and the memo state sit on lines of
	 * their own. */
	vtd = zalloc_lines(sizeof(*vtd));
	if (!vtd)
		return -ENOMEM;
	vtd->cfg = *cfg;
	vtd->mem = mem;
	if (cb)
		vtd->cb = *cb;
	vtd->cb_ctx = cb_ctx;
	vtd->cap = vtd_config_cap(cfg);
	vtd->ecap = vtd_config_ecap(cfg);
	vtd->ptr_rsvd = ~0ull << cfg->haw;
	vtd->addr_rsvd = VTD_GENMASK(51, cfg->haw);
	vtd->did_mask = (1u << cfg->did_bits) - 1;
	vtd->pasid_limit = cfg->pasid_bits ? 1u << cfg->pasid_bits : 0;
	end = (uint64_t)cfg->fro * 16 + (uint64_t)cfg->nfr * VTD_FRCD_SIZE;
	if (end < (uint64_t)cfg->iro * 16 + 16)
		end = (uint64_t)cfg->iro * 16 + 16;
	vtd->mmio_size = (end + 0xfff) & ~0xfffull;
	vtd->regs = calloc(vtd->mmio_size / 4, sizeof(uint32_t));
	vtd->wmask = calloc(vtd->mmio_size / 4, sizeof(uint32_t));
	vtd->w1c = calloc(vtd->mmio_size / 4, sizeof(uint32_t));
	if (!vtd->regs || !vtd->wmask || !vtd->w1c || vtd_caches_init(vtd) ||
	    pthread_mutex_init(&vtd->lock, NULL))
		goto fail;
	if (vtd_drain_init(vtd))
		goto fail_lock;
	vtd->mem_size = mem_size(mem);
	vtd->base = mem->base && vtd->mem_size >= 64 ? mem->base : NULL;
	vtd_context_init(vtd);
	vtd_pasid_init(vtd);
	vtd_walk_ss_init(vtd);
	vtd_walk_fs_init(vtd);
	vtd_translate_init(vtd);
	init_masks(vtd);
	reset_locked(vtd);
	*out = vtd;
	return 0;

fail_lock:
	pthread_mutex_destroy(&vtd->lock);
fail: /* vtd_caches_fini() takes caches that were partly or never set up */
	vtd_caches_fini(vtd);
	free(vtd->regs);
	free(vtd->wmask);
	free(vtd->w1c);
	free(vtd);
	return -ENOMEM;
}

void vtd_destroy(struct vtd *vtd)
{
	if (!vtd)
		return;
	vtd_drain_fini(vtd);
	for (unsigned b = 0; b < 256; b++)
		free(vtd->ats[b]);
	pthread_mutex_destroy(&vtd->lock);
	vtd_caches_fini(vtd);
	free(vtd->regs);
	free(vtd->wmask);
	free(vtd->w1c);
	free(vtd);
}

void vtd_reset(struct vtd *vtd)
{
	pthread_mutex_lock(&vtd->lock);
	reset_locked(vtd);
	pthread_mutex_unlock(&vtd->lock);
}

const struct vtd_config *vtd_get_config(const struct vtd *vtd)
{
	return &vtd->cfg;
}

uint64_t vtd_cap(const struct vtd *vtd)
{
	return vtd->cap;
}

uint64_t vtd_ecap(const struct vtd *vtd)
{
	return vtd->ecap;
}

uint64_t vtd_mmio_size(const struct vtd *vtd)
{
	return vtd->mmio_size;
}

/* ---- GCMD (1.4) ---------------------------------------------------------------------- */

static void command_done(struct vtd *vtd, uint32_t bit)
{
	struct vtd_trace_event ev = {.kind = VTD_TRACE_COMMAND};

	ev.cmd.bit = bit;
	ev.cmd.gsts = vtd->regs[DW(VTD_REG_GSTS)];
	vtd_trace(vtd, &ev);
}

/* Publish TE and the latched root pointer to translating threads. */
static void publish_root(struct vtd *vtd, uint64_t rta_ttm, bool te)
{
	__atomic_store_n(&vtd->root, rta_ttm | (te ? VTD_ROOT_TE : 0), __ATOMIC_RELEASE);
	/* Request memos hold translations made under the old root state (memo.h). */
	vtd_memo_stale(vtd);
}

/* SRTP: latch RTADDR (root pointer below HAW, and TTM). */
static void srtp(struct vtd *vtd)
{
	uint64_t rt = vtd_reg64(vtd, VTD_REG_RTADDR);
	uint64_t latched = rt & (VTD_RTADDR_TTM_MASK | (VTD_RTADDR_RTA_MASK & ~vtd->ptr_rsvd));
	uint64_t cur = __atomic_load_n(&vtd->root, __ATOMIC_RELAXED);

	publish_root(vtd, latched, cur & VTD_ROOT_TE);
	/* CAP.ESRTPS: the root pointer change also invalidates every translation cache. */
	if (vtd->cfg.esrtps)
		vtd_caches_flush(vtd);
	vtd->regs[DW(VTD_REG_GSTS)] |= (uint32_t)VTD_GSTS_RTPS;
	command_done(vtd, (uint32_t)VTD_GCMD_SRTP);
}

static void set_level(struct vtd *vtd, uint32_t cmd, uint32_t bit, bool supported)
{
	uint32_t *gsts = &vtd->regs[DW(VTD_REG_GSTS)];

	if (!supported || !((cmd ^ *gsts) & bit))
		return;
	*gsts ^= bit;
	if (bit == (uint32_t)VTD_GCMD_TE) {
		uint64_t cur = __atomic_load_n(&vtd->root, __ATOMIC_RELAXED);
		publish_root(vtd, cur & ~VTD_ROOT_TE, *gsts & bit);
	} else if (bit == (uint32_t)VTD_GCMD_QIE) {
		vtd_qi_enable_changed(vtd, *gsts & bit);
	}
	command_done(vtd, bit);
}

static void gcmd_write(struct vtd *vtd, uint32_t cmd, struct vtd_msi *msi)
{
	const struct vtd_config *c = &vtd->cfg;

	/* Level-sensitive enables: the status follows the command bit (EAFL needs CAP.AFL,
	 * which this model does not offer). */
	set_level(vtd, cmd, (uint32_t)VTD_GCMD_TE, true);
	set_level(vtd, cmd, (uint32_t)VTD_GCMD_QIE, c->queued_invalidation);
	set_level(vtd, cmd, (uint32_t)VTD_GCMD_IRE, c->intr_remap);
	set_level(vtd, cmd, (uint32_t)VTD_GCMD_CFI, c->intr_remap);
	/* One-shot commands complete at once. */
	if (cmd & VTD_GCMD_SRTP)
		srtp(vtd);
	if ((cmd & VTD_GCMD_WBF) && c->rwbf)
		command_done(vtd, (uint32_t)VTD_GCMD_WBF); /* WBFS reads 0: flushed */
	if ((cmd & VTD_GCMD_SIRTP) && c->intr_remap) {
		vtd->regs[DW(VTD_REG_GSTS)] |= (uint32_t)VTD_GSTS_IRTPS;
		command_done(vtd, (uint32_t)VTD_GCMD_SIRTP);
	}
	vtd_qi_kick(vtd, msi); /* a queue just enabled starts on what is pending */
}

/* ---- access --------------------------------------------------------------------------- */

static void iectl_written(struct vtd *vtd, struct vtd_msi *msi)
{
	uint32_t *iectl = &vtd->regs[DW(VTD_REG_IECTL)];

	if ((*iectl & VTD_IECTL_IP) && !(*iectl & VTD_IECTL_IM)) {
		*iectl &= ~(uint32_t)VTD_IECTL_IP;
		msi->inv = true;
		msi->inv_data = vtd->regs[DW(VTD_REG_IEDATA)];
		msi->inv_addr =
		    vtd->regs[DW(VTD_REG_IEADDR)] | (uint64_t)vtd->regs[DW(VTD_REG_IEUADDR)] << 32;
	}
}

static void write32(struct vtd *vtd, unsigned off, uint32_t val, struct vtd_msi *msi)
{
	unsigned i = DW(off);
	uint32_t old = vtd->regs[i];

	if (off == VTD_REG_GCMD) {
		gcmd_write(vtd, val, msi); /* GCMD itself stores nothing: it reads 0 */
		return;
	}
	if (!(vtd->wmask[i] | vtd->w1c[i]) || vtd_qi_write_blocked(vtd, off) ||
	    (vtd->reg_draining && off - vtd->cfg.iro * 16 < 16))
		return; /* read-only, reserved or unimplemented, or locked (IVA_REG and
			   IOTLB_REG while an IOTLB_REG command drains: IVT is still set) */
	vtd->regs[i] = ((old & ~vtd->wmask[i]) | (val & vtd->wmask[i])) & ~(val & vtd->w1c[i]);

	switch (off) {
	case VTD_REG_FSTS:
		vtd_fsts_update(vtd);
		vtd_qi_kick(vtd, msi); /* clearing IQE / ITE resumes the queue (1.7) */
		return;
	case VTD_REG_FECTL:
		vtd_fectl_written(vtd, msi);
		return;
	case VTD_REG_IECTL:
		iectl_written(vtd, msi);
		return;
	case VTD_REG_ICS:
		/* Clearing IWC also clears a pending invalidation event. */
		if (!(vtd->regs[i] & VTD_ICS_IWC))
			vtd->regs[DW(VTD_REG_IECTL)] &= ~(uint32_t)VTD_IECTL_IP;
		return;
	case VTD_REG_IQT:
		vtd_qi_kick(vtd, msi);
		return;
	case VTD_REG_IQA:
	case VTD_REG_IQA + 4:
		vtd_qi_iqa_written(vtd);
		return;
	case VTD_REG_CCMD + 4:
		vtd_ccmd_written(vtd);
		return;
	}
	if (off == iotlb_off(vtd) + 4)
		vtd_iotlb_reg_written(vtd, iotlb_off(vtd));
	else if (vtd->w1c[i] & (uint32_t)(VTD_FRCD_Q1_F >> 32))
		vtd_fsts_update(vtd); /* an FRCD.F was cleared */
}

static bool access_ok(const struct vtd *vtd, uint64_t off, unsigned size)
{
	return vtd && (size == 4 || size == 8) && !(off & (size - 1)) && off < vtd->mmio_size &&
	       size <= vtd->mmio_size - off;
}

int vtd_mmio_read(struct vtd *vtd, uint64_t offset, unsigned size, uint64_t *val)
{
	struct vtd_trace_event ev = {.kind = VTD_TRACE_MMIO_READ};
	uint64_t v;

	if (!val || !access_ok(vtd, offset, size))
		return -EINVAL;
	pthread_mutex_lock(&vtd->lock);
	v = vtd->regs[DW(offset)];
	if (size == 8)
		v |= (uint64_t)vtd->regs[DW(offset) + 1] << 32;
	ev.mmio.offset = offset;
	ev.mmio.size = size;
	ev.mmio.value = v;
	vtd_trace(vtd, &ev);
	pthread_mutex_unlock(&vtd->lock);
	*val = v;
	return 0;
}

int vtd_mmio_write(struct vtd *vtd, uint64_t offset, unsigned size, uint64_t val)
{
	struct vtd_trace_event ev = {.kind = VTD_TRACE_MMIO_WRITE};
	struct vtd_msi msi = {0};

	if (!access_ok(vtd, offset, size))
		return -EINVAL;
	pthread_mutex_lock(&vtd->lock);
	ev.mmio.offset = offset;
	ev.mmio.size = size;
	ev.mmio.value = size == 4 ? (uint32_t)val : val;
	vtd_trace(vtd, &ev);
	write32(vtd, (unsigned)offset, (uint32_t)val, &msi);
	if (size == 8)
		write32(vtd, (unsigned)offset + 4, (uint32_t)(val >> 32), &msi);
	pthread_mutex_unlock(&vtd->lock);
	vtd_send_msi(vtd, &msi);
	return 0;
}

/* One interrupt message: traced, then given to the embedder's callback if it has one. */
static void send_event(struct vtd *vtd, enum vtd_trace_kind kind, uint32_t data, uint64_t addr,
		       void (*cb)(void *ctx, uint32_t data, uint64_t addr))
{
	struct vtd_trace_event ev = {.kind = kind};

	ev.msi.data = data;
	ev.msi.addr = addr;
	vtd_trace(vtd, &ev);
	if (cb)
		cb(vtd->cb_ctx, data, addr);
}

void vtd_send_msi(struct vtd *vtd, const struct vtd_msi *msi)
{
	if (msi->fault)
		send_event(vtd, VTD_TRACE_FAULT_EVENT, msi->fault_data, msi->fault_addr,
			   vtd->cb.fault_event);
	if (msi->inv)
		send_event(vtd, VTD_TRACE_INV_EVENT, msi->inv_data, msi->inv_addr,
			   vtd->cb.inv_event);
}

/* ---- ATS ports ------------------------------------------------------------------------ */

int vtd_connect_ats(struct vtd *vtd, uint16_t rid, const struct pci_ats_port *port)
{
	struct pci_ats_port **bus;
	int r = 0;

	if (!vtd || !port || !port->invalidate)
		return -EINVAL;
	pthread_mutex_lock(&vtd->lock);
	bus = &vtd->ats[PCI_RID_BUS(rid)];
	if (!*bus)
		*bus = calloc(256, sizeof(**bus));
	if (!*bus)
		r = -ENOMEM;
	else if ((*bus)[PCI_RID_DEVFN(rid)].invalidate)
		r = -EBUSY;
	else
		(*bus)[PCI_RID_DEVFN(rid)] = *port;
	pthread_mutex_unlock(&vtd->lock);
	return r;
}

int vtd_disconnect_ats(struct vtd *vtd, uint16_t rid)
{
	struct pci_ats_port *bus;
	int r = -ENOENT;

	if (!vtd)
		return -EINVAL;
	pthread_mutex_lock(&vtd->lock);
	bus = vtd->ats[PCI_RID_BUS(rid)];
	if (bus && bus[PCI_RID_DEVFN(rid)].invalidate) {
		bus[PCI_RID_DEVFN(rid)] = (struct pci_ats_port){0};
		r = 0;
	}
	pthread_mutex_unlock(&vtd->lock);
	return r;
}
