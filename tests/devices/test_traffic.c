// SPDX-License-Identifier: MIT
/*
 * NIC and storage traffic end to end through the VT-d model, driver, core, DMA API and the
 * endpoints' device TLBs, in strict, lazy and pass-through mode with check mode on: every
 * packet the device wrote is what the CPU reads and every packet the CPU wrote is what the
 * device read (both carry a CRC and a pattern); every block written through scatter-gather
 * lists reads back the same, and the medium holds what memory held. Plus the packet format's
 * own checks, device errors (a buffer too small, blocks beyond the medium, a list that does
 * not add up), and bad arguments.
 */
#include "check.h"
#include "devices/traffic_machine.h"

static struct tmach t;

/* ---- packets --------------------------------------------------------------------------- */

static void test_packet_format(void)
{
	static uint8_t p[NIC_PKT_MAX];
	uint32_t seq = 0;

	nic_pkt_build(p, 77, 100);
	CHECK_EQ(nic_pkt_check(p, 100, &seq), 0);
	CHECK_EQ(seq, 77);
	CHECK_EQ(nic_pkt_check(p, 101, NULL), -EINVAL); /* length field */
	p[50] ^= 1;
	CHECK_EQ(nic_pkt_check(p, 100, NULL), -EBADMSG);
	p[50] ^= 1;
	p[8] ^= 1; /* the CRC itself */
	CHECK_EQ(nic_pkt_check(p, 100, NULL), -EBADMSG);
	nic_pkt_build(p, 5, NIC_PKT_MAX);
	CHECK_EQ(nic_pkt_check(p, NIC_PKT_MAX, NULL), 0);
	CHECK_EQ(nic_pkt_check(p, NIC_PKT_MIN - 1, NULL), -EINVAL);
	CHECK_EQ(nic_pkt_check(p, NIC_PKT_MAX + 1, NULL), -EINVAL);
}

/* ---- NIC -------------------------------------------------------------------------------- */

static int nic_workload(uint32_t rx, uint32_t tx, uint32_t len)
{
	struct nic_drv_stats a, b;
	struct nic_stats ns;

	CHECK_RET(nic_drv_get_stats(t.nic, &a) == 0);
	CHECK_RET(nic_drv_run(t.nic, rx, tx, len) == 0);
	CHECK_RET(nic_drv_get_stats(t.nic, &b) == 0);
	CHECK_RET(b.rx_packets - a.rx_packets == rx + tx); /* loopback brings tx back */
	CHECK_RET(b.rx_bytes - a.rx_bytes == (uint64_t)(rx + tx) * len);
	CHECK_RET(b.tx_packets - a.tx_packets == tx);
	CHECK_RET(b.rx_bad == 0 && b.rx_out_of_order == 0 && b.rx_errors == 0);
	CHECK_RET(b.tx_errors == 0 && b.map_errors == 0);
	/* One map per packet buffer; the receive ring keeps all but one buffer posted. */
	CHECK_RET(b.maps - b.unmaps == 255);
	CHECK_RET(nic_get_stats(nic_drv_nic(t.nic), &ns) == 0);
	CHECK_RET(ns.tx_bad == 0 && ns.dma_errors == 0 && ns.rx_dropped == 0);
	return 0;
}

static void nic_mode(int domain)
{
	struct tmach_opts o = {.domain = domain, .loopback = true};

	CHECK_EQ(tm_init(&t, &o), 0);
	CHECK_EQ(tm_check(&t, true), 0);
	CHECK_EQ(nic_workload(1000, 1000, 1500), 0);
	CHECK_EQ(nic_workload(300, 0, 64), 0);
	CHECK_EQ(nic_workload(0, 300, 2048), 0);
	CHECK_EQ(tm_check(&t, false), 0);
	CHECK_EQ(t.stale, 0);
	CHECK_EQ(t.atc_stale, 0);
	CHECK_EQ(tm_fini(&t), 0);
}

static void test_nic_strict(void)
{
	nic_mode(IOMMU_DOMAIN_DMA);
}

static void test_nic_lazy(void)
{
	nic_mode(IOMMU_DOMAIN_DMA_FQ);
}

static void test_nic_passthrough(void)
{
	nic_mode(IOMMU_DOMAIN_IDENTITY);
}

/* Jumbo frames, small rings, the DMA API's debug checks watching every device access. */
static void test_nic_jumbo_debug(void)
{
	struct tmach_opts o = {.domain = IOMMU_DOMAIN_DMA,
			       .debug = true,
			       .loopback = true,
			       .buf_size = NIC_PKT_MAX,
			       .rx_size = 16,
			       .tx_size = 8};
	struct nic_drv_stats s;

	CHECK_EQ(tm_init(&t, &o), 0);
	CHECK_EQ(nic_drv_run(t.nic, 200, 200, 9000), 0);
	CHECK_EQ(nic_drv_get_stats(t.nic, &s), 0);
	CHECK_EQ(s.rx_packets, 400);
	CHECK_EQ(s.rx_bad + s.rx_out_of_order, 0);
	CHECK_EQ(t.debug_hits, 0);
	CHECK_EQ(tm_fini(&t), 0);
}

/* The wire keeps each nic_generate() request's length: requests made while earlier ones
 * are still pending arrive in order, each packet with its own length. */
static void test_nic_generate_lengths(void)
{
	struct tmach_opts o = {.domain = IOMMU_DOMAIN_DMA};
	struct nic *nic;
	struct nic_drv_stats s;
	uint64_t want = 0;

	CHECK_EQ(tm_init(&t, &o), 0);
	nic = nic_drv_nic(t.nic);
	CHECK_EQ(nic_generate(nic, 100, 100), 0);
	CHECK_EQ(nic_generate(nic, 50, 300), 0);
	want = 100 * 100 + 50 * 300;
	for (uint32_t i = 0; i < 60; i++) {
		CHECK_EQ(nic_generate(nic, 1, 64 + i), 0);
		want += 64 + i;
	}
	CHECK_EQ(nic_generate(nic, 0, 200), 0); /* nothing */
	for (unsigned n = 0, k = 0; n < 210 && k < 100000; k++) {
		int got = nic_drv_rx_poll(t.nic, 64);

		CHECK(got >= 0);
		n += (unsigned)got;
		if (!got)
			CHECK_EQ(nic_idle(nic, 30000000000ull), 0);
	}
	CHECK_EQ(nic_drv_get_stats(t.nic, &s), 0);
	CHECK_EQ(s.rx_packets, 210);
	CHECK_EQ(s.rx_bytes, want);
	CHECK_EQ(s.rx_bad + s.rx_out_of_order + s.rx_errors, 0);
	CHECK_EQ(tm_fini(&t), 0);
}

/* A packet larger than the receive buffers is dropped by the device, the buffer returned. */
static void test_nic_buffer_too_small(void)
{
	struct tmach_opts o = {.domain = IOMMU_DOMAIN_DMA, .buf_size = 1024};
	struct nic_drv_stats s;
	struct nic_stats ns;

	CHECK_EQ(tm_init(&t, &o), 0);
	CHECK_EQ(nic_drv_run(t.nic, 0, 0, 2000), -EINVAL); /* the driver knows its buffers */
	CHECK_EQ(nic_generate(nic_drv_nic(t.nic), 3, 2000), 0);
	CHECK_EQ(nic_idle(nic_drv_nic(t.nic), 30000000000ull), 0);
	CHECK_EQ(nic_drv_rx_poll(t.nic, 64), 3);
	CHECK_EQ(nic_get_stats(nic_drv_nic(t.nic), &ns), 0);
	CHECK_EQ(ns.rx_dropped, 3);
	CHECK_EQ(nic_drv_get_stats(t.nic, &s), 0);
	CHECK_EQ(s.rx_packets, 0);
	/* The ring still works. */
	CHECK_EQ(nic_drv_run(t.nic, 10, 0, 1000), 0);
	CHECK_EQ(tm_fini(&t), 0);
}

/* The device checks what it reads: a packet corrupted after it was mapped is caught. */
static void test_nic_device_checks_tx(void)
{
	struct tmach_opts o = {.domain = IOMMU_DOMAIN_DMA};
	struct nic_stats ns;

	CHECK_EQ(tm_init(&t, &o), 0);
	CHECK_EQ(nic_drv_xmit(t.nic, 1, 500), 0);
	CHECK_EQ(nic_idle(nic_drv_nic(t.nic), 30000000000ull), 0);
	CHECK_EQ(nic_drv_tx_reap(t.nic), 1);
	CHECK_EQ(nic_get_stats(nic_drv_nic(t.nic), &ns), 0);
	CHECK_EQ(ns.tx_packets, 1);
	CHECK_EQ(ns.tx_bad, 0);
	CHECK_EQ(nic_drv_xmit(t.nic, 2, 50), -EINVAL);
	CHECK_EQ(nic_drv_xmit(NULL, 2, 500), -EINVAL);
	CHECK_EQ(tm_fini(&t), 0);
}

/* ---- storage ------------------------------------------------------------------------------ */

/* Buffers for a request: `n` pieces of varying sizes adding up to `bytes`, some contiguous
 * with the previous one (so the DMA API merges them), at `base`. */
static int make_sg(struct dma_sg *sg, int n, uint64_t base, uint64_t bytes, uint64_t *seed)
{
	uint64_t left = bytes, pa = base;

	for (int i = 0; i < n; i++) {
		uint64_t len = i == n - 1 ? left : 512 + (check_rand(seed) % 8) * 1024;

		if (i < n - 1 && len > left - (uint64_t)(n - 1 - i))
			len = left - (uint64_t)(n - 1 - i); /* leave a byte for each one after */

		CHECK_RET(len <= left && len > 0);
		if (check_rand(seed) & 1)
			pa += 4096 + (check_rand(seed) % 4) * 4096; /* a gap */
		sg[i] = (struct dma_sg){.phys = pa, .length = len};
		pa += len;
		left -= len;
	}
	return 0;
}

static void fill_sg(struct tmach *tt, const struct dma_sg *sg, int n, uint8_t seed)
{
	for (int i = 0; i < n; i++) {
		uint8_t *p = mem_ptr(tt->m->mem, sg[i].phys, sg[i].length);

		for (uint64_t k = 0; k < sg[i].length; k++)
			p[k] = (uint8_t)(seed + i * 31 + k * 13);
	}
}

/* The medium at `lba` holds the bytes of sg, in order. */
static int medium_matches(const struct dma_sg *sg, int n, uint64_t lba)
{
	uint64_t size, off = lba * 4096;
	uint8_t *m = storage_medium(storage_drv_dev(t.sto), &size);

	for (int i = 0; i < n; i++) {
		CHECK_RET(off + sg[i].length <= size);
		CHECK_RET(memcmp(m + off, mem_ptr(t.m->mem, sg[i].phys, sg[i].length),
				 sg[i].length) == 0);
		off += sg[i].length;
	}
	return 0;
}

static int storage_roundtrip(unsigned rounds)
{
	struct dma_sg w[16], r[16];
	struct storage_stats ss;
	uint64_t seed = 42;

	for (unsigned k = 0; k < rounds; k++) {
		uint32_t nblocks = 1 + (uint32_t)(check_rand(&seed) % 32);
		uint64_t lba = check_rand(&seed) % (2048 - nblocks);
		int n = 1 + (int)(check_rand(&seed) % 16);
		uint8_t st;

		if ((uint64_t)n * 512 > nblocks * 4096ull)
			n = 1;
		CHECK_RET(make_sg(w, n, TM_DATA, nblocks * 4096ull, &seed) == 0);
		CHECK_RET(make_sg(r, n, TM_DATA + 0x1000000, nblocks * 4096ull, &seed) == 0);
		fill_sg(&t, w, n, (uint8_t)k);
		fill_sg(&t, r, n, 0xee);
		CHECK_RET(storage_drv_rw(t.sto, true, lba, nblocks, w, n, &st) == 0);
		CHECK_RET(st == STORAGE_OK);
		CHECK_RET(medium_matches(w, n, lba) == 0);
		CHECK_RET(storage_drv_rw(t.sto, false, lba, nblocks, r, n, &st) == 0);
		CHECK_RET(medium_matches(r, n, lba) == 0);
	}
	CHECK_RET(storage_get_stats(storage_drv_dev(t.sto), &ss) == 0);
	CHECK_RET(ss.errors == 0 && ss.reads >= rounds && ss.writes >= rounds);
	CHECK_RET(ss.bytes_read == ss.bytes_written);
	return 0;
}

static void storage_mode(int domain)
{
	struct tmach_opts o = {.domain = domain};
	struct dma_stats ds;

	CHECK_EQ(tm_init(&t, &o), 0);
	CHECK_EQ(tm_check(&t, true), 0);
	CHECK_EQ(storage_roundtrip(150), 0);
	CHECK_EQ(tm_check(&t, false), 0);
	CHECK_EQ(t.stale, 0);
	CHECK_EQ(t.atc_stale, 0);
	CHECK_EQ(dma_get_stats(storage_drv_dma(t.sto), &ds), 0);
	CHECK_EQ(ds.live, 2); /* the queue and the lists */
	CHECK_EQ(tm_fini(&t), 0);
}

static void test_storage_strict(void)
{
	storage_mode(IOMMU_DOMAIN_DMA);
}

static void test_storage_lazy(void)
{
	storage_mode(IOMMU_DOMAIN_DMA_FQ);
}

static void test_storage_passthrough(void)
{
	storage_mode(IOMMU_DOMAIN_IDENTITY);
}

static void test_storage_errors(void)
{
	struct tmach_opts o = {.domain = IOMMU_DOMAIN_DMA, .debug = true};
	struct dma_sg sg[2] = {{.phys = TM_DATA, .length = 4096},
			       {.phys = TM_DATA + 8192, .length = 4096}};
	struct storage_stats ss;
	uint8_t st;

	CHECK_EQ(tm_init(&t, &o), 0);
	CHECK_EQ(storage_drv_rw(t.sto, true, 2047, 2, sg, 2, &st), -EIO); /* past the end */
	CHECK_EQ(st, STORAGE_ERR_LBA);
	CHECK_EQ(storage_drv_rw(t.sto, true, 0, 3, sg, 2, &st), -EIO); /* 8 KiB for 3 blocks */
	CHECK_EQ(st, STORAGE_ERR_CMD);
	CHECK_EQ(storage_drv_rw(t.sto, false, 10, 2, sg, 2, &st), 0);
	CHECK_EQ(st, STORAGE_OK);
	CHECK_EQ(storage_get_stats(storage_drv_dev(t.sto), &ss), 0);
	CHECK_EQ(ss.errors, 2);
	CHECK_EQ(ss.reads, 1);
	CHECK_EQ(storage_drv_rw(t.sto, false, 0, 1, NULL, 1, &st), -EINVAL);
	CHECK_EQ(storage_drv_rw(t.sto, false, 0, 0, sg, 1, &st), -EINVAL);
	CHECK_EQ(storage_drv_rw(NULL, false, 0, 1, sg, 1, &st), -EINVAL);
	sg[0].phys = 1ull << 40; /* the DMA API refuses memory that does not exist */
	CHECK_EQ(storage_drv_rw(t.sto, false, 0, 2, sg, 2, &st), -EFAULT);
	CHECK_EQ(t.debug_hits, 0);
	CHECK_EQ(tm_fini(&t), 0);
}

static void test_bad_configs(void)
{
	struct nic_drv_config nc = {0};
	struct storage_drv_config sc = {0};
	struct nic_config dc = {0};
	struct storage_config stc = {0};
	struct nic_drv *nd;
	struct storage_drv *sd;
	struct nic *nic;
	struct storage *st;

	CHECK_EQ(nic_drv_probe(NULL, &nd), -EINVAL);
	CHECK_EQ(nic_drv_probe(&nc, &nd), -EINVAL);
	CHECK_EQ(storage_drv_probe(&sc, &sd), -EINVAL);
	CHECK_EQ(nic_create(&dc, &nic), -EINVAL);
	CHECK_EQ(storage_create(&stc, &st), -EINVAL);
	struct tmach_opts o = {.domain = IOMMU_DOMAIN_DMA};
	CHECK_EQ(tm_init(&t, &o), 0);
	dc.ep = t.nic_dev->ep;
	dc.rx_size = 3;
	CHECK_EQ(nic_create(&dc, &nic), -EINVAL);
	dc.rx_size = NIC_RING_MAX * 2;
	CHECK_EQ(nic_create(&dc, &nic), -EINVAL);
	stc.ep = t.sto_dev->ep;
	stc.queue_size = 8;
	stc.blocks = 16;
	stc.block_size = 1000;
	CHECK_EQ(storage_create(&stc, &st), -EINVAL);
	stc.block_size = 512;
	CHECK_EQ(storage_create(&stc, &st), 0);
	storage_destroy(st);
	nc.ep = t.nic_dev->ep;
	nc.dma.dev = t.nic_dev->dev;
	nc.dma.mem = t.m->mem;
	nc.dma.alloc = t.m->alloc;
	nc.rx_size = 100;
	CHECK_EQ(nic_drv_probe(&nc, &nd), -EINVAL);
	nc.rx_size = 0;
	nc.buf_size = 32;
	CHECK_EQ(nic_drv_probe(&nc, &nd), -EINVAL);
	CHECK_EQ(nic_generate(NULL, 1, 100), -EINVAL);
	CHECK_EQ(nic_generate(nic_drv_nic(t.nic), 1, 10), -EINVAL);
	CHECK_EQ(nic_get_stats(NULL, NULL), -EINVAL);
	CHECK_EQ(storage_get_stats(NULL, NULL), -EINVAL);
	CHECK_EQ(nic_drv_remove(NULL), 0);
	CHECK_EQ(storage_drv_remove(NULL), 0);
	nic_destroy(NULL);
	storage_destroy(NULL);
	CHECK_EQ(tm_fini(&t), 0);
}

int main(void)
{
	RUN(test_packet_format);
	RUN(test_nic_strict);
	RUN(test_nic_lazy);
	RUN(test_nic_passthrough);
	RUN(test_nic_jumbo_debug);
	RUN(test_nic_generate_lengths);
	RUN(test_nic_buffer_too_small);
	RUN(test_nic_device_checks_tx);
	RUN(test_storage_strict);
	RUN(test_storage_lazy);
	RUN(test_storage_passthrough);
	RUN(test_storage_errors);
	RUN(test_bad_configs);
	return CHECK_DONE();
}
