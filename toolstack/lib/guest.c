/*
 * What the guest wrote under H/guest, read inside the caller's transaction
 * and parsed with the protocol's parsers only: every key is hostile input.
 * The view records, per key, whether it exists and whether it parses;
 * guest_check_ready() then decides whether a grow may be sent, telling
 * "not yet" (-EAGAIN: keys missing, state not ready) from "broke the
 * protocol" (-EPROTO: keys present but malformed, or disagreeing with what
 * the journal locked), as section 8 of docs/protocol.md asks.
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const guest_keys[HM_GK_COUNT] = {
	[HM_GK_VERSION] = HOTMEM_KEY_GUEST_VERSION,
	[HM_GK_FEATURES] = HOTMEM_KEY_GUEST_FEATURES,
	[HM_GK_BLOCK_SIZE] = HOTMEM_KEY_GUEST_BLOCK_SIZE,
	[HM_GK_MEMMAP] = HOTMEM_KEY_GUEST_MEMMAP_BYTES,
	[HM_GK_STATE] = HOTMEM_KEY_GUEST_STATE,
	[HM_GK_ACK] = HOTMEM_KEY_GUEST_ACK,
	[HM_GK_BLOCKS] = HOTMEM_KEY_GUEST_BLOCKS,
	[HM_GK_STATS] = HOTMEM_KEY_GUEST_STATS,
};

const char *hm_guest_key_path(enum hm_guest_key key)
{
	return guest_keys[key];
}

/* Parse one key's value into view; 0 if it parses. */
static int parse_key(enum hm_guest_key key, const char *value, size_t len,
		     struct hm_guest_view *view)
{
	switch (key) {
	case HM_GK_VERSION:
		return hotmem_parse_version(value, len, &view->version);
	case HM_GK_FEATURES:
		return hotmem_parse_features(value, len, &view->features);
	case HM_GK_BLOCK_SIZE:
		return hotmem_parse_block_size(value, len, &view->block_size);
	case HM_GK_MEMMAP:
		return hotmem_parse_memmap_bytes(value, len, &view->memmap_bytes);
	case HM_GK_STATE:
		return hotmem_parse_state(value, len, &view->state);
	case HM_GK_ACK:
		return hotmem_parse_ack(value, len, &view->ack);
	case HM_GK_BLOCKS:
		return hotmem_parse_blocks(value, len, view->blocks);
	case HM_GK_STATS:
		return hotmem_parse_stats(value, len, &view->stats);
	default:
		return -EINVAL;
	}
}

int guest_read(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, struct hm_guest_view *ret_view)
{
	return guest_read_keys(hm, txn, domid, HM_GK_PROTOCOL, ret_view);
}

int guest_read_keys(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, uint32_t keys,
		    struct hm_guest_view *ret_view)
{
	struct hm_guest_view view;
	unsigned int key;
	int r = 0;

	memset(&view, 0, sizeof(view));
	for (key = 0; key < HM_GK_COUNT; key++) {
		char path[HM_PATH_MAX];
		char *value = NULL;
		size_t len = 0;

		if (!(keys & HM_GK_BIT(key)))
			continue;
		r = hm_dom_path(path, sizeof(path), domid, guest_keys[key]);
		if (r < 0)
			goto out;
		r = hm_xs_read(hm, txn, path, &value, &len);
		if (r == -ENOENT || r == -EACCES) {
			/* Gone, or made unreadable by the guest: as good as missing. */
			r = 0;
			continue;
		}
		if (r < 0)
			goto out;
		view.present |= HM_GK_BIT(key);
		if (!parse_key(key, value, len, &view))
			view.valid |= HM_GK_BIT(key);
		free(value);
	}
	if ((view.valid & HM_GK_BIT(HM_GK_MEMMAP)) &&
	    (!(view.valid & HM_GK_BIT(HM_GK_BLOCK_SIZE)) ||
	     hotmem_memmap_bytes_check(view.memmap_bytes, view.block_size) < 0))
		view.valid &= ~HM_GK_BIT(HM_GK_MEMMAP);
	*ret_view = view;
out:
	return r;
}

int guest_check_ready(const struct hotmem *hm, const struct hm_record *record,
		      const struct hm_guest_view *view, uint32_t *ret_features)
{
	const uint32_t needed = HM_GK_BIT(HM_GK_VERSION) | HM_GK_BIT(HM_GK_FEATURES) |
				HM_GK_BIT(HM_GK_BLOCK_SIZE) | HM_GK_BIT(HM_GK_MEMMAP) |
				HM_GK_BIT(HM_GK_STATE) | HM_GK_BIT(HM_GK_BLOCKS);
	uint32_t features;

	/* Present but unparsable: a violation, whatever else is missing. */
	if (view->present & needed & ~view->valid)
		return -EPROTO;
	if ((view->valid & needed) != needed || !record->have_window)
		return -EAGAIN;
	if (hotmem_version_accept(HOTMEM_PROTO_VERSION, view->version) < 0)
		return -EPROTO;
	if (view->block_size != record->block_size)
		return -EPROTO;
	if (record->have_memmap && view->memmap_bytes != record->memmap_bytes)
		return -EPROTO;
	features = view->features & hm->cfg.features;
	if (view->memmap_bytes && !(features & HOTMEM_FEATURE_MEMMAP_ON_MEMORY))
		return -EPROTO;
	/* Agreed with the window (window_txn); a reloaded driver must keep it. */
	if (record->memmap_in_target && !(view->features & HOTMEM_FEATURE_TARGET_BLOCKS))
		return -EPROTO;
	if (!record->memmap_in_target)
		features &= ~HOTMEM_FEATURE_TARGET_BLOCKS;
	if (view->state != HOTMEM_STATE_READY)
		return -EAGAIN;
	*ret_features = features;
	return 0;
}
