// SPDX-License-Identifier: MIT
/*
 * The Chrome trace writer behind `softiommu run --trace`: events from many threads, each in
 * its own lane, named lanes and processes, the event limit and the dropped count, time
 * order in the file, numeric and string arguments (escaped), and the document shape that
 * trace viewers require. (The CLI's output is also checked by tests/tools/check_trace.py.)
 *
 * The writer lives in tools/, which is not part of the library: include its sources.
 */
#include "check.h"

#include "../../tools/report_json.c"
#include "../../tools/trace.c"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static char *write_trace(struct trace *t)
{
	const char *meta[] = {"scenario", "test \"quoted\""};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (trace_write(t, f, meta, 1)) {
		fclose(f);
		free(text);
		return NULL;
	}
	fclose(f);
	return text;
}

static unsigned count(const char *text, const char *what)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static void test_empty(void)
{
	struct trace *t;
	char *text;

	CHECK_EQ(trace_create(0, &t), -EINVAL);
	CHECK_EQ(trace_create(10, NULL), -EINVAL);
	CHECK_EQ(trace_create(10, &t), 0);
	text = write_trace(t);
	CHECK(text != NULL);
	CHECK(!strcmp(text, "{\"traceEvents\":[],\"displayTimeUnit\":\"ns\",\"otherData\":{"
			    "\"scenario\":\"test \\\"quoted\\\"\",\"events\":0,"
			    "\"events_dropped\":0}}\n"));
	free(text);
	trace_destroy(t);
	trace_destroy(NULL);
}

static void test_events_and_args(void)
{
	struct trace_arg a[] = {{"addr", 0x1000, true}, {"bytes", 42, false}};
	struct trace *t;
	uint64_t t0;
	char *text;

	CHECK_EQ(trace_create(100, &t), 0);
	CHECK_EQ(trace_name_pid(t, 3, "dsa0 \"x\"", 1), 0);
	CHECK_EQ(trace_name_pid(t, TRACE_MAX_PIDS, "x", 0), -EINVAL);
	trace_name_thread(t, "main\tthread");
	t0 = trace_now(t);
	trace_instant(t, 3, "fault", "fault", a, 2, "condition", "SPT.2");
	trace_complete(t, 3, "dma", "map", t0, t0 + 1500, a, 1, NULL, NULL);
	/* Too many arguments: the first TRACE_MAX_ARGS are kept. */
	{
		struct trace_arg many[6] = {{"a", 1, false}, {"b", 2, false}, {"c", 3, false},
					    {"d", 4, false}, {"e", 5, false}, {"f", 6, false}};

		trace_instant(t, 3, "x", "many", many, 6, NULL, NULL);
	}
	CHECK_EQ(trace_events(t), 3);
	CHECK_EQ(trace_dropped(t), 0);
	text = write_trace(t);
	CHECK(text != NULL);
	CHECK(strstr(text, "{\"name\":\"process_name\",\"ph\":\"M\",\"ts\":0,\"pid\":3,\"tid\":0,"
			   "\"args\":{\"name\":\"dsa0 \\\"x\\\"\"}}") != NULL);
	CHECK(strstr(text, "\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":3,\"tid\":1,"
			   "\"args\":{\"name\":\"main\\tthread\"}") != NULL);
	CHECK(strstr(text, "\"name\":\"map\",\"cat\":\"dma\",\"ph\":\"X\"") != NULL);
	CHECK(strstr(text, "\"dur\":1.500,\"pid\":3,\"tid\":1,\"args\":{\"addr\":\"0x1000\"}") !=
	      NULL);
	CHECK(strstr(text, "\"ph\":\"i\"") != NULL);
	CHECK(strstr(text, "\"s\":\"t\"") != NULL);
	CHECK(strstr(text, "\"args\":{\"addr\":\"0x1000\",\"bytes\":42,\"condition\":\"SPT.2\"}") !=
	      NULL);
	CHECK(strstr(text, "\"a\":1,\"b\":2,\"c\":3,\"d\":4}") != NULL);
	CHECK(strstr(text, "\"e\":5") == NULL);
	free(text);
	trace_destroy(t);
}

/* Events come out in time order whatever order they were recorded in. */
static void test_time_order(void)
{
	struct trace *t;
	char *text, *a, *b, *c;

	CHECK_EQ(trace_create(100, &t), 0);
	trace_complete(t, 0, "p", "third", 3000, 4000, NULL, 0, NULL, NULL);
	trace_complete(t, 0, "p", "first", 1000, 9000, NULL, 0, NULL, NULL);
	trace_complete(t, 0, "p", "second", 2000, 2500, NULL, 0, NULL, NULL);
	text = write_trace(t);
	CHECK(text != NULL);
	a = strstr(text, "\"first\"");
	b = strstr(text, "\"second\"");
	c = strstr(text, "\"third\"");
	CHECK(a && b && c && a < b && b < c);
	CHECK(strstr(text, "\"ts\":1.000,\"dur\":8.000") != NULL);
	free(text);
	trace_destroy(t);
}

struct worker {
	struct trace *t;
	unsigned id;
	unsigned n;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char name[32];

	snprintf(name, sizeof(name), "worker-%u", w->id);
	trace_name_thread(w->t, name);
	for (unsigned i = 0; i < w->n; i++) {
		struct trace_arg a = {"i", i, false};
		uint64_t t0 = trace_now(w->t);

		trace_complete(w->t, 1 + w->id % 2, "w", "op", t0, trace_now(w->t), &a, 1, NULL,
			       NULL);
	}
	return NULL;
}

/* Threads record concurrently, each in its own lane; the limit holds across them. */
static void test_threads_and_limit(void)
{
	enum { THREADS = 4, EACH = 6000 };
	struct worker w[THREADS];
	pthread_t tid[THREADS];
	struct trace *t;
	char *text;

	CHECK_EQ(trace_create(THREADS * EACH - 1000, &t), 0);
	for (unsigned i = 0; i < THREADS; i++) {
		w[i] = (struct worker){t, i, EACH};
		CHECK_EQ(pthread_create(&tid[i], NULL, work, &w[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(tid[i], NULL);
	CHECK_EQ(trace_events(t), THREADS * EACH - 1000);
	CHECK_EQ(trace_dropped(t), 1000);
	text = write_trace(t);
	CHECK(text != NULL);
	CHECK_EQ(count(text, "\"name\":\"op\""), THREADS * EACH - 1000);
	CHECK(strstr(text, "\"events_dropped\":1000") != NULL);
	/* Each worker's lane is named, in the pid its events used. */
	for (unsigned i = 0; i < THREADS; i++) {
		char want[64];

		snprintf(want, sizeof(want), "\"args\":{\"name\":\"worker-%u\"}", i);
		CHECK_EQ(count(text, want), 1);
	}
	free(text);
	trace_destroy(t);
}

/* A thread that recorded into one trace records into the next one in a new lane. */
static void test_second_trace(void)
{
	struct trace *a, *b;
	char *text;

	CHECK_EQ(trace_create(10, &a), 0);
	trace_name_thread(a, "old");
	trace_instant(a, 0, "x", "in-a", NULL, 0, NULL, NULL);
	trace_destroy(a);
	CHECK_EQ(trace_create(10, &b), 0);
	trace_instant(b, 0, "x", "in-b", NULL, 0, NULL, NULL);
	text = write_trace(b);
	CHECK(text != NULL);
	CHECK(strstr(text, "in-a") == NULL);
	CHECK(strstr(text, "\"name\":\"thread 1\"") != NULL);
	CHECK(strstr(text, "\"old\"") == NULL);
	free(text);
	trace_destroy(b);
}

/* Named lanes that are not threads: events recorded there carry the lane's tid and the
 * lane is named once, in the pid that used it. */
static void test_lanes(void)
{
	struct trace *t;
	uint32_t a, b;
	char *text;

	CHECK_EQ(trace_create(100, &t), 0);
	CHECK_EQ(trace_lane(NULL, "x"), 0);
	a = trace_lane(t, "copy#0 slot 0");
	b = trace_lane(t, "copy#0 slot 1");
	CHECK(a && b && a != b);
	trace_complete_lane(t, 2, a, "op", "memmove", 100, 900, NULL, 0, NULL, NULL);
	trace_complete_lane(t, 2, b, "op", "memmove", 200, 1000, NULL, 0, NULL, NULL);
	trace_complete_lane(t, 2, 0, "dma", "map", 150, 160, NULL, 0, NULL, NULL);
	text = write_trace(t);
	CHECK(text != NULL);
	CHECK_EQ(count(text, "\"name\":\"copy#0 slot 0\""), 1);
	CHECK_EQ(count(text, "\"name\":\"copy#0 slot 1\""), 1);
	CHECK_EQ(count(text, "\"name\":\"thread 3\""), 1); /* the recording thread's lane */
	{
		char want[64];

		snprintf(want, sizeof(want), "\"dur\":0.800,\"pid\":2,\"tid\":%u", a);
		CHECK(strstr(text, want) != NULL);
		snprintf(want, sizeof(want), "\"dur\":0.800,\"pid\":2,\"tid\":%u", b);
		CHECK(strstr(text, want) != NULL);
	}
	free(text);
	trace_destroy(t);
}

int main(void)
{
	RUN(test_empty);
	RUN(test_events_and_args);
	RUN(test_time_order);
	RUN(test_threads_and_limit);
	RUN(test_second_trace);
	RUN(test_lanes);
	return CHECK_DONE();
}
