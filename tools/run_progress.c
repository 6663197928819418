// SPDX-License-Identifier: MIT
/*
 * The progress bar and the scenario's timeout: one thread that wakes ten times a second.
 * The bar appears on stderr only when it is a terminal (or --progress forces it) and only
 * once the run has taken a second, so short runs and redirected output stay clean; it is
 * erased when the run ends. The timeout stops the workloads between operations.
 */
#include "run.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS	    100000000ull  /* 0.1 s */
#define SHOW_AFTER  1000000000ull /* 1 s */
#define BAR_COLUMNS 30

struct run_progress {
	struct run *r;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	bool show;  /* the bar may be drawn */
	bool drawn; /* something is on the line */
};

static void draw_bar(struct run_progress *p, uint64_t elapsed)
{
	struct run *r = p->r;
	uint64_t done = atomic_load_explicit(&r->ops_done, memory_order_relaxed);
	uint64_t total = r->ops_total ? r->ops_total : 1;
	unsigned fill = (unsigned)(done >= total ? BAR_COLUMNS : done * BAR_COLUMNS / total);
	const char *phase = atomic_load(&r->phase_name);
	char bar[BAR_COLUMNS + 1];

	for (unsigned i = 0; i < BAR_COLUMNS; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_COLUMNS] = '\0';
	fprintf(r->o->err, "\r[%s] %3u%%  %llu/%llu ops  %.1f s  phase %.24s\033[K", bar,
		(unsigned)(done >= total ? 100 : done * 100 / total), (unsigned long long)done,
		(unsigned long long)total, elapsed / 1e9, phase ? phase : "setup");
	fflush(r->o->err);
	p->drawn = true;
}

static void *monitor(void *arg)
{
	struct run_progress *p = arg;
	struct run *r = p->r;
	uint64_t timeout = r->s->timeout_ns;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		struct timespec ts;
		uint64_t elapsed;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)TICK_NS;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->cond, &p->lock, &ts);
		if (p->stop)
			break;
		elapsed = run_now_ns() - r->start_ns;
		if (timeout && elapsed > timeout && !atomic_load(&r->abort)) {
			r->timed_out = true;
			atomic_store(&r->abort, true);
		}
		if (p->show && elapsed >= SHOW_AFTER)
			draw_bar(p, elapsed);
	}
	if (p->drawn) {
		fputs("\r\033[K", r->o->err);
		fflush(r->o->err);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct run_progress *run_progress_start(struct run *r)
{
	struct run_progress *p = calloc(1, sizeof(*p));
	bool tty = isatty(fileno(r->o->err));

	if (!p)
		return NULL;
	p->r = r;
	p->show = r->o->progress == RUN_PROGRESS_ON || (r->o->progress == RUN_PROGRESS_AUTO && tty);
	if (!p->show && !r->s->timeout_ns) {
		free(p); /* nothing to do: no thread */
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (pthread_create(&p->thread, NULL, monitor, p)) {
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->cond);
		free(p);
		return NULL;
	}
	return p;
}

void run_progress_stop(struct run_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}
