// SPDX-License-Identifier: MIT
/*
 * The Chrome trace writer (trace.h). Each thread records into its own chunks of events;
 * a global counter enforces the limit; trace_write() gathers, sorts and prints them.
 */
#include "trace.h"

#include "report_json.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK_EVENTS 4096

struct trace_event {
	uint64_t ts, dur;
	const char *cat, *name, *str_key;
	struct trace_arg args[TRACE_MAX_ARGS];
	uint32_t pid, tid;
	uint8_t nargs;
	char ph; /* 'X' or 'i' */
	char str[TRACE_STR_ARG];
};

struct chunk {
	struct chunk *next;
	unsigned n;
	struct trace_event ev[CHUNK_EVENTS];
};

/* One thread that recorded: its lane id and name, and its current chunk. */
struct lane {
	struct lane *next;
	uint32_t tid;
	char name[64];
	struct chunk *cur;
};

struct trace {
	uint64_t start; /* CLOCK_MONOTONIC ns */
	uint64_t limit;
	_Atomic uint64_t reserved; /* events claimed (kept or not) */
	pthread_mutex_t lock;	   /* lanes, chunks, pid names */
	struct lane *lanes;
	struct chunk *chunks;
	uint32_t next_tid;
	char *pid_name[TRACE_MAX_PIDS];
	int pid_sort[TRACE_MAX_PIDS];
};

/* The calling thread's lane in the trace it last recorded into. A new trace at the same
 * address is told apart by its generation. */
static _Thread_local struct {
	const struct trace *t;
	uint64_t gen;
	struct lane *lane;
} tls;
static _Atomic uint64_t trace_gen;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Generation numbers: stored at the front of each trace allocation. */
struct trace_box {
	uint64_t gen;
	struct trace t;
};

int trace_create(uint64_t limit, struct trace **out)
{
	struct trace_box *b;

	if (!out || !limit)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->gen = atomic_fetch_add(&trace_gen, 1) + 1;
	b->t.start = mono_ns();
	b->t.limit = limit;
	b->t.next_tid = 1;
	pthread_mutex_init(&b->t.lock, NULL);
	*out = &b->t;
	return 0;
}

static uint64_t gen_of(const struct trace *t)
{
	const struct trace_box *b =
	    (const struct trace_box *)((const char *)t - offsetof(struct trace_box, t));
	return b->gen;
}

void trace_destroy(struct trace *t)
{
	if (!t)
		return;
	while (t->lanes) {
		struct lane *l = t->lanes;

		t->lanes = l->next;
		free(l);
	}
	while (t->chunks) {
		struct chunk *c = t->chunks;

		t->chunks = c->next;
		free(c);
	}
	for (unsigned i = 0; i < TRACE_MAX_PIDS; i++)
		free(t->pid_name[i]);
	pthread_mutex_destroy(&t->lock);
	free((char *)t - offsetof(struct trace_box, t));
}

uint64_t trace_now(const struct trace *t)
{
	return mono_ns() - t->start;
}

int trace_name_pid(struct trace *t, unsigned pid, const char *name, int sort)
{
	char *copy;

	if (!t || pid >= TRACE_MAX_PIDS || !name)
		return -EINVAL;
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&t->lock);
	free(t->pid_name[pid]);
	t->pid_name[pid] = copy;
	t->pid_sort[pid] = sort;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

/* The calling thread's lane, made on its first event (NULL when out of memory). */
static struct lane *my_lane(struct trace *t)
{
	struct lane *l;
	uint64_t gen = gen_of(t);

	if (tls.t == t && tls.gen == gen)
		return tls.lane;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	pthread_mutex_lock(&t->lock);
	l->tid = t->next_tid++;
	snprintf(l->name, sizeof(l->name), "thread %u", l->tid);
	l->next = t->lanes;
	t->lanes = l;
	pthread_mutex_unlock(&t->lock);
	tls.t = t;
	tls.gen = gen;
	tls.lane = l;
	return l;
}

void trace_name_thread(struct trace *t, const char *name)
{
	struct lane *l;

	if (!t || !name)
		return;
	l = my_lane(t);
	if (!l)
		return;
	pthread_mutex_lock(&t->lock);
	snprintf(l->name, sizeof(l->name), "%s", name);
	pthread_mutex_unlock(&t->lock);
}

/* A slot for one event in the calling thread's chunk, or NULL (limit, memory). */
static struct trace_event *claim(struct trace *t, struct lane **lane)
{
	struct lane *l;

	if (atomic_fetch_add_explicit(&t->reserved, 1, memory_order_relaxed) >= t->limit)
		return NULL;
	l = my_lane(t);
	if (!l)
		return NULL;
	if (!l->cur || l->cur->n == CHUNK_EVENTS) {
		struct chunk *c = malloc(sizeof(*c));

		if (!c)
			return NULL;
		c->n = 0;
		pthread_mutex_lock(&t->lock);
		c->next = t->chunks;
		t->chunks = c;
		pthread_mutex_unlock(&t->lock);
		l->cur = c;
	}
	*lane = l;
	/* Only this thread writes its chunk; trace_write() runs after every recording
	 * thread has finished (see the header). */
	return &l->cur->ev[l->cur->n];
}

static void record(struct trace *t, char ph, unsigned pid, uint32_t tid, const char *cat,
		   const char *name, uint64_t ts, uint64_t dur, const struct trace_arg *args,
		   unsigned nargs, const char *str_key, const char *str)
{
	struct lane *l;
	struct trace_event *e;

	if (!t)
		return;
	e = claim(t, &l);
	if (!e)
		return;
	e->ts = ts;
	e->dur = dur;
	e->cat = cat;
	e->name = name;
	e->ph = ph;
	e->pid = pid < TRACE_MAX_PIDS ? pid : TRACE_MAX_PIDS - 1;
	e->tid = tid ? tid : l->tid;
	e->nargs = (uint8_t)(nargs < TRACE_MAX_ARGS ? nargs : TRACE_MAX_ARGS);
	if (e->nargs)
		memcpy(e->args, args, e->nargs * sizeof(*args));
	e->str_key = str && str_key ? str_key : NULL;
	if (e->str_key)
		snprintf(e->str, sizeof(e->str), "%s", str);
	l->cur->n++;
}

void trace_complete(struct trace *t, unsigned pid, const char *cat, const char *name,
		    uint64_t start, uint64_t end, const struct trace_arg *args, unsigned nargs,
		    const char *str_key, const char *str)
{
	record(t, 'X', pid, 0, cat, name, start, end > start ? end - start : 0, args, nargs,
	       str_key, str);
}

uint32_t trace_lane(struct trace *t, const char *name)
{
	struct lane *l;

	if (!t || !name)
		return 0;
	l = calloc(1, sizeof(*l));
	if (!l)
		return 0;
	pthread_mutex_lock(&t->lock);
	l->tid = t->next_tid++;
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->next = t->lanes;
	t->lanes = l;
	pthread_mutex_unlock(&t->lock);
	return l->tid;
}

void trace_complete_lane(struct trace *t, unsigned pid, uint32_t lane, const char *cat,
			 const char *name, uint64_t start, uint64_t end,
			 const struct trace_arg *args, unsigned nargs, const char *str_key,
			 const char *str)
{
	record(t, 'X', pid, lane, cat, name, start, end > start ? end - start : 0, args, nargs,
	       str_key, str);
}

void trace_instant(struct trace *t, unsigned pid, const char *cat, const char *name,
		   const struct trace_arg *args, unsigned nargs, const char *str_key,
		   const char *str)
{
	if (t)
		record(t, 'i', pid, 0, cat, name, trace_now(t), 0, args, nargs, str_key, str);
}

uint64_t trace_events(const struct trace *t)
{
	uint64_t n = 0;

	for (const struct chunk *c = t->chunks; c; c = c->next)
		n += c->n;
	return n;
}

uint64_t trace_dropped(const struct trace *t)
{
	uint64_t r = atomic_load(&((struct trace *)t)->reserved);

	return r > trace_events(t) ? r - trace_events(t) : 0;
}

/* ---- writing -------------------------------------------------------------------------------- */

/* Microseconds with nanosecond decimals (a double holds them exactly for days). */
static void put_us(struct json_writer *w, const char *key, uint64_t ns)
{
	json_kv_double(w, key, (double)ns / 1000.0, 3);
}

static void put_meta(struct json_writer *w, const char *what, unsigned pid, uint32_t tid,
		     const char *name)
{
	json_begin_object(w);
	json_kv_string(w, "name", what);
	json_kv_string(w, "ph", "M");
	json_kv_uint(w, "ts", 0);
	json_kv_uint(w, "pid", pid);
	json_kv_uint(w, "tid", tid);
	json_key(w, "args");
	json_begin_object(w);
	json_kv_string(w, "name", name);
	json_end_object(w);
	json_end_object(w);
}

static void put_sort(struct json_writer *w, unsigned pid, int sort)
{
	json_begin_object(w);
	json_kv_string(w, "name", "process_sort_index");
	json_kv_string(w, "ph", "M");
	json_kv_uint(w, "ts", 0);
	json_kv_uint(w, "pid", pid);
	json_kv_uint(w, "tid", 0);
	json_key(w, "args");
	json_begin_object(w);
	json_kv_int(w, "sort_index", sort);
	json_end_object(w);
	json_end_object(w);
}

static void put_event(struct json_writer *w, const struct trace_event *e)
{
	char hex[24];

	json_begin_object(w);
	json_kv_string(w, "name", e->name);
	json_kv_string(w, "cat", e->cat ? e->cat : "softiommu");
	json_kv_string(w, "ph", e->ph == 'X' ? "X" : "i");
	put_us(w, "ts", e->ts);
	if (e->ph == 'X')
		put_us(w, "dur", e->dur);
	else
		json_kv_string(w, "s", "t");
	json_kv_uint(w, "pid", e->pid);
	json_kv_uint(w, "tid", e->tid);
	if (e->nargs || e->str_key) {
		json_key(w, "args");
		json_begin_object(w);
		for (unsigned i = 0; i < e->nargs; i++) {
			if (e->args[i].hex) {
				snprintf(hex, sizeof(hex), "%#llx",
					 (unsigned long long)e->args[i].value);
				json_kv_string(w, e->args[i].key, hex);
			} else {
				json_kv_uint(w, e->args[i].key, e->args[i].value);
			}
		}
		if (e->str_key)
			json_kv_string(w, e->str_key, e->str);
		json_end_object(w);
	}
	json_end_object(w);
}

static int cmp_event(const void *a, const void *b)
{
	const struct trace_event *x = *(const struct trace_event *const *)a;
	const struct trace_event *y = *(const struct trace_event *const *)b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	/* Longer complete events first at the same start, so they enclose the shorter. */
	if (x->dur != y->dur)
		return x->dur > y->dur ? -1 : 1;
	return 0;
}

/* Name every (pid, tid) pair the events use, once each. */
static void put_thread_names(struct json_writer *w, struct trace *t, struct trace_event *const *ev,
			     uint64_t n)
{
	uint64_t *seen = calloc(n ? n : 1, sizeof(*seen));
	uint64_t n_seen = 0;

	for (uint64_t i = 0; i < n && seen; i++) {
		uint64_t key = (uint64_t)ev[i]->pid << 32 | ev[i]->tid;
		bool dup = false;

		for (uint64_t k = 0; k < n_seen && !dup; k++)
			dup = seen[k] == key;
		if (dup)
			continue;
		seen[n_seen++] = key;
		for (struct lane *l = t->lanes; l; l = l->next)
			if (l->tid == ev[i]->tid)
				put_meta(w, "thread_name", ev[i]->pid, l->tid, l->name);
	}
	free(seen);
}

int trace_write(struct trace *t, FILE *f, const char *const *meta, unsigned n_meta)
{
	struct json_writer w;
	struct trace_event **ev;
	uint64_t n = trace_events(t), k = 0;

	ev = malloc((n ? n : 1) * sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	for (struct chunk *c = t->chunks; c; c = c->next)
		for (unsigned i = 0; i < c->n; i++)
			ev[k++] = &c->ev[i];
	qsort(ev, n, sizeof(*ev), cmp_event);
	json_init(&w, f, 0);
	json_begin_object(&w);
	json_key(&w, "traceEvents");
	json_begin_array(&w);
	for (unsigned p = 0; p < TRACE_MAX_PIDS; p++) {
		if (!t->pid_name[p])
			continue;
		put_meta(&w, "process_name", p, 0, t->pid_name[p]);
		put_sort(&w, p, t->pid_sort[p]);
	}
	put_thread_names(&w, t, ev, n);
	for (uint64_t i = 0; i < n; i++) {
		put_event(&w, ev[i]);
		if (i % 4096 == 0)
			fputc('\n', f); /* keep lines short for editors; JSON allows it */
	}
	json_end_array(&w);
	json_kv_string(&w, "displayTimeUnit", "ns");
	json_key(&w, "otherData");
	json_begin_object(&w);
	for (unsigned i = 0; i + 1 < 2 * n_meta && meta; i += 2)
		json_kv_string(&w, meta[i], meta[i + 1]);
	json_kv_uint(&w, "events", n);
	json_kv_uint(&w, "events_dropped", trace_dropped(t));
	json_end_object(&w);
	json_end_object(&w);
	free(ev);
	return json_finish(&w);
}
