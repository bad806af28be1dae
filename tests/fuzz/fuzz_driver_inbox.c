/*
 * libFuzzer target for the guest driver core's inbox (guest-driver/core):
 * what the toolstack writes to H/request and H/stats-interval-ms, parsed by
 * the watch side (hotmem_inbox_parse_*), delivered, and worked on by
 * hotmem_core_step(), on the fake platform of the unit tests
 * (tests/unit/test_driver_fake.h) after a normal handshake. The input is a
 * sequence of messages (see fuzz_split.h); each message's first byte picks
 * what it is: 0 H/request, 1 H/stats-interval-ms, 2 H/version and 3
 * H/features (then the toolstack-changed event), 4 time passing (the next
 * byte is the seconds). Promises checked after every message: the core
 * only ever names whole blocks of the window (the fake aborts otherwise),
 * writes only its own keys within the value limit, and every key it wrote
 * parses with the protocol's own parser, as the toolstack will read it.
 */
#include <stdint.h>

#include "fuzz_split.h"
#include "test_driver_fake.h"

#define MAX_MESSAGES 32

static void check_guest_keys(struct fake *fx)
{
	static uint64_t blocks[HOTMEM_BLOCKS_WORDS];
	struct fake_key *k;
	struct hotmem_stats stats;
	struct hotmem_ack ack;
	enum hotmem_state state;
	uint64_t number;
	uint32_t u32;

	k = fake_key_find(fx, HOTMEM_KEY_GUEST_STATE, false);
	if (!k || hotmem_parse_state(k->value, k->len, &state))
		abort();
	k = fake_key_find(fx, HOTMEM_KEY_GUEST_VERSION, false);
	if (k && hotmem_parse_version(k->value, k->len, &u32))
		abort();
	k = fake_key_find(fx, HOTMEM_KEY_GUEST_FEATURES, false);
	if (k && hotmem_parse_features(k->value, k->len, &u32))
		abort();
	k = fake_key_find(fx, HOTMEM_KEY_GUEST_BLOCK_SIZE, false);
	if (k && hotmem_parse_block_size(k->value, k->len, &number))
		abort();
	k = fake_key_find(fx, HOTMEM_KEY_GUEST_MEMMAP_BYTES, false);
	if (k && hotmem_parse_memmap_bytes(k->value, k->len, &number))
		abort();
	k = fake_key_find(fx, HOTMEM_KEY_GUEST_ACK, false);
	if (k && hotmem_parse_ack(k->value, k->len, &ack))
		abort();
	k = fake_key_find(fx, HOTMEM_KEY_GUEST_BLOCKS, false);
	if (k && hotmem_parse_blocks(k->value, k->len, blocks))
		abort();
	k = fake_key_find(fx, HOTMEM_KEY_GUEST_STATS, false);
	if (k && hotmem_parse_stats(k->value, k->len, &stats))
		abort();
	if (check_failures)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_chunk msgs[MAX_MESSAGES];
	struct fake *fx = fake_ready();

	check_guest_keys(fx);
	fuzz_split((const char *)data, size, msgs, MAX_MESSAGES);
	for (unsigned int i = 0; i < MAX_MESSAGES && msgs[i].data; i++) {
		struct hotmem_inbox inbox = { 0 };
		const char *value = msgs[i].data + 1;
		int len = (int)msgs[i].len - 1;

		if (len < 0)
			continue;
		if (len > (int)HOTMEM_XS_VALUE_MAX) /* xenstore holds no more */
			len = (int)HOTMEM_XS_VALUE_MAX;
		switch ((unsigned char)msgs[i].data[0] % 5) {
		case 0:
			fake_set(fx, HOTMEM_KEY_REQUEST, value, len);
			hotmem_inbox_parse_request(&inbox, value, (size_t)len);
			break;
		case 1:
			fake_set(fx, HOTMEM_KEY_STATS_INTERVAL, value, len);
			hotmem_inbox_parse_stats_interval(&inbox, value, (size_t)len);
			break;
		case 2:
			fake_set(fx, HOTMEM_KEY_VERSION, value, len);
			hotmem_inbox_toolstack_changed(&inbox);
			break;
		case 3:
			fake_set(fx, HOTMEM_KEY_FEATURES, value, len);
			hotmem_inbox_toolstack_changed(&inbox);
			break;
		default:
			fx->now_ms += 1000ull * (len ? (unsigned char)value[0] : 1);
			break;
		}
		hotmem_core_deliver(&fx->core, &inbox);
		fake_run(fx, 300);
		check_guest_keys(fx);
	}
	free(fx);
	return 0;
}
