/*
 * The policy simulator: a deterministic, trace-driven model of an arm64 Xen
 * host with many guests whose working sets follow small trace files, used to
 * compare the autoscaling policy (hotmem/policy.h) with the policies an
 * operator could run instead, on the same workload and the same host:
 * hotmem's policy without hot-add (balloon-only), squeezed-like proportional
 * ballooning, static allocation, and an oracle that knows each guest's
 * next-minute demand and when it will stop answering, and moves memory
 * instantly (the bound nobody beats: test_policy_sim checks it).
 * One-second steps; a seeded xorshift generator picks each guest's trace,
 * offset, scale, life and shrink refusals, so every run with the same
 * settings gives the same figures (except the wall-clock decision time).
 * Shared by the ctest (label sim) and bench/policy_bench.c; docs/policy.md
 * describes the model and where each of its numbers comes from.
 */
#ifndef HOTMEM_PSIM_H
#define HOTMEM_PSIM_H

#include <stdbool.h>
#include <stdint.h>

enum psim_policy {
	PSIM_HOTMEM = 0,   /* hotmem_policy_tick; guests boot at min, grow by hot-add */
	PSIM_BALLOON_ONLY, /* hotmem_policy_tick; guests boot at max, balloon only */
	PSIM_SQUEEZED,	   /* boot at max; targets min + f * (max - min), one f for all */
	PSIM_STATIC,	   /* every guest fixed at its nominal size */
	PSIM_ORACLE,	   /* next-minute demand and silences known, instant moves */
	PSIM_ORACLE_MIN,   /* the same, never below a guest's min (as every policy) */
	PSIM_NR_POLICIES,
};

enum psim_scenario {
	PSIM_MIXED = 0,	 /* the traces in tests/sim/traces, random offsets */
	PSIM_CORRELATED, /* the same traces, every offset 0: peaks together */
	PSIM_DIURNAL,	 /* tests/sim/traces/diurnal/: one compressed day, +-10 min */
	PSIM_CHURN,	 /* mixed, with guests booting and shutting down during the run */
	PSIM_NR_SCENARIOS,
};

struct psim_config {
	enum psim_scenario scenario;
	uint32_t guests;
	uint32_t seconds;
	uint32_t warmup_s; /* not counted in the figures (every policy settles) */
	uint64_t seed;
	const char *trace_dir;	     /* holds the *.trace files (and diurnal/) */
	uint32_t unresponsive_every; /* every n-th guest stops answering for a while; 0 = none */
	bool check;		     /* verify the invariants every step (the ctest) */
	uint32_t host_pct; /* host = this % of the guests' nominal sizes + reserve; 0 = 100 */
	uint32_t min_mib;  /* every guest's min (the floor every policy keeps), MiB;
			    * 0 = its class's (half its nominal size); boot sizes stay */
	const struct psim_timing *timing; /* NULL = the lab's (PSIM_LAB_TIMING) */
	/* Guests publish no swap figure (an older driver, no stats-swap, no
	 * swap): the policy estimates a shortfall at MemAvailable 0 instead. */
	bool no_swap;
};

/*
 * How long hot-add's operations take and how often a shrink is refused
 * `busy`. The defaults are the lab's (psim.c says where each comes from);
 * the bench varies them to show how much its figures hang on them.
 */
struct psim_timing {
	uint32_t grow_ms_per_block;
	uint32_t shrink_ms_per_block;
	uint32_t shrink_busy_pct; /* 0 .. 100 */
};

extern const struct psim_timing PSIM_LAB_TIMING;

struct psim_result {
	enum psim_policy policy;
	uint64_t host_bytes;
	/* figures over the counted seconds (warmup_s .. seconds) */
	double oom_proxy_s; /* guest-seconds with the working set not fitting (or not booted) */
	double oom_unresponsive_s; /* of which while the guest did not answer */
	double unmet_gib_s;	   /* the working set that did not fit, GiB x s */
	double under_wm_s;	   /* guest-seconds with MemAvailable under the default low wm */
	double under_wm_unresp_s;  /* of which while the guest did not answer */
	double p99_pressure;	   /* 99th percentile of PSI some avg10 over guest-seconds, % */
	double granted_pct;	   /* mean of frames held by guests / host */
	double used_pct;	   /* mean of working sets resident / host */
	uint32_t boot_fail;	   /* guests whose boot memory did not fit when created */
	double peak_need_pct; /* largest sum of working sets / (host - reserve): > 100 scarce */
	uint64_t ops;	      /* grows, shrinks and target changes issued (oracle: moves) */
	uint64_t grows, shrinks, targets, freezes;
	uint64_t shrink_busy, shrink_nomem, grow_nomem; /* refused operations */
	double tick_us_mean, tick_us_p99;		/* wall time of one policy decision */
	/* invariant violations (counted only with check) */
	uint64_t reserve_violations;
	uint64_t conservation_violations; /* free + held != host */
	uint64_t min_max_violations;
	uint64_t frozen_grows;
	uint64_t flip_violations;
	uint64_t fairness_violations;
	uint64_t fairness_checks;
	/* the reaction check: guest-seconds under pressure while a grow that the
	 * free memory above the reserve could pay for was not started within one
	 * tick plus its grow time */
	uint64_t slow_reactions;
	uint64_t rate_limited; /* the same, held back by max_ops_per_tick (not failed) */
};

/* Run one policy. Returns 0 or a negative errno (bad trace dir or file, ENOMEM). */
int psim_run(const struct psim_config *config, enum psim_policy policy,
	     struct psim_result *ret_result);

const char *psim_policy_name(enum psim_policy policy);
const char *psim_scenario_name(enum psim_scenario scenario);

#endif /* HOTMEM_PSIM_H */
