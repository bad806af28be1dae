/*
 * The simulated host as a ctl backend (struct ctl_backend_ops, ctl.h): how
 * ctl builds it (open: a sim_host from a struct sim_host_config) and the
 * commands only it answers: sim-destroy, sim-check, sim-guest (a simulated
 * guest's load, carried in ctl_request.args) and sim-echo (a reply of any
 * size, for transport tests). xl-hotmem writes a sim-guest request's args
 * with sim_ctl_guest_args(); this file is the only reader of them.
 */
#ifndef HOTMEM_SIM_CTL_H
#define HOTMEM_SIM_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "ctl.h"
#include "sim_guest.h"

/* open() takes a const struct sim_host_config * (sim_host.h). */
extern const struct ctl_backend_ops sim_ctl_ops;

/* Which fields a sim-guest request sets (the others stay as they were). */
#define SIM_CTL_WORKING_SET (1u << 0)
#define SIM_CTL_PSI_SOME    (1u << 1)
#define SIM_CTL_PSI_FULL    (1u << 2)
#define SIM_CTL_STATS_OFF   (1u << 3)
#define SIM_CTL_MEM_SET	    (1u << 4) /* write memory/target, as xl mem-set does */

/* A sim-guest request's fields: those named in mask. */
struct sim_ctl_load {
	uint32_t mask;
	struct sim_guest_load load;
	uint64_t mem_set_bytes; /* SIM_CTL_MEM_SET */
};

/* The fields of change as ctl_request.args (size CTL_ARGS_MAX + 1). -ENOMEM, -ENOSPC. */
int sim_ctl_guest_args(const struct sim_ctl_load *change, char *args, size_t size);

#endif /* HOTMEM_SIM_CTL_H */
