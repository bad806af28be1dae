/*
 * hotmemd's autoscaler: the policy of toolstack/include/hotmem/policy.h wired
 * to the engine (autoscale.c). The daemon creates it from hotmem.conf with
 * the operations it lends it (struct autoscale_ops), calls autoscale_tick()
 * every tick, tells it when operations begin and end, and hands it the
 * `policy` and `top` requests of xl-hotmem. Single-threaded: the daemon's
 * loop (or a test's) is its only caller. docs/policy.md section 2 describes
 * it.
 */
#ifndef HOTMEM_AUTOSCALE_H
#define HOTMEM_AUTOSCALE_H

#include <stdarg.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>

#include "ctl.h"
#include "hotmem/policy.h"

struct autoscale;

/*
 * What the autoscaler borrows from whoever runs it (hotmemd, or a test that
 * drives autoscale_tick() on a simulated host): a way to start the
 * operations it decides and a log. Both are called from autoscale_tick(),
 * start_op also from nothing else, log from every autoscale_* call.
 */
struct autoscale_ops {
	/**
	 * start_op - start a grow or shrink the policy decided, like an
	 * operator's (same admission, journal and logs), without waiting for it
	 * @why: the decision's reason, for the start's log line
	 * @target_after: shrink only: memory/target the release ends at, handed
	 *		  back to autoscale_op_ended(); 0 for none
	 *
	 * The runner calls autoscale_op_begun() when the operation begins and
	 * autoscale_op_ended() when it ends. Returns 0 (started), the refusal of
	 * hotmem_op_start() (which the runner logs), or -EBUSY (no room now).
	 */
	int (*start_op)(void *opaque, uint32_t domid, enum hotmem_op_kind kind, uint64_t bytes,
			const char *why, uint64_t target_after);
	/* One log line at a syslog priority (LOG_INFO ...), without its newline. */
	void (*log)(void *opaque, int priority, const char *fmt, va_list args);
};

/**
 * autoscale_new - an autoscaler over an open engine
 * @conf: the parsed config (taken over: freed with the autoscaler, also on failure)
 * @conf_path: where it came from, for replies and logs
 * @ops: the runner's operations and log (kept: must outlive the autoscaler)
 * @opaque: passed to every @ops call
 * @host: the engine and its hypervisor connection
 *
 * returns 0; -EINVAL, a parameter the policy refuses; -ENOMEM
 */
int autoscale_new(struct hotmem_policy_conf *conf, const char *conf_path,
		  const struct autoscale_ops *ops, void *opaque, struct ctl_host *host,
		  struct autoscale **ret_as);
void autoscale_free(struct autoscale *as);

/**
 * autoscale_reload - take a newly parsed hotmem.conf (hotmemd's SIGHUP)
 * @conf: the parsed config (taken over: freed with the autoscaler, or here
 *	  on failure)
 *
 * Its [host] parameters replace the running ones; every known domain whose
 * parameters came from the file gets its section of the new one (or
 * [domain *]), one set with `xl-hotmem policy` keeps what was set; guests
 * are asked for stats at the new tick. What the policy remembers of each
 * domain (cooldowns, surplus and freeze timers, last decision) stays, and so
 * does everything granted: a mode turned off stops decisions, it takes
 * nothing back.
 *
 * returns 0; -EINVAL, parameters the policy refuses (nothing changed)
 */
int autoscale_reload(struct autoscale *as, struct hotmem_policy_conf *conf);

/* The tick period ([host] tick). */
uint32_t autoscale_tick_ms(const struct autoscale *as);

/*
 * autoscale_tick - one round: list the domains, give new ones their
 * parameters, attach those in mode auto, gather every attached domain's
 * figures, run the policy, carry out and log its decisions. Failures are
 * logged (once per cause) and retried at the next tick.
 */
void autoscale_tick(struct autoscale *as, uint64_t now_ms);

/* An operation began on domid (an operator's or the policy's): it is busy. */
void autoscale_op_begun(struct autoscale *as, uint32_t domid, enum hotmem_op_kind kind,
			uint64_t bytes, uint64_t now_ms);
/*
 * A policy operation ended (@res NULL: it never started). For a release
 * (@target_after not 0), memory/target ends at @target_after: the engine's
 * lowering put it there if every block went, else this does.
 */
void autoscale_op_ended(struct autoscale *as, uint32_t domid, const struct hotmem_result *res,
			uint64_t target_after);

/*
 * autoscale_request - answer a policy (show or set) or top request into gen
 * ({"ok":...}). Returns 0 or the negative errno the reply carries.
 */
int autoscale_request(struct autoscale *as, const struct ctl_request *req, uint64_t now_ms,
		      yajl_gen gen);

#endif /* HOTMEM_AUTOSCALE_H */
