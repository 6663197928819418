// SPDX-License-Identifier: MIT
/*
 * `softiommu run [FILE]` and `softiommu dot [FILE]`: read a scenario (or take the built-in
 * default), build the platform, run the phases, check the expectations, report.
 *
 * Exit status: 0 the run went as the scenario expects; 1 an expectation failed, the
 * checker found stale translations the scenario did not expect (it expects them when it
 * has any checker_findings expectation), the stack misbehaved (a kernel PASID that had to
 * work did not, an operation never completed, a mapping could not be undone) or the
 * timeout stopped the run; 2 the command line or the scenario is wrong, or the platform
 * it describes cannot be built.
 */
#include "report.h"
#include "run.h"
#include "trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t run_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void run_options_default(struct run_options *o)
{
	*o = (struct run_options){
	    .trace_sample = 100,
	    .trace_limit = 1000000,
	    .dot_depth = 2,
	    .findings_shown = 5,
	    .progress = RUN_PROGRESS_AUTO,
	    .scale = 1.0,
	    .out = stdout,
	    .err = stderr,
	};
}

/* ---- the run ----------------------------------------------------------------------------------
 */

static int alloc_counters(struct run *r)
{
	const struct scenario *s = r->s;
	size_t slots = r->n_slots, devs = s->n_devices;

	r->wl = calloc(slots * (s->n_workloads ? s->n_workloads : 1), sizeof(*r->wl));
	r->inv = calloc(slots * (devs + 1) * RUN_INV_TYPES * RUN_INV_GRANS, sizeof(*r->inv));
	r->skipped = calloc(slots * (devs + 1), sizeof(*r->skipped));
	r->fallbacks = calloc(slots * (devs ? devs : 1), sizeof(*r->fallbacks));
	r->debug = calloc(slots * (devs ? devs : 1), sizeof(*r->debug));
	r->atc = calloc(slots * (devs ? devs : 1), sizeof(*r->atc));
	r->dmastat = calloc(slots * (devs ? devs : 1), sizeof(*r->dmastat));
	r->snap_dma = calloc(devs + 1, sizeof(*r->snap_dma));
	r->slot_ns = calloc(slots, sizeof(*r->slot_ns));
	r->snap_ep = calloc(devs + 1, sizeof(*r->snap_ep));
	r->snap_dbg = calloc(devs + 1, sizeof(*r->snap_dbg));
	r->findings = calloc(RUN_MAX_FINDINGS, sizeof(*r->findings));
	if (!r->wl || !r->inv || !r->skipped || !r->fallbacks || !r->debug || !r->atc ||
	    !r->dmastat || !r->snap_dma || !r->slot_ns || !r->snap_ep || !r->snap_dbg ||
	    !r->findings)
		return -ENOMEM;
	return 0;
}

/* Counters that depend on the number of units, once they are built. */
static int alloc_unit_counters(struct run *r)
{
	r->vcache = calloc((size_t)r->n_slots * r->n_machines, sizeof(*r->vcache));
	r->snap_vc = calloc(r->n_machines, sizeof(*r->snap_vc));
	return r->vcache && r->snap_vc ? 0 : -ENOMEM;
}

static void free_counters(struct run *r)
{
	free(r->wl);
	free(r->inv);
	free(r->skipped);
	free(r->fallbacks);
	free(r->debug);
	free(r->atc);
	free(r->dmastat);
	free(r->snap_dma);
	free(r->slot_ns);
	free(r->snap_ep);
	free(r->snap_dbg);
	free(r->snap_vc);
	free(r->vcache);
	free(r->findings);
	free(r->faults);
	free(r->groups);
	free(r->wl_buf);
}

static void name_lanes(struct run *r)
{
	char name[160];

	snprintf(name, sizeof(name), "run: %s", r->s->name);
	trace_name_pid(r->trace, TRACE_PID_RUN, name, 0);
	trace_name_thread(r->trace, "main");
	for (size_t i = 0; i < r->n_devs; i++) {
		const struct scenario_device *d = r->devs[i].sd;

		snprintf(name, sizeof(name), "%s (%02x:%02x.%x, %s)", d->name, d->rid >> 8,
			 (d->rid >> 3) & 0x1f, d->rid & 7, scenario_dev_type_name(d->type));
		trace_name_pid(r->trace, run_pid_dev(i), name, 1 + (int)i);
	}
	for (unsigned k = 0; k < r->n_machines; k++) {
		snprintf(name, sizeof(name), "VT-d unit %u (%s-stage default domains)", k,
			 r->machines[k].stage == SCENARIO_PT_SECOND ? "second" : "first");
		trace_name_pid(r->trace, run_pid_unit(r, k), name, 1000 + (int)k);
	}
}

/* Build everything up to the first phase; the setup slot counts what that did. */
static int build(struct run *r)
{
	int ret;

	ret = run_machines_create(r);
	if (!ret)
		ret = alloc_unit_counters(r);
	if (!ret)
		ret = run_layout(r);
	if (ret)
		return ret;
	run_snapshot_begin(r, r->n_slots - 1);
	ret = run_devices_create(r);
	run_snapshot_end(r, r->n_slots - 1);
	return ret;
}

static uint64_t total_ops(const struct run *r)
{
	uint64_t n = 0;

	for (size_t p = 0; p < r->s->n_phases; p++)
		for (size_t i = 0; i < r->s->phases[p].n_run; i++)
			n += run_scaled_count(r, &r->s->workloads[r->s->phases[p].run[i]]);
	return n;
}

static int write_trace(struct run *r)
{
	const struct run_options *o = r->o;
	const char *meta[] = {"scenario", r->s->name, "tool", "softiommu run"};
	bool out = run_to_stdout(o->trace_path);
	FILE *f = out ? o->out : fopen(o->trace_path, "w");
	int ret;

	if (!f) {
		fprintf(o->err, "softiommu run: cannot write %s: %s\n", o->trace_path,
			strerror(errno));
		return -EIO;
	}
	ret = trace_write(r->trace, f, meta, 2);
	if ((out ? fflush(f) : fclose(f)) && !ret)
		ret = -EIO;
	if (ret)
		fprintf(o->err, "softiommu run: writing %s failed\n", o->trace_path);
	return ret;
}

static int write_json(struct run *r, const struct report_expects *x, int status)
{
	const struct run_options *o = r->o;
	bool out = run_to_stdout(o->json_path);
	FILE *f = out ? o->out : fopen(o->json_path, "w");
	int ret;

	if (!f) {
		fprintf(o->err, "softiommu run: cannot write %s: %s\n", o->json_path,
			strerror(errno));
		return -EIO;
	}
	ret = report_json(r, f, x, status);
	if (!out && fclose(f) && !ret)
		ret = -EIO;
	if (ret)
		fprintf(o->err, "softiommu run: writing %s failed\n", o->json_path);
	return ret;
}

/* Evaluate the expectations; the exit status the run deserves. */
static int verdict(struct run *r, struct report_expects *x)
{
	int status = 0;

	for (size_t i = 0; i < r->s->n_expects; i++) {
		x->ok[i] = run_expect_eval(r, &r->s->expects[i], &x->value[i], &x->why[i]);
		x->failed += !x->ok[i];
	}
	if (x->failed || r->stack_errors || r->timed_out)
		status = 1;
	if (r->findings_total && !run_expects_findings(r->s))
		status = 1;
	return status;
}

static int finish(struct run *r, int status)
{
	const struct run_options *o = r->o;
	size_t n = r->s->n_expects ? r->s->n_expects : 1;
	struct report_expects x = {
	    .ok = calloc(n, sizeof(bool)),
	    .value = calloc(n, sizeof(uint64_t)),
	    .why = calloc(n, sizeof(char *)),
	};

	if (!x.ok || !x.value || !x.why) {
		fprintf(o->err, "softiommu run: out of memory\n");
		status = 2;
		goto out;
	}
	if (status != 2)
		status = verdict(r, &x);
	else /* nothing ran: a count of 0 would read as a measurement */
		for (size_t i = 0; i < r->s->n_expects; i++)
			x.why[i] = "not measured: the run could not be set up";
	/* `softiommu dot` draws; whether the run met its expectations is run's business. */
	if (o->graph_only && status == 1)
		status = r->dot_done && !r->stack_errors ? 0 : 1;
	if (!o->quiet && !run_to_stdout(o->json_path))
		report_text(r, o->out, &x, status);
	else if (r->stack_errors) /* the report that would say so is not shown */
		fprintf(o->err, "softiommu %s: %u problem%s in the stack: %s\n",
			o->graph_only ? "dot" : "run", r->stack_errors,
			r->stack_errors == 1 ? "" : "s", r->stack_msg);
	if (o->json_path && write_json(r, &x, status) && status == 0)
		status = 1;
	if (r->trace && write_trace(r) && status == 0)
		status = 1;
	if (o->dot_path && !r->dot_done && status != 2)
		fprintf(o->err, "softiommu run: no graph was drawn (phase '%s' did not run)\n",
			o->dot_phase ? o->dot_phase : r->s->phases[r->s->n_phases - 1].name);
out:
	free(x.ok);
	free(x.value);
	free(x.why);
	return status;
}

int run_scenario(const struct scenario *s, const struct run_options *o)
{
	return run_scenario_inspect(s, o, NULL, NULL);
}

/* The run could not be set up or a phase could not start: say why (setup_msg, else the
 * error's name). Exit status 2. */
static int setup_failed(struct run *r, int ret)
{
	if (!r->setup_msg[0])
		snprintf(r->setup_msg, sizeof(r->setup_msg), "%s", strerror(-ret));
	fprintf(r->o->err, "softiommu %s: %s\n", r->o->graph_only ? "dot" : "run", r->setup_msg);
	return 2;
}

int run_scenario_inspect(const struct scenario *s, const struct run_options *o,
			 void (*inspect)(struct run *r, int status, void *ctx), void *ctx)
{
	struct run r = {.s = s, .o = o};
	struct run_progress *prog = NULL;
	int ret, status = 0;

	if (o->dot_phase) {
		bool found = false;

		for (size_t p = 0; p < s->n_phases; p++)
			found |= !strcmp(s->phases[p].name, o->dot_phase);
		if (!found) {
			fprintf(o->err, "softiommu: %s has no phase '%s'\n", s->file, o->dot_phase);
			return 2;
		}
	}
	pthread_mutex_init(&r.lock, NULL);
	pthread_mutex_init(&r.pause_lock, NULL);
	pthread_cond_init(&r.pause_cond, NULL);
	r.n_slots = (unsigned)s->n_phases + 1;
	atomic_init(&r.cur, r.n_slots - 1);
	r.start_ns = run_now_ns();
	ret = alloc_counters(&r);
	if (!ret)
		ret = run_devices_alloc(&r);
	if (!ret && o->trace_path)
		ret = trace_create(o->trace_limit ? o->trace_limit : 1, &r.trace);
	if (!ret)
		ret = build(&r);
	if (!ret && o->dot_path && o->dot_machine >= r.n_machines) {
		snprintf(r.setup_msg, sizeof(r.setup_msg),
			 "%s: cannot draw VT-d unit %u: the run has %u unit%s (numbered from 0)",
			 o->graph_only ? "--unit" : "--dot-unit", o->dot_machine, r.n_machines,
			 r.n_machines == 1 ? "" : "s");
		ret = -EINVAL;
	}
	if (ret) {
		status = setup_failed(&r, ret);
	} else {
		if (r.trace)
			name_lanes(&r);
		r.ops_total = total_ops(&r);
		prog = run_progress_start(&r);
		ret = run_phases(&r);
		run_progress_stop(prog);
		if (ret)
			status = setup_failed(&r, ret);
	}
	atomic_store(&r.cur, r.n_slots);
	run_devices_teardown(&r);
	r.end_ns = run_now_ns();
	status = finish(&r, status);
	if (inspect)
		inspect(&r, status, ctx);
	run_devices_free(&r);
	run_machines_destroy(&r);
	trace_destroy(r.trace);
	free_counters(&r);
	pthread_cond_destroy(&r.pause_cond);
	pthread_mutex_destroy(&r.pause_lock);
	pthread_mutex_destroy(&r.lock);
	return status;
}

/* ---- the commands -----------------------------------------------------------------------------
 */

static void run_usage(FILE *f)
{
	fputs("usage: softiommu run [options] [FILE]\n"
	      "\n"
	      "Run the scenario FILE (\"-\" for standard input; without FILE the built-in\n"
	      "default, examples/scenarios/default.scn) on the whole stack - VT-d model, IOMMU\n"
	      "core, VT-d driver, DMA API, devices - and report what happened.\n"
	      "\n"
	      "options:\n"
	      "  --json [FILE]        also write the report as JSON to FILE; without FILE (or\n"
	      "                       FILE \"-\") to standard output instead of the text report\n"
	      "  --trace FILE         write a Chrome trace (Perfetto, chrome://tracing), \"-\"\n"
	      "                       to standard output\n"
	      "  --trace-sample N     record every Nth translation in the trace (default 100,\n"
	      "                       0 none)\n"
	      "  --trace-limit N      keep at most N trace events (default 1000000)\n"
	      "  --dot FILE           draw the translation structures as a Graphviz graph\n"
	      "  --dot-phase NAME     ... after phase NAME (default: the last phase)\n"
	      "  --dot-depth N        ... with N page-table levels (default 2)\n"
	      "  --dot-unit N         ... of VT-d unit N when there are several (default 0)\n"
	      "  --findings N         show the first N checker findings in full (default 5)\n"
	      "  --scale X            multiply every workload's count by X (at least 1 op)\n"
	      "  --progress           show the progress bar even when stderr is not a terminal\n"
	      "  --no-progress        never show it\n"
	      "  -q, --quiet          no text report\n"
	      "  -h, --help           this text\n"
	      "\n"
	      "exit status: 0 the run went as the scenario expects; 1 an expectation failed, the\n"
	      "checker found stale translations the scenario does not expect, or the stack\n"
	      "misbehaved; 2 usage or scenario errors (printed as FILE:LINE:COLUMN). See\n"
	      "softiommu(1) and docs/scenarios.md.\n",
	      f);
}

static void dot_usage(FILE *f)
{
	fputs("usage: softiommu dot [options] [FILE]\n"
	      "\n"
	      "Run the scenario FILE (without FILE the built-in default) and write the live\n"
	      "translation structures of its VT-d unit - root table, context entries, PASID\n"
	      "directory and tables, page tables - as a Graphviz graph, drawn after the last\n"
	      "phase's operations while its long-lived mappings are in place.\n"
	      "Render it with: softiommu dot | dot -Tsvg > vtd.svg\n"
	      "\n"
	      "options:\n"
	      "  -o, --output FILE    write the graph to FILE (default standard output)\n"
	      "  --phase NAME         draw after phase NAME instead of the last\n"
	      "  --depth N            page-table levels to draw (default 2, 0 none, up to 5)\n"
	      "  --unit N             which VT-d unit when the run has several (default 0)\n"
	      "  --scale X            multiply every workload's count by X (at least 1 op)\n"
	      "  -h, --help           this text\n"
	      "\n"
	      "exit status: 0 the graph was written; 1 it could not be (the phase never ran,\n"
	      "the file could not be written); 2 usage or scenario errors. The scenario's\n"
	      "expectations are not checked: that is softiommu run's job.\n",
	      f);
}

/* Parse a number option; false (and a message) when it is not one. */
static bool number(const char *opt, const char *arg, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!arg || !*arg || *arg == '-') {
		fprintf(stderr, "softiommu: %s needs a number\n", opt);
		return false;
	}
	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || *end || v > max) {
		fprintf(stderr, "softiommu: %s: '%s' is not a number from 0 to %llu\n", opt, arg,
			(unsigned long long)max);
		return false;
	}
	*out = v;
	return true;
}

static bool scale_arg(const char *arg, double *out)
{
	char *end;
	double v;

	if (!arg) {
		fprintf(stderr, "softiommu: --scale needs a factor\n");
		return false;
	}
	v = strtod(arg, &end);
	if (*end || !(v > 0) || v > 1e6) {
		fprintf(stderr, "softiommu: --scale: '%s' is not a factor from above 0 to 1e6\n",
			arg);
		return false;
	}
	*out = v;
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/*
 * Can `path` be written? Asked before the run, so that a mistyped directory or a
 * read-only file is a usage error at once rather than a failure after a long run. The file
 * is created (empty) as a shell's redirection would create it.
 */
static bool writable(const char *opt, const char *path)
{
	FILE *f;

	if (run_to_stdout(path))
		return true;
	/* `run --trace my.scn` has lost its FILE: the scenario would be overwritten. */
	if (ends_with(path, ".scn")) {
		fprintf(stderr,
			"softiommu: %s: '%s' is a scenario, not a file to write (write %s FILE "
			"before it)\n",
			opt, path, opt);
		return false;
	}
	f = fopen(path, "w");
	if (!f || fclose(f)) {
		fprintf(stderr, "softiommu: %s: cannot write '%s': %s\n", opt, path,
			strerror(errno));
		return false;
	}
	return true;
}

static bool outputs_writable(const struct run_options *o)
{
	const char *dot_opt = o->graph_only ? "--output" : "--dot";

	return (!o->json_path || writable("--json", o->json_path)) &&
	       (!o->trace_path || writable("--trace", o->trace_path)) &&
	       (!o->dot_path || writable(dot_opt, o->dot_path));
}

/* Read the scenario (or the built-in one) and run it. */
static int load_and_run(const char *path, const struct run_options *o)
{
	struct scenario_diags d = {0};
	struct scenario *s = NULL;
	int ret, status;

	if (path)
		ret = scenario_parse_file(path, &s, &d);
	else
		ret = scenario_parse_string(scenario_default_text, scenario_default_file, &s, &d);
	scenario_diags_print(&d, o->err);
	scenario_diags_free(&d);
	if (ret == -ENOMEM)
		fprintf(o->err, "softiommu: out of memory reading %s\n",
			path ? path : scenario_default_file);
	if (ret || !outputs_writable(o)) {
		scenario_free(s);
		return 2;
	}
	status = run_scenario(s, o);
	scenario_free(s);
	return status;
}

/* A numeric option: `name`, its upper bound, and where the value goes. */
static bool number_option(const char *a, const char *next, struct run_options *o, bool *err)
{
	static const struct {
		const char *name;
		uint64_t max, min;
	} opts[] = {
	    {"--trace-sample", UINT32_MAX, 0},
	    {"--trace-limit", 100000000, 1},
	    {"--dot-depth", 5, 0},
	    {"--dot-unit", 1, 0},
	    {"--findings", RUN_MAX_FINDINGS, 0},
	};
	uint64_t v;

	for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
		if (strcmp(a, opts[k].name))
			continue;
		if (!number(a, next, opts[k].max, &v)) {
			*err = true;
			return true;
		}
		if (v < opts[k].min) {
			fprintf(stderr, "softiommu: %s must be at least %llu\n", a,
				(unsigned long long)opts[k].min);
			*err = true;
			return true;
		}
		switch (k) {
		case 0:
			o->trace_sample = v;
			break;
		case 1:
			o->trace_limit = v;
			break;
		case 2:
			o->dot_depth = (unsigned)v;
			break;
		case 3:
			o->dot_machine = (unsigned)v;
			break;
		default:
			o->findings_shown = (unsigned)v;
			break;
		}
		return true;
	}
	return false;
}

/*
 * One option of `run` at argv[*i] (advanced past its argument). 0 taken, 1 --help,
 * 2 an error (said on stderr).
 */
static int run_option(int argc, char **argv, int *i, struct run_options *o)
{
	const char *a = argv[*i], *next = *i + 1 < argc ? argv[*i + 1] : NULL;
	bool err = false;

	if (!strcmp(a, "-h") || !strcmp(a, "--help"))
		return 1;
	if (number_option(a, next, o, &err)) {
		(*i)++;
		return err ? 2 : 0;
	}
	if (!strncmp(a, "--json=", 7)) {
		o->json_path = a + 7;
	} else if (!strcmp(a, "--json")) {
		/* `--json FILE`; alone, before another option or before the scenario itself
		 * (a .scn file), the JSON goes to standard output. */
		o->json_path = "-";
		if (next && *next != '-' && !ends_with(next, ".scn"))
			o->json_path = argv[++*i];
	} else if (!strcmp(a, "--trace") && next) {
		o->trace_path = argv[++*i];
	} else if (!strcmp(a, "--dot") && next) {
		o->dot_path = argv[++*i];
	} else if (!strcmp(a, "--dot-phase") && next) {
		o->dot_phase = argv[++*i];
	} else if (!strcmp(a, "--scale")) {
		if (!scale_arg(next, &o->scale))
			return 2;
		(*i)++;
	} else if (!strcmp(a, "--progress") || !strcmp(a, "--no-progress")) {
		o->progress = a[2] == 'p' ? RUN_PROGRESS_ON : RUN_PROGRESS_OFF;
	} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
		o->quiet = true;
	} else {
		fprintf(stderr,
			"softiommu run: unknown option '%s' or missing argument "
			"(try 'softiommu run --help')\n",
			a);
		return 2;
	}
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct run_options o;
	const char *path = NULL;

	run_options_default(&o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] == '-' && a[1]) {
			int ret = run_option(argc, argv, &i, &o);

			if (ret == 1)
				run_usage(stdout);
			if (ret)
				return ret == 1 ? 0 : 2;
		} else if (path) {
			fprintf(stderr, "softiommu run: one scenario at a time ('%s' and '%s')\n",
				path, a);
			return 2;
		} else {
			path = a;
		}
	}
	if (o.dot_phase && !o.dot_path) {
		fprintf(stderr, "softiommu run: --dot-phase needs --dot FILE\n");
		return 2;
	}
	/* Two documents on one stream would make neither readable. */
	if (run_to_stdout(o.json_path) + run_to_stdout(o.trace_path) + run_to_stdout(o.dot_path) >
	    1) {
		fprintf(stderr, "softiommu run: only one of --json, --trace and --dot may write to "
				"standard output\n");
		return 2;
	}
	return load_and_run(path, &o);
}

int cmd_dot(int argc, char **argv)
{
	struct run_options o;
	const char *path = NULL;
	uint64_t v;

	run_options_default(&o);
	o.quiet = true;
	o.graph_only = true;
	o.dot_path = "-";
	o.progress = RUN_PROGRESS_OFF;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			dot_usage(stdout);
			return 0;
		} else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && next) {
			o.dot_path = argv[++i];
		} else if (!strcmp(a, "--phase") && next) {
			o.dot_phase = argv[++i];
		} else if (!strcmp(a, "--depth")) {
			if (!number(a, next, 5, &v))
				return 2;
			o.dot_depth = (unsigned)v;
			i++;
		} else if (!strcmp(a, "--unit")) {
			if (!number(a, next, 1, &v))
				return 2;
			o.dot_machine = (unsigned)v;
			i++;
		} else if (!strcmp(a, "--scale")) {
			if (!scale_arg(next, &o.scale))
				return 2;
			i++;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr,
				"softiommu dot: unknown option '%s' or missing argument "
				"(try 'softiommu dot --help')\n",
				a);
			return 2;
		} else if (path) {
			fprintf(stderr, "softiommu dot: one scenario at a time\n");
			return 2;
		} else {
			path = a;
		}
	}
	return load_and_run(path, &o);
}
