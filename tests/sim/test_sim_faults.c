/*
 * Sim fault injection: the nth matching call counted from arming fails with
 * the chosen errno, one op or any op, from any caller or one domain;
 * populate/decrease fail part-way after K extents for real; several faults
 * at once (first armed wins a shared call); states, disarm, clear; an
 * injected xs_txn_end failure ends the transaction; and the per-op call
 * counters, including close and the "any" total.
 */
#include "sim_test.h"

static struct hv_sim *sim;
static struct hv *dom0;

static unsigned int arm(enum hv_sim_op op, unsigned int nth, int error, size_t after,
			uint32_t caller)
{
	struct hv_sim_fault fault = {
		.op = op, .nth = nth, .error = error, .after_extents = after, .caller = caller
	};
	unsigned int id = 0;

	if (hv_sim_fault_arm(sim, &fault, &id) < 0)
		CHECK(!"arming failed");
	return id;
}

static enum hv_sim_fault_state state(unsigned int id)
{
	enum hv_sim_fault_state st = (enum hv_sim_fault_state) - 1;

	hv_sim_fault_state(sim, id, &st);
	return st;
}

static void test_arming(void)
{
	struct hv_sim_fault bad = { .op = HV_SIM_OP_CLOSE, .nth = 1, .error = -EIO };
	enum hv_sim_fault_state st;

	CHECK_EQ(hv_sim_fault_arm(sim, &bad, NULL), -EINVAL);
	bad.op = HV_SIM_OP_COUNT;
	CHECK_EQ(hv_sim_fault_arm(sim, &bad, NULL), -EINVAL);
	bad.op = HV_SIM_OP_XS_READ;
	bad.nth = 0;
	CHECK_EQ(hv_sim_fault_arm(sim, &bad, NULL), -EINVAL);
	bad.nth = 1;
	bad.error = 0;
	CHECK_EQ(hv_sim_fault_arm(sim, &bad, NULL), -EINVAL);
	bad.error = EIO;
	CHECK_EQ(hv_sim_fault_arm(sim, &bad, NULL), -EINVAL);
	CHECK_EQ(hv_sim_fault_arm(sim, NULL, NULL), -EINVAL);
	CHECK_EQ(hv_sim_fault_state(sim, 999, &st), -ENOENT);
	CHECK_EQ(hv_sim_fault_disarm(sim, 999), -ENOENT);
	CHECK_STREQ(hv_sim_op_name(HV_SIM_OP_POPULATE), "populate");
	CHECK_STREQ(hv_sim_op_name(HV_SIM_OP_XS_READ_WATCH), "xs_read_watch");
	CHECK_STREQ(hv_sim_op_name(HV_SIM_OP_ANY), "any");
	CHECK_STREQ(hv_sim_op_name(HV_SIM_OP_COUNT), "?");
}

static void test_nth(void)
{
	struct hv_physinfo pi;
	unsigned int id;
	int i;

	CHECK_EQ(xs_put(dom0, 0, "/f", "v"), 0);
	/* Calls before arming don't count. */
	for (i = 0; i < 3; i++)
		CHECK_EQ(xs_read_err(dom0, 0, "/f"), 0);
	id = arm(HV_SIM_OP_XS_READ, 2, -EIO, 0, HV_SIM_ANY_CALLER);
	CHECK_EQ(state(id), HV_SIM_FAULT_ARMED);
	CHECK_EQ(xs_read_err(dom0, 0, "/f"), 0);
	CHECK_EQ(dom0->ops->physinfo(dom0, &pi), 0); /* other ops don't count */
	CHECK_EQ(xs_read_err(dom0, 0, "/f"), -EIO);
	CHECK_EQ(state(id), HV_SIM_FAULT_FIRED);
	CHECK_EQ(xs_read_err(dom0, 0, "/f"), 0); /* one-shot */

	/* Any op: the 3rd call of whatever kind. */
	id = arm(HV_SIM_OP_ANY, 3, -ENOMEM, 0, HV_SIM_ANY_CALLER);
	CHECK_EQ(dom0->ops->physinfo(dom0, &pi), 0);
	CHECK_EQ(xs_read_err(dom0, 0, "/f"), 0);
	CHECK_EQ(xs_put(dom0, 0, "/f", "w"), -ENOMEM);
	CHECK(xs_is(dom0, "/f", "v")); /* failed before doing anything */
	CHECK_EQ(state(id), HV_SIM_FAULT_FIRED);

	/* Faults on ops returning other things. */
	arm(HV_SIM_OP_XS_WATCH_FD, 1, -EBADF, 0, HV_SIM_ANY_CALLER);
	CHECK_EQ(dom0->ops->xs_watch_fd(dom0), -EBADF);
	CHECK(dom0->ops->xs_watch_fd(dom0) >= 0);
	arm(HV_SIM_OP_XS_READ_WATCH, 1, -EIO, 0, HV_SIM_ANY_CALLER);
	CHECK_EQ(dom0->ops->xs_watch(dom0, "/f", "t"), 0);
	{
		char *p, *t;

		CHECK_EQ(dom0->ops->xs_read_watch(dom0, &p, &t), -EIO);
		CHECK(next_event_is(dom0, "/f", "t")); /* the event was kept */
	}
	CHECK_EQ(dom0->ops->xs_unwatch(dom0, "/f", "t"), 0);
}

static void test_partial(uint32_t g)
{
	uint64_t t0 = dstats(sim, g).tot_pages;
	unsigned int id;
	size_t done = 99;

	/* 4 extents, fail after 2: the first 2 are really there. */
	id = arm(HV_SIM_OP_POPULATE, 1, -ENOMEM, 2, HV_SIM_ANY_CALLER);
	CHECK_EQ(populate_run(dom0, g, 9, 0x80000, 4, &done), -ENOMEM);
	CHECK_EQ(done, 2);
	CHECK_EQ(state(id), HV_SIM_FAULT_FIRED);
	CHECK_EQ(populated_order(sim, g, 0x80000 + 512), 9);
	CHECK_EQ(populated_order(sim, g, 0x80000 + 1024), -1);
	CHECK_EQ(dstats(sim, g).tot_pages, t0 + 1024);

	/* The same for decrease. */
	id = arm(HV_SIM_OP_DECREASE, 1, -EBUSY, 1, HV_SIM_ANY_CALLER);
	CHECK_EQ(decrease_run(dom0, g, 9, 0x80000, 2, &done), -EBUSY);
	CHECK_EQ(done, 1);
	CHECK_EQ(populated_order(sim, g, 0x80000), -1);
	CHECK_EQ(populated_order(sim, g, 0x80000 + 512), 9);
	CHECK_EQ(state(id), HV_SIM_FAULT_FIRED);

	/* A call with no more than K extents runs normally: the fault is missed. */
	id = arm(HV_SIM_OP_POPULATE, 1, -ENOMEM, 3, HV_SIM_ANY_CALLER);
	CHECK_EQ(populate_run(dom0, g, 9, 0x90000, 3, &done), 0);
	CHECK_EQ(done, 3);
	CHECK_EQ(state(id), HV_SIM_FAULT_MISSED);
	/* So is one whose call fails by itself first. */
	id = arm(HV_SIM_OP_POPULATE, 1, -ENOMEM, 2, HV_SIM_ANY_CALLER);
	CHECK_EQ(populate_run(dom0, g, 9, 0x90000 + 1, 4, &done), -EINVAL);
	CHECK_EQ(done, 0);
	CHECK_EQ(state(id), HV_SIM_FAULT_MISSED);
	/* And one refused at the door. */
	id = arm(HV_SIM_OP_POPULATE, 1, -ENOMEM, 2, HV_SIM_ANY_CALLER);
	CHECK_EQ(populate_run(dom0, 4242, 9, 0xa0000, 4, &done), -ESRCH);
	CHECK_EQ(state(id), HV_SIM_FAULT_MISSED);
	/* K = 0 fails before the first extent. */
	id = arm(HV_SIM_OP_POPULATE, 1, -EINTR, 0, HV_SIM_ANY_CALLER);
	CHECK_EQ(populate_run(dom0, g, 9, 0xa0000, 4, &done), -EINTR);
	CHECK_EQ(done, 0);
	CHECK_EQ(populated_order(sim, g, 0xa0000), -1);
	CHECK_EQ(check_sim(sim), 0);
}

static void test_several(uint32_t g)
{
	struct hv *guest = test_open(sim, g);
	unsigned int a, b, c, d, e;
	uint64_t gfn = 0xb0000;
	size_t done;

	/* Two faults on the same call: the first armed fires, the other is spent. */
	a = arm(HV_SIM_OP_XS_WRITE, 1, -EIO, 0, HV_SIM_ANY_CALLER);
	b = arm(HV_SIM_OP_XS_WRITE, 1, -ENOSPC, 0, HV_SIM_ANY_CALLER);
	/* Independent ones stay armed. */
	c = arm(HV_SIM_OP_XS_WRITE, 2, -EPERM, 0, HV_SIM_ANY_CALLER);
	d = arm(HV_SIM_OP_XS_MKDIR, 1, -EROFS, 0, HV_SIM_ANY_CALLER);
	CHECK_EQ(xs_put(dom0, 0, "/s", "1"), -EIO);
	CHECK_EQ(state(a), HV_SIM_FAULT_FIRED);
	CHECK_EQ(state(b), HV_SIM_FAULT_MISSED);
	CHECK_EQ(state(c), HV_SIM_FAULT_ARMED);
	CHECK_EQ(xs_put(dom0, 0, "/s", "1"), -EPERM);
	CHECK_EQ(dom0->ops->xs_mkdir(dom0, 0, "/s"), -EROFS);
	CHECK_EQ(state(d), HV_SIM_FAULT_FIRED);

	/* Only the guest's calls. */
	CHECK_EQ(dom0->ops->set_max_mem(dom0, g, 1ULL << 30), 0);
	e = arm(HV_SIM_OP_POPULATE, 1, -ENOMEM, 0, g);
	CHECK_EQ(dom0->ops->populate(dom0, g, 0, &gfn, 1, &done), 0);
	CHECK_EQ(state(e), HV_SIM_FAULT_ARMED);
	gfn++;
	CHECK_EQ(guest->ops->populate(guest, g, 0, &gfn, 1, &done), -ENOMEM);
	CHECK_EQ(state(e), HV_SIM_FAULT_FIRED);
	CHECK_EQ(guest->ops->populate(guest, g, 0, &gfn, 1, &done), 0);

	/* Disarm and clear. */
	a = arm(HV_SIM_OP_XS_READ, 1, -EIO, 0, HV_SIM_ANY_CALLER);
	CHECK_EQ(hv_sim_fault_disarm(sim, a), 0);
	CHECK_EQ(state(a), HV_SIM_FAULT_DISARMED);
	CHECK_EQ(xs_read_err(dom0, 0, "/s"), -ENOENT);
	CHECK_EQ(hv_sim_fault_disarm(sim, e), 0); /* spent: fine, stays fired */
	CHECK_EQ(state(e), HV_SIM_FAULT_FIRED);
	b = arm(HV_SIM_OP_XS_READ, 1, -EIO, 0, HV_SIM_ANY_CALLER);
	hv_sim_fault_clear(sim);
	CHECK_EQ(hv_sim_fault_state(sim, b, &(enum hv_sim_fault_state){ 0 }), -ENOENT);
	CHECK_EQ(xs_read_err(dom0, 0, "/s"), -ENOENT);
	c = arm(HV_SIM_OP_XS_READ, 5, -EIO, 0, HV_SIM_ANY_CALLER);
	CHECK(c > b); /* ids are not reused */
	hv_sim_fault_clear(sim);
	hv_close(guest);
}

static void test_txn_end(void)
{
	hv_xs_txn t;

	/* The toolstack's retry path: an injected EAGAIN ends the transaction. */
	CHECK_EQ(dom0->ops->xs_txn_start(dom0, &t), 0);
	CHECK_EQ(xs_put(dom0, t, "/txf", "1"), 0);
	arm(HV_SIM_OP_XS_TXN_END, 1, -EAGAIN, 0, HV_SIM_ANY_CALLER);
	CHECK_EQ(dom0->ops->xs_txn_end(dom0, t, false), -EAGAIN);
	CHECK_EQ(dom0->ops->xs_txn_end(dom0, t, false), -ENOENT);
	CHECK_EQ(xs_read_err(dom0, 0, "/txf"), -ENOENT);
	hv_sim_fault_clear(sim);
}

static void test_counters(void)
{
	struct hv_sim_stats stats;
	uint64_t any0, reads0, total = 0;
	struct hv *extra;
	int op;

	any0 = hv_sim_op_calls(sim, HV_SIM_OP_ANY);
	reads0 = hv_sim_op_calls(sim, HV_SIM_OP_XS_READ);
	xs_read_err(dom0, 0, "/nothing");
	xs_read_err(dom0, 0, "/nothing");
	CHECK_EQ(hv_sim_op_calls(sim, HV_SIM_OP_XS_READ), reads0 + 2);
	CHECK_EQ(hv_sim_op_calls(sim, HV_SIM_OP_ANY), any0 + 2);
	extra = test_open(sim, 0);
	hv_close(extra);
	CHECK_EQ(hv_sim_op_calls(sim, HV_SIM_OP_CLOSE), 2);	 /* the guest's and this one */
	CHECK_EQ(hv_sim_op_calls(sim, HV_SIM_OP_ANY), any0 + 2); /* close isn't "any" */
	CHECK_EQ(hv_sim_op_calls(sim, HV_SIM_OP_COUNT), 0);

	hv_sim_get_stats(sim, &stats);
	for (op = 0; op < HV_SIM_OP_ANY; op++) {
		CHECK_EQ(stats.op_calls[op], hv_sim_op_calls(sim, (enum hv_sim_op)op));
		if (op != HV_SIM_OP_CLOSE)
			total += stats.op_calls[op];
	}
	CHECK_EQ(stats.op_calls[HV_SIM_OP_ANY], total);
	CHECK(stats.faults_fired >= 10);
}

int main(void)
{
	uint32_t g;

	sim = test_sim(0);
	dom0 = test_open(sim, 0);
	g = test_guest(sim, "faulty", MIB_PAGES(16));
	CHECK_EQ(dom0->ops->set_max_mem(dom0, g, 1ULL << 30), 0);

	test_arming();
	test_nth();
	test_partial(g);
	test_several(g);
	test_txn_end();
	test_counters();

	CHECK_EQ(check_sim(sim), 0);
	hv_close(dom0);
	hv_sim_free(sim);
	return check_exit("test_sim_faults");
}
