/*
 * The guest driver's protocol engine (see hotmem_core.h): handshake, request
 * intake and validation, the plug and unplug sequences one block transition
 * per step, acks, stats, and the one switch that holds the retry policy. It
 * owns the per-block state array and its per-state totals, changed only by
 * core_block_set_state(). Every toolstack value it acts on went through a
 * proto.c parser and check first; anything else is a named violation.
 */
#include "hotmem_core.h"

/* The memmap size is checked against the block size it describes before use. */
static int core_format_memmap_bytes(char *buf, size_t size, uint64_t bytes, uint64_t block_size)
{
	int rc = hotmem_memmap_bytes_check(bytes, block_size);

	return rc ? rc : hotmem_format_memmap_bytes(buf, size, bytes);
}

static const char *const block_state_names[HOTMEM_BLOCK_COUNT] = {
	[HOTMEM_BLOCK_ABSENT] = "absent",   [HOTMEM_BLOCK_ADDED] = "added",
	[HOTMEM_BLOCK_ONLINE] = "online",   [HOTMEM_BLOCK_PLUGGED] = "plugged",
	[HOTMEM_BLOCK_REMOVED] = "removed", [HOTMEM_BLOCK_STUCK] = "stuck",
};

static const char *const zone_names[HOTMEM_ZONE_COUNT] = {
	[HOTMEM_ZONE_MOVABLE] = "movable",
	[HOTMEM_ZONE_KERNEL] = "kernel",
};

const char *hotmem_block_state_name(enum hotmem_block_state state)
{
	return (unsigned int)state < HOTMEM_BLOCK_COUNT ? block_state_names[state] : "?";
}

const char *hotmem_zone_name(enum hotmem_zone zone)
{
	return (unsigned int)zone < HOTMEM_ZONE_COUNT ? zone_names[zone] : "?";
}

/* Text length of a NUL-terminated string (no libc in the kernel build). */
static size_t core_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static void core_emit(struct hotmem_core *core, struct hotmem_event *event)
{
	core->ops->event(core->ctx, event);
}

/*
 * core_write - write a NUL-terminated value to a guest key.
 * Returns what ops->xs_write() returns; records the failure for sysfs.
 */
static int core_write(struct hotmem_core *core, const char *key, const char *value)
{
	int rc = core->ops->xs_write(core->ctx, key, value, core_strlen(value));

	if (rc)
		core->last_err = rc;
	return rc;
}

/* Whether a block state is published in H/guest/blocks ("added and online"). */
static bool core_block_listed(enum hotmem_block_state state)
{
	return state == HOTMEM_BLOCK_ONLINE || state == HOTMEM_BLOCK_PLUGGED;
}

int hotmem_core_block_range(const struct hotmem_core *core, uint32_t block, uint64_t *ret_start)
{
	if (!core || !ret_start || !core->handshake_done || block >= core->nr_blocks)
		return -ERANGE;
	*ret_start = core->window.base + (uint64_t)block * core->mm.geo.block_size;
	return 0;
}

/*
 * core_block_set_state - the one setter of a block's state.
 * Keeps nr_in_state[] and plugged_at[] in step and reports the change (err:
 * the failure that caused it, 0 for progress). Takes no lock (caller
 * serialises) and cannot fail.
 */
static void core_block_set_state(struct hotmem_core *core, uint32_t block,
				 enum hotmem_block_state to, int err)
{
	enum hotmem_block_state from = (enum hotmem_block_state)core->block_state[block];
	struct hotmem_event event = {
		.type = HOTMEM_EVENT_BLOCK,
		.err = err,
		.block = block,
		.size = core->mm.geo.block_size,
		.block_from = from,
		.block_to = to,
	};

	if (from == to)
		return;
	core->nr_in_state[from]--;
	core->nr_in_state[to]++;
	core->block_state[block] = (uint8_t)to;
	if (to == HOTMEM_BLOCK_PLUGGED)
		core->plugged_at[block] = ++core->plug_clock;
	else if (to == HOTMEM_BLOCK_ABSENT)
		core->plugged_at[block] = 0;
	hotmem_core_block_range(core, block, &event.start);
	core_emit(core, &event);
}

/*
 * core_set_state - change the driver state and write it to H/guest/state.
 * Returns the write's result; the in-memory state changes either way.
 */
static int core_set_state(struct hotmem_core *core, enum hotmem_state to)
{
	struct hotmem_event event = {
		.type = HOTMEM_EVENT_STATE,
		.from = core->state,
		.to = to,
	};

	core->state = to;
	if (event.from != to)
		core_emit(core, &event);
	return core_write(core, HOTMEM_KEY_GUEST_STATE, hotmem_state_token(to));
}

/*
 * core_publish_blocks - write H/guest/blocks from the block states.
 * Returns 0, -ENOSPC if the set is too fragmented for one value (cannot
 * happen while grows add ranges and shrinks take the newest block), or the
 * write's error.
 */
static int core_publish_blocks(struct hotmem_core *core)
{
	uint32_t block;
	int rc;

	hotmem_blocks_zero(core->scratch);
	for (block = 0; block < core->nr_blocks; block++)
		if (core_block_listed((enum hotmem_block_state)core->block_state[block]))
			hotmem_blocks_set(core->scratch, block, 1);
	rc = hotmem_format_blocks(core->buf, sizeof(core->buf), core->scratch);
	if (rc < 0)
		return rc;
	return core_write(core, HOTMEM_KEY_GUEST_BLOCKS, core->buf);
}

/*
 * core_break - give up: state broken, blocks published as they are.
 * Best effort on xenstore (it may be what failed). After this the core
 * serves nothing until the driver is reloaded.
 */
static void core_break(struct hotmem_core *core, const char *what, int err)
{
	struct hotmem_event event = {
		.type = HOTMEM_EVENT_BROKEN,
		.err = err,
		.what = what,
	};

	core->last_err = err;
	core->active = false;
	core_emit(core, &event);
	if (core->handshake_done)
		core_publish_blocks(core);
	core_set_state(core, HOTMEM_STATE_BROKEN);
}

static void core_violation(struct hotmem_core *core, const char *key, int err)
{
	struct hotmem_event event = {
		.type = HOTMEM_EVENT_VIOLATION,
		.err = err,
		.what = key,
	};

	core->nr_violations++;
	core_emit(core, &event);
}

/*
 * core_balloon_delta - the book changes for plugging (sign +1) or unplugging
 * (sign -1) one block. With populated-blocks in use dom0 populated the whole
 * block and memory/target moves by it: every book moves by the block. Else
 * the balloon populates the usable pages itself; the memmap head was
 * populated by dom0 and is counted as populated only when target-blocks is
 * in use (cfg.memmap_in_target and the toolstack offers it: then
 * memory/target moves by the whole block).
 */
static struct hotmem_balloon_delta core_balloon_delta(const struct hotmem_core *core, int sign)
{
	int64_t memmap = 0;
	struct hotmem_balloon_delta delta;

	if (core->features & HOTMEM_FEATURE_TARGET_BLOCKS)
		memmap = (int64_t)core->layout.memmap_pages;

	delta.total_pages = sign * (int64_t)core->layout.block_pages;
	if (core->features & HOTMEM_FEATURE_POPULATED_BLOCKS) {
		delta.current_pages = delta.total_pages;
		delta.target_pages = delta.total_pages;
	} else if (sign > 0) {
		delta.current_pages = memmap;
		delta.target_pages = memmap;
	} else {
		delta.current_pages = -((int64_t)core->layout.usable_pages + memmap);
		delta.target_pages = delta.current_pages;
	}
	return delta;
}

/*
 * core_add_kernel_bytes - upper bound of the kernel-zone memory adding one
 * block takes (HOTMEM_ADD_DEVICE_BYTES in hotmem_core.h): the linear map's
 * last-level tables at page granularity (an 8-byte entry per page, in whole
 * table pages), one table of the level above, the device. Without
 * memmap-on-memory the caller adds the memmap.
 */
static uint64_t core_add_kernel_bytes(const struct hotmem_mm_geometry *geo)
{
	uint64_t pages = geo->block_size / geo->page_size;
	uint64_t entries_per_table = geo->page_size / 8;
	uint64_t tables = (pages + entries_per_table - 1) / entries_per_table + 1;

	return tables * geo->page_size + HOTMEM_ADD_DEVICE_BYTES;
}

int hotmem_core_init(struct hotmem_core *core, const struct hotmem_platform_ops *ops, void *ctx,
		     const struct hotmem_core_config *cfg)
{
	struct hotmem_guest_mm mm;
	int rc;

	if (!core || !ops || !cfg || !ops->xs_read || !ops->xs_write || !ops->mm_info ||
	    !ops->range_pluggable || !ops->probe_block || !ops->add_block || !ops->online_block ||
	    !ops->offline_and_remove_block || !ops->balloon_account || !ops->read_stats ||
	    !ops->now_ms || !ops->event)
		return -EINVAL;
	if ((unsigned int)cfg->online_zone >= HOTMEM_ZONE_COUNT || !cfg->retry_min_ms ||
	    cfg->retry_max_ms < cfg->retry_min_ms)
		return -EINVAL;
	rc = ops->mm_info(ctx, &mm);
	if (rc)
		return rc;
	if (!hotmem_block_size_valid(mm.geo.block_size))
		return -EINVAL;

	__builtin_memset(core, 0, sizeof(*core));
	core->ops = ops;
	core->ctx = ctx;
	core->cfg = *cfg;
	core->mm = mm;
	/*
	 * With memmap-on-memory the kernel said yes, so the "force" layout (which
	 * equals the plain one whenever the plain one is accepted) must be
	 * accepted too; if layout.h disagrees with the kernel, neither is trusted.
	 */
	rc = hotmem_layout_block(&mm.geo,
				 mm.memmap_on_memory ? HOTMEM_MEMMAP_FORCE : HOTMEM_MEMMAP_OFF,
				 &core->layout);
	if (rc)
		return rc;
	if (mm.memmap_on_memory && core->layout.refusals)
		return -EINVAL;
	core->memmap_bytes = core->layout.memmap_pages * mm.geo.page_size;
	core->add_kernel_bytes = core_add_kernel_bytes(&mm.geo);
	/* The classic layout takes the block's memmap from the kernel zones too. */
	if (!core->layout.memmap_pages)
		core->add_kernel_bytes +=
			mm.geo.block_size / mm.geo.page_size * mm.geo.struct_page_size;
	core->guest_features = HOTMEM_FEATURE_STATS | HOTMEM_FEATURE_STATS_SWAP;
	if (core->layout.memmap_pages)
		core->guest_features |= HOTMEM_FEATURE_MEMMAP_ON_MEMORY;
	if (cfg->online_zone == HOTMEM_ZONE_MOVABLE)
		core->guest_features |= HOTMEM_FEATURE_ONLINE_MOVABLE;
	if (mm.hotremove)
		core->guest_features |= HOTMEM_FEATURE_SHRINK;
	if (cfg->memmap_in_target)
		core->guest_features |= HOTMEM_FEATURE_TARGET_BLOCKS;
	if (cfg->memmap_in_target && cfg->own_pages)
		core->guest_features |= HOTMEM_FEATURE_POPULATED_BLOCKS;
	if (cfg->shutdown_notice_ms)
		core->guest_features |= HOTMEM_FEATURE_REBOOT_NOTICE;
	core->grow_ok = mm.balloon_captures && (mm.memmap_on_memory || cfg->allow_classic);
	core->state = HOTMEM_STATE_INIT;
	core->handshake_wanted = true;
	core->nr_in_state[HOTMEM_BLOCK_ABSENT] = HOTMEM_MAX_BLOCKS;
	return 0;
}

void hotmem_inbox_parse_request(struct hotmem_inbox *inbox, const char *buf, size_t len)
{
	struct hotmem_request request;

	if (hotmem_parse_request(buf, len, &request)) {
		inbox->events |= HOTMEM_INBOX_REQUEST_MALFORMED;
		return;
	}
	inbox->request = request;
	inbox->events |= HOTMEM_INBOX_REQUEST;
}

void hotmem_inbox_parse_stats_interval(struct hotmem_inbox *inbox, const char *buf, size_t len)
{
	uint32_t interval_ms;

	if (hotmem_parse_stats_interval(buf, len, &interval_ms)) {
		inbox->events |= HOTMEM_INBOX_STATS_MALFORMED;
		return;
	}
	inbox->stats_interval_ms = interval_ms;
	inbox->events |= HOTMEM_INBOX_STATS_INTERVAL;
}

void hotmem_inbox_toolstack_changed(struct hotmem_inbox *inbox)
{
	inbox->events |= HOTMEM_INBOX_TOOLSTACK;
}

void hotmem_core_deliver(struct hotmem_core *core, struct hotmem_inbox *inbox)
{
	uint32_t events = inbox->events;

	if (events & HOTMEM_INBOX_REQUEST_MALFORMED)
		core_violation(core, HOTMEM_KEY_REQUEST, -EINVAL);
	if (events & HOTMEM_INBOX_STATS_MALFORMED)
		core_violation(core, HOTMEM_KEY_STATS_INTERVAL, -EINVAL);
	/* Newest wins: a lower seq than one already waiting is stale. */
	if ((events & HOTMEM_INBOX_REQUEST) &&
	    (!core->request_pending || inbox->request.seq > core->pending.seq)) {
		core->pending = inbox->request;
		core->request_pending = true;
	}
	if (events & HOTMEM_INBOX_STATS_INTERVAL) {
		core->stats_interval_ms = inbox->stats_interval_ms;
		core->stats_next_ms = 0; /* publish at once, then at the new rate */
	}
	if ((events & HOTMEM_INBOX_TOOLSTACK) && !core->handshake_done)
		core->handshake_wanted = true;
	else if (events & HOTMEM_INBOX_TOOLSTACK)
		core->toolstack_changed = true;
	*inbox = (struct hotmem_inbox){ 0 };
}

/*
 * core_read - read a toolstack key into core->buf.
 * Returns 0 with the length in *ret_len, -ENOENT when absent, or the read's
 * error (-E2BIG for a value over the protocol's limit).
 */
static int core_read(struct hotmem_core *core, const char *key, size_t *ret_len)
{
	return core->ops->xs_read(core->ctx, key, core->buf, sizeof(core->buf), ret_len);
}

/*
 * core_rescan - adopt what a previous instance of the driver left in the
 * window: online blocks it had published in H/guest/blocks (the toolstack
 * granted those) become PLUGGED (in index order as their age); online memory
 * it had not published is not ours to adopt (boot RAM, or a block whose
 * frames the toolstack may have taken back) and is left alone; offline ones
 * are removed, or left STUCK if that fails. Runs once, in the handshake,
 * before anything is published. listed: the blocks of our last
 * H/guest/blocks (none when it is absent or malformed).
 */
static void core_rescan(struct hotmem_core *core, const uint64_t *listed)
{
	const uint64_t size = core->mm.geo.block_size;
	enum hotmem_probe probe;
	uint32_t block;
	uint64_t start = 0;
	int rc;

	for (block = 0; block < core->nr_blocks; block++) {
		hotmem_core_block_range(core, block, &start);
		if (core->ops->probe_block(core->ctx, start, size, &probe))
			continue;
		if ((probe == HOTMEM_PROBE_ONLINE || probe == HOTMEM_PROBE_ONLINE_KERNEL) &&
		    !hotmem_blocks_test(listed, block)) {
			struct hotmem_event event = {
				.type = HOTMEM_EVENT_REFUSED_BLOCK,
				.block = block,
				.start = start,
				.size = size,
			};

			core_emit(core, &event);
			continue;
		}
		if (probe == HOTMEM_PROBE_ONLINE || probe == HOTMEM_PROBE_ONLINE_KERNEL) {
			core->block_zone[block] = probe == HOTMEM_PROBE_ONLINE ? HOTMEM_ZONE_MOVABLE
									       : HOTMEM_ZONE_KERNEL;
			core_block_set_state(core, block, HOTMEM_BLOCK_PLUGGED, 0);
		} else if (probe == HOTMEM_PROBE_OFFLINE) {
			core_block_set_state(core, block, HOTMEM_BLOCK_ADDED, 0);
			rc = core->ops->offline_and_remove_block(core->ctx, start, size);
			core_block_set_state(core, block,
					     rc ? HOTMEM_BLOCK_STUCK : HOTMEM_BLOCK_ABSENT, rc);
		}
	}
}

/*
 * core_handshake_violation - whether rc, from reading and checking a
 * toolstack key during the handshake, says the value is unusable (missing
 * although H/version exists, too long, malformed, or inconsistent with this
 * guest). Then the violation is reported and the device broken.
 */
static bool core_handshake_violation(struct hotmem_core *core, const char *key, int rc)
{
	if (rc != -ENOENT && rc != -E2BIG && rc != -EINVAL && rc != -ERANGE)
		return false;
	core_violation(core, key, rc);
	core_break(core, key, rc);
	return true;
}

/*
 * core_publish_identity - write H/guest/{version, features, block-size,
 * memmap-bytes}: what the toolstack needs to choose the window. Returns the
 * first write error.
 */
static int core_publish_identity(struct hotmem_core *core, uint32_t version)
{
	int rc;

	rc = hotmem_format_version(core->buf, sizeof(core->buf), version);
	if (rc >= 0)
		rc = core_write(core, HOTMEM_KEY_GUEST_VERSION, core->buf);
	if (!rc)
		rc = hotmem_format_features(core->buf, sizeof(core->buf), core->guest_features);
	if (rc >= 0)
		rc = core_write(core, HOTMEM_KEY_GUEST_FEATURES, core->buf);
	if (!rc)
		rc = hotmem_format_block_size(core->buf, sizeof(core->buf),
					      core->mm.geo.block_size);
	if (rc >= 0)
		rc = core_write(core, HOTMEM_KEY_GUEST_BLOCK_SIZE, core->buf);
	if (!rc)
		rc = core_format_memmap_bytes(core->buf, sizeof(core->buf), core->memmap_bytes,
					      core->mm.geo.block_size);
	if (rc >= 0)
		rc = core_write(core, HOTMEM_KEY_GUEST_MEMMAP_BYTES, core->buf);
	return rc;
}

/*
 * core_handshake - section 6.2 of docs/protocol.md, guest side.
 * Reads H/version, H/features, H/window and H/guest/ack, checks them, adopts
 * leftover blocks and writes the guest keys with H/guest/state last ("ready").
 * The toolstack chooses the window from our block size, so it writes
 * H/window only after it has read H/guest/block-size: while H/window is
 * absent this publishes version, features, block size and memmap bytes with
 * state "init" and waits for H/window's watch to bring it back.
 * Returns 0 when done, when the toolstack is not attached yet (then waits for
 * H/version to appear) or has no window yet; the read's error otherwise. A
 * present but unusable toolstack value breaks the device (diagram of section
 * 6.1).
 */
static int core_handshake(struct hotmem_core *core)
{
	struct hotmem_event event = { .type = HOTMEM_EVENT_HANDSHAKE };
	uint32_t offered, toolstack_features, nr_blocks;
	uint64_t listed[HOTMEM_BLOCKS_WORDS];
	struct hotmem_window window;
	struct hotmem_ack ack;
	size_t len;
	int rc;

	core->handshake_wanted = false;
	rc = core_read(core, HOTMEM_KEY_VERSION, &len);
	if (rc == -ENOENT)
		return 0; /* not attached: H/version's watch brings us back */
	if (!rc && hotmem_parse_version(core->buf, len, &offered))
		rc = -EINVAL;
	if (core_handshake_violation(core, HOTMEM_KEY_VERSION, rc))
		return 0;
	if (rc)
		return rc;
	rc = core_set_state(core, HOTMEM_STATE_INIT);
	if (rc)
		return rc;

	rc = core_read(core, HOTMEM_KEY_FEATURES, &len);
	if (!rc && hotmem_parse_features(core->buf, len, &toolstack_features))
		rc = -EINVAL;
	if (core_handshake_violation(core, HOTMEM_KEY_FEATURES, rc))
		return 0;
	if (rc)
		return rc;

	rc = core_read(core, HOTMEM_KEY_WINDOW, &len);
	if (rc == -ENOENT) {
		/* No window yet: give the toolstack what it chooses one from. */
		hotmem_version_negotiate(offered, HOTMEM_PROTO_VERSION, &core->version);
		return core_publish_identity(core, core->version);
	}
	if (!rc && hotmem_parse_window(core->buf, len, &window))
		rc = -EINVAL;
	if (!rc)
		rc = hotmem_window_check(&window, core->mm.geo.block_size, &nr_blocks);
	if (!rc && !core->ops->range_pluggable(core->ctx, window.base, window.size))
		rc = -ERANGE;
	if (core_handshake_violation(core, HOTMEM_KEY_WINDOW, rc))
		return 0;
	if (rc)
		return rc;

	/* Our own last ack says which requests are done; invalid means none. */
	core->last_seq = 0;
	if (!core_read(core, HOTMEM_KEY_GUEST_ACK, &len) && !hotmem_parse_ack(core->buf, len, &ack))
		core->last_seq = ack.seq;
	/* And our last block list which blocks were granted to us. */
	hotmem_blocks_zero(listed);
	if (core_read(core, HOTMEM_KEY_GUEST_BLOCKS, &len) ||
	    hotmem_parse_blocks(core->buf, len, listed))
		hotmem_blocks_zero(listed);

	hotmem_version_negotiate(offered, HOTMEM_PROTO_VERSION, &core->version);
	core->features = toolstack_features & core->guest_features;
	/* Whole blocks populated only make sense if memory/target moves by them. */
	if (!(core->features & HOTMEM_FEATURE_TARGET_BLOCKS))
		core->features &= ~HOTMEM_FEATURE_POPULATED_BLOCKS;
	core->window = window;
	core->nr_blocks = nr_blocks;
	core->handshake_done = true;
	core->ack_unwritten = false; /* an ack for a toolstack that is gone */
	core_rescan(core, listed);

	rc = core_publish_identity(core, core->version);
	if (!rc)
		rc = core_publish_blocks(core);
	if (!rc)
		rc = core_set_state(core, HOTMEM_STATE_READY);
	if (rc) {
		/* Not done: the next attempt rereads everything (the rescan is idempotent). */
		core->handshake_done = false;
		return rc;
	}

	event.version = core->version;
	event.features = core->features;
	event.window = core->window;
	event.memmap_bytes = core->memmap_bytes;
	core_emit(core, &event);
	return 0;
}

/*
 * core_write_ack - write H/guest/blocks, H/guest/ack (core->ack_out) and
 * H/guest/state "ready", in that order (section 5: a toolstack that sees the
 * ack sees the final set). Until all three are written the ack stays
 * unwritten and core_work() tries again, with the retry policy of
 * hotmem_core_step() (a toolstack that never sees the ack would wait for it
 * for ever). Returns the first write error.
 */
static int core_write_ack(struct hotmem_core *core)
{
	int rc;

	rc = core_publish_blocks(core);
	if (!rc)
		rc = hotmem_format_ack(core->buf, sizeof(core->buf), &core->ack_out);
	if (rc >= 0)
		rc = core_write(core, HOTMEM_KEY_GUEST_ACK, core->buf);
	if (!rc)
		rc = core_set_state(core, HOTMEM_STATE_READY);
	core->ack_unwritten = rc != 0;
	return rc;
}

/*
 * core_ack - end the request with an ack of done blocks and write it
 * (core_write_ack()). err is the failure that ended the request (0 if none).
 * Returns the first write error; last_seq moves on regardless so that a
 * retry never acts twice, and the ack is rewritten until it is out.
 */
static int core_ack(struct hotmem_core *core, const struct hotmem_request *request, uint32_t done,
		    int err)
{
	struct hotmem_event event = { .type = HOTMEM_EVENT_ACK, .err = err };
	struct hotmem_ack ack = { .seq = request->seq, .done = done };
	int rc;

	if (done == request->count)
		ack.status = HOTMEM_STATUS_OK;
	else if (done)
		ack.status = HOTMEM_STATUS_PARTIAL;
	else
		ack.status = err ? hotmem_status_from_errno(err) : HOTMEM_STATUS_ERROR;
	if (ack.status == HOTMEM_STATUS_OK && done != request->count)
		ack.status = HOTMEM_STATUS_ERROR;

	core->last_seq = request->seq;
	core->active = false;
	core->on_block = false;
	core->retries = 0;
	core->backoff_ms = 0;
	core->ack_out = ack;
	rc = core_write_ack(core);
	event.request = *request;
	event.ack = ack;
	core_emit(core, &event);
	return rc;
}

/*
 * core_grow_possible - whether this guest can serve a grow with the features
 * in use. With populated-blocks the pages reach the page allocator whoever
 * captures them, so only the memmap mode matters; without it the balloon must
 * capture the pages (it populates them). A memmap head without the feature
 * memmap-on-memory in use means the toolstack may have populated whole
 * blocks that the balloon would populate again.
 */
static bool core_grow_possible(const struct hotmem_core *core)
{
	if (core->memmap_bytes && !(core->features & HOTMEM_FEATURE_MEMMAP_ON_MEMORY))
		return false;
	if (core->features & HOTMEM_FEATURE_POPULATED_BLOCKS)
		return core->mm.memmap_on_memory || core->cfg.allow_classic;
	return core->grow_ok;
}

/*
 * core_take_request - validate the waiting request and start it, or ack it
 * at once when it cannot be served (inval/unsupported), or drop it silently
 * when it is not newer than the last one handled.
 */
static int core_take_request(struct hotmem_core *core)
{
	struct hotmem_request request = core->pending;
	struct hotmem_event event = { .request = request };
	uint32_t block;
	int rc;

	core->request_pending = false;
	hotmem_blocks_zero(core->scratch);
	for (block = 0; block < core->nr_blocks; block++)
		if (core->block_state[block] != HOTMEM_BLOCK_ABSENT)
			hotmem_blocks_set(core->scratch, block, 1);
	rc = hotmem_request_check(&request, core->last_seq, core->nr_blocks, core->scratch);
	if (rc == -EALREADY)
		return 0;
	if (!rc && request.op == HOTMEM_OP_GROW && !core_grow_possible(core))
		rc = -EOPNOTSUPP; /* the toolstack may have populated whole blocks */
	if (!rc && request.op == HOTMEM_OP_SHRINK && !(core->features & HOTMEM_FEATURE_SHRINK))
		rc = -EOPNOTSUPP;
	if (rc) {
		event.type = HOTMEM_EVENT_REFUSED;
		event.err = rc;
		core_emit(core, &event);
		return core_ack(core, &request, 0, rc);
	}

	core->nr_requests++;
	core->active = true;
	core->cur = request;
	core->done = 0;
	core->on_block = false;
	core->retries = 0;
	core->backoff_ms = 0;
	event.type = HOTMEM_EVENT_REQUEST;
	core_emit(core, &event);
	return core_set_state(core, HOTMEM_STATE_BUSY);
}

/*
 * core_zone_for_add - the zone for the block about to be added: the
 * configured one, except that with cfg.kernel_block_when_short a grow whose
 * remaining adds (this block and the rest of the request) would take more
 * than half of what the kernel zones have above their min watermarks puts
 * this block in a kernel zone. Adding a block takes its linear-map page
 * tables and device from the kernel zones, never from ZONE_MOVABLE; once
 * this block is online its free pages pay for the next blocks' tables, so
 * one such block per squeezed grow is enough (the next call sees its free
 * memory). An unreadable headroom keeps the configured zone.
 */
static enum hotmem_zone core_zone_for_add(struct hotmem_core *core)
{
	struct hotmem_event event = {
		.type = HOTMEM_EVENT_KERNEL_BLOCK,
		.block = core->block,
		.size = core->mm.geo.block_size,
	};
	uint64_t headroom = 0, need;

	if (core->cfg.online_zone != HOTMEM_ZONE_MOVABLE || !core->cfg.kernel_block_when_short ||
	    !core->ops->kernel_headroom)
		return core->cfg.online_zone;
	need = (uint64_t)(core->cur.count - core->done) * core->add_kernel_bytes;
	if (core->ops->kernel_headroom(core->ctx, &headroom) || headroom >= 2 * need)
		return core->cfg.online_zone;
	event.headroom = headroom;
	event.need = need;
	hotmem_core_block_range(core, core->block, &event.start);
	core_emit(core, &event);
	return HOTMEM_ZONE_KERNEL;
}

/*
 * core_grow_step - one transition of the plug order for the current block
 * (hotmem_core.h). A failed online is rolled back at once (removed again),
 * so add and online failures both leave the block ABSENT and the request at
 * a boundary; only a failed rollback leaves it STUCK (returned as an error
 * off the boundary, which breaks the device).
 */
static int core_grow_step(struct hotmem_core *core)
{
	const uint64_t size = core->mm.geo.block_size;
	struct hotmem_balloon_delta delta;
	enum hotmem_zone zone;
	uint64_t start = 0;
	int rc, rc2;

	if (!core->on_block) {
		if (core->done == core->cur.count)
			return core_ack(core, &core->cur, core->done, 0);
		core->block = core->cur.first + core->done;
	}
	hotmem_core_block_range(core, core->block, &start);

	switch ((enum hotmem_block_state)core->block_state[core->block]) {
	case HOTMEM_BLOCK_ABSENT:
		zone = core_zone_for_add(core);
		rc = core->ops->add_block(core->ctx, start, size, core->layout.memmap_pages != 0,
					  zone);
		if (rc) {
			core->block_error = true;
			return rc;
		}
		core->block_zone[core->block] = (uint8_t)zone;
		if (zone != core->cfg.online_zone)
			core->nr_kernel_blocks++;
		core->on_block = true;
		core_block_set_state(core, core->block, HOTMEM_BLOCK_ADDED, 0);
		return 0;
	case HOTMEM_BLOCK_ADDED:
		rc = core->ops->online_block(core->ctx, start, size,
					     (enum hotmem_zone)core->block_zone[core->block]);
		if (!rc) {
			core_block_set_state(core, core->block, HOTMEM_BLOCK_ONLINE, 0);
			return 0;
		}
		rc2 = core->ops->offline_and_remove_block(core->ctx, start, size);
		if (rc2) {
			core_block_set_state(core, core->block, HOTMEM_BLOCK_STUCK, rc2);
			return rc2 == -EBUSY || rc2 == -ENOMEM || rc2 == -EAGAIN ? -EIO : rc2;
		}
		core_block_set_state(core, core->block, HOTMEM_BLOCK_ABSENT, rc);
		core->on_block = false;
		core->block_error = true;
		return rc;
	case HOTMEM_BLOCK_ONLINE:
		delta = core_balloon_delta(core, +1);
		rc = core->ops->balloon_account(core->ctx, &delta, false);
		if (rc)
			return rc; /* off the boundary: -EBUSY retries without a limit */
		core_block_set_state(core, core->block, HOTMEM_BLOCK_PLUGGED, 0);
		core->on_block = false;
		core->done++;
		core->retries = 0;
		return core_publish_blocks(core);
	default:
		return -EINVAL; /* request_check() let a plugged block through: a bug */
	}
}

/*
 * core_newest_plugged - the next block a shrink unplugs: the newest plugged
 * block in ZONE_MOVABLE, or, when there is none, the newest in a kernel zone
 * (a kernel zone takes unmovable allocations, so such a block is the least
 * likely to go and comes last). -ENOENT when nothing is plugged.
 */
static int core_newest_plugged(const struct hotmem_core *core, uint32_t *ret_block)
{
	uint32_t block, newest = 0, best = 0;
	bool best_movable = false;

	for (block = 0; block < core->nr_blocks; block++) {
		bool movable = core->block_zone[block] == HOTMEM_ZONE_MOVABLE;

		if (core->block_state[block] != HOTMEM_BLOCK_PLUGGED)
			continue;
		if ((movable && !best_movable) ||
		    (movable == best_movable && core->plugged_at[block] >= best)) {
			best = core->plugged_at[block];
			best_movable = movable;
			newest = block;
		}
	}
	if (!best)
		return -ENOENT;
	*ret_block = newest;
	return 0;
}

/*
 * core_shrink_step - one transition of the unplug order, in
 * core_newest_plugged()'s order. A failed offline leaves the block PLUGGED (at a boundary, so the
 * retry limit applies); a shrink with nothing left to unplug ends partial, or
 * inval when it unplugged nothing.
 */
static int core_shrink_step(struct hotmem_core *core)
{
	const uint64_t size = core->mm.geo.block_size;
	struct hotmem_balloon_delta delta;
	uint64_t start = 0;
	int rc;

	if (!core->on_block) {
		if (core->done == core->cur.count)
			return core_ack(core, &core->cur, core->done, 0);
		if (core_newest_plugged(core, &core->block))
			return core_ack(core, &core->cur, core->done, -ERANGE);
	}
	hotmem_core_block_range(core, core->block, &start);

	switch ((enum hotmem_block_state)core->block_state[core->block]) {
	case HOTMEM_BLOCK_PLUGGED:
		rc = core->ops->offline_and_remove_block(core->ctx, start, size);
		if (rc) {
			core->block_error = true;
			return rc;
		}
		core->on_block = true;
		core_block_set_state(core, core->block, HOTMEM_BLOCK_REMOVED, 0);
		return 0;
	case HOTMEM_BLOCK_REMOVED:
		delta = core_balloon_delta(core, -1);
		rc = core->ops->balloon_account(core->ctx, &delta, false);
		if (rc)
			return rc;
		core_block_set_state(core, core->block, HOTMEM_BLOCK_ABSENT, 0);
		core->on_block = false;
		core->done++;
		core->retries = 0;
		return core_publish_blocks(core);
	default:
		return -EINVAL;
	}
}

/*
 * core_check_attached - H/version or H/window changed after the handshake.
 * A detach removes H with everything below it, our keys included; a
 * re-attach creates it again and waits for a new handshake. So when our
 * H/guest/state is gone the handshake starts over (it waits while H/version
 * is absent, and rereads the window, the features and our last ack, which
 * the new H does not have: seqs start again at 1). Returns the read's error
 * on failure (retried).
 */
static int core_check_attached(struct hotmem_core *core)
{
	size_t len;
	int rc;

	rc = core_read(core, HOTMEM_KEY_GUEST_STATE, &len);
	if (rc && rc != -ENOENT)
		return rc;
	core->toolstack_changed = false;
	if (!rc)
		return 0;
	core->handshake_done = false;
	core->request_pending = false;
	core->ack_unwritten = false;
	core->state = HOTMEM_STATE_INIT;
	return core_handshake(core);
}

/*
 * core_work - pick and do the next piece of work. Returns 0 after progress
 * or when there is nothing to do, else the error of the piece tried (with
 * core->block_error telling whether a block op produced it).
 */
static int core_work(struct hotmem_core *core)
{
	core->block_error = false;
	if (!core->handshake_done) {
		int rc = core->handshake_wanted ? core_handshake(core) : 0;

		if (rc)
			core->handshake_wanted = true; /* retried as the switch says */
		return rc;
	}
	if (core->toolstack_changed && !core->active) {
		int rc = core_check_attached(core);

		if (rc || !core->handshake_done)
			return rc;
	}
	if (core->ack_unwritten)
		return core_write_ack(core);
	if (core->active) {
		/* A newer request supersedes this one at the next block boundary. */
		if (core->request_pending && !core->on_block && core->pending.seq > core->cur.seq)
			return core_ack(core, &core->cur, core->done, -EBUSY);
		if (core->cur.op == HOTMEM_OP_GROW)
			return core_grow_step(core);
		return core_shrink_step(core);
	}
	if (core->request_pending)
		return core_take_request(core);
	return 0;
}

static bool core_has_work(const struct hotmem_core *core)
{
	if (core->state == HOTMEM_STATE_BROKEN || core->state == HOTMEM_STATE_CLOSED)
		return false;
	if (!core->handshake_done)
		return core->handshake_wanted;
	return core->active || core->request_pending || core->ack_unwritten ||
	       core->toolstack_changed;
}

/*
 * core_stats - publish H/guest/stats if stats are in use and due. Best
 * effort: a failed read or write is counted and retried next interval.
 * Returns the delay until the next publication, capped by delay_ms.
 */
static uint32_t core_stats(struct hotmem_core *core, uint32_t delay_ms)
{
	struct hotmem_stats stats;
	uint64_t now, wait;

	if (!core->handshake_done || !(core->features & HOTMEM_FEATURE_STATS) ||
	    !core->stats_interval_ms || core->state == HOTMEM_STATE_BROKEN ||
	    core->state == HOTMEM_STATE_CLOSED)
		return delay_ms;
	now = core->ops->now_ms(core->ctx);
	if (now >= core->stats_next_ms) {
		core->stats_next_ms = now + core->stats_interval_ms;
		if (!core->ops->read_stats(core->ctx, &stats)) {
			stats.counter = ++core->stats_counter;
			if (stats.memavail_kib > stats.memtotal_kib)
				stats.memavail_kib = stats.memtotal_kib;
			if (stats.psi_some_avg10 > HOTMEM_PSI_MAX)
				stats.psi_some_avg10 = HOTMEM_PSI_MAX;
			if (stats.psi_full_avg10 > HOTMEM_PSI_MAX)
				stats.psi_full_avg10 = HOTMEM_PSI_MAX;
			/* A toolstack that did not offer stats-swap reads five figures. */
			if (!(core->features & HOTMEM_FEATURE_STATS_SWAP))
				stats.has_swapped = false;
			if (!stats.has_swapped)
				stats.swapped_kib = 0;
			if (stats.swapped_kib > HOTMEM_SWAPPED_KIB_MAX)
				stats.swapped_kib = HOTMEM_SWAPPED_KIB_MAX;
			if (hotmem_format_stats(core->buf, sizeof(core->buf), &stats) >= 0)
				core_write(core, HOTMEM_KEY_GUEST_STATS, core->buf);
		}
	}
	wait = core->stats_next_ms - now;
	return wait < delay_ms ? (uint32_t)wait : delay_ms;
}

/* Doubling backoff from cfg.retry_min_ms, capped at cfg.retry_max_ms. */
static uint32_t core_backoff(struct hotmem_core *core)
{
	if (!core->backoff_ms)
		core->backoff_ms = core->cfg.retry_min_ms;
	else if (core->backoff_ms < core->cfg.retry_max_ms / 2)
		core->backoff_ms *= 2;
	else
		core->backoff_ms = core->cfg.retry_max_ms;
	return core->backoff_ms;
}

static bool core_transient(int rc)
{
	return rc == -EAGAIN || rc == -EBUSY || rc == -ENOMEM;
}

/*
 * core_give_up - at a block boundary the request stops with err: ack what it
 * did. An ack that could not be written for a transient reason is retried
 * (core_write_ack()); any other write error breaks the device. Returns the
 * delay for hotmem_core_step().
 */
/*
 * core_retry_limit - transient failures allowed at this boundary before the
 * request gives up: cfg.retry_limit, but none when a shrink cannot offline a
 * block that kernel_block_when_short put in a kernel zone. What makes such a
 * block busy is unmovable kernel allocations, which do not leave in the
 * seconds the backoff waits, and the core only gets there once every movable
 * block is out: waiting would only hold back the ack for the blocks that did
 * leave, past the toolstack's ack timeout (the lab saw 0 of 7 reclaimed).
 */
static uint32_t core_retry_limit(const struct hotmem_core *core)
{
	if (core->cur.op == HOTMEM_OP_SHRINK && core->cfg.online_zone == HOTMEM_ZONE_MOVABLE &&
	    core->block_zone[core->block] == HOTMEM_ZONE_KERNEL)
		return 0;
	return core->cfg.retry_limit;
}

static uint32_t core_give_up(struct hotmem_core *core, int err)
{
	int rc = core_ack(core, &core->cur, core->done, err);

	if (!rc)
		return core_has_work(core) ? 0 : HOTMEM_STEP_IDLE;
	if (core_transient(rc))
		return rc == -EAGAIN ? 0 : core_backoff(core);
	core_break(core, "writing the ack", rc);
	return HOTMEM_STEP_IDLE;
}

uint32_t hotmem_core_step(struct hotmem_core *core)
{
	uint32_t delay;
	int rc;

	if (core->state == HOTMEM_STATE_BROKEN || core->state == HOTMEM_STATE_CLOSED ||
	    core->shutting_down)
		return HOTMEM_STEP_IDLE;

	rc = core_work(core);
	switch (rc) {
	case 0:
		core->backoff_ms = 0;
		delay = core_has_work(core) ? 0 : HOTMEM_STEP_IDLE;
		break;
	case -EAGAIN:
		/* Transient and cheap to retry (a lock or the config moved). */
		delay = 0;
		break;
	case -EBUSY:
	case -ENOMEM:
		/* Busy memory or no memory: wait, doubling, capped. */
		core->nr_retries++;
		core->last_err = rc;
		if (core->active && !core->on_block && core->block_error &&
		    ++core->retries > core_retry_limit(core)) {
			/* At a boundary the request may stop: ack what it did. */
			delay = core_give_up(core, rc);
			if (delay == HOTMEM_STEP_IDLE && core->state == HOTMEM_STATE_BROKEN)
				return delay;
			break;
		}
		delay = core_backoff(core);
		break;
	default:
		core->last_err = rc;
		if (core->active && !core->on_block && core->block_error) {
			/* The block op failed for good but left nothing half-way. */
			delay = core_give_up(core, rc);
			if (delay == HOTMEM_STEP_IDLE && core->state == HOTMEM_STATE_BROKEN)
				return delay;
			break;
		}
		core_break(core, core->active ? "carrying out a request" : "talking to xenstore",
			   rc);
		return HOTMEM_STEP_IDLE;
	}
	return core_stats(core, delay);
}

/*
 * Going down. The notice is one key the guest owns; the answer is a
 * toolstack key (n0 r<domid>) that only dom0 can write, written in the
 * transaction that put memory/target and static-max back. Everything is
 * bounded by one deadline taken at begin, whatever fails in between.
 */
int hotmem_core_shutdown_begin(struct hotmem_core *core, enum hotmem_shutdown how)
{
	bool holds_blocks;

	if (core->shutting_down)
		return 0;
	core->shutting_down = true;
	holds_blocks = core->nr_in_state[HOTMEM_BLOCK_ABSENT] != HOTMEM_MAX_BLOCKS || core->active;
	if (!core->cfg.shutdown_notice_ms || !core->handshake_done ||
	    !(core->features & HOTMEM_FEATURE_REBOOT_NOTICE) || !holds_blocks ||
	    (unsigned int)how >= HOTMEM_SHUTDOWN_COUNT)
		return 0;
	core->notice = how;
	core->notice_sent = true;
	core->notice_unwritten = true;
	core->notice_start_ms = core->ops->now_ms(core->ctx);
	core->notice_deadline_ms = core->notice_start_ms + core->cfg.shutdown_notice_ms;
	return 1;
}

static int core_shutdown_end(struct hotmem_core *core, int err, uint64_t now)
{
	struct hotmem_event event = {
		.type = HOTMEM_EVENT_SHUTDOWN,
		.err = err,
		.shutdown = core->notice,
		.elapsed_ms = now - core->notice_start_ms,
	};

	core->notice_done = true;
	core->notice_err = err;
	core_emit(core, &event);
	return err;
}

int hotmem_core_shutdown_poll(struct hotmem_core *core)
{
	uint64_t now = core->ops->now_ms(core->ctx), left;
	enum hotmem_shutdown answer;
	size_t len = 0;
	int rc;

	if (!core->notice_sent)
		return 0;
	if (core->notice_done)
		return core->notice_err;
	if (core->notice_unwritten) {
		const char *token = hotmem_shutdown_token(core->notice);

		rc = core_write(core, HOTMEM_KEY_GUEST_SHUTDOWN, token);
		if (!rc)
			core->notice_unwritten = false;
		else if (rc != -EAGAIN && rc != -EBUSY && rc != -ENOMEM)
			return core_shutdown_end(core, rc, now);
	}
	if (!core->notice_unwritten &&
	    !core->ops->xs_read(core->ctx, HOTMEM_KEY_SHUTDOWN_ACK, core->buf, sizeof(core->buf),
				&len) &&
	    !hotmem_parse_shutdown(core->buf, len, &answer) && answer == core->notice)
		return core_shutdown_end(core, 0, now);
	if (now >= core->notice_deadline_ms)
		return core_shutdown_end(core, -ETIMEDOUT, now);
	left = core->notice_deadline_ms - now;
	return left < HOTMEM_SHUTDOWN_POLL_MS ? (int)left : (int)HOTMEM_SHUTDOWN_POLL_MS;
}

/*
 * core_settle - finish or undo a block caught half-way at close: books of
 * ONLINE/REMOVED blocks are applied with force, ADDED blocks removed.
 */
static void core_settle(struct hotmem_core *core, uint32_t block)
{
	const uint64_t size = core->mm.geo.block_size;
	struct hotmem_balloon_delta delta;
	uint64_t start = 0;
	int rc;

	hotmem_core_block_range(core, block, &start);
	switch ((enum hotmem_block_state)core->block_state[block]) {
	case HOTMEM_BLOCK_ADDED:
		rc = core->ops->offline_and_remove_block(core->ctx, start, size);
		core_block_set_state(core, block, rc ? HOTMEM_BLOCK_STUCK : HOTMEM_BLOCK_ABSENT,
				     rc);
		break;
	case HOTMEM_BLOCK_ONLINE:
		delta = core_balloon_delta(core, +1);
		core->ops->balloon_account(core->ctx, &delta, true);
		core_block_set_state(core, block, HOTMEM_BLOCK_PLUGGED, 0);
		break;
	case HOTMEM_BLOCK_REMOVED:
		delta = core_balloon_delta(core, -1);
		core->ops->balloon_account(core->ctx, &delta, true);
		core_block_set_state(core, block, HOTMEM_BLOCK_ABSENT, 0);
		break;
	default:
		break;
	}
}

int hotmem_core_close(struct hotmem_core *core, bool remove)
{
	const uint64_t size = core->mm.geo.block_size;
	struct hotmem_balloon_delta delta;
	uint32_t block, tried_clock = ~0u;
	uint64_t start = 0;

	if (core->state == HOTMEM_STATE_CLOSED)
		return (int)core->nr_in_state[HOTMEM_BLOCK_PLUGGED];
	if (!core->handshake_done) {
		core->state = HOTMEM_STATE_CLOSED;
		return 0;
	}
	for (block = 0; block < core->nr_blocks; block++)
		core_settle(core, block);
	/* Newest first; a block that refuses is skipped, older ones still tried. */
	while (remove) {
		uint32_t best = 0, pick = 0;

		for (block = 0; block < core->nr_blocks; block++) {
			if (core->block_state[block] == HOTMEM_BLOCK_PLUGGED &&
			    core->plugged_at[block] < tried_clock &&
			    core->plugged_at[block] > best) {
				best = core->plugged_at[block];
				pick = block;
			}
		}
		if (!best)
			break;
		tried_clock = best;
		hotmem_core_block_range(core, pick, &start);
		if (core->ops->offline_and_remove_block(core->ctx, start, size))
			continue;
		core_block_set_state(core, pick, HOTMEM_BLOCK_REMOVED, 0);
		delta = core_balloon_delta(core, -1);
		core->ops->balloon_account(core->ctx, &delta, true);
		core_block_set_state(core, pick, HOTMEM_BLOCK_ABSENT, 0);
	}
	if (core->active)
		core_ack(core, &core->cur, core->done, -ESHUTDOWN);
	core_publish_blocks(core);
	core_set_state(core, HOTMEM_STATE_CLOSED);
	return (int)core->nr_in_state[HOTMEM_BLOCK_PLUGGED];
}

/*
 * psi_avg - parse "D.DD" (D 0..100, exactly two decimals as the kernel
 * prints them) at buf[*pos] up to a space or newline; 1/100 % units.
 */
static int psi_avg(const char *buf, size_t len, size_t *pos, uint32_t *ret_value)
{
	uint32_t whole = 0, frac = 0;
	size_t i = *pos, digits = 0;

	while (i < len && buf[i] >= '0' && buf[i] <= '9' && digits < 4) {
		whole = whole * 10 + (uint32_t)(buf[i++] - '0');
		digits++;
	}
	if (!digits || digits > 3 || i + 3 > len || buf[i] != '.' || buf[i + 1] < '0' ||
	    buf[i + 1] > '9' || buf[i + 2] < '0' || buf[i + 2] > '9')
		return -EINVAL;
	frac = (uint32_t)(buf[i + 1] - '0') * 10 + (uint32_t)(buf[i + 2] - '0');
	i += 3;
	if (i < len && buf[i] != ' ' && buf[i] != '\n')
		return -EINVAL;
	if (whole * 100 + frac > HOTMEM_PSI_MAX)
		return -EINVAL;
	*pos = i;
	*ret_value = whole * 100 + frac;
	return 0;
}

/*
 * Find "<name><key>" at the start of a line (/proc's "name key=value" and
 * "Name: value" texts); the offset just past it in *ret_pos.
 */
static bool find_line(const char *buf, size_t len, const char *name, const char *key,
		      size_t *ret_pos)
{
	size_t name_len = core_strlen(name), key_len = core_strlen(key), pos = 0, i;

	while (pos < len) {
		bool match = pos + name_len + key_len <= len;

		for (i = 0; match && i < name_len; i++)
			match = buf[pos + i] == name[i];
		for (i = 0; match && i < key_len; i++)
			match = buf[pos + name_len + i] == key[i];
		if (match) {
			*ret_pos = pos + name_len + key_len;
			return true;
		}
		while (pos < len && buf[pos] != '\n')
			pos++;
		pos++;
	}
	return false;
}

int hotmem_parse_psi_memory(const char *buf, size_t len, uint32_t *ret_some, uint32_t *ret_full)
{
	uint32_t some, full = 0;
	size_t pos;

	if (!buf || !ret_some || !ret_full)
		return -EINVAL;
	if (!find_line(buf, len, "some", " avg10=", &pos) || psi_avg(buf, len, &pos, &some))
		return -EINVAL;
	if (find_line(buf, len, "full", " avg10=", &pos) && psi_avg(buf, len, &pos, &full))
		return -EINVAL;
	*ret_some = some;
	*ret_full = full;
	return 0;
}

/*
 * meminfo_kib - the value of "<name>:<spaces><digits> kB" at the start of a
 * line of /proc/meminfo's text; -ENOENT if no line has that name.
 */
static int meminfo_kib(const char *buf, size_t len, const char *name, uint64_t *ret_kib)
{
	size_t i, digits = 0;
	uint64_t value = 0;

	if (!find_line(buf, len, name, ":", &i))
		return -ENOENT;
	while (i < len && buf[i] == ' ')
		i++;
	while (i < len && buf[i] >= '0' && buf[i] <= '9') {
		/* 20 digits could pass 2^64; meminfo never prints that many. */
		if (++digits > 19)
			return -EINVAL;
		value = value * 10 + (uint64_t)(buf[i++] - '0');
	}
	if (!digits || i + 3 > len || buf[i] != ' ' || buf[i + 1] != 'k' || buf[i + 2] != 'B' ||
	    (i + 3 < len && buf[i + 3] != '\n'))
		return -EINVAL;
	*ret_kib = value;
	return 0;
}

int hotmem_parse_meminfo_swap(const char *buf, size_t len, uint64_t *ret_swapped_kib)
{
	uint64_t total, free, cached, swapped;

	if (!buf || !ret_swapped_kib)
		return -EINVAL;
	if (meminfo_kib(buf, len, "SwapTotal", &total) ||
	    meminfo_kib(buf, len, "SwapFree", &free) ||
	    meminfo_kib(buf, len, "SwapCached", &cached) || free > total)
		return -EINVAL;
	/*
	 * SwapCached pages are in swap and in RAM at once: only what is in swap
	 * alone is memory the guest lacks. The three lines are read at slightly
	 * different moments, so cached can pass total - free by a little.
	 */
	swapped = total - free;
	*ret_swapped_kib = swapped > cached ? swapped - cached : 0;
	return 0;
}
