/*
 * The write-ahead journal: one xenstore directory per attached domain under
 * cfg.journal_dir (dom0-only), holding the engine's records (the hotmem
 * maximum, the window, the locked block and memmap sizes, the last request
 * seq, the granted blocks) and the record of the operation in flight with
 * every "before" value recovery needs. Each key has one canonical spelling
 * and is parsed strictly: a record that does not parse is -EUCLEAN, never
 * guessed at. Callers write the records inside the same transaction as the
 * xenstore side effects of a step, so a step and its record commit together.
 *
 * Keys of J/<domid>:
 *   params       "<max hex> <window-bytes hex> <window-base hex> <boot-bytes hex>
 *                 <memmap-in-target 0|1>"
 *   window       as H/window (absent until the guest published a block size)
 *   block-size   as H/guest/block-size (with window)
 *   memmap-bytes hex (absent until the first grow)
 *   seq          decimal, last request seq used (0: none)
 *   granted      block bitmap, hex nibbles, block 4i+k is bit k of nibble i,
 *                trailing zero nibbles dropped ("" = none)
 *   op           "<phase> <seq> <grow|shrink> <first> <count> <memmap hex>
 *                 <progress> <max-kib> <target-kib> <static-max-kib>
 *                 <pool-bytes> <tot-pages>" (absent when idle)
 *   op-blocks    bitmap as granted (with op)
 *   base         "<max-kib> <pool-bytes> <dom0-bytes hex>": Xen's max memory
 *                and P2M pool without anything of ours, taken at each
 *                operation's start, and what dom0 populates per block
 *   pending      "<seq> <bitmap>": blocks of superseded grows awaiting the
 *                guest's first ack with a seq >= <seq> (absent: none)
 *   refused      bitmap: blocks of superseded grows the guest did not add,
 *                whose dom0 part is being given back (absent: none)
 *   frozen       "<seq> <pages>": after request <seq> the guest held <pages>
 *                frames above its grant (absent: not frozen)
 *   handle       32 lowercase hex digits: the domain's handle (xl's UUID) at
 *                attach; the same domid with another handle is a new domain
 *
 * <journal_dir>/owner holds the generation of the engine that owns the
 * journal (decimal, +1 per hotmem_open). Every journal write checks it in
 * its transaction: an engine whose generation is no longer there fails
 * with -ESTALE and stops, so two engines never both write the records.
 */
#include "engine.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bitmap text: one hex digit per 4 blocks, plus the NUL. */
#define BITMAP_TEXT_SIZE (HOTMEM_MAX_BLOCKS / 4 + 1)
#define OP_FIELDS	 12

static const char *const phase_names[HM_PHASE_COUNT] = {
	[HM_PHASE_NONE] = "none",
	[HM_PHASE_PREPARE] = "prepare",
	[HM_PHASE_REQUESTED] = "requested",
	[HM_PHASE_ACKED] = "acked",
	[HM_PHASE_RECLAIMING] = "reclaiming",
};

const char *jr_phase_name(enum hm_phase phase)
{
	return (unsigned int)phase < HM_PHASE_COUNT ? phase_names[phase] : "?";
}

static void bitmap_format(char *buf, const uint64_t *bitmap)
{
	static const char digits[] = "0123456789abcdef";
	size_t i, last = 0, words = HM_WORDS;

	while (words && !bitmap[words - 1])
		words--;
	for (i = 0; i < words * 16; i++) {
		unsigned int nibble = (unsigned int)(bitmap[i / 16] >> (i % 16 * 4)) & 0xf;

		buf[i] = digits[nibble];
		if (nibble)
			last = i + 1;
	}
	buf[last] = '\0';
}

static int bitmap_parse(const char *buf, size_t len, uint64_t *ret_bitmap)
{
	uint64_t bitmap[HM_WORDS] = { 0 };
	size_t i;

	if (len > HOTMEM_MAX_BLOCKS / 4 || (len && buf[len - 1] == '0'))
		return -EUCLEAN;
	for (i = 0; i < len; i++) {
		char c = buf[i];
		uint64_t nibble;

		if (c >= '0' && c <= '9')
			nibble = (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			nibble = (uint64_t)(c - 'a' + 10);
		else
			return -EUCLEAN;
		bitmap[i / 16] |= nibble << (i % 16 * 4);
	}
	memcpy(ret_bitmap, bitmap, sizeof(bitmap));
	return 0;
}

/* Split value into exactly n fields separated by single spaces. */
static int split_fields(const char *value, size_t len, const char **fields, size_t *lens,
			unsigned int n)
{
	unsigned int i = 0;
	size_t start = 0, pos;

	for (pos = 0; pos <= len; pos++) {
		if (pos < len && value[pos] != ' ')
			continue;
		if (i == n || pos == start)
			return -EUCLEAN;
		fields[i] = value + start;
		lens[i] = pos - start;
		i++;
		start = pos + 1;
	}
	return i == n ? 0 : -EUCLEAN;
}

static int parse_op(const char *value, size_t len, struct hm_oprec *rec)
{
	const char *f[OP_FIELDS];
	size_t l[OP_FIELDS];
	uint64_t v[OP_FIELDS];
	unsigned int i;
	int phase = -1;

	if (split_fields(value, len, f, l, OP_FIELDS) < 0)
		return -EUCLEAN;
	for (i = HM_PHASE_PREPARE; i < HM_PHASE_COUNT; i++)
		if (strlen(phase_names[i]) == l[0] && !memcmp(f[0], phase_names[i], l[0]))
			phase = (int)i;
	if (phase < 0)
		return -EUCLEAN;
	if (l[2] == 4 && !memcmp(f[2], "grow", 4))
		rec->req.op = HOTMEM_OP_GROW;
	else if (l[2] == 6 && !memcmp(f[2], "shrink", 6))
		rec->req.op = HOTMEM_OP_SHRINK;
	else
		return -EUCLEAN;
	for (i = 1; i < OP_FIELDS; i++) {
		if (i == 2)
			continue;
		if ((i == 5 ? hm_parse_hex(f[i], l[i], &v[i]) : hm_parse_dec(f[i], l[i], &v[i])) <
		    0)
			return -EUCLEAN;
	}
	if (v[1] == 0 || v[1] > UINT32_MAX || v[4] == 0 || v[3] + v[4] > HOTMEM_MAX_BLOCKS ||
	    v[6] > HOTMEM_MAX_BLOCKS || (phase == HM_PHASE_PREPARE && v[6] > v[4]) ||
	    (rec->req.op == HOTMEM_OP_SHRINK && v[3] != 0))
		return -EUCLEAN;
	rec->phase = (enum hm_phase)phase;
	rec->req.seq = (uint32_t)v[1];
	rec->req.first = (uint32_t)v[3];
	rec->req.count = (uint32_t)v[4];
	rec->memmap_bytes = v[5];
	rec->progress = (uint32_t)v[6];
	rec->before_max_kib = v[7];
	rec->before_target_kib = v[8];
	rec->before_static_max_kib = v[9];
	rec->before_pool_bytes = v[10];
	rec->before_tot_pages = v[11];
	return 0;
}

static int format_op(char *buf, size_t size, const struct hm_oprec *rec)
{
	int n = snprintf(buf, size,
			 "%s %" PRIu32 " %s %" PRIu32 " %" PRIu32 " 0x%" PRIx64 " %" PRIu32
			 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
			 jr_phase_name(rec->phase), rec->req.seq,
			 rec->req.op == HOTMEM_OP_GROW ? "grow" : "shrink", rec->req.first,
			 rec->req.count, rec->memmap_bytes, rec->progress, rec->before_max_kib,
			 rec->before_target_kib, rec->before_static_max_kib, rec->before_pool_bytes,
			 rec->before_tot_pages);

	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

/* Read J/<domid>/<key>; -ENOENT passes through. */
static int read_key(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, const char *key,
		    char **ret_value, size_t *ret_len)
{
	char path[HM_PATH_MAX];
	int r;

	r = hm_journal_path(hm, path, sizeof(path), domid, key);
	if (r < 0)
		return r;
	return hm_xs_read(hm, txn, path, ret_value, ret_len);
}

static int write_key(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, const char *key,
		     const char *value)
{
	char path[HM_PATH_MAX];
	int r;

	r = hm_journal_path(hm, path, sizeof(path), domid, key);
	if (r < 0)
		return r;
	return hm_xs_write(hm, txn, path, value);
}

static int rm_key(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, const char *key)
{
	char path[HM_PATH_MAX];
	int r;

	r = hm_journal_path(hm, path, sizeof(path), domid, key);
	if (r < 0)
		return r;
	return hm->hv->ops->xs_rm(hm->hv, txn, path);
}

static int load_params(const char *value, size_t len, struct hm_record *record)
{
	const char *f[5];
	size_t l[5];

	if (split_fields(value, len, f, l, 5) < 0 || l[4] != 1 ||
	    (f[4][0] != '0' && f[4][0] != '1'))
		return -EUCLEAN;
	record->memmap_in_target = f[4][0] == '1';
	if (hm_parse_hex(f[0], l[0], &record->max_bytes) < 0 ||
	    hm_parse_hex(f[1], l[1], &record->window_req_bytes) < 0 ||
	    hm_parse_hex(f[2], l[2], &record->window_req_base) < 0 ||
	    hm_parse_hex(f[3], l[3], &record->boot_bytes) < 0 || !record->max_bytes)
		return -EUCLEAN;
	return 0;
}

static bool bitmap_any(const uint64_t *bitmap)
{
	size_t i;

	for (i = 0; i < HM_WORDS; i++)
		if (bitmap[i])
			return true;
	return false;
}

/* base: "<max-kib> <pool-bytes> <dom0-bytes hex>". */
static int load_base(const char *value, size_t len, struct hm_record *record)
{
	const char *f[3];
	size_t l[3];

	if (split_fields(value, len, f, l, 3) < 0 ||
	    hm_parse_dec(f[0], l[0], &record->base_max_kib) ||
	    hm_parse_dec(f[1], l[1], &record->base_pool_bytes) ||
	    hm_parse_hex(f[2], l[2], &record->dom0_bytes))
		return -EUCLEAN;
	return 0;
}

/* pending, frozen: two fields each. */
static int load_pair(bool pending, const char *value, size_t len, struct hm_record *record)
{
	const char *f[2];
	size_t l[2];
	uint64_t first;

	if (split_fields(value, len, f, l, 2) < 0 || hm_parse_dec(f[0], l[0], &first) < 0)
		return -EUCLEAN;
	if (!first || first > UINT32_MAX)
		return -EUCLEAN;
	if (pending) {
		record->pending_seq = (uint32_t)first;
		if (bitmap_parse(f[1], l[1], record->pending) < 0 || !bitmap_any(record->pending))
			return -EUCLEAN;
		return 0;
	}
	record->frozen = true;
	record->frozen_seq = (uint32_t)first;
	return hm_parse_dec(f[1], l[1], &record->frozen_pages) < 0 ? -EUCLEAN : 0;
}

static int parse_handle(const char *value, size_t len, struct hm_record *record)
{
	size_t i;

	if (len != 2 * sizeof(record->handle))
		return -EUCLEAN;
	for (i = 0; i < len; i++) {
		char c = value[i];
		unsigned int nibble;

		if (c >= '0' && c <= '9')
			nibble = (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			nibble = (unsigned int)(c - 'a' + 10);
		else
			return -EUCLEAN;
		record->handle[i / 2] =
			(uint8_t)(i % 2 ? record->handle[i / 2] | nibble : nibble << 4);
	}
	record->have_handle = true;
	return 0;
}

/*
 * The record's keys, in the order jr_load() reads them (op before op-blocks,
 * which is only valid with an op) and jr_store() writes them.
 */
enum jr_key {
	JR_PARAMS,
	JR_WINDOW,
	JR_BLOCK_SIZE,
	JR_MEMMAP_BYTES,
	JR_SEQ,
	JR_GRANTED,
	JR_BASE,
	JR_PENDING,
	JR_REFUSED,
	JR_HANDLE,
	JR_RESTORED,
	JR_FROZEN,
	JR_OP,
	JR_OP_BLOCKS,
	JR_KEY_COUNT,
};

static const char *const jr_key_names[JR_KEY_COUNT] = {
	[JR_PARAMS] = "params",
	[JR_WINDOW] = "window",
	[JR_BLOCK_SIZE] = "block-size",
	[JR_MEMMAP_BYTES] = "memmap-bytes",
	[JR_SEQ] = "seq",
	[JR_GRANTED] = "granted",
	[JR_BASE] = "base",
	[JR_PENDING] = "pending",
	[JR_REFUSED] = "refused",
	[JR_HANDLE] = "handle",
	[JR_RESTORED] = "restored",
	[JR_FROZEN] = "frozen",
	[JR_OP] = "op",
	[JR_OP_BLOCKS] = "op-blocks",
};

/*
 * Key k into record; absent optional keys leave the record's defaults. The
 * names are jr_key_names[], the one list jr_load() and jr_store() use.
 */
static int load_key(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, enum jr_key k,
		    struct hm_record *record)
{
	char *value = NULL;
	size_t len = 0;
	uint64_t number;
	int r;

	r = read_key(hm, txn, domid, jr_key_names[k], &value, &len);
	if (r == -ENOENT && k != JR_PARAMS) {
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	switch (k) {
	case JR_PARAMS:
		r = load_params(value, len, record);
		break;
	case JR_WINDOW:
		r = hotmem_parse_window(value, len, &record->window) < 0 ? -EUCLEAN : 0;
		record->have_window = true;
		break;
	case JR_BLOCK_SIZE:
		r = hotmem_parse_block_size(value, len, &record->block_size) < 0 ? -EUCLEAN : 0;
		break;
	case JR_MEMMAP_BYTES:
		r = hm_parse_hex(value, len, &record->memmap_bytes) < 0 ? -EUCLEAN : 0;
		record->have_memmap = true;
		break;
	case JR_SEQ:
		r = hm_parse_dec(value, len, &number) < 0 || number > UINT32_MAX ? -EUCLEAN : 0;
		record->seq = (uint32_t)number;
		break;
	case JR_GRANTED:
		r = bitmap_parse(value, len, record->granted);
		break;
	case JR_OP:
		r = parse_op(value, len, &record->rec);
		break;
	case JR_OP_BLOCKS:
		/* Only with an op (loaded before it): jr_store() drops a stray one. */
		r = record->rec.phase == HM_PHASE_NONE
			    ? -EUCLEAN
			    : bitmap_parse(value, len, record->rec.blocks);
		break;
	case JR_BASE:
		r = load_base(value, len, record);
		break;
	case JR_PENDING:
	case JR_FROZEN:
		r = load_pair(k == JR_PENDING, value, len, record);
		break;
	case JR_RESTORED:
		r = len == 1 && value[0] == '1' ? 0 : -EUCLEAN;
		record->restored = true;
		break;
	case JR_HANDLE:
		r = parse_handle(value, len, record);
		break;
	case JR_REFUSED:
		r = bitmap_parse(value, len, record->refused);
		if (!r && !bitmap_any(record->refused))
			r = -EUCLEAN;
		break;
	case JR_KEY_COUNT:
		break;
	}
out:
	free(value);
	return r;
}

/* Whether name is one of the count names a directory listing gave. */
static bool name_listed(char *const *names, unsigned int count, const char *name)
{
	unsigned int i;

	for (i = 0; i < count; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

int jr_load(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, struct hm_record *ret_record)
{
	struct hm_record record;
	char path[HM_PATH_MAX];
	char **names = NULL;
	unsigned int i, count = 0;
	int r;

	memset(&record, 0, sizeof(record));
	/*
	 * The record's directory first, then only the keys it lists: an idle
	 * record lacks six of the fourteen (op, op-blocks, pending, refused,
	 * frozen, restored), and reading each to learn so costs a xenstore
	 * round trip. In a transaction the listing and the reads are one
	 * snapshot: a key added or removed in between fails the commit, and
	 * the transaction runs again. A record without its directory, or
	 * without params, does not exist (-ENOENT), as before.
	 */
	r = hm_journal_path(hm, path, sizeof(path), domid, NULL);
	if (r < 0)
		goto out;
	r = hm->hv->ops->xs_directory(hm->hv, txn, path, &names, &count);
	if (r < 0)
		goto out;
	if (!name_listed(names, count, jr_key_names[JR_PARAMS])) {
		r = -ENOENT;
		goto out;
	}
	for (i = 0; !r && i < JR_KEY_COUNT; i++)
		if (name_listed(names, count, jr_key_names[i]))
			r = load_key(hm, txn, domid, (enum jr_key)i, &record);
	if (r < 0)
		goto out;
	/* Cross-field rules: window and block size go together and agree. */
	if (record.have_window != (record.block_size != 0) ||
	    (record.have_window &&
	     hotmem_window_check(&record.window, record.block_size, &record.nr_blocks) < 0)) {
		r = -EUCLEAN;
		goto out;
	}
	if ((bitmap_any(record.pending) || bitmap_any(record.refused)) &&
	    (!record.have_window || record.pending_seq > record.seq)) {
		r = -EUCLEAN;
		goto out;
	}
	if (record.rec.phase != HM_PHASE_NONE &&
	    (!record.have_window || record.rec.req.seq > record.seq ||
	     (record.rec.req.op == HOTMEM_OP_GROW &&
	      record.rec.req.first + record.rec.req.count > record.nr_blocks))) {
		r = -EUCLEAN;
		goto out;
	}
	*ret_record = record;
out:
	free(names);
	return r;
}

static int owner_path(const struct hotmem *hm, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/owner", hm->journal_dir);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int read_owner(struct hotmem *hm, hv_xs_txn txn, uint64_t *ret_generation)
{
	char path[HM_PATH_MAX];
	char *value = NULL;
	size_t len = 0;
	int r;

	r = owner_path(hm, path, sizeof(path));
	if (r < 0)
		return r;
	r = hm_xs_read(hm, txn, path, &value, &len);
	if (r == -ENOENT) {
		*ret_generation = 0; /* a journal nobody claimed yet */
		return 0;
	}
	if (r < 0)
		return r;
	r = hm_parse_dec(value, len, ret_generation) < 0 ? -EUCLEAN : 0;
	free(value);
	return r;
}

int jr_check_owner(struct hotmem *hm, hv_xs_txn txn)
{
	uint64_t generation;
	int r;

	if (hm->stale)
		return -ESTALE;
	r = read_owner(hm, txn, &generation);
	if (r < 0)
		return r;
	if (generation != hm->generation) {
		hm->stale = true;
		return -ESTALE;
	}
	return 0;
}

static int claim_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	const struct hv_xs_perm dom0_only[1] = { { 0, HV_XS_PERM_NONE } };
	uint64_t *generation = arg;
	char path[HM_PATH_MAX], text[32];
	int r;

	r = read_owner(hm, txn, generation);
	if (r < 0)
		return r;
	/*
	 * A journal with an owner was created, dom0-only, by the transaction
	 * that first claimed it; only a journal nobody claimed yet (or whose
	 * owner key went) is made here. Every xl-hotmem command claims, and
	 * each of these calls is a xenstore round trip.
	 */
	if (!*generation) {
		r = hm->hv->ops->xs_mkdir(hm->hv, txn, hm->journal_dir);
		if (r < 0)
			return r;
		r = hm->hv->ops->xs_set_perms(hm->hv, txn, hm->journal_dir, dom0_only, 1);
		if (r < 0)
			return r;
	}
	(*generation)++;
	snprintf(text, sizeof(text), "%" PRIu64, *generation);
	r = owner_path(hm, path, sizeof(path));
	if (r < 0)
		return r;
	return hm_xs_write(hm, txn, path, text);
}

int jr_claim(struct hotmem *hm)
{
	uint64_t generation = 0;
	int r;

	r = hm_txn(hm, claim_txn, &generation);
	if (r < 0)
		return r;
	hm->generation = generation;
	return 0;
}

/* What a record keeps in one key: its text, nothing (remove it) or leave it alone. */
enum jr_value { JR_VALUE_TEXT, JR_VALUE_ABSENT, JR_VALUE_LEAVE };

#define JR_TEXT_SIZE (BITMAP_TEXT_SIZE + 32)

/*
 * Key k of record, as text in buf (JR_TEXT_SIZE). The window and the sizes
 * locked with it, the memmap size and the handle stay once written (their
 * absence in a record means "not known yet", never "gone"); base is always
 * written; the others are removed when they hold nothing.
 */
static int key_value(const struct hm_record *record, enum jr_key k, char *buf,
		     enum jr_value *ret_value)
{
	const size_t size = JR_TEXT_SIZE;
	int n;

	*ret_value = JR_VALUE_TEXT;
	switch (k) {
	case JR_PARAMS:
		snprintf(buf, size, "0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 " %d",
			 record->max_bytes, record->window_req_bytes, record->window_req_base,
			 record->boot_bytes, record->memmap_in_target);
		return 0;
	case JR_WINDOW:
		if (!record->have_window)
			break;
		n = hotmem_format_window(buf, size, &record->window);
		return n < 0 ? n : 0;
	case JR_BLOCK_SIZE:
		if (!record->have_window)
			break;
		n = hotmem_format_block_size(buf, size, record->block_size);
		return n < 0 ? n : 0;
	case JR_MEMMAP_BYTES:
		if (!record->have_memmap)
			break;
		snprintf(buf, size, "0x%" PRIx64, record->memmap_bytes);
		return 0;
	case JR_SEQ:
		snprintf(buf, size, "%" PRIu32, record->seq);
		return 0;
	case JR_GRANTED:
		bitmap_format(buf, record->granted);
		return 0;
	case JR_BASE:
		snprintf(buf, size, "%" PRIu64 " %" PRIu64 " 0x%" PRIx64, record->base_max_kib,
			 record->base_pool_bytes, record->dom0_bytes);
		return 0;
	case JR_PENDING:
		if (!bitmap_any(record->pending)) {
			*ret_value = JR_VALUE_ABSENT;
			return 0;
		}
		n = snprintf(buf, size, "%" PRIu32 " ", record->pending_seq);
		bitmap_format(buf + n, record->pending);
		return 0;
	case JR_REFUSED:
		if (!bitmap_any(record->refused)) {
			*ret_value = JR_VALUE_ABSENT;
			return 0;
		}
		bitmap_format(buf, record->refused);
		return 0;
	case JR_HANDLE:
		if (!record->have_handle)
			break;
		for (size_t i = 0; i < sizeof(record->handle); i++)
			snprintf(buf + 2 * i, 3, "%02x", record->handle[i]);
		return 0;
	case JR_RESTORED:
		if (!record->restored)
			*ret_value = JR_VALUE_ABSENT;
		else
			snprintf(buf, size, "1");
		return 0;
	case JR_FROZEN:
		if (!record->frozen)
			*ret_value = JR_VALUE_ABSENT;
		else
			snprintf(buf, size, "%" PRIu32 " %" PRIu64, record->frozen_seq,
				 record->frozen_pages);
		return 0;
	case JR_OP:
		if (record->rec.phase == HM_PHASE_NONE) {
			*ret_value = JR_VALUE_ABSENT;
			return 0;
		}
		return format_op(buf, size, &record->rec);
	case JR_OP_BLOCKS:
		if (record->rec.phase == HM_PHASE_NONE)
			*ret_value = JR_VALUE_ABSENT;
		else
			bitmap_format(buf, record->rec.blocks);
		return 0;
	default:
		return -EINVAL;
	}
	*ret_value = JR_VALUE_LEAVE;
	return 0;
}

int jr_store(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, const struct hm_record *record)
{
	return jr_store_over(hm, txn, domid, record, NULL);
}

int jr_store_over(struct hotmem *hm, hv_xs_txn txn, uint32_t domid, const struct hm_record *record,
		  const struct hm_record *stored)
{
	char text[JR_TEXT_SIZE], old_text[JR_TEXT_SIZE];
	enum jr_value value, old_value;
	unsigned int k;
	int r;

	r = jr_check_owner(hm, txn);
	if (r < 0)
		return r;
	for (k = 0; k < JR_KEY_COUNT; k++) {
		r = key_value(record, k, text, &value);
		if (r < 0)
			return r;
		if (value == JR_VALUE_LEAVE)
			continue;
		if (stored) {
			r = key_value(stored, k, old_text, &old_value);
			if (r < 0)
				return r;
			if (value == old_value &&
			    (value == JR_VALUE_ABSENT || !strcmp(text, old_text)))
				continue;
		}
		r = value == JR_VALUE_TEXT ? write_key(hm, txn, domid, jr_key_names[k], text)
					   : rm_key(hm, txn, domid, jr_key_names[k]);
		if (r < 0)
			return r;
	}
	return 0;
}

int jr_remove(struct hotmem *hm, hv_xs_txn txn, uint32_t domid)
{
	char path[HM_PATH_MAX];
	int r;

	r = jr_check_owner(hm, txn);
	if (r < 0)
		return r;
	r = hm_journal_path(hm, path, sizeof(path), domid, NULL);
	if (r < 0)
		return r;
	return hm->hv->ops->xs_rm(hm->hv, txn, path);
}

int jr_list(struct hotmem *hm, uint32_t **ret_domids, size_t *ret_count)
{
	char **names = NULL;
	unsigned int nr = 0, i;
	uint32_t *domids = NULL;
	size_t count = 0;
	int r;

	r = hm->hv->ops->xs_directory(hm->hv, HV_XS_NO_TXN, hm->journal_dir, &names, &nr);
	if (r == -ENOENT) {
		r = 0;
		nr = 0;
	}
	if (r < 0)
		goto out;
	domids = calloc(nr ? nr : 1, sizeof(*domids));
	if (!domids) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nr; i++) {
		uint64_t domid;

		/* Names that are not domids are not ours: skip them. */
		if (hm_parse_dec(names[i], strlen(names[i]), &domid) < 0 || domid == 0 ||
		    domid > HOTMEM_DOMID_MAX)
			continue;
		domids[count++] = (uint32_t)domid;
	}
	*ret_domids = domids;
	*ret_count = count;
	domids = NULL;
out:
	free(names);
	free(domids);
	return r;
}

/* Every key of J/<domid> into rec; a directory or key that vanished is left out. */
static int read_record(struct hotmem *hm, uint32_t domid, struct hotmem_journal_record *rec)
{
	char path[HM_PATH_MAX], **names = NULL;
	unsigned int nr = 0;
	int r;

	rec->domid = domid;
	r = hm_journal_path(hm, path, sizeof(path), domid, NULL);
	if (r == 0)
		r = hm->hv->ops->xs_directory(hm->hv, HV_XS_NO_TXN, path, &names, &nr);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	rec->keys = calloc(nr ? nr : 1, sizeof(*rec->keys));
	if (!rec->keys) {
		r = -ENOMEM;
		goto out;
	}
	for (unsigned int i = 0; i < nr; i++) {
		struct hotmem_journal_key *k = &rec->keys[rec->nr_keys];

		/* Not hm_xs_read(): an operator's look is not the engine's traffic. */
		if (hm_journal_path(hm, path, sizeof(path), domid, names[i]) < 0 ||
		    hm->hv->ops->xs_read(hm->hv, HV_XS_NO_TXN, path, &k->value, NULL) < 0)
			continue;
		k->key = strdup(names[i]);
		if (!k->key) {
			free(k->value);
			r = -ENOMEM;
			goto out;
		}
		rec->nr_keys++;
	}
out:
	free(names);
	return r;
}

int hotmem_journal_records(struct hotmem *hm, struct hotmem_journal_record **ret_records,
			   size_t *ret_count)
{
	struct hotmem_journal_record *records = NULL;
	uint32_t *domids = NULL;
	size_t count = 0;
	int r;

	r = jr_list(hm, &domids, &count);
	if (r == 0)
		records = calloc(count ? count : 1, sizeof(*records));
	if (r == 0 && !records)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < count; i++)
		r = read_record(hm, domids[i], &records[i]);
	if (r < 0)
		goto out;
	*ret_records = records;
	*ret_count = count;
	records = NULL;
out:
	hotmem_journal_records_free(records, count);
	free(domids);
	return r;
}

void hotmem_journal_records_free(struct hotmem_journal_record *records, size_t count)
{
	if (!records)
		return;
	for (size_t i = 0; i < count; i++) {
		for (size_t k = 0; k < records[i].nr_keys; k++) {
			free(records[i].keys[k].key);
			free(records[i].keys[k].value);
		}
		free(records[i].keys);
	}
	free(records);
}
