/*
 * Many domains from one loop, the way hotmemd will run the engine: 40 guests
 * of mixed block sizes (2, 4, 16 and 128 MiB, heads with and without 2 MiB
 * extents, one without a self-hosted memmap), a fifth of them misbehaving,
 * each with a non-blocking operation started at once and all of them driven
 * by hotmem_dispatch() alone. Rounds of random grow, shrink and set (a fixed
 * seed: every run is the same) interleave with guests changing behaviour,
 * domains being destroyed and created, and the engine being killed with
 * operations in flight and restarted. After every round the records of every
 * domain must equal the hypervisor's, and at the end the host must have
 * every frame back once all domains are gone. Every start and every result
 * is checked against what the guest's behaviour allows (op_result_ok()), and
 * most operations must succeed.
 */
#include <stdlib.h>

#include "check.h"
#include "engine_harness.h"

#define MIB    (1ull << 20)
#define GUESTS 40
#define ROUNDS 12

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static const struct sim_guest_params kinds[] = {
	{ .block_size = 2 * MIB, .memmap_bytes = 32 * 1024 },
	{ .block_size = 4 * MIB, .memmap_bytes = 64 * 1024 },
	{ .block_size = 16 * MIB, .memmap_bytes = 2 * MIB },
	{ .block_size = 128 * MIB, .memmap_bytes = 2 * MIB },
	{ .block_size = 4 * MIB, .memmap_bytes = SG_MEMMAP_NONE },
};

static const enum sim_guest_mode bad_modes[] = {
	SG_SILENT, SG_ACK_ERROR, SG_ACK_PARTIAL, SG_LIE_KEEP, SG_LIE_DROP, SG_WRONG_SEQ,
};

struct slot {
	uint32_t domid;
	uint64_t block_size;
	struct hotmem_operation *op;
	unsigned int created;
	enum sim_guest_mode mode; /* how the guest behaves during op */
	enum hotmem_op_kind kind; /* what op is */
};

static struct harness h;
static struct slot slots[GUESTS];
static unsigned int created, ops_started, ops_ok, ops_failed, ops_refused, restarts, deaths;
static unsigned int ops_normal, ops_normal_ok;

static void create_slot(struct slot *s)
{
	const struct sim_guest_params *kind = &kinds[rnd(sizeof(kinds) / sizeof(kinds[0]))];
	struct hotmem_attach_params ap = { .window_bytes = 16 * kind->block_size };
	char name[32];

	snprintf(name, sizeof(name), "guest-%u", created++);
	s->domid = harness_add_guest(&h, name, (32 + rnd(4) * 32) * 256, kind, &ap);
	s->block_size = kind->block_size;
	s->op = NULL;
}

/* Start a random operation on every idle domain. */
static void start_all(void)
{
	unsigned int i;

	for (i = 0; i < GUESTS; i++) {
		struct slot *s = &slots[i];
		enum hotmem_op_kind kind = (enum hotmem_op_kind)(1 + rnd(3));
		uint64_t bytes = (1 + rnd(4)) * s->block_size - rnd(2) * 4096;
		int rc;

		if (s->op)
			continue;
		if (kind == HOTMEM_OP_KIND_SET)
			bytes = rnd(8) * s->block_size;
		rc = hotmem_op_start(h.hm, s->domid, kind, bytes, &s->op);
		if (rc == 0) {
			ops_started++;
			s->kind = kind;
			continue;
		}
		/* The only refusal: a shrink by more than the domain holds. */
		s->op = NULL;
		ops_refused++;
		if (kind != HOTMEM_OP_KIND_SHRINK || rc != -ERANGE) {
			fprintf(stderr, "  d%u: start of op %d (%llu bytes) refused: %d\n",
				s->domid, kind, (unsigned long long)bytes, rc);
			CHECK(false);
		}
	}
}

/*
 * What a result may be, given how the guest behaved (hotmem.h's contract for
 * struct hotmem_result, narrowed by the sim guest's mode).
 */
static bool op_result_ok(enum sim_guest_mode mode, enum hotmem_op_kind kind,
			 const struct hotmem_result *res)
{
	if (res->error == 0)
		return res->blocks_done == res->blocks_requested;
	if (res->blocks_requested == 0)
		return false; /* nothing to do cannot fail */
	if (res->error == -EREMOTEIO &&
	    (!res->have_ack || res->blocks_done >= res->blocks_requested))
		return false; /* "fewer blocks than asked", by the guest's own ack */
	switch (mode) {
	case SG_NORMAL:
		/* It may refuse a block an earlier liar left behind (inval). */
		return res->error == -EREMOTEIO && res->guest_status != HOTMEM_STATUS_OK;
	case SG_SILENT:
		return res->error == -ETIMEDOUT && res->blocks_done == 0;
	case SG_ACK_ERROR:
		return res->error == -EREMOTEIO && res->blocks_done == 0;
	case SG_ACK_PARTIAL:
		return res->error == -EREMOTEIO && (kind != HOTMEM_OP_KIND_SHRINK);
	case SG_WRONG_SEQ:
		return res->error == -EPROTO;
	case SG_LIE_DROP:
	case SG_LIE_KEEP:
		/* Caught or not, by the records check after the round. */
		return res->error == -EREMOTEIO || res->error == -EPROTO;
	default:
		return false;
	}
}

/* Collect finished operations. */
static void reap(void)
{
	unsigned int i;

	for (i = 0; i < GUESTS; i++) {
		struct hotmem_result res;

		if (!slots[i].op || !hotmem_op_done(slots[i].op))
			continue;
		CHECK_EQ(hotmem_op_result(slots[i].op, &res), 0);
		if (!op_result_ok(slots[i].mode, slots[i].kind, &res)) {
			fprintf(stderr,
				"  d%u (guest %s): op %d ended %d with %u/%u blocks, status %s\n",
				slots[i].domid, sim_guest_mode_name(slots[i].mode), slots[i].kind,
				res.error, res.blocks_done, res.blocks_requested,
				res.have_ack ? hotmem_status_token(res.guest_status) : "(no ack)");
			CHECK(false);
		}
		if (slots[i].mode == SG_NORMAL) {
			ops_normal++;
			ops_normal_ok += res.error == 0;
		}
		if (res.error)
			ops_failed++;
		else
			ops_ok++;
		hotmem_op_free(slots[i].op);
		slots[i].op = NULL;
	}
}

/* Drive everything until every operation is done and nothing moves. */
static void drive(void)
{
	unsigned int spins;

	for (spins = 0; spins < 100; spins++) {
		unsigned int i, busy = 0;

		harness_run(&h, NULL);
		reap();
		for (i = 0; i < GUESTS; i++)
			busy += slots[i].op != NULL;
		if (!busy)
			return;
	}
	CHECK(!"operations never finished");
}

static void mischief(void)
{
	unsigned int i;

	for (i = 0; i < GUESTS; i++) {
		struct sim_guest *g = harness_guest(&h, slots[i].domid);
		enum sim_guest_mode mode = SG_NORMAL;

		if (rnd(5) == 0)
			mode = bad_modes[rnd(sizeof(bad_modes) / sizeof(bad_modes[0]))];
		sim_guest_set_mode(g, mode);
		slots[i].mode = mode;
	}
}

static void heal(void)
{
	unsigned int i;

	for (i = 0; i < GUESTS; i++) {
		sim_guest_set_mode(harness_guest(&h, slots[i].domid), SG_NORMAL);
		slots[i].mode = SG_NORMAL;
	}
	harness_run(&h, NULL);
}

int main(void)
{
	struct hotmem_reconcile_report report;
	struct hv_physinfo before, after;
	uint32_t ids[GUESTS + 8];
	size_t count = 0;
	struct hv *dom0 = NULL;
	unsigned int round, i;
	char context[64];

	harness_init(&h, 48ull << 18);
	hv_sim_open(h.sim, 0, &dom0);
	dom0->ops->physinfo(dom0, &before);
	for (i = 0; i < GUESTS; i++)
		create_slot(&slots[i]);
	CHECK_EQ(hotmem_list(h.hm, ids, GUESTS + 8, &count), 0);
	CHECK_EQ(count, GUESTS);

	for (round = 0; round < ROUNDS; round++) {
		mischief();
		start_all();
		if (round % 4 == 3) {
			/* The daemon dies with operations in flight. */
			unsigned int steps;

			for (steps = 0; steps < 1 + rnd(40); steps++) {
				for (i = 0; i < h.nr_guests; i++)
					sim_guest_step(h.guests[i]);
				hotmem_dispatch(h.hm);
			}
			for (i = 0; i < GUESTS; i++)
				slots[i].op = NULL; /* the handles died with it */
			heal();
			CHECK_EQ(harness_restart(&h, 0, &report), 0);
			CHECK_EQ(report.domains, GUESTS);
			restarts++;
		}
		drive();
		heal();
		drive();
		snprintf(context, sizeof(context), "round %u", round);
		CHECK_EQ(harness_check(&h, context), 0);

		/* A couple of domains go away and new ones come. */
		for (i = 0; i < 2; i++) {
			struct slot *s = &slots[rnd(GUESTS)];

			if (s->op)
				continue;
			harness_destroy_guest(&h, s->domid);
			deaths++;
			harness_run(&h, NULL);
			create_slot(s);
		}
		snprintf(context, sizeof(context), "round %u, after deaths", round);
		CHECK_EQ(harness_check(&h, context), 0);
	}

	/* Everything goes: every frame back to the host, no records left. */
	for (i = 0; i < GUESTS; i++)
		harness_destroy_guest(&h, slots[i].domid);
	harness_run(&h, NULL);
	CHECK_EQ(hotmem_list(h.hm, ids, GUESTS + 8, &count), 0);
	CHECK_EQ(count, 0);
	dom0->ops->physinfo(dom0, &after);
	CHECK_EQ(after.free_pages, before.free_pages);
	CHECK_EQ(harness_check(&h, "all gone"), 0);
	hv_close(dom0);
	printf("domains: %u created, %u destroyed; operations: %u started, %u ok, %u not "
	       "(%u of %u with a well-behaved guest ok), %u refused at start; engine restarts "
	       "with operations in flight: %u\n",
	       created, deaths + GUESTS, ops_started, ops_ok, ops_failed, ops_normal_ok, ops_normal,
	       ops_refused, restarts);
	/* Most operations of well-behaved guests succeed: the few refusals are
	 * blocks an earlier liar left (at most 5 % of them). */
	CHECK(ops_ok > 0);
	CHECK(ops_normal > GUESTS);
	CHECK(ops_normal_ok * 20 >= ops_normal * 19);
	CHECK(ops_ok >= ops_normal_ok);
	harness_fini(&h);
	return check_exit("test_engine_scale");
}
