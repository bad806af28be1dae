/*
 * Helpers shared by the sim tests: a quiet sim, a guest in one call, short
 * xenstore accessors and event draining. Each test program includes this
 * once, after check.h.
 */
#ifndef HOTMEM_TEST_SIM_TEST_H
#define HOTMEM_TEST_SIM_TEST_H

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hotmem/hv_sim.h"

#define MIB_PAGES(mib) ((uint64_t)(mib)*256)
#define GIB_PAGES(gib) ((uint64_t)(gib) << 18)

/* A sim with defaults but a quiet stderr (tests provoke alarms on purpose). */
static inline struct hv_sim *test_sim(uint64_t host_pages)
{
	struct hv_sim_config cfg;
	struct hv_sim *sim = NULL;

	hv_sim_config_defaults(&cfg);
	cfg.quiet = true;
	if (host_pages)
		cfg.host_pages = host_pages;
	if (hv_sim_new(&cfg, &sim) < 0) {
		fprintf(stderr, "hv_sim_new failed\n");
		exit(1);
	}
	return sim;
}

static inline struct hv *test_open(struct hv_sim *sim, uint32_t domid)
{
	struct hv *hv = NULL;

	if (hv_sim_open(sim, domid, &hv) < 0) {
		fprintf(stderr, "hv_sim_open(%u) failed\n", domid);
		exit(1);
	}
	return hv;
}

static inline uint32_t test_guest(struct hv_sim *sim, const char *name, uint64_t boot_pages)
{
	struct hv_sim_domain_params params = { .name = name, .boot_pages = boot_pages };
	uint32_t domid = 0;

	if (hv_sim_domain_create(sim, &params, &domid) < 0) {
		fprintf(stderr, "creating %s failed\n", name);
		exit(1);
	}
	return domid;
}

/* Value of path (malloc()ed) or NULL; *ret_err gets the error if asked. */
static inline char *xs_get(struct hv *hv, hv_xs_txn txn, const char *path)
{
	char *value = NULL;

	if (hv->ops->xs_read(hv, txn, path, &value, NULL) < 0)
		return NULL;
	return value;
}

static inline int xs_read_err(struct hv *hv, hv_xs_txn txn, const char *path)
{
	char *value = NULL;
	int r = hv->ops->xs_read(hv, txn, path, &value, NULL);

	free(value);
	return r;
}

static inline int xs_put(struct hv *hv, hv_xs_txn txn, const char *path, const char *value)
{
	return hv->ops->xs_write(hv, txn, path, value, strlen(value));
}

/* Does value at path equal want? */
static inline bool xs_is(struct hv *hv, const char *path, const char *want)
{
	char *value = xs_get(hv, HV_XS_NO_TXN, path);
	bool same = value && !strcmp(value, want);

	free(value);
	return same;
}

/* Dequeue every queued event; returns how many. */
static inline unsigned int drain_events(struct hv *hv)
{
	char *path, *token;
	unsigned int n = 0;

	while (hv->ops->xs_read_watch(hv, &path, &token) == 0) {
		free(path);
		free(token);
		n++;
	}
	return n;
}

/* Next event must be (path, token). */
static inline bool next_event_is(struct hv *hv, const char *want_path, const char *want_token)
{
	char *path = NULL, *token = NULL;
	bool same;

	if (hv->ops->xs_read_watch(hv, &path, &token) < 0) {
		fprintf(stderr, "  no event, wanted %s\n", want_path);
		return false;
	}
	same = !strcmp(path, want_path) && !strcmp(token, want_token);
	if (!same)
		fprintf(stderr, "  event (%s, %s), wanted (%s, %s)\n", path, token, want_path,
			want_token);
	free(path);
	free(token);
	return same;
}

/* Is the connection's watch fd readable right now? */
static inline bool fd_readable(struct hv *hv)
{
	struct pollfd pfd = { .fd = hv->ops->xs_watch_fd(hv), .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

static inline uint64_t free_pages(struct hv *dom0)
{
	struct hv_physinfo info = { 0 };

	dom0->ops->physinfo(dom0, &info);
	return info.free_pages;
}

static inline struct hv_sim_domain_stats dstats(struct hv_sim *sim, uint32_t domid)
{
	struct hv_sim_domain_stats stats = { 0 };

	hv_sim_domain_stats(sim, domid, &stats);
	return stats;
}

static inline int populated_order(struct hv_sim *sim, uint32_t domid, uint64_t gfn)
{
	unsigned int order = 99;
	int r = hv_sim_gfn_populated(sim, domid, gfn, &order);

	return r == 1 ? (int)order : r == 0 ? -1 : r;
}

static inline int check_sim(struct hv_sim *sim)
{
	char why[256];
	int r = hv_sim_check(sim, why, sizeof(why));

	if (r < 0)
		fprintf(stderr, "  hv_sim_check: %s\n", why);
	return r;
}

/* populate/decrease a list of order-N extents starting at gfn, stride 2^order. */
static inline int extent_run(struct hv *hv, uint32_t domid, unsigned int order, uint64_t gfn,
			     size_t nr, size_t *ret_done, bool populate)
{
	uint64_t *gfns = calloc(nr ? nr : 1, sizeof(*gfns));
	size_t i;
	int r;

	for (i = 0; i < nr; i++)
		gfns[i] = gfn + (i << order);
	if (populate)
		r = hv->ops->populate(hv, domid, order, gfns, nr, ret_done);
	else
		r = hv->ops->decrease(hv, domid, order, gfns, nr, ret_done);
	free(gfns);
	return r;
}

static inline int populate_run(struct hv *hv, uint32_t domid, unsigned int order, uint64_t gfn,
			       size_t nr, size_t *ret_done)
{
	return extent_run(hv, domid, order, gfn, nr, ret_done, true);
}

static inline int decrease_run(struct hv *hv, uint32_t domid, unsigned int order, uint64_t gfn,
			       size_t nr, size_t *ret_done)
{
	return extent_run(hv, domid, order, gfn, nr, ret_done, false);
}

#endif /* HOTMEM_TEST_SIM_TEST_H */
