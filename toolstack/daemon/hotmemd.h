/*
 * What hotmemd lends the rest of the daemon (observe.c): its one log function
 * (stderr with -F, syslog otherwise). The autoscaler gets the same log and
 * the daemon's operation slots through struct autoscale_ops (autoscale.h),
 * so that it links without hotmemd.c.
 */
#ifndef HOTMEM_HOTMEMD_H
#define HOTMEM_HOTMEMD_H

/* One log line (syslog priority): the daemon's, so -F and syslog both see it. */
void hotmemd_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * hotmemd_log_errno - a failure: one log line ending in ": <strerror(-err)>"
 * (err a negative errno). Returns err, for `return hotmemd_log_errno(...)`.
 */
int hotmemd_log_errno(int priority, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* HOTMEM_HOTMEMD_H */
