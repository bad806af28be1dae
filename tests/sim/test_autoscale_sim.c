/*
 * hotmemd's autoscaler (toolstack/daemon/autoscale.c) driven in C on the
 * simulated host: the sim backend, its simulated guests (balloon like
 * Linux's, memmap heads counted in the target) and libhotmem's engine, all
 * on the engine harness's fake clock. The test plays hotmemd's part through
 * struct autoscale_ops: it starts the operations the autoscaler decides,
 * steps them in 10 ms slices between ticks, and reports their begin and end
 * back, as the daemon's poll loop does. Every tick it records what the
 * autoscaler did to each domain (operations started, memory/target moved at
 * the tick) and checks, as test_autoscale.py does end to end but
 * deterministically:
 *
 * - short-term reclaim of a guest never grown goes through its balloon
 *   (target down to its min, no operation);
 * - growth comes as whole blocks, never past the domain's max, never two
 *   operations on one domain at once;
 * - a grown guest's reclaim removes whole blocks and never lowers its target
 *   by a block's worth (a Linux balloon cannot take hot-added memory), and
 *   not within shrink-cooldown of its last grow nor within grow-cooldown of
 *   its previous reclaim;
 * - a long-term release of ballooned blocks raises memory/target by the
 *   blocks before the shrink starts, so the shrink's lowering lands on the
 *   policy's target with no correction afterwards;
 * - a reclaim counts what the balloon already holds: with part of a block
 *   ballooned, the blocks still all go and the guest ends at its boot size,
 *   its balloon never draining boot memory;
 * - the sim's invariants hold after each phase, and no guest was given a
 *   target its balloon could not fill.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "autoscale.h"
#include "check.h"
#include "engine_harness.h"

#define MIB	     ((uint64_t)1 << 20)
#define BLOCK	     (128 * MIB)
#define TICK_MS	     1000
#define SLICE_MS     10
#define MAX_EVENTS   256
#define MAX_OPS	     8
#define SHRINK_COOL  30000 /* shrink-cooldown of the config below */
#define GROW_COOL    5000  /* grow-cooldown */
#define MAX_STEP     2	   /* max-step-blocks */
#define WEB_MAX	     (1024 * MIB)
#define WEB_BOOT     (512 * MIB)
#define DB_BOOT	     (1024 * MIB)
#define DB_MIN	     (512 * MIB)
#define HOST_BYTES   (4096 * MIB)
#define LOG_KEEP_MAX 512

static const char config[] = "[host]\n"
			     "reserve = 256m\n"
			     "abandon-after = 20s\n"
			     "tick = 1s\n"
			     "[domain *]\n"
			     "mode = off\n"
			     "grow-cooldown = 5s\n"
			     "shrink-cooldown = 30s\n"
			     "surplus-hold = 3s\n"
			     "release-hold = 10s\n"
			     "psi-hold = 3s\n"
			     "max-step-blocks = 2\n"
			     "[domain web]\n"
			     "mode = auto\n"
			     "max = 1g\n"
			     "[domain db]\n"
			     "mode = auto\n"
			     "min = 512m\n";

/* Something the autoscaler did to a domain, at a tick or by starting an operation. */
enum event_kind {
	EV_GROW,      /* start_op grow */
	EV_SHRINK,    /* start_op shrink */
	EV_TARGET_UP, /* memory/target raised at a tick */
	EV_TARGET_DOWN,
};

struct event {
	uint64_t at_ms;
	uint32_t domid;
	enum event_kind kind;
	uint64_t bytes;		/* op size, or the target after the move */
	uint64_t target_before; /* memory/target when it happened */
	uint64_t target_after;	/* shrink: where the release ends (0: none) */
};

struct running_op {
	struct hotmem_operation *op;
	uint32_t domid;
	uint64_t target_after;
};

/* hotmemd's part: the engine harness, the autoscaler and what it did. */
struct rig {
	struct harness h;
	struct hv *dom0; /* the autoscaler's own connection, as hotmemd's ctl_host */
	struct ctl_host host;
	struct autoscale *as;
	struct running_op ops[MAX_OPS];
	struct event events[MAX_EVENTS];
	unsigned int nr_events;
	unsigned int overlapping_ops; /* start_op on a domain with one running */
	unsigned int corrections;     /* "target back to" after a release */
	unsigned int failed_logs;     /* "(name): cannot ..." lines */
	unsigned int abandons;	      /* "abandoned requests" lines */
	unsigned int timed_out;	      /* operations that ended -ETIMEDOUT */
};

static uint64_t harness_clock(void *opaque)
{
	return ((struct harness *)opaque)->now_ms;
}

static uint64_t target_of(struct rig *t, uint32_t domid)
{
	return harness_read_dec(&t->h, domid, "memory/target") << 10;
}

static uint64_t tot_of(struct rig *t, uint32_t domid)
{
	struct hv_sim_domain_stats ds = { 0 };

	hv_sim_domain_stats(t->h.sim, domid, &ds);
	return ds.tot_pages * HV_PAGE_SIZE;
}

static uint64_t granted_of(struct rig *t, uint32_t domid)
{
	struct hotmem_domain_info info;

	return hotmem_domain_info(t->h.hm, domid, &info) == 0 ? info.granted_bytes : 0;
}

static void record(struct rig *t, uint32_t domid, enum event_kind kind, uint64_t bytes,
		   uint64_t target_before, uint64_t target_after)
{
	if (t->nr_events == MAX_EVENTS) {
		CHECK(!"event log full");
		return;
	}
	t->events[t->nr_events++] = (struct event){ .at_ms = t->h.now_ms,
						    .domid = domid,
						    .kind = kind,
						    .bytes = bytes,
						    .target_before = target_before,
						    .target_after = target_after };
}

/* ---- what hotmemd lends the autoscaler ----------------------------------- */

static int rig_start_op(void *opaque, uint32_t domid, enum hotmem_op_kind kind, uint64_t bytes,
			const char *why, uint64_t target_after)
{
	struct rig *t = opaque;
	struct running_op *slot = NULL;
	int r;

	for (unsigned int i = 0; i < MAX_OPS; i++) {
		if (t->ops[i].op && t->ops[i].domid == domid)
			t->overlapping_ops++;
		if (!t->ops[i].op && !slot)
			slot = &t->ops[i];
	}
	if (!slot)
		return -EBUSY;
	r = hotmem_op_start(t->h.hm, domid, kind, bytes, &slot->op);
	fprintf(stderr, "  [%6.1f s] d%" PRIu32 " %s %" PRIu64 " MiB (%s): %s\n",
		t->h.now_ms / 1000.0, domid, kind == HOTMEM_OP_KIND_GROW ? "grow" : "shrink",
		bytes / MIB, why, r < 0 ? strerror(-r) : "started");
	if (r < 0)
		return r;
	slot->domid = domid;
	slot->target_after = target_after;
	record(t, domid, kind == HOTMEM_OP_KIND_GROW ? EV_GROW : EV_SHRINK, bytes,
	       target_of(t, domid), target_after);
	autoscale_op_begun(t->as, domid, kind, bytes, t->h.now_ms);
	return 0;
}

static void rig_log(void *opaque, int priority, const char *fmt, va_list args)
{
	struct rig *t = opaque;
	char line[LOG_KEEP_MAX];

	vsnprintf(line, sizeof(line), fmt, args);
	fprintf(stderr, "  [%6.1f s] %s%s\n", t->h.now_ms / 1000.0,
		priority <= LOG_WARNING ? "warning: " : "", line);
	if (strstr(line, "target back to"))
		t->corrections++;
	/* "d1 (web): cannot move target ...", not a reason quoting "a balloon
	 * cannot take hot-added memory" */
	if (strstr(line, "): cannot"))
		t->failed_logs++;
	if (strstr(line, "abandoned requests"))
		t->abandons++;
}

static const struct autoscale_ops rig_ops = {
	.start_op = rig_start_op,
	.log = rig_log,
};

/* ---- hotmemd's loop ------------------------------------------------------ */

/* Hand every ended operation back to the autoscaler; how many ended. */
static int settle_ops(struct rig *t)
{
	int ended = 0;

	for (unsigned int i = 0; i < MAX_OPS; i++) {
		struct running_op *o = &t->ops[i];
		struct hotmem_result res;

		if (!o->op || !hotmem_op_done(o->op))
			continue;
		CHECK_EQ(hotmem_op_result(o->op, &res), 0);
		/* Only a silent guest's (phase 5) may time out. */
		if (res.error == -ETIMEDOUT)
			t->timed_out++;
		else
			CHECK_EQ(res.error, 0);
		autoscale_op_ended(t->as, o->domid, &res, o->target_after);
		hotmem_op_free(o->op);
		o->op = NULL;
		ended++;
	}
	return ended;
}

static bool engine_readable(struct rig *t)
{
	struct pollfd pfd = { .fd = hotmem_fd(t->h.hm), .events = POLLIN };

	return pfd.fd >= 0 && poll(&pfd, 1, 0) == 1;
}

/* Run guests and engine until the next tick, in SLICE_MS steps of the fake clock. */
static void run_until_tick(struct rig *t)
{
	uint64_t end = t->h.now_ms + TICK_MS;

	while (t->h.now_ms < end) {
		for (unsigned int round = 0; round < 1000; round++) {
			int acted = 0;

			for (uint32_t i = 0; i < t->h.nr_guests; i++)
				acted += sim_guest_step(t->h.guests[i]) +
					 sim_guest_pending(t->h.guests[i]);
			hotmem_dispatch(t->h.hm);
			acted += settle_ops(t);
			if (!acted && !engine_readable(t) && hotmem_timeout_ms(t->h.hm) != 0)
				break;
		}
		t->h.now_ms += SLICE_MS;
	}
}

/* One tick of the daemon: the autoscaler's, with the target moves it made. */
static void tick(struct rig *t, uint32_t *domids, unsigned int nr)
{
	uint64_t before[4];

	for (unsigned int i = 0; i < nr; i++)
		before[i] = target_of(t, domids[i]);
	autoscale_tick(t->as, t->h.now_ms);
	for (unsigned int i = 0; i < nr; i++) {
		uint64_t after = target_of(t, domids[i]);
		bool by_op = t->nr_events && t->events[t->nr_events - 1].at_ms == t->h.now_ms &&
			     t->events[t->nr_events - 1].domid == domids[i];

		/* A release's raise is recorded with its shrink (target_before). */
		if (after != before[i] && !by_op)
			record(t, domids[i], after > before[i] ? EV_TARGET_UP : EV_TARGET_DOWN,
			       after, before[i], 0);
	}
	run_until_tick(t);
}

static void ticks(struct rig *t, uint32_t *domids, unsigned int nr, unsigned int n)
{
	while (n--)
		tick(t, domids, nr);
}

static void set_load(struct rig *t, uint32_t domid, uint64_t working_set, uint32_t psi)
{
	struct sim_guest_load load = { .working_set_bytes = working_set,
				       .psi_some_avg10 = psi,
				       .psi_full_avg10 = 0 };

	sim_guest_set_load(harness_guest(&t->h, domid), &load);
}

/* `xl-hotmem policy DOM mode=MODE` through the autoscaler's request path. */
static void set_mode(struct rig *t, const char *name, const char *mode)
{
	struct ctl_request req = { .cmd = CTL_CMD_POLICY, .nr_set = 1 };
	yajl_gen gen = yajl_gen_alloc(NULL);

	snprintf(req.domain, sizeof(req.domain), "%s", name);
	snprintf(req.set_keys[0], sizeof(req.set_keys[0]), "mode");
	snprintf(req.set_values[0], sizeof(req.set_values[0]), "%s", mode);
	CHECK(gen != NULL);
	if (gen)
		CHECK_EQ(autoscale_request(t->as, &req, t->h.now_ms, gen), 0);
	yajl_gen_free(gen);
}

/* ---- what the autoscaler did --------------------------------------------- */

static unsigned int count_events(struct rig *t, uint32_t domid, enum event_kind kind,
				 unsigned int from)
{
	unsigned int n = 0;

	for (unsigned int i = from; i < t->nr_events; i++)
		n += t->events[i].domid == domid && t->events[i].kind == kind;
	return n;
}

static bool is_reclaim(const struct event *e)
{
	return e->kind == EV_SHRINK || e->kind == EV_TARGET_DOWN;
}

/*
 * The cooldowns, over every event of domid from `from` on: a reclaim comes
 * no sooner than shrink-cooldown after the last grow and grow-cooldown after
 * the last reclaim. Returns the number of reclaims seen.
 */
static unsigned int check_cooldowns(struct rig *t, uint32_t domid, unsigned int from)
{
	uint64_t last_grow = 0, last_reclaim = 0;
	bool grown = false, reclaimed = false;
	unsigned int reclaims = 0;

	for (unsigned int i = 0; i < t->nr_events; i++) {
		const struct event *e = &t->events[i];

		if (e->domid != domid)
			continue;
		if (e->kind == EV_GROW || e->kind == EV_TARGET_UP) {
			grown = true;
			last_grow = e->at_ms;
		}
		if (!is_reclaim(e))
			continue;
		if (i >= from) {
			reclaims++;
			if (grown && e->at_ms - last_grow < SHRINK_COOL)
				fprintf(stderr, "  reclaim at %.1f s, %.1f s after a grow\n",
					e->at_ms / 1000.0, (e->at_ms - last_grow) / 1000.0);
			CHECK(!grown || e->at_ms - last_grow >= SHRINK_COOL);
			if (reclaimed && e->at_ms - last_reclaim < GROW_COOL)
				fprintf(stderr, "  reclaim at %.1f s, %.1f s after the last one\n",
					e->at_ms / 1000.0, (e->at_ms - last_reclaim) / 1000.0);
			CHECK(!reclaimed || e->at_ms - last_reclaim >= GROW_COOL);
		}
		reclaimed = true;
		last_reclaim = e->at_ms;
	}
	return reclaims;
}

/*
 * What `xl-hotmem sim-check` checks: the sim's invariants, and no guest saw
 * dom0 break the contract or was given a target its balloon could only reach
 * by hot-adding memory of its own. (The harness's record check does not
 * apply: it counts every frame outside the window as boot RAM, and the
 * balloon gives boot RAM back here.) Returns the number of problems.
 */
static int sim_check(struct rig *t, const char *context)
{
	char why[256];
	int bad = 0;

	if (hv_sim_check(t->h.sim, why, sizeof(why)) < 0) {
		fprintf(stderr, "  %s: sim: %s\n", context, why);
		bad++;
	}
	for (uint32_t i = 0; i < t->h.nr_guests; i++) {
		struct sim_guest_stats st;

		sim_guest_get_stats(t->h.guests[i], &st);
		if (st.dom0_errors || st.balloon_hotplugs) {
			fprintf(stderr, "  %s: d%" PRIu32 ": %u dom0 errors, %u balloon hot-adds\n",
				context, sim_guest_domid(t->h.guests[i]), st.dom0_errors,
				st.balloon_hotplugs);
			bad++;
		}
	}
	return bad;
}

/* ---- the run ------------------------------------------------------------- */

static void rig_init(struct rig *t)
{
	struct hotmem_policy_conf *conf = NULL;
	char err[HOTMEM_POLICY_CONF_ERR_MAX];

	memset(t, 0, sizeof(*t));
	harness_init(&t->h, HOST_BYTES / HV_PAGE_SIZE);
	/* hotmemd's engine on the sim: heads counted in the target, as the guests do. */
	t->h.cfg.memmap_in_target = true;
	harness_restart(&t->h, 0, NULL);
	if (hv_sim_open(t->h.sim, 0, &t->dom0) < 0) {
		fprintf(stderr, "hv_sim_open failed\n");
		exit(1);
	}
	t->host = (struct ctl_host){ .hv = t->dom0, .hm = t->h.hm, .backend = "sim" };
	if (hotmem_policy_conf_parse(config, "test", &conf, err, sizeof(err)) < 0 ||
	    autoscale_new(conf, "test", &rig_ops, t, &t->host, &t->as) < 0) {
		fprintf(stderr, "autoscaler: %s\n", err);
		exit(1);
	}
}

static uint32_t rig_guest(struct rig *t, const char *name, uint64_t boot)
{
	/* Like `hotmemd --hv sim`'s guests: a Linux-like balloon, heads in the target. */
	struct sim_guest_params gp = { .block_size = BLOCK,
				       .memmap_in_target = true,
				       .balloon_boot = true,
				       .clock_ms = harness_clock,
				       .clock_opaque = &t->h };

	return harness_add_guest(&t->h, name, boot / HV_PAGE_SIZE, &gp, NULL);
}

/*
 * web grown to its max under load, then put in manual with its load gone and
 * ballooned by hand to target (an operator's xl mem-set): phases 4 and 4b.
 */
static void grown_then_ballooned(struct rig *t, uint32_t *doms, uint32_t web, uint64_t target)
{
	set_load(t, web, 2048 * MIB, 3000);
	ticks(t, doms, 2, 20);
	CHECK_EQ(granted_of(t, web), WEB_MAX - WEB_BOOT);
	set_mode(t, "web", "manual");
	set_load(t, web, 0, 0);
	CHECK_EQ(hotmem_set_target(t->h.hm, web, target), 0);
}

int main(void)
{
	struct rig *t = calloc(1, sizeof(*t));
	uint32_t doms[2], web, db;
	unsigned int mark, n;

	if (!t)
		return 1;
	rig_init(t);
	web = doms[0] = rig_guest(t, "web", WEB_BOOT);
	db = doms[1] = rig_guest(t, "db", DB_BOOT);
	set_load(t, web, 0, 0);
	set_load(t, db, 0, 0);

	/* 1. Short-term reclaim of a guest never grown: its balloon, to its min. */
	fprintf(stderr, "phase 1: idle db\n");
	ticks(t, doms, 2, 15);
	CHECK_EQ(target_of(t, db), DB_MIN);
	CHECK_EQ(tot_of(t, db), DB_MIN);
	CHECK_EQ(count_events(t, db, EV_TARGET_DOWN, 0), 1);
	CHECK_EQ(count_events(t, db, EV_SHRINK, 0) + count_events(t, db, EV_GROW, 0), 0);
	CHECK_EQ(target_of(t, web), WEB_BOOT); /* at its min (its boot size) already */
	CHECK_EQ(t->nr_events, count_events(t, db, EV_TARGET_DOWN, 0));
	CHECK_EQ(sim_check(t, "phase 1"), 0);

	/* 2. Growth by blocks: web under pressure, up to its max and no further. */
	fprintf(stderr, "phase 2: web under pressure\n");
	mark = t->nr_events;
	set_load(t, web, 440 * MIB, 0);
	ticks(t, doms, 2, 8);
	CHECK(count_events(t, web, EV_GROW, mark) >= 1);
	set_load(t, web, 2048 * MIB, 3000);
	ticks(t, doms, 2, 20);
	CHECK_EQ(granted_of(t, web), WEB_MAX - WEB_BOOT);
	CHECK_EQ(target_of(t, web), WEB_MAX);
	CHECK_EQ(tot_of(t, web), WEB_MAX);
	for (unsigned int i = mark; i < t->nr_events; i++) {
		const struct event *e = &t->events[i];

		CHECK(e->domid != web || e->kind == EV_GROW || e->kind == EV_TARGET_UP);
		CHECK(e->domid != web || e->kind != EV_GROW || e->bytes % BLOCK == 0);
		CHECK(e->domid != web || e->kind != EV_GROW || e->bytes <= MAX_STEP * BLOCK);
	}
	CHECK_EQ(sim_check(t, "phase 2"), 0);

	/* 3. The load goes: a grown guest's reclaim removes whole blocks, after the
	 *    shrink cooldown, grow-cooldown apart, and never drains its balloon. */
	fprintf(stderr, "phase 3: web idle after its grows\n");
	mark = t->nr_events;
	set_load(t, web, 0, 0);
	for (n = 0; n < 70; n++) {
		uint64_t granted = granted_of(t, web), target = target_of(t, web);

		/* What the balloon holds out of a grown guest: under one block. */
		CHECK(!granted || target + BLOCK > WEB_BOOT + granted);
		tick(t, doms, 2);
	}
	n = check_cooldowns(t, web, mark);
	CHECK_EQ(n, (WEB_MAX - WEB_BOOT) / BLOCK / MAX_STEP);
	CHECK_EQ(count_events(t, web, EV_SHRINK, mark), (WEB_MAX - WEB_BOOT) / BLOCK / MAX_STEP);
	CHECK_EQ(count_events(t, web, EV_TARGET_DOWN, mark), 0);
	CHECK_EQ(granted_of(t, web), 0);
	CHECK_EQ(target_of(t, web), WEB_BOOT);
	CHECK_EQ(tot_of(t, web), WEB_BOOT);
	CHECK_EQ(sim_check(t, "phase 3"), 0);

	/* 4. Long-term release: an operator ballooned web's blocks' worth out (web
	 *    in manual meanwhile); back in auto, the blocks go, each shrink after
	 *    its target was raised by the blocks, ending on the policy's target. */
	fprintf(stderr, "phase 4: web grown again, ballooned by hand, released\n");
	grown_then_ballooned(t, doms, web, WEB_BOOT);
	mark = t->nr_events;
	ticks(t, doms, 2, 5);
	CHECK_EQ(tot_of(t, web), WEB_BOOT);
	CHECK_EQ(count_events(t, web, EV_SHRINK, mark) +
			 count_events(t, web, EV_TARGET_DOWN, mark) +
			 count_events(t, web, EV_TARGET_UP, mark),
		 0);
	set_mode(t, "web", "auto");
	ticks(t, doms, 2, 60);
	n = 0;
	for (unsigned int i = mark; i < t->nr_events; i++) {
		const struct event *e = &t->events[i];

		if (e->domid != web || e->kind != EV_SHRINK)
			continue;
		n++;
		/* Raised first: the shrink's lowering by its blocks lands on target_after. */
		CHECK_EQ(e->target_after, WEB_BOOT);
		CHECK_EQ(e->target_before, e->target_after + e->bytes);
	}
	CHECK_EQ(n, (WEB_MAX - WEB_BOOT) / BLOCK / MAX_STEP);
	check_cooldowns(t, web, mark);
	CHECK_EQ(count_events(t, web, EV_GROW, mark), 0);
	CHECK_EQ(granted_of(t, web), 0);
	CHECK_EQ(target_of(t, web), WEB_BOOT);
	CHECK_EQ(tot_of(t, web), WEB_BOOT);
	CHECK_EQ(t->corrections, 0);
	CHECK_EQ(sim_check(t, "phase 4"), 0);

	/* 4b. The balloon holds part of a block (83 MiB, by hand) when the load
	 *     goes: the reclaims count it, so the blocks go with no balloon
	 *     draining boot memory and web ends at its boot size (lab.autoscale
	 *     on a loaded host: autoa stayed at 301 MiB over a ballooned boot
	 *     memory, one block online). */
	fprintf(stderr, "phase 4b: web grown again, part of a block ballooned\n");
	grown_then_ballooned(t, doms, web, WEB_MAX - 83 * MIB);
	ticks(t, doms, 2, 5);
	CHECK_EQ(tot_of(t, web), WEB_MAX - 83 * MIB);
	mark = t->nr_events;
	set_mode(t, "web", "auto");
	ticks(t, doms, 2, 60);
	CHECK_EQ(count_events(t, web, EV_TARGET_DOWN, mark), 0);
	CHECK_EQ(count_events(t, web, EV_GROW, mark), 0);
	check_cooldowns(t, web, mark);
	CHECK_EQ(granted_of(t, web), 0);
	CHECK_EQ(target_of(t, web), WEB_BOOT);
	CHECK_EQ(tot_of(t, web), WEB_BOOT);
	CHECK_EQ(t->corrections, 0);
	CHECK_EQ(sim_check(t, "phase 4b"), 0);

	/* 5. A guest that stops answering: the grow it was asked for stays
	 *    outstanding after the engine's ack timeout; after abandon-after the
	 *    autoscaler abandons it, and every frame of it comes back. */
	fprintf(stderr, "phase 5: web silent under pressure\n");
	CHECK_EQ(t->timed_out, 0);
	mark = t->nr_events;
	sim_guest_set_mode(harness_guest(&t->h, web), SG_SILENT);
	set_load(t, web, 2048 * MIB, 3000);
	ticks(t, doms, 2, 8);
	CHECK(count_events(t, web, EV_GROW, mark) >= 1);
	{
		struct hotmem_domain_info info;

		CHECK_EQ(hotmem_domain_info(t->h.hm, web, &info), 0);
		CHECK(info.outstanding || info.pending_blocks);
	}
	CHECK_EQ(t->abandons, 0);
	set_load(t, web, 0, 0);
	ticks(t, doms, 2, 30);
	CHECK(t->timed_out >= 1);
	CHECK(t->abandons >= 1);
	CHECK_EQ(granted_of(t, web), 0);
	CHECK_EQ(tot_of(t, web), WEB_BOOT);
	CHECK_EQ(sim_check(t, "phase 5"), 0);
	sim_guest_set_mode(harness_guest(&t->h, web), SG_NORMAL);

	/* Throughout: one operation per domain at a time, nothing failed, db untouched. */
	CHECK_EQ(t->overlapping_ops, 0);
	CHECK_EQ(t->failed_logs, 0);
	CHECK_EQ(target_of(t, db), DB_MIN);

	autoscale_free(t->as);
	hv_close(t->dom0);
	harness_fini(&t->h);
	free(t);
	return check_exit("test_autoscale_sim");
}
