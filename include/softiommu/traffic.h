/* SPDX-License-Identifier: MIT */
/*
 * softiommu traffic: two device models shaped like the DMA users that stress an IOMMU most,
 * each with a small kernel driver on the DMA API.
 *
 *  - A NIC: receive and transmit rings of 16-byte descriptors in coherent memory; one
 *    buffer mapped with dma_map_single() per packet and unmapped when the device is done
 *    with it (Linux's classic per-packet streaming DMA). The device writes received packets
 *    into the buffers and reads transmitted ones, by DMA through its endpoint.
 *  - A storage controller: a submission queue of 64-byte commands in coherent memory, each
 *    naming a scatter-gather list (in coherent memory too) of a request mapped with
 *    dma_map_sg(); the device moves the blocks between its medium and every segment.
 *
 * Both devices run in their own thread, woken by doorbells (function calls standing for
 * MMIO writes), do every access through their `struct pci_endpoint` - device TLB and IOMMU
 * included - and call an optional access hook before each DMA (a driver points it at
 * dma_debug_check_access()). Packets and blocks carry their own checks, so each side
 * verifies what the other wrote: the NIC checks every transmitted packet it reads, its
 * driver every packet received; the storage tests compare medium and memory.
 *
 * Errors are negative errno values. Locking: each device has one mutex for its doorbells and
 * counters are relaxed atomics; a driver serialises its own ring handling with a mutex, so
 * its functions may be called from several threads. Destroy/remove must not race anything.
 */
#ifndef SOFTIOMMU_TRAFFIC_H
#define SOFTIOMMU_TRAFFIC_H

#include <stdbool.h>
#include <stdint.h>

#include <softiommu/dma.h>
#include <softiommu/pci.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called before each DMA a device issues (see dsa_access_fn). */
typedef void (*traffic_access_fn)(void *ctx, uint64_t addr, uint64_t len, bool write);

/* ==== Packets =================================================================================
 *
 * A packet is at least NIC_PKT_MIN bytes: a 12-byte header - sequence number, length (both
 * 32-bit little-endian), CRC-32C of the bytes after the header - then the payload, byte i of
 * which is (seq * 7 + i) & 0xff. nic_pkt_build() makes one, nic_pkt_check() verifies one.
 */
#define NIC_PKT_MIN 64
#define NIC_PKT_MAX 9216

/* nic_pkt_build() - write packet `seq` of `len` bytes (NIC_PKT_MIN..NIC_PKT_MAX) into buf. */
void nic_pkt_build(uint8_t *buf, uint32_t seq, uint32_t len);

/* nic_pkt_check() - 0 if buf holds a well-formed packet of `len` bytes (its seq in *seq, may
 * be NULL); -EINVAL (bad length field or payload pattern) or -EBADMSG (bad CRC) otherwise. */
int nic_pkt_check(const uint8_t *buf, uint32_t len, uint32_t *seq);

/* ==== NIC: device =============================================================================
 *
 * Ring descriptors, 16 bytes, status first (the device writes a descriptor back as one
 * write inside a cache line, which lands with its first 8 bytes last: pci.h):
 *   0  u16 status  NIC_DESC_DD (the device is done with it), NIC_DESC_ERR (DMA failed)
 *   2  u16 len     rx: buffer size (driver), packet length (device); tx: packet length
 *   4  u32 rsvd
 *   8  u64 addr    the buffer's DMA address
 * The driver owns descriptors from the device's head up to the tail it last rang; the device
 * consumes them in order and sets DD. A ring's size is a power of two.
 */
struct nic_desc {
	uint16_t status;
	uint16_t len;
	uint32_t rsvd;
	uint64_t addr;
};

#define NIC_DESC_DD  (1u << 0)
#define NIC_DESC_ERR (1u << 1)
#define NIC_RING_MAX 4096

struct nic;

struct nic_config {
	struct pci_endpoint *ep; /* required; not owned */
	dma_addr_t rx_ring, tx_ring;
	uint32_t rx_size, tx_size; /* descriptors, powers of two, 1..NIC_RING_MAX */
	bool loopback;		   /* each transmitted packet is also received */
	traffic_access_fn access;
	void *access_ctx;
};

struct nic_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_bad;       /* transmitted packets that failed nic_pkt_check() */
	uint64_t rx_dropped;   /* packets that found no receive buffer (loopback) or too small */
	uint64_t dma_errors;   /* descriptors completed with NIC_DESC_ERR (or not written back) */
	uint64_t rx_generated; /* packets nic_generate() asked for that were delivered */
};

/*
 * nic_create() - the device and its thread. -EINVAL NULL pointers, no endpoint, ring sizes
 * that are not powers of two or above NIC_RING_MAX (0 means no ring); -ENOMEM; pthread
 * errors. nic_destroy() stops the thread (work in progress finishes). NULL is accepted.
 */
int nic_create(const struct nic_config *cfg, struct nic **out);
void nic_destroy(struct nic *nic);

/* Doorbells: the driver has filled descriptors up to (not including) `tail` (mod size). */
void nic_rx_doorbell(struct nic *nic, uint32_t tail);
void nic_tx_doorbell(struct nic *nic, uint32_t tail);

/*
 * nic_generate() - the wire delivers `count` more packets of `len` bytes, numbered on from
 * the last generated one, into the receive ring as buffers become available (none is
 * dropped), after the packets of earlier calls, each with the length its call gave.
 * -EINVAL for a NULL nic or a length outside NIC_PKT_MIN..NIC_PKT_MAX; -ENOMEM no room to
 * keep the request (nothing is added).
 */
int nic_generate(struct nic *nic, uint32_t count, uint32_t len);

/* nic_idle() - wait (at most timeout_ns) until the device has nothing it could do. 0 or
 * -ETIMEDOUT. */
int nic_idle(struct nic *nic, uint64_t timeout_ns);

/* nic_get_stats() - the counters. -EINVAL for NULL. */
int nic_get_stats(struct nic *nic, struct nic_stats *out);

/* ==== NIC: driver =============================================================================
 *
 * nic_drv_probe() makes the DMA handle and the rings (coherent), the device (loopback as
 * configured) and a pool of packet buffers (pages from cfg.dma.alloc); it posts every
 * receive buffer, each mapped with dma_map_single(DMA_FROM_DEVICE). Transmit maps the
 * packet's buffer with DMA_TO_DEVICE. Completed buffers are unmapped before the CPU
 * looks at them (receive) or reuses them (transmit). The driver checks every packet it
 * receives (nic_pkt_check) and that sequence numbers arrive in order.
 */
struct nic_drv;

struct nic_drv_config {
	struct pci_endpoint *ep;   /* required */
	struct dma_dev_config dma; /* dev, mem, alloc required */
	uint32_t rx_size, tx_size; /* ring sizes (powers of two); 0 = 256 */
	uint32_t buf_size;	   /* receive buffer bytes, NIC_PKT_MIN..NIC_PKT_MAX; 0 = 2048 */
	bool loopback;
	uint64_t timeout_ns; /* bound of every wait; 0 = 2 s */
};

struct nic_drv_stats {
	uint64_t rx_packets, rx_bytes, rx_bad, rx_out_of_order, rx_errors;
	uint64_t tx_packets, tx_bytes, tx_errors;
	uint64_t maps, unmaps, map_errors;
};

/*
 * nic_drv_probe() / nic_drv_remove() - see above. Probe: -EINVAL bad config; the DMA API's
 * and the device's errors (nothing is left behind). Remove stops the device, unmaps what
 * is mapped, frees the buffers and destroys the DMA handle; it returns dma_dev_destroy()'s
 * result. NULL is 0.
 */
int nic_drv_probe(const struct nic_drv_config *cfg, struct nic_drv **out);
int nic_drv_remove(struct nic_drv *drv);

/* nic_drv_nic(), nic_drv_dma() - the driver's device and DMA handle (NULL for a NULL
 * driver), owned by the driver and valid until nic_drv_remove(). */
struct nic *nic_drv_nic(struct nic_drv *drv);
struct dma_dev *nic_drv_dma(struct nic_drv *drv);

/*
 * nic_drv_xmit() - send packet `seq` of `len` bytes: reap finished transmits, build the
 * packet in a free buffer, map it, post it, ring the doorbell. -EINVAL bad length; -EBUSY
 * no free transmit slot even after waiting the timeout; the map errors. Received packets
 * are checked for order per source: generated ones count from 0, looped-back ones from
 * NIC_TX_SEQ0 (nic_drv_run() numbers its transmits so).
 */
#define NIC_TX_SEQ0 0x80000000u
int nic_drv_xmit(struct nic_drv *drv, uint32_t seq, uint32_t len);

/* nic_drv_tx_reap() - unmap finished transmits; returns how many, -EINVAL for NULL. */
int nic_drv_tx_reap(struct nic_drv *drv);

/*
 * nic_drv_rx_poll() - take up to `budget` received packets: unmap each buffer, check the
 * packet, map the buffer again and give it back to the device. Returns how many; -EINVAL
 * for NULL; the map error of a buffer that could not be posted again.
 */
int nic_drv_rx_poll(struct nic_drv *drv, unsigned budget);

/*
 * nic_drv_run() - a workload: have the device generate `rx` packets of `len` bytes and send
 * `tx` packets of `len` bytes (interleaved), polling until all are accounted for or the
 * timeout passes. 0, -ETIMEDOUT, or the first error.
 */
int nic_drv_run(struct nic_drv *drv, uint32_t rx, uint32_t tx, uint32_t len);

/* nic_drv_get_stats() - a consistent copy of the driver's counters (taken under its lock).
 * -EINVAL for NULL. */
int nic_drv_get_stats(struct nic_drv *drv, struct nic_drv_stats *out);

/* ==== Storage: device =========================================================================
 *
 * Commands, 64 bytes, status first (written back as one write inside a cache line):
 *   0  u8  status   0 pending, STORAGE_OK, STORAGE_ERR_* (written by the device)
 *   1  u8  opcode   STORAGE_READ (medium -> memory) or STORAGE_WRITE (memory -> medium)
 *   2  u16 nsegs    entries of the scatter-gather list, 1..STORAGE_MAX_SEGS
 *   4  u32 tag      the driver's, unchanged
 *   8  u64 lba      first block
 *  16  u32 nblocks  blocks to move (the segments' lengths add up to nblocks * block size)
 *  20  u32 rsvd
 *  24  u64 sgl      DMA address of the list: nsegs entries {u64 addr; u32 len; u32 rsvd}
 *  32  32 bytes reserved
 */
struct storage_cmd {
	uint8_t status;
	uint8_t opcode;
	uint16_t nsegs;
	uint32_t tag;
	uint64_t lba;
	uint32_t nblocks;
	uint32_t rsvd0;
	uint64_t sgl;
	uint64_t rsvd1[4];
};

struct storage_sge {
	uint64_t addr;
	uint32_t len;
	uint32_t rsvd;
};

#define STORAGE_READ	 1
#define STORAGE_WRITE	 2
#define STORAGE_OK	 1
#define STORAGE_ERR_CMD	 2 /* bad opcode, count, or segment lengths */
#define STORAGE_ERR_LBA	 3 /* beyond the medium */
#define STORAGE_ERR_DMA	 4 /* a DMA of the list or the data failed */
#define STORAGE_MAX_SEGS 256
#define STORAGE_Q_MAX	 1024

struct storage;

struct storage_config {
	struct pci_endpoint *ep; /* required; not owned */
	dma_addr_t queue;	 /* the submission queue */
	uint32_t queue_size;	 /* commands, a power of two, 1..STORAGE_Q_MAX */
	uint32_t block_size;	 /* 512 or 4096; 0 = 4096 */
	uint64_t blocks;	 /* medium size (host memory, allocated here) */
	traffic_access_fn access;
	void *access_ctx;
};

struct storage_stats {
	uint64_t reads, writes; /* commands completed OK */
	uint64_t bytes_read;	/* medium -> memory */
	uint64_t bytes_written; /* memory -> medium */
	uint64_t segments;	/* segments moved */
	uint64_t errors;	/* commands completed with an error */
};

/* storage_create() - the device, its medium (zeroed) and thread. -EINVAL bad config,
 * -ENOMEM. storage_destroy() stops it. NULL is accepted. */
int storage_create(const struct storage_config *cfg, struct storage **out);
void storage_destroy(struct storage *st);

/* storage_doorbell() - commands are ready up to (not including) `tail` (mod size). */
void storage_doorbell(struct storage *st, uint32_t tail);

/* storage_medium() - the medium's bytes, for checks (block lba at lba * block size). */
uint8_t *storage_medium(struct storage *st, uint64_t *size);

/* storage_get_stats() - the counters (each read atomically, not as a set). -EINVAL for
 * NULL. */
int storage_get_stats(struct storage *st, struct storage_stats *out);

/* ==== Storage: driver ========================================================================= */

struct storage_drv;

struct storage_drv_config {
	struct pci_endpoint *ep;   /* required */
	struct dma_dev_config dma; /* dev, mem, alloc required */
	uint32_t queue_size;	   /* a power of two, 2..STORAGE_Q_MAX; 0 = 64 */
	uint32_t block_size;	   /* 0 = 4096 */
	uint64_t blocks;	   /* 0 = 4096 */
	uint64_t timeout_ns;	   /* 0 = 2 s */
};

/*
 * storage_drv_probe() - the DMA handle, the submission queue and a scatter-gather area in
 * coherent memory, and the device on them. -EINVAL NULL pointers, no endpoint or DMA
 * dev/mem/alloc, a queue size that is not a power of two from 2 to STORAGE_Q_MAX;
 * -ENOMEM; the DMA API's and storage_create()'s errors (nothing is left behind).
 * storage_drv_remove() - stops the device, frees the coherent memory and destroys the
 * DMA handle; returns dma_dev_destroy()'s result. NULL is 0. No request may be in flight.
 */
int storage_drv_probe(const struct storage_drv_config *cfg, struct storage_drv **out);
int storage_drv_remove(struct storage_drv *drv);

/* storage_drv_dev(), storage_drv_dma() - the driver's device and DMA handle (NULL for a
 * NULL driver), owned by the driver and valid until storage_drv_remove(). */
struct storage *storage_drv_dev(struct storage_drv *drv);
struct dma_dev *storage_drv_dma(struct storage_drv *drv);

/*
 * storage_drv_rw() - move `nblocks` blocks at `lba` between the medium and the buffers of
 * `sg` (CPU physical addresses and lengths; the lengths add up to nblocks * block size):
 * dma_map_sg() in the transfer's direction, the list and the command into coherent memory,
 * doorbell, wait for the status, dma_unmap_sg(). 0; -EINVAL bad arguments; -EIO the device
 * reported an error (its status in *status if not NULL); -ETIMEDOUT; the DMA API's errors.
 */
int storage_drv_rw(struct storage_drv *drv, bool write, uint64_t lba, uint32_t nblocks,
		   struct dma_sg *sg, int nents, uint8_t *status);

#ifdef __cplusplus
}
#endif
#endif
