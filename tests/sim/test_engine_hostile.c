/*
 * A guest that misbehaves can only hurt itself. Each misbehaviour mode of the
 * simulated guest (never acking, acking errors, acking half a grow, lying about a
 * shrink both ways, acking the wrong seq, going broken) runs on one domain
 * while a well-behaved neighbour grows and shrinks next to it; the result
 * codes must say what happened, the records must equal the hypervisor's for
 * both after every step, and a guest that comes back to its senses must get
 * its outstanding request finished. Then hostile bytes go into every key the
 * guest may write (malformed, non-canonical, oversized, inconsistent,
 * 4096 bytes, embedded NULs): nothing is granted on the strength of them,
 * the neighbour is unaffected, and the domain works again once the guest
 * republishes. Writes to every toolstack key and to the journal must fail by
 * xenstore permissions, and a watch flood must not make dom0 read more than
 * once per batch.
 */
#include <stdlib.h>

#include "check.h"
#include "engine_harness.h"

#define MIB   (1ull << 20)
#define BLOCK (4 * MIB)

static struct harness h;
static uint32_t victim, neighbour;

static void world(void)
{
	struct sim_guest_params gp = { .block_size = BLOCK, .memmap_bytes = 64 * 1024 };
	struct hotmem_attach_params ap = { .window_bytes = 32 * BLOCK };

	harness_init(&h, 0);
	victim = harness_add_guest(&h, "victim", 64 * 256, &gp, &ap);
	neighbour = harness_add_guest(&h, "neighbour", 64 * 256, &gp, &ap);
}

/* The neighbour grows and shrinks undisturbed. */
static void neighbour_works(const char *context)
{
	struct hotmem_result res;

	CHECK_EQ(harness_op(&h, neighbour, HOTMEM_OP_KIND_GROW, 2 * BLOCK, &res), 0);
	CHECK_EQ(harness_op(&h, neighbour, HOTMEM_OP_KIND_SHRINK, 2 * BLOCK, &res), 0);
	CHECK_EQ(harness_check(&h, context), 0);
}

static void test_modes(void)
{
	struct hotmem_domain_info info;
	struct hotmem_result res;
	struct sim_guest *g;
	struct sim_guest_stats fs;
	struct hotmem_counters counters;

	world();
	g = harness_guest(&h, victim);
	CHECK_EQ(harness_op(&h, victim, HOTMEM_OP_KIND_GROW, 4 * BLOCK, &res), 0); /* 0-3 */

	/* Error ack: nothing added, every head given back. */
	sim_guest_set_mode(g, SG_ACK_ERROR);
	CHECK_EQ(harness_op(&h, victim, HOTMEM_OP_KIND_GROW, 3 * BLOCK, &res), -EREMOTEIO);
	CHECK(res.have_ack && res.guest_status == HOTMEM_STATUS_ERROR);
	CHECK_EQ(res.blocks_done, 0);
	CHECK_EQ(res.pages_reclaimed, 3 * 16);
	CHECK_EQ(harness_check(&h, "ack-error grow"), 0);
	CHECK_EQ(harness_op(&h, victim, HOTMEM_OP_KIND_SHRINK, BLOCK, &res), -EREMOTEIO);
	CHECK_EQ(res.blocks_done, 0);
	CHECK_EQ(harness_check(&h, "ack-error shrink"), 0);
	neighbour_works("ack-error neighbour");

	/* Partial: half added and recorded, the rest given back. */
	sim_guest_set_mode(g, SG_ACK_PARTIAL);
	CHECK_EQ(harness_op(&h, victim, HOTMEM_OP_KIND_GROW, 4 * BLOCK, &res), -EREMOTEIO);
	CHECK(res.guest_status == HOTMEM_STATUS_PARTIAL && res.guest_done == 2);
	CHECK_EQ(res.blocks_done, 2); /* 4-5 */
	CHECK_EQ(res.usable_bytes_done, 2 * (BLOCK - 64 * 1024));
	CHECK_EQ(res.pages_reclaimed, 2 * 16);
	CHECK(res.fill_complete);
	CHECK_EQ(harness_check(&h, "partial"), 0);

	/* Silent: times out, stays outstanding, blocks the domain, not the host. */
	sim_guest_set_mode(g, SG_SILENT);
	CHECK_EQ(harness_op(&h, victim, HOTMEM_OP_KIND_GROW, 2 * BLOCK, &res), -ETIMEDOUT);
	CHECK_EQ(res.seq, 5);
	CHECK(!res.have_ack);
	CHECK_EQ(hotmem_domain_info(h.hm, victim, &info), 0);
	CHECK(info.outstanding && info.outstanding_seq == 5 && info.outstanding_count == 2);
	/* A new request supersedes it: seq 5's blocks wait for the guest's next ack. */
	CHECK_EQ(harness_op(&h, victim, HOTMEM_OP_KIND_GROW, BLOCK, &res), -ETIMEDOUT);
	CHECK_EQ(res.seq, 6);
	CHECK_EQ(hotmem_domain_info(h.hm, victim, &info), 0);
	CHECK(info.outstanding && info.outstanding_seq == 6 && info.outstanding_count == 1);
	CHECK(info.pending_blocks == 2 && info.pending_seq == 5);
	CHECK_EQ(hotmem_detach(h.hm, victim), -EBUSY);
	CHECK_EQ(harness_check(&h, "silent"), 0);
	neighbour_works("silent neighbour");
	/* It wakes up and answers the newest request only (seq 5 was never read):
	 * that ack settles both, seq 5's blocks unlisted, so their heads go back. */
	sim_guest_set_mode(g, SG_NORMAL);
	CHECK_EQ(harness_run(&h, NULL), 0);
	CHECK_EQ(hotmem_domain_info(h.hm, victim, &info), 0);
	CHECK(!info.outstanding);
	CHECK_EQ(info.pending_blocks, 0);
	CHECK_EQ(info.granted_blocks, 7);
	CHECK_EQ(harness_check(&h, "silent, then late ack"), 0);

	/* Wrong seq: a violation, outstanding until a proper ack. */
	sim_guest_set_mode(g, SG_WRONG_SEQ);
	CHECK_EQ(harness_op(&h, victim, HOTMEM_OP_KIND_SHRINK, BLOCK, &res), -EPROTO);
	CHECK_EQ(hotmem_domain_info(h.hm, victim, &info), 0);
	CHECK(info.outstanding && info.violation);
	CHECK_EQ(harness_check(&h, "wrong seq"), 0);
	sim_guest_set_mode(g, SG_NORMAL);
	CHECK_EQ(harness_run(&h, NULL), 0);
	CHECK_EQ(hotmem_domain_info(h.hm, victim, &info), 0);
	CHECK(!info.outstanding && !info.violation);
	CHECK_EQ(info.granted_blocks, 6);
	CHECK_EQ(harness_check(&h, "wrong seq, then fixed"), 0);

	/* Lie, keep: says it removed two, lists them still: nothing comes back. */
	sim_guest_set_mode(g, SG_LIE_KEEP);
	CHECK_EQ(harness_op(&h, victim, HOTMEM_OP_KIND_SHRINK, 2 * BLOCK, &res), -EREMOTEIO);
	CHECK(res.guest_status == HOTMEM_STATUS_OK && res.guest_done == 2);
	CHECK_EQ(res.blocks_done, 0);
	CHECK_EQ(harness_check(&h, "lie-keep"), 0);

	/* Lie, drop: unlists two but "keeps using" them: the frames go anyway. */
	sim_guest_set_mode(g, SG_LIE_DROP);
	CHECK_EQ(harness_op(&h, victim, HOTMEM_OP_KIND_SHRINK, 2 * BLOCK, &res), 0);
	CHECK_EQ(res.blocks_done, 2);
	CHECK_EQ(res.pages_reclaimed, 2 * 1024);
	CHECK_EQ(harness_check(&h, "lie-drop"), 0);
	neighbour_works("lie neighbour");

	/* Broken before acking: -ENOLINK, outstanding; destroyed: released. */
	sim_guest_set_mode(g, SG_BROKEN);
	CHECK_EQ(harness_op(&h, victim, HOTMEM_OP_KIND_GROW, BLOCK, &res), -ENOLINK);
	CHECK_EQ(hotmem_domain_info(h.hm, victim, &info), 0);
	CHECK(info.outstanding);
	CHECK_EQ(harness_check(&h, "broken"), 0);
	neighbour_works("broken neighbour");
	sim_guest_get_stats(g, &fs);
	CHECK_EQ(fs.dom0_errors, 0);
	harness_destroy_guest(&h, victim);
	CHECK_EQ(harness_run(&h, NULL), 0);
	CHECK_EQ(hotmem_domain_info(h.hm, victim, &info), -ENOENT);
	hotmem_get_counters(h.hm, &counters);
	CHECK(counters.violations >= 1);
	CHECK_EQ(counters.releases, 1);
	neighbour_works("after destroy");
	harness_fini(&h);
}

struct hostile {
	const char *key;
	const char *value;
	size_t len; /* 0: strlen */
};

static char big[2000]; /* a domU node holds at most 2048 bytes */

static const struct hostile hostile_values[] = {
	{ HOTMEM_KEY_GUEST_VERSION, "", 0 },
	{ HOTMEM_KEY_GUEST_VERSION, "0", 0 },
	{ HOTMEM_KEY_GUEST_VERSION, "01", 0 },
	{ HOTMEM_KEY_GUEST_VERSION, "2", 0 }, /* higher than offered */
	{ HOTMEM_KEY_GUEST_VERSION, "99999999999999999999999", 0 },
	{ HOTMEM_KEY_GUEST_VERSION, "1\0", 2 },
	{ HOTMEM_KEY_GUEST_FEATURES, "stats shrink", 0 },
	{ HOTMEM_KEY_GUEST_FEATURES, "shrink  stats", 0 },
	{ HOTMEM_KEY_GUEST_FEATURES, "SHRINK", 0 },
	{ HOTMEM_KEY_GUEST_FEATURES, big, sizeof(big) },
	{ HOTMEM_KEY_GUEST_BLOCK_SIZE, "0x800000", 0 }, /* valid, but not the locked size */
	{ HOTMEM_KEY_GUEST_BLOCK_SIZE, "0x400001", 0 },
	{ HOTMEM_KEY_GUEST_BLOCK_SIZE, "0X400000", 0 },
	{ HOTMEM_KEY_GUEST_BLOCK_SIZE, "0x0400000", 0 },
	{ HOTMEM_KEY_GUEST_BLOCK_SIZE, "4194304", 0 },
	{ HOTMEM_KEY_GUEST_BLOCK_SIZE, "0xffffffffffffffffff", 0 },
	{ "hotmem/guest/memmap-bytes", "0x400000", 0 }, /* the whole block */
	{ "hotmem/guest/memmap-bytes", "0x20000", 0 },	/* valid, but not the locked size */
	{ "hotmem/guest/memmap-bytes", "0x10001", 0 },
	{ "hotmem/guest/memmap-bytes", "-1", 0 },
	{ "hotmem/guest/memmap-bytes", "0x", 0 },
	{ HOTMEM_KEY_GUEST_STATE, "READY", 0 },
	{ HOTMEM_KEY_GUEST_STATE, "ready ", 0 },
	{ HOTMEM_KEY_GUEST_STATE, "readyx", 0 },
	{ HOTMEM_KEY_GUEST_STATE, "ready\0", 6 },
	{ HOTMEM_KEY_GUEST_STATE, "broken", 0 },
	{ HOTMEM_KEY_GUEST_STATE, "busy", 0 },
	{ HOTMEM_KEY_GUEST_BLOCKS, "0-4095", 0 }, /* valid: claims every block */
	{ HOTMEM_KEY_GUEST_BLOCKS, "5 3", 0 },
	{ HOTMEM_KEY_GUEST_BLOCKS, "1-2 3", 0 },
	{ HOTMEM_KEY_GUEST_BLOCKS, "4096", 0 },
	{ HOTMEM_KEY_GUEST_BLOCKS, big, sizeof(big) },
	{ HOTMEM_KEY_GUEST_ACK, "1 ok 4096", 0 },
	{ HOTMEM_KEY_GUEST_ACK, "4294967295 ok 1", 0 },
	{ HOTMEM_KEY_GUEST_ACK, "garbage", 0 },
	{ HOTMEM_KEY_GUEST_STATS, "1 2 3 4 5 6", 0 },
	{ HOTMEM_KEY_GUEST_STATS, big, sizeof(big) },
};

/* Is the key one whose garbage must stop a grow? */
static bool blocks_grow(const char *key)
{
	return strcmp(key, HOTMEM_KEY_GUEST_ACK) && strcmp(key, HOTMEM_KEY_GUEST_STATS);
}

static void test_garbage(void)
{
	struct hotmem_domain_info before, after;
	struct hotmem_result res;
	struct sim_guest *g;
	unsigned int i, points = 0;

	memset(big, 'A', sizeof(big));
	big[100] = '\0';
	world();
	g = harness_guest(&h, victim);
	CHECK_EQ(harness_op(&h, victim, HOTMEM_OP_KIND_GROW, 2 * BLOCK, &res), 0);
	for (i = 0; i < sizeof(hostile_values) / sizeof(hostile_values[0]); i++) {
		const struct hostile *hv = &hostile_values[i];
		size_t len = hv->len ? hv->len : strlen(hv->value);
		char *saved = NULL, context[96];
		int r;

		snprintf(context, sizeof(context), "%s = hostile #%u", hv->key, i);
		/* Stats were never published: saved stays NULL, restored by rm. */
		sim_guest_read(g, hv->key, &saved);
		/* xenstore itself refuses a 4096-byte value with its path: fine too. */
		r = sim_guest_write(g, hv->key, hv->value, len);
		CHECK_EQ(r, 0);
		harness_run(&h, NULL);
		hotmem_domain_info(h.hm, victim, &before);

		r = harness_op(&h, victim, HOTMEM_OP_KIND_GROW, BLOCK, &res);
		if (blocks_grow(hv->key)) {
			hotmem_domain_info(h.hm, victim, &after);
			if (after.granted_blocks != before.granted_blocks ||
			    (r != -EPROTO && r != -EAGAIN && r != -ENOSPC)) {
				fprintf(stderr, "  [%s] grow: %d, granted %u -> %u\n", context, r,
					before.granted_blocks, after.granted_blocks);
				CHECK(!"hostile value let a grow through");
			}
		}
		if (r < 0 && r != -EPROTO && r != -EAGAIN && r != -ENOSPC && r != -EREMOTEIO)
			fprintf(stderr, "  [%s] grow: %d\n", context, r);
		CHECK_EQ(harness_check(&h, context), 0);
		neighbour_works(context);

		/* The guest republishes; the domain works again. */
		if (saved)
			CHECK_EQ(sim_guest_write(g, hv->key, saved, strlen(saved)), 0);
		else
			CHECK_EQ(sim_guest_rm(g, hv->key), 0);
		free(saved);
		sim_guest_set_mode(g, SG_NORMAL);
		harness_run(&h, NULL);
		hotmem_domain_info(h.hm, victim, &after);
		if (after.outstanding) {
			/* A request sent while the key lied: the guest answers it now. */
			sim_guest_set_mode(g, SG_NORMAL);
			harness_run(&h, NULL);
		}
		CHECK_EQ(harness_op(&h, victim, HOTMEM_OP_KIND_SET, 2 * BLOCK, &res), 0);
		CHECK_EQ(harness_check(&h, "republished"), 0);
		points++;
	}
	printf("hostile values tried: %u\n", points);
	harness_fini(&h);
}

static void test_permissions_and_flood(void)
{
	static const char *const toolstack_keys[] = {
		HOTMEM_KEY_DIR,	   HOTMEM_KEY_VERSION, HOTMEM_KEY_FEATURES,
		HOTMEM_KEY_WINDOW, HOTMEM_KEY_REQUEST, HOTMEM_KEY_STATS_INTERVAL,
		"hotmem/new-key",  "memory/target",    "memory/static-max",
	};
	struct hotmem_operation *op = NULL;
	struct hotmem_result res;
	struct sim_guest *g;
	char path[128], *value = NULL;
	uint64_t reads_before, reads;
	unsigned int i;

	world();
	g = harness_guest(&h, victim);
	CHECK_EQ(harness_op(&h, victim, HOTMEM_OP_KIND_GROW, BLOCK, &res), 0);
	for (i = 0; i < sizeof(toolstack_keys) / sizeof(toolstack_keys[0]); i++) {
		CHECK_EQ(sim_guest_write(g, toolstack_keys[i], "1", 1), -EACCES);
		if (i)
			CHECK_EQ(sim_guest_rm(g, toolstack_keys[i]), -EACCES);
	}
	CHECK_EQ(sim_guest_rm(g, HOTMEM_KEY_DIR), -EACCES);
	snprintf(path, sizeof(path), HOTMEM_DEFAULT_JOURNAL_DIR "/%u/granted", victim);
	CHECK_EQ(sim_guest_write(g, path, "f", 1), -EACCES);
	CHECK_EQ(sim_guest_read(g, path, &value), -EACCES);
	snprintf(path, sizeof(path), "/local/domain/%u/hotmem/guest/state", neighbour);
	CHECK_EQ(sim_guest_write(g, path, "broken", 6), -EACCES);
	snprintf(path, sizeof(path), "/local/domain/%u/hotmem/request", neighbour);
	CHECK_EQ(sim_guest_read(g, path, &value), -EACCES);
	neighbour_works("permissions");

	/*
	 * A flood of 2000 writes while a request waits for its ack is one
	 * batch for dom0: one transaction's worth of reads (8 keys), not 2000.
	 */
	sim_guest_set_mode(g, SG_SILENT);
	CHECK_EQ(hotmem_op_start(h.hm, victim, HOTMEM_OP_KIND_GROW, BLOCK, &op), 0);
	for (i = 0; i < 20; i++) {
		sim_guest_step(g);
		hotmem_dispatch(h.hm);
	}
	for (i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "%u 1 1 0 0", i);
		sim_guest_write(g, HOTMEM_KEY_GUEST_STATS, path, strlen(path));
	}
	reads_before = hv_sim_op_calls(h.sim, HV_SIM_OP_XS_READ);
	CHECK_EQ(hotmem_dispatch(h.hm), 0);
	reads = hv_sim_op_calls(h.sim, HV_SIM_OP_XS_READ) - reads_before;
	CHECK(reads > 0 && reads <= 16);
	sim_guest_set_mode(g, SG_NORMAL);
	CHECK_EQ(harness_run(&h, op), 0);
	CHECK_EQ(hotmem_op_result(op, &res), 0);
	CHECK_EQ(res.error, 0);
	hotmem_op_free(op);
	harness_run(&h, NULL);

	/* The guest deletes its own directory: not ready, nothing breaks. */
	CHECK_EQ(sim_guest_rm(g, HOTMEM_KEY_GUEST_DIR), 0);
	harness_run(&h, NULL);
	CHECK_EQ(harness_op(&h, victim, HOTMEM_OP_KIND_GROW, BLOCK, &res), -EAGAIN);
	CHECK_EQ(sim_guest_write(g, HOTMEM_KEY_GUEST_STATE, "ready", 5), -EACCES);
	CHECK_EQ(harness_check(&h, "guest dir gone"), 0);
	neighbour_works("guest dir gone");
	harness_fini(&h);
}

int main(void)
{
	test_modes();
	test_garbage();
	test_permissions_and_flood();
	return check_exit("test_engine_hostile");
}
