/*
 * hotmem's metrics as Prometheus text (metrics.h): one pass that gathers
 * every domain's books, hypervisor view and guest keys into an array, then
 * prints family by family (a family's samples must be contiguous), in the
 * units Prometheus wants (bytes, seconds, ratios 0..1), names prefixed
 * hotmem_. Operation statistics are counted here too, so hotmemd and the
 * in-process CLI label results the same way. The file writer is atomic:
 * node_exporter reads the textfile directory whenever it is scraped.
 */
#define _GNU_SOURCE /* open_memstream */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

#define METRICS_MAX_DOMAINS 1024

/* Upper bounds of the duration buckets: a grow of a few blocks takes well
 * under a second; an unanswered request ends at the ack timeout (30 s by
 * default), a slow fill at the fill timeout on top. */
static const uint64_t bucket_le_ms[CTL_METRICS_BUCKETS] = {
	10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000,
};

#define RESULT_LABEL(id, label) [CTL_METRICS_##id] = label,
static const char *const result_names[] = { CTL_METRICS_RESULTS(RESULT_LABEL) };
#undef RESULT_LABEL

static const char *const kind_names[CTL_METRICS_KINDS] = { "grow", "shrink", "set" };

enum ctl_metrics_result ctl_metrics_result_of(bool refused, int error)
{
	if (refused)
		return error == -ENOMEM ? CTL_METRICS_REFUSED_MEMORY : CTL_METRICS_REFUSED;
	switch (error) {
	case 0:
		return CTL_METRICS_OK;
	case -EREMOTEIO:
		return CTL_METRICS_PARTIAL;
	case -ETIMEDOUT:
		return CTL_METRICS_TIMEOUT;
	case -ENOLINK:
		return CTL_METRICS_GUEST_GONE;
	case -EPROTO:
		return CTL_METRICS_VIOLATION;
	case -ESRCH:
		return CTL_METRICS_DOMAIN_DIED;
	default:
		return CTL_METRICS_FAILED;
	}
}

static int kind_index(enum hotmem_op_kind kind)
{
	switch (kind) {
	case HOTMEM_OP_KIND_GROW:
		return 0;
	case HOTMEM_OP_KIND_SHRINK:
		return 1;
	default:
		return 2;
	}
}

void ctl_metrics_op_record(struct ctl_metrics_ops *ops, enum hotmem_op_kind kind,
			   enum ctl_metrics_result result, uint64_t bytes, uint64_t duration_ms)
{
	int k = kind_index(kind);
	int b = 0;

	if ((unsigned int)result >= CTL_METRICS_RESULT_COUNT)
		return;
	while (b < CTL_METRICS_BUCKETS && duration_ms > bucket_le_ms[b])
		b++;
	ops->count[k][result]++;
	ops->bytes[k][result] += bytes;
	ops->duration_ms_sum[k][result] += duration_ms;
	ops->buckets[k][result][b]++;
}

/* ---- text --------------------------------------------------------------- */

/* A label value with \, " and newline escaped, as both formats require. */
static void put_label_value(FILE *out, const char *value)
{
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			fputc('\\', out);
		if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
}

/*
 * "# HELP" and "# TYPE" of one family. A counter's samples end in _total;
 * the Prometheus text format names the family with the suffix, OpenMetrics
 * without it. name is given without it.
 */
static void family(FILE *out, bool openmetrics, const char *name, const char *type,
		   const char *help)
{
	const char *suffix = !strcmp(type, "counter") && !openmetrics ? "_total" : "";

	fprintf(out, "# HELP %s%s %s\n# TYPE %s%s %s\n", name, suffix, help, name, suffix, type);
}

/* What one domain looks like, gathered once. */
struct dom_sample {
	uint32_t domid;
	char name[CTL_DOMAIN_MAX + 1];
	bool have_hv;
	struct hv_domain_info hv;
	bool attached;
	struct hotmem_domain_info books;
	bool have_guest;
	struct hotmem_guest_status guest;
};

static void dom_labels(FILE *out, const struct dom_sample *d)
{
	fprintf(out, "{domid=\"%" PRIu32 "\",domain=\"", d->domid);
	put_label_value(out, d->name);
	fputc('"', out);
}

/* One per-domain gauge: for every domain pick() says has a value. */
static void dom_gauge(FILE *out, bool om, const struct dom_sample *doms, size_t nr,
		      const char *name, const char *help,
		      bool (*pick)(const struct dom_sample *d, double *ret_value))
{
	double value;

	family(out, om, name, "gauge", help);
	for (size_t i = 0; i < nr; i++) {
		if (!pick(&doms[i], &value))
			continue;
		fputs(name, out);
		dom_labels(out, &doms[i]);
		fprintf(out, "} %.15g\n", value);
	}
}

#define PICK(fn, cond, expr)                                          \
	static bool fn(const struct dom_sample *d, double *ret_value) \
	{                                                             \
		if (!(cond))                                          \
			return false;                                 \
		*ret_value = (double)(expr);                          \
		return true;                                          \
	}

PICK(pick_attached, true, d->attached)
PICK(pick_tot, d->have_hv, d->hv.tot_pages *HV_PAGE_SIZE)
PICK(pick_max, d->have_hv, d->hv.max_pages *HV_PAGE_SIZE)
PICK(pick_granted_bytes, d->attached, d->books.granted_bytes)
PICK(pick_granted_blocks, d->attached, d->books.granted_blocks)
PICK(pick_hotmem_max, d->attached, d->books.max_bytes)
PICK(pick_block_size, d->attached && d->books.have_window, d->books.block_size)
PICK(pick_busy, d->attached, d->books.busy)
PICK(pick_outstanding, d->attached, d->books.outstanding)
PICK(pick_recovering, d->attached, d->books.recovering)
PICK(pick_violation, d->attached, d->books.violation)
PICK(pick_ready, d->have_guest, d->guest.ready)
PICK(pick_memtotal, d->have_guest && d->guest.have_stats, d->guest.stats.memtotal_kib * 1024)
PICK(pick_memavail, d->have_guest && d->guest.have_stats, d->guest.stats.memavail_kib * 1024)
/* PSI avg10 is published in hundredths of a percent: 10000 = 1.0 */
PICK(pick_psi_some, d->have_guest && d->guest.have_stats, d->guest.stats.psi_some_avg10 / 10000.0)
PICK(pick_psi_full, d->have_guest && d->guest.have_stats, d->guest.stats.psi_full_avg10 / 10000.0)
/* Only from a guest that publishes it (stats-swap): no sample is "not known", not 0. */
PICK(pick_swapped, d->have_guest && d->guest.have_stats && d->guest.stats.has_swapped,
     d->guest.stats.swapped_kib * 1024)

/* The driver's state as a state set: one sample per state, 1 for the one it is in. */
static void dom_state(FILE *out, bool om, const struct dom_sample *doms, size_t nr)
{
	static const char name[] = "hotmem_domain_guest_state";

	family(out, om, name, om ? "stateset" : "gauge",
	       "The guest driver's H/guest/state (1 for the state it is in; "
	       "\"absent\" until it publishes one).");
	for (size_t i = 0; i < nr; i++) {
		const struct dom_sample *d = &doms[i];
		bool have = d->have_guest && d->guest.have_state;

		if (!d->attached)
			continue;
		for (int s = -1; s < HOTMEM_STATE_COUNT; s++) {
			bool on = s < 0 ? !have : have && d->guest.state == (enum hotmem_state)s;

			fputs(name, out);
			dom_labels(out, d);
			fprintf(out, ",%s=\"%s\"} %d\n", name,
				s < 0 ? "absent" : hotmem_state_token((enum hotmem_state)s), on);
		}
	}
}

static void host_gauge(FILE *out, bool om, const char *name, const char *help, uint64_t value)
{
	family(out, om, name, "gauge", help);
	fprintf(out, "%s %" PRIu64 "\n", name, value);
}

static void engine_counter(FILE *out, bool om, const char *name, const char *help, uint64_t value)
{
	family(out, om, name, "counter", help);
	fprintf(out, "%s_total %" PRIu64 "\n", name, value);
}

static void ops_metrics(FILE *out, bool om, const struct ctl_metrics_ops *ops)
{
	static const struct ctl_metrics_ops none;
	static const char dur[] = "hotmem_operation_duration_seconds";

	if (!ops)
		ops = &none;
	family(out, om, "hotmem_operations", "counter",
	       "Operations (grow, shrink, set) that ended, by kind and result.");
	for (int k = 0; k < CTL_METRICS_KINDS; k++)
		for (int r = 0; r < CTL_METRICS_RESULT_COUNT; r++)
			fprintf(out,
				"hotmem_operations_total{kind=\"%s\",result=\"%s\"} %" PRIu64 "\n",
				kind_names[k], result_names[r], ops->count[k][r]);
	family(out, om, "hotmem_operation_bytes", "counter",
	       "Bytes granted (grow) or reclaimed (shrink) by operations that ended.");
	for (int k = 0; k < CTL_METRICS_KINDS; k++)
		for (int r = 0; r < CTL_METRICS_RESULT_COUNT; r++)
			fprintf(out,
				"hotmem_operation_bytes_total{kind=\"%s\",result=\"%s\"} %" PRIu64
				"\n",
				kind_names[k], result_names[r], ops->bytes[k][r]);
	/* Histograms only for the kind and result pairs that happened: 27 x 15 lines of
	 * zeros would drown the file; the counters above carry every pair. */
	family(out, om, dur, "histogram",
	       "Time from an operation's request to its end, by kind and result.");
	for (int k = 0; k < CTL_METRICS_KINDS; k++) {
		for (int r = 0; r < CTL_METRICS_RESULT_COUNT; r++) {
			uint64_t cumulative = 0;

			if (!ops->count[k][r])
				continue;
			for (int b = 0; b <= CTL_METRICS_BUCKETS; b++) {
				cumulative += ops->buckets[k][r][b];
				fprintf(out, "%s_bucket{kind=\"%s\",result=\"%s\",le=\"", dur,
					kind_names[k], result_names[r]);
				if (b < CTL_METRICS_BUCKETS)
					fprintf(out, "%.3g", bucket_le_ms[b] / 1000.0);
				else
					fputs("+Inf", out);
				fprintf(out, "\"} %" PRIu64 "\n", cumulative);
			}
			fprintf(out, "%s_sum{kind=\"%s\",result=\"%s\"} %.3f\n", dur, kind_names[k],
				result_names[r], ops->duration_ms_sum[k][r] / 1000.0);
			fprintf(out, "%s_count{kind=\"%s\",result=\"%s\"} %" PRIu64 "\n", dur,
				kind_names[k], result_names[r], ops->count[k][r]);
		}
	}
}

/* Every domain but dom0, with what can be read of it. */
static int gather(struct ctl_host *host, struct dom_sample **ret_doms, size_t *ret_nr)
{
	uint32_t *ids = calloc(METRICS_MAX_DOMAINS, sizeof(*ids));
	struct dom_sample *doms = NULL;
	size_t nr_ids = 0, nr = 0;
	int r = -ENOMEM;

	if (!ids)
		goto out;
	r = host->hv->ops->domain_list(host->hv, ids, METRICS_MAX_DOMAINS, &nr_ids);
	if (r < 0)
		goto out;
	r = -ENOMEM;
	doms = calloc(nr_ids ? nr_ids : 1, sizeof(*doms));
	if (!doms)
		goto out;
	for (size_t i = 0; i < nr_ids; i++) {
		struct dom_sample *d = &doms[nr];

		if (ids[i] == 0)
			continue;
		d->domid = ids[i];
		ctl_domain_name(host, d->domid, d->name, sizeof(d->name));
		d->have_hv = host->hv->ops->domain_info(host->hv, d->domid, &d->hv) == 0;
		d->attached = hotmem_domain_info(host->hm, d->domid, &d->books) == 0;
		d->have_guest =
			d->attached && hotmem_guest_status(host->hm, d->domid, &d->guest) == 0;
		if (d->have_hv || d->attached)
			nr++;
	}
	*ret_doms = doms;
	*ret_nr = nr;
	doms = NULL;
	r = 0;
out:
	free(doms);
	free(ids);
	return r;
}

int ctl_metrics_render(struct ctl_host *host, const struct ctl_metrics_ops *ops, bool om,
		       char **ret_text)
{
	struct hotmem_host_books books = { 0 };
	struct hotmem_counters counters;
	struct hv_physinfo phys;
	struct dom_sample *doms = NULL;
	char *text = NULL;
	size_t nr = 0, len = 0;
	uint64_t free_bytes, headroom, attached = 0;
	FILE *out = NULL;
	int r;

	r = host->hv->ops->physinfo(host->hv, &phys);
	if (r == 0)
		r = hotmem_host_books(host->hm, &books);
	if (r == 0)
		r = gather(host, &doms, &nr);
	if (r < 0)
		goto out;
	r = -ENOMEM;
	out = open_memstream(&text, &len);
	if (!out)
		goto out;
	hotmem_get_counters(host->hm, &counters);

	family(out, om, "hotmem_build_info", "gauge",
	       "hotmem's version and the backend that answered (always 1).");
	fprintf(out, "hotmem_build_info{version=\"%s\",backend=\"%s\"} 1\n", HOTMEM_VERSION,
		host->backend);

	free_bytes = phys.free_pages * HV_PAGE_SIZE;
	host_gauge(out, om, "hotmem_host_memory_bytes", "Host memory Xen manages (total_pages).",
		   phys.total_pages * HV_PAGE_SIZE);
	host_gauge(out, om, "hotmem_host_free_bytes",
		   "Host memory free for allocation now (Xen free_pages).", free_bytes);
	host_gauge(out, om, "hotmem_host_reserve_bytes",
		   "Host memory hotmem never grants (hotmem.conf [host] reserve).",
		   books.reserve_bytes);
	host_gauge(out, om, "hotmem_host_promised_bytes",
		   "Host memory admitted grows (in flight, outstanding or filling) may still "
		   "take.",
		   books.promised_bytes);
	headroom = free_bytes > books.reserve_bytes + books.promised_bytes
			   ? free_bytes - books.reserve_bytes - books.promised_bytes
			   : 0;
	host_gauge(out, om, "hotmem_host_headroom_bytes",
		   "What admission could still grant now: free minus reserve minus promised.",
		   headroom);
	for (size_t i = 0; i < nr; i++)
		attached += doms[i].attached;
	host_gauge(out, om, "hotmem_domains_attached", "Domains hotmem is attached to.", attached);

	dom_gauge(out, om, doms, nr, "hotmem_domain_attached",
		  "Whether hotmem is attached to the domain.", pick_attached);
	dom_gauge(out, om, doms, nr, "hotmem_domain_xen_tot_bytes",
		  "Memory the domain owns now (Xen tot_pages x 4 KiB).", pick_tot);
	dom_gauge(out, om, doms, nr, "hotmem_domain_xen_max_bytes",
		  "Xen's ceiling on the domain (max_pages x 4 KiB).", pick_max);
	dom_gauge(out, om, doms, nr, "hotmem_domain_granted_bytes",
		  "Hot-added memory granted to the domain (whole blocks).", pick_granted_bytes);
	dom_gauge(out, om, doms, nr, "hotmem_domain_granted_blocks",
		  "Hot-added memory blocks granted to the domain.", pick_granted_blocks);
	dom_gauge(out, om, doms, nr, "hotmem_domain_max_bytes",
		  "The domain's hotmem maximum (attach --max).", pick_hotmem_max);
	dom_gauge(out, om, doms, nr, "hotmem_domain_block_size_bytes",
		  "The guest's memory block size (locked with its window).", pick_block_size);
	dom_gauge(out, om, doms, nr, "hotmem_domain_guest_memtotal_bytes",
		  "The guest's MemTotal (H/guest/stats).", pick_memtotal);
	dom_gauge(out, om, doms, nr, "hotmem_domain_guest_memavailable_bytes",
		  "The guest's MemAvailable (H/guest/stats).", pick_memavail);
	dom_gauge(out, om, doms, nr, "hotmem_domain_guest_psi_some_ratio",
		  "The guest's memory pressure, PSI some avg10, 0..1.", pick_psi_some);
	dom_gauge(out, om, doms, nr, "hotmem_domain_guest_psi_full_ratio",
		  "The guest's memory pressure, PSI full avg10, 0..1.", pick_psi_full);
	dom_gauge(out, om, doms, nr, "hotmem_domain_guest_swapped_bytes",
		  "The guest's swap in use not also in RAM (H/guest/stats, stats-swap).",
		  pick_swapped);
	dom_gauge(out, om, doms, nr, "hotmem_domain_guest_ready",
		  "Whether a grow would pass the guest checks now.", pick_ready);
	dom_state(out, om, doms, nr);
	dom_gauge(out, om, doms, nr, "hotmem_domain_busy",
		  "Whether an operation is running on the domain.", pick_busy);
	dom_gauge(out, om, doms, nr, "hotmem_domain_requests_outstanding",
		  "Requests that wait for the guest's ack after their operation ended.",
		  pick_outstanding);
	dom_gauge(out, om, doms, nr, "hotmem_domain_recovering",
		  "Whether a rollback or finish of the domain is being retried.", pick_recovering);
	dom_gauge(out, om, doms, nr, "hotmem_domain_violation",
		  "Whether the guest broke the protocol since its last good ack.", pick_violation);

	engine_counter(out, om, "hotmem_engine_violations",
		       "Protocol violations this engine saw (all domains).", counters.violations);
	engine_counter(out, om, "hotmem_engine_rollbacks",
		       "Grows this engine undid before their request.", counters.rollbacks);
	engine_counter(out, om, "hotmem_engine_recoveries", "Journal records this engine settled.",
		       counters.recoveries);
	engine_counter(out, om, "hotmem_engine_pages_populated",
		       "4 KiB pages this engine populated (memmap heads).",
		       counters.pages_populated);
	engine_counter(out, om, "hotmem_engine_pages_reclaimed",
		       "4 KiB pages this engine gave back to Xen.", counters.pages_reclaimed);

	ops_metrics(out, om, ops);
	fputs("# EOF\n", out);
	if (fclose(out) != 0) {
		out = NULL;
		goto out;
	}
	out = NULL;
	*ret_text = text;
	text = NULL;
	r = 0;
out:
	if (out)
		fclose(out);
	free(text);
	free(doms);
	return r;
}

int ctl_metrics_exec(struct ctl_host *host, const struct ctl_request *req, yajl_gen gen)
{
	char *text = NULL;
	int r = ctl_metrics_render(host, host->op_stats, req->openmetrics, &text);

	if (r < 0) {
		char msg[CTL_MESSAGE_MAX];

		snprintf(msg, sizeof(msg), "cannot read the metrics: %s", strerror(-r));
		ctl_gen_error(gen, r, msg);
		return r;
	}
	ctl_gen_reply_begin(gen, 0, NULL);
	ctl_gen_str(gen, "format", req->openmetrics ? "openmetrics" : "prometheus");
	ctl_gen_str(gen, "text", text);
	ctl_gen_reply_end(gen);
	free(text);
	return 0;
}

int ctl_metrics_write_file(const char *path, const char *text)
{
	size_t len = strlen(text), done = 0;
	char *tmp = NULL;
	int fd = -1, r = 0;

	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		r = -ENOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		done += (size_t)n;
	}
	if (fsync(fd) < 0) {
		r = -errno;
		goto out;
	}
	r = close(fd);
	fd = -1;
	if (r < 0) {
		r = -errno;
		goto out;
	}
	if (rename(tmp, path) < 0)
		r = -errno;
out:
	if (fd >= 0)
		close(fd);
	if (r < 0 && tmp)
		unlink(tmp);
	free(tmp);
	return r;
}
