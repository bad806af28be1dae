/*
 * A guest that reboots while grown, and xl rebuilding it: libxl recreates a
 * rebooted domain from memory/target and memory/static-max as they are when
 * it handles the shutdown, so the engine must have put them back to the
 * configured size before then, or the grant becomes boot RAM.
 *
 * With notice (feature reboot-notice: `xl reboot`, `xl shutdown`, a guest's
 * own reboot/poweroff/halt all run Linux's reboot notifiers before the
 * domain's SCHEDOP_shutdown), the guest writes H/guest/shutdown and waits,
 * bounded, for H/shutdown-ack: hm_shutdown_notice() puts the keys back,
 * journals it and answers in one transaction (hm_dom_restore() in
 * engine.c). Without notice (sysrq-b, a panic with on_crash=restart) the
 * engine only sees the shutdown on the same @releaseDomain event xl acts on;
 * engine.c's dom_check_shutdown() races xl for it, and when xl wins the
 * second half of this file gives the memory back from the rebuilt domain.
 */
#include "engine.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hm_shutdown_notice(struct hotmem *hm, struct hm_domain *dom)
{
	enum hotmem_shutdown how;
	char path[HM_PATH_MAX], *value = NULL;
	size_t len = 0;

	/* Offered to the guest only with the feature; a guest without it never writes the key. */
	if (!(hm->cfg.features & HOTMEM_FEATURE_REBOOT_NOTICE))
		return;
	if (hm_dom_path(path, sizeof(path), dom->domid, HOTMEM_KEY_GUEST_SHUTDOWN) < 0 ||
	    hm_xs_read(hm, HV_XS_NO_TXN, path, &value, &len) < 0)
		goto out;
	/*
	 * Anything but a known token is no notice. A guest that announces and
	 * keeps running only loses its own grants' use: its keys stay at the
	 * configured size and no grow or shrink starts (-ESHUTDOWN) until it
	 * dies or is detached.
	 */
	if (hotmem_parse_shutdown(value, len, &how) < 0)
		goto out;
	/* A poweroff or halt is not rebuilt (but with on_poweroff=restart): no memo. */
	hm_dom_restore(hm, dom, (int)how, how == HOTMEM_SHUTDOWN_REBOOT);
out:
	free(value);
}

/*
 * Without notice. When xl wins the race, the domain it rebuilds (same
 * handle, a new domid) boots with the grant as boot RAM: memory/static-max
 * above what its predecessor was configured with (the memo under the
 * handle). The engine gives that memory back the only way boot RAM can go:
 * memory/target down to the configured size at once, so the guest's balloon
 * hands the frames back as it boots; then, once Xen's tot_pages is down
 * (or return_timeout_ms passed), max memory and memory/static-max back to
 * configured, so the next reboot is right. static-max waits for the balloon
 * because Linux's balloon takes the difference between static-max and its
 * boot size as an offset the first time it reads memory/target: lowered
 * before that, the offset would cancel the lower target. What stays is the
 * memmap Linux allocated for the bigger boot RAM, and the P2M pool libxl
 * sized for it, until the domain's next reboot.
 *
 * The state lives in the journal, <memo>/return = "<domid> <booted
 * static-max KiB> <libxl's max memory slack KiB> returning|returned", so a
 * restarted engine carries on; while a domain is returning no operation
 * starts on it (-EBUSY).
 */

/* How long the balloon gets to give the memory back before the limits drop anyway. */
#define RETURN_TIMEOUT_MS 120000u

struct hm_return {
	struct hm_return *next;
	uint32_t domid;
	uint8_t handle[16];
	uint64_t static_kib; /* configured (the memo) */
	uint64_t slack_kib;  /* max memory above static-max, as libxl set it */
	uint64_t deadline_ms;
	uint64_t check_ms; /* next look at tot_pages */
};

struct return_rec {
	uint32_t domid;
	uint64_t booted_kib;
	uint64_t slack_kib;
	bool returned;
};

static uint64_t clock_now(const struct hotmem *hm)
{
	return hm->cfg.clock_ms(hm->cfg.clock_opaque);
}

static int return_path(const struct hotmem *hm, const uint8_t *handle, char *buf, size_t size)
{
	size_t len;
	int r = hm_reboot_memo_path(hm, handle, buf, size);

	if (r < 0)
		return r;
	len = strlen(buf);
	if (len + sizeof("/return") > size)
		return -ENAMETOOLONG;
	memcpy(buf + len, "/return", sizeof("/return"));
	return 0;
}

/* "<domid> <booted> <slack> returning|returned"; -ENOENT absent, -EUCLEAN malformed. */
static int return_read(struct hotmem *hm, hv_xs_txn txn, const uint8_t *handle,
		       struct return_rec *ret_rec)
{
	char path[HM_PATH_MAX], *value = NULL;
	const char *field[4];
	size_t flen[4], len = 0, pos, start = 0, n = 0;
	uint64_t domid, booted, slack;
	int r;

	r = return_path(hm, handle, path, sizeof(path));
	if (!r)
		r = hm_xs_read(hm, txn, path, &value, &len);
	if (r < 0)
		goto out;
	/* Exactly four fields, single spaces, canonical decimals. */
	r = -EUCLEAN;
	for (pos = 0; pos <= len; pos++) {
		if (pos < len && value[pos] != ' ')
			continue;
		if (n == 4 || pos == start)
			goto out;
		field[n] = value + start;
		flen[n++] = pos - start;
		start = pos + 1;
	}
	if (n != 4 || hm_parse_dec(field[0], flen[0], &domid) < 0 || domid > HOTMEM_DOMID_MAX ||
	    hm_parse_dec(field[1], flen[1], &booted) < 0 ||
	    hm_parse_dec(field[2], flen[2], &slack) < 0)
		goto out;
	if (flen[3] == strlen("returned") && !memcmp(field[3], "returned", flen[3]))
		ret_rec->returned = true;
	else if (flen[3] == strlen("returning") && !memcmp(field[3], "returning", flen[3]))
		ret_rec->returned = false;
	else
		goto out;
	ret_rec->domid = (uint32_t)domid;
	ret_rec->booted_kib = booted;
	ret_rec->slack_kib = slack;
	r = 0;
out:
	free(value);
	return r;
}

static int return_write(struct hotmem *hm, hv_xs_txn txn, const uint8_t *handle,
			const struct return_rec *rec)
{
	char path[HM_PATH_MAX], text[96];
	int r = return_path(hm, handle, path, sizeof(path));

	if (r < 0)
		return r;
	snprintf(text, sizeof(text), "%" PRIu32 " %" PRIu64 " %" PRIu64 " %s", rec->domid,
		 rec->booted_kib, rec->slack_kib, rec->returned ? "returned" : "returning");
	return hm_xs_write(hm, txn, path, text);
}

struct return_ctx {
	struct hm_return *ret;
	struct return_rec rec;
	uint64_t target_kib; /* start: memory/target to write */
};

/* Start: memory/target to the configured size and the record, in one transaction. */
static int return_start_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct return_ctx *ctx = arg;
	char path[HM_PATH_MAX];
	int r = hm_dom_path(path, sizeof(path), ctx->ret->domid, "memory/target");

	if (!r)
		r = hm_xs_write_dec(hm, txn, path, ctx->target_kib);
	return r < 0 ? r : return_write(hm, txn, ctx->ret->handle, &ctx->rec);
}

/* Finish: static-max to the configured size and the record says so. */
static int return_finish_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	struct return_ctx *ctx = arg;
	char path[HM_PATH_MAX];
	int r = hm_dom_path(path, sizeof(path), ctx->ret->domid, "memory/static-max");

	if (!r)
		r = hm_xs_write_dec(hm, txn, path, ctx->ret->static_kib);
	return r < 0 ? r : return_write(hm, txn, ctx->ret->handle, &ctx->rec);
}

static struct hm_return *return_find(const struct hotmem *hm, uint32_t domid)
{
	struct hm_return *ret;

	for (ret = hm->returns; ret; ret = ret->next)
		if (ret->domid == domid)
			return ret;
	return NULL;
}

static void return_drop(struct hotmem *hm, struct hm_return *gone)
{
	struct hm_return **link;

	for (link = &hm->returns; *link; link = &(*link)->next) {
		if (*link == gone) {
			*link = gone->next;
			free(gone);
			return;
		}
	}
}

static void return_note(struct hotmem *hm, const struct hm_return *ret,
			enum hotmem_reboot_event event, uint64_t target_kib, uint64_t booted_kib,
			uint64_t tot_pages)
{
	struct hotmem_reboot_note note = {
		.domid = ret->domid,
		.event = event,
		.notice = -1,
		.target_kib = target_kib,
		.static_max_kib = ret->static_kib,
		.booted_kib = booted_kib,
		.tot_pages = tot_pages,
	};

	if (hm->cfg.reboot)
		hm->cfg.reboot(hm->cfg.reboot_opaque, &note);
}

static int rm_memo_txn(struct hotmem *hm, hv_xs_txn txn, void *arg)
{
	char path[HM_PATH_MAX];
	int r = hm_reboot_memo_path(hm, arg, path, sizeof(path));

	if (!r)
		r = hm->hv->ops->xs_rm(hm->hv, txn, path);
	return r == -ENOENT ? 0 : r;
}

/* One domain whose handle has a memo: came back right, grown, or already handled. */
static void return_consider(struct hotmem *hm, const struct hv_domain_info *info)
{
	struct hotmem_reboot_info rb;
	struct return_ctx ctx = { 0 };
	struct return_rec rec;
	struct hm_return *ret;
	uint64_t now = clock_now(hm);

	if (info->dying || info->shutdown || return_find(hm, info->domid) ||
	    hotmem_reboot_info(hm, info->domid, &rb) < 0 || rb.old_domid == info->domid)
		return;
	if (return_read(hm, HV_XS_NO_TXN, info->handle, &rec) == 0 && rec.domid == info->domid) {
		if (rec.returned)
			return;
		/* A restarted engine: carry on with a fresh deadline. */
		rb.came_back_grown = true;
		rb.now_static_max_kib = rec.booted_kib;
	} else if (!rb.came_back_grown) {
		/* Back at the configured size: the memo has served. */
		hm_txn(hm, rm_memo_txn, (void *)info->handle);
		return;
	} else {
		/* libxl's max memory is its build target + slack: with a torn
		 * read that target is above static-max (hotmem_reboot_info). */
		uint64_t built_kib = rb.now_static_max_kib > rb.now_target_kib
					     ? rb.now_static_max_kib
					     : rb.now_target_kib;

		rec.domid = info->domid;
		rec.booted_kib = built_kib;
		rec.slack_kib =
			info->max_pages * 4 > built_kib ? info->max_pages * 4 - built_kib : 0;
		rec.returned = false;
	}
	ret = calloc(1, sizeof(*ret));
	if (!ret)
		return;
	ret->domid = info->domid;
	memcpy(ret->handle, info->handle, sizeof(ret->handle));
	ret->static_kib = rb.static_max_kib;
	ret->slack_kib = rec.slack_kib;
	ret->deadline_ms = now + RETURN_TIMEOUT_MS;
	ret->check_ms = now;
	ctx.ret = ret;
	ctx.rec = rec;
	ctx.target_kib = rb.target_kib;
	if (hm_txn(hm, return_start_txn, &ctx) < 0) {
		free(ret);
		return;
	}
	ret->next = hm->returns;
	hm->returns = ret;
	hm->counters.returns++;
	return_note(hm, ret, HOTMEM_REBOOT_RETURNING, rb.target_kib, rec.booted_kib, 0);
}

void hm_reboot_scan(struct hotmem *hm)
{
	char path[HM_PATH_MAX], **memos = NULL, hex[33];
	unsigned int nr_memos = 0;
	uint32_t *domids = NULL;
	size_t count = 0, i;
	unsigned int k;
	int n;

	n = snprintf(path, sizeof(path), "%s/reboot", hm->journal_dir);
	if (n < 0 || (size_t)n >= sizeof(path) ||
	    hm->hv->ops->xs_directory(hm->hv, HV_XS_NO_TXN, path, &memos, &nr_memos) < 0 ||
	    !nr_memos)
		goto out;
	domids = calloc(HOTMEM_DOMID_MAX + 1, sizeof(*domids));
	if (!domids || hm->hv->ops->domain_list(hm->hv, domids, HOTMEM_DOMID_MAX + 1, &count) < 0)
		goto out;
	for (i = 0; i < count; i++) {
		struct hv_domain_info info;

		if (!domids[i] || hm->hv->ops->domain_info(hm->hv, domids[i], &info) < 0)
			continue;
		for (k = 0; k < 16; k++)
			snprintf(hex + 2 * k, 3, "%02x", info.handle[k]);
		for (k = 0; k < nr_memos; k++)
			if (!strcmp(memos[k], hex))
				break;
		if (k < nr_memos)
			return_consider(hm, &info);
	}
out:
	free(domids);
	free(memos);
}

/* Balloon done (or out of time): max memory, then static-max, to configured. */
static int return_finish(struct hotmem *hm, struct hm_return *ret, uint64_t booted_kib)
{
	struct return_ctx ctx = { .ret = ret };
	int r;

	r = hm->hv->ops->set_max_mem(hm->hv, ret->domid, ret->static_kib + ret->slack_kib);
	if (r < 0)
		return r;
	ctx.rec.domid = ret->domid;
	ctx.rec.booted_kib = booted_kib;
	ctx.rec.slack_kib = ret->slack_kib;
	ctx.rec.returned = true;
	return hm_txn(hm, return_finish_txn, &ctx);
}

void hm_reboot_poll(struct hotmem *hm)
{
	struct hm_return *ret, *next;
	uint64_t now = clock_now(hm);

	for (ret = hm->returns; ret; ret = next) {
		struct hv_domain_info info;
		struct return_rec rec;
		int r;

		next = ret->next;
		if (now < ret->check_ms)
			continue;
		r = hm->hv->ops->domain_info(hm->hv, ret->domid, &info);
		if (r == -ESRCH || (!r && (info.dying || info.shutdown)) ||
		    (!r && memcmp(info.handle, ret->handle, sizeof(info.handle)))) {
			return_drop(hm, ret);
			continue;
		}
		ret->check_ms = now + hm->cfg.fill_poll_ms;
		if (r < 0 || (info.tot_pages * 4 > ret->static_kib + ret->slack_kib &&
			      now < ret->deadline_ms))
			continue;
		if (return_read(hm, HV_XS_NO_TXN, ret->handle, &rec) < 0 || rec.domid != ret->domid)
			rec.booted_kib = 0;
		if (return_finish(hm, ret, rec.booted_kib) == 0) {
			return_note(hm, ret, HOTMEM_REBOOT_RETURNED, 0, rec.booted_kib,
				    info.tot_pages);
			return_drop(hm, ret);
		}
	}
}

uint64_t hm_reboot_wake(const struct hotmem *hm)
{
	const struct hm_return *ret;
	uint64_t wake = UINT64_MAX;

	for (ret = hm->returns; ret; ret = ret->next)
		if (ret->check_ms < wake)
			wake = ret->check_ms;
	return wake;
}

bool hm_reboot_returning(const struct hotmem *hm, uint32_t domid)
{
	return return_find(hm, domid) != NULL;
}

void hm_reboot_return_info(struct hotmem *hm, const uint8_t *handle, uint32_t domid,
			   struct hotmem_reboot_info *info)
{
	struct return_rec rec;

	if (return_read(hm, HV_XS_NO_TXN, handle, &rec) < 0 || rec.domid != domid)
		return;
	info->returning = !rec.returned;
	info->returned = rec.returned;
	info->booted_static_max_kib = rec.booted_kib;
}

void hm_reboot_free(struct hotmem *hm)
{
	while (hm->returns) {
		struct hm_return *ret = hm->returns;

		hm->returns = ret->next;
		free(ret);
	}
}
