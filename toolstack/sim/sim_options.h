/*
 * Options that describe a simulated host (`--hv sim`), shared by hotmemd and
 * xl-hotmem: --sim-host SIZE, --sim-domain NAME:SIZE[:nodriver] (repeatable)
 * and --sim-config FILE (lines "host SIZE" and "domain NAME SIZE [nodriver]",
 * '#' comments; "nodriver": a guest that never loads xen_hotmem.ko),
 * plus the default socket of a sim daemon, so that a sim never meets the
 * real /run/hotmem/hotmemd.sock. Sizes as in units.h (no suffix = MiB).
 */
#ifndef HOTMEM_SIM_OPTIONS_H
#define HOTMEM_SIM_OPTIONS_H

#include <stddef.h>

#include "sim_host.h"

/*
 * The three options in a getopt_long() table (struct option, <getopt.h>),
 * and their values, for sim_options_parse().
 */
#define SIM_OPTION_CONFIG 'c'
#define SIM_OPTION_HOST	  'o'
#define SIM_OPTION_DOMAIN 'd'
/* clang-format off */
#define SIM_OPTIONS_LONG                                                \
	{ "sim-config", required_argument, NULL, SIM_OPTION_CONFIG },   \
	{ "sim-host", required_argument, NULL, SIM_OPTION_HOST },       \
	{ "sim-domain", required_argument, NULL, SIM_OPTION_DOMAIN }
/* clang-format on */

/* One of the three options (opt: its value) with its argument into cfg. -EINVAL etc. with msg. */
int sim_options_parse(struct sim_host_config *cfg, int opt, const char *arg, char *msg,
		      size_t msg_size);

/* "NAME:SIZE[:nodriver]" into cfg. -EINVAL/-EEXIST/-ENOSPC with msg. */
int sim_options_add_domain(struct sim_host_config *cfg, const char *spec, char *msg,
			   size_t msg_size);
/* "SIZE" as the host's memory. -EINVAL with msg. */
int sim_options_set_host(struct sim_host_config *cfg, const char *size, char *msg, size_t msg_size);
/* Read a config file. -errno / -EINVAL with msg naming the line. */
int sim_options_load(struct sim_host_config *cfg, const char *path, char *msg, size_t msg_size);
/* With no domain configured, add guest1 and guest2 of 512 MiB each. */
void sim_options_finish(struct sim_host_config *cfg);
/* $XDG_RUNTIME_DIR/hotmem-sim.sock, else /tmp/hotmem-sim-$UID.sock. -ENAMETOOLONG. */
int sim_options_default_socket(char *buf, size_t size);

#endif /* HOTMEM_SIM_OPTIONS_H */
