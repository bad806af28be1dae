/*
 * Sim xenstore transactions: private writes until commit, abort, snapshot
 * reads, -EAGAIN when something the transaction touched changed behind its
 * back (write, delete, create, new child; xenstored's own examples), no
 * conflict for changes before the first touch, rm and re-create inside a
 * transaction, watches firing at commit, unknown ids, the domU quota, and a
 * libxl-style retry loop.
 */
#include "sim_test.h"

static struct hv *dom0, *other;

static int start(struct hv *hv, hv_xs_txn *txn)
{
	return hv->ops->xs_txn_start(hv, txn);
}

static int commit(struct hv *hv, hv_xs_txn txn)
{
	return hv->ops->xs_txn_end(hv, txn, false);
}

static void test_isolation(void)
{
	hv_xs_txn t, t2;
	char **names;
	unsigned int n;

	CHECK_EQ(start(dom0, &t), 0);
	CHECK(t != HV_XS_NO_TXN);
	CHECK_EQ(xs_put(dom0, t, "/t/a", "1"), 0);
	CHECK_EQ(xs_read_err(dom0, 0, "/t/a"), -ENOENT);  /* invisible outside */
	CHECK_EQ(xs_read_err(other, 0, "/t/a"), -ENOENT); /* and to others */
	CHECK_EQ(xs_read_err(dom0, 0, "/t"), -ENOENT);	  /* implicit parent too */
	{
		char *v = xs_get(dom0, t, "/t/a");

		CHECK(v && !strcmp(v, "1")); /* visible inside */
		free(v);
	}
	CHECK_EQ(dom0->ops->xs_directory(dom0, t, "/t", &names, &n), 0);
	CHECK(n == 1 && !strcmp(names[0], "a"));
	free(names);
	CHECK_EQ(commit(dom0, t), 0);
	CHECK(xs_is(dom0, "/t/a", "1"));
	CHECK(xs_is(other, "/t/a", "1"));

	/* Abort throws everything away. */
	CHECK_EQ(start(dom0, &t), 0);
	CHECK_EQ(xs_put(dom0, t, "/t/b", "2"), 0);
	CHECK_EQ(dom0->ops->xs_rm(dom0, t, "/t/a"), 0);
	CHECK_EQ(dom0->ops->xs_txn_end(dom0, t, true), 0);
	CHECK_EQ(xs_read_err(dom0, 0, "/t/b"), -ENOENT);
	CHECK(xs_is(dom0, "/t/a", "1"));

	/* Snapshot: after its first read the transaction keeps its copy. */
	CHECK_EQ(start(dom0, &t), 0);
	CHECK(xs_is(dom0, "/t/a", "1"));
	{
		char *v = xs_get(dom0, t, "/t/a");

		CHECK(v && !strcmp(v, "1"));
		free(v);
	}
	CHECK_EQ(xs_put(other, 0, "/t/a", "changed"), 0);
	{
		char *v = xs_get(dom0, t, "/t/a");

		CHECK(v && !strcmp(v, "1"));
		free(v);
	}
	CHECK_EQ(commit(dom0, t), -EAGAIN);

	/* Unknown or finished ids. */
	CHECK_EQ(commit(dom0, t), -ENOENT);
	CHECK_EQ(commit(dom0, 12345), -ENOENT);
	CHECK_EQ(xs_read_err(dom0, 12345, "/t/a"), -ENOENT);
	CHECK_EQ(xs_put(dom0, 12345, "/t/a", "x"), -ENOENT);
	CHECK_EQ(commit(dom0, HV_XS_NO_TXN), -ENOENT);
	/* Another connection's transaction is not ours. */
	CHECK_EQ(start(other, &t2), 0);
	CHECK_EQ(commit(dom0, t2), -ENOENT);
	CHECK_EQ(xs_put(dom0, t2, "/t/x", "x"), -ENOENT);
	CHECK_EQ(commit(other, t2), 0);
}

static void test_conflicts(void)
{
	hv_xs_txn t, t1, t2;
	char **names;
	unsigned int n;

	CHECK_EQ(xs_put(dom0, 0, "/c/x", "0"), 0);

	/* Read, conflicting write outside, write elsewhere: EAGAIN, nothing applied. */
	CHECK_EQ(start(dom0, &t), 0);
	free(xs_get(dom0, t, "/c/x"));
	CHECK_EQ(xs_put(other, 0, "/c/x", "1"), 0);
	CHECK_EQ(xs_put(dom0, t, "/c/y", "y"), 0);
	CHECK_EQ(commit(dom0, t), -EAGAIN);
	CHECK_EQ(xs_read_err(dom0, 0, "/c/y"), -ENOENT);

	/* Deleted behind its back. */
	CHECK_EQ(start(dom0, &t), 0);
	free(xs_get(dom0, t, "/c/x"));
	CHECK_EQ(other->ops->xs_rm(other, 0, "/c/x"), 0);
	CHECK_EQ(commit(dom0, t), -EAGAIN);

	/* Created behind its back (it saw "absent"). */
	CHECK_EQ(start(dom0, &t), 0);
	CHECK_EQ(xs_read_err(dom0, t, "/c/x"), -ENOENT);
	CHECK_EQ(xs_put(other, 0, "/c/x", "new"), 0);
	CHECK_EQ(commit(dom0, t), -EAGAIN);

	/* A blind write still read the node first: a concurrent write conflicts. */
	CHECK_EQ(start(dom0, &t), 0);
	CHECK_EQ(xs_put(dom0, t, "/c/w", "mine"), 0);
	CHECK_EQ(xs_put(other, 0, "/c/w", "theirs"), 0);
	CHECK_EQ(commit(dom0, t), -EAGAIN);
	CHECK(xs_is(dom0, "/c/w", "theirs"));

	/* A new child changes the listed parent. */
	CHECK_EQ(start(dom0, &t), 0);
	CHECK_EQ(dom0->ops->xs_directory(dom0, t, "/c", &names, &n), 0);
	free(names);
	CHECK_EQ(xs_put(other, 0, "/c/z", "z"), 0);
	CHECK_EQ(commit(dom0, t), -EAGAIN);

	/* Changes before the first touch are just the state it sees. */
	CHECK_EQ(start(dom0, &t), 0);
	CHECK_EQ(xs_put(other, 0, "/c/x", "before"), 0);
	CHECK_EQ(xs_read_err(dom0, t, "/c/x"), 0);
	CHECK_EQ(xs_put(dom0, t, "/c/x", "after"), 0);
	CHECK_EQ(commit(dom0, t), 0);
	CHECK(xs_is(dom0, "/c/x", "after"));

	/* xenstored's example 4: two interfering transactions. */
	CHECK_EQ(xs_put(dom0, 0, "/c/A", "a"), 0);
	CHECK_EQ(xs_put(dom0, 0, "/c/B", "b"), 0);
	CHECK_EQ(start(dom0, &t1), 0);
	CHECK_EQ(start(other, &t2), 0);
	free(xs_get(dom0, t1, "/c/A"));
	free(xs_get(other, t2, "/c/B"));
	CHECK_EQ(xs_put(dom0, t1, "/c/B", "1"), 0);
	CHECK_EQ(xs_put(other, t2, "/c/A", "2"), 0);
	CHECK_EQ(commit(dom0, t1), 0);
	CHECK_EQ(commit(other, t2), -EAGAIN);
	CHECK(xs_is(dom0, "/c/B", "1") && xs_is(dom0, "/c/A", "a"));

	/* Non-overlapping transactions both commit. */
	CHECK_EQ(start(dom0, &t1), 0);
	CHECK_EQ(start(other, &t2), 0);
	CHECK_EQ(xs_put(dom0, t1, "/c/A", "t1"), 0);
	CHECK_EQ(xs_put(other, t2, "/c/B", "t2"), 0);
	CHECK_EQ(commit(dom0, t1), 0);
	CHECK_EQ(commit(other, t2), 0);
	CHECK(xs_is(dom0, "/c/A", "t1") && xs_is(dom0, "/c/B", "t2"));
}

static void test_tree_ops(void)
{
	struct hv_xs_perm perms[2] = { { 0, HV_XS_PERM_NONE }, { 5, HV_XS_PERM_READ } };
	struct hv_xs_perm *got = NULL;
	hv_xs_txn t;
	char **names;
	unsigned int n = 0;

	CHECK_EQ(xs_put(dom0, 0, "/r/c1", "1"), 0);
	CHECK_EQ(xs_put(dom0, 0, "/r/c2/deep", "2"), 0);

	/* rm a subtree, then write under the same name, in one transaction. */
	CHECK_EQ(start(dom0, &t), 0);
	CHECK_EQ(dom0->ops->xs_rm(dom0, t, "/r"), 0);
	CHECK_EQ(xs_read_err(dom0, t, "/r/c1"), -ENOENT);
	CHECK(xs_is(dom0, "/r/c1", "1"));
	CHECK_EQ(xs_put(dom0, t, "/r/new", "n"), 0);
	CHECK_EQ(dom0->ops->xs_mkdir(dom0, t, "/r/dir"), 0);
	CHECK_EQ(dom0->ops->xs_set_perms(dom0, t, "/r/dir", perms, 2), 0);
	CHECK_EQ(dom0->ops->xs_get_perms(dom0, t, "/r/dir", &got, &n), 0);
	CHECK(n == 2 && got[1].domid == 5);
	free(got);
	CHECK_EQ(dom0->ops->xs_get_perms(dom0, 0, "/r/dir", &got, &n), -ENOENT);
	CHECK_EQ(commit(dom0, t), 0);
	CHECK_EQ(dom0->ops->xs_directory(dom0, 0, "/r", &names, &n), 0);
	CHECK_EQ(n, 2);
	if (n == 2) {
		CHECK_STREQ(names[0], "new");
		CHECK_STREQ(names[1], "dir");
	}
	free(names);
	CHECK_EQ(xs_read_err(dom0, 0, "/r/c2/deep"), -ENOENT);
	CHECK_EQ(dom0->ops->xs_get_perms(dom0, 0, "/r/dir", &got, &n), 0);
	CHECK(n == 2 && got[1].domid == 5);
	free(got);

	/* Implicit parents created in a transaction land too. */
	CHECK_EQ(start(dom0, &t), 0);
	CHECK_EQ(xs_put(dom0, t, "/deep/a/b/c", "v"), 0);
	CHECK_EQ(commit(dom0, t), 0);
	CHECK(xs_is(dom0, "/deep/a/b/c", "v") && xs_is(dom0, "/deep/a", ""));
}

static void test_watches_at_commit(void)
{
	hv_xs_txn t;

	CHECK_EQ(other->ops->xs_watch(other, "/wt", "w"), 0);
	CHECK_EQ(drain_events(other), 1);
	CHECK_EQ(start(dom0, &t), 0);
	CHECK_EQ(xs_put(dom0, t, "/wt/a", "1"), 0);
	CHECK_EQ(xs_put(dom0, t, "/wt/b", "2"), 0);
	CHECK(!fd_readable(other));
	CHECK_EQ(drain_events(other), 0);
	CHECK_EQ(commit(dom0, t), 0);
	CHECK(fd_readable(other));
	CHECK(next_event_is(other, "/wt/a", "w"));
	CHECK(next_event_is(other, "/wt/b", "w"));
	CHECK_EQ(drain_events(other), 0);

	/* Aborted or conflicting: nothing fires. */
	CHECK_EQ(start(dom0, &t), 0);
	CHECK_EQ(xs_put(dom0, t, "/wt/c", "3"), 0);
	CHECK_EQ(dom0->ops->xs_txn_end(dom0, t, true), 0);
	CHECK_EQ(drain_events(other), 0);

	/* rm in a transaction: the root (and exact watches below) at commit. */
	CHECK_EQ(start(dom0, &t), 0);
	CHECK_EQ(dom0->ops->xs_rm(dom0, t, "/wt"), 0);
	CHECK_EQ(drain_events(other), 0);
	CHECK_EQ(commit(dom0, t), 0);
	CHECK(next_event_is(other, "/wt", "w"));
	CHECK_EQ(drain_events(other), 0);
	CHECK_EQ(other->ops->xs_unwatch(other, "/wt", "w"), 0);
}

/* The libxl pattern: retry the whole transaction on EAGAIN. */
static void test_retry_loop(void)
{
	int attempts = 0, r;
	hv_xs_txn t;

	CHECK_EQ(xs_put(dom0, 0, "/retry/count", "0"), 0);
	do {
		char *v;
		char next[16];

		attempts++;
		CHECK_EQ(start(dom0, &t), 0);
		v = xs_get(dom0, t, "/retry/count");
		snprintf(next, sizeof(next), "%d", v ? atoi(v) + 1 : -1);
		free(v);
		if (attempts == 1)
			xs_put(other, 0, "/retry/count", "10"); /* a racing writer, once */
		CHECK_EQ(xs_put(dom0, t, "/retry/count", next), 0);
		r = commit(dom0, t);
	} while (r == -EAGAIN && attempts < 5);
	CHECK_EQ(r, 0);
	CHECK_EQ(attempts, 2);
	CHECK(xs_is(dom0, "/retry/count", "11"));
}

static void test_domu_quota(struct hv_sim *sim)
{
	uint32_t domid = test_guest(sim, "txq", MIB_PAGES(16));
	struct hv *g = test_open(sim, domid);
	hv_xs_txn t[12];
	int i, ok = 0;

	/* xenstored checks "more than 10 open" before adding: 11 fit. */
	for (i = 0; i < 12; i++)
		if (start(g, &t[i]) == 0)
			ok++;
	CHECK_EQ(ok, 11);
	CHECK_EQ(start(g, &t[11]), -ENOSPC);
	/* A guest transaction on its own data. */
	CHECK_EQ(xs_put(g, t[0], "data/tx", "1"), 0);
	CHECK_EQ(commit(g, t[0]), 0);
	CHECK(xs_is(g, "data/tx", "1"));
	CHECK_EQ(xs_put(g, t[1], "memory/target", "1"), -EACCES);
	/* Closing the connection aborts the rest (ASan checks nothing leaks). */
	hv_close(g);
}

int main(void)
{
	struct hv_sim *sim = test_sim(0);
	struct hv_sim_stats stats;

	dom0 = test_open(sim, 0);
	other = test_open(sim, 0);
	test_isolation();
	test_conflicts();
	hv_sim_get_stats(sim, &stats);
	CHECK_EQ(stats.xs_txn_conflicts, 7);
	test_tree_ops();
	test_watches_at_commit();
	test_retry_loop();
	test_domu_quota(sim);
	CHECK_EQ(check_sim(sim), 0);
	hv_close(other);
	hv_close(dom0);
	hv_sim_free(sim);
	return check_exit("test_sim_xs_txn");
}
