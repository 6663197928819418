/* SPDX-License-Identifier: MIT */
/* The softiommu command's subcommands. Each returns the process exit status:
 * 0 success, 1 the run found problems (mismatches, checker findings, failed expectations),
 * 2 usage or input errors. */
#ifndef SOFTIOMMU_TOOLS_COMMANDS_H
#define SOFTIOMMU_TOOLS_COMMANDS_H

struct tool_command {
	const char *name;
	const char *summary;
	int (*main)(int argc, char **argv); /* argv[0] is the subcommand name */
};

int cmd_check_scenario(int argc, char **argv); /* tools/cmd_check_scenario.c */

/* The table, terminated by a zeroed entry (tools/main.c). */
extern const struct tool_command tool_commands[];

int cmd_replay(int argc, char **argv); /* tools/replay.c */
int cmd_run(int argc, char **argv);    /* tools/run.c */
int cmd_dot(int argc, char **argv);    /* tools/run.c */

#endif
