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

#endif /* HOTMEM_HOTMEMD_H */
