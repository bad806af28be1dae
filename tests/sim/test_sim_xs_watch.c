/*
 * Sim xenstore watches: the first event on registration, events for the
 * node and everything below it, rm's events (root for watchers above,
 * exact ones for removed descendants), the real fd (poll()able while events
 * are queued), the non-blocking read (-EAGAIN), duplicates and unwatch,
 * xenstored's permission filter (node or parent readable, old permissions
 * count), relative watches, @releaseDomain/@introduceDomain and the quota.
 */
#include "sim_test.h"

static void test_basics(struct hv *dom0)
{
	char *path, *token;

	CHECK(!fd_readable(dom0));
	CHECK_EQ(dom0->ops->xs_read_watch(dom0, &path, &token), -EAGAIN);
	CHECK(dom0->ops->xs_watch_fd(dom0) >= 0);

	/* Fires once on registration, even for a missing node. */
	CHECK_EQ(dom0->ops->xs_watch(dom0, "/w", "tok"), 0);
	CHECK(fd_readable(dom0));
	CHECK(next_event_is(dom0, "/w", "tok"));
	CHECK(!fd_readable(dom0));
	CHECK_EQ(dom0->ops->xs_read_watch(dom0, &path, &token), -EAGAIN);

	/* The node and anything below; nothing else. */
	CHECK_EQ(xs_put(dom0, 0, "/w/a", "1"), 0);
	CHECK_EQ(xs_put(dom0, 0, "/w", "2"), 0);
	CHECK_EQ(xs_put(dom0, 0, "/wx", "3"), 0);
	CHECK_EQ(xs_put(dom0, 0, "/other", "4"), 0);
	CHECK_EQ(dom0->ops->xs_mkdir(dom0, 0, "/w/b/c"), 0);
	CHECK_EQ(dom0->ops->xs_mkdir(dom0, 0, "/w/b/c"), 0); /* exists: no event */
	CHECK(next_event_is(dom0, "/w/a", "tok"));
	CHECK(next_event_is(dom0, "/w", "tok"));
	CHECK(next_event_is(dom0, "/w/b/c", "tok"));
	CHECK_EQ(drain_events(dom0), 0);

	/* Several watches, duplicates refused, same path with another token fine. */
	CHECK_EQ(dom0->ops->xs_watch(dom0, "/w", "tok"), -EEXIST);
	CHECK_EQ(dom0->ops->xs_watch(dom0, "/w", "tok2"), 0);
	CHECK_EQ(dom0->ops->xs_watch(dom0, "/w/b/c", "deep"), 0);
	CHECK_EQ(drain_events(dom0), 2);

	/* rm: the root for watches at or above it, exact ones for descendants,
	 * children first. */
	CHECK_EQ(dom0->ops->xs_rm(dom0, 0, "/w/b"), 0);
	CHECK(next_event_is(dom0, "/w/b/c", "deep"));
	CHECK(next_event_is(dom0, "/w/b", "tok"));
	CHECK(next_event_is(dom0, "/w/b", "tok2"));
	CHECK_EQ(drain_events(dom0), 0);

	/* set_perms fires. */
	{
		struct hv_xs_perm perms[1] = { { 0, HV_XS_PERM_READ } };

		CHECK_EQ(dom0->ops->xs_set_perms(dom0, 0, "/w/a", perms, 1), 0);
		CHECK(next_event_is(dom0, "/w/a", "tok"));
		CHECK(next_event_is(dom0, "/w/a", "tok2"));
	}

	/* unwatch: no more events, and queued ones of that watch are dropped. */
	CHECK_EQ(xs_put(dom0, 0, "/w/a", "5"), 0);
	CHECK_EQ(dom0->ops->xs_unwatch(dom0, "/w", "tok"), 0);
	CHECK(next_event_is(dom0, "/w/a", "tok2"));
	CHECK_EQ(drain_events(dom0), 0);
	CHECK_EQ(dom0->ops->xs_unwatch(dom0, "/w", "tok"), -ENOENT);
	CHECK_EQ(dom0->ops->xs_unwatch(dom0, "/w", "tok2"), 0);
	CHECK_EQ(dom0->ops->xs_unwatch(dom0, "/w/b/c", "deep"), 0);
	CHECK_EQ(xs_put(dom0, 0, "/w/a", "6"), 0);
	CHECK_EQ(drain_events(dom0), 0);
	CHECK(!fd_readable(dom0));

	/* A watch on / sees everything (but not @ events). */
	CHECK_EQ(dom0->ops->xs_watch(dom0, "/", "root"), 0);
	CHECK(next_event_is(dom0, "/", "root"));
	CHECK_EQ(xs_put(dom0, 0, "/anything/at/all", "x"), 0);
	CHECK(next_event_is(dom0, "/anything/at/all", "root"));
	CHECK_EQ(dom0->ops->xs_unwatch(dom0, "/", "root"), 0);

	/* Bad arguments. */
	CHECK_EQ(dom0->ops->xs_watch(dom0, "/bad//path", "t"), -EINVAL);
	CHECK_EQ(dom0->ops->xs_watch(dom0, "/ok", NULL), -EINVAL);
	CHECK_EQ(dom0->ops->xs_watch(dom0, NULL, "t"), -EINVAL);
	CHECK_EQ(dom0->ops->xs_read_watch(dom0, NULL, &token), -EINVAL);
	CHECK_EQ(drain_events(dom0), 0);
}

static void test_permissions(struct hv_sim *sim, struct hv *dom0)
{
	uint32_t a = test_guest(sim, "wa", MIB_PAGES(16));
	uint32_t b = test_guest(sim, "wb", MIB_PAGES(16));
	struct hv *ga = test_open(sim, a), *gb = test_open(sim, b);
	struct hv_xs_perm secret[1] = { { 0, HV_XS_PERM_NONE } };
	struct hv_xs_perm readable[2] = { { 0, HV_XS_PERM_NONE }, { a, HV_XS_PERM_READ } };
	char path[64], *ev_path, *ev_token;

	/* Registration always fires, even where the guest can't read. */
	CHECK_EQ(ga->ops->xs_watch(ga, "/local/domain/0", "dom0"), 0);
	CHECK(next_event_is(ga, "/local/domain/0", "dom0"));
	CHECK_EQ(xs_put(dom0, 0, "/local/domain/0/x", "1"), 0);
	CHECK_EQ(drain_events(ga), 0);

	/* Its own data: relative watch, relative event paths. */
	CHECK_EQ(ga->ops->xs_watch(ga, "data", "mine"), 0);
	CHECK(next_event_is(ga, "data", "mine"));
	snprintf(path, sizeof(path), "/local/domain/%u/data/req", a);
	CHECK_EQ(xs_put(dom0, 0, path, "go"), 0);
	CHECK(next_event_is(ga, "data/req", "mine"));
	CHECK_EQ(xs_put(ga, 0, "data/ack", "ok"), 0);
	CHECK(next_event_is(ga, "data/ack", "mine"));
	/* Unwatch by the same relative path. */
	CHECK_EQ(ga->ops->xs_unwatch(ga, "data", "mine"), 0);
	/* An absolute watch on its own dir reports absolute paths. */
	snprintf(path, sizeof(path), "/local/domain/%u/data", a);
	CHECK_EQ(ga->ops->xs_watch(ga, path, "abs"), 0);
	CHECK(next_event_is(ga, path, "abs"));

	/* An unreadable node under a readable parent: seen (parent rule). */
	snprintf(path, sizeof(path), "/local/domain/%u/data/secret", a);
	CHECK_EQ(dom0->ops->xs_mkdir(dom0, 0, path), 0);
	CHECK(next_event_is(ga, path, "abs"));
	CHECK_EQ(dom0->ops->xs_set_perms(dom0, 0, path, secret, 1), 0);
	CHECK(next_event_is(ga, path, "abs")); /* it could read it before */
	/* Below it, neither node nor parent is readable: not seen. */
	snprintf(path, sizeof(path), "/local/domain/%u/data/secret/inner", a);
	CHECK_EQ(xs_put(dom0, 0, path, "x"), 0);
	CHECK_EQ(drain_events(ga), 0);
	/* Losing access still reports the change that took it away. */
	snprintf(path, sizeof(path), "/local/domain/%u/data/secret/inner", a);
	CHECK_EQ(dom0->ops->xs_set_perms(dom0, 0, path, readable, 2), 0);
	CHECK(next_event_is(ga, path, "abs"));
	CHECK_EQ(dom0->ops->xs_set_perms(dom0, 0, path, secret, 1), 0);
	CHECK(next_event_is(ga, path, "abs"));
	CHECK_EQ(drain_events(ga), 0);

	/* Another guest's directory: no events to b. */
	snprintf(path, sizeof(path), "/local/domain/%u/data", a);
	CHECK_EQ(gb->ops->xs_watch(gb, path, "spy"), 0);
	CHECK_EQ(drain_events(gb), 1);
	CHECK_EQ(xs_put(ga, 0, "data/private", "p"), 0);
	CHECK_EQ(drain_events(gb), 0);
	CHECK_EQ(drain_events(ga), 1);

	/* Special watches: dom0 only, unless dom0 grants them. */
	CHECK_EQ(gb->ops->xs_watch(gb, "@releaseDomain", "rel"), 0);
	CHECK(next_event_is(gb, "@releaseDomain", "rel")); /* registration */
	CHECK_EQ(dom0->ops->xs_watch(dom0, "@releaseDomain", "rel0"), 0);
	CHECK(next_event_is(dom0, "@releaseDomain", "rel0"));
	CHECK_EQ(hv_sim_domain_set_shutdown(sim, a, true), 0);
	CHECK(next_event_is(dom0, "@releaseDomain", "rel0"));
	CHECK_EQ(drain_events(gb), 0);
	{
		struct hv_xs_perm grant[2] = { { 0, HV_XS_PERM_NONE }, { b, HV_XS_PERM_READ } };

		CHECK_EQ(dom0->ops->xs_set_perms(dom0, 0, "@releaseDomain", grant, 2), 0);
	}
	CHECK_EQ(hv_sim_domain_destroy(sim, a), 0);
	CHECK(next_event_is(gb, "@releaseDomain", "rel"));
	CHECK(next_event_is(dom0, "@releaseDomain", "rel0"));
	/* The destroyed guest's connection is cut off, its watches gone. */
	CHECK_EQ(ga->ops->xs_read_watch(ga, &ev_path, &ev_token), -ENOTCONN);
	CHECK_EQ(ga->ops->xs_watch(ga, "data", "late"), -ENOTCONN);
	CHECK_EQ(dom0->ops->xs_unwatch(dom0, "@releaseDomain", "rel0"), 0);

	hv_close(ga);
	hv_close(gb);
}

static void test_quota(void)
{
	struct hv_sim_config cfg;
	struct hv_sim *sim;
	struct hv *g, *dom0;
	char token[16];
	int i, ok = 0;

	hv_sim_config_defaults(&cfg);
	cfg.quiet = true;
	cfg.xs_quota_watches = 3;
	CHECK_EQ(hv_sim_new(&cfg, &sim), 0);
	g = test_open(sim, test_guest(sim, "wq", MIB_PAGES(16)));
	dom0 = test_open(sim, 0);
	for (i = 0; i < 6; i++) {
		snprintf(token, sizeof(token), "t%d", i);
		if (g->ops->xs_watch(g, "data", token) == 0)
			ok++;
	}
	CHECK_EQ(ok, 4); /* "more than 3" is checked before adding */
	CHECK_EQ(g->ops->xs_watch(g, "data", "again"), -E2BIG);
	CHECK_EQ(g->ops->xs_unwatch(g, "data", "t0"), 0);
	CHECK_EQ(g->ops->xs_watch(g, "data", "again"), 0);
	for (i = 0; i < 10; i++) { /* dom0 has no quota */
		snprintf(token, sizeof(token), "d%d", i);
		CHECK_EQ(dom0->ops->xs_watch(dom0, "/x", token), 0);
	}
	/* Many queued events, one fd: readable until the last one is read. */
	CHECK_EQ(drain_events(dom0), 10);
	for (i = 0; i < 5; i++)
		xs_put(dom0, 0, "/x", "v");
	CHECK(fd_readable(dom0));
	CHECK_EQ(drain_events(dom0), 50);
	CHECK(!fd_readable(dom0));
	hv_close(g);
	hv_close(dom0);
	hv_sim_free(sim);
}

int main(void)
{
	struct hv_sim *sim = test_sim(0);
	struct hv *dom0 = test_open(sim, 0);

	test_basics(dom0);
	test_permissions(sim, dom0);
	test_quota();
	CHECK_EQ(check_sim(sim), 0);
	hv_close(dom0);
	hv_sim_free(sim);
	return check_exit("test_sim_xs_watch");
}
