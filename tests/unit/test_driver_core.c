/*
 * Unit tests of the guest driver's protocol engine (guest-driver/core) on the
 * fake platform of test_driver_fake.h: the handshake and its hostile values,
 * grow and shrink with the plug/unplug orders and the balloon's books, acks
 * and their write order, every request rule (seq, window, plugged blocks,
 * features), injected failures of add/online/offline/balloon/xenstore with
 * the retry policy (backoff doubling and cap, give-up at a boundary, no
 * give-up half-way), supersession, driver reload, stats and close.
 */
#include "test_driver_fake.h"

#define BLOCK_PAGES  32768 /* 128 MiB of 4 KiB pages */
#define MEMMAP_PAGES 512   /* 2 MiB of struct pages */
#define USABLE_PAGES (BLOCK_PAGES - MEMMAP_PAGES)

static void test_handshake(void)
{
	struct fake *fx = fake_new();
	struct hotmem_inbox inbox = { 0 };

	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	/* Not attached yet: nothing written, nothing to do. */
	CHECK_EQ(fake_run(fx, 10), 1);
	CHECK_EQ(fx->nr_journal, 0);
	CHECK_STREQ(hotmem_state_token(fx->core.state), "init");

	fake_attach(fx);
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 10);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/version"), "1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/features"),
		    "memmap-on-memory online-movable shrink stats stats-swap target-blocks");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/block-size"), "0x8000000");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/memmap-bytes"), "0x200000");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");
	/* "init" first, "ready" last, after every other key. */
	CHECK_STREQ(fx->journal[0], "hotmem/guest/state");
	CHECK_EQ(fake_last_write(fx, "hotmem/guest/state"), (int)fx->nr_journal - 1);
	CHECK_EQ(fx->events[HOTMEM_EVENT_HANDSHAKE], 1);
	CHECK_EQ(fx->core.nr_blocks, FAKE_BLOCKS);
	CHECK_EQ(fx->core.features, HOTMEM_FEATURES_KNOWN & ~(HOTMEM_FEATURE_POPULATED_BLOCKS |
							      HOTMEM_FEATURE_REBOOT_NOTICE |
							      HOTMEM_FEATURE_STATS_SWAP));
	free(fx);
}

/*
 * The toolstack's order (docs/toolstack.md section 3): it attaches without a
 * window, chooses one from H/guest/block-size and writes H/window only then.
 * The guest must publish what the choice needs, stay "init" (not break), and
 * go ready when H/window's watch fires.
 */
static void test_handshake_window_later(void)
{
	struct fake *fx = fake_new();
	struct hotmem_inbox inbox = { 0 };
	struct fake_key *window;
	char value[sizeof(((struct fake_key *)0)->value)];

	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	fake_attach(fx);
	window = fake_key_find(fx, "hotmem/window", false);
	memcpy(value, window->value, sizeof(value));
	window->present = false;
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 10);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "init");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/version"), "1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/features"),
		    "memmap-on-memory online-movable shrink stats stats-swap target-blocks");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/block-size"), "0x8000000");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/memmap-bytes"), "0x200000");
	CHECK_EQ(fx->events[HOTMEM_EVENT_VIOLATION], 0);
	CHECK_EQ(fx->events[HOTMEM_EVENT_BROKEN], 0);
	CHECK_EQ(fx->events[HOTMEM_EVENT_HANDSHAKE], 0);
	/* Requests wait for the window. */
	fake_request(fx, "1 grow 0 1");
	CHECK_EQ(fx->nr_add, 0);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "(absent)");

	/* The toolstack read the block size and wrote the window. */
	fake_set(fx, "hotmem/window", value, -1);
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 100);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");
	CHECK_EQ(fake_last_write(fx, "hotmem/guest/state"), (int)fx->nr_journal - 1);
	CHECK_EQ(fx->events[HOTMEM_EVENT_HANDSHAKE], 1);
	CHECK_EQ(fx->core.nr_blocks, FAKE_BLOCKS);
	/* The request that waited is served once ready. */
	CHECK_EQ(fx->nr_add, 1);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 ok 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0");
	free(fx);
}

/* Newer toolstack: higher version and unknown feature tokens. */
static void test_handshake_newer_toolstack(void)
{
	struct fake *fx = fake_new();
	struct hotmem_inbox inbox = { 0 };

	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	fake_attach(fx);
	fake_set(fx, "hotmem/version", "7", -1);
	fake_set(fx, "hotmem/features", "balloon-free memmap-on-memory shrink zzz", -1);
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 10);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/version"), "1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");
	CHECK_EQ(fx->core.features, HOTMEM_FEATURE_MEMMAP_ON_MEMORY | HOTMEM_FEATURE_SHRINK);
	free(fx);
}

/* Hostile or unusable toolstack values at handshake break the device. */
static void test_handshake_hostile(void)
{
	static const struct {
		const char *key, *value;
		int len;
	} cases[] = {
		{ "hotmem/version", "0", -1 },
		{ "hotmem/version", "01", -1 },
		{ "hotmem/version", "1\n", -1 },
		{ "hotmem/version",
		  "1\0"
		  "2",
		  3 },
		{ "hotmem/features", "stats shrink", -1 },
		{ "hotmem/features", "Shrink", -1 },
		{ "hotmem/window", "0x880000000", -1 },
		{ "hotmem/window", "0x880000000 0x0", -1 },
		{ "hotmem/window", "0x880000001 0x200000000", -1 }, /* base not block aligned */
		{ "hotmem/window", "0x880000000 0x8100000", -1 },   /* size not a block multiple */
		{ "hotmem/window", "0x880000000 0x10000000000", -1 }, /* 8192 blocks > 4096 */
		{ "hotmem/window", "0x880000000 0x0200000000", -1 },  /* leading zero */
		{ "hotmem/window", "0xffffffff8000000 0xf0000000000000", -1 }, /* overflows */
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake *fx = fake_new();
		struct hotmem_inbox inbox = { 0 };

		CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
		fake_attach(fx);
		fake_set(fx, cases[i].key, cases[i].value, cases[i].len);
		hotmem_inbox_toolstack_changed(&inbox);
		hotmem_core_deliver(&fx->core, &inbox);
		fake_run(fx, 10);
		if (strcmp(fake_get(fx, "hotmem/guest/state"), "broken") != 0)
			fprintf(stderr, "case %u: %s=%s\n", i, cases[i].key, cases[i].value);
		CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "broken");
		CHECK_EQ(fx->events[HOTMEM_EVENT_VIOLATION], 1);
		CHECK_EQ(fx->events[HOTMEM_EVENT_BROKEN], 1);
		/* A broken driver serves nothing. */
		fake_request(fx, "1 grow 0 1");
		CHECK_EQ(fx->nr_add, 0);
		CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "(absent)");
		free(fx);
	}

	/* A window Linux cannot plug (mhp_get_pluggable_range()). */
	{
		struct fake *fx = fake_new();
		struct hotmem_inbox inbox = { 0 };

		fx->pluggable = false;
		CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
		fake_attach(fx);
		hotmem_inbox_toolstack_changed(&inbox);
		hotmem_core_deliver(&fx->core, &inbox);
		fake_run(fx, 10);
		CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "broken");
		CHECK_EQ(fx->last[HOTMEM_EVENT_BROKEN].err, -ERANGE);
		free(fx);
	}
}

static void test_grow(void)
{
	struct fake *fx = fake_ready();
	int blocks_at, ack_at, ready_at;

	fx->nr_journal = 0;
	fake_request(fx, "1 grow 0 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 ok 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0-1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");
	CHECK(fx->blocks[0].online && fx->blocks[1].online && !fx->blocks[2].added);
	CHECK(fx->blocks[0].memmap_on_memory && fx->blocks[0].zone == HOTMEM_ZONE_MOVABLE);
	/* Books: the whole block in total, the memmap head counted as populated. */
	CHECK_EQ(fx->balloon_total, 65536 + 2 * BLOCK_PAGES);
	CHECK_EQ(fx->balloon_current, 65536 + 2 * MEMMAP_PAGES);
	CHECK_EQ(fx->balloon_target, 65536 + 2 * MEMMAP_PAGES);
	/* busy first; then per block the set; finally blocks, ack, ready in that order. */
	CHECK_STREQ(fx->journal[0], "hotmem/guest/state");
	CHECK_EQ(fake_writes_of(fx, "hotmem/guest/blocks"), 3);
	blocks_at = fake_last_write(fx, "hotmem/guest/blocks");
	ack_at = fake_last_write(fx, "hotmem/guest/ack");
	ready_at = fake_last_write(fx, "hotmem/guest/state");
	CHECK(blocks_at < ack_at && ack_at < ready_at);
	CHECK_EQ(fx->core.nr_in_state[HOTMEM_BLOCK_PLUGGED], 2);
	CHECK_EQ(fx->core.nr_in_state[HOTMEM_BLOCK_ABSENT], HOTMEM_MAX_BLOCKS - 2);
	/* add, online, account per block: ABSENT->ADDED->ONLINE->PLUGGED = 3 events each. */
	CHECK_EQ(fx->events[HOTMEM_EVENT_BLOCK], 6);
	CHECK_EQ(fx->last[HOTMEM_EVENT_BLOCK].start, FAKE_WINDOW_BASE + (1ull << 27));

	/* A second, separate range. */
	fake_request(fx, "2 grow 10 3");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "2 ok 3");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0-1 10-12");
	free(fx);
}

/* Every request rule, and garbage in H/request. */
static void test_requests_hostile(void)
{
	struct fake *fx = fake_ready();
	unsigned int journal;

	fake_request(fx, "5 grow 0 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "5 ok 2");

	/* Malformed values: a violation each, no ack, no work. */
	journal = fx->nr_journal;
	fake_request(fx, "6 grow 0");
	fake_request(fx, "6 grow 00 1");
	fake_request(fx, "6 Grow 2 1");
	fake_request(fx, "6 grow 2 1 ");
	fake_request(fx, "0 grow 2 1");
	fake_request(fx, "6 grow 4095 2");
	fake_request(fx, "6 shrink 0 1");
	fake_request(fx, "-6 grow 2 1");
	fake_request(fx, "4294967296 grow 2 1");
	CHECK_EQ(fx->events[HOTMEM_EVENT_VIOLATION], 9);
	CHECK_EQ(fx->nr_journal, journal);

	/* Not newer than the last one handled: silently ignored. */
	fake_request(fx, "5 grow 2 1");
	fake_request(fx, "4 shrink 1");
	CHECK_EQ(fx->nr_journal, journal);

	/* Outside the window (64 blocks). */
	fake_request(fx, "6 grow 63 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "6 inval 0");
	fake_request(fx, "7 grow 64 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "7 inval 0");
	/* Already plugged (partly). */
	fake_request(fx, "8 grow 1 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "8 inval 0");
	/* A shrink larger than the window. */
	fake_request(fx, "9 shrink 65");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "9 inval 0");
	CHECK_EQ(fx->events[HOTMEM_EVENT_REFUSED], 4);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0-1");
	CHECK_EQ(fx->nr_add, 2);

	/* A stale value arriving after a newer one does not replace it. */
	{
		struct hotmem_inbox inbox = { 0 };

		hotmem_inbox_parse_request(&inbox, "11 grow 3 1", 11);
		hotmem_core_deliver(&fx->core, &inbox);
		hotmem_inbox_parse_request(&inbox, "10 grow 4 1", 11);
		hotmem_core_deliver(&fx->core, &inbox);
		fake_run(fx, 100);
		CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "11 ok 1");
		CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0-1 3");
	}
	free(fx);
}

static void test_shrink_newest_first(void)
{
	struct fake *fx = fake_ready();

	fake_request(fx, "1 grow 4 1");
	fake_request(fx, "2 grow 0 2");
	fake_request(fx, "3 grow 8 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0-1 4 8");
	/* Newest plug first: 8, then 1, then 0; 4 (the oldest) stays. */
	fake_request(fx, "4 shrink 3");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "4 ok 3");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "4");
	CHECK(fx->blocks[4].online && !fx->blocks[8].added && !fx->blocks[0].added);
	/* Books back to one block. */
	CHECK_EQ(fx->balloon_total, 65536 + BLOCK_PAGES);
	CHECK_EQ(fx->balloon_current, 65536 + MEMMAP_PAGES - 3 * USABLE_PAGES);
	CHECK_EQ(fx->balloon_target, fx->balloon_current);

	/* More than plugged: partial; then nothing left: inval. */
	fake_request(fx, "5 shrink 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "5 partial 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "");
	fake_request(fx, "6 shrink 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "6 inval 0");
	/* A block unplugged can be plugged again. */
	fake_request(fx, "7 grow 8 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "7 ok 1");
	free(fx);
}

/*
 * The balloon's books without target-blocks: memory/target moves by the
 * usable size. Either side can leave it out: the guest (memmap_in_target
 * off, then it does not list it) or the toolstack (not in H/features, then
 * the guest lists it but does not use it).
 */
static void test_books_usable_only(void)
{
	for (int toolstack_refuses = 0; toolstack_refuses <= 1; toolstack_refuses++) {
		struct fake *fx = fake_new();
		struct hotmem_inbox inbox = { 0 };

		fx->cfg.memmap_in_target = toolstack_refuses;
		CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
		fake_attach(fx);
		if (toolstack_refuses)
			fake_set(fx, "hotmem/features",
				 "memmap-on-memory online-movable shrink stats", -1);
		hotmem_inbox_toolstack_changed(&inbox);
		hotmem_core_deliver(&fx->core, &inbox);
		fake_run(fx, 10);
		CHECK_STREQ(fake_get(fx, "hotmem/guest/features"),
			    toolstack_refuses
				    ? "memmap-on-memory online-movable shrink stats stats-swap "
				      "target-blocks"
				    : "memmap-on-memory online-movable shrink stats stats-swap");
		CHECK(!(fx->core.features & HOTMEM_FEATURE_TARGET_BLOCKS));
		fake_request(fx, "1 grow 0 1");
		CHECK_EQ(fx->balloon_total, 65536 + BLOCK_PAGES);
		CHECK_EQ(fx->balloon_current, 65536);
		CHECK_EQ(fx->balloon_target, 65536);
		fake_request(fx, "2 shrink 1");
		CHECK_EQ(fx->balloon_total, 65536);
		CHECK_EQ(fx->balloon_current, 65536 - USABLE_PAGES);
		free(fx);
	}
}

/*
 * populated-blocks: dom0 populated whole blocks, so every book moves by the
 * whole block on grow and shrink, and a grow needs no balloon that captures
 * onlined pages (the platform hands them to the page allocator). Only in use
 * when both sides list it and target-blocks is in use too; otherwise the
 * guest keeps the head-only way.
 */
static void test_populated_blocks(void)
{
	static const struct {
		bool own_pages, memmap_in_target;
		const char *offered;
		const char *listed;
		bool in_use;
	} cases[] = {
		{ true, true,
		  "memmap-on-memory online-movable populated-blocks shrink stats target-blocks",
		  "memmap-on-memory online-movable populated-blocks shrink stats stats-swap "
		  "target-blocks",
		  true },
		/* An older toolstack does not offer it. */
		{ true, true, "memmap-on-memory online-movable shrink stats target-blocks",
		  "memmap-on-memory online-movable populated-blocks shrink stats stats-swap "
		  "target-blocks",
		  false },
		/* Offered without target-blocks: memory/target would move by usable bytes. */
		{ true, true, "memmap-on-memory online-movable populated-blocks shrink stats",
		  "memmap-on-memory online-movable populated-blocks shrink stats stats-swap "
		  "target-blocks",
		  false },
		/* The guest only lists it with memmap_in_target. */
		{ true, false,
		  "memmap-on-memory online-movable populated-blocks shrink stats target-blocks",
		  "memmap-on-memory online-movable shrink stats stats-swap", false },
		{ false, true,
		  "memmap-on-memory online-movable populated-blocks shrink stats target-blocks",
		  "memmap-on-memory online-movable shrink stats stats-swap target-blocks", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake *fx = fake_new();
		struct hotmem_inbox inbox = { 0 };

		fx->cfg.own_pages = cases[i].own_pages;
		fx->cfg.memmap_in_target = cases[i].memmap_in_target;
		/* Without populated-blocks this guest could not grow at all. */
		fx->mm.balloon_captures = false;
		CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
		fake_attach(fx);
		fake_set(fx, "hotmem/features", cases[i].offered, -1);
		hotmem_inbox_toolstack_changed(&inbox);
		hotmem_core_deliver(&fx->core, &inbox);
		fake_run(fx, 10);
		CHECK_STREQ(fake_get(fx, "hotmem/guest/features"), cases[i].listed);
		CHECK_EQ(!!(fx->core.features & HOTMEM_FEATURE_POPULATED_BLOCKS), cases[i].in_use);
		fake_request(fx, "1 grow 0 2");
		if (!cases[i].in_use) {
			CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 unsupported 0");
			CHECK_EQ(fx->nr_add, 0);
			free(fx);
			continue;
		}
		CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 ok 2");
		CHECK_EQ(fx->balloon_total, 65536 + 2 * BLOCK_PAGES);
		CHECK_EQ(fx->balloon_current, 65536 + 2 * BLOCK_PAGES);
		CHECK_EQ(fx->balloon_target, 65536 + 2 * BLOCK_PAGES);
		fake_request(fx, "2 shrink 1");
		CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "2 ok 1");
		CHECK_EQ(fx->balloon_total, 65536 + BLOCK_PAGES);
		CHECK_EQ(fx->balloon_current, 65536 + BLOCK_PAGES);
		CHECK_EQ(fx->balloon_target, 65536 + BLOCK_PAGES);
		free(fx);
	}
}

/* Offline keeps failing: doubling backoff, capped, then give up with the block kept. */
static void test_shrink_busy(void)
{
	struct fake *fx = fake_ready();

	fake_request(fx, "1 grow 0 2");
	fx->nr_delays = 0;
	fake_fault_set(&fx->offline_fault, -EBUSY, -1);
	fake_request(fx, "2 shrink 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "2 busy 0");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0-1");
	CHECK_EQ(fx->nr_offline, 4); /* first try + retry_limit (3) */
	CHECK_EQ(fx->nr_delays, 3);
	CHECK_EQ(fx->delays[0], 100);
	CHECK_EQ(fx->delays[1], 200);
	CHECK_EQ(fx->delays[2], 400);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");

	/* The cap: a long limit shows 100 200 400 800 1600 1600. */
	fx->core.cfg.retry_limit = 6;
	fx->nr_delays = 0;
	fake_request(fx, "3 shrink 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "3 busy 0");
	CHECK_EQ(fx->delays[3], 800);
	CHECK_EQ(fx->delays[4], 1600);
	CHECK_EQ(fx->delays[5], 1600);

	/* Busy twice, then it works: ok, and the retry counter starts over. */
	fake_fault_set(&fx->offline_fault, -EBUSY, 2);
	fake_request(fx, "4 shrink 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "4 ok 2");
	CHECK_EQ(fx->offline_fault.fired, 2);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "");

	/* -ENOMEM on the second block after the first came out: partial. */
	fake_request(fx, "5 grow 0 2");
	fx->core.cfg.retry_limit = 1;
	fake_fault_after(&fx->offline_fault, 1, -ENOMEM, -1);
	fake_request(fx, "6 shrink 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "6 partial 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0");
	fake_request(fx, "7 shrink 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "7 nomem 0");
	/* Any other offline error ends the request at once, the block kept. */
	fake_fault_set(&fx->offline_fault, -EINVAL, 1);
	fx->nr_offline = 0;
	fake_request(fx, "8 shrink 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "8 inval 0");
	CHECK_EQ(fx->nr_offline, 1);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");
	free(fx);
}

static void test_add_failures(void)
{
	struct fake *fx = fake_ready();

	/* Permanent: the range is taken (-EEXIST) -> inval, nothing left behind. */
	fake_fault_set(&fx->add_fault, -EEXIST, 1);
	fake_request(fx, "1 grow 0 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 inval 0");
	CHECK(!fx->blocks[0].added);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");

	/* Transient -ENOMEM twice: retried, then done. */
	fake_fault_set(&fx->add_fault, -ENOMEM, 2);
	fake_request(fx, "2 grow 0 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "2 ok 2");
	CHECK_EQ(fx->add_fault.fired, 2);

	/* Persistent -ENOMEM on the second block: partial 1 after the retries. */
	fake_fault_after(&fx->add_fault, 1, -ENOMEM, -1);
	fx->nr_add = 0;
	fake_request(fx, "3 grow 10 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "3 partial 1");
	CHECK_EQ(fx->nr_add, 1 + 1 + 3); /* block 10, then block 11: first try + 3 retries */

	/* Another error in the middle of a multi-block grow: partial at once. */
	fake_fault_after(&fx->add_fault, 1, -EINVAL, 1);
	fx->nr_add = 0;
	fake_request(fx, "4 grow 20 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "4 partial 1");
	CHECK_EQ(fx->nr_add, 2);
	CHECK(!fx->blocks[21].added);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0-1 10 20");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");
	free(fx);
}

static void test_online_failures(void)
{
	struct fake *fx = fake_ready();

	/* Online fails: the block is removed again before the ack. */
	fake_fault_set(&fx->online_fault, -EINVAL, 1);
	fake_request(fx, "1 grow 0 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 inval 0");
	CHECK(!fx->blocks[0].added);
	CHECK_EQ(fx->nr_offline, 1);
	CHECK_EQ(fx->balloon_total, 65536);

	/* Transient online failure: rolled back and retried from the add. */
	fake_fault_set(&fx->online_fault, -EBUSY, 1);
	fake_request(fx, "2 grow 0 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "2 ok 2");
	CHECK_EQ(fx->online_fault.fired, 1);
	CHECK_EQ(fx->nr_add, 4);

	/* Online fails and so does the rollback: stuck, broken, not listed. */
	fake_fault_set(&fx->online_fault, -EINVAL, 1);
	fake_fault_set(&fx->offline_fault, -EBUSY, 1);
	fake_request(fx, "3 grow 5 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "broken");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0-1");
	CHECK_EQ(fx->core.nr_in_state[HOTMEM_BLOCK_STUCK], 1);
	CHECK_EQ(fx->events[HOTMEM_EVENT_BROKEN], 1);
	free(fx);
}

/* The balloon is busy: the block is online and cannot go back, so no give-up. */
static void test_balloon_busy(void)
{
	struct fake *fx = fake_ready();

	fake_fault_set(&fx->account_fault, -EBUSY, 6); /* more than retry_limit */
	fake_request(fx, "1 grow 0 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 ok 1");
	CHECK_EQ(fx->nr_account, 7);
	CHECK_EQ(fx->waited_ms, 100 + 200 + 400 + 800 + 1600 + 1600);
	/* While it waited, the block was online but not listed. */
	CHECK_EQ(fake_writes_of(fx, "hotmem/guest/blocks"), 1 + 2);

	/* On shrink likewise: removed, then books retried. */
	fake_fault_set(&fx->account_fault, -EBUSY, 5);
	fake_request(fx, "2 shrink 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "2 ok 1");
	CHECK_EQ(fx->account_fault.fired, 5);
	CHECK_EQ(fx->balloon_total, 65536);

	/* Any other balloon error is a bug: broken, block published as in use. */
	fake_fault_set(&fx->account_fault, -ERANGE, 1);
	fake_request(fx, "3 grow 2 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "broken");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "2");
	free(fx);
}

/* A newer request stops the current one at the next block boundary. */
static void test_superseded(void)
{
	struct fake *fx = fake_ready();
	struct hotmem_inbox inbox = { 0 };
	unsigned int steps = 0;

	fake_set(fx, "hotmem/request", "1 grow 0 4", -1);
	hotmem_inbox_parse_request(&inbox, "1 grow 0 4", 10);
	hotmem_core_deliver(&fx->core, &inbox);
	/* take + (add, online, account) for block 0 + add of block 1 */
	while (steps < 5) {
		hotmem_core_step(&fx->core);
		steps++;
	}
	CHECK_EQ(fx->core.nr_in_state[HOTMEM_BLOCK_PLUGGED], 1);
	CHECK_EQ(fx->core.nr_in_state[HOTMEM_BLOCK_ADDED], 1);
	hotmem_inbox_parse_request(&inbox, "2 shrink 1", 10);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 100);
	/* Block 1 was finished (half-way blocks go forward), then 1 was acked partial. */
	CHECK_EQ(fx->nr_acks, 2);
	CHECK_STREQ(fx->acks[0], "1 partial 2");
	CHECK_EQ(fx->last[HOTMEM_EVENT_ACK].ack.seq, 2);
	CHECK_EQ(fx->last[HOTMEM_EVENT_ACK].ack.status, HOTMEM_STATUS_OK);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "2 ok 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0");
	CHECK_EQ(fx->events[HOTMEM_EVENT_ACK], 2);
	free(fx);
}

static void test_superseded_before_start(void)
{
	struct fake *fx = fake_ready();
	struct hotmem_inbox inbox = { 0 };

	hotmem_inbox_parse_request(&inbox, "1 grow 0 4", 10);
	hotmem_core_deliver(&fx->core, &inbox);
	hotmem_core_step(&fx->core); /* taken, nothing done yet */
	hotmem_inbox_parse_request(&inbox, "2 grow 8 1", 10);
	hotmem_core_deliver(&fx->core, &inbox);
	hotmem_core_step(&fx->core); /* request 1 stops at once */
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 busy 0");
	fake_run(fx, 100);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "2 ok 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "8");
	free(fx);
}

static void test_features_refused(void)
{
	/* No memmap-on-memory and no allow_classic: grows are unsupported. */
	struct fake *fx = fake_new();
	struct hotmem_inbox inbox = { 0 };

	fx->mm.memmap_on_memory = false;
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	fake_attach(fx);
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 10);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/features"),
		    "online-movable shrink stats stats-swap target-blocks");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/memmap-bytes"), "0x0");
	fake_request(fx, "1 grow 0 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 unsupported 0");
	CHECK_EQ(fx->nr_add, 0);
	free(fx);

	/* With allow_classic: the whole block is the balloon's. */
	fx = fake_new();
	fx->mm.memmap_on_memory = false;
	fx->cfg.allow_classic = true;
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	fake_attach(fx);
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 10);
	fake_request(fx, "1 grow 0 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 ok 1");
	CHECK(!fx->blocks[0].memmap_on_memory);
	CHECK_EQ(fx->balloon_current, 65536);
	CHECK_EQ(fx->balloon_total, 65536 + BLOCK_PAGES);
	free(fx);

	/* The balloon does not own the online-page callback: unsupported. */
	fx = fake_new();
	fx->mm.balloon_captures = false;
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	fake_attach(fx);
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 10);
	fake_request(fx, "1 grow 0 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 unsupported 0");
	free(fx);

	/* The toolstack knows no memmap head (it may have populated it all); no shrink offered. */
	fx = fake_new();
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	fake_attach(fx);
	fake_set(fx, "hotmem/features", "stats", -1);
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 10);
	fake_request(fx, "1 grow 0 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 unsupported 0");
	fake_request(fx, "2 shrink 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "2 unsupported 0");
	free(fx);
}

/* The kernel's answer and layout.h must agree, else the core refuses to start. */
static void test_geometry(void)
{
	struct fake *fx = fake_new();

	/* arm64 64K: the forced memmap would fill the whole 512 MiB block. */
	hotmem_layout_preset(HOTMEM_GEO_ARM64_64K, &fx->mm.geo);
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), -EINVAL);
	fx->mm.memmap_on_memory = false;
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	CHECK_EQ(fx->core.memmap_bytes, 0);

	/* arm64 16K: 128 MiB blocks, 8192 pages, memmap 512 KiB padded to a 32 MiB pageblock. */
	hotmem_layout_preset(HOTMEM_GEO_ARM64_16K, &fx->mm.geo);
	fx->mm.memmap_on_memory = true;
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), -EINVAL);

	/* A block size the protocol cannot carry. */
	fx->mm.geo.block_size = 1ull << 35;
	fx->mm.memmap_on_memory = false;
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), -EINVAL);

	/* Bad config. */
	hotmem_layout_preset(HOTMEM_GEO_ARM64_4K, &fx->mm.geo);
	fx->cfg.retry_min_ms = 0;
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), -EINVAL);
	fx->cfg.retry_min_ms = 2000;
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), -EINVAL);
	fx->cfg.retry_min_ms = 100;
	fx->cfg.online_zone = HOTMEM_ZONE_COUNT;
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), -EINVAL);
	CHECK_EQ(hotmem_core_init(NULL, &fake_ops, fx, &fx->cfg), -EINVAL);
	free(fx);
}

/* Driver reload: last_seq from our ack, leftover blocks adopted or removed. */
static void test_reload(void)
{
	struct fake *fx = fake_new();
	struct hotmem_inbox inbox = { 0 };

	fx->probe[2] = HOTMEM_PROBE_ONLINE;
	fx->probe[3] = HOTMEM_PROBE_ONLINE;
	fx->probe[7] = HOTMEM_PROBE_OFFLINE;
	fx->probe[9] = HOTMEM_PROBE_OFFLINE;
	fake_fault_set(&fx->offline_fault, -EBUSY, 1); /* block 7 will not go */
	fake_set(fx, "hotmem/guest/ack", "5 ok 2", -1);
	fake_set(fx, "hotmem/guest/blocks", "2-3", -1);
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	fake_attach(fx);
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_inbox_parse_request(&inbox, "5 grow 2 2", 10);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 100);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "2-3");
	CHECK_EQ(fx->core.last_seq, 5);
	CHECK_EQ(fx->core.nr_in_state[HOTMEM_BLOCK_STUCK], 1);
	CHECK(!fx->blocks[9].added);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "5 ok 2"); /* request 5 not redone */
	/* A stuck block is never reused. */
	fake_request(fx, "6 grow 7 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "6 inval 0");
	/* Adopted blocks unplug like ours (the higher index counts as newer). */
	fake_request(fx, "7 shrink 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "2");
	free(fx);

	/* An unparsable old ack means last_seq 0. */
	fx = fake_new();
	fake_set(fx, "hotmem/guest/ack", "5 ok", -1);
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	fake_attach(fx);
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 10);
	CHECK_EQ(fx->core.last_seq, 0);
	free(fx);
}

/*
 * A driver reload adopts only online blocks it had published: online memory
 * in the window that was never in H/guest/blocks (boot RAM, or a block whose
 * frames the toolstack may have reclaimed) is neither adopted nor removed.
 */
static void test_reload_adopts_only_listed(void)
{
	struct fake *fx = fake_new();
	struct hotmem_inbox inbox = { 0 };

	fx->probe[2] = HOTMEM_PROBE_ONLINE;
	fx->probe[5] = HOTMEM_PROBE_ONLINE;
	fake_set(fx, "hotmem/guest/blocks", "2", -1);
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	fake_attach(fx);
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 100);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "2");
	CHECK_EQ(fx->core.block_state[5], HOTMEM_BLOCK_ABSENT);
	CHECK_EQ(fx->events[HOTMEM_EVENT_REFUSED_BLOCK], 1);
	CHECK_EQ(fx->last[HOTMEM_EVENT_REFUSED_BLOCK].block, 5);
	CHECK(fx->blocks[5].online); /* left alone */
	CHECK_EQ(fx->nr_offline, 0);
	/* A shrink never picks it. */
	fake_request(fx, "1 shrink 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 partial 1");
	CHECK(fx->blocks[5].online);
	free(fx);
}

/*
 * An ack whose write fails with a transient error is written again with the
 * usual backoff until it is out; before the fix the request was over and the
 * driver sat in "busy" for good.
 */
static void test_ack_write_retried(void)
{
	static const int errors[] = { -EAGAIN, -EBUSY, -ENOMEM };

	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		struct fake *fx = fake_ready();

		fake_fault_set(&fx->write_fault, errors[i], 3);
		fx->write_fault_key = "hotmem/guest/ack";
		fx->nr_delays = 0;
		fake_request(fx, "1 grow 0 1");
		CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 ok 1");
		CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");
		CHECK_EQ(fx->events[HOTMEM_EVENT_BROKEN], 0);
		CHECK_EQ(fx->nr_acks, 1);
		if (errors[i] != -EAGAIN) {
			CHECK_EQ(fx->nr_delays, 3);
			CHECK_EQ(fx->delays[0], 100);
			CHECK_EQ(fx->delays[1], 200);
			CHECK_EQ(fx->delays[2], 400);
		}
		/* The request is not redone, the next one is served. */
		CHECK_EQ(fx->nr_add, 1);
		fake_request(fx, "2 grow 1 1");
		CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "2 ok 1");
		free(fx);

		/* Same when the ack of a request that gives up cannot be written. */
		fx = fake_ready();
		fake_fault_set(&fx->add_fault, -EBUSY, -1);
		fake_fault_set(&fx->write_fault, errors[i], 2);
		fx->write_fault_key = "hotmem/guest/ack";
		fake_request(fx, "1 grow 0 1");
		CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 busy 0");
		CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");
		CHECK_EQ(fx->events[HOTMEM_EVENT_BROKEN], 0);
		free(fx);
	}
}

/*
 * Detach removes H (our keys with it) and a re-attach creates it again: the
 * driver runs the handshake again, with seqs starting over at 1.
 */
static void test_reattach(void)
{
	struct fake *fx = fake_ready();
	struct hotmem_inbox inbox = { 0 };

	fake_request(fx, "4 grow 0 1");
	fake_request(fx, "5 shrink 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "5 ok 1");
	CHECK_EQ(fx->events[HOTMEM_EVENT_HANDSHAKE], 1);

	/* Detach: H and everything below it go. */
	for (unsigned int k = 0; k < FAKE_KEYS; k++)
		if (strncmp(fx->keys[k].key, "hotmem/", 7) == 0)
			fx->keys[k].present = false;
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 100);
	CHECK(!fx->core.handshake_done);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "(absent)");

	/* Re-attach: a new handshake, and request 1 is new again. */
	fake_attach(fx);
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 100);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/features"),
		    "memmap-on-memory online-movable shrink stats stats-swap target-blocks");
	CHECK_EQ(fx->events[HOTMEM_EVENT_HANDSHAKE], 2);
	CHECK_EQ(fx->core.last_seq, 0);
	fake_request(fx, "1 grow 3 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 ok 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "3");

	/* A window rewrite with our keys still there is not a re-attach. */
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 100);
	CHECK_EQ(fx->events[HOTMEM_EVENT_HANDSHAKE], 2);
	free(fx);
}

static void test_xenstore_failure(void)
{
	struct fake *fx = fake_ready();

	/* The ack cannot be written: broken. */
	fake_fault_set(&fx->write_fault, -EIO, 1);
	fx->write_fault_key = "hotmem/guest/ack";
	fake_request(fx, "1 grow 0 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "broken");
	CHECK_EQ(fx->events[HOTMEM_EVENT_BROKEN], 1);
	free(fx);

	/* A handshake write fails with a transient error: retried. */
	fx = fake_new();
	{
		struct hotmem_inbox inbox = { 0 };

		CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
		fake_attach(fx);
		fake_fault_set(&fx->write_fault, -EAGAIN, 2);
		fx->write_fault_key = "hotmem/guest/features";
		hotmem_inbox_toolstack_changed(&inbox);
		hotmem_core_deliver(&fx->core, &inbox);
		fake_run(fx, 10);
		CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");
		CHECK_EQ(fake_writes_of(fx, "hotmem/guest/features"), 1);
		CHECK_EQ(fx->write_fault.fired, 2);
	}
	free(fx);

	/* ... and with a hard error: broken. */
	fx = fake_new();
	{
		struct hotmem_inbox inbox = { 0 };

		CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
		fake_attach(fx);
		fake_fault_set(&fx->write_fault, -EACCES, 1);
		fx->write_fault_key = "hotmem/guest/block-size";
		hotmem_inbox_toolstack_changed(&inbox);
		hotmem_core_deliver(&fx->core, &inbox);
		fake_run(fx, 10);
		CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "broken");
		CHECK_EQ(fx->last[HOTMEM_EVENT_BROKEN].err, -EACCES);
	}
	free(fx);
}

static void test_stats(void)
{
	struct fake *fx = fake_ready();
	struct hotmem_inbox inbox = { 0 };
	uint32_t delay;

	CHECK_STREQ(fake_get(fx, "hotmem/guest/stats"), "(absent)");
	fx->stats.psi_some_avg10 = 1234;
	fx->stats.psi_full_avg10 = 56;
	/* This toolstack did not offer stats-swap: five figures, as it reads them. */
	fx->stats.swapped_kib = 4096;
	fx->stats.has_swapped = true;
	hotmem_inbox_parse_stats_interval(&inbox, "1000", 4);
	hotmem_core_deliver(&fx->core, &inbox);
	delay = hotmem_core_step(&fx->core);
	CHECK_EQ(delay, 1000);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/stats"), "1 222072 150000 1234 56");
	/* Early calls (watch storms) do not publish more often. */
	fx->now_ms += 300;
	CHECK_EQ(hotmem_core_step(&fx->core), 700);
	CHECK_EQ(fx->nr_stats_reads, 1);
	fx->now_ms += 700;
	hotmem_core_step(&fx->core);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/stats"), "2 222072 150000 1234 56");
	/* A platform value out of range is clamped, never published raw. */
	fx->stats.memavail_kib = 999999999;
	fx->stats.psi_some_avg10 = 20000;
	fx->now_ms += 1000;
	hotmem_core_step(&fx->core);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/stats"), "3 222072 222072 10000 56");
	/* Malformed interval: violation, old interval kept; 0 turns stats off. */
	hotmem_inbox_parse_stats_interval(&inbox, "50", 2);
	hotmem_core_deliver(&fx->core, &inbox);
	CHECK_EQ(fx->events[HOTMEM_EVENT_VIOLATION], 1);
	CHECK_EQ(fx->core.stats_interval_ms, 1000);
	hotmem_inbox_parse_stats_interval(&inbox, "0", 1);
	hotmem_core_deliver(&fx->core, &inbox);
	CHECK_EQ(hotmem_core_step(&fx->core), HOTMEM_STEP_IDLE);
	free(fx);
}

/* H/guest/stats is "<the core's last counter> <figures>". */
static void check_stats_figures(struct fake *fx, const char *figures)
{
	char want[96];

	snprintf(want, sizeof(want), "%llu %s", (unsigned long long)fx->core.stats_counter,
		 figures);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/stats"), want);
}

/*
 * With stats-swap offered the swap figure goes out as a sixth field while the
 * platform knows it, and the text falls back to five when it does not.
 */
static void test_stats_swap(void)
{
	struct fake *fx = fake_new();
	struct hotmem_inbox inbox = { 0 };

	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	fake_attach(fx);
	fake_set(fx, "hotmem/features",
		 "memmap-on-memory online-movable shrink stats stats-swap target-blocks", -1);
	fake_set(fx, "hotmem/stats-interval-ms", "1000", -1);
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_inbox_parse_stats_interval(&inbox, "1000", 4);
	hotmem_core_deliver(&fx->core, &inbox);
	fx->stats.swapped_kib = 98304;
	fx->stats.has_swapped = true;
	fake_run(fx, 10);
	CHECK(fx->core.features & HOTMEM_FEATURE_STATS_SWAP);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/features"),
		    "memmap-on-memory online-movable shrink stats stats-swap target-blocks");
	check_stats_figures(fx, "222072 150000 0 0 98304");
	fx->stats.has_swapped = false;
	fx->now_ms += 1000;
	hotmem_core_step(&fx->core);
	check_stats_figures(fx, "222072 150000 0 0");
	/* Past what a byte count can hold: clamped, never published raw. */
	fx->stats.swapped_kib = UINT64_MAX;
	fx->stats.has_swapped = true;
	fx->now_ms += 1000;
	hotmem_core_step(&fx->core);
	check_stats_figures(fx, "222072 150000 0 0 18014398509481984");
	free(fx);
}

static void test_meminfo_swap(void)
{
	static const char real[] = "MemTotal:         222072 kB\n"
				   "SwapCached:         1024 kB\n"
				   "SwapTotal:        262140 kB\n"
				   "SwapFree:         160000 kB\n"
				   "Zswap:                 0 kB\n";
	static const char grepped[] = "SwapCached:            0 kB\nSwapTotal:             0 kB\n"
				      "SwapFree:              0 kB\n";
	uint64_t swapped = 7;

	CHECK_EQ(hotmem_parse_meminfo_swap(real, sizeof(real) - 1, &swapped), 0);
	CHECK_EQ(swapped, 262140 - 160000 - 1024);
	CHECK_EQ(hotmem_parse_meminfo_swap(grepped, sizeof(grepped) - 1, &swapped), 0);
	CHECK_EQ(swapped, 0);
	/* Cached read a moment after the others can pass total - free: 0, not a wrap. */
	CHECK_EQ(hotmem_parse_meminfo_swap("SwapTotal: 100 kB\nSwapFree: 50 kB\nSwapCached: 60 kB",
					   51, &swapped),
		 0);
	CHECK_EQ(swapped, 0);
	swapped = 7;
	CHECK_EQ(hotmem_parse_meminfo_swap("SwapTotal: 100 kB\nSwapFree: 150 kB\nSwapCached: 0 kB",
					   51, &swapped),
		 -EINVAL);
	CHECK_EQ(hotmem_parse_meminfo_swap("SwapTotal: 100 kB\nSwapFree: 50 kB\n", 34, &swapped),
		 -EINVAL);
	CHECK_EQ(hotmem_parse_meminfo_swap("SwapTotal: 100 MB\nSwapFree: 50 kB\nSwapCached: 0 kB",
					   50, &swapped),
		 -EINVAL);
	CHECK_EQ(hotmem_parse_meminfo_swap("SwapTotal: kB\nSwapFree: 50 kB\nSwapCached: 0 kB", 46,
					   &swapped),
		 -EINVAL);
	CHECK_EQ(hotmem_parse_meminfo_swap("SwapTotal: 99999999999999999999 kB\nSwapFree: 5 kB\n"
					   "SwapCached: 0 kB",
					   66, &swapped),
		 -EINVAL);
	CHECK_EQ(hotmem_parse_meminfo_swap("", 0, &swapped), -EINVAL);
	CHECK_EQ(hotmem_parse_meminfo_swap(NULL, 0, &swapped), -EINVAL);
	CHECK_EQ(swapped, 7);
}

static void test_close(void)
{
	struct fake *fx = fake_ready();

	fake_request(fx, "1 grow 0 3");
	/* Block 2 (newest) goes, block 1 refuses, block 0 is still tried and goes. */
	fake_fault_after(&fx->offline_fault, 1, -EBUSY, 1);
	fx->nr_offline = 0;
	CHECK_EQ(hotmem_core_close(&fx->core, true), 1);
	CHECK_EQ(fx->offline_fault.fired, 1);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "closed");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "1");
	CHECK_EQ(fx->nr_offline, 3);
	CHECK(fx->blocks[1].online && !fx->blocks[0].added && !fx->blocks[2].added);
	free(fx);

	fx = fake_ready();
	fake_request(fx, "1 grow 0 3");
	fx->nr_offline = 0;
	/* Every removal fails: everything stays listed. */
	fake_fault_set(&fx->offline_fault, -EBUSY, -1);
	CHECK_EQ(hotmem_core_close(&fx->core, true), 3);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "closed");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0-2");
	CHECK_EQ(fx->nr_offline, 3);
	free(fx);

	fx = fake_ready();
	fake_request(fx, "1 grow 0 3");
	CHECK_EQ(hotmem_core_close(&fx->core, true), 0);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "closed");
	CHECK_EQ(fx->balloon_total, 65536);
	CHECK_EQ(fx->balloon_current, 65536 - 3 * USABLE_PAGES);
	/* Closed: steps do nothing. */
	CHECK_EQ(hotmem_core_step(&fx->core), HOTMEM_STEP_IDLE);
	free(fx);

	/* Close without removal keeps the blocks listed. */
	fx = fake_ready();
	fake_request(fx, "1 grow 0 2");
	CHECK_EQ(hotmem_core_close(&fx->core, false), 2);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0-1");
	free(fx);
}

static void test_psi(void)
{
	static const char real[] = "some avg10=12.34 avg60=0.00 avg300=0.00 total=123\n"
				   "full avg10=0.56 avg60=0.00 avg300=0.00 total=45\n";
	uint32_t some = 7, full = 7;

	CHECK_EQ(hotmem_parse_psi_memory(real, sizeof(real) - 1, &some, &full), 0);
	CHECK_EQ(some, 1234);
	CHECK_EQ(full, 56);
	CHECK_EQ(hotmem_parse_psi_memory("some avg10=100.00 avg60=1.00", 28, &some, &full), 0);
	CHECK_EQ(some, 10000);
	CHECK_EQ(full, 0);
	some = full = 7;
	CHECK_EQ(hotmem_parse_psi_memory("some avg10=100.01 x", 19, &some, &full), -EINVAL);
	CHECK_EQ(hotmem_parse_psi_memory("some avg10=1.2 x", 16, &some, &full), -EINVAL);
	CHECK_EQ(hotmem_parse_psi_memory("some avg10=1234.00", 18, &some, &full), -EINVAL);
	CHECK_EQ(hotmem_parse_psi_memory("full avg10=1.00\n", 16, &some, &full), -EINVAL);
	CHECK_EQ(hotmem_parse_psi_memory("some avg10=", 11, &some, &full), -EINVAL);
	CHECK_EQ(hotmem_parse_psi_memory("some avg10=1.00\nfull avg10=x", 28, &some, &full),
		 -EINVAL);
	CHECK_EQ(hotmem_parse_psi_memory("", 0, &some, &full), -EINVAL);
	CHECK_EQ(hotmem_parse_psi_memory(NULL, 0, &some, &full), -EINVAL);
	CHECK_EQ(some, 7);
	CHECK_EQ(full, 7);
}

/*
 * A grow into a squeezed guest: adding a block takes its page tables from the
 * kernel zones, so when they hold less than twice what the request's adds
 * need, the first block goes to a kernel zone and its memory pays for the
 * rest, which stay movable. Plenty of headroom, a headroom that cannot be
 * read, the switch off, or online_type=kernel change nothing.
 */
static void test_kernel_block_when_short(void)
{
	struct fake *fx = fake_ready();
	const uint64_t add_bytes = fx->core.add_kernel_bytes;
	unsigned int b;

	/* 128 MiB of 4 KiB pages: 64 PTE tables + 1 above + the device. */
	CHECK_EQ(add_bytes, 65 * 4096 + HOTMEM_ADD_DEVICE_BYTES);

	/* 2 MiB above min, 8 blocks need 8 * 324 KiB: block 0 kernel, 1-7 movable. */
	fx->headroom = 2 << 20;
	fake_request(fx, "1 grow 0 8");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 ok 8");
	CHECK_EQ(fx->blocks[0].add_zone, HOTMEM_ZONE_KERNEL);
	CHECK_EQ(fx->blocks[0].zone, HOTMEM_ZONE_KERNEL);
	for (b = 1; b < 8; b++)
		CHECK(fx->blocks[b].online && fx->blocks[b].add_zone == HOTMEM_ZONE_MOVABLE &&
		      fx->blocks[b].zone == HOTMEM_ZONE_MOVABLE);
	CHECK_EQ(fx->core.nr_kernel_blocks, 1);
	CHECK_EQ(fx->events[HOTMEM_EVENT_KERNEL_BLOCK], 1);
	CHECK_EQ(fx->last[HOTMEM_EVENT_KERNEL_BLOCK].block, 0);
	CHECK_EQ(fx->last[HOTMEM_EVENT_KERNEL_BLOCK].start, FAKE_WINDOW_BASE);
	CHECK_EQ(fx->last[HOTMEM_EVENT_KERNEL_BLOCK].headroom, 2 << 20);
	CHECK_EQ(fx->last[HOTMEM_EVENT_KERNEL_BLOCK].need, 8 * add_bytes);
	/* The books do not care about zones. */
	CHECK_EQ(fx->balloon_total, 65536 + 8 * BLOCK_PAGES);

	/*
	 * Shrink: movable blocks newest first, the kernel block (the oldest
	 * here) last; when it refuses, the ack says partial with what went.
	 */
	fake_request(fx, "2 shrink 3");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "2 ok 3");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0-4");
	fake_fault_after(&fx->offline_fault, 4, -EBUSY, -1);
	fx->nr_offline = 0;
	fx->nr_delays = 0;
	fake_request(fx, "3 shrink 5");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "3 partial 4");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0");
	CHECK(fx->blocks[0].online && !fx->blocks[1].added);
	/* One attempt at the kernel block, no backoff: the ack is not held back. */
	CHECK_EQ(fx->nr_offline, 5);
	CHECK_EQ(fx->nr_delays, 0);
	fake_request(fx, "4 shrink 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "4 busy 0");
	CHECK_EQ(fx->nr_offline, 6);
	fake_fault_set(&fx->offline_fault, 0, 0);

	/*
	 * A kernel block plugged after a movable one still comes out last:
	 * blocks 0 (kernel) and 10 (movable, plenty of room now) plugged, then
	 * a squeezed single-block grow puts 20 in a kernel zone.
	 */
	fx->headroom = 64ll << 20;
	fake_request(fx, "5 grow 10 1");
	CHECK_EQ(fx->blocks[10].zone, HOTMEM_ZONE_MOVABLE);
	fx->headroom = add_bytes; /* less than twice one add */
	fake_request(fx, "6 grow 20 1");
	CHECK_EQ(fx->blocks[20].zone, HOTMEM_ZONE_KERNEL);
	CHECK_EQ(fx->core.nr_kernel_blocks, 2);
	fake_request(fx, "7 shrink 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "7 ok 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"),
		    "0"); /* 10 first, then 20 (newest kernel) */
	CHECK(!fx->blocks[10].added && !fx->blocks[20].added);
	free(fx);

	/* Exactly twice the need is enough: every block movable. */
	fx = fake_ready();
	fx->headroom = (int64_t)(2 * 8 * fx->core.add_kernel_bytes);
	fx->add_cost = 0;
	fake_request(fx, "1 grow 0 8");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 ok 8");
	CHECK_EQ(fx->blocks[0].zone, HOTMEM_ZONE_MOVABLE);
	CHECK_EQ(fx->core.nr_kernel_blocks, 0);
	CHECK_EQ(fx->events[HOTMEM_EVENT_KERNEL_BLOCK], 0);
	free(fx);

	/* An unreadable headroom keeps the configured zone. */
	fx = fake_ready();
	fx->headroom = 0;
	fx->headroom_err = -EIO;
	fake_request(fx, "1 grow 0 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 ok 2");
	CHECK(fx->nr_headroom_reads > 0);
	CHECK_EQ(fx->blocks[0].zone, HOTMEM_ZONE_MOVABLE);
	free(fx);

	/* Classic layout: each add also takes the block's memmap (2 MiB) from the kernel zones. */
	fx = fake_new();
	fx->mm.memmap_on_memory = false;
	fx->cfg.allow_classic = true;
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	CHECK_EQ(fx->core.add_kernel_bytes, 65 * 4096 + HOTMEM_ADD_DEVICE_BYTES + (2u << 20));
	free(fx);

	/* Switched off: movable however short. */
	fx = fake_new();
	fx->cfg.kernel_block_when_short = false;
	fx->headroom = 0;
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	fake_attach(fx);
	{
		struct hotmem_inbox inbox = { 0 };

		hotmem_inbox_toolstack_changed(&inbox);
		hotmem_core_deliver(&fx->core, &inbox);
	}
	fake_run(fx, 100);
	fake_request(fx, "1 grow 0 2");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 ok 2");
	CHECK_EQ(fx->blocks[0].zone, HOTMEM_ZONE_MOVABLE);
	CHECK_EQ(fx->nr_headroom_reads, 0);
	free(fx);
}

/* A block adopted at reload in a kernel zone keeps that zone: unplugged last. */
static void test_reload_kernel_block(void)
{
	struct fake *fx = fake_new();
	struct hotmem_inbox inbox = { 0 };

	fx->probe[2] = HOTMEM_PROBE_ONLINE;
	fx->probe[3] = HOTMEM_PROBE_ONLINE_KERNEL;
	fake_set(fx, "hotmem/guest/blocks", "2-3", -1);
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	fake_attach(fx);
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 100);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "2-3");
	CHECK_EQ(fx->core.block_zone[3], HOTMEM_ZONE_KERNEL);
	/* 3 is the newest in the rescan's (index) order, but in a kernel zone: 2 goes first. */
	fake_request(fx, "1 shrink 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 ok 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "3");
	free(fx);
}

static void test_names(void)
{
	CHECK_STREQ(hotmem_block_state_name(HOTMEM_BLOCK_PLUGGED), "plugged");
	CHECK_STREQ(hotmem_block_state_name(HOTMEM_BLOCK_COUNT), "?");
	CHECK_STREQ(hotmem_zone_name(HOTMEM_ZONE_MOVABLE), "movable");
	CHECK_STREQ(hotmem_zone_name(HOTMEM_ZONE_COUNT), "?");
}

/* A guest holding one block, notice on, dom0 offering reboot-notice. */
static struct fake *fake_grown_with_notice(uint32_t notice_ms, bool offered)
{
	struct fake *fx = fake_new();
	struct hotmem_inbox inbox = { 0 };

	fx->cfg.shutdown_notice_ms = notice_ms;
	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	fake_attach(fx);
	fake_set(
		fx, "hotmem/features",
		offered ? "memmap-on-memory online-movable reboot-notice shrink stats target-blocks"
			: "memmap-on-memory online-movable shrink stats stats-swap target-blocks",
		-1);
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 100);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");
	CHECK_STREQ(
		fake_get(fx, "hotmem/guest/features"),
		notice_ms
			? "memmap-on-memory online-movable reboot-notice shrink stats stats-swap "
			  "target-blocks"
			: "memmap-on-memory online-movable shrink stats stats-swap target-blocks");
	fake_request(fx, "1 grow 0 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "0");
	return fx;
}

/* Poll as the reboot notifier does, sleeping on the fake clock; the last rc. */
static int fake_shutdown_wait(struct fake *fx, unsigned int *ret_polls)
{
	unsigned int polls = 0;
	int rc;

	while ((rc = hotmem_core_shutdown_poll(&fx->core)) > 0 && polls < 10000) {
		polls++;
		fx->now_ms += (uint64_t)rc;
		fx->waited_ms += (uint64_t)rc;
	}
	*ret_polls = polls;
	return rc;
}

/*
 * Going down (reboot notifier): the notice is written once, dom0's answer
 * ends the wait; without an answer the wait ends at the deadline, never
 * later; a notice that cannot be written is retried until the deadline; and
 * nothing is announced when there is nothing to put back or nobody offered
 * the feature. After begin, no request is taken on.
 */
static void test_shutdown_notice(void)
{
	struct fake *fx = fake_grown_with_notice(5000, true);
	unsigned int polls;
	uint64_t start;

	CHECK_EQ(hotmem_core_shutdown_begin(&fx->core, HOTMEM_SHUTDOWN_REBOOT), 1);
	CHECK_EQ(hotmem_core_shutdown_poll(&fx->core), (int)HOTMEM_SHUTDOWN_POLL_MS);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/shutdown"), "reboot");
	CHECK_EQ(fake_writes_of(fx, "hotmem/guest/shutdown"), 1);
	/* A request now is not taken on: the guest is going down. */
	fake_request(fx, "2 grow 1 1");
	CHECK_EQ(fx->nr_add, 1);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/ack"), "1 ok 1");
	/* An answer to something else is no answer. */
	fake_set(fx, "hotmem/shutdown-ack", "poweroff", -1);
	fx->now_ms += 100;
	CHECK_EQ(hotmem_core_shutdown_poll(&fx->core), (int)HOTMEM_SHUTDOWN_POLL_MS);
	fake_set(fx, "hotmem/shutdown-ack", "reboot", -1);
	fx->now_ms += 50;
	CHECK_EQ(hotmem_core_shutdown_poll(&fx->core), 0);
	CHECK_EQ(fx->events[HOTMEM_EVENT_SHUTDOWN], 1);
	CHECK_EQ(fx->last[HOTMEM_EVENT_SHUTDOWN].err, 0);
	CHECK_EQ(fx->last[HOTMEM_EVENT_SHUTDOWN].elapsed_ms, 150);
	CHECK_EQ(fx->last[HOTMEM_EVENT_SHUTDOWN].shutdown, HOTMEM_SHUTDOWN_REBOOT);
	CHECK_EQ(fake_writes_of(fx, "hotmem/guest/shutdown"), 1);
	/* Called again: the same outcome, nothing written, no second event. */
	CHECK_EQ(hotmem_core_shutdown_poll(&fx->core), 0);
	CHECK_EQ(hotmem_core_shutdown_begin(&fx->core, HOTMEM_SHUTDOWN_REBOOT), 0);
	CHECK_EQ(fx->events[HOTMEM_EVENT_SHUTDOWN], 1);
	free(fx);

	/* dom0 never answers: the wait ends at the deadline, not a poll later. */
	fx = fake_grown_with_notice(5000, true);
	start = fx->now_ms;
	CHECK_EQ(hotmem_core_shutdown_begin(&fx->core, HOTMEM_SHUTDOWN_POWEROFF), 1);
	CHECK_EQ(fake_shutdown_wait(fx, &polls), -ETIMEDOUT);
	CHECK_EQ(fx->now_ms - start, 5000);
	CHECK_EQ(polls, 5000 / HOTMEM_SHUTDOWN_POLL_MS);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/shutdown"), "poweroff");
	CHECK_EQ(fx->last[HOTMEM_EVENT_SHUTDOWN].err, -ETIMEDOUT);
	CHECK_EQ(fx->last[HOTMEM_EVENT_SHUTDOWN].elapsed_ms, 5000);
	CHECK_EQ(hotmem_core_shutdown_poll(&fx->core), -ETIMEDOUT);
	free(fx);

	/* A deadline that is not a whole number of polls is still kept. */
	fx = fake_grown_with_notice(250, true);
	start = fx->now_ms;
	CHECK_EQ(hotmem_core_shutdown_begin(&fx->core, HOTMEM_SHUTDOWN_HALT), 1);
	CHECK_EQ(fake_shutdown_wait(fx, &polls), -ETIMEDOUT);
	CHECK_EQ(fx->now_ms - start, 250);
	free(fx);

	/* xenstore busy: the notice is written again until it is out, then answered. */
	fx = fake_grown_with_notice(5000, true);
	fx->write_fault_key = "hotmem/guest/shutdown";
	fake_fault_set(&fx->write_fault, -EAGAIN, 3);
	CHECK_EQ(hotmem_core_shutdown_begin(&fx->core, HOTMEM_SHUTDOWN_REBOOT), 1);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(hotmem_core_shutdown_poll(&fx->core), (int)HOTMEM_SHUTDOWN_POLL_MS);
		fx->now_ms += HOTMEM_SHUTDOWN_POLL_MS;
	}
	CHECK_EQ(fx->write_fault.fired, 3);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/shutdown"), "(absent)");
	CHECK_EQ(hotmem_core_shutdown_poll(&fx->core), (int)HOTMEM_SHUTDOWN_POLL_MS);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/shutdown"), "reboot");
	fake_set(fx, "hotmem/shutdown-ack", "reboot", -1);
	CHECK_EQ(hotmem_core_shutdown_poll(&fx->core), 0);
	free(fx);

	/* A notice that can never be written: gone at the deadline, not later. */
	fx = fake_grown_with_notice(1000, true);
	fx->write_fault_key = "hotmem/guest/shutdown";
	fake_fault_set(&fx->write_fault, -ENOMEM, -1);
	start = fx->now_ms;
	CHECK_EQ(hotmem_core_shutdown_begin(&fx->core, HOTMEM_SHUTDOWN_REBOOT), 1);
	CHECK_EQ(fake_shutdown_wait(fx, &polls), -ETIMEDOUT);
	CHECK_EQ(fx->now_ms - start, 1000);
	/* ...and one that fails for good ends the wait at once. */
	free(fx);
	fx = fake_grown_with_notice(1000, true);
	fx->write_fault_key = "hotmem/guest/shutdown";
	fake_fault_set(&fx->write_fault, -EACCES, -1);
	CHECK_EQ(hotmem_core_shutdown_begin(&fx->core, HOTMEM_SHUTDOWN_REBOOT), 1);
	CHECK_EQ(hotmem_core_shutdown_poll(&fx->core), -EACCES);
	CHECK_EQ(fx->last[HOTMEM_EVENT_SHUTDOWN].elapsed_ms, 0);
	free(fx);

	/* Not offered by dom0 (an older toolstack): nothing written, no wait. */
	fx = fake_grown_with_notice(5000, false);
	CHECK(!(fx->core.features & HOTMEM_FEATURE_REBOOT_NOTICE));
	CHECK_EQ(hotmem_core_shutdown_begin(&fx->core, HOTMEM_SHUTDOWN_REBOOT), 0);
	CHECK_EQ(hotmem_core_shutdown_poll(&fx->core), 0);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/shutdown"), "(absent)");
	free(fx);

	/* Turned off in the guest (reboot_notice_ms=0): not listed, never used. */
	fx = fake_grown_with_notice(0, true);
	CHECK_EQ(hotmem_core_shutdown_begin(&fx->core, HOTMEM_SHUTDOWN_REBOOT), 0);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/shutdown"), "(absent)");
	free(fx);

	/* Holding no block: nothing of dom0's to put back, no wait. */
	fx = fake_grown_with_notice(5000, true);
	fake_request(fx, "2 shrink 1");
	CHECK_STREQ(fake_get(fx, "hotmem/guest/blocks"), "");
	CHECK_EQ(hotmem_core_shutdown_begin(&fx->core, HOTMEM_SHUTDOWN_REBOOT), 0);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/shutdown"), "(absent)");
	free(fx);
}

int main(void)
{
	test_handshake();
	test_handshake_window_later();
	test_handshake_newer_toolstack();
	test_handshake_hostile();
	test_grow();
	test_requests_hostile();
	test_shrink_newest_first();
	test_books_usable_only();
	test_populated_blocks();
	test_shrink_busy();
	test_add_failures();
	test_online_failures();
	test_balloon_busy();
	test_superseded();
	test_superseded_before_start();
	test_features_refused();
	test_geometry();
	test_reload();
	test_reload_adopts_only_listed();
	test_ack_write_retried();
	test_reattach();
	test_xenstore_failure();
	test_stats();
	test_close();
	test_psi();
	test_meminfo_swap();
	test_stats_swap();
	test_kernel_block_when_short();
	test_reload_kernel_block();
	test_names();
	test_shutdown_notice();
	return check_exit("test_driver_core");
}
