/*
 * One engine per journal. A second engine opened on the same journal (a
 * second hotmemd with another lock path, an operator's in-process
 * xl-hotmem, a daemon restarted while the old one still runs) claims it;
 * the first one must then stop cleanly: every call fails with -ESTALE and
 * it writes nothing to the journal and makes no hypervisor call, whatever
 * it was doing (at rest, an operation before its request, a request waiting
 * for its ack), while the second one settles what the first left and runs.
 * Tried in every order: the second claims before the first attached, while
 * it is at rest, mid-grow, with a request outstanding, and the first
 * restarted (a third claim) after the second. And the other identity: a
 * domid reused by a new domain is a new domain (its handle differs).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine_harness.h"

#define MIB   (1ull << 20)
#define BLOCK (4 * MIB)

static struct harness h;

/* Every key under the journal directory, "path=value\n" in order. */
static void dump(struct hv *hv, const char *path, char *buf, size_t size)
{
	char **names = NULL;
	unsigned int nr = 0, i;
	char *value = NULL;

	if (hv->ops->xs_read(hv, 0, path, &value, NULL) == 0 && value[0]) {
		size_t len = strlen(buf);

		snprintf(buf + len, size - len, "%s=%s\n", path, value);
	}
	free(value);
	if (hv->ops->xs_directory(hv, 0, path, &names, &nr) < 0)
		return;
	for (i = 0; i < nr; i++) {
		char child[512];

		snprintf(child, sizeof(child), "%s/%s", path, names[i]);
		dump(hv, child, buf, size);
	}
	free(names);
}

static char *journal(void)
{
	static char buf[2][65536];
	static int which;
	struct hv *dom0 = NULL;

	which ^= 1;
	buf[which][0] = '\0';
	if (hv_sim_open(h.sim, 0, &dom0) == 0) {
		dump(dom0, HOTMEM_DEFAULT_JOURNAL_DIR, buf[which], sizeof(buf[which]));
		hv_close(dom0);
	}
	return buf[which];
}

/* A second engine on the same journal, as another process would open it. */
static struct hotmem *second_engine(struct hv **ret_hv)
{
	struct hotmem_config cfg = h.cfg;
	struct hotmem *hm = NULL;

	CHECK_EQ(hv_sim_open(h.sim, 0, ret_hv), 0);
	CHECK_EQ(hotmem_open(*ret_hv, &cfg, &hm), 0);
	return hm;
}

/* The first engine is stale: every call refuses, nothing changes. */
static void check_stale(struct hotmem *old, uint32_t domid, bool busy, const char *context)
{
	struct hotmem_operation *op = NULL;
	unsigned long calls;
	char before[65536];

	unsigned long before_calls[4];
	static const enum hv_sim_op mutating[4] = { HV_SIM_OP_SET_MAX_MEM, HV_SIM_OP_POPULATE,
						    HV_SIM_OP_DECREASE, HV_SIM_OP_SET_P2M_POOL };
	unsigned int i;

	snprintf(before, sizeof(before), "%s", journal());
	for (i = 0; i < 4; i++)
		before_calls[i] = hv_sim_op_calls(h.sim, mutating[i]);
	if (busy)
		CHECK_EQ(hotmem_dispatch(old), -ESTALE); /* before its next step */
	CHECK_EQ(hotmem_op_start(old, domid, HOTMEM_OP_KIND_GROW, BLOCK, &op), -ESTALE);
	CHECK_EQ(hotmem_abandon(old, domid, NULL), -ESTALE);
	CHECK_EQ(hotmem_reconcile(old, NULL), -ESTALE);
	CHECK_EQ(hotmem_dispatch(old), -ESTALE);
	/* No hypervisor change, no journal write. */
	for (i = 0, calls = 0; i < 4; i++)
		calls += hv_sim_op_calls(h.sim, mutating[i]) - before_calls[i];
	CHECK_EQ(calls, 0);
	if (strcmp(before, journal()))
		fprintf(stderr, "  [%s] journal changed by the stale engine\n", context);
	CHECK(!strcmp(before, journal()));
}

static struct hv *current_hv; /* the harness engine's connection if not the proxy */

/* Replace the harness engine by hm on hv (the old engine is closed). */
static void adopt(struct hotmem *hm, struct hv *hv)
{
	hotmem_close(h.hm);
	if (current_hv)
		hv_close(current_hv);
	h.hm = hm;
	current_hv = hv;
}

/*
 * A domid reused by a new domain (destroyed and recreated before the engine
 * looked, or while it was down) is a new domain: the journal's handle (xl's
 * UUID) no longer matches, so the old record is released, not applied to it.
 */
static void test_reused_domid(void)
{
	struct sim_guest_params gp = { .block_size = BLOCK, .memmap_bytes = 64 * 1024 };
	struct hotmem_attach_params ap = { .window_bytes = 32 * BLOCK };
	struct hv_sim_domain_params dp = { .name = "web2", .boot_pages = 64 * 256 };
	struct hotmem_reconcile_report report;
	struct hotmem_domain_info info;
	struct hotmem_result res;
	struct hv *dom0 = NULL;
	char path[96];
	uint32_t domid, again = 0;

	for (int restart = 0; restart < 2; restart++) {
		harness_init(&h, 0);
		domid = harness_add_guest(&h, "web", 64 * 256, &gp, &ap);
		CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, 2 * BLOCK, &res), 0);
		harness_destroy_guest(&h, domid);
		dp.domid = domid;
		CHECK_EQ(hv_sim_domain_create(h.sim, &dp, &again), 0);
		CHECK_EQ(again, domid);
		/* Even with a hotmem directory there (so only the handle tells). */
		CHECK_EQ(hv_sim_open(h.sim, 0, &dom0), 0);
		snprintf(path, sizeof(path), "/local/domain/%u/hotmem/version", domid);
		CHECK_EQ(dom0->ops->xs_write(dom0, 0, path, "1", 1), 0);
		hv_close(dom0);
		if (restart) {
			CHECK_EQ(harness_restart(&h, 0, &report), 0);
			CHECK_EQ(report.released, 1);
		} else {
			CHECK_EQ(harness_run(&h, NULL), 0);
		}
		CHECK_EQ(hotmem_domain_info(h.hm, domid, &info), -ENOENT);
		/* The new domain can be attached afresh. */
		CHECK_EQ(hotmem_attach(h.hm, domid, NULL), 0);
		CHECK_EQ(hotmem_domain_info(h.hm, domid, &info), 0);
		CHECK_EQ(info.granted_blocks, 0);
		harness_fini(&h);
	}
}

int main(void)
{
	struct sim_guest_params gp = { .block_size = BLOCK, .memmap_bytes = 64 * 1024 };
	struct hotmem_attach_params ap = { .window_bytes = 32 * BLOCK };
	struct hotmem_reconcile_report report;
	struct hotmem_domain_info info;
	struct hotmem_operation *op = NULL;
	struct hotmem_result res;
	struct hv *hv_b = NULL, *hv_c = NULL;
	struct hotmem *b, *c;
	struct sim_guest *g;
	uint32_t domid, other;

	harness_init(&h, 0);
	domid = harness_add_guest(&h, "web", 64 * 256, &gp, &ap);
	g = harness_guest(&h, domid);

	/* 1. Claimed before the first engine attaches anything else. */
	b = second_engine(&hv_b);
	{
		struct hv_sim_domain_params dp = { .name = "late", .boot_pages = 64 * 256 };

		CHECK_EQ(hv_sim_domain_create(h.sim, &dp, &other), 0);
	}
	CHECK_EQ(hotmem_attach(h.hm, other, NULL), -ESTALE);
	check_stale(h.hm, domid, false, "before attach");
	adopt(b, hv_b);
	CHECK_EQ(hotmem_reconcile(h.hm, &report), 0);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, 2 * BLOCK, &res), 0);
	CHECK_EQ(harness_check(&h, "second engine runs"), 0);

	/* 2. Mid-grow: the first engine stops before its next step. */
	CHECK_EQ(hotmem_op_start(h.hm, domid, HOTMEM_OP_KIND_GROW, 3 * BLOCK, &op), 0);
	CHECK(hotmem_dispatch(h.hm) >= 0); /* pool raised */
	CHECK(hotmem_dispatch(h.hm) >= 0); /* first head populated */
	c = second_engine(&hv_c);
	check_stale(h.hm, domid, true, "mid-grow");
	hotmem_op_free(op);
	adopt(c, hv_c);
	CHECK_EQ(hotmem_reconcile(h.hm, &report), 0);
	CHECK_EQ(report.rolled_back, 1);
	CHECK_EQ(harness_run(&h, NULL), 0);
	CHECK_EQ(harness_check(&h, "mid-grow rolled back by the new engine"), 0);

	/* 3. A request waiting for its ack: the new engine finishes it. */
	sim_guest_set_mode(g, SG_SILENT);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, BLOCK, &res), -ETIMEDOUT);
	b = second_engine(&hv_b);
	check_stale(h.hm, domid, false, "outstanding");
	adopt(b, hv_b);
	CHECK_EQ(hotmem_reconcile(h.hm, &report), 0);
	CHECK_EQ(report.outstanding, 1);
	sim_guest_set_mode(g, SG_NORMAL);
	CHECK_EQ(harness_run(&h, NULL), 0);
	CHECK_EQ(hotmem_domain_info(h.hm, domid, &info), 0);
	CHECK(!info.outstanding && info.granted_blocks == 3);
	CHECK_EQ(harness_check(&h, "outstanding finished by the new engine"), 0);

	/* 4. At rest, and the old one comes back (a restart): the newest runs. */
	c = second_engine(&hv_c);
	check_stale(h.hm, domid, false, "at rest");
	b = second_engine(&hv_b);
	CHECK_EQ(hotmem_attach(c, domid, NULL), -ESTALE);
	CHECK_EQ(hotmem_dispatch(c), -ESTALE);
	hotmem_close(c);
	hv_close(hv_c);
	adopt(b, hv_b);
	CHECK_EQ(hotmem_reconcile(h.hm, &report), 0);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_SHRINK, 3 * BLOCK, &res), 0);
	CHECK_EQ(harness_check(&h, "end"), 0);
	hotmem_close(h.hm);
	h.hm = NULL;
	hv_close(current_hv);
	harness_fini(&h);
	test_reused_domid();
	return check_exit("test_engine_owner");
}
