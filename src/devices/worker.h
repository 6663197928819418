/* SPDX-License-Identifier: MIT */
/*
 * A device model's thread: it runs a step function while the step finds work, and sleeps
 * until a doorbell (dev_worker_kick) otherwise. The NIC and storage models use it; their
 * doorbell registers live under the worker's mutex.
 */
#ifndef SOFTIOMMU_DEVICES_WORKER_H
#define SOFTIOMMU_DEVICES_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct dev_worker {
	pthread_mutex_t lock; /* the worker's flags and the device's doorbell registers */
	pthread_cond_t kick;
	pthread_cond_t idle_cv;
	bool stop, kicked, idle, running;
	pthread_t thread;
	bool (*step)(void *ctx); /* one unit of work; false when there was none */
	void *ctx;
};

/* Start the thread. 0 or a negative errno (nothing to undo). */
int dev_worker_start(struct dev_worker *w, bool (*step)(void *ctx), void *ctx);

/* Stop it: the step in progress finishes; later work is not started. */
void dev_worker_stop(struct dev_worker *w);

/* With w->lock held: note new work and wake the thread. */
void dev_worker_kick_locked(struct dev_worker *w);

/* Wait until the step found nothing to do and nothing was kicked since: 0 or -ETIMEDOUT. */
int dev_worker_idle(struct dev_worker *w, uint64_t timeout_ns);

/* Relaxed counters with one writer (the worker thread). */
#define DEV_STAT_ADD(x, n)                                                                         \
	__atomic_store_n(&(x), __atomic_load_n(&(x), __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)
#define DEV_STAT_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

#endif
