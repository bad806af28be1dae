/*
 * The autoscaling policy (hotmem/policy.h): each tick it judges every domain
 * from its stats (pressure, surplus, responsiveness), turns that into the size
 * the domain asks for (its demand), divides the host's memory among the
 * demands by weight above each min when they do not all fit (water-filling),
 * lends what nobody asked for as headroom up to each guest's recent peak
 * while the host has it to spare, and emits the few operations that move
 * domains toward their share: balloon deflation before block grows, balloon
 * reclaim before block removal, idle domains reclaimed before busy ones,
 * every action behind cooldowns and rate limits. Pure: no clock, no I/O, no
 * logging, no globals; the same inputs always give the same decisions, which
 * the simulation relies on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotmem/policy.h"

#define MIB   (1ull << 20)
#define NEVER UINT64_MAX

/* A balloon move smaller than this is churn, not a decision. */
#define BALLOON_MIN_STEP (32 * MIB)
/*
 * While a grower waits for memory the free pool cannot pay, donors give what
 * they hold above their need in steps this small: at a synchronized peak,
 * and wherever working sets shrink while others wait, the memory sits in
 * slivers under BALLOON_MIN_STEP above hundreds of needs, and a 32 MiB floor
 * left it there while growers went short (docs/policy.md, correlated and
 * diurnal).
 */
#define BALLOON_STARVED_STEP (8 * MIB)
/* PSI-only pressure without a window still asks for this much. */
#define PSI_STEP_NO_WINDOW (128 * MIB)
/*
 * How far ahead the demand looks, in ticks: a guest's memory use is
 * projected this far along its recent trend, so a grow lands before
 * MemAvailable reaches the watermark. It covers the stats' age (a tick), the
 * decision (a tick) and a grow of max_step_blocks (about 2 s in the lab),
 * with room to spare, so a ramp is met by a few large grows, not many small
 * late ones.
 */
#define TREND_TICKS 10
/* What a domain needs keeps a quarter of its low watermark available: its
 * working set fits with room for the page cache it cannot do without. */
#define NEED_MARGIN_DIV 4
/* When the needs do not all fit, a sixteenth: that margin would be paid for
 * by other guests' working sets (docs/policy.md: fewer guests short, at a
 * higher PSI for those that fit; an eighth left correlated at 1.27x the
 * oracle's oom_proxy_s, a sixteenth 1.25x). */
#define NEED_MARGIN_SHORT_DIV 16
/*
 * A guest's recent peak memory use: the largest MemTotal - MemAvailable of
 * the last PEAK_BUCKETS buckets of PEAK_BUCKET_MS (an hour). While the host
 * has memory nobody asked for, a guest may hold what that peak needs with
 * the middle of its band available (lent headroom): a guest that stops
 * answering keeps what it holds for as long as it is silent, and what it
 * used within the hour is what it is likely to use again.
 */
#define PEAK_BUCKETS   12
#define PEAK_BUCKET_MS (5 * 60 * 1000)
/*
 * Free memory never lent: 1/LEND_FLOAT_DIV of what the active domains may
 * hold, and at least the host's lend-float (by default one tick of the
 * largest growth), so a guest under pressure finds memory without waiting
 * for lent headroom to come back (docs/policy.md, section 4, measures a
 * 16th, a 64th and a 128th).
 */
#define LEND_FLOAT_DIV 64
/*
 * While needs that do not fit are served cheapest first, a guest at
 * MemAvailable 0 is reckoned to lack its estimated shortfall (short_bytes)
 * plus 1/SHORT_SIZE_DIV of its MemTotal: the estimate sees only a working
 * set that went on growing as it was; one that jumped, or stopped, it does
 * not, and the smaller guest is still the likelier to be made whole
 * (docs/policy.md, section 4, measures a 4th, an 8th and a 16th).
 */
#define SHORT_SIZE_DIV 4
/* Weight of the newest sample in the trend (an EMA over about two samples). */
#define TREND_ALPHA 0.5
/*
 * Linux updates memory PSI's avg10 once per period (PSI_FREQ, 2 s and a
 * jiffy; a little more here for the scheduling of the update), each time as
 * avg10 = avg10 * e^(-2/10) + stall% of the period * (1 - e^(-2/10)); the
 * kernel's fixed-point e^(-2/10) is EXP_10s = 1677 / 2048.
 */
#define PSI_PERIOD_MS 2100
#define PSI_DECAY     (1677.0 / 2048.0)
/* Past this many periods the baseline no longer weighs (0.82^30 < 0.3 %). */
#define PSI_PERIODS_MAX 30
/*
 * Periods a guest with the middle of its band available must stall through
 * after a relief before PSI alone grows it (psi_stalling): the wake of a
 * relief lasted two in lab.autoscale on a loaded host.
 */
#define PSI_WAKE_PERIODS 3

/* One domain's state across ticks. */
struct pol_dom {
	uint32_t domid;
	struct hotmem_policy_domain_params params;
	bool seen_stats;	   /* published stats once: losing them now means stale */
	bool lent;		   /* its last grow was headroom lent on an idle host */
	bool frozen;		   /* unresponsive: held at its size */
	uint64_t responsive_since; /* frozen and responsive again since (NEVER: not) */
	uint64_t psi_high_since;   /* PSI >= psi_grow since */
	uint64_t surplus_since;	   /* above the high watermark and calm since */
	uint64_t ballooned_since;  /* a block's worth or more ballooned since */
	uint64_t last_grow_ms;	   /* last grow or deflate issued */
	uint64_t last_reclaim_ms;  /* last reclaim (balloon or blocks) issued */
	bool was_busy;		   /* op_busy at the last tick */
	uint64_t op_end_ms;	   /* the tick that saw the last operation end */
	uint64_t relief_ms;	   /* last operation ended or deflation issued (NEVER: none) */
	uint64_t psi_base_at_ms;   /* PSI baseline after relief_ms (NEVER: none; psi_stalling) */
	uint32_t psi_base;	   /* its PSI some avg10 */
	bool psi_base_moved;	   /* avg10 has changed since (a kernel update came) */
	uint64_t trend_counter;	   /* stats.counter of the last trend sample */
	uint64_t trend_at_ms;	   /* when that sample was published (NEVER: none) */
	uint64_t trend_used;	   /* MemTotal - MemAvailable then */
	double trend_rate;	   /* growth of that, bytes per ms (EMA) */
	/* Since its stats first showed MemAvailable 0 (NEVER: above 0 now), the
	 * frames it held and the growth of its use then, for short_bytes. */
	uint64_t short_since;
	uint64_t short_base;
	double short_rate;
	uint64_t swap_cold;		  /* swap in use while last not pressed, or less since */
	uint64_t peak_used[PEAK_BUCKETS]; /* largest use per bucket of PEAK_BUCKET_MS */
	uint64_t peak_epoch;		  /* bucket number of the newest sample */
	bool pressure, surplus;
	uint64_t need, demand, share, short_bytes;
	bool have_last;
	struct hotmem_policy_decision last;
	char why[HOTMEM_POLICY_REASON_MAX];
};

/* How a domain takes part in one tick. */
enum pol_class {
	POL_FIXED = 0, /* off, manual, frozen, busy, no stats: its size is not ours */
	POL_ACTIVE,    /* auto and judged: takes part in arbitration */
};

/* One domain during one tick. */
struct pol_work {
	struct pol_dom *dom;
	const struct hotmem_policy_domain_input *in;
	enum pol_class cls;
	uint64_t cur;	  /* memory/target */
	uint64_t base;	  /* frames held now: the size the stats describe */
	uint64_t hot_max; /* boot + granted: where deflation stops */
	uint64_t min, max;
	uint64_t total, avail, wm_low, wm_mid, wm_high;
	uint64_t avail_ahead;	   /* MemAvailable projected TREND_TICKS ahead */
	uint64_t demand_hold;	   /* demand honouring surplus_hold */
	uint64_t demand_idle;	   /* demand if surplus is reclaimed now (contention) */
	uint64_t need_raw;	   /* frames that keep avail_ahead at wm_low / NEED_MARGIN_DIV */
	uint64_t need_lean;	   /* the same with wm_low / NEED_MARGIN_SHORT_DIV */
	uint64_t need;		   /* need_raw (or need_lean) within [min, demand] */
	uint64_t fill_lo, fill_hi; /* water_fill's floor and cap */
	uint64_t peak_size;	   /* frames that hold the recent peak use (headroom cap) */
	uint64_t short_bytes;	   /* at MemAvailable 0: estimated shortfall (judge_demand) */
	uint64_t swapped;	   /* pressed: swap in use the guest published (stats-swap) */
	uint64_t demand, share;
	bool pressure, psi_pressure, idle;
	bool acted;
	bool starved; /* a grower the free memory could not pay this tick */
};

struct hotmem_policy {
	struct hotmem_policy_host_params host;
	struct hotmem_policy_domain_params defaults;
	struct pol_dom *doms; /* sorted by domid */
	size_t nr_doms, cap_doms;
	struct pol_work *work; /* scratch, reused every tick */
	struct pol_work **order;
	size_t cap_work;
	uint64_t last_now;
	bool ticked;
};

void hotmem_policy_host_defaults(struct hotmem_policy_host_params *params)
{
	*params = (struct hotmem_policy_host_params){
		/* Same as the engine's admission reserve: dom0 must not starve. */
		.reserve_bytes = 256 * MIB,
		.tick_ms = 1000,
		/* 64 operations a tick keeps a 1,000-guest host moving without a burst of
		 * xenstore traffic; the engine runs them concurrently. */
		.max_ops_per_tick = 64,
		.max_grow_bytes_per_tick = 8ull << 30,
		/* Ten missed publications at the default 1 s stats interval. */
		.stale_stats_ms = 10000,
		/* Twice the engine's ack timeout: by then it reported -ETIMEDOUT. */
		.ack_timeout_ms = 60000,
		.unfreeze_hold_ms = 10000,
		/* node_exporter's default scrape interval. */
		.metrics_interval_ms = 15000,
		.metrics_path = HOTMEM_POLICY_METRICS_PATH,
		.abandon_after_ms = 300000,
		/* One tick of the default max-grow-per-tick: a guest under pressure
		 * finds that much free without waiting for lent memory to come back. */
		.lend_float_bytes = 8ull << 30,
	};
}

void hotmem_policy_domain_defaults(struct hotmem_policy_domain_params *params)
{
	*params = (struct hotmem_policy_domain_params){
		.mode = HOTMEM_POLICY_MANUAL,
		.weight = HOTMEM_POLICY_WEIGHT_DEFAULT,
		/* 10 % of MemTotal, at least 64 MiB: below that Linux is reclaiming hard. */
		.low_pct = 10,
		.low_bytes = 64 * MIB,
		/* The band between the watermarks is where nothing happens (hysteresis). */
		.high_pct = 25,
		.high_bytes = 192 * MIB,
		/* 10 % of time with some task stalled on memory is user-visible slowness. */
		.psi_grow = 1000,
		.psi_calm = 100,
		.psi_hold_ms = 3000,
		/* A block grow takes about a second; stats need a publication to show it. */
		.grow_cooldown_ms = 5000,
		.shrink_cooldown_ms = 60000,
		.surplus_hold_ms = 30000,
		.release_hold_ms = 300000,
		.max_step_blocks = 8,
	};
}

int hotmem_policy_host_params_valid(const struct hotmem_policy_host_params *p)
{
	if (!p || !p->tick_ms || !p->max_ops_per_tick || !p->max_grow_bytes_per_tick ||
	    !p->stale_stats_ms || !p->ack_timeout_ms || p->metrics_path[0] != '/')
		return -EINVAL;
	return 0;
}

int hotmem_policy_domain_params_valid(const struct hotmem_policy_domain_params *p)
{
	if (!p)
		return -EINVAL;
	if (p->mode != HOTMEM_POLICY_OFF && p->mode != HOTMEM_POLICY_MANUAL &&
	    p->mode != HOTMEM_POLICY_AUTO)
		return -EINVAL;
	if (p->weight < HOTMEM_POLICY_WEIGHT_MIN || p->weight > HOTMEM_POLICY_WEIGHT_MAX)
		return -EINVAL;
	if (p->low_pct > 100 || p->high_pct > 100 || p->high_pct <= p->low_pct ||
	    p->high_bytes < p->low_bytes)
		return -EINVAL;
	if (p->psi_grow > 10000 || p->psi_calm >= p->psi_grow)
		return -EINVAL;
	if (p->max_bytes && p->max_bytes < p->min_bytes)
		return -EINVAL;
	if (!p->max_step_blocks)
		return -EINVAL;
	return 0;
}

int hotmem_policy_new(const struct hotmem_policy_host_params *host,
		      const struct hotmem_policy_domain_params *defaults,
		      struct hotmem_policy **ret_policy)
{
	struct hotmem_policy *policy;

	if (!ret_policy || (host && hotmem_policy_host_params_valid(host)) ||
	    (defaults && hotmem_policy_domain_params_valid(defaults)))
		return -EINVAL;
	policy = calloc(1, sizeof(*policy));
	if (!policy)
		return -ENOMEM;
	if (host)
		policy->host = *host;
	else
		hotmem_policy_host_defaults(&policy->host);
	if (defaults)
		policy->defaults = *defaults;
	else
		hotmem_policy_domain_defaults(&policy->defaults);
	*ret_policy = policy;
	return 0;
}

void hotmem_policy_free(struct hotmem_policy *policy)
{
	if (!policy)
		return;
	free(policy->doms);
	free(policy->work);
	free(policy->order);
	free(policy);
}

int hotmem_policy_set_host(struct hotmem_policy *policy,
			   const struct hotmem_policy_host_params *params)
{
	if (!policy || hotmem_policy_host_params_valid(params))
		return -EINVAL;
	policy->host = *params;
	return 0;
}

int hotmem_policy_get_host(const struct hotmem_policy *policy,
			   struct hotmem_policy_host_params *ret_params)
{
	if (!policy || !ret_params)
		return -EINVAL;
	*ret_params = policy->host;
	return 0;
}

/* Index of domid in the sorted array, or where it would go (*found false). */
static size_t dom_index(const struct hotmem_policy *policy, uint32_t domid, bool *found)
{
	size_t lo = 0, hi = policy->nr_doms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (policy->doms[mid].domid < domid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < policy->nr_doms && policy->doms[lo].domid == domid;
	return lo;
}

static struct pol_dom *dom_find(const struct hotmem_policy *policy, uint32_t domid)
{
	bool found;
	size_t i = dom_index(policy, domid, &found);

	return found ? &policy->doms[i] : NULL;
}

/* Find or insert (with the defaults) a domain. Pointers into doms die on insert. */
static int dom_get(struct hotmem_policy *policy, uint32_t domid, struct pol_dom **ret_dom)
{
	bool found;
	size_t i = dom_index(policy, domid, &found);
	struct pol_dom *dom;

	if (!found) {
		if (policy->nr_doms == policy->cap_doms) {
			size_t cap = policy->cap_doms ? 2 * policy->cap_doms : 16;
			struct pol_dom *doms = realloc(policy->doms, cap * sizeof(*doms));

			if (!doms)
				return -ENOMEM;
			policy->doms = doms;
			policy->cap_doms = cap;
		}
		memmove(&policy->doms[i + 1], &policy->doms[i],
			(policy->nr_doms - i) * sizeof(*policy->doms));
		policy->nr_doms++;
		dom = &policy->doms[i];
		memset(dom, 0, sizeof(*dom));
		dom->domid = domid;
		dom->params = policy->defaults;
		dom->responsive_since = NEVER;
		dom->psi_high_since = NEVER;
		dom->surplus_since = NEVER;
		dom->ballooned_since = NEVER;
		dom->last_grow_ms = NEVER;
		dom->last_reclaim_ms = NEVER;
		dom->op_end_ms = NEVER;
		dom->relief_ms = NEVER;
		dom->psi_base_at_ms = NEVER;
		dom->trend_at_ms = NEVER;
		dom->short_since = NEVER;
		snprintf(dom->why, sizeof(dom->why), "new");
	}
	*ret_dom = &policy->doms[i];
	return 0;
}

int hotmem_policy_set_domain(struct hotmem_policy *policy, uint32_t domid,
			     const struct hotmem_policy_domain_params *params)
{
	struct pol_dom *dom;
	int r;

	if (!policy || hotmem_policy_domain_params_valid(params))
		return -EINVAL;
	r = dom_get(policy, domid, &dom);
	if (r < 0)
		return r;
	dom->params = *params;
	return 0;
}

int hotmem_policy_remove_domain(struct hotmem_policy *policy, uint32_t domid)
{
	bool found;
	size_t i;

	if (!policy)
		return -EINVAL;
	i = dom_index(policy, domid, &found);
	if (!found)
		return -ENOENT;
	memmove(&policy->doms[i], &policy->doms[i + 1],
		(policy->nr_doms - i - 1) * sizeof(*policy->doms));
	policy->nr_doms--;
	return 0;
}

int hotmem_policy_domain_status(const struct hotmem_policy *policy, uint32_t domid,
				struct hotmem_policy_domain_status *ret_status)
{
	const struct pol_dom *dom;

	if (!policy || !ret_status)
		return -EINVAL;
	dom = dom_find(policy, domid);
	if (!dom)
		return -ENOENT;
	memset(ret_status, 0, sizeof(*ret_status));
	ret_status->domid = domid;
	ret_status->params = dom->params;
	ret_status->frozen = dom->frozen;
	ret_status->pressure = dom->pressure;
	ret_status->surplus = dom->surplus;
	ret_status->need_bytes = dom->need;
	ret_status->demand_bytes = dom->demand;
	ret_status->share_bytes = dom->share;
	ret_status->short_bytes = dom->short_bytes;
	ret_status->have_last = dom->have_last;
	ret_status->last = dom->last;
	memcpy(ret_status->why, dom->why, sizeof(ret_status->why));
	return 0;
}

const char *hotmem_policy_action_name(enum hotmem_policy_action action)
{
	switch (action) {
	case HOTMEM_POLICY_NONE:
		return "none";
	case HOTMEM_POLICY_GROW:
		return "grow";
	case HOTMEM_POLICY_SHRINK:
		return "shrink";
	case HOTMEM_POLICY_SET_TARGET:
		return "target";
	case HOTMEM_POLICY_FREEZE:
		return "freeze";
	case HOTMEM_POLICY_UNFREEZE:
		return "unfreeze";
	}
	return "?";
}

const char *hotmem_policy_mode_name(enum hotmem_policy_mode mode)
{
	switch (mode) {
	case HOTMEM_POLICY_OFF:
		return "off";
	case HOTMEM_POLICY_MANUAL:
		return "manual";
	case HOTMEM_POLICY_AUTO:
		return "auto";
	}
	return "?";
}

int hotmem_policy_parse_mode(const char *text, enum hotmem_policy_mode *ret_mode)
{
	static const enum hotmem_policy_mode modes[] = { HOTMEM_POLICY_OFF, HOTMEM_POLICY_MANUAL,
							 HOTMEM_POLICY_AUTO };

	if (!text || !ret_mode)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(text, hotmem_policy_mode_name(modes[i])) == 0) {
			*ret_mode = modes[i];
			return 0;
		}
	}
	return -EINVAL;
}

static uint64_t u64_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t u64_max(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Whether at least hold_ms passed since `since` (NEVER: the condition is not on). */
static bool held(uint64_t since, uint64_t now, uint32_t hold_ms)
{
	return since != NEVER && now - since >= hold_ms;
}

/* Whether `last` (NEVER: never happened) is at least gap_ms ago. */
static bool quiet_since(uint64_t last, uint64_t now, uint32_t gap_ms)
{
	return last == NEVER || now - last >= gap_ms;
}

/* Time left until `last` + gap_ms, in whole seconds rounded up (for reasons). */
static unsigned int wait_s(uint64_t last, uint64_t now, uint32_t gap_ms)
{
	return (unsigned int)((last + gap_ms - now + 999) / 1000);
}

static unsigned long long mib(uint64_t bytes)
{
	return (unsigned long long)(bytes / MIB);
}

/* Append a decision; false when the buffer is full (acts as a rate limit). */
static bool emit(struct hotmem_policy_decision *out, size_t max, size_t *count, struct pol_dom *dom,
		 uint64_t now, enum hotmem_policy_action action, uint32_t blocks, uint64_t bytes,
		 uint64_t target, const char *reason)
{
	struct hotmem_policy_decision *d;

	if (*count >= max)
		return false;
	d = &out[(*count)++];
	memset(d, 0, sizeof(*d));
	d->domid = dom->domid;
	d->action = action;
	d->blocks = blocks;
	d->bytes = bytes;
	d->target_bytes = target;
	d->at_ms = now;
	snprintf(d->reason, sizeof(d->reason), "%s", reason);
	dom->last = *d;
	dom->have_last = true;
	/*
	 * An operation of the policy's own counts as running from now: one that
	 * ends before the next tick (lab.autoscale: a 256 MiB grow in 0.6 s)
	 * would otherwise never be seen busy, so neither its end nor the relief
	 * would be noted, and the next tick, on the same stats, grew the guest
	 * by a block more.
	 */
	if (action == HOTMEM_POLICY_GROW || action == HOTMEM_POLICY_SHRINK)
		dom->was_busy = true;
	snprintf(dom->why, sizeof(dom->why), "%s", reason);
	return true;
}

static int cmp_work_domid(const void *a, const void *b)
{
	const struct pol_work *x = *(struct pol_work *const *)a;
	const struct pol_work *y = *(struct pol_work *const *)b;

	return (x->in->domid > y->in->domid) - (x->in->domid < y->in->domid);
}

/* Input checks; also sorts order[] by domid to find duplicates. */
static int check_inputs(struct hotmem_policy *policy, const struct hotmem_policy_domain_input *in,
			size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (in[i].block_size && !hotmem_block_size_valid(in[i].block_size))
			return -EINVAL;
		if (in[i].have_stats && in[i].stats.memavail_kib > in[i].stats.memtotal_kib)
			return -EINVAL;
		policy->work[i].in = &in[i];
		policy->order[i] = &policy->work[i];
	}
	qsort(policy->order, n, sizeof(*policy->order), cmp_work_domid);
	for (size_t i = 1; i < n; i++) {
		if (policy->order[i]->in->domid == policy->order[i - 1]->in->domid)
			return -EINVAL;
	}
	return 0;
}

static int reserve_work(struct hotmem_policy *policy, size_t n)
{
	if (n <= policy->cap_work)
		return 0;
	struct pol_work *work = realloc(policy->work, n * sizeof(*work));
	if (!work)
		return -ENOMEM;
	policy->work = work;
	struct pol_work **order = realloc(policy->order, n * sizeof(*order));
	if (!order)
		return -ENOMEM;
	policy->order = order;
	policy->cap_work = n;
	return 0;
}

/*
 * Responsiveness, the squeezed "inactive domain" rule: a guest that broke the
 * protocol, stopped publishing stats or sat on a request past the ack timeout
 * is frozen at its size; it unfreezes only after unfreeze_hold_ms of good
 * behaviour so a flapping guest stays frozen.
 */
static void judge_responsive(struct hotmem_policy *policy, struct pol_work *w, uint64_t now,
			     struct hotmem_policy_decision *out, size_t max, size_t *count)
{
	const struct hotmem_policy_domain_input *in = w->in;
	struct pol_dom *dom = w->dom;
	char reason[HOTMEM_POLICY_REASON_MAX];
	bool stale =
		in->have_stats ? in->stats_age_ms > policy->host.stale_stats_ms : dom->seen_stats;
	bool timed_out = in->op_busy && in->op_age_ms > policy->host.ack_timeout_ms;

	if (in->have_stats)
		dom->seen_stats = true;
	if (in->broken || stale || timed_out) {
		dom->responsive_since = NEVER;
		if (in->broken)
			snprintf(reason, sizeof(reason),
				 "frozen: guest broken or violated protocol");
		else if (timed_out)
			snprintf(reason, sizeof(reason), "frozen: no ack for %llus",
				 (unsigned long long)(in->op_age_ms / 1000));
		else
			snprintf(reason, sizeof(reason), "frozen: stats stale %llus",
				 (unsigned long long)(in->stats_age_ms / 1000));
		if (!dom->frozen) {
			dom->frozen = true;
			/* A full buffer only delays the notice; the freeze holds anyway. */
			emit(out, max, count, dom, now, HOTMEM_POLICY_FREEZE, 0, 0, w->cur, reason);
		}
		snprintf(dom->why, sizeof(dom->why), "%s", reason);
		return;
	}
	if (!dom->frozen)
		return;
	if (dom->responsive_since == NEVER)
		dom->responsive_since = now;
	if (held(dom->responsive_since, now, policy->host.unfreeze_hold_ms)) {
		dom->frozen = false;
		dom->responsive_since = NEVER;
		emit(out, max, count, dom, now, HOTMEM_POLICY_UNFREEZE, 0, 0, w->cur,
		     "unfrozen: responsive again");
	} else {
		snprintf(dom->why, sizeof(dom->why), "frozen: responsive for %llus",
			 (unsigned long long)((now - dom->responsive_since) / 1000));
	}
}

/*
 * The trend of the guest's memory use (MemTotal - MemAvailable: what its
 * working set and kernel hold, whatever its size) from successive stats, in
 * bytes per ms, smoothed; a new sample only when the guest published again.
 */
static void judge_trend(struct pol_work *w, uint64_t now)
{
	const struct hotmem_stats *st = &w->in->stats;
	struct pol_dom *dom = w->dom;
	uint64_t used = w->total - w->avail;
	uint64_t at = now > w->in->stats_age_ms ? now - w->in->stats_age_ms : 0;

	if (dom->trend_at_ms != NEVER && st->counter == dom->trend_counter)
		return;
	/* The recent peak: buckets the hour has left behind are emptied first. */
	uint64_t epoch = at / PEAK_BUCKET_MS;
	if (dom->trend_at_ms == NEVER || epoch > dom->peak_epoch) {
		uint64_t gap = dom->trend_at_ms == NEVER ? PEAK_BUCKETS : epoch - dom->peak_epoch;

		for (uint64_t k = 1; k <= gap && k <= PEAK_BUCKETS; k++)
			dom->peak_used[(dom->peak_epoch + k) % PEAK_BUCKETS] = 0;
		dom->peak_epoch = epoch;
	}
	if (epoch == dom->peak_epoch)
		dom->peak_used[epoch % PEAK_BUCKETS] =
			u64_max(dom->peak_used[epoch % PEAK_BUCKETS], used);
	/* Ran out: keep how fast its use was growing before (the samples at 0
	 * show only what it is given) and what it held. */
	if (!w->avail) {
		if (dom->short_since == NEVER) {
			dom->short_since = at;
			dom->short_rate = dom->trend_rate > 0 ? dom->trend_rate : 0;
			dom->short_base = w->base;
		}
	} else {
		dom->short_since = NEVER;
	}
	if (dom->trend_at_ms != NEVER && at > dom->trend_at_ms) {
		double rate =
			((double)used - (double)dom->trend_used) / (double)(at - dom->trend_at_ms);

		dom->trend_rate = dom->trend_rate * (1 - TREND_ALPHA) + rate * TREND_ALPHA;
	}
	dom->trend_counter = st->counter;
	dom->trend_at_ms = at;
	dom->trend_used = used;
}

/*
 * Whether the guest still stalls on memory since its last relief (an
 * operation that ended, a deflation issued). avg10 is a 10 s average: after
 * a grow has ended a guest's stall it stays above psi_grow for seconds
 * (lab.autoscale: 35.5 % 1.1 s after a grow that had ended the stall,
 * which then asked for a block it did not need). So after a relief, PSI
 * counts only through the stall since then: from a baseline just after it
 * (avg10 a0 at t0, below) and the latest (a1 at t1), with n the periods
 * the kernel surely averaged in between (one tick of slack for when the
 * guest read it), the stall since t0 is estimated as
 * (a1 - a0 * d^n) / (1 - d^n). If nothing stalled since t0, a1 <= a0 * d^n
 * and the estimate is 0 or less, whatever the timing; a stall that goes on
 * at the same rate keeps it at that rate. As the baseline ages, d^n goes
 * to 0 and the estimate to avg10 itself. The cost: a guest a grow did not
 * relieve waits one PSI period and a tick for the next grow on PSI alone,
 * PSI_WAKE_PERIODS if it has the middle of its band available (below).
 */
static bool psi_stalling(struct pol_work *w, uint64_t now, uint32_t tick_ms)
{
	const struct hotmem_policy_domain_params *p = &w->dom->params;
	struct pol_dom *dom = w->dom;
	uint32_t a1 = w->in->stats.psi_some_avg10;
	uint64_t at = now > w->in->stats_age_ms ? now - w->in->stats_age_ms : 0;
	bool roomy = w->avail >= w->wm_mid;
	uint64_t periods;
	double decay = 1;

	if (dom->relief_ms == NEVER)
		return true;
	if (at < dom->relief_ms)
		return false; /* published before the relief: says nothing of after */
	/*
	 * The baseline: the avg10 of the first stats after the relief. But the
	 * kernel's first update after a relief (the first avg10 that differs)
	 * averages mostly the periods before it: in a guest that has the middle
	 * of its band available, a rise there is the stall the relief ended,
	 * and that update is the baseline if it came within a period and a
	 * tick (lab.autoscale: 32.38 % at the grow's end, then 41.91, 38.12,
	 * 32.12, 26.30 %, MemAvailable 203 of 512 MiB; from 32.38 % the
	 * estimate said 14 % of stall since the grow and grew autoa by a
	 * block it did not need). Short of that middle, the rise is taken as
	 * the stall it looks like (the grow was too small).
	 */
	if (dom->psi_base_at_ms == NEVER) {
		dom->psi_base_at_ms = at;
		dom->psi_base = a1;
		dom->psi_base_moved = false;
		return false;
	}
	if (!dom->psi_base_moved && a1 != dom->psi_base) {
		dom->psi_base_moved = true;
		if (roomy && a1 > dom->psi_base && at - dom->relief_ms < PSI_PERIOD_MS + tick_ms) {
			dom->psi_base_at_ms = at;
			dom->psi_base = a1;
			return false;
		}
	}
	periods = at - dom->psi_base_at_ms > tick_ms
			  ? (at - dom->psi_base_at_ms - tick_ms) / PSI_PERIOD_MS
			  : 0;
	if (!periods)
		return false;
	/*
	 * The periods after a relief can be the relief's own wake: a thrash
	 * swaps back in what it had evicted (lab.autoscale, MemAvailable 204 of
	 * 512 MiB after a 256 MiB grow, each time growing autoa by a block it
	 * did not need: CI at 1bcd51a, 18 % stall in the first period, none
	 * after; on a loaded host 26 % and 23 % in the first two, 4 % in the
	 * third, the stall total flat from then on). So a guest that has the
	 * middle of its band available must stall through PSI_WAKE_PERIODS; one
	 * that has not (the grow was too small: the swap-in eats what it gave)
	 * is grown after one. Only the kernel's stall total, which the stats
	 * do not carry, would tell the wake from a stall that goes on.
	 */
	if (periods < PSI_WAKE_PERIODS && roomy)
		return false;
	if (periods > PSI_PERIODS_MAX)
		return true;
	for (uint64_t k = 0; k < periods; k++)
		decay *= PSI_DECAY;
	return (double)a1 - (double)dom->psi_base * decay >= (double)p->psi_grow * (1 - decay);
}

/*
 * Pressure and surplus from the stats, with their timers, and the demand:
 * under pressure the size that puts MemAvailable, as projected TREND_TICKS
 * ahead along the trend, back in the middle of the band between the
 * watermarks (at least one block when only PSI says so); with surplus, the
 * size that brings it down to that middle; otherwise the current size.
 * Aiming at the middle, not at a watermark, is the hysteresis: a grown guest
 * lands inside the band and does not look like surplus. Sizes start from the
 * frames the guest holds (what its stats describe), not from its target, so
 * a balloon still filling is not counted twice.
 */
static void judge_demand(struct pol_work *w, uint64_t now, uint32_t tick_ms)
{
	const struct hotmem_policy_domain_params *p = &w->dom->params;
	const struct hotmem_stats *st = &w->in->stats;
	struct pol_dom *dom = w->dom;
	uint64_t want = 0, ahead = 0;

	w->total = st->memtotal_kib << 10;
	w->avail = st->memavail_kib << 10;
	w->wm_low = u64_max(w->total / 100 * p->low_pct, p->low_bytes);
	w->wm_high = u64_max(w->total / 100 * p->high_pct, p->high_bytes);
	if (w->wm_high <= w->wm_low)
		w->wm_high = w->wm_low + w->wm_low / 2;
	w->wm_mid = w->wm_low + (w->wm_high - w->wm_low) / 2;
	judge_trend(w, now);
	if (dom->trend_rate > 0)
		ahead = (uint64_t)(dom->trend_rate * (double)tick_ms * TREND_TICKS);
	/*
	 * A guest that publishes its swap in use (stats-swap) says what the
	 * estimate below guesses: memory its kernel pushed out and will read
	 * back as it touches it. It counts while the guest is pressed
	 * (MemAvailable under the low watermark, or PSI at psi-grow), and
	 * only above what it had in swap when last not pressed: swap that
	 * stays while the working set fits is pages nobody touches (cold),
	 * no shortfall, and a guest is not grown by them. The baseline
	 * follows the figure down while pressed (cold pages freed or read
	 * back). A guest whose cold pages go out only once it is pressed is
	 * over-grown by them, and gives them back as surplus.
	 */
	w->swapped = 0;
	if (st->has_swapped) {
		uint64_t swapped = st->swapped_kib << 10;

		if (w->avail >= w->wm_low && st->psi_some_avg10 < p->psi_grow)
			dom->swap_cold = swapped;
		else if (swapped > dom->swap_cold)
			w->swapped = swapped - dom->swap_cold;
		else
			dom->swap_cold = swapped;
	}
	/*
	 * At MemAvailable 0 its use cannot show how far the working set went
	 * past what it holds: the swap figure does; without one, if it went
	 * on growing as it was when it ran out, it is short by that growth
	 * since then, less what it was given.
	 */
	w->short_bytes = 0;
	if (st->has_swapped) {
		if (!w->avail)
			w->short_bytes = w->swapped;
	} else if (!w->avail && dom->short_since != NEVER) {
		uint64_t at = now > w->in->stats_age_ms ? now - w->in->stats_age_ms : 0;
		double grown = dom->short_rate * (double)(at - dom->short_since) -
			       ((double)w->base - (double)dom->short_base);

		w->short_bytes = grown > 0 ? (uint64_t)grown : 0;
	}
	w->avail_ahead = w->avail > ahead ? w->avail - ahead : 0;
	/* base + (used + ahead + NEED_MARGIN - total), never below 0 */
	w->need_raw = sat_add(sat_add(w->base, sat_add(w->total - w->avail, w->swapped)),
			      sat_add(ahead, w->wm_low / NEED_MARGIN_DIV));
	w->need_raw = w->need_raw > w->total ? w->need_raw - w->total : 0;
	w->need_lean = w->need_raw > w->wm_low / NEED_MARGIN_DIV - w->wm_low / NEED_MARGIN_SHORT_DIV
			       ? w->need_raw - (w->wm_low / NEED_MARGIN_DIV -
						w->wm_low / NEED_MARGIN_SHORT_DIV)
			       : 0;

	if (st->psi_some_avg10 >= p->psi_grow) {
		if (dom->psi_high_since == NEVER)
			dom->psi_high_since = now;
	} else {
		dom->psi_high_since = NEVER;
	}
	/* psi_stalling() first: it takes its baseline whatever the PSI is. */
	w->psi_pressure =
		psi_stalling(w, now, tick_ms) && held(dom->psi_high_since, now, p->psi_hold_ms);
	/*
	 * MemAvailable at 0 says the working set does not fit, not by how much
	 * (used cannot show more than MemTotal): it needs at least a block more
	 * than it holds. Without this its need would be what it holds plus a
	 * sliver, less than a block, which arbitration could satisfy on paper
	 * while no grow can deliver it.
	 */
	if (!w->avail) {
		uint64_t step = w->in->block_size ? w->in->block_size : PSI_STEP_NO_WINDOW;

		w->need_raw = u64_max(w->need_raw, sat_add(w->base, step));
		w->need_lean = u64_max(w->need_lean, sat_add(w->base, step));
	}
	w->pressure = w->avail_ahead < w->wm_low || w->psi_pressure;
	w->idle = !w->pressure && w->avail_ahead > w->wm_high && st->psi_some_avg10 <= p->psi_calm;
	if (w->idle) {
		if (dom->surplus_since == NEVER)
			dom->surplus_since = now;
	} else {
		dom->surplus_since = NEVER;
	}

	w->demand_hold = w->cur;
	w->demand_idle = w->cur;
	if (w->pressure) {
		if (w->avail_ahead < w->wm_mid)
			want = w->wm_mid - w->avail_ahead;
		want = sat_add(want, w->swapped);
		if (w->psi_pressure) {
			uint64_t step = w->in->block_size ? w->in->block_size : PSI_STEP_NO_WINDOW;

			want = u64_max(want, step);
		}
		w->demand_hold = w->demand_idle = u64_max(sat_add(w->base, want), w->cur);
		/*
		 * Past what the balloon can give back, memory comes in whole
		 * blocks: ask for them, so arbitration sees contention as soon as
		 * a block does not fit, not only once the bytes do not.
		 */
		if (w->in->block_size && w->demand_hold > w->hot_max) {
			uint64_t bs = w->in->block_size;
			uint64_t blocks = (w->demand_hold - w->hot_max + bs - 1) / bs;

			w->demand_hold = w->demand_idle = sat_add(w->hot_max, blocks * bs);
		}
	} else if (w->idle) {
		uint64_t surplus = u64_min(w->avail_ahead - w->wm_mid, w->base);

		w->demand_idle = u64_min(w->base - surplus, w->cur);
		if (held(dom->surplus_since, now, p->surplus_hold_ms))
			w->demand_hold = w->demand_idle;
	}
	w->demand_hold = u64_min(u64_max(w->demand_hold, w->min), w->max);
	w->demand_idle = u64_min(u64_max(w->demand_idle, w->min), w->max);

	uint64_t peak = 0;
	for (size_t k = 0; k < PEAK_BUCKETS; k++)
		peak = u64_max(peak, dom->peak_used[k]);
	/* base + (peak + margin - total): the peak use with the margin available */
	w->peak_size = sat_add(w->base, sat_add(peak, w->wm_mid));
	w->peak_size = w->peak_size > w->total ? w->peak_size - w->total : 0;
	w->peak_size = u64_min(w->peak_size, w->max);
}

static int cmp_level(const void *a, const void *b)
{
	const struct pol_work *x = *(struct pol_work *const *)a;
	const struct pol_work *y = *(struct pol_work *const *)b;
	/* Level at which a domain is satisfied: (fill_hi - fill_lo) / weight. */
	double lx = (double)(x->fill_hi - x->fill_lo) / x->dom->params.weight;
	double ly = (double)(y->fill_hi - y->fill_lo) / y->dom->params.weight;

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return (x->in->domid > y->in->domid) - (x->in->domid < y->in->domid);
}

/*
 * Weighted max-min fairness (water-filling) between fill_lo and fill_hi:
 * every active domain gets fill_lo + weight * L, capped at fill_hi, with L
 * the largest level whose total fits in `budget`. Domains are taken in order
 * of the level at which they are satisfied; each satisfied one returns its
 * unused share to the rest. Returns whether every fill_hi fit.
 */
static bool water_fill(struct pol_work **act, size_t n, uint64_t budget)
{
	uint64_t sum_lo = 0, sum_hi = 0, left;
	double weights = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		sum_lo = sat_add(sum_lo, act[i]->fill_lo);
		sum_hi = sat_add(sum_hi, act[i]->fill_hi);
		weights += act[i]->dom->params.weight;
	}
	if (sum_hi <= budget) {
		for (i = 0; i < n; i++)
			act[i]->share = act[i]->fill_hi;
		return true;
	}
	if (sum_lo >= budget) {
		/* Even the floors do not fit: nobody goes below them, nobody grows. */
		for (i = 0; i < n; i++)
			act[i]->share = act[i]->fill_lo;
		return false;
	}
	qsort(act, n, sizeof(*act), cmp_level);
	left = budget - sum_lo;
	for (i = 0; i < n; i++) {
		double w = act[i]->dom->params.weight;
		uint64_t above = act[i]->fill_hi - act[i]->fill_lo;

		if ((double)above > (double)left * w / weights)
			break;
		act[i]->share = act[i]->fill_hi;
		left -= above;
		weights -= w;
	}
	for (; i < n; i++) {
		double w = act[i]->dom->params.weight;
		uint64_t give = (uint64_t)((double)left * w / weights);

		act[i]->share = act[i]->fill_lo + give;
		left -= give;
		weights -= w;
	}
	return false;
}

/*
 * What making a need whole is reckoned to cost, while the needs do not all
 * fit: what it lacks of it where the working set still fits (MemAvailable
 * above 0); at MemAvailable 0, where its need is only a guess, its
 * estimated shortfall plus a share of its size (SHORT_SIZE_DIV): a working
 * set that outgrew its memory did so by some share of it, so the smaller
 * the guest, the less it takes to make it whole.
 */
static uint64_t whole_need_cost(const struct pol_work *w)
{
	if (!w->avail)
		return sat_add(w->short_bytes, w->total / SHORT_SIZE_DIV);
	return w->fill_hi - w->fill_lo;
}

/*
 * Which need is cheaper to serve whole: first the guests whose working set
 * still fits (MemAvailable above 0), then those at 0, each by
 * whole_need_cost(); equal ones: the higher weight first, then domid.
 */
static int cmp_cheapest(const void *a, const void *b)
{
	const struct pol_work *x = *(struct pol_work *const *)a;
	const struct pol_work *y = *(struct pol_work *const *)b;
	bool xs = !x->avail, ys = !y->avail;
	uint64_t kx = whole_need_cost(x), ky = whole_need_cost(y);

	if (xs != ys)
		return xs ? 1 : -1;
	if (kx != ky)
		return kx < ky ? -1 : 1;
	if (x->dom->params.weight != y->dom->params.weight)
		return x->dom->params.weight > y->dom->params.weight ? -1 : 1;
	return (x->in->domid > y->in->domid) - (x->in->domid < y->in->domid);
}

/*
 * The needs do not all fit: every domain keeps its floor (fill_lo) and what
 * is left makes whole needs (fill_hi), cheapest first (cmp_cheapest), the
 * last one served with what remains. A working set that does not fit
 * thrashes however little it is short, so a share that covers part of
 * every need keeps none of them fitting: water-filling the needs by weight
 * left hundreds of guests each a sliver short until the last moment
 * (docs/policy.md, section 4, diurnal).
 */
static void serve_whole_needs(struct pol_work **act, size_t n, uint64_t budget)
{
	uint64_t left = budget;
	size_t k;

	for (k = 0; k < n; k++) {
		act[k]->share = act[k]->fill_lo;
		left = left > act[k]->fill_lo ? left - act[k]->fill_lo : 0;
	}
	qsort(act, n, sizeof(*act), cmp_cheapest);
	for (k = 0; k < n && left; k++) {
		uint64_t give = u64_min(act[k]->fill_hi - act[k]->fill_lo, left);

		act[k]->share += give;
		left -= give;
	}
}

/*
 * Arbitration in two rounds: first every domain's need (what keeps its
 * working set, as projected, fitting with a quarter of the low watermark to
 * spare) above what it holds of that need (at least its min): all of them
 * if they fit, else whole needs, cheapest first (serve_whole_needs); only
 * if all needs fit, the comfort up to each demand (the middle of the band)
 * by weight above the need (water-filling). Headroom never goes to one
 * guest while another's working set does not fit.
 */
static bool arbitrate(struct pol_work **act, size_t n, uint64_t budget)
{
	size_t k;

	for (k = 0; k < n; k++) {
		/*
		 * Above what each holds of its need: what a working set holds
		 * cannot be ballooned out of a guest (Linux's balloon gets no
		 * page in use without swap, a block removal is refused nomem),
		 * so a share below it would be a reclaim that never ends, and
		 * memory counted for others that never comes.
		 */
		act[k]->fill_lo = u64_max(act[k]->min, u64_min(act[k]->cur, act[k]->need));
		act[k]->fill_hi = act[k]->need;
	}
	if (!water_fill(act, n, budget)) {
		serve_whole_needs(act, n, budget);
		return false;
	}
	for (k = 0; k < n; k++) {
		act[k]->fill_lo = act[k]->need;
		act[k]->fill_hi = act[k]->demand;
	}
	water_fill(act, n, budget);
	return true;
}

/*
 * Memory nobody asked for is lent: while the demands fit with more than a
 * float to spare (free memory kept for growers), the rest goes as headroom,
 * by weight above each share, up to what each guest's recent peak use needs
 * (peak_size). A guest that stops answering keeps what it holds for its
 * whole silence; with the host idle it might as well hold its last hour's
 * peak. Lent headroom stays where it is while half the float is free (no
 * churn as demands move); below that the level is recomputed and what is
 * above it is the first memory taken back (act_reclaim: "slack headroom",
 * no cooldown). Under contention nothing is lent and the demands decide.
 */
static void lend_headroom(struct pol_work **act, size_t n, uint64_t budget, bool contention,
			  uint64_t sum_demand, uint64_t lend_float)
{
	uint64_t float_bytes = u64_max(budget / LEND_FLOAT_DIV, lend_float);
	uint64_t sum_keep = 0, lend;
	size_t k;

	if (contention || sat_add(sum_demand, float_bytes) >= budget)
		return;
	for (k = 0; k < n; k++) {
		act[k]->fill_lo = act[k]->share;
		act[k]->fill_hi = u64_max(act[k]->share, act[k]->peak_size);
		sum_keep = sat_add(sum_keep,
				   u64_max(act[k]->share, u64_min(act[k]->cur, act[k]->fill_hi)));
	}
	lend = budget - float_bytes;
	if (sat_add(sum_keep, float_bytes / 2) <= budget) {
		for (k = 0; k < n; k++)
			act[k]->fill_lo =
				u64_max(act[k]->share, u64_min(act[k]->cur, act[k]->fill_hi));
		lend = u64_max(lend, sum_keep);
	}
	water_fill(act, n, lend);
}

/* Grows first: the domain below its min, then the one furthest under its watermark. */
static int cmp_grower(const void *a, const void *b)
{
	const struct pol_work *x = *(struct pol_work *const *)a;
	const struct pol_work *y = *(struct pol_work *const *)b;
	bool xm = x->cur < x->min, ym = y->cur < y->min;
	double ux, uy;

	if (xm != ym)
		return xm ? -1 : 1;
	/* under pressure before headroom lent on an idle host */
	if (x->pressure != y->pressure)
		return x->pressure ? -1 : 1;
	/* Urgency: the share of its comfort point it is missing. */
	ux = x->avail >= x->wm_mid ? 0 : (double)(x->wm_mid - x->avail) / (double)x->wm_mid;
	uy = y->avail >= y->wm_mid ? 0 : (double)(y->wm_mid - y->avail) / (double)y->wm_mid;
	if (x->psi_pressure)
		ux += 1;
	if (y->psi_pressure)
		uy += 1;
	if (ux != uy)
		return ux > uy ? -1 : 1;
	return (x->in->domid > y->in->domid) - (x->in->domid < y->in->domid);
}

/* Reclaims: idle domains first, then the one with the most MemAvailable to spare. */
static int cmp_donor(const void *a, const void *b)
{
	const struct pol_work *x = *(struct pol_work *const *)a;
	const struct pol_work *y = *(struct pol_work *const *)b;
	double fx, fy;

	if (x->idle != y->idle)
		return x->idle ? -1 : 1;
	fx = x->total ? (double)x->avail / (double)x->total : 0;
	fy = y->total ? (double)y->avail / (double)y->total : 0;
	if (fx != fy)
		return fx > fy ? -1 : 1;
	return (x->in->domid > y->in->domid) - (x->in->domid < y->in->domid);
}

/* Shared by the passes of one tick. */
struct pol_budget {
	int64_t pool;	     /* free above reserve, minus what is promised */
	uint64_t grow_bytes; /* max_grow_bytes_per_tick left */
	uint32_t ops;	     /* max_ops_per_tick left */
};

/*
 * A grow the guest asked for starts shrink_cooldown, so the next dip does
 * not undo it; headroom lent on an idle host does not: it goes back as
 * soon as the host wants it (act_reclaim, "slack headroom").
 */
static void note_grow(struct pol_dom *dom, uint64_t now, bool lent)
{
	dom->lent = lent;
	if (!lent)
		dom->last_grow_ms = now;
}

/* Deflate the balloon, else grow blocks, toward the share. */
static void act_grow(struct pol_work *w, uint64_t now, bool contention, struct pol_budget *b,
		     struct hotmem_policy_decision *out, size_t max, size_t *count)
{
	const struct hotmem_policy_domain_params *p = &w->dom->params;
	struct pol_dom *dom = w->dom;
	uint64_t need = w->share - w->cur, bs = w->in->block_size;
	uint64_t deflatable = w->hot_max > w->cur ? w->hot_max - w->cur : 0;
	uint64_t pool = b->pool > 0 ? (uint64_t)b->pool : 0;
	char reason[HOTMEM_POLICY_REASON_MAX];
	char why[48];

	if (w->cur < w->min)
		snprintf(why, sizeof(why), "below min %lluM", mib(w->min));
	else if (w->avail < w->wm_low)
		snprintf(why, sizeof(why), "avail %lluM < low %lluM", mib(w->avail),
			 mib(w->wm_low));
	else if (w->avail_ahead < w->wm_low)
		/* MemAvailable TREND_TICKS ahead on its trend is under the watermark */
		snprintf(why, sizeof(why), "trend %lluM < low %lluM", mib(w->avail_ahead),
			 mib(w->wm_low));
	else if (w->psi_pressure)
		snprintf(why, sizeof(why), "psi %u.%02u%%", w->in->stats.psi_some_avg10 / 100,
			 w->in->stats.psi_some_avg10 % 100);
	else
		snprintf(why, sizeof(why), "headroom, host idle");
	/* The swap it counted in its demand, so the log says why a grow is that big. */
	if (w->swapped) {
		size_t len = strlen(why);

		snprintf(why + len, sizeof(why) - len, ", swapped %lluM", mib(w->swapped));
	}
	/* nothing presses it: what it is given is lent (lend_headroom) */
	bool lend = !w->pressure && w->cur >= w->min;

	/*
	 * A guest that holds its need (its working set fits, with the margin)
	 * and is less than a balloon step under its share is not waiting for
	 * memory: that sliver is churn, and asking for it right after a reclaim
	 * would undo the reclaim.
	 */
	if (w->cur >= w->need && need < BALLOON_MIN_STEP) {
		snprintf(dom->why, sizeof(dom->why), "%s; within a step of its share", why);
		return;
	}
	/*
	 * No cooldown stands between a guest under pressure and memory the host
	 * can afford: the running operation (op_busy) and stats older than its
	 * end are what keeps a grow from being asked twice. Only under
	 * contention, where memory just reclaimed from a guest may be what pays
	 * for the grows, does a grow wait grow_cooldown after a reclaim of the
	 * same guest, so shares do not flip back and forth; not once its
	 * working set no longer fits what it holds (below its need): a reclaim
	 * never takes a guest under its need, so that is a new need, not a flip.
	 */
	if (contention && w->cur >= w->need &&
	    !quiet_since(dom->last_reclaim_ms, now, p->grow_cooldown_ms)) {
		snprintf(dom->why, sizeof(dom->why), "%s; cooldown %us", why,
			 wait_s(dom->last_reclaim_ms, now, p->grow_cooldown_ms));
		return;
	}
	if (dom->op_end_ms != NEVER && w->in->stats_age_ms > now - dom->op_end_ms) {
		snprintf(dom->why, sizeof(dom->why), "%s; stats predate last op", why);
		return;
	}
	if (!b->ops) {
		snprintf(dom->why, sizeof(dom->why), "%s; host rate limit", why);
		return;
	}
	if (deflatable) {
		/* The balloon first: it is fast and needs no guest hot-add. */
		uint64_t d = u64_min(u64_min(need, deflatable), u64_min(pool, b->grow_bytes));

		if (d < need && d < deflatable)
			d &= ~(MIB - 1);
		if (!d || (lend && d < BALLOON_MIN_STEP)) {
			snprintf(dom->why, sizeof(dom->why), "%s; host short", why);
			w->starved = !lend;
			return;
		}
		snprintf(reason, sizeof(reason), "deflate +%lluM: %s", mib(d), why);
		if (!emit(out, max, count, dom, now, HOTMEM_POLICY_SET_TARGET, 0, 0, w->cur + d,
			  reason))
			return;
		b->pool -= (int64_t)d;
		b->grow_bytes -= d;
		b->ops--;
		note_grow(dom, now, lend);
		dom->relief_ms = now;
		dom->psi_base_at_ms = NEVER;
		w->acted = true;
		return;
	}
	if (!bs) {
		snprintf(dom->why, sizeof(dom->why), "%s; no window yet", why);
		return;
	}
	/* lent headroom comes in whole blocks under the share, never past it */
	uint64_t blocks = lend ? need / bs : (need + bs - 1) / bs;
	blocks = u64_min(blocks, p->max_step_blocks);
	blocks = u64_min(blocks, pool / bs);
	blocks = u64_min(blocks, b->grow_bytes / bs);
	blocks = u64_min(blocks, w->max > w->cur ? (w->max - w->cur) / bs : 0);
	if (!blocks) {
		w->starved = pool < bs && !lend;
		snprintf(dom->why, sizeof(dom->why), "%s; %s", why,
			 pool < bs	      ? "host short"
			 : b->grow_bytes < bs ? "host grow limit"
					      : "at max");
		return;
	}
	snprintf(reason, sizeof(reason), "grow %llu: %s", (unsigned long long)blocks, why);
	if (!emit(out, max, count, dom, now, HOTMEM_POLICY_GROW, (uint32_t)blocks, blocks * bs, 0,
		  reason))
		return;
	b->pool -= (int64_t)(blocks * bs);
	b->grow_bytes -= blocks * bs;
	b->ops--;
	note_grow(dom, now, lend);
	w->acted = true;
}

/* Balloon down to the share (short-term reclaim). */
static void act_reclaim(struct pol_work *w, uint64_t now, bool contention, bool needs_short,
			bool needs_waiting, uint64_t *starved_bytes, struct pol_budget *b,
			struct hotmem_policy_decision *out, size_t max, size_t *count)
{
	const struct hotmem_policy_domain_params *p = &w->dom->params;
	struct pol_dom *dom = w->dom;
	uint64_t take = (w->cur - w->share) & ~(MIB - 1);
	uint64_t above_need = w->cur > w->need ? (w->cur - w->need) & ~(MIB - 1) : 0;
	char reason[HOTMEM_POLICY_REASON_MAX];
	const char *why;

	/*
	 * Water-filling spreads what the growers get over every donor: with
	 * hundreds of guests each owes a sliver under BALLOON_MIN_STEP, no
	 * reclaim starts, and a grower the free memory cannot pay waits for
	 * ever. While one does, donors give a whole step (never below their
	 * need: their working sets stay fitting), in donor order, until what
	 * the starved growers wait for is covered, and what they hold above
	 * their need in slivers of BALLOON_STARVED_STEP or more. Since needs
	 * that do not fit are served whole, cheapest first, the slivers make
	 * whole needs instead of spreading the shortage (which they did while
	 * the needs were water-filled by weight, docs/policy.md).
	 */
	uint64_t step = *starved_bytes ? BALLOON_STARVED_STEP : BALLOON_MIN_STEP;
	if (take < BALLOON_MIN_STEP && *starved_bytes && above_need >= step)
		take = u64_min(u64_max(take, BALLOON_MIN_STEP), above_need);
	if (take < step)
		return;
	if (w->cur > w->max)
		why = "above max";
	else if (needs_short)
		why = w->idle ? "contention, idle" : "contention, over need";
	else if (contention)
		why = w->idle ? "contention, idle" : "contention, over share";
	else if (dom->lent)
		why = "slack headroom";
	else
		why = "sustained surplus";
	/*
	 * A grown guest keeps its memory for shrink_cooldown, so a grow is not
	 * undone by the next dip; but when others are short, an idle one (above
	 * its high watermark, PSI calm) gives its surplus back at once: it keeps
	 * the middle of its band, so the reclaim does not make it grow again.
	 * Headroom lent while the host was idle (lend_headroom) is no grow the
	 * cooldown protects (note_grow): it goes back as soon as the host
	 * wants it.
	 */
	if (!(contention && w->idle) &&
	    !quiet_since(dom->last_grow_ms, now, p->shrink_cooldown_ms)) {
		/*
		 * While another guest waits for memory its working set needs
		 * (the needs do not all fit, or a grower holding less than its
		 * need got nothing this tick), the headroom above this guest's
		 * own need (the part of its band that only keeps page cache)
		 * goes back at once too: its working set stays fitting, and a
		 * grow back waits grow-cooldown under contention.
		 */
		uint64_t headroom = w->cur > w->need ? (w->cur - w->need) & ~(MIB - 1) : 0;

		if (!needs_waiting || w->cur > w->max || headroom < step) {
			snprintf(dom->why, sizeof(dom->why), "%s; cooldown %us after grow", why,
				 wait_s(dom->last_grow_ms, now, p->shrink_cooldown_ms));
			return;
		}
		take = u64_min(take, headroom);
		why = "contention, headroom";
	}
	if (!quiet_since(dom->last_reclaim_ms, now, p->grow_cooldown_ms)) {
		snprintf(dom->why, sizeof(dom->why), "%s; cooldown %us", why,
			 wait_s(dom->last_reclaim_ms, now, p->grow_cooldown_ms));
		return;
	}
	if (!b->ops) {
		snprintf(dom->why, sizeof(dom->why), "%s; host rate limit", why);
		return;
	}
	snprintf(reason, sizeof(reason), "balloon -%lluM: %s", mib(take), why);
	if (!emit(out, max, count, dom, now, HOTMEM_POLICY_SET_TARGET, 0, 0, w->cur - take, reason))
		return;
	*starved_bytes -= u64_min(*starved_bytes, take);
	b->ops--;
	dom->last_reclaim_ms = now;
	w->acted = true;
}

/*
 * Long-term reclaim: a block's worth that stayed ballooned for release_hold_ms
 * is turned into removed blocks. memory/target does not move (the daemon
 * writes it back after the engine lowered it), so the guest keeps its size and
 * the host gets the blocks' memmap heads, P2M pool and address space back.
 */
static void act_release(struct pol_work *w, uint64_t now, struct pol_budget *b,
			struct hotmem_policy_decision *out, size_t max, size_t *count)
{
	const struct hotmem_policy_domain_params *p = &w->dom->params;
	struct pol_dom *dom = w->dom;
	uint64_t bs = w->in->block_size;
	char reason[HOTMEM_POLICY_REASON_MAX];

	if (w->acted || w->pressure || !bs || !b->ops ||
	    !held(dom->ballooned_since, now, p->release_hold_ms) ||
	    !quiet_since(dom->last_grow_ms, now, p->shrink_cooldown_ms) ||
	    !quiet_since(dom->last_reclaim_ms, now, p->grow_cooldown_ms))
		return;
	uint64_t blocks = u64_min((w->hot_max - w->cur) / bs, w->in->granted_bytes / bs);
	blocks = u64_min(blocks, p->max_step_blocks);
	if (!blocks)
		return;
	snprintf(reason, sizeof(reason), "shrink %llu: ballooned %lluM for %us",
		 (unsigned long long)blocks, mib(w->hot_max - w->cur),
		 (unsigned int)((now - dom->ballooned_since) / 1000));
	if (!emit(out, max, count, dom, now, HOTMEM_POLICY_SHRINK, (uint32_t)blocks, blocks * bs,
		  w->cur, reason))
		return;
	b->ops--;
	dom->last_reclaim_ms = now;
	w->acted = true;
}

/* Sort a subset of order[] with cmp and run act on each. */
static size_t pick(struct pol_work **all, size_t n, struct pol_work **sel, bool grow)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		struct pol_work *w = all[i];

		if (w->cls != POL_ACTIVE)
			continue;
		if (grow ? w->share > w->cur : w->share < w->cur)
			sel[k++] = w;
	}
	qsort(sel, k, sizeof(*sel), grow ? cmp_grower : cmp_donor);
	return k;
}

int hotmem_policy_tick(struct hotmem_policy *policy, uint64_t now_ms,
		       const struct hotmem_policy_host_input *host,
		       const struct hotmem_policy_domain_input *domains, size_t nr_domains,
		       struct hotmem_policy_decision *ret_decisions, size_t max_decisions,
		       size_t *ret_count)
{
	struct pol_budget budget;
	uint64_t pending_out = 0, incoming = 0, fixed = 0, active_sum = 0;
	size_t count = 0, nr_active = 0, i, k;
	bool contention;
	int r;

	if (!policy || !host || (!domains && nr_domains) || (!ret_decisions && max_decisions) ||
	    !ret_count || (policy->ticked && now_ms < policy->last_now))
		return -EINVAL;
	r = reserve_work(policy, nr_domains * 2 + 1);
	if (r < 0)
		return r;
	r = check_inputs(policy, domains, nr_domains);
	if (r < 0)
		return r;
	/* Insert new domains first: inserting moves the array under the pointers. */
	for (i = 0; i < nr_domains; i++) {
		struct pol_dom *dom;

		r = dom_get(policy, domains[i].domid, &dom);
		if (r < 0)
			return r;
	}
	policy->ticked = true;
	policy->last_now = now_ms;

	/* Judge every domain, in domid order so decisions are reproducible. */
	for (i = 0; i < nr_domains; i++) {
		struct pol_work *w = policy->order[i];
		const struct hotmem_policy_domain_input *in = w->in;
		uint64_t actual = in->actual_bytes ? in->actual_bytes : in->target_bytes;

		w->dom = dom_find(policy, in->domid);
		w->cls = POL_FIXED;
		w->cur = in->target_bytes;
		w->base = actual;
		w->hot_max = sat_add(in->boot_bytes, in->granted_bytes);
		w->acted = w->starved = false;
		w->pressure = w->idle = w->psi_pressure = false;
		w->total = w->avail = w->wm_low = w->wm_mid = w->wm_high = w->short_bytes = 0;
		w->min = w->dom->params.min_bytes ? w->dom->params.min_bytes : in->boot_bytes;
		w->max = w->dom->params.max_bytes ? w->dom->params.max_bytes : UINT64_MAX;
		w->min = u64_min(w->min, w->max);
		w->demand = w->share = w->need_raw = w->need_lean = w->cur;
		/* Frames promised but not yet taken, and frames on their way back. */
		if (in->target_bytes > actual)
			pending_out = sat_add(pending_out, in->target_bytes - actual);
		else
			incoming = sat_add(incoming, actual - in->target_bytes);
		pending_out = sat_add(pending_out, in->inflight_bytes);

		struct pol_dom *dom = w->dom;
		if (dom->was_busy && !in->op_busy) {
			dom->op_end_ms = now_ms;
			dom->relief_ms = now_ms;
			dom->psi_base_at_ms = NEVER;
		}
		dom->was_busy = in->op_busy;
		dom->pressure = dom->surplus = false;
		if (dom->params.mode != HOTMEM_POLICY_AUTO) {
			dom->frozen = false;
			dom->psi_high_since = dom->surplus_since = dom->ballooned_since = NEVER;
			snprintf(dom->why, sizeof(dom->why), "mode %s",
				 hotmem_policy_mode_name(dom->params.mode));
		} else {
			judge_responsive(policy, w, now_ms, ret_decisions, max_decisions, &count);
			if (dom->frozen) {
				dom->psi_high_since = dom->surplus_since = NEVER;
			} else if (!in->have_stats) {
				snprintf(dom->why, sizeof(dom->why), "waiting for stats");
			} else {
				judge_demand(w, now_ms, policy->host.tick_ms);
				dom->pressure = w->pressure;
				dom->surplus = w->idle;
				if (in->block_size &&
				    w->hot_max >= sat_add(w->cur, in->block_size)) {
					if (dom->ballooned_since == NEVER)
						dom->ballooned_since = now_ms;
				} else {
					dom->ballooned_since = NEVER;
				}
				if (in->op_busy) {
					snprintf(dom->why, sizeof(dom->why), "operation running");
				} else {
					w->cls = POL_ACTIVE;
					snprintf(dom->why, sizeof(dom->why), "%s",
						 w->pressure ? "pressure"
						 : w->idle   ? "surplus"
							     : "steady");
				}
			}
		}
		if (w->cls == POL_FIXED)
			fixed = sat_add(fixed, w->cur);
		else
			active_sum = sat_add(active_sum, w->cur);
	}
	(void)fixed;

	/* Memory the active domains may hold between them: what they hold plus the
	 * free memory above the reserve that nobody was promised, plus what is on
	 * its way back from earlier reclaims (so it is not reclaimed twice). */
	int64_t pool_now = (int64_t)host->free_bytes - (int64_t)policy->host.reserve_bytes -
			   (int64_t)pending_out;
	int64_t pool_expected = pool_now + (int64_t)incoming;
	int64_t budget_bytes = (int64_t)active_sum + pool_expected;
	uint64_t sum_demand = 0;
	struct pol_work **act = policy->order + nr_domains;

	for (i = 0; i < nr_domains; i++) {
		struct pol_work *w = policy->order[i];

		if (w->cls != POL_ACTIVE)
			continue;
		act[nr_active++] = w;
		w->demand = w->demand_hold;
		sum_demand = sat_add(sum_demand, w->demand);
	}
	contention = budget_bytes < 0 || sum_demand > (uint64_t)budget_bytes;
	if (contention) {
		/* Memory is short: idle surplus is reclaimed now, not after surplus_hold. */
		for (k = 0; k < nr_active; k++)
			act[k]->demand = act[k]->demand_idle;
	}
	for (k = 0; k < nr_active; k++)
		act[k]->need = u64_min(u64_max(act[k]->need_raw, act[k]->min), act[k]->demand);
	uint64_t budget_pos = budget_bytes > 0 ? (uint64_t)budget_bytes : 0;
	bool needs_short = !arbitrate(act, nr_active, budget_pos);
	if (needs_short) {
		/* The needs do not fit: their margins shrink before working sets do. */
		for (k = 0; k < nr_active; k++)
			act[k]->need =
				u64_min(u64_max(act[k]->need_lean, act[k]->min), act[k]->demand);
		needs_short = !arbitrate(act, nr_active, budget_pos);
	}
	lend_headroom(act, nr_active, budget_pos, contention, sum_demand,
		      policy->host.lend_float_bytes);
	for (k = 0; k < nr_active; k++) {
		act[k]->dom->need = act[k]->need;
		act[k]->dom->demand = act[k]->demand;
		act[k]->dom->share = act[k]->share;
		act[k]->dom->short_bytes = act[k]->short_bytes;
	}

	budget.pool = pool_now;
	budget.grow_bytes = policy->host.max_grow_bytes_per_tick;
	budget.ops = policy->host.max_ops_per_tick;

	/* Growers may use at most three quarters of the operations while someone
	 * must give memory back, or the reclaims that fund them never start. */
	struct pol_work **sel = act; /* act[] is no longer needed in its order */
	size_t nr_donors = 0;
	for (k = 0; k < nr_active; k++)
		nr_donors += act[k]->share < act[k]->cur;
	uint32_t held_back = (uint32_t)u64_min(nr_donors, budget.ops / 4);
	size_t nr_growers = pick(policy->order, nr_domains, sel, true);

	budget.ops -= held_back;
	for (k = 0; k < nr_growers; k++)
		act_grow(sel[k], now_ms, contention, &budget, ret_decisions, max_decisions, &count);
	budget.ops += held_back;
	/* A grower that holds less than its need and got nothing this tick
	 * waits on the reclaims below: they may take headroom early. */
	bool needs_waiting = needs_short;
	uint64_t starved_bytes = 0;
	for (k = 0; k < nr_growers; k++) {
		needs_waiting |= !sel[k]->acted && sel[k]->cur < sel[k]->need;
		if (sel[k]->starved)
			starved_bytes = sat_add(starved_bytes, sel[k]->share - sel[k]->cur);
	}
	nr_donors = pick(policy->order, nr_domains, sel, false);
	for (k = 0; k < nr_donors; k++)
		act_reclaim(sel[k], now_ms, contention, needs_short, needs_waiting, &starved_bytes,
			    &budget, ret_decisions, max_decisions, &count);
	for (i = 0; i < nr_domains; i++) {
		struct pol_work *w = policy->order[i];

		if (w->cls == POL_ACTIVE)
			act_release(w, now_ms, &budget, ret_decisions, max_decisions, &count);
	}
	*ret_count = count;
	return 0;
}
