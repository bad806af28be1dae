/*
 * Sim domains: the host frame pool and physinfo, dom0, guest creation as xl
 * leaves it (boot RAM at 0x40000000 in the largest extents, max_pages, the
 * default P2M pool, the xenstore nodes libxl writes and their permissions),
 * domid allocation, destruction giving everything back, dying/shutdown, and
 * Xen's max_pages rules (KiB, may go below tot_pages, per-extent refusal).
 */
#include "sim_test.h"

static void test_config_and_dom0(void)
{
	struct hv_sim_config cfg;
	struct hv_domain_info info;
	struct hv_physinfo pi;
	struct hv_sim *sim;
	struct hv *dom0;

	hv_sim_config_defaults(&cfg);
	CHECK_EQ(cfg.host_pages, GIB_PAGES(24));
	CHECK_EQ(cfg.dom0_pages, MIB_PAGES(768));
	CHECK_EQ(cfg.max_extent_order, 18);
	CHECK_EQ(cfg.domu_max_extent_order, 9);
	CHECK_EQ(cfg.xs_quota_nodes, 1000);

	/* Zero fields take defaults. */
	cfg = (struct hv_sim_config){ .host_pages = GIB_PAGES(2), .quiet = true };
	CHECK_EQ(hv_sim_new(&cfg, &sim), 0);
	dom0 = test_open(sim, 0);
	CHECK_STREQ(dom0->ops->name, "sim");
	CHECK_EQ(dom0->ops->physinfo(dom0, &pi), 0);
	CHECK_EQ(pi.total_pages, GIB_PAGES(2));
	/* dom0: 768 MiB of RAM plus libxl's pool formula 4 * (256 + 2 * 768) KiB. */
	CHECK_EQ(pi.free_pages, GIB_PAGES(2) - MIB_PAGES(768) - (256 + 2 * 768));
	CHECK_EQ(dom0->ops->domain_info(dom0, 0, &info), 0);
	CHECK_EQ(info.domid, 0);
	CHECK_EQ(info.tot_pages, MIB_PAGES(768));
	CHECK_EQ(info.max_pages, MIB_PAGES(768));
	CHECK(!info.dying && !info.shutdown);
	CHECK(xs_is(dom0, "/local/domain/0/name", "Domain-0"));
	CHECK(xs_is(dom0, "/local/domain/0/domid", "0"));
	CHECK_EQ(hv_sim_domain_destroy(sim, 0), -EPERM);
	CHECK_EQ(hv_sim_domain_set_dying(sim, 0, true), -EPERM);
	CHECK_EQ(check_sim(sim), 0);
	hv_close(dom0);
	hv_sim_free(sim);

	/* A host too small for dom0 is refused. */
	cfg = (struct hv_sim_config){ .host_pages = MIB_PAGES(512), .quiet = true };
	sim = NULL;
	CHECK_EQ(hv_sim_new(&cfg, &sim), -EINVAL);
	CHECK(sim == NULL);
	hv_sim_new(NULL, &sim); /* NULL config: all defaults */
	CHECK(sim != NULL);
	hv_sim_free(sim);
	hv_sim_free(NULL);
}

static void test_create(void)
{
	struct hv_sim *sim = test_sim(0);
	struct hv *dom0 = test_open(sim, 0);
	struct hv_sim_domain_params params = { .name = "guest1", .boot_pages = MIB_PAGES(256) };
	struct hv_xs_perm *perms = NULL;
	unsigned int nr = 0;
	struct hv_domain_info info;
	uint64_t free0 = free_pages(dom0), pool = 0;
	uint32_t domid = 99, other;

	CHECK_EQ(hv_sim_domain_create(sim, &params, &domid), 0);
	CHECK_EQ(domid, 1);
	CHECK_EQ(dom0->ops->domain_info(dom0, domid, &info), 0);
	CHECK_EQ(info.tot_pages, MIB_PAGES(256));
	CHECK_EQ(info.max_pages, MIB_PAGES(256));
	CHECK_EQ(dom0->ops->get_p2m_pool(dom0, domid, &pool), 0);
	CHECK_EQ(pool, (uint64_t)4 * (256 + 2 * 256) * 1024); /* libxl default, bytes */
	CHECK_EQ(free_pages(dom0), free0 - MIB_PAGES(256) - pool / 4096);

	/* Boot RAM: bank 0 at 0x40000000, 2 MiB extents (256 MiB < 1 GiB). */
	CHECK_EQ(populated_order(sim, domid, HV_SIM_RAM0_GFN), 9);
	CHECK_EQ(populated_order(sim, domid, HV_SIM_RAM0_GFN + MIB_PAGES(256) - 1), 9);
	CHECK_EQ(populated_order(sim, domid, HV_SIM_RAM0_GFN + MIB_PAGES(256)), -1);
	CHECK_EQ(populated_order(sim, domid, HV_SIM_RAM0_GFN - 1), -1);
	CHECK_EQ(dstats(sim, domid).l2_tables, 1);
	CHECK_EQ(dstats(sim, domid).l3_tables, 0);
	CHECK_EQ(dstats(sim, domid).pool_used_pages, 1);

	/* The xenstore nodes libxl writes. */
	CHECK(xs_is(dom0, "/local/domain/1/name", "guest1"));
	CHECK(xs_is(dom0, "/local/domain/1/domid", "1"));
	CHECK(xs_is(dom0, "/local/domain/1/memory/target", "262144"));
	CHECK(xs_is(dom0, "/local/domain/1/memory/static-max", "262144"));
	CHECK(xs_is(dom0, "/local/domain/1/memory/videoram", "0"));
	CHECK(xs_is(dom0, "/local/domain/1/cpu/0/availability", "online"));
	CHECK(xs_is(dom0, "/local/domain/1/control/platform-feature-xs_reset_watches", "1"));
	CHECK_EQ(dom0->ops->xs_get_perms(dom0, 0, "/local/domain/1", &perms, &nr), 0);
	CHECK_EQ(nr, 2);
	if (nr == 2) {
		CHECK_EQ(perms[0].domid, 0);
		CHECK_EQ(perms[0].perm, HV_XS_PERM_NONE);
		CHECK_EQ(perms[1].domid, 1);
		CHECK_EQ(perms[1].perm, HV_XS_PERM_READ);
	}
	free(perms);
	CHECK_EQ(dom0->ops->xs_get_perms(dom0, 0, "/local/domain/1/memory/target", &perms, &nr), 0);
	CHECK(nr == 2 && perms[0].domid == 0 && perms[1].domid == 1);
	free(perms);
	CHECK_EQ(dom0->ops->xs_get_perms(dom0, 0, "/local/domain/1/data", &perms, &nr), 0);
	CHECK(nr == 1 && perms[0].domid == 1 && perms[0].perm == HV_XS_PERM_NONE);
	free(perms);
	CHECK_EQ(dom0->ops->xs_get_perms(dom0, 0, "/local/domain/1/control/shutdown", &perms, &nr),
		 0);
	CHECK(nr == 1 && perms[0].domid == 1);
	free(perms);
	CHECK_EQ(dom0->ops->xs_get_perms(dom0, 0, "/local/domain/1/device/suspend/event-channel",
					 &perms, &nr),
		 0);
	CHECK(nr == 1 && perms[0].domid == 1);
	free(perms);

	/* Names are unique; lookups by name. */
	CHECK_EQ(hv_sim_domain_by_name(sim, "guest1", &other), 0);
	CHECK_EQ(other, 1);
	CHECK_EQ(hv_sim_domain_by_name(sim, "Domain-0", &other), 0);
	CHECK_EQ(other, 0);
	CHECK_EQ(hv_sim_domain_by_name(sim, "nope", &other), -ESRCH);
	CHECK_EQ(hv_sim_domain_create(sim, &params, &other), -EEXIST);

	/* Bad parameters. */
	params.name = NULL;
	CHECK_EQ(hv_sim_domain_create(sim, &params, &other), -EINVAL);
	params.name = "";
	CHECK_EQ(hv_sim_domain_create(sim, &params, &other), -EINVAL);
	CHECK_EQ(hv_sim_domain_create(sim, NULL, &other), -EINVAL);
	params.name = "huge";
	params.boot_pages = HV_SIM_RAM0_PAGES + HV_SIM_RAM1_PAGES + 1;
	CHECK_EQ(hv_sim_domain_create(sim, &params, &other), -EINVAL);

	/* xl's slack on max_pages, and more vcpus in the default pool. */
	params = (struct hv_sim_domain_params){ .name = "slack",
						.boot_pages = MIB_PAGES(64),
						.vcpus = 2,
						.max_slack_kib = HV_SIM_LIBXL_MAXMEM_SLACK_KIB };
	CHECK_EQ(hv_sim_domain_create(sim, &params, &other), 0);
	CHECK_EQ(dom0->ops->domain_info(dom0, other, &info), 0);
	CHECK_EQ(info.max_pages, MIB_PAGES(64) + 256); /* "65792" for 256 MiB in the lab */
	CHECK_EQ(dstats(sim, other).pool_pages, 4 * (256 * 2 + 2 * 64) / 4);
	CHECK(xs_is(dom0, "/local/domain/2/cpu/1/availability", "online"));

	/* Over 3 GiB: bank 0 in 1 GiB extents, the rest in bank 1. */
	params = (struct hv_sim_domain_params){ .name = "big",
						.boot_pages = GIB_PAGES(3) + MIB_PAGES(2) + 1 };
	CHECK_EQ(hv_sim_domain_create(sim, &params, &other), 0);
	CHECK_EQ(populated_order(sim, other, HV_SIM_RAM0_GFN), 18);
	CHECK_EQ(populated_order(sim, other, HV_SIM_RAM0_GFN + HV_SIM_RAM0_PAGES - 1), 18);
	CHECK_EQ(populated_order(sim, other, HV_SIM_RAM1_GFN), 9);
	CHECK_EQ(populated_order(sim, other, HV_SIM_RAM1_GFN + 512), 0);
	CHECK_EQ(populated_order(sim, other, HV_SIM_RAM1_GFN + 513), -1);
	CHECK_EQ(dstats(sim, other).tot_pages, GIB_PAGES(3) + MIB_PAGES(2) + 1);
	/* 3 L1 blocks, one L2 for bank 1's region and one L3 for the last page. */
	CHECK_EQ(dstats(sim, other).l2_tables, 1);
	CHECK_EQ(dstats(sim, other).l3_tables, 1);

	/* Explicit pool; a pool too small for the boot RAM fails cleanly. */
	params = (struct hv_sim_domain_params){ .name = "pool",
						.boot_pages = MIB_PAGES(4) + 1,
						.pool_pages = 3 };
	CHECK_EQ(hv_sim_domain_create(sim, &params, &other), 0);
	CHECK_EQ(dstats(sim, other).pool_used_pages, 2);
	params.name = "nopool";
	params.pool_pages = 1;
	free0 = free_pages(dom0);
	CHECK_EQ(hv_sim_domain_create(sim, &params, &other), -ENOMEM);
	CHECK_EQ(free_pages(dom0), free0);
	CHECK_EQ(hv_sim_domain_by_name(sim, "nopool", &other), -ESRCH);

	/* Host too small: nothing left behind. */
	params = (struct hv_sim_domain_params){ .name = "toobig", .boot_pages = free0 };
	CHECK_EQ(hv_sim_domain_create(sim, &params, &other), -ENOMEM);
	CHECK_EQ(free_pages(dom0), free0);
	CHECK_EQ(hv_sim_domain_by_name(sim, "toobig", &other), -ESRCH);
	CHECK_EQ(xs_read_err(dom0, 0, "/local/domain/6"), -ENOENT);

	/* Fragmented host: boot RAM falls back to smaller extents. */
	hv_sim_set_max_free_order(sim, 0);
	params = (struct hv_sim_domain_params){ .name = "frag", .boot_pages = MIB_PAGES(2) };
	CHECK_EQ(hv_sim_domain_create(sim, &params, &other), 0);
	CHECK_EQ(populated_order(sim, other, HV_SIM_RAM0_GFN), 0);
	hv_sim_set_max_free_order(sim, UINT32_MAX);

	CHECK_EQ(check_sim(sim), 0);
	hv_close(dom0);
	hv_sim_free(sim);
}

static void test_destroy_and_ids(void)
{
	struct hv_sim *sim = test_sim(0);
	struct hv *dom0 = test_open(sim, 0);
	struct hv_domain_info info;
	uint32_t ids[8], a, b, c, d;
	uint64_t free0 = free_pages(dom0);
	size_t count = 0;
	char *path, *token;

	a = test_guest(sim, "a", MIB_PAGES(128));
	b = test_guest(sim, "b", MIB_PAGES(128));
	c = test_guest(sim, "c", MIB_PAGES(128));
	CHECK(a == 1 && b == 2 && c == 3);
	CHECK_EQ(dom0->ops->domain_list(dom0, ids, 8, &count), 0);
	CHECK_EQ(count, 4);
	CHECK(ids[0] == 0 && ids[1] == 1 && ids[2] == 2 && ids[3] == 3);
	CHECK_EQ(dom0->ops->domain_list(dom0, ids, 2, &count), 0);
	CHECK_EQ(count, 2);
	CHECK_EQ(dom0->ops->domain_list(dom0, NULL, 0, &count), 0);
	CHECK_EQ(count, 0);

	CHECK_EQ(dom0->ops->xs_watch(dom0, "@releaseDomain", "rel"), 0);
	CHECK_EQ(dom0->ops->xs_watch(dom0, "/local/domain/2", "dom2"), 0);
	CHECK_EQ(drain_events(dom0), 2);

	/* Populate beyond boot, then destroy: every frame comes back. */
	CHECK_EQ(dom0->ops->set_max_mem(dom0, b, 1024 * 1024), 0);
	CHECK_EQ(populate_run(dom0, b, 9, 0x80000, 16, NULL), 0);
	CHECK_EQ(hv_sim_domain_destroy(sim, b), 0);
	CHECK_EQ(dom0->ops->domain_info(dom0, b, &info), -ESRCH);
	CHECK_EQ(hv_sim_domain_destroy(sim, b), -ESRCH);
	CHECK_EQ(xs_read_err(dom0, 0, "/local/domain/2/name"), -ENOENT);
	CHECK_EQ(xs_read_err(dom0, 0, "/local/domain/2"), -ENOENT);
	/* The rm fires first (exact watch on the removed root), then @releaseDomain. */
	CHECK(next_event_is(dom0, "/local/domain/2", "dom2"));
	CHECK(next_event_is(dom0, "@releaseDomain", "rel"));
	CHECK_EQ(dom0->ops->xs_read_watch(dom0, &path, &token), -EAGAIN);

	/* Ids keep growing after the last one given, like Xen's rover. */
	d = test_guest(sim, "d", MIB_PAGES(16));
	CHECK_EQ(d, 4);
	CHECK_EQ(hv_sim_domain_by_name(sim, "b", &b), -ESRCH);

	/* dying and shutdown flags. */
	CHECK_EQ(hv_sim_domain_set_shutdown(sim, a, true), 0);
	CHECK_EQ(dom0->ops->domain_info(dom0, a, &info), 0);
	CHECK(info.shutdown && !info.dying);
	CHECK(next_event_is(dom0, "@releaseDomain", "rel"));
	CHECK_EQ(hv_sim_domain_set_shutdown(sim, a, true), 0); /* no change, no event */
	CHECK_EQ(hv_sim_domain_set_dying(sim, a, true), 0);
	CHECK_EQ(dom0->ops->domain_info(dom0, a, &info), 0);
	CHECK(info.shutdown && info.dying);
	CHECK(next_event_is(dom0, "@releaseDomain", "rel"));
	CHECK_EQ(drain_events(dom0), 0);
	CHECK_EQ(populate_run(dom0, a, 0, 0x80000, 1, NULL), -ESRCH);
	CHECK_EQ(hv_sim_domain_set_dying(sim, a, false), 0);
	CHECK_EQ(hv_sim_domain_set_dying(sim, 77, true), -ESRCH);

	CHECK_EQ(hv_sim_domain_destroy(sim, a), 0);
	CHECK_EQ(hv_sim_domain_destroy(sim, c), 0);
	CHECK_EQ(hv_sim_domain_destroy(sim, d), 0);
	CHECK_EQ(free_pages(dom0), free0);
	CHECK_EQ(check_sim(sim), 0);
	hv_close(dom0);
	hv_sim_free(sim);
}

static void test_max_pages(void)
{
	struct hv_sim *sim = test_sim(0);
	struct hv *dom0 = test_open(sim, 0);
	uint32_t g = test_guest(sim, "g", MIB_PAGES(64));
	struct hv_domain_info info;
	uint64_t tot = MIB_PAGES(64);
	size_t done = 99;

	/* KiB, rounded down to pages. */
	CHECK_EQ(dom0->ops->set_max_mem(dom0, g, 1023), 0);
	CHECK_EQ(dom0->ops->domain_info(dom0, g, &info), 0);
	CHECK_EQ(info.max_pages, 255);
	/* Below tot_pages is allowed (Xen ratchets down) ... */
	CHECK_EQ(dom0->ops->set_max_mem(dom0, g, 0), 0);
	CHECK_EQ(dom0->ops->domain_info(dom0, g, &info), 0);
	CHECK_EQ(info.max_pages, 0);
	CHECK_EQ(info.tot_pages, tot);
	/* ... and then no allocation succeeds. */
	CHECK_EQ(populate_run(dom0, g, 0, 0x80000, 1, &done), -ENOMEM);
	CHECK_EQ(done, 0);
	/* Giving back still works. */
	CHECK_EQ(decrease_run(dom0, g, 0, HV_SIM_RAM0_GFN, 1, &done), 0);
	tot--;

	/* Room for 3 extents and 100 pages: the 4th 2 MiB extent fails, earlier kept. */
	CHECK_EQ(dom0->ops->set_max_mem(dom0, g, (tot + 3 * 512 + 100) * 4), 0);
	CHECK_EQ(populate_run(dom0, g, 9, 0x80000, 5, &done), -ENOMEM);
	CHECK_EQ(done, 3);
	CHECK_EQ(dom0->ops->domain_info(dom0, g, &info), 0);
	CHECK_EQ(info.tot_pages, tot + 3 * 512);
	CHECK_EQ(populated_order(sim, g, 0x80000 + 2 * 512), 9);
	CHECK_EQ(populated_order(sim, g, 0x80000 + 3 * 512), -1);
	/* The 100 remaining pages are still usable in 4 KiB extents. */
	CHECK_EQ(populate_run(dom0, g, 0, 0x90000, 101, &done), -ENOMEM);
	CHECK_EQ(done, 100);

	/* Huge values clamp to what Xen's unsigned int holds. */
	CHECK_EQ(dom0->ops->set_max_mem(dom0, g, UINT64_MAX), 0);
	CHECK_EQ(dom0->ops->domain_info(dom0, g, &info), 0);
	CHECK_EQ(info.max_pages, UINT32_MAX);
	CHECK_EQ(dom0->ops->set_max_mem(dom0, 42, 1024), -ESRCH);

	CHECK_EQ(check_sim(sim), 0);
	hv_close(dom0);
	hv_sim_free(sim);
}

static void test_introduce(void)
{
	struct hv_sim *sim = test_sim(0);
	struct hv *dom0 = test_open(sim, 0);

	CHECK_EQ(dom0->ops->xs_watch(dom0, "@introduceDomain", "intro"), 0);
	CHECK(next_event_is(dom0, "@introduceDomain", "intro"));
	test_guest(sim, "x", MIB_PAGES(16));
	CHECK(next_event_is(dom0, "@introduceDomain", "intro"));
	CHECK_EQ(drain_events(dom0), 0);
	hv_close(dom0);
	hv_sim_free(sim);
}

int main(void)
{
	test_config_and_dom0();
	test_create();
	test_destroy_and_ids();
	test_max_pages();
	test_introduce();
	return check_exit("test_sim_domains");
}
