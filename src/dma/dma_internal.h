/* SPDX-License-Identifier: MIT */
/*
 * The DMA API's private structures: the device handle, its per-thread slots (flush queue
 * and counters), the flush-queue timer and the debug bookkeeping. Nothing outside
 * src/dma/dma*.c includes this.
 */
#ifndef SOFTIOMMU_DMA_DMA_INTERNAL_H
#define SOFTIOMMU_DMA_DMA_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <softiommu/dma.h>
#include <softiommu/iova.h>

#define DMA_LIKELY(x)	__builtin_expect(!!(x), 1)
#define DMA_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The x86 interrupt window: DMA writes there are MSIs, never memory (VT-d 5.1). */
#define DMA_MSI_START 0xfee00000ull
#define DMA_MSI_END   0xfeefffffull

/*
 * One flush-queue entry: an IOVA range whose translations may still be cached, the
 * page-table pages its unmap freed, and for coherent buffers the pages of the buffer.
 * `counter` is the flush-start count when it was queued: it may be released once the
 * finish count has passed it, i.e. once a flush that started after it finished.
 */
struct dma_fq_entry {
	uint64_t pfn;
	uint64_t npages; /* 0: no IOVA (a coherent buffer in direct mode never queues) */
	uint64_t counter;
	struct iommu_pages_list freelist;
	uint64_t buf_phys;
	int buf_order; /* -1: no buffer pages */
};

/* A ring of `size` entries; `head` is the oldest, `count` how many are queued. */
struct dma_fq {
	unsigned head, count, size;
	struct dma_fq_entry entries[];
};

/*
 * What each thread uses: a flush queue (allocated on first use) and counters, on its own
 * cache lines so that threads on different slots never share one. Threads get a slot
 * index once (round robin over DMA_FQ_MAX); beyond DMA_FQ_MAX threads slots are shared,
 * which the mutex and the atomic counters make correct, only slower.
 */
struct dma_slot {
	_Alignas(128) pthread_mutex_t lock; /* the flush queue */
	struct dma_fq *fq;
	uint64_t tick; /* dev->fq_tick when this slot last queued (lock) */
	atomic_uint_least64_t maps, unmaps, map_errors, syncs, queued, inv_ns;
};

enum dma_flush_reason {
	DMA_FLUSH_FULL,
	DMA_FLUSH_TIMEOUT,
	DMA_FLUSH_EXPLICIT,
	DMA_FLUSH_NOSPACE,
	DMA_FLUSH_NR,
};

struct dma_debug;

struct dma_dev {
	struct iommu_dev *idev;
	struct iommu_domain *domain; /* the default domain */
	struct mem *mem;
	struct mem_alloc *alloc;
	enum dma_mode mode;
	bool debug;
	bool timing;
	unsigned shift;	       /* log2 of the IOVA granule (the domain's smallest page) */
	uint64_t gmask;	       /* granule - 1 */
	uint64_t dma_mask;     /* highest address the device can emit */
	uint64_t limit_pfn;    /* highest IOVA pfn handed out */
	unsigned iova_flags;   /* IOVA_ALLOC_* for every allocation */
	unsigned prot_extra;   /* IOMMU_CACHE when the unit snoops */
	uint64_t max_seg_size; /* sg merging limit */
	struct iova_domain *iovad;
	struct dma_debug *dbg;
	struct dma_dev *next; /* the registry of handles (one per domain) */

	/* kernel PASID */
	pthread_mutex_t pasid_lock;
	uint32_t pasid;
	const char *_Atomic pasid_status;

	/* flush queues */
	unsigned fq_size;
	unsigned fq_timeout_ms;
	_Alignas(128) atomic_uint_least64_t fq_flush_start;
	atomic_uint_least64_t fq_flush_finish;
	atomic_uint_least64_t fq_tick; /* timer expiries so far (dma_fq.c) */
	atomic_int fq_timer_on;
	atomic_uint_least64_t flushes[DMA_FLUSH_NR];
	atomic_uint_least64_t flush_ns;
	atomic_uint_least64_t iova_retries;
	atomic_uint_least64_t fq_bad_frees; /* queued IOVAs the allocator refused */

	/* the flush-queue timer thread (lazy mode, unless DMA_FQ_TIMEOUT_NONE) */
	bool fq_ready; /* dma_fq_init() ran: the timer lock and condition exist */
	pthread_t timer;
	bool timer_running;
	pthread_mutex_t tmr_lock;
	pthread_cond_t tmr_cond;
	bool tmr_armed, tmr_stop;
	struct timespec tmr_deadline;

	struct dma_slot slots[DMA_FQ_MAX];
};

/* dma.c */
struct dma_slot *dma_this_slot(struct dma_dev *dev);
void dma_set_error(int err);
uint64_t dma_now_ns(void);

/* dma_map.c: the IOVA side, shared by single, sg and coherent mappings. */
int dma_iova_alloc(struct dma_dev *dev, uint64_t npages, uint64_t *pfn);
int dma_iova_unmap(struct dma_dev *dev, uint64_t iova, uint64_t len, uint64_t buf_phys,
		   int buf_order, struct dma_slot *slot);
unsigned dma_dir_prot(const struct dma_dev *dev, enum dma_data_direction dir);

static inline bool dma_dir_valid(enum dma_data_direction dir)
{
	return (unsigned)dir <= DMA_FROM_DEVICE;
}

static inline uint64_t dma_align(const struct dma_dev *dev, uint64_t x)
{
	return (x + dev->gmask) & ~dev->gmask;
}

/* dma_fq.c */
int dma_fq_init(struct dma_dev *dev);
void dma_fq_destroy(struct dma_dev *dev);
void dma_fq_queue(struct dma_dev *dev, struct dma_slot *slot, uint64_t pfn, uint64_t npages,
		  struct iommu_pages_list *freelist, uint64_t buf_phys, int buf_order);
unsigned dma_fq_flush_drain(struct dma_dev *dev, enum dma_flush_reason why);
bool dma_fq_timer_fire(struct dma_dev *dev);
uint64_t dma_fq_pending(struct dma_dev *dev);

/* dma_pasid.c */
void dma_pasid_teardown(struct dma_dev *dev);

/* dma_debug.c: everything returns at once when the device has no debugging. */

/* What an unmap must undo, as the debug bookkeeping recorded it. */
struct dma_debug_undo {
	dma_addr_t addr;
	uint64_t size;
	uint64_t iova_pfn, iova_npages; /* 0 pages: nothing to unmap (direct mode) */
	uint64_t phys;			/* coherent: the buffer */
	int order;			/* coherent: its order, else -1 */
};

/*
 * Undo what `u` describes, for the unmap calls and the leak sweep: unmap its IOVA range
 * (a coherent buffer is freed with it, after its flush in lazy mode), or with no IOVA
 * range (direct mode) free a coherent buffer at once. Returns dma_iova_unmap()'s result
 * (-ENOENT: the range was not mapped), or 0. dma_map.c.
 */
int dma_undo(struct dma_dev *dev, const struct dma_debug_undo *u, struct dma_slot *slot);

/* The end of every unmap call: undo `u` in this thread's slot and count the unmap, unless
 * the range was not mapped (-ENOENT). */
static inline int dma_unmap_done(struct dma_dev *dev, const struct dma_debug_undo *u)
{
	struct dma_slot *slot = dma_this_slot(dev);
	int ret = dma_undo(dev, u, slot);

	if (ret != -ENOENT)
		atomic_fetch_add_explicit(&slot->unmaps, 1, memory_order_relaxed);
	return ret;
}

int dma_debug_create(struct dma_dev *dev, const struct dma_dev_config *cfg);
void dma_debug_destroy(struct dma_dev *dev);
int dma_debug_add(struct dma_dev *dev, dma_addr_t addr, uint64_t size, uint64_t phys,
		  enum dma_data_direction dir, enum dma_map_type type, uint64_t iova_pfn,
		  uint64_t iova_npages, int order);
int dma_debug_add_sg(struct dma_dev *dev, const struct dma_sg *sg, int nents, int segs,
		     enum dma_data_direction dir, uint64_t iova_pfn, uint64_t iova_npages);
int dma_debug_unmap(struct dma_dev *dev, dma_addr_t addr, uint64_t size,
		    enum dma_data_direction dir, enum dma_map_type type, uint64_t phys,
		    struct dma_debug_undo *undo);
int dma_debug_unmap_sg(struct dma_dev *dev, const struct dma_sg *sg, int nents,
		       enum dma_data_direction dir, struct dma_debug_undo *undo);
size_t dma_debug_leaks(struct dma_dev *dev);

#endif
