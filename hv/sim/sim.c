/*
 * The simulated hypervisor's front: creating and freeing a sim, opening
 * connections (struct hv handles whose ops are the sim's), the hv_ops table
 * itself, the domain-level test API, statistics and the invariant checker.
 *
 * Every op follows one pattern: take the sim's lock, count the call and let
 * the fault injector decide (sim_op_enter), refuse a dead connection
 * (-ENOTCONN) or a domU asking for something only dom0 may do (-EPERM), then
 * run the body in domain.c or xenstore.c. A domU may call populate and
 * decrease on itself (that is how a balloon driver works) and every xenstore
 * op (xenstored applies its permissions); physinfo, domain_info,
 * domain_list, set_max_mem and the P2M pool ops are dom0's alone.
 */
#include "sim_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define DEFAULT_HOST_PAGES (24ULL << 18) /* 24 GiB */
#define DEFAULT_DOM0_PAGES (768ULL << 8) /* 768 MiB */

/* Flags of op_begin(). */
#define OP_DOM0_ONLY 1U

int sim_why(char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;

	if (why && why_size) {
		va_start(ap, fmt);
		vsnprintf(why, why_size, fmt, ap);
		va_end(ap);
	}
	return -EUCLEAN;
}

static struct sim_conn *to_conn(struct hv *hv)
{
	return (struct sim_conn *)hv;
}

/*
 * Start an op (lock held): count it, apply a fault, check the connection.
 * Returns 0 to go on; on an error a partial fault the call can no longer
 * honour is spent as MISSED.
 */
static int op_begin(struct sim_conn *conn, enum hv_sim_op op, unsigned int flags,
		    struct sim_fault_hit *hit)
{
	int r = 0;

	sim_op_enter(conn->sim, conn, op, hit);
	if (hit->error && !hit->partial)
		r = hit->error;
	else if (conn->dead)
		r = -ENOTCONN;
	else if ((flags & OP_DOM0_ONLY) && !conn->privileged)
		r = -EPERM;
	if (r < 0)
		sim_fault_settle(conn->sim, hit, false);
	return r;
}

/* ---- hypercall ops ------------------------------------------------------- */

static int op_physinfo(struct hv *hv, struct hv_physinfo *ret_info)
{
	struct sim_conn *conn = to_conn(hv);
	struct hv_sim *sim = conn->sim;
	struct sim_fault_hit hit;
	int r;

	pthread_mutex_lock(&sim->lock);
	r = op_begin(conn, HV_SIM_OP_PHYSINFO, OP_DOM0_ONLY, &hit);
	if (!r && !ret_info)
		r = -EINVAL;
	if (!r) {
		ret_info->total_pages = sim->cfg.host_pages;
		ret_info->free_pages = sim->host_free;
	}
	pthread_mutex_unlock(&sim->lock);
	return r;
}

static void fill_info(const struct sim_domain *dom, struct hv_domain_info *info)
{
	info->domid = dom->domid;
	info->tot_pages = dom->tot_pages;
	info->max_pages = dom->max_pages;
	info->dying = dom->dying;
	info->shutdown = dom->shutdown;
	memcpy(info->handle, dom->handle, sizeof(info->handle));
	info->shutdown_reason = dom->shutdown ? dom->shutdown_reason : 0;
}

static int op_domain_info(struct hv *hv, uint32_t domid, struct hv_domain_info *ret_info)
{
	struct sim_conn *conn = to_conn(hv);
	struct hv_sim *sim = conn->sim;
	struct sim_fault_hit hit;
	struct sim_domain *dom;
	int r;

	pthread_mutex_lock(&sim->lock);
	r = op_begin(conn, HV_SIM_OP_DOMAIN_INFO, OP_DOM0_ONLY, &hit);
	if (!r && !ret_info)
		r = -EINVAL;
	if (!r) {
		dom = sim_domain_get(sim, domid);
		if (dom)
			fill_info(dom, ret_info);
		else
			r = -ESRCH;
	}
	pthread_mutex_unlock(&sim->lock);
	return r;
}

static int op_domain_list(struct hv *hv, uint32_t *ret_domids, size_t max_domids, size_t *ret_count)
{
	struct sim_conn *conn = to_conn(hv);
	struct hv_sim *sim = conn->sim;
	struct sim_fault_hit hit;
	size_t count = 0;
	uint32_t domid;
	int r;

	pthread_mutex_lock(&sim->lock);
	r = op_begin(conn, HV_SIM_OP_DOMAIN_LIST, OP_DOM0_ONLY, &hit);
	if (!r && (!ret_count || (max_domids && !ret_domids)))
		r = -EINVAL;
	for (domid = 0; !r && domid <= HV_SIM_DOMID_LAST && count < max_domids; domid++)
		if (sim->domains[domid])
			ret_domids[count++] = domid;
	if (!r)
		*ret_count = count;
	pthread_mutex_unlock(&sim->lock);
	return r;
}

static int op_set_max_mem(struct hv *hv, uint32_t domid, uint64_t max_kib)
{
	struct sim_conn *conn = to_conn(hv);
	struct hv_sim *sim = conn->sim;
	struct sim_fault_hit hit;
	int r;

	pthread_mutex_lock(&sim->lock);
	r = op_begin(conn, HV_SIM_OP_SET_MAX_MEM, OP_DOM0_ONLY, &hit);
	if (!r)
		r = sim_set_max_mem(sim, domid, max_kib);
	pthread_mutex_unlock(&sim->lock);
	return r;
}

static int op_get_p2m_pool(struct hv *hv, uint32_t domid, uint64_t *ret_bytes)
{
	struct sim_conn *conn = to_conn(hv);
	struct hv_sim *sim = conn->sim;
	struct sim_fault_hit hit;
	struct sim_domain *dom;
	int r;

	pthread_mutex_lock(&sim->lock);
	r = op_begin(conn, HV_SIM_OP_GET_P2M_POOL, OP_DOM0_ONLY, &hit);
	if (!r && !ret_bytes)
		r = -EINVAL;
	if (!r) {
		dom = sim_domain_get(sim, domid);
		if (dom)
			*ret_bytes = dom->pool_pages << HV_PAGE_SHIFT;
		else
			r = -ESRCH;
	}
	pthread_mutex_unlock(&sim->lock);
	return r;
}

static int op_set_p2m_pool(struct hv *hv, uint32_t domid, uint64_t bytes)
{
	struct sim_conn *conn = to_conn(hv);
	struct hv_sim *sim = conn->sim;
	struct sim_fault_hit hit;
	int r;

	pthread_mutex_lock(&sim->lock);
	r = op_begin(conn, HV_SIM_OP_SET_P2M_POOL, OP_DOM0_ONLY, &hit);
	if (!r)
		r = sim_set_p2m_pool(sim, domid, bytes);
	pthread_mutex_unlock(&sim->lock);
	return r;
}

/* populate and decrease: a domU only on itself, with its smaller max order. */
static int op_memory(struct hv *hv, enum hv_sim_op op, uint32_t domid, unsigned int order,
		     const uint64_t *gfns, size_t nr, size_t *ret_done)
{
	struct sim_conn *conn = to_conn(hv);
	struct hv_sim *sim = conn->sim;
	struct sim_fault_hit hit;
	unsigned int max_order;
	int r;

	pthread_mutex_lock(&sim->lock);
	r = op_begin(conn, op, conn->domid == domid ? 0 : OP_DOM0_ONLY, &hit);
	if (r < 0) {
		if (ret_done)
			*ret_done = 0;
		goto out;
	}
	max_order = conn->privileged ? sim->cfg.max_extent_order : sim->cfg.domu_max_extent_order;
	if (op == HV_SIM_OP_POPULATE)
		r = sim_populate(sim, domid, order, max_order, gfns, nr, &hit, ret_done);
	else
		r = sim_decrease(sim, domid, order, max_order, gfns, nr, &hit, ret_done);
out:
	pthread_mutex_unlock(&sim->lock);
	return r;
}

static int op_populate(struct hv *hv, uint32_t domid, unsigned int extent_order,
		       const uint64_t *gfns, size_t nr_extents, size_t *ret_done)
{
	return op_memory(hv, HV_SIM_OP_POPULATE, domid, extent_order, gfns, nr_extents, ret_done);
}

static int op_decrease(struct hv *hv, uint32_t domid, unsigned int extent_order,
		       const uint64_t *gfns, size_t nr_extents, size_t *ret_done)
{
	return op_memory(hv, HV_SIM_OP_DECREASE, domid, extent_order, gfns, nr_extents, ret_done);
}

/* ---- xenstore ops -------------------------------------------------------- */

/*
 * Every xenstore op runs in the same frame: take the sim's lock, count the
 * call and apply any injected fault (op_begin), run the xs_op_*() layer,
 * drop the lock. XS_OP() is that frame around CALL, which may use `conn`.
 */
#define XS_OP(hv, op, CALL)                             \
	({                                              \
		struct sim_conn *conn = to_conn(hv);    \
		struct sim_fault_hit hit;               \
		int r;                                  \
                                                        \
		pthread_mutex_lock(&conn->sim->lock);   \
		r = op_begin(conn, op, 0, &hit);        \
		if (!r)                                 \
			r = CALL;                       \
		pthread_mutex_unlock(&conn->sim->lock); \
		r;                                      \
	})

static int op_xs_txn_start(struct hv *hv, hv_xs_txn *ret_txn)
{
	return XS_OP(hv, HV_SIM_OP_XS_TXN_START, xs_op_txn_start(conn, ret_txn));
}

static int op_xs_txn_end(struct hv *hv, hv_xs_txn txn, bool abort)
{
	struct sim_conn *conn = to_conn(hv);
	struct sim_fault_hit hit;
	int r;

	pthread_mutex_lock(&conn->sim->lock);
	r = op_begin(conn, HV_SIM_OP_XS_TXN_END, 0, &hit);
	if (!r)
		r = xs_op_txn_end(conn, txn, abort);
	else if (hit.error)
		xs_txn_discard(conn, txn); /* an injected failure ends it too */
	pthread_mutex_unlock(&conn->sim->lock);
	return r;
}

static int op_xs_read(struct hv *hv, hv_xs_txn txn, const char *path, char **ret_value,
		      size_t *ret_len)
{
	return XS_OP(hv, HV_SIM_OP_XS_READ, xs_op_read(conn, txn, path, ret_value, ret_len));
}

static int op_xs_write(struct hv *hv, hv_xs_txn txn, const char *path, const void *value,
		       size_t len)
{
	return XS_OP(hv, HV_SIM_OP_XS_WRITE, xs_op_write(conn, txn, path, value, len));
}

static int op_xs_mkdir(struct hv *hv, hv_xs_txn txn, const char *path)
{
	return XS_OP(hv, HV_SIM_OP_XS_MKDIR, xs_op_mkdir(conn, txn, path));
}

static int op_xs_rm(struct hv *hv, hv_xs_txn txn, const char *path)
{
	return XS_OP(hv, HV_SIM_OP_XS_RM, xs_op_rm(conn, txn, path));
}

static int op_xs_directory(struct hv *hv, hv_xs_txn txn, const char *path, char ***ret_names,
			   unsigned int *ret_count)
{
	return XS_OP(hv, HV_SIM_OP_XS_DIRECTORY,
		     xs_op_directory(conn, txn, path, ret_names, ret_count));
}

static int op_xs_get_perms(struct hv *hv, hv_xs_txn txn, const char *path,
			   struct hv_xs_perm **ret_perms, unsigned int *ret_count)
{
	return XS_OP(hv, HV_SIM_OP_XS_GET_PERMS,
		     xs_op_get_perms(conn, txn, path, ret_perms, ret_count));
}

static int op_xs_set_perms(struct hv *hv, hv_xs_txn txn, const char *path,
			   const struct hv_xs_perm *perms, unsigned int nr_perms)
{
	return XS_OP(hv, HV_SIM_OP_XS_SET_PERMS, xs_op_set_perms(conn, txn, path, perms, nr_perms));
}

static int op_xs_domain_path(struct hv *hv, uint32_t domid, char **ret_path)
{
	return XS_OP(hv, HV_SIM_OP_XS_DOMAIN_PATH, xs_op_domain_path(conn, domid, ret_path));
}

static int op_xs_watch(struct hv *hv, const char *path, const char *token)
{
	return XS_OP(hv, HV_SIM_OP_XS_WATCH, xs_op_watch(conn, path, token));
}

static int op_xs_unwatch(struct hv *hv, const char *path, const char *token)
{
	return XS_OP(hv, HV_SIM_OP_XS_UNWATCH, xs_op_unwatch(conn, path, token));
}

static int op_xs_watch_fd(struct hv *hv)
{
	return XS_OP(hv, HV_SIM_OP_XS_WATCH_FD, conn->event_fd);
}

static int op_xs_read_watch(struct hv *hv, char **ret_path, char **ret_token)
{
	return XS_OP(hv, HV_SIM_OP_XS_READ_WATCH, xs_op_read_watch(conn, ret_path, ret_token));
}

/* ---- connections --------------------------------------------------------- */

/* Unlink conn from the sim and free it (lock held). */
static void conn_free(struct hv_sim *sim, struct sim_conn *conn)
{
	struct sim_conn **link;

	for (link = &sim->conns; *link != conn; link = &(*link)->next)
		;
	*link = conn->next;
	xs_conn_release(conn);
	close(conn->event_fd);
	free(conn);
}

static void op_close(struct hv *hv)
{
	struct sim_conn *conn = to_conn(hv);
	struct hv_sim *sim = conn->sim;
	struct sim_fault_hit hit;

	pthread_mutex_lock(&sim->lock);
	sim_op_enter(sim, conn, HV_SIM_OP_CLOSE, &hit);
	conn_free(sim, conn);
	pthread_mutex_unlock(&sim->lock);
}

static const struct hv_ops sim_ops = {
	.name = "sim",
	.close = op_close,
	.physinfo = op_physinfo,
	.domain_info = op_domain_info,
	.domain_list = op_domain_list,
	.set_max_mem = op_set_max_mem,
	.get_p2m_pool = op_get_p2m_pool,
	.set_p2m_pool = op_set_p2m_pool,
	.populate = op_populate,
	.decrease = op_decrease,
	.xs_txn_start = op_xs_txn_start,
	.xs_txn_end = op_xs_txn_end,
	.xs_read = op_xs_read,
	.xs_write = op_xs_write,
	.xs_mkdir = op_xs_mkdir,
	.xs_rm = op_xs_rm,
	.xs_directory = op_xs_directory,
	.xs_get_perms = op_xs_get_perms,
	.xs_set_perms = op_xs_set_perms,
	.xs_domain_path = op_xs_domain_path,
	.xs_watch = op_xs_watch,
	.xs_unwatch = op_xs_unwatch,
	.xs_watch_fd = op_xs_watch_fd,
	.xs_read_watch = op_xs_read_watch,
};

int hv_sim_open(struct hv_sim *sim, uint32_t as_domid, struct hv **ret_hv)
{
	struct sim_conn *conn, **tail;
	int r = 0;

	if (!sim || !ret_hv)
		return -EINVAL;
	pthread_mutex_lock(&sim->lock);
	if (!sim_domain_get(sim, as_domid)) {
		r = -ESRCH;
		goto out;
	}
	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		r = -ENOMEM;
		goto out;
	}
	conn->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
	if (conn->event_fd < 0) {
		r = -errno;
		free(conn);
		goto out;
	}
	conn->hv.ops = &sim_ops;
	conn->sim = sim;
	conn->domid = as_domid;
	conn->privileged = as_domid == 0;
	for (tail = &sim->conns; *tail; tail = &(*tail)->next)
		;
	*tail = conn;
	*ret_hv = &conn->hv;
out:
	pthread_mutex_unlock(&sim->lock);
	return r;
}

void sim_conns_domain_gone(struct hv_sim *sim, uint32_t domid)
{
	struct sim_conn *conn;

	for (conn = sim->conns; conn; conn = conn->next) {
		if (conn->domid == domid && !conn->privileged) {
			xs_conn_release(conn);
			conn->dead = true;
		}
	}
}

/* ---- lifecycle ----------------------------------------------------------- */

void hv_sim_config_defaults(struct hv_sim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->host_pages = DEFAULT_HOST_PAGES;
	cfg->dom0_pages = DEFAULT_DOM0_PAGES;
	cfg->dom0_pool_pages = 0;
	cfg->max_extent_order = 18;
	cfg->domu_max_extent_order = 9;
	cfg->xs_quota_nodes = 1000;
	cfg->xs_quota_watches = 128;
	cfg->xs_quota_txns = 10;
	cfg->xs_quota_perms = 5;
	cfg->xs_quota_entry_bytes = 2048;
}

static void config_merge(struct hv_sim_config *cfg, const struct hv_sim_config *given)
{
	hv_sim_config_defaults(cfg);
	if (!given)
		return;
#define TAKE(field)                                \
	do {                                       \
		if (given->field)                  \
			cfg->field = given->field; \
	} while (0)
	TAKE(host_pages);
	TAKE(dom0_pages);
	TAKE(dom0_pool_pages);
	TAKE(max_extent_order);
	TAKE(domu_max_extent_order);
	TAKE(xs_quota_nodes);
	TAKE(xs_quota_watches);
	TAKE(xs_quota_txns);
	TAKE(xs_quota_perms);
	TAKE(xs_quota_entry_bytes);
#undef TAKE
	cfg->quiet = given->quiet;
}

int hv_sim_new(const struct hv_sim_config *given, struct hv_sim **ret_sim)
{
	static const struct hv_xs_perm dom0_none = { 0, HV_XS_PERM_NONE };
	struct hv_sim_domain_params dom0 = { .name = "Domain-0" };
	struct hv_sim *sim;
	uint32_t domid;
	int r;

	if (!ret_sim)
		return -EINVAL;
	sim = calloc(1, sizeof(*sim));
	if (!sim)
		return -ENOMEM;
	config_merge(&sim->cfg, given);
	if (sim->cfg.max_extent_order > 30 || sim->cfg.domu_max_extent_order > 30) {
		free(sim);
		return -EINVAL;
	}
	pthread_mutex_init(&sim->lock, NULL);
	sim->host_free = sim->cfg.host_pages;
	sim->max_free_order = UINT_MAX;
	sim->domains = calloc(HV_SIM_DOMID_LAST + 1, sizeof(*sim->domains));
	r = sim->domains ? xs_store_init(&sim->xs) : -ENOMEM;
	if (r < 0) {
		free(sim->domains);
		pthread_mutex_destroy(&sim->lock);
		free(sim);
		return r;
	}

	/* What xenstored and xen-init-dom0 set up before any toolstack runs. */
	r = xs_sys_mkdir_perms(sim, "/tool/xenstored", &dom0_none, 1);
	if (!r)
		r = xs_sys_mkdir_perms(sim, "/local/domain", &dom0_none, 1);
	if (!r) {
		dom0.boot_pages = sim->cfg.dom0_pages;
		dom0.pool_pages = sim->cfg.dom0_pool_pages;
		r = sim_domain_create(sim, &dom0, 0, &domid);
		if (r == -ENOMEM || r == -EINVAL)
			r = -EINVAL; /* dom0 does not fit this host */
	}
	if (r < 0) {
		hv_sim_free(sim);
		return r;
	}
	*ret_sim = sim;
	return 0;
}

void hv_sim_free(struct hv_sim *sim)
{
	uint32_t domid;

	if (!sim)
		return;
	while (sim->conns)
		conn_free(sim, sim->conns);
	for (domid = 0; domid <= HV_SIM_DOMID_LAST && sim->domains; domid++)
		sim_domain_free(sim, sim->domains[domid]);
	free(sim->domains);
	xs_store_destroy(&sim->xs);
	sim_faults_free(sim);
	pthread_mutex_destroy(&sim->lock);
	free(sim);
}

/* ---- the domain API ------------------------------------------------------ */

int hv_sim_domain_create(struct hv_sim *sim, const struct hv_sim_domain_params *params,
			 uint32_t *ret_domid)
{
	uint32_t domid;
	int r;

	pthread_mutex_lock(&sim->lock);
	r = sim_domain_create(sim, params, params && params->domid ? params->domid : UINT32_MAX,
			      &domid);
	pthread_mutex_unlock(&sim->lock);
	if (!r && ret_domid)
		*ret_domid = domid;
	return r;
}

int hv_sim_domain_destroy(struct hv_sim *sim, uint32_t domid)
{
	int r;

	pthread_mutex_lock(&sim->lock);
	r = sim_domain_destroy(sim, domid);
	pthread_mutex_unlock(&sim->lock);
	return r;
}

static int set_flag(struct hv_sim *sim, uint32_t domid, bool value, bool dying)
{
	struct sim_domain *dom;
	bool *flag, was;
	int r = 0;

	pthread_mutex_lock(&sim->lock);
	dom = sim_domain_get(sim, domid);
	if (!dom) {
		r = -ESRCH;
		goto out;
	}
	if (domid == 0) {
		r = -EPERM;
		goto out;
	}
	flag = dying ? &dom->dying : &dom->shutdown;
	was = *flag;
	*flag = value;
	/* xenstored's domain_cleanup() notices shutdown and death. */
	if (value && !was)
		xs_fire_special(sim, "@releaseDomain");
out:
	pthread_mutex_unlock(&sim->lock);
	return r;
}

int hv_sim_domain_set_dying(struct hv_sim *sim, uint32_t domid, bool dying)
{
	return set_flag(sim, domid, dying, true);
}

int hv_sim_domain_set_shutdown(struct hv_sim *sim, uint32_t domid, bool shutdown)
{
	return set_flag(sim, domid, shutdown, false);
}

int hv_sim_domain_shutdown(struct hv_sim *sim, uint32_t domid, unsigned int reason)
{
	struct sim_domain *dom;
	int r = -ESRCH;

	pthread_mutex_lock(&sim->lock);
	dom = sim_domain_get(sim, domid);
	if (dom && domid) {
		dom->shutdown_reason = (uint8_t)reason;
		r = 0;
	}
	pthread_mutex_unlock(&sim->lock);
	return r ? r : hv_sim_domain_set_shutdown(sim, domid, true);
}

int hv_sim_domain_by_name(struct hv_sim *sim, const char *name, uint32_t *ret_domid)
{
	uint32_t domid;
	int r = -ESRCH;

	if (!name || !ret_domid)
		return -EINVAL;
	pthread_mutex_lock(&sim->lock);
	for (domid = 0; domid <= HV_SIM_DOMID_LAST; domid++) {
		const struct sim_domain *dom = sim->domains[domid];

		if (dom && !strcmp(dom->name, name)) {
			*ret_domid = domid;
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&sim->lock);
	return r;
}

int hv_sim_domain_stats(struct hv_sim *sim, uint32_t domid, struct hv_sim_domain_stats *ret_stats)
{
	const struct sim_domain *dom;
	int r = 0;

	if (!ret_stats)
		return -EINVAL;
	pthread_mutex_lock(&sim->lock);
	dom = sim_domain_get(sim, domid);
	if (dom) {
		ret_stats->tot_pages = dom->tot_pages;
		ret_stats->max_pages = dom->max_pages;
		ret_stats->populated_pages = dom->p2m.populated;
		ret_stats->orphan_pages = dom->orphan_pages;
		ret_stats->pool_pages = dom->pool_pages;
		ret_stats->pool_used_pages = p2m_tables(&dom->p2m);
		ret_stats->l2_tables = dom->p2m.l2_tables;
		ret_stats->l3_tables = dom->p2m.l3_tables;
	} else {
		r = -ESRCH;
	}
	pthread_mutex_unlock(&sim->lock);
	return r;
}

int hv_sim_gfn_populated(struct hv_sim *sim, uint32_t domid, uint64_t gfn, unsigned int *ret_order)
{
	const struct sim_domain *dom;
	unsigned int order;
	int r;

	pthread_mutex_lock(&sim->lock);
	dom = sim_domain_get(sim, domid);
	if (!dom) {
		r = -ESRCH;
	} else {
		r = p2m_lookup(&dom->p2m, gfn, &order);
		if (r && ret_order)
			*ret_order = order;
	}
	pthread_mutex_unlock(&sim->lock);
	return r;
}

void hv_sim_set_max_free_order(struct hv_sim *sim, unsigned int max_order)
{
	pthread_mutex_lock(&sim->lock);
	sim->max_free_order = max_order;
	pthread_mutex_unlock(&sim->lock);
}

/* ---- stats and the checker ----------------------------------------------- */

void hv_sim_get_stats(struct hv_sim *sim, struct hv_sim_stats *ret_stats)
{
	uint32_t domid;

	pthread_mutex_lock(&sim->lock);
	*ret_stats = sim->stats;
	ret_stats->pool_pages = 0;
	ret_stats->pool_used_pages = 0;
	for (domid = 0; domid <= HV_SIM_DOMID_LAST; domid++) {
		const struct sim_domain *dom = sim->domains[domid];

		if (dom) {
			ret_stats->pool_pages += dom->pool_pages;
			ret_stats->pool_used_pages += p2m_tables(&dom->p2m);
		}
	}
	ret_stats->domains = sim->nr_domains;
	ret_stats->xs_nodes = sim->xs.nr_nodes;
	pthread_mutex_unlock(&sim->lock);
}

void hv_sim_clear_alarms(struct hv_sim *sim)
{
	pthread_mutex_lock(&sim->lock);
	sim->stats.double_populate = 0;
	sim->stats.orphaned_pages = 0;
	pthread_mutex_unlock(&sim->lock);
}

static int check_locked(struct hv_sim *sim, char *why, size_t why_size)
{
	uint64_t owned = 0, pools = 0;
	uint32_t domid, count = 0;
	char inner[256];
	int r;

	for (domid = 0; domid <= HV_SIM_DOMID_LAST; domid++) {
		const struct sim_domain *dom = sim->domains[domid];

		if (!dom)
			continue;
		count++;
		if (dom->domid != domid)
			return sim_why(why, why_size, "d%" PRIu32 " is filed as d%" PRIu32,
				       dom->domid, domid);
		r = p2m_check(&dom->p2m, inner, sizeof(inner));
		if (r < 0)
			return sim_why(why, why_size, "d%" PRIu32 ": %s", domid, inner);
		if (dom->tot_pages != dom->p2m.populated + dom->orphan_pages)
			return sim_why(why, why_size,
				       "d%" PRIu32 ": tot_pages %" PRIu64 " != %" PRIu64
				       " mapped + %" PRIu64 " orphaned",
				       domid, dom->tot_pages, dom->p2m.populated,
				       dom->orphan_pages);
		if (p2m_tables(&dom->p2m) > dom->pool_pages)
			return sim_why(why, why_size,
				       "d%" PRIu32 ": %" PRIu64
				       " page tables in a pool of %" PRIu64,
				       domid, p2m_tables(&dom->p2m), dom->pool_pages);
		owned += dom->tot_pages;
		pools += dom->pool_pages;
	}
	if (count != sim->nr_domains)
		return sim_why(why, why_size, "%" PRIu32 " domains, count %" PRIu32, count,
			       sim->nr_domains);
	if (sim->cfg.host_pages != sim->host_free + owned + pools)
		return sim_why(why, why_size,
			       "host frames: total %" PRIu64 " != free %" PRIu64 " + owned %" PRIu64
			       " + pools %" PRIu64,
			       sim->cfg.host_pages, sim->host_free, owned, pools);
	r = xs_check(sim, why, why_size);
	if (r < 0)
		return r;
	if (sim->stats.double_populate)
		return sim_why(why, why_size,
			       "%" PRIu64 " double populate(s): real Xen would have leaked frames",
			       sim->stats.double_populate);
	if (sim->stats.orphaned_pages)
		return sim_why(why, why_size,
			       "%" PRIu64 " frames orphaned by an exhausted P2M pool",
			       sim->stats.orphaned_pages);
	return 0;
}

int hv_sim_check(struct hv_sim *sim, char *why, size_t why_size)
{
	int r;

	pthread_mutex_lock(&sim->lock);
	r = check_locked(sim, why, why_size);
	pthread_mutex_unlock(&sim->lock);
	if (!r && why && why_size)
		why[0] = '\0';
	return r;
}
