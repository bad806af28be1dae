/*
 * xl-hotmem: the operator's command line for hotmem, shaped like xl. Commands
 * live in one table (name, handler, usage, summary, options); a command may
 * be abbreviated to any unambiguous prefix; every command takes -h; failures
 * print one line on stderr and exit 1. Global options before the command
 * pick the backend (--hv xen|sim), hotmemd's socket and, for an in-process
 * sim, the simulated host. docs/xl-hotmem.1.md is the contract.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hotmem/units.h"
#include "sim_options.h"

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
	{
		.name = "list",
		.handler = cmd_list,
		.usage = "[--json]",
		.summary = "List domains with their hotmem grant, maximum and guest state",
		.options = "  --json      print JSON\n  -h, --help  this help\n",
	},
	{
		.name = "info",
		.handler = cmd_info,
		.usage = "[--json] DOM",
		.summary = "Show a domain's hotmem record, window and guest driver state",
		.options = "  --json      print JSON\n  -h, --help  this help\n",
	},
	{
		.name = "grow",
		.handler = cmd_op,
		.usage = "[--json] DOM SIZE",
		.summary = "Give DOM SIZE more memory, in whole guest memory blocks (attaches "
			   "DOM if needed)",
		.options = "  --json      print the result as JSON\n  -h, --help  this help\n"
			   "SIZE: a number with b/k/m/g/t suffix; no suffix means MiB.\n",
	},
	{
		.name = "shrink",
		.handler = cmd_op,
		.usage = "[--json] DOM SIZE",
		.summary = "Take SIZE of hot-added memory back from DOM, in whole blocks",
		.options = "  --json      print the result as JSON\n  -h, --help  this help\n"
			   "SIZE: a number with b/k/m/g/t suffix; no suffix means MiB.\n",
	},
	{
		.name = "set",
		.handler = cmd_op,
		.usage = "[--json] DOM SIZE",
		.summary = "Grow or shrink DOM so that its hot-added memory is SIZE (0: all back)",
		.options = "  --json      print the result as JSON\n  -h, --help  this help\n"
			   "SIZE: a number with b/k/m/g/t suffix; no suffix means MiB.\n",
	},
	{
		.name = "abandon",
		.handler = cmd_abandon,
		.usage = "[--json] DOM",
		.summary = "Take back every request DOM never answered (frames, max memory)",
		.options = "  --json      print JSON\n  -h, --help  this help\n",
	},
	{
		.name = "attach",
		.handler = cmd_attach,
		.usage = "[--max SIZE] [--json] DOM",
		.summary = "Offer hotmem to DOM (grow and set do this implicitly)",
		.options = "  --max SIZE  hotmem maximum of the domain (default: its window)\n"
			   "  --json      print JSON\n  -h, --help  this help\n",
	},
	{
		.name = "detach",
		.handler = cmd_detach,
		.usage = "DOM",
		.summary = "Withdraw hotmem from DOM (nothing may be granted)",
		.options = "  -h, --help  this help\n",
	},
	{
		.name = "dtb",
		.handler = cmd_dtb,
		.usage = "[--json] DOM FILE",
		.summary = "Write DOM's window as a device tree fragment for xl's device_tree=",
		.options =
			"  --json      print what was written as JSON\n  -h, --help  this help\n",
	},
	{
		.name = "journal",
		.handler = cmd_journal,
		.usage = "[--json]",
		.summary = "Dump the engine's journal records",
		.options = "  --json      print JSON\n  -h, --help  this help\n",
	},
	{
		.name = "policy",
		.handler = cmd_policy,
		.usage = "[--json] DOM [KEY=VALUE...]",
		.summary = "Show DOM's autoscaling policy and what it decided, or set keys of it "
			   "(needs hotmemd)",
		.options = "  --json      print JSON\n  -h, --help  this help\n"
			   "KEY=VALUE: a domain key of hotmem.conf, e.g. mode=auto min=1g max=8g\n"
			   "weight=200 low-watermark=10% low-watermark-min=64m high-watermark=25%\n"
			   "psi-grow=10 grow-cooldown=5s (docs/policy.md); kept until the domain "
			   "goes.\n",
	},
	{
		.name = "top",
		.handler = cmd_top,
		.usage = "[-d SECONDS] [-n ITERATIONS] [--json]",
		.summary = "Show every domain's memory, guest pressure and the policy's last "
			   "decision, refreshing (needs hotmemd)",
		.options =
			"  -d, --delay SECONDS      between refreshes (default 1, at least 0.1)\n"
			"  -n, --iterations N       stop after N tables (default: until ^C)\n"
			"  --json                   print one snapshot as JSON\n"
			"  -h, --help               this help\n"
			"On a terminal the table is redrawn in place; otherwise one table per "
			"refresh.\n",
	},
	{
		.name = "metrics",
		.handler = cmd_metrics,
		.usage = "[--openmetrics] [--json]",
		.summary = "Print hotmem's metrics (domains, host, operations) as Prometheus text",
		.options = "  --openmetrics  the OpenMetrics 1.0 dialect (counter families without "
			   "_total)\n"
			   "  --json         print the reply as JSON\n  -h, --help     this help\n",
	},
	{
		.name = "sim-destroy",
		.handler = cmd_sim,
		.usage = "DOM",
		.summary = "(--hv sim) destroy a simulated domain as xl destroy would",
		.options = "  -h, --help  this help\n",
	},
	{
		.name = "sim-guest",
		.handler = cmd_sim_guest,
		.usage = "[--json] DOM [ws=SIZE] [psi=PCT] [psi-full=PCT] [stats=on|off] "
			 "[mem-set=SIZE]",
		.summary = "(--hv sim) set what a simulated guest's stats show (its load)",
		.options = "  --json      print JSON\n  -h, --help  this help\n"
			   "ws: memory its programs use (MemAvailable = MemTotal - kernel - ws);\n"
			   "psi: memory PSI some avg10 in percent; stats=off: stop publishing;\n"
			   "mem-set: write memory/target as xl mem-set does.\n",
	},
	{
		.name = "sim-check",
		.handler = cmd_sim,
		.usage = "",
		.summary = "(--hv sim) run the simulated host's invariant checker",
		.options = "  -h, --help  this help\n",
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

/*
 * The long option arg ("--name" or "--name=value") names as getopt_long()
 * reads it: the exact name, else the one option it abbreviates ("--ma" is
 * --max); NULL when it names none or is ambiguous.
 */
static const struct option *long_option_of(const struct option *long_options, const char *arg)
{
	size_t len = strcspn(arg + 2, "=");
	const struct option *found = NULL;
	int matches = 0;

	for (const struct option *o = long_options; o->name && len; o++) {
		if (strncmp(o->name, arg + 2, len))
			continue;
		if (strlen(o->name) == len)
			return o;
		found = o;
		matches++;
	}
	return matches == 1 ? found : NULL;
}

void cli_opts_start(struct cli_opts *o, const struct cli_command *cmd, int argc, char **argv,
		    const char *optstring, const struct option *long_options)
{
	*o = (struct cli_opts){ .cmd = cmd,
				.argc = argc,
				.argv = argv,
				.optstring = optstring,
				.long_options = long_options };
	optind = 0; /* 0, not 1: glibc then re-reads the optstring (main used "+") */
	opterr = 0;
}

int cli_opts_next(struct cli_opts *o)
{
	for (;;) {
		int opt = getopt_long(o->argc, o->argv, o->optstring, o->long_options, NULL);

		if (opt == -1)
			return 0;
		if (opt == 'j') {
			o->json = true;
			continue;
		}
		if (opt == 'h') {
			cli_usage(o->cmd, false);
			o->help = true;
			o->exit = 0;
			return -1;
		}
		if (opt == '?' || opt == ':') {
			cli_opts_bad(o, opt);
			return -1;
		}
		return opt;
	}
}

int cli_opts_bad(struct cli_opts *o, int opt)
{
	o->exit = cli_bad_option(o->cmd, opt, o->argv, o->long_options);
	return o->exit;
}

int cli_parse_args(const struct cli_command *cmd, int argc, char **argv, int nr_pos, bool allow_max,
		   struct cli_args *args, bool *ret_help)
{
	static const struct option long_options[] = {
		{ "max", required_argument, NULL, 'm' },
		CLI_OPTIONS_END,
	};
	struct cli_opts o;
	int opt;

	cli_opts_start(&o, cmd, argc, argv, ":h", long_options);
	while ((opt = cli_opts_next(&o)) > 0) {
		if (opt != 'm' || !allow_max)
			return cli_opts_bad(&o, opt);
		if (hotmem_parse_size(optarg, &args->max_bytes) || !args->max_bytes)
			return cli_fail(cmd,
					"invalid --max '%s': expected a size with an optional "
					"b/k/m/g/t suffix (no suffix: MiB)",
					optarg);
	}
	*ret_help = o.help;
	args->json = o.json;
	if (opt < 0)
		return o.exit;
	if (nr_pos >= 0 ? argc - optind != nr_pos : argc - optind < -nr_pos)
		return cli_fail(cmd, "expected %s (try -h)", cmd->usage);
	for (int i = 0; i < nr_pos; i++)
		args->pos[i] = argv[optind + i];
	args->nr_pos = nr_pos;
	return 0;
}

int cli_bad_option(const struct cli_command *cmd, int opt, char **argv,
		   const struct option *long_options)
{
	const char *prev = optind > 0 ? argv[optind - 1] : "";
	const char *hint = cmd ? "-h" : "xl-hotmem -h";
	const struct option *known = NULL;
	char name[64];

	if (opt != '?' && opt != ':') {
		/* A valid option of the table, but not one this command takes. */
		for (const struct option *o = long_options; o->name; o++)
			if (o->val == opt)
				return cli_fail(cmd,
						"option '--%s' is not for this command (try %s)",
						o->name, hint);
	}
	if (strncmp(prev, "--", 2) == 0)
		known = long_option_of(long_options, prev);
	/*
	 * A long option has been passed over when getopt_long() returns, so
	 * prev is it, unless an unknown short option (optopt) came after it.
	 * A known one is named in full ("--page" is --page-size).
	 */
	if (known && (!optopt || known->val == optopt))
		snprintf(name, sizeof(name), "--%s", known->name);
	else if (strncmp(prev, "--", 2) == 0 && !optopt)
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(prev, "="), prev);
	else if (optopt > ' ' && optopt < 0x7f)
		snprintf(name, sizeof(name), "-%c", optopt);
	else
		snprintf(name, sizeof(name), "%s", prev);
	if (opt == ':')
		return cli_fail(cmd, "option '%s' needs a value (try %s)", name, hint);
	return cli_fail(cmd, "unknown option '%s', or a value it does not take (try %s)", name,
			hint);
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
	fprintf(out,
		"Usage: xl-hotmem [-h] COMMAND [ARGS]\n\n"
		"Grow and shrink arm64 Xen guests by hot-adding memory blocks.\n\n"
		"Global options (before COMMAND):\n"
		"  --hv xen|sim           backend (default xen); sim talks to hotmemd --hv sim\n"
		"  --socket PATH          hotmemd's socket (default $HOTMEM_SOCKET, else\n"
		"                         /run/hotmem/hotmemd.sock; for sim\n"
		"                         $XDG_RUNTIME_DIR/hotmem-sim.sock)\n"
		"  --sim-config FILE, --sim-host SIZE, --sim-domain NAME:SIZE[:nodriver]\n"
		"                         the simulated host when no sim daemon answers\n"
		"  --config FILE          hotmemd's config, for its [host] reserve when the\n"
		"                         engine runs in-process (default "
		"/etc/hotmem/hotmem.conf)\n"
		"  --json                 print JSON (the command's own --json, for any command)\n"
		"  --progress             grow/shrink/set: a line per block event even when\n"
		"                         stdout is not a terminal (it is flushed per line)\n\n"
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

/* --json before the command: passed on to the command as its own --json. */
static bool global_json;

/* Global options; returns the index of the command or -1 after an error line. */
static int cli_global_options(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "hv", required_argument, NULL, 'H' },
		{ "socket", required_argument, NULL, 'S' },
		SIM_OPTIONS_LONG,
		{ "json", no_argument, NULL, 'j' },
		{ "progress", no_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char msg[256];
	int opt;

	sim_host_config_defaults(&cli_global.sim);
	opterr = 0;
	/* "+": stop at the command, whose own options come after it. */
	while ((opt = getopt_long(argc, argv, "+:h", long_options, NULL)) != -1) {
		int r = 0;

		switch (opt) {
		case 'H':
			if (strcmp(optarg, "xen") && strcmp(optarg, "sim")) {
				cli_fail(NULL, "invalid --hv '%s': expected xen or sim", optarg);
				return -1;
			}
			cli_global.hv = optarg;
			break;
		case 'S':
			cli_global.socket = optarg;
			break;
		case SIM_OPTION_CONFIG:
		case SIM_OPTION_HOST:
		case SIM_OPTION_DOMAIN:
			r = sim_options_parse(&cli_global.sim, opt, optarg, msg, sizeof(msg));
			break;
		case 'j':
			global_json = true;
			break;
		case 'p':
			cli_global.progress = true;
			break;
		case 'C':
			cli_global.config = optarg;
			break;
		case 'h':
			cli_help(stdout);
			exit(0);
		default:
			cli_bad_option(NULL, opt, argv, long_options);
			return -1;
		}
		if (r < 0) {
			cli_fail(NULL, "%s", msg);
			return -1;
		}
	}
	return optind;
}

int main(int argc, char **argv)
{
	const struct cli_command *cmd;
	bool ambiguous;
	int first = cli_global_options(argc, argv);

	if (first < 0)
		return CLI_EXIT_FAILURE;
	if (first >= argc) {
		cli_help(stderr);
		return CLI_EXIT_FAILURE;
	}
	if (!strcmp(argv[first], "help")) {
		cli_help(stdout);
		return 0;
	}
	cmd = cli_lookup(argv[first], &ambiguous);
	if (!cmd)
		return cli_fail(NULL, "%s command '%s' (try xl-hotmem -h)",
				ambiguous ? "ambiguous" : "unknown", argv[first]);
	if (global_json) {
		/* The command's arguments plus its own --json (argv has room for its NULL). */
		char **args = calloc((size_t)(argc - first) + 2, sizeof(*args));
		int rc;

		if (!args)
			return cli_fail(cmd, "out of memory");
		memcpy(args, argv + first, (size_t)(argc - first) * sizeof(*args));
		args[argc - first] = "--json";
		rc = cmd->handler(cmd, argc - first + 1, args);
		free(args);
		return rc;
	}
	return cmd->handler(cmd, argc - first, argv + first);
}
