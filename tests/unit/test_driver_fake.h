/*
 * A fake platform for the guest driver's core (guest-driver/core): an
 * in-memory xenstore with a write journal, a fake kernel that remembers which
 * blocks are added and online and in which zone, the balloon's books, a clock
 * the test advances, and failure injection for every op. Shared by the
 * test_driver_*.c programs; header-only so each test is one translation unit.
 */
#ifndef HOTMEM_TEST_DRIVER_FAKE_H
#define HOTMEM_TEST_DRIVER_FAKE_H

#include <stdarg.h>
#include <stdlib.h>

#include "check.h"
#include "hotmem_core.h"

#define FAKE_KEYS	 32
#define FAKE_JOURNAL	 256
#define FAKE_BLOCKS	 64
#define FAKE_WINDOW_BASE 0x880000000ull

/* An injected failure: after `after` good calls, `count` calls fail with rc (-1: forever). */
struct fake_fault {
	int rc;
	int count;
	int after;
	unsigned int fired; /* calls failed since it was set: tests assert it */
};

struct fake_key {
	char key[64];
	char value[HOTMEM_XS_VALUE_MAX + 1];
	size_t len;
	bool present;
};

struct fake_block {
	bool added;
	bool online;
	bool memmap_on_memory;	   /* as added */
	enum hotmem_zone add_zone; /* the zone add_block() was told */
	enum hotmem_zone zone;
};

struct fake {
	struct hotmem_core core;
	struct hotmem_core_config cfg;
	struct hotmem_guest_mm mm;
	struct fake_key keys[FAKE_KEYS];
	char journal[FAKE_JOURNAL][64]; /* keys in write order */
	unsigned int nr_journal;
	struct fake_block blocks[FAKE_BLOCKS];
	int64_t balloon_total, balloon_current, balloon_target;
	/* Kernel zones' free bytes above min: each add takes add_cost of them,
	 * each online into a kernel zone gives the block's usable bytes. */
	int64_t headroom, add_cost;
	int headroom_err; /* kernel_headroom() fails with it when non-zero */
	unsigned int nr_headroom_reads;
	uint64_t now_ms;
	bool pluggable;
	struct fake_fault add_fault, online_fault, offline_fault, account_fault, write_fault;
	const char *write_fault_key; /* NULL: any key */
	enum hotmem_probe probe[FAKE_BLOCKS];
	unsigned int nr_add, nr_online, nr_offline, nr_account, nr_stats_reads;
	unsigned int events[HOTMEM_EVENT_TYPE_COUNT];
	struct hotmem_event last[HOTMEM_EVENT_TYPE_COUNT];
	struct hotmem_stats stats; /* what read_stats returns */
	char acks[16][32];	   /* every H/guest/ack written, in order */
	unsigned int nr_acks;
	uint64_t waited_ms;  /* sum of step delays the runner slept */
	uint32_t delays[64]; /* the first non-zero delays */
	unsigned int nr_delays;
};

static struct fake_key *fake_key_find(struct fake *fx, const char *key, bool create)
{
	unsigned int i;

	for (i = 0; i < FAKE_KEYS; i++)
		if (fx->keys[i].present && strcmp(fx->keys[i].key, key) == 0)
			return &fx->keys[i];
	if (!create)
		return NULL;
	for (i = 0; i < FAKE_KEYS; i++) {
		if (!fx->keys[i].present) {
			snprintf(fx->keys[i].key, sizeof(fx->keys[i].key), "%s", key);
			fx->keys[i].present = true;
			return &fx->keys[i];
		}
	}
	abort();
}

/* Set a key as the toolstack would (not journalled). len < 0: strlen. */
static void fake_set(struct fake *fx, const char *key, const char *value, int len)
{
	struct fake_key *k = fake_key_find(fx, key, true);

	k->len = len < 0 ? strlen(value) : (size_t)len;
	memcpy(k->value, value, k->len);
	k->value[k->len] = '\0';
}

/* Value of a key, or "(absent)". */
static const char *fake_get(struct fake *fx, const char *key)
{
	struct fake_key *k = fake_key_find(fx, key, false);

	return k ? k->value : "(absent)";
}

/* Position of the last write of key in the journal, -1 if never written. */
static int fake_last_write(struct fake *fx, const char *key)
{
	int i;

	for (i = (int)fx->nr_journal - 1; i >= 0; i--)
		if (strcmp(fx->journal[i], key) == 0)
			return i;
	return -1;
}

static int fake_writes_of(struct fake *fx, const char *key)
{
	unsigned int i;
	int n = 0;

	for (i = 0; i < fx->nr_journal; i++)
		n += strcmp(fx->journal[i], key) == 0;
	return n;
}

static bool fake_fault_fires(struct fake_fault *fault, int *ret_rc)
{
	if (!fault->count)
		return false;
	if (fault->after > 0) {
		fault->after--;
		return false;
	}
	if (fault->count > 0)
		fault->count--;
	fault->fired++;
	*ret_rc = fault->rc;
	return true;
}

static void fake_fault_set(struct fake_fault *fault, int rc, int count)
{
	fault->rc = rc;
	fault->count = count;
	fault->after = 0;
	fault->fired = 0;
}

/* Let `after` calls pass, then fail `count` of them with rc. */
static void fake_fault_after(struct fake_fault *fault, int after, int rc, int count)
{
	fake_fault_set(fault, rc, count);
	fault->after = after;
}

static int fake_block_of(struct fake *fx, uint64_t start, uint64_t size)
{
	uint64_t block_size = fx->mm.geo.block_size;
	uint64_t index;

	if (start < FAKE_WINDOW_BASE || size != block_size || (start - FAKE_WINDOW_BASE) % size)
		abort(); /* the core must only ever name whole window blocks */
	index = (start - FAKE_WINDOW_BASE) / block_size;
	if (index >= FAKE_BLOCKS)
		abort();
	return (int)index;
}

static int fake_xs_read(void *ctx, const char *key, char *buf, size_t size, size_t *ret_len)
{
	struct fake *fx = ctx;
	struct fake_key *k = fake_key_find(fx, key, false);

	if (!k)
		return -ENOENT;
	if (k->len > size - 1)
		return -E2BIG;
	memcpy(buf, k->value, k->len);
	buf[k->len] = '\0';
	*ret_len = k->len;
	return 0;
}

static int fake_xs_write(void *ctx, const char *key, const char *value, size_t len)
{
	struct fake *fx = ctx;
	int rc;

	if ((!fx->write_fault_key || strcmp(fx->write_fault_key, key) == 0) &&
	    fake_fault_fires(&fx->write_fault, &rc))
		return rc;
	CHECK(strncmp(key, "hotmem/guest/", 13) == 0); /* the guest writes only its own keys */
	CHECK(len <= HOTMEM_XS_VALUE_MAX);
	fake_set(fx, key, value, (int)len);
	if (strcmp(key, "hotmem/guest/ack") == 0 && fx->nr_acks < 16)
		snprintf(fx->acks[fx->nr_acks++], sizeof(fx->acks[0]), "%.*s", (int)len, value);
	if (fx->nr_journal < FAKE_JOURNAL)
		snprintf(fx->journal[fx->nr_journal++], sizeof(fx->journal[0]), "%s", key);
	return 0;
}

static int fake_mm_info(void *ctx, struct hotmem_guest_mm *ret_mm)
{
	struct fake *fx = ctx;

	*ret_mm = fx->mm;
	return 0;
}

static bool fake_range_pluggable(void *ctx, uint64_t start, uint64_t size)
{
	struct fake *fx = ctx;

	return fx->pluggable;
}

static int fake_probe_block(void *ctx, uint64_t start, uint64_t size, enum hotmem_probe *ret_probe)
{
	struct fake *fx = ctx;
	int b = fake_block_of(fx, start, size);

	*ret_probe = fx->probe[b];
	if (fx->probe[b] != HOTMEM_PROBE_ABSENT) {
		fx->blocks[b].added = true;
		fx->blocks[b].online = fx->probe[b] != HOTMEM_PROBE_OFFLINE;
		fx->blocks[b].zone = fx->probe[b] == HOTMEM_PROBE_ONLINE_KERNEL
					     ? HOTMEM_ZONE_KERNEL
					     : HOTMEM_ZONE_MOVABLE;
	}
	return 0;
}

static int fake_add_block(void *ctx, uint64_t start, uint64_t size, bool memmap_on_memory,
			  enum hotmem_zone zone)
{
	struct fake *fx = ctx;
	int b = fake_block_of(fx, start, size), rc;

	fx->nr_add++;
	CHECK(!fx->blocks[b].added);
	if (fake_fault_fires(&fx->add_fault, &rc))
		return rc;
	fx->blocks[b].added = true;
	fx->blocks[b].memmap_on_memory = memmap_on_memory;
	fx->blocks[b].add_zone = zone;
	fx->headroom -= fx->add_cost;
	return 0;
}

static int fake_online_block(void *ctx, uint64_t start, uint64_t size, enum hotmem_zone zone)
{
	struct fake *fx = ctx;
	int b = fake_block_of(fx, start, size), rc;

	fx->nr_online++;
	CHECK(fx->blocks[b].added && !fx->blocks[b].online);
	if (fake_fault_fires(&fx->online_fault, &rc))
		return rc;
	fx->blocks[b].online = true;
	fx->blocks[b].zone = zone;
	if (zone == HOTMEM_ZONE_KERNEL)
		fx->headroom += (int64_t)(size - fx->core.memmap_bytes);
	return 0;
}

static int fake_offline_and_remove_block(void *ctx, uint64_t start, uint64_t size)
{
	struct fake *fx = ctx;
	int b = fake_block_of(fx, start, size), rc;

	fx->nr_offline++;
	CHECK(fx->blocks[b].added);
	if (fake_fault_fires(&fx->offline_fault, &rc))
		return rc;
	fx->blocks[b] = (struct fake_block){ 0 };
	return 0;
}

static int fake_balloon_account(void *ctx, const struct hotmem_balloon_delta *delta, bool force)
{
	struct fake *fx = ctx;
	int rc;

	fx->nr_account++;
	if (!force && fake_fault_fires(&fx->account_fault, &rc))
		return rc;
	fx->balloon_total += delta->total_pages;
	fx->balloon_current += delta->current_pages;
	fx->balloon_target += delta->target_pages;
	return 0;
}

static int fake_kernel_headroom(void *ctx, uint64_t *ret_bytes)
{
	struct fake *fx = ctx;

	fx->nr_headroom_reads++;
	if (fx->headroom_err)
		return fx->headroom_err;
	*ret_bytes = fx->headroom > 0 ? (uint64_t)fx->headroom : 0;
	return 0;
}

static int fake_read_stats(void *ctx, struct hotmem_stats *ret_stats)
{
	struct fake *fx = ctx;

	fx->nr_stats_reads++;
	*ret_stats = fx->stats;
	return 0;
}

static uint64_t fake_now_ms(void *ctx)
{
	return ((struct fake *)ctx)->now_ms;
}

static void fake_event(void *ctx, const struct hotmem_event *event)
{
	struct fake *fx = ctx;

	CHECK((unsigned int)event->type < HOTMEM_EVENT_TYPE_COUNT);
	fx->events[event->type]++;
	fx->last[event->type] = *event;
}

static const struct hotmem_platform_ops fake_ops = {
	.xs_read = fake_xs_read,
	.xs_write = fake_xs_write,
	.mm_info = fake_mm_info,
	.range_pluggable = fake_range_pluggable,
	.probe_block = fake_probe_block,
	.add_block = fake_add_block,
	.online_block = fake_online_block,
	.offline_and_remove_block = fake_offline_and_remove_block,
	.balloon_account = fake_balloon_account,
	.kernel_headroom = fake_kernel_headroom,
	.read_stats = fake_read_stats,
	.now_ms = fake_now_ms,
	.event = fake_event,
};

/* A fresh fake: arm64 4K geometry with memmap-on-memory and a balloon. */
static struct fake *fake_new(void)
{
	struct fake *fx = calloc(1, sizeof(*fx));

	if (!fx)
		abort();
	hotmem_layout_preset(HOTMEM_GEO_ARM64_4K, &fx->mm.geo);
	fx->mm.memmap_on_memory = true;
	fx->mm.balloon_captures = true;
	fx->mm.hotremove = true;
	fx->cfg.online_zone = HOTMEM_ZONE_MOVABLE;
	fx->cfg.memmap_in_target = true;
	fx->cfg.kernel_block_when_short = true;
	fx->headroom = 64ll << 20; /* plenty: every block movable */
	fx->add_cost = 300 << 10;  /* what the lab measured per block */
	fx->cfg.retry_min_ms = 100;
	fx->cfg.retry_max_ms = 1600;
	fx->cfg.retry_limit = 3;
	fx->pluggable = true;
	fx->now_ms = 1000;
	fx->balloon_total = fx->balloon_current = fx->balloon_target = 65536;
	fx->stats = (struct hotmem_stats){ .memtotal_kib = 222072, .memavail_kib = 150000 };
	return fx;
}

/* What a v1 toolstack writes when it attaches (window of FAKE_BLOCKS 128 MiB blocks). */
static void fake_attach(struct fake *fx)
{
	char window[64];

	snprintf(window, sizeof(window), "0x%llx 0x%llx", FAKE_WINDOW_BASE,
		 (unsigned long long)FAKE_BLOCKS << 27);
	fake_set(fx, "hotmem/version", "1", -1);
	fake_set(fx, "hotmem/features",
		 "memmap-on-memory online-movable shrink stats target-blocks", -1);
	fake_set(fx, "hotmem/window", window, -1);
	fake_set(fx, "hotmem/stats-interval-ms", "0", -1);
}

/*
 * Run steps until idle (or max_steps), sleeping on the fake clock for every
 * delay the core asks for. Returns the number of steps taken.
 */
static unsigned int fake_run(struct fake *fx, unsigned int max_steps)
{
	unsigned int steps = 0;
	uint32_t delay;

	while (steps < max_steps) {
		delay = hotmem_core_step(&fx->core);
		steps++;
		if (delay == HOTMEM_STEP_IDLE)
			break;
		if (delay) {
			if (fx->nr_delays < 64)
				fx->delays[fx->nr_delays++] = delay;
			fx->now_ms += delay;
			fx->waited_ms += delay;
		}
	}
	return steps;
}

/* Deliver a value of H/request as the watch callback would, then run. */
static void fake_request(struct fake *fx, const char *text)
{
	struct hotmem_inbox inbox = { 0 };

	fake_set(fx, "hotmem/request", text, -1);
	hotmem_inbox_parse_request(&inbox, text, strlen(text));
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 1000);
}

/* fake_new + init + attach + handshake; checks it reached "ready". */
static struct fake *fake_ready(void)
{
	struct fake *fx = fake_new();
	struct hotmem_inbox inbox = { 0 };

	CHECK_EQ(hotmem_core_init(&fx->core, &fake_ops, fx, &fx->cfg), 0);
	fake_attach(fx);
	hotmem_inbox_toolstack_changed(&inbox);
	hotmem_core_deliver(&fx->core, &inbox);
	fake_run(fx, 100);
	CHECK_STREQ(fake_get(fx, "hotmem/guest/state"), "ready");
	return fx;
}

#endif /* HOTMEM_TEST_DRIVER_FAKE_H */
