/*
 * The autoscaling policy: a pure, deterministic decision module that looks at
 * a host's free memory and at each guest's published stats (MemTotal,
 * MemAvailable, memory PSI) once per tick and says what to do: grow a guest
 * by whole blocks, take blocks back, move its balloon target, or freeze an
 * unresponsive guest at its current size. It owns no clock (the caller
 * passes now_ms), does no I/O, never logs, and keeps per-domain state
 * (timers, frozen flag, last decision) in an opaque handle. Host arbitration
 * under overcommit keeps what each guest's working set holds (at least its
 * min), makes as many needs whole as fit (cheapest first) when they do not
 * all fit, divides headroom above the needs by weight (water-filling), never
 * hands out the host reserve, and reclaims idle guests before busy ones.
 * docs/policy.md describes the algorithm, every threshold and the
 * simulation that measures it; policy_conf.c reads the same parameters from
 * /etc/hotmem/hotmem.conf.
 *
 * Conventions: 0 or a negative errno, ret_* untouched on failure, one thread
 * per handle.
 */
#ifndef HOTMEM_POLICY_H
#define HOTMEM_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hotmem/proto.h"

/* Longest reason string, NUL included. */
#define HOTMEM_POLICY_REASON_MAX 80

/* Weight bounds; the default is 100 so operators can go both ways in integers. */
#define HOTMEM_POLICY_WEIGHT_MIN     1
#define HOTMEM_POLICY_WEIGHT_MAX     10000
#define HOTMEM_POLICY_WEIGHT_DEFAULT 100

struct hotmem_policy; /* opaque */

enum hotmem_policy_mode {
	HOTMEM_POLICY_OFF = 0, /* hotmem not managed: the policy never touches it */
	HOTMEM_POLICY_MANUAL,  /* the operator sizes it (xl-hotmem); the policy only watches */
	HOTMEM_POLICY_AUTO,    /* the policy sizes it */
};

/* Host-wide parameters; hotmem_policy_host_defaults() fills every field. */
/* Longest path a [host] key takes (metrics-path). */
#define HOTMEM_POLICY_PATH_MAX 255
/* Where node_exporter's textfile collector reads *.prom files (Debian's default). */
#define HOTMEM_POLICY_METRICS_PATH "/var/lib/prometheus/node-exporter/hotmem.prom"

struct hotmem_policy_host_params {
	uint64_t reserve_bytes;		  /* never given to guests (256 MiB, as the engine) */
	uint32_t tick_ms;		  /* how often the daemon calls tick (1000) */
	uint32_t max_ops_per_tick;	  /* grow/shrink/target decisions per tick (64) */
	uint64_t max_grow_bytes_per_tick; /* bytes handed out per tick, all guests (8 GiB) */
	uint32_t stale_stats_ms;	  /* stats older than this: unresponsive (10000) */
	uint32_t ack_timeout_ms;	  /* an operation older than this: unresponsive (60000) */
	uint32_t unfreeze_hold_ms;	  /* responsive this long before unfreezing (10000) */
	/* hotmemd's metrics file (not the policy's): how often, 0 = never (15000), and where */
	uint32_t metrics_interval_ms;
	char metrics_path[HOTMEM_POLICY_PATH_MAX + 1];
	/* Free memory above the reserve never lent as headroom (8 GiB; at least
	 * 1/64 of what the guests may hold): room for a guest under pressure and
	 * for an xl create; larger than the host: nothing is lent. */
	uint64_t lend_float_bytes;
	uint32_t abandon_after_ms; /* a request unanswered this long is abandoned: its
				    * frames taken back (300000; 0: never) */
};

/*
 * Per-domain parameters; hotmem_policy_domain_defaults() fills every field.
 * Sizes are the domain's whole memory (boot + hot-added, i.e. memory/target),
 * not the hotmem part alone. A watermark is max(pct % of MemTotal, bytes).
 */
struct hotmem_policy_domain_params {
	enum hotmem_policy_mode mode; /* MANUAL: nothing automatic unless asked */
	uint64_t min_bytes;	      /* never reclaimed below; 0 = its boot size (0) */
	uint64_t max_bytes;	      /* never grown above; 0 = no limit but the engine's (0) */
	uint32_t weight;	      /* share of contended headroom above the needs; the
				       * first served of equal sizes when needs are short (100) */
	uint32_t low_pct;	      /* low watermark, % of MemTotal (10) */
	uint64_t low_bytes;	      /* low watermark floor (64 MiB) */
	uint32_t high_pct;	      /* high watermark, % of MemTotal (25) */
	uint64_t high_bytes;	      /* high watermark floor (192 MiB) */
	uint32_t psi_grow;	      /* PSI some avg10 (1/100 %) that means pressure (1000) */
	uint32_t psi_calm;	      /* PSI some avg10 at or below which surplus counts (100) */
	uint32_t psi_hold_ms;	      /* PSI must stay >= psi_grow this long (3000) */
	uint32_t grow_cooldown_ms;    /* between two reclaims; under contention, after a
				       * reclaim before a grow (5000) */
	uint32_t shrink_cooldown_ms;  /* after a grow, before a reclaim (except an idle
				       * guest's surplus under contention) (60000) */
	uint32_t surplus_hold_ms;     /* surplus this long before balloon reclaim (30000) */
	uint32_t release_hold_ms;     /* a block's worth ballooned this long: remove
				       * blocks (300000) */
	uint32_t max_step_blocks;     /* blocks per grow or shrink decision (8) */
};

/* What the host looks like now. */
struct hotmem_policy_host_input {
	uint64_t free_bytes; /* free frames (xc_physinfo free_pages, bytes) */
};

/* What one domain looks like now (engine records, xenstore, hypervisor). */
struct hotmem_policy_domain_input {
	uint32_t domid;
	uint64_t boot_bytes;	 /* memory it booted with (memory=) */
	uint64_t block_size;	 /* guest block size; 0 = no window yet (never grown) */
	uint64_t granted_bytes;	 /* hotmem granted (hotmem_domain_info.granted_bytes) */
	uint64_t target_bytes;	 /* memory/target, bytes */
	uint64_t actual_bytes;	 /* frames it holds now (tot_pages); 0 = target_bytes */
	uint64_t inflight_bytes; /* frames a running grow may still take */
	bool have_stats;	 /* the guest has published H/guest/stats at least once */
	struct hotmem_stats stats;
	uint64_t stats_age_ms; /* since the stats counter last changed */
	bool op_busy;	       /* an operation is running, recovering or outstanding */
	uint64_t op_age_ms;    /* since that operation started */
	bool broken;	       /* protocol violation, or guest state broken/closed */
};

enum hotmem_policy_action {
	HOTMEM_POLICY_NONE = 0,	  /* nothing (only in status.last before any decision) */
	HOTMEM_POLICY_GROW,	  /* hotmem_op_start(GROW, bytes) */
	HOTMEM_POLICY_SHRINK,	  /* hotmem_op_start(SHRINK, bytes); memory/target ends at target */
	HOTMEM_POLICY_SET_TARGET, /* write memory/target = target_bytes (balloon) */
	HOTMEM_POLICY_FREEZE,	  /* unresponsive: held at its size (log it) */
	HOTMEM_POLICY_UNFREEZE,	  /* responsive again (log it) */
};

struct hotmem_policy_decision {
	uint32_t domid;
	enum hotmem_policy_action action;
	uint32_t blocks;       /* GROW, SHRINK */
	uint64_t bytes;	       /* GROW, SHRINK: blocks * block_size */
	uint64_t target_bytes; /* SET_TARGET: new memory/target; SHRINK: memory/target to
				* write once the shrink succeeded (the engine lowers it by
				* the blocks; the balloon they replace is given back) */
	uint64_t at_ms;	       /* now_ms of the tick */
	char reason[HOTMEM_POLICY_REASON_MAX];
};

/* One domain as the policy sees it (for xl-hotmem policy/top). */
struct hotmem_policy_domain_status {
	uint32_t domid;
	struct hotmem_policy_domain_params params;
	bool frozen;
	bool pressure;			    /* last tick: under the low watermark or PSI high */
	bool surplus;			    /* last tick: above the high watermark, PSI calm */
	uint64_t need_bytes;		    /* last tick: what keeps its working set fitting */
	uint64_t demand_bytes;		    /* last tick: the size it asked for */
	uint64_t share_bytes;		    /* last tick: the size arbitration gave it */
	uint64_t short_bytes;		    /* last tick, at MemAvailable 0: estimated shortfall */
	bool have_last;			    /* a decision was issued at least once */
	struct hotmem_policy_decision last; /* the last decision issued */
	char why[HOTMEM_POLICY_REASON_MAX]; /* last tick's verdict ("steady", "cooldown 3s") */
};

/* Fill with the documented defaults. */
void hotmem_policy_host_defaults(struct hotmem_policy_host_params *params);
void hotmem_policy_domain_defaults(struct hotmem_policy_domain_params *params);

/*
 * hotmem_policy_host_params_valid / hotmem_policy_domain_params_valid - 0, or
 * -EINVAL for a zero tick, rate limit or timeout, a weight outside
 * HOTMEM_POLICY_WEIGHT_MIN..MAX, a percentage above 100, high_pct <= low_pct
 * or high_bytes < low_bytes, psi above 10000 or psi_calm >= psi_grow, an
 * unknown mode, max below min, or max_step_blocks 0.
 */
int hotmem_policy_host_params_valid(const struct hotmem_policy_host_params *params);
int hotmem_policy_domain_params_valid(const struct hotmem_policy_domain_params *params);

/**
 * hotmem_policy_new - create a policy
 * @host: host parameters (copied), NULL for the defaults
 * @defaults: parameters of domains nobody configured (copied), NULL for the defaults
 *
 * returns: 0; -EINVAL, invalid parameters or NULL ret_policy; -ENOMEM
 */
int hotmem_policy_new(const struct hotmem_policy_host_params *host,
		      const struct hotmem_policy_domain_params *defaults,
		      struct hotmem_policy **ret_policy);

/* Free a policy (NULL is a no-op). */
void hotmem_policy_free(struct hotmem_policy *policy);

/*
 * hotmem_policy_set_host / hotmem_policy_get_host - host parameters at run
 * time (a reloaded config). Returns 0, or -EINVAL.
 */
int hotmem_policy_set_host(struct hotmem_policy *policy,
			   const struct hotmem_policy_host_params *params);
int hotmem_policy_get_host(const struct hotmem_policy *policy,
			   struct hotmem_policy_host_params *ret_params);

/**
 * hotmem_policy_set_domain - set one domain's parameters (adds it if new)
 *
 * Timers and the frozen flag survive; a mode change to OFF or MANUAL takes
 * effect at the next tick. A domain seen by tick without being set gets the
 * defaults given to hotmem_policy_new().
 *
 * returns: 0; -EINVAL, invalid parameters; -ENOMEM
 */
int hotmem_policy_set_domain(struct hotmem_policy *policy, uint32_t domid,
			     const struct hotmem_policy_domain_params *params);

/* Drop a domain (destroyed). Returns 0, or -ENOENT. */
int hotmem_policy_remove_domain(struct hotmem_policy *policy, uint32_t domid);

/*
 * hotmem_policy_domain_status - what the policy knows of one domain. Returns
 * 0, -EINVAL (NULL ret_status) or -ENOENT (never set nor seen by a tick).
 */
int hotmem_policy_domain_status(const struct hotmem_policy *policy, uint32_t domid,
				struct hotmem_policy_domain_status *ret_status);

/**
 * hotmem_policy_tick - decide what to do now
 * @now_ms: a monotonic clock, never going back
 * @host: host facts
 * @domains: every attached domain (any order), @nr_domains of them
 * @ret_decisions: room for @max_decisions decisions; 2 * nr_domains is never
 *		   truncated (a domain gets at most a FREEZE/UNFREEZE and one
 *		   action). A smaller buffer acts as a tighter rate limit.
 * @ret_count: decisions written
 *
 * Decisions come in the order they should be started: freezes first, then
 * grows by urgency, then reclaims (idle guests first). The caller starts each
 * one (hotmem_op_start() or a memory/target write); one that fails is simply
 * seen again at a later tick, so nothing has to be reported back. Each domain
 * gets at most one action per tick, and none while op_busy.
 *
 * returns:
 *	0, on success
 *	-EINVAL, NULL arguments, now_ms went back, a domid twice, a domain with
 *		 block_size not 0 and not valid, or stats with memavail > memtotal
 *	-ENOMEM, out of memory (no state changed)
 */
int hotmem_policy_tick(struct hotmem_policy *policy, uint64_t now_ms,
		       const struct hotmem_policy_host_input *host,
		       const struct hotmem_policy_domain_input *domains, size_t nr_domains,
		       struct hotmem_policy_decision *ret_decisions, size_t max_decisions,
		       size_t *ret_count);

/* Names for logs and the CLI ("grow", "auto", ...); "?" for unknown values. */
const char *hotmem_policy_action_name(enum hotmem_policy_action action);
const char *hotmem_policy_mode_name(enum hotmem_policy_mode mode);
/* Parse "off", "manual", "auto". Returns 0, or -EINVAL. */
int hotmem_policy_parse_mode(const char *text, enum hotmem_policy_mode *ret_mode);

/*
 * The config file (policy_conf.c, libinih). INI:
 *
 *	[host]           reserve, tick, max-ops-per-tick, max-grow-per-tick,
 *	                 stale-stats, ack-timeout, unfreeze-hold, metrics-interval,
 *	                 metrics-path, abandon-after, lend-float
 *	[domain *]       defaults for every domain
 *	[domain NAME]    one domain by its xl name; keys it leaves out come
 *	                 from [domain *], wherever that section is in the file
 *
 * Domain keys: mode, min, max, weight, low-watermark, high-watermark (a
 * percentage "10%" or a size "512m"), psi-grow, psi-calm (percent, up to two
 * decimals), psi-hold, grow-cooldown, shrink-cooldown, surplus-hold,
 * release-hold (durations: "500ms", "30s", "5m", a bare number is
 * milliseconds), max-step-blocks. Sizes use hotmem_parse_size(). docs/policy.md
 * has the reference.
 */
#define HOTMEM_POLICY_CONF_PATH	   "/etc/hotmem/hotmem.conf"
#define HOTMEM_POLICY_NAME_MAX	   64 /* domain name, NUL included (xl allows 63) */
#define HOTMEM_POLICY_CONF_ERR_MAX 256

struct hotmem_policy_conf_domain {
	char name[HOTMEM_POLICY_NAME_MAX];
	struct hotmem_policy_domain_params params; /* resolved against [domain *] */
};

struct hotmem_policy_conf {
	struct hotmem_policy_host_params host;
	struct hotmem_policy_domain_params defaults; /* [domain *] over the built-ins */
	size_t nr_domains;
	struct hotmem_policy_conf_domain *domains; /* in file order */
};

/**
 * hotmem_policy_conf_load / hotmem_policy_conf_parse - read a config file, or
 * text (@origin names it in errors)
 * @ret_conf: free with hotmem_policy_conf_free()
 * @err: on failure, "file:line: key: what is wrong" (may be NULL)
 *
 * returns:
 *	0, on success
 *	-EINVAL, a syntax error, unknown section or key, bad value, a section
 *		 or domain key given twice, or parameters that do not validate
 *		 together (err says which)
 *	-ENOENT and other negative errno from opening the file
 *	-ENOMEM, out of memory
 */
int hotmem_policy_conf_load(const char *path, struct hotmem_policy_conf **ret_conf, char *err,
			    size_t err_size);
int hotmem_policy_conf_parse(const char *text, const char *origin,
			     struct hotmem_policy_conf **ret_conf, char *err, size_t err_size);
void hotmem_policy_conf_free(struct hotmem_policy_conf *conf);

/**
 * hotmem_policy_conf_apply - change domain parameters with the config file's
 * keys and values ("min" "1g", "mode" "auto"), as `xl-hotmem policy DOM
 * key=value...` does at run time
 * @params: in, the parameters now; out, with every pair applied
 * @keys, @values: @nr pairs, values in the file's syntax
 * @err: on failure, "key: what is wrong" (may be NULL)
 *
 * All or nothing: params is untouched unless every pair parses and the
 * result validates as a [domain] section would.
 *
 * returns:
 *	0, on success
 *	-EINVAL, NULL arguments, an unknown key (or a [host] key), a key given
 *		 twice, a bad value, or a result that does not validate
 */
int hotmem_policy_conf_apply(struct hotmem_policy_domain_params *params, const char *const *keys,
			     const char *const *values, size_t nr, char *err, size_t err_size);

/* The parameters of domain @name: its section, else the defaults. Never NULL. */
const struct hotmem_policy_domain_params *
hotmem_policy_conf_lookup(const struct hotmem_policy_conf *conf, const char *name);

#endif /* HOTMEM_POLICY_H */
