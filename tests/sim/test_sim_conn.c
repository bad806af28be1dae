/*
 * Sim connections: dom0 is privileged; a domU gets -EPERM for every
 * hypercall except populate/decrease on itself (the balloon's path, capped
 * at order 9), xenstore under its permissions; several connections coexist
 * and each has its own watches, events and transactions; closing one drops
 * them; a destroyed domain's connections answer -ENOTCONN until closed.
 */
#include "sim_test.h"

static void test_domu_hypercalls(struct hv_sim *sim, struct hv *dom0)
{
	uint32_t a = test_guest(sim, "ca", MIB_PAGES(16));
	uint32_t b = test_guest(sim, "cb", MIB_PAGES(16));
	struct hv *g = test_open(sim, a);
	struct hv_domain_info info;
	struct hv_physinfo pi;
	uint64_t bytes, gfn = 0x80000;
	uint32_t ids[4];
	size_t count, done = 99;

	CHECK_EQ(g->ops->physinfo(g, &pi), -EPERM);
	CHECK_EQ(g->ops->domain_info(g, a, &info), -EPERM);
	CHECK_EQ(g->ops->domain_info(g, b, &info), -EPERM);
	CHECK_EQ(g->ops->domain_list(g, ids, 4, &count), -EPERM);
	CHECK_EQ(g->ops->set_max_mem(g, a, 1 << 20), -EPERM);
	CHECK_EQ(g->ops->get_p2m_pool(g, a, &bytes), -EPERM);
	CHECK_EQ(g->ops->set_p2m_pool(g, a, 1 << 20), -EPERM);
	CHECK_EQ(g->ops->populate(g, b, 0, &gfn, 1, &done), -EPERM);
	CHECK_EQ(done, 0);
	CHECK_EQ(g->ops->decrease(g, b, 0, &gfn, 1, &done), -EPERM);
	CHECK_EQ(g->ops->populate(g, 0, 0, &gfn, 1, &done), -EPERM);

	/* Its own memory: the balloon path. max_pages still applies. */
	CHECK_EQ(g->ops->populate(g, a, 0, &gfn, 1, &done), -ENOMEM);
	CHECK_EQ(dom0->ops->set_max_mem(dom0, a, 64 * 1024), 0);
	CHECK_EQ(g->ops->populate(g, a, 0, &gfn, 1, &done), 0);
	CHECK_EQ(done, 1);
	CHECK_EQ(populated_order(sim, a, gfn), 0);
	gfn = HV_SIM_RAM0_GFN + 512;
	CHECK_EQ(g->ops->decrease(g, a, 9, &gfn, 1, &done), 0);
	CHECK_EQ(g->ops->populate(g, a, 9, &gfn, 1, &done), 0);
	/* A domU's maximum order is 9 (CONFIG_DOMU_MAX_ORDER). */
	gfn = 0x100000;
	CHECK_EQ(g->ops->populate(g, a, 10, &gfn, 1, &done), -EINVAL);
	CHECK_EQ(done, 0);
	CHECK_EQ(dom0->ops->populate(dom0, a, 10, &gfn, 1, &done), 0);
	CHECK_EQ(g->ops->decrease(g, a, 10, &gfn, 1, &done), -EINVAL);

	/* xenstore: allowed, under its permissions. */
	CHECK_EQ(xs_put(g, 0, "data/hello", "1"), 0);
	CHECK_EQ(xs_put(g, 0, "/local/domain/0/x", "1"), -EACCES);
	{
		char *path = NULL;

		CHECK_EQ(g->ops->xs_domain_path(g, a, &path), 0);
		CHECK_STREQ(path, "/local/domain/1");
		free(path);
	}
	hv_close(g);
	CHECK_EQ(hv_sim_domain_destroy(sim, a), 0);
	CHECK_EQ(hv_sim_domain_destroy(sim, b), 0);
}

static void test_many_connections(struct hv_sim *sim)
{
	struct hv *d1 = test_open(sim, 0), *d2 = test_open(sim, 0), *d3 = test_open(sim, 0);
	uint32_t g = test_guest(sim, "many", MIB_PAGES(16));
	struct hv *g1 = test_open(sim, g), *g2 = test_open(sim, g);
	char path[64];
	hv_xs_txn t;

	CHECK(d1 != d2);
	CHECK(d1->ops->xs_watch_fd(d1) != d2->ops->xs_watch_fd(d2));
	CHECK_EQ(d1->ops->xs_watch(d1, "/m", "one"), 0);
	CHECK_EQ(d2->ops->xs_watch(d2, "/m", "two"), 0);
	CHECK_EQ(g1->ops->xs_watch(g1, "data", "g1"), 0);
	CHECK_EQ(drain_events(d1), 1);
	CHECK_EQ(drain_events(d2), 1);
	CHECK_EQ(drain_events(g1), 1);
	CHECK_EQ(xs_put(d3, 0, "/m/x", "1"), 0);
	CHECK(next_event_is(d1, "/m/x", "one"));
	CHECK(next_event_is(d2, "/m/x", "two"));
	CHECK_EQ(drain_events(d3), 0);
	/* Two connections of the same guest: one writes, the other's watch fires. */
	CHECK_EQ(xs_put(g2, 0, "data/y", "1"), 0);
	CHECK(next_event_is(g1, "data/y", "g1"));

	/* Closing drops watches and queued events, aborts transactions. */
	CHECK_EQ(xs_put(d3, 0, "/m/y", "2"), 0);
	CHECK_EQ(d1->ops->xs_txn_start(d1, &t), 0);
	CHECK_EQ(xs_put(d1, t, "/m/never", "x"), 0);
	hv_close(d1);
	CHECK_EQ(xs_read_err(d2, 0, "/m/never"), -ENOENT);
	CHECK_EQ(d2->ops->xs_txn_end(d2, t, false), -ENOENT);
	CHECK(next_event_is(d2, "/m/y", "two"));
	CHECK_EQ(xs_put(d3, 0, "/m/z", "3"), 0);
	CHECK(next_event_is(d2, "/m/z", "two"));
	CHECK_EQ(drain_events(d2), 0);

	/* A destroyed domain's connections are dead but still closable. */
	snprintf(path, sizeof(path), "/local/domain/%u/data/z", g);
	CHECK_EQ(xs_put(d3, 0, path, "1"), 0);
	CHECK_EQ(g2->ops->xs_txn_start(g2, &t), 0);
	CHECK_EQ(hv_sim_domain_destroy(sim, g), 0);
	CHECK_EQ(xs_read_err(g1, 0, "data/y"), -ENOTCONN);
	CHECK_EQ(g1->ops->xs_watch_fd(g1), -ENOTCONN);
	CHECK_EQ(g2->ops->xs_txn_end(g2, t, false), -ENOTCONN);
	{
		uint64_t gfn = HV_SIM_RAM0_GFN;
		size_t done = 7;

		CHECK_EQ(g1->ops->populate(g1, g, 0, &gfn, 1, &done), -ENOTCONN);
		CHECK_EQ(done, 0);
	}
	hv_close(g1);
	hv_close(g2);
	{
		struct hv *late = NULL;

		CHECK_EQ(hv_sim_open(sim, g, &late), -ESRCH);
		CHECK(late == NULL);
		CHECK_EQ(hv_sim_open(sim, 0, NULL), -EINVAL);
	}
	hv_close(d2);
	hv_close(d3);
	hv_close(NULL);
}

int main(void)
{
	struct hv_sim *sim = test_sim(0);
	struct hv *dom0 = test_open(sim, 0), *leak;

	test_domu_hypercalls(sim, dom0);
	test_many_connections(sim);
	CHECK_EQ(hv_sim_op_calls(sim, HV_SIM_OP_CLOSE), 6);
	CHECK_EQ(check_sim(sim), 0);
	/* hv_sim_free closes what is still open. */
	leak = test_open(sim, 0);
	CHECK_EQ(leak->ops->xs_watch(leak, "/", "x"), 0);
	hv_close(dom0);
	hv_sim_free(sim);
	return check_exit("test_sim_conn");
}
