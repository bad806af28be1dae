/*
 * The policy benchmark: the same guests on the same simulated arm64 Xen host
 * (tests/sim/policy/psim.h) run through hotmem's policy, the same policy
 * without hot-add (balloon-only), squeezed-like ballooning, static
 * allocation and an oracle (also held to each guest's min: oracle-min), one
 * table per scenario (a mixed trace, correlated peaks, a diurnal day, guests
 * booting and shutting down; with --all also the mixed trace on hosts of 80 %
 * and 70 %, the scarce ones again with every guest's min at 256 MiB, and a
 * summary of hotmem against the bounds on each), and a host-size sweep: the
 * smallest host on which each policy keeps the working sets fitting as well
 * as static does on the full host. Prints
 * figures, never fails on them; every figure but the decision time
 * (--timing) is the same for the same arguments. docs/policy.md holds what
 * --all prints, and the ctest doc.policy-tables keeps it so (policy_doc.py).
 *
 * Usage: policy_bench [--all] [--scenario NAME] [--sweep] [--guests N]
 *	  [--seconds S] [--warmup S] [--seed N] [--host-pct P] [--min MiB]
 *	  [--grow-ms MS] [--shrink-ms MS] [--busy-pct P] [--no-swap] [--timing]
 * (--grow-ms, --shrink-ms: per 128 MiB block; --busy-pct: shrinks refused
 * busy; the lab's figures unless given. --no-swap: the guests publish no
 * swap figure, as an older driver or a guest without swap.)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psim.h"

/* Peak demand above this share of the host above the reserve is scarce: what
 * is left (struct pages, 1.6 %; the headroom page caches live in) does not
 * cover every guest's comfort (test_policy_sim's SCARCE_PEAK_PCT). */
#define SCARCE_PCT 85

/* The sweep looks at hosts of 30 %, 32 % ... 100 % of the nominal sizes. */
#define SWEEP_LOW_PCT  30
#define SWEEP_HIGH_PCT 100
#define SWEEP_STEP_PCT 2

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--all] [--scenario mixed|correlated|diurnal|churn] [--sweep]\n"
		"       [--guests N] [--seconds S] [--warmup S] [--seed N] [--host-pct P] "
		"[--min MiB]\n"
		"       [--grow-ms MS] [--shrink-ms MS] [--busy-pct P] [--no-swap] [--timing]\n",
		argv0);
}

static int run(const struct psim_config *cfg, enum psim_policy p, struct psim_result *res)
{
	int r = psim_run(cfg, p, res);

	if (r < 0)
		fprintf(stderr, "policy_bench: %s %s: error %d\n",
			psim_scenario_name(cfg->scenario), psim_policy_name(p), r);
	return r;
}

/* NUM / DEN as a ratio, "-" where DEN is 0 (no ratio to a bound of 0). */
static void ratio_text(char *buf, size_t len, double num, double den)
{
	if (den > 0)
		snprintf(buf, len, "%.2fx", num / den);
	else
		snprintf(buf, len, "-");
}

/* hotmem's oom_proxy_s next to a bound's: the ratio ("-" where the bound
 * is 0), and the guest-seconds between them as a share of all the
 * guest-seconds counted (where the bound is near 0 the ratio alone says
 * little); then the same for the guests that were answering (the part no
 * policy but one that knows when a guest will stop answering can avoid is
 * the rest). */
static void print_ratio(const struct psim_config *cfg, const struct psim_result *h,
			const struct psim_result *bound)
{
	double counted = (double)cfg->guests * (cfg->seconds - cfg->warmup_s);
	double gap = h->oom_proxy_s - bound->oom_proxy_s;
	double h_ans = h->oom_proxy_s - h->oom_unresponsive_s;
	double b_ans = bound->oom_proxy_s - bound->oom_unresponsive_s;
	char ratio[32], ratio_ans[32];

	ratio_text(ratio, sizeof(ratio), h->oom_proxy_s, bound->oom_proxy_s);
	ratio_text(ratio_ans, sizeof(ratio_ans), h_ans, b_ans);
	printf("\nhotmem/%s: %s (%.0f vs %.0f guest-seconds: %+.0f, %+.3f %% of the %.0f "
	       "counted); answering guests: %s (%.0f vs %.0f: %+.0f, %+.3f %%)\n",
	       psim_policy_name(bound->policy), ratio, h->oom_proxy_s, bound->oom_proxy_s, gap,
	       100 * gap / counted, counted, ratio_ans, h_ans, b_ans, h_ans - b_ans,
	       100 * (h_ans - b_ans) / counted);
}

/* A table's figures for the summary --all ends with. */
struct summary_row {
	char name[48];
	double peak_pct;
	double counted; /* guest-seconds counted */
	struct psim_result hotmem, balloon_only, oracle, oracle_min;
};

static void summary_name(const struct psim_config *cfg, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s", psim_scenario_name(cfg->scenario));

	if (cfg->host_pct && cfg->host_pct != 100 && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "@%u", cfg->host_pct);
	if (cfg->min_mib && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ", min %u", cfg->min_mib);
}

static int print_table(const struct psim_config *cfg, bool timing, struct summary_row *ret_row)
{
	struct psim_result res, all[PSIM_NR_POLICIES];

	printf("### %s: %u guests, %u s (first %u s not counted), seed %llu, host %u %%",
	       psim_scenario_name(cfg->scenario), cfg->guests, cfg->seconds, cfg->warmup_s,
	       (unsigned long long)cfg->seed, cfg->host_pct ? cfg->host_pct : 100);
	if (cfg->min_mib)
		printf(", every min %u MiB", cfg->min_mib);
	if (cfg->timing)
		printf(", grow %u ms and shrink %u ms a block, %u %% of shrinks busy",
		       cfg->timing->grow_ms_per_block, cfg->timing->shrink_ms_per_block,
		       cfg->timing->shrink_busy_pct);
	if (cfg->no_swap)
		printf(", no swap figure published");
	printf("\n\n");
	printf("| policy | oom_proxy_s | (unresponsive) | unmet_gib_s | p99_pressure | under_wm_s "
	       "| granted_pct | "
	       "used_pct | boot_fail | ops | grows/shrinks/targets | refused busy/nomem |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (int p = 0; p < PSIM_NR_POLICIES; p++) {
		if (run(cfg, (enum psim_policy)p, &res) < 0)
			return -1;
		all[p] = res;
		printf("| %s | %.0f | %.0f | %.1f | %.2f | %.0f | %.1f | %.1f | %u | %llu | ",
		       psim_policy_name((enum psim_policy)p), res.oom_proxy_s,
		       res.oom_unresponsive_s, res.unmet_gib_s, res.p99_pressure, res.under_wm_s,
		       res.granted_pct, res.used_pct, res.boot_fail, (unsigned long long)res.ops);
		if (p == PSIM_HOTMEM || p == PSIM_BALLOON_ONLY)
			printf("%llu/%llu/%llu | %llu/%llu |\n", (unsigned long long)res.grows,
			       (unsigned long long)res.shrinks, (unsigned long long)res.targets,
			       (unsigned long long)res.shrink_busy,
			       (unsigned long long)res.shrink_nomem);
		else
			printf("- | - |\n");
		if (p == PSIM_NR_POLICIES - 1)
			printf("\npeak demand: %.1f %% of the host above the reserve (%s)\n",
			       res.peak_need_pct,
			       res.peak_need_pct > 100		? "does not fit"
			       : res.peak_need_pct > SCARCE_PCT ? "scarce"
								: "fits");
		if (timing && (p == PSIM_HOTMEM || p == PSIM_BALLOON_ONLY))
			fprintf(stderr, "%s %s: decision %.0f us/tick mean, %.0f p99\n",
				psim_scenario_name(cfg->scenario),
				psim_policy_name((enum psim_policy)p), res.tick_us_mean,
				res.tick_us_p99);
	}
	print_ratio(cfg, &all[PSIM_HOTMEM], &all[PSIM_ORACLE]);
	print_ratio(cfg, &all[PSIM_HOTMEM], &all[PSIM_ORACLE_MIN]);
	printf("\n");
	if (ret_row) {
		summary_name(cfg, ret_row->name, sizeof(ret_row->name));
		ret_row->peak_pct = all[PSIM_NR_POLICIES - 1].peak_need_pct;
		ret_row->counted = (double)cfg->guests * (cfg->seconds - cfg->warmup_s);
		ret_row->hotmem = all[PSIM_HOTMEM];
		ret_row->balloon_only = all[PSIM_BALLOON_ONLY];
		ret_row->oracle = all[PSIM_ORACLE];
		ret_row->oracle_min = all[PSIM_ORACLE_MIN];
	}
	return 0;
}

/*
 * The density claim, measured: the smallest host (in % of the guests'
 * nominal sizes, plus the reserve) at which a policy's oom_proxy_s is no
 * worse than static's on the full host, in steps of SWEEP_STEP_PCT.
 * Bisection, so it assumes fewer OOM seconds on a larger host; the figures
 * printed are those of the run at the answer.
 */
/*
 * One line per table: hotmem against balloon-only and both bounds, the
 * ratios the goal is about, and the answering guests' excess over
 * the oracle (the part a policy that cannot know when a guest goes quiet
 * can be held to), so the headline figures are printed, not copied.
 */
static void print_summary(const struct summary_row *rows, size_t nr_rows)
{
	printf("### summary: hotmem on every table above\n\n");
	printf("| table | peak demand | hotmem | balloon-only | oracle | oracle-min | "
	       "hotmem/oracle | hotmem/oracle-min | answering guests: hotmem, oracle, "
	       "excess |\n");
	printf("|---|---|---|---|---|---|---|---|---|\n");
	for (size_t k = 0; k < nr_rows; k++) {
		const struct summary_row *r = &rows[k];
		double h_ans = r->hotmem.oom_proxy_s - r->hotmem.oom_unresponsive_s;
		double o_ans = r->oracle.oom_proxy_s - r->oracle.oom_unresponsive_s;
		char to_oracle[16], to_oracle_min[16];

		ratio_text(to_oracle, sizeof(to_oracle), r->hotmem.oom_proxy_s,
			   r->oracle.oom_proxy_s);
		ratio_text(to_oracle_min, sizeof(to_oracle_min), r->hotmem.oom_proxy_s,
			   r->oracle_min.oom_proxy_s);
		printf("| %s | %.1f %% | %.0f | %.0f | %.0f | %.0f | %s | %s | %.0f, %.0f, %+.3f "
		       "%% |\n",
		       r->name, r->peak_pct, r->hotmem.oom_proxy_s, r->balloon_only.oom_proxy_s,
		       r->oracle.oom_proxy_s, r->oracle_min.oom_proxy_s, to_oracle, to_oracle_min,
		       h_ans, o_ans, 100 * (h_ans - o_ans) / r->counted);
	}
	printf("\n");
}

static int print_sweep(const struct psim_config *base)
{
	struct psim_config cfg = *base;
	struct psim_result res;
	double goal;

	cfg.host_pct = 100;
	if (run(&cfg, PSIM_STATIC, &res) < 0)
		return -1;
	goal = res.oom_proxy_s;
	printf("### host-size sweep (%s): smallest host at which oom_proxy_s <= static's on "
	       "the full host (%.0f)\n\n",
	       psim_scenario_name(cfg.scenario), goal);
	printf("| policy | smallest host_pct | oom_proxy_s there | granted_pct | used_pct | "
	       "boot_fail |\n");
	printf("|---|---|---|---|---|---|\n");
	for (int p = 0; p < PSIM_NR_POLICIES; p++) {
		/* Bisection over the steps: step lo is assumed to fail (one below
		 * the lowest), step hi to pass (one above the highest). */
		int lo = -1, hi = (SWEEP_HIGH_PCT - SWEEP_LOW_PCT) / SWEEP_STEP_PCT + 1;
		int top = hi;
		struct psim_result at_hi = { 0 };

		while (hi > lo + 1) {
			int mid = (lo + hi) / 2;

			cfg.host_pct = SWEEP_LOW_PCT + (uint32_t)mid * SWEEP_STEP_PCT;
			if (run(&cfg, (enum psim_policy)p, &res) < 0)
				return -1;
			if (res.oom_proxy_s <= goal) {
				hi = mid;
				at_hi = res;
			} else {
				lo = mid;
			}
		}
		if (hi == top)
			printf("| %s | > %u | - | - | - | - |\n",
			       psim_policy_name((enum psim_policy)p), SWEEP_HIGH_PCT);
		else
			printf("| %s | %u | %.0f | %.1f | %.1f | %u |\n",
			       psim_policy_name((enum psim_policy)p),
			       SWEEP_LOW_PCT + (uint32_t)hi * SWEEP_STEP_PCT, at_hi.oom_proxy_s,
			       at_hi.granted_pct, at_hi.used_pct, at_hi.boot_fail);
	}
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "scenario", required_argument, NULL, 'S' },
		{ "sweep", no_argument, NULL, 'w' },
		{ "guests", required_argument, NULL, 'g' },
		{ "seconds", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "seed", required_argument, NULL, 's' },
		{ "host-pct", required_argument, NULL, 'p' },
		{ "min", required_argument, NULL, 'm' },
		{ "timing", no_argument, NULL, 'T' },
		{ "grow-ms", required_argument, NULL, 'G' },
		{ "shrink-ms", required_argument, NULL, 'K' },
		{ "busy-pct", required_argument, NULL, 'B' },
		{ "no-swap", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct psim_config cfg = {
		.scenario = PSIM_MIXED,
		.guests = 1000,
		.seconds = 7200,
		.warmup_s = 300,
		.seed = 42,
		.trace_dir = HOTMEM_TRACE_DIR,
		.unresponsive_every = 50,
		.host_pct = 100,
	};
	struct psim_timing lab_timing = PSIM_LAB_TIMING;
	bool all = false, sweep = false, timing = false;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'S': {
			int found = -1;

			for (int k = 0; k < PSIM_NR_SCENARIOS; k++)
				if (!strcmp(optarg, psim_scenario_name((enum psim_scenario)k)))
					found = k;
			if (found < 0) {
				usage(argv[0]);
				return 2;
			}
			cfg.scenario = (enum psim_scenario)found;
			break;
		}
		case 'w':
			sweep = true;
			break;
		case 'g':
			cfg.guests = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 't':
			cfg.seconds = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'W':
			cfg.warmup_s = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 's':
			cfg.seed = strtoull(optarg, NULL, 10);
			break;
		case 'p':
			cfg.host_pct = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			cfg.min_mib = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'T':
			timing = true;
			break;
		case 'G':
			lab_timing.grow_ms_per_block = (uint32_t)strtoul(optarg, NULL, 10);
			cfg.timing = &lab_timing;
			break;
		case 'K':
			lab_timing.shrink_ms_per_block = (uint32_t)strtoul(optarg, NULL, 10);
			cfg.timing = &lab_timing;
			break;
		case 'B':
			lab_timing.shrink_busy_pct = (uint32_t)strtoul(optarg, NULL, 10);
			cfg.timing = &lab_timing;
			break;
		case 'N':
			cfg.no_swap = true;
			break;
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (optind != argc || !cfg.guests || cfg.warmup_s >= cfg.seconds ||
	    lab_timing.shrink_busy_pct > 100) {
		usage(argv[0]);
		return 2;
	}
	if (!all) {
		if (sweep)
			return print_sweep(&cfg) < 0;
		return print_table(&cfg, timing, NULL) < 0;
	}
	struct summary_row rows[PSIM_NR_SCENARIOS + 6];
	size_t nr_rows = 0;

	for (int k = 0; k < PSIM_NR_SCENARIOS; k++) {
		cfg.scenario = (enum psim_scenario)k;
		if (print_table(&cfg, timing, &rows[nr_rows++]) < 0)
			return 1;
	}
	/* The mixed trace where memory is scarce: on hosts of 80 % and 70 %. */
	cfg.scenario = PSIM_MIXED;
	for (uint32_t pct = 80; pct >= 70; pct -= 10) {
		cfg.host_pct = pct;
		if (print_table(&cfg, timing, &rows[nr_rows++]) < 0)
			return 1;
	}
	/*
	 * Where memory is scarce, the same with every guest's min at 256 MiB
	 * (boot sizes unchanged): the oracle takes guests below their min, so
	 * with mins of half the nominal size part of its lead is memory no
	 * other row may take; with low mins the oracle and oracle-min agree.
	 */
	cfg.min_mib = 256;
	static const struct {
		enum psim_scenario scenario;
		uint32_t host_pct;
	} low_min[] = { { PSIM_CORRELATED, 100 },
			{ PSIM_DIURNAL, 100 },
			{ PSIM_MIXED, 80 },
			{ PSIM_MIXED, 70 } };
	for (size_t k = 0; k < sizeof(low_min) / sizeof(low_min[0]); k++) {
		cfg.scenario = low_min[k].scenario;
		cfg.host_pct = low_min[k].host_pct;
		if (print_table(&cfg, timing, &rows[nr_rows++]) < 0)
			return 1;
	}
	print_summary(rows, nr_rows);
	cfg.min_mib = 0;
	cfg.scenario = PSIM_MIXED;
	cfg.host_pct = 100;
	return print_sweep(&cfg) < 0;
}
