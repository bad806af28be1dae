/*
 * xl-hotmem: the operator's command line for hotmem, shaped like xl. Commands
 * live in one table (name, handler, usage, summary, options); a command may
 * be abbreviated to any unambiguous prefix; every command takes -h; failures
 * print one line on stderr and exit 1.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CLI_EXIT_FAILURE 1

static const struct cli_command cli_commands[] = {
	{
		.name = "plan",
		.handler = cmd_plan,
		.usage = "[options] SIZE",
		.summary = "Show how a grant of SIZE splits into memory blocks, memmap and "
			   "usable memory",
		.options = "  --page-size 4k|16k|64k  guest page size on arm64 (default 4k)\n"
			   "  --block-size SIZE       guest memory block size (default: the "
			   "kernel's for that page size)\n"
			   "  --memmap on|force|off   guest memory_hotplug.memmap_on_memory "
			   "(default on)\n"
			   "  --json                  print JSON\n"
			   "  -h, --help              this help\n",
	},
};

#define CLI_NR_COMMANDS (sizeof(cli_commands) / sizeof(cli_commands[0]))

int cli_fail(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list args;

	fprintf(stderr, "xl-hotmem%s%s: ", cmd ? " " : "", cmd ? cmd->name : "");
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
	return CLI_EXIT_FAILURE;
}

void cli_usage(const struct cli_command *cmd, bool to_stderr)
{
	FILE *out = to_stderr ? stderr : stdout;

	fprintf(out, "Usage: xl-hotmem %s %s\n\n%s.\n", cmd->name, cmd->usage, cmd->summary);
	if (cmd->options)
		fprintf(out, "\nOptions:\n%s", cmd->options);
}

static void cli_help(FILE *out)
{
	fprintf(out, "Usage: xl-hotmem [-h] COMMAND [ARGS]\n\n"
		     "Grow and shrink arm64 Xen guests by hot-adding memory blocks.\n\n"
		     "Commands (any unambiguous prefix works; COMMAND -h for details):\n");
	for (size_t i = 0; i < CLI_NR_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].summary);
}

/* Exact name first, then a unique prefix; NULL (and *ret_ambiguous) otherwise. */
static const struct cli_command *cli_lookup(const char *name, bool *ret_ambiguous)
{
	const struct cli_command *match = NULL;
	size_t len = strlen(name);

	*ret_ambiguous = false;
	for (size_t i = 0; i < CLI_NR_COMMANDS; i++)
		if (!strcmp(cli_commands[i].name, name))
			return &cli_commands[i];
	for (size_t i = 0; i < CLI_NR_COMMANDS; i++) {
		if (len && !strncmp(cli_commands[i].name, name, len)) {
			if (match) {
				*ret_ambiguous = true;
				return NULL;
			}
			match = &cli_commands[i];
		}
	}
	return match;
}

int main(int argc, char **argv)
{
	const struct cli_command *cmd;
	bool ambiguous;

	if (argc < 2) {
		cli_help(stderr);
		return CLI_EXIT_FAILURE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		cli_help(stdout);
		return 0;
	}
	cmd = cli_lookup(argv[1], &ambiguous);
	if (!cmd)
		return cli_fail(NULL, "%s command '%s' (try xl-hotmem -h)",
				ambiguous ? "ambiguous" : "unknown", argv[1]);
	return cmd->handler(cmd, argc - 1, argv + 1);
}
