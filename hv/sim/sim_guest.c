/*
 * A simulated guest that speaks protocol v1 on the sim, written like the real
 * driver (see sim_guest.h for what it does and how it can misbehave): it only
 * uses its own domU connection, relative xenstore paths and the proto.h
 * parsers and formatters, and it reacts to watch events. The one thing it
 * does that a guest cannot is ask the sim whether a GFN is mapped, to catch a
 * dom0 that forgot a memmap head or populated the usable part of a block.
 * The engine tests and `hotmemd --hv sim` both run it; the stats it publishes
 * are computed from the frames its balloon holds and the load a test set.
 */
#include "sim_guest.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_SHIFT   12
#define BATCH	     512
#define TOKEN_HOTMEM "fg:hotmem"
#define TOKEN_TARGET "fg:target"

enum fg_state { SG_WAIT_H = 0, SG_INIT, SG_READY, SG_DEAD };

struct sim_guest {
	struct hv_sim *sim;
	struct hv *hv;
	uint32_t domid;
	struct sim_guest_params params;
	enum fg_state state;
	bool retry; /* something failed or changed: act without an event */
	struct hotmem_window window;
	uint32_t nr_blocks;
	/* memory/target moves by whole blocks: H/features and we both say so. */
	bool target_blocks;
	/* populated-blocks in use (only with target_blocks): dom0 populated the
	 * whole block and the "driver" hands every usable page to the kernel. */
	bool populated_blocks;
	/* stats-swap in use: the stats carry the swap figure (compute_stats). */
	bool stats_swap;
	/* populated-blocks: the balloon's own target, moved by memory/target
	 * changes and by the blocks the driver plugs (as xen_hotmem.ko does). */
	uint64_t balloon_target;
	uint32_t last_seq;
	uint32_t wrong_answered; /* SG_WRONG_SEQ: answered (wrongly) already */
	uint64_t plugged[HOTMEM_BLOCKS_WORDS];
	uint64_t lost[HOTMEM_BLOCKS_WORDS]; /* dropped from the list but "still used" */
	uint32_t filled[HOTMEM_MAX_BLOCKS]; /* usable pages the balloon populated */
	uint64_t added_at[HOTMEM_MAX_BLOCKS];
	uint64_t add_counter;
	uint64_t boot_pages; /* RAM at creation: bank 0, then bank 1 */
	struct sim_guest_load load;
	uint32_t stats_interval_ms; /* H/stats-interval-ms as last read; 0 = off */
	uint64_t last_target_kib;   /* memory/target when the balloon last looked */
	uint64_t next_stats_ms;
	struct sim_guest_stats stats;
};

static const char *const mode_names[SG_MODE_COUNT] = {
	"normal",   "silent",	"ack-error", "ack-partial",
	"lie-drop", "lie-keep", "wrong-seq", "broken",
};

const char *sim_guest_mode_name(enum sim_guest_mode mode)
{
	return (unsigned int)mode < SG_MODE_COUNT ? mode_names[mode] : "?";
}

/* ---- guest xenstore helpers ---------------------------------------------- */

int sim_guest_write(struct sim_guest *g, const char *path, const char *value, size_t len)
{
	return g->hv->ops->xs_write(g->hv, HV_XS_NO_TXN, path, value, len);
}

int sim_guest_read(struct sim_guest *g, const char *path, char **ret_value)
{
	return g->hv->ops->xs_read(g->hv, HV_XS_NO_TXN, path, ret_value, NULL);
}

int sim_guest_rm(struct sim_guest *g, const char *path)
{
	return g->hv->ops->xs_rm(g->hv, HV_XS_NO_TXN, path);
}

static int put(struct sim_guest *g, hv_xs_txn txn, const char *path, const char *value)
{
	return g->hv->ops->xs_write(g->hv, txn, path, value, strlen(value));
}

/* Run a list of (path, value) writes in one transaction, retried on conflict. */
static int put_all(struct sim_guest *g, const char *const *pairs, unsigned int nr)
{
	unsigned int attempt, i;
	hv_xs_txn txn;
	int r = -EAGAIN;

	for (attempt = 0; attempt < 20 && r == -EAGAIN; attempt++) {
		r = g->hv->ops->xs_txn_start(g->hv, &txn);
		if (r < 0)
			return r;
		for (i = 0; !r && i < nr; i++)
			r = put(g, txn, pairs[2 * i], pairs[2 * i + 1]);
		if (r < 0) {
			g->hv->ops->xs_txn_end(g->hv, txn, true);
			return r;
		}
		r = g->hv->ops->xs_txn_end(g->hv, txn, false);
	}
	return r;
}

/* ---- blocks and the balloon ---------------------------------------------- */

static uint64_t block_gfn(const struct sim_guest *g, uint32_t block)
{
	return (g->window.base + (uint64_t)block * g->params.block_size) >> PAGE_SHIFT;
}

static uint64_t head_pages(const struct sim_guest *g)
{
	return g->params.memmap_bytes >> PAGE_SHIFT;
}

static uint64_t usable_pages(const struct sim_guest *g)
{
	return (g->params.block_size - g->params.memmap_bytes) >> PAGE_SHIFT;
}

static bool usable_block(const struct sim_guest *g, uint32_t block)
{
	return hotmem_blocks_test(g->plugged, block) && !hotmem_blocks_test(g->lost, block);
}

int sim_guest_populate(struct sim_guest *g, uint64_t gfn, uint64_t pages)
{
	uint64_t gfns[BATCH];
	size_t n = 0, done = 0;
	int r = 0;

	while (pages && !r) {
		for (n = 0; n < BATCH && n < pages; n++)
			gfns[n] = gfn + n;
		r = g->hv->ops->populate(g->hv, g->domid, 0, gfns, n, &done);
		g->stats.self_populated += done;
		gfn += n;
		pages -= n;
	}
	return r;
}

/* Populate up to want pages from the usable parts of added blocks. */
static uint64_t balloon_inflate(struct sim_guest *g, uint64_t want)
{
	uint64_t got = 0, gfns[BATCH];
	uint32_t block;

	for (block = 0; block < g->nr_blocks && got < want; block++) {
		while (usable_block(g, block) && g->filled[block] < usable_pages(g) && got < want) {
			uint64_t base = block_gfn(g, block) + head_pages(g) + g->filled[block];
			uint64_t room = usable_pages(g) - g->filled[block];
			size_t n, done = 0;
			int r;

			for (n = 0; n < BATCH && n < room && got + n < want; n++)
				gfns[n] = base + n;
			r = g->hv->ops->populate(g->hv, g->domid, 0, gfns, n, &done);
			g->filled[block] += (uint32_t)done;
			g->stats.self_populated += done;
			got += done;
			if (r < 0)
				return got; /* at max_pages: the rest waits */
		}
	}
	return got;
}

/* Give back up to want balloon-populated pages, newest block first. */
static uint64_t balloon_deflate(struct sim_guest *g, uint64_t want)
{
	uint64_t gave = 0, gfns[BATCH];
	uint32_t block;

	for (block = g->nr_blocks; block-- > 0 && gave < want;) {
		while (usable_block(g, block) && g->filled[block] && gave < want) {
			size_t n, done = 0;
			int r;

			for (n = 0; n < BATCH && n < g->filled[block] && gave + n < want; n++)
				gfns[n] = block_gfn(g, block) + head_pages(g) + g->filled[block] -
					  1 - n;
			r = g->hv->ops->decrease(g->hv, g->domid, 0, gfns, n, &done);
			g->filled[block] -= (uint32_t)done;
			g->stats.self_decreased += done;
			gave += done;
			if (r < 0)
				return gave;
		}
	}
	return gave;
}

/* GFN of boot page k: the domain builder fills bank 0, then bank 1. */
static uint64_t boot_gfn(uint64_t k)
{
	return k < HV_SIM_RAM0_PAGES ? HV_SIM_RAM0_GFN + k
				     : HV_SIM_RAM1_GFN + k - HV_SIM_RAM0_PAGES;
}

/*
 * Balloon boot RAM out, from its top down, until want pages went or only
 * SG_BOOT_FLOOR_BYTES are left. A failed call stops at the page it names,
 * which stays counted as the guest's.
 */
static uint64_t boot_deflate(struct sim_guest *g, uint64_t want)
{
	uint64_t floor = SG_BOOT_FLOOR_BYTES >> PAGE_SHIFT, gave = 0, gfns[BATCH];

	while (gave < want && g->boot_pages > floor + g->stats.boot_ballooned) {
		uint64_t room = g->boot_pages - floor - g->stats.boot_ballooned;
		size_t n, done = 0;
		int r;

		for (n = 0; n < BATCH && n < room && gave + n < want; n++)
			gfns[n] = boot_gfn(g->boot_pages - 1 - g->stats.boot_ballooned - n);
		r = g->hv->ops->decrease(g->hv, g->domid, 0, gfns, n, &done);
		g->stats.boot_ballooned += done;
		g->stats.self_decreased += done;
		gave += done;
		if (r < 0)
			break;
	}
	return gave;
}

/* Refill ballooned boot RAM, the page ballooned last first. */
static uint64_t boot_inflate(struct sim_guest *g, uint64_t want)
{
	uint64_t got = 0, gfns[BATCH];

	while (got < want && g->stats.boot_ballooned) {
		size_t n, done = 0;
		int r;

		for (n = 0; n < BATCH && n < g->stats.boot_ballooned && got + n < want; n++)
			gfns[n] = boot_gfn(g->boot_pages - g->stats.boot_ballooned + n);
		r = g->hv->ops->populate(g->hv, g->domid, 0, gfns, n, &done);
		g->stats.boot_ballooned -= done;
		g->stats.self_populated += done;
		got += done;
		if (r < 0)
			break; /* at max_pages: the rest waits */
	}
	return got;
}

/* Pages the balloon holds ballooned: it can populate this many without hot-add. */
static uint64_t balloon_room(const struct sim_guest *g)
{
	uint64_t room = g->stats.boot_ballooned;

	for (uint32_t block = 0; block < g->nr_blocks; block++)
		if (usable_block(g, block))
			room += usable_pages(g) - g->filled[block];
	return room;
}

static int balloon(struct sim_guest *g)
{
	char *value = NULL;
	uint64_t target_kib = 0, want;
	int acted = 0;

	if (g->params.no_balloon || g->hv->ops->xs_read(g->hv, 0, "memory/target", &value, NULL))
		goto out;
	target_kib = strtoull(value, NULL, 10);
	want = target_kib >> 2;
	/*
	 * Only a new target counts: while a shrink is booked the old one stays
	 * above what is left for a moment (the toolstack lowers it at the ack).
	 */
	if (target_kib != g->last_target_kib) {
		if (g->params.balloon_boot && want > g->stats.balloon_current + balloon_room(g))
			g->stats.balloon_hotplugs++;
		g->last_target_kib = target_kib;
		g->balloon_target = want;
	}
	/* The driver moved the balloon's target with each block it plugged. */
	if (g->populated_blocks)
		want = g->balloon_target;
	if (want > g->stats.balloon_current) {
		uint64_t got = 0;

		if (g->params.balloon_boot)
			got = boot_inflate(g, want - g->stats.balloon_current);
		got += balloon_inflate(g, want - g->stats.balloon_current - got);
		g->stats.balloon_current += got;
		acted = got != 0;
	} else if (want < g->stats.balloon_current) {
		uint64_t gave = 0;

		/* Linux's balloon allocates non-movable pages: boot RAM, not the blocks. */
		if (g->params.balloon_boot)
			gave = boot_deflate(g, g->stats.balloon_current - want);
		gave += balloon_deflate(g, g->stats.balloon_current - want - gave);
		g->stats.balloon_current -= gave;
		acted = gave != 0;
	}
out:
	free(value);
	return acted;
}

/* ---- handshake ----------------------------------------------------------- */

/*
 * What H/guest/features lists: target-blocks and populated-blocks only with
 * memmap_in_target (as xen_hotmem.ko does).
 */
static uint32_t advertised_features(const struct sim_guest *g)
{
	if (g->params.memmap_in_target)
		return g->params.features;
	return g->params.features &
	       ~(HOTMEM_FEATURE_TARGET_BLOCKS | HOTMEM_FEATURE_POPULATED_BLOCKS);
}

static int publish(struct sim_guest *g)
{
	char version[16], features[128], block_size[32], memmap[32];
	char *offered = NULL;
	uint32_t toolstack_version = 0, negotiated = 0;
	int r;

	r = g->hv->ops->xs_read(g->hv, 0, HOTMEM_KEY_VERSION, &offered, NULL);
	if (!r)
		r = hotmem_parse_version(offered, strlen(offered), &toolstack_version);
	free(offered);
	if (r < 0)
		return r;
	hotmem_version_negotiate(toolstack_version, HOTMEM_PROTO_VERSION, &negotiated);
	hotmem_format_version(version, sizeof(version), negotiated);
	hotmem_format_features(features, sizeof(features), advertised_features(g));
	hotmem_format_block_size(block_size, sizeof(block_size), g->params.block_size);
	hotmem_format_memmap_bytes(memmap, sizeof(memmap), g->params.memmap_bytes);
	{
		const char *pairs[] = {
			HOTMEM_KEY_GUEST_VERSION,      version,
			HOTMEM_KEY_GUEST_FEATURES,     features,
			HOTMEM_KEY_GUEST_BLOCK_SIZE,   block_size,
			HOTMEM_KEY_GUEST_MEMMAP_BYTES, memmap,
			HOTMEM_KEY_GUEST_BLOCKS,       "",
			HOTMEM_KEY_GUEST_STATE,	       "init",
		};

		r = put_all(g, pairs, 6);
	}
	if (!r)
		g->state = SG_INIT;
	return r;
}

static int try_ready(struct sim_guest *g)
{
	char *value = NULL, *offered_text = NULL;
	uint32_t offered = 0;
	int r;

	r = g->hv->ops->xs_read(g->hv, 0, HOTMEM_KEY_WINDOW, &value, NULL);
	/* H/features as it stands with the window (the toolstack may narrow it). */
	if (!r)
		r = g->hv->ops->xs_read(g->hv, 0, HOTMEM_KEY_FEATURES, &offered_text, NULL);
	if (r < 0) {
		free(value);
		return r;
	}
	r = hotmem_parse_window(value, strlen(value), &g->window);
	free(value);
	if (!r)
		r = hotmem_window_check(&g->window, g->params.block_size, &g->nr_blocks);
	if (!r)
		r = hotmem_parse_features(offered_text, strlen(offered_text), &offered);
	free(offered_text);
	if (!r)
		g->target_blocks = offered & advertised_features(g) & HOTMEM_FEATURE_TARGET_BLOCKS;
	g->populated_blocks = g->target_blocks &&
			      (offered & advertised_features(g) & HOTMEM_FEATURE_POPULATED_BLOCKS);
	g->stats_swap = !r && (offered & advertised_features(g) & HOTMEM_FEATURE_STATS_SWAP);
	if (r < 0) {
		put(g, 0, HOTMEM_KEY_GUEST_STATE, "broken");
		g->state = SG_DEAD;
		return r;
	}
	r = put(g, 0, HOTMEM_KEY_GUEST_STATE, "ready");
	if (!r)
		g->state = SG_READY;
	return r;
}

/* ---- requests ------------------------------------------------------------ */

static int write_answer(struct sim_guest *g, uint32_t seq, enum hotmem_status status, uint32_t done)
{
	static char blocks[HOTMEM_XS_VALUE_MAX + 1];
	uint64_t listed[HOTMEM_BLOCKS_WORDS];
	struct hotmem_ack ack = { .seq = seq, .status = status, .done = done };
	char text[64];
	int r;

	hotmem_blocks_andnot(listed, g->plugged, g->lost);
	r = hotmem_format_blocks(blocks, sizeof(blocks), listed);
	if (r >= 0)
		r = hotmem_format_ack(text, sizeof(text), &ack);
	if (r >= 0) {
		const char *pairs[] = {
			HOTMEM_KEY_GUEST_BLOCKS, blocks,  HOTMEM_KEY_GUEST_ACK, text,
			HOTMEM_KEY_GUEST_STATE,	 "ready",
		};

		r = put_all(g, pairs, 3);
	}
	if (!r)
		g->stats.acks++;
	return r;
}

/* Is every page of [gfn, gfn + pages) mapped (want) or unmapped (!want)? */
static bool all_pages(struct sim_guest *g, uint64_t gfn, uint64_t pages, bool want)
{
	uint64_t i;

	for (i = 0; i < pages; i++)
		if ((hv_sim_gfn_populated(g->sim, g->domid, gfn + i, NULL) == 1) != want)
			return false;
	return true;
}

static uint32_t do_grow(struct sim_guest *g, const struct hotmem_request *req, uint32_t limit)
{
	uint32_t done = 0, i;

	for (i = 0; i < req->count && done < limit; i++) {
		uint32_t block = req->first + i;
		uint64_t gfn = block_gfn(g, block);

		/*
		 * The memmap head must be there; the usable pages must not, unless
		 * populated-blocks is in use: then all of them must be.
		 */
		if (!all_pages(g, gfn, head_pages(g), true) ||
		    !all_pages(g, gfn + head_pages(g), 1, g->populated_blocks) ||
		    !all_pages(g, gfn + (g->params.block_size >> PAGE_SHIFT) - 1, 1,
			       g->populated_blocks)) {
			g->stats.dom0_errors++;
			break;
		}
		hotmem_blocks_set(g->plugged, block, 1);
		g->filled[block] = g->populated_blocks ? (uint32_t)usable_pages(g) : 0;
		if (g->target_blocks)
			g->stats.balloon_current += head_pages(g) + g->filled[block];
		if (g->populated_blocks)
			g->balloon_target += head_pages(g) + g->filled[block];
		g->added_at[block] = ++g->add_counter;
		done++;
	}
	return done;
}

/* The newest plugged (and not lost) block, or UINT32_MAX. */
static uint32_t newest_block(const struct sim_guest *g)
{
	uint32_t block, best = UINT32_MAX;

	for (block = 0; block < g->nr_blocks; block++)
		if (usable_block(g, block) &&
		    (best == UINT32_MAX || g->added_at[block] > g->added_at[best]))
			best = block;
	return best;
}

static uint32_t do_shrink(struct sim_guest *g, const struct hotmem_request *req, bool lie)
{
	uint32_t done = 0;

	while (done < req->count) {
		uint32_t block = newest_block(g);

		if (block == UINT32_MAX)
			break;
		if (lie) {
			/* Off the list, but the balloon goes on counting its pages. */
			hotmem_blocks_set(g->lost, block, 1);
		} else {
			/* The driver hands the balloon's pages of the block over:
			 * they stay mapped until dom0 takes the frames back. */
			g->stats.balloon_current -= g->filled[block];
			if (g->target_blocks)
				g->stats.balloon_current -= head_pages(g);
			if (g->populated_blocks)
				g->balloon_target -= head_pages(g) + g->filled[block];
			g->filled[block] = 0;
			hotmem_blocks_clear(g->plugged, block, 1);
		}
		done++;
	}
	return done;
}

static int handle_request(struct sim_guest *g)
{
	struct hotmem_request req;
	enum hotmem_status status;
	char *value = NULL;
	uint32_t done;
	int r;

	if (g->hv->ops->xs_read(g->hv, 0, HOTMEM_KEY_REQUEST, &value, NULL) < 0)
		return 0;
	r = hotmem_parse_request(value, strlen(value), &req);
	free(value);
	if (r < 0)
		return 0;
	r = hotmem_request_check(&req, g->last_seq, g->nr_blocks, g->plugged);
	if (r == -EALREADY)
		return 0;
	if (g->params.mode == SG_SILENT)
		return 0;
	if (g->params.mode == SG_BROKEN) {
		put(g, 0, HOTMEM_KEY_GUEST_STATE, "broken");
		g->state = SG_DEAD;
		return 1;
	}
	if (g->params.mode == SG_WRONG_SEQ) {
		/* Not marked handled: once fixed, it answers this request again. */
		if (g->wrong_answered == req.seq)
			return 0;
		g->wrong_answered = req.seq;
		return write_answer(g, req.seq + 1, HOTMEM_STATUS_OK, req.count) == 0;
	}
	g->stats.requests++;
	g->last_seq = req.seq;
	if (r < 0)
		return write_answer(g, req.seq, HOTMEM_STATUS_INVAL, 0) == 0;

	switch (g->params.mode) {
	case SG_ACK_ERROR:
		return write_answer(g, req.seq, HOTMEM_STATUS_ERROR, 0) == 0;
	case SG_LIE_KEEP:
		if (req.op == HOTMEM_OP_SHRINK)
			return write_answer(g, req.seq, HOTMEM_STATUS_OK, req.count) == 0;
		break;
	default:
		break;
	}
	if (req.op == HOTMEM_OP_GROW) {
		uint32_t limit = g->params.mode == SG_ACK_PARTIAL ? req.count / 2 : req.count;

		done = do_grow(g, &req, limit);
	} else {
		done = do_shrink(g, &req, g->params.mode == SG_LIE_DROP);
	}
	if (done == req.count)
		status = HOTMEM_STATUS_OK;
	else if (done)
		status = HOTMEM_STATUS_PARTIAL;
	else
		status = req.op == HOTMEM_OP_GROW ? HOTMEM_STATUS_ERROR : HOTMEM_STATUS_BUSY;
	return write_answer(g, req.seq, status, done) == 0;
}

/* ---- stats --------------------------------------------------------------- */

static uint64_t guest_now_ms(const struct sim_guest *g)
{
	struct timespec ts;

	if (g->params.clock_ms)
		return g->params.clock_ms(g->params.clock_opaque);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Re-read H/stats-interval-ms (after a watch event); a new interval starts now. */
static void read_stats_interval(struct sim_guest *g)
{
	uint32_t interval = 0;
	char *value = NULL;

	if (g->hv->ops->xs_read(g->hv, 0, HOTMEM_KEY_STATS_INTERVAL, &value, NULL) == 0 &&
	    hotmem_parse_stats_interval(value, strlen(value), &interval) < 0)
		interval = 0;
	free(value);
	if (interval != g->stats_interval_ms) {
		g->stats_interval_ms = interval;
		g->next_stats_ms = guest_now_ms(g);
	}
}

static bool stats_due(const struct sim_guest *g, uint64_t now)
{
	return g->stats_interval_ms && !g->load.stats_off &&
	       (g->state == SG_INIT || g->state == SG_READY) && now >= g->next_stats_ms;
}

/* MemTotal and MemAvailable as the load and the balloon's frames make them. */
static void compute_stats(const struct sim_guest *g, struct hotmem_stats *st)
{
	uint64_t pages = g->stats.balloon_current, total, reserved, avail;
	uint64_t heads =
		(uint64_t)hotmem_blocks_weight(g->plugged, 0, HOTMEM_MAX_BLOCKS) * head_pages(g);

	if (g->target_blocks)
		pages = pages > heads ? pages - heads : 0;
	total = pages << PAGE_SHIFT;
	reserved = total / 16 < SG_KERNEL_RESERVED_BYTES ? total / 16 : SG_KERNEL_RESERVED_BYTES;
	total -= reserved;
	avail = total > SG_KERNEL_USED_BYTES + g->load.working_set_bytes
			? total - SG_KERNEL_USED_BYTES - g->load.working_set_bytes
			: 0;
	st->memtotal_kib = total >> 10;
	st->memavail_kib = avail >> 10;
	st->psi_some_avg10 = g->load.psi_some_avg10;
	st->psi_full_avg10 = g->load.psi_full_avg10;
	/* With swap, what of the working set does not fit is in it (psim's guests likewise). */
	st->has_swapped = g->stats_swap;
	if (st->has_swapped && SG_KERNEL_USED_BYTES + g->load.working_set_bytes > total)
		st->swapped_kib = (SG_KERNEL_USED_BYTES + g->load.working_set_bytes - total) >> 10;
}

static int publish_stats(struct sim_guest *g, uint64_t now)
{
	struct hotmem_stats st = { .counter = g->stats.stats_published + 1 };
	char text[HOTMEM_XS_VALUE_MAX + 1];
	int r;

	compute_stats(g, &st);
	r = hotmem_format_stats(text, sizeof(text), &st);
	if (r >= 0)
		r = put(g, 0, HOTMEM_KEY_GUEST_STATS, text);
	if (r < 0)
		return 0; /* retried at the next step: the interval has passed */
	g->stats.stats_published++;
	g->stats.last_stats = st;
	g->next_stats_ms = now + g->stats_interval_ms;
	return 1;
}

void sim_guest_set_load(struct sim_guest *g, const struct sim_guest_load *load)
{
	g->load = *load;
}

void sim_guest_get_load(struct sim_guest *g, struct sim_guest_load *ret_load)
{
	*ret_load = g->load;
}

/* ---- the guest's main loop ----------------------------------------------- */

bool sim_guest_pending(struct sim_guest *g)
{
	struct pollfd pfd = { .fd = g->hv->ops->xs_watch_fd(g->hv), .events = POLLIN };

	return g->retry || (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN));
}

int sim_guest_step(struct sim_guest *g)
{
	char *path, *token;
	int events = 0, acted = 0;
	uint64_t now;

	while (g->hv->ops->xs_read_watch(g->hv, &path, &token) == 0) {
		free(path);
		free(token);
		events++;
	}
	if (!events && !g->retry) {
		now = guest_now_ms(g);
		return stats_due(g, now) ? publish_stats(g, now) : 0;
	}
	g->retry = false;
	/* Each stage may complete at once and let the next one run. */
	if (g->state == SG_WAIT_H && publish(g) == 0)
		acted++;
	if (g->state == SG_INIT && try_ready(g) == 0)
		acted++;
	/* Linux runs the balloon's target watch before the driver sees a request
	 * written after it (one xenwatch thread, in order). */
	if (g->state == SG_READY && g->params.balloon_boot)
		acted += balloon(g);
	if (g->state == SG_READY)
		acted += handle_request(g);
	if (g->state != SG_DEAD)
		acted += balloon(g);
	if (g->state == SG_INIT || g->state == SG_READY)
		read_stats_interval(g);
	now = guest_now_ms(g);
	if (stats_due(g, now))
		acted += publish_stats(g, now);
	return events + acted;
}

void sim_guest_set_mode(struct sim_guest *g, enum sim_guest_mode mode)
{
	g->params.mode = mode;
	g->wrong_answered = 0;
	g->retry = true;
}

void sim_guest_get_stats(struct sim_guest *g, struct sim_guest_stats *ret_stats)
{
	*ret_stats = g->stats;
	ret_stats->state = g->state == SG_DEAD ? 3 : (uint32_t)g->state;
	memcpy(ret_stats->plugged_map, g->plugged, sizeof(g->plugged));
	ret_stats->plugged = (uint32_t)hotmem_blocks_weight(g->plugged, 0, HOTMEM_MAX_BLOCKS);
}

int sim_guest_fd(const struct sim_guest *g)
{
	return g->hv->ops->xs_watch_fd(g->hv);
}

uint32_t sim_guest_domid(const struct sim_guest *g)
{
	return g->domid;
}

int sim_guest_new(struct hv_sim *sim, uint32_t domid, const struct sim_guest_params *params,
		  struct sim_guest **ret_guest)
{
	struct hv_sim_domain_stats ds;
	struct sim_guest *g = calloc(1, sizeof(*g));
	char *target = NULL;
	int r = -ENOMEM;

	if (!g)
		goto out;
	g->sim = sim;
	g->domid = domid;
	if (params)
		g->params = *params;
	if (!g->params.block_size)
		g->params.block_size = 128ull << 20;
	if (!g->params.memmap_bytes)
		g->params.memmap_bytes = g->params.block_size / 64;
	else if (g->params.memmap_bytes == SG_MEMMAP_NONE)
		g->params.memmap_bytes = 0;
	if (!g->params.features)
		g->params.features = HOTMEM_FEATURES_KNOWN;
	r = hv_sim_domain_stats(sim, domid, &ds);
	if (r < 0)
		goto out;
	g->stats.balloon_current = ds.tot_pages;
	g->boot_pages = ds.tot_pages;
	r = hv_sim_open(sim, domid, &g->hv);
	if (r < 0)
		goto out;
	/*
	 * Like Linux's balloon, count the RAM the domain booted with (its
	 * memory/static-max, what xl built it with; else memory/target), not
	 * the pages libxl adds besides it (rings). A target below it (a domain
	 * rebuilt bigger than configured) is ballooned down to at once.
	 */
	if (g->hv->ops->xs_read(g->hv, HV_XS_NO_TXN, "memory/static-max", &target, NULL) == 0) {
		uint64_t kib = strtoull(target, NULL, 10);

		if (kib && kib / 4 <= ds.tot_pages)
			g->stats.balloon_current = g->boot_pages = kib / 4;
	}
	free(target);
	target = NULL;
	if (g->hv->ops->xs_read(g->hv, HV_XS_NO_TXN, "memory/target", &target, NULL) == 0) {
		uint64_t kib = strtoull(target, NULL, 10);

		g->last_target_kib = kib;
		g->balloon_target = kib >> 2;
	}
	free(target);
	r = g->hv->ops->xs_watch(g->hv, "hotmem", TOKEN_HOTMEM);
	if (!r)
		r = g->hv->ops->xs_watch(g->hv, "memory/target", TOKEN_TARGET);
	if (r < 0)
		goto out;
	*ret_guest = g;
	g = NULL;
out:
	if (g && g->hv)
		hv_close(g->hv);
	free(g);
	return r;
}

void sim_guest_free(struct sim_guest *g)
{
	if (!g)
		return;
	hv_close(g->hv);
	free(g);
}
