/*
 * libFuzzer target for the engine reading what a guest wrote (guest_read_keys
 * and guest_check_ready, guest.c): H/guest is the guest's, so every byte of
 * it is hostile. The input's first byte picks the engine's books (window
 * locked or not, memmap locked or not, memory/target by whole blocks or not,
 * one of four block sizes); the rest is the guest's keys in guest.c's order
 * (version, features, block-size, memmap-bytes, state, ack, blocks, stats;
 * see fuzz_split.h), written to /local/domain/1/hotmem/guest of a simulated
 * host. Promises checked: a key is present exactly when written, valid
 * exactly when the protocol's own parser takes the bytes (a memmap size
 * also only when it fits the block), and guest_check_ready() answers 0,
 * -EAGAIN or -EPROTO, with 0 only for a ready guest of the locked block size
 * offering no feature the engine does not.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_engine.h"
#include "fuzz_split.h"

#define DOMID 1

static const uint64_t block_sizes[] = { 128ull << 20, 2ull << 20, 16ull << 20, 1ull << 30 };

/* Whether the protocol's parser alone takes the bytes of key. */
static bool parses(enum hm_guest_key key, const struct fuzz_chunk *c, uint64_t *ret_number)
{
	static uint64_t blocks[HOTMEM_BLOCKS_WORDS];
	struct hotmem_stats stats;
	struct hotmem_ack ack;
	enum hotmem_state state;
	uint32_t u32;

	switch (key) {
	case HM_GK_VERSION:
		return !hotmem_parse_version(c->data, c->len, &u32);
	case HM_GK_FEATURES:
		return !hotmem_parse_features(c->data, c->len, &u32);
	case HM_GK_BLOCK_SIZE:
		return !hotmem_parse_block_size(c->data, c->len, ret_number);
	case HM_GK_MEMMAP:
		return !hotmem_parse_memmap_bytes(c->data, c->len, ret_number);
	case HM_GK_STATE:
		return !hotmem_parse_state(c->data, c->len, &state);
	case HM_GK_ACK:
		return !hotmem_parse_ack(c->data, c->len, &ack);
	case HM_GK_BLOCKS:
		return !hotmem_parse_blocks(c->data, c->len, blocks);
	case HM_GK_STATS:
		return !hotmem_parse_stats(c->data, c->len, &stats);
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hotmem *hm = fuzz_engine()->hm;
	struct fuzz_chunk chunks[HM_GK_COUNT];
	static struct hm_guest_view view;
	static struct hm_record book;
	uint64_t block_size = 0, memmap_bytes = 0, number = 0;
	uint32_t features = 0;
	char path[HM_PATH_MAX];
	uint8_t pick;
	int rc;

	if (!size)
		return 0;
	pick = data[0];
	fuzz_split((const char *)data + 1, size - 1, chunks, HM_GK_COUNT);

	if (hm_dom_path(path, sizeof(path), DOMID, HOTMEM_KEY_GUEST_DIR))
		abort();
	hm->hv->ops->xs_rm(hm->hv, HV_XS_NO_TXN, path);
	for (unsigned int key = 0; key < HM_GK_COUNT; key++) {
		if (!chunks[key].data)
			continue;
		if (hm_dom_path(path, sizeof(path), DOMID, hm_guest_key_path(key)) ||
		    hm->hv->ops->xs_write(hm->hv, HV_XS_NO_TXN, path, chunks[key].data,
					  chunks[key].len))
			abort();
	}

	memset(&view, 0xa5, sizeof(view));
	if (guest_read_keys(hm, HV_XS_NO_TXN, DOMID, HM_GK_ALL, &view))
		abort();
	if (view.valid & ~view.present)
		abort();
	for (unsigned int key = 0; key < HM_GK_COUNT; key++) {
		bool present = chunks[key].data != NULL;
		bool valid = present && parses((enum hm_guest_key)key, &chunks[key], &number);

		if (key == HM_GK_BLOCK_SIZE && valid)
			block_size = number;
		if (key == HM_GK_MEMMAP && valid) {
			memmap_bytes = number;
			valid = (view.valid & HM_GK_BIT(HM_GK_BLOCK_SIZE)) &&
				!hotmem_memmap_bytes_check(memmap_bytes, block_size);
		}
		if (present != !!(view.present & HM_GK_BIT(key)) ||
		    valid != !!(view.valid & HM_GK_BIT(key)))
			abort();
	}

	memset(&book, 0, sizeof(book));
	book.max_bytes = 64ull << 30;
	book.have_window = pick & 1;
	book.have_memmap = pick & 2;
	book.memmap_in_target = pick & 4;
	book.block_size = block_sizes[(pick >> 3) & 3];
	book.memmap_bytes = book.block_size / 64;
	if (book.have_window) {
		book.window.base = 1ull << 36;
		book.window.size = 64 * book.block_size;
		book.nr_blocks = 64;
	}
	rc = guest_check_ready(hm, &book, &view, &features);
	if (rc == 0) {
		if (view.state != HOTMEM_STATE_READY || view.block_size != book.block_size ||
		    (book.have_memmap && view.memmap_bytes != book.memmap_bytes) ||
		    (features & ~view.features) || (features & ~hm->cfg.features))
			abort();
	} else if (rc != -EAGAIN && rc != -EPROTO) {
		abort();
	}
	return 0;
}
