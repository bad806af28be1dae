/*
 * The grant engine: the handle, the attached domains and the grow/shrink
 * state machine that runs on them.
 *
 * Every step that changes anything follows the same order: record it in the
 * journal (together with its xenstore side effects, in one transaction),
 * then make the hypervisor call. Recovery never needs to know how far a
 * step got: dom_settle() reads the journal's record and runs the one action
 * of its phase, and every such action is idempotent (frames are given back
 * by probing decrease, max memory and the pool are set to absolute values
 * computed from the recorded "before" values). The same dom_settle() serves
 * a failed step in this process, a retry after a transient error, and a new
 * process finding a dead one's journal (hotmem_reconcile()).
 *
 * Grow, in order (docs/toolstack.md has the full table):
 *   op_start   admission, journal PREPARE with max/target/static-max/pool/tot
 *   step       raise max memory by whole blocks and the pool per block
 *   step x N   populate what block_populate_plan() says (a block's memmap head,
 *              or with populated-blocks whole blocks, a GiB at a time where
 *              aligned), journal progress
 *   step       write H/request + journal REQUESTED (one transaction)
 *   step       on the matching ack: journal ACKED with the added set, raise
 *              memory/target and static-max for it (one transaction)
 *              give back refused heads, set max/pool for the added blocks,
 *              drop the record; then wait for tot_pages (the balloon fill)
 * Shrink:
 *   op_start   journal REQUESTED + write H/request (one transaction)
 *   step       on the ack: reclaim = granted & ~guest blocks; journal
 *              RECLAIMING, lower target and static-max (one transaction);
 *              give back every frame of those blocks, lower max and pool,
 *              drop the record
 *
 * Retry policy lives in op_fail() and op_wait_ack(): before the request any
 * failure rolls back and ends the operation with that error; after it, the
 * operation must finish, so failures are retried with a doubling backoff
 * (retry_ms .. retry_max_ms) until the domain dies.
 */
#include "engine.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKEN_PREFIX	"hotmem:"
#define TOKEN_RELEASE	"hotmem:@release"
#define TOKEN_INTRODUCE "hotmem:@introduce"

#define KIB_SHIFT 10

/* What dom_settle() found and did. */
struct settle_report {
	bool rolled_back;
	bool finished;
	bool outstanding;
};

static int dom_settle(struct hotmem *hm, struct hm_domain *dom, struct hotmem_result *res,
		      struct settle_report *report);

/* ---- time ---------------------------------------------------------------- */

static uint64_t monotonic_ms(void *opaque)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_ms(const struct hotmem *hm)
{
	return hm->cfg.clock_ms(hm->cfg.clock_opaque);
}

/* ms from since to now, for hotmem_op_phases (saturated, never negative). */
static uint32_t ms_since(const struct hotmem *hm, uint64_t since)
{
	uint64_t now = now_ms(hm);

	if (now <= since)
		return 0;
	return now - since > UINT32_MAX ? UINT32_MAX : (uint32_t)(now - since);
}

/* ---- blocks -------------------------------------------------------------- */

static uint64_t block_gpa(const struct hm_record *record, uint32_t block)
{
	return record->window.base + (uint64_t)block * record->block_size;
}

static uint64_t block_gfn(const struct hm_record *record, uint32_t block)
{
	return block_gpa(record, block) >> HV_PAGE_SHIFT;
}

static uint64_t block_kib(const struct hm_record *record)
{
	return record->block_size >> KIB_SHIFT;
}

static uint64_t usable_kib(const struct hm_record *record)
{
	return (record->block_size - record->memmap_bytes) >> KIB_SHIFT;
}

/* What memory/target moves by per block. */
static uint64_t target_step_kib(const struct hm_record *record)
{
	return record->memmap_in_target ? block_kib(record) : usable_kib(record);
}

static uint64_t pool_per_block(const struct hm_record *record)
{
	return hotmem_pool_bytes_per_block(record->block_size);
}

/* Largest extent frames.c uses: 1 GiB of 4 KiB pages (order 18). */
#define POPULATE_GIB_PAGES (1ull << 18)

/*
 * block_populate_plan - what dom0 populates for a grow, the one place that
 * decides it. With features 0 it returns in *ret_bytes what dom0 populates at
 * the head of every block: the whole block when populated-blocks is in use
 * (the guest hands every usable page to its allocator; memory/target moves
 * by whole blocks, so only with the record's memmap_in_target), else the memmap
 * head the guest published (the balloon populates the rest). That value is
 * journalled as rec->memmap_bytes. Given a record, it fills *ret_gfn and
 * *ret_pages with the next populate call from block index from (0-based in
 * the request) and returns how many blocks it covers: whole blocks go a
 * 1 GiB-aligned GiB at a time where the request covers one, so frames.c can
 * use one order-18 extent (order 9 otherwise); heads go block by block.
 */
static uint32_t block_populate_plan(const struct hm_record *record, uint32_t features,
				    uint64_t memmap_bytes, const struct hm_oprec *rec,
				    uint32_t from, uint64_t *ret_bytes, uint64_t *ret_gfn,
				    uint64_t *ret_pages)
{
	uint64_t gfn, block_pages = record->block_size >> HV_PAGE_SHIFT;
	uint32_t blocks = 1;

	if (!rec) {
		*ret_bytes =
			(features & HOTMEM_FEATURE_POPULATED_BLOCKS) && record->memmap_in_target
				? record->block_size
				: memmap_bytes;
		return 0;
	}
	gfn = block_gfn(record, rec->req.first + from);
	if (rec->memmap_bytes == record->block_size && block_pages < POPULATE_GIB_PAGES &&
	    !(gfn & (POPULATE_GIB_PAGES - 1)) &&
	    (uint64_t)(rec->req.count - from) * block_pages >= POPULATE_GIB_PAGES)
		blocks = (uint32_t)(POPULATE_GIB_PAGES / block_pages);
	*ret_gfn = gfn;
	*ret_pages = rec->memmap_bytes == record->block_size ? blocks * block_pages
							     : rec->memmap_bytes >> HV_PAGE_SHIFT;
	return blocks;
}

static uint32_t bitmap_weight(const uint64_t *bitmap)
{
	uint32_t i, n = 0;

	for (i = 0; i < HM_WORDS; i++)
		n += (uint32_t)__builtin_popcountll(bitmap[i]);
	return n;
}

/*
 * What dom0 itself populates of each block before the request, in KiB: the
 * memmap head; the guest's balloon populates the rest after its ack. (With
 * a guest that has dom0 populate whole blocks, this is the block.) Before
 * the guest acks a block, max memory covers only this much of it, so a
 * guest can never populate the rest of a block it was not granted.
 */
static uint64_t dom0_kib_per_block(const struct hm_record *record)
{
	return record->dom0_bytes >> KIB_SHIFT;
}

/* Blocks of the record's grow whose dom0 part may be populated now. */
static uint32_t rec_inflight(const struct hm_record *record)
{
	const struct hm_oprec *rec = &record->rec;

	if (rec->req.op != HOTMEM_OP_GROW)
		return 0;
	if (rec->phase == HM_PHASE_PREPARE && rec->progress < rec->req.count) {
		uint64_t bytes, gfn, pages;

		/* The blocks done and those of the step that may be in flight. */
		return rec->progress +
		       block_populate_plan(record, 0, 0, rec, rec->progress, &bytes, &gfn, &pages);
	}
	if (rec->phase == HM_PHASE_PREPARE)
		return rec->req.count;
	return rec->phase == HM_PHASE_REQUESTED ? rec->req.count : 0;
}

/*
 * Max memory the record commits to: Xen's base, whole granted blocks, dom0's
 * part of pending blocks and of the record's in-flight blocks (with_rec).
 * Every max memory setting is this absolute value, so any step may be
 * redone after a crash.
 */
static uint64_t record_max_kib(const struct hm_record *record, bool with_rec)
{
	uint64_t dom0_blocks =
		bitmap_weight(record->pending) + (with_rec ? rec_inflight(record) : 0);

	return record->base_max_kib + bitmap_weight(record->granted) * block_kib(record) +
	       dom0_blocks * dom0_kib_per_block(record);
}

/* The P2M pool for granted, pending and (with_rec) the record's grow blocks. */
static uint64_t record_pool_bytes(const struct hm_record *record, bool with_rec)
{
	uint64_t blocks = bitmap_weight(record->granted) + bitmap_weight(record->pending);

	if (with_rec && record->rec.req.op == HOTMEM_OP_GROW &&
	    (record->rec.phase == HM_PHASE_PREPARE || record->rec.phase == HM_PHASE_REQUESTED))
		blocks += record->rec.req.count;
	return record->base_pool_bytes + blocks * pool_per_block(record);
}

/* The only writer of block_state[]; keeps the per-state totals. */
static void block_set_state(struct hm_domain *dom, uint32_t block, enum hm_block_state state)
{
	dom->block_count[dom->block_state[block]]--;
	dom->block_state[block] = (uint8_t)state;
	dom->block_count[state]++;
}

/* Derive every block's state from the record. */
static void dom_sync_blocks(struct hm_domain *dom)
{
	const struct hm_record *record = &dom->record;
	const struct hm_oprec *rec = &record->rec;
	uint32_t block;

	memset(dom->block_state, HM_BLOCK_FREE, sizeof(dom->block_state));
	memset(dom->block_count, 0, sizeof(dom->block_count));
	dom->block_count[HM_BLOCK_FREE] = HOTMEM_MAX_BLOCKS;
	for (block = hm_next_bit(record->granted, 0); block < HOTMEM_MAX_BLOCKS;
	     block = hm_next_bit(record->granted, block + 1))
		block_set_state(dom, block, HM_BLOCK_GRANTED);
	for (block = hm_next_bit(record->pending, 0); block < HOTMEM_MAX_BLOCKS;
	     block = hm_next_bit(record->pending, block + 1))
		block_set_state(dom, block, HM_BLOCK_PENDING);
	for (block = hm_next_bit(record->refused, 0); block < HOTMEM_MAX_BLOCKS;
	     block = hm_next_bit(record->refused, block + 1))
		block_set_state(dom, block, HM_BLOCK_REFUSED);
	if (rec->phase == HM_PHASE_RECLAIMING) {
		for (block = hm_next_bit(rec->blocks, 0); block < HOTMEM_MAX_BLOCKS;
		     block = hm_next_bit(rec->blocks, block + 1))
			block_set_state(dom, block, HM_BLOCK_RECLAIMING);
	}
	if (rec->req.op != HOTMEM_OP_GROW || rec->phase == HM_PHASE_NONE)
		return;
	for (block = rec->req.first; block < rec->req.first + rec->req.count; block++) {
		if (rec->phase == HM_PHASE_PREPARE)
			block_set_state(dom, block, HM_BLOCK_PREPARING);
		else if (rec->phase == HM_PHASE_REQUESTED)
			block_set_state(dom, block, HM_BLOCK_REQUESTED);
		else if (!hm_bit(rec->blocks, block))
			block_set_state(dom, block, HM_BLOCK_REFUSED);
	}
}

/* Take record as the domain's, not known to be what J/<domid> loads as. */
static void record_sync(struct hm_domain *dom, const struct hm_record *record)
{
	dom->record = *record;
	dom->jr_exact = false;
	dom_sync_blocks(dom);
}

/*
 * Take record as the domain's, known to be what J/<domid> loads as: a
 * transaction just loaded it, or one that stored it (dom_store()) committed.
 */
static void record_known(struct hm_domain *dom, const struct hm_record *record)
{
	record_sync(dom, record);
	dom->jr_exact = true;
}

/*
 * Store record in J/<domid> inside txn: only the keys that change when the
 * journal is known to load as dom->record (most steps move one or two keys
 * of fourteen, and every key is a xenstore round trip), every key
 * otherwise. Until record_known() says this store landed, it is not known.
 */
static int dom_store(struct hotmem *hm, hv_xs_txn txn, struct hm_domain *dom,
		     const struct hm_record *record)
{
	const struct hm_record *stored = dom->jr_exact ? &dom->record : NULL;

	dom->jr_exact = false;
	return jr_store_over(hm, txn, dom->domid, record, stored);
}

static void emit(struct hotmem *hm, const struct hm_domain *dom, enum hotmem_progress_event event,
		 uint32_t block)
{
	const struct hm_record *record = &dom->record;
	struct hotmem_progress progress = {
		.domid = dom->domid,
		.seq = record->rec.req.seq,
		.kind = record->rec.req.op == HOTMEM_OP_SHRINK ? HOTMEM_OP_KIND_SHRINK
							       : HOTMEM_OP_KIND_GROW,
		.event = event,
		.block = block,
		.gpa = block_gpa(record, block),
		.bytes = record->block_size,
	};

	if (hm->cfg.progress)
		hm->cfg.progress(hm->cfg.progress_opaque, &progress);
}

/* ---- journal transactions ------------------------------------------------ */

struct store_ctx {
	struct hm_domain *dom;
	const struct hm_record *record;
};

static int store_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct store_ctx *ctx = arg;

	return dom_store(hm, txn, ctx->dom, ctx->record);
}

/* Journal record and, once committed, make it the domain's. */
static int record_commit(struct hotmem *hm, struct hm_domain *dom, const struct hm_record *record)
{
	struct store_ctx ctx = { .dom = dom, .record = record };
	int r;

	r = hm_txn(hm, store_txn, &ctx);
	if (r < 0)
		return r;
	record_known(dom, record);
	return 0;
}

/*
 * Scratch of a transaction that reads a record. Like every record copy in this
 * file it lives on the stack: struct hm_record is about 2.3 KiB and no call
 * chain of the engine holds more than a few of them.
 */
struct load_ctx {
	uint32_t domid;
	struct hm_record record;
};

static int load_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct load_ctx *ctx = arg;

	return jr_load(hm, txn, ctx->domid, &ctx->record);
}

/* Re-read the journal (a failed commit may or may not have landed). */
static int record_reload(struct hotmem *hm, struct hm_domain *dom)
{
	struct load_ctx ctx = { .domid = dom->domid };
	int r;

	r = hm_txn(hm, load_txn, &ctx);
	if (r < 0)
		return r;
	record_known(dom, &ctx.record);
	return 0;
}

/* Add (raise) or take (!raise, clamped at 0) KiB from memory/target and static-max. */
static int adjust_memory_keys(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, bool raise,
			      uint64_t target_kib, uint64_t static_kib)
{
	static const char *const keys[2] = { "memory/target", "memory/static-max" };
	const uint64_t deltas[2] = { target_kib, static_kib };
	const struct hm_domain *dom;
	unsigned int i;
	int r;

	/* Put back for xl's rebuild (restored): grants no longer move them. */
	for (dom = hm->domains; dom; dom = dom->next)
		if (dom->domid == domid && dom->record.restored)
			return 0;
	for (i = 0; i < 2; i++) {
		char path[HM_PATH_MAX];
		uint64_t value;

		r = hm_dom_path(path, sizeof(path), domid, keys[i]);
		if (r < 0)
			return r;
		r = hm_xs_read_dec(hm, txn, path, &value);
		if (r < 0)
			return r;
		if (raise)
			value += deltas[i];
		else
			value = value > deltas[i] ? value - deltas[i] : 0;
		r = hm_xs_write_dec(hm, txn, path, value);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * put_dom_key - write one protocol value to /local/domain/<domid>/<key>:
 * text is what a hotmem_format_*() call wrote and len what it returned (the
 * length, or a negative errno that is passed on), so a key is written in one
 * call: put_dom_key(hm, txn, domid, KEY, text, hotmem_format_x(text, ...)).
 */
static int put_dom_key(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, const char *key,
		       const char *text, int len)
{
	char path[HM_PATH_MAX];
	int r;

	if (len < 0)
		return len;
	r = hm_dom_path(path, sizeof(path), domid, key);
	if (r < 0)
		return r;
	return hm_xs_write(hm, txn, path, text);
}

/* Read /local/domain/<domid>/<key> as a decimal. */
static int read_dom_dec(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, const char *key,
			uint64_t *ret_value)
{
	char path[HM_PATH_MAX];
	int r;

	r = hm_dom_path(path, sizeof(path), domid, key);
	if (r < 0)
		return r;
	return hm_xs_read_dec(hm, txn, path, ret_value);
}

/* Read /local/domain/<domid>/<key> (malloc()ed into *ret_value, its length in *ret_len). */
static int read_dom_key(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, const char *key,
			char **ret_value, size_t *ret_len)
{
	char path[HM_PATH_MAX];
	int r;

	r = hm_dom_path(path, sizeof(path), domid, key);
	if (r < 0)
		return r;
	return hm_xs_read(hm, txn, path, ret_value, ret_len);
}

/* Remove /local/domain/<domid>/<key> and everything under it. */

static int rm_dom_key(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, const char *key)
{
	char path[HM_PATH_MAX];
	int r;

	r = hm_dom_path(path, sizeof(path), domid, key);
	if (r < 0)
		return r;
	return hm->hv->ops->xs_rm(hm->hv, txn, path);
}

/* ---- domains ------------------------------------------------------------- */

static struct hm_domain *dom_find(const struct hotmem *hm, uint32_t domid)
{
	struct hm_domain *dom;

	for (dom = hm->domains; dom; dom = dom->next)
		if (dom->domid == domid)
			return dom;
	return NULL;
}

static void dom_token(char *buf, size_t size, uint32_t domid)
{
	snprintf(buf, size, TOKEN_PREFIX "%" PRIu32, domid);
}

static int dom_watch(struct hotmem *hm, struct hm_domain *dom)
{
	char path[HM_PATH_MAX], token[32];
	int r;

	if (dom->watching)
		return 0;
	r = hm_dom_path(path, sizeof(path), dom->domid, HOTMEM_KEY_GUEST_DIR);
	if (r < 0)
		return r;
	dom_token(token, sizeof(token), dom->domid);
	r = hm->hv->ops->xs_watch(hm->hv, path, token);
	if (r < 0 && r != -EEXIST)
		return r;
	dom->watching = true;
	return 0;
}

static void dom_unwatch(struct hotmem *hm, struct hm_domain *dom)
{
	char path[HM_PATH_MAX], token[32];

	if (!dom->watching)
		return;
	if (!hm_dom_path(path, sizeof(path), dom->domid, HOTMEM_KEY_GUEST_DIR)) {
		dom_token(token, sizeof(token), dom->domid);
		hm->hv->ops->xs_unwatch(hm->hv, path, token);
	}
	dom->watching = false;
}

static struct hm_domain *dom_new(struct hotmem *hm, uint32_t domid, const struct hm_record *record)
{
	struct hm_domain *dom = calloc(1, sizeof(*dom));
	struct hm_domain **link;

	if (!dom)
		return NULL;
	dom->domid = domid;
	/* Just loaded (dom_load()) or stored by a committed attach. */
	record_known(dom, record);
	for (link = &hm->domains; *link && (*link)->domid < domid; link = &(*link)->next)
		;
	dom->next = *link;
	*link = dom;
	return dom;
}

static void dom_unlink_free(struct hotmem *hm, struct hm_domain *dom)
{
	struct hm_domain **link;

	for (link = &hm->domains; *link; link = &(*link)->next) {
		if (*link == dom) {
			*link = dom->next;
			break;
		}
	}
	free(dom);
}

/*
 * 0 alive, -ESRCH dying, gone, or another domain under the same id (its
 * handle is not the one journalled at attach), other errors from domain_info.
 */
static int dom_alive(struct hotmem *hm, const struct hm_domain *dom)
{
	struct hv_domain_info info;
	int r;

	r = hm->hv->ops->domain_info(hm->hv, dom->domid, &info);
	if (r < 0)
		return r;
	if (dom->record.have_handle && memcmp(info.handle, dom->record.handle, sizeof(info.handle)))
		return -ESRCH;
	return info.dying ? -ESRCH : 0;
}

static void op_finish(struct hotmem_operation *op);

/*
 * Drop a dead domain's record. Xen frees everything a destroyed domain
 * owned, so nothing is given back; the journal goes (a failure to remove it
 * is harmless: the next reconcile finds the domain dead again).
 */
static void dom_release(struct hotmem *hm, struct hm_domain *dom)
{
	if (dom->op) {
		dom->op->result.error = -ESRCH;
		op_finish(dom->op);
	}
	jr_remove(hm, HV_XS_NO_TXN, dom->domid);
	dom_unwatch(hm, dom);
	hm->counters.releases++;
	dom_unlink_free(hm, dom);
}

/* Load a journalled domain into memory (and watch it). */
static int dom_load(struct hotmem *hm, uint32_t domid, struct hm_domain **ret_dom)
{
	struct load_ctx ctx = { .domid = domid };
	struct hm_domain *dom;
	int r;

	r = hm_txn(hm, load_txn, &ctx);
	if (r < 0)
		return r;
	dom = dom_new(hm, domid, &ctx.record);
	if (!dom)
		return -ENOMEM;
	/* A watch that fails now is retried by the next dispatch. */
	dom_watch(hm, dom);
	dom->event = true;
	dom->shutdown_event = true;
	*ret_dom = dom;
	return 0;
}

/* In memory, or from the journal; -ENOENT if not attached. */
static int dom_get(struct hotmem *hm, uint32_t domid, struct hm_domain **ret_dom)
{
	struct hm_domain *dom = dom_find(hm, domid);

	if (dom) {
		*ret_dom = dom;
		return 0;
	}
	if (!domid || domid > HOTMEM_DOMID_MAX)
		return -ENOENT;
	return dom_load(hm, domid, ret_dom);
}

/* ---- window handshake ---------------------------------------------------- */

struct window_ctx {
	struct hm_domain *dom;
	struct hm_record record; /* out */
};

static int window_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct window_ctx *ctx = arg;
	const struct hm_record *old = &ctx->dom->record;
	char text[HOTMEM_SHORT_VALUE_SIZE];
	struct hm_guest_view view;
	struct hotmem_window window;
	uint32_t features;
	int r;

	r = guest_read(hm, txn, ctx->dom->domid, &view);
	if (r < 0)
		return r;
	if (view.present & HM_GK_BIT(HM_GK_FEATURES) & ~view.valid)
		return -EPROTO;
	if (!(view.valid & HM_GK_BIT(HM_GK_BLOCK_SIZE)) ||
	    !(view.valid & HM_GK_BIT(HM_GK_FEATURES)))
		return -EAGAIN;
	r = hotmem_window_plan(old->boot_bytes, view.block_size, old->window_req_bytes,
			       old->window_req_base, &window);
	if (r < 0)
		return r;
	ctx->record = *old;
	ctx->record.have_window = true;
	ctx->record.window = window;
	ctx->record.block_size = view.block_size;
	r = hotmem_window_check(&window, view.block_size, &ctx->record.nr_blocks);
	if (r < 0)
		return r;
	/*
	 * How memory/target moves is locked with the window: by whole blocks
	 * only if both sides do it. A guest that does not is offered the
	 * feature no more, in the transaction that gives it the window, so the
	 * guest's features in use and the record agree from its first request.
	 */
	if (ctx->record.memmap_in_target && !(view.features & HOTMEM_FEATURE_TARGET_BLOCKS)) {
		ctx->record.memmap_in_target = false;
		/* populated-blocks needs whole-block targets: it goes too. */
		features = hm->cfg.features &
			   ~(HOTMEM_FEATURE_TARGET_BLOCKS | HOTMEM_FEATURE_POPULATED_BLOCKS);
		r = put_dom_key(hm, txn, ctx->dom->domid, HOTMEM_KEY_FEATURES, text,
				hotmem_format_features(text, sizeof(text), features));
		if (r < 0)
			return r;
	}
	r = put_dom_key(hm, txn, ctx->dom->domid, HOTMEM_KEY_WINDOW, text,
			hotmem_format_window(text, sizeof(text), &window));
	if (r < 0)
		return r;
	return dom_store(hm, txn, ctx->dom, &ctx->record);
}

/*
 * Choose and publish the window once the guest has published a valid block
 * size; locked from then on. -EAGAIN while there is no valid block size.
 */
static int dom_handshake(struct hotmem *hm, struct hm_domain *dom)
{
	struct window_ctx ctx = { .dom = dom };
	int r;

	if (dom->record.have_window)
		return 0;
	r = hm_txn(hm, window_txn, &ctx);
	if (r < 0)
		return r;
	record_known(dom, &ctx.record);
	return 0;
}

/* ---- hypervisor settings ------------------------------------------------- */

static int set_max_kib(struct hotmem *hm, uint32_t domid, uint64_t max_kib)
{
	return hm->hv->ops->set_max_mem(hm->hv, domid, max_kib);
}

/*
 * Set the P2M pool. Lowering it fails when the guest still maps pages whose
 * tables we meant to free (sim: -EBUSY; Xen 4.17 frees what it can and says
 * -ENOMEM, "P2M freelist is empty"). Then, after one more try (the failure
 * may have been transient), the pool stays bigger: that costs the host a few
 * pages and nothing else, while insisting would retry forever.
 */
static int set_pool(struct hotmem *hm, uint32_t domid, uint64_t bytes, bool lowering)
{
	int r = hm->hv->ops->set_p2m_pool(hm->hv, domid, bytes);

	if (lowering && (r == -EBUSY || r == -ENOMEM)) {
		r = hm->hv->ops->set_p2m_pool(hm->hv, domid, bytes);
		if (r == -EBUSY || r == -ENOMEM)
			r = 0;
	}
	return r;
}

/* ---- the steps after the request ----------------------------------------- */

/*
 * Read the guest's answer to the journalled request. 0: the ack answers it
 * and H/guest/blocks is valid (in *view); -EINPROGRESS: no answer yet (an
 * older, missing or malformed ack: section 8 says keep waiting); -ENOLINK: no
 * answer and the guest is broken or closed; -EPROTO: an ack that breaks the
 * rules, or a valid ack with malformed blocks (nothing can be reclaimed).
 */
static int ack_read(struct hotmem *hm, hv_xs_txn txn, const struct hm_domain *dom,
		    struct hm_guest_view *view)
{
	int r;

	/* What an answer is made of: the rest would be round trips for nothing. */
	r = guest_read_keys(hm, txn, dom->domid,
			    HM_GK_BIT(HM_GK_ACK) | HM_GK_BIT(HM_GK_STATE) | HM_GK_BIT(HM_GK_BLOCKS),
			    view);
	if (r < 0)
		return r;
	r = -EAGAIN;
	if (view->valid & HM_GK_BIT(HM_GK_ACK))
		r = hotmem_ack_check(&dom->record.rec.req, &view->ack);
	if (r == -EAGAIN) {
		if ((view->valid & HM_GK_BIT(HM_GK_STATE)) &&
		    (view->state == HOTMEM_STATE_BROKEN || view->state == HOTMEM_STATE_CLOSED))
			return -ENOLINK;
		return -EINPROGRESS;
	}
	if (r < 0 || !(view->valid & HM_GK_BIT(HM_GK_BLOCKS)))
		return -EPROTO;
	return 0;
}

struct ack_ctx {
	struct hm_domain *dom;
	struct hm_guest_view view; /* out */
	struct hm_record record;   /* out */
	uint32_t nr_blocks;	   /* out: added (grow) or to reclaim (shrink) */
	uint32_t nr_pending_added; /* out: superseded grows' blocks the guest added */
};

/*
 * An ack with a seq >= pending_seq settles the superseded grows by the
 * guest's block list (the guest handles requests in order, and after
 * acking it never touches an unlisted block of an earlier request): listed
 * pending blocks are granted, the others refused (dom0's part goes back).
 * Returns how many were granted.
 */
static uint32_t record_settle_pending(struct hm_record *record, const uint64_t *listed)
{
	uint32_t block, added = 0;

	for (block = hm_next_bit(record->pending, 0); block < HOTMEM_MAX_BLOCKS;
	     block = hm_next_bit(record->pending, block + 1)) {
		if (hotmem_blocks_test(listed, block)) {
			hotmem_blocks_set(record->granted, block, 1);
			added++;
		} else {
			hotmem_blocks_set(record->refused, block, 1);
		}
	}
	hotmem_blocks_zero(record->pending);
	record->pending_seq = 0;
	return added;
}

static int grow_ack_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct ack_ctx *ctx = arg;
	const struct hm_record *old = &ctx->dom->record;
	const struct hm_oprec *rec = &old->rec;
	uint32_t block;
	int r;

	r = ack_read(hm, txn, ctx->dom, &ctx->view);
	if (r < 0)
		return r;
	ctx->record = *old;
	hotmem_blocks_zero(ctx->record.rec.blocks);
	ctx->nr_blocks = 0;
	for (block = rec->req.first; block < rec->req.first + rec->req.count; block++) {
		if (!hotmem_blocks_test(ctx->view.blocks, block))
			continue;
		hotmem_blocks_set(ctx->record.rec.blocks, block, 1);
		hotmem_blocks_set(ctx->record.granted, block, 1);
		ctx->nr_blocks++;
	}
	ctx->nr_pending_added = record_settle_pending(&ctx->record, ctx->view.blocks);
	ctx->record.rec.phase = HM_PHASE_ACKED;
	r = adjust_memory_keys(hm, txn, ctx->dom->domid, true,
			       (ctx->nr_blocks + ctx->nr_pending_added) * target_step_kib(old),
			       (ctx->nr_blocks + ctx->nr_pending_added) * block_kib(old));
	if (r < 0)
		return r;
	return dom_store(hm, txn, ctx->dom, &ctx->record);
}

static int shrink_ack_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct ack_ctx *ctx = arg;
	const struct hm_record *old = &ctx->dom->record;
	int r;

	r = ack_read(hm, txn, ctx->dom, &ctx->view);
	if (r < 0)
		return r;
	ctx->record = *old;
	/* Granted by us and no longer listed: the frames come back. */
	hotmem_blocks_andnot(ctx->record.rec.blocks, old->granted, ctx->view.blocks);
	hotmem_blocks_andnot(ctx->record.granted, old->granted, ctx->record.rec.blocks);
	ctx->nr_blocks = bitmap_weight(ctx->record.rec.blocks);
	ctx->nr_pending_added = record_settle_pending(&ctx->record, ctx->view.blocks);
	ctx->record.rec.phase = HM_PHASE_RECLAIMING;
	ctx->record.rec.progress = 0;
	/* Blocks the superseded grows added raise what this shrink lowers. */
	if (ctx->nr_pending_added) {
		r = adjust_memory_keys(hm, txn, ctx->dom->domid, true,
				       ctx->nr_pending_added * target_step_kib(old),
				       ctx->nr_pending_added * block_kib(old));
		if (r < 0)
			return r;
	}
	r = adjust_memory_keys(hm, txn, ctx->dom->domid, false,
			       ctx->nr_blocks * target_step_kib(old),
			       ctx->nr_blocks * block_kib(old));
	if (r < 0)
		return r;
	return dom_store(hm, txn, ctx->dom, &ctx->record);
}

/*
 * Record the guest's answer to a REQUESTED record (grow or shrink): one
 * transaction moves the journal to ACKED/RECLAIMING, moves memory/target and
 * static-max, and fills the result. Returns ack_read()'s codes otherwise.
 */
struct peek_ctx {
	struct hm_domain *dom;
	uint32_t answered; /* out: blocks the guest's answer adds (this grow, pending) */
};

/* How many of the blocks rec's request asks for the guest lists as added. */
static uint32_t request_blocks_listed(const struct hm_oprec *rec, const uint64_t *listed)
{
	uint32_t block, nr = 0;

	for (block = rec->req.first; block < rec->req.first + rec->req.count; block++)
		nr += hm_bit(listed, block);
	return nr;
}

/* Reads only the ack, and the block list if the ack answers something. */
static int peek_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct peek_ctx *ctx = arg;
	const struct hm_record *record = &ctx->dom->record;
	const struct hm_oprec *rec = &record->rec;
	bool this_grow = rec->phase == HM_PHASE_REQUESTED && rec->req.op == HOTMEM_OP_GROW;
	uint64_t listed[HM_WORDS];
	struct hotmem_ack ack;
	char *value = NULL;
	size_t len = 0;
	uint32_t block;
	int r;

	ctx->answered = 0;
	r = read_dom_key(hm, txn, ctx->dom->domid, HOTMEM_KEY_GUEST_ACK, &value, &len);
	if (r < 0 || hotmem_parse_ack(value, len, &ack) < 0 || ack.seq > record->seq)
		goto out; /* no answer here: the recording transaction decides */
	this_grow = this_grow && !hotmem_ack_check(&rec->req, &ack);
	if (!this_grow && !(bitmap_weight(record->pending) && ack.seq >= record->pending_seq))
		goto out;
	free(value);
	value = NULL;
	r = read_dom_key(hm, txn, ctx->dom->domid, HOTMEM_KEY_GUEST_BLOCKS, &value, &len);
	if (r < 0 || hotmem_parse_blocks(value, len, listed) < 0)
		goto out;
	if (this_grow)
		ctx->answered += request_blocks_listed(rec, listed);
	if (bitmap_weight(record->pending) && ack.seq >= record->pending_seq)
		for (block = hm_next_bit(record->pending, 0); block < HOTMEM_MAX_BLOCKS;
		     block = hm_next_bit(record->pending, block + 1))
			ctx->answered += hm_bit(listed, block);
out:
	free(value);
	return r == -ENOENT ? 0 : r;
}

/*
 * Before the transaction that records an answer raises memory/target (the
 * guest's balloon fills as soon as it sees it), raise max memory by the
 * rest of every block the answer adds (answered; none: nothing to do): the
 * guest gets the room for exactly the blocks it acked, at the ack. A guest
 * that changes its answer in between gets at most that room until the
 * finish sets the exact value.
 */
static int raise_for(struct hotmem *hm, struct hm_domain *dom, uint32_t answered)
{
	const struct hm_record *record = &dom->record;

	if (!answered)
		return 0;
	return set_max_kib(hm, dom->domid,
			   record_max_kib(record, true) +
				   answered * (block_kib(record) - dom0_kib_per_block(record)));
}

/* raise_for() what the answer adds, counted in a transaction of its own. */
static int raise_for_answer(struct hotmem *hm, struct hm_domain *dom)
{
	struct peek_ctx ctx = { .dom = dom };
	int r;

	r = hm_txn(hm, peek_txn, &ctx);
	if (r < 0)
		return r;
	return raise_for(hm, dom, ctx.answered);
}

/*
 * answered: what ack_maybe() counted for a plain grow from the ack and
 * block list it just read (they need not be read again in a transaction of
 * their own: the raise only opens room for blocks of this request, and the
 * recording transaction decides), or -1 to peek here.
 */
static int record_ack(struct hotmem *hm, struct hm_domain *dom, struct hotmem_result *res,
		      int64_t answered)
{
	bool grow = dom->record.rec.req.op == HOTMEM_OP_GROW;
	struct ack_ctx ctx = { .dom = dom };
	const struct hm_record *record;
	uint32_t block;
	int r;

	r = answered < 0 ? raise_for_answer(hm, dom) : raise_for(hm, dom, (uint32_t)answered);
	if (r < 0)
		return r;
	r = hm_txn(hm, grow ? grow_ack_txn : shrink_ack_txn, &ctx);
	if (r == -EPROTO && !dom->violation) {
		dom->violation = true;
		hm->counters.violations++;
	}
	if (r < 0)
		return r;
	record_known(dom, &ctx.record);
	dom->violation = false;
	record = &dom->record;
	res->kind = grow ? HOTMEM_OP_KIND_GROW : HOTMEM_OP_KIND_SHRINK;
	res->seq = record->rec.req.seq;
	res->blocks_requested = record->rec.req.count;
	res->have_ack = true;
	res->guest_status = ctx.view.ack.status;
	res->guest_done = ctx.view.ack.done;
	res->blocks_done = ctx.nr_blocks;
	res->bytes_done = (uint64_t)ctx.nr_blocks * record->block_size;
	res->usable_bytes_done = (uint64_t)ctx.nr_blocks * (usable_kib(record) << KIB_SHIFT);
	res->target_bytes_done = (uint64_t)ctx.nr_blocks * (target_step_kib(record) << KIB_SHIFT);
	res->error = ctx.nr_blocks >= record->rec.req.count ? 0 : -EREMOTEIO;
	if (grow) {
		res->pages_populated =
			(uint64_t)ctx.nr_blocks * (record->rec.memmap_bytes >> HV_PAGE_SHIFT);
		for (block = hm_next_bit(record->rec.blocks, 0); block < HOTMEM_MAX_BLOCKS;
		     block = hm_next_bit(record->rec.blocks, block + 1))
			emit(hm, dom, HOTMEM_PROGRESS_ONLINE, block);
	}
	return 0;
}

/* Drop the record (and the refused blocks once given back): the operation is over. */
static int record_close_op(struct hotmem *hm, struct hm_domain *dom, bool refused_done)
{
	struct hm_record next = dom->record;

	memset(&next.rec, 0, sizeof(next.rec));
	if (refused_done)
		hotmem_blocks_zero(next.refused);
	return record_commit(hm, dom, &next);
}

/* Give back what dom0 populated of one block (head_only: record->dom0_bytes) or all of it. */
static int reclaim_block(struct hotmem *hm, struct hm_domain *dom, uint32_t block, bool head_only,
			 struct hotmem_result *res)
{
	const struct hm_record *record = &dom->record;
	uint64_t pages = (head_only ? record->dom0_bytes : record->block_size) >> HV_PAGE_SHIFT;
	uint64_t reclaimed = 0, skipped = 0, began;
	int r;

	if (!pages)
		return 0;
	began = now_ms(hm);
	r = hm_reclaim_range(hm, dom->domid, block_gfn(record, block), pages, &reclaimed, &skipped);
	res->phases.reclaim_hv_ms += ms_since(hm, began);
	res->pages_reclaimed += reclaimed;
	res->pages_skipped += skipped;
	return r;
}

/* Give back the refused blocks of superseded grows (dom0's part, or whole). */
static int reclaim_refused(struct hotmem *hm, struct hm_domain *dom, bool whole,
			   struct hotmem_result *res)
{
	uint32_t block;
	int r = 0;

	for (block = hm_next_bit(dom->record.refused, 0); block < HOTMEM_MAX_BLOCKS;
	     block = hm_next_bit(dom->record.refused, block + 1)) {
		r = reclaim_block(hm, dom, block, !whole, res);
		if (r < 0)
			return r;
		emit(hm, dom, HOTMEM_PROGRESS_REFUSED, block);
	}
	return 0;
}

/*
 * Compare Xen's tot_pages with the records once max memory was set to what
 * they commit. A guest above them holds frames it was never granted (it
 * populated through a limit somebody else raised, or a frame dom0 could not
 * take back): the blocks in scrub (the ones just given back) are reclaimed
 * whole, and whatever is still above is a protocol violation: the domain is
 * frozen (no more grows) with the excess journalled, res->pages_overdrawn
 * says how much. The library does not log: its callers report it.
 */
static int dom_check_overdraw(struct hotmem *hm, struct hm_domain *dom, const uint64_t *scrub,
			      struct hotmem_result *res)
{
	uint64_t limit = record_max_kib(&dom->record, true) >> (HV_PAGE_SHIFT - KIB_SHIFT);
	struct hv_domain_info info;
	struct hm_record next;
	uint32_t block;
	int r;

	r = hm->hv->ops->domain_info(hm->hv, dom->domid, &info);
	if (r < 0 || info.tot_pages <= limit)
		return r;
	for (block = hm_next_bit(scrub, 0); block < HOTMEM_MAX_BLOCKS;
	     block = hm_next_bit(scrub, block + 1)) {
		if (dom->block_state[block] != HM_BLOCK_FREE)
			continue;
		r = reclaim_block(hm, dom, block, false, res);
		if (r < 0)
			return r;
	}
	r = hm->hv->ops->domain_info(hm->hv, dom->domid, &info);
	if (r < 0 || info.tot_pages <= limit)
		return r;
	res->pages_overdrawn = info.tot_pages - limit;
	hm->counters.violations++;
	dom->violation = true;
	next = dom->record;
	next.frozen = true;
	next.frozen_seq = next.seq;
	next.frozen_pages = info.tot_pages - limit;
	return record_commit(hm, dom, &next);
}

/*
 * PREPARE: lower max memory to the record without this grow first (the guest
 * can then populate nothing while the heads go), give back every head that
 * may hold frames, lower the pool, drop the record.
 */
static int grow_rollback(struct hotmem *hm, struct hm_domain *dom, struct hotmem_result *res)
{
	const struct hm_oprec *rec = &dom->record.rec;
	uint64_t scrub[HM_WORDS] = { 0 }, bytes, gfn, pages;
	uint32_t heads = 0, i;
	int r;

	/* Every block populated, and those of the step that may have been in flight. */
	if (rec->memmap_bytes)
		heads = rec->progress < rec->req.count
				? rec->progress + block_populate_plan(&dom->record, 0, 0, rec,
								      rec->progress, &bytes, &gfn,
								      &pages)
				: rec->req.count;
	r = set_max_kib(hm, dom->domid, record_max_kib(&dom->record, false));
	if (r < 0)
		return r;
	for (i = 0; i < heads; i++) {
		r = reclaim_block(hm, dom, rec->req.first + i, true, res);
		if (r < 0)
			return r;
		emit(hm, dom, HOTMEM_PROGRESS_ROLLED_BACK, rec->req.first + i);
	}
	r = set_pool(hm, dom->domid, record_pool_bytes(&dom->record, false), true);
	if (r < 0)
		return r;
	for (i = 0; i < rec->req.count; i++)
		hotmem_blocks_set(scrub, rec->req.first + i, 1);
	r = record_close_op(hm, dom, false);
	if (r < 0)
		return r;
	hm->counters.rollbacks++;
	return dom_check_overdraw(hm, dom, scrub, res);
}

/*
 * The end both a grow and a shrink share once their own blocks are dealt
 * with (max memory already at the record): the heads of refused superseded
 * blocks back, the pool down to the record, the operation dropped from it,
 * then the overdraw check over scrub (the blocks just given back).
 */
static int op_record_close(struct hotmem *hm, struct hm_domain *dom, const uint64_t *scrub,
			   struct hotmem_result *res)
{
	int r;

	r = reclaim_refused(hm, dom, false, res);
	if (r < 0)
		return r;
	r = set_pool(hm, dom->domid, record_pool_bytes(&dom->record, false), true);
	if (r < 0)
		return r;
	r = record_close_op(hm, dom, true);
	if (r < 0)
		return r;
	return dom_check_overdraw(hm, dom, scrub, res);
}

/*
 * ACKED, the end of a grow: max memory to the record (the added blocks whole,
 * nothing for the refused ones) before their heads and those of refused
 * superseded blocks go back, then the pool; the record is dropped.
 */
static int grow_finish(struct hotmem *hm, struct hm_domain *dom, struct hotmem_result *res)
{
	const struct hm_record *record = &dom->record;
	const struct hm_oprec *rec = &record->rec;
	uint64_t scrub[HM_WORDS];
	uint32_t block;
	int r;

	memcpy(scrub, record->refused, sizeof(scrub));
	r = set_max_kib(hm, dom->domid, record_max_kib(record, false));
	if (r < 0)
		return r;
	for (block = rec->req.first; block < rec->req.first + rec->req.count; block++) {
		if (hotmem_blocks_test(rec->blocks, block))
			continue;
		hotmem_blocks_set(scrub, block, 1);
		r = reclaim_block(hm, dom, block, true, res);
		if (r < 0)
			return r;
		emit(hm, dom, HOTMEM_PROGRESS_REFUSED, block);
	}
	return op_record_close(hm, dom, scrub, res);
}

/*
 * RECLAIMING: max memory down to the record first (so the guest cannot
 * populate again what each block frees), then every frame of the reclaim
 * set, refused superseded heads, the pool. Blocks go in ascending order and
 * each finished one is journalled (progress), so recovery after a crash
 * re-walks at most one block.
 */
static int shrink_reclaim(struct hotmem *hm, struct hm_domain *dom, struct hotmem_result *res)
{
	const struct hm_record *record = &dom->record;
	const struct hm_oprec *rec = &record->rec;
	struct hm_record next;
	uint64_t scrub[HM_WORDS];
	uint32_t block, index = 0, i;
	int r;

	for (i = 0; i < HM_WORDS; i++)
		scrub[i] = rec->blocks[i] | record->refused[i];
	r = set_max_kib(hm, dom->domid, record_max_kib(record, false));
	if (r < 0)
		return r;
	for (block = hm_next_bit(rec->blocks, 0); block < HOTMEM_MAX_BLOCKS;
	     block = hm_next_bit(rec->blocks, block + 1), index++) {
		if (index < rec->progress)
			continue;
		r = reclaim_block(hm, dom, block, false, res);
		if (r < 0)
			return r;
		next = *record;
		next.rec.progress = index + 1;
		r = record_commit(hm, dom, &next);
		if (r < 0)
			return r;
		emit(hm, dom, HOTMEM_PROGRESS_RECLAIMED, block);
	}
	return op_record_close(hm, dom, scrub, res);
}

struct pending_ctx {
	struct hm_domain *dom;
	struct hm_record record; /* out */
	bool settled;		 /* out */
};

/* Settle superseded grows from an ack with a seq >= pending_seq, if there is one. */
static int pending_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct pending_ctx *ctx = arg;
	const struct hm_record *old = &ctx->dom->record;
	struct hm_guest_view view;
	uint32_t added;
	int r;

	ctx->settled = false;
	r = guest_read(hm, txn, ctx->dom->domid, &view);
	if (r < 0)
		return r;
	/* Older, missing or malformed: no answer yet; newer than ours: record_ack's business. */
	if (!(view.valid & HM_GK_BIT(HM_GK_ACK)) || !(view.valid & HM_GK_BIT(HM_GK_BLOCKS)) ||
	    view.ack.seq < old->pending_seq || view.ack.seq > old->seq)
		return 0;
	ctx->record = *old;
	added = record_settle_pending(&ctx->record, view.blocks);
	r = adjust_memory_keys(hm, txn, ctx->dom->domid, true, added * target_step_kib(old),
			       added * block_kib(old));
	if (r < 0)
		return r;
	r = dom_store(hm, txn, ctx->dom, &ctx->record);
	if (r < 0)
		return r;
	ctx->settled = true;
	return 0;
}

/*
 * Give back the refused blocks of superseded grows (dom0's part, or whole:
 * an abandon) and drop them from the record: max memory lowered first, the
 * frames, the pool after; then the overdraw check over them.
 */
static int drop_refused(struct hotmem *hm, struct hm_domain *dom, bool whole,
			struct hotmem_result *res)
{
	uint64_t scrub[HM_WORDS];
	struct hm_record next;
	int r;

	memcpy(scrub, dom->record.refused, sizeof(scrub));
	r = set_max_kib(hm, dom->domid, record_max_kib(&dom->record, true));
	if (r < 0)
		return r;
	r = reclaim_refused(hm, dom, whole, res);
	if (r < 0)
		return r;
	r = set_pool(hm, dom->domid, record_pool_bytes(&dom->record, true), true);
	if (r < 0)
		return r;
	next = dom->record;
	hotmem_blocks_zero(next.refused);
	r = record_commit(hm, dom, &next);
	if (r < 0)
		return r;
	return dom_check_overdraw(hm, dom, scrub, res);
}

/*
 * Superseded grows: settle them if the guest answered, and give back the
 * dom0 part of refused blocks (max memory lowered first, pool after).
 */
static int dom_settle_pending(struct hotmem *hm, struct hm_domain *dom, struct hotmem_result *res)
{
	struct pending_ctx ctx = { .dom = dom };
	int r;

	if (bitmap_weight(dom->record.pending)) {
		r = raise_for_answer(hm, dom);
		if (r < 0)
			return r;
		r = hm_txn(hm, pending_txn, &ctx);
		if (r < 0)
			return r;
		if (ctx.settled) {
			record_known(dom, &ctx.record);
			/* Exactly the record now (whole blocks for those added). */
			if (!bitmap_weight(dom->record.refused)) {
				r = set_max_kib(hm, dom->domid, record_max_kib(&dom->record, true));
				if (r < 0)
					return r;
			}
		}
	}
	if (!bitmap_weight(dom->record.refused))
		return 0;
	return drop_refused(hm, dom, false, res);
}

/*
 * Settle the journal record of dom: roll back a grow that never got its
 * request out, finish one whose ack is there, leave one whose ack is not
 * (report->outstanding). Every action is idempotent, so this is safe after a
 * crash at any step and after any failure. Returns 0 (settled or
 * outstanding) or the error that stopped it (the record then still says
 * what is left to do).
 */
static int dom_settle(struct hotmem *hm, struct hm_domain *dom, struct hotmem_result *res,
		      struct settle_report *report)
{
	int r;

	r = record_reload(hm, dom);
	while (!r) {
		switch (dom->record.rec.phase) {
		case HM_PHASE_NONE:
			return dom_settle_pending(hm, dom, res);
		case HM_PHASE_PREPARE:
			r = grow_rollback(hm, dom, res);
			report->rolled_back = !r;
			break;
		case HM_PHASE_REQUESTED:
			r = record_ack(hm, dom, res, -1);
			if (r == -EINPROGRESS || r == -ENOLINK || r == -EPROTO) {
				report->outstanding = true;
				return dom_settle_pending(hm, dom, res);
			}
			break;
		case HM_PHASE_ACKED:
			r = grow_finish(hm, dom, res);
			report->finished = !r;
			break;
		case HM_PHASE_RECLAIMING:
			r = shrink_reclaim(hm, dom, res);
			report->finished = !r;
			break;
		default:
			r = -EUCLEAN;
			break;
		}
		if (!r)
			hm->counters.recoveries++;
	}
	return r;
}

/* ---- operations ---------------------------------------------------------- */

/* The time of the phase that just ended, and the next one begins now. */
static uint32_t op_lap(struct hotmem_operation *op)
{
	uint32_t lap = ms_since(op->hm, op->phase_ms);

	op->phase_ms += lap;
	return lap;
}

static void op_unlink_free(struct hotmem_operation *op)
{
	struct hotmem_operation **link;

	for (link = &op->hm->ops; *link; link = &(*link)->next) {
		if (*link == op) {
			*link = op->next;
			break;
		}
	}
	free(op);
}

static void op_finish(struct hotmem_operation *op)
{
	if (op->dom && op->dom->op == op)
		op->dom->op = NULL;
	op->dom = NULL;
	op->state = HM_OP_DONE;
	op->hm->counters.ops_done++;
	if (op->handle_freed)
		op_unlink_free(op);
}

static uint32_t backoff_next(const struct hotmem *hm, uint32_t backoff_ms)
{
	uint32_t next = backoff_ms ? backoff_ms * 2 : hm->cfg.retry_ms;

	return next > hm->cfg.retry_max_ms ? hm->cfg.retry_max_ms : next;
}

/* A hypercall said -ESRCH: if the domain is really dead, drop its record. */
static bool released_if_dead(struct hotmem *hm, struct hm_domain *dom, int r)
{
	if (r != -ESRCH || dom_alive(hm, dom) != -ESRCH)
		return false;
	dom_release(hm, dom);
	return true;
}

static void op_start_fill_wait(struct hotmem_operation *op, uint64_t now)
{
	if (!op->fill_expect_pages) {
		op_finish(op);
		return;
	}
	op->state = HM_OP_WAIT_FILL;
	op->deadline_ms = now + op->hm->cfg.fill_timeout_ms;
	op->wake_ms = now;
}

/* RECOVER: settle the record; retried with backoff until it works. */
static void op_recover(struct hotmem_operation *op, uint64_t now)
{
	struct hotmem *hm = op->hm;
	struct hm_domain *dom = op->dom;
	struct settle_report report = { 0 };
	int r;

	r = dom_settle(hm, dom, &op->result, &report);
	if (r < 0) {
		if (released_if_dead(hm, dom, r))
			return;
		op->backoff_ms = backoff_next(hm, op->backoff_ms);
		op->wake_ms = now + op->backoff_ms;
		return;
	}
	op->backoff_ms = 0;
	if (report.outstanding) {
		/* The request got out after all (a commit that failed late). */
		op->result.error = 0;
		op->result.seq = dom->record.rec.req.seq;
		op->state = HM_OP_WAIT_ACK;
		op->deadline_ms = now + hm->cfg.ack_timeout_ms;
		op->wake_ms = op->deadline_ms;
		return;
	}
	op_start_fill_wait(op, now);
}

/* A step failed: before the request that ends the operation, after it not. */
static void op_fail(struct hotmem_operation *op, int r, uint64_t now)
{
	if (op->state == HM_OP_PREPARE)
		op->result.error = r;
	if (released_if_dead(op->hm, op->dom, r))
		return;
	op->state = HM_OP_RECOVER;
	op_recover(op, now);
}

struct request_ctx {
	struct hm_domain *dom;
	const struct hm_record *from; /* the record the request moves on */
	struct hm_record record;      /* out */
};

static int request_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct request_ctx *ctx = arg;
	char text[HOTMEM_SHORT_VALUE_SIZE];
	int r;

	ctx->record = *ctx->from;
	ctx->record.rec.phase = HM_PHASE_REQUESTED;
	r = put_dom_key(hm, txn, ctx->dom->domid, HOTMEM_KEY_REQUEST, text,
			hotmem_format_request(text, sizeof(text), &ctx->record.rec.req));
	if (r < 0)
		return r;
	return dom_store(hm, txn, ctx->dom, &ctx->record);
}

/*
 * Write the request and journal the record from (dom's record, or the one a
 * last populate step leaves) as REQUESTED, in one transaction; the
 * operation then waits for the ack.
 */
static int op_request(struct hotmem_operation *op, const struct hm_record *from, uint64_t now)
{
	struct hm_domain *dom = op->dom;
	struct request_ctx ctx = { .dom = dom, .from = from };
	int r;

	r = hm_txn(op->hm, request_txn, &ctx);
	if (r < 0)
		return r;
	record_known(dom, &ctx.record);
	op->result.seq = dom->record.rec.req.seq;
	op->state = HM_OP_WAIT_ACK;
	op->deadline_ms = now + op->hm->cfg.ack_timeout_ms;
	op->wake_ms = op->deadline_ms;
	return 0;
}

/*
 * PREPARE, one populate call: max memory up by the step's dom0 part, the
 * populate, the progress journalled. The last step journals its progress
 * in the transaction that writes the request (op_request()): the guest
 * gets it a transaction and a dispatch sooner, and the journal passes
 * through the same states (populated blocks counted, then REQUESTED)
 * without the one in between. On failure the room left for the step is
 * closed again before anything else happens.
 */
static int op_populate_step(struct hotmem_operation *op, uint64_t now)
{
	struct hotmem *hm = op->hm;
	struct hm_domain *dom = op->dom;
	const struct hm_record *record = &dom->record;
	const struct hm_oprec *rec = &record->rec;
	uint64_t populated = 0, gfn = 0, pages = 0, bytes, began;
	struct hm_record next;
	uint32_t blocks, first, i;
	bool last;
	int r;

	blocks = block_populate_plan(record, 0, 0, rec, op->next_block, &bytes, &gfn, &pages);
	/*
	 * Max memory grows by these blocks' dom0 part just before dom0
	 * populates it (record_max_kib counts [0, progress + blocks)), so
	 * between steps the guest has no room of ours to populate into:
	 * the rest of each block is raised only at the ack, for the blocks
	 * the guest added.
	 */
	r = set_max_kib(hm, dom->domid, record_max_kib(record, true));
	if (r < 0)
		goto close;
	began = now_ms(hm);
	r = hm_populate_range(hm, dom->domid, gfn, pages, &populated);
	op->result.phases.populate_hv_ms += ms_since(hm, began);
	if (r < 0)
		goto close;
	next = *record;
	next.rec.progress = op->next_block + blocks;
	last = next.rec.progress == rec->req.count;
	/* op_request() moves dom->record on: the blocks to report, from before. */
	first = rec->req.first + op->next_block;
	r = last ? op_request(op, &next, now) : record_commit(hm, dom, &next);
	if (r < 0)
		return r;
	for (i = 0; i < blocks; i++)
		emit(hm, dom, HOTMEM_PROGRESS_POPULATED, first + i);
	op->next_block += blocks;
	op->result.phases.populate_steps++;
	op->result.phases.populate_ms += op_lap(op);
	return 0;
close:
	/* Close the room left for this step at once, before the rollback's
	 * journal reads: the guest must not get it. */
	set_max_kib(hm, dom->domid,
		    record_max_kib(record, true) - blocks * dom0_kib_per_block(record) +
			    (populated << (HV_PAGE_SHIFT - KIB_SHIFT)));
	return r;
}

/* PREPARE: one unit of work per call (raise, one head, or the request). */
static int op_prepare_step(struct hotmem_operation *op, uint64_t now)
{
	struct hotmem *hm = op->hm;
	struct hm_domain *dom = op->dom;
	const struct hm_record *record = &dom->record;
	const struct hm_oprec *rec = &record->rec;
	int r;

	if (!op->raised) {
		/* The pool is dom0's (page tables), never the guest's: all of it at once. */
		r = set_pool(hm, dom->domid, record_pool_bytes(record, true), false);
		if (r < 0)
			return r;
		op->raised = true;
		op->result.phases.pool_ms += op_lap(op);
		return 0;
	}
	if (rec->memmap_bytes && op->next_block < rec->req.count)
		return op_populate_step(op, now);
	r = op_request(op, record, now);
	if (r < 0)
		return r;
	op->result.phases.request_ms += op_lap(op);
	return 0;
}

/*
 * Whether H/guest may hold news for a WAIT_ACK: an ack that answers the
 * request (or breaks the rules), or a broken or closed guest. While the
 * guest works it writes its keys for every block and each write wakes us;
 * two plain reads here spare the two transactions that record an answer
 * (raise_for_answer(), then the ack's own) on each of those wakes, and the
 * xenstore traffic they would add to the guest's own while it adds and
 * onlines blocks. A "no" decides nothing: the write that would make it a
 * "yes" wakes us again, and the deadline still ends the wait. With
 * superseded grows to settle (pending, refused) every wake takes the full
 * path, as before. A "yes" to this grow also reads the block list and says
 * in *ret_answered how many of the request's blocks it lists (else -1), so
 * record_ack() need not peek at both again in a transaction.
 */
static bool ack_maybe(struct hotmem *hm, const struct hm_domain *dom, int64_t *ret_answered)
{
	const struct hm_record *record = &dom->record;
	const struct hm_oprec *rec = &record->rec;
	uint64_t listed[HM_WORDS];
	enum hotmem_state state;
	struct hotmem_ack ack;
	char *value = NULL;
	size_t len = 0;
	bool maybe = true;
	int r, answers;

	*ret_answered = -1;
	if (bitmap_weight(record->pending) || bitmap_weight(record->refused))
		goto out;
	r = read_dom_key(hm, HV_XS_NO_TXN, dom->domid, HOTMEM_KEY_GUEST_ACK, &value, &len);
	if (r < 0 && r != -ENOENT && r != -EACCES)
		goto out; /* xenstore trouble: the full path sees it and backs off */
	answers = !r && !hotmem_parse_ack(value, len, &ack) ? hotmem_ack_check(&rec->req, &ack)
							    : -EAGAIN;
	if (answers != -EAGAIN) {
		/*
		 * An answer to this grow: count the blocks it lists here, as
		 * peek_txn() would in a transaction of its own, for the raise
		 * before the recording transaction. Any doubt: -1, peek there.
		 */
		if (rec->phase != HM_PHASE_REQUESTED || rec->req.op != HOTMEM_OP_GROW || answers ||
		    ack.seq > record->seq)
			goto out;
		free(value);
		value = NULL;
		if (read_dom_key(hm, HV_XS_NO_TXN, dom->domid, HOTMEM_KEY_GUEST_BLOCKS, &value,
				 &len) < 0 ||
		    hotmem_parse_blocks(value, len, listed) < 0)
			goto out;
		*ret_answered = request_blocks_listed(rec, listed);
		goto out;
	}
	free(value);
	value = NULL;
	r = read_dom_key(hm, HV_XS_NO_TXN, dom->domid, HOTMEM_KEY_GUEST_STATE, &value, &len);
	if (r < 0 && r != -ENOENT && r != -EACCES)
		goto out;
	if (!r && !hotmem_parse_state(value, len, &state) &&
	    (state == HOTMEM_STATE_BROKEN || state == HOTMEM_STATE_CLOSED))
		goto out;
	maybe = false;
out:
	free(value);
	return maybe;
}

/* WAIT_ACK: look for the ack; record it and finish the operation from it. */
static void op_wait_ack(struct hotmem_operation *op, uint64_t now)
{
	struct hotmem *hm = op->hm;
	struct hm_domain *dom = op->dom;
	bool grow = dom->record.rec.req.op == HOTMEM_OP_GROW;
	int64_t answered;
	int r;

	r = ack_maybe(hm, dom, &answered) ? record_ack(hm, dom, &op->result, answered)
					  : -EINPROGRESS;
	switch (r) {
	case 0:
		op->backoff_ms = 0;
		op->result.phases.ack_wait_ms += op_lap(op);
		if (grow)
			op->fill_expect_pages =
				op->result.blocks_done
					? dom->record.rec.before_tot_pages +
						  op->result.blocks_done *
							  (dom->record.block_size >> HV_PAGE_SHIFT)
					: 0;
		r = grow ? grow_finish(hm, dom, &op->result) : shrink_reclaim(hm, dom, &op->result);
		op->result.phases.finish_ms += op_lap(op);
		if (r < 0) {
			op_fail(op, r, now);
			return;
		}
		op_start_fill_wait(op, now);
		return;
	case -EINPROGRESS:
		op->result.phases.ack_reads++;
		/* An answer to a superseded grow settles it meanwhile. */
		if ((bitmap_weight(dom->record.pending) || bitmap_weight(dom->record.refused)) &&
		    dom_settle_pending(hm, dom, &op->result) < 0)
			dom->need_recover = true;
		if (now >= op->deadline_ms)
			break;
		op->wake_ms = op->deadline_ms;
		return;
	case -ENOLINK:
	case -EPROTO:
		op->result.error = r;
		op_finish(op);
		return;
	default:
		/* xenstore trouble: try again soon, within the deadline. */
		if (now >= op->deadline_ms)
			break;
		op->backoff_ms = backoff_next(hm, op->backoff_ms);
		op->wake_ms = now + op->backoff_ms;
		if (op->wake_ms > op->deadline_ms)
			op->wake_ms = op->deadline_ms;
		return;
	}
	op->result.error = -ETIMEDOUT;
	op_finish(op);
}

/* WAIT_FILL: has tot_pages reached what the grow gave? */
static void op_wait_fill(struct hotmem_operation *op, uint64_t now)
{
	struct hotmem *hm = op->hm;
	struct hv_domain_info info;
	int r;

	r = hm->hv->ops->domain_info(hm->hv, op->domid, &info);
	if (!r && info.tot_pages >= op->fill_expect_pages) {
		op->result.fill_complete = true;
		op->result.phases.fill_ms += op_lap(op);
		op_finish(op);
		return;
	}
	if (r == -ESRCH && released_if_dead(hm, op->dom, r))
		return;
	if (now >= op->deadline_ms) {
		op->result.phases.fill_ms += op_lap(op);
		op_finish(op);
		return;
	}
	op->wake_ms = now + hm->cfg.fill_poll_ms;
}

static void op_step(struct hotmem_operation *op, uint64_t now)
{
	int r;

	switch (op->state) {
	case HM_OP_PREPARE:
		r = op_prepare_step(op, now);
		if (r < 0)
			op_fail(op, r, now);
		break;
	case HM_OP_WAIT_ACK:
		op_wait_ack(op, now);
		break;
	case HM_OP_WAIT_FILL:
		op_wait_fill(op, now);
		break;
	case HM_OP_RECOVER:
		op_recover(op, now);
		break;
	case HM_OP_DONE:
		break;
	}
}

/* When the op wants to run next (0: now). */
static uint64_t op_wake(const struct hotmem_operation *op)
{
	return op->state == HM_OP_PREPARE ? 0 : op->wake_ms;
}

static bool op_runnable(const struct hotmem_operation *op, uint64_t now, bool event)
{
	if (op->state == HM_OP_WAIT_ACK && event)
		return true;
	return op->state != HM_OP_DONE && op_wake(op) <= now;
}

/* ---- admission ----------------------------------------------------------- */

struct begin_ctx {
	struct hm_domain *dom;
	uint32_t count;
	struct hv_domain_info info; /* read before the transaction */
	uint64_t pool_bytes;
	uint64_t free_bytes;
	struct hm_record record; /* out */
};

/*
 * Host memory promised but not yet taken: every grow in flight or
 * outstanding may still populate its whole blocks (heads by us, the rest by
 * the balloon) plus their pool; a grow waiting for the balloon fill may still
 * take its granted blocks. Counted in full, so concurrent grows on many
 * domains cannot together pass an admission each passed alone.
 */
static uint64_t promised_bytes(const struct hotmem *hm)
{
	const struct hm_domain *dom;
	uint64_t promised = 0;

	for (dom = hm->domains; dom; dom = dom->next) {
		const struct hm_record *record = &dom->record;
		uint64_t per_block = record->block_size + pool_per_block(record);

		promised += (uint64_t)bitmap_weight(record->pending) * per_block;
		if (record->rec.phase != HM_PHASE_NONE && record->rec.req.op == HOTMEM_OP_GROW)
			promised += (uint64_t)record->rec.req.count * per_block;
		else if (dom->op && dom->op->state == HM_OP_WAIT_FILL)
			promised += (uint64_t)dom->op->result.blocks_done * record->block_size;
	}
	return promised;
}

/*
 * Supersede an unanswered request (protocol section 5): a grow's blocks
 * become pending, settled by the guest's next ack (record_settle_pending());
 * a shrink needs nothing (its blocks stay granted until a shrink's ack
 * reclaims what the guest no longer lists).
 */
static void record_supersede(struct hm_record *record)
{
	struct hm_oprec *rec = &record->rec;
	uint32_t block;

	if (rec->phase != HM_PHASE_REQUESTED)
		return;
	if (rec->req.op == HOTMEM_OP_GROW) {
		for (block = rec->req.first; block < rec->req.first + rec->req.count; block++)
			hotmem_blocks_set(record->pending, block, 1);
		record->pending_seq = rec->req.seq;
	}
	memset(rec, 0, sizeof(*rec));
}

/* Xen's max memory and pool without ours, from their values now and the record. */
static void record_take_base(struct hm_record *record, const struct hv_domain_info *info,
			     uint64_t pool_bytes)
{
	uint64_t max_kib = info->max_pages << (HV_PAGE_SHIFT - KIB_SHIFT);
	uint64_t ours_kib = record_max_kib(record, false) - record->base_max_kib;
	uint64_t ours_pool = record_pool_bytes(record, false) - record->base_pool_bytes;

	record->base_max_kib = max_kib > ours_kib ? max_kib - ours_kib : 0;
	record->base_pool_bytes = pool_bytes > ours_pool ? pool_bytes - ours_pool : 0;
}

/* Lowest run of count blocks that are free and not listed by the guest. */
static int find_free_run(const struct hm_domain *dom, const uint64_t *listed, uint32_t count,
			 uint32_t *ret_first)
{
	uint32_t block, run = 0;

	for (block = 0; block < dom->record.nr_blocks; block++) {
		if (dom->block_state[block] != HM_BLOCK_FREE || hm_bit(listed, block)) {
			run = 0;
			continue;
		}
		if (++run == count) {
			*ret_first = block + 1 - count;
			return 0;
		}
	}
	return -ENOSPC;
}

/* Read memory/target and static-max in KiB. */
static int read_memory_keys(struct hotmem *hm, hv_xs_txn txn, uint32_t domid,
			    uint64_t *ret_target_kib, uint64_t *ret_static_kib)
{
	int r;

	r = read_dom_dec(hm, txn, domid, "memory/target", ret_target_kib);
	if (r < 0)
		return r;
	return read_dom_dec(hm, txn, domid, "memory/static-max", ret_static_kib);
}

static int grow_begin_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct begin_ctx *ctx = arg;
	const struct hm_record *old = &ctx->dom->record;
	struct hm_oprec *rec = &ctx->record.rec;
	struct hm_guest_view view;
	uint64_t granted, need, pool, target_kib, static_kib;
	uint32_t features, first, seq;
	int r;

	if (old->frozen)
		return -EPERM;
	r = guest_read(hm, txn, ctx->dom->domid, &view);
	if (r < 0)
		return r;
	r = guest_check_ready(hm, old, &view, &features);
	if (r < 0)
		return r;
	granted = bitmap_weight(old->granted) + bitmap_weight(old->pending);
	if (old->rec.phase == HM_PHASE_REQUESTED && old->rec.req.op == HOTMEM_OP_GROW)
		granted += old->rec.req.count;
	if ((granted + ctx->count) * old->block_size > old->max_bytes)
		return -EDQUOT;
	r = find_free_run(ctx->dom, view.blocks, ctx->count, &first);
	if (r < 0)
		return r;
	pool = ctx->count * pool_per_block(old);
	need = ctx->count * old->block_size + pool;
	if (ctx->free_bytes < hm->cfg.host_reserve_bytes ||
	    ctx->free_bytes - hm->cfg.host_reserve_bytes < need)
		return -ENOMEM;
	r = hotmem_seq_next(old->seq, &seq);
	if (r < 0)
		return r;
	r = read_memory_keys(hm, txn, ctx->dom->domid, &target_kib, &static_kib);
	if (r < 0)
		return r;
	ctx->record = *old;
	record_supersede(&ctx->record);
	ctx->record.seq = seq;
	ctx->record.have_memmap = true;
	ctx->record.memmap_bytes = view.memmap_bytes;
	record_take_base(&ctx->record, &ctx->info, ctx->pool_bytes);
	memset(rec, 0, sizeof(*rec));
	rec->phase = HM_PHASE_PREPARE;
	rec->req.seq = seq;
	rec->req.op = HOTMEM_OP_GROW;
	rec->req.first = first;
	rec->req.count = ctx->count;
	block_populate_plan(&ctx->record, features, view.memmap_bytes, NULL, 0, &rec->memmap_bytes,
			    NULL, NULL);
	ctx->record.dom0_bytes = rec->memmap_bytes;
	rec->before_max_kib = ctx->info.max_pages << (HV_PAGE_SHIFT - KIB_SHIFT);
	rec->before_target_kib = target_kib;
	rec->before_static_max_kib = static_kib;
	rec->before_pool_bytes = ctx->pool_bytes;
	rec->before_tot_pages = ctx->info.tot_pages;
	return dom_store(hm, txn, ctx->dom, &ctx->record);
}

static int shrink_begin_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct begin_ctx *ctx = arg;
	const struct hm_record *old = &ctx->dom->record;
	struct hm_oprec *rec = &ctx->record.rec;
	char text[HOTMEM_SHORT_VALUE_SIZE];
	struct hm_guest_view view;
	uint64_t target_kib, static_kib;
	uint32_t features, seq;
	int r;

	if (ctx->count > bitmap_weight(old->granted))
		return -ERANGE;
	r = guest_read(hm, txn, ctx->dom->domid, &view);
	if (r < 0)
		return r;
	r = guest_check_ready(hm, old, &view, &features);
	if (r < 0)
		return r;
	if (!(features & HOTMEM_FEATURE_SHRINK))
		return -EOPNOTSUPP;
	r = hotmem_seq_next(old->seq, &seq);
	if (r < 0)
		return r;
	r = read_memory_keys(hm, txn, ctx->dom->domid, &target_kib, &static_kib);
	if (r < 0)
		return r;
	ctx->record = *old;
	record_supersede(&ctx->record);
	ctx->record.seq = seq;
	record_take_base(&ctx->record, &ctx->info, ctx->pool_bytes);
	memset(rec, 0, sizeof(*rec));
	rec->phase = HM_PHASE_REQUESTED;
	rec->req.seq = seq;
	rec->req.op = HOTMEM_OP_SHRINK;
	rec->req.count = ctx->count;
	rec->memmap_bytes = old->memmap_bytes;
	rec->before_max_kib = ctx->info.max_pages << (HV_PAGE_SHIFT - KIB_SHIFT);
	rec->before_target_kib = target_kib;
	rec->before_static_max_kib = static_kib;
	rec->before_pool_bytes = ctx->pool_bytes;
	rec->before_tot_pages = ctx->info.tot_pages;
	r = put_dom_key(hm, txn, ctx->dom->domid, HOTMEM_KEY_REQUEST, text,
			hotmem_format_request(text, sizeof(text), &rec->req));
	if (r < 0)
		return r;
	return dom_store(hm, txn, ctx->dom, &ctx->record);
}

/*
 * Settle what a previous operation left (an outstanding request, a failed
 * recovery); on failure retry later with backoff. Returns -ESRCH if the
 * domain turned out dead and was released (dom is freed), else 0.
 */
static int dom_retry_settle(struct hotmem *hm, struct hm_domain *dom, uint64_t now,
			    struct settle_report *report)
{
	struct hotmem_result scratch;
	int r;

	memset(&scratch, 0, sizeof(scratch));
	r = dom_settle(hm, dom, &scratch, report);
	if (r < 0) {
		if (released_if_dead(hm, dom, r))
			return -ESRCH;
		dom->need_recover = true;
		dom->recover_backoff_ms = backoff_next(hm, dom->recover_backoff_ms);
		dom->recover_at = now + dom->recover_backoff_ms;
		return r;
	}
	dom->need_recover = false;
	dom->recover_backoff_ms = 0;
	return 0;
}

/* Blocks that cover bytes, as a 32-bit count (saturated past the limit). */
static uint32_t blocks_for(const struct hm_record *record, uint64_t bytes)
{
	uint64_t nr = bytes / record->block_size + !!(bytes % record->block_size);

	return nr > HOTMEM_MAX_BLOCKS ? HOTMEM_MAX_BLOCKS + 1 : (uint32_t)nr;
}

/*
 * Journal the start of a grow or shrink of count blocks on dom (the
 * transaction also checks the guest and, for a grow, admission against the
 * host's free memory) and put op in its first state. Nothing changed on
 * failure.
 */
static int op_begin(struct hotmem *hm, struct hm_domain *dom, struct hotmem_operation *op,
		    bool grow, uint32_t count)
{
	struct begin_ctx ctx = { .dom = dom, .count = count };
	struct hv_physinfo physinfo;
	int r;

	r = hm->hv->ops->domain_info(hm->hv, dom->domid, &ctx.info);
	if (r < 0)
		return r;
	r = hm->hv->ops->get_p2m_pool(hm->hv, dom->domid, &ctx.pool_bytes);
	if (r < 0)
		return r;
	if (grow) {
		uint64_t free_bytes, promised = promised_bytes(hm);

		r = hm->hv->ops->physinfo(hm->hv, &physinfo);
		if (r < 0)
			return r;
		free_bytes = physinfo.free_pages << HV_PAGE_SHIFT;
		ctx.free_bytes = free_bytes > promised ? free_bytes - promised : 0;
	}
	r = hm_txn(hm, grow ? grow_begin_txn : shrink_begin_txn, &ctx);
	if (r < 0)
		return r;
	record_known(dom, &ctx.record);
	op->dom = dom;
	dom->op = op;
	if (grow) {
		op->state = HM_OP_PREPARE;
	} else {
		op->result.seq = dom->record.rec.req.seq;
		op->state = HM_OP_WAIT_ACK;
		op->deadline_ms = now_ms(hm) + hm->cfg.ack_timeout_ms;
		op->wake_ms = op->deadline_ms;
	}
	return 0;
}

int hotmem_op_start(struct hotmem *hm, uint32_t domid, enum hotmem_op_kind kind, uint64_t bytes,
		    struct hotmem_operation **ret_op)
{
	struct hotmem_operation *op;
	struct hm_domain *dom;
	uint32_t count, granted;
	bool grow = kind == HOTMEM_OP_KIND_GROW;
	uint64_t began = hm ? now_ms(hm) : 0;
	int r;

	/* Nothing of ours runs on a journal another engine claimed. */
	if (hm && jr_check_owner(hm, HV_XS_NO_TXN) == -ESTALE)
		return -ESTALE;
	if (!hm || !ret_op ||
	    (kind != HOTMEM_OP_KIND_GROW && kind != HOTMEM_OP_KIND_SHRINK &&
	     kind != HOTMEM_OP_KIND_SET) ||
	    (kind != HOTMEM_OP_KIND_SET && !bytes))
		return -EINVAL;
	r = dom_get(hm, domid, &dom);
	if (r < 0)
		return r;
	r = dom_alive(hm, dom);
	if (r == -ESRCH)
		dom_release(hm, dom);
	if (r < 0)
		return r;
	/* It announced its reboot: its size was put back for xl, nothing moves. */
	if (dom->record.restored)
		return -ESHUTDOWN;
	/* Its bigger boot RAM is going back first (reboot.c). */
	if (hm_reboot_returning(hm, domid))
		return -EBUSY;
	if (dom->op)
		return -EBUSY;
	if (dom->need_recover || dom->record.rec.phase != HM_PHASE_NONE ||
	    bitmap_weight(dom->record.pending) || bitmap_weight(dom->record.refused)) {
		struct settle_report report = { 0 };

		if (dom_retry_settle(hm, dom, now_ms(hm), &report) == -ESRCH)
			return -ESRCH;
	}
	/* An unanswered request is superseded by this one (grow_begin_txn). */
	if (dom->need_recover ||
	    (dom->record.rec.phase != HM_PHASE_NONE && dom->record.rec.phase != HM_PHASE_REQUESTED))
		return -EBUSY;
	r = dom_handshake(hm, dom);
	if (r < 0)
		return r;

	granted = bitmap_weight(dom->record.granted);
	count = blocks_for(&dom->record, bytes);
	if (kind == HOTMEM_OP_KIND_SET) {
		grow = count > granted;
		count = grow ? count - granted : granted - count;
	}
	if (count > HOTMEM_MAX_BLOCKS)
		return grow ? -EDQUOT : -ERANGE;
	op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->hm = hm;
	op->domid = domid;
	op->phase_ms = began;
	if (count) {
		op->result.kind = grow ? HOTMEM_OP_KIND_GROW : HOTMEM_OP_KIND_SHRINK;
		op->result.blocks_requested = count;
		r = op_begin(hm, dom, op, grow, count);
		if (r < 0) {
			free(op);
			return r;
		}
	} else {
		/* A set that is already there. */
		op->result.kind = kind;
		op->state = HM_OP_DONE;
		hm->counters.ops_done++;
	}
	op->result.phases.start_ms = op_lap(op);
	op->next = hm->ops;
	hm->ops = op;
	hm->counters.ops_started++;
	*ret_op = op;
	return 0;
}

struct abandon_ctx {
	struct hm_domain *dom;
	struct hm_record record; /* out */
};

static int abandon_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct abandon_ctx *ctx = arg;
	struct hm_oprec *rec = &ctx->record.rec;
	uint32_t block;
	int r;

	ctx->record = ctx->dom->record;
	if (rec->phase == HM_PHASE_REQUESTED && rec->req.op == HOTMEM_OP_GROW)
		for (block = rec->req.first; block < rec->req.first + rec->req.count; block++)
			hotmem_blocks_set(ctx->record.refused, block, 1);
	for (block = hm_next_bit(ctx->record.pending, 0); block < HOTMEM_MAX_BLOCKS;
	     block = hm_next_bit(ctx->record.pending, block + 1))
		hotmem_blocks_set(ctx->record.refused, block, 1);
	hotmem_blocks_zero(ctx->record.pending);
	ctx->record.pending_seq = 0;
	memset(rec, 0, sizeof(*rec));
	/* The guest must not find the request once its frames are gone. */
	r = rm_dom_key(hm, txn, ctx->dom->domid, HOTMEM_KEY_REQUEST);
	if (r < 0)
		return r;
	return dom_store(hm, txn, ctx->dom, &ctx->record);
}

static int abandon_dom(struct hotmem *hm, uint32_t domid, struct hotmem_result *res)
{
	struct settle_report report = { 0 };
	struct abandon_ctx ctx;
	struct hm_domain *dom;
	int r;

	r = dom_get(hm, domid, &dom);
	if (r < 0)
		return r;
	r = dom_alive(hm, dom);
	if (r == -ESRCH)
		dom_release(hm, dom);
	if (r < 0)
		return r;
	if (jr_check_owner(hm, HV_XS_NO_TXN) == -ESTALE)
		return -ESTALE;
	if (dom->op && dom->op->state != HM_OP_WAIT_ACK)
		return -EBUSY;
	if (dom->op) {
		/* Its answer, if it is there, is recorded as dispatch would. */
		op_wait_ack(dom->op, now_ms(hm));
		if (dom->op && dom->op->state != HM_OP_WAIT_ACK)
			return -EBUSY;
		if (dom->op) {
			dom->op->result.error = -ECANCELED;
			op_finish(dom->op);
		}
	}
	/* Record whatever the guest did answer; what is left is unanswered. */
	r = dom_retry_settle(hm, dom, now_ms(hm), &report);
	if (r == -ESRCH)
		return r;
	if (dom->need_recover ||
	    (dom->record.rec.phase != HM_PHASE_NONE && dom->record.rec.phase != HM_PHASE_REQUESTED))
		return -EBUSY;
	if (dom->record.rec.phase == HM_PHASE_NONE && !bitmap_weight(dom->record.pending))
		return -EALREADY;
	res->seq = dom->record.rec.req.seq;
	ctx = (struct abandon_ctx){ .dom = dom };
	r = hm_txn(hm, abandon_txn, &ctx);
	if (r < 0)
		return r;
	record_known(dom, &ctx.record);
	/* Every frame of those blocks Xen lets us take, max memory first. */
	r = drop_refused(hm, dom, true, res);
	if (r < 0 && !released_if_dead(hm, dom, r)) {
		/* The journal says what is left: dispatch finishes it. */
		dom->need_recover = true;
		dom->recover_backoff_ms = backoff_next(hm, dom->recover_backoff_ms);
		dom->recover_at = now_ms(hm) + dom->recover_backoff_ms;
	}
	return r;
}

int hotmem_abandon(struct hotmem *hm, uint32_t domid, struct hotmem_result *ret_result)
{
	struct hotmem_result result = { .kind = HOTMEM_OP_KIND_GROW };
	int r = hm ? abandon_dom(hm, domid, &result) : -EINVAL;

	if (ret_result)
		*ret_result = result;
	return r;
}

bool hotmem_op_done(const struct hotmem_operation *op)
{
	return !op || op->state == HM_OP_DONE;
}

int hotmem_op_result(const struct hotmem_operation *op, struct hotmem_result *ret_result)
{
	if (!op || !ret_result)
		return -EINVAL;
	if (op->state != HM_OP_DONE)
		return -EINPROGRESS;
	*ret_result = op->result;
	return 0;
}

void hotmem_op_free(struct hotmem_operation *op)
{
	if (!op)
		return;
	if (op->state == HM_OP_DONE)
		op_unlink_free(op);
	else
		op->handle_freed = true;
}

/* ---- the event loop ------------------------------------------------------ */

/* Most watch events read per dispatch: a guest flooding xenstore can't stall us. */
#define EVENTS_PER_DISPATCH 4096

/*
 * Whether a watch event on H/guest may mean H/guest/shutdown changed: its
 * path is that key, or H/guest itself (the registration's event, or the
 * directory removed with everything in it). The guest writes its other keys
 * for every block of a grow; reading the shutdown key on each of those
 * events would cost a xenstore round trip each for nothing.
 */
static bool event_may_be_shutdown(uint32_t domid, const char *path)
{
	char key[HM_PATH_MAX], dir[HM_PATH_MAX];

	if (hm_dom_path(key, sizeof(key), domid, HOTMEM_KEY_GUEST_SHUTDOWN) < 0 ||
	    hm_dom_path(dir, sizeof(dir), domid, HOTMEM_KEY_GUEST_DIR) < 0)
		return true;
	return !strcmp(path, key) || !strcmp(path, dir);
}

static int drain_events(struct hotmem *hm, bool *ret_release)
{
	unsigned int n;
	int r = 0;

	for (n = 0; n < EVENTS_PER_DISPATCH; n++) {
		char *path = NULL, *token = NULL;
		uint64_t domid;

		r = hm->hv->ops->xs_read_watch(hm->hv, &path, &token);
		if (r == -EAGAIN) {
			r = 0;
			break;
		}
		if (r < 0)
			break;
		if (!strcmp(token, TOKEN_RELEASE)) {
			*ret_release = true;
		} else if (!strcmp(token, TOKEN_INTRODUCE)) {
			hm->introduced = true;
		} else if (!strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) &&
			   !hm_parse_dec(token + strlen(TOKEN_PREFIX),
					 strlen(token) - strlen(TOKEN_PREFIX), &domid) &&
			   domid <= HOTMEM_DOMID_MAX) {
			struct hm_domain *dom = dom_find(hm, (uint32_t)domid);

			if (dom) {
				dom->event = true;
				dom->shutdown_event |= event_may_be_shutdown(dom->domid, path);
			}
		}
		free(path);
		free(token);
	}
	return r;
}

/*
 * Event-driven reads are rationed per domain by a token bucket: a burst of
 * EVENT_BURST (a grow's handshake, block and ack events), then one per
 * event_min_interval_ms. A guest rewriting its keys in a loop is read at
 * that rate and no faster; its events wait (hotmem_timeout_ms() knows when)
 * and the other domains' are unaffected.
 */
#define EVENT_BURST 16

static void dom_event_refill(const struct hotmem *hm, struct hm_domain *dom, uint64_t now)
{
	uint64_t interval = hm->cfg.event_min_interval_ms, earned;

	if (!dom->event_budget_ms) {
		dom->event_budget = EVENT_BURST;
		dom->event_budget_ms = now;
		return;
	}
	earned = now > dom->event_budget_ms ? (now - dom->event_budget_ms) / interval : 0;
	if (dom->event_budget + earned >= EVENT_BURST) {
		dom->event_budget = EVENT_BURST;
		dom->event_budget_ms = now;
	} else {
		dom->event_budget += (uint32_t)earned;
		dom->event_budget_ms += earned * interval;
	}
}

/* When a pending event of dom may be acted on. */
static uint64_t dom_event_due(const struct hotmem *hm, const struct hm_domain *dom)
{
	if (!hm->cfg.event_min_interval_ms || dom->event_budget || !dom->event_budget_ms)
		return 0;
	return dom->event_budget_ms + hm->cfg.event_min_interval_ms;
}

/* Take one event-driven read from dom's budget, if there is one. */
static bool dom_event_take(const struct hotmem *hm, struct hm_domain *dom, uint64_t now)
{
	if (!hm->cfg.event_min_interval_ms)
		return true;
	dom_event_refill(hm, dom, now);
	if (!dom->event_budget)
		return false;
	dom->event_budget--;
	return true;
}

/* Once per dispatch, before its first step: is the journal still ours? */
static bool dispatch_claim_ok(struct hotmem *hm)
{
	if (!hm->claim_checked) {
		hm->claim_checked = true;
		jr_check_owner(hm, HV_XS_NO_TXN);
	}
	return !hm->stale;
}

static void dom_poll(struct hotmem *hm, struct hm_domain *dom, uint64_t now)
{
	struct settle_report report = { 0 };
	bool event = dom->event;

	/*
	 * A guest rewriting its keys in a loop gets them read once per
	 * event_min_interval_ms: the event waits (hotmem_timeout_ms() knows),
	 * the other domains do not.
	 */
	if (event && !dom_event_take(hm, dom, now))
		event = false;
	if (event)
		dom->event = false;
	/* A guest going down first: its configured size back before xl reads it. */
	if (event && dom->shutdown_event && !hm->stale) {
		dom->shutdown_event = false;
		hm_shutdown_notice(hm, dom);
	}
	/*
	 * Before the first step of this dispatch that may touch Xen: is the
	 * journal still ours? Another engine's claim means no step of ours may
	 * run (its hypervisor call would come before the journal write that
	 * fails). Checked only when there is work, so an idle engine under a
	 * flood of events reads nothing for it.
	 */
	if (((dom->op && op_runnable(dom->op, now, event)) ||
	     (!dom->op && dom->need_recover && now >= dom->recover_at) ||
	     (!dom->op && !dom->need_recover && event)) &&
	    !dispatch_claim_ok(hm))
		return;
	if (!dom->watching)
		dom_watch(hm, dom);
	if (dom->op) {
		if (op_runnable(dom->op, now, event))
			op_step(dom->op, now);
		return;
	}
	if (dom->need_recover) {
		if (now >= dom->recover_at)
			dom_retry_settle(hm, dom, now, &report);
		return;
	}
	if (!event)
		return;
	if (!dom->record.have_window)
		dom_handshake(hm, dom);
	if (dom->record.rec.phase != HM_PHASE_NONE || bitmap_weight(dom->record.pending) ||
	    bitmap_weight(dom->record.refused))
		dom_retry_settle(hm, dom, now, &report);
}

/* <journal_dir>/reboot/<handle as 32 hex digits>. */
int hm_reboot_memo_path(const struct hotmem *hm, const uint8_t *handle, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/reboot/", hm->journal_dir);

	if (n < 0 || (size_t)n + 33 > size)
		return -ENAMETOOLONG;
	for (unsigned int i = 0; i < 16; i++)
		snprintf(buf + n + 2 * i, 3, "%02x", handle[i]);
	return 0;
}

struct restore_ctx {
	struct hm_domain *dom;
	int answer;		 /* -1, or the enum hotmem_shutdown to echo in H/shutdown-ack */
	bool memo;		 /* leave the memo a rebuilt domain is recognised by */
	struct hm_record record; /* out */
	uint64_t target_kib, static_kib; /* out: what they are now */
};

/*
 * memory/target and static-max back to the domain's configured size (less
 * every granted block, exactly what the grants added), a memo of that size
 * under the domain's handle, and the record marked restored, in one
 * transaction; with a guest's shutdown notice to answer, the answer too, so
 * the guest sees it only once the keys are back. Restored already: only the
 * answer.
 */
static int restore_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct restore_ctx *ctx = arg;
	const struct hm_record *old = &ctx->dom->record;
	uint64_t granted = bitmap_weight(old->granted), target_kib, static_kib;
	char path[HM_PATH_MAX], text[64];
	int r = 0;

	ctx->record = *old;
	if (!old->restored) {
		r = adjust_memory_keys(hm, txn, ctx->dom->domid, false,
				       granted * target_step_kib(old), granted * block_kib(old));
		if (!r)
			r = read_memory_keys(hm, txn, ctx->dom->domid, &target_kib, &static_kib);
		ctx->target_kib = r ? 0 : target_kib;
		ctx->static_kib = r ? 0 : static_kib;
		if (!r && old->have_handle && ctx->memo) {
			r = hm_reboot_memo_path(hm, old->handle, path, sizeof(path));
			snprintf(text, sizeof(text), "%" PRIu64 " %" PRIu64 " %" PRIu32, target_kib,
				 static_kib, ctx->dom->domid);
			if (!r)
				r = hm_xs_write(hm, txn, path, text);
		}
		ctx->record.restored = true;
		if (!r)
			r = dom_store(hm, txn, ctx->dom, &ctx->record);
	}
	if (!r && ctx->answer >= 0) {
		r = hm_dom_path(path, sizeof(path), ctx->dom->domid, HOTMEM_KEY_SHUTDOWN_ACK);
		if (!r)
			r = hm_xs_write(hm, txn, path,
					hotmem_shutdown_token((enum hotmem_shutdown)ctx->answer));
	}
	return r;
}

int hm_dom_restore(struct hotmem *hm, struct hm_domain *dom, int answer, bool memo)
{
	bool was_restored = dom->record.restored;
	struct restore_ctx *ctx = calloc(1, sizeof(*ctx));
	int r = -ENOMEM;

	if (!ctx)
		goto out;
	ctx->dom = dom;
	ctx->answer = answer;
	ctx->memo = memo;
	r = hm_txn(hm, restore_txn, ctx);
	if (r < 0)
		goto out;
	record_sync(dom, &ctx->record);
	if (!was_restored) {
		struct hotmem_reboot_note note = {
			.domid = dom->domid,
			.event = HOTMEM_REBOOT_RESTORED,
			.notice = answer,
			.target_kib = ctx->target_kib,
			.static_max_kib = ctx->static_kib,
		};

		hm->counters.restores++;
		if (hm->cfg.reboot)
			hm->cfg.reboot(hm->cfg.reboot_opaque, &note);
	}
out:
	free(ctx);
	return r;
}

/*
 * A domain that shut down to be rebuilt (xl reboot, a guest's own reboot,
 * a crash or watchdog with on_crash=restart; poweroff too, harmlessly): xl
 * rebuilds it from memory/target and memory/static-max as they are when it
 * reads them, so put them back to the configured size now, before the
 * domain dies. xl reads them on the same @releaseDomain event, so this is a
 * race: what xl read is visible afterwards (hotmem_reboot_info()). A
 * suspend (save, migration) keeps the grown size: its image holds it.
 */
static void dom_check_shutdown(struct hotmem *hm, struct hm_domain *dom)
{
	struct hv_domain_info info;

	if (dom->record.restored || !dom->record.have_handle ||
	    !bitmap_weight(dom->record.granted) ||
	    hm->hv->ops->domain_info(hm->hv, dom->domid, &info) < 0 || !info.shutdown ||
	    info.dying || info.shutdown_reason == HV_SHUTDOWN_SUSPEND)
		return;
	/* A poweroff is rebuilt only with on_poweroff=restart: no memo to leak. */
	hm_dom_restore(hm, dom, -1, info.shutdown_reason != HV_SHUTDOWN_POWEROFF);
}

/* Exactly three fields separated by single spaces. */
static int hm_split3(const char *value, size_t len, const char **f, size_t *l)
{
	size_t start = 0, pos, n = 0;

	for (pos = 0; pos <= len; pos++) {
		if (pos < len && value[pos] != ' ')
			continue;
		if (n == 3 || pos == start)
			return -EUCLEAN;
		f[n] = value + start;
		l[n++] = pos - start;
		start = pos + 1;
	}
	return n == 3 ? 0 : -EUCLEAN;
}

int hotmem_reboot_info(struct hotmem *hm, uint32_t domid, struct hotmem_reboot_info *ret_info)
{
	struct hotmem_reboot_info out;
	struct hv_domain_info info;
	char path[HM_PATH_MAX], *value = NULL;
	const char *f[3];
	size_t l[3], len = 0;
	int r;

	if (!hm || !ret_info)
		return -EINVAL;
	memset(&out, 0, sizeof(out));
	r = hm->hv->ops->domain_info(hm->hv, domid, &info);
	if (r < 0)
		return r;
	r = hm_reboot_memo_path(hm, info.handle, path, sizeof(path));
	if (r < 0)
		return r;
	r = hm_xs_read(hm, HV_XS_NO_TXN, path, &value, &len);
	if (r < 0)
		goto out;
	if (hm_split3(value, len, f, l) < 0 || hm_parse_dec(f[0], l[0], &out.target_kib) < 0 ||
	    hm_parse_dec(f[1], l[1], &out.static_max_kib) < 0 ||
	    hm_parse_dec(f[2], l[2], &out.old_domid) < 0) {
		r = -EUCLEAN;
		goto out;
	}
	r = read_dom_dec(hm, HV_XS_NO_TXN, domid, "memory/static-max", &out.now_static_max_kib);
	if (!r)
		r = read_dom_dec(hm, HV_XS_NO_TXN, domid, "memory/target", &out.now_target_kib);
	if (r < 0)
		goto out;
	/*
	 * libxl reads memory/target and static-max in two reads without a
	 * transaction when it rebuilds a rebooted domain: one before the
	 * restore and one after gives a domain at the configured static-max
	 * whose memory/target (and max memory) is the grown one, and its
	 * balloon fills up to max memory. Either key above the memo is grown.
	 */
	out.came_back_grown =
		out.now_static_max_kib > out.static_max_kib || out.now_target_kib > out.target_kib;
	hm_reboot_return_info(hm, info.handle, domid, &out);
	*ret_info = out;
out:
	free(value);
	return r;
}

int hotmem_dispatch(struct hotmem *hm)
{
	uint64_t done_before = hm->counters.ops_done, now;
	struct hm_domain *dom, *next;
	bool release = false;
	int r;

	if (hm->stale)
		return -ESTALE;
	hm->claim_checked = false;
	r = drain_events(hm, &release);
	if (r < 0)
		return r;
	if (release) {
		for (dom = hm->domains; dom; dom = next) {
			next = dom->next;
			if (dom_alive(hm, dom) == -ESRCH)
				dom_release(hm, dom);
			else
				dom_check_shutdown(hm, dom);
		}
	}
	/* A rebuilt domain that came back grown gives the memory back (reboot.c). */
	if (hm->introduced && dispatch_claim_ok(hm)) {
		hm->introduced = false;
		hm_reboot_scan(hm);
	}
	if (hm->returns && dispatch_claim_ok(hm))
		hm_reboot_poll(hm);
	now = now_ms(hm);
	for (dom = hm->domains; dom && !hm->stale; dom = next) {
		next = dom->next;
		dom_poll(hm, dom, now);
	}
	if (hm->stale)
		return -ESTALE;
	return (int)(hm->counters.ops_done - done_before);
}

int hotmem_fd(struct hotmem *hm)
{
	return hm->hv->ops->xs_watch_fd(hm->hv);
}

int hotmem_timeout_ms(struct hotmem *hm)
{
	uint64_t now = now_ms(hm), wake = UINT64_MAX;
	const struct hm_domain *dom;

	for (dom = hm->domains; dom; dom = dom->next) {
		uint64_t at = UINT64_MAX;

		if (dom->op)
			at = op_wake(dom->op);
		else if (dom->need_recover)
			at = dom->recover_at;
		/* A pending event: now, or when its domain's interval has passed. */
		if (dom->event && dom_event_due(hm, dom) < at)
			at = dom_event_due(hm, dom);
		if (at < wake)
			wake = at;
	}
	if (hm_reboot_wake(hm) < wake)
		wake = hm_reboot_wake(hm);
	if (wake == UINT64_MAX)
		return -1;
	if (wake <= now)
		return 0;
	return wake - now > INT32_MAX ? INT32_MAX : (int)(wake - now);
}

int hotmem_op_wait(struct hotmem *hm, struct hotmem_operation *op, int timeout_ms)
{
	uint64_t start = now_ms(hm);
	int r = 0;

	while (!hotmem_op_done(op)) {
		struct pollfd pfd = { .events = POLLIN };
		int wait = hotmem_timeout_ms(hm);

		if (timeout_ms >= 0) {
			uint64_t spent = now_ms(hm) - start;

			if (spent >= (uint64_t)timeout_ms)
				return -ETIME;
			if (wait < 0 || (uint64_t)wait > timeout_ms - spent)
				wait = (int)(timeout_ms - spent);
		}
		pfd.fd = hotmem_fd(hm);
		if (pfd.fd < 0)
			return pfd.fd;
		if (wait != 0 && poll(&pfd, 1, wait) < 0 && errno != EINTR)
			return -errno;
		r = hotmem_dispatch(hm);
		if (r < 0)
			return r;
	}
	return 0;
}

static int run_blocking(struct hotmem *hm, uint32_t domid, enum hotmem_op_kind kind, uint64_t bytes,
			struct hotmem_result *ret_result)
{
	struct hotmem_operation *op = NULL;
	struct hotmem_result result;
	int r;

	r = hotmem_op_start(hm, domid, kind, bytes, &op);
	if (r < 0)
		goto out;
	r = hotmem_op_wait(hm, op, -1);
	if (r < 0)
		goto out;
	hotmem_op_result(op, &result);
	if (ret_result)
		*ret_result = result;
	r = result.error;
out:
	hotmem_op_free(op);
	return r;
}

int hotmem_grow(struct hotmem *hm, uint32_t domid, uint64_t bytes, struct hotmem_result *ret_result)
{
	return run_blocking(hm, domid, HOTMEM_OP_KIND_GROW, bytes, ret_result);
}

int hotmem_shrink(struct hotmem *hm, uint32_t domid, uint64_t bytes,
		  struct hotmem_result *ret_result)
{
	return run_blocking(hm, domid, HOTMEM_OP_KIND_SHRINK, bytes, ret_result);
}

int hotmem_set(struct hotmem *hm, uint32_t domid, uint64_t bytes, struct hotmem_result *ret_result)
{
	return run_blocking(hm, domid, HOTMEM_OP_KIND_SET, bytes, ret_result);
}

/* ---- handle -------------------------------------------------------------- */

void hotmem_config_defaults(struct hotmem_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->journal_dir = HOTMEM_DEFAULT_JOURNAL_DIR;
	cfg->host_reserve_bytes = 256ull << 20;
	cfg->window_bytes = HOTMEM_DEFAULT_WINDOW_BYTES;
	cfg->features = HOTMEM_FEATURES_KNOWN;
	cfg->ack_timeout_ms = 30000;
	cfg->fill_timeout_ms = 30000;
	cfg->fill_poll_ms = 50;
	cfg->event_min_interval_ms = 20;
	cfg->retry_ms = 10;
	cfg->retry_max_ms = 1000;
	cfg->txn_retries = 16;
	cfg->max_extent_order = 18;
	cfg->memmap_in_target = true;
}

int hotmem_open(struct hv *hv, const struct hotmem_config *cfg, struct hotmem **ret_hm)
{
	struct hotmem *hm = NULL;
	size_t len;
	int r = -EINVAL;

	if (!hv || !ret_hm)
		goto out;
	hm = calloc(1, sizeof(*hm));
	if (!hm) {
		r = -ENOMEM;
		goto out;
	}
	hm->hv = hv;
	if (cfg)
		hm->cfg = *cfg;
	else
		hotmem_config_defaults(&hm->cfg);
	if (!hm->cfg.clock_ms)
		hm->cfg.clock_ms = monotonic_ms;
	len = hm->cfg.journal_dir ? strlen(hm->cfg.journal_dir) : 0;
	if (len < 2 || len > HM_PATH_MAX - 32 || hm->cfg.journal_dir[0] != '/' ||
	    hm->cfg.journal_dir[len - 1] == '/' || !hm->cfg.ack_timeout_ms ||
	    !hm->cfg.fill_timeout_ms || !hm->cfg.fill_poll_ms || !hm->cfg.retry_ms ||
	    hm->cfg.retry_max_ms < hm->cfg.retry_ms || !hm->cfg.window_bytes ||
	    (hm->cfg.features & ~HOTMEM_FEATURES_KNOWN) ||
	    (hm->cfg.stats_interval_ms &&
	     (hm->cfg.stats_interval_ms < HOTMEM_STATS_INTERVAL_MIN_MS ||
	      hm->cfg.stats_interval_ms > HOTMEM_STATS_INTERVAL_MAX_MS)))
		goto out;
	memcpy(hm->journal_dir, hm->cfg.journal_dir, len + 1);
	hm->cfg.journal_dir = hm->journal_dir;
	/*
	 * cfg.features is what H/features offers: target-blocks only if we do
	 * it, and populated-blocks only with it (memory/target by whole blocks).
	 */
	if (!hm->cfg.memmap_in_target)
		hm->cfg.features &= ~HOTMEM_FEATURE_TARGET_BLOCKS;
	if (!(hm->cfg.features & HOTMEM_FEATURE_TARGET_BLOCKS))
		hm->cfg.features &= ~HOTMEM_FEATURE_POPULATED_BLOCKS;
	/* One engine per journal: a newer claim makes this one stop (-ESTALE). */
	r = jr_claim(hm);
	if (r < 0)
		goto out;
	r = hv->ops->xs_watch(hv, "@releaseDomain", TOKEN_RELEASE);
	if (r < 0)
		goto out;
	hm->release_watched = true;
	r = hv->ops->xs_watch(hv, "@introduceDomain", TOKEN_INTRODUCE);
	if (r < 0)
		goto out;
	hm->introduce_watched = true;
	*ret_hm = hm;
	hm = NULL;
out:
	free(hm);
	return r;
}

void hotmem_close(struct hotmem *hm)
{
	if (!hm)
		return;
	while (hm->ops) {
		struct hotmem_operation *op = hm->ops;

		hm->ops = op->next;
		free(op);
	}
	while (hm->domains) {
		struct hm_domain *dom = hm->domains;

		hm->domains = dom->next;
		dom_unwatch(hm, dom);
		free(dom);
	}
	if (hm->release_watched)
		hm->hv->ops->xs_unwatch(hm->hv, "@releaseDomain", TOKEN_RELEASE);
	if (hm->introduce_watched)
		hm->hv->ops->xs_unwatch(hm->hv, "@introduceDomain", TOKEN_INTRODUCE);
	hm_reboot_free(hm);
	free(hm);
}

/* Whether H still exists: a journalled domain without it had its domid reused. */
static int dom_has_dir(struct hotmem *hm, uint32_t domid)
{
	char path[HM_PATH_MAX];
	char *value = NULL;
	int r;

	r = hm_dom_path(path, sizeof(path), domid, HOTMEM_KEY_VERSION);
	if (r < 0)
		return r;
	r = hm_xs_read(hm, HV_XS_NO_TXN, path, &value, NULL);
	free(value);
	return r;
}

/* Alive, and its H/ directory still there (-ENOENT: somebody removed it). */
static int dom_present(struct hotmem *hm, struct hm_domain *dom)
{
	int r = dom_alive(hm, dom);

	if (r < 0)
		return r;
	return dom_has_dir(hm, dom->domid);
}

/* One journalled domain: released, settled (counted in report) or the error. */
static int reconcile_dom(struct hotmem *hm, uint32_t domid, struct hotmem_reconcile_report *report)
{
	struct settle_report settled = { 0 };
	struct hm_domain *dom = dom_find(hm, domid);
	int r;

	if (!dom) {
		r = dom_load(hm, domid, &dom);
		if (r < 0)
			return r;
	}
	r = dom_present(hm, dom);
	if (r == -ESRCH || r == -ENOENT) {
		dom_release(hm, dom);
		report->released++;
		return 0;
	}
	if (r < 0)
		return r;
	/*
	 * Only a record with something to settle: dom_settle() starts by
	 * loading the journal again, which for an idle record (just loaded
	 * above) finds what we hold and does nothing else.
	 */
	if (!dom->op &&
	    (dom->need_recover || dom->record.rec.phase != HM_PHASE_NONE ||
	     bitmap_weight(dom->record.pending) || bitmap_weight(dom->record.refused))) {
		r = dom_retry_settle(hm, dom, now_ms(hm), &settled);
		if (r == -ESRCH) {
			report->released++;
			return 0;
		}
		if (r < 0)
			return r;
	}
	dom_check_shutdown(hm, dom);
	report->rolled_back += settled.rolled_back;
	report->finished += settled.finished;
	report->outstanding += settled.outstanding;
	dom_handshake(hm, dom);
	return 0;
}

int hotmem_reconcile(struct hotmem *hm, struct hotmem_reconcile_report *ret_report)
{
	struct hotmem_reconcile_report report;
	uint32_t *domids = NULL;
	size_t count = 0, i;
	int r, first_error = 0;

	memset(&report, 0, sizeof(report));
	r = jr_check_owner(hm, HV_XS_NO_TXN);
	if (r < 0)
		return r;
	r = jr_list(hm, &domids, &count);
	if (r < 0)
		return r;
	for (i = 0; i < count; i++) {
		report.domains++;
		r = reconcile_dom(hm, domids[i], &report);
		if (r < 0) {
			report.failed++;
			if (!first_error)
				first_error = r;
		}
	}
	free(domids);
	hm_reboot_scan(hm);
	if (ret_report)
		*ret_report = report;
	return first_error;
}

/* ---- attach and settings ------------------------------------------------- */

struct attach_ctx {
	uint32_t domid;
	struct hm_record record; /* in: params; out: with the seq floor */
	uint32_t features;
	uint32_t stats_interval_ms;
};

/* Highest seq a previous attachment left in H/request or H/guest/ack. */
static uint32_t old_seq_floor(struct hotmem *hm, hv_xs_txn txn, uint32_t domid)
{
	char path[HM_PATH_MAX];
	struct hotmem_request request;
	struct hotmem_ack ack;
	uint32_t floor = 0;
	char *value = NULL;
	size_t len = 0;

	if (!hm_dom_path(path, sizeof(path), domid, HOTMEM_KEY_REQUEST) &&
	    !hm_xs_read(hm, txn, path, &value, &len) && !hotmem_parse_request(value, len, &request))
		floor = request.seq;
	free(value);
	value = NULL;
	if (!hm_dom_path(path, sizeof(path), domid, HOTMEM_KEY_GUEST_ACK) &&
	    !hm_xs_read(hm, txn, path, &value, &len) && !hotmem_parse_ack(value, len, &ack) &&
	    ack.seq > floor)
		floor = ack.seq;
	free(value);
	return floor;
}

/* Create /local/domain/<domid>/<key> with the given permissions. */
static int make_dom_dir(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, const char *key,
			const struct hv_xs_perm *perms, unsigned int nr_perms)
{
	char path[HM_PATH_MAX];
	int r;

	r = hm_dom_path(path, sizeof(path), domid, key);
	if (r < 0)
		return r;
	r = hm->hv->ops->xs_mkdir(hm->hv, txn, path);
	if (r < 0)
		return r;
	return hm->hv->ops->xs_set_perms(hm->hv, txn, path, perms, nr_perms);
}

static int attach_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct attach_ctx *ctx = arg;
	const struct hv_ops *ops = hm->hv->ops;
	const struct hv_xs_perm dom0_only[1] = { { 0, HV_XS_PERM_NONE } };
	const struct hv_xs_perm readable[2] = {
		{ 0, HV_XS_PERM_NONE },
		{ ctx->domid, HV_XS_PERM_READ },
	};
	const struct hv_xs_perm guest_owned[1] = { { ctx->domid, HV_XS_PERM_NONE } };
	char path[HM_PATH_MAX], text[HOTMEM_SHORT_VALUE_SIZE];
	struct hm_record existing;
	int r;

	r = jr_check_owner(hm, txn);
	if (r < 0)
		return r;
	r = jr_load(hm, txn, ctx->domid, &existing);
	if (!r || r == -EUCLEAN)
		return -EEXIST;
	if (r != -ENOENT)
		return r;
	r = ops->xs_mkdir(hm->hv, txn, hm->journal_dir);
	if (r < 0)
		return r;
	r = ops->xs_set_perms(hm->hv, txn, hm->journal_dir, dom0_only, 1);
	if (r < 0)
		return r;
	ctx->record.seq = old_seq_floor(hm, txn, ctx->domid);

	/* H/ afresh (nothing of an earlier attachment stays), readable by the guest. */
	r = hm_dom_path(path, sizeof(path), ctx->domid, HOTMEM_KEY_DIR);
	if (r < 0)
		return r;
	r = ops->xs_rm(hm->hv, txn, path);
	if (r < 0)
		return r;
	r = make_dom_dir(hm, txn, ctx->domid, HOTMEM_KEY_DIR, readable, 2);
	if (r < 0)
		return r;
	r = put_dom_key(hm, txn, ctx->domid, HOTMEM_KEY_VERSION, text,
			hotmem_format_version(text, sizeof(text), HOTMEM_PROTO_VERSION));
	if (r < 0)
		return r;
	r = put_dom_key(hm, txn, ctx->domid, HOTMEM_KEY_FEATURES, text,
			hotmem_format_features(text, sizeof(text), ctx->features));
	if (r < 0)
		return r;
	r = put_dom_key(hm, txn, ctx->domid, HOTMEM_KEY_STATS_INTERVAL, text,
			hotmem_format_stats_interval(text, sizeof(text), ctx->stats_interval_ms));
	if (r < 0)
		return r;
	r = make_dom_dir(hm, txn, ctx->domid, HOTMEM_KEY_GUEST_DIR, guest_owned, 1);
	if (r < 0)
		return r;
	return jr_store(hm, txn, ctx->domid, &ctx->record);
}

int hotmem_attach(struct hotmem *hm, uint32_t domid, const struct hotmem_attach_params *params)
{
	struct hotmem_attach_params p = { 0 };
	struct attach_ctx ctx = { .domid = domid };
	struct hv_domain_info info;
	struct hotmem_window window;
	struct hm_domain *dom;
	uint64_t static_kib = 0;
	char path[HM_PATH_MAX];
	int r;

	if (!hm || !domid || domid > HOTMEM_DOMID_MAX)
		return -EINVAL;
	if (params)
		p = *params;
	if (!p.window_bytes)
		p.window_bytes = hm->cfg.window_bytes;
	if (!p.max_bytes)
		p.max_bytes = hm->cfg.domain_max_bytes ? hm->cfg.domain_max_bytes : p.window_bytes;
	if (!p.stats_interval_ms)
		p.stats_interval_ms = hm->cfg.stats_interval_ms;
	if (p.window_bytes < HOTMEM_BLOCK_SIZE_MIN ||
	    (p.window_base & (HOTMEM_BLOCK_SIZE_MIN - 1)) ||
	    (p.stats_interval_ms && (p.stats_interval_ms < HOTMEM_STATS_INTERVAL_MIN_MS ||
				     p.stats_interval_ms > HOTMEM_STATS_INTERVAL_MAX_MS)))
		return -EINVAL;
	if (dom_find(hm, domid))
		return -EEXIST;
	r = hm->hv->ops->domain_info(hm->hv, domid, &info);
	if (r < 0)
		return r;
	if (info.dying)
		return -ESRCH;
	/* Boot RAM: what it owns now or what libxl says it was given (if it says). */
	if (hm_dom_path(path, sizeof(path), domid, "memory/static-max") == 0)
		hm_xs_read_dec(hm, HV_XS_NO_TXN, path, &static_kib);
	ctx.features = hm->cfg.features;
	ctx.stats_interval_ms = p.stats_interval_ms;
	ctx.record.max_bytes = p.max_bytes;
	ctx.record.window_req_bytes = p.window_bytes;
	ctx.record.window_req_base = p.window_base;
	ctx.record.boot_bytes = info.tot_pages << HV_PAGE_SHIFT;
	ctx.record.have_handle = true;
	memcpy(ctx.record.handle, info.handle, sizeof(ctx.record.handle));
	ctx.record.memmap_in_target = hm->cfg.memmap_in_target;
	if (static_kib << KIB_SHIFT > ctx.record.boot_bytes)
		ctx.record.boot_bytes = static_kib << KIB_SHIFT;
	/* Does a window fit at all (with the smallest block)? */
	r = hotmem_window_plan(ctx.record.boot_bytes, HOTMEM_BLOCK_SIZE_MIN, p.window_bytes,
			       p.window_base, &window);
	if (r < 0)
		return r;
	r = hm_txn(hm, attach_txn, &ctx);
	if (r < 0)
		return r;
	dom = dom_new(hm, domid, &ctx.record);
	if (!dom)
		return -ENOMEM; /* journalled but not in memory: hotmem_reconcile() picks it up */
	dom_watch(hm, dom);
	dom_handshake(hm, dom);
	return 0;
}

struct detach_ctx {
	uint32_t domid;
};

static int detach_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct detach_ctx *ctx = arg;
	int r;

	r = rm_dom_key(hm, txn, ctx->domid, HOTMEM_KEY_DIR);
	if (r < 0)
		return r;
	return jr_remove(hm, txn, ctx->domid);
}

int hotmem_detach(struct hotmem *hm, uint32_t domid)
{
	struct detach_ctx ctx = { .domid = domid };
	struct hm_domain *dom;
	int r;

	if (jr_check_owner(hm, HV_XS_NO_TXN) == -ESTALE)
		return -ESTALE;
	r = dom_get(hm, domid, &dom);
	if (r < 0)
		return r;
	if (dom->op || dom->need_recover || dom->record.rec.phase != HM_PHASE_NONE ||
	    bitmap_weight(dom->record.granted) || bitmap_weight(dom->record.pending) ||
	    bitmap_weight(dom->record.refused))
		return -EBUSY;
	r = hm_txn(hm, detach_txn, &ctx);
	if (r < 0)
		return r;
	dom_unwatch(hm, dom);
	dom_unlink_free(hm, dom);
	return 0;
}

int hotmem_set_max(struct hotmem *hm, uint32_t domid, uint64_t max_bytes)
{
	struct hm_domain *dom;
	struct hm_record next;
	int r;

	if (!max_bytes)
		return -EINVAL;
	r = dom_get(hm, domid, &dom);
	if (r < 0)
		return r;
	next = dom->record;
	next.max_bytes = max_bytes;
	return record_commit(hm, dom, &next);
}

int hotmem_host_books(struct hotmem *hm, struct hotmem_host_books *ret_books)
{
	if (!hm || !ret_books)
		return -EINVAL;
	ret_books->reserve_bytes = hm->cfg.host_reserve_bytes;
	ret_books->promised_bytes = promised_bytes(hm);
	return 0;
}

int hotmem_set_host_reserve(struct hotmem *hm, uint64_t reserve_bytes)
{
	if (!hm)
		return -EINVAL;
	/* Read by admission only (grow_begin_txn), never kept in a record. */
	hm->cfg.host_reserve_bytes = reserve_bytes;
	return 0;
}

int hotmem_set_stats_interval(struct hotmem *hm, uint32_t domid, uint32_t interval_ms)
{
	char text[HOTMEM_SHORT_VALUE_SIZE];
	struct hm_domain *dom;
	int len, r;

	/* A bad interval is refused before the domain is looked at. */
	len = hotmem_format_stats_interval(text, sizeof(text), interval_ms);
	if (len < 0)
		return len;
	r = dom_get(hm, domid, &dom);
	if (r < 0)
		return r;
	return put_dom_key(hm, HV_XS_NO_TXN, domid, HOTMEM_KEY_STATS_INTERVAL, text, len);
}

struct target_ctx {
	uint32_t domid;
	uint64_t target_kib;
	uint64_t heads_kib; /* granted memmap heads memory/target leaves out */
};

static int target_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct target_ctx *ctx = arg;
	uint64_t target_kib, static_kib;
	char path[HM_PATH_MAX];
	int r;

	/*
	 * The ceiling is memory/static-max, read with the write: libxl sets it
	 * to the boot memory= and every grant adds its blocks in the transaction
	 * that records them. Not tot_pages: it also counts the pages libxl gives
	 * the domain besides its RAM (console, xenstore rings), and a target
	 * above what the balloon holds makes Linux's balloon hot-add memory of
	 * its own (lab notes: that crashes arm64 guests).
	 */
	r = read_memory_keys(hm, txn, ctx->domid, &target_kib, &static_kib);
	if (r < 0)
		return r;
	if (ctx->target_kib > static_kib || static_kib - ctx->target_kib < ctx->heads_kib)
		return -ERANGE;
	r = hm_dom_path(path, sizeof(path), ctx->domid, "memory/target");
	return r < 0 ? r : hm_xs_write_dec(hm, txn, path, ctx->target_kib);
}

int hotmem_set_target(struct hotmem *hm, uint32_t domid, uint64_t target_bytes)
{
	struct target_ctx ctx = { .domid = domid, .target_kib = target_bytes >> KIB_SHIFT };
	struct hm_domain *dom;
	int r;

	if (!hm || !target_bytes || (target_bytes & ((1ull << KIB_SHIFT) - 1)))
		return -EINVAL;
	if (jr_check_owner(hm, HV_XS_NO_TXN) == -ESTALE)
		return -ESTALE;
	r = dom_get(hm, domid, &dom);
	if (r < 0)
		return r;
	/*
	 * Grows and shrinks move memory/target relative to its value in their
	 * ack transaction; a write in the middle of one would be lost or counted
	 * twice, so only a domain at rest may be moved.
	 */
	if (dom->op || dom->need_recover || dom->record.rec.phase != HM_PHASE_NONE ||
	    bitmap_weight(dom->record.pending) || bitmap_weight(dom->record.refused))
		return -EBUSY;
	/* A target that follows usable bytes never covers the granted heads. */
	ctx.heads_kib = (uint64_t)dom->block_count[HM_BLOCK_GRANTED] *
			(block_kib(&dom->record) - target_step_kib(&dom->record));
	return hm_txn(hm, target_txn, &ctx);
}

int hotmem_list(struct hotmem *hm, uint32_t *ret_domids, size_t max_domids, size_t *ret_count)
{
	const struct hm_domain *dom;
	size_t count = 0;

	if (!ret_count || (max_domids && !ret_domids))
		return -EINVAL;
	for (dom = hm->domains; dom && count < max_domids; dom = dom->next)
		ret_domids[count++] = dom->domid;
	*ret_count = count;
	return 0;
}

int hotmem_domain_info(struct hotmem *hm, uint32_t domid, struct hotmem_domain_info *ret_info)
{
	struct hotmem_domain_info info;
	const struct hm_record *record;
	struct hm_domain *dom;
	int r;

	if (!ret_info)
		return -EINVAL;
	r = dom_get(hm, domid, &dom);
	if (r < 0)
		return r;
	record = &dom->record;
	memset(&info, 0, sizeof(info));
	info.domid = domid;
	info.max_bytes = record->max_bytes;
	info.boot_bytes = record->boot_bytes;
	info.have_window = record->have_window;
	info.window = record->window;
	info.block_size = record->block_size;
	info.nr_blocks = record->nr_blocks;
	info.have_memmap = record->have_memmap;
	info.memmap_bytes = record->memmap_bytes;
	info.granted_blocks = dom->block_count[HM_BLOCK_GRANTED];
	info.granted_bytes = (uint64_t)info.granted_blocks * record->block_size;
	if (record->have_window) {
		info.granted_usable_bytes =
			(uint64_t)info.granted_blocks * (record->block_size - record->memmap_bytes);
		info.granted_target_bytes =
			(uint64_t)info.granted_blocks * (target_step_kib(record) << KIB_SHIFT);
	}
	info.memmap_in_target = record->memmap_in_target;
	memcpy(info.granted, record->granted, sizeof(info.granted));
	info.last_seq = record->seq;
	info.busy = dom->op != NULL;
	info.recovering = dom->need_recover || (dom->op && dom->op->state == HM_OP_RECOVER);
	info.violation = dom->violation;
	info.pending_blocks = bitmap_weight(record->pending) + bitmap_weight(record->refused);
	info.pending_seq = record->pending_seq;
	for (size_t w = 0; w < HM_WORDS; w++)
		info.pending[w] = record->pending[w] | record->refused[w];
	info.frozen = record->frozen;
	info.frozen_seq = record->frozen_seq;
	info.frozen_pages = record->frozen_pages;
	info.going_down = record->restored;
	if (record->rec.phase == HM_PHASE_REQUESTED && !dom->op) {
		info.outstanding = true;
		info.outstanding_kind = record->rec.req.op == HOTMEM_OP_GROW
						? HOTMEM_OP_KIND_GROW
						: HOTMEM_OP_KIND_SHRINK;
		info.outstanding_seq = record->rec.req.seq;
		info.outstanding_first = record->rec.req.first;
		info.outstanding_count = record->rec.req.count;
	}
	*ret_info = info;
	return 0;
}

struct status_ctx {
	uint32_t domid;
	struct hm_guest_view view; /* out */
};

static int status_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct status_ctx *ctx = arg;

	return guest_read_keys(hm, txn, ctx->domid, HM_GK_ALL, &ctx->view);
}

int hotmem_guest_status(struct hotmem *hm, uint32_t domid, struct hotmem_guest_status *ret_status)
{
	struct hotmem_guest_status status;
	struct status_ctx ctx = { .domid = domid };
	struct hm_domain *dom;
	uint32_t features;
	int r;

	if (!ret_status)
		return -EINVAL;
	r = dom_get(hm, domid, &dom);
	if (r < 0)
		return r;
	r = hm_txn(hm, status_txn, &ctx);
	if (r < 0)
		return r;
	memset(&status, 0, sizeof(status));
#define VALID(key) ((ctx.view.valid & HM_GK_BIT(key)) != 0)
	status.have_version = VALID(HM_GK_VERSION);
	status.have_features = VALID(HM_GK_FEATURES);
	status.have_block_size = VALID(HM_GK_BLOCK_SIZE);
	status.have_memmap = VALID(HM_GK_MEMMAP);
	status.have_state = VALID(HM_GK_STATE);
	status.have_ack = VALID(HM_GK_ACK);
	status.have_blocks = VALID(HM_GK_BLOCKS);
	status.have_stats = VALID(HM_GK_STATS);
#undef VALID
	status.version = ctx.view.version;
	status.features = ctx.view.features;
	status.block_size = ctx.view.block_size;
	status.memmap_bytes = ctx.view.memmap_bytes;
	status.state = ctx.view.state;
	status.ack = ctx.view.ack;
	status.nr_blocks = bitmap_weight(ctx.view.blocks);
	status.stats = ctx.view.stats;
	status.not_ready = guest_check_ready(hm, &dom->record, &ctx.view, &features);
	status.ready = !status.not_ready;
	*ret_status = status;
	return 0;
}

void hotmem_get_counters(struct hotmem *hm, struct hotmem_counters *ret_counters)
{
	*ret_counters = hm->counters;
}
