/*
 * What hotmemd lends its autoscaler (autoscale.c): starting an operation the
 * policy decided, which runs exactly like an operator's request (same
 * admission, same journal, same progress and end logs), and the daemon's one
 * log function (stderr with -F, syslog otherwise). The autoscaler itself is
 * declared in autoscale.h; without a config file there is none and nothing
 * is decided automatically.
 */
#ifndef HOTMEM_HOTMEMD_H
#define HOTMEM_HOTMEMD_H

#include <stdint.h>

#include "hotmem/hotmem.h"

struct hotmemd; /* the daemon behind the autoscaler */

/**
 * hotmemd_policy_request - start a grow or shrink the policy decided
 * @why: the decision's reason, logged with the start
 * @target_after: shrink only: memory/target to write once blocks were
 *		  reclaimed (autoscale_op_ended() does it), 0 for none
 *
 * returns 0 (started; its end is logged and handed to autoscale_op_ended()),
 * the refusal of hotmem_op_start() (logged), or -EBUSY if the daemon is
 * stopping or has no free slot.
 */
int hotmemd_policy_request(struct hotmemd *d, uint32_t domid, enum hotmem_op_kind kind,
			   uint64_t bytes, const char *why, uint64_t target_after);

/* One log line (syslog priority): the daemon's, so -F and syslog both see it. */
void hotmemd_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* HOTMEM_HOTMEMD_H */
