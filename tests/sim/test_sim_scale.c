/*
 * Sim scale smoke test: 1,000 domains on a 24 GiB host (with their
 * xenstore trees, a dom0 watch on /local/domain, a hot-add per domain and a
 * hundred guest connections), then one guest grown to 20 GiB in 2 MiB
 * extents and 1 GiB of 4 KiB pages, all given back, the checker run at each
 * step. Prints timings; only ctest's timeout judges speed.
 */
#include <time.h>

#include "sim_test.h"

#define NR_DOMAINS     1000
#define NR_GUEST_CONNS 100

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_many_domains(struct hv_sim *sim, struct hv *dom0)
{
	static uint32_t ids[NR_DOMAINS];
	struct hv *conns[NR_GUEST_CONNS];
	struct hv_sim_stats stats0, stats;
	uint64_t free0 = free_pages(dom0);
	uint32_t listed[NR_DOMAINS + 1];
	size_t count, done;
	char name[32], path[64];
	unsigned int events, i;
	double t0 = now();

	hv_sim_get_stats(sim, &stats0);
	CHECK_EQ(dom0->ops->xs_watch(dom0, "/local/domain", "doms"), 0);
	for (i = 0; i < NR_DOMAINS; i++) {
		snprintf(name, sizeof(name), "guest-%u", i);
		ids[i] = test_guest(sim, name, MIB_PAGES(16));
	}
	printf("created %d domains in %.2f s\n", NR_DOMAINS, now() - t0);
	CHECK_EQ(ids[NR_DOMAINS - 1], NR_DOMAINS);
	CHECK_EQ(dom0->ops->domain_list(dom0, listed, NR_DOMAINS + 1, &count), 0);
	CHECK_EQ(count, NR_DOMAINS + 1);
	events = drain_events(dom0);
	CHECK(events > NR_DOMAINS * 20);
	CHECK_EQ(hv_sim_domain_by_name(sim, "guest-777", &ids[0]), 0);
	CHECK_EQ(ids[0], 778);
	ids[0] = 1;

	/* Hot-add 4 MiB to each, as the toolstack would. */
	t0 = now();
	for (i = 0; i < NR_DOMAINS; i++) {
		CHECK_EQ(dom0->ops->set_max_mem(dom0, ids[i], 20 * 1024), 0);
		CHECK_EQ(populate_run(dom0, ids[i], 9, 0x50000, 2, &done), 0);
		snprintf(path, sizeof(path), "/local/domain/%u/memory/target", ids[i]);
		CHECK_EQ(xs_put(dom0, 0, path, "20480"), 0);
	}
	printf("hot-added 4 MiB to each in %.2f s\n", now() - t0);
	CHECK_EQ(drain_events(dom0), NR_DOMAINS);

	/* A hundred guests watching their own memory/target. */
	for (i = 0; i < NR_GUEST_CONNS; i++) {
		conns[i] = test_open(sim, ids[i]);
		CHECK_EQ(conns[i]->ops->xs_watch(conns[i], "memory/target", "target"), 0);
	}
	for (i = 0; i < NR_GUEST_CONNS; i++) {
		snprintf(path, sizeof(path), "/local/domain/%u/memory/target", ids[i]);
		CHECK_EQ(xs_put(dom0, 0, path, "24576"), 0);
		CHECK_EQ(drain_events(conns[i]), 2);
	}
	drain_events(dom0);
	t0 = now();
	CHECK_EQ(check_sim(sim), 0);
	printf("checked in %.2f s\n", now() - t0);
	hv_sim_get_stats(sim, &stats);
	printf("%llu xenstore nodes, %llu pool pages in use\n", (unsigned long long)stats.xs_nodes,
	       (unsigned long long)stats.pool_used_pages);

	t0 = now();
	for (i = 0; i < NR_DOMAINS; i++)
		CHECK_EQ(hv_sim_domain_destroy(sim, ids[i]), 0);
	printf("destroyed them in %.2f s\n", now() - t0);
	for (i = 0; i < NR_GUEST_CONNS; i++)
		hv_close(conns[i]);
	CHECK_EQ(dom0->ops->xs_unwatch(dom0, "/local/domain", "doms"), 0);
	CHECK_EQ(free_pages(dom0), free0);
	hv_sim_get_stats(sim, &stats);
	CHECK_EQ(stats.xs_nodes, stats0.xs_nodes);
	CHECK_EQ(stats.domains, 1);
	CHECK_EQ(check_sim(sim), 0);
}

static void test_big_guest(struct hv_sim *sim, struct hv *dom0)
{
	uint64_t free0 = free_pages(dom0);
	uint32_t g = test_guest(sim, "big", MIB_PAGES(512));
	size_t n2m = GIB_PAGES(20) >> 9, n4k = GIB_PAGES(1), done;
	double t0;

	CHECK_EQ(dom0->ops->set_max_mem(dom0, g, 22ULL << 20), 0);
	CHECK_EQ(dom0->ops->set_p2m_pool(dom0, g, 64ULL << 20), 0);

	t0 = now();
	CHECK_EQ(populate_run(dom0, g, 9, HV_SIM_RAM1_GFN, n2m, &done), 0);
	CHECK_EQ(done, n2m);
	printf("populated 20 GiB in 2 MiB extents in %.2f s\n", now() - t0);
	t0 = now();
	CHECK_EQ(populate_run(dom0, g, 0, 0x80000, n4k, &done), 0);
	printf("populated 1 GiB in 4 KiB extents in %.2f s\n", now() - t0);
	CHECK_EQ(dstats(sim, g).tot_pages, MIB_PAGES(512) + GIB_PAGES(21));
	CHECK_EQ(dstats(sim, g).l3_tables, 512);
	CHECK_EQ(dstats(sim, g).l2_tables, 1 + 20 + 1);
	t0 = now();
	CHECK_EQ(check_sim(sim), 0);
	printf("checked in %.2f s\n", now() - t0);

	t0 = now();
	CHECK_EQ(decrease_run(dom0, g, 9, HV_SIM_RAM1_GFN, n2m, &done), 0);
	CHECK_EQ(decrease_run(dom0, g, 0, 0x80000, n4k, &done), 0);
	printf("gave 21 GiB back in %.2f s\n", now() - t0);
	CHECK_EQ(dstats(sim, g).tot_pages, MIB_PAGES(512));
	CHECK_EQ(dstats(sim, g).pool_used_pages, 1);
	CHECK_EQ(hv_sim_domain_destroy(sim, g), 0);
	CHECK_EQ(free_pages(dom0), free0);
	CHECK_EQ(check_sim(sim), 0);
}

int main(void)
{
	struct hv_sim *sim = test_sim(GIB_PAGES(24));
	struct hv *dom0 = test_open(sim, 0);
	double t0 = now();

	test_many_domains(sim, dom0);
	test_big_guest(sim, dom0);
	printf("total %.2f s\n", now() - t0);
	hv_close(dom0);
	hv_sim_free(sim);
	return check_exit("test_sim_scale");
}
