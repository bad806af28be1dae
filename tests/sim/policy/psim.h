/*
 * The policy simulator: a deterministic, trace-driven model of a host with
 * many guests whose working sets follow small trace files, used to compare
 * the autoscaling policy (hotmem/policy.h) with two baselines, static
 * allocation and a squeezed-like proportional balloon policy, on the same
 * workload. One second steps; a seeded xorshift generator picks each guest's
 * trace, offset and scale, so every run with the same settings gives the same
 * figures (except the wall-clock decision time). Shared by the ctest (label
 * sim) and bench/policy_bench.c; docs/policy.md describes the model.
 */
#ifndef HOTMEM_PSIM_H
#define HOTMEM_PSIM_H

#include <stdbool.h>
#include <stdint.h>

enum psim_policy {
	PSIM_HOTMEM = 0, /* hotmem_policy_tick */
	PSIM_STATIC,	 /* every guest fixed at its nominal size */
	PSIM_SQUEEZED,	 /* balloon targets min + f * (max - min), f equal for all */
	PSIM_NR_POLICIES,
};

struct psim_config {
	uint32_t guests;
	uint32_t seconds;
	uint64_t seed;
	const char *trace_dir;	     /* holds the *.trace files */
	uint32_t unresponsive_every; /* every n-th guest stops answering for a while; 0 = none */
	bool check;		     /* verify the invariants every step (the ctest) */
	uint32_t host_pct; /* host = this % of the guests' nominal sizes + reserve; 0 = 100 */
};

struct psim_result {
	enum psim_policy policy;
	double util_granted;  /* mean of sum(held) / host */
	double util_used;     /* mean of sum(min(working set, usable)) / host */
	double guest_s_under; /* guest-seconds with MemAvailable under the low watermark */
	uint64_t ops;	      /* grows, shrinks and target changes issued */
	uint64_t grows, shrinks, targets, freezes;
	double tick_us_mean, tick_us_p99; /* wall time of one policy decision */
	uint64_t host_bytes;
	/* invariant violations (counted only with check) */
	uint64_t reserve_violations;
	uint64_t min_max_violations;
	uint64_t frozen_grows;
	uint64_t flip_violations;
	uint64_t fairness_violations;
	uint64_t fairness_checks;
};

/* Run one policy. Returns 0 or a negative errno (bad trace dir or file, ENOMEM). */
int psim_run(const struct psim_config *config, enum psim_policy policy,
	     struct psim_result *ret_result);

const char *psim_policy_name(enum psim_policy policy);

#endif /* HOTMEM_PSIM_H */
