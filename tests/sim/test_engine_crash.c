/*
 * Kill and restart at every step. The engine runs on a kill proxy: armed
 * with k, it lets k mutating calls through (journal commits, direct xenstore
 * writes, max memory, pool, populate, decrease) and then fails everything,
 * so the engine is "dead" right after its k-th step, whatever it was about
 * to do next. The dead handle is dropped without cleanup, the guests keep
 * running (and may ack what it asked), a new engine on a new connection
 * reconciles, and everything settles. For every k of grow, partial grow and
 * shrink, the records must then equal the hypervisor's and a grow and a shrink
 * must still work. A second sweep kills the restarted engine again at every
 * step of its own reconcile (sampled in the middle when a recovery walks a
 * block page by page). Also: domains that die or vanish while the
 * engine is down, die during an operation, or have their hotmem directory
 * removed (a reused domid) have their records released; a journal record that
 * does not parse is reported and left alone. The kill points are printed.
 */
#include <stdlib.h>

#include "check.h"
#include "engine_harness.h"

#define MIB (1ull << 20)

struct scenario {
	const char *name;
	uint64_t block_size;
	uint64_t memmap_bytes;
	uint32_t pre_blocks;
	enum hotmem_op_kind kind;
	uint32_t blocks;
	enum sim_guest_mode mode;
};

static const struct scenario scenarios[] = {
	{ "grow-8M-2M", 8 * MIB, 2 * MIB, 1, HOTMEM_OP_KIND_GROW, 3, SG_NORMAL },
	{ "grow-4M", 4 * MIB, 64 * 1024, 0, HOTMEM_OP_KIND_GROW, 2, SG_NORMAL },
	{ "grow-partial", 4 * MIB, 64 * 1024, 1, HOTMEM_OP_KIND_GROW, 4, SG_ACK_PARTIAL },
	{ "shrink-8M-2M", 8 * MIB, 2 * MIB, 3, HOTMEM_OP_KIND_SHRINK, 2, SG_NORMAL },
	{ "shrink-4M", 4 * MIB, 64 * 1024, 4, HOTMEM_OP_KIND_SHRINK, 3, SG_NORMAL },
};

static unsigned int kill_points, double_kill_points, bad_runs;
static unsigned int outcome_rolled_back, outcome_finished, outcome_done_before;

static uint32_t setup(struct harness *h, const struct scenario *sc)
{
	struct sim_guest_params gp = { .block_size = sc->block_size,
				       .memmap_bytes = sc->memmap_bytes };
	struct hotmem_attach_params ap = { .window_bytes = 16 * sc->block_size };
	struct hotmem_result res;
	uint32_t domid;

	harness_init(h, 0);
	domid = harness_add_guest(h, sc->name, 64 * 256, &gp, &ap);
	if (sc->pre_blocks &&
	    harness_op(h, domid, HOTMEM_OP_KIND_GROW, sc->pre_blocks * sc->block_size, &res) < 0) {
		fprintf(stderr, "%s: pre-grant failed\n", sc->name);
		exit(1);
	}
	sim_guest_set_mode(harness_guest(h, domid), sc->mode);
	return domid;
}

/* Start the operation and drive it until done or dead. */
static void run_until_dead(struct harness *h, const struct scenario *sc, uint32_t domid)
{
	struct hotmem_operation *op = NULL;
	int rc;

	rc = hotmem_op_start(h->hm, domid, sc->kind, sc->blocks * sc->block_size, &op);
	/* A start refused only because the engine was killed inside it. */
	CHECK(rc == 0 || harness_dead(h));
	if (rc == 0) {
		harness_run(h, op);
		hotmem_op_free(op);
	}
	if (!harness_dead(h))
		harness_run(h, NULL);
}

/* After the last restart: settle, check, and check it still works. */
static int finish(struct harness *h, const struct scenario *sc, uint32_t domid, const char *what)
{
	struct hotmem_domain_info info;
	char context[128];
	int problems;

	sim_guest_set_mode(harness_guest(h, domid), SG_NORMAL);
	harness_run(h, NULL);
	snprintf(context, sizeof(context), "%s %s", sc->name, what);
	problems = harness_check(h, context);
	if (hotmem_domain_info(h->hm, domid, &info)) {
		fprintf(stderr, "  [%s] no records for d%u\n", context, domid);
		problems++;
	} else if (info.outstanding) {
		fprintf(stderr, "  [%s] request %u still outstanding\n", context,
			info.outstanding_seq);
		problems++;
	}
	if (!problems) {
		problems += harness_op_afterwards(h, domid, sc->block_size, true, context);
		snprintf(context, sizeof(context), "%s %s, then grow+shrink", sc->name, what);
		problems += harness_check(h, context);
	}
	if (problems)
		bad_runs++;
	return problems;
}

/* Every recovery step up to 48 and from steps - 47; about 32 in between. */
static unsigned long next_step(unsigned long j, unsigned long steps)
{
	unsigned long stride;

	if (steps <= 96 || j < 48 || j >= steps - 48)
		return j + 1;
	stride = (steps - 96) / 32 + 1;
	return j + stride < steps - 47 ? j + stride : steps - 47;
}

static void sweep(const struct scenario *sc)
{
	unsigned long total, k;
	struct harness h;
	uint32_t domid;

	domid = setup(&h, sc);
	harness_arm_kill(&h, 0);
	run_until_dead(&h, sc, domid);
	total = harness_mutations(&h);
	CHECK(total > 3);
	CHECK_EQ(harness_check(&h, sc->name), 0);
	harness_fini(&h);

	for (k = 1; k <= total; k++) {
		struct hotmem_reconcile_report report;
		unsigned long recovery_steps, j;
		char what[64];

		/* Die after step k, restart, reconcile, settle. */
		domid = setup(&h, sc);
		harness_arm_kill(&h, k);
		run_until_dead(&h, sc, domid);
		CHECK(harness_dead(&h));
		CHECK_EQ(harness_restart(&h, 0, &report), 0);
		CHECK_EQ(report.domains, 1);
		CHECK_EQ(report.failed, 0);
		outcome_rolled_back += report.rolled_back;
		outcome_finished += report.finished;
		outcome_done_before +=
			!report.rolled_back && !report.finished && !report.outstanding;
		recovery_steps = harness_mutations(&h);
		kill_points++;
		snprintf(what, sizeof(what), "killed after step %lu/%lu", k, total);
		CHECK_EQ(finish(&h, sc, domid, what), 0);
		harness_fini(&h);

		/*
		 * Die after step k, then again at each step of the recovery. A
		 * recovery that walks a block page by page repeats one kind of
		 * step hundreds of times: beyond 96 steps the middle is sampled
		 * (the first and last 48 are always all taken).
		 */
		for (j = 1; j <= recovery_steps; j = next_step(j, recovery_steps)) {
			domid = setup(&h, sc);
			harness_arm_kill(&h, k);
			run_until_dead(&h, sc, domid);
			CHECK(harness_dead(&h));
			harness_restart(&h, j, NULL); /* its code: whatever dying left */
			if (!harness_dead(&h))
				harness_run(&h, NULL);
			/* The recovery made recovery_steps steps before: it dies at j. */
			CHECK(harness_dead(&h));
			CHECK_EQ(harness_restart(&h, 0, &report), 0);
			double_kill_points++;
			snprintf(what, sizeof(what), "killed after step %lu, recovery after %lu", k,
				 j);
			CHECK_EQ(finish(&h, sc, domid, what), 0);
			harness_fini(&h);
		}
	}
}

/* Domains that die while the engine is down or busy; vanished directories. */
static void test_deaths(void)
{
	const struct scenario *sc = &scenarios[0];
	struct hotmem_reconcile_report report;
	struct hotmem_operation *op = NULL;
	struct hotmem_result res;
	struct hotmem_counters counters;
	struct hotmem_domain_info info;
	struct harness h;
	uint32_t a, b, c;
	char path[96];
	struct hv *dom0 = NULL;

	/* Killed mid-grow, domain destroyed meanwhile: released at reconcile. */
	a = setup(&h, sc);
	harness_arm_kill(&h, 4);
	run_until_dead(&h, sc, a);
	harness_destroy_guest(&h, a);
	CHECK_EQ(harness_restart(&h, 0, &report), 0);
	CHECK_EQ(report.domains, 1);
	CHECK_EQ(report.released, 1);
	CHECK_EQ(hotmem_domain_info(h.hm, a, &info), -ENOENT);
	CHECK_EQ(harness_check(&h, "destroyed while down"), 0);
	harness_fini(&h);

	/* Dying during an operation: the operation ends with -ESRCH. */
	b = setup(&h, sc);
	sim_guest_set_mode(harness_guest(&h, b), SG_SILENT);
	CHECK_EQ(hotmem_op_start(h.hm, b, HOTMEM_OP_KIND_GROW, sc->block_size, &op), 0);
	{
		int round;

		/* Up to the request; the fake clock stands still, so no timeout. */
		for (round = 0; round < 20; round++) {
			sim_guest_step(harness_guest(&h, b));
			hotmem_dispatch(h.hm);
		}
	}
	CHECK(!hotmem_op_done(op));
	CHECK_EQ(hv_sim_domain_set_dying(h.sim, b, true), 0);
	harness_run(&h, op);
	CHECK(hotmem_op_done(op));
	CHECK_EQ(hotmem_op_result(op, &res), 0);
	CHECK_EQ(res.error, -ESRCH);
	hotmem_op_free(op);
	CHECK_EQ(hotmem_domain_info(h.hm, b, &info), -ENOENT);
	hotmem_get_counters(h.hm, &counters);
	CHECK_EQ(counters.releases, 1);
	harness_destroy_guest(&h, b);
	CHECK_EQ(harness_check(&h, "dying"), 0);
	harness_fini(&h);

	/* Hotmem directory gone (the domid was reused): released, nothing given back. */
	c = setup(&h, sc);
	hv_sim_open(h.sim, 0, &dom0);
	snprintf(path, sizeof(path), "/local/domain/%u/hotmem", c);
	CHECK_EQ(dom0->ops->xs_rm(dom0, 0, path), 0);
	CHECK_EQ(harness_restart(&h, 0, &report), 0);
	CHECK_EQ(report.released, 1);
	CHECK_EQ(hotmem_domain_info(h.hm, c, &info), -ENOENT);

	/* A journal record that does not parse: reported, not guessed at. */
	CHECK_EQ(hotmem_attach(h.hm, c, NULL), 0);
	snprintf(path, sizeof(path), HOTMEM_DEFAULT_JOURNAL_DIR "/%u/op", c);
	CHECK_EQ(dom0->ops->xs_write(dom0, 0, path, "prepare 1 grow", 14), 0);
	CHECK_EQ(harness_restart(&h, 0, &report), -EUCLEAN);
	CHECK_EQ(report.failed, 1);
	CHECK_EQ(hotmem_op_start(h.hm, c, HOTMEM_OP_KIND_GROW, MIB, &op), -EUCLEAN);
	CHECK_EQ(dom0->ops->xs_rm(dom0, 0, path), 0);
	CHECK_EQ(harness_restart(&h, 0, &report), 0);
	CHECK_EQ(report.failed, 0);

	/* An op-blocks with no op (found by fuzz_journal): refused the same
	 * way, as storing the records back would silently drop it. */
	snprintf(path, sizeof(path), HOTMEM_DEFAULT_JOURNAL_DIR "/%u/op-blocks", c);
	CHECK_EQ(dom0->ops->xs_write(dom0, 0, path, "3", 1), 0);
	CHECK_EQ(harness_restart(&h, 0, &report), -EUCLEAN);
	CHECK_EQ(report.failed, 1);
	CHECK_EQ(dom0->ops->xs_rm(dom0, 0, path), 0);
	CHECK_EQ(harness_restart(&h, 0, &report), 0);
	CHECK_EQ(report.failed, 0);
	hv_close(dom0);
	harness_fini(&h);
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		unsigned int before = kill_points, double_before = double_kill_points;

		sweep(&scenarios[i]);
		printf("%-14s %u kill points, %u kill points inside recovery\n", scenarios[i].name,
		       kill_points - before, double_kill_points - double_before);
	}
	test_deaths();
	printf("kill points covered: %u, plus %u inside recovery (outcomes: %u rolled back, "
	       "%u finished by reconcile, %u already done); runs with record mismatches: %u\n",
	       kill_points, double_kill_points, outcome_rolled_back, outcome_finished,
	       outcome_done_before, bad_runs);
	return check_exit("test_engine_crash");
}
