/*
 * Private to libhotmem: the engine's data structures and the functions its
 * files share. engine.c holds the handle, the domains and the operation state
 * machine; journal.c the write-ahead records in xenstore; frames.c populate
 * and reclaim with extent-order fallback; guest.c reading and judging what
 * the guest published; xs.c transactions and paths; window.c the window
 * arithmetic; dt.c the device-tree fragment.
 *
 * Units: *_kib are KiB as Xen and libxl count max memory and memory/target;
 * *_pages are 4 KiB Xen pages; gfn are guest frame numbers; everything else
 * is bytes.
 */
#ifndef HOTMEM_LIB_ENGINE_H
#define HOTMEM_LIB_ENGINE_H

#include "hotmem/hotmem.h"

/* Longest xenstore path the engine builds (xenstore allows 3072). */
#define HM_PATH_MAX 256

/* Bitmap words of a block set, as proto.h counts them. */
#define HM_WORDS HOTMEM_BLOCKS_WORDS

/* Inline bit test for hot loops (block < HOTMEM_MAX_BLOCKS, unchecked). */
static inline bool hm_bit(const uint64_t *bitmap, uint32_t block)
{
	return bitmap[block / 64] >> (block % 64) & 1;
}

/* Next set bit at or after block, or HOTMEM_MAX_BLOCKS. */
static inline uint32_t hm_next_bit(const uint64_t *bitmap, uint32_t block)
{
	while (block < HOTMEM_MAX_BLOCKS) {
		uint64_t word = bitmap[block / 64] >> (block % 64);

		if (word)
			return block + (uint32_t)__builtin_ctzll(word);
		block = (block | 63) + 1;
	}
	return HOTMEM_MAX_BLOCKS;
}

/*
 * Phase of the journalled operation of a domain: what has been done and so
 * what recovery must do. Written before the step it announces, in the same
 * xenstore transaction as every xenstore change of that step.
 */
enum hm_phase {
	/* No operation: nothing to recover. */
	HM_PHASE_NONE = 0,
	/* Grow intent recorded with every "before" value. Max memory and the
	 * pool may be raised; heads [first, first + progress) are populated and
	 * head first + progress may be in part. Recovery: roll back. */
	HM_PHASE_PREPARE,
	/* The request is in H/request (same transaction). Recovery: finish
	 * from the guest's ack, or leave it outstanding. */
	HM_PHASE_REQUESTED,
	/* Grow ack recorded: granted |= added, target and static-max raised (same
	 * transaction). Recovery: give back the heads of refused blocks, set
	 * max memory and pool for the added ones, drop the record. */
	HM_PHASE_ACKED,
	/* Shrink ack recorded: granted &= ~reclaim, target and static-max lowered
	 * (same transaction). The first progress blocks of the set (ascending)
	 * are given back. Recovery: give back every frame of the rest, lower
	 * max memory and pool, drop the record. */
	HM_PHASE_RECLAIMING,
	HM_PHASE_COUNT
};

/* The journal's operation record (J/<domid>/op and op-blocks). */
struct hm_oprec {
	enum hm_phase phase;
	struct hotmem_request req; /* seq, op, first (grow), count */
	uint64_t memmap_bytes;	   /* grow: head populated per block */
	uint32_t progress;	   /* PREPARE: heads fully populated; RECLAIMING:
				    * blocks of the set given back */
	uint64_t before_max_kib;   /* max memory when the operation started */
	uint64_t before_target_kib;
	uint64_t before_static_max_kib;
	uint64_t before_pool_bytes;
	uint64_t before_tot_pages;
	uint64_t blocks[HM_WORDS]; /* ACKED: added; RECLAIMING: to reclaim */
};

/* Everything the journal holds about one domain (J/<domid>/...). */
struct hm_record {
	uint64_t max_bytes;	   /* hotmem maximum */
	uint64_t window_req_bytes; /* attach parameters, for planning the window */
	uint64_t window_req_base;
	uint64_t boot_bytes;   /* the domain's RAM at attach: the window goes above it */
	bool memmap_in_target; /* memory/target moves by whole blocks, not usable bytes */
	bool have_window;      /* window and block_size are locked */
	struct hotmem_window window;
	uint64_t block_size;
	uint32_t nr_blocks;
	bool have_memmap; /* memmap_bytes is locked (first grow) */
	uint64_t memmap_bytes;
	uint32_t seq; /* last request seq used */
	uint64_t granted[HM_WORDS];
	/* The domain's handle (xl's UUID) at attach (J/<d>/handle): the same
	 * domid with another handle is another domain (the id was reused). */
	bool have_handle;
	uint8_t handle[16];
	/* The domain shut down to reboot (or crashed): memory/target and
	 * static-max were put back to its configured size for xl to rebuild it
	 * from (J/<d>/restored "1"), and a memo left under its handle. */
	bool restored;
	/*
	 * Xen's limits without anything of ours, taken at every operation's
	 * start (libxl's max memory and pool move with xl mem-set): max memory
	 * and the pool are always set to these plus what the record commits
	 * (record_max_kib(), record_pool_bytes()), never by a relative step.
	 */
	uint64_t base_max_kib;
	uint64_t base_pool_bytes;
	/* What dom0 populates of each block of a grow before the request (the
	 * memmap head, or with populated-blocks the whole block), as the last
	 * grow's record says: pending blocks count this much under max memory. */
	uint64_t dom0_bytes;
	/*
	 * Superseded grows (J/<d>/pending "<seq> <pending> <refused>"): the
	 * blocks of grow requests a newer request superseded before the guest
	 * answered. dom0's part of each is populated and counted in max memory;
	 * the guest's first ack with a seq >= pending_seq settles them by its
	 * block list (listed: granted; not listed: refused). Refused blocks'
	 * dom0 part is being given back.
	 */
	uint32_t pending_seq;
	uint64_t pending[HM_WORDS];
	uint64_t refused[HM_WORDS];
	/*
	 * The guest held more frames than the records allow after the engine
	 * lowered max memory (J/<d>/frozen "<seq> <pages>"): no grow until the
	 * domain is detached (or dies). What could be reclaimed was.
	 */
	bool frozen;
	uint32_t frozen_seq;
	uint64_t frozen_pages;
	struct hm_oprec rec;
};

/*
 * State of one window block as the engine sees it, derived from the record by
 * dom_sync_blocks() through block_set_state(), the only writer, which keeps
 * the per-state totals.
 */
enum hm_block_state {
	HM_BLOCK_FREE = 0,   /* no frames of ours, no operation: may be granted */
	HM_BLOCK_PREPARING,  /* a grow populates its head (before the request) */
	HM_BLOCK_REQUESTED,  /* head populated, the guest is asked to add it */
	HM_BLOCK_GRANTED,    /* added and online in the guest; recorded */
	HM_BLOCK_REFUSED,    /* the grow's ack did not add it: head going back */
	HM_BLOCK_RECLAIMING, /* gone from the guest after a shrink: frames going back */
	HM_BLOCK_PENDING,    /* of a superseded grow: dom0's part populated, no answer yet */
	HM_BLOCK_STATE_COUNT
};

enum hm_op_state {
	HM_OP_PREPARE,	 /* grow: raise max and pool, populate heads, request */
	HM_OP_WAIT_ACK,	 /* request written, waiting for the matching ack */
	HM_OP_WAIT_FILL, /* grow recorded; waiting for the balloon to fill */
	HM_OP_RECOVER,	 /* a step failed: settle the journal record (retried) */
	HM_OP_DONE,
};

struct hm_domain {
	struct hm_domain *next;
	uint32_t domid;
	struct hm_record record; /* mirror of the journal after each commit */
	uint8_t block_state[HOTMEM_MAX_BLOCKS];
	uint32_t block_count[HM_BLOCK_STATE_COUNT];
	struct hotmem_operation *op; /* running operation, if any */
	bool watching;		     /* H/guest watch registered */
	bool event;		     /* a watch fired, not acted on yet */
	bool shutdown_event;	     /* ... for H/guest/shutdown (or all of H/guest) */
	uint32_t event_budget;	     /* event-driven reads allowed now (token bucket) */
	uint64_t event_budget_ms;    /* when the budget was last refilled */
	bool need_recover;	     /* settle the journal record when recover_at passes */
	uint64_t recover_at;
	uint32_t recover_backoff_ms;
	bool violation; /* the guest broke the protocol since its last good ack */
	/* J/<domid> loads as record (jr_load() would return it): a transaction
	 * loaded it or committed its store; false after a store whose commit
	 * failed, which may or may not have landed. Stores then write only the
	 * keys that change. */
	bool jr_exact;
};

struct hotmem_operation {
	struct hotmem_operation *next; /* hm->ops */
	struct hotmem *hm;
	struct hm_domain *dom; /* NULL once done */
	uint32_t domid;
	enum hm_op_state state;
	bool handle_freed;    /* the caller let go: free when done */
	bool raised;	      /* PREPARE: max memory and pool raised */
	uint32_t next_block;  /* PREPARE: next head to populate (relative) */
	uint64_t deadline_ms; /* WAIT_ACK / WAIT_FILL give up at */
	uint64_t wake_ms;     /* next timed step */
	uint32_t backoff_ms;
	uint64_t fill_expect_pages;
	uint64_t phase_ms; /* when the phase result.phases is timing began */
	struct hotmem_result result;
};

struct hotmem {
	struct hv *hv;
	struct hotmem_config cfg;
	char journal_dir[HM_PATH_MAX];
	struct hm_domain *domains;    /* ascending domid */
	struct hotmem_operation *ops; /* every handle not yet freed */
	bool release_watched;
	struct hotmem_counters counters;
	/* Our claim on the journal (<journal_dir>/owner): every journal write
	 * checks it, so a second engine on the same journal makes the older
	 * one stop (-ESTALE) instead of both writing. */
	uint64_t generation;
	bool stale;	 /* another engine claimed the journal: we do nothing more */
	bool introduced; /* @introduceDomain fired since the last dispatch */
	bool introduce_watched;
	struct hm_return *returns; /* rebuilt grown domains giving memory back (reboot.c) */
	bool claim_checked;	   /* this dispatch checked the claim already */
};

/* ---- xs.c ---------------------------------------------------------------- */

/* A transaction body: re-run from scratch on -EAGAIN, so it must not keep
 * state between runs except by overwriting its outputs. */
typedef int (*hm_txn_fn)(struct hotmem *hm, hv_xs_txn txn, void *ctx);

/* Run fn in a transaction, retried cfg.txn_retries times on a conflict. */
int hm_txn(struct hotmem *hm, hm_txn_fn fn, void *ctx);

/* /local/domain/<domid>/<rel>. */
int hm_dom_path(char *buf, size_t size, uint32_t domid, const char *rel);

/* <journal_dir>/<domid>[/<key>] (key NULL: the directory). */
int hm_journal_path(const struct hotmem *hm, char *buf, size_t size, uint32_t domid,
		    const char *key);

/* Read path into a malloc()ed, NUL-terminated buffer. */
int hm_xs_read(struct hotmem *hm, hv_xs_txn txn, const char *path, char **ret_value,
	       size_t *ret_len);
int hm_xs_write(struct hotmem *hm, hv_xs_txn txn, const char *path, const char *value);
/* Canonical unsigned decimal as libxl writes memory/target (0 or -EINVAL/-E*). */
int hm_xs_read_dec(struct hotmem *hm, hv_xs_txn txn, const char *path, uint64_t *ret_value);
int hm_xs_write_dec(struct hotmem *hm, hv_xs_txn txn, const char *path, uint64_t value);

/* Strict canonical parsers of one field (no sign, no leading zero). */
int hm_parse_dec(const char *buf, size_t len, uint64_t *ret_value);
int hm_parse_hex(const char *buf, size_t len, uint64_t *ret_value);

/* ---- journal.c ----------------------------------------------------------- */

/* Load J/<domid>: -ENOENT not journalled, -EUCLEAN malformed. */
int jr_load(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, struct hm_record *ret_record);
/* Write every key of record (op keys removed when phase is NONE). */
int jr_store(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, const struct hm_record *record);
/*
 * The same over a journal known to load as stored (jr_load() would return
 * it): only the keys whose text differs are written or removed, so that it
 * then loads as record (stored NULL: every key, jr_store()).
 */
int jr_store_over(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, const struct hm_record *record,
		  const struct hm_record *stored);
int jr_remove(struct hotmem *hm, hv_xs_txn txn, uint32_t domid);
/* Journalled domids (malloc()ed array); an absent journal is an empty list. */
int jr_list(struct hotmem *hm, uint32_t **ret_domids, size_t *ret_count);
const char *jr_phase_name(enum hm_phase phase);
/* Claim the journal: owner = its value + 1 (hm->generation). */
int jr_claim(struct hotmem *hm);
/* 0 if the journal is still ours, else -ESTALE (and hm->stale set). */
int jr_check_owner(struct hotmem *hm, hv_xs_txn txn);

/* ---- frames.c ------------------------------------------------------------ */

/*
 * Populate [gfn, gfn + pages) with the largest aligned extents that fit,
 * falling back to smaller orders on -ENOMEM. *ret_populated (always set)
 * counts the pages populated, also on failure.
 */
int hm_populate_range(struct hotmem *hm, uint32_t domid, uint64_t gfn, uint64_t pages,
		      uint64_t *ret_populated);
/*
 * Give back every frame of [gfn, gfn + pages): largest order first, an
 * extent that fails retried at smaller orders, down to single pages that are
 * skipped when they have no frame. *ret_reclaimed and *ret_skipped (always
 * set) count pages. Fails only on errors other than "no frame there".
 */
int hm_reclaim_range(struct hotmem *hm, uint32_t domid, uint64_t gfn, uint64_t pages,
		     uint64_t *ret_reclaimed, uint64_t *ret_skipped);

/* ---- guest.c ------------------------------------------------------------- */

/* The guest keys, as bits of struct hm_guest_view's masks. */
enum hm_guest_key {
	HM_GK_VERSION = 0,
	HM_GK_FEATURES,
	HM_GK_BLOCK_SIZE,
	HM_GK_MEMMAP,
	HM_GK_STATE,
	HM_GK_ACK,
	HM_GK_BLOCKS,
	HM_GK_STATS,
	HM_GK_COUNT
};
#define HM_GK_BIT(key) (1u << (key))
#define HM_GK_ALL      (HM_GK_BIT(HM_GK_COUNT) - 1)
/*
 * Every key but H/guest/stats: what the engine's decisions read. A guest
 * rewrites its stats every stats-interval (1 s while hotmemd asks), so a
 * transaction that read them and took longer than that (a loaded dom0: the
 * lab's CI) conflicted on every retry and was refused -EAGAIN.
 */
#define HM_GK_PROTOCOL (HM_GK_ALL & ~HM_GK_BIT(HM_GK_STATS))
/* The key's path under the domain (HOTMEM_KEY_GUEST_*), for key < HM_GK_COUNT. */
const char *hm_guest_key_path(enum hm_guest_key key);

/* What the guest published; a field is meaningful only if its bit is in valid. */
struct hm_guest_view {
	uint32_t present; /* keys that exist (readable) */
	uint32_t valid;	  /* keys that exist and parse (memmap: and fits the block) */
	uint32_t version;
	uint32_t features;
	uint64_t block_size;
	uint64_t memmap_bytes;
	enum hotmem_state state;
	struct hotmem_ack ack;
	uint64_t blocks[HM_WORDS];
	struct hotmem_stats stats;
};

/* Read and parse the guest's HM_GK_PROTOCOL keys inside txn; missing keys are not errors. */
int guest_read(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, struct hm_guest_view *ret_view);
/* Only the keys in the HM_GK_BIT() mask keys (each a round trip); the others read as missing. */
int guest_read_keys(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, uint32_t keys,
		    struct hm_guest_view *ret_view);
/*
 * Whether a grow may be sent: 0 ready, -EAGAIN not yet (keys missing, state
 * not ready, no window), -EPROTO keys present but breaking the protocol or
 * disagreeing with the locked window, block size or memmap size.
 */
int guest_check_ready(const struct hotmem *hm, const struct hm_record *record,
		      const struct hm_guest_view *view, uint32_t *ret_features);

/* ---- engine.c, for reboot.c ---------------------------------------------- */

/*
 * Put memory/target and static-max back to the configured size for xl's
 * rebuild (once; the book is marked restored and journalled with it, and
 * with memo the memo under its handle a rebuilt domain is recognised by)
 * and, answer >= 0, write H/shutdown-ack = that enum hotmem_shutdown in the
 * same transaction. 0 or the transaction's error.
 */
int hm_dom_restore(struct hotmem *hm, struct hm_domain *dom, int answer, bool memo);

/* ---- reboot.c ------------------------------------------------------------ */

/* On an event of dom: act on H/guest/shutdown if the guest announced one. */
void hm_shutdown_notice(struct hotmem *hm, struct hm_domain *dom);
/* <journal_dir>/reboot/<handle as 32 hex digits> (engine.c). */
int hm_reboot_memo_path(const struct hotmem *hm, const uint8_t *handle, char *buf, size_t size);
/* A domain was introduced (or the engine starts): a rebuilt domain that came
 * back grown starts giving the memory back. */
void hm_reboot_scan(struct hotmem *hm);
/* Every dispatch: finish what the balloons gave back (or ran out of time). */
void hm_reboot_poll(struct hotmem *hm);
/* When hm_reboot_poll() wants to run next (UINT64_MAX: never). */
uint64_t hm_reboot_wake(const struct hotmem *hm);
/* Is domid giving back the memory of a grown boot (no operation may start)? */
bool hm_reboot_returning(const struct hotmem *hm, uint32_t domid);
/* Fill info's returning/returned/booted_static_max_kib from the journal. */
void hm_reboot_return_info(struct hotmem *hm, const uint8_t *handle, uint32_t domid,
			   struct hotmem_reboot_info *info);
void hm_reboot_free(struct hotmem *hm);

/* ---- window.c ------------------------------------------------------------ */

uint64_t hm_pool_pages_per_block(uint64_t block_size);

#endif /* HOTMEM_LIB_ENGINE_H */
