// SPDX-License-Identifier: MIT
/* The device models' thread (worker.h). */
#include "devices/worker.h"

#include <errno.h>
#include <time.h>

static void *worker_main(void *arg)
{
	struct dev_worker *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		bool did;

		w->kicked = false;
		pthread_mutex_unlock(&w->lock);
		did = w->step(w->ctx);
		pthread_mutex_lock(&w->lock);
		if (did || w->kicked || w->stop)
			continue;
		w->idle = true;
		pthread_cond_broadcast(&w->idle_cv);
		while (!w->kicked && !w->stop)
			pthread_cond_wait(&w->kick, &w->lock);
		w->idle = false;
	}
	w->idle = true;
	pthread_cond_broadcast(&w->idle_cv);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int dev_worker_start(struct dev_worker *w, bool (*step)(void *ctx), void *ctx)
{
	int ret;

	w->step = step;
	w->ctx = ctx;
	w->stop = w->kicked = w->idle = false;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->kick, NULL);
	pthread_cond_init(&w->idle_cv, NULL);
	ret = pthread_create(&w->thread, NULL, worker_main, w);
	if (ret) {
		pthread_cond_destroy(&w->idle_cv);
		pthread_cond_destroy(&w->kick);
		pthread_mutex_destroy(&w->lock);
		return -ret;
	}
	w->running = true;
	return 0;
}

void dev_worker_stop(struct dev_worker *w)
{
	if (!w->running)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->kick);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->running = false;
	pthread_cond_destroy(&w->idle_cv);
	pthread_cond_destroy(&w->kick);
	pthread_mutex_destroy(&w->lock);
}

void dev_worker_kick_locked(struct dev_worker *w)
{
	w->kicked = true;
	pthread_cond_signal(&w->kick);
}

int dev_worker_idle(struct dev_worker *w, uint64_t timeout_ns)
{
	struct timespec ts;
	uint64_t deadline;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	deadline = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + timeout_ns;
	ts.tv_sec = (time_t)(deadline / 1000000000ull);
	ts.tv_nsec = (long)(deadline % 1000000000ull);
	pthread_mutex_lock(&w->lock);
	while ((!w->idle || w->kicked) && !ret)
		ret = pthread_cond_timedwait(&w->idle_cv, &w->lock, &ts);
	pthread_mutex_unlock(&w->lock);
	return ret ? -ETIMEDOUT : 0;
}
