/*
 * The xl-hotmem commands of the autoscaling policy, which only hotmemd can
 * answer (the policy lives there): `policy DOM [KEY=VALUE...]` shows a
 * domain's parameters, where they came from and what the policy thinks of
 * it now, or changes them at run time with the keys and values of
 * hotmem.conf; `top` shows every domain's memory, its guest's stats and the
 * policy's last decision, redrawn in place on a terminal and as repeated
 * tables otherwise. Also `sim-guest`, the lever a test or a demo pulls on a
 * `hotmemd --hv sim` to make a simulated guest look busy or idle.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hotmem/units.h"
#include "sim_ctl.h"

/* Shortest refresh of top: the policy itself ticks once a second by default. */
#define TOP_MIN_DELAY_S 0.1

/* "12.5" (percent, at most two decimals, 0..100) -> hundredths. -EINVAL. */
static int parse_pct_hundredths(const char *text, uint32_t *ret)
{
	size_t whole = strspn(text, "0123456789"), frac = 0;
	uint32_t value = 0;

	if (!whole || whole > 3)
		return -EINVAL;
	for (size_t i = 0; i < whole; i++)
		value = value * 10 + (uint32_t)(text[i] - '0');
	value *= 100;
	if (text[whole] == '.') {
		frac = strspn(text + whole + 1, "0123456789");
		if (frac < 1 || frac > 2)
			return -EINVAL;
		value += (uint32_t)(text[whole + 1] - '0') * 10;
		if (frac == 2)
			value += (uint32_t)(text[whole + 2] - '0');
		frac++;
	}
	if (text[whole + frac] || value > 10000)
		return -EINVAL;
	*ret = value;
	return 0;
}

/* "1.5 s" from milliseconds. */
static const char *fmt_ms(char *buf, size_t size, uint64_t ms)
{
	if (ms % 1000)
		snprintf(buf, size, "%" PRIu64 " ms", ms);
	else
		snprintf(buf, size, "%" PRIu64 " s", ms / 1000);
	return buf;
}

/* "grow 2 blocks (256 MiB) 12 s ago: reason", or "-". */
static void fmt_last(char *buf, size_t size, yajl_val d)
{
	yajl_val last = cli_jget(d, "last");
	const char *action = cli_jstr(last, "action", NULL);
	char a[32], what[64];

	if (!last || !action) {
		snprintf(buf, size, "-");
		return;
	}
	if (!strcmp(action, "grow") || !strcmp(action, "shrink"))
		snprintf(what, sizeof(what), "%s %s", action,
			 cli_fmt_size(a, sizeof(a), cli_ju64(last, "bytes")));
	else if (!strcmp(action, "target"))
		snprintf(what, sizeof(what), "target %s",
			 cli_fmt_size(a, sizeof(a), cli_ju64(last, "target_bytes")));
	else
		snprintf(what, sizeof(what), "%s", action);
	snprintf(buf, size, "%s, %" PRIu64 " s ago: %s", what, cli_ju64(last, "age_ms") / 1000,
		 cli_jstr(last, "reason", ""));
}

/* ---- policy ---------------------------------------------------------------- */

static void render_policy(yajl_val d)
{
	yajl_val p = cli_jget(d, "params"), stats = cli_jget(d, "stats");
	uint64_t min = cli_ju64(p, "min_bytes"), max = cli_ju64(p, "max_bytes");
	char a[32], b[32], c[32], e[32], last[256];

	printf("domain:      %s (d%" PRIu64 ")%s\n", cli_jstr(d, "name", "?"), cli_ju64(d, "domid"),
	       cli_jbool(d, "attached") ? "" : ", not attached");
	printf("mode:        %s (from %s)\n", cli_jstr(p, "mode", "?"), cli_jstr(d, "source", "?"));
	printf("size:        min %s, max %s, weight %" PRIu64 "\n",
	       min ? cli_fmt_size(a, sizeof(a), min) : "boot size",
	       max ? cli_fmt_size(b, sizeof(b), max) : "no limit", cli_ju64(p, "weight"));
	printf("watermarks:  low %" PRIu64 "%% (at least %s), high %" PRIu64 "%% (at least %s)\n",
	       cli_ju64(p, "low_pct"), cli_fmt_size(a, sizeof(a), cli_ju64(p, "low_bytes")),
	       cli_ju64(p, "high_pct"), cli_fmt_size(b, sizeof(b), cli_ju64(p, "high_bytes")));
	printf("psi:         grow at %" PRIu64 ".%02" PRIu64 "%% held %s, calm at %" PRIu64
	       ".%02" PRIu64 "%%\n",
	       cli_ju64(p, "psi_grow") / 100, cli_ju64(p, "psi_grow") % 100,
	       fmt_ms(a, sizeof(a), cli_ju64(p, "psi_hold_ms")), cli_ju64(p, "psi_calm") / 100,
	       cli_ju64(p, "psi_calm") % 100);
	printf("timers:      grow cooldown %s, shrink cooldown %s, surplus hold %s, release hold "
	       "%s\n",
	       fmt_ms(a, sizeof(a), cli_ju64(p, "grow_cooldown_ms")),
	       fmt_ms(b, sizeof(b), cli_ju64(p, "shrink_cooldown_ms")),
	       fmt_ms(c, sizeof(c), cli_ju64(p, "surplus_hold_ms")),
	       fmt_ms(e, sizeof(e), cli_ju64(p, "release_hold_ms")));
	printf("step:        at most %" PRIu64 " blocks per grow or shrink\n",
	       cli_ju64(p, "max_step_blocks"));
	printf("memory:      %s held, target %s, hot-added %s\n",
	       cli_fmt_size(a, sizeof(a), cli_ju64(d, "tot_bytes")),
	       cli_fmt_size(b, sizeof(b), cli_ju64(d, "target_bytes")),
	       cli_fmt_size(c, sizeof(c), cli_ju64(d, "granted_bytes")));
	if (stats) {
		printf("guest:       MemTotal %s, MemAvailable %s, PSI %" PRIu64 ".%02" PRIu64 "%%",
		       cli_fmt_size(a, sizeof(a), cli_ju64(stats, "memtotal_bytes")),
		       cli_fmt_size(b, sizeof(b), cli_ju64(stats, "memavail_bytes")),
		       cli_ju64(stats, "psi_some_avg10") / 100,
		       cli_ju64(stats, "psi_some_avg10") % 100);
		if (cli_jget(stats, "swapped_bytes"))
			printf(", swapped %s",
			       cli_fmt_size(c, sizeof(c), cli_ju64(stats, "swapped_bytes")));
		printf(", stats %" PRIu64 " s old\n", cli_ju64(stats, "age_ms") / 1000);
	} else
		printf("guest:       no stats yet\n");
	/* short: at MemAvailable 0, how far the policy reckons the working set
	 * went past what it holds (what orders it in a shortage). */
	if (cli_jget(d, "why")) {
		printf("now:         %s%s; need %s, demand %s, share %s", cli_jstr(d, "why", "?"),
		       cli_jbool(d, "frozen") ? " (frozen)" : "",
		       cli_fmt_size(a, sizeof(a), cli_ju64(d, "need_bytes")),
		       cli_fmt_size(b, sizeof(b), cli_ju64(d, "demand_bytes")),
		       cli_fmt_size(c, sizeof(c), cli_ju64(d, "share_bytes")));
		if (cli_ju64(d, "short_bytes"))
			printf(", short about %s",
			       cli_fmt_size(e, sizeof(e), cli_ju64(d, "short_bytes")));
		printf("\n");
	}
	fmt_last(last, sizeof(last), d);
	printf("last:        %s\n", last);
}

int cmd_policy(const struct cli_command *cmd, int argc, char **argv)
{
	struct ctl_request req = { .cmd = CTL_CMD_POLICY };
	struct cli_args args = { 0 };
	bool help = false;
	int r = cli_parse_args(cmd, argc, argv, -1, false, &args, &help);

	if (r || help)
		return r;
	if (optind >= argc)
		return cli_fail(cmd, "expected %s (try -h)", cmd->usage);
	r = cli_domain_arg(cmd, argv[optind], &req);
	if (r)
		return r;
	for (int i = optind + 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t klen = eq ? (size_t)(eq - argv[i]) : 0;

		if (!eq || !klen || klen > CTL_POLICY_KEY_MAX || !eq[1] ||
		    strlen(eq + 1) > CTL_POLICY_VALUE_MAX)
			return cli_fail(
				cmd,
				"invalid setting '%s': expected KEY=VALUE as in hotmem.conf "
				"(e.g. min=1g, mode=auto)",
				argv[i]);
		if (req.nr_set == CTL_POLICY_SET_MAX)
			return cli_fail(cmd, "at most %d settings at once", CTL_POLICY_SET_MAX);
		memcpy(req.set_keys[req.nr_set], argv[i], klen);
		req.set_keys[req.nr_set][klen] = '\0';
		strcpy(req.set_values[req.nr_set], eq + 1);
		req.nr_set++;
	}
	return cli_cmd_run(cmd, &req, args.json, render_policy);
}

/* ---- top ------------------------------------------------------------------- */

static void render_top(yajl_val result)
{
	yajl_val host = cli_jget(result, "host"), domains = cli_jget(result, "domains");
	char a[32], b[32], last[160];

	printf("hotmem top: host free %s (reserve %s), policy %s, tick %" PRIu64 " ms\n",
	       cli_fmt_size(a, sizeof(a), cli_ju64(host, "free_bytes")),
	       cli_fmt_size(b, sizeof(b), cli_ju64(host, "reserve_bytes")),
	       cli_jstr(result, "config", "?"), cli_ju64(result, "tick_ms"));
	printf("%-16s %4s %-6s %7s %7s %7s %7s %7s %6s  %-26s %s\n", "NAME", "ID", "MODE", "MEM",
	       "TARGET", "HOTMEM", "TOTAL", "AVAIL", "PSI%", "STATE", "LAST DECISION");
	for (size_t i = 0; YAJL_IS_ARRAY(domains) && i < domains->u.array.len; i++) {
		yajl_val d = domains->u.array.values[i], stats = cli_jget(d, "stats");
		char total[32] = "-", avail[32] = "-", psi[48] = "-", hot[32] = "-";

		if (stats) {
			snprintf(total, sizeof(total), "%" PRIu64,
				 cli_ju64(stats, "memtotal_bytes") >> 20);
			snprintf(avail, sizeof(avail), "%" PRIu64,
				 cli_ju64(stats, "memavail_bytes") >> 20);
			snprintf(psi, sizeof(psi), "%" PRIu64 ".%02" PRIu64,
				 cli_ju64(stats, "psi_some_avg10") / 100,
				 cli_ju64(stats, "psi_some_avg10") % 100);
		}
		if (cli_jbool(d, "attached"))
			snprintf(hot, sizeof(hot), "%" PRIu64, cli_ju64(d, "granted_bytes") >> 20);
		fmt_last(last, sizeof(last), d);
		printf("%-16.16s %4" PRIu64 " %-6s %7" PRIu64 " %7" PRIu64
		       " %7s %7s %7s %6s  %-26.26s %s\n",
		       cli_jstr(d, "name", "?"), cli_ju64(d, "domid"), cli_jstr(d, "mode", "?"),
		       cli_ju64(d, "tot_bytes") >> 20, cli_ju64(d, "target_bytes") >> 20, hot,
		       total, avail, psi, cli_jstr(d, "why", "-"), last);
	}
	printf("(sizes in MiB; TOTAL/AVAIL: the guest's MemTotal/MemAvailable; PSI: memory some "
	       "avg10)\n");
}

static int parse_top_options(const struct cli_command *cmd, int argc, char **argv, double *delay,
			     long *iterations, bool *json, bool *help)
{
	static const struct option long_options[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		CLI_OPTIONS_END,
	};
	struct cli_opts o;
	char *end;
	int opt;

	cli_opts_start(&o, cmd, argc, argv, ":hd:n:", long_options);
	while ((opt = cli_opts_next(&o)) > 0) {
		switch (opt) {
		case 'd':
			*delay = strtod(optarg, &end);
			if (*end || !isfinite(*delay) || *delay < TOP_MIN_DELAY_S || *delay > 3600)
				return cli_fail(cmd, "invalid -d '%s': seconds, 0.1 to 3600",
						optarg);
			break;
		case 'n':
			*iterations = strtol(optarg, &end, 10);
			if (*end || *iterations < 1 || *iterations > 1000000)
				return cli_fail(cmd, "invalid -n '%s': a count of 1 or more",
						optarg);
			break;
		default:
			return cli_opts_bad(&o, opt);
		}
	}
	*help = o.help;
	*json = *json || o.json;
	if (opt < 0)
		return o.exit;
	if (optind != argc)
		return cli_fail(cmd, "unexpected argument '%s' (try -h)", argv[optind]);
	return 0;
}

int cmd_top(const struct cli_command *cmd, int argc, char **argv)
{
	struct ctl_request req = { .cmd = CTL_CMD_TOP };
	double delay = 1.0;
	long iterations = 0; /* 0: until interrupted */
	bool json = false, help = false, tty = isatty(STDOUT_FILENO);
	int r = parse_top_options(cmd, argc, argv, &delay, &iterations, &json, &help);

	if (r || help)
		return r;
	if (json) /* one snapshot for machines */
		return cli_cmd_run(cmd, &req, true, NULL);
	for (long i = 0; !iterations || i < iterations; i++) {
		struct timespec ts = { .tv_sec = (time_t)delay,
				       .tv_nsec = (long)((delay - (double)(time_t)delay) * 1e9) };

		if (i)
			nanosleep(&ts, NULL);
		/* A terminal is redrawn in place; a pipe gets one table per round. */
		if (tty)
			fputs("\033[H\033[2J", stdout);
		else if (i)
			putchar('\n');
		r = cli_cmd_run(cmd, &req, false, render_top);
		fflush(stdout);
		if (r)
			return r;
	}
	return 0;
}

/* ---- sim-guest ------------------------------------------------------------- */

static void render_sim_guest(yajl_val d)
{
	yajl_val load = cli_jget(d, "load"), st = cli_jget(d, "last_stats");
	char a[32], b[32];

	printf("d%" PRIu64 " (%s): working set %s, psi %" PRIu64 ".%02" PRIu64 "%% some, %" PRIu64
	       ".%02" PRIu64 "%% full, stats %s\n",
	       cli_ju64(d, "domid"), cli_jstr(d, "name", "?"),
	       cli_fmt_size(a, sizeof(a), cli_ju64(load, "working_set_bytes")),
	       cli_ju64(load, "psi_some_avg10") / 100, cli_ju64(load, "psi_some_avg10") % 100,
	       cli_ju64(load, "psi_full_avg10") / 100, cli_ju64(load, "psi_full_avg10") % 100,
	       cli_jbool(load, "stats_off") ? "off (going stale)" : "on");
	if (st)
		printf("last published (#%" PRIu64 "): MemTotal %s, MemAvailable %s\n",
		       cli_ju64(st, "counter"),
		       cli_fmt_size(a, sizeof(a), cli_ju64(st, "memtotal_bytes")),
		       cli_fmt_size(b, sizeof(b), cli_ju64(st, "memavail_bytes")));
}

int cmd_sim_guest(const struct cli_command *cmd, int argc, char **argv)
{
	struct ctl_request req = { .cmd = CTL_CMD_SIM_GUEST };
	struct sim_ctl_load change = { 0 };
	struct cli_args args = { 0 };
	bool help = false;
	int r = cli_parse_args(cmd, argc, argv, -1, false, &args, &help);

	if (r || help)
		return r;
	if (strcmp(cli_global.hv, "sim"))
		return cli_fail(cmd, "only with --hv sim");
	if (optind >= argc)
		return cli_fail(cmd, "expected %s (try -h)", cmd->usage);
	r = cli_domain_arg(cmd, argv[optind], &req);
	for (int i = optind + 1; !r && i < argc; i++) {
		const char *arg = argv[i];

		if (!strncmp(arg, "ws=", 3)) {
			if (hotmem_parse_size(arg + 3, &change.load.working_set_bytes) < 0)
				return cli_fail(cmd, "invalid '%s': ws=SIZE (e.g. ws=512m)", arg);
			change.mask |= SIM_CTL_WORKING_SET;
		} else if (!strncmp(arg, "psi=", 4)) {
			if (parse_pct_hundredths(arg + 4, &change.load.psi_some_avg10) < 0)
				return cli_fail(cmd, "invalid '%s': psi=PERCENT (e.g. psi=12.5)",
						arg);
			change.mask |= SIM_CTL_PSI_SOME;
		} else if (!strncmp(arg, "psi-full=", 9)) {
			if (parse_pct_hundredths(arg + 9, &change.load.psi_full_avg10) < 0)
				return cli_fail(cmd, "invalid '%s': psi-full=PERCENT", arg);
			change.mask |= SIM_CTL_PSI_FULL;
		} else if (!strncmp(arg, "mem-set=", 8)) {
			if (hotmem_parse_size(arg + 8, &change.mem_set_bytes) < 0 ||
			    !change.mem_set_bytes)
				return cli_fail(cmd, "invalid '%s': mem-set=SIZE (e.g. 512m)", arg);
			change.mask |= SIM_CTL_MEM_SET;
		} else if (!strcmp(arg, "stats=on") || !strcmp(arg, "stats=off")) {
			change.load.stats_off = !strcmp(arg, "stats=off");
			change.mask |= SIM_CTL_STATS_OFF;
		} else {
			return cli_fail(cmd,
					"invalid '%s': expected ws=SIZE, psi=PCT, psi-full=PCT, "
					"stats=on|off or mem-set=SIZE",
					arg);
		}
	}
	if (!r && sim_ctl_guest_args(&change, req.args, sizeof(req.args)) < 0)
		return cli_fail(cmd, "out of memory");
	return r ? r : cli_cmd_run(cmd, &req, args.json, render_sim_guest);
}
