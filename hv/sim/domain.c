/*
 * Domains of the simulated Xen and the memory hypercalls acting on them:
 * creation as xl leaves a domain (max_pages, P2M pool, boot RAM, xenstore
 * nodes), destruction, max_pages, the P2M pool and populate/decrease.
 *
 * Host memory is a counter (sim->host_free): every frame is either free,
 * owned by a domain (tot_pages) or in a domain's P2M pool, and hv_sim_check()
 * verifies that sum. Allocation rules mirror Xen 4.17:
 *  - xen/common/domctl.c XEN_DOMCTL_max_mem: max_pages = max_memkb >> 2,
 *    clamped to the unsigned int Xen keeps; it may go below tot_pages (the
 *    domain then "ratchets down": every new allocation fails).
 *  - xen/common/page_alloc.c assign_pages(): an extent is refused when
 *    tot_pages + 2^order > max_pages ("Over-allocation"), -ENOMEM here.
 *  - xen/common/memory.c populate_physmap(): extents are done in order and
 *    the call stops at the first failure, keeping earlier extents; an extent
 *    whose P2M insertion fails (pool exhausted) has already been allocated
 *    to the domain and stays charged to it, unmapped, until the domain dies:
 *    the sim keeps those frames as orphan_pages, logs and counts them.
 *  - decrease_reservation()/guest_remove_page(): pages are removed one by
 *    one; a page that is not mapped fails its extent (Xen: -EINVAL from
 *    guest_remove_page, lost by the hypercall which only returns the number
 *    of extents done; the sim reports -ENOENT) after the earlier pages of
 *    that extent were already removed.
 *  - max_order() in memory.c: dom0 may use orders up to
 *    cfg.max_extent_order, a domU on itself up to cfg.domu_max_extent_order.
 * Sim-only strictness: extents must be aligned to their order (-EINVAL; Xen
 * would split a misaligned populate) and populating a mapped GFN fails with
 * -EEXIST (Xen would map a new frame over the old one and leak it).
 */
#include "sim_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGES_PER_MIB 256ULL
#define NAME_MAX_LEN  64

struct sim_domain *sim_domain_get(struct hv_sim *sim, uint32_t domid)
{
	if (domid > HV_SIM_DOMID_LAST)
		return NULL;
	return sim->domains[domid];
}

/* Take 2^order frames from the host (an order-N buddy allocation). */
static int host_alloc(struct hv_sim *sim, unsigned int order)
{
	uint64_t pages = 1ULL << order;

	if (order > sim->max_free_order || sim->host_free < pages)
		return -ENOMEM;
	sim->host_free -= pages;
	return 0;
}

static int check_extent(uint64_t gfn, unsigned int order)
{
	uint64_t pages = 1ULL << order;
	uint64_t limit = 1ULL << (HV_SIM_IPA_BITS - HV_PAGE_SHIFT);

	if (gfn & (pages - 1))
		return -EINVAL;
	if (gfn >= limit || pages > limit - gfn)
		return -EINVAL;
	return 0;
}

/* One extent of populate_physmap() on dom; see the file comment for the rules. */
static int populate_extent(struct hv_sim *sim, struct sim_domain *dom, uint64_t gfn,
			   unsigned int order)
{
	uint64_t pages = 1ULL << order;
	int r;

	r = check_extent(gfn, order);
	if (r < 0)
		return r;
	if (p2m_range_free(&dom->p2m, gfn, order) < 0) {
		sim->stats.double_populate++;
		if (!sim->cfg.quiet)
			fprintf(stderr,
				"hv_sim: DOUBLE POPULATE d%" PRIu32 " gfn %#" PRIx64
				" order %u: already mapped (real Xen would leak a frame)\n",
				dom->domid, gfn, order);
		return -EEXIST;
	}
	if (dom->tot_pages + pages > dom->max_pages)
		return -ENOMEM;
	r = host_alloc(sim, order);
	if (r < 0)
		return r;
	dom->tot_pages += pages;

	if (dom->pool_pages < p2m_tables(&dom->p2m) + p2m_tables_to_map(&dom->p2m, gfn, order)) {
		dom->orphan_pages += pages;
		sim->stats.orphaned_pages += pages;
		if (!sim->cfg.quiet)
			fprintf(stderr,
				"hv_sim: P2M POOL EXHAUSTED d%" PRIu32 " gfn %#" PRIx64
				" order %u: %" PRIu64
				" frames stay charged to the domain, unmapped\n",
				dom->domid, gfn, order, pages);
		return -ENOMEM;
	}
	r = p2m_map(&dom->p2m, gfn, order);
	if (r < 0) {
		/* The sim itself ran out of memory: undo, as if nothing happened. */
		dom->tot_pages -= pages;
		sim->host_free += pages;
	}
	return r;
}

int sim_populate(struct hv_sim *sim, uint32_t domid, unsigned int order, unsigned int max_order,
		 const uint64_t *gfns, size_t nr, struct sim_fault_hit *hit, size_t *ret_done)
{
	struct sim_domain *dom = sim_domain_get(sim, domid);
	bool fired = false;
	size_t i = 0;
	int r = 0;

	if (!dom || dom->dying)
		r = -ESRCH;
	else if (order > max_order)
		r = -EINVAL;
	else if (nr && !gfns)
		r = -EFAULT;
	for (; !r && i < nr; i++) {
		if (hit->partial && i == hit->after_extents) {
			fired = true;
			r = hit->error;
			break;
		}
		r = populate_extent(sim, dom, gfns[i], order);
		if (r < 0)
			break;
	}
	if (hit->partial)
		sim_fault_settle(sim, hit, fired);
	if (ret_done)
		*ret_done = i;
	return r;
}

int sim_decrease(struct hv_sim *sim, uint32_t domid, unsigned int order, unsigned int max_order,
		 const uint64_t *gfns, size_t nr, struct sim_fault_hit *hit, size_t *ret_done)
{
	struct sim_domain *dom = sim_domain_get(sim, domid);
	bool fired = false;
	size_t i = 0;
	int r = 0;

	if (!dom || dom->dying)
		r = -ESRCH;
	else if (order > max_order)
		r = -EINVAL;
	else if (nr && !gfns)
		r = -EFAULT;
	for (; !r && i < nr; i++) {
		uint64_t removed;

		if (hit->partial && i == hit->after_extents) {
			fired = true;
			r = hit->error;
			break;
		}
		r = check_extent(gfns[i], order);
		if (r < 0)
			break;
		r = p2m_unmap(&dom->p2m, gfns[i], 1ULL << order, dom->pool_pages, &removed);
		dom->tot_pages -= removed;
		sim->host_free += removed;
		if (r < 0)
			break;
	}
	if (hit->partial)
		sim_fault_settle(sim, hit, fired);
	if (ret_done)
		*ret_done = i;
	return r;
}

int sim_set_max_mem(struct hv_sim *sim, uint32_t domid, uint64_t max_kib)
{
	struct sim_domain *dom = sim_domain_get(sim, domid);
	uint64_t pages = max_kib >> (HV_PAGE_SHIFT - 10);

	if (!dom)
		return -ESRCH;
	dom->max_pages = pages < UINT32_MAX ? pages : UINT32_MAX;
	return 0;
}

/*
 * xc_set_paging_mempool_size(). Xen: a non page-sized request is -EINVAL;
 * growing takes pages from the host one by one and a shrink frees only
 * unused pages, both stopping half-way with -ENOMEM. The sim is atomic:
 * -ENOMEM (host too small) or -EBUSY (below the tables in use) change nothing.
 */
int sim_set_p2m_pool(struct hv_sim *sim, uint32_t domid, uint64_t bytes)
{
	struct sim_domain *dom = sim_domain_get(sim, domid);
	uint64_t pages = bytes >> HV_PAGE_SHIFT;

	if (!dom)
		return -ESRCH;
	if (bytes & (HV_PAGE_SIZE - 1))
		return -EINVAL;
	if (pages < p2m_tables(&dom->p2m))
		return -EBUSY;
	if (pages > dom->pool_pages) {
		if (sim->host_free < pages - dom->pool_pages)
			return -ENOMEM;
		sim->host_free -= pages - dom->pool_pages;
	} else {
		sim->host_free += dom->pool_pages - pages;
	}
	dom->pool_pages = pages;
	return 0;
}

/* Give everything back to the host and free the structure. */
void sim_domain_free(struct hv_sim *sim, struct sim_domain *dom)
{
	if (!dom)
		return;
	sim->host_free += dom->tot_pages + dom->pool_pages;
	p2m_destroy(&dom->p2m);
	free(dom->name);
	free(dom);
}

/*
 * Boot RAM like libxc's arm meminit: bank 0 first (3 GiB), then bank 1, each
 * filled with the largest extent (1 GiB, 2 MiB, 4 KiB) that is aligned, fits
 * and the host can provide.
 */
static int populate_boot(struct hv_sim *sim, struct sim_domain *dom, uint64_t pages)
{
	static const unsigned int orders[] = { 18, 9, 0 };
	const uint64_t banks[2][2] = {
		{ HV_SIM_RAM0_GFN, HV_SIM_RAM0_PAGES },
		{ HV_SIM_RAM1_GFN, HV_SIM_RAM1_PAGES },
	};
	unsigned int b, k;
	int r;

	for (b = 0; b < 2 && pages; b++) {
		uint64_t gfn = banks[b][0];
		uint64_t left = pages < banks[b][1] ? pages : banks[b][1];

		pages -= left;
		while (left) {
			unsigned int order = 0;

			for (k = 0; k < sizeof(orders) / sizeof(orders[0]); k++) {
				uint64_t size = 1ULL << orders[k];

				if (orders[k] <= sim->cfg.max_extent_order &&
				    orders[k] <= sim->max_free_order && !(gfn & (size - 1)) &&
				    left >= size) {
					order = orders[k];
					break;
				}
			}
			r = populate_extent(sim, dom, gfn, order);
			if (r < 0)
				return r;
			gfn += 1ULL << order;
			left -= 1ULL << order;
		}
	}
	return 0;
}

/* Write printf-formatted value to /local/domain/<domid>/<rel>. */
static int write_fmt(struct hv_sim *sim, uint32_t domid, const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int write_fmt(struct hv_sim *sim, uint32_t domid, const char *rel, const char *fmt, ...)
{
	char path[128], value[NAME_MAX_LEN + 1];
	va_list ap;

	snprintf(path, sizeof(path), "/local/domain/%" PRIu32 "/%s", domid, rel);
	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	return xs_sys_write(sim, path, value);
}

/*
 * xenstore nodes of a new domain: what libxl__domain_make() and
 * libxl__build_post() (tools/libs/light/libxl_create.c, libxl_dom.c) write
 * for a PVH (arm) guest that is not a driver domain. /local/domain/<id> and
 * its cpu/, memory/, device/, control/ are owned by dom0 and readable by the
 * domain; control/shutdown, control/feature-{poweroff,reboot,suspend},
 * control/sysrq, device/suspend/event-channel, data/, drivers/, feature/,
 * attr/ and error/ are owned by the domain (it may write there). Values:
 * name, domid, memory/static-max and memory/target (KiB of boot RAM: libxl
 * writes maxmem and target, equal on arm), memory/videoram "0",
 * cpu/<n>/availability "online", control/platform-feature-* "1". Left out:
 * vm, store/, console/ (no ring or event channel is simulated), /vm/<uuid>
 * and /libxl/<id>.
 */
static int write_domain_nodes(struct hv_sim *sim, const struct sim_domain *dom, uint64_t boot_pages,
			      unsigned int vcpus)
{
	static const char *const ro_dirs[] = { "cpu", "memory", "device", "control" };
	static const char *const rw_dirs[] = {
		"control/shutdown",
		"control/feature-poweroff",
		"control/feature-reboot",
		"control/feature-suspend",
		"control/sysrq",
		"device/suspend/event-channel",
		"data",
		"drivers",
		"feature",
		"attr",
		"error",
	};
	const struct hv_xs_perm roperm[2] = {
		{ 0, HV_XS_PERM_NONE },
		{ dom->domid, HV_XS_PERM_READ },
	};
	const struct hv_xs_perm rwperm[1] = { { dom->domid, HV_XS_PERM_NONE } };
	uint32_t domid = dom->domid;
	char path[128], rel[48];
	unsigned int i;
	int r;

	snprintf(path, sizeof(path), "/local/domain/%" PRIu32, domid);
	r = xs_sys_rm(sim, path);
	if (!r)
		r = xs_sys_mkdir_perms(sim, path, roperm, 2);
	for (i = 0; !r && i < sizeof(ro_dirs) / sizeof(ro_dirs[0]); i++) {
		snprintf(path, sizeof(path), "/local/domain/%" PRIu32 "/%s", domid, ro_dirs[i]);
		r = xs_sys_mkdir_perms(sim, path, roperm, 2);
	}
	for (i = 0; !r && i < sizeof(rw_dirs) / sizeof(rw_dirs[0]); i++) {
		snprintf(path, sizeof(path), "/local/domain/%" PRIu32 "/%s", domid, rw_dirs[i]);
		r = xs_sys_mkdir_perms(sim, path, rwperm, 1);
	}
	if (!r)
		r = write_fmt(sim, domid, "name", "%s", dom->name);
	if (!r)
		r = write_fmt(sim, domid, "domid", "%" PRIu32, domid);
	if (!r)
		r = write_fmt(sim, domid, "memory/static-max", "%" PRIu64, boot_pages * 4);
	if (!r)
		r = write_fmt(sim, domid, "memory/target", "%" PRIu64, boot_pages * 4);
	if (!r)
		r = write_fmt(sim, domid, "memory/videoram", "0");
	if (!r)
		r = write_fmt(sim, domid, "control/platform-feature-multiprocessor-suspend", "1");
	if (!r)
		r = write_fmt(sim, domid, "control/platform-feature-xs_reset_watches", "1");
	for (i = 0; !r && i < vcpus; i++) {
		snprintf(rel, sizeof(rel), "cpu/%u/availability", i);
		r = write_fmt(sim, domid, rel, "online");
	}
	return r;
}

static bool name_taken(struct hv_sim *sim, const char *name)
{
	uint32_t domid;

	for (domid = 0; domid <= HV_SIM_DOMID_LAST; domid++) {
		const struct sim_domain *dom = sim->domains[domid];

		if (dom && !strcmp(dom->name, name))
			return true;
	}
	return false;
}

/* Xen's XEN_DOMCTL_createdomain: the next free id after the last one given. */
static int pick_domid(struct hv_sim *sim, uint32_t *ret_domid)
{
	uint32_t domid = sim->domid_rover;
	uint32_t i;

	for (i = 0; i < HV_SIM_DOMID_LAST; i++) {
		domid = domid >= HV_SIM_DOMID_LAST ? 1 : domid + 1;
		if (!sim->domains[domid]) {
			sim->domid_rover = domid;
			*ret_domid = domid;
			return 0;
		}
	}
	return -ENOSPC;
}

int sim_domain_create(struct hv_sim *sim, const struct hv_sim_domain_params *params,
		      uint32_t forced_domid, uint32_t *ret_domid)
{
	unsigned int vcpus = params && params->vcpus ? params->vcpus : 1;
	struct sim_domain *dom = NULL;
	uint64_t pool_pages, boot_pages;
	uint32_t domid;
	char path[64];
	int r;

	if (!params || !params->name || !params->name[0] || strlen(params->name) > NAME_MAX_LEN ||
	    params->boot_pages > HV_SIM_RAM0_PAGES + HV_SIM_RAM1_PAGES ||
	    params->boot_pages + params->max_slack_kib / 4 > UINT32_MAX)
		return -EINVAL;
	if (name_taken(sim, params->name))
		return -EEXIST;
	boot_pages = params->boot_pages;
	pool_pages = params->pool_pages;
	if (!pool_pages) /* libxl_get_required_shadow_memory(), KiB -> pages */
		pool_pages = 4 * (256 * (uint64_t)vcpus + 2 * (boot_pages / PAGES_PER_MIB)) / 4;
	if (forced_domid != UINT32_MAX) {
		if (forced_domid > HV_SIM_DOMID_LAST || sim->domains[forced_domid])
			return -EEXIST;
		domid = forced_domid;
	} else {
		r = pick_domid(sim, &domid);
		if (r < 0)
			return r;
	}
	if (sim->host_free < pool_pages)
		return -ENOMEM;

	dom = calloc(1, sizeof(*dom));
	if (!dom)
		return -ENOMEM;
	dom->name = strdup(params->name);
	if (!dom->name) {
		free(dom);
		return -ENOMEM;
	}
	dom->domid = domid;
	/* A handle no other creation in this sim has: the creation count, then the id. */
	sim->domains_made++;
	for (unsigned int b = 0; b < 8; b++)
		dom->handle[b] = (uint8_t)(sim->domains_made >> (8 * b));
	for (unsigned int b = 0; b < 4; b++)
		dom->handle[8 + b] = (uint8_t)(domid >> (8 * b));
	dom->handle[15] = 0x5a;
	if (params->handle)
		memcpy(dom->handle, params->handle, sizeof(dom->handle));
	dom->max_pages = boot_pages + params->max_slack_kib / 4;
	dom->pool_pages = pool_pages;
	sim->host_free -= pool_pages;

	r = populate_boot(sim, dom, boot_pages);
	if (r < 0 || dom->orphan_pages) {
		/* Boot failures are not the toolstack's: don't leave alarms. */
		sim->stats.orphaned_pages -= dom->orphan_pages;
		sim_domain_free(sim, dom);
		return -ENOMEM;
	}
	sim->domains[domid] = dom;
	sim->nr_domains++;

	if (domid == 0) {
		r = xs_sys_write(sim, "/local/domain/0/name", dom->name);
		if (!r)
			r = xs_sys_write(sim, "/local/domain/0/domid", "0");
	} else {
		r = write_domain_nodes(sim, dom, boot_pages, vcpus);
	}
	if (r < 0) {
		snprintf(path, sizeof(path), "/local/domain/%" PRIu32, domid);
		xs_sys_rm(sim, path);
		sim->domains[domid] = NULL;
		sim->nr_domains--;
		sim_domain_free(sim, dom);
		return r;
	}
	if (domid != 0)
		xs_fire_special(sim, "@introduceDomain");
	*ret_domid = domid;
	return 0;
}

int sim_domain_destroy(struct hv_sim *sim, uint32_t domid)
{
	struct sim_domain *dom = sim_domain_get(sim, domid);
	char path[64];

	if (!dom)
		return -ESRCH;
	if (domid == 0)
		return -EPERM;
	dom->dying = true;
	sim_conns_domain_gone(sim, domid);
	snprintf(path, sizeof(path), "/local/domain/%" PRIu32, domid);
	xs_sys_rm(sim, path);
	sim->domains[domid] = NULL;
	sim->nr_domains--;
	sim_domain_free(sim, dom);
	xs_fire_special(sim, "@releaseDomain");
	return 0;
}
