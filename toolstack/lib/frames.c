/*
 * Frames in and out of a guest's physmap with the largest extents that work.
 *
 * Populate walks a range with the largest order (18 = 1 GiB, 9 = 2 MiB, else
 * 0) that is aligned and fits, in batches; when Xen answers -ENOMEM (no free
 * extent that big, or the domain at its max) the rest of the failing extent
 * is retried one order down, and -ENOMEM at order 0 is final. Extents Xen
 * completed stay populated: the caller's journal says which range may hold
 * frames, and recovery reclaims it.
 *
 * Reclaim walks a range the same way with decrease_reservation. An extent that
 * fails because a page in it has no frame (-ENOENT from the sim, -EINVAL from
 * Xen, whose hypercall only says it stopped short) is walked again one order
 * down, and at order 0 a page without a frame is skipped and counted. That
 * makes reclaim idempotent and safe on ranges whose state is unknown, which
 * is what recovery after a crash needs, and it never populates anything, so a
 * GFN cannot be mapped twice. Any other error (the domain died, the P2M pool
 * is out of pages to split a block mapping, an I/O error) stops it.
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>

/* Extents per hypercall batch (4 KiB of GFNs). */
#define BATCH_EXTENTS 512

static const unsigned int orders[] = { 18, 9, 0 };

/* Largest order <= max_order aligned at gfn and fitting in pages. */
static unsigned int pick_order(uint64_t gfn, uint64_t pages, unsigned int max_order)
{
	size_t i;

	for (i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		uint64_t size = 1ull << orders[i];

		if (orders[i] <= max_order && !(gfn & (size - 1)) && pages >= size)
			return orders[i];
	}
	return 0;
}

/* Next order below order in orders[] (0 stays 0). */
static unsigned int lower_order(unsigned int order)
{
	size_t i;

	for (i = 0; i < sizeof(orders) / sizeof(orders[0]); i++)
		if (orders[i] < order)
			return orders[i];
	return 0;
}

/* Fill gfns with up to BATCH_EXTENTS consecutive extents of order from gfn. */
static size_t fill_batch(uint64_t *gfns, uint64_t gfn, uint64_t pages, unsigned int order)
{
	size_t nr = 0;

	while (nr < BATCH_EXTENTS && pages >= (1ull << order)) {
		gfns[nr++] = gfn;
		gfn += 1ull << order;
		pages -= 1ull << order;
	}
	return nr;
}

int hm_populate_range(struct hotmem *hm, uint32_t domid, uint64_t gfn, uint64_t pages,
		      uint64_t *ret_populated)
{
	uint64_t *gfns = malloc(BATCH_EXTENTS * sizeof(*gfns));
	unsigned int max_order = hm->cfg.max_extent_order;
	uint64_t populated = 0;
	int r = 0;

	if (!gfns) {
		r = -ENOMEM;
		goto out;
	}
	while (pages) {
		unsigned int order = pick_order(gfn, pages, max_order);
		size_t nr = fill_batch(gfns, gfn, pages, order), done = 0;

		r = hm->hv->ops->populate(hm->hv, domid, order, gfns, nr, &done);
		gfn += (uint64_t)done << order;
		pages -= (uint64_t)done << order;
		populated += (uint64_t)done << order;
		if (!r) {
			max_order = hm->cfg.max_extent_order;
			continue;
		}
		if (r != -ENOMEM || order == 0)
			goto out;
		/* Fall back below the failed order until this extent is past. */
		max_order = lower_order(order);
		r = 0;
	}
out:
	hm->counters.pages_populated += populated;
	*ret_populated = populated;
	free(gfns);
	return r;
}

/* A decrease stopped at a page without a frame (sim: -ENOENT; Xen: -EINVAL). */
static bool no_frame(int r)
{
	return r == -ENOENT || r == -EINVAL;
}

/*
 * One level of the walk: extents of at most max_order over [gfn, gfn + pages).
 * A batch is filled once and walked to its end: after a failed extent the
 * call resumes right behind it, so a range without frames costs one
 * hypercall per extent, not one batch refill per page. The recursion for a
 * failed extent is at most two levels deep (18 -> 9 -> 0), each with its own
 * batch on the stack.
 */
static int reclaim(struct hotmem *hm, uint32_t domid, uint64_t gfn, uint64_t pages,
		   unsigned int max_order, uint64_t *reclaimed, uint64_t *skipped)
{
	uint64_t gfns[BATCH_EXTENTS];
	int r = 0;

	while (pages) {
		unsigned int order = pick_order(gfn, pages, max_order);
		size_t nr = fill_batch(gfns, gfn, pages, order), at = 0;
		uint64_t size = 1ull << order;

		while (at < nr) {
			size_t done = 0;

			r = hm->hv->ops->decrease(hm->hv, domid, order, gfns + at, nr - at, &done);
			*reclaimed += (uint64_t)done << order;
			at += done;
			if (!r)
				break;
			if (!no_frame(r))
				goto out;
			/* gfns[at] failed: walk it one order down, or skip the page. */
			r = 0;
			if (order == 0)
				(*skipped)++;
			else
				r = reclaim(hm, domid, gfns[at], size, lower_order(order),
					    reclaimed, skipped);
			if (r < 0)
				goto out;
			at++;
		}
		r = 0;
		gfn += (uint64_t)nr << order;
		pages -= (uint64_t)nr << order;
	}
out:
	return r;
}

int hm_reclaim_range(struct hotmem *hm, uint32_t domid, uint64_t gfn, uint64_t pages,
		     uint64_t *ret_reclaimed, uint64_t *ret_skipped)
{
	uint64_t reclaimed = 0, skipped = 0;
	int r;

	r = reclaim(hm, domid, gfn, pages, hm->cfg.max_extent_order, &reclaimed, &skipped);
	hm->counters.pages_reclaimed += reclaimed;
	hm->counters.pages_skipped += skipped;
	*ret_reclaimed = reclaimed;
	*ret_skipped = skipped;
	return r;
}
