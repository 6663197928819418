// SPDX-License-Identifier: MIT
/* softiommu: the command-line front end. `softiommu help` lists the subcommands. */
#include "commands.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int cmd_help(int argc, char **argv);

/* `--help` (or -h) anywhere in a simple subcommand's arguments. */
static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

static int cmd_version(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		printf("usage: softiommu version\n\nPrint the version. Exit status 0.\n");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "softiommu version: unexpected argument '%s'\n", argv[1]);
		return 2;
	}
	printf("softiommu 0.1.0\n");
	return 0;
}

const struct tool_command tool_commands[] = {
    {"help", "list the subcommands", cmd_help},
    {"run", "run a scenario (default: the built-in one) and report", cmd_run},
    {"dot", "draw a scenario's translation structures as a Graphviz graph", cmd_dot},
    {"version", "print the version", cmd_version},
    {"replay", "run VT-d conformance vectors (docs/vectors.md)", cmd_replay},
    {"check-scenario", "read scenario files and print them in normal form", cmd_check_scenario},
    {0},
};

static void print_help(FILE *f)
{
	fprintf(f, "usage: softiommu <command> [options]\n\ncommands:\n");
	for (const struct tool_command *c = tool_commands; c->name; c++)
		fprintf(f, "  %-15s %s\n", c->name, c->summary);
	fprintf(f, "\n`softiommu help <command>` describes one command; man softiommu, all "
		   "of them.\n");
}

/* `softiommu help [COMMAND]`: the list, or COMMAND's own --help. */
static int cmd_help(int argc, char **argv)
{
	static char help_opt[] = "--help";

	if (wants_help(argc, argv)) {
		print_help(stdout);
		return 0;
	}
	if (argc > 2) {
		fprintf(stderr, "softiommu help: one command at a time\n");
		return 2;
	}
	if (argc == 2) {
		for (const struct tool_command *c = tool_commands; c->name; c++)
			if (!strcmp(argv[1], c->name)) {
				char *args[] = {argv[1], help_opt, NULL};

				return c->main(2, args);
			}
		fprintf(stderr, "softiommu help: unknown command '%s' (try 'softiommu help')\n",
			argv[1]);
		return 2;
	}
	print_help(stdout);
	return 0;
}

static int dispatch(int argc, char **argv)
{
	if (argc < 2) {
		print_help(stderr); /* a usage error: the help goes where errors go */
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(0, NULL);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(0, NULL);
	for (const struct tool_command *c = tool_commands; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->main(argc - 1, argv + 1);
	fprintf(stderr, "softiommu: unknown command '%s' (try 'softiommu help')\n", argv[1]);
	return 2;
}

int main(int argc, char **argv)
{
	int status = dispatch(argc, argv);

	/* A report that did not reach standard output (a full disk, a closed pipe's
	 * EPIPE) is a failure, not a success with nothing to show. */
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "softiommu: writing standard output failed: %s\n", strerror(errno));
		if (!status)
			status = 1;
	}
	return status;
}
