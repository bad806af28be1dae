/*
 * A simulated guest for the sim backend, shared by the engine tests and
 * `hotmemd --hv sim`. It speaks protocol v1 through a domU connection of the
 * sim (hv_sim_open(sim, domid)): it publishes version, features, block size,
 * memmap-bytes, an empty block list and state init under H/guest, goes ready
 * once H/window fits its block size, and serves requests the way the Linux
 * driver does: a grow checks every named block (head populated by dom0, the
 * rest not: "THE trap" of the lab notes) and "adds" it; a shrink "removes"
 * the newest blocks; blocks and ack are written in one transaction. It also
 * plays the balloon: when memory/target rises it populates the usable pages
 * of its added blocks with order-0 populates on itself (bounded by
 * max_pages), and forgets a removed block's pages; with balloon_boot it also
 * balloons boot RAM out and back in, as Linux's balloon does. While
 * H/stats-interval-ms is non-zero it publishes H/guest/stats at that interval
 * from a load a test sets (working set, PSI), so a policy can be driven
 * through it. Modes make it misbehave (never ack, ack errors, partial acks,
 * lies, wrong seqs, going broken, stats going stale) and helpers let a test
 * write anything into any key. It is single-threaded: one thread steps one
 * guest (the sim itself is thread-safe).
 */
#ifndef HOTMEM_SIM_GUEST_H
#define HOTMEM_SIM_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hotmem/hv_sim.h"
#include "hotmem/proto.h"

/* How the simulated guest answers requests. */
enum sim_guest_mode {
	SG_NORMAL = 0,
	SG_SILENT,	/* reads requests, never acks (and does nothing) */
	SG_ACK_ERROR,	/* acks "<seq> error 0" and does nothing */
	SG_ACK_PARTIAL, /* grow: adds the first count/2 blocks, acks partial (or error) */
	SG_LIE_DROP,	/* shrink: drops blocks from its list but goes on "using" them */
	SG_LIE_KEEP,	/* shrink: acks "ok" but keeps listing every block */
	SG_WRONG_SEQ,	/* acks seq + 1 */
	SG_BROKEN,	/* on a request: state broken, no ack */
	SG_MODE_COUNT
};

const char *sim_guest_mode_name(enum sim_guest_mode mode);

/* memmap_bytes value for a guest whose memmap is not self-hosted ("0x0"). */
#define SG_MEMMAP_NONE UINT64_MAX

struct sim_guest_params {
	uint64_t block_size;   /* default 128 MiB */
	uint64_t memmap_bytes; /* default block_size / 64 (struct page per 4 KiB page) */
	uint32_t features;     /* default every known feature */
	enum sim_guest_mode mode;
	bool no_balloon; /* never populate on a target rise */
	/* The balloon counts each head as populated (xen_hotmem.ko's
	 * memmap_in_target=Y): memory/target must move by whole blocks. */
	bool memmap_in_target;
	/* Balloon like Linux's: give back boot RAM first (down to
	 * SG_BOOT_FLOOR_BYTES; Linux's balloon takes non-movable pages), then the
	 * blocks' pages, refill boot RAM first, and count targets it could only
	 * reach by hot-adding memory of its own (balloon_hotplugs). Off by
	 * default: the engine tests count every frame outside the window as boot
	 * RAM, and deflate from the blocks. */
	bool balloon_boot;
	/* Clock of the stats publication, milliseconds; NULL = CLOCK_MONOTONIC. */
	uint64_t (*clock_ms)(void *opaque);
	void *clock_opaque;
};

/* Boot RAM the balloon never gives back (the kernel and init live there). */
#define SG_BOOT_FLOOR_BYTES (64ull << 20)

/*
 * What the guest's programs do, as its stats show it. MemTotal is the memory
 * the balloon holds minus the memmap heads and a fixed kernel reservation
 * (1/16 of it, at most SG_KERNEL_RESERVED_BYTES); MemAvailable is MemTotal
 * minus SG_KERNEL_USED_BYTES minus the working set, never below 0; with
 * stats-swap in use the swap figure is what of those does not fit.
 */
#define SG_KERNEL_RESERVED_BYTES (32ull << 20)
#define SG_KERNEL_USED_BYTES	 (24ull << 20)

struct sim_guest_load {
	uint64_t working_set_bytes; /* memory its programs hold */
	uint32_t psi_some_avg10;    /* published as is: 1/100 % (0..10000) */
	uint32_t psi_full_avg10;
	bool stats_off; /* stop publishing (a hung agent): the stats go stale */
};

struct sim_guest_stats {
	uint32_t state;	  /* 0 waiting for H, 1 init, 2 ready, 3 broken */
	uint32_t plugged; /* blocks it holds */
	uint64_t plugged_map[HOTMEM_BLOCKS_WORDS];
	uint64_t self_populated;  /* pages populated on itself */
	uint64_t self_decreased;  /* pages given back by itself */
	uint64_t balloon_current; /* pages the balloon thinks the domain has */
	uint32_t requests;	  /* requests acted on */
	uint32_t acks;		  /* acks written */
	uint32_t dom0_errors;	  /* dom0 broke the contract (head missing, usable populated) */
	uint64_t boot_ballooned;  /* boot RAM pages ballooned out now (balloon_boot) */
	/* balloon_boot: a target above what the balloon could fill from pages it
	 * holds ballooned; Linux's balloon would hot-add memory of its own, which
	 * crashes arm64 guests (lab notes). Counted once per such target. */
	uint32_t balloon_hotplugs;
	uint64_t stats_published;	/* H/guest/stats writes */
	struct hotmem_stats last_stats; /* the last ones published */
};

struct sim_guest;

int sim_guest_new(struct hv_sim *sim, uint32_t domid, const struct sim_guest_params *params,
		  struct sim_guest **ret_guest);
void sim_guest_free(struct sim_guest *guest);
/* Handle everything pending; returns how many things it did (0: idle). */
int sim_guest_step(struct sim_guest *guest);
/* Events queued for it? */
bool sim_guest_pending(struct sim_guest *guest);
void sim_guest_set_mode(struct sim_guest *guest, enum sim_guest_mode mode);
/* Set what the stats show from now on (published at the next interval). */
void sim_guest_set_load(struct sim_guest *guest, const struct sim_guest_load *load);
void sim_guest_get_load(struct sim_guest *guest, struct sim_guest_load *ret_load);
void sim_guest_get_stats(struct sim_guest *guest, struct sim_guest_stats *ret_stats);
uint32_t sim_guest_domid(const struct sim_guest *guest);
/* The fd that becomes readable when the guest has events (for a poll loop
 * that steps guests from their own thread); step it on POLLIN and now and
 * then without one (a failed step retries on the next, and stats are
 * published when their interval has passed). */
int sim_guest_fd(const struct sim_guest *guest);
/* Raw xenstore as the guest (relative or absolute path). */
int sim_guest_write(struct sim_guest *guest, const char *path, const char *value, size_t len);
int sim_guest_read(struct sim_guest *guest, const char *path, char **ret_value);
int sim_guest_rm(struct sim_guest *guest, const char *path);
/* Populate [gfn, gfn + pages) on itself (a hostile guest's trick). */
int sim_guest_populate(struct sim_guest *guest, uint64_t gfn, uint64_t pages);

#endif /* HOTMEM_SIM_GUEST_H */
