/*
 * hotmemd's seam for autoscaling. Once a second (HOTMEMD_TICK_MS) the daemon
 * gathers every attached domain's books and what its guest published, and
 * hands them to a policy through struct hotmemd_policy_ops; the policy may
 * then ask for operations through hotmemd_policy_request(), which queues them
 * exactly like an operator's request (same admission, same journal, same
 * logs). The policy itself lives elsewhere (toolstack/include/hotmem/policy.h);
 * with no policy configured the hook is NULL and nothing is decided
 * automatically.
 */
#ifndef HOTMEM_HOTMEMD_H
#define HOTMEM_HOTMEMD_H

#include <stddef.h>
#include <stdint.h>

#include "hotmem/hotmem.h"

#define HOTMEMD_TICK_MS 1000

/* One attached domain at one tick. */
struct hotmemd_sample {
	uint32_t domid;
	uint64_t now_ms;		  /* monotonic */
	uint64_t tot_bytes;		  /* what the domain owns now (hypervisor) */
	struct hotmem_domain_info info;	  /* the engine's books */
	struct hotmem_guest_status guest; /* H/guest/... as published (stats if enabled) */
	bool guest_valid;		  /* guest could be read */
};

struct hotmemd_policy_ctx; /* opaque: the daemon behind the hook */

struct hotmemd_policy_ops {
	const char *name;
	/*
	 * Called once per tick with every attached domain that is neither busy
	 * nor waiting for an ack. May call hotmemd_policy_request(). Returns 0
	 * or a negative errno (logged once by the daemon, never fatal).
	 */
	int (*tick)(void *opaque, struct hotmemd_policy_ctx *ctx,
		    const struct hotmemd_sample *samples, size_t nr_samples);
	void (*free)(void *opaque); /* at daemon exit; may be NULL */
};

/*
 * hotmemd_policy_request - queue a grow, shrink or set decided by the policy
 * returns 0 (started; its result is logged), or the refusal of
 * hotmem_op_start() (also logged), -EBUSY if the daemon is stopping or full.
 */
int hotmemd_policy_request(struct hotmemd_policy_ctx *ctx, uint32_t domid, enum hotmem_op_kind kind,
			   uint64_t bytes);

#endif /* HOTMEM_HOTMEMD_H */
