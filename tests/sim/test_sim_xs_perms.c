/*
 * Sim xenstore: the tree (implicit parents, mkdir, recursive rm, directory
 * order), limits (E2BIG, invalid paths), xenstored's permission rules
 * (owner and dom0 see all, perms[0] is everyone's default, EACCES rather
 * than ENOENT under an unreadable parent, inheritance with the unprivileged
 * creator as owner, set_perms by owner only, owner change EPERM), relative
 * paths, and the domU quotas (nodes, permission entries, record size).
 */
#include "sim_test.h"

static void test_tree(struct hv *dom0)
{
	char **names = NULL, big[4097];
	unsigned int count = 0;
	size_t len = 0;
	char *value = NULL;

	CHECK_EQ(xs_read_err(dom0, 0, "/t/a"), -ENOENT);
	CHECK_EQ(xs_put(dom0, 0, "/t/a/b/c", "leaf"), 0);
	CHECK(xs_is(dom0, "/t/a/b/c", "leaf"));
	CHECK(xs_is(dom0, "/t/a", "")); /* implicit parents, empty */
	CHECK(xs_is(dom0, "/t/a/b", ""));
	/* Values are bytes with a length; reads add a NUL. */
	CHECK_EQ(dom0->ops->xs_write(dom0, 0, "/t/bin", "x\0y", 3), 0);
	CHECK_EQ(dom0->ops->xs_read(dom0, 0, "/t/bin", &value, &len), 0);
	CHECK_EQ(len, 3);
	CHECK(value && !memcmp(value, "x\0y", 4));
	free(value);
	CHECK_EQ(dom0->ops->xs_write(dom0, 0, "/t/empty", NULL, 0), 0);
	CHECK(xs_is(dom0, "/t/empty", ""));

	/* mkdir: creates, and existing is fine (value kept). */
	CHECK_EQ(dom0->ops->xs_mkdir(dom0, 0, "/t/dir/sub"), 0);
	CHECK_EQ(dom0->ops->xs_mkdir(dom0, 0, "/t/a/b/c"), 0);
	CHECK(xs_is(dom0, "/t/a/b/c", "leaf"));

	/* directory in creation order. */
	CHECK_EQ(xs_put(dom0, 0, "/t/order/z", "1"), 0);
	CHECK_EQ(xs_put(dom0, 0, "/t/order/a", "2"), 0);
	CHECK_EQ(xs_put(dom0, 0, "/t/order/m", "3"), 0);
	CHECK_EQ(dom0->ops->xs_directory(dom0, 0, "/t/order", &names, &count), 0);
	CHECK_EQ(count, 3);
	if (count == 3) {
		CHECK_STREQ(names[0], "z");
		CHECK_STREQ(names[1], "a");
		CHECK_STREQ(names[2], "m");
	}
	free(names);
	CHECK_EQ(dom0->ops->xs_directory(dom0, 0, "/t/empty", &names, &count), 0);
	CHECK_EQ(count, 0);
	free(names);
	CHECK_EQ(dom0->ops->xs_directory(dom0, 0, "/t/none", &names, &count), -ENOENT);

	/* rm: recursive; missing with a parent is fine; without one not. */
	CHECK_EQ(dom0->ops->xs_rm(dom0, 0, "/t/a"), 0);
	CHECK_EQ(xs_read_err(dom0, 0, "/t/a/b/c"), -ENOENT);
	CHECK_EQ(xs_read_err(dom0, 0, "/t/a"), -ENOENT);
	CHECK_EQ(dom0->ops->xs_rm(dom0, 0, "/t/a"), 0);
	CHECK_EQ(dom0->ops->xs_rm(dom0, 0, "/t/a/b"), -ENOENT);
	CHECK_EQ(dom0->ops->xs_rm(dom0, 0, "/"), -EINVAL);

	/* Payload limit: path + NUL + value <= 4096. */
	memset(big, 'v', sizeof(big));
	CHECK_EQ(dom0->ops->xs_write(dom0, 0, "/t/big", big, 4096 - strlen("/t/big") - 1), 0);
	CHECK_EQ(dom0->ops->xs_write(dom0, 0, "/t/big", big, 4096 - strlen("/t/big")), -E2BIG);

	/* Malformed paths. */
	CHECK_EQ(xs_put(dom0, 0, "/t//x", "1"), -EINVAL);
	CHECK_EQ(xs_put(dom0, 0, "/t/x/", "1"), -EINVAL);
	CHECK_EQ(xs_put(dom0, 0, "/t/x y", "1"), -EINVAL);
	CHECK_EQ(xs_put(dom0, 0, "/t/ü", "1"), -EINVAL);
	CHECK_EQ(xs_put(dom0, 0, "", "1"), -EINVAL);
	CHECK_EQ(xs_put(dom0, 0, NULL, "1"), -EINVAL);
	CHECK_EQ(xs_read_err(dom0, 0, "/t/./x"), -EINVAL);
	CHECK_EQ(xs_put(dom0, 0, "/t/ok-_@9", "1"), 0);
	memcpy(big, "/t/", 3);
	memset(big + 3, 'p', 3100);
	big[3103] = '\0';
	CHECK_EQ(xs_read_err(dom0, 0, big), -EINVAL); /* over 3072 bytes */

	/* Relative paths of dom0 hang off /local/domain/0. */
	CHECK_EQ(xs_put(dom0, 0, "rel/x", "r"), 0);
	CHECK(xs_is(dom0, "/local/domain/0/rel/x", "r"));
	CHECK_EQ(dom0->ops->xs_domain_path(dom0, 7, &value), 0);
	CHECK_STREQ(value, "/local/domain/7");
	free(value);
}

static void check_perms(struct hv *hv, const char *path, uint32_t owner,
			enum hv_xs_perm_kind others, unsigned int nr_want)
{
	struct hv_xs_perm *perms = NULL;
	unsigned int nr = 0;

	CHECK_EQ(hv->ops->xs_get_perms(hv, 0, path, &perms, &nr), 0);
	CHECK_EQ(nr, nr_want);
	if (nr) {
		CHECK_EQ(perms[0].domid, owner);
		CHECK_EQ(perms[0].perm, others);
	}
	free(perms);
}

static void test_perms(struct hv_sim *sim, struct hv *dom0)
{
	uint32_t a = test_guest(sim, "a", MIB_PAGES(16));
	uint32_t b = test_guest(sim, "b", MIB_PAGES(16));
	struct hv *ga = test_open(sim, a), *gb = test_open(sim, b);
	struct hv_xs_perm grant_b[2] = { { a, HV_XS_PERM_NONE }, { b, HV_XS_PERM_READ } };
	struct hv_xs_perm six[6];
	struct hv_xs_perm shared[1] = { { 0, HV_XS_PERM_BOTH } };
	struct hv_xs_perm *perms = NULL;
	char **names = NULL;
	unsigned int nr = 0, i;

	/* Its own domain directory: readable, mostly not writable. */
	CHECK(xs_is(ga, "/local/domain/1/name", "a"));
	CHECK(xs_is(ga, "name", "a")); /* relative to /local/domain/1 */
	CHECK(xs_is(ga, "memory/target", "16384"));
	CHECK_EQ(xs_put(ga, 0, "name", "evil"), -EACCES);
	CHECK_EQ(xs_put(ga, 0, "memory/target", "1"), -EACCES);
	CHECK_EQ(xs_put(ga, 0, "memory/new", "1"), -EACCES);
	CHECK_EQ(xs_read_err(ga, 0, "nothere"), -ENOENT); /* the parent is readable */
	CHECK_EQ(ga->ops->xs_directory(ga, 0, "", &names, &nr), -EINVAL);
	CHECK_EQ(ga->ops->xs_directory(ga, 0, "/local/domain/1", &names, &nr), 0);
	CHECK(nr > 10);
	free(names);

	/* The guest-writable dirs libxl makes: data/, control/shutdown, ... */
	CHECK_EQ(xs_put(ga, 0, "data/x", "1"), 0);
	CHECK_EQ(xs_put(ga, 0, "control/shutdown", "poweroff"), 0);
	CHECK_EQ(xs_put(ga, 0, "device/suspend/event-channel", "7"), 0);
	check_perms(dom0, "/local/domain/1/data/x", a, HV_XS_PERM_NONE, 1);
	CHECK_EQ(xs_put(ga, 0, "device/vif", "1"), -EACCES); /* device/ itself is read-only */

	/* Other domains' and dom0's nodes: EACCES, even for missing ones. */
	CHECK_EQ(xs_read_err(gb, 0, "/local/domain/1/data/x"), -EACCES);
	CHECK_EQ(xs_read_err(gb, 0, "/local/domain/1/data/none"), -EACCES);
	CHECK_EQ(xs_read_err(ga, 0, "/local/domain/0/name"), -EACCES);
	CHECK_EQ(xs_read_err(ga, 0, "/local/domain/0/none/deeper"), -EACCES);
	CHECK_EQ(xs_read_err(ga, 0, "/local/domain/99/x"), -EACCES); /* /local/domain: dom0's */
	CHECK_EQ(xs_put(gb, 0, "/local/domain/1/data/y", "1"), -EACCES);
	CHECK_EQ(gb->ops->xs_rm(gb, 0, "/local/domain/1/data/x"), -EACCES);
	CHECK_EQ(gb->ops->xs_get_perms(gb, 0, "/local/domain/1/data/x", &perms, &nr), -EACCES);

	/* An explicit entry for b, set by the owner. */
	CHECK_EQ(ga->ops->xs_set_perms(ga, 0, "data/x", grant_b, 2), 0);
	CHECK(xs_is(gb, "/local/domain/1/data/x", "1"));
	CHECK_EQ(xs_put(gb, 0, "/local/domain/1/data/x", "2"), -EACCES);
	/* Only the owner (or dom0) may set perms; a domU can't give nodes away. */
	CHECK_EQ(gb->ops->xs_set_perms(gb, 0, "/local/domain/1/data/x", grant_b, 2), -EACCES);
	grant_b[0].domid = b;
	CHECK_EQ(ga->ops->xs_set_perms(ga, 0, "data/x", grant_b, 2), -EPERM);
	grant_b[0].domid = a;
	CHECK_EQ(ga->ops->xs_set_perms(ga, 0, "name", grant_b, 2), -EACCES);
	CHECK_EQ(dom0->ops->xs_set_perms(dom0, 0, "/local/domain/1/data/x", shared, 1), 0);
	check_perms(ga, "/local/domain/1/data/x", 0, HV_XS_PERM_BOTH, 1);
	/* Bad arguments. */
	CHECK_EQ(ga->ops->xs_set_perms(ga, 0, "data/x", grant_b, 0), -EINVAL);
	six[0] = (struct hv_xs_perm){ a, (enum hv_xs_perm_kind)7 };
	CHECK_EQ(ga->ops->xs_set_perms(ga, 0, "data", six, 1), -EINVAL);
	/* At most 5 entries from a domU; dom0 is not limited. */
	for (i = 0; i < 6; i++)
		six[i] = (struct hv_xs_perm){ i ? 10 + i : a, HV_XS_PERM_READ };
	CHECK_EQ(ga->ops->xs_set_perms(ga, 0, "data", six, 6), -ENOSPC);
	CHECK_EQ(ga->ops->xs_set_perms(ga, 0, "data", six, 5), 0);
	CHECK_EQ(dom0->ops->xs_set_perms(dom0, 0, "/local/domain/1/data", six, 6), 0);
	check_perms(ga, "data", a, HV_XS_PERM_READ, 6);

	/* Inheritance: a domU creating under a node it may write owns the result. */
	CHECK_EQ(dom0->ops->xs_mkdir(dom0, 0, "/shared"), 0);
	CHECK_EQ(dom0->ops->xs_set_perms(dom0, 0, "/shared", shared, 1), 0);
	CHECK_EQ(xs_put(gb, 0, "/shared/b/deep", "x"), 0);
	check_perms(dom0, "/shared/b", b, HV_XS_PERM_BOTH, 1);
	check_perms(dom0, "/shared/b/deep", b, HV_XS_PERM_BOTH, 1);
	/* dom0 creating keeps the inherited owner. */
	CHECK_EQ(xs_put(dom0, 0, "/shared/b/from0", "x"), 0);
	check_perms(dom0, "/shared/b/from0", b, HV_XS_PERM_BOTH, 1);
	CHECK_EQ(xs_put(dom0, 0, "/local/domain/2/data/z", "x"), 0);
	check_perms(dom0, "/local/domain/2/data/z", b, HV_XS_PERM_NONE, 1);

	/* Special nodes: only get/set_perms. */
	check_perms(ga, "@releaseDomain", 0, HV_XS_PERM_NONE, 1);
	CHECK_EQ(ga->ops->xs_set_perms(ga, 0, "@releaseDomain", shared, 1), -EACCES);
	CHECK_EQ(ga->ops->xs_set_perms(ga, 0, "@bogus", shared, 1), -EINVAL);

	hv_close(ga);
	hv_close(gb);
}

static void test_quotas(void)
{
	struct hv_sim_config cfg;
	struct hv_sim *sim;
	struct hv *dom0, *g;
	uint32_t domid;
	char path[64], value[2100];
	int i, made = 0;

	hv_sim_config_defaults(&cfg);
	cfg.quiet = true;
	cfg.xs_quota_nodes = 20;
	CHECK_EQ(hv_sim_new(&cfg, &sim), 0);
	dom0 = test_open(sim, 0);
	domid = test_guest(sim, "q", MIB_PAGES(16));
	g = test_open(sim, domid);

	/* The guest owns 11 nodes libxl made for it; 9 more fit. */
	for (i = 0; i < 30; i++) {
		snprintf(path, sizeof(path), "data/n%d", i);
		if (xs_put(g, 0, path, "v") < 0)
			break;
		made++;
	}
	CHECK_EQ(made, 9);
	CHECK_EQ(xs_put(g, 0, "data/one-more", "v"), -ENOSPC);
	CHECK_EQ(xs_put(g, 0, "data/n0", "rewrite"), 0); /* no new node */
	/* A write needing two new nodes is refused as a whole. */
	CHECK_EQ(g->ops->xs_rm(g, 0, "data/n0"), 0);
	CHECK_EQ(xs_put(g, 0, "data/p/q", "v"), -ENOSPC);
	CHECK_EQ(xs_read_err(g, 0, "data/p"), -ENOENT);
	CHECK_EQ(xs_put(g, 0, "data/p", "v"), 0);
	/* dom0 is never limited, even creating nodes the guest owns. */
	CHECK_EQ(xs_put(dom0, 0, "/local/domain/1/data/more", "v"), 0);

	/* Record size: 2048 bytes for a domU. */
	memset(value, 'x', sizeof(value));
	CHECK_EQ(g->ops->xs_write(g, 0, "data/p", value, 2000), 0);
	CHECK_EQ(g->ops->xs_write(g, 0, "data/p", value, 2030), -ENOSPC);
	CHECK_EQ(dom0->ops->xs_write(dom0, 0, "/local/domain/1/data/p", value, 2090), 0);

	CHECK_EQ(check_sim(sim), 0);
	hv_close(g);
	hv_close(dom0);
	hv_sim_free(sim);
}

int main(void)
{
	struct hv_sim *sim = test_sim(0);
	struct hv *dom0 = test_open(sim, 0);

	test_tree(dom0);
	test_perms(sim, dom0);
	CHECK_EQ(check_sim(sim), 0);
	hv_close(dom0);
	hv_sim_free(sim);
	test_quotas();
	return check_exit("test_sim_xs_perms");
}
