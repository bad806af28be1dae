/*
 * The simulated host behind `--hv sim` (see sim_host.h): builds an hv/sim
 * world with the configured domains, gives each a simulated guest, and runs
 * one thread that polls every guest's watch fd and steps the guests. The
 * guest array is shared with the toolstack thread only through
 * sim_host_destroy_domain() and sim_host_check(), under one mutex; the sim
 * itself serialises every call with its own.
 */
#include "sim_host.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotmem/hv_sim.h"
#include "sim_guest.h"

/*
 * A guest whose step failed (xenstore conflict, quota) retries on its next
 * step even without an event; this is how long the thread waits at most
 * before stepping every guest anyway.
 */
#define SIM_HOST_IDLE_STEP_MS 20

/*
 * libxl gives an arm64 guest pages besides its RAM at GUEST_MAGIC_BASE
 * (console and xenstore rings, ...): tot_pages is that much above
 * memory/static-max on real Xen, and the toolstack must not mistake them for
 * RAM (a balloon target above static-max makes Linux hot-add memory).
 */
#define SIM_HOST_MAGIC_GFN   (0x39000000ull >> 12)
#define SIM_HOST_MAGIC_PAGES 4

struct sim_host {
	struct hv_sim *sim;
	pthread_mutex_t lock; /* guards guests[] against the toolstack thread */
	struct sim_guest *guests[SIM_HOST_MAX_DOMAINS];
	unsigned int nr_guests;
	int wake_pipe[2]; /* written to stop the thread */
	pthread_t thread;
	bool thread_started;
};

void sim_host_config_defaults(struct sim_host_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->host_bytes = 24ull << 30;
}

int sim_host_config_add(struct sim_host_config *cfg, const char *name, uint64_t boot_bytes)
{
	size_t len = strlen(name);

	if (!len || len > SIM_HOST_NAME_MAX || !boot_bytes || boot_bytes % HV_PAGE_SIZE)
		return -EINVAL;
	for (unsigned int i = 0; i < cfg->nr_domains; i++)
		if (!strcmp(cfg->domains[i].name, name))
			return -EEXIST;
	if (cfg->nr_domains == SIM_HOST_MAX_DOMAINS)
		return -ENOSPC;
	memcpy(cfg->domains[cfg->nr_domains].name, name, len + 1);
	cfg->domains[cfg->nr_domains].boot_bytes = boot_bytes;
	cfg->nr_domains++;
	return 0;
}

static void *sim_host_thread(void *opaque)
{
	struct sim_host *host = opaque;
	struct pollfd pfds[SIM_HOST_MAX_DOMAINS + 1];

	for (;;) {
		unsigned int nr = 0;

		pthread_mutex_lock(&host->lock);
		pfds[nr++] = (struct pollfd){ .fd = host->wake_pipe[0], .events = POLLIN };
		for (unsigned int i = 0; i < host->nr_guests; i++)
			pfds[nr++] = (struct pollfd){ .fd = sim_guest_fd(host->guests[i]),
						      .events = POLLIN };
		pthread_mutex_unlock(&host->lock);
		/* The fds stay valid: destroy_domain holds the lock while it frees. */
		if (poll(pfds, nr, SIM_HOST_IDLE_STEP_MS) < 0 && errno != EINTR)
			break;
		if (pfds[0].revents)
			break;
		pthread_mutex_lock(&host->lock);
		for (unsigned int i = 0; i < host->nr_guests; i++)
			sim_guest_step(host->guests[i]);
		pthread_mutex_unlock(&host->lock);
	}
	return NULL;
}

/* The ring pages libxl populates besides the RAM (within its max_pages slack). */
static int populate_magic(struct sim_host *host, uint32_t domid)
{
	uint64_t gfns[SIM_HOST_MAGIC_PAGES];
	struct hv *dom0 = NULL;
	size_t done = 0;
	int r;

	for (unsigned int i = 0; i < SIM_HOST_MAGIC_PAGES; i++)
		gfns[i] = SIM_HOST_MAGIC_GFN + i;
	r = hv_sim_open(host->sim, 0, &dom0);
	if (r == 0)
		r = dom0->ops->populate(dom0, domid, 0, gfns, SIM_HOST_MAGIC_PAGES, &done);
	hv_close(dom0);
	return r;
}

int sim_host_new(const struct sim_host_config *cfg, struct sim_host **ret_host)
{
	struct hv_sim_config sim_cfg;
	struct sim_host *host = calloc(1, sizeof(*host));
	int r = -ENOMEM;

	if (!host)
		return -ENOMEM;
	host->wake_pipe[0] = host->wake_pipe[1] = -1;
	pthread_mutex_init(&host->lock, NULL);
	hv_sim_config_defaults(&sim_cfg);
	sim_cfg.host_pages = cfg->host_bytes / HV_PAGE_SIZE;
	r = hv_sim_new(&sim_cfg, &host->sim);
	if (r < 0)
		goto out;
	for (unsigned int i = 0; i < cfg->nr_domains; i++) {
		struct hv_sim_domain_params params = {
			.name = cfg->domains[i].name,
			.boot_pages = cfg->domains[i].boot_bytes / HV_PAGE_SIZE,
			.max_slack_kib = HV_SIM_LIBXL_MAXMEM_SLACK_KIB,
		};
		/* Like a Linux guest's balloon: it may give back boot RAM too. */
		struct sim_guest_params guest_params = { .memmap_in_target = true,
							 .balloon_boot = true };
		uint32_t domid;

		r = hv_sim_domain_create(host->sim, &params, &domid);
		if (r == 0)
			r = populate_magic(host, domid);
		if (r < 0)
			goto out;
		if (cfg->domains[i].no_driver)
			continue;
		r = sim_guest_new(host->sim, domid, &guest_params, &host->guests[host->nr_guests]);
		if (r < 0)
			goto out;
		host->nr_guests++;
	}
	if (pipe(host->wake_pipe) < 0) {
		r = -errno;
		goto out;
	}
	r = -pthread_create(&host->thread, NULL, sim_host_thread, host);
	if (r < 0)
		goto out;
	host->thread_started = true;
	*ret_host = host;
	host = NULL;
out:
	sim_host_free(host);
	return r;
}

void sim_host_free(struct sim_host *host)
{
	if (!host)
		return;
	if (host->thread_started) {
		if (write(host->wake_pipe[1], "x", 1) != 1)
			abort(); /* a pipe we own cannot be full: the thread would never stop */
		pthread_join(host->thread, NULL);
	}
	for (unsigned int i = 0; i < host->nr_guests; i++)
		sim_guest_free(host->guests[i]);
	hv_sim_free(host->sim);
	if (host->wake_pipe[0] >= 0) {
		close(host->wake_pipe[0]);
		close(host->wake_pipe[1]);
	}
	pthread_mutex_destroy(&host->lock);
	free(host);
}

int sim_host_open_dom0(struct sim_host *host, struct hv **ret_hv)
{
	return hv_sim_open(host->sim, 0, ret_hv);
}

int sim_host_destroy_domain(struct sim_host *host, uint32_t domid)
{
	pthread_mutex_lock(&host->lock);
	for (unsigned int i = 0; i < host->nr_guests; i++) {
		if (sim_guest_domid(host->guests[i]) != domid)
			continue;
		/* The guest goes first: a destroyed domain's connection is dead. */
		sim_guest_free(host->guests[i]);
		host->guests[i] = host->guests[--host->nr_guests];
		break;
	}
	pthread_mutex_unlock(&host->lock);
	/* A domain without a driver has no guest; -ESRCH if there is no such domain. */
	return hv_sim_domain_destroy(host->sim, domid);
}

/* The guest of domid, under host->lock; NULL if none. */
static struct sim_guest *guest_of(struct sim_host *host, uint32_t domid)
{
	for (unsigned int i = 0; i < host->nr_guests; i++)
		if (sim_guest_domid(host->guests[i]) == domid)
			return host->guests[i];
	return NULL;
}

int sim_host_set_load(struct sim_host *host, uint32_t domid, const struct sim_guest_load *load)
{
	struct sim_guest *g;

	pthread_mutex_lock(&host->lock);
	g = guest_of(host, domid);
	if (g)
		sim_guest_set_load(g, load);
	pthread_mutex_unlock(&host->lock);
	return g ? 0 : -ESRCH;
}

int sim_host_get_guest(struct sim_host *host, uint32_t domid, struct sim_guest_load *ret_load,
		       struct sim_guest_stats *ret_stats)
{
	struct sim_guest *g;

	pthread_mutex_lock(&host->lock);
	g = guest_of(host, domid);
	if (g && ret_load)
		sim_guest_get_load(g, ret_load);
	if (g && ret_stats)
		sim_guest_get_stats(g, ret_stats);
	pthread_mutex_unlock(&host->lock);
	return g ? 0 : -ESRCH;
}

int sim_host_check(struct sim_host *host, char *why, size_t why_size)
{
	int r = hv_sim_check(host->sim, why, why_size);

	if (r < 0)
		return r;
	pthread_mutex_lock(&host->lock);
	for (unsigned int i = 0; i < host->nr_guests; i++) {
		struct sim_guest_stats stats;

		sim_guest_get_stats(host->guests[i], &stats);
		if (!stats.dom0_errors && !stats.balloon_hotplugs)
			continue;
		if (stats.dom0_errors)
			snprintf(why, why_size,
				 "guest d%u saw %u dom0 errors (head missing or usable pages "
				 "populated)",
				 sim_guest_domid(host->guests[i]), stats.dom0_errors);
		else
			snprintf(why, why_size,
				 "guest d%u was given %u target(s) above what its balloon holds "
				 "(Linux's balloon would hot-add memory of its own)",
				 sim_guest_domid(host->guests[i]), stats.balloon_hotplugs);
		r = -EUCLEAN;
		break;
	}
	pthread_mutex_unlock(&host->lock);
	return r;
}
