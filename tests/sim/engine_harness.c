/*
 * The engine test harness (see engine_harness.h): a kill proxy in front of the
 * engine's dom0 connection, a fake clock, the simulated guests of
 * hv/sim/sim_guest.c, a deterministic single-threaded driver loop, crash
 * restarts and the records-versus-sim checker.
 */
#include "engine_harness.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- kill proxy ---------------------------------------------------------- */

struct kill_proxy {
	struct hv hv; /* first: the engine sees a struct hv */
	struct hv *inner;
	unsigned long mutations; /* mutating calls since arming */
	unsigned long kill_after;
	bool dead;
	unsigned long calls[HV_SIM_OP_COUNT]; /* per op, since arming */
	struct harness *harness;	      /* for after_mutation */
};

static struct kill_proxy *to_proxy(struct hv *hv)
{
	return (struct kill_proxy *)hv;
}

/* After a mutating call went through: die if that was the armed one. */
static int mutated(struct kill_proxy *p, int r)
{
	p->mutations++;
	if (p->kill_after && p->mutations >= p->kill_after)
		p->dead = true;
	if (p->harness && p->harness->after_mutation)
		p->harness->after_mutation(p->harness);
	if (p->harness)
		p->harness->last_set_max = p->harness->last_populate = false;
	return r;
}

#define PROXY_GUARD(p)                     \
	do {                               \
		if ((p)->dead)             \
			return -ECANCELED; \
	} while (0)

static void px_close(struct hv *hv)
{
	struct kill_proxy *p = to_proxy(hv);

	hv_close(p->inner);
	free(p);
}

static int px_physinfo(struct hv *hv, struct hv_physinfo *ret_info)
{
	struct kill_proxy *p = to_proxy(hv);

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_PHYSINFO]++;
	return p->inner->ops->physinfo(p->inner, ret_info);
}

static int px_domain_info(struct hv *hv, uint32_t domid, struct hv_domain_info *ret_info)
{
	struct kill_proxy *p = to_proxy(hv);

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_DOMAIN_INFO]++;
	return p->inner->ops->domain_info(p->inner, domid, ret_info);
}

static int px_domain_list(struct hv *hv, uint32_t *ret_domids, size_t max, size_t *ret_count)
{
	struct kill_proxy *p = to_proxy(hv);

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_DOMAIN_LIST]++;
	return p->inner->ops->domain_list(p->inner, ret_domids, max, ret_count);
}

static int px_set_max_mem(struct hv *hv, uint32_t domid, uint64_t max_kib)
{
	struct kill_proxy *p = to_proxy(hv);

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_SET_MAX_MEM]++;
	if (p->harness)
		p->harness->last_set_max = true;
	return mutated(p, p->inner->ops->set_max_mem(p->inner, domid, max_kib));
}

static int px_get_p2m_pool(struct hv *hv, uint32_t domid, uint64_t *ret_bytes)
{
	struct kill_proxy *p = to_proxy(hv);

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_GET_P2M_POOL]++;
	return p->inner->ops->get_p2m_pool(p->inner, domid, ret_bytes);
}

static int px_set_p2m_pool(struct hv *hv, uint32_t domid, uint64_t bytes)
{
	struct kill_proxy *p = to_proxy(hv);

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_SET_P2M_POOL]++;
	return mutated(p, p->inner->ops->set_p2m_pool(p->inner, domid, bytes));
}

static int px_populate(struct hv *hv, uint32_t domid, unsigned int order, const uint64_t *gfns,
		       size_t nr, size_t *ret_done)
{
	struct kill_proxy *p = to_proxy(hv);

	int r;

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_POPULATE]++;
	r = p->inner->ops->populate(p->inner, domid, order, gfns, nr, ret_done);
	/* A failed populate leaves the room raised for it open, like a raise. */
	if (p->harness) {
		p->harness->last_set_max = r < 0;
		p->harness->last_populate = true;
	}
	return mutated(p, r);
}

static int px_decrease(struct hv *hv, uint32_t domid, unsigned int order, const uint64_t *gfns,
		       size_t nr, size_t *ret_done)
{
	struct kill_proxy *p = to_proxy(hv);

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_DECREASE]++;
	return mutated(p, p->inner->ops->decrease(p->inner, domid, order, gfns, nr, ret_done));
}

static int px_xs_txn_start(struct hv *hv, hv_xs_txn *ret_txn)
{
	struct kill_proxy *p = to_proxy(hv);

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_XS_TXN_START]++;
	return p->inner->ops->xs_txn_start(p->inner, ret_txn);
}

static int px_xs_txn_end(struct hv *hv, hv_xs_txn txn, bool abort)
{
	struct kill_proxy *p = to_proxy(hv);
	int r;

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_XS_TXN_END]++;
	if (!abort && p->harness && p->harness->before_commit)
		p->harness->before_commit(p->harness);
	r = p->inner->ops->xs_txn_end(p->inner, txn, abort);
	return abort ? r : mutated(p, r);
}

static int px_xs_read(struct hv *hv, hv_xs_txn txn, const char *path, char **ret_value,
		      size_t *ret_len)
{
	struct kill_proxy *p = to_proxy(hv);

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_XS_READ]++;
	if (p->harness && p->harness->count_reads_suffix &&
	    strlen(path) >= strlen(p->harness->count_reads_suffix) &&
	    !strcmp(path + strlen(path) - strlen(p->harness->count_reads_suffix),
		    p->harness->count_reads_suffix))
		p->harness->counted_reads++;
	return p->inner->ops->xs_read(p->inner, txn, path, ret_value, ret_len);
}

static int px_xs_write(struct hv *hv, hv_xs_txn txn, const char *path, const void *value,
		       size_t len)
{
	struct kill_proxy *p = to_proxy(hv);
	int r;

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_XS_WRITE]++;
	r = p->inner->ops->xs_write(p->inner, txn, path, value, len);
	return txn ? r : mutated(p, r);
}

static int px_xs_mkdir(struct hv *hv, hv_xs_txn txn, const char *path)
{
	struct kill_proxy *p = to_proxy(hv);
	int r;

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_XS_MKDIR]++;
	r = p->inner->ops->xs_mkdir(p->inner, txn, path);
	return txn ? r : mutated(p, r);
}

static int px_xs_rm(struct hv *hv, hv_xs_txn txn, const char *path)
{
	struct kill_proxy *p = to_proxy(hv);
	int r;

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_XS_RM]++;
	r = p->inner->ops->xs_rm(p->inner, txn, path);
	return txn ? r : mutated(p, r);
}

static int px_xs_directory(struct hv *hv, hv_xs_txn txn, const char *path, char ***ret_names,
			   unsigned int *ret_count)
{
	struct kill_proxy *p = to_proxy(hv);

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_XS_DIRECTORY]++;
	return p->inner->ops->xs_directory(p->inner, txn, path, ret_names, ret_count);
}

static int px_xs_get_perms(struct hv *hv, hv_xs_txn txn, const char *path,
			   struct hv_xs_perm **ret_perms, unsigned int *ret_count)
{
	struct kill_proxy *p = to_proxy(hv);

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_XS_GET_PERMS]++;
	return p->inner->ops->xs_get_perms(p->inner, txn, path, ret_perms, ret_count);
}

static int px_xs_set_perms(struct hv *hv, hv_xs_txn txn, const char *path,
			   const struct hv_xs_perm *perms, unsigned int nr)
{
	struct kill_proxy *p = to_proxy(hv);
	int r;

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_XS_SET_PERMS]++;
	r = p->inner->ops->xs_set_perms(p->inner, txn, path, perms, nr);
	return txn ? r : mutated(p, r);
}

static int px_xs_domain_path(struct hv *hv, uint32_t domid, char **ret_path)
{
	struct kill_proxy *p = to_proxy(hv);

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_XS_DOMAIN_PATH]++;
	return p->inner->ops->xs_domain_path(p->inner, domid, ret_path);
}

static int px_xs_watch(struct hv *hv, const char *path, const char *token)
{
	struct kill_proxy *p = to_proxy(hv);

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_XS_WATCH]++;
	return p->inner->ops->xs_watch(p->inner, path, token);
}

static int px_xs_unwatch(struct hv *hv, const char *path, const char *token)
{
	struct kill_proxy *p = to_proxy(hv);

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_XS_UNWATCH]++;
	return p->inner->ops->xs_unwatch(p->inner, path, token);
}

static int px_xs_watch_fd(struct hv *hv)
{
	struct kill_proxy *p = to_proxy(hv);

	return p->inner->ops->xs_watch_fd(p->inner);
}

static int px_xs_read_watch(struct hv *hv, char **ret_path, char **ret_token)
{
	struct kill_proxy *p = to_proxy(hv);

	PROXY_GUARD(p);
	p->calls[HV_SIM_OP_XS_READ_WATCH]++;
	return p->inner->ops->xs_read_watch(p->inner, ret_path, ret_token);
}

static const struct hv_ops proxy_ops = {
	.name = "kill-proxy",
	.close = px_close,
	.physinfo = px_physinfo,
	.domain_info = px_domain_info,
	.domain_list = px_domain_list,
	.set_max_mem = px_set_max_mem,
	.get_p2m_pool = px_get_p2m_pool,
	.set_p2m_pool = px_set_p2m_pool,
	.populate = px_populate,
	.decrease = px_decrease,
	.xs_txn_start = px_xs_txn_start,
	.xs_txn_end = px_xs_txn_end,
	.xs_read = px_xs_read,
	.xs_write = px_xs_write,
	.xs_mkdir = px_xs_mkdir,
	.xs_rm = px_xs_rm,
	.xs_directory = px_xs_directory,
	.xs_get_perms = px_xs_get_perms,
	.xs_set_perms = px_xs_set_perms,
	.xs_domain_path = px_xs_domain_path,
	.xs_watch = px_xs_watch,
	.xs_unwatch = px_xs_unwatch,
	.xs_watch_fd = px_xs_watch_fd,
	.xs_read_watch = px_xs_read_watch,
};

static struct kill_proxy *proxy_new(struct hv_sim *sim)
{
	struct kill_proxy *p = calloc(1, sizeof(*p));

	if (!p || hv_sim_open(sim, 0, &p->inner) < 0) {
		fprintf(stderr, "harness: no dom0 connection\n");
		exit(1);
	}
	p->hv.ops = &proxy_ops;
	return p;
}

/* ---- harness ------------------------------------------------------------- */

static uint64_t harness_clock(void *opaque)
{
	return ((struct harness *)opaque)->now_ms;
}

static void harness_progress(void *opaque, const struct hotmem_progress *progress)
{
	((struct harness *)opaque)->progress_events++;
}

static void harness_open_engine(struct harness *h)
{
	h->proxy = proxy_new(h->sim);
	h->proxy->harness = h;
	if (hotmem_open(&h->proxy->hv, &h->cfg, &h->hm) < 0) {
		fprintf(stderr, "harness: hotmem_open failed\n");
		exit(1);
	}
}

void harness_init(struct harness *h, uint64_t host_pages)
{
	struct hv_sim_config sim_cfg;

	memset(h, 0, sizeof(*h));
	hv_sim_config_defaults(&sim_cfg);
	sim_cfg.quiet = true;
	if (host_pages)
		sim_cfg.host_pages = host_pages;
	if (hv_sim_new(&sim_cfg, &h->sim) < 0) {
		fprintf(stderr, "harness: hv_sim_new failed\n");
		exit(1);
	}
	h->now_ms = 1000000;
	hotmem_config_defaults(&h->cfg);
	/* Fake guests count only what their balloon populates unless a test
	 * asks for memmap_in_target (then it sets both sides). */
	h->cfg.memmap_in_target = false;
	h->cfg.ack_timeout_ms = 1000;
	h->cfg.fill_timeout_ms = 1000;
	h->cfg.fill_poll_ms = 10;
	h->cfg.retry_ms = 5;
	h->cfg.retry_max_ms = 80;
	h->cfg.clock_ms = harness_clock;
	h->cfg.clock_opaque = h;
	h->cfg.progress = harness_progress;
	h->cfg.progress_opaque = h;
	harness_open_engine(h);
	hotmem_reconcile(h->hm, NULL);
}

void harness_fini(struct harness *h)
{
	uint32_t i;

	hotmem_close(h->hm);
	hv_close(&h->proxy->hv);
	for (i = 0; i < h->nr_guests; i++)
		sim_guest_free(h->guests[i]);
	hv_sim_free(h->sim);
	memset(h, 0, sizeof(*h));
}

static int guest_index(const struct harness *h, uint32_t domid)
{
	uint32_t i;

	for (i = 0; i < h->nr_guests; i++)
		if (h->base[i].domid == domid)
			return (int)i;
	return -1;
}

struct sim_guest *harness_guest(struct harness *h, uint32_t domid)
{
	int i = guest_index(h, domid);

	return i < 0 ? NULL : h->guests[i];
}

static int read_dec(struct hv *hv, uint32_t domid, const char *rel, uint64_t *ret_value)
{
	char path[96], *value = NULL;
	int r;

	snprintf(path, sizeof(path), "/local/domain/%" PRIu32 "/%s", domid, rel);
	r = hv->ops->xs_read(hv, 0, path, &value, NULL);
	if (!r)
		*ret_value = strtoull(value, NULL, 10);
	free(value);
	return r;
}

uint32_t harness_add_guest(struct harness *h, const char *name, uint64_t boot_pages,
			   const struct sim_guest_params *params,
			   const struct hotmem_attach_params *attach)
{
	struct hv_sim_domain_params dp = {
		.name = name,
		.boot_pages = boot_pages,
		.max_slack_kib = HV_SIM_LIBXL_MAXMEM_SLACK_KIB,
	};
	struct harness_base *base = &h->base[h->nr_guests];
	struct hv_sim_domain_stats ds;
	struct sim_guest_stats fs;
	struct hv *dom0 = NULL;
	uint32_t domid = 0;
	int r;

	if (h->nr_guests == HARNESS_MAX_GUESTS || hv_sim_domain_create(h->sim, &dp, &domid) < 0 ||
	    hv_sim_domain_stats(h->sim, domid, &ds) < 0 || hv_sim_open(h->sim, 0, &dom0) < 0) {
		fprintf(stderr, "harness: creating %s failed\n", name);
		exit(1);
	}
	base->domid = domid;
	base->boot_pages = ds.tot_pages;
	base->max_pages = ds.max_pages;
	base->pool_pages = ds.pool_pages;
	read_dec(dom0, domid, "memory/target", &base->target_kib);
	read_dec(dom0, domid, "memory/static-max", &base->static_kib);
	hv_close(dom0);
	if (sim_guest_new(h->sim, domid, params, &h->guests[h->nr_guests]) < 0) {
		fprintf(stderr, "harness: simulated guest for %s failed\n", name);
		exit(1);
	}
	h->nr_guests++;
	r = hotmem_attach(h->hm, domid, attach);
	if (r < 0) {
		fprintf(stderr, "harness: attach %s: %s\n", name, strerror(-r));
		exit(1);
	}
	harness_run(h, NULL);
	sim_guest_get_stats(h->guests[h->nr_guests - 1], &fs);
	if (fs.state != 2 && (!params || params->mode != SG_BROKEN))
		fprintf(stderr, "harness: %s is not ready (state %u)\n", name, fs.state);
	return domid;
}

uint64_t harness_read_dec(struct harness *h, uint32_t domid, const char *rel)
{
	struct hv *dom0 = NULL;
	uint64_t value = 0;

	if (hv_sim_open(h->sim, 0, &dom0) == 0)
		read_dec(dom0, domid, rel, &value);
	hv_close(dom0);
	return value;
}

void harness_destroy_guest(struct harness *h, uint32_t domid)
{
	int i = guest_index(h, domid);

	if (i < 0)
		return;
	sim_guest_free(h->guests[i]);
	hv_sim_domain_destroy(h->sim, domid);
	h->nr_guests--;
	h->guests[i] = h->guests[h->nr_guests];
	h->base[i] = h->base[h->nr_guests];
}

/* Is the engine's watch fd readable? */
static bool engine_pending(struct harness *h)
{
	struct pollfd pfd = { .fd = hotmem_fd(h->hm), .events = POLLIN };

	return pfd.fd >= 0 && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

int harness_run(struct harness *h, struct hotmem_operation *op)
{
	unsigned int round, idle = 0;

	for (round = 0; round < 20000; round++) {
		int acted = 0, t;
		uint32_t i;

		for (i = 0; i < h->nr_guests; i++)
			acted += sim_guest_step(h->guests[i]);
		if (h->proxy->dead)
			return -ECANCELED;
		if (hotmem_dispatch(h->hm) < 0 && h->proxy->dead)
			return -ECANCELED;
		if (op && hotmem_op_done(op))
			return 0;
		if (acted || engine_pending(h))
			continue;
		for (i = 0; i < h->nr_guests; i++)
			if (sim_guest_pending(h->guests[i]))
				acted = 1;
		if (acted)
			continue;
		t = hotmem_timeout_ms(h->hm);
		if (t == 0) {
			if (++idle > 1000)
				break;
			continue;
		}
		idle = 0;
		if (t < 0) {
			if (!op)
				return 0;
			break;
		}
		h->now_ms += (uint64_t)t;
	}
	fprintf(stderr, "harness: stuck (%s)\n", op ? "operation never ends" : "never settles");
	return -EDEADLK;
}

int harness_op(struct harness *h, uint32_t domid, enum hotmem_op_kind kind, uint64_t bytes,
	       struct hotmem_result *ret_result)
{
	struct hotmem_operation *op = NULL;
	struct hotmem_result result;
	int r;

	r = hotmem_op_start(h->hm, domid, kind, bytes, &op);
	if (r < 0)
		return r;
	r = harness_run(h, op);
	if (r < 0) {
		hotmem_op_free(op);
		return r;
	}
	hotmem_op_result(op, &result);
	hotmem_op_free(op);
	if (ret_result)
		*ret_result = result;
	/* Let the balloon and any late events settle. */
	harness_run(h, NULL);
	return result.error;
}

void harness_arm_kill(struct harness *h, unsigned long kill_after)
{
	h->proxy->mutations = 0;
	h->proxy->kill_after = kill_after;
	memset(h->proxy->calls, 0, sizeof(h->proxy->calls));
}

unsigned long harness_calls(struct harness *h, enum hv_sim_op op)
{
	unsigned long total = 0;
	unsigned int i;

	if (op != HV_SIM_OP_ANY)
		return h->proxy->calls[op];
	for (i = 0; i < HV_SIM_OP_ANY; i++)
		total += h->proxy->calls[i];
	return total;
}

unsigned long harness_mutations(struct harness *h)
{
	return h->proxy->mutations;
}

bool harness_dead(struct harness *h)
{
	return h->proxy->dead;
}

int harness_restart(struct harness *h, unsigned long kill_after,
		    struct hotmem_reconcile_report *ret_report)
{
	uint32_t i;

	/* The old process is gone: its memory, its connection, its watches. */
	hotmem_close(h->hm);
	hv_close(&h->proxy->hv);
	/* Guests keep running meanwhile (they may ack what it asked). */
	for (i = 0; i < h->nr_guests; i++)
		sim_guest_step(h->guests[i]);
	h->restarts++;
	harness_open_engine(h);
	harness_arm_kill(h, kill_after);
	return hotmem_reconcile(h->hm, ret_report);
}

/* Pages of [gfn, gfn + pages) that are mapped. */
static uint64_t count_populated(struct hv_sim *sim, uint32_t domid, uint64_t gfn, uint64_t pages)
{
	uint64_t i, n = 0;

	for (i = 0; i < pages; i++)
		n += hv_sim_gfn_populated(sim, domid, gfn + i, NULL) == 1;
	return n;
}

#define BOOK_FAIL(...)                                                                  \
	do {                                                                            \
		fprintf(stderr, "  records [%s] d%" PRIu32 ": ", context, base->domid); \
		fprintf(stderr, __VA_ARGS__);                                           \
		fputc('\n', stderr);                                                    \
		problems++;                                                             \
	} while (0)

static int check_guest(struct harness *h, struct hv *dom0, uint32_t index, const char *context)
{
	const struct harness_base *base = &h->base[index];
	struct hotmem_domain_info info;
	struct hv_sim_domain_stats ds;
	uint64_t block_pages, head, populated = 0, reserved, target = 0, static_max = 0, pool;
	uint32_t block, nr_granted, nr_outstanding = 0;
	int problems = 0;

	if (hotmem_domain_info(h->hm, base->domid, &info) < 0) {
		BOOK_FAIL("not attached");
		return problems;
	}
	hv_sim_domain_stats(h->sim, base->domid, &ds);
	if (!info.have_window) {
		if (ds.tot_pages != base->boot_pages || ds.max_pages != base->max_pages)
			BOOK_FAIL("no window but tot %" PRIu64 " max %" PRIu64, ds.tot_pages,
				  ds.max_pages);
		return problems;
	}
	block_pages = info.block_size >> 12;
	head = info.memmap_bytes >> 12;
	nr_granted = info.granted_blocks;
	if (info.outstanding && info.outstanding_kind == HOTMEM_OP_KIND_GROW)
		nr_outstanding = info.outstanding_count;
	if (info.busy || info.recovering)
		BOOK_FAIL("not settled (busy %d recovering %d)", info.busy, info.recovering);
	/*
	 * Blocks we hold are counted page by page; tot_pages must then be the
	 * boot RAM plus exactly those, so a frame anywhere else (a leak in a
	 * block we do not hold, or outside the window) shows up as a mismatch
	 * without scanning every free block. Free blocks get a spot check.
	 */
	for (block = 0; block < info.nr_blocks; block++) {
		uint64_t gfn = (info.window.base >> 12) + block * block_pages;
		bool granted = hotmem_blocks_test(info.granted, block);
		bool outstanding = (nr_outstanding && block >= info.outstanding_first &&
				    block < info.outstanding_first + info.outstanding_count) ||
				   hotmem_blocks_test(info.pending, block);
		uint64_t n;

		if (!granted && !outstanding) {
			n = count_populated(h->sim, base->domid, gfn, 1) +
			    count_populated(h->sim, base->domid, gfn + head, 1) +
			    count_populated(h->sim, base->domid, gfn + block_pages - 1, 1);
			if (n)
				BOOK_FAIL("block %u not ours but populated (leak)", block);
			continue;
		}
		n = count_populated(h->sim, base->domid, gfn, block_pages);
		populated += n;
		if (count_populated(h->sim, base->domid, gfn, head) != head)
			BOOK_FAIL("block %u granted/requested but its head is not populated",
				  block);
	}
	if (ds.tot_pages != base->boot_pages + populated)
		BOOK_FAIL("tot_pages %" PRIu64 " != boot %" PRIu64 " + window %" PRIu64,
			  ds.tot_pages, base->boot_pages, populated);
	if (ds.orphan_pages)
		BOOK_FAIL("%" PRIu64 " orphaned pages", ds.orphan_pages);
	/* Before its ack a block counts only its head (what dom0 populates). */
	reserved = (uint64_t)nr_granted * block_pages +
		   (uint64_t)(nr_outstanding + info.pending_blocks) * head;
	if (ds.max_pages != base->max_pages + reserved)
		BOOK_FAIL("max_pages %" PRIu64 " != base %" PRIu64 " + %" PRIu64, ds.max_pages,
			  base->max_pages, reserved);
	pool = (uint64_t)(nr_granted + nr_outstanding + info.pending_blocks) *
	       (hotmem_pool_bytes_per_block(info.block_size) >> 12);
	if (ds.pool_pages != base->pool_pages + pool)
		BOOK_FAIL("pool %" PRIu64 " != base %" PRIu64 " + %" PRIu64, ds.pool_pages,
			  base->pool_pages, pool);
	read_dec(dom0, base->domid, "memory/target", &target);
	read_dec(dom0, base->domid, "memory/static-max", &static_max);
	if (target != base->target_kib + info.granted_target_bytes / 1024)
		BOOK_FAIL("memory/target %" PRIu64 " != %" PRIu64 " + %" PRIu64, target,
			  base->target_kib, info.granted_target_bytes / 1024);
	if (static_max != base->static_kib + info.granted_bytes / 1024)
		BOOK_FAIL("memory/static-max %" PRIu64 " != %" PRIu64 " + %" PRIu64, static_max,
			  base->static_kib, info.granted_bytes / 1024);
	return problems;
}

int harness_op_afterwards(struct harness *h, uint32_t domid, uint64_t block_size, bool grow_first,
			  const char *context)
{
	struct hotmem_result res;
	int problems = 0, r;

	if (grow_first) {
		r = harness_op(h, domid, HOTMEM_OP_KIND_GROW, block_size, &res);
		if (r) {
			fprintf(stderr, "  [%s] grow afterwards: %d\n", context, r);
			problems++;
		}
	}
	r = harness_op(h, domid, HOTMEM_OP_KIND_SHRINK, block_size, &res);
	if (r) {
		fprintf(stderr, "  [%s] shrink afterwards: %d\n", context, r);
		problems++;
	}
	return problems;
}

int harness_check(struct harness *h, const char *context)
{
	struct hv *dom0 = NULL;
	char why[256];
	int problems = 0;
	uint32_t i;

	if (hv_sim_open(h->sim, 0, &dom0) < 0)
		return 1;
	for (i = 0; i < h->nr_guests; i++) {
		struct sim_guest_stats fs;

		problems += check_guest(h, dom0, i, context);
		sim_guest_get_stats(h->guests[i], &fs);
		if (fs.dom0_errors) {
			fprintf(stderr, "  records [%s] d%" PRIu32 ": guest saw %u dom0 errors\n",
				context, h->base[i].domid, fs.dom0_errors);
			problems++;
		}
	}
	if (hv_sim_check(h->sim, why, sizeof(why)) < 0) {
		fprintf(stderr, "  records [%s]: hv_sim_check: %s\n", context, why);
		problems++;
	}
	hv_close(dom0);
	return problems;
}
