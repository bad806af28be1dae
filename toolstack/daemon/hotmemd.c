/*
 * hotmemd: the long-running owner of hotmem's journal. It takes the engine
 * lock, opens the engine on Xen (or on a simulated host with --hv sim),
 * reconciles whatever a previous process left, and then serves xl-hotmem over
 * a unix socket (one JSON request per connection and line; progress events and
 * the reply come back one JSON object per line; docs/toolstack.md). One
 * single-threaded poll loop drives everything without blocking: the engine's
 * fd and timeout (guest protocol keys, @releaseDomain, ack and fill timers),
 * the listening socket and its clients, a signalfd for SIGTERM, SIGINT and
 * SIGHUP, and, when /etc/hotmem/hotmem.conf (--config) exists, the
 * autoscaler's tick (autoscale.c), whose grows and shrinks run as operations
 * like an operator's. A config that does not parse stops the start; SIGHUP reads it
 * again, and one that does not parse then changes nothing. It logs once per
 * decision (operation started, ended, domain released, reconcile, policy
 * decision), to stderr with -F and to syslog otherwise. On SIGTERM it stops
 * accepting, lets in-flight operations end (the engine bounds each by its ack
 * and fill timeouts; what is still outstanding stays journalled) and exits.
 */
#define _GNU_SOURCE /* accept4, struct ucred */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "autoscale.h"
#include "ctl.h"
#include "sim_ctl.h"
#include "sim_options.h"
#include "hotmem/units.h"
#include "hotmemd.h"
#include "observe.h"

#define HOTMEMD_MAX_CLIENTS   64 /* connections served at once; more wait in listen() */
#define HOTMEMD_MAX_DOMAINS   1024
#define HOTMEMD_READY_POLL_MS 50 /* how often a just-attached guest is looked at */
/* A client that reads nothing of its pending output for this long is dropped. */
#define HOTMEMD_SEND_TIMEOUT_MS 2000
/* Output queued for one client at most (a `list` of thousands of domains fits). */
#define HOTMEMD_OUT_MAX (64u << 20)
/* Extra time on top of the engine's own timeouts before a stop stops waiting. */
#define HOTMEMD_STOP_SLACK_MS 5000

/* One connection (fd >= 0) or one policy request (fd -1), with its operation. */
struct client {
	bool used;
	int fd;
	char buf[CTL_LINE_MAX + 1];
	size_t len;
	bool has_op;
	struct ctl_op op;
	uint64_t lo_gpa, hi_gpa; /* range the operation touched, for its log line */
	uint32_t blocks_seen;
	/* A policy request (fd -1): why, and the target a release ends at (0: none). */
	char why[2 * HOTMEM_POLICY_REASON_MAX];
	uint64_t target_after;
	/*
	 * Output not yet taken by the client, flushed on POLLOUT: the socket is
	 * non-blocking, so a reply bigger than its buffer (a `list` of
	 * hundreds of domains) waits here instead of being cut. A client that
	 * takes nothing for HOTMEMD_SEND_TIMEOUT_MS is dropped.
	 */
	char *out;
	size_t out_len, out_off;
	uint64_t out_deadline_ms;
	bool closing; /* replied: close once the output is out */
};

struct hotmemd {
	bool foreground;
	const char *hv_name;
	char socket_path[4096];
	char lock_path[4096];
	struct sim_host_config sim_cfg;
	struct ctl_host host;
	struct hotmem_config cfg;
	int lock_fd, listen_fd, signal_fd;
	bool stopping;
	uint64_t stop_deadline_ms;
	struct client clients[HOTMEMD_MAX_CLIENTS];
	/* Attached domains after the last dispatch, to notice releases. */
	uint32_t attached[HOTMEMD_MAX_DOMAINS];
	uint32_t attached_granted[HOTMEMD_MAX_DOMAINS];
	size_t nr_attached;
	const char *config_path; /* the policy's file */
	bool config_given;	 /* --config: its absence is an error */
	struct autoscale *as;	 /* NULL: no policy, nothing automatic */
	uint64_t next_tick_ms;
};

static struct hotmemd daemon_state;

static void vhlog(int priority, const char *fmt, va_list args)
{
	if (observe_log(priority, fmt, args))
		return;
	if (daemon_state.foreground) {
		/* One write per line, so lines of a busy daemon never interleave. */
		char line[1024];
		int n = vsnprintf(line, sizeof(line) - 1, fmt, args);

		if (n < 0)
			return;
		if ((size_t)n > sizeof(line) - 2)
			n = (int)sizeof(line) - 2;
		line[n++] = '\n';
		fputs("hotmemd: ", stderr);
		fwrite(line, 1, (size_t)n, stderr);
		fflush(stderr);
	} else {
		vsyslog(priority, fmt, args);
	}
}

void hotmemd_log(int priority, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vhlog(priority, fmt, args);
	va_end(args);
}

int hotmemd_log_errno(int priority, int err, const char *fmt, ...)
{
	char msg[768];
	va_list args;

	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	hotmemd_log(priority, "%s: %s", msg, strerror(-err));
	return err;
}

#define hlog	   hotmemd_log
#define hlog_errno hotmemd_log_errno

/* ---- replies ------------------------------------------------------------ */

static void client_free(struct client *c)
{
	if (c->has_op)
		ctl_op_release(&c->op);
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Write what the socket takes now. False if the client is gone (error). */
static bool client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0)
			return false;
		c->out_off += (size_t)n;
		c->out_deadline_ms = ctl_now_ms() + HOTMEMD_SEND_TIMEOUT_MS;
	}
	c->out_off = c->out_len = 0;
	return true;
}

/* Queue gen's buffer as one line, send what goes now, and reset gen. */
static void client_send(struct client *c, yajl_gen gen)
{
	const unsigned char *text;
	size_t len;

	yajl_gen_get_buf(gen, &text, &len);
	if (c->fd >= 0 && c->out_len + len + 1 <= HOTMEMD_OUT_MAX) {
		char *out = realloc(c->out, c->out_len + len + 1);

		if (out) {
			if (c->out_off == c->out_len)
				c->out_deadline_ms = ctl_now_ms() + HOTMEMD_SEND_TIMEOUT_MS;
			memcpy(out + c->out_len, text, len);
			out[c->out_len + len] = '\n';
			c->out = out;
			c->out_len += len + 1;
		}
		if (!client_flush(c))
			c->out_off = c->out_len = 0; /* gone: nothing more to send */
	}
	yajl_gen_clear(gen);
	yajl_gen_reset(gen, NULL);
}

/*
 * Done with a client: its operation (if any) is let go; the connection stays
 * until its output is out or its deadline passes.
 */
static void client_close(struct client *c)
{
	if (c->fd >= 0 && c->out_off < c->out_len) {
		if (c->has_op)
			ctl_op_release(&c->op);
		c->has_op = false;
		c->closing = true;
		return;
	}
	client_free(c);
}

static struct client *client_new(struct hotmemd *d, int fd)
{
	for (int i = 0; i < HOTMEMD_MAX_CLIENTS; i++) {
		struct client *c = &d->clients[i];

		if (!c->used) {
			memset(c, 0, sizeof(*c));
			c->used = true;
			c->fd = fd;
			return c;
		}
	}
	return NULL;
}

/* ---- operations --------------------------------------------------------- */

static void progress_cb(void *opaque, const struct hotmem_progress *p)
{
	struct hotmemd *d = opaque;
	yajl_gen gen;

	for (int i = 0; i < HOTMEMD_MAX_CLIENTS; i++) {
		struct client *c = &d->clients[i];

		if (!c->used || !c->has_op || c->op.domid != p->domid || !c->op.op)
			continue;
		if (!c->blocks_seen || p->gpa < c->lo_gpa)
			c->lo_gpa = p->gpa;
		if (p->gpa + p->bytes - 1 > c->hi_gpa)
			c->hi_gpa = p->gpa + p->bytes - 1;
		c->blocks_seen++;
		gen = yajl_gen_alloc(NULL);
		if (!gen)
			return;
		ctl_gen_progress(gen, p);
		client_send(c, gen);
		yajl_gen_free(gen);
		return;
	}
}

/* The engine's reboot steps of grown domains: one log line each. */
static void reboot_cb(void *opaque, const struct hotmem_reboot_note *n)
{
	struct hotmemd *d = opaque;
	char name[CTL_DOMAIN_MAX + 1];

	ctl_domain_name(&d->host, n->domid, name, sizeof(name));
	switch (n->event) {
	case HOTMEM_REBOOT_RESTORED:
		hlog(LOG_INFO,
		     "d%" PRIu32 " (%s): %s%s: memory/target %" PRIu64 " KiB, static-max %" PRIu64
		     " KiB back to the configured size for xl's rebuild",
		     n->domid, name, n->notice >= 0 ? "announced " : "shut down",
		     n->notice >= 0 ? hotmem_shutdown_token((enum hotmem_shutdown)n->notice) : "",
		     n->target_kib, n->static_max_kib);
		break;
	case HOTMEM_REBOOT_RETURNING:
		hlog(LOG_WARNING,
		     "d%" PRIu32 " (%s): xl rebuilt it with %" PRIu64
		     " KiB of boot RAM, configured %" PRIu64
		     " KiB (rebooted without notice before the size was put back): memory/target "
		     "%" PRIu64 " KiB, the balloon gives the rest back",
		     n->domid, name, n->booted_kib, n->static_max_kib, n->target_kib);
		break;
	case HOTMEM_REBOOT_RETURNED:
		hlog(LOG_INFO,
		     "d%" PRIu32 " (%s): ballooned back to %" PRIu64
		     " pages: max memory and static-max "
		     "%" PRIu64 " KiB again (it booted with %" PRIu64 " KiB)",
		     n->domid, name, n->tot_pages, n->static_max_kib, n->booted_kib);
		break;
	}
}

static void op_log_end(struct hotmemd *d, struct client *c, int err)
{
	char size[32];

	observe_op_ended(&d->host, &c->op, err);
	hotmem_format_size(size, sizeof(size), c->op.req.bytes);
	if (!c->op.op) {
		hlog(LOG_WARNING, "%s%s", c->fd < 0 ? "policy: " : "", c->op.msg);
	} else if (err) {
		hlog(LOG_WARNING, "%s%s [%#" PRIx64 "-%#" PRIx64 "]", c->fd < 0 ? "policy: " : "",
		     c->op.msg, c->lo_gpa, c->hi_gpa);
	} else {
		struct hotmem_result res;

		hotmem_op_result(c->op.op, &res);
		hlog(LOG_INFO,
		     "%sd%" PRIu32 " (%s): %s %s %s done: %" PRIu32 " blocks %s [%#" PRIx64
		     "-%#" PRIx64 "] (seq %" PRIu32 ")",
		     c->fd < 0 ? "policy: " : "", c->op.domid, c->op.name,
		     ctl_cmd_name(c->op.req.cmd), c->op.req.cmd == CTL_CMD_SET ? "to" : "by", size,
		     res.blocks_done, res.kind == HOTMEM_OP_KIND_SHRINK ? "reclaimed" : "online",
		     c->lo_gpa, c->hi_gpa, res.seq);
	}
}

/* Reply to every operation that ended (or gave up waiting for its guest). */
static void ops_settle(struct hotmemd *d)
{
	uint64_t now = ctl_now_ms();
	yajl_gen gen = NULL;

	for (int i = 0; i < HOTMEMD_MAX_CLIENTS; i++) {
		struct client *c = &d->clients[i];
		int err;

		if (!c->used || !c->has_op)
			continue;
		if (!c->op.op && !c->op.error) {
			if (d->stopping) {
				char msg[sizeof(c->op.msg)];

				/* Through a local: gcc's -Wrestrict takes op.name and
				 * op.msg for one object. */
				snprintf(msg, sizeof(msg),
					 "domain '%s' (d%" PRIu32 "): hotmemd is stopping",
					 c->op.name, c->op.domid);
				memcpy(c->op.msg, msg, sizeof(msg));
				c->op.error = -ECANCELED;
			} else if (ctl_op_step(&d->host, &c->op, now) == -EAGAIN) {
				continue;
			} else if (c->op.op) {
				hlog(LOG_INFO, "d%" PRIu32 " (%s): guest ready, %s started",
				     c->op.domid, c->op.name, ctl_cmd_name(c->op.req.cmd));
			}
		}
		if (!ctl_op_done(&c->op))
			continue;
		if (!gen)
			gen = yajl_gen_alloc(NULL);
		if (!gen)
			return;
		err = ctl_op_reply(&d->host, &c->op, gen);
		op_log_end(d, c, err);
		if (c->fd < 0 && d->as) {
			struct hotmem_result res;
			bool have = c->op.op && hotmem_op_result(c->op.op, &res) == 0;

			autoscale_op_ended(d->as, c->op.domid, have ? &res : NULL, c->target_after);
		}
		client_send(c, gen);
		client_close(c);
	}
	if (gen)
		yajl_gen_free(gen);
}

static bool ops_active(struct hotmemd *d)
{
	for (int i = 0; i < HOTMEMD_MAX_CLIENTS; i++)
		if (d->clients[i].used && d->clients[i].has_op)
			return true;
	return false;
}

static bool ops_waiting_ready(struct hotmemd *d)
{
	for (int i = 0; i < HOTMEMD_MAX_CLIENTS; i++) {
		struct client *c = &d->clients[i];

		if (c->used && c->has_op && !c->op.op && !c->op.error)
			return true;
	}
	return false;
}

static int op_begin(struct hotmemd *d, struct client *c, const struct ctl_request *req)
{
	char size[32];
	int r;

	c->has_op = true;
	observe_op_begun(&c->op);
	r = ctl_op_begin(&d->host, req, ctl_now_ms(), &c->op);
	hotmem_format_size(size, sizeof(size), req->bytes);
	if (c->op.attached_now)
		hlog(LOG_INFO, "d%" PRIu32 " (%s): attached (implicitly, by %s)", c->op.domid,
		     c->op.name, ctl_cmd_name(req->cmd));
	if (r == 0)
		hlog(LOG_INFO, "%sd%" PRIu32 " (%s): %s %s %s started%s%s%s",
		     c->fd < 0 ? "policy: " : "", c->op.domid, c->op.name, ctl_cmd_name(req->cmd),
		     req->cmd == CTL_CMD_SET ? "to" : "by", size, c->why[0] ? " (" : "", c->why,
		     c->why[0] ? ")" : "");
	if ((r == 0 || r == -EAGAIN) && d->as)
		autoscale_op_begun(d->as, c->op.domid,
				   req->cmd == CTL_CMD_GROW	? HOTMEM_OP_KIND_GROW
				   : req->cmd == CTL_CMD_SHRINK ? HOTMEM_OP_KIND_SHRINK
								: HOTMEM_OP_KIND_SET,
				   req->bytes, ctl_now_ms());
	return r == -EAGAIN ? 0 : r;
}

/*
 * The autoscaler's start_op (autoscale.h): a grow or shrink the policy
 * decided runs in a client slot without a connection (fd -1), exactly like
 * an operator's; its end goes to autoscale_op_ended() from ops_settle().
 */
static int policy_start_op(void *opaque, uint32_t domid, enum hotmem_op_kind kind, uint64_t bytes,
			   const char *why, uint64_t target_after)
{
	struct hotmemd *d = opaque;
	struct ctl_request req = { .bytes = bytes };
	struct client *c;
	int r;

	if (d->stopping)
		return -EBUSY;
	req.cmd = kind == HOTMEM_OP_KIND_GROW	  ? CTL_CMD_GROW
		  : kind == HOTMEM_OP_KIND_SHRINK ? CTL_CMD_SHRINK
						  : CTL_CMD_SET;
	snprintf(req.domain, sizeof(req.domain), "%" PRIu32, domid);
	c = client_new(d, -1);
	if (!c)
		return -EBUSY;
	snprintf(c->why, sizeof(c->why), "%s", why ? why : "");
	c->target_after = target_after;
	r = op_begin(d, c, &req);
	if (r < 0) {
		op_log_end(d, c, r);
		client_close(c);
	}
	return r;
}

static void policy_log(void *opaque, int priority, const char *fmt, va_list args)
{
	vhlog(priority, fmt, args);
}

static const struct autoscale_ops policy_ops = {
	.start_op = policy_start_op,
	.log = policy_log,
};

/* ---- requests ----------------------------------------------------------- */

static void handle_request(struct hotmemd *d, struct client *c, size_t len)
{
	struct ctl_request req;
	char msg[CTL_MESSAGE_MAX];
	yajl_gen gen = yajl_gen_alloc(NULL);
	int r;

	if (!gen) {
		client_close(c);
		return;
	}
	r = ctl_request_parse(c->buf, len, &req, msg, sizeof(msg));
	if (r == 0 && d->stopping && req.cmd != CTL_CMD_PING) {
		r = -ECANCELED;
		snprintf(msg, sizeof(msg), "hotmemd is stopping: no new requests");
	}
	if (r < 0) {
		ctl_gen_error(gen, r, msg);
	} else if (ctl_cmd_needs_daemon(req.cmd) && !d->as) {
		r = -EOPNOTSUPP;
		snprintf(msg, sizeof(msg),
			 "the policy is off: hotmemd has no config file (%s); write it and "
			 "reload hotmemd (SIGHUP)",
			 d->config_path);
		ctl_gen_error(gen, r, msg);
	} else if (ctl_cmd_needs_daemon(req.cmd)) {
		autoscale_request(d->as, &req, ctl_now_ms(), gen);
	} else if (ctl_cmd_is_op(req.cmd)) {
		if (op_begin(d, c, &req) == 0) {
			yajl_gen_free(gen);
			ops_settle(d); /* a set with nothing to do is done at once */
			return;
		}
		r = ctl_op_reply(&d->host, &c->op, gen);
		op_log_end(d, c, r);
	} else {
		/* Queries change nothing: only these are logged. */
		bool changes = req.cmd == CTL_CMD_ATTACH || req.cmd == CTL_CMD_DETACH ||
			       req.cmd == CTL_CMD_SIM_DESTROY;

		r = ctl_exec_now(&d->host, &req, gen);
		if (changes && r < 0)
			hlog_errno(LOG_WARNING, r, "%s %s", ctl_cmd_name(req.cmd), req.domain);
		else if (changes)
			hlog(LOG_INFO, "%s %s: done", ctl_cmd_name(req.cmd), req.domain);
	}
	client_send(c, gen);
	yajl_gen_free(gen);
	client_close(c);
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	/* The socket is 0600 already; this also holds if its mode is loosened. */
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	       (cred.uid == 0 || cred.uid == geteuid());
}

static void handle_accept(struct hotmemd *d)
{
	int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct client *c;

	if (fd < 0)
		return;
	if (!peer_allowed(fd)) {
		hlog(LOG_WARNING, "refused a client that is neither root nor our user");
		close(fd);
		return;
	}
	c = client_new(d, fd);
	if (!c)
		close(fd);
}

static void handle_client_input(struct hotmemd *d, struct client *c)
{
	ssize_t n = recv(c->fd, c->buf + c->len, CTL_LINE_MAX - c->len, 0);
	char *nl;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* A client that hangs up leaves its operation running in the engine. */
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	nl = memchr(c->buf, '\n', c->len);
	if (nl) {
		handle_request(d, c, (size_t)(nl - c->buf));
	} else if (c->len == CTL_LINE_MAX) {
		yajl_gen gen = yajl_gen_alloc(NULL);

		if (gen) {
			ctl_gen_error(gen, -EMSGSIZE, "request line too long");
			client_send(c, gen);
			yajl_gen_free(gen);
		}
		client_close(c);
	}
}

/* ---- domains ------------------------------------------------------------ */

/*
 * The engine releases the record of a domain that died (it watches
 * @releaseDomain on the connection it owns); the daemon notices the domain
 * leaving the attached list and logs it once.
 */
static void track_releases(struct hotmemd *d)
{
	uint32_t now[HOTMEMD_MAX_DOMAINS], granted[HOTMEMD_MAX_DOMAINS];
	size_t nr = 0;

	if (hotmem_list(d->host.hm, now, HOTMEMD_MAX_DOMAINS, &nr) < 0)
		return;
	for (size_t i = 0; i < d->nr_attached; i++) {
		bool still = false;

		for (size_t j = 0; j < nr && !still; j++)
			still = now[j] == d->attached[i];
		if (!still)
			hlog(LOG_NOTICE,
			     "d%" PRIu32 ": released (domain gone or detached; %" PRIu32
			     " blocks were granted)",
			     d->attached[i], d->attached_granted[i]);
	}
	for (size_t j = 0; j < nr; j++) {
		struct hotmem_domain_info info;

		granted[j] = hotmem_domain_info(d->host.hm, now[j], &info) == 0
				     ? info.granted_blocks
				     : 0;
	}
	memcpy(d->attached, now, nr * sizeof(now[0]));
	memcpy(d->attached_granted, granted, nr * sizeof(granted[0]));
	d->nr_attached = nr;
}

/* ---- setup and the loop ------------------------------------------------- */

#ifdef HOTMEM_HAVE_XEN
static int open_xen(struct hv **ret_hv, char *msg, size_t msg_size)
{
	int r = hv_xen_open(ret_hv);

	if (r < 0)
		ctl_xen_open_failed(r, msg, msg_size);
	return r;
}
#endif

/* The backend, the engine and its reconcile (ctl_host_open()), each logged. */
static int open_host(struct hotmemd *d)
{
	struct ctl_host_params params = { .backend = d->hv_name, .engine = &d->cfg };
	struct hotmem_reconcile_report report = { 0 };
	char msg[CTL_MESSAGE_MAX], summary[256];
	int r, reconcile_err;

	if (!strcmp(d->hv_name, "sim")) {
		sim_options_finish(&d->sim_cfg);
		params.ops = &sim_ctl_ops;
		params.backend_config = &d->sim_cfg;
	}
#ifdef HOTMEM_HAVE_XEN
	params.open_xen = open_xen;
#endif
	d->cfg.progress = progress_cb;
	d->cfg.progress_opaque = d;
	d->cfg.reboot = reboot_cb;
	d->cfg.reboot_opaque = d;
	r = ctl_host_open(&d->host, &params, &report, &reconcile_err, msg, sizeof(msg));
	if (r < 0) {
		hlog(LOG_ERR, "%s", msg);
		return r;
	}
	if (params.ops)
		hlog(LOG_INFO, "simulated host: %u domain(s), %" PRIu64 " MiB",
		     d->sim_cfg.nr_domains, d->sim_cfg.host_bytes >> 20);
	r = reconcile_err;
	snprintf(summary, sizeof(summary),
		 "reconcile: %" PRIu32 " journalled domain(s): %" PRIu32 " released, %" PRIu32
		 " rolled back, %" PRIu32 " finished, %" PRIu32 " outstanding, %" PRIu32 " failed",
		 report.domains, report.released, report.rolled_back, report.finished,
		 report.outstanding, report.failed);
	if (r < 0)
		hlog_errno(LOG_WARNING, r, "%s", summary);
	else
		hlog(LOG_INFO, "%s", summary);
	return 0;
}

static int open_socket(struct hotmemd *d)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old_umask;
	int fd, r;

	if (strlen(d->socket_path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, d->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* We hold the lock: a socket file left there is a dead daemon's. */
	unlink(d->socket_path);
	old_umask = umask(0077);
	r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (r == 0)
		r = chmod(d->socket_path, 0600);
	if (r == 0)
		r = listen(fd, 16);
	if (r < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int open_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

static void begin_stop(struct hotmemd *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = true;
	observe_stopping();
	d->stop_deadline_ms = ctl_now_ms() + d->cfg.ack_timeout_ms + d->cfg.fill_timeout_ms +
			      HOTMEMD_STOP_SLACK_MS;
	hlog(LOG_INFO, "%s: stopping; no new requests, %s", why,
	     ops_active(d) ? "letting operations in flight end" : "nothing in flight");
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		d->listen_fd = -1;
		unlink(d->socket_path);
	}
}

/*
 * SIGHUP: read the config file again (systemctl reload). A file that does
 * not parse, or is gone, changes nothing (logged with file:line); a daemon
 * started without one starts its autoscaler now. The file's [host] reserve
 * becomes the engine's admission reserve too, as at start.
 */
static void reload_config(struct hotmemd *d)
{
	struct hotmem_policy_conf *conf = NULL;
	char err[HOTMEM_POLICY_CONF_ERR_MAX];
	const char *kept = d->as ? "the policy stays as it was" : "still no policy";
	struct hotmem_policy_host_params host_params;
	bool started = !d->as;
	uint64_t reserve;
	int r;

	if (d->stopping)
		return;
	r = hotmem_policy_conf_load(d->config_path, &conf, err, sizeof(err));
	if (r < 0) {
		hlog(LOG_ERR, "SIGHUP: %s; %s", err, kept);
		return;
	}
	reserve = conf->host.reserve_bytes;
	host_params = conf->host;
	if (d->as)
		r = autoscale_reload(d->as, conf);
	else
		r = autoscale_new(conf, d->config_path, &policy_ops, d, &d->host, &d->as);
	/* conf is taken over by either, also on failure. */
	if (r < 0) {
		hlog_errno(LOG_ERR, r, "SIGHUP: %s (%s)", d->config_path, kept);
		return;
	}
	hotmem_set_host_reserve(d->host.hm, reserve);
	observe_configure(&host_params);
	d->cfg.host_reserve_bytes = reserve;
	if (started)
		d->next_tick_ms = ctl_now_ms();
	hlog(LOG_INFO, "SIGHUP: policy %s from %s: tick %" PRIu32 " ms, reserve %" PRIu64 " MiB",
	     started ? "started" : "reloaded", d->config_path, autoscale_tick_ms(d->as),
	     reserve >> 20);
}

/* Drop clients that took none of their output for HOTMEMD_SEND_TIMEOUT_MS. */
static void expire_output(struct hotmemd *d)
{
	uint64_t now = ctl_now_ms();

	for (int i = 0; i < HOTMEMD_MAX_CLIENTS; i++) {
		struct client *c = &d->clients[i];

		if (!c->used || c->fd < 0 || c->out_off == c->out_len || now < c->out_deadline_ms)
			continue;
		hlog(LOG_WARNING, "dropped a client that read nothing for %d ms (%zu bytes unsent)",
		     HOTMEMD_SEND_TIMEOUT_MS, c->out_len - c->out_off);
		/* As for a client that hangs up: its operation goes on in the engine. */
		client_free(c);
	}
}

static int loop_timeout(struct hotmemd *d)
{
	int timeout = hotmem_timeout_ms(d->host.hm);
	uint64_t now = ctl_now_ms();

	for (int i = 0; i < HOTMEMD_MAX_CLIENTS; i++) {
		const struct client *c = &d->clients[i];
		uint64_t left;

		if (!c->used || c->fd < 0 || c->out_off == c->out_len)
			continue;
		left = c->out_deadline_ms > now ? c->out_deadline_ms - now : 0;
		if (timeout < 0 || left < (uint64_t)timeout)
			timeout = (int)left;
	}

	if (d->as && !d->stopping &&
	    (timeout < 0 || d->next_tick_ms <= now || (uint64_t)timeout > d->next_tick_ms - now))
		timeout = d->next_tick_ms > now ? (int)(d->next_tick_ms - now) : 0;
	if (ops_waiting_ready(d) && (timeout < 0 || timeout > HOTMEMD_READY_POLL_MS))
		timeout = HOTMEMD_READY_POLL_MS;
	if (d->stopping && (timeout < 0 || timeout > 100))
		timeout = 100;
	return observe_timeout(timeout);
}

static int run(struct hotmemd *d)
{
	struct pollfd pfds[3 + HOTMEMD_MAX_CLIENTS];
	struct client *pclients[3 + HOTMEMD_MAX_CLIENTS];

	/* The first tick at once: attach auto domains, show them in top. */
	d->next_tick_ms = ctl_now_ms();
	for (;;) {
		int nr = 0, r;

		if (d->stopping && (!ops_active(d) || ctl_now_ms() >= d->stop_deadline_ms))
			return 0;
		pfds[nr++] = (struct pollfd){ .fd = d->signal_fd, .events = POLLIN };
		pfds[nr++] = (struct pollfd){ .fd = hotmem_fd(d->host.hm), .events = POLLIN };
		pfds[nr++] = (struct pollfd){ .fd = d->listen_fd, .events = POLLIN };
		for (int i = 0; i < HOTMEMD_MAX_CLIENTS; i++) {
			struct client *c = &d->clients[i];

			short events = 0;

			if (!c->used || c->fd < 0)
				continue;
			/* A client whose operation runs (or that was answered) is not read from
			 * again. */
			if (!c->has_op && !c->closing)
				events |= POLLIN;
			if (c->out_off < c->out_len)
				events |= POLLOUT;
			if (events) {
				pclients[nr] = c;
				pfds[nr++] = (struct pollfd){ .fd = c->fd, .events = events };
			}
		}
		r = poll(pfds, (nfds_t)nr, loop_timeout(d));
		if (r < 0 && errno != EINTR) {
			return hlog_errno(LOG_ERR, -errno, "poll");
		}
		if (pfds[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			ssize_t got = read(d->signal_fd, &si, sizeof(si));

			if (got == sizeof(si) && si.ssi_signo == SIGHUP)
				reload_config(d);
			else if (got == sizeof(si))
				begin_stop(d, si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
		}
		r = hotmem_dispatch(d->host.hm);
		/*
		 * Both are for good: another engine claimed the journal (this one
		 * must not take one more step), or the xenstore connection is dead
		 * (its watches are gone: this daemon would idle for ever). Exit
		 * non-zero; systemd restarts the unit, whose lock then decides.
		 */
		if (r == -ESTALE) {
			hlog(LOG_ERR, "another engine claimed the journal %s: exiting",
			     d->cfg.journal_dir);
			return r;
		}
		if (r < 0 || (pfds[1].revents & (POLLERR | POLLHUP | POLLNVAL))) {
			if (r < 0)
				return hlog_errno(LOG_ERR, r, "exiting: xenstore connection lost");
			hlog(LOG_ERR, "exiting: xenstore connection lost (hangup)");
			return -ENOTCONN;
		}
		if (pfds[2].fd >= 0 && (pfds[2].revents & POLLIN))
			handle_accept(d);
		for (int i = 3; i < nr; i++) {
			struct client *c = pclients[i];

			if (!c->used || !pfds[i].revents)
				continue;
			if ((pfds[i].revents & (POLLOUT | POLLERR | POLLHUP)) &&
			    c->out_off < c->out_len && !client_flush(c)) {
				client_free(c); /* gone: its operation goes on */
				continue;
			}
			if (c->closing && c->out_off == c->out_len)
				client_free(c);
			else if ((pfds[i].revents & (POLLIN | POLLHUP)) && !c->has_op &&
				 !c->closing)
				handle_client_input(d, c);
		}
		expire_output(d);
		ops_settle(d);
		track_releases(d);
		observe_loop(&d->host);
		if (d->as && !d->stopping && ctl_now_ms() >= d->next_tick_ms) {
			d->next_tick_ms = ctl_now_ms() + autoscale_tick_ms(d->as);
			autoscale_tick(d->as, ctl_now_ms());
			ops_settle(d); /* a policy request refused at once is answered now */
		}
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: hotmemd [options]\n\n"
		"Own hotmem's journal and serve xl-hotmem over a unix socket.\n\n"
		"Options:\n"
		"  -F, --foreground       log to stderr instead of syslog\n"
		"  --config FILE          autoscaling policy (default $HOTMEM_CONFIG, else\n"
		"                         /etc/hotmem/hotmem.conf; the default absent: no\n"
		"                         policy, nothing automatic)\n"
		"  --hv xen|sim           backend (default xen)\n"
		"  --socket PATH          listening socket (default $HOTMEM_SOCKET, else\n"
		"                         /run/hotmem/hotmemd.sock; sim: $XDG_RUNTIME_DIR/\n"
		"                         hotmem-sim.sock or /tmp/hotmem-sim-$UID.sock);\n"
		"                         the engine lock is per journal, in /run/lock/hotmem\n"
		"                         ($HOTMEM_LOCK_DIR)\n"
		"  --sim-config FILE      simulated host: lines 'host SIZE', 'domain NAME SIZE'\n"
		"  --sim-host SIZE        simulated host memory (default 24g)\n"
		"  --sim-domain NAME:SIZE a simulated domain (repeatable; default guest1:512m\n"
		"                         and guest2:512m)\n"
		"  --ack-timeout-ms N     how long a guest may take to answer (default 30000)\n"
		"  -h, --help             this help\n");
}

static int parse_options(struct hotmemd *d, int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "foreground", no_argument, NULL, 'F' },
		{ "config", required_argument, NULL, 'C' },
		{ "hv", required_argument, NULL, 'H' },
		{ "socket", required_argument, NULL, 'S' },
		SIM_OPTIONS_LONG,
		{ "ack-timeout-ms", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket_opt = NULL, *env = getenv("HOTMEM_SOCKET");
	char msg[256];
	int opt, r;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "Fh", long_options, NULL)) != -1) {
		r = 0;
		switch (opt) {
		case 'F':
			d->foreground = true;
			break;
		case 'C':
			d->config_path = optarg;
			d->config_given = true;
			break;
		case 'H':
			if (strcmp(optarg, "xen") && strcmp(optarg, "sim")) {
				fprintf(stderr, "hotmemd: invalid --hv '%s': expected xen or sim\n",
					optarg);
				return -EINVAL;
			}
			d->hv_name = optarg;
			break;
		case 'S':
			socket_opt = optarg;
			break;
		case SIM_OPTION_CONFIG:
		case SIM_OPTION_HOST:
		case SIM_OPTION_DOMAIN:
			r = sim_options_parse(&d->sim_cfg, opt, optarg, msg, sizeof(msg));
			break;
		case 'a': {
			char *end;
			unsigned long ms = strtoul(optarg, &end, 10);

			if (*end || !ms || ms > UINT32_MAX) {
				snprintf(msg, sizeof(msg), "invalid --ack-timeout-ms '%s'", optarg);
				r = -EINVAL;
			}
			d->cfg.ack_timeout_ms = (uint32_t)ms;
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "hotmemd: unknown or incomplete option '%s' (try -h)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
		if (r < 0) {
			fprintf(stderr, "hotmemd: %s\n", msg);
			return r;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "hotmemd: unexpected argument '%s' (try -h)\n", argv[optind]);
		return -EINVAL;
	}
	if (!socket_opt && env && env[0])
		socket_opt = env;
	if (socket_opt)
		r = snprintf(d->socket_path, sizeof(d->socket_path), "%s", socket_opt) <
				    (int)sizeof(d->socket_path)
			    ? 0
			    : -ENAMETOOLONG;
	else if (!strcmp(d->hv_name, "sim"))
		r = sim_options_default_socket(d->socket_path, sizeof(d->socket_path));
	else
		r = snprintf(d->socket_path, sizeof(d->socket_path), "%s", CTL_DEFAULT_SOCKET) > 0
			    ? 0
			    : -EINVAL;
	if (r == 0)
		r = ctl_lock_path(d->hv_name, d->cfg.journal_dir, d->socket_path, d->lock_path,
				  sizeof(d->lock_path));
	if (r < 0)
		fprintf(stderr, "hotmemd: socket path too long\n");
	return r;
}

int main(int argc, char **argv)
{
	struct hotmemd *d = &daemon_state;
	struct hotmem_policy_conf *conf = NULL;
	char err[HOTMEM_POLICY_CONF_ERR_MAX];
	int r, exit_code = 1;

	d->hv_name = "xen";
	/* Like --config, but the file may be absent (tests use it to be sure
	 * the host's /etc/hotmem/hotmem.conf plays no part). */
	d->config_path = getenv("HOTMEM_CONFIG");
	if (!d->config_path || !d->config_path[0])
		d->config_path = HOTMEM_POLICY_CONF_PATH;
	d->lock_fd = d->listen_fd = d->signal_fd = -1;
	for (int i = 0; i < HOTMEMD_MAX_CLIENTS; i++)
		d->clients[i].fd = -1;
	sim_host_config_defaults(&d->sim_cfg);
	hotmem_config_defaults(&d->cfg);
	if (parse_options(d, argc, argv) < 0)
		return 1;
	if (!d->foreground)
		openlog("hotmemd", LOG_PID, LOG_DAEMON);
	observe_init(&d->host);

	/* Before anything else: a config that does not parse must not half-start. */
	r = hotmem_policy_conf_load(d->config_path, &conf, err, sizeof(err));
	if (r == -ENOENT && !d->config_given) {
		hlog(LOG_INFO, "no %s: no autoscaling policy, nothing is resized automatically",
		     d->config_path);
	} else if (r < 0) {
		hlog(LOG_ERR, "%s", err);
		goto out;
	} else {
		/* The host reserve is never given to guests, by the policy or an operator. */
		d->cfg.host_reserve_bytes = conf->host.reserve_bytes;
		observe_configure(&conf->host);
	}

	d->lock_fd = ctl_lock(d->lock_path);
	if (d->lock_fd < 0) {
		if (d->lock_fd == -EWOULDBLOCK)
			hlog(LOG_ERR,
			     "another engine holds %s: is hotmemd (or xl-hotmem) already running?",
			     d->lock_path);
		else
			hlog_errno(LOG_ERR, d->lock_fd, "cannot take the lock %s", d->lock_path);
		goto out;
	}
	d->signal_fd = open_signals();
	if (d->signal_fd < 0) {
		hlog_errno(LOG_ERR, d->signal_fd, "signalfd");
		goto out;
	}
	if (open_host(d) < 0)
		goto out;
	track_releases(d);
	if (conf) {
		r = autoscale_new(conf, d->config_path, &policy_ops, d, &d->host, &d->as);
		conf = NULL; /* taken over, also on failure */
		if (r < 0) {
			hlog_errno(LOG_ERR, r, "cannot start the autoscaler");
			goto out;
		}
		hlog(LOG_INFO, "policy from %s: tick %" PRIu32 " ms, reserve %" PRIu64 " MiB",
		     d->config_path, autoscale_tick_ms(d->as), d->cfg.host_reserve_bytes >> 20);
	}
	d->listen_fd = open_socket(d);
	if (d->listen_fd < 0) {
		hlog_errno(LOG_ERR, d->listen_fd, "cannot listen on %s", d->socket_path);
		goto out;
	}
	hlog(LOG_INFO, "serving on %s (backend %s, lock %s)", d->socket_path, d->hv_name,
	     d->lock_path);
	observe_ready(&d->host);
	if (run(d) < 0)
		goto out;
	if (ops_active(d))
		hlog(LOG_WARNING, "stopped with operations still running: the journal keeps "
				  "them for the next start");
	exit_code = 0;
	if (d->host.backend_ops && d->host.backend_ops->check) {
		char why[256];

		if (d->host.backend_ops->check(d->host.backend_data, why, sizeof(why)) < 0) {
			hlog(LOG_ERR, "sim check at exit: %s", why);
			exit_code = 1;
		} else {
			hlog(LOG_INFO, "sim check at exit: ok");
		}
	}
out:
	for (int i = 0; i < HOTMEMD_MAX_CLIENTS; i++)
		if (d->clients[i].used)
			client_free(&d->clients[i]);
	autoscale_free(d->as);
	hotmem_policy_conf_free(conf);
	ctl_host_close(&d->host);
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		unlink(d->socket_path);
	}
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	hlog(LOG_INFO, "exit %d", exit_code);
	return exit_code;
}
