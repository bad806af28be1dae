/*
 * How hotmemd is seen from outside (observe.c): systemd's notify protocol
 * (READY=1 once the journal is reconciled and the socket listens, STATUS=
 * with the attached domains and the last operation, WATCHDOG=1 keep-alives,
 * STOPPING=1), structured journal records (DOMID=, DOMAIN=, OP=, SEQ=) when
 * stderr is the journal, the operation statistics behind the metrics, and
 * the metrics file rewritten every [host] metrics-interval. hotmemd.c calls
 * these from its loop; without libsystemd the notify and journal parts do
 * nothing and log lines go to stderr as before.
 */
#ifndef HOTMEM_OBSERVE_H
#define HOTMEM_OBSERVE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl.h"
#include "hotmem/policy.h"

/* Once, before the first log line: where logs go, the watchdog; host->op_stats is set. */
void observe_init(struct ctl_host *host);

/* The metrics file and its interval from [host] (defaults when there is no config). */
void observe_configure(const struct hotmem_policy_host_params *host);

/*
 * observe_log - send one log line to the journal with its structured fields
 * Returns true if it was sent (stderr is the journal's stream), false if the
 * caller must write it itself. Fields come from the line's standard shapes:
 * "[policy: ]dN (NAME): OP ...", "domain 'NAME' (dN): [cannot ]OP ...",
 * "... (seq N)".
 */
bool observe_log(int priority, const char *fmt, va_list args);

/* READY=1 and the first STATUS=. */
void observe_ready(struct ctl_host *host);
/* STOPPING=1. */
void observe_stopping(void);

/* An operation began (its duration starts now) and ended (counted, STATUS= updated). */
void observe_op_begun(const struct ctl_op *op);
void observe_op_ended(struct ctl_host *host, const struct ctl_op *op, int err);

/* Every loop iteration: watchdog keep-alive, STATUS= if it changed, the metrics file when due. */
void observe_loop(struct ctl_host *host);
/* The poll timeout, shortened so observe_loop() runs when its next duty is due. */
int observe_timeout(int timeout_ms);

#endif /* HOTMEM_OBSERVE_H */
