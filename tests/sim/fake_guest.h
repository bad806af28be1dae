/*
 * A scripted guest for the engine tests, and the harness that drives it
 * together with libhotmem on one simulated host.
 *
 * The fake guest speaks protocol v1 through a domU connection of the sim
 * (hv_sim_open(sim, domid)): it publishes version, features, block size,
 * memmap-bytes, an empty block list and state init under H/guest, goes ready
 * once H/window fits its block size, and serves requests the way the Linux
 * driver does: a grow checks every named block (head populated by dom0, the
 * rest not: "THE trap" of the lab notes) and "adds" it; a shrink "removes"
 * the newest blocks; blocks and ack are written in one transaction. It also
 * plays the balloon: when memory/target rises it populates the usable pages
 * of its added blocks with order-0 populates on itself (bounded by
 * max_pages), and forgets a removed block's pages. Modes make it misbehave
 * (never ack, ack errors, partial acks, lies, wrong seqs, going broken) and
 * helpers let a test write anything into any key.
 *
 * The harness owns a sim, a dom0 connection wrapped in a kill proxy (a
 * struct hv that, once armed, lets k more mutating calls through and then
 * fails everything with -ECANCELED: the toolstack process "died" right after
 * its k-th step), an engine with a fake clock, and the guests. It drives
 * everything single-threaded and deterministically, restarts the engine as a
 * crashed daemon would be restarted, and checks the engine's books against
 * the sim (max_pages, tot_pages, every populated page of every window block,
 * memory/target, static-max, P2M pool, hv_sim_check()).
 */
#ifndef HOTMEM_TEST_FAKE_GUEST_H
#define HOTMEM_TEST_FAKE_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "hotmem/hotmem.h"
#include "hotmem/hv_sim.h"

/* How the fake guest answers requests. */
enum fg_mode {
	FG_NORMAL = 0,
	FG_SILENT,	/* reads requests, never acks (and does nothing) */
	FG_ACK_ERROR,	/* acks "<seq> error 0" and does nothing */
	FG_ACK_PARTIAL, /* grow: adds the first count/2 blocks, acks partial (or error) */
	FG_LIE_DROP,	/* shrink: drops blocks from its list but goes on "using" them */
	FG_LIE_KEEP,	/* shrink: acks "ok" but keeps listing every block */
	FG_WRONG_SEQ,	/* acks seq + 1 */
	FG_BROKEN,	/* on a request: state broken, no ack */
	FG_MODE_COUNT
};

const char *fg_mode_name(enum fg_mode mode);

/* memmap_bytes value for a guest whose memmap is not self-hosted ("0x0"). */
#define FG_MEMMAP_NONE UINT64_MAX

struct fake_guest_params {
	uint64_t block_size;   /* default 128 MiB */
	uint64_t memmap_bytes; /* default block_size / 64 (struct page per 4 KiB page) */
	uint32_t features;     /* default every known feature */
	enum fg_mode mode;
	bool no_balloon; /* never populate on a target rise */
	/* The balloon counts each head as populated (xen_hotmem.ko's
	 * memmap_in_target=Y): memory/target must move by whole blocks. */
	bool memmap_in_target;
};

struct fake_guest_stats {
	uint32_t state;	  /* 0 waiting for H, 1 init, 2 ready, 3 broken */
	uint32_t plugged; /* blocks it holds */
	uint64_t plugged_map[HOTMEM_BLOCKS_WORDS];
	uint64_t self_populated;  /* pages populated on itself */
	uint64_t self_decreased;  /* pages given back by itself */
	uint64_t balloon_current; /* pages the balloon thinks the domain has */
	uint32_t requests;	  /* requests acted on */
	uint32_t acks;		  /* acks written */
	uint32_t dom0_errors;	  /* dom0 broke the contract (head missing, usable populated) */
};

struct fake_guest;

int fake_guest_new(struct hv_sim *sim, uint32_t domid, const struct fake_guest_params *params,
		   struct fake_guest **ret_guest);
void fake_guest_free(struct fake_guest *guest);
/* Handle everything pending; returns how many things it did (0: idle). */
int fake_guest_step(struct fake_guest *guest);
/* Events queued for it? */
bool fake_guest_pending(struct fake_guest *guest);
void fake_guest_set_mode(struct fake_guest *guest, enum fg_mode mode);
void fake_guest_get_stats(struct fake_guest *guest, struct fake_guest_stats *ret_stats);
uint32_t fake_guest_domid(const struct fake_guest *guest);
/* Raw xenstore as the guest (relative or absolute path). */
int fake_guest_write(struct fake_guest *guest, const char *path, const char *value, size_t len);
int fake_guest_read(struct fake_guest *guest, const char *path, char **ret_value);
int fake_guest_rm(struct fake_guest *guest, const char *path);
/* Populate [gfn, gfn + pages) on itself (a hostile guest's trick). */
int fake_guest_populate(struct fake_guest *guest, uint64_t gfn, uint64_t pages);

/* ---- harness ------------------------------------------------------------- */

#define HARNESS_MAX_GUESTS 64

struct kill_proxy;

/* The sim's view of a guest at creation, to check books against. */
struct harness_base {
	uint32_t domid;
	uint64_t boot_pages;
	uint64_t max_pages;
	uint64_t pool_pages;
	uint64_t target_kib;
	uint64_t static_kib;
};

struct harness {
	struct hv_sim *sim;
	struct kill_proxy *proxy; /* the engine's struct hv */
	struct hotmem *hm;
	struct hotmem_config cfg;
	uint64_t now_ms; /* the fake clock */
	struct fake_guest *guests[HARNESS_MAX_GUESTS];
	struct harness_base base[HARNESS_MAX_GUESTS];
	uint32_t nr_guests;
	uint32_t restarts;
	unsigned int progress_events;
};

/* A quiet sim of host_pages (0: default) and an engine with test timeouts. */
void harness_init(struct harness *h, uint64_t host_pages);
void harness_fini(struct harness *h);
/* Create a domain, its fake guest, attach it and run until it is ready. */
uint32_t harness_add_guest(struct harness *h, const char *name, uint64_t boot_pages,
			   const struct fake_guest_params *params,
			   const struct hotmem_attach_params *attach);
struct fake_guest *harness_guest(struct harness *h, uint32_t domid);
/*
 * Drive guests and engine until op is done (op NULL: until nothing moves and
 * no timer is set, advancing the fake clock when idle). 0, -ECANCELED if the
 * proxy died, -EDEADLK if it got stuck.
 */
int harness_run(struct harness *h, struct hotmem_operation *op);
/* hotmem_op_start + harness_run + result; returns op_start's error or result.error. */
int harness_op(struct harness *h, uint32_t domid, enum hotmem_op_kind kind, uint64_t bytes,
	       struct hotmem_result *ret_result);
/* Kill-proxy control: die after k more mutating calls (0: never); also resets
 * the counters: mutating calls and calls per op since this call. */
void harness_arm_kill(struct harness *h, unsigned long kill_after);
unsigned long harness_calls(struct harness *h, enum hv_sim_op op);
unsigned long harness_mutations(struct harness *h);
bool harness_dead(struct harness *h);
/* Crash-restart: drop the engine without cleanup, let the guests run, open a
 * new connection and engine (its proxy armed with kill_after), reconcile.
 * Returns hotmem_reconcile()'s result. */
int harness_restart(struct harness *h, unsigned long kill_after,
		    struct hotmem_reconcile_report *ret_report);
/* Books vs sim for every guest; prints each mismatch; returns their number. */
int harness_check(struct harness *h, const char *context);
/* Destroy a guest's domain (xl destroy) and forget its fake guest. */
void harness_destroy_guest(struct harness *h, uint32_t domid);

#endif /* HOTMEM_TEST_FAKE_GUEST_H */
