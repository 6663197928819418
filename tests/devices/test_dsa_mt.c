// SPDX-License-Identifier: MIT
/*
 * The engine under concurrency: several submitter threads on two WQs (two engine threads),
 * each moving, filling and checksumming its own buffers and checking the results from the
 * CPU, while another submitter copies through a window that an "IOMMU" thread keeps
 * unmapping, invalidating and mapping again. Each descriptor must complete with success (and
 * the right data) or, for the unstable window only, a page fault inside it. Under
 * ThreadSanitizer: no race between submitters, engines, record polling and invalidation.
 * Drainers with different targets, one of them timing out, while the engine works.
 */
#include "check.h"
#include "devices/dsa_env.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#define SUBMITTERS 3
#define ROUNDS	   1500
#define REGION	   0x10000u /* per submitter: src at 0x10000 * (1 + 2t), dst one region up */
#define WIN_PAGE   200	    /* the unstable window: pages 200..203 */
#define WIN_PAGES  4

static struct dsa_env env;
static int stop_flipper;

struct sub_result {
	unsigned ok, faults, bad;
};

static int run_one(unsigned slot, unsigned wq, struct dsa_desc *d, struct dsa_completion *c)
{
	int ret;

	memset(mem_ptr(env.mem, env_cr_pa(slot), 32), 0, 32);
	d->completion = env_cr(slot);
	d->op_flags |= DSA_F_CRAV | DSA_F_RCR;
	while ((ret = dsa_submit(env.dsa, wq, d)) == -EAGAIN)
		sched_yield();
	if (ret || dsa_wait(env.mem, env_cr_pa(slot), 60000000000ull, c))
		return -1;
	return c->status;
}

static void *submitter(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	struct sub_result *r = calloc(1, sizeof(*r));
	uint32_t src = REGION * (1 + 2 * t), dst = src + REGION;
	uint64_t seed = 100 + t;
	struct dsa_completion c = {0};
	struct dsa_desc d;

	for (unsigned i = 0; i < ROUNDS; i++) {
		uint32_t size = 1 + (uint32_t)(check_rand(&seed) % (REGION - 64));
		uint32_t so = (uint32_t)(check_rand(&seed) % (REGION - size));
		uint8_t *s = env_ptr(&env, src), *p = env_ptr(&env, dst);
		bool good = false;

		c = (struct dsa_completion){0};
		switch (i % 3) {
		case 0:
			for (uint32_t k = 0; k < size; k++)
				s[so + k] = (uint8_t)(i + k);
			dsa_desc_init(&d, DSA_OP_MEMMOVE, 0, i & 1, ENV_PASID, false);
			d.src = ENV_IOVA + src + so;
			d.dst = ENV_IOVA + dst;
			d.size = size;
			if (run_one(t, t % 2, &d, &c) == DSA_COMP_SUCCESS)
				good = memcmp(p, s + so, size) == 0;
			break;
		case 1:
			dsa_desc_init(&d, DSA_OP_FILL, 0, i & 1, ENV_PASID, false);
			d.dst = ENV_IOVA + dst + so;
			d.size = size;
			d.pattern = 0x0101010101010101ull * (uint8_t)i;
			if (run_one(t, t % 2, &d, &c) == DSA_COMP_SUCCESS) {
				good = true;
				for (uint32_t k = 0; k < size && good; k++)
					good = p[so + k] == (uint8_t)i;
			}
			break;
		default:
			dsa_desc_init(&d, DSA_OP_CRC32C, 0, i & 1, ENV_PASID, false);
			d.src = ENV_IOVA + dst + so;
			d.size = size;
			if (run_one(t, t % 2, &d, &c) == DSA_COMP_SUCCESS)
				good = c.crc == dsa_crc32c(0, p + so, size);
			break;
		}
		if (good) {
			r->ok++;
		} else {
			if (r->bad++ < 5)
				fprintf(stderr,
					"submitter %u round %u: status 0x%x op %u size %u "
					"fault 0x%llx done %u error %d\n",
					t, i, c.status, i % 3, size,
					(unsigned long long)c.fault_addr, c.bytes_completed,
					c.error);
		}
	}
	return r;
}

/* Copies out of the unstable window into its own buffer. */
static void *window_user(void *arg)
{
	struct sub_result *r = calloc(1, sizeof(*r));
	uint64_t win = ENV_IOVA + WIN_PAGE * 4096ull;
	uint32_t dst = 0xe0000;
	struct dsa_completion c;
	struct dsa_desc d;

	(void)arg;
	for (unsigned i = 0; i < ROUNDS; i++) {
		int st;

		c = (struct dsa_completion){0};
		dsa_desc_init(&d, DSA_OP_MEMMOVE, 0, true, ENV_PASID, false);
		d.src = win + (i % 7) * 100;
		d.dst = ENV_IOVA + dst;
		d.size = (WIN_PAGES - 1) * 4096;
		st = run_one(SUBMITTERS, 1, &d, &c);
		if (st == DSA_COMP_SUCCESS) {
			r->ok++;
		} else if (st == DSA_COMP_PAGE_FAULT && c.fault_addr >= win &&
			   c.fault_addr < win + WIN_PAGES * 4096ull &&
			   !(c.fault_info & DSA_FI_WRITE)) {
			r->faults++;
		} else {
			if (r->bad++ < 5)
				fprintf(stderr,
					"window round %u: status %d error %d fault 0x%llx\n", i, st,
					c.error, (unsigned long long)c.fault_addr);
		}
	}
	return r;
}

/* The IOMMU side: unmap the window (with ATS invalidation), then map it again. */
static void *flipper(void *arg)
{
	unsigned n = 0;

	(void)arg;
	/* Paced like an unmap-heavy driver rather than a tight loop: each invalidation makes
	 * the endpoint discard the translations in flight (they may be stale), so a storm
	 * with no pause would starve every fill (-EAGAIN after PCI_EP_RETRY_LIMIT). */
	while (!__atomic_load_n(&stop_flipper, __ATOMIC_ACQUIRE)) {
		struct timespec down = {0, 20000}, up = {0, 100000};

		env_unmap(&env, WIN_PAGE + n % WIN_PAGES, 1);
		nanosleep(&down, NULL);
		env_map(&env, WIN_PAGE + n % WIN_PAGES, 1, PCI_PERM_R | PCI_PERM_W);
		nanosleep(&up, NULL);
		n++;
	}
	return NULL;
}

static void test_concurrent(void)
{
	struct dsa_config cfg = {.num_wqs = 2, .wq_size = {8, 8}};
	pthread_t sub[SUBMITTERS], win, flip;
	struct sub_result *r;
	struct dsa_stats st;
	unsigned bad = 0, total = 0;

	CHECK(env_setup(&env, true, &cfg) == 0);
	CHECK(pthread_create(&flip, NULL, flipper, NULL) == 0);
	CHECK(pthread_create(&win, NULL, window_user, NULL) == 0);
	for (uintptr_t t = 0; t < SUBMITTERS; t++)
		CHECK(pthread_create(&sub[t], NULL, submitter, (void *)t) == 0);
	for (unsigned t = 0; t < SUBMITTERS; t++) {
		pthread_join(sub[t], (void **)&r);
		bad += r->bad;
		total += r->ok + r->bad;
		free(r);
	}
	pthread_join(win, (void **)&r);
	__atomic_store_n(&stop_flipper, 1, __ATOMIC_RELEASE);
	pthread_join(flip, NULL);
	printf("window: %u ok, %u faults, %u bad\n", r->ok, r->faults, r->bad);
	bad += r->bad;
	total += r->ok + r->faults + r->bad;
	free(r);
	CHECK_EQ(bad, 0);
	CHECK_EQ(total, (SUBMITTERS + 1) * ROUNDS);
	CHECK_EQ(dsa_get_stats(env.dsa, &st), 0);
	CHECK_EQ(st.submitted, total);
	CHECK_EQ(st.completed, total);
	CHECK_EQ(st.records, total);
	env_teardown(&env);
}

/*
 * Drainers with different targets while the engine works: each returns once what was
 * submitted before it came is done - the engine wakes them at the first target (not at
 * every descriptor), the others wait on for theirs - and one that times out while the
 * engine is held leaves no target behind that would keep a later drain from its wake-up.
 */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_closed;

static void gate_hook(void *ctx, const struct pci_req *req)
{
	(void)ctx;
	(void)req;
	pthread_mutex_lock(&gate_lock);
	while (gate_closed)
		pthread_cond_wait(&gate_cv, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static void gate(bool closed)
{
	pthread_mutex_lock(&gate_lock);
	gate_closed = closed;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_lock);
}

struct drainer {
	pthread_t t;
	uint64_t target; /* descriptors submitted before it started */
	uint64_t seen;	 /* completed when it returned */
	int ret;
};

static void *drain_thread(void *arg)
{
	struct drainer *d = arg;
	struct dsa_stats st;

	d->ret = dsa_wq_drain(env.dsa, 0, 60000000000ull);
	dsa_get_stats(env.dsa, &st);
	d->seen = st.completed;
	return NULL;
}

static void submit_fills(unsigned n, uint64_t *submitted)
{
	for (unsigned i = 0; i < n; i++) {
		struct dsa_desc d;

		dsa_desc_init(&d, DSA_OP_FILL, 0, true, ENV_PASID, false);
		d.dst = ENV_IOVA + 0x10000 + (i % 16) * 4096;
		d.size = 4096;
		d.pattern = i;
		while (dsa_submit(env.dsa, 0, &d) == -EAGAIN)
			sched_yield();
	}
	*submitted += n;
}

static void test_drainers(void)
{
	struct dsa_config cfg = {.wq_size = {1024}};
	struct drainer dr[3];
	uint64_t submitted = 0;

	CHECK(env_setup(&env, true, &cfg) == 0);
	/* Held by the gate: a drain times out. */
	env.fa.hook = gate_hook;
	gate(true);
	submit_fills(8, &submitted);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 2000000), -ETIMEDOUT);
	/* Three drainers, each after more work was queued. */
	for (unsigned k = 0; k < 3; k++) {
		submit_fills(200, &submitted);
		dr[k].target = submitted;
		CHECK_EQ(pthread_create(&dr[k].t, NULL, drain_thread, &dr[k]), 0);
	}
	gate(false);
	for (unsigned k = 0; k < 3; k++) {
		pthread_join(dr[k].t, NULL);
		CHECK_EQ(dr[k].ret, 0);
		CHECK(dr[k].seen >= dr[k].target);
	}
	/* Later drains, with the engine busy and idle. */
	submit_fills(300, &submitted);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 60000000000ull), 0);
	CHECK_EQ(dsa_wq_drain(env.dsa, 0, 60000000000ull), 0);
	env.fa.hook = NULL;
	{
		struct dsa_stats st;

		CHECK_EQ(dsa_get_stats(env.dsa, &st), 0);
		CHECK_EQ(st.completed, submitted);
		CHECK_EQ(st.success, submitted);
	}
	env_teardown(&env);
}

int main(void)
{
	RUN(test_concurrent);
	RUN(test_drainers);
	return CHECK_DONE();
}
