/*
 * libhotmem: the dom0 grant engine. It attaches hotmem to arm64 Xen guests
 * (protocol v1 keys under /local/domain/<domid>/hotmem, a hot-add window at
 * the top of guest RAM bank 1), then grows and shrinks them by whole guest
 * memory blocks: admission, a write-ahead journal in dom0-only xenstore,
 * max memory and P2M pool, populating each block's memmap head, the request
 * and the guest's ack, memory/target and memory/static-max, and, for a
 * shrink, giving the frames back. Every step is journalled first, so a new
 * handle's hotmem_reconcile() finishes or rolls back whatever a crashed one
 * left behind. docs/toolstack.md describes the design; this header is the
 * contract.
 *
 * Conventions: every function returns 0 (or a documented non-negative value)
 * or a negative errno, never logs, and leaves ret_* untouched on failure.
 * The engine talks to Xen and xenstore only through the struct hv it is
 * given, owns that connection's watch queue, and is not thread-safe: one
 * thread drives one handle. One handle per host: two engines on the same
 * journal would fight over it.
 *
 * Every function that takes a domid loads that domain from the journal if
 * this handle has not seen it yet; besides what each one documents it may
 * then also return -EUCLEAN (the domain's journal record does not parse;
 * hotmem_reconcile() reports it) or a negative errno from xenstore.
 *
 * Two ways to drive it:
 *  - non-blocking (a daemon with many domains): hotmem_op_start() queues an
 *    operation; poll hotmem_fd() with hotmem_timeout_ms(), call
 *    hotmem_dispatch() whenever it is readable or the timeout expires, and
 *    read hotmem_op_result() once hotmem_op_done() says so;
 *  - blocking (a CLI): hotmem_grow(), hotmem_shrink(), hotmem_set() and
 *    hotmem_op_wait() do that loop themselves.
 */
#ifndef HOTMEM_HOTMEM_H
#define HOTMEM_HOTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hotmem/hv.h"
#include "hotmem/proto.h"

/* Guest RAM banks of Xen arm64 guests (public arch-arm.h), bytes. */
#define HOTMEM_GUEST_RAM0_BASE 0x40000000ull
#define HOTMEM_GUEST_RAM0_SIZE 0xc0000000ull /* 3 GiB */
#define HOTMEM_GUEST_RAM1_BASE 0x200000000ull
#define HOTMEM_GUEST_RAM1_SIZE 0xfe00000000ull /* 1016 GiB */

/* Default window: 64 GiB at the top of bank 1 (capped at HOTMEM_MAX_BLOCKS blocks). */
#define HOTMEM_DEFAULT_WINDOW_BYTES (64ull << 30)

/* Default journal: dom0's own xenstore directory, readable by dom0 only. */
#define HOTMEM_DEFAULT_JOURNAL_DIR "/local/domain/0/hotmem/journal"

struct hotmem;		 /* one engine; opaque */
struct hotmem_operation; /* one grow, shrink or set on one domain; opaque */

enum hotmem_op_kind {
	HOTMEM_OP_KIND_GROW = 1, /* add whole blocks */
	HOTMEM_OP_KIND_SHRINK,	 /* take whole blocks back */
	HOTMEM_OP_KIND_SET,	 /* grow or shrink to a hotmem size; resolved at start */
};

/* What happened to one block; reported through hotmem_config.progress. */
enum hotmem_progress_event {
	HOTMEM_PROGRESS_POPULATED = 1, /* grow: dom0 populated the block's memmap head */
	HOTMEM_PROGRESS_ONLINE,	       /* grow: the guest added and onlined it; target raised */
	HOTMEM_PROGRESS_REFUSED,       /* grow: the guest did not add it; its head went back */
	HOTMEM_PROGRESS_ROLLED_BACK,   /* grow failed before the request; its head went back */
	HOTMEM_PROGRESS_RECLAIMED,     /* shrink: the block's frames went back to Xen */
};

struct hotmem_progress {
	uint32_t domid;
	uint32_t seq; /* request seq the block belongs to */
	enum hotmem_op_kind kind;
	enum hotmem_progress_event event;
	uint32_t block; /* index in the window */
	uint64_t gpa;	/* guest-physical start of the block */
	uint64_t bytes; /* block size */
};

/* What the engine did about a grown domain's reboot (hotmem_config.reboot). */
enum hotmem_reboot_event {
	/* Going down: memory/target and static-max back to the configured size
	 * for xl's rebuild (on the guest's notice, or seen shut down). */
	HOTMEM_REBOOT_RESTORED = 1,
	/* Rebuilt by xl with the grant as boot RAM: memory/target set to the
	 * configured size, the balloon gives the rest back. */
	HOTMEM_REBOOT_RETURNING,
	/* Max memory and static-max back to the configured size too. */
	HOTMEM_REBOOT_RETURNED,
};

struct hotmem_reboot_note {
	uint32_t domid;
	enum hotmem_reboot_event event;
	int notice;		 /* RESTORED: the guest's enum hotmem_shutdown, or -1: none */
	uint64_t target_kib;	 /* the configured memory/target */
	uint64_t static_max_kib; /* the configured memory/static-max */
	uint64_t booted_kib;	 /* RETURNING/RETURNED: static-max xl built it with */
	uint64_t tot_pages;	 /* RETURNED: Xen's tot_pages then */
};

/* Engine-wide settings; hotmem_config_defaults() fills every field. */
struct hotmem_config {
	const char *journal_dir;     /* dom0-only xenstore dir (HOTMEM_DEFAULT_JOURNAL_DIR) */
	uint64_t host_reserve_bytes; /* host memory grows never touch (default 256 MiB) */
	uint64_t window_bytes;	     /* default window size (HOTMEM_DEFAULT_WINDOW_BYTES) */
	uint64_t domain_max_bytes;   /* default hotmem maximum per domain; 0 = the window */
	uint32_t features;	     /* offered in H/features (default all known) */
	uint32_t stats_interval_ms;  /* default H/stats-interval-ms (default 0: off) */
	uint32_t ack_timeout_ms;     /* wait for the guest's ack (default 30000) */
	uint32_t fill_timeout_ms;    /* wait for the balloon to fill grown blocks (30000) */
	uint32_t fill_poll_ms;	     /* how often the fill is checked (default 50) */
	/* Least time between two reads of one domain's keys that its watch
	 * events trigger (default 20): a guest flooding its keys costs at most
	 * one read per interval, its own acks wait at most that long. 0: none. */
	uint32_t event_min_interval_ms;
	uint32_t retry_ms;	       /* first retry of a failed xenstore read or
					* rollback, doubled per failure (default 10) */
	uint32_t retry_max_ms;	       /* cap of that backoff (default 1000) */
	uint32_t txn_retries;	       /* xenstore commits retried on -EAGAIN (default 16) */
	unsigned int max_extent_order; /* largest populate/decrease order (default 18) */
	/*
	 * How memory/target follows a block: true (default) offers feature
	 * target-blocks, so memory/target moves by the whole block for a guest
	 * that lists it too (counts the memmap head dom0 populated as populated:
	 * xen_hotmem.ko's memmap_in_target=Y, its default); false, or a guest
	 * that does not list it, moves it by the usable bytes (block - memmap
	 * head) only. false also takes target-blocks out of features. Decided
	 * with a domain's window and journalled, so a restarted engine keeps
	 * what grow used.
	 */
	bool memmap_in_target;
	/* Milliseconds on a monotonic clock; NULL = CLOCK_MONOTONIC. Tests pass a fake. */
	uint64_t (*clock_ms)(void *opaque);
	void *clock_opaque;
	/* Called for every block event, also during reconcile; may be NULL. */
	void (*progress)(void *opaque, const struct hotmem_progress *progress);
	void *progress_opaque;
	/* Called once per reboot step of a grown domain; may be NULL. */
	void (*reboot)(void *opaque, const struct hotmem_reboot_note *note);
	void *reboot_opaque;
};

/* Fill cfg with the defaults above. */
void hotmem_config_defaults(struct hotmem_config *cfg);

/**
 * hotmem_open - create an engine on a dom0 connection
 * @hv: privileged connection (hv_xen_open() or a sim's dom0); the engine
 *	uses it until hotmem_close() and owns its watch queue; the caller
 *	closes hv after hotmem_close()
 * @cfg: settings (copied; journal_dir too), or NULL for the defaults
 * @ret_hm: the engine
 *
 * Claims the journal (<journal_dir>/owner, one generation higher): an engine
 * still running on the same journal sees the claim at its next dispatch or
 * journal write and stops with -ESTALE, before any further hypervisor call
 * of a step that starts with one. That is the second line of defence; the
 * first is the caller's lock (xl-hotmem and hotmemd flock one file per
 * journal), which keeps the second engine from starting at all. Registers a
 * watch on @releaseDomain. Does not read the journal: call
 * hotmem_reconcile() next, before anything else.
 *
 * returns:
 *	0, on success
 *	-EINVAL, hv or ret_hm is NULL, journal_dir is not an absolute xenstore
 *		 path without a trailing '/', a timeout, retry or window setting
 *		 is 0, retry_max_ms < retry_ms, features has unknown bits, or
 *		 stats_interval_ms is out of range
 *	-ENOMEM, out of memory
 *	other negative errno from the claim or the watch registration
 */
int hotmem_open(struct hv *hv, const struct hotmem_config *cfg, struct hotmem **ret_hm);

/**
 * hotmem_close - free an engine (NULL is a no-op)
 *
 * Undoes nothing: an operation in flight stays in the journal exactly as if
 * the process had died, and the next engine's hotmem_reconcile() finishes or
 * rolls it back. Operation handles still held become invalid.
 */
void hotmem_close(struct hotmem *hm);

/* What hotmem_reconcile() did. */
struct hotmem_reconcile_report {
	uint32_t domains;     /* journalled domains found */
	uint32_t released;    /* dead or gone: records dropped */
	uint32_t rolled_back; /* grows undone (failed before their request) */
	uint32_t finished;    /* operations completed from their ack */
	uint32_t outstanding; /* requests still waiting for their ack */
	uint32_t failed;      /* domains whose recovery failed (retried by dispatch) */
};

/**
 * hotmem_reconcile - load the journal and settle every operation in it
 * @hm: engine
 * @ret_report: what was done, may be NULL
 *
 * For each journalled domain: a domain that is dying, gone, or whose hotmem
 * directory vanished (its domid was reused) has its record released; a grow
 * that never wrote its request is rolled back (every populated head given
 * back, max memory and P2M pool restored); an operation whose ack is in
 * xenstore is finished from that ack; one still waiting stays outstanding
 * (dispatch finishes it when the ack comes). Safe to call at any time; a
 * domain whose recovery fails is retried by hotmem_dispatch().
 *
 * returns:
 *	0, every domain settled (some may be outstanding)
 *	-EUCLEAN, a journal record does not parse (that domain is skipped)
 *	other negative errno, the first failure; the other domains were still
 *		processed and the report counts them
 */
int hotmem_reconcile(struct hotmem *hm, struct hotmem_reconcile_report *ret_report);

/* One key of a domain's journal record, as stored. */
struct hotmem_journal_key {
	char *key;
	char *value;
};

/* A domain's journal record: every key of <journal_dir>/<domid>, unparsed. */
struct hotmem_journal_record {
	uint32_t domid;
	size_t nr_keys;
	struct hotmem_journal_key *keys;
};

/**
 * hotmem_journal_records - every journalled domain's record as stored
 * @hm: engine
 * @ret_records: malloc()ed array, free with hotmem_journal_records_free()
 * @ret_count: its length
 *
 * The raw keys and values, in xenstore's order, for an operator who wants to
 * see what the engine would read (also when a record does not parse). A
 * record or key removed while this reads is left out. Reads only.
 * returns 0 (an absent journal is an empty list); -ENOMEM; another negative
 *	errno from xenstore when the journal directory cannot be listed
 */
int hotmem_journal_records(struct hotmem *hm, struct hotmem_journal_record **ret_records,
			   size_t *ret_count);
void hotmem_journal_records_free(struct hotmem_journal_record *records, size_t count);

/* Per-domain settings for hotmem_attach(); zero fields take the config's defaults. */
struct hotmem_attach_params {
	uint64_t max_bytes;	    /* hotmem maximum (bytes granted at most) */
	uint64_t window_bytes;	    /* window size, rounded down to whole blocks */
	uint64_t window_base;	    /* fixed base; 0 = top of guest RAM bank 1 */
	uint32_t stats_interval_ms; /* H/stats-interval-ms */
};

/**
 * hotmem_attach - offer hotmem to a domain
 * @hm: engine
 * @domid: the guest, 1..HOTMEM_DOMID_MAX
 * @params: settings, or NULL for the defaults
 *
 * Journals the domain, creates H = /local/domain/<domid>/hotmem (owner dom0,
 * guest read-only) with version, features and stats-interval-ms, and an
 * empty H/guest owned by the guest, in one transaction, and watches H/guest.
 * H/window follows as soon as the guest has published a valid block size
 * (at once if it already has).
 *
 * returns:
 *	0, on success
 *	-EINVAL, domid is 0 or reserved, or a parameter is out of range
 *	-EEXIST, the domain is already attached
 *	-ESRCH, no such domain, or it is dying
 *	-ENOSPC, the window does not fit above the domain's boot memory in bank 1
 *	-ENOMEM, out of memory
 *	other negative errno from xenstore (nothing is left behind)
 */
int hotmem_attach(struct hotmem *hm, uint32_t domid, const struct hotmem_attach_params *params);

/**
 * hotmem_detach - withdraw hotmem from a domain
 *
 * Removes H and the domain's journal. Only allowed while nothing is granted
 * and no operation is in flight or outstanding (a dying domain is released
 * automatically instead).
 *
 * returns:
 *	0, on success
 *	-ENOENT, the domain is not attached
 *	-EBUSY, blocks are granted or an operation is in flight or outstanding
 *	other negative errno from xenstore
 */
int hotmem_detach(struct hotmem *hm, uint32_t domid);

/**
 * hotmem_set_max - change a domain's hotmem maximum (journalled)
 *
 * Lowering it below what is granted takes nothing back; it only stops grows.
 *
 * returns:
 *	0, on success
 *	-ENOENT, not attached
 *	-EINVAL, max_bytes is 0
 *	other negative errno from xenstore
 */
int hotmem_set_max(struct hotmem *hm, uint32_t domid, uint64_t max_bytes);

/**
 * hotmem_set_host_reserve - change hotmem_config.host_reserve_bytes
 *
 * For a daemon that re-reads its configuration. Admissions from now on
 * leave that much host memory free; operations already admitted keep what
 * they were given, and nothing granted is taken back.
 *
 * returns:
 *	0, on success
 *	-EINVAL, NULL hm
 */
int hotmem_set_host_reserve(struct hotmem *hm, uint64_t reserve_bytes);

/* What admission leaves aside on the host now (for metrics). */
struct hotmem_host_books {
	uint64_t reserve_bytes;	 /* host_reserve_bytes in force */
	uint64_t promised_bytes; /* grows in flight, outstanding or filling may still take */
};

/**
 * hotmem_host_books - the reserve and what admitted grows may still take
 *
 * returns:
 *	0, on success
 *	-EINVAL, NULL hm or ret_books
 */
int hotmem_host_books(struct hotmem *hm, struct hotmem_host_books *ret_books);

/**
 * hotmem_set_stats_interval - write H/stats-interval-ms
 *
 * returns:
 *	0, on success
 *	-ENOENT, not attached
 *	-EINVAL, not 0 and not in HOTMEM_STATS_INTERVAL_MIN_MS..MAX_MS
 *	other negative errno from xenstore
 */
int hotmem_set_stats_interval(struct hotmem *hm, uint32_t domid, uint32_t interval_ms);

/**
 * hotmem_set_target - move a domain's balloon target outside grow and shrink
 * @target_bytes: the new memory/target, bytes (a whole number of KiB)
 *
 * Grows and shrinks move memory/target by their blocks, relative to its value,
 * in the transaction that records their ack; between operations the target is
 * the balloon's (xl mem-set's, an autoscaler's). This writes it in one
 * transaction, only while nothing is running, recovering or outstanding on
 * the domain (so the next operation moves it from this value), and never
 * above memory/static-max (read in that transaction: the boot memory= plus
 * every granted block), less the granted memmap heads when the target
 * follows usable bytes only (memmap_in_target false): the balloon then
 * always has ballooned pages for the difference, never hot-adds memory of
 * its own, and never asks Xen for a frame max memory does not cover.
 * Nothing is journalled: the records do not depend on the target's absolute
 * value.
 *
 * returns:
 *	0, on success
 *	-EINVAL, NULL hm, target_bytes 0 or not a multiple of 1 KiB
 *	-ENOENT, not attached
 *	-EBUSY, an operation is running, recovering or outstanding
 *	-ERANGE, above that ceiling
 *	other negative errno from xenstore
 */
int hotmem_set_target(struct hotmem *hm, uint32_t domid, uint64_t target_bytes);

/**
 * hotmem_list - attached domains, in ascending order
 * @ret_domids: up to max_domids ids
 * @ret_count: how many were written
 *
 * returns:
 *	0, on success
 *	-EINVAL, ret_count is NULL, or ret_domids is NULL with max_domids > 0
 */
int hotmem_list(struct hotmem *hm, uint32_t *ret_domids, size_t max_domids, size_t *ret_count);

/* The engine's record of one domain (from the journal; no hypervisor call). */
struct hotmem_domain_info {
	uint32_t domid;
	uint64_t max_bytes;	       /* hotmem maximum */
	uint64_t boot_bytes;	       /* RAM at attach (tot_pages or static-max, the larger:
					* where the window may start) */
	bool have_window;	       /* the guest published a block size, window chosen */
	struct hotmem_window window;   /* valid if have_window */
	uint64_t block_size;	       /* locked with the window */
	uint32_t nr_blocks;	       /* blocks in the window */
	bool have_memmap;	       /* locked at the first grow */
	uint64_t memmap_bytes;	       /* head of each block populated by dom0 */
	uint32_t granted_blocks;       /* blocks granted and online */
	uint64_t granted_bytes;	       /* granted_blocks * block_size */
	uint64_t granted_usable_bytes; /* granted minus the memmap heads */
	bool memmap_in_target;	       /* memory/target follows whole blocks (target-blocks) */
	uint64_t granted_target_bytes; /* what memory/target was raised by */
	uint64_t granted[HOTMEM_BLOCKS_WORDS]; /* bitmap of granted blocks */
	uint32_t last_seq;		       /* last request seq used */
	bool busy;			       /* an operation is running */
	bool outstanding;		       /* a request waits for its ack (after a timeout) */
	enum hotmem_op_kind outstanding_kind;
	uint32_t outstanding_seq;
	uint32_t outstanding_first; /* grow */
	uint32_t outstanding_count;
	bool recovering; /* a rollback or finish is being retried */
	bool violation;	 /* the guest broke the protocol since its last good ack */
	/* Blocks of superseded grow requests not settled yet (dom0's part
	 * populated; the guest's next ack with seq >= pending_seq decides). */
	uint32_t pending_blocks;
	uint32_t pending_seq;
	uint64_t pending[HOTMEM_BLOCKS_WORDS]; /* their bitmap */
	/* The guest held frozen_pages frames above its grant after request
	 * frozen_seq: no more grows until it is detached (or dies). */
	bool frozen;
	uint32_t frozen_seq;
	uint64_t frozen_pages;
	/* It announced a reboot/poweroff/halt (or shut down): memory/target and
	 * static-max hold its configured size for xl's rebuild; no operation
	 * starts (-ESHUTDOWN) and grants no longer move those keys. */
	bool going_down;
};

/**
 * hotmem_domain_info - the record of an attached domain
 *
 * returns:
 *	0, on success
 *	-EINVAL, ret_info is NULL
 *	-ENOENT, not attached
 */
int hotmem_domain_info(struct hotmem *hm, uint32_t domid, struct hotmem_domain_info *ret_info);

/* What the guest has published, read now and validated (H/guest/...). */
struct hotmem_guest_status {
	bool have_version, have_features, have_block_size, have_memmap, have_state, have_ack,
		have_blocks, have_stats; /* key present and valid */
	uint32_t version;
	uint32_t features; /* as the guest lists them */
	uint64_t block_size;
	uint64_t memmap_bytes;
	enum hotmem_state state;
	struct hotmem_ack ack;
	uint32_t nr_blocks; /* blocks listed in H/guest/blocks */
	struct hotmem_stats stats;
	bool ready;    /* a grow would pass the guest checks */
	int not_ready; /* why not: -EAGAIN (not yet) or -EPROTO (violation) */
};

/**
 * hotmem_guest_status - read and validate the guest's keys in one transaction
 *
 * returns:
 *	0, on success (invalid keys are reported through the have_* flags)
 *	-EINVAL, ret_status is NULL
 *	-ENOENT, not attached
 *	other negative errno from xenstore
 */
int hotmem_guest_status(struct hotmem *hm, uint32_t domid, struct hotmem_guest_status *ret_status);

/*
 * Where an operation's time went, in ms of the engine's clock, phase by
 * phase in the order they run (a phase the operation skips stays 0). For
 * benchmarks and for an operator asking why a grow was slow; nothing
 * decides on them.
 */
struct hotmem_op_phases {
	uint32_t start_ms;	 /* hotmem_op_start(): journal load, guest checks,
				  * admission, the journal record (shrink: and the
				  * request) */
	uint32_t pool_ms;	 /* grow: the P2M pool raised */
	uint32_t populate_ms;	 /* grow: dom0's populate steps, all of them */
	uint32_t populate_hv_ms; /* of which in the populate hypercalls */
	uint32_t populate_steps; /* how many steps (max memory, populate, journal) */
	uint32_t request_ms;	 /* grow: the request written with its record */
	uint32_t ack_wait_ms;	 /* request written to the ack recorded: the guest's
				  * work, both notifications, our reads of its keys */
	uint32_t ack_reads;	 /* looks at the guest's keys that found no answer yet */
	uint32_t finish_ms;	 /* ack recorded to the record closed (shrink: the
				  * frames given back) */
	uint32_t reclaim_hv_ms;	 /* of which in the decrease hypercalls */
	uint32_t fill_ms;	 /* grow: waiting for tot_pages */
};

/* How an operation ended. */
struct hotmem_result {
	/*
	 * 0: every block asked for was granted (grow) or reclaimed (shrink),
	 *    or a set had nothing to do;
	 * -EREMOTEIO: the guest acked but did fewer blocks (see guest_status,
	 *    blocks_done); what it did is recorded, the rest was given back;
	 * -ETIMEDOUT: no ack in ack_timeout_ms; the request stays outstanding
	 *    and is finished by dispatch when the ack comes;
	 * -ENOLINK: the guest went broken or closed without acking; outstanding
	 *    as for -ETIMEDOUT;
	 * -EPROTO: the ack or H/guest/blocks broke the protocol; outstanding as
	 *    for -ETIMEDOUT, and the domain is marked violation;
	 * -ESRCH: the domain died (its record was released);
	 * any other: a failure before the request (populate -ENOMEM, max
	 *    memory, pool or xenstore errors): everything was rolled back.
	 */
	int error;
	enum hotmem_op_kind kind; /* GROW or SHRINK; SET with nothing to do stays SET */
	uint32_t seq;		  /* request seq, 0 if none was written */
	uint32_t blocks_requested;
	uint32_t blocks_done;	    /* grow: online and recorded; shrink: reclaimed */
	uint64_t bytes_done;	    /* blocks_done * block_size */
	uint64_t usable_bytes_done; /* bytes_done minus the memmap heads */
	uint64_t target_bytes_done; /* what memory/target moved by */
	bool have_ack;
	enum hotmem_status guest_status; /* valid if have_ack */
	uint32_t guest_done;		 /* the ack's own count, informational */
	uint64_t pages_populated;	 /* heads populated for granted blocks */
	uint64_t pages_reclaimed;	 /* frames given back (shrink, refused and
					  * rolled-back heads) */
	uint64_t pages_skipped;		 /* pages found without a frame while reclaiming */
	uint64_t pages_overdrawn;	 /* frames the guest held above its grant once max
					  * memory was lowered: the domain is now frozen */
	bool fill_complete;		 /* grow: tot_pages reached the expected value */
	struct hotmem_op_phases phases;
};

/**
 * hotmem_op_start - start an operation
 * @hm: engine
 * @domid: attached domain
 * @kind: GROW/SHRINK by bytes, or SET the hotmem size (granted bytes) to bytes
 * @bytes: rounded up to whole guest blocks
 * @ret_op: handle; free it with hotmem_op_free()
 *
 * Runs admission and journals the intent before returning (no hypervisor
 * change yet); the rest happens in hotmem_dispatch(). Admission for a grow:
 * the guest is ready (state ready, version accepted, block size and
 * memmap-bytes valid and unchanged), the domain stays within its hotmem
 * maximum, the window has a free run of blocks, and the host has the frames
 * plus the P2M pool for them above host_reserve_bytes. A SET that needs
 * nothing finishes at once (result 0).
 *
 * returns:
 *	0, on success
 *	-EINVAL, kind unknown, bytes is 0 for grow/shrink, or NULL ret_op
 *	-ENOENT, the domain is not attached
 *	-ESRCH, the domain is dying or gone (record released)
 *	-EBUSY, an operation is running or recovering on it (a request that
 *		outstanding after its ack timeout is superseded instead: its blocks
 *		are settled by the guest's next ack, see docs/protocol.md 5)
 *	-EPERM, grow on a frozen domain (the guest held frames above its grant)
 *	-EAGAIN, the guest is not ready yet (no window, state not ready), or
 *		 xenstore conflicted on every one of txn_retries commits
 *	-EPROTO, the guest's keys break the protocol
 *	-EOPNOTSUPP, shrink without the shrink feature negotiated
 *	-EDQUOT, the grow would pass the domain's hotmem maximum
 *	-ENOSPC, no run of that many free blocks in the window
 *	-ENOMEM, the host lacks the frames (above the reserve), or out of memory
 *	-ERANGE, shrink (or set) below zero: more blocks than granted
 *	-EOVERFLOW, sequence numbers are exhausted (re-attach the domain)
 *	-ESTALE, another engine claimed the journal (hotmem_open() of a second
 *		 engine): this one must stop
 *	other negative errno from Xen or xenstore (nothing changed)
 */
int hotmem_op_start(struct hotmem *hm, uint32_t domid, enum hotmem_op_kind kind, uint64_t bytes,
		    struct hotmem_operation **ret_op);

/**
 * hotmem_abandon - take back every unanswered request of a domain
 * @hm: engine
 * @domid: attached domain
 * @ret_result: what came back (pages_reclaimed, pages_skipped,
 *		pages_overdrawn); may be NULL
 *
 * For a guest that does not answer (paused, hung, hostile). An answer the
 * guest did write is recorded first, as dispatch would. Then, in one
 * transaction, H/request is removed and the outstanding request and every
 * superseded grow are dropped from the record; every frame of their blocks
 * that Xen lets dom0 take is given back (max memory lowered first), and the
 * record is exact again: max memory, pool, memory/target and static-max as
 * if the requests had never been made (their seqs stay used). A running
 * operation waiting for its ack ends with -ECANCELED. A guest that was
 * adding such a block loses its frames and faults on them
 * (docs/protocol.md 5).
 *
 * returns:
 *	0, on success
 *	-EINVAL, hm is NULL
 *	-ENOENT, not attached
 *	-ESRCH, the domain is dying or gone (record released)
 *	-EALREADY, nothing unanswered (the guest answered, or nothing was asked)
 *	-EBUSY, an operation is running before its request or after its ack
 *	other negative errno from Xen or xenstore (retried by dispatch)
 */
int hotmem_abandon(struct hotmem *hm, uint32_t domid, struct hotmem_result *ret_result);

/* Whether the operation has ended (its result is final). */
bool hotmem_op_done(const struct hotmem_operation *op);

/**
 * hotmem_op_result - how an operation ended
 *
 * returns:
 *	0, *ret_result filled
 *	-EINPROGRESS, not done yet
 *	-EINVAL, op or ret_result is NULL
 */
int hotmem_op_result(const struct hotmem_operation *op, struct hotmem_result *ret_result);

/*
 * hotmem_op_free - drop a handle (NULL is a no-op). An operation not yet done
 * keeps running inside the engine; its result is then lost.
 */
void hotmem_op_free(struct hotmem_operation *op);

/**
 * hotmem_fd - the file descriptor to poll for readability
 *
 * returns:
 *	the fd (>= 0), or a negative errno from the hv backend
 */
int hotmem_fd(struct hotmem *hm);

/**
 * hotmem_timeout_ms - how long the caller may sleep before hotmem_dispatch()
 *
 * returns:
 *	-1, nothing is timed (wait for the fd only)
 *	0, work is ready now
 *	n > 0, milliseconds until the next timeout or retry
 */
int hotmem_timeout_ms(struct hotmem *hm);

/**
 * hotmem_dispatch - do whatever can be done now, without blocking
 *
 * Reads every queued watch event (coalesced per domain), releases dead
 * domains, retries failed recoveries whose backoff expired, and advances
 * each runnable operation by one step (one block populated, one ack read,
 * ...). Call it when hotmem_fd() is readable or hotmem_timeout_ms() expired.
 *
 * returns:
 *	number of operations that ended during this call (>= 0)
 *	-ESTALE, another engine claimed the journal: nothing was stepped and
 *		 nothing will be; close this engine (hotmemd exits)
 *	negative errno, reading the watch queue failed (nothing was stepped)
 */
int hotmem_dispatch(struct hotmem *hm);

/**
 * hotmem_op_wait - block until an operation ends (poll + dispatch loop)
 * @timeout_ms: give up after this long (-1: no limit; the operation has its
 *		own ack and fill timeouts, so it always ends)
 *
 * returns:
 *	0, the operation is done (see hotmem_op_result())
 *	-ETIME, timeout_ms passed first (the operation goes on)
 *	other negative errno from poll() or hotmem_dispatch()
 */
int hotmem_op_wait(struct hotmem *hm, struct hotmem_operation *op, int timeout_ms);

/**
 * hotmem_grow / hotmem_shrink / hotmem_set - blocking convenience
 * @ret_result: how it ended, may be NULL
 *
 * hotmem_op_start() + hotmem_op_wait() + hotmem_op_result().
 *
 * returns:
 *	what hotmem_op_start() returns if it fails (ret_result untouched);
 *	else result.error (ret_result filled)
 */
int hotmem_grow(struct hotmem *hm, uint32_t domid, uint64_t bytes,
		struct hotmem_result *ret_result);
int hotmem_shrink(struct hotmem *hm, uint32_t domid, uint64_t bytes,
		  struct hotmem_result *ret_result);
int hotmem_set(struct hotmem *hm, uint32_t domid, uint64_t bytes, struct hotmem_result *ret_result);

/* Lifetime counters of one engine (for tests, stats and logs). */
struct hotmem_counters {
	uint64_t ops_started, ops_done;
	uint64_t pages_populated; /* by this engine, every populate */
	uint64_t pages_reclaimed; /* decreased by this engine */
	uint64_t pages_skipped;	  /* reclaim found no frame */
	uint64_t rollbacks;	  /* grows undone before their request */
	uint64_t recoveries;	  /* journal records settled (any kind) */
	uint64_t violations;	  /* protocol violations seen */
	uint64_t releases;	  /* records of dead domains dropped */
	uint64_t txn_conflicts;	  /* commits retried on -EAGAIN */
	uint64_t xs_reads;	  /* xenstore reads (guest keys, journal) */
	uint64_t restores;	  /* grown domains shut down to reboot: size put back */
	uint64_t returns;	  /* rebuilt grown (no notice): memory given back */
};

/* What a domain's reboot left (hotmem_reboot_info()). */
struct hotmem_reboot_info {
	uint64_t target_kib;	     /* the configured size its predecessor had */
	uint64_t static_max_kib;     /* (memory/target and static-max without grants) */
	uint64_t old_domid;	     /* the domain that rebooted */
	uint64_t now_static_max_kib; /* this domain's memory/static-max now */
	uint64_t now_target_kib;     /* this domain's memory/target now */
	/* xl rebuilt it with the grant as boot RAM, or with the grant's target
	 * above the configured static-max (libxl reads the two keys without a
	 * transaction: a read torn by the engine's restore) */
	bool came_back_grown;
	/* Giving that memory back: memory/target is the configured size, the
	 * balloon is handing the frames back; max memory and static-max follow. */
	bool returning;
	/* Given back: target, static-max and max memory are configured again;
	 * the memmap of the bigger boot RAM stays allocated in the guest. */
	bool returned;
	uint64_t booted_static_max_kib; /* the boot RAM xl gave it (returning/returned) */
};

/**
 * hotmem_reboot_info - did this domain come back from a reboot of a grown one
 * @domid: any domain (attached or not)
 *
 * A grown domain that shuts down to be rebuilt (xl reboot, its own reboot,
 * a crash with on_crash=restart) has memory/target and static-max put back
 * to its configured size at once, and a memo left under its handle (xl
 * keeps the handle, the UUID, across the rebuild). xl reads those keys on
 * the same event, so the engine can lose the race; then the new domain's
 * boot RAM includes the old grant, and came_back_grown says so (xl-hotmem
 * list shows it as rebooted-grown). That memory is boot RAM: hot-remove
 * cannot take it, the balloon can: the engine that sees the rebuilt domain
 * appear sets its memory/target to the configured size (returning), and
 * once the balloon gave the frames back (or after two minutes) its max
 * memory and static-max too (returned; xl-hotmem list: ballooned-back).
 *
 * returns:
 *	0, *ret_info filled
 *	-ENOENT, no memo for this domain's handle (not a rebooted grown domain)
 *	-EUCLEAN, the memo does not parse
 *	other negative errno from Xen or xenstore
 */
int hotmem_reboot_info(struct hotmem *hm, uint32_t domid, struct hotmem_reboot_info *ret_info);

/* Copy the counters (hm and ret_counters must not be NULL). */
void hotmem_get_counters(struct hotmem *hm, struct hotmem_counters *ret_counters);

/**
 * hotmem_window_plan - where a domain's window goes
 * @boot_bytes: the domain's boot RAM (memory=, filled bank 0 then bank 1)
 * @block_size: guest memory block size (hotmem_block_size_valid())
 * @window_bytes: wanted size; rounded down to whole blocks, capped at
 *		  HOTMEM_MAX_BLOCKS blocks and at the space left in bank 1
 * @window_base: fixed base, or 0 for the top of bank 1
 * @ret_window: the window
 *
 * The top of bank 1 is furthest from the extended regions the guest
 * allocates grant and foreign mappings from (first fit from the bottom).
 * Pure function: the same answer at `xl create` time (for the device tree)
 * and at attach.
 *
 * returns:
 *	0, on success
 *	-EINVAL, invalid block size, window_bytes under one block, a base not
 *		 block-aligned or outside the RAM banks, or NULL ret_window
 *	-ENOSPC, the window does not fit above the boot RAM
 */
int hotmem_window_plan(uint64_t boot_bytes, uint64_t block_size, uint64_t window_bytes,
		       uint64_t window_base, struct hotmem_window *ret_window);

/**
 * hotmem_pool_bytes_per_block - P2M pool a grow adds per block (and a shrink
 * takes back): one L3 table per 2 MiB of the block (the balloon maps the
 * usable pages 4 KiB at a time) plus the L2 tables of the 1 GiB regions it
 * touches (at least one).
 *
 * returns:
 *	the bytes (> 0), or 0 for an invalid block size
 */
uint64_t hotmem_pool_bytes_per_block(uint64_t block_size);

/**
 * hotmem_dt_fragment - a partial device tree for xl's device_tree= option
 * @window: the domain's window (hotmem_window_plan())
 * @block_size: guest block size the window was planned for
 * @buf: output, may be NULL when size is 0
 * @size: bytes at buf
 *
 * Writes a flattened device tree holding /passthrough (simple-bus, two
 * address and size cells) with one node hotmem@<base>: compatible
 * "hotmem,window-v1", reg = <base size>, block-size = <u64>. libxl copies
 * /passthrough into the guest's device tree. Built in a scratch buffer that
 * restarts bigger on -FDT_ERR_NOSPACE, then packed and copied.
 *
 * returns:
 *	length of the blob (> 0), on success; with size 0 (buf may be NULL),
 *		the length needed, nothing written
 *	-EINVAL, window NULL or not block-aligned, invalid block size
 *	-ENOSPC, size is non-zero but too small
 *	-ENOMEM, out of memory
 *	-EIO, libfdt failed otherwise
 */
int hotmem_dt_fragment(const struct hotmem_window *window, uint64_t block_size, void *buf,
		       size_t size);

#endif /* HOTMEM_HOTMEM_H */
