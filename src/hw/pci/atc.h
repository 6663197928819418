/* SPDX-License-Identifier: MIT */
/*
 * The address translation cache (ATC, "device TLB") of a PCIe function: set-associative,
 * LRU, entries of any power-of-two size from 4 KiB to 2^63 bytes (an ATS completion may
 * return any naturally aligned size).
 *
 * A set is chosen by the entry's page number at its own size, so one address is looked up
 * once per size the cache holds (a bitmask of present sizes keeps that to one or two
 * probes in practice). The PASID is not part of the index: entries of several PASIDs for
 * one page share a set, which lets a Global mapping be found by any PASID and lets a
 * global invalidation visit only the sets of its range.
 *
 * No locking here: the endpoint holds its lock around every call (read side for
 * atc_lookup(), write side for everything that changes entries). The LRU stamps are the one
 * thing several readers write at once; they are relaxed atomics.
 */
#ifndef SOFTIOMMU_HW_PCI_ATC_H
#define SOFTIOMMU_HW_PCI_ATC_H

#include <stdbool.h>
#include <stdint.h>

/* atc_key.tag and atc_entry.tag */
#define ATC_T_PASID  (1u << 0) /* tagged by `pasid` (the request had a PASID prefix) */
#define ATC_T_PRIV   (1u << 1) /* filled by a privileged-mode request */
#define ATC_T_GLOBAL (1u << 2) /* entry only: a Global mapping, used for every PASID */

/* Who is asking: the tag bits of a request (PASID, PRIV) and its PASID. */
struct atc_key {
	uint32_t pasid; /* 0 unless tag has ATC_T_PASID */
	uint8_t tag;
};

struct atc_entry {
	uint64_t addr; /* untranslated base, aligned to 1 << shift */
	uint64_t pa;   /* translated base */
	/* Changes on every fill and removal of this slot. Written under the write side with
	 * atomic stores, so that a request memo may look at it without the lock (dma.c). */
	uint64_t version;
	uint64_t lru; /* stamp of the last use (relaxed atomic) */
	uint32_t pasid;
	uint8_t shift; /* log2 of the size, 12..63; 0 = free slot */
	uint8_t tag;   /* ATC_T_* */
	uint8_t perm;  /* PCI_PERM_* */
};

struct atc {
	struct atc_entry *e; /* sets * ways, set-major */
	uint32_t sets, ways;
	unsigned set_bits;
	uint64_t clock;	 /* LRU clock (relaxed atomic) */
	uint64_t shifts; /* bit s set: some entry has size 1 << s */
	uint32_t nshift[64];
	uint64_t used; /* valid entries */
};

/* Which entries an invalidation or a fill removes. */
enum atc_sel_kind {
	ATC_SEL_ALL,	   /* every entry */
	ATC_SEL_NOPASID,   /* entries without PASID */
	ATC_SEL_PASID,	   /* entries of one PASID (not Global mappings) */
	ATC_SEL_ALL_PASID, /* every PASID-tagged entry, Global mappings included */
	ATC_SEL_KEY,	   /* every entry atc_lookup() could return for `key` */
};

struct atc_sel {
	enum atc_sel_kind kind;
	struct atc_key key; /* ATC_SEL_PASID: key.pasid; ATC_SEL_KEY: the key */
};

/* Write side: the slot's contents change (a fill or a removal). */
static inline void atc_bump_version(struct atc_entry *e)
{
	__atomic_store_n(&e->version, e->version + 1, __ATOMIC_RELEASE);
}

/* atc_init() - allocate sets * ways free entries. 0 or -ENOMEM. `sets` is a power of two. */
int atc_init(struct atc *c, uint32_t sets, uint32_t ways);
void atc_fini(struct atc *c);

/* atc_tick() - the LRU stamp for entries in use at once (one stamp for all of them, each
 * given it with atc_stamp()). Plain loads and stores, as atc_lookup()'s touch. Read side. */
static inline uint64_t atc_tick(struct atc *c)
{
	uint64_t now = __atomic_load_n(&c->clock, __ATOMIC_RELAXED) + 1;

	__atomic_store_n(&c->clock, now, __ATOMIC_RELAXED);
	return now;
}

static inline void atc_stamp(struct atc_entry *e, uint64_t now)
{
	__atomic_store_n(&e->lru, now, __ATOMIC_RELAXED);
}

/*
 * atc_lookup() - the entry that translates `addr` for `key`: the smallest one that contains
 * `addr` and is tagged like the key (or is a Global mapping, for a PASID key). With `touch`
 * its LRU stamp is refreshed. NULL if none. Read side.
 */
struct atc_entry *atc_lookup(struct atc *c, const struct atc_key *key, uint64_t addr, bool touch);

/*
 * atc_lookup_size() - the entry of size 1 << shift that translates `addr` for `key`, or NULL;
 * one probe. With shift 12 it is what atc_lookup() returns whenever it finds a 4 KiB entry
 * (no entry is smaller). Read side.
 */
struct atc_entry *atc_lookup_size(struct atc *c, const struct atc_key *key, uint64_t addr,
				  unsigned shift, bool touch);

/*
 * atc_insert() - cache a translation of [addr, addr + (1 << shift)) for `key` (addr is
 * aligned; 12 <= shift <= 63). Entries the key would find in that range are removed first
 * (the new completion supersedes them); the set's LRU entry is evicted if the set is full
 * (*evicted set). `global` makes it a Global mapping (needs a PASID key). Write side.
 */
struct atc_entry *atc_insert(struct atc *c, const struct atc_key *key, bool global, uint64_t addr,
			     unsigned shift, uint64_t pa, uint8_t perm, bool *evicted);

/*
 * atc_remove() - remove every entry selected by `sel` that overlaps [base, base + size)
 * (size 0 = the whole address space; base + size may be 2^64). Returns how many. Visits only
 * the sets the range maps to when that is fewer than all of them. Write side.
 */
uint64_t atc_remove(struct atc *c, const struct atc_sel *sel, uint64_t base, uint64_t size);

#endif
