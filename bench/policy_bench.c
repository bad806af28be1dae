/*
 * The policy at scale: 1,000 guests driven by the traces in tests/sim/traces
 * for two simulated hours on an overcommitted host, run through the hotmem
 * policy and both baselines (static allocation, squeezed-like proportional
 * ballooning), printed side by side. Prints figures, never fails on them.
 * Usage: policy_bench [guests [seconds [seed [host-percent]]]].
 */
#include <stdio.h>
#include <stdlib.h>

#include "psim.h"

int main(int argc, char **argv)
{
	struct psim_config cfg = {
		.guests = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000,
		.seconds = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 7200,
		.seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 42,
		.trace_dir = HOTMEM_TRACE_DIR,
		.unresponsive_every = 50,
		.host_pct = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : 100,
	};
	struct psim_result res;

	if (!cfg.guests || !cfg.seconds) {
		fprintf(stderr, "usage: %s [guests [seconds [seed [host-percent]]]]\n", argv[0]);
		return 2;
	}
	printf("%u guests, %u s, seed %llu\n\n", cfg.guests, cfg.seconds,
	       (unsigned long long)cfg.seed);
	printf("| policy | host granted | host used by working sets | guest-s under low wm | "
	       "ops (grow/shrink/target) | decision us/tick mean | p99 |\n");
	printf("|---|---|---|---|---|---|---|\n");
	for (int p = 0; p < PSIM_NR_POLICIES; p++) {
		int r = psim_run(&cfg, (enum psim_policy)p, &res);

		if (r < 0) {
			fprintf(stderr, "policy_bench: %s: error %d\n",
				psim_policy_name((enum psim_policy)p), r);
			return 1;
		}
		printf("| %s | %.1f %% | %.1f %% | %.0f | %llu (%llu/%llu/%llu) | ",
		       psim_policy_name((enum psim_policy)p), 100 * res.util_granted,
		       100 * res.util_used, res.guest_s_under, (unsigned long long)res.ops,
		       (unsigned long long)res.grows, (unsigned long long)res.shrinks,
		       (unsigned long long)res.targets);
		if (p == PSIM_HOTMEM)
			printf("%.0f | %.0f |\n", res.tick_us_mean, res.tick_us_p99);
		else
			printf("- | - |\n");
	}
	return 0;
}
