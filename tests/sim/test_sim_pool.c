/*
 * Sim P2M pool: page tables per mapping size (1 GiB: none, 2 MiB: an L2 per
 * 1 GiB region, 4 KiB: plus an L3 per 2 MiB chunk), tables freed with their
 * last page, pool exhaustion (populate fails and, as on Xen 4.17, the
 * extent's frames stay charged to the domain), shattering on decrease, and
 * sizing the pool (-EINVAL unaligned, -EBUSY below use, -ENOMEM host short).
 */
#include "sim_test.h"

static struct hv_sim *sim;
static struct hv *dom0;

#define R1 0x80000ULL /* 1 GiB regions, all empty in a guest without RAM */
#define R2 0xc0000ULL
#define R3 0x100000ULL

static uint64_t used(uint32_t domid)
{
	return dstats(sim, domid).pool_used_pages;
}

static int set_pool(uint32_t domid, uint64_t pages)
{
	return dom0->ops->set_p2m_pool(dom0, domid, pages * 4096);
}

static void test_table_model(uint32_t g)
{
	size_t done;

	CHECK_EQ(used(g), 0);
	/* 1 GiB: an L1 block, no table. */
	CHECK_EQ(populate_run(dom0, g, 18, R1, 1, &done), 0);
	CHECK_EQ(used(g), 0);
	/* 2 MiB: one L2 per region touched. */
	CHECK_EQ(populate_run(dom0, g, 9, R2, 1, &done), 0);
	CHECK_EQ(used(g), 1);
	CHECK_EQ(populate_run(dom0, g, 9, R2 + 512, 3, &done), 0);
	CHECK_EQ(used(g), 1);
	CHECK_EQ(populate_run(dom0, g, 10, R2 + 4096, 1, &done), 0); /* 4 MiB: 2 blocks */
	CHECK_EQ(used(g), 1);
	/* 4 KiB: an L2 for the region and an L3 per chunk. */
	CHECK_EQ(populate_run(dom0, g, 0, R3, 1, &done), 0);
	CHECK_EQ(used(g), 3);
	CHECK_EQ(populate_run(dom0, g, 0, R3 + 1, 100, &done), 0);
	CHECK_EQ(used(g), 3);
	CHECK_EQ(populate_run(dom0, g, 0, R3 + 512, 1, &done), 0);
	CHECK_EQ(used(g), 4);
	CHECK_EQ(populate_run(dom0, g, 0, R2 + 8192, 1, &done), 0); /* R2 has its L2 */
	CHECK_EQ(used(g), 5);
	CHECK_EQ(dstats(sim, g).l2_tables, 2);
	CHECK_EQ(dstats(sim, g).l3_tables, 3);

	/* Tables go back with the last page of their chunk / region. */
	CHECK_EQ(decrease_run(dom0, g, 0, R2 + 8192, 1, &done), 0);
	CHECK_EQ(used(g), 4);
	CHECK_EQ(decrease_run(dom0, g, 0, R3 + 512, 1, &done), 0);
	CHECK_EQ(used(g), 3);
	CHECK_EQ(decrease_run(dom0, g, 0, R3, 101, &done), 0);
	CHECK_EQ(used(g), 1); /* R3 empty: its L2 too */
	CHECK_EQ(decrease_run(dom0, g, 9, R2, 4, &done), 0);
	CHECK_EQ(decrease_run(dom0, g, 10, R2 + 4096, 1, &done), 0);
	CHECK_EQ(used(g), 0);
	CHECK_EQ(decrease_run(dom0, g, 18, R1, 1, &done), 0);
	CHECK_EQ(used(g), 0);
	CHECK_EQ(dstats(sim, g).tot_pages, 0);
	CHECK_EQ(check_sim(sim), 0);
}

static void test_exhaustion(uint32_t g)
{
	struct hv_sim_stats stats;
	uint64_t free0, t0;
	size_t done = 99;
	char why[256];

	CHECK_EQ(populate_run(dom0, g, 0, R1, 1, &done), 0);
	CHECK_EQ(used(g), 2);
	CHECK_EQ(set_pool(g, 2), 0); /* exactly what is in use */
	free0 = free_pages(dom0);
	t0 = dstats(sim, g).tot_pages;

	/* More pages in the same chunk need no table. */
	CHECK_EQ(populate_run(dom0, g, 0, R1 + 1, 10, &done), 0);
	/* A new chunk needs an L3: populate fails ... */
	CHECK_EQ(populate_run(dom0, g, 0, R1 + 512, 2, &done), -ENOMEM);
	CHECK_EQ(done, 0);
	CHECK_EQ(populated_order(sim, g, R1 + 512), -1);
	/* ... but the frame was already the domain's: it stays, unmapped. */
	CHECK_EQ(dstats(sim, g).tot_pages, t0 + 10 + 1);
	CHECK_EQ(dstats(sim, g).populated_pages, 11);
	CHECK_EQ(dstats(sim, g).orphan_pages, 1);
	CHECK_EQ(free_pages(dom0), free0 - 11);
	hv_sim_get_stats(sim, &stats);
	CHECK_EQ(stats.orphaned_pages, 1);
	CHECK_EQ(hv_sim_check(sim, why, sizeof(why)), -EUCLEAN);
	CHECK(strstr(why, "orphaned") != NULL);
	hv_sim_clear_alarms(sim);
	CHECK_EQ(check_sim(sim), 0); /* the books still balance */
	/* A 2 MiB extent in a new region needs an L2: same story, 512 frames. */
	CHECK_EQ(populate_run(dom0, g, 9, R2, 1, &done), -ENOMEM);
	CHECK_EQ(dstats(sim, g).orphan_pages, 513);
	/* A 1 GiB extent needs nothing from the pool. */
	CHECK_EQ(populate_run(dom0, g, 18, R3, 1, &done), 0);
	hv_sim_clear_alarms(sim);

	/* Growing the pool lets populate go on. */
	CHECK_EQ(set_pool(g, 3), 0);
	CHECK_EQ(populate_run(dom0, g, 0, R1 + 512, 1, &done), 0);
	CHECK_EQ(check_sim(sim), 0);
}

static void test_shatter(uint32_t g)
{
	size_t done = 99;

	CHECK_EQ(populate_run(dom0, g, 9, R1, 1, &done), 0);
	CHECK_EQ(populate_run(dom0, g, 18, R2, 1, &done), 0);
	CHECK_EQ(used(g), 1);
	CHECK_EQ(set_pool(g, 1), 0);

	/* Removing one page of a 2 MiB block needs an L3 to split it. */
	CHECK_EQ(decrease_run(dom0, g, 0, R1 + 3, 1, &done), -ENOMEM);
	CHECK_EQ(done, 0);
	CHECK_EQ(populated_order(sim, g, R1 + 3), 9);
	/* Even giving the whole block back splits it first, as Xen does. */
	CHECK_EQ(decrease_run(dom0, g, 9, R1, 1, &done), -ENOMEM);
	CHECK_EQ(populated_order(sim, g, R1), 9);
	CHECK_EQ(set_pool(g, 2), 0);
	CHECK_EQ(decrease_run(dom0, g, 0, R1 + 3, 1, &done), 0);
	CHECK_EQ(used(g), 2);
	/* Page 3 is gone: pages 0..2 go, then the extent fails. */
	CHECK_EQ(decrease_run(dom0, g, 9, R1, 1, &done), -ENOENT);
	CHECK_EQ(populated_order(sim, g, R1 + 2), -1);
	CHECK_EQ(used(g), 2);
	CHECK_EQ(decrease_run(dom0, g, 0, R1 + 4, 508, &done), 0);
	CHECK_EQ(used(g), 0);
	CHECK_EQ(populate_run(dom0, g, 0, R1, 1, &done), 0);
	CHECK_EQ(decrease_run(dom0, g, 0, R1, 1, &done), 0);

	/* A 1 GiB block needs an L2 and an L3. */
	CHECK_EQ(set_pool(g, 1), 0);
	CHECK_EQ(decrease_run(dom0, g, 0, R2 + 700, 1, &done), -ENOMEM);
	CHECK_EQ(set_pool(g, 2), 0);
	CHECK_EQ(decrease_run(dom0, g, 0, R2 + 700, 1, &done), 0);
	CHECK_EQ(dstats(sim, g).l2_tables, 1);
	CHECK_EQ(dstats(sim, g).l3_tables, 1);
	CHECK_EQ(populated_order(sim, g, R2 + 701), 18);
	/* Chunk 1 keeps its L3 while chunk 0 is split: that needs a third. */
	CHECK_EQ(decrease_run(dom0, g, 0, R2, 700, &done), -ENOMEM);
	CHECK_EQ(set_pool(g, 3), 0);
	CHECK_EQ(decrease_run(dom0, g, 0, R2, 700, &done), 0);
	CHECK_EQ(decrease_run(dom0, g, 0, R2 + 701, (1 << 18) - 701, &done), 0);
	CHECK_EQ(used(g), 0);
	CHECK_EQ(dstats(sim, g).tot_pages, 0);
	CHECK_EQ(check_sim(sim), 0);
}

static void test_sizing(uint32_t g)
{
	uint64_t free0 = free_pages(dom0), bytes = 0;
	size_t done;

	CHECK_EQ(set_pool(g, 100), 0);
	CHECK_EQ(dom0->ops->get_p2m_pool(dom0, g, &bytes), 0);
	CHECK_EQ(bytes, 100 * 4096);
	free0 = free_pages(dom0);
	CHECK_EQ(set_pool(g, 150), 0); /* frames come from the host */
	CHECK_EQ(free_pages(dom0), free0 - 50);
	CHECK_EQ(set_pool(g, 100), 0);
	CHECK_EQ(free_pages(dom0), free0);

	CHECK_EQ(dom0->ops->set_p2m_pool(dom0, g, 4096 * 10 + 1), -EINVAL);
	CHECK_EQ(dom0->ops->set_p2m_pool(dom0, 555, 4096), -ESRCH);
	CHECK_EQ(dom0->ops->get_p2m_pool(dom0, 555, &bytes), -ESRCH);
	CHECK_EQ(set_pool(g, free0 + 101), -ENOMEM);
	CHECK_EQ(free_pages(dom0), free0);

	CHECK_EQ(populate_run(dom0, g, 0, R1, 1, &done), 0);
	CHECK_EQ(set_pool(g, 1), -EBUSY); /* 2 tables in use */
	CHECK_EQ(set_pool(g, 2), 0);
	CHECK_EQ(set_pool(g, 0), -EBUSY);
	CHECK_EQ(decrease_run(dom0, g, 0, R1, 1, &done), 0);
	CHECK_EQ(set_pool(g, 0), 0);
	CHECK_EQ(check_sim(sim), 0);
}

int main(void)
{
	struct hv_sim_domain_params params = { .name = "pool", .boot_pages = 0 };
	uint64_t free0;
	uint32_t g;

	sim = test_sim(0);
	dom0 = test_open(sim, 0);
	free0 = free_pages(dom0);

	CHECK_EQ(hv_sim_domain_create(sim, &params, &g), 0);
	/* No RAM: libxl's formula still gives 1 MiB per vcpu. */
	CHECK_EQ(dstats(sim, g).pool_pages, 256);
	CHECK_EQ(dom0->ops->set_max_mem(dom0, g, 8ULL << 20), 0);
	test_table_model(g);
	test_exhaustion(g);
	CHECK_EQ(hv_sim_domain_destroy(sim, g), 0);
	CHECK_EQ(free_pages(dom0), free0); /* orphans too */

	params.name = "pool2";
	CHECK_EQ(hv_sim_domain_create(sim, &params, &g), 0);
	CHECK_EQ(dom0->ops->set_max_mem(dom0, g, 8ULL << 20), 0);
	test_shatter(g);
	test_sizing(g);
	CHECK_EQ(hv_sim_domain_destroy(sim, g), 0);
	CHECK_EQ(free_pages(dom0), free0);

	CHECK_EQ(check_sim(sim), 0);
	hv_close(dom0);
	hv_sim_free(sim);
	return check_exit("test_sim_pool");
}
