/*
 * The guest side of hotmem protocol v1 as plain C: the handshake, the request
 * state machine, the per-block plug/unplug sequence and the retry policy of
 * xen_hotmem.ko, with every kernel and xenstore action behind a small ops
 * table (struct hotmem_platform_ops). The module fills the table with
 * add_memory_driver_managed(), offline_and_remove_memory(), xenbus and the
 * balloon's books; the host unit tests fill it with a fake that injects
 * failures and hostile values. No kernel headers here: only hotmem/types.h,
 * layout.h and proto.h, so the same file builds in both worlds.
 *
 * Concurrency: a struct hotmem_core is not thread-safe. Its owner serialises
 * every call (the module holds one mutex around deliver/step/close and its
 * sysfs readers). Platform ops are called with that serialisation held and
 * may sleep. struct hotmem_inbox is the hand-off from the xenstore watch
 * callbacks: they parse into it under the owner's spinlock and the worker
 * moves it into the core with hotmem_core_deliver().
 *
 * Errors are negative errno values throughout; ret_* outputs are written only
 * on success. The core never logs: it reports what happened through
 * ops->event() and the owner logs once, with the range.
 */
#ifndef HOTMEM_CORE_H
#define HOTMEM_CORE_H

#include "hotmem/types.h"
#include "hotmem/layout.h"
#include "hotmem/proto.h"

/*
 * State of one block of the window, as this guest sees it. Exactly one
 * setter (core_block_set_state() in hotmem_core.c) changes it, keeping the
 * per-state totals in struct hotmem_core.nr_in_state.
 *
 * Plug order (grow, the blocks of a request in ascending index):
 *   ABSENT -> ADDED     add_block(): Linux creates the memory block device and
 *                       writes the block's memmap into the block's head, which
 *                       dom0 populated (memmap_bytes of it); the zone is
 *                       chosen here: cfg.online_zone, or a kernel zone when
 *                       the kernel zones are too short to pay for the
 *                       request's remaining adds (kernel_block_when_short)
 *   ADDED -> ONLINE     online_block(): the block goes online in the chosen
 *                       zone (MEM_ONLINE seen); the Xen balloon takes its
 *                       usable pages as ballooned-out (xen_online_page), or,
 *                       with populated-blocks in use, the platform has taken
 *                       them back and handed them to the page allocator
 *   ONLINE -> PLUGGED   balloon_account(+): the balloon's books learn about
 *                       the block (see struct hotmem_balloon_delta); the block
 *                       is then published in H/guest/blocks
 *   ...and after the last block, H/guest/ack.
 * Unplug order (shrink, newest plugged block first; blocks in a kernel zone
 * only when no movable one is left, since they are the least likely to go):
 *   PLUGGED -> REMOVED  offline_and_remove_block(): data migrated away, block
 *                       offline and gone from Linux
 *   REMOVED -> ABSENT   balloon_account(-): the books forget the block's
 *                       pages; H/guest/blocks is rewritten without it
 *   ...and after count blocks (or none left), H/guest/ack.
 */
enum hotmem_block_state {
	/* Unknown to Linux. Its frames are the toolstack's business. */
	HOTMEM_BLOCK_ABSENT = 0,
	/* Added to Linux, memmap initialised in its head, offline. Not published;
	 * the way back is remove_block(). */
	HOTMEM_BLOCK_ADDED,
	/* Online (MEM_ONLINE seen), usable pages held by the balloon, books not
	 * yet adjusted. Published only if the device breaks here. No way back:
	 * while the balloon holds its pages the block cannot be offlined. */
	HOTMEM_BLOCK_ONLINE,
	/* Online and in the balloon's books: the steady state, published. */
	HOTMEM_BLOCK_PLUGGED,
	/* Offlined and removed from Linux, still in the balloon's books. Not
	 * published; only forward (balloon_account(-)) from here. */
	HOTMEM_BLOCK_REMOVED,
	/* Added, could not be onlined, and removing it failed too. Not published
	 * (protocol: the toolstack may reclaim it); the device is broken. */
	HOTMEM_BLOCK_STUCK,
	HOTMEM_BLOCK_COUNT
};

/* Zone a plugged block is onlined to (module parameter online_type). */
enum hotmem_zone {
	HOTMEM_ZONE_MOVABLE = 0, /* ZONE_MOVABLE: removable again, never ballooned out */
	HOTMEM_ZONE_KERNEL,	 /* a kernel zone: any allocation may use it, rarely removable */
	HOTMEM_ZONE_COUNT
};

/* What Linux has at a block's range when the driver (re)starts. */
enum hotmem_probe {
	HOTMEM_PROBE_ABSENT = 0,    /* no memory block there */
	HOTMEM_PROBE_OFFLINE,	    /* a memory block exists but is offline */
	HOTMEM_PROBE_ONLINE,	    /* online in ZONE_MOVABLE */
	HOTMEM_PROBE_ONLINE_KERNEL, /* online in a kernel zone */
};

/*
 * What adding one block takes from the kernel zones, at most, besides its
 * memmap (which is in the block's head): the linear map's page tables for the
 * block at page granularity (Debian's arm64 kernels map hot-added memory with
 * 4 KiB PTEs under rodata=full: one 8-byte entry per page, 256 KiB per
 * 128 MiB block), one table of the level above, and the memory block device
 * with its sysfs nodes, resource and section bookkeeping (HOTMEM_ADD_DEVICE_BYTES,
 * an upper bound; the lab measured the whole at about 300 KiB per block).
 */
#define HOTMEM_ADD_DEVICE_BYTES (64u << 10)

/* What the running guest kernel is and can do; filled by ops->mm_info(). */
struct hotmem_guest_mm {
	struct hotmem_mm_geometry geo; /* block size, PAGE_SIZE, sizeof(struct page), ... */
	bool memmap_on_memory;	       /* mhp_supports_memmap_on_memory() */
	bool balloon_captures;	       /* the Xen balloon owns the online-page callback */
	bool hotremove;		       /* CONFIG_MEMORY_HOTREMOVE: shrink is possible */
};

/* Policy knobs, fixed at hotmem_core_init() (module parameters). */
struct hotmem_core_config {
	enum hotmem_zone online_zone; /* where plugged blocks go */
	/* Without memmap-on-memory, grow anyway with the memmap taken from
	 * existing memory (memmap_bytes 0); else grows are acked unsupported. */
	bool allow_classic;
	/* Count the memmap head as populated in the balloon's current/target, so
	 * that memory/target moves by the whole block (docs/guest-driver.md). */
	bool memmap_in_target;
	/* List feature populated-blocks (only with memmap_in_target): dom0
	 * populates whole blocks and the platform hands the usable pages to the
	 * page allocator itself, whoever captures them at online. */
	bool own_pages;
	/* With online_zone MOVABLE: online a grow's block to a kernel zone when
	 * the kernel zones' free memory above their min watermarks is less than
	 * twice what adding the request's remaining blocks takes from them
	 * (hotmem_core.add_kernel_bytes each); that block's memory then pays for
	 * the rest's page tables. Such a block is unplugged last and may refuse. */
	bool kernel_block_when_short;
	uint32_t retry_min_ms; /* first backoff after -EBUSY/-ENOMEM, >= 1 */
	uint32_t retry_max_ms; /* backoff cap, >= retry_min_ms */
	uint32_t retry_limit; /* transient failures at a block boundary before a request gives up */
	/* List feature reboot-notice: announce a reboot/poweroff/halt to dom0
	 * and wait up to this long for its answer (0: never announce). */
	uint32_t shutdown_notice_ms;
};

/* Changes to the balloon's books, in PAGE_SIZE pages, for one block. */
struct hotmem_balloon_delta {
	int64_t total_pages;   /* balloon_stats.total_pages: pages Linux has for the balloon */
	int64_t current_pages; /* balloon_stats.current_pages: populated in its view */
	int64_t target_pages;  /* balloon_stats.target_pages */
};

/* Things the owner logs (one line each) or counts. */
enum hotmem_event_type {
	HOTMEM_EVENT_STATE = 0, /* driver state changed: from, to */
	HOTMEM_EVENT_HANDSHAKE, /* handshake written: version, features, window, memmap_bytes */
	HOTMEM_EVENT_BLOCK,	/* a block changed state: block, start, size, block_from/to, err */
	HOTMEM_EVENT_REQUEST,	/* a request was taken on: request */
	HOTMEM_EVENT_REFUSED,	/* a request was refused without work: request, err */
	HOTMEM_EVENT_ACK,	/* an ack was written: ack, err (the failure behind it) */
	HOTMEM_EVENT_VIOLATION, /* a toolstack value was unusable: key, err */
	HOTMEM_EVENT_BROKEN,	/* the device gave up: what, err */
	/* online memory in the window that we never published (not granted to
	 * us, or boot RAM): not adopted at rescan: block, start, size */
	HOTMEM_EVENT_REFUSED_BLOCK,
	/* a grow's block goes to a kernel zone because the kernel zones are
	 * short (cfg.kernel_block_when_short): block, start, size, headroom, need */
	HOTMEM_EVENT_KERNEL_BLOCK,
	/* going down: the notice was answered (err 0) or not (-ETIMEDOUT, or
	 * the write's error) after elapsed_ms: shutdown */
	HOTMEM_EVENT_SHUTDOWN,
	HOTMEM_EVENT_TYPE_COUNT
};

struct hotmem_event {
	enum hotmem_event_type type;
	int err; /* 0 or the negative errno behind the event */
	enum hotmem_state from, to;
	uint32_t block;
	uint64_t start, size; /* guest-physical range of block, bytes */
	enum hotmem_block_state block_from, block_to;
	struct hotmem_request request;
	struct hotmem_ack ack;
	uint32_t version, features;
	struct hotmem_window window;
	uint64_t memmap_bytes;
	uint64_t headroom, need; /* bytes: kernel_headroom() and what the grow needs */
	enum hotmem_shutdown shutdown;
	uint64_t elapsed_ms;
	const char *what; /* key or operation, NUL-terminated, static */
};

/*
 * The platform: everything the core asks of the kernel and of xenstore.
 * Every op returns 0 or a negative errno and may sleep. ctx is the owner's.
 */
struct hotmem_platform_ops {
	/* Read a key relative to the guest's home ("hotmem/version"): up to size
	 * - 1 bytes into buf, NUL-terminated, length in *ret_len. -ENOENT when
	 * absent, -E2BIG when longer than size - 1. */
	int (*xs_read)(void *ctx, const char *key, char *buf, size_t size, size_t *ret_len);
	/* Write len bytes (no NUL) to a key relative to the guest's home. */
	int (*xs_write)(void *ctx, const char *key, const char *value, size_t len);

	/* The running kernel. */
	int (*mm_info)(void *ctx, struct hotmem_guest_mm *ret_mm);
	/* Whether Linux can hot-add [start, start + size) at all. */
	bool (*range_pluggable)(void *ctx, uint64_t start, uint64_t size);
	/* What Linux has at a block (driver reload). */
	int (*probe_block)(void *ctx, uint64_t start, uint64_t size, enum hotmem_probe *ret_probe);
	/* Add one block with the memmap in its head when memmap_on_memory (else
	 * the classic way), to be onlined in zone (an automatic online into
	 * another zone is refused). On failure nothing is left added. */
	int (*add_block)(void *ctx, uint64_t start, uint64_t size, bool memmap_on_memory,
			 enum hotmem_zone zone);
	/* Bring an added block online in zone; 0 only once MEM_ONLINE was seen
	 * for it in that zone. On failure the block is offline. */
	int (*online_block)(void *ctx, uint64_t start, uint64_t size, enum hotmem_zone zone);
	/* offline_and_remove_memory(); on failure the block is as it was
	 * (online). Also removes an offline block. -EBUSY: busy or timed out. */
	int (*offline_and_remove_block)(void *ctx, uint64_t start, uint64_t size);
	/* Apply delta to the balloon's books. -EBUSY when the balloon is working
	 * right now and force is false (nothing changed then). */
	int (*balloon_account)(void *ctx, const struct hotmem_balloon_delta *delta, bool force);
	/* Free bytes of the kernel zones (all but ZONE_MOVABLE) above their min
	 * watermarks, now. Optional (NULL: no block ever goes to a kernel zone
	 * for want of it). */
	int (*kernel_headroom)(void *ctx, uint64_t *ret_bytes);
	/* MemTotal, MemAvailable and memory PSI avg10 (stats->counter ignored). */
	int (*read_stats)(void *ctx, struct hotmem_stats *ret_stats);
	/* Monotonic milliseconds. */
	uint64_t (*now_ms)(void *ctx);
	/* Something worth a log line happened (never on a hot path). */
	void (*event)(void *ctx, const struct hotmem_event *event);
};

/* hotmem_inbox.events bits. */
#define HOTMEM_INBOX_REQUEST	       (1u << 0) /* request holds a parsed H/request */
#define HOTMEM_INBOX_REQUEST_MALFORMED (1u << 1) /* H/request did not parse */
#define HOTMEM_INBOX_STATS_INTERVAL    (1u << 2) /* stats_interval_ms holds a parsed value */
#define HOTMEM_INBOX_STATS_MALFORMED   (1u << 3) /* H/stats-interval-ms did not parse */
#define HOTMEM_INBOX_TOOLSTACK	       (1u << 4) /* H/version changed: handshake if not done */

/* Parsed toolstack values on their way from the watch callbacks to the worker. */
struct hotmem_inbox {
	uint32_t events; /* HOTMEM_INBOX_* */
	struct hotmem_request request;
	uint32_t stats_interval_ms;
};

/* Value of hotmem_core_step() meaning "nothing to do until the next delivery". */
#define HOTMEM_STEP_IDLE ((uint32_t)~0u)

/* The guest driver's protocol state. Owned by the caller, opaque by convention. */
struct hotmem_core {
	const struct hotmem_platform_ops *ops;
	void *ctx;
	struct hotmem_core_config cfg;
	struct hotmem_guest_mm mm;
	struct hotmem_block_layout layout; /* of every block, as this kernel lays it out */
	uint64_t memmap_bytes;		   /* published in H/guest/memmap-bytes */
	uint64_t add_kernel_bytes;	   /* kernel-zone bytes one add takes, at most */
	uint32_t guest_features;	   /* what this guest offers */
	bool grow_ok; /* memmap or classic mode usable and the balloon captures */

	enum hotmem_state state;
	bool handshake_done;
	bool handshake_wanted; /* try it on the next step (at init and on H/version changes) */
	/* H/version or H/window changed after the handshake: was H recreated? */
	bool toolstack_changed;
	/* An ack decided but not (fully) written yet: retried like any other
	 * transient failure until it is. */
	bool ack_unwritten;
	struct hotmem_ack ack_out;
	uint32_t version;  /* negotiated */
	uint32_t features; /* in use: toolstack's & guest's */
	struct hotmem_window window;
	uint32_t nr_blocks; /* in the window */
	uint32_t last_seq;  /* of the last request acked */

	/* Delivered but not yet taken on (newest wins). */
	bool request_pending;
	struct hotmem_request pending;

	/* The request being carried out. */
	bool active;
	struct hotmem_request cur;
	uint32_t done;	  /* blocks plugged/unplugged so far */
	uint32_t block;	  /* block being worked on, valid while busy with one */
	bool on_block;	  /* a block is between two boundary states */
	bool block_error; /* the last error came from a block op, not from xenstore */
	uint32_t retries; /* consecutive transient failures at this step */
	uint32_t backoff_ms;

	/*
	 * Going down (hotmem_core_shutdown_begin()): no request is taken on any
	 * more. notice_unwritten: H/guest/shutdown still to be written (a
	 * transient failure); the wait ends at notice_deadline_ms, answered or
	 * not.
	 */
	bool shutting_down;
	bool notice_sent;
	bool notice_unwritten;
	bool notice_done;
	int notice_err; /* how it ended, once notice_done */
	enum hotmem_shutdown notice;
	uint64_t notice_start_ms;
	uint64_t notice_deadline_ms;

	uint32_t stats_interval_ms;
	uint64_t stats_next_ms;
	uint64_t stats_counter;

	uint32_t plug_clock; /* bumped per plug: newest first on shrink */
	uint32_t nr_in_state[HOTMEM_BLOCK_COUNT];
	uint8_t block_state[HOTMEM_MAX_BLOCKS]; /* enum hotmem_block_state */
	uint32_t plugged_at[HOTMEM_MAX_BLOCKS]; /* plug_clock when plugged */
	uint8_t block_zone[HOTMEM_MAX_BLOCKS];	/* enum hotmem_zone, from the add on */
	uint32_t nr_kernel_blocks;		/* adds into a kernel zone for want of headroom */

	/* Counters for sysfs. */
	uint64_t nr_retries;
	uint64_t nr_requests;
	uint64_t nr_violations;
	int last_err;

	uint64_t scratch[HOTMEM_BLOCKS_WORDS]; /* bitmaps built for one call */
	char buf[HOTMEM_XS_VALUE_MAX + 1];     /* reads and H/guest/blocks */
};

/**
 * hotmem_core_init - set up the core and learn what the kernel can do
 * @core: zeroed or reused storage, owned by the caller
 * @ops: platform ops, all members set
 * @ctx: passed back to every op
 * @cfg: policy
 *
 * Calls ops->mm_info() and lays a block out with layout.h; does not touch
 * xenstore. State is INIT afterwards.
 *
 * returns:
 *	0, on success
 *	-EINVAL, NULL arguments, a bad config, a geometry layout.h refuses, or a
 *		 kernel that claims memmap-on-memory for a layout that layout.h
 *		 says it would refuse (the two disagree: do not guess)
 *	errors of ops->mm_info()
 */
int hotmem_core_init(struct hotmem_core *core, const struct hotmem_platform_ops *ops, void *ctx,
		     const struct hotmem_core_config *cfg);

/**
 * hotmem_inbox_parse_request - parse H/request into an inbox (watch side)
 * @inbox: the inbox
 * @buf: value bytes
 * @len: their number
 *
 * A valid request replaces any request already waiting (the newest value of
 * the key is the one that counts); a malformed one sets
 * HOTMEM_INBOX_REQUEST_MALFORMED and leaves a waiting valid one alone.
 */
void hotmem_inbox_parse_request(struct hotmem_inbox *inbox, const char *buf, size_t len);

/* Same for H/stats-interval-ms. */
void hotmem_inbox_parse_stats_interval(struct hotmem_inbox *inbox, const char *buf, size_t len);

/* H/version or H/window changed (or appeared). */
void hotmem_inbox_toolstack_changed(struct hotmem_inbox *inbox);

/**
 * hotmem_core_deliver - move what the watches parsed into the core
 * @core: the core
 * @inbox: taken and cleared
 *
 * Only records; the work happens in hotmem_core_step().
 */
void hotmem_core_deliver(struct hotmem_core *core, struct hotmem_inbox *inbox);

/**
 * hotmem_core_step - do the next piece of work
 * @core: the core
 *
 * Does at most one block transition (or the handshake, or one ack), then
 * publishes stats if they are due. All retry policy is here: -EAGAIN runs
 * again at once, -EBUSY/-ENOMEM back off (doubling from cfg.retry_min_ms to
 * cfg.retry_max_ms; at a block boundary a request gives up after
 * cfg.retry_limit of them and is acked with what it did), anything else ends
 * the request if it left no block half-way and breaks the device otherwise.
 *
 * returns:
 *	0, call again now
 *	1 .. HOTMEM_STEP_IDLE - 1, call again after that many milliseconds
 *	HOTMEM_STEP_IDLE, nothing to do until the next hotmem_core_deliver()
 */
uint32_t hotmem_core_step(struct hotmem_core *core);

/* How often hotmem_core_shutdown_poll() rereads the answer without a wake-up. */
#define HOTMEM_SHUTDOWN_POLL_MS 100u

/**
 * hotmem_core_shutdown_begin - the kernel is about to reboot, power off or halt
 * @core: the core
 * @how: which (SYS_RESTART, SYS_POWER_OFF, SYS_HALT)
 *
 * Called from the kernel's reboot notifier, before the domain asks Xen to
 * shut it down. From now on the core takes on no request and writes no ack
 * (hotmem_core_step() idles). When feature reboot-notice is in use and this
 * guest holds or is adding blocks, writes H/guest/shutdown = how so that
 * dom0 puts memory/target and static-max back to the configured size before
 * xl rebuilds the domain from them; the caller then waits for the answer
 * with hotmem_core_shutdown_poll(), which never waits longer than
 * cfg.shutdown_notice_ms in all: a reboot must never hang on dom0.
 *
 * returns:
 *	1, a notice is out (or still to be written): poll
 *	0, nothing to announce (feature not in use, no blocks, handshake not
 *	   done, notice off, or called before): go down now
 */
int hotmem_core_shutdown_begin(struct hotmem_core *core, enum hotmem_shutdown how);

/**
 * hotmem_core_shutdown_poll - has dom0 answered the notice
 * @core: the core, after hotmem_core_shutdown_begin() returned 1
 *
 * Writes the notice if an earlier write failed, reads H/shutdown-ack and
 * compares it with the notice. Reports the outcome once through
 * ops->event() (HOTMEM_EVENT_SHUTDOWN).
 *
 * returns:
 *	0, dom0 answered: go down
 *	-ETIMEDOUT, cfg.shutdown_notice_ms passed without an answer (or the
 *	   notice could not be written in that time): go down anyway
 *	> 0, milliseconds to wait (less if a watch on H/shutdown-ack fires)
 *	   before calling again; never past the deadline
 */
int hotmem_core_shutdown_poll(struct hotmem_core *core);

/**
 * hotmem_core_close - the driver is going away
 * @core: the core
 * @remove: try to unplug every block first (one attempt each, newest first)
 *
 * Blocks that cannot be removed stay plugged and listed. Books of blocks
 * half-way are settled with force. Writes H/guest/blocks and state "closed".
 * The core does nothing after this.
 *
 * returns:
 *	number of blocks still plugged (>= 0)
 */
int hotmem_core_close(struct hotmem_core *core, bool remove);

/* Name of a block state ("absent", "added", ...), or "?" for a bad value. */
const char *hotmem_block_state_name(enum hotmem_block_state state);

/* Name of a zone ("movable", "kernel"), or "?" for a bad value. */
const char *hotmem_zone_name(enum hotmem_zone zone);

/**
 * hotmem_core_block_range - guest-physical range of a window block
 * @core: the core (after the handshake)
 * @block: index in the window
 * @ret_start: first byte
 *
 * returns:
 *	0, on success
 *	-ERANGE, block is outside the window or the handshake is not done
 */
int hotmem_core_block_range(const struct hotmem_core *core, uint32_t block, uint64_t *ret_start);

/**
 * hotmem_parse_psi_memory - read avg10 of both lines of /proc/pressure/memory
 * @buf: the file's text ("some avg10=1.23 avg60=... total=N\nfull avg10=...")
 * @len: its length
 * @ret_some: "some" avg10 in hundredths of a percent (0 .. HOTMEM_PSI_MAX)
 * @ret_full: "full" avg10 likewise; 0 when the text has no "full" line
 *
 * returns:
 *	0, on success
 *	-EINVAL, no "some avg10=" line, a number that is not D.DD with
 *		 D <= 100, or NULL arguments
 */
int hotmem_parse_psi_memory(const char *buf, size_t len, uint32_t *ret_some, uint32_t *ret_full);

/**
 * hotmem_parse_meminfo_swap - what /proc/meminfo says the guest has in swap alone
 * @buf: the file's text, or any of its lines that hold SwapCached, SwapTotal
 *	 and SwapFree ("SwapTotal:      262140 kB", one per line, any order)
 * @len: its length
 * @ret_swapped_kib: SwapTotal - SwapFree - SwapCached (0 if cached is more)
 *
 * returns:
 *	0, on success
 *	-EINVAL, one of the three lines missing or not "<name>: <digits> kB",
 *		 SwapFree above SwapTotal, or NULL arguments
 */
int hotmem_parse_meminfo_swap(const char *buf, size_t len, uint64_t *ret_swapped_kib);

#endif /* HOTMEM_CORE_H */
