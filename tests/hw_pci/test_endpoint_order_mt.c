// SPDX-License-Identifier: MIT
/*
 * Ordered status words: a device writes a payload and then an aligned 4- or 8-byte status
 * word (or a 32-byte record whose first 8 bytes are the status) by DMA while a CPU thread polls
 * that word with an acquire load and then reads the payload - the way drivers poll completion
 * records. And the other way round: the CPU writes a payload and a doorbell word with a release
 * store, the device polls the word by DMA and then reads the payload. The payload must always be
 * complete, and under ThreadSanitizer the status word's DMA must not race with the CPU's atomic
 * access (it is a release store / acquire load on directly mapped memory), nor the payload with
 * anything.
 */
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <softiommu/mem.h>
#include <softiommu/pci.h>
#include <string.h>

#define IOVA	0x80000000ull
#define PA	0x400000ull /* 2 MiB aligned */
#define PAYLOAD 4096
#define ROUNDS	3000

static struct mem *mem;

/* IOVA + x -> PA + x, 2 MiB translations. */
static int agent_translate(void *ctx, const struct pci_req *req, struct pci_resp *resp)
{
	(void)ctx;
	*resp = (struct pci_resp){0};
	if (req->at == PCI_AT_TRANSLATED) {
		resp->addr = req->addr;
		return 0;
	}
	if (req->addr < IOVA || req->addr - IOVA >= (2u << 20)) {
		resp->status = PCI_UR;
		return 0;
	}
	resp->addr = req->addr - IOVA + PA;
	resp->page_size = 2u << 20;
	resp->perm = PCI_PERM_R | PCI_PERM_W;
	return 0;
}

static struct pci_endpoint *make_ep(bool ats)
{
	struct pci_endpoint_config cfg = {
	    .rid = PCI_RID(0, 3, 0),
	    .ats = ats,
	    .ats_enable = ats,
	    .atc_sets = ats ? 4 : 0,
	    .atc_ways = ats ? 2 : 0,
	    .agent = {.translate = agent_translate},
	    .mem = mem,
	};
	struct pci_endpoint *ep = NULL;

	pci_endpoint_create(&cfg, &ep);
	return ep;
}

struct run {
	struct pci_endpoint *ep;
	unsigned word;	 /* 4 or 8, or 32: a record whose first 8 bytes are the round */
	uint64_t ack;	 /* last round the other side finished (acquire/release) */
	unsigned errors; /* atomic */
};

static void failed(struct run *r)
{
	__atomic_fetch_add(&r->errors, 1, __ATOMIC_RELEASE);
}

static bool has_failed(struct run *r)
{
	return __atomic_load_n(&r->errors, __ATOMIC_ACQUIRE) != 0;
}

/* Device: payload, then the status word; waits for the CPU's ack before the next round. */
static void *device_writer(void *arg)
{
	struct run *r = arg;
	static uint8_t buf[PAYLOAD];

	for (uint64_t i = 1; i <= ROUNDS; i++) {
		uint64_t v[4] = {i, i * 3, i * 5, i * 7};

		memset(buf, (int)(i & 0xff), sizeof(buf));
		if (pci_endpoint_dma_write(r->ep, 0, 0, IOVA, buf, sizeof(buf), NULL) ||
		    pci_endpoint_dma_write(r->ep, 0, 0, IOVA + PAYLOAD, v, r->word, NULL))
			failed(r);
		while (__atomic_load_n(&r->ack, __ATOMIC_ACQUIRE) < i && !has_failed(r))
			sched_yield();
	}
	return NULL;
}

static bool payload_is(uint64_t round)
{
	const uint8_t *p = mem_ptr(mem, PA, PAYLOAD);

	for (unsigned k = 0; k < PAYLOAD; k++)
		if (p[k] != (uint8_t)round)
			return false;
	return true;
}

static uint64_t cpu_load(const struct run *r)
{
	void *q = mem_ptr(mem, PA + PAYLOAD, 8);

	if (r->word != 4)
		return __atomic_load_n((uint64_t *)q, __ATOMIC_ACQUIRE);
	return __atomic_load_n((uint32_t *)q, __ATOMIC_ACQUIRE);
}

static void device_to_cpu(bool ats, unsigned word)
{
	struct run r = {.ep = make_ep(ats), .word = word};
	unsigned bad = 0;
	pthread_t t;

	CHECK(r.ep);
	memset(mem_ptr(mem, PA, PAYLOAD + 32), 0, PAYLOAD + 32);
	CHECK(pthread_create(&t, NULL, device_writer, &r) == 0);
	for (uint64_t i = 1; i <= ROUNDS; i++) {
		const uint64_t *rec = mem_ptr(mem, PA + PAYLOAD, 32);

		while (cpu_load(&r) < i && !has_failed(&r))
			sched_yield();
		if (has_failed(&r))
			break;
		if (!payload_is(i))
			bad++;
		/* The rest of a record written as one block is there with its first word. */
		if (word == 32 && (rec[1] != i * 3 || rec[2] != i * 5 || rec[3] != i * 7))
			bad++;
		__atomic_store_n(&r.ack, i, __ATOMIC_RELEASE);
	}
	pthread_join(t, NULL);
	pci_endpoint_destroy(r.ep);
	CHECK_EQ(r.errors, 0);
	CHECK_EQ(bad, 0);
}

static void *device_reader(void *arg)
{
	struct run *r = arg;
	static uint8_t buf[PAYLOAD];

	for (uint64_t i = 1; i <= ROUNDS; i++) {
		uint64_t v = 0;

		do {
			if (pci_endpoint_dma_read(r->ep, 0, 0, IOVA + PAYLOAD, &v, r->word, NULL))
				failed(r);
			if (v < i)
				sched_yield();
		} while (v < i && !has_failed(r));
		if (pci_endpoint_dma_read(r->ep, 0, 0, IOVA, buf, sizeof(buf), NULL))
			failed(r);
		for (unsigned k = 0; k < PAYLOAD; k++)
			if (buf[k] != (uint8_t)i) {
				failed(r);
				break;
			}
		__atomic_store_n(&r->ack, i, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void cpu_to_device(bool ats, unsigned word)
{
	struct run r = {.ep = make_ep(ats), .word = word};
	void *q = mem_ptr(mem, PA + PAYLOAD, 8);
	pthread_t t;

	CHECK(r.ep);
	memset(mem_ptr(mem, PA, PAYLOAD + 8), 0, PAYLOAD + 8);
	CHECK(pthread_create(&t, NULL, device_reader, &r) == 0);
	for (uint64_t i = 1; i <= ROUNDS; i++) {
		memset(mem_ptr(mem, PA, PAYLOAD), (int)(i & 0xff), PAYLOAD);
		if (word == 8)
			__atomic_store_n((uint64_t *)q, i, __ATOMIC_RELEASE);
		else
			__atomic_store_n((uint32_t *)q, (uint32_t)i, __ATOMIC_RELEASE);
		while (__atomic_load_n(&r.ack, __ATOMIC_ACQUIRE) < i && !has_failed(&r))
			sched_yield();
		if (has_failed(&r))
			break;
	}
	pthread_join(t, NULL);
	pci_endpoint_destroy(r.ep);
	CHECK_EQ(r.errors, 0);
}

static void test_status_word_8_ats(void)
{
	device_to_cpu(true, 8);
}

static void test_record_32_ats(void)
{
	device_to_cpu(true, 32);
}

static void test_status_word_4_no_ats(void)
{
	device_to_cpu(false, 4);
}

static void test_doorbell_8_ats(void)
{
	cpu_to_device(true, 8);
}

static void test_doorbell_4_no_ats(void)
{
	cpu_to_device(false, 4);
}

int main(void)
{
	mem = mem_create_sparse(64ull << 20);
	if (!mem)
		return 1;
	RUN(test_status_word_8_ats);
	RUN(test_record_32_ats);
	RUN(test_status_word_4_no_ats);
	RUN(test_doorbell_8_ats);
	RUN(test_doorbell_4_no_ats);
	mem_destroy(mem);
	return CHECK_DONE();
}
