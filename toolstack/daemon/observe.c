/*
 * hotmemd as systemd and monitoring see it (observe.h). The notify protocol
 * goes through sd_notify(): nothing happens without $NOTIFY_SOCKET, so a
 * daemon started by hand is unaffected. Log lines go to the journal
 * natively only when systemd says stderr is the journal ($JOURNAL_STREAM
 * names stderr's device and inode, sd_journal_stream_fd(3)); they then carry
 * DOMID=, DOMAIN=, OP= and SEQ= so `journalctl -u hotmemd DOMID=3` finds one
 * domain's history. The fields are read back from the line: every line about
 * a domain already starts "dN (NAME):" or "domain 'NAME' (dN):" (the
 * project's one-line rule), so the text and the fields cannot disagree.
 *
 * The watchdog is pinged from the main loop at half of WatchdogSec=, so a
 * loop stuck in a hypercall or a xenstore read gets the daemon restarted.
 * The metrics file is rendered by ctl_metrics_render() and replaced
 * atomically; a write that fails is logged once until it works again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#ifdef HOTMEM_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#endif

#include "hotmem/units.h"
#include "hotmemd.h"
#include "metrics.h"
#include "observe.h"

#define OBSERVE_MAX_OPS	    64 /* operations running at once (hotmemd's client slots) */
#define OBSERVE_STATUS_MAX  256
#define OBSERVE_MAX_DOMAINS 1024

/* One running operation's start, keyed by its ctl_op (stable while it runs). */
struct op_start {
	const struct ctl_op *op;
	uint64_t started_ms;
};

static struct {
	bool journal;	      /* stderr is the journal: send records natively */
	uint64_t watchdog_ms; /* ping period, 0 = no watchdog */
	uint64_t next_ping_ms;
	uint32_t metrics_interval_ms; /* 0 = no metrics file */
	char metrics_path[HOTMEM_POLICY_PATH_MAX + 1];
	uint64_t next_metrics_ms;
	int metrics_error; /* last write's error, to log a failure once */
	bool ready;
	struct ctl_metrics_ops ops;
	struct op_start running[OBSERVE_MAX_OPS];
	char last_op[OBSERVE_STATUS_MAX];
	char status[2 * OBSERVE_STATUS_MAX]; /* last STATUS= sent */
} obs;

#ifdef HOTMEM_HAVE_SYSTEMD
/* Whether $JOURNAL_STREAM ("dev:ino") is our stderr. */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}
#endif

void observe_init(struct ctl_host *host)
{
	struct hotmem_policy_host_params defaults;

	host->op_stats = &obs.ops;
	hotmem_policy_host_defaults(&defaults);
	observe_configure(&defaults);
#ifdef HOTMEM_HAVE_SYSTEMD
	uint64_t usec = 0;

	obs.journal = stderr_is_journal();
	if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000)
		obs.watchdog_ms = usec / 2000; /* half of WatchdogSec=, in ms */
#endif
}

void observe_configure(const struct hotmem_policy_host_params *host)
{
	obs.metrics_interval_ms = host->metrics_interval_ms;
	snprintf(obs.metrics_path, sizeof(obs.metrics_path), "%s", host->metrics_path);
	obs.next_metrics_ms = 0; /* write at once with the new settings */
	obs.metrics_error = 0;
}

/* ---- journal ------------------------------------------------------------ */

struct log_fields {
	uint32_t domid;
	char domain[CTL_DOMAIN_MAX + 1];
	char op[8];
	uint32_t seq;
};

#ifdef HOTMEM_HAVE_SYSTEMD
/* After a "dN (NAME):", "domain 'NAME' (dN):" or "dN:" prefix, or NULL if none. */
static const char *domain_prefix(const char *p, struct log_fields *f)
{
	int n = 0;

	if (sscanf(p, "d%" SCNu32 " (%64[^)])%n", &f->domid, f->domain, &n) == 2 && n &&
	    p[n] == ':')
		return p + n + 1;
	n = 0;
	if (sscanf(p, "domain '%64[^']' (d%" SCNu32 ")%n", f->domain, &f->domid, &n) == 2 && n &&
	    p[n] == ':')
		return p + n + 1;
	n = 0;
	f->domain[0] = '\0';
	if (sscanf(p, "d%" SCNu32 ":%n", &f->domid, &n) == 1 && n)
		return p + n;
	return NULL;
}

/* The fields of one line (zero/empty where it has none). */
static void log_fields(const char *line, struct log_fields *f)
{
	static const char *const ops[] = { "grow", "shrink", "set" };
	const char *p = line, *seq;

	memset(f, 0, sizeof(*f));
	if (!strncmp(p, "policy: ", 8))
		p += 8;
	p = domain_prefix(p, f);
	if (!p) {
		memset(f, 0, sizeof(*f));
		return;
	}
	p += strspn(p, " ");
	if (!strncmp(p, "cannot ", 7))
		p += 7;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t len = strlen(ops[i]);

		if (!strncmp(p, ops[i], len) && p[len] == ' ')
			snprintf(f->op, sizeof(f->op), "%s", ops[i]);
	}
	seq = strstr(p, "(seq ");
	if (seq && sscanf(seq, "(seq %" SCNu32 ")", &f->seq) != 1)
		f->seq = 0;
}

#endif

bool observe_log(int priority, const char *fmt, va_list args)
{
#ifdef HOTMEM_HAVE_SYSTEMD
	char message[1024] = "MESSAGE=", prio[16], domid[24], domain[8 + CTL_DOMAIN_MAX + 1],
	     op[16], seq[24];
	const size_t skip = strlen("MESSAGE=");
	struct iovec iov[7];
	struct log_fields f;
	va_list copy;
	int n = 0;

	if (!obs.journal)
		return false;
	va_copy(copy, args);
	vsnprintf(message + skip, sizeof(message) - skip, fmt, copy);
	va_end(copy);
	log_fields(message + skip, &f);
	iov[n++] = (struct iovec){ .iov_base = message, .iov_len = strlen(message) };
	snprintf(prio, sizeof(prio), "PRIORITY=%d", priority);
	iov[n++] = (struct iovec){ .iov_base = prio, .iov_len = strlen(prio) };
	iov[n++] = (struct iovec){ .iov_base = "SYSLOG_IDENTIFIER=hotmemd", .iov_len = 25 };
	if (f.domid) {
		snprintf(domid, sizeof(domid), "DOMID=%" PRIu32, f.domid);
		iov[n++] = (struct iovec){ .iov_base = domid, .iov_len = strlen(domid) };
	}
	if (f.domain[0]) {
		snprintf(domain, sizeof(domain), "DOMAIN=%s", f.domain);
		iov[n++] = (struct iovec){ .iov_base = domain, .iov_len = strlen(domain) };
	}
	if (f.op[0]) {
		snprintf(op, sizeof(op), "OP=%s", f.op);
		iov[n++] = (struct iovec){ .iov_base = op, .iov_len = strlen(op) };
	}
	if (f.seq) {
		snprintf(seq, sizeof(seq), "SEQ=%" PRIu32, f.seq);
		iov[n++] = (struct iovec){ .iov_base = seq, .iov_len = strlen(seq) };
	}
	return sd_journal_sendv(iov, n) == 0;
#else
	(void)priority;
	(void)fmt;
	(void)args;
	return false;
#endif
}

/* ---- notify ------------------------------------------------------------- */

static void notify(const char *text)
{
#ifdef HOTMEM_HAVE_SYSTEMD
	sd_notify(0, text);
#else
	(void)text;
#endif
}

static size_t attached_count(struct ctl_host *host)
{
	static uint32_t domids[OBSERVE_MAX_DOMAINS]; /* hotmem_list() counts what it wrote */
	size_t nr = 0;

	return hotmem_list(host->hm, domids, OBSERVE_MAX_DOMAINS, &nr) == 0 ? nr : 0;
}

/* STATUS= when it says something new (systemctl status shows it). */
static void update_status(struct ctl_host *host)
{
	char status[2 * OBSERVE_STATUS_MAX];
	size_t nr = attached_count(host);

	snprintf(status, sizeof(status), "STATUS=%zu domain%s attached; last operation: %s", nr,
		 nr == 1 ? "" : "s", obs.last_op[0] ? obs.last_op : "none");
	if (!obs.ready || !strncmp(status + 7, obs.status, sizeof(obs.status)))
		return;
	snprintf(obs.status, sizeof(obs.status), "%s", status + 7);
	notify(status);
}

void observe_ready(struct ctl_host *host)
{
	obs.ready = true;
	notify("READY=1");
	update_status(host);
}

void observe_stopping(void)
{
	notify("STOPPING=1\nSTATUS=stopping: letting operations in flight end");
}

/* ---- operations --------------------------------------------------------- */

void observe_op_begun(const struct ctl_op *op)
{
	for (int i = 0; i < OBSERVE_MAX_OPS; i++) {
		if (!obs.running[i].op) {
			obs.running[i] = (struct op_start){ op, ctl_now_ms() };
			return;
		}
	}
}

void observe_op_ended(struct ctl_host *host, const struct ctl_op *op, int err)
{
	enum hotmem_op_kind kind = op->req.cmd == CTL_CMD_GROW	   ? HOTMEM_OP_KIND_GROW
				   : op->req.cmd == CTL_CMD_SHRINK ? HOTMEM_OP_KIND_SHRINK
								   : HOTMEM_OP_KIND_SET;
	struct hotmem_result res;
	bool started = op->op && hotmem_op_result(op->op, &res) == 0;
	enum ctl_metrics_result result = ctl_metrics_result_of(!started, started ? res.error : err);
	uint64_t now = ctl_now_ms(), started_ms = now;
	char size[32];

	for (int i = 0; i < OBSERVE_MAX_OPS; i++) {
		if (obs.running[i].op == op) {
			started_ms = obs.running[i].started_ms;
			obs.running[i].op = NULL;
		}
	}
	if (started)
		kind = res.kind;
	ctl_metrics_op_record(&obs.ops, kind, result, started ? res.bytes_done : 0,
			      now - started_ms);
	hotmem_format_size(size, sizeof(size), started ? res.bytes_done : op->req.bytes);
	snprintf(obs.last_op, sizeof(obs.last_op), "%s d%" PRIu32 " (%s) %s%s: %s",
		 ctl_kind_name(kind), op->domid, op->name, started ? "" : "asked ", size,
		 started ? (res.error ? strerror(-res.error) : "ok")
			 : (err ? strerror(-err) : "refused"));
	update_status(host);
}

/* ---- the loop ----------------------------------------------------------- */

static void write_metrics(struct ctl_host *host)
{
	char *text = NULL;
	int r = ctl_metrics_render(host, &obs.ops, false, &text);

	if (r == 0)
		r = ctl_metrics_write_file(obs.metrics_path, text);
	free(text);
	if (r < 0 && r != obs.metrics_error)
		hotmemd_log_errno(LOG_WARNING, r,
				  "metrics: cannot write %s (again every %" PRIu32 " ms)",
				  obs.metrics_path, obs.metrics_interval_ms);
	else if (r == 0 && obs.metrics_error)
		hotmemd_log(LOG_INFO, "metrics: %s written again", obs.metrics_path);
	obs.metrics_error = r;
}

void observe_loop(struct ctl_host *host)
{
	uint64_t now = ctl_now_ms();

	if (obs.watchdog_ms && now >= obs.next_ping_ms) {
		notify("WATCHDOG=1");
		obs.next_ping_ms = now + obs.watchdog_ms;
	}
	update_status(host);
	if (obs.ready && obs.metrics_interval_ms && now >= obs.next_metrics_ms) {
		/* A simulated host's made-up memory must never pass for the machine's in
		 * node_exporter's directory: --hv sim writes only a path the config names. */
		if (strcmp(host->backend, "sim") ||
		    strcmp(obs.metrics_path, HOTMEM_POLICY_METRICS_PATH))
			write_metrics(host);
		obs.next_metrics_ms = now + obs.metrics_interval_ms;
	}
}

int observe_timeout(int timeout_ms)
{
	uint64_t now = ctl_now_ms(), next = UINT64_MAX;

	if (obs.watchdog_ms)
		next = obs.next_ping_ms;
	if (obs.ready && obs.metrics_interval_ms && obs.next_metrics_ms < next)
		next = obs.next_metrics_ms;
	if (next == UINT64_MAX)
		return timeout_ms;
	if (next <= now)
		return 0;
	if (timeout_ms < 0 || (uint64_t)timeout_ms > next - now)
		return next - now > INT32_MAX ? INT32_MAX : (int)(next - now);
	return timeout_ms;
}
