/*
 * xl-hotmem metrics: every hotmem metric as Prometheus text on stdout, from
 * hotmemd (which counts operations over its life) or, without a daemon, from
 * an engine run in-process (whose operation counters are all zero: it ran
 * none). --openmetrics picks the OpenMetrics 1.0 dialect, --json the reply
 * object. What each metric means: docs/fleet.md.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static void render_metrics(yajl_val result)
{
	fputs(cli_jstr(result, "text", ""), stdout);
}

int cmd_metrics(const struct cli_command *cmd, int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "openmetrics", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_request req = { .cmd = CTL_CMD_METRICS };
	bool json = false;
	int opt;

	optind = 0; /* 0, not 1: glibc then re-reads the optstring (main used "+") */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (opt) {
		case 'o':
			req.openmetrics = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			cli_usage(cmd, false);
			return 0;
		default:
			return cli_bad_option(cmd, opt, argv, long_options);
		}
	}
	if (optind != argc) {
		cli_usage(cmd, true);
		return cli_fail(cmd, "unexpected argument '%s'", argv[optind]);
	}
	return cli_cmd_run(cmd, &req, json, render_metrics);
}
