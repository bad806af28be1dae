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
		CLI_OPTIONS_END,
	};
	struct ctl_request req = { .cmd = CTL_CMD_METRICS };
	struct cli_opts o;
	int opt;

	cli_opts_start(&o, cmd, argc, argv, ":h", long_options);
	while ((opt = cli_opts_next(&o)) > 0) {
		if (opt != 'o')
			return cli_opts_bad(&o, opt);
		req.openmetrics = true;
	}
	if (opt < 0)
		return o.exit;
	if (optind != argc) {
		cli_usage(cmd, true);
		return cli_fail(cmd, "unexpected argument '%s'", argv[optind]);
	}
	return cli_cmd_run(cmd, &req, o.json, render_metrics);
}
