/*
 * hotmem's metrics in the text format Prometheus reads: what `xl-hotmem
 * metrics` prints and what hotmemd writes for node_exporter's textfile
 * collector. Per domain the engine's books, the hypervisor's view and the
 * guest's published stats; per host free memory, the admission reserve and
 * what admitted grows may still take; per operation kind and result, counts,
 * bytes and a duration histogram (kept by whoever runs operations: hotmemd
 * for its life, an in-process xl-hotmem for its one command).
 *
 * Two dialects of one content: the Prometheus text format 0.0.4 (default:
 * node_exporter's textfile collector and `promtool check metrics` parse it;
 * a counter family is named with its _total suffix) and OpenMetrics 1.0 (a
 * counter family is named without it). Both end with "# EOF" (a comment in
 * the first). Library code: no logging, negative errno.
 */
#ifndef HOTMEM_CTL_METRICS_H
#define HOTMEM_CTL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl.h"

/*
 * How an operation ended: its enum name and the "result" label that says it,
 * in one list so the two cannot drift.
 */
#define CTL_METRICS_RESULTS(X)                                                                   \
	X(OK, "ok")		      /* everything asked for was done */                        \
	X(PARTIAL, "partial")	      /* -EREMOTEIO: the guest did fewer blocks */               \
	X(TIMEOUT, "timeout")	      /* -ETIMEDOUT: no ack in time, request outstanding */      \
	X(GUEST_GONE, "guest_gone")   /* -ENOLINK: the driver went broken/closed */              \
	X(VIOLATION, "violation")     /* -EPROTO: the guest broke the protocol */                \
	X(DOMAIN_DIED, "domain_died") /* -ESRCH during the operation */                          \
	X(FAILED, "failed")	      /* another error after it started: rolled back */          \
	X(REFUSED_MEMORY, "refused_no_memory") /* refused at admission: the host lacks memory */ \
	X(REFUSED, "refused")		       /* refused at admission for another reason */

#define CTL_METRICS_ENUM(id, label) CTL_METRICS_##id,
enum ctl_metrics_result { CTL_METRICS_RESULTS(CTL_METRICS_ENUM) CTL_METRICS_RESULT_COUNT };
#undef CTL_METRICS_ENUM

#define CTL_METRICS_KINDS 3 /* grow, shrink, set (a set that had nothing to do) */
/* Duration histogram bounds, milliseconds; +Inf is implied. */
#define CTL_METRICS_BUCKETS 12

/* Operation statistics; zero-initialise. */
struct ctl_metrics_ops {
	uint64_t count[CTL_METRICS_KINDS][CTL_METRICS_RESULT_COUNT];
	uint64_t bytes[CTL_METRICS_KINDS][CTL_METRICS_RESULT_COUNT];
	uint64_t duration_ms_sum[CTL_METRICS_KINDS][CTL_METRICS_RESULT_COUNT];
	/* per bucket, not cumulative: le bound i counts durations in (bound i-1, bound i] */
	uint64_t buckets[CTL_METRICS_KINDS][CTL_METRICS_RESULT_COUNT][CTL_METRICS_BUCKETS + 1];
};

/* The result label of an operation's end: refused (never started) or its result.error. */
enum ctl_metrics_result ctl_metrics_result_of(bool refused, int error);

/**
 * ctl_metrics_op_record - count one operation that ended
 * @kind: what it ran as (a set resolves to grow or shrink), or for a refusal
 *	  what was asked
 * @bytes: bytes granted or reclaimed (0 for a refusal)
 * @duration_ms: from the request to its end
 */
void ctl_metrics_op_record(struct ctl_metrics_ops *ops, enum hotmem_op_kind kind,
			   enum ctl_metrics_result result, uint64_t bytes, uint64_t duration_ms);

/**
 * ctl_metrics_render - every metric, as text
 * @host: the engine and hypervisor to read
 * @ops: operation statistics, or NULL for none (all zero)
 * @openmetrics: OpenMetrics 1.0 instead of the Prometheus text format
 * @ret_text: malloc()ed, NUL-terminated; free() it
 *
 * Reads the hypervisor (physinfo, domain list and info), xenstore (names,
 * guest keys) and the engine's books; a domain that vanishes meanwhile is
 * left out.
 *
 * returns:
 *	0, on success
 *	-ENOMEM, out of memory
 *	other negative errno, the host or domain list could not be read
 */
int ctl_metrics_render(struct ctl_host *host, const struct ctl_metrics_ops *ops, bool openmetrics,
		       char **ret_text);

/*
 * ctl_metrics_exec - the reply to a metrics request into gen:
 * {"ok":true,"result":{"format":"prometheus"|"openmetrics","text":"..."}}
 * with host->op_stats as the operation statistics. Returns 0 or the
 * negative errno of ctl_metrics_render() (then an error reply).
 */
int ctl_metrics_exec(struct ctl_host *host, const struct ctl_request *req, yajl_gen gen);

/**
 * ctl_metrics_write_file - replace path with text atomically
 *
 * Writes "<path>.tmp" (mode 0644), fsyncs it and renames it over path, so a
 * reader (node_exporter) sees the old file or the new one, never a part.
 *
 * returns:
 *	0, on success
 *	negative errno of the open, write, fsync or rename (the temporary file
 *	is removed)
 */
int ctl_metrics_write_file(const char *path, const char *text);

#endif /* HOTMEM_CTL_METRICS_H */
