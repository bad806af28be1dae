/*
 * Sim invariant checker: passes on a busy but consistent sim; every frame
 * comes back after domains die (leak detection); the two alarms (double
 * populate, frames orphaned by pool exhaustion) fail it until cleared; and,
 * white-box, each kind of internal inconsistency it promises to catch is
 * caught (the test reaches into the sim's private state to break it).
 * Finally a seeded random populate/decrease workload runs against a plain
 * page-array model of the same GFN window: every return code, every
 * ret_done, tot_pages and each page's mapping and order must agree.
 */
#include "sim_test.h"
#include "../../hv/sim/sim_internal.h"

static struct hv_sim *sim;

static void expect_broken(const char *what)
{
	char why[256];

	why[0] = '\0';
	CHECK_EQ(hv_sim_check(sim, why, sizeof(why)), -EUCLEAN);
	if (!strstr(why, what))
		fprintf(stderr, "  wanted \"%s\" in: %s\n", what, why);
	CHECK(strstr(why, what) != NULL);
}

static void workload(struct hv *dom0, uint32_t g)
{
	char a[64], bc[64];
	size_t done;
	hv_xs_txn t;

	snprintf(a, sizeof(a), "/local/domain/%u/data/a", g);
	snprintf(bc, sizeof(bc), "/local/domain/%u/data/b/c", g);

	CHECK_EQ(dom0->ops->set_max_mem(dom0, g, 4ULL << 20), 0);
	CHECK_EQ(populate_run(dom0, g, 9, 0x80000, 64, &done), 0);
	CHECK_EQ(populate_run(dom0, g, 0, 0xa0000, 700, &done), 0);
	CHECK_EQ(populate_run(dom0, g, 18, 0x100000, 1, &done), 0);
	CHECK_EQ(decrease_run(dom0, g, 0, 0x80000 + 17, 3, &done), 0);
	CHECK_EQ(decrease_run(dom0, g, 0, 0x100000 + 4000, 10, &done), 0);
	CHECK_EQ(xs_put(dom0, 0, a, "1"), 0);
	CHECK_EQ(dom0->ops->xs_txn_start(dom0, &t), 0);
	CHECK_EQ(xs_put(dom0, t, bc, "2"), 0);
	CHECK_EQ(dom0->ops->xs_rm(dom0, t, a), 0);
	CHECK_EQ(dom0->ops->xs_txn_end(dom0, t, false), 0);
}

static void test_consistent_and_leaks(void)
{
	struct hv *dom0 = test_open(sim, 0);
	uint64_t free0 = free_pages(dom0);
	struct hv_sim_stats stats0, stats;
	char why[64] = "junk";
	uint32_t g;
	int round;

	hv_sim_get_stats(sim, &stats0);
	CHECK_EQ(hv_sim_check(sim, why, sizeof(why)), 0);
	CHECK_STREQ(why, "");
	CHECK_EQ(hv_sim_check(sim, NULL, 0), 0);

	for (round = 0; round < 5; round++) {
		g = test_guest(sim, "leaky", MIB_PAGES(100));
		workload(dom0, g);
		CHECK_EQ(check_sim(sim), 0);
		CHECK_EQ(hv_sim_domain_destroy(sim, g), 0);
		CHECK_EQ(free_pages(dom0), free0);
	}
	hv_sim_get_stats(sim, &stats);
	CHECK_EQ(stats.xs_nodes, stats0.xs_nodes);
	CHECK_EQ(stats.domains, 1);
	CHECK_EQ(stats.pool_used_pages, stats0.pool_used_pages);
	hv_close(dom0);
}

static void test_alarms(void)
{
	struct hv *dom0 = test_open(sim, 0);
	uint32_t g = test_guest(sim, "alarm", MIB_PAGES(16));
	size_t done;

	CHECK_EQ(dom0->ops->set_max_mem(dom0, g, 1 << 20), 0);
	CHECK_EQ(populate_run(dom0, g, 0, HV_SIM_RAM0_GFN, 1, &done), -EEXIST);
	expect_broken("double populate");
	hv_sim_clear_alarms(sim);
	CHECK_EQ(check_sim(sim), 0);

	CHECK_EQ(dom0->ops->set_p2m_pool(dom0, g, 4096), 0); /* just the boot L2 */
	CHECK_EQ(populate_run(dom0, g, 0, 0x80000, 1, &done), -ENOMEM);
	expect_broken("orphaned");
	hv_sim_clear_alarms(sim);
	CHECK_EQ(check_sim(sim), 0);
	CHECK_EQ(hv_sim_domain_destroy(sim, g), 0);
	hv_close(dom0);
}

static void test_corruption(void)
{
	struct hv *dom0 = test_open(sim, 0);
	uint32_t g = test_guest(sim, "victim", MIB_PAGES(16));
	struct sim_domain *dom = sim->domains[g];
	struct p2m_chunk *chunk;
	struct xs_node *node;
	size_t done, i;

	CHECK_EQ(dom0->ops->set_max_mem(dom0, g, 1 << 20), 0);
	CHECK_EQ(populate_run(dom0, g, 0, 0x80000, 3, &done), 0);
	CHECK_EQ(check_sim(sim), 0);

	dom->tot_pages++;
	expect_broken("tot_pages");
	dom->tot_pages--;

	sim->host_free--;
	expect_broken("host frames");
	sim->host_free++;

	chunk = hmap_get(&dom->p2m.chunks, 0x80000 >> P2M_CHUNK_ORDER);
	CHECK(chunk && chunk->kind == P2M_MAP_TABLE);
	chunk->nr_populated--;
	expect_broken("bitmap");
	chunk->nr_populated++;

	chunk->kind = P2M_MAP_BLOCK;
	expect_broken("block but not full");
	chunk->kind = P2M_MAP_TABLE;

	dom->p2m.l3_tables++;
	expect_broken("tables");
	dom->p2m.l3_tables--;

	dom->p2m.populated++;
	expect_broken("P2M maps");
	dom->p2m.populated--;

	i = dom->pool_pages;
	dom->pool_pages = 0;
	expect_broken("page tables in a pool");
	dom->pool_pages = i;

	sim->nr_domains++;
	expect_broken("domains");
	sim->nr_domains--;

	sim->xs.nr_nodes++;
	expect_broken("xenstore");
	sim->xs.nr_nodes--;

	node = sim->xs.root->first_child;
	node->nr_children++;
	expect_broken("children");
	node->nr_children--;

	node->perms[0].domid += 1000; /* owner counts no longer match */
	expect_broken("owns");
	node->perms[0].domid -= 1000;

	CHECK_EQ(check_sim(sim), 0);
	/* A tiny buffer is filled safely. */
	{
		char why[8];

		sim->host_free--;
		CHECK_EQ(hv_sim_check(sim, why, sizeof(why)), -EUCLEAN);
		CHECK_EQ(strlen(why), 7);
		sim->host_free++;
	}
	CHECK_EQ(hv_sim_domain_destroy(sim, g), 0);
	hv_close(dom0);
}

/* ---- random workload against a page-array model -------------------------- */

#define MODEL_BASE  HV_SIM_RAM1_GFN
#define MODEL_PAGES (1U << 20) /* 4 GiB window */
#define MODEL_HOT   (1U << 14) /* most extents land in the first 64 MiB */
#define MODEL_NONE  0xff

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* What Xen (and so the sim) must answer for this call, applied to model. */
static int model_apply(uint8_t *model, bool populate, unsigned int order, const uint64_t *gfns,
		       size_t nr, size_t *ret_done)
{
	size_t i;
	uint64_t j, pages = 1ULL << order;

	for (i = 0; i < nr; i++) {
		uint8_t *page = model + (gfns[i] - MODEL_BASE);

		if (populate) {
			for (j = 0; j < pages; j++)
				if (page[j] != MODEL_NONE)
					break;
			if (j < pages) {
				*ret_done = i;
				return -EEXIST;
			}
			memset(page, (int)order, pages);
		} else {
			for (j = 0; j < pages; j++) {
				if (page[j] == MODEL_NONE) {
					*ret_done = i;
					return -ENOENT;
				}
				page[j] = MODEL_NONE;
			}
		}
	}
	*ret_done = nr;
	return 0;
}

static bool model_matches(uint32_t g, const uint8_t *model, uint64_t from, uint64_t to)
{
	uint64_t gfn;

	for (gfn = from; gfn < to; gfn++) {
		int order = populated_order(sim, g, MODEL_BASE + gfn);
		int want = model[gfn] == MODEL_NONE ? -1 : model[gfn];

		if (order != want) {
			fprintf(stderr, "  gfn %#llx: sim says %d, model %d\n",
				(unsigned long long)(MODEL_BASE + gfn), order, want);
			return false;
		}
	}
	return true;
}

static void test_random_model(void)
{
	static const unsigned int orders[] = { 0, 0, 0, 1, 3, 8, 9, 9, 10, 18 };
	struct hv *dom0 = test_open(sim, 0);
	uint32_t g = test_guest(sim, "model", MIB_PAGES(16));
	uint8_t *model = malloc(MODEL_PAGES);
	uint64_t gfns[4], mapped = 0;
	unsigned int op, mismatches = 0;
	size_t i, nr, done, want_done;
	int r, want;

	if (getenv("HOTMEM_SIM_SEED"))
		rng_state = strtoull(getenv("HOTMEM_SIM_SEED"), NULL, 0) | 1;
	printf("random model: seed %#llx (set HOTMEM_SIM_SEED to replay)\n",
	       (unsigned long long)rng_state);
	memset(model, MODEL_NONE, MODEL_PAGES);
	CHECK_EQ(dom0->ops->set_max_mem(dom0, g, 64ULL << 20), 0);
	CHECK_EQ(dom0->ops->set_p2m_pool(dom0, g, 64ULL << 20), 0);

	for (op = 0; op < 4000; op++) {
		bool populate = rng() % 10 < 6;
		unsigned int order = orders[rng() % (sizeof(orders) / sizeof(orders[0]))];
		uint64_t span = order >= 12 ? MODEL_PAGES : MODEL_HOT;

		nr = 1 + rng() % 4;
		for (i = 0; i < nr; i++)
			gfns[i] = MODEL_BASE + ((rng() % (span >> order)) << order);
		if (populate)
			r = dom0->ops->populate(dom0, g, order, gfns, nr, &done);
		else
			r = dom0->ops->decrease(dom0, g, order, gfns, nr, &done);
		want = model_apply(model, populate, order, gfns, nr, &want_done);
		if (r != want || done != want_done) {
			if (mismatches++ < 5)
				fprintf(stderr, "  op %u %s order %u: %d/%zu, model %d/%zu\n", op,
					populate ? "populate" : "decrease", order, r, done, want,
					want_done);
		}
		if (op % 100 == 99) {
			for (i = 0, mapped = 0; i < MODEL_PAGES; i++)
				mapped += model[i] != MODEL_NONE;
			CHECK_EQ(dstats(sim, g).tot_pages, MIB_PAGES(16) + mapped);
			hv_sim_clear_alarms(sim); /* double populates are part of the game */
			CHECK_EQ(check_sim(sim), 0);
		}
		if (op % 1000 == 999)
			CHECK(model_matches(g, model, 0, MODEL_HOT));
	}
	CHECK_EQ(mismatches, 0);
	CHECK(model_matches(g, model, 0, MODEL_PAGES));
	printf("random model: %llu pages mapped at the end, %u L3 tables\n",
	       (unsigned long long)mapped, (unsigned int)dstats(sim, g).l3_tables);
	hv_sim_clear_alarms(sim);
	CHECK_EQ(hv_sim_domain_destroy(sim, g), 0);
	free(model);
	hv_close(dom0);
}

int main(void)
{
	sim = test_sim(0);
	test_consistent_and_leaks();
	test_alarms();
	test_corruption();
	test_random_model();
	CHECK_EQ(check_sim(sim), 0);
	hv_sim_free(sim);
	return check_exit("test_sim_check");
}
