/*
 * The simulated host's hooks into ctl (see sim_ctl.h): building the host for
 * an engine, and answering the sim-* commands. A sim-guest request's fields
 * travel as ctl_request.args, one JSON object that only this file writes
 * (sim_ctl_guest_args(), for xl-hotmem) and reads (exec_guest()); a client
 * that writes the request line itself puts them beside "cmd" and "domain".
 */
#include "sim_ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "hotmem/hotmem.h"
#include "sim_host.h"

#define SIM_CTL_ECHO_MAX (16u << 20) /* the largest sim-echo reply */

/* The wire names of the sim-guest fields, in the order they are written. */
static const struct {
	const char *key;
	uint32_t bit;
	uint64_t max; /* for the integers */
} sim_ctl_fields[] = {
	{ "working_set_bytes", SIM_CTL_WORKING_SET, UINT64_MAX },
	{ "psi_some_avg10", SIM_CTL_PSI_SOME, HOTMEM_PSI_MAX },
	{ "psi_full_avg10", SIM_CTL_PSI_FULL, HOTMEM_PSI_MAX },
	{ "stats_off", SIM_CTL_STATS_OFF, 0 },
	{ "mem_set_bytes", SIM_CTL_MEM_SET, UINT64_MAX },
};

#define SIM_CTL_NR_FIELDS (sizeof(sim_ctl_fields) / sizeof(sim_ctl_fields[0]))

int sim_ctl_guest_args(const struct sim_ctl_load *change, char *args, size_t size)
{
	size_t len = 0;
	int n;

	/* Numbers and booleans only: nothing to escape, so no JSON generator. */
	for (size_t i = 0; i < SIM_CTL_NR_FIELDS; i++) {
		uint32_t bit = sim_ctl_fields[i].bit;
		const char *sep = len ? "," : "{";
		uint64_t value = bit == SIM_CTL_WORKING_SET ? change->load.working_set_bytes
				 : bit == SIM_CTL_PSI_SOME  ? change->load.psi_some_avg10
				 : bit == SIM_CTL_PSI_FULL  ? change->load.psi_full_avg10
							    : change->mem_set_bytes;

		if (!(change->mask & bit))
			continue;
		if (bit == SIM_CTL_STATS_OFF)
			n = snprintf(args + len, size - len, "%s\"%s\":%s", sep,
				     sim_ctl_fields[i].key,
				     change->load.stats_off ? "true" : "false");
		else
			n = snprintf(args + len, size - len, "%s\"%s\":%" PRIu64, sep,
				     sim_ctl_fields[i].key, value);
		if (n < 0 || (size_t)n >= size - len)
			return -ENOSPC;
		len += (size_t)n;
	}
	/* No field: "" (no args at all). */
	n = snprintf(args + len, size - len, "%s", len ? "}" : "");
	return n < 0 || (size_t)n >= size - len ? -ENOSPC : 0;
}

/* The fields of a sim-guest request's args into change. -EINVAL with msg. */
static int parse_guest_args(const char *args, struct sim_ctl_load *change, char *msg,
			    size_t msg_size)
{
	yajl_val tree = NULL;
	int r = 0;

	memset(change, 0, sizeof(*change));
	if (!args[0])
		return 0;
	tree = yajl_tree_parse(args, NULL, 0);
	if (!tree || !YAJL_IS_OBJECT(tree)) {
		snprintf(msg, msg_size, "sim-guest: its members are not a JSON object");
		r = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < SIM_CTL_NR_FIELDS && !r; i++) {
		const char *path[] = { sim_ctl_fields[i].key, NULL };
		uint32_t bit = sim_ctl_fields[i].bit;
		uint64_t value;
		yajl_val v;

		if (bit == SIM_CTL_STATS_OFF) {
			v = yajl_tree_get(tree, path, yajl_t_any);
			if (!v)
				continue;
			if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
				snprintf(msg, msg_size,
					 "\"stats_off\" must be a boolean, in a sim-guest request");
				r = -EINVAL;
				break;
			}
			change->load.stats_off = YAJL_IS_TRUE(v);
			change->mask |= bit;
			continue;
		}
		r = ctl_tree_u64(tree, sim_ctl_fields[i].key, &value);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0 || value > sim_ctl_fields[i].max) {
			snprintf(msg, msg_size,
				 "\"%s\" must be an integer up to %" PRIu64
				 ", in a sim-guest request",
				 sim_ctl_fields[i].key, sim_ctl_fields[i].max);
			r = -EINVAL;
			break;
		}
		if (bit == SIM_CTL_WORKING_SET)
			change->load.working_set_bytes = value;
		else if (bit == SIM_CTL_MEM_SET)
			change->mem_set_bytes = value;
		else if (bit == SIM_CTL_PSI_SOME)
			change->load.psi_some_avg10 = (uint32_t)value;
		else
			change->load.psi_full_avg10 = (uint32_t)value;
		change->mask |= bit;
	}
out:
	yajl_tree_free(tree);
	return r;
}

/* sim-guest: change the fields given, reply with the load and what the guest did. */
static int exec_guest(struct ctl_host *host, struct sim_host *sh, const struct ctl_request *req,
		      uint32_t domid, yajl_gen gen)
{
	struct sim_ctl_load change;
	struct sim_guest_load load;
	struct sim_guest_stats stats;
	char msg[CTL_MESSAGE_MAX], name[CTL_DOMAIN_MAX + 1];
	int r = parse_guest_args(req->args, &change, msg, sizeof(msg));

	if (r < 0) {
		ctl_gen_error(gen, r, msg);
		return r;
	}
	r = sim_host_get_guest(sh, domid, &load, NULL);
	if (r == 0) {
		if (change.mask & SIM_CTL_WORKING_SET)
			load.working_set_bytes = change.load.working_set_bytes;
		if (change.mask & SIM_CTL_PSI_SOME)
			load.psi_some_avg10 = change.load.psi_some_avg10;
		if (change.mask & SIM_CTL_PSI_FULL)
			load.psi_full_avg10 = change.load.psi_full_avg10;
		if (change.mask & SIM_CTL_STATS_OFF)
			load.stats_off = change.load.stats_off;
		r = sim_host_set_load(sh, domid, &load);
	}
	if (r == 0 && (change.mask & SIM_CTL_MEM_SET)) {
		/* What xl mem-set writes (KiB); the guest's balloon follows. */
		char path[64], value[32];

		snprintf(path, sizeof(path), "/local/domain/%" PRIu32 "/memory/target", domid);
		snprintf(value, sizeof(value), "%" PRIu64, change.mem_set_bytes >> 10);
		r = -EINVAL;
		if (change.mem_set_bytes >= 1024)
			r = host->hv->ops->xs_write(host->hv, HV_XS_NO_TXN, path, value,
						    strlen(value));
	}
	if (r == 0)
		r = sim_host_get_guest(sh, domid, &load, &stats);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "domain '%s' (d%" PRIu32 "): no simulated guest",
			 req->domain, domid);
		ctl_gen_error(gen, r, msg);
		return r;
	}
	ctl_domain_name(host, domid, name, sizeof(name));
	ctl_gen_reply_begin(gen, 0, NULL);
	ctl_gen_u64(gen, "domid", domid);
	ctl_gen_str(gen, "name", name);
	ctl_gen_key(gen, "load");
	yajl_gen_map_open(gen);
	ctl_gen_u64(gen, "working_set_bytes", load.working_set_bytes);
	ctl_gen_u64(gen, "psi_some_avg10", load.psi_some_avg10);
	ctl_gen_u64(gen, "psi_full_avg10", load.psi_full_avg10);
	ctl_gen_bool(gen, "stats_off", load.stats_off);
	yajl_gen_map_close(gen);
	ctl_gen_u64(gen, "stats_published", stats.stats_published);
	if (stats.stats_published) {
		ctl_gen_key(gen, "last_stats");
		yajl_gen_map_open(gen);
		ctl_gen_u64(gen, "counter", stats.last_stats.counter);
		ctl_gen_u64(gen, "memtotal_bytes", stats.last_stats.memtotal_kib * 1024);
		ctl_gen_u64(gen, "memavail_bytes", stats.last_stats.memavail_kib * 1024);
		ctl_gen_u64(gen, "psi_some_avg10", stats.last_stats.psi_some_avg10);
		ctl_gen_u64(gen, "psi_full_avg10", stats.last_stats.psi_full_avg10);
		yajl_gen_map_close(gen);
	}
	ctl_gen_u64(gen, "balloon_pages", stats.balloon_current);
	ctl_gen_u64(gen, "boot_ballooned_pages", stats.boot_ballooned);
	ctl_gen_reply_end(gen);
	return 0;
}

/* sim-echo: a reply of bytes bytes of payload, to test the transport. */
static int exec_echo(const struct ctl_request *req, yajl_gen gen)
{
	char *data;

	if (req->bytes > SIM_CTL_ECHO_MAX) {
		ctl_gen_error(gen, -EINVAL, "sim-echo: at most 16 MiB");
		return -EINVAL;
	}
	data = malloc(req->bytes + 1);
	if (!data) {
		ctl_gen_error(gen, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < req->bytes; i++)
		data[i] = (char)('a' + i % 26);
	data[req->bytes] = '\0';
	ctl_gen_reply_begin(gen, 0, NULL);
	ctl_gen_str(gen, "data", data);
	ctl_gen_reply_end(gen);
	free(data);
	return 0;
}

static int sim_ctl_exec(struct ctl_host *host, const struct ctl_request *req, uint32_t domid,
			yajl_gen gen)
{
	struct sim_host *sh = host->backend_data;
	char msg[CTL_MESSAGE_MAX];
	int r;

	switch (req->cmd) {
	case CTL_CMD_SIM_GUEST:
		return exec_guest(host, sh, req, domid, gen);
	case CTL_CMD_SIM_ECHO:
		return exec_echo(req, gen);
	case CTL_CMD_SIM_DESTROY:
		r = sim_host_destroy_domain(sh, domid);
		if (r < 0) {
			ctl_gen_domain_error(gen, req, domid, r);
			return r;
		}
		ctl_gen_reply_begin(gen, 0, NULL);
		ctl_gen_u64(gen, "domid", domid);
		ctl_gen_reply_end(gen);
		return 0;
	case CTL_CMD_SIM_CHECK:
		r = sim_host_check(sh, msg, sizeof(msg));
		if (r < 0) {
			ctl_gen_error(gen, r, msg);
			return r;
		}
		ctl_gen_reply_begin(gen, 0, NULL);
		ctl_gen_reply_end(gen);
		return 0;
	default:
		ctl_gen_error(gen, -EINVAL, "not a command of the simulated host");
		return -EINVAL;
	}
}

static int sim_ctl_open(const void *config, void **ret_backend, struct hv **ret_hv, char *msg,
			size_t msg_size)
{
	struct sim_host *sh = NULL;
	int r = sim_host_new(config, &sh);

	if (r == 0)
		r = sim_host_open_dom0(sh, ret_hv);
	if (r < 0) {
		snprintf(msg, msg_size, "cannot build the simulated host: %s", strerror(-r));
		sim_host_free(sh);
		return r;
	}
	*ret_backend = sh;
	return 0;
}

static void sim_ctl_close(void *backend)
{
	sim_host_free(backend);
}

static int sim_ctl_check(void *backend, char *why, size_t why_size)
{
	return sim_host_check(backend, why, why_size);
}

const struct ctl_backend_ops sim_ctl_ops = {
	.open = sim_ctl_open,
	.close = sim_ctl_close,
	.exec = sim_ctl_exec,
	.check = sim_ctl_check,
};
