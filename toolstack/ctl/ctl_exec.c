/*
 * Running requests on an engine (see ctl.h): domain names and ids as xl
 * takes them, the commands that finish at once (ping, list, info, journal,
 * attach, detach, abandon; a backend's own commands are handed to its
 * ctl_backend_ops->exec), and grow/shrink/set as a small state machine that
 * any loop can drive: begin, step while the guest of a just-attached domain
 * gets ready, reply when the engine says the operation is done. The reply
 * format is ctl_reply.c's, the request format ctl_request.c's.
 */
#include "ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hotmem/units.h"
#include "metrics.h"

#define CTL_MAX_DOMAINS 1024 /* domains listed by `list` */

uint64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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
		snprintf(msg, msg_size, "empty domain name");
		return -EINVAL;
	}
	if (text[strspn(text, "0123456789")] == '\0') {
		errno = 0;
		id = strtoul(text, &end, 10);
		if (errno || id > HOTMEM_DOMID_MAX ||
		    host->hv->ops->domain_info(host->hv, (uint32_t)id, &info) < 0) {
			snprintf(msg, msg_size, "domain %s: no such domain", text);
			return -ESRCH;
		}
		found = (uint32_t)id;
		goto check;
	}
	r = host->hv->ops->xs_directory(host->hv, HV_XS_NO_TXN, "/local/domain", &ids, &nr);
	if (r < 0) {
		snprintf(msg, msg_size, "cannot list /local/domain in xenstore: %s", strerror(-r));
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
		snprintf(msg, msg_size,
			 "domain '%s': the name is ambiguous (%u domains have it): "
			 "use the domain id",
			 text, matches);
		return -ENOTUNIQ;
	}
	if (!matches) {
		snprintf(msg, msg_size, "domain '%s': no such domain", text);
		return -ESRCH;
	}
check:
	if (found == 0) {
		snprintf(msg, msg_size, "domain %s: dom0 cannot be grown by hotmem", text);
		return -EINVAL;
	}
	*ret_domid = found;
	return 0;
}

/* ---- read commands ------------------------------------------------------ */

static void gen_window(yajl_gen gen, const char *key, const struct hotmem_window *window)
{
	ctl_gen_key(gen, key);
	yajl_gen_map_open(gen);
	ctl_gen_u64(gen, "base", window->base);
	ctl_gen_u64(gen, "size", window->size);
	yajl_gen_map_close(gen);
}

static void gen_guest(yajl_gen gen, const struct hotmem_guest_status *gs)
{
	ctl_gen_key(gen, "guest");
	yajl_gen_map_open(gen);
	ctl_gen_str(gen, "state", gs->have_state ? hotmem_state_token(gs->state) : NULL);
	ctl_gen_bool(gen, "ready", gs->ready);
	if (gs->have_version)
		ctl_gen_u64(gen, "version", gs->version);
	if (gs->have_block_size)
		ctl_gen_u64(gen, "block_size", gs->block_size);
	if (gs->have_memmap)
		ctl_gen_u64(gen, "memmap_bytes", gs->memmap_bytes);
	if (gs->have_blocks)
		ctl_gen_u64(gen, "blocks", gs->nr_blocks);
	if (gs->have_ack) {
		ctl_gen_key(gen, "ack");
		yajl_gen_map_open(gen);
		ctl_gen_u64(gen, "seq", gs->ack.seq);
		ctl_gen_str(gen, "status", hotmem_status_token(gs->ack.status));
		ctl_gen_u64(gen, "done", gs->ack.done);
		yajl_gen_map_close(gen);
	}
	if (gs->have_stats) {
		ctl_gen_key(gen, "stats");
		yajl_gen_map_open(gen);
		ctl_gen_u64(gen, "memtotal_bytes", gs->stats.memtotal_kib * 1024);
		ctl_gen_u64(gen, "memavail_bytes", gs->stats.memavail_kib * 1024);
		ctl_gen_u64(gen, "psi_some_avg10", gs->stats.psi_some_avg10);
		ctl_gen_u64(gen, "psi_full_avg10", gs->stats.psi_full_avg10);
		/* Only from a guest that published it (stats-swap): absent is "not known". */
		if (gs->stats.has_swapped)
			ctl_gen_u64(gen, "swapped_bytes", gs->stats.swapped_kib * 1024);
		yajl_gen_map_close(gen);
	}
	yajl_gen_map_close(gen);
}

/* One domain: the hypervisor's view, and the engine's books if attached. */
static void gen_domain_members(struct ctl_host *host, yajl_gen gen, uint32_t domid, bool detailed)
{
	struct hotmem_domain_info info;
	struct hotmem_guest_status gs;
	struct hv_domain_info hvi;
	char name[CTL_DOMAIN_MAX + 1];
	bool attached = hotmem_domain_info(host->hm, domid, &info) == 0;

	ctl_domain_name(host, domid, name, sizeof(name));
	ctl_gen_u64(gen, "domid", domid);
	ctl_gen_str(gen, "name", name);
	if (host->hv->ops->domain_info(host->hv, domid, &hvi) == 0) {
		ctl_gen_u64(gen, "tot_bytes", hvi.tot_pages * HV_PAGE_SIZE);
		ctl_gen_u64(gen, "max_mem_bytes", hvi.max_pages * HV_PAGE_SIZE);
		ctl_gen_bool(gen, "dying", hvi.dying);
	}
	ctl_gen_bool(gen, "attached", attached);
	{
		struct hotmem_reboot_info rb;

		/*
		 * xl rebuilt it from a grown size before we put the configured one
		 * back (rebooted-grown, also while the balloon gives it back), then
		 * the engine gave that memory back (ballooned-back).
		 */
		if (hotmem_reboot_info(host->hm, domid, &rb) == 0 &&
		    (rb.came_back_grown || rb.returning || rb.returned)) {
			ctl_gen_bool(gen, "rebooted_grown", rb.came_back_grown || rb.returning);
			ctl_gen_bool(gen, "ballooned_back", rb.returned);
			ctl_gen_u64(gen, "configured_bytes", rb.static_max_kib << 10);
			ctl_gen_u64(gen, "booted_bytes",
				    (rb.returning || rb.returned ? rb.booted_static_max_kib
								 : rb.now_static_max_kib)
					    << 10);
		}
	}
	if (attached) {
		ctl_gen_u64(gen, "max_bytes", info.max_bytes);
		ctl_gen_u64(gen, "granted_blocks", info.granted_blocks);
		ctl_gen_u64(gen, "granted_bytes", info.granted_bytes);
		ctl_gen_u64(gen, "granted_usable_bytes", info.granted_usable_bytes);
		ctl_gen_u64(gen, "granted_target_bytes", info.granted_target_bytes);
		if (info.have_window) {
			ctl_gen_u64(gen, "block_size", info.block_size);
			gen_window(gen, "window", &info.window);
			ctl_gen_u64(gen, "window_blocks", info.nr_blocks);
		}
		if (info.have_memmap)
			ctl_gen_u64(gen, "memmap_bytes", info.memmap_bytes);
		ctl_gen_bool(gen, "busy", info.busy);
		ctl_gen_bool(gen, "outstanding", info.outstanding);
		ctl_gen_bool(gen, "recovering", info.recovering);
		ctl_gen_bool(gen, "violation", info.violation);
		ctl_gen_u64(gen, "pending_blocks", info.pending_blocks);
		ctl_gen_bool(gen, "frozen", info.frozen);
		ctl_gen_bool(gen, "going_down", info.going_down);
		if (info.frozen) {
			ctl_gen_u64(gen, "frozen_seq", info.frozen_seq);
			ctl_gen_u64(gen, "frozen_bytes", info.frozen_pages << 12);
		}
		if (detailed) {
			ctl_gen_bool(gen, "memmap_in_target", info.memmap_in_target);
			ctl_gen_u64(gen, "last_seq", info.last_seq);
			ctl_gen_key(gen, "granted");
			yajl_gen_array_open(gen);
			for (uint32_t b = 0; b < info.nr_blocks; b++)
				if (hotmem_blocks_test(info.granted, b))
					yajl_gen_integer(gen, b);
			yajl_gen_array_close(gen);
			if (info.outstanding) {
				ctl_gen_key(gen, "outstanding_request");
				yajl_gen_map_open(gen);
				ctl_gen_str(gen, "op", ctl_kind_name(info.outstanding_kind));
				ctl_gen_u64(gen, "seq", info.outstanding_seq);
				ctl_gen_u64(gen, "first", info.outstanding_first);
				ctl_gen_u64(gen, "count", info.outstanding_count);
				yajl_gen_map_close(gen);
			}
		}
		if (hotmem_guest_status(host->hm, domid, &gs) == 0)
			gen_guest(gen, &gs);
	}
}

/* One domain as an object of its own (an entry of list). */
static void gen_domain(struct ctl_host *host, yajl_gen gen, uint32_t domid)
{
	yajl_gen_map_open(gen);
	gen_domain_members(host, gen, domid, false);
	yajl_gen_map_close(gen);
}

static int exec_list(struct ctl_host *host, yajl_gen gen)
{
	uint32_t *ids = calloc(CTL_MAX_DOMAINS, sizeof(*ids));
	size_t nr = 0;
	int r = ids ? host->hv->ops->domain_list(host->hv, ids, CTL_MAX_DOMAINS, &nr) : -ENOMEM;

	if (r < 0) {
		char msg[CTL_MESSAGE_MAX];

		snprintf(msg, sizeof(msg), "cannot list domains: %s", strerror(-r));
		ctl_gen_error(gen, r, msg);
		free(ids);
		return r;
	}
	ctl_gen_reply_begin(gen, 0, NULL);
	ctl_gen_str(gen, "backend", host->backend);
	ctl_gen_key(gen, "domains");
	yajl_gen_array_open(gen);
	for (size_t i = 0; i < nr; i++)
		if (ids[i] != 0)
			gen_domain(host, gen, ids[i]);
	yajl_gen_array_close(gen);
	ctl_gen_reply_end(gen);
	free(ids);
	return 0;
}

/* Every journalled domain's record as stored (hotmem_journal_records()). */
static int exec_journal(struct ctl_host *host, yajl_gen gen)
{
	struct hotmem_journal_record *records = NULL;
	size_t nr = 0;
	int r = hotmem_journal_records(host->hm, &records, &nr);

	if (r < 0) {
		char msg[CTL_MESSAGE_MAX];

		snprintf(msg, sizeof(msg), "cannot read the journal %s: %s", host->journal_dir,
			 strerror(-r));
		ctl_gen_error(gen, r, msg);
		return r;
	}
	ctl_gen_reply_begin(gen, 0, NULL);
	ctl_gen_str(gen, "journal_dir", host->journal_dir);
	ctl_gen_key(gen, "domains");
	yajl_gen_array_open(gen);
	for (size_t i = 0; i < nr; i++) {
		char name[CTL_DOMAIN_MAX + 1];

		ctl_domain_name(host, records[i].domid, name, sizeof(name));
		yajl_gen_map_open(gen);
		ctl_gen_u64(gen, "domid", records[i].domid);
		ctl_gen_str(gen, "name", name);
		ctl_gen_key(gen, "records");
		yajl_gen_map_open(gen);
		for (size_t k = 0; k < records[i].nr_keys; k++)
			ctl_gen_str(gen, records[i].keys[k].key, records[i].keys[k].value);
		yajl_gen_map_close(gen);
		yajl_gen_map_close(gen);
	}
	yajl_gen_array_close(gen);
	ctl_gen_reply_end(gen);
	hotmem_journal_records_free(records, nr);
	return 0;
}

static void gen_ok_domain(struct ctl_host *host, yajl_gen gen, uint32_t domid, bool detailed)
{
	ctl_gen_reply_begin(gen, 0, NULL);
	gen_domain_members(host, gen, domid, detailed);
	ctl_gen_reply_end(gen);
}

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
		snprintf(msg, sizeof(msg), "domain '%s' (d%" PRIu32 "): cannot abandon: %s",
			 req->domain, domid,
			 r == -EALREADY ? "nothing unanswered (no request outstanding)"
			 : r == -EBUSY
				 ? "an operation is running before its request or after its ack"
				 : ctl_attach_strerror(r));
		ctl_gen_error(gen, r, msg);
		return r;
	}
	host->hv->ops->domain_info(host->hv, domid, &after);
	ctl_gen_reply_begin(gen, 0, NULL);
	ctl_gen_u64(gen, "domid", domid);
	ctl_gen_str(gen, "name", req->domain);
	ctl_gen_u64(gen, "seq", res.seq);
	ctl_gen_u64(gen, "reclaimed_bytes",
		    before.tot_pages > after.tot_pages ? (before.tot_pages - after.tot_pages) << 12
						       : 0);
	ctl_gen_u64(gen, "overdrawn_bytes", res.pages_overdrawn << 12);
	ctl_gen_reply_end(gen);
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
	if (ctl_cmd_is_backend(req->cmd)) {
		if (host->backend_ops && host->backend_ops->exec)
			return host->backend_ops->exec(host, req, domid, gen);
		snprintf(msg, sizeof(msg), "%s works only on a hotmemd --hv sim",
			 ctl_cmd_name(req->cmd));
		ctl_gen_error(gen, -EOPNOTSUPP, msg);
		return -EOPNOTSUPP;
	}
	switch (req->cmd) {
	case CTL_CMD_PING:
		ctl_gen_reply_begin(gen, 0, NULL);
		ctl_gen_str(gen, "backend", host->backend);
		ctl_gen_u64(gen, "pid", (uint64_t)getpid());
		ctl_gen_reply_end(gen);
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
	case CTL_CMD_POLICY:
	case CTL_CMD_TOP:
		snprintf(
			msg, sizeof(msg),
			"%s needs hotmemd: the autoscaling policy lives in the daemon (hotmemd(8))",
			ctl_cmd_name(req->cmd));
		ctl_gen_error(gen, -EOPNOTSUPP, msg);
		return -EOPNOTSUPP;
	case CTL_CMD_METRICS:
		return ctl_metrics_exec(host, req, gen);
	default:
		ctl_gen_error(gen, -EINVAL, "not a command that finishes at once");
		return -EINVAL;
	}
	if (r < 0) {
		ctl_gen_domain_error(gen, req, domid, r);
		return r;
	}
	gen_ok_domain(host, gen, domid, false);
	return 0;
}

/* ---- operations --------------------------------------------------------- */

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
	snprintf(op->msg, sizeof(op->msg), "domain '%s' (d%" PRIu32 "): %s%s %s %s: %s", op->name,
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
			snprintf(op->msg, sizeof(op->msg),
				 "domain '%s' (d%" PRIu32 "): cannot attach: %s", op->name,
				 op->domid, ctl_attach_strerror(r));
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
	/* By id: its name for the messages (by name, resolving just read it). */
	if (req->domain[strspn(req->domain, "0123456789")] == '\0')
		ctl_domain_name(host, op->domid, op->name, sizeof(op->name));
	op->resolve_ms = (uint32_t)(ctl_now_ms() - now_ms);
	if (req->cmd != CTL_CMD_SET && !req->bytes) {
		op->error = -EINVAL;
		snprintf(op->msg, sizeof(op->msg), "domain '%s' (d%" PRIu32 "): %s by 0 bytes",
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

/* Where the operation's time went (struct hotmem_op_phases), and ours around it. */
static void gen_phases(yajl_gen gen, const struct ctl_op *op, const struct hotmem_op_phases *ph)
{
	ctl_gen_key(gen, "phases_ms");
	yajl_gen_map_open(gen);
	if (op->open_ms)
		ctl_gen_u64(gen, "open", op->open_ms);
	ctl_gen_u64(gen, "resolve", op->resolve_ms);
	ctl_gen_u64(gen, "start", ph->start_ms);
	ctl_gen_u64(gen, "pool", ph->pool_ms);
	ctl_gen_u64(gen, "populate", ph->populate_ms);
	ctl_gen_u64(gen, "populate_hv", ph->populate_hv_ms);
	ctl_gen_u64(gen, "request", ph->request_ms);
	ctl_gen_u64(gen, "ack_wait", ph->ack_wait_ms);
	ctl_gen_u64(gen, "finish", ph->finish_ms);
	ctl_gen_u64(gen, "reclaim_hv", ph->reclaim_hv_ms);
	ctl_gen_u64(gen, "fill", ph->fill_ms);
	yajl_gen_map_close(gen);
	ctl_gen_u64(gen, "populate_steps", ph->populate_steps);
	ctl_gen_u64(gen, "ack_reads", ph->ack_reads);
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
	ctl_gen_reply_begin(gen, res.error, op->msg);
	ctl_gen_u64(gen, "domid", op->domid);
	ctl_gen_str(gen, "name", op->name);
	ctl_gen_str(gen, "op", ctl_cmd_name(op->req.cmd));
	ctl_gen_str(gen, "done_as", ctl_kind_name(res.kind));
	ctl_gen_u64(gen, "requested_bytes", op->req.bytes);
	ctl_gen_bool(gen, "attached_now", op->attached_now);
	ctl_gen_u64(gen, "error", (uint64_t)-res.error);
	ctl_gen_u64(gen, "seq", res.seq);
	ctl_gen_u64(gen, "blocks_requested", res.blocks_requested);
	ctl_gen_u64(gen, "blocks_done", res.blocks_done);
	ctl_gen_u64(gen, "bytes_done", res.bytes_done);
	ctl_gen_u64(gen, "usable_bytes_done", res.usable_bytes_done);
	ctl_gen_u64(gen, "target_bytes_done", res.target_bytes_done);
	ctl_gen_str(gen, "guest_status",
		    res.have_ack ? hotmem_status_token(res.guest_status) : NULL);
	ctl_gen_u64(gen, "pages_populated", res.pages_populated);
	ctl_gen_u64(gen, "pages_reclaimed", res.pages_reclaimed);
	ctl_gen_u64(gen, "pages_skipped", res.pages_skipped);
	ctl_gen_bool(gen, "fill_complete", res.fill_complete);
	gen_phases(gen, op, &res.phases);
	if (hotmem_domain_info(host->hm, op->domid, &info) == 0) {
		ctl_gen_u64(gen, "granted_blocks", info.granted_blocks);
		ctl_gen_u64(gen, "granted_bytes", info.granted_bytes);
	}
	ctl_gen_reply_end(gen);
	return res.error;
}

void ctl_op_release(struct ctl_op *op)
{
	hotmem_op_free(op->op);
	op->op = NULL;
}
