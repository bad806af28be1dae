/*
 * One simulated host and one engine on its dom0 connection, made on the
 * first input and kept for the whole fuzzing run (what a target reaches in
 * the engine only reads and writes xenstore, which each input resets).
 */
#ifndef HOTMEM_FUZZ_ENGINE_H
#define HOTMEM_FUZZ_ENGINE_H

#include <stdio.h>
#include <stdlib.h>

#include "engine.h"
#include "hotmem/hv_sim.h"

struct fuzz_engine {
	struct hv_sim *sim;
	struct hv *dom0;
	struct hotmem *hm;
};

static struct fuzz_engine *fuzz_engine(void)
{
	static struct fuzz_engine fe;
	struct hv_sim_config sim_cfg;
	struct hotmem_config cfg;

	if (fe.hm)
		return &fe;
	hv_sim_config_defaults(&sim_cfg);
	sim_cfg.quiet = true;
	hotmem_config_defaults(&cfg);
	if (hv_sim_new(&sim_cfg, &fe.sim) || hv_sim_open(fe.sim, 0, &fe.dom0) ||
	    hotmem_open(fe.dom0, &cfg, &fe.hm)) {
		fprintf(stderr, "fuzz: cannot make a simulated host and engine\n");
		abort();
	}
	return &fe;
}

#endif /* HOTMEM_FUZZ_ENGINE_H */
