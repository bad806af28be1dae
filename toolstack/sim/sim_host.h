/*
 * A simulated Xen host for `hotmemd --hv sim` (and an in-process
 * `xl-hotmem --hv sim`): one hv/sim world, domains created the way xl create
 * leaves them, and a simulated guest (hv/sim/sim_guest.h) per domain that a
 * background thread steps whenever its watches fire. The toolstack gets a
 * dom0 connection and drives the engine exactly as on Xen; the guests answer
 * from their own thread, like real guests answer from their own vCPUs.
 * Conventions: 0 or a negative errno, ret_* untouched on failure.
 */
#ifndef HOTMEM_SIM_HOST_H
#define HOTMEM_SIM_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hotmem/hv.h"
#include "sim_guest.h"

#define SIM_HOST_MAX_DOMAINS 64
#define SIM_HOST_NAME_MAX    64

struct sim_host_domain_spec {
	char name[SIM_HOST_NAME_MAX + 1];
	uint64_t boot_bytes; /* whole 4 KiB pages */
	bool no_driver;	     /* no simulated guest: xen_hotmem.ko never loaded */
};

struct sim_host_config {
	uint64_t host_bytes; /* host RAM Xen manages (default 24 GiB) */
	unsigned int nr_domains;
	struct sim_host_domain_spec domains[SIM_HOST_MAX_DOMAINS];
};

struct sim_host;

/* Defaults: 24 GiB host, no domain yet (the caller adds some). */
void sim_host_config_defaults(struct sim_host_config *cfg);

/*
 * Add a domain to the config. -EINVAL empty or too long a name, boot size not
 * a positive whole number of pages; -EEXIST name taken; -ENOSPC too many.
 */
int sim_host_config_add(struct sim_host_config *cfg, const char *name, uint64_t boot_bytes);

/* Build the world and start the guests' thread. -EINVAL/-ENOMEM/-EEXIST from the sim. */
int sim_host_new(const struct sim_host_config *cfg, struct sim_host **ret_host);

/* Stop the guests' thread, free the guests and the world (NULL is a no-op). */
void sim_host_free(struct sim_host *host);

/* A privileged dom0 connection for the engine; close it with hv_close(). */
int sim_host_open_dom0(struct sim_host *host, struct hv **ret_hv);

/* xl destroy: the guest stops, the domain goes, @releaseDomain fires. -ESRCH unknown. */
int sim_host_destroy_domain(struct sim_host *host, uint32_t domid);

/*
 * Set what a simulated guest's stats show from now on (working set, PSI,
 * stats stopped), as a test drives a policy. -ESRCH no such guest.
 */
int sim_host_set_load(struct sim_host *host, uint32_t domid, const struct sim_guest_load *load);
/* A guest's load and its own counters (either may be NULL). -ESRCH no such guest. */
int sim_host_get_guest(struct sim_host *host, uint32_t domid, struct sim_guest_load *ret_load,
		       struct sim_guest_stats *ret_stats);

/*
 * The sim's invariant checker (hv_sim_check()) plus every guest's own view:
 * 0, or -EUCLEAN with a one-line reason in why.
 */
int sim_host_check(struct sim_host *host, char *why, size_t why_size);

#endif /* HOTMEM_SIM_HOST_H */
