/*
 * The control layer (see ctl.h): request lines in and out, domain names,
 * the read commands (ping, list, info, journal), attach/detach, the sim-only
 * levers, and grow/shrink/set as a small state machine that any loop can
 * drive (begin, step while the guest of a just-attached domain gets ready,
 * reply when the engine says the operation is done), and the wire form of
 * the policy requests that only hotmemd answers. Every reply is one JSON
 * object: {"ok":true,"result":{...}} or {"ok":false,"errno":N,"error":"..."}
 * (an ended operation that failed carries both its result and its error).
 */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "hotmem/units.h"
#include "metrics.h"
#include "sim_host.h"

#define CTL_MAX_DOMAINS 1024 /* domains listed by `list` */

static const char *const ctl_cmd_names[CTL_CMD_COUNT] = {
	[CTL_CMD_PING] = "ping",
	[CTL_CMD_LIST] = "list",
	[CTL_CMD_INFO] = "info",
	[CTL_CMD_JOURNAL] = "journal",
	[CTL_CMD_ATTACH] = "attach",
	[CTL_CMD_DETACH] = "detach",
	[CTL_CMD_GROW] = "grow",
	[CTL_CMD_SHRINK] = "shrink",
	[CTL_CMD_SET] = "set",
	[CTL_CMD_SIM_DESTROY] = "sim-destroy",
	[CTL_CMD_SIM_CHECK] = "sim-check",
	[CTL_CMD_POLICY] = "policy",
	[CTL_CMD_TOP] = "top",
	[CTL_CMD_SIM_GUEST] = "sim-guest",
	[CTL_CMD_METRICS] = "metrics",
	[CTL_CMD_ABANDON] = "abandon",
	[CTL_CMD_SIM_ECHO] = "sim-echo",
};

const char *ctl_cmd_name(enum ctl_cmd cmd)
{
	return (unsigned int)cmd < CTL_CMD_COUNT ? ctl_cmd_names[cmd] : NULL;
}

bool ctl_cmd_is_op(enum ctl_cmd cmd)
{
	return cmd == CTL_CMD_GROW || cmd == CTL_CMD_SHRINK || cmd == CTL_CMD_SET;
}

bool ctl_cmd_needs_daemon(enum ctl_cmd cmd)
{
	return cmd == CTL_CMD_POLICY || cmd == CTL_CMD_TOP;
}

static bool ctl_cmd_needs_domain(enum ctl_cmd cmd)
{
	return cmd != CTL_CMD_PING && cmd != CTL_CMD_LIST && cmd != CTL_CMD_JOURNAL &&
	       cmd != CTL_CMD_SIM_CHECK && cmd != CTL_CMD_TOP && cmd != CTL_CMD_METRICS &&
	       cmd != CTL_CMD_SIM_ECHO;
}

const char *ctl_kind_name(enum hotmem_op_kind kind)
{
	switch (kind) {
	case HOTMEM_OP_KIND_GROW:
		return "grow";
	case HOTMEM_OP_KIND_SHRINK:
		return "shrink";
	case HOTMEM_OP_KIND_SET:
		return "set";
	}
	return "?";
}

uint64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- JSON helpers ------------------------------------------------------ */

static void j_key(yajl_gen gen, const char *key)
{
	yajl_gen_string(gen, (const unsigned char *)key, strlen(key));
}

static void j_str(yajl_gen gen, const char *key, const char *value)
{
	j_key(gen, key);
	if (value)
		yajl_gen_string(gen, (const unsigned char *)value, strlen(value));
	else
		yajl_gen_null(gen);
}

/* JSON numbers are doubles for most readers: sizes stay exact up to 2^53. */
static void j_u64(yajl_gen gen, const char *key, uint64_t value)
{
	j_key(gen, key);
	yajl_gen_integer(gen, (long long)value);
}

static void j_bool(yajl_gen gen, const char *key, bool value)
{
	j_key(gen, key);
	yajl_gen_bool(gen, value);
}

void ctl_gen_str(yajl_gen gen, const char *key, const char *value)
{
	j_str(gen, key, value);
}

void ctl_gen_u64(yajl_gen gen, const char *key, uint64_t value)
{
	j_u64(gen, key, value);
}

void ctl_gen_bool(yajl_gen gen, const char *key, bool value)
{
	j_bool(gen, key, value);
}

void ctl_gen_key(yajl_gen gen, const char *key)
{
	j_key(gen, key);
}

void ctl_gen_error(yajl_gen gen, int err, const char *msg)
{
	yajl_gen_map_open(gen);
	j_bool(gen, "ok", false);
	j_u64(gen, "errno", (uint64_t)-err);
	j_str(gen, "error", msg);
	yajl_gen_map_close(gen);
}

static void msgf(char *msg, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void msgf(char *msg, size_t size, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(msg, size, fmt, args);
	va_end(args);
}

/* ---- requests ----------------------------------------------------------- */

int ctl_request_format(const struct ctl_request *req, char **ret_line)
{
	yajl_gen gen = yajl_gen_alloc(NULL);
	const unsigned char *text;
	size_t len;
	char *line;

	if (!gen)
		return -ENOMEM;
	yajl_gen_map_open(gen);
	j_str(gen, "cmd", ctl_cmd_name(req->cmd));
	if (req->domain[0])
		j_str(gen, "domain", req->domain);
	if (ctl_cmd_is_op(req->cmd))
		j_u64(gen, "bytes", req->bytes);
	if (req->max_bytes)
		j_u64(gen, "max_bytes", req->max_bytes);
	if (req->nr_set) {
		j_key(gen, "set");
		yajl_gen_map_open(gen);
		for (unsigned int i = 0; i < req->nr_set; i++)
			j_str(gen, req->set_keys[i], req->set_values[i]);
		yajl_gen_map_close(gen);
	}
	if (req->load_mask & CTL_LOAD_WORKING_SET)
		j_u64(gen, "working_set_bytes", req->load.working_set_bytes);
	if (req->load_mask & CTL_LOAD_PSI_SOME)
		j_u64(gen, "psi_some_avg10", req->load.psi_some_avg10);
	if (req->load_mask & CTL_LOAD_PSI_FULL)
		j_u64(gen, "psi_full_avg10", req->load.psi_full_avg10);
	if (req->load_mask & CTL_LOAD_STATS_OFF)
		j_bool(gen, "stats_off", req->load.stats_off);
	if (req->load_mask & CTL_LOAD_MEM_SET)
		j_u64(gen, "mem_set_bytes", req->mem_set_bytes);
	if (req->openmetrics)
		j_bool(gen, "openmetrics", true);
	yajl_gen_map_close(gen);
	yajl_gen_get_buf(gen, &text, &len);
	line = malloc(len + 2);
	if (line) {
		memcpy(line, text, len);
		line[len] = '\n';
		line[len + 1] = '\0';
	}
	yajl_gen_free(gen);
	if (!line)
		return -ENOMEM;
	*ret_line = line;
	return 0;
}

/* A non-negative integer member that fits in 64 bits, or -EINVAL. */
static int tree_u64(yajl_val obj, const char *key, uint64_t *ret_value)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(obj, path, yajl_t_number);

	if (!v)
		return -ENOENT;
	if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0)
		return -EINVAL;
	*ret_value = (uint64_t)YAJL_GET_INTEGER(v);
	return 0;
}

/* "set": {"key": "value", ...} of a policy request, in order. */
static int parse_set(yajl_val tree, struct ctl_request *req, char *msg, size_t msg_size)
{
	const char *path[] = { "set", NULL };
	yajl_val set = yajl_tree_get(tree, path, yajl_t_any);

	if (!set)
		return 0;
	if (!YAJL_IS_OBJECT(set) || req->cmd != CTL_CMD_POLICY) {
		msgf(msg, msg_size, "\"set\" must be an object of strings, in a policy request");
		return -EINVAL;
	}
	if (set->u.object.len > CTL_POLICY_SET_MAX) {
		msgf(msg, msg_size, "at most %d settings per policy request", CTL_POLICY_SET_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < set->u.object.len; i++) {
		const char *key = set->u.object.keys[i];
		yajl_val v = set->u.object.values[i];
		const char *value = YAJL_IS_STRING(v) ? v->u.string : NULL;

		if (!value || !key[0] || strlen(key) > CTL_POLICY_KEY_MAX ||
		    strlen(value) > CTL_POLICY_VALUE_MAX) {
			msgf(msg, msg_size,
			     "setting '%.32s': want a key of at most %d bytes, a string value of "
			     "at "
			     "most %d",
			     key, CTL_POLICY_KEY_MAX, CTL_POLICY_VALUE_MAX);
			return -EINVAL;
		}
		strcpy(req->set_keys[i], key);
		strcpy(req->set_values[i], value);
	}
	req->nr_set = (unsigned int)set->u.object.len;
	return 0;
}

/* The load fields of a sim-guest request (each optional). */
static int parse_load(yajl_val tree, struct ctl_request *req, char *msg, size_t msg_size)
{
	static const struct {
		const char *key;
		uint32_t bit;
		uint64_t max;
	} fields[] = {
		{ "working_set_bytes", CTL_LOAD_WORKING_SET, UINT64_MAX },
		{ "psi_some_avg10", CTL_LOAD_PSI_SOME, HOTMEM_PSI_MAX },
		{ "psi_full_avg10", CTL_LOAD_PSI_FULL, HOTMEM_PSI_MAX },
		{ "mem_set_bytes", CTL_LOAD_MEM_SET, UINT64_MAX },
	};
	const char *off_path[] = { "stats_off", NULL };
	yajl_val off = yajl_tree_get(tree, off_path, yajl_t_any);

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		uint64_t value;
		int r = tree_u64(tree, fields[i].key, &value);

		if (r == -ENOENT)
			continue;
		if (r < 0 || value > fields[i].max || req->cmd != CTL_CMD_SIM_GUEST) {
			msgf(msg, msg_size,
			     "\"%s\" must be an integer up to %" PRIu64 ", in a sim-guest request",
			     fields[i].key, fields[i].max);
			return -EINVAL;
		}
		req->load_mask |= fields[i].bit;
		if (fields[i].bit == CTL_LOAD_WORKING_SET)
			req->load.working_set_bytes = value;
		else if (fields[i].bit == CTL_LOAD_MEM_SET)
			req->mem_set_bytes = value;
		else if (fields[i].bit == CTL_LOAD_PSI_SOME)
			req->load.psi_some_avg10 = (uint32_t)value;
		else
			req->load.psi_full_avg10 = (uint32_t)value;
	}
	if (off) {
		if ((!YAJL_IS_TRUE(off) && !YAJL_IS_FALSE(off)) || req->cmd != CTL_CMD_SIM_GUEST) {
			msgf(msg, msg_size,
			     "\"stats_off\" must be a boolean, in a sim-guest request");
			return -EINVAL;
		}
		req->load_mask |= CTL_LOAD_STATS_OFF;
		req->load.stats_off = YAJL_IS_TRUE(off);
	}
	return 0;
}

int ctl_request_parse(const char *line, size_t len, struct ctl_request *ret_req, char *msg,
		      size_t msg_size)
{
	const char *cmd_path[] = { "cmd", NULL }, *dom_path[] = { "domain", NULL };
	struct ctl_request req = { 0 };
	char text[CTL_LINE_MAX + 1], err[128];
	const char *str;
	yajl_val tree, v;
	int r = -EINVAL;

	if (len > CTL_LINE_MAX) {
		msgf(msg, msg_size, "request longer than %d bytes", CTL_LINE_MAX);
		return -EINVAL;
	}
	memcpy(text, line, len);
	text[len] = '\0';
	tree = yajl_tree_parse(text, err, sizeof(err));
	if (!tree || !YAJL_IS_OBJECT(tree)) {
		msgf(msg, msg_size, "request is not a JSON object");
		goto out;
	}
	v = yajl_tree_get(tree, cmd_path, yajl_t_string);
	str = v ? YAJL_GET_STRING(v) : NULL;
	for (unsigned int c = 1; str && c < CTL_CMD_COUNT; c++)
		if (!strcmp(str, ctl_cmd_names[c]))
			req.cmd = c;
	if (!req.cmd) {
		msgf(msg, msg_size, "unknown or missing \"cmd\"");
		goto out;
	}
	v = yajl_tree_get(tree, dom_path, yajl_t_string);
	str = v ? YAJL_GET_STRING(v) : NULL;
	if (str && strlen(str) <= CTL_DOMAIN_MAX)
		strcpy(req.domain, str);
	if (ctl_cmd_needs_domain(req.cmd) && !req.domain[0]) {
		msgf(msg, msg_size, "%s needs a \"domain\" (a name or an id)",
		     ctl_cmd_name(req.cmd));
		goto out;
	}
	if ((ctl_cmd_is_op(req.cmd) || req.cmd == CTL_CMD_SIM_ECHO) &&
	    tree_u64(tree, "bytes", &req.bytes)) {
		msgf(msg, msg_size, "%s needs \"bytes\" (a non-negative integer)",
		     ctl_cmd_name(req.cmd));
		goto out;
	}
	if (tree_u64(tree, "max_bytes", &req.max_bytes) == -EINVAL) {
		msgf(msg, msg_size, "\"max_bytes\" must be a non-negative integer");
		goto out;
	}
	if (parse_set(tree, &req, msg, msg_size) < 0 || parse_load(tree, &req, msg, msg_size) < 0)
		goto out;
	req.openmetrics = yajl_tree_get(tree, (const char *[]){ "openmetrics", NULL }, yajl_t_true);
	*ret_req = req;
	r = 0;
out:
	yajl_tree_free(tree);
	return r;
}

/* ---- domains ------------------------------------------------------------ */

static int xs_read_str(struct ctl_host *host, const char *path, char **ret_value)
{
	return host->hv->ops->xs_read(host->hv, HV_XS_NO_TXN, path, ret_value, NULL);
}

void ctl_domain_name(struct ctl_host *host, uint32_t domid, char *buf, size_t size)
{
	char path[64], *name = NULL;

	snprintf(path, sizeof(path), "/local/domain/%" PRIu32 "/name", domid);
	buf[0] = '\0';
	if (xs_read_str(host, path, &name) == 0)
		snprintf(buf, size, "%s", name);
	free(name);
}

int ctl_resolve_domain(struct ctl_host *host, const char *text, uint32_t *ret_domid, char *msg,
		       size_t msg_size)
{
	struct hv_domain_info info;
	char **ids = NULL, *end;
	unsigned int nr = 0, matches = 0;
	uint32_t found = 0;
	unsigned long id;
	int r;

	if (!text[0]) {
		msgf(msg, msg_size, "empty domain name");
		return -EINVAL;
	}
	if (text[strspn(text, "0123456789")] == '\0') {
		errno = 0;
		id = strtoul(text, &end, 10);
		if (errno || id > HOTMEM_DOMID_MAX ||
		    host->hv->ops->domain_info(host->hv, (uint32_t)id, &info) < 0) {
			msgf(msg, msg_size, "domain %s: no such domain", text);
			return -ESRCH;
		}
		found = (uint32_t)id;
		goto check;
	}
	r = host->hv->ops->xs_directory(host->hv, HV_XS_NO_TXN, "/local/domain", &ids, &nr);
	if (r < 0) {
		msgf(msg, msg_size, "cannot list /local/domain in xenstore: %s", strerror(-r));
		return r;
	}
	for (unsigned int i = 0; i < nr; i++) {
		char name[CTL_DOMAIN_MAX + 1];

		id = strtoul(ids[i], &end, 10);
		if (*end || id > HOTMEM_DOMID_MAX)
			continue;
		ctl_domain_name(host, (uint32_t)id, name, sizeof(name));
		if (!strcmp(name, text)) {
			found = (uint32_t)id;
			matches++;
		}
	}
	free(ids);
	if (matches > 1) {
		msgf(msg, msg_size,
		     "domain '%s': the name is ambiguous (%u domains have it): "
		     "use the domain id",
		     text, matches);
		return -ENOTUNIQ;
	}
	if (!matches) {
		msgf(msg, msg_size, "domain '%s': no such domain", text);
		return -ESRCH;
	}
check:
	if (found == 0) {
		msgf(msg, msg_size, "domain %s: dom0 cannot be grown by hotmem", text);
		return -EINVAL;
	}
	*ret_domid = found;
	return 0;
}

/* ---- read commands ------------------------------------------------------ */

static void gen_window(yajl_gen gen, const char *key, const struct hotmem_window *window)
{
	j_key(gen, key);
	yajl_gen_map_open(gen);
	j_u64(gen, "base", window->base);
	j_u64(gen, "size", window->size);
	yajl_gen_map_close(gen);
}

static void gen_guest(yajl_gen gen, const struct hotmem_guest_status *gs)
{
	j_key(gen, "guest");
	yajl_gen_map_open(gen);
	j_str(gen, "state", gs->have_state ? hotmem_state_token(gs->state) : NULL);
	j_bool(gen, "ready", gs->ready);
	if (gs->have_version)
		j_u64(gen, "version", gs->version);
	if (gs->have_block_size)
		j_u64(gen, "block_size", gs->block_size);
	if (gs->have_memmap)
		j_u64(gen, "memmap_bytes", gs->memmap_bytes);
	if (gs->have_blocks)
		j_u64(gen, "blocks", gs->nr_blocks);
	if (gs->have_ack) {
		j_key(gen, "ack");
		yajl_gen_map_open(gen);
		j_u64(gen, "seq", gs->ack.seq);
		j_str(gen, "status", hotmem_status_token(gs->ack.status));
		j_u64(gen, "done", gs->ack.done);
		yajl_gen_map_close(gen);
	}
	if (gs->have_stats) {
		j_key(gen, "stats");
		yajl_gen_map_open(gen);
		j_u64(gen, "memtotal_bytes", gs->stats.memtotal_kib * 1024);
		j_u64(gen, "memavail_bytes", gs->stats.memavail_kib * 1024);
		j_u64(gen, "psi_some_avg10", gs->stats.psi_some_avg10);
		j_u64(gen, "psi_full_avg10", gs->stats.psi_full_avg10);
		yajl_gen_map_close(gen);
	}
	yajl_gen_map_close(gen);
}

/* One domain: the hypervisor's view, and the engine's books if attached. */
static void gen_domain(struct ctl_host *host, yajl_gen gen, uint32_t domid, bool detailed)
{
	struct hotmem_domain_info info;
	struct hotmem_guest_status gs;
	struct hv_domain_info hvi;
	char name[CTL_DOMAIN_MAX + 1];
	bool attached = hotmem_domain_info(host->hm, domid, &info) == 0;

	ctl_domain_name(host, domid, name, sizeof(name));
	yajl_gen_map_open(gen);
	j_u64(gen, "domid", domid);
	j_str(gen, "name", name);
	if (host->hv->ops->domain_info(host->hv, domid, &hvi) == 0) {
		j_u64(gen, "tot_bytes", hvi.tot_pages * HV_PAGE_SIZE);
		j_u64(gen, "max_mem_bytes", hvi.max_pages * HV_PAGE_SIZE);
		j_bool(gen, "dying", hvi.dying);
	}
	j_bool(gen, "attached", attached);
	{
		struct hotmem_reboot_info rb;

		/*
		 * xl rebuilt it from a grown size before we put the configured one
		 * back (rebooted-grown, also while the balloon gives it back), then
		 * the engine gave that memory back (ballooned-back).
		 */
		if (hotmem_reboot_info(host->hm, domid, &rb) == 0 &&
		    (rb.came_back_grown || rb.returning || rb.returned)) {
			j_bool(gen, "rebooted_grown", rb.came_back_grown || rb.returning);
			j_bool(gen, "ballooned_back", rb.returned);
			j_u64(gen, "configured_bytes", rb.static_max_kib << 10);
			j_u64(gen, "booted_bytes",
			      (rb.returning || rb.returned ? rb.booted_static_max_kib
							   : rb.now_static_max_kib)
				      << 10);
		}
	}
	if (attached) {
		j_u64(gen, "max_bytes", info.max_bytes);
		j_u64(gen, "granted_blocks", info.granted_blocks);
		j_u64(gen, "granted_bytes", info.granted_bytes);
		j_u64(gen, "granted_usable_bytes", info.granted_usable_bytes);
		j_u64(gen, "granted_target_bytes", info.granted_target_bytes);
		if (info.have_window) {
			j_u64(gen, "block_size", info.block_size);
			gen_window(gen, "window", &info.window);
			j_u64(gen, "window_blocks", info.nr_blocks);
		}
		if (info.have_memmap)
			j_u64(gen, "memmap_bytes", info.memmap_bytes);
		j_bool(gen, "busy", info.busy);
		j_bool(gen, "outstanding", info.outstanding);
		j_bool(gen, "recovering", info.recovering);
		j_bool(gen, "violation", info.violation);
		j_u64(gen, "pending_blocks", info.pending_blocks);
		j_bool(gen, "frozen", info.frozen);
		j_bool(gen, "going_down", info.going_down);
		if (info.frozen) {
			j_u64(gen, "frozen_seq", info.frozen_seq);
			j_u64(gen, "frozen_bytes", info.frozen_pages << 12);
		}
		if (detailed) {
			j_bool(gen, "memmap_in_target", info.memmap_in_target);
			j_u64(gen, "last_seq", info.last_seq);
			j_key(gen, "granted");
			yajl_gen_array_open(gen);
			for (uint32_t b = 0; b < info.nr_blocks; b++)
				if (hotmem_blocks_test(info.granted, b))
					yajl_gen_integer(gen, b);
			yajl_gen_array_close(gen);
			if (info.outstanding) {
				j_key(gen, "outstanding_request");
				yajl_gen_map_open(gen);
				j_str(gen, "op", ctl_kind_name(info.outstanding_kind));
				j_u64(gen, "seq", info.outstanding_seq);
				j_u64(gen, "first", info.outstanding_first);
				j_u64(gen, "count", info.outstanding_count);
				yajl_gen_map_close(gen);
			}
		}
		if (hotmem_guest_status(host->hm, domid, &gs) == 0)
			gen_guest(gen, &gs);
	}
	yajl_gen_map_close(gen);
}

static int exec_list(struct ctl_host *host, yajl_gen gen)
{
	uint32_t *ids = calloc(CTL_MAX_DOMAINS, sizeof(*ids));
	size_t nr = 0;
	int r = ids ? host->hv->ops->domain_list(host->hv, ids, CTL_MAX_DOMAINS, &nr) : -ENOMEM;

	if (r < 0) {
		char msg[CTL_MESSAGE_MAX];

		msgf(msg, sizeof(msg), "cannot list domains: %s", strerror(-r));
		ctl_gen_error(gen, r, msg);
		free(ids);
		return r;
	}
	yajl_gen_map_open(gen);
	j_bool(gen, "ok", true);
	j_key(gen, "result");
	yajl_gen_map_open(gen);
	j_str(gen, "backend", host->backend);
	j_key(gen, "domains");
	yajl_gen_array_open(gen);
	for (size_t i = 0; i < nr; i++)
		if (ids[i] != 0)
			gen_domain(host, gen, ids[i], false);
	yajl_gen_array_close(gen);
	yajl_gen_map_close(gen);
	yajl_gen_map_close(gen);
	free(ids);
	return 0;
}

/* Every key of one journal record, as stored (flat: <dir>/<domid>/<key>). */
static void gen_journal_record(struct ctl_host *host, yajl_gen gen, const char *dir)
{
	char **keys = NULL;
	unsigned int nr = 0;

	j_key(gen, "records");
	yajl_gen_map_open(gen);
	if (host->hv->ops->xs_directory(host->hv, HV_XS_NO_TXN, dir, &keys, &nr) == 0) {
		for (unsigned int k = 0; k < nr; k++) {
			char path[1024], *value = NULL;
			int n = snprintf(path, sizeof(path), "%s/%s", dir, keys[k]);

			if (n > 0 && (size_t)n < sizeof(path) &&
			    xs_read_str(host, path, &value) == 0)
				j_str(gen, keys[k], value);
			free(value);
		}
	}
	free(keys);
	yajl_gen_map_close(gen);
}

static int exec_journal(struct ctl_host *host, yajl_gen gen)
{
	char **ids = NULL;
	unsigned int nr = 0;
	int r = host->hv->ops->xs_directory(host->hv, HV_XS_NO_TXN, host->journal_dir, &ids, &nr);

	if (r < 0 && r != -ENOENT) {
		char msg[CTL_MESSAGE_MAX];

		msgf(msg, sizeof(msg), "cannot read the journal %s: %s", host->journal_dir,
		     strerror(-r));
		ctl_gen_error(gen, r, msg);
		return r;
	}
	yajl_gen_map_open(gen);
	j_bool(gen, "ok", true);
	j_key(gen, "result");
	yajl_gen_map_open(gen);
	j_str(gen, "journal_dir", host->journal_dir);
	j_key(gen, "domains");
	yajl_gen_array_open(gen);
	for (unsigned int i = 0; i < nr; i++) {
		char dir[512], name[CTL_DOMAIN_MAX + 1], *end;
		unsigned long id = strtoul(ids[i], &end, 10);

		if (*end || id > HOTMEM_DOMID_MAX)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", host->journal_dir, ids[i]);
		ctl_domain_name(host, (uint32_t)id, name, sizeof(name));
		yajl_gen_map_open(gen);
		j_u64(gen, "domid", id);
		j_str(gen, "name", name);
		gen_journal_record(host, gen, dir);
		yajl_gen_map_close(gen);
	}
	yajl_gen_array_close(gen);
	yajl_gen_map_close(gen);
	yajl_gen_map_close(gen);
	free(ids);
	return 0;
}

static void gen_ok_domain(struct ctl_host *host, yajl_gen gen, uint32_t domid, bool detailed)
{
	yajl_gen_map_open(gen);
	j_bool(gen, "ok", true);
	j_key(gen, "result");
	gen_domain(host, gen, domid, detailed);
	yajl_gen_map_close(gen);
}

static const char *attach_strerror(int err)
{
	switch (err) {
	case -EEXIST:
		return "already attached";
	case -ESRCH:
		return "the domain is dying or gone";
	case -ENOSPC:
		return "the window does not fit above the domain's boot memory in RAM bank 1";
	case -EBUSY:
		return "blocks are granted or an operation is in flight (shrink to 0 first)";
	case -ENOENT:
		return "not attached";
	case -EINVAL:
		return "invalid parameter";
	}
	return strerror(-err);
}

/*
 * abandon: take back every unanswered request; the reply says what came
 * back (Xen's tot_pages before and after) and what the guest kept.
 */
static int exec_abandon(struct ctl_host *host, const struct ctl_request *req, uint32_t domid,
			yajl_gen gen)
{
	struct hv_domain_info before = { 0 }, after = { 0 };
	struct hotmem_result res;
	char msg[CTL_MESSAGE_MAX];
	int r;

	host->hv->ops->domain_info(host->hv, domid, &before);
	r = hotmem_abandon(host->hm, domid, &res);
	if (r < 0) {
		msgf(msg, sizeof(msg), "domain '%s' (d%" PRIu32 "): cannot abandon: %s",
		     req->domain, domid,
		     r == -EALREADY ? "nothing unanswered (no request outstanding)"
		     : r == -EBUSY  ? "an operation is running before its request or after its ack"
				    : attach_strerror(r));
		ctl_gen_error(gen, r, msg);
		return r;
	}
	host->hv->ops->domain_info(host->hv, domid, &after);
	yajl_gen_map_open(gen);
	j_bool(gen, "ok", true);
	j_key(gen, "result");
	yajl_gen_map_open(gen);
	j_u64(gen, "domid", domid);
	j_str(gen, "name", req->domain);
	j_u64(gen, "seq", res.seq);
	j_u64(gen, "reclaimed_bytes",
	      before.tot_pages > after.tot_pages ? (before.tot_pages - after.tot_pages) << 12 : 0);
	j_u64(gen, "overdrawn_bytes", res.pages_overdrawn << 12);
	yajl_gen_map_close(gen);
	yajl_gen_map_close(gen);
	return 0;
}

/* sim-echo: a reply of bytes bytes of payload, to test the transport. */
static int exec_sim_echo(struct ctl_host *host, const struct ctl_request *req, yajl_gen gen)
{
	char *data;

	if (!host->sim_host || req->bytes > CTL_SIM_ECHO_MAX) {
		ctl_gen_error(gen, host->sim_host ? -EINVAL : -EOPNOTSUPP,
			      host->sim_host ? "sim-echo: at most 16 MiB"
					     : "sim-echo works only on a hotmemd --hv sim");
		return host->sim_host ? -EINVAL : -EOPNOTSUPP;
	}
	data = malloc(req->bytes + 1);
	if (!data) {
		ctl_gen_error(gen, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < req->bytes; i++)
		data[i] = (char)('a' + i % 26);
	data[req->bytes] = '\0';
	yajl_gen_map_open(gen);
	j_bool(gen, "ok", true);
	j_key(gen, "result");
	yajl_gen_map_open(gen);
	j_str(gen, "data", data);
	yajl_gen_map_close(gen);
	yajl_gen_map_close(gen);
	free(data);
	return 0;
}

/* sim-guest: change the fields given, reply with the load and what the guest did. */
static int exec_sim_guest(struct ctl_host *host, const struct ctl_request *req, uint32_t domid,
			  yajl_gen gen)
{
	struct sim_guest_load load;
	struct sim_guest_stats stats;
	char msg[CTL_MESSAGE_MAX], name[CTL_DOMAIN_MAX + 1];
	int r = -EOPNOTSUPP;

	if (host->sim_host)
		r = sim_host_get_guest(host->sim_host, domid, &load, NULL);
	if (r == 0) {
		if (req->load_mask & CTL_LOAD_WORKING_SET)
			load.working_set_bytes = req->load.working_set_bytes;
		if (req->load_mask & CTL_LOAD_PSI_SOME)
			load.psi_some_avg10 = req->load.psi_some_avg10;
		if (req->load_mask & CTL_LOAD_PSI_FULL)
			load.psi_full_avg10 = req->load.psi_full_avg10;
		if (req->load_mask & CTL_LOAD_STATS_OFF)
			load.stats_off = req->load.stats_off;
		r = sim_host_set_load(host->sim_host, domid, &load);
	}
	if (r == 0 && (req->load_mask & CTL_LOAD_MEM_SET)) {
		/* What xl mem-set writes (KiB); the guest's balloon follows. */
		char path[64], value[32];

		snprintf(path, sizeof(path), "/local/domain/%" PRIu32 "/memory/target", domid);
		snprintf(value, sizeof(value), "%" PRIu64, req->mem_set_bytes >> 10);
		r = -EINVAL;
		if (req->mem_set_bytes >= 1024)
			r = host->hv->ops->xs_write(host->hv, HV_XS_NO_TXN, path, value,
						    strlen(value));
	}
	if (r == 0)
		r = sim_host_get_guest(host->sim_host, domid, &load, &stats);
	if (r < 0) {
		if (r == -EOPNOTSUPP)
			msgf(msg, sizeof(msg), "sim-guest works only on a hotmemd --hv sim");
		else
			msgf(msg, sizeof(msg), "domain '%s' (d%" PRIu32 "): no simulated guest",
			     req->domain, domid);
		ctl_gen_error(gen, r, msg);
		return r;
	}
	ctl_domain_name(host, domid, name, sizeof(name));
	yajl_gen_map_open(gen);
	j_bool(gen, "ok", true);
	j_key(gen, "result");
	yajl_gen_map_open(gen);
	j_u64(gen, "domid", domid);
	j_str(gen, "name", name);
	j_key(gen, "load");
	yajl_gen_map_open(gen);
	j_u64(gen, "working_set_bytes", load.working_set_bytes);
	j_u64(gen, "psi_some_avg10", load.psi_some_avg10);
	j_u64(gen, "psi_full_avg10", load.psi_full_avg10);
	j_bool(gen, "stats_off", load.stats_off);
	yajl_gen_map_close(gen);
	j_u64(gen, "stats_published", stats.stats_published);
	if (stats.stats_published) {
		j_key(gen, "last_stats");
		yajl_gen_map_open(gen);
		j_u64(gen, "counter", stats.last_stats.counter);
		j_u64(gen, "memtotal_bytes", stats.last_stats.memtotal_kib * 1024);
		j_u64(gen, "memavail_bytes", stats.last_stats.memavail_kib * 1024);
		j_u64(gen, "psi_some_avg10", stats.last_stats.psi_some_avg10);
		j_u64(gen, "psi_full_avg10", stats.last_stats.psi_full_avg10);
		yajl_gen_map_close(gen);
	}
	j_u64(gen, "balloon_pages", stats.balloon_current);
	j_u64(gen, "boot_ballooned_pages", stats.boot_ballooned);
	yajl_gen_map_close(gen);
	yajl_gen_map_close(gen);
	return 0;
}

int ctl_exec_now(struct ctl_host *host, const struct ctl_request *req, yajl_gen gen)
{
	char msg[CTL_MESSAGE_MAX];
	struct hotmem_attach_params params = { .max_bytes = req->max_bytes };
	uint32_t domid = 0;
	int r = 0;

	if (ctl_cmd_needs_domain(req->cmd)) {
		r = ctl_resolve_domain(host, req->domain, &domid, msg, sizeof(msg));
		if (r < 0) {
			ctl_gen_error(gen, r, msg);
			return r;
		}
	}
	switch (req->cmd) {
	case CTL_CMD_PING:
		yajl_gen_map_open(gen);
		j_bool(gen, "ok", true);
		j_key(gen, "result");
		yajl_gen_map_open(gen);
		j_str(gen, "backend", host->backend);
		j_u64(gen, "pid", (uint64_t)getpid());
		yajl_gen_map_close(gen);
		yajl_gen_map_close(gen);
		return 0;
	case CTL_CMD_LIST:
		return exec_list(host, gen);
	case CTL_CMD_JOURNAL:
		return exec_journal(host, gen);
	case CTL_CMD_INFO:
		gen_ok_domain(host, gen, domid, true);
		return 0;
	case CTL_CMD_ATTACH:
		r = hotmem_attach(host->hm, domid, &params);
		if (r == -EEXIST && req->max_bytes)
			r = hotmem_set_max(host->hm, domid, req->max_bytes);
		else if (r == -EEXIST)
			r = 0; /* attaching twice is what the operator wanted anyway */
		break;
	case CTL_CMD_DETACH:
		r = hotmem_detach(host->hm, domid);
		break;
	case CTL_CMD_ABANDON:
		return exec_abandon(host, req, domid, gen);
	case CTL_CMD_SIM_ECHO:
		return exec_sim_echo(host, req, gen);
	case CTL_CMD_SIM_DESTROY:
		r = host->sim_host ? sim_host_destroy_domain(host->sim_host, domid) : -EOPNOTSUPP;
		break;
	case CTL_CMD_POLICY:
	case CTL_CMD_TOP:
		msgf(msg, sizeof(msg),
		     "%s needs hotmemd: the autoscaling policy lives in the daemon (hotmemd(8))",
		     ctl_cmd_name(req->cmd));
		ctl_gen_error(gen, -EOPNOTSUPP, msg);
		return -EOPNOTSUPP;
	case CTL_CMD_SIM_GUEST:
		return exec_sim_guest(host, req, domid, gen);
	case CTL_CMD_METRICS:
		return ctl_metrics_exec(host, req, gen);
	case CTL_CMD_SIM_CHECK:
		if (!host->sim_host) {
			r = -EOPNOTSUPP;
			break;
		}
		r = sim_host_check(host->sim_host, msg, sizeof(msg));
		if (r < 0) {
			ctl_gen_error(gen, r, msg);
			return r;
		}
		yajl_gen_map_open(gen);
		j_bool(gen, "ok", true);
		j_key(gen, "result");
		yajl_gen_map_open(gen);
		yajl_gen_map_close(gen);
		yajl_gen_map_close(gen);
		return 0;
	default:
		ctl_gen_error(gen, -EINVAL, "not a command that finishes at once");
		return -EINVAL;
	}
	if (r < 0) {
		if (r == -EOPNOTSUPP)
			msgf(msg, sizeof(msg), "%s works only on a hotmemd --hv sim",
			     ctl_cmd_name(req->cmd));
		else
			msgf(msg, sizeof(msg), "domain '%s' (d%" PRIu32 "): cannot %s: %s",
			     req->domain, domid, ctl_cmd_name(req->cmd), attach_strerror(r));
		ctl_gen_error(gen, r, msg);
		return r;
	}
	if (req->cmd == CTL_CMD_SIM_DESTROY) {
		yajl_gen_map_open(gen);
		j_bool(gen, "ok", true);
		j_key(gen, "result");
		yajl_gen_map_open(gen);
		j_u64(gen, "domid", domid);
		yajl_gen_map_close(gen);
		yajl_gen_map_close(gen);
		return 0;
	}
	gen_ok_domain(host, gen, domid, false);
	return 0;
}

/* ---- operations --------------------------------------------------------- */

const char *ctl_op_strerror(enum ctl_cmd cmd, int err)
{
	switch (err) {
	case -ENOENT:
		return "the domain is not attached (xl-hotmem attach DOM)";
	case -ESRCH:
		return "the domain is dying or gone (its books were released)";
	case -EBUSY:
		return "another operation is running on it, or a request still waits for the "
		       "guest's ack";
	case -EAGAIN:
		return "the guest driver is not ready (is xen_hotmem loaded in the guest?)";
	case -EPROTO:
		return cmd == CTL_CMD_NONE ? "the guest's answer broke the protocol; the "
					     "request stays outstanding"
					   : "the guest's hotmem keys break the protocol";
	case -EOPNOTSUPP:
		return "the guest did not negotiate shrink";
	case -EDQUOT:
		return "it would pass the domain's hotmem maximum (xl-hotmem attach --max)";
	case -ENOSPC:
		return "no run of that many free blocks in the domain's window";
	case -ENOMEM:
		return "the host lacks the memory (above its reserve)";
	case -ERANGE:
		return "that is more than the domain was granted";
	case -EOVERFLOW:
		return "request sequence numbers are exhausted (detach and attach again)";
	case -EREMOTEIO:
		return "the guest did only part of it; the rest was given back";
	case -ETIMEDOUT:
		return "the guest did not answer in time; the request stays outstanding and "
		       "finishes when it answers";
	case -ENOLINK:
		return "the guest driver broke or closed without answering; the request stays "
		       "outstanding";
	case -EUCLEAN:
		return "the domain's journal record does not parse (see xl-hotmem journal)";
	case -ECANCELED:
		return "hotmemd is stopping";
	}
	return strerror(-err);
}

static enum hotmem_op_kind cmd_kind(enum ctl_cmd cmd)
{
	return cmd == CTL_CMD_GROW     ? HOTMEM_OP_KIND_GROW
	       : cmd == CTL_CMD_SHRINK ? HOTMEM_OP_KIND_SHRINK
				       : HOTMEM_OP_KIND_SET;
}

static void op_fail(struct ctl_op *op, int err, bool result)
{
	char size[32];

	hotmem_format_size(size, sizeof(size), op->req.bytes);
	op->error = err;
	/* A refusal changed nothing ("cannot grow"); a result says what happened. */
	msgf(op->msg, sizeof(op->msg), "domain '%s' (d%" PRIu32 "): %s%s %s %s: %s", op->name,
	     op->domid, result ? "" : "cannot ", ctl_cmd_name(op->req.cmd),
	     op->req.cmd == CTL_CMD_SET ? "to" : "by", size,
	     ctl_op_strerror(result ? CTL_CMD_NONE : op->req.cmd, err));
}

static int op_try_start(struct ctl_host *host, struct ctl_op *op, uint64_t now_ms)
{
	int r = hotmem_op_start(host->hm, op->domid, cmd_kind(op->req.cmd), op->req.bytes, &op->op);

	/* An operator expects grow on a never-attached domain to attach it. */
	if (r == -ENOENT && !op->attached_now &&
	    (op->req.cmd == CTL_CMD_GROW || (op->req.cmd == CTL_CMD_SET && op->req.bytes))) {
		r = hotmem_attach(host->hm, op->domid, NULL);
		if (r < 0) {
			op->error = r;
			msgf(op->msg, sizeof(op->msg),
			     "domain '%s' (d%" PRIu32 "): cannot attach: %s", op->name, op->domid,
			     attach_strerror(r));
			return r;
		}
		op->attached_now = true;
		op->ready_deadline_ms = now_ms + CTL_READY_TIMEOUT_MS;
		r = hotmem_op_start(host->hm, op->domid, cmd_kind(op->req.cmd), op->req.bytes,
				    &op->op);
	}
	if (r == -EAGAIN && op->attached_now && now_ms < op->ready_deadline_ms)
		return -EAGAIN;
	if (r < 0)
		op_fail(op, r, false);
	return r;
}

int ctl_op_begin(struct ctl_host *host, const struct ctl_request *req, uint64_t now_ms,
		 struct ctl_op *op)
{
	int r;

	memset(op, 0, sizeof(*op));
	op->req = *req;
	snprintf(op->name, sizeof(op->name), "%s", req->domain);
	r = ctl_resolve_domain(host, req->domain, &op->domid, op->msg, sizeof(op->msg));
	if (r < 0) {
		op->error = r;
		return r;
	}
	ctl_domain_name(host, op->domid, op->name, sizeof(op->name));
	if (req->cmd != CTL_CMD_SET && !req->bytes) {
		op->error = -EINVAL;
		msgf(op->msg, sizeof(op->msg), "domain '%s' (d%" PRIu32 "): %s by 0 bytes",
		     op->name, op->domid, ctl_cmd_name(req->cmd));
		return -EINVAL;
	}
	return op_try_start(host, op, now_ms);
}

int ctl_op_step(struct ctl_host *host, struct ctl_op *op, uint64_t now_ms)
{
	if (op->op || op->error)
		return op->error;
	return op_try_start(host, op, now_ms);
}

bool ctl_op_done(const struct ctl_op *op)
{
	return op->error || (op->op && hotmem_op_done(op->op));
}

int ctl_op_reply(struct ctl_host *host, struct ctl_op *op, yajl_gen gen)
{
	struct hotmem_domain_info info;
	struct hotmem_result res;

	if (!op->op || hotmem_op_result(op->op, &res) < 0) {
		ctl_gen_error(gen, op->error ? op->error : -EINPROGRESS,
			      op->msg[0] ? op->msg : "operation not done");
		return op->error ? op->error : -EINPROGRESS;
	}
	if (res.error)
		op_fail(op, res.error, true);
	yajl_gen_map_open(gen);
	j_bool(gen, "ok", res.error == 0);
	if (res.error) {
		j_u64(gen, "errno", (uint64_t)-res.error);
		j_str(gen, "error", op->msg);
	}
	j_key(gen, "result");
	yajl_gen_map_open(gen);
	j_u64(gen, "domid", op->domid);
	j_str(gen, "name", op->name);
	j_str(gen, "op", ctl_cmd_name(op->req.cmd));
	j_str(gen, "done_as", ctl_kind_name(res.kind));
	j_u64(gen, "requested_bytes", op->req.bytes);
	j_bool(gen, "attached_now", op->attached_now);
	j_u64(gen, "error", (uint64_t)-res.error);
	j_u64(gen, "seq", res.seq);
	j_u64(gen, "blocks_requested", res.blocks_requested);
	j_u64(gen, "blocks_done", res.blocks_done);
	j_u64(gen, "bytes_done", res.bytes_done);
	j_u64(gen, "usable_bytes_done", res.usable_bytes_done);
	j_u64(gen, "target_bytes_done", res.target_bytes_done);
	j_str(gen, "guest_status", res.have_ack ? hotmem_status_token(res.guest_status) : NULL);
	j_u64(gen, "pages_populated", res.pages_populated);
	j_u64(gen, "pages_reclaimed", res.pages_reclaimed);
	j_u64(gen, "pages_skipped", res.pages_skipped);
	j_bool(gen, "fill_complete", res.fill_complete);
	if (hotmem_domain_info(host->hm, op->domid, &info) == 0) {
		j_u64(gen, "granted_blocks", info.granted_blocks);
		j_u64(gen, "granted_bytes", info.granted_bytes);
	}
	yajl_gen_map_close(gen);
	yajl_gen_map_close(gen);
	return res.error;
}

void ctl_op_release(struct ctl_op *op)
{
	hotmem_op_free(op->op);
	op->op = NULL;
}

void ctl_gen_progress(yajl_gen gen, const struct hotmem_progress *p)
{
	static const char *const events[] = {
		[HOTMEM_PROGRESS_POPULATED] = "populated",
		[HOTMEM_PROGRESS_ONLINE] = "online",
		[HOTMEM_PROGRESS_REFUSED] = "refused",
		[HOTMEM_PROGRESS_ROLLED_BACK] = "rolled-back",
		[HOTMEM_PROGRESS_RECLAIMED] = "reclaimed",
	};

	yajl_gen_map_open(gen);
	j_str(gen, "event", "progress");
	j_u64(gen, "domid", p->domid);
	j_u64(gen, "seq", p->seq);
	j_str(gen, "op", ctl_kind_name(p->kind));
	j_str(gen, "what",
	      (unsigned int)p->event <= HOTMEM_PROGRESS_RECLAIMED ? events[p->event] : "?");
	j_u64(gen, "block", p->block);
	j_u64(gen, "gpa", p->gpa);
	j_u64(gen, "bytes", p->bytes);
	yajl_gen_map_close(gen);
}

/* ---- lock --------------------------------------------------------------- */

/* Append text to buf at *pos, every byte but [A-Za-z0-9.] as _XX (a file name). */
static int lock_name_append(char *buf, size_t size, size_t *pos, const char *text, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '.';

		if (*pos + (plain ? 1 : 3) >= size)
			return -ENAMETOOLONG;
		if (plain) {
			buf[(*pos)++] = (char)c;
		} else {
			buf[(*pos)++] = '_';
			buf[(*pos)++] = hex[c >> 4];
			buf[(*pos)++] = hex[c & 15];
		}
	}
	buf[*pos] = '\0';
	return 0;
}

int ctl_lock_path(const char *backend, const char *journal_dir, const char *socket_path, char *buf,
		  size_t size)
{
	const char *dir = getenv("HOTMEM_LOCK_DIR");
	size_t pos, len;
	int n, r;

	/*
	 * A simulated host and its journal live in the process serving the
	 * socket: its lock goes next to the socket (no systemd unit removes
	 * that directory under a running daemon, and tests leave nothing in
	 * the host's /run/lock).
	 */
	if (!strcmp(backend, "sim") && (!dir || !dir[0])) {
		len = strlen(socket_path);
		if (len > 5 && !strcmp(socket_path + len - 5, ".sock"))
			len -= 5;
		n = snprintf(buf, size, "%.*s.lock", (int)len, socket_path);
		return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
	}
	if (!dir || !dir[0])
		dir = CTL_LOCK_DIR;
	n = snprintf(buf, size, "%s/%s", dir, backend);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	pos = (size_t)n;
	r = lock_name_append(buf, size, &pos, journal_dir, strlen(journal_dir));
	/* A simulated host lives in the process serving its socket: so does its journal. */
	if (!r && !strcmp(backend, "sim")) {
		len = strlen(socket_path);
		if (len > 5 && !strcmp(socket_path + len - 5, ".sock"))
			len -= 5;
		r = lock_name_append(buf, size, &pos, "@", 1);
		if (!r)
			r = lock_name_append(buf, size, &pos, socket_path, len);
	}
	if (!r && pos + 5 >= size)
		r = -ENAMETOOLONG;
	if (!r)
		memcpy(buf + pos, ".lock", 6);
	return r;
}

int ctl_lock(const char *lock_path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", lock_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
	}
	/*
	 * The file we locked must still be the one at lock_path: if somebody
	 * removed it (and maybe another engine created and locked a new one)
	 * between our open and flock, our lock guards nothing. Then start over.
	 */
	for (unsigned int attempt = 0; attempt < 8; attempt++) {
		struct stat locked, named;

		fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int r = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;

			close(fd);
			return r;
		}
		if (fstat(fd, &locked) == 0 && stat(lock_path, &named) == 0 &&
		    locked.st_dev == named.st_dev && locked.st_ino == named.st_ino)
			return fd;
		close(fd);
	}
	return -EAGAIN;
}
