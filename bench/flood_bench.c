/*
 * flood_bench: what a guest flooding xenstore costs its neighbours.
 *
 * One simulated host (hv/sim), one engine driven the way hotmemd drives it
 * (poll on hotmem_fd() with hotmem_timeout_ms(), then hotmem_dispatch()),
 * the simulated guests stepped from their own thread as real vCPUs would
 * run. Domain "flood" has a grow waiting for its ack (its guest never
 * answers: every event on it is one the engine must look at) and rewrites
 * its H/guest/stats at a fixed rate from a third thread. Domain "victim"
 * grows by 8 blocks and shrinks back, several times, first with the flooder
 * quiet and then flooding; the program prints the median grow time of each,
 * their ratio, and the xenstore reads the engine made per grow. A figure,
 * not a test: it never fails on timing.
 *
 * Usage: flood_bench [writes-per-second (default 10000)] [rounds (default 5)]
 *                    [event-min-interval-ms (default: the engine's)]
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hotmem/hotmem.h"
#include "hotmem/hv_sim.h"
#include "sim_guest.h"

#define BLOCK	     (128ull << 20)
#define GROW_BLOCKS  8
#define BOOT_PAGES   (512ull << 8) /* 512 MiB */
#define WINDOW_BYTES (64 * BLOCK)

static struct hv_sim *sim;
static struct sim_guest *guests[2];
static pthread_mutex_t guest_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool stop_guests, flooding, stop_flood;
static unsigned long flood_rate = 10000;
static atomic_ulong flood_writes;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "flood_bench: %s: %s\n", what, strerror(-r));
	exit(1);
}

/* The guests' vCPUs: step each one whenever its watches fire. */
static void *guest_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_guests)) {
		struct pollfd pfds[2];

		for (int i = 0; i < 2; i++)
			pfds[i] =
				(struct pollfd){ .fd = sim_guest_fd(guests[i]), .events = POLLIN };
		poll(pfds, 2, 5);
		pthread_mutex_lock(&guest_lock);
		for (int i = 0; i < 2; i++)
			while (sim_guest_step(guests[i]) > 0)
				;
		pthread_mutex_unlock(&guest_lock);
	}
	return NULL;
}

/* The flooder's root rewriting its stats key at flood_rate writes a second. */
static void *flood_thread(void *arg)
{
	uint32_t domid = *(uint32_t *)arg;
	struct hv *hv = NULL;
	uint64_t counter = 1, start = now_ns();
	int r = hv_sim_open(sim, domid, &hv);

	if (r < 0)
		die("open the flooder's connection", r);
	while (!atomic_load(&stop_flood)) {
		char value[96];
		uint64_t due;

		if (!atomic_load(&flooding)) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
			start = now_ns();
			counter = 1;
			continue;
		}
		due = start + counter * (1000000000ull / flood_rate);
		while (now_ns() < due) {
			struct timespec ts = { 0, 20000 };

			nanosleep(&ts, NULL);
		}
		snprintf(value, sizeof(value), "%" PRIu64 " 1048576 524288 0 0", counter++);
		hv->ops->xs_write(hv, HV_XS_NO_TXN, HOTMEM_KEY_GUEST_STATS, value, strlen(value));
		atomic_fetch_add(&flood_writes, 1);
	}
	hv_close(hv);
	return NULL;
}

/* hotmemd's loop until op is done. */
static void run_op(struct hotmem *hm, struct hotmem_operation *op)
{
	while (!hotmem_op_done(op)) {
		struct pollfd pfd = { .fd = hotmem_fd(hm), .events = POLLIN };
		int r;

		poll(&pfd, 1, hotmem_timeout_ms(hm));
		r = hotmem_dispatch(hm);
		if (r < 0)
			die("dispatch", r);
	}
}

static uint64_t timed_op(struct hotmem *hm, uint32_t domid, enum hotmem_op_kind kind,
			 uint64_t *ret_reads)
{
	struct hotmem_operation *op = NULL;
	struct hotmem_result res;
	struct hotmem_counters c0, c1;
	uint64_t start = now_ns();
	int r;

	hotmem_get_counters(hm, &c0);
	r = hotmem_op_start(hm, domid, kind, GROW_BLOCKS * BLOCK, &op);

	if (r < 0)
		die("op start", r);
	run_op(hm, op);
	hotmem_op_result(op, &res);
	hotmem_op_free(op);
	if (res.error)
		die("op", res.error);
	if (ret_reads) {
		hotmem_get_counters(hm, &c1);
		*ret_reads = c1.xs_reads - c0.xs_reads;
	}
	return now_ns() - start;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	struct hv_sim_config cfg;
	struct hotmem_config hcfg;
	struct hotmem_attach_params ap = { .window_bytes = WINDOW_BYTES };
	struct sim_guest_params gp = { .block_size = BLOCK, .mode = SG_NORMAL };
	struct hv_sim_domain_params dp = { .boot_pages = BOOT_PAGES,
					   .max_slack_kib = HV_SIM_LIBXL_MAXMEM_SLACK_KIB };
	struct hotmem_operation *flood_op = NULL;
	unsigned int rounds = 5;
	uint64_t quiet[32], flood[32], reads_quiet = 0, reads_flood = 0, reads;
	uint32_t domids[2];
	struct hotmem *hm = NULL;
	struct hv *dom0 = NULL;
	pthread_t gthread, fthread;
	int r;

	if (argc > 1)
		flood_rate = strtoul(argv[1], NULL, 10);
	if (argc > 2)
		rounds = (unsigned int)strtoul(argv[2], NULL, 10);
	hotmem_config_defaults(&hcfg);
	if (argc > 3)
		hcfg.event_min_interval_ms = (uint32_t)strtoul(argv[3], NULL, 10);
	if (!flood_rate || !rounds || rounds > 32) {
		fprintf(stderr, "usage: flood_bench [writes-per-second] [rounds <= 32]\n");
		return 1;
	}
	hv_sim_config_defaults(&cfg);
	cfg.quiet = true;
	r = hv_sim_new(&cfg, &sim);
	if (r < 0)
		die("sim", r);
	for (int i = 0; i < 2; i++) {
		dp.name = i ? "flood" : "victim";
		r = hv_sim_domain_create(sim, &dp, &domids[i]);
		if (r < 0)
			die("domain", r);
		gp.mode = i ? SG_SILENT : SG_NORMAL;
		r = sim_guest_new(sim, domids[i], &gp, &guests[i]);
		if (r < 0)
			die("guest", r);
	}
	r = hv_sim_open(sim, 0, &dom0);
	if (r < 0)
		die("dom0", r);
	hcfg.memmap_in_target = false;
	hcfg.ack_timeout_ms = 3600000; /* the flooder's request stays waiting */
	r = hotmem_open(dom0, &hcfg, &hm);
	if (!r)
		r = hotmem_reconcile(hm, NULL);
	if (r < 0)
		die("engine", r);
	pthread_create(&gthread, NULL, guest_thread, NULL);
	pthread_create(&fthread, NULL, flood_thread, &domids[1]);
	for (int i = 0; i < 2; i++) {
		r = hotmem_attach(hm, domids[i], &ap);
		if (r < 0)
			die("attach", r);
	}
	/* Both guests ready (the flooder answers nothing, but it hands shakes). */
	for (uint64_t start = now_ns(); now_ns() - start < 2000000000ull;) {
		struct pollfd pfd = { .fd = hotmem_fd(hm), .events = POLLIN };

		poll(&pfd, 1, 10);
		hotmem_dispatch(hm);
	}
	r = hotmem_op_start(hm, domids[1], HOTMEM_OP_KIND_GROW, BLOCK, &flood_op);
	if (r < 0)
		die("flooder's grow", r);

	for (int phase = 0; phase < 2; phase++) {
		atomic_store(&flooding, phase == 1);
		atomic_store(&flood_writes, 0);
		uint64_t phase_start = now_ns();

		for (unsigned int i = 0; i < rounds; i++) {
			uint64_t *times = phase ? flood : quiet;

			times[i] = timed_op(hm, domids[0], HOTMEM_OP_KIND_GROW, &reads);
			*(phase ? &reads_flood : &reads_quiet) += reads;
			timed_op(hm, domids[0], HOTMEM_OP_KIND_SHRINK, NULL);
		}
		if (phase)
			printf("flood: %lu writes in %.2f s (%.0f/s asked %lu/s)\n",
			       atomic_load(&flood_writes), (now_ns() - phase_start) / 1e9,
			       atomic_load(&flood_writes) / ((now_ns() - phase_start) / 1e9),
			       flood_rate);
	}
	atomic_store(&stop_flood, true);
	pthread_join(fthread, NULL);
	{
		uint64_t q = median(quiet, rounds), f = median(flood, rounds);

		printf("victim grow by %d x 128 MiB, median of %u: quiet %.1f ms, flooded %.1f "
		       "ms\n",
		       GROW_BLOCKS, rounds, q / 1e6, f / 1e6);
		printf("the engine's xenstore reads per grow: quiet %" PRIu64 ", flooded %" PRIu64
		       "\n",
		       reads_quiet / rounds, reads_flood / rounds);
		printf("ratio flooded/quiet: %.2f (event_min_interval_ms %" PRIu32 ")\n",
		       (double)f / (double)q, hcfg.event_min_interval_ms);
	}
	atomic_store(&stop_guests, true);
	pthread_join(gthread, NULL);
	hotmem_op_free(flood_op);
	hotmem_close(hm);
	hv_close(dom0);
	for (int i = 0; i < 2; i++)
		sim_guest_free(guests[i]);
	hv_sim_free(sim);
	return 0;
}
