/*
 * libhotmem basics on the sim with a well-behaved simulated guest: argument
 * checks, the window plan and the pool formula, the device-tree fragment,
 * attach (keys, permissions, the dom0-only journal, the window written once
 * the guest published its block size), grow/shrink/set with their results,
 * progress events and extent orders, every admission refusal, detach, a
 * guest without a self-hosted memmap, and the blocking wrappers with the
 * guest running in its own thread on the real clock.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "engine_harness.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

static void test_args(void)
{
	struct hotmem_config cfg;
	struct hotmem *hm = NULL;
	struct hv_sim *sim = NULL;
	struct hv *dom0 = NULL;
	struct hotmem_result res;
	struct hotmem_operation *op = NULL;
	uint32_t ids[4];
	size_t count = 99;

	hotmem_config_defaults(&cfg);
	CHECK_STREQ(cfg.journal_dir, HOTMEM_DEFAULT_JOURNAL_DIR);
	CHECK_EQ(cfg.window_bytes, 64 * GIB);
	CHECK_EQ(cfg.max_extent_order, 18);
	/* xen_hotmem.ko counts the memmap head as populated by default. */
	CHECK(cfg.memmap_in_target);
	CHECK_EQ(hotmem_open(NULL, &cfg, &hm), -EINVAL);

	CHECK_EQ(hv_sim_new(NULL, &sim), 0);
	CHECK_EQ(hv_sim_open(sim, 0, &dom0), 0);
	CHECK_EQ(hotmem_open(dom0, &cfg, NULL), -EINVAL);
	cfg.journal_dir = "relative/path";
	CHECK_EQ(hotmem_open(dom0, &cfg, &hm), -EINVAL);
	cfg.journal_dir = "/trailing/";
	CHECK_EQ(hotmem_open(dom0, &cfg, &hm), -EINVAL);
	hotmem_config_defaults(&cfg);
	cfg.ack_timeout_ms = 0;
	CHECK_EQ(hotmem_open(dom0, &cfg, &hm), -EINVAL);
	hotmem_config_defaults(&cfg);
	cfg.stats_interval_ms = 50;
	CHECK_EQ(hotmem_open(dom0, &cfg, &hm), -EINVAL);
	CHECK(hm == NULL);
	CHECK_EQ(hotmem_open(dom0, NULL, &hm), 0);
	CHECK_EQ(hotmem_reconcile(hm, NULL), 0);

	CHECK_EQ(hotmem_attach(hm, 0, NULL), -EINVAL);
	CHECK_EQ(hotmem_attach(hm, 0x7ff0, NULL), -EINVAL);
	CHECK_EQ(hotmem_attach(hm, 42, NULL), -ESRCH);
	CHECK_EQ(hotmem_op_start(hm, 42, HOTMEM_OP_KIND_GROW, MIB, &op), -ENOENT);
	CHECK_EQ(hotmem_op_start(hm, 42, HOTMEM_OP_KIND_GROW, 0, &op), -EINVAL);
	CHECK_EQ(hotmem_op_start(hm, 42, (enum hotmem_op_kind)9, MIB, &op), -EINVAL);
	CHECK_EQ(hotmem_op_start(hm, 42, HOTMEM_OP_KIND_GROW, MIB, NULL), -EINVAL);
	CHECK_EQ(hotmem_grow(hm, 42, MIB, &res), -ENOENT);
	CHECK_EQ(hotmem_detach(hm, 42), -ENOENT);
	CHECK_EQ(hotmem_set_max(hm, 42, 0), -EINVAL);
	CHECK_EQ(hotmem_set_stats_interval(hm, 42, 5), -EINVAL);
	CHECK_EQ(hotmem_domain_info(hm, 42, NULL), -EINVAL);
	CHECK_EQ(hotmem_list(hm, NULL, 4, &count), -EINVAL);
	CHECK_EQ(hotmem_list(hm, ids, 4, &count), 0);
	CHECK_EQ(count, 0);
	CHECK_EQ(hotmem_op_result(NULL, &res), -EINVAL);
	CHECK(hotmem_op_done(NULL));
	hotmem_op_free(NULL);
	CHECK_EQ(hotmem_timeout_ms(hm), -1);
	CHECK_EQ(hotmem_dispatch(hm), 0);
	hotmem_close(hm);
	hotmem_close(NULL);
	hv_close(dom0);
	hv_sim_free(sim);
}

static void test_window_plan(void)
{
	const uint64_t top = HOTMEM_GUEST_RAM1_BASE + HOTMEM_GUEST_RAM1_SIZE;
	struct hotmem_window w = { 0 };

	/* 256 MiB guest, 128 MiB blocks, 64 GiB at the top of bank 1. */
	CHECK_EQ(hotmem_window_plan(256 * MIB, 128 * MIB, 64 * GIB, 0, &w), 0);
	CHECK_EQ(w.base, top - 64 * GIB);
	CHECK_EQ(w.size, 64 * GIB);
	/* Rounded down to blocks, capped at 4096 blocks. */
	CHECK_EQ(hotmem_window_plan(256 * MIB, 128 * MIB, 200 * MIB, 0, &w), 0);
	CHECK_EQ(w.size, 128 * MIB);
	CHECK_EQ(hotmem_window_plan(256 * MIB, 2 * MIB, 64 * GIB, 0, &w), 0);
	CHECK_EQ(w.size, 4096 * 2 * MIB);
	CHECK_EQ(w.base, top - 8 * GIB);
	/* A guest using most of bank 1: the window shrinks to what is left. */
	CHECK_EQ(hotmem_window_plan(3 * GIB + 1000 * GIB, GIB, 64 * GIB, 0, &w), 0);
	CHECK_EQ(w.size, 16 * GIB);
	CHECK_EQ(hotmem_window_plan(3 * GIB + 1016 * GIB, GIB, 64 * GIB, 0, &w), -ENOSPC);
	CHECK_EQ(hotmem_window_plan(3 * GIB + 1017 * GIB, GIB, 64 * GIB, 0, &w), -ENOSPC);
	/* Fixed bases. */
	CHECK_EQ(hotmem_window_plan(256 * MIB, 128 * MIB, GIB, 0x50000000, &w), 0);
	CHECK_EQ(w.base, 0x50000000);
	CHECK_EQ(hotmem_window_plan(512 * MIB, 128 * MIB, GIB, 0x50000000, &w), -ENOSPC);
	CHECK_EQ(hotmem_window_plan(256 * MIB, 128 * MIB, GIB, 0x51000000, &w), -EINVAL);
	CHECK_EQ(hotmem_window_plan(256 * MIB, 128 * MIB, GIB, 0x100000000, &w), -EINVAL);
	CHECK_EQ(hotmem_window_plan(256 * MIB, 128 * MIB, 4 * GIB, 0x50000000, &w), -EINVAL);
	CHECK_EQ(hotmem_window_plan(256 * MIB, 3 * MIB, GIB, 0, &w), -EINVAL);
	CHECK_EQ(hotmem_window_plan(256 * MIB, 128 * MIB, MIB, 0, &w), -EINVAL);
	CHECK_EQ(hotmem_window_plan(256 * MIB, 128 * MIB, GIB, 0, NULL), -EINVAL);

	/* Pool: one L3 per 2 MiB, one L2 per GiB (at least one). */
	CHECK_EQ(hotmem_pool_bytes_per_block(128 * MIB), (64 + 1) * 4096);
	CHECK_EQ(hotmem_pool_bytes_per_block(MIB), (1 + 1) * 4096);
	CHECK_EQ(hotmem_pool_bytes_per_block(2 * GIB), (1024 + 2) * 4096);
	CHECK_EQ(hotmem_pool_bytes_per_block(3 * MIB), 0);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool contains(const unsigned char *blob, int len, const char *text)
{
	size_t n = strlen(text) + 1;
	int i;

	for (i = 0; i + (int)n <= len; i++)
		if (!memcmp(blob + i, text, n))
			return true;
	return false;
}

static void test_dt(void)
{
	struct hotmem_window w = { .base = 0xf000000000ull, .size = 64 * GIB };
	struct hotmem_window bad = { .base = 0xf000100000ull, .size = 64 * GIB };
	unsigned char small[16], blob[1024];
	int need, len;

	need = hotmem_dt_fragment(&w, 128 * MIB, NULL, 0);
	CHECK(need > 0 && need < 1024);
	CHECK_EQ(hotmem_dt_fragment(&w, 128 * MIB, small, sizeof(small)), -ENOSPC);
	len = hotmem_dt_fragment(&w, 128 * MIB, blob, sizeof(blob));
	CHECK_EQ(len, need);
	CHECK_EQ(be32(blob), 0xd00dfeed);
	CHECK_EQ(be32(blob + 4), (uint32_t)len);
	CHECK(contains(blob, len, "passthrough"));
	CHECK(contains(blob, len, "hotmem@f000000000"));
	CHECK(contains(blob, len, "hotmem,window-v1"));
	CHECK(contains(blob, len, "simple-bus"));
	CHECK(contains(blob, len, "block-size"));
	CHECK_EQ(hotmem_dt_fragment(&bad, 128 * MIB, blob, sizeof(blob)), -EINVAL);
	CHECK_EQ(hotmem_dt_fragment(&w, 3 * MIB, blob, sizeof(blob)), -EINVAL);
	CHECK_EQ(hotmem_dt_fragment(NULL, 128 * MIB, blob, sizeof(blob)), -EINVAL);
	CHECK_EQ(hotmem_dt_fragment(&w, 128 * MIB, NULL, 10), -EINVAL);
}

/* Value of an absolute key as dom0 sees it, or NULL. */
static char *dom0_read(struct harness *h, const char *fmt, uint32_t domid)
{
	char path[128], *value = NULL;
	struct hv *dom0 = NULL;

	snprintf(path, sizeof(path), fmt, domid);
	hv_sim_open(h->sim, 0, &dom0);
	if (dom0->ops->xs_read(dom0, 0, path, &value, NULL) < 0)
		value = NULL;
	hv_close(dom0);
	return value;
}

static bool dom0_is(struct harness *h, const char *fmt, uint32_t domid, const char *want)
{
	char *value = dom0_read(h, fmt, domid);
	bool same = value && !strcmp(value, want);

	if (!same)
		fprintf(stderr, "  %s: \"%s\", want \"%s\"\n", fmt, value ? value : "(none)", want);
	free(value);
	return same;
}

static void test_attach(void)
{
	struct harness h;
	struct hotmem_domain_info info;
	struct hotmem_guest_status gs;
	struct sim_guest *g;
	struct hv *dom0 = NULL;
	struct hv_xs_perm *perms = NULL;
	unsigned int nr = 0;
	char *value = NULL, path[96];
	uint32_t domid, ids[8];
	size_t count;

	harness_init(&h, 0);
	domid = harness_add_guest(&h, "attach", 256 * 256, NULL, NULL);
	g = harness_guest(&h, domid);

	CHECK(dom0_is(&h, "/local/domain/%u/hotmem/version", domid, "1"));
	CHECK(dom0_is(&h, "/local/domain/%u/hotmem/features", domid,
		      "memmap-on-memory online-movable reboot-notice shrink stats stats-swap"));
	CHECK(dom0_is(&h, "/local/domain/%u/hotmem/stats-interval-ms", domid, "0"));
	CHECK(dom0_is(&h, "/local/domain/%u/hotmem/window", domid, "0xf000000000 0x1000000000"));
	CHECK(dom0_is(&h, "/local/domain/%u/hotmem/guest/state", domid, "ready"));

	hv_sim_open(h.sim, 0, &dom0);
	snprintf(path, sizeof(path), "/local/domain/%u/hotmem", domid);
	CHECK_EQ(dom0->ops->xs_get_perms(dom0, 0, path, &perms, &nr), 0);
	CHECK(nr == 2 && perms[0].domid == 0 && perms[0].perm == HV_XS_PERM_NONE &&
	      perms[1].domid == domid && perms[1].perm == HV_XS_PERM_READ);
	free(perms);
	snprintf(path, sizeof(path), "/local/domain/%u/hotmem/guest", domid);
	CHECK_EQ(dom0->ops->xs_get_perms(dom0, 0, path, &perms, &nr), 0);
	CHECK(nr == 1 && perms[0].domid == domid);
	free(perms);
	hv_close(dom0);

	/* The journal is dom0's alone; toolstack keys are read-only to the guest. */
	snprintf(path, sizeof(path), HOTMEM_DEFAULT_JOURNAL_DIR "/%u/params", domid);
	CHECK_EQ(sim_guest_read(g, path, &value), -EACCES);
	CHECK_EQ(sim_guest_write(g, "hotmem/request", "9 grow 0 1", 10), -EACCES);
	CHECK_EQ(sim_guest_write(g, "hotmem/window", "0x0 0x1000", 10), -EACCES);
	CHECK_EQ(sim_guest_write(g, path, "x", 1), -EACCES);
	CHECK_EQ(sim_guest_read(g, "hotmem/window", &value), 0);
	free(value);

	CHECK_EQ(hotmem_domain_info(h.hm, domid, &info), 0);
	CHECK(info.have_window);
	CHECK_EQ(info.block_size, 128 * MIB);
	CHECK_EQ(info.nr_blocks, 512);
	CHECK_EQ(info.max_bytes, 64 * GIB);
	CHECK_EQ(info.granted_blocks, 0);
	CHECK(!info.have_memmap);
	CHECK_EQ(hotmem_guest_status(h.hm, domid, &gs), 0);
	CHECK(gs.ready && gs.have_version && gs.have_block_size && gs.have_memmap);
	CHECK_EQ(gs.memmap_bytes, 2 * MIB);
	CHECK_EQ(gs.state, HOTMEM_STATE_READY);

	CHECK_EQ(hotmem_attach(h.hm, domid, NULL), -EEXIST);
	CHECK_EQ(hotmem_list(h.hm, ids, 8, &count), 0);
	CHECK(count == 1 && ids[0] == domid);
	CHECK_EQ(hotmem_set_stats_interval(h.hm, domid, 1000), 0);
	CHECK(dom0_is(&h, "/local/domain/%u/hotmem/stats-interval-ms", domid, "1000"));
	CHECK_EQ(hotmem_set_stats_interval(h.hm, domid, 99), -EINVAL);
	CHECK_EQ(harness_check(&h, "attach"), 0);

	/* Detach: nothing granted, so it goes, H and journal with it. */
	CHECK_EQ(hotmem_detach(h.hm, domid), 0);
	CHECK(dom0_read(&h, "/local/domain/%u/hotmem/version", domid) == NULL);
	CHECK(dom0_read(&h, HOTMEM_DEFAULT_JOURNAL_DIR "/%u/params", domid) == NULL);
	CHECK_EQ(hotmem_domain_info(h.hm, domid, &info), -ENOENT);
	harness_fini(&h);
}

/* Record every progress event. */
struct progress_log {
	unsigned int count[8];
	uint32_t last_block;
};

static void log_progress(void *opaque, const struct hotmem_progress *p)
{
	struct progress_log *log = opaque;

	if ((unsigned int)p->event < 8)
		log->count[p->event]++;
	log->last_block = p->block;
}

static void test_grow_shrink_set(void)
{
	struct progress_log log;
	struct hotmem_domain_info info;
	struct hotmem_result res;
	struct hotmem_counters counters;
	struct sim_guest_stats fs;
	struct harness h;
	uint32_t domid;
	uint64_t gfn;
	unsigned int order;

	memset(&log, 0, sizeof(log));
	harness_init(&h, 0);
	h.cfg.progress = log_progress;
	h.cfg.progress_opaque = &log;
	harness_restart(&h, 0, NULL);
	domid = harness_add_guest(&h, "grow", 256 * 256, NULL, NULL);

	/* 200 MiB: two 128 MiB blocks. */
	memset(&res, 0, sizeof(res));
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, 200 * MIB, &res), 0);
	CHECK_EQ(res.kind, HOTMEM_OP_KIND_GROW);
	CHECK_EQ(res.seq, 1);
	CHECK_EQ(res.blocks_requested, 2);
	CHECK_EQ(res.blocks_done, 2);
	CHECK_EQ(res.bytes_done, 256 * MIB);
	CHECK_EQ(res.usable_bytes_done, 2 * 126 * MIB);
	CHECK(res.have_ack && res.guest_status == HOTMEM_STATUS_OK && res.guest_done == 2);
	CHECK_EQ(res.pages_populated, 2 * 512);
	CHECK(res.fill_complete);
	CHECK_EQ(log.count[HOTMEM_PROGRESS_POPULATED], 2);
	CHECK_EQ(log.count[HOTMEM_PROGRESS_ONLINE], 2);
	CHECK_EQ(harness_check(&h, "grow 2"), 0);

	/* The head went in as one 2 MiB extent; the balloon filled the rest. */
	CHECK_EQ(hotmem_domain_info(h.hm, domid, &info), 0);
	CHECK_EQ(info.granted_blocks, 2);
	CHECK(hotmem_blocks_test(info.granted, 0) && hotmem_blocks_test(info.granted, 1));
	gfn = info.window.base >> 12;
	CHECK_EQ(hv_sim_gfn_populated(h.sim, domid, gfn, &order), 1);
	CHECK_EQ(order, 9);
	CHECK_EQ(hv_sim_gfn_populated(h.sim, domid, gfn + 512, &order), 1);
	CHECK_EQ(order, 0);
	sim_guest_get_stats(harness_guest(&h, domid), &fs);
	CHECK_EQ(fs.plugged, 2);
	CHECK_EQ(fs.self_populated, 2 * (126 * 256));

	/* More, then shrink one, then set. */
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, 128 * MIB, &res), 0);
	CHECK_EQ(res.seq, 2);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_SHRINK, 1, &res), 0);
	CHECK_EQ(res.kind, HOTMEM_OP_KIND_SHRINK);
	CHECK_EQ(res.blocks_done, 1);
	CHECK_EQ(res.pages_reclaimed, 128 * 256);
	CHECK_EQ(res.pages_skipped, 0);
	CHECK_EQ(log.count[HOTMEM_PROGRESS_RECLAIMED], 1);
	CHECK_EQ(log.last_block, 2); /* the newest went */
	CHECK_EQ(harness_check(&h, "shrink 1"), 0);

	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_SET, 5 * 128 * MIB, &res), 0);
	CHECK_EQ(res.kind, HOTMEM_OP_KIND_GROW);
	CHECK_EQ(res.blocks_done, 3);
	CHECK_EQ(harness_check(&h, "set 5"), 0);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_SET, 5 * 128 * MIB, &res), 0);
	CHECK_EQ(res.kind, HOTMEM_OP_KIND_SET);
	CHECK_EQ(res.seq, 0);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_SET, 300 * MIB, &res), 0);
	CHECK_EQ(res.kind, HOTMEM_OP_KIND_SHRINK);
	CHECK_EQ(res.blocks_done, 2);
	CHECK_EQ(hotmem_domain_info(h.hm, domid, &info), 0);
	CHECK_EQ(info.granted_blocks, 3);
	CHECK_EQ(harness_check(&h, "set 3"), 0);

	/* Refusals, each with nothing changed. */
	CHECK_EQ(hotmem_detach(h.hm, domid), -EBUSY);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_SHRINK, 4 * 128 * MIB, &res), -ERANGE);
	CHECK_EQ(hotmem_set_max(h.hm, domid, 4 * 128 * MIB), 0);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, 2 * 128 * MIB, &res), -EDQUOT);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, 128 * MIB, &res), 0);
	CHECK_EQ(hotmem_set_max(h.hm, domid, 64 * GIB), 0);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, 64 * GIB, &res), -EDQUOT);
	CHECK_EQ(hotmem_set_max(h.hm, domid, 128 * GIB), 0);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, 509 * 128 * MIB, &res), -ENOSPC);
	/* The host has 24 GiB: 23 GiB more does not fit above the reserve. */
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, 23 * GIB, &res), -ENOMEM);
	CHECK_EQ(harness_check(&h, "refusals"), 0);

	/* Shrink everything, detach. */
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_SET, 0, &res), 0);
	CHECK_EQ(res.blocks_done, 4);
	CHECK_EQ(harness_check(&h, "set 0"), 0);
	CHECK_EQ(hotmem_detach(h.hm, domid), 0);
	hotmem_get_counters(h.hm, &counters);
	CHECK(counters.ops_done == counters.ops_started);
	CHECK_EQ(counters.rollbacks, 0);
	harness_fini(&h);
}

static void test_busy_and_not_ready(void)
{
	struct sim_guest_params noshrink = { .features = HOTMEM_FEATURE_MEMMAP_ON_MEMORY };
	struct sim_guest_params plain = { .memmap_bytes = SG_MEMMAP_NONE };
	struct hotmem_operation *op = NULL, *op2 = NULL;
	struct hotmem_result res;
	struct hotmem_domain_info info;
	struct harness h;
	uint32_t a, b, c, d;

	harness_init(&h, 0);
	a = harness_add_guest(&h, "a", 256 * 256, NULL, NULL);
	b = harness_add_guest(&h, "noshrink", 256 * 256, &noshrink, NULL);
	c = harness_add_guest(&h, "plain", 256 * 256, &plain, NULL);

	/* One operation per domain at a time. */
	CHECK_EQ(hotmem_op_start(h.hm, a, HOTMEM_OP_KIND_GROW, MIB, &op), 0);
	CHECK(!hotmem_op_done(op));
	CHECK_EQ(hotmem_op_result(op, &res), -EINPROGRESS);
	CHECK_EQ(hotmem_op_start(h.hm, a, HOTMEM_OP_KIND_GROW, MIB, &op2), -EBUSY);
	CHECK_EQ(hotmem_domain_info(h.hm, a, &info), 0);
	CHECK(info.busy);
	CHECK_EQ(hotmem_timeout_ms(h.hm), 0);
	/* Another domain is not held up. */
	CHECK_EQ(harness_op(&h, b, HOTMEM_OP_KIND_GROW, MIB, &res), 0);
	CHECK_EQ(harness_run(&h, op), 0);
	CHECK_EQ(hotmem_op_result(op, &res), 0);
	CHECK_EQ(res.error, 0);
	hotmem_op_free(op);

	/* Shrink needs the feature. */
	CHECK_EQ(harness_op(&h, b, HOTMEM_OP_KIND_SHRINK, MIB, &res), -EOPNOTSUPP);

	/* No self-hosted memmap: nothing populated by dom0, all usable. */
	CHECK_EQ(harness_op(&h, c, HOTMEM_OP_KIND_GROW, 256 * MIB, &res), 0);
	CHECK_EQ(res.pages_populated, 0);
	CHECK_EQ(res.usable_bytes_done, 256 * MIB);
	CHECK(res.fill_complete);
	CHECK_EQ(harness_op(&h, c, HOTMEM_OP_KIND_SHRINK, MIB, &res), 0);
	CHECK_EQ(res.pages_reclaimed, 128 * 256);
	CHECK_EQ(harness_check(&h, "busy"), 0);

	/* A guest that never published anything: no window, not ready. */
	{
		struct hv_sim_domain_params dp = { .name = "silent-driver", .boot_pages = 65536 };

		CHECK_EQ(hv_sim_domain_create(h.sim, &dp, &d), 0);
		CHECK_EQ(hotmem_attach(h.hm, d, NULL), 0);
		CHECK_EQ(hotmem_op_start(h.hm, d, HOTMEM_OP_KIND_GROW, MIB, &op), -EAGAIN);
		CHECK_EQ(hotmem_domain_info(h.hm, d, &info), 0);
		CHECK(!info.have_window);
		CHECK_EQ(hotmem_detach(h.hm, d), 0);
	}
	harness_fini(&h);
}

/* Two grows in flight cannot together promise more than the host has. */
static void test_promises(void)
{
	struct hotmem_operation *op = NULL;
	struct hotmem_result res;
	struct hv_physinfo pi;
	struct hv *dom0 = NULL;
	struct harness h;
	uint64_t available;
	uint32_t a, b, blocks;

	harness_init(&h, 0);
	a = harness_add_guest(&h, "a", 64 * 256, NULL, NULL);
	b = harness_add_guest(&h, "b", 64 * 256, NULL, NULL);
	hv_sim_open(h.sim, 0, &dom0);
	dom0->ops->physinfo(dom0, &pi);
	hv_close(dom0);
	available = (pi.free_pages << 12) - h.cfg.host_reserve_bytes;
	blocks = (uint32_t)(available * 6 / 10 / (128 * MIB));

	sim_guest_set_mode(harness_guest(&h, a), SG_SILENT);
	CHECK_EQ(hotmem_op_start(h.hm, a, HOTMEM_OP_KIND_GROW, blocks * 128 * MIB, &op), 0);
	/* Either fits alone; not both. */
	CHECK_EQ(harness_op(&h, b, HOTMEM_OP_KIND_GROW, blocks * 128 * MIB, &res), -ENOMEM);
	CHECK_EQ(harness_run(&h, op), 0);
	CHECK_EQ(hotmem_op_result(op, &res), 0);
	CHECK_EQ(res.error, -ETIMEDOUT);
	hotmem_op_free(op);
	/* Still promised while outstanding; released when the guest refuses it. */
	CHECK_EQ(harness_op(&h, b, HOTMEM_OP_KIND_GROW, blocks * 128 * MIB, &res), -ENOMEM);
	sim_guest_set_mode(harness_guest(&h, a), SG_ACK_ERROR);
	CHECK_EQ(harness_run(&h, NULL), 0);
	CHECK_EQ(harness_op(&h, b, HOTMEM_OP_KIND_GROW, blocks * 128 * MIB, &res), 0);
	CHECK_EQ(harness_check(&h, "promises"), 0);
	harness_fini(&h);
}

/* A guest whose balloon counts the heads: memory/target moves by whole blocks. */
static void test_memmap_in_target(void)
{
	struct sim_guest_params gp = { .block_size = 16 * MIB, .memmap_in_target = true };
	struct hotmem_domain_info info;
	struct hotmem_result res;
	struct sim_guest_stats fs;
	struct harness h;
	uint32_t domid;

	harness_init(&h, 0);
	h.cfg.memmap_in_target = true;
	harness_restart(&h, 0, NULL);
	domid = harness_add_guest(&h, "whole", 256 * 256, &gp, NULL);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, 48 * MIB, &res), 0);
	CHECK_EQ(res.target_bytes_done, 48 * MIB);
	CHECK_EQ(res.usable_bytes_done, 3 * (16 * MIB - 256 * 1024));
	CHECK(res.fill_complete);
	CHECK_EQ(hotmem_domain_info(h.hm, domid, &info), 0);
	CHECK(info.memmap_in_target);
	CHECK_EQ(info.granted_target_bytes, 48 * MIB);
	sim_guest_get_stats(harness_guest(&h, domid), &fs);
	CHECK_EQ(fs.balloon_current, 256 * 256 + 3 * 4096);
	CHECK_EQ(harness_check(&h, "memmap in target"), 0);
	/* The setting is the domain's, journalled: a restart without it keeps it. */
	h.cfg.memmap_in_target = false;
	harness_restart(&h, 0, NULL);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_SHRINK, 32 * MIB, &res), 0);
	CHECK_EQ(res.target_bytes_done, 32 * MIB);
	sim_guest_get_stats(harness_guest(&h, domid), &fs);
	CHECK_EQ(fs.balloon_current, 256 * 256 + 4096);
	CHECK_EQ(harness_check(&h, "memmap in target, after restart"), 0);
	harness_fini(&h);
}

/*
 * target-blocks is in use only when both sides list it, and is locked with
 * the window: a guest that does not count the heads gets H/features without
 * it (with the window) and memory/target by usable bytes; a guest that stops
 * listing it while the record says whole blocks is refused, not mis-accounted.
 */
static void test_target_blocks_negotiated(void)
{
	struct sim_guest_params counts = { .block_size = 16 * MIB, .memmap_in_target = true };
	struct sim_guest_params usable_only = { .block_size = 16 * MIB };
	const uint64_t usable = 16 * MIB - 256 * 1024;
	const char *narrow = "memmap-on-memory online-movable shrink stats";
	const char *all =
		"memmap-on-memory online-movable populated-blocks shrink stats target-blocks";
	/* What dom0 offers (H/features): the same and reboot-notice. */
	const char *narrow_ts =
		"memmap-on-memory online-movable reboot-notice shrink stats stats-swap";
	const char *all_ts = "memmap-on-memory online-movable populated-blocks reboot-notice "
			     "shrink stats stats-swap target-blocks";
	struct hotmem_domain_info info;
	struct hotmem_result res;
	struct sim_guest_stats fs;
	struct harness h;
	uint32_t a, b, c;

	harness_init(&h, 0);
	h.cfg.memmap_in_target = true;
	harness_restart(&h, 0, NULL);

	/* Offered, but the guest does not count the heads. */
	a = harness_add_guest(&h, "usable", 256 * 256, &usable_only, NULL);
	CHECK(dom0_is(&h, "/local/domain/%u/hotmem/features", a, narrow_ts));
	CHECK_EQ(harness_op(&h, a, HOTMEM_OP_KIND_GROW, 32 * MIB, &res), 0);
	CHECK_EQ(res.target_bytes_done, 2 * usable);
	CHECK_EQ(hotmem_domain_info(h.hm, a, &info), 0);
	CHECK(!info.memmap_in_target);
	sim_guest_get_stats(harness_guest(&h, a), &fs);
	CHECK_EQ(fs.balloon_current, 256 * 256 + 2 * (usable >> 12));

	/* Both list it. */
	b = harness_add_guest(&h, "whole", 256 * 256, &counts, NULL);
	CHECK(dom0_is(&h, "/local/domain/%u/hotmem/features", b, all_ts));
	CHECK_EQ(harness_op(&h, b, HOTMEM_OP_KIND_GROW, 32 * MIB, &res), 0);
	CHECK_EQ(res.target_bytes_done, 32 * MIB);
	CHECK_EQ(hotmem_domain_info(h.hm, b, &info), 0);
	CHECK(info.memmap_in_target);
	/* It stops listing it (a driver reloaded with memmap_in_target=0). */
	CHECK_EQ(sim_guest_write(harness_guest(&h, b), HOTMEM_KEY_GUEST_FEATURES, narrow,
				 strlen(narrow)),
		 0);
	CHECK_EQ(harness_op(&h, b, HOTMEM_OP_KIND_GROW, 16 * MIB, &res), -EPROTO);
	CHECK_EQ(harness_check(&h, "target-blocks dropped"), 0);
	CHECK_EQ(sim_guest_write(harness_guest(&h, b), HOTMEM_KEY_GUEST_FEATURES, all, strlen(all)),
		 0);
	CHECK_EQ(harness_op(&h, b, HOTMEM_OP_KIND_GROW, 16 * MIB, &res), 0);
	CHECK_EQ(res.target_bytes_done, 16 * MIB);

	/* Not offered: a guest that counts the heads does not here. */
	h.cfg.memmap_in_target = false;
	harness_restart(&h, 0, NULL);
	c = harness_add_guest(&h, "unoffered", 256 * 256, &counts, NULL);
	CHECK(dom0_is(&h, "/local/domain/%u/hotmem/features", c, narrow_ts));
	CHECK_EQ(harness_op(&h, c, HOTMEM_OP_KIND_GROW, 16 * MIB, &res), 0);
	CHECK_EQ(res.target_bytes_done, usable);
	sim_guest_get_stats(harness_guest(&h, c), &fs);
	CHECK_EQ(fs.balloon_current, 256 * 256 + (usable >> 12));
	CHECK_EQ(harness_check(&h, "target-blocks negotiated"), 0);
	harness_fini(&h);
}

/* ---- blocking wrappers, guest in its own thread, real clock --------------- */

struct guest_thread {
	struct sim_guest *guest;
	volatile bool stop;
};

static void *guest_main(void *arg)
{
	struct guest_thread *t = arg;

	while (!t->stop) {
		if (!sim_guest_step(t->guest))
			usleep(500);
	}
	return NULL;
}

static void test_blocking(void)
{
	struct hv_sim_domain_params dp = { .name = "threaded",
					   .boot_pages = 65536,
					   .max_slack_kib = 1024 };
	struct sim_guest_params params = { .block_size = 16 * MIB };
	struct guest_thread t = { 0 };
	struct hotmem_config cfg;
	struct hotmem_result res;
	struct hotmem *hm = NULL;
	struct hv_sim *sim = NULL;
	struct hv_sim_config sim_cfg;
	struct hv *dom0 = NULL;
	pthread_t thread;
	uint32_t domid;
	char why[200];

	hv_sim_config_defaults(&sim_cfg);
	sim_cfg.quiet = true;
	CHECK_EQ(hv_sim_new(&sim_cfg, &sim), 0);
	CHECK_EQ(hv_sim_domain_create(sim, &dp, &domid), 0);
	CHECK_EQ(hv_sim_open(sim, 0, &dom0), 0);
	CHECK_EQ(sim_guest_new(sim, domid, &params, &t.guest), 0);
	hotmem_config_defaults(&cfg);
	cfg.ack_timeout_ms = 5000;
	cfg.fill_timeout_ms = 5000;
	cfg.fill_poll_ms = 2;
	CHECK_EQ(hotmem_open(dom0, &cfg, &hm), 0);
	CHECK_EQ(hotmem_reconcile(hm, NULL), 0);
	CHECK_EQ(pthread_create(&thread, NULL, guest_main, &t), 0);
	CHECK_EQ(hotmem_attach(hm, domid, NULL), 0);
	/* Until the window is out and the guest is ready, grows say -EAGAIN. */
	{
		int tries = 0, r;

		while ((r = hotmem_grow(hm, domid, 40 * MIB, &res)) == -EAGAIN && tries++ < 2000) {
			hotmem_dispatch(hm);
			usleep(1000);
		}
		CHECK_EQ(r, 0);
	}
	CHECK_EQ(res.blocks_done, 3);
	CHECK(res.fill_complete);
	CHECK_EQ(hotmem_shrink(hm, domid, 16 * MIB, &res), 0);
	CHECK_EQ(res.blocks_done, 1);
	CHECK_EQ(hotmem_set(hm, domid, 0, &res), 0);
	CHECK_EQ(res.blocks_done, 2);
	CHECK_EQ(hotmem_set(hm, domid, 0, NULL), 0);
	t.stop = true;
	pthread_join(thread, NULL);
	CHECK_EQ(hv_sim_check(sim, why, sizeof(why)), 0);
	CHECK_EQ(hotmem_detach(hm, domid), 0);
	hotmem_close(hm);
	sim_guest_free(t.guest);
	hv_close(dom0);
	hv_sim_free(sim);
}

/*
 * populated-blocks: with both sides listing it (and target-blocks), dom0
 * populates whole blocks before the request, a 1 GiB-aligned GiB as one
 * order-18 extent and the rest of the request in order-9 extents, the guest
 * populates nothing itself, and a shrink gives every frame back.
 */
static void test_populated_blocks(void)
{
	struct sim_guest_params whole = { .memmap_in_target = true };
	struct hv_sim_domain_stats before, after;
	struct hotmem_domain_info info;
	struct hotmem_result res;
	struct sim_guest_stats fs;
	struct harness h;
	unsigned int order, nr_gib = 0, nr_2m = 0;
	uint32_t domid, block;
	uint64_t gfn;

	harness_init(&h, 0);
	h.cfg.memmap_in_target = true;
	harness_restart(&h, 0, NULL);
	domid = harness_add_guest(&h, "populated", 256 * 256, &whole, NULL);
	CHECK_EQ(hv_sim_domain_stats(h.sim, domid, &before), 0);
	/* 1.5 GiB from the (GiB-aligned) window base: one GiB, then four blocks. */
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, 1536 * MIB, &res), 0);
	CHECK_EQ(res.blocks_done, 12);
	CHECK_EQ(res.pages_populated, 12 * 32768);
	CHECK_EQ(res.target_bytes_done, 1536 * MIB);
	CHECK(res.fill_complete);
	CHECK_EQ(hotmem_domain_info(h.hm, domid, &info), 0);
	CHECK_EQ(info.window.base % GIB, 0);
	for (block = 0; block < 12; block++) {
		gfn = (info.window.base >> 12) + (uint64_t)block * 32768;
		CHECK_EQ(hv_sim_gfn_populated(h.sim, domid, gfn + 32767, &order), 1);
		nr_gib += order == 18;
		nr_2m += order == 9;
	}
	CHECK_EQ(nr_gib, 8);
	CHECK_EQ(nr_2m, 4);
	sim_guest_get_stats(harness_guest(&h, domid), &fs);
	CHECK_EQ(fs.self_populated, 0);
	CHECK_EQ(fs.dom0_errors, 0);
	CHECK_EQ(fs.balloon_current, 256 * 256 + 12 * 32768);
	CHECK_EQ(harness_check(&h, "populated grow"), 0);

	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_SHRINK, 1536 * MIB, &res), 0);
	CHECK_EQ(res.pages_reclaimed, 12 * 32768);
	CHECK_EQ(res.pages_skipped, 0);
	CHECK_EQ(hv_sim_domain_stats(h.sim, domid, &after), 0);
	CHECK_EQ(after.tot_pages, before.tot_pages);
	CHECK_EQ(harness_check(&h, "populated shrink"), 0);
	harness_fini(&h);
}

/*
 * What a grow and a reload read that they need not: H/guest/shutdown on
 * every event the guest's per-block writes fire (only an event on that key,
 * or on all of H/guest, can mean a shutdown notice), and the keys an idle
 * journal record does not have (the record's directory lists what there
 * is). Each read is a xenstore round trip, milliseconds on a loaded dom0.
 */
static void test_needless_reads(void)
{
	const struct hv_sim_fault mkdir_fault = {
		.op = HV_SIM_OP_XS_MKDIR, .nth = 1, .error = -EIO, .caller = 0
	};
	enum hv_sim_fault_state fault_state = HV_SIM_FAULT_FIRED;
	unsigned int fault_id = 0;
	struct hotmem_result res;
	struct harness h;
	uint32_t domid;

	harness_init(&h, 0);
	harness_restart(&h, 0, NULL);
	domid = harness_add_guest(&h, "reads", 256 * 256, NULL, NULL);
	h.count_reads_suffix = "/" HOTMEM_KEY_GUEST_SHUTDOWN;
	h.counted_reads = 0;
	harness_arm_kill(&h, 0);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, 4 * 128 * MIB, &res), 0);
	CHECK_EQ(res.blocks_done, 4);
	CHECK_EQ(h.counted_reads, 0);
	/*
	 * Admission; four populate steps (one per block head), each journalled,
	 * the last with the request; the ack recorded (the block list it
	 * raises max memory for read with it, not in a transaction of its
	 * own); the journal closed.
	 */
	CHECK_EQ(harness_calls(&h, HV_SIM_OP_XS_TXN_START), 7);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_SET, 0, &res), 0);
	CHECK_EQ(h.counted_reads, 0);

	/* An idle record has no op, pending, refused, frozen or restored key. */
	h.count_reads_suffix = "/restored";
	h.counted_reads = 0;
	/* The journal was claimed before: the new engine's claim makes no directory. */
	CHECK_EQ(hv_sim_fault_arm(h.sim, &mkdir_fault, &fault_id), 0);
	CHECK_EQ(harness_restart(&h, 0, NULL), 0);
	CHECK_EQ(hv_sim_fault_state(h.sim, fault_id, &fault_state), 0);
	CHECK_EQ(fault_state, HV_SIM_FAULT_ARMED);
	hv_sim_fault_disarm(h.sim, fault_id);
	CHECK_EQ(h.counted_reads, 0);
	h.count_reads_suffix = NULL;
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, 128 * MIB, &res), 0);
	CHECK_EQ(harness_check(&h, "after a reload of the record"), 0);
	harness_fini(&h);
}

int main(void)
{
	test_args();
	test_window_plan();
	test_dt();
	test_attach();
	test_grow_shrink_set();
	test_busy_and_not_ready();
	test_memmap_in_target();
	test_target_blocks_negotiated();
	test_populated_blocks();
	test_needless_reads();
	test_promises();
	test_blocking();
	return check_exit("test_engine_basic");
}
