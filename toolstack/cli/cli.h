/*
 * Internal interface of the xl-hotmem CLI: the command table entry every
 * subcommand provides, and the few helpers they share (one-line errors, JSON
 * output). Exit codes follow xl: 0 success, 1 any failure.
 */
#ifndef HOTMEM_CLI_H
#define HOTMEM_CLI_H

#include <stdbool.h>

struct cli_command {
	const char *name;
	int (*handler)(const struct cli_command *cmd, int argc, char **argv);
	const char *usage;   /* arguments after the command name */
	const char *summary; /* one line for `xl-hotmem help` */
	const char *options; /* option help, one per line, or NULL */
};

/* Print "xl-hotmem CMD: message" on stderr and return the failure exit code. */
int cli_fail(const struct cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print the command's usage block on stdout (for -h) or stderr (misuse). */
void cli_usage(const struct cli_command *cmd, bool to_stderr);

int cmd_plan(const struct cli_command *cmd, int argc, char **argv);

#endif /* HOTMEM_CLI_H */
