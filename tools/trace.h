/* SPDX-License-Identifier: MIT */
/*
 * Chrome trace-event files (the JSON "traceEvents" format that Perfetto, chrome://tracing
 * and speedscope open) for `softiommu run --trace FILE`.
 *
 * Events are recorded in memory while the run goes on and written at the end:
 *   - complete events (ph "X": a start time and a duration), for work that takes time on a
 *     thread (a DMA map, an unmap, one operation of a workload, a phase);
 *   - instant events (ph "i", thread scope), for what happens at a point (an invalidation
 *     the unit carried out, a fault, a translation, a checker finding).
 * Each event sits in a lane: pid is a process in the viewer (the run itself, one per
 * device, one per VT-d unit), tid the thread that produced it. Lanes and threads are named
 * with metadata events (ph "M"), so the viewer shows "dsa0 / copy#1" rather than numbers.
 * Timestamps are microseconds since trace_create(), with nanosecond decimals.
 *
 * Each event carries up to TRACE_MAX_ARGS numeric arguments (shown under "args", as
 * decimal or hex) and one optional short string argument. Names, categories and argument
 * keys must be string literals (or otherwise outlive the trace): only the pointer is kept.
 *
 * Memory: at most `limit` events are kept; later ones are counted in trace_dropped() and
 * the file says how many in its "otherData". Recording is lock-free for a thread that has
 * recorded before (a per-thread buffer); a thread's first event takes the trace's mutex.
 *
 * Locking: trace_* recording functions may be called from any thread at any time between
 * trace_create() and trace_write(); trace_write() and trace_destroy() must not race them.
 */
#ifndef SOFTIOMMU_TOOLS_TRACE_H
#define SOFTIOMMU_TOOLS_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define TRACE_MAX_ARGS 4
#define TRACE_STR_ARG  48 /* bytes kept of the string argument, NUL included */
#define TRACE_MAX_PIDS 1024
#define TRACE_PID_RUN  0 /* the run itself: phases */

struct trace;

/* A numeric argument: printed in hex when `hex`. */
struct trace_arg {
	const char *key;
	uint64_t value;
	bool hex;
};

/* trace_create() - an empty trace keeping at most `limit` events. -EINVAL for limit 0. */
int trace_create(uint64_t limit, struct trace **out);

/* trace_destroy() - free it (NULL is accepted). */
void trace_destroy(struct trace *t);

/* trace_now() - nanoseconds since the trace was created (the clock events use). */
uint64_t trace_now(const struct trace *t);

/* trace_name_pid() - name process lane `pid` (< TRACE_MAX_PIDS) and order it in the viewer
 * by `sort` (lower first). The name is copied. -EINVAL for an out-of-range pid. */
int trace_name_pid(struct trace *t, unsigned pid, const char *name, int sort);

/* trace_name_thread() - name the calling thread's lane (copied, truncated to 63 bytes). */
void trace_name_thread(struct trace *t, const char *name);

/*
 * trace_complete() - work from `start` to `end` (trace_now() values) on the calling thread,
 * in lane `pid`. `args`/`nargs` (at most TRACE_MAX_ARGS kept) and `str_key`/`str` (may be
 * NULL) are copied. trace_instant() - the same for a point in time (now).
 */
void trace_complete(struct trace *t, unsigned pid, const char *cat, const char *name,
		    uint64_t start, uint64_t end, const struct trace_arg *args, unsigned nargs,
		    const char *str_key, const char *str);
void trace_instant(struct trace *t, unsigned pid, const char *cat, const char *name,
		   const struct trace_arg *args, unsigned nargs, const char *str_key,
		   const char *str);

/*
 * trace_lane() - a named lane that is not a thread (0 when out of memory): for work a
 * thread keeps several of in flight at once (descriptors in a queue), which would not nest
 * on the thread's own lane. trace_complete_lane() - trace_complete() on such a lane (0:
 * the calling thread's). Any thread may record on any lane.
 */
uint32_t trace_lane(struct trace *t, const char *name);
void trace_complete_lane(struct trace *t, unsigned pid, uint32_t lane, const char *cat,
			 const char *name, uint64_t start, uint64_t end,
			 const struct trace_arg *args, unsigned nargs, const char *str_key,
			 const char *str);

/* trace_events() / trace_dropped() - events kept, and refused because of the limit. */
uint64_t trace_events(const struct trace *t);
uint64_t trace_dropped(const struct trace *t);

/*
 * trace_write() - the JSON document: {"traceEvents": [...], "displayTimeUnit": "ns",
 * "otherData": {...}}, the metadata events first, then every event in time order.
 * `meta` pairs (key, value strings; may be NULL) go into otherData. 0, or -EIO when the
 * stream failed, -ENOMEM.
 */
int trace_write(struct trace *t, FILE *f, const char *const *meta, unsigned n_meta);

#endif
