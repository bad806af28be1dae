/*
 * Moving a domain's balloon target between operations (hotmem_set_target),
 * the engine call an autoscaler uses for short-term reclaim and for deflating
 * the balloon before it grows blocks: argument and state refusals (nothing
 * changes), the ceiling (boot RAM plus what the grants added), a target below
 * the boot RAM that the simulated guest's balloon follows, a grow and a shrink
 * that move the target from the written value and not from the records'
 * notion of it, and the records still agreeing with the sim once the target is
 * back; the ceiling is memory/static-max even when libxl's ring pages put
 * tot_pages above it. Also the simulated guest's stats, which drive the policy in
 * `hotmemd --hv sim`: published every H/stats-interval-ms on the harness's
 * fake clock, computed from the balloon's frames and the load a test sets,
 * silent when told to go stale. And hotmem_set_host_reserve(): admission
 * follows a reserve changed at run time, which takes nothing back.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "check.h"
#include "engine_harness.h"

#define MIB   (1ull << 20)
#define BLOCK (16 * MIB)

static uint64_t tot_pages(struct harness *h, uint32_t domid)
{
	struct hv_sim_domain_stats ds = { 0 };

	hv_sim_domain_stats(h->sim, domid, &ds);
	return ds.tot_pages;
}

/* Set the target, let the balloon follow, check Xen and xenstore agree. */
static void move_target(struct harness *h, uint32_t domid, uint64_t bytes, const char *what)
{
	CHECK_EQ(hotmem_set_target(h->hm, domid, bytes), 0);
	CHECK_EQ(harness_run(h, NULL), 0);
	CHECK_EQ(harness_read_dec(h, domid, "memory/target"), bytes >> 10);
	CHECK_EQ(tot_pages(h, domid), bytes >> 12);
	if (tot_pages(h, domid) != bytes >> 12)
		fprintf(stderr, "  after %s: tot_pages %" PRIu64 ", target %" PRIu64 " pages\n",
			what, tot_pages(h, domid), bytes >> 12);
}

static void test_set_target(void)
{
	struct sim_guest_params gp = { .block_size = BLOCK,
				       .memmap_in_target = true,
				       .balloon_boot = true };
	const uint64_t boot = 256 * MIB;
	struct hotmem_operation *op = NULL;
	struct hotmem_domain_info info;
	struct hotmem_result res;
	struct sim_guest_stats fs;
	struct harness h;
	uint64_t static_kib;
	uint32_t domid;

	harness_init(&h, 0);
	h.cfg.memmap_in_target = true;
	harness_restart(&h, 0, NULL);
	domid = harness_add_guest(&h, "web", boot >> 12, &gp, NULL);
	CHECK_EQ(hotmem_domain_info(h.hm, domid, &info), 0);
	CHECK_EQ(info.boot_bytes, boot);
	static_kib = harness_read_dec(&h, domid, "memory/static-max");

	/* Refusals change nothing. */
	CHECK_EQ(hotmem_set_target(NULL, domid, boot), -EINVAL);
	CHECK_EQ(hotmem_set_target(h.hm, domid, 0), -EINVAL);
	CHECK_EQ(hotmem_set_target(h.hm, domid, boot - 512), -EINVAL);
	CHECK_EQ(hotmem_set_target(h.hm, 4242, boot), -ENOENT);
	CHECK_EQ(hotmem_set_target(h.hm, domid, boot + 1024), -ERANGE);
	CHECK_EQ(harness_read_dec(&h, domid, "memory/target"), boot >> 10);

	/* Three blocks: the ceiling rises by what their grant added to the target. */
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, 3 * BLOCK, &res), 0);
	CHECK_EQ(hotmem_set_target(h.hm, domid, boot + 3 * BLOCK + 1024), -ERANGE);
	move_target(&h, domid, boot + 3 * BLOCK, "no-op at the ceiling");
	CHECK_EQ(harness_check(&h, "at the ceiling"), 0);

	/* Short-term reclaim: the balloon gives back 40 MiB, then boot RAM too. */
	move_target(&h, domid, boot + 3 * BLOCK - 40 * MIB, "balloon -40M");
	move_target(&h, domid, 200 * MIB, "below boot");
	sim_guest_get_stats(harness_guest(&h, domid), &fs);
	CHECK(fs.boot_ballooned > 0);
	/* static-max is the records' (boot + blocks): a target move leaves it. */
	CHECK_EQ(harness_read_dec(&h, domid, "memory/static-max"), static_kib + 3 * (BLOCK >> 10));

	/* Busy: a grow in flight owns the target until its ack is recorded. */
	CHECK_EQ(hotmem_op_start(h.hm, domid, HOTMEM_OP_KIND_GROW, BLOCK, &op), 0);
	CHECK_EQ(hotmem_set_target(h.hm, domid, 220 * MIB), -EBUSY);
	CHECK_EQ(harness_run(&h, op), 0);
	CHECK(hotmem_op_done(op));
	CHECK_EQ(hotmem_op_result(op, &res), 0);
	CHECK_EQ(res.error, 0);
	hotmem_op_free(op);
	/* The grow moved the target from the value written, by one block. */
	CHECK_EQ(harness_read_dec(&h, domid, "memory/target"), (200 * MIB + BLOCK) >> 10);

	/* A shrink lowers it by one block from there, too. */
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_SHRINK, BLOCK, &res), 0);
	CHECK_EQ(harness_read_dec(&h, domid, "memory/target"), 200 * MIB >> 10);
	CHECK_EQ(harness_run(&h, NULL), 0);
	CHECK_EQ(tot_pages(&h, domid), 200 * MIB >> 12);

	/* Back at the ceiling, every frame where the records say it is. */
	move_target(&h, domid, boot + 3 * BLOCK, "back to the ceiling");
	sim_guest_get_stats(harness_guest(&h, domid), &fs);
	CHECK_EQ(fs.boot_ballooned, 0);
	CHECK_EQ(harness_check(&h, "target restored"), 0);
	harness_fini(&h);
}

/*
 * libxl gives a domain pages besides its RAM (console and xenstore rings at
 * GUEST_MAGIC_BASE), so tot_pages is a few pages above memory/static-max. The
 * ceiling is static-max: a target above it would make Linux's balloon
 * hot-add memory of its own (lab.autoscale saw exactly that crash a guest).
 */
static void test_ceiling_is_static_max(void)
{
	struct sim_guest_params gp = { .block_size = BLOCK,
				       .memmap_in_target = true,
				       .balloon_boot = true };
	struct hv_sim_domain_params dp = { .name = "rings",
					   .boot_pages = 256 * MIB >> 12,
					   .max_slack_kib = HV_SIM_LIBXL_MAXMEM_SLACK_KIB };
	const uint64_t magic_gfn = 0x39000000 >> 12, boot = 256 * MIB;
	uint64_t gfns[4] = { magic_gfn, magic_gfn + 1, magic_gfn + 2, magic_gfn + 3 };
	struct hotmem_domain_info info;
	struct hv_sim_domain_stats ds;
	struct hotmem_result res;
	struct sim_guest_stats fs;
	struct harness h;
	struct hv *dom0 = NULL;
	uint32_t domid = 0, i;
	size_t done = 0;

	harness_init(&h, 0);
	h.cfg.memmap_in_target = true;
	harness_restart(&h, 0, NULL);
	/* harness_add_guest() by hand, with the rings populated before attach. */
	CHECK_EQ(hv_sim_domain_create(h.sim, &dp, &domid), 0);
	CHECK_EQ(hv_sim_open(h.sim, 0, &dom0), 0);
	CHECK_EQ(dom0->ops->populate(dom0, domid, 0, gfns, 4, &done), 0);
	hv_close(dom0);
	CHECK_EQ(hv_sim_domain_stats(h.sim, domid, &ds), 0);
	CHECK_EQ(ds.tot_pages, (boot >> 12) + 4);
	i = h.nr_guests++;
	h.base[i] = (struct harness_base){ .domid = domid,
					   .boot_pages = ds.tot_pages,
					   .max_pages = ds.max_pages,
					   .pool_pages = ds.pool_pages,
					   .target_kib = boot >> 10,
					   .static_kib = boot >> 10 };
	CHECK_EQ(sim_guest_new(h.sim, domid, &gp, &h.guests[i]), 0);
	CHECK_EQ(hotmem_attach(h.hm, domid, NULL), 0);
	CHECK_EQ(harness_run(&h, NULL), 0);

	/* The engine's boot RAM (where the window may start) counts the rings... */
	CHECK_EQ(hotmem_domain_info(h.hm, domid, &info), 0);
	CHECK_EQ(info.boot_bytes, boot + 4 * 4096);
	/* ...the target's ceiling does not. */
	CHECK_EQ(hotmem_set_target(h.hm, domid, boot + 16 * 1024), -ERANGE);
	CHECK_EQ(hotmem_set_target(h.hm, domid, boot - 32 * MIB), 0);
	CHECK_EQ(harness_run(&h, NULL), 0);
	CHECK_EQ(tot_pages(&h, domid), ((boot - 32 * MIB) >> 12) + 4); /* the rings stay */
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, BLOCK, &res), 0);
	CHECK_EQ(hotmem_set_target(h.hm, domid, boot + BLOCK + 1024), -ERANGE);
	/* The grow moved the target from where it was; back to the top now. */
	CHECK_EQ(harness_read_dec(&h, domid, "memory/target"), (boot - 32 * MIB + BLOCK) >> 10);
	CHECK_EQ(hotmem_set_target(h.hm, domid, boot + BLOCK), 0);
	CHECK_EQ(harness_run(&h, NULL), 0);
	CHECK_EQ(tot_pages(&h, domid), ((boot + BLOCK) >> 12) + 4);
	sim_guest_get_stats(h.guests[i], &fs);
	CHECK_EQ(fs.balloon_hotplugs, 0);
	CHECK_EQ(harness_check(&h, "rings"), 0);

	/* What xl mem-set above static-max does: the guest's balloon would hot-add. */
	CHECK_EQ(hv_sim_open(h.sim, 0, &dom0), 0);
	CHECK_EQ(dom0->ops->xs_write(dom0, HV_XS_NO_TXN, "/local/domain/1/memory/target", "400000",
				     6),
		 0);
	hv_close(dom0);
	CHECK_EQ(harness_run(&h, NULL), 0);
	sim_guest_get_stats(h.guests[i], &fs);
	CHECK_EQ(fs.balloon_hotplugs, 1);
	harness_fini(&h);
}

static uint64_t host_free_bytes(struct harness *h)
{
	struct hv_physinfo pi = { 0 };
	struct hv *dom0 = NULL;

	if (hv_sim_open(h->sim, 0, &dom0) == 0)
		dom0->ops->physinfo(dom0, &pi);
	hv_close(dom0);
	return pi.free_pages << 12;
}

/*
 * hotmem_set_host_reserve (hotmemd's SIGHUP): admission follows the new
 * reserve both ways at once, and raising it takes nothing granted back.
 */
static void test_host_reserve(void)
{
	struct sim_guest_params gp = { .block_size = BLOCK, .memmap_in_target = true };
	struct hotmem_domain_info info;
	struct hotmem_result res;
	struct harness h;
	uint64_t free_bytes;
	uint32_t domid;

	harness_init(&h, 0);
	h.cfg.memmap_in_target = true;
	harness_restart(&h, 0, NULL);
	domid = harness_add_guest(&h, "web", 256 * MIB >> 12, &gp, NULL);
	CHECK_EQ(hotmem_set_host_reserve(NULL, 0), -EINVAL);

	/* Less than a block above the reserve: refused, nothing changed. */
	free_bytes = host_free_bytes(&h);
	CHECK_EQ(hotmem_set_host_reserve(h.hm, free_bytes - BLOCK / 2), 0);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, BLOCK, &res), -ENOMEM);
	CHECK_EQ(host_free_bytes(&h), free_bytes);
	CHECK_EQ(harness_check(&h, "reserve raised"), 0);

	/* Lowered again: the same grow is admitted. */
	CHECK_EQ(hotmem_set_host_reserve(h.hm, 256 * MIB), 0);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, BLOCK, &res), 0);
	CHECK_EQ(res.blocks_done, 1);

	/* Raised above everything: the grant stays, a shrink still works. */
	CHECK_EQ(hotmem_set_host_reserve(h.hm, UINT64_MAX), 0);
	CHECK_EQ(hotmem_domain_info(h.hm, domid, &info), 0);
	CHECK_EQ(info.granted_bytes, BLOCK);
	CHECK_EQ(harness_check(&h, "reserve above the host"), 0);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, BLOCK, &res), -ENOMEM);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_SHRINK, BLOCK, &res), 0);
	CHECK_EQ(res.blocks_done, 1);
	CHECK_EQ(harness_check(&h, "shrunk under a full reserve"), 0);
	harness_fini(&h);
}

static uint64_t fake_clock(void *opaque)
{
	return ((struct harness *)opaque)->now_ms;
}

/* Step the guest once at the harness clock plus ms. */
static void advance(struct harness *h, uint32_t domid, uint64_t ms)
{
	h->now_ms += ms;
	sim_guest_step(harness_guest(h, domid));
}

static struct hotmem_stats stats_now(struct harness *h, uint32_t domid)
{
	struct hotmem_guest_status gs;

	memset(&gs, 0, sizeof(gs));
	CHECK_EQ(hotmem_guest_status(h->hm, domid, &gs), 0);
	CHECK(gs.have_stats);
	return gs.stats;
}

static void test_stats(void)
{
	struct sim_guest_params gp = { .block_size = BLOCK };
	struct hotmem_attach_params ap = { .stats_interval_ms = 1000 };
	struct sim_guest_load load = { 0 };
	struct hotmem_result res;
	struct hotmem_stats st, st2;
	struct sim_guest_stats fs;
	struct harness h;
	uint32_t domid;

	harness_init(&h, 0);
	gp.clock_ms = fake_clock;
	gp.clock_opaque = &h;
	domid = harness_add_guest(&h, "db", 256 * MIB >> 12, &gp, &ap);
	/* Published as soon as the interval is known, then once per interval. */
	st = stats_now(&h, domid);
	CHECK_EQ(st.counter, 1);
	/* 256 MiB minus 16 MiB reserved (1/16), minus 24 MiB the kernel uses. */
	CHECK_EQ(st.memtotal_kib, 240 * 1024);
	CHECK_EQ(st.memavail_kib, 216 * 1024);
	advance(&h, domid, 999);
	CHECK_EQ(stats_now(&h, domid).counter, 1);
	advance(&h, domid, 1);
	CHECK_EQ(stats_now(&h, domid).counter, 2);

	/* The load shows at the next publication, PSI as given. */
	load.working_set_bytes = 100 * MIB;
	load.psi_some_avg10 = 1234;
	load.psi_full_avg10 = 56;
	sim_guest_set_load(harness_guest(&h, domid), &load);
	advance(&h, domid, 1000);
	st2 = stats_now(&h, domid);
	CHECK_EQ(st2.counter, 3);
	CHECK_EQ(st2.memavail_kib, st.memavail_kib - 100 * 1024);
	CHECK_EQ(st2.psi_some_avg10, 1234);
	CHECK_EQ(st2.psi_full_avg10, 56);
	/* A working set beyond MemTotal: MemAvailable 0, never negative. */
	load.working_set_bytes = 1024 * MIB;
	sim_guest_set_load(harness_guest(&h, domid), &load);
	advance(&h, domid, 1000);
	CHECK_EQ(stats_now(&h, domid).memavail_kib, 0);

	/* A grow shows in MemTotal (usable part only: the head is the memmap). */
	load.working_set_bytes = 0;
	sim_guest_set_load(harness_guest(&h, domid), &load);
	CHECK_EQ(harness_op(&h, domid, HOTMEM_OP_KIND_GROW, BLOCK, &res), 0);
	advance(&h, domid, 1000);
	st2 = stats_now(&h, domid);
	CHECK(st2.memtotal_kib > st.memtotal_kib);

	/* Stale: the counter stops; a new interval of 0 stops it for good. */
	load.stats_off = true;
	sim_guest_set_load(harness_guest(&h, domid), &load);
	advance(&h, domid, 5000);
	CHECK_EQ(stats_now(&h, domid).counter, st2.counter);
	load.stats_off = false;
	sim_guest_set_load(harness_guest(&h, domid), &load);
	CHECK_EQ(hotmem_set_stats_interval(h.hm, domid, 0), 0);
	CHECK_EQ(harness_run(&h, NULL), 0);
	advance(&h, domid, 5000);
	CHECK_EQ(stats_now(&h, domid).counter, st2.counter);
	sim_guest_get_stats(harness_guest(&h, domid), &fs);
	CHECK_EQ(fs.stats_published, st2.counter);
	CHECK_EQ(harness_check(&h, "stats"), 0);
	harness_fini(&h);
}

int main(void)
{
	test_set_target();
	test_ceiling_is_static_max();
	test_host_reserve();
	test_stats();
	return check_exit("test_engine_target");
}
