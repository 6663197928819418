// SPDX-License-Identifier: MIT
/*
 * `softiommu check-scenario FILE...`: read scenario files, print each in normal form (every
 * default written out) or its errors. Exit 0 when every file is a valid scenario, 2 when
 * one is not or the command line is wrong. `softiommu run` reads scenarios the same way.
 */
#include "scenario.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fputs("usage: softiommu check-scenario [options] FILE...\n"
	      "\n"
	      "Read each scenario FILE (\"-\" for standard input) and print it in normal form:\n"
	      "every section and key in a fixed order, every default written out, each device's\n"
	      "DMA policy resolved. Errors are printed as FILE:LINE:COLUMN: error: MESSAGE.\n"
	      "\n"
	      "options:\n"
	      "  -q, --quiet          print only errors and warnings\n"
	      "  --default            check the built-in default scenario (softiommu run's)\n"
	      "  --max-errors N       stop reporting after N errors per file (default 20)\n"
	      "  -h, --help           this text\n"
	      "\n"
	      "exit status: 0 every scenario is valid, 2 a scenario has errors or the usage is\n"
	      "wrong. The language is described in docs/scenarios.md.\n",
	      f);
}

/* Check one input; returns 0 or 2. */
static int check_one(const char *path, bool builtin, bool quiet, size_t max_errors, FILE *out,
		     FILE *err)
{
	struct scenario_diags d = {.max = max_errors};
	struct scenario *s = NULL;
	int ret;

	if (builtin)
		ret = scenario_parse_string(scenario_default_text, scenario_default_file, &s, &d);
	else
		ret = scenario_parse_file(path, &s, &d);
	scenario_diags_print(&d, err);
	scenario_diags_free(&d);
	if (ret == -ENOMEM)
		fprintf(err, "%s: out of memory\n", builtin ? scenario_default_file : path);
	if (ret)
		return 2;
	if (!quiet && scenario_print(s, out) < 0)
		ret = 2;
	scenario_free(s);
	return ret;
}

int check_scenario_main(int argc, char **argv, FILE *out, FILE *err)
{
	bool quiet = false, builtin = false, any = false;
	size_t max_errors = 0;
	int status = 0, i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(out);
			return 0;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			quiet = true;
		} else if (!strcmp(a, "--default")) {
			builtin = true;
		} else if (!strcmp(a, "--max-errors")) {
			char *end;
			unsigned long v = i + 1 < argc ? strtoul(argv[i + 1], &end, 10) : 0;

			if (i + 1 >= argc || !*argv[i + 1] || *end || v == 0 || v > 10000) {
				fprintf(err,
					"softiommu check-scenario: --max-errors takes a number "
					"from 1 to 10000\n");
				return 2;
			}
			max_errors = v;
			i++;
		} else if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (a[0] == '-' && a[1]) {
			fprintf(err, "softiommu check-scenario: unknown option '%s' (try --help)\n",
				a);
			return 2;
		} else {
			break;
		}
	}
	if (builtin) {
		status |= check_one(NULL, true, quiet, max_errors, out, err);
		any = true;
	}
	for (; i < argc; i++) {
		status |= check_one(argv[i], false, quiet, max_errors, out, err);
		any = true;
	}
	if (!any) {
		usage(err);
		return 2;
	}
	return status ? 2 : 0;
}

int cmd_check_scenario(int argc, char **argv)
{
	return check_scenario_main(argc, argv, stdout, stderr);
}
