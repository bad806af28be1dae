/*
 * hotmemd's autoscaler: the wiring between the pure policy module
 * (hotmem/policy.h) and the engine. Every tick it lists the host's domains,
 * gives each new one its parameters by xl name ([domain NAME] of hotmem.conf,
 * else [domain *]; what `xl-hotmem policy` set at run time wins), attaches
 * those in mode auto that are not attached yet (stats every tick), gathers
 * for every attached domain its record, memory/target, the frames it holds
 * and the stats its guest published with their age, asks the policy, and
 * carries out what it decides: grows and shrinks as non-blocking operations
 * of whoever runs it (autoscale_ops.start_op: hotmemd's operation slots),
 * balloon moves with hotmem_set_target(), freezes as log lines. Linux's
 * balloon can only take a guest's boot (non-movable) memory, never its
 * movable hot-added blocks, so a balloon reclaim of a block's worth or more
 * from a grown guest removes whole blocks instead, and a shrink of blocks the
 * balloon already stands for first raises the target by them (the engine's
 * lowering then lands on the policy's target and the guest has room to empty
 * the blocks). Each decision is logged once with the domain, the sizes and
 * the policy's reason; a failure is logged once per cause, since the policy
 * simply decides again at the next tick. It also answers `xl-hotmem policy`
 * and `xl-hotmem top` from what the last tick saw.
 */
#include "autoscale.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "hotmem/units.h"

#define AS_MAX_DOMAINS 1024
#define NEVER	       UINT64_MAX
/* as_dom.source of parameters set at run time: a reload keeps them. */
#define SOURCE_RUNTIME "xl-hotmem policy"
/* The policy's balloon step: a reclaim may land this far under its target. */
#define RECLAIM_SLACK_BYTES (32ull << 20)

/* One domain of the host, as the last tick saw it. */
struct as_dom {
	uint32_t domid;
	char name[HOTMEM_POLICY_NAME_MAX];
	/* where params came from: "[domain web]", "[domain *]", "xl-hotmem policy" */
	char source[HOTMEM_POLICY_NAME_MAX + 24];
	struct hotmem_policy_domain_params params;
	bool seen;		 /* in this tick's domain list */
	uint8_t handle[16];	 /* xl's UUID: the same id with another is another domain */
	bool attached;		 /* the engine has a record for it */
	bool stats_interval_set; /* we asked its guest for stats every tick */
	int attach_error;	 /* last implicit attach failure (logged once) */
	int target_error;	 /* last failed target move (logged once) */
	uint64_t tot_bytes;	 /* frames it holds (tot_pages) */
	uint64_t target_bytes;	 /* memory/target */
	uint64_t granted_bytes;	 /* hot-added and recorded */
	uint64_t granted_target_bytes;
	uint64_t boot_bytes;	/* memory= at boot: static-max less the grants */
	uint64_t ceiling_bytes; /* highest target the balloon can fill (hotmem_set_target) */
	uint64_t block_size;	/* 0 until the window is chosen */
	bool have_stats;	/* the guest published H/guest/stats */
	struct hotmem_stats stats;
	uint64_t stats_changed_ms; /* when the counter last moved */
	bool busy;		   /* running, recovering or outstanding */
	uint64_t busy_since_ms;
	uint64_t unanswered_since_ms; /* a request waits for the guest (NEVER: none) */
	enum hotmem_op_kind op_kind;  /* of the operation we saw begin */
	uint64_t op_bytes;
	uint64_t inflight_bytes; /* frames a running grow may still take */
	bool broken;		 /* violation, or guest state broken/closed */
	const char *guest_state; /* proto token, or NULL */
};

struct autoscale {
	const struct autoscale_ops *ops;
	void *ops_opaque;
	struct ctl_host *host;
	struct hotmem_policy_conf *conf;
	char conf_path[4096];
	struct hotmem_policy *policy;
	struct as_dom *doms; /* ascending domid, nr_doms of AS_MAX_DOMAINS */
	size_t nr_doms;
	struct hotmem_policy_domain_input *inputs;
	struct hotmem_policy_decision *decisions;
	uint32_t stats_interval_ms; /* asked of every managed guest: one per tick */
	uint64_t free_bytes, total_bytes;
	int tick_error; /* last failure of a tick step (logged once) */
};

static void aslog(struct autoscale *as, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void aslog(struct autoscale *as, int priority, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	as->ops->log(as->ops_opaque, priority, fmt, args);
	va_end(args);
}

/* A failure: the line ends in ": <strerror(-err)>". Returns err. */
static int aslog_errno(struct autoscale *as, int priority, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int aslog_errno(struct autoscale *as, int priority, int err, const char *fmt, ...)
{
	char msg[CTL_MESSAGE_MAX * 2];
	va_list args;

	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	aslog(as, priority, "%s: %s", msg, strerror(-err));
	return err;
}

static int start_op(struct autoscale *as, uint32_t domid, enum hotmem_op_kind kind, uint64_t bytes,
		    const char *why, uint64_t target_after)
{
	return as->ops->start_op(as->ops_opaque, domid, kind, bytes, why, target_after);
}

static const char *fmt_size(char *buf, size_t size, uint64_t bytes)
{
	hotmem_format_size(buf, size, bytes);
	return buf;
}

/* ---- the domain table ---------------------------------------------------- */

static struct as_dom *dom_find(struct autoscale *as, uint32_t domid)
{
	size_t lo = 0, hi = as->nr_doms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (as->doms[mid].domid == domid)
			return &as->doms[mid];
		if (as->doms[mid].domid < domid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The parameters a domain called name gets from the file, and from where. */
static void conf_params(struct autoscale *as, struct as_dom *dom)
{
	const struct hotmem_policy_domain_params *p =
		hotmem_policy_conf_lookup(as->conf, dom->name);

	dom->params = *p;
	if (p == &as->conf->defaults)
		snprintf(dom->source, sizeof(dom->source), "[domain *]");
	else
		snprintf(dom->source, sizeof(dom->source), "[domain %s]", dom->name);
}

/*
 * Find a domain, or add it with its name and the file's parameters. NULL
 * when it has no name yet (xl is still building it), or the table is full.
 */
static struct as_dom *dom_get(struct autoscale *as, uint32_t domid)
{
	struct as_dom *dom = dom_find(as, domid);
	char name[CTL_DOMAIN_MAX + 1];
	size_t i;

	if (dom)
		return dom;
	ctl_domain_name(as->host, domid, name, sizeof(name));
	if (!name[0] || strlen(name) >= HOTMEM_POLICY_NAME_MAX || as->nr_doms == AS_MAX_DOMAINS)
		return NULL;
	for (i = 0; i < as->nr_doms && as->doms[i].domid < domid; i++)
		;
	memmove(&as->doms[i + 1], &as->doms[i], (as->nr_doms - i) * sizeof(*as->doms));
	as->nr_doms++;
	dom = &as->doms[i];
	memset(dom, 0, sizeof(*dom));
	dom->domid = domid;
	memcpy(dom->name, name, strlen(name) + 1); /* fits: checked above */
	{
		struct hv_domain_info hvi;

		if (as->host->hv->ops->domain_info(as->host->hv, domid, &hvi) == 0)
			memcpy(dom->handle, hvi.handle, sizeof(dom->handle));
	}
	dom->busy_since_ms = NEVER;
	dom->unanswered_since_ms = NEVER;
	conf_params(as, dom);
	/* Valid by construction (the file validated); a failure would be -ENOMEM. */
	if (hotmem_policy_set_domain(as->policy, domid, &dom->params) < 0) {
		memmove(&as->doms[i], &as->doms[i + 1], (as->nr_doms - i - 1) * sizeof(*as->doms));
		as->nr_doms--;
		return NULL;
	}
	return dom;
}

/* Forget domains that left the host (the engine released their records). */
static void drop_unseen(struct autoscale *as)
{
	size_t kept = 0;

	for (size_t i = 0; i < as->nr_doms; i++) {
		if (as->doms[i].seen) {
			as->doms[kept++] = as->doms[i];
			continue;
		}
		hotmem_policy_remove_domain(as->policy, as->doms[i].domid);
	}
	as->nr_doms = kept;
}

/* ---- gathering ----------------------------------------------------------- */

/* Attach a domain in mode auto, or ask an attached one for stats every tick. */
static void manage(struct autoscale *as, struct as_dom *dom)
{
	struct hotmem_attach_params ap = { .stats_interval_ms = as->stats_interval_ms };
	int r;

	if (!dom->attached && dom->params.mode == HOTMEM_POLICY_AUTO) {
		r = hotmem_attach(as->host->hm, dom->domid, &ap);
		if (r == 0 || r == -EEXIST) {
			dom->attached = true;
			dom->stats_interval_set = r == 0;
			dom->attach_error = 0;
			if (r == 0)
				aslog(as, LOG_INFO,
				      "policy: d%" PRIu32 " (%s): attached implicitly (mode "
				      "auto, %s), stats every %" PRIu32 " ms",
				      dom->domid, dom->name, dom->source, as->stats_interval_ms);
		} else if (r != dom->attach_error) {
			dom->attach_error = r;
			aslog_errno(as, LOG_WARNING, r,
				    "policy: d%" PRIu32 " (%s): mode auto but cannot attach",
				    dom->domid, dom->name);
		}
	}
	/* Manual domains are watched too (xl-hotmem top); off ones are not ours. */
	if (dom->attached && !dom->stats_interval_set && dom->params.mode != HOTMEM_POLICY_OFF) {
		r = hotmem_set_stats_interval(as->host->hm, dom->domid, as->stats_interval_ms);
		dom->stats_interval_set = r == 0;
		if (r == 0)
			aslog(as, LOG_INFO, "policy: d%" PRIu32 " (%s): stats every %" PRIu32 " ms",
			      dom->domid, dom->name, as->stats_interval_ms);
	}
}

/* memory/<key> (KiB in xenstore) in bytes; 0 if it cannot be read. */
static uint64_t read_memory_key(struct autoscale *as, uint32_t domid, const char *key)
{
	struct hv *hv = as->host->hv;
	char path[64], *value = NULL, *end;
	uint64_t kib = 0;

	snprintf(path, sizeof(path), "/local/domain/%" PRIu32 "/memory/%s", domid, key);
	if (hv->ops->xs_read(hv, HV_XS_NO_TXN, path, &value, NULL) == 0) {
		kib = strtoull(value, &end, 10);
		if (*end || end == value)
			kib = 0;
	}
	free(value);
	return kib << 10;
}

static uint64_t read_target(struct autoscale *as, uint32_t domid)
{
	return read_memory_key(as, domid, "target");
}

/* Refresh one domain's figures; true if it goes to the policy (attached). */
/*
 * A request the guest leaves unanswered (outstanding after its ack timeout,
 * or superseded and never settled) for abandon-after is abandoned: every
 * frame of it taken back, the record exact (hotmem_abandon()). Never for a
 * domain in mode off (the policy does not touch it). *info is reread.
 */
static void maybe_abandon(struct autoscale *as, struct as_dom *dom, struct hotmem_domain_info *info,
			  uint64_t now)
{
	uint32_t after = as->conf->host.abandon_after_ms;
	struct hotmem_result res;
	char size[32];
	int r;

	if (!info->outstanding && !info->pending_blocks) {
		dom->unanswered_since_ms = NEVER;
		return;
	}
	if (dom->unanswered_since_ms == NEVER)
		dom->unanswered_since_ms = now;
	if (!after || dom->params.mode == HOTMEM_POLICY_OFF ||
	    now - dom->unanswered_since_ms < after)
		return;
	r = hotmem_abandon(as->host->hm, dom->domid, &res);
	dom->unanswered_since_ms = NEVER;
	if (r < 0) {
		aslog_errno(as, LOG_WARNING, r,
			    "policy: d%" PRIu32
			    " (%s): cannot abandon requests unanswered for %" PRIu32 " s",
			    dom->domid, dom->name, after / 1000);
		return;
	}
	hotmem_format_size(size, sizeof(size), res.pages_reclaimed * HV_PAGE_SIZE);
	aslog(as, LOG_WARNING,
	      "policy: d%" PRIu32 " (%s): abandoned requests unanswered for %" PRIu32
	      " s (up to seq %" PRIu32 "): %s back%s",
	      dom->domid, dom->name, after / 1000, res.seq, size,
	      res.pages_overdrawn ? "; the guest holds more than its grant: frozen" : "");
	hotmem_domain_info(as->host->hm, dom->domid, info);
}

static bool gather(struct autoscale *as, struct as_dom *dom, uint64_t now,
		   struct hotmem_policy_domain_input *in)
{
	struct hotmem_domain_info info;
	struct hotmem_guest_status gs;
	struct hv_domain_info hvi;
	uint64_t static_max;

	dom->attached = hotmem_domain_info(as->host->hm, dom->domid, &info) == 0;
	manage(as, dom);
	if (dom->attached && hotmem_domain_info(as->host->hm, dom->domid, &info) < 0)
		dom->attached = false;
	if (as->host->hv->ops->domain_info(as->host->hv, dom->domid, &hvi) == 0)
		dom->tot_bytes = hvi.tot_pages * HV_PAGE_SIZE;
	dom->target_bytes = read_target(as, dom->domid);
	if (!dom->attached) {
		/* Detached by an operator: a new attachment starts without stats. */
		dom->stats_interval_set = false;
		dom->have_stats = false;
		dom->busy = false;
		dom->granted_bytes = dom->granted_target_bytes = dom->block_size = 0;
		dom->guest_state = NULL;
		return false;
	}
	dom->granted_bytes = info.granted_bytes;
	dom->granted_target_bytes = info.granted_target_bytes;
	/*
	 * The boot size is what xl gave (memory/static-max, less the blocks the
	 * engine added to it), not the engine's tot_pages-based boot RAM: that
	 * counts libxl's extra pages (rings), and a target above static-max
	 * would make Linux's balloon hot-add memory of its own.
	 */
	static_max = read_memory_key(as, dom->domid, "static-max");
	dom->boot_bytes = static_max > dom->granted_bytes ? static_max - dom->granted_bytes
							  : info.boot_bytes & ~((1ull << 20) - 1);
	dom->ceiling_bytes = dom->boot_bytes + dom->granted_target_bytes;
	dom->block_size = info.have_window ? info.block_size : 0;
	if (!dom->target_bytes)
		dom->target_bytes = dom->tot_bytes;

	memset(&gs, 0, sizeof(gs));
	if (hotmem_guest_status(as->host->hm, dom->domid, &gs) < 0)
		memset(&gs, 0, sizeof(gs));
	dom->guest_state = gs.have_state ? hotmem_state_token(gs.state) : NULL;
	if (gs.have_stats && (!dom->have_stats || gs.stats.counter != dom->stats.counter))
		dom->stats_changed_ms = now;
	dom->have_stats = gs.have_stats;
	if (gs.have_stats)
		dom->stats = gs.stats;
	dom->broken = info.violation || (gs.have_state && (gs.state == HOTMEM_STATE_BROKEN ||
							   gs.state == HOTMEM_STATE_CLOSED));

	maybe_abandon(as, dom, &info, now);
	dom->busy = info.busy || info.outstanding || info.recovering;
	if (!dom->busy) {
		dom->busy_since_ms = NEVER;
		dom->op_bytes = 0;
	} else if (dom->busy_since_ms == NEVER) {
		dom->busy_since_ms = now; /* begun outside the daemon's view (reconcile) */
	}
	dom->inflight_bytes = 0;
	if (info.busy && dom->op_kind == HOTMEM_OP_KIND_GROW)
		dom->inflight_bytes = dom->op_bytes;
	else if (info.outstanding && info.outstanding_kind == HOTMEM_OP_KIND_GROW)
		dom->inflight_bytes = (uint64_t)info.outstanding_count * info.block_size;

	memset(in, 0, sizeof(*in));
	in->domid = dom->domid;
	in->boot_bytes = dom->boot_bytes;
	in->block_size = dom->block_size;
	in->granted_bytes = dom->granted_bytes;
	in->target_bytes = dom->target_bytes;
	in->actual_bytes = dom->tot_bytes;
	in->inflight_bytes = dom->inflight_bytes;
	in->have_stats = dom->have_stats;
	in->stats = dom->stats;
	in->stats_age_ms = dom->have_stats ? now - dom->stats_changed_ms : 0;
	in->op_busy = dom->busy;
	in->op_age_ms = dom->busy ? now - dom->busy_since_ms : 0;
	in->broken = dom->broken;
	return true;
}

/* ---- decisions ----------------------------------------------------------- */

/* Log a step failure once per cause (the next tick tries again anyway). */
static void tick_fail(struct autoscale *as, const char *what, int err)
{
	if (err == as->tick_error)
		return;
	as->tick_error = err;
	aslog_errno(as, LOG_WARNING, err, "policy: %s", what);
}

static void set_target(struct autoscale *as, struct as_dom *dom,
		       const struct hotmem_policy_decision *dec)
{
	/* memory/target is KiB; the policy's arithmetic is bytes. Its view of the
	 * top (boot + granted) counts whole blocks; the target may follow usable
	 * bytes only. */
	uint64_t target =
		(dec->target_bytes < dom->ceiling_bytes ? dec->target_bytes : dom->ceiling_bytes) &
		~1023ull;
	char from[32], to[32];
	int r = hotmem_set_target(as->host->hm, dom->domid, target);

	fmt_size(from, sizeof(from), dom->target_bytes);
	fmt_size(to, sizeof(to), target);
	if (r == 0) {
		dom->target_error = 0;
		aslog(as, LOG_INFO, "policy: d%" PRIu32 " (%s): target %s -> %s (%s)", dom->domid,
		      dom->name, from, to, dec->reason);
		dom->target_bytes = target;
	} else if (r != dom->target_error) {
		dom->target_error = r;
		aslog_errno(as, LOG_WARNING, r,
			    "policy: d%" PRIu32 " (%s): cannot move target %s -> %s (%s)",
			    dom->domid, dom->name, from, to, dec->reason);
	}
}

/*
 * A long-term release: remove blocks whose memory the balloon already took.
 * The engine lowers memory/target by the blocks at the ack. Raising it by as
 * much first keeps it from ever going below the policy's target (the
 * decision's target_bytes) while the guest offlines the blocks: Linux's
 * balloon takes only boot (non-movable) memory, so the guest gets that back
 * as room to migrate what the movable blocks still hold. The raise is undone
 * if the shrink does not start; autoscale_op_ended() settles the rest.
 */
static int release(struct autoscale *as, struct as_dom *dom,
		   const struct hotmem_policy_decision *dec, const char *why)
{
	uint64_t target = dec->target_bytes & ~1023ull, raised = 0, per_block;
	uint64_t granted_blocks = dom->block_size ? dom->granted_bytes / dom->block_size : 0;
	char from[32], to[32];
	int r;

	per_block = granted_blocks ? dom->granted_target_bytes / granted_blocks : 0;
	if (per_block && target + dec->blocks * per_block > dom->target_bytes &&
	    target + dec->blocks * per_block <= dom->ceiling_bytes) {
		raised = target + dec->blocks * per_block;
		r = hotmem_set_target(as->host->hm, dom->domid, raised);
		fmt_size(from, sizeof(from), dom->target_bytes);
		fmt_size(to, sizeof(to), raised);
		if (r == 0)
			aslog(as, LOG_INFO,
			      "policy: d%" PRIu32 " (%s): target %s -> %s before removing %" PRIu32
			      " block(s) (%s)",
			      dom->domid, dom->name, from, to, dec->blocks, why);
		else
			raised = 0; /* the shrink goes on; the end puts the target right */
	}
	r = start_op(as, dom->domid, HOTMEM_OP_KIND_SHRINK, dec->bytes, why, target);
	if (r < 0 && raised)
		hotmem_set_target(as->host->hm, dom->domid, dom->target_bytes);
	else if (raised)
		dom->target_bytes = raised;
	return r;
}

/*
 * Reclaim from a grown guest. Linux's balloon allocates GFP_HIGHUSER pages,
 * never from ZONE_MOVABLE, where the hot-added blocks are online: asking it
 * for a block's worth or more would drain the guest's boot memory (where its
 * kernel allocates page tables and slab) while the movable blocks stay whole
 * and free, and the guest can OOM. So the whole blocks of a balloon reclaim
 * are removed instead (the engine lowers memory/target by them); what is
 * left under a block goes to the balloon when the policy looks again.
 *
 * What the balloon already holds counts: its frames are boot memory given
 * back, and a block more removed with the balloon deflated by as much is the
 * same memory with the blocks gone. Without it a guest whose balloon held
 * part of a block kept that block online over a ballooned boot memory for
 * good (lab.autoscale on a loaded host: 83 MiB ballooned, then a reclaim of
 * 417 MiB removed 3 blocks and autoa stayed at 301 MiB for its 256 MiB boot
 * size, inside its band). So the blocks are counted from the ceiling (boot +
 * granted) down to the policy's target, less a balloon step (what the
 * policy skips as churn); if that makes more blocks, they go as a release
 * (target raised first, no balloon draining) ending at the policy's target
 * or, if that lies above what stays, at what stays.
 * Returns true if it took the decision over.
 */
static bool reclaim_blocks(struct autoscale *as, struct as_dom *dom,
			   const struct hotmem_policy_decision *dec)
{
	uint64_t bs = dom->block_size, blocks, whole = 0, per_block;
	uint64_t granted_blocks = bs ? dom->granted_bytes / bs : 0;
	uint64_t cap = granted_blocks < dom->params.max_step_blocks ? granted_blocks
								    : dom->params.max_step_blocks;
	char why[3 * HOTMEM_POLICY_REASON_MAX];
	int r;

	if (!bs || dec->target_bytes >= dom->target_bytes)
		return false;
	blocks = (dom->target_bytes - dec->target_bytes) / bs;
	if (blocks > cap)
		blocks = cap;
	per_block = granted_blocks ? dom->granted_target_bytes / granted_blocks : 0;
	if (per_block && dom->ceiling_bytes > dec->target_bytes)
		whole = (dom->ceiling_bytes - dec->target_bytes + RECLAIM_SLACK_BYTES) / per_block;
	if (whole > cap)
		whole = cap;
	if (whole > blocks) {
		struct hotmem_policy_decision rel = *dec;
		uint64_t stays = dom->ceiling_bytes - whole * per_block;

		rel.action = HOTMEM_POLICY_SHRINK;
		rel.blocks = (uint32_t)whole;
		rel.bytes = whole * bs;
		rel.target_bytes = dec->target_bytes < stays ? dec->target_bytes : stays;
		snprintf(why, sizeof(why),
			 "%s; as %" PRIu64 " block(s) with the balloon's part: a balloon "
			 "cannot take hot-added memory",
			 dec->reason, whole);
		return release(as, dom, &rel, why) != -EOPNOTSUPP;
	}
	if (!blocks)
		return false;
	snprintf(why, sizeof(why),
		 "%s; as %" PRIu64 " block(s): a balloon cannot take hot-added memory", dec->reason,
		 blocks);
	r = start_op(as, dom->domid, HOTMEM_OP_KIND_SHRINK, blocks * bs, why, 0);
	/* Without the shrink feature the balloon is all there is. */
	return r != -EOPNOTSUPP;
}

static void execute(struct autoscale *as, const struct hotmem_policy_decision *dec)
{
	struct as_dom *dom = dom_find(as, dec->domid);
	char size[32];

	if (!dom)
		return;
	/* The policy never acts on off or manual domains; neither does the daemon. */
	if (dom->params.mode != HOTMEM_POLICY_AUTO && dec->action != HOTMEM_POLICY_UNFREEZE) {
		aslog(as, LOG_WARNING, "policy: d%" PRIu32 " (%s): %s ignored: mode %s", dom->domid,
		      dom->name, hotmem_policy_action_name(dec->action),
		      hotmem_policy_mode_name(dom->params.mode));
		return;
	}
	switch (dec->action) {
	case HOTMEM_POLICY_GROW:
		start_op(as, dom->domid, HOTMEM_OP_KIND_GROW, dec->bytes, dec->reason, 0);
		break;
	case HOTMEM_POLICY_SHRINK:
		release(as, dom, dec, dec->reason);
		break;
	case HOTMEM_POLICY_SET_TARGET:
		if (!reclaim_blocks(as, dom, dec))
			set_target(as, dom, dec);
		break;
	case HOTMEM_POLICY_FREEZE:
	case HOTMEM_POLICY_UNFREEZE:
		aslog(as, LOG_NOTICE, "policy: d%" PRIu32 " (%s): %s at %s (%s)", dom->domid,
		      dom->name, dec->action == HOTMEM_POLICY_FREEZE ? "frozen" : "unfrozen",
		      fmt_size(size, sizeof(size), dom->target_bytes), dec->reason);
		break;
	case HOTMEM_POLICY_NONE:
		break;
	}
}

void autoscale_tick(struct autoscale *as, uint64_t now_ms)
{
	struct hotmem_policy_host_input host_in;
	struct hv_physinfo phys;
	uint32_t ids[AS_MAX_DOMAINS];
	size_t nr_ids = 0, n = 0, count = 0;
	struct hv *hv = as->host->hv;
	int r;

	r = hv->ops->domain_list(hv, ids, AS_MAX_DOMAINS, &nr_ids);
	if (r < 0) {
		tick_fail(as, "cannot list domains", r);
		return;
	}
	r = hv->ops->physinfo(hv, &phys);
	if (r < 0) {
		tick_fail(as, "cannot read the host's free memory", r);
		return;
	}
	as->free_bytes = phys.free_pages * HV_PAGE_SIZE;
	as->total_bytes = phys.total_pages * HV_PAGE_SIZE;
	for (size_t i = 0; i < as->nr_doms; i++)
		as->doms[i].seen = false;
	for (size_t i = 0; i < nr_ids; i++) {
		struct as_dom *dom = ids[i] ? dom_find(as, ids[i]) : NULL;
		struct hv_domain_info hvi;

		/* A reused id is a new domain: the old one's memory goes now, the
		 * new one is added (its name, its parameters) at the next tick. */
		if (dom && hv->ops->domain_info(hv, ids[i], &hvi) == 0 &&
		    memcmp(hvi.handle, dom->handle, sizeof(dom->handle)))
			continue;
		dom = ids[i] ? dom_get(as, ids[i]) : NULL;
		if (dom)
			dom->seen = true;
	}
	drop_unseen(as);
	for (size_t i = 0; i < as->nr_doms; i++)
		if (gather(as, &as->doms[i], now_ms, &as->inputs[n]))
			n++;
	host_in.free_bytes = as->free_bytes;
	r = hotmem_policy_tick(as->policy, now_ms, &host_in, as->inputs, n, as->decisions, 2 * n,
			       &count);
	if (r < 0) {
		tick_fail(as, "tick failed", r);
		return;
	}
	as->tick_error = 0;
	for (size_t i = 0; i < count; i++)
		execute(as, &as->decisions[i]);
}

void autoscale_op_begun(struct autoscale *as, uint32_t domid, enum hotmem_op_kind kind,
			uint64_t bytes, uint64_t now_ms)
{
	struct as_dom *dom = dom_find(as, domid);

	if (!dom)
		return;
	dom->busy = true;
	dom->busy_since_ms = now_ms;
	dom->op_kind = kind;
	dom->op_bytes = bytes;
}

void autoscale_op_ended(struct autoscale *as, uint32_t domid, const struct hotmem_result *res,
			uint64_t target_after)
{
	struct as_dom *dom = dom_find(as, domid);
	uint64_t now_target;
	char size[32];
	int r;

	if (!dom || !target_after)
		return;
	/*
	 * A release ends where the policy wanted memory/target. All blocks done:
	 * the engine's lowering already put it there. Fewer (or none): the raise
	 * before it is still partly in; take it out.
	 */
	now_target = read_target(as, domid);
	if (!now_target || now_target == target_after)
		return;
	r = hotmem_set_target(as->host->hm, domid, target_after);
	fmt_size(size, sizeof(size), target_after);
	if (r == 0) {
		dom->target_bytes = target_after;
		aslog(as, LOG_INFO,
		      "policy: d%" PRIu32 " (%s): target back to %s (%" PRIu32 " of %" PRIu32
		      " block(s) removed)",
		      domid, dom->name, size, res ? res->blocks_done : 0,
		      res ? res->blocks_requested : 0);
	} else {
		aslog_errno(as, LOG_WARNING, r,
			    "policy: d%" PRIu32 " (%s): cannot put target back to %s after the "
			    "shrink (the policy moves it later)",
			    domid, dom->name, size);
	}
}

/* ---- replies ------------------------------------------------------------- */

static void gen_params(yajl_gen gen, const struct hotmem_policy_domain_params *p)
{
	ctl_gen_key(gen, "params");
	yajl_gen_map_open(gen);
	ctl_gen_str(gen, "mode", hotmem_policy_mode_name(p->mode));
	ctl_gen_u64(gen, "min_bytes", p->min_bytes);
	ctl_gen_u64(gen, "max_bytes", p->max_bytes);
	ctl_gen_u64(gen, "weight", p->weight);
	ctl_gen_u64(gen, "low_pct", p->low_pct);
	ctl_gen_u64(gen, "low_bytes", p->low_bytes);
	ctl_gen_u64(gen, "high_pct", p->high_pct);
	ctl_gen_u64(gen, "high_bytes", p->high_bytes);
	ctl_gen_u64(gen, "psi_grow", p->psi_grow);
	ctl_gen_u64(gen, "psi_calm", p->psi_calm);
	ctl_gen_u64(gen, "psi_hold_ms", p->psi_hold_ms);
	ctl_gen_u64(gen, "grow_cooldown_ms", p->grow_cooldown_ms);
	ctl_gen_u64(gen, "shrink_cooldown_ms", p->shrink_cooldown_ms);
	ctl_gen_u64(gen, "surplus_hold_ms", p->surplus_hold_ms);
	ctl_gen_u64(gen, "release_hold_ms", p->release_hold_ms);
	ctl_gen_u64(gen, "max_step_blocks", p->max_step_blocks);
	yajl_gen_map_close(gen);
}

/* The policy's verdict and last decision (both omitted if it never saw the domain). */
static void gen_status(struct autoscale *as, yajl_gen gen, const struct as_dom *dom, uint64_t now)
{
	struct hotmem_policy_domain_status st;
	char why[HOTMEM_POLICY_REASON_MAX];

	if (hotmem_policy_domain_status(as->policy, dom->domid, &st) < 0)
		return;
	/* The policy only judges attached domains: say why the others are idle. */
	if (dom->attached)
		snprintf(why, sizeof(why), "%s", st.why);
	else if (dom->params.mode == HOTMEM_POLICY_AUTO)
		snprintf(why, sizeof(why), "not attached yet");
	else
		snprintf(why, sizeof(why), "mode %s, not attached",
			 hotmem_policy_mode_name(dom->params.mode));
	ctl_gen_bool(gen, "frozen", st.frozen);
	ctl_gen_bool(gen, "pressure", st.pressure);
	ctl_gen_bool(gen, "surplus", st.surplus);
	ctl_gen_u64(gen, "need_bytes", st.need_bytes);
	ctl_gen_u64(gen, "demand_bytes", st.demand_bytes);
	ctl_gen_u64(gen, "share_bytes", st.share_bytes);
	ctl_gen_u64(gen, "short_bytes", st.short_bytes);
	ctl_gen_str(gen, "why", why);
	if (!st.have_last)
		return;
	ctl_gen_key(gen, "last");
	yajl_gen_map_open(gen);
	ctl_gen_str(gen, "action", hotmem_policy_action_name(st.last.action));
	ctl_gen_u64(gen, "blocks", st.last.blocks);
	ctl_gen_u64(gen, "bytes", st.last.bytes);
	ctl_gen_u64(gen, "target_bytes", st.last.target_bytes);
	ctl_gen_str(gen, "reason", st.last.reason);
	ctl_gen_u64(gen, "age_ms", now >= st.last.at_ms ? now - st.last.at_ms : 0);
	yajl_gen_map_close(gen);
}

static void gen_stats(yajl_gen gen, const struct as_dom *dom, uint64_t now)
{
	if (!dom->have_stats)
		return;
	ctl_gen_key(gen, "stats");
	yajl_gen_map_open(gen);
	ctl_gen_u64(gen, "counter", dom->stats.counter);
	ctl_gen_u64(gen, "memtotal_bytes", dom->stats.memtotal_kib << 10);
	ctl_gen_u64(gen, "memavail_bytes", dom->stats.memavail_kib << 10);
	ctl_gen_u64(gen, "psi_some_avg10", dom->stats.psi_some_avg10);
	ctl_gen_u64(gen, "psi_full_avg10", dom->stats.psi_full_avg10);
	/* Only from a guest that published it (stats-swap): absent is "not known". */
	if (dom->stats.has_swapped)
		ctl_gen_u64(gen, "swapped_bytes", dom->stats.swapped_kib << 10);
	ctl_gen_u64(gen, "age_ms", now >= dom->stats_changed_ms ? now - dom->stats_changed_ms : 0);
	yajl_gen_map_close(gen);
}

/* One domain for top (and for policy: with its parameters). */
/* One domain's members, inside a map the caller opened. */
static void gen_domain_members(struct autoscale *as, yajl_gen gen, const struct as_dom *dom,
			       uint64_t now, bool with_params)
{
	ctl_gen_u64(gen, "domid", dom->domid);
	ctl_gen_str(gen, "name", dom->name);
	ctl_gen_str(gen, "mode", hotmem_policy_mode_name(dom->params.mode));
	ctl_gen_str(gen, "source", dom->source);
	ctl_gen_bool(gen, "attached", dom->attached);
	ctl_gen_u64(gen, "tot_bytes", dom->tot_bytes);
	ctl_gen_u64(gen, "target_bytes", dom->target_bytes);
	if (dom->attached) {
		ctl_gen_u64(gen, "boot_bytes", dom->boot_bytes);
		ctl_gen_u64(gen, "granted_bytes", dom->granted_bytes);
		ctl_gen_u64(gen, "block_size", dom->block_size);
		ctl_gen_bool(gen, "busy", dom->busy);
		ctl_gen_str(gen, "guest_state", dom->guest_state);
	}
	gen_stats(gen, dom, now);
	if (with_params)
		gen_params(gen, &dom->params);
	gen_status(as, gen, dom, now);
}

static void gen_domain(struct autoscale *as, yajl_gen gen, const struct as_dom *dom, uint64_t now,
		       bool with_params)
{
	yajl_gen_map_open(gen);
	gen_domain_members(as, gen, dom, now, with_params);
	yajl_gen_map_close(gen);
}

static int reply_error(yajl_gen gen, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int reply_error(yajl_gen gen, int err, const char *fmt, ...)
{
	char msg[CTL_MESSAGE_MAX];
	va_list args;

	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	ctl_gen_error(gen, err, msg);
	return err;
}

static int policy_request(struct autoscale *as, const struct ctl_request *req, uint64_t now,
			  yajl_gen gen)
{
	const char *keys[CTL_POLICY_SET_MAX], *values[CTL_POLICY_SET_MAX];
	struct hotmem_policy_domain_params params;
	char msg[CTL_MESSAGE_MAX], err[HOTMEM_POLICY_CONF_ERR_MAX], line[512];
	struct as_dom *dom;
	uint32_t domid;
	size_t len = 0;
	int r;

	r = ctl_resolve_domain(as->host, req->domain, &domid, msg, sizeof(msg));
	if (r < 0)
		return reply_error(gen, r, "%s", msg);
	dom = dom_get(as, domid);
	if (!dom)
		return reply_error(gen, -ESRCH,
				   "domain '%s' (d%" PRIu32 "): no name yet, or too many "
				   "domains",
				   req->domain, domid);
	if (req->nr_set) {
		for (unsigned int i = 0; i < req->nr_set; i++) {
			keys[i] = req->set_keys[i];
			values[i] = req->set_values[i];
			len += (size_t)snprintf(line + len,
						len < sizeof(line) ? sizeof(line) - len : 0,
						" %s=%s", keys[i], values[i]);
		}
		params = dom->params;
		r = hotmem_policy_conf_apply(&params, keys, values, req->nr_set, err, sizeof(err));
		if (r == 0)
			r = hotmem_policy_set_domain(as->policy, domid, &params);
		if (r < 0)
			return reply_error(gen, r,
					   "domain '%s' (d%" PRIu32 "): policy unchanged: %s",
					   dom->name, domid, r == -EINVAL ? err : strerror(-r));
		dom->params = params;
		snprintf(dom->source, sizeof(dom->source), SOURCE_RUNTIME);
		aslog(as, LOG_INFO, "policy: d%" PRIu32 " (%s): set%s (mode now %s)", domid,
		      dom->name, line, hotmem_policy_mode_name(params.mode));
	}
	ctl_gen_reply_begin(gen, 0, NULL);
	gen_domain_members(as, gen, dom, now, true);
	ctl_gen_reply_end(gen);
	return 0;
}

static int top_request(struct autoscale *as, uint64_t now, yajl_gen gen)
{
	struct hotmem_policy_host_params host;

	hotmem_policy_get_host(as->policy, &host);
	ctl_gen_reply_begin(gen, 0, NULL);
	ctl_gen_str(gen, "config", as->conf_path);
	ctl_gen_u64(gen, "tick_ms", host.tick_ms);
	ctl_gen_key(gen, "host");
	yajl_gen_map_open(gen);
	ctl_gen_u64(gen, "free_bytes", as->free_bytes);
	ctl_gen_u64(gen, "total_bytes", as->total_bytes);
	ctl_gen_u64(gen, "reserve_bytes", host.reserve_bytes);
	yajl_gen_map_close(gen);
	ctl_gen_key(gen, "domains");
	yajl_gen_array_open(gen);
	for (size_t i = 0; i < as->nr_doms; i++)
		gen_domain(as, gen, &as->doms[i], now, false);
	yajl_gen_array_close(gen);
	ctl_gen_reply_end(gen);
	return 0;
}

int autoscale_request(struct autoscale *as, const struct ctl_request *req, uint64_t now_ms,
		      yajl_gen gen)
{
	if (req->cmd == CTL_CMD_TOP)
		return top_request(as, now_ms, gen);
	return policy_request(as, req, now_ms, gen);
}

/* ---- lifetime ------------------------------------------------------------ */

uint32_t autoscale_tick_ms(const struct autoscale *as)
{
	return as->conf->host.tick_ms;
}

/* The guests publish once per tick: the policy never looks more often. */
static uint32_t stats_interval_for(const struct hotmem_policy_host_params *host)
{
	if (host->tick_ms < HOTMEM_STATS_INTERVAL_MIN_MS)
		return HOTMEM_STATS_INTERVAL_MIN_MS;
	if (host->tick_ms > HOTMEM_STATS_INTERVAL_MAX_MS)
		return HOTMEM_STATS_INTERVAL_MAX_MS;
	return host->tick_ms;
}

int autoscale_new(struct hotmem_policy_conf *conf, const char *conf_path,
		  const struct autoscale_ops *ops, void *opaque, struct ctl_host *host,
		  struct autoscale **ret_as)
{
	struct autoscale *as = calloc(1, sizeof(*as));
	int r = -ENOMEM;

	if (!as)
		goto fail;
	as->conf = conf;
	conf = NULL;
	as->ops = ops;
	as->ops_opaque = opaque;
	as->host = host;
	snprintf(as->conf_path, sizeof(as->conf_path), "%s", conf_path);
	as->stats_interval_ms = stats_interval_for(&as->conf->host);
	as->doms = calloc(AS_MAX_DOMAINS, sizeof(*as->doms));
	as->inputs = calloc(AS_MAX_DOMAINS, sizeof(*as->inputs));
	as->decisions = calloc(2 * AS_MAX_DOMAINS, sizeof(*as->decisions));
	if (!as->doms || !as->inputs || !as->decisions)
		goto fail;
	r = hotmem_policy_new(&as->conf->host, &as->conf->defaults, &as->policy);
	if (r < 0)
		goto fail;
	*ret_as = as;
	return 0;
fail:
	hotmem_policy_conf_free(conf);
	autoscale_free(as);
	return r;
}

int autoscale_reload(struct autoscale *as, struct hotmem_policy_conf *conf)
{
	struct hotmem_policy_conf *old_conf = as->conf;
	uint32_t interval = stats_interval_for(&conf->host);
	int r;

	/* Every parameter is checked before anything changes: all or nothing. */
	r = hotmem_policy_host_params_valid(&conf->host);
	for (size_t i = 0; !r && i < as->nr_doms; i++)
		r = hotmem_policy_domain_params_valid(
			hotmem_policy_conf_lookup(conf, as->doms[i].name));
	if (!r)
		r = hotmem_policy_set_host(as->policy, &conf->host);
	if (r < 0) {
		hotmem_policy_conf_free(conf);
		return r;
	}
	as->conf = conf;
	for (size_t i = 0; i < as->nr_doms; i++) {
		struct as_dom *dom = &as->doms[i];

		if (strcmp(dom->source, SOURCE_RUNTIME) != 0)
			conf_params(as, dom);
		/* Valid (checked above) for a domain the policy knows: cannot fail. */
		hotmem_policy_set_domain(as->policy, dom->domid, &dom->params);
		if (interval != as->stats_interval_ms)
			dom->stats_interval_set = false; /* manage() asks again */
	}
	as->stats_interval_ms = interval;
	hotmem_policy_conf_free(old_conf);
	return 0;
}

void autoscale_free(struct autoscale *as)
{
	if (!as)
		return;
	hotmem_policy_free(as->policy);
	hotmem_policy_conf_free(as->conf);
	free(as->doms);
	free(as->inputs);
	free(as->decisions);
	free(as);
}
