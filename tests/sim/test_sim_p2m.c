/*
 * Sim P2M: populate and decrease with partial progress, alignment, the
 * loud double-populate error, Xen's per-page decrease (an unmapped page
 * fails its extent after the pages before it were freed), decreasing at a
 * larger or smaller order than was populated (superpages split), the
 * maximum order, the IPA limit and the fragmentation knob.
 */
#include "sim_test.h"

#define HOT 0x80000ULL /* 2 GiB: inside bank 0, above a small guest's RAM */

static struct hv_sim *sim;
static struct hv *dom0;
static uint32_t g;

static uint64_t tot(void)
{
	return dstats(sim, g).tot_pages;
}

static void test_populate_basics(void)
{
	uint64_t gfns[4];
	uint64_t t0 = tot();
	size_t done = 99;

	CHECK_EQ(populate_run(dom0, g, 0, HOT, 1, &done), 0);
	CHECK_EQ(done, 1);
	CHECK_EQ(populated_order(sim, g, HOT), 0);
	CHECK_EQ(tot(), t0 + 1);

	/* Misaligned extent: -EINVAL at that extent, earlier ones kept. */
	gfns[0] = HOT + 0x200;
	gfns[1] = HOT + 0x401;
	gfns[2] = HOT + 0x600;
	CHECK_EQ(dom0->ops->populate(dom0, g, 9, gfns, 3, &done), -EINVAL);
	CHECK_EQ(done, 1);
	CHECK_EQ(populated_order(sim, g, HOT + 0x200), 9);
	CHECK_EQ(populated_order(sim, g, HOT + 0x600), -1);

	/* Several extents, stride 2 MiB. */
	CHECK_EQ(populate_run(dom0, g, 9, HOT + 0x400, 3, &done), 0);
	CHECK_EQ(done, 3);
	CHECK_EQ(populated_order(sim, g, HOT + 0x9ff), 9);
	CHECK_EQ(tot(), t0 + 1 + 4 * 512);

	/* Edge cases of the call itself. */
	CHECK_EQ(dom0->ops->populate(dom0, g, 0, NULL, 0, &done), 0);
	CHECK_EQ(done, 0);
	CHECK_EQ(dom0->ops->populate(dom0, g, 0, NULL, 3, &done), -EFAULT);
	CHECK_EQ(dom0->ops->populate(dom0, 1234, 0, gfns, 1, &done), -ESRCH);
	CHECK_EQ(done, 0);
	gfns[0] = HOT + 0xa00;
	CHECK_EQ(dom0->ops->populate(dom0, g, 0, gfns, 1, NULL), 0); /* ret_done optional */
	/* Beyond the 40-bit IPA space. */
	gfns[0] = 1ULL << 28;
	CHECK_EQ(dom0->ops->populate(dom0, g, 0, gfns, 1, &done), -EINVAL);
	gfns[0] = (1ULL << 28) - 512;
	CHECK_EQ(dom0->ops->populate(dom0, g, 9, gfns, 1, &done), 0);
	/* Above the maximum order (18 for dom0 by default). */
	gfns[0] = 0;
	CHECK_EQ(dom0->ops->populate(dom0, g, 19, gfns, 1, &done), -EINVAL);
	CHECK_EQ(done, 0);
	CHECK_EQ(check_sim(sim), 0);
}

static void test_double_populate(void)
{
	struct hv_sim_stats stats;
	uint64_t gfns[3] = { HOT + 0x1001, HOT + 0x1000, HOT + 0x1002 };
	uint64_t t0;
	size_t done = 99;
	char why[256];

	CHECK_EQ(populate_run(dom0, g, 0, HOT + 0x1000, 1, NULL), 0);
	t0 = tot();
	CHECK_EQ(dom0->ops->populate(dom0, g, 0, gfns, 3, &done), -EEXIST);
	CHECK_EQ(done, 1); /* the call stops at the offending extent */
	CHECK_EQ(populated_order(sim, g, HOT + 0x1001), 0);
	CHECK_EQ(populated_order(sim, g, HOT + 0x1002), -1);
	CHECK_EQ(tot(), t0 + 1); /* no frame was taken for the refused extent */
	hv_sim_get_stats(sim, &stats);
	CHECK_EQ(stats.double_populate, 1);

	/* An extent overlapping one mapped page is refused as a whole. */
	CHECK_EQ(populate_run(dom0, g, 9, HOT + 0x1000, 1, &done), -EEXIST);
	CHECK_EQ(done, 0);
	/* A superpage populated twice, too. */
	CHECK_EQ(populate_run(dom0, g, 0, HOT + 0x200 + 7, 1, &done), -EEXIST);
	hv_sim_get_stats(sim, &stats);
	CHECK_EQ(stats.double_populate, 3);

	/* The checker flags it until the test acknowledges it. */
	CHECK_EQ(hv_sim_check(sim, why, sizeof(why)), -EUCLEAN);
	CHECK(strstr(why, "double populate") != NULL);
	hv_sim_clear_alarms(sim);
	CHECK_EQ(check_sim(sim), 0);
}

static void test_decrease(void)
{
	uint64_t t0, gfn, l3;
	size_t done = 99;
	int order;

	/* Not mapped at all: -ENOENT, nothing done. */
	t0 = tot();
	CHECK_EQ(decrease_run(dom0, g, 0, HOT + 0x10000, 1, &done), -ENOENT);
	CHECK_EQ(done, 0);
	CHECK_EQ(tot(), t0);

	/* Order-3 extent with only its first 4 pages mapped: like Xen, the 4
	 * pages go, then the extent fails and is not counted in done. */
	CHECK_EQ(populate_run(dom0, g, 0, HOT + 0x10000, 4, &done), 0);
	t0 = tot();
	CHECK_EQ(decrease_run(dom0, g, 3, HOT + 0x10000, 1, &done), -ENOENT);
	CHECK_EQ(done, 0);
	CHECK_EQ(tot(), t0 - 4);
	CHECK_EQ(populated_order(sim, g, HOT + 0x10000), -1);
	CHECK_EQ(populated_order(sim, g, HOT + 0x10003), -1);

	/* Decrease at a larger order than populated: 512 4 KiB pages, one 2 MiB
	 * extent back. */
	CHECK_EQ(populate_run(dom0, g, 0, HOT + 0x20000, 512, &done), 0);
	t0 = tot();
	CHECK_EQ(decrease_run(dom0, g, 9, HOT + 0x20000, 1, &done), 0);
	CHECK_EQ(done, 1);
	CHECK_EQ(tot(), t0 - 512);
	/* Mixed orders inside one chunk: 2 x order 8, back as one order 9. */
	CHECK_EQ(populate_run(dom0, g, 8, HOT + 0x20000, 2, &done), 0);
	CHECK_EQ(populated_order(sim, g, HOT + 0x20000 + 300), 8);
	CHECK_EQ(decrease_run(dom0, g, 9, HOT + 0x20000, 1, &done), 0);

	/* Decrease at a smaller order: the 2 MiB mapping is split (Xen shatters
	 * the block); the other pages stay mapped, still reported as order 9. */
	CHECK_EQ(populate_run(dom0, g, 9, HOT + 0x20200, 1, &done), 0);
	l3 = dstats(sim, g).l3_tables;
	CHECK_EQ(decrease_run(dom0, g, 0, HOT + 0x20205, 1, &done), 0);
	CHECK_EQ(populated_order(sim, g, HOT + 0x20205), -1);
	CHECK_EQ(populated_order(sim, g, HOT + 0x20204), 9);
	CHECK_EQ(populated_order(sim, g, HOT + 0x20206), 9);
	CHECK_EQ(dstats(sim, g).l3_tables, l3 + 1);
	/* The 2 MiB extent now has a hole: pages 0..4 go, then -ENOENT. */
	t0 = tot();
	CHECK_EQ(decrease_run(dom0, g, 9, HOT + 0x20200, 1, &done), -ENOENT);
	CHECK_EQ(done, 0);
	CHECK_EQ(tot(), t0 - 5);
	/* Give the remaining 506 back page by page; the L3 goes with the last. */
	for (gfn = HOT + 0x20206; gfn < HOT + 0x20400; gfn++) {
		if (decrease_run(dom0, g, 0, gfn, 1, NULL) < 0) {
			CHECK(!"decrease of a mapped page failed");
			break;
		}
	}
	CHECK_EQ(dstats(sim, g).l3_tables, l3);

	/* 1 GiB in bank 1, split by a 4 KiB decrease, then freed whole. */
	t0 = tot();
	CHECK_EQ(populate_run(dom0, g, 18, HV_SIM_RAM1_GFN, 1, &done), 0);
	order = populated_order(sim, g, HV_SIM_RAM1_GFN + (1 << 18) - 1);
	CHECK_EQ(order, 18);
	CHECK_EQ(decrease_run(dom0, g, 0, HV_SIM_RAM1_GFN + 1000, 1, &done), 0);
	CHECK_EQ(populated_order(sim, g, HV_SIM_RAM1_GFN + 999), 18);
	CHECK_EQ(populate_run(dom0, g, 0, HV_SIM_RAM1_GFN + 1000, 1, &done), 0);
	CHECK_EQ(populated_order(sim, g, HV_SIM_RAM1_GFN + 1000), 0);
	CHECK_EQ(decrease_run(dom0, g, 18, HV_SIM_RAM1_GFN, 1, &done), 0);
	CHECK_EQ(tot(), t0);
	CHECK_EQ(populated_order(sim, g, HV_SIM_RAM1_GFN + 1000), -1);

	/* Misaligned decrease: -EINVAL (Xen wouldn't check; the sim does). */
	CHECK_EQ(decrease_run(dom0, g, 9, HOT + 1, 1, &done), -EINVAL);
	CHECK_EQ(decrease_run(dom0, g, 19, HOT, 1, &done), -EINVAL);
	CHECK_EQ(decrease_run(dom0, 999, 0, HOT, 1, &done), -ESRCH);
	CHECK_EQ(check_sim(sim), 0);
}

/* The toolstack's fallback: the biggest order the host can still give. */
static int populate_fallback(uint64_t gfn, unsigned int *ret_order)
{
	static const unsigned int orders[] = { 18, 9, 0 };
	unsigned int i;
	size_t done;

	for (i = 0; i < 3; i++) {
		int r = populate_run(dom0, g, orders[i], gfn, 1, &done);

		if (r == 0) {
			*ret_order = orders[i];
			return 0;
		}
		if (r != -ENOMEM)
			return r;
	}
	return -ENOMEM;
}

static void test_fragmentation(void)
{
	unsigned int order = 99;
	size_t done;

	hv_sim_set_max_free_order(sim, 9);
	CHECK_EQ(populate_run(dom0, g, 18, 0x100000, 1, &done), -ENOMEM);
	CHECK_EQ(done, 0);
	CHECK_EQ(populate_fallback(0x100000, &order), 0);
	CHECK_EQ(order, 9);
	hv_sim_set_max_free_order(sim, 0);
	CHECK_EQ(populate_fallback(0x180000, &order), 0);
	CHECK_EQ(order, 0);
	hv_sim_set_max_free_order(sim, UINT32_MAX);
	CHECK_EQ(populate_fallback(0x140000, &order), 0);
	CHECK_EQ(order, 18);
	CHECK_EQ(check_sim(sim), 0);
}

static void test_host_exhaustion(void)
{
	struct hv_sim_config cfg;
	struct hv_sim *small;
	struct hv *hv;
	uint32_t guest;
	size_t done;

	hv_sim_config_defaults(&cfg);
	cfg.quiet = true;
	cfg.host_pages = MIB_PAGES(64);
	cfg.dom0_pages = MIB_PAGES(16);
	CHECK_EQ(hv_sim_new(&cfg, &small), 0);
	hv = test_open(small, 0);
	guest = test_guest(small, "g", MIB_PAGES(16));
	CHECK_EQ(hv->ops->set_max_mem(hv, guest, 1024 * 1024), 0);
	/* 64 MiB - 2 x 16 MiB - two pools: fewer than 16 2 MiB extents fit. */
	CHECK_EQ(populate_run(hv, guest, 9, HOT, 16, &done), -ENOMEM);
	CHECK(done > 10 && done < 16);
	CHECK(free_pages(hv) < 512);
	CHECK_EQ(check_sim(small), 0);
	hv_close(hv);
	hv_sim_free(small);
}

int main(void)
{
	sim = test_sim(0);
	dom0 = test_open(sim, 0);
	g = test_guest(sim, "p2m", MIB_PAGES(64));
	/* Lots of room for the tests above. */
	CHECK_EQ(dom0->ops->set_max_mem(dom0, g, 16ULL << 20), 0);
	CHECK_EQ(dom0->ops->set_p2m_pool(dom0, g, 1ULL << 24), 0);

	test_populate_basics();
	test_double_populate();
	test_decrease();
	test_fragmentation();
	test_host_exhaustion();

	hv_close(dom0);
	hv_sim_free(sim);
	return check_exit("test_sim_p2m");
}
