/*
 * The engine harness: libhotmem and simulated guests on one simulated host,
 * driven deterministically for the engine tests (test_engine_*.c) and the
 * autoscaler's (test_autoscale_sim.c). The guests are hv/sim/sim_guest.{c,h}
 * (shared with `hotmemd --hv sim`).
 *
 * The harness owns a sim, a dom0 connection wrapped in a kill proxy (a
 * struct hv that, once armed, lets k more mutating calls through and then
 * fails everything with -ECANCELED: the toolstack process "died" right after
 * its k-th step), an engine with a fake clock, and the guests. It drives
 * everything single-threaded and deterministically, restarts the engine as a
 * crashed daemon would be restarted, and checks the engine's records against
 * the sim (max_pages, tot_pages, every populated page of every window block,
 * memory/target, static-max, P2M pool, hv_sim_check()).
 */
#ifndef HOTMEM_TEST_ENGINE_HARNESS_H
#define HOTMEM_TEST_ENGINE_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "hotmem/hotmem.h"
#include "hotmem/hv_sim.h"
#include "sim_guest.h"

/* ---- harness ------------------------------------------------------------- */

#define HARNESS_MAX_GUESTS 64

struct kill_proxy;

/* The sim's view of a guest at creation, to check records against. */
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
	struct sim_guest *guests[HARNESS_MAX_GUESTS];
	struct harness_base base[HARNESS_MAX_GUESTS];
	uint32_t nr_guests;
	uint32_t restarts;
	unsigned int progress_events;
	/* Called after every mutating call of the engine (the guest runs
	 * between any two of them on real hardware). */
	void (*after_mutation)(struct harness *h);
	/* During after_mutation: the call was set_max_mem or a failed populate
	 * (max memory may have room dom0 raised for its own populate). */
	bool last_set_max;
	bool last_populate; /* ... or any populate (a step may take several calls) */
	/* Reads by the engine of a path ending in this suffix (NULL: none
	 * counted), since it was set: what a test expects a step to read. */
	const char *count_reads_suffix;
	unsigned long counted_reads;
	/* Called before each commit of an engine transaction (what another
	 * writer does while a slow transaction is open). */
	void (*before_commit)(struct harness *h);
};

/* A quiet sim of host_pages (0: default) and an engine with test timeouts. */
void harness_init(struct harness *h, uint64_t host_pages);
void harness_fini(struct harness *h);
/* Create a domain, its simulated guest, attach it and run until it is ready. */
uint32_t harness_add_guest(struct harness *h, const char *name, uint64_t boot_pages,
			   const struct sim_guest_params *params,
			   const struct hotmem_attach_params *attach);
struct sim_guest *harness_guest(struct harness *h, uint32_t domid);
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
/* Records vs sim for every guest; prints each mismatch; returns their number. */
int harness_check(struct harness *h, const char *context);

/*
 * After a crash or fault run: the domain still works. Grows by one block
 * (when grow_first) and shrinks by one, each logged under CONTEXT on failure;
 * returns the number of problems (0 when both went through).
 */
int harness_op_afterwards(struct harness *h, uint32_t domid, uint64_t block_size, bool grow_first,
			  const char *context);
/* /local/domain/<domid>/<rel> as dom0 reads it, a decimal (the memory keys are KiB); 0 if
 * unreadable. */
uint64_t harness_read_dec(struct harness *h, uint32_t domid, const char *rel);
/* Destroy a guest's domain (xl destroy) and forget its simulated guest. */
void harness_destroy_guest(struct harness *h, uint32_t domid);

#endif /* HOTMEM_TEST_ENGINE_HARNESS_H */
